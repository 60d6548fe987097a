"""Branches in the IR: the ``cond`` primitive, which runs one of two graphs as its test says.
Its entry is in `PRIMITIVES`; the edge has one output per result.

A cond edge's inputs are ``(test, *operands)``; its ``then`` and ``orelse`` parameters are
graphs over the same input nodes (one per operand) with the same number of outputs. The first
``results`` outputs are the variables the ``if`` assigns; reverse mode adds, after them, the
values each side's adjoint reads (``residuals``: how many of the ``then`` side's, then of the
``orelse`` side's). A side outputs a placeholder (a constant) for the other side's residuals:
the reverse branch takes the same way back, so it never reads them.

A real branch runs only the side its test chooses, so its test is one number. An ``if`` on an
array condition is a selection instead (`where`, entrywise), and so is one in a scalar
function evaluated at an array (the interpreter here selects entrywise; the generated module
maps such a function over the points one at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.registry import Interpreter, Table, results_shaped

PRIMITIVES = Table()
primitive = PRIMITIVES.primitive


@dataclass(frozen=True)
class CondParts:
    """A cond edge's inputs and its sides, by role."""

    test: Var
    operands: tuple[Var, ...]
    operand_in: tuple[Var, ...]  # the sides' inputs, one per operand
    then: Graph
    orelse: Graph
    results: int
    residuals: tuple[int, int]  # how many outputs past the results are each side's own

    def own_outputs(self, side: int) -> range:
        """Positions of the outputs that ``side`` (0: then, 1: orelse) really computes."""
        then_count, else_count = self.residuals
        first = self.results + (then_count if side else 0)
        return range(first, first + (else_count if side else then_count))


def cond_parts(edge: Edge) -> CondParts:
    params = dict(edge.params)
    then: Graph = params["then"]
    return CondParts(edge.inputs[0], edge.inputs[1:], then.inputs, then, params["orelse"],
                     params["results"], params["residuals"])


def cond_params(then: Graph, orelse: Graph, results: int,
                residuals: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    return {"then": then, "orelse": orelse, "results": results, "residuals": residuals}


def _run_cond(test: Any, *operands: Any, then: Graph, orelse: Graph, results: int,
              residuals: tuple[int, int], run: Interpreter) -> tuple[Any, ...]:
    """The NumPy oracle: the side the test chooses, run by the reference interpreter (``run``; both
    sides, selected entrywise, where the test is an array)."""
    if np.ndim(test) == 0:
        return run(then if test else orelse, *operands)
    chosen = zip(run(then, *operands), run(orelse, *operands))
    return tuple(np.where(test, a, b) for a, b in chosen)


def _by_the_reverse_pass(*args: Any, **params: Any) -> tuple[Var | None, ...]:
    """Branches have no local adjoint rule: `reverse` builds their reverse branches itself."""
    raise AssertionError("reverse mode differentiates branches itself")


primitive("cond", lambda a, p: "<cond>", _run_cond, None, _by_the_reverse_pass, (), args="",
          variadic=True, result="results", shape=results_shaped, internal=True,
          block=True)

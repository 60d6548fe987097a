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
from gradgen.ir.primitives.block_checks import kind_text, pairs_problem, same_kind
from gradgen.ir.registry import BlockRules, Interpreter, Table, results_shaped

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


def _cond_problem(edge: Edge) -> str | None:
    """The sides against each other, the test a number, the operands' shapes."""
    parts = cond_parts(edge)
    problem = _sides_problem(parts)
    if problem is None and edge.inputs[0].shape:
        problem = "a branch's test must be one number"
    return problem or pairs_problem(parts.operands, parts.operand_in, "operand")


def _sides_problem(parts: CondParts) -> str | None:
    """The two sides take the same inputs and give results of the same kinds."""
    if parts.then.inputs != parts.orelse.inputs:
        return "the two sides take different inputs"
    if len(parts.then.outputs) != len(parts.orelse.outputs):
        return "the two sides give different numbers of results"
    if parts.results + sum(parts.residuals) != len(parts.then.outputs):
        return (f"the sides give {len(parts.then.outputs)} outputs, not {parts.results} "
                f"results + {parts.residuals} residuals")
    for k, (a, b) in enumerate(zip(parts.then.outputs[:parts.results], parts.orelse.outputs)):
        if not same_kind(a, b):
            return f"result {k} is {kind_text(a)} on one side and {kind_text(b)} on the other"
    return None


def _cond_results(edge: Edge) -> list[Var]:
    """A branch's results, then each side's residuals (the other side gives a placeholder)."""
    parts = cond_parts(edge)
    own_else = parts.own_outputs(1)
    return [parts.orelse.outputs[k] if k in own_else else var
            for k, var in enumerate(parts.then.outputs)]


def _by_the_reverse_pass(*args: Any, **params: Any) -> tuple[Var | None, ...]:
    """Branches have no local adjoint rule: `reverse` builds their reverse branches itself."""
    raise AssertionError("reverse mode differentiates branches itself")


primitive("cond", lambda a, p: "<cond>", _run_cond, None, _by_the_reverse_pass, (), args="",
          variadic=True, result="results", shape=results_shaped, internal=True,
          block=BlockRules(_cond_problem, _cond_results))

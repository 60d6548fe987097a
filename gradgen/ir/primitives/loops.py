"""Loops in the IR: the ``loop`` primitive, a body graph run once per step of a range. Its
entry is in `PRIMITIVES`.

A loop edge's inputs are ``(start, stop, *carried, *tapes read, *invariants)``; its ``body``
parameter is a `Graph` whose inputs are ``(index, *carried, *one entry of each tape read,
*invariants)`` and whose outputs are ``(*carried after the step, *values recorded)``. The
counts are parameters (``carried``, ``reads``, ``records``), and ``reverse`` runs the steps
from ``stop - 1`` down to ``start``. The loop's outputs are the carried values after the last
step (the initial ones if the loop runs no step), then one *tape* per recorded value, a list
with one entry per step. Reverse mode uses the tapes: the forward loop records
what the adjoint of its body needs, and a reverse loop reads them back (see `reverse`).

Loops nest (a body may hold a loop); passes over the IR go into bodies one level at a time,
and the lowering bounds the nesting depth (`MAX_NESTING`), so that going into bodies by
recursion stays shallow however long the program is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.block_checks import kind_text, pairs_problem, same_kind
from gradgen.ir.registry import BlockRules, Interpreter, Table, results_shaped

PRIMITIVES = Table()
primitive = PRIMITIVES.primitive

#: Deepest nesting of loops the lowering accepts.
MAX_NESTING = 20


@dataclass(frozen=True)
class LoopParts:
    """A loop edge's inputs and its body's inputs and outputs, by role."""

    start: Var
    stop: Var
    carried: tuple[Var, ...]
    reads: tuple[Var, ...]
    invariants: tuple[Var, ...]
    body: Graph
    index: Var  # the body's loop variable
    carried_in: tuple[Var, ...]
    read_in: tuple[Var, ...]
    invariant_in: tuple[Var, ...]
    carried_out: tuple[Var, ...]
    recorded: tuple[Var, ...]
    reverse: bool


def loop_parts(edge: Edge) -> LoopParts:
    """Split a loop edge's inputs and its body's inputs and outputs by role."""
    params = dict(edge.params)
    body: Graph = params["body"]
    n, r = params["carried"], params["reads"]
    start, stop, *rest = edge.inputs
    index, *body_rest = body.inputs
    return LoopParts(start, stop, tuple(rest[:n]), tuple(rest[n:n + r]), tuple(rest[n + r:]),
                     body, index, tuple(body_rest[:n]), tuple(body_rest[n:n + r]),
                     tuple(body_rest[n + r:]), body.outputs[:n], body.outputs[n:],
                     params["reverse"])


def loop_params(body: Graph, carried: int, reads: int, records: int,
                reverse: bool = False) -> dict[str, Any]:
    return {"body": body, "carried": carried, "reads": reads, "records": records,
            "reverse": reverse}


def steps(start: Any, stop: Any, reverse: bool) -> range:
    """The loop variable's values, in the order the steps run."""
    forward = range(int(start), int(stop))
    return forward[::-1] if reverse else forward


def _run_loop(start: Any, stop: Any, *values: Any, body: Graph, carried: int, reads: int,
              records: int, reverse: bool, run: Interpreter) -> tuple[Any, ...]:
    """The NumPy oracle: the body run by the reference interpreter (``run``), step by step."""
    state = list(values[:carried])
    tapes = values[carried:carried + reads]
    invariants = values[carried + reads:]
    count = max(int(stop) - int(start), 0)
    recorded: list[list[Any]] = [[None] * count for _ in range(records)]
    for i in steps(start, stop, reverse):
        k = i - int(start)
        out = run(body, i, *state, *(tape[k] for tape in tapes), *invariants)
        state = list(out[:carried])
        for r in range(records):
            recorded[r][k] = out[carried + r]
    return (*state, *recorded)


def _loop_problem(edge: Edge) -> str | None:
    """The counts, the carried values' kinds and the invariants' shapes."""
    problem = _counts_problem(edge)
    if problem:
        return problem
    parts = loop_parts(edge)
    if len(set(parts.recorded)) != len(parts.recorded):
        return "it records one value on two tapes (the second would never be written)"
    return _carried_problem(parts) or pairs_problem(parts.invariants, parts.invariant_in,
                                                    "invariant")


def _counts_problem(edge: Edge) -> str | None:
    """The loop's inputs, its body's inputs and outputs against the counts in its
    parameters."""
    params = dict(edge.params)
    n, reads, records = params["carried"], params["reads"], params["records"]
    body = params["body"]
    outer = len(edge.inputs) - 2 - n - reads
    if outer < 0 or len(body.inputs) != 1 + n + reads + outer:
        return (f"the loop has {len(edge.inputs)} inputs and its body {len(body.inputs)}; "
                f"they disagree with {n} carried and {reads} tapes read")
    if len(body.outputs) != n + records:
        return f"the body has {len(body.outputs)} outputs, not {n} carried + {records} recorded"
    return None


def _carried_problem(parts: LoopParts) -> str | None:
    """A carried value keeps its shape and dtype from before the loop to the end of a step."""
    for init, inner, out in zip(parts.carried, parts.carried_in, parts.carried_out):
        if not same_kind(init, inner) or not same_kind(inner, out):
            return (f"carried value {inner!r} is {kind_text(init)} before, "
                    f"{kind_text(inner)} in and {kind_text(out)} after a step")
    return None


def _loop_results(edge: Edge) -> list[Var | None]:
    """The carried values, then one tape per recorded value (a list: no node of its own)."""
    parts = loop_parts(edge)
    return [*parts.carried_in, *(None for _ in parts.recorded)]


def _by_the_reverse_pass(*args: Any, **params: Any) -> tuple[Var | None, ...]:
    """Loops have no local adjoint rule: `reverse` builds their reverse loops itself."""
    raise AssertionError("reverse mode differentiates loops itself")


primitive("loop", lambda a, p: "<loop>", _run_loop, None, _by_the_reverse_pass, (), args="",
          variadic=True, result="results", shape=results_shaped, internal=True,
          block=BlockRules(_loop_problem, _loop_results))

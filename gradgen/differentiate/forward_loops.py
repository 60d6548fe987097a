"""Differentiation, forward mode of a loop (`tangent_loop`): one loop carrying the tangents along.

The tangent loop runs the body's own tangent program (the body pushed forward one level down):
each carried value that has a tangent, or gets one in a step, carries it too; each tape read
that has a tangent is read beside its tangent tape; each invariant that has one brings it in;
each recorded value that has one records it on a tape of its own (a tape's tangent is the tape
of the tangents). Steps run in the loop's own order (``reverse`` is kept), so a reverse loop
reads its tapes' tangents at the steps it reads the tapes. The loop's outputs are its own, then
the carried tangents, then the tangent tapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradgen.differentiate.forward_sweep import (
    DIFFERENTIABLE,
    Tangents,
    tangent_body,
    tangent_inputs,
    tangent_or_zeros,
    tangent_results,
    varied_in,
)
from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.loops import LoopParts, loop_params, loop_parts


@dataclass(frozen=True)
class _Dotted:
    """Which of a loop's values get tangents, by position among their kind: carried values,
    tapes read, invariants, recorded values."""

    carried: tuple[int, ...]
    reads: tuple[int, ...]
    invariants: tuple[int, ...]
    recorded: tuple[int, ...]

    def targets(self, parts: LoopParts) -> tuple[Var, ...]:
        """The body's inputs that have tangents: carried, read, invariant."""
        return (*_at(parts.carried_in, self.carried), *_at(parts.read_in, self.reads),
                *_at(parts.invariant_in, self.invariants))


def tangent_loop(level: Tangents, edge: Edge) -> None:
    """Emit ``edge`` as its tangent loop (see the module), and give its results their
    tangents; as it is, if no value it reads has one."""
    parts = loop_parts(edge)
    dotted = _dotted(level, edge, parts)
    if not dotted.carried and not dotted.recorded:
        level.builder.edges.append(edge)
        return
    targets = dotted.targets(parts)
    dots = tangent_inputs(targets, parts.body.hints)
    wanted = (*_at(parts.carried_out, dotted.carried), *_at(parts.recorded, dotted.recorded))
    step = tangent_body(level, parts.body, targets, dots, wanted)
    body, tapes = _tangent_body(step, parts, dotted, dots)
    _emit(level, edge, parts, dotted, body, tapes)


def _dotted(level: Tangents, edge: Edge, parts: LoopParts) -> _Dotted:
    """The values of the loop that get tangents: reads and invariants that have one, the
    carried values that have one or get one in a step (grown until no more do), and the
    recorded values that may (those that depend on those, whose tapes something on a path
    reads: they get one where the step gives them one)."""
    reads = _having(level, parts.reads)
    invariants = _having(level, parts.invariants)
    carried = set(_having(level, parts.carried))
    while True:
        partial = _Dotted(tuple(sorted(carried)), reads, invariants, ())
        varied = varied_in(parts.body, partial.targets(parts))
        grown = carried | {k for k, var in enumerate(parts.carried_out)
                           if var in varied and parts.carried_in[k].dtype == "float"}
        if grown == carried:
            break
        carried = grown
    tapes = edge.outputs[len(parts.carried):]
    recorded = tuple(k for k, var in enumerate(parts.recorded)
                     if var in varied and var.dtype in DIFFERENTIABLE and tapes[k] in level.on_path)
    return _Dotted(partial.carried, reads, invariants, recorded)


def _having(level: Tangents, outer: tuple[Var, ...]) -> tuple[int, ...]:
    """The positions of the nodes of ``outer`` that have tangents."""
    return tuple(k for k, var in enumerate(outer) if var in level.tangents)


def _at(values: tuple[Var, ...], positions: tuple[int, ...]) -> tuple[Var, ...]:
    return tuple(values[k] for k in positions)


def _tangent_body(step: Tangents, parts: LoopParts, dotted: _Dotted, dots: tuple[Var, ...]
                  ) -> tuple[Graph, dict[int, int]]:
    """The tangent loop's body, and for each recorded value with a tangent the position of
    the tape its tangent is recorded on (among the loop's recorded values: one tape per
    value, so a tangent that is a recorded value or another's tangent shares its tape)."""
    c, r = len(dotted.carried), len(dotted.reads)
    carried_dots = tuple(tangent_or_zeros(step, var) for var in _at(parts.carried_out,
                                                                     dotted.carried))
    records, tapes = _recorded_dots(step, parts, dotted, (*parts.carried_in, *dots[:c + r]))
    inputs = (parts.index, *parts.carried_in, *dots[:c], *parts.read_in, *dots[c:c + r],
              *parts.invariant_in, *dots[c + r:])
    outputs = (*parts.carried_out, *carried_dots, *parts.recorded, *records)
    return parts.body.replace(inputs=inputs, edges=tuple(step.builder.edges), outputs=outputs,
                              hints=step.builder.hints), tapes


def _recorded_dots(step: Tangents, parts: LoopParts, dotted: _Dotted,
                   written: tuple[Var, ...]) -> tuple[list[Var], dict[int, int]]:
    """The tangents the body records besides its own values, and the tape of each recorded
    value's tangent, for those that have one (see `_tangent_body`). A tangent that no edge
    of the step makes and that is not a step input the loop writes (``written``: a constant,
    an invariant) is made by an edge, so that it is written to its tape."""
    made = {var for edge in step.builder.edges for var in edge.outputs} | {parts.index,
                                                                           *written}
    recorded = {var: k for k, var in enumerate(parts.recorded)}
    records: list[Var] = []
    tapes = {}
    for k in dotted.recorded:
        dot = step.tangents.get(parts.recorded[k])
        if dot is None:
            continue  # its tape has no tangent: an exact 0 wherever it is read
        if dot not in made:
            dot = step.builder.expand(dot, parts.recorded[k], axis=None, keepdims=False)
        if dot not in recorded:
            recorded[dot] = len(parts.recorded) + len(records)
            records.append(dot)
        tapes[k] = recorded[dot]
    return records, tapes


def _emit(level: Tangents, edge: Edge, parts: LoopParts, dotted: _Dotted, body: Graph,
          tapes: dict[int, int]) -> None:
    """The tangent loop in place of ``edge``; the tangents of its results."""
    n = len(parts.carried)
    carried_dots = tangent_results(level, _at(edge.outputs, dotted.carried))
    new_tapes = _new_tapes(level, edge.outputs[n:], tapes)
    starts = tuple(tangent_or_zeros(level, var) for var in _at(parts.carried, dotted.carried))
    inputs = (parts.start, parts.stop, *parts.carried, *starts, *parts.reads,
              *_tangents_of(level, _at(parts.reads, dotted.reads)), *parts.invariants,
              *_tangents_of(level, _at(parts.invariants, dotted.invariants)))
    outputs = (*edge.outputs[:n], *carried_dots, *edge.outputs[n:], *new_tapes)
    params = loop_params(body, n + len(carried_dots), len(parts.reads) + len(dotted.reads),
                         len(parts.recorded) + len(new_tapes), parts.reverse)
    level.builder.edges.append(Edge("loop", inputs, outputs, as_params(params), edge.origin))
    level.tangents.update(zip(_at(edge.outputs, dotted.carried), carried_dots))
    every_tape = (*edge.outputs[n:], *new_tapes)
    level.tangents.update((edge.outputs[n + k], every_tape[at]) for k, at in tapes.items())


def _tangents_of(level: Tangents, values: tuple[Var, ...]) -> tuple[Var, ...]:
    return tuple(level.tangents[var] for var in values)


def _new_tapes(level: Tangents, tapes: tuple[Var, ...], at: dict[int, int]) -> tuple[Var, ...]:
    """The tangent tapes the loop fills besides its own (``at``: the tape of each recorded
    value's tangent, by position), each named after the first tape whose tangent it is."""
    owners: dict[int, int] = {}
    for k, position in sorted(at.items()):
        owners.setdefault(position, k)
    new = sorted(position for position in owners if position >= len(tapes))
    return tangent_results(level, tuple(tapes[owners[position]] for position in new), "tape")

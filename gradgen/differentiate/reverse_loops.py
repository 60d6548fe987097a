"""Differentiation, reverse mode of a loop by taping (`TAPING`): record forward, read backwards.

The forward loop records, each step, what its body's adjoint reads (one *tape* per value); the
reverse loop runs the steps' adjoints backwards, reading the tapes. (`checkpoint` trades the
tapes for recomputation.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gradgen.differentiate.sweep import (
    BlockReversal,
    Body,
    Sweep,
    accumulate,
    adjoint_input,
    adjoint_step,
    differentiate_body,
    expanded,
    recording_block,
    unbroadcast,
)
from gradgen.ir.builder import GraphBuilder, as_params, result_like
from gradgen.ir.graph import Edge, Graph, Shape, Var, hint_of
from gradgen.ir.primitives.loops import LoopParts, loop_params, loop_parts


@dataclass(frozen=True)
class LoopRecord:
    """What the reverse of one taped loop needs: its body differentiated (the adjoint edges of
    one step), the step's cotangents of the carried values, and the tapes the loop fills."""

    seeds: tuple[Var, ...]  # the step's cotangents of the carried values
    body: Body  # its residuals: the forward values of a step that its adjoint reads
    recorded: tuple[Var, ...]  # the tapes, one per residual, filled by the forward loop
    carried_bars: tuple[Var | None, ...]  # the step's adjoints of the carried inputs
    invariant_bars: tuple[Var | None, ...]  # ... and of the invariants


def tape_loop(sweep: Sweep, edge: Edge) -> LoopRecord:
    """Emit ``edge`` as a loop that also records, each step, the values its body's adjoint
    reads; return what `reverse_loop` needs. Adjoints are taken for the carried values and
    for the invariants that depend on what is differentiated (``sweep.varied``)."""
    parts = loop_parts(edge)
    seeds = tuple(adjoint_input(var, parts.body.hints) for var in parts.carried_in)
    wanted = _varied_invariants(sweep, parts)
    own = {*seeds, parts.index, *parts.invariant_in}
    body = differentiate_body(sweep, parts.body, parts.carried_in + wanted,
                              parts.carried_out, seeds, own)
    tapes = _emit_recording_loop(sweep.builder, edge, parts, body)
    return LoopRecord(seeds, body, tapes, *_step_bars(parts, wanted, body.bars))


def _varied_invariants(sweep: Sweep, parts: LoopParts) -> tuple[Var, ...]:
    """The body's inputs for the invariants that depend on what is differentiated."""
    return tuple(inner for outer, inner in zip(parts.invariants, parts.invariant_in)
                 if outer in sweep.varied)


def _step_bars(parts: LoopParts, wanted: tuple[Var, ...], bars: tuple[Var | None, ...]
               ) -> tuple[tuple[Var | None, ...], tuple[Var | None, ...]]:
    """A step's adjoints (of the carried values, then of the invariants ``wanted``) as those
    of the carried values and those of every invariant (None for one not wanted)."""
    n = len(parts.carried)
    invariant_bars = dict(zip(wanted, bars[n:]))
    return bars[:n], tuple(invariant_bars.get(inner) for inner in parts.invariant_in)


def _emit_recording_loop(builder: GraphBuilder, edge: Edge, parts: LoopParts,
                         body: Body) -> tuple[Var, ...]:
    """The loop of ``edge`` with ``body``'s forward edges, recording its residuals; the tapes."""
    recording = parts.body.replace(edges=body.forward,
                                   outputs=parts.carried_out + body.residuals, hints=body.hints)
    tapes = tapes_for(body.residuals, "tape", body.hints)
    builder.edges.append(recording_block(edge, edge.outputs + tapes, body=recording,
                                         records=len(body.residuals)))
    return tapes


def tapes_for(values: tuple[Var, ...], kind: str, hints: Mapping[Var, str]) -> tuple[Var, ...]:
    """A tape for each of ``values`` (an entry per step or segment), named ``<kind>_<hint>``
    (by their ``hints``, their graph's)."""
    return tuple(result_like(var, f"{kind}_{hint_of(var, hints) or 'v'}", "tape")
                 for var in values)


def reverse_loop(sweep: Sweep, edge: Edge, record: LoopRecord,
                 totals: dict[Var, Var] | None = None) -> None:
    """The reverse loop of ``edge``: from the adjoints of its results, run the steps'
    adjoints backwards, reading the tapes, and add what reaches the initial carried values
    and the invariants to their adjoints. An invariant's adjoint is summed into a fresh
    array of zeros, or into the array ``totals`` gives for it (one the caller owns)."""
    parts = loop_parts(edge)
    builder = sweep.reversing(edge)
    zero = builder.const(0.0)
    body, sums = _reverse_body(edge, parts, record, zero)
    starts = reverse_starts(sweep, edge, parts.carried, sums,
                            lambda var: expanded(builder, zero, var), totals or {})
    targets = (*parts.carried, *sums)
    emit_reverse_loop(sweep, (parts.start, parts.stop), starts, record.recorded,
                      parts.invariants, body, targets,
                      tuple(result_like(var, None, "float") for var in targets))


def emit_reverse_loop(sweep: Sweep, bounds: tuple[Var, Var], cotangents: tuple[Var, ...],
                      tapes: tuple[Var, ...], invariants: tuple[Var, ...], body: Graph,
                      targets: tuple[Var, ...], results: tuple[Var, ...]) -> None:
    """A loop running ``body`` from the last step of ``bounds`` down to the first, carrying
    the ``cotangents`` and reading one entry of each of the ``tapes`` per step; then each of
    its ``results`` added to the adjoint of its target."""
    outputs = sweep.builder.emit_block(
        "loop", (*bounds, *cotangents, *tapes, *invariants), results,
        as_params(loop_params(body, len(cotangents), len(tapes), 0, reverse=True)))
    _add_results(sweep, targets, outputs)


def reverse_starts(sweep: Sweep, edge: Edge, carried: tuple[Var, ...], sums: list[Var],
                   zeros: Callable[[Var], Var], totals: dict[Var, Var]) -> tuple[Var, ...]:
    """What a reverse loop carries in: the cotangents of the loop's ``carried`` results, then
    a running sum for each invariant of ``sums``, the array ``totals`` gives for it or fresh
    zeros (`_add_into` adds into it in place)."""
    seeds_in = _result_cotangents(sweep, edge, carried, zeros)
    return (*seeds_in, *(totals.get(outer) or sweep.builder.zeros_like(outer) for outer in sums))


def _result_cotangents(sweep: Sweep, edge: Edge, carried: tuple[Var, ...],
                       zeros: Callable[[Var], Var]) -> list[Var]:
    """The cotangents of a loop's carried results that its reverse starts from: their
    adjoints, or ``zeros`` where none was given, shaped as the result (as its start, where
    nothing reads the result)."""
    results = edge.outputs[:len(carried)]
    bars = [sweep.adjoints.get(var) for var in results]
    likes = [result if result in sweep.bound else start
             for result, start in zip(results, carried)]
    return [bar if bar is not None else zeros(like) for bar, like in zip(bars, likes)]


def _add_results(sweep: Sweep, targets: tuple[Var, ...], results: tuple[Var, ...]) -> None:
    """Add each of a reverse loop's ``results`` to the adjoint of its target (a number's)."""
    for var, bar in zip(targets, results):
        if not var.is_const and var.dtype == "float":
            accumulate(sweep.builder, var, bar, sweep.adjoints)


def _reverse_body(edge: Edge, parts: LoopParts, record: LoopRecord,
                  zero: Var) -> tuple[Graph, list[Var]]:
    """The reverse loop's body, one step's adjoint: from the step's cotangents, the running
    sums of the invariants' adjoints, one entry of each tape and the invariants to the
    cotangents before the step and the sums; and the invariants (outer) it sums for."""
    step = adjoint_step(record.body, edge)
    carried_next = _carried_cotangents(step, record, zero)
    sums, sums_in, sums_next = _invariant_sums(step, parts, record)
    body = Graph(f"{parts.body.name}_reverse",
                 (parts.index, *record.seeds, *sums_in, *record.body.residuals,
                  *parts.invariant_in),
                 tuple(step.edges), carried_next + tuple(sums_next), hints=step.hints)
    return body, sums


def _carried_cotangents(step: GraphBuilder, record: LoopRecord, zero: Var) -> tuple[Var, ...]:
    """A step's cotangents of the carried values before it (zeros where nothing reaches one)."""
    return tuple(bar if bar is not None else expanded(step, zero, seed)
                 for seed, bar in zip(record.seeds, record.carried_bars))


def _invariant_sums(step: GraphBuilder, parts: LoopParts,
                    record: LoopRecord) -> tuple[list[Var], list[Var], list[Var]]:
    """The invariants whose adjoints the reverse loop sums (outer nodes), the running sums
    (inputs of its body) and each sum after the step."""
    sums, sums_in, sums_next = [], [], []
    for outer, inner, bar in zip(parts.invariants, parts.invariant_in, record.invariant_bars):
        if bar is None or inner.dtype != "float":
            continue
        total = adjoint_input(inner, parts.body.hints)
        sums.append(outer)
        sums_in.append(total)
        sums_next.append(_add_into(step, total, unbroadcast(step, bar, inner.shape)))
    return sums, sums_in, sums_next


def _add_into(step: GraphBuilder, total: Var, bar: Var) -> Var:
    """``total + bar`` for a loop's accumulator; where ``bar`` is (a sum of) contributions of
    indexing (``x[t]``: a scatter of the adjoint into zeros), each is added in place into its
    part of ``total`` instead, so that a step costs the size of the part, not of ``x``. A
    number's total is added out of place: a scalar function called with arrays broadcasts it
    (an invariant ``c = 2`` gets an adjoint of the points' shape)."""
    if not total.shape:
        return step.add(total, bar)
    producer = {var: edge for edge in step.edges for var in edge.outputs}
    for term in _terms(producer, total, bar):
        total = _add_term(step, total, term, producer.get(term))
    return total


def _add_term(step: GraphBuilder, total: Var, term: Var, edge: Edge | None) -> Var:
    """``total`` with ``term`` added in place (made by a scatter ``edge``: into its part only)."""
    if edge is None or edge.prim != "scatter":
        return step.add_into(total, term)
    value, _, *at = edge.inputs
    return step.add_at(total, value, *at, index=dict(edge.params)["index"])


def _terms(producer: dict[Var, Edge], total: Var, bar: Var) -> list[Var]:
    """The terms of ``bar`` as a sum of arrays of ``total``'s shape (by an explicit stack)."""
    terms, pending = [], [bar]
    while pending:
        term = pending.pop()
        edge = producer.get(term)
        if _adds_whole(edge, total.shape):
            pending += edge.inputs
        else:
            terms.append(term)
    return terms


def _adds_whole(edge: Edge | None, shape: Shape) -> bool:
    """Whether ``edge`` adds two arrays of ``shape`` (a sum whose terms are added one by one)."""
    return edge is not None and edge.prim == "add" and all(var.shape == shape
                                                           for var in edge.inputs)


#: Loops record a tape per value their reverse reads, and the reverse loop reads them back.
TAPING = BlockReversal(tape_loop, reverse_loop)

"""Differentiation, reverse mode of a loop by checkpointing: memory traded for recomputation.

Part of reverse mode (`reverse`), used with ``--checkpoint K`` (or ``sqrt``) on the loops at
the top of the function. A loop of T steps is run as ceil(T / K) segments of K steps. The
forward pass keeps only a *snapshot* of the carried values at the start of each segment, not
the tapes of every step. The reverse pass goes over the segments backwards: it runs one
segment forward again from its snapshot, recording that segment's tapes as an ordinary loop
would (`reverse_loops.tape_loop`), then runs the segment's steps backwards
(`reverse_loops.reverse_loop`).

Memory: T / K snapshots plus the tapes of K steps, instead of the tapes of T steps; with
K = ceil(sqrt(T)) (``sqrt``), about 2 sqrt(T) step-sized records. Time: every step runs
forward twice. The generated code::

    stride = max(1, int(np.ceil(np.sqrt(T - 1))))   # or the K given
    segments = -(-(T - 1) // stride)
    for segment in range(segments):                 # forward: snapshots only
        tape_alpha[segment] = alpha
        lo = 1 + segment * stride
        for t in range(lo, min(lo + stride, T)):
            ...the body...
    for segment in reversed(range(segments)):       # reverse, one segment at a time
        alpha = tape_alpha[segment]
        ...the segment again, recording; then its steps backwards...
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gradgen.differentiate.reverse_loops import (
    emit_reverse_loop,
    reverse_loop,
    reverse_starts,
    tape_loop,
    tapes_for,
)
from gradgen.differentiate.sweep import (
    BlockReversal,
    Sweep,
    add_adjoints,
    adjoint_input,
    bars_or_zeros,
    zeros_of,
)
from gradgen.ir.builder import GraphBuilder, as_params, result_like
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.loops import LoopParts, loop_params, loop_parts

#: ``--checkpoint sqrt``: segments of ceil(sqrt(T)) steps.
SQRT = "sqrt"


@dataclass(frozen=True)
class CheckpointRecord:
    """What the reverse of a checkpointed loop needs: the segment bounds' nodes, the
    snapshots the forward pass keeps, and which invariants get adjoints."""

    stride: Var
    segments: Var
    recorded: tuple[Var, ...]  # the snapshots: one tape per carried value
    varied: frozenset[Var]  # the invariants (outer nodes) that depend on what is differentiated


@dataclass(frozen=True)
class _Segment:
    """The inputs of a body over one segment: the segment's number, the carried values, the
    bounds (start, stop, stride) and the invariants."""

    number: Var
    carried: list[Var]
    bounds: list[Var]
    invariants: list[Var]

    def inputs(self, *adjoints: Var) -> tuple[Var, ...]:
        """The body's inputs: the segment's number, the ``adjoints`` a reverse body takes, the
        carried values, the bounds (less constants: written where used), the invariants."""
        taken = [var for var in self.bounds if not var.is_const]
        return (self.number, *adjoints, *self.carried, *taken, *self.invariants)


def checkpointing(every: int | str) -> BlockReversal:
    """Reverse mode's loops taken back by segments of ``every`` steps (or ``"sqrt"``)."""
    return BlockReversal(functools.partial(checkpoint_forward, every=every), checkpoint_reverse)


def checkpoint_forward(sweep: Sweep, edge: Edge, every: int | str) -> CheckpointRecord:
    """Emit ``edge`` as a loop over segments that keeps a snapshot of the carried values at
    the start of each (its results are the original loop's, then the snapshots)."""
    parts = loop_parts(edge)
    stride, segments = _segment_count(sweep.builder, parts, every)
    snapshots = _emit_segments_loop(sweep.builder, edge, parts, stride, segments)
    varied = frozenset(var for var in parts.invariants if var in sweep.varied)
    return CheckpointRecord(stride, segments, snapshots, varied)


def _segment_count(builder: GraphBuilder, parts: LoopParts, every: int | str) -> tuple[Var, Var]:
    """The nodes of the segments' length (the stride) and of their number."""
    count = builder.max(builder.sub(parts.stop, parts.start), builder.const(0.0))  # range(2, 0)
    stride = _stride(builder, count, every)
    return stride, builder.emit("ceil_div", (count, stride), "segments")


def _stride(builder: GraphBuilder, count: Var, every: int | str) -> Var:
    """The node of the segments' length: ``every`` steps, or ceil(sqrt(count)) for ``sqrt``."""
    if every == SQRT:
        return builder.emit("sqrt_stride", (count,), "stride")
    return builder.const(float(every))


def _emit_segments_loop(builder: GraphBuilder, edge: Edge, parts: LoopParts, stride: Var,
                        segments: Var) -> tuple[Var, ...]:
    """The loop over the segments in place of ``edge``; the nodes of its snapshots."""
    n = len(parts.carried)
    snapshots = tapes_for(parts.carried_in, "snapshot", parts.body.hints)
    body = _segments_body(builder, parts, stride)
    builder.edges.append(Edge("loop", (builder.const(0.0), segments, *parts.carried,
                                       *_bound_nodes(parts, stride), *parts.invariants),
                              edge.outputs + snapshots, as_params(loop_params(body, n, 0, n)),
                              edge.origin))
    return snapshots


def _segments_body(builder: GraphBuilder, parts: LoopParts, stride: Var) -> Graph:
    """The body of the loop over segments (in place of a loop ``builder`` builds): the
    original loop over one segment's steps; its records are the carried values at the
    segment's start (the snapshots)."""
    step = GraphBuilder()
    segment = _segment_inputs(parts, stride, builder)
    inner = _segment_loop(step, parts, segment)
    step.edges.append(inner)
    return Graph(f"{parts.body.name}_segments", segment.inputs(), tuple(step.edges),
                 (*inner.outputs, *segment.carried))


def checkpoint_reverse(sweep: Sweep, edge: Edge, record: CheckpointRecord) -> None:
    """The reverse of a checkpointed loop: over the segments backwards, each run forward
    again from its snapshot (recording) and then backwards; what reaches the initial carried
    values and the invariants is added to their adjoints."""
    parts = loop_parts(edge)
    builder = sweep.reversing(edge)
    zero = builder.const(0.0)
    body, wanted = _segments_reverse_body(sweep, edge, parts, record, zero)
    starts = reverse_starts(sweep, edge, parts.carried, wanted,
                            lambda var: zeros_of(builder, var, zero), {})
    targets = (*parts.carried, *wanted)
    emit_reverse_loop(sweep, (zero, record.segments), starts, record.recorded,
                      (*_bound_nodes(parts, record.stride), *parts.invariants), body, targets,
                      tuple(result_like(var, builder.hint_of(var)) for var in targets))


def _segments_reverse_body(sweep: Sweep, edge: Edge, parts: LoopParts,
                           record: CheckpointRecord, zero: Var) -> tuple[Graph, list[Var]]:
    """The reverse loop's body, one segment: from the cotangents at its end and the running
    totals of the invariants' adjoints to those at its start; and the invariants (outer
    nodes) it sums adjoints for."""
    step = sweep.inner()
    step.builder.origin = edge
    segment = _segment_inputs(parts, record.stride, sweep.builder)
    seeds = [adjoint_input(var, step.builder.hints) for var in segment.carried]
    wanted = _summed_invariants(parts, record, segment)
    totals = {inner: adjoint_input(inner, step.builder.hints) for _, inner in wanted}
    inner_loop = _segment_loop(step.builder, parts, segment)
    _run_segment_again(step, inner_loop, segment.carried, seeds, totals)
    body = Graph(f"{parts.body.name}_segments_reverse", segment.inputs(*seeds, *totals.values()),
                 tuple(step.builder.edges), _adjoints_at_start(step, segment, totals, zero),
                 hints=step.builder.hints)
    return body, [outer for outer, _ in wanted]


def _summed_invariants(parts: LoopParts, record: CheckpointRecord,
                       segment: _Segment) -> list[tuple[Var, Var]]:
    """The varied number invariants a segment sums adjoints for, as (outer node, body input)."""
    return [(outer, inner) for outer, inner in zip(parts.invariants, segment.invariants)
            if outer in record.varied and inner.dtype == "float"]


def _run_segment_again(step: Sweep, inner_loop: Edge, snapshot_in: list[Var],
                       seeds: list[Var], totals: dict[Var, Var]) -> None:
    """One segment run forward again from its snapshot, recording (`tape_loop`), then
    backwards from the ``seeds`` (`reverse_loop`), adding what reaches the invariants into
    their running ``totals``, in place."""
    step.varied = {*snapshot_in, *totals}
    taped = tape_loop(step, inner_loop)
    add_adjoints(step, inner_loop.outputs, seeds)
    reverse_loop(step, inner_loop, taped, totals)


def _adjoints_at_start(step: Sweep, segment: _Segment, totals: dict[Var, Var],
                       zero: Var) -> tuple[Var, ...]:
    """The adjoints at a segment's start: of the carried values (or zeros), then the totals."""
    carried = bars_or_zeros(step.builder, (step.adjoints.get(var) for var in segment.carried),
                            segment.carried, zero)
    return (*carried, *(step.adjoints.get(inner) or total for inner, total in totals.items()))


def _segment_inputs(parts: LoopParts, stride: Var, outer: GraphBuilder) -> _Segment:
    """A segment body's inputs, made for the loop of ``parts`` (a bound that is a constant
    stays one), each named by the hint of the node it stands for (in the loop's body, or
    for a bound, in the graph ``outer`` builds)."""
    body = parts.body
    return _Segment(Var("segment", (), "int"),
                    [Var(body.hint(var), var.shape, var.dtype) for var in parts.carried_in],
                    [var if var.is_const else Var(outer.hint_of(var), (), var.dtype)
                     for var in (parts.start, parts.stop, stride)],
                    [Var(body.hint(var), var.shape, var.dtype) for var in parts.invariant_in])


def _segment_loop(step: GraphBuilder, parts: LoopParts, segment: _Segment) -> Edge:
    """The original loop over the steps of ``segment`` (its bounds emitted into ``step``;
    the loop itself is left to the caller)."""
    low, high = _segment_bounds(step, segment)
    return Edge("loop", (low, high, *segment.carried, *segment.invariants),
                tuple(result_like(var, var.name) for var in segment.carried),
                as_params(loop_params(parts.body, len(segment.carried), 0, 0)))


def _bound_nodes(parts: LoopParts, stride: Var) -> list[Var]:
    """The outer nodes for the bounds that are inputs of a segment body."""
    return [var for var in (parts.start, parts.stop, stride) if not var.is_const]


def _segment_bounds(step: GraphBuilder, segment: _Segment) -> tuple[Var, Var]:
    """``lo = start + segment * stride`` and ``min(lo + stride, stop)``."""
    start, stop, stride = segment.bounds
    low = step.add(start, step.mul(segment.number, stride))
    return low, step.min(step.add(low, stride), stop)

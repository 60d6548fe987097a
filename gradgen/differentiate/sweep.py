"""Differentiation, reverse mode's sweep: a list of edges → the same edges, then their adjoints.

`sweep_forward` appends the forward edges to a builder, each active block replaced by one that
records what its reverse needs (as its kind's `BlockReversal` says, from the table the sweep is
given); `sweep_adjoints` then walks the active edges in reverse order: a primitive's adjoint
rule gives the contributions to its inputs (`backpropagate`), a block takes itself back from
its record, and contributions are summed where a node fans out (`accumulate`: the multivariate
chain rule). Only edges on a path from a target to an output are visited (`activity`).

A block's body (a loop's step, a branch's side, a helper) is differentiated by the same sweep
one level down (`differentiate_body`), with the table for bodies (loops inside are taped); the
block's reverse body is built on the adjoint edges of its body (`adjoint_of_body`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gradgen.differentiate.guards import Guard, branch_guards, masked
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.graph import Edge, Graph, Var, hint_of
from gradgen.ir.naming import adjoint_name
from gradgen.ir.optimize import needed_edges
from gradgen.ir.primitives import REGISTRY


class Record(Protocol):
    """What the forward sweep keeps about one block for its reverse: a small frozen dataclass
    per kind, whose ``recorded`` are the nodes holding the values the block recorded (tapes,
    results, snapshots); the rest is what its kind's reverse reads."""

    recorded: tuple[Var, ...]


@dataclass(frozen=True)
class BlockReversal:
    """How reverse mode takes one kind of block back: ``record`` emits the block so that it
    keeps what its reverse needs, and returns that; ``reverse`` emits the reverse from it."""

    record: Callable[[Sweep, Edge], Record]
    reverse: Callable[[Sweep, Edge, Any], None]


#: A table of block kinds (``loop``, ``cond``, ``call``) and how each is taken back.
Blocks = Mapping[str, BlockReversal]


@dataclass
class Sweep:
    """One level of a reverse pass (a graph, or one body of a block): the builder its edges go
    to, how its blocks (and the blocks in their bodies) are taken back, and what it found."""

    builder: GraphBuilder
    blocks: Blocks  # how this level's blocks are taken back
    bodies: Blocks  # ... and those inside their bodies
    helpers: dict[Graph, Any] = field(default_factory=dict)  # derivatives made once per pass
    active: list[Edge] = field(default_factory=list)
    varied: set[Var] = field(default_factory=set)  # nodes depending differentiably on a target
    on_path: set[Var] = field(default_factory=set)  # ... and reaching an output: adjoints flow
    level: tuple[tuple[Edge, ...], tuple[Var, ...]] = ((), ())  # the edges, the graph's outputs
    records: dict[Edge, Record] = field(default_factory=dict)
    adjoints: dict[Var, Var] = field(default_factory=dict)
    guards: dict[Var, Guard] = field(default_factory=dict)

    @functools.cached_property
    def bound(self) -> set[Var]:
        """The nodes read at this level (by an edge, or as the graph's outputs): the blocks'
        results their code binds. Found when a block first asks."""
        edges, kept = self.level
        return {var for edge in edges for var in edge.inputs} | set(kept)

    def inner(self, body: Graph | None = None) -> Sweep:
        """A sweep for a body of one of this level's blocks (``body``, whose hints its nodes
        keep), with a builder of its own."""
        return Sweep(GraphBuilder(body.hints if body else None), self.bodies, self.bodies,
                     self.helpers)

    def reversing(self, edge: Edge) -> GraphBuilder:
        """The builder, from now on building the reverse of ``edge`` (its ``# grad of``)."""
        self.builder.origin = edge
        return self.builder


@dataclass(frozen=True)
class Body:
    """A body differentiated: its forward edges (its blocks recording), the adjoint edges that
    pull the seeds back to the targets (less those no target needs), what reaches each target
    (None: nothing), the forward values that the adjoint edges read (to be recorded), and the
    name hints of its nodes (the body's, and those of its adjoints)."""

    forward: tuple[Edge, ...]
    adjoint: tuple[Edge, ...]
    bars: tuple[Var | None, ...]
    residuals: tuple[Var, ...]
    hints: dict[Var, str]

    def hint(self, var: Var) -> str | None:
        return hint_of(var, self.hints)


def differentiate_body(sweep: Sweep, body: Graph, targets: tuple[Var, ...],
                       outputs: tuple[Var, ...], seeds: tuple[Var, ...],
                       own: set[Var]) -> Body:
    """A body of one of the sweep's blocks (a loop's step, a branch's side, a helper)
    differentiated one level down: the ``seeds`` of its ``outputs`` (some of its outputs)
    pulled back to its ``targets``. Its residuals are the values its adjoint edges read that
    are neither made by them nor ``own`` (the body's other inputs)."""
    inner = sweep.inner(body)
    sweep_forward(inner, body.edges, *activity(body.edges, targets, outputs), body.outputs)
    forward = tuple(inner.builder.edges)
    bars = sweep_adjoints(inner, outputs, seeds, targets)
    found = tuple(var for var in bars if var is not None)
    adjoint = needed_edges(tuple(inner.builder.edges[len(forward):]), found)
    return Body(forward, adjoint, tuple(bars), _read_from_outside(adjoint, own),
                inner.builder.hints)


def sweep_forward(sweep: Sweep, edges: tuple[Edge, ...], active: list[Edge],
                  varied: set[Var], on_path: set[Var], kept: tuple[Var, ...]) -> None:
    """The forward edges, the ``active`` blocks recording (``varied``: the nodes that depend
    differentiably on what is differentiated; ``on_path``: those of them an output depends
    on; ``kept``: the outputs of the graph of ``edges``)."""
    sweep.active, sweep.varied, sweep.on_path = active, varied, on_path
    sweep.level = (edges, kept)
    _emit_forward(sweep, edges, set(active))


def _emit_forward(sweep: Sweep, edges: tuple[Edge, ...], active: set[Edge]) -> None:
    """Each of ``edges`` as it is, or, for an ``active`` block, as its kind's ``record``
    emits it; what that returns is kept for the block's reverse."""
    for edge in edges:
        kind = sweep.blocks.get(edge.prim) if edge in active else None
        if kind is None:
            sweep.builder.edges.append(edge)
        else:
            sweep.records[edge] = kind.record(sweep, edge)


def sweep_adjoints(sweep: Sweep, outputs: tuple[Var, ...], seeds: tuple[Var, ...],
                   targets: tuple[Var, ...]) -> list[Var | None]:
    """The adjoint edges, in reverse order of the active edges; each target's adjoint."""
    add_adjoints(sweep, outputs, seeds)
    sweep.guards = branch_guards(sweep.builder, sweep.active, set(outputs), sweep.on_path)
    for edge in reversed(sweep.active):
        _reverse_edge(sweep, edge)
    sweep.builder.origin = None
    return [sweep.adjoints.get(var) for var in targets]


def _reverse_edge(sweep: Sweep, edge: Edge) -> None:
    """One active edge's adjoint: a block's reverse, as its kind says, or the primitive's."""
    kind = sweep.blocks.get(edge.prim)
    if kind is not None:
        kind.reverse(sweep, edge, sweep.records[edge])
    else:
        backpropagate(sweep, edge)


def active_edges(graph: Graph, targets: tuple[Var, ...], output: Var) -> list[Edge]:
    """Edges whose output depends differentiably on a target and reaches the output."""
    return activity(graph.edges, targets, (output,))[0]


def activity(edges: tuple[Edge, ...], targets: tuple[Var, ...],
             outputs: tuple[Var, ...]) -> tuple[list[Edge], set[Var], set[Var]]:
    """The active edges, the nodes that depend differentiably on a target, and those of them
    that an output depends on (an edge is active when one of its outputs is)."""
    varied, useful = _varied(edges, targets), _useful(edges, outputs)
    on_path = varied & useful
    active = [edge for edge in edges if not on_path.isdisjoint(edge.outputs)]
    return active, varied, on_path


def _varied(edges: tuple[Edge, ...], targets: tuple[Var, ...]) -> set[Var]:
    """The nodes that depend differentiably on a target (no adjoint rule: no dependence)."""
    varied = set(targets)
    for edge in edges:
        if REGISTRY[edge.prim].adjoint and not varied.isdisjoint(edge.inputs):
            varied.update(edge.outputs)
    return varied


def _useful(edges: tuple[Edge, ...], outputs: tuple[Var, ...]) -> set[Var]:
    """The nodes that an output depends on."""
    useful = set(outputs)
    for edge in reversed(edges):
        if not useful.isdisjoint(edge.outputs):
            useful.update(edge.inputs)
    return useful


def _read_from_outside(edges: tuple[Edge, ...], own: set[Var]) -> tuple[Var, ...]:
    """What a body's adjoint ``edges`` read and neither make nor have as ``own``: to record."""
    produced = {var for edge in edges for var in edge.outputs}
    return tuple(dict.fromkeys(var for edge in edges for var in edge.inputs
                               if not var.is_const and var not in produced and var not in own))


# ---- one edge's adjoint ----------------------------------------------------------------------

def backpropagate(sweep: Sweep, edge: Edge) -> None:
    """Add ``edge``'s contributions to the adjoints of its inputs."""
    g = sweep.adjoints.get(edge.output)
    if g is None:
        return
    builder = sweep.builder
    builder.origin = edge
    prim = REGISTRY[edge.prim]
    guard = sweep.guards.get(edge.output)
    if guard is not None and not prim.elementwise:
        # a contribution of a matmul or a reduction has another shape than the guard: mask the
        # adjoint going in instead (its local derivatives are linear, not inf or NaN)
        g, guard = masked(builder, guard, g), None
    contributions = prim.adjoint(builder, g, edge.output, *edge.inputs, **dict(edge.params))
    for var, contribution in zip(edge.inputs, contributions):
        if contribution is not None and not var.is_const:
            _add_contribution(sweep, var, contribution, guard)


def _add_contribution(sweep: Sweep, var: Var, contribution: Var, guard: Guard) -> None:
    """Add to ``var``'s adjoint one contribution, masked where it leaves the region of
    ``guard`` (the branch not taken adds 0) and summed back to ``var``'s shape."""
    builder = sweep.builder
    if guard is not None and guard is not sweep.guards.get(var):
        contribution = masked(builder, guard, contribution)
    accumulate(builder, var, unbroadcast(builder, contribution, var.shape), sweep.adjoints)


def unbroadcast(builder: GraphBuilder, contribution: Var, shape: tuple) -> Var:
    """``contribution`` summed back to ``shape``, the shape of the input it is for: over the
    leading axes that broadcasting added and over the axes where the input has length 1."""
    if contribution.shape == shape:
        return contribution
    lead = len(contribution.shape) - len(shape)
    return _sum_leading(builder, _sum_stretched(builder, contribution, shape, lead), shape, lead)


def _sum_stretched(builder: GraphBuilder, contribution: Var, shape: tuple, lead: int) -> Var:
    """``contribution`` summed, keeping the axes, where ``shape`` has length 1 and it has not."""
    axes = tuple(lead + axis for axis, dim in enumerate(shape)
                 if dim == 1 and contribution.shape[lead + axis] != 1)
    return builder.sum(contribution, axis=axes, keepdims=True) if axes else contribution


def _sum_leading(builder: GraphBuilder, contribution: Var, shape: tuple, lead: int) -> Var:
    """``contribution`` summed over the ``lead`` axes that broadcasting put before ``shape``."""
    if not lead:
        return contribution
    return builder.sum(contribution, axis=tuple(range(lead)) if shape else None, keepdims=False)


def add_adjoints(sweep: Sweep, targets: Iterable[Var], bars: Iterable[Var]) -> None:
    """Add each of ``bars`` to the adjoint of its target (a seed, a block's result)."""
    for var, bar in zip(targets, bars):
        accumulate(sweep.builder, var, bar, sweep.adjoints)


def accumulate(builder: GraphBuilder, var: Var, contribution: Var,
               adjoints: dict[Var, Var]) -> None:
    """Add ``contribution`` to ``var``'s adjoint (the first one is the adjoint, named)."""
    name = adjoint_name(hint_of(var, builder.hints))
    previous = adjoints.get(var)
    if contribution.dtype == "int":  # 1 * N for q * N with N: int; an adjoint is a number
        contribution = builder.to_float(contribution)
    if previous is None:
        builder.hint(contribution, name)
        adjoints[var] = contribution
    else:
        adjoints[var] = builder.emit("add", (previous, contribution), name)


def zeros_of(builder: GraphBuilder, like: Var, zero: Var) -> Var:
    """Zeros of ``like``'s shape: the constant for a scalar."""
    return zero if not like.shape else expanded(builder, zero, like)


def expanded(builder: GraphBuilder, zero: Var, like: Var) -> Var:
    """The constant ``zero`` broadcast to ``like``'s shape, by an edge (for a scalar too)."""
    return builder.expand(zero, like, axis=None, keepdims=False)


# ---- a block's record and reverse body -------------------------------------------------------

def recording_block(edge: Edge, outputs: tuple[Var, ...], **changed: Any) -> Edge:
    """The block ``edge`` in its place, recording: more ``outputs``, some params ``changed``."""
    params = as_params({**dict(edge.params), **changed})
    return Edge(edge.prim, edge.inputs, outputs, params, edge.origin)


def adjoint_input(var: Var, hints: Mapping[Var, str]) -> Var:
    """A body's input standing for ``var``'s adjoint (a step's cotangent, a running sum),
    named after ``var``'s hint in ``hints`` (its graph's)."""
    return Var(adjoint_name(hint_of(var, hints)), var.shape)


def adjoint_step(body: Body, origin: Edge | None) -> GraphBuilder:
    """A builder for the reverse body of ``origin``, holding ``body``'s adjoint edges (and
    their hints)."""
    step = GraphBuilder(body.hints)
    step.edges.extend(body.adjoint)
    step.origin = origin
    return step


def adjoint_of_body(body: Body, targets: tuple[Var, ...], zero: Var, origin: Edge | None
                    ) -> tuple[tuple[Edge, ...], tuple[Var, ...]]:
    """A block's reverse body: ``body``'s adjoint edges, and what reaches each of ``targets``
    (zeros of its shape where nothing does)."""
    step = adjoint_step(body, origin)
    outputs = bars_or_zeros(step, body.bars, targets, zero)
    return tuple(step.edges), outputs


def bars_or_zeros(builder: GraphBuilder, bars: Iterable[Var | None], likes: Iterable[Var],
                  zero: Var) -> tuple[Var, ...]:
    """Each of ``bars``, or zeros shaped as its ``like`` where it is None (nothing reached it)."""
    return tuple(bar if bar is not None else zeros_of(builder, like, zero)
                 for bar, like in zip(bars, likes))

"""Reverse mode: forward `Graph` → gradient `Graph`, by rote transformation.

The gradient graph keeps every forward edge (forward values are reused, never recomputed),
then walks the active edges in reverse topological order, asks each primitive's adjoint rule
for the contributions to its inputs, and sums contributions where a node fans out (the
multivariate chain rule). Only edges on a path from a requested input to the output are
visited (activity analysis); a requested input that cannot reach the output gets an exact 0.

Outputs of the gradient graph: the value, then one partial per requested input.

NaN safety of ``where``: a value computed only for one branch of a ``where`` may be inf or NaN
where that branch is not taken (``where(x > 0, log(x), 0)`` at 0). Its adjoint there is zero
times that, NaN. So every node gets a *guard*, a condition node saying where its value is used
at all (``c`` inside the first branch of ``where(c, a, b)``, ``not c`` inside the second, ``and``
for nested branches, ``or`` over a node's several uses, none for a node used unconditionally),
and a contribution leaving a guarded region is masked, ``where(guard, contribution, 0)``: the
branch not taken adds an exact zero.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradgen.ir.builder import GraphBuilder, as_params, give_hint
from gradgen.ir.graph import Edge, Graph, Var, consumers, select_inputs
from gradgen.ir.naming import adjoint_name
from gradgen.ir.optimize import needed_edges
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.primitives.branches import cond_params, cond_parts
from gradgen.ir.primitives.calls import call_params
from gradgen.ir.primitives.loops import loop_items, loop_params, loop_parts

Guard = Var | None  # a condition node; None: used unconditionally


@dataclass(frozen=True)
class LoopReversal:
    """How reverse mode takes a loop back: ``record`` emits the loop so that it keeps what its
    reverse needs, and returns that; ``reverse`` emits the reverse from it. Taping (`tape_loop`,
    `reverse_loop`) unless the caller gives another (checkpointing, see `checkpoint`)."""

    record: Callable[[GraphBuilder, Edge, set[Var]], Any]
    reverse: Callable[[GraphBuilder, Edge, Any, dict[int, Var], dict[Var, Var]], None]


def reverse_mode(graph: Graph, wrt: tuple[str, ...] | None = None,
                 cotangent: bool = False, loops: LoopReversal | None = None) -> Graph:
    """The gradient program of a one-output graph with respect to inputs ``wrt`` (all if None).

    With ``cotangent``, the program is the vector-Jacobian product instead: it takes one more
    input, the cotangent (the output's adjoint, of the output's shape), and its outputs are the
    value and the cotangent pulled back to each input. ``loops``: how the loops at the top of
    the graph are taken back (taping, unless given: `checkpoint.checkpointing`).
    """
    (output,) = graph.outputs
    targets = select_inputs(graph, wrt)
    builder = GraphBuilder()
    seed = Var("cotangent", output.shape) if cotangent else builder.const(1.0)
    found = backward(builder, graph.edges, [output], [seed], targets, loops)
    partials = tuple(var or builder.const(0.0) for var in found)
    names = (graph.name,) + tuple(adjoint_name(var.name) or "" for var in targets)
    inputs = graph.inputs + ((seed,) if cotangent else ())
    return graph.replace(inputs=inputs, edges=tuple(builder.edges),
                         outputs=(output,) + partials, output_names=names)


def backward(builder: GraphBuilder, edges: tuple[Edge, ...], outputs: list[Var],
             seeds: list[Var], targets: tuple[Var, ...],
             loops: LoopReversal | None = None) -> list[Var | None]:
    """Append to ``builder`` the forward ``edges`` (each active loop replaced by one that
    records what its reverse needs), then the adjoint edges that pull the ``seeds`` (one per
    output) back; return each target's adjoint (None: no gradient reaches it)."""
    active, varied = _active(edges, targets, outputs)
    reversals = emit_forward(builder, edges, active, varied, loops)
    return emit_adjoints(builder, edges, active, reversals, outputs, seeds, targets)


def emit_forward(builder: GraphBuilder, edges: tuple[Edge, ...], active: list[Edge],
                 varied: set[Var], loops: LoopReversal | None = None) -> dict[Edge, Any]:
    """The forward edges, active loops and branches recording for their reverse (loops only
    recording as ``loops`` says, taping by default); returns how to reverse each of them
    (a loop: its reverse function and what it takes)."""
    loops = loops or TAPING
    active_set = set(active)
    reversals: dict[Edge, Any] = {}
    items = loop_items(edges)
    for edge in edges:
        if edge in active_set and edge.prim == "loop":
            reversals[edge] = (loops.reverse, loops.record(builder, edge, varied))
        elif edge in active_set and edge.prim == "call":
            reversals[edge] = record_call(builder, edge)
        elif edge in active_set and edge.prim == "cond":
            reversals[edge] = record_branch(builder, edge, varied,
                                            dict(items.get(edge.output, {})))
        else:
            builder.edges.append(edge)
    return reversals


def emit_adjoints(builder: GraphBuilder, edges: tuple[Edge, ...], active: list[Edge],
                  reversals: dict[Edge, Any], outputs: list[Var], seeds: list[Var],
                  targets: tuple[Var, ...]) -> list[Var | None]:
    """The adjoint edges, in reverse order of the active edges."""
    adjoints: dict[Var, Var] = {}
    for output, seed in zip(outputs, seeds):
        accumulate(builder, output, seed, adjoints)
    guards = _branch_guards(builder, active, set(outputs))
    items = loop_items(edges)
    for edge in reversed(active):
        if edge.prim == "loop":
            reverse, recorded = reversals[edge]
            reverse(builder, edge, recorded, items.get(edge.output, {}), adjoints)
        elif edge.prim == "cond":
            reverse_branch(builder, edge, reversals[edge], items.get(edge.output, {}), adjoints)
        elif edge.prim == "call":
            reverse_call(builder, edge, reversals[edge], adjoints, guards.get(edge.output))
        elif edge.prim != "item":  # a block's results: the block itself reads their adjoints
            _backpropagate(builder, edge, adjoints, guards)
    builder.origin = None
    return [adjoints.get(var) for var in targets]


def active_edges(graph: Graph, targets: tuple[Var, ...], output: Var) -> list[Edge]:
    """Edges whose output depends differentiably on a target and reaches the output."""
    return _active(graph.edges, targets, [output])[0]


def _active(edges: tuple[Edge, ...], targets: tuple[Var, ...],
            outputs: list[Var]) -> tuple[list[Edge], set[Var]]:
    """The active edges, and the nodes that depend differentiably on a target."""
    varied = set(targets)
    for edge in edges:
        if REGISTRY[edge.prim].adjoint and any(v in varied for v in edge.inputs):
            varied.add(edge.output)
    useful = set(outputs)
    for edge in reversed(edges):
        if edge.output in useful:
            useful.update(edge.inputs)
    return [e for e in edges if e.output in varied and e.output in useful], varied


# ---- loops: a forward loop that records, a reverse loop that reads back ---------------------

@dataclass(frozen=True)
class Reversal:
    """What the reverse of one loop needs: the reverse body (adjoint edges of one step), its
    inputs by role, and the tapes the forward loop fills."""

    seeds: tuple[Var, ...]  # the step's cotangents of the carried values
    residuals: tuple[Var, ...]  # forward values of a step that its adjoint reads
    tapes: tuple[Var, ...]  # one per residual, filled by the forward loop
    edges: tuple[Edge, ...]  # the adjoint edges of one step
    carried_bars: tuple[Var | None, ...]  # the step's adjoints of the carried inputs
    invariant_bars: tuple[Var | None, ...]  # ... and of the invariants


def tape_loop(builder: GraphBuilder, edge: Edge, varied: set[Var]) -> Reversal:
    """Emit ``edge`` as a loop that also records, each step, the values its body's adjoint
    reads; return what `reverse_loop` needs. Adjoints are taken for the carried values and
    for the invariants that depend on what is differentiated (``varied``)."""
    parts = loop_parts(edge)
    body = parts.body
    seeds = tuple(Var(adjoint_name(var.name), var.shape) for var in parts.carried_in)
    wanted = tuple(inner for outer, inner in zip(parts.invariants, parts.invariant_in)
                   if outer in varied)
    targets = parts.carried_in + wanted
    step = GraphBuilder()
    active, inner_varied = _active(body.edges, targets, list(parts.carried_out))
    reversals = emit_forward(step, body.edges, active, inner_varied)
    forward_part = tuple(step.edges)
    bars = emit_adjoints(step, body.edges, active, reversals, list(parts.carried_out),
                         list(seeds), targets)
    adjoint_part = _needed(tuple(step.edges[len(forward_part):]), bars)
    own = {*seeds, parts.index, *parts.invariant_in}
    residuals = _read_from_outside(adjoint_part, own)
    recording = body.replace(edges=forward_part, outputs=parts.carried_out + residuals)
    params = dict(edge.params)
    params.update(body=recording, records=len(residuals))
    builder.edges.append(Edge("loop", edge.inputs, edge.output, as_params(params), edge.origin))
    n = len(parts.carried)
    tapes = tuple(builder.take(edge.output, n + k, var, f"tape_{var.name or 'v'}", "tape")
                  for k, var in enumerate(residuals))
    invariant_bars = dict(zip(wanted, bars[n:]))
    return Reversal(seeds, residuals, tapes, adjoint_part, tuple(bars[:n]),
                    tuple(invariant_bars.get(inner) for inner in parts.invariant_in))


def _add_into(step: GraphBuilder, total: Var, bar: Var) -> Var:
    """``total + bar`` for a loop's accumulator; where ``bar`` is (a sum of) contributions of
    indexing (``x[t]``: a scatter of the adjoint into zeros), each is added in place into its
    part of ``total`` instead, so that a step costs the size of the part, not of ``x``. A
    number's total is added out of place: a scalar function called with arrays broadcasts it
    (an invariant ``c = 2`` gets an adjoint of the points' shape)."""
    if not total.shape:
        return step.add(total, bar)
    producer = {edge.output: edge for edge in step.edges}
    terms, pending = [], [bar]
    while pending:
        term = pending.pop()
        edge = producer.get(term)
        if edge is not None and edge.prim == "add" and edge.inputs[0].shape == total.shape \
                and edge.inputs[1].shape == total.shape:
            pending += edge.inputs
        else:
            terms.append(term)
    for term in terms:
        edge = producer.get(term)
        if edge is not None and edge.prim == "scatter":
            value, _, *at = edge.inputs
            total = step.add_at(total, value, *at, index=dict(edge.params)["index"])
        else:
            total = step.add_into(total, term)
    return total


def _needed(edges: tuple[Edge, ...], results: list[Var | None]) -> tuple[Edge, ...]:
    """The edges that the results depend on (a step's adjoint edges, less the dead ones, so
    that nothing is recorded for them)."""
    return needed_edges(edges, tuple(var for var in results if var is not None))


def _read_from_outside(edges: tuple[Edge, ...], own: set[Var]) -> tuple[Var, ...]:
    """The nodes ``edges`` read that they do not make and that are not in ``own``: for a
    step's adjoint edges, the forward values of the step (and carried inputs) to record."""
    produced = {edge.output for edge in edges}
    needed: dict[Var, None] = {}
    for edge in edges:
        for var in edge.inputs:
            if not var.is_const and var not in produced and var not in own:
                needed[var] = None
    return tuple(needed)


def reverse_loop(builder: GraphBuilder, edge: Edge, reversal: Reversal,
                 items: dict[int, Var], adjoints: dict[Var, Var],
                 totals: dict[Var, Var] | None = None) -> None:
    """The reverse loop of ``edge``: from the adjoints of its results, run the steps'
    adjoints backwards, reading the tapes, and add what reaches the initial carried values
    and the invariants to their adjoints. An invariant's adjoint is summed into a fresh
    array of zeros, or into the array ``totals`` gives for it (one the caller owns)."""
    parts = loop_parts(edge)
    builder.origin = edge
    zero = builder.const(0.0)
    step = GraphBuilder()
    step.edges.extend(reversal.edges)
    step.origin = edge
    carried_next = []
    for seed, bar in zip(reversal.seeds, reversal.carried_bars):
        carried_next.append(bar if bar is not None
                            else step.expand(zero, seed, axis=None, keepdims=False))
    sums, sums_in, sums_next = [], [], []
    for outer, inner, bar in zip(parts.invariants, parts.invariant_in, reversal.invariant_bars):
        if bar is None or inner.dtype != "float":
            continue
        total = Var(adjoint_name(inner.name), inner.shape)
        sums.append(outer)
        sums_in.append(total)
        sums_next.append(_add_into(step, total, unbroadcast(step, bar, inner.shape)))
    body = Graph(f"{parts.body.name}_reverse",
                 (parts.index, *reversal.seeds, *sums_in, *reversal.residuals,
                  *parts.invariant_in),
                 tuple(step.edges), tuple(carried_next) + tuple(sums_next))
    final_bars = [adjoints.get(items[k]) if k in items else None
                  for k in range(len(parts.carried))]
    seeds_in = [bar if bar is not None
                else builder.expand(zero, var, axis=None, keepdims=False)
                for bar, var in zip(final_bars, (items.get(k) or v for k, v in
                                                 enumerate(parts.carried)))]
    totals = totals or {}
    starts = [totals.get(outer) or builder.zeros_like(outer)  # _add_into adds in place
              for outer in sums]
    n = len(seeds_in) + len(starts)
    loop = builder.emit("loop", (parts.start, parts.stop, *seeds_in, *starts, *reversal.tapes,
                                 *parts.invariants), None,
                        as_params(loop_params(body, n, len(reversal.tapes), 0, reverse=True)))
    results = [builder.take(loop, k, var, None, "float")
               for k, var in enumerate((*parts.carried, *sums))]
    for var, bar in zip((*parts.carried, *sums), results):
        if not var.is_const and var.dtype == "float":
            accumulate(builder, var, bar, adjoints)


#: Loops record a tape per value their reverse reads, and the reverse loop reads them back.
TAPING = LoopReversal(tape_loop, reverse_loop)


# ---- branches: the side taken records what its adjoint reads; the reverse goes back the same way

@dataclass(frozen=True)
class BranchReversal:
    """What the reverse of one branch needs: per side, the adjoint edges and what they give
    each differentiated operand; the cotangents of the results, and the recorded values."""

    results: tuple[int, ...]  # the results whose adjoints are pulled back
    seeds: tuple[Var, ...]  # one cotangent per such result
    wanted: tuple[Var, ...]  # the sides' inputs whose adjoints are taken
    residuals: tuple[Var, ...]  # forward values of the sides that their adjoints read
    recorded: tuple[Var, ...]  # the recording cond's items holding them
    sides: tuple[tuple[tuple[Edge, ...], list[Var | None]], ...]


def record_branch(builder: GraphBuilder, edge: Edge, varied: set[Var],
                  items: dict[int, Var]) -> BranchReversal:
    """Emit ``edge`` as a branch whose sides also output the values their adjoints read
    (each side a placeholder for the other's; a result is read as the result); return what
    `reverse_branch` needs. Adjoints are pulled back from the results that are ``varied``
    (of ``items``), to the operands that are ``varied``."""
    used = {k: var for k, var in items.items() if var in varied}
    parts = cond_parts(edge)
    results = tuple(k for k in sorted(used) if used[k].dtype == "float")
    wanted = tuple(inner for outer, inner in zip(parts.operands, parts.operand_in)
                   if outer in varied and inner.dtype == "float")
    seeds = tuple(Var(adjoint_name(used[k].name), used[k].shape) for k in results)
    forward_parts, sides, residuals = [], [], []
    for side in (parts.then, parts.orelse):
        step = GraphBuilder()
        outputs = [side.outputs[k] for k in results]
        active, inner_varied = _active(side.edges, wanted, outputs)
        reversals = emit_forward(step, side.edges, active, inner_varied)
        forward_parts.append(tuple(step.edges))
        bars = emit_adjoints(step, side.edges, active, reversals, outputs, list(seeds), wanted)
        adjoint_part = _needed(tuple(step.edges[len(forward_parts[-1]):]), bars)
        residuals.append(_read_from_outside(adjoint_part, {*seeds, *parts.operand_in}))
        sides.append((adjoint_part, bars))
    placeholder = builder.const(0.0)  # what a side outputs for the other side's residuals
    own = [tuple(var for var in found if var not in side.outputs[:parts.results])
           for found, side in zip(residuals, (parts.then, parts.orelse))]
    recording = [side.replace(edges=forward, outputs=side.outputs[:parts.results] + mine)
                 for side, forward, mine in zip(
                     (parts.then, parts.orelse), forward_parts,
                     (own[0] + (placeholder,) * len(own[1]),
                      (placeholder,) * len(own[0]) + own[1]))]
    params = dict(edge.params)
    params.update(then=recording[0], orelse=recording[1], residuals=(len(own[0]), len(own[1])))
    builder.edges.append(Edge("cond", edge.inputs, edge.output, as_params(params), edge.origin))
    kept = residuals[0] + residuals[1]
    slots = {var: parts.results + k for k, var in enumerate(own[0] + own[1])}
    for side in (parts.then, parts.orelse):
        slots.update({var: k for k, var in enumerate(side.outputs[:parts.results])
                      if var in kept and var not in slots})
    recorded = tuple(_item(builder, edge.output, slots[var], var, items) for var in kept)
    return BranchReversal(results, seeds, wanted, kept, recorded, tuple(sides))


def _item(builder: GraphBuilder, block: Var, index: int, like: Var,
          items: dict[int, Var]) -> Var:
    """The block's result at ``index`` (an ``item`` edge, made if there is none yet)."""
    if index not in items:
        items[index] = builder.take(block, index, like, like.name)
    return items[index]


def reverse_branch(builder: GraphBuilder, edge: Edge, reversal: BranchReversal,
                   items: dict[int, Var], adjoints: dict[Var, Var]) -> None:
    """The reverse of a branch: a branch on the same test whose sides are the adjoints of the
    forward sides; what reaches the operands is added to their adjoints."""
    bars_in = [adjoints.get(items[k]) for k in reversal.results]
    if not reversal.wanted or all(bar is None for bar in bars_in):
        return
    builder.origin = edge
    zero = builder.const(0.0)
    seeds_in = [bar if bar is not None else zeros_of(builder, items[k], zero)
                for bar, k in zip(bars_in, reversal.results)]
    parts = cond_parts(edge)
    inputs = (*reversal.seeds, *reversal.residuals, *parts.operand_in)
    sides = []
    for (adjoint_part, bars), name in zip(reversal.sides, ("then", "else")):
        step = GraphBuilder()
        step.edges.extend(adjoint_part)
        step.origin = edge
        outputs = tuple(bar if bar is not None else zeros_of(step, inner, zero)
                        for bar, inner in zip(bars, reversal.wanted))
        sides.append(Graph(f"{parts.then.name}_{name}_reverse", inputs, tuple(step.edges),
                           outputs))
    branch = builder.emit("cond", (parts.test, *seeds_in, *reversal.recorded, *parts.operands),
                          None, as_params(cond_params(sides[0], sides[1], len(reversal.wanted))))
    outer = dict(zip(parts.operand_in, parts.operands))
    for k, inner in enumerate(reversal.wanted):
        bar = builder.take(branch, k, inner, adjoint_name(inner.name), "float")
        accumulate(builder, outer[inner], bar, adjoints)


# ---- calls: a helper's own derivative, called where the helper was ---------------------------

@functools.lru_cache(maxsize=1024)
def helper_derivatives(graph: Graph) -> tuple[Graph | None, Graph]:
    """A helper's recording version (its value, then the other values its vjp reads; None
    if there are none) and its vjp: (arguments, value, other recorded values, cotangent) ->
    the cotangent pulled back to each argument that is a number. So ``vjp(*args,
    *record(*args), cotangent)``, or ``vjp(*args, helper(*args), cotangent)``."""
    (output,) = graph.outputs
    seed = Var("cotangent", output.shape)
    wanted = tuple(var for var in graph.inputs if var.dtype == "float")
    step = GraphBuilder()
    active, varied = _active(graph.edges, wanted, [output])
    reversals = emit_forward(step, graph.edges, active, varied)
    forward_part = tuple(step.edges)
    bars = emit_adjoints(step, graph.edges, active, reversals, [output], [seed], wanted)
    adjoint = GraphBuilder()
    adjoint.edges.extend(_needed(tuple(step.edges[len(forward_part):]), bars))
    zero = adjoint.const(0.0)
    outputs = tuple(bar if bar is not None else zeros_of(adjoint, var, zero)
                    for bar, var in zip(bars, wanted))
    residuals = _read_from_outside(tuple(adjoint.edges), {seed, *graph.inputs})
    recorded = tuple(var for var in residuals if var is not output)  # the value comes first
    record = graph.replace(name=f"{graph.name}_record", edges=forward_part,
                           outputs=(output, *recorded)) if recorded else None
    own_value = output not in graph.inputs and not output.is_const
    value = output if own_value else Var("value", output.shape, output.dtype)
    vjp = Graph(f"{graph.name}_vjp", (*graph.inputs, value, *recorded, seed),
                tuple(adjoint.edges), outputs, graph.source)
    return record, vjp


def record_call(builder: GraphBuilder, edge: Edge) -> tuple[Graph, tuple[Var, ...]]:
    """Emit ``edge`` as a call of the helper's recording version (if its vjp reads more than
    the arguments and the value); return the vjp and what it takes after the arguments (the
    value, then the recorded values)."""
    record, vjp = helper_derivatives(dict(edge.params)["graph"])
    if record is None:
        builder.edges.append(edge)
        return vjp, (edge.output,)
    results = Var(None, (), "tuple")
    builder.edges.append(Edge("call", edge.inputs, results,
                              as_params(call_params(record, "record")), edge.origin))
    builder.edges.append(Edge("item", (results,), edge.output, as_params(
        {"index": 0, "shape": edge.output.shape, "dtype": edge.output.dtype}), edge.origin))
    recorded = tuple(builder.take(results, k, var, var.name)
                     for k, var in enumerate(record.outputs[1:], start=1))
    return vjp, (edge.output, *recorded)


def reverse_call(builder: GraphBuilder, edge: Edge, reversal: tuple[Graph, tuple[Var, ...]],
                 adjoints: dict[Var, Var], guard: Guard) -> None:
    """A call of the helper's vjp, whose results are added to the arguments' adjoints."""
    g = adjoints.get(edge.output)
    if g is None:
        return
    vjp, recorded = reversal
    builder.origin = edge
    if guard is not None:  # inside a branch of a where: the branch not taken gets 0
        g = builder.where(guard, g, builder.const(0.0))
    graph = dict(edge.params)["graph"]
    numbers = [arg for arg, var in zip(edge.inputs, graph.inputs) if var.dtype == "float"]
    result = builder.emit("call", (*edge.inputs, *recorded, g), None,
                          as_params(call_params(vjp, "vjp")))
    bars = [result] if len(vjp.outputs) == 1 else [
        builder.take(result, k, arg, adjoint_name(arg.name), "float")
        for k, arg in enumerate(numbers)]
    for arg, bar in zip(numbers, bars):
        if not arg.is_const:
            accumulate(builder, arg, bar, adjoints)


def zeros_of(builder: GraphBuilder, like: Var, zero: Var) -> Var:
    """Zeros of ``like``'s shape: the constant for a scalar."""
    return zero if not like.shape else builder.expand(zero, like, axis=None, keepdims=False)


def _backpropagate(builder: GraphBuilder, edge: Edge, adjoints: dict[Var, Var],
                   guards: dict[Var, Guard]) -> None:
    """Add ``edge``'s contributions to the adjoints of its inputs."""
    g = adjoints.get(edge.output)
    if g is None:
        return
    builder.origin = edge
    prim = REGISTRY[edge.prim]
    guard = guards.get(edge.output)
    if guard is not None and not prim.elementwise:
        # a contribution of a matmul or a reduction has another shape than the guard: mask the
        # adjoint going in instead (its local derivatives are linear, not inf or NaN)
        g = builder.where(guard, g, builder.const(0.0))
        guard = None
    contributions = prim.adjoint(builder, g, edge.output, *edge.inputs, **dict(edge.params))
    for var, contribution in zip(edge.inputs, contributions):
        if contribution is None or var.is_const:
            continue
        if guard is not None and guard is not guards.get(var):
            contribution = builder.where(guard, contribution, builder.const(0.0))
        accumulate(builder, var, unbroadcast(builder, contribution, var.shape), adjoints)


def unbroadcast(builder: GraphBuilder, contribution: Var, shape: tuple) -> Var:
    """``contribution`` summed back to ``shape``, the shape of the input it is for: over the
    leading axes that broadcasting added and over the axes where the input has length 1."""
    if contribution.shape == shape:
        return contribution
    lead = len(contribution.shape) - len(shape)
    stretched = tuple(lead + axis for axis, dim in enumerate(shape)
                      if dim == 1 and contribution.shape[lead + axis] != 1)
    if stretched:
        contribution = builder.sum(contribution, axis=stretched, keepdims=True)
    if lead:
        contribution = builder.sum(contribution, axis=None if not shape else tuple(range(lead)),
                                   keepdims=False)
    return contribution


def accumulate(builder: GraphBuilder, var: Var, contribution: Var,
                adjoints: dict[Var, Var]) -> None:
    name = adjoint_name(var.name)
    previous = adjoints.get(var)
    if contribution.dtype == "int":  # 1 * N for q * N with N: int; an adjoint is a number
        contribution = builder.to_float(contribution)
    if previous is None:
        give_hint(contribution, name)
        adjoints[var] = contribution
    else:
        adjoints[var] = builder.emit("add", (previous, contribution), name)


def _branch_guards(builder: GraphBuilder, active: list[Edge],
                   outputs: set[Var]) -> dict[Var, Guard]:
    """The guard of each active node, built as condition nodes after the forward edges.

    Visited in reverse order, so a node's consumers all have their guards before it does.
    Inputs are not guarded: their adjoints are results, masked before they arrive. Nor are
    the ``outputs`` (a body's carried values, a side's results): their adjoints come from
    outside, where they matter everywhere.
    """
    uses = consumers(Graph("", (), tuple(active), ()))
    guards: dict[Var, Guard] = {}
    for edge in reversed(active):
        guards[edge.output] = None if edge.output in outputs else _union_of_uses(
            builder, edge.output, uses.get(edge.output, ()), guards)
    return guards


def _union_of_uses(builder: GraphBuilder, var: Var, uses: list[Edge],
                   guards: dict[Var, Guard]) -> Guard:
    union: Guard = None
    for edge in uses:
        guard = _guard_of_use(builder, var, edge, guards[edge.output])
        if guard is None:
            return None  # one unconditional use makes the node's value matter everywhere
        union = guard if union is None or union is guard else builder.emit("or", (union, guard))
    return union


def _guard_of_use(builder: GraphBuilder, var: Var, edge: Edge, outer: Guard) -> Guard:
    """Where ``var``'s value matters through this one use by ``edge``.

    A value broadcast into a larger guard (a scalar inside a branch over an array condition),
    or an array used by an operation whose entries mix (a matmul, a softmax, a loop: an entry
    of its output depends on other entries of the input), matters wherever any entry does: it is
    treated as used unconditionally, and contributions are masked where they enter it instead.
    """
    if var.shape and not REGISTRY[edge.prim].elementwise:
        return None  # entries mix (matmul, softmax): the adjoint is masked where it enters
    guard = _branch_of_use(builder, var, edge, outer)
    return guard if guard is None or guard.shape == var.shape else None


def _branch_of_use(builder: GraphBuilder, var: Var, edge: Edge, outer: Guard) -> Guard:
    if edge.prim != "where" or var is edge.inputs[0]:
        return outer
    condition, then, orelse = edge.inputs
    if then is orelse:
        return outer
    branch = condition if var is then else builder.emit("not", (condition,))
    return branch if outer is None else builder.emit("and", (outer, branch))

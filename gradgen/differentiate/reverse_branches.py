"""Differentiation, reverse mode of a branch (`BRANCHING`): back the same way it came.

The side taken records what its adjoint reads; the reverse branch, on the same test, runs that
side's adjoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradgen.differentiate.sweep import (
    BlockReversal,
    Body,
    Sweep,
    add_adjoints,
    adjoint_input,
    adjoint_of_body,
    bars_or_zeros,
    differentiate_body,
    recording_block,
)
from gradgen.ir.builder import GraphBuilder, as_params, result_like
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.naming import adjoint_name
from gradgen.ir.primitives.branches import CondParts, cond_params, cond_parts

#: Nodes of each side of a branch: then's, orelse's.
PerSide = tuple[tuple[Var, ...], tuple[Var, ...]]


@dataclass(frozen=True)
class CondRecord:
    """What the reverse of one branch needs: each side differentiated (its adjoint edges and
    what they give each differentiated operand), the cotangents of the results, and the
    recorded values."""

    results: tuple[int, ...]  # the results whose adjoints are pulled back
    seeds: tuple[Var, ...]  # one cotangent per such result
    wanted: tuple[Var, ...]  # the sides' inputs whose adjoints are taken
    sides: tuple[Body, Body]  # then, orelse
    recorded: tuple[Var, ...]  # the recording cond's outputs holding the sides' residuals

    @property
    def residuals(self) -> tuple[Var, ...]:
        """The forward values of the sides that their adjoints read (then's, orelse's)."""
        return self.sides[0].residuals + self.sides[1].residuals


def record_branch(sweep: Sweep, edge: Edge) -> CondRecord:
    """Emit ``edge`` as a branch whose sides also output the values their adjoints read
    (each side a placeholder for the other's; a result is read as the result); return what
    `reverse_branch` needs. Adjoints are pulled back from the results that are varied (of
    those read after the branch) to the operands that are varied."""
    parts = cond_parts(edge)
    results = _pulled_back(edge, sweep)
    seeds = tuple(adjoint_input(edge.outputs[k], sweep.builder.hints) for k in results)
    wanted = _wanted_operands(sweep, parts)
    sides = _differentiated_sides(sweep, parts, results, seeds, wanted)
    recorded = _record_residuals(sweep, edge, parts, sides)
    return CondRecord(results, seeds, wanted, sides, recorded)


def _wanted_operands(sweep: Sweep, parts: CondParts) -> tuple[Var, ...]:
    """The sides' inputs whose adjoints are taken: those of the varied operands, numbers."""
    return tuple(inner for outer, inner in zip(parts.operands, parts.operand_in)
                 if outer in sweep.varied and inner.dtype == "float")


def _pulled_back(edge: Edge, sweep: Sweep) -> tuple[int, ...]:
    """The results whose adjoints are pulled back: the varied numbers read after the branch."""
    return tuple(k for k, var in enumerate(edge.outputs)
                 if var in sweep.bound and var in sweep.varied and var.dtype == "float")


def _differentiated_sides(sweep: Sweep, parts: CondParts, results: tuple[int, ...],
                          seeds: tuple[Var, ...], wanted: tuple[Var, ...]) -> tuple[Body, Body]:
    """Each side, with the ``seeds`` of its ``results`` pulled back to the operands ``wanted``."""
    then, orelse = (differentiate_body(sweep, side, wanted,
                                       tuple(side.outputs[k] for k in results), seeds,
                                       {*seeds, *parts.operand_in})
                    for side in (parts.then, parts.orelse))
    return then, orelse


def _record_residuals(sweep: Sweep, edge: Edge, parts: CondParts,
                      sides: tuple[Body, Body]) -> tuple[Var, ...]:
    """Emit the recording branch in place of ``edge``; return the nodes of its outputs that
    hold the sides' residuals (then's, orelse's)."""
    own = _own_residuals(parts, sides)
    kept = sides[0].residuals + sides[1].residuals
    slots = _slots(parts, kept, own)
    outputs = _recording_outputs(edge, sides, slots, sweep.bound,
                                 parts.results + len(own[0]) + len(own[1]))
    _emit_recording_cond(sweep.builder, edge, parts, sides, own, outputs)
    return tuple(outputs[slots[var]] for var in kept)


def _own_residuals(parts: CondParts, sides: tuple[Body, Body]) -> PerSide:
    """The residuals each side computes itself (those that are not its results)."""
    return tuple(tuple(var for var in body.residuals if var not in side.outputs[:parts.results])
                 for body, side in zip(sides, (parts.then, parts.orelse)))


def _slots(parts: CondParts, kept: tuple[Var, ...], own: PerSide) -> dict[Var, int]:
    """The position of each residual among the recording branch's outputs: a residual a side
    computes itself at its own position past the results, one that is a result as that
    result."""
    slots = {var: parts.results + k for k, var in enumerate(own[0] + own[1])}
    for side in (parts.then, parts.orelse):
        slots.update({var: k for k, var in enumerate(side.outputs[:parts.results])
                      if var in kept and var not in slots})
    return slots


def _recording_outputs(edge: Edge, sides: tuple[Body, Body], slots: dict[Var, int],
                       bound: set[Var], count: int) -> tuple[Var, ...]:
    """The recording branch's ``count`` outputs: the branch's results that something reads
    after it (``bound``), and at each other position that holds a residual of the ``sides``
    a fresh node, named after the first residual it holds."""
    outputs = {k: var for k, var in enumerate(edge.outputs) if var in bound}
    for side in sides:
        for var in side.residuals:
            outputs.setdefault(slots[var], result_like(var, side.hint(var)))
    return tuple(outputs.get(k) or edge.outputs[k] for k in range(count))


def _emit_recording_cond(builder: GraphBuilder, edge: Edge, parts: CondParts,
                         sides: tuple[Body, Body], own: PerSide, outputs: tuple[Var, ...]
                         ) -> None:
    """The branch of ``edge`` with the sides' forward edges, outputting after the results
    the residuals each side computes itself (``own``), giving ``outputs``."""
    recording = _recording_sides(builder.const(0.0), parts, sides, own)
    builder.edges.append(recording_block(edge, outputs, then=recording[0], orelse=recording[1],
                                         residuals=(len(own[0]), len(own[1]))))


def _recording_sides(placeholder: Var, parts: CondParts, sides: tuple[Body, Body],
                     own: PerSide) -> list[Graph]:
    """Each side with its forward edges, outputting after its results its ``own`` residuals
    and the ``placeholder`` for each of the other side's."""
    mine = (own[0] + (placeholder,) * len(own[1]), (placeholder,) * len(own[0]) + own[1])
    return [side.replace(edges=body.forward, outputs=side.outputs[:parts.results] + extra,
                         hints=body.hints)
            for side, body, extra in zip((parts.then, parts.orelse), sides, mine)]


def reverse_branch(sweep: Sweep, edge: Edge, record: CondRecord) -> None:
    """The reverse of a branch: a branch on the same test whose sides are the adjoints of the
    forward sides; what reaches the operands is added to their adjoints."""
    bars_in = [sweep.adjoints.get(edge.outputs[k]) for k in record.results]
    if not record.wanted or all(bar is None for bar in bars_in):
        return
    builder = sweep.reversing(edge)
    zero = builder.const(0.0)
    seeds_in = bars_or_zeros(builder, bars_in, (edge.outputs[k] for k in record.results), zero)
    parts = cond_parts(edge)
    bars = _emit_reverse_cond(builder, edge, parts, record, seeds_in, zero)
    add_adjoints(sweep, _operands_of(parts, record.wanted), bars)


def _emit_reverse_cond(builder: GraphBuilder, edge: Edge, parts: CondParts, record: CondRecord,
                       seeds_in: tuple[Var, ...], zero: Var) -> tuple[Var, ...]:
    """The reverse branch, from the cotangents of the results ``seeds_in``, the recorded
    values and the operands; its results, the adjoints of the wanted operands."""
    then, orelse = (_reverse_side(edge, parts, record, body, name, zero)
                    for body, name in zip(record.sides, ("then", "else")))
    return builder.emit_block(
        "cond", (parts.test, *seeds_in, *record.recorded, *parts.operands),
        tuple(result_like(inner, adjoint_name(parts.then.hint(inner)), "float")
              for inner in record.wanted),
        as_params(cond_params(then, orelse, len(record.wanted))))


def _operands_of(parts: CondParts, wanted: tuple[Var, ...]) -> list[Var]:
    """The operands (outer nodes) that the sides' inputs ``wanted`` stand for."""
    outer = dict(zip(parts.operand_in, parts.operands))
    return [outer[inner] for inner in wanted]


def _reverse_side(edge: Edge, parts: CondParts, record: CondRecord, body: Body, name: str,
                  zero: Var) -> Graph:
    """One side of the reverse branch: the adjoint edges of the forward side, from the
    results' cotangents and the recorded values to each wanted operand's adjoint."""
    edges, outputs = adjoint_of_body(body, record.wanted, zero, edge)
    inputs = (*record.seeds, *record.residuals, *parts.operand_in)
    return Graph(f"{parts.then.name}_{name}_reverse", inputs, edges, outputs,
                 hints=body.hints)


#: A branch records what the side taken reads, and its reverse goes back the same way.
BRANCHING = BlockReversal(record_branch, reverse_branch)

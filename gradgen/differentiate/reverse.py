"""Differentiation, reverse mode: forward `Graph` → gradient `Graph`, by rote transformation.

The gradient graph keeps every forward edge (forward values are reused, never recomputed),
then walks the active edges in reverse topological order, asks each primitive's adjoint rule
for the contributions to its inputs, and sums contributions where a node fans out (the
multivariate chain rule). Only edges on a path from a requested input to the output are
visited (activity analysis); a requested input that cannot reach the output gets an exact 0.
The sweep is `sweep`; a contribution leaving one branch of a ``where`` is masked (`guards`).

Blocks are taken back as their kind says (`BLOCKS`): the forward sweep emits each one so that it
records what its reverse needs, and the reverse sweep reads that record. Loops are taped
(`reverse_loops`) or checkpointed (`checkpoint`, for the loops at the top of the graph),
branches go back the way they came (`reverse_branches`), helper calls call the helper's vjp
(`reverse_calls`). Each differentiates its body with the same sweep, one level down.

Outputs of the gradient graph: the value, then one partial per requested input.
"""

from __future__ import annotations

from gradgen.differentiate.reverse_branches import BRANCHING
from gradgen.differentiate.reverse_calls import CALLING
from gradgen.differentiate.reverse_loops import TAPING
from gradgen.differentiate.sweep import (
    BlockReversal,
    Blocks,
    Sweep,
    active_edges,
    activity,
    sweep_adjoints,
    sweep_forward,
)
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Edge, Graph, Var, select_inputs
from gradgen.ir.naming import adjoint_name

__all__ = ["BLOCKS", "active_edges", "backward", "gradient_names", "reverse_mode"]

#: How reverse mode takes each kind of block back: ``record`` in the forward sweep, ``reverse``
#: in the reverse sweep.
BLOCKS: Blocks = {"loop": TAPING, "cond": BRANCHING, "call": CALLING}


def reverse_mode(graph: Graph, wrt: tuple[str, ...] | None = None,
                 cotangent: bool = False, loops: BlockReversal | None = None) -> Graph:
    """The gradient program of a one-output graph with respect to inputs ``wrt`` (all if None).

    With ``cotangent``, the program is the vector-Jacobian product instead: it takes one more
    input, the cotangent (the output's adjoint, of the output's shape), and its outputs are the
    value and the cotangent pulled back to each input. ``loops``: how the loops at the top of
    the graph are taken back (taping, unless given: `checkpoint.checkpointing`).
    """
    (output,) = graph.outputs
    targets = select_inputs(graph, wrt)
    builder = GraphBuilder(graph.hints)
    seed = Var("cotangent", output.shape) if cotangent else builder.const(1.0)
    found = backward(builder, graph.edges, [output], [seed], targets, loops)
    inputs = graph.inputs + ((seed,) if cotangent else ())
    return _gradient_graph(graph, inputs, builder, targets, found)


def _gradient_graph(graph: Graph, inputs: tuple[Var, ...], builder: GraphBuilder,
                    targets: tuple[Var, ...], found: list[Var | None]) -> Graph:
    """``graph`` with the edges (and hints) of ``builder``, its outputs the value, then the
    partial of each target (an exact 0 where none was ``found``)."""
    partials = tuple(var or builder.const(0.0) for var in found)
    return graph.replace(inputs=inputs, edges=tuple(builder.edges),
                         outputs=graph.outputs + partials,
                         output_names=gradient_names(graph, targets), hints=builder.hints)


def gradient_names(graph: Graph, targets: tuple[Var, ...]) -> tuple[str, ...]:
    """The names of a gradient program's outputs: ``graph``'s, then each target's adjoint's."""
    return (graph.name,) + tuple(adjoint_name(graph.hint(var)) or "" for var in targets)


def backward(builder: GraphBuilder, edges: tuple[Edge, ...], outputs: list[Var],
             seeds: list[Var], targets: tuple[Var, ...], loops: BlockReversal | None = None,
             asked: tuple[Var, ...] | None = None) -> list[Var | None]:
    """Append to ``builder`` the forward ``edges`` (each active block recording what its
    reverse needs), then the adjoint edges that pull the ``seeds`` (one per output) back to
    the ``targets``; return the adjoint of each target (or of each node ``asked``, such as
    every node of a trace table), None where no gradient reaches it."""
    sweep = _top_sweep(builder, loops)
    sweep_forward(sweep, edges, *activity(edges, targets, tuple(outputs)), tuple(outputs))
    return sweep_adjoints(sweep, tuple(outputs), tuple(seeds), asked or targets)


def _top_sweep(builder: GraphBuilder, loops: BlockReversal | None) -> Sweep:
    """The sweep at the top of a graph: its loops taken back as ``loops`` says (taping by
    default), those inside bodies taped."""
    return Sweep(builder, BLOCKS if loops is None else {**BLOCKS, "loop": loops}, BLOCKS)

"""Emission: the kind of an edge, by which each part of emission picks its rule from a table,
and the results of each block that the code binds.

Part of emission (`emit`). Printing (`blocks.PRINTERS`), naming (`block_names.NAMERS`), the
name check (`name_check.CHECKS`) and freeing (`freeing.RESULT_RULES`) each keep one entry per
kind instead of an if-chain: a ``loop``, a ``cond`` (a branch), ``results`` (a call of a
function with several results) and a ``statement`` (any other edge: one line).
"""

from __future__ import annotations

from gradgen.ir.graph import BLOCKS, Edge, Graph, Var

KINDS = ("loop", "cond", "results", "statement")


def edge_kind(edge: Edge) -> str:
    """The kind of ``edge``, one of `KINDS`."""
    if edge.prim in ("loop", "cond"):
        return edge.prim
    return "results" if len(edge.outputs) > 1 else "statement"


def block_results(graph: Graph) -> dict[Edge, dict[int, Var]]:
    """Each block's results that its code binds, by position: the outputs that something
    reads (an edge of ``graph``, or the graph's own outputs)."""
    read = {var for edge in graph.edges for var in edge.inputs} | set(graph.outputs)
    return {edge: {k: var for k, var in enumerate(edge.outputs) if var in read}
            for edge in graph.edges if edge.prim in BLOCKS}

"""Emission: the kind of an edge, by which each part of emission picks its rule from a table.

Part of emission (`emit`). Printing (`blocks.PRINTERS`), naming (`block_names.NAMERS`), the
name check (`name_check.CHECKS`) and freeing (`freeing.ITEM_RULES`) each keep one entry per
kind instead of an if-chain: a ``loop``, a ``cond`` (a branch), an ``item`` (one result of a
block taken apart), ``results`` (a call of a function with several results) and a
``statement`` (any other edge: one line).
"""

from __future__ import annotations

from gradgen.ir.graph import Edge

KINDS = ("loop", "cond", "item", "results", "statement")


def edge_kind(edge: Edge) -> str:
    """The kind of ``edge``, one of `KINDS`."""
    if edge.prim in ("loop", "cond", "item"):
        return edge.prim
    return "results" if edge.output.dtype == "tuple" else "statement"

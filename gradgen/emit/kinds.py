"""Emission: what emission knows about one kind of block (`BlockEmission`), and the results of
each block that the code binds.

Part of emission (`emit`). Each block kind (a ``loop``, a ``cond``, a ``call``) has one module
that holds everything emission knows about it: `loop_code`, `branch_code`, `call_code`, each
with its printer, its namer, its walk in the name check and its freeing rule. One table,
`emissions.EMISSIONS`, keyed by the edge's primitive, is what printing (`blocks`), naming
(`block_names`), the name check (`name_check`) and freeing (`freeing`) consult; they are given
it, and take an edge that is no block (a statement: one line) as their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gradgen.emit.lines import Unit
from gradgen.ir.graph import BLOCKS, Edge, Graph, Var


@dataclass(frozen=True)
class FreeingRule:
    """How a block kind's results are freed: what binding result ``index`` reads in the
    block besides it, and whether that result is never deleted."""

    reads: Callable[[Edge, int], tuple[Var, ...]]
    kept: Callable[[Edge, int], bool]


@dataclass(frozen=True)
class BlockEmission:
    """Everything emission knows about one kind of block: ``print`` gives its lines (from a
    `blocks.Printing`), ``name`` names the nodes it makes (at a `block_names.Place`, with a
    `block_names.Naming`), ``check`` walks it in the name check (with a `name_check.Reader`
    and the `name_check.Level` it is in), ``free`` says how its results are freed."""

    print: Callable[[Edge, Any], Unit]
    name: Callable[[Edge, Any, Any], None]
    check: Callable[[Edge, Any, Any], None]
    free: FreeingRule


#: A table of block kinds, by primitive (``loop``, ``cond``, ``call``): what emission does
#: with each.
Emissions = Mapping[str, BlockEmission]


def block_results(graph: Graph) -> dict[Edge, dict[int, Var]]:
    """Each block's results that its code binds, by position: the outputs that something
    reads (an edge of ``graph``, or the graph's own outputs)."""
    blocks = [edge for edge in graph.edges if edge.prim in BLOCKS]
    if not blocks:  # most graphs: no need to collect what they read
        return {}
    read = {var for edge in graph.edges for var in edge.inputs} | set(graph.outputs)
    return {edge: {k: var for k, var in enumerate(edge.outputs) if var in read}
            for edge in blocks}

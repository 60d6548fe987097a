"""An IR pass for emission: an array's sum that no one else reads becomes an update in place.

`accumulate_in_place` rewrites ``out = add(a, b)`` as ``add_into(a, b)`` (printed ``a += b``)
where that is safe and reads as a person writes an accumulation (``W1_bar += t9``): ``a`` is an
array of ``out``'s shape (``b`` broadcasts into it), made at the top level of the graph by an
operation that returns a fresh array (an elementwise one or a matrix product: never a view, an
input or a constant) and surely of floats (`surely_floats`), read by nothing else (so no other
name sees it change) and not a result, and ``out`` carries ``a``'s name hint, so the printed
update keeps one name. Only the graph's own edges are rewritten, never a loop body's (those
have their own accumulators).
"""

from __future__ import annotations

from collections import Counter

from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives import REGISTRY

#: Primitives whose NumPy result is always a new array (never a view of an operand).
FRESH = frozenset(name for name, entry in REGISTRY.items()
                  if entry.elementwise and entry.result == "float" and name != "to_float"
                  ) | {"matmul"}


def accumulate_in_place(graph: Graph) -> Graph:
    """``graph`` with each safe top-level array sum written as an update (see the module)."""
    reads = Counter(var for edge in graph.edges for var in edge.inputs)
    reads.update(graph.outputs)
    floats = surely_floats(graph)
    made = {edge.output: edge for edge in graph.edges
            if edge.prim in FRESH and edge.output in floats}
    edges = tuple(_in_place(edge, made, reads) for edge in graph.edges)
    return graph if edges == graph.edges else graph.replace(edges=edges)


def _in_place(edge: Edge, made: dict[Var, Edge], reads: Counter) -> Edge:
    """``edge`` as an update of its accumulator, where it has one (`_accumulator`)."""
    if edge.prim != "add" or not edge.output.shape:
        return edge
    total = _accumulator(edge, made, reads)
    if total is None:
        return edge
    term = edge.inputs[1] if total is edge.inputs[0] else edge.inputs[0]
    return Edge("add_into", (total, term), edge.outputs, (), edge.origin)


def _accumulator(edge: Edge, made: dict[Var, Edge], reads: Counter) -> Var | None:
    """The operand of a sum that it may update: a fresh array of the sum's shape and name,
    read by this sum alone."""
    for var in edge.inputs:
        if (var in made and reads[var] == 1 and var.shape == edge.output.shape
                and var.name is not None and var.name == edge.output.name):
            return var
    return None


def surely_floats(graph: Graph) -> set[Var]:
    """The nodes NumPy surely computes in floats: the inputs (made float64 on entry), and what
    an operation makes of one of its `_data` in floats. A constant is printed as written
    (``1``), so ``np.broadcast_to(1, shape)`` is an array of ints, and so is ``3 * it``:
    adding floats into that in place would fail."""
    floats = {var for var in graph.inputs if var.dtype == "float"}
    for edge in graph.edges:
        if not floats.isdisjoint(_data(edge)):
            floats.update(edge.outputs)
    return floats


def _data(edge: Edge) -> tuple[Var, ...]:
    """The inputs whose values the result's dtype follows: an elementwise operation's numbers
    (NumPy promotes them together), another's first (``_concat_part(whole, parts, ...)``
    reads only the shapes of ``parts``)."""
    entry = REGISTRY[edge.prim]
    if entry.elementwise or edge.prim == "matmul":
        return tuple(edge.inputs[k] for k in entry.numbers if k < len(edge.inputs))
    return edge.inputs[:1]

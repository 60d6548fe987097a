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
    fresh, reads = _fresh_floats(graph), _reads(graph)
    edges = tuple(_in_place(edge, graph, fresh, reads) for edge in graph.edges)
    return graph if edges == graph.edges else graph.replace(edges=edges)


def _fresh_floats(graph: Graph) -> set[Var]:
    """The nodes that are new arrays of floats, made by an operation of `FRESH`."""
    floats = surely_floats(graph)
    return {edge.output for edge in graph.edges if edge.prim in FRESH and edge.output in floats}


def _reads(graph: Graph) -> Counter:
    """How many times each node is read: by an edge, or as a result."""
    return Counter([var for edge in graph.edges for var in edge.inputs] + list(graph.outputs))


def _in_place(edge: Edge, graph: Graph, fresh: set[Var], reads: Counter) -> Edge:
    """``edge`` as an update of its accumulator, where it has one (`_accumulator`)."""
    summed = edge.prim == "add" and edge.output.shape
    total = _accumulator(edge, graph, fresh, reads) if summed else None
    if total is None:
        return edge
    term = edge.inputs[1] if total is edge.inputs[0] else edge.inputs[0]
    return Edge("add_into", (total, term), edge.outputs, (), edge.origin)


def _accumulator(edge: Edge, graph: Graph, fresh: set[Var], reads: Counter) -> Var | None:
    """The operand a sum may update: fresh, of its shape and name, read by this sum alone."""
    return next((var for var in edge.inputs if var in fresh and reads[var] == 1
                 and var.shape == edge.output.shape and _named_as(graph, var, edge.output)),
                None)


def _named_as(graph: Graph, var: Var, output: Var) -> bool:
    """Whether ``output`` carries ``var``'s name hint (the update then keeps one name)."""
    hint = graph.hint(var)
    return hint is not None and hint == graph.hint(output)


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
    (NumPy promotes them together), an array operation's first (``_concat_part(whole, parts,
    ...)`` reads only the shapes of ``parts``), none of a block's (a helper's vjp may return
    the int zeros of ``np.broadcast_to(0, shape)`` whatever its arguments)."""
    entry = REGISTRY[edge.prim]
    if entry.elementwise or edge.prim == "matmul":
        return tuple(edge.inputs[k] for k in entry.numbers if k < len(edge.inputs))
    return () if entry.block is not None else edge.inputs[:1]

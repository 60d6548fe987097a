"""The IR verifier: a graph and every graph its blocks hold are well formed.

An IR tool, run after every pass that builds a graph (`pipeline`). It checks (`check`) known
primitives, arities, every input defined before its use and single assignment in every body and
side at any depth, and also:

- shapes: each edge's output has the shape its primitive's rule gives for its inputs;
- blocks: each by its kind's own check (`BlockRules.check`, in the kind's module of
  `gradgen.ir.primitives`: a loop's counts and carried values, a branch's sides, a call's
  arguments), and one output per result it gives, of that result's shape.

A fault raises `InternalError` with the function's IR around the edge. Each graph is checked
once (a body shared by two loops too), with an explicit stack.
"""

from __future__ import annotations

from operator import attrgetter

from gradgen.errors import InternalError
from gradgen.ir.graph import Edge, Graph, subgraphs
from gradgen.ir.primitives import ELEMENTWISE, REGISTRY, ShapeError
from gradgen.ir.printing import format_graph

_SHAPE = attrgetter("shape")


def verify(graph: Graph) -> Graph:
    """Check ``graph`` and every graph it holds; return ``graph``."""
    seen: set[int] = set()
    pending = [graph]
    while pending:
        current = pending.pop()
        if id(current) not in seen:
            seen.add(id(current))
            pending += _verify_edges(current)
    return graph


def _verify_edges(graph: Graph) -> list[Graph]:
    """Check ``graph`` (not the graphs it holds: those are returned, to be checked next): an
    elementwise edge of scalars by its output being one, a block by its kind's own check and
    its results, any other edge by its shape rule."""
    check(graph)
    held = []
    for index, edge in enumerate(graph.edges):  # written out: it runs over every edge
        if (edge.prim in ELEMENTWISE and not edge.output.shape
                and not any(map(_SHAPE, edge.inputs))):
            continue  # what broadcasting gives: most edges, at a fifth of the rule's cost
        block = REGISTRY[edge.prim].block
        if block is None:
            problem = _shape_problem(edge)
        else:
            problem = block.check(edge) or _results_problem(edge)
            held += subgraphs(edge)
        if problem:
            fail_at_edge(graph, index, problem)
    return held


def check(graph: Graph) -> Graph:
    """Verify topological order and single assignment; raise `InternalError` quoting the edge.

    One loop with its tests written out: it runs over every edge of every graph, four times a
    compilation, so a call per test would cost a tenth of compiling a long expression."""
    defined = set(graph.inputs)
    for index, edge in enumerate(graph.edges):
        prim = REGISTRY.get(edge.prim)
        if prim is None:
            fail_at_edge(graph, index, f"unknown primitive {edge.prim!r}")
        if prim.arity != len(edge.inputs) and not prim.variadic:
            fail_at_edge(graph, index,
                         f"{edge.prim} takes {prim.arity} inputs, got {len(edge.inputs)}")
        if not defined.issuperset(edge.inputs):  # a constant, or a fault: look at each
            for var in edge.inputs:
                if var.value is None and var not in defined:
                    fail_at_edge(graph, index, f"input {var!r} is used before it is defined")
        for var in edge.outputs:
            if var in defined or var.value is not None:
                fail_at_edge(graph, index, f"{var!r} is assigned twice")
            defined.add(var)
    for var in graph.outputs:
        if not var.is_const and var not in defined:
            raise InternalError(f"output {var!r} is never defined")
    return graph


def fail_at_edge(graph: Graph, index: int, message: str) -> None:
    """Raise `InternalError` for edge ``index`` of ``graph``, quoting the IR around it."""
    raise InternalError(f"bad edge {index} of {graph.name}: {message}\n"
                        f"{_context(graph, index)}")


def _context(graph: Graph, index: int) -> str:
    """The printed IR around edge ``index``: two lines before it, two after."""
    try:
        lines = format_graph(graph).splitlines()
        return "\n".join(lines[max(0, index - 2) + 1 : index + 3])
    except KeyError:  # the fault is a node that has no name in the graph: show the edge only
        edge = graph.edges[index]
        outputs = ", ".join(map(repr, edge.outputs))
        return f"    {outputs} = {edge.prim} {' '.join(map(repr, edge.inputs))}"


def _shape_problem(edge: Edge) -> str | None:
    """The output's shape against the registry's rule (parameters included)."""
    entry = REGISTRY[edge.prim]
    shapes = [var.shape for var in edge.inputs]
    try:
        shape = entry.shape(*shapes, **dict(edge.params)) if edge.params else entry.shape(*shapes)
    except (ShapeError, TypeError, ValueError) as error:
        return f"its inputs' shapes are refused by {edge.prim}'s rule: {error}"
    if tuple(shape) != tuple(edge.output.shape):
        return f"its output has shape {edge.output.shape}, the rule gives {shape}"
    return None


def _results_problem(edge: Edge) -> str | None:
    """A block has one output per result it gives, of that result's shape (a loop's tape, a
    list, has none to compare)."""
    results = REGISTRY[edge.prim].block.results(edge)
    if len(results) != len(edge.outputs):
        return f"it has {len(edge.outputs)} outputs for {len(results)} results"
    for k, (result, var) in enumerate(zip(results, edge.outputs)):
        if result is not None and result.shape != var.shape:
            return f"result {k} has shape {result.shape}, its output {var.shape}"
    return None

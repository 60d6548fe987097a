"""The IR verifier: a graph and every graph its blocks hold are well formed.

An IR tool, run after every pass that builds a graph (`pipeline`). It checks (`check`) known
primitives, arities, every input defined before its use and single assignment in every body and
side at any depth, and also:

- shapes: each edge's output has the shape its primitive's rule gives for its inputs;
- loops: the edge's inputs, the body's inputs and outputs agree in number with the counts in
  its parameters, and a carried value keeps its shape and dtype from start to end of a step;
- branches: both sides take the operands' shapes and give results of the same shapes;
- calls: the arguments agree with the called graph's inputs;
- a block's outputs: one per result it gives, of that result's shape.

A fault raises `InternalError` with the function's IR around the edge. Each graph is checked
once (a body shared by two loops too), with an explicit stack.
"""

from __future__ import annotations

from gradgen.errors import InternalError
from gradgen.ir.graph import Edge, Graph, Var, subgraphs
from gradgen.ir.primitives import REGISTRY, ShapeError
from gradgen.ir.primitives.branches import CondParts, cond_parts
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.printing import format_graph


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
    """Check ``graph`` (not the graphs it holds: those are returned, to be checked next)."""
    check(graph)
    held = []
    for index, edge in enumerate(graph.edges):
        problem = _edge_problem(edge)
        if problem:
            fail_at_edge(graph, index, problem)
        held += subgraphs(edge)
    return held


def _edge_problem(edge: Edge) -> str | None:
    if edge.prim in _BLOCK_CHECKS:
        return _BLOCK_CHECKS[edge.prim](edge) or _results_problem(edge)
    return _shape_problem(edge)


def check(graph: Graph) -> Graph:
    """Verify topological order and single assignment; raise `InternalError` quoting the edge."""
    defined = set(graph.inputs)
    for index, edge in enumerate(graph.edges):
        problem = _order_problem(edge, defined)
        if problem:
            fail_at_edge(graph, index, problem)
        defined.update(edge.outputs)
    for var in graph.outputs:
        if not var.is_const and var not in defined:
            raise InternalError(f"output {var!r} is never defined")
    return graph


def _order_problem(edge: Edge, defined: set[Var]) -> str | None:
    """A primitive unknown or given the wrong number of inputs, an input not yet defined, or
    an output defined before."""
    return _arity_problem(edge) or _definition_problem(edge, defined)


def _arity_problem(edge: Edge) -> str | None:
    prim = REGISTRY.get(edge.prim)
    if prim is None:
        return f"unknown primitive {edge.prim!r}"
    if prim.arity != len(edge.inputs) and not prim.variadic:
        return f"{edge.prim} takes {prim.arity} inputs, got {len(edge.inputs)}"
    return None


def _definition_problem(edge: Edge, defined: set[Var]) -> str | None:
    for var in edge.inputs:
        if not var.is_const and var not in defined:
            return f"input {var!r} is used before it is defined"
    for var in edge.outputs:
        if var in defined or var.is_const:
            return f"{var!r} is assigned twice"
    return None


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


def _loop_problem(edge: Edge) -> str | None:
    problem = _loop_counts_problem(edge)
    if problem:
        return problem
    parts = loop_parts(edge)
    return _carried_problem(parts) or _pairs_problem(parts.invariants, parts.invariant_in,
                                                     "invariant")


def _loop_counts_problem(edge: Edge) -> str | None:
    """The loop's inputs, its body's inputs and outputs against the counts in its
    parameters."""
    params = dict(edge.params)
    n, reads, records = params["carried"], params["reads"], params["records"]
    body = params["body"]
    outer = len(edge.inputs) - 2 - n - reads
    if outer < 0 or len(body.inputs) != 1 + n + reads + outer:
        return (f"the loop has {len(edge.inputs)} inputs and its body {len(body.inputs)}; "
                f"they disagree with {n} carried and {reads} tapes read")
    if len(body.outputs) != n + records:
        return f"the body has {len(body.outputs)} outputs, not {n} carried + {records} recorded"
    return None


def _carried_problem(parts: LoopParts) -> str | None:
    """A carried value keeps its shape and dtype from before the loop to the end of a step."""
    for init, inner, out in zip(parts.carried, parts.carried_in, parts.carried_out):
        if not _same_kind(init, inner) or not _same_kind(inner, out):
            return (f"carried value {inner!r} is {_kind(init)} before, {_kind(inner)} in and "
                    f"{_kind(out)} after a step")
    return None


def _cond_problem(edge: Edge) -> str | None:
    parts = cond_parts(edge)
    problem = _sides_problem(parts)
    if problem is None and edge.inputs[0].shape:
        problem = "a branch's test must be one number"
    return problem or _pairs_problem(parts.operands, parts.operand_in, "operand")


def _sides_problem(parts: CondParts) -> str | None:
    """The two sides take the same inputs and give results of the same kinds."""
    if parts.then.inputs != parts.orelse.inputs:
        return "the two sides take different inputs"
    if len(parts.then.outputs) != len(parts.orelse.outputs):
        return "the two sides give different numbers of results"
    if parts.results + sum(parts.residuals) != len(parts.then.outputs):
        return (f"the sides give {len(parts.then.outputs)} outputs, not {parts.results} "
                f"results + {parts.residuals} residuals")
    for k, (a, b) in enumerate(zip(parts.then.outputs[:parts.results], parts.orelse.outputs)):
        if not _same_kind(a, b):
            return f"result {k} is {_kind(a)} on one side and {_kind(b)} on the other"
    return None


def _call_problem(edge: Edge) -> str | None:
    graph = dict(edge.params)["graph"]
    return _pairs_problem(edge.inputs, graph.inputs, "argument")


def _results_problem(edge: Edge) -> str | None:
    """A block has one output per result it gives, of that result's shape (a loop's tape, a
    list, has none to compare)."""
    results = _RESULTS[edge.prim](edge)
    if len(results) != len(edge.outputs):
        return f"it has {len(edge.outputs)} outputs for {len(results)} results"
    for k, (result, var) in enumerate(zip(results, edge.outputs)):
        if result is not None and result.shape != var.shape:
            return f"result {k} has shape {result.shape}, its output {var.shape}"
    return None


def _loop_results(edge: Edge) -> list[Var | None]:
    parts = loop_parts(edge)
    return [*parts.carried_in, *(None for _ in parts.recorded)]


def _cond_results(edge: Edge) -> list[Var]:
    """A branch's results, then each side's residuals (the other side gives a placeholder)."""
    parts = cond_parts(edge)
    own_else = parts.own_outputs(1)
    return [parts.orelse.outputs[k] if k in own_else else var
            for k, var in enumerate(parts.then.outputs)]


_RESULTS = {"loop": _loop_results, "cond": _cond_results,
            "call": lambda edge: dict(edge.params)["graph"].outputs}


def _pairs_problem(outer: tuple[Var, ...], inner: tuple[Var, ...], what: str) -> str | None:
    if len(outer) != len(inner):
        return f"{len(outer)} {what}s for {len(inner)} inputs"
    for a, b in zip(outer, inner):
        if a.shape != b.shape:
            return f"{what} {a!r} has shape {a.shape}, its input {b!r} {b.shape}"
    return None


def _same_kind(a: Var, b: Var) -> bool:
    return a.shape == b.shape and (a.dtype == b.dtype or a.is_const or b.is_const)


def _kind(var: Var) -> str:
    return f"{var.dtype} {var.shape}"


_BLOCK_CHECKS = {"loop": _loop_problem, "cond": _cond_problem, "call": _call_problem}

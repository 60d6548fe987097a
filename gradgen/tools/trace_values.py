"""Tools stage: the numbers of a trace, as the compiler itself computes them.

Nothing here differentiates or evaluates on its own: every number comes from the reference
interpreter (`gradgen.ir.interpret.interpret`) running a graph that a pass of the compiler built.

- `point_values`: every node's value, the forward graph run by the interpreter;
- `adjoint_values`: every number node's adjoint, reverse mode's gradient graph run by the
  interpreter: the graph `reverse_mode` builds (the same active edges, adjoint rules, fan-out
  sums and ``where`` guards), with each node's adjoint an output besides the inputs' ones;
- `EdgeDerivative`: one edge differentiated alone, by `reverse_mode` (its VJP graph: what the
  edge contributes to each input's adjoint, the rows' terms) and by `jvp_graph` (its JVP graph:
  the tangent of its output); built once per kind of edge by `derivatives`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gradgen.differentiate.forward import jvp_graph
from gradgen.differentiate.reverse import active_edges, backward, reverse_mode
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Edge, Graph, Var, differentiable_inputs, iter_vars
from gradgen.ir.interpret import interpret
from gradgen.tools.trace_text import Value


def single_output(graph: Graph) -> Var:
    """The output of a function of one output (a trace follows one number)."""
    if len(graph.outputs) != 1:
        raise ValueError(f"a trace needs a function of one output; {graph.name} has "
                         f"{len(graph.outputs)}")
    return graph.outputs[0]


def active(forward: Graph) -> list[Edge]:
    """The edges reverse mode goes back through: between the inputs and the output."""
    return active_edges(forward, differentiable_inputs(forward), single_output(forward))


# ---- forward values ------------------------------------------------------------------------

def point_values(graph: Graph, point: dict[str, float]) -> dict[Var, Value]:
    """The value of every non-constant node at ``point`` (input name → number)."""
    nodes = tuple(iter_vars(graph))
    results = interpret(graph.replace(outputs=nodes), *_input_values(graph, point))
    return {var: _as_value(result, var) for var, result in zip(nodes, results)}


def _input_values(graph: Graph, point: dict[str, float]) -> list[float]:
    names = [var.name for var in graph.inputs]
    unknown = [name for name in point if name not in names]
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not an input; inputs are {', '.join(names)}")
    missing = [name for name in names if name not in point]
    if missing:
        raise ValueError(f"no value for input '{missing[0]}'; inputs are {', '.join(names)}")
    return [float(point[name]) for name in names]


def _as_value(result: Any, var: Var) -> Value:
    return bool(result) if var.dtype == "bool" else float(result)


# ---- adjoints: reverse mode's gradient graph -------------------------------------------------

def adjoint_graph(forward: Graph) -> tuple[Graph, tuple[Var, ...]]:
    """Reverse mode's gradient graph of a one-output ``forward`` whose outputs are the adjoints
    of every number node (an exact 0 where none reaches it); and those nodes, in that order.

    Reverse mode's own `backward`, going back over the edges `reverse_mode` takes, asked for
    the adjoint of every node.
    """
    nodes = tuple(var for var in iter_vars(forward) if var.dtype == "float")
    builder = GraphBuilder(forward.hints)
    found = backward(builder, forward.edges, list(forward.outputs), [builder.const(1.0)],
                     differentiable_inputs(forward), asked=nodes)
    zero = builder.const(0.0)
    outputs = tuple(var or zero for var in found)
    return forward.replace(edges=tuple(builder.edges), outputs=outputs,
                           hints=builder.hints), nodes


def adjoint_values(forward: Graph, values: dict[Var, Value]) -> dict[Var, float]:
    """Every number node's adjoint at the point whose node ``values`` are given."""
    gradient, nodes = adjoint_graph(forward)
    results = interpret(gradient, *(values[var] for var in forward.inputs))
    return {var: float(result) for var, result in zip(nodes, results)}


# ---- one edge differentiated alone -----------------------------------------------------------

@dataclass(frozen=True)
class EdgeDerivative:
    """Reverse and forward mode of one edge alone, on inputs of its own (one per position, so
    that ``x * x`` has two; a constant stays as it is).

    ``vjp``'s inputs are those inputs then the cotangent ``g`` (the output's adjoint), its
    outputs the value then one contribution per number input; ``contributions`` says which
    input position each one is for (positions that get none are left out). ``jvp``'s inputs are
    the inputs then one tangent per number input, its outputs the value and its tangent.
    """

    inputs: tuple[Var, ...]
    output: Var
    vjp: Graph
    jvp: Graph
    contributions: tuple[tuple[int, Var], ...]

    @property
    def cotangent(self) -> Var:
        return self.vjp.inputs[-1]

    def arguments(self, edge: Edge, values: dict[Var, Value]) -> list[Value]:
        """The values of ``edge``'s operands, one per input of the derivative's graphs."""
        return [values[var] for var, own in zip(edge.inputs, self.inputs) if not own.is_const]

    def numbers(self, edge: Edge) -> list[Var]:
        """``edge``'s operands that have a tangent input in ``jvp``, in order."""
        return [var for var, own in zip(edge.inputs, self.inputs) if _is_number(own)]


def derive(edge: Edge) -> EdgeDerivative:
    """``edge`` differentiated alone, by reverse mode and by forward mode."""
    inputs = tuple(var if var.is_const else Var(var.name, var.shape, var.dtype)
                   for var in edge.inputs)
    output = Var(edge.output.name, edge.output.shape, edge.output.dtype)
    alone = Graph(edge.prim, tuple(var for var in inputs if not var.is_const),
                  (Edge(edge.prim, inputs, (output,), edge.params),), (output,))
    vjp = reverse_mode(alone, cotangent=True)
    numbers = [position for position, var in enumerate(inputs) if _is_number(var)]
    contributions = tuple((position, var) for position, var in zip(numbers, vjp.outputs[1:])
                          if not var.is_const)  # reverse mode's exact 0: no contribution
    return EdgeDerivative(inputs, output, vjp, jvp_graph(alone), contributions)


def _is_number(var: Var) -> bool:
    return not var.is_const and var.dtype == "float"


def derivatives(edges: Iterable[Edge]) -> dict[Edge, EdgeDerivative]:
    """Each edge's derivative, built once per kind of edge: the same primitive, parameters,
    constants and types of operands give the same graphs."""
    kinds: dict[tuple, EdgeDerivative] = {}
    found = {}
    for edge in edges:
        key = _kind(edge)
        if key not in kinds:
            kinds[key] = derive(edge)
        found[edge] = kinds[key]
    return found


def _kind(edge: Edge) -> tuple:
    operands = tuple((var.value, var.symbol) if var.is_const else (var.shape, var.dtype)
                     for var in edge.inputs)
    return edge.prim, edge.params, operands, edge.output.shape, edge.output.dtype


def contribution_values(derivative: EdgeDerivative, edge: Edge, values: dict[Var, Value],
                        adjoint: float) -> dict[int, float]:
    """What ``edge`` adds to each operand's adjoint, by position, given its output's."""
    results = interpret(derivative.vjp, *derivative.arguments(edge, values), adjoint)
    by_node = dict(zip(derivative.vjp.outputs[1:], results[1:]))
    return {position: float(by_node[var]) for position, var in derivative.contributions}


def tangent_value(derivative: EdgeDerivative, edge: Edge, values: dict[Var, Value],
                  tangents: dict[Var, float]) -> float:
    """The tangent of ``edge``'s output, given its operands' values and tangents."""
    args = derivative.arguments(edge, values)
    _, tangent = interpret(derivative.jvp, *args, *(tangents[var]
                                                    for var in derivative.numbers(edge)))
    return float(tangent)

"""Differentiation, reverse mode of a helper call (`CALLING`): a call of the helper's vjp.

The helper's own derivatives (a recording version, if its vjp reads more than the arguments, the
value and what it recomputes from them, and the vjp) are made once per helper and pass, and
called where the helper was. Which values the vjp recomputes is `rematerialize`'s rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradgen.differentiate.guards import masked
from gradgen.differentiate.rematerialize import rematerialize
from gradgen.differentiate.sweep import (
    BlockReversal,
    Body,
    Sweep,
    accumulate,
    adjoint_of_body,
    differentiate_body,
)
from gradgen.ir.builder import GraphBuilder, as_params, result_like
from gradgen.ir.graph import Edge, Graph, Var, const, differentiable_inputs
from gradgen.ir.naming import adjoint_name
from gradgen.ir.primitives.calls import call_params, call_results


@dataclass(frozen=True)
class HelperDerivatives:
    """A helper's recording version (its value, then the other values its vjp reads and does
    not recompute; None if there are none) and its vjp: (arguments, value, other recorded
    values, cotangent) -> the cotangent pulled back to each argument that is a number. So
    ``vjp(*args, *record(*args), cotangent)``, or ``vjp(*args, helper(*args), cotangent)``, or
    where it reads neither, ``vjp(*args, cotangent)`` (``takes_value``: whether it takes the
    value)."""

    record: Graph | None
    vjp: Graph
    takes_value: bool


@dataclass(frozen=True)
class CallRecord:
    """What the reverse of one call needs: the helper's vjp, and what it takes after the
    arguments (the value if it takes it, then the recorded values)."""

    vjp: Graph
    recorded: tuple[Var, ...]


def helper_derivatives(sweep: Sweep, graph: Graph) -> HelperDerivatives:
    """The derivatives of the helper ``graph``, made at its first call in this pass."""
    if graph not in sweep.helpers:
        sweep.helpers[graph] = _derive_helper(sweep, graph)
    return sweep.helpers[graph]


def _derive_helper(sweep: Sweep, graph: Graph) -> HelperDerivatives:
    """The vjp recomputes the cheap values it reads and takes the others, recorded
    (`rematerialize`); the recording version is the helper returning those others too. The
    value is at hand where the helper is called: the vjp takes it rather than recompute it."""
    (output,) = graph.outputs
    seed = Var("cotangent", output.shape)
    body = differentiate_body(sweep, graph, differentiable_inputs(graph), (output,), (seed,),
                              {seed, *graph.inputs})
    recomputing, recorded = rematerialize(body.forward, body.residuals,
                                          {seed, output, *graph.inputs})
    vjp, takes_value = _vjp(graph, body, recomputing, recorded, seed)
    return HelperDerivatives(_recording_version(graph, body, recorded), vjp, takes_value)


def _vjp(graph: Graph, body: Body, recomputing: tuple[Edge, ...], recorded: tuple[Var, ...],
         seed: Var) -> tuple[Graph, bool]:
    """The helper's vjp, which runs the ``recomputing`` edges, then the adjoint edges; and
    whether it takes the value."""
    edges, outputs = adjoint_of_body(body, differentiable_inputs(graph), const(0.0), None)
    value = _value_taken(graph.outputs[0], graph.inputs, recomputing + edges, bool(recorded))
    vjp = Graph(f"{graph.name}_vjp", (*graph.inputs, *value, *recorded, seed),
                recomputing + edges, outputs, graph.source, hints=body.hints)
    return vjp, bool(value)


def _recording_version(graph: Graph, body: Body, recorded: tuple[Var, ...]) -> Graph | None:
    """The helper returning, after its value, the values its vjp records; None if it has none."""
    return graph.replace(name=f"{graph.name}_record", edges=body.forward,
                         outputs=(*graph.outputs, *recorded),
                         hints=body.hints) if recorded else None


def _value_taken(output: Var, arguments: tuple[Var, ...], edges: tuple[Edge, ...],
                 recording: bool) -> tuple[Var, ...]:
    """The vjp's parameter for the helper's value, if it takes one: if its ``edges`` read it,
    or if the helper is ``recording`` (which returns the value first; ``value`` stands for it
    where the value is an argument or a constant)."""
    own = output not in arguments and not output.is_const
    if recording:
        return (output if own else Var("value", output.shape, output.dtype),)
    return (output,) if own and any(output in edge.inputs for edge in edges) else ()


def record_call(sweep: Sweep, edge: Edge) -> CallRecord:
    """Emit ``edge`` as a call of the helper's recording version (if its vjp takes more than
    the arguments and the value), else as itself; return the vjp and what it takes after the
    arguments."""
    derivatives = helper_derivatives(sweep, dict(edge.params)["graph"])
    value = (edge.output,) if derivatives.takes_value else ()
    recorded = _emit_call(sweep.builder, edge, derivatives.record)
    return CallRecord(derivatives.vjp, (*value, *recorded))


def _emit_call(builder: GraphBuilder, edge: Edge, record: Graph | None) -> tuple[Var, ...]:
    """``edge``, or a call of the helper's recording version ``record`` in its place (whose
    first result is ``edge``'s output); the nodes of the other results, the values recorded."""
    if record is None:
        builder.edges.append(edge)
        return ()
    recorded = tuple(result_like(var, record.hint(var)) for var in record.outputs[1:])
    builder.edges.append(Edge("call", edge.inputs, (edge.output, *recorded),
                              as_params(call_params(record, "record")), edge.origin))
    return recorded


def reverse_call(sweep: Sweep, edge: Edge, record: CallRecord) -> None:
    """A call of the helper's vjp, whose results are added to the arguments' adjoints."""
    g = sweep.adjoints.get(edge.output)
    if g is None:
        return
    builder = sweep.reversing(edge)
    numbers = _number_arguments(edge)
    partials = _emit_vjp_call(builder, edge, record, _guarded(sweep, edge, g), numbers)
    for arg, bar in zip(numbers, partials):
        if not arg.is_const:
            accumulate(builder, arg, bar, sweep.adjoints)


def _emit_vjp_call(builder: GraphBuilder, edge: Edge, record: CallRecord, g: Var,
                   numbers: list[Var]) -> tuple[Var, ...]:
    """A call of the helper's vjp on ``edge``'s arguments, the recorded values and the
    cotangent ``g``; its results, the partials of the arguments that are ``numbers``."""
    return builder.emit_block("call", (*edge.inputs, *record.recorded, g),
                              call_results(record.vjp, _partial_names(builder, numbers)),
                              as_params(call_params(record.vjp, "vjp")))


def _guarded(sweep: Sweep, edge: Edge, g: Var) -> Var:
    """The cotangent ``g`` of the call's value; inside a branch of a ``where``, 0 where the
    branch is not taken."""
    guard = sweep.guards.get(edge.output)
    return g if guard is None else masked(sweep.builder, guard, g)


def _number_arguments(edge: Edge) -> list[Var]:
    """The arguments for the helper's number parameters: those the vjp returns a partial for."""
    graph = dict(edge.params)["graph"]
    return [arg for arg, var in zip(edge.inputs, graph.inputs) if var.dtype == "float"]


def _partial_names(builder: GraphBuilder, numbers: list[Var]) -> tuple[str | None, ...]:
    """The names of a vjp call's results, one per argument that is a number: its adjoint's,
    after its hint in the graph ``builder`` builds (the one result of a vjp of one argument is
    named where it is added)."""
    if len(numbers) == 1:
        return (None,)
    return tuple(adjoint_name(builder.hint_of(arg)) for arg in numbers)


#: A helper call is taken back by a call of the helper's vjp.
CALLING = BlockReversal(record_call, reverse_call)

"""Calls in the IR: the ``call`` primitive, which applies a graph of its own: one of the file's
helper functions, or a derivative of one (its recording version, its vjp, or in forward mode
its jvp). Its entries are in `PRIMITIVES`.

A call edge's inputs are the arguments; its ``graph`` parameter is the function called and
``name`` the Python name it is printed under (``sigmoid(z)``). The edge has one output per
output of the graph: one value, or several (a helper that also returns what its derivative
reads, or a derivative returning one partial per argument), printed as
``s, v1 = sigmoid_record(z)``. Every call of one helper at one signature holds the
same graph, so the generated module defines each function once.
"""

from __future__ import annotations

from typing import Any

from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.block_checks import pairs_problem
from gradgen.ir.registry import BlockRules, Interpreter, Table, results_shaped

PRIMITIVES = Table()
primitive = PRIMITIVES.primitive

#: What a called graph is, for its docstring: a helper of the source, or one of its derivatives.
ROLES = ("helper", "record", "vjp", "jvp")


def call_params(graph: Graph, role: str = "helper") -> dict[str, Any]:
    """The parameters of a call of ``graph`` (printed as a call of ``graph.name``)."""
    return {"graph": graph, "name": graph.name, "role": role}


def call_results(graph: Graph, names: tuple[str | None, ...]) -> tuple[Var, ...]:
    """Fresh nodes for the results of a call of ``graph``, named ``names``."""
    return tuple(Var(name, var.shape, var.dtype) for name, var in zip(names, graph.outputs))


def _run_call(*args: Any, graph: Graph, name: str, role: str, run: Interpreter) -> Any:
    """The NumPy oracle: the called graph, run by the reference interpreter (``run``)."""
    return run(graph, *args)


def _call_problem(edge: Edge) -> str | None:
    """The arguments against the called graph's inputs."""
    return pairs_problem(edge.inputs, dict(edge.params)["graph"].inputs, "argument")


def _call_results(edge: Edge) -> tuple[Var, ...]:
    """The called graph's outputs."""
    return dict(edge.params)["graph"].outputs


def _by_the_reverse_pass(*args: Any, **params: Any) -> tuple[Var | None, ...]:
    """Calls have no local adjoint rule: `reverse` calls the helper's own derivative."""
    raise AssertionError("reverse mode differentiates calls itself")


primitive("call", lambda a, p: f"{p['name']}({', '.join(a)})", _run_call, None,
          _by_the_reverse_pass, (), args="", variadic=True, result="results",
          shape=results_shaped, internal=True,
          block=BlockRules(_call_problem, _call_results))

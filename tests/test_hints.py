"""Name hints: a node built unnamed is named by its graph (`Graph.hints`), never renamed."""

from __future__ import annotations

import dataclasses

import pytest

from gradgen.differentiate.reverse import reverse_mode
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Graph, Var, iter_vars
from gradgen.ir.optimize import optimize
from gradgen.ir.printing import format_graph
from gradgen.pipeline import build_forward, compile_source

SOURCE = "def f(x, y):\n    z = x * y\n    return sin(z) * z + x\n"


def test_a_node_is_never_renamed_after_it_is_built() -> None:
    forward = build_forward(SOURCE)
    gradient = reverse_mode(forward)
    built = {var: var.name for var in iter_vars(gradient)}
    optimized = optimize(gradient)
    compile_source(SOURCE)
    assert all(var.name == name for var, name in built.items())
    assert [optimized.hint(var) for var in optimized.outputs[1:]] == ["x_bar", "y_bar"]


def test_an_adjoint_is_named_by_the_graph_not_the_node() -> None:
    gradient = reverse_mode(build_forward("def f(x, y): return sin(x) * y\n"))
    x_bar = gradient.outputs[1]  # one contribution: the adjoint is that node, named after
    assert x_bar.name is None and gradient.hint(x_bar) == "x_bar"
    assert "x_bar" in format_graph(gradient)


def test_simplify_passes_a_name_on_to_the_node_that_replaces_it() -> None:
    """``x_bar = 1 * t1`` lives on as ``x_bar``: ``t1`` is named so in the simplified graph."""
    x = Var("x")
    builder = GraphBuilder()
    t1 = builder.sin(x)
    x_bar = builder.emit("mul", (builder.const(1.0), t1), "x_bar")
    graph = Graph("f", (x,), tuple(builder.edges), (x_bar,))
    simplified = optimize(graph)
    assert simplified.outputs == (t1,) and t1.name is None
    assert simplified.hint(t1) == "x_bar" and graph.hint(t1) is None


def test_the_first_hint_is_kept_and_a_constant_takes_none() -> None:
    builder = GraphBuilder()
    t1, one = builder.sin(Var("x")), builder.const(1.0)
    builder.hint(t1, "a")
    builder.hint(t1, "b")
    builder.hint(one, "c")
    assert builder.hints == {t1: "a"}


def test_a_var_stays_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Var(None).name = "x_bar"  # type: ignore[misc]

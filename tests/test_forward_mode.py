"""Forward mode: the tangent (JVP) graph, checked against reverse mode.

`test_primitive_tangents_match_the_gradient` is parametrised over `gradgen.ir.primitives.REGISTRY`
(the source text and test points of `test_primitives`): the simplified, checked JVP graph, run
by the reference interpreter with each unit tangent, gives the partials of the generated
``gradient`` to 1e-12, and with a random tangent the inner product of gradient and tangent.
Then: the graph's interface (inputs, tangent inputs, output names, hints, origins); ``wrt``
subsets and outputs no requested input reaches (an exact 0); the one-sided choices at kinks;
NaN safety of ``where`` (the branch not taken contributes an exact 0, never NaN); a 10^4-deep
chain without recursion; and the cost on the lecture example (at most 3x the function).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import compile_cached, compile_module
from test_primitives import GUARDED, TWICE_GUARDED, sample, source_text

from gradgen.differentiate.forward import jvp_graph
from gradgen.ir.graph import Graph
from gradgen.ir.interpret import interpret
from gradgen.ir.optimize import optimize
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.verify import check
from gradgen.pipeline import build_forward, compile_source

LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))"

PROGRAMS = [
    LECTURE,
    "f(x) = sin(sin(sin(sin(sin(x)))))",
    "f(a, b, c, d, e) = a*b*c*d*e*a*b*c*d*e",
    "f(x, y) = (x + y)*(x - y)/(1 + x^2) + tanh(x*y)",
    "def f(x, y):\n    a = x*y\n    b = sin(a) + cos(a)\n    c = b*b - a\n    return c/(1 + y^2)\n",
    "f(x, y) = hypot(x, y) + atan2(y, 2 + x^2) + sigmoid(x - y)*softplus(y)",
    "f(x, y) = where(x > y, x*y, exp(y)) + max(x, y)*min(x, 2*y) + abs(x)*relu(y)",
]


def jvp(text: str, wrt: tuple[str, ...] | None = None) -> Graph:
    """The simplified, checked JVP graph of ``text``."""
    return check(optimize(check(jvp_graph(compile_cached(text).forward, wrt))))


def tangent_at(text: str, point: tuple, tangent: tuple,
               wrt: tuple[str, ...] | None = None) -> tuple:
    return interpret(jvp(text, wrt), *point, *tangent)


def unit(i: int, n: int) -> tuple[float, ...]:
    return tuple(float(k == i) for k in range(n))


# ---- every primitive, against reverse mode -------------------------------------------------

@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.elementwise))
def test_primitive_tangents_match_the_gradient(name: str) -> None:
    prim = REGISTRY[name]
    text = source_text(prim)
    raw = check(jvp_graph(compile_cached(text).forward))
    graph = jvp(text)
    module = compile_module(text)
    n = prim.arity
    columns = sample(prim)
    rng = np.random.default_rng(len(name))
    for point in zip(*columns):
        point = tuple(float(v) for v in point)
        value, partials = module.gradient(*point)
        for i in range(n):
            for g in (graph, raw):
                result, dot = interpret(g, *point, *unit(i, n))
                np.testing.assert_allclose(result, value, rtol=1e-12, atol=1e-300)
                np.testing.assert_allclose(dot, partials[i], rtol=1e-12, atol=1e-300,
                                           err_msg=f"d/da{i} at {point}")
        direction = rng.normal(size=n)
        _, dot = interpret(graph, *point, *direction)
        terms = np.array(partials) * direction
        np.testing.assert_allclose(dot, terms.sum(), rtol=1e-12, atol=1e-14 * np.abs(terms).sum())
    # one batch: arrays of points and of tangents, elementwise
    _, batch_partials = module.gradient(*columns)
    for i in range(n):
        tangents = [np.full_like(columns[0], float(k == i)) for k in range(n)]
        _, dot = interpret(graph, *columns, *tangents)
        np.testing.assert_allclose(np.broadcast_to(dot, columns[0].shape), batch_partials[i],
                                   rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("text", PROGRAMS)
def test_random_directions_give_the_inner_product_with_the_gradient(text: str) -> None:
    module = compile_module(text)
    graph = jvp(text)
    n = len(module.INPUTS)
    rng = np.random.default_rng(7)
    for _ in range(5):
        point = tuple(rng.uniform(-1.5, 1.5, size=n))
        direction = tuple(rng.normal(size=n))
        value, partials = module.gradient(*point)
        result, dot = interpret(graph, *point, *direction)
        terms = np.array(partials) * direction
        assert result == pytest.approx(value, rel=1e-13)
        assert dot == pytest.approx(terms.sum(), rel=1e-12, abs=1e-13 * np.abs(terms).sum())


# ---- the graph's interface -----------------------------------------------------------------

def test_interface_inputs_outputs_hints_and_origins() -> None:
    forward = build_forward(LECTURE)
    graph = check(jvp_graph(forward))
    assert graph.inputs[:3] == forward.inputs  # the same Var objects
    assert [(v.name, v.shape, v.dtype) for v in graph.inputs[3:]] == [
        ("x_dot", (), "float"), ("y_dot", (), "float"), ("z_dot", (), "float")]
    assert graph.output_names == ("f", "f_dot")
    assert graph.outputs[0] is forward.outputs[0]
    assert graph.hint(graph.outputs[1]) == "f_dot"
    assert graph.edges[:len(forward.edges)] == forward.edges  # forward values kept as they are
    tangent_edges = graph.edges[len(forward.edges):]
    assert all(edge.origin in forward.edges for edge in tangent_edges)
    named = {graph.hint(edge.output) for edge in tangent_edges} - {None}
    assert named == {f"{edge.output.name}_dot" for edge in forward.edges}
    # the tangent of each forward edge is built in one block, in topological order
    origins = [forward.edges.index(edge.origin) for edge in tangent_edges]
    assert origins == sorted(origins)


def test_the_forward_graph_is_not_changed() -> None:
    forward = build_forward(LECTURE)
    names = [edge.output.name for edge in forward.edges]
    before = (forward.inputs, forward.edges, forward.outputs)
    jvp_graph(forward)
    assert before == (forward.inputs, forward.edges, forward.outputs)
    assert names == [edge.output.name for edge in forward.edges]


def test_an_output_that_is_an_input_has_the_input_tangent() -> None:
    graph = jvp("f(x) = x")
    assert graph.outputs == (graph.inputs[0], graph.inputs[1])
    assert interpret(graph, 2.0, 3.5) == (2.0, 3.5)


# ---- wrt subsets and activity ----------------------------------------------------------------

@pytest.mark.parametrize("wrt", [("x",), ("z",), ("z", "x"), ("y", "z"), ("x", "y", "z")])
def test_wrt_subsets(wrt: tuple[str, ...]) -> None:
    point = (2.0, -1.0, 0.3)
    module = compile_module(LECTURE)
    _, partials = module.gradient(*point)
    graph = jvp(LECTURE, wrt)
    assert [v.name for v in graph.inputs] == ["x", "y", "z", *(f"{n}_dot" for n in wrt)]
    tangent = tuple(float(k + 2) for k in range(len(wrt)))
    expected = sum(partials["xyz".index(n)] * t for n, t in zip(wrt, tangent))
    assert interpret(graph, *point, *tangent)[1] == pytest.approx(expected, rel=1e-13)


def test_a_subset_builds_only_the_tangents_it_needs() -> None:
    text = "f(x, y) = sin(x) + exp(y)"
    graph = jvp(text, ("y",))
    assert not any(edge.prim == "cos" for edge in graph.edges)
    assert interpret(graph, 0.5, 0.25, 2.0)[1] == pytest.approx(2.0 * math.exp(0.25))


@pytest.mark.parametrize("text, wrt", [
    ("f(x, y) = sin(x) + sign(y)", ("y",)),
    ("f(x, y) = where(y > 0, x, 2*x)", ("y",)),
    ("f(x, y) = sin(x)", ("y",)),
    ("f(x) = 3", None),
])
def test_an_output_no_requested_input_reaches_has_an_exact_zero_tangent(
        text: str, wrt: tuple[str, ...] | None) -> None:
    graph = jvp(text, wrt)
    assert graph.outputs[1].is_const and graph.outputs[1].value == 0.0
    assert len(graph.edges) == len(compile_cached(text).forward.edges)


def test_unknown_or_repeated_wrt_is_an_error() -> None:
    forward = build_forward(LECTURE)
    with pytest.raises(ValueError, match="'w' is not an input"):
        jvp_graph(forward, ("w",))
    with pytest.raises(ValueError, match="twice"):
        jvp_graph(forward, ("x", "x"))


# ---- kinks: the same one-sided choices as reverse mode ----------------------------------------

@pytest.mark.parametrize("x, slope", [(0.0, 1.0), (-0.0, 1.0), (2.0, 1.0), (-2.0, -1.0)])
def test_abs_slope_at_zero_is_one(x: float, slope: float) -> None:
    assert tangent_at("f(x) = abs(x)", (x,), (1.0,)) == (abs(x), slope)
    assert tangent_at("f(x) = abs(x)", (x,), (-2.5,))[1] == -2.5 * slope


@pytest.mark.parametrize("x, slope", [(0.0, 0.0), (-0.0, 0.0), (2.0, 1.0), (-2.0, 0.0)])
def test_relu_slope_at_zero_is_zero(x: float, slope: float) -> None:
    assert tangent_at("f(x) = relu(x)", (x,), (1.0,)) == (max(x, 0.0), slope)


@pytest.mark.parametrize("function", ["max", "min"])
def test_max_min_ties_go_to_the_first_argument(function: str) -> None:
    text = f"f(x, y) = {function}(x, y)"
    assert tangent_at(text, (1.5, 1.5), (2.0, 3.0)) == (1.5, 2.0)
    xs, ys = np.array([1.0, -2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    _, dot = tangent_at(text, (xs, ys), (np.full(3, 2.0), np.full(3, 3.0)))
    first_wins = np.array([True, False, True] if function == "max" else [True, True, False])
    np.testing.assert_array_equal(dot, np.where(first_wins, 2.0, 3.0))


@pytest.mark.parametrize("x", [-2.0, -0.0, 0.0, 3.0])
def test_sign_has_zero_slope(x: float) -> None:
    assert tangent_at("f(x) = x*sign(x)", (x,), (1.0,))[1] == np.sign(x)


def test_where_at_its_switch_takes_the_branch_its_condition_chooses() -> None:
    text = "f(x) = where(x > 0, x^2, -3*x)"
    assert tangent_at(text, (0.0,), (1.0,)) == (0.0, -3.0)
    assert tangent_at(text, (1e-300,), (1.0,))[1] == 2e-300


@pytest.mark.parametrize("function", ["relu", "abs"])
def test_kinks_never_give_nan(function: str) -> None:
    xs = np.array([0.0, -0.0, 1e-320, -1e-320])
    text = f"f(x) = {function}(x)*{function}(x) + {function}(x)"
    _, dot = tangent_at(text, (xs,), (np.ones(4),))
    expected = {"relu": [0.0, 0.0, 1.0, 0.0], "abs": [1.0, 1.0, 1.0, -1.0]}[function]
    np.testing.assert_allclose(dot, expected, rtol=1e-12)


# ---- NaN safety of where ---------------------------------------------------------------------

@pytest.mark.parametrize("expr, slope", GUARDED, ids=[e for e, _ in GUARDED])
def test_where_guards_keep_tangents_finite(expr: str, slope) -> None:
    text = f"f(x) = {expr}"
    for x in (0.0, -1.0, -np.inf):
        for t in (1.0, -2.5):
            assert tangent_at(text, (x,), (t,)) == (0.0, 0.0), (x, t)
    for x in (0.5, 2.0):
        assert tangent_at(text, (x,), (3.0,))[1] == pytest.approx(3.0 * slope(x), rel=1e-14)
    xs = np.array([-np.inf, -1.0, 0.0, 0.5, 2.0])
    _, dot = tangent_at(text, (xs,), (np.ones(5),))
    np.testing.assert_allclose(dot, [0.0, 0.0, 0.0, slope(0.5), slope(2.0)], rtol=1e-14)


@pytest.mark.parametrize("text, slope", TWICE_GUARDED.values(), ids=TWICE_GUARDED.keys())
def test_where_guard_of_a_variable_used_in_two_guarded_branches(text: str, slope: float) -> None:
    assert tangent_at(text, (0.5,), (1.0,))[1] == pytest.approx(slope, rel=1e-15)
    assert tangent_at(text, (2.0,), (1.0,))[1] == pytest.approx(1.0, rel=1e-15)
    for x in (0.0, -1.0):
        assert tangent_at(text, (x,), (1.0,)) == (0.0, 0.0)


def test_the_where_tangent_selects_before_it_multiplies() -> None:
    """``where``'s partial with g = 1 is ``where(c, 1, 0)``; multiplied by an inf tangent it
    would be ``0 * inf = NaN``. The product is taken inside the selection instead."""
    graph = jvp("f(x) = where(x > 0, log(x), 0)")
    producer = {edge.output: edge for edge in graph.edges}
    last = producer[graph.outputs[1]]
    assert last.prim == "where" and last.inputs[2].is_const and last.inputs[2].value == 0.0
    assert not any(edge.prim == "mul" and v in producer and producer[v].prim == "where"
                   for edge in graph.edges for v in edge.inputs)


@pytest.mark.parametrize("text, slope", [
    ("f(x) = max(log(x), 0)", 0.25), ("f(x) = min(0, -log(x))", -0.25),
    ("f(x) = relu(log(x))", 0.25),
])
def test_rules_that_select_keep_the_branch_not_taken_out_of_the_tangent(text: str,
                                                                        slope: float) -> None:
    # select before multiply applies to every rule built with where(c, g, 0), not only `where`
    # (reverse mode guards only `where`: its gradient of these at 0 is NaN)
    assert tangent_at(text, (0.0,), (1.0,)) == (0.0, 0.0)
    assert tangent_at(text, (4.0,), (1.0,))[1] == pytest.approx(slope, rel=1e-15)


def test_a_zero_tangent_at_an_infinite_partial_is_still_nan_outside_where() -> None:
    # documented limit: 0 * inf outside a selection is NaN, as in the value itself
    _, dot = tangent_at("f(x, y) = log(x) + y", (0.0, 1.0), (0.0, 1.0))
    assert math.isnan(dot)


# ---- scale and cost --------------------------------------------------------------------------

def test_sin_nested_10_000_deep_builds_without_recursion() -> None:
    depth = 10_000
    forward = build_forward("f(x) = " + "sin(" * depth + "x" + ")" * depth)
    graph = check(optimize(check(jvp_graph(forward))))
    assert len(graph.edges) <= 3 * depth
    value, slope = 0.7, 1.0
    for _ in range(depth):  # the chain rule by hand, forwards
        value, slope = math.sin(value), slope * math.cos(value)
    result, dot = interpret(graph, 0.7, 2.0)
    assert result == pytest.approx(value, rel=1e-12)
    assert dot == pytest.approx(2.0 * slope, rel=1e-9)


def test_lecture_example_costs_at_most_three_times_the_function() -> None:
    forward = compile_cached(LECTURE).forward
    graph = jvp(LECTURE)
    assert len(forward.edges) == 6
    assert len(graph.edges) <= 3 * len(forward.edges)
    assert len(graph.edges) - len(forward.edges) == 10  # 2 + 1 + 3 + 1 + 2 + 1 tangent ops
    _, dot = interpret(graph, 2.0, -1.0, 0.0, 1.0, 0.0, 0.0)
    assert dot == pytest.approx(-3.9599699864017817, rel=1e-14)


@pytest.mark.parametrize("text", PROGRAMS)
def test_tangent_costs_a_small_constant_times_the_function(text: str) -> None:
    # a product's tangent is two products and a sum, so a chain of products costs 4x
    assert len(jvp(text).edges) <= 4 * len(compile_cached(text).forward.edges)


# ---- arrays: the registry's tangent rules, one jvp per entry (issue 14) ----------------------

ARRAY_PROGRAMS = [
    "examples/l2_regression.txt",
    "examples/multiclass_logistic.txt",
    "examples/perceptron.txt",
    "def f(x: (n,), W: (n, 3)):\n    s = softmax(W.T @ x)\n"
    "    return logsumexp(x) + s[1] * norm(x) + max(W) + sum(stack((x, x * x)) * 2)\n",
]


@pytest.mark.parametrize("program", ARRAY_PROGRAMS, ids=lambda p: p.split("/")[-1][:20])
def test_forward_mode_of_an_array_program_agrees_with_reverse_mode(program: str) -> None:
    text = Path(program).read_text("utf-8") if program.endswith(".txt") else program
    forward = compile_source(text, "a.txt", mode="forward").load()
    reverse = compile_source(text, "a.txt").load()
    rng = np.random.default_rng(6)
    sizes = {"n": 4, "d": 3, "h": 5, "k": 3, "m": 4}
    args = [_draw(rng, shape, sizes) for shape in reverse.SHAPES]
    value, partials = forward.gradient(*args)
    want_value, want_partials = reverse.gradient(*args)
    assert value == pytest.approx(want_value, rel=1e-13)
    for got, want in zip(partials, want_partials):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    tangents = [_draw(rng, np.shape(arg), sizes) for arg in args]
    _, along = forward.jvp(*args, tangents)
    assert along == pytest.approx(sum(np.sum(t * p) for t, p in zip(tangents, want_partials)),
                                  rel=1e-10, abs=1e-13)


def _draw(rng: np.random.Generator, shape: tuple, sizes: dict[str, int]) -> object:
    """A random input of ``shape`` (named dimensions from ``sizes``); a float for a scalar."""
    dims = tuple(sizes.get(str(dim), dim) if isinstance(dim, str) else dim for dim in shape)
    return rng.uniform(0.2, 1.0, dims) if dims else float(rng.uniform(0.2, 1.0))

"""Reverse mode and simplification on the IR.

Covers: the cost of the gradient program (at most 3x the forward op count, forward values
reused, never recomputed); ``wrt`` subsets and activity analysis (an input that cannot reach
the output gets an exact 0, or zeros of the broadcast shape); fan-out summed by the chain rule
(checked against hand-derived gradients); reassignment in programs (form C); the optimiser
(constant folding, ``x*1``/``x+0`` and friends removed, CSE, dead code removed, ``0*x`` kept
because it is NaN at infinity); the reference interpreter agreeing with the generated code;
and differentiating a gradient graph again (second derivatives).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from conftest import central_difference, compile_cached, compile_module, sympy_partials

from gradgen.differentiate.reverse import reverse_mode
from gradgen.ir.graph import Graph
from gradgen.ir.interpret import interpret
from gradgen.ir.optimize import optimize
from gradgen.ir.verify import check
from gradgen.pipeline import build_forward, build_gradient, compile_source

LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))"
LECTURE_POINT = (2.0, -1.0, 0.0)
LECTURE_VALUE = 0.1411200080598672
LECTURE_GRAD = (-3.9599699864017817, -0.9899924966004454, 1.9899924966004454)

PROGRAMS = [
    LECTURE,
    "f(x) = sin(sin(sin(sin(sin(x)))))",
    "f(x) = exp(exp(exp(x / 4)))",
    "f(a, b, c, d, e) = a*b*c*d*e*a*b*c*d*e",
    "f(x, y) = (x + y)*(x - y)/(1 + x^2) + tanh(x*y)",
    "def f(x, y):\n    a = x*y\n    b = sin(a) + cos(a)\n    c = b*b - a\n    return c/(1 + y^2)\n",
    "f(x, y) = hypot(x, y) + atan2(y, 2 + x^2) + sigmoid(x - y)*softplus(y)",
]


def prim_counts(graph: Graph) -> Counter:
    return Counter(edge.prim for edge in graph.edges)


def edge_text(graph: Graph) -> list[tuple]:
    """Edges as (primitive, operand...) with inputs by name and constants by value."""
    return [(e.prim, *(v.value if v.is_const else v.name for v in e.inputs)) for e in graph.edges]


def random_point(arity: int, seed: int) -> tuple[float, ...]:
    return tuple(np.random.default_rng(seed).uniform(-1.5, 1.5, size=arity))


# ---- cost ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", PROGRAMS[:3] + PROGRAMS[4:6])
def test_gradient_costs_at_most_three_times_the_function(text: str) -> None:
    compiled = compile_cached(text)
    assert len(compiled.gradient.edges) <= 3 * len(compiled.forward.edges)


@pytest.mark.parametrize("text", PROGRAMS)
def test_gradient_cost_stays_a_small_constant_with_fan_out(text: str) -> None:
    # fan-out adds one sum per extra use, and atan2 or hypot adjoints cost a few operations
    compiled = compile_cached(text)
    assert len(compiled.gradient.edges) <= 4 * len(compiled.forward.edges)


def test_gradient_of_a_long_product_is_linear_not_quadratic() -> None:
    names = [f"x{k}" for k in range(40)]
    forward = build_forward(f"f({', '.join(names)}) = {'*'.join(names)}")
    gradient = build_gradient(forward)
    assert len(forward.edges) == 39
    assert len(gradient.edges) <= 3 * len(forward.edges)
    point = [1.0 + k / 100 for k in range(40)]
    _, *partials = interpret(gradient, *point)
    product = math.prod(point)
    np.testing.assert_allclose(partials, [product / v for v in point], rtol=1e-13)


@pytest.mark.parametrize("text", PROGRAMS)
def test_forward_values_are_reused_not_recomputed(text: str) -> None:
    compiled = compile_cached(text)
    recomputed = [e for e in compiled.gradient.edges if e.origin is None]
    assert prim_counts(compiled.forward) == Counter(e.prim for e in recomputed)


# ---- the lecture example, and every program against the oracles --------------------------

def test_lecture_example() -> None:
    value, partials = compile_module(LECTURE).gradient(*LECTURE_POINT)
    assert value == pytest.approx(LECTURE_VALUE, rel=1e-15)
    assert partials == pytest.approx(LECTURE_GRAD, rel=1e-15)


@pytest.mark.parametrize("text", PROGRAMS)
def test_programs_against_sympy_and_central_differences(text: str) -> None:
    compiled = compile_cached(text)
    module = compile_module(text)
    for seed in range(3):
        point = random_point(len(module.INPUTS), seed)
        _, partials = module.gradient(*point)
        np.testing.assert_allclose(partials, sympy_partials(compiled.forward, point),
                                   rtol=1e-10, atol=1e-12)
        numeric = [central_difference(module.forward, point, i) for i in range(len(point))]
        np.testing.assert_allclose(partials, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("text", PROGRAMS)
def test_interpreter_agrees_with_generated_code(text: str) -> None:
    compiled = compile_cached(text)
    module = compile_module(text)
    arity = len(module.INPUTS)
    columns = [np.random.default_rng(k).uniform(-1.5, 1.5, size=7) for k in range(arity)]
    value, partials = module.gradient(*columns)
    interpreted = interpret(compiled.gradient, *columns)
    np.testing.assert_allclose([value, *partials], interpreted, rtol=1e-13)
    unoptimized = interpret(reverse_mode(build_forward(text)), *columns)
    np.testing.assert_allclose([value, *partials], unoptimized, rtol=1e-13)
    np.testing.assert_allclose(module.forward(*columns), interpret(compiled.forward, *columns)[0],
                               rtol=1e-14)


# ---- wrt subsets and activity analysis -------------------------------------------------------

def test_wrt_subset() -> None:
    module = compile_module(LECTURE, ("x",))
    assert module.INPUTS == ("x", "y", "z") and module.WRT == ("x",)
    value, partials = module.gradient(*LECTURE_POINT)
    assert value == pytest.approx(LECTURE_VALUE, rel=1e-15)
    assert partials == pytest.approx(LECTURE_GRAD[:1], rel=1e-15)


def test_wrt_follows_the_requested_order() -> None:
    module = compile_module(LECTURE, ("z", "x"))
    assert module.WRT == ("z", "x")
    _, partials = module.gradient(*LECTURE_POINT)
    assert partials == pytest.approx((LECTURE_GRAD[2], LECTURE_GRAD[0]), rel=1e-15)


def test_wrt_prunes_inactive_adjoints() -> None:
    text = "f(x, y) = x*sin(x) + exp(y)*y"
    full = compile_cached(text).gradient
    only_x = compile_cached(text, ("x",)).gradient
    assert len(only_x.edges) < len(full.edges)
    assert not [e for e in only_x.edges if e.origin is not None and e.origin.prim == "exp"]
    _, (dx,) = compile_module(text, ("x",)).gradient(0.5, 2.0)
    assert dx == pytest.approx(math.sin(0.5) + 0.5 * math.cos(0.5), rel=1e-15)


def test_wrt_nothing_gives_an_empty_tuple_of_partials() -> None:
    module = compile_module(LECTURE, ())
    assert module.WRT == ()
    assert module.gradient(*LECTURE_POINT) == (pytest.approx(LECTURE_VALUE, rel=1e-15), ())


@pytest.mark.parametrize("wrt", [("w",), ("x", "x")])
def test_wrt_rejects_unknown_and_repeated_names(wrt: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        compile_source(LECTURE, wrt=wrt)


@pytest.mark.parametrize("text", [
    "f(x, y) = sin(x)",
    "f(x, y) = where(y > 0, x, -x)",
    "f(x, y) = sign(y)*x",
    "f(x, y) = x if y < 1 else 2*x",
])
def test_an_input_that_does_not_reach_the_output_gets_exact_zero(text: str) -> None:
    module = compile_module(text)
    for y in (-0.5, 0.0, 3.0):
        value, (dx, dy) = module.gradient(0.7, y)
        assert type(dy) is float and dy == 0.0 and not math.copysign(1.0, dy) < 0
        assert dx == pytest.approx(central_difference(module.forward, (0.7, y), 0), rel=1e-8)
    xs, ys = np.linspace(-1.0, 1.0, 3), np.array([[-1.0], [2.0]])
    value, (dx, dy) = module.gradient(xs, ys)
    assert value.shape == dx.shape == dy.shape == (2, 3)
    np.testing.assert_array_equal(dy, np.zeros((2, 3)))
    _, (only_dy,) = compile_module(text, ("y",)).gradient(xs, ys)
    np.testing.assert_array_equal(only_dy, np.zeros((2, 3)))


# ---- fan-out and reassignment ---------------------------------------------------------------

@pytest.mark.parametrize("x", [2.0, -0.5, 0.0])
def test_fan_out_of_a_cube(x: float) -> None:
    assert compile_module("f(x) = x*x*x").gradient(x) == (x**3, (3 * x**2,))


def test_fan_out_of_a_product_of_sums() -> None:
    module = compile_module("f(a, b) = (a + b)*(b + 1)")
    assert module.gradient(2.0, 1.0) == (6.0, (2.0, 5.0))  # d/da = b + 1, d/db = a + 2b + 1


def test_fan_out_of_a_variable_used_three_times() -> None:
    module = compile_module("def f(x):\n    a = sin(x)\n    return a*a + a\n")
    x = 0.3
    _, (dx,) = module.gradient(x)
    assert dx == pytest.approx(math.cos(x) * (2 * math.sin(x) + 1), rel=1e-15)


REASSIGNED = """\
def f(x, y):
    a = x*y
    a = a + x
    a = sin(a)
    return a*y
"""


@pytest.mark.parametrize("x, y", [(0.7, -1.3), (2.0, 0.5)])
def test_reassignment_uses_the_latest_value(x: float, y: float) -> None:
    u = x * y + x
    value, (dx, dy) = compile_module(REASSIGNED).gradient(x, y)
    assert value == pytest.approx(math.sin(u) * y, rel=1e-15)
    assert dx == pytest.approx(math.cos(u) * (y + 1) * y, rel=1e-14)
    assert dy == pytest.approx(math.cos(u) * x * y + math.sin(u), rel=1e-14)


def test_reassigning_an_input() -> None:
    module = compile_module("def f(x, y):\n    x = x*x\n    x = sin(x) + y\n    return x*2\n")
    x, y = np.array([0.5, -1.5]), np.array([[1.0], [2.0], [3.0]])
    value, (dx, dy) = module.gradient(x, y)
    np.testing.assert_allclose(value, 2 * (np.sin(x * x) + y), rtol=1e-15)
    np.testing.assert_allclose(dx, np.broadcast_to(4 * x * np.cos(x * x), (3, 2)), rtol=1e-15)
    np.testing.assert_array_equal(dy, np.full((3, 2), 2.0))


def test_log_with_a_base_and_pow_as_a_call() -> None:
    _, (dx,) = compile_module("f(x) = log(x, 2)").gradient(3.0)
    assert dx == pytest.approx(1 / (3.0 * math.log(2)), rel=1e-15)
    _, (dx, dy) = compile_module("f(x, y) = pow(x, y)").gradient(3.0, 2.5)
    assert (dx, dy) == pytest.approx((2.5 * 3.0**1.5, 3.0**2.5 * math.log(3.0)), rel=1e-14)


def test_a_chain_ten_thousand_deep() -> None:
    depth = 10_000
    module = compile_source("f(x) = " + "sin(" * depth + "x" + ")" * depth).load()
    x, slope = 0.5, 1.0
    for _ in range(depth):
        slope *= math.cos(x)
        x = math.sin(x)
    value, (dx,) = module.gradient(0.5)
    assert value == pytest.approx(x, rel=1e-12)
    assert dx == pytest.approx(slope, rel=1e-10)


# ---- the optimiser ---------------------------------------------------------------------------

def optimized(text: str) -> Graph:
    return compile_cached(text).forward


def test_constant_folding() -> None:
    assert edge_text(optimized("f(x) = x*(2*3 + exp(0))")) == [("mul", "x", 7.0)]
    assert edge_text(optimized("f(x) = x*cos(pi)")) == [("neg", "x")]
    assert compile_module("f(x) = x*(2*3 + exp(0))").gradient(2.0) == (14.0, (7.0,))


@pytest.mark.parametrize("expr", ["x*1", "1*x", "x + 0", "0 + x", "x - 0", "x/1", "x^1",
                                  "--x", "(x*1 + 0)/1", "where(x > 0, x, x)"])
def test_identities_are_removed(expr: str) -> None:
    graph = optimized(f"f(x) = sin({expr})")
    assert edge_text(graph) == [("sin", "x")]
    assert compile_module(f"f(x) = sin({expr})").gradient(0.5) == (
        math.sin(0.5), (math.cos(0.5),))


@pytest.mark.parametrize("expr, prims", [("0 - x", ["neg"]), ("x*(-1)", ["neg"]),
                                         ("x + -y", ["sub"]), ("x - -y", ["add"])])
def test_negations_are_simplified(expr: str, prims: list[str]) -> None:
    graph = optimized(f"f(x, y) = {expr}")
    assert [e.prim for e in graph.edges] == prims


@pytest.mark.parametrize("expr", ["0*x", "x*0", "0*x + 1"])
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_zero_times_x_is_not_folded(expr: str) -> None:
    module = compile_module(f"f(x) = {expr}")
    assert "mul" in prim_counts(optimized(f"f(x) = {expr}"))
    assert math.isnan(module.forward(math.inf)) and math.isnan(module.forward(math.nan))
    assert module.forward(2.0) == (1.0 if "1" in expr else 0.0)
    with np.errstate(invalid="ignore"):
        expected = np.array([0.0, -np.inf, np.nan]) * 0 + (1.0 if "1" in expr else 0.0)
    np.testing.assert_array_equal(module.forward(np.array([1.0, -np.inf, np.nan])), expected)


def test_common_subexpressions_are_merged() -> None:
    text = "f(x, y) = sin(x*y) + sin(y*x) + exp(x)*exp(x)"
    assert prim_counts(optimized(text)) == Counter({"mul": 2, "sin": 1, "exp": 1, "add": 2})
    x, y = 0.4, -0.9
    _, partials = compile_module(text).gradient(x, y)
    expected = (2 * y * math.cos(x * y) + 2 * math.exp(2 * x), 2 * x * math.cos(x * y))
    assert partials == pytest.approx(expected, rel=1e-14)


def test_shared_values_are_backpropagated_once() -> None:
    """The forward graph is simplified before reverse mode: one x*y, so one adjoint for it."""
    text = "f(x, y) = sin(x*y) + cos(y*x)"
    assert prim_counts(compile_cached(text).gradient)["mul"] == 3  # x*y, then t*y and t*x
    x, y = 0.4, -0.9
    slope = math.cos(x * y) - math.sin(x * y)
    assert compile_module(text).gradient(x, y)[1] == pytest.approx((slope * y, slope * x),
                                                                   rel=1e-14)


def test_power_zero_is_folded_to_one_as_numpy_computes_it() -> None:
    text = "f(x) = 3 * x^0 + x"
    assert prim_counts(compile_cached(text).gradient) == Counter({"add": 1})
    values = np.array([2.0, 0.0, np.inf, -np.inf, np.nan])
    value, (slope,) = compile_module(text).gradient(values)
    np.testing.assert_array_equal(value, 3 * np.power(values, 0.0) + values)
    np.testing.assert_array_equal(slope, np.ones(5))


def test_adjoints_share_forward_values() -> None:
    text = "f(x) = sin(x) + cos(x)"  # sin' = cos(x) and cos' = -sin(x) are already computed
    assert prim_counts(compile_cached(text).gradient) == Counter(
        {"sin": 1, "cos": 1, "add": 1, "sub": 1})
    assert compile_module(text).gradient(0.3) == (
        pytest.approx(math.sin(0.3) + math.cos(0.3), rel=1e-15),
        (pytest.approx(math.cos(0.3) - math.sin(0.3), rel=1e-15),))


def test_dead_code_is_removed() -> None:
    text = "def f(x):\n    a = exp(x)\n    b = sin(x)\n    c = a*b\n    return b*2\n"
    assert prim_counts(optimized(text)) == Counter({"sin": 1, "mul": 1})
    assert "exp" not in prim_counts(compile_cached(text).gradient)
    assert compile_module(text).gradient(0.0) == (0.0, (2.0,))


@pytest.mark.parametrize("text", PROGRAMS)
def test_optimisation_keeps_values(text: str) -> None:
    forward = build_forward(text)
    smaller = check(optimize(forward))
    assert len(smaller.edges) <= len(forward.edges)
    columns = [np.linspace(-1.0, 1.0, 5) + k / 7 for k in range(len(forward.inputs))]
    np.testing.assert_allclose(interpret(smaller, *columns), interpret(forward, *columns),
                               rtol=1e-14)


# ---- differentiating the gradient program again ----------------------------------------------

@pytest.mark.parametrize("text, second", [
    ("f(x) = x^3", lambda x: 6 * x),
    ("f(x) = sin(x)*exp(x)", lambda x: 2 * math.cos(x) * math.exp(x)),
    ("f(x) = sigmoid(x)", lambda x: math.tanh(x / 2) * -0.5 / (1 + math.cosh(x))),
])
def test_second_derivative_by_reversing_the_gradient_graph(text: str, second) -> None:
    gradient = build_gradient(build_forward(text))
    first = gradient.replace(outputs=gradient.outputs[1:], output_names=("f_x",))
    hessian = check(optimize(reverse_mode(first)))
    for x in (-1.2, 0.3, 2.0):
        _, second_derivative = interpret(hessian, x)
        assert second_derivative == pytest.approx(second(x), rel=1e-12, abs=1e-15)

"""Every primitive of the registry, compiled end to end and checked against independent oracles.

`test_primitive` is parametrised over `gradgen.ir.primitives.REGISTRY` (ids are the primitive
names, so a new entry is tested without touching this file). Each primitive is applied to inputs
``a0, a1, ...`` in source text (conditions fed as ``(aK > 0)``, a condition-valued primitive
wrapped in a ``where``), compiled, and evaluated at seeded random points of the entry's test
domain, as Python floats and as one NumPy batch:

- generated ``forward`` against the entry's NumPy ``impl``;
- generated ``gradient`` against central differences of ``impl``, against ``sympy.diff`` of the
  entry's SymPy equivalent, and against the reference interpreter run on the gradient graph.

Then the documented one-sided choices at kinks (``abs'(0) = 1``, ``relu'(0) = 0``, ties of
``max``/``min`` go to the first argument, ``sign' = 0``), NaN safety of ``where``, and numerical
stability of sigmoid, softplus, log1p and expm1 at extreme arguments.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import central_difference, compile_cached, compile_module, sympy_partials

from gradgen.ir.interpret import interpret
from gradgen.ir.primitives import REGISTRY, Primitive

POINTS = 4


# ---- building the source text and the oracle of one primitive ------------------------------

def _call_text(prim: Primitive, args: list[str]) -> str:
    if prim.operator and prim.arity == 2:
        return f"{args[0]} {prim.operator} {args[1]}"
    if prim.operator:
        return f"{prim.operator}{' ' if prim.operator.isalpha() else ''}{args[0]}"
    return f"{prim.name}({', '.join(args)})"


def source_text(prim: Primitive) -> str:
    """``f(a0, a1) = a0 + a1``; a condition-valued primitive becomes ``where(it, a0, 3*aN)``."""
    names = [f"a{k}" for k in range(prim.arity)]
    args = [f"({name} > 0)" if kind == "b" else name for name, kind in zip(names, prim.args)]
    expr = _call_text(prim, args)
    if prim.result == "bool":
        expr = f"where({expr}, a0, 3*{names[-1]})"
    return f"f({', '.join(names)}) = {expr}\n"


def oracle(prim: Primitive) -> Callable[..., Any]:
    """The function `source_text` describes, written with the entry's NumPy ``impl``."""

    def function(*inputs: Any) -> Any:
        args = [x > 0 if kind == "b" else x for x, kind in zip(inputs, prim.args)]
        value = prim.impl(*args)
        if prim.result == "bool":
            value = np.where(value, inputs[0], 3 * inputs[-1])
        return value

    return function


def sample(prim: Primitive, count: int = POINTS) -> list[np.ndarray]:
    """One array of ``count`` seeded points per argument, drawn from the entry's domain."""
    rng = np.random.default_rng(zlib.crc32(prim.name.encode()))
    return [rng.uniform(low, high, size=count) for low, high in prim.domain]


# ---- the registry-wide test ------------------------------------------------------------------

def check_point(prim: Primitive, compiled: Any, module: Any, point: tuple[float, ...]) -> None:
    """All oracles at one point given as Python floats."""
    function = oracle(prim)
    expected = function(*point)
    value = module.forward(*point)
    assert type(value) is float
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-300)

    grad_value, partials = module.gradient(*point)
    assert type(grad_value) is float and all(type(p) is float for p in partials)
    assert len(partials) == prim.arity
    np.testing.assert_allclose(grad_value, expected, rtol=1e-12, atol=1e-300)

    numeric = [central_difference(function, point, i) for i in range(prim.arity)]
    np.testing.assert_allclose(partials, numeric, rtol=1e-6, atol=1e-8,
                               err_msg=f"central differences at {point}")
    symbolic = sympy_partials(compiled.forward, point)
    np.testing.assert_allclose(partials, symbolic, rtol=1e-10, atol=1e-12,
                               err_msg=f"sympy.diff at {point}")
    interpreted = interpret(compiled.gradient, *point)
    np.testing.assert_allclose((grad_value, *partials), interpreted, rtol=1e-12, atol=1e-300,
                               err_msg=f"interpreter at {point}")


def check_batch(prim: Primitive, compiled: Any, module: Any, columns: list[np.ndarray]) -> None:
    """One call on arrays agrees with the oracle, the interpreter and the scalar calls."""
    shape = columns[0].shape
    value = module.forward(*columns)
    assert isinstance(value, np.ndarray) and value.shape == shape
    np.testing.assert_allclose(value, oracle(prim)(*columns), rtol=1e-12)

    grad_value, partials = module.gradient(*columns)
    for result in (value, grad_value, *partials):
        assert isinstance(result, np.ndarray) and result.shape == shape
        assert result.dtype == np.float64
    interpreted = interpret(compiled.gradient, *columns)
    np.testing.assert_allclose(np.array([grad_value, *partials]),
                               np.array([np.broadcast_to(v, shape) for v in interpreted]),
                               rtol=1e-12)
    scalar = [module.gradient(*(float(c[k]) for c in columns)) for k in range(shape[0])]
    np.testing.assert_allclose(np.array([grad_value, *partials]).T,
                               np.array([[v, *p] for v, p in scalar]), rtol=1e-13)


@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.elementwise))
def test_primitive(name: str) -> None:
    prim = REGISTRY[name]
    text = source_text(prim)
    compiled = compile_cached(text)
    module = compile_module(text)
    assert module.INPUTS == tuple(f"a{k}" for k in range(prim.arity))
    columns = sample(prim)
    for point in zip(*columns):
        check_point(prim, compiled, module, tuple(float(v) for v in point))
    check_batch(prim, compiled, module, columns)


# ---- kinks: documented one-sided choices ---------------------------------------------------

def gradient_at(text: str, *point: Any) -> tuple[Any, tuple[Any, ...]]:
    return compile_module(text).gradient(*point)


@pytest.mark.parametrize("x, slope", [(0.0, 1.0), (-0.0, 1.0), (2.0, 1.0), (-2.0, -1.0)])
def test_abs_slope_at_zero_is_one(x: float, slope: float) -> None:
    assert gradient_at("f(x) = abs(x)", x) == (abs(x), (slope,))


@pytest.mark.parametrize("x, slope", [(0.0, 0.0), (-0.0, 0.0), (2.0, 1.0), (-2.0, 0.0)])
def test_relu_slope_at_zero_is_zero(x: float, slope: float) -> None:
    assert gradient_at("f(x) = relu(x)", x) == (max(x, 0.0), (slope,))


@pytest.mark.parametrize("function", ["max", "min"])
def test_max_min_ties_go_to_the_first_argument(function: str) -> None:
    text = f"f(x, y) = {function}(x, y)"
    assert gradient_at(text, 1.5, 1.5) == (1.5, (1.0, 0.0))
    _, (dx, dy) = gradient_at(text, np.array([1.0, -2.0, 3.0]), np.array([1.0, 0.0, 0.0]))
    first_wins = [1.0, 0.0, 1.0] if function == "max" else [1.0, 1.0, 0.0]
    np.testing.assert_array_equal(dx, first_wins)
    np.testing.assert_array_equal(dy, 1.0 - np.array(first_wins))


@pytest.mark.parametrize("x", [-2.0, -0.0, 0.0, 3.0])
def test_sign_has_zero_slope(x: float) -> None:
    value, (dx,) = gradient_at("f(x) = x*sign(x)", x)
    assert value == abs(x)
    assert dx == np.sign(x)  # d/dx (x sign x) = sign x + x * 0


def test_where_at_its_switch_takes_the_branch_its_condition_chooses() -> None:
    text = "f(x) = where(x > 0, x^2, -3*x)"
    assert gradient_at(text, 0.0) == (0.0, (-3.0,))
    assert gradient_at(text, 1e-300)[1] == (2e-300,)


# ---- NaN safety of where -------------------------------------------------------------------

GUARDED = [
    ("where(x > 0, log(x), 0)", lambda x: 1 / x),
    ("where(x > 0, sqrt(x), 0)", lambda x: 0.5 / math.sqrt(x)),
    ("log(x) if x > 0 else 0", lambda x: 1 / x),
    ("where(x > 0, 1/x, 0)", lambda x: -1 / x**2),
    ("where(x > 0, log(x)*log(x), 0)", lambda x: 2 * math.log(x) / x),
    ("where(x <= 0, 0, sqrt(x))", lambda x: 0.5 / math.sqrt(x)),
    ("where(x > 0, where(x > 1, sqrt(x - 1), log(x)), 0)",
     lambda x: 0.5 / math.sqrt(x - 1) if x > 1 else 1 / x),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("expr, slope", GUARDED, ids=[e for e, _ in GUARDED])
def test_where_guards_keep_gradients_finite(expr: str, slope: Callable[[float], float]) -> None:
    text = f"f(x) = {expr}"
    for x in (0.0, -1.0, -np.inf):
        value, (dx,) = gradient_at(text, x)
        assert value == 0.0 and dx == 0.0, (x, value, dx)
    for x in (0.5, 2.0):
        assert gradient_at(text, x)[1][0] == pytest.approx(slope(x), rel=1e-14)
    xs = np.array([-1.0, 0.0, 0.5, 2.0])
    _, (dxs,) = gradient_at(text, xs)
    np.testing.assert_allclose(dxs, [0.0, 0.0, slope(0.5), slope(2.0)], rtol=1e-14)


TWICE_GUARDED = {  # source, and its slope at x = 0.5 (at x = 2 both branches give 1)
    "two conditions": (
        "def f(x):\n    a = log(x)\n    return where(x > 0, a, 0) + where(x > 1, a, 0)\n", 2.0),
    "one condition written twice": (
        "def f(x):\n    a = log(x)\n    return where(x > 0, a, 0) + where(x > 0, a, 0)\n", 4.0),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("text, slope", TWICE_GUARDED.values(), ids=TWICE_GUARDED.keys())
def test_where_guard_of_a_variable_used_in_two_guarded_branches(text: str, slope: float) -> None:
    module = compile_module(text)
    assert module.gradient(0.5)[1] == pytest.approx((slope,), rel=1e-15)
    assert module.gradient(2.0)[1] == pytest.approx((1.0,), rel=1e-15)
    for x in (0.0, -1.0):
        assert module.gradient(x) == (0.0, (0.0,))


@pytest.mark.parametrize("function", ["relu", "abs"])
def test_kinks_never_give_nan(function: str) -> None:
    xs = np.array([0.0, -0.0, 1e-320, -1e-320])
    value, (dx,) = gradient_at(f"f(x) = {function}(x)*{function}(x) + {function}(x)", xs)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(dx))
    expected = {"relu": [0.0, 0.0, 1.0, 0.0], "abs": [1.0, 1.0, 1.0, -1.0]}[function]
    np.testing.assert_allclose(dx, expected, rtol=1e-12)


# ---- numerical stability --------------------------------------------------------------------

def exact_sigmoid(x: float) -> float:
    """sigmoid(x), written so that neither branch overflows."""
    small = math.exp(-abs(x))
    return 1.0 / (1.0 + small) if x >= 0 else small / (1.0 + small)


def exact_sigmoid_slope(x: float) -> float:
    small = math.exp(-abs(x))
    return small / (1.0 + small) ** 2


EXTREMES = [-800.0, -700.0, -30.0, 0.0, 30.0, 700.0, 800.0]


@pytest.mark.parametrize("x", EXTREMES)
def test_sigmoid_is_stable_at_extreme_arguments(x: float) -> None:
    value, (dx,) = gradient_at("f(x) = sigmoid(x)", x)
    assert value == pytest.approx(exact_sigmoid(x), rel=1e-14, abs=0.0)
    # y * (1 - y) is accurate to an absolute 1e-16, not relatively, where y rounds near 1
    assert dx == pytest.approx(exact_sigmoid_slope(x), rel=1e-13, abs=1e-16)


@pytest.mark.parametrize("x", EXTREMES)
def test_softplus_is_stable_at_extreme_arguments(x: float) -> None:
    value, (dx,) = gradient_at("f(x) = softplus(x)", x)
    exact = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    assert math.isfinite(value) and math.isfinite(dx)
    assert value == pytest.approx(exact, rel=1e-14, abs=0.0)
    assert dx == pytest.approx(exact_sigmoid(x), rel=1e-13, abs=0.0)


@pytest.mark.parametrize("x", [1e-12, -1e-12, 1e-300])
def test_log1p_and_expm1_are_accurate_near_zero(x: float) -> None:
    value, (dx,) = gradient_at("f(x) = log1p(x)", x)
    assert value == pytest.approx(x - x * x / 2, rel=1e-15)
    assert dx == pytest.approx(1 / (1 + x), rel=1e-15)
    value, (dx,) = gradient_at("f(x) = expm1(x)", x)
    assert value == pytest.approx(x + x * x / 2, rel=1e-15)
    assert dx == pytest.approx(1 + x, rel=1e-15)

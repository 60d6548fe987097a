"""The float fast path (`gradgen.emit.floats`): on Python floats a scalar module computes in
``math``, with NumPy's numbers.

Each primitive's float text is checked against the registry's NumPy implementation (an oracle
that shares nothing with the emitter) at ordinary and extreme arguments: it gives the same
number, or raises where the caller then takes the NumPy path. Whole modules are checked
against their NumPy path and against central differences and SymPy; the branch of a ``where``
not taken is never evaluated on floats.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from conftest import central_difference, compile_module, sympy_partials

from gradgen.emit.floats import FLOAT_TEXTS, float_expr
from gradgen.ir.graph import Edge, Var, const
from gradgen.ir.primitives import REGISTRY
from gradgen.pipeline import build_forward

NUMBERS = (-1000.0, -3.0, -1.0, -0.5, -0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 1000.0,
           math.inf, -math.inf, math.nan)
CONDITIONS = (True, False)
DTYPES = {"f": "float", "b": "bool"}
LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"


def _arguments(prim: str) -> list[tuple]:
    kinds = REGISTRY[prim].args
    choices = [CONDITIONS if kind == "b" else NUMBERS for kind in kinds]
    return list(itertools.product(*choices))


def _float_text_value(prim: str, inputs: tuple[Var, ...], args: tuple) -> float | None:
    """The float text of ``prim`` evaluated on ``args`` (None where it raises, as it may)."""
    names = {var: f"a{k}" for k, var in enumerate(inputs) if not var.is_const}
    dtype = "bool" if REGISTRY[prim].result == "bool" else "float"
    text = float_expr(Edge(prim, inputs, (Var("y", (), dtype),)), names)
    scope = {"math": math, **{names[var]: arg for var, arg in zip(inputs, args)
                              if not var.is_const}}
    try:
        return eval(text, {"__builtins__": {"abs": abs, "max": max, "float": float}}, scope)
    except (ArithmeticError, ValueError):
        return None


def _inputs(prim: str, args: tuple, constant: int | None) -> tuple[Var, ...]:
    """Input nodes for ``args``; the one at position ``constant`` a constant of its value."""
    kinds = REGISTRY[prim].args
    return tuple(const(arg) if k == constant else Var(f"a{k}", (), DTYPES[kinds[k]])
                 for k, arg in enumerate(args))


@pytest.mark.parametrize("prim", sorted(FLOAT_TEXTS))
def test_float_text_gives_numpy_number_or_raises(prim: str) -> None:
    entry = REGISTRY[prim]
    for args in _arguments(prim):
        with np.errstate(all="ignore"):
            want = entry.impl(*(np.float64(a) if isinstance(a, float) else a for a in args))
        positions = [None] + [k for k, a in enumerate(args) if isinstance(a, float)
                              and math.isfinite(a)]
        for constant in positions:  # a constant operand is printed, not named
            got = _float_text_value(prim, _inputs(prim, args, constant), args)
            if got is None:
                continue  # math raised: the module takes NumPy's path, which gives `want`
            assert type(got) is type(bool(got) if entry.result == "bool" else 0.0), (prim, args)
            np.testing.assert_allclose(got, want, rtol=4e-16 * 8, atol=0, err_msg=str(args))


def test_every_elementwise_primitive_of_the_language_has_a_float_text_or_is_named() -> None:
    without = {name for name, entry in REGISTRY.items()
               if entry.elementwise and name not in FLOAT_TEXTS}
    assert without == {"cbrt"}  # math.cbrt is Python 3.11's; the module runs on 3.10


def test_lecture_on_floats_gives_the_notes_numbers_as_floats() -> None:
    module = compile_module(LECTURE)
    value, partials = module.gradient(2.0, -1.0, 0.0)
    assert type(value) is float and all(type(p) is float for p in partials)
    np.testing.assert_allclose([value, *partials], [0.141, -3.96, -0.99, 1.99], atol=5e-3)
    numpy_value, numpy_partials = module.gradient(*map(np.float64, (2.0, -1.0, 0.0)))
    np.testing.assert_allclose([value, *partials], [numpy_value, *numpy_partials], rtol=1e-15)


SOURCES = [
    LECTURE,
    "f(x, y) = sigmoid(x * y) + softplus(x - y) + relu(y) * abs(x)\n",
    "f(x, y) = max(x, y) * min(x, 2) + hypot(x, y) + atan2(y, x) + (x*x + 1)^y\n",
    "f(x, y) = log1p(x^2) * expm1(y / 3) + log2(x^2 + 1) + log10(y^2 + 2) + tanh(x) * sign(y)\n",
    "f(x, y) = where(x > 0, log(x) * y, y * y) + where(x < y and y > 0, sqrt(y), -x)\n",
]
POINTS = [(0.7, 1.3), (-0.4, 2.1), (1.9, -0.8), (-1.5, -0.3)]


@pytest.mark.parametrize("source", SOURCES)
def test_floats_agree_with_differences_sympy_and_the_numpy_path(source: str) -> None:
    module = compile_module(source)
    graph = build_forward(source)
    for point in POINTS[:1] if source == LECTURE else POINTS:
        point = (*point, 0.3)[:len(module.INPUTS)]
        value, partials = module.gradient(*point)
        assert type(value) is float and module.forward(*point) == pytest.approx(value, 1e-15)
        numpy_value, numpy_partials = module.gradient(*map(np.float64, point))
        np.testing.assert_allclose([value, *partials], [numpy_value, *numpy_partials],
                                   rtol=1e-13, atol=1e-15)
        differences = [central_difference(module.forward, point, k) for k in range(len(point))]
        np.testing.assert_allclose(partials, differences, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(partials, sympy_partials(graph, point), rtol=1e-12,
                                   atol=1e-13)


@pytest.mark.parametrize(("source", "point"), [
    ("f(x) = 1 / x\n", (0.0,)),
    ("f(x) = log(x)\n", (-1.0,)),
    ("f(x) = exp(x) * x\n", (1000.0,)),
    ("f(x, y) = x ^ y\n", (-8.0, 1 / 3)),
    ("f(x) = sigmoid(x)\n", (-1000.0,)),
])
def test_where_math_raises_the_numpy_path_answers(source: str, point: tuple) -> None:
    module = compile_module(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ArithmeticError, ValueError)):
            module._gradient_on_floats(*point)
        got = module.gradient(*point)
        want = module.gradient(*map(np.float64, point))
    np.testing.assert_equal(got, want)
    assert type(got[0]) is float


def test_the_branch_not_taken_is_never_evaluated_on_floats() -> None:
    source = "f(x, y) = where(x > 0, log(x) * y, y * y) + where(y > 1, sqrt(y - 1) / x, y)\n"
    module = compile_module(source)
    for point in itertools.product((-2.0, 3.0), (-1.0, 1.0, 5.0)):
        value, partials = module._gradient_on_floats(*point)  # raises nothing: no log(-2)
        with np.errstate(all="ignore"):
            numpy_value, numpy_partials = module.gradient(*map(np.float64, point))
        np.testing.assert_allclose([value, *partials], [numpy_value, *numpy_partials],
                                   rtol=1e-15)


def test_a_condition_whose_name_is_taken_again_guards_nothing_after() -> None:
    source = ("def f(x, y):\n    c = x > 0\n    a = where(c, log(x), x)\n    c = y > 0\n"
              "    b = where(c, sqrt(y), y)\n    return a * b + where(c, a, b)\n")
    module = compile_module(source)
    for point in itertools.product((-2.0, 3.0), (-1.0, 4.0)):
        with np.errstate(all="ignore"):
            want = module.gradient(*map(np.float64, point))
        np.testing.assert_allclose(module._gradient_on_floats(*point)[1], want[1], rtol=1e-15)


def test_nested_conditions_give_numpy_numbers() -> None:
    source = "f(x, y) = where(x > 0, where(y > 0, log(x * y), -y * x), exp(y) * x)\n"
    module = compile_module(source)
    for point in itertools.product((-2.0, 3.0), (-1.0, 4.0)):
        got = module.gradient(*point)
        with np.errstate(all="ignore"):
            want = module.gradient(*map(np.float64, point))
        np.testing.assert_allclose([got[0], *got[1]], [want[0], *want[1]], rtol=1e-15)


def test_ints_numpy_scalars_and_arrays_take_the_numpy_path() -> None:
    module = compile_module(LECTURE)
    by_floats = module.gradient(2.0, -1.0, 0.0)
    for point in [(2, -1, 0), (np.float64(2), np.float64(-1), np.float64(0)), (2.0, -1, 0.0)]:
        value, partials = module.gradient(*point)
        assert type(value) is float
        np.testing.assert_allclose([value, *partials], [by_floats[0], *by_floats[1]],
                                   rtol=1e-15)
    value, partials = module.gradient(np.array([2.0, 1.0]), -1.0, 0.0)
    assert value.shape == (2,) and value[0] == pytest.approx(by_floats[0], rel=1e-15)


@pytest.mark.parametrize("source", [
    "def f(x, n: int):\n    s = x\n    for i in range(n):\n        s = sin(s)\n    return s\n",
    "def f(x: (n,)):\n    return sum(x * x)\n",
    "f(x) = cbrt(x) + x\n",
])
def test_modules_outside_the_fast_path_have_no_twin(source: str) -> None:
    module = compile_module(source)
    assert not hasattr(module, "_gradient_on_floats")


def test_user_names_cannot_take_the_twins_or_math() -> None:
    source = "f(math, _gradient_on_floats) = sin(math) * _gradient_on_floats\n"
    module = compile_module(source)
    value, partials = module.gradient(0.5, 2.0)
    np.testing.assert_allclose([value, *partials],
                               [2 * math.sin(0.5), 2 * math.cos(0.5), math.sin(0.5)], rtol=1e-15)

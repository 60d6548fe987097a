"""Arrays of the Python array API standard are computed by their own namespace (issue 15,
point 1): a module called with array-api-strict arrays (which allow nothing outside the
standard, so nothing NumPy-only can run on them) returns array-api-strict arrays equal to
NumPy's results to 1e-12: the value, the gradient, vjp and hvp."""

from pathlib import Path

import numpy as np
import pytest
from conftest import regression_data

import gradgen

xp = pytest.importorskip("array_api_strict")
ARRAY = type(xp.asarray(0.0))

EXAMPLES = Path(__file__).parent.parent / "examples"
LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))"
TRANSCENDENTAL = ("f(x, y) = atan2(y, x) + asin(x / 4) + cosh(y) * log1p(x^2) + hypot(x, y)"
                  " + sigmoid(x - y) + softplus(y) + max(x, y) + abs(x - 1) + sqrt(y) / tanh(y)")


def strict(value):
    """A NumPy array as an array-api-strict one; a number kept as it is."""
    return xp.asarray(value) if np.ndim(value) else value


def leaves(results):
    """The arrays of a result: a value, (value, partials), or a tuple of partials."""
    if isinstance(results, tuple):
        return [leaf for result in results for leaf in leaves(result)]
    return [results]


def assert_same(got, want) -> None:
    """got's arrays are array-api-strict's and equal to want's (NumPy's) to 1e-12."""
    got, want = leaves(got), leaves(want)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert isinstance(a, ARRAY), type(a)
        np.testing.assert_allclose(np.asarray(xp.asarray(a, copy=True)), b,
                                   rtol=1e-12, atol=1e-12)


def assert_module_same(module, args, tangents, cotangent=2.0) -> None:
    """Each function of module at args is array-api-strict's and NumPy's alike."""
    at = tuple(map(strict, args))
    assert_same(module.forward(*at), module.forward(*args))
    assert_same(module.gradient(*at), module.gradient(*args))
    assert_same(module.vjp(*at, cotangent), module.vjp(*args, cotangent))
    assert_same(module.hvp(*at, tuple(map(strict, tangents))), module.hvp(*args, tangents))


@pytest.mark.parametrize("source", [LECTURE, EXAMPLES / "rosenbrock.txt", TRANSCENDENTAL],
                         ids=["lecture", "rosenbrock", "transcendental"])
def test_function_of_numbers(source) -> None:
    module = gradgen.compile_source(source, hessian=True).module
    count = len(module.INPUTS)
    args = tuple(np.linspace(0.2, 1.5 + k, 9) for k in range(count))
    assert_module_same(module, args, tuple(np.full(9, 0.5 - k) for k in range(count)))


def test_numbers_beside_arrays() -> None:
    """A Python float beside an array of the array API computes in its namespace."""
    module = gradgen.compile_source(LECTURE, hessian=True).module
    x = np.linspace(0.1, 1.0, 5)
    assert_same(module.gradient(strict(x), 2.0, 0.5), module.gradient(x, 2.0, 0.5))


@pytest.mark.parametrize("name", ["logistic_regression.txt", "perceptron.txt"])
def test_array_program(name: str) -> None:
    module = gradgen.compile_source(EXAMPLES / name, hessian=True).module
    args = regression_data(name, 3, n=30, d=4, h=5)
    tangents = tuple(np.ones_like(np.asarray(v)) * 0.5 for v in args)
    assert_module_same(module, args, tangents, cotangent=3.0)


def test_float32_stays_float32() -> None:
    module = gradgen.compile_source(EXAMPLES / "logistic_regression.txt").module
    args = regression_data("logistic_regression.txt", 3, n=30, d=4, h=5)
    at = tuple(xp.asarray(v, dtype=xp.float32) for v in args)  # numbers too, as NumPy's
    value, partials = module.gradient(*at)
    assert value.dtype == xp.float32 and all(p.dtype == xp.float32 for p in partials)

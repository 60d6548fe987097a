"""Inputs keep their float type (issue 15, point 1): float32 in, float32 out, within float32
rounding of the float64 results; Python floats still give Python floats."""

from pathlib import Path

import numpy as np
import pytest

import gradgen

EXAMPLES = Path(__file__).parent.parent / "examples"
LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))"


def as_float32(values):
    return tuple(np.float32(v) if np.ndim(v) == 0 else np.asarray(v, np.float32) for v in values)


def assert_float32_close(got, want):
    """got is float32 and within float32 rounding of want (float64)."""
    assert np.asarray(got).dtype == np.float32
    scale = max(1.0, float(np.max(np.abs(want))) if np.size(want) else 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


def logistic():
    rng = np.random.default_rng(1)
    n, d = 40, 3
    return (rng.normal(size=d), 0.3, rng.normal(size=(n, d)), (rng.random(n) > 0.5) * 1.0, 0.1)


@pytest.fixture(scope="module")
def lecture():
    return gradgen.compile_source(LECTURE, hessian=True).module


@pytest.fixture(scope="module")
def logistic_module():
    return gradgen.compile_source(EXAMPLES / "logistic_regression.txt", hessian=True).module


@pytest.mark.parametrize("size", [5, 20000])  # 20000: computed a block at a time
def test_scalar_module_keeps_float32(lecture, size: int) -> None:
    args = tuple(np.linspace(0.1, 1.0 + k, size) for k in range(3))
    args32 = as_float32(args)
    assert_float32_close(lecture.forward(*args32), lecture.forward(*args))
    (value, partials), (value64, partials64) = lecture.gradient(*args32), lecture.gradient(*args)
    assert_float32_close(value, value64)
    for got, want in zip(partials, partials64):
        assert_float32_close(got, want)
    cotangent = np.float32(2.0)
    for got, want in zip(lecture.vjp(*args32, cotangent)[1], lecture.vjp(*args, 2.0)[1]):
        assert_float32_close(got, want)
    tangents = as_float32((1.0, 0.5, -1.0))
    for got, want in zip(lecture.hvp(*args32, tangents), lecture.hvp(*args, (1.0, 0.5, -1.0))):
        assert_float32_close(got, want)


def test_array_module_keeps_float32(logistic_module) -> None:
    args = logistic()
    args32 = as_float32(args)
    (value, partials), (value64, partials64) = (logistic_module.gradient(*args32),
                                                logistic_module.gradient(*args))
    assert isinstance(value, np.float32)
    assert_float32_close(value, value64)
    for got, want in zip(partials, partials64):
        assert_float32_close(got, want)
    tangents = tuple(np.ones_like(v) for v in args)
    for got, want in zip(logistic_module.hvp(*args32, as_float32(tangents)),
                         logistic_module.hvp(*args, tangents)):
        assert_float32_close(got, want)
    vjp = logistic_module.vjp(*args32, np.float32(3.0))[1]
    for got, want in zip(vjp, partials64):
        assert_float32_close(got, 3.0 * want)


def test_python_floats_give_python_floats(lecture) -> None:
    assert type(lecture.forward(1.0, 2.0, 3.0)) is float
    value, partials = lecture.gradient(np.float64(1.0), 2, 3.0)
    assert type(value) is float and all(type(p) is float for p in partials)


def test_mixed_dtypes_follow_numpys_promotion(lecture) -> None:
    x32, x64 = np.ones(3, np.float32), np.ones(3)
    assert lecture.forward(x32, x64, x32).dtype == np.float64
    assert lecture.forward(x32, np.float32(2), x32).dtype == np.float32
    assert lecture.forward(np.ones(3, np.float16), np.float16(1), np.float16(0)).dtype == np.float16
    assert lecture.forward(np.arange(3), 1.0, 0.0).dtype == np.float64  # integers: float64

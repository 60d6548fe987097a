"""Property-based tests: random expressions, compiled, against SymPy and central differences.

A hypothesis strategy writes random expression *text* over inputs ``x`` and ``y``, small
constants and a subset of primitives that is smooth wherever it is evaluated (denominators and
logarithm arguments are kept away from 0: ``/ (1 + u^2)``, ``log(1 + u^2)``, ``sqrt(1 + u^2)``,
``exp`` of a bounded argument). For each one the generated gradient is compared with
``sympy.diff`` and with central differences at random points, the reference interpreter with
the generated code on arrays, and a ``wrt`` subset with the full gradient. Deterministic
(``derandomize=True``) and fast.
"""

from __future__ import annotations

import numpy as np
from conftest import central_difference, compile_cached, compile_module, sympy_partials
from hypothesis import given, settings
from hypothesis import strategies as st

from gradgen.ir.interpret import interpret

UNARY = [
    "sin({})", "cos({})", "tanh({})", "sigmoid({})", "softplus({})", "atan({})", "square({})",
    "exp(sin({}))", "exp(tanh({}))", "sqrt(1 + ({})^2)", "log(1 + ({})^2)", "-({})",
]
BINARY = [
    "({} + {})", "({} - {})", "({} * {})", "({}) / (1 + ({})^2)", "hypot({}, 1 + ({})^2)",
]
LEAVES = st.sampled_from(["x", "y"] * 3 + ["1", "2", "3", "0.5", "2.5", "pi"])
COORDINATE = st.floats(min_value=-1.5, max_value=1.5, allow_nan=False, allow_infinity=False)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0].format(t[1]))
    binary = st.tuples(st.sampled_from(BINARY), children, children).map(
        lambda t: t[0].format(t[1], t[2]))
    return unary | binary


EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=12)


def source(expr: str) -> str:
    """Form B, so that both inputs exist even when the expression does not use one."""
    return f"f(x, y) = {expr}\n"


def close(actual, expected, rtol: float) -> None:
    """Relative agreement, measured against the size of the largest number involved."""
    scale = 1.0 + float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@SETTINGS
@given(EXPRESSIONS, COORDINATE, COORDINATE)
def test_gradient_matches_sympy_and_central_differences(expr: str, x: float, y: float) -> None:
    text = source(expr)
    module = compile_module(text)
    value, partials = module.gradient(x, y)
    assert value == module.forward(x, y)
    close(partials, sympy_partials(compile_cached(text).forward, (x, y)), rtol=1e-10)
    numeric = [float(central_difference(module.forward, (x, y), i)) for i in range(2)]
    close(partials, numeric, rtol=1e-6)


@SETTINGS
@given(EXPRESSIONS, st.integers(min_value=0, max_value=2**32 - 1))
def test_interpreter_and_wrt_subsets_agree_with_the_generated_gradient(expr: str,
                                                                       seed: int) -> None:
    text = source(expr)
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1.5, 1.5, size=(2, 5))
    value, (dx, dy) = compile_module(text).gradient(x, y)
    interpreted = interpret(compile_cached(text).gradient, x, y)
    close(np.array([value, dx, dy]),
          np.array([np.broadcast_to(v, x.shape) for v in interpreted]), rtol=1e-13)
    _, (only_dy,) = compile_module(text, ("y",)).gradient(x, y)
    np.testing.assert_allclose(only_dy, dy, rtol=1e-14, atol=0.0)

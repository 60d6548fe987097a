"""Regressions of numbers: each known bug's program, checked against an independent oracle (a
hand-derived formula, central differences, or the plain NumPy formula), never against gradgen.

The classes: whole-number constants and ``N: int`` values reaching NumPy as Python integers
(overflow, ``2 ** -2`` refused, ``1 / 0`` raising); constant folding by another formula than the
generated code's (``softplus(1000)``); NaN partials at a zero base or a zero vector; a ``where``
mask pushed through an operation whose entries mix (matmul, softmax); SymPy forms the symbolic
route could not convert back; an input's shape lost when its name was reused.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import compile_module, entrywise_differences

from gradgen.pipeline import compile_source


def flat(result: tuple) -> list[float]:
    """``(value, (d1, d2, ...))`` as ``[value, d1, d2, ...]``, for `pytest.approx`."""
    value, partials = result
    return [value, *partials]

# ---- whole numbers: arithmetic follows NumPy's float64, never Python's int ----------------------

INT_CONSTANT_OVERFLOW = """\
def f(x, N: int):
    s = 3
    for i in range(N):
        s = abs(s) ^ 2
    return x * s
"""


def test_a_whole_number_constant_squared_in_a_loop_does_not_overflow() -> None:
    """R07: 3^(2^6) = 3^64, past an int64 (9.2e18)."""
    module = compile_module(INT_CONSTANT_OVERFLOW)
    assert module.forward(1.0, 6) == pytest.approx(3.0**64, rel=1e-12)
    value, (dx,) = module.gradient(2.0, 6)
    assert (value, dx) == pytest.approx((2 * 3.0**64, 3.0**64), rel=1e-12)
    with pytest.warns(RuntimeWarning, match="overflow"):  # 3^2048: inf, as NumPy gives it
        assert module.forward(1.0, 11) == math.inf


INT_NEGATIVE_POWER = """\
def f(x):
    y = 3.0
    if x > 2:
        y = 2
    return square(y) ^ -2
"""


@pytest.mark.parametrize("x, expected", [(1.0, 1 / 81), (3.0, 1 / 16)])
def test_a_whole_number_branch_result_to_a_negative_power(x: float, expected: float) -> None:
    """R08: ``y = 2`` on one side was the Python int 2; NumPy refuses ``int ** -2``."""
    assert flat(compile_module(INT_NEGATIVE_POWER).gradient(x)) == pytest.approx([expected, 0.0])


BRANCH_IN_LOOP = """\
def f(x, N: int):
    self = 3.
    for _q in range(N):
        if _q > 2:
            self = 2
    return x * pow(square(self), -2)
"""


@pytest.mark.parametrize("n, s", [(2, 3.0), (5, 2.0)])
def test_a_whole_number_assigned_in_a_branch_in_a_loop(n: int, s: float) -> None:
    value, (dx,) = compile_module(BRANCH_IN_LOOP).gradient(2.0, n)
    assert (value, dx) == pytest.approx((2.0 / s**4, 1.0 / s**4), rel=1e-15)


def test_int_to_the_power_one_compiles() -> None:
    """R15: ``N ^ 1`` was simplified to ``N``, an int where a number was (AssertionError)."""
    module = compile_module("def f(x, N: int):\n    return x * N ^ 1\n")
    assert module.gradient(2.0, 3) == (6.0, (3.0,))
    assert module.gradient(2.0, 0) == (0.0, (0.0,))


def test_a_constant_past_an_int64_compiles() -> None:
    """R16: 2 - 1e19 as a compile-time whole number overflowed NumPy's int64."""
    value, (dx,) = compile_module("f(x) = x * (2 - 1e19)").gradient(2.0)
    assert (value, dx) == (2.0 * (2 - 1e19), 2 - 1e19)


INT_THEN_FLOAT = """\
def f(x, N: int):
    b = N
    if x > 0:
        b = x
    return b
"""


@pytest.mark.parametrize("x, expected", [(2.0, (2.0, (1.0,))), (-2.0, (3.0, (0.0,)))])
def test_an_int_input_replaced_by_a_number_on_one_side(x: float, expected: tuple) -> None:
    """R17: the two sides left an int and a number (refused as 'shape () and shape ()')."""
    assert compile_module(INT_THEN_FLOAT).gradient(x, 3) == expected


INT_ARGUMENT_HELPER = """\
def g(p):
    for i in range(2):
        p = 0.5 * p
    return p

def f(x, N: int):
    return g(N) + x
"""


def test_a_helper_called_with_an_int_inside_a_loop() -> None:
    """R18: the helper's parameter p (a number) took the int's kind and changed in the loop."""
    assert compile_module(INT_ARGUMENT_HELPER).gradient(2.0, 3) == (2.75, (1.0,))


def test_an_int_carried_by_a_loop_becomes_a_number() -> None:
    text = "def f(x, N: int):\n    s = N\n    for i in range(2):\n        s = 0.5 * s\n" \
           "    return s * x\n"
    assert compile_module(text).gradient(2.0, 5) == (2.5, (1.25,))


def test_one_over_a_zero_dimension_is_nan_with_a_warning() -> None:
    """R28: ``1 / n`` in the gradient raised ZeroDivisionError; forward gave nan, warning."""
    module = compile_module("def loss(X: (n, d), w: (d,)):\n    return sum(X @ w) / n\n")
    X, w = np.zeros((0, 2)), np.ones(2)
    with pytest.warns(RuntimeWarning):
        value, (X_bar, w_bar) = module.gradient(X, w)
    assert math.isnan(value) and X_bar.shape == (0, 2)
    np.testing.assert_array_equal(w_bar, [0.0, 0.0])  # sum over no rows


def test_one_over_a_zero_int_input_is_inf_with_a_warning() -> None:
    module = compile_module("def f(x, N: int):\n    return x * (1 / N) + N ^ -1\n")
    assert module.gradient(2.0, 4) == (0.75, (0.25,))
    with pytest.warns(RuntimeWarning):
        assert module.gradient(2.0, 0) == (math.inf, (math.inf,))


# ---- constant folding computes what the generated code would -----------------------------------

def test_softplus_of_a_large_constant_is_folded_without_overflow() -> None:
    """R12: folded as log1p(exp(1000)) = inf; the runtime's logaddexp gives 1000."""
    assert compile_module("f(x) = x + softplus(1000)").gradient(2.0) == (1002.0, (1.0,))
    value = compile_module("f(x) = x + softplus(-1000) + sigmoid(-1000)").forward(2.0)
    assert value == 2.0


# ---- no NaN partials where the value is defined ------------------------------------------------

@pytest.mark.parametrize("x, y, expected", [
    (0.0, 2.0, (0.0, (0.0, 0.0))),  # as JAX: log(0) counts as 0 where 0^y is constant in y
    (0.0, 0.0, (1.0, (0.0, 0.0))),  # x^0 is 1 for every x: no slope in x
    (1.5, 2.5, (1.5**2.5, (2.5 * 1.5**1.5, 1.5**2.5 * math.log(1.5)))),
])
def test_pow_at_a_zero_base(x: float, y: float, expected: tuple) -> None:
    """R13: ``x ^ y`` at (0, 2) gave a NaN partial in y (0 * log 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # both sides of a where are computed
        value, partials = compile_module("f(x, y) = x ^ y").gradient(x, y)
    assert flat((value, partials)) == pytest.approx(flat(expected), rel=1e-14)


def test_hypot_at_the_origin() -> None:
    """R14: hypot at (0, 0) gave NaN partials (0 / 0); 0 like norm."""
    assert compile_module("f(x, y) = hypot(x, y)").gradient(0.0, 0.0) == (0.0, (0.0, 0.0))
    assert compile_module("f(x, y) = hypot(x, y)").gradient(0.0, -0.0) == (0.0, (0.0, -0.0))
    assert flat(compile_module("f(x, y) = hypot(x, y)").gradient(3.0, 4.0)) == \
        pytest.approx([5.0, 0.6, 0.8])
    assert flat(compile_module("f(x, y) = atan2(x, y)").gradient(1.0, 2.0)) == \
        pytest.approx([math.atan2(1.0, 2.0), 2 / 5, -1 / 5])


# ---- a where mask stays where the entries are ----------------------------------------------------

def test_where_over_a_matmul_against_central_differences() -> None:
    """R05: the mask M > 0 was pushed back through the matmul and the tanh into d/dH."""
    module = compile_module("def f(W: (n, n), H: (n, n), M: (n, n)):\n"
                            "    return sum(where(M > 0, W @ tanh(H), 0))\n")
    rng = np.random.default_rng(5)
    W, H = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    M = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, 1.0, -1.0]])
    _, (dW, dH, dM) = module.gradient(W, H, M)
    for k, partial in ((0, dW), (1, dH)):
        expected = entrywise_differences(module.forward, (W, H, M), k)
        np.testing.assert_allclose(partial, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(dM, np.zeros((3, 3)))


def test_where_over_a_softmax_by_hand() -> None:
    """R06: f = s0 for b0 <= 0 < b1 with s = softmax(2b): d/db = (2 s0 s1, -2 s0 s1)."""
    module = compile_module("def f(b: (k,)):\n    return sum(where(b <= 0, softmax(2 * b), 0.0))\n")
    b = np.array([-1.0, 0.5])
    s = np.exp(2 * b) / np.sum(np.exp(2 * b))
    value, (db,) = module.gradient(b)
    assert value == pytest.approx(s[0], rel=1e-14)
    np.testing.assert_allclose(db, [2 * s[0] * s[1], -2 * s[0] * s[1]], rtol=1e-12)
    np.testing.assert_allclose(db, entrywise_differences(module.forward, (b,), 0), rtol=1e-6)


# ---- the results keep the inputs' shape ----------------------------------------------------------

def test_an_input_reassigned_in_a_loop_keeps_its_shape_in_the_results() -> None:
    """R30: the loop's result took the input's name, and _finish read the shape from it."""
    module = compile_module("def f(z):\n    for i in range(2):\n        z = 2.5\n    return z\n")
    value, (dz,) = module.gradient(np.ones(3))
    np.testing.assert_array_equal(value, [2.5, 2.5, 2.5])
    np.testing.assert_array_equal(dz, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(module.forward(np.ones(3)), [2.5, 2.5, 2.5])
    assert module.gradient(1.0) == (2.5, (0.0,))


# ---- the symbolic route converts SymPy's forms back, or refuses --------------------------------

def symbolic(text: str):
    return compile_source(text, "prog.txt", method="symbolic").module


@pytest.mark.parametrize("point, expected", [
    ((1.0, 5.0, 1.0), (7.0, (0.0, 1.0, 0.0))),   # c < 2: y = 5 > 3, so 2 + y
    ((1.0, 2.0, 1.0), (3.0, (0.0, 1.0, 0.0))),   # y = 2 < 3, so 1 + y
    ((4.0, 2.0, 3.0), (4.0, (0.0, 1.0, 0.0))),   # c >= 2: x = 4 > 3, so 2 + y
])
def test_symbolic_conditional_expression(point: tuple, expected: tuple) -> None:
    """R23: SymPy's ITE (an if-then-else of conditions) had no conversion."""
    module = symbolic("f(x, y, c) = (2 if 3 < where(c < 2, y, x) else 1) + y")
    assert module.gradient(*point) == expected


@pytest.mark.parametrize("x", [0.3, -0.5, 0.9])
def test_symbolic_abs_of_asin(x: float) -> None:
    """R24: SymPy's derivative of |asin x| holds re() and im() (asin may be complex)."""
    value, (dx,) = symbolic("f(x) = abs(asin(x))").gradient(x)
    assert value == pytest.approx(abs(math.asin(x)), rel=1e-14)
    assert dx == pytest.approx(math.copysign(1.0, x) / math.sqrt(1 - x * x), rel=1e-12)


def test_symbolic_sign_of_a_quotient() -> None:
    """R25: SymPy leaves d sign(x/y) / dx undone; gradgen's sign' is 0."""
    module = symbolic("f(x, y) = sign(x / y)")
    assert module.gradient(1.0, 2.0) == (1.0, (0.0, 0.0))
    assert module.gradient(1.0, -2.0) == (-1.0, (0.0, 0.0))


def test_symbolic_complex_constant_is_nan_not_complex() -> None:
    """R26: acosh(0) is I*pi/2 to SymPy; NumPy's real acosh gives NaN, and so does min."""
    value, (dx,) = symbolic("f(x) = min(2, acosh(x - x))").gradient(1.0)
    assert isinstance(value, float) and math.isnan(value)
    assert isinstance(dx, float)


@pytest.mark.parametrize("point, expected", [
    ((1.0, 2.0), (1.0, (1.0, 0.0))),     # log 2 < 1
    ((0.5, 2.0), (10.0, (0.0, 0.0))),    # log 2 > 0.5
    ((1.0, -1.0), (1.0, (1.0, 0.0))),    # log(relu(-1)) = -inf < 1 (SymPy: zoo)
])
def test_symbolic_log_of_relu_in_a_condition(point: tuple, expected: tuple) -> None:
    """R27: SymPy folded relu's Piecewise into the condition and compared zoo."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0)
        assert symbolic("f(x, y) = x if log(relu(y)) < x else 10").gradient(*point) == expected

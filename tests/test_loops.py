"""Programs with loops, branches and helper functions, from source to module.

Every gradient is checked against central differences and, for loops, against the same program
unrolled by hand (generated here as straight-line source), for trip counts including 0 and 1.
Errors are checked with their exact located messages.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import entrywise_differences as numeric

from gradgen.errors import CompileError, LimitError
from gradgen.pipeline import compile_source

RNG = np.random.default_rng(6)


def module(text: str, **options):
    return compile_source(text, "loops.txt", **options).module


def check_against_differences(m, args: list, skip: tuple[int, ...] = ()) -> None:
    value, partials = m.gradient(*args)
    assert value == pytest.approx(m.forward(*args), rel=1e-14, abs=1e-14)
    for k, partial in enumerate(partials):
        if k not in skip:
            np.testing.assert_allclose(partial, numeric(m.forward, args, k), rtol=1e-6,
                                       atol=1e-7)


# ---- loops against the same program unrolled -------------------------------------------------

SUM_OF_SQUARES = """def f(x: (n,), w):
    s = 0
    for i in range(n):
        s += w * x[i]^2
    return s
"""


def unrolled_sum_of_squares(n: int) -> str:
    lines = ["def f(x: (n,), w):", "    s = 0"]
    lines += [f"    s = s + w * x[{i}]^2" for i in range(n)]
    return "\n".join(lines + ["    return s", ""])


RECURRENCE = """def f(a: (T,), b, c0):
    c = c0
    for t in range(1, T):
        c = sin(c * b) + a[t] * c + a[t - 1]
    return c
"""


def unrolled_recurrence(T: int) -> str:
    lines = ["def f(a: (T,), b, c0):", "    c = c0"]
    lines += [f"    c = sin(c * b) + a[{t}] * c + a[{t - 1}]" for t in range(1, T)]
    return "\n".join(lines + ["    return c", ""])


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_loop_gradient_equals_the_unrolled_program(n: int) -> None:
    x, w = RNG.normal(size=n), 0.7
    looped, unrolled = module(SUM_OF_SQUARES), module(unrolled_sum_of_squares(n))
    value, (dx, dw) = looped.gradient(x, w)
    expected_value, (ex, ew) = unrolled.gradient(x, w)
    assert value == pytest.approx(expected_value, rel=1e-14, abs=1e-14)
    np.testing.assert_allclose(dx, ex, rtol=1e-14)
    assert dw == pytest.approx(ew, rel=1e-14, abs=1e-14)
    check_against_differences(looped, [x, w])


@pytest.mark.parametrize("T", [1, 2, 3, 8])
def test_recurrence_with_offsets_equals_the_unrolled_program(T: int) -> None:
    args = [RNG.normal(size=T), 0.8, 0.3]
    looped, unrolled = module(RECURRENCE), module(unrolled_recurrence(T))
    value, partials = looped.gradient(*args)
    expected_value, expected = unrolled.gradient(*args)
    assert value == pytest.approx(expected_value, rel=1e-13)
    for got, want in zip(partials, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    check_against_differences(looped, args)


def test_nested_loops_and_array_carried_values() -> None:
    text = """def f(A: (n, n), v: (n,), K):
    x = v
    total = 0
    for k in range(K):
        for i in range(n):
            total += x[i] * A[i, i]
        x = tanh(A @ x)
    return total + sum(x^2)
"""
    m = module(text)
    A, v = RNG.normal(size=(3, 3)) / 2, RNG.normal(size=3)
    for K in (0, 1, 3):
        check_against_differences(m, [A, v, float(K)], skip=(2,))


def test_scalar_loop_program_maps_over_arrays() -> None:
    m = module("def f(a, x0):\n    x = x0\n    for k in range(6):\n"
               "        x = 0.5 * (x + a / x)\n    return x\n")
    a = np.array([2.0, 9.0, 0.25])
    value, (da, dx0) = m.gradient(a, 1.0)
    np.testing.assert_allclose(value, np.sqrt(a), rtol=1e-6)
    np.testing.assert_allclose(da, 0.5 / np.sqrt(a), rtol=1e-4)


def test_generated_code_does_not_grow_with_the_trip_count() -> None:
    sizes = {len(compile_source(SUM_OF_SQUARES.replace("range(n)", f"range({count})"),
                                "loops.txt").source) for count in (2, 2000)}
    assert max(sizes) - min(sizes) <= 3 * 8  # only the digits of the count differ


def test_the_reverse_loop_reads_a_tape_the_forward_loop_filled() -> None:
    source = compile_source(RECURRENCE, "loops.txt").source
    gradient = source[source.index("def gradient"):source.index("def vjp")]
    assert "for t in range(1, T):" in gradient and "for t in reversed(range(1, T)):" in gradient
    assert "= [None] * (T - 1)" in gradient
    assert "a_bar[t] += " in gradient  # a[t]'s adjoint goes straight into its entry


# ---- branches ---------------------------------------------------------------------------------

BRANCHES = """def f(x, y):
    if x > y:
        z = x * y
    elif x > 0:
        z = sin(x) + y
    else:
        z = y^2
    return z * x
"""


@pytest.mark.parametrize("point", [(2.0, 1.0), (0.5, 1.0), (-1.0, 0.5)])
def test_if_elif_else_takes_the_branch_its_condition_chooses(point) -> None:
    m = module(BRANCHES)
    x, y = point
    z = x * y if x > y else (np.sin(x) + y if x > 0 else y * y)
    assert m.forward(x, y) == pytest.approx(z * x)
    check_against_differences(m, [x, y])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_branch_not_taken_contributes_an_exact_zero() -> None:
    m = module("def f(x):\n    if x > 0:\n        y = log(x)\n    else:\n        y = 0\n"
               "    return y\n")
    assert m.gradient(0.0) == (0.0, (0.0,))
    assert m.gradient(-1.0) == (0.0, (0.0,))
    assert m.gradient(2.0)[1][0] == pytest.approx(0.5)


def test_array_condition_selects_entrywise_inside_a_loop() -> None:
    text = """def f(x: (n,), K):
    y = x
    for k in range(K):
        if y > 0:
            y = y * 0.5
        else:
            y = y - 1
    return sum(y^2)
"""
    m = module(text)
    x = np.array([3.0, -0.5, 0.7, 2.0])
    check_against_differences(m, [x, 3.0], skip=(1,))


# ---- helper functions --------------------------------------------------------------------------

HELPERS = """def step(x, a):
    return 0.5 * (x + a / x)

def affine(X: (n, d), W: (d, k)):
    return X @ W

def f(a, X: (m, e), W: (e, p)):
    x = 1
    for k in range(5):
        x = step(x, a)
    return x * sum(affine(X, W))
"""


def test_helpers_are_lowered_where_they_are_called() -> None:
    m = module(HELPERS)
    args = [2.0, RNG.normal(size=(3, 2)), RNG.normal(size=(2, 4))]
    check_against_differences(m, args)
    assert module(HELPERS, entry="step").forward(1.0, 2.0) == 1.5


# ---- whole-number inputs: N: int ------------------------------------------------------------

WHOLE_INPUT = """def f(x: (n,), a, N: int):
    y = a
    for i in range(N):
        y = y * x[i] + 1
    return y
"""


def whole_input_reference(x, a, N):
    y = a
    for i in range(int(N)):
        y = y * x[i] + 1
    return y


@pytest.mark.parametrize("N", [0, 1, 3])
def test_a_whole_number_input_is_held_and_not_differentiated(N: int) -> None:
    m = module(WHOLE_INPUT)
    assert m.INPUTS == ("x", "a", "N") and m.WRT == ("x", "a")
    x, a = RNG.normal(size=4), 0.7
    value, (x_bar, a_bar) = m.gradient(x, a, N)
    assert value == pytest.approx(whole_input_reference(x, a, N), rel=1e-14)
    np.testing.assert_allclose(x_bar, numeric(lambda *v: whole_input_reference(*v, N), [x, a], 0),
                               rtol=1e-6, atol=1e-7)
    assert a_bar == pytest.approx(np.prod(x[:N]), rel=1e-12)  # d y_N / d a


def test_a_whole_number_input_must_be_whole_and_is_not_a_wrt() -> None:
    m = module(WHOLE_INPUT)
    with pytest.raises(ValueError, match="whole number, got 2.5"):
        m.forward(np.ones(3), 1.0, 2.5)
    assert m.forward(np.ones(3), 1.0, 2.0) == 3.0  # 2.0 is whole: two steps of y + 1
    with pytest.raises(ValueError, match=r"'N' is a whole number \(N: int\): it has no "):
        compile_source(WHOLE_INPUT, "whole.txt", wrt=("x", "N"))


def test_check_holds_a_whole_number_input() -> None:
    from gradgen.tools.check import check

    result = check(WHOLE_INPUT, "whole.txt", dims={"n": 4})
    assert result.passed and result.worst_error < 1e-6


def test_a_helper_takes_a_whole_number() -> None:
    text = ("def power(x, k: int):\n    y = 1\n    for i in range(k):\n        y = y * x\n"
            "    return y\n\ndef f(x, N: int):\n    return power(x, N) + power(x, 2)\n")
    m = module(text)
    value, (dx,) = m.gradient(1.3, 3)
    assert value == pytest.approx(1.3**3 + 1.3**2, rel=1e-14)
    assert dx == pytest.approx(3 * 1.3**2 + 2 * 1.3, rel=1e-14)


# ---- errors --------------------------------------------------------------------------------

ERRORS = [
    ("def f(x):\n    for i in range(3):\n        y = x * i\n    return y\n", 4, 12,
     "'y' is assigned only inside the loop (at 3:9); give it a value before the loop"),
    ("def f(x: (n,)):\n    s = 0\n    for i in range(n):\n        s = s + x\n    return s\n",
     4, 9, "'s' changes from shape () to shape (n,) in one step of the loop"),
    ("def f(x):\n    for i in range(2.5):\n        x = x * 2\n    return x\n", 2, 20,
     "the loop's stop must be a whole number, a dimension or an integer input"),
    ("def f(x):\n    for i in range(3):\n        i = x\n    return x\n", 3, 9,
     "the loop variable 'i' cannot be assigned in the loop"),
    ("def f(x):\n    if x:\n        x = 1\n    return x\n", 2, 8,
     "'if' expects a condition such as 'x > 0', got a number"),
    ("def f(x):\n    if x > 0:\n        y = 1\n    return y\n", 4, 12,
     "'y' is assigned in only one side of the 'if' (at 3:9); give it a value before the 'if'"),
    ("def f(x: (n,)):\n    if x > 0:\n        y = x\n    else:\n        z = x\n"
     "    return sum(z)\n", 6, 16, "'z' is assigned in only one side of the 'if' (at 5:9)"),
    ("def g(x):\n    return f(x)\n\ndef f(x):\n    return g(x) + 1\n", 2, 12,
     "recursion is not supported: f -> g -> f"),
    ("def g(x: (2,)):\n    return sum(x)\n\ndef f(y: (3,)):\n    return g(y)\n", 5, 14,
     "argument x of g has shape (3,), expected (2,)"),
    ("def g(x):\n    return x\n\ndef f(y):\n    return g(y, y)\n", 5, 12,
     "g takes 1 argument, got 2"),
    ("def g(x, k: int):\n    return x\n\ndef f(y: (2,)):\n    return g(y, y)\n", 5, 17,
     "argument k of g is a whole number (int), got shape (2,)"),
]


@pytest.mark.parametrize("text, line, col, message", ERRORS, ids=[m[:40] for *_, m in ERRORS])
def test_program_errors_are_located(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_source(text, "bad.txt")
    error = caught.value
    assert (error.line, error.col) == (line, col), error.format()
    assert error.message.startswith(message), error.message


@pytest.mark.parametrize("options", [{"method": "symbolic"}])  # forward mode takes them
def test_straight_line_routes_decline_loops(options) -> None:
    with pytest.raises(LimitError, match="straight-line functions only"):
        compile_source("def f(x):\n    for i in range(3):\n        x = sin(x)\n    return x\n",
                       "loops.txt", **options)


def test_a_trip_count_passed_as_a_number_must_be_whole() -> None:
    m = module("def f(x, N):\n    for i in range(N):\n        x = x * 2\n    return x\n")
    assert m.forward(1.0, 3) == 8.0
    with pytest.raises(ValueError, match="must be a whole number, got 2.5"):
        m.forward(1.0, 2.5)


def test_check_holds_trip_counts_given_with_dims(tmp_path, capsys) -> None:
    from gradgen.cli import main

    source = tmp_path / "steps.txt"
    source.write_text("def f(x: (2,), N):\n    for i in range(N):\n        x = sin(x) * 1.5\n"
                      "    return sum(x)\n", "utf-8")
    assert main(["check", str(source), "--dims", "N=4"]) == 0
    assert capsys.readouterr().out.startswith("ok: gradient of f")
    assert main(["check", str(source)]) == 2
    assert "give integer inputs (trip counts) a value with --dims" in capsys.readouterr().err

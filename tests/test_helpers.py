"""Helper functions: the other ``def``s of a file, compiled as functions of the module.

The module defines each helper once per argument signature (``def sigmoid(z):``, and for the
gradient ``sigmoid_record``/``sigmoid_vjp``) and calls it instead of inlining it. Checked here
against independent oracles (central differences, formulas derived by hand, plain NumPy): the
helper functions themselves; gradients of helpers called twice, in a loop (0, 1, 5 trips), from
a branch, from another helper, on arrays of two shapes, helpers with a loop or an ``if``, a
constant helper; helpers named like module globals and builtins; forward mode and
the symbolic method (which inline) against reverse mode; located errors; deterministic output;
``entry=`` a helper.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_loops import check_against_differences, module

from gradgen.errors import CompileError, LimitError
from gradgen.pipeline import compile_source

RNG = np.random.default_rng(11)

SIGMOID = """def sigmoid(z):
    return 1 / (1 + exp(-z))

def f(x, y):
    return sigmoid(x * y) + sigmoid(x - y) * y
"""


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def defined(source: str, name: str) -> int:
    """How many times the module defines the function ``name`` (not the quoted source)."""
    return len(re.findall(rf"^def {re.escape(name)}\(", source, re.MULTILINE))


def body(source: str, name: str) -> str:
    """The text of the module-level function ``name``."""
    start = source.index(f"\ndef {name}(")
    end = source.find("\ndef ", start + 1)
    return source[start:end]


# ---- the helpers are functions of the module --------------------------------------------------

def test_each_helper_is_defined_once_and_called_not_inlined() -> None:
    source = compile_source(SIGMOID, "helpers.txt").source
    for name in ("sigmoid", "sigmoid_record", "sigmoid_vjp"):
        assert defined(source, name) == 1, name
    forward, gradient = body(source, "forward"), body(source, "gradient")
    assert forward.count("sigmoid(") == 2 and "xp.exp" not in forward
    assert gradient.count("sigmoid_record(") == 2 and gradient.count("sigmoid_vjp(") == 2
    assert "xp.exp" not in gradient and "xp.exp" in body(source, "sigmoid")
    looped = compile_source(STEP_IN_A_LOOP, "helpers.txt").source  # called at every step
    assert defined(looped, "step") == 1 and defined(looped, "step_vjp") == 1
    assert "step_vjp(" in body(looped, "gradient") and "a / x" not in body(looped, "gradient")


def test_the_helper_functions_give_the_value_and_its_partial() -> None:
    m = module(SIGMOID)
    for z in (0.3, -2.0, np.array([-1.0, 0.0, 4.0])):
        np.testing.assert_allclose(m.sigmoid(z), sigmoid(z), rtol=1e-15)
        np.testing.assert_allclose(m.sigmoid_record(z)[0], sigmoid(z), rtol=1e-15)
    x, y = 0.7, -0.4
    value, (dx, dy) = m.gradient(x, y)
    s1, s2 = sigmoid(x * y), sigmoid(x - y)
    assert value == pytest.approx(s1 + s2 * y, rel=1e-15)
    assert dx == pytest.approx(s1 * (1 - s1) * y + s2 * (1 - s2) * y, rel=1e-13)
    assert dy == pytest.approx(s1 * (1 - s1) * x - s2 * (1 - s2) * y + s2, rel=1e-13)
    check_against_differences(m, [x, y])


def test_the_vjp_takes_what_the_record_returns() -> None:
    m, z = module(SIGMOID), 0.3
    pulled = m.sigmoid_vjp(z, *m.sigmoid_record(z), 2.5)
    assert pulled == pytest.approx(2.5 * sigmoid(z) * (1 - sigmoid(z)), rel=1e-15)


def test_a_vjp_that_reads_the_arguments_or_the_value_needs_no_record() -> None:
    text = ("def prod(x, y):\n    return x * y + x\n\ndef e(z):\n    return exp(z)\n\n"
            "def f(a, b):\n    return prod(a, b) + e(prod(b, a))\n")
    source = compile_source(text, "helpers.txt").source
    assert defined(source, "prod_vjp") == 1 and defined(source, "e_vjp") == 1
    assert "_record" not in source
    m = module(text)  # a vjp takes the value after the arguments where it reads it
    assert tuple(m.prod_vjp(1.5, -2.0, 3.0)) == (3.0 * (-2.0 + 1), 3.0 * 1.5)
    assert m.e_vjp(0.4, m.e(0.4), 3.0) == pytest.approx(3.0 * np.exp(0.4), rel=1e-15)
    check_against_differences(m, [1.5, -2.0])


# ---- gradients of programs with helpers ------------------------------------------------------

STEP_IN_A_LOOP = ("def step(x, a):\n    return 0.5 * (x + a / x)\n\ndef f(a, x0, N):\n"
                  "    x = x0\n    for k in range(N):\n        x = step(x, a) + 0.1 * x\n"
                  "    return x\n")


@pytest.mark.parametrize("N", [0, 1, 5])
def test_a_helper_called_in_a_loop(N: int) -> None:
    m = module(STEP_IN_A_LOOP)
    a, x0 = 2.0, 1.3
    x = x0
    for _ in range(N):
        x = 0.5 * (x + a / x) + 0.1 * x
    assert m.forward(a, x0, N) == pytest.approx(x, rel=1e-14)
    if N == 0:
        assert m.gradient(a, x0, N)[1][:2] == (0.0, 1.0)
    check_against_differences(m, [a, x0, N], skip=(2,))


def test_a_helper_with_a_loop_of_its_own() -> None:
    text = ("def root(a):\n    x = a\n    for k in range(6):\n        x = 0.5 * (x + a / x)\n"
            "    return x\n\ndef f(a, b):\n    return root(a) * b + root(b)\n")
    m = module(text)
    a, b = 2.0, 3.0
    value, (da, db) = m.gradient(a, b)
    assert value == pytest.approx(np.sqrt(a) * b + np.sqrt(b), rel=1e-12)
    assert da == pytest.approx(b / (2 * np.sqrt(a)), rel=1e-8)
    assert db == pytest.approx(np.sqrt(a) + 1 / (2 * np.sqrt(b)), rel=1e-8)
    check_against_differences(m, [a, b])


LEAKY = """def leaky(x):
    if x > 0:
        y = x
    else:
        y = 0.1 * x
    return y

def f(a, b):
    return leaky(a * b) + leaky(a - b)
"""


@pytest.mark.parametrize("a, b", [(1.5, 0.5), (1.5, -0.5), (-1.0, 2.0), (-1.0, -2.0)])
def test_a_helper_with_an_if(a: float, b: float) -> None:
    m = module(LEAKY)
    slope = lambda u: 1.0 if u > 0 else 0.1  # noqa: E731
    value, (da, db) = m.gradient(a, b)
    assert value == pytest.approx(slope(a * b) * a * b + slope(a - b) * (a - b), rel=1e-15)
    assert da == pytest.approx(slope(a * b) * b + slope(a - b), rel=1e-15)
    assert db == pytest.approx(slope(a * b) * a - slope(a - b), rel=1e-15)
    check_against_differences(m, [a, b])


def test_a_helper_called_from_a_branch() -> None:
    text = ("def sq(x):\n    return x * x\n\ndef f(a, b):\n    if a > b:\n"
            "        y = sq(a) * b\n    else:\n        y = sin(sq(b))\n    return y\n")
    m = module(text)
    assert m.gradient(1.3, 0.4)[1] == pytest.approx((2 * 1.3 * 0.4, 1.3**2), rel=1e-15)
    assert m.gradient(0.3, 0.4)[1] == pytest.approx((0.0, np.cos(0.16) * 0.8), rel=1e-15)
    for point in ([1.3, 0.4], [0.3, 0.4]):
        check_against_differences(m, point)


def test_a_helper_calling_another_helper() -> None:
    text = ("def sq(x):\n    return x * x\n\ndef g(x, y):\n    return sq(x) * sin(y)\n\n"
            "def f(a, b):\n    return g(a, b) + g(b, a)\n")
    source = compile_source(text, "helpers.txt").source
    assert "sq(x)" in body(source, "g") and "sq_vjp(" in body(source, "g_vjp")
    m = module(text)
    a, b = 0.8, -1.7
    value, (da, db) = m.gradient(a, b)
    assert value == pytest.approx(a * a * np.sin(b) + b * b * np.sin(a), rel=1e-15)
    assert da == pytest.approx(2 * a * np.sin(b) + b * b * np.cos(a), rel=1e-14)
    assert db == pytest.approx(a * a * np.cos(b) + 2 * b * np.sin(a), rel=1e-14)
    check_against_differences(m, [a, b])


AFFINE = """def affine(X: (n, d), W: (d, k)):
    return tanh(X @ W)

def f(A: (m, e), B: (n, e), W: (e, p)):
    return sum(affine(A, W)) + sum(affine(B, W)^2) + sum(affine(A, W) * 0.5)
"""


def test_a_helper_of_arrays_is_specialized_per_shape() -> None:
    source = compile_source(AFFINE, "helpers.txt").source
    assert len(re.findall(r"^def affine_*\(", source, re.MULTILINE)) == 2
    assert len(re.findall(r"^def affine_*_vjp\(", source, re.MULTILINE)) == 2
    m = module(AFFINE)
    A, B, W = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=(3, 5))
    expected = 1.5 * np.tanh(A @ W).sum() + (np.tanh(B @ W) ** 2).sum()
    assert m.forward(A, B, W) == pytest.approx(expected, rel=1e-14)
    tA, tB = np.tanh(A @ W), np.tanh(B @ W)
    gA, gB = 1.5 * (1 - tA**2), 2 * tB * (1 - tB**2)  # d value / d (X @ W)
    value, (dA, dB, dW) = m.gradient(A, B, W)
    np.testing.assert_allclose(dA, gA @ W.T, rtol=1e-13)
    np.testing.assert_allclose(dB, gB @ W.T, rtol=1e-13)
    np.testing.assert_allclose(dW, A.T @ gA + B.T @ gB, rtol=1e-13)
    check_against_differences(m, [A, B, W])


def test_a_constant_helper_and_an_ignored_argument_have_zero_partials() -> None:
    text = ("def c(x, y):\n    return 3\n\ndef h(x, y):\n    return x^2\n\n"
            "def f(a, b):\n    return c(a, b) * a + h(a, b) * b + h(b, a)\n")
    m = module(text)
    assert m.c(1.0, 2.0) == 3 and tuple(m.c_vjp(1.0, 2.0, 1.0)) == (0, 0)
    assert tuple(m.h_vjp(1.5, 2.0, 2.0)) == (6.0, 0)
    a, b = 1.5, -0.5
    value, (da, db) = m.gradient(a, b)
    assert value == pytest.approx(3 * a + a * a * b + b * b, rel=1e-15)
    assert (da, db) == pytest.approx((3 + 2 * a * b, a * a + 2 * b), rel=1e-15)
    check_against_differences(m, [a, b])


# ---- names -------------------------------------------------------------------------------------

NAMED = {"forward": "2 * x", "gradient": "x^2", "np": "sin(x)", "vjp": "3 * x",
         "f_gradient": "x^3"}
GLOBALS = "".join(f"def {name}(x):\n    return {body}\n\n" for name, body in NAMED.items()) \
    + "def f(a):\n    return " + " + ".join(f"{name}(a)" for name in NAMED) + "\n"


def test_helpers_named_like_module_globals() -> None:
    m = module(GLOBALS)
    a = 0.6
    assert m.forward(a) == pytest.approx(5 * a + a**2 + np.sin(a) + a**3, rel=1e-15)
    value, (da,) = m.gradient(a)
    assert da == pytest.approx(5 + 2 * a + np.cos(a) + 3 * a**2, rel=1e-15)
    assert m.vjp(a, 2.0)[1] == pytest.approx((2 * da,), rel=1e-15)
    assert m.np is np and m.f is m.forward and m.f_gradient is m.gradient
    assert (m.forward_(a), m.gradient_(a), m.vjp_(a)) == (2 * a, a**2, 3 * a)
    check_against_differences(m, [a])


SHADOWING = """def NAME(x):
    return x * x

def f(x: (n,), a, N):
    s = a
    for k in range(N):
        for i in range(n):
            s = s + NAME(x[i]) * a
    return s
"""


@pytest.mark.parametrize("name", ["sq", "float", "int", "tuple", "len", "zip", "range",
                                  "reversed", "isinstance", "_whole", "_add_at"])
def test_helpers_named_like_builtins_or_runtime_functions(name: str) -> None:
    m = module(SHADOWING.replace("NAME", name))
    x, a = np.array([0.5, -1.0, 2.0]), 0.5
    value, (dx, da, _) = m.gradient(x, a, 2)
    assert value == pytest.approx(a + 2 * a * np.sum(x**2), rel=1e-14)
    np.testing.assert_allclose(dx, 4 * a * x, rtol=1e-14)
    assert da == pytest.approx(1 + 2 * np.sum(x**2), rel=1e-14)


# ---- the straight-line routes inline helpers --------------------------------------------------

STRAIGHT = SIGMOID.split("def f")[0] + ("def g(x, y):\n    return sigmoid(x) * y\n\n"
                                        "def f(a, b):\n    return g(a, b) + sigmoid(a - b)\n")


@pytest.mark.parametrize("options", [{"method": "symbolic"}])  # forward mode takes them
def test_forward_mode_and_the_symbolic_method_agree_with_reverse_mode(options) -> None:
    other = compile_source(STRAIGHT, "helpers.txt", **options)
    assert defined(other.source, "sigmoid") == 0  # inlined
    reverse, m = module(STRAIGHT), other.load()
    for a, b in [(0.3, 0.7), (-1.2, 0.4), (2.0, -3.0)]:
        value, partials = m.gradient(a, b)
        expected_value, expected = reverse.gradient(a, b)
        sa, sd = sigmoid(a), sigmoid(a - b)
        assert value == pytest.approx(expected_value, rel=1e-14)
        assert value == pytest.approx(sa * b + sd, rel=1e-14)
        assert partials == pytest.approx(expected, rel=1e-12)
        assert partials == pytest.approx((sa * (1 - sa) * b + sd * (1 - sd),
                                          sa - sd * (1 - sd)), rel=1e-12)


@pytest.mark.parametrize("options", [{"method": "symbolic"}])  # forward mode takes them
def test_straight_line_routes_decline_a_helper_with_a_loop(options) -> None:
    text = "def g(x):\n    for i in range(3):\n        x = sin(x)\n    return x\n\n" \
           "def f(a):\n    return g(a)\n"
    with pytest.raises(LimitError, match="straight-line functions only"):
        compile_source(text, "helpers.txt", **options)


# ---- errors ------------------------------------------------------------------------------------

ERRORS = [
    ("def g(x):\n    return g(x) + 1\n\ndef f(y):\n    return g(y)\n", 2, 12,
     "recursion is not supported: g -> g"),
    ("def g(x):\n    y = x\n    for i in range(3):\n        y = h(y)\n    return y\n\n"
     "def h(x):\n    return g(x) * 2\n\ndef f(y):\n    return h(y)\n", 4, 13,
     "recursion is not supported: h -> g -> h"),
    ("def g(x, y):\n    return x * y\n\ndef f(a):\n    s = a\n    for i in range(3):\n"
     "        s = g(s)\n    return s\n", 7, 13, "g takes 2 arguments, got 1"),
    ("def affine(X: (n, d), W: (d, k)):\n    return X @ W\n\n"
     "def f(A: (m, 2), B: (3, 4)):\n    return sum(affine(A, B))\n", 5, 26,
     "argument W of affine has shape (3, 4), expected (d, k)"),
    ("def g(x: (n,)):\n    return sum(x)\n\ndef f(a):\n    return g(a)\n", 5, 14,
     "argument x of g has shape (), expected (n,)"),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("text, line, col, message", ERRORS, ids=[m[:40] for *_, m in ERRORS])
def test_helper_errors_are_located(text: str, line: int, col: int, message: str,
                                   mode: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_source(text, "bad.txt", mode=mode)
    error = caught.value
    assert (error.line, error.col) == (line, col), error.format()
    assert error.message.startswith(message), error.message


def test_an_unknown_name_in_a_helper_names_the_helpers_parameters() -> None:
    with pytest.raises(CompileError) as caught:
        compile_source("def g(z):\n    return z * q\n\ndef f(x, q):\n    return g(x)\n",
                       "bad.txt")
    assert (caught.value.line, caught.value.col) == (2, 16)
    assert "inputs are x, q" not in caught.value.message, caught.value.message


# ---- determinism and entry= --------------------------------------------------------------------

MIXED = (SIGMOID.split("def f")[0] + AFFINE.split("def f")[0]
         + "def forward(x):\n    return sigmoid(2 * x)\n\n"
         "def f(A: (m, e), B: (n, e), W: (e, p), N):\n    s = 0\n    for i in range(N):\n"
         "        s = s + sum(sigmoid(affine(A, W))) + forward(sum(affine(B, W)) * s)\n"
         "    return s\n")


def test_the_generated_source_is_deterministic() -> None:
    texts = {compile_source(MIXED, "helpers.txt").source for _ in range(2)}
    script = ("import sys; from gradgen.pipeline import compile_source; "
              "sys.stdout.write(compile_source(sys.stdin.read(), 'helpers.txt').source)")
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        texts.add(subprocess.run([sys.executable, "-c", script], input=MIXED, env=env,
                                 cwd=Path(__file__).parent.parent, capture_output=True,
                                 text=True, check=True).stdout)
    assert len(texts) == 1
    m = module(MIXED)
    A, B, W = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=(3, 2))
    s = 0.0
    for _ in range(3):
        s = s + sigmoid(np.tanh(A @ W)).sum() + sigmoid(2 * np.tanh(B @ W).sum() * s)
    assert m.forward(A, B, W, 3) == pytest.approx(s, rel=1e-14)
    check_against_differences(m, [A, B, W, 3], skip=(3,))


def test_entry_compiles_a_helper_alone() -> None:
    compiled = compile_source(STRAIGHT, "helpers.txt", entry="sigmoid")
    assert defined(compiled.source, "g") == 0 and defined(compiled.source, "sigmoid_vjp") == 0
    m, s = compiled.load(), sigmoid(0.3)
    value, (dz,) = m.gradient(0.3)
    assert m.INPUTS == ("z",) and (value, dz) == pytest.approx((s, s * (1 - s)), rel=1e-14)
    assert defined(compile_source(STRAIGHT, "helpers.txt", entry="g").source, "sigmoid") == 1
    g = module(STRAIGHT, entry="g")
    value, partials = g.gradient(0.3, 2.0)
    assert (value, *partials) == pytest.approx((2 * s, s * (1 - s) * 2.0, s), rel=1e-14)

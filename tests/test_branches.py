"""Real branches: an ``if`` on one number runs only the side its test chooses.

Every program is checked against the same program written in Python/NumPy (values) and
central differences of that (partials): the generated code is a Python ``if`` (a second one
reverses it) and a side not taken is never evaluated; if/elif/else, scalar and with array
results; pass-through, swaps, nesting, no ``else``; branches in loops (trip counts 0, 1, 5)
and loops in branches; scalar modules at arrays, one point at a time; array conditions still
select (``where``, NaN-safe); forward mode and the symbolic method; located errors;
deterministic output; and three programs that once printed wrong code (regressions).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import entrywise_differences as numeric

from gradgen.errors import CompileError
from gradgen.pipeline import compile_source

RNG = np.random.default_rng(11)


def compiled(text: str, **options):
    return compile_source(text, "branches.txt", **options)


def module(text: str, **options):
    return compiled(text, **options).load()


def check_gradient(m, args: list, reference, skip: tuple[int, ...] = ()) -> None:
    """Value and forward equal ``reference`` (the program in Python); every partial equals
    central differences of ``reference``."""
    value, partials = m.gradient(*args)
    assert value == pytest.approx(reference(*args), rel=1e-12, abs=1e-12)
    assert m.forward(*args) == pytest.approx(reference(*args), rel=1e-12, abs=1e-12)
    for k, partial in enumerate(partials):
        if k not in skip:
            np.testing.assert_allclose(partial, numeric(reference, args, k), rtol=1e-6,
                                       atol=1e-7)


def ifs_in(source: str, function: str) -> int:
    start = source.index(f"def {function}(")
    body = source[start:source.index("\ndef ", start + 1)]
    return sum(line.strip().startswith("if ") for line in body.splitlines())


# ---- a real if: only the side taken runs ------------------------------------------------------

GUARDED = """def f(x):
    if x > 0:
        y = log(x) + sqrt(x)
    else:
        y = x * exp(x)
    return y
"""


def test_the_generated_code_branches_and_runs_only_the_side_taken() -> None:
    source = compiled(GUARDED).source
    assert "xp.where" not in source
    assert (ifs_in(source, "forward"), ifs_in(source, "gradient")) == (1, 2)
    m = module(GUARDED)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")  # log and sqrt of x <= 0 would warn or raise
        for x in (-2.0, -1e-300, 0.0):
            value, (dx,) = m.gradient(x)
            assert value == m.forward(x) == pytest.approx(x * math.exp(x), abs=1e-300)
            assert dx == pytest.approx((1 + x) * math.exp(x))
        value, (dx,) = m.gradient(4.0)
    assert (value, dx) == pytest.approx((math.log(4.0) + 2.0, 0.25 + 0.25))


def two_sided(then: str, orelse: str | None, before: str = "") -> str:
    """``def f(x, y)``: ``z = then`` if x > 0, else ``z = orelse`` (no ``else`` for None)."""
    other = f"    else:\n        z = {orelse}\n" if orelse else ""
    return f"def f(x, y):\n{before}    if x > 0:\n        z = {then}\n{other}    return z\n"


# Regression: a side's result that its own adjoint reads (exp(x), a quotient) is read back
# as the result; the other side's placeholder must not overwrite it.
@pytest.mark.parametrize("text, x, expected", [
    (two_sided("exp(x)", "x * y"), -1.0, (-2.0, 2.0)),
    (two_sided("x * y", "exp(x)"), 2.0, (4.0, 2.0)),
    (two_sided("exp(x)", None, "    z = x\n"), -1.0, (-1.0, 1.0)),
    (two_sided("x * y", "y / x"), 1.5, (3.0, 2.0))],
    ids=["then-exp", "else-exp", "no-else-exp", "else-quotient"])
def test_a_result_its_own_adjoint_reads(text, x, expected) -> None:
    value, (dx, _) = module(text).gradient(x, 2.0)
    assert (value, dx) == pytest.approx(expected)


# ---- if / elif / else ---------------------------------------------------------------------

THREE_WAY = """def f(x, y):
    if x > y:
        z = x * y
    elif x > 0:
        z = sin(x) + y^3
    else:
        z = exp(y) / (1 + x^2) + y
    return z * x
"""


def three_way(x, y):
    return x * (x * y if x > y else np.sin(x) + y**3 if x > 0 else np.exp(y) / (1 + x**2) + y)


@pytest.mark.parametrize("point", [(2.0, 1.0), (0.5, 1.0), (-1.0, 0.5), (-0.3, -2.0)])
def test_if_elif_else_gradient_in_every_branch(point) -> None:
    check_gradient(module(THREE_WAY), list(point), three_way)


ARRAYS = """def f(x: (n,), w: (n,)):
    if sum(x) > 0:
        y = x * w
        s = sum(exp(w))
    elif sum(x) > -1:
        y = sin(x) + w
        s = 1
    else:
        y = x^2
        s = sum(w * x)
    return sum(y^2) + s * x[0]
"""


def arrays(x, w):
    if np.sum(x) > 0:
        y, s = x * w, np.sum(np.exp(w))
    elif np.sum(x) > -1:
        y, s = np.sin(x) + w, 1.0
    else:
        y, s = x**2, np.sum(w * x)
    return np.sum(y**2) + s * x[0]


@pytest.mark.parametrize("x", [[1.0, 0.5, -0.2], [0.3, -0.6, -0.2], [-1.0, 0.4, -0.9]])
def test_array_results_under_a_scalar_test(x) -> None:
    check_gradient(module(ARRAYS), [np.array(x), RNG.normal(size=3)], arrays)


# ---- pass-through, swap, nesting, no else -----------------------------------------------------

SWAP = """def f(x, y):
    s = x * y
    if x > y:
        t = x
        x = y
        y = t
        s = s + x
    return x - 2 * y + s * x
"""


def swap(x, y):
    s = x * y
    x, y, s = (y, x, s + y) if x > y else (x, y, s)
    return x - 2 * y + s * x


NESTED = """def f(x, y):
    z = x
    if x > 0:
        if y > 0:
            z = x * y
        else:
            z = x - y^2
    else:
        if y > x:
            z = exp(y) * x
    return z * y
"""


def nested(x, y):
    z = (x * y if y > 0 else x - y**2) if x > 0 else (np.exp(y) * x if y > x else x)
    return z * y


@pytest.mark.parametrize("text, reference", [(SWAP, swap), (NESTED, nested)],
                         ids=["swap-and-pass-through", "nested-and-no-else"])
@pytest.mark.parametrize("point", [(1.5, 0.5), (0.5, 1.5), (2.0, -0.7), (-0.4, 0.8),
                                   (-0.4, -1.3)])
def test_pass_through_swap_nested_and_no_else(text, reference, point) -> None:
    check_gradient(module(text), list(point), reference)


# Regression: a swap in an ``if`` nested in another's side is one tuple assignment.
NESTED_SWAP = """def f(x, a, s):
    if s > 0:
        if x > a:
            t = x
            x = a
            a = t
    return x - 2 * a
"""


def test_a_swap_in_a_nested_if() -> None:
    check_gradient(module(NESTED_SWAP), [2.0, 1.0, 1.0],
                   lambda x, a, s: min(x, a) - 2 * max(x, a) if s > 0 else x - 2 * a)


# ---- branches and loops nest both ways --------------------------------------------------------

ZIGZAG = """def f(x, a, N):
    for i in range(N):
        if x > 0:
            x = a * x - 1
        else:
            x = sin(x) + a
    return x^2
"""
ARRAY_ZIGZAG = ZIGZAG.replace("x, a", "x: (n,), a").replace("if x", "if sum(x)").replace(
    "return x^2", "return sum(x^2)")


def zigzag(x, a, N, signs: list | None = None):
    for _ in range(int(N)):
        if signs is not None:
            signs.append(bool(np.sum(x) > 0))
        x = a * x - 1 if np.sum(x) > 0 else np.sin(x) + a
    return np.sum(x**2)


@pytest.mark.parametrize("N", [0, 1, 5])
def test_branch_inside_a_loop_changes_direction(N: int) -> None:
    signs: list[bool] = []
    zigzag(0.7, 1.3, N, signs)
    assert signs == [True, False, True, True, False][:N]
    check_gradient(module(ZIGZAG), [0.7, 1.3, N], zigzag, skip=(2,))
    assert "tape_v" in compiled(ZIGZAG).source  # the test is recorded, one per step
    check_gradient(module(ARRAY_ZIGZAG), [np.array([0.4, -0.1, 0.3]), 0.9, N], zigzag,
                   skip=(2,))


LOOP_IN_SIDE = """def f(x, a, N):
    y = x
    if a > 0:
        for i in range(N):
            y = y * a + sin(x)
    else:
        y = exp(y * a) - x
    return y^2 + x
"""


def loop_in_side_y(x, a, N):
    y = x
    if a > 0:
        for _ in range(int(N)):
            y = y * a + np.sin(x)
    else:
        y = np.exp(y * a) - x
    return y


@pytest.mark.parametrize("point", [(0.8, 0.9, 3), (0.8, 0.9, 1), (0.8, 1.2, 0),
                                   (-0.5, -0.7, 3)])
def test_loop_inside_a_side(point) -> None:
    check_gradient(module(LOOP_IN_SIDE), list(point),
                   lambda x, a, N: loop_in_side_y(x, a, N)**2 + x, skip=(2,))


# Regression: a reverse loop inside a side never reuses the name of a value passed in
# (an input x, or a literal 2) for its carried adjoint.
@pytest.mark.parametrize("scale", ["x", "2"])
def test_loop_inside_a_side_seeded_by_an_input_or_a_constant(scale: str) -> None:
    check_gradient(module(LOOP_IN_SIDE.replace("y^2 + x", f"y * {scale}")), [0.8, 0.9, 3],
                   lambda x, a, N: loop_in_side_y(x, a, N) * (x if scale == "x" else 2),
                   skip=(2,))


# ---- scalar modules with branches at arrays: one point at a time -----------------------------

def guarded_by_hand(x: float) -> tuple[float, float]:
    if x > 0:
        return math.log(x) + math.sqrt(x), 1 / x + 0.5 / math.sqrt(x)
    return x * math.exp(x), (1 + x) * math.exp(x)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (0,), (0, 2)])
def test_scalar_module_evaluates_arrays_pointwise(shape) -> None:
    m = module(GUARDED)
    x = RNG.normal(size=shape) * 2
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        value, (dx,) = m.gradient(x)
        forward = m.forward(x)
    expected = np.array([guarded_by_hand(p) for p in x.ravel()]).reshape(*shape, 2)
    for result, column in ((value, 0), (forward, 0), (dx, 1)):
        assert isinstance(result, np.ndarray) and result.shape == shape
        assert result.dtype == np.float64
        np.testing.assert_allclose(result, expected[..., column], rtol=1e-14)


@pytest.mark.parametrize("y", [0.4, np.array([[-1.0], [0.2], [3.0]])], ids=["scalar", "column"])
def test_scalar_module_broadcasts_pointwise(y) -> None:
    m = module(THREE_WAY)
    x = np.array([-1.5, -0.2, 0.3, 0.9, 2.5])
    value, (dx, dy) = m.gradient(x, y)
    X, Y = np.broadcast_arrays(x, y)
    points = [[a, b] for a, b in zip(X.ravel(), Y.ravel())]
    expected = np.array([[three_way(*p), numeric(three_way, p, 0), numeric(three_way, p, 1)]
                         for p in points])
    for result, column in zip((value, dx, dy, m.forward(x, y)), (0, 1, 2, 0)):
        assert result.shape == X.shape
        np.testing.assert_allclose(result.ravel(), expected[:, column], rtol=1e-6)


# ---- an array condition is still a selection --------------------------------------------------

SELECTION = """def f(x: (n,)):
    if x > 0:
        y = log(x)
    else:
        y = x^2
    return sum(y)
"""


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_array_condition_is_still_a_nan_safe_selection() -> None:
    source = compiled(SELECTION).source
    assert "xp.where" in source and ifs_in(source, "forward") == ifs_in(source, "gradient") == 0
    x = np.array([2.0, 0.0, -1.5, 0.5, -0.0])
    value, (dx,) = module(SELECTION).gradient(x)
    positive = np.maximum(x, 1e-300)
    assert value == pytest.approx(np.sum(np.where(x > 0, np.log(positive), x**2)))
    np.testing.assert_array_equal(dx, np.where(x > 0, 1 / positive, 2 * x))  # finite at 0


# ---- forward mode and the symbolic method (which select) -------------------------------------

@pytest.mark.parametrize("options", [{"mode": "forward"}, {"method": "symbolic"}, {}],
                         ids=["forward", "symbolic", "reverse"])
@pytest.mark.parametrize("point", [(2.0, 1.0), (0.5, 1.0), (-1.0, 0.5)])
def test_forward_mode_and_symbolic_agree_with_the_partials(options, point) -> None:
    check_gradient(module(THREE_WAY, **options), list(point), three_way)


# ---- errors -----------------------------------------------------------------------------------

ERRORS = [
    ("def f(x):\n    if x > 0:\n        y = 1\n    else:\n        z = 2\n    return y\n", 6, 12,
     "'y' is assigned in only one side of the 'if' (at 3:9); give it a value before the 'if' "
     "to use it after"),
    ("def f(x, a):\n    for i in range(3):\n        if a > 0:\n            t = x\n"
     "        x = x + t\n    return x\n", 5, 17,
     "'t' is assigned in only one side of the 'if' (at 4:13)"),
    ("def f(x: (n,)):\n    if sum(x) > 0:\n        y = x\n    else:\n        y = sum(x)\n"
     "    return sum(y)\n", 2, 5,
     "'y' has shape (n,) after the 'if' side and shape () after the 'else' side; give it the "
     "same in both"),
    ("def f(x: (n,)):\n    y = 0\n    if sum(x) > 0:\n        y = x * 2\n    return sum(y)\n",
     3, 5, "'y' has shape (n,) after the 'if' side and shape () after the 'else' side"),
]


@pytest.mark.parametrize("text, line, col, message", ERRORS, ids=[m[:40] for *_, m in ERRORS])
def test_branch_errors_are_located(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        compiled(text)
    error = caught.value
    assert (error.line, error.col) == (line, col), error.format()
    assert error.message.startswith(message), error.message


# ---- everything together; determinism ---------------------------------------------------------

BRANCHY = """def f(x, y: (n,), a, N):
    s = sum(y)
    if x > a:
        if s > 0:
            x = x * s
        else:
            t = x
            x = a
            a = t
    for i in range(N):
        if x > 0:
            x = a * x - 1
            y = y * x
        elif sum(y) > 1:
            for j in range(2):
                y = sin(y) + x
        else:
            x = sin(x) + a
    return x^2 + sum(y) * a
"""


def branchy(x, y, a, N):
    if x > a:
        x, a = (x * np.sum(y), a) if np.sum(y) > 0 else (a, x)
    for _ in range(int(N)):
        if x > 0:
            x = a * x - 1
            y = y * x
        elif np.sum(y) > 1:
            y = np.sin(np.sin(y) + x) + x
        else:
            x = np.sin(x) + a
    return x**2 + np.sum(y) * a


@pytest.mark.parametrize("x, y, a", [
    (1.2, [0.9, -0.4, 0.7], 0.5), (0.3, [0.9, -0.4, 0.7], 0.9), (-0.6, [0.9, -0.4, 0.7], 0.8),
    (1.2, [-0.9, 0.4, -0.3], 0.5)])
def test_a_program_mixing_everything(x, y, a) -> None:
    check_gradient(module(BRANCHY), [x, np.array(y), a, 4], branchy, skip=(3,))


def test_generated_source_is_deterministic() -> None:
    first = compiled(BRANCHY).source
    assert first == compiled(BRANCHY).source and ifs_in(first, "gradient") >= 6
    script = ("import sys; from gradgen.pipeline import compile_source; "
              "sys.stdout.write(compile_source(sys.stdin.read(), 'branches.txt').source)")
    for seed in ("1", "2"):  # set and dict orders must not depend on string hashing
        run = subprocess.run([sys.executable, "-c", script], input=BRANCHY, text=True,
                             capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed},
                             cwd=Path(__file__).resolve().parent.parent, check=True)
        assert run.stdout == first


# ---- examples/bounce.txt: a bouncing ball, a branch in every step -------------------------------

def bounce_reference(h0, v0, e, g, dt, N):
    """examples/bounce.txt in plain Python, and the directions its branch took."""
    h, v, bounced = h0, v0, []
    for _ in range(int(N)):
        v = v - g * dt
        h = h + dt * v
        bounced.append(h < 0)
        if h < 0:
            h, v = -e * h, -e * v
    return h, bounced


@pytest.mark.parametrize("h0, v0, N", [(1.0, 0.0, 0), (1.0, 0.0, 1), (1.0, 0.3, 120),
                                       (0.05, -2.0, 40)])
def test_bounce_example(h0: float, v0: float, N: int) -> None:
    text = (Path(__file__).resolve().parent.parent / "examples" / "bounce.txt").read_text()
    m = compile_source(text, "bounce.txt", wrt=("h0", "v0", "e", "g")).module
    e, g, dt = 0.8, 9.81, 0.01
    value, bounced = bounce_reference(h0, v0, e, g, dt, N)
    if N == 120:
        assert 0 < sum(bounced) < N  # the branch goes both ways over the steps
    assert m.forward(h0, v0, e, g, dt, N) == pytest.approx(value, rel=1e-13, abs=1e-15)
    _, partials = m.gradient(h0, v0, e, g, dt, N)
    args = [h0, v0, e, g, dt, N]
    expected = [numeric(lambda *a: bounce_reference(*a)[0], args, k) for k in range(4)]
    np.testing.assert_allclose(partials, expected, rtol=1e-6, atol=1e-8)

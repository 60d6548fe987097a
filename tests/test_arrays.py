"""Arrays from source to module: shapes, broadcasting, reductions, constants, errors.

Gradients are checked against central differences (`conftest`-style, entry by entry) or a
hand-derived formula; shape errors against their exact located messages; call-time shape
checks against their ValueError messages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import entrywise_differences as numeric_gradient

from gradgen.errors import CompileError, LimitError
from gradgen.pipeline import compile_source

RNG = np.random.default_rng(20261123)


def module(text: str, wrt: tuple[str, ...] | None = None):
    return compile_source(text, "arrays.txt", wrt=wrt).module


def assert_gradient_matches_differences(text: str, *args: np.ndarray) -> None:
    m = module(text)
    value, partials = m.gradient(*args)
    assert value == pytest.approx(m.forward(*args), rel=1e-14)
    for k, partial in enumerate(partials):
        assert np.shape(partial) == np.shape(args[k])
        np.testing.assert_allclose(partial, numeric_gradient(m.forward, list(args), k),
                                   rtol=1e-6, atol=1e-8)


# ---- gradients of array programs -------------------------------------------------------------

PROGRAMS = [
    ("f(x: (n,), y: (n,)) = sum(x * y) + sum(x^2) / n", [(5,), (5,)]),
    ("f(A: (m, n), x: (n,)) = sum(tanh(A @ x))", [(3, 4), (4,)]),
    ("f(x: (n,), A: (n, m)) = sum(sin(x @ A))", [(4,), (4, 3)]),
    ("f(x: (n,), y: (n,)) = dot(x, y) * norm(x)", [(4,), (4,)]),
    ("f(x: (n,), y: (m,)) = sum(outer(x, y)^2)", [(3,), (2,)]),
    ("f(X: (n, d), b: (d,), c) = sum((X - b)^2 * c)", [(4, 3), (3,), ()]),
    ("f(X: (n, d), c: (n, 1)) = sum(exp(X * c))", [(4, 3), (4, 1)]),
    ("f(X: (n, d)) = sum(mean(X, axis=0)^2) + sum(max(X, axis=1)) - sum(min(X, axis=0))",
     [(4, 3)]),
    ("f(X: (n, d)) = sum(logsumexp(X, axis=1)) + logsumexp(X)", [(4, 3)]),
    ("f(X: (n, d), Y: (n, d)) = sum(Y * softmax(X, axis=1)) + sum(Y * log_softmax(X))",
     [(4, 3), (4, 3)]),
    ("f(X: (n, d)) = sum(X.T @ X) + prod(X[0, :]) + sum(X[1:, 1]^2) + X[-1, -1]", [(4, 3)]),
    ("f(X: (n, d)) = sum(transpose(X)[0] * X[:, 0]) + sum(X[::2, :])", [(5, 3)]),
    ("f(x: (6,)) = sum(reshape(x, (2, 3)) @ ones((3,))) + sum(x * x[::-1])", [(6,)]),
    ("f(X: (n, n)) = sum((X + eye(n))^2) + sum(zeros((n, n)) + X)", [(3, 3)]),
    ("f(X: (n, d)) = sum(reshape(X, (n*d,))^3)", [(3, 2)]),
    ("f(X: (n, d)) = sum(maximum(X, 0) + minimum(X, 0.5) + relu(X) * abs(X))", [(3, 4)]),
    ("f(X: (n, d)) = sum(sum(X, axis=1, keepdims=True) * X)", [(3, 4)]),
    ("f(x: (n,), y: (n,)) = sum(stack((x, y, x*y), axis=1) @ ones((3,)) * x)", [(4,), (4,)]),
    ("f(X: (n, d), Y: (m, d)) = sum(concat((X, Y^2), axis=0)^2)"
     " + sum(concat((X, X), axis=-1) * 3)", [(2, 3), (4, 3)]),
    ("f(X: (2, 3), w: (3,)) = sum(where(X @ w > 0, X @ w, 0.1 * (X @ w)))", [(2, 3), (3,)]),
]


@pytest.mark.parametrize("text, shapes", PROGRAMS, ids=[t for t, _ in PROGRAMS])
def test_gradient_of_array_program_matches_central_differences(text: str, shapes) -> None:
    args = [RNG.uniform(0.2, 1.5, size=shape) if shape else float(RNG.uniform(0.2, 1.5))
            for shape in shapes]
    assert_gradient_matches_differences(text, *args)


def test_program_form_with_dimension_as_value() -> None:
    text = """def loss(w: (d,), X: (n, d), t: (n,), lam):
    z = X @ w
    r = z - t
    return sum(r^2) / (2*n) + lam / 2 * sum(w^2)
"""
    w, X, t = RNG.normal(size=3), RNG.normal(size=(5, 3)), RNG.normal(size=5)
    value, (dw, dX, dt, dlam) = module(text).gradient(w, X, t, 0.3)
    r = X @ w - t
    assert value == pytest.approx(r @ r / 10 + 0.15 * w @ w, rel=1e-14)
    np.testing.assert_allclose(dw, X.T @ r / 5 + 0.3 * w, rtol=1e-13)
    np.testing.assert_allclose(dX, np.outer(r, w) / 5, rtol=1e-13)
    np.testing.assert_allclose(dt, -r / 5, rtol=1e-13)
    assert dlam == pytest.approx(w @ w / 2, rel=1e-14)


def test_bias_gradient_is_summed_back_to_its_shape() -> None:
    m = module("f(X: (n, k), b: (k,)) = sum(X + b)")
    _, (dX, db) = m.gradient(np.ones((4, 2)), np.zeros(2))
    np.testing.assert_array_equal(db, [4.0, 4.0])
    np.testing.assert_array_equal(dX, np.ones((4, 2)))


def test_partials_are_fresh_writeable_arrays() -> None:
    x, y = np.arange(3.0), np.arange(3.0) + 1
    _, (dx, dy) = module("f(x: (n,), y: (n,)) = sum(x * y)").gradient(x, y)
    for partial, twin in ((dx, y), (dy, x)):
        np.testing.assert_array_equal(partial, twin)
        assert partial is not twin and not np.shares_memory(partial, twin)
        assert partial.flags.writeable
    _, (dA,) = module("f(A: (n, m)) = sum(A)").gradient(np.ones((2, 3)))
    assert dA.flags.writeable and dA.base is None


def test_wrt_restricts_and_orders_the_partials() -> None:
    text = "f(W: (d, k), X: (n, d)) = sum(X @ W)"
    m = module(text, wrt=("W",))
    W, X = RNG.normal(size=(3, 2)), RNG.normal(size=(4, 3))
    _, (dW,) = m.gradient(W, X)
    np.testing.assert_allclose(dW, np.outer(X.sum(0), np.ones(2)), rtol=1e-14)
    assert "X_bar" not in compile_source(text, "a.txt", wrt=("W",)).source


def test_max_reduction_shares_the_gradient_among_ties() -> None:
    _, (dx,) = module("f(x: (n,)) = max(x)").gradient(np.array([1.0, 3.0, 3.0, 2.0]))
    np.testing.assert_array_equal(dx, [0.0, 0.5, 0.5, 0.0])


def test_norm_has_zero_gradient_at_zero() -> None:
    value, (dx,) = module("f(x: (n,)) = norm(x)").gradient(np.zeros(3))
    assert value == 0.0
    np.testing.assert_array_equal(dx, np.zeros(3))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_where_keeps_array_gradients_finite() -> None:
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    value, (dx,) = module("f(x: (n,)) = sum(where(x > 0, log(x), 0))").gradient(x)
    assert value == pytest.approx(np.log(0.5) + np.log(2.0))
    np.testing.assert_array_equal(dx, [0.0, 0.0, 2.0, 0.5])


def test_logsumexp_and_softmax_are_stable() -> None:
    big = np.array([[1000.0, 1000.0], [-1000.0, 0.0]])
    value, (dX,) = module("f(X: (n, k)) = sum(logsumexp(X, axis=1))").gradient(big)
    assert value == pytest.approx(1000 + np.log(2.0))
    np.testing.assert_allclose(dX, [[0.5, 0.5], [0.0, 1.0]], atol=1e-300)
    value, (dX,) = module("f(X: (n, k)) = sum(softmax(X, axis=1)[:, 0])").gradient(big)
    assert np.isfinite(value) and np.all(np.isfinite(dX))


def test_array_valued_function_has_vjp_and_jacobian() -> None:
    m = module("f(A: (m, n), x: (n,)) = tanh(A @ x) * 2")
    assert not hasattr(m, "gradient")
    A, x = RNG.normal(size=(3, 4)), RNG.normal(size=4)
    value, (dA, dx) = m.jacobian(A, x)
    assert dA.shape == (3, 3, 4) and dx.shape == (3, 4)
    expected = 2 * (1 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(dx, expected, rtol=1e-13)
    u = RNG.normal(size=3)
    _, (uA, ux) = m.vjp(A, x, u)
    np.testing.assert_allclose(ux, u @ dx, rtol=1e-13)
    np.testing.assert_allclose(uA, np.tensordot(u, dA, axes=1), rtol=1e-13)


def test_compiling_twice_gives_the_same_bytes() -> None:
    text = "f(W: (d, k), X: (n, d)) = sum(softmax(X @ W, axis=1))"
    assert compile_source(text, "a.txt").source == compile_source(text, "a.txt").source


def test_scalar_functions_keep_their_elementwise_meaning() -> None:
    value, (dx,) = module("f(x) = x^2").gradient(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(value, [1.0, 4.0])
    np.testing.assert_array_equal(dx, [2.0, 4.0])


# ---- errors at compile time -------------------------------------------------------------------

COMPILE_ERRORS = [
    ("f(X: (n, d), W: (k, d)) = sum(X @ W)", 1, 33,
     "matmul of (n, d) and (k, d): inner dimensions d and k differ"),
    ("f(x: (n,), y: (n,)) = dot(x, y[0])", 1, 23,
     "dot of (n,) and (): both must be vectors or matrices (for a scalar use '*')"),
    ("f(X: (n, d), b: (k,)) = sum(X + b)", 1, 31,
     "'+': shapes (n, d) and (k,) do not broadcast (d and k differ)"),
    ("f(X: (n, d)) = sum(X, axis=2)", 1, 28, "axis 2 is out of range for shape (n, d)"),
    ("f(x) = sum(x)", 1, 12,
     "sum of a scalar: declare the input's shape in the signature, e.g. 'x: (n,)'"),
    ("f(X: (n, d)) = sum(X, axes=1)", 1, 28,
     "sum has no keyword argument 'axes'; it takes axis, keepdims"),
    ("f(X: (n, d), a) = sum(X, axis=a)", 1, 31, "an axis must be a whole number written"),
    ("f(X: (n, d)) = sum(X, keepdims=1)", 1, 32, "expected True or False"),
    ("f(X: (n, d)) = sin(X, axis=1)", 1, 28, "sin has no keyword argument 'axis'"),
    ("f(X: (n, d)) = sum(reshape(X, (d, 3)))", 1, 31,
     "reshape of (n, d) to (d, 3): the sizes differ"),
    ("f(x: (3,)) = x[3]", 1, 15, "indexing: index 3 is out of range for a dimension of 3"),
    ("f(x: (n,)) = sum(x[0, 1])", 1, 19, "indexing: 2 indices for an array of shape (n,)"),
    ("f(x: (n,), i) = sum(x[i:])", 1, 23,
     "an index must be a whole number written in the source"),
    ("f(x: (n,), n) = sum(x)", 1, 7, "'n' is both a parameter and a dimension name"),
    ("def f(x: (n,)):\n    n = 2\n    return sum(x)\n", 2, 5,
     "'n' is a dimension of x; choose another name for the variable"),
    ("f(x: (n,)) = sum(zeros((n, m)))", 1, 28,
     "'m' is not an input; inputs are x; dimensions: n"),
    ("f(x: (n,)) = sum(softmax(x, axis=(0,)))", 1, 34, "an axis must be a whole number"),
    ("f(x: (n,)) = x + (1, 2)", 1, 18, "'+' expects a value, got a tuple"),
    ("f(A: (2, 2, 2), B: (2, 2)) = sum(A @ B)", 1, 36,
     "matmul of (2, 2, 2) and (2, 2): arrays of more than 2 dimensions are not supported"),
    ("f(x: (n,)) = sum(x.shape)", 1, 19, "'.shape' is not supported: the only attribute is"),
    ("f(x: (n,)) = sum(x, True)", 1, 14, "sum takes 1 argument, got 2"),
    ("f(x: (n,), y: (m,)) = sum(stack((x, y)))", 1, 27,
     "stack of (n,) and (m,): the arrays must have the same shape"),
    ("f(x: (n,), y: (n, 2)) = sum(concat((x, y)))", 1, 29,
     "concat of (n,) and (n, 2): the arrays must have the same number of dimensions"),
    ("f(x: (n,)) = sum(stack(x, x))", 1, 18,
     "stack takes a tuple of arrays: stack((a, b), axis=0)"),
]


@pytest.mark.parametrize("text, line, col, message", COMPILE_ERRORS,
                         ids=[m[:40] for *_, m in COMPILE_ERRORS])
def test_array_compile_errors_are_located(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_source(text, "bad.txt")
    error = caught.value
    assert (error.line, error.col) == (line, col), error.format()
    assert error.message.startswith(message), error.message
    assert "\n" not in error.message


def test_the_symbolic_route_declines_arrays() -> None:
    with pytest.raises(LimitError, match="scalar functions only.*use reverse mode"):
        compile_source("f(x: (n,)) = sum(x)", "a.txt", method="symbolic")


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
JACOBIAN_SOURCE = "def f(x: (n,), A: (m, n)):\n    return tanh(A @ x) * 2\n"


def counted(calls: dict[str, int], name: str, function):
    """``function``, counting its calls in ``calls[name]``."""
    def counting(*args):
        calls[name] += 1
        return function(*args)
    return counting


def jacobian_by_hand(x: np.ndarray, A: np.ndarray) -> np.ndarray:
    """d f / d x of ``2 tanh(A x)``: 2 (1 - tanh(A x)^2) A, row by row."""
    return 2 * (1 - np.tanh(A @ x) ** 2)[:, None] * A


@pytest.mark.parametrize("m, n, rows", [(5, 3, False), (2, 5, True), (4, 4, True)])
def test_jacobian_takes_the_mode_of_fewer_sweeps(m: int, n: int, rows: bool) -> None:
    """Reverse mode's module has vjp and jvp: jacobian takes one vjp per entry of the value
    (m) or one jvp per entry of x (n), whichever are fewer (rows on a tie)."""
    module = compile_source(JACOBIAN_SOURCE, "j.txt", wrt=("x",)).load()
    calls = {"vjp": 0, "jvp": 0}
    for name in calls:
        setattr(module, name, counted(calls, name, getattr(module, name)))
    rng = np.random.default_rng(m * n)
    x, A = rng.normal(size=n), rng.normal(size=(m, n))
    value, (jacobian,) = module.jacobian(x, A)
    np.testing.assert_allclose(jacobian, jacobian_by_hand(x, A), rtol=1e-14, atol=1e-15)
    assert calls == ({"vjp": m, "jvp": 0} if rows else {"vjp": 0, "jvp": n})


def test_forward_mode_of_an_array_value_gives_jacobian_by_columns_and_vjp() -> None:
    module = compile_source(JACOBIAN_SOURCE, "j.txt", mode="forward").load()
    rng = np.random.default_rng(1)
    x, A = rng.normal(size=3), rng.normal(size=(4, 3))
    value, (by_x, by_A) = module.jacobian(x, A)
    np.testing.assert_allclose(value, 2 * np.tanh(A @ x), rtol=1e-15)
    np.testing.assert_allclose(by_x, jacobian_by_hand(x, A), rtol=1e-14, atol=1e-15)
    slopes = 2 * (1 - np.tanh(A @ x) ** 2)
    np.testing.assert_allclose(by_A, np.einsum("i,ij,k->ijk", slopes, np.eye(4), x),
                               rtol=1e-14, atol=1e-15)  # d f_i / d A_jk = slope_i [i=j] x_k
    cotangent = rng.normal(size=4)
    _, (pulled_x, pulled_A) = module.vjp(x, A, cotangent)
    np.testing.assert_allclose(pulled_x, cotangent @ jacobian_by_hand(x, A), rtol=1e-14)
    np.testing.assert_allclose(pulled_A, np.outer(cotangent * slopes, x), rtol=1e-14)


# ---- errors at call time ----------------------------------------------------------------------

CALL_ERRORS = [
    ((np.ones((3, 2)), np.ones((4, 5)), 1.0),
     "X has shape (4, 5), expected (n, d) with d = 3 from W"),
    ((np.ones((3, 2)), np.ones(3), 1.0), "X has shape (3,), expected (n, d)"),
    ((np.ones(3), np.ones((4, 3)), 1.0), "W has shape (3,), expected (d, 2)"),
    ((np.ones((3, 5)), np.ones((4, 3)), 1.0), "W has shape (3, 5), expected (d, 2)"),
    ((np.ones((3, 2)), np.ones((4, 3)), np.ones(2)), "lam has shape (2,), expected a scalar"),
]


@pytest.mark.parametrize("args, message", CALL_ERRORS, ids=[m for _, m in CALL_ERRORS])
def test_wrong_call_time_shapes_raise_value_error(args, message: str) -> None:
    m = module("f(W: (d, 2), X: (n, d), lam) = sum(X @ W) * lam")
    for function in (m.forward, m.gradient):
        with pytest.raises(ValueError) as caught:
            function(*args)
        assert str(caught.value) == message


# ---- the command line on array functions ------------------------------------------------------

def test_cli_checks_array_gradients_and_declines_scalar_only_commands(tmp_path, capsys) -> None:
    from gradgen.cli import main

    source = tmp_path / "mlr.txt"
    source.write_text("f(W: (d, k), X: (n, d)) = sum(softmax(X @ W, axis=1)^2)\n", "utf-8")
    assert main(["check", str(source), "--dims", "n=4,d=3,k=2"]) == 0
    assert capsys.readouterr().out.startswith("ok: gradient of f against central differences")
    for command in (["compare"], ["trace", "--at", "W=1,X=1"], ["graph", "--at", "W=1,X=1"]):
        assert main([command[0], str(source), *command[1:]]) == 1
        assert "arrays" in capsys.readouterr().err
    assert main(["compile", str(source), "--mode", "forward"]) == 0  # arrays: issue 14
    assert main(["check", str(source), "--dims", "n=four"]) == 2


@pytest.mark.parametrize("text, short, message", [
    ("f(x: (n,)) = sum(x[0:2] * x[1:3])", np.ones(2),
     "x has shape (2,), but the function's indexing needs n >= 3"),
    ("f(X: (n, d)) = X[0, -4]", np.ones((2, 3)),
     "X has shape (2, 3), but the function's indexing needs d >= 4"),
])
def test_indexing_past_a_named_dimension_is_a_call_time_error(text, short, message) -> None:
    m = module(text)
    with pytest.raises(ValueError) as caught:
        m.gradient(short)
    assert str(caught.value) == message
    assert np.isfinite(m.forward(np.ones(tuple(4 * s for s in short.shape))))


def test_jacobian_by_columns_calls_a_helpers_jvp() -> None:
    """euler's jvp calls its helper's jvp (rate_jvp): the module defines it, and the Jacobian by
    columns equals the one by rows."""
    module = compile_source(EXAMPLES / "euler.txt").load()
    point = (np.array([1.0, 0.5]), np.array([1.0, 0.1, 1.5, 0.075]), 0.01, 5)
    value = module.forward(*point)
    by_rows = module._cheaper_jacobians(module.vjp, module.jvp, value, point, (0, 1, 2))
    by_columns = module._jacobians_by_columns(module.jvp, value, point, (0, 1, 2))
    for rows, columns in zip(by_rows, by_columns):
        np.testing.assert_allclose(columns, rows, rtol=1e-13, atol=1e-15)

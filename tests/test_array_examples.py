"""The array examples under ``examples/``, against the lecture notes' backward formulas.

Three sources with shapes in their signatures: ``multiclass_logistic.txt`` (affine unit +
logistic unit + decay unit), ``l2_regression.txt`` (seed 003's L2-regularised logistic least
squares over a batch) and ``perceptron.txt`` (affine, relu, affine, logistic, decay). For each,
the generated ``gradient`` is compared with a backward pass written here by hand from the
notes' formulas (seed 002: affine dW = X^T dA, db = sum_0 dA, dX = dA W^T; logistic
dA = dD (Y - T) / m; relu dA = dZ * (Z > 0); decay dW += lam W; seed 003: sigma' = y (1 - y))
to 1e-12, and with entrywise central differences, at seeded random points of several sizes
(n = 1 and odd sizes among them). Then the training scripts run, each on a fresh copy of its
source, and the generated module checks the shapes of its inputs when it is called.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import compile_module

from gradgen.ir.graph import has_arrays, has_loops
from gradgen.pipeline import build_forward
from gradgen.tools import differences

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# ---- the notes' forward and backward passes, by hand ------------------------------------------

def log_softmax_rows(A: np.ndarray) -> np.ndarray:
    """log(Y) for Y = E / sum_1(E), E = exp(A), computed without overflow."""
    shifted = A - A.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def multiclass_logistic_by_hand(W, b, X, T, lam):
    """Value and partials (W, b, X, T, lam): affine unit, logistic unit, decay unit."""
    m = len(X)
    A = X @ W + b  # affine
    log_Y = log_softmax_rows(A)  # logistic: C = -sum_1(T log Y), D = sum_0(C) / m
    D = -np.sum(T * log_Y) / m
    R = lam / 2 * np.sum(W**2)  # decay
    dA = (np.exp(log_Y) - T) / m  # logistic back, dD = 1
    dW = X.T @ dA + lam * W  # affine back + decay back
    db = dA.sum(axis=0)
    dX = dA @ W.T
    dT = -log_Y / m
    return D + R, (dW, db, dX, dT, np.sum(W**2) / 2)


def l2_regression_by_hand(w, b, X, t, lam):
    """Value and partials (w, b, X, t, lam) of seed 003's regression, averaged over n."""
    n = len(X)
    z = X @ w + b
    y = 1 / (1 + np.exp(-z))
    L = 0.5 * np.sum((y - t) ** 2) / n
    R = 0.5 * np.sum(w**2)
    dy = (y - t) / n  # dL/dy, one example each, averaged
    dz = dy * y * (1 - y)  # sigma'(z) = y (1 - y)
    return L + lam * R, (X.T @ dz + lam * w, dz.sum(), np.outer(dz, w), -dy, R)


def perceptron_by_hand(W1, b1, W2, b2, X, T, lam):
    """Value and partials (W1, b1, W2, b2, X, T, lam): affine, relu, affine, logistic, decay."""
    m = len(X)
    Z = np.maximum(X @ W1 + b1, 0)  # affine, relu
    A = Z @ W2 + b2  # affine
    log_Y = log_softmax_rows(A)
    D = -np.sum(T * log_Y) / m
    squares = np.sum(W1**2) + np.sum(W2**2)
    dA = (np.exp(log_Y) - T) / m  # logistic back
    dW2 = Z.T @ dA + lam * W2  # affine back + decay back
    db2 = dA.sum(axis=0)
    dZ = dA @ W2.T
    dA1 = dZ * (Z > 0)  # relu back
    dW1 = X.T @ dA1 + lam * W1
    db1 = dA1.sum(axis=0)
    dX = dA1 @ W1.T
    return D + lam / 2 * squares, (dW1, db1, dW2, db2, dX, -log_Y / m, squares / 2)


# ---- random points ---------------------------------------------------------------------------

def logistic_regression_by_hand(w, b, X, y, lam):
    """Value and partials (w, b, X, y, lam) of the mean log-loss plus lam/2 ||w||^2."""
    n = len(X)
    z = X @ w + b
    dz = (1 / (1 + np.exp(-z)) - y) / n  # d/dz of softplus(z) - y z, averaged
    value = np.sum(np.logaddexp(0, z) - y * z) / n + 0.5 * lam * np.sum(w**2)
    return value, (X.T @ dz + lam * w, dz.sum(), np.outer(dz, w), -z / n, 0.5 * np.sum(w**2))


def tiny_network_by_hand(W1, b1, W2, b2, x, t):
    """Value and partials (W1, b1, W2, b2, x, t) of a tanh unit layer's mean squared error."""
    n = len(x)
    A = np.tanh(np.outer(x, W1) + b1)
    dY = (A @ W2 + b2 - t) / n
    dZ = np.outer(dY, W2) * (1 - A**2)  # tanh' = 1 - tanh^2
    value = 0.5 * np.sum((A @ W2 + b2 - t) ** 2) / n
    return value, (x @ dZ, dZ.sum(axis=0), A.T @ dY, dY.sum(), dZ @ W1, -dY)


def one_hot(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.eye(k)[rng.integers(0, k, n)]


def multiclass_logistic_point(rng, n, d, k):
    return [rng.normal(size=(d, k)), rng.normal(size=k), rng.normal(size=(n, d)),
            one_hot(rng, n, k), rng.uniform(0.1, 1.0)]


def l2_regression_point(rng, n, d):
    return [rng.normal(size=d), rng.normal(), rng.normal(size=(n, d)), rng.uniform(size=n),
            rng.uniform(0.1, 1.0)]


def logistic_regression_point(rng, n, d):
    return [rng.normal(size=d), rng.normal(), rng.normal(size=(n, d)),
            rng.integers(0, 2, n).astype(float), rng.uniform(0.01, 1)]


def tiny_network_point(rng, n, h):
    return [rng.normal(size=h), rng.normal(size=h), rng.normal(size=h), rng.normal(),
            rng.normal(size=n), rng.normal(size=n)]


def perceptron_point(rng, n, d, h, k):
    return [rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, k)),
            rng.normal(size=k), rng.normal(size=(n, d)), one_hot(rng, n, k),
            rng.uniform(0.1, 1.0)]


@dataclass(frozen=True)
class ArrayExample:
    """An example source, its notes-derived backward pass and where to test it."""

    inputs: tuple[str, ...]
    shapes: tuple[tuple[str, ...], ...]
    by_hand: Callable[..., tuple]
    point: Callable[..., list]  # point(rng, *sizes)
    sizes: tuple[tuple[int, ...], ...]  # n first; n = 1 and odd sizes included
    wrt: tuple[str, ...]  # the parameters the training script differentiates


EXPECTED = {
    "multiclass_logistic": ArrayExample(
        ("W", "b", "X", "T", "lam"), (("d", "k"), ("k",), ("n", "d"), ("n", "k"), ()),
        multiclass_logistic_by_hand, multiclass_logistic_point,
        ((1, 1, 2), (1, 4, 3), (7, 5, 3), (33, 17, 10)), ("W", "b")),
    "l2_regression": ArrayExample(
        ("w", "b", "X", "t", "lam"), (("d",), (), ("n", "d"), ("n",), ()),
        l2_regression_by_hand, l2_regression_point,
        ((1, 1), (1, 5), (9, 3), (40, 11)), ("w", "b")),
    "perceptron": ArrayExample(
        ("W1", "b1", "W2", "b2", "X", "T", "lam"),
        (("d", "h"), ("h",), ("h", "k"), ("k",), ("n", "d"), ("n", "k"), ()),
        perceptron_by_hand, perceptron_point,
        ((1, 1, 1, 2), (1, 4, 3, 2), (5, 7, 9, 3), (31, 13, 17, 10)), ("W1", "b1", "W2", "b2")),
    "logistic_regression": ArrayExample(
        ("w", "b", "X", "y", "lam"), (("d",), (), ("n", "d"), ("n",), ()),
        logistic_regression_by_hand, logistic_regression_point,
        ((1, 1), (1, 5), (9, 3), (40, 11)), ("w", "b")),
    "tiny_network": ArrayExample(
        ("W1", "b1", "W2", "b2", "x", "t"), (("h",), ("h",), ("h",), (), ("n",), ("n",)),
        tiny_network_by_hand, tiny_network_point,
        ((1, 1), (1, 4), (7, 3), (30, 6)), ("W1", "b1", "W2", "b2")),
}
NAMES = sorted(EXPECTED)
SEEDS = (0, 1, 2)


def _text(name: str) -> str:
    return (EXAMPLES / f"{name}.txt").read_text("utf-8")


def _module(name: str, wrt: tuple[str, ...] | None = None):
    return compile_module(_text(name), wrt, f"{name}.txt")


def _points(name: str):
    """(sizes, seed, point) for every size and seed of the example."""
    example = EXPECTED[name]
    for sizes in example.sizes:
        for seed in SEEDS:
            yield sizes, seed, example.point(np.random.default_rng([seed, *sizes]), *sizes)


def _assert_close(actual, expected, rtol: float, what: str) -> None:
    """Entrywise |actual - expected| <= rtol * (|expected| + largest |expected| + 1)."""
    expected = np.asarray(expected, dtype=float)
    assert np.shape(actual) == expected.shape, what
    scale = 1.0 + np.max(np.abs(expected), initial=0.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


# ---- the sources and their modules ---------------------------------------------------------

def test_every_array_example_is_tested():
    """The straight-line array examples (shapes in their signatures) are exactly the ones
    tested here (the loops are in test_loop_examples.py)."""
    graphs = {path.stem: build_forward(path.read_text("utf-8"), str(path))
              for path in EXAMPLES.glob("*.txt")}
    arrays = {name for name, graph in graphs.items()
              if has_arrays(graph) and not has_loops(graph)}
    assert arrays == set(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_source_starts_with_comments_naming_the_notes(name):
    lines = _text(name).splitlines()
    assert all(line.startswith("#") for line in lines[:3])
    assert re.search(r"seed 00\d", _text(name)), "say where in the lecture notes it comes from"


@pytest.mark.parametrize("name", NAMES)
def test_module_declares_inputs_and_shapes(name):
    module, example = _module(name), EXPECTED[name]
    assert module.INPUTS == example.inputs
    assert module.WRT == example.inputs
    assert tuple(map(tuple, module.SHAPES)) == example.shapes


# ---- the generated gradient against the notes' formulas and central differences -------------

@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_the_notes_backward_pass(name):
    module, by_hand = _module(name), EXPECTED[name].by_hand
    for sizes, seed, point in _points(name):
        value, partials = module.gradient(*point)
        expected_value, expected_partials = by_hand(*point)
        where = f"{name} at sizes {sizes}, seed {seed}"
        assert isinstance(value, float), where
        assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-12), where
        assert module.forward(*point) == value, where
        assert len(partials) == len(point)
        for input_name, partial, expected, given in zip(
                EXPECTED[name].inputs, partials, expected_partials, point):
            assert np.shape(partial) == np.shape(given), f"{where}: d/d{input_name}"
            _assert_close(partial, expected, 1e-12, f"{where}: d/d{input_name}")


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    module = _module(name)
    for sizes, seed, point in _points(name):
        if max(sizes) > 20 or seed:  # entry by entry: the small sizes, one point each
            continue
        _, partials = module.gradient(*point)
        for i, partial in enumerate(partials):
            estimate = differences.jacobian(module.forward, point, i)
            _assert_close(partial, estimate, 1e-6,
                          f"{name} at sizes {sizes}: d/d{EXPECTED[name].inputs[i]}")


@pytest.mark.parametrize("name", NAMES)
def test_restricted_wrt_gives_the_same_partials(name):
    """The scripts compile with --wrt (the parameters only); those partials do not change."""
    example = EXPECTED[name]
    full, restricted = _module(name), _module(name, example.wrt)
    assert restricted.WRT == example.wrt
    sizes = example.sizes[2]
    point = example.point(np.random.default_rng(7), *sizes)
    value, partials = restricted.gradient(*point)
    full_value, full_partials = full.gradient(*point)
    assert value == full_value
    for input_name, partial in zip(example.wrt, partials):
        np.testing.assert_array_equal(partial, full_partials[example.inputs.index(input_name)])


def test_perceptron_relu_mask_switches_off_dead_units():
    """A hidden unit that is off for every sample passes no gradient back: column 0 of dW1,
    entry 0 of db1 and row 0 of dW2 are decay only."""
    module = _module("perceptron")
    W1, b1, W2, b2, X, T, lam = perceptron_point(np.random.default_rng(3), 6, 4, 5, 3)
    b1[0] = -1e3  # unit 0 is dead whatever the input
    _, (dW1, db1, dW2, _, _, _, _) = module.gradient(W1, b1, W2, b2, X, T, lam)
    np.testing.assert_array_equal(dW1[:, 0], lam * W1[:, 0])
    assert db1[0] == 0.0
    np.testing.assert_array_equal(dW2[0], lam * W2[0])


# ---- call-time shape checks ------------------------------------------------------------------

def test_wrong_input_shape_is_a_value_error_naming_input_and_dimension():
    module = _module("perceptron")
    W1, b1, W2, b2, X, T, lam = perceptron_point(np.random.default_rng(0), 5, 7, 9, 3)
    wrong_X = np.ones((5, 8))  # d = 7 from W1
    for function in (module.forward, module.gradient):
        with pytest.raises(ValueError, match=r"\bX\b") as error:
            function(W1, b1, W2, b2, wrong_X, T, lam)
        message = str(error.value)
        assert "(5, 8)" in message and re.search(r"\bd\b", message), message
    with pytest.raises(ValueError, match=r"\bT\b.*\bk\b"):
        module.gradient(W1, b1, W2, b2, X, np.ones((5, 4)), lam)  # k = 3 from W2
    with pytest.raises(ValueError, match=r"\bX\b"):
        module.gradient(W1, b1, W2, b2, X[0], T, lam)  # a vector where a matrix is declared


# ---- the training scripts --------------------------------------------------------------------

def _run_script(script: str, source: str, folder: Path, *args: str):
    """Run a copy of examples/SCRIPT beside a copy of its source in ``folder``, so that the
    module it compiles and anything it writes stay there."""
    for name in (script, source, "build_model.py"):
        shutil.copyfile(EXAMPLES / name, folder / name)
    return subprocess.run([sys.executable, str(folder / script), *args], cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)


def test_multiclass_logistic_script_separates_the_classes(tmp_path):
    result = _run_script("train_multiclass_logistic.py", "multiclass_logistic.txt", tmp_path,
                         "--steps", "100")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "multiclass_logistic.py").exists()  # compiled beside its source
    final = re.search(r"final loss ([\d.]+), training accuracy ([\d.]+)%", result.stdout)
    assert final, result.stdout
    assert float(final.group(2)) >= 99.0


def test_l2_regression_script_fits_the_data(tmp_path):
    result = _run_script("train_l2_regression.py", "l2_regression.txt", tmp_path,
                         "--steps", "100")
    assert result.returncode == 0, result.stderr
    losses = [float(v) for v in re.findall(r"^\s*\d+\s+([\d.e+-]+)\s", result.stdout, re.M)]
    assert len(losses) >= 2, result.stdout
    assert losses[-1] < losses[0] / 10


def test_perceptron_script_learns_the_digits(tmp_path):
    pytest.importorskip("sklearn")
    plot = tmp_path / "curve.png"
    result = _run_script("train_perceptron.py", "perceptron.txt", tmp_path, "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    accuracy = re.search(r"final test accuracy: ([\d.]+)%", result.stdout)
    assert accuracy, result.stdout
    assert float(accuracy.group(1)) >= 90.0
    assert re.search(r"^\s+5\s+[\d.]+\s", result.stdout, re.M), "prints the loss every 5 epochs"
    has_matplotlib = subprocess.run([sys.executable, "-c", "import matplotlib"],
                                    capture_output=True, check=False).returncode == 0
    if has_matplotlib:
        assert plot.read_bytes().startswith(b"\x89PNG")
    else:
        assert "matplotlib is not installed" in result.stdout
        assert not plot.exists()


def test_perceptron_script_options(tmp_path):
    pytest.importorskip("sklearn")
    result = _run_script("train_perceptron.py", "perceptron.txt", tmp_path, "--epochs", "2",
                         "--hidden", "8", "--lr", "0.1", "--seed", "3", "--every", "1",
                         "--no-plot")
    assert result.returncode == 0, result.stderr
    assert "8 hidden units" in result.stdout
    assert re.search(r"^\s+2\s+[\d.]+\s", result.stdout, re.M)
    assert "final test accuracy" in result.stdout
    assert not list(tmp_path.glob("*.png"))

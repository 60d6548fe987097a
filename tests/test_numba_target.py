"""The numba target (`gradgen.emit.numba_target`): ``--target numba`` computes a function of
numbers by compiled loops over its points, with the NumPy module's API and numbers.

Checked against the NumPy module (a different path through different code), central
differences and the lecture's numbers; at 1/0 and log(-1) both give NumPy's inf and NaN. Skipped
where numba is not installed (CI installs the ``numba`` extra, so they run there).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import central_difference, compile_module

from gradgen.pipeline import compile_source

numba = pytest.importorskip("numba")

LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"
SOURCES = [
    LECTURE,
    "f(x, y) = sin(x) * y\n",  # a partial that is a value of the forward sweep (sin(x))
    "f(x, y) = sigmoid(x * y) + softplus(x - y) + relu(y) * abs(x) + max(x, y) * min(x, 2)\n",
    "f(x, y) = where(x > 0, log(x) * y, y * y) + where(x < y and y > 0, sqrt(y), -x)\n",
    "f(x, y) = (x*x + 1)^y + hypot(x, y) * atan2(y, x) + log1p(x^2) * tanh(y)\n",
]


def _numba_module(text: str):
    return compile_source(text, "test.txt", target="numba").load()


@pytest.mark.parametrize("source", SOURCES)
def test_numba_module_gives_the_numpy_module_numbers(source: str) -> None:
    numpy_module, numba_module = compile_module(source), _numba_module(source)
    rng = np.random.default_rng(3)
    count = len(numpy_module.INPUTS)
    arrays = [rng.uniform(-2, 2, 1000) for _ in range(count)]
    for inputs in (arrays, [arrays[0].reshape(10, 100), *[float(a[0]) for a in arrays[1:]]],
                   [float(a[5]) for a in arrays], [np.float64(a[7]) for a in arrays]):
        with np.errstate(all="ignore"):
            want_value, want_partials = numpy_module.gradient(*inputs)
        value, partials = numba_module.gradient(*inputs)
        assert type(value) is type(want_value) and np.shape(value) == np.shape(want_value)
        np.testing.assert_allclose([value, *partials], [want_value, *want_partials],
                                   rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(numba_module.forward(*inputs), value, rtol=1e-15)


def test_numba_module_matches_the_lecture_and_central_differences() -> None:
    module = _numba_module(LECTURE)
    point = (2.0, -1.0, 0.0)
    value, partials = module.gradient(*point)
    np.testing.assert_allclose([value, *partials], [0.141, -3.96, -0.99, 1.99], atol=5e-3)
    for k in range(3):
        assert partials[k] == pytest.approx(central_difference(module.forward, point, k), rel=1e-7)


@pytest.mark.parametrize(("source", "point"), [
    ("f(x) = 1 / x\n", 0.0), ("f(x) = log(x)\n", -1.0), ("f(x) = exp(x) * x\n", 1000.0),
    ("f(x) = sqrt(x) + x\n", -4.0),
])
def test_where_math_would_raise_numba_gives_numpy_numbers(source: str, point: float) -> None:
    numba_module, numpy_module = _numba_module(source), compile_module(source)
    with np.errstate(all="ignore"):
        want = numpy_module.gradient(point)
        np.testing.assert_equal(numba_module.gradient(point), want)
        np.testing.assert_equal(numba_module.gradient(np.array([point, 1.0]))[0],
                                numpy_module.gradient(np.array([point, 1.0]))[0])


def test_results_are_fresh_arrays_of_the_broadcast_shape() -> None:
    module = _numba_module("f(x, y) = x + 0 * y\n")
    x = np.arange(6.0).reshape(2, 3)
    value, (x_bar, y_bar) = module.gradient(x, 1.5)
    assert value.shape == x_bar.shape == y_bar.shape == (2, 3)
    assert not np.shares_memory(value, x)
    np.testing.assert_array_equal(value, x)
    np.testing.assert_array_equal(y_bar, np.zeros((2, 3)))


def test_a_module_written_to_a_file_caches_its_compiled_code(tmp_path) -> None:
    source = tmp_path / "lecture.txt"
    source.write_text(LECTURE, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "gradgen", "compile", str(source), "--target", "numba"],
                   check=True)
    run = [sys.executable, "-c", "import lecture; print(lecture.gradient(2.0, -1.0, 0.0)[0])"]
    for _ in range(2):
        out = subprocess.run(run, cwd=tmp_path, check=True, capture_output=True, text=True)
        assert float(out.stdout) == pytest.approx(math.sin(3.0), rel=1e-15)
    assert list((tmp_path / "__pycache__").glob("lecture._gradient_on_floats-*.nbi"))


@pytest.mark.parametrize("source", [
    "def f(x, n: int):\n    s = x\n    for i in range(n):\n        s = sin(s)\n    return s\n",
    "def f(x: (n,)):\n    return sum(x * x)\n",
])
def test_outside_its_reach_the_numba_target_says_so_and_keeps_numpy(source: str) -> None:
    compiled = compile_source(source, "test.txt", target="numba")
    assert "this one is computed by NumPy" in compiled.source
    assert "import numba" not in compiled.source


def test_names_of_the_kernels_and_their_loop_index_are_apart_from_user_names() -> None:
    source = ("f(i, CACHE, _gradient_at_points, partials) = "
              "i * CACHE + sin(_gradient_at_points) * partials\n")
    module = _numba_module(source)
    for i, c, g, p in itertools.product((0.5, -1.0), repeat=4):
        want = [i * c + math.sin(g) * p, c, i, math.cos(g) * p, math.sin(g)]
        value, partials = module.gradient(i, c, g, p)  # the twin
        np.testing.assert_allclose([value, *partials], want, rtol=1e-15)
        arrays = [np.array([x, 2.0]) for x in (i, c, g, p)]
        value, partials = module.gradient(*arrays)  # the kernel, whose locals are i, partials
        np.testing.assert_allclose([value[0], *(d[0] for d in partials)], want, rtol=1e-15)

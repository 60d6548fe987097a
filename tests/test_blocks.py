"""Functions of numbers at large arrays are computed ``BLOCK`` points at a time
(`runtime._in_blocks`): the same numbers as one whole-array evaluation, fresh arrays of the
broadcast shape, and memory of a few blocks instead of one array per statement."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import compile_cached

from gradgen import runtime

SUM = "f(x, y) = " + " + ".join(f"sin(x*{k})*cos(y+{k})" for k in range(1, 11)) + "\n"
LOOP = ("def f(x, y, n: int):\n    s = x\n    for i in range(n):\n        s = s * cos(y) + sin(s)\n"
        "    return s\n")


def _fresh_module(text: str):
    """The module of ``text``, loaded anew (a test changes its ``BLOCK``)."""
    return compile_cached(text).load()


def _unblocked(module, name: str, *args):
    module.BLOCK = 10**12
    try:
        return getattr(module, name)(*args)
    finally:
        module.BLOCK = runtime.BLOCK


@pytest.mark.parametrize(("text", "extra"), [(SUM, ()), (LOOP, (3,))])
def test_blocks_give_the_numbers_of_one_whole_evaluation(text: str, extra: tuple) -> None:
    module = _fresh_module(text)
    rng = np.random.default_rng(1)
    size = 3 * runtime.BLOCK + 17  # a last block shorter than the others
    x, y = rng.uniform(-2, 2, size), rng.uniform(-2, 2, size)
    value, partials = module.gradient(x, y, *extra)
    whole_value, whole_partials = _unblocked(module, "gradient", x, y, *extra)
    np.testing.assert_array_equal(value, whole_value)
    for got, want in zip(partials, whole_partials):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(module.forward(x, y, *extra), whole_value)
    for k in (0, runtime.BLOCK - 1, runtime.BLOCK, size - 1):  # by floats, point by point
        point_value, point_partials = module.gradient(float(x[k]), float(y[k]), *extra)
        np.testing.assert_allclose([value[k], partials[0][k], partials[1][k]],
                                   [point_value, *point_partials], rtol=1e-13, atol=1e-14)


def test_blocks_broadcast_and_give_fresh_arrays() -> None:
    module = _fresh_module("f(x, y, z) = x * y + 0 * z\n")
    x = np.linspace(-1, 1, 5 * (runtime.BLOCK // 2 + 3)).reshape(-1, 5)  # 2.5 blocks and more
    value, (x_bar, y_bar, z_bar) = module.gradient(x, 2.0, np.float64(3.0))
    assert value.shape == x_bar.shape == y_bar.shape == z_bar.shape == x.shape
    np.testing.assert_array_equal(value, 2 * x)
    np.testing.assert_array_equal(x_bar, np.full(x.shape, 2.0))
    np.testing.assert_array_equal(y_bar, x)
    np.testing.assert_array_equal(z_bar, np.zeros(x.shape))
    assert not np.shares_memory(y_bar, x)
    y_bar[0, 0] = 99.0
    assert x[0, 0] != 99.0


def test_blocks_keep_memory_to_a_few_blocks() -> None:
    module = _fresh_module(SUM)
    x, y = np.linspace(-1, 1, 200_000), np.linspace(2, 3, 200_000)
    assert _peak(module.gradient, x, y) < 10 * x.nbytes  # 3 results, a few blocks' temporaries
    assert _peak(_unblocked, module, "gradient", x, y) > 30 * x.nbytes  # one per statement


def _peak(function, *args) -> int:
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_function_of_one_input_takes_its_blocks_too() -> None:
    """``_in_blocks(forward, (x,))``: the inputs are a tuple even of one (``(x)`` is ``x``,
    whose entries were taken for the arguments)."""
    module = _fresh_module("f(x) = sin(x) * x\n")
    x = np.linspace(-2, 2, runtime.BLOCK + 3)
    value, (x_bar,) = module.gradient(x)
    np.testing.assert_array_equal(module.forward(x), value)
    np.testing.assert_allclose(x_bar, np.cos(x) * x + np.sin(x), rtol=1e-15, atol=1e-15)

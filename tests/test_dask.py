"""Dask arrays stay lazy (issue 15, points 1 and 2): a module called with Dask arrays returns
Dask arrays, nothing computed before ``.compute()`` (counted by a Dask callback), equal to
NumPy's results to rounding."""

from pathlib import Path

import numpy as np
import pytest
from conftest import regression_data

import gradgen

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402

EXAMPLES = Path(__file__).parent.parent / "examples"


class Computes(Callback):
    """Counts the computes that start while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk) -> None:
        self.count += 1


def lazily(function, *args):
    """function(*args), checked to compute nothing; its results computed afterwards."""
    with Computes() as computes:
        results = function(*args)
    assert computes.count == 0
    leaves = results[:1] + tuple(results[1]) if isinstance(results, tuple) else (results,)
    assert all(isinstance(leaf, da.Array) for leaf in leaves)
    return dask.compute(results)[0]


def assert_close(got, want) -> None:
    got_leaves = (got[0], *got[1]) if isinstance(got, tuple) else (got,)
    want_leaves = (want[0], *want[1]) if isinstance(want, tuple) else (want,)
    for a, b in zip(got_leaves, want_leaves, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_elementwise_module_stays_lazy() -> None:
    module = gradgen.compile_source("f(x, y, z) = z + sin(x^2 + y*exp(z))").module
    x = np.linspace(0.0, 1.0, 50000)  # more than BLOCK points: no blocks on Dask
    lazy = da.from_array(x, chunks=10000)
    assert_close(lazily(module.forward, lazy, 2.0, lazy), module.forward(x, 2.0, x))
    assert_close(lazily(module.gradient, lazy, 2.0, lazy), module.gradient(x, 2.0, x))


@pytest.mark.parametrize("name", ["logistic_regression.txt", "l2_regression.txt",
                                  "perceptron.txt"])
def test_array_program_stays_lazy(name: str) -> None:
    module = gradgen.compile_source(EXAMPLES / name).module
    args = regression_data(name, 7, n=600, d=5, h=4)
    lazy = tuple(da.from_array(v, chunks=(200,) + np.shape(v)[1:]) if np.ndim(v) and
                 np.shape(v)[0] == 600 else da.from_array(np.asarray(v)) if np.ndim(v) else v
                 for v in args)
    assert_close(lazily(module.forward, *lazy), module.forward(*args))
    assert_close(lazily(module.gradient, *lazy), module.gradient(*args))


def test_unknown_shape_is_refused() -> None:
    module = gradgen.compile_source(EXAMPLES / "logistic_regression.txt").module
    X = da.from_array(np.ones((10, 2)), chunks=5)
    X = X[X[:, 0] > 0]  # chunks of unknown size: shape (nan, 2)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        module.gradient(da.ones(2), 0.0, X, da.ones(10), 0.1)


def test_the_task_graph_carries_no_array_of_the_datas_size() -> None:
    """A reduction's adjoint is broadcast where the data's chunks are (`_broadcast`): no NumPy
    array of all the rows enters the task graph (once a 30 MiB one for 4 million rows)."""
    module = gradgen.compile_source(EXAMPLES / "logistic_regression.txt", wrt="w,b").module
    n = 20_000
    X = da.random.default_rng(1).normal(size=(n, 3), chunks=(5000, 3))
    y = (da.random.default_rng(2).random(n, chunks=5000) > 0.5) * 1.0
    w = da.from_array(np.array([0.1, -0.2, 0.3]))
    _, (w_bar, b_bar) = module.gradient(w, 0.1, X, y, 0.01)
    embedded = [value for layer in w_bar.dask.layers.values() for value in
                getattr(layer, "mapping", {}).values() if isinstance(value, np.ndarray)]
    assert all(value.size < n for value in embedded)
    numpy = module.gradient(w.compute(), 0.1, X.compute(), y.compute(), 0.01)[1]
    np.testing.assert_allclose(w_bar.compute(), numpy[0], rtol=1e-12)

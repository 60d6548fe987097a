"""The logistic regression's value and gradient on a Dask cluster, where the data live.

The model is logistic_regression.txt (the mean log-loss of sigma(X w + b) plus lam/2 ||w||^2),
compiled with ``wrt="w,b"``. The rows of X and the labels y are made on the workers, in chunks
of rows (``dask.array``), and never gathered: the module is called with Dask arrays, builds a
lazy Dask graph (nothing computed yet; the call takes milliseconds) and ``dask.compute`` runs
it on the cluster, each worker reducing its own chunks. By default the cluster is a
``LocalCluster`` of 2 workers with a small memory limit each, and the data are larger in total
than one worker may hold: as one NumPy array they would not fit it. Pass ``--scheduler
HOST:8786`` to run on a real cluster instead (``Client("HOST:8786")``).

    python examples/dask_logistic.py [--samples 4000000] [--features 20] [--memory 512MiB]
                                     [--scheduler HOST:8786] [--check]

With ``--check`` the data are also gathered and the result compared with the module's on
NumPy arrays (for small sizes only).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import gradgen

HERE = Path(__file__).resolve().parent


def data(samples: int, features: int, chunk: int, seed: int):
    """(X, y) as lazy Dask arrays in chunks of rows, drawn on the workers from a logistic
    model: Gaussian inputs, labels of probability sigma(X w_true - 0.5)."""
    rng = da.random.default_rng(seed)
    w_true = np.random.default_rng(seed).normal(size=features)
    X = rng.normal(size=(samples, features), chunks=(chunk, features)) / np.sqrt(features)
    y = (rng.random(samples, chunks=chunk) < 1 / (1 + np.exp(-(X @ w_true - 0.5)))) * 1.0
    return X, y


def client(scheduler: str | None, memory: str) -> Client:
    """A client of the cluster at scheduler, else of a LocalCluster of 2 workers of memory each."""
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=memory,
                           dashboard_address=None)
    return Client(cluster)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=250_000, help="rows per chunk")
    parser.add_argument("--memory", default="512MiB", help="memory limit of a local worker")
    parser.add_argument("--scheduler", help="address of a running cluster's scheduler")
    parser.add_argument("--lam", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="compare with NumPy (small data)")
    args = parser.parse_args(argv)
    model = gradgen.compile_source(HERE / "logistic_regression.txt", wrt="w,b").module
    X, y = data(args.samples, args.features, args.chunk, args.seed)
    w, b = da.from_array(np.full(args.features, 0.1)), 0.2  # da: the weights' partial is lazy
    with client(args.scheduler, args.memory) as connection:
        start = time.perf_counter()
        value, (w_bar, b_bar) = model.gradient(w, b, X, y, args.lam)  # a graph, no compute
        built = time.perf_counter() - start
        value, w_bar, b_bar = dask.compute(value, w_bar, b_bar)
        seconds = time.perf_counter() - start - built
        workers = len(connection.scheduler_info()["workers"])
        print(f"{args.samples} rows x {args.features} features ({X.nbytes / 2**20:.0f} MiB in "
              f"{X.npartitions} chunks) on {workers} workers: graph in {built * 1e3:.1f} ms, "
              f"computed in {seconds:.2f} s")
        print(f"loss {float(value):.10f}, |gradient w| {np.linalg.norm(w_bar):.10f}, "
              f"gradient b {float(b_bar):.10f}")
        result = {"value": float(value), "w_bar": w_bar, "b_bar": float(b_bar)}
        if args.check:
            X_np, y_np = dask.compute(X, y)
            expected, (w_np, b_np) = model.gradient(np.full(args.features, 0.1), b, X_np, y_np,
                                                    args.lam)
            error = max(abs(float(value) - expected), np.max(np.abs(w_bar - w_np)),
                        abs(float(b_bar) - b_np))
            print(f"largest difference from NumPy's: {error:.1e}")
            result["error"] = float(error)
    return result


if __name__ == "__main__":
    main()

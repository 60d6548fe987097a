"""Logistic regression with many features, fitted by SciPy's trust-region Newton-CG method
with the gradient and the Hessian-vector product that gradgen generated.

The model is logistic_regression.txt: the mean log-loss of sigma(X w + b) plus lam/2 ||w||^2.
This script compiles it with ``--wrt w,b --hessian`` (into logistic_regression.py beside it),
so the module has ``gradient`` and ``hvp`` in (w, b); it never forms the (d+1) x (d+1) Hessian:
``scipy.optimize.minimize(..., method="trust-ncg", jac=True, hessp=...)`` asks only for products
of the Hessian with vectors, each one forward sweep over the gradient program. SciPy works on
one flat vector theta = (w, b): the module's ``pack``, ``flat_gradient`` and ``flat_hvp`` work
on it, the data passed as ``args`` (see also fit_scipy.py).

    python examples/fit_logistic_newton_cg.py [--samples 5000] [--features 300] [--lam 1e-3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from build_model import build_model

HERE = Path(__file__).resolve().parent


def synthetic_data(samples: int, features: int, seed: int):
    """(X, y): Gaussian inputs and labels drawn from a logistic model with sparse weights."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=features) * (rng.random(features) < 0.1)
    X = rng.normal(size=(samples, features)) / np.sqrt(features) * 4
    y = (rng.random(samples) < 1 / (1 + np.exp(-(X @ w_true - 0.5)))).astype(float)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--features", type=int, default=300)
    parser.add_argument("--lam", type=float, default=1e-3, help="L2 penalty on the weights")
    parser.add_argument("--method", default="trust-ncg", choices=("trust-ncg", "Newton-CG"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = build_model(HERE / "logistic_regression.txt", "--wrt", "w,b", "--hessian")
    X, y = synthetic_data(args.samples, args.features, args.seed)
    start = time.perf_counter()
    result = minimize(model.flat_gradient, model.pack(np.zeros(args.features), 0.0),
                      args=(X, y, args.lam), jac=True, hessp=model.flat_hvp,
                      method=args.method, options={"gtol": 1e-10})
    seconds = time.perf_counter() - start
    print(f"{args.samples} examples, {args.features} features, lam = {args.lam:g}")
    print(f"{args.method}: {result.nit} iterations, {result.nfev} gradients, "
          f"{result.nhev} Hessian-vector products, {seconds:.2f} s")
    print(f"final loss {result.fun:.12f}, |gradient| {np.linalg.norm(result.jac):.2e}")
    print("theta[:5] =", np.array2string(result.x[:5], precision=6), f"b = {result.x[-1]:.6f}")


if __name__ == "__main__":
    main()

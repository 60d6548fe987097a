"""Logistic regression fitted by SciPy on the module's own flat vector: ``pack``,
``flat_gradient``, ``flat_hvp`` and ``unpack``, with no glue code.

The model is logistic_regression.txt (the mean log-loss of sigma(X w + b) plus lam/2 ||w||^2).
This script compiles it with ``--wrt w,b --hessian`` (into logistic_regression.py beside it):
the module then packs (w, b) into one vector theta, and its ``flat_gradient(theta, X, y, lam)``
and ``flat_hvp(theta, v, X, y, lam)`` are what ``scipy.optimize.minimize`` asks for, the data
passed as ``args``. It fits twice, by L-BFGS-B (gradients only) and by trust-ncg (with
Hessian-vector products), and unpacks the answer.

    python examples/fit_scipy.py [--samples 2000] [--features 20] [--lam 1e-3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from build_model import build_model
from fit_logistic_newton_cg import synthetic_data

HERE = Path(__file__).resolve().parent
#: Each method of SciPy's minimize, and what it is given beyond the gradient.
METHODS = {"L-BFGS-B": {"options": {"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000}},
           "trust-ncg": {"hessp": "flat_hvp", "options": {"gtol": 1e-10}}}


def fit(model, method: str, X: np.ndarray, y: np.ndarray, lam: float):
    """SciPy's result of minimizing the loss over theta = pack(w, b) from zero."""
    options = dict(METHODS[method])
    if "hessp" in options:
        options["hessp"] = getattr(model, options["hessp"])
    theta = model.pack(np.zeros(X.shape[1]), 0.0)
    return minimize(model.flat_gradient, theta, args=(X, y, lam), jac=True, method=method,
                    **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--lam", type=float, default=1e-3, help="L2 penalty on the weights")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = build_model(HERE / "logistic_regression.txt", "--wrt", "w,b", "--hessian")
    X, y = synthetic_data(args.samples, args.features, args.seed)
    print(f"{args.samples} examples, {args.features} features, lam = {args.lam:g}")
    for method in METHODS:
        result = fit(model, method, X, y, args.lam)
        w, b = model.unpack(result.x, X, y, args.lam)
        print(f"{method}: {result.nit} iterations, loss {result.fun:.12f}, "
              f"|gradient| {np.linalg.norm(result.jac):.2e}")
        print(f"  w[:5] = {np.array2string(w[:5], precision=6)} b = {b:.6f}")


if __name__ == "__main__":
    main()

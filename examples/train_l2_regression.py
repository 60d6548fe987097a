"""L2-regularised logistic least squares (l2_regression.txt) fitted by gradient descent.

The loss and its gradient come from the module that gradgen generates; this script compiles
l2_regression.txt itself (``python -m gradgen compile l2_regression.txt --wrt w,b``, which
writes l2_regression.py beside it) and then only updates the parameters:

    python examples/train_l2_regression.py [--steps 400] [--lr 2.0] [--lam 1e-3] [--seed 0]

The data are synthetic and seeded: targets t = sigma(X w_true + b_true + noise) in (0, 1) for
Gaussian inputs X. Gradient descent from w = 0, b = 0 minimises the mean squared error of
y = sigma(X w + b) plus lam ||w||^2 / 2; it prints the loss every few steps and, at the end,
the fitted weights beside the true ones (the decay shrinks them a little).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from build_model import build_model

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "l2_regression.txt"
WRT = ("w", "b")


def synthetic_data(samples: int, features: int, seed: int, noise: float = 0.1):
    """(X, t, w_true, b_true): Gaussian inputs and targets sigma(X w_true + b_true + noise)."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(0.0, 1.0, features)
    b_true = 0.5
    X = rng.normal(0.0, 1.0, (samples, features))
    z = X @ w_true + b_true + noise * rng.normal(0.0, 1.0, samples)
    return X, 1.0 / (1.0 + np.exp(-z)), w_true, b_true


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--lr", type=float, default=2.0, help="step size of gradient descent")
    parser.add_argument("--lam", type=float, default=1e-3, help="L2 regularisation strength")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--features", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=50, help="print every EVERY steps")
    args = parser.parse_args()
    model = build_model(SOURCE, "--wrt", ",".join(WRT))
    X, t, w_true, b_true = synthetic_data(args.samples, args.features, args.seed)
    w, b = np.zeros(args.features), 0.0
    print(f"{args.samples} examples with {args.features} features")
    print(f"{'step':>5} {'loss':>11} {'|grad|':>9}")
    for step in range(args.steps + 1):
        loss, (dw, db) = model.gradient(w, b, X, t, args.lam)
        if step % args.every == 0 or step == args.steps:
            print(f"{step:5d} {loss:11.4e} {np.sqrt(dw @ dw + db * db):9.2e}")
        if step < args.steps:
            w, b = w - args.lr * dw, b - args.lr * db
    print(f"final loss {loss:.4e}")
    print(f"fitted w = {np.array2string(w, precision=3)}, b = {b:.3f}")
    print(f"true   w = {np.array2string(w_true, precision=3)}, b = {b_true:.3f}")


if __name__ == "__main__":
    main()

"""Multiclass logistic regression (multiclass_logistic.txt) trained by plain gradient descent.

The loss and its gradient come from the module that gradgen generates; this script compiles
multiclass_logistic.txt itself (``python -m gradgen compile multiclass_logistic.txt --wrt W,b``,
which writes multiclass_logistic.py beside it) and then only updates the parameters:

    python examples/train_multiclass_logistic.py [--steps 300] [--lr 1.0] [--seed 0]

The data are synthetic and seeded: points in the plane, each labelled with the largest of three
linear scores (so the three classes are linearly separable), with the points closer than a small
margin to a class boundary left out. Full-batch gradient descent, W <- W - lr * dloss/dW, from
zero weights; it prints the loss and the training accuracy every few steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from build_model import build_model

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "multiclass_logistic.txt"
WRT = ("W", "b")
CLASSES = 3


def separable_data(samples: int, seed: int, margin: float = 0.2):
    """(X, T, y): 2-D points, their one-hot targets and labels, three separable classes."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(CLASSES) / CLASSES
    W_true = np.stack([np.cos(angles), np.sin(angles)])  # class c scores the direction c
    X = rng.uniform(-2.0, 2.0, size=(3 * samples, 2))
    scores = np.sort(X @ W_true, axis=1)
    X = X[scores[:, -1] - scores[:, -2] > margin][:samples]
    y = np.argmax(X @ W_true, axis=1)
    return X, np.eye(CLASSES)[y], y


def accuracy(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows of X whose largest score X W + b is that of their class."""
    return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1.0, help="step size of gradient descent")
    parser.add_argument("--lam", type=float, default=1e-3, help="weight decay strength")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=50, help="print every EVERY steps")
    args = parser.parse_args()
    model = build_model(SOURCE, "--wrt", ",".join(WRT))
    X, T, y = separable_data(args.samples, args.seed)
    W, b = np.zeros((X.shape[1], CLASSES)), np.zeros(CLASSES)
    print(f"{len(X)} points in the plane, {CLASSES} separable classes")
    print(f"{'step':>5} {'loss':>9} {'accuracy':>9}")
    for step in range(args.steps + 1):
        loss, (dW, db) = model.gradient(W, b, X, T, args.lam)
        if step % args.every == 0 or step == args.steps:
            print(f"{step:5d} {loss:9.5f} {accuracy(W, b, X, y):9.2%}")
        if step < args.steps:
            W, b = W - args.lr * dW, b - args.lr * db
    print(f"final loss {loss:.5f}, training accuracy {accuracy(W, b, X, y):.2%}")


if __name__ == "__main__":
    main()

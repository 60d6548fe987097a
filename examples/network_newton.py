"""A small tanh network fitted by damped Newton steps with the Hessian that gradgen generated,
beside plain gradient descent.

The model is tiny_network.txt: h tanh units fitted to t = sin(x) on n points, by the mean
squared error. This script compiles it with ``--wrt W1,b1,W2,b2 --hessian`` (into
tiny_network.py beside it). The module's ``hessian`` gives the Hessian as blocks H[i][j], one
per pair of parameters (one hvp sweep per parameter entry); the script joins them into one
matrix and takes Levenberg-Marquardt-damped Newton steps, solving (H + mu I) p = -g and making
mu smaller after a step that lowers the loss, larger after one that does not. Gradient descent
with its best fixed step size, from the same start, is printed beside it.

    python examples/network_newton.py [--hidden 6] [--steps 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from build_model import build_model

HERE = Path(__file__).resolve().parent


class Network:
    """The compiled model at fixed data (x, t), as a function of one flat parameter vector."""

    def __init__(self, model, hidden: int, x: np.ndarray, t: np.ndarray) -> None:
        self.model, self.hidden, self.data = model, hidden, (x, t)

    def split(self, theta: np.ndarray) -> tuple:
        """(W1, b1, W2, b2) from the flat vector."""
        h = self.hidden
        return theta[:h], theta[h:2 * h], theta[2 * h:3 * h], theta[3 * h]

    def gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        loss, partials = self.model.gradient(*self.split(theta), *self.data)
        return loss, np.concatenate([np.ravel(p) for p in partials])

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """The Hessian's blocks joined into one (3h+1) x (3h+1) matrix."""
        sizes = [self.hidden] * 3 + [1]
        blocks = self.model.hessian(*self.split(theta), *self.data)
        return np.block([[np.reshape(block, (a, b)) for block, b in zip(row, sizes)]
                         for row, a in zip(blocks, sizes)])


def damped_newton(network: Network, theta: np.ndarray, steps: int) -> np.ndarray:
    """Levenberg-Marquardt-damped Newton steps; prints the loss as it goes."""
    mu = 1e-3
    loss, grad = network.gradient(theta)
    for step in range(steps + 1):
        if step % 10 == 0 or step == steps:
            print(f"newton {step:5d}  loss {loss:.6e}  |grad| {np.linalg.norm(grad):.2e}")
        if step == steps:
            break
        matrix = network.hessian(theta) + mu * np.eye(theta.size)
        trial = theta - np.linalg.solve(matrix, grad)
        trial_loss, trial_grad = network.gradient(trial)
        if trial_loss < loss:
            theta, loss, grad, mu = trial, trial_loss, trial_grad, max(mu / 3, 1e-12)
        else:
            mu *= 4
    return theta


def gradient_descent(network: Network, theta: np.ndarray, steps: int, rate: float) -> float:
    """Plain gradient descent with a fixed step; the last loss."""
    for _ in range(steps):
        loss, grad = network.gradient(theta)
        theta = theta - rate * grad
    return network.gradient(theta)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=6)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = build_model(HERE / "tiny_network.txt", "--wrt", "W1,b1,W2,b2", "--hessian")
    x = np.linspace(-3, 3, args.points)
    network = Network(model, args.hidden, x, np.sin(x))
    start = np.random.default_rng(args.seed).normal(size=3 * args.hidden + 1)
    theta = damped_newton(network, start, args.steps)
    print(f"after {args.steps} damped Newton steps: loss {network.gradient(theta)[0]:.3e}")
    for rate in (0.03, 0.1, 0.3):
        loss = gradient_descent(network, start, 100 * args.steps, rate)
        print(f"after {100 * args.steps} gradient descent steps of {rate}: loss {loss:.3e}")


if __name__ == "__main__":
    main()

"""Newton's method on Rosenbrock's function with the Hessian that gradgen generated.

The lecture notes (seed 000) run gradient descent from (-1.8, 1.5) to the minimum (1, 1) of
f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, which takes thousands of steps along the curved valley
(examples/rosenbrock_descent.py). Newton's method steps by the curvature instead: it solves
H(x) p = -grad f(x) for the step p, and halves it until f decreases (a backtracking line
search: far from the minimum the full Newton step may overshoot). This script compiles
rosenbrock.txt with ``--hessian`` (into rosenbrock_hessian.py beside it), then runs:

    python examples/rosenbrock_newton.py [--tol 1e-10]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from build_model import build_model

HERE = Path(__file__).resolve().parent
START = (-1.8, 1.5)
MINIMUM = (1.0, 1.0)


def newton_step(model, point: np.ndarray, value: float, grad: np.ndarray
                ) -> tuple[np.ndarray, float, float]:
    """One Newton step from ``point`` with backtracking: the new point, f there, the step
    length taken (1 for a full Newton step)."""
    step = np.linalg.solve(np.array(model.hessian(*point)), -grad)
    if grad @ step >= 0:  # not a descent direction (H not positive definite): descend instead
        step = -grad
    length = 1.0
    while length > 1e-12:
        trial = point + length * step
        trial_value = model.forward(*trial)
        if trial_value <= value + 1e-4 * length * (grad @ step):
            return trial, trial_value, length
        length /= 2
    return point, value, 0.0


def newton(model, start: tuple[float, float], tol: float, max_iter: int):
    """Newton's method from ``start`` until |grad f| < ``tol``; the last point and iterations."""
    point = np.array(start)
    value, grad = model.gradient(*point)
    grad = np.array(grad)
    print(f"{'iter':>4} {'x':>12} {'y':>12} {'f(x, y)':>12} {'|grad f|':>10} {'step':>6}")
    length = 0.0
    for iteration in range(max_iter + 1):
        print(f"{iteration:4d} {point[0]:12.8f} {point[1]:12.8f} {value:12.4e} "
              f"{math.hypot(*grad):10.3e} {length:6.3g}")
        if math.hypot(*grad) < tol:
            break
        point, value, length = newton_step(model, point, value, grad)
        grad = np.array(model.gradient(*point)[1])
    return point, iteration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-10, help="stop when |grad f| < TOL")
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()
    model = build_model(HERE / "rosenbrock.txt", "--hessian", name="rosenbrock_hessian")
    (x, y), iterations = newton(model, START, args.tol, args.max_iter)
    print(f"final point after {iterations} Newton steps: ({x:.12f}, {y:.12f}); "
          f"distance to the minimum (1, 1): {math.dist((x, y), MINIMUM):.1e}")


if __name__ == "__main__":
    main()

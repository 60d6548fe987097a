"""Gradient descent on Rosenbrock's function with the gradient that gradgen generated.

The lecture notes (seed 000) start gradient descent at (-1.8, 1.5) and reach the minimum (1, 1)
of f(x, y) = (1 - x)^2 + 100 (y - x^2)^2. This script does the same with the module compiled
from rosenbrock.txt; it compiles nothing itself. First build the module, then run:

    gradgen compile examples/rosenbrock.txt      # writes examples/rosenbrock.py
    python examples/rosenbrock_descent.py

Each step is x <- x - eta * grad f(x). The step size eta comes from a backtracking line search
(Armijo's rule): a fixed eta small enough for the steep walls of the valley (curvature about
3300 at the start) would crawl along its flat floor (curvature 0.4 near the minimum).
"""

from __future__ import annotations

import argparse
import math
import sys

try:
    import rosenbrock
except ModuleNotFoundError as error:
    if error.name != "rosenbrock":
        raise
    sys.exit("rosenbrock_descent.py: the generated module 'rosenbrock' is missing; build it "
             "first with:\n    gradgen compile examples/rosenbrock.txt")

START = (-1.8, 1.5)
MINIMUM = (1.0, 1.0)


def line_search(point: tuple[float, float], value: float, grad: tuple[float, float],
                eta: float) -> tuple[tuple[float, float], float, float]:
    """Halve ``eta`` until the step decreases f enough; return the new point, f and eta."""
    slope = grad[0] ** 2 + grad[1] ** 2
    while True:
        trial = (point[0] - eta * grad[0], point[1] - eta * grad[1])
        trial_value = rosenbrock.forward(*trial)
        if trial_value <= value - 0.5 * eta * slope or eta < 1e-12:
            return trial, trial_value, eta
        eta /= 2


def descend(start: tuple[float, float], tol: float, max_iter: int, every: int):
    """Run gradient descent from ``start`` until |grad f| < ``tol``; return the last point."""
    point, eta = start, 1e-3
    value, grad = rosenbrock.gradient(*point)
    print(f"{'iter':>6} {'x':>12} {'y':>12} {'f(x, y)':>12} {'|grad f|':>10} {'step':>9}")
    for iteration in range(max_iter + 1):
        norm = math.hypot(*grad)
        if iteration % every == 0 or norm < tol:
            print(f"{iteration:6d} {point[0]:12.8f} {point[1]:12.8f} {value:12.4e} "
                  f"{norm:10.3e} {eta:9.2e}")
        if norm < tol:
            break
        point, value, eta = line_search(point, value, grad, 2 * eta)
        value, grad = rosenbrock.gradient(*point)
    return point, iteration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-6, help="stop when |grad f| < TOL")
    parser.add_argument("--max-iter", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=1000, help="print every EVERY iterations")
    args = parser.parse_args()
    (x, y), iterations = descend(START, args.tol, args.max_iter, args.every)
    distance = math.dist((x, y), MINIMUM)
    print(f"final point after {iterations} iterations: ({x:.6f}, {y:.6f}); "
          f"distance to the minimum (1, 1): {distance:.1e}")


if __name__ == "__main__":
    main()

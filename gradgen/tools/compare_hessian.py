"""Tools: `compare_hessian`, the ways to a Hessian side by side: forward mode over reverse mode
(``hvp``, then one sweep per colour), SymPy's second derivatives with and without CSE, and
central differences of the gradient.

Like `compare`, it returns data (a `Comparison` whose quantities are the Hessian's entries on
and below the diagonal) and the command line prints it (`gradgen.tools.report`): the entries at
a point, then what each route costs: the operations of its ``hvp`` program, the time to derive
it, and the time of one ``hvp`` and of one whole ``hessian`` on a batch of points.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import gradgen.tools.differences as differences
from gradgen.ir.graph import Graph
from gradgen.pipeline import Compiled, build_derivative, build_forward, build_hvp
from gradgen.tools.check import require_straight_line_scalars
from gradgen.tools.compare import (
    Comparison,
    Cost,
    Quantity,
    derived,
    differences_from_first,
    warm_up_sympy,
)
from gradgen.tools.points import random_points
from gradgen.tools.timing import best_call_time

#: Each route's column heading, the first the one the others are compared with.
LABELS = {"ad": "forward over reverse", "symbolic": "symbolic", "central": "central differences"}
#: The compiled routes: ``symbolic`` derives without CSE, ``symbolic-cse`` with it.
_KEYS = ("ad", "symbolic", "symbolic-cse")
#: The label of each compiled route's cost.
_COSTS = (("hvp, forward over reverse", "ad"), ("hvp, symbolic, no CSE", "symbolic"),
          ("hvp, symbolic, CSE", "symbolic-cse"))
_DECLINED = ("compare --hessian sets the routes side by side for straight-line scalar "
             "functions, and {name} has {what} (SymPy takes those only); 'gradgen check "
             "--hessian' tests its hvp against central differences of the gradient")


def compare_hessian(text: str, path: str = "<string>", at: dict[str, float] | None = None,
                    batch: int = 10_000, seed: int = 0) -> Comparison:
    """The Hessian by every route at one point, and what each route costs (a symbolic route
    past one of SymPy's limits is reported in ``notes``, with NaN for its numbers)."""
    forward = build_forward(text, path, straight_line=True)
    require_straight_line_scalars(forward, _DECLINED)
    warm_up_sympy()
    routes = {key: _Route(forward, path, key) for key in _KEYS}
    module = routes["ad"].compiled.module
    names = tuple(module.INPUTS)
    point = at or dict(zip(names, map(float, random_points(module, 1, seed)[0])))
    quantities = _entries(forward.name, names, _hessians(routes, [point[n] for n in names]))
    absolute, relative = differences_from_first(quantities, tuple(LABELS))
    costs = _costs(forward, routes, random_points(module, batch, seed).T)
    notes = [route.declined for route in routes.values() if route.declined]
    return Comparison(forward.name, point, quantities, absolute, relative, costs, batch, notes,
                      dict(LABELS))


def _hessians(routes: dict[str, _Route], args: list[float]) -> dict[str, np.ndarray]:
    """The Hessian at ``args`` by each route of `LABELS`."""
    module = routes["ad"].compiled.module
    return {"ad": routes["ad"].hessian(args), "symbolic": routes["symbolic-cse"].hessian(args),
            "central": _central(module, args)}


def _central(module, args: list[float]) -> np.ndarray:
    """The Hessian by central differences of the gradient, one column per input."""
    def partials(*xs: float) -> tuple[float, ...]:
        return module.gradient(*xs)[1]

    return np.array([differences.along(partials, args, {j: 1.0}) for j in range(len(args))]).T


def _entries(function: str, names: tuple[str, ...],
             hessians: dict[str, np.ndarray]) -> list[Quantity]:
    """The entries on and below the diagonal, as each route computes them."""
    return [Quantity(f"d2{function}/d{a}d{b}" if a != b else f"d2{function}/d{a}2",
                     {route: float(rows[i][j]) for route, rows in hessians.items()})
            for i, a in enumerate(names) for j, b in enumerate(names[:i + 1])]


def _costs(forward: Graph, routes: dict[str, _Route], points: np.ndarray) -> list[Cost]:
    """What the gradient costs, then each route's hvp and the whole Hessian of forward mode
    over reverse mode."""
    gradient = routes["ad"].compiled.module.gradient
    program = Cost("gradient program", len(routes["ad"].compiled.derivative.edges), None,
                   best_call_time(lambda: gradient(*points)))
    module = routes["ad"].compiled.module
    whole = Cost(f"hessian, {len(module.HESSIAN_COLOURS)} hvp sweeps", None, None,
                 best_call_time(lambda: module.hessian(*points)))
    return [program, *(routes[key].cost(label, points) for label, key in _COSTS), whole]


class _Route:
    """One way of deriving the Hessian-vector product, compiled and timed (or declined)."""

    def __init__(self, forward: Graph, path: str, key: str) -> None:
        self.method = "ad" if key == "ad" else "symbolic"
        self.cse = key != "symbolic"
        self.inputs = len(forward.inputs)
        hvp, self.seconds, self.declined = derived(
            key, lambda: build_hvp(forward, None, None, self.method, self.cse))
        self.compiled = None if hvp is None else self.emit(forward, hvp, path)

    def emit(self, forward: Graph, hvp: Graph, path: str) -> Compiled:
        from gradgen.emit.module import emit_module

        gradient = build_derivative(forward)
        source = emit_module(forward, gradient, Path(path).name, "gradgen compare --hessian",
                             hvp=hvp)
        return Compiled(forward, gradient, source, hvp=hvp)

    def hessian(self, args: list[float]) -> np.ndarray:
        if self.compiled is None:
            return np.full((self.inputs, self.inputs), math.nan)
        return np.array(self.compiled.module.hessian(*args), dtype=float)

    def cost(self, label: str, points: np.ndarray) -> Cost:
        if self.compiled is None:
            return Cost(label, None, self.seconds, None)
        hvp = self.compiled.module.hvp
        seed = tuple(1.0 for _ in range(self.inputs))
        return Cost(label, len(self.compiled.hvp.edges), self.seconds,
                    best_call_time(lambda: hvp(*points, seed)))

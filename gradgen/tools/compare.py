"""Tools: `compare`, every way to differentiate side by side: reverse mode, forward mode, SymPy,
central differences.

`compare` compiles one source every way, evaluates value and partials at a point, and measures
what each route costs (operations, time to derive, time per call). It returns data; the command
line prints it (`gradgen.tools.report`). `check` (`gradgen.tools.check`) and `format_seconds`
(`gradgen.tools.timing`) are also found here, where the API and the benchmarks import them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import gradgen.tools.differences as differences
from gradgen.emit.module import emit_module
from gradgen.errors import LimitError
from gradgen.ir.graph import Graph
from gradgen.ir.interpret import interpret
from gradgen.pipeline import (
    Compiled,
    build_derivative,
    build_error_bound,
    build_forward,
    source_arguments,
)
from gradgen.tools.check import check, require_straight_line_scalars
from gradgen.tools.points import point_at, random_points
from gradgen.tools.timing import best_call_time, format_seconds

__all__ = ["ROUTES", "Comparison", "Cost", "Quantity", "best_call_time", "check", "compare",
           "format_seconds"]

ROUTES = ("reverse", "forward", "symbolic", "central")
#: Each route's column heading in the report.
LABELS = {"reverse": "reverse", "forward": "forward", "symbolic": "symbolic",
          "central": "central differences"}

#: The compiled routes: ``symbolic`` derives without CSE, ``symbolic-cse`` with it.
_KEYS = ("reverse", "forward", "symbolic", "symbolic-cse")
#: The route whose numbers each column of the comparison shows.
_NUMBERS = (("reverse", "reverse"), ("forward", "forward"), ("symbolic", "symbolic-cse"))
#: Value and partials at a point, by route.
Results = dict[str, tuple[float, list[float]]]
#: Why a function that is not a straight-line function of numbers is declined.
_DECLINED = ("compare sets the routes side by side for straight-line scalar functions, and "
             "{name} has {what} (SymPy and forward mode take those only); 'gradgen check' tests "
             "its gradient against central differences")
#: The label of each compiled route's cost.
_COSTS = (("reverse-mode gradient", "reverse"), ("forward-mode gradient", "forward"),
          ("symbolic gradient, no CSE", "symbolic"), ("symbolic gradient, CSE", "symbolic-cse"))


@dataclass
class Quantity:
    """The value or one partial, as each route computes it."""

    name: str
    values: dict[str, float]


@dataclass
class Cost:
    """What one route costs: IR operations, seconds to derive, seconds per call on a batch."""

    route: str
    operations: int | None  # None: the route was declined (see Comparison.notes)
    derive_seconds: float | None
    call_seconds: float | None


@dataclass
class Comparison:
    function: str
    point: dict[str, float]
    quantities: list[Quantity]
    largest_abs_difference: dict[str, float]
    largest_rel_difference: dict[str, float]
    costs: list[Cost]
    batch: int
    notes: list[str] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=lambda: dict(LABELS))  # key -> heading;
    #                                               the first is the one the others are from
    value_bound: float | None = None  # the first-order bound on the value's rounding error


def compare(text: str | Path, path: str = "<string>", at: dict[str, float] | None = None,
            batch: int = 10_000, seed: int = 0) -> Comparison:
    """Value and partials by every route at one point, and what each route costs. ``text``
    is source text, or a `pathlib.Path` to read; ``at`` gives a value for each input.

    A symbolic route past one of SymPy's limits (`LimitError`) is reported in ``notes``, with
    NaN for its numbers and None for its costs.
    """
    text, path, _ = source_arguments(text, path)
    forward, routes = _routes(text, path)
    reverse = routes["reverse"].compiled.module
    names = tuple(reverse.INPUTS)
    point = point_at(at or dict(zip(names, random_points(reverse, 1, seed)[0])), names)
    quantities = _quantities(forward.name, names, _results(routes, [point[n] for n in names]))
    absolute, relative = differences_from_first(quantities, ROUTES)
    costs = _costs(forward, routes, random_points(reverse, batch, seed).T)
    notes = [route.declined for route in routes.values() if route.declined]
    bound = value_bound(forward, text, path, [point[n] for n in names])
    return Comparison(forward.name, point, quantities, absolute, relative, costs, batch, notes,
                      value_bound=bound)


def value_bound(forward: Graph, text: str, path: str, args: list[float]) -> float | None:
    """The first-order bound on the value's float64 rounding error at ``args`` (the module's
    ``error_bound``, see `differentiate.error_bound`), None where it is declined."""
    try:
        graph = build_error_bound(forward, text, path)
    except LimitError:
        return None
    return float(interpret(graph, *args)[1])


def _routes(text: str, path: str) -> tuple[Graph, dict[str, _Route]]:
    """The forward graph of a straight-line scalar function, and every route compiled."""
    forward = build_forward(text, path, straight_line=True)
    require_straight_line_scalars(forward, _DECLINED)
    warm_up_sympy()
    return forward, {key: _Route(forward, path, key) for key in _KEYS}


def warm_up_sympy() -> None:
    """SymPy loads much of itself on first use: pay that before timing the symbolic route."""
    import sympy  # here, not at the top: compiling without comparing never imports SymPy

    x = sympy.Symbol("x", real=True)
    sympy.cse([sympy.diff(sympy.sin(x) * sympy.exp(x) / (1 + x**2), x)])


def _results(routes: dict[str, _Route], args: list[float]) -> Results:
    """Value and partials at ``args`` by each route of `ROUTES`."""
    results = {route: routes[key].gradient(args) for route, key in _NUMBERS}
    function = routes["reverse"].compiled.module.forward
    results["central"] = (function(*args), differences.gradient(function, args))
    return results


def _quantities(function: str, names: tuple[str, ...], results: Results) -> list[Quantity]:
    """The value, then each partial, as each route computes it."""
    value = Quantity(function, {r: v for r, (v, _) in results.items()})
    return [value, *(Quantity(f"d{function}/d{name}", {r: p[i] for r, (_, p) in results.items()})
                     for i, name in enumerate(names))]


def _costs(forward: Graph, routes: dict[str, _Route], points: np.ndarray) -> list[Cost]:
    """What the forward program costs, then each route's gradient."""
    function = routes["reverse"].compiled.module.forward
    program = Cost("forward program", len(forward.edges), None,
                   best_call_time(lambda: function(*points)))
    return [program, *(routes[key].cost(label, points) for label, key in _COSTS)]


def differences_from_first(quantities: list[Quantity], routes: tuple[str, ...]
                           ) -> tuple[dict[str, float], dict[str, float]]:
    """The largest absolute and relative difference of each route from the first."""
    absolute = {route: 0.0 for route in routes[1:]}
    relative = dict(absolute)
    for quantity in quantities:
        reference = quantity.values[routes[0]]
        for route in absolute:
            difference = abs(quantity.values[route] - reference)
            absolute[route] = max(absolute[route], difference)
            relative[route] = max(relative[route], difference / max(abs(reference), 1e-300))
    return absolute, relative


def derived(key: str, build: Callable[[], Graph]) -> tuple[Graph | None, float, str]:
    """The graph ``build`` derives from a cleared SymPy cache (each symbolic route derives from
    scratch), the seconds it took, and why route ``key`` was declined past a limit (None and
    the reason; else "")."""
    import sympy

    sympy.core.cache.clear_cache()
    start = time.perf_counter()
    try:
        graph, declined = build(), ""
    except LimitError as error:
        graph, declined = None, f"{key}: {error}"
    return graph, time.perf_counter() - start, declined


class _Route:
    """One way of deriving the gradient, compiled and timed (or declined past a limit)."""

    def __init__(self, forward: Graph, path: str, key: str) -> None:
        self.mode = "forward" if key == "forward" else "reverse"
        self.method = "symbolic" if key.startswith("symbolic") else "ad"
        self.cse = key != "symbolic"
        self.inputs = len(forward.inputs)
        derivative, self.seconds, self.declined = derived(
            key, lambda: build_derivative(forward, None, self.mode, self.method, self.cse))
        self.compiled = None if derivative is None else self.emit(forward, derivative, path)

    def emit(self, forward: Graph, derivative: Graph, path: str) -> Compiled:
        name = Path(path).name
        source = emit_module(forward, derivative, name, "gradgen compare", self.description)
        return Compiled(forward, derivative, source, self.mode, self.method)

    @property
    def description(self) -> str:
        """The route, as the header of its module names it."""
        return f"{self.mode} mode" if self.method == "ad" else f"symbolic, CSE {self.cse}"

    def gradient(self, args: list[float]) -> tuple[float, list[float]]:
        if self.compiled is None:
            return math.nan, [math.nan] * self.inputs
        return self.compiled.module.gradient(*args)

    def cost(self, label: str, points: np.ndarray) -> Cost:
        if self.compiled is None:
            return Cost(label, None, self.seconds, None)
        gradient = self.compiled.module.gradient
        return Cost(label, self.operations(), self.seconds,
                    best_call_time(lambda: gradient(*points)))

    def operations(self) -> int:
        """The derivative program's IR operations (forward mode: one sweep per input)."""
        operations = len(self.compiled.derivative.edges)
        return operations * max(1, self.inputs) if self.mode == "forward" else operations

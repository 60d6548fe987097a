"""Comparing the ways to differentiate: reverse mode, forward mode, SymPy, central differences.

`compare` compiles one source every way, evaluates value and partials at a point, and measures
what each route costs (operations, time to derive, time per call); `check` tests a gradient
against central differences (and SymPy) at random points. Both return data; the command line
prints it (`format_comparison`, `format_check`).
"""

from __future__ import annotations

import importlib.util
import math
import time
import timeit
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy

import gradgen.tools.differences as differences
from gradgen.emit.module import emit_module
from gradgen.errors import LimitError
from gradgen.ir.graph import Graph, has_arrays, has_loops
from gradgen.pipeline import Compiled, build_derivative, build_forward, compile_source

#: Boxes tried, in order, for random points: the first where the function and its gradient are
#: finite is used (log, sqrt, acosh, asin... each have one of these inside their domain).
SAMPLING_BOXES = ((0.5, 1.5), (0.1, 0.9), (1.1, 2.0), (-1.0, 1.0), (-3.0, 3.0), (-0.9, -0.1))
ROUTES = ("reverse", "forward", "symbolic", "central")


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


@dataclass
class CheckResult:
    function: str
    points: int
    tolerance: float
    worst_error: float
    worst_point: dict[str, float]
    worst_partial: str
    passed: bool
    compared_with: list[str]


# ---- points ---------------------------------------------------------------------------------

def parse_point(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """``"x=2,y=-1,z=0"`` → ``{"x": 2.0, ...}``; every input must be given once."""
    point: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, number = item.partition("=")
        name = name.strip()
        if not equals or name not in names:
            raise ValueError(f"expected NAME=NUMBER with NAME one of {', '.join(names)}, "
                             f"got {item!r}")
        if name in point:
            raise ValueError(f"{name} is given twice")
        try:
            point[name] = float(number)
        except ValueError:
            raise ValueError(f"{item!r}: {number.strip()!r} is not a number") from None
    missing = [name for name in names if name not in point]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return point


def parse_dims(text: str | None) -> dict[str, int]:
    """``"n=5,d=3"`` → ``{"n": 5, "d": 3}``: sizes of named dimensions."""
    dims: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, equals, size = item.partition("=")
        if not equals or not name.strip().isidentifier() or not size.strip().isdigit():
            raise ValueError(f"expected NAME=SIZE, got {item!r}")
        dims[name.strip()] = int(size)
    return dims


def random_points(module: types.ModuleType, count: int, seed: int = 0) -> np.ndarray:
    """``count`` points (rows) where the function and its gradient are finite."""
    rng = np.random.default_rng(seed)
    width = len(module.INPUTS)
    for low, high in SAMPLING_BOXES:
        points = rng.uniform(low, high, size=(count, width))
        value, partials = module.gradient(*points.T)
        finite = np.isfinite(value) & np.all(np.isfinite(np.atleast_2d(partials)), axis=0)
        if np.all(finite):
            return points
    return points[finite] if np.any(finite) else points


# ---- compare --------------------------------------------------------------------------------

def compare(text: str, path: str = "<string>", at: dict[str, float] | None = None,
            batch: int = 10_000, seed: int = 0) -> Comparison:
    """Value and partials by every route at one point, and what each route costs.

    A symbolic route past one of SymPy's limits (`LimitError`) is reported in ``notes``, with
    NaN for its numbers and None for its costs.
    """
    forward = build_forward(text, path, straight_line=True)
    if has_arrays(forward) or has_loops(forward) or _has_whole_inputs(forward):
        what = ("arrays" if has_arrays(forward) else "a loop" if has_loops(forward)
                else "whole-number inputs")
        raise LimitError(f"compare sets the routes side by side for straight-line scalar "
                         f"functions, and {forward.name} has {what} (SymPy and forward mode "
                         "take those only); 'gradgen check' tests its gradient against central "
                         "differences")
    _warm_up_sympy()
    routes = {key: _Route(forward, path, key) for key in ("reverse", "forward", "symbolic",
                                                          "symbolic-cse")}
    reverse = routes["reverse"].compiled.module
    names = tuple(reverse.INPUTS)
    point = at or dict(zip(names, map(float, random_points(reverse, 1, seed)[0])))
    args = [point[name] for name in names]
    results = {route: routes[key].gradient(args)
               for route, key in (("reverse", "reverse"), ("forward", "forward"),
                                  ("symbolic", "symbolic-cse"))}
    results["central"] = (reverse.forward(*args), differences.gradient(reverse.forward, args))
    quantities = [Quantity(forward.name, {r: v for r, (v, _) in results.items()})]
    quantities += [Quantity(f"d{forward.name}/d{name}", {r: p[i] for r, (_, p) in results.items()})
                   for i, name in enumerate(names)]
    absolute, relative = _differences(quantities)
    points = random_points(reverse, batch, seed).T
    costs = [Cost("forward program", len(forward.edges), None,
                  best_call_time(lambda: reverse.forward(*points)))]
    costs += [routes[key].cost(label, points) for label, key in (
        ("reverse-mode gradient", "reverse"), ("forward-mode gradient", "forward"),
        ("symbolic gradient, no CSE", "symbolic"), ("symbolic gradient, CSE", "symbolic-cse"))]
    notes = [route.declined for route in routes.values() if route.declined]
    return Comparison(forward.name, point, quantities, absolute, relative, costs, batch, notes)


def _warm_up_sympy() -> None:
    """SymPy loads much of itself on first use: pay that before timing the symbolic route."""
    x = sympy.Symbol("x", real=True)
    sympy.cse([sympy.diff(sympy.sin(x) * sympy.exp(x) / (1 + x**2), x)])


class _Route:
    """One way of deriving the gradient, compiled and timed (or declined past a limit)."""

    def __init__(self, forward: Graph, path: str, key: str) -> None:
        self.mode = "forward" if key == "forward" else "reverse"
        method = "symbolic" if key.startswith("symbolic") else "ad"
        cse = key != "symbolic"
        self.inputs = len(forward.inputs)
        self.compiled: Compiled | None = None
        self.declined = ""
        sympy.core.cache.clear_cache()  # each symbolic route differentiates from scratch
        start = time.perf_counter()
        try:
            derivative = build_derivative(forward, None, self.mode, method, cse)
        except LimitError as error:
            self.declined = f"{key}: {error}"
            return
        finally:
            self.seconds = time.perf_counter() - start
        description = f"{self.mode} mode" if method == "ad" else f"symbolic, CSE {cse}"
        source = emit_module(forward, derivative, Path(path).name, "gradgen compare",
                             description)
        self.compiled = Compiled(forward, derivative, source, self.mode, method)

    def gradient(self, args: list[float]) -> tuple[float, list[float]]:
        if self.compiled is None:
            return math.nan, [math.nan] * self.inputs
        return self.compiled.module.gradient(*args)

    def cost(self, label: str, points: np.ndarray) -> Cost:
        if self.compiled is None:
            return Cost(label, None, self.seconds, None)
        operations = len(self.compiled.derivative.edges)
        if self.mode == "forward":
            operations *= max(1, self.inputs)  # one sweep of the JVP program per input
        gradient = self.compiled.module.gradient
        return Cost(label, operations, self.seconds, best_call_time(lambda: gradient(*points)))


def best_call_time(function: Callable[[], object], repeat: int = 3) -> float:
    """Seconds per call: the best of ``repeat`` runs of as many calls as fill 0.2 s."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def _differences(quantities: list[Quantity]) -> tuple[dict[str, float], dict[str, float]]:
    """The largest absolute and relative difference of each route from reverse mode."""
    absolute = {route: 0.0 for route in ROUTES[1:]}
    relative = dict(absolute)
    for quantity in quantities:
        reference = quantity.values["reverse"]
        for route in absolute:
            difference = abs(quantity.values[route] - reference)
            absolute[route] = max(absolute[route], difference)
            relative[route] = max(relative[route], difference / max(abs(reference), 1e-300))
    return absolute, relative


# ---- check ----------------------------------------------------------------------------------

def check(text: str, path: str = "<string>", points: int = 100, tolerance: float = 1e-6,
          module: types.ModuleType | None = None, seed: int = 0,
          dims: dict[str, int] | None = None) -> CheckResult:
    """Test a gradient (the one gradgen generates, or ``module``'s) against central differences
    and SymPy at random points; the error of a partial is relative to max(1, |partial|).

    For a function of arrays, ``dims`` gives the sizes of named dimensions (3 if not given),
    each partial entry is compared with central differences (SymPy takes scalars only), and an
    array value is reduced to a number by a random cotangent (the module's ``vjp``).
    """
    compiled = compile_source(text, path)
    module = module or compiled.module
    if has_arrays(compiled.forward) or has_loops(compiled.forward) or _has_whole_inputs(
            compiled.forward):
        return _check_arrays(compiled, module, points, tolerance, dims or {}, seed)
    references = [("central differences", None)]
    symbolic = None if has_loops(compiled.forward) else _symbolic_module(text, path)
    if symbolic is not None:
        references.append(("SymPy", symbolic))
    worst = (0.0, {}, "")
    names = tuple(compiled.module.INPUTS)
    for row in random_points(compiled.module, points, seed):
        args = [float(a) for a in row]
        _, partials = module.gradient(*args)
        for label, reference in references:
            expected = (differences.gradient(compiled.module.forward, args)
                        if reference is None else reference.gradient(*args)[1])
            for name, got, want in zip(names, partials, expected):
                error = abs(got - want) / max(1.0, abs(want))
                if not error <= worst[0]:  # NaN counts as the worst
                    worst = (error if not math.isnan(error) else math.inf,
                             dict(zip(names, args)), f"d/d{name} vs {label}")
    return CheckResult(compiled.forward.name, points, tolerance, worst[0], worst[1], worst[2],
                       worst[0] <= tolerance, [label for label, _ in references])


def _has_whole_inputs(forward: Graph) -> bool:
    """Whether an input is declared ``N: int`` (held fixed, never differentiated)."""
    return any(var.dtype == "int" for var in forward.inputs)


def _check_arrays(compiled: Compiled, module: types.ModuleType, points: int,
                  tolerance: float, dims: dict[str, int], seed: int) -> CheckResult:
    """Entry by entry against central differences, at a few random points; scalar inputs
    named in ``dims`` (trip counts) and ``N: int`` inputs (3 unless named) are held at that
    whole number and not differentiated."""
    forward = compiled.forward
    names = [var.name for var in forward.inputs]
    shapes = [tuple(d if isinstance(d, int) else dims.get(d, 3) for d in var.shape)
              for var in forward.inputs]
    fixed = {k: float(dims.get(var.name, 3)) for k, var in enumerate(forward.inputs)
             if not var.shape and (var.name in dims or var.dtype == "int")}
    wrt = getattr(module, "WRT", compiled.module.WRT)
    rng = np.random.default_rng(seed)
    worst = (0.0, {}, "")
    count = min(points, ARRAY_CHECK_POINTS)
    for _ in range(count):
        args, cotangent = _array_point(compiled.module, shapes, fixed, rng)
        expected = _array_central_differences(compiled.module.forward, args, cotangent, fixed)
        _, partials = (module.gradient(*args) if cotangent is None
                       else module.vjp(*args, cotangent))
        for name, got in zip(wrt, partials):
            k = names.index(name)
            if k in fixed:
                continue
            want = expected[k]
            error = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)), initial=0))
            if not error <= worst[0]:
                worst = (error if not math.isnan(error) else math.inf, {},
                         f"d/d{name} vs central differences")
    return CheckResult(forward.name, count, tolerance, worst[0], {}, worst[2],
                       worst[0] <= tolerance, ["central differences"])


#: Array points are checked entry by entry (two calls per entry): a few points suffice.
ARRAY_CHECK_POINTS = 5


def _array_point(module: types.ModuleType, shapes: list[tuple[int, ...]],
                 fixed: dict[int, float],
                 rng: np.random.Generator) -> tuple[list[Any], np.ndarray | None]:
    """Random inputs of the given shapes in the first box where the value is finite (the
    ``fixed`` ones as given), and a random cotangent if the value is an array."""
    for low, high in SAMPLING_BOXES:
        args = [fixed[k] if k in fixed else rng.uniform(low, high, size=shape)
                for k, shape in enumerate(shapes)]
        try:
            with np.errstate(all="ignore"):
                value = module.forward(*args)
        except ValueError as error:  # a trip count drawn at random is not a whole number
            raise ValueError(f"{error}; give integer inputs (trip counts) a value with "
                             "--dims, e.g. N=10") from None
        if np.all(np.isfinite(value)):
            break
    cotangent = rng.normal(size=np.shape(value)) if np.shape(value) else None
    return args, cotangent


def _array_central_differences(function: Callable, args: list[Any],
                               cotangent: np.ndarray | None,
                               fixed: dict[int, float]) -> list[np.ndarray | None]:
    """Central differences of ``<cotangent, function>`` in every entry of every argument
    (but the ``fixed`` ones)."""
    def scalar(*xs: np.ndarray) -> float:
        value = function(*xs)
        return float(value if cotangent is None else np.sum(cotangent * value))

    return [None if index in fixed else differences.jacobian(scalar, args, index)
            for index in range(len(args))]


def _symbolic_module(text: str, path: str) -> types.ModuleType | None:
    try:
        return compile_source(text, path, method="symbolic").module
    except LimitError:  # too deep for SymPy: central differences alone are the reference
        return None


def load_module_file(path: str) -> types.ModuleType:
    """Import a Python module from a file (a generated module to be checked)."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None:
        raise OSError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- printing -------------------------------------------------------------------------------

def format_comparison(comparison: Comparison) -> str:
    """The comparison as two plain-text tables: the numbers, then the costs."""
    at = ", ".join(f"{name}={value:g}" for name, value in comparison.point.items())
    lines = [f"{comparison.function} at {at}", ""]
    lines += _table(["", *ROUTES[:3], "central differences"],
                    [[q.name, *(f"{q.values[r]:.17g}" for r in ROUTES)]
                     for q in comparison.quantities])
    lines.append("")
    lines.append("largest difference from reverse mode: " + "; ".join(
        f"{route} {comparison.largest_abs_difference[route]:.2g} "
        f"(relative {comparison.largest_rel_difference[route]:.2g})"
        for route in ROUTES[1:]))
    lines.append("")
    lines += _table(["cost", "operations", "time to derive",
                     f"per call, {comparison.batch:,} points"],
                    [[c.route, "-" if c.operations is None else f"{c.operations:,}",
                      format_seconds(c.derive_seconds), format_seconds(c.call_seconds)]
                     for c in comparison.costs])
    lines += [""] + [f"note: {note}" for note in comparison.notes] if comparison.notes else []
    return "\n".join(lines) + "\n"


def format_check(result: CheckResult) -> str:
    verdict = "ok" if result.passed else "MISMATCH"
    where = ", ".join(f"{name}={value:.17g}" for name, value in result.worst_point.items())
    return (f"{verdict}: gradient of {result.function} against "
            f"{' and '.join(result.compared_with)} at {result.points} random points\n"
            f"worst relative error {result.worst_error:.3g} (tolerance {result.tolerance:g})"
            + (f", {result.worst_partial} at {where}" if where else "") + "\n")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths))).rstrip()
    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


def format_seconds(value: float | None, missing: str = "—") -> str:
    """``12.3 µs``, ``4.56 ms``, ``1.23 s``; ``missing`` for a time not measured."""
    if value is None:
        return missing
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"

"""Tools: `check`, a gradient tested against central differences (and SymPy) at random points.

The gradient gradgen generates for a source, or an existing module's, is compared partial by
partial; the error of a partial is relative to max(1, |partial|) and the worst one is kept
(NaN counts as the worst). A function of numbers is compared at many random points with
central differences and SymPy's gradient; a function of arrays (or with loops, or with whole
number inputs) entry by entry with central differences at a few points. `format_check` in
`gradgen.tools.report` prints the result.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import gradgen.tools.differences as differences
from gradgen.errors import LimitError
from gradgen.ir.graph import Graph, Var, has_arrays, has_loops
from gradgen.pipeline import Compiled, compile_source, source_arguments
from gradgen.tools.points import SAMPLING_BOXES, random_points

#: Array points are checked entry by entry (two calls per entry): a few points suffice.
ARRAY_CHECK_POINTS = 5

#: A reference a gradient is compared with: its label, and the module giving its partials
#: (None: central differences of the function).
Reference = tuple[str, types.ModuleType | None]


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
    checked: str = "gradient"  # or "hvp"


def check(text: str | Path, path: str = "<string>", points: int = 100, tolerance: float = 1e-6,
          module: types.ModuleType | None = None, seed: int = 0,
          dims: dict[str, int] | None = None) -> CheckResult:
    """Test a gradient (the one gradgen generates, or ``module``'s) against central differences
    and SymPy at random points; the error of a partial is relative to max(1, |partial|).

    For a function of arrays, ``dims`` gives the sizes of named dimensions (3 if not given),
    each partial entry is compared with central differences (SymPy takes scalars only), and an
    array value is reduced to a number by a random cotangent (the module's ``vjp``).
    """
    text, path, _ = source_arguments(text, path)
    compiled = compile_source(text, path)
    given, module = module, module or compiled.module
    if beyond_scalars(compiled.forward) is not None:
        result = _check_arrays(compiled, module, points, tolerance, dims or {}, seed)
    else:
        result = _check_numbers(compiled, module, _references(text, path), points, tolerance,
                                seed)
    return _with_own_check(result, given, points, seed) if given else result


def _with_own_check(result: CheckResult, module: types.ModuleType, points: int,
                    seed: int) -> CheckResult:
    """A given module that carries its own ``check`` (`runtime.check`) runs it too: the result
    passes only if both do, and names it among what the gradient was compared with."""
    if not callable(getattr(module, "check", None)):
        return result
    own = module.check(points=points, seed=seed)
    return dataclasses.replace(result, passed=result.passed and bool(own["passed"]),
                               compared_with=[*result.compared_with, "the module's own check"])


def check_hessian(text: str | Path, path: str = "<string>", points: int = 100,
                  tolerance: float = 1e-6, module: types.ModuleType | None = None, seed: int = 0,
                  dims: dict[str, int] | None = None) -> CheckResult:
    """Test a module's ``hvp`` (the one gradgen generates with ``--hessian``, or ``module``'s)
    at random points along random tangents: against central differences of its ``gradient``,
    against SymPy's Hessian where SymPy can derive one (functions of numbers), and its
    ``hessian`` for symmetry and against ``hvp``'s columns (its colouring's recovery). Errors
    are relative to max(1, |entry|), as `check`'s."""
    text, path, _ = source_arguments(text, path)
    compiled = compile_source(text, path, hessian=True)
    module = module or compiled.module
    if not hasattr(module, "hvp"):
        raise LimitError("the module has no hvp: compile it with --hessian")
    if beyond_scalars(compiled.forward) is not None:
        return _check_hessian_arrays(compiled, module, points, tolerance, dims or {}, seed)
    return _check_hessian_numbers(compiled, module, _hessian_references(text, path), points,
                                  tolerance, seed)


def _check_hessian_arrays(compiled: Compiled, module: types.ModuleType, points: int,
                          tolerance: float, dims: dict[str, int], seed: int) -> CheckResult:
    """At a few random points (drawn as `check` draws them for arrays): ``hvp`` along a random
    tangent against central differences of the gradient."""
    checking = _array_check(compiled, module, dims, seed)
    count = min(points, ARRAY_CHECK_POINTS)
    for _ in range(count):
        _check_hvp_at(checking.worst, checking.finite_point()[0], module, checking.fixed, [],
                      checking.rng)
    return checking.worst.result(compiled.forward.name, count, tolerance,
                                 ["central differences of the gradient"], "hvp")


def _hessian_references(text: str, path: str) -> list[Reference]:
    """SymPy's Hessian, where SymPy can derive one."""
    try:
        return [("SymPy", compile_source(text, path, method="symbolic", hessian=True).module)]
    except LimitError:
        return []


def _check_hessian_numbers(compiled: Compiled, module: types.ModuleType,
                           references: list[Reference], points: int, tolerance: float,
                           seed: int) -> CheckResult:
    """At ``points`` random points: ``hvp`` along a random tangent, and ``hessian``."""
    worst, rng = _Worst(), np.random.default_rng(seed + 1)
    for row in random_points(compiled.module, points, seed):
        args = [float(a) for a in row]
        _check_hvp_at(worst, args, module, {}, references, rng)
        rows = np.array(module.hessian(*args), dtype=float)
        worst.see(_array_error(rows, rows.T), _named(module, args), "hessian vs its transpose")
        worst.see(_array_error(rows, _columns_by_hvp(module, args)), _named(module, args),
                  "hessian vs hvp's columns")
    labels = ["central differences of the gradient", *(label for label, _ in references)]
    return worst.result(compiled.forward.name, points, tolerance, labels, "hvp")


def _columns_by_hvp(module: types.ModuleType, args: list[float]) -> np.ndarray:
    """The Hessian by one hvp per input of WRT (a unit tangent each): its columns."""
    count = len(module.WRT)
    units = np.eye(count)
    return np.array([module.hvp(*args, tuple(units[j])) for j in range(count)], dtype=float).T


def _check_hvp_at(worst: _Worst, args: list[Any], module: types.ModuleType,
                  fixed: dict[int, float], references: list[Reference],
                  rng: np.random.Generator) -> None:
    """``module.hvp`` at ``args`` along a random tangent (0 for the inputs held ``fixed``)
    against central differences of ``module.gradient`` and each reference's ``hvp``."""
    positions = [module.INPUTS.index(name) for name in module.WRT]
    tangents = [np.zeros(np.shape(args[k])) if k in fixed else rng.normal(size=np.shape(args[k]))
                for k in positions]
    got = module.hvp(*args, tuple(tangents))
    expected = [("central differences of the gradient",
                 differences.along(lambda *xs: module.gradient(*xs)[1], args,
                                   dict(zip(positions, tangents))))]
    expected += [(label, reference.hvp(*args, tuple(tangents))) for label, reference in references]
    point = _named(module, args) if not np.ndim(args[0]) else {}
    for label, wanted in expected:
        for name, k, have, want in zip(module.WRT, positions, got, wanted):
            if k not in fixed:
                worst.see(_array_error(have, want), point, f"hvp in {name} vs {label}")


def _named(module: types.ModuleType, args: list[Any]) -> dict[str, float]:
    return dict(zip(module.INPUTS, args))


def has_whole_inputs(forward: Graph) -> bool:
    """Whether an input is declared ``N: int`` (held fixed, never differentiated)."""
    return any(var.dtype == "int" for var in forward.inputs)


#: What can make a graph more than a straight-line function of numbers, in the order asked.
_BEYOND_SCALARS = ((has_arrays, "arrays"), (has_loops, "a loop"),
                   (has_whole_inputs, "whole-number inputs"))


def beyond_scalars(forward: Graph) -> str | None:
    """What makes ``forward`` more than a straight-line function of numbers (the first of
    `_BEYOND_SCALARS` it has), or None: SymPy, forward mode and the traces take those only."""
    return next((what for has, what in _BEYOND_SCALARS if has(forward)), None)


def require_straight_line_scalars(forward: Graph, message: str) -> None:
    """A `LimitError` with ``message`` (``{name}`` and ``{what}`` filled in) if `beyond_scalars`."""
    what = beyond_scalars(forward)
    if what is not None:
        raise LimitError(message.format(name=forward.name, what=what))


class _Worst:
    """The worst error seen so far (NaN counts as the worst), where, and in which partial."""

    def __init__(self) -> None:
        self.error = 0.0
        self.point: dict[str, float] = {}
        self.partial = ""

    def see(self, error: float, point: dict[str, float], partial: str) -> None:
        if not error <= self.error:
            self.error = error if not math.isnan(error) else math.inf
            self.point, self.partial = point, partial

    def result(self, function: str, points: int, tolerance: float,
               compared_with: list[str], checked: str = "gradient") -> CheckResult:
        return CheckResult(function, points, tolerance, self.error, self.point, self.partial,
                           self.error <= tolerance, compared_with, checked)


# ---- functions of numbers -------------------------------------------------------------------

def _references(text: str, path: str) -> list[Reference]:
    """Central differences, and SymPy's gradient where SymPy can derive one."""
    symbolic = _symbolic_module(text, path)
    sympy = [] if symbolic is None else [("SymPy", symbolic)]
    return [("central differences", None), *sympy]


def _symbolic_module(text: str, path: str) -> types.ModuleType | None:
    try:
        return compile_source(text, path, method="symbolic").module
    except LimitError:  # too deep for SymPy: central differences alone are the reference
        return None


def _check_numbers(compiled: Compiled, module: types.ModuleType, references: list[Reference],
                   points: int, tolerance: float, seed: int) -> CheckResult:
    """At ``points`` random points, against each reference."""
    worst = _Worst()
    for row in random_points(compiled.module, points, seed):
        _check_at(worst, [float(a) for a in row], compiled.module, module, references)
    labels = [label for label, _ in references]
    return worst.result(compiled.forward.name, points, tolerance, labels)


def _check_at(worst: _Worst, args: list[float], generated: types.ModuleType,
              module: types.ModuleType, references: list[Reference]) -> None:
    """``module``'s partials at ``args`` against each reference's (``generated``: the module
    gradgen generates, whose function central differences take), by both of its paths: on
    floats (its float twin, where it has one) and on NumPy scalars."""
    names = tuple(generated.INPUTS)
    for label, reference in references:
        expected = _expected(generated, reference, args)
        for path, inputs in (("", args), (", NumPy path", [np.float64(a) for a in args])):
            _, partials = module.gradient(*inputs)
            for name, got, want in zip(names, partials, expected):
                worst.see(abs(got - want) / max(1.0, abs(want)), dict(zip(names, args)),
                          f"d/d{name} vs {label}{path}")


def _expected(generated: types.ModuleType, reference: types.ModuleType | None,
              args: list[float]) -> list[float]:
    """A reference's partials at ``args`` (None: central differences of the function)."""
    if reference is None:
        return differences.gradient(generated.forward, args)
    return reference.gradient(*args)[1]


# ---- functions of arrays --------------------------------------------------------------------

def _check_arrays(compiled: Compiled, module: types.ModuleType, points: int,
                  tolerance: float, dims: dict[str, int], seed: int) -> CheckResult:
    """Entry by entry against central differences, at a few random points; the fixed inputs
    (see `_array_check`) are not differentiated."""
    checking = _array_check(compiled, module, dims, seed)
    count = min(points, ARRAY_CHECK_POINTS)
    for _ in range(count):
        checking.check_point()
    return checking.worst.result(compiled.forward.name, count, tolerance,
                                 ["central differences"])


def _array_check(compiled: Compiled, module: types.ModuleType, dims: dict[str, int],
                 seed: int) -> _ArrayCheck:
    """The check of ``module``'s partials, with inputs drawn as ``dims`` says."""
    inputs = compiled.forward.inputs
    wrt = getattr(module, "WRT", compiled.module.WRT)
    return _ArrayCheck([var.name for var in inputs], _shapes(inputs, dims), _fixed(inputs, dims),
                       wrt, compiled.module, module, np.random.default_rng(seed))


def _shapes(inputs: tuple[Var, ...], dims: dict[str, int]) -> list[tuple[int, ...]]:
    """Each input's shape, its dimensions sized by ``dims`` (3 unless named)."""
    return [tuple(d if isinstance(d, int) else dims.get(d, 3) for d in var.shape)
            for var in inputs]


def _fixed(inputs: tuple[Var, ...], dims: dict[str, int]) -> dict[int, float]:
    """The scalar inputs held at a whole number, by position: those named in ``dims`` (trip
    counts) and ``N: int`` inputs (3 unless named)."""
    return {k: float(dims.get(var.name, 3)) for k, var in enumerate(inputs)
            if not var.shape and (var.name in dims or var.dtype == "int")}


@dataclass
class _ArrayCheck:
    """A function of arrays checked at random points: how its inputs are drawn (their names
    and shapes, and the scalar inputs held at a whole number, by position), the module
    gradgen generates (whose function central differences take), the module checked and the
    partials it gives (``wrt``), and the worst error so far."""

    names: list[str]
    shapes: list[tuple[int, ...]]
    fixed: dict[int, float]
    wrt: tuple[str, ...]
    generated: types.ModuleType
    module: types.ModuleType
    rng: np.random.Generator
    worst: _Worst = field(default_factory=_Worst)

    def check_point(self) -> None:
        """The checked module's partials at one random point against central differences."""
        args, cotangent = self.point()
        expected = self.central_differences(args, cotangent)
        module = self.module
        _, partials = module.gradient(*args) if cotangent is None else module.vjp(*args, cotangent)
        for name, got in zip(self.wrt, partials):
            self.see(name, got, expected)

    def see(self, name: str, got: Any, expected: list[np.ndarray | None]) -> None:
        """The error of the partial in input ``name``, unless that input is held fixed."""
        k = self.names.index(name)
        if k not in self.fixed:
            self.worst.see(_array_error(got, expected[k]), {}, f"d/d{name} vs central differences")

    def point(self) -> tuple[list[Any], np.ndarray | None]:
        """Random inputs where the value is finite, and a random cotangent for an array value."""
        args, value = self.finite_point()
        cotangent = self.rng.normal(size=np.shape(value)) if np.shape(value) else None
        return args, cotangent

    def finite_point(self) -> tuple[list[Any], Any]:
        """Inputs in the first of the `SAMPLING_BOXES` where the value is finite (else the last
        box's), and the value there."""
        for low, high in SAMPLING_BOXES:
            args = self.draw(low, high)
            value = _value_at(self.generated, args)
            if np.all(np.isfinite(value)):
                break
        return args, value

    def draw(self, low: float, high: float) -> list[Any]:
        """Random inputs between ``low`` and ``high`` (the fixed ones as given)."""
        return [self.fixed[k] if k in self.fixed else self.rng.uniform(low, high, size=shape)
                for k, shape in enumerate(self.shapes)]

    def central_differences(self, args: list[Any],
                            cotangent: np.ndarray | None) -> list[np.ndarray | None]:
        """Central differences of ``<cotangent, function>`` in every entry of every argument
        (but the fixed ones)."""
        function = self.generated.forward

        def scalar(*xs: np.ndarray) -> float:
            value = function(*xs)
            return float(value if cotangent is None else np.sum(cotangent * value))

        return [None if index in self.fixed else differences.jacobian(scalar, args, index)
                for index in range(len(args))]


def _array_error(got: Any, want: Any) -> float:
    """The largest error of an entry, relative to max(1, |entry|)."""
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)), initial=0))


def _value_at(module: types.ModuleType, args: list[Any]) -> Any:
    try:
        with np.errstate(all="ignore"):
            return module.forward(*args)
    except ValueError as error:  # a trip count drawn at random is not a whole number
        raise ValueError(f"{error}; give integer inputs (trip counts) a value with "
                         "--dims, e.g. N=10") from None


def load_module_file(path: str) -> types.ModuleType:
    """Import a Python module from a file (a generated module to be checked)."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None:
        raise OSError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

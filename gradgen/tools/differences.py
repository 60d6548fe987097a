"""Numerical derivatives by central differences: the oracle that `compare`, `check` and the
tests share, one implementation for numbers and arrays alike.

A tool beside the pipeline (it calls functions, never graphs). The step is relative to the
entry, ``step * max(1, |x|)``, so that it is neither lost in rounding for large entries nor
needlessly coarse for small ones; the error is of order step² times the third derivative,
plus rounding of order ε / step. Arguments that are not differentiated (an ``N: int``) are
passed on as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: The default relative step: about the cube root of float64's ε, where the two errors meet.
STEP = 1e-6


def step_for(value: float, step: float = STEP) -> float:
    """The step at an entry of size ``value``."""
    return step * max(1.0, abs(float(value)))


def partial(function: Callable[..., Any], args: Sequence[Any], index: int,
            position: tuple[int, ...] = (), step: float = STEP) -> Any:
    """d function / d args[index][position] (the value's shape: a number or an array)."""
    given = np.array(args[index], dtype=float)
    h = step_for(given[position], step)
    up, down = given.copy(), given.copy()
    up[position] += h
    down[position] -= h
    return _difference(function, args, index, up, down) / (up[position] - down[position])


def jacobian(function: Callable[..., Any], args: Sequence[Any], index: int,
             step: float = STEP) -> np.ndarray:
    """d function / d args[index], entry by entry: shaped value + argument."""
    shape = np.shape(args[index])
    columns = [partial(function, args, index, position, step) for position in np.ndindex(shape)]
    value_shape = np.shape(columns[0]) if columns else np.shape(function(*args))
    stacked = np.array(columns, dtype=float).reshape(shape + value_shape)
    return np.moveaxis(stacked, tuple(range(len(shape))), tuple(range(-len(shape), 0)))


def gradient(function: Callable[..., Any], args: Sequence[Any],
             indices: Sequence[int] | None = None, step: float = STEP) -> list[Any]:
    """The Jacobian in each argument of ``indices`` (all, if None); for a function with a
    number value, the partials, each shaped like its argument."""
    chosen = range(len(args)) if indices is None else indices
    return [jacobian(function, args, index, step)[()] for index in chosen]


def pointwise(function: Callable[..., Any], args: Sequence[Any], index: int,
              step: float = STEP) -> Any:
    """d function / d args[index] of a function evaluated point by point (a scalar module
    called with arrays of points): every entry moved at once, each by its own step."""
    given = np.asarray(args[index], dtype=float)
    h = step * np.maximum(1.0, np.abs(given))
    up, down = given + h, given - h
    return _difference(function, args, index, up, down) / (up - down)


def along(function: Callable[..., Any], args: Sequence[Any], directions: dict[int, Any],
          step: float = STEP) -> list[Any]:
    """The derivative of ``function`` (whose value is a tuple of numbers or arrays: a
    gradient's partials) along ``directions`` (argument index -> direction of its shape): every
    argument moved at once, by one step relative to the largest entry moved."""
    largest = max((float(np.max(np.abs(args[k]), initial=0.0)) for k in directions), default=0.0)
    h = step * max(1.0, largest)
    plus = [arg + h * directions[k] if k in directions else arg for k, arg in enumerate(args)]
    minus = [arg - h * directions[k] if k in directions else arg for k, arg in enumerate(args)]
    return [(np.asarray(a) - np.asarray(b)) / (2 * h)
            for a, b in zip(function(*plus), function(*minus))]


def _difference(function: Callable[..., Any], args: Sequence[Any], index: int, up: np.ndarray,
                down: np.ndarray) -> Any:
    """``function`` with argument ``index`` at ``up`` minus with it at ``down``."""
    plus, minus = _replaced(args, index, up[()]), _replaced(args, index, down[()])
    return np.asarray(function(*plus)) - np.asarray(function(*minus))


def _replaced(args: Sequence[Any], index: int, value: Any) -> list[Any]:
    return [value if k == index else arg for k, arg in enumerate(args)]

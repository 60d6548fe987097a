"""Tools: the points a tool evaluates at, parsed from text (``x=2,y=-1``) or drawn at random.

`parse_point` and `parse_dims` read the command line's ``--at`` and ``--dims``, `point_at`
checks the API's ``at`` (a value for each input);
`random_points` draws points where a generated module's function and gradient are finite,
trying the boxes of `SAMPLING_BOXES` in order.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping

import numpy as np

#: Boxes tried, in order, for random points: the first where the function and its gradient are
#: finite is used (log, sqrt, acosh, asin... each have one of these inside their domain).
SAMPLING_BOXES = ((0.5, 1.5), (0.1, 0.9), (1.1, 2.0), (-1.0, 1.0), (-3.0, 3.0), (-0.9, -0.1))


def parse_point(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """``"x=2,y=-1,z=0"`` → ``{"x": 2.0, ...}``; every input must be given once."""
    point: dict[str, float] = {}
    for item in _items(text):
        _add(point, item, names)
    return point_at(point, names)


def point_at(point: Mapping[str, float], names: tuple[str, ...]) -> dict[str, float]:
    """``point`` as a number for each input of ``names``, in their order; a missing or unknown
    input is a ValueError naming it and the inputs expected."""
    missing = [name for name in names if name not in point]
    unknown = [repr(name) for name in point if name not in names]
    if missing or unknown:
        problem = f"no value for {', '.join(missing)}" if missing else \
            f"{', '.join(unknown)} is not an input"
        raise ValueError(f"{problem}; expected a value for each input: {', '.join(names)}")
    return {name: float(point[name]) for name in names}


def _add(point: dict[str, float], item: str, names: tuple[str, ...]) -> None:
    """The value ``"x=2"`` gives, added to ``point``, which has none for x yet."""
    name, number = _named(item, names)
    if name in point:
        raise ValueError(f"{name} is given twice")
    point[name] = _number(item, number)


def _items(text: str) -> Iterator[str]:
    """The non-empty items of a comma-separated list, stripped."""
    return filter(None, (part.strip() for part in text.split(",")))


def _named(item: str, names: tuple[str, ...]) -> tuple[str, str]:
    """``"x=2"`` → ``("x", "2")``, for a name among ``names``."""
    name, equals, number = item.partition("=")
    name = name.strip()
    if not equals or name not in names:
        raise ValueError(f"expected NAME=NUMBER with NAME one of {', '.join(names)}, "
                         f"got {item!r}")
    return name, number


def _number(item: str, number: str) -> float:
    try:
        return float(number)
    except ValueError:
        raise ValueError(f"{item!r}: {number.strip()!r} is not a number") from None


def parse_dims(text: str | None) -> dict[str, int]:
    """``"n=5,d=3"`` → ``{"n": 5, "d": 3}``: sizes of named dimensions."""
    return dict(_size(item) for item in _items(text or ""))


def _size(item: str) -> tuple[str, int]:
    """``"n=5"`` → ``("n", 5)``."""
    name, equals, size = item.partition("=")
    if not equals or not name.strip().isidentifier() or not size.strip().isdigit():
        raise ValueError(f"expected NAME=SIZE, got {item!r}")
    return name.strip(), int(size)


def random_points(module: types.ModuleType, count: int, seed: int = 0) -> np.ndarray:
    """``count`` points (rows) where the function and its gradient are finite."""
    rng = np.random.default_rng(seed)
    width = len(module.INPUTS)
    for low, high in SAMPLING_BOXES:
        points = rng.uniform(low, high, size=(count, width))
        finite = _finite(module, points)
        if np.all(finite):
            return points
    return points[finite] if np.any(finite) else points


def _finite(module: types.ModuleType, points: np.ndarray) -> np.ndarray:
    """Whether the function and its gradient are finite, point by point."""
    value, partials = module.gradient(*points.T)
    return np.isfinite(value) & np.all(np.isfinite(np.atleast_2d(partials)), axis=0)

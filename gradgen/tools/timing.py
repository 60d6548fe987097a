"""Tools: time, measured and written: seconds per call of a function, and seconds as people
read them (``12.3 µs``); `compare` and the benchmarks use both."""

from __future__ import annotations

import timeit
from collections.abc import Callable


def best_call_time(function: Callable[[], object], repeat: int = 3) -> float:
    """Seconds per call: the best of ``repeat`` runs of as many calls as fill 0.2 s."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def format_seconds(value: float | None, missing: str = "—") -> str:
    """``12.3 µs``, ``4.56 ms``, ``1.23 s``; ``missing`` for a time not measured."""
    if value is None:
        return missing
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"

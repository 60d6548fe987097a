"""What the benchmarks share: one BLAS thread, interleaved timing, peak memory, the machine.

Import this module before NumPy (it sets the BLAS thread count, which NumPy reads when it loads
its BLAS): one thread unless the environment says otherwise. Both sides of a comparison make
the same BLAS calls; threads there only add noise on a shared machine (a stalled thread costs
milliseconds), and one thread leaves the code around those calls a larger share of the time,
so a ratio is the stricter for it.
"""

from __future__ import annotations

import os

BLAS_THREADS = os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", BLAS_THREADS)
os.environ.setdefault("MKL_NUM_THREADS", BLAS_THREADS)

import datetime  # noqa: E402
import platform  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from gradgen import __version__  # noqa: E402
from gradgen.tools.compare import best_call_time  # noqa: E402


def peak_memory(function: Callable, inputs: tuple) -> int:
    """Bytes allocated at the peak of one call, above what was allocated before it (NumPy
    reports its arrays to tracemalloc)."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = function(*inputs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def interleaved_times(functions: dict[str, Callable], inputs: tuple,
                      rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each function, one `best_call_time` per round, taken in turn (so
    that the machine's slow moments fall on every function alike)."""
    for function in functions.values():  # warm up: caches, BLAS threads, page faults
        function(*inputs)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            times[name].append(best_call_time(lambda f=function: f(*inputs), repeat=1))
    return times


def environment() -> str:
    """The versions, the machine and the date, for a report's header."""
    return (f"gradgen {__version__}, NumPy {np.__version__}, Python {platform.python_version()},"
            f" {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
            f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; "
            f"{datetime.date.today().isoformat()}.")

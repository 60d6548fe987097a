"""Benchmark (peers): interleaved timing, paired ratios, the check against SymPy.

Timing is timeit-style: a warm-up call, a loop count calibrated so one repeat takes at least
``target`` seconds, then ``repeats`` rounds in which every entry is timed once, in turn, so the
machine's slow moments fall on every peer alike; a ratio is taken round by round (paired) and
the median of the rounds reported.
"""

from __future__ import annotations

import gc
import math
import signal
import statistics
import time

import numpy as np

RTOL = 1e-10  # normwise relative error a peer may have against the SymPy reference


class Timeout(BaseException):
    """BaseException, so that a library's ``except Exception`` cannot swallow it."""


class time_limit:
    """Raise `Timeout` in the block after ``seconds`` (SIGALRM; the main thread only)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def _handler(self, signum, frame):
        raise Timeout()

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._handler)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def configure_malloc() -> str:
    """glibc: a fixed 32 MB mmap threshold and no heap trimming, so 8 MB arrays (10^6 points)
    are recycled instead of mapped and page-faulted afresh on every call, a cost that depends on
    each library's allocation pattern more than on its arithmetic. Applies to all peers."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim_threshold, mmap_threshold = -1, -3
        ok = libc.mallopt(mmap_threshold, 32 * 1024 * 1024) == 1
        ok &= libc.mallopt(trim_threshold, 1 << 30) == 1
        return "mmap threshold 32 MB, trim threshold 1 GB" if ok else "mallopt failed"
    except OSError as error:
        return f"not glibc ({error})"


def _loops(fn, target: float) -> int:
    """Calls per repeat so that a repeat takes about ``target`` seconds (after a warm-up)."""
    fn()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    if dt >= target:
        return 1
    n = max(1, int(target / max(dt, 1e-8)))
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    dt = (time.perf_counter() - t0) / n
    return max(1, int(target / max(dt, 1e-8)))


def bench_group(entries: dict, repeats: int, target: float, gc_off: bool = True) -> dict:
    """Seconds per call, ``{key: [one per round]}``, of zero-argument callables timed in turn."""
    loops = {key: _loops(fn, target) for key, fn in entries.items()}
    times = {key: [] for key in entries}
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        for _ in range(repeats):
            for key, fn in entries.items():
                n = loops[key]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                times[key].append((time.perf_counter() - t0) / n)
    finally:
        gc.enable()
    return times


def paired_ratio(a: list, b: list):
    """Median over rounds of ``a[r] / b[r]`` (lists from one `bench_group`), or None."""
    if not a or not b or len(a) != len(b):
        return None
    return statistics.median(x / y for x, y in zip(a, b) if y > 0)


def geometric_mean(values):
    values = [v for v in values if v is not None and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def median(values):
    return statistics.median(values) if values else None


def rel_err(a, b) -> float:
    """Normwise relative error max|a - b| / max|b|."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale else float(np.max(np.abs(a - b)))


def verify(p, ref, xs, points: int = 3) -> float:
    """Largest normwise relative error of a peer's value and partials against ``ref``: batch
    value_and_grad, batch forward, and the float path at the first ``points`` points."""
    rv, rg = ref
    v, g = p.value_and_grad(*xs)
    if len(g) != len(rg) or any(np.shape(a) != np.shape(xs[0]) for a in (v, *g)):
        return float("inf")  # every peer gives the value and each partial at every point
    err = max([rel_err(v, rv), rel_err(p.forward(*xs), rv)]
              + [rel_err(a, b) for a, b in zip(g, rg)])
    if p.value_and_grad_scalar is None:
        return err
    scales = [max(np.max(np.abs(b)), 1e-300) for b in (rv, *rg)]
    for j in range(points):
        point = [float(x[j]) for x in xs]
        sv, sg = p.value_and_grad_scalar(*point)
        sf = p.forward_scalar(*point)
        got = [float(sv), *map(float, sg)]
        want = [rv[j], *(b[j] for b in rg)]
        err = max(err, abs(float(sf) - rv[j]) / scales[0],
                  *(abs(a - b) / s for a, b, s in zip(got, want, scales)))
    return err

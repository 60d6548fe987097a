"""Benchmark: where a call of a generated module's ``gradient`` goes at N points (issue 13).

    python benchmarks/bench_overhead.py                 # 10^3 points, every expression
    python benchmarks/bench_overhead.py 1 lecture,ab    # 1-point arrays, two expressions

For each expression of the peer benchmark (`peers.exprs`), timed in interleaved rounds (the
minimum over rounds, in µs):

- *call*: the NumPy target's ``gradient``; *body*: the same module with ``_as_float`` and
  ``_finish`` made identities, so *call - body* is what converting the inputs and finishing the
  results cost; *hand*: the hand-written NumPy kernel of the peer benchmark;
- *numba call*: the numba target's ``gradient``; *kernel*: its compiled loop called directly,
  so *numba call - kernel* is the per-call cost of the dispatcher and ``_on_points``.

The machine is shared: read the differences and ratios of one run, not absolute times.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from peers import handwritten  # noqa: E402
from peers.exprs import Expr, table_exprs  # noqa: E402

ROUNDS = 15
SECONDS_PER_CELL = 3e-3


def main(argv: list[str]) -> None:
    points = int(argv[0]) if argv else 1000
    names = set(argv[1].split(",")) if len(argv) > 1 else None
    print(f"{points:,} points: µs per call, the minimum of {ROUNDS} interleaved rounds\n")
    print("| expression | call | body | call - body | hand | call / hand "
          "| numba call | kernel | numba call / kernel |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for expr in table_exprs():
        if names is None or expr.name in names:
            print(_row(expr, _cells(expr, points)), flush=True)


def _cells(expr: Expr, points: int) -> dict[str, float]:
    """The minimum time of each cell over interleaved rounds, in µs."""
    from gradgen.pipeline import compile_source

    text, path = expr.definition(), f"{expr.name}.txt"
    module, bare = (compile_source(text, path).load(f"{expr.name}_{k}") for k in "mb")
    bare._as_float = lambda value: value  # the body alone: no conversion, no finishing
    bare._finish = lambda results, inputs: results
    numba_module = compile_source(text, path, target="numba").load(f"{expr.name}_numba")
    xs = [np.array(x[:points], dtype=np.float64) for x in expr.sample(max(points, 2))]
    cells = {"call": lambda: module.gradient(*xs), "body": lambda: bare.gradient(*xs),
             "hand": _hand(expr, xs), "numba call": lambda: numba_module.gradient(*xs),
             "kernel": lambda: numba_module._gradient_at_points(*xs)}
    return _fastest(cells)


def _hand(expr: Expr, xs: list[np.ndarray]):
    """The peer benchmark's hand-written NumPy value and gradient at xs."""
    if expr.family == "seed":
        kernel = handwritten.numpy_version(handwritten.SEED_KERNELS[expr.name])
        return lambda: kernel(*xs)
    if expr.family in handwritten.FAMILY_KERNELS:
        kernel = handwritten.numpy_version(handwritten.FAMILY_KERNELS[expr.family][0])
        return lambda: kernel(*xs, expr.n)
    kernel = handwritten.numpy_version(handwritten.vg_wide_seq)
    return lambda: kernel(xs)


def _fastest(cells: dict) -> dict[str, float]:
    """Each cell's minimum time per call over ROUNDS interleaved rounds, in µs."""
    with np.errstate(all="ignore"):
        once = max(timeit.timeit(cells["call"], number=3) / 3, 1e-7)
        number = max(10, int(SECONDS_PER_CELL / once))
        best = dict.fromkeys(cells, float("inf"))
        for _ in range(ROUNDS):
            for name, cell in cells.items():
                best[name] = min(best[name], timeit.timeit(cell, number=number) / number)
    return {name: seconds * 1e6 for name, seconds in best.items()}


def _row(expr: Expr, t: dict[str, float]) -> str:
    return (f"| {expr.name} | {t['call']:.2f} | {t['body']:.2f} | {t['call'] - t['body']:.2f} "
            f"| {t['hand']:.2f} | {t['call'] / t['hand']:.2f} | {t['numba call']:.2f} "
            f"| {t['kernel']:.2f} | {t['numba call'] / t['kernel']:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])

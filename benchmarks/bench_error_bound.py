"""Benchmark: what ``error_bound`` costs beside ``forward`` and ``gradient`` (issue 16).

    python benchmarks/bench_error_bound.py            # 10^6 points, 7 rounds
    python benchmarks/bench_error_bound.py --quick    # 10^5 points, 3 rounds

Each example of numbers is compiled with ``error_bound=True`` and the three functions are timed
in interleaved rounds at the same random points (`measure.interleaved_times`); the table gives
the best time of each and the median paired ratio ``error_bound / gradient``. BLAS runs on one
thread (see `measure`); the figures go into the README's section "A module that vouches for
itself".
"""

from __future__ import annotations

# first: measure sets the BLAS thread count, which NumPy reads when it loads
from measure import environment, interleaved_times  # isort: skip

import argparse
import statistics
from pathlib import Path

import numpy as np

from gradgen.pipeline import compile_source
from gradgen.tools.compare import format_seconds

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ("lecture", "rosenbrock", "trace", "neuron", "logistic_l2", "graph_e")


def row(name: str, points: int, rounds: int) -> str:
    """One example's line of the table."""
    module = compile_source(EXAMPLES / f"{name}.txt", error_bound=True).module
    rng = np.random.default_rng(0)
    inputs = tuple(rng.uniform(0.5, 1.5, points) for _ in module.INPUTS)
    times = interleaved_times({"forward": module.forward, "gradient": module.gradient,
                               "error_bound": module.error_bound}, inputs, rounds)
    ratio = statistics.median(b / g for b, g in zip(times["error_bound"], times["gradient"]))
    best = [format_seconds(min(times[f])) for f in ("forward", "gradient", "error_bound")]
    return f"| {name} | {' | '.join(best)} | {ratio:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 points, 3 rounds")
    args = parser.parse_args()
    points, rounds = (100_000, 3) if args.quick else (1_000_000, 7)
    print(environment(), f"{points:,} points.", "", sep="\n")
    print("| function | forward | gradient | error_bound | error_bound / gradient |")
    print("|---|---:|---:|---:|---:|")
    for name in NAMES:
        print(row(name, points, rounds), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: what second order costs: ``hvp`` against ``gradient``, ``--hessian`` compile time
against the gradient's, and the sweeps a Hessian takes with and without colouring.

    python benchmarks/bench_hessian.py            # also writes benchmarks/hessian.md
    python benchmarks/bench_hessian.py --quick    # fewer rounds and points; prints only

Issue 14's goals: ``hvp`` time at most 2.5x ``gradient`` time (median over the peer benchmark's
expressions at 10^6 points and the array examples at realistic sizes), a dense Hessian of n
inputs in at most n sweeps and a sparse one in as many sweeps as colours, and ``--hessian``
compile time at most 4x the gradient's. Each module is checked first (``hvp`` against central
differences of ``gradient`` along the tangents used for timing); then ``gradient`` and ``hvp``
are timed in interleaved rounds and the ratio taken round by round (the median reported). BLAS
runs on one thread (see `measure`).
"""

from __future__ import annotations

# first: measure sets the BLAS thread count, which NumPy reads when it loads
from measure import environment, interleaved_times  # isort: skip

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from gradgen.pipeline import compile_source
from gradgen.tools.compare import format_seconds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers.exprs import FAMILIES, seed_exprs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "hessian.md"
#: The array examples, the sizes of their named dimensions, and the inputs of WRT.
ARRAY_EXAMPLES = {
    "perceptron": ({"n": 1000, "d": 784, "h": 256, "k": 10}, ("W1", "b1", "W2", "b2")),
    "logistic_regression": ({"n": 10_000, "d": 300}, ("w", "b")),
    "l2_regression": ({"n": 10_000, "d": 300}, ("w", "b")),
    "tiny_network": ({"n": 10_000, "h": 32}, ("W1", "b1", "W2", "b2")),
}
HVP_GOAL, COMPILE_GOAL = 2.5, 4.0


def scalar_cases(points: int) -> list[tuple[str, str, list, None]]:
    """The peer benchmark's expressions (and its 20-deep families) at ``points`` points."""
    rng = np.random.default_rng(0)
    cases = []
    for expr in seed_exprs() + [FAMILIES[name](20) for name in ("nested", "chain", "wide")]:
        text = source_text(expr)
        inputs = [rng.uniform(*expr.domain.get(name, expr.domain.get("*")), size=points)
                  for name in expr.inputs]
        cases.append((expr.name, text, inputs, None))
    return cases


def source_text(expr) -> str:
    """gradgen's text of a peer benchmark expression: its program, or ``f(x, y) = ...``."""
    return expr.let_text or f"f({', '.join(expr.inputs)}) = {expr.text}\n"


def array_cases(scale: float) -> list[tuple[str, str, list, tuple[str, ...]]]:
    """The array examples at their sizes (``scale`` shrinks the data rows)."""
    rng = np.random.default_rng(1)
    cases = []
    for name, (sizes, wrt) in ARRAY_EXAMPLES.items():
        text = (ROOT / "examples" / f"{name}.txt").read_text()
        module = compile_source(text, f"{name}.txt").module
        sized = {**sizes, "n": max(10, int(sizes["n"] * scale))}
        inputs = [rng.normal(size=tuple(sized[d] for d in shape)) / 4 if shape else 0.1
                  for shape in module.SHAPES]
        cases.append((name, text, inputs, wrt))
    return cases


def checked_tangents(module, inputs: list) -> tuple:
    """Random tangents of the inputs of WRT, after checking ``hvp`` along them against central
    differences of ``gradient``."""
    rng = np.random.default_rng(2)
    positions = [module.INPUTS.index(name) for name in module.WRT]
    tangents = tuple(rng.normal(size=np.shape(inputs[k])) for k in positions)
    h = 1e-6
    plus, minus = list(inputs), list(inputs)
    for k, tangent in zip(positions, tangents):
        plus[k], minus[k] = inputs[k] + h * tangent, inputs[k] - h * tangent
    expected = [(a - b) / (2 * h) for a, b in zip(module.gradient(*plus)[1],
                                                  module.gradient(*minus)[1])]
    for got, want in zip(module.hvp(*inputs, tangents), expected):
        error = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
        assert error < 1e-4, f"hvp disagrees with differences of the gradient: {error:.2g}"
    return tangents


def hvp_ratio(text: str, inputs: list, wrt: tuple[str, ...] | None, rounds: int) -> tuple:
    """(gradient seconds, hvp seconds, median paired ratio) of one module."""
    module = compile_source(text, "bench.txt", wrt=wrt, hessian=True).module
    tangents = checked_tangents(module, inputs)
    times = interleaved_times({"gradient": module.gradient,
                               "hvp": lambda *xs: module.hvp(*xs, tangents)}, tuple(inputs), rounds)
    ratios = [h / g for g, h in zip(times["gradient"], times["hvp"])]
    return min(times["gradient"]), min(times["hvp"]), statistics.median(ratios)


def compile_ratio(text: str, wrt: tuple[str, ...] | None, repeats: int) -> tuple:
    """(gradient compile seconds, --hessian compile seconds, ratio), best of ``repeats``."""
    def best(**options) -> float:
        times = []
        for _ in range(repeats):
            start = time.process_time()
            compile_source(text, "bench.txt", wrt=wrt, **options)
            times.append(time.process_time() - start)
        return min(times)

    plain, second = best(), best(hessian=True)
    return plain, second, second / plain


def sweeps() -> list[str]:
    """The sweeps of a Hessian: dense (one per input) against coloured."""
    lines = ["| function | inputs | colours (hvp sweeps) | Hessian entries that may be non-zero |",
             "|---|---:|---:|---:|"]
    f10 = next(expr for expr in seed_exprs() if expr.name == "f10")
    for label, expr in (("chained Rosenbrock", FAMILIES["wide"](20)),
                        ("chained Rosenbrock", FAMILIES["wide"](1000)), ("f10", f10)):
        module = compile_source(source_text(expr), "bench.txt", hessian=True).module
        entries = sum(map(len, module.HESSIAN_PATTERN))
        lines.append(f"| {label} | {len(expr.inputs)} | {len(module.HESSIAN_COLOURS)} | "
                     f"{entries} |")
    return lines


def report(quick: bool) -> str:
    rounds, points, scale = (3, 100_000, 0.1) if quick else (9, 1_000_000, 1.0)
    lines = ["# Second order: hvp against gradient", "", environment(), "",
             f"Scalar expressions at {points:,} points; array examples at the sizes named.", "",
             "| function | gradient | hvp | hvp / gradient | compile: gradient | --hessian | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    hvp_ratios, compile_ratios = [], []
    for name, text, inputs, wrt in scalar_cases(points) + array_cases(scale):
        gradient, hvp, ratio = hvp_ratio(text, inputs, wrt, rounds)
        plain, second, times = compile_ratio(text, wrt, 2 if quick else 3)
        hvp_ratios.append(ratio)
        compile_ratios.append(times)
        lines.append(f"| {name} | {format_seconds(gradient)} | {format_seconds(hvp)} | "
                     f"{ratio:.2f} | {format_seconds(plain)} | {format_seconds(second)} | "
                     f"{times:.2f} |")
        print(lines[-1], flush=True)
    hvp_median, compile_median = statistics.median(hvp_ratios), statistics.median(compile_ratios)
    lines += ["", f"Median hvp / gradient: {hvp_median:.2f} (goal at most {HVP_GOAL}: "
                  f"{'met' if hvp_median <= HVP_GOAL else 'missed'}); worst "
                  f"{max(hvp_ratios):.2f}.",
              f"Median --hessian / gradient compile time (CPU): {compile_median:.2f}, worst "
              f"{max(compile_ratios):.2f} (goal at most {COMPILE_GOAL}: "
              f"{'met' if max(compile_ratios) <= COMPILE_GOAL else 'missed'}).", "",
              "## Sweeps of a Hessian", "", *sweeps(), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and points")
    args = parser.parse_args()
    text = report(args.quick)
    print(text)
    if not args.quick:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()

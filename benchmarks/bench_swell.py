"""Benchmark: expression swell. Symbolic differentiation against reverse mode as n grows.

    python benchmarks/bench_swell.py            # up to 60 s of SymPy per step; writes results
    python benchmarks/bench_swell.py --quick    # up to 2 s per step; prints only

For three families that grow with n it prints, as Markdown tables for the README:
the operation counts of the function, of its reverse-mode gradient (gradgen's IR edges), of
SymPy's gradient as trees (``sympy.diff``, every node of every tree counted: what printing the
expressions without sharing computes) and after ``sympy.cse``; and the time each route takes to
derive. A family stops growing once the symbolic route takes longer than the limit. With
matplotlib installed, it also draws ``benchmarks/swell.png``.

- nested: ``x_{k+1} = sin(x_k*y + x_k^2)``, n steps (a program with intermediate variables);
- product: ``sin(x + y)*sin(2*x + y)*...*sin(n*x + y)``;
- chained Rosenbrock: ``sum (1 - x_i)^2 + 100*(x_{i+1} - x_i^2)^2`` over n + 1 inputs.
"""

from __future__ import annotations

import argparse
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sympy

from gradgen import __version__
from gradgen.differentiate.symbolic import count_operations, to_sympy
from gradgen.pipeline import build_forward, build_gradient
from gradgen.tools.compare import format_seconds as seconds

HERE = Path(__file__).resolve().parent


def nested(n: int) -> str:
    lines = ["def f(x, y):", "    v = x"]
    lines += ["    v = sin(v*y + v^2)"] * n
    return "\n".join(lines + ["    return v", ""])


def product(n: int) -> str:
    return "f(x, y) = " + "*".join(f"sin({k}*x + y)" for k in range(1, n + 1)) + "\n"


def rosenbrock(n: int) -> str:
    names = [f"x{i}" for i in range(n + 1)]
    terms = [f"(1 - {a})^2 + 100*({b} - {a}^2)^2" for a, b in zip(names, names[1:])]
    return f"f({', '.join(names)}) = {' + '.join(terms)}\n"


FAMILIES: dict[str, tuple[str, Callable[[int], str]]] = {
    "nested": ("`x_{k+1} = sin(x_k*y + x_k^2)`, n steps", nested),
    "product": ("`sin(x + y)*sin(2*x + y)*...*sin(n*x + y)`", product),
    "rosenbrock": ("chained Rosenbrock over n + 1 inputs", rosenbrock),
}


@dataclass
class Row:
    n: int
    forward_ops: int
    reverse_ops: int
    symbolic_ops: int | None  # None: SymPy did not finish within the limit
    cse_ops: int | None
    reverse_seconds: float
    symbolic_seconds: float | None
    cse_seconds: float | None


class OutOfTime(Exception):
    """SymPy's route took longer than the limit."""


def measure(text: str, n: int, limit: float) -> Row:
    forward = build_forward(text)
    start = time.perf_counter()
    gradient = build_gradient(forward)
    reverse_seconds = time.perf_counter() - start
    try:
        symbolic = measure_sympy(forward, limit)
    except OutOfTime:
        symbolic = (None, None, None, None)
    return Row(n, len(forward.edges), len(gradient.edges), symbolic[0], symbolic[1],
               reverse_seconds, symbolic[2], symbolic[3])


def measure_sympy(forward, limit: float) -> tuple[int, int, float, float]:
    """Tree and CSE op counts and seconds of SymPy's gradient, or `OutOfTime` past ``limit``."""
    def give_up(signum, frame):
        raise OutOfTime()

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        sympy.core.cache.clear_cache()
        symbols, (expr,) = to_sympy(forward)
        start = time.perf_counter()
        partials = [sympy.diff(expr, symbol) for symbol in symbols]
        symbolic_seconds = time.perf_counter() - start
        replacements, reduced = sympy.cse([expr, *partials])
        cse_seconds = time.perf_counter() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return (count_operations([expr, *partials], shared=False),
            count_operations([value for _, value in replacements] + list(reduced), shared=True),
            symbolic_seconds, cse_seconds)


def grow(make: Callable[[int], str], limit: float, largest: int) -> list[Row]:
    """Grow n by half until SymPy's route takes longer than ``limit`` seconds."""
    rows, n = [], 1
    while n <= largest:
        rows.append(measure(make(n), n, limit))
        print(f"  n = {n}: symbolic {seconds(rows[-1].cse_seconds)}", file=sys.stderr)
        if rows[-1].cse_seconds is None:
            break
        n = max(n + 1, round(n * 1.5))
    return rows


def table(rows: list[Row], limit: float) -> list[str]:
    lines = ["| n | fwd ops | reverse grad ops | SymPy ops (trees) | SymPy ops (CSE) "
             "| derive: reverse | SymPy diff | SymPy diff + CSE |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        late = f"> {limit:g} s"
        lines.append(f"| {r.n} | {r.forward_ops:,} | {r.reverse_ops:,} | {count(r.symbolic_ops)} "
                     f"| {count(r.cse_ops)} | {seconds(r.reverse_seconds)} | "
                     f"{seconds(r.symbolic_seconds, late)} | {seconds(r.cse_seconds, late)} |")
    return lines


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def plot(results: dict[str, list[Row]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4))
    for axis, (family, rows) in zip(axes, results.items()):
        rows = [r for r in rows if r.symbolic_ops is not None]
        n = [r.n for r in rows]
        axis.loglog(n, [r.reverse_ops for r in rows], "o-", label="reverse mode (gradgen)")
        axis.loglog(n, [r.symbolic_ops for r in rows], "s-", label="SymPy diff, trees")
        axis.loglog(n, [r.cse_ops for r in rows], "^-", label="SymPy diff + cse")
        axis.set_title(family)
        axis.set_xlabel("n")
        axis.set_ylabel("operations of the gradient")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s limit; print only")
    parser.add_argument("--limit", type=float, help="seconds of SymPy per step (default 60)")
    args = parser.parse_args()
    limit = args.limit or (2.0 if args.quick else 60.0)
    results = {}
    lines = ["# Expression swell: SymPy against reverse mode", "",
             f"gradgen {__version__}, SymPy {sympy.__version__}, Python "
             f"{platform.python_version()}; a family grows until SymPy takes over {limit:g} s.",
             ""]
    for family, (title, make) in FAMILIES.items():
        print(f"{family}:", file=sys.stderr)
        results[family] = grow(make, limit, largest=1 << 14)
        lines += [f"## {family}: {title}", "", *table(results[family], limit), ""]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        (HERE / "swell.md").write_text(report, encoding="utf-8")
        if plot(results, HERE / "swell.png"):
            print("plot written to benchmarks/swell.png", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Benchmark: how compile time, program size and run time grow with the size of the input.

    python benchmarks/bench_compile.py            # everything; also writes benchmarks/results.md
    python benchmarks/bench_compile.py --quick    # sizes up to 10^4, no 10^6-term sum (stdout)

For every example under ``examples/`` and for generated expressions of 10 to 10^5 operations
it prints, as Markdown tables ready for the README:

- compile time, in total, per stage (forward: parse, lower and simplify; reverse; optimize
  the gradient; emit) and per operation of the forward program, which stays flat when
  compilation is linear;
- the operation counts (edges) of the forward and of the gradient program and their ratio,
  which reverse mode keeps below a small constant (3 here);
- the time of one call of the generated ``forward`` and ``gradient`` on one point and on
  10^6 points (best of a few runs), and the gradient/forward time ratio.

Finally it compiles a sum of 10^6 terms once and reports its compile time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import timeit
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from families import FAMILIES, plain_sum  # noqa: E402  (beside this file)

from gradgen import __version__
from gradgen.differentiate.reverse import reverse_mode
from gradgen.emit.module import emit_module
from gradgen.frontend.lower import lower
from gradgen.frontend.parser import parse
from gradgen.ir.graph import has_arrays, has_loops
from gradgen.ir.optimize import optimize
from gradgen.ir.verify import check
from gradgen.pipeline import build_forward, collector_paused, compile_source
from gradgen.tools.compare import best_call_time
from gradgen.tools.compare import format_seconds as seconds

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RESULTS = Path(__file__).resolve().parent / "results.md"

SIZES = (10, 100, 1_000, 10_000, 100_000)
QUICK_SIZES = (10, 100, 1_000, 10_000)
BIG_SUM = 1_000_000
MAX_RATIO = 3.0
POINTS = 1_000_000
#: The generated code keeps every intermediate value alive until it returns, so a call on
#: 10^6 points holds about (gradient edges) arrays of 8 MB; above this many edges it is skipped.
MAX_EDGES_FOR_MANY_POINTS = 400
COMPILE_REPEATS = 5
#: Above this many gradient edges a single-point call is timed once instead of best-of-five.
MAX_EDGES_FOR_REPEATS = 100_000


# ---- measuring -------------------------------------------------------------------------------

@dataclass
class Measurement:
    """One compiled source: stage times, sizes, and the generated code's call times."""

    label: str
    stages: dict[str, float]
    inputs: int
    forward_ops: int
    gradient_ops: int
    source: str
    load_time: float | None = None
    calls: dict[str, float | None] | None = None

    @property
    def compile_time(self) -> float:
        return sum(self.stages.values())

    @property
    def ratio(self) -> float:
        return self.gradient_ops / max(1, self.forward_ops)


@collector_paused()
def compile_in_stages(text: str, path: str) -> Measurement:
    """Run the stages of `gradgen.pipeline.compile_source` one by one, timing each."""
    clock = time.perf_counter
    start = clock()
    forward = check(optimize(check(lower(parse(text, path)))))
    parsed = clock()
    gradient = check(reverse_mode(forward))
    reversed_ = clock()
    gradient = check(optimize(gradient))
    optimized = clock()
    source = emit_module(forward, gradient, Path(path).name, f"gradgen compile {Path(path).name}")
    emitted = clock()
    stages = {"forward": parsed - start, "reverse": reversed_ - parsed,
              "optimize": optimized - reversed_, "emit": emitted - optimized}
    return Measurement(Path(path).stem, stages, len(forward.inputs), len(forward.edges),
                       len(gradient.edges), source)


def load_module(measurement: Measurement):
    """Import the generated source (the time Python takes to compile it is recorded)."""
    start = time.perf_counter()
    namespace: dict[str, object] = {"__name__": f"bench_{measurement.label}"}
    exec(compile(measurement.source, f"<{measurement.label}>", "exec"), namespace)  # noqa: S102
    measurement.load_time = time.perf_counter() - start
    return namespace


def time_calls(measurement: Measurement, domain: tuple[float, float], quick: bool) -> None:
    """Time forward and gradient on one point and on 10^6 points."""
    module = load_module(measurement)
    rng = np.random.default_rng(0)
    inputs = measurement.inputs
    point = [float(v) for v in rng.uniform(*domain, size=inputs)]
    repeat = 5 if measurement.gradient_ops <= MAX_EDGES_FOR_REPEATS and not quick else 2
    calls: dict[str, float | None] = {}
    for name in ("forward", "gradient"):
        function = module[name]
        calls[f"{name} 1"] = best_call_time(lambda f=function: f(*point), repeat)
    many = [rng.uniform(*domain, size=POINTS) for _ in range(inputs)]
    for name in ("forward", "gradient"):
        if measurement.gradient_ops > MAX_EDGES_FOR_MANY_POINTS:
            calls[f"{name} many"] = None
            continue
        function = module[name]
        timer = timeit.Timer(lambda f=function: f(*many))
        calls[f"{name} many"] = min(timer.repeat(repeat=2 if quick else 3, number=1))
    measurement.calls = calls


def measure(label: str, text: str, domain: tuple[float, float], quick: bool) -> Measurement:
    """Compile ``text`` in stages (best of a few runs), then import and time the module."""
    path = f"{label}.txt"
    runs = [compile_in_stages(text, path)]
    while len(runs) < COMPILE_REPEATS and sum(r.compile_time for r in runs) < 0.5:
        runs.append(compile_in_stages(text, path))
    measurement = min(runs, key=lambda run: run.compile_time)
    if measurement.forward_ops <= 1000 and measurement.source != compile_source(text, path).source:
        raise SystemExit("bench_compile.py: its stages no longer match gradgen.pipeline; "
                         "update compile_in_stages")
    time_calls(measurement, domain, quick)
    return measurement


# ---- formatting -----------------------------------------------------------------------------

def ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None:
        return "—"
    return f"{numerator / denominator:.2f}"


def table(header: list[str], rows: list[list[str]], right: int = 1) -> str:
    """A Markdown table; columns from ``right`` on are right-aligned (numbers)."""
    align = ["---"] * right + ["---:"] * (len(header) - right)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def size_row(m: Measurement, first: list[str]) -> list[str]:
    ok = "" if m.ratio <= MAX_RATIO else " (> 3!)"
    return first + [f"{m.forward_ops:,}", f"{m.gradient_ops:,}", f"{m.ratio:.2f}{ok}",
                    seconds(m.compile_time),
                    f"{m.compile_time / max(1, m.forward_ops) * 1e6:.1f}"]


SIZE_HEADER = ["fwd ops", "grad ops", "grad/fwd ops", "compile", "µs per fwd op"]
STAGE_HEADER = ["forward", "reverse", "optimize", "emit", "import"]
CALL_HEADER = ["fwd, 1 pt", "grad, 1 pt", "grad/fwd", "fwd, 10^6 pts", "grad, 10^6 pts",
               "grad/fwd"]


def stage_row(m: Measurement, first: list[str]) -> list[str]:
    return first + [seconds(t) for t in m.stages.values()] + [seconds(m.load_time)]


def call_row(m: Measurement, first: list[str]) -> list[str]:
    c = m.calls or {}
    return first + [seconds(c.get("forward 1")), seconds(c.get("gradient 1")),
                    ratio(c.get("gradient 1"), c.get("forward 1")),
                    seconds(c.get("forward many")), seconds(c.get("gradient many")),
                    ratio(c.get("gradient many"), c.get("forward many"))]


# ---- the report -----------------------------------------------------------------------------

class Report:
    """Prints each section as it is measured and keeps the text for results.md."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.ratios: dict[str, float] = {}  # grad/fwd ops of everything measured

    def record(self, label: str, measurement: Measurement) -> None:
        self.ratios[label] = measurement.ratio

    def add(self, text: str) -> None:
        print(text + "\n", flush=True)
        self.parts.append(text)

    def text(self) -> str:
        return "\n\n".join(self.parts) + "\n"


def environment() -> str:
    return (f"gradgen {__version__}, Python {platform.python_version()}, NumPy {np.__version__}, "
            f"{platform.system()}, {cpu_name()}; wall-clock times, best of a few runs.")


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def examples_section(report: Report, quick: bool) -> None:
    graphs = {path: build_forward(path.read_text("utf-8"), str(path))
              for path in sorted(EXAMPLES.glob("*.txt"))}
    scalar = [path for path, graph in graphs.items()  # the others: bench_perceptron, bench_hmm
              if not has_arrays(graph) and not has_loops(graph)]
    results = [measure(path.stem, path.read_text("utf-8"), (0.5, 1.5), quick) for path in scalar]
    for m in results:
        report.record(f"example {m.label}", m)
    report.add("## The examples (`examples/*.txt`)\n\n"
               + table(["example"] + SIZE_HEADER, [size_row(m, [f"`{m.label}`"]) for m in results])
               + "\n\nGenerated code, time per call (inputs drawn from [0.5, 1.5]):\n\n"
               + table(["example"] + CALL_HEADER, [call_row(m, [f"`{m.label}`"]) for m in results]))


def family_sections(report: Report, sizes: tuple[int, ...], quick: bool) -> None:
    for family in FAMILIES:
        results = []
        for size in sizes:
            text = family.source(size)
            m = measure(f"{family.name.replace(' ', '_')}_{size}", text, family.domain, quick)
            results.append((size, m))
            report.record(f"{family.name}, n = {size:,}", m)
            print(f"  ({family.name}, n = {size:,}: compiled in {seconds(m.compile_time)})",
                  file=sys.stderr, flush=True)
        first = [[f"{size:,}"] for size, _ in results]
        report.add(
            f"## {family.name}: {family.description}\n\n"
            + table(["n"] + SIZE_HEADER, [size_row(m, f) for (_, m), f in zip(results, first)])
            + "\n\nCompile time by stage, and the time Python takes to import the module:\n\n"
            + table(["n"] + STAGE_HEADER, [stage_row(m, f) for (_, m), f in zip(results, first)])
            + "\n\nGenerated code, time per call:\n\n"
            + table(["n"] + CALL_HEADER, [call_row(m, f) for (_, m), f in zip(results, first)]))


def big_sum_section(report: Report) -> None:
    text = plain_sum(BIG_SUM - 1)
    m = compile_in_stages(text, "sum.txt")
    report.record(f"sum of {BIG_SUM:,} terms", m)
    row = size_row(m, [f"{BIG_SUM:,}"]) + [seconds(t) for t in m.stages.values()]
    report.add(f"## A sum of {BIG_SUM:,} terms\n\n`{text[:40]}...` "
               f"({len(text) / 1e6:.1f} MB of source), compiled once (not imported):\n\n"
               + table(["terms"] + SIZE_HEADER + STAGE_HEADER[:-1], [row]))


def notes(report: Report) -> str:
    label, largest = max(report.ratios.items(), key=lambda item: item[1])
    verdict = "within" if largest <= MAX_RATIO else "ABOVE"
    return NOTES.format(largest=f"{largest:.6g}", label=label, verdict=verdict,
                        limit=f"{MAX_RATIO:g}", many=MAX_EDGES_FOR_MANY_POINTS)


NOTES = """## Notes

- *ops* are edges of the IR: one primitive operation each. The gradient program contains the
  forward program (its values are reused, never recomputed), so *grad/fwd ops* counts both
  sweeps. The largest ratio measured here is {largest} ({label}), {verdict} the bound of
  {limit}: the gradient costs a small constant times the function.
- *µs per fwd op* is the total compile time divided by the forward operations: flat when
  compilation time grows linearly with the size of the input.
- *import* is Python compiling the generated source (`exec`), which gradgen does not control.
- 10^6-point calls are skipped (—) above {many} gradient operations: the generated
  functions keep every intermediate array (8 MB each) alive until they return.
- Compilation runs with Python's cyclic garbage collector paused, as `compile_source` does.
- Compile times are the best of up to five runs, as many as fit in about half a second."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="sizes up to 10^4 and no 10^6-term sum; prints to stdout only")
    parser.add_argument("--output", metavar="FILE",
                        help="also write the report here (default: benchmarks/results.md "
                             "for a full run, nowhere for --quick)")
    args = parser.parse_args(argv)
    report = Report()
    report.add("# gradgen compile benchmark\n\n" + environment())
    examples_section(report, args.quick)
    family_sections(report, QUICK_SIZES if args.quick else SIZES, args.quick)
    if not args.quick:
        big_sum_section(report)
    report.add(notes(report))
    output = args.output or (None if args.quick else str(RESULTS))
    if output:
        Path(output).write_text(report.text(), "utf-8")


if __name__ == "__main__":
    main()

"""Benchmark (peers): the Markdown report: times, paired ratios, geometric means, goals."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics

from .adapters import PEER_DESC
from .timing import geometric_mean, median, paired_ratio

VERSIONS = ("numpy", "sympy", "numba", "jax", "torch", "autograd", "casadi")
ONE, THOUSAND, MILLION = 1, 1_000, 1_000_000


def seconds(s) -> str:
    if s is None:
        return "—"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def ratio(r, digits: int = 2) -> str:
    return "—" if r is None else f"{r:.{digits}f}"


def table(title: str, rows: list, cols: list, cell, note: str = "", first: str = "expression",
          footer: tuple = ()) -> str:
    """A Markdown table under ``title``; ``footer``: extra ``(label, cell(col))`` rows."""
    lines = [f"### {title}", ""] + ([note, ""] if note else [])
    lines.append(f"| {first} | " + " | ".join(cols) + " |")
    lines.append("|---|" + "---:|" * len(cols))
    lines += [f"| {r} | " + " | ".join(cell(r, c) for c in cols) + " |" for r in rows]
    lines += [f"| **{label}** | " + " | ".join(f(c) for c in cols) + " |" for label, f in footer]
    return "\n".join(lines) + "\n"


class Report:
    """The results of one run and the ratios read from them."""

    def __init__(self, results: dict, cfg):
        self.results, self.cfg = results, cfg
        self.exprs = list(results["exprs"])
        self.peers = results["peers"]

    def cell(self, expr: str, peer: str) -> dict:
        return self.results["exprs"][expr]["peers"].get(peer, {})

    def times(self, expr: str, peer: str, key: str) -> list:
        return self.cell(expr, peer).get(key, [])

    def paired(self, expr: str, peer: str, base: str, n: int, mode: str = "vg",
               base_mode: str = "vg"):
        return paired_ratio(self.times(expr, peer, f"{mode}_{n}"),
                            self.times(expr, base, f"{base_mode}_{n}"))

    def columns(self, key: str) -> list:
        """Peers (and alternative float paths) with a time under ``key`` somewhere."""
        found = [p for e in self.exprs for p in self.results["exprs"][e]["peers"]
                 if self.times(e, p, key)]
        return list(dict.fromkeys([p for p in self.peers if p in found] + found))

    def ratios(self, peer: str, base: str, n: int, mode: str = "vg",
               base_mode: str = "vg") -> list:
        return [self.paired(e, peer, base, n, mode, base_mode) for e in self.exprs]

    def geo(self, peer: str, base: str, n: int) -> str:
        values = [r for r in self.ratios(peer, base, n) if r is not None]
        if not values:
            return "—"
        part = "" if len(values) == len(self.exprs) else f" ({len(values)}/{len(self.exprs)})"
        return f"{geometric_mean(values):.2f}{part}"

    def ratio_table(self, n: int, base: str, label: str) -> str:
        if base not in self.columns(f"vg_{n}"):
            return ""
        cols = [p for p in self.columns(f"vg_{n}") if p != base]
        return table(f"{label}, {n:,} point(s): time / {base} time", self.exprs, cols,
                     lambda e, p: ratio(self.paired(e, p, base, n)),
                     note="Paired per round, median over rounds; below 1 is faster.",
                     footer=(("geometric mean", lambda p: self.geo(p, base, n)),))

    def time_table(self, n: int, label: str, mode: str = "vg") -> str:
        cols = self.columns(f"{mode}_{n}")
        return table(f"{label}, {n:,} point(s): time per call", self.exprs, cols,
                     lambda e, p: seconds(median(self.times(e, p, f"{mode}_{n}"))))

    def grad_over_forward(self, peer: str, n: int) -> list:
        return [r for r in self.ratios(peer, peer, n, "vg", "fw") if r is not None]


def gradgen_origin() -> str:
    """gradgen's version, where it was imported from, and that folder's commit."""
    import subprocess

    import gradgen
    folder = os.path.dirname(os.path.dirname(os.path.abspath(gradgen.__file__)))
    try:
        commit = subprocess.run(["git", "-C", folder, "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"gradgen {gradgen.__version__} from {folder}" + (f" ({commit})" if commit else "")


def environment(report: Report) -> str:
    cfg, results = report.cfg, report.results
    versions = []
    for package in VERSIONS:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} absent")
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    lines = [f"- {datetime.date.today().isoformat()}; {cpu}, {os.cpu_count()} cores (shared "
             f"with other work: noisy; read the paired ratios, not the absolute times); Python "
             f"{platform.python_version()}; {cfg.threads} thread per backend",
             "- " + gradgen_origin() + "; " + ", ".join(versions),
             f"- {'quick' if cfg.quick else 'full'} run: {cfg.repeats} interleaved rounds of "
             f">= {cfg.target * 1e3:g} ms per cell; malloc: {cfg.malloc}; wall time "
             f"{results['wall_s']:.0f} s"]
    lines += [f"- skipped **{p}**: {note}" for p, note in results["absent"].items()]
    for e in report.exprs:
        for p, c in results["exprs"][e]["peers"].items():
            if "skip" in c:
                lines.append(f"- {e}, **{p}**: {c['skip']}")
    if report.cfg.quick:
        lines.append("- quick: 10^6 points timed only for " + ", ".join(
            p for p in ("gradgen", "gradgen-numba", "numpy-hand", "numba") if p in report.peers))
    return "\n".join(lines) + "\n"


def goal(label: str, value, target: float, text: str) -> str:
    verdict = "—" if value is None else ("met" if value <= target else "missed")
    return f"| {label} | {text} | {target:g} | {verdict} |"


def goals(report: Report) -> str:
    """gradgen's figures against the goals of issue 13."""
    g = "gradgen"
    rows = ["| goal (issue 13) | gradgen | at most | |", "|---|---:|---:|---|"]
    for label, base, n, target in (
            ("one point: time / SymPy-math, geometric mean", "sympy", ONE, 1.0),
            ("one point: time / numba kernel, geometric mean", "numba", ONE, 2.0),
            ("10^3 points: time / hand-written NumPy, geometric mean", "numpy-hand", THOUSAND,
             1.0),
            ("10^6 points: time / hand-written NumPy, geometric mean", "numpy-hand", MILLION,
             0.75)):
        values = [r for r in report.ratios(g, base, n) if r is not None]
        mean = geometric_mean(values)
        rows.append(goal(label, mean, target, report.geo(g, base, n)))
    worst = [(r, e) for r, e in zip(report.ratios(g, "numpy-hand", MILLION), report.exprs) if r]
    if worst:
        r, e = max(worst)
        rows.append(goal("10^6 points: worst expression / hand-written NumPy", r, 1.2,
                         f"{r:.2f} ({e})"))
    if "gradgen-numba" in report.peers:
        for n in (THOUSAND, MILLION):
            values = [r for r in report.ratios("gradgen-numba", "numba", n) if r]
            rows.append(goal(f"numba target, {n:,} points: time / numba kernel",
                             geometric_mean(values), 1.1, report.geo("gradgen-numba", "numba", n)))
    over = report.grad_over_forward(g, MILLION)
    if over:
        m = statistics.median(over)
        rows.append(goal("10^6 points: gradient / forward time, median", m, 2.0, f"{m:.2f}"))
    memory = [(report.cell(e, g).get("mem"), report.cell(e, "numpy-hand").get("mem"))
              for e in report.exprs]
    memory = [a / b for a, b in memory if a and b]
    if memory:
        rows.append(goal("10^6 points: peak memory / hand-written NumPy's, largest",
                         max(memory), 1.0, f"{max(memory):.2f} (geometric mean "
                         f"{geometric_mean(memory):.2f})"))
    return "\n".join(rows) + "\n"


def memory_table(report: Report) -> str:
    cols = [p for p in report.peers if any("mem" in report.cell(e, p) for e in report.exprs)]
    if not cols:
        return ""

    def cell(e, p):
        m = report.cell(e, p).get("mem")
        return "—" if m is None else f"{m / 2**20:.0f} MB"
    return table("peak memory of one value_and_grad call, 1,000,000 points", report.exprs, cols,
                 cell, note="What tracemalloc sees above what was allocated before the call: "
                 "NumPy's arrays (inputs excluded, results included: 8 MB per output). JAX, "
                 "torch, CasADi and numba allocate outside its view and are not shown.")


def render(results: dict, cfg) -> str:
    r = Report(results, cfg)
    parts = ["# gradgen beside its peers: value and gradient of scalar expressions", "",
             "Written by `python benchmarks/bench_peers.py` (the method is in its docstring).",
             "", "## Environment", "", environment(r), "## Goals (gradgen, default target)", "",
             goals(r), "## Peers", "",
             "\n".join(f"- **{p}**: {PEER_DESC[p]}" for p in r.peers), "",
             "## Correctness", "",
             table("largest normwise relative error against the SymPy reference (batch, "
                   "forward and float paths; at most 1e-10 to be timed)", r.exprs, r.peers,
                   lambda e, p: (f"{r.cell(e, p)['err']:.0e}" if "err" in r.cell(e, p)
                                 else "n/a")),
             table("preparation: differentiate + compile + first value_and_grad at 10^3 points",
                   r.exprs, r.peers, lambda e, p: seconds(r.cell(e, p).get("prep"))),
             "## One point (Python floats)", "",
             r.time_table(ONE, "value_and_grad"),
             r.ratio_table(ONE, "numba", "value_and_grad"),
             r.ratio_table(ONE, "sympy", "value_and_grad"),
             r.ratio_table(ONE, "numpy-hand", "value_and_grad"),
             "SymPy at one point is `lambdify(modules='math', cse=True)`; numba is the "
             "`@njit` scalar kernel called from Python; numpy-hand is the hand-written NumPy "
             "code called with floats, `numpy-hand[pure Python math]` the same code in `math`.",
             "", "## 1,000 points", "",
             r.time_table(THOUSAND, "value_and_grad"),
             r.ratio_table(THOUSAND, "numpy-hand", "value_and_grad"),
             "## 1,000,000 points", "",
             r.time_table(MILLION, "value_and_grad"),
             r.ratio_table(MILLION, "numpy-hand", "value_and_grad"),
             table("gradient / forward time, 1,000,000 points (same peer, paired)", r.exprs,
                   r.columns(f"fw_{MILLION}"),
                   lambda e, p: ratio(r.paired(e, p, p, MILLION, "vg", "fw")),
                   footer=(("median", lambda p: ratio(
                       statistics.median(r.grad_over_forward(p, MILLION))
                       if r.grad_over_forward(p, MILLION) else None)),)),
             memory_table(r)]
    return "\n".join(parts)

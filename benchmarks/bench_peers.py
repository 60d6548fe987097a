"""Benchmark: gradgen's generated module beside the tools one could pick instead (issue 13).

    python benchmarks/bench_peers.py            # full run (~15 min), writes benchmarks/peers.md
    python benchmarks/bench_peers.py --quick    # < 2 min: 3 rounds, 10^6 points for the fast ones
    python benchmarks/bench_peers.py --peers gradgen,sympy --exprs lecture,rosenbrock

Value and gradient of scalar expressions (the lecture example, Rosenbrock, Goldstein-Price,
Ackley, a logistic loss, a 10-input polynomial-transcendental mix, a 20-deep nesting, a 20-link
chain, a 20-term sum and three small ones), at one point (Python floats) and elementwise over
10^3 and 10^6 points, by:

- gradgen: the module it generates, compiled in-process (`gradgen.pipeline.compile_source`);
  on floats ``gradient`` runs its math fast path; gradgen's numba target too where it has one;
- hand-written NumPy (the reference of the ratios) and a hand-written numba kernel (a fused
  loop over points: the speed limit), SymPy ``diff`` + ``lambdify(cse=True)`` (``numpy`` on
  arrays, ``math`` on floats), JAX ``jit(vmap(value_and_grad))``, PyTorch eager, HIPS autograd,
  CasADi SX and CasADi C code generation: each optional (``pip install -e .[bench]``), skipped
  with a one-line note when absent. NumPy and SymPy are gradgen's own dependencies.

Every peer's value and gradient (batch, forward and float paths) is first checked against a
SymPy reference (normwise relative error at most 1e-10); then the cells are timed in
interleaved rounds, one thread per backend, and the ratios are paired round by round: peer time
over hand-written NumPy time, and at one point over the numba kernel and over SymPy-``math``.
Peak memory at 10^6 points is what tracemalloc sees of one call (NumPy-based peers). The
machine is shared: read the ratios, not the absolute times.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers.threads import configure_threads  # noqa: E402  (before NumPy loads its BLAS)

configure_threads(int(os.environ.get("BENCH_THREADS", "1")))

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from measure import peak_memory  # noqa: E402  (tracemalloc: what NumPy allocates)
from peers import adapters, reference, report  # noqa: E402
from peers.base import PeerUnavailable  # noqa: E402
from peers.exprs import Expr, table_exprs  # noqa: E402
from peers.timing import (  # noqa: E402
    RTOL,
    Timeout,
    bench_group,
    configure_malloc,
    time_limit,
    verify,
)

RESULTS = Path(__file__).resolve().parent / "peers.md"
POINTS = (1, 1_000, 1_000_000)
FULL = dict(repeats=5, target=0.02, prep_runs=3, prep_limit=60.0)
QUICK = dict(repeats=3, target=0.003, prep_runs=1, prep_limit=20.0)
#: --quick times 10^6 points for these peers only (the others take seconds per cell there)
QUICK_MILLION = ("gradgen", "gradgen-numba", "numpy-hand", "numba")
#: peers whose arrays tracemalloc sees (NumPy's allocator)
NUMPY_BASED = ("gradgen", "numpy-hand", "sympy", "autograd")
_T0 = time.perf_counter()


def log(*parts) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s]", *parts, file=sys.stderr, flush=True)


def peer_names(chosen: str) -> list:
    """The peers to run, in the tables' order (gradgen's numba target where it has one)."""
    names = [p for p in adapters.PEERS
             if p != "gradgen-numba" or "numba" in adapters.gradgen_targets()]
    if chosen:
        wanted = chosen.split(",")
        names = [p for p in names if p in wanted or p in ("numpy-hand", "numba", "sympy")]
    return names


def warm_up(names: list) -> dict:
    """Import and initialise every peer on a tiny expression (so that later preparation times
    exclude one-time costs); ``{peer: note}`` for the peers that are not installed."""
    tiny = Expr("warmup", ["x", "y"], "x*y + sin(x)", {"*": (-1.0, 1.0)})
    xs = tiny.sample(1000)
    absent = {}
    for name in names:
        try:
            p = adapters.PEERS[name](tiny)
            p.value_and_grad(*xs)
            if p.value_and_grad_scalar is not None:
                p.value_and_grad_scalar(0.3, 0.4)
        except ImportError as error:
            absent[name] = f"not installed ({error.name or error})"
        except Exception as error:  # noqa: BLE001  (a peer that fails is skipped, noted)
            absent[name] = f"failed to start: {type(error).__name__}: {str(error)[:100]}"
    for name, note in absent.items():
        log(f"skipped {name}: {note}")
    return absent


def prepare(name: str, expr: Expr, xs: list, cfg) -> tuple:
    """A prepared peer and the median time of up to ``prep_runs`` fresh preparations
    (differentiate + compile + first value_and_grad at 10^3 points)."""
    times, p = [], None
    for _ in range(cfg.prep_runs):
        p = None
        t0 = time.perf_counter()
        with time_limit(cfg.prep_limit):
            p = adapters.PEERS[name](expr)
            p.value_and_grad(*xs)
        times.append(time.perf_counter() - t0)
        if sum(times) > 3.0:
            break
    return p, sorted(times)[len(times) // 2]


def prepare_all(expr: Expr, names: list, cfg, cells: dict) -> dict:
    """Prepared peers that agree with the SymPy reference; the others get a ``skip`` note."""
    xs = expr.sample(1000, seed=1)
    ref = reference.value_and_gradient(expr, xs)
    prepared = {}
    for name in names:
        cell = cells.setdefault(name, {})
        try:
            p, cell["prep"] = prepare(name, expr, xs, cfg)
            cell["err"] = verify(p, ref, xs)
        except Timeout:
            cell["skip"] = f"preparation > {cfg.prep_limit:g} s"
        except PeerUnavailable as error:
            cell["skip"] = str(error)
        except Exception as error:  # noqa: BLE001  (a peer that fails is skipped, noted)
            cell["skip"] = f"{type(error).__name__}: {str(error)[:120]}"
        if "err" in cell and not cell["err"] <= RTOL:
            cell["skip"] = f"verification failed (relative error {cell['err']:.1e})"
        if "skip" in cell:
            log(f"   {name}: skipped: {cell['skip']}")
            continue
        cell["scalar_path"] = p.info.get("scalar_path", "")
        prepared[name] = p
    return prepared


def one_point_entries(prepared: dict, xs: list) -> dict:
    """``{"vg|peer": call, "fw|peer": call}`` on Python floats, with the alternative float
    paths as peers of their own (``numpy-hand[pure Python math]``, ...)."""
    point = [float(x[0]) for x in xs]
    entries = {}
    for name, p in prepared.items():
        if p.value_and_grad_scalar is not None:
            entries[f"vg|{name}"] = lambda f=p.value_and_grad_scalar: f(*point)
            entries[f"fw|{name}"] = lambda f=p.forward_scalar: f(*point)
        for alt, f in p.alt_scalar.items():
            entries[f"vg|{alt}"] = lambda f=f: f(*point)
    return entries


def batch_entries(prepared: dict, xs: list, names) -> dict:
    entries = {}
    for name, p in prepared.items():
        if name in names:
            entries[f"vg|{name}"] = lambda f=p.value_and_grad: f(*xs)
            entries[f"fw|{name}"] = lambda f=p.forward: f(*xs)
    return entries


def run_expr(expr: Expr, names: list, cfg) -> dict:
    """Check, then time every peer on ``expr`` at each number of points; peak memory at the
    largest."""
    log(f"== {expr.name}: {expr.desc}")
    cells: dict = {}
    prepared = prepare_all(expr, names, cfg, cells)
    xs = expr.sample(1000, seed=2)
    groups = [(1, one_point_entries(prepared, xs))]
    for n in POINTS[1:]:
        timed = [p for p in prepared if not cfg.quick or n < 10**6 or p in QUICK_MILLION]
        groups.append((n, batch_entries(prepared, expr.sample(n, seed=2), timed)))
    for n, entries in groups:
        log(f"   timing {n:g} point(s): {len(entries)} cells")
        rounds = 2 if cfg.quick and n == POINTS[-1] else cfg.repeats
        for key, times in bench_group(entries, rounds, cfg.target, gc_off=n < 10**6).items():
            mode, name = key.split("|", 1)
            cells.setdefault(name, {})[f"{mode}_{n}"] = times
        if n == POINTS[-1]:
            arrays = expr.sample(n, seed=2)
            for name in NUMPY_BASED:
                if f"vg|{name}" in entries:
                    cells[name]["mem"] = peak_memory(prepared[name].value_and_grad, arrays)
        del entries
        gc.collect()
    return {"desc": expr.desc, "inputs": len(expr.inputs), "peers": cells}


def options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds of >= 3 ms (2 at 10^6 points, timed only for gradgen, "
                             "hand-written NumPy and numba); nothing written unless --out")
    parser.add_argument("--peers", default="", help="comma-separated peers (default: all; "
                        "hand-written NumPy, numba and SymPy always run: the ratios need them)")
    parser.add_argument("--exprs", default="", help="comma-separated expressions (default: all)")
    parser.add_argument("--repeats", type=int, default=0, help="rounds (default 5, quick 3)")
    parser.add_argument("--out", default=None,
                        help="Markdown file to write (default: benchmarks/peers.md on a full "
                             "run; nothing on a quick run)")
    cfg = parser.parse_args(argv)
    for key, value in (QUICK if cfg.quick else FULL).items():
        setattr(cfg, key, getattr(cfg, key, 0) or value)
    return cfg


def main(argv=None) -> None:
    cfg = options(argv)
    cfg.malloc = configure_malloc()
    cfg.threads = int(os.environ.get("BENCH_THREADS", "1"))
    exprs = [e for e in table_exprs() if not cfg.exprs or e.name in cfg.exprs.split(",")]
    names = peer_names(cfg.peers)
    t0 = time.perf_counter()
    absent = warm_up(names)
    names = [n for n in names if n not in absent]
    results = {"absent": absent, "peers": names,
               "exprs": {e.name: run_expr(e, names, cfg) for e in exprs}}
    results["wall_s"] = time.perf_counter() - t0
    text = report.render(results, cfg)
    print(text)
    out = cfg.out or (None if cfg.quick else RESULTS)
    if out:
        Path(out).write_text(text)
        log(f"wrote {out} in {results['wall_s']:.0f} s")


if __name__ == "__main__":
    main()

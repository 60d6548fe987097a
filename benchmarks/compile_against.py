"""Benchmark: compile time of this checkout against the code of another commit, back to back.

    git worktree add --detach ../old 745feec       # the code to compare with
    python benchmarks/compile_against.py ../old     # 3 rounds; --rounds N, --sizes 10,100,...

Each round runs one process on the other tree's gradgen and one on this checkout's, in turn, and
each process times `gradgen.pipeline.compile_source` (the one entry every version has) on the
examples and on the families of `families.py`, in CPU time, best of a few runs. The table gives,
per case, the best over the rounds of each and their ratio: alternating the two in the same
minutes is what makes the ratio mean something on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ("graph_e", "lecture", "logistic_l2", "neuron", "rosenbrock", "trace")


def best(text: str, path: str, budget: float = 0.5, repeats: int = 5) -> float:
    """The least CPU time of a few compilations of ``text`` (as many as ``budget`` allows)."""
    from gradgen.pipeline import compile_source

    times: list[float] = []
    while len(times) < repeats and sum(times) < budget:
        start = time.process_time()
        compile_source(text, path)
        times.append(time.process_time() - start)
    return min(times)


def worker(sizes: list[int]) -> None:
    """One process's timings, as one JSON line on stdout (case -> seconds)."""
    from families import FAMILIES

    cases = {f"{name}": best((ROOT / "examples" / f"{name}.txt").read_text(), f"{name}.txt")
             for name in EXAMPLES}
    cases |= {f"{family.name} {n}": best(family.source(n), "family.txt")
              for family in FAMILIES for n in sizes}
    print(json.dumps(cases))


def timings(tree: Path, sizes: str) -> dict[str, float]:
    """A worker's timings, run on the gradgen of ``tree``."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{HERE}"}
    out = subprocess.run([sys.executable, __file__, "--worker", "--sizes", sizes], env=env,
                         capture_output=True, text=True, check=True, cwd=HERE)
    return json.loads(out.stdout.splitlines()[-1])


def table(old: list[dict[str, float]], new: list[dict[str, float]]) -> str:
    """Markdown: per case, the best of each side over the rounds and new/old."""
    rows = ["| case | other ms | this ms | this/other |", "| --- | ---: | ---: | ---: |"]
    for case in old[0]:
        a, b = min(r[case] for r in old) * 1e3, min(r[case] for r in new) * 1e3
        rows.append(f"| {case} | {a:.3f} | {b:.3f} | {b / a:.3f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", nargs="?", type=Path, help="a source tree of another commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker([int(n) for n in args.sizes.split(",")])
    old, new = [], []
    for _ in range(args.rounds):
        old.append(timings(args.other.resolve(), args.sizes))
        new.append(timings(ROOT, args.sizes))
    print(table(old, new))


if __name__ == "__main__":
    main()

"""Byte-determinism: the generated module does not depend on the hash seed.

Sets of strings and of nodes are iterated in hash order, which ``PYTHONHASHSEED`` changes from
one process to the next; names, statements and their order must not follow it. Every example
and a handful of programs (loops, branches, helpers, arrays, names the rule renames) are
compiled, by each route, in fresh processes with different seeds, and must come out the same
bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEEDS = ("0", "1", "12345")

PROGRAMS = {
    "loops and names": ("def f(x, N: int):\n    v1 = x\n    x_bar = x\n    for i in range(N):\n"
                        "        t1 = v1 * 2\n        v1 = sin(t1) + x_bar\n"
                        "        x_bar = v1 * x\n    return v1 + x_bar\n"),
    "branches": ("def f(x, y):\n    a = x * y\n    if x > 0:\n        a = a * 2\n"
                 "        b = exp(a)\n    elif y > 0:\n        b = log(y) + a\n    else:\n"
                 "        b = a\n    return a + b\n"),
    "helpers": ("def type(a):\n    return a * a\n\ndef __getattr__(a, b):\n"
                "    return type(a) + sin(b)\n\ndef f(x, ｘ, 𝐱):\n"
                "    return __getattr__(x, ｘ) * type(𝐱) + __debug__(x)\n\n"
                "def __debug__(a):\n    return a\n"),
    "arrays": ("def f(W: (n, d), isinstance: (d,), np: (n,)):\n"
               "    z = W @ isinstance\n    return sum(softmax(z) * np) + sum(W^2)\n"),
    "lambda": "f(lambda, np, sum, _finish, INPUTS) = lambda*np + sum*_finish + INPUTS^2",
    "names of their own": ("def f(y, x):\n    r = 0.25\n    for i in range(3):\n"
                           "        if 0.5 > y:\n            r /= x\n    return r\n"),
}
#: (program, options) pairs to compile besides the examples in reverse mode
ROUTES = [("lambda", {"mode": "forward"}), ("lambda", {"method": "symbolic"}),
          ("branches", {"method": "symbolic"}), ("loops and names", {"checkpoint": 2}),
          ("names of their own", {"checkpoint": 2}),  # shared names collide: one per node
          ("file:hmm.txt", {"checkpoint": "sqrt"}), ("file:lecture.txt", {"mode": "forward"})]

SCRIPT = """\
import json, sys
from pathlib import Path
from gradgen.pipeline import compile_source
jobs = json.loads(sys.stdin.read())
sources = {}
for key, text, path, options in jobs:
    sources[key] = compile_source(text, path, **options).source
sys.stdout.buffer.write(json.dumps(sources, sort_keys=True).encode())
"""


def _jobs() -> list[tuple[str, str, str, dict]]:
    """What to compile: (key, text, path, options)."""
    texts = {f"file:{path.name}": (path.read_text(encoding="utf-8"), path.name)
             for path in sorted(EXAMPLES.glob("*.txt"))}
    texts.update({key: (text, "program.txt") for key, text in PROGRAMS.items()})
    jobs = [(key, text, path, {}) for key, (text, path) in texts.items()]
    jobs += [(f"{key} {options}", *texts[key], options) for key, options in ROUTES]
    return jobs


def _compiled(seed: str, jobs: list) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(jobs).encode(),
                            capture_output=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return json.loads(result.stdout)


def test_the_sources_do_not_depend_on_the_hash_seed() -> None:
    jobs = _jobs()
    first, *others = (_compiled(seed, jobs) for seed in SEEDS)
    assert len(first) == len(jobs)
    for seed, sources in zip(SEEDS[1:], others):
        for key in first:
            assert sources[key].encode() == first[key].encode(), \
                f"{key}: PYTHONHASHSEED={seed} differs from {SEEDS[0]}"

"""Shared helpers for the test suite.

- `compile_module(text, wrt=None)`: compile source text and load the generated module.
- `central_difference(fn, args, i, h)`: a numerical partial derivative, the first oracle.
- `sympy_partials(graph, args)`: the partials by `sympy.diff`, the second oracle.
- the ``--update-golden`` option and the `golden` fixture: compare a text with a file under
  ``tests/golden/``, or rewrite the file when the option is given.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy

from gradgen.tools import differences

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files under tests/golden/ instead of comparing")


@functools.cache
def compile_cached(text: str, wrt: tuple[str, ...] | None = None, path: str = "test.txt"):
    """The `Compiled` result of ``text`` (cached: many tests compile the same sources)."""
    from gradgen.pipeline import compile_source

    return compile_source(text, path, wrt=wrt)


@functools.cache
def compile_module(text: str, wrt: tuple[str, ...] | None = None,
                   path: str = "test.txt") -> types.ModuleType:
    """The generated module of ``text``, imported (cached; tests must not modify it)."""
    return compile_cached(text, wrt, path).load()


def central_difference(fn: Callable[..., Any], args: Sequence[Any], i: int,
                       h: float = 1e-5) -> Any:
    """``d fn / d args[i]`` of ``fn`` evaluated point by point, by central differences with a
    step relative to each entry (`gradgen.tools.differences.pointwise`)."""
    return differences.pointwise(fn, args, i, h)


def entrywise_differences(f: Callable[..., Any], args: Sequence[Any], k: int,
                          eps: float = 1e-6) -> np.ndarray:
    """``d f / d args[k]`` entry by entry (shaped like ``args[k]``) of a scalar-valued ``f``
    (`gradgen.tools.differences.jacobian`)."""
    return differences.jacobian(f, args, k, eps)


def sympy_partials(graph: Any, point: Sequence[float], digits: int = 30) -> list[float]:
    """The partials of ``graph``'s output at ``point``, by `sympy.diff` and exact evaluation."""
    symbols, _, partials = _symbolic(graph)
    subs = {s: sympy.Float(repr(float(v)), digits) for s, v in zip(symbols, point)}
    return [float(sympy.N(p.subs(subs), digits)) for p in partials]


_SYMBOLIC_CACHE: dict[int, tuple] = {}


def _symbolic(graph: Any) -> tuple:
    from gradgen.differentiate.symbolic import symbolic_gradient

    key = id(graph)
    if key not in _SYMBOLIC_CACHE:
        _SYMBOLIC_CACHE[key] = (graph, symbolic_gradient(graph))
    return _SYMBOLIC_CACHE[key][1]


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: assert ``text`` equals ``tests/golden/<name>`` (or rewrite it)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            GOLDEN_DIR.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"{path} is missing: run pytest --update-golden"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} changed; if intended, rerun with --update-golden"

    return check


def scalar_examples() -> list[Path]:
    """The straight-line scalar ``examples/*.txt`` (the array ones, with shapes in their
    signatures, are tested in test_array_examples.py, the loops in test_loop_examples.py)."""
    from gradgen.ir.graph import has_arrays, has_loops
    from gradgen.pipeline import build_forward

    folder = Path(__file__).resolve().parent.parent / "examples"
    graphs = {path: build_forward(path.read_text("utf-8"), str(path))
              for path in sorted(folder.glob("*.txt"))}
    return [path for path, graph in graphs.items()
            if not has_arrays(graph) and not has_loops(graph)]


def regression_data(name: str, seed: int, n: int, d: int, h: int, k: int = 3) -> tuple:
    """Seeded inputs of examples/perceptron.txt (W1, b1, W2, b2, X, T, lam), or of the
    regressions of examples/logistic_regression.txt and l2_regression.txt (w, b, X, t, lam)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if name == "perceptron.txt":
        T = np.eye(k)[rng.integers(0, k, n)]
        return (rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, k)),
                rng.normal(size=k), X, T, 0.01)
    return rng.normal(size=d), 0.2, X, (rng.random(n) > 0.5) * 1.0, 0.01

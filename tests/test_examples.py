"""The example programs under ``examples/``, run through everything.

Every ``examples/*.txt`` is compiled by the pipeline and by the command line, and its generated
``forward``/``gradient`` are checked against independent oracles: a NumPy formula written by
hand here, the reference interpreter, central differences and `sympy.diff`. The numbers that
the lecture notes print (rounded as printed) are checked at the notes' own points. Finally the
gradient-descent script runs against a freshly compiled Rosenbrock module.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import sympy
from conftest import scalar_examples

from gradgen import cli
from gradgen.differentiate.symbolic import symbolic_gradient
from gradgen.ir.interpret import interpret
from gradgen.pipeline import build_forward, compile_source
from gradgen.tools import differences

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Example:
    """What an example must compute: a hand-written formula and the notes' printed numbers."""

    inputs: tuple[str, ...]
    formula: Callable[..., float]  # the function, re-implemented by hand with NumPy
    domain: tuple[tuple[float, float], ...]  # where random test points are drawn, per input
    point: tuple[float, ...]  # the notes' point
    value: float  # the value printed there
    partials: tuple[float, ...]  # the partials printed there, in input order
    decimals: tuple[int, int] | None = None  # as printed (value, partials); None: exact


EXPECTED = {
    # seed 001: f(2, -1, 0) = 0.141, gradient <-3.96, -0.99, 1.99>
    "lecture": Example(("x", "y", "z"), lambda x, y, z: z + np.sin(x**2 + y * np.exp(z)),
                       ((-2.0, 2.0),) * 3, (2.0, -1.0, 0.0), 0.141, (-3.96, -0.99, 1.99),
                       (3, 2)),
    # seed 004: forward trace y = 11.652; reverse trace dy/dx1 = 5.5, dy/dx2 = 1.716
    "trace": Example(("x1", "x2"), lambda x1, x2: np.log(x1) + x1 * x2 - np.sin(x2),
                     ((0.2, 5.0), (-5.0, 5.0)), (2.0, 5.0), 11.652, (5.5, 1.716), (3, 3)),
    # seed 002: dy/dw = 22.17, dy/dx = 14.78, dy/db = 7.39 (and y = e^2 = 7.39)
    "neuron": Example(("w", "x", "b"), lambda w, x, b: np.exp(w * x + b),
                      ((-2.0, 2.0),) * 3, (2.0, 3.0, -4.0), 7.39, (22.17, 14.78, 7.39), (2, 2)),
    # seed 000: de/da = b + 1, de/db = a + 2b + 1; hand-derived at (2, 1): e = 6, (2, 5)
    "graph_e": Example(("a", "b"), lambda a, b: (a + b) * (b + 1),
                       ((-3.0, 3.0),) * 2, (2.0, 1.0), 6.0, (2.0, 5.0)),
    # seed 003 (no numbers printed): hand-derived at (0.5, -1, 2, 1, 0.1), see the file
    "logistic_l2": Example(
        ("w", "b", "x", "t", "lam"),
        lambda w, b, x, t, lam: 0.5 * (_sigmoid(w * x + b) - t) ** 2 + lam * 0.5 * w**2,
        ((-3.0, 3.0),) * 4 + ((0.0, 1.0),), (0.5, -1.0, 2.0, 1.0, 0.1), 0.1375,
        (-0.2, -0.125, -0.0625, 0.5, 0.125)),
    # seed 000: grad f = (-400xy + 400x^3 + 2x - 2, 200y - 200x^2), hand-evaluated at the
    # start of the descent, (-1.8, 1.5)
    "rosenbrock": Example(("x", "y"), lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
                          ((-2.0, 2.0), (-1.0, 3.0)), (-1.8, 1.5), 310.6, (-1258.4, -348.0)),
}

NAMES = [path.stem for path in scalar_examples()]


def _text(name: str) -> str:
    return (EXAMPLES / f"{name}.txt").read_text("utf-8")


@functools.cache
def _module(name: str):
    """The example's generated module, compiled by the pipeline and imported (once)."""
    return compile_source(_text(name), str(EXAMPLES / f"{name}.txt")).load(name)


def _points(name: str, count: int = 5, seed: int = 0) -> np.ndarray:
    """``count`` random points of the example's domain, one row each."""
    rng = np.random.default_rng(seed)
    low, high = np.array(EXPECTED[name].domain).T
    return rng.uniform(low, high, size=(count, len(low)))


# ---- the examples directory ----------------------------------------------------------------

def test_every_example_has_expected_numbers():
    assert NAMES, f"no examples found in {EXAMPLES}"
    assert set(NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_example_starts_with_comments_naming_its_source(name):
    header = _text(name).splitlines()[:3]
    assert all(line.startswith("#") for line in header)
    assert re.search(r"seed 00\d", _text(name)), "say where in the lecture notes it comes from"


@pytest.mark.parametrize("name", NAMES)
def test_inputs_in_order(name):
    module = _module(name)
    assert module.INPUTS == EXPECTED[name].inputs
    assert module.WRT == EXPECTED[name].inputs


# ---- the lecture's printed numbers ---------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_printed_numbers_at_the_lecture_point(name):
    example = EXPECTED[name]
    value, partials = _module(name).gradient(*example.point)
    assert isinstance(value, float) and all(isinstance(p, float) for p in partials)
    if example.decimals:  # rounded as the notes print them
        value_digits, partial_digits = example.decimals
        assert round(value, value_digits) == pytest.approx(example.value, abs=1e-12)
        rounded = [round(p, partial_digits) for p in partials]
        assert rounded == pytest.approx(example.partials, abs=1e-12)
    else:  # hand-derived numbers, exact up to rounding
        assert value == pytest.approx(example.value, rel=1e-12, abs=1e-12)
        assert partials == pytest.approx(example.partials, rel=1e-12, abs=1e-12)
    assert _module(name).forward(*example.point) == value


def test_lecture_trace_intermediate_values():
    """Seed 004's forward trace at (2, 5): v2..v6 = 0.693, 10, -0.959, 10.693, 11.652."""
    graph = build_forward(_text("trace"), "trace.txt")
    every_node = graph.replace(outputs=tuple(edge.output for edge in graph.edges))
    values = [round(float(v), 3) for v in interpret(every_node, 2.0, 5.0)]
    assert sorted(values) == sorted([0.693, 10.0, -0.959, 10.693, 11.652])


# ---- independent oracles at random points --------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_formula_and_interpreter(name):
    module = _module(name)
    graph = build_forward(_text(name), f"{name}.txt")
    for point in _points(name):
        value = module.forward(*point)
        assert value == pytest.approx(EXPECTED[name].formula(*point), rel=1e-12, abs=1e-12)
        (interpreted,) = interpret(graph, *point)
        assert value == pytest.approx(float(interpreted), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    module, formula = _module(name), EXPECTED[name].formula
    for point in _points(name, seed=1):
        value, partials = module.gradient(*point)
        assert value == module.forward(*point)
        for i, partial in enumerate(partials):
            estimate = differences.partial(formula, list(point), i)
            tolerance = 1e-6 * (1 + abs(estimate)) + 1e-9 * (1 + abs(value))
            assert abs(partial - estimate) <= tolerance, (name, point, i, partial, estimate)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_sympy_diff(name):
    module = _module(name)
    symbols, _, derivatives = symbolic_gradient(build_forward(_text(name), f"{name}.txt"))
    assert tuple(map(str, symbols)) == EXPECTED[name].inputs
    for point in _points(name, count=3, seed=2):
        substitution = {s: sympy.Float(repr(float(v)), 30) for s, v in zip(symbols, point)}
        exact = [float(sympy.N(d.subs(substitution), 30)) for d in derivatives]
        _, partials = module.gradient(*point)
        assert partials == pytest.approx(exact, rel=1e-11, abs=1e-11)


@pytest.mark.parametrize("name", NAMES)
def test_arrays_evaluate_pointwise(name):
    module = _module(name)
    points = _points(name, count=7, seed=3)
    values, partials = module.gradient(*points.T)
    assert values.shape == (7,) and all(p.shape == (7,) for p in partials)
    for k, point in enumerate(points):
        value, partial = module.gradient(*point)
        assert values[k] == pytest.approx(value, rel=1e-13, abs=1e-13)
        assert [p[k] for p in partials] == pytest.approx(partial, rel=1e-13, abs=1e-13)


# ---- the command line ------------------------------------------------------------------------

def _import_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_cli_compiles_example(name, tmp_path):
    source = tmp_path / f"{name}.txt"
    shutil.copyfile(EXAMPLES / f"{name}.txt", source)
    assert cli.main(["compile", str(source)]) == 0
    written = tmp_path / f"{name}.py"
    text = written.read_text("utf-8")
    assert text == compile_source(_text(name), str(source)).source  # deterministic
    module = _import_file(written, f"cli_{name}")
    example = EXPECTED[name]
    assert module.gradient(*example.point) == _module(name).gradient(*example.point)


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def rosenbrock_dir(tmp_path_factory) -> Path:
    """A folder with the Rosenbrock module compiled by ``python -m gradgen compile``."""
    folder = tmp_path_factory.mktemp("rosenbrock")
    result = _run(["-m", "gradgen", "compile", str(EXAMPLES / "rosenbrock.txt"), "-o",
                   str(folder / "rosenbrock.py")], cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def _descent_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(folder)}


def test_rosenbrock_descent_reaches_the_minimum(rosenbrock_dir, tmp_path):
    # Run a copy of the script from an empty folder, so that a rosenbrock.py built beside the
    # original script cannot be imported instead of the freshly compiled one.
    script = tmp_path / "rosenbrock_descent.py"
    shutil.copyfile(EXAMPLES / "rosenbrock_descent.py", script)
    result = _run([str(script)], cwd=tmp_path, env=_descent_env(rosenbrock_dir))
    assert result.returncode == 0, result.stderr
    final = re.search(r"final point after (\d+) iterations: \(([-\d.e]+), ([-\d.e]+)\)",
                      result.stdout)
    assert final, result.stdout
    x, y = float(final.group(2)), float(final.group(3))
    assert math.dist((x, y), (1.0, 1.0)) < 1e-3
    first = result.stdout.splitlines()[1].split()
    assert first[:3] == ["0", "-1.80000000", "1.50000000"]  # it started at the notes' point


def test_rosenbrock_descent_says_how_to_build_the_module(tmp_path):
    script = tmp_path / "rosenbrock_descent.py"
    shutil.copyfile(EXAMPLES / "rosenbrock_descent.py", script)
    result = _run([str(script)], cwd=tmp_path, env=_descent_env(tmp_path))
    assert result.returncode == 1
    assert "gradgen compile examples/rosenbrock.txt" in result.stderr

"""Forward mode, reverse mode and SymPy: the generated modules agree with each other.

Each route's module (``--mode forward``, the default reverse mode, ``--method symbolic`` with and
without CSE) is compiled for every example and for random expressions and compared with the
reverse-mode module and with central differences; `jvp` and `vjp` are checked against the
gradient they must equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import scalar_examples
from hypothesis import given, settings
from hypothesis import strategies as st

from gradgen.cli import main
from gradgen.pipeline import compile_source
from gradgen.tools import differences
from gradgen.tools.points import random_points

EXAMPLES = scalar_examples()
ROUTES = [dict(mode="forward"), dict(method="symbolic"), dict(method="symbolic", cse=False)]
ROUTE_IDS = ["forward", "symbolic-cse", "symbolic-no-cse"]


def modules(text: str):
    reverse = compile_source(text).module
    return reverse, [compile_source(text, **route).module for route in ROUTES]


def assert_routes_agree(text: str, rows: int = 5, seed: int = 0) -> None:
    reverse, others = modules(text)
    points = random_points(reverse, rows, seed)
    for args in points:
        value, partials = reverse.gradient(*args)
        numeric = differences.gradient(reverse.forward, list(args))
        np.testing.assert_allclose(partials, numeric, rtol=1e-6, atol=1e-7)
        for module, name in zip(others, ROUTE_IDS):
            other_value, other_partials = module.gradient(*args)
            assert other_value == pytest.approx(value, rel=1e-12, abs=1e-300), name
            np.testing.assert_allclose(other_partials, partials, rtol=1e-12, atol=1e-14,
                                       err_msg=name)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_route_agrees_on_the_examples(path: Path) -> None:
    assert_routes_agree(path.read_text(encoding="utf-8"))


LEAVES = st.sampled_from(["x", "y", "0.5", "2"])
UNARY = ["sin", "cos", "exp", "tanh", "sigmoid", "atan", "square"]


def expressions():
    def extend(inner):
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]} / (1 + ({t[1]})^2)"))
    return st.recursive(LEAVES, extend, max_leaves=8)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(expressions())
def test_every_route_agrees_on_random_expressions(expr: str) -> None:
    assert_routes_agree(f"f(x, y) = {expr} + x*y\n", rows=2)


def test_jvp_is_the_gradient_along_the_tangents() -> None:
    text = "f(x, y, z) = z + sin(x^2 + y*exp(z))"
    module = compile_source(text, mode="forward").module
    _, partials = compile_source(text).module.gradient(2.0, -1.0, 0.0)
    tangents = (0.3, -1.5, 2.0)
    value, derivative = module.jvp(2.0, -1.0, 0.0, tangents)
    assert value == pytest.approx(0.1411200080598672, rel=1e-15)
    assert derivative == pytest.approx(float(np.dot(partials, tangents)), rel=1e-14)
    batch = np.linspace(-1, 1, 7)
    _, derivatives = module.jvp(batch, -1.0, 0.0, (1.0, 0.0, 0.0))
    assert derivatives.shape == (7,)


@pytest.mark.parametrize("route", [{}, *ROUTES], ids=["reverse", *ROUTE_IDS])
def test_vjp_scales_the_gradient(route: dict) -> None:
    module = compile_source("f(x, y) = x*exp(y) - y^3", **route).module
    value, (dx, dy) = module.vjp(1.5, 0.5, 2.0)
    assert (dx, dy) == pytest.approx((2 * np.exp(0.5), 2 * (1.5 * np.exp(0.5) - 0.75)),
                                     rel=1e-14)
    cotangents = np.array([1.0, -2.0, 0.5])
    _, (dx, _) = module.vjp(1.5, 0.5, cotangents)
    np.testing.assert_allclose(dx, cotangents * np.exp(0.5), rtol=1e-14)


def test_forward_mode_module_reads_as_sweeps(tmp_path) -> None:
    source = tmp_path / "lecture.txt"
    source.write_text("f(x, y, z) = z + sin(x^2 + y*exp(z))\n", encoding="utf-8")
    assert main(["compile", str(source), "--mode", "forward", "--wrt", "z,x"]) == 0
    text = (tmp_path / "lecture.py").read_text(encoding="utf-8")
    assert "(forward mode)" in text
    assert "gradgen compile lecture.txt --wrt z,x --mode forward" in text
    assert "def jvp(x, y, z, tangents):" in text
    assert "    # tangent of: v5 = sin(v4)\n" in text
    assert "    value, d_z = jvp(x, y, z, (1.0, 0.0))\n" in text
    namespace: dict = {}
    exec(compile(text, "lecture.py", "exec"), namespace)  # our own generated module
    assert namespace["gradient"](2.0, -1.0, 0.0)[1] == pytest.approx(
        (1.9899924966004454, -3.9599699864017817), rel=1e-15)


def test_symbolic_module_without_cse_recomputes_what_cse_shares() -> None:
    text = ("def f(x, y):\n    v = sin(x*y + x^2)\n    v = sin(v*y + v^2)\n"
            "    return sin(v*y + v^2)\n")
    raw = compile_source(text, method="symbolic", cse=False)
    shared = compile_source(text, method="symbolic")
    reverse = compile_source(text)
    assert len(raw.derivative.edges) > 2 * len(shared.derivative.edges)
    assert len(shared.derivative.edges) >= len(reverse.derivative.edges) * 0.5
    assert "symbolic differentiation by SymPy, without CSE" in raw.source


@pytest.mark.parametrize("argv", [["--mode", "sideways"], ["--method", "guess"],
                                  ["--mode", "forward", "--method", "symbolic"]])
def test_bad_mode_or_method_is_usage(tmp_path, argv, capsys) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x*y\n", encoding="utf-8")
    try:
        status = main(["compile", str(source), *argv])
    except SystemExit as exit_info:
        status = exit_info.code
    assert status == 2
    assert not (tmp_path / "f.py").exists()

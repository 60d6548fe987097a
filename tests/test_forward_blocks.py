"""Forward mode of blocks: loops (not unrolled), real branches and helper calls, and forward
mode over a gradient program (Hessian-vector products). Issue 14, point 1.

Each program's forward-mode module agrees with reverse mode's to 1e-12 and with central
differences; loops stay loops and branches stay branches in the JVP graph; a helper has one
jvp per set of arguments with tangents, named apart from every function of the program; a
scalar function that branches runs its jvp point by point at arrays. Then `hvp_graph` over
the gradient program (taped, and checkpointed) against central differences of the gradient.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import compile_cached, compile_module, entrywise_differences
from test_forward_mode import jvp

from gradgen.differentiate.forward import hvp_graph
from gradgen.ir.graph import Graph
from gradgen.ir.interpret import interpret
from gradgen.ir.optimize import optimize
from gradgen.ir.verify import check
from gradgen.pipeline import build_forward, build_gradient, compile_source

# ---- loops, real branches, helper calls -------------------------------------------------------

LOOPS = {
    "carried scalar": "def f(x, y, N: int):\n    s = x\n    for t in range(1, N):\n"
                      "        s = sin(s) * y + x\n    return s\n",
    "carried array": "def f(x: (n,), W: (n, n), T: int):\n    h = x\n    for t in range(T):\n"
                     "        h = tanh(W @ h + x)\n    return sum(h * h)\n",
    "nested": "def f(x, y, N: int):\n    s = 0\n    for i in range(N):\n        p = x\n"
              "        for j in range(i + 1):\n            p = p * cos(y + j)\n"
              "        s = s + p\n    return s\n",
    "indexing": "def f(x: (n,), a):\n    s = a\n    for k in range(n):\n"
                "        s = s * x[k] + sin(a * x[k])\n    return s\n",
    "hmm": Path("examples/hmm.txt").read_text("utf-8"),
}
BRANCHES = {
    "if else": "def f(x, y):\n    if x > y:\n        z = x * y\n    else:\n"
               "        z = exp(y - x)\n    return z * x\n",
    "elif": "def f(x, y):\n    z = y\n    if x > 0.7:\n        z = sin(x) * y\n"
            "    elif x > 0.4:\n        z = x * x\n    else:\n        w = y * y\n"
            "        z = w - x\n    return z + x\n",
    "in a loop": "def f(x, y, N: int):\n    s = x\n    for t in range(N):\n        if s > 0.5:\n"
                 "            s = s * y\n        else:\n            s = s + y * y\n    return s\n",
    "a loop inside": "def f(x, y, N: int):\n    a = y\n    if x > 0:\n"
                     "        for i in range(N):\n            a = a * atan(y) + x\n"
                     "    else:\n        a = a * x\n    return a\n",
}
HELPERS = {
    "two calls": "def g(a, b):\n    return a * exp(b)\n\ndef f(x, y):\n"
                 "    return g(x, y) + g(y, x * x)\n",
    "in a loop": "def g(a, b):\n    return sin(a) * b\n\ndef f(x, y, N: int):\n    s = y\n"
                 "    for t in range(N):\n        s = g(s, x) + s\n    return s\n",
    "calling a helper": "def s(z):\n    return 1 / (1 + exp(-z))\n\ndef g(x, y):\n"
                        "    return s(x) * y\n\ndef f(a, b):\n    return g(a, b) + s(a - b)\n",
    "with blocks": "def g(a, b):\n    c = a\n    for k in range(3):\n        if c > b:\n"
                   "            c = c * sin(b)\n        else:\n            c = c + b * b\n"
                   "    return c\n\ndef f(x, y):\n    return g(x, y) * g(y, 2 * x)\n",
}
BLOCK_PROGRAMS = {**{f"loop, {k}": v for k, v in LOOPS.items()},
                  **{f"branch, {k}": v for k, v in BRANCHES.items()},
                  **{f"helper, {k}": v for k, v in HELPERS.items()}}
SIZES = {"n": 3, "k": 3, "T": 4}


def _block_inputs(text: str, rng: np.random.Generator) -> list:
    """A random point of ``text``'s inputs: whole numbers 3, numbers in [-1, 1], arrays of
    `SIZES`."""
    forward = compile_cached(text).forward
    return [3 if var.dtype == "int" else _drawn(rng, var.shape) for var in forward.inputs]


def _drawn(rng: np.random.Generator, shape: tuple) -> object:
    """A random number in [-1, 1], or an array of them of ``shape`` (named dimensions from
    `SIZES`)."""
    if not shape:
        return float(rng.uniform(-1.0, 1.0))
    return rng.uniform(-1.0, 1.0, tuple(SIZES.get(str(dim), dim) for dim in shape))


@pytest.mark.parametrize("text", BLOCK_PROGRAMS.values(), ids=BLOCK_PROGRAMS.keys())
def test_forward_mode_of_blocks_agrees_with_reverse_mode_and_differences(text: str) -> None:
    forward = compile_source(text, "a.txt", mode="forward").load()
    reverse = compile_module(text)
    rng = np.random.default_rng(14)
    for _ in range(3):
        args = _block_inputs(text, rng)
        value, partials = forward.gradient(*args)
        want_value, want_partials = reverse.gradient(*args)
        assert value == pytest.approx(want_value, rel=1e-12)
        floats = [k for k, var in enumerate(compile_cached(text).forward.inputs)
                  if var.dtype == "float"]
        for k, got, want in zip(floats, partials, want_partials):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
            differences = entrywise_differences(forward.forward, args, k)
            np.testing.assert_allclose(got, differences, rtol=1e-6, atol=1e-8)
        tangents = [_drawn(rng, np.shape(args[k])) for k in floats]
        _, along = forward.jvp(*args, tangents)
        inner = sum(np.sum(t * p) for t, p in zip(tangents, want_partials))
        assert along == pytest.approx(inner, rel=1e-12, abs=1e-12)


def test_loops_are_not_unrolled_and_branches_stay_branches() -> None:
    for text in (*LOOPS.values(), *BRANCHES.values()):
        forward = compile_cached(text).forward
        graph = jvp(text)
        kinds = [edge.prim for edge in forward.edges if edge.prim in ("loop", "cond")]
        assert [edge.prim for edge in graph.edges if edge.prim in ("loop", "cond")] == kinds
    loop = next(edge for edge in jvp(LOOPS["carried scalar"]).edges if edge.prim == "loop")
    assert dict(loop.params)["carried"] == 2  # s and s_dot
    assert [var.name for var in dict(loop.params)["body"].inputs] == [
        "t", "s", "s_dot", "y", "x", "y_dot", "x_dot"]


def test_a_helper_has_one_jvp_per_tangent_signature() -> None:
    text = ("def g(a, b):\n    return a * exp(b)\n\ndef f(x, y):\n"
            "    return g(x, y) + g(y, x) + g(x, 2)\n")
    calls = [dict(edge.params) for edge in jvp(text).edges if edge.prim == "call"]
    assert [(call["name"], call["role"]) for call in calls] == [("g_jvp", "jvp")] * 2 + [
        ("g_jvp_", "jvp")]  # along both arguments; along the first only, named apart
    assert calls[0]["graph"] is calls[1]["graph"]
    source = compile_source(text, "a.txt", mode="forward").source
    assert "def g_jvp(a, b, a_dot, b_dot):" in source and "def g_jvp_(a, b, a_dot):" in source


def test_a_jvp_is_named_apart_from_a_helper_of_that_name() -> None:
    text = ("def g_jvp(a):\n    return 2 * a\n\ndef g(a):\n    return sin(a)\n\n"
            "def f(x):\n    return g(x) + g_jvp(x)\n")
    module = compile_source(text, "a.txt", mode="forward").load()
    assert module.gradient(0.5)[1] == (pytest.approx(math.cos(0.5) + 2, rel=1e-15),)


def test_a_branching_scalar_function_runs_its_jvp_point_by_point() -> None:
    text = BRANCHES["if else"]
    module = compile_source(text, "a.txt", mode="forward").load()
    xs, ys = np.array([0.5, -1.0, 2.0]), np.array([0.25, 0.5, 3.0])
    value, along = module.jvp(xs, ys, (np.ones(3), 2.0))
    for k in range(3):
        point = module.jvp(xs[k], ys[k], (1.0, 2.0))
        assert (value[k], along[k]) == point
    assert "_jvp_pointwise = _pointwise(_jvp_pointwise)" in compile_source(text, "a.txt",
                                                                        mode="forward").source


# ---- forward mode over a gradient program: Hessian-vector products ---------------------------

HVP_PROGRAMS = {
    "loop, branch, helper": "def g(a, b):\n    if a > b:\n        c = a * sin(b)\n    else:\n"
                            "        c = b * exp(-a)\n    return c\n\ndef f(x, y, N: int):\n"
                            "    s = x\n    for t in range(N):\n        if s > 0:\n"
                            "            s = g(s, y) + 0.5 * s\n        else:\n"
                            "            s = s * y - g(y, s)\n    return s * y\n",
    "helper with a loop": HELPERS["with blocks"],
    "nested loops": LOOPS["nested"],
    "a loop in a branch": BRANCHES["a loop inside"],
    "carried array": LOOPS["carried array"],
    "hmm": LOOPS["hmm"],
    "arrays read by index": LOOPS["indexing"],
}


@pytest.mark.parametrize("checkpoint", [None, 2])
@pytest.mark.parametrize("text", HVP_PROGRAMS.values(), ids=HVP_PROGRAMS.keys())
def test_forward_mode_over_the_gradient_gives_hessian_vector_products(
        text: str, checkpoint: int | None) -> None:
    forward = build_forward(text)
    gradient = build_gradient(forward, checkpoint=checkpoint)
    graphs = [check(hvp_graph(gradient))]
    graphs.append(check(optimize(graphs[0])))
    rng = np.random.default_rng(2)
    floats = [k for k, var in enumerate(forward.inputs) if var.dtype == "float"]
    for _ in range(2):
        args = _block_inputs(text, rng)
        tangents = [_drawn(rng, np.shape(args[k])) for k in floats]
        want = _gradient_differences(gradient, args, floats, tangents)
        for graph in graphs:
            for got, expected in zip(interpret(graph, *args, *tangents), want):
                np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def _gradient_differences(gradient: Graph, args: list, floats: list[int], tangents: list,
                          h: float = 1e-6) -> list:
    """The derivative of ``gradient``'s partials along ``tangents``, by central differences."""
    def moved(step: float) -> tuple:
        point = list(args)
        for k, tangent in zip(floats, tangents):
            point[k] = np.asarray(args[k]) + step * np.asarray(tangent)
        return interpret(gradient, *point)[1:]
    return [(a - b) / (2 * h) for a, b in zip(moved(h), moved(-h))]

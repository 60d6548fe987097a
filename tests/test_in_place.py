"""Array sums written as updates in place (`gradgen.ir.in_place`): ``W_bar += t`` where the
accumulator is a fresh array that nothing else reads, never where another name would see it
change. Numbers are checked against central differences (an oracle that shares nothing with
the emitter); random array programs exercise the pass in the differential campaign too."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import compile_cached, entrywise_differences

from gradgen.ir.in_place import accumulate_in_place
from gradgen.pipeline import build_forward, build_gradient

SHARED = """def f(x: (n,), W: (n, n)):
    y = W @ x
    z = y * y
    return sum(z) + sum(W * W) + sum(y)
"""


def _prims(text: str) -> list[str]:
    return [edge.prim for edge in accumulate_in_place(build_gradient(build_forward(text))).edges]


def test_a_decay_term_is_added_into_its_gradient() -> None:
    source = compile_cached(SHARED).source
    assert "W_bar += " in source
    assert "add_into" in _prims(SHARED)


def test_an_accumulator_read_elsewhere_or_an_input_is_never_updated() -> None:
    text = "def f(x: (n,), y: (n,)):\n    s = x + y\n    return sum(s * s) + sum(x)\n"
    assert "+=" not in compile_cached(text).source  # x_bar = 1 + s_bar, and s_bar is y_bar
    module = compile_cached(text).load()
    x, y = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    _, (x_bar, y_bar) = module.gradient(x, y)
    np.testing.assert_allclose(x_bar, 2 * (x + y) + 1, rtol=1e-15)
    np.testing.assert_allclose(y_bar, 2 * (x + y), rtol=1e-15)
    graph = accumulate_in_place(build_gradient(build_forward(text)))
    for edge in graph.edges:
        if edge.prim == "add_into":
            total = edge.inputs[0]
            assert total not in graph.inputs
            assert sum(total in other.inputs for other in graph.edges) == 1


@pytest.mark.parametrize("text", [SHARED,
                                  "def f(x: (n,), y: (n,)):\n    s = x * y\n"
                                  "    return sum(s * s) + sum(s * x) + sum(x * x)\n"])
def test_updated_sums_give_the_gradient_of_central_differences(text: str) -> None:
    module = compile_cached(text).load()
    rng = np.random.default_rng(4)
    args = [rng.uniform(-1, 1, (3,))] + ([rng.uniform(-1, 1, (3, 3))] if "W" in text
                                          else [rng.uniform(-1, 1, (3,))])
    value, partials = module.gradient(*args)
    for k, partial in enumerate(partials):
        np.testing.assert_allclose(partial, entrywise_differences(module.forward, args, k),
                                   rtol=1e-6, atol=1e-8)
    assert all(not np.shares_memory(partial, arg) for partial in partials for arg in args)


def test_an_accumulator_of_ints_is_never_updated_with_floats() -> None:
    """``np.broadcast_to(1, shape) * 3`` is an array of ints (a constant is printed as
    written): X_bar, a sum of two of its parts, must not take a float term in place."""
    text = ("f(X: (n, d), Y: (m, d)) = sum(concat((X, Y^2), axis=0)^2) "
            "+ sum(concat((X, X), axis=-1) * 3)\n")
    graph = build_gradient(build_forward(text))
    rewritten = accumulate_in_place(graph)
    assert [e.prim for e in rewritten.edges].count("add_into") == 0
    module = compile_cached(text).load()
    rng = np.random.default_rng(5)
    X, Y = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (4, 3))
    _, (X_bar, Y_bar) = module.gradient(X, Y)
    np.testing.assert_allclose(X_bar, 2 * X + 6, rtol=1e-15)
    np.testing.assert_allclose(Y_bar, 4 * Y ** 3, rtol=1e-15)


def test_a_helpers_vjp_is_not_taken_for_floats() -> None:
    """Seed 40775: a helper of constant value has a vjp of int zeros, ``1 + x_bar`` is then an
    int array, and adding ``t1`` into it in place failed to cast."""
    text = ("def g1(a: (n,), p):\n    return 0.9\n\n"
            "def f(x: (n,)):\n    p = g1(x, (x * 0.5))\n    return (sum(x) + p)\n")
    module = compile_cached(text).load()
    _, (x_bar,) = module.gradient(np.array([-1.3, 0.3, 0.35]))
    np.testing.assert_array_equal(x_bar, np.ones(3))

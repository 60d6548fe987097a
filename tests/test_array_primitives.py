"""Every array primitive of the registry, and every elementwise one under broadcasting.

`test_array_primitive` is parametrised over the registry's non-elementwise entries and each
entry's own test ``cases`` (argument shapes with named dimensions, and parameters). For each
case a one-edge graph is compiled to a module and checked at seeded random points:

- ``forward`` against the entry's NumPy ``impl`` (the oracle);
- ``vjp`` with a random cotangent ``u`` against central differences of ``<u, f(x)>``, entry by
  entry, and the inner-product identity ``<u, J v> = <J^T u, v>`` with ``J v`` by central
  differences along a random direction ``v``;
- the partials have their inputs' shapes.

`test_broadcasting` does the same for each elementwise primitive over shapes that broadcast
(a scalar into a matrix, a row into a matrix, a column against a row, named dimensions), so the
reverse pass's summing back to each input's shape ("unbroadcast") is tested on every entry.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest

from gradgen.emit.module import emit_module
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.graph import Graph, Var
from gradgen.ir.primitives import REGISTRY
from gradgen.pipeline import Compiled, build_gradient

SIZES = {"n": 3, "d": 4, "k": 2, "m": 3}
#: Primitives tested elsewhere: those whose arguments are dimensions, not arrays (from source
#: in test_arrays), loops, branches and calls with their parts (test_loops, test_branches,
#: test_helpers) and the segment arithmetic of checkpointing (test_checkpoint).
TESTED_ELSEWHERE = {"zeros", "ones", "eye", "reshape", "dim", "count", "zeros_like", "loop",
                    "to_float",  # tests/test_regressions_numeric.py
                    "whole", "cond", "call", "sqrt_stride", "ceil_div"}
ARRAY_PRIMITIVES = sorted(name for name, p in REGISTRY.items() if not p.elementwise)
CASES = [pytest.param(name, shapes, params, id=f"{name}-{k}")
         for name in ARRAY_PRIMITIVES for k, (shapes, params) in enumerate(REGISTRY[name].cases)]
BROADCAST_SHAPES = [((), (2, 3)), ((2, 3), ()), ((2, 3), (3,)), ((2, 1), (1, 3)),
                    (("n", "d"), ("d",)), (("n", 1), ("n", "d"))]
ELEMENTWISE = sorted(name for name, p in REGISTRY.items()
                     if p.elementwise and p.result == "float" and p.adjoint is not None)


def kinds(name: str, count: int) -> str:
    """The kind of each of ``count`` arguments (a variadic entry repeats its last kind)."""
    prim = REGISTRY[name]
    return (prim.args + prim.args[-1] * count)[:count] if prim.variadic else prim.args


def sizes(shape: tuple) -> tuple[int, ...]:
    return tuple(SIZES.get(dim, dim) for dim in shape)


def one_edge_module(name: str, shapes: tuple, params: dict[str, Any]) -> Any:
    """A module computing ``name`` applied to inputs ``a0, a1, ...`` of the given shapes
    (a condition argument is ``aK > 0``)."""
    inputs = tuple(Var(f"a{k}", shape) for k, shape in enumerate(shapes))
    builder = GraphBuilder()
    args = [builder.gt(var, builder.const(0.0)) if kind == "b" else var
            for var, kind in zip(inputs, kinds(name, len(inputs)))]
    output = builder.emit(name, tuple(args), "y", as_params(params))
    forward = Graph("f", inputs, tuple(builder.edges), (output,))
    derivative = build_gradient(forward)
    return Compiled(forward, derivative, emit_module(forward, derivative, "t.txt", "test")).load()


def oracle(name: str, params: dict[str, Any]) -> Any:
    prim = REGISTRY[name]

    def value(*xs: np.ndarray) -> np.ndarray:
        args = [x > 0 if kind == "b" else x for x, kind in zip(xs, kinds(name, len(xs)))]
        return np.asarray(prim.impl(*args, **params), dtype=float)

    return value


def sample(name: str, shapes: tuple, seed: str) -> list[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    domains = REGISTRY[name].domain
    return [rng.uniform(*domains[min(k, len(domains) - 1)], size=sizes(shape))
            for k, shape in enumerate(shapes)]


def central_gradient(phi: Any, xs: list[np.ndarray], k: int, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function ``phi`` in every entry of argument ``k``."""
    grad = np.zeros_like(xs[k])
    for position in np.ndindex(xs[k].shape):
        shifted = [x.copy() for x in xs]
        shifted[k][position] += eps
        up = phi(*shifted)
        shifted[k][position] -= 2 * eps
        grad[position] = (up - phi(*shifted)) / (2 * eps)
    return grad


def check_vjp(name: str, shapes: tuple, params: dict[str, Any], seed: str) -> None:
    module = one_edge_module(name, shapes, params)
    f = oracle(name, params)
    xs = sample(name, shapes, seed)
    # copies: add_at adds in place into its first argument (the compiler only ever gives it
    # a fresh accumulator)
    np.testing.assert_allclose(module.forward(*(x.copy() for x in xs)), f(*xs), rtol=1e-12,
                               atol=1e-14)
    rng = np.random.default_rng(zlib.crc32(f"u-{seed}".encode()))
    value = f(*xs)
    u = rng.normal(size=value.shape)
    _, pulled = module.vjp(*(x.copy() for x in xs), u)
    assert len(pulled) == len(xs)
    differentiable = [k for k, kind in enumerate(kinds(name, len(xs))) if kind == "f"]
    for k, x in enumerate(xs):
        assert np.shape(pulled[k]) == x.shape, (k, np.shape(pulled[k]), x.shape)

    def phi(*args: np.ndarray) -> float:
        return float(np.sum(u * f(*args)))

    for k in differentiable:
        np.testing.assert_allclose(pulled[k], central_gradient(phi, xs, k), rtol=1e-6, atol=1e-7)
    directions = [rng.normal(size=x.shape) if k in differentiable else np.zeros_like(x)
                  for k, x in enumerate(xs)]
    eps = 1e-6
    up = f(*(x + eps * v for x, v in zip(xs, directions)))
    down = f(*(x - eps * v for x, v in zip(xs, directions)))
    u_jv = np.sum(u * (up - down) / (2 * eps))
    jtu_v = sum(np.sum(p * v) for p, v in zip(pulled, directions))
    assert u_jv == pytest.approx(jtu_v, rel=1e-6, abs=1e-7)


def test_every_array_primitive_has_cases_or_a_source_test() -> None:
    untested = {name for name in ARRAY_PRIMITIVES if not REGISTRY[name].cases}
    assert untested == TESTED_ELSEWHERE


@pytest.mark.parametrize("name, shapes, params", CASES)
def test_array_primitive(name: str, shapes: tuple, params: dict[str, Any]) -> None:
    check_vjp(name, shapes, params, f"{name}{shapes}{params}")


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_broadcasting(name: str, shapes: tuple) -> None:
    arity = REGISTRY[name].arity
    if arity == 1:
        shapes = (shapes[0] or shapes[1],)
    elif arity == 3:
        shapes = (shapes[0], shapes[1], shapes[1])
    check_vjp(name, shapes, {}, f"{name}{shapes}")

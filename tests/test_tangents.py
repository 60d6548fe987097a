"""Every tangent rule (JVP) of the registry, checked against central differences and against
its adjoint rule.

`test_tangent_rule` is parametrised over the registry's entries that have a tangent rule: the
elementwise ones at a batch of points and over shapes that broadcast (those of
`test_array_primitives`), the others over their own test ``cases`` (and a few more below with
run-time positions and shapes). For each, a one-edge graph and the rule's tangent are built with
the builder and run by the reference interpreter at seeded random points and tangents, each
input's tangent alone and all of them together (an input with no tangent is None), and:

- the tangent has the output's shape;
- it agrees with central differences of the entry's NumPy ``impl`` along the tangents (1e-6);
- ``<u, J v>`` from the tangent rule equals ``<J^T u, v>`` from the adjoint rule for a random
  cotangent ``u`` (1e-12 of the terms' size).

Then: every primitive with an adjoint rule that is not a block has a tangent rule, and the rules
that route by a condition select the tangent, so the branch not taken adds an exact 0 even where
its tangent is inf or NaN.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest
from test_array_primitives import BROADCAST_SHAPES, kinds, oracle, sizes

from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.graph import Graph, Var
from gradgen.ir.interpret import interpret
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.primitives.arrays import N

#: A case: argument shapes, parameters, and constant arguments after them (a run-time position,
#: a dimension), which have no tangent.
Case = tuple[tuple, dict[str, Any], tuple[float, ...]]

AT = (("at", 0),)
#: Cases the registry's own ``cases`` leave out: run-time positions and a reshape's dimensions.
MORE_CASES: dict[str, list[Case]] = {
    "getitem": [(((5, 3),), {"index": AT}, (2.0,)),
                (((4, N),), {"index": (("slice", None, None, None),) + AT}, (1.0,))],
    "scatter": [(((3,), (4, 3)), {"index": AT}, (2.0,))],
    "add_at": [(((5, 2), (2,)), {"index": AT}, (3.0,))],
    "reshape": [(((6,),), {"shape": (2, 3)}, (2.0, 3.0)),
                (((N, 4),), {"shape": (4, N)}, (4.0, 3.0))],
}
WITH_TANGENTS = sorted(name for name, p in REGISTRY.items() if p.tangent is not None)


def elementwise_cases(name: str) -> list[Case]:
    """A batch of points, and shapes that broadcast (as `test_array_primitives` adapts them)."""
    arity = REGISTRY[name].arity
    cases = [((4,),) * arity]
    for shapes in BROADCAST_SHAPES:
        if arity == 1:
            shapes = (shapes[0] or shapes[1],)
        elif arity == 3:
            shapes = (shapes[0], shapes[1], shapes[1])
        cases.append(shapes)
    return [(shapes, {}, ()) for shapes in cases]


def cases(name: str) -> list[Case]:
    prim = REGISTRY[name]
    if prim.elementwise:
        return elementwise_cases(name)
    return [(shapes, params, ()) for shapes, params in prim.cases] + MORE_CASES.get(name, [])


def sample(name: str, shapes: tuple, seed: str) -> list[np.ndarray]:
    """Seeded points of the entry's domain (-3 to 3 for an entry with none: ``reshape``)."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    domains = REGISTRY[name].domain or ((-3.0, 3.0),)
    return [rng.uniform(*domains[min(k, len(domains) - 1)], size=sizes(shape))
            for k, shape in enumerate(shapes)]


CASES = [pytest.param(name, shapes, params, constants, id=f"{name}-{k}")
         for name in WITH_TANGENTS
         for k, (shapes, params, constants) in enumerate(cases(name))]


# ---- building and running the rules -----------------------------------------------------------

class OneEdge:
    """``name`` applied to inputs ``a0, a1, ...`` of ``shapes`` (a condition argument is
    ``aK > 0``) and then ``constants``: its graph's builder, inputs, arguments and output."""

    def __init__(self, name: str, shapes: tuple, params: dict[str, Any],
                 constants: tuple[float, ...]) -> None:
        self.name, self.params = name, params
        self.builder = b = GraphBuilder()
        self.inputs = tuple(Var(f"a{k}", shape) for k, shape in enumerate(shapes))
        self.kinds = kinds(name, len(shapes) + len(constants))
        conditions = [b.gt(var, b.const(0.0)) if kind == "b" else var
                      for var, kind in zip(self.inputs, self.kinds)]
        self.args = (*conditions, *map(b.const, constants))
        self.output = b.emit(name, self.args, "y", as_params(params))
        self.forward = len(b.edges)
        self.differentiable = [k for k in range(len(shapes)) if self.kinds[k] == "f"]

    def run(self, start: int, extra: tuple[Var, ...], outputs: tuple[Var, ...],
            *values: Any) -> tuple:
        """The interpreter's values of ``outputs`` at the inputs and then ``extra``, by the
        forward edge and the edges built since ``start``."""
        edges = self.builder.edges[:self.forward] + self.builder.edges[start:]
        graph = Graph("t", self.inputs + extra, tuple(edges), outputs)
        return interpret(graph, *(np.array(v, dtype=float) for v in values))

    def tangent(self, given: list[int], xs: list[np.ndarray],
                directions: list[np.ndarray]) -> np.ndarray:
        """The tangent rule's output tangent, given the tangents of inputs ``given`` only."""
        dots = tuple(Var(f"a{k}_dot", var.shape) if k in given else None
                     for k, var in enumerate(self.inputs))
        dots += (None,) * (len(self.args) - len(dots))
        start = len(self.builder.edges)
        y_dot = REGISTRY[self.name].tangent(self.builder, dots, self.output, *self.args,
                                            **self.params)
        if y_dot is None:  # an exact 0
            return np.zeros(np.shape(self.run(start, (), (self.output,), *xs)[0]))
        assert y_dot.shape == self.output.shape and y_dot.dtype == "float"
        tangent_inputs = tuple(dot for dot in dots if dot is not None)
        return self.run(start, tangent_inputs, (y_dot,), *xs,
                        *(directions[k] for k in given))[0]

    def cotangents(self, xs: list[np.ndarray], u: np.ndarray) -> list[Any]:
        """The adjoint rule's contribution to each input (0 for None) at cotangent ``u``."""
        g = Var("g", self.output.shape)
        start = len(self.builder.edges)
        partials = REGISTRY[self.name].adjoint(self.builder, g, self.output, *self.args,
                                               **self.params)
        built = tuple(p for p in partials[:len(self.inputs)] if p is not None)
        values = iter(self.run(start, (g,), built, *xs, u))
        return [0.0 if p is None else next(values) for p in partials[:len(self.inputs)]]


def central_tangent(f: Any, xs: list[np.ndarray], directions: list[np.ndarray],
                    eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f`` along ``directions``."""
    up = f(*(x + eps * v for x, v in zip(xs, directions)))
    down = f(*(x - eps * v for x, v in zip(xs, directions)))
    return (up - down) / (2 * eps)


# ---- the registry-wide tests ------------------------------------------------------------------

@pytest.mark.parametrize("name, shapes, params, constants", CASES)
def test_tangent_rule(name: str, shapes: tuple, params: dict[str, Any],
                      constants: tuple[float, ...]) -> None:
    edge = OneEdge(name, shapes, params, constants)
    seed = f"{name}{shapes}{params}"
    xs = sample(name, shapes, seed)
    f = oracle(name, params)

    def value(*args: np.ndarray) -> np.ndarray:
        return f(*args, *constants)

    rng = np.random.default_rng(zlib.crc32(f"v-{seed}".encode()))
    u = rng.normal(size=np.shape(value(*xs)))
    pulled = edge.cotangents(xs, u)
    for given in [[k] for k in edge.differentiable] + [edge.differentiable]:
        directions = [rng.normal(size=x.shape) if k in given else np.zeros_like(x)
                      for k, x in enumerate(xs)]
        pushed = edge.tangent(given, xs, directions)
        assert np.shape(pushed) == np.shape(value(*xs))
        np.testing.assert_allclose(pushed, central_tangent(value, xs, directions), rtol=1e-6,
                                   atol=1e-7, err_msg=f"central differences, tangents of {given}")
        u_jv = u * pushed
        jtu_v = [np.asarray(pulled[k]) * directions[k] for k in given]
        size = np.sum(np.abs(u_jv)) + sum(np.sum(np.abs(term)) for term in jtu_v)
        assert abs(np.sum(u_jv) - sum(map(np.sum, jtu_v))) <= 1e-12 * size, given


def test_every_differentiable_primitive_but_blocks_has_a_tangent_rule() -> None:
    missing = {name for name, p in REGISTRY.items()
               if p.adjoint is not None and p.block is None and p.tangent is None}
    assert not missing
    assert not {name for name, p in REGISTRY.items() if p.tangent and not p.adjoint}


def test_every_tangent_rule_is_tested() -> None:
    assert {name for name in WITH_TANGENTS if cases(name)} == set(WITH_TANGENTS)


# ---- NaN safety: the branch not taken adds an exact 0 -------------------------------------------

INF, NAN = np.inf, np.nan


@pytest.mark.parametrize("name, xs, dots, expected", [
    ("where", ([1.0, -1.0], [5.0, 6.0], [7.0, 8.0]), (None, [1.0, INF], [NAN, 2.0]), [1.0, 2.0]),
    ("where", ([1.0, -1.0], [5.0, 6.0], [7.0, 8.0]), (None, [1.0, INF], None), [1.0, 0.0]),
    ("max", ([2.0, 0.0], [1.0, 3.0]), ([1.0, INF], [NAN, 2.0]), [1.0, 2.0]),
    ("min", ([2.0, 0.0], [1.0, 3.0]), ([NAN, 1.0], [2.0, INF]), [2.0, 1.0]),
    ("relu", ([-1.0, 2.0],), ([INF, 3.0],), [0.0, 3.0]),
    ("pow", ([0.0, 2.0], [0.0, 0.0]), ([1.0, 1.0], None), [0.0, 0.0]),
    ("amax", ([1.0, 3.0, 2.0],), ([INF, 1.0, NAN],), 1.0),
    ("amin", ([1.0, 3.0, 1.0],), ([2.0, INF, 4.0],), 3.0),
])
def test_rules_that_select_keep_the_branch_not_taken_out(name: str, xs: tuple, dots: tuple,
                                                          expected: Any) -> None:
    shapes = tuple(np.shape(x) for x in xs)
    params = {"axis": None, "keepdims": False} if name in ("amax", "amin") else {}
    edge = OneEdge(name, shapes, params, ())
    given = [k for k, dot in enumerate(dots) if dot is not None]
    directions = [np.asarray(dot if dot is not None else np.zeros(np.shape(x)), dtype=float)
                  for x, dot in zip(xs, dots)]
    with np.errstate(all="ignore"):
        pushed = edge.tangent(given, [np.asarray(x) for x in xs], directions)
    np.testing.assert_array_equal(pushed, expected)

"""Rematerialisation in helper vjps (issue 12, point 9): a helper's vjp recomputes from its
arguments the cheap values it reads (arithmetic, indexing, stacking, shapes) and takes only the
expensive ones (transcendental functions, products, reductions, nested calls) recorded.

Checked here: the rule against the registry; the Euler example's ``rate_vjp`` takes
``(y, theta, cotangent)``, no ``rate_record`` is made, its loop fills two tapes (the state and
the step's value, which ``h * rate`` reads) and its Jacobians match central differences;
helpers with an ``exp``, a ``sin`` of a cheap value of a recorded one, and a nested call still
record what is expensive, and their gradients match central differences.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_helpers import body, defined
from test_loops import check_against_differences, module

from gradgen.differentiate.rematerialize import CHEAP, is_cheap, rematerialize
from gradgen.ir.graph import Edge, Var, const
from gradgen.ir.primitives import REGISTRY
from gradgen.pipeline import compile_source

EULER = (Path(__file__).resolve().parent.parent / "examples" / "euler.txt").read_text()


def signature(source: str, name: str) -> list[str]:
    """The parameters of the module-level function ``name``."""
    found = re.search(rf"^def {re.escape(name)}\((.*?)\):", source, re.MULTILINE | re.DOTALL)
    return [p.strip() for p in found.group(1).split(",")]


def recomputed_lines(source: str, name: str) -> list[str]:
    """The lines of a vjp before its first adjoint: the values it recomputes."""
    lines = body(source, name).split('"""')[2].splitlines()
    return [line for line in lines[:next(k for k, line in enumerate(lines) if "# grad of" in line)]
            if line.strip()]


# ---- the rule --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "neg", "lt", "and", "where",
                                  "abs", "relu", "max", "square", "getitem", "stack", "concat",
                                  "reshape", "transpose", "expand", "dim", "zeros"])
def test_arithmetic_and_placing_entries_are_recomputed(name: str) -> None:
    assert name in CHEAP


@pytest.mark.parametrize("name", ["exp", "log", "sin", "tanh", "sqrt", "sigmoid", "softplus",
                                  "atan2", "hypot", "matmul", "outer", "sum", "mean", "norm",
                                  "logsumexp", "softmax", "log_softmax", "loop", "cond", "call",
                                  "add_at", "add_into", "zeros_like", "pow"])
def test_transcendental_products_reductions_and_blocks_are_recorded(name: str) -> None:
    assert name in REGISTRY and name not in CHEAP


def test_a_power_is_cheap_by_a_constant_whole_exponent_only() -> None:
    x, q = Var("x"), Var("q")
    assert is_cheap(Edge("pow", (x, const(2.0)), (Var("y"),)))
    assert is_cheap(Edge("pow", (x, const(-3.0)), (Var("y"),)))
    assert not is_cheap(Edge("pow", (x, const(2.5)), (Var("y"),)))
    assert not is_cheap(Edge("pow", (x, q), (Var("y"),)))


def test_each_cheap_value_is_recomputed_once_and_what_it_reads_is_recorded() -> None:
    x = Var("x")
    e, s, t, u = Var("e"), Var("s"), Var("t"), Var("u")
    forward = (Edge("exp", (x,), (e,)), Edge("mul", (e, x), (s,)), Edge("add", (s, s), (t,)),
               Edge("sin", (t,), (u,)))
    edges, recorded = rematerialize(forward, (t, s, e, u), {x})
    assert edges == forward[1:3] and recorded == (e, u)


# ---- the Euler example -----------------------------------------------------------------------

def test_euler_rate_vjp_takes_the_arguments_and_the_cotangent() -> None:
    source = compile_source(EULER, "euler.txt").source
    assert signature(source, "rate_vjp") == ["y", "theta", "cotangent"]
    assert defined(source, "rate_record") == 0 and "rate_record(" not in source.split("def ")[-1]
    vjp = body(source, "vjp")
    assert "v13 = rate(y, theta)" in vjp and "rate_vjp(y, theta, v13_bar)" in vjp
    # a value is recomputed at most once, and no more than the helper computes
    lines = recomputed_lines(source, "rate_vjp")
    assert len(lines) == len(set(lines)) <= len(body(source, "rate").splitlines())
    assert "xp.stack" not in body(source, "rate_vjp")  # the value is not read: not recomputed


def test_euler_loop_fills_only_the_tapes_it_needs() -> None:
    vjp = body(compile_source(EULER, "euler.txt").source, "vjp")
    tapes = re.findall(r"^ +(tape_\w+) = \[None\] \* N$", vjp, re.MULTILINE)
    assert sorted(tapes) == ["tape_v13", "tape_y"]  # the state, and rate's value for h_bar
    assert len(re.findall(r"tape_\w+\[s\] = ", vjp)) == 2


def numeric_jacobian(forward, args: list, k: int, step: float = 1e-6) -> np.ndarray:
    """d forward / d args[k] by central differences, shaped value + input."""
    x = np.asarray(args[k], dtype=float)
    columns = []
    for position in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[position] += step
        minus[position] -= step
        high = forward(*args[:k], plus if x.shape else float(plus), *args[k + 1:])
        low = forward(*args[:k], minus if x.shape else float(minus), *args[k + 1:])
        columns.append((np.asarray(high) - np.asarray(low)) / (2 * step))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(columns[0]) + x.shape)


@pytest.mark.parametrize("N", [0, 1, 7])
def test_euler_jacobians_match_central_differences(N: int) -> None:
    m = module(EULER)
    args = [np.array([1.2, 0.8]), np.array([0.9, 0.4, 0.3, 0.7]), 0.05, N]
    value, jacobians = m.jacobian(*args)
    np.testing.assert_allclose(value, m.forward(*args), rtol=1e-15)
    for k, jacobian in enumerate(jacobians):
        np.testing.assert_allclose(jacobian, numeric_jacobian(m.forward, args, k),
                                   rtol=1e-6, atol=1e-8)


# ---- what stays recorded ---------------------------------------------------------------------

EXP_IN_A_LOOP = """def g(x, a):
    return exp(a * x) * x + a

def f(a, x0, N):
    x = x0
    for k in range(N):
        x = 0.5 * g(x, a)
    return x
"""


def test_an_exp_is_recorded_and_its_argument_recomputed_not() -> None:
    source = compile_source(EXP_IN_A_LOOP, "helpers.txt").source
    assert defined(source, "g_record") == 1
    record, params = body(source, "g_record"), signature(source, "g_vjp")
    recorded = record.split("return ")[-1].strip().split(", ")
    assert len(recorded) == 2 and params == ["x", "a", *recorded, "cotangent"]
    assert "xp.exp" in record and "xp.exp" not in body(source, "g_vjp")
    m = module(EXP_IN_A_LOOP)
    x, a = 0.3, 0.8
    e = np.exp(a * x)
    np.testing.assert_allclose(m.g_vjp(x, a, *m.g_record(x, a), 2.0),
                               (2.0 * e * (a * x + 1), 2.0 * (e * x * x + 1)), rtol=1e-14)
    for N in (0, 1, 4):
        check_against_differences(m, [a, 0.6, N], skip=(2,))


SIN_OF_A_CHEAP_VALUE = """def k(x, y):
    e = exp(x)
    return sin(e * y + x * x)

def f(x, y):
    return k(x, y) * k(y, x)
"""


def test_a_cheap_value_of_a_recorded_one_is_recomputed_from_it() -> None:
    source = compile_source(SIN_OF_A_CHEAP_VALUE, "helpers.txt").source
    vjp = body(source, "k_vjp")
    assert "xp.exp" not in vjp and "xp.sin" not in vjp and "xp.cos" in vjp
    assert len(signature(source, "k_vjp")) == 5  # x, y, the value, exp(x), cotangent
    check_against_differences(module(SIN_OF_A_CHEAP_VALUE), [0.4, -0.7])


NESTED = """def inner(x):
    return x * x + 1

def outer(x, y):
    return inner(x) * y

def f(x, y):
    return outer(x, y) + outer(y, x)
"""


def test_a_nested_call_is_recorded_and_a_cheap_helper_is_called_as_itself() -> None:
    source = compile_source(NESTED, "helpers.txt").source
    assert signature(source, "inner_vjp") == ["x", "cotangent"]
    assert defined(source, "outer_record") == 1 and defined(source, "inner_record") == 0
    assert not re.search(r"^ +\w+ = inner\(", body(source, "outer_vjp"), re.MULTILINE)  # made once
    check_against_differences(module(NESTED), [0.4, -0.7])

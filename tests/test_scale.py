"""Scale: a sum of 10^5 terms, a nesting depth of 10^4 and a 10^4-long elif chain compile, with
no recursion anywhere (blocks of statements nest at most 20 deep as graphs).

Every pass is a loop over a flat list (postfix items, topologically ordered edges), so the
Python recursion limit (1000) never comes into play. The deep programs are also imported and
run, and their gradients checked against the chain rule evaluated by a hand-written loop.
The 10^6-term sum takes about a minute and runs only with ``GRADGEN_SLOW=1``.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from gradgen.pipeline import compile_source

DEPTH = 10_000
INPUTS = 10  # the long sums cycle through x1..x10


def _sum_source(terms: int) -> str:
    """``f(x1, ..., x10) = x1 + x2 + ... + x10 + x1 + ...`` with ``terms`` terms."""
    params = ", ".join(f"x{i + 1}" for i in range(INPUTS))
    return f"f({params}) = " + " + ".join(f"x{k % INPUTS + 1}" for k in range(terms)) + "\n"


def _check_sum(terms: int, load: bool) -> None:
    compiled = compile_source(_sum_source(terms), "sum.txt")
    assert len(compiled.forward.edges) == terms - 1
    # every adjoint is the constant 1: the partials fold to the number of occurrences
    assert len(compiled.gradient.edges) == terms - 1
    if load:
        point = np.arange(1.0, INPUTS + 1.0)
        value, partials = compiled.load().gradient(*point)
        assert value == pytest.approx(terms / INPUTS * point.sum(), rel=1e-12)
        assert partials == (terms / INPUTS,) * INPUTS


def test_sum_of_100_000_terms():
    _check_sum(100_000, load=True)


@pytest.mark.skipif(os.environ.get("GRADGEN_SLOW") != "1",
                    reason="a 10^6-term sum takes about a minute; set GRADGEN_SLOW=1")
def test_sum_of_1_000_000_terms():
    _check_sum(1_000_000, load=False)


def test_sin_nested_10_000_deep():
    compiled = compile_source("f(x) = " + "sin(" * DEPTH + "x" + ")" * DEPTH + "\n", "deep.txt")
    assert len(compiled.forward.edges) == DEPTH
    assert len(compiled.gradient.edges) <= 3 * DEPTH
    module = compiled.load()
    value, slope = 0.7, 1.0
    for _ in range(DEPTH):  # the chain rule by hand: d sin(u) = cos(u) du
        value, slope = math.sin(value), slope * math.cos(value)
    result, (partial,) = module.gradient(0.7)
    assert result == pytest.approx(value, rel=1e-12)
    assert partial == pytest.approx(slope, rel=1e-9)
    assert module.forward(0.7) == result


def test_affine_chain_10_000_deep():
    """``((((x + 1)*y + 1)*y + 1)*y ...)``: a_k = (a_{k-1} + 1) y."""
    source = "f(x, y) = " + "(" * DEPTH + "x" + "+ 1)*y" * DEPTH + "\n"
    compiled = compile_source(source, "chain.txt")
    assert len(compiled.forward.edges) == 2 * DEPTH
    module = compiled.load()
    x, y = 0.5, 0.9999
    value, d_x, d_y = x, 1.0, 0.0
    for _ in range(DEPTH):  # forward-mode derivatives by hand
        value, d_x, d_y = (value + 1) * y, d_x * y, d_y * y + (value + 1)
    result, (partial_x, partial_y) = module.gradient(x, y)
    assert result == pytest.approx(value, rel=1e-9)
    assert partial_x == pytest.approx(d_x, rel=1e-9)
    assert partial_y == pytest.approx(d_y, rel=1e-9)


@pytest.mark.parametrize("depth", [DEPTH, DEPTH + 1])
@pytest.mark.parametrize("spelling", ["-(", "-"])
def test_negation_nested_10_000_deep(spelling, depth):
    closing = ")" * depth if spelling == "-(" else ""
    compiled = compile_source(f"f(x) = {spelling * depth}x{closing}\n", "neg.txt")
    sign = (-1.0) ** depth
    value, (partial,) = compiled.load().gradient(2.5)
    assert (value, partial) == (sign * 2.5, sign)


def test_elif_chain_10_000_long():
    """An if/elif chain nests its sides 10^4 deep: the first 20 levels are real branches, the
    rest selections (loops and branches nest at most 20 deep), all compiled in linear time."""
    lines = ["def f(x):", "    if x < 0:", "        y = 0"]
    for k in range(1, DEPTH):
        lines += [f"    elif x < {k}:", f"        y = {k} * x"]
    lines += ["    else:", "        y = x", "    return y", ""]
    module = compile_source("\n".join(lines), "chain.txt").load()
    for x in (-1.5, 0.5, 17.25, 4321.5, DEPTH + 0.5):
        k = math.floor(x) + 1  # the first k with x < k
        slope = 0.0 if k <= 0 else (k if k < DEPTH else 1.0)
        value, (dx,) = module.gradient(x)
        assert (value, dx) == (slope * x if k > 0 else 0.0, slope)


def test_a_chain_of_3000_wheres_compiles_with_its_float_twin():
    """Every ``where`` guards statements of the float twin; finding each run's guard text once
    per run over the whole graph made this take 8 minutes (now seconds). The twin's value and
    partials are those of the NumPy path."""
    body = "".join(f"    s = where(s > {k % 3}, log(s * s + 1) + y, s * y)\n" for k in range(3000))
    module = compile_source(f"def f(x, y):\n    s = x\n{body}    return s\n", "w.txt").load()
    on_floats = module.gradient(0.7, 1.1)
    numpy_path = module.gradient(np.float64(0.7), np.float64(1.1))
    np.testing.assert_allclose([on_floats[0], *on_floats[1]],
                               [numpy_path[0], *numpy_path[1]], rtol=1e-12)
    assert type(on_floats[0]) is float

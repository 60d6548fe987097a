"""Loop-invariant statements are computed once, before the loop (`gradgen.ir.hoist`), and the
gradient stays right: checked against central differences and against the graph before the
pass, evaluated by the reference interpreter."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_difference

from gradgen.frontend.lower import lower
from gradgen.frontend.parser import parse
from gradgen.ir.hoist import hoist_invariants
from gradgen.ir.interpret import interpret
from gradgen.ir.optimize import optimize
from gradgen.pipeline import compile_source

NESTED = """\
def f(x, a, b, N: int, M: int):
    s = x
    for i in range(N):
        for j in range(M):
            s = s * 0.5 + sin(a * b) + j
    return s
"""

INDEXED = """\
def f(x: (3,), N: int, k: int):
    s = 0
    for i in range(N):
        s = s + x[k] * 2
    return s
"""


def body_lines(source: str, function: str) -> tuple[list[str], list[str]]:
    """The lines of ``function`` in a generated module before its first loop, and in it."""
    lines = source.split(f"def {function}(")[1].split("\ndef ")[0].splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("for "))
    depth = len(lines[first]) - len(lines[first].lstrip())
    end = next((i for i in range(first + 1, len(lines))
                if len(lines[i]) - len(lines[i].lstrip()) <= depth), len(lines))
    return lines[:first], lines[first:end]


def test_hmm_transposes_once_before_its_loop():
    text = open("examples/hmm.txt", encoding="utf-8").read()
    source = compile_source(text, "hmm.txt").source
    for function in ("forward", "gradient"):
        before, loop = body_lines(source, function)
        assert any(line.strip() == "v2 = log_A.T" for line in before)
        assert not any("log_A.T" in line for line in loop)


def test_an_invariant_leaves_two_loops():
    source = compile_source(NESTED, "nested.txt").source
    before, loop = body_lines(source, "gradient")
    assert any("xp.sin(" in line for line in before)
    assert not any("xp.sin(" in line for line in loop)


def test_the_nested_program_keeps_its_value_and_gradient():
    graph = optimize(lower(parse(NESTED, "nested.txt")))
    hoisted = hoist_invariants(graph)
    assert hoisted is not graph
    module = compile_source(NESTED, "nested.txt").module
    rng = np.random.default_rng(3)
    for _ in range(5):
        x, a, b = rng.uniform(-1.0, 1.0, 3)
        args = (x, a, b, 3, 4)
        assert interpret(hoisted, *args)[0] == pytest.approx(interpret(graph, *args)[0],
                                                             rel=1e-14)
        value, partials = module.gradient(*args)
        assert value == pytest.approx(interpret(graph, *args)[0], rel=1e-14)
        for i, partial in enumerate(partials):
            expected = central_difference(lambda *v: interpret(graph, *v, 3, 4)[0], (x, a, b), i)
            assert partial == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_a_read_that_may_raise_stays_in_a_loop_of_no_step():
    """``x[k]`` is out of range for k = 7, but the loop runs no step: nothing is read."""
    module = compile_source(INDEXED, "indexed.txt").module
    x = np.array([1.0, 2.0, 3.0])
    assert module.forward(x, 0, 7) == 0.0
    value, (x_bar,) = module.gradient(x, 0, 7)
    assert value == 0.0 and np.all(x_bar == 0.0)
    value, (x_bar,) = module.gradient(x, 4, 1)
    assert value == 16.0 and np.allclose(x_bar, [0.0, 8.0, 0.0])

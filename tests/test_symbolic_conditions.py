"""The symbolic route keeps every condition as the program writes it.

SymPy folds a Piecewise inside a condition into that condition and simplifies the comparisons
it gets; that simplification divides both sides by a factor without looking at its sign
(SymPy 1.14: ``x**3*cos(2) >= 1.5`` became ``x**3 >= 1.5/cos(2)``), so ``--method symbolic``
took the wrong branch (the campaign's seed 53424: 1.0 instead of 0.9 at x = -0.9665). gradgen's
``where`` now reaches SymPy as `Select`, which SymPy cannot fold.

- the seed's program, and its variations: a product with a negative constant factor (drawn
  through a ``where``) on either side of each of ``< <= > >= == !=``, under ``not``, ``and``,
  ``or``, a sum of two inputs times the factor, with and without CSE, against oracles that do
  not use SymPy: the NumPy interpreter of the forward graph for the value, the reverse-mode
  module and central differences for the partials;
- SymPy never simplifies a comparison while it differentiates these programs, and the
  expression it holds has no Piecewise;
- `Select` itself: a number (commutative, real where both sides are), picked by a constant
  test, differentiated side by side.
"""

from __future__ import annotations

import functools
import types

import numpy as np
import pytest
import sympy
from conftest import compile_cached, compile_module

from gradgen.differentiate.symbolic import to_sympy
from gradgen.differentiate.sympy_to_ir import Select
from gradgen.errors import LimitError
from gradgen.ir.interpret import interpret
from gradgen.pipeline import compile_source
from gradgen.tools import differences

SEED_53424 = """\
def f(x):
    p = x ^ 3
    p = p * cos(where(0.5 != p, 2, 0.5))
    a = where(p >= 1.5, 1.5, 0.5)
    return where(x + a < 0.5, 0.9, 1)
"""

#: A where whose condition compares ``p = x^3 * s`` with 4, ``s`` a negative constant drawn
#: through a where (so that SymPy saw a Piecewise in the condition). Where the constant is a
#: function SymPy leaves unevaluated (``cos(2)``, not a Float), its simplification divided by
#: it as if it were positive: the first four were wrong for < <= > >= on either side.
TEMPLATE = """\
def f(x):
    s = {factor}
    p = {product}
    a = where({test}, 1.5, 0.5)
    return a * x + where(x + a < 0.5, 0.9, 1)
"""
FACTORS = ["cos(where(x > -5, 2, 3))", "sin(where(x > -5, 4, 3))", "tan(where(x > -5, 2, 3))",
           "log(where(x > -5, 2, 3)) - 1", "where(x > -5, -0.5, 2)", "where(x > -5, -2, 2)"]
OPERATORS = ["<", "<=", ">", ">=", "==", "!="]
TESTS = [*(f"p {op} 4" for op in OPERATORS), *(f"4 {op} p" for op in OPERATORS),
         "not (p >= 4)", "p >= 4 and x < 1", "p < 4 or x > 1", "p - 4 > 0", "-p < -4"]
TWO_INPUTS = """\
def f(x, y):
    s = cos(where(x > -5, 2, 3))
    a = where({test}, 1.5, 0.5)
    return where(x + a < 0.5, 0.9, 1) + a * y
"""
#: Points on both sides of every switch; x = -2 makes ``-0.5 * x^3`` exactly 4.
POINTS = [-2.5, -2.0, -1.7, -0.9665, -0.3, 0.4, 1.2, 1.9]


def program(factor: str, test: str, factor_first: bool = False) -> str:
    product = "s * x ^ 3" if factor_first else "x ^ 3 * s"
    return TEMPLATE.format(factor=factor, product=product, test=test)


@functools.cache
def symbolic_module(text: str, cse: bool = True) -> types.ModuleType:
    return compile_source(text, "prog.txt", method="symbolic", cse=cse).load()


def check_against_oracles(text: str, points: list, cse: bool = True) -> None:
    """At each point (a number, or a tuple of one per input) the symbolic module's value is
    the interpreter's, its partials reverse mode's and, away from a switch, the central
    differences of the interpreter."""
    symbolic, reverse = symbolic_module(text, cse), compile_module(text)
    forward = compile_cached(text).forward
    for point in points:
        point = point if isinstance(point, tuple) else (point,)
        value, partials = symbolic.gradient(*point)
        want = value_at(forward, point)
        assert value == pytest.approx(want, rel=1e-12, abs=1e-12), (point, value, want)
        assert partials == pytest.approx(reverse.gradient(*point)[1], rel=1e-12, abs=1e-12)
        for i, partial in enumerate(partials):
            if not _switches_near(forward, point, i):
                estimate = differences.partial(lambda *args: value_at(forward, args), point, i)
                assert partial == pytest.approx(float(estimate), rel=1e-6, abs=1e-6), point


def value_at(forward, point: tuple) -> float:
    return float(interpret(forward, *point)[0])


def _switches_near(forward, point: tuple, i: int, h: float = 1e-4) -> bool:
    """Whether the value jumps within ``h`` of ``point`` along input ``i`` (a tie, a switch)."""
    values = [value_at(forward, point[:i] + (point[i] + step,) + point[i + 1:])
              for step in (-h, 0.0, h)]
    return abs(values[2] - 2 * values[1] + values[0]) > 1e-6


def test_the_seed_takes_the_branch_numpy_takes() -> None:
    """Seed 53424: x^3 cos(2) >= 1.5 was x^3 >= 1.5/cos(2), the inequality not flipped."""
    value, (dx,) = symbolic_module(SEED_53424).gradient(-0.9665)
    assert (value, dx) == (0.9, 0.0)
    check_against_oracles(SEED_53424, POINTS + [-1.6, -1.5, 0.9])


@pytest.mark.parametrize("factor_first", [False, True], ids=["x3_s", "s_x3"])
@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("factor", FACTORS)
def test_a_negative_factor_keeps_the_comparison(factor: str, test: str,
                                                factor_first: bool) -> None:
    check_against_oracles(program(factor, test, factor_first), POINTS)


@pytest.mark.parametrize("test", ["(x + y) * s >= 1", "1 > s * (x + y)", "(x ^ 2 + x) * s < 1"])
def test_two_inputs_and_a_sum(test: str) -> None:
    """SymPy divided a sum of two inputs by the gcd of its coefficients (``cos(2)``, twice)."""
    text = TWO_INPUTS.format(test=test)
    check_against_oracles(text, [(x, y) for x in POINTS[::2] for y in (-1.3, 0.2, 1.1)])


@pytest.mark.parametrize("test", ["p >= 4", "4 != p", "not (p < 4)"])
def test_without_cse_too(test: str) -> None:
    check_against_oracles(program(FACTORS[0], test), POINTS, cse=False)


def test_arrays_of_points_take_each_points_branch() -> None:
    text = program(FACTORS[0], "p >= 4")
    values, (dx,) = symbolic_module(text).gradient(np.array(POINTS))
    forward = compile_cached(text).forward
    np.testing.assert_allclose(values, [float(interpret(forward, x)[0]) for x in POINTS])
    np.testing.assert_allclose(dx, [compile_module(text).gradient(x)[1][0] for x in POINTS])


@pytest.mark.parametrize("text", [SEED_53424, program(FACTORS[0], "p >= 4"),
                                  program(FACTORS[3], "4 < p", True)])
def test_sympy_never_simplifies_a_condition(text: str, monkeypatch) -> None:
    """SymPy rewrites a comparison only in `simplify` (reached by folding a Piecewise into a
    condition): it must not run at all, and the expression holds no Piecewise."""
    def refuse(self, **kwargs):
        raise AssertionError(f"SymPy simplified the condition {self}")

    monkeypatch.setattr(sympy.core.relational.Relational, "_eval_simplify", refuse)
    compile_source(text, "prog.txt", method="symbolic")
    _, (expr,) = to_sympy(compile_cached(text).forward)
    assert not expr.has(sympy.Piecewise)
    assert expr.has(Select)


def test_a_where_of_unknown_sign_is_a_number() -> None:
    """`Select` is commutative whatever its sides: by SymPy's default it asked its test too,
    which does not say, and a sum holding it was then not commutative, so not real, and
    ``min`` refused it as "not comparable" (found sampling programs with ``if``)."""
    text = ("f(x) = min(where(x < 9, 9 + where(atanh(0.9 * tanh(x)) > 0.5, atanh(0.9 * tanh(x)),"
            " 1.5), 9), x)\n")
    check_against_oracles(text, [-1.0, 0.3, 0.9, 2.0, 9.5, 12.0])


def test_select() -> None:
    """`Select`: a constant test picks a side, equal sides are that side, the derivative is
    taken side by side, and it is real where both sides are."""
    x = sympy.Symbol("x", real=True)
    assert Select(sympy.true, x, 2) == x and Select(sympy.false, x, 2) == 2
    assert Select(x > 0, x, x) == x
    assert sympy.diff(Select(x > 0, x**2, 3 * x), x) == Select(x > 0, 2 * x, 3)
    assert Select(x > 0, x, 2).is_extended_real
    assert (x * Select(x > 0, sympy.atanh(x), 2)).is_commutative
    assert Select(x > 0, 1, 2).is_positive and Select(x > 0, -1, 2).is_positive is None
    assert Select(x > 0, x, 2).subs(x, -1) == 2


def test_a_whole_number_argument_is_refused_by_name() -> None:
    """A whole number passed to a helper (``m: int``) is checked at run time by ``whole``,
    which SymPy has no form of: the route says so, not "'NoneType' is not callable"."""
    source = "def h(x, m: int):\n    return x * m\n\ndef f(x):\n    return h(x, 2)\n"
    with pytest.raises(LimitError, match="'whole' has no SymPy form"):
        compile_source(source, "p.txt", method="symbolic")

"""The scalar primitives: numbers and conditions, functions of one and two arguments, and
whole numbers (dimensions, checkpoint segments). Elementwise on arrays.

Gradients at kinks are one-sided and never NaN: ``abs'(0) = 1``, ``relu'(0) = 0``,
``max``/``min`` send a tie to their first argument, and ``sign``, comparisons and logical
operators have zero gradient. Tangents make the same choices, and the rules that route by a
condition (``where``, ``max``, ``min``, ``abs``, ``relu``, ``pow`` at an exponent of 0) select
the tangent rather than multiply it by a 0/1 selection: the branch not taken adds an exact 0,
even where its tangent is inf or NaN (``where(x > 0, log(x), 0)`` at 0).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from gradgen.ir.graph import Var
from gradgen.ir.primitives.late_sympy import sympy
from gradgen.ir.registry import (
    Builder,
    Rule,
    Table,
    TangentRule,
    linear_in_first,
    shaped_like,
    sum_of,
)

PRIMITIVES = Table()
primitive, unary = PRIMITIVES.primitive, PRIMITIVES.unary


def _sigmoid(x: Any) -> Any:
    """The generated code's overflow-free form: constant folding computes what it would."""
    return np.exp(np.minimum(x, 0.0)) / (1.0 + np.exp(-np.abs(x)))


def _softplus(x: Any) -> Any:
    """The generated code's overflow-free form (``np.logaddexp(0, x)``, in half the time)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _relu_sympy(x: Any) -> Any:
    """``Max(x, 0)``, not a Piecewise: SymPy folds a Piecewise into any condition over it and
    then compares the value of each piece (``log(relu(y)) < x`` compared SymPy's zoo)."""
    return sympy.Max(x, 0)


Dots = tuple[Var | None, ...]  # a tangent rule's input tangents (None: 0)


def _minus(b: Builder, first: Var | None, second: Var | None) -> Var | None:
    """``first - second`` of tangent terms (None is 0); None if both are."""
    if second is None:
        return first
    return b.neg(second) if first is None else b.sub(first, second)


def _where_rule(b: Builder, g: Var, y: Var, c: Var, p: Var, q: Var) -> tuple[Var | None, ...]:
    zero = b.const(0.0)
    return None, b.where(c, g, zero), b.where(c, zero, g)


def _where_tangent(b: Builder, dots: Dots, y: Var, c: Var, p: Var, q: Var) -> Var | None:
    """The tangent of the branch taken, selected (the other one's adds an exact 0)."""
    _, p_dot, q_dot = dots
    if p_dot is None and q_dot is None:
        return None
    zero = b.const(0.0)
    return shaped_like(b, b.where(c, p_dot or zero, q_dot or zero), y)


def _select_rule(test: str) -> Rule:
    """Adjoint of max/min: the whole of g goes to the argument that won (ties: the first)."""

    def rule(b: Builder, g: Var, y: Var, p: Var, q: Var) -> tuple[Var | None, ...]:
        first_wins = getattr(b, test)(p, q)
        zero = b.const(0.0)
        return b.where(first_wins, g, zero), b.where(first_wins, zero, g)

    return rule


def _select_tangent(test: str) -> TangentRule:
    """Tangent of max/min: the tangent of the argument that won (ties: the first), selected."""

    def rule(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var:
        p_dot, q_dot = dots
        zero = b.const(0.0)
        return b.where(getattr(b, test)(p, q), p_dot or zero, q_dot or zero)

    return rule


def _sub_tangent(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var | None:
    return shaped_like(b, _minus(b, *dots), y)


def _mul_tangent(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var | None:
    p_dot, q_dot = dots
    return sum_of(b, p_dot and b.mul(q, p_dot), q_dot and b.mul(p, q_dot))


def _div_rule(b: Builder, g: Var, y: Var, p: Var, q: Var) -> tuple[Var | None, ...]:
    p_bar = b.div(g, q)
    return p_bar, b.neg(b.mul(p_bar, y))


def _div_tangent(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var | None:
    """``(p_dot - y q_dot) / q``."""
    p_dot, q_dot = dots
    return b.div(_minus(b, p_dot, q_dot and b.mul(y, q_dot)), q)


def _pow_rule(b: Builder, g: Var, y: Var, p: Var, q: Var) -> tuple[Var | None, ...]:
    """``q p^(q-1)`` and ``p^q log p``, never NaN at a zero base (as JAX): no slope in p where
    ``q = 0`` (``p^0`` is 1 for every p), and ``log p`` taken as 0 where ``p = 0`` (``0^q`` is
    0 for every q > 0). A constant that is not 0 needs neither guard (``x ^ 2``, ``2 ^ x``)."""
    slope = _where_exponent_is_not_zero(b, q, _pow_slope(b, p, q))
    log = _pow_log(b, p)
    return b.mul(g, slope), b.mul(g, b.mul(y, log))


def _pow_tangent(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var | None:
    """``q p^(q-1) p_dot + p^q log p q_dot``, with the adjoint's guards (the first term
    selected: an exact 0 where ``q = 0``)."""
    p_dot, q_dot = dots
    p_term = p_dot and _where_exponent_is_not_zero(b, q, b.mul(_pow_slope(b, p, q), p_dot))
    return sum_of(b, p_term, q_dot and b.mul(b.mul(y, _pow_log(b, p)), q_dot))


def _pow_slope(b: Builder, p: Var, q: Var) -> Var:
    return b.mul(q, b.pow(p, b.sub(q, b.const(1.0))))


def _where_exponent_is_not_zero(b: Builder, q: Var, term: Var) -> Var:
    """``term``, and 0 where ``q = 0`` (no guard for a constant that is not 0)."""
    if _nonzero_constant(q):
        return term
    zero = b.const(0.0)
    return b.where(b.eq(q, zero), zero, term)


def _pow_log(b: Builder, p: Var) -> Var:
    """``log p``, taken as 0 where ``p = 0`` (no guard for a constant that is not 0)."""
    one = b.const(1.0)
    return b.log(p if _nonzero_constant(p) else b.where(b.eq(p, b.const(0.0)), one, p))


#: The least normal float: a divisor whose reciprocal is still finite.
TINY = float(np.finfo(np.float64).tiny)


def _nonzero_constant(var: Var) -> bool:
    return var.is_const and var.value != 0.0


def _atan2_rule(b: Builder, g: Var, y: Var, p: Var, q: Var) -> tuple[Var | None, ...]:
    """``g q / r²`` and ``-g p / r²`` with ``r = hypot(p, q)`` (NaN at the origin, where atan2
    jumps, as in JAX)."""
    scale = b.div(g, b.square(b.hypot(p, q)))
    return b.mul(scale, q), b.neg(b.mul(scale, p))


def _atan2_tangent(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var | None:
    """``(q p_dot - p q_dot) / r²``."""
    p_dot, q_dot = dots
    turn = _minus(b, p_dot and b.mul(q, p_dot), q_dot and b.mul(p, q_dot))
    return b.div(turn, b.square(b.hypot(p, q)))


def _hypot_rule(b: Builder, g: Var, y: Var, p: Var, q: Var) -> tuple[Var | None, ...]:
    """``g p / y`` and ``g q / y``, and 0 at (0, 0) like ``norm``: ``y`` below the least normal
    float (0 there, where 1 / y overflows) is taken as that float, so ``p = q = 0`` gives 0."""
    scale = b.div(g, b.max(y, b.const(TINY)))
    return b.mul(scale, p), b.mul(scale, q)


def _hypot_tangent(b: Builder, dots: Dots, y: Var, p: Var, q: Var) -> Var | None:
    """``(p p_dot + q q_dot) / y``, and 0 at (0, 0) as the adjoint."""
    p_dot, q_dot = dots
    along = sum_of(b, p_dot and b.mul(p, p_dot), q_dot and b.mul(q, q_dot))
    return b.div(along, b.max(y, b.const(TINY)))


def _no_gradient_comparison(name: str, symbol: str, impl: Callable[..., Any],
                            sympy_fn: Callable[..., Any], commutative: bool = False) -> None:
    primitive(name, "{0} " + symbol + " {1}", impl, sympy_fn, None, ((-3.0, 3.0),) * 2,
              result="bool", operator=symbol, commutative=commutative)


# ---- arithmetic operators ------------------------------------------------------------------

primitive("add", "{0} + {1}", np.add, lambda p, q: p + q,
          lambda b, g, y, p, q: (g, g), ((-3.0, 3.0),) * 2, operator="+", commutative=True,
          integer_closed=True, static=operator.add,
          tangent=lambda b, dots, y, p, q: shaped_like(b, sum_of(b, *dots), y))
primitive("sub", "{0} - {1}", np.subtract, lambda p, q: p - q,
          lambda b, g, y, p, q: (g, b.neg(g)), ((-3.0, 3.0),) * 2, operator="-",
          integer_closed=True, static=operator.sub, tangent=_sub_tangent)
primitive("mul", "{0} * {1}", np.multiply, lambda p, q: p * q,
          lambda b, g, y, p, q: (b.mul(g, q), b.mul(g, p)), ((-3.0, 3.0),) * 2, operator="*",
          commutative=True, integer_closed=True, static=operator.mul, tangent=_mul_tangent)
primitive("div", "{0} / {1}", np.divide, lambda p, q: p / q,
          _div_rule, ((-3.0, 3.0), (0.5, 3.0)), operator="/", tangent=_div_tangent)
primitive("neg", "-{0}", np.negative, lambda p: -p,
          lambda b, g, y, p: (b.neg(g),), ((-3.0, 3.0),), operator="-",
          integer_closed=True, static=operator.neg, tangent=linear_in_first("neg"))
primitive("pow", "{0} ** {1}", np.power, lambda p, q: p**q,
          _pow_rule, ((0.5, 3.0), (-2.0, 2.0)), operator="^", called=True,
          tangent=_pow_tangent)

# ---- comparisons and logic: conditions, no gradient ----------------------------------------

_no_gradient_comparison("lt", "<", np.less, sympy.Lt)
_no_gradient_comparison("le", "<=", np.less_equal, sympy.Le)
_no_gradient_comparison("gt", ">", np.greater, sympy.Gt)
_no_gradient_comparison("ge", ">=", np.greater_equal, sympy.Ge)
_no_gradient_comparison("eq", "==", np.equal, sympy.Eq, commutative=True)
_no_gradient_comparison("ne", "!=", np.not_equal, sympy.Ne, commutative=True)
primitive("and", "xp.logical_and({0}, {1})", np.logical_and, sympy.And, None,
          ((-3.0, 3.0),) * 2, args="bb", result="bool", operator="and", commutative=True)
primitive("or", "xp.logical_or({0}, {1})", np.logical_or, sympy.Or, None,
          ((-3.0, 3.0),) * 2, args="bb", result="bool", operator="or", commutative=True)
primitive("not", "xp.logical_not({0})", np.logical_not, sympy.Not, None,
          ((-3.0, 3.0),), args="b", result="bool", operator="not")
primitive("where", "xp.where({0}, {1}, {2})", np.where,
          lambda c, p, q: sympy.Piecewise((p, c), (q, True)), _where_rule,
          ((-3.0, 3.0),) * 3, args="bff", cheap=True, tangent=_where_tangent)

# ---- functions of one argument: derivative in terms of the input x and the output y --------

unary("sin", "xp.sin({0})", np.sin, sympy.sin, lambda b, x, y: b.cos(x))
unary("cos", "xp.cos({0})", np.cos, sympy.cos, lambda b, x, y: b.neg(b.sin(x)))
unary("tan", "xp.tan({0})", np.tan, sympy.tan,
      lambda b, x, y: b.add(b.const(1.0), b.square(y)), (-1.4, 1.4))
unary("asin", "xp.asin({0})", np.arcsin, sympy.asin,
      lambda b, x, y: b.div(b.const(1.0), b.sqrt(b.sub(b.const(1.0), b.square(x)))), (-0.9, 0.9))
unary("acos", "xp.acos({0})", np.arccos, sympy.acos,
      lambda b, x, y: b.div(b.const(-1.0), b.sqrt(b.sub(b.const(1.0), b.square(x)))), (-0.9, 0.9))
unary("atan", "xp.atan({0})", np.arctan, sympy.atan,
      lambda b, x, y: b.div(b.const(1.0), b.add(b.const(1.0), b.square(x))))
unary("sinh", "xp.sinh({0})", np.sinh, sympy.sinh, lambda b, x, y: b.cosh(x))
unary("cosh", "xp.cosh({0})", np.cosh, sympy.cosh, lambda b, x, y: b.sinh(x))
unary("tanh", "xp.tanh({0})", np.tanh, sympy.tanh,
      lambda b, x, y: b.sub(b.const(1.0), b.square(y)))
unary("asinh", "xp.asinh({0})", np.arcsinh, sympy.asinh,
      lambda b, x, y: b.div(b.const(1.0), b.hypot(x, b.const(1.0))))
unary("acosh", "xp.acosh({0})", np.arccosh, sympy.acosh,
      lambda b, x, y: b.div(b.const(1.0), b.sqrt(b.mul(b.sub(x, b.const(1.0)),
                                                       b.add(x, b.const(1.0))))), (1.1, 4.0))
unary("atanh", "xp.atanh({0})", np.arctanh, sympy.atanh,
      lambda b, x, y: b.div(b.const(1.0), b.sub(b.const(1.0), b.square(x))), (-0.9, 0.9))
unary("exp", "xp.exp({0})", np.exp, sympy.exp, lambda b, x, y: y)
unary("expm1", "xp.expm1({0})", np.expm1, lambda x: sympy.exp(x) - 1,
      lambda b, x, y: b.add(y, b.const(1.0)))
unary("log", "xp.log({0})", np.log, sympy.log,
      lambda b, x, y: b.div(b.const(1.0), x), (0.1, 5.0))
unary("log1p", "xp.log1p({0})", np.log1p, lambda x: sympy.log(1 + x),
      lambda b, x, y: b.div(b.const(1.0), b.add(b.const(1.0), x)), (-0.9, 5.0))
unary("log2", "xp.log2({0})", np.log2, lambda x: sympy.log(x, 2),
      lambda b, x, y: b.div(b.const(1.0 / math.log(2.0)), x), (0.1, 5.0))
unary("log10", "xp.log10({0})", np.log10, lambda x: sympy.log(x, 10),
      lambda b, x, y: b.div(b.const(1.0 / math.log(10.0)), x), (0.1, 5.0))
unary("sqrt", "xp.sqrt({0})", np.sqrt, sympy.sqrt,
      lambda b, x, y: b.div(b.const(0.5), y), (0.1, 5.0))
unary("cbrt", "xp.cbrt({0})", np.cbrt,
      lambda x: sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 3),
      lambda b, x, y: b.div(b.const(1.0 / 3.0), b.square(y)), (0.1, 5.0))
unary("square", "xp.square({0})", np.square, lambda x: x**2,
      lambda b, x, y: b.mul(b.const(2.0), x), cheap=True)
primitive("abs", "xp.abs({0})", np.abs, sympy.Abs,
          lambda b, g, y, x: (b.where(b.ge(x, b.const(0.0)), g, b.neg(g)),), cheap=True,
          tangent=lambda b, dots, y, x: b.where(b.ge(x, b.const(0.0)), dots[0], b.neg(dots[0])))
unary("sign", "xp.sign({0})", np.sign, sympy.sign, None, cheap=True)
unary("sigmoid", "xp.exp(xp.minimum({0}, 0.0)) / (1.0 + xp.exp(-xp.abs({0})))", _sigmoid,
      lambda x: 1 / (1 + sympy.exp(-x)), lambda b, x, y: b.mul(y, b.sigmoid(b.neg(x))), (-6, 6))
primitive("relu", "xp.maximum({0}, 0.0)", lambda x: np.maximum(x, 0.0), _relu_sympy,
          lambda b, g, y, x: (b.where(b.gt(y, b.const(0.0)), g, b.const(0.0)),), cheap=True,
          tangent=lambda b, dots, y, x: b.where(b.gt(y, b.const(0.0)), dots[0], b.const(0.0)))
unary("softplus", "xp.maximum({0}, 0.0) + xp.log1p(xp.exp(-xp.abs({0})))", _softplus,
      lambda x: sympy.log(1 + sympy.exp(x)), lambda b, x, y: b.sigmoid(x), (-6, 6))

# ---- whole numbers as numbers ------------------------------------------------------------

# N: int where a number is wanted (one side of an if, a loop's carried value, a helper's
# argument); an int has no gradient
primitive("to_float", "np.float64({0})", np.float64, lambda n: n, None, internal=True,
          shape=lambda n: n, cheap=True)

# ---- functions of two arguments --------------------------------------------------------------

primitive("atan2", "xp.atan2({0}, {1})", np.arctan2, sympy.atan2, _atan2_rule,
          ((0.5, 3.0), (0.5, 3.0)), tangent=_atan2_tangent)
primitive("hypot", "xp.hypot({0}, {1})", np.hypot, lambda p, q: sympy.sqrt(p**2 + q**2),
          _hypot_rule, ((0.5, 3.0), (-3.0, -0.5)), commutative=True, tangent=_hypot_tangent)
primitive("max", "xp.maximum({0}, {1})", np.maximum, sympy.Max, _select_rule("ge"),
          ((-3.0, 3.0),) * 2, commutative=True, integer_closed=True, aliases=("maximum",),
          cheap=True, tangent=_select_tangent("ge"))
primitive("min", "xp.minimum({0}, {1})", np.minimum, sympy.Min, _select_rule("le"),
          ((-3.0, 3.0),) * 2, commutative=True, integer_closed=True, aliases=("minimum",),
          cheap=True, tangent=_select_tangent("le"))

# ---- whole numbers: checkpointed loops' segments (`checkpoint`) ------------------------------

def _sqrt_stride(count: Any) -> int:
    return max(1, math.ceil(math.sqrt(max(int(count), 0))))


def _ceil_div(count: Any, stride: Any) -> int:
    return -(-int(count) // int(stride))


primitive("sqrt_stride", "max(1, int(np.ceil(np.sqrt({0}))))", _sqrt_stride, None, None,
          ((0.0, 100.0),), result="int", shape=lambda count: (), internal=True)
primitive("ceil_div", "-(-{0} // {1})", _ceil_div, None, None, ((0.0, 100.0),) * 2,
          result="int", shape=lambda count, stride: (), internal=True)


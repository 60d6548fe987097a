"""Differentiation, the symbolic route's way back: SymPy expressions → IR (`expressions_to_graph`).

One SymPy node at a time, by an explicit post-order stack (`Converter.convert`); what each
SymPy type becomes is the table `PLANS`:

==========================  =================================================================
SymPy                       IR
==========================  =================================================================
Symbol                      the input it stands for (or a `sympy.cse` temporary)
Integer, Rational, Float    a constant (``pi`` keeps its name; E and other number symbols are
                            folded to floats; ``oo`` is inf; ``nan``, ``zoo`` and ``I`` are
                            NaN, what NumPy's real functions give where no real value exists)
Add                         left-to-right ``add``; a term with a negative coefficient is
                            subtracted (``sub``), positive terms first
Mul                         numerator factors multiplied left to right, factors with a negative
                            numeric power (and a rational coefficient's denominator) divided:
                            ``div``; coefficient -1 is ``neg``; a product with a DiracDelta
                            factor is 0, and a sum leaves it out
Pow                         ``x**-n`` → ``div(1, x**n)``, ``x**(1/2)`` → ``sqrt``,
                            ``x**(-1/2)`` → ``div(1, sqrt(x))``, other exponents ``pow``
sin ... atanh, exp, log,    the primitive of the same name (``Abs`` → ``abs``); ``log`` of one
Abs, sign, atan2            argument (SymPy writes ``log(x, b)`` as ``log(x)/log(b)``)
cot, sec, csc, coth, ...    ``div(1, tan(x))`` and so on
Max, Min                    a left-to-right chain of ``max`` / ``min``
Select(c, p, q)             ``where(c, p, q)``: gradgen's ``where`` as the symbolic route hands
                            it to SymPy (`Select`)
Piecewise                   nested ``where``; without a final ``True`` branch SymPy leaves the
                            value undefined, here NaN
Lt Le Gt Ge Eq Ne           ``lt le gt ge eq ne``
And, Or, Not                ``and`` / ``or`` chains, ``not``
Heaviside(z, H0)            ``where(z > 0, 1, 0)`` if H0 is 0, ``where(z >= 0, 1, 0)`` if it is
                            1, else ``where(z > 0, 1, where(z < 0, 0, H0))``. SymPy (>= 1.9)
                            always stores H0, by default 1/2, so the derivative of ``max`` at a
                            tie is 1/2 to each argument (reverse mode gives it all to the
                            first); a Heaviside without H0 (older SymPy) is 0 at 0
DiracDelta                  0 (its value everywhere but at 0; gradgen's ``sign' = 0``)
Derivative of sign          0, before conversion (SymPy leaves ``sign(x/y)`` undifferentiated;
                            gradgen's ``sign' = 0``; see `symbolic`)
re, im                      the argument, 0: every value here is real (NaN where it is not)
ITE                         ``(c and a) or (not c and b)``
anything else               `LimitError` naming the SymPy type: the symbolic route refuses
==========================  =================================================================

Subexpressions whose operands are all constants are folded with the registry's NumPy ``impl``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from gradgen.errors import InternalError, LimitError
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Graph, Var
from gradgen.ir.primitives import REGISTRY


def expressions_to_graph(name: str, inputs: tuple[Var, ...], symbols: Sequence[sympy.Symbol],
                         exprs: Sequence[sympy.Basic], cse: bool = True) -> Graph:
    """A graph computing ``exprs`` from ``inputs`` (``symbols[i]`` stands for ``inputs[i]``).

    With ``cse``, `sympy.cse` extracts common subexpressions, which are built first, and every
    structurally identical subexpression is built once; without, each tree is built as it is.
    """
    converter = Converter(dict(zip(symbols, inputs)), share=cse)
    if cse:
        temporaries = sympy.numbered_symbols("cse", cls=sympy.Dummy)
        replacements, exprs = sympy.cse(list(exprs), symbols=temporaries)
        for symbol, expr in replacements:
            converter.env[symbol] = converter.convert(expr)
    outputs = tuple(converter.convert(expr) for expr in exprs)
    return Graph(name, tuple(inputs), tuple(converter.builder.edges), outputs)


@dataclass(frozen=True)
class _Product:
    """``coeff * factors[0] * factors[1] * ...`` not built as a SymPy `Mul` (a negated term
    of a sum, a lone negative power): building one would make SymPy evaluate it again."""

    coeff: sympy.Number
    factors: tuple[sympy.Basic, ...]


class Select(sympy.Function):
    """``where(c, p, q)`` in SymPy: ``p`` where ``c`` holds, else ``q``; its derivative is
    ``Select(c, p', q')``; it is a number (commutative) and real (finite, positive...) where
    both sides are.

    Not a `Piecewise`: SymPy folds a Piecewise inside a condition into that condition and
    simplifies each comparison it gets, and that simplification divides both sides by a
    factor without looking at its sign (SymPy 1.14 makes ``x**3*cos(2) >= 1.5`` into
    ``x**3 >= 1.5/cos(2)``: a wrong branch). SymPy knows nothing of `Select` but what is here,
    so it never simplifies a condition of the program.
    """

    @classmethod
    def eval(cls, test: sympy.Basic, then: sympy.Basic, orelse: sympy.Basic) -> sympy.Basic | None:
        """The side a constant test picks, the side when both are the same; else None."""
        if test is sympy.true or then == orelse:
            return then
        return orelse if test is sympy.false else None

    def _eval_derivative(self, symbol: sympy.Symbol) -> sympy.Basic:
        test, then, orelse = self.args
        return Select(test, then.diff(symbol), orelse.diff(symbol))

    def _eval_is_commutative(self) -> bool:
        return True  # SymPy's default asks the test too, which does not say (None), and a
        # sum or product takes a factor that does not say as not commutative

    def _both(self, fact: str) -> bool | None:
        """``fact`` of both sides where they agree, else unknown (None)."""
        then, orelse = (getattr(side, fact) for side in self.args[1:])
        return then if then == orelse else None

    def _eval_is_extended_real(self) -> bool | None:
        return self._both("is_extended_real")

    def _eval_is_finite(self) -> bool | None:
        return self._both("is_finite")

    def _eval_is_extended_positive(self) -> bool | None:
        return self._both("is_extended_positive")

    def _eval_is_extended_negative(self) -> bool | None:
        return self._both("is_extended_negative")

    def _eval_is_zero(self) -> bool | None:
        return self._both("is_zero")


Item = sympy.Basic | _Product
Build = Callable[[list[Var]], Var]
#: The operands of an item, and how to build it from their nodes.
Plan = tuple[list[Item], Build]


class Converter:
    """Builds IR for SymPy expressions; ``env`` maps symbols to nodes, and ``memo`` (when
    sharing) the items built so far to their nodes."""

    def __init__(self, env: dict[sympy.Basic, Var], share: bool) -> None:
        self.builder = GraphBuilder()
        self.env = env
        self.memo: dict[Item, Var] | None = {} if share else None

    def convert(self, root: Item) -> Var:
        """The node computing ``root``, built in post-order with an explicit stack."""
        results: list[Var] = []
        stack: list[tuple[Item, Build | None, int]] = [(root, None, 0)]
        while stack:
            item, build, count = stack.pop()
            if build is not None:
                self.finish(item, build, results, count)
                continue
            leaf = self.leaf(item)
            if leaf is not None:
                results.append(leaf)
                continue
            operands, build = self.plan(item)
            stack.append((item, build, len(operands)))
            stack.extend((operand, None, 0) for operand in reversed(operands))
        (var,) = results
        return var

    def finish(self, item: Item, build: Build, results: list[Var], count: int) -> None:
        """Build ``item`` from the nodes of its ``count`` operands, the last of ``results``."""
        args = results[len(results) - count:]
        del results[len(results) - count:]
        results.append(build(args))
        if self.memo is not None:
            self.memo[item] = results[-1]

    def leaf(self, item: Item) -> Var | None:
        """The node of a symbol, a number or an item already built; None for the others."""
        if self.memo is not None and item in self.memo:
            return self.memo[item]
        if isinstance(item, _Product):
            return None
        if item.is_Symbol:
            return self.symbol(item)
        if item is sympy.pi:
            return self.builder.const(math.pi, "pi")
        if item.is_Atom and isinstance(item, sympy.Expr):
            return self.builder.const(_number(item))
        return None

    def symbol(self, item: sympy.Symbol) -> Var:
        """The node of an input, or of a `sympy.cse` temporary, that ``item`` stands for."""
        if item not in self.env:
            raise InternalError(f"SymPy symbol {item} stands for no input")
        return self.env[item]

    def plan(self, item: Item) -> Plan:
        """The operands of ``item`` and how to build it from their nodes, as `PLANS` says."""
        if type(item) not in PLANS:
            raise _unconvertible(item)
        return PLANS[type(item)](self, item)

    # ---- building ----

    @property
    def one(self) -> Var:
        return self.builder.const(1.0)

    def chain(self, prim: str, args: Sequence[Var]) -> Var:
        result = args[0]
        for var in args[1:]:
            result = self.apply(prim, result, var)
        return result

    def apply(self, prim: str, *inputs: Var) -> Var:
        """One edge, or a constant where every input is one (folded with the registry's impl)."""
        if REGISTRY[prim].result == "float" and all(var.is_const for var in inputs):
            return self.builder.const(_folded(prim, inputs))
        return self.builder.emit(prim, inputs)

    def signed_sum(self, positive: list[Var], negative: list[Var]) -> Var:
        """``positive`` added left to right, then ``negative`` subtracted (0 for no term)."""
        if not positive and not negative:
            return self.builder.const(0.0)
        if not positive:
            positive, negative = [self.apply("neg", negative[0])], negative[1:]
        return self.chain("sub", [self.chain("add", positive), *negative])

    def quotient(self, tops: list[Var], bottoms: list[Var], denom: sympy.Number) -> Var:
        """The product of ``tops`` divided by that of ``bottoms`` (and ``denom``, if not 1)."""
        if denom != 1:
            bottoms.insert(0, self.builder.const(float(denom)))
        result = self.chain("mul", tops)
        if bottoms:
            result = self.apply("div", result, self.chain("mul", bottoms))
        return result

    def raised(self, base: Var, power: sympy.Number) -> Var:
        """``base ** power`` for a positive number ``power``."""
        if _number(power) == 1.0:
            return base
        if _number(power) == 0.5:
            return self.apply("sqrt", base)
        return self.apply("pow", base, self.builder.const(_number(power)))

    def nested_where(self, args: list[Var], otherwise: bool) -> Var:
        """``where`` of (value, condition) pairs, the last innermost; NaN where none holds
        (unless ``otherwise``: the last of ``args`` is the final value)."""
        result = args.pop() if otherwise else self.builder.const(math.nan)
        while args:
            cond = args.pop()
            result = self.apply("where", cond, args.pop(), result)
        return result

    def if_then_else(self, test: Var, then: Var, orelse: Var) -> Var:
        """SymPy's ``ITE`` of conditions: ``(test and then) or (not test and orelse)``."""
        return self.apply("or", self.apply("and", test, then),
                          self.apply("and", self.apply("not", test), orelse))

    def heaviside(self, z: Var, rest: tuple[sympy.Basic, ...]) -> Var:
        """``where(z > 0, 1, at_zero)`` with SymPy's value at 0 (0 if it gives none)."""
        at_zero = _number(rest[0]) if rest else 0.0
        zero, one = self.builder.const(0.0), self.one
        if at_zero == 0.0:
            return self.apply("where", self.apply("gt", z, zero), one, zero)
        if at_zero == 1.0:
            return self.apply("where", self.apply("ge", z, zero), one, zero)
        middle = self.apply("where", self.apply("lt", z, zero), zero,
                            self.builder.const(at_zero))
        return self.apply("where", self.apply("gt", z, zero), one, middle)


# ---- the plans: what each SymPy type becomes ---------------------------------------------------

FUNCTIONS: dict[type, str] = {
    sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.asin: "asin",
    sympy.acos: "acos", sympy.atan: "atan", sympy.sinh: "sinh", sympy.cosh: "cosh",
    sympy.tanh: "tanh", sympy.asinh: "asinh", sympy.acosh: "acosh", sympy.atanh: "atanh",
    sympy.exp: "exp", sympy.log: "log", sympy.Abs: "abs", sympy.sign: "sign",
    sympy.atan2: "atan2",
    sympy.StrictLessThan: "lt", sympy.LessThan: "le", sympy.StrictGreaterThan: "gt",
    sympy.GreaterThan: "ge", sympy.Equality: "eq", sympy.Unequality: "ne", sympy.Not: "not",
    Select: "where",
}
#: Reciprocal functions, built as ``1 / f(x)``.
RECIPROCALS: dict[type, str] = {
    sympy.cot: "tan", sympy.sec: "cos", sympy.csc: "sin",
    sympy.coth: "tanh", sympy.sech: "cosh", sympy.csch: "sinh",
}
#: Associative n-ary operations, built as a left-to-right chain.
CHAINS: dict[type, str] = {sympy.Max: "max", sympy.Min: "min", sympy.And: "and", sympy.Or: "or"}


def _plan_function(converter: Converter, item: sympy.Basic) -> Plan:
    """The primitive of the same name (a form of another arity is refused)."""
    prim = FUNCTIONS[type(item)]
    if len(item.args) != REGISTRY[prim].arity:
        raise _unconvertible(item)
    return list(item.args), lambda args: converter.apply(prim, *args)


def _plan_reciprocal(converter: Converter, item: sympy.Basic) -> Plan:
    prim = RECIPROCALS[type(item)]
    return list(item.args), lambda args: converter.apply("div", converter.one,
                                                         converter.apply(prim, *args))


def _plan_chain(converter: Converter, item: sympy.Basic) -> Plan:
    return list(item.args), lambda args: converter.chain(CHAINS[type(item)], args)


def _plan_sum(converter: Converter, item: sympy.Add) -> Plan:
    """Positive terms added left to right, then the negative ones subtracted."""
    added, subtracted = _signed_terms(item.args)
    return added + subtracted, lambda args: converter.signed_sum(args[:len(added)],
                                                                 args[len(added):])


def _signed_terms(terms: tuple[sympy.Basic, ...]) -> tuple[list[Item], list[Item]]:
    """The terms to add, and those to subtract (negated); DiracDelta terms left out."""
    added: list[Item] = []
    subtracted: list[Item] = []
    for term in terms:
        if _vanishes(term):
            continue
        coeff, rest = term.as_coeff_Mul()
        if coeff.is_negative and rest == 1:
            subtracted.append(-coeff)
        elif coeff.is_negative:
            subtracted.append(_Product(-coeff, sympy.Mul.make_args(rest)))
        else:
            added.append(term)
    return added, subtracted


def _plan_mul(converter: Converter, item: sympy.Mul) -> Plan:
    coeff, rest = item.as_coeff_Mul()
    return _plan_product(converter, coeff, sympy.Mul.make_args(rest))


def _plan_product(converter: Converter, coeff: sympy.Number,
                  factors: tuple[sympy.Basic, ...]) -> Plan:
    """``numerator / denominator``: factors with a negative numeric power go below."""
    if _vanishes(factors):
        return [], lambda args: converter.builder.const(0.0)
    above, below, powers = _split_factors(factors)
    numer, denom = (coeff.p, coeff.q) if coeff.is_Rational else (coeff, 1)
    negate = float(numer) == -1.0 and bool(above)  # -x/y is neg(x / y)
    scale = 1 if negate else numer

    def build(args: list[Var]) -> Var:
        tops = args[:len(above)]
        if float(scale) != 1.0 or not tops:
            tops.insert(0, converter.builder.const(float(scale)))
        bottoms = [converter.raised(base, power)
                   for base, power in zip(args[len(above):], powers)]
        result = converter.quotient(tops, bottoms, denom)
        return converter.apply("neg", result) if negate else result

    return above + below, build


def _split_factors(factors: tuple[sympy.Basic, ...]
                   ) -> tuple[list[Item], list[Item], list[sympy.Number]]:
    """The factors above the line, the bases below it and the (positive) powers of those."""
    above: list[Item] = []
    below: list[Item] = []
    powers: list[sympy.Number] = []
    for factor in factors:
        if factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
            below.append(factor.base)
            powers.append(-factor.exp)
        else:
            above.append(factor)
    return above, below, powers


def _plan_power(converter: Converter, item: sympy.Pow) -> Plan:
    base, exponent = item.args
    if exponent.is_Number and exponent.is_negative:
        return _plan_product(converter, sympy.S.One, (item,))
    if exponent.is_Number:
        return [base], lambda args: converter.raised(args[0], exponent)
    return [base, exponent], lambda args: converter.apply("pow", *args)


def _plan_piecewise(converter: Converter, item: sympy.Piecewise) -> Plan:
    """Nested ``where``, the last branch innermost; NaN where no condition holds."""
    pairs = list(item.args)
    otherwise = pairs[-1].cond is sympy.true
    operands: list[Item] = [part for pair in pairs for part in pair.args]
    if otherwise:
        operands.pop()  # the final True: that branch is the innermost else
    return operands, lambda args: converter.nested_where(args, otherwise)


#: What each SymPy type (and `_Product`) becomes: a function of the converter and the item
#: to the item's `Plan`.
PLANS: dict[type, Callable[[Converter, Item], Plan]] = {
    _Product: lambda converter, item: _plan_product(converter, item.coeff, item.factors),
    sympy.Add: _plan_sum,
    sympy.Mul: _plan_mul,
    sympy.Pow: _plan_power,
    **dict.fromkeys(FUNCTIONS, _plan_function),
    **dict.fromkeys(RECIPROCALS, _plan_reciprocal),
    **dict.fromkeys(CHAINS, _plan_chain),
    sympy.Piecewise: _plan_piecewise,
    sympy.Heaviside: lambda converter, item: (
        [item.args[0]], lambda args: converter.heaviside(args[0], item.args[1:])),
    sympy.DiracDelta: lambda converter, item: ([], lambda args: converter.builder.const(0.0)),
    sympy.im: lambda converter, item: ([], lambda args: converter.builder.const(0.0)),
    sympy.re: lambda converter, item: ([item.args[0]], lambda args: args[0]),
    sympy.ITE: lambda converter, item: (
        list(item.args), lambda args: converter.if_then_else(*args)),
}


def _vanishes(term: sympy.Basic | Iterable[sympy.Basic]) -> bool:
    """Whether a product (or its factors) has a DiracDelta factor: zero, as DiracDelta is."""
    factors = sympy.Mul.make_args(term) if isinstance(term, sympy.Basic) else term
    return any(isinstance(factor, sympy.DiracDelta) for factor in factors)


def _folded(prim: str, inputs: tuple[Var, ...]) -> float:
    """``prim`` of constant ``inputs`` by the registry's NumPy impl (inf, NaN without warning)."""
    with np.errstate(all="ignore"):
        return float(REGISTRY[prim].impl(*(np.float64(var.value) for var in inputs)))


def _number(atom: sympy.Basic) -> float:
    """A SymPy number as a float; NaN where it has no real value (``nan``, ``zoo``, ``I``)."""
    if atom in (sympy.nan, sympy.zoo, sympy.I):
        return math.nan
    if atom.is_Number or atom.is_NumberSymbol or atom in (sympy.oo, -sympy.oo):
        return float(atom)
    raise _unconvertible(atom)


def _unconvertible(item: sympy.Basic) -> LimitError:
    """The refusal for a SymPy form the symbolic route has no IR for."""
    return LimitError(f"the symbolic route cannot convert SymPy's {type(item).__name__} "
                      f"({item}) back into a program; use automatic differentiation")

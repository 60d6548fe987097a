"""The symbolic route: `Graph` → SymPy expression → `sympy.diff` → gradient `Graph`.

`to_sympy` turns each edge into its primitive's SymPy equivalent from the registry, in
topological order, so a deep graph needs no recursion here. `symbolic_gradient_graph` then
differentiates with `sympy.diff` and converts the value and the partials back into IR with the
same conventions as `reverse.reverse_mode`, so the emitter prints a module with the same API.
With ``cse`` the expressions go through `sympy.cse` first and identical subexpressions are
built once; without it every expression is built as the tree SymPy holds, repeated subtrees
recomputed, which is what makes expression swell visible (`count_operations` measures it
without building anything).

SymPy → IR, one SymPy node at a time by an explicit post-order stack (`expressions_to_graph`):

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
                            gradgen's ``sign' = 0``)
re, im                      the argument, 0: every value here is real (NaN where it is not)
ITE                         ``(c and a) or (not c and b)``
anything else               `LimitError` naming the SymPy type: the symbolic route refuses
==========================  =================================================================

Subexpressions whose operands are all constants are folded with the registry's NumPy ``impl``.
The SymPy algebra is SymPy's, not IEEE's: it simplifies ``0*x`` to 0 and ``x - x`` to 0, so at
inf or NaN inputs the symbolic route may give a number where reverse mode gives NaN.

Limits: SymPy itself recurses over expression trees. With Python's default recursion limit
(1000), `sympy.diff` of ``sin(sin(...(x)))`` fails beyond about 139 nested calls (measured with
SymPy 1.14; `symbolic_gradient_graph` then raises a `RecursionError` saying so), `sympy.cse`
beyond about 330; the conversion to IR here has no depth limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from sympy.functions.elementary.piecewise import ExprCondPair

from gradgen.errors import InternalError, LimitError
from gradgen.ir.builder import GraphBuilder, give_hint
from gradgen.ir.graph import Graph, Var, select_inputs
from gradgen.ir.naming import adjoint_name
from gradgen.ir.primitives import REGISTRY

#: Operations beyond which a symbolic gradient without CSE is refused: printed as trees they
#: would make a module of gigabytes (the point of `--no-cse` is to see swell, not to drown in it).
MAX_TREE_OPERATIONS = 1_000_000


def to_sympy(graph: Graph) -> tuple[tuple[sympy.Symbol, ...], tuple[sympy.Expr, ...]]:
    """The input symbols and the output expressions of ``graph``."""
    symbols = tuple(sympy.Symbol(var.name, real=True) for var in graph.inputs)
    env: dict[Var, sympy.Expr] = dict(zip(graph.inputs, symbols))

    def value(var: Var) -> sympy.Expr:
        if not var.is_const:
            return env[var]
        if var.symbol == "pi":
            return sympy.pi
        return sympy.Integer(int(var.value)) if var.value.is_integer() else sympy.Float(var.value)

    for edge in graph.edges:
        env[edge.output] = _sympy_of(edge.prim, [value(var) for var in edge.inputs])
    return symbols, tuple(value(var) for var in graph.outputs)


def _sympy_of(prim: str, args: list[sympy.Basic]) -> sympy.Basic:
    """The primitive's SymPy form of ``args``, real as NumPy's is: a number with no real
    value (``acosh(0) = I*pi/2``, ``log(0) = zoo``) is NaN, as NumPy's real functions give it,
    and a comparison SymPy refuses for a NaN operand is false (true for ``!=``), as in NumPy."""
    entry = REGISTRY[prim]
    try:
        expr = entry.sympy(*args)
    except (TypeError, ValueError):
        if not any(arg is sympy.nan for arg in args):
            raise
        if entry.result == "bool":
            return sympy.true if prim == "ne" else sympy.false
        return sympy.nan
    if isinstance(expr, sympy.Expr) and expr.is_number and expr.is_extended_real is False:
        return sympy.nan
    return expr


def symbolic_gradient(graph: Graph) -> tuple[tuple[sympy.Symbol, ...], sympy.Expr,
                                             tuple[sympy.Expr, ...]]:
    """Input symbols, the output expression and its partial derivatives by `sympy.diff`."""
    symbols, (expr,) = to_sympy(graph)
    return symbols, expr, tuple(sympy.diff(expr, s) for s in symbols)


# ---- the gradient program by SymPy -----------------------------------------------------------

def symbolic_gradient_graph(forward: Graph, wrt: tuple[str, ...] | None = None,
                            cse: bool = True) -> Graph:
    """The gradient program of ``forward`` derived by `sympy.diff`, not by reverse mode.

    Same conventions as `reverse.reverse_mode`: the same input nodes; outputs the value, then
    one partial per input of ``wrt`` (all inputs if None), named ``forward.name`` and
    ``<input>_bar``. With ``cse``, `sympy.cse` shares common subexpressions; without, each
    expression is built as a tree (no sharing at all), to show expression swell.
    """
    targets = select_inputs(forward, wrt)
    try:
        symbols, (value,) = to_sympy(forward)
        by_input = dict(zip(forward.inputs, symbols))
        partials = [_sign_slopes_zero(sympy.diff(value, by_input[var])) for var in targets]
        if not cse:
            _check_tree_size(forward.name, [value, *partials])
        graph = expressions_to_graph(forward.name, forward.inputs, symbols,
                                     [value, *partials], cse)
    except RecursionError:
        raise LimitError(f"{forward.name} is nested too deeply for SymPy (it recurses over the "
                         "expression tree); use automatic differentiation") from None
    except (TypeError, ValueError) as error:  # SymPy's own refusals, e.g. comparing zoo
        raise LimitError(f"SymPy cannot differentiate {forward.name} ({error}); use automatic "
                         "differentiation") from None
    for var, target in zip(graph.outputs[1:], targets):
        give_hint(var, adjoint_name(target.name))
    names = (forward.name,) + tuple(adjoint_name(var.name) or "" for var in targets)
    return forward.replace(edges=graph.edges, outputs=graph.outputs, output_names=names)


def _sign_slopes_zero(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with the derivatives of ``sign`` that SymPy leaves undone (``sign(x/y)``, whose
    argument it cannot tell is real) as 0: gradgen's ``sign' = 0``."""
    return expr.replace(
        lambda e: isinstance(e, sympy.Derivative) and isinstance(e.expr, sympy.sign),
        lambda e: sympy.S.Zero)


def _check_tree_size(name: str, exprs: list[sympy.Basic]) -> None:
    size = count_operations(exprs, shared=False)
    if size > MAX_TREE_OPERATIONS:
        raise LimitError(f"without CSE, SymPy's gradient of {name} has {size:,} operations "
                         f"(more than {MAX_TREE_OPERATIONS:,} are not printed): expression "
                         "swell; use CSE or automatic differentiation")


def expressions_to_graph(name: str, inputs: tuple[Var, ...], symbols: Sequence[sympy.Symbol],
                         exprs: Sequence[sympy.Basic], cse: bool = True) -> Graph:
    """A graph computing ``exprs`` from ``inputs`` (``symbols[i]`` stands for ``inputs[i]``).

    With ``cse``, `sympy.cse` extracts common subexpressions, which are built first, and every
    structurally identical subexpression is built once; without, each tree is built as it is.
    """
    converter = _Converter(dict(zip(symbols, inputs)), share=cse)
    if cse:
        temporaries = sympy.numbered_symbols("cse", cls=sympy.Dummy)
        replacements, exprs = sympy.cse(list(exprs), symbols=temporaries)
        for symbol, expr in replacements:
            converter.env[symbol] = converter.convert(expr)
    outputs = tuple(converter.convert(expr) for expr in exprs)
    return Graph(name, tuple(inputs), tuple(converter.builder.edges), outputs)


# ---- SymPy → IR ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Product:
    """``coeff * factors[0] * factors[1] * ...`` not built as a SymPy `Mul` (a negated term
    of a sum, a lone negative power): building one would make SymPy evaluate it again."""

    coeff: sympy.Number
    factors: tuple[sympy.Basic, ...]


Item = sympy.Basic | _Product
Build = Callable[[list[Var]], Var]

FUNCTIONS: dict[type, str] = {
    sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.asin: "asin",
    sympy.acos: "acos", sympy.atan: "atan", sympy.sinh: "sinh", sympy.cosh: "cosh",
    sympy.tanh: "tanh", sympy.asinh: "asinh", sympy.acosh: "acosh", sympy.atanh: "atanh",
    sympy.exp: "exp", sympy.log: "log", sympy.Abs: "abs", sympy.sign: "sign",
    sympy.atan2: "atan2",
    sympy.StrictLessThan: "lt", sympy.LessThan: "le", sympy.StrictGreaterThan: "gt",
    sympy.GreaterThan: "ge", sympy.Equality: "eq", sympy.Unequality: "ne", sympy.Not: "not",
}
#: Reciprocal functions, built as ``1 / f(x)``.
RECIPROCALS: dict[type, str] = {
    sympy.cot: "tan", sympy.sec: "cos", sympy.csc: "sin",
    sympy.coth: "tanh", sympy.sech: "cosh", sympy.csch: "sinh",
}
#: Associative n-ary operations, built as a left-to-right chain.
CHAINS: dict[type, str] = {sympy.Max: "max", sympy.Min: "min", sympy.And: "and", sympy.Or: "or"}


class _Converter:
    """Builds IR for SymPy expressions; ``env`` maps symbols to nodes."""

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
                args = results[len(results) - count:]
                del results[len(results) - count:]
                results.append(build(args))
                if self.memo is not None:
                    self.memo[item] = results[-1]
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

    # ---- leaves ----

    def leaf(self, item: Item) -> Var | None:
        """The node of a symbol, a number or an item already built; None for the others."""
        if self.memo is not None and item in self.memo:
            return self.memo[item]
        if isinstance(item, _Product):
            return None
        if item.is_Symbol:
            if item not in self.env:
                raise InternalError(f"SymPy symbol {item} stands for no input")
            return self.env[item]
        if item is sympy.pi:
            return self.builder.const(math.pi, "pi")
        if item.is_Atom and isinstance(item, sympy.Expr):
            return self.builder.const(_number(item))
        return None

    # ---- plans: the operands of an item, and how to build it from their nodes ----

    def plan(self, item: Item) -> tuple[list[Item], Build]:
        if isinstance(item, _Product):
            return self.product(item.coeff, item.factors)
        kind = type(item)
        if kind is sympy.Add:
            return self.sum(item.args)
        if kind is sympy.Mul:
            coeff, rest = item.as_coeff_Mul()
            return self.product(coeff, sympy.Mul.make_args(rest))
        if kind is sympy.Pow:
            return self.power(item)
        if kind in FUNCTIONS and len(item.args) == REGISTRY[FUNCTIONS[kind]].arity:
            prim = FUNCTIONS[kind]
            return list(item.args), lambda args: self.apply(prim, *args)
        if kind in RECIPROCALS:
            prim = RECIPROCALS[kind]
            return list(item.args), lambda args: self.apply("div", self.one,
                                                            self.apply(prim, *args))
        if kind in CHAINS:
            return list(item.args), lambda args: self.chain(CHAINS[kind], args)
        if kind is sympy.Piecewise:
            return self.piecewise(item)
        if kind is sympy.Heaviside:
            return [item.args[0]], lambda args: self.heaviside(args[0], item.args[1:])
        if kind is sympy.DiracDelta or kind is sympy.im:
            return [], lambda args: self.builder.const(0.0)
        if kind is sympy.re:
            return [item.args[0]], lambda args: args[0]
        if kind is sympy.ITE:
            return list(item.args), lambda args: self.if_then_else(*args)
        raise _unconvertible(item)

    def sum(self, terms: tuple[sympy.Basic, ...]) -> tuple[list[Item], Build]:
        """Positive terms added left to right, then the negative ones subtracted."""
        added, subtracted = [], []
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

        def build(args: list[Var]) -> Var:
            positive, negative = args[:len(added)], args[len(added):]
            if not args:
                return self.builder.const(0.0)
            if not positive:
                positive, negative = [self.apply("neg", negative[0])], negative[1:]
            total = self.chain("add", positive)
            for var in negative:
                total = self.apply("sub", total, var)
            return total

        return added + subtracted, build

    def product(self, coeff: sympy.Number,
                factors: tuple[sympy.Basic, ...]) -> tuple[list[Item], Build]:
        """``numerator / denominator``: factors with a negative numeric power go below."""
        if _vanishes(factors):
            return [], lambda args: self.builder.const(0.0)
        above, below, powers = [], [], []
        for factor in factors:
            if factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
                below.append(factor.base)
                powers.append(-factor.exp)
            else:
                above.append(factor)
        numer, denom = (coeff.p, coeff.q) if coeff.is_Rational else (coeff, 1)
        negate = float(numer) == -1.0 and bool(above)  # -x/y is neg(x / y)
        scale = 1 if negate else numer

        def build(args: list[Var]) -> Var:
            tops = args[:len(above)]
            if float(scale) != 1.0 or not tops:
                tops.insert(0, self.builder.const(float(scale)))
            bottoms = [self.raised(base, power) for base, power in zip(args[len(above):], powers)]
            if denom != 1:
                bottoms.insert(0, self.builder.const(float(denom)))
            result = self.chain("mul", tops)
            if bottoms:
                result = self.apply("div", result, self.chain("mul", bottoms))
            return self.apply("neg", result) if negate else result

        return above + below, build

    def power(self, item: sympy.Pow) -> tuple[list[Item], Build]:
        base, exponent = item.args
        if exponent.is_Number and exponent.is_negative:
            return self.product(sympy.S.One, (item,))
        if exponent.is_Number:
            return [base], lambda args: self.raised(args[0], exponent)
        return [base, exponent], lambda args: self.apply("pow", *args)

    def raised(self, base: Var, power: sympy.Number) -> Var:
        """``base ** power`` for a positive number ``power``."""
        if _number(power) == 1.0:
            return base
        if _number(power) == 0.5:
            return self.apply("sqrt", base)
        return self.apply("pow", base, self.builder.const(_number(power)))

    def piecewise(self, item: sympy.Piecewise) -> tuple[list[Item], Build]:
        """Nested ``where``, the last branch innermost; NaN where no condition holds."""
        pairs = list(item.args)
        otherwise = pairs[-1].cond is sympy.true
        operands: list[Item] = [part for pair in pairs for part in pair.args]
        if otherwise:
            operands.pop()  # the final True: that branch is the innermost else

        def build(args: list[Var]) -> Var:
            result = args.pop() if otherwise else self.builder.const(math.nan)
            while args:
                cond = args.pop()
                result = self.apply("where", cond, args.pop(), result)
            return result

        return operands, build

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
        entry = REGISTRY[prim]
        if entry.result == "float" and all(var.is_const for var in inputs):
            with np.errstate(all="ignore"):
                return self.builder.const(float(entry.impl(*(np.float64(v.value)
                                                               for v in inputs))))
        return self.builder.emit(prim, inputs)


def _vanishes(term: sympy.Basic | Iterable[sympy.Basic]) -> bool:
    """Whether a product (or its factors) has a DiracDelta factor: zero, as DiracDelta is."""
    factors = sympy.Mul.make_args(term) if isinstance(term, sympy.Basic) else term
    return any(isinstance(factor, sympy.DiracDelta) for factor in factors)


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


# ---- counting operations ---------------------------------------------------------------------

def count_operations(exprs: Iterable[sympy.Basic], shared: bool = False) -> int:
    """The number of operations in ``exprs`` without building anything.

    ``shared=False``: as trees, every node of every tree counted, however often it repeats
    (what the expressions cost evaluated as written); ``shared=True``: each distinct
    subexpression once, across all of ``exprs`` (what they cost with perfect sharing). A node
    costs `_operations_of`: n-ary Add, Mul, Max, Min, And, Or ``n - 1``; Piecewise one
    ``where`` per branch before a final ``True`` (one per branch without it); symbols, numbers
    and the pairs inside Piecewise nothing; every other node (Pow, a function, a comparison,
    Not) one. Both counts walk each distinct node once, so a tree of 10^30 nodes is counted as
    quickly as its shared form.
    """
    roots = list(exprs)
    if shared:
        seen: set[sympy.Basic] = set()
        stack = list(roots)
        total = 0
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                total += _operations_of(node)
                stack.extend(node.args)
        return total
    sizes: dict[sympy.Basic, int] = {}  # a distinct node -> the operations of its tree
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if node in sizes:
                continue
            if ready:
                sizes[node] = _operations_of(node) + sum(sizes[arg] for arg in node.args)
            else:
                stack.append((node, True))
                stack.extend((arg, False) for arg in node.args if arg not in sizes)
    return sum(sizes[root] for root in roots)


def _operations_of(node: sympy.Basic) -> int:
    """The operations of one node, its arguments not included."""
    if not node.args or isinstance(node, sympy.Tuple | ExprCondPair):
        return 0
    if isinstance(node, sympy.Add | sympy.Mul | sympy.Max | sympy.Min | sympy.And | sympy.Or):
        return len(node.args) - 1
    if isinstance(node, sympy.Piecewise):
        return len(node.args) - (node.args[-1].cond is sympy.true)
    return 1

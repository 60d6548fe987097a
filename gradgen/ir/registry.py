"""The primitive registry's machinery (the IR's vocabulary, at its bottom): what one entry
holds, the table a module of primitives writes its entries into, and the shape rules they share.
The entries themselves are in `gradgen.ir.primitives`, which joins them into `REGISTRY`.

An entry's NumPy text is a format string over its arguments (``"xp.sin({0})"``: ``xp`` is the
inputs' namespace, NumPy's for NumPy's values) or, for a primitive with parameters (an
``axis``), a function of the argument texts and the parameters.
Its NumPy callable, shape rule, adjoint rule and tangent rule take the parameters as keyword
arguments. The helpers at the end are what tangent rules share: a sum of the terms that are given,
a term broadcast to the output's shape, and the rule of a primitive linear in its first argument.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gradgen.ir.graph import Edge, Shape, Var


class ShapeError(ValueError):
    """Shapes that an operation does not accept; the message names both shapes."""


def shape_text(shape: Shape) -> str:
    """``(n, d)``, ``(k,)``, ``()``."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return f"({', '.join(map(str, shape))})"


class Builder(Protocol):
    """What adjoint and tangent rules build with: one method per primitive, plus `const`."""

    def const(self, value: float) -> Var: ...

    def __getattr__(self, prim: str) -> Callable[..., Var]: ...


#: An adjoint rule, ``adjoint(b, g, y, *inputs, **params)``: one cotangent per input (None: 0).
Rule = Callable[..., tuple[Var | None, ...]]
#: A tangent rule, ``tangent(b, dots, y, *inputs, **params)``: the output's tangent, shaped like
#: ``y``, from ``dots``, one tangent per input (None: 0; at least one is given); None for 0.
TangentRule = Callable[..., Var | None]

#: The reference interpreter, as a block's NumPy callable receives it (``run(graph, *args)``).
Interpreter = Callable[..., tuple[Any, ...]]


def results_shaped(*shapes: Shape, **params: Any) -> Shape:
    """A block's shape rule: it has none of its own, its outputs are shaped as its results."""
    raise TypeError("a block has one output per result, made by `emit_block`")


def broadcast(*shapes: Shape) -> Shape:
    """NumPy broadcasting of input shapes (named dimensions must match exactly)."""
    if not any(shapes):
        return ()  # all scalars: the common case, kept fast for graphs of a million nodes
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    result = []
    for dims in zip(*padded):
        named = {d for d in dims if d != 1}
        if len(named) > 1:
            raise ShapeError(f"shapes {' and '.join(map(shape_text, shapes))} do not broadcast "
                             f"({' and '.join(map(str, sorted(named, key=str)))} differ)")
        result.append(named.pop() if named else 1)
    return tuple(result)


@dataclass(frozen=True)
class BlockRules:
    """What the IR knows of a block kind (a primitive holding graphs of its own, run by its
    NumPy callable with ``run``): ``check``, its own well-formedness (its graphs against its
    inputs and counts: a problem's text, or None), and ``results``, the nodes of its graphs
    that give its outputs, in order (None for a tape, a list with no node of its own)."""

    check: Callable[[Edge], str | None]
    results: Callable[[Edge], Sequence[Var | None]]


#: A test case of an array primitive: the shape of each argument (dimension names are bound to
#: sizes by the tests) and the parameters.
Case = tuple[tuple[Shape, ...], dict[str, Any]]


@dataclass(frozen=True)
class Primitive:
    """One registry entry."""

    name: str
    numpy: str | Callable[[list[str], dict[str, Any]], str]  # generated-code text
    impl: Callable[..., Any]  # NumPy oracle, used by the interpreter and constant folding
    sympy: Callable[..., Any] | None  # SymPy equivalent (None: arrays, not in the symbolic route)
    adjoint: Rule | None  # None: no gradient flows through this primitive
    domain: tuple[tuple[float, float], ...]  # test sampling interval per argument
    tangent: TangentRule | None = None  # its JVP beside its adjoint (None: no tangent flows,
    #                                     or a block kind: none yet)
    args: str = "f"  # kind of each argument: f number, b condition
    result: str = "float"  # "float", "bool", "param" (the dtype parameter), or "results": a
    #                        block's, one output per result, made by its builder (`emit_block`)
    operator: str | None = None  # the language's infix or prefix spelling, for operators
    called: bool = False  # an operator the language also calls by its name (``pow(x, 2)``)
    aliases: tuple[str, ...] = ()  # other names the language calls it by (``dot``); a name
    #                                 that two primitives share picks by the number of arguments
    #                                 (``max(x)`` the reduction, ``max(x, y)`` the larger)
    shape: Callable[..., Shape] = broadcast  # input shapes and parameters -> output shape
    keywords: dict[str, Any] = field(default_factory=dict)  # language keyword -> default
    cases: tuple[Case, ...] = ()  # array test cases (elementwise ones are tested generically)
    helper: str | None = None  # the `gradgen.runtime` function its text calls (copied in)
    internal: bool = False  # made by the compiler only (adjoints, dimensions), not the language
    variadic: bool = False  # any number of arguments (of the one kind in ``args``)
    fresh: bool = False  # makes a new array that is then written in place: never shared (CSE)
    block: BlockRules | None = None  # a block kind's rules (it holds graphs of its own)
    safe: bool = False  # never raises on inputs its shape rule accepts (elementwise ones never do)
    cheap: bool = False  # comparisons and products, no series: recomputed rather than recorded
    updates: bool = False  # its text is a statement adding into its first argument in place
    #                         (``{0} += {1}``); the output is that argument, updated
    commutative: bool = False  # its two arguments may be swapped (CSE shares p+q and q+p)
    integer_closed: bool = False  # whole numbers give a whole number (t - 1 of an index is one)
    static: Callable[..., Any] | None = None  # its value on whole numbers at compile time
    #                         (Python's: no overflow); on dimensions a `dims.Dim` (``n*k``)

    @property
    def arity(self) -> int:
        return len(self.args)

    @functools.cached_property
    def numbers(self) -> tuple[int, ...]:
        """The positions of its arguments that are numbers (not conditions)."""
        return tuple(k for k, kind in enumerate(self.args) if kind == "f")

    @functools.cached_property
    def elementwise(self) -> bool:
        return self.shape is broadcast

    @property
    def never_raises(self) -> bool:
        """Whether it may run where its value is never wanted (before a loop of no step)."""
        return self.elementwise or self.safe

    def text(self, args: list[str], params: dict[str, Any]) -> str:
        """The NumPy expression applying this primitive to argument texts ``args``."""
        if callable(self.numpy):
            return self.numpy(args, params)
        return self.numpy.format(*args)


class Table(dict[str, Primitive]):
    """The entries one module of primitives writes, by name; `gradgen.ir.primitives` joins the
    modules' tables into the registry."""

    def primitive(self, name: str, numpy: str | Callable[..., str], impl: Callable[..., Any],
                  sympy_fn: Callable[..., Any] | None, adjoint: Rule | None,
                  domain: tuple[tuple[float, float], ...] = ((-3.0, 3.0),), **extra: Any) -> None:
        """Write one entry."""
        args = extra.setdefault("args", "f" * len(domain))
        if len(domain) != len(args) and not extra.get("variadic"):
            raise ValueError(f"{name}: one test domain per argument")
        self[name] = Primitive(name, numpy, impl, sympy_fn, adjoint, domain, **extra)

    def unary(self, name: str, numpy: str, impl: Callable[..., Any],
              sympy_fn: Callable[..., Any], derivative: Callable[..., Var] | None,
              domain: tuple[float, float] = (-3.0, 3.0), **extra: Any) -> None:
        """Write a one-argument function whose adjoint is ``g * derivative(b, x, y)`` and
        whose tangent is ``derivative(b, x, y) * x_dot``."""
        if derivative is not None:
            extra["tangent"] = lambda b, dots, y, x: b.mul(derivative(b, x, y), dots[0])
        rule = None if derivative is None else (lambda b, g, y, x: (b.mul(g, derivative(b, x, y)),))
        self.primitive(name, numpy, impl, sympy_fn, rule, (domain,), **extra)


def join(*tables: Table) -> dict[str, Primitive]:
    """The registry: every table's entries, each name written once."""
    registry: dict[str, Primitive] = {}
    for table in tables:
        twice = registry.keys() & table.keys()
        if twice:
            raise ValueError(f"primitives written twice: {sorted(twice)}")
        registry.update(table)
    return registry




# ---- what tangent rules share ----------------------------------------------------------------


def sum_of(b: Builder, *terms: Var | None) -> Var | None:
    """The sum of the tangent terms that are given (None is 0); None if none is."""
    given = [term for term in terms if term is not None]
    if not given:
        return None
    return functools.reduce(b.add, given)


def shaped_like(b: Builder, dot: Var | None, y: Var) -> Var | None:
    """``dot`` broadcast to ``y``'s shape: an elementwise output's tangent from an input of fewer
    entries (``p + q`` where only a scalar ``p`` has a tangent); forward mode's "unbroadcast"."""
    if dot is None or dot.shape == y.shape:
        return dot
    return b.expand(dot, y, axis=None, keepdims=False)


def linear_in_first(name: str) -> TangentRule:
    """The tangent rule of a primitive linear in its first argument whose other arguments place
    or shape it (positions, a shape to take, the parts of a whole): the primitive itself,
    applied to the first argument's tangent (``x[1:3]``'s tangent is ``x_dot[1:3]``)."""

    def rule(b: Builder, dots: tuple[Var | None, ...], y: Var, first: Var, *rest: Var,
             **params: Any) -> Var | None:
        return None if dots[0] is None else getattr(b, name)(dots[0], *rest, **params)

    return rule

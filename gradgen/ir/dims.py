"""The IR's vocabulary, dimensions: the sizes of a shape that are known by name, as values.

A shape is a tuple of whole numbers and `Dim`s. A `Dim` is a dimension's name (``n``), or
arithmetic on dimensions and whole numbers as the source builds it: a sum (``n+m+3``), a
difference (``T-1``), a negation (``-n``), a product (``2*n*k``), or what a strided slice leaves
of a dimension (``n[::2]``). Python's ``+``, ``-`` and ``*`` on a Dim build a Dim, so the
registry's compile-time arithmetic (``operator.mul``) works on dimensions as on whole numbers;
`size` reads a shape's factors off its products.

A Dim is written as the source writes it, without parentheses (``(n+1)*k`` is ``n+1*k``), and
two dimensions are equal when they are written alike: ``n*k`` is not ``k*n``. A Dim equals,
hashes like and has the repr of its text, so a shape prints, and is written into a generated
module, as the tuple of texts it has always been (``('n', 3)``): generated modules carry shapes
as text, and a dimension given by name (``{"n": 4}``) finds its Dim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The operator of a name (its one operand is its text) and of a strided slice (its operands
#: are the dimension, then the slice's start, stop and step).
NAME, STRIDED = "", "[]"
#: The operators whose operands are kept flat: ``n+m+3`` is one sum of three terms.
FLAT = ("+", "*")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Dim:
    """A symbolic dimension: ``operator`` applied to ``operands``, written as ``text``.

    ``+`` and ``*`` join two or more operands (a sum's terms, a product's factors); ``-``
    joins two (a difference) or is written before one (a negation). An operand is a Dim or a
    whole number.
    """

    operator: str
    operands: tuple[Any, ...]
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _written(self.operator, self.operands))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return repr(self.text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Dim):
            return self.text == other.text
        return self.text == other if isinstance(other, str) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def is_name(self) -> bool:
        return self.operator == NAME

    @property
    def factors(self) -> tuple[int | Dim, ...]:
        """The factors of a product (``2*n*k``: 2, n, k); any other Dim is its own."""
        return self.operands if self.operator == "*" else (self,)

    def __add__(self, other: int | Dim) -> Dim:
        return _joined("+", self, other)

    def __radd__(self, other: int) -> Dim:
        return _joined("+", other, self)

    def __sub__(self, other: int | Dim) -> Dim:
        return _joined("-", self, other)

    def __rsub__(self, other: int) -> Dim:
        return _joined("-", other, self)

    def __mul__(self, other: int | Dim) -> Dim:
        return _joined("*", self, other)

    def __rmul__(self, other: int) -> Dim:
        return _joined("*", other, self)

    def __neg__(self) -> Dim:
        return Dim("-", (self,))


def named(text: str) -> Dim:
    """The dimension called ``text`` (``n``)."""
    return Dim(NAME, (text,))


def strided(dim: Dim, start: int | None, stop: int | None, step: int) -> Dim:
    """What the slice ``start:stop:step`` (a step other than 1) leaves of ``dim``."""
    return Dim(STRIDED, (dim, start, stop, step))


def total(sizes: tuple[int | Dim, ...]) -> int | Dim:
    """The sum of ``sizes``: a whole number if they all are, else one sum (``n+3+m``)."""
    if all(isinstance(size, int) for size in sizes):
        return sum(sizes)
    terms = tuple(term for size in sizes for term in _operands("+", size))
    return terms[0] if len(terms) == 1 else Dim("+", terms)


def size(shape: tuple[int | Dim, ...]) -> tuple[int, list[str]]:
    """A shape's number of entries as (whole-number factor, sorted texts of the other factors):
    ``(n, 2*k)`` and ``(2*k*n,)`` both have size ``(2, ['k', 'n'])``.

    No size is negative: a negative number in a product (``n*-1``) is a factor of its own, kept
    by its text, and never cancels another.
    """
    number, others = 1, []
    for dim in shape:
        for factor in dim.factors if isinstance(dim, Dim) else (dim,):
            if isinstance(factor, int) and factor >= 0:
                number *= factor
            else:
                others.append(str(factor))
    return number, sorted(others)


def _joined(operator: str, left: Any, right: Any) -> Dim:
    """``left operator right`` (a sum or a product kept flat)."""
    if not isinstance(left, int | Dim) or not isinstance(right, int | Dim):
        return NotImplemented
    return Dim(operator, _operands(operator, left) + _operands(operator, right))


def _operands(operator: str, value: int | Dim) -> tuple[int | Dim, ...]:
    """``value`` as operands of ``operator``: a sum's terms in a sum, a product's factors in a
    product, else itself."""
    flat = isinstance(value, Dim) and value.operator == operator and operator in FLAT
    return value.operands if flat else (value,)


def _written(operator: str, operands: tuple[Any, ...]) -> str:
    """The text of ``operator`` applied to ``operands``, without parentheses."""
    if operator == NAME:
        return operands[0]
    if operator == STRIDED:
        dim, *bounds = operands
        return f"{dim}[{':'.join('' if bound is None else str(bound) for bound in bounds)}]"
    if len(operands) == 1:
        return f"{operator}{operands[0]}"
    return operator.join(map(str, operands))

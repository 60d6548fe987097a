"""Syntax tree: what `parse` produces and `lower` consumes.

An expression is kept in postfix order: a flat tuple of `Item`s, each operand before the operator
that uses it (``x^2 + y`` is ``x 2 ^ y +``). This is the syntax tree written as a list, so the
lowering walks it with a loop and an explicit stack, and a nesting depth of ten thousand or a sum
of a million terms costs no recursion anywhere.

Item kinds (``kind`` field) and what they pop from / push onto the evaluation stack:

=========  =====================================================  ======  =========
kind       fields used                                            pops    pushes
=========  =====================================================  ======  =========
``num``    ``value`` (float), ``text`` (as written)               0       1
``const``  ``text`` (``pi``)                                      0       1
``name``   ``text`` (the identifier, NFKC-normalised)             0       1
``call``   ``text`` (function name), ``nargs``                    nargs   1
``binary`` ``text``: ``+ - * / ^ < <= > >= == != and or``         2       1
``unary``  ``text``: ``-`` or ``not`` (unary ``+`` is dropped)      1       1
``cond``   ``a if c else b``: operands in the order a, c, b       3       1
=========  =====================================================  ======  =========

``**`` is reported as ``^``. ``line``/``col`` (1-based) point at the token: the number or name,
the function name of a call, the operator of a binary or unary item, the ``if`` of a ``cond``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from gradgen.errors import Source


class Item(NamedTuple):
    """One postfix step of an expression."""

    kind: str
    text: str
    line: int
    col: int
    value: float = 0.0
    nargs: int = 0


Expr = tuple[Item, ...]


@dataclass(frozen=True)
class Name:
    """An identifier with where it was written (a parameter or an assignment target)."""

    text: str
    line: int
    col: int


@dataclass(frozen=True)
class Assign:
    """``target = expr``; ``a += b`` arrives already rewritten as ``a = a + b``."""

    target: Name
    expr: Expr


@dataclass(frozen=True)
class Return:
    """``return expr`` (forms A and B are a body of one `Return`)."""

    expr: Expr
    line: int
    col: int


Statement = Assign | Return


@dataclass(frozen=True)
class Function:
    """A whole source file.

    ``form`` is ``"expression"`` (A), ``"definition"`` (B) or ``"program"`` (C). For form A,
    ``params`` is None: the inputs are the expression's free names, found by the lowering. The
    body ends with exactly one `Return`.
    """

    name: Name
    params: tuple[Name, ...] | None
    body: tuple[Statement, ...]
    form: str
    source: Source

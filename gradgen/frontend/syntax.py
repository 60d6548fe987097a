"""Syntax tree: what `parse` produces and `lower` consumes.

An expression is kept in postfix order: a flat tuple of `Item`s, each operand before the operator
that uses it (``x^2 + y`` is ``x 2 ^ y +``). This is the syntax tree written as a list, so the
lowering walks it with a loop and an explicit stack, and a nesting depth of ten thousand or a sum
of a million terms costs no recursion anywhere.

Item kinds (``kind`` field) and what they pop from / push onto the evaluation stack:

===========  ===================================================  =======  ======
kind         fields used                                          pops     pushes
===========  ===================================================  =======  ======
``num``      ``value`` (float), ``text`` (as written)             0        1
``const``    ``text`` (``pi``)                                    0        1
``name``     ``text`` (the identifier, NFC-normalised)            0        1
``call``     ``text`` (function name), ``nargs``                  nargs    1
``binary``   ``text``: ``+ - * / @ ^ < <= > >= == != and or``     2        1
``unary``    ``text``: ``-`` or ``not`` (unary ``+`` is dropped)  1        1
``cond``     ``a if c else b``: operands in the order a, c, b     3        1
``keyword``  ``text``: the name of a call's keyword argument,     1        1
             whose value it marks
``tuple``    ``nargs`` elements: ``(n, k)``, ``(n,)``, ``()``     nargs    1
``none``     an omitted part of a slice (``x[:3]``)               0        1
``slice``    ``start:stop:step``, omitted parts as ``none``       3        1
``index``    ``nargs`` elements between ``[`` and ``]``: the      nargs+1  1
             indexed value first, then each element
===========  ===================================================  =======  ======

``**`` is reported as ``^``; ``x.T`` is ``call`` ``transpose`` with ``nargs`` 1. A call's
``nargs`` counts its keyword arguments too: ``sum(X, axis=1)`` is ``X 1 keyword(axis) sum/2``,
and keyword arguments come after the positional ones. ``X[1:, 0]`` is
``X 1 none none slice 0 index/2``; a parenthesised expression without a comma leaves no item.

``line``/``col`` (1-based) point at the token: the number or name, the function name of a call,
the operator of a binary or unary item, the ``if`` of a ``cond``, the ``.`` of a ``.T``, the name
of a ``keyword``, the ``(`` of a ``tuple``, the ``[`` of an ``index``, the first ``:`` of a
``slice``, and for ``none`` the token that ends the omitted part (a ``:``, ``,`` or ``]``).
`pops` gives the "pops" column.

A program's statements (`Assign`, `Return`, `For`, `If`) nest: a loop's or a branch's body is a
tuple of statements, and `walk` lists them all with a loop, not by recursion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
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

#: How many operands an item of each kind pops (the others pop none; see `pops`).
_POPS = {"binary": 2, "unary": 1, "cond": 3, "keyword": 1, "slice": 3}


def pops(item: Item) -> int:
    """How many operands `item` takes off the evaluation stack (it always pushes one)."""
    if item.kind in ("call", "tuple"):
        return item.nargs
    if item.kind == "index":
        return item.nargs + 1
    return _POPS.get(item.kind, 0)


@dataclass(frozen=True)
class Name:
    """An identifier with where it was written (a parameter, an assignment target or a
    dimension of a parameter's shape, where it may also be the digits of a whole number)."""

    text: str
    line: int
    col: int


#: A parameter's declared shape: its dimensions, ``()`` for a scalar.
Shape = tuple[Name, ...]
#: The declaration ``N: int`` in place of a shape: a whole number (a trip count, an index),
#: checked at call time and never differentiated.
WHOLE = "int"


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


@dataclass(frozen=True)
class For:
    """``for NAME in range(STOP):`` or ``for NAME in range(START, STOP):`` and its body.

    ``start`` is None for ``range(STOP)``; the bounds are any expressions (the lowering checks
    that they are whole numbers). The body holds no `Return`.
    """

    target: Name
    start: Expr | None
    stop: Expr
    body: tuple[Statement, ...]
    line: int  # of the 'for'
    col: int


@dataclass(frozen=True)
class If:
    """``if TEST:`` and its body, then ``elif`` (a nested `If`, the whole ``orelse``) or
    ``else:`` (``orelse`` its body; ``()`` when there is no else). No body holds a `Return`."""

    test: Expr
    body: tuple[Statement, ...]
    orelse: tuple[Statement, ...]
    line: int  # of the 'if' (or 'elif')
    col: int


Statement = Assign | Return | For | If


def walk(body: tuple[Statement, ...]) -> Iterator[Statement]:
    """Every statement of `body`, those inside loops and branches too, in source order (a
    statement before the ones it holds), by a loop over an explicit stack."""
    pending = [iter(body)]
    while pending:
        statement = next(pending[-1], None)
        if statement is None:
            pending.pop()
            continue
        yield statement
        pending.extend(iter(block) for block in reversed(blocks(statement)))


def blocks(statement: Statement) -> tuple[tuple[Statement, ...], ...]:
    """The blocks a statement holds: a loop's body, an ``if``'s body and ``orelse``."""
    if isinstance(statement, If):
        return statement.body, statement.orelse
    if isinstance(statement, For):
        return (statement.body,)
    return ()


@dataclass(frozen=True)
class Function:
    """A function: a whole source file in forms A and B, one ``def`` in form C.

    ``form`` is ``"expression"`` (A), ``"definition"`` (B) or ``"program"`` (C). For form A,
    ``params`` is None: the inputs are the expression's free names, found by the lowering. The
    body ends with exactly one `Return`, at its top level (loops and branches hold none).

    A file of several ``def``s parses to its entry function (see `parser.parse`), whose
    ``helpers`` are the file's other functions in file order (each with no helpers of its own).

    ``shapes`` has one entry per parameter in forms B and C (``()`` in form A): None for a
    parameter written without a shape (a scalar), else its dimensions as written in
    ``W: (d, k)``, each a `Name` whose text is an identifier or the digits of a whole number
    (``x: ()`` is an explicit scalar, the empty tuple).
    """

    name: Name
    params: tuple[Name, ...] | None
    body: tuple[Statement, ...]
    form: str
    source: Source
    shapes: tuple[Shape | None, ...] = field(default=(), kw_only=True)
    helpers: tuple[Function, ...] = field(default=(), kw_only=True)

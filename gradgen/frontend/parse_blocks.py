"""Parser, block headers (text → syntax): the headers of loops and branches, and their blocks.

``for NAME in range(...):``, ``if TEST:``, ``elif TEST:`` and ``else:`` each open a `Block` of
statements on the parser's stack of blocks.

A block is indented on the lines after its header, or one statement on the header's own line.
The branches of an if/elif/else chain are collected as their blocks close, and `chain_branches`
turns them into nested `If`s with a loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gradgen.errors import Source
from gradgen.frontend.lexer import DEDENT, INDENT, KEYWORD, NAME, NEWLINE, Token
from gradgen.frontend.parse_expressions import ExpressionParser
from gradgen.frontend.parse_reader import (
    ASSIGNMENTS,
    TokenReader,
    compare_hint,
    describe,
    is_keyword,
)
from gradgen.frontend.syntax import Expr, If, Item, Name, Statement, pops

_RANGE_EXPECTED = ("expected 'range(...)' after 'in': loops run over range(stop) or "
                   "range(start, stop)")

#: The (test, body, keyword) of each branch of an if/elif chain closed so far.
Branches = list[tuple[Expr, tuple[Statement, ...], Token]]


class Block(NamedTuple):
    """An open block of statements on the parser's stack of blocks.

    ``kind`` is "def" (a function's body), "for", "if" (the body of an 'if' or an 'elif') or
    "else"; ``keyword`` is the token that began its header; ``inline`` tells that its one
    statement follows the ':' on the same line. ``header`` is a loop's (target, start, stop)
    or a branch's test. The blocks of one if/elif/else chain share ``branches``.
    """

    kind: str
    keyword: Token
    inline: bool
    statements: list[Statement]
    header: tuple = ()
    branches: Branches | None = None


def chain_branches(branches: Branches, orelse: tuple[Statement, ...]) -> If:
    """The `If` of an if/elif/else chain: each 'elif' is a nested `If`, the whole ``orelse``
    of the branch before it. Built from the last branch back, with a loop."""
    for test, body, keyword in reversed(branches):
        node = If(test, body, orelse, keyword.line, keyword.col)
        orelse = (node,)
    return node


def call_arguments(expr: Expr, nargs: int) -> list[Expr]:
    """The postfix items of each of the `nargs` arguments of the call that ends `expr`, read
    from the end: an argument ends where the next one begins."""
    arguments = []
    end = len(expr) - 1
    for _ in range(nargs):
        start = _operand_start(expr, end)
        arguments.append(expr[start:end])
        end = start
    return arguments[::-1]


def _operand_start(expr: Expr, end: int) -> int:
    """Where the operand whose items end just before `end` begins: where its items, read
    backwards, have consumed all that they push."""
    start, needed = end, 1
    while needed:
        start -= 1
        needed += pops(expr[start]) - 1
    return start


class BlockParser(TokenReader):
    """The headers that open blocks on the stack of open blocks (``blocks``, innermost last),
    and the expressions in them."""

    def __init__(self, source: Source, tokens: Iterator[Token]) -> None:
        super().__init__(source, tokens)
        self.blocks: list[Block] = []

    def expression(self, first: Token, header: bool = False) -> tuple[Expr, Token]:
        """The expression from `first` and the token that ended it; in a `header` ('if',
        'for') a ':' outside brackets ends it too."""
        return ExpressionParser(self.source, self.tokens, header).parse(first)

    def open_block(self, kind: str, keyword: Token, header: tuple = (),
                   branches: Branches | None = None) -> Token:
        """Open the block after a header's ':' (just read): an indented block, or one statement
        on the same line. Returns the first token of its first statement."""
        tok = self.next()
        inline = tok.kind != NEWLINE
        self.blocks.append(Block(kind, keyword, inline, [], header, branches))
        return tok if inline else self.indented(keyword)

    def indented(self, keyword: Token) -> Token:
        """The first token of the indented block after the header of `keyword`."""
        tok = self.next()
        if tok.kind != INDENT:
            got = "" if tok.kind == DEDENT else f", got {describe(tok)}"
            raise self.error(f"expected an indented block after '{keyword.text}'{got}", tok)
        return self.next()

    # ---- loops -----------------------------------------------------------------------------

    def for_header(self, for_tok: Token, tok: Token) -> Token:
        """``for NAME in range(STOP):`` or ``for NAME in range(START, STOP):`` from the token
        after 'for': opens the loop's block; returns the first token of its body."""
        target = self.loop_variable(tok)
        return self.open_block("for", for_tok, (target, *self.loop_range()))

    def loop_variable(self, tok: Token) -> Name:
        if tok.kind == KEYWORD and tok.text != "in":
            raise self.reserved(tok)
        if tok.kind != NAME:
            raise self.error(f"expected a loop variable name after 'for', got {describe(tok)}",
                             tok)
        return Name(tok.text, tok.line, tok.col)

    def loop_range(self) -> tuple[Expr | None, Expr]:
        """``in range(...):`` after the loop variable: START (None if absent) and STOP."""
        first = self.range_name()
        expr, end = self.expression(first, header=True)
        start, stop = self.range_bounds(expr, first)
        self.require(end, ":", "expected ':' after 'range(...)'")
        return start, stop

    def range_name(self) -> Token:
        """The ``range`` after ``in``, after the loop variable."""
        in_tok = self.next()
        self.require(in_tok, "in", f"expected 'in' after the loop variable, got {describe(in_tok)}")
        return self.require(self.next(), "range", _RANGE_EXPECTED)

    def range_bounds(self, expr: Expr, first: Token) -> tuple[Expr | None, Expr]:
        """START (None if absent) and STOP of the expression `expr` that began at `first`,
        which must be ``range(STOP)`` or ``range(START, STOP)`` and nothing more."""
        call = self.range_call(expr, first)
        bounds = call_arguments(expr, call.nargs)
        for bound in bounds:
            if bound[-1].kind == "keyword":
                raise self.error("range takes no keyword arguments", bound[-1])
        return (None, *bounds) if call.nargs == 1 else bounds

    def range_call(self, expr: Expr, first: Token) -> Item:
        """The call item of ``range(...)``, which must be all of `expr` (begun at `first`)."""
        call = expr[-1]
        if (call.kind, call.text, call.line, call.col) != ("call", "range", first.line, first.col):
            raise self.error(_RANGE_EXPECTED, first)
        if call.nargs not in (1, 2):
            raise self.error("range takes 1 or 2 arguments (a step is not supported)", call)
        return call

    # ---- branches --------------------------------------------------------------------------

    def if_header(self, keyword: Token, first: Token, branches: Branches | None = None) -> Token:
        """``if TEST:`` (or ``elif TEST:``, with the `branches` of its chain so far) from the
        first token of TEST: opens the branch's block; returns the first token of its body."""
        test = self.condition(keyword, first)
        return self.open_block("if", keyword, test, [] if branches is None else branches)

    def condition(self, keyword: Token, first: Token) -> Expr:
        """The TEST of ``if TEST:`` or ``elif TEST:`` (`keyword`), from `first` to the ':'."""
        expr, end = self.expression(first, header=True)
        if end.text in ASSIGNMENTS:
            raise self.error(f"unexpected '{end.text}'" + compare_hint(end), end)
        self.require(end, ":", f"expected ':' after the '{keyword.text}' condition")
        return expr

    def else_header(self, keyword: Token, branches: Branches) -> Token:
        """``else:``: opens its block; returns the first token of its body."""
        colon = self.next()
        if is_keyword(colon, "if"):
            raise self.error("expected ':' after 'else' (write 'elif' for 'else if')", colon)
        self.require(colon, ":", "expected ':' after 'else'")
        return self.open_block("else", keyword, (), branches)

"""Parser, the second half of the front end (text → syntax.Function): `Token`s → `Function`.

The file's form is read off its first tokens: ``def`` starts a program (form C), ``NAME(...) =``
a definition (form B), anything else is a bare expression (form A). A program is one or more
``def``s, whose statements are assignments (``=``, ``+=`` ...), ``for NAME in range(...):`` loops,
``if``/``elif``/``else`` branches and a final ``return``; blocks nest on an explicit stack of
`_Block`s. Expressions are parsed by operator precedence with an explicit operator stack
(shunting-yard), straight into the postfix `Item`s of `syntax`. Nothing recurses over the input,
so the depth of nesting, of blocks as of expressions, is limited by memory only.

Precedence, loosest first (as in LANGUAGE.md, and as in Python)::

    a if c else b       right-associative: the else part may be another conditional
    a or b
    a and b
    not a
    < <= > >= == !=     non-associative: 'a < b < c' is an error that suggests the 'and'
    a + b, a - b
    a * b, a / b, a @ b
    -a, +a              unary plus leaves no item
    a ^ b, a ** b       right-associative; binds tighter than a unary minus on its left
                        (-x^2 is -(x^2)), and its exponent may start with one (2^-x)
    x.T, x[i, j:k]      postfix, tightest of all: they apply to the operand just completed
                        (-X.T^2 is -((X.T)^2), 2^x[1] is 2^(x[1]), f(x)[0], X.T[0], x[0][1])

Brackets: '(a)' only groups; '(a, b)', '(a,)' and '()' are tuples; 'f(a, axis=b)' is a call
whose keyword arguments follow its positional ones; 'x[...]' is a subscript whose elements are
expressions or slices 'start:stop:step' (any part omitted). Parameters of forms B and C may
carry a shape, 'W: (d, k)', whose dimensions are names or whole numbers, or 'N: int', a whole
number.

Every bad input is a `CompileError` located at the token where the parser gave up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain
from typing import NamedTuple

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import (
    DEDENT,
    END,
    INDENT,
    KEYWORD,
    NAME,
    NEWLINE,
    NUM,
    Token,
    token_end,
    tokenize,
)
from gradgen.frontend.syntax import (
    WHOLE,
    Assign,
    Expr,
    For,
    Function,
    If,
    Item,
    Name,
    Return,
    Shape,
    Statement,
    pops,
)

# Precedences. Group entries on the operator stack have 0, below every operator, so that
# popping "everything that binds at least this tightly" stops at the innermost open group.
_GROUP, _COND, _OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _POWER = range(10)

_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
#: Infix operator → (precedence, pop stacked operators of at least this precedence first, item
#: text). Left-associative operators pop their equals; `^` is right-associative and pops only
#: tighter ones; comparisons do not associate at all, so an equal one left on the stack is a
#: chain, which is reported.
_BINARY: dict[str, tuple[int, int, str]] = {
    "or": (_OR, _OR, "or"),
    "and": (_AND, _AND, "and"),
    **{op: (_CMP, _CMP + 1, op) for op in _COMPARISONS},
    "+": (_SUM, _SUM, "+"),
    "-": (_SUM, _SUM, "-"),
    "*": (_PRODUCT, _PRODUCT, "*"),
    "/": (_PRODUCT, _PRODUCT, "/"),
    "@": (_PRODUCT, _PRODUCT, "@"),
    "^": (_POWER, _POWER + 1, "^"),
    "**": (_POWER, _POWER + 1, "^"),
}
_ASSIGNMENTS = {"=": None, "+=": "+", "-=": "-", "*=": "*", "/=": "/", "@=": "@"}
_LINE_ENDS = (NEWLINE, END, DEDENT, INDENT)
#: What ends the right operand of a comparison (for quoting it in the chained-comparison error).
_ENDS_COMPARISON_OPERAND = frozenset({"and", "or", "if", "else", ",", ")", "]", "=", ":",
                                      *_COMPARISONS})
#: The item that closing a group outputs (plain parentheses output none).
_GROUP_ITEMS = {"call": "call", "(": "tuple", "[": "index"}
#: What may end an empty element of a group: 'f()', '()', '(a,)', 'x[:]', 'x[1:, 0]'.
_AFTER_EMPTY_ELEMENT = frozenset({")", "]", ",", ":"})
#: Python statements that the language does not have (they are ordinary names otherwise); the
#: first ones have a message of their own.
_UNSUPPORTED_STATEMENTS = {
    "while": "'while' loops are not supported: use 'for i in range(n)' with a fixed trip count",
    "break": "'break' is not supported: loops run for a fixed number of steps",
    "continue": "'continue' is not supported: loops run for a fixed number of steps",
    "pass": "'pass' is not supported: leave it out (a block holds at least one assignment)",
    "lambda": "'lambda' expressions are not supported",
}
_STATEMENT_WORDS = frozenset({
    "import", "from", "with", "try", "except", "finally", "class", "del", "global", "nonlocal",
    "assert", "raise", "yield", "async", "match",
})
_RESERVED_AS_NAMES = frozenset({"def", "return", "for", "elif"})
_BRACKETS = {"(": 1, "[": 1, ")": -1, "]": -1}
_RANGE_EXPECTED = ("expected 'range(...)' after 'in': loops run over range(stop) or "
                   "range(start, stop)")
_RETURN_INSIDE = {
    "for": "'return' inside a 'for' loop is not supported: assign a variable and return it "
           "after the loop",
    "if": "'return' inside an 'if' is not supported: assign a variable in each branch and "
          "return it after the 'if'",
}
_DESCRIPTIONS = {NEWLINE: "end of line", END: "end of input", INDENT: "an indented line",
                 DEDENT: "the end of an indented block"}
_CONTINUATION_HINT = " (an expression continues onto another line only inside parentheses)"


class _Group(NamedTuple):
    """An open '(' (``kind`` "("), call, '[' or 'if' on the operator stack.

    ``tok`` is the token just before the current operand (the '(' or '[', the last ',' or ':',
    the 'if'); ``opened`` is the bracket that the closing one must match (or the 'if');
    ``commas`` counts the elements completed so far. For a call, ``name`` is its name,
    ``arg_start`` is where the output stood when the current argument began and ``keywords``
    holds the names of its keyword arguments so far. For a '[', ``name`` is where the indexed
    operand began, ``colons`` counts the ':' of the current element and ``colon`` is its first.
    """

    prec: int
    kind: str
    tok: Token
    opened: Token
    name: Token | None = None
    commas: int = 0
    arg_start: int = 0
    keywords: set[str] | None = None
    colons: int = 0
    colon: Token | None = None


class _Block(NamedTuple):
    """An open block of statements on the parser's stack of blocks.

    ``kind`` is "def" (a function's body), "for", "if" (the body of an 'if' or an 'elif') or
    "else"; ``keyword`` is the token that began its header; ``inline`` tells that its one
    statement follows the ':' on the same line. ``header`` is a loop's (target, start, stop)
    or a branch's test. The blocks of one if/elif/else chain share ``branches``: the
    (test, body, keyword) of each branch closed so far.
    """

    kind: str
    keyword: Token
    inline: bool
    statements: list[Statement]
    header: tuple = ()
    branches: list | None = None


def parse(text: str, path: str, entry: str | None = None) -> Function:
    """Parse a whole source file into a `Function`; raises `CompileError` on bad input.

    A program (form C) may define several functions: the result is the one named `entry` (by
    default the last one), with the others, in file order, as its ``helpers``. Forms A and B
    define one function (``f`` in form A), which `entry`, if given, must name.

    Callers with large inputs should pause the cycle collector (`pipeline.collector_paused`
    does, for the whole compilation): parsing makes millions of small tuples and no cycles.
    """
    source = Source(path, text)
    functions = _Parser(source, tokenize(source)).file()
    return _entry(functions, entry, source)


def _entry(functions: list[Function], entry: str | None, source: Source) -> Function:
    """The function named `entry` (else the last one), with the others as its helpers."""
    chosen = functions[-1]
    if entry is not None:
        named = [function for function in functions if function.name.text == entry]
        if not named:
            defined = ", ".join(function.name.text for function in functions)
            raise CompileError(f"no function named '{entry}'; the file defines {defined}",
                               source, 1, 1)
        chosen = named[0]
    if len(functions) == 1:
        return chosen
    return replace(chosen, helpers=tuple(f for f in functions if f is not chosen))


def _chain(branches: list[tuple[Expr, tuple[Statement, ...], Token]],
           orelse: tuple[Statement, ...]) -> If:
    """The `If` of an if/elif/else chain: each 'elif' is a nested `If`, the whole ``orelse``
    of the branch before it. Built from the last branch back, with a loop."""
    for test, body, keyword in reversed(branches):
        node = If(test, body, orelse, keyword.line, keyword.col)
        orelse = (node,)
    return node


def _arguments(expr: Expr, nargs: int) -> list[Expr]:
    """The postfix items of each of the `nargs` arguments of the call that ends `expr`.

    Read from the end: an argument ends where the next begins and begins where its items,
    read backwards, have consumed all that they push.
    """
    arguments = []
    end = len(expr) - 1
    for _ in range(nargs):
        start, needed = end, 1
        while needed:
            start -= 1
            needed += pops(expr[start]) - 1
        arguments.append(expr[start:end])
        end = start
    arguments.reverse()
    return arguments


def _describe(tok: Token) -> str:
    """How a token is named in a message: ``'x'``, ``end of line``, ``end of input``..."""
    return _DESCRIPTIONS.get(tok.kind) or f"'{tok.text}'"


def _quote(text: str, limit: int = 60) -> str:
    """Source text for a message: comments dropped, white space squeezed, the middle of a long
    text elided."""
    words = " ".join(re.sub(r"#[^\n\r]*", "", text).split())
    return words if len(words) <= limit else f"{words[:limit - 20]}...{words[-17:]}"


class _Reader:
    """A token stream with its source, shared by the statement and expression parsers."""

    def __init__(self, source: Source, tokens: Iterator[Token]) -> None:
        self.source = source
        self.tokens = tokens

    def error(self, message: str, tok: Token | Item) -> CompileError:
        return CompileError(message, self.source, tok.line, tok.col)

    def next(self) -> Token:
        return next(self.tokens)

    def quote(self, start: int, end: int) -> str:
        return _quote(self.source.text[start:end])

    def through_matching_paren(self) -> list[Token]:
        """Tokens after an opening '(' up to its ')' (or up to END if it is never closed)."""
        seen = []
        depth = 1
        while depth:
            tok = self.next()
            seen.append(tok)
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
            elif tok.kind == END:
                break
        return seen


class _Parser(_Reader):
    """The three forms and the statements of a program; expressions go to `_Expression`."""

    def expression(self, first: Token, header: bool = False) -> tuple[Expr, Token]:
        """The expression from `first` and the token that ended it; in a `header` ('if',
        'for') a ':' outside brackets ends it too."""
        return _Expression(self.source, self.tokens, header).parse(first)

    # ---- forms -------------------------------------------------------------------------------

    def file(self) -> list[Function]:
        """The file's functions: several ``def``s, or one function of form A or B."""
        first = self.next()
        if first.kind == END:
            raise self.error("empty file: expected an expression", Token(END, "", 1, 1, 0))
        if first.kind == KEYWORD and first.text == "def":
            return self.program(first)
        header = self.definition_header(first)
        if header is not None:
            return [self.definition(first, header)]
        return [self.bare_expression(first)]

    def bare_expression(self, first: Token) -> Function:
        expr, end = self.expression(first)
        if end.text in _ASSIGNMENTS:
            raise self.error(f"unexpected '{end.text}': a definition is written "
                             "'f(x, y) = ...'" + self.compare_hint(end), end)
        self.expect_end_of_input(end)
        return Function(Name("f", 1, 1), None, (Return(expr, first.line, first.col),),
                        "expression", self.source)

    def definition(self, name: Token, header: list[Token]) -> Function:
        params, shapes = self.parameters(header[2:-1], header[-1])
        first = self.next()
        expr, end = self.expression(first)
        if end.text in _ASSIGNMENTS:
            raise self.error(f"unexpected '{end.text}'" + self.compare_hint(end), end)
        self.expect_end_of_input(end)
        return Function(Name(name.text, name.line, name.col), params,
                        (Return(expr, first.line, first.col),), "definition", self.source,
                        shapes=shapes)

    def definition_header(self, first: Token) -> list[Token] | None:
        """The tokens of ``NAME(...)`` when an '=' follows them, else None (nothing consumed).

        Tokens read to find out are put back in front of the stream.
        """
        if first.kind != NAME:
            return None
        seen = [first, self.next()]
        if seen[-1].text == "(":
            seen += self.through_matching_paren()
            if seen[-1].text == ")":
                seen.append(self.next())
                if seen[-1].text == "=":
                    return seen[:-1]
        self.tokens = chain(seen[1:], self.tokens)
        return None

    def parameters(self, inside: list[Token],
                   close: Token) -> tuple[tuple[Name, ...], tuple[Shape | None, ...]]:
        """The parameters between a header's parentheses, ``NAME`` or ``NAME: (d1, d2, ...)``
        separated by ',' (a trailing one is fine): their names, and their shapes (None where
        none is written)."""
        params: list[Name] = []
        shapes: list[Shape | None] = []
        seen: set[str] = set()
        for group, after in self.split_at_commas(inside, close):
            if not group and after is close and params:
                break
            param = self.parameter(group, after)
            if param.text in seen:
                raise self.error(f"duplicate parameter '{param.text}'", param)
            seen.add(param.text)
            params.append(param)
            shapes.append(self.shape(group[2:], after) if len(group) > 1 else None)
        return tuple(params), tuple(shapes)

    @staticmethod
    def split_at_commas(tokens: list[Token], close: Token) -> Iterator[tuple[list[Token], Token]]:
        """Each comma-separated group of `tokens` with the ',' or ')' after it."""
        group: list[Token] = []
        depth = 0
        for tok in tokens:
            depth += (tok.text == "(") - (tok.text == ")")
            if tok.text == "," and depth == 0:
                yield group, tok
                group = []
            else:
                group.append(tok)
        if group or tokens:
            yield group, close

    def parameter(self, group: list[Token], after: Token) -> Name:
        """The name of a parameter (``NAME``, or ``NAME:`` before a shape)."""
        if len(group) == 1 or (len(group) > 1 and group[1].text == ":"):
            if group[0].kind == NAME:
                return Name(group[0].text, group[0].line, group[0].col)
            if group[0].kind == KEYWORD:
                raise self.reserved(group[0])
        if len(group) > 1 and group[0].kind == NAME and group[1].text == "=":
            raise self.error("default parameter values are not supported", group[1])
        raise self.error("expected a parameter name", group[0] if group else after)

    def shape(self, tokens: list[Token], after: Token) -> Shape:
        """The dimensions after a parameter's ':', ``(d1, d2, ...)``: `tokens` run up to the
        `after` that ends the parameter; ``(d,)`` has one dimension, ``()`` none (a scalar)."""
        opened = tokens[0] if tokens else after
        if opened.kind == NAME and opened.text == WHOLE:
            self.after_shape(tokens[1:])
            return WHOLE
        if opened.text != "(":
            raise self.error("expected 'int', or '(' and the dimensions, after ':'", opened)
        dims: list[Name] = []
        for index, tok in enumerate(tokens[1:], 1):
            if tok.text == ")":
                self.after_shape(tokens[index + 1:])
                return tuple(dims)
            if index % 2:  # odd places hold dimensions, even ones the commas between them
                dims.append(self.dimension(tok))
            elif tok.text != ",":
                raise self.error("expected ',' or ')' after a dimension", tok)
        raise self.error(f"expected ')' to close '(' opened at {opened.line}:{opened.col}", after)

    def dimension(self, tok: Token) -> Name:
        """One dimension of a shape: a name, or the digits of a whole number."""
        if tok.kind == NAME or (tok.kind == NUM and tok.text.isdigit()):
            return Name(tok.text, tok.line, tok.col)
        if tok.kind == KEYWORD:
            raise self.reserved(tok)
        raise self.error("expected a dimension: a name or a whole number", tok)

    def after_shape(self, rest: list[Token]) -> None:
        """Nothing may follow a parameter's shape but the ',' or ')' after the parameter."""
        if rest and rest[0].text == "=":
            raise self.error("default parameter values are not supported", rest[0])
        if rest:
            raise self.error("expected ',' or ')' after a parameter's shape", rest[0])

    def expect_end_of_input(self, end: Token) -> None:
        tok = end
        while tok.kind in (NEWLINE, INDENT, DEDENT):
            tok = self.next()
        if tok.kind != END:
            raise self.error(f"expected end of input, got {_describe(tok)}"
                             + _CONTINUATION_HINT, tok)

    def compare_hint(self, tok: Token) -> str:
        return " (use '==' to compare)" if tok.text == "=" else ""

    def reserved(self, tok: Token) -> CompileError:
        return self.error(f"'{tok.text}' is a reserved word", tok)

    # ---- programs ----------------------------------------------------------------------------

    def program(self, first: Token) -> list[Function]:
        """The ``def``s of a program (form C), from the first one's `first` token on."""
        functions: list[Function] = []
        defined: dict[str, Token] = {}  # name → its 'def'
        tok = first
        while tok.kind != END:  # after_function let through only 'def' and END
            function, tok = self.function(tok, defined)
            functions.append(function)
        return functions

    def function(self, def_tok: Token, defined: dict[str, Token]) -> tuple[Function, Token]:
        """One ``def`` and the token after it."""
        name = self.function_name()
        first = defined.setdefault(name.text, def_tok)
        if first is not def_tok:
            raise self.error(f"function '{name.text}' is defined twice (first at "
                             f"{first.line}:{first.col})", def_tok)
        params, shapes = self.def_parameters()
        colon = self.next()
        if colon.text != ":":
            raise self.error("expected ':' after the parameter list", colon)
        body, after = self.body(def_tok)
        self.after_function(after)
        if not isinstance(body[-1], Return):
            raise self.error(f"function '{name.text}' has no 'return'", def_tok)
        return Function(Name(name.text, name.line, name.col), params, body, "program",
                        self.source, shapes=shapes), after

    def function_name(self) -> Token:
        name = self.next()
        if name.kind == KEYWORD:
            raise self.reserved(name)
        if name.kind != NAME:
            raise self.error(f"expected a function name after 'def', got {_describe(name)}", name)
        return name

    def def_parameters(self) -> tuple[tuple[Name, ...], tuple[Shape | None, ...]]:
        opened = self.next()
        if opened.text != "(":
            raise self.error(f"expected '(' after the function name, got {_describe(opened)}",
                             opened)
        inside = self.through_matching_paren()
        close = inside.pop()
        if close.kind == END:
            raise self.error(f"expected ')' to close '(' opened at {opened.line}:{opened.col}",
                             close)
        return self.parameters(inside, close)

    def after_function(self, tok: Token) -> None:
        """What may follow a function: another ``def`` or the end of the file."""
        if tok.kind == INDENT:
            raise self.error("unexpected indent", tok)
        if tok.kind != END and not (tok.kind == KEYWORD and tok.text == "def"):
            raise self.error(f"expected end of input after the function, got {_describe(tok)}",
                             tok)

    # ---- statements and blocks ---------------------------------------------------------------

    def body(self, def_tok: Token) -> tuple[tuple[Statement, ...], Token]:
        """The statements after ``def ...:`` and the token after them.

        Blocks nest on the explicit stack `blocks`, innermost last, so that the depth of
        nesting costs no recursion. A block ends at its DEDENT, or after its one statement when
        that follows the ':' on the same line; a closed loop or branch becomes a statement of
        the block around it.
        """
        root, tok = self.open_block("def", def_tok)
        blocks = [root]
        while True:
            block = blocks[-1]
            if block.statements and (block.inline or tok.kind == DEDENT):
                if not block.inline:
                    tok = self.next()
                blocks.pop()
                if not blocks:
                    return tuple(block.statements), tok
                tok = self.close_block(block, blocks, tok)
            else:
                tok = self.statement(tok, blocks)

    def open_block(self, kind: str, keyword: Token, header: tuple = (),
                   branches: list | None = None) -> tuple[_Block, Token]:
        """The block after a header's ':' (just read) and the first token of its first
        statement: an indented block, or one statement on the same line."""
        tok = self.next()
        inline = tok.kind != NEWLINE
        if not inline:
            tok = self.next()
            if tok.kind != INDENT:
                got = "" if tok.kind == DEDENT else f", got {_describe(tok)}"
                raise self.error(f"expected an indented block after '{keyword.text}'{got}", tok)
            tok = self.next()
        return _Block(kind, keyword, inline, [], header, branches), tok

    def close_block(self, block: _Block, blocks: list[_Block], tok: Token) -> Token:
        """`block` has ended before `tok`: a loop becomes a `For` in the block around it; a
        branch goes on to the 'elif' or 'else' at `tok`, or ends its chain as an `If`. Returns
        the token to go on with."""
        outer = blocks[-1].statements
        body = tuple(block.statements)
        if block.kind == "for":
            if tok.kind == KEYWORD and tok.text == "else":
                raise self.error("'else' after a 'for' loop is not supported", tok)
            target, start, stop = block.header
            outer.append(For(target, start, stop, body, block.keyword.line, block.keyword.col))
            return tok
        if block.kind == "else":
            outer.append(_chain(block.branches, body))
            return tok
        block.branches.append((block.header, body, block.keyword))
        if tok.kind == KEYWORD and tok.text == "elif":
            branch, tok = self.if_header(tok, self.next(), block.branches)
            blocks.append(branch)
        elif tok.kind == KEYWORD and tok.text == "else":
            branch, tok = self.else_header(tok, block.branches)
            blocks.append(branch)
        else:
            outer.append(_chain(block.branches, ()))
        return tok

    def statement(self, tok: Token, blocks: list[_Block]) -> Token:
        """The statement starting at `tok`, in the innermost block: ``NAME = EXPR``, ``NAME +=
        EXPR`` (and -= *= /= @=) and ``return EXPR`` are added to it; a 'for' or 'if' header
        opens a block on `blocks`. Returns the token after what was read."""
        block = blocks[-1]
        statements = block.statements
        if statements and isinstance(statements[-1], Return):
            raise self.error("unreachable statement after 'return'", tok)
        if tok.kind == INDENT:
            raise self.error("unexpected indent", tok)
        if tok.kind == KEYWORD and tok.text == "return":
            if len(blocks) > 1:
                raise self.error(_RETURN_INSIDE[block.kind if block.kind == "for" else "if"],
                                 tok)
            statements.append(Return(self.line_expression(self.next()), tok.line, tok.col))
            return self.next()
        if tok.kind == KEYWORD and tok.text == "def":
            raise self.error("a 'def' inside a function is not supported: define functions at "
                             "the top level", tok)
        if tok.kind not in (NAME, KEYWORD):
            raise self.error("expected an assignment or 'return'", tok)
        following = self.next()
        if following.text in _ASSIGNMENTS:
            if tok.kind == KEYWORD:
                raise self.reserved(tok)
            statements.append(self.assignment(tok, following))
            return self.next()
        if tok.kind == KEYWORD and tok.text in ("for", "if"):
            if block.inline:
                raise self.error(f"'{tok.text}' cannot follow ':' on the same line: start an "
                                 "indented block", tok)
            header = self.for_header if tok.text == "for" else self.if_header
            opened, following = header(tok, following)
            blocks.append(opened)
            return following
        raise self.not_a_statement(tok, following)

    def not_a_statement(self, tok: Token, following: Token) -> CompileError:
        """The error for a line that starts with the name or keyword `tok` but is neither an
        assignment nor a statement of the language."""
        if tok.kind == KEYWORD and tok.text in ("elif", "else"):
            return self.error(f"'{tok.text}' without 'if'", tok)
        if tok.kind == NAME and tok.text in _UNSUPPORTED_STATEMENTS:
            return self.error(_UNSUPPORTED_STATEMENTS[tok.text], tok)
        if tok.kind == NAME and tok.text in _STATEMENT_WORDS:
            return self.error(f"'{tok.text}' statements are not supported yet", tok)
        if tok.kind == NAME and following.text == "[" and self.subscript_assigned(following):
            return self.error("assignment to an element or slice is not supported: compute the "
                              "whole array (stack, concat, where)", tok)
        return self.error("expected an assignment or 'return'", tok)

    def subscript_assigned(self, opened: Token) -> bool:
        """Whether the subscripts from `opened` (``[i]``, ``[i][j]``...) are followed by an
        assignment operator: ``x[i] = ...`` or ``x[1:3] += ...``."""
        tok = opened
        while tok.text == "[":
            depth = 1
            while depth and tok.kind != END:
                tok = self.next()
                depth += _BRACKETS.get(tok.text, 0)
            tok = self.next()
        return tok.text in _ASSIGNMENTS

    def for_header(self, for_tok: Token, tok: Token) -> tuple[_Block, Token]:
        """``for NAME in range(STOP):`` or ``for NAME in range(START, STOP):`` from the token
        after 'for': the loop's block and the first token of its body."""
        if tok.kind == KEYWORD and tok.text != "in":
            raise self.reserved(tok)
        if tok.kind != NAME:
            raise self.error(f"expected a loop variable name after 'for', got {_describe(tok)}",
                             tok)
        target = Name(tok.text, tok.line, tok.col)
        in_tok = self.next()
        if not (in_tok.kind == KEYWORD and in_tok.text == "in"):
            raise self.error(f"expected 'in' after the loop variable, got {_describe(in_tok)}",
                             in_tok)
        first = self.next()
        if not (first.kind == NAME and first.text == "range"):
            raise self.error(_RANGE_EXPECTED, first)
        expr, end = self.expression(first, header=True)
        start, stop = self.range_bounds(expr, first)
        if end.text != ":":
            raise self.error("expected ':' after 'range(...)'", end)
        return self.open_block("for", for_tok, (target, start, stop))

    def range_bounds(self, expr: Expr, first: Token) -> tuple[Expr | None, Expr]:
        """START (None if absent) and STOP of the expression `expr` that began at `first`,
        which must be ``range(STOP)`` or ``range(START, STOP)`` and nothing more."""
        call = expr[-1]
        if call.kind != "call" or call.text != "range" or (call.line, call.col) != (first.line,
                                                                                 first.col):
            raise self.error(_RANGE_EXPECTED, first)
        if call.nargs not in (1, 2):
            raise self.error("range takes 1 or 2 arguments (a step is not supported)", call)
        bounds = _arguments(expr, call.nargs)
        for bound in bounds:
            if bound[-1].kind == "keyword":
                raise self.error("range takes no keyword arguments", bound[-1])
        return (None, *bounds) if call.nargs == 1 else bounds

    def if_header(self, keyword: Token, first: Token,
                  branches: list | None = None) -> tuple[_Block, Token]:
        """``if TEST:`` (or ``elif TEST:``, with the `branches` of its chain so far) from the
        first token of TEST: the branch's block and the first token of its body."""
        expr, end = self.expression(first, header=True)
        if end.text in _ASSIGNMENTS:
            raise self.error(f"unexpected '{end.text}'" + self.compare_hint(end), end)
        if end.text != ":":
            raise self.error(f"expected ':' after the '{keyword.text}' condition", end)
        return self.open_block("if", keyword, expr, [] if branches is None else branches)

    def else_header(self, keyword: Token, branches: list) -> tuple[_Block, Token]:
        """``else:``: its block and the first token of its body."""
        colon = self.next()
        if colon.kind == KEYWORD and colon.text == "if":
            raise self.error("expected ':' after 'else' (write 'elif' for 'else if')", colon)
        if colon.text != ":":
            raise self.error("expected ':' after 'else'", colon)
        return self.open_block("else", keyword, (), branches)

    def assignment(self, target: Token, operator: Token) -> Assign:
        expr = self.line_expression(self.next())
        op = _ASSIGNMENTS[operator.text]
        if op is not None:  # a += b is a = a + (b)
            expr = (Item("name", target.text, target.line, target.col), *expr,
                    Item("binary", op, operator.line, operator.col))
        return Assign(Name(target.text, target.line, target.col), expr)

    def line_expression(self, first: Token) -> Expr:
        expr, end = self.expression(first)
        if end.kind != NEWLINE:
            raise self.error(f"unexpected {_describe(end)}" + self.compare_hint(end), end)
        return expr


class _Expression(_Reader):
    """One expression, by operator precedence: an output list of postfix items and a stack of
    pending operators and open groups (shunting-yard)."""

    def __init__(self, source: Source, tokens: Iterator[Token], header: bool = False) -> None:
        super().__init__(source, tokens)
        self.out: list[Item] = []
        self.ops: list[tuple[int, Item, Token] | _Group] = []
        self.start: Token | None = None
        self.header = header  # a ':' outside brackets ends the expression

    def parse(self, first: Token) -> tuple[Expr, Token]:
        """Parse the expression starting at `first`: its postfix items and the token after it.

        The loop alternates between wanting an operand and wanting an operator. The frequent
        tokens (names, numbers, infix operators, parentheses) are handled inline, as this loop
        runs once per token of the file; everything else goes to a method. A postfix '.T' or
        '[...]' comes where an operator is wanted, and applies to the operand just completed.
        """
        out, ops = self.out, self.ops
        self.start = first
        want_operand = True
        after_name = False  # a '(' now opens a call
        last_start = first  # where the last complete operand began, for 'missing operator'
        new = tuple.__new__  # Item(...) without the call through its Python-level __new__
        for tok in chain((first,), self.tokens):
            kind, text, line, col, _ = tok
            if want_operand:
                if kind == NAME:
                    out.append(new(Item, ("name", text, line, col, 0.0, 0)))
                    want_operand, after_name, last_start = False, True, tok
                elif kind == NUM:
                    out.append(new(Item, ("num", text, line, col, self.number(tok), 0)))
                    want_operand, after_name, last_start = False, False, tok
                elif text == "(":
                    ops.append(_Group(_GROUP, "(", tok, tok))
                elif text == "-":
                    ops.append((_UNARY, new(Item, ("unary", "-", line, col, 0.0, 0)), tok))
                else:
                    begun = self.other_operand(tok)
                    if begun is not None:
                        want_operand, after_name, last_start = False, False, begun
            else:
                rule = _BINARY.get(text)
                if rule is not None:
                    prec, floor, op = rule
                    while ops and ops[-1][0] >= floor:
                        out.append(ops.pop()[1])
                    if prec == _CMP and ops and ops[-1][0] == _CMP:
                        raise self.chained_comparison(tok)
                    ops.append((prec, new(Item, ("binary", op, line, col, 0.0, 0)), tok))
                    want_operand = True
                elif text == ")" or text == "]":
                    last_start, after_name = self.close_group(tok), False
                elif text == "(" and after_name:
                    self.open_call(last_start, tok)
                    want_operand = True
                elif kind in _LINE_ENDS or text in _ASSIGNMENTS:
                    if text != "=" or not self.keyword(tok, after_name):
                        return self.finish(tok)
                    want_operand = True
                else:
                    want_operand = self.other_operator(tok, last_start)
                    if want_operand is None:
                        return self.finish(tok)
                    after_name = False
        raise AssertionError("the token stream ends with END")

    def number(self, tok: Token) -> float:
        value = float(tok.text)  # the lexer let through only decimal literals
        if value == math.inf:
            raise self.error(f"number '{tok.text}' is too large", tok)
        return value

    def pop_operators(self, floor: int) -> None:
        """Move stacked operators of at least precedence `floor` to the output."""
        ops, out = self.ops, self.out
        while ops and ops[-1][0] >= floor:
            out.append(ops.pop()[1])

    def innermost_group(self) -> _Group | None:
        """After `pop_operators`: the open group on top of the stack, if any."""
        return self.ops[-1] if self.ops else None

    def outside_brackets(self) -> bool:
        """Whether no bracket (nor an 'if' awaiting its 'else') is open."""
        self.pop_operators(_COND)
        return self.innermost_group() is None

    def finish(self, end: Token) -> tuple[Expr, Token]:
        self.pop_operators(_COND)
        group = self.innermost_group()
        if group is not None:
            raise self.unclosed(group, end)
        return tuple(self.out), end

    def other_operand(self, tok: Token) -> Token | None:
        """A rarer token where an operand is wanted; returns its start if it completed one."""
        text = tok.text
        if tok.kind == KEYWORD and text == "pi":
            self.out.append(Item("const", "pi", tok.line, tok.col))
            return tok
        if tok.kind == KEYWORD and text == "not":
            self.push_not(tok)
            return None
        if text == "+":  # unary plus leaves no trace
            return None
        if text in _AFTER_EMPTY_ELEMENT:
            group = self.group_with_empty_element(tok)
            if group is not None:
                return self.empty_element(group, tok)
        if text == "[":
            raise self.error("list literals are not supported", tok)
        raise self.error(self.expected_expression(tok), tok)

    def push_not(self, tok: Token) -> None:
        ops = self.ops
        if ops and ops[-1][0] > _NOT:  # Python's grammar: 'not' binds looser than these
            op = ops[-1][2].text
            raise self.error(f"'not' after '{op}' needs parentheses: write '{op} (not ...)'",
                             tok)
        ops.append((_NOT, Item("unary", "not", tok.line, tok.col), tok))

    def group_with_empty_element(self, tok: Token) -> _Group | None:
        """The bracket on top of the stack if nothing but white space (and comments) stands
        between its '(' or '[', ',' or ':' and `tok`: its current element is empty."""
        group = self.ops[-1] if self.ops else None
        if not isinstance(group, _Group) or group.kind == "if":
            return None
        if self.quote(token_end(self.source, group.tok), tok.pos):  # a unary '+' (no item)
            return None
        return group

    def empty_element(self, group: _Group, tok: Token) -> Token | None:
        """An empty element before `tok`: ``f()``, ``()``, ``(a,)``, ``x[a,]``, or a slice's
        omitted part (``x[:]``, ``x[1:, 0]``); returns where the operand began if `tok` closed
        one, else None."""
        text = tok.text
        if text == ")" or (text == "]" and (group.commas or group.colons or group.kind != "[")):
            return self.close_group(tok, empty=True)
        if group.kind == "[" and (text == ":" or (text == "," and group.colons)):
            if text == ":":
                self.colon(tok, empty=True)
            else:
                self.comma(tok, empty=True)
            return None
        what = "an index" if group.kind == "[" else "an expression"
        raise self.error(f"expected {what}, got {_describe(tok)}", tok)

    def expected_expression(self, tok: Token) -> str:
        if tok.kind == KEYWORD and tok.text in _RESERVED_AS_NAMES:
            return f"'{tok.text}' is a reserved word"
        if tok.kind == NEWLINE:
            following = self.next()
            while following.kind == DEDENT:
                following = self.next()
            if following.kind != END:
                return "expected an expression, got end of line" + _CONTINUATION_HINT
            return "expected an expression, got end of input"
        return f"expected an expression, got {_describe(tok)}"

    def other_operator(self, tok: Token, last_start: Token) -> bool | None:
        """A rarer token where an operator is wanted: '.T', '[', ',', ':', 'if', 'else', or an
        error. Returns whether an operand is wanted next, or None if `tok` is the ':' that
        ends a header's expression."""
        text = tok.text
        if text == ".":
            self.transpose(tok)
            return False
        if text == "[":
            self.open_index(last_start, tok)
        elif text == ",":
            self.comma(tok)
        elif text == ":":
            if self.header and self.outside_brackets():
                return None
            self.colon(tok)
        elif tok.kind == KEYWORD and text == "if":
            self.open_conditional(tok)
        elif tok.kind == KEYWORD and text == "else":
            self.close_condition(tok)
        elif tok.kind == NAME or text == "(" or (tok.kind == KEYWORD and text == "pi"):
            raise self.missing_operator(last_start, tok)
        else:
            raise self.error(f"expected an operator or end of expression, got {_describe(tok)}",
                             tok)
        return True

    def open_call(self, name: Token, opened: Token) -> None:
        self.out.pop()  # the name was output as a variable before its '(' showed up
        self.ops.append(_Group(_GROUP, "call", opened, opened, name, 0, len(self.out)))

    def transpose(self, dot: Token) -> None:
        """'.T' after an operand: its transpose, output at once (nothing binds tighter)."""
        name = self.next()
        if name.kind not in (NAME, KEYWORD):
            raise self.error("expected an attribute name after '.'", name)
        if name.text != "T":
            raise self.error(f"'.{name.text}' is not supported: the only attribute is '.T' "
                             "(transpose)", dot)
        self.out.append(Item("call", "transpose", dot.line, dot.col, 0.0, 1))

    def open_index(self, start: Token, opened: Token) -> None:
        """'[' after the operand that began at `start`: a subscript."""
        last = self.out[-1]
        if last.kind in ("num", "const") and (last.line, last.col) == (start.line, start.col):
            raise self.error(f"a number cannot be indexed: '{start.text}[...]'", opened)
        self.ops.append(_Group(_GROUP, "[", opened, opened, start))

    def keyword(self, tok: Token, after_name: bool) -> bool:
        """'=' inside a call: ``NAME = value`` is a keyword argument, whose item waits on the
        stack for the value. False if no bracket is open (the '=' then ends the expression)."""
        self.pop_operators(_COND)
        group = self.innermost_group()
        if group is None:
            return False
        if group.kind != "call":
            raise self.unclosed(group, tok)
        out = self.out
        if not after_name or len(out) != group.arg_start + 1:
            raise self.error("expected a keyword name before '='", tok)
        name = out.pop()
        keywords = group.keywords if group.keywords is not None else set()
        if name.text in keywords:
            raise self.error(f"keyword argument '{name.text}' repeated", name)
        keywords.add(name.text)
        self.ops[-1] = group._replace(keywords=keywords)
        self.ops.append((_COND, name._replace(kind="keyword"), tok))
        return True

    def close_group(self, tok: Token, empty: bool = False) -> Token:
        """A ')' or ']': output the call, tuple or subscript it ends (plain parentheses leave
        no item); returns where the closed operand began. `empty`: after a ',', '(' or ':'."""
        self.pop_operators(_COND)
        group = self.innermost_group()
        if group is None:
            raise self.error(f"unmatched '{tok.text}'", tok)
        if group.kind == "if" or (group.kind == "[") != (tok.text == "]"):
            raise self.unclosed(group, tok)
        self.ops.pop()
        if group.kind == "(" and not group.commas and not empty:
            return group.opened
        self.end_element(group, tok, empty)
        return self.output_group(group, group.commas + (not empty or group.colons > 0))

    def output_group(self, group: _Group, nargs: int) -> Token:
        """The item of a closed call, tuple or subscript of `nargs` elements; returns where its
        operand began (a call's name, a tuple's '(', a subscript's indexed operand)."""
        at = group.name if group.kind == "call" else group.opened
        self.out.append(Item(_GROUP_ITEMS[group.kind], at.text, at.line, at.col, 0.0, nargs))
        return group.name or group.opened

    def comma(self, tok: Token, empty: bool = False) -> None:
        """',' between the elements of a call, a tuple or a subscript."""
        self.pop_operators(_COND)
        group = self.innermost_group()
        if group is None:
            raise self.error("expected an operator or end of expression, got ','", tok)
        if group.kind == "if":
            raise self.unclosed(group, tok)
        self.end_element(group, tok, empty)
        self.ops[-1] = group._replace(tok=tok, commas=group.commas + 1,
                                      arg_start=len(self.out), colons=0, colon=None)

    def colon(self, tok: Token, empty: bool = False) -> None:
        """':' inside '[...]': a part of a slice ends (an omitted one becomes a 'none' item).

        In a header ('if', 'for'), a ':' inside another bracket is taken for the header's own,
        reached before the bracket was closed."""
        self.pop_operators(_COND)
        group = self.innermost_group()
        if group is not None and (group.kind == "if" or (self.header and group.kind != "[")):
            raise self.unclosed(group, tok)
        if group is None or group.kind != "[":
            raise self.error("expected an operator or end of expression, got ':'", tok)
        if group.colons == 2:
            raise self.error("too many ':' in a slice: it is start:stop:step", tok)
        if empty:
            self.out.append(Item("none", "", tok.line, tok.col))
        self.ops[-1] = group._replace(tok=tok, colons=group.colons + 1,
                                      colon=group.colon or tok)

    def end_element(self, group: _Group, tok: Token, empty: bool) -> None:
        """The element of `group` that `tok` ends: a positional argument may not follow a
        keyword one, and a slice gets its omitted parts and its 'slice' item."""
        out = self.out
        if group.keywords and not empty and out[-1].kind != "keyword":
            first = min(out[group.arg_start:], key=lambda item: (item.line, item.col))
            raise self.error("positional argument follows keyword argument", first)
        if group.colons:  # start:stop:step, each part present or 'none'
            out += [Item("none", "", tok.line, tok.col)] * (2 - group.colons + empty)
            out.append(Item("slice", ":", group.colon.line, group.colon.col, 0.0, 3))

    def open_conditional(self, tok: Token) -> None:
        self.pop_operators(_OR)
        group = self.innermost_group()
        if isinstance(group, _Group) and group.kind == "if":
            raise self.error("a conditional expression used as a condition needs parentheses",
                             tok)
        self.ops.append(_Group(_GROUP, "if", tok, tok))

    def close_condition(self, tok: Token) -> None:
        """'else': the condition is complete; the 'if' waits on the stack for the else part."""
        self.pop_operators(_COND)
        group = self.innermost_group()
        if not isinstance(group, _Group) or group.kind != "if":
            raise self.error("'else' without 'if'", tok)
        if_tok = group.opened
        self.ops[-1] = (_COND, Item("cond", "if", if_tok.line, if_tok.col), tok)

    # ---- messages that quote the source ------------------------------------------------------

    def unclosed(self, group: _Group, tok: Token) -> CompileError:
        opened = group.opened
        if group.kind == "if":
            return self.error(f"expected 'else' after the 'if' at {opened.line}:{opened.col}",
                              tok)
        if tok.text == "=":  # in a call it would be a keyword argument
            return self.error("unexpected '=' (use '==' to compare)", tok)
        closing = "]" if group.kind == "[" else ")"
        return self.error(f"expected '{closing}' to close '{opened.text}' opened at "
                          f"{opened.line}:{opened.col}", tok)

    def missing_operator(self, last_start: Token, tok: Token) -> CompileError:
        """``2x``, ``(a+b)(b+1)``: suggest the '*' between the two operands (``lambda x`` is
        more likely Python's lambda than a variable named lambda times x)."""
        left = self.quote(last_start.pos, tok.pos)
        right = self.quote(tok.pos, self.operand_end(tok))
        if left == "lambda" and tok.kind == NAME:
            return self.error("'lambda' expressions are not supported (to multiply a variable "
                              f"named lambda, write 'lambda*{right}')", last_start)
        return self.error(f"missing operator: write '{left}*{right}'", tok)

    def operand_end(self, tok: Token) -> int:
        """Where the operand starting at `tok` ends: a call or '(' runs to its ')'."""
        end = token_end(self.source, tok)
        try:
            if tok.kind == NAME:
                tok = self.next()
            if tok.text != "(":
                return end
            for inner in chain([tok], self.through_matching_paren()):
                if inner.kind != END:
                    end = token_end(self.source, inner)
        except CompileError:  # a bad character further on: quote what came before it
            pass
        return end

    def chained_comparison(self, tok: Token) -> CompileError:
        """``a < b < c``: suggest ``a < b and b < c`` with the source's own operands."""
        ops = self.ops
        first = ops[-1][2]
        start = self.start.pos if len(ops) < 2 else token_end(self.source, ops[-2][2])
        left = self.quote(start, first.pos)
        middle = self.quote(token_end(self.source, first), tok.pos)
        right = self.quote(token_end(self.source, tok), self.comparison_operand_end(tok))
        return self.error(f"comparisons cannot be chained: write "
                          f"'{left} {first.text} {middle} and {middle} {tok.text} {right}'", tok)

    def comparison_operand_end(self, operator: Token) -> int:
        """Where the right operand of a comparison ends: before the next looser operator."""
        end = token_end(self.source, operator)
        depth = 0
        try:
            for tok in self.tokens:
                if tok.kind in _LINE_ENDS or (depth == 0 and tok.text in _ENDS_COMPARISON_OPERAND):
                    break
                depth += (tok.text in ("(", "[")) - (tok.text in (")", "]"))
                end = token_end(self.source, tok)
        except CompileError:
            pass
        return end

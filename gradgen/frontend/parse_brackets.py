"""Parser, brackets (text → syntax): the shunting-yard's operator stack and the groups on it.

An expression's parse keeps its postfix output and a stack of pending operators and open groups.
Brackets: '(a)' only groups; '(a, b)', '(a,)' and '()' are tuples; 'f(a, axis=b)' is a call
whose keyword arguments follow its positional ones; 'x[...]' is a subscript whose elements are
expressions or slices 'start:stop:step' (any part omitted). A conditional's 'if' is a group
too, until its 'else'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import Token, token_end
from gradgen.frontend.parse_precedence import CONDITIONAL, GROUP
from gradgen.frontend.parse_reader import TokenReader, describe
from gradgen.frontend.syntax import Expr, Item

#: The item that closing a group outputs (plain parentheses output none).
_GROUP_ITEMS = {"call": "call", "(": "tuple", "[": "index"}


class Group(NamedTuple):
    """An open '(' (``kind`` "("), call, '[' or 'if' on the operator stack.

    ``tok`` is the token just before the current operand (the '(' or '[', the last ',' or ':',
    the 'if'); ``opened`` is the bracket that the closing one must match (or the 'if');
    ``commas`` counts the elements completed so far. For a call, ``name`` is its name,
    ``arg_start`` is where the output stood when the current argument began and ``keywords``
    holds the names of its keyword arguments so far. For a '[', ``name`` is where the indexed
    operand began, ``colons`` counts the ':' of the current element and ``colon`` is its first.
    """

    level: int
    kind: str
    tok: Token
    opened: Token
    name: Token | None = None
    commas: int = 0
    arg_start: int = 0
    keywords: set[str] | None = None
    colons: int = 0
    colon: Token | None = None


class OperatorStack(TokenReader):
    """One expression being parsed: the postfix items output so far (``out``) and the stack of
    pending operators, each ``(level, item, token)``, and open `Group`s (``ops``)."""

    def __init__(self, source: Source, tokens: Iterator[Token], header: bool = False) -> None:
        super().__init__(source, tokens)
        self.out: list[Item] = []
        self.ops: list[tuple[int, Item, Token] | Group] = []
        self.start: Token | None = None
        self.header = header  # a ':' outside brackets ends the expression

    def pop_operators(self, floor: int) -> None:
        """Move stacked operators of at least precedence `floor` to the output."""
        ops, out = self.ops, self.out
        while ops and ops[-1][0] >= floor:
            out.append(ops.pop()[1])

    def top(self) -> tuple[int, Item, Token] | Group | None:
        return self.ops[-1] if self.ops else None

    def innermost_group(self) -> Group | None:
        """The open group on top of the stack once the operators above it are output."""
        self.pop_operators(CONDITIONAL)
        return self.top()

    def outside_brackets(self) -> bool:
        """Whether no bracket (nor an 'if' awaiting its 'else') is open."""
        return self.innermost_group() is None

    def finish(self, end: Token) -> tuple[Expr, Token]:
        """The expression's items, now that `end` has ended it, and `end`."""
        group = self.innermost_group()
        if group is not None:
            raise self.unclosed_group(group, end)
        return tuple(self.out), end

    def unclosed_group(self, group: Group, tok: Token) -> CompileError:
        """The error for `tok`, met before `group` was closed."""
        opened = group.opened
        if group.kind == "if":
            return self.error(f"expected 'else' after the 'if' at {opened.line}:{opened.col}",
                              tok)
        if tok.text == "=":  # in a call it would be a keyword argument
            return self.error("unexpected '=' (use '==' to compare)", tok)
        return self.unclosed(opened, tok)

    def expected_operator(self, tok: Token) -> CompileError:
        return self.error(f"expected an operator or end of expression, got {describe(tok)}",
                          tok)


class Brackets(OperatorStack):
    """Opening and closing groups, and the ',', ':' and keyword '=' inside them."""

    def open_call(self, name: Token, opened: Token) -> None:
        self.out.pop()  # the name was output as a variable before its '(' showed up
        self.ops.append(Group(GROUP, "call", opened, opened, name, 0, len(self.out)))

    def open_index(self, start: Token, opened: Token) -> None:
        """'[' after the operand that began at `start`: a subscript."""
        last = self.out[-1]
        if last.kind in ("num", "const") and (last.line, last.col) == (start.line, start.col):
            raise self.error(f"a number cannot be indexed: '{start.text}[...]'", opened)
        self.ops.append(Group(GROUP, "[", opened, opened, start))

    def close_group(self, tok: Token, empty: bool = False) -> Token:
        """A ')' or ']': output the call, tuple or subscript it ends (plain parentheses leave
        no item); returns where the closed operand began. `empty`: after a ',', '(' or ':'."""
        group = self.closed_group(tok)
        self.ops.pop()
        if group.kind == "(" and not group.commas and not empty:
            return group.opened
        self.end_element(group, tok, empty)
        return self.output_group(group, group.commas + (not empty or group.colons > 0))

    def closed_group(self, tok: Token) -> Group:
        """The open group that the ')' or ']' `tok` closes."""
        group = self.innermost_group()
        if group is None:
            raise self.error(f"unmatched '{tok.text}'", tok)
        if group.kind == "if" or (group.kind == "[") != (tok.text == "]"):
            raise self.unclosed_group(group, tok)
        return group

    def output_group(self, group: Group, nargs: int) -> Token:
        """The item of a closed call, tuple or subscript of `nargs` elements; returns where its
        operand began (a call's name, a tuple's '(', a subscript's indexed operand)."""
        at = group.name if group.kind == "call" else group.opened
        self.out.append(Item(_GROUP_ITEMS[group.kind], at.text, at.line, at.col, 0.0, nargs))
        return group.name or group.opened

    # ---- inside a group ------------------------------------------------------------------

    def comma(self, tok: Token, empty: bool = False) -> None:
        """',' between the elements of a call, a tuple or a subscript."""
        group = self.enclosing_group(tok)
        self.end_element(group, tok, empty)
        self.ops[-1] = group._replace(tok=tok, commas=group.commas + 1,
                                      arg_start=len(self.out), colons=0, colon=None)

    def colon(self, tok: Token, empty: bool = False) -> None:
        """':' inside '[...]': a part of a slice ends (an omitted one becomes a 'none' item)."""
        group = self.sliced_group(tok)
        if empty:
            self.out.append(Item("none", "", tok.line, tok.col))
        self.ops[-1] = group._replace(tok=tok, colons=group.colons + 1,
                                      colon=group.colon or tok)

    def enclosing_group(self, tok: Token) -> Group:
        """The bracket in which the ',' or ':' `tok` stands."""
        group = self.innermost_group()
        if group is None:
            raise self.expected_operator(tok)
        if group.kind == "if":
            raise self.unclosed_group(group, tok)
        return group

    def sliced_group(self, tok: Token) -> Group:
        """The '[' in which the ':' `tok` stands. In a header ('if', 'for'), a ':' inside
        another bracket is taken for the header's own, reached before the bracket was closed."""
        group = self.enclosing_group(tok)
        if group.kind != "[":
            raise self.unclosed_group(group, tok) if self.header else self.expected_operator(tok)
        if group.colons == 2:
            raise self.error("too many ':' in a slice: it is start:stop:step", tok)
        return group

    def end_element(self, group: Group, tok: Token, empty: bool) -> None:
        """The element of `group` that `tok` ends: a positional argument may not follow a
        keyword one, and a slice gets its omitted parts and its 'slice' item."""
        if group.keywords and not empty and self.out[-1].kind != "keyword":
            first = min(self.out[group.arg_start:], key=lambda item: (item.line, item.col))
            raise self.error("positional argument follows keyword argument", first)
        if group.colons:
            self.end_slice(group, tok, empty)

    def end_slice(self, group: Group, tok: Token, empty: bool) -> None:
        """start:stop:step, each part present or 'none', then the 'slice' item."""
        self.out += [Item("none", "", tok.line, tok.col)] * (2 - group.colons + empty)
        self.out.append(Item("slice", ":", group.colon.line, group.colon.col, 0.0, 3))

    def keyword(self, tok: Token, after_name: bool) -> bool:
        """'=' inside a call: ``NAME = value`` is a keyword argument. False if no bracket is
        open (the '=' then ends the expression)."""
        group = self.innermost_group()
        if group is None:
            return False
        if group.kind != "call":
            raise self.unclosed_group(group, tok)
        if not after_name or len(self.out) != group.arg_start + 1:
            raise self.error("expected a keyword name before '='", tok)
        self.push_keyword(group, self.out.pop(), tok)
        return True

    def push_keyword(self, group: Group, name: Item, tok: Token) -> None:
        """The keyword argument `name`, noted in its call's `group`: its item waits on the
        stack for the value."""
        keywords = group.keywords if group.keywords is not None else set()
        if name.text in keywords:
            raise self.error(f"keyword argument '{name.text}' repeated", name)
        keywords.add(name.text)
        self.ops[-1] = group._replace(keywords=keywords)
        self.ops.append((CONDITIONAL, name._replace(kind="keyword"), tok))

    # ---- empty elements ------------------------------------------------------------------

    def group_with_empty_element(self, tok: Token) -> Group | None:
        """The bracket on top of the stack if nothing but white space (and comments) stands
        between its '(' or '[', ',' or ':' and `tok`: its current element is empty."""
        group = self.top()
        if not isinstance(group, Group) or group.kind == "if":
            return None
        if self.quote(token_end(self.source, group.tok), tok.pos):  # a unary '+' (no item)
            return None
        return group

    def empty_element(self, group: Group, tok: Token) -> Token | None:
        """An empty element before `tok`: ``f()``, ``()``, ``(a,)``, ``x[a,]``, or a slice's
        omitted part (``x[:]``, ``x[1:, 0]``); returns where the operand began if `tok` closed
        one, else None."""
        text = tok.text
        if text == ")" or (text == "]" and (group.commas or group.colons or group.kind != "[")):
            return self.close_group(tok, empty=True)
        if group.kind == "[" and text == ":":
            self.colon(tok, empty=True)
        elif group.kind == "[" and text == "," and group.colons:
            self.comma(tok, empty=True)
        else:
            raise self.missing_element(group, tok)
        return None

    def missing_element(self, group: Group, tok: Token) -> CompileError:
        """The error for `tok` where an element of `group` was wanted."""
        what = "an index" if group.kind == "[" else "an expression"
        return self.error(f"expected {what}, got {describe(tok)}", tok)

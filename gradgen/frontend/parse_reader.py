"""Parser, its token stream (text → syntax): the `TokenReader` that all parts of the parser use.

It reads tokens for the parsers of forms, statements and expressions and makes their errors;
the functions here say how messages name tokens and quote the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import DEDENT, END, INDENT, KEYWORD, NAME, NEWLINE, Token
from gradgen.frontend.syntax import Item, Name

#: Assignment operator → the binary operator that it applies (None for a plain '=').
ASSIGNMENTS = {"=": None, "+=": "+", "-=": "-", "*=": "*", "/=": "/", "@=": "@"}
#: The tokens that end a line, and so an expression outside brackets.
LINE_ENDS = (NEWLINE, END, DEDENT, INDENT)
CONTINUATION_HINT = " (an expression continues onto another line only inside parentheses)"
#: How a token changes the depth of brackets.
BRACKET_DEPTH = {"(": 1, "[": 1, ")": -1, "]": -1}
_PARENTHESES = {"(": 1, ")": -1}
_DESCRIPTIONS = {NEWLINE: "end of line", END: "end of input", INDENT: "an indented line",
                 DEDENT: "the end of an indented block"}


def is_keyword(tok: Token, word: str) -> bool:
    return tok.kind == KEYWORD and tok.text == word


def describe(tok: Token) -> str:
    """How a token is named in a message: ``'x'``, ``end of line``, ``end of input``..."""
    return _DESCRIPTIONS.get(tok.kind) or f"'{tok.text}'"


def compare_hint(tok: Token) -> str:
    """What to add to a message about an unexpected '=': the '==' that was likely meant."""
    return " (use '==' to compare)" if tok.text == "=" else ""


def quotable(text: str, limit: int = 60) -> str:
    """Source text for a message: comments dropped, white space squeezed, the middle of a long
    text elided."""
    words = " ".join(re.sub(r"#[^\n\r]*", "", text).split())
    return words if len(words) <= limit else f"{words[:limit - 20]}...{words[-17:]}"


class TokenReader:
    """A token stream with its source, shared by the parsers of statements and expressions."""

    def __init__(self, source: Source, tokens: Iterator[Token]) -> None:
        self.source = source
        self.tokens = tokens

    def error(self, message: str, tok: Token | Item) -> CompileError:
        return CompileError(message, self.source, tok.line, tok.col)

    def reserved(self, tok: Token) -> CompileError:
        return self.error(f"'{tok.text}' is a reserved word", tok)

    def unclosed(self, opened: Token, tok: Token) -> CompileError:
        """The error for `tok`, met before the bracket `opened` was closed."""
        closing = "]" if opened.text == "[" else ")"
        return self.error(f"expected '{closing}' to close '{opened.text}' opened at "
                          f"{opened.line}:{opened.col}", tok)

    def next(self) -> Token:
        return next(self.tokens)

    def skip(self, tok: Token, kinds: tuple[str, ...]) -> Token:
        """`tok`, or the first token after it that is none of `kinds`."""
        while tok.kind in kinds:
            tok = self.next()
        return tok

    def require(self, tok: Token, text: str, message: str) -> Token:
        """`tok`, which must be `text`; else the error `message`."""
        if tok.text != text:
            raise self.error(message, tok)
        return tok

    def name(self, tok: Token, expected: str) -> Name:
        """`tok` as a `Name`; a reserved word, or any other token, is an error."""
        if tok.kind == KEYWORD:
            raise self.reserved(tok)
        if tok.kind != NAME:
            raise self.error(f"expected {expected}, got {describe(tok)}", tok)
        return Name(tok.text, tok.line, tok.col)

    def quote(self, start: int, end: int) -> str:
        """The source between offsets `start` and `end`, as a message quotes it."""
        return quotable(self.source.text[start:end])

    def through_matching_paren(self) -> list[Token]:
        """Tokens after an opening '(' up to its ')' (or up to END if it is never closed)."""
        seen: list[Token] = []
        depth = 1
        while depth and not (seen and seen[-1].kind == END):
            seen.append(self.next())
            depth += _PARENTHESES.get(seen[-1].text, 0)
        return seen

"""Lexer, the first half of the front end (text → syntax.Function): source text → `Token`s.

Tokens carry a 1-based line and column and their offset in the text. As in Python, newlines and
indentation inside parentheses and square brackets are ignored; outside them every logical line
ends with a NEWLINE token, a deeper indentation starts with INDENT and each level left ends with
DEDENT, so that the parser sees the block structure of a program. The stream ends with END
(repeated if read again).

Each line is cut into pieces by one compiled regular expression (``findall``, no match objects)
and a piece's kind is looked up by its first character, so the Python-level work per token is a
handful of comparisons and a file of millions of tokens is read in about a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from gradgen.errors import CompileError, Source

NUM = "num"
NAME = "name"
KEYWORD = "keyword"
OP = "op"
NEWLINE = "newline"
INDENT = "indent"
DEDENT = "dedent"
END = "end"

#: The language's own words; anything else that looks like a name is a name.
KEYWORDS = frozenset({"def", "return", "if", "elif", "else", "for", "in", "and", "or", "not",
                      "pi"})

# The line breaks of `str.splitlines`, so that line numbers agree with `Source.line`.
_LINE_BREAKS = r"\n\r\v\f\x1c-\x1e\x85\u2028\u2029"
# A name is ASCII letters, digits and '_' plus any non-ASCII character except line breaks; the
# non-ASCII part is checked with `str.isidentifier`, so that a stray '×' or '²' is reported by
# name ("invalid character"), the way Python does, instead of splitting the name.
_NAME_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f\x85\u2028\u2029]"
_NAME_REST = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\x85\u2028\u2029]"
# A number may not run on into digits, '.', 'e' or '_': '1.2.3' and '1e' are malformed, while
# '2x' is the number 2 followed by the name x (which the parser reports as a missing '*').
_NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![0-9._eE])"
_MALFORMED_NUMBER = r"(?:[0-9]|\.[0-9])(?:[eE][+-][0-9]|[\w.])*"

# One piece of a line: white space, a name, an operator, a number, the line break, a comment,
# a malformed number or any other single character (a lone '.' among them, so that '.5' stays a
# number). The pieces cover the line exactly, so a piece's column is the sum of the lengths
# before it, and its kind is told by its first character.
_PIECE = re.compile(
    rf"[ \t]+|{_NAME_START}{_NAME_REST}*|\*\*|[<>=!+\-*/@]=|[-+*/@^()\[\]<>,=:]|{_NUMBER}"
    rf"|\r\n|[{_LINE_BREAKS}]|#[^{_LINE_BREAKS}]*|{_MALFORMED_NUMBER}|.",
    re.DOTALL,
)
_VALID_NUMBER = re.compile(_NUMBER)

SKIP = "skip"  # white space, comments and line breaks
BAD = "bad"
_KIND_OF_FIRST_CHARACTER = {
    **{chr(code): BAD for code in range(128)},
    **dict.fromkeys(" \t#\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029", SKIP),
    **dict.fromkeys("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", NAME),
    **dict.fromkeys("0123456789.", NUM),  # a lone '.' is told apart when it fails as a number
    **dict.fromkeys("+-*/@^()[]<>=,:!", OP),
}  # any other character outside ASCII starts a name

_OPENING = frozenset("([")
_CLOSING = frozenset(")]")
_BAD_CHARACTER_MESSAGES = {
    ";": "unexpected character ';': write one statement per line",
    "{": "unexpected character '{': braces are not part of the language",
}


class Token(NamedTuple):
    """One token: ``kind`` is one of the constants above; ``pos`` is its offset in the text."""

    kind: str
    text: str
    line: int
    col: int
    pos: int


def tokenize(source: Source) -> Iterator[Token]:
    """The tokens of `source`, ending with END; raises `CompileError` on a bad character."""
    text = source.text
    offset = 1 if text.startswith("\ufeff") else 0  # a byte-order mark is not content
    lines = _Lines(source, offset)
    # splitlines breaks lines where `Source.line` does, so the line numbers agree.
    for line, physical in enumerate(text[offset:].splitlines(keepends=True), 1):
        yield from lines.tokens(line, physical, offset)
        offset += len(physical)
    yield from lines.closing()


class _Lines:
    """What the lexer carries from one physical line to the next."""

    def __init__(self, source: Source, offset: int) -> None:
        self.source = source
        self.depth = 0  # open brackets: inside them a line break is only white space
        self.fresh = True  # no token yet on this logical line
        self.indents: list[str] = []
        self.end = (1, 1, offset)  # the line, column and line offset just after the last token

    def tokens(self, line: int, physical: str, offset: int) -> Iterator[Token]:
        """The tokens of one physical line, which starts at `offset` in the text, then NEWLINE
        if it ends a logical line."""
        source, depth, fresh = self.source, self.depth, self.fresh
        new = tuple.__new__  # Token(...) without the call through its Python-level __new__
        kind_of = _KIND_OF_FIRST_CHARACTER.get
        col, last = 1, None
        for word in _PIECE.findall(physical):
            kind = kind_of(word[0], NAME)
            start = col
            col += len(word)
            if kind == SKIP:
                continue
            if fresh:
                yield from self.indentation(physical[: start - 1], line, start, offset)
                fresh = False
            if kind == NAME:
                if not word.isascii():
                    word = _unicode_name(word, line, start, source)
                if word in KEYWORDS:
                    kind = KEYWORD
            elif kind == OP:
                if word in _OPENING:
                    depth += 1
                elif word in _CLOSING and depth:  # an unmatched ')' or ']' is the parser's
                    depth -= 1
                elif word == "!":
                    _reject(word, line, start, source)
            elif kind == BAD or not _VALID_NUMBER.fullmatch(word):
                if word != ".":  # a lone '.' is an operator: the parser reads '.T' after it
                    _reject(word, line, start, source)
                kind = OP
            yield new(Token, (kind, word, line, start, offset + start - 1))
            last = col
        yield from self.line_end(line, offset, last, depth, fresh)

    def indentation(self, indent: str, line: int, col: int, offset: int) -> list[Token]:
        """INDENT or DEDENTs for a logical line starting with `indent`, its first token at `col`
        (the first line sets the margin)."""
        indents = self.indents
        if not indents:
            indents.append(indent)
            return []
        if indent == indents[-1]:
            return []
        if indent.startswith(indents[-1]):
            indents.append(indent)
            return [Token(INDENT, indent, line, col, offset + col - 1)]
        if indent not in indents:
            raise CompileError(_unindent_mismatch(indent, indents[-1]), self.source, line, col)
        return _dedents(indents, indent, Token(DEDENT, "", line, col, offset + col - 1))

    def line_end(self, line: int, offset: int, last: int | None, depth: int,
                 fresh: bool) -> Iterator[Token]:
        """NEWLINE if a logical line ends here, outside brackets; `last`: the column after the
        line's last token (None if it has none)."""
        if last is not None:
            self.end = (line, last, offset)
        self.depth, self.fresh = depth, fresh
        if not fresh and depth == 0:
            end_col = self.end[1]
            yield Token(NEWLINE, "", line, end_col, offset + end_col - 1)
            self.fresh = True

    def closing(self) -> Iterator[Token]:
        """DEDENT for each open block, then END for ever, all just after the last token."""
        end_line, end_col, end_offset = self.end
        end = Token(END, "", end_line, end_col, end_offset + end_col - 1)
        return _closing(self.depth > 0, self.indents, end)


def token_end(source: Source, token: Token) -> int:
    """The offset just past `token` in the source (a name's text may have been normalised)."""
    if token.kind in (NEWLINE, INDENT, DEDENT, END):
        return token.pos
    return _PIECE.match(source.text, token.pos).end()


def _closing(paren_open: bool, indents: list[str], end: Token) -> Iterator[Token]:
    """DEDENT for each open block, then END for ever, all just after the last token.

    Inside an open parenthesis no block is closed, so the parser meets END where it expects ')'
    (or ']').
    """
    if not paren_open:
        for _ in indents[1:]:
            yield end._replace(kind=DEDENT)
    while True:
        yield end


def _dedents(indents: list[str], indent: str, dedent: Token) -> list[Token]:
    """A DEDENT for each block left to get back to the enclosing block of `indent`."""
    levels = len(indents) - 1 - indents.index(indent)
    del indents[-levels:]
    return [dedent] * levels


def _unindent_mismatch(indent: str, innermost: str) -> str:
    """The message for an `indent` that is none of the enclosing blocks'."""
    if "\t" in indent or "\t" in innermost:
        return "inconsistent use of tabs and spaces in indentation"
    return "unindent does not match any outer indentation level"


def _unicode_name(word: str, line: int, col: int, source: Source) -> str:
    """A non-ASCII name, NFC-normalised: one spelling for what Unicode deems one character
    (``é`` precomposed or ``e`` and a combining accent). Names that only Python's NFKC folds
    together (``ｘ``, ``𝐱`` and ``x``) stay distinct names; `naming.python_name` keeps them
    apart in the generated code.

    A character no name may hold is an error.
    """
    if not word.isidentifier():
        _reject_name_character(word, line, col, source)
    return unicodedata.normalize("NFC", word)


def _reject_name_character(word: str, line: int, col: int, source: Source) -> None:
    """The error for the first character of `word` that no name may hold there."""
    for index, char in enumerate(word):
        if not (char if index == 0 else "_" + char).isidentifier():
            message = f"invalid character {describe_character(char)}"
            raise CompileError(message, source, line, col + index)


def _reject(word: str, line: int, col: int, source: Source) -> None:
    if len(word) > 1:  # only a number-like piece is longer than its first character
        raise CompileError(f"malformed number '{word}'", source, line, col)
    message = _BAD_CHARACTER_MESSAGES.get(word, f"unexpected character {describe_character(word)}")
    raise CompileError(message, source, line, col)


def describe_character(char: str) -> str:
    """``'$'``, or ``'×' (U+00D7)`` outside ASCII (escaped if invisible); ``"'"`` for a quote."""
    shown = char if char.isprintable() else ascii(char)[1:-1]
    quote = '"' if char == "'" else "'"
    quoted = f"{quote}{shown}{quote}"
    return quoted if char.isascii() else f"{quoted} (U+{ord(char):04X})"

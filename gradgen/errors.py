"""Errors, kept apart by whose fault they are.

`CompileError` is a problem in the user's source file: it carries the file, line and column and
prints as ``FILE:LINE:COL: error: MESSAGE`` followed by the source line (a window around the
column, if the line is long) and a caret, the way compilers do. `InternalError` is a bug in
gradgen itself and is never the user's fault.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A source text and the path it came from, for locating errors."""

    path: str
    text: str

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its newline ('' past the end)."""
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


class CompileError(Exception):
    """A problem in the user's file, located at a 1-based line and column."""

    def __init__(self, message: str, source: Source, line: int, col: int):
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.col = col

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        """``FILE:LINE:COL: error: MESSAGE``, the source line, and a caret under the column."""
        head = f"{self.source.path}:{self.line}:{self.col}: error: {self.message}"
        text = self.source.line(self.line).expandtabs(1)
        if not text.strip():
            return head
        shown, caret = excerpt(text, self.col)
        return f"{head}\n    {shown}\n    {' ' * caret}^"


#: The most characters of a source line an error shows: a longer line is shown as a window
#: around the column, ``...`` marking what is left out.
EXCERPT_WIDTH = 100
_MORE = "..."


def excerpt(text: str, col: int) -> tuple[str, int]:
    """At most `EXCERPT_WIDTH` characters of ``text`` around 1-based column ``col`` (with
    ``...`` where the line goes on), and the caret's offset under the column."""
    if len(text) <= EXCERPT_WIDTH:
        return text, col - 1
    start = max(0, min(col - 1 - EXCERPT_WIDTH // 2, len(text) - EXCERPT_WIDTH))
    end = start + EXCERPT_WIDTH
    before = _MORE if start else ""
    shown = before + text[start:end] + (_MORE if end < len(text) else "")
    return shown, len(before) + col - 1 - start


class LimitError(Exception):
    """A request declined for this input because it would pass a limit (SymPy's recursion
    depth, an expression swelling past what can be printed); the file itself is fine."""


class InternalError(Exception):
    """A bug in gradgen: an invariant of the IR or of a pass does not hold."""

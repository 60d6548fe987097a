"""Emission: one line of generated code (`Line`), and the small texts every part prints.

Part of emission (`emit`): a `Line` is ``target = expr`` or a bare ``expr`` at an indentation
depth; a call too long for its line goes on with its arguments aligned under the first. Tuples
and calls of the module's own functions are printed here too, so that every part wraps alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LINE_WIDTH = 92  # generated lines are indented by 4 and kept within 96 where gradgen decides


@dataclass(frozen=True)
class Line:
    """One line of generated code: ``target = expr`` or a bare ``expr`` (a ``for`` header, a
    tape write), at an indentation depth inside the function."""

    target: str | None
    expr: str
    comment: str | None = None
    depth: int = 0

    def code(self, width: int) -> str:
        """``target = expr`` (or ``expr``), within ``width`` columns where it is a call."""
        head = f"{self.target} = " if self.target else ""
        parts = None if len(head) + len(self.expr) <= width else _call_parts(self.expr)
        return head + self.expr if parts is None else self._wrapped(head, *parts, width)

    def _wrapped(self, head: str, function: str, args: list[str], width: int) -> str:
        """A call too long for its line, on as many as it needs (`aligned`) at this depth."""
        lines = aligned(f"{head}{function}(", args, width)
        return f"\n{'    ' * (self.depth + 1)}".join(line.rstrip() for line in lines)


Unit = list[Line]  # the lines of one edge


def aligned(opening: str, args: list[str], width: int, separator: str = ",") -> list[str]:
    """``opening`` and the call's arguments, as many to a line as fit, each line after the
    first starting under the first argument (``separator``: `` and`` for a condition)."""
    lines = [opening]
    for k, arg in enumerate(args):
        text = arg + (separator if k < len(args) - 1 else ")")
        if len(lines[-1]) + len(text) + 1 > width and lines[-1] != opening:
            lines.append(" " * (len(opening) - 1))
        lines[-1] += ("" if lines[-1] == opening else " ") + text
    return lines


def _call_parts(expr: str) -> tuple[str, list[str]] | None:
    """``f(a, g(b, c))`` as ``("f", ["a", "g(b, c)"])``; None if ``expr`` is not one call."""
    opened = expr.find("(")
    if opened <= 0 or not expr.endswith(")") or not expr[:opened].replace(".", "_").isidentifier():
        return None
    args = _arguments(expr, opened)
    return None if args is None else (expr[:opened], args)


def _arguments(expr: str, opened: int) -> list[str] | None:
    """The arguments of the call that opens at ``opened``; None if its parenthesis closes
    before the end (``f(a) + g(b)`` is not one call)."""
    args, depth, start = [], 0, opened + 1
    for position, char in enumerate(expr[opened:-1], opened):
        depth += (char in "([{") - (char in ")]}")
        if depth == 0:
            return None
        if depth == 1 and char == ",":
            args.append(expr[start:position].strip())
            start = position + 1
    return [*args, expr[start:-1].strip()]


def assignments(pairs: list[tuple[str, str]], depth: int) -> Unit:
    """``target = value`` lines for the pairs whose names differ, or one tuple assignment where
    a line would overwrite a name that a later one reads (a swap: ``x, a = a, x``)."""
    pairs = [(target, value) for target, value in pairs if target != value]
    if _clobbers(pairs):  # the values are names or constants, read before any target is set
        targets, values = zip(*pairs)
        return [Line(", ".join(targets), ", ".join(values), None, depth)]
    return [Line(target, value, None, depth) for target, value in pairs]


def _clobbers(pairs: list[tuple[str, str]]) -> bool:
    """Whether one of the assignments, made in order, overwrites a name a later one reads."""
    read_later: set[str] = set()
    for target, value in reversed(pairs):
        if target in read_later:
            return True
        read_later.add(value)
    return False


def call_text(head: str, args: list[str]) -> str:
    """``head(a, b)`` on one line, or with one argument per continuation line if too long (in
    a function's body, indented by four columns)."""
    line = f"{head}({', '.join(args)})"
    if len(line) <= LINE_WIDTH:
        return line
    return f"{head}(\n        " + ",\n        ".join(args) + ")"


def tuple_text(items: Iterable[str]) -> str:
    """Python tuple syntax for ``items``: ``(a, b)``, ``(a,)``, ``()``."""
    items = list(items)
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"


def wrapped_tuple(items: list[str], column: int, after: int = 0) -> str:
    """``(a, b, c)`` starting at ``column`` (``after`` columns of text follow it): on one line
    where it fits, else as many items to a line as fit, each line after the first under the
    first item."""
    text = tuple_text(items)
    width = LINE_WIDTH + 4 - column - after
    if len(text) <= width or len(items) < 2:
        return text
    return f"\n{' ' * column}".join(aligned("(", items, width))


def returned_tuple(value: str, items: list[str]) -> str:
    """The partials of ``return value, (a, b)`` as a tuple wrapped after ``value``."""
    return wrapped_tuple(items, len(f"    return {value}, "))


def tuple_literal(items: Iterable[object]) -> str:
    """A tuple of ``items`` written as Python literals: ``('x', 'y')``."""
    return tuple_text(repr(item) for item in items)


def source_lines(line: Line) -> list[str]:
    """``line`` in a function's body: indented, under its comment, wrapped within the width."""
    indent = "    " * (line.depth + 1)
    code = indent + line.code(LINE_WIDTH + 4 - len(indent))
    return [f"{indent}# {line.comment}", code] if line.comment else [code]

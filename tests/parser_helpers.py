"""What the parser tests share: postfix items as text, a located error, a shallow stack."""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Iterator

import pytest

from gradgen.errors import CompileError
from gradgen.frontend.parser import parse
from gradgen.frontend.syntax import Item


def render(expr: tuple[Item, ...] | None) -> str | None:
    """Postfix items as text: ``x 2 ^ y +``, ``X 1 axis= sum/2``, ``x 1 none none slice
    index/1``; a call is ``sin/1``, a unary minus ``neg``, a conditional ``?:``, a tuple
    ``tuple/2``."""
    if expr is None:
        return None
    words = []
    for item in expr:
        if item.kind in ("call", "index", "tuple"):
            words.append(f"{item.text if item.kind == 'call' else item.kind}/{item.nargs}")
        elif item.kind == "unary" and item.text == "-":
            words.append("neg")
        elif item.kind == "cond":
            words.append("?:")
        elif item.kind in ("slice", "none"):
            words.append(item.kind)
        elif item.kind == "keyword":
            words.append(f"{item.text}=")
        else:
            words.append(item.text)
    return " ".join(words)


def error(text: str, entry: str | None = None) -> tuple[int, int, str]:
    """(line, col, message) of the CompileError parsing ``text`` raises."""
    with pytest.raises(CompileError) as info:
        parse(text, "t.txt", entry)
    return info.value.line, info.value.col, info.value.message


@contextlib.contextmanager
def shallow_stack(frames: int) -> Iterator[None]:
    """Allow only `frames` more Python frames than the caller has: proof of no recursion."""
    depth = len(inspect.stack(0))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)

"""Front end, arguments: what the API and the command line hand the front end, made plain.

`read_source` reads a source file as UTF-8 text (bytes that are not UTF-8 are a `CompileError`
at their line and column; a file that cannot be read is an `OSError` saying which and why, in
words). `wrt_names` reads the inputs to differentiate with respect to, a tuple or one string
``"x,y"``. `file_name_hint` adds a hint to the error of a source text that is the name of an
existing file: the text is not read as a file (that would be a guess), but the user is told how.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from gradgen.errors import CompileError, Source

#: The reasons a file cannot be read or written, in words, by ``errno`` (else its strerror).
_REASONS = {errno.ENOENT: "no such file", errno.EISDIR: "it is a folder",
            errno.EACCES: "permission denied", errno.ENOTDIR: "a part of the path is not a folder"}


def read_source(path: Path) -> str:
    """The text of a source file (a UTF-8 byte-order mark dropped)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise cannot("read", path, error) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(path, data[: error.start].decode("utf-8", "replace")) from None


def cannot(action: str, path: Path, error: OSError) -> OSError:
    """``error``, of the same class, saying ``cannot ACTION PATH: REASON`` in words."""
    reason = _REASONS.get(error.errno) or (error.strerror or str(error)).lower()
    return type(error)(f"cannot {action} {path}: {reason}")


def _not_utf8(path: Path, before: str) -> CompileError:
    """The error at the line and column of bytes that are not UTF-8, after ``before``."""
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return CompileError("the file is not valid UTF-8 text", Source(str(path), before), line, col)


def wrt_names(wrt: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """The inputs to differentiate with respect to: ``"x,y"`` or ``("x", "y")`` → ``("x",
    "y")`` (None: all of them); a string is split at its commas, never letter by letter."""
    if wrt is None:
        return None
    given = wrt.split(",") if isinstance(wrt, str) else list(wrt)
    if not all(isinstance(name, str) for name in given):
        raise TypeError(f"wrt: expected input names (strings), got {wrt!r}")
    names = tuple(name.strip() for name in given)
    if not all(names):
        raise ValueError(f"expected comma-separated input names, got {wrt!r}")
    return names


def source_text(text: object) -> str:
    """``text``, which must be source text (a file is given as a `pathlib.Path`)."""
    if not isinstance(text, str):
        raise TypeError(f"expected source text (a str) or a pathlib.Path, got "
                        f"{type(text).__name__}")
    return text


def names_a_file(text: str) -> bool:
    """Whether a source text is, as a whole, the name of an existing file."""
    name = text.strip()
    return 0 < len(name) < 4096 and "\n" not in name and os.path.isfile(name)


@contextlib.contextmanager
def file_name_hint(text: str) -> Iterator[None]:
    """Errors in ``text``, which names an existing file, say how to compile that file."""
    try:
        yield
    except CompileError as error:
        name = text.strip()
        hint = (f" (did you mean to read the file {name}? pass pathlib.Path({name!r}), or its "
                "text)")
        raise CompileError(error.message + hint, error.source, error.line, error.col) from None

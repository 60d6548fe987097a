"""Tools: the files the command line reads and writes: a source as UTF-8 text, an output
written atomically.

`read_source` reports bytes that are not UTF-8 as a `CompileError` at their line and column;
`write_output` writes through a temporary file renamed over the target (``-``: standard
output), so that on any error nothing is written and an existing output is left as it was.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from gradgen.errors import CompileError, Source


def read_source(path: Path) -> str:
    """The text of a source file (a UTF-8 byte-order mark dropped)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(path, data[: error.start].decode("utf-8", "replace")) from None


def _not_utf8(path: Path, before: str) -> CompileError:
    """The error at the line and column of bytes that are not UTF-8, after ``before``."""
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return CompileError("the file is not valid UTF-8 text", Source(str(path), before), line, col)


def same_file(source: Path, output: Path) -> bool:
    """Whether writing ``output`` would overwrite ``source``."""
    try:
        return source.resolve() == output.resolve() or output.samefile(source)
    except OSError:
        return False


def write_output(output: str, content: str | bytes) -> None:
    """Write ``content`` to ``output`` atomically (temporary file + rename), or to stdout."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        _write_atomically(Path(output), data)


def _write_atomically(target: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Tools: the files the command line writes: an output written atomically, into a folder
that must exist, never over the input.

`write_output` writes through a temporary file renamed over the target (``-``: standard
output), so that on any error nothing is written and an existing output is left as it was;
`require_folder` says, before any work, that an output's folder does not exist. (Sources are
read by `gradgen.frontend.arguments.read_source`.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def same_file(source: Path, output: Path) -> bool:
    """Whether writing ``output`` would overwrite ``source``."""
    try:
        return source.resolve() == output.resolve() or output.samefile(source)
    except OSError:
        return False


def require_folder(output: str) -> None:
    """Raise `FileNotFoundError` naming the folder of ``output`` if there is no such folder."""
    folder = Path(output).parent
    if output != "-" and not folder.is_dir():
        raise FileNotFoundError(f"cannot write {output}: no such folder {folder}")


def write_output(output: str, content: str | bytes) -> None:
    """Write ``content`` to ``output`` atomically (temporary file + rename), or to stdout."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        require_folder(output)
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

"""Tools: the disk cache of compiled modules, for `gradgen.compile_function` (like numba's
``cache=True``): a second start loads the module written the first time, compiling nothing.

The folder is ``$GRADGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/gradgen``, else
``~/.cache/gradgen``; ``GRADGEN_CACHE=0`` turns the cache off. A module is the file
``<name>.py`` there, its name ``gradgen_<function>_<key>`` with the key a hash of what made it
(the function's source, the options, its file and first line, gradgen's version and the text
of gradgen's own code). It is imported by that name with the
folder on `sys.path` (appended once), so it is in `sys.modules`, tracebacks read its file, and
its functions pickle by reference: in this process, in a forked one, and in a spawned one
(`multiprocessing` hands its children the parent's `sys.path`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import tempfile
import types
from pathlib import Path

from gradgen.version import __version__


def enabled() -> bool:
    """Whether the cache is on (``GRADGEN_CACHE=0`` turns it off)."""
    return os.environ.get("GRADGEN_CACHE", "1") != "0"


def folder() -> Path:
    """The cache's folder (see the module's docstring)."""
    if os.environ.get("GRADGEN_CACHE_DIR"):
        return Path(os.environ["GRADGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gradgen"


def key(source: str, options: dict[str, object], place: tuple[str, int] = ("", 0)) -> str:
    """The first 16 hex digits of the SHA-256 of the source, the options, its ``place`` (file
    and first line: the module's header and kink report name them), gradgen's version and the
    text of gradgen's own code (an edited or upgraded gradgen never loads an old module)."""
    given = json.dumps([source, sorted(options.items()), list(place), __version__,
                        code_fingerprint()], default=repr)
    return hashlib.sha256(given.encode()).hexdigest()[:16]


@functools.cache
def code_fingerprint() -> str:
    """The SHA-256 of gradgen's own source files and templates, in a stable order."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".j2"):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cached(name: str) -> types.ModuleType | None:
    """The cached module ``name``, imported; None where it was never written."""
    if not (folder() / f"{name}.py").is_file():
        return None
    return _imported(name)


def store(name: str, source: str) -> types.ModuleType:
    """Write module ``name`` into the cache (whole, or not at all) and import it."""
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target, suffix=".tmp",
                                     delete=False) as written:
        written.write(source)
    os.replace(written.name, target / f"{name}.py")
    importlib.invalidate_caches()
    return _imported(name)


def _imported(name: str) -> types.ModuleType:
    """Module ``name`` of the cache's folder, imported from its file into `sys.modules` (the
    folder put on `sys.path`, so that another process imports it by name)."""
    path = folder() / f"{name}.py"
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) == str(path):
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

"""Tools: `compile_function`, gradgen from a Python function (``def loss(w, X): ...``), also a
decorator, with the disk cache of `gradgen.tools.cache`.

The function's source is read with `inspect.getsource`, never executed, and written in the
language by `gradgen.frontend.python_source`; errors name the user's ``.py`` file, its real
line and column, and show its line. The result is the loaded module (a cache hit has no graphs
to give); `gradgen.compile_source` gives the `Compiled` with its graphs.
"""

from __future__ import annotations

import inspect
import linecache
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradgen.errors import CompileError, Source
from gradgen.frontend.python_source import Translation, translated
from gradgen.pipeline import compile_source, load_source, module_name
from gradgen.tools import cache


def compile_function(function: Callable[..., Any] | None = None, **options: Any) -> Any:
    """The module of the Python function ``function``, compiled with ``options`` (those of
    `gradgen.compile_source`: ``wrt``, ``mode``, ``method``, ``hessian``, ...).

    As a decorator, ``@gradgen.compile_function`` or ``@gradgen.compile_function(wrt="w")``:
    the name then stands for the module (``loss.gradient(w, X)``). A module is written to the
    cache (see `gradgen.tools.cache`) and loaded from it on the next start, compiling nothing.
    """
    if function is None:
        return lambda decorated: compile_function(decorated, **options)
    source, path, first_line = _function_source(function)
    name = module_name(function.__name__, cache.key(source, options, (path, first_line)))
    if cache.enabled() and (module := cache.cached(name)) is not None:
        return module
    compiled_source = _compiled_source(function, source, path, first_line, options)
    if cache.enabled():
        return cache.store(name, compiled_source)
    return load_source(compiled_source, name)


def _function_source(function: Callable[..., Any]) -> tuple[str, str, int]:
    """The function's source text, the file it is in and the line it starts at."""
    if not inspect.isfunction(function) or function.__name__ == "<lambda>":
        kind = "a lambda" if inspect.isfunction(function) else type(function).__name__
        raise TypeError(f"compile_function takes a Python function (a def), got {kind}")
    try:
        lines, first_line = inspect.getsourcelines(function)
    except OSError as error:
        raise OSError(f"cannot read the source of {function.__qualname__}: {error}") from None
    return "".join(lines), inspect.getsourcefile(function) or "<unknown>", max(first_line, 1)


def _compiled_source(function: Callable[..., Any], source: str, path: str, first_line: int,
                     options: dict[str, Any]) -> str:
    """The module's source text; an error located in the user's file."""
    translation = translated(source, first_line)
    given = "".join(f", {key}={value!r}" for key, value in options.items())
    command = f"gradgen.compile_function({function.__name__}{given})"
    try:
        return compile_source(translation.text, Path(path).name, command=command,
                              positions=translation.user_position, **options).source
    except CompileError as error:
        raise _located(error, translation, path, source) from None


def _located(error: CompileError, translation: Translation, path: str,
             source: str) -> CompileError:
    """``error`` at its place in the user's file, showing the user's line."""
    line, col = translation.user_position(error.line, error.col)
    text = "".join(linecache.getlines(path)) or "\n" * (translation.first_line - 1) + source
    return CompileError(error.message, Source(path, text), line, col)


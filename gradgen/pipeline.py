"""The pipeline, written down in one place.

    text --parse--> syntax tree --lower--> Graph --optimize--> Graph
         --reverse--> gradient Graph --optimize--> Graph --emit--> module source

(with `check` after every stage that builds a graph).

Every stage is a function of its input alone; the command line only wraps `compile_source`.
"""

from __future__ import annotations

import contextlib
import gc
import linecache
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gradgen.emit import emit_module
from gradgen.ir import Graph, check
from gradgen.lower import lower
from gradgen.optimize import optimize
from gradgen.parser import parse
from gradgen.reverse import reverse_mode


@dataclass(frozen=True)
class Compiled:
    """What one compilation produced: the graphs and the generated module's source."""

    forward: Graph
    gradient: Graph
    source: str

    def load(self, name: str = "gradgen_module") -> types.ModuleType:
        """Import the generated source as a module (registered so tracebacks show its lines)."""
        filename = f"<gradgen {name}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True),
                                     filename)
        module = types.ModuleType(name)
        module.__file__ = filename
        exec(compile(self.source, filename, "exec"), module.__dict__)  # generated code only
        return module


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: graphs are acyclic, and on a graph of a million
    nodes its repeated full scans would cost more than the compilation itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@collector_paused()
def build_forward(text: str, path: str = "<string>") -> Graph:
    """Parse, lower and simplify a source text into its checked forward graph.

    Simplifying before reverse mode means the reverse pass sees each shared value once
    (``sin(x*y) + cos(x*y)`` backpropagates through one ``x*y``, not two).
    """
    return check(optimize(check(lower(parse(text, path)))))


@collector_paused()
def build_gradient(forward: Graph, wrt: tuple[str, ...] | None = None) -> Graph:
    """The simplified gradient graph of a forward graph."""
    _check_wrt(forward, wrt)
    return check(optimize(check(reverse_mode(forward, wrt))))


@collector_paused()
def compile_source(text: str, path: str = "<string>", wrt: tuple[str, ...] | None = None,
                   command: str | None = None) -> Compiled:
    """Compile source text to a forward + gradient module."""
    forward = build_forward(text, path)
    gradient = build_gradient(forward, wrt)
    filename = Path(path).name
    command = command or f"gradgen compile {filename}" + (f" --wrt {','.join(wrt)}" if wrt else "")
    return Compiled(forward, gradient, emit_module(forward, gradient, filename, command))


def _check_wrt(forward: Graph, wrt: tuple[str, ...] | None) -> None:
    if wrt is None:
        return
    names = [var.name for var in forward.inputs]
    for name in wrt:
        if name not in names:
            raise ValueError(f"'{name}' is not an input; inputs are {', '.join(names)}")
    if len(set(wrt)) != len(wrt):
        raise ValueError("--wrt names an input twice")

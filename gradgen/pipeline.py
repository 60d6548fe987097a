"""The pipeline: every stage joined, written down in one place.

    text --parse--> syntax tree --lower--> Graph --optimize--> Graph
         --reverse--> gradient Graph --optimize--> Graph --emit--> module source

(with `verify` after every stage that builds a graph).

Every stage is a function of its input alone; the command line only wraps `compile_source`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import html
import linecache
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from gradgen.differentiate.checkpoint import checkpointing
from gradgen.differentiate.error_bound import error_bound_graph
from gradgen.differentiate.reverse import reverse_mode
from gradgen.emit.module import emit_module
from gradgen.errors import LimitError
from gradgen.frontend.arguments import (
    file_name_hint,
    names_a_file,
    read_source,
    source_text,
    wrt_names,
)
from gradgen.frontend.lower import lower
from gradgen.frontend.parser import parse
from gradgen.ir.graph import Graph, has_arrays, has_blocks, has_loops
from gradgen.ir.hoist import hoist_invariants
from gradgen.ir.optimize import optimize
from gradgen.ir.verify import verify

MODES = ("reverse", "forward")
METHODS = ("ad", "symbolic")
TARGETS = ("numpy", "numba")  # what computes the module: NumPy, or loops numba compiles


@dataclass(frozen=True)
class Compiled:
    """What one compilation produced: the graphs and the generated module's source.

    ``derivative`` is the gradient graph (reverse mode, symbolic) or the JVP graph (forward
    mode) that the module's derivatives were printed from.
    """

    forward: Graph
    derivative: Graph
    source: str
    mode: str = "reverse"
    method: str = "ad"
    hvp: Graph | None = None  # the Hessian-vector-product graph, with ``hessian=True``

    @property
    def gradient(self) -> Graph:
        """The gradient graph (the JVP graph in forward mode)."""
        return self.derivative

    @functools.cached_property
    def module(self) -> types.ModuleType:
        """The generated module, loaded once (named `module_name`)."""
        return self.load()

    @property
    def module_name(self) -> str:
        """The module's own name, ``gradgen_<function>_<hash of its source>``: two compiled
        modules in one process never share a name, and so never each other's lines."""
        return module_name(self.forward.name, self.source)

    def load(self, name: str | None = None) -> types.ModuleType:
        """Import the generated source as a new module called ``name`` (default
        `module_name`), its source registered with `linecache` so tracebacks show its lines.
        It is not put in `sys.modules`: its functions pickle once it is imported from a file
        (see `gradgen.cache`)."""
        return load_source(self.source, name or self.module_name)

    def __repr__(self) -> str:
        return (f"<gradgen.Compiled {_signature(self.forward)}: {self._route}, "
                f"{'with hvp, ' if self.hvp else ''}{self.source.count(chr(10))} lines of "
                f"source; module {self.module_name}>")

    @property
    def _route(self) -> str:
        return "symbolic differentiation" if self.method == "symbolic" else f"{self.mode} mode"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain display: the one line of `repr`."""
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        """Jupyter's display: the one line of `repr` over the source, highlighted where
        Pygments is installed."""
        return f"<p><code>{html.escape(repr(self))}</code></p>{highlighted(self.source)}"


def load_source(source: str, name: str) -> types.ModuleType:
    """A generated module's ``source`` run as a new module called ``name``, its source
    registered with `linecache` under ``<gradgen NAME>`` so that tracebacks show its lines."""
    filename = _registered(source, name)
    module = types.ModuleType(name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # generated code only
    return module


def module_name(function: str, source: str) -> str:
    """``gradgen_<function>_<hash>``: a module's name from its function's name (ASCII letters,
    digits and ``_`` kept) and the first 12 hex digits of its source's SHA-256."""
    stem = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in function)
    return f"gradgen_{stem}_{hashlib.sha256(source.encode()).hexdigest()[:12]}"


def highlighted(source: str) -> str:
    """Python ``source`` as HTML: highlighted by Pygments if installed, else escaped <pre>."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return f"<pre>{html.escape(source)}</pre>"
    return highlight(source, PythonLexer(), HtmlFormatter(noclasses=True))


def _signature(graph: Graph) -> str:
    return f"{graph.name}({', '.join(var.name for var in graph.inputs)})"


def _registered(source: str, name: str) -> str:
    """The file name of module ``name``, under which ``linecache`` holds its ``source``."""
    filename = f"<gradgen {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return filename


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
def build_forward(text: str, path: str = "<string>", entry: str | None = None,
                  straight_line: bool = False) -> Graph:
    """Parse, lower and simplify a source text into its checked forward graph. With
    ``straight_line``, every ``if`` is a selection (``where``): a straight-line graph for
    the routes that take no control flow (forward mode, SymPy, traces, pictures).

    Simplifying before reverse mode means the reverse pass sees each shared value once
    (``sin(x*y) + cos(x*y)`` backpropagates through one ``x*y``, not two), and a loop's
    invariant statements once, before the loop.
    """
    return _simplified(lower(parse(text, path, entry), straight_line))


@collector_paused()
def build_gradient(forward: Graph, wrt: tuple[str, ...] | None = None,
                   checkpoint: int | str | None = None) -> Graph:
    """The simplified gradient graph of a forward graph; for an array-valued function, the
    vector-Jacobian product's graph (one more input, the cotangent). ``checkpoint``: keep
    snapshots of the top-level loops every so many steps (see `checkpoint`)."""
    array_valued = bool(forward.outputs[0].shape)
    loops = checkpointing(checkpoint) if checkpoint else None
    return _simplified(reverse_mode(forward, wrt, cotangent=array_valued, loops=loops))


def _simplified(graph: Graph) -> Graph:
    """``graph`` checked, simplified, its loops' invariants hoisted, and checked again."""
    return verify(hoist_invariants(optimize(verify(graph))))


@collector_paused()
def build_derivative(forward: Graph, wrt: tuple[str, ...] | None = None, mode: str = "reverse",
                     method: str = "ad", cse: bool = True,
                     checkpoint: int | str | None = None) -> Graph:
    """The graph a module's derivatives are printed from, for one mode and method."""
    if method == "symbolic":
        return _symbolic_derivative(forward, wrt, cse)
    if mode == "forward":
        return _forward_derivative(forward, wrt)
    return build_gradient(forward, wrt, checkpoint)


@collector_paused()
def build_hvp(forward: Graph, wrt: tuple[str, ...] | None = None,
              checkpoint: int | str | None = None, method: str = "ad",
              cse: bool = True) -> Graph:
    """The simplified Hessian-vector-product graph of a scalar-valued forward graph: forward
    mode over its reverse-mode gradient program (see `forward.hvp_graph`), or with
    ``method="symbolic"`` the Hessian of `sympy.diff` times the tangents."""
    if forward.outputs[0].shape:
        raise LimitError(f"a Hessian is of a function of a scalar value, and {forward.name}'s "
                         "value is an array; use jacobian (the default for such a function)")
    if method == "symbolic":
        return _symbolic_hvp(forward, wrt, cse)
    from gradgen.differentiate.forward import hvp_graph

    return _simplified(hvp_graph(build_gradient(forward, wrt, checkpoint), wrt))


@collector_paused()
def build_error_bound(forward: Graph, text: str, path: str = "<string>",
                      entry: str | None = None) -> Graph:
    """The simplified graph of the value and its rounding-error bound (see `error_bound`),
    from ``forward`` taken straight-line (a branch as a selection, a helper inlined)."""
    if has_blocks(forward):
        forward = build_forward(text, path, entry, straight_line=True)
    return _simplified(error_bound_graph(forward, path))


def _symbolic_hvp(forward: Graph, wrt: tuple[str, ...] | None, cse: bool) -> Graph:
    from gradgen.differentiate.symbolic import symbolic_hvp_graph

    _require_straight_line_scalars(forward, "the symbolic method")
    graph = verify(symbolic_hvp_graph(forward, wrt, cse=cse))
    return verify(optimize(graph)) if cse else graph


def _symbolic_derivative(forward: Graph, wrt: tuple[str, ...] | None, cse: bool) -> Graph:
    from gradgen.differentiate.symbolic import symbolic_gradient_graph

    _require_straight_line_scalars(forward, "the symbolic method")
    graph = verify(symbolic_gradient_graph(forward, wrt, cse=cse))
    return verify(optimize(graph)) if cse else graph  # without CSE: the trees as SymPy has them


def _forward_derivative(forward: Graph, wrt: tuple[str, ...] | None) -> Graph:
    from gradgen.differentiate.forward import jvp_graph

    return verify(optimize(verify(jvp_graph(forward, wrt))))


def _require_straight_line_scalars(forward: Graph, route: str) -> None:
    if has_arrays(forward):
        raise LimitError(f"{route} handles scalar functions only, and {forward.name} has "
                         "arrays; use reverse mode (the default)")
    _require_straight_line(forward, route)


def _require_straight_line(forward: Graph, route: str) -> None:
    if has_loops(forward):
        raise LimitError(f"{route} handles straight-line functions only, and "
                         f"{forward.name} has a loop; use reverse mode (the default)")


@collector_paused()
def compile_source(text: str, path: str = "<string>", wrt: tuple[str, ...] | None = None,
                   command: str | None = None, mode: str = "reverse", method: str = "ad",
                   cse: bool = True, entry: str | None = None,
                   checkpoint: int | str | None = None, target: str = "numpy",
                   hessian: bool = False, error_bound: bool = False,
                   positions: Callable[[int, int], tuple[int, int]] | None = None) -> Compiled:
    """Compile source text to a module of the value and its derivatives.

    ``mode`` is ``"reverse"`` (the default) or ``"forward"`` (automatic differentiation), or
    ``method="symbolic"`` derives the gradient with SymPy instead (``cse``: share common
    subexpressions with `sympy.cse`). ``entry`` names the function of a file with several
    ``def``s to compile (default: the last); the others are helpers it may call.
    ``checkpoint`` (reverse mode): the top-level loops keep a snapshot every so many steps
    (a whole number, or ``"sqrt"``) and recompute each segment in the reverse pass.
    ``target="numba"`` computes a function of numbers by loops that numba compiles.
    ``hessian`` adds ``hvp`` (the Hessian times tangents) and ``hessian`` to the module;
    ``error_bound`` adds ``error_bound`` (the value and a bound on its rounding error).
    ``positions`` maps a line and column of ``text`` to the user's file (`compile_function`
    translates a Python function), for the places the module's kink report names.
    """
    text, path, wrt = source_arguments(text, path, wrt)
    _check_choice(mode, method, checkpoint)
    _require_one_of("target", target, TARGETS)
    forward = build_forward(text, path, entry, straight_line=method == "symbolic")
    derivative = build_derivative(forward, wrt, mode, method, cse, checkpoint)
    hvp = build_hvp(forward, wrt, checkpoint, method, cse) if hessian else None
    jvp = _jvp_beside(forward, wrt, mode, method)
    bound = build_error_bound(forward, text, path, entry) if error_bound else None
    filename = Path(path).name
    command = command or _command(filename, wrt, mode, method, cse, entry, checkpoint, target,
                                  hessian, error_bound)
    source = emit_module(forward, derivative, filename, command, _describe(mode, method, cse),
                         wrt, target, hvp, jvp, bound, positions)
    return Compiled(forward, derivative, source, mode, method, hvp)


def _jvp_beside(forward: Graph, wrt: tuple[str, ...] | None, mode: str,
                method: str) -> Graph | None:
    """Of an array value in reverse mode, the JVP graph too: ``jacobian`` then takes one vjp
    per entry of the value or one jvp per entry of the inputs, whichever are fewer."""
    if not forward.outputs[0].shape or (mode, method) != ("reverse", "ad"):
        return None
    return _forward_derivative(forward, wrt)


def _check_choice(mode: str, method: str, checkpoint: int | str | None) -> None:
    _require_one_of("mode", mode, MODES)
    _require_one_of("method", method, METHODS)
    if method == "symbolic" and mode != "reverse":
        raise ValueError("the symbolic method has no mode; leave mode as 'reverse'")
    if checkpoint is not None and (mode, method) != ("reverse", "ad"):
        raise ValueError("checkpoint is for reverse mode")


def _require_one_of(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def _describe(mode: str, method: str, cse: bool) -> str:
    if method == "symbolic":
        return f"symbolic differentiation by SymPy, {'with' if cse else 'without'} CSE"
    return f"{mode} mode"


def _command(filename: str, wrt: tuple[str, ...] | None, mode: str, method: str,
             cse: bool, entry: str | None = None, checkpoint: int | str | None = None,
             target: str = "numpy", hessian: bool = False, error_bound: bool = False) -> str:
    """The command that compiles the same module: each option given, if not the default."""
    options = [(wrt, f"--wrt {','.join(wrt or ())}"), (entry, f"--entry {entry}"),
               (checkpoint, f"--checkpoint {checkpoint}"), (mode != "reverse", f"--mode {mode}"),
               (method != "ad", f"--method {method}" + ("" if cse else " --no-cse")),
               (target != "numpy", f"--target {target}"), (hessian, "--hessian"),
               (error_bound, "--error-bound")]
    return " ".join(["gradgen compile", filename, *(text for given, text in options if given)])


def source_arguments(text: str | PurePath, path: str | PurePath = "<string>",
                     wrt: str | tuple[str, ...] | None = None
                     ) -> tuple[str, str, tuple[str, ...] | None]:
    """The API's arguments as the stages take them: a `Path` is the file it names, read (and
    the errors' path); ``wrt="x,y"`` is ``("x", "y")``. A string is source text, even when it
    names a file, but then its errors say how to read the file."""
    if isinstance(text, PurePath):
        return read_source(Path(text)), str(text if path == "<string>" else path), wrt_names(wrt)
    if names_a_file(source_text(text)):
        with file_name_hint(text):
            build_forward(text, str(path))
    return text, str(path), wrt_names(wrt)

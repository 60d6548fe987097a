"""Tools: the study commands as Python functions, for notebooks and scripts: `ir_text`, `trace`
and `graph` return the text (or DOT) that ``gradgen ir``, ``gradgen trace`` and ``gradgen
graph`` print, as strings that Jupyter displays richly (a trace as a table in <pre>, a graph as
SVG where Graphviz's ``dot`` is installed, else its DOT text).

Each takes source text or a `pathlib.Path`, like `gradgen.compile_source`; a point is a
mapping ``{"x": 2.0}`` or the command line's ``"x=2,y=-1"``. (``ir_text``, not ``ir``:
``gradgen.ir`` is the package of the IR.)
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import PurePath

from gradgen.ir.graph import Graph
from gradgen.ir.printing import format_graph
from gradgen.pipeline import build_forward, build_gradient, source_arguments
from gradgen.tools.graphviz import to_dot
from gradgen.tools.points import parse_point, point_at
from gradgen.tools.trace import annotations, number_nodes, require_scalars, trace_report
from gradgen.tools.trace_values import point_values

#: A point: input name -> number, or the command line's text ``"x=2,y=-1"``.
Point = Mapping[str, float] | str


class Text(str):
    """Text a command prints (the IR, a trace): shown as it is, in a notebook too."""

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self)}</pre>"


class Dot(Text):
    """A graph in Graphviz's DOT language: shown as SVG where ``dot`` is installed."""

    def _repr_svg_(self) -> str | None:
        program = shutil.which("dot")
        if program is None:
            return None  # Jupyter falls back to the text
        return subprocess.run([program, "-Tsvg"], input=self.encode(), capture_output=True,
                              check=True).stdout.decode()


def ir_text(text: str | PurePath, grad: bool = False, wrt: str | tuple[str, ...] | None = None,
       path: str = "<string>") -> Text:
    """The IR of the function, one edge per line (``gradgen ir``); ``grad``: its gradient's."""
    return Text(format_graph(_graph(text, path, wrt, grad)))


def trace(text: str | PurePath, at: Point, forward: str | None = None,
          path: str = "<string>") -> Text:
    """The lecture-style traces at ``at`` (``gradgen trace``): the forward evaluation trace,
    the forward derivative trace along input ``forward`` if given, the reverse adjoint trace."""
    text, path, _ = source_arguments(text, path)
    graph = build_forward(text, path, straight_line=True)
    require_scalars(graph)
    return Text(trace_report(graph, _point(graph, at), forward))


def graph(text: str | PurePath, grad: bool = False, at: Point | None = None,
          wrt: str | tuple[str, ...] | None = None, path: str = "<string>") -> Dot:
    """The computation graph in DOT (``gradgen graph``): ``grad`` draws the gradient program;
    ``at`` labels every value (and in the function's graph its adjoint) at that point."""
    drawn = _graph(text, path, wrt, grad, straight_line=True)
    if at is None:
        return Dot(to_dot(drawn))
    require_scalars(drawn)
    point = _point(drawn, at)
    if grad:
        return Dot(to_dot(drawn, point_values(drawn, point)))
    return Dot(to_dot(drawn, *annotations(drawn, point), number_nodes(drawn).labels))


def _graph(text: str | PurePath, path: str, wrt: str | tuple[str, ...] | None, grad: bool,
           straight_line: bool = False) -> Graph:
    """The function's forward graph, or with ``grad`` its gradient graph."""
    text, path, names = source_arguments(text, path, wrt)
    forward = build_forward(text, path, straight_line=straight_line)
    return build_gradient(forward, names) if grad else forward


def _point(graph: Graph, at: Point) -> dict[str, float]:
    names = tuple(var.name for var in graph.inputs)
    return parse_point(at, names) if isinstance(at, str) else point_at(at, names)

"""Tools: what the commands that study a function do (``graph``, ``compare``, ``check``,
``trace``), given their parsed arguments.

Kept apart from `gradgen.tools.commands` so that compiling imports none of what they need
(Graphviz, the traces, the comparisons and checks, JSON); `gradgen.cli` imports this module
only when one of them runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gradgen.frontend.arguments import read_source
from gradgen.ir.graph import Graph, Var
from gradgen.pipeline import build_forward
from gradgen.tools.check import CheckResult, check, check_hessian, load_module_file
from gradgen.tools.commands import CheckFailed, UsageError, graph_of, point_of, usage_errors
from gradgen.tools.compare import Comparison, compare
from gradgen.tools.compare_hessian import compare_hessian
from gradgen.tools.files import write_output
from gradgen.tools.graphviz import to_dot
from gradgen.tools.points import parse_dims
from gradgen.tools.report import format_check, format_comparison
from gradgen.tools.trace import annotations, number_nodes, require_scalars, trace_report
from gradgen.tools.trace_values import point_values

#: What a picture shows at a point: values, adjoints and labels (None: not shown).
Annotations = tuple[dict[Var, Any] | None, dict[Var, float] | None, dict[Var, str] | None]


def run_graph(args: argparse.Namespace) -> None:
    graph = graph_of(args, straight_line=True)
    _write_picture(args.output, to_dot(graph, *_annotations(graph, args)))


def _annotations(graph: Graph, args: argparse.Namespace) -> Annotations:
    """The values, adjoints and labels a picture shows at ``--at`` (none without it)."""
    if args.at is None:
        return None, None, None
    require_scalars(graph)
    point = point_of(graph, args.at)
    if args.grad:  # the gradient program's own values
        return point_values(graph, point), None, None
    return _traced(graph, point)


def _traced(graph: Graph, point: dict[str, float]) -> Annotations:
    """The values and adjoints at ``point``, numbered and labelled as `gradgen trace` does."""
    values, adjoints = annotations(graph, point)
    return values, adjoints, number_nodes(graph).labels


def _write_picture(output: str, dot: str) -> None:
    """DOT text, or an .svg or .png rendered by Graphviz's ``dot``."""
    suffix = Path(output).suffix.lower()
    rendered = output != "-" and suffix in (".svg", ".png")
    write_output(output, _rendered(dot, suffix[1:]) if rendered else dot)


def _rendered(dot: str, image: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise UsageError("rendering .svg or .png needs Graphviz's 'dot' program, which is "
                         "not installed; write a .dot file instead")
    return subprocess.run([program, f"-T{image}"], input=dot.encode(), capture_output=True,
                          check=True).stdout


def run_compare(args: argparse.Namespace) -> None:
    text = read_source(Path(args.file))
    point = None if args.at is None else point_of(build_forward(text, args.file), args.at)
    comparing = compare_hessian if args.hessian else compare
    comparison = comparing(text, args.file, point, batch=args.batch)
    print(_comparison_text(comparison, args.json), end="")


def _comparison_text(comparison: Comparison, as_json: bool) -> str:
    """The comparison as plain-text tables, or as JSON (``--json``)."""
    if as_json:
        return json.dumps(dataclasses.asdict(comparison), indent=2, ensure_ascii=False) + "\n"
    return format_comparison(comparison)


def run_trace(args: argparse.Namespace) -> None:
    forward = build_forward(read_source(Path(args.file)), args.file, straight_line=True)
    require_scalars(forward)
    point = point_of(forward, args.at)
    print(usage_errors(lambda: trace_report(forward, point, args.forward), "--forward"), end="")


def run_check(args: argparse.Namespace) -> None:
    result = _checked(args)
    print(format_check(result), end="")
    if not result.passed:
        raise CheckFailed()


def _checked(args: argparse.Namespace) -> CheckResult:
    """The gradient of the file (or of ``--module``) checked as the options say."""
    text = read_source(Path(args.file))
    module = load_module_file(args.module) if args.module else None
    dims = usage_errors(lambda: parse_dims(args.dims), "--dims")
    checking = check_hessian if args.hessian else check
    return usage_errors(lambda: checking(text, args.file, args.points, args.tol, module,
                                         dims=dims), "--dims")

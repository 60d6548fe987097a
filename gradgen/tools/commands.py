"""Tools: what each command of the command line does, given its parsed arguments.

Each ``run_*`` function takes its command's `argparse.Namespace`, prints or writes the result,
and raises `UsageError` for a bad option value or `CheckFailed` when ``check`` finds a mismatch;
`gradgen.cli` parses the arguments and turns errors into exit statuses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradgen.ir.graph import Graph, Var
from gradgen.ir.printing import format_graph
from gradgen.pipeline import Compiled, build_forward, build_gradient, compile_source
from gradgen.tools.check import CheckResult, check, check_hessian, load_module_file
from gradgen.tools.compare import Comparison, compare
from gradgen.tools.compare_hessian import compare_hessian
from gradgen.tools.files import read_source, same_file, write_output
from gradgen.tools.graphviz import to_dot
from gradgen.tools.points import parse_dims, parse_point
from gradgen.tools.report import format_check, format_comparison
from gradgen.tools.trace import annotations, number_nodes, require_scalars, trace_report
from gradgen.tools.trace_values import point_values


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class CheckFailed(Exception):
    """`gradgen check` found a mismatch (exit status 1; the report is already printed)."""


#: What a picture shows at a point: values, adjoints and labels (None: not shown).
Annotations = tuple[dict[Var, Any] | None, dict[Var, float] | None, dict[Var, str] | None]


def run_compile(args: argparse.Namespace) -> None:
    output = _compile_output(args)
    text = read_source(Path(args.file))
    write_output(output, _compiled(text, args).source)


def _compile_output(args: argparse.Namespace) -> str:
    """Where ``compile`` writes: ``-o``, else <stem>.py beside the input; never the input."""
    output = args.output or str(Path(args.file).with_suffix(".py"))
    if output != "-" and same_file(Path(args.file), Path(output)):
        raise UsageError(f"refusing to overwrite the input file {args.file}; use -o OUT")
    return output


def _compiled(text: str, args: argparse.Namespace) -> Compiled:
    """The module of ``text``, compiled as the options of ``compile`` say."""
    wrt = _wrt(args)
    _check_method(args)
    return usage_errors(lambda: compile_source(text, args.file, wrt, None, args.mode,
                                               args.method, args.cse, args.entry,
                                               args.checkpoint, getattr(args, "target", "numpy"),
                                               getattr(args, "hessian", False)))


def _check_method(args: argparse.Namespace) -> None:
    """``--mode``, ``--method`` and ``--checkpoint`` go together."""
    if args.method == "symbolic" and args.mode != "reverse":
        raise UsageError("--method symbolic has no --mode")
    if args.checkpoint and (args.method, args.mode) != ("ad", "reverse"):
        raise UsageError("--checkpoint is for reverse mode")


def run_ir(args: argparse.Namespace) -> None:
    print(format_graph(_graph(args)), end="")


def run_graph(args: argparse.Namespace) -> None:
    graph = _graph(args, straight_line=True)
    _write_picture(args.output, to_dot(graph, *_annotations(graph, args)))


def _annotations(graph: Graph, args: argparse.Namespace) -> Annotations:
    """The values, adjoints and labels a picture shows at ``--at`` (none without it)."""
    if args.at is None:
        return None, None, None
    require_scalars(graph)
    point = _point(graph, args.at)
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


def _graph(args: argparse.Namespace, straight_line: bool = False) -> Graph:
    """The forward (or gradient) graph of the file; ``straight_line`` for pictures: every
    ``if`` a selection, every helper lowered where it is called."""
    forward = build_forward(read_source(Path(args.file)), args.file,
                            straight_line=straight_line)
    if not args.grad:
        return forward
    return usage_errors(lambda: build_gradient(forward, _wrt(args)))


def run_compare(args: argparse.Namespace) -> None:
    text = read_source(Path(args.file))
    point = None if args.at is None else _point(build_forward(text, args.file), args.at)
    comparing = compare_hessian if getattr(args, "hessian", False) else compare
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
    point = _point(forward, args.at)
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
    checking = check_hessian if getattr(args, "hessian", False) else check
    return usage_errors(lambda: checking(text, args.file, args.points, args.tol, module,
                                         dims=dims), "--dims")


def usage_errors(thunk: Callable[[], Any], option: str = "--wrt") -> Any:
    """Run ``thunk``, reporting a bad option value (a ValueError) as a usage error."""
    try:
        return thunk()
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _point(forward: Graph, text: str) -> dict[str, float]:
    names = tuple(var.name for var in forward.inputs)
    return usage_errors(lambda: parse_point(text, names), "--at")


def _wrt(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.wrt is None:
        return None
    names = tuple(name.strip() for name in args.wrt.split(","))
    if not all(names):
        raise UsageError(f"--wrt: expected comma-separated input names, got {args.wrt!r}")
    return names

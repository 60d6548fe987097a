"""Tools: what the commands that compile do (``compile``, ``ir``), given their parsed arguments,
and what every command shares: the errors of usage, ``--wrt`` and ``--at``.

Each ``run_*`` function takes its command's `argparse.Namespace`, prints or writes the result,
and raises `UsageError` for a bad option value or `CheckFailed` when ``check`` finds a mismatch;
`gradgen.cli` parses the arguments and turns errors into exit statuses. The commands that study
a function rather than compile it are in `gradgen.tools.study`, imported only when one runs
(it imports what ``compile`` never needs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradgen.frontend.arguments import read_source, wrt_names
from gradgen.ir.graph import Graph, subgraphs
from gradgen.ir.printing import format_graph
from gradgen.pipeline import Compiled, build_forward, build_gradient, compile_source
from gradgen.tools.files import require_folder, same_file, write_output
from gradgen.tools.points import parse_point
from gradgen.tools.progress import reported


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class CheckFailed(Exception):
    """`gradgen check` found a mismatch (exit status 1; the report is already printed)."""


def run_compile(args: argparse.Namespace) -> None:
    output = _compile_output(args)
    with reported(f"compiling {args.file}", sys.stderr):
        compiled = _compiled(read_source(Path(args.file)), args)
    write_output(output, compiled.source)
    if output != "-":  # standard output is the module itself
        print(f"wrote {output}: {summary(compiled)}", file=sys.stderr)


def _compile_output(args: argparse.Namespace) -> str:
    """Where ``compile`` writes: ``-o``, else <stem>.py beside the input; never the input;
    into a folder that exists (checked before compiling)."""
    output = args.output or str(Path(args.file).with_suffix(".py"))
    if output != "-" and same_file(Path(args.file), Path(output)):
        raise UsageError(f"refusing to overwrite the input file {args.file}; use -o OUT")
    require_folder(output)
    return output


def summary(compiled: Compiled) -> str:
    """What a module computes, in a few words: ``forward 6 ops, gradient 9 ops, 3 inputs``."""
    derivative = "jvp" if compiled.mode == "forward" else "gradient"
    inputs = len(compiled.forward.inputs)
    hvp = "" if compiled.hvp is None else f", hvp {operations(compiled.hvp)} ops"
    return (f"forward {operations(compiled.forward)} ops, {derivative} "
            f"{operations(compiled.derivative)} ops{hvp}, {inputs} input{'s' * (inputs != 1)}")


def operations(graph: Graph) -> int:
    """The operations of ``graph``, those of its loops' and branches' bodies included."""
    count, pending = 0, [graph]
    while pending:
        edges = pending.pop().edges
        count += len(edges)
        pending.extend(body for edge in edges for body in subgraphs(edge))
    return count


def _compiled(text: str, args: argparse.Namespace) -> Compiled:
    """The module of ``text``, compiled as the options of ``compile`` say."""
    wrt = _wrt(args)
    _check_method(args)
    return usage_errors(lambda: compile_source(text, args.file, wrt, None, args.mode,
                                               args.method, args.cse, args.entry,
                                               args.checkpoint, getattr(args, "target", "numpy"),
                                               getattr(args, "hessian", False),
                                               getattr(args, "error_bound", False)))


def _check_method(args: argparse.Namespace) -> None:
    """``--mode``, ``--method`` and ``--checkpoint`` go together."""
    if args.method == "symbolic" and args.mode != "reverse":
        raise UsageError("--method symbolic has no --mode")
    if args.checkpoint and (args.method, args.mode) != ("ad", "reverse"):
        raise UsageError("--checkpoint is for reverse mode")


def run_ir(args: argparse.Namespace) -> None:
    print(format_graph(graph_of(args)), end="")


def graph_of(args: argparse.Namespace, straight_line: bool = False) -> Graph:
    """The forward (or gradient) graph of the file; ``straight_line`` for pictures: every
    ``if`` a selection, every helper lowered where it is called."""
    forward = build_forward(read_source(Path(args.file)), args.file,
                            straight_line=straight_line)
    if not args.grad:
        return forward
    return usage_errors(lambda: build_gradient(forward, _wrt(args)))


def usage_errors(thunk: Callable[[], Any], option: str = "--wrt") -> Any:
    """Run ``thunk``, reporting a bad option value (a ValueError) as a usage error."""
    try:
        return thunk()
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def point_of(forward: Graph, text: str) -> dict[str, float]:
    """The point ``--at`` gives (``x=2,y=-1``), a value for each input of ``forward``."""
    names = tuple(var.name for var in forward.inputs)
    return usage_errors(lambda: parse_point(text, names), "--at")


def _wrt(args: argparse.Namespace) -> tuple[str, ...] | None:
    return usage_errors(lambda: wrt_names(args.wrt))

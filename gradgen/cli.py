"""The command line: ``gradgen compile | ir | graph | compare | check | trace``.

It only wraps the pipeline and the comparisons. Exit status: 0 done; 1 a problem in the user's
file (reported as ``FILE:LINE:COL: error: ...``) or a mismatch found by ``check``; 2 bad
command-line usage. Output files are written atomically and never over the input; on any
error nothing is written and an existing output is left as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from gradgen.differentiate.checkpoint import SQRT
from gradgen.errors import CompileError, LimitError
from gradgen.ir.graph import Graph
from gradgen.ir.printing import format_graph
from gradgen.pipeline import METHODS, MODES, build_forward, build_gradient, compile_source
from gradgen.tools.compare import (
    check,
    compare,
    format_check,
    format_comparison,
    load_module_file,
    parse_dims,
    parse_point,
)
from gradgen.tools.graphviz import to_dot
from gradgen.tools.trace import annotations, number_nodes, require_scalars, trace_report
from gradgen.tools.trace_values import point_values
from gradgen.version import __version__


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class CheckFailed(Exception):
    """`gradgen check` found a mismatch (exit status 1; the report is already printed)."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except CompileError as error:
        print(error.format(), file=sys.stderr)
        return 1
    except CheckFailed:
        return 1
    except LimitError as error:
        print(f"{args.file}: error: {error}", file=sys.stderr)
        return 1
    except UsageError as error:
        print(f"gradgen {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"gradgen {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradgen",
        description="Compile an expression or small program into a NumPy module computing "
                    "its value and gradient by reverse-mode automatic differentiation.")
    parser.add_argument("--version", action="version", version=f"gradgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_compile(commands)
    _add_ir(commands)
    _add_graph(commands)
    _add_compare(commands)
    _add_check(commands)
    _add_trace(commands)
    return parser


def _add_compile(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "compile", help="write FILE's forward + gradient module (<stem>.py beside FILE)",
        description="Compile FILE into a standalone Python/NumPy module with forward() and "
                    "gradient(); by default it is written beside FILE as <stem>.py.")
    _add_file(sub)
    sub.add_argument("-o", "--output", metavar="OUT",
                     help="where to write the module ('-' for standard output)")
    _add_wrt(sub)
    sub.add_argument("--entry", metavar="NAME",
                     help="the function to compile, of a file with several defs (default: "
                          "the last; the others are helpers it calls)")
    sub.add_argument("--checkpoint", metavar="K", type=_checkpoint,
                     help="for long loops: keep a snapshot every K steps instead of every "
                          "step's record, and run each segment again in the reverse pass "
                          "('sqrt': K = ceil(sqrt(steps)))")
    _add_method(sub)
    sub.set_defaults(run=_run_compile)


def _checkpoint(text: str) -> int | str:
    if text == SQRT:
        return SQRT
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of steps >= 1 or 'sqrt', "
                                         f"got {text!r}")
    return int(text)


def _add_ir(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("ir", help="print FILE's IR (one edge per line)",
                              description="Print the hypergraph IR of FILE, one edge per line.")
    _add_file(sub)
    sub.add_argument("--grad", action="store_true", help="print the gradient program instead")
    _add_wrt(sub)
    sub.set_defaults(run=_run_ir)


def _add_graph(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "graph", help="draw FILE's computation graph as Graphviz DOT (or .svg/.png)",
        description="Write FILE's computation graph in Graphviz DOT: values as ellipses, "
                    "operations as boxes. An OUT ending in .svg or .png is rendered with "
                    "Graphviz's 'dot' program, which must be installed.")
    _add_file(sub)
    sub.add_argument("-o", "--output", metavar="OUT", default="-",
                     help="output file (.dot, .svg or .png); default: standard output")
    sub.add_argument("--grad", action="store_true", help="draw the gradient program instead")
    sub.add_argument("--at", metavar="POINT",
                     help="label every value with its value and adjoint at POINT (x=2,y=-1)")
    _add_wrt(sub)
    sub.set_defaults(run=_run_graph)


def _add_compare(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "compare", help="every way to differentiate FILE, side by side",
        description="Evaluate FILE's value and partials by reverse mode, forward mode, SymPy "
                    "and central differences at one point, with their largest differences, "
                    "then what each route costs: operations, time to derive, time per call.")
    _add_file(sub)
    sub.add_argument("--at", metavar="POINT",
                     help="the point, as x=2,y=-1,z=0 (default: a random point in the domain)")
    sub.add_argument("--batch", type=int, default=10_000, metavar="N",
                     help="points per call when timing the generated code (default 10000)")
    sub.add_argument("--json", action="store_true", help="print the same as JSON")
    sub.set_defaults(run=_run_compare)


def _add_check(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "check", help="test FILE's gradient against central differences and SymPy",
        description="Compare the gradient gradgen generates for FILE (or the one of an "
                    "existing module, --module) with central differences and SymPy at random "
                    "points; print the worst case; exit 1 on a mismatch.")
    _add_file(sub)
    sub.add_argument("--points", type=int, default=100, metavar="N",
                     help="how many random points (default 100)")
    sub.add_argument("--tol", type=float, default=1e-6, metavar="T",
                     help="largest error allowed, relative to max(1, |partial|) (default 1e-6)")
    sub.add_argument("--module", metavar="PY",
                     help="check this generated module's gradient instead of a fresh one")
    sub.add_argument("--dims", metavar="SIZES",
                     help="sizes of named dimensions (default 3) and values of integer inputs "
                          "(trip counts), as n=5,N=10")
    sub.set_defaults(run=_run_check)


def _add_trace(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "trace", help="lecture-style evaluation traces of FILE at a point",
        description="Print the forward evaluation trace (v3 = v0 * v1 | 2 * 5 = 10) and the "
                    "reverse adjoint trace of FILE at a point, as lecture notes write them; "
                    "--forward NAME adds the forward derivative trace for one input.")
    _add_file(sub)
    sub.add_argument("--at", metavar="POINT", required=True, help="the point, as x1=2,x2=5")
    sub.add_argument("--forward", metavar="NAME",
                     help="also print the forward-mode derivative trace along input NAME")
    sub.set_defaults(run=_run_trace)


def _add_file(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("file", metavar="FILE", help="source file (UTF-8 text)")


def _add_method(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--mode", choices=MODES, default="reverse",
                     help="automatic differentiation in reverse mode (default: one backward "
                          "sweep) or forward mode (one forward sweep per input; adds jvp)")
    sub.add_argument("--method", choices=METHODS, default="ad",
                     help="'ad': automatic differentiation (default); 'symbolic': the "
                          "derivatives of SymPy's diff, printed through the same templates")
    sub.add_argument("--cse", action=argparse.BooleanOptionalAction, default=True,
                     help="with --method symbolic: share common subexpressions (sympy.cse); "
                          "--no-cse prints SymPy's expression trees as they are")


def _add_wrt(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--wrt", metavar="NAMES",
                     help="comma-separated inputs to differentiate with respect to (default: all)")


# ---- commands ------------------------------------------------------------------------------

def _run_compile(args: argparse.Namespace) -> None:
    path = Path(args.file)
    output = args.output or str(path.with_suffix(".py"))
    if output != "-" and _same_file(path, Path(output)):
        raise UsageError(f"refusing to overwrite the input file {args.file}; use -o OUT")
    text = _read(path)
    wrt = _wrt(args)
    if args.method == "symbolic" and args.mode != "reverse":
        raise UsageError("--method symbolic has no --mode")
    if args.checkpoint and (args.method, args.mode) != ("ad", "reverse"):
        raise UsageError("--checkpoint is for reverse mode")
    compiled = _usage_errors(lambda: compile_source(text, args.file, wrt, None, args.mode,
                                                    args.method, args.cse, args.entry,
                                                    args.checkpoint))
    _write(output, compiled.source)


def _run_ir(args: argparse.Namespace) -> None:
    print(format_graph(_graph(args)), end="")


def _run_graph(args: argparse.Namespace) -> None:
    graph = _graph(args, straight_line=True)
    values = adjoints = labels = None
    if args.at is not None and args.grad:  # the gradient program's own values
        require_scalars(graph)
        values = point_values(graph, _point(graph, args.at))
    elif args.at is not None:  # numbered and labelled as `gradgen trace` prints them
        require_scalars(graph)
        values, adjoints = annotations(graph, _point(graph, args.at))
        labels = number_nodes(graph).labels
    dot = to_dot(graph, values, adjoints, labels)
    suffix = Path(args.output).suffix.lower()
    if args.output == "-" or suffix not in (".svg", ".png"):
        _write(args.output, dot)
        return
    program = shutil.which("dot")
    if program is None:
        raise UsageError("rendering .svg or .png needs Graphviz's 'dot' program, which is "
                         "not installed; write a .dot file instead")
    rendered = subprocess.run([program, f"-T{suffix[1:]}"], input=dot.encode(),
                              capture_output=True, check=True).stdout
    _write(args.output, rendered)


def _graph(args: argparse.Namespace, straight_line: bool = False):
    """The forward (or gradient) graph of the file; ``straight_line`` for pictures: every
    ``if`` a selection, every helper lowered where it is called."""
    forward = build_forward(_read(Path(args.file)), args.file, straight_line=straight_line)
    if not args.grad:
        return forward
    return _usage_errors(lambda: build_gradient(forward, _wrt(args)))


def _run_compare(args: argparse.Namespace) -> None:
    text = _read(Path(args.file))
    point = None if args.at is None else _point(build_forward(text, args.file), args.at)
    comparison = compare(text, args.file, point, batch=args.batch)
    if args.json:
        print(json.dumps(dataclasses.asdict(comparison), indent=2, ensure_ascii=False))
    else:
        print(format_comparison(comparison), end="")


def _run_trace(args: argparse.Namespace) -> None:
    forward = build_forward(_read(Path(args.file)), args.file, straight_line=True)
    require_scalars(forward)
    point = _point(forward, args.at)
    print(_usage_errors(lambda: trace_report(forward, point, args.forward), "--forward"), end="")


def _point(forward: Graph, text: str) -> dict[str, float]:
    names = tuple(var.name for var in forward.inputs)
    return _usage_errors(lambda: parse_point(text, names), "--at")


def _run_check(args: argparse.Namespace) -> None:
    text = _read(Path(args.file))
    module = load_module_file(args.module) if args.module else None
    dims = _usage_errors(lambda: parse_dims(args.dims), "--dims")
    result = _usage_errors(lambda: check(text, args.file, args.points, args.tol, module,
                                         dims=dims), "--dims")
    print(format_check(result), end="")
    if not result.passed:
        raise CheckFailed()


# ---- helpers -------------------------------------------------------------------------------

def _usage_errors(thunk: Callable, option: str = "--wrt"):
    """Run ``thunk``, reporting a bad option value (a ValueError) as a usage error."""
    try:
        return thunk()
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _wrt(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.wrt is None:
        return None
    names = tuple(name.strip() for name in args.wrt.split(","))
    if not all(names):
        raise UsageError(f"--wrt: expected comma-separated input names, got {args.wrt!r}")
    return names


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        from gradgen.errors import Source

        before = data[: error.start].decode("utf-8", "replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise CompileError("the file is not valid UTF-8 text", Source(str(path), before),
                           line, col) from None


def _same_file(source: Path, output: Path) -> bool:
    try:
        return source.resolve() == output.resolve() or output.samefile(source)
    except OSError:
        return False


def _write(output: str, content: str | bytes) -> None:
    """Write ``content`` to ``output`` atomically (temporary file + rename), or to stdout."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = Path(output)
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

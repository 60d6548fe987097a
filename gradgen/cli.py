"""The command line: ``gradgen compile | ir | graph | compare | check | trace``.

It parses the arguments of each command (what a command does is in `gradgen.tools.commands`)
and turns errors into exit statuses. Exit status: 0 done; 1 a problem in the user's
file (reported as ``FILE:LINE:COL: error: ...``) or a mismatch found by ``check``; 2 bad
command-line usage. Output files are written atomically and never over the input; on any
error nothing is written and an existing output is left as it was.
"""

from __future__ import annotations

import argparse
import sys

from gradgen.differentiate.checkpoint import SQRT
from gradgen.errors import CompileError, LimitError
from gradgen.pipeline import METHODS, MODES
from gradgen.tools.commands import (
    CheckFailed,
    UsageError,
    run_check,
    run_compare,
    run_compile,
    run_graph,
    run_ir,
    run_trace,
)
from gradgen.version import __version__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (CompileError, CheckFailed, LimitError, UsageError, OSError) as error:
        status, message = _failure(error, args)
        if message is not None:
            print(message, file=sys.stderr)
        return status
    return 0


def _failure(error: Exception, args: argparse.Namespace) -> tuple[int, str | None]:
    """The exit status for ``error``, and what is printed (nothing more after a mismatch
    found by ``check``: its report is printed already)."""
    if isinstance(error, CompileError):
        return 1, error.format()
    if isinstance(error, CheckFailed):
        return 1, None
    if isinstance(error, LimitError):
        return 1, f"{args.file}: error: {error}"
    return 2 if isinstance(error, UsageError) else 1, f"gradgen {args.command}: error: {error}"


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
    _add_entry(sub)
    _add_checkpoint(sub)
    _add_method(sub)
    sub.set_defaults(run=run_compile)


def _add_entry(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--entry", metavar="NAME",
                     help="the function to compile, of a file with several defs (default: "
                          "the last; the others are helpers it calls)")


def _add_checkpoint(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--checkpoint", metavar="K", type=_checkpoint,
                     help="for long loops: keep a snapshot every K steps instead of every "
                          "step's record, and run each segment again in the reverse pass "
                          "('sqrt': K = ceil(sqrt(steps)))")


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
    sub.set_defaults(run=run_ir)


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
    sub.set_defaults(run=run_graph)


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
    sub.set_defaults(run=run_compare)


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
    sub.set_defaults(run=run_check)


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
    sub.set_defaults(run=run_trace)


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

"""The command line: ``gradgen compile | ir | graph | compare | check | trace``.

The commands and their arguments are one table, `COMMANDS` (what a command does is in
`gradgen.tools.commands` and `gradgen.tools.study`, imported when it runs, so that compiling
imports nothing the other commands need); `main` parses the arguments and turns errors into
exit statuses.
Exit status: 0 done; 1 a problem in the user's file (reported as ``FILE:LINE:COL: error:
...``) or a mismatch found by ``check``; 2 bad command-line usage. Output files are written
atomically and never over the input; on any error nothing is written and an existing output
is left as it was.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NamedTuple

from gradgen.differentiate.checkpoint import SQRT
from gradgen.errors import CompileError, LimitError
from gradgen.frontend.arguments import cannot
from gradgen.pipeline import METHODS, MODES, TARGETS
from gradgen.tools.commands import CheckFailed, UsageError
from gradgen.version import __version__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        _runner(args.run)(args)
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
    if isinstance(error, OSError):
        return 1, f"gradgen: error: {_described(error)}"
    return 2, f"gradgen {args.command}: error: {error}"


def _described(error: OSError) -> OSError:
    """A file's error in words (``cannot read F: no such file``), not ``[Errno 2] ...``."""
    return error if error.filename is None else cannot("open", error.filename, error)


def _runner(run: str) -> Any:
    """The function ``"module:name"`` names (`Command.run`)."""
    module, _, name = run.partition(":")
    return getattr(importlib.import_module(module), name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradgen", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"gradgen {__version__}")
    _add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def _add_commands(commands: argparse._SubParsersAction) -> None:
    """A subcommand for each of `COMMANDS`, in order."""
    for name, command in COMMANDS.items():
        _add_command(commands, name, command)


def _add_command(commands: argparse._SubParsersAction, name: str, command: Command) -> None:
    sub = commands.add_parser(name, help=command.help, description=command.description)
    for flags, settings in command.arguments:
        sub.add_argument(*flags, **settings)
    sub.set_defaults(run=command.run)


def _checkpoint(text: str) -> int | str:
    """The value of ``--checkpoint``: a number of steps, or 'sqrt'."""
    if text == SQRT:
        return SQRT
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of steps >= 1 or 'sqrt', "
                                         f"got {text!r}")
    return int(text)


# ---- the commands and their arguments, as data ---------------------------------------------

#: One ``add_argument`` call: its flags and its settings.
Argument = tuple[tuple[str, ...], dict[str, Any]]


def _argument(*flags: str, **settings: Any) -> Argument:
    return flags, settings


class Command(NamedTuple):
    """A command: its line in ``gradgen --help``, its own help's description, its arguments in
    order, and the function that runs it, as ``"module:name"`` (imported when it runs)."""

    help: str
    description: str
    arguments: tuple[Argument, ...]
    run: str


_DESCRIPTION = ("Compile an expression or small program into a NumPy module computing its value "
                "and gradient by reverse-mode automatic differentiation.")

_FILE = _argument("file", metavar="FILE", help="source file (UTF-8 text)")
_WRT = _argument("--wrt", metavar="NAMES",
                 help="comma-separated inputs to differentiate with respect to (default: all)")
_ENTRY = _argument("--entry", metavar="NAME",
                   help="the function to compile, of a file with several defs (default: the "
                        "last; the others are helpers it calls)")
_CHECKPOINT = _argument("--checkpoint", metavar="K", type=_checkpoint,
                        help="for long loops: keep a snapshot every K steps instead of every "
                             "step's record, and run each segment again in the reverse pass "
                             "('sqrt': K = ceil(sqrt(steps)))")
_METHOD = (
    _argument("--mode", choices=MODES, default="reverse",
              help="automatic differentiation in reverse mode (default: one backward sweep) or "
                   "forward mode (one forward sweep per input; adds jvp)"),
    _argument("--method", choices=METHODS, default="ad",
              help="'ad': automatic differentiation (default); 'symbolic': the derivatives of "
                   "SymPy's diff, printed through the same templates"),
    _argument("--cse", action=argparse.BooleanOptionalAction, default=True,
              help="with --method symbolic: share common subexpressions (sympy.cse); --no-cse "
                   "prints SymPy's expression trees as they are"),
)

_TARGET = _argument("--target", choices=TARGETS, default="numpy",
                    help="what computes the module: NumPy (default), or loops over the points "
                         "that numba compiles (a function of numbers without loops, branches "
                         "or helpers; needs numba: pip install gradgen[numba])")

_HESSIAN = _argument("--hessian", action="store_true",
                     help="add hvp (the Hessian times tangents, by forward mode over the "
                          "gradient) and hessian (by one hvp sweep per input, or per colour "
                          "where the Hessian is sparse)")

_ERROR_BOUND = _argument("--error-bound", action="store_true",
                         help="add error_bound (the value and a first-order bound on its float64 "
                              "rounding error, by the adjoint method)")

COMMANDS = {
    "compile": Command(
        "write FILE's forward + gradient module (<stem>.py beside FILE)",
        "Compile FILE into a standalone Python/NumPy module with forward() and gradient(); by "
        "default it is written beside FILE as <stem>.py.",
        (_FILE,
         _argument("-o", "--output", metavar="OUT",
                   help="where to write the module ('-' for standard output)"),
         _WRT, _ENTRY, _CHECKPOINT, *_METHOD, _TARGET, _HESSIAN, _ERROR_BOUND),
        "gradgen.tools.commands:run_compile"),
    "ir": Command(
        "print FILE's IR (one edge per line)",
        "Print the hypergraph IR of FILE, one edge per line.",
        (_FILE,
         _argument("--grad", action="store_true", help="print the gradient program instead"),
         _WRT),
        "gradgen.tools.commands:run_ir"),
    "graph": Command(
        "draw FILE's computation graph as Graphviz DOT (or .svg/.png)",
        "Write FILE's computation graph in Graphviz DOT: values as ellipses, operations as "
        "boxes. An OUT ending in .svg or .png is rendered with Graphviz's 'dot' program, which "
        "must be installed.",
        (_FILE,
         _argument("-o", "--output", metavar="OUT", default="-",
                   help="output file (.dot, .svg or .png); default: standard output"),
         _argument("--grad", action="store_true", help="draw the gradient program instead"),
         _argument("--at", metavar="POINT",
                   help="label every value with its value and adjoint at POINT (x=2,y=-1)"),
         _WRT),
        "gradgen.tools.study:run_graph"),
    "compare": Command(
        "every way to differentiate FILE, side by side",
        "Evaluate FILE's value and partials by reverse mode, forward mode, SymPy and central "
        "differences at one point, with their largest differences, then what each route "
        "costs: operations, time to derive, time per call.",
        (_FILE,
         _argument("--at", metavar="POINT",
                   help="the point, as x=2,y=-1,z=0 (default: a random point in the domain)"),
         _argument("--batch", type=int, default=10_000, metavar="N",
                   help="points per call when timing the generated code (default 10000)"),
         _argument("--json", action="store_true", help="print the same as JSON"),
         _argument("--hessian", action="store_true",
                   help="compare the Hessian instead: forward over reverse mode, SymPy with "
                        "and without CSE, central differences of the gradient")),
        "gradgen.tools.study:run_compare"),
    "check": Command(
        "test FILE's gradient against central differences and SymPy",
        "Compare the gradient gradgen generates for FILE (or the one of an existing module, "
        "--module) with central differences and SymPy at random points; print the worst case; "
        "exit 1 on a mismatch.",
        (_FILE,
         _argument("--points", type=int, default=100, metavar="N",
                   help="how many random points (default 100)"),
         _argument("--tol", type=float, default=1e-6, metavar="T",
                   help="largest error allowed, relative to max(1, |partial|) (default 1e-6)"),
         _argument("--module", metavar="PY",
                   help="check this generated module's gradient instead of a fresh one"),
         _argument("--dims", metavar="SIZES",
                   help="sizes of named dimensions (default 3) and values of integer inputs "
                        "(trip counts), as n=5,N=10"),
         _argument("--hessian", action="store_true",
                   help="check hvp instead: against central differences of the gradient and "
                        "SymPy's Hessian along random tangents, and hessian's symmetry")),
        "gradgen.tools.study:run_check"),
    "trace": Command(
        "lecture-style evaluation traces of FILE at a point",
        "Print the forward evaluation trace (v3 = v0 * v1 | 2 * 5 = 10) and the reverse adjoint "
        "trace of FILE at a point, as lecture notes write them; --forward NAME adds the forward "
        "derivative trace for one input.",
        (_FILE,
         _argument("--at", metavar="POINT", required=True, help="the point, as x1=2,x2=5"),
         _argument("--forward", metavar="NAME",
                   help="also print the forward-mode derivative trace along input NAME")),
        "gradgen.tools.study:run_trace"),
}

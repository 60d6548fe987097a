"""A differential tester for gradgen: random valid programs, each checked against a NumPy
reference that the generator writes itself from the same syntax tree.

- The syntax tree (`Num`, `Name`, `Op`, `Call`, `IfExp`, `Index`; `Assign`, `For`, `If`,
  `Return`; `Param`, `Function`, `Program`) and its two printers: `gradgen_source` (the language
  of README.md, forms A, B and C) and `python_source` (a plain NumPy function that never touches
  gradgen and records, through its `Trace`, the margin of every comparison and every kink).
- The generator: `generate(seed)` draws one program of the seed's family (`FAMILIES`) from a
  plain `random.Random(seed)`, one small function per construct.
- The runner: `check_program(program, seed)` compiles every route that applies (reverse mode's
  gradient and vjp or jacobian, forward mode, the symbolic method, checkpointing, a scalar
  module called with arrays of points) and compares values with the reference and partials with
  the reference's central differences, at points away from kinks and branch switches.
- The shrinker: `shrink(program, failure, seed)` deletes and simplifies while the same failure
  remains; `regression_test(...)` prints the result as a ready-to-paste pytest test.
- `KNOWN_FAILURES`: seeds that fail today for a known reason (the fixed-seed test reports them
  as expected failures, counted). ``python tests/program_generator.py START COUNT`` runs a
  campaign and prints each failure shrunk.
"""

from __future__ import annotations

import math
import random
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

import numpy as np

from gradgen.runtime import BLOCK

# Seeds of the fixed-seed run that fail today, each with the class of bug it stands for. Delete an
# entry once its class is fixed: the test prints "now passes" for every entry that no longer fails.
KNOWN_FAILURES: dict[int, str] = {}

FAMILIES = ("expression", "control", "helpers", "arrays")
DIMS = {"n": 3, "d": 2}
MARGIN = 1e-3          # the closest a comparison or a kink may come to switching
HUGE = 1e8             # reference values beyond this are not compared
STEP = 1e-6            # central differences: step relative to max(1, |x|)
VALUE_RTOL = 1e-9
PARTIAL_RTOL = 1e-5
ROUTE_RTOL = 1e-8
POINTS = 3             # accepted points per program
POINT_TRIES = 12       # draws before a program is given up as skipped


# ---- the syntax tree --------------------------------------------------------------------------

@dataclass(frozen=True)
class Num:
    value: float | int


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Op:
    """An operator: binary ``+ - * / ^ @ < <= > >= == != and or``, unary ``neg`` and ``not``."""

    op: str
    args: tuple


@dataclass(frozen=True)
class Call:
    """A function of the language, or a helper ``def`` of the program."""

    fn: str
    args: tuple
    axis: int | None = None


@dataclass(frozen=True)
class IfExp:
    test: Any
    body: Any
    orelse: Any


@dataclass(frozen=True)
class Index:
    """``base[s1, s2]``: each subscript an integer expression or ``None`` for ``:``."""

    base: Any
    subscripts: tuple


@dataclass(frozen=True)
class Assign:
    """``target = value``, or ``target OP= value`` when ``op`` is one of ``+ - * /``."""

    target: str
    value: Any
    op: str = ""


@dataclass(frozen=True)
class For:
    """``for var in range(start, stop):`` (``range(stop)`` when ``start`` is None)."""

    var: str
    start: Any
    stop: Any
    body: tuple


@dataclass(frozen=True)
class If:
    """``if``/``else``; an ``orelse`` that is a single `If` prints as ``elif``."""

    test: Any
    body: tuple
    orelse: tuple = ()
    entrywise: bool = False         # an array test: each side's single assignments merge


@dataclass(frozen=True)
class Return:
    value: Any


@dataclass(frozen=True)
class Param:
    """An input: ``kind`` is ``"float"``, ``"int"`` or a shape (a tuple of dimension names)."""

    name: str
    kind: Any = "float"


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple
    body: tuple


@dataclass(frozen=True)
class Program:
    """The last function is the entry; ``form`` is ``"A"``, ``"B"`` or ``"C"``."""

    functions: tuple
    family: str
    form: str = "C"

    @property
    def entry(self) -> Function:
        return self.functions[-1]

    @property
    def helper_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.functions[:-1])


EXPRESSIONS = (Num, Name, Op, Call, IfExp, Index)
STATEMENTS = (Assign, For, If, Return)
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every node under ``node`` (itself first) with its path: ((field, index or None), ...)."""
    yield path, node
    if not is_dataclass(node):
        return
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                if is_dataclass(item):
                    yield from walk(item, path + ((f.name, i),))
        elif is_dataclass(value):
            yield from walk(value, path + ((f.name, None),))


def replace_at(node: Any, path: tuple, new: Any, splice: bool = False) -> Any:
    """``node`` with the node at ``path`` replaced by ``new`` (with ``splice``: by the items
    of the tuple ``new``, in the tuple that held it)."""
    (name, index), rest = path[0], path[1:]
    value = getattr(node, name)
    if index is None:
        return replace(node, **{name: replace_at(value, rest, new, splice) if rest else new})
    items = list(value)
    if rest:
        items[index] = replace_at(items[index], rest, new, splice)
    elif splice:
        items[index:index + 1] = list(new)
    else:
        items[index] = new
    return replace(node, **{name: tuple(items)})


def names_read(node: Any) -> set[str]:
    return {n.id for _, n in walk(node) if isinstance(n, Name)}


def has_loop(program: Program) -> bool:
    return any(isinstance(n, For) for _, n in walk(program))


def is_array_program(program: Program) -> bool:
    return any(isinstance(p.kind, tuple) for f in program.functions for p in f.params)


# ---- printing the gradgen source -------------------------------------------------------------

def gradgen_expr(e: Any) -> str:
    if isinstance(e, Num):
        return repr(e.value)
    if isinstance(e, Name):
        return e.id
    if isinstance(e, Op):
        args = [gradgen_expr(a) for a in e.args]
        if e.op == "neg":
            return f"(-{args[0]})"
        if e.op == "not":
            return f"(not {args[0]})"
        return f"({args[0]} {e.op} {args[1]})"
    if isinstance(e, Call):
        axis = "" if e.axis is None else f", axis={e.axis}"
        return f"{e.fn}({', '.join(gradgen_expr(a) for a in e.args)}{axis})"
    if isinstance(e, IfExp):
        return f"({gradgen_expr(e.body)} if {gradgen_expr(e.test)} else {gradgen_expr(e.orelse)})"
    if isinstance(e, Index):
        subs = [":" if s is None else gradgen_expr(s) for s in e.subscripts]
        return f"{gradgen_expr(e.base)}[{', '.join(subs)}]"
    raise TypeError(e)


def gradgen_range(s: For) -> str:
    stop = gradgen_expr(s.stop)
    return f"range({stop})" if s.start is None else f"range({gradgen_expr(s.start)}, {stop})"


def gradgen_block(body: tuple, indent: str) -> list[str]:
    lines = []
    for s in body:
        if isinstance(s, Assign):
            lines.append(f"{indent}{s.target} {s.op}= {gradgen_expr(s.value)}")
        elif isinstance(s, Return):
            lines.append(f"{indent}return {gradgen_expr(s.value)}")
        elif isinstance(s, For):
            lines.append(f"{indent}for {s.var} in {gradgen_range(s)}:")
            lines += gradgen_block(s.body, indent + "    ")
        elif isinstance(s, If):
            lines += gradgen_if(s, indent, "if")
    return lines


def gradgen_if(s: If, indent: str, keyword: str) -> list[str]:
    lines = [f"{indent}{keyword} {gradgen_expr(s.test)}:"]
    lines += gradgen_block(s.body or (), indent + "    ")
    if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
        lines += gradgen_if(s.orelse[0], indent, "elif")
    elif s.orelse:
        lines.append(f"{indent}else:")
        lines += gradgen_block(s.orelse, indent + "    ")
    return lines


def gradgen_param(p: Param) -> str:
    if p.kind == "float":
        return p.name
    if p.kind == "int":
        return f"{p.name}: int"
    return f"{p.name}: ({', '.join(p.kind)}{',' if len(p.kind) == 1 else ''})"


def gradgen_source(program: Program) -> str:
    """The program in gradgen's language (form A and B for a lone ``return``)."""
    entry = program.entry
    if program.form == "A":
        return gradgen_expr(entry.body[-1].value) + "\n"
    if program.form == "B":
        params = ", ".join(gradgen_param(p) for p in entry.params)
        return f"{entry.name}({params}) = {gradgen_expr(entry.body[-1].value)}\n"
    chunks = []
    for f in program.functions:
        head = f"def {f.name}({', '.join(gradgen_param(p) for p in f.params)}):"
        chunks.append("\n".join([head] + gradgen_block(f.body, "    ")) + "\n")
    return "\n".join(chunks)


def input_params(program: Program) -> tuple[Param, ...]:
    """The module's inputs: form A takes its free names, sorted."""
    if program.form == "A":
        free = sorted(names_read(program.entry) - {"pi"})
        kinds = {p.name: p for p in program.entry.params}
        return tuple(kinds[name] for name in free)
    return program.entry.params


# ---- printing the reference --------------------------------------------------------------------

PYTHON_BINARY = {"+": "+", "-": "-", "*": "*", "@": "@"}
PYTHON_CALLED = {"/": "div", "^": "pow", "and": "and_", "or": "or_"}


def python_expr(e: Any, helpers: tuple[str, ...]) -> str:
    def sub(x: Any) -> str:
        return python_expr(x, helpers)

    if isinstance(e, Num):
        return repr(e.value)
    if isinstance(e, Name):
        return "np.pi" if e.id == "pi" else f"v_{e.id}"
    if isinstance(e, Op):
        args = [sub(a) for a in e.args]
        if e.op == "neg":
            return f"(-{args[0]})"
        if e.op == "not":
            return f"_t.not_({args[0]})"
        if e.op in COMPARISONS:
            return f"_t.compare({e.op!r}, {args[0]}, {args[1]})"
        if e.op in PYTHON_BINARY:
            return f"({args[0]} {PYTHON_BINARY[e.op]} {args[1]})"
        return f"_t.{PYTHON_CALLED[e.op]}({args[0]}, {args[1]})"
    if isinstance(e, Call):
        args = ", ".join(sub(a) for a in e.args)
        if e.fn in helpers:
            return f"{e.fn}(_t, {args})"
        axis = "" if e.axis is None else f", axis={e.axis}"
        return f"_t.{e.fn}({args}{axis})"
    if isinstance(e, IfExp):
        return f"_t.where({sub(e.test)}, {sub(e.body)}, {sub(e.orelse)})"
    if isinstance(e, Index):
        subs = [":" if s is None else f"_t.index({sub(s)})" for s in e.subscripts]
        return f"{sub(e.base)}[{', '.join(subs)}]"
    raise TypeError(e)


def python_block(body: tuple, indent: str, helpers: tuple[str, ...]) -> list[str]:
    lines = []
    for s in body:
        if isinstance(s, Assign):
            value = python_expr(s.value, helpers)
            if s.op == "/":
                value = f"_t.div(v_{s.target}, {value})"
            elif s.op:
                value = f"(v_{s.target} {s.op} {value})"
            lines.append(f"{indent}v_{s.target} = _t.keep({value})")
        elif isinstance(s, Return):
            lines.append(f"{indent}return _t.keep({python_expr(s.value, helpers)})")
        elif isinstance(s, For):
            start = "0" if s.start is None else python_expr(s.start, helpers)
            stop = python_expr(s.stop, helpers)
            lines.append(f"{indent}for v_{s.var} in range({start}, {stop}):")
            lines += python_block(s.body, indent + "    ", helpers) or [indent + "    pass"]
        elif isinstance(s, If) and s.entrywise:
            lines += _python_entrywise_if(s, indent, helpers)
        elif isinstance(s, If):
            lines.append(f"{indent}if _t.branch({python_expr(s.test, helpers)}):")
            lines += python_block(s.body, indent + "    ", helpers) or [indent + "    pass"]
            if s.orelse:
                lines.append(f"{indent}else:")
                lines += python_block(s.orelse, indent + "    ", helpers)
    return lines


def _python_entrywise_if(s: If, indent: str, helpers: tuple[str, ...]) -> list[str]:
    """``if`` on an array test: every variable a side assigns becomes ``where(test, then,
    else)`` (each side is one assignment per variable, evaluated before any is stored)."""
    then = {a.target: python_expr(a.value, helpers) for a in s.body}
    other = {a.target: python_expr(a.value, helpers) for a in s.orelse}
    targets = list(dict.fromkeys([*then, *other]))
    if not targets:
        return []
    merged = [f"_t.where(_test, {then.get(t, f'v_{t}')}, {other.get(t, f'v_{t}')})"
              for t in targets]
    return [f"{indent}_test = {python_expr(s.test, helpers)}",
            f"{indent}{', '.join(f'v_{t}' for t in targets)} = {', '.join(merged)}"]


def python_source(program: Program) -> str:
    """The reference: one Python function per ``def``, each taking the `Trace` first."""
    helpers = program.helper_names
    chunks = []
    for f in program.functions:
        params = ", ".join(["_t"] + [f"v_{p.name}" for p in f.params])
        body = _dimension_bindings(f) + python_block(f.body, "    ", helpers)
        chunks.append("\n".join([f"def {f.name}({params}):"] + body) + "\n")
    return "\n".join(chunks)


def _dimension_bindings(f: Function) -> list[str]:
    """``n = np.shape(x)[0]``: a dimension name used as a value is its size."""
    bound: dict[str, str] = {}
    for p in f.params:
        if isinstance(p.kind, tuple):
            for axis, dim in enumerate(p.kind):
                bound.setdefault(dim, f"    v_{dim} = np.shape(v_{p.name})[{axis}]")
    return list(bound.values())


def reference_function(program: Program) -> Callable[..., Any]:
    """The reference, compiled: ``fn(trace, *inputs)``; it never imports gradgen."""
    namespace: dict[str, Any] = {"np": np}
    exec(compile(python_source(program), "<reference>", "exec"), namespace)  # our own text
    return namespace[program.entry.name]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


class Trace:
    """The reference's NumPy primitives, recording the margin of every comparison and kink
    (how far its argument is from switching) and every branch decision taken."""

    def __init__(self) -> None:
        self.margins: list[float] = []
        self.decisions: list[tuple] = []
        self.largest = 0.0            # the largest magnitude assigned to a variable

    def overflowed(self, kind: str, flag: int) -> None:
        """NumPy's call on an overflow inside an expression (``sinh(1318)``): the point is as
        far from usable as a huge variable (``0 * inf`` has no one answer)."""
        self.largest = math.inf

    def keep(self, value: Any) -> Any:
        size = np.max(np.abs(np.asarray(value, dtype=float)), initial=0.0)
        self.largest = max(self.largest, float(size) if np.isfinite(size) else math.inf)
        return value

    def margin(self, distance: Any) -> None:
        if _is_int(distance):
            return                    # whole numbers are never perturbed
        distance = np.abs(np.asarray(distance, dtype=float))
        self.margins.append(float(np.min(distance)) if distance.size else math.inf)

    def compare(self, op: str, a: Any, b: Any) -> Any:
        if not (_is_int(a) and _is_int(b)):
            self.margin(np.subtract(a, b, dtype=float))
        result = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                  "==": np.equal, "!=": np.not_equal}[op](a, b)
        self.decisions.append(tuple(np.ravel(result).tolist()))
        return result

    def branch(self, test: Any) -> bool:
        return bool(test)

    def index(self, i: Any) -> int:
        return int(i)

    def not_(self, a: Any) -> Any:
        return np.logical_not(a)

    def and_(self, a: Any, b: Any) -> Any:
        return np.logical_and(a, b)

    def or_(self, a: Any, b: Any) -> Any:
        return np.logical_or(a, b)

    def div(self, a: Any, b: Any) -> Any:
        self.margin(b)
        return np.true_divide(a, b)

    def pow(self, a: Any, b: Any) -> Any:
        if not (_is_int(b) or float(np.max(np.abs(np.asarray(b) % 1))) == 0):
            self.margin(a)
        return np.power(np.asarray(a, dtype=float), b)

    def where(self, test: Any, a: Any, b: Any) -> Any:
        return np.where(test, a, b)[()]

    # kinks: the margin is the distance from the switch
    def abs(self, x: Any) -> Any:
        self.margin(x)
        return np.abs(x)

    def sign(self, x: Any) -> Any:
        self.margin(x)
        return np.sign(x)

    def relu(self, x: Any) -> Any:
        self.margin(x)
        return np.maximum(x, 0.0)

    def cbrt(self, x: Any) -> Any:
        self.margin(x)
        return np.cbrt(x)

    def hypot(self, a: Any, b: Any) -> Any:
        self.margin(np.hypot(a, b))
        return np.hypot(a, b)

    def atan2(self, a: Any, b: Any) -> Any:
        self.margin(np.where(np.asarray(b) < 0, a, np.hypot(a, b)))
        return np.arctan2(a, b)

    def max(self, a: Any, b: Any = None, axis: int | None = None) -> Any:
        if b is None:
            return self._reduce_extreme(np.max, a, axis)
        if not (_is_int(a) and _is_int(b)):
            self.margin(np.subtract(a, b, dtype=float))
        return np.maximum(a, b)

    def min(self, a: Any, b: Any = None, axis: int | None = None) -> Any:
        if b is None:
            return self._reduce_extreme(np.min, a, axis)
        if not (_is_int(a) and _is_int(b)):
            self.margin(np.subtract(a, b, dtype=float))
        return np.minimum(a, b)

    def _reduce_extreme(self, reduce: Callable, a: Any, axis: int | None) -> Any:
        ordered = np.sort(np.ravel(a) if axis is None else a, axis=-1 if axis is None else axis)
        ordered = np.moveaxis(ordered, -1 if axis is None else axis, 0)
        if ordered.shape[0] > 1:
            self.margin(ordered[-1] - ordered[-2])
            self.margin(ordered[1] - ordered[0])
        return reduce(a, axis=axis)

    # poles and domain edges
    def log(self, x: Any, base: Any = None) -> Any:
        self.margin(x)
        if base is None:
            return np.log(x)
        self.margin(np.log(base))
        return np.log(x) / np.log(base)

    def log2(self, x: Any) -> Any:
        self.margin(x)
        return np.log2(x)

    def log10(self, x: Any) -> Any:
        self.margin(x)
        return np.log10(x)

    def log1p(self, x: Any) -> Any:
        self.margin(np.add(x, 1.0))
        return np.log1p(x)

    def sqrt(self, x: Any) -> Any:
        self.margin(x)
        return np.sqrt(x)

    def asin(self, x: Any) -> Any:
        self.margin(1.0 - np.abs(x))
        return np.arcsin(x)

    def acos(self, x: Any) -> Any:
        self.margin(1.0 - np.abs(x))
        return np.arccos(x)

    def atanh(self, x: Any) -> Any:
        self.margin(1.0 - np.abs(x))
        return np.arctanh(x)

    def acosh(self, x: Any) -> Any:
        self.margin(np.subtract(x, 1.0))
        return np.arccosh(x)

    def tan(self, x: Any) -> Any:
        self.margin(np.cos(x))
        return np.tan(x)

    # smooth everywhere
    def sigmoid(self, x: Any) -> Any:
        return np.exp(-np.logaddexp(0.0, np.negative(x, dtype=float)))

    def softplus(self, x: Any) -> Any:
        return np.logaddexp(0.0, x)

    def square(self, x: Any) -> Any:
        return np.square(x)

    def sum(self, x: Any, axis: int | None = None) -> Any:
        return np.sum(x, axis=axis)

    def mean(self, x: Any, axis: int | None = None) -> Any:
        return np.mean(x, axis=axis)

    def logsumexp(self, x: Any, axis: int | None = None) -> Any:
        top = np.max(x, axis=axis, keepdims=True)
        total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
        return np.squeeze(total, axis=axis) if axis is not None else total.reshape(())[()]

    def softmax(self, x: Any, axis: int = -1) -> Any:
        shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return shifted / np.sum(shifted, axis=axis, keepdims=True)


for _name, _function in {
        "sin": np.sin, "cos": np.cos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
        "tanh": np.tanh, "asinh": np.arcsinh, "exp": np.exp, "expm1": np.expm1}.items():
    setattr(Trace, _name, staticmethod(_function))


def run_reference(fn: Callable[..., Any], point: dict[str, Any],
                  params: tuple[Param, ...]) -> tuple[Any, Trace]:
    trace = Trace()
    previous = np.seterrcall(trace.overflowed)
    try:
        with np.errstate(all="ignore", over="call"):
            value = fn(trace, *(_reference_input(point[p.name], p) for p in params))
    finally:
        np.seterrcall(previous)
    return np.asarray(value, dtype=float)[()], trace


def _reference_input(value: Any, param: Param) -> Any:
    if param.kind == "int":
        return int(value)
    return np.array(value, dtype=float) if isinstance(param.kind, tuple) else np.float64(value)


# ---- the generator ------------------------------------------------------------------------------

FLOAT_INPUTS = ("x", "y", "z", "w")
INT_INPUTS = ("N", "M")
ODD_NAMES = ("lambda", "np", "e", "sum", "forward", "gradient", "float", "math", "_finish",
             "INPUTS", "xp", "hvp", "hessian", "tangents", "float_type", "COST", "check",
             "theta", "inputs", "entries")  # valid input names that are Python keywords or
#                                              the module's own (globals, locals of wrappers)
LOCALS = ("a", "b", "c", "s", "u", "v", "r", "q", "p", "g")
LOOP_VARS = ("i", "j", "k")
FLOAT_CONSTANTS = (0.5, 1.5, 2.5, 0.25, 0.75)
#: Functions of whole numbers that SymPy keeps exact (``cos(2)``, not a float): all negative.
NEGATIVE_FACTORS = (("cos", 2), ("cos", 3), ("sin", 4), ("sin", 5), ("tan", 2))
WHOLE_CONSTANTS = (2, 3, 1)


class Generator:
    """Draws one program: ``scope`` maps each readable name to its kind (``"float"``,
    ``"int"``, or a shape) while the statements are drawn."""

    def __init__(self, rng: random.Random, family: str) -> None:
        self.rng = rng
        self.family = family
        self.scope: dict[str, Any] = {}
        self.helpers: list[tuple[str, tuple]] = []   # (name, the kinds of its parameters)
        self.loop_depth = 0
        self.statements_left = 8

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, options: Any) -> Any:
        return self.rng.choice(list(options))

    def names(self, kind: Any) -> list[str]:
        return [n for n, k in self.scope.items() if k == kind]

    def fresh_local(self) -> str:
        unused = [n for n in LOCALS if n not in self.scope]
        return self.pick(unused) if unused else self.pick(self.names("float"))

    # -- scalar expressions: one function per construct ---------------------------------------

    def leaf(self) -> Any:
        floats = self.names("float")
        ints = self.names("int")
        roll = self.rng.random()
        if floats and roll < 0.7:
            return Name(self.pick(floats))
        if ints and roll < 0.8:
            return Name(self.pick(ints))
        if roll < 0.88:
            return Num(self.pick(WHOLE_CONSTANTS))
        if roll < 0.9:
            return Name("pi")
        return Num(self.pick(FLOAT_CONSTANTS))

    def varying(self, depth: int) -> Any:
        """An expression that reads a float variable (a comparison or kink of constants
        alone would sit at its switch forever)."""
        e = self.expr(depth)
        if not any(self.scope.get(n) == "float" for n in names_read(e)):
            e = Op(self.pick(("+", "*", "-")), (e, self.float_leaf()))
        return e

    def float_leaf(self) -> Any:
        floats = self.names("float")
        return Name(self.pick(floats)) if floats else self.leaf()

    def expr(self, depth: int) -> Any:
        if depth <= 0 or self.chance(0.2):
            return self.leaf()
        construct = self.pick(SCALAR_CONSTRUCTS)
        return getattr(self, construct.__name__)(depth - 1)   # subclasses may override

    def smooth_unary(self, depth: int) -> Any:
        fn = self.pick(("sin", "cos", "tanh", "atan", "asinh", "sigmoid", "softplus", "square"))
        return Call(fn, (self.expr(depth),))

    def bounded(self, depth: int) -> Any:
        """An expression in [-1, 1] (for arguments that must stay small)."""
        return Call(self.pick(("tanh", "sin", "cos")), (self.expr(depth),))

    def one_plus_square(self, depth: int, offset: Any = 1) -> Any:
        return Op("+", (Num(offset), Op("^", (self.expr(depth), Num(2)))))

    def exponential(self, depth: int) -> Any:
        fn = self.pick(("exp", "expm1", "sinh", "cosh"))
        argument = self.bounded(depth - 1) if depth > 0 and self.chance(0.7) else self.leaf()
        return Call(fn, (argument,))

    def logarithm(self, depth: int) -> Any:
        fn = self.pick(("log", "log2", "log10", "log1p", "sqrt", "acosh", "log_base"))
        if fn == "log1p":
            return Call(fn, (Op("^", (self.expr(depth), Num(2))),))
        if fn == "acosh":
            return Call(fn, (self.one_plus_square(depth, 1.5),))
        if fn == "log_base":
            base = self.pick((Num(2), Num(10), Num(0.5), self.one_plus_square(depth - 1, 2)))
            return Call("log", (self.one_plus_square(depth), base))
        return Call(fn, (self.one_plus_square(depth),))

    def inverse_trig(self, depth: int) -> Any:
        fn = self.pick(("asin", "acos", "atanh", "tan"))
        squashed = Call("tanh", (self.expr(depth - 1),))
        return Call(fn, (Op("*", (Num(0.9), squashed)),))

    def kink(self, depth: int) -> Any:
        fn = self.pick(("abs", "sign", "relu", "cbrt"))
        inner = Call(fn, (self.varying(depth),))
        return Op("*", (inner, self.expr(depth))) if fn == "sign" else inner

    def binary_function(self, depth: int) -> Any:
        fn = self.pick(("atan2", "hypot", "max", "min", "max", "min"))
        return Call(fn, (self.varying(depth), self.expr(depth)))

    def power(self, depth: int) -> Any:
        base = self.expr(depth)
        roll = self.rng.random()
        if roll < 0.4:
            return Op("^", (base, Num(self.pick((2, 3, 2.0)))))
        positive = Op("+", (Num(1), Op("^", (base, Num(2)))))
        exponent = self.pick((Num(0.5), Num(1.5), Num(-1), Num(-2), self.bounded(depth - 1)))
        if roll < 0.7:
            return Op("^", (positive, exponent))
        return Call("pow", (positive, exponent))

    def arithmetic(self, depth: int) -> Any:
        op = self.pick(("+", "-", "*", "+", "*", "/"))
        left, right = self.expr(depth), self.expr(depth)
        if op == "/" and self.chance(0.8):
            right = self.pick((self.one_plus_square(depth - 1), Op("+", (Num(2), self.bounded(
                depth - 1)))))
        return Op(op, (left, right))

    def negation(self, depth: int) -> Any:
        return Op("neg", (self.expr(depth),))

    def comparison(self, depth: int) -> Any:
        ints = self.names("int")
        if ints and self.chance(0.25):
            op = self.pick(COMPARISONS)
            return Op(op, (Name(self.pick(ints)), Num(self.pick((0, 1, 2)))))
        op = self.pick(("<", "<=", ">", ">=", "<", ">", "!="))
        return Op(op, (self.varying(depth), self.expr(depth)))

    def condition(self, depth: int) -> Any:
        roll = self.rng.random()
        if roll < 0.7 or depth <= 0:
            return self.comparison(depth)
        if roll < 0.85:
            return Op("not", (self.comparison(depth - 1),))
        op = self.pick(("and", "or"))
        return Op(op, (self.comparison(depth - 1), self.comparison(depth - 1)))

    def selection(self, depth: int) -> Any:
        test = self.condition(depth - 1 if depth > 0 else 0)
        if self.chance(0.5):
            return Call("where", (test, self.expr(depth), self.expr(depth)))
        return IfExp(test, self.expr(depth), self.expr(depth))

    def scaled_selection(self, depth: int) -> Any:
        """``where(x + where(x^3 * cos(where(x < 0.75, 2, 3)) >= 1.5, 1.5, 0.5) < 0.5, ...)``:
        a polynomial times a negative factor that SymPy keeps exact, compared, in a where that
        is itself compared. Folding the inner wheres into the outer test, SymPy simplified
        the comparisons and divided the polynomial by the factor as if it were positive
        (seed 53424)."""
        fn, whole = self.pick(NEGATIVE_FACTORS)
        chooser = Call("where", (self.comparison(0), Num(whole), Num(self.pick((1, 3, 0.5)))))
        factors = [self.polynomial(), Call(fn, (chooser,))]
        self.rng.shuffle(factors)
        sides = [Op("*", tuple(factors)), Num(self.pick(FLOAT_CONSTANTS))]
        self.rng.shuffle(sides)
        scaled = Call("where", (Op(self.pick(COMPARISONS), tuple(sides)), Num(1.5), Num(0.5)))
        shifted = Op("+", (self.input_leaf(), scaled))
        test = Op(self.pick(COMPARISONS[:4]), (shifted, Num(self.pick(FLOAT_CONSTANTS))))
        return Call("where", (test, self.expr(depth), Num(self.pick(FLOAT_CONSTANTS))))

    def polynomial(self) -> Any:
        """``x^2``, ``x^3``, ``x + y`` or ``x^2 + x`` of inputs."""
        x, y = self.input_leaf(), self.input_leaf()
        return self.pick((Op("^", (x, Num(2))), Op("^", (x, Num(3))), Op("+", (x, y)),
                          Op("+", (Op("^", (x, Num(2))), x))))

    def input_leaf(self) -> Any:
        """A float input (a local where there is none, a leaf where no float is in scope)."""
        floats = self.names("float")
        inputs = [n for n in floats if n not in LOCALS] or floats
        return Name(self.pick(inputs)) if inputs else self.leaf()

    def helper_call(self, depth: int) -> Any:
        if not self.helpers:
            return self.arithmetic(depth)
        name, kinds = self.pick(self.helpers)
        return Call(name, tuple(self.float_argument(depth) if k == "float"
                                else self.int_argument() for k in kinds))

    def float_argument(self, depth: int) -> Any:
        """A helper's number argument; at times a whole-number constant (``h(2)``), which the
        helper must compute with as a float (``2 ^ -1`` is 0.5)."""
        return Num(self.pick(WHOLE_CONSTANTS)) if self.chance(0.25) else self.expr(depth)

    def int_argument(self) -> Any:
        ints = self.names("int")
        return Name(self.pick(ints)) if ints and self.chance(0.7) else Num(self.pick((0, 1, 2)))

    # -- statements ---------------------------------------------------------------------------

    def assign_new(self) -> list:
        target = self.fresh_local()
        value = self.expr(self.pick((1, 2, 3)))
        if self.chance(0.15):
            value = Num(self.pick(WHOLE_CONSTANTS))     # a whole-number constant, later updated
        self.scope[target] = "float"
        return [Assign(target, value)]

    def reassign(self) -> list:
        """``s = s * x; s = s / a``: the same carried value updated twice or more."""
        target = self.pick(self.names("float"))
        count = self.pick((1, 1, 2, 3))
        updates = []
        for _ in range(count):
            op = self.pick(("+", "-", "*", "/"))
            other = self.expr(self.pick((0, 1, 2)))
            if op == "/":
                other = Op("+", (Num(1), Op("^", (other, Num(2)))))
            if op == "*":
                other = self.bounded(1) if self.chance(0.5) else other
            updates.append(Assign(target, Op(op, (Name(target), other))))
        return updates

    def augmented(self) -> list:
        target = self.pick(self.names("float"))
        op = self.pick(("+", "-", "*", "/"))
        value = self.expr(self.pick((0, 1, 2)))
        if op == "/":
            value = self.one_plus_square(0) if self.chance(0.5) else Num(2)
        elif op == "*":
            value = self.bounded(1)
        return [Assign(target, value, op)]

    def swap(self) -> list:
        """``tmp = u; u = v; v = tmp`` (or a rotation of three)."""
        floats = self.names("float")
        if len(floats) < 2:
            return self.assign_new()
        count = 3 if len(floats) >= 3 and self.chance(0.3) else 2
        chosen = self.rng.sample(floats, count)
        tmp = "t" if "t" not in self.scope else "t2"
        self.scope[tmp] = "float"
        statements = [Assign(tmp, Name(chosen[0]))]
        statements += [Assign(chosen[i], Name(chosen[i + 1])) for i in range(len(chosen) - 1)]
        statements.append(Assign(chosen[-1], Name(tmp)))
        return statements

    def copy_then_update(self) -> list:
        """``r = a`` and then ``a = ...r...``: the copy must keep the old value."""
        source = self.pick(self.names("float"))
        copy = self.fresh_local()
        self.scope[copy] = "float"
        update = Op(self.pick(("+", "*", "-")), (Name(copy), self.expr(1)))
        reads_old = Op("+", (Name(source), Op("*", (Num(0.5), Name(copy)))))
        return [Assign(copy, Name(source)), Assign(source, update), Assign(source, reads_old)]

    def guarded_read(self) -> list:
        """``a = a * c; g = where(a > 0.5, a, 2.5); s = s + g``: this use of the new ``a``
        matters only where the test holds, while ``a`` is also carried on or returned, where
        it matters everywhere (its adjoint from there must not be masked)."""
        source = self.pick(self.names("float"))
        others = [n for n in self.names("float") if n != source]
        update = Assign(source, Op("*", (Name(source), self.bounded(1))))
        guarded = self.fresh_local()
        self.scope[guarded] = "float"
        test = Op(self.pick(COMPARISONS[:4]), (Name(source), Num(self.pick(FLOAT_CONSTANTS))))
        sides = (Name(source), Num(self.pick(FLOAT_CONSTANTS)))
        statements = [update,
                      Assign(guarded, Call("where", (test, *(sides if self.chance(0.5)
                                                             else reversed(sides)))))]
        if others:
            total = self.pick(others)
            statements.append(Assign(total, Op("+", (Name(total), Name(guarded)))))
        return statements

    def constant_in_loop(self) -> list:
        """``a = 0.75`` and a loop reading ``tanh(a)`` (or ``tanh(a + N)``): folded, the loop's
        invariant is a constant (in a side of a branch, its reverse once bound a name that
        stood for it), or hoisted, ``1 + N`` a number beside the int ``N + 1`` of a bound."""
        local = self.fresh_local()
        floats = self.names("float")
        self.scope[local] = "float"
        var = self.pick([v for v in LOOP_VARS if v not in self.scope])
        start, stop = self.loop_range()
        constant, argument = Num(self.pick(FLOAT_CONSTANTS)), Name(local)
        ints = [n for n in self.names("int") if n not in LOOP_VARS]
        if ints and self.chance(0.5):  # ``c = 1; for i in range(N + 1): ... tanh(c + N)``
            n = Name(self.pick(ints))
            constant, argument = Num(1), Op("+", (argument, n))
            start, stop = None, Op("+", (n, Num(1)))
        factor = Call(self.pick(("tanh", "sin", "cos")), (argument,))
        update = Assign(self.pick(floats), Op("*", (Name(self.pick(floats)), factor)))
        return [Assign(local, constant), For(var, start, stop, (update,))]

    def hoisted_beside_itself(self) -> list:
        """``for i in ...: (for j in ...: s = 0.5 * (-x)); x = sin(-x)``: ``-x`` hoisted
        out of the inner loop meets the outer body's ``-x``; optimized after differentiation,
        the outer loop once recorded that one value on two tapes and wrote only one."""
        floats = self.names("float")
        x = self.pick(floats)
        others = [v for v in floats if v != x]
        total = self.pick(others) if others else self.fresh_local()
        start = [] if others else [Assign(total, Num(1.5))]  # known before the loops
        self.scope[total] = "float"
        outer, inner = self.rng.sample([v for v in LOOP_VARS if v not in self.scope], 2)
        twice = Op("neg", (Name(x),)) if self.chance(0.5) else Op("*", (Name(x), Num(2)))
        step = Assign(total, Op("*", (Num(0.5), twice)))  # not read by the step: -x invariant
        body = (For(inner, *self.loop_range(), (step,)),
                Assign(x, Call(self.pick(("sin", "tanh", "cos")), (twice,))))
        return [*start, For(outer, *self.loop_range(), body)]

    def branch(self) -> list:
        test = self.condition(self.pick((1, 2)))
        before = dict(self.scope)
        body = self.block(self.pick((1, 2)))
        body_scope = self.scope
        self.scope = dict(before)
        roll = self.rng.random()
        if roll < 0.3:
            orelse: tuple = ()
        elif roll < 0.5:
            orelse = tuple(self.branch())
        else:
            orelse = tuple(self.block(self.pick((1, 2))))
        else_scope = self.scope if orelse else before
        self.scope = {n: k for n, k in body_scope.items()
                      if n in before or (n in else_scope and else_scope[n] == k)}
        if not any(isinstance(s, Assign) for s in body):
            body = body + [Assign(self.pick(self.names("float")), self.expr(1))]
        return [If(test, tuple(body), orelse)]

    def loop(self) -> list:
        var = self.pick([v for v in LOOP_VARS if v not in self.scope])
        start, stop = self.loop_range()
        before = dict(self.scope)
        self.scope[var] = "int"
        self.loop_depth += 1
        body = self.block(self.pick((1, 2, 3)))
        self.loop_depth -= 1
        self.scope = before
        if not any(isinstance(s, Assign) and s.target in before for s in body):
            body.append(self.carried_update(var))
        return [For(var, start, stop, tuple(body))]

    def loop_range(self) -> tuple[Any, Any]:
        ints = [n for n in self.names("int") if n not in LOOP_VARS]
        roll = self.rng.random()
        if ints and roll < 0.5:
            n = Name(self.pick(ints))
            return self.pick(((None, n), (None, n), (Num(1), n), (None, Op("+", (n, Num(1))))))
        bounds = self.pick(((0, 3), (1, 4), (2, 0), (0, 1), (2, 3), (0, 0), (3, 1)))
        if bounds[0] == 0 and self.chance(0.5):
            return None, Num(bounds[1])
        return Num(bounds[0]), Num(bounds[1])

    def carried_update(self, var: str) -> Any:
        target = self.pick(self.names("float"))
        step = self.pick((Op("*", (Name(var), self.float_leaf())), self.bounded(1)))
        return Assign(target, Op("+", (Op("*", (Name(target), self.bounded(1))), step)))

    def statement(self) -> list:
        options: list[tuple[Callable[[], list], float]] = [
            (self.assign_new, 2.0), (self.reassign, 1.5), (self.augmented, 1.0),
            (self.swap, 1.0), (self.copy_then_update, 0.7), (self.guarded_read, 0.7)]
        if self.family != "expression":
            options.append((self.branch, 1.5))
            if self.loop_depth < 2:
                options.append((self.loop, 2.0 if self.loop_depth == 0 else 0.8))
                options.append((self.constant_in_loop, 0.4))
            if self.loop_depth == 0:
                options.append((self.hoisted_beside_itself, 0.3))
        total = sum(w for _, w in options)
        roll = self.rng.random() * total
        for make, weight in options:
            roll -= weight
            if roll <= 0:
                return make()
        return options[0][0]()

    def block(self, count: int) -> list:
        statements: list = []
        for _ in range(count):
            if self.statements_left <= 0:
                break
            made = self.statement()
            self.statements_left -= len(made)
            statements += made
        return statements or self.assign_new()

    def final_return(self) -> Return:
        floats = self.names("float")
        locals_ = [n for n in floats if n in LOCALS] or floats
        value = Name(self.pick(locals_))
        if self.chance(0.7):
            value = Op(self.pick(("+", "*", "-")), (value, self.expr(2)))
        return Return(value)


SCALAR_CONSTRUCTS = (
    Generator.smooth_unary, Generator.smooth_unary, Generator.exponential, Generator.logarithm,
    Generator.inverse_trig, Generator.kink, Generator.binary_function, Generator.power,
    Generator.arithmetic, Generator.arithmetic, Generator.arithmetic, Generator.negation,
    Generator.selection, Generator.helper_call, Generator.scaled_selection,
)


# ---- the families -------------------------------------------------------------------------------

def generate(seed: int) -> Program:
    """The program of ``seed``: its family is ``FAMILIES[seed % 4]``."""
    family = FAMILIES[seed % len(FAMILIES)]
    return FAMILY_BUILDERS[family](Generator(random.Random(seed), family))


def _inputs(gen: Generator, floats: int, ints: int) -> tuple[Param, ...]:
    names = list(FLOAT_INPUTS[:floats])
    if gen.chance(0.15):
        names[0] = gen.pick(ODD_NAMES)
    params = [Param(n) for n in names]
    params += [Param(n, "int") for n in INT_INPUTS[:ints]]
    gen.rng.shuffle(params)
    for p in params:
        gen.scope[p.name] = p.kind
    return tuple(params)


def expression_program(gen: Generator) -> Program:
    """Straight-line scalar code: a lone expression (forms A, B, C) or a few assignments."""
    form = gen.pick("AABBCCCC")
    params = _inputs(gen, gen.pick((1, 2, 2, 3)), 1 if form == "C" and gen.chance(0.2) else 0)
    if form == "C" and gen.chance(0.6):
        body = gen.block(gen.pick((1, 2, 3, 4))) + [gen.final_return()]
    else:
        body = [Return(gen.expr(gen.pick((2, 3, 4))))]
    entry = Function("f", params, tuple(body))
    if form == "A":
        free = names_read(entry) - {"pi"}
        if not free:
            entry = Function("f", params, (Return(Op("+", (body[0].value, Name("x")))),))
            free = {"x"}
        entry = replace(entry, params=tuple(Param(n) for n in sorted(free)))
    return Program((entry,), "expression", form)


def _with_control_flow(gen: Generator, body: list) -> list:
    if not any(isinstance(s, (For, If)) for s in body):
        gen.statements_left = max(gen.statements_left, 3)
        body += gen.loop() if gen.chance(0.7) else gen.branch()
    return body


def control_program(gen: Generator) -> Program:
    """Scalar code with loops (nested, carried values, swaps) and real branches."""
    params = _inputs(gen, gen.pick((1, 2, 3)), gen.pick((0, 1, 1, 2)))
    first = gen.assign_new() + (gen.assign_new() if gen.chance(0.5) else [])
    body = _with_control_flow(gen, first + gen.block(gen.pick((2, 3, 4))))
    return Program((Function("f", params, tuple(body + [gen.final_return()])),), "control")


def helper_function(gen: Generator, name: str) -> Function:
    """A helper of one or two float parameters, with its own branches or loop."""
    arity = gen.pick((1, 2, 2))
    params = tuple(Param(n) for n in ("p", "q")[:arity])
    if gen.chance(0.3):
        params += (Param("m", "int"),)       # a whole-number parameter: a loop bound
    outer_scope, gen.scope = gen.scope, {p.name: p.kind for p in params}
    gen.statements_left = 4
    saved_loop_depth, gen.loop_depth = gen.loop_depth, 1   # one loop level inside a helper
    body = gen.block(gen.pick((1, 2, 3)))
    if gen.chance(0.6):
        body = _with_control_flow(gen, body)
    if gen.chance(0.3):  # called as h(2), p must compute as a float: np.abs(2) ** -1 is refused
        body.insert(0, Assign("p", Op("^", (Op("+", (Num(1), Call("abs", (Name("p"),)))),
                                             Num(gen.pick((-1, -2)))))))
    function = Function(name, params, tuple(body + [gen.final_return()]))
    gen.scope, gen.loop_depth = outer_scope, saved_loop_depth
    gen.helpers.append((name, tuple(p.kind for p in params)))
    return function


def helper_program(gen: Generator) -> Program:
    """Several ``def``s: helpers (which may call earlier helpers) and an entry calling them,
    in loops too."""
    helpers = [helper_function(gen, "h1")]
    if gen.chance(0.5):
        helpers.append(helper_function(gen, "h2"))
    params = _inputs(gen, gen.pick((1, 2, 3)), gen.pick((0, 1, 1)))
    gen.statements_left = 7
    first = gen.assign_new()
    name, kinds = gen.helpers[-1]
    call = Call(name, tuple(gen.float_leaf() if k == "float" else gen.int_argument()
                            for k in kinds))
    target = gen.pick(gen.names("float"))
    calling = [Assign(target, Op("+", (Name(target), call)))]
    if gen.chance(0.6):
        var = gen.pick(("i", "j"))
        start, stop = gen.loop_range()
        calling = [For(var, start, stop, tuple(calling))]
    body = first + calling + gen.block(gen.pick((1, 2)))
    entry = Function("f", params, tuple(body + [gen.final_return()]))
    return Program(tuple(helpers) + (entry,), "helpers")


# ---- array programs -----------------------------------------------------------------------------

VECTOR, MATRIX, ROW = ("n",), ("n", "d"), ("d",)


class ArrayGenerator(Generator):
    """Array programs over ``x: (n,)``, ``W: (n, d)``, ``v: (d,)`` and scalars: scalar
    expressions read reductions and entries of arrays; arrays are built entrywise, by ``@``,
    reductions with an axis, columns, rows and softmax."""

    def leaf(self) -> Any:
        if self.helpers and self.chance(0.15):
            return self.helper_leaf()
        if self.chance(0.45):
            return self.reduction()
        return super().leaf()

    def reduction(self) -> Any:
        shape = self.pick([k for k in (VECTOR, MATRIX, ROW) if self.names(k)])
        array = Name(self.pick(self.names(shape)))
        roll = self.rng.random()
        if roll < 0.55:
            return Call(self.pick(("sum", "mean", "max", "min", "logsumexp", "sum")), (array,))
        if roll < 0.75 and shape == VECTOR and self.names(VECTOR):
            other = Name(self.pick(self.names(VECTOR)))
            return Op("@", (array, other))
        return Index(array, tuple(Num(self.pick((0, 1))) for _ in shape))

    def array(self, shape: tuple, depth: int) -> Any:
        """An expression of ``shape``."""
        if depth <= 0 or self.chance(0.25):
            return self.array_leaf(shape)
        construct = self.pick(ARRAY_CONSTRUCTS)
        return construct(self, shape, depth - 1)

    def array_leaf(self, shape: tuple) -> Any:
        if self.names(shape):
            return Name(self.pick(self.names(shape)))
        return self.derived_array(shape, 0)

    def entrywise(self, shape: tuple, depth: int) -> Any:
        fn = self.pick(("tanh", "sin", "sigmoid", "softplus", "square", "exp_tanh", "log1p_sq",
                        "relu", "abs"))
        inner = self.array(shape, depth)
        if fn == "exp_tanh":
            return Call("exp", (Call("tanh", (inner,)),))
        if fn == "log1p_sq":
            return Call("log", (Op("+", (Num(1), Op("^", (inner, Num(2))))),))
        return Call(fn, (inner,))

    def array_arithmetic(self, shape: tuple, depth: int) -> Any:
        op = self.pick(("+", "-", "*", "*"))
        other = self.array(shape, depth) if self.chance(0.6) else self.expr(depth)
        pair = (self.array(shape, depth), other)
        return Op(op, pair if self.chance(0.7) else pair[::-1])

    def array_selection(self, shape: tuple, depth: int) -> Any:
        test = Op(self.pick((">", "<")), (self.array(shape, depth), self.expr(0)))
        return Call("where", (test, self.array(shape, depth), self.array(shape, depth)))

    def derived_array(self, shape: tuple, depth: int) -> Any:
        """A product, reduction, column, row or softmax that has ``shape``."""
        inputs = {n: k for n, k in self.scope.items() if isinstance(k, tuple)}
        matrices = [n for n, k in inputs.items() if k == MATRIX]
        options: list[Any] = []
        if shape == VECTOR:
            options.append(Call("softmax", (self.array_leaf(VECTOR),)) if self.names(VECTOR)
                           else None)
            if matrices:
                m = Name(self.pick(matrices))
                options += [Index(m, (None, Num(self.pick((0, 1))))),
                            Call(self.pick(("sum", "mean", "max", "logsumexp")), (m,), axis=1),
                            Call("softmax", (Index(m, (None, Num(1))),))]
                if self.names(ROW):
                    options.append(Op("@", (m, self.array_leaf(ROW))))
        if shape == ROW and matrices:
            m = Name(self.pick(matrices))
            options += [Index(m, (Num(self.pick((0, 2))),)),
                        Call(self.pick(("sum", "mean", "min")), (m,), axis=0)]
            if self.names(VECTOR):
                options.append(Op("@", (self.array_leaf(VECTOR), m)))
        if shape == MATRIX and matrices:
            options.append(Call("softmax", (Name(self.pick(matrices)),), axis=1))
        options = [o for o in options if o is not None]
        if not options:
            return Name(self.pick(self.names(shape))) if self.names(shape) else Num(1.0)
        return self.pick(options)

    # -- statements ---------------------------------------------------------------------------

    def assign_array(self) -> list:
        shape = self.pick([k for k in (VECTOR, VECTOR, MATRIX, ROW) if self.names(k)])
        target = self.fresh_local()
        value = self.array(shape, self.pick((1, 2)))
        self.scope[target] = shape
        return [Assign(target, value)]

    def assign_scalar(self) -> list:
        target = self.fresh_local()
        value = self.expr(self.pick((1, 2)))
        self.scope[target] = "float"
        return [Assign(target, value)]

    def indexed_loop(self) -> list:
        """``for t in range(n)``: a carried scalar or array reads ``x[t]`` or ``W[t]``."""
        var = self.pick([v for v in LOOP_VARS if v not in self.scope])
        vectors = [n for n in self.names(VECTOR) if n in ("x", "b")]
        start = self.pick((None, Num(1)))
        entry = Name(self.pick(vectors or self.names(VECTOR)))
        index = Index(entry, (Name(var) if start is None else Op("-", (Name(var), Num(1))),))
        carried = self.pick([n for n, k in self.scope.items() if k in ("float", VECTOR)])
        kind = self.scope[carried]
        if kind == "float":
            update = Op("+", (Op("*", (Name(carried), self.bounded(0))), index))
        else:
            update = Call("tanh", (Op("+", (Op("*", (Name(carried), Num(0.5))), index)),))
        body: list = [Assign(carried, update)]
        if self.chance(0.4):
            self.scope[var] = "int"
            body += self.reassign() if kind == "float" else []
            del self.scope[var]
        return [For(var, start, Name("n"), tuple(body))]

    def array_branch(self) -> list:
        test = Op(self.pick((">", "<")), (self.reduction(), self.expr(0)))
        target = self.pick([n for n, k in self.scope.items() if isinstance(k, tuple)
                            or k == "float"])
        kind = self.scope[target]
        then = self.array(kind, 1) if isinstance(kind, tuple) else self.expr(1)
        other = self.array(kind, 1) if isinstance(kind, tuple) else self.expr(1)
        orelse = (Assign(target, other),) if self.chance(0.6) else ()
        return [If(test, (Assign(target, then),), orelse)]

    def entrywise_branch(self) -> list:
        """``if`` on an array test: each side assigns vectors, merged entry by entry."""
        vectors = [n for n in self.names(VECTOR)]
        test = Op(self.pick((">", "<")), (self.array(VECTOR, 1), self.expr(0)))
        body = (Assign(self.pick(vectors), self.array(VECTOR, 1)),)
        orelse: tuple = ()
        if self.chance(0.7):
            orelse = (Assign(self.pick(vectors), self.array(VECTOR, 1)),)
        return [If(test, body, orelse, entrywise=True)]

    def helper_call(self, depth: int) -> Any:
        return self.helper_leaf() if self.helpers else self.arithmetic(depth)

    def helper_leaf(self) -> Any:
        name, kinds = self.pick(self.helpers)
        return Call(name, tuple(self.array(VECTOR, 1) if k == VECTOR else self.expr(0)
                                for k in kinds))

    def statement(self) -> list:
        options = (self.assign_array, self.assign_array, self.assign_scalar, self.indexed_loop,
                   self.array_branch, self.reassign, self.entrywise_branch)
        make = self.pick(options)
        if make == self.reassign and not self.names("float"):
            make = self.assign_scalar
        return make()

    def array_return(self) -> Return:
        if self.chance(0.2):
            return Return(self.array(VECTOR, 1))
        return Return(Op("+", (self.reduction(), self.expr(1))))


ARRAY_CONSTRUCTS = (ArrayGenerator.entrywise, ArrayGenerator.entrywise,
                    ArrayGenerator.array_arithmetic, ArrayGenerator.array_arithmetic,
                    ArrayGenerator.array_selection, ArrayGenerator.derived_array)


def array_program(gen: Generator) -> Program:
    """Inputs ``x: (n,)`` and some of ``W: (n, d)``, ``v: (d,)``, ``b: (n,)``, ``y``."""
    gen = ArrayGenerator(gen.rng, "arrays")
    params = [Param("x", VECTOR)]
    gen.scope["x"] = VECTOR
    for param in (Param("W", MATRIX), Param("v", ROW), Param("b", VECTOR), Param("y")):
        if gen.chance(0.5):
            params.append(param)
    gen.rng.shuffle(params)
    for p in params:
        gen.scope[p.name] = p.kind
    helpers = [array_helper(gen)] if gen.chance(0.3) else []
    gen.statements_left = 5
    body = gen.block(gen.pick((1, 2, 3, 4)))
    entry = Function("f", tuple(params), tuple(body + [gen.array_return()]))
    return Program(tuple(helpers) + (entry,), "arrays")


def array_helper(gen: ArrayGenerator) -> Function:
    """``def g1(a: (n,), p)``: a scalar of a vector and a number, called with vectors."""
    outer_scope = gen.scope
    gen.scope = {"a": VECTOR, "p": "float"}
    gen.statements_left = 2
    body = gen.block(gen.pick((1, 2)))
    function = Function("g1", (Param("a", VECTOR), Param("p")),
                        tuple(body + [Return(Op("+", (gen.reduction(), gen.expr(1))))]))
    gen.scope = outer_scope
    gen.helpers.append(("g1", (VECTOR, "float")))
    return function

FAMILY_BUILDERS: dict[str, Callable[[Generator], Program]] = {
    "expression": expression_program, "control": control_program,
    "helpers": helper_program, "arrays": array_program,
}


# ---- the runner ---------------------------------------------------------------------------------

ROUTE_OPTIONS: dict[str, dict[str, Any]] = {
    "reverse": {}, "forward": {"mode": "forward"}, "symbolic": {"method": "symbolic"},
    "checkpoint=1": {"checkpoint": 1}, "checkpoint=2": {"checkpoint": 2},
    "checkpoint=sqrt": {"checkpoint": "sqrt"}, "elementwise": {}, "numba": {"target": "numba"},
    "hvp": {"hessian": True},
}
#: Routes a campaign adds on request (``--numba``: the numba target, about a second of numba's
#: compiling per program, so not by default).
EXTRA_ROUTES: list[str] = []
FAILURE_KINDS = ("internal error", "refused", "wrong value", "wrong partial",
                 "forward != gradient value", "route disagreement")


@dataclass
class Expected:
    """The reference at one accepted point: the value and, per float input, central
    differences shaped (value's shape + input's shape)."""

    point: dict[str, Any]
    value: Any
    partials: tuple


@dataclass
class Failure:
    kind: str
    route: str
    detail: str
    points: list[Expected] = field(default_factory=list)


@dataclass
class Outcome:
    status: str                      # "passed", "skipped" or "failed"
    failure: Failure | None = None


def routes_for(program: Program) -> list[str]:
    """Every route that applies: forward mode (loops, branches, helpers and arrays too: one jvp
    per entry; it declines an array value), SymPy for loop-free scalar programs, checkpointing
    for loops, arrays of points for scalar programs."""
    routes = ["reverse", "forward", "hvp"]
    scalar = not is_array_program(program)
    if scalar and not has_loop(program):
        if not any(isinstance(n, If) for _, n in walk(program)):
            routes.append("symbolic")    # SymPy on if/elif chains swells past seconds
    if has_loop(program):
        routes += ["checkpoint=1", "checkpoint=2", "checkpoint=sqrt"]
    if scalar:
        routes.append("elementwise")
        routes += [route for route in EXTRA_ROUTES if route == "numba"]
    return routes


class RouteTimeout(Exception):
    """A route that took longer than SYMBOLIC_SECONDS to compile (SymPy's swell)."""


SYMBOLIC_SECONDS = 3


def compile_route(text: str, route: str) -> Any:
    from gradgen.pipeline import compile_source

    if route != "symbolic" or not hasattr(signal, "SIGALRM"):
        return compile_source(text, "prog.txt", **ROUTE_OPTIONS[route]).module

    def give_up(signum: int, frame: Any) -> None:
        raise RouteTimeout(route)

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(SYMBOLIC_SECONDS)
    try:
        return compile_source(text, "prog.txt", **ROUTE_OPTIONS[route]).module
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _compile_failure(route: str, error: Exception) -> Failure | None:
    from gradgen.errors import CompileError, LimitError

    if isinstance(error, (LimitError, RouteTimeout)) and route == "symbolic":
        return None                   # SymPy's own limits: the route declines, as documented
    if (isinstance(error, LimitError) and route in ("forward", "hvp")
            and "scalar value" in str(error)):
        return None                   # forward mode, a Hessian of an array value: declined
    if isinstance(error, (CompileError, LimitError)):
        return Failure("refused", route, f"{type(error).__name__}: {error}")
    return Failure("internal error", route, f"compile: {type(error).__name__}: {error}")


def float_params(params: tuple[Param, ...]) -> list[Param]:
    return [p for p in params if p.kind != "int"]


def draw_point(params: tuple[Param, ...], rng: random.Random,
               ints: dict[str, int]) -> dict[str, Any]:
    point: dict[str, Any] = {}
    for p in params:
        if p.kind == "int":
            point[p.name] = ints[p.name]
        elif p.kind == "float":
            point[p.name] = round(rng.uniform(-1.5, 1.5), 4)
        else:
            shape = tuple(DIMS[d] for d in p.kind)
            entries = [round(rng.uniform(-1.5, 1.5), 4) for _ in range(math.prod(shape))]
            point[p.name] = np.array(entries).reshape(shape)
    return point


def _usable(value: Any, trace: Trace, decisions: list | None) -> bool:
    finite = bool(np.all(np.isfinite(value))) and float(np.max(np.abs(value))) < HUGE
    margins_ok = min(trace.margins, default=math.inf) >= MARGIN and trace.largest < HUGE
    return finite and margins_ok and (decisions is None or trace.decisions == decisions)


def expected_at(reference: Callable, params: tuple[Param, ...],
                point: dict[str, Any]) -> Expected | None:
    """The reference's value and central differences at ``point``, or None where the point
    or a step from it is near a kink or branch switch, or the value is not finite or huge."""
    value, trace = run_reference(reference, point, params)
    if not _usable(value, trace, None):
        return None
    partials = []
    for p in float_params(params):
        base = np.asarray(point[p.name], dtype=float)
        partial = np.zeros(np.shape(value) + base.shape)
        for position in np.ndindex(base.shape):
            step = STEP * max(1.0, abs(float(base[position])))
            estimates = [_central_difference(reference, params, point, p.name, position,
                                             size, trace.decisions) for size in (step, 2 * step)]
            if any(e is None for e in estimates):
                return None
            fine, coarse = estimates
            if not _close(fine, coarse, PARTIAL_RTOL / 4, 1.0 + float(np.max(np.abs(value)))):
                return None           # too curved here for central differences to be trusted
            partial[(Ellipsis,) + position] = fine
        partials.append(partial)
    return Expected(point, value, tuple(partials))


def _central_difference(reference: Callable, params: tuple[Param, ...], point: dict[str, Any],
                        name: str, position: tuple, step: float, decisions: list) -> Any:
    """(f(x + step) - f(x - step)) / (2 step) in one entry of input ``name``, or None where
    a side is near a switch, takes another branch, or is not finite."""
    base = np.asarray(point[name], dtype=float)
    sides = []
    for sign in (1, -1):
        moved = base.copy()
        moved[position] += sign * step
        shifted = dict(point, **{name: moved if base.shape else float(moved)})
        side_value, side_trace = run_reference(reference, shifted, params)
        if not _usable(side_value, side_trace, decisions):
            return None
        sides.append((side_value, float(moved[position])))
    (up, at_up), (down, at_down) = sides
    return (up - down) / (at_up - at_down)


def _close(got: Any, want: Any, rtol: float, scale: float) -> bool:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return False
    return bool(np.all(np.abs(got - want) <= rtol * (scale + np.abs(want))))


def _scale(expected: Expected) -> float:
    sizes = [np.max(np.abs(expected.value))] + [np.max(np.abs(p), initial=0.0)
                                                 for p in expected.partials]
    return 1.0 + float(max(sizes))


def _call_inputs(expected: Expected, params: tuple[Param, ...]) -> list[Any]:
    return [expected.point[p.name] for p in params]


def _mismatch(kind: str, route: str, what: str, want: Any, got: Any,
              expected: Expected) -> Failure:
    detail = f"{what}: expected {np.asarray(want).tolist()!r}, got {np.asarray(got).tolist()!r}"
    return Failure(kind, route, detail, [expected])


def check_scalar_point(route: str, module: Any, params: tuple[Param, ...], expected: Expected,
                       baseline: tuple | None) -> tuple[Failure | None, tuple]:
    """One route at one point of a scalar-valued program: forward, gradient, vjp (and jvp)."""
    inputs = _call_inputs(expected, params)
    value = module.forward(*inputs)
    if not _close(value, expected.value, VALUE_RTOL, 1.0 + abs(float(expected.value))):
        return _mismatch("wrong value", route, "forward", expected.value, value, expected), ()
    gradient_value, partials = module.gradient(*inputs)
    if not _close(gradient_value, value, 1e-12, 1.0 + abs(float(value))):
        return _mismatch("forward != gradient value", route, "gradient value", value,
                         gradient_value, expected), ()
    scale = _scale(expected)
    names = [p.name for p in float_params(params)]
    for name, got, want in zip(names, partials, expected.partials):
        if not _close(got, want, PARTIAL_RTOL, scale):
            return _mismatch("wrong partial", route, f"d/d{name}", want, got, expected), ()
    if baseline is not None:
        for name, got, want in zip(names, partials, baseline):
            if not _close(got, want, ROUTE_RTOL, scale):
                return _mismatch("route disagreement", route, f"d/d{name} against reverse",
                                 want, got, expected), ()
    failure = _check_floats(route, module, inputs, names, expected, scale)
    if failure is not None:
        return failure, ()
    return _check_products(route, module, inputs, names, expected, scale), tuple(partials)


def _check_floats(route: str, module: Any, inputs: list, names: list[str],
                  expected: Expected, scale: float) -> Failure | None:
    """The module called with Python floats (its float twin, in ``math``, where it has one):
    floats come out, and the reference's numbers."""
    floats = [float(value) if isinstance(value, np.float64) else value for value in inputs]
    value = module.forward(*floats)
    gradient_value, partials = module.gradient(*floats)
    for what, got in (("forward", value), ("gradient value", gradient_value)):
        if type(got) is not float or not _close(got, expected.value, VALUE_RTOL,
                                                1.0 + abs(float(expected.value))):
            return _mismatch("wrong value", route, f"{what} on floats", expected.value, got,
                             expected)
    for name, got, want in zip(names, partials, expected.partials):
        if (np.ndim(want) == 0 and type(got) is not float) or not _close(got, want,
                                                                      PARTIAL_RTOL, scale):
            return _mismatch("wrong partial", route, f"d/d{name} on floats", want, got,
                             expected)
    return None


def _check_products(route: str, module: Any, inputs: list, names: list[str],
                    expected: Expected, scale: float) -> Failure | None:
    """``vjp`` with a cotangent of 1.5 (and forward mode's ``jvp`` along a fixed tangent)."""
    cotangent = 1.5
    _, products = module.vjp(*inputs, cotangent)
    for name, got, want in zip(names, products, expected.partials):
        if not _close(got, cotangent * want, PARTIAL_RTOL, cotangent * scale):
            return _mismatch("wrong partial", route, f"vjp d/d{name}", cotangent * want, got,
                             expected)
    if route == "forward":
        tangents = [_filled(np.shape(partial), 0.5 + 0.25 * k)
                    for k, partial in enumerate(expected.partials)]  # shaped as the inputs
        _, derivative = module.jvp(*inputs, tangents)
        want = sum(np.sum(t * p) for t, p in zip(tangents, expected.partials))
        if not _close(derivative, want, PARTIAL_RTOL, 2 * scale):
            return _mismatch("wrong partial", route, "jvp", want, derivative, expected)
    return None


def _filled(shape: tuple, value: float) -> Any:
    """``value`` everywhere in an array of ``shape``; a float for a scalar."""
    return np.full(shape, value) if shape else value


def check_array_point(route: str, module: Any, params: tuple[Param, ...], expected: Expected,
                      baseline: tuple | None) -> tuple[Failure | None, tuple]:
    """One route at one point of an array-valued program: forward, jacobian, vjp."""
    inputs = _call_inputs(expected, params)
    value = module.forward(*inputs)
    if not _close(value, expected.value, VALUE_RTOL, 1.0 + float(np.max(np.abs(expected.value)))):
        return _mismatch("wrong value", route, "forward", expected.value, value, expected), ()
    jacobian_value, jacobians = module.jacobian(*inputs)
    if not _close(jacobian_value, value, 1e-12, 1.0 + float(np.max(np.abs(value)))):
        return _mismatch("forward != gradient value", route, "jacobian value", value,
                         jacobian_value, expected), ()
    scale = _scale(expected)
    names = [p.name for p in float_params(params)]
    for name, got, want in zip(names, jacobians, expected.partials):
        if not _close(got, want, PARTIAL_RTOL, scale):
            return _mismatch("wrong partial", route, f"jacobian d/d{name}", want, got,
                             expected), ()
    cotangent = np.linspace(0.5, 1.5, np.size(value)).reshape(np.shape(value))
    _, products = module.vjp(*inputs, cotangent)
    for name, got, want in zip(names, products, expected.partials):
        want = np.tensordot(cotangent, want, axes=np.ndim(value))
        if not _close(got, want, PARTIAL_RTOL, 2 * scale):
            return _mismatch("wrong partial", route, f"vjp d/d{name}", want, got, expected), ()
    if baseline is not None:
        for name, got, want in zip(names, jacobians, baseline):
            if not _close(got, want, ROUTE_RTOL, scale):
                return _mismatch("route disagreement", route, f"d/d{name} against reverse",
                                 want, got, expected), ()
    return _check_array_jvp(route, module, inputs, params, expected, scale), tuple(jacobians)


def _check_array_jvp(route: str, module: Any, inputs: list, params: tuple[Param, ...],
                     expected: Expected, scale: float) -> Failure | None:
    """An array value's ``jvp`` (reverse mode's module has one beside vjp) along a fixed
    tangent against the reference's Jacobians."""
    if not hasattr(module, "jvp"):
        return None
    floats = float_params(params)
    tangents = [np.linspace(-1.0, 1.0, np.size(expected.point[p.name])).reshape(
        np.shape(expected.point[p.name])) for p in floats]
    _, pushed = module.jvp(*inputs, tuple(t if np.ndim(t) else float(t) for t in tangents))
    value_rank = np.ndim(expected.value)
    want = sum(np.tensordot(j, t, axes=np.ndim(t)) if np.ndim(t) else j * t
               for j, t in zip(expected.partials, tangents))
    if not _close(pushed, want, PARTIAL_RTOL, 2 * scale * (1 + value_rank)):
        return _mismatch("wrong partial", route, "jvp of an array value", want, pushed, expected)
    return None


def check_elementwise(module: Any, params: tuple[Param, ...],
                      points: list[Expected]) -> Failure | None:
    """A scalar module called once with arrays of all the points: entry k must be point k."""
    size = BLOCK + len(points) + 1  # past one block: the module computes it block by block
    stacked = [np.resize(np.array([e.point[p.name] for e in points]), size) if p.kind == "float"
               else points[0].point[p.name] for p in params]
    value, partials = module.gradient(*stacked)
    failure = _check_last_point(value, partials, points, size)
    if failure is not None:
        return failure
    names = [p.name for p in float_params(params)]
    for k, expected in enumerate(points):
        if not _close(np.asarray(value)[k], expected.value, VALUE_RTOL,
                      1.0 + abs(float(expected.value))):
            failure = _mismatch("wrong value", "elementwise", f"gradient value, point {k}",
                                expected.value, np.asarray(value)[k], expected)
            return replace(failure, points=points)
        for name, got, want in zip(names, partials, expected.partials):
            if not _close(np.asarray(got)[k], want, PARTIAL_RTOL, _scale(expected)):
                failure = _mismatch("wrong partial", "elementwise", f"d/d{name}, point {k}",
                                    want, np.asarray(got)[k], expected)
                return replace(failure, points=points)
    return None


HVP_STEP = 1e-4         # the reference's second differences: step relative to max(1, |x|)
HVP_RTOL = 1e-3         # what second differences of the reference are trusted to


def check_hvp(module: Any, params: tuple[Param, ...], points: list[Expected],
              reference: Callable) -> Failure | None:
    """``hvp`` along a random tangent v at each point: against central differences of the
    module's gradient along v (the gradient itself checked against the reference), and
    ``<u, H v>`` against second differences of the reference (no gradgen IR) along u and v."""
    if module is None:
        return None
    try:
        with np.errstate(all="ignore"):
            for k, expected in enumerate(points):
                failure = _check_hvp_at(module, params, expected, reference, k)
                if failure is not None:
                    return failure
            return _check_hvp_at_points(module, params, points)
    except Exception as error:  # noqa: BLE001 - every exception is a finding
        return Failure("internal error", "hvp", f"call: {type(error).__name__}: {error}", points)
    return None


def _check_hvp_at_points(module: Any, params: tuple[Param, ...],
                         points: list[Expected]) -> Failure | None:
    """A scalar program's hvp called once with arrays of all its points (a branching one runs
    point by point): entry k is point k's hvp."""
    floats = float_params(params)
    if any(p.kind not in ("float", "int") for p in params) or len(points) < 2:
        return None  # a program of arrays: its points do not stack
    stacked = [np.array([e.point[p.name] for e in points]) if p.kind == "float"
               else points[0].point[p.name] for p in params]
    tangents = tuple(np.linspace(0.5, 1.5, len(points)) for _ in floats)
    together = module.hvp(*stacked, tangents)
    for k, expected in enumerate(points):
        alone = module.hvp(*_call_inputs(expected, params), tuple(t[k] for t in tangents))
        for p, got, want in zip(floats, together, alone):
            if not _close(np.asarray(got)[k], want, ROUTE_RTOL, 1.0 + abs(float(want))):
                return replace(_mismatch("route disagreement", "hvp", f"hvp in {p.name} at "
                                         f"arrays, point {k}", want, np.asarray(got)[k],
                                         expected), points=points)
    return None


def _check_hvp_at(module: Any, params: tuple[Param, ...], expected: Expected,
                  reference: Callable, k: int) -> Failure | None:
    rng = np.random.default_rng(k)
    floats = float_params(params)
    v, u = ({p.name: rng.normal(size=np.shape(expected.point[p.name])) for p in floats}
            for _ in range(2))
    inputs = _call_inputs(expected, params)
    got = module.hvp(*inputs, tuple(v[p.name] for p in floats))
    step = STEP * max(1.0, *(float(np.max(np.abs(expected.point[p.name]))) for p in floats))
    differences, coarse = (_gradient_difference(module, params, expected, v, size)
                           for size in (step, 2 * step))
    scale = 1.0 + max(float(np.max(np.abs(d), initial=0.0)) for d in differences)
    trusted = all(_close(d, c, PARTIAL_RTOL / 4, scale) for d, c in zip(differences, coarse))
    for p, have, want in zip(floats, got, differences if trusted else ()):
        if not _close(have, want, PARTIAL_RTOL, scale):
            return _mismatch("wrong partial", "hvp", f"hvp in {p.name}", want, have, expected)
    want = _second_difference(reference, params, expected, u, v)
    have = sum(float(np.sum(u[p.name] * g)) for p, g in zip(floats, got))
    if want is not None and not _close(have, want, HVP_RTOL, scale * (1.0 + _norm(u))):
        return _mismatch("wrong partial", "hvp", "<u, H v> against the reference", want, have,
                         expected)
    return None


def _gradient_difference(module: Any, params: tuple[Param, ...], expected: Expected,
                         v: dict[str, Any], step: float) -> list[Any]:
    """Central differences of the module's gradient along ``v`` (the gradient's own rounding,
    over ``step``, is their noise: two steps that disagree say not to trust them)."""
    after = module.gradient(*_moved(expected.point, params, v, step))[1]
    before = module.gradient(*_moved(expected.point, params, v, -step))[1]
    return [(a - b) / (2 * step) for a, b in zip(after, before)]


def _moved(point: dict[str, Any], params: tuple[Param, ...], direction: dict[str, Any],
           step: float) -> list[Any]:
    """The inputs at ``point`` moved by ``step`` along ``direction`` (the float inputs)."""
    return [point[p.name] + step * direction[p.name] if p.name in direction else point[p.name]
            for p in params]


def _norm(vector: dict[str, Any]) -> float:
    return math.sqrt(sum(float(np.sum(np.square(x))) for x in vector.values()))


def _second_difference(reference: Callable, params: tuple[Param, ...], expected: Expected,
                       u: dict[str, Any], v: dict[str, Any]) -> float | None:
    """``<u, H v>`` by second differences of the reference, or None where a shifted point
    takes another branch, comes near a switch, or is not finite, or where the differences at
    two steps disagree (too curved here for them to be trusted)."""
    decisions = run_reference(reference, expected.point, params)[1].decisions
    largest = max(float(np.max(np.abs(expected.point[p.name]))) for p in float_params(params))
    h = HVP_STEP * max(1.0, largest)
    fine, coarse = (_mixed_difference(reference, params, expected, u, v, size, decisions)
                    for size in (h, 2 * h))
    if fine is None or coarse is None or not _close(fine, coarse, HVP_RTOL / 4, 1.0):
        return None
    return fine


def _mixed_difference(reference: Callable, params: tuple[Param, ...], expected: Expected,
                      u: dict[str, Any], v: dict[str, Any], h: float,
                      decisions: list) -> float | None:
    """``(f(x+h(u+v)) - f(x+h(u-v)) - f(x-h(u-v)) + f(x-h(u+v))) / 4h^2``, or None where a
    shifted point is not usable (see `_usable`)."""
    total = 0.0
    for a, b, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
        shifted = {name: value + h * (a * u[name] + b * v[name]) if name in u else value
                   for name, value in expected.point.items()}
        value, trace = run_reference(reference, shifted, params)
        if not _usable(value, trace, decisions):
            return None
        total += sign * float(value)
    return total / (4 * h * h)


def _check_last_point(value: Any, partials: tuple, points: list[Expected],
                      size: int) -> Failure | None:
    """The last entry of a call of ``size`` points (the points repeated) is its point's."""
    expected = points[(size - 1) % len(points)]
    got = [np.asarray(value)[-1], *(np.asarray(p)[-1] for p in partials)]
    want = [expected.value, *expected.partials]
    if all(_close(g, w, PARTIAL_RTOL, _scale(expected)) for g, w in zip(got, want)):
        return None
    return replace(_mismatch("wrong partial", "elementwise", "last point past a block", want,
                             got, expected), points=points)


def accepted_points(program: Program, seed: int,
                    preferred: list[dict] | None = None) -> list[Expected]:
    """Up to POINTS reference evaluations at points away from kinks and switches (the
    ``preferred`` points first, as the shrinker asks)."""
    params = program.entry.params
    reference = reference_function(program)
    rng = random.Random(f"points {seed}")
    ints = {p.name: rng.choice((0, 1, 2, 3)) for p in params if p.kind == "int"}
    candidates = [{q.name: p[q.name] for q in params} for p in preferred or []
                  if all(q.name in p for q in params)]
    if candidates:
        ints = {name: candidates[0][name] for name in ints}
    points = []
    for attempt in range(POINT_TRIES + len(candidates)):
        if len(points) == POINTS:
            break
        point = (candidates[attempt] if attempt < len(candidates)
                 else draw_point(params, rng, ints))
        expected = expected_at(reference, params, point)
        if expected is not None:
            points.append(expected)
    return points


def check_program(program: Program, seed: int, routes: list[str] | None = None,
                  preferred: list[dict] | None = None) -> Outcome:
    """Compile ``program`` by every route and compare each with the reference."""
    text = gradgen_source(program)
    routes = routes or routes_for(program)
    modules = {}
    for route in routes:
        if route == "elementwise":
            continue
        try:
            modules[route] = compile_route(text, route)
        except Exception as error:  # noqa: BLE001 - every exception is a finding
            failure = _compile_failure(route, error)
            if failure is not None:
                return Outcome("failed", failure)
    points = accepted_points(program, seed, preferred)
    if not points:
        return Outcome("skipped")
    params = program.entry.params
    array_valued = np.ndim(points[0].value) > 0
    check_point = check_array_point if array_valued else check_scalar_point
    baselines: dict[int, tuple] = {}
    for route in routes:
        if route == "hvp":
            failure = check_hvp(modules.get(route), params, points, reference_function(program))
        else:
            failure = _check_route(route, modules, params, points, check_point, baselines)
        if failure is not None:
            return Outcome("failed", failure)
    return Outcome("passed")


def _check_route(route: str, modules: dict, params: tuple[Param, ...], points: list[Expected],
                 check_point: Callable, baselines: dict[int, tuple]) -> Failure | None:
    try:
        with np.errstate(all="ignore"):
            if route == "elementwise":
                if "reverse" not in modules or len(points) < 2:
                    return None
                return check_elementwise(modules["reverse"], params, points)
            if route not in modules:
                return None
            for k, expected in enumerate(points):
                failure, partials = check_point(route, modules[route], params, expected,
                                                baselines.get(k))
                if failure is not None:
                    return failure
                if route == "reverse":
                    baselines[k] = partials
    except Exception as error:  # noqa: BLE001 - every exception is a finding
        return Failure("internal error", route, f"call: {type(error).__name__}: {error}",
                       points)
    return None



# ---- the shrinker -------------------------------------------------------------------------------

def _same_failure(found: Failure | None, target: Failure) -> bool:
    if found is None or (found.kind, found.route) != (target.kind, target.route):
        return False
    if target.kind in ("refused", "internal error"):
        return _error_shape(found.detail) == _error_shape(target.detail)
    return True


def _error_shape(detail: str) -> str:
    """An error message without its names, numbers and location: what kind of error it is."""
    import re

    first = detail.splitlines()[0] if detail else ""
    first = re.sub(r"prog\.txt:\d+:\d+: ", "", first)
    return re.sub(r"'[^']*'|\d+(\.\d+)?", "#", first)[:60]


def normalized(program: Program) -> Program:
    """Form A takes its free names as inputs; other forms keep their parameters."""
    if program.form != "A":
        return program
    free = sorted(names_read(program.entry) - {"pi"})
    return replace(program, functions=(replace(program.entry,
                                                params=tuple(Param(n) for n in free)),))


def _substitute(node: Any, name: str, value: Any) -> Any:
    for path, sub in list(walk(node)):
        if isinstance(sub, Name) and sub.id == name and path:
            node = replace_at(node, path, value)
    return node


def _statement_candidates(program: Program) -> Iterator[Program]:
    for path, node in walk(program):
        if not path or path[-1][1] is None or isinstance(node, Return):
            continue
        if isinstance(node, (Assign, For, If)):
            yield replace_at(program, path, (), splice=True)
        if isinstance(node, For):
            start = node.start if node.start is not None else Num(0)
            unrolled = tuple(_substitute(s, node.var, start) for s in node.body)
            yield replace_at(program, path, unrolled, splice=True)
            yield from _range_candidates(program, path, node)
        if isinstance(node, If):
            yield replace_at(program, path, node.body, splice=True)
            yield replace_at(program, path, node.orelse, splice=True)
            if node.orelse:
                yield replace_at(program, path, replace(node, orelse=()))


def _range_candidates(program: Program, path: tuple, loop: For) -> Iterator[Program]:
    if isinstance(loop.stop, Num) and isinstance(loop.stop.value, int) and loop.stop.value > 0:
        yield replace_at(program, path, replace(loop, stop=Num(loop.stop.value - 1)))
    elif not isinstance(loop.stop, Num):
        for trips in (1, 2):
            yield replace_at(program, path, replace(loop, stop=Num(trips)))
    if loop.start is not None:
        yield replace_at(program, path, replace(loop, start=None))


def _expression_candidates(program: Program) -> Iterator[Program]:
    for path, node in walk(program):
        if not isinstance(node, EXPRESSIONS) or not path:
            continue
        children = [c for _, c in list(walk(node))[1:] if isinstance(c, EXPRESSIONS)]
        direct = [c for c in _direct_children(node)]
        for child in direct + [c for c in children if c not in direct]:
            yield replace_at(program, path, child)
        if not isinstance(node, Num):
            yield replace_at(program, path, Num(0.5))


def _direct_children(node: Any) -> list:
    if isinstance(node, (Op, Call)):
        return [a for a in node.args if isinstance(a, EXPRESSIONS)]
    if isinstance(node, IfExp):
        return [node.body, node.orelse, node.test]
    if isinstance(node, Index):
        return [node.base]
    return []


def _program_candidates(program: Program) -> Iterator[Program]:
    for k in range(len(program.functions) - 1):
        yield replace(program, functions=program.functions[:k] + program.functions[k + 1:])
    entry = program.entry
    for k, param in enumerate(entry.params):
        if program.form != "A" and param.name not in names_read(replace(entry, params=())):
            smaller = replace(entry, params=entry.params[:k] + entry.params[k + 1:])
            yield replace(program, functions=program.functions[:-1] + (smaller,))


def candidates(program: Program) -> Iterator[Program]:
    """Smaller programs, the biggest cuts first."""
    yield from _program_candidates(program)
    yield from _statement_candidates(program)
    yield from _expression_candidates(program)


def shrink(program: Program, failure: Failure, seed: int,
           budget: int = 400) -> tuple[Program, Failure]:
    """Greedy: take the first smaller program that fails the same way, until none does."""
    routes = ["reverse"] if failure.route == "reverse" else ["reverse", failure.route]
    if failure.route == "elementwise":
        routes = ["elementwise", "reverse"]
    current, current_failure = program, failure
    tried: set[str] = {gradgen_source(program)}
    progress = True
    while progress and len(tried) < budget:
        progress = False
        for candidate in candidates(current):
            candidate = normalized(candidate)
            text = gradgen_source(candidate)
            if text in tried or len(tried) >= budget:
                continue
            tried.add(text)
            preferred = [e.point for e in current_failure.points]
            found = _failure_of(candidate, seed, routes, preferred)
            if _same_failure(found, failure):
                current, current_failure, progress = candidate, found, True
                break
    return current, current_failure


def _failure_of(program: Program, seed: int, routes: list[str],
                preferred: list[dict]) -> Failure | None:
    if program.form == "A" and not program.entry.params:
        return None
    try:
        outcome = check_program(program, seed, routes, preferred)
    except Exception:  # noqa: BLE001 - a candidate the reference cannot run is not smaller
        return None
    return outcome.failure


# ---- reporting ----------------------------------------------------------------------------------

def _literal(value: Any) -> str:
    if isinstance(value, np.ndarray) or np.ndim(value) > 0:
        return f"np.array({np.asarray(value).tolist()!r})"
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    return repr(float(value))


def describe(program: Program, failure: Failure, seed: int) -> str:
    """One failure: what, where, the source and the regression test."""
    return (f"seed {seed} ({program.family}): {failure.kind} [{failure.route}]\n"
            f"  {failure.detail}\n\n"
            "# import textwrap; import numpy as np; from gradgen.pipeline import compile_source\n"
            f"{regression_test(program, failure, seed)}")


def regression_test(program: Program, failure: Failure, seed: int) -> str:
    """A ready-to-paste pytest test reproducing ``failure`` (numbers from the reference)."""
    options = ", ".join(f"{k}={v!r}" for k, v in ROUTE_OPTIONS[failure.route].items())
    options = ", " + options if options else ""
    source = textwrap.indent(gradgen_source(program), "    ")
    lines = [f"def test_differential_seed_{seed}():",
             f"    # {failure.kind} [{failure.route}]: {failure.detail.splitlines()[0][:150]}",
             f'    source = textwrap.dedent("""\\\n{source}""")',
             f'    module = compile_source(source, "prog.txt"{options}).module']
    if failure.points:
        lines += _value_checks(program, failure)
    return "\n".join(lines) + "\n"


def _value_checks(program: Program, failure: Failure) -> list[str]:
    params = program.entry.params
    points = failure.points if failure.route == "elementwise" else failure.points[:1]
    point = {p.name: (np.array([e.point[p.name] for e in points]) if p.kind == "float"
                      and failure.route == "elementwise" else points[0].point[p.name])
             for p in params}
    value = np.array([e.value for e in points]) if len(points) > 1 else points[0].value
    partials = [np.array([e.partials[k] for e in points]) if len(points) > 1
                else points[0].partials[k] for k in range(len(points[0].partials))]
    array_valued = np.ndim(points[0].value) > 0
    call = "jacobian" if array_valued else "gradient"
    arguments = ", ".join(f"{name}={_literal(v)}" for name, v in point.items())
    lines = [f"    point = dict({arguments})",
             "    with np.errstate(all='ignore'):",
             "        forward = module.forward(**point)",
             f"        value, partials = module.{call}(**point)"]
    if "vjp" in failure.detail:
        lines.append(f"        _, partials = module.vjp(*point.values(), {_cotangent(value)})")
        partials = [np.tensordot(np.asarray(eval(_cotangent(value), {"np": np})), p,
                                 axes=np.ndim(value)) for p in partials]
    lines += [f"    expected_value = {_literal(value)}",
              "    expected_partials = [" + ", ".join(_literal(p) for p in partials) + "]"
              "  # central differences of the reference",
              "    np.testing.assert_allclose(forward, expected_value, rtol=1e-9, atol=1e-12)",
              "    np.testing.assert_allclose(value, forward, rtol=1e-12, atol=1e-12)",
              "    for got, want in zip(partials, expected_partials):",
              "        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)"]
    return lines


def _cotangent(value: Any) -> str:
    if np.ndim(value) == 0:
        return "1.5"
    return f"np.linspace(0.5, 1.5, {np.size(value)}).reshape({np.shape(value)})"


# ---- running many seeds -------------------------------------------------------------------------

@dataclass
class Report:
    """What a run of seeds found: counts, known failures, and each new failure shrunk."""

    passed: int = 0
    skipped: int = 0
    known: list[tuple[int, str]] = field(default_factory=list)
    now_passing: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.passed} passed, {self.skipped} skipped (no point away from kinks), "
                 f"{len(self.known)} known failures, {len(self.failures)} new failures"]
        lines += [f"  known failure, seed {seed}: {reason}" for seed, reason in self.known]
        lines += [f"  seed {seed} now passes: remove it from KNOWN_FAILURES"
                  for seed in self.now_passing]
        return "\n".join(lines)


def run_seeds(seeds: Any, known: dict[int, str] | None = None,
              shrink_budget: int = 400) -> Report:
    """Check the program of every seed; shrink each new failure to a regression test."""
    known = KNOWN_FAILURES if known is None else known
    report = Report()
    for seed in seeds:
        program = generate(seed)
        outcome = check_program(program, seed)
        if outcome.status == "skipped":
            report.skipped += 1
        elif outcome.status == "passed":
            report.passed += 1
            if seed in known:
                report.now_passing.append(seed)
        elif seed in known:
            report.known.append((seed, known[seed]))
        else:
            small, failure = shrink(program, outcome.failure, seed, shrink_budget)
            report.failures.append(describe(small, failure, seed))
    return report


def main(argv: list[str]) -> int:
    """``python tests/program_generator.py START COUNT [--numba]``: a campaign, printed as it
    goes (``--numba``: the numba target too, for scalar programs)."""
    start, count = int(argv[1]), int(argv[2])
    EXTRA_ROUTES[:] = ["numba"] if "--numba" in argv[3:] else []
    began = time.time()
    total = Report()
    for seed in range(start, start + count):
        report = run_seeds([seed], known={})
        total.passed += report.passed
        total.skipped += report.skipped
        for text in report.failures:
            total.failures.append(text)
            print(text, flush=True)
    print(total.summary(), f"in {time.time() - began:.1f} s", flush=True)
    return 1 if total.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

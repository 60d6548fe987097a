"""Lowering: syntax tree (`syntax.Function`) → IR (`ir.Graph`).

Resolves names (inputs, assigned variables, reassignment, dimension names), checks calls against
the registry (known function, arity, keyword arguments, numbers versus conditions), infers and
checks shapes (a mismatch names both shapes and the operation) and builds one edge per operation.
The postfix expressions are evaluated with a loop and a value stack, so depth costs no recursion.

Some arguments are not values but part of the operation: an ``axis``, ``keepdims``, an index, a
shape. They are *static*: whole numbers, ``True``/``False``/``None``, dimension names, and sums,
differences and products of those, or tuples of them. They become the edge's parameters. A
dimension name used as a value (``sum(x) / n``) is the size of that dimension, read off the
input that declares it.
"""

from __future__ import annotations

import difflib
import itertools
import math
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gradgen.errors import CompileError
from gradgen.frontend.scopes import BranchScope, Frame, LoopScope, Scope, assigned_names
from gradgen.frontend.syntax import (
    WHOLE,
    Assign,
    Expr,
    For,
    Function,
    If,
    Item,
    Name,
    Return,
    Statement,
)
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.graph import Graph, Shape, Var
from gradgen.ir.naming import (
    derivative_names,
    entry_aliases,
    folded,
    helper_name,
    module_globals,
)
from gradgen.ir.primitives import (
    BINARY_OPERATORS,
    FUNCTIONS,
    REGISTRY,
    UNARY_OPERATORS,
    ShapeError,
    shape_text,
)
from gradgen.ir.primitives.arrays import is_position
from gradgen.ir.primitives.branches import cond_params
from gradgen.ir.primitives.calls import call_params
from gradgen.ir.primitives.loops import MAX_NESTING, loop_params

#: Functions of the language that are not primitives of their own: name -> allowed arities.
SUGAR_ARITIES = {"log": (1, 2), "max": (1, 2), "min": (1, 2)}
#: Other spellings of primitives.
ALIASES = {"maximum": "max", "minimum": "min", "dot": "matmul"}
#: ``max(x)`` and ``min(x)`` with one argument are reductions.
REDUCTIONS = {"max": "amax", "min": "amin"}
#: Functions whose arguments are static shapes: name -> number of arguments.
CONSTRUCTORS = {"zeros": 1, "ones": 1, "eye": 1, "reshape": 2}
#: Functions joining a tuple of arrays along an axis.
JOINS = ("stack", "concat")
#: The longest dimension expression kept at compile time (``T-1``, ``2*n+1``): a loop bound
#: or a size is short, and a sum of 10^6 scalar inputs must not build ever longer texts.
STATIC_TEXT_LIMIT = 64
#: The names that stand for static literals (where no variable of that name exists).
LITERALS = {"True": True, "False": False, "None": None}


def lower(function: Function, straight_line: bool = False) -> Graph:
    """Build the IR graph of a parsed source file. With ``straight_line``, every ``if`` is
    a selection (``where``), for the routes that take straight-line programs only."""
    return _Lowering(function, straight_line).run()


def _temporary_names(function: Function, taken_names: set[str]) -> Iterator[str]:
    """``v1, v2, ...`` for values the source does not name, skipping the source's own names
    (as Python reads them: ``ｖ1`` is ``v1``)."""
    taken = {folded(name) for name in taken_names}
    for each in (function, *function.helpers):  # names at any depth: loops, branches, helpers
        taken.update(folded(name) for name in assigned_names(each.body))
        taken.update(folded(param.text) for param in each.params or ())
    return (name for name in (f"v{k}" for k in itertools.count(1)) if name not in taken)


@dataclass(frozen=True)
class _Tuple:
    elements: tuple[tuple[Any, Item], ...]


@dataclass(frozen=True)
class _Keyword:
    name: str
    value: Any
    item: Item  # the value's


@dataclass(frozen=True)
class _Slice:
    parts: tuple[tuple[Any, Item], ...]  # start, stop, step


@dataclass(frozen=True)
class _Literal:
    value: Any


_OMITTED = _Literal("omitted")
_WHAT = {_Tuple: "a tuple", _Keyword: "a keyword argument", _Slice: "a slice"}
_STATIC_ARITHMETIC = {"add": "+", "sub": "-", "mul": "*"}
_WHOLE_ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                     "neg": operator.neg}


class _Lowering:
    def __init__(self, function: Function, straight_line: bool = False) -> None:
        self.function = function
        self.straight_line = straight_line
        self.builder = GraphBuilder()
        self.env: dict[str, Var] = {}
        self.input_names = self._input_names()
        self.dimensions = self._dimensions()  # name -> (input index, axis)
        self.static: dict[Var, int | str] = {}  # values known at compile time
        self.scopes: list[Scope] = []  # the loops and branches being lowered, outermost first
        # names assigned only inside a finished block: where first, and which block
        self.block_locals: dict[str, tuple[Name, str]] = {}
        self.helpers = {helper.name.text: helper for helper in function.helpers}
        self.calling: list[str] = []  # the helpers being lowered, outermost first
        # the names assigned in each open side of an if (the function's body at the bottom)
        self.assigned: list[dict[str, Name]] = [{}]
        self.helper_graphs: dict[tuple, Graph] = {}  # (name, argument shapes) -> graph
        entry = function.name.text
        # a helper is a module-level function: it must not meet a global or the entry's names
        module_names = module_globals()
        self.function_names = module_names | frozenset(entry_aliases(entry, module_names))
        self.temporaries = _temporary_names(function, set(self.input_names) | set(self.dimensions))

    def run(self) -> Graph:
        inputs = tuple(self._input_var(index) for index in range(len(self.input_names)))
        self.env.update(zip(self.input_names, inputs))
        self.inputs = inputs
        self.root_builder = self.builder
        for var in inputs:
            if not var.shape:
                self.static[var] = var.name  # a scalar input may bound a loop: range(N)
        output = self.lower_statements(self.function.body)
        assert output is not None, "the parser guarantees a return"
        return Graph(self.function.name.text, inputs, tuple(self.builder.edges), (output,),
                     self.function.source.text)

    # ---- statements: assignments, loops and branches -----------------------------------------

    def lower_statements(self, body: tuple[Statement, ...], name: str | None = None) -> Var | None:
        """Lower a function body (``name``: the function's, for its value); the blocks of loops
        and branches are frames on an explicit stack, so nesting costs no recursion."""
        frames = [Frame(iter(body))]
        output = None
        while frames:
            statement = next(frames[-1].statements, None)
            if statement is None:
                frame = frames.pop()
                following = frame.close() if frame.close is not None else None
                if following is not None:
                    frames.append(following)
            elif isinstance(statement, Assign):
                self.check_target(statement.target)
                self.env[statement.target.text] = self.evaluate(statement.expr,
                                                                statement.target.text)
                self.assigned[-1].setdefault(statement.target.text, statement.target)
            elif isinstance(statement, Return):
                output = self.evaluate(statement.expr, name or self.function.name.text)
                self.require_number(output, statement)
            elif isinstance(statement, For):
                frames.append(self.open_loop(statement))
            else:
                frames.append(self.open_branch(statement))
        return output

    def open_loop(self, statement: For) -> Frame:
        """Start lowering a loop's body into a graph of its own."""
        if len(self.scopes) >= MAX_NESTING:
            self.fail(f"loops nest more than {MAX_NESTING} deep", statement)
        start = (self.bound(statement.start, "start") if statement.start is not None
                 else self.builder.const(0.0))
        stop = self.bound(statement.stop, "stop")
        target = statement.target.text
        assigned = assigned_names(statement.body)
        if target in assigned:
            self.fail(f"the loop variable '{target}' cannot be assigned in the loop",
                      assigned[target].target)
        carried = [name for name in assigned if self.visible(name)]
        initial = [self.number(self.value(self.lookup_name(name, statement), statement,
                                          "a loop")) for name in carried]
        carried_in = [Var(name, var.shape, var.dtype) for name, var in zip(carried, initial)]
        scope = LoopScope(self.builder, self.env, GraphBuilder(), statement,
                          index=Var(target, (), "int"), carried=carried, carried_init=initial,
                          carried_in=carried_in, bounds=(start, stop))
        self.scopes.append(scope)
        self.builder = scope.builder
        self.env = {target: scope.index, **dict(zip(carried, scope.carried_in))}
        self.static[scope.index] = target
        return Frame(iter(statement.body), lambda: self.close_loop(scope))

    def bound(self, expr: Expr, which: str) -> Var:
        """A loop's start or stop: a whole number, a dimension, an integer input, or integer
        arithmetic of those."""
        var = self.evaluate(expr, None)
        if var.shape or self.static_of(var) is None:
            self.fail(f"the loop's {which} must be a whole number, a dimension or an integer "
                      "input (or +, -, * of those)", expr[-1])
        if var.dtype != "int" and not var.is_const:  # an input: checked whole at call time
            var = self.builder.emit("whole", (var,), next(self.temporaries))
        return var

    def number(self, var: Var) -> Var:
        """``var`` where a number is wanted (a loop's carried value, a helper's argument that
        is not ``n: int``): a whole number becomes a float, keeping its compile-time value."""
        if var.dtype != "int":
            return var
        number = self.builder.emit("to_float", (var,), next(self.temporaries))
        if self.static_of(var) is not None:
            self.static[number] = self.static_of(var)
        return number

    def visible(self, name: str) -> bool:
        return name in self.env or any(name in scope.outer_env for scope in self.scopes)

    def close_loop(self, scope: LoopScope) -> None:
        """The body is lowered: add the loop edge and its results to the enclosing graph."""
        statement = scope.statement
        carried_out = [self.number(self.env[name]) for name in scope.carried]  # x = i: a number
        for name, before, after in zip(scope.carried, scope.carried_in, carried_out):
            if before.shape != after.shape or before.dtype != after.dtype:
                where = assigned_names(statement.body)[name].target
                self.fail(f"'{name}' changes from {_kind(before)} to {_kind(after)} in one "
                          "step of the loop", where)
        invariants = list(scope.invariants.items())
        body = Graph(f"{self.function.name.text}_loop", (scope.index, *scope.carried_in,
                                                         *(inner for _, inner in invariants)),
                     tuple(scope.builder.edges), tuple(carried_out))
        self.scopes.pop()
        self.builder, self.env = scope.outer_builder, scope.outer_env
        start, stop = scope.bounds
        loop = self.builder.emit(
            "loop", (start, stop, *scope.carried_init, *(outer for outer, _ in invariants)),
            None, as_params(loop_params(body, len(scope.carried), 0, 0)))
        for k, (name, var) in enumerate(zip(scope.carried, scope.carried_init)):
            self.env[name] = self.builder.take(loop, k, var, name)
        for name, first in assigned_names(statement.body).items():
            if name not in scope.carried:
                self.block_locals[name] = (first.target, "only inside the loop")

    def open_branch(self, statement: If) -> Frame:
        """Start lowering an ``if``: a real branch on a number, a selection on an array."""
        test = self.evaluate(statement.test, None)
        if test.dtype != "bool":
            self.fail("'if' expects a condition such as 'x > 0', got a number",
                      statement.test[-1])
        if test.shape or self.straight_line or len(self.scopes) >= MAX_NESTING:
            return self.open_selection(statement, test)
        scope = BranchScope(self.builder, self.env, GraphBuilder(), statement, test=test)
        self.scopes.append(scope)
        self.builder, self.env = scope.builder, {}
        self.assigned.append({})

        def after_then() -> Frame:
            scope.then_env, scope.then_edges = self.env, scope.builder.edges
            self.builder, self.env = GraphBuilder(), {}
            self.assigned.append({})
            return Frame(iter(statement.orelse), lambda: self.close_branch(scope))

        return Frame(iter(statement.body), after_then)

    def close_sides(self) -> tuple[dict[str, Name], dict[str, Name]]:
        """The names each side of the ``if`` just lowered assigns (at any depth), with where
        first; the enclosing block assigns them too."""
        orelse, then = self.assigned.pop(), self.assigned.pop()
        for side in (then, orelse):
            for name, target in side.items():
                self.assigned[-1].setdefault(name, target)
        return then, orelse

    def close_branch(self, scope: BranchScope) -> None:
        """Both sides are lowered: add the cond edge and its results to the enclosing graph.
        Its results are the variables both sides assign, or either side and known before."""
        statement = scope.statement
        sides = (scope.then_env, self.env)
        else_edges = self.builder.edges
        known = [scope.outer_env, *(s.outer_env for s in self.scopes[:-1])]
        by_side = self.close_sides()
        assigned = [[name for name in side if name in env] for side, env in zip(by_side, sides)]
        names = [name for name in dict.fromkeys([*assigned[0], *assigned[1]])
                 if all(name in side for side in assigned) or any(name in env for env in known)]
        outputs: tuple[list[Var], list[Var]] = ([], [])
        for name in names:
            for env, found in zip(sides, outputs):
                self.env = {}  # a side that leaves the name alone passes the outside value on
                found.append(env.get(name) or self.lookup_name(name, statement))
            if outputs[0][-1].dtype != outputs[1][-1].dtype:  # N: int on one side only
                for found, builder in zip(outputs, (scope.builder, self.builder)):
                    if found[-1].dtype == "int":
                        found[-1] = builder.emit("to_float", (found[-1],))
            then, orelse = outputs[0][-1], outputs[1][-1]
            if then.shape != orelse.shape or then.dtype != orelse.dtype:
                self.fail(f"'{name}' has {_kind(then)} after the 'if' side and {_kind(orelse)} "
                          "after the 'else' side; give it the same in both", statement)
        self.scopes.pop()
        self.builder, self.env = scope.outer_builder, scope.outer_env
        self.note_block_locals(by_side, names)
        inputs = tuple(scope.invariants.values())
        function = self.function.name.text
        then = Graph(f"{function}_then", inputs, tuple(scope.then_edges), tuple(outputs[0]))
        orelse = Graph(f"{function}_else", inputs, tuple(else_edges), tuple(outputs[1]))
        cond = self.builder.emit("cond", (scope.test, *scope.invariants), None,
                                 as_params(cond_params(then, orelse, len(names))))
        for k, (name, var) in enumerate(zip(names, outputs[0])):
            self.env[name] = self.builder.take(cond, k, var, name)

    def note_block_locals(self, sides: tuple[dict[str, Name], ...], kept: list[str]) -> None:
        """Names the sides of an ``if`` assign that do not live on after it."""
        for side in sides:
            for name, first in side.items():
                if name not in kept:
                    self.block_locals[name] = (first, "in only one side of the 'if'")

    def open_selection(self, statement: If, test: Var) -> Frame:
        """Lower an ``if`` as a selection: each side in its own copy of the environment, then
        ``where`` for every variable the sides assign."""
        before = self.env
        self.env = dict(before)
        self.assigned.append({})

        def after_then() -> Frame:
            then_env, self.env = self.env, dict(before)
            self.assigned.append({})
            return Frame(iter(statement.orelse),
                         lambda: self.merge_branches(statement, test, before, then_env))

        return Frame(iter(statement.body), after_then)

    def merge_branches(self, statement: If, test: Var, before: dict[str, Var],
                       then_env: dict[str, Var]) -> None:
        else_env, merged = self.env, dict(before)
        kept = []
        for name in {**then_env, **else_env}:
            then, orelse = then_env.get(name), else_env.get(name)
            if then is None or orelse is None:  # a side that leaves it alone passes on the
                self.env = merged               # value from before (inside a block: an input)
                known = self.lookup_name(name, statement)
                then, orelse = then or known, orelse or known
            if then is None or orelse is None or (then is before.get(name)
                                                  and orelse is before.get(name)):
                continue  # assigned on one side only: it does not live on after the 'if'
            kept.append(name)
            merged[name] = then if then is orelse else self.builder.emit(
                "where", (test, then, orelse), name)
        self.env = merged
        self.note_block_locals(self.close_sides(), kept)

    def lookup_name(self, name: str, where: Any) -> Any:
        """The node a name stands for here: this body's, or an enclosing one's brought in as
        an invariant input of each loop in between."""
        var = self.env.get(name)
        if var is not None:
            return var
        for depth in range(len(self.scopes) - 1, -1, -1):
            var = self.scopes[depth].outer_env.get(name)
            if var is not None:
                for scope in self.scopes[depth:]:
                    outer = var
                    var = scope.invariant(outer)
                    if outer in self.static:
                        self.static[var] = self.static[outer]
                self.env[name] = var
                return var
        return None

    def require_number(self, output: Var, statement: Return) -> None:
        if output.dtype == "bool":
            raise CompileError("the function's value must be a number, not a condition; "
                               "write 'where(cond, 1, 0)' for an indicator",
                               self.function.source, statement.line, statement.col)

    # ---- names and dimensions --------------------------------------------------------------

    def _input_names(self) -> list[str]:
        if self.function.params is not None:
            return [param.text for param in self.function.params]
        expr = self.function.body[-1].expr
        return sorted({item.text for item in expr if item.kind == "name"})

    def _declared(self, index: int) -> tuple[Name, ...] | None:
        """The dimensions declared for input ``index`` (None for a scalar or ``N: int``)."""
        shapes = self.function.shapes
        declared = shapes[index] if index < len(shapes) else None
        return None if declared == WHOLE else declared

    def _input_var(self, index: int) -> Var:
        shapes = self.function.shapes
        whole = index < len(shapes) and shapes[index] == WHOLE
        dims = self._declared(index) or ()
        shape = tuple(int(d.text) if d.text.isdigit() else d.text for d in dims)
        return Var(self.input_names[index], shape, "int" if whole else "float")

    def _dimensions(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for index in range(len(self.input_names)):
            for axis, dim in enumerate(self._declared(index) or ()):
                if dim.text.isdigit():
                    continue
                if dim.text in self.input_names:
                    self.fail(f"'{dim.text}' is both a parameter and a dimension name", dim)
                found.setdefault(dim.text, (index, axis))
        return found

    def check_target(self, target: Name) -> None:
        if target.text in self.dimensions:
            index, _ = self.dimensions[target.text]
            self.fail(f"'{target.text}' is a dimension of {self.input_names[index]}; "
                      "choose another name for the variable", target)

    def lookup(self, item: Item) -> Any:
        var = self.lookup_name(item.text, item)
        if var is not None:
            return var
        if item.text in self.dimensions:
            return self.dimension(item.text, item)
        if item.text in LITERALS:
            return _Literal(LITERALS[item.text])
        self.fail(self.unknown_name_message(item.text), item)

    def dimension(self, name: str, item: Item) -> Var:
        """The size of dimension ``name``, read off the first input that declares it (at the
        function's top level, and brought into loops like any outside value)."""
        index, axis = self.dimensions[name]
        var = self.root_builder.emit("dim", (self.inputs[index],), name,
                                     as_params({"axis": axis}))
        (self.scopes[0].outer_env if self.scopes else self.env)[name] = var  # the function's own
        self.static[var] = self.inputs[index].shape[axis]  # in a helper, the caller's size
        return self.lookup_name(name, item)

    def unknown_name_message(self, name: str) -> str:
        inputs = ", ".join(self.input_names) or "none"
        message = f"'{name}' is not an input; inputs are {inputs}"
        variables = [n for n in self.env
                     if n not in self.input_names and n not in self.dimensions]
        if variables:
            message = f"'{name}' is not an input or an assigned variable; inputs are {inputs}"
            message += f"; variables so far: {', '.join(variables)}"
        if self.dimensions:
            message += f"; dimensions: {', '.join(self.dimensions)}"
        if name in self.block_locals:
            first, where = self.block_locals[name]
            block = "the loop" if "loop" in where else "the 'if'"
            return (f"'{name}' is assigned {where} (at {first.line}:{first.col}); "
                    f"give it a value before {block} to use it after")
        guess = difflib.get_close_matches(name, list(self.env) + list(self.dimensions), n=1)
        if guess:
            message += f" — did you mean '{guess[0]}'?"
        if name in FUNCTIONS:
            message += f" ({name} is a function: call it as {name}(...))"
        return message

    # ---- expressions ---------------------------------------------------------------------

    def evaluate(self, expr: tuple[Item, ...], name: str) -> Var:
        """Run a postfix expression; the last operation's node gets ``name``."""
        stack: list[tuple[Any, Item]] = []
        last = len(expr) - 1
        for index, item in enumerate(expr):
            node_name = name if index == last else None
            stack.append((self.step(item, stack, node_name), item))
        (result, item), = stack
        return self.value(result, item, "the expression")

    def step(self, item: Item, stack: list[tuple[Any, Item]], name: str | None) -> Any:
        kind = item.kind
        if kind == "num":
            return self.builder.const(item.value)
        if kind == "const":
            return self.builder.const(math.pi, "pi")
        if kind == "name":
            return self.lookup(item)
        if kind == "call":
            return self.call(item, self.pop(stack, item.nargs), name)
        if kind == "binary":
            return self.apply(BINARY_OPERATORS[item.text], item, self.pop(stack, 2), name)
        if kind == "unary":
            return self.apply(UNARY_OPERATORS[item.text], item, self.pop(stack, 1), name)
        if kind == "cond":
            then, test, orelse = self.pop(stack, 3)
            return self.apply("where", item, [test, then, orelse], name)
        return self.structure(item, stack, name)

    def structure(self, item: Item, stack: list[tuple[Any, Item]], name: str | None) -> Any:
        """The items that build static structure: keywords, tuples, slices and indexing."""
        kind = item.kind
        if kind == "keyword":
            (value, value_item), = self.pop(stack, 1)
            return _Keyword(item.text, value, value_item)
        if kind == "tuple":
            return _Tuple(tuple(self.pop(stack, item.nargs)))
        if kind == "none":
            return _OMITTED
        if kind == "slice":
            return _Slice(tuple(self.pop(stack, 3)))
        if kind == "index":
            target, *elements = self.pop(stack, item.nargs + 1)
            entries = [self.index_entry(value, element) for value, element in elements]
            positions = [entry[1] for entry in entries if is_position(entry)]
            index, at = [], 0
            for entry in entries:  # a run-time position becomes an operand: ("at", k)
                index.append(("at", at) if is_position(entry) else entry)
                at += is_position(entry)
            return self.emit("getitem", item, (self.value(*target, "indexing"), *positions),
                             name, {"index": tuple(index)})
        raise AssertionError(f"unknown syntax item {kind!r}")

    @staticmethod
    def pop(stack: list[tuple[Any, Item]], count: int) -> list[tuple[Any, Item]]:
        if count == 0:
            return []
        args = stack[-count:]
        del stack[-count:]
        return args

    def value(self, value: Any, item: Item, where: str) -> Var:
        """``value`` as a node; a tuple, slice, keyword or literal is an error here."""
        if isinstance(value, Var):
            return value
        what = _WHAT.get(type(value)) or repr(value.value)
        self.fail(f"{where} expects a value, got {what}", item)

    # ---- calls -----------------------------------------------------------------------------

    def call(self, item: Item, args: list[tuple[Any, Item]], name: str | None) -> Var:
        function = item.text
        positional = [(v, i) for v, i in args if not isinstance(v, _Keyword)]
        keywords = {v.name: (v.value, v.item) for v, _ in args if isinstance(v, _Keyword)}
        if function in CONSTRUCTORS and function not in self.env:
            return self.construct(item, positional, keywords, name)
        if function in JOINS and function not in self.env:
            return self.join(item, positional, keywords, name)
        if (function in self.helpers or function == self.function.name.text
                and self.helpers) and function not in self.env:
            return self.call_helper(item, positional, keywords, name)
        if function == "log" and len(positional) == 2 and not keywords:
            value, base = positional
            logs = (self.apply("log", item, [value], None), self.apply("log", item, [base], None))
            return self.builder.emit("div", logs, name or next(self.temporaries))
        prim = self.resolve(item, len(positional))
        entry = REGISTRY[prim]
        expected = SUGAR_ARITIES.get(function, (entry.arity,))
        if len(positional) not in expected:
            counts = " or ".join(map(str, expected))
            plural = "" if expected == (1,) else "s"
            self.fail(f"{function} takes {counts} argument{plural}, got {len(positional)}", item)
        params = self.keyword_params(item, entry.keywords, keywords, positional[0])
        return self.apply(prim, item, positional, name, params)

    def call_helper(self, item: Item, positional: list[tuple[Any, Item]],
                    keywords: dict[str, tuple[Any, Item]], name: str | None) -> Var:
        """A call of one of the file's other functions: a ``call`` edge of the helper's own
        graph (lowered once per signature), or in a straight-line graph its body lowered in
        place. Either way the helper sees only its parameters."""
        if item.text in self.calling or item.text == self.function.name.text:
            start = self.calling.index(item.text) if item.text in self.calling else 0
            callers = ([] if item.text in self.calling else [self.function.name.text])
            chain = " -> ".join([*callers, *self.calling[start:], item.text])
            self.fail(f"recursion is not supported: {chain}", item)
        if len(self.calling) >= MAX_NESTING:
            self.fail(f"helpers call each other more than {MAX_NESTING} deep", item)
        helper = self.helpers[item.text]
        if keywords:
            self.fail(f"{item.text} takes no keyword arguments", next(iter(keywords.values()))[1])
        params = [param.text for param in helper.params]
        if len(positional) != len(params):
            self.fail(f"{item.text} takes {len(params)} argument"
                      f"{'' if len(params) == 1 else 's'}, got {len(positional)}", item)
        args = [self.value(value, arg_item, item.text) for value, arg_item in positional]
        self.check_arguments(helper, args, positional)
        args = [self.builder.emit("whole", (arg,), next(self.temporaries))
                if declared == WHOLE and arg.dtype != "int" else
                self.number(arg) if declared != WHOLE else arg
                for arg, declared in zip(args, helper.shapes or [None] * len(args))]
        if self.straight_line:
            return self.in_helper(helper, dict(zip(params, args)), None)
        graph = self.helper_graph(helper, args)
        return self.builder.emit("call", tuple(args), name or next(self.temporaries),
                                 as_params(call_params(graph)))

    def helper_graph(self, helper: Function, args: list[Var]) -> Graph:
        """The graph of ``helper`` for arguments of these shapes and kinds (made once)."""
        key = (helper.name.text, tuple((arg.shape, arg.dtype) for arg in args))
        graph = self.helper_graphs.get(key)
        if graph is None:
            inputs = tuple(Var(param.text, arg.shape, arg.dtype)
                           for param, arg in zip(helper.params, args))
            for var in inputs:
                if not var.shape:
                    self.static[var] = var.name  # a scalar argument may bound a loop
            builder = GraphBuilder()
            output = self.in_helper(helper, {var.name: var for var in inputs}, builder)
            name = self.function_name(helper.name.text)
            graph = self.helper_graphs[key] = Graph(name, inputs, tuple(builder.edges),
                                                    (output,), helper.source.text)
        return graph

    def function_name(self, hint: str) -> str:
        """A module-level name for a helper, free together with its derivatives' names."""
        name = helper_name(hint, self.function_names)
        self.function_names |= {name, *derivative_names(name)}
        return name

    def in_helper(self, helper: Function, env: dict[str, Var],
                  builder: GraphBuilder | None) -> Var:
        """Lower a helper's body with ``env`` for its parameters, into ``builder`` (its own
        graph) or, if None, in place."""
        saved = {name: getattr(self, name) for name in _FUNCTION_STATE}
        self.env, self.scopes, self.input_names, self.assigned = env, [], list(env), [{}]
        self.inputs, self.block_locals = tuple(env.values()), {}
        self.builder = builder or self.builder
        self.root_builder = self.builder
        self.dimensions = {dim.text: (index, axis)
                           for index, declared in enumerate(helper.shapes or ())
                           if declared != WHOLE
                           for axis, dim in enumerate(declared or ()) if not dim.text.isdigit()}
        self.calling.append(helper.name.text)
        try:
            return self.lower_statements(helper.body, helper.name.text)
        finally:
            self.calling.pop()
            for name, value in saved.items():
                setattr(self, name, value)

    def check_arguments(self, helper: Function, args: list[Var],
                        positional: list[tuple[Any, Item]]) -> None:
        """Arguments against a helper's declared shapes (its dimension names bind per call)."""
        bound: dict[str, int | str] = {}
        for param, declared, arg, (_, arg_item) in zip(helper.params, helper.shapes or (),
                                                        args, positional):
            if declared is None:
                continue
            if declared == WHOLE:
                if arg.shape or arg.dtype == "bool":
                    self.fail(f"argument {param.text} of {helper.name.text} is a whole number "
                              f"(int), got {_kind(arg)}", arg_item)
                continue
            want = tuple(int(d.text) if d.text.isdigit() else d.text for d in declared)
            fits = len(want) == len(arg.shape) and all(
                bound.setdefault(w, a) == a if isinstance(w, str) else w == a
                for w, a in zip(want, arg.shape))
            if not fits:
                self.fail(f"argument {param.text} of {helper.name.text} has shape "
                          f"{shape_text(arg.shape)}, expected {shape_text(want)}", arg_item)

    def resolve(self, item: Item, count: int) -> str:
        """The primitive that a call of ``item.text`` with ``count`` arguments applies."""
        function = ALIASES.get(item.text, item.text)
        if function in REDUCTIONS and count == 1:
            return REDUCTIONS[function]
        if function not in FUNCTIONS and item.text not in ALIASES:
            self.fail(self.unknown_function_message(item.text), item)
        return function

    def unknown_function_message(self, function: str) -> str:
        if function in self.env:
            return (f"'{function}' is not a function; to multiply, write "
                    f"'{function}*(...)'")
        message = f"unknown function '{function}'"
        names = list(FUNCTIONS) + list(ALIASES) + list(CONSTRUCTORS) + list(JOINS)
        guess = difflib.get_close_matches(function, names, n=1)
        return message + (f" — did you mean '{guess[0]}'?" if guess else "")

    def keyword_params(self, item: Item, allowed: dict[str, Any],
                       given: dict[str, tuple[Any, Item]],
                       first: tuple[Any, Item] | None) -> dict[str, Any]:
        """The parameters of a call: its keyword arguments, normalised, over the defaults."""
        for key, (_, value_item) in given.items():
            if key not in allowed:
                takes = f"; it takes {', '.join(allowed)}" if allowed else ""
                self.fail(f"{item.text} has no keyword argument '{key}'{takes}", value_item)
        if not allowed or first is None:
            return {}
        target = self.value(*first, item.text)
        if not target.shape:
            self.fail(f"{item.text} of a scalar: declare the input's shape in the signature, "
                      "e.g. 'x: (n,)'", first[1])
        params = dict(allowed)
        params.update({key: value for key, (value, _) in given.items()})
        items = {key: value_item for key, (_, value_item) in given.items()}
        if "keepdims" in params:
            params["keepdims"] = self.static_bool(params["keepdims"], items.get("keepdims", item))
        single = "keepdims" not in allowed  # softmax: one axis
        params["axis"] = self.static_axis(params["axis"], items.get("axis", item),
                                          target.shape, single)
        return params

    def construct(self, item: Item, positional: list[tuple[Any, Item]],
                  keywords: dict[str, tuple[Any, Item]], name: str | None) -> Var:
        """``zeros(shape)``, ``ones(shape)``, ``eye(n)``, ``reshape(x, shape)``."""
        function = item.text
        count = CONSTRUCTORS[function]
        if keywords:
            key, (_, value_item) = next(iter(keywords.items()))
            self.fail(f"{function} has no keyword argument '{key}'", value_item)
        if len(positional) != count:
            plural = "" if count == 1 else "s"
            self.fail(f"{function} takes {count} argument{plural}, got {len(positional)}", item)
        shape, dims = self.static_shape(*positional[-1])
        if function == "eye":
            if len(shape) != 1:
                self.fail("eye takes the size n of the n×n identity", positional[0][1])
            shape = shape * 2
        inputs = tuple(dims)
        if function == "reshape":
            target = self.value(*positional[0], "reshape")
            self.check_same_size(target.shape, shape, positional[1][1])
            inputs = (target,) + inputs
        return self.emit(function, item, inputs, name, {"shape": shape})

    def join(self, item: Item, positional: list[tuple[Any, Item]],
             keywords: dict[str, tuple[Any, Item]], name: str | None) -> Var:
        """``stack((a, b), axis=0)``, ``concat((a, b), axis=0)``."""
        function = item.text
        self.keyword_params(item, {"axis": 0}, keywords, None)
        group = positional[0][0] if len(positional) == 1 else None
        if not isinstance(group, _Tuple) or not group.elements:
            self.fail(f"{function} takes a tuple of arrays: {function}((a, b), axis=0)", item)
        parts = tuple(self.value(value, part_item, function) for value, part_item in group.elements)
        axis_value, axis_item = keywords.get("axis", (None, item))
        axis = 0 if axis_value is None else self.static_int(axis_value, axis_item, "an axis")
        rank = len(parts[0].shape) + (function == "stack")
        if -rank <= axis < 0:
            axis += rank
        return self.emit(function, item, parts, name, {"axis": axis})

    def check_same_size(self, old: Shape, new: Shape, item: Item) -> None:
        if _size(old) != _size(new):
            self.fail(f"reshape of {shape_text(old)} to {shape_text(new)}: the sizes differ",
                      item)

    # ---- static values ----------------------------------------------------------------------

    def static_of(self, value: Any) -> int | str | None:
        """The compile-time value of a node: a whole number or a dimension expression."""
        if not isinstance(value, Var):
            return None
        if value.is_const:
            return int(value.value) if value.value.is_integer() and not value.symbol else None
        return self.static.get(value)

    def static_int(self, value: Any, item: Item, what: str) -> int:
        number = self.static_of(value)
        if not isinstance(number, int):
            self.fail(f"{what} must be a whole number written in the source", item)
        return number

    def static_bool(self, value: Any, item: Item) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, _Literal) and isinstance(value.value, bool):
            return value.value
        self.fail("expected True or False", item)

    def static_axis(self, value: Any, item: Item, shape: Shape,
                    single: bool) -> tuple[int, ...] | None:
        """An ``axis`` argument as sorted non-negative axes (None: every axis)."""
        if value is None or (isinstance(value, _Literal) and value.value is None):
            if single:
                self.fail("axis must be one whole number here", item)
            return None
        if isinstance(value, int):
            given = [(value, item)]
        elif isinstance(value, _Tuple) and not single:
            given = [(self.static_int(v, i, "an axis"), i) for v, i in value.elements]
        else:
            given = [(self.static_int(value, item, "an axis"), item)]
        axes = []
        for axis, axis_item in given:
            if not -len(shape) <= axis < len(shape):
                self.fail(f"axis {axis} is out of range for shape {shape_text(shape)}", axis_item)
            axes.append(axis % len(shape))
        if len(set(axes)) != len(axes):
            self.fail("an axis is repeated", item)
        return tuple(sorted(axes))

    def static_shape(self, value: Any, item: Item) -> tuple[Shape, list[Var]]:
        """A shape argument (a tuple of dimensions, or one dimension): the dimensions and the
        nodes holding their sizes."""
        elements = value.elements if isinstance(value, _Tuple) else ((value, item),)
        shape, nodes = [], []
        for element, element_item in elements:
            dim = self.static_of(element)
            if dim is None or (isinstance(dim, int) and dim < 0):
                self.fail("expected a dimension: a whole number or a dimension name",
                          element_item)
            shape.append(dim)
            nodes.append(element)
        return tuple(shape), nodes

    def index_entry(self, value: Any, item: Item) -> Any:
        if isinstance(value, _Slice):
            parts = tuple(None if part is _OMITTED else self.static_int(part, part_item, "an index")
                          for part, part_item in value.parts)
            if parts[2] == 0:
                self.fail("a slice step cannot be zero", value.parts[2][1])
            return ("slice", *parts)
        if self.static_of(value) is not None and isinstance(self.static_of(value), int):
            return self.static_of(value)
        position = self.value(value, item, "indexing")
        if position.shape or position.dtype == "bool":
            self.fail("an index must be a whole number, not an array or a condition", item)
        if position.dtype != "int":  # a scalar input: a float until made a whole number
            position = self.builder.emit("whole", (position,), next(self.temporaries))
        return ("at", position)

    def record_static(self, prim: str, inputs: tuple[Var, ...], output: Var) -> None:
        """Keep the compile-time value of arithmetic on whole numbers and dimensions."""
        if prim != "neg" and prim not in _STATIC_ARITHMETIC:
            return
        values = []
        for var in inputs:  # most operands are not static: stop at the first
            value = self.static_of(var)
            if value is None:
                return
            values.append(value)
        if all(isinstance(v, int) for v in values):
            self.static[output] = _WHOLE_ARITHMETIC[prim](*values)  # Python's: no overflow
            return
        text = (f"-{values[0]}" if prim == "neg"
                else f"{values[0]}{_STATIC_ARITHMETIC[prim]}{values[1]}")
        if len(text) <= STATIC_TEXT_LIMIT:  # a long sum of inputs is no loop bound: the texts
            self.static[output] = text      # would grow with it, quadratic in its length

    # ---- applying primitives ------------------------------------------------------------------

    def apply(self, prim: str, item: Item, args: list[tuple[Any, Item]], name: str | None,
              params: dict[str, Any] | None = None) -> Var:
        entry = REGISTRY[prim]
        inputs = []
        for kind, (value, arg_item) in zip(entry.args, args):
            var = self.value(value, arg_item, self.describe(item))
            if kind == "f" and var.dtype == "bool":
                self.fail(f"{self.describe(item)} expects a number, got a condition", arg_item)
            if kind == "b" and var.dtype != "bool":
                self.fail(f"{self.describe(item)} expects a condition such as 'x > 0', "
                          "got a number", arg_item)
            inputs.append(var)
        return self.emit(prim, item, tuple(inputs), name, params or {})

    def emit(self, prim: str, item: Item, inputs: tuple[Var, ...], name: str | None,
             params: dict[str, Any]) -> Var:
        try:
            output = self.builder.emit(prim, inputs, name or next(self.temporaries),
                                       as_params(params) if params else ())
        except ShapeError as error:
            self.fail(self.shape_message(prim, item, str(error)), item)
        self.record_static(prim, inputs, output)
        return output

    def shape_message(self, prim: str, item: Item, message: str) -> str:
        if prim == "matmul":
            return message.replace("matmul", item.text, 1) if item.kind == "call" else message
        if message.startswith(prim):
            return message
        return f"{self.describe(item)}: {message}"

    @staticmethod
    def describe(item: Item) -> str:
        if item.kind == "call":
            return item.text
        if item.kind == "cond":
            return "'if ... else'"
        if item.kind == "index":
            return "indexing"
        return f"'{item.text}'"

    def fail(self, message: str, item: Item | Name) -> None:
        raise CompileError(message, self.function.source, item.line, item.col)


#: What lowering a helper's body changes, and restores after it.
_FUNCTION_STATE = ("env", "scopes", "dimensions", "block_locals", "builder", "input_names",
                   "inputs", "root_builder", "assigned")


def _kind(var: Var) -> str:
    if var.dtype == "bool":
        return "a condition"
    return ("a whole number " if var.dtype == "int" else "") + f"shape {shape_text(var.shape)}"


def _size(shape: Shape) -> tuple[int, list[str]]:
    """A shape's number of entries as (whole-number factor, sorted named factors)."""
    number, names = 1, []
    for dim in shape:
        for factor in str(dim).split("*"):
            if factor.isdigit():
                number *= int(factor)
            else:
                names.append(factor)
    return number, sorted(names)

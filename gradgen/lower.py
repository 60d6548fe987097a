"""Lowering: syntax tree (`syntax.Function`) → IR (`ir.Graph`).

Resolves names (inputs, assigned variables, reassignment), checks calls against the registry
(known function, arity, numbers versus conditions) and builds one edge per operation. The
postfix expressions are evaluated with a loop and a value stack, so depth costs no recursion.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Iterator

from gradgen.builder import GraphBuilder
from gradgen.errors import CompileError
from gradgen.ir import Graph, Var
from gradgen.primitives import BINARY_OPERATORS, FUNCTIONS, REGISTRY, UNARY_OPERATORS
from gradgen.syntax import Assign, Function, Item, Return

#: Functions of the language that are not primitives of their own: name -> allowed arities.
SUGAR_ARITIES = {"log": (1, 2)}


def lower(function: Function) -> Graph:
    """Build the IR graph of a parsed source file."""
    return _Lowering(function).run()


def _temporary_names(function: Function, inputs: list[str]) -> Iterator[str]:
    """``v1, v2, ...`` for values the source does not name, skipping the source's own names."""
    taken = set(inputs) | {s.target.text for s in function.body if isinstance(s, Assign)}
    return (name for name in (f"v{k}" for k in itertools.count(1)) if name not in taken)


class _Lowering:
    def __init__(self, function: Function) -> None:
        self.function = function
        self.builder = GraphBuilder()
        self.env: dict[str, Var] = {}
        self.input_names = self._input_names()
        self.temporaries = _temporary_names(function, self.input_names)

    def run(self) -> Graph:
        inputs = tuple(Var(name) for name in self.input_names)
        self.env.update(zip(self.input_names, inputs))
        output = None
        for statement in self.function.body:
            if isinstance(statement, Assign):
                target = statement.target.text
                self.env[target] = self.evaluate(statement.expr, target)
            else:
                output = self.evaluate(statement.expr, self.function.name.text)
                self.require_number(output, statement)
        assert output is not None, "the parser guarantees a return"
        return Graph(self.function.name.text, inputs, tuple(self.builder.edges), (output,),
                     self.function.source.text)

    def require_number(self, output: Var, statement: Return) -> None:
        if output.dtype == "bool":
            raise CompileError("the function's value must be a number, not a condition; "
                               "write 'where(cond, 1, 0)' for an indicator",
                               self.function.source, statement.line, statement.col)

    # ---- names ---------------------------------------------------------------------------

    def _input_names(self) -> list[str]:
        if self.function.params is not None:
            return [param.text for param in self.function.params]
        expr = self.function.body[-1].expr
        return sorted({item.text for item in expr if item.kind == "name"})

    def lookup(self, item: Item) -> Var:
        var = self.env.get(item.text)
        if var is None:
            self.fail(self.unknown_name_message(item.text), item)
        return var

    def unknown_name_message(self, name: str) -> str:
        inputs = ", ".join(self.input_names) or "none"
        message = f"'{name}' is not an input; inputs are {inputs}"
        variables = [n for n in self.env if n not in self.input_names]
        if variables:
            message = f"'{name}' is not an input or an assigned variable; inputs are {inputs}"
            message += f"; variables so far: {', '.join(variables)}"
        guess = difflib.get_close_matches(name, list(self.env), n=1)
        if guess:
            message += f" — did you mean '{guess[0]}'?"
        if name in FUNCTIONS:
            message += f" ({name} is a function: call it as {name}(...))"
        return message

    # ---- expressions ---------------------------------------------------------------------

    def evaluate(self, expr: tuple[Item, ...], name: str) -> Var:
        """Run a postfix expression; the last operation's node gets ``name``."""
        stack: list[tuple[Var, Item]] = []
        last = len(expr) - 1
        for index, item in enumerate(expr):
            node_name = name if index == last else None
            stack.append((self.step(item, stack, node_name), item))
        (result, _), = stack
        return result

    def step(self, item: Item, stack: list[tuple[Var, Item]], name: str | None) -> Var:
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
        raise AssertionError(f"unknown syntax item {kind!r}")

    @staticmethod
    def pop(stack: list[tuple[Var, Item]], count: int) -> list[tuple[Var, Item]]:
        if count == 0:
            return []
        args = stack[-count:]
        del stack[-count:]
        return args

    def call(self, item: Item, args: list[tuple[Var, Item]], name: str | None) -> Var:
        function = item.text
        if function == "log" and len(args) == 2:
            value, base = args
            logs = (self.apply("log", item, [value], None), self.apply("log", item, [base], None))
            return self.builder.emit("div", logs, name or next(self.temporaries))
        if function not in FUNCTIONS:
            self.fail(self.unknown_function_message(function), item)
        expected = SUGAR_ARITIES.get(function, (REGISTRY[function].arity,))
        if len(args) not in expected:
            counts = " or ".join(map(str, expected))
            plural = "" if expected == (1,) else "s"
            self.fail(f"{function} takes {counts} argument{plural}, got {len(args)}", item)
        return self.apply(function, item, args, name)

    def unknown_function_message(self, function: str) -> str:
        if function in self.env:
            return (f"'{function}' is not a function; to multiply, write "
                    f"'{function}*(...)'")
        message = f"unknown function '{function}'"
        guess = difflib.get_close_matches(function, list(FUNCTIONS), n=1)
        return message + (f" — did you mean '{guess[0]}'?" if guess else "")

    def apply(self, prim: str, item: Item, args: list[tuple[Var, Item]], name: str | None) -> Var:
        entry = REGISTRY[prim]
        for kind, (var, arg_item) in zip(entry.args, args):
            if kind == "f" and var.dtype == "bool":
                self.fail(f"{self.describe(item)} expects a number, got a condition", arg_item)
            if kind == "b" and var.dtype != "bool":
                self.fail(f"{self.describe(item)} expects a condition such as 'x > 0', "
                          "got a number", arg_item)
        return self.builder.emit(prim, tuple(var for var, _ in args),
                                 name or next(self.temporaries))

    @staticmethod
    def describe(item: Item) -> str:
        if item.kind == "call":
            return item.text
        if item.kind == "cond":
            return "'if ... else'"
        return f"'{item.text}'"

    def fail(self, message: str, item: Item) -> None:
        raise CompileError(message, self.function.source, item.line, item.col)

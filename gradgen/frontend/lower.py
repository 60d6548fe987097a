"""Front end, lowering: syntax tree (`syntax.Function`) → IR (`ir.Graph`); the entry point.

Resolves names (inputs, assigned variables, reassignment, dimension names), checks calls against
the registry (known function, arity, keyword arguments, numbers versus conditions), infers and
checks shapes (a mismatch names both shapes and the operation) and builds one edge per operation.
The parts, each a module of functions that take the `FunctionScope` being lowered:

- `lower_statements`: a body and its assignments; `lower_loops`: ``for`` loops;
  `lower_branches`: ``if`` statements;
- `lower_expressions`: postfix expressions, run with a loop and a value stack;
- `lower_calls`: calls of the language's functions; `lower_helpers`: of the file's own;
- `lower_apply`: one edge per primitive applied; `lower_names`: names and dimensions;
- `lower_static`: static values (axes, shapes, indices) and compile-time values of nodes;
- `scopes`: the program, function and block scopes they work in.
"""

from __future__ import annotations

from gradgen.frontend.lower_names import (
    entry_dimensions,
    input_names,
    input_var,
    note_scalar_inputs,
    temporary_names,
)
from gradgen.frontend.lower_statements import lower_body
from gradgen.frontend.scopes import FunctionScope, ProgramScope
from gradgen.frontend.syntax import Function
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Graph
from gradgen.ir.naming import entry_aliases, module_globals


def lower(function: Function, straight_line: bool = False) -> Graph:
    """Build the IR graph of a parsed source file. With ``straight_line``, every ``if`` is
    a selection (``where``), for the routes that take straight-line programs only."""
    scope = entry_scope(function, straight_line)
    output = lower_body(scope, function.body, function.name.text)
    assert output is not None, "the parser guarantees a return"
    return Graph(function.name.text, scope.inputs, tuple(scope.builder.edges), (output,),
                 function.source.text)


def entry_scope(function: Function, straight_line: bool) -> FunctionScope:
    """The scope of the entry function, its inputs in it, in a fresh program scope."""
    names = input_names(function)
    dimensions = entry_dimensions(function, names)
    program = ProgramScope(function, straight_line, lower_body,
                           temporary_names(function, {*names, *dimensions}),
                           function_names(function),
                           {helper.name.text: helper for helper in function.helpers})
    inputs = tuple(input_var(function, names, index) for index in range(len(names)))
    note_scalar_inputs(program, inputs)
    return FunctionScope(program, names, inputs, dimensions, GraphBuilder())


def function_names(function: Function) -> frozenset[str]:
    """The module-level names a helper must not take: the globals and the entry's names."""
    module_names = module_globals()
    return module_names | frozenset(entry_aliases(function.name.text, module_names))

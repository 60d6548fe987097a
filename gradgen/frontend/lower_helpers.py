"""Front end, lowering: calls of the file's own functions (helpers).

A helper call is a ``call`` edge of the helper's own graph, lowered once per signature (the
shapes and kinds of its arguments), or in a straight-line graph the helper's body lowered in
place. Either way the helper is lowered in a fresh `FunctionScope` that sees only its
parameters, and is dropped after it. Its arguments are checked against its declared shapes
(its dimension names bind per call); recursion is refused.
"""

from __future__ import annotations

from gradgen.frontend.lower_apply import as_number, as_whole, check_count, kind_of
from gradgen.frontend.lower_names import declared_shape, helper_dimensions, note_scalar_inputs
from gradgen.frontend.lower_static import Operand, as_node
from gradgen.frontend.scopes import FunctionScope, ProgramScope
from gradgen.frontend.syntax import WHOLE, Function, Item, Name
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.dims import Dim
from gradgen.ir.graph import Graph, Shape, Var
from gradgen.ir.naming import derivative_names, helper_name
from gradgen.ir.primitives import shape_text
from gradgen.ir.primitives.calls import call_params, call_results
from gradgen.ir.primitives.loops import MAX_NESTING


def is_helper_call(scope: FunctionScope, function: str) -> bool:
    """A call of ``function`` names one of the file's functions (the entry too, to refuse it)."""
    program = scope.program
    return ((function in program.helpers or function == program.entry.name.text
             and bool(program.helpers)) and function not in scope.env)


def call_helper(scope: FunctionScope, item: Item, positional: list[Operand],
                keywords: dict[str, Operand], name: str | None) -> Var:
    """A call of one of the file's other functions: a ``call`` edge of the helper's graph, or
    in a straight-line graph its body lowered in place."""
    check_recursion(scope, item)
    helper = scope.program.helpers[item.text]
    args = helper_arguments(scope, item, helper, positional, keywords)
    if scope.program.straight_line:
        return inline_helper(scope, helper, args)
    graph = helper_graph(scope.program, helper, args)
    (result,) = scope.builder.emit_block(
        "call", tuple(args), call_results(graph, (name or scope.program.temporary(),)),
        as_params(call_params(graph)))
    return result


def inline_helper(scope: FunctionScope, helper: Function, args: list[Var]) -> Var:
    """A helper's body lowered in place, into the caller's graph."""
    params = [param.text for param in helper.params]
    return lower_helper(scope.program, helper, dict(zip(params, args)), scope.builder)


def helper_arguments(scope: FunctionScope, item: Item, helper: Function,
                     positional: list[Operand], keywords: dict[str, Operand]) -> list[Var]:
    """The arguments of a helper's call, checked, as the helper takes them."""
    check_call(scope, item, helper, positional, keywords)
    args = [as_node(scope, value, arg_item, item.text) for value, arg_item in positional]
    check_arguments(scope, helper, args, positional)
    return [argument(scope, arg, declared)
            for arg, declared in zip(args, helper.shapes or [None] * len(args))]


def check_recursion(scope: FunctionScope, item: Item) -> None:
    calling, entry = scope.program.calling, scope.program.entry.name.text
    if item.text in calling or item.text == entry:
        scope.fail(f"recursion is not supported: {recursion_chain(calling, entry, item.text)}",
                   item)
    if len(calling) >= MAX_NESTING:
        scope.fail(f"helpers call each other more than {MAX_NESTING} deep", item)


def recursion_chain(calling: list[str], entry: str, function: str) -> str:
    """``f -> g -> f``: the calls from ``function``'s first call back to itself."""
    if function not in calling:
        return " -> ".join([entry, *calling, function])
    return " -> ".join([*calling[calling.index(function):], function])


def check_call(scope: FunctionScope, item: Item, helper: Function, positional: list[Operand],
               keywords: dict[str, Operand]) -> None:
    """No keyword arguments, and one argument per parameter."""
    if keywords:
        scope.fail(f"{item.text} takes no keyword arguments", next(iter(keywords.values()))[1])
    check_count(scope, item, len(positional), (len(helper.params),))


def check_arguments(scope: FunctionScope, helper: Function, args: list[Var],
                    positional: list[Operand]) -> None:
    """Arguments against a helper's declared shapes (its dimension names bind per call)."""
    bound: dict[Dim, int | Dim] = {}
    for param, declared, arg, (_, arg_item) in zip(helper.params, helper.shapes or (),
                                                    args, positional):
        what = f"argument {param.text} of {helper.name.text}"
        if declared == WHOLE:
            check_whole(scope, what, arg, arg_item)
        elif declared is not None and not fits(declared_shape(declared), arg.shape, bound):
            scope.fail(f"{what} has shape {shape_text(arg.shape)}, expected "
                       f"{shape_text(declared_shape(declared))}", arg_item)


def check_whole(scope: FunctionScope, what: str, arg: Var, item: Item) -> None:
    """An argument declared ``n: int`` is a whole number: no array, no condition."""
    if arg.shape or arg.dtype == "bool":
        scope.fail(f"{what} is a whole number (int), got {kind_of(arg)}", item)


def fits(want: Shape, shape: Shape, bound: dict[Dim, int | Dim]) -> bool:
    """``shape`` is the declared ``want``, its dimension names bound on first use."""
    return len(want) == len(shape) and all(
        bound.setdefault(w, a) == a if isinstance(w, Dim) else w == a
        for w, a in zip(want, shape))


def argument(scope: FunctionScope, arg: Var, declared: tuple[Name, ...] | str | None) -> Var:
    """An argument as the helper takes it: an ``n: int`` checked whole, else a number."""
    if declared == WHOLE:
        return arg if arg.dtype == "int" else as_whole(scope, arg)
    return as_number(scope, arg)


def helper_graph(program: ProgramScope, helper: Function, args: list[Var]) -> Graph:
    """The graph of ``helper`` for arguments of these shapes and kinds (made once)."""
    key = (helper.name.text, tuple((arg.shape, arg.dtype) for arg in args))
    graph = program.helper_graphs.get(key)
    if graph is None:
        graph = program.helper_graphs[key] = new_helper_graph(program, helper, args)
    return graph


def new_helper_graph(program: ProgramScope, helper: Function, args: list[Var]) -> Graph:
    inputs = tuple(Var(param.text, arg.shape, arg.dtype)
                   for param, arg in zip(helper.params, args))
    note_scalar_inputs(program, inputs)
    builder = GraphBuilder()
    output = lower_helper(program, helper, {var.name: var for var in inputs}, builder)
    name = function_name(program, helper.name.text)
    return Graph(name, inputs, tuple(builder.edges), (output,), helper.source.text)


def function_name(program: ProgramScope, hint: str) -> str:
    """A module-level name for a helper, free together with its derivatives' names."""
    name = helper_name(hint, program.function_names)
    program.function_names |= {name, *derivative_names(name)}
    return name


def lower_helper(program: ProgramScope, helper: Function, env: dict[str, Var],
                 builder: GraphBuilder) -> Var:
    """Lower a helper's body in a fresh function scope, with ``env`` for its parameters, into
    ``builder`` (its own graph's, or in a straight-line graph the caller's)."""
    scope = FunctionScope(program, list(env), tuple(env.values()), helper_dimensions(helper),
                          builder)
    program.calling.append(helper.name.text)
    try:
        return program.lower_body(scope, helper.body, helper.name.text)
    finally:
        program.calling.pop()

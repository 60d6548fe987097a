"""Front end, lowering: ``for`` loops. A loop's body is lowered into a graph of its own (its
`LoopScope`, see `scopes`), as a frame of `lower_statements.lower_body`'s stack; closing it adds
one ``loop`` edge, giving the carried variables after the loop, to the enclosing graph.
"""

from __future__ import annotations

from gradgen.frontend.lower_apply import as_number, as_whole, kind_of
from gradgen.frontend.lower_expressions import evaluate
from gradgen.frontend.lower_names import lookup_name, visible
from gradgen.frontend.lower_static import as_node, static_of
from gradgen.frontend.scopes import Frame, FunctionScope, LoopScope, assigned_names
from gradgen.frontend.syntax import Expr, For
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.dims import named
from gradgen.ir.graph import Graph, Var
from gradgen.ir.primitives.loops import MAX_NESTING, loop_params


def open_loop(scope: FunctionScope, statement: For) -> Frame:
    """Start lowering a loop's body into a graph of its own."""
    check_nesting(scope, statement)
    loop = loop_scope(scope, statement)
    target = statement.target.text
    scope.enter(loop, {target: loop.index, **dict(zip(loop.carried, loop.carried_in))})
    scope.program.static[loop.index] = named(target)
    return Frame(iter(statement.body), lambda: close_loop(scope, loop))


def check_nesting(scope: FunctionScope, statement: For) -> None:
    """Refuse a loop nested deeper than `MAX_NESTING` (passes go into bodies by recursion)."""
    if len(scope.blocks) >= MAX_NESTING:
        scope.fail(f"loops nest more than {MAX_NESTING} deep", statement)


def loop_scope(scope: FunctionScope, statement: For) -> LoopScope:
    """A loop about to be lowered: its bounds, and its carried variables' starts."""
    bounds = loop_bounds(scope, statement)
    carried = carried_names(scope, statement)
    initial = [carried_start(scope, name, statement) for name in carried]
    return LoopScope(scope.builder, scope.env, GraphBuilder(), statement,
                     index=Var(statement.target.text, (), "int"), bounds=bounds,
                     carried=carried, carried_init=initial)


def carried_start(scope: FunctionScope, name: str, statement: For) -> Var:
    """A carried variable's value before the loop, as a number."""
    return as_number(scope, as_node(scope, lookup_name(scope, name), statement, "a loop"))


def loop_bounds(scope: FunctionScope, statement: For) -> tuple[Var, Var]:
    """``range(start, stop)``'s start (0 if not written) and stop."""
    start = (bound(scope, statement.start, "start") if statement.start is not None
             else scope.builder.const(0.0))
    return start, bound(scope, statement.stop, "stop")


def bound(scope: FunctionScope, expr: Expr, which: str) -> Var:
    """A loop's start or stop: a whole number, a dimension, an integer input, or integer
    arithmetic of those."""
    var = evaluate(scope, expr, None)
    if var.shape or static_of(scope, var) is None:
        scope.fail(f"the loop's {which} must be a whole number, a dimension or an integer "
                   "input (or +, -, * of those)", expr[-1])
    if var.dtype != "int" and not var.is_const:  # an input: checked whole at call time
        var = as_whole(scope, var)
    return var


def carried_names(scope: FunctionScope, statement: For) -> list[str]:
    """The variables a loop carries: those its body assigns that are known before it."""
    target = statement.target.text
    assigned = assigned_names(statement.body)
    if target in assigned:
        scope.fail(f"the loop variable '{target}' cannot be assigned in the loop",
                   assigned[target].target)
    return [name for name in assigned if visible(scope, name)]


def close_loop(scope: FunctionScope, loop: LoopScope) -> None:
    """The body is lowered: add the loop edge and its results to the enclosing graph."""
    body = loop_body(scope, loop)
    scope.leave()
    scope.emit_block("loop", (*loop.bounds, *loop.carried_init, *loop.invariants), loop.carried,
                     loop.carried_init, as_params(loop_params(body, len(loop.carried), 0, 0)))
    note_loop_locals(scope, loop)


def loop_body(scope: FunctionScope, loop: LoopScope) -> Graph:
    """The graph of one step: the index, the carried values and the invariants in, the
    carried values out."""
    carried_out = [as_number(scope, scope.env[name]) for name in loop.carried]  # x = i: a number
    check_carried(scope, loop, carried_out)
    return Graph(f"{scope.program.entry.name.text}_loop",
                 (loop.index, *loop.carried_in, *loop.invariants.values()),
                 tuple(loop.builder.edges), tuple(carried_out))


def note_loop_locals(scope: FunctionScope, loop: LoopScope) -> None:
    """Names a loop's body assigns that do not live on after it."""
    for name, first in assigned_names(loop.statement.body).items():
        if name not in loop.carried:
            scope.block_locals[name] = (first.target, "only inside the loop")


def check_carried(scope: FunctionScope, loop: LoopScope, carried_out: list[Var]) -> None:
    """Each carried variable keeps its shape and kind from one step to the next."""
    for name, before, after in zip(loop.carried, loop.carried_in, carried_out):
        if before.shape != after.shape or before.dtype != after.dtype:
            where = assigned_names(loop.statement.body)[name].target
            scope.fail(f"'{name}' changes from {kind_of(before)} to {kind_of(after)} in one "
                       "step of the loop", where)

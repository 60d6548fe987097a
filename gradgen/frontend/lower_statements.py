"""Front end, lowering: statements — a function's body, its assignments and its ``for`` loops.

A body is walked with a stack of frames (the statements of a loop's body or of a side of an
``if``), so blocks nest without recursion. A loop's body is lowered into a graph of its own (its
`LoopScope`, see `scopes`); closing it adds one ``loop`` edge and its results to the enclosing
graph. Branches are lowered by `lower_branches`.
"""

from __future__ import annotations

from gradgen.frontend.lower_apply import as_number, as_whole, kind_of
from gradgen.frontend.lower_branches import open_branch
from gradgen.frontend.lower_expressions import evaluate
from gradgen.frontend.lower_names import check_target, lookup_name, visible
from gradgen.frontend.lower_static import as_node, static_of
from gradgen.frontend.scopes import Frame, FunctionScope, LoopScope, assigned_names
from gradgen.frontend.syntax import Assign, Expr, For, Return, Statement
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.dims import named
from gradgen.ir.graph import Graph, Var
from gradgen.ir.primitives.loops import MAX_NESTING, loop_params


def lower_body(scope: FunctionScope, body: tuple[Statement, ...], name: str) -> Var:
    """Lower a function's body, which ends with its one `Return`; its value gets ``name`` (the
    function's). The blocks of loops and branches are frames on an explicit stack, so nesting
    costs no recursion."""
    frames = [Frame(iter(body[:-1]))]
    while frames:
        statement = next(frames[-1].statements, None)
        if statement is None:
            close_frame(frames)
        else:
            lower_statement(scope, statement, frames)
    return lower_return(scope, body[-1], name)


def lower_statement(scope: FunctionScope, statement: Statement, frames: list[Frame]) -> None:
    """An assignment, or a loop or ``if`` opened: its block's frame goes on the stack."""
    if isinstance(statement, Assign):
        assign(scope, statement)
    elif isinstance(statement, For):
        frames.append(open_loop(scope, statement))
    else:
        frames.append(open_branch(scope, statement))


def close_frame(frames: list[Frame]) -> None:
    """The innermost frame's statements ran out: close it, and go on with what follows it."""
    frame = frames.pop()
    following = frame.close() if frame.close is not None else None
    if following is not None:
        frames.append(following)


def assign(scope: FunctionScope, statement: Assign) -> None:
    target = statement.target
    check_target(scope, target)
    scope.env[target.text] = evaluate(scope, statement.expr, target.text)
    scope.assigned[-1].setdefault(target.text, target)


def lower_return(scope: FunctionScope, statement: Return, name: str) -> Var:
    output = evaluate(scope, statement.expr, name)
    if output.dtype == "bool":
        scope.fail("the function's value must be a number, not a condition; "
                   "write 'where(cond, 1, 0)' for an indicator", statement)
    return output


# ---- loops -----------------------------------------------------------------------------------

def open_loop(scope: FunctionScope, statement: For) -> Frame:
    """Start lowering a loop's body into a graph of its own."""
    if len(scope.blocks) >= MAX_NESTING:
        scope.fail(f"loops nest more than {MAX_NESTING} deep", statement)
    loop = loop_scope(scope, statement)
    target = statement.target.text
    scope.enter(loop, {target: loop.index, **dict(zip(loop.carried, loop.carried_in))})
    scope.program.static[loop.index] = named(target)
    return Frame(iter(statement.body), lambda: close_loop(scope, loop))


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

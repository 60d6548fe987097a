"""Front end, lowering: statements — a function's body and its assignments.

A body is walked with a stack of frames (the statements of a loop's body or of a side of an
``if``), so blocks nest without recursion. Loops are lowered by `lower_loops`, branches by
`lower_branches`, helper calls by `lower_helpers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradgen.frontend.lower_branches import open_branch
from gradgen.frontend.lower_expressions import evaluate
from gradgen.frontend.lower_loops import open_loop
from gradgen.frontend.lower_names import check_target
from gradgen.frontend.scopes import Frame, FunctionScope
from gradgen.frontend.syntax import Assign, For, If, Return, Statement
from gradgen.ir.graph import Var


def lower_body(scope: FunctionScope, body: tuple[Statement, ...], name: str) -> Var:
    """Lower a function's body, which ends with its one `Return`; its value gets ``name`` (the
    function's). The blocks of loops and branches are frames on an explicit stack, so nesting
    costs no recursion."""
    frames = [Frame(iter(body[:-1]), lambda: None)]  # nothing follows the function's body
    while frames:
        statement = next(frames[-1].statements, None)
        if statement is None:
            close_frame(frames)
        else:
            lower_statement(scope, statement, frames)
    return lower_return(scope, body[-1], name)


def lower_statement(scope: FunctionScope, statement: Statement, frames: list[Frame]) -> None:
    """An assignment, or a loop or ``if`` opened: its block's frame goes on the stack."""
    frame = STATEMENTS[type(statement)](scope, statement)
    if frame is not None:
        frames.append(frame)


def close_frame(frames: list[Frame]) -> None:
    """The innermost frame's statements ran out: close it, and go on with what follows it."""
    following = frames.pop().close()
    if following is not None:
        frames.append(following)


def assign(scope: FunctionScope, statement: Assign) -> None:
    target = statement.target
    check_target(scope, target)
    scope.env[target.text] = evaluate(scope, statement.expr, target.text)
    scope.assigned[-1].setdefault(target.text, target)


#: What each kind of statement does in a body: an assignment binds its name, a loop or an ``if``
#: opens the frame of its block.
STATEMENTS: dict[type, Callable[[FunctionScope, Any], Frame | None]] = {
    Assign: assign, For: open_loop, If: open_branch}


def lower_return(scope: FunctionScope, statement: Return, name: str) -> Var:
    output = evaluate(scope, statement.expr, name)
    if output.dtype == "bool":
        scope.fail("the function's value must be a number, not a condition; "
                   "write 'where(cond, 1, 0)' for an indicator", statement)
    return output

"""Front end, lowering: ``if`` statements — a real branch on a number, a selection on an array.

A branch's sides are each lowered into a graph of their own (its `BranchScope`, see `scopes`);
closing it adds one ``cond`` edge, whose results are the variables both sides assign, or either
side and known before. A selection (an array condition, a straight-line graph, or branches
nested too deep) lowers both sides in copies of the environment and merges every variable they
assign with ``where``. A name assigned in only one side does not live on after the ``if``.
"""

from __future__ import annotations

from collections.abc import Callable

from gradgen.frontend.lower_apply import kind_of
from gradgen.frontend.lower_expressions import evaluate
from gradgen.frontend.lower_names import lookup_name, outside_value
from gradgen.frontend.scopes import BranchScope, Frame, FunctionScope, Selection
from gradgen.frontend.syntax import If, Name, Statement
from gradgen.ir.builder import GraphBuilder, as_params
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.branches import cond_params
from gradgen.ir.primitives.loops import MAX_NESTING

Sides = tuple[dict[str, Name], dict[str, Name]]


def open_branch(scope: FunctionScope, statement: If) -> Frame:
    """Start lowering an ``if``: a real branch on a number, a selection on an array."""
    test = branch_test(scope, statement)
    if test.shape or scope.program.straight_line or len(scope.blocks) >= MAX_NESTING:
        return open_selection(scope, Selection(statement, test, scope.env))
    return open_then(scope, statement, test)


def branch_test(scope: FunctionScope, statement: If) -> Var:
    """An ``if``'s test: a condition."""
    test = evaluate(scope, statement.test, None)
    if test.dtype != "bool":
        scope.fail("'if' expects a condition such as 'x > 0', got a number", statement.test[-1])
    return test


def open_then(scope: FunctionScope, statement: If, test: Var) -> Frame:
    """Lower the ``then`` side of a real branch into a graph of its own."""
    branch = BranchScope(scope.builder, scope.env, GraphBuilder(), statement, test=test)
    scope.enter(branch, {})
    return open_side(scope, statement.body, lambda: open_else(scope, branch))


def open_else(scope: FunctionScope, branch: BranchScope) -> Frame:
    """Keep the lowered ``then`` side; lower the ``else`` side into a graph of its own."""
    branch.then_env, branch.then_edges = scope.env, scope.builder.edges
    scope.builder, scope.env = GraphBuilder(), {}
    return open_side(scope, branch.statement.orelse, lambda: close_branch(scope, branch))


def open_side(scope: FunctionScope, body: tuple[Statement, ...],
              close: Callable[[], Frame | None]) -> Frame:
    """The frame of one side of an ``if``, whose assigned names are noted apart (`close_sides`)."""
    scope.assigned.append({})
    return Frame(iter(body), close)


def close_sides(scope: FunctionScope) -> Sides:
    """The names each side of the ``if`` just lowered assigns (at any depth), with where
    first; the enclosing block assigns them too."""
    orelse, then = scope.assigned.pop(), scope.assigned.pop()
    for side in (then, orelse):
        for name, target in side.items():
            scope.assigned[-1].setdefault(name, target)
    return then, orelse


def note_block_locals(scope: FunctionScope, sides: Sides, kept: list[str]) -> None:
    """Names the sides of an ``if`` assign that do not live on after it."""
    scope.block_locals.update((name, (first, "in only one side of the 'if'"))
                              for side in sides for name, first in side.items() if name not in kept)


# ---- branches --------------------------------------------------------------------------------

def close_branch(scope: FunctionScope, branch: BranchScope) -> None:
    """Both sides are lowered: add the cond edge and its results to the enclosing graph."""
    envs = (branch.then_env, scope.env)
    else_edges = scope.builder.edges
    sides = close_sides(scope)
    names = branch_results(scope, branch, sides, envs)
    outputs = side_outputs(scope, branch, names, envs)
    scope.leave()
    note_block_locals(scope, sides, names)
    emit_cond(scope, branch, else_edges, names, outputs)


def emit_cond(scope: FunctionScope, branch: BranchScope, else_edges: list[Edge],
              names: list[str], outputs: tuple[list[Var], list[Var]]) -> None:
    """The ``cond`` edge of a closed branch, in the enclosing graph, giving ``names``."""
    then = side_graph(scope, branch, "then", branch.then_edges, outputs[0])
    orelse = side_graph(scope, branch, "else", else_edges, outputs[1])
    scope.emit_block("cond", (branch.test, *branch.invariants), names, outputs[0],
                     as_params(cond_params(then, orelse, len(outputs[0]))))


def side_graph(scope: FunctionScope, branch: BranchScope, side: str, edges: list[Edge],
               outputs: list[Var]) -> Graph:
    """One side of a branch as a graph over the outside values it reads (the same for both)."""
    return Graph(f"{scope.program.entry.name.text}_{side}", tuple(branch.invariants.values()),
                 tuple(edges), tuple(outputs))


def branch_results(scope: FunctionScope, branch: BranchScope, sides: Sides,
                   envs: tuple[dict[str, Var], ...]) -> list[str]:
    """The variables an ``if`` gives: those both sides assign, or either side and known before."""
    known = [branch.outer_env, *(block.outer_env for block in scope.blocks[:-1])]
    assigned = [[name for name in side if name in env] for side, env in zip(sides, envs)]
    return [name for name in dict.fromkeys([*assigned[0], *assigned[1]])
            if all(name in side for side in assigned) or any(name in env for env in known)]


def side_outputs(scope: FunctionScope, branch: BranchScope, names: list[str],
                 envs: tuple[dict[str, Var], ...]) -> tuple[list[Var], list[Var]]:
    """Each side's values of ``names``, of the same shape and kind on both sides."""
    pairs = [matched(scope, branch, name, *(side_value(scope, env, name) for env in envs))
             for name in names]
    return [then for then, _ in pairs], [orelse for _, orelse in pairs]


def matched(scope: FunctionScope, branch: BranchScope, name: str, then: Var,
            orelse: Var) -> tuple[Var, Var]:
    """The two sides' values of ``name``, of the same shape and kind (a whole number on one
    side only becomes a number)."""
    if then.dtype != orelse.dtype:  # N: int on one side only
        then, orelse = to_float(branch.builder, then), to_float(scope.builder, orelse)
    if then.shape != orelse.shape or then.dtype != orelse.dtype:
        scope.fail(f"'{name}' has {kind_of(then)} after the 'if' side and {kind_of(orelse)} "
                   "after the 'else' side; give it the same in both", branch.statement)
    return then, orelse


def side_value(scope: FunctionScope, env: dict[str, Var], name: str) -> Var:
    """A side's value of ``name``: its own, or the outside value brought in (a side that leaves
    the name alone passes it on)."""
    return env.get(name) or outside_value(scope, name)


def to_float(builder: GraphBuilder, var: Var) -> Var:
    return builder.emit("to_float", (var,)) if var.dtype == "int" else var


# ---- selections ------------------------------------------------------------------------------

def open_selection(scope: FunctionScope, selection: Selection) -> Frame:
    """Lower an ``if`` as a selection: each side in its own copy of the environment, then
    ``where`` for every variable the sides assign."""
    scope.env = dict(selection.before)
    return open_side(scope, selection.statement.body, lambda: open_selection_else(scope, selection))


def open_selection_else(scope: FunctionScope, selection: Selection) -> Frame:
    """Keep the ``then`` side's environment; lower the ``else`` side in a copy of its own."""
    selection.then_env, scope.env = scope.env, dict(selection.before)
    return open_side(scope, selection.statement.orelse, lambda: merge_sides(scope, selection))


def merge_sides(scope: FunctionScope, selection: Selection) -> None:
    """Both sides are lowered: each variable they assign that lives on takes its value after
    the ``if`` (`merged_value`)."""
    else_env, merged = scope.env, dict(selection.before)
    kept = []
    for name in {**selection.then_env, **else_env}:
        value = merged_value(scope, selection, else_env, merged, name)
        if value is not None:
            kept.append(name)
            merged[name] = value
    scope.env = merged
    note_block_locals(scope, close_sides(scope), kept)


def sides_values(scope: FunctionScope, selection: Selection, else_env: dict[str, Var],
                 merged: dict[str, Var], name: str) -> tuple[Var | None, Var | None]:
    """Each side's value of ``name``: a side that leaves it alone passes on the value from
    before (inside a block: an input)."""
    then, orelse = selection.then_env.get(name), else_env.get(name)
    if then is None or orelse is None:
        scope.env = merged
        known = lookup_name(scope, name)
        then, orelse = then or known, orelse or known
    return then, orelse


def merged_value(scope: FunctionScope, selection: Selection, else_env: dict[str, Var],
                 merged: dict[str, Var], name: str) -> Var | None:
    """``name`` after the ``if``: the value both sides give, or ``where(test, then, else)``;
    None where it does not live on (assigned on one side only, unknown before)."""
    then, orelse = sides_values(scope, selection, else_env, merged, name)
    before = selection.before.get(name)
    if then is None or orelse is None or (then is before and orelse is before):
        return None
    return then if then is orelse else scope.builder.emit("where", (selection.test, then,
                                                                   orelse), name)

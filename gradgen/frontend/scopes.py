"""Lowering of program structure: the scopes of loops and the two sides of branches.

Part of the lowering (`lower`): a ``for`` loop's body is lowered into a graph of its own (its
`LoopScope`), with the loop variable, the loop-carried variables (assigned in the body and
known before it) and the invariants it reads from outside (pulled in on first use) as the
body's inputs; closing the scope adds one ``loop`` edge and its ``item`` results to the
enclosing graph. An ``if`` on one number is a real branch: each side is lowered into a graph
of its own (its `BranchScope`), with the outside values it reads as inputs, and closing the
scope adds one ``cond`` edge. An ``if`` on an array condition is a selection: both sides are
lowered in copies of the environment and every variable either side assigns becomes
``where(test, then, else)``, which carries the NaN safety of ``where`` (the side not taken
contributes an exact zero).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Var


@dataclass
class Scope:
    """A block being lowered into a graph of its own: the enclosing graph's builder and
    environment, the block's builder, and the outside values it reads (its inputs)."""

    outer_builder: GraphBuilder
    outer_env: dict[str, Var]
    builder: GraphBuilder
    statement: Any  # the ``for`` or the ``if``
    invariants: dict[Var, Var] = field(default_factory=dict)  # outer node -> block input

    def invariant(self, outer: Var) -> Var:
        """The block's input standing for ``outer`` (made on first use)."""
        inner = self.invariants.get(outer)
        if inner is None:
            inner = self.invariants[outer] = Var(outer.name, outer.shape, outer.dtype)
        return inner


@dataclass
class LoopScope(Scope):
    """One open loop: its variable, and the carried variables' names, starts and inputs."""

    index: Var = None  # type: ignore[assignment]
    carried: list[str] = field(default_factory=list)
    carried_init: list[Var] = field(default_factory=list)
    carried_in: list[Var] = field(default_factory=list)
    bounds: tuple[Var, Var] = ()  # type: ignore[assignment]  # start, stop


@dataclass
class BranchScope(Scope):
    """One open ``if`` on a number: its test, and the ``then`` side once it is lowered (both
    sides share the block's inputs)."""

    test: Var = None  # type: ignore[assignment]
    then_env: dict[str, Var] | None = None
    then_edges: list[Any] = field(default_factory=list)


@dataclass
class Frame:
    """Statements being lowered, and what to do when they run out (it may return the next
    frame: the ``else`` side after the ``then`` side)."""

    statements: Iterator[Any]
    close: Any = None


def assigned_names(body: tuple[Any, ...]) -> dict[str, Any]:
    """Every name a block assigns, at any depth, with the statement that first assigns it
    (a walk with an explicit stack: blocks may nest deeply)."""
    found: dict[str, Any] = {}
    stack = [iter(body)]
    while stack:
        statement = next(stack[-1], None)
        if statement is None:
            stack.pop()
            continue
        target = getattr(statement, "target", None)
        if target is not None and hasattr(statement, "expr"):
            found.setdefault(target.text, statement)
        for block in ("body", "orelse"):
            if getattr(statement, block, None):
                stack.append(iter(getattr(statement, block)))
    return found

"""Front end, lowering: the scopes a program is lowered in — the program, a function, a block.

`ProgramScope` is what the functions of one file share: the entry function, the helpers and
the graphs made of them, the compile-time values of nodes and the names still free.
`FunctionScope` is one function being lowered (the entry, or a helper: each call of a helper
lowers it in a fresh one): its inputs and dimension names, the graph being built and the names
visible in it, and the loops and branches open around it.

A ``for`` loop's body is lowered into a graph of its own (its `LoopScope`), with the loop
variable, the loop-carried variables (assigned in the body and known before it) and the
invariants it reads from outside (pulled in on first use) as the body's inputs; closing the
scope adds one ``loop`` edge, whose outputs are the carried variables after the loop, to the
enclosing graph. An ``if`` on one number is a real branch: each side is lowered into a graph of
its own (its `BranchScope`), with the outside values it reads as inputs, and closing the scope
adds one ``cond`` edge. An ``if`` on an array condition is a `Selection`: both sides are lowered
in copies of the environment and every variable either side assigns becomes
``where(test, then, else)``, which carries the NaN safety of ``where`` (the side not taken
contributes an exact zero).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from gradgen.errors import CompileError
from gradgen.frontend.syntax import Function, If, Item, Name, blocks
from gradgen.ir.builder import GraphBuilder, result_like
from gradgen.ir.dims import Dim
from gradgen.ir.graph import Graph, Var


@dataclass
class ProgramScope:
    """What the functions of one file share while they are lowered."""

    entry: Function  # its source locates every error; its name prefixes the blocks' graphs
    straight_line: bool  # every ``if`` a selection
    lower_body: Callable[..., Var | None]  # `lower_statements.lower_body`, for helpers' bodies
    temporaries: Iterator[str]  # names for the values the source does not name
    function_names: frozenset[str]  # module-level names taken (helpers are named apart)
    helpers: dict[str, Function]
    static: dict[Var, int | Dim] = field(default_factory=dict)  # values known at compile time
    calling: list[str] = field(default_factory=list)  # helpers being lowered, outermost first
    helper_graphs: dict[tuple, Graph] = field(default_factory=dict)  # (name, signature) ->

    def fail(self, message: str, where: Item | Name | Any) -> NoReturn:
        """Stop with ``message`` at ``where`` (anything with a line and a column)."""
        raise CompileError(message, self.entry.source, where.line, where.col)

    def temporary(self) -> str:
        return next(self.temporaries)


@dataclass
class FunctionScope:
    """One function being lowered: the graph being built (the function's, or an open block's)
    and the names visible in it, with the loops and branches open around it."""

    program: ProgramScope
    input_names: list[str]
    inputs: tuple[Var, ...]
    dimensions: dict[str, tuple[int, int]]  # name -> (input index, axis)
    builder: GraphBuilder
    root_builder: GraphBuilder = field(init=False)  # the function's own graph
    env: dict[str, Var] = field(init=False)  # name -> node, in the graph being built
    blocks: list[Scope] = field(default_factory=list)  # open loops and branches, outermost first
    # names assigned only inside a finished block: where first, and which block
    block_locals: dict[str, tuple[Name, str]] = field(default_factory=dict)
    # the names assigned in each open side of an if (the function's body at the bottom)
    assigned: list[dict[str, Name]] = field(default_factory=lambda: [{}])

    def __post_init__(self) -> None:
        self.root_builder = self.builder
        self.env = dict(zip(self.input_names, self.inputs))

    def fail(self, message: str, where: Item | Name | Any) -> NoReturn:
        self.program.fail(message, where)

    def enter(self, block: Scope, env: dict[str, Var]) -> None:
        """Lower into ``block``'s graph from now on, seeing the names of ``env``."""
        self.blocks.append(block)
        self.builder, self.env = block.builder, env

    def leave(self) -> None:
        """Back to the graph enclosing the innermost block."""
        block = self.blocks.pop()
        self.builder, self.env = block.outer_builder, block.outer_env

    def emit_block(self, prim: str, inputs: tuple[Var, ...], names: list[str], like: list[Var],
                   params: tuple[tuple[str, Any], ...]) -> None:
        """Emit a block here; result ``k`` is the variable ``names[k]``, shaped as ``like[k]``."""
        outputs = tuple(result_like(var, name) for name, var in zip(names, like))
        self.env.update(zip(names, self.builder.emit_block(prim, inputs, outputs, params)))


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
        if outer not in self.invariants:
            self.invariants[outer] = Var(outer.name, outer.shape, outer.dtype)
        return self.invariants[outer]


@dataclass
class LoopScope(Scope):
    """One open loop: its variable, its bounds, and the carried variables' names, starts and
    inputs."""

    index: Var = None  # type: ignore[assignment]
    bounds: tuple[Var, Var] = ()  # type: ignore[assignment]  # start, stop
    carried: list[str] = field(default_factory=list)
    carried_init: list[Var] = field(default_factory=list)
    carried_in: list[Var] = field(init=False)

    def __post_init__(self) -> None:
        self.carried_in = [Var(name, var.shape, var.dtype)
                           for name, var in zip(self.carried, self.carried_init)]


@dataclass
class BranchScope(Scope):
    """One open ``if`` on a number: its test, and the ``then`` side once it is lowered (both
    sides share the block's inputs)."""

    test: Var = None  # type: ignore[assignment]
    then_env: dict[str, Var] | None = None
    then_edges: list[Any] = field(default_factory=list)


@dataclass
class Selection:
    """One open ``if`` lowered as a selection: its test, the names before it, and the ``then``
    side's once it is lowered."""

    statement: If
    test: Var
    before: dict[str, Var]
    then_env: dict[str, Var] = field(default_factory=dict)


@dataclass
class Frame:
    """Statements being lowered, and what to do when they run out (it may return the next
    frame: the ``else`` side after the ``then`` side)."""

    statements: Iterator[Any]
    close: Callable[[], Frame | None]


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
        stack.extend(iter(block) for block in blocks(statement))
    return found

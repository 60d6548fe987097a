"""The IR: a labelled, directed, acyclic hypergraph.

A `Var` (a node) is one value: a name hint (or None), a shape (``()`` for a scalar) and a dtype
(``"float"`` for numbers, ``"bool"`` for conditions). A constant is a `Var` with a ``value``.
An `Edge` (a hyperedge) applies one primitive to an ordered tuple of input nodes and produces
its output nodes: one, or for a block (a loop, a branch, a call) one per result, like a jaxpr
equation's binders. A `Graph` is its inputs, its edges in topological order and its outputs;
every node is produced once (single assignment). All three are frozen: passes build new graphs.
A node built unnamed may be given a name hint by the graph it is in (`Graph.hints`: an adjoint
``x_bar`` is named once its first contribution is known); `Graph.hint` reads a node's hint.

Text form, one edge per line, like a jaxpr::

    f(x: f64[], y: f64[]) -> f64[]
        v1: f64[] = mul x y
        v2: f64[] = sin v1
        y: f64[], tape_v3: tape = loop 1 T y x
        return v2
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from gradgen.ir.dims import Dim

Shape = tuple[int | Dim, ...]


@dataclass(frozen=True, slots=True, eq=False, init=False)
class Var:
    """A value. Identity is the object; ``name``, given when it is built, is only a hint (see
    `naming`; a graph may give a node built unnamed one, see `Graph.hints`)."""

    name: str | None
    shape: Shape = ()
    dtype: str = "float"
    value: float | None = None
    symbol: str | None = None  # a named constant such as "pi"

    def __init__(self, name: str | None, shape: Shape = (), dtype: str = "float",
                 value: float | None = None, symbol: str | None = None) -> None:
        # Written through the slots (see `_slot_setters`): 0.65 µs a node, where the frozen
        # dataclass's own __init__, object.__setattr__ per field, takes 1.1 µs.
        set_name, set_shape, set_dtype, set_value, set_symbol = _VAR_SLOTS
        set_name(self, name)
        set_shape(self, shape)
        set_dtype(self, dtype)
        set_value(self, value)
        set_symbol(self, symbol)

    @property
    def is_const(self) -> bool:
        return self.value is not None

    def __repr__(self) -> str:
        return f"Var({self.name or self.value!r})"


def const(value: float, symbol: str | None = None) -> Var:
    """A scalar constant node."""
    return Var(None, (), "float", float(value), symbol)


@dataclass(frozen=True, slots=True, eq=False, init=False)
class Edge:
    """One application of primitive ``prim`` to ``inputs``, producing ``outputs``.

    ``origin`` is the forward edge whose adjoint block this edge belongs to (None for forward
    edges); it only serves the ``# grad of:`` comments of the printed program.
    """

    prim: str
    inputs: tuple[Var, ...]
    outputs: tuple[Var, ...]
    params: tuple[tuple[str, Any], ...] = ()
    origin: Edge | None = None

    def __init__(self, prim: str, inputs: tuple[Var, ...], outputs: tuple[Var, ...],
                 params: tuple[tuple[str, Any], ...] = (), origin: Edge | None = None) -> None:
        set_prim, set_inputs, set_outputs, set_params, set_origin = _EDGE_SLOTS  # as `Var`'s
        set_prim(self, prim)
        set_inputs(self, inputs)
        set_outputs(self, outputs)
        set_params(self, params)
        set_origin(self, origin)

    @property
    def output(self) -> Var:
        """The output of an edge that has one (every edge but most blocks')."""
        (output,) = self.outputs
        return output


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of a frozen class's slots, in the order of its fields: its ``__init__``
    writes each field with one (nodes and edges are made a million at a time)."""
    return tuple(getattr(cls, field_.name).__set__ for field_ in fields(cls))


_VAR_SLOTS = _slot_setters(Var)
_EDGE_SLOTS = _slot_setters(Edge)


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    """A function: ``inputs``, ``edges`` in topological order, ``outputs``.

    ``name`` is the function's name; ``source`` the text it was compiled from (for headers).
    ``hints`` are the name hints it gives nodes built unnamed (read, never changed: see `hint`).
    """

    name: str
    inputs: tuple[Var, ...]
    edges: tuple[Edge, ...]
    outputs: tuple[Var, ...]
    source: str = ""
    output_names: tuple[str, ...] = field(default=())
    hints: Mapping[Var, str] = field(default_factory=dict)

    def hint(self, var: Var) -> str | None:
        """``var``'s name hint in this graph (see `hint_of`)."""
        return hint_of(var, self.hints)

    def replace(self, **changes: Any) -> Graph:
        """A copy of the graph with some fields changed."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields.update(changes)
        return Graph(**fields)


def hint_of(var: Var, hints: Mapping[Var, str]) -> str | None:
    """``var``'s name hint: the name it was built with, else the one ``hints`` (its graph's,
    its builder's) give it, else None."""
    return var.name if var.name is not None else hints.get(var)


def add_hint(hints: dict[Var, str], var: Var, name: str | None) -> None:
    """Give ``var`` the hint ``name`` in ``hints`` if it has none yet (the first hint given a
    node is its hint; a constant takes none)."""
    if name is not None and var.name is None and var not in hints and not var.is_const:
        hints[var] = name


def nested_hints(graph: Graph) -> dict[Var, str]:
    """The hints of ``graph`` and of the graphs its blocks hold, at any depth: one scope, as a
    function with blocks is printed (blocks nest a few levels; a helper's graph is met once)."""
    hints: dict[Var, str] = {}
    pending, seen = [graph], set()
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            hints.update(current.hints)
            pending += [inner for edge in current.edges for inner in subgraphs(edge)]
    return hints


def select_inputs(graph: Graph, wrt: tuple[str, ...] | None) -> tuple[Var, ...]:
    """The inputs named by ``wrt``, in that order (if None: every input but the whole numbers,
    ``N: int``); ValueError if ``wrt`` names something that is not an input, a whole number,
    or an input twice."""
    if wrt is None:
        return differentiable_inputs(graph)
    by_name = {var.name: var for var in graph.inputs}
    _check_wrt(wrt, by_name)
    return tuple(by_name[name] for name in wrt)


def _check_wrt(wrt: tuple[str, ...], by_name: dict[str | None, Var]) -> None:
    """ValueError if ``wrt`` names something that is not an input, a whole number, or an
    input twice."""
    unknown = [name for name in wrt if name not in by_name]
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not an input; inputs are {', '.join(by_name)}")
    whole = [name for name in wrt if by_name[name].dtype == "int"]
    if whole:
        raise ValueError(f"'{whole[0]}' is a whole number ({whole[0]}: int): it has no "
                         "derivative; leave it out of wrt")
    if len(set(wrt)) != len(wrt):
        raise ValueError("an input is named twice")


def differentiable_inputs(graph: Graph) -> tuple[Var, ...]:
    """The inputs that are numbers (not ``N: int``): what is differentiated by default."""
    return tuple(var for var in graph.inputs if var.dtype == "float")


def producers(graph: Graph) -> dict[Var, Edge]:
    """Map each produced node to the edge that produces it."""
    return {var: edge for edge in graph.edges for var in edge.outputs}


def consumers(graph: Graph) -> dict[Var, list[Edge]]:
    """Map each node to the edges that use it, in topological order."""
    uses: dict[Var, list[Edge]] = {}
    for edge in graph.edges:
        for var in edge.inputs:
            uses.setdefault(var, []).append(edge)
    return uses


def iter_vars(graph: Graph) -> Iterator[Var]:
    """Every non-constant node once: inputs, then edge outputs in order."""
    yield from graph.inputs
    for edge in graph.edges:
        yield from edge.outputs


def has_arrays(graph: Graph) -> bool:
    """Whether any value of ``graph`` has a shape other than ``()``: an array function, whose
    inputs have declared shapes (a scalar function is instead mapped over arrays entrywise)."""
    return any(var.shape for var in iter_vars(graph))


def has_loops(graph: Graph) -> bool:
    """Whether ``graph`` runs a loop (a program with ``for``)."""
    return any(edge.prim == "loop" for edge in graph.edges)


def subgraphs(edge: Edge) -> list[Graph]:
    """The graphs an edge holds: a loop's body, the two sides of a branch."""
    if edge.prim not in BLOCKS:
        return []
    return [value for _, value in edge.params if isinstance(value, Graph)]


def has_blocks(graph: Graph) -> bool:
    """Whether ``graph`` has control flow: a loop or a branch (edges holding graphs)."""
    return any(edge.prim in BLOCKS for edge in graph.edges)


def has_branches(graph: Graph) -> bool:
    """Whether ``graph`` takes a real branch (an ``if`` on a scalar), at any depth."""
    pending = [graph]
    while pending:
        for edge in pending.pop().edges:
            if edge.prim == "cond":
                return True
            pending += subgraphs(edge)
    return False


#: The primitives whose edges hold graphs of their own.
BLOCKS = frozenset({"loop", "cond", "call"})

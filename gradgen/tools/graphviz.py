"""Tools stage: Graphviz export, `Graph` → DOT text, the picture of the lecture notes.

Values are ellipses, operations are boxes (the hypergraph drawn as a bipartite graph); each
value points to the operations that use it, and each operation to the value it produces.
Arguments of operations whose argument order matters are numbered on the arrows.

Values carry the program's own names (`picture_names`): the names the lowering recorded (``x``,
``a``, ``c``), the unnamed values numbered ``v1, v2, ...`` (``t1, t2, ...`` in adjoint blocks) as
the generated code and `gradgen ir` number them, the count going on into loops' bodies so that no
two values are alike; an array's label adds its shape, ``(n, d)``.

A loop is a cluster around its body, labelled as the source writes it (``for s in range(N)``):
inside are the loop variable, the carried values as a step starts (and what a step reads of a
tape) and the step's operations, whose results are doubly outlined; dashed arrows bring the
bounds to the loop variable and the values before the loop to the carried ones, and take the
last step's values to the loop's results. The body reads the values that it does not change
where they are drawn, outside. Arrows that start or end in a cluster are written after the
clusters, since Graphviz puts a node in every subgraph where an arrow names it.

Given values and adjoints at a point (`gradgen.tools.trace.annotations` for a function;
`gradgen.tools.trace_values.point_values` for any graph, a gradient graph too), each value
node's label gains them, one per line: ``v3``, ``= 10``, ``v̄3 = 5.5``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gradgen.emit.kinds import block_results
from gradgen.ir.graph import Edge, Graph, Var, hint_of, nested_hints
from gradgen.ir.naming import GENERATED_GLOBALS, Namer
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.primitives.loops import LoopParts, loop_parts
from gradgen.ir.printing import loop_text, operand
from gradgen.ir.registry import shape_text
from gradgen.tools.trace_text import Value, barred, format_value


def to_dot(graph: Graph, values: dict[Var, Value] | None = None,
           adjoints: dict[Var, float] | None = None,
           labels: dict[Var, str] | None = None) -> str:
    """The DOT source of ``graph``; deterministic.

    ``values`` and ``adjoints`` (by node) annotate the value nodes they cover; ``labels``
    replaces the printed names of the nodes it covers (the trace's ``v0, v1, ...``).
    """
    names = picture_names(graph)
    names.update((var, label) for var, label in (labels or {}).items() if var in names)
    picture = _Picture(graph.name, names, {var: _label(var, name, values or {}, adjoints or {})
                                           for var, name in names.items()})
    picture.draw(graph)
    return "\n".join([*picture.lines, "}"]) + "\n"


# ---- names -----------------------------------------------------------------------------------

def picture_names(graph: Graph) -> dict[Var, str]:
    """A name for every node of ``graph`` and of its loops' bodies: the graph's own first (its
    inputs and results keep the program's names), then each body's in turn, no two nodes alike
    but a node that is in two bodies (a value a reverse loop reads back from a tape). A body's
    invariants go by the names of the values they are."""
    namer, hints = Namer(GENERATED_GLOBALS), nested_hints(graph)
    names = {var: namer.fresh(hint_of(var, hints) or "x") for var in graph.inputs}
    graphs = [graph]
    for current in graphs:  # grows by the bodies of the loops met: no recursion
        results = block_results(current)
        for edge in current.edges:
            _name_outputs(edge, results.get(edge), names, namer, hints)
        graphs += [_name_body(edge, names, namer, hints)
                   for edge in current.edges if edge.prim == "loop"]
    return names


def _name_outputs(edge: Edge, results: dict[int, Var] | None, names: dict[Var, str],
                  namer: Namer, hints: dict[Var, str]) -> None:
    """As `naming.assign_names` and the generated code name them; of a loop's results, those
    read after it (the others are not drawn)."""
    for out in edge.outputs if results is None else results.values():
        if out not in names:
            own = hint_of(out, hints)
            names[out] = (namer.fresh(own) if own
                          else namer.temporary("t" if edge.origin is not None else "v"))


def _name_body(edge: Edge, names: dict[Var, str], namer: Namer, hints: dict[Var, str]
               ) -> Graph:
    """Names for a loop's body: its invariants, loop variable, carried and read values."""
    parts = loop_parts(edge)
    _name_invariants(parts, names)
    for var, hint in [(parts.index, "i"), *((var, "c") for var in parts.carried_in),
                      *((var, "r") for var in parts.read_in)]:
        if var not in names:  # a value read back from a tape keeps the name it was recorded by
            names[var] = namer.fresh(hint_of(var, hints) or hint)
    return parts.body


def _name_invariants(parts: LoopParts, names: dict[Var, str]) -> None:
    """A body's invariants go by the names of the values they are (a constant: as written)."""
    for outer, inner in zip(parts.invariants, parts.invariant_in):
        names[inner] = names[outer] if outer in names else operand(outer, names, python=False)


def _label(var: Var, name: str, values: dict[Var, Value], adjoints: dict[Var, float]) -> str:
    """The name, the shape of an array, then the value and the adjoint where given (one per
    line; `_quote` writes a newline ``\\n``)."""
    lines = [name]
    if var.shape:
        lines.append(shape_text(var.shape))
    if var in values:
        lines.append(f"= {format_value(values[var])}")
    if var in adjoints:
        lines.append(f"{barred(name)} = {format_value(adjoints[var])}")
    return "\n".join(lines)


# ---- drawing ---------------------------------------------------------------------------------

@dataclass
class _Scope:
    """A graph being drawn: the top one, or a loop's body in its cluster (``loop``)."""

    graph: Graph
    depth: int
    loop: Edge | None = None
    constants: dict[Var, str] = field(default_factory=dict)  # a constant is drawn once a scope

    def __post_init__(self) -> None:
        self.edges = iter(self.graph.edges)
        self.outputs = set(self.graph.outputs)
        self.results = {edge: results for edge, results in block_results(self.graph).items()
                        if edge.prim == "loop"}  # a loop's results, drawn as its cluster closes

    @property
    def indent(self) -> str:
        return "    " * (self.depth + 1)


class _Picture:
    """The DOT lines of one picture, written edge by edge, loops' bodies in clusters."""

    def __init__(self, name: str, names: dict[Var, str], labels: dict[Var, str]) -> None:
        self.names = names
        self.labels = labels
        self.lines = [f"digraph {_quote(name)} {{", "    rankdir=LR;",
                      '    node [fontname="Helvetica"];']
        self.ids: dict[Var, str] = {}
        self.later: list[str] = []  # arrows in clusters, written after them
        self.operations = 0
        self.clusters = 0

    def draw(self, graph: Graph) -> None:
        """Every node and arrow of ``graph``, going into loops' bodies with a stack of scopes."""
        top = _Scope(graph, 0)
        self.starts(graph.inputs, top, "style=bold")
        scopes = [top]
        while scopes:
            self.step(scopes)

    def step(self, scopes: list[_Scope]) -> None:
        """The next edge of the innermost scope: an operation, or a loop's cluster to enter;
        at the end of a body, leave its cluster."""
        scope = scopes[-1]
        edge = next(scope.edges, None)
        if edge is None:
            self.leave(scopes)
        elif edge.prim == "loop":
            scopes.append(self.open(edge, scope))
        else:
            self.operation(edge, scope)

    def leave(self, scopes: list[_Scope]) -> None:
        """Leave the innermost scope, its edges all drawn; a loop's body closes its cluster."""
        body = scopes.pop()
        if body.loop is not None:
            self.close(body, scopes[-1])

    def value(self, var: Var, scope: _Scope, style: str = "") -> str:
        """A value's ellipse, in ``scope``; returns its id."""
        node_id = f"v{len(self.lines)}"
        label = self.labels.get(var) or operand(var, self.names, python=False)
        attributes = ", ".join(filter(None, ["shape=ellipse", f"label={_quote(label)}", style]))
        self.lines.append(f"{scope.indent}{node_id} [{attributes}];")
        return node_id

    def starts(self, variables: Iterable[Var], scope: _Scope, style: str = "") -> None:
        """The ellipses of the values ``scope`` starts from: a graph's inputs, a loop's variable
        and the values a step starts with."""
        for var in variables:
            self.ids[var] = self.value(var, scope, style)

    def node(self, var: Var, scope: _Scope) -> str:
        """The id of a value used in ``scope``; a constant is drawn at its first use there."""
        if var in self.ids:
            return self.ids[var]
        if var not in scope.constants:
            scope.constants[var] = self.value(var, scope, "style=dashed")
        return scope.constants[var]

    def arrow(self, start: str, end: str, scope: _Scope, attributes: str = "") -> None:
        text = f"{start} -> {end}{f' [{attributes}]' if attributes else ''}"
        if scope.depth:
            self.later.append(text)
        else:
            self.lines.append(f"{scope.indent}{text};")

    def operation(self, edge: Edge, scope: _Scope) -> None:
        """An operation's box, the arrows from its operands and to its value."""
        op_id = f"op{self.operations}"
        self.operations += 1
        self.lines.append(f"{scope.indent}{op_id} [shape=box, label={_quote(_op_label(edge))}];")
        self.operands(edge, op_id, scope)
        for var in edge.outputs:
            self.produced(var, op_id, scope)

    def operands(self, edge: Edge, op_id: str, scope: _Scope) -> None:
        """The arrows from an operation's operands, numbered where their order matters."""
        ordered = len(edge.inputs) > 1 and not REGISTRY[edge.prim].commutative
        for number, var in enumerate(edge.inputs, 1):
            self.arrow(self.node(var, scope), op_id, scope, f"label={number}" if ordered else "")

    def produced(self, var: Var, start: str, scope: _Scope, style: str = "") -> None:
        """A value that ``start`` makes (an operation, or a loop's last step): its ellipse and
        the arrow to it."""
        self.ids[var] = self.value(var, scope, _outlined(var, scope))
        self.arrow(start, self.ids[var], scope, style)

    def open(self, edge: Edge, scope: _Scope) -> _Scope:
        """Begin a loop's cluster: its label, the loop variable and the values a step starts
        from; the body's invariants are the values outside."""
        parts = loop_parts(edge)
        outer = [self.node(var, scope) for var in parts.invariants]  # constants drawn outside
        self.ids.update(zip(parts.invariant_in, outer))
        body = _Scope(parts.body, scope.depth + 1, edge)
        self.cluster(loop_text(edge, self.names), scope, body)
        self.starts((parts.index, *parts.carried_in, *parts.read_in), body)
        return body

    def cluster(self, label: str, scope: _Scope, body: _Scope) -> None:
        self.clusters += 1
        self.lines += [f"{scope.indent}subgraph cluster_{self.clusters} {{",
                       f"{body.indent}label={_quote(label)};", f"{body.indent}style=rounded;",
                       f'{body.indent}fontname="Helvetica";']

    def close(self, body: _Scope, scope: _Scope) -> None:
        """End a loop's cluster; then the dashed arrows into it, and out of it to the loop's
        results."""
        assert body.loop is not None
        parts = loop_parts(body.loop)
        ends = [self.node(var, body) for var in parts.body.outputs]  # constants drawn inside
        self.lines.append(f"{scope.indent}}}")
        if not scope.depth:
            self.write_later(scope)
        for start, end in _into(parts):
            self.arrow(self.node(start, scope), self.ids[end], scope, "style=dashed")
        for k, result in sorted(scope.results[body.loop].items()):
            self.produced(result, ends[k], scope, "style=dashed")

    def write_later(self, top: _Scope) -> None:
        """The arrows drawn in clusters, written at the top once the outermost one closes."""
        self.lines += [f"{top.indent}{text};" for text in self.later]
        self.later = []


def _outlined(var: Var, scope: _Scope) -> str:
    """The style of a graph's result: doubly outlined."""
    return "peripheries=2" if var in scope.outputs else ""


def _into(parts: LoopParts) -> list[tuple[Var, Var]]:
    """The dashed arrows into a loop's body: the bounds to the loop variable, each value
    before the loop to the carried value, each tape to what a step reads of it."""
    return [(parts.start, parts.index), (parts.stop, parts.index),
            *zip(parts.carried, parts.carried_in), *zip(parts.reads, parts.read_in)]


def _op_label(edge: Edge) -> str:
    return REGISTRY[edge.prim].operator or edge.prim


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'

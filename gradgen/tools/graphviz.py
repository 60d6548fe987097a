"""Graphviz export: `Graph` → DOT text, the picture of the lecture notes.

Values are ellipses, operations are boxes (the hypergraph drawn as a bipartite graph); each
value points to the operations that use it, and each operation to the value it produces.
Arguments of operations whose argument order matters are numbered on the arrows.

Given values and adjoints at a point (`gradgen.tools.trace.annotations`), each value node's label
gains them, one per line: ``v3``, ``= 10``, ``v̄3 = 5.5``.
"""

from __future__ import annotations

from gradgen.ir.graph import Graph, Var
from gradgen.ir.naming import assign_names
from gradgen.ir.optimize import COMMUTATIVE
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.printing import operand
from gradgen.tools.trace import barred, format_value


def to_dot(graph: Graph, values: dict[Var, float] | None = None,
           adjoints: dict[Var, float] | None = None,
           labels: dict[Var, str] | None = None) -> str:
    """The DOT source of ``graph``; deterministic.

    ``values`` and ``adjoints`` (by node) annotate the value nodes they cover; ``labels``
    replaces the printed names of the nodes it covers (the trace's ``v0, v1, ...``).
    """
    names = assign_names(graph)
    if labels:
        names.update((var, label) for var, label in labels.items() if var in names)
    if values or adjoints:
        names = _annotated(names, values or {}, adjoints or {})
    ids: dict[Var, str] = {}
    lines = [f"digraph {_quote(graph.name)} {{", "    rankdir=LR;",
             '    node [fontname="Helvetica"];']
    for var in graph.inputs:
        ids[var] = _value_node(lines, var, names[var], "style=bold")
    outputs = set(graph.outputs)
    for index, edge in enumerate(graph.edges):
        op_id = f"op{index}"
        lines.append(f"    {op_id} [shape=box, label={_quote(_op_label(edge.prim))}];")
        ordered = len(edge.inputs) > 1 and edge.prim not in COMMUTATIVE
        for position, var in enumerate(edge.inputs):
            if var not in ids:
                ids[var] = _value_node(lines, var, operand(var, names, python=False),
                                       "style=dashed")
            label = f" [label={position + 1}]" if ordered else ""
            lines.append(f"    {ids[var]} -> {op_id}{label};")
        style = "peripheries=2" if edge.output in outputs else ""
        ids[edge.output] = _value_node(lines, edge.output, names[edge.output], style)
        lines.append(f"    {op_id} -> {ids[edge.output]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _annotated(names: dict[Var, str], values: dict[Var, float],
               adjoints: dict[Var, float]) -> dict[Var, str]:
    """Names with ``= value`` and ``v̄ = adjoint`` lines (`_quote` writes a newline ``\\n``)."""
    annotated = {}
    for var, name in names.items():
        lines = [name]
        if var in values:
            lines.append(f"= {format_value(values[var])}")
        if var in adjoints:
            lines.append(f"{barred(name)} = {format_value(adjoints[var])}")
        annotated[var] = "\n".join(lines)
    return annotated


def _value_node(lines: list[str], var: Var, label: str, style: str) -> str:
    node_id = f"v{len(lines)}"
    attributes = ", ".join(filter(None, ["shape=ellipse", f"label={_quote(label)}", style]))
    lines.append(f"    {node_id} [{attributes}];")
    return node_id


def _op_label(prim: str) -> str:
    return REGISTRY[prim].operator or prim


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'

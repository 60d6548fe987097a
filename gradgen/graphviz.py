"""Graphviz export: `Graph` → DOT text, the picture of the lecture notes.

Values are ellipses, operations are boxes (the hypergraph drawn as a bipartite graph); each
value points to the operations that use it, and each operation to the value it produces.
Arguments of operations whose argument order matters are numbered on the arrows.
"""

from __future__ import annotations

from gradgen.ir import Graph, Var
from gradgen.naming import assign_names
from gradgen.optimize import COMMUTATIVE
from gradgen.primitives import REGISTRY
from gradgen.printing import operand


def to_dot(graph: Graph) -> str:
    """The DOT source of ``graph``; deterministic."""
    names = assign_names(graph)
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


def _value_node(lines: list[str], var: Var, label: str, style: str) -> str:
    node_id = f"v{len(lines)}"
    attributes = ", ".join(filter(None, ["shape=ellipse", f"label={_quote(label)}", style]))
    lines.append(f"    {node_id} [{attributes}];")
    return node_id


def _op_label(prim: str) -> str:
    return REGISTRY[prim].operator or prim


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

"""The symbolic route: `Graph` → SymPy expression, and its derivatives by `sympy.diff`.

Each edge becomes its primitive's SymPy equivalent from the registry, in topological order, so
a deep graph needs no recursion here (SymPy's own printers may still recurse on deep trees).
"""

from __future__ import annotations

import sympy

from gradgen.ir import Graph, Var
from gradgen.primitives import REGISTRY


def to_sympy(graph: Graph) -> tuple[tuple[sympy.Symbol, ...], tuple[sympy.Expr, ...]]:
    """The input symbols and the output expressions of ``graph``."""
    symbols = tuple(sympy.Symbol(var.name, real=True) for var in graph.inputs)
    env: dict[Var, sympy.Expr] = dict(zip(graph.inputs, symbols))

    def value(var: Var) -> sympy.Expr:
        if not var.is_const:
            return env[var]
        if var.symbol == "pi":
            return sympy.pi
        return sympy.Integer(int(var.value)) if var.value.is_integer() else sympy.Float(var.value)

    for edge in graph.edges:
        env[edge.output] = REGISTRY[edge.prim].sympy(*map(value, edge.inputs))
    return symbols, tuple(value(var) for var in graph.outputs)


def symbolic_gradient(graph: Graph) -> tuple[tuple[sympy.Symbol, ...], sympy.Expr,
                                             tuple[sympy.Expr, ...]]:
    """Input symbols, the output expression and its partial derivatives by `sympy.diff`."""
    symbols, (expr,) = to_sympy(graph)
    return symbols, expr, tuple(sympy.diff(expr, s) for s in symbols)

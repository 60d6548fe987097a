"""Benchmark (peers): the SymPy reference every peer is checked against before it is timed.

Each statement of `Expr.statements` is differentiated by ``sympy.diff`` with respect to the
names it uses, and the partials are chained numerically (forward mode over statements), so a
20-deep nesting needs twenty small derivatives instead of one tree of 2^20 nodes.
"""

from __future__ import annotations

import numpy as np

from .exprs import Expr, namespace


def _statement(name: str, text: str, known: list) -> tuple:
    """``(used names, value function, partial functions)`` of one statement in NumPy."""
    import sympy as sp
    symbols = {v: sp.Symbol(v, real=True) for v in known}
    env = dict(namespace("sympy"))
    env.update(symbols)
    rhs = sp.sympify(eval(compile(text, f"<{name}>", "eval"), {"__builtins__": {}}, env))
    used = [v for v in known if symbols[v] in rhs.free_symbols]
    args = [symbols[v] for v in used]
    value = sp.lambdify(args, rhs, modules="numpy")
    partials = [sp.lambdify(args, sp.diff(rhs, s), modules="numpy") for s in args]
    return used, value, partials


def value_and_gradient(expr: Expr, xs: list) -> tuple:
    """Value and partials of ``expr`` at the points ``xs`` (one float64 array per input)."""
    n = len(xs[0])
    values = dict(zip(expr.inputs, xs))
    tangents = {v: np.eye(len(xs))[i][:, None] * np.ones(n) for i, v in enumerate(expr.inputs)}
    known = list(expr.inputs)
    with np.errstate(all="ignore"):
        for name, text in expr.statements():
            used, value, partials = _statement(name, text, known)
            args = [values[v] for v in used]
            values[name] = value(*args) * np.ones(n)
            tangents[name] = sum((partial(*args) * tangents[v] for v, partial in
                                  zip(used, partials)), np.zeros((len(xs), n)))
            known.append(name)
    return values[name], tuple(tangents[name])

"""The reference interpreter: evaluates a `Graph` directly with NumPy.

An oracle independent of code generation: it runs each primitive's NumPy callable from the
registry (``impl``), not the text the emitter prints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives import REGISTRY


def interpret(graph: Graph, *args: Any) -> tuple[Any, ...]:
    """The values of ``graph.outputs`` at inputs ``args``."""
    env: dict[Var, Any] = dict(zip(graph.inputs, (np.asarray(a, dtype=float) for a in args)))

    def value(var: Var) -> Any:
        return var.value if var.is_const else env[var]

    with np.errstate(all="ignore"):
        for edge in graph.edges:
            env.update(zip(edge.outputs, apply(edge, [value(var) for var in edge.inputs])))
    return tuple(value(var) for var in graph.outputs)


def apply(edge: Edge, args: list[Any]) -> tuple[Any, ...]:
    """The values of one edge's outputs: its primitive's NumPy callable (a block's runs its
    graphs here, and gives one value per result)."""
    entry = REGISTRY[edge.prim]
    params = dict(edge.params)
    if not entry.block:
        return (entry.impl(*args, **params),)
    return entry.impl(*args, **params, run=interpret)

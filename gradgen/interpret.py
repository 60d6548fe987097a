"""The reference interpreter: evaluates a `Graph` directly with NumPy.

An oracle independent of code generation: it runs each primitive's NumPy callable from the
registry (``impl``), not the text the emitter prints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradgen.ir import Graph, Var
from gradgen.primitives import REGISTRY


def interpret(graph: Graph, *args: Any) -> tuple[Any, ...]:
    """The values of ``graph.outputs`` at inputs ``args``."""
    env: dict[Var, Any] = dict(zip(graph.inputs, (np.asarray(a, dtype=float) for a in args)))

    def value(var: Var) -> Any:
        return var.value if var.is_const else env[var]

    with np.errstate(all="ignore"):
        for edge in graph.edges:
            env[edge.output] = REGISTRY[edge.prim].impl(*map(value, edge.inputs),
                                                         **dict(edge.params))
    return tuple(value(var) for var in graph.outputs)

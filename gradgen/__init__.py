"""gradgen: compile mathematical expressions and small programs into NumPy gradient code.

The Python API::

    import gradgen
    compiled = gradgen.compile_source("f(x, y) = x*y + sin(x)", mode="reverse")
    compiled.source                     # the generated module's text
    compiled.module.gradient(1.0, 2.0)  # the loaded module
    gradgen.compare(text)               # every route side by side (data)
    gradgen.check(text)                 # the gradient against central differences and SymPy

    @gradgen.compile_function(wrt="w")  # a Python function, read (never run); disk-cached
    def loss(w: (d,), X: (n, d)):
        return np.sum(np.tanh(X @ w) ** 2)

    gradgen.trace(text, at="x=2,y=5")   # what `gradgen trace`, `ir`, `graph` print: ir, graph

The stages, in the order data flows: `gradgen.frontend` (text to a graph), `gradgen.ir` (the
graph and its vocabulary), `gradgen.differentiate`, `gradgen.emit` (a graph to a module),
`gradgen.pipeline` (the stages joined), `gradgen.tools` and `gradgen.cli`. The API's functions
are imported when first used, so that importing one stage imports only the stages below it.
"""

from __future__ import annotations

import importlib
from typing import Any

from gradgen.version import __version__

#: The API's functions, by the module that defines each.
_API = {"compile_source": "gradgen.pipeline", "Compiled": "gradgen.pipeline",
        "check": "gradgen.tools.compare", "compare": "gradgen.tools.compare",
        "compile_function": "gradgen.tools.function", "ir_text": "gradgen.tools.notebook",
        "trace": "gradgen.tools.notebook", "graph": "gradgen.tools.notebook"}

__all__ = ["Compiled", "__version__", "check", "compare", "compile_function", "compile_source",
           "graph", "ir_text", "trace"]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'gradgen' has no attribute {name!r}")
    return getattr(importlib.import_module(_API[name]), name)

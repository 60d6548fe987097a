"""gradgen: compile mathematical expressions and small programs into NumPy gradient code.

The Python API::

    import gradgen
    compiled = gradgen.compile_source("f(x, y) = x*y + sin(x)", mode="reverse")
    compiled.source                     # the generated module's text
    compiled.module.gradient(1.0, 2.0)  # the loaded module
    gradgen.compare(text)               # every route side by side (data)
    gradgen.check(text)                 # the gradient against central differences and SymPy

The pipeline is in `gradgen.pipeline`; the command line in `gradgen.cli`.
"""

from gradgen.compare import check, compare
from gradgen.pipeline import compile_source
from gradgen.version import __version__

__all__ = ["__version__", "check", "compare", "compile_source"]

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

__version__ = "0.1.0"

from gradgen.compare import check, compare  # noqa: E402  (after __version__, which emit uses)
from gradgen.pipeline import compile_source  # noqa: E402

__all__ = ["__version__", "check", "compare", "compile_source"]

"""gradgen: compile mathematical expressions and small programs into NumPy gradient code.

The pipeline is in `gradgen.pipeline`; the command line in `gradgen.cli`.
"""

__version__ = "0.1.0"

"""The runtime: keyword arguments under the source's names (a generated module's layout places
it after its aliases are made). See `gradgen.runtime`.
"""

import functools

#: Source name -> Python name of each input whose names differ: a generated module's copy of
#: `_with_source_names` has its own written in (and listed in its docstring).
RENAMED = {}


def _with_source_names(function):
    """Accept keyword arguments under the source's names (RENAMED)."""
    renamed = RENAMED

    @functools.wraps(function)
    def call(*args, **kwargs):
        return function(*args, **{renamed.get(key, key): value for key, value in kwargs.items()})

    return call

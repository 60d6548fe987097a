"""The IR's vocabulary: SymPy as the registry's entries name it (``sympy.sin``), each function
looked up in SymPy at its first call. Compiling never calls them, so it never imports SymPy
(half a second); only the symbolic route and the tests do.
"""

from __future__ import annotations

import importlib
from typing import Any


class LateFunction:
    """``sympy.<name>``, from SymPy imported at the first call."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module("sympy"), self.name)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"sympy.{self.name}"


class LateSymPy:
    """Stands for the module ``sympy``: ``sympy.sin`` is SymPy's sin, as a `LateFunction`."""

    def __getattr__(self, name: str) -> LateFunction:
        return LateFunction(name)


sympy = LateSymPy()

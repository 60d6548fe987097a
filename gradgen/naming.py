"""Names in printed and generated code: every naming pattern lives here.

IR nodes carry only a name *hint* (the user's variable, ``x_bar`` for an adjoint, or None).
`assign_names` turns hints into unique, valid Python names for one function: user names are
kept, Python keywords and names the generated code needs (``np``, helpers) get a trailing
underscore, unnamed forward values are ``v1, v2, ...`` as in the lecture notes' traces,
unnamed adjoint temporaries ``t1, t2, ...``, and a repeated hint gets ``_2, _3, ...``.
"""

from __future__ import annotations

import keyword

from gradgen.ir import Edge, Graph, Var

#: Module-level names that generated function bodies refer to.
GENERATED_GLOBALS = frozenset({"np", "_as_float", "_finish", "_finish_arrays", "_check_shapes",
                               "_units", "_jacobians", "_logsumexp", "_softmax",
                               "_log_softmax", "_scatter", "_pointwise", "_gathered"})


def adjoint_name(hint: str | None) -> str | None:
    """The name hint of the adjoint of a node with hint ``hint``."""
    return None if hint is None else f"{hint}_bar"


def tangent_name(hint: str | None) -> str | None:
    """The name hint of the tangent (forward mode) of a node with hint ``hint``."""
    return None if hint is None else f"{hint}_dot"


def python_name(name: str, reserved: frozenset[str] = GENERATED_GLOBALS) -> str:
    """``name``, or ``name_`` if it is a Python keyword or reserved for generated code."""
    while keyword.iskeyword(name) or name in reserved:
        name += "_"
    return name


class Namer:
    def __init__(self, reserved: frozenset[str]) -> None:
        self.reserved = reserved
        self.taken: set[str] = set(reserved)
        self.counters = {"v": 0, "t": 0}
        self.suffixes: dict[str, int] = {}  # base -> the last suffix tried (y_2, y_3, ...)

    def fresh(self, hint: str) -> str:
        """``hint``, or ``hint_2``, ``hint_3``... the first that is free (in constant time
        however many values share a hint)."""
        base = python_name(hint, self.reserved)
        name, suffix = base, self.suffixes.get(base, 1)
        while name in self.taken:
            suffix += 1
            name = f"{base}_{suffix}"
        self.suffixes[base] = suffix
        self.taken.add(name)
        return name

    def temporary(self, prefix: str) -> str:
        while True:
            self.counters[prefix] += 1
            name = f"{prefix}{self.counters[prefix]}"
            if name not in self.taken:
                self.taken.add(name)
                return name


def assign_names(graph: Graph, reserved: frozenset[str] = GENERATED_GLOBALS,
                 reuse_dead: bool = False, unnamed: frozenset[Var] = frozenset()
                 ) -> dict[Var, str]:
    """A unique Python name for every non-constant node of ``graph``.

    With ``reuse_dead``, an edge whose output has the same hint as one of its inputs, used for
    the last time by that edge, takes over the input's name (``a = a + 1``; adjoint sums print
    as ``x_bar = x_bar + t1``): fine in Python, but not single-assignment, so the IR printer
    does not use it. Nodes in ``unnamed`` (printed inline where they are used) get no name.
    """
    namer = Namer(reserved)
    names = {var: namer.fresh(var.name or "x") for var in graph.inputs}
    last_use = _last_uses(graph) if reuse_dead else {}
    for index, edge in enumerate(graph.edges):
        out = edge.output
        if out in unnamed:
            continue
        if out.name is None:
            names[out] = namer.temporary("t" if edge.origin is not None else "v")
            continue
        names[out] = _reused_name(edge, index, last_use, names) or namer.fresh(out.name)
    return names


def _reused_name(edge: Edge, index: int, last_use: dict[Var, int],
                 names: dict[Var, str]) -> str | None:
    for var in edge.inputs:
        if var.name == edge.output.name and last_use.get(var) == index and var in names:
            return names[var]
    return None


def _last_uses(graph: Graph) -> dict[Var, int]:
    """Index of the last edge using each node; graph outputs count as used after the end."""
    last: dict[Var, int] = {}
    for index, edge in enumerate(graph.edges):
        for var in edge.inputs:
            last[var] = index
    for var in graph.outputs:
        last[var] = len(graph.edges)
    return last

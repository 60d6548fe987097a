"""Names in printed and generated code: every naming pattern, and the one rule, live here.

IR nodes carry only a name *hint* (the user's variable, ``x_bar`` for an adjoint, or None), the
one they were built with or the one their graph gives them (`Graph.hint`).
`python_name` is the one rule that makes a name of the source a Python name: Python reads an
identifier by its NFKC form (``ｘ``, ``𝐱`` and ``x`` are one name to it), so the Python name of
a user name is its NFKC form, used as it is only where it is *free*: not a keyword, not a dunder
(``__debug__``, ``__getattr__``, ``__builtins__``...: Python gives them meanings), not ``_``
(the generated code's discard), not a builtin (the module's code calls ``isinstance``,
``max``...) and not a name the generated code makes (``np``, ``forward``, the functions of
`gradgen.runtime` such as ``_as_float``); otherwise it gets trailing underscores until it is
(``lambda_``, ``type_``, ``__debug___``).
Names meet by their Python names only, so `Namer` keeps them apart: ``x`` and ``ｘ`` are
``x`` and ``x_2``, ``lambda`` and ``lambda_`` are ``lambda_`` and ``lambda__2``.

`assign_names` turns hints into unique Python names for one function: unnamed forward values
are ``v1, v2, ...`` as in the lecture notes' traces, unnamed adjoint temporaries ``t1, t2,
...``, and a repeated hint gets ``_2, _3, ...``. A helper function of the source and its
derivatives are ``NAME``, ``NAME_record`` and ``NAME_vjp`` (`helper_name`), and the entry
function's own names in the module are ``NAME`` and ``NAME_gradient`` (`entry_aliases`).
"""

from __future__ import annotations

import builtins
import keyword
import unicodedata
from collections.abc import Mapping

import gradgen.runtime as runtime
from gradgen.ir.graph import Edge, Graph, Var, hint_of

#: Module-level names that generated function bodies refer to: NumPy and the runtime's functions.
GENERATED_GLOBALS = frozenset({"np", *runtime.FUNCTIONS})
#: Python's builtins: no user name is one, so nothing the module calls can be shadowed.
BUILTINS = frozenset(dir(builtins))
#: The name a generated line gives a result nothing reads (``s, _ = sigmoid_record(z)``).
DISCARD = "_"


#: Module-level names of the generated module's layout (its constants, functions and imports).
MODULE_NAMES = frozenset({
    "INPUTS", "WRT", "SHAPES", "VALUE_SHAPE", "MINIMUM_SIZES", "forward", "gradient", "vjp",
    "jvp", "jacobian", "functools", "inspect", "math", "BLOCK", "numba", "os", "CACHE", "hvp",
    "hessian", "sparse_hessian", "HESSIAN_PATTERN", "HESSIAN_COLOURS", "COST", "pack", "unpack",
    "flat_gradient", "flat_hvp", "error_bound"})


def twin_name(name: str) -> str:
    """``_gradient_on_floats``: the float twin of the module's function ``name``."""
    return f"_{name}_on_floats"


def kernel_name(name: str) -> str:
    """``_gradient_at_points``: the compiled loop of the module's function ``name`` (numba)."""
    return f"_{name}_at_points"


#: The float twins and the compiled loops a generated module may have (see
#: `gradgen.emit.floats` and `gradgen.emit.numba_target`).
TWINS = (twin_name("forward"), twin_name("gradient"), twin_name("error_bound"))
KERNELS = (kernel_name("forward"), kernel_name("gradient"), kernel_name("error_bound"))


def module_globals() -> frozenset[str]:
    """Every module-level name of a generated module: the source's function names must avoid
    them (no name needs to avoid a builtin here: `python_name` keeps every name off them)."""
    return GENERATED_GLOBALS | MODULE_NAMES | set(TWINS) | set(KERNELS)


def adjoint_name(hint: str | None) -> str | None:
    """The name hint of the adjoint of a node with hint ``hint``."""
    return None if hint is None else f"{hint}_bar"


def tangent_name(hint: str | None) -> str | None:
    """The name hint of the tangent (forward mode) of a node with hint ``hint``."""
    return None if hint is None else f"{hint}_dot"


def folded(name: str) -> str:
    """The form by which Python reads (and compares) an identifier: its NFKC form."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def is_dunder(name: str) -> bool:
    """Whether ``name`` is a ``__special__`` name (``__x___``, ``___`` are not)."""
    return (len(name) > 4 and name[:2] == name[-2:] == "__" and name[2] != "_"
            and name[-3] != "_")


def is_free(name: str, reserved: frozenset[str] = GENERATED_GLOBALS) -> bool:
    """Whether a folded name may be used as it is (see the module's docstring)."""
    return not (keyword.iskeyword(name) or is_dunder(name) or name == DISCARD
                or name in BUILTINS or name in reserved)


def python_name(name: str, reserved: frozenset[str] = GENERATED_GLOBALS) -> str:
    """The one rule: ``name``'s NFKC form, with ``_`` appended until it is free (a keyword,
    a dunder, ``_``, a builtin or a name in ``reserved`` is not)."""
    name = folded(name)
    while not is_free(name, reserved):
        name += "_"
    return name


def derivative_names(name: str) -> tuple[str, str]:
    """The module-level names of a helper function's derivatives: record and vjp."""
    return f"{name}_record", f"{name}_vjp"


def helper_name(hint: str, taken: frozenset[str]) -> str:
    """A module-level name for a helper function: by the rule, and with its derivatives'
    names free too (all three outside ``taken``)."""
    name = python_name(hint, taken)
    while taken.intersection(derivative_names(name)):
        name = python_name(name + "_", taken)
    return name


def entry_aliases(name: str, module_globals: frozenset[str]) -> tuple[str, str]:
    """The entry function's own names in the module, for its value and its gradient (``f``,
    ``f_gradient``): by the rule, outside ``module_globals`` (an entry called ``forward`` is
    ``forward`` itself)."""
    value = python_name(name, module_globals - {"forward"})
    return value, python_name(f"{name}_gradient", module_globals)


class Namer:
    """Unique Python names for one scope: each by the rule (`python_name`), and apart from
    every name already given and from ``reserved``."""

    def __init__(self, reserved: frozenset[str]) -> None:
        self.reserved = reserved
        self.taken: set[str] = set(reserved)
        self.counters = {"v": 0, "t": 0}
        self.suffixes: dict[str, int] = {}  # base -> the last suffix tried (y_2, y_3, ...)
        self.bases: dict[str, str] = {}  # hint -> its Python name (hints repeat: x_bar...)

    def fresh(self, hint: str) -> str:
        """``hint``, or ``hint_2``, ``hint_3``... the first that is free (in constant time
        however many values share a hint)."""
        base = self.bases.get(hint)
        if base is None:
            base = self.bases[hint] = python_name(hint, self.reserved)
        name, suffix = base, self.suffixes.get(base, 1)
        while name in self.taken:
            suffix += 1
            name = f"{base}_{suffix}"
        self.suffixes[base] = suffix
        self.taken.add(name)
        return name

    def temporary(self, prefix: str) -> str:
        """The next free ``v1, v2, ...`` (prefix ``v``) or ``t1, t2, ...`` (``t``)."""
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
    does not use it. A graph input keeps its name to the end (an input named ``x_bar`` is not
    the adjoint of ``x``). Nodes in ``unnamed`` (printed inline where they are used) get no name.
    """
    namer = Namer(reserved)
    hints = graph.hints
    names = {var: namer.fresh(hint_of(var, hints) or "x") for var in graph.inputs}
    last_use = _last_uses(graph) if reuse_dead else {}
    for index, edge in enumerate(graph.edges):
        for output in edge.outputs:
            if output not in unnamed:
                names[output] = _output_name(edge, output, index, namer, last_use, names, hints)
    return names


def _output_name(edge: Edge, output: Var, index: int, namer: Namer, last_use: dict[Var, int],
                 names: dict[Var, str], hints: Mapping[Var, str]) -> str:
    """A temporary (``v1``, ``t1``) for an output without a hint, else the name of an input it
    takes over (with ``reuse_dead``), else a fresh name after its hint (in ``hints``)."""
    own = output.name if output.name is not None else hints.get(output)  # `hint_of`, inlined
    if own is None:
        return namer.temporary("t" if edge.origin is not None else "v")
    reused = _reused_name(edge, own, index, last_use, names, hints) if last_use else None
    return reused or namer.fresh(own)


def _reused_name(edge: Edge, own: str, index: int, last_use: dict[Var, int],
                 names: dict[Var, str], hints: Mapping[Var, str]) -> str | None:
    """The name of an input of ``edge`` hinted ``own`` that ``edge`` reads for the last time
    (`hint_of` inlined: an input is mostly named, and otherwise; this runs once a node)."""
    for var in edge.inputs:
        if ((var.name == own or var.name is None and hints.get(var) == own)
                and last_use.get(var) == index and var in names):
            return names[var]
    return None


def _last_uses(graph: Graph) -> dict[Var, int]:
    """Index of the last edge using each node; graph outputs count as used after the end, and
    so do its inputs (the finish reads them for the results' shapes)."""
    last: dict[Var, int] = {}
    for index, edge in enumerate(graph.edges):
        for var in edge.inputs:
            last[var] = index
    for var in (*graph.inputs, *graph.outputs):
        last[var] = len(graph.edges)
    return last

"""Front end, lowering: names and dimensions — what a name in the source stands for.

A function's inputs are its parameters (in form A, the expression's free names in natural
order: ``x1, x2, x10``); an input's declared shape names its dimensions. A name is looked up in
the graph being built, then in the graphs enclosing it, from which it is brought in as an
invariant input of each block in between. A dimension name used as a value (``sum(x) / n``)
is the size of that dimension, read off the input that declares it. An unknown name is an
error that lists the names there are.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from gradgen.errors import CompileError
from gradgen.frontend.lower_static import Literal
from gradgen.frontend.scopes import FunctionScope, ProgramScope, assigned_names
from gradgen.frontend.syntax import WHOLE, Function, Item, Name
from gradgen.ir.builder import as_params
from gradgen.ir.dims import named
from gradgen.ir.graph import Shape, Var
from gradgen.ir.naming import folded
from gradgen.ir.primitives import FUNCTIONS

#: The names that stand for static literals (where no variable of that name exists).
LITERALS = {"True": True, "False": False, "None": None}


# ---- a function's inputs and dimensions ------------------------------------------------------

def input_names(function: Function) -> list[str]:
    if function.params is not None:
        return [param.text for param in function.params]
    expr = function.body[-1].expr
    return sorted({item.text for item in expr if item.kind == "name"}, key=natural_order)


def natural_order(name: str) -> tuple[tuple[str | int, ...], str]:
    """A name's place in natural order: its runs of digits compared as numbers (``x2`` before
    ``x10``), the rest as text; the name itself breaks ties (``x01``, ``x1``)."""
    runs = re.split(r"(\d+)", name)
    return tuple(int(run) if index % 2 else run for index, run in enumerate(runs)), name


def declared_dims(function: Function, index: int) -> tuple[Name, ...] | None:
    """The dimensions declared for input ``index`` (None for a scalar or ``N: int``)."""
    shapes = function.shapes
    declared = shapes[index] if index < len(shapes) else None
    return None if declared == WHOLE else declared


def input_var(function: Function, names: list[str], index: int) -> Var:
    shapes = function.shapes
    whole = index < len(shapes) and shapes[index] == WHOLE
    shape = declared_shape(declared_dims(function, index) or ())
    return Var(names[index], shape, "int" if whole else "float")


def declared_shape(dims: tuple[Name, ...]) -> Shape:
    """A shape as declared: whole numbers, and named dimensions."""
    return tuple(int(d.text) if d.text.isdigit() else named(d.text) for d in dims)


def entry_dimensions(function: Function, names: list[str]) -> dict[str, tuple[int, int]]:
    """The entry's dimension names: name -> (input index, axis) of the first input declaring it."""
    found: dict[str, tuple[int, int]] = {}
    for index in range(len(names)):
        for axis, dim in named_dims(declared_dims(function, index)):
            check_dimension_name(function, dim, names)
            found.setdefault(dim.text, (index, axis))
    return found


def named_dims(declared: tuple[Name, ...] | None) -> Iterator[tuple[int, Name]]:
    """The axes of a declared shape that a dimension name sizes (not a whole number)."""
    return ((axis, dim) for axis, dim in enumerate(declared or ()) if not dim.text.isdigit())


def check_dimension_name(function: Function, dim: Name, names: list[str]) -> None:
    if dim.text in names:
        raise CompileError(f"'{dim.text}' is both a parameter and a dimension name",
                           function.source, dim.line, dim.col)


def helper_dimensions(helper: Function) -> dict[str, tuple[int, int]]:
    """A helper's dimension names: name -> (input index, axis) of the last input declaring it
    (a call binds them all to the same sizes)."""
    return {dim.text: (index, axis)
            for index, declared in enumerate(helper.shapes or ()) if declared != WHOLE
            for axis, dim in named_dims(declared)}


def note_scalar_inputs(program: ProgramScope, inputs: tuple[Var, ...]) -> None:
    """A scalar input's compile-time value is the dimension of its name: it may bound a loop
    (``range(N)``)."""
    program.static.update((var, named(var.name)) for var in inputs if not var.shape)


def temporary_names(function: Function, taken_names: set[str]) -> Iterator[str]:
    """``v1, v2, ...`` for values the source does not name, skipping the source's own names
    (as Python reads them: ``ｖ1`` is ``v1``)."""
    taken = {folded(name) for name in taken_names}
    for each in (function, *function.helpers):  # names at any depth: loops, branches, helpers
        taken.update(folded(name) for name in assigned_names(each.body))
        taken.update(folded(param.text) for param in each.params or ())
    return (name for name in (f"v{k}" for k in itertools.count(1)) if name not in taken)


# ---- names in a body -------------------------------------------------------------------------

def check_target(scope: FunctionScope, target: Name) -> None:
    if target.text in scope.dimensions:
        index, _ = scope.dimensions[target.text]
        scope.fail(f"'{target.text}' is a dimension of {scope.input_names[index]}; "
                   "choose another name for the variable", target)


def visible(scope: FunctionScope, name: str) -> bool:
    return name in scope.env or any(name in block.outer_env for block in scope.blocks)


def lookup(scope: FunctionScope, item: Item) -> Any:
    """What a name item stands for: a node, a dimension's size or a literal."""
    var = lookup_name(scope, item.text)
    if var is not None:
        return var
    if item.text in scope.dimensions:
        return dimension(scope, item.text)
    if item.text in LITERALS:
        return Literal(LITERALS[item.text])
    scope.fail(unknown_name_message(scope, item.text), item)


def lookup_name(scope: FunctionScope, name: str) -> Var | None:
    """The node a name stands for here: this body's, or an enclosing one's brought in as
    an invariant input of each block in between."""
    var = scope.env.get(name)
    if var is None:
        var = outside_value(scope, name)
        if var is not None:
            scope.env[name] = var
    return var


def outside_value(scope: FunctionScope, name: str) -> Var | None:
    """The node ``name`` stands for in a graph enclosing the open blocks, brought in (None:
    none there)."""
    for depth in range(len(scope.blocks) - 1, -1, -1):
        var = scope.blocks[depth].outer_env.get(name)
        if var is not None:
            return bring_in(scope, var, depth)
    return None


def bring_in(scope: FunctionScope, var: Var, depth: int) -> Var:
    """``var``, of the graph enclosing open block ``depth``, as an input of each block from
    there in (keeping its compile-time value)."""
    static = scope.program.static
    for block in scope.blocks[depth:]:
        outer, var = var, block.invariant(var)
        if outer in static:
            static[var] = static[outer]
    return var


def dimension(scope: FunctionScope, name: str) -> Var:
    """The size of dimension ``name``, read off the first input that declares it (at the
    function's top level, and brought into blocks like any outside value)."""
    index, axis = scope.dimensions[name]
    var = scope.root_builder.emit("dim", (scope.inputs[index],), name,
                                  as_params({"axis": axis}))
    (scope.blocks[0].outer_env if scope.blocks else scope.env)[name] = var  # the function's own
    scope.program.static[var] = scope.inputs[index].shape[axis]  # in a helper, the caller's size
    return lookup_name(scope, name)


# ---- unknown names ---------------------------------------------------------------------------

def unknown_name_message(scope: FunctionScope, name: str) -> str:
    if name in scope.block_locals:
        return block_local_message(name, *scope.block_locals[name])
    return names_message(scope, name) + name_hints(scope, name)


def block_local_message(name: str, first: Name, where: str) -> str:
    block = "the loop" if "loop" in where else "the 'if'"
    return (f"'{name}' is assigned {where} (at {first.line}:{first.col}); "
            f"give it a value before {block} to use it after")


def names_message(scope: FunctionScope, name: str) -> str:
    """That ``name`` is unknown, and the inputs, variables and dimensions there are."""
    variables = assigned_variables(scope)
    what = "an input or an assigned variable" if variables else "an input"
    inputs = ", ".join(scope.input_names) or "none"
    return (f"'{name}' is not {what}; inputs are {inputs}" + listed("variables so far", variables)
            + listed("dimensions", scope.dimensions))


def listed(label: str, names: Iterable[str]) -> str:
    """``; label: a, b`` for a message, or nothing where there are no names."""
    return f"; {label}: {', '.join(names)}" if names else ""


def assigned_variables(scope: FunctionScope) -> list[str]:
    """The names assigned so far (not inputs, not dimensions' sizes)."""
    return [n for n in scope.env if n not in scope.input_names and n not in scope.dimensions]


def name_hints(scope: FunctionScope, name: str) -> str:
    """A close name there is, and whether ``name`` is a function."""
    function = f" ({name} is a function: call it as {name}(...))" if name in FUNCTIONS else ""
    return did_you_mean(name, [*scope.env, *scope.dimensions]) + function


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` — did you mean 'x'?`` with the known name closest to ``name``, if one is close."""
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f" — did you mean '{guess[0]}'?" if guess else ""

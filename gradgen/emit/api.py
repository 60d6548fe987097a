"""Emission: the module's functions written on top of its derivative: ``vjp`` from
``gradient``, ``jacobian`` from ``vjp``, forward mode's ``gradient`` from ``jvp``.

Part of emission (`emit`). Each is a few lines that call the module's own functions; its
locals are named apart from its parameters and the module's globals.
"""

from __future__ import annotations

from gradgen.emit.functions import MODULE_GLOBALS, Function, plain_function, wrt_params
from gradgen.emit.lines import LINE_WIDTH, Line, returned_tuple, tuple_text, wrapped_tuple
from gradgen.ir.graph import Var
from gradgen.ir.naming import Namer

#: The docstring of each function written on top of the derivative.
DOCS = {"jacobian": "Value and one Jacobian per input of WRT, shaped value + input.",
        "cheaper_jacobian": "Value and one Jacobian per input of WRT, shaped value + input: "
                            "one vjp per entry of the value, or one jvp per entry of the "
                            "inputs of WRT where those are fewer.",
        "jacobian_by_columns": "Value and one Jacobian per input of WRT, shaped value + "
                               "input: one jvp per entry of the inputs of WRT.",
        "vjp_by_jacobian": "Value, and the cotangent pulled back to each input of WRT "
                           "(through the Jacobians).",
        "gradient": "Value and partials, by one forward sweep (jvp) per input of WRT.",
        "gradient_by_entries": "Value and partials, by one forward sweep (jvp) per entry of each "
                               "input of WRT.",
        "vjp": "Value and the cotangent times each partial (the vector-Jacobian product).",
        "hessian": "Hessian of the value, rows H[i][j] over WRT, by one hvp sweep per colour of "
                   "HESSIAN_COLOURS.",
        "sparse_hessian": "The Hessian's entries that may be non-zero (HESSIAN_PATTERN), as "
                          "(rows, columns, values).",
        "hessian_blocks": "Hessian of the value, blocks H[i][j] over WRT shaped input i + input "
                          "j, by one hvp sweep per entry of each input of WRT."}


def jacobian(params: list[str], wrt: tuple[str, ...], inputs: tuple[Var, ...]) -> Function:
    """``jacobian`` of an array-valued function: one ``vjp`` per entry of the value."""
    value, rows, unit = _locals(params, "value", "rows", "unit")
    statements = [_value_line(value, params), _rows_line(rows, params, unit, value)]
    jacobians = f"_jacobians({rows}, {value}, {tuple_text(wrt_params(wrt, inputs, params))})"
    return _wrapper("jacobian", params, statements, f"{value}, {jacobians}")


def jacobian_by_sweeps(params: list[str], wrt: tuple[str, ...], inputs: tuple[Var, ...],
                       rows: bool = True) -> Function:
    """``jacobian`` of an array-valued function that has a ``jvp``: with ``rows`` (a ``vjp``
    too), by rows or by columns, whichever are fewer (`runtime._cheaper_jacobians`); else by
    columns (`runtime._jacobians_by_columns`)."""
    value, values = _locals(params, "value", "inputs")
    positions = tuple_text(str(params.index(p)) for p in wrt_params(wrt, inputs, params))
    statements = [_value_line(value, params),
                  Line(values, wrapped_tuple(params, 4 + len(f"{values} = ")))]
    sweeps = ("_cheaper_jacobians(vjp, jvp, " if rows else "_jacobians_by_columns(jvp, ")
    doc = DOCS["cheaper_jacobian" if rows else "jacobian_by_columns"]
    return plain_function("jacobian", params, doc, statements,
                          f"{value}, {sweeps}{value}, {values}, {positions})")


def vjp_by_jacobian(params: list[str]) -> Function:
    """``vjp`` of an array-valued function in forward mode: the cotangent through the
    Jacobians (``tensordot`` over the value's axes)."""
    cotangent, value, jacobians, each = _locals(params, "cotangent", "value", "jacobians", "each")
    statements = [Line(f"{value}, {jacobians}", f"jacobian({', '.join(params)})")]
    pulled = (f"{value}, tuple(np.tensordot({cotangent}, {each}, axes=np.ndim({value})) "
              f"for {each} in {jacobians})")
    return plain_function("vjp", [*params, cotangent], DOCS["vjp_by_jacobian"], statements,
                          pulled)


def _rows_line(rows: str, params: list[str], unit: str, value: str) -> Line:
    """``rows = [vjp(x, unit)[1] for unit in _units(value)]``: a vjp per entry of the value."""
    return Line(rows, f"[vjp({', '.join(params + [unit])})[1] for {unit} in _units({value})]")


def gradient_by_sweeps(params: list[str], wrt: tuple[str, ...],
                       inputs: tuple[Var, ...]) -> Function:
    """Forward mode's gradient: one ``jvp`` sweep per input, seeded with a unit tangent."""
    hints = (f"d_{param}" for param in wrt_params(wrt, inputs, params))
    tangents, value, *partials = _locals(params, "tangents", "value", *hints)
    sweeps = [line for index, partial in enumerate(partials)
              for line in _sweep(params, (value, partial, tangents), index, len(wrt))]
    return _wrapper("gradient", params, sweeps or [_value_line(value, params)],
                    f"{value}, {returned_tuple(value, partials)}")


def gradient_by_entries(params: list[str], wrt: tuple[str, ...],
                        inputs: tuple[Var, ...]) -> Function:
    """Forward mode's gradient of an array function: one ``jvp`` sweep per entry of each
    input of WRT, seeded with a one-hot tangent (`runtime._by_entries`)."""
    positions = [params.index(param) for param in wrt_params(wrt, inputs, params)]
    call = f"_by_entries(jvp, {tuple_text(params)}, {tuple_text(map(str, positions))})"
    return plain_function("gradient", params, DOCS["gradient_by_entries"], [], call)


def _sweep(params: list[str], names: tuple[str, str, str], index: int, count: int) -> list[Line]:
    """``value, d_x = jvp(x, y, (1.0, 0.0))``: the sweep seeded along input ``index`` (the
    seed first named ``tangents`` where it is too long to be written in the call)."""
    value, partial, tangents = names
    seed = ["1.0" if k == index else "0.0" for k in range(count)]
    sweep = Line(f"{value}, {partial}", f"jvp({', '.join(params + [tuple_text(seed)])})")
    if max(map(len, sweep.code(LINE_WIDTH).split("\n"))) <= LINE_WIDTH + 4:
        return [sweep]
    return [Line(tangents, wrapped_tuple(seed, 4 + len(f"{tangents} = "))),
            Line(f"{value}, {partial}", f"jvp({', '.join(params + [tangents])})")]


def vjp(params: list[str]) -> Function:
    """``vjp``: the gradient scaled by a cotangent of the value's shape."""
    cotangent, value, partials, partial = _locals(params, "cotangent", "value", "partials",
                                                  "partial")
    gradient = Line(f"{value}, {partials}", f"gradient({', '.join(params)})")
    scaled = f"{value}, tuple({cotangent} * {partial} for {partial} in {partials})"
    return _wrapper("vjp", [*params, cotangent], [gradient], scaled)


def _value_line(value: str, params: list[str]) -> Line:
    """``value = forward(x, y)``."""
    return Line(value, f"forward({', '.join(params)})")


def _wrapper(name: str, params: list[str], statements: list[Line], result: str) -> Function:
    """A function written on top of the derivative, with its docstring."""
    return plain_function(name, params, DOCS[name], statements, result)


def _locals(params: list[str], *hints: str) -> list[str]:
    """Names for a function's own locals, apart from its parameters and the module's globals."""
    namer = Namer(frozenset(params) | MODULE_GLOBALS)
    return [namer.fresh(hint) for hint in hints]


def hessian_by_colours(params: list[str]) -> list[Function]:
    """``hessian`` and ``sparse_hessian`` of a function of numbers: one ``hvp`` sweep per
    colour of the module's ``HESSIAN_COLOURS`` (`runtime._hessian_entries`)."""
    inputs, entries = _locals(params, "inputs", "entries")
    statements = [Line(inputs, wrapped_tuple(params, 4 + len(f"{inputs} = "))),
                  Line(entries, f"_hessian_entries(hvp, {inputs}, HESSIAN_COLOURS, "
                                "HESSIAN_PATTERN)")]
    rows = f"_hessian_rows({entries}, len(WRT), {inputs})"
    return [_wrapper("hessian", params, statements, rows),
            _wrapper("sparse_hessian", params, statements, f"_coordinates({entries})")]


def hessian_by_entries(params: list[str], wrt: tuple[str, ...],
                       inputs: tuple[Var, ...]) -> Function:
    """``hessian`` of a function of arrays: one ``hvp`` sweep per entry of each input of WRT
    (`runtime._hessian_blocks`)."""
    positions = [params.index(param) for param in wrt_params(wrt, inputs, params)]
    values, = _locals(params, "inputs")
    statements = [Line(values, wrapped_tuple(params, 4 + len(f"{values} = ")))]
    call = f"_hessian_blocks(hvp, {values}, {tuple_text(map(str, positions))})"
    return plain_function("hessian", params, DOCS["hessian_blocks"], statements, call)

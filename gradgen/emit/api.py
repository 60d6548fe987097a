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


# ---- SciPy's one flat vector: pack, unpack, flat_gradient, flat_hvp -----------------------

#: The docstrings of the functions on one flat vector (SciPy's ``x``).
FLAT_DOCS = {"pack": "One flat float64 vector of the inputs of WRT, in WRT order, each raveled.",
             "unpack": "The inputs of WRT, as floats, from pack's vector {theta}.",
             "unpack_arrays": "The inputs of WRT from pack's vector {theta}, shaped by SHAPES: "
                              "each named\n    dimension bound by the other inputs (those not "
                              "in WRT, in INPUTS order) or by\n    the size of {theta}.",
             "flat_gradient": "Value and gradient (packed) at pack's vector {theta} and the "
                              "other inputs, for\n    SciPy: minimize(flat_gradient, pack(...), "
                              "args=others, jac=True).",
             "flat_hvp": "The Hessian at pack's vector {theta} times the vector {v}, packed, for "
                         "SciPy:\n    minimize(..., hessp=flat_hvp)."}

#: The runtime functions of the flat vector's functions, in a module of arrays or not.
FLAT_RUNTIME = {True: {"_packed", "_unpacked", "_wrt_shapes", "_solved_dimension"},
                False: {"_packed", "_unpacked"}}


def flat_functions(params: list[str], wrt: tuple[str, ...], inputs: tuple[Var, ...],
                   arrays: bool, scalar_valued: bool, hvp: bool) -> list[Function]:
    """``pack`` and ``unpack``; of a scalar value ``flat_gradient`` (and with ``hvp``,
    ``flat_hvp``): the module on one flat vector theta of the inputs of WRT, SciPy's ``x``."""
    flat = _Flat(params, tuple(wrt_params(wrt, inputs, params)), arrays)
    functions = [flat.pack(), flat.unpack()]
    functions += [flat.gradient()] if scalar_valued else []
    return functions + ([flat.hvp()] if hvp and scalar_valued else [])


def _targets(names: list[str], after: int) -> str:
    """``w, b`` (``w,`` alone) as the target of an assignment; in parentheses, wrapped, where
    it does not fit on the line (``after``: the columns of text that follow it)."""
    text = ", ".join(names) + ("," if len(names) == 1 else "")
    return text if 4 + len(text) + after <= LINE_WIDTH else wrapped_tuple(names, 4, after)


class _Flat:
    """The functions on one flat vector: the parameters standing for the inputs of WRT and
    the others, and theta's name (apart from every parameter)."""

    def __init__(self, params: list[str], wrt: tuple[str, ...], arrays: bool) -> None:
        self.params, self.wrt, self.arrays = params, wrt, arrays
        self.others = [param for param in params if param not in wrt]
        self.theta, self.v = _locals(params, "theta", "v")

    def pack(self) -> Function:
        values = wrapped_tuple(list(self.wrt), len("    return _packed("), after=1)
        return plain_function("pack", list(self.wrt), FLAT_DOCS["pack"], [], f"_packed({values})")

    def unpack(self) -> Function:
        """``unpack(theta, *others)``: shapes from SHAPES, bound by the others (arrays)."""
        if not self.arrays:
            shapes = f"((),) * {len(self.wrt)}"
            return plain_function("unpack", [self.theta], self._doc("unpack"), [],
                                  f"_unpacked({self.theta}, {shapes})")
        shapes = f"_wrt_shapes({self.theta}, {tuple_text(self.others)}, SHAPES, INPUTS, WRT)"
        return plain_function("unpack", self._with_others(self.theta),
                              self._doc("unpack_arrays"), [], f"_unpacked({self.theta}, {shapes})")

    def gradient(self) -> Function:
        """``flat_gradient(theta, *others)``: ``gradient`` at the unpacked theta, packed."""
        value, partials = _locals([*self.params, self.theta], "value", "partials")
        statements = [self._unpacked(self.theta),
                      Line(f"{value}, {partials}", f"gradient({', '.join(self.params)})")]
        return plain_function("flat_gradient", self._with_others(self.theta),
                              self._doc("flat_gradient"), statements,
                              f"{value}, _packed({partials})")

    def hvp(self) -> Function:
        """``flat_hvp(theta, v, *others)``: ``hvp`` at the unpacked theta along unpacked v."""
        tangents, products = _locals([*self.params, self.theta, self.v], "tangents",
                                     "products")
        statements = [self._unpacked(self.theta), self._unpacked(self.v, tangents),
                      Line(products, f"hvp({', '.join([*self.params, tangents])})")]
        return plain_function("flat_hvp", self._with_others(self.theta, self.v),
                              self._doc("flat_hvp"), statements, f"_packed({products})")

    def _unpacked(self, vector: str, target: str | None = None) -> Line:
        """``w, b = unpack(theta, X, y)``, or into one ``target``."""
        call = f"unpack({', '.join(self._with_others(vector) if self.arrays else [vector])})"
        return Line(target or _targets(list(self.wrt), len(f" = {call}")), call)

    def _with_others(self, *vectors: str) -> list[str]:
        return [*vectors, *self.others]

    def _doc(self, name: str) -> str:
        return FLAT_DOCS[name].format(theta=self.theta, v=self.v)

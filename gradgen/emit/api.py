"""Emission: the module's functions written on top of its derivative: ``vjp`` from
``gradient``, ``jacobian`` from ``vjp``, forward mode's ``gradient`` from ``jvp``.

Part of emission (`emit`). Each is a few lines that call the module's own functions; its
locals are named apart from its parameters and the module's globals.
"""

from __future__ import annotations

from gradgen.emit.functions import MODULE_GLOBALS, Function
from gradgen.emit.lines import Line, tuple_text
from gradgen.ir.graph import Var
from gradgen.ir.naming import Namer


def jacobian(params: list[str], wrt: tuple[str, ...], inputs: tuple[Var, ...]) -> Function:
    """``jacobian`` of an array-valued function: one ``vjp`` per entry of the value."""
    by_name = dict(zip((var.name for var in inputs), params))
    value, rows, unit = _locals(params, "value", "rows", "unit")
    call = ", ".join(params + [unit])
    statements = [Line(value, f"forward({', '.join(params)})", None),
                  Line(rows, f"[vjp({call})[1] for {unit} in _units({value})]", None)]
    wrt_params = tuple_text(by_name[w] for w in wrt)
    return Function("jacobian", ", ".join(params),
                    "Value and one Jacobian per input of WRT, shaped value + input.",
                    [], statements, "", f"{value}, _jacobians({rows}, {value}, {wrt_params})")


def gradient_by_sweeps(params: list[str], wrt: tuple[str, ...],
                       inputs: tuple[Var, ...]) -> Function:
    """Forward mode's gradient: one ``jvp`` sweep per input, seeded with a unit tangent."""
    names = dict(zip((var.name for var in inputs), params))
    value, *partials = _locals(params, "value", *(f"d_{names[name]}" for name in wrt))
    statements = [_sweep(params, value, partial, index, len(wrt))
                  for index, partial in enumerate(partials)]
    if not partials:
        statements.append(Line(value, f"forward({', '.join(params)})", None))
    return Function("gradient", ", ".join(params),
                    "Value and partials, by one forward sweep (jvp) per input of WRT.", [],
                    statements, "", f"{value}, {tuple_text(partials)}")


def _sweep(params: list[str], value: str, partial: str, index: int, count: int) -> Line:
    """``value, d_x = jvp(x, y, (1.0, 0.0))``: the sweep seeded along input ``index``."""
    seed = tuple_text("1.0" if k == index else "0.0" for k in range(count))
    return Line(f"{value}, {partial}", f"jvp({', '.join(params + [seed])})", None)


def vjp(params: list[str]) -> Function:
    """``vjp``: the gradient scaled by a cotangent of the value's shape."""
    cotangent, value, partials, partial = _locals(params, "cotangent", "value", "partials",
                                                  "partial")
    return Function(
        "vjp", ", ".join(params + [cotangent]),
        "Value and the cotangent times each partial (the vector-Jacobian product).", [],
        [Line(f"{value}, {partials}", f"gradient({', '.join(params)})", None)], "",
        f"{value}, tuple({cotangent} * {partial} for {partial} in {partials})")


def _locals(params: list[str], *hints: str) -> list[str]:
    """Names for a function's own locals, apart from its parameters and the module's globals."""
    namer = Namer(frozenset(params) | MODULE_GLOBALS)
    return [namer.fresh(hint) for hint in hints]

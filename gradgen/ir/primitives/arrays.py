"""The array primitives of the registry: products, reductions and softmax, and the text of
the parameters that every array primitive shares (axes and indices); indexing, reshaping and
joining are in `shapes`.

Same entries as `scalar` (one each, written into this module's `PRIMITIVES`), with three more
things that arrays need: parameters (``axis``, ``keepdims``, an index, a shape) that the NumPy
text, the shape rule, the NumPy oracle and the adjoint rule all receive as keywords; shape rules
that raise `ShapeError` naming both shapes; and test ``cases`` (argument shapes, with the named
dimensions `N`, `D`, `K`, `M` that the tests bind to sizes).

Normalised parameters (the lowering produces them): ``axis`` is None (every axis) or a tuple of
non-negative axes; ``keepdims`` a bool; ``index`` a tuple of entries, each an int or a
``("slice", start, stop, step)`` with None for an omitted part; ``shape`` a tuple of dimensions.

Some primitives are *internal*: the compiler makes them (adjoints, dimension values), the
language has no name for them. Elementwise broadcasting needs no entry of its own: the reverse
pass sums a contribution back to its input's shape ("unbroadcast") with ``sum``. Where the
generated code calls a function of `gradgen.runtime` (``_logsumexp``), the entry names it
(``helper``) and its NumPy oracle is that same function.

Gradient choices: ``max``/``min`` reductions share the gradient equally among tied entries;
``norm`` has gradient 0 at the zero vector; ``prod`` divides by the entry, so its gradient is
not defined where an entry is 0. Each tangent rule makes the same choice as its adjoint rule
(``max``'s tangent is the mean of the tied entries' tangents, selected from the others').
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradgen.runtime as runtime
from gradgen.ir.dims import Dim, named
from gradgen.ir.graph import Shape, Var
from gradgen.ir.registry import (
    Builder,
    ShapeError,
    Table,
    TangentRule,
    linear_in_first,
    shape_text,
    sum_of,
)

PRIMITIVES = Table()
primitive = PRIMITIVES.primitive

Axis = tuple[int, ...] | None
#: The named dimensions of the test cases (the tests bind them to sizes).
N, D, K, M = (named(text) for text in "ndkm")

# ---- shared text and shape helpers: axes and indices -------------------------------------


def axis_text(axis: Axis, keepdims: bool = False) -> str:
    """``, axis=1`` / ``, axis=(0, 1)`` / ``, keepdims=True``: keyword arguments for NumPy."""
    text = ""
    if axis is not None:
        text += f", axis={axis[0] if len(axis) == 1 else axis}"
    if keepdims:
        text += ", keepdims=True"
    return text


def reduced_shape(shape: Shape, axis: Axis = None, keepdims: bool = False) -> Shape:
    """The shape left by reducing ``shape`` over ``axis``."""
    if axis is not None and any(a >= len(shape) for a in axis):
        raise ShapeError(f"axis {max(axis)} is out of range for shape {shape_text(shape)}")
    axes = range(len(shape)) if axis is None else axis
    if keepdims:
        return tuple(1 if a in axes else d for a, d in enumerate(shape))
    return tuple(d for a, d in enumerate(shape) if a not in axes)


Index = tuple[Any, ...]


def index_text(index: Index, positions: list[str] | None = None) -> str:
    """``1:3, 0`` for the index ``(("slice", 1, 3, None), 0)``; an entry ``("at", k)`` (a
    position computed at run time, ``x[t]``) is the text of positional operand ``k``."""
    parts = []
    for entry in index:
        if is_position(entry):
            parts.append(positions[entry[1]] if positions is not None else f"#{entry[1]}")
        elif isinstance(entry, tuple):
            _, start, stop, step = entry
            part = f"{'' if start is None else start}:{'' if stop is None else stop}"
            parts.append(part if step is None else f"{part}:{step}")
        else:
            parts.append(str(entry))
    return ", ".join(parts)


def python_index(index: Index, positions: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    """The NumPy index of ``index``, run-time positions taken from ``positions``."""
    return tuple(int(positions[entry[1]]) if is_position(entry)
                 else slice(*entry[1:]) if isinstance(entry, tuple) else entry
                 for entry in index)


def is_position(entry: Any) -> bool:
    """Whether an index entry is a position computed at run time (``x[t]``)."""
    return isinstance(entry, tuple) and entry[0] == "at"


def index_requirements(shape: Shape, index: Index) -> dict[str, int]:
    """The smallest size of each named dimension that ``index`` reads without NumPy clipping
    it silently (``x[1:3]`` needs n >= 3): checked when the generated function is called."""
    needs: dict[str, int] = {}
    for dim, entry in zip(shape, index):
        if not (isinstance(dim, Dim) and dim.is_name) or is_position(entry):
            continue
        if isinstance(entry, tuple):
            ends = [abs(end) for end in entry[1:3] if end is not None]
            need = max(ends, default=0)
        else:
            need = entry + 1 if entry >= 0 else -entry
        needs[dim.text] = max(needs.get(dim.text, 0), need)
    return needs


# ---- products and transposition -----------------------------------------------------------


def _matmul_shape(p: Shape, q: Shape) -> Shape:
    shapes = f"matmul of {shape_text(p)} and {shape_text(q)}"
    if not p or not q:
        raise ShapeError(f"{shapes}: both must be vectors or matrices (for a scalar use '*')")
    if len(p) > 2 or len(q) > 2:
        raise ShapeError(f"{shapes}: arrays of more than 2 dimensions are not supported")
    inner_p, inner_q = p[-1], q[0] if len(q) == 1 else q[-2]
    if inner_p != inner_q:
        raise ShapeError(f"{shapes}: inner dimensions {inner_p} and {inner_q} differ")
    return p[:-1] + q[1:]


def _matmul_rule(b: Builder, g: Var, y: Var, p: Var, q: Var) -> tuple[Var, Var]:
    """Matrix (m, k) @ (k, n), matrix-vector, vector-matrix and the inner product."""
    if len(p.shape) == 2 and len(q.shape) == 2:
        return b.matmul(g, b.transpose(q)), b.matmul(b.transpose(p), g)
    if len(p.shape) == 2:
        return b.outer(g, q), b.matmul(g, p)
    if len(q.shape) == 2:
        return b.matmul(q, g), b.outer(p, g)
    return b.mul(g, q), b.mul(g, p)


def _product_tangent(name: str) -> TangentRule:
    """The tangent of a product (``matmul``, ``outer``): ``p_dot q + p q_dot``."""

    def rule(b: Builder, dots: tuple[Var | None, ...], y: Var, p: Var, q: Var) -> Var | None:
        p_dot, q_dot = dots
        product = getattr(b, name)
        return sum_of(b, p_dot and product(p_dot, q), q_dot and product(p, q_dot))

    return rule


def _outer_shape(p: Shape, q: Shape) -> Shape:
    if len(p) != 1 or len(q) != 1:
        raise ShapeError(f"outer of {shape_text(p)} and {shape_text(q)}: both must be vectors")
    return p + q


primitive("matmul", "{0} @ {1}", np.matmul, None, _matmul_rule, ((-2.0, 2.0),) * 2,
          operator="@", aliases=("dot",), shape=_matmul_shape, tangent=_product_tangent("matmul"),
          cases=((((3, K), (K, 2)), {}), (((N, K), (K,)), {}),
                 (((K,), (K, M)), {}), (((4,), (4,)), {})))
primitive("outer", "{0}[:, None] * {1}", np.outer, None,
          lambda b, g, y, p, q: (b.matmul(g, q), b.matmul(p, g)), ((-2.0, 2.0),) * 2,
          shape=_outer_shape, cases=((((3,), (K,)), {}),), tangent=_product_tangent("outer"))
primitive("transpose", "{0}.T", np.transpose, None,
          lambda b, g, y, x: (b.transpose(g),), shape=lambda x: x[::-1], safe=True,
          cheap=True, tangent=linear_in_first("transpose"),
          cases=((((N, 3),), {}), (((4,),), {}), (((2, 3, 4),), {})))

# ---- reductions ---------------------------------------------------------------------------


def _reduction(name: str, function: str, impl: Any, rules: tuple[Any, TangentRule],
               domain: tuple[float, float], helper: str | None = None,
               aliases: tuple[str, ...] = ()) -> None:
    """Register a reduction ``name(x, axis=None, keepdims=False)`` with its adjoint and
    tangent ``rules``."""
    rule, tangent = rules
    primitive(
        name, lambda a, p: f"{function}({a[0]}{axis_text(p['axis'], p['keepdims'])})", impl,
        None, rule, (domain,), shape=lambda x, axis=None, keepdims=False:
        reduced_shape(x, axis, keepdims), keywords={"axis": None, "keepdims": False},
        cases=_REDUCTION_CASES, helper=helper, aliases=aliases, tangent=tangent)


_REDUCTION_CASES = (
    (((4,),), {"axis": None, "keepdims": False}),
    (((N, D),), {"axis": None, "keepdims": False}),
    (((N, D),), {"axis": (0,), "keepdims": False}),
    (((N, D),), {"axis": (1,), "keepdims": True}),
    (((2, 3, 4),), {"axis": (0, 2), "keepdims": False}),
)


def _sum_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    return (b.expand(g, x, axis=axis, keepdims=keepdims),)


def _mean_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    return (b.expand(b.div(g, b.count(x, y)), x, axis=axis, keepdims=keepdims),)


def _extreme_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    """max/min: the gradient goes to the entries equal to the extreme, shared among ties."""
    hit = b.where(b.eq(x, b.expand(y, x, axis=axis, keepdims=keepdims)),
                  b.const(1.0), b.const(0.0))
    share = b.div(g, b.sum(hit, axis=axis, keepdims=keepdims))
    return (b.mul(hit, b.expand(share, x, axis=axis, keepdims=keepdims)),)


def _extreme_tangent(b: Builder, dots: tuple[Var], y: Var, x: Var, axis: Axis,
                     keepdims: bool) -> Var:
    """max/min: the mean of the tangents of the entries equal to the extreme, selected."""
    hit = b.eq(x, b.expand(y, x, axis=axis, keepdims=keepdims))
    zero = b.const(0.0)
    chosen = b.sum(b.where(hit, dots[0], zero), axis=axis, keepdims=keepdims)
    return b.div(chosen, b.sum(b.where(hit, b.const(1.0), zero), axis=axis, keepdims=keepdims))


def _prod_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    return (b.div(b.expand(b.mul(g, y), x, axis=axis, keepdims=keepdims), x),)


def _prod_tangent(b: Builder, dots: tuple[Var], y: Var, x: Var, axis: Axis,
                  keepdims: bool) -> Var:
    """The sum of ``y x_dot / x``: divided by the entry, as the adjoint."""
    scaled = b.div(b.mul(b.expand(y, x, axis=axis, keepdims=keepdims), dots[0]), x)
    return b.sum(scaled, axis=axis, keepdims=keepdims)


def _norm_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    """x * g / |x|, and 0 at the zero vector."""
    safe = _nonzero_norm(b, y)
    return (b.mul(x, b.expand(b.div(g, safe), x, axis=axis, keepdims=keepdims)),)


def _norm_tangent(b: Builder, dots: tuple[Var], y: Var, x: Var, axis: Axis,
                  keepdims: bool) -> Var:
    """The sum of ``x x_dot`` over |x|, and 0 at the zero vector."""
    safe = _nonzero_norm(b, y)
    return b.div(b.sum(b.mul(x, dots[0]), axis=axis, keepdims=keepdims), safe)


def _nonzero_norm(b: Builder, y: Var) -> Var:
    """The norm, or 1 where it is 0 (a divisor)."""
    return b.where(b.gt(y, b.const(0.0)), y, b.const(1.0))


def _logsumexp_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis,
                    keepdims: bool) -> tuple[Var]:
    """g times softmax(x): exp(x - logsumexp(x))."""
    softmax = _softmax_of(b, y, x, axis, keepdims)
    return (b.mul(b.expand(g, x, axis=axis, keepdims=keepdims), softmax),)


def _logsumexp_tangent(b: Builder, dots: tuple[Var], y: Var, x: Var, axis: Axis,
                       keepdims: bool) -> Var:
    """The sum of softmax(x) times x_dot."""
    softmax = _softmax_of(b, y, x, axis, keepdims)
    return b.sum(b.mul(softmax, dots[0]), axis=axis, keepdims=keepdims)


def _softmax_of(b: Builder, y: Var, x: Var, axis: Axis, keepdims: bool) -> Var:
    """softmax(x) from ``y = logsumexp(x)``: exp(x - y)."""
    return b.exp(b.sub(x, b.expand(y, x, axis=axis, keepdims=keepdims)))


def _norm_impl(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keepdims))


_EXTREME = (_extreme_rule, _extreme_tangent)
_reduction("sum", "xp.sum", np.sum, (_sum_rule, linear_in_first("sum")), (-3.0, 3.0))
_reduction("mean", "xp.mean", np.mean, (_mean_rule, linear_in_first("mean")), (-3.0, 3.0))
_reduction("prod", "xp.prod", np.prod, (_prod_rule, _prod_tangent), (0.5, 1.5))
_reduction("amax", "xp.max", np.max, _EXTREME, (-3.0, 3.0), aliases=("max", "maximum"))
_reduction("amin", "xp.min", np.min, _EXTREME, (-3.0, 3.0), aliases=("min", "minimum"))
_reduction("norm", "xp.linalg.vector_norm", _norm_impl, (_norm_rule, _norm_tangent), (-3.0, 3.0))
_reduction("logsumexp", "_logsumexp", runtime._logsumexp,
           (_logsumexp_rule, _logsumexp_tangent), (-3.0, 3.0), helper="_logsumexp")

# ---- softmax ------------------------------------------------------------------------------


def _softmax_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis) -> tuple[Var]:
    """y * (g - sum(g * y)) over the axis."""
    return (b.mul(y, b.sub(g, b.sum(b.mul(g, y), axis=axis, keepdims=True))),)


def _log_softmax_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis) -> tuple[Var]:
    """g - softmax(x) * sum(g) over the axis."""
    return (b.sub(g, b.mul(b.exp(y), b.sum(g, axis=axis, keepdims=True))),)


def _softmax_tangent(b: Builder, dots: tuple[Var], y: Var, x: Var, axis: Axis) -> Var:
    """y * (x_dot - sum(y * x_dot)) over the axis."""
    return b.mul(y, b.sub(dots[0], b.sum(b.mul(y, dots[0]), axis=axis, keepdims=True)))


def _log_softmax_tangent(b: Builder, dots: tuple[Var], y: Var, x: Var, axis: Axis) -> Var:
    """x_dot - sum(softmax(x) * x_dot) over the axis."""
    return b.sub(dots[0], b.sum(b.mul(b.exp(y), dots[0]), axis=axis, keepdims=True))


def _axis_shape(x: Shape, axis: Axis) -> Shape:
    reduced_shape(x, axis)
    return x


_SOFTMAX_CASES = ((((N, K),), {"axis": (1,)}), (((N, K),), {"axis": (0,)}),
                  (((5,),), {"axis": (0,)}))

primitive("softmax", lambda a, p: f"_softmax({a[0]}{axis_text(p['axis'])})", runtime._softmax,
          None, _softmax_rule, shape=_axis_shape, keywords={"axis": -1},
          cases=_SOFTMAX_CASES, helper="_softmax", tangent=_softmax_tangent)
primitive("log_softmax", lambda a, p: f"_log_softmax({a[0]}{axis_text(p['axis'])})",
          runtime._log_softmax, None, _log_softmax_rule, shape=_axis_shape,
          keywords={"axis": -1}, cases=_SOFTMAX_CASES, helper="_log_softmax",
          tangent=_log_softmax_tangent)

"""The array primitives that place entries rather than compute them: indexing and its adjoint
(``scatter``), broadcasting back, dimensions, constants, reshaping, joining, accumulating in
place, and whole numbers; the parameters' text (axes, indices) and what they share is in `arrays`.

Their entries are in `PRIMITIVES`, written as `arrays` writes its own (parameters as keywords,
shape rules that raise `ShapeError`, test ``cases``). Where the generated code calls a function
of `gradgen.runtime` (``_scatter``, ``_concat_part``, ``_add_at``, ``_whole``), the entry names
it (``helper``) and its NumPy oracle calls that same function.

Each of them is linear: its tangent rule applies it to the tangents (`linear_in_first`: those
that place one array, the others' arguments being positions and shapes; ``stack`` and
``concat`` join the parts' tangents, a part with none taking zeros; ``add_at`` and ``add_into``
accumulate the term's tangent into the accumulator's, a fresh ``zeros_like`` if it has none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradgen.runtime as runtime
from gradgen.ir.dims import Dim, strided, total
from gradgen.ir.graph import Shape, Var
from gradgen.ir.primitives.arrays import (
    Axis,
    D,
    Index,
    M,
    N,
    index_text,
    is_position,
    python_index,
)
from gradgen.ir.registry import Builder, ShapeError, Table, TangentRule, linear_in_first, shape_text

PRIMITIVES = Table()
primitive = PRIMITIVES.primitive

# ---- indexing -----------------------------------------------------------------------------


def _bound(value: int | None, default: tuple[int, int]) -> tuple[int, int]:
    """A slice end as (multiple of the dimension, offset): 2 -> (0, 2), -1 -> (1, -1)."""
    if value is None:
        return default
    return (1, value) if value < 0 else (0, value)


def _slice_length(dim: int | Dim, start: int | None, stop: int | None,
                  step: int | None) -> int | Dim:
    if isinstance(dim, int):
        return len(range(dim)[slice(start, stop, step)])
    if step not in (None, 1):
        return strided(dim, start, stop, step)
    (a, low), (c, high) = _bound(start, (0, 0)), _bound(stop, (1, 0))
    if c - a == 0:
        return max(high - low, 0)
    if c - a == 1:
        return _shifted(dim, high - low)
    raise ShapeError(f"the slice {index_text((('slice', start, stop, step),))} of a dimension "
                     f"{dim} is empty")


def _shifted(dim: Dim, offset: int) -> Dim:
    """``n+2``, ``n-1``: ``dim`` and a whole number, written with its sign."""
    if offset == 0:
        return dim
    return dim + offset if offset > 0 else dim - abs(offset)


def _getitem_shape(x: Shape, *positions: Shape, index: Index) -> Shape:
    if len(index) > len(x):
        raise ShapeError(f"{len(index)} indices for an array of shape {shape_text(x)}")
    result: list[int | Dim] = []
    for dim, entry in zip(x, index):
        if is_position(entry):
            continue  # a run-time position: one entry of this dimension
        if isinstance(entry, tuple):
            result.append(_slice_length(dim, *entry[1:]))
        elif isinstance(dim, int) and not -dim <= entry < dim:
            raise ShapeError(f"index {entry} is out of range for a dimension of {dim}")
    return tuple(result) + tuple(x[len(index):])


primitive("getitem", lambda a, p: f"{a[0]}[{index_text(p['index'], a[1:])}]",
          lambda x, *at, index: x[python_index(index, at)], None,
          lambda b, g, y, x, *at, index: (b.scatter(g, x, *at, index=index),) + (None,) * len(at),
          shape=_getitem_shape, operator="[]", variadic=True, tangent=linear_in_first("getitem"),
          cases=((((5,),), {"index": (1,)}),
                 (((5,),), {"index": (("slice", 1, 3, None),)}),
                 (((N, 4),), {"index": (("slice", None, None, None), -1)}),
                 (((N,),), {"index": (("slice", 1, None, None),)}),
                 (((N, 3),), {"index": (("slice", None, -1, None), 0)}),
                 (((6, 2),), {"index": (("slice", None, None, 2),)})))
primitive("scatter", lambda a, p: f"_scatter({a[0]}, np.shape({a[1]}), "
          f"np.s_[{index_text(p['index'], a[2:])}])",
          lambda v, like, *at, index: runtime._scatter(v, np.shape(like),
                                                       python_index(index, at)), None,
          lambda b, g, y, v, like, *at, index: ((b.getitem(g, *at, index=index), None)
                                                + (None,) * len(at)),
          ((-3.0, 3.0),) * 2, shape=lambda v, like, *at, index: like, internal=True,
          helper="_scatter", variadic=True, tangent=linear_in_first("scatter"),
          cases=((((2,), (5,)), {"index": (("slice", 1, 3, None),)}),
                 (((3,), (3, 4)), {"index": (("slice", None, None, None), 1)})))


# ---- shapes: broadcasting back, dimensions, constants, reshaping --------------------------


def _expanded(v: Any, like: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """NumPy oracle of ``expand``: ``v`` put back over the reduced axes of ``like``."""
    if axis is not None and not keepdims:
        v = np.expand_dims(v, axis)
    return np.broadcast_to(v, np.shape(like))


def _expand_text(a: list[str], p: dict[str, Any]) -> str:
    if _is_number(a[0]):  # a constant: the array API broadcasts arrays only
        return f"xp.full_like({a[1]}, {a[0]})"
    value = a[0] if p["axis"] is None or p["keepdims"] else _expand_dims_text(a[0], p["axis"])
    return f"_broadcast({value}, {a[1]})"


def _expand_dims_text(value: str, axis: tuple[int, ...]) -> str:
    """``xp.expand_dims(v, axis=1)``, one call per axis in increasing order (the array API's
    expand_dims takes one axis)."""
    for a in sorted(axis):
        value = f"xp.expand_dims({value}, axis={a})"
    return value


def _is_number(text: str) -> bool:
    """Whether an operand's text is a number constant (``0``, ``(-2.5)``, ``np.pi``)."""
    body = text.strip("()-")
    return body[:1].isdigit() or body.startswith("np.")


primitive("expand", _expand_text, _expanded, None,
          lambda b, g, y, v, like, axis, keepdims: (b.sum(g, axis=axis, keepdims=keepdims),
                                                    None),
          ((-3.0, 3.0),) * 2, shape=lambda v, like, axis, keepdims: like, internal=True,
          tangent=linear_in_first("expand"), helper="_broadcast",
          cases=((((N,), (N, D)), {"axis": (1,), "keepdims": False}),
                 (((N, 1), (N, D)), {"axis": (1,), "keepdims": True}),
                 (((), (2, 3)), {"axis": None, "keepdims": False})))
primitive("expand_dims", lambda a, p: _expand_dims_text(a[0], p["axis"]),
          lambda v, axis: np.expand_dims(v, axis), None,
          lambda b, g, y, v, axis: (b.sum(g, axis=axis, keepdims=False),), internal=True,
          shape=lambda v, axis: _with_ones(v, axis), tangent=linear_in_first("expand_dims"),
          cases=((((3,),), {"axis": (1,)}), (((N, 2),), {"axis": (0,)})))


def _with_ones(shape: Shape, axis: tuple[int, ...]) -> Shape:
    result = list(shape)
    for a in sorted(axis):
        result.insert(a, 1)
    return tuple(result)


primitive("count", "np.size({0}) / np.size({1})",
          lambda x, y: np.size(x) / np.size(y), None, None, ((-3.0, 3.0),) * 2,
          shape=lambda x, y: (), internal=True)
primitive("dim", lambda a, p: f"{a[0]}.shape[{p['axis']}]",
          lambda x, axis: np.shape(x)[axis], None, None, shape=lambda x, axis: (),
          internal=True, result="int")


def _constant_text(function: str) -> Any:
    def text(a: list[str], p: dict[str, Any]) -> str:
        return f"xp.{function}(({', '.join(a)}{',' if len(a) == 1 else ''}))"
    return text


def _sizes(dims: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(int(d) for d in dims)


primitive("zeros", _constant_text("zeros"), lambda *dims, shape: np.zeros(_sizes(dims)), None,
          None, (), args="", variadic=True, shape=lambda *dims, shape: shape)
primitive("ones", _constant_text("ones"), lambda *dims, shape: np.ones(_sizes(dims)), None,
          None, (), args="", variadic=True, shape=lambda *dims, shape: shape)
primitive("eye", "xp.eye({0})", lambda n, shape: np.eye(int(n)), None, None,
          shape=lambda n, shape: shape)
primitive("reshape", lambda a, p: f"xp.reshape({a[0]}, ({', '.join(a[1:])}"
          f"{',' if len(a) == 2 else ''}))",
          lambda x, *dims, shape: np.reshape(x, _sizes(dims)), None,
          lambda b, g, y, x, *dims, shape: (b.reshape_as(g, x),) + (None,) * len(dims),
          (), args="f", variadic=True, shape=lambda x, *dims, shape: shape,
          tangent=linear_in_first("reshape"))
primitive("reshape_as", "xp.reshape({0}, np.shape({1}))",
          lambda v, like: np.reshape(v, np.shape(like)), None,
          lambda b, g, y, v, like: (b.reshape_as(g, v), None), ((-3.0, 3.0),) * 2,
          shape=lambda v, like: like, internal=True, cases=((((6,), (2, 3)), {}),),
          tangent=linear_in_first("reshape_as"))

# ---- joining arrays -------------------------------------------------------------------------


def _joined_text(function: str) -> Any:
    def text(a: list[str], p: dict[str, Any]) -> str:
        return f"xp.{function}(({', '.join(a)}{',' if len(a) == 1 else ''}), axis={p['axis']})"
    return text


def _stack_shape(*shapes: Shape, axis: int) -> Shape:
    if any(shape != shapes[0] for shape in shapes):
        raise ShapeError(f"stack of {' and '.join(map(shape_text, shapes))}: "
                         "the arrays must have the same shape")
    if not 0 <= axis <= len(shapes[0]):
        raise ShapeError(f"axis {axis} is out of range for stacking {shape_text(shapes[0])}")
    return shapes[0][:axis] + (len(shapes),) + shapes[0][axis:]


def _stack_rule(b: Builder, g: Var, y: Var, *parts: Var, axis: int) -> tuple[Var, ...]:
    lead = (("slice", None, None, None),) * axis
    return tuple(b.getitem(g, index=lead + (k,)) for k in range(len(parts)))


def _joined_tangent(name: str) -> TangentRule:
    """The tangent of ``stack`` or ``concat``: the parts' tangents joined, zeros for a part
    with none (``expand`` of 0)."""

    def rule(b: Builder, dots: tuple[Var | None, ...], y: Var, *parts: Var,
             axis: int) -> Var | None:
        if all(dot is None for dot in dots):
            return None
        zero = b.const(0.0)
        pieces = [b.expand(zero, p, axis=None, keepdims=False) if dot is None else dot
                  for p, dot in zip(parts, dots)]
        return getattr(b, name)(*pieces, axis=axis)

    return rule


def _concat_shape(*shapes: Shape, axis: int) -> Shape:
    described = f"concat of {' and '.join(map(shape_text, shapes))}"
    if any(len(shape) != len(shapes[0]) for shape in shapes) or not shapes[0]:
        raise ShapeError(f"{described}: the arrays must have the same number of dimensions")
    if not 0 <= axis < len(shapes[0]):
        raise ShapeError(f"axis {axis} is out of range for {described}")
    others = {shape[:axis] + shape[axis + 1:] for shape in shapes}
    if len(others) > 1:
        raise ShapeError(f"{described}: the dimensions other than axis {axis} differ")
    joined = total(tuple(shape[axis] for shape in shapes))
    return shapes[0][:axis] + (joined,) + shapes[0][axis + 1:]


def _concat_rule(b: Builder, g: Var, y: Var, *parts: Var, axis: int) -> tuple[Var, ...]:
    return tuple(b.concat_part(g, *parts, axis=axis, part=k) for k in range(len(parts)))


def _concat_part_rule(b: Builder, g: Var, y: Var, whole: Var, *parts: Var, axis: int,
                      part: int) -> tuple[Var | None, ...]:
    """g in its piece's place, zeros (``expand`` of 0) in the others'."""
    zero = b.const(0.0)
    pieces = [g if k == part else b.expand(zero, p, axis=None, keepdims=False)
              for k, p in enumerate(parts)]
    return (b.concat(*pieces, axis=axis),) + (None,) * len(parts)


primitive("stack", _joined_text("stack"), lambda *xs, axis: np.stack(xs, axis=axis), None,
          _stack_rule, ((-3.0, 3.0),), variadic=True, shape=_stack_shape,
          keywords={"axis": 0}, tangent=_joined_tangent("stack"),
          cases=((((3,), (3,)), {"axis": 0}), (((N, 2), (N, 2), (N, 2)), {"axis": 1})))
primitive("concat", _joined_text("concat"), lambda *xs, axis: np.concatenate(xs, axis),
          None, _concat_rule, ((-3.0, 3.0),), variadic=True, shape=_concat_shape,
          keywords={"axis": 0}, tangent=_joined_tangent("concat"),
          cases=((((3,), (2,)), {"axis": 0}), (((N, 2), (N, 3)), {"axis": 1}),
                 (((N, D), (M, D)), {"axis": 0})))
primitive("concat_part",
          lambda a, p: f"_concat_part({a[0]}, ({', '.join(a[1:])},), {p['axis']}, {p['part']})",
          lambda whole, *parts, axis, part: runtime._concat_part(whole, parts, axis, part), None,
          _concat_part_rule, ((-3.0, 3.0),), variadic=True, internal=True, helper="_concat_part",
          shape=lambda whole, *parts, axis, part: parts[part],
          tangent=linear_in_first("concat_part"),
          cases=((((5,), (3,), (2,)), {"axis": 0, "part": 1}),
                 (((2, 5), (2, 1), (2, 4)), {"axis": 1, "part": 0})))

# ---- accumulating in place (a loop's reverse adds each step's adjoint into one array) --------
# The first argument of add_at and add_into must be an accumulator that nothing else holds: the
# reverse pass starts it with zeros_like (never shared by CSE) and passes it only to these, so
# the generated code updates it in place (``a_bar[t] += g``). The interpreter's values are
# shared, so its add_at adds into a copy.


def _accumulated(name: str) -> TangentRule:
    """The tangent of ``add_at`` or ``add_into``: the term's tangent added into the
    accumulator's, in place as the value is (a fresh ``zeros_like`` if it has none)."""

    def rule(b: Builder, dots: tuple[Var | None, ...], y: Var, total: Var, term: Var,
             *at: Var, **params: Any) -> Var | None:
        total_dot, term_dot = dots[:2]
        if term_dot is None:
            return total_dot
        start = b.zeros_like(total) if total_dot is None else total_dot
        return getattr(b, name)(start, term_dot, *at, **params)

    return rule


def _added_at(total: Any, v: Any, index: Index, at: tuple[Any, ...]) -> Any:
    result = np.array(total, dtype=float)
    result[python_index(index, at)] += v
    return result


primitive("add_at", lambda a, p: f"{a[0]}[{index_text(p['index'], a[2:])}] += {a[1]}",
          lambda total, v, *at, index: _added_at(total, v, index, at), None,
          lambda b, g, y, total, v, *at, index: ((g, b.getitem(g, *at, index=index))
                                                 + (None,) * len(at)),
          ((-3.0, 3.0),) * 2, variadic=True, internal=True, updates=True,
          shape=lambda total, v, *at, index: total, tangent=_accumulated("add_at"),
          cases=((((5,), (2,)), {"index": (("slice", 1, 3, None),)}),
                 (((3, 4), (3,)), {"index": (("slice", None, None, None), 1)})))
primitive("add_into", "{0} += {1}", np.add, None,
          lambda b, g, y, total, term: (g, g), ((-3.0, 3.0),) * 2, internal=True, updates=True,
          shape=lambda total, term: total, cases=((((2, 3), (2, 3)), {}),),
          tangent=_accumulated("add_into"))
primitive("zeros_like", "xp.zeros(np.shape({0}))", lambda like: np.zeros(np.shape(like)), None,
          None, internal=True, shape=lambda like: like, fresh=True)

# ---- whole numbers: a loop bound or an index passed in as a number (``N: int``) ------------

primitive("whole", "_whole({0})", runtime._whole, None, None, internal=True, result="int",
          shape=lambda x: (), helper="_whole")

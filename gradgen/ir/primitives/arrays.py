"""The array primitives of the registry: products, reductions, softmax, indexing and shapes.

Same entries as `primitives` (one each, written into its `PRIMITIVES`), with three more
things that arrays need: parameters (``axis``, ``keepdims``, an index, a shape) that the NumPy
text, the shape rule, the NumPy oracle and the adjoint rule all receive as keywords; shape rules
that raise `ShapeError` naming both shapes; and test ``cases`` (argument shapes, with dimension
names that the tests bind to sizes).

Normalised parameters (the lowering produces them): ``axis`` is None (every axis) or a tuple of
non-negative axes; ``keepdims`` a bool; ``index`` a tuple of entries, each an int or a
``("slice", start, stop, step)`` with None for an omitted part; ``shape`` a tuple of dimensions.

Some primitives are *internal*: the compiler makes them (adjoints, dimension values), the
language has no name for them. Elementwise broadcasting needs no entry of its own: the reverse
pass sums a contribution back to its input's shape ("unbroadcast") with ``sum``.

Gradient choices: ``max``/``min`` reductions share the gradient equally among tied entries;
``norm`` has gradient 0 at the zero vector; ``prod`` divides by the entry, so its gradient is
not defined where an entry is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradgen.ir.graph import Shape, Var
from gradgen.ir.registry import Builder, ShapeError, Table, shape_text

PRIMITIVES = Table()
primitive = PRIMITIVES.primitive

Axis = tuple[int, ...] | None

# ---- shared text and shape helpers -------------------------------------------------------


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


def _expanded(v: Any, like: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """NumPy oracle of ``expand``: ``v`` put back over the reduced axes of ``like``."""
    if axis is not None and not keepdims:
        v = np.expand_dims(v, axis)
    return np.broadcast_to(v, np.shape(like))


def _reduction(name: str, function: str, impl: Any, rule: Any, domain: tuple[float, float],
               helper: str | None = None) -> None:
    """Register a reduction ``name(x, axis=None, keepdims=False)``."""
    primitive(
        name, lambda a, p: f"{function}({a[0]}{axis_text(p['axis'], p['keepdims'])})", impl,
        None, rule, (domain,), shape=lambda x, axis=None, keepdims=False:
        reduced_shape(x, axis, keepdims), keywords={"axis": None, "keepdims": False},
        cases=_REDUCTION_CASES, helper=helper)


_REDUCTION_CASES = (
    (((4,),), {"axis": None, "keepdims": False}),
    ((("n", "d"),), {"axis": None, "keepdims": False}),
    ((("n", "d"),), {"axis": (0,), "keepdims": False}),
    ((("n", "d"),), {"axis": (1,), "keepdims": True}),
    (((2, 3, 4),), {"axis": (0, 2), "keepdims": False}),
)

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


def _outer_shape(p: Shape, q: Shape) -> Shape:
    if len(p) != 1 or len(q) != 1:
        raise ShapeError(f"outer of {shape_text(p)} and {shape_text(q)}: both must be vectors")
    return p + q


primitive("matmul", "{0} @ {1}", np.matmul, None, _matmul_rule, ((-2.0, 2.0),) * 2,
          operator="@", shape=_matmul_shape,
          cases=((((3, "k"), ("k", 2)), {}), ((("n", "k"), ("k",)), {}),
                 ((("k",), ("k", "m")), {}), (((4,), (4,)), {})))
primitive("outer", "np.outer({0}, {1})", np.outer, None,
          lambda b, g, y, p, q: (b.matmul(g, q), b.matmul(p, g)), ((-2.0, 2.0),) * 2,
          shape=_outer_shape, cases=((((3,), ("k",)), {}),))
primitive("transpose", "{0}.T", np.transpose, None,
          lambda b, g, y, x: (b.transpose(g),), shape=lambda x: x[::-1], safe=True,
          cases=(((("n", 3),), {}), (((4,),), {}), (((2, 3, 4),), {})))

# ---- reductions ---------------------------------------------------------------------------


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


def _prod_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    return (b.div(b.expand(b.mul(g, y), x, axis=axis, keepdims=keepdims), x),)


def _norm_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis, keepdims: bool) -> tuple[Var]:
    """x * g / |x|, and 0 at the zero vector."""
    safe = b.where(b.gt(y, b.const(0.0)), y, b.const(1.0))
    return (b.mul(x, b.expand(b.div(g, safe), x, axis=axis, keepdims=keepdims)),)


def _logsumexp_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis,
                    keepdims: bool) -> tuple[Var]:
    """g times softmax(x): exp(x - logsumexp(x))."""
    softmax = b.exp(b.sub(x, b.expand(y, x, axis=axis, keepdims=keepdims)))
    return (b.mul(b.expand(g, x, axis=axis, keepdims=keepdims), softmax),)


def _norm_impl(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keepdims))


def _logsumexp_impl(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


_LOGSUMEXP = '''\
def _logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over axis, without overflow: the largest entry is factored out."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return total if keepdims else np.squeeze(total, axis=axis)
'''

_reduction("sum", "np.sum", np.sum, _sum_rule, (-3.0, 3.0))
_reduction("mean", "np.mean", np.mean, _mean_rule, (-3.0, 3.0))
_reduction("prod", "np.prod", np.prod, _prod_rule, (0.5, 1.5))
_reduction("amax", "np.max", np.max, _extreme_rule, (-3.0, 3.0))
_reduction("amin", "np.min", np.min, _extreme_rule, (-3.0, 3.0))
_reduction("norm", "np.linalg.norm", _norm_impl, _norm_rule, (-3.0, 3.0))
_reduction("logsumexp", "_logsumexp", _logsumexp_impl, _logsumexp_rule, (-3.0, 3.0),
           helper=_LOGSUMEXP)

# ---- softmax ------------------------------------------------------------------------------


def _softmax_impl(x: Any, axis: Axis) -> Any:
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis) -> tuple[Var]:
    """y * (g - sum(g * y)) over the axis."""
    return (b.mul(y, b.sub(g, b.sum(b.mul(g, y), axis=axis, keepdims=True))),)


def _log_softmax_rule(b: Builder, g: Var, y: Var, x: Var, axis: Axis) -> tuple[Var]:
    """g - softmax(x) * sum(g) over the axis."""
    return (b.sub(g, b.mul(b.exp(y), b.sum(g, axis=axis, keepdims=True))),)


def _axis_shape(x: Shape, axis: Axis) -> Shape:
    reduced_shape(x, axis)
    return x


_SOFTMAX = '''\
def _softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over axis, without overflow."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
'''
_LOG_SOFTMAX = '''\
def _log_softmax(x, axis=-1):
    """x - logsumexp(x) over axis, without overflow."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
'''
_SOFTMAX_CASES = (((("n", "k"),), {"axis": (1,)}), ((("n", "k"),), {"axis": (0,)}),
                  (((5,),), {"axis": (0,)}))

primitive("softmax", lambda a, p: f"_softmax({a[0]}{axis_text(p['axis'])})", _softmax_impl,
          None, _softmax_rule, shape=_axis_shape, keywords={"axis": -1},
          cases=_SOFTMAX_CASES, helper=_SOFTMAX)
primitive("log_softmax", lambda a, p: f"_log_softmax({a[0]}{axis_text(p['axis'])})",
          lambda x, axis: np.log(_softmax_impl(x, axis)), None, _log_softmax_rule,
          shape=_axis_shape, keywords={"axis": -1}, cases=_SOFTMAX_CASES, helper=_LOG_SOFTMAX)

# ---- indexing -----------------------------------------------------------------------------

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


def _bound(value: int | None, default: tuple[int, int]) -> tuple[int, int]:
    """A slice end as (multiple of the dimension, offset): 2 -> (0, 2), -1 -> (1, -1)."""
    if value is None:
        return default
    return (1, value) if value < 0 else (0, value)


def _slice_length(dim: int | str, start: int | None, stop: int | None,
                  step: int | None) -> int | str:
    if isinstance(dim, int):
        return len(range(dim)[slice(start, stop, step)])
    if step not in (None, 1):
        return f"{dim}[{index_text((('slice', start, stop, step),))}]"
    (a, low), (c, high) = _bound(start, (0, 0)), _bound(stop, (1, 0))
    if c - a == 0:
        return max(high - low, 0)
    if c - a == 1:
        offset = high - low
        return dim if offset == 0 else f"{dim}{offset:+d}"
    raise ShapeError(f"the slice {index_text((('slice', start, stop, step),))} of a dimension "
                     f"{dim} is empty")


def _getitem_shape(x: Shape, *positions: Shape, index: Index) -> Shape:
    if len(index) > len(x):
        raise ShapeError(f"{len(index)} indices for an array of shape {shape_text(x)}")
    result: list[int | str] = []
    for dim, entry in zip(x, index):
        if is_position(entry):
            continue  # a run-time position: one entry of this dimension
        if isinstance(entry, tuple):
            result.append(_slice_length(dim, *entry[1:]))
        elif isinstance(dim, int) and not -dim <= entry < dim:
            raise ShapeError(f"index {entry} is out of range for a dimension of {dim}")
    return tuple(result) + tuple(x[len(index):])


def is_position(entry: Any) -> bool:
    """Whether an index entry is a position computed at run time (``x[t]``)."""
    return isinstance(entry, tuple) and entry[0] == "at"


def index_requirements(shape: Shape, index: Index) -> dict[str, int]:
    """The smallest size of each named dimension that ``index`` reads without NumPy clipping
    it silently (``x[1:3]`` needs n >= 3): checked when the generated function is called."""
    needs: dict[str, int] = {}
    for dim, entry in zip(shape, index):
        if not (isinstance(dim, str) and dim.isidentifier()) or is_position(entry):
            continue
        if isinstance(entry, tuple):
            ends = [abs(end) for end in entry[1:3] if end is not None]
            need = max(ends, default=0)
        else:
            need = entry + 1 if entry >= 0 else -entry
        needs[dim] = max(needs.get(dim, 0), need)
    return needs


_SCATTER = '''\
def _scatter(values, shape, index):
    """Zeros of the given shape with values at index: the adjoint of indexing."""
    result = np.zeros(shape)
    result[index] = values
    return result
'''

primitive("getitem", lambda a, p: f"{a[0]}[{index_text(p['index'], a[1:])}]",
          lambda x, *at, index: x[python_index(index, at)], None,
          lambda b, g, y, x, *at, index: (b.scatter(g, x, *at, index=index),) + (None,) * len(at),
          shape=_getitem_shape, operator="[]", variadic=True,
          cases=((((5,),), {"index": (1,)}),
                 (((5,),), {"index": (("slice", 1, 3, None),)}),
                 ((("n", 4),), {"index": (("slice", None, None, None), -1)}),
                 ((("n",),), {"index": (("slice", 1, None, None),)}),
                 ((("n", 3),), {"index": (("slice", None, -1, None), 0)}),
                 (((6, 2),), {"index": (("slice", None, None, 2),)})))
primitive("scatter", lambda a, p: f"_scatter({a[0]}, np.shape({a[1]}), "
          f"np.s_[{index_text(p['index'], a[2:])}])",
          lambda v, like, *at, index: _scatter_impl(v, like, index, at), None,
          lambda b, g, y, v, like, *at, index: ((b.getitem(g, *at, index=index), None)
                                                + (None,) * len(at)),
          ((-3.0, 3.0),) * 2, shape=lambda v, like, *at, index: like, internal=True,
          helper=_SCATTER, variadic=True,
          cases=((((2,), (5,)), {"index": (("slice", 1, 3, None),)}),
                 (((3,), (3, 4)), {"index": (("slice", None, None, None), 1)})))


def _scatter_impl(v: Any, like: Any, index: Index, at: tuple[Any, ...] = ()) -> Any:
    result = np.zeros(np.shape(like))
    result[python_index(index, at)] = v
    return result


# ---- shapes: broadcasting back, dimensions, constants, reshaping --------------------------


def _expand_text(a: list[str], p: dict[str, Any]) -> str:
    value = a[0]
    if p["axis"] is not None and not p["keepdims"]:
        axis = p["axis"]
        value = f"np.expand_dims({value}, {axis[0] if len(axis) == 1 else axis})"
    return f"np.broadcast_to({value}, np.shape({a[1]}))"


primitive("expand", _expand_text, _expanded, None,
          lambda b, g, y, v, like, axis, keepdims: (b.sum(g, axis=axis, keepdims=keepdims),
                                                    None),
          ((-3.0, 3.0),) * 2, shape=lambda v, like, axis, keepdims: like, internal=True,
          cases=(((("n",), ("n", "d")), {"axis": (1,), "keepdims": False}),
                 ((("n", 1), ("n", "d")), {"axis": (1,), "keepdims": True}),
                 (((), (2, 3)), {"axis": None, "keepdims": False})))
primitive("expand_dims", lambda a, p: f"np.expand_dims({a[0]}, "
          f"{p['axis'][0] if len(p['axis']) == 1 else p['axis']})",
          lambda v, axis: np.expand_dims(v, axis), None,
          lambda b, g, y, v, axis: (b.sum(g, axis=axis, keepdims=False),), internal=True,
          shape=lambda v, axis: _with_ones(v, axis),
          cases=((((3,),), {"axis": (1,)}), ((("n", 2),), {"axis": (0,)})))


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
        return f"np.{function}(({', '.join(a)}{',' if len(a) == 1 else ''}))"
    return text


def _sizes(dims: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(int(d) for d in dims)


primitive("zeros", _constant_text("zeros"), lambda *dims, shape: np.zeros(_sizes(dims)), None,
          None, (), args="", variadic=True, shape=lambda *dims, shape: shape)
primitive("ones", _constant_text("ones"), lambda *dims, shape: np.ones(_sizes(dims)), None,
          None, (), args="", variadic=True, shape=lambda *dims, shape: shape)
primitive("eye", "np.eye({0})", lambda n, shape: np.eye(int(n)), None, None,
          shape=lambda n, shape: shape)
primitive("reshape", lambda a, p: f"np.reshape({a[0]}, ({', '.join(a[1:])}"
          f"{',' if len(a) == 2 else ''}))",
          lambda x, *dims, shape: np.reshape(x, _sizes(dims)), None,
          lambda b, g, y, x, *dims, shape: (b.reshape_as(g, x),) + (None,) * len(dims),
          (), args="f", variadic=True, shape=lambda x, *dims, shape: shape)
primitive("reshape_as", "np.reshape({0}, np.shape({1}))",
          lambda v, like: np.reshape(v, np.shape(like)), None,
          lambda b, g, y, v, like: (b.reshape_as(g, v), None), ((-3.0, 3.0),) * 2,
          shape=lambda v, like: like, internal=True, cases=((((6,), (2, 3)), {}),))

# ---- joining arrays -------------------------------------------------------------------------


def _joined_text(function: str) -> Any:
    def text(a: list[str], p: dict[str, Any]) -> str:
        return f"np.{function}(({', '.join(a)}{',' if len(a) == 1 else ''}), axis={p['axis']})"
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


def _concat_shape(*shapes: Shape, axis: int) -> Shape:
    described = f"concat of {' and '.join(map(shape_text, shapes))}"
    if any(len(shape) != len(shapes[0]) for shape in shapes) or not shapes[0]:
        raise ShapeError(f"{described}: the arrays must have the same number of dimensions")
    if not 0 <= axis < len(shapes[0]):
        raise ShapeError(f"axis {axis} is out of range for {described}")
    others = {shape[:axis] + shape[axis + 1:] for shape in shapes}
    if len(others) > 1:
        raise ShapeError(f"{described}: the dimensions other than axis {axis} differ")
    sizes = [shape[axis] for shape in shapes]
    joined = (sum(sizes) if all(isinstance(s, int) for s in sizes)
              else "+".join(map(str, sizes)))
    return shapes[0][:axis] + (joined,) + shapes[0][axis + 1:]


def _concat_rule(b: Builder, g: Var, y: Var, *parts: Var, axis: int) -> tuple[Var, ...]:
    return tuple(b.concat_part(g, *parts, axis=axis, part=k) for k in range(len(parts)))


def _concat_part_impl(whole: Any, *parts: Any, axis: int, part: int) -> Any:
    start = sum(np.shape(p)[axis] for p in parts[:part])
    index = (slice(None),) * axis + (slice(start, start + np.shape(parts[part])[axis]),)
    return whole[index]


def _concat_part_rule(b: Builder, g: Var, y: Var, whole: Var, *parts: Var, axis: int,
                      part: int) -> tuple[Var | None, ...]:
    """g in its piece's place, zeros (``expand`` of 0) in the others'."""
    zero = b.const(0.0)
    pieces = [g if k == part else b.expand(zero, p, axis=None, keepdims=False)
              for k, p in enumerate(parts)]
    return (b.concat(*pieces, axis=axis),) + (None,) * len(parts)


_CONCAT_PART = '''\
def _concat_part(whole, parts, axis, k):
    """The k-th piece of whole along axis, the pieces sized like parts: the adjoint of concat."""
    start = sum(np.shape(part)[axis] for part in parts[:k])
    index = (slice(None),) * axis + (slice(start, start + np.shape(parts[k])[axis]),)
    return whole[index]
'''

primitive("stack", _joined_text("stack"), lambda *xs, axis: np.stack(xs, axis=axis), None,
          _stack_rule, ((-3.0, 3.0),), variadic=True, shape=_stack_shape,
          keywords={"axis": 0},
          cases=((((3,), (3,)), {"axis": 0}), ((("n", 2), ("n", 2), ("n", 2)), {"axis": 1})))
primitive("concat", _joined_text("concatenate"), lambda *xs, axis: np.concatenate(xs, axis),
          None, _concat_rule, ((-3.0, 3.0),), variadic=True, shape=_concat_shape,
          keywords={"axis": 0},
          cases=((((3,), (2,)), {"axis": 0}), ((("n", 2), ("n", 3)), {"axis": 1}),
                 ((("n", "d"), ("m", "d")), {"axis": 0})))
primitive("concat_part",
          lambda a, p: f"_concat_part({a[0]}, ({', '.join(a[1:])},), {p['axis']}, {p['part']})",
          _concat_part_impl, None,
          _concat_part_rule, ((-3.0, 3.0),), variadic=True, internal=True, helper=_CONCAT_PART,
          shape=lambda whole, *parts, axis, part: parts[part],
          cases=((((5,), (3,), (2,)), {"axis": 0, "part": 1}),
                 (((2, 5), (2, 1), (2, 4)), {"axis": 1, "part": 0})))

# ---- accumulating in place (a loop's reverse adds each step's adjoint into one array) --------
# The first argument of add_at and add_into must be an accumulator that nothing else holds: the
# reverse pass starts it with zeros_like (never shared by CSE) and passes it only to these.

_ADD_AT = '''\
def _add_at(total, index, values):
    """total[index] += values, in place: total is an accumulator that nothing else holds."""
    total[index] += values
    return total
'''

primitive("add_at",
          lambda a, p: f"_add_at({a[0]}, np.s_[{index_text(p['index'], a[2:])}], {a[1]})",
          lambda total, v, *at, index: _add_at_impl(total, v, index, at), None,
          lambda b, g, y, total, v, *at, index: ((g, b.getitem(g, *at, index=index))
                                                 + (None,) * len(at)),
          ((-3.0, 3.0),) * 2, variadic=True, internal=True, helper=_ADD_AT,
          shape=lambda total, v, *at, index: total,
          cases=((((5,), (2,)), {"index": (("slice", 1, 3, None),)}),
                 (((3, 4), (3,)), {"index": (("slice", None, None, None), 1)})))
primitive("add_into", "np.add({0}, {1}, out={0})", np.add, None,
          lambda b, g, y, total, term: (g, g), ((-3.0, 3.0),) * 2, internal=True,
          shape=lambda total, term: total, cases=((((2, 3), (2, 3)), {}),))
_WHOLE = '''\
def _whole(value):
    """A loop bound or an index passed in as a number: it must be a whole number."""
    whole = int(value)
    if whole != value:
        raise ValueError(f"a loop bound or an index must be a whole number, got {value}")
    return whole
'''

primitive("whole", "_whole({0})", lambda x: _whole_impl(x), None, None, internal=True,
          result="int", shape=lambda x: (), helper=_WHOLE)


def _whole_impl(value: Any) -> int:
    whole = int(value)
    if whole != value:
        raise ValueError(f"a loop bound or an index must be a whole number, got {value}")
    return whole
primitive("zeros_like", "np.zeros(np.shape({0}))", lambda like: np.zeros(np.shape(like)), None,
          None, internal=True, shape=lambda like: like, fresh=True)


def _add_at_impl(total: Any, v: Any, index: Index, at: tuple[Any, ...]) -> Any:
    result = np.array(total, dtype=float)
    result[python_index(index, at)] += v
    return result

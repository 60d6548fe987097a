"""The runtime: what registry entries call (the entry names its function: ``helper``), in the
order of their primitives' names. See `gradgen.runtime`.
"""

import numpy as np

from gradgen.runtime.values import _is_foreign, _namespace


def _concat_part(whole, parts, axis, k):
    """The k-th piece of whole along axis, the pieces sized like parts: the adjoint of concat."""
    start = sum(np.shape(part)[axis] for part in parts[:k])
    index = (slice(None),) * axis + (slice(start, start + np.shape(parts[k])[axis]),)
    return whole[index]


def _broadcast(value, like):
    """value (a reduction's adjoint) broadcast to the shape of like, in like's namespace: a
    view; for an array of a library NumPy dispatches to (Dask), a NumPy value plus its zeros
    like like, made where like's pieces are (a NumPy view of the whole shape would be sent to
    them)."""
    if _is_foreign(like) and not _is_foreign(value) and _namespace(like) is np:
        return value + np.zeros_like(like)
    return _namespace(like).broadcast_to(value, np.shape(like))


def _log_softmax(x, axis=-1):
    """x - logsumexp(x) over axis, without overflow."""
    xp = _namespace(x)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over axis, without overflow: the largest entry is factored out."""
    xp = _namespace(x)
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0.0)
    total = xp.log(xp.sum(xp.exp(x - top), axis=axis, keepdims=True)) + top
    if keepdims:
        return total
    return xp.squeeze(total, axis=tuple(range(x.ndim)) if axis is None else axis)


def _scatter(values, shape, index):
    """Zeros of the given shape with values at index: the adjoint of indexing."""
    result = _namespace(values).zeros(shape)
    result[index] = values
    return result


def _softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over axis, without overflow."""
    xp = _namespace(x)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _whole(value):
    """A loop bound or an index passed in as a number: it must be a whole number."""
    if np.ndim(value):
        raise ValueError("a loop bound or an index must be one whole number, got an array of "
                         f"shape {np.shape(value)}")
    whole = int(value)
    if whole != value:
        raise ValueError(f"a loop bound or an index must be a whole number, got {value}")
    return whole

"""The runtime: SciPy's one flat vector of the inputs of WRT (pack, unpack). See
`gradgen.runtime`.
"""

import numpy as np


def _packed(values):
    """One flat float64 vector of values, each raveled, in order (SciPy's x)."""
    return np.concatenate([np.zeros(0), *(np.ravel(np.asarray(value, dtype=np.float64))
                                          for value in values)])


def _unpacked(theta, shapes):
    """theta split into fresh values of shapes, in order: floats for the shape ()."""
    theta = np.asarray(theta, dtype=np.float64)
    sizes = [int(np.prod(shape)) for shape in shapes]
    if theta.shape != (sum(sizes),):
        raise ValueError(f"theta has shape {theta.shape}, expected ({sum(sizes)},): the "
                         f"inputs of WRT have shapes {', '.join(map(str, shapes))}")
    ends = np.cumsum([0, *sizes])
    return tuple(float(theta[start]) if shape == () else theta[start:end].reshape(shape).copy()
                 for shape, start, end in zip(shapes, ends, ends[1:]))


def _wrt_shapes(theta, others, shapes, names, wrt):
    """The shapes of the inputs of WRT, from their declared shapes (SHAPES, INPUTS): a named
    dimension is bound by the other inputs (those not in WRT, in INPUTS order), and one that
    none of them binds is found from the size of theta."""
    declared = dict(zip(names, shapes))
    bound = {}
    for value, name in zip(others, [name for name in names if name not in wrt]):
        for dim, size in zip(declared[name], np.shape(value)):
            bound.setdefault(dim, size)
    wanted = [declared[name] for name in wrt]
    free = sorted({dim for shape in wanted for dim in shape
                   if isinstance(dim, str) and dim not in bound})
    if len(free) > 1 or any(not dim.isidentifier() for dim in free):
        raise ValueError(f"the dimensions {', '.join(free)} of the inputs of WRT are bound by "
                         "no other input: theta alone cannot say their sizes")
    if free:
        bound[free[0]] = _solved_dimension(free[0], np.size(theta), wanted, bound)
    return [tuple(bound.get(dim, dim) for dim in shape) for shape in wanted]


def _solved_dimension(dim, size, shapes, bound):
    """The value of dim at which shapes hold size entries in all (their total only grows with
    dim): found by bisection."""
    def total(value):
        known = {**bound, dim: value}
        return sum(int(np.prod([known.get(d, d) for d in shape])) for shape in shapes)

    low, high = 0, size
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if total(middle) < size else (low, middle)
    if total(low) != size:
        raise ValueError(f"theta has {size} entries: no size of {dim} gives the inputs of WRT "
                         "that many")
    return low

"""The runtime: a branching function at arrays, one point at a time. See `gradgen.runtime`.
"""

import functools
import inspect

import numpy as np


def _pointwise(function):
    """Evaluate function one point at a time where an input is an array (a branch takes one
    way per point); the value and every partial then have the broadcast shape."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def each(*args, **kwargs):
        values = [np.asarray(value, dtype=np.float64)
                  for value in signature.bind(*args, **kwargs).args]
        if all(value.ndim == 0 for value in values):
            return function(*args, **kwargs)
        values = np.broadcast_arrays(*values)
        shape = values[0].shape
        points = [function(*(value[index] for value in values)) for index in np.ndindex(shape)]
        if not points:  # an empty array: the results' structure from one point
            with np.errstate(all="ignore"):
                points = [function(*(np.float64(0.0) for _ in values))]
        return _gathered(points, shape)

    return each


def _gathered(points, shape):
    """Per-point results (numbers, or tuples of them) as fresh arrays of one shape."""
    if isinstance(points[0], tuple):
        return tuple(_gathered([point[k] for point in points], shape)
                     for k in range(len(points[0])))
    return np.reshape(np.array(points, dtype=np.float64)[:int(np.prod(shape))], shape)

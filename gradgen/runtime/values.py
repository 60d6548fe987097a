"""The runtime: converting a module's inputs (in their own kind and namespace), checking their
shapes, finishing its results; Jacobians by rows or columns; a block of points at a time, a
compiled loop over the points, forward mode's sweeps per entry. See `gradgen.runtime`.
"""

import numpy as np

#: The smallest size of each named dimension that indexing reads: a generated module defines
#: its own (`_check_shapes` reads it), none here.
MINIMUM_SIZES = {}
#: Points per block of a function of numbers called with large arrays (`_in_blocks`): a
#: block's temporaries stay in cache, so memory is a few blocks, not one array per statement.
BLOCK = 8192


def _namespace(*values):
    """The array namespace that values compute in: NumPy for NumPy's values, numbers and the
    arrays that NumPy dispatches to their library (Dask); else the namespace of the first array
    of the Python array API standard (``__array_namespace__``: array-api-strict, PyTorch)."""
    for value in values:
        if (type(value) not in (np.ndarray, float, int, np.float64)
                and not hasattr(value, "__array_function__")
                and hasattr(value, "__array_namespace__")):
            return value.__array_namespace__()
    return np


def _as_float(value, xp=np):
    """A number becomes a NumPy float64 scalar, a NumPy value a NumPy value of floats (float16,
    float32 and float64 kept, other dtypes made float64), an array of another library (Dask,
    the array API: `_is_foreign`) is kept as it is, an integer one made float64. In the
    namespace xp of an array of the array API, a number becomes an array of xp."""
    if type(value) is np.ndarray and value.dtype == np.float64 and value.ndim:
        return value  # already one: the common case, kept cheap
    if xp is not np:
        return _as_foreign_float(xp.asarray(value), xp)
    if isinstance(value, (float, int)):
        return np.float64(value)
    if _is_foreign(value):
        return _as_foreign_float(value, xp)
    array = np.asarray(value)
    if array.dtype not in (np.float16, np.float32, np.float64):
        array = array.astype(np.float64)
    return array[()] if array.ndim == 0 else array


def _is_foreign(value):
    """Whether value is an array of another library than NumPy (a Dask array, an array of the
    array API standard): it is computed where it is, never converted to NumPy."""
    return not isinstance(value, (np.ndarray, np.generic)) and (
        hasattr(value, "__array_function__") or hasattr(value, "__array_namespace__"))


def _as_foreign_float(value, xp):
    """An array of another library (in namespace xp, or NumPy's for Dask), as it is if its
    dtype is a float's, else as float64."""
    if xp is np:
        return value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float64)
    if xp.isdtype(value.dtype, "real floating"):
        return value
    return xp.astype(value, xp.float64)


def _on_numpy(*values):
    """Whether every value is NumPy's (or a number): only those are computed a block at a time."""
    return not any(map(_is_foreign, values))


def _float_type(*values):
    """The float type that values (_as_float's, or whole numbers) compute in: the promotion of
    their dtypes, float64 with none. A constant of a function of them is one of it
    (``float_type(1) / n``), so float32 inputs compute in float32: a NumPy float type, or in
    the namespace of an array of the array API a function making a 0-d array of it."""
    dtypes = [value.dtype for value in values if not isinstance(value, int)]
    xp = _namespace(*values)
    if xp is np:
        return np.result_type(*dtypes).type if dtypes else np.float64
    dtype = xp.result_type(*dtypes) if dtypes else xp.float64
    return lambda number: xp.asarray(number, dtype=dtype)


def _float64_only(*values):
    """Refuse values of another float type than float64 (error_bound bounds float64's
    rounding: float32 inputs compute in float32, whose rounding is 2**29 times larger)."""
    for value in values:
        dtype = str(getattr(value, "dtype", "float64"))
        if dtype.startswith("float") and "float64" not in dtype:
            raise ValueError(f"error_bound bounds float64 rounding, and an input is {dtype}: "
                             "call it with float64 values")


def _check_shapes(values, shapes, names):
    """Check each value against its declared shape, binding named dimensions on first use."""
    bound = {}
    for value, shape, name in zip(values, shapes, names):
        actual = np.shape(value)
        if any(size != size for size in actual):  # NaN: a Dask array's chunks of unknown size
            raise ValueError(f"{name} has shape {actual}, not known: compute its chunk sizes "
                             "first (Dask: compute_chunk_sizes())")
        expected = "a scalar" if shape == () else str(shape).replace("'", "")
        if len(actual) != len(shape):
            raise ValueError(f"{name} has shape {actual}, expected {expected}")
        for size, dim in zip(actual, shape):
            if isinstance(dim, str) and dim.isidentifier() and dim not in bound:
                bound[dim] = (size, name)
            want, source = (dim, None) if isinstance(dim, int) else bound.get(dim, (size, None))
            if size != want:
                known = f" with {dim} = {want} from {source}" if source else ""
                raise ValueError(f"{name} has shape {actual}, expected {expected}{known}")
            if size < MINIMUM_SIZES.get(dim, 0):
                raise ValueError(f"{name} has shape {actual}, but the function's indexing "
                                 f"needs {dim} >= {MINIMUM_SIZES[dim]}")


def _finish_arrays(results, likes, inputs):
    """The results (`_finished`), each partial with the shape of its input (the one in likes;
    None: the result's own shape)."""
    float_type, finished = _float_type(*inputs), []
    for result, like in zip(results, likes):
        shape = np.shape(result if like is None else like)
        finished.append(_finished(result, shape, float_type, inputs, finished))
    return tuple(finished)


def _finished(result, shape, float_type, inputs, finished):
    """result as a float (a scalar of float64 inputs), a scalar of float_type, or a fresh array
    of float_type and shape (none of inputs, nor of finished); an array of another library's
    is kept there (`_finished_foreign`)."""
    if _is_foreign(result) or not _on_numpy(*inputs):
        return _finished_foreign(result, shape, float_type, inputs)
    if shape == ():
        return float(result) if float_type is np.float64 else float_type(result)
    array = np.asarray(result, dtype=float_type)
    if (array.shape != shape or array.base is not None or not array.flags.writeable
            or any(array is other for other in (*inputs, *finished))):
        array = np.array(np.broadcast_to(array, shape))
    return array


def _finished_foreign(result, shape, float_type, inputs):
    """A result at inputs of another library (Dask, the array API): of float_type and shape,
    in that library, never computed (a number is added to zeros like the first such input)."""
    xp = _namespace(*inputs)
    if xp is not np:  # the array API: float_type makes arrays of xp
        result = float_type(result)
        return result if result.shape == shape else xp.broadcast_to(result, shape)
    if not _is_foreign(result):
        like = next(value for value in inputs if _is_foreign(value))
        return np.zeros_like(like, dtype=float_type, shape=shape) + result
    if result.dtype != float_type:
        result = result.astype(float_type)
    return result if np.shape(result) == shape else np.broadcast_to(result, shape)


def _units(value):
    """One cotangent per entry of value: 1 at that entry, 0 elsewhere."""
    for position in np.ndindex(np.shape(value)):
        unit = np.zeros(np.shape(value))
        unit[position] = 1.0
        yield unit


def _jacobians(rows, value, inputs):
    """The vjp rows stacked into one array per input, shaped value + input."""
    return tuple(np.reshape(np.array([row[k] for row in rows]), np.shape(value) + np.shape(x))
                 for k, x in enumerate(inputs))


def _jacobians_by_columns(jvp, value, inputs, positions):
    """One Jacobian per input at positions, shaped value + input, by one jvp per entry of each
    (a tangent 1 at that entry, 0 elsewhere): the sweep of entry b gives J[..., b]."""
    tangents = [np.zeros(np.shape(inputs[k])) for k in positions]
    jacobians = []
    for tangent in tangents:
        jacobian = np.zeros(np.shape(value) + tangent.shape)
        for index in np.ndindex(tangent.shape):
            tangent[index] = 1.0
            jacobian[(Ellipsis, *index)] = jvp(*inputs, tuple(tangents))[1]
            tangent[index] = 0.0
        jacobians.append(jacobian)
    return tuple(jacobians)


def _cheaper_jacobians(vjp, jvp, value, inputs, positions):
    """One Jacobian per input at positions, shaped value + input: by one vjp per entry of the
    value (a row each), or by one jvp per entry of those inputs (a column each), whichever
    are fewer."""
    if np.size(value) <= sum(np.size(inputs[k]) for k in positions):
        rows = [vjp(*inputs, unit)[1] for unit in _units(value)]
        return _jacobians(rows, value, [inputs[k] for k in positions])
    return _jacobians_by_columns(jvp, value, inputs, positions)


def _finish(results, inputs):
    """Give every result the inputs' broadcast shape and float type (`_finished`): floats for
    scalars of float64 inputs, fresh arrays else."""
    shapes = {value.shape for value in inputs if type(value) is not int} or {()}
    shape = shapes.pop() if len(shapes) == 1 else np.broadcast_shapes(*shapes)
    if all(type(value) in (np.float64, int) or type(value) is np.ndarray
           and value.dtype == np.float64 for value in inputs):  # NumPy's float64: kept cheap
        return _finished_float64(results, shape, inputs)
    float_type, finished = _float_type(*inputs), []
    for result in results:  # a constant result is an int, an input's a view of the caller's
        finished.append(_finished(result, shape, float_type, inputs, finished))
    return tuple(finished)


def _finished_float64(results, shape, inputs):
    """The results at NumPy float64 inputs: floats where shape is (), else fresh float64
    arrays of shape (none of them an input or another result)."""
    if shape == ():
        return tuple(float(result) for result in results)
    seen = set(map(id, inputs))
    finished = []
    for result in results:  # a constant result is an int, an input's a view of the caller's
        if type(result) is not np.ndarray or result.shape != shape or id(result) in seen:
            result = np.array(np.broadcast_to(np.asarray(result, dtype=np.float64), shape))
        seen.add(id(result))
        finished.append(result)
    return tuple(finished)


def _in_blocks(function, inputs, own=None):
    """function (forward, gradient or hvp) at inputs of more than BLOCK points, computed BLOCK
    points at a time into fresh arrays of the broadcast shape; with own, the inputs past the
    first own go to it packed in one tuple (hvp's tangents)."""
    shape = np.broadcast_shapes(*map(np.shape, inputs))
    flat = [np.broadcast_to(value, shape).reshape(-1) if np.ndim(value) else value
            for value in inputs]
    size = int(np.prod(shape))
    outputs = None
    for start in range(0, size, BLOCK):
        part = [value[start:start + BLOCK] if type(value) is np.ndarray else value
                for value in flat]
        results = function(*part) if own is None else function(*part[:own], tuple(part[own:]))
        if outputs is None:
            outputs = [np.empty(size, np.result_type(result)) for result in _listed(results)]
        for output, result in zip(outputs, _listed(results)):
            output[start:start + BLOCK] = result
    return _structured(results, [output.reshape(shape) for output in outputs])


def _listed(results):
    """A function's results in one list: a value, a tuple (hvp's), or (value, partials)."""
    if type(results) is not tuple:
        return [results]
    if type(results[-1]) is tuple:  # gradient's (value, partials)
        return [results[0], *results[1]]
    return list(results)


def _structured(results, outputs):
    """outputs (one per entry of _listed(results)) in the structure of results."""
    if type(results) is not tuple:
        return outputs[0]
    if type(results[-1]) is tuple:
        return outputs[0], tuple(outputs[1:])
    return tuple(outputs)


def _on_points(kernel, inputs):
    """The results of a compiled loop (the numba target) at the broadcast inputs: fresh arrays
    of their shape, or floats where every input is a number."""
    shapes = {value.shape for value in inputs}  # the inputs are _as_float's: arrays, NumPy floats
    (shape,) = shapes if len(shapes) == 1 else (np.broadcast_shapes(*shapes),)
    if len(shapes) == 1 and len(shape) == 1:
        return kernel(*inputs)  # flat arrays of one size, the common case: taken as they are
    flat = [value.reshape(-1) if len(shapes) == 1 else np.broadcast_to(value, shape).ravel()
            for value in inputs]
    results = [result.reshape(shape) for result in kernel(*flat)]
    return [float(result) for result in results] if shape == () else results

def _by_entries(jvp, inputs, positions):
    """Value and partials of an array function by forward mode: one jvp per entry of each
    input at positions, along a tangent that is 1 at that entry and 0 elsewhere."""
    tangents = [np.zeros(np.shape(inputs[k])) for k in positions]
    value, partials = jvp(*inputs, tuple(tangents))[0], []
    for tangent in tangents:
        partial = np.zeros(tangent.shape)
        for index in np.ndindex(tangent.shape):
            tangent[index] = 1.0
            partial[index] = jvp(*inputs, tuple(tangents))[1]
            tangent[index] = 0.0
        partials.append(partial if partial.shape else float(partial))
    return value, tuple(partials)

"""The runtime (the bottom layer, beside `errors`): the functions a generated module defines.

Each is an ordinary Python function of NumPy values, written exactly as a generated module
carries it: the emitter copies the ones a module calls into it by their source
(`inspect.getsource`), so the module needs nothing but NumPy, and the interpreter (a registry
entry's ``impl``) calls these same functions. Every function here is a runtime function and
every name it defines is a module-level name of a generated module (`FUNCTIONS`, from which
`gradgen.ir.naming` takes its reserved names). This module imports only NumPy and the standard
library, and no annotations: the text is the generated text.

They come in the order a generated module defines them: converting the inputs; checking shapes
and finishing the results (an array function's variants, then a function of numbers'); the
Hessian by sweeps of hvp; SciPy's one flat vector (pack, unpack); running a branching function
one point at a time; then the functions that registry entries call
(``_logsumexp``...), in the order of their primitives' names; last `_with_source_names`, which
the module's layout places after its aliases are made.
"""

import functools
import inspect

import numpy as np

#: The smallest size of each named dimension that indexing reads: a generated module defines
#: its own (`_check_shapes` reads it), none here.
MINIMUM_SIZES = {}
#: Points per block of a function of numbers called with large arrays (`_in_blocks`): a
#: block's temporaries stay in cache, so memory is a few blocks, not one array per statement.
BLOCK = 8192
#: Source name -> Python name of each input whose names differ: a generated module's copy of
#: `_with_source_names` has its own written in (and listed in its docstring).
RENAMED = {}
#: The inputs in order and those differentiated: a generated module defines its own.
INPUTS = WRT = ()
#: The module's certificate (operation counts by kind, as formulas): a generated module
#: defines its own (`check` reads it), none here.
COST = {}

# ---- inputs, shapes and results ----------------------------------------------------------


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
        paired = type(results) is tuple and type(results[-1]) is tuple  # (value, partials)
        block = ([results[0], *results[1]] if paired
                 else list(results) if type(results) is tuple else [results])
        if outputs is None:
            outputs = [np.empty(size, np.result_type(result)) for result in block]
        for output, result in zip(outputs, block):
            output[start:start + BLOCK] = result
    outputs = [output.reshape(shape) for output in outputs]
    if type(results) is not tuple:
        return outputs[0]
    return (outputs[0], tuple(outputs[1:])) if paired else tuple(outputs)


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

# ---- second order: the Hessian by sweeps of hvp ------------------------------------------


def _hessian_entries(hvp, inputs, colours, pattern):
    """The entries of the Hessian that may be non-zero, {(row, column): value}, by one hvp
    sweep per colour: the columns of a colour are seeded together (no two of them are non-zero
    in one row of the pattern), and each entry is read from its column's sweep."""
    entries = {}
    for colour in colours:
        seed = tuple(1.0 if k in colour else 0.0 for k in range(len(pattern)))
        product = hvp(*inputs, seed)
        for column in colour:
            for row in pattern[column]:
                entries[row, column] = product[row]
    return entries


def _hessian_rows(entries, count, inputs):
    """The Hessian as rows H[i][j] from its entries; 0 (of the inputs' broadcast shape) where
    there is none."""
    shape = np.broadcast_shapes(*map(np.shape, inputs))
    return tuple(tuple(entries[i, j] if (i, j) in entries else np.zeros(shape) if shape else 0.0
                       for j in range(count)) for i in range(count))


def _coordinates(entries):
    """The entries as (rows, columns, values), row by row: the sparse (COO) form."""
    keys = sorted(entries)
    return (tuple(row for row, _ in keys), tuple(column for _, column in keys),
            tuple(entries[key] for key in keys))


def _hessian_blocks(hvp, inputs, positions):
    """The Hessian's blocks H[i][j], shaped input i + input j, by one hvp sweep per entry of
    each input at positions (a tangent 1 at that entry, 0 elsewhere): the sweep of entry b of
    input j gives H[i][j][..., b] for every i."""
    tangents = [np.zeros(np.shape(inputs[k])) for k in positions]
    blocks = [[np.zeros(a.shape + b.shape) for b in tangents] for a in tangents]
    for j, tangent in enumerate(tangents):
        for index in np.ndindex(tangent.shape):
            tangent[index] = 1.0
            for i, product in enumerate(hvp(*inputs, tuple(tangents))):
                blocks[i][j][(Ellipsis, *index)] = product
            tangent[index] = 0.0
    return tuple(tuple(block if block.shape else float(block) for block in row)
                 for row in blocks)

# ---- SciPy's one flat vector: pack, unpack ----------------------------------------------


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

# ---- a branching function at arrays: one point at a time ---------------------------------


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

# ---- what registry entries call (the entry names its function: ``helper``) ----------------


def _concat_part(whole, parts, axis, k):
    """The k-th piece of whole along axis, the pieces sized like parts: the adjoint of concat."""
    start = sum(np.shape(part)[axis] for part in parts[:k])
    index = (slice(None),) * axis + (slice(start, start + np.shape(parts[k])[axis]),)
    return whole[index]


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
    whole = int(value)
    if whole != value:
        raise ValueError(f"a loop bound or an index must be a whole number, got {value}")
    return whole

# ---- the module's own check: central differences, the dot-product test, hvp's symmetry ----


def check(*inputs, points=3, seed=0):
    """Check this module's derivatives at inputs (default: points random points drawn by seed,
    every float in (0.1, 0.9), every named size 3, a whole number 4). Per point: a central
    difference along one random direction against vjp (one sweep, any input size), the
    dot-product test <u, J v> = <J^T u, v> where jvp exists, <u, H v> = <H u, v> where hvp
    exists. Each tolerance is the rounding estimate: float64's epsilon times the operations
    COST counts times the sum of the terms' magnitudes, plus (differences) twice Richardson's
    estimate of the truncation error |D(h) - D(2h)| / 3 and the rounding of f over 2h. Returns
    a dict: passed, per test its worst (error, tolerance), and the points used; raises nothing.
    """
    rng = np.random.default_rng(seed)
    chosen = [inputs] if inputs else [_check_point(rng) for _ in range(points)]
    worst = {}
    for point in chosen:
        for test, found in _check_at(point, rng).items():
            if test not in worst or found[0] / found[1] > worst[test][0] / worst[test][1]:
                worst[test] = found
    passed = bool(worst) and all(error <= tolerance for error, tolerance in worst.values())
    return {"passed": passed, **worst, "points": len(chosen)}


def _check_point(rng):
    """A random point: floats in (0.1, 0.9), arrays of every named size 3, whole numbers 4."""
    shapes = globals().get("SHAPES") or ((),) * len(INPUTS)
    named = {dim: 3 for shape in shapes for dim in shape if isinstance(dim, str)}
    sizes = {**named, **globals().get("MINIMUM_SIZES", {})}
    drawn = [rng.uniform(0.1, 0.9, [sizes.get(dim, dim) for dim in shape]) for shape in shapes]
    whole = COST.get("whole_inputs", ())
    return tuple(4 if name in whole else value if np.ndim(value) else float(value)
                 for name, value in zip(INPUTS, drawn))


def _check_at(point, rng):
    """The tests at one point: (error, tolerance) each; none where a value is not finite."""
    try:
        with np.errstate(all="ignore"):
            found = {"differences": _check_differences(point, rng)}
            if "jvp" in globals():
                found["dot_product"] = _check_dot_product(point, rng)
            if "hvp" in globals():
                found["symmetry"] = _check_symmetry(point, rng)
    except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
        return {}
    return {test: pair for test, pair in found.items() if np.all(np.isfinite(pair))}


def _check_differences(point, rng):
    """|D(h) - <J^T u, v>| against its tolerance: D the central difference of <u, f> along v."""
    forward, vjp = globals()["forward"], globals()["vjp"]
    value = np.asarray(forward(*point))
    u = rng.normal(size=value.shape)
    v = _check_tangents(point, rng)
    pulled = vjp(*point, u if u.shape else float(u))[1]
    exact = _check_inner(pulled, v)
    h = np.finfo(float).eps ** (1 / 3) * (1 + max(np.max(np.abs(x)) for x in point))
    near, far = _check_difference(point, u, v, h), _check_difference(point, u, v, 2 * h)
    rounding = _check_rounding("forward", point) * (near[1] / h + abs(exact))
    return float(abs(near[0] - exact)), float(2 * abs(near[0] - far[0]) / 3 + rounding)


def _check_difference(point, u, v, h):
    """(<u, f(x + h v) - f(x - h v)> / 2h, the magnitude of the two values)."""
    forward = globals()["forward"]
    ahead = np.sum(u * forward(*_check_moved(point, v, h)))
    behind = np.sum(u * forward(*_check_moved(point, v, -h)))
    return (ahead - behind) / (2 * h), (abs(ahead) + abs(behind)) / 2


def _check_dot_product(point, rng):
    """|<u, J v> - <J^T u, v>| by jvp and vjp, against its rounding estimate."""
    v = _check_tangents(point, rng)
    value, pushed = globals()["jvp"](*point, v)
    u = rng.normal(size=np.shape(value))  # of the value's shape: a number, or an array value's
    along = np.sum(u * pushed)
    pulled = globals()["vjp"](*point, u if u.shape else float(u))[1]
    scale = np.sum(np.abs(u * pushed)) + _check_inner(pulled, v, np.abs)
    return float(abs(along - _check_inner(pulled, v))), _check_rounding("jvp", point) * scale


def _check_symmetry(point, rng):
    """|<u, H v> - <H u, v>| by two hvp sweeps, against its rounding estimate."""
    u, v = _check_tangents(point, rng), _check_tangents(point, rng)
    hvp = globals()["hvp"]
    hu, hv = hvp(*point, u), hvp(*point, v)
    scale = _check_inner(hv, u, np.abs) + _check_inner(hu, v, np.abs)
    error = abs(_check_inner(hv, u) - _check_inner(hu, v))
    return error, _check_rounding("hvp", point) * scale


def _check_tangents(point, rng):
    """One random direction per input of WRT, shaped like it."""
    return tuple(rng.normal(size=np.shape(point[INPUTS.index(name)])) for name in WRT)


def _check_moved(point, v, h):
    """The point moved by h v along the inputs of WRT."""
    moved = list(point)
    for name, step in zip(WRT, v):
        moved[INPUTS.index(name)] = moved[INPUTS.index(name)] + h * step
    return moved


def _check_inner(first, second, magnitude=lambda x: x):
    """The sum over the inputs of WRT of the inner products (of magnitudes: an error's scale)."""
    return float(sum(np.sum(magnitude(np.asarray(a) * b)) for a, b in zip(first, second)))


def _check_rounding(name, point):
    """float64's epsilon times the operations COST counts for name (its formulas at the sizes
    and whole numbers of point): the relative rounding of a sum of that many terms."""
    counted = COST["operations"].get(name) or COST["operations"]["forward"]
    sizes = _check_sizes(point)
    total = sum(_check_formula(formula, sizes) for formula in counted.values())
    return float(np.finfo(float).eps * max(total, 1))


def _check_formula(formula, sizes):
    """A COST formula's value at sizes (a size it names that the point does not give: 1000)."""
    names = {name: sizes.get(name, 1000) for name in compile(formula, "COST", "eval").co_names}
    return eval(formula, {"__builtins__": {}}, names)


def _check_sizes(point):
    """Each named size of point (from SHAPES) and each whole-number input, by name."""
    sizes = {name: int(value) for name, value in zip(INPUTS, point)
             if name in COST.get("whole_inputs", ())}
    for shape, value in zip(globals().get("SHAPES", ()), point):
        sizes.update((dim, n) for dim, n in zip(shape, np.shape(value)) if isinstance(dim, str))
    return sizes


# ---- keyword arguments under the source's names ------------------------------------------


def _with_source_names(function):
    """Accept keyword arguments under the source's names (RENAMED)."""
    renamed = RENAMED

    @functools.wraps(function)
    def call(*args, **kwargs):
        return function(*args, **{renamed.get(key, key): value for key, value in kwargs.items()})

    return call


#: Every runtime function by name, in the order a generated module defines them.
FUNCTIONS = {name: value for name, value in tuple(globals().items())
             if inspect.isfunction(value) and value.__module__ == __name__}

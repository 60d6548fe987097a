"""The runtime: the module's own check (central differences along a random direction, the
dot-product test, hvp's symmetry), with tolerances from a rounding estimate. See
`gradgen.runtime`.
"""

import numpy as np

#: The inputs in order and those differentiated: a generated module defines its own.
INPUTS = WRT = ()
#: The module's certificate (operation counts by kind, as formulas): a generated module
#: defines its own (`check` reads it), none here.
COST = {}


def check(*inputs, points=3, seed=0):
    """Check this module's derivatives at inputs (default: points random points drawn by seed,
    every float in (0.1, 0.9), every named size 3, a whole number 4). Per point: a central
    difference along one random direction against vjp (one sweep, any input size), the
    dot-product test <u, J v> = <J^T u, v> where jvp exists, <u, H v> = <H u, v> and hvp
    against a central difference of the gradient where hvp exists. Each tolerance is the
    rounding estimate: float64's epsilon times the operations COST counts times the sum of the
    terms' magnitudes, plus (differences) twice Richardson's estimate of the truncation error
    |D(h) - D(2h)| / 3 and the rounding over 2h. Returns a dict: passed, per test its worst
    (error, tolerance), and the points used; raises nothing.
    """
    rng = np.random.default_rng(seed)
    chosen = [inputs] if inputs else [_check_point(rng) for _ in range(points)]
    worst = {}
    for point in chosen:
        for test, found in _check_at(point, rng).items():
            if test not in worst or _check_ratio(found) > _check_ratio(worst[test]):
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
                found["curvature"] = _check_curvature(point, rng)
    except (ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
        return {}
    return {test: pair for test, pair in found.items() if np.all(np.isfinite(pair))}


def _check_differences(point, rng):
    """|D(h) - <J^T u, v>| against its tolerance: D the central difference of <u, f> along v."""
    forward, vjp = globals()["forward"], globals()["vjp"]
    value = np.asarray(forward(*point))
    u = rng.normal(size=value.shape)
    v = _check_tangents(point, rng)
    exact = _check_inner(vjp(*point, u if u.shape else float(u))[1], v)
    return _check_richardson(point, v, exact, lambda moved: np.sum(u * forward(*moved)),
                             "forward")


def _check_richardson(point, v, exact, measure, name):
    """|D(h) - exact| against twice Richardson's truncation estimate |D(h) - D(2h)| / 3 plus
    the rounding (COST's count for name) over 2h: D the central difference of measure along v."""
    h = np.finfo(float).eps ** (1 / 3) * (1 + max(np.max(np.abs(x)) for x in point))
    near, far = _check_central(measure, point, v, h), _check_central(measure, point, v, 2 * h)
    rounding = _check_rounding(name, point) * (near[1] / h + abs(exact))
    return float(abs(near[0] - exact)), float(2 * abs(near[0] - far[0]) / 3 + rounding)


def _check_central(measure, point, v, h):
    """(measure(x + h v) - measure(x - h v)) / 2h, and the magnitude of the two measures."""
    ahead, behind = measure(_check_moved(point, v, h)), measure(_check_moved(point, v, -h))
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


def _check_curvature(point, rng):
    """|D(h) - <u, H v>| against its tolerance: D the central difference of <u, gradient>
    along v, <u, H v> by one hvp sweep."""
    u, v = _check_tangents(point, rng), _check_tangents(point, rng)
    gradient = globals()["gradient"]
    exact = _check_inner(globals()["hvp"](*point, v), u)
    return _check_richardson(point, v, exact,
                             lambda moved: _check_inner(gradient(*moved)[1], u), "hvp")


def _check_ratio(found):
    """A test's error over its tolerance (0 where both are 0: an exact 0 checked exactly)."""
    error, tolerance = found
    return 0.0 if error == 0 else error / tolerance if tolerance else float("inf")


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

"""The module's ``error_bound`` (compile --error-bound) against mpmath at 50 digits.

Each function is written twice: in gradgen's language, and by hand in mpmath (never through
gradgen's graph), evaluated exactly at the float64 points. At every point the true rounding
error of the value must be at most the bound, and over each set of points the bound must not be
vacuous: the worst error reaches a good fraction of the bound (`WORST_RATIO`).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gradgen.errors import LimitError
from gradgen.pipeline import compile_source

mpmath.mp.dps = 50

#: Over a set of points, the largest true error is at least this fraction of the bound there
#: (the bound is within three orders of magnitude of the error it bounds).
WORST_RATIO = 1e-3
POINTS = 40


def _mp(value: float) -> mpmath.mpf:
    return mpmath.mpf(float(value))


def _sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def _uniform(low: float, high: float):
    return lambda rng: rng.uniform(low, high, POINTS)


def _near_zero(rng):
    return rng.choice([-1.0, 1.0], POINTS) * 10.0 ** rng.uniform(-12, -1, POINTS)


def _valley(rng):
    x = 1 + rng.uniform(-1e-3, 1e-3, POINTS)
    return [x, x**2 * (1 + rng.uniform(-1e-9, 1e-9, POINTS))]


LONG_SUM = "f(x) = " + " + ".join(f"sin({k}*x)" for k in range(1, 1001))

#: name: (source, the function in mpmath, the points: one array per input)
CASES = {
    "lecture": ("f(x, y, z) = z + sin(x^2 + y*exp(z))",
                lambda x, y, z: z + mpmath.sin(x**2 + y * mpmath.exp(z)),
                [_uniform(-2, 2)] * 3),
    "rosenbrock": ("f(x, y) = (1 - x)^2 + 100*(y - x^2)^2",
                   lambda x, y: (1 - x)**2 + 100 * (y - x**2)**2, [_uniform(-2, 2)] * 2),
    "rosenbrock_valley": ("f(x, y) = (1 - x)^2 + 100*(y - x^2)^2",
                          lambda x, y: (1 - x)**2 + 100 * (y - x**2)**2, _valley),
    "trace": ("f(x1, x2) = log(x1) + x1*x2 - sin(x2)",
              lambda x1, x2: mpmath.log(x1) + x1 * x2 - mpmath.sin(x2),
              [_uniform(0.1, 5), _uniform(-5, 5)]),
    "neuron": ("y(w, x, b) = exp(w*x + b)", lambda w, x, b: mpmath.exp(w * x + b),
               [_uniform(-3, 3)] * 3),
    "logistic_l2": ("def loss(w, b, x, t, lam):\n    z = w*x + b\n    y = sigmoid(z)\n"
                    "    L = 0.5*(y - t)^2\n    R = 0.5*w^2\n    return L + lam*R\n",
                    lambda w, b, x, t, lam: (_mp(0.5) * (_sigmoid(w * x + b) - t)**2
                                             + lam * _mp(0.5) * w**2),
                    [_uniform(-3, 3)] * 3 + [_uniform(0, 1), _uniform(0, 1)]),
    "graph_e": ("def e(a, b):\n    r = a + b\n    s = b + 1\n    return r*s\n",
                lambda a, b: (a + b) * (b + 1), [_uniform(-3, 3)] * 2),
    "log1p": ("f(x) = log1p(x)", mpmath.log1p, [_near_zero]),
    "expm1": ("f(x) = expm1(x)", mpmath.expm1, [_near_zero]),
    "cancellation": ("f(x) = (1 + x) - 1", lambda x: x, [_near_zero]),
    "long_sum": (LONG_SUM, lambda x: mpmath.fsum(mpmath.sin(k * x) for k in range(1, 1001)),
                 [_uniform(-1, 1)]),
}

#: The smallest and the largest bound / true error seen (points of a non-zero error), by case:
#: filled as the tests run, printed at the end.
RATIOS: dict[str, tuple[float, float]] = {}


def _points(sampler, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return sampler(rng) if callable(sampler) else [draw(rng) for draw in sampler]


def _true_errors(function, points: list[np.ndarray], values: np.ndarray) -> np.ndarray:
    exact = [function(*map(_mp, point)) for point in zip(*points)]
    return np.array([float(abs(_mp(value) - truth)) for value, truth in zip(values, exact)])


@pytest.mark.parametrize("name", CASES)
def test_bound_holds_and_is_near_the_error(name):
    source, function, sampler = CASES[name]
    module = compile_source(source, error_bound=True).module
    points = _points(sampler, seed=len(name))
    values, bounds = module.error_bound(*points)
    assert np.array_equal(values, module.forward(*points))  # the bound is of forward's value
    errors = _true_errors(function, points, values)
    assert np.all(errors <= bounds), (name, errors[errors > bounds], bounds[errors > bounds])
    assert np.max(errors / bounds) >= WORST_RATIO, (name, np.max(errors / bounds))
    seen = bounds[errors > 0] / errors[errors > 0]
    RATIOS[name] = (float(np.min(seen)), float(np.max(seen)))


def test_long_sum_of_an_array():
    module = compile_source("def f(x: (n,)):\n    return sum(x)\n", error_bound=True).module
    x = np.random.default_rng(1).uniform(-1, 1, 1000)
    value, bound = module.error_bound(x)
    error = float(abs(_mp(value) - mpmath.fsum(map(_mp, x))))
    assert error <= bound
    assert bound <= 999 * 2.0**-53 * np.sum(np.abs(x)) * (1 + 1e-12)


def test_arrays_with_a_matrix_product():
    """examples/l2_regression.txt: a matrix product, sums, a mean of squares."""
    source = open("examples/l2_regression.txt").read()
    module = compile_source(source, error_bound=True).module
    rng = np.random.default_rng(2)
    for _ in range(5):
        X, w, t = rng.normal(size=(20, 3)), rng.normal(size=3), rng.uniform(0, 1, 20)
        b, lam = rng.normal(), rng.uniform(0, 1)
        value, bound = module.error_bound(w, b, X, t, lam)
        ys = [_sigmoid(mpmath.fsum(_mp(X[i, j]) * _mp(w[j]) for j in range(3)) + _mp(b))
              for i in range(20)]
        L = mpmath.fsum(_mp(0.5) * (y - _mp(t[i]))**2 for i, y in enumerate(ys)) / 20
        exact = L + _mp(lam) * _mp(0.5) * mpmath.fsum(_mp(v)**2 for v in w)
        assert float(abs(_mp(value) - exact)) <= bound <= 1e-13 * abs(value)


def test_floats_in_floats_out():
    module = compile_source("f(x, y) = x*y + sin(x)", error_bound=True).module
    value, bound = module.error_bound(0.3, 0.7)
    assert value == module.forward(0.3, 0.7)
    assert isinstance(bound, float) and 0 < bound < 1e-15


def test_exact_statements_add_nothing():
    module = compile_source("f(x, y) = -(0.5*x) + abs(y)/4", error_bound=True).module
    value, bound = module.error_bound(0.3, -0.7)
    # only the sum rounds: -(0.5*x), abs(y) and /4 are exact
    assert bound == pytest.approx(2.0**-53 * abs(value))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(-2) is computed, not selected
def test_a_selection_not_taken_adds_no_nan():
    source = ("def f(x):\n    if x > 0:\n        y = log(x)\n    else:\n        y = x^3\n"
              "    return y\n")
    module = compile_source(source, error_bound=True).module
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    values, bounds = module.error_bound(x)
    assert np.all(np.isfinite(bounds))
    exact = [mpmath.log(_mp(v)) if v > 0 else _mp(v)**3 for v in x]
    assert all(float(abs(_mp(v) - e)) <= b for v, e, b in zip(values, exact, bounds))


def test_a_loop_is_declined_where_it_is():
    source = "def f(x, N: int):\n    s = x\n    for i in range(N):\n        s = s*x\n    return s\n"
    with pytest.raises(LimitError, match=r"loop\.txt:3:5: error_bound cannot bound a loop"):
        compile_source(source, "loop.txt", error_bound=True)


def test_the_option_is_in_the_command_and_the_name_is_reserved():
    compiled = compile_source("f(error_bound) = error_bound^2", error_bound=True)
    assert "--error-bound" in compiled.source
    assert compiled.module.error_bound(3.0)[0] == 9.0


def test_largest_ratios_seen():
    """Not a check: prints the largest bound / true error of each case (run with -s)."""
    for name, (closest, farthest) in RATIOS.items():
        print(f"{name}: bound / true error from {closest:.3g} to {farthest:.3g}")


def test_compare_shows_the_bound_beside_the_value():
    from gradgen.tools.compare import compare
    from gradgen.tools.report import format_comparison

    comparison = compare("f(x, y) = (1 - x)^2 + 100*(y - x^2)^2", at={"x": 1.0001, "y": 1.0002},
                         batch=10)
    module = compile_source("f(x, y) = (1 - x)^2 + 100*(y - x^2)^2", error_bound=True).module
    assert comparison.value_bound == module.error_bound(1.0001, 1.0002)[1]
    assert "f's float64 rounding error: at most 4.5e-22" in format_comparison(comparison)


def test_float32_inputs_are_refused_in_words() -> None:
    """At float32 inputs the module computes in float32, whose rounding the float64 bound does
    not cover ((x + y) - y at float32 errs by 1, the float64 bound says 1e-8): a refusal."""
    module = compile_source("f(x, y) = (x + y) - y\n", "e.txt", error_bound=True).load()
    with pytest.raises(ValueError, match="float64 rounding, and an input is float32"):
        module.error_bound(np.float32(1.0000001), np.float32(1e8))
    assert module.error_bound(1.0000001, 1e8)[1] > 0

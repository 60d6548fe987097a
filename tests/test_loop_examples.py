"""The loop examples: algorithms differentiated, not just expressions.

``examples/hmm.txt`` (the forward algorithm of a hidden Markov model, whose gradient is
forward-backward), ``examples/euler.txt`` (Euler steps of Lotka-Volterra, an array value with a
Jacobian) and ``examples/newton_sqrt.txt`` (Newton's method for sqrt(a)) are each checked at
several trip counts, 0 and 1 among them:

- now, with or without loops in the compiler: the program unrolled by hand
  (`loop_oracles`, straight-line form C) compiles, and its value and derivatives equal the
  NumPy references (forward-backward, checked itself against brute-force enumeration of the
  state paths; the Euler sensitivity equations; the derivative of Newton's iterate map) and
  central differences;
- once ``for`` loops compile (until then these are skipped, with the compiler's own error as
  the reason): the loop program, compiled once with the trip count bound when it is called,
  equals the unrolled program to ~1e-12 and central differences to ~1e-6, its HMM gradient is
  the posterior marginals, its Euler Jacobian the sensitivities, its Newton derivative
  1 / (2 sqrt(a)); and its generated source does not grow with the trip count.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import loop_oracles as oracles
import numpy as np
import pytest
from conftest import compile_cached, compile_module

from gradgen.errors import CompileError
from gradgen.pipeline import compile_source
from gradgen.tools import differences

LOOP_PROBE = """def f(x):
    y = x
    for i in range(2):
        y = y * x
    return y
"""


@functools.cache
def loop_support_error() -> str | None:
    """None when gradgen compiles a two-line ``for`` loop; otherwise its error message."""
    try:
        compile_source(LOOP_PROBE, "loop_probe.txt")
    except CompileError as error:
        return error.message
    return None


def loops_supported() -> bool:
    return loop_support_error() is None


needs_loops = pytest.mark.skipif(
    not loops_supported(),
    reason=f"gradgen does not compile `for` loops yet ({loop_support_error()}); "
           "these tests run once it does")


# ---- the examples, their oracles and where to test them --------------------------------------

def hmm_point(rng: np.random.Generator, trips: int, seed: int) -> tuple:
    """A 3-state HMM over T = trips + 1 observations (arbitrary log-weights for odd seeds)."""
    return oracles.random_hmm(rng, trips + 1, 3, normalized=seed % 2 == 0)


def hmm_reference(log_pi, log_A, log_B) -> tuple[float, tuple]:
    posteriors = oracles.hmm_forward_backward(log_pi, log_A, log_B)
    return posteriors.log_likelihood, posteriors.partials


def euler_point(rng: np.random.Generator, trips: int, seed: int) -> tuple:
    return (*oracles.random_euler_point(rng), trips)  # N is a Python int


def euler_reference(y0, theta, h, N) -> tuple[np.ndarray, tuple]:
    result = oracles.euler_sensitivities(y0, theta, h, N)
    return result.state, (result.by_y0, result.by_theta, result.by_h)


def newton_point(rng: np.random.Generator, trips: int, seed: int) -> tuple:
    return (float(rng.uniform(0.3, 4.0)),)


def newton_reference(a, steps: int) -> tuple[float, tuple]:
    x, dx = oracles.newton_derivative(a, steps)
    return x, (dx,)


def bounce_point(rng: np.random.Generator, trips: int, seed: int) -> tuple:
    return oracles.random_bounce_point(rng, trips)


@dataclass(frozen=True)
class LoopExample:
    """A loop example, its hand-unrolled form and its references."""

    inputs: tuple[str, ...]
    wrt: tuple[str, ...]  # what is differentiated (not the integer trip count)
    unrolled_source: Callable[[int], str]
    loop_source: Callable[[int], str]  # the example, for a given trip count
    point: Callable[[np.random.Generator, int, int], tuple]  # point(rng, trips, seed)
    reference: Callable[[tuple, int], tuple]  # reference(point, trips) -> (value, partials)


EXAMPLES = {
    "hmm": LoopExample(
        ("log_pi", "log_A", "log_B"), ("log_pi", "log_A", "log_B"),
        oracles.hmm_unrolled_source, lambda trips: oracles.example_source("hmm"),
        hmm_point, lambda point, trips: hmm_reference(*point)),
    "euler": LoopExample(
        ("y0", "theta", "h", "N"), ("y0", "theta", "h"),
        oracles.euler_unrolled_source, lambda trips: oracles.example_source("euler"),
        euler_point, lambda point, trips: euler_reference(*point)),
    "newton_sqrt": LoopExample(
        ("a",), ("a",),
        oracles.newton_unrolled_source, oracles.newton_loop_source,
        newton_point, lambda point, trips: newton_reference(*point, trips)),
    "bounce": LoopExample(
        ("h0", "v0", "e", "g", "dt", "N"), ("h0", "v0", "e", "g"),
        oracles.bounce_unrolled_source, lambda trips: oracles.example_source("bounce"),
        bounce_point, lambda point, trips: oracles.bounce_derivatives(*point)),
}
NAMES = sorted(EXAMPLES)
TRIP_COUNTS = (0, 1, 2, 5, 12)
SEEDS = (0, 1)
CASES = [(name, trips) for name in NAMES for trips in TRIP_COUNTS]


def _points(name: str, trips: int):
    """(seed, point) for each seed: the inputs of the example for ``trips`` loop iterations."""
    for seed in SEEDS:
        rng = np.random.default_rng([seed, trips, len(name)])
        yield seed, EXAMPLES[name].point(rng, trips, seed)


def _unrolled_module(name: str, trips: int):
    return compile_module(EXAMPLES[name].unrolled_source(trips), EXAMPLES[name].wrt,
                          f"{name}_unrolled_{trips}.txt")


def _loop_module(name: str, trips: int):
    return compile_module(EXAMPLES[name].loop_source(trips), EXAMPLES[name].wrt, f"{name}.txt")


def derivatives(module, point: tuple) -> tuple:
    """(value, partials): ``gradient`` for a scalar value, ``jacobian`` for an array value."""
    if hasattr(module, "jacobian"):
        return module.jacobian(*point)
    return module.gradient(*point)


def assert_close(actual, expected, rtol: float, what: str) -> None:
    """Entrywise |actual - expected| <= rtol * (|expected| + largest |expected| + 1)."""
    expected = np.asarray(expected, dtype=float)
    assert np.shape(actual) == expected.shape, f"{what}: shape {np.shape(actual)}"
    scale = 1.0 + np.max(np.abs(expected), initial=0.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_same_derivatives(module, expected: Callable[[tuple], tuple], name: str, trips: int,
                            rtol: float) -> None:
    """The module's value and partials equal ``expected(point)``'s at every point."""
    for seed, point in _points(name, trips):
        value, partials = derivatives(module, point)
        expected_value, expected_partials = expected(point)
        where = f"{name}, {trips} trips, seed {seed}"
        assert_close(value, expected_value, rtol, f"{where}: value")
        assert len(partials) == len(EXAMPLES[name].wrt), where
        for wrt, partial, reference in zip(EXAMPLES[name].wrt, partials, expected_partials):
            assert_close(partial, reference, rtol, f"{where}: d/d{wrt}")


def assert_matches_central_differences(module, name: str, trips: int) -> None:
    example = EXAMPLES[name]
    positions = tuple(example.inputs.index(wrt) for wrt in example.wrt)
    for seed, point in _points(name, trips):
        _, partials = derivatives(module, point)
        estimates = differences.gradient(module.forward, point, positions)
        for wrt, partial, estimate in zip(example.wrt, partials, estimates):
            assert_close(partial, estimate, 1e-6, f"{name}, {trips} trips, seed {seed}: d/d{wrt}")


# ---- the sources -----------------------------------------------------------------------------

def test_every_loop_example_is_tested():
    """The examples with a ``for`` statement are exactly the ones tested here."""
    with_loops = {path.stem for path in oracles.EXAMPLES.glob("*.txt")
                  if re.search(r"^\s+for \w+ in ", path.read_text("utf-8"), re.M)}
    assert with_loops == set(EXAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_source_starts_with_comments_naming_the_notes(name):
    text = oracles.example_source(name)
    assert all(line.startswith("#") for line in text.splitlines()[:3])
    assert re.search(r"seed 00\d", text), "say where in the lecture notes it comes from"
    assert "algorithms, not" in text and "just expressions" in text
    assert re.search(r"^\s+for \w+ in range\(", text, re.M)


@pytest.mark.parametrize("name, trips", CASES)
def test_unrolled_source_compiles_now(name, trips):
    """The oracle is straight-line code: no loop support needed, same inputs as the example."""
    text = EXAMPLES[name].unrolled_source(trips)
    assert not re.search(r"^\s*for ", text, re.M)
    module = _unrolled_module(name, trips)
    assert module.INPUTS == EXAMPLES[name].inputs
    assert module.WRT == EXAMPLES[name].wrt


# ---- the unrolled programs against the NumPy references (run now) -----------------------------

@pytest.mark.parametrize("name, trips", CASES)
def test_unrolled_program_matches_the_reference(name, trips):
    reference = EXAMPLES[name].reference
    assert_same_derivatives(_unrolled_module(name, trips),
                            lambda point: reference(point, trips), name, trips, 1e-10)


@pytest.mark.parametrize("name, trips", CASES)
def test_unrolled_program_matches_central_differences(name, trips):
    assert_matches_central_differences(_unrolled_module(name, trips), name, trips)


@pytest.mark.parametrize("T, k", [(1, 1), (1, 3), (2, 2), (3, 3), (5, 2), (4, 4)])
@pytest.mark.parametrize("normalized", [True, False])
def test_forward_backward_matches_brute_force_enumeration(T, k, normalized):
    rng = np.random.default_rng([T, k, normalized])
    point = oracles.random_hmm(rng, T, k, normalized)
    fast, slow = oracles.hmm_forward_backward(*point), oracles.hmm_brute_force(*point)
    assert fast.log_likelihood == pytest.approx(slow.log_likelihood, rel=1e-13, abs=1e-13)
    for what, partial, expected in zip(("initial", "transitions", "states"), fast.partials,
                                       slow.partials):
        assert_close(partial, expected, 1e-12, f"T = {T}, k = {k}: {what}")


def test_posteriors_are_distributions():
    """Each p(z_t | x) sums to 1, the expected transitions sum to T - 1, p(z_0 | x) is row 0."""
    point = oracles.random_hmm(np.random.default_rng(5), 40, 6, normalized=False)
    posteriors = oracles.hmm_forward_backward(*point)
    np.testing.assert_allclose(posteriors.states.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert posteriors.transitions.sum() == pytest.approx(39, rel=1e-12)
    np.testing.assert_array_equal(posteriors.initial, posteriors.states[0])
    assert posteriors.states.min() >= 0


def test_euler_sensitivities_match_central_differences():
    y0, theta, h = oracles.random_euler_point(np.random.default_rng(3))
    N = 30
    sensitivities = oracles.euler_sensitivities(y0, theta, h, N)
    np.testing.assert_array_equal(sensitivities.state, oracles.euler_final_state(y0, theta, h, N))
    estimates = differences.gradient(oracles.euler_final_state, (y0, theta, h, N), (0, 1, 2))
    for what, exact, estimate in zip(("y0", "theta", "h"), (
            sensitivities.by_y0, sensitivities.by_theta, sensitivities.by_h), estimates):
        assert_close(exact, estimate, 1e-7, f"d y_N / d {what}")


@pytest.mark.parametrize("a", [0.25, 0.5, 2.0, 3.0, 10.0])
def test_newton_derivative_converges_to_that_of_sqrt(a):
    x, dx = oracles.newton_derivative(a, oracles.NEWTON_STEPS)
    assert x == pytest.approx(np.sqrt(a), rel=1e-14)
    assert dx == pytest.approx(1 / (2 * np.sqrt(a)), rel=1e-12)
    assert oracles.newton_iterates(a, oracles.NEWTON_STEPS)[-1] == x
    step = 1e-6 * a
    estimate = (oracles.newton_iterates(a + step, 3)[-1]
                - oracles.newton_iterates(a - step, 3)[-1]) / (2 * step)
    assert oracles.newton_derivative(a, 3)[1] == pytest.approx(estimate, rel=1e-7)


def test_oracle_sources_grow_with_the_trip_count():
    """What the loop saves: unrolled, every step is more source (and more generated code)."""
    for name in NAMES:
        unrolled = EXAMPLES[name].unrolled_source
        assert len(unrolled(10)) > len(unrolled(5)) > len(unrolled(0))


# ---- the loop programs (once gradgen compiles `for`) ------------------------------------------

@needs_loops
@pytest.mark.parametrize("name", NAMES)
def test_loop_program_compiles(name):
    module = _loop_module(name, oracles.NEWTON_STEPS)
    assert module.INPUTS == EXAMPLES[name].inputs
    assert module.WRT == EXAMPLES[name].wrt


@needs_loops
@pytest.mark.parametrize("name, trips", CASES)
def test_loop_program_equals_the_unrolled_program(name, trips):
    loop, unrolled = _loop_module(name, trips), _unrolled_module(name, trips)
    assert_same_derivatives(loop, lambda point: derivatives(unrolled, point), name, trips, 1e-12)
    for _, point in _points(name, trips):
        assert_close(loop.forward(*point), unrolled.forward(*point), 1e-12, f"{name} forward")


@needs_loops
@pytest.mark.parametrize("name, trips", CASES)
def test_loop_program_matches_central_differences(name, trips):
    assert_matches_central_differences(_loop_module(name, trips), name, trips)


@needs_loops
@pytest.mark.parametrize("name, trips", CASES)
def test_loop_program_matches_the_reference(name, trips):
    reference = EXAMPLES[name].reference
    assert_same_derivatives(_loop_module(name, trips),
                            lambda point: reference(point, trips), name, trips, 1e-10)


@needs_loops
@pytest.mark.parametrize("T, k", [(1, 4), (2, 3), (50, 5), (2000, 8)])
def test_hmm_gradient_is_the_posterior_marginals(T, k):
    """Forward-backward by backpropagation: d/dlog_B are p(z_t | x), each row sums to 1;
    d/dlog_A the expected transition counts; d/dlog_pi p(z_0 | x)."""
    module = _loop_module("hmm", 0)
    for normalized in (True, False):
        point = oracles.random_hmm(np.random.default_rng([T, k]), T, k, normalized)
        value, (d_pi, d_A, d_B) = module.gradient(*point)
        expected = oracles.hmm_forward_backward(*point)
        where = f"T = {T}, k = {k}, normalized = {normalized}"
        assert value == pytest.approx(expected.log_likelihood, rel=1e-12), where
        np.testing.assert_allclose(d_B, expected.states, rtol=0, atol=1e-10, err_msg=where)
        np.testing.assert_allclose(d_B.sum(axis=1), 1.0, rtol=0, atol=1e-10, err_msg=where)
        np.testing.assert_allclose(d_A, expected.transitions, rtol=1e-10, atol=1e-10,
                                   err_msg=where)
        np.testing.assert_allclose(d_pi, expected.initial, rtol=0, atol=1e-10, err_msg=where)


@needs_loops
@pytest.mark.parametrize("N", [0, 1, 7, 200])
def test_euler_jacobian_is_the_sensitivities(N):
    module = _loop_module("euler", N)
    y0, theta, h = oracles.random_euler_point(np.random.default_rng(N))
    value, (by_y0, by_theta, by_h) = module.jacobian(y0, theta, h, N)
    expected = oracles.euler_sensitivities(y0, theta, h, N)
    assert_close(value, expected.state, 1e-12, "y_N")
    assert_close(by_y0, expected.by_y0, 1e-11, "d y_N / d y0")
    assert_close(by_theta, expected.by_theta, 1e-11, "d y_N / d theta")
    assert_close(by_h, expected.by_h, 1e-11, "d y_N / d h")
    if N == 0:
        np.testing.assert_array_equal(by_y0, np.eye(2))


@needs_loops
def test_newton_sqrt_derivative_is_one_over_two_sqrt_a():
    """The example as written (6 steps), at scalars and mapped over an array of a."""
    module = _loop_module("newton_sqrt", oracles.NEWTON_STEPS)
    a = np.array([0.25, 0.5, 2.0, 3.0, 10.0])
    for point in (*a, a):
        value, (da,) = module.gradient(point)
        np.testing.assert_allclose(value, np.sqrt(point), rtol=1e-14)
        np.testing.assert_allclose(da, 1 / (2 * np.sqrt(point)), rtol=1e-12)
    assert module.gradient(2.0)[1][0] == pytest.approx(0.35355339059327373, rel=1e-14)


@needs_loops
@pytest.mark.parametrize("name", ["hmm", "euler"])
def test_trip_count_is_bound_at_call_time(name):
    """One compiled module serves every trip count, and its source is smaller than the program
    unrolled 50 times."""
    module = _loop_module(name, 0)
    for trips in (0, 3, 300):
        rng = np.random.default_rng(trips)
        point = EXAMPLES[name].point(rng, trips, 0)
        value, partials = derivatives(module, point)
        expected_value, expected_partials = EXAMPLES[name].reference(point, trips)
        assert_close(value, expected_value, 1e-10, f"{name}, {trips} trips: value")
        for wrt, partial, reference in zip(EXAMPLES[name].wrt, partials, expected_partials):
            assert_close(partial, reference, 1e-9, f"{name}, {trips} trips: d/d{wrt}")
    source = compile_cached(EXAMPLES[name].loop_source(0), EXAMPLES[name].wrt,
                            f"{name}.txt").source
    unrolled = compile_cached(EXAMPLES[name].unrolled_source(50), EXAMPLES[name].wrt,
                              f"{name}.txt").source
    assert len(source) < len(unrolled)


@needs_loops
def test_generated_source_does_not_grow_with_a_constant_trip_count():
    """``range(2)`` and ``range(2000)`` give the same code but for the digits of the count
    (which may be written a few times: the loop, its tape, its reverse loop, comments)."""
    sizes = [len(compile_source(oracles.newton_loop_source(trips), "newton_sqrt.txt").source)
             for trips in (2, 2000)]
    assert abs(sizes[1] - sizes[0]) <= 100, sizes


@needs_loops
def test_hmm_posteriors_script_agrees_with_forward_backward(tmp_path):
    for name in ("hmm_posteriors.py", "hmm.txt", "build_model.py"):
        shutil.copyfile(oracles.EXAMPLES / name, tmp_path / name)
    result = subprocess.run([sys.executable, str(tmp_path / "hmm_posteriors.py")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hmm.py").exists()  # compiled beside its source
    assert "log-likelihood" in result.stdout
    difference = re.search(r"largest difference from forward-backward: ([\d.e+-]+)",
                           result.stdout)
    assert difference, result.stdout
    assert float(difference.group(1)) < 1e-10

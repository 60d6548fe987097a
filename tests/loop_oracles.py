"""Oracles for the loop examples: the same programs unrolled by hand, and NumPy references.

The loop examples, ``examples/hmm.txt`` (the forward algorithm of a hidden Markov model),
``examples/euler.txt`` (explicit Euler steps of the Lotka-Volterra equations),
``examples/newton_sqrt.txt`` (Newton's method for a square root) and ``examples/bounce.txt`` (a
ball bouncing off the floor: a branch in every step), are checked against two kinds of oracle
that need no loop support in the compiler:

- ``*_unrolled_source(trip_count)``: the example written as straight-line form C code, its loop
  body repeated ``trip_count`` times with the loop variable replaced by each of its values. It
  takes the same inputs in the same order as the loop program, so both are called alike:
  ``hmm_unrolled_source(m)`` reads ``log_B[0]`` to ``log_B[m]`` and equals the loop program at
  T = m + 1 (the loop runs ``range(1, T)``); ``euler_unrolled_source(m)`` keeps the input ``N``,
  unused, and equals the loop program at N = m; ``newton_unrolled_source(m)`` equals
  ``newton_loop_source(m)``, the example with ``range(6)`` replaced by ``range(m)``;
  ``bounce_unrolled_source(m)`` repeats the step and its ``if`` m times (N stays, unused).
- hand-written NumPy: the HMM log-likelihood by the forward algorithm and its posteriors by
  forward-backward in log space (and both by brute-force enumeration of every state path, for
  tiny models); the Euler final state and its Jacobians by the sensitivity equations, stepped
  alongside the state; Newton's iterates and the derivative of the iterate map; the bouncing
  ball's height and its derivatives, stepped alongside (the branch taken by the state).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NEWTON_STEPS = 6  # the example's range(6)


def example_source(name: str) -> str:
    """The text of ``examples/NAME.txt``."""
    return (EXAMPLES / f"{name}.txt").read_text("utf-8")


# ---- the examples with their loops unrolled by hand ------------------------------------------

def hmm_unrolled_source(trip_count: int) -> str:
    """examples/hmm.txt for T = trip_count + 1: the step for t = 1, ..., trip_count written out."""
    steps = [f"    alpha = logsumexp(log_A.T + alpha, axis=1) + log_B[{t}]\n"
             for t in range(1, trip_count + 1)]
    return ("def hmm(log_pi: (k,), log_A: (k, k), log_B: (T, k)):\n"
            "    alpha = log_pi + log_B[0]\n"
            + "".join(steps)
            + "    return logsumexp(alpha)\n")


def euler_unrolled_source(trip_count: int) -> str:
    """examples/euler.txt for N = trip_count Euler steps; the input N stays, unused."""
    step = ("    prey = y[0]\n"
            "    pred = y[1]\n"
            "    y = y + h * stack((a * prey - b * prey * pred, c * prey * pred - d * pred))\n")
    return ("def euler(y0: (2,), theta: (4,), h, N):\n"
            "    a = theta[0]\n"
            "    b = theta[1]\n"
            "    c = theta[2]\n"
            "    d = theta[3]\n"
            "    y = y0\n"
            + step * trip_count
            + "    return y\n")


def newton_unrolled_source(trip_count: int) -> str:
    """examples/newton_sqrt.txt with ``trip_count`` Newton steps written out."""
    return ("def newton_sqrt(a):\n"
            "    x = a\n"
            + "    x = 0.5 * (x + a / x)\n" * trip_count
            + "    return x\n")


def bounce_unrolled_source(trip_count: int) -> str:
    """examples/bounce.txt for N = trip_count steps, each with its ``if``; N stays, unused."""
    step = ("    v = v - g * dt\n"
            "    h = h + dt * v\n"
            "    if h < 0:\n"
            "        h = -e * h\n"
            "        v = -e * v\n")
    return ("def bounce(h0, v0, e, g, dt, N):\n"
            "    h = h0\n"
            "    v = v0\n"
            + step * trip_count
            + "    return h\n")


def newton_loop_source(trip_count: int) -> str:
    """examples/newton_sqrt.txt with ``range(6)`` replaced by ``range(trip_count)``."""
    text, count = re.subn(rf"\brange\({NEWTON_STEPS}\)", f"range({trip_count})",
                          example_source("newton_sqrt"))
    assert count == 1, "examples/newton_sqrt.txt should loop over range(6) once"
    return text


# ---- the hidden Markov model: forward, forward-backward, brute force ---------------------------

@dataclass(frozen=True)
class HmmPosteriors:
    """What forward-backward computes: the log-likelihood and the gradient of it.

    ``initial[j] = p(z_0 = j | x)``, ``states[t, j] = p(z_t = j | x)`` and
    ``transitions[i, j] = sum_t p(z_{t-1} = i, z_t = j | x)`` (the expected transition counts),
    which are the partials of the log-likelihood with respect to log_pi, log_B and log_A.
    """

    log_likelihood: float
    initial: np.ndarray
    transitions: np.ndarray
    states: np.ndarray

    @property
    def partials(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """In the order of the example's inputs: (d/dlog_pi, d/dlog_A, d/dlog_B)."""
        return self.initial, self.transitions, self.states


def logsumexp(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``, shifted by the largest entry so nothing overflows."""
    top = np.max(x, axis=axis, keepdims=True)
    total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return total.item() if axis is None else np.squeeze(total, axis=axis)


def hmm_forward(log_pi: np.ndarray, log_A: np.ndarray,
                log_B: np.ndarray) -> tuple[float, np.ndarray]:
    """The log-likelihood and the forward log-probabilities log_alpha[t, j] of x_0..x_t, z_t = j."""
    log_alpha = np.empty_like(log_B)
    log_alpha[0] = log_pi + log_B[0]
    for t in range(1, len(log_B)):
        log_alpha[t] = logsumexp(log_alpha[t - 1][:, None] + log_A, axis=0) + log_B[t]
    return logsumexp(log_alpha[-1]), log_alpha


def hmm_backward(log_A: np.ndarray, log_B: np.ndarray) -> np.ndarray:
    """The backward log-probabilities log_beta[t, i] of x_{t+1}..x_{T-1} given z_t = i."""
    log_beta = np.zeros_like(log_B)
    for t in range(len(log_B) - 2, -1, -1):
        log_beta[t] = logsumexp(log_A + (log_B[t + 1] + log_beta[t + 1])[None, :], axis=1)
    return log_beta


def hmm_forward_backward(log_pi: np.ndarray, log_A: np.ndarray,
                         log_B: np.ndarray) -> HmmPosteriors:
    """Posterior marginals and expected transition counts by forward-backward in log space."""
    log_likelihood, log_alpha = hmm_forward(log_pi, log_A, log_B)
    log_beta = hmm_backward(log_A, log_B)
    states = np.exp(log_alpha + log_beta - log_likelihood)
    # p(z_{t-1} = i, z_t = j | x) = alpha[t-1, i] A[i, j] B[t, j] beta[t, j] / p(x)
    pairs = (log_alpha[:-1, :, None] + log_A[None]
             + (log_B[1:] + log_beta[1:])[:, None, :] - log_likelihood)
    return HmmPosteriors(log_likelihood, states[0], np.exp(pairs).sum(axis=0), states)


def hmm_brute_force(log_pi: np.ndarray, log_A: np.ndarray, log_B: np.ndarray) -> HmmPosteriors:
    """The same quantities by enumerating all k^T state paths (tiny models only)."""
    T, k = log_B.shape
    paths = np.array(list(itertools.product(range(k), repeat=T)))  # (k^T, T)
    scores = log_pi[paths[:, 0]] + log_B[np.arange(T), paths].sum(axis=1)
    scores += log_A[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    log_likelihood = logsumexp(scores)
    weights = np.exp(scores - log_likelihood)  # p(path | x)
    states = np.zeros((T, k))
    transitions = np.zeros((k, k))
    for path, weight in zip(paths, weights):
        states[np.arange(T), path] += weight
        np.add.at(transitions, (path[:-1], path[1:]), weight)
    return HmmPosteriors(log_likelihood, states[0], transitions, states)


def random_hmm(rng: np.random.Generator, T: int, k: int,
               normalized: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log_pi, log_A, log_B): random distributions (rows of A sum to 1), or when not
    ``normalized`` arbitrary log-weights, which the forward algorithm sums over just the same."""
    if not normalized:
        return rng.normal(size=k), rng.normal(size=(k, k)), rng.normal(size=(T, k))
    log_pi = np.log(rng.dirichlet(np.ones(k)))
    log_A = np.log(rng.dirichlet(np.ones(k), size=k))
    log_B = np.log(rng.uniform(0.05, 1.0, size=(T, k)))  # p(x_t | z_t = j) of what was seen
    return log_pi, log_A, log_B


# ---- Euler steps of Lotka-Volterra and their sensitivities -------------------------------------

def lotka_volterra(y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """f(y, theta) = (a prey - b prey pred, c prey pred - d pred)."""
    (prey, pred), (a, b, c, d) = y, theta
    return np.array([a * prey - b * prey * pred, c * prey * pred - d * pred])


def lotka_volterra_partials(y: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(df/dy, df/dtheta), the 2 x 2 and 2 x 4 Jacobians of `lotka_volterra`, by hand."""
    (prey, pred), (a, b, c, d) = y, theta
    by_state = np.array([[a - b * pred, -b * prey],
                         [c * pred, c * prey - d]])
    by_parameter = np.array([[prey, -prey * pred, 0.0, 0.0],
                             [0.0, 0.0, prey * pred, -pred]])
    return by_state, by_parameter


@dataclass(frozen=True)
class EulerSensitivities:
    """The final state y_N and its Jacobians with respect to y0 (2 x 2), theta (2 x 4), h (2,)."""

    state: np.ndarray
    by_y0: np.ndarray
    by_theta: np.ndarray
    by_h: np.ndarray


def euler_final_state(y0: np.ndarray, theta: np.ndarray, h: float, N: int) -> np.ndarray:
    """y_N of y_{s+1} = y_s + h f(y_s, theta), y_0 = y0."""
    y = np.array(y0, dtype=float)
    for _ in range(N):
        y = y + h * lotka_volterra(y, theta)
    return y


def euler_sensitivities(y0: np.ndarray, theta: np.ndarray, h: float,
                        N: int) -> EulerSensitivities:
    """y_N and its Jacobians, by differentiating each step by hand (the discrete sensitivity
    equations): with F = df/dy at y_s, S_{s+1} = S_s + h (F S_s + df/dtheta) for theta,
    S_{s+1} = (I + h F) S_s for y0, and D_{s+1} = D_s + f(y_s) + h F D_s for h."""
    y = np.array(y0, dtype=float)
    by_y0, by_theta, by_h = np.eye(2), np.zeros((2, 4)), np.zeros(2)
    for _ in range(N):
        by_state, by_parameter = lotka_volterra_partials(y, theta)
        by_y0 = by_y0 + h * by_state @ by_y0
        by_theta = by_theta + h * (by_state @ by_theta + by_parameter)
        by_h = by_h + lotka_volterra(y, theta) + h * by_state @ by_h
        y = y + h * lotka_volterra(y, theta)
    return EulerSensitivities(y, by_y0, by_theta, by_h)


def random_euler_point(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(y0, theta, h): populations, rates and a step where Euler stays positive and tame."""
    return (rng.uniform(0.5, 2.0, size=2), rng.uniform([0.8, 0.3, 0.2, 0.8], [1.2, 0.6, 0.5, 1.2]),
            float(rng.uniform(0.01, 0.05)))


# ---- Newton's method for a square root --------------------------------------------------------

def newton_iterates(a: float, steps: int) -> list[float]:
    """x_0 = a, x_{k+1} = (x_k + a / x_k) / 2, up to x_steps."""
    iterates = [a]
    for _ in range(steps):
        iterates.append(0.5 * (iterates[-1] + a / iterates[-1]))
    return iterates


def newton_derivative(a: float, steps: int) -> tuple[float, float]:
    """x_steps and dx_steps/da, by the chain rule through the iterate map:
    dx_{k+1}/da = (1 - a / x_k^2) dx_k/da / 2 + 1 / (2 x_k), with dx_0/da = 1."""
    x, dx = a, 1.0
    for _ in range(steps):
        x, dx = 0.5 * (x + a / x), 0.5 * (1 - a / x**2) * dx + 0.5 / x
    return x, dx


# ---- the bouncing ball ---------------------------------------------------------------------------

def bounce_derivatives(h0: float, v0: float, e: float, g: float, dt: float,
                       N: int) -> tuple[float, tuple[float, ...]]:
    """The final height and its derivatives by (h0, v0, e, g): tangents stepped alongside the
    state, each step's branch chosen by the state (the derivative of the side taken)."""
    h, v = h0, v0
    dh, dv = np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0, 0])
    dg = np.array([0, 0, 0, 1.0])
    de = np.array([0, 0, 1.0, 0])
    for _ in range(N):
        v, dv = v - g * dt, dv - dt * dg
        h, dh = h + dt * v, dh + dt * dv
        if h < 0:
            h, dh = -e * h, -e * dh - h * de
            v, dv = -e * v, -e * dv - v * de
    return h, tuple(float(d) for d in dh)


def random_bounce_point(rng: np.random.Generator, trips: int) -> tuple:
    """Drop heights and speeds that reach the floor within a few of the example's steps."""
    return (float(rng.uniform(0.02, 0.3)), float(rng.uniform(-1.5, 0.5)),
            float(rng.uniform(0.5, 0.9)), float(rng.uniform(8.0, 11.0)), 0.05, trips)

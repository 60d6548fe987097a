"""Checkpointed loops (``--checkpoint K`` / ``sqrt``): snapshots every K steps, each segment
run again in the reverse pass.

The gradients are checked against the examples' hand-written references (forward-backward for
the HMM, the Euler sensitivity equations, stepped tangents of the bouncing ball) and against
central differences, for trip counts 0, 1, 2 and more, segment lengths 1, 3, ``sqrt`` and
longer than the loop; and the generated code keeps snapshots, not tapes, between the passes.
"""

from __future__ import annotations

import subprocess
import sys

import loop_oracles as oracles
import numpy as np
import pytest

from gradgen.pipeline import compile_source

EVERY = (1, 3, "sqrt", 50)


def checkpointed(name: str, every, wrt: tuple[str, ...] | None = None):
    return compile_source(oracles.example_source(name), f"{name}.txt", wrt,
                          checkpoint=every).module


@pytest.mark.parametrize("every", EVERY)
@pytest.mark.parametrize("T", [1, 2, 3, 10, 23])
def test_hmm_posteriors_with_checkpoints(every, T: int) -> None:
    m = checkpointed("hmm", every)
    point = oracles.random_hmm(np.random.default_rng([T, 7]), T, 3, normalized=False)
    expected = oracles.hmm_forward_backward(*point)
    value, partials = m.gradient(*point)
    assert value == pytest.approx(expected.log_likelihood, rel=1e-12)
    for partial, reference in zip(partials, expected.partials):
        np.testing.assert_allclose(partial, reference, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("every", EVERY)
@pytest.mark.parametrize("N", [0, 1, 2, 9])
def test_euler_sensitivities_with_checkpoints(every, N: int) -> None:
    m = checkpointed("euler", every, ("y0", "theta", "h"))
    y0, theta, h = oracles.random_euler_point(np.random.default_rng(N))
    expected = oracles.euler_sensitivities(y0, theta, h, N)
    value, (by_y0, by_theta, by_h) = m.jacobian(y0, theta, h, N)
    np.testing.assert_allclose(value, expected.state, rtol=1e-12)
    for got, want in ((by_y0, expected.by_y0), (by_theta, expected.by_theta),
                      (by_h, expected.by_h)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("every", EVERY)
@pytest.mark.parametrize("N", [0, 1, 12, 40])
def test_bouncing_ball_with_checkpoints(every, N: int) -> None:
    """A branch in every step: each segment run again takes the same ways."""
    m = checkpointed("bounce", every, ("h0", "v0", "e", "g"))
    point = oracles.random_bounce_point(np.random.default_rng(N), N)
    value, partials = m.gradient(*point)
    expected_value, expected = oracles.bounce_derivatives(*point)
    assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(partials, expected, rtol=1e-9, atol=1e-12)


NESTED = """def f(x: (n,), w, N: int):
    s = 0
    y = x
    for i in range(N):
        for j in range(n):
            s = s + w * sin(y[j] + s)
        y = y * 0.9 + s
    return s + sum(y)
"""


def nested_reference(x, w, N):
    s, y = 0.0, np.array(x, dtype=float)
    for _ in range(int(N)):
        for j in range(len(y)):
            s = s + w * np.sin(y[j] + s)
        y = y * 0.9 + s
    return s + np.sum(y)


@pytest.mark.parametrize("every", EVERY)
@pytest.mark.parametrize("N", [0, 1, 5])
def test_a_checkpointed_loop_with_a_loop_inside(every, N: int) -> None:
    m = compile_source(NESTED, "nested.txt", checkpoint=every).module
    x, w = np.array([0.3, -0.2, 0.5]), 0.4
    value, (x_bar, w_bar) = m.gradient(x, w, N)
    assert value == pytest.approx(nested_reference(x, w, N), rel=1e-12)
    eps = 1e-6
    for k in range(3):
        up, down = x.copy(), x.copy()
        up[k] += eps
        down[k] -= eps
        numeric = (nested_reference(up, w, N) - nested_reference(down, w, N)) / (2 * eps)
        assert x_bar[k] == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    numeric = (nested_reference(x, w + eps, N) - nested_reference(x, w - eps, N)) / (2 * eps)
    assert w_bar == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_the_forward_pass_keeps_snapshots_not_tapes() -> None:
    source = compile_source(oracles.example_source("hmm"), "hmm.txt", checkpoint="sqrt").source
    gradient = source[source.index("def gradient"):source.index("def vjp")]
    forward_pass = gradient[:gradient.index("reversed(")]
    assert "snapshot_alpha = [None] * segments" in forward_pass
    assert "tape_" not in forward_pass  # the tapes are made one segment at a time
    assert "stride = max(1, int(np.ceil(np.sqrt(" in gradient
    assert "--checkpoint sqrt" in source  # the header's command


@pytest.mark.parametrize("argument, message", [("0", "expected a whole number of steps"),
                                               ("two", "expected a whole number of steps")])
def test_checkpoint_option_errors(argument: str, message: str, tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "gradgen", "compile",
                             str(oracles.EXAMPLES / "hmm.txt"), "--checkpoint", argument,
                             "-o", str(tmp_path / "out.py")], capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr
    assert not (tmp_path / "out.py").exists()


def test_checkpoint_is_for_reverse_mode() -> None:
    with pytest.raises(ValueError, match="checkpoint is for reverse mode"):
        compile_source("def f(x):\n    return x\n", "f.txt", mode="forward", checkpoint=3)

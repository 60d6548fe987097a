"""The second-order examples a user runs (examples/rosenbrock_newton.py,
fit_logistic_newton_cg.py, network_newton.py), each run as a script from a copy beside its
source, its numbers checked against oracles that do not go through gradgen: the known minimum
of Rosenbrock's function, scikit-learn's logistic regression, and the network's loss and
gradient written in NumPy and differenced centrally.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_script(script: str, source: str, folder: Path, *args: str) -> str:
    """Run a copy of examples/SCRIPT beside copies of its source and `build_model.py`."""
    for name in (script, source, "build_model.py"):
        shutil.copyfile(EXAMPLES / name, folder / name)
    result = subprocess.run([sys.executable, str(folder / script), *args], cwd=folder,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_newton_reaches_rosenbrocks_minimum_in_few_steps(tmp_path: Path) -> None:
    output = run_script("rosenbrock_newton.py", "rosenbrock.txt", tmp_path)
    assert (tmp_path / "rosenbrock_hessian.py").exists()
    final = re.search(r"after (\d+) Newton steps: \(([-\d.]+), ([-\d.]+)\)", output)
    assert final, output
    assert int(final.group(1)) <= 30  # gradient descent takes thousands
    assert float(final.group(2)) == pytest.approx(1.0, abs=1e-9)
    assert float(final.group(3)) == pytest.approx(1.0, abs=1e-9)


def test_trust_ncg_with_hvp_agrees_with_scikit_learn(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    samples, features, lam = 800, 60, 1e-2
    output = run_script("fit_logistic_newton_cg.py", "logistic_regression.txt", tmp_path,
                        "--samples", str(samples), "--features", str(features),
                        "--lam", str(lam))
    assert float(re.search(r"\|gradient\| ([\d.e+-]+)", output).group(1)) < 1e-7, output
    sys.path.insert(0, str(tmp_path))
    try:
        from fit_logistic_newton_cg import synthetic_data
    finally:
        sys.path.remove(str(tmp_path))
    X, y = synthetic_data(samples, features, 0)
    # scikit-learn minimises C * sum(log-loss) + ||w||^2 / 2: the same minimiser for C = 1/(n lam)
    fitted = LogisticRegression(C=1 / (samples * lam), tol=1e-12, max_iter=10_000).fit(X, y)
    weights = re.search(r"theta\[:5\] = \[([^\]]+)\] b = ([-\d.]+)", output)
    assert weights, output
    shown = np.array(weights.group(1).split(), dtype=float)
    np.testing.assert_allclose(shown, fitted.coef_[0][:5], atol=2e-6)
    assert float(weights.group(2)) == pytest.approx(fitted.intercept_[0], abs=2e-6)


def numpy_loss(theta: np.ndarray, hidden: int, x: np.ndarray, t: np.ndarray) -> float:
    """The network's loss written in NumPy (not compiled by gradgen)."""
    w1, b1, w2, b2 = (theta[:hidden], theta[hidden:2 * hidden], theta[2 * hidden:3 * hidden],
                      theta[3 * hidden])
    y = np.tanh(np.outer(x, w1) + b1) @ w2 + b2
    return 0.5 * np.mean((y - t) ** 2)


def test_damped_newton_fits_the_network_to_a_stationary_point(tmp_path: Path) -> None:
    output = run_script("network_newton.py", "tiny_network.txt", tmp_path, "--steps", "60")
    newton = float(re.search(r"after 60 damped Newton steps: loss ([\d.e+-]+)", output).group(1))
    descent = [float(v) for v in re.findall(r"gradient descent steps of [\d.]+: loss ([\d.e+-]+)",
                                            output)]
    assert newton < 1e-5 and newton < min(descent) / 10, output
    sys.path.insert(0, str(tmp_path))
    try:
        import network_newton
        import tiny_network
    finally:
        sys.path.remove(str(tmp_path))
    x = np.linspace(-3, 3, 100)
    network = network_newton.Network(tiny_network, 6, x, np.sin(x))
    start = np.random.default_rng(0).normal(size=19)
    theta = network_newton.damped_newton(network, start, 60)
    assert numpy_loss(theta, 6, x, np.sin(x)) == pytest.approx(newton, rel=1e-3)
    h = 1e-6
    differences = [(numpy_loss(theta + h * e, 6, x, np.sin(x))
                    - numpy_loss(theta - h * e, 6, x, np.sin(x))) / (2 * h) for e in np.eye(19)]
    assert np.linalg.norm(differences) < 1e-3
    hessian = network.hessian(theta)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-12)

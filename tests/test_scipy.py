"""SciPy-ready modules (issue 15, point 3): ``pack``, ``unpack``, ``flat_gradient`` and
``flat_hvp`` on one flat vector of the inputs of WRT; examples/fit_scipy.py's fit checked
against scikit-learn's LogisticRegression (an oracle that does not go through gradgen)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import gradgen
from gradgen import compile_source

EXAMPLES = Path(__file__).parent.parent / "examples"
ROOT = Path(gradgen.__file__).resolve().parent.parent  # the gradgen under test
PERCEPTRON = (EXAMPLES / "perceptron.txt").read_text()


def module_of(text: str, **options: object):
    return compile_source(text, "scipy.txt", **options).load()


def test_pack_and_unpack_go_there_and_back_with_the_others_binding_the_shapes() -> None:
    module = module_of(PERCEPTRON, wrt="W1,b1,W2,b2")
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    weights = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(5, 3)), np.ones(3)
    theta = module.pack(*weights)
    assert theta.dtype == np.float64 and theta.shape == (4 * 5 + 5 + 5 * 3 + 3,)
    back = module.unpack(theta, X, T, 0.1)  # the hidden width (5) is bound by none of X, T
    for value, original in zip(back, weights, strict=True):
        np.testing.assert_array_equal(value, original)
    assert not np.shares_memory(back[0], theta)
    value, flat = module.flat_gradient(theta, X, T, 0.1)
    expected, partials = module.gradient(*weights, X, T, 0.1)
    assert value == expected
    np.testing.assert_array_equal(flat, np.concatenate([np.ravel(p) for p in partials]))


def test_scalar_inputs_come_back_as_floats_and_the_others_follow_inputs_order() -> None:
    text = "def f(X: (n, d), w: (d,), y: (n,), b):\n    return sum((X @ w + b - y)^2)\n"
    module = module_of(text, wrt="b,w")
    theta = module.pack(2.0, [1.0, 2.0])
    np.testing.assert_array_equal(theta, [2.0, 1.0, 2.0])
    X, y = np.arange(6.0).reshape(3, 2), np.ones(3)
    b, w = module.unpack(theta, X, y)
    assert type(b) is float and b == 2.0
    value, flat = module.flat_gradient(theta, X, y)
    expected, (db, dw) = module.gradient(X, [1.0, 2.0], y, 2.0)
    assert value == expected
    np.testing.assert_array_equal(flat, np.concatenate([[db], dw]))


def test_a_module_of_numbers_unpacks_floats_and_its_flat_hvp_is_hvp() -> None:
    module = module_of("f(a, x, y) = (a - x)^2 + 100*(y - x^2)^2", wrt="x,y", hessian=True)
    assert module.unpack(np.array([0.5, 2.0])) == (0.5, 2.0)
    value, flat = module.flat_gradient(np.array([0.5, 2.0]), 1.0)
    expected, partials = module.gradient(1.0, 0.5, 2.0)
    assert value == expected and flat.tolist() == list(partials)
    products = module.flat_hvp(np.array([0.5, 2.0]), np.array([1.0, -1.0]), 1.0)
    np.testing.assert_array_equal(products, module.hvp(1.0, 0.5, 2.0, (1.0, -1.0)))


def test_forward_mode_and_array_hessians_have_the_flat_functions_too() -> None:
    forward = module_of("f(x, y) = x*sin(y)", mode="forward")
    assert forward.flat_gradient(np.array([1.0, 2.0]))[1].tolist() == [np.sin(2.0),
                                                                        np.cos(2.0)]
    arrays = module_of((EXAMPLES / "logistic_regression.txt").read_text(), wrt="w,b",
                       hessian=True)
    rng = np.random.default_rng(2)
    X, y, v = rng.normal(size=(8, 3)), rng.integers(0, 2, 8).astype(float), rng.normal(size=4)
    theta = rng.normal(size=4)
    products = arrays.hvp(theta[:3], theta[3], X, y, 0.1, (v[:3], v[3]))
    np.testing.assert_allclose(arrays.flat_hvp(theta, v, X, y, 0.1),
                               np.append(*products), rtol=1e-15)


def test_an_array_valued_module_packs_but_has_no_flat_gradient() -> None:
    module = module_of("def f(x: (n,)):\n    return x * x\n")
    assert module.unpack(module.pack([1.0, 2.0]))[0].tolist() == [1.0, 2.0]
    assert not hasattr(module, "flat_gradient")


def test_unpack_says_what_it_cannot_know() -> None:
    module = module_of(PERCEPTRON, wrt="W1,b1,W2,b2")
    X, T = np.ones((6, 4)), np.ones((6, 3))
    with pytest.raises(ValueError, match=r"theta has 30 entries: no size of h"):
        module.unpack(np.zeros(30), X, T, 0.1)
    with pytest.raises(ValueError, match="the dimensions d, h of the inputs of WRT are bound"):
        module_of(PERCEPTRON, wrt="W1,b1,W2,b2,X").unpack(np.zeros(30), T, 0.1)
    with pytest.raises(ValueError, match=r"theta has shape \(3,\), expected \(2,\)"):
        module_of("f(x, y) = x*y").unpack(np.zeros(3))


def run_example(folder: Path, *args: str) -> str:
    """Run a copy of examples/fit_scipy.py beside what it needs, with the gradgen under test."""
    for name in ("fit_scipy.py", "fit_logistic_newton_cg.py", "build_model.py",
                 "logistic_regression.txt"):
        shutil.copyfile(EXAMPLES / name, folder / name)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(folder)])}
    result = subprocess.run([sys.executable, str(folder / "fit_scipy.py"), *args], cwd=folder,
                            env=environment, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def example_script(name: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """examples/NAME.py imported (not run), with examples/build_model.py importable."""
    def imported(module_name: str, path: Path) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    monkeypatch.setitem(sys.modules, "build_model",
                        imported("build_model", EXAMPLES / "build_model.py"))
    return imported(name, EXAMPLES / f"{name}.py")


def scikit_learns_fit(samples: int, features: int, lam: float,
                      monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, float]:
    """(w, b) of scikit-learn's LogisticRegression on the example's data: it minimises
    C * sum(log-loss) + ||w||^2 / 2, the same minimiser as the example's for C = 1/(n lam)."""
    from sklearn.linear_model import LogisticRegression

    script = example_script("fit_logistic_newton_cg", monkeypatch)
    data = script.synthetic_data(samples, features, 0)
    fitted = LogisticRegression(C=1 / (samples * lam), tol=1e-12, max_iter=10_000).fit(*data)
    return fitted.coef_[0], float(fitted.intercept_[0])


def test_fit_scipy_converges_to_scikit_learns_answer(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    samples, features, lam = 600, 12, 1e-2
    output = run_example(tmp_path, "--samples", str(samples), "--features", str(features),
                         "--lam", str(lam))
    weights, bias = scikit_learns_fit(samples, features, lam, monkeypatch)
    fits = re.findall(r"(\S+): \d+ iterations.*\n  w\[:5\] = \[([^\]]+)\] b = ([-\d.]+)",
                      output)
    assert [method for method, _, _ in fits] == ["L-BFGS-B", "trust-ncg"], output
    for _, shown, shown_bias in fits:
        np.testing.assert_allclose(np.array(shown.split(), dtype=float), weights[:5], atol=2e-6)
        assert float(shown_bias) == pytest.approx(bias, abs=2e-6)

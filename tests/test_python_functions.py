"""gradgen from Python functions (issue 15, point 4): `gradgen.compile_function` reads a
function's source (never runs it), writes it in the language, compiles it, and caches the
module on disk; errors point into this .py file."""

# The functions below are the users' Python, read by gradgen and never run: a dimension (n)
# is a name Python does not know, and a shape annotation is a string.
# ruff: noqa: F821, UP037, B007

from __future__ import annotations

import inspect
import math
import re
import sys

import numpy
import numpy as np
import pytest

import gradgen
import gradgen.tools.function as function_module
from gradgen.errors import CompileError


@pytest.fixture(autouse=True)
def cache_folder(tmp_path, monkeypatch):
    """Every test's own cache folder."""
    monkeypatch.setenv("GRADGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADGEN_CACHE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def compilations(monkeypatch):
    """The number of times compile_function compiled (a list of one count)."""
    count = [0]
    compile_source = function_module.compile_source

    def counted(*args, **kwargs):
        count[0] += 1
        return compile_source(*args, **kwargs)

    monkeypatch.setattr(function_module, "compile_source", counted)
    return count


def rolled(x, a, N: int):
    """Iterate a map N times: the docstring goes, the loop stays."""
    for i in range(N):
        x = np.sin(a * x) ** 2 + math.cos(x)
    return x


ROLLED = """def rolled(x, a, N: int):
    for i in range(N):
        x = sin(a * x) ** 2 + cos(x)
    return x
"""


def branchy(x: float, y: float) -> float:
    if x > y:
        z = np.exp(x - y)
    else:
        z = numpy.log1p(y - x) + np.arctan2(x, y)
    return z * x


BRANCHY = """def branchy(x, y):
    if x > y:
        z = exp(x - y)
    else:
        z = log1p(y - x) + atan2(x, y)
    return z * x
"""


def layer(W: "d, k", X: "(n, d)", T: "n, k", lam) -> float:
    """Squared error of a tanh layer, with a penalty."""
    A = np.tanh(X @ W)
    return np.sum(np.sum((A - T) ** 2, axis=0)) / n + lam * np.linalg.norm(W.T) ** 2


LAYER = """def layer(W: (d, k), X: (n, d), T: (n, k), lam):
    A = tanh(X @ W)
    return sum(sum((A - T) ** 2, axis=0)) / n + lam * norm(W.T) ** 2
"""


def body(source: str) -> str:
    """A module's source after its header docstring (which names the file it came from), the
    kinks of ``COST`` (places in that file) left out."""
    rest = source[source.index('\n"""\n'):]
    return re.sub(r"'kinks': \(.*?\),\n", "", rest, flags=re.S)


@pytest.mark.parametrize(("function", "text", "options"), [
    (rolled, ROLLED, {}), (branchy, BRANCHY, {}), (branchy, BRANCHY, {"mode": "forward"}),
    (layer, LAYER, {"wrt": "W", "hessian": True}), (layer, LAYER, {"wrt": ("W", "lam")})])
def test_python_spellings_give_the_module_of_the_text(function, text, options,
                                                       cache_folder) -> None:
    module = gradgen.compile_function(function, **options)
    written = (cache_folder / f"{module.__name__}.py").read_text()
    assert body(written) == body(gradgen.compile_source(text, **options).source)


def test_the_kink_report_names_places_in_the_users_file() -> None:
    """``x > y`` in `branchy` decides a branch: the report gives its line and column in this
    file, not in the text the function was translated to."""
    module = gradgen.compile_function(branchy)
    lines, first = inspect.getsourcelines(branchy)
    line = next(k for k, text in enumerate(lines, first) if "if x > y" in text)
    col = lines[line - first].index(">") + 1
    assert module.COST["kinks"][0].startswith(f"test_python_functions.py:{line}:{col}: >")


def test_the_header_names_the_file_and_how_to_compile_again() -> None:
    source = inspect.getsource(gradgen.compile_function(layer, wrt="W"))
    assert "compiled from test_python_functions.py" in source
    assert "recompile instead: gradgen.compile_function(layer, wrt='W')" in source


def test_as_a_decorator_with_and_without_options() -> None:
    @gradgen.compile_function
    def square(x):
        return x ** 2

    @gradgen.compile_function(wrt="x", hessian=True)
    def product(x, y):
        return x * np.sin(y)

    assert square.gradient(3.0) == (9.0, (6.0,))
    assert product.flat_hvp(np.array([1.0]), np.array([1.0]), 2.0).tolist() == [0.0]


def test_nothing_of_the_function_is_executed() -> None:
    def explodes(x, y):
        return x / (y - y)  # a ZeroDivisionError if Python ran it

    module = gradgen.compile_function(explodes)
    with np.errstate(divide="ignore"):
        assert module.forward(np.array([1.0]), np.array([2.0]))[0] == np.inf


def test_errors_point_into_the_python_file() -> None:
    def misspelt(x, y):
        """A docstring, so the line numbers must be offset right."""
        a = x * y
        return np.sinn(a) + a

    with pytest.raises(CompileError) as raised:
        gradgen.compile_function(misspelt)
    error = raised.value
    assert error.source.path == __file__
    assert error.line == misspelt.__code__.co_firstlineno + 3
    assert "unknown function 'sinn'" in error.message
    text = error.format()
    assert text.splitlines()[1].strip() == "return np.sinn(a) + a"
    assert text.splitlines()[2].index("^") == text.splitlines()[1].index("np.sinn")


def test_a_second_call_loads_the_cached_module(compilations, cache_folder) -> None:
    first = gradgen.compile_function(rolled)
    assert compilations == [1] and first.__file__ == str(cache_folder / f"{first.__name__}.py")
    assert gradgen.compile_function(rolled) is first
    del sys.modules[first.__name__]  # a new start: the module is read from its file
    again = gradgen.compile_function(rolled)
    assert compilations == [1] and again is not first
    assert again.forward(0.5, 2.0, 3) == first.forward(0.5, 2.0, 3)
    gradgen.compile_function(rolled, wrt="a")  # other options: another module
    assert compilations == [2] and len(list(cache_folder.glob("*.py"))) == 2


def test_another_gradgen_never_loads_an_old_module(compilations, monkeypatch) -> None:
    """The key holds the text of gradgen's own code: an edited or upgraded gradgen (even at
    the same version number) compiles again."""
    from gradgen.tools import cache

    first = gradgen.compile_function(rolled)
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "another gradgen")
    again = gradgen.compile_function(rolled)
    assert compilations == [2] and again.__name__ != first.__name__


def test_the_cache_can_be_turned_off(compilations, cache_folder, monkeypatch) -> None:
    monkeypatch.setenv("GRADGEN_CACHE", "0")
    gradgen.compile_function(rolled)
    module = gradgen.compile_function(rolled)
    assert compilations == [2] and not cache_folder.exists()
    assert module.__name__.startswith("gradgen_rolled_")


def test_the_cache_folder_follows_xdg(monkeypatch, tmp_path) -> None:
    from gradgen.tools import cache

    monkeypatch.delenv("GRADGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder() == tmp_path / "xdg" / "gradgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.folder() == tmp_path / "home" / ".cache" / "gradgen"


def test_only_functions_are_taken() -> None:
    with pytest.raises(TypeError, match=r"takes a Python function \(a def\), got str"):
        gradgen.compile_function("f(x) = x")
    with pytest.raises(TypeError, match="got a lambda"):
        gradgen.compile_function(lambda x: x)


def column_maxima(x: "n, k"):
    return np.sum(np.max(x, 0) ** 2)


def builtin_sum(x: "n, k"):
    return np.sum(sum(x) * x[0])


def row_means(x: "n, k"):
    return np.sum(np.mean(x, 1) * np.min(x, axis=0)[0]) + np.sum(np.maximum(x, 0.5))


@pytest.mark.parametrize("function", [column_maxima, builtin_sum, row_means])
def test_numpys_positional_axis_and_pythons_sum_mean_what_python_computes(function) -> None:
    """``np.max(x, 0)`` is the maximum along axis 0 (the language's two-argument max is
    entrywise), Python's ``sum(x)`` adds the rows (the language's sum is the total): the
    module computes what the Python function does (run here, as the oracle)."""
    module = gradgen.compile_function(function)
    x = np.arange(1.0, 7.0).reshape(3, 2) / 3 + np.array([[0.05, 0.0], [0.0, 0.02], [0.01, 0.0]])
    assert module.forward(x) == pytest.approx(function(x), rel=1e-14)
    h, grad = 1e-6, module.gradient(x)[1][0]
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        assert grad[index] == pytest.approx((function(x + step) - function(x - step)) / (2 * h),
                                            rel=1e-6, abs=1e-8)

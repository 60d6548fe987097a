"""The generated module: its API, its names, its header and its exact text.

Covers: ``INPUTS``, ``WRT``, ``forward``, ``gradient`` and the aliases under the source's own
function name; positional and keyword inputs; Python numbers in, exactly ``float`` out; arrays
of a million points and broadcasting, with fresh result arrays; determinism (byte-identical
output, also across processes with different hash seeds); mangling of inputs and function names
that clash with Python keywords or with the module's own names; the module imported in an
isolated interpreter where gradgen, SymPy and Jinja2 cannot be imported; a header docstring that
quotes awkward source text; and golden files (``--update-golden``) for the lecture and
perceptron examples and for programs with a loop, a branch, a helper and a checkpointed loop.
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import central_difference, compile_cached, compile_module, sympy_partials

from gradgen.errors import CompileError
from gradgen.ir.interpret import interpret
from gradgen.ir.printing import format_graph
from gradgen.pipeline import build_forward, build_gradient, compile_source

LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"
LECTURE_POINT = (2.0, -1.0, 0.0)
LECTURE_VALUE = 0.1411200080598672
LECTURE_GRAD = (-3.9599699864017817, -0.9899924966004454, 1.9899924966004454)


def lecture_gradient(x, y, z):
    """The lecture example's value and partials, derived by hand."""
    u = x**2 + y * np.exp(z)
    slope = np.cos(u)
    return z + np.sin(u), (slope * 2 * x, slope * np.exp(z), 1 + slope * y * np.exp(z))


# ---- the API ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, inputs", [
    ("z + sin(x^2 + y*exp(z))", ("x", "y", "z")),
    ("b*a + c", ("a", "b", "c")),
    ("f(z, y, x) = z + sin(x^2 + y*exp(z))", ("z", "y", "x")),
    ("def f(y, x):\n    a = x^2\n    return a*y\n", ("y", "x")),
])
def test_inputs_and_wrt(text: str, inputs: tuple[str, ...]) -> None:
    module = compile_module(text)
    assert module.INPUTS == inputs and module.WRT == inputs
    assert module.f is module.forward and module.f_gradient is module.gradient


def test_lecture_values_and_types() -> None:
    module = compile_module(LECTURE)
    value = module.forward(*LECTURE_POINT)
    assert type(value) is float and value == pytest.approx(LECTURE_VALUE, rel=1e-15)
    value, partials = module.gradient(*LECTURE_POINT)
    assert type(value) is float and type(partials) is tuple
    assert all(type(p) is float for p in partials)
    assert value == pytest.approx(LECTURE_VALUE, rel=1e-15)
    assert partials == pytest.approx(LECTURE_GRAD, rel=1e-15)


@pytest.mark.parametrize("point", [(2, -1, 0), (np.float64(2), np.float32(-1), np.int64(0)),
                                   (np.array(2.0), -1.0, 0), (True, -1.0, False)])
def test_any_scalar_numbers_give_python_floats(point: tuple) -> None:
    value, partials = compile_module(LECTURE).gradient(*point)
    expected_value, expected_partials = lecture_gradient(*(float(v) for v in point))
    assert type(value) is float and all(type(p) is float for p in partials)
    assert value == pytest.approx(expected_value, rel=1e-15)
    assert partials == pytest.approx(expected_partials, rel=1e-15)
    assert type(compile_module(LECTURE).forward(*point)) is float


def test_positional_and_keyword_inputs() -> None:
    module = compile_module(LECTURE)
    expected = module.gradient(*LECTURE_POINT)
    assert module.gradient(x=2.0, y=-1.0, z=0.0) == expected
    assert module.gradient(2.0, z=0.0, y=-1.0) == expected
    assert module.f_gradient(z=0.0, x=2.0, y=-1.0) == expected
    assert module.forward(2.0, -1.0, z=0.0) == module.f(*LECTURE_POINT) == expected[0]
    with pytest.raises(TypeError):
        module.gradient(2.0, -1.0)


def test_aliases_under_the_source_function_name() -> None:
    module = compile_module("energy(p, q) = p^2/2 + 1 - cos(q)")
    assert module.energy is module.forward and module.energy_gradient is module.gradient
    assert module.energy_gradient(3.0, 0.5) == (4.5 + 1 - math.cos(0.5), (3.0, math.sin(0.5)))


def test_a_million_points() -> None:
    rng = np.random.default_rng(1)
    x, y, z = (rng.uniform(-2.0, 2.0, size=10**6) for _ in range(3))
    module = compile_module(LECTURE)
    value, partials = module.gradient(x, y, z)
    expected_value, expected_partials = lecture_gradient(x, y, z)
    assert value.shape == (10**6,) and all(p.shape == (10**6,) for p in partials)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(partials, expected_partials, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(module.forward(x, y, z), value)


def test_broadcasting() -> None:
    x = np.linspace(-1.0, 1.0, 3).reshape(3, 1)
    y = np.linspace(0.0, 2.0, 4)
    value, partials = compile_module(LECTURE).gradient(x, y, 0.5)
    expected_value, expected_partials = lecture_gradient(x, y, 0.5)
    assert value.shape == (3, 4) and all(p.shape == (3, 4) for p in partials)
    np.testing.assert_allclose(value, expected_value, rtol=1e-14)
    np.testing.assert_allclose(partials[0], expected_partials[0], rtol=1e-14)
    np.testing.assert_allclose(partials[1], np.broadcast_to(expected_partials[1], (3, 4)))
    np.testing.assert_allclose(partials[2], expected_partials[2], rtol=1e-14)
    assert compile_module(LECTURE).forward([[1.0], [2.0]], [0.0, 1.0, 2.0], 0.0).shape == (2, 3)


@pytest.mark.parametrize("text", ["f(x, y, z) = z*(x + y)", "f(x, y) = x", "f(x, y) = 2 + 0*x",
                                  "f(x, y) = 3", "f(x, y) = where(x > y, 1, 2)"])
def test_results_are_fresh_float_arrays(text: str) -> None:
    module = compile_module(text)
    inputs = [np.linspace(1.0, 2.0, 5) + k for k in range(len(module.INPUTS))]
    value, partials = module.gradient(*inputs)
    results = [value, *partials]
    for k, result in enumerate(results):
        assert isinstance(result, np.ndarray) and result.shape == (5,)
        assert result.dtype == np.float64 and result.flags.writeable
        for other in inputs + results[k + 1:]:
            assert not np.shares_memory(result, other)
    assert not np.shares_memory(module.forward(*inputs), inputs[0])


@pytest.mark.parametrize("x", [-1.0, 1.0, np.array([-1.0, 1.0])])
def test_constants_are_computed_in_floating_point(x) -> None:
    text = "f(x) = where(x > 0, 2, 3)^40 + x*where(x > 0, 2, 3)^-1"
    base = np.where(np.asarray(x) > 0, 2.0, 3.0)
    value, (dx,) = compile_module(text).gradient(x)
    np.testing.assert_allclose(value, base**40 + x / base, rtol=1e-15)
    np.testing.assert_allclose(dx, 1 / base, rtol=1e-15)
    np.testing.assert_allclose(value, interpret(compile_cached(text).gradient, x)[0], rtol=1e-15)


@pytest.mark.parametrize("text, value, partials", [
    ("f() = 2", 2.0, ()),
    ("f(x) = 3", 3.0, (0.0,)),
    ("f(x) = x", 0.5, (1.0,)),
    ("f(x, y) = pi*y", 0.5 * math.pi, (0.0, math.pi)),
])
def test_trivial_functions(text: str, value: float, partials: tuple[float, ...]) -> None:
    module = compile_module(text)
    point = (0.5,) * len(module.INPUTS)
    assert module.gradient(*point) == (value, partials)
    assert type(module.forward(*point)) is float


# ---- determinism -------------------------------------------------------------------------

DETERMINISM_SOURCE = """\
def energy(lambda, np, x, y):
    a = where(x > 0, log(x), 0) + where(y > 0, sqrt(y), 0)
    b = sin(x*y) + sin(y*x) + max(lambda, np)*min(np, x)
    a = a*b + hypot(a, b) + atan2(y, 1 + x^2)
    return a + sigmoid(a) + relu(b - a)
"""


def test_compiling_twice_gives_identical_bytes() -> None:
    first = compile_source(DETERMINISM_SOURCE, "energy.txt").source
    second = compile_source(DETERMINISM_SOURCE, "energy.txt").source
    assert first.encode() == second.encode()


def test_output_does_not_depend_on_the_hash_seed() -> None:
    script = ("import sys; from gradgen.pipeline import compile_source; "
              "sys.stdout.buffer.write(compile_source(sys.stdin.read(), 'energy.txt')"
              ".source.encode())")
    expected = compile_source(DETERMINISM_SOURCE, "energy.txt").source.encode()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", script], input=DETERMINISM_SOURCE.encode(),
                                capture_output=True, env=env, check=True, timeout=60)
        assert result.stdout == expected, f"PYTHONHASHSEED={seed}"


# ---- mangling -------------------------------------------------------------------------------

CLASHING = ("f(lambda, np, sum, forward, gradient, _finish, class, import, INPUTS, functools) = "
            "lambda*np + sum*forward + sin(gradient*_finish) + class/import + INPUTS^functools")


def test_inputs_that_clash_with_python_or_module_names() -> None:
    module = compile_module(CLASHING)
    names = ("lambda", "np", "sum", "forward", "gradient", "_finish", "class", "import", "INPUTS",
             "functools")
    assert module.INPUTS == module.WRT == names
    point = (1.5, 2.0, 3.0, 4.0, 0.5, 0.25, 7.0, 8.0, 1.25, 3.0)
    expected = (point[1], point[0], point[3], point[2], math.cos(0.125) * 0.25,
                math.cos(0.125) * 0.5, 1 / 8.0, -7.0 / 64.0, 3.0 * 1.25**2,
                1.25**3 * math.log(1.25))
    value, partials = module.gradient(*point)
    assert partials == pytest.approx(expected, rel=1e-14)
    assert module.gradient(**dict(zip(names, point))) == (value, partials)
    assert module.forward(**dict(zip(names, point))) == value == module.f(*point)
    assert module.np is np  # the generated code's own names are untouched


@pytest.mark.parametrize("text, point", [
    ("f(lambda, lambda_) = lambda - 2*lambda_", (0.5, 1.5)),
    ("f(x, x_bar, v1, t1) = sin(x*x_bar) + v1*t1*x", (0.5, 1.5, 2.5, 3.5)),
    ("f(f, f_bar, f_gradient) = sin(f)*f_bar*f_gradient", (0.5, 1.5, 2.5)),
    ("def f(x):\n    t1 = x*x\n    v1 = sin(t1)\n    x_bar = v1*t1\n    return x_bar + x\n",
     (0.7,)),
    ("f(α, β) = α*exp(β)", (0.5, 1.5)),
    ("def f(x):\n    np = exp(x)\n    _finish = np*x\n    return np*_finish\n", (0.7,)),
    ("def f(x):\n    sin = x*2\n    return sin(sin)\n", (0.7,)),
])
def test_inputs_that_clash_with_generated_names(text: str, point: tuple[float, ...]) -> None:
    module = compile_module(text)
    value, partials = module.gradient(*point)
    assert partials == pytest.approx(sympy_partials(compile_cached(text).forward, point),
                                     rel=1e-13)
    assert module.gradient(**dict(zip(module.INPUTS, point))) == (value, partials)


@pytest.mark.parametrize("name", ["forward", "gradient", "np", "INPUTS", "WRT", "lambda",
                                  "_finish", "_as_float", "functools"])
def test_function_names_that_clash_with_module_names(name: str) -> None:
    module = compile_module(f"{name}(x, y) = x*exp(y)")
    assert module.INPUTS == ("x", "y") and module.WRT == ("x", "y")
    assert module.gradient(2.0, 0.0) == (2.0, (1.0, 2.0))
    assert module.forward(2.0, 0.0) == 2.0
    assert module.np is np


@pytest.mark.parametrize("name", ["float", "tuple", "id"])
def test_function_names_that_clash_with_builtins_the_module_uses(name: str) -> None:
    module = compile_module(f"{name}(x, y) = x*exp(y)")
    assert module.gradient(2.0, 0.0) == (2.0, (1.0, 2.0))
    value, (dx, dy) = module.gradient(np.array([2.0, 3.0]), 0.0)
    np.testing.assert_array_equal(value, [2.0, 3.0])
    np.testing.assert_array_equal(dx, [1.0, 1.0])
    np.testing.assert_array_equal(dy, [2.0, 3.0])


# ---- the module stands alone ----------------------------------------------------------------

ISOLATED_SCRIPT = """\
import sys
from pathlib import Path
for name in ("gradgen", "sympy", "jinja2"):
    sys.modules[name] = None  # any import of these now fails
sys.path.insert(0, ".")
before = set(sys.modules)  # site-packages' .pth files may have imported things already
import lecture
value, partials = lecture.gradient(2.0, -1.0, 0.0)
loaded = {m.split(".")[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)
print(repr((value, partials, sorted(loaded))))
"""


def test_generated_module_runs_in_an_isolated_interpreter(tmp_path) -> None:
    (tmp_path / "lecture.py").write_text(compile_source(LECTURE, "lecture.txt").source, "utf-8")
    result = subprocess.run([sys.executable, "-I", "-c", ISOLATED_SCRIPT], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    value, partials, loaded = ast.literal_eval(result.stdout)
    assert value == pytest.approx(LECTURE_VALUE, rel=1e-15)
    assert partials == pytest.approx(LECTURE_GRAD, rel=1e-15)
    assert loaded == ["lecture", "numpy"]


@pytest.mark.parametrize("text", [LECTURE, CLASHING, DETERMINISM_SOURCE])
def test_generated_module_imports_only_numpy_and_the_standard_library(text: str) -> None:
    tree = ast.parse(compile_cached(text).source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert imported <= {"numpy", "functools", "inspect", "math"}
    assert ("functools" in imported) == (text is not LECTURE)  # only for renamed inputs


# ---- the header docstring --------------------------------------------------------------------

AWKWARD_SOURCE = (
    "# triple quotes \"\"\" and ''' and backslashes \\ \\n \\N{BULLET} \\x \\\n"
    "f(x) = x^2  # ends in a quote \"\n"
    "# \"\"\"\"\n"
)


def test_header_quotes_awkward_source_text() -> None:
    module = compile_module(AWKWARD_SOURCE)
    for line in AWKWARD_SOURCE.splitlines():
        assert "    " + line in module.__doc__.splitlines()
    assert module.gradient(3.0) == (9.0, (6.0,))


def test_header_quotes_a_nul_in_a_comment() -> None:
    text = "# a \0 in a comment\nf(x) = x^2\n"
    try:
        compiled = compile_source(text)
    except CompileError:
        return  # rejecting the file is fine too; a module that does not import is not
    module = compiled.load()
    assert "    # a \0 in a comment" in module.__doc__.splitlines()
    assert module.gradient(3.0) == (9.0, (6.0,))


@pytest.mark.parametrize("path", ['dir/we"""ird.txt', "dir/back\\slash\\N.txt", "dir/'.txt"])
def test_header_quotes_awkward_file_names(path: str) -> None:
    module = compile_module("f(x) = x^2\n", path=path)
    assert path.split("/")[-1] in module.__doc__
    assert module.gradient(3.0) == (9.0, (6.0,))


def test_header_shortens_long_sources() -> None:
    lines = [f"    a = a + x*{k}" for k in range(1, 60)]
    text = "# " + "long " * 80 + "\ndef f(x):\n    a = x\n" + "\n".join(lines) + "\n    return a\n"
    module = compile_module(text)
    assert "more lines" in module.__doc__
    assert max(len(line) for line in module.__doc__.splitlines()) <= 210
    assert module.gradient(1.0) == (1.0 + sum(range(1, 60)), (1.0 + sum(range(1, 60)),))


# ---- golden files ------------------------------------------------------------------------------

def test_golden_lecture(golden) -> None:
    forward = build_forward(LECTURE, "lecture.txt")
    golden("lecture.ir.txt", format_graph(forward))
    golden("lecture.grad.ir.txt", format_graph(build_gradient(forward)))
    golden("lecture_module.py.txt", compile_source(LECTURE, "lecture.txt").source)
    golden("lecture_numba_module.py.txt",
           compile_source(LECTURE, "lecture.txt", target="numba").source)


def test_golden_module_computes_the_lecture_numbers() -> None:
    module = compile_source(LECTURE, "lecture.txt").load()
    value, partials = module.gradient(*LECTURE_POINT)
    assert value == pytest.approx(LECTURE_VALUE, rel=1e-15)
    assert partials == pytest.approx(LECTURE_GRAD, rel=1e-15)
    for i, partial in enumerate(partials):
        numeric = central_difference(module.forward, LECTURE_POINT, i)
        assert partial == pytest.approx(float(numeric), rel=1e-8)


def test_golden_perceptron(golden) -> None:
    """The array example that matters most: a perceptron's gradient reads like a hand-written
    backward pass (one statement per line, `del` at last use, shape checks on entry)."""
    path = Path(__file__).resolve().parent.parent / "examples" / "perceptron.txt"
    compiled = compile_source(path.read_text("utf-8"), "perceptron.txt",
                              wrt=("W1", "b1", "W2", "b2"))
    golden("perceptron.grad.ir.txt", format_graph(compiled.gradient))
    golden("perceptron_module.py.txt", compiled.source)
    code = compiled.source.split('"""', 2)[2]  # after the header docstring
    assert max(len(line) for line in code.splitlines()) <= 100


BLOCK_GOLDENS = {  # a loop, a real branch, a helper, a checkpointed loop: file, options
    "hmm_module.py.txt": ("hmm.txt", {}),
    "bounce_module.py.txt": ("bounce.txt", {"wrt": ("h0", "v0", "e", "g")}),
    "euler_module.py.txt": ("euler.txt", {}),
    "hmm_checkpointed_module.py.txt": ("hmm.txt", {"checkpoint": "sqrt"}),
}


@pytest.mark.parametrize("name", sorted(BLOCK_GOLDENS))
def test_golden_blocks(name, golden) -> None:
    """The modules of programs with blocks, byte for byte: a change to how loops, branches,
    helpers or checkpoints are printed shows here first (the redesign must keep them)."""
    file, options = BLOCK_GOLDENS[name]
    path = Path(__file__).resolve().parent.parent / "examples" / file
    golden(name, compile_source(path.read_text("utf-8"), file, **options).source)


@pytest.mark.parametrize("path", sorted(Path("examples").glob("*.txt")), ids=lambda p: p.name)
def test_generated_lines_fit_in_100_columns(path) -> None:
    """Every generated line is wrapped at 100 columns; only the user's own source, quoted in a
    docstring, keeps its lines as written."""
    text = path.read_text(encoding="utf-8")
    scalar_valued = not compile_source(text, path.name).forward.outputs[0].shape
    for options in ({}, {"checkpoint": "sqrt"}, *([{"hessian": True}] * scalar_valued)):
        source = compile_source(text, path.name, **options).source
        long = [line for line in source.splitlines()
                if len(line) > 100 and line.strip() not in text]
        assert long == [], options


def test_a_long_call_goes_on_aligned_under_its_first_argument() -> None:
    from gradgen.emit.lines import Line

    line = Line("a, b", "f(x1, g(x2, x3), x4, x5)", None, 1)
    assert line.code(100) == "a, b = f(x1, g(x2, x3), x4, x5)"
    indent = " " * 8  # the body of a function, one level in: what the template adds
    assert line.code(24) == "a, b = f(x1, g(x2, x3),\n" + indent + " " * 9 + "x4, x5)"
    assert Line("y", "x1 + x2 + x3", None, 0).code(5) == "y = x1 + x2 + x3"  # not a call
    assert Line("y", "f(x)[0] + g(y)", None, 0).code(5) == "y = f(x)[0] + g(y)"


def test_every_block_kind_has_its_rules_at_every_stage() -> None:
    """A block primitive (an edge holding graphs) is known to the verifier (its registry
    entry's BlockRules), to reverse mode (BLOCKS) and to emission (EMISSIONS)."""
    from gradgen.differentiate.reverse import BLOCKS as REVERSALS
    from gradgen.emit.emissions import EMISSIONS
    from gradgen.ir.graph import BLOCKS
    from gradgen.ir.primitives import REGISTRY

    assert {name for name, entry in REGISTRY.items() if entry.block} == set(BLOCKS)
    assert set(REVERSALS) == set(BLOCKS) == set(EMISSIONS)


WIDE = "f(" + ", ".join(f"x{k}" for k in range(1, 21)) + ") = " + " + ".join(
    f"100*(x{k + 1} - x{k}^2)^2 + (1 - x{k})^2" for k in range(1, 20)) + "\n"


@pytest.mark.parametrize("options", [{}, {"target": "numba"}, {"mode": "forward"}],
                         ids=["numpy", "numba", "forward"])
def test_every_generated_line_of_a_wide_function_fits_in_100_columns(options) -> None:
    source = compile_source(WIDE, "wide.txt", **options).source
    code = source.split('"""', 2)[2]  # after the header docstring, which quotes the source
    assert max(len(line) for line in code.splitlines()) <= 100
    assert "def gradient(" in code and "x20" in code

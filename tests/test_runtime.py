"""The runtime (`gradgen.runtime`): each function against an independent expectation, and the
generated modules carrying exactly these functions (copied by their source), nothing else."""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import sys
from pathlib import Path

import numpy as np
import pytest

import gradgen.runtime as runtime
from gradgen.ir.naming import GENERATED_GLOBALS
from gradgen.ir.primitives import REGISTRY
from gradgen.pipeline import compile_source

RNG = np.random.default_rng(12)
TEMPLATE = Path(runtime.__file__).parent.parent / "emit" / "templates" / "module.py.j2"


def naive_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def naive_softmax(x, axis):
    return np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)


# ---- the functions that registry entries call ---------------------------------------------


@pytest.mark.parametrize("axis", [None, (0,), (1,), (0, 1), 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_is_the_formula_on_safe_inputs(axis, keepdims) -> None:
    x = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(runtime._logsumexp(x, axis, keepdims),
                               naive_logsumexp(x, axis, keepdims), rtol=1e-14)


def test_logsumexp_does_not_overflow_and_keeps_minus_infinity() -> None:
    x = RNG.normal(size=(3, 5))
    np.testing.assert_allclose(runtime._logsumexp(x + 1000.0, axis=(1,)),
                               naive_logsumexp(x, axis=1) + 1000.0, rtol=1e-14)
    with np.errstate(divide="ignore"):
        assert runtime._logsumexp(np.full(3, -np.inf)) == -np.inf


@pytest.mark.parametrize("axis", [(0,), (1,), -1])
def test_softmax_and_log_softmax_are_the_formulas_on_safe_inputs(axis) -> None:
    x = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(runtime._softmax(x, axis), naive_softmax(x, axis), rtol=1e-14)
    np.testing.assert_allclose(runtime._log_softmax(x, axis), np.log(naive_softmax(x, axis)),
                               rtol=1e-13)


def test_softmax_and_log_softmax_do_not_overflow() -> None:
    x = RNG.normal(size=(2, 4))
    np.testing.assert_allclose(runtime._softmax(x + 1000.0, axis=1), naive_softmax(x, 1),
                               rtol=1e-13)
    np.testing.assert_allclose(runtime._log_softmax(x + 1000.0, axis=1),
                               np.log(naive_softmax(x, 1)), rtol=1e-12)


@pytest.mark.parametrize("shape, index, values_shape", [
    ((5,), np.s_[1:3], (2,)),
    ((3, 4), np.s_[:, 1], (3,)),
    ((3, 4), np.s_[2], (4,)),
    ((6, 2), np.s_[::2], (3, 2)),
])
def test_scatter_is_numpy_add_at(shape, index, values_shape) -> None:
    values = RNG.normal(size=values_shape)
    expected = np.zeros(shape)
    np.add.at(expected, index, values)
    np.testing.assert_array_equal(runtime._scatter(values, shape, index), expected)


@pytest.mark.parametrize("axis", [0, 1])
def test_concat_part_takes_back_each_piece(axis) -> None:
    parts = tuple(RNG.normal(size=(2, 3)[:axis] + (size,) + (2, 3)[axis + 1:])
                  for size in (3, 1, 4))
    whole = np.concatenate(parts, axis=axis)
    for k, part in enumerate(parts):
        np.testing.assert_array_equal(runtime._concat_part(whole, parts, axis, k), part)


def test_whole_accepts_whole_numbers_only() -> None:
    assert runtime._whole(3.0) == 3 and type(runtime._whole(np.float64(4.0))) is int
    with pytest.raises(ValueError, match="must be a whole number, got 2.5"):
        runtime._whole(2.5)


# ---- inputs, shapes and results -----------------------------------------------------------


def test_as_float_makes_numbers_float64_scalars_and_the_rest_float64_arrays() -> None:
    assert type(runtime._as_float(2)) is np.float64 and runtime._as_float(2) == 2.0
    assert type(runtime._as_float(np.array(3))) is np.float64
    array = runtime._as_float([1, 2])
    assert isinstance(array, np.ndarray) and array.dtype == np.float64
    assert runtime._as_float(np.arange(3)).dtype == np.float64


def test_finish_gives_floats_at_numbers_and_fresh_arrays_of_the_broadcast_shape() -> None:
    x, y = np.float64(1.0), np.float64(2.0)
    assert runtime._finish((x, 3), (x, y)) == (1.0, 3.0)
    assert all(type(result) is float for result in runtime._finish((x, 3), (x, y)))
    v = np.arange(3.0)
    value, constant, same = runtime._finish((v * 2, 0, v), (v, y))
    np.testing.assert_array_equal(value, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(constant, np.zeros(3))
    assert same is not v and np.array_equal(same, v)


def test_finish_arrays_gives_each_partial_its_input_shape_as_a_fresh_array() -> None:
    X, w = np.ones((2, 3)), np.arange(3.0)
    value, X_bar, w_bar, view = runtime._finish_arrays(
        (np.float64(5.0), 0.0, w, X[0]), (None, X, w, None), (X, w))
    assert type(value) is float and value == 5.0
    np.testing.assert_array_equal(X_bar, np.zeros((2, 3)))
    assert w_bar is not w and np.array_equal(w_bar, w)
    assert view.base is None and view.flags.writeable and np.array_equal(view, X[0])


def test_check_shapes_binds_named_dimensions_and_names_the_mismatch(monkeypatch) -> None:
    shapes, names = (("n", "d"), ("d",), ()), ("X", "w", "a")
    runtime._check_shapes((np.ones((2, 3)), np.ones(3), 1.0), shapes, names)
    with pytest.raises(ValueError, match=r"^w has shape \(4,\), expected \(d,\) with d = 3 "
                                         "from X$"):
        runtime._check_shapes((np.ones((2, 3)), np.ones(4), 1.0), shapes, names)
    with pytest.raises(ValueError, match=r"^a has shape \(2,\), expected a scalar$"):
        runtime._check_shapes((np.ones((2, 3)), np.ones(3), np.ones(2)), shapes, names)
    monkeypatch.setattr(runtime.values, "MINIMUM_SIZES", {"n": 3})
    with pytest.raises(ValueError, match="the function's indexing needs n >= 3"):
        runtime._check_shapes((np.ones((2, 3)), np.ones(3), 1.0), shapes, names)


def test_units_and_jacobians_give_the_jacobian_of_a_linear_map() -> None:
    A, x = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    value = A @ x
    units = list(runtime._units(value))
    np.testing.assert_array_equal(np.array(units), np.eye(2))
    rows = [(A.T @ unit, 2 * unit) for unit in units]  # the vjps of A @ x and of 2 y
    jacobian_x, jacobian_y = runtime._jacobians(rows, value, (x, value))
    np.testing.assert_array_equal(jacobian_x, A)
    np.testing.assert_array_equal(jacobian_y, 2 * np.eye(2))


# ---- one point at a time, and keyword arguments under the source's names -----------------


def test_pointwise_evaluates_each_point_and_gathers_the_results() -> None:
    def larger(x, y):
        return (x, 1.0) if x > y else (y, 0.0)

    each = runtime._pointwise(larger)
    assert each(2.0, 1.0) == (2.0, 1.0) and each.__name__ == "larger"
    x, y = np.array([[1.0, 5.0], [3.0, -1.0]]), np.array([2.0, 0.0])
    value, slope = each(x, y)
    np.testing.assert_array_equal(value, np.maximum(x, y))
    np.testing.assert_array_equal(slope, (x > y).astype(float))
    empty, _ = each(np.zeros((0, 2)), 1.0)
    assert empty.shape == (0, 2)


def test_gathered_shapes_numbers_and_tuples_of_them() -> None:
    np.testing.assert_array_equal(runtime._gathered([1.0, 2.0, 3.0, 4.0], (2, 2)),
                                  [[1.0, 2.0], [3.0, 4.0]])
    first, second = runtime._gathered([(1.0, 2.0), (3.0, 4.0)], (2,))
    np.testing.assert_array_equal(first, [1.0, 3.0])
    np.testing.assert_array_equal(second, [2.0, 4.0])


def test_with_source_names_renames_keyword_arguments(monkeypatch) -> None:
    def f(lambda_, x):
        return lambda_ - x

    assert runtime._with_source_names(f)(lambda_=3.0, x=1.0) == 2.0
    monkeypatch.setattr(runtime.source_names, "RENAMED", {"lambda": "lambda_"})
    call = runtime._with_source_names(f)
    assert call(**{"lambda": 3.0, "x": 1.0}) == 2.0 and call.__name__ == "f"


# ---- one runtime: the registry, the names and the generated modules use these -------------


def test_the_runtime_imports_only_numpy_the_standard_library_and_itself() -> None:
    for path in Path(runtime.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.name for node in ast.walk(tree)
                   if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        outside = {name for name in modules if not name.startswith("gradgen.runtime")}
        assert {name.split(".")[0] for name in outside} - set(sys.stdlib_module_names) <= {
            "numpy"}, path


def test_every_function_a_registry_entry_names_is_in_the_runtime() -> None:
    named = {entry.helper for entry in REGISTRY.values() if entry.helper}
    assert named and named <= runtime.FUNCTIONS.keys()


def test_the_interpreter_calls_the_runtime_functions() -> None:
    for name in ("logsumexp", "softmax", "log_softmax", "whole"):
        assert REGISTRY[name].impl is runtime.FUNCTIONS[f"_{name}"]
    values, like = RNG.normal(size=2), np.ones(5)
    index = (("slice", 1, 3, None),)
    np.testing.assert_array_equal(REGISTRY["scatter"].impl(values, like, index=index),
                                  runtime._scatter(values, (5,), np.s_[1:3]))
    np.testing.assert_array_equal(REGISTRY["add_at"].impl(like, values, index=index),
                                  np.ones(5) + np.r_[0.0, values, 0.0, 0.0])
    assert np.array_equal(like, np.ones(5))  # the interpreter's add_at adds into a copy


def test_the_generated_names_are_the_runtime_functions_and_numpy() -> None:
    assert GENERATED_GLOBALS == {"np", *runtime.FUNCTIONS}


def test_the_template_holds_no_runtime_function() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "def _" not in text and not any(f"def {name}(" in text for name in runtime.FUNCTIONS)


PROGRAMS = [
    "f(W: (d, k), X: (n, d)) = sum(softmax(X @ W, axis=1)) + sum(log_softmax(X))"
    " + sum(logsumexp(X, axis=1)) + sum(X[1:3])",
    "f(X: (n, d), Y: (m, d)) = sum(concat((X, Y^2), axis=0)^2)",
    "f(x: (n,), W: (2, n)) = W @ x",
    "def f(x: (n,), a, N: int):\n    s = a\n    for k in range(N):\n"
    "        for i in range(n):\n            s = s + x[i] * a\n    return s\n",
    "def f(x):\n    y = 3.0\n    if x > 2:\n        y = 2\n    return y * x\n",
    "f(lambda, x) = lambda * x",
]


def copied_functions(source: str) -> dict[str, str]:
    """The runtime functions a generated module defines, by name: their text."""
    tree = ast.parse(source)
    return {node.name: ast.get_source_segment(source, node) + "\n" for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in runtime.FUNCTIONS}


@pytest.fixture(scope="module")
def generated() -> list[str]:
    numba_target = compile_source("f(x, y) = sin(x) * y\n", "runtime.txt", target="numba")
    by_entries = compile_source("f(x: (n,)) = sum(x * x)\n", "runtime.txt", mode="forward")
    hessians = [compile_source(text, "runtime.txt", hessian=True, error_bound=True).source
                for text in ("f(x, y) = sin(x) * y\n", "f(x: (n,)) = sum(x * x)\n")]
    return ([compile_source(text, "runtime.txt").source for text in PROGRAMS]
            + [numba_target.source, by_entries.source, *hessians])


def test_the_generated_modules_carry_the_runtime_functions_by_their_source(generated) -> None:
    seen = set()
    for source in generated:
        for name, text in copied_functions(source).items():
            seen.add(name)
            expected = inspect.getsource(runtime.FUNCTIONS[name])
            if name == "_with_source_names":  # the module's renamed inputs are written in
                expected = expected.replace("(RENAMED)", "(lambda)").replace(
                    "= RENAMED", "= {'lambda': 'lambda_'}")
            assert text == expected
    assert seen == runtime.FUNCTIONS.keys()


def test_every_global_a_generated_module_reads_is_defined_in_it(generated) -> None:
    for source in generated:
        defined = {node.name for node in ast.parse(source).body
                   if isinstance(node, ast.FunctionDef)}
        pending, read = [symtable.symtable(source, "generated", "exec")], set()
        while pending:
            table = pending.pop()
            read |= {symbol.get_name() for symbol in table.get_symbols()
                     if symbol.is_global() and symbol.is_referenced()}
            pending += table.get_children()
        top = symtable.symtable(source, "generated", "exec")
        bound = {symbol.get_name() for symbol in top.get_symbols()
                 if symbol.is_assigned() or symbol.is_imported()}
        assert read - defined - bound - set(dir(builtins)) - {"__file__"} == set()


def test_a_whole_number_input_given_an_array_is_refused_in_words() -> None:
    module = compile_source("def f(x, N: int):\n    for i in range(N):\n        x = x * 2\n"
                            "    return x\n", "n.txt").load()
    with pytest.raises(ValueError, match="one whole number, got an array of shape \\(2,\\)"):
        module.gradient(1.0, np.array([2, 3]))

"""A generated module's own check (`runtime.check`): central differences along random
directions, the dot-product test between jvp and vjp, hvp's symmetry; tolerances from the
rounding estimate. It passes on every example and fails on a corrupted module."""

import types
from pathlib import Path

import pytest

from gradgen.pipeline import compile_source
from gradgen.tools.check import check, load_module_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SOURCES = sorted(EXAMPLES.glob("*.txt"))


def loaded(source: str) -> types.ModuleType:
    module = types.ModuleType("corrupted")
    exec(compile(source, "<corrupted>", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("path", SOURCES, ids=[path.stem for path in SOURCES])
def test_every_example_passes_its_own_check(path) -> None:
    result = compile_source(path).module.check(points=2, seed=1)
    assert result["passed"], result
    assert result["points"] == 2 and result["differences"][0] <= result["differences"][1]


@pytest.mark.parametrize("options", [{"mode": "forward"}, {"hessian": True}])
def test_the_dot_product_and_symmetry_tests_run_where_jvp_and_hvp_exist(options) -> None:
    result = compile_source(EXAMPLES / "rosenbrock.txt", **options).module.check()
    test = "dot_product" if "mode" in options else "symmetry"
    assert result["passed"] and result[test][0] <= result[test][1], result


def test_a_corrupted_gradient_fails_and_nothing_is_raised() -> None:
    source = compile_source(EXAMPLES / "lecture.txt").source
    assert "xp.cos(v4)" in source
    result = loaded(source.replace("xp.cos(v4)", "xp.sin(v4)")
                    .replace("math.cos(v4)", "math.sin(v4)")).check()
    assert not result["passed"]
    assert result["differences"][0] > result["differences"][1]


def test_a_corrupted_hvp_fails_its_symmetry() -> None:
    source = compile_source(EXAMPLES / "lecture.txt", hessian=True).source
    start = source.index("def hvp(")
    body = source[start:source.index("\ndef ", start + 1)]
    assert "y_bar_dot = " in body
    corrupted = body.replace("y_bar_dot = ", "y_bar_dot = 1.01 * ", 1)
    result = loaded(source.replace(body, corrupted)).check(2.0, -1.0, 0.5)
    assert not result["passed"] and result["symmetry"][0] > result["symmetry"][1]


def test_the_check_at_given_inputs_and_with_a_whole_number() -> None:
    module = compile_source(EXAMPLES / "bounce.txt", wrt="h0,v0,e,g").module
    assert module.check(1.0, 0.5, 0.8, 9.81, 0.01, 30)["points"] == 1
    assert module.check()["passed"]


def test_gradgen_check_runs_a_given_modules_own_check(tmp_path) -> None:
    path = tmp_path / "lecture.py"
    source = compile_source(EXAMPLES / "lecture.txt").source
    path.write_text(source, encoding="utf-8")
    result = check(EXAMPLES / "lecture.txt", points=5, module=load_module_file(str(path)))
    assert result.passed and "the module's own check" in result.compared_with


def test_a_linear_functions_hessian_is_checked_without_dividing_by_zero() -> None:
    """A zero Hessian is checked exactly (error and tolerance 0): the check raises nothing."""
    result = compile_source("f(x, y) = 2*x + y\n", "lin.txt", hessian=True).module.check()
    assert result["passed"] and result["symmetry"] == (0.0, 0.0)


def test_an_hvp_of_twice_the_values_fails_the_curvature_test() -> None:
    """Symmetry alone would pass 2 H v; the curvature test compares hvp with central
    differences of the gradient."""
    source = compile_source(EXAMPLES / "rosenbrock.txt", hessian=True).source
    corrupted = source.replace("return (x_bar_dot, y_bar_dot)",
                               "return (2 * x_bar_dot, 2 * y_bar_dot)")
    assert corrupted != source
    result = loaded(corrupted).check()
    assert not result["passed"] and result["curvature"][0] > result["curvature"][1]

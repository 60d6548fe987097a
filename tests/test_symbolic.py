"""The symbolic route: gradients derived by `sympy.diff` and converted back into IR.

- every registry primitive (ids are the primitive names, as in test_primitives.py), with and
  without CSE: the module printed from `symbolic_gradient_graph` agrees with the reverse-mode
  module on the value and every partial at the entry's sampled points, as floats and as arrays;
- the conventions of reverse mode (inputs, outputs, output names, ``wrt`` order);
- the SymPy → IR mapping, case by case, against SymPy's own numbers;
- without CSE nothing is shared; the converter takes a 2,000-deep tree without recursion;
- `count_operations` on hand-counted cases, and expression swell on the family
  x_{k+1} = sin(x_k*y + x_k^2): the tree count grows exponentially, reverse mode linearly.
"""

from __future__ import annotations

import functools
import math
import types

import numpy as np
import pytest
import sympy
from conftest import compile_cached, compile_module
from test_primitives import sample, source_text

from gradgen.cli import main
from gradgen.differentiate.symbolic import (
    count_operations,
    expressions_to_graph,
    symbolic_gradient,
    symbolic_gradient_graph,
)
from gradgen.emit.module import emit_module
from gradgen.errors import LimitError
from gradgen.ir.graph import Graph, Var
from gradgen.ir.interpret import interpret
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.verify import check
from gradgen.pipeline import Compiled, build_forward

LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"


@functools.cache
def symbolic_compiled(text: str, cse: bool) -> Compiled:
    """The module of ``text`` with its gradient by SymPy (cached; tests must not modify it)."""
    forward = compile_cached(text).forward
    graph = check(symbolic_gradient_graph(forward, cse=cse))
    return Compiled(forward, graph, emit_module(forward, graph, "t.txt", "gradgen compile t.txt"))


def symbolic_module(text: str, cse: bool) -> types.ModuleType:
    return symbolic_compiled(text, cse).load()


# ---- every primitive: SymPy's gradient agrees with reverse mode -----------------------------

@pytest.mark.parametrize("cse", [True, False], ids=["cse", "tree"])
@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.elementwise))
def test_primitive_gradient_agrees_with_reverse_mode(name: str, cse: bool) -> None:
    prim = REGISTRY[name]
    text = source_text(prim)
    module, reverse = symbolic_module(text, cse), compile_module(text)
    assert (module.INPUTS, module.WRT) == (reverse.INPUTS, reverse.WRT)
    columns = sample(prim)
    for point in zip(*columns):
        point = tuple(float(v) for v in point)
        value, partials = module.gradient(*point)
        assert type(value) is float and all(type(p) is float for p in partials)
        expected_value, expected_partials = reverse.gradient(*point)
        np.testing.assert_allclose([module.forward(*point), value, *partials],
                                   [expected_value, expected_value, *expected_partials],
                                   rtol=1e-12, atol=1e-300, err_msg=f"at {point}")
    value, partials = module.gradient(*columns)
    expected_value, expected_partials = reverse.gradient(*columns)
    np.testing.assert_allclose(np.array([value, *partials]),
                               np.array([expected_value, *expected_partials]), rtol=1e-12)


# ---- the conventions of reverse mode ---------------------------------------------------------

@pytest.mark.parametrize("cse", [True, False])
def test_gradient_graph_has_the_conventions_of_reverse_mode(cse: bool) -> None:
    forward = build_forward(LECTURE)
    graph = check(symbolic_gradient_graph(forward, cse=cse))
    assert graph.inputs == forward.inputs and graph.name == "f"
    assert graph.output_names == ("f", "x_bar", "y_bar", "z_bar")
    assert all(edge.origin is None for edge in graph.edges)
    module = symbolic_module(LECTURE, cse)
    assert module.f_gradient is module.gradient
    point = (0.3, -1.2, 0.7)
    np.testing.assert_allclose(np.array(module.gradient(*point), dtype=object)[1],
                               compile_module(LECTURE).gradient(*point)[1], rtol=1e-13)


@pytest.mark.parametrize("cse", [True, False])
def test_partials_follow_the_order_of_wrt(cse: bool) -> None:
    forward = build_forward(LECTURE)
    graph = check(symbolic_gradient_graph(forward, ("z", "x"), cse=cse))
    assert graph.output_names == ("f", "z_bar", "x_bar")
    point = (0.3, -1.2, 0.7)
    value, (dx, dy, dz) = compile_module(LECTURE).gradient(*point)
    np.testing.assert_allclose(interpret(graph, *point), (value, dz, dx), rtol=1e-13)


def test_without_cse_nothing_is_shared() -> None:
    forward = build_forward("f(x, y) = sin(x*y) + cos(x*y)")
    assert sum(edge.prim == "mul" for edge in forward.edges) == 1
    trees, shared = (symbolic_gradient_graph(forward, cse=cse) for cse in (False, True))
    products = [edge for edge in trees.edges if edge.prim == "mul" and
                {v.name for v in edge.inputs} == {"x", "y"}]
    # x*y in the value twice, in each partial twice: (y|x)*cos(x*y) - (y|x)*sin(x*y)
    assert len(products) == 6
    assert sum(edge.prim == "mul" and {v.name for v in edge.inputs} == {"x", "y"}
               for edge in shared.edges) == 1


def test_a_constant_function_has_zero_partials() -> None:
    forward = build_forward("f(x) = 2*pi")
    graph = check(symbolic_gradient_graph(forward))
    assert graph.edges == () and [v.value for v in graph.outputs] == [2 * math.pi, 0.0]


# ---- the SymPy → IR mapping -------------------------------------------------------------------

x, y = sympy.symbols("x y", real=True)

MAPPING = [  # expression, the primitives of its graph in order, a point (x, y)
    (x - 3 * y, ["mul", "sub"], (0.5, 2.0)),
    (-x - y, ["neg", "sub"], (0.5, 2.0)),
    (1 - x**2, ["pow", "sub"], (0.5, 2.0)),
    (x / y, ["div"], (0.5, 2.0)),
    (-x / y, ["div", "neg"], (0.5, 2.0)),
    (x / 2, ["div"], (0.5, 2.0)),
    (x / (2 * y), ["mul", "div"], (0.5, 2.0)),
    (x / y**2, ["pow", "div"], (0.5, 2.0)),
    (1 / x, ["div"], (0.5, 2.0)),
    (x**-2, ["pow", "div"], (0.5, 2.0)),
    (sympy.sqrt(x), ["sqrt"], (0.5, 2.0)),
    (1 / sympy.sqrt(x), ["sqrt", "div"], (0.5, 2.0)),
    (-2 / sympy.sqrt(x), ["sqrt", "div"], (0.5, 2.0)),
    (x ** sympy.Rational(1, 3), ["pow"], (0.5, 2.0)),
    (x**y, ["pow"], (0.5, 2.0)),
    (x**2.5, ["pow"], (0.5, 2.0)),
    (2 * sympy.pi * x, ["mul"], (0.5, 2.0)),
    (sympy.E * x + sympy.log(2), ["mul", "add"], (0.5, 2.0)),
    (sympy.exp(x) * sympy.log(y), ["exp", "log", "mul"], (0.5, 2.0)),
    (sympy.atan2(y, x), ["atan2"], (0.5, 2.0)),
    (sympy.cot(x) + sympy.sech(y), ["tan", "div", "cosh", "div", "add"], (0.5, 2.0)),
    (sympy.Max(x, y, 1), ["max", "max"], (0.5, 2.0)),
    (sympy.Abs(x) * sympy.sign(y), ["abs", "sign", "mul"], (-0.5, -2.0)),
    (sympy.Piecewise((x, x > 0), (y, x < -1), (0, True)), ["gt", "lt", "where", "where"],
     (-1.5, 2.0)),
    (sympy.Piecewise((x, (x > 0) & ((y < 0) | sympy.Not(sympy.Eq(x, y), evaluate=False))),
                     (y, True)), ["gt", "lt", "eq", "not", "or", "and", "where"], (0.5, 2.0)),
    (x * sympy.DiracDelta(x) + y + sympy.DiracDelta(y), [], (0.5, 2.0)),
]


@pytest.mark.parametrize("expr, prims, point", MAPPING, ids=[str(e) for e, _, _ in MAPPING])
def test_mapping(expr: sympy.Expr, prims: list[str], point: tuple[float, float]) -> None:
    graph = convert(expr)
    assert [edge.prim for edge in graph.edges] == prims
    expected = float(expr.subs({x: point[0], y: point[1]}))
    assert interpret(graph, *point)[0] == pytest.approx(expected, rel=1e-15)


def convert(expr: sympy.Basic, cse: bool = False) -> Graph:
    return check(expressions_to_graph("g", (Var("x"), Var("y")), (x, y), [expr], cse))


def test_pi_keeps_its_name_and_e_is_folded() -> None:
    (pi,) = [v for v in convert(sympy.pi * x).edges[0].inputs if v.is_const]
    assert pi.symbol == "pi" and pi.value == math.pi
    assert convert(sympy.E + 0 * x).outputs[0].value == math.e


@pytest.mark.parametrize("number, value", [(sympy.oo, math.inf), (-sympy.oo, -math.inf),
                                           (sympy.nan, math.nan), (sympy.zoo, math.nan),
                                           (sympy.I, math.nan), (sympy.Rational(1, 3), 1 / 3)])
def test_numbers(number: sympy.Expr, value: float) -> None:
    result = convert(number).outputs[0]
    assert result.is_const
    np.testing.assert_equal(result.value, value)


def test_piecewise_without_a_final_true_branch_is_nan_elsewhere() -> None:
    graph = convert(sympy.Piecewise((x, x > 0)))
    assert interpret(graph, 2.0, 0.0)[0] == 2.0 and math.isnan(interpret(graph, -2.0, 0.0)[0])


@pytest.mark.parametrize("expr, at_zero", [
    (sympy.Heaviside(x), 0.5),  # SymPy's default value at 0, kept in its second argument
    (sympy.Heaviside(x, 0), 0.0),
    (sympy.Heaviside(x, 1), 1.0),
])
def test_heaviside(expr: sympy.Expr, at_zero: float) -> None:
    graph = convert(expr)
    values = interpret(graph, np.array([-2.0, -0.0, 0.0, 3.0]), 0.0)[0]
    np.testing.assert_array_equal(values, [0.0, at_zero, at_zero, 1.0])


def test_max_ties_split_the_gradient_evenly() -> None:
    module = symbolic_module("f(x, y) = max(x, y)", cse=True)
    assert module.gradient(1.5, 1.5) == (1.5, (0.5, 0.5))
    assert module.gradient(2.0, 1.5) == (2.0, (1.0, 0.0))


@pytest.mark.parametrize("expr, kind", [
    (sympy.Derivative(sympy.Function("u")(x), x), "Derivative"),
    (sympy.Function("u")(x), "u"),
    (sympy.gamma(x + y), "gamma"),
    (sympy.Xor(x > 0, y > 0), "Xor"),
])
def test_what_cannot_be_converted_is_refused(expr: sympy.Basic, kind: str) -> None:
    """A SymPy form with no IR is a limit of the symbolic route (LimitError), not a bug."""
    with pytest.raises(LimitError, match=f"cannot convert SymPy's {kind}"):
        convert(sympy.Piecewise((x, expr), (y, True)) if expr.is_Boolean else expr)


# ---- depth -------------------------------------------------------------------------------------

def nested_sin(depth: int) -> sympy.Expr:
    """sin(sin(...(x))), built without evaluation (SymPy's evaluation recurses)."""
    expr = x
    for _ in range(depth):
        expr = sympy.sin(expr, evaluate=False)
    return expr


def test_the_converter_takes_a_deep_tree_without_recursion() -> None:
    depth = 2000
    expr = nested_sin(depth)
    graph = convert(expr)
    assert len(graph.edges) == depth == count_operations([expr])
    expected = 0.7
    for _ in range(depth):
        expected = math.sin(expected)
    assert interpret(graph, 0.7, 0.0)[0] == expected


@pytest.mark.parametrize("cse", [True, False])
def test_the_symbolic_route_below_sympys_depth_limit(cse: bool) -> None:
    # sympy.diff recurses: about 139 nested calls at the default recursion limit (SymPy 1.14)
    text = "f(x) = " + "sin(" * 100 + "x" + ")" * 100
    module = symbolic_module(text, cse)
    np.testing.assert_allclose(module.gradient(0.7)[1], compile_module(text).gradient(0.7)[1],
                               rtol=1e-12)


def test_too_deep_for_sympy_says_so() -> None:
    forward = build_forward("f(x) = " + "sin(" * 2000 + "x" + ")" * 2000)
    with pytest.raises(LimitError, match="nested too deeply for SymPy"):
        symbolic_gradient_graph(forward)


def test_expression_swell_past_the_limit_is_refused(monkeypatch, tmp_path, capsys) -> None:
    text = "def f(x, y):\n" + "    x = sin(x*y + x^2)\n" * 6 + "    return x\n"
    monkeypatch.setattr("gradgen.differentiate.symbolic.MAX_TREE_OPERATIONS", 1000)
    with pytest.raises(LimitError, match="expression swell"):
        symbolic_gradient_graph(build_forward(text), cse=False)
    assert symbolic_gradient_graph(build_forward(text), cse=True).edges  # CSE keeps it small
    source = tmp_path / "nested.txt"
    source.write_text(text, encoding="utf-8")
    assert main(["compile", str(source), "--method", "symbolic", "--no-cse"]) == 1
    assert "operations (more than 1,000 are not printed)" in capsys.readouterr().err
    assert not (tmp_path / "nested.py").exists()


# ---- counting operations and expression swell ------------------------------------------------

z = sympy.Symbol("z", real=True)

COUNTS = [  # expressions, as trees, with sharing
    ([x], 0, 0),
    ([sympy.Integer(3)], 0, 0),
    ([x * y + sympy.sin(x)], 3, 3),
    ([x * y * z], 2, 2),
    ([x**2 + 2 * x + 1], 4, 4),
    ([sympy.sin(x * y) + sympy.cos(x * y)], 5, 4),
    ([x * y, sympy.sin(x * y)], 3, 2),
    ([sympy.Piecewise((x, x > 0), (0, True))], 2, 2),
    ([sympy.Piecewise((x, x > 0), (y, y > 0))], 4, 4),
    ([sympy.Max(x, y, z) - x], 4, 4),
    ([sympy.exp(sympy.sin(x) * sympy.sin(x + 1)) / sympy.sin(x)], 8, 7),
]


@pytest.mark.parametrize("exprs, tree, shared", COUNTS, ids=[str(e) for e, _, _ in COUNTS])
def test_count_operations(exprs: list[sympy.Expr], tree: int, shared: int) -> None:
    assert count_operations(exprs, shared=False) == tree
    assert count_operations(exprs, shared=True) == shared


def test_count_operations_of_a_tree_too_big_to_walk() -> None:
    expr = x
    for _ in range(100):
        expr = sympy.sin(expr * y + expr**2, evaluate=False)
    assert count_operations([expr]) == 4 * (2**100 - 1)  # per level: mul add pow sin, twice
    assert count_operations([expr], shared=True) == 4 * 100


def family(k: int) -> str:
    """x_{k+1} = sin(x_k*y + x_k^2), k times, as a program."""
    return "\n".join(["def f(x, y):", "    a = x", *["    a = sin(a*y + a^2)"] * k,
                      "    return a"]) + "\n"


def test_expression_swell() -> None:
    trees, shared, reverse = [], [], []
    for k in range(1, 9):
        forward = build_forward(family(k))
        _, value, partials = symbolic_gradient(forward)
        trees.append(count_operations([value, *partials]))
        shared.append(count_operations([value, *partials], shared=True))
        reverse.append(len(compile_cached(family(k)).gradient.edges))
        if k == 8:  # no negative terms or quotients here: one edge per operation of the trees
            assert len(symbolic_gradient_graph(forward, cse=False).edges) == trees[-1]
    assert len(set(np.diff(reverse))) == 1 and len(set(np.diff(shared))) == 1  # linear
    assert all(after > 2 * before for before, after in zip(trees[2:], trees[3:]))
    assert trees[-1] > 200 * reverse[-1]

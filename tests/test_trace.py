"""Evaluation traces: the lecture notes' tables, row by row, against the notes' printed numbers
and the generated module's gradient.

Seed 004: f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5): v2 = ln 2 = 0.693, v3 = 10,
v4 = sin 5 = -0.959, v5 = 10.693, y = v6 = 11.652; df/dx1 = 5.5, df/dx2 = 1.716.
Seed 001: f(x, y, z) = z + sin(x^2 + y*exp(z)) at (2, -1, 0): 0.141, gradient (-3.96, -0.99,
1.99).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import compile_module

from gradgen.differentiate.reverse import reverse_mode
from gradgen.ir.graph import Graph, Var
from gradgen.ir.interpret import interpret
from gradgen.pipeline import build_forward
from gradgen.tools.graphviz import to_dot
from gradgen.tools.points import parse_point
from gradgen.tools.trace import (
    BAR,
    DOT,
    TraceRow,
    annotations,
    format_trace,
    format_value,
    forward_trace,
    lecture_order,
    number_nodes,
    reverse_trace,
    tangent_trace,
    trace_report,
)

TRACE = "f(x1, x2) = log(x1) + x1*x2 - sin(x2)\n"
TRACE_AT = {"x1": 2.0, "x2": 5.0}
LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"
LECTURE_AT = {"x": 2.0, "y": -1.0, "z": 0.0}


def gradient(text: str, point: dict[str, float]) -> tuple[float, tuple[float, ...]]:
    with np.errstate(all="ignore"):  # log(0) in the branch not taken
        value, partials = compile_module(text).gradient(*point.values())
    return float(value), tuple(float(p) for p in partials)


def by_label(rows: list[TraceRow]) -> dict[str, TraceRow]:
    return {row.label: row for row in rows}


# ---- the notes' trace example (seed 004) ----------------------------------------------------

def test_forward_trace_matches_the_notes():
    rows = forward_trace(build_forward(TRACE), TRACE_AT)
    assert [row.statement for row in rows] == [
        "v0 = x1", "v1 = x2", "v2 = log(v0)", "v3 = v0 * v1", "v4 = sin(v1)", "v5 = v2 + v3",
        "v6 = v5 - v4", "f = v6"]
    printed = [2, 5, 0.693, 10, -0.959, 10.693, 11.652, 11.652]  # as the notes print them
    assert [round(row.value, 3) for row in rows] == printed
    assert [format_value(row.value) for row in rows] == [str(p) for p in printed]
    # full precision is kept in the data
    values = by_label(rows)
    assert values["v2"].value == math.log(2.0)
    assert values["v4"].value == math.sin(5.0)
    assert values["f"].value == pytest.approx(gradient(TRACE, TRACE_AT)[0], abs=1e-12)
    assert values["v3"].numbers == "2 * 5"
    assert values["v6"].numbers == "10.693 - (-0.959)"


def test_reverse_trace_matches_the_notes_and_the_module():
    rows = reverse_trace(build_forward(TRACE), TRACE_AT)
    assert [row.statement for row in rows] == [
        f"v{BAR}6 = f{BAR}", f"v{BAR}5 = v{BAR}6", f"v{BAR}4 = -v{BAR}6", f"v{BAR}3 = v{BAR}5",
        f"v{BAR}2 = v{BAR}5", f"v{BAR}1 = v{BAR}3 * v0 + v{BAR}4 * cos(v1)",
        f"v{BAR}0 = v{BAR}2 * (1 / v0) + v{BAR}3 * v1", f"x{BAR}1 = v{BAR}0",
        f"x{BAR}2 = v{BAR}1"]
    assert [round(row.value, 3) for row in rows] == [1, 1, -1, 1, 1, 1.716, 5.5, 5.5, 1.716]
    _, (d1, d2) = gradient(TRACE, TRACE_AT)
    assert rows[-2].value == pytest.approx(d1, abs=1e-12)
    assert rows[-1].value == pytest.approx(d2, abs=1e-12)
    assert rows[-1].value == pytest.approx(5.0 * 1 + -1 * math.cos(5.0) - 3.0, abs=1e-12)


@pytest.mark.parametrize(("wrt", "index", "printed"), [("x1", 0, 5.5), ("x2", 1, 1.716)])
def test_tangent_trace_matches_the_notes_and_the_module(wrt, index, printed):
    rows = tangent_trace(build_forward(TRACE), TRACE_AT, wrt)
    assert rows[-1].statement == f"f{DOT} = v{DOT}6"
    assert round(rows[-1].value, 3) == printed
    assert rows[-1].value == pytest.approx(gradient(TRACE, TRACE_AT)[1][index], abs=1e-12)
    if wrt == "x1":  # the notes' forward derivative trace, row by row
        assert [round(row.value, 3) for row in rows] == [1, 0, 0.5, 5, 0, 5.5, 5.5, 5.5]
        assert by_label(rows)[f"v{DOT}3"].statement == f"v{DOT}3 = v{DOT}0 * v1 + v{DOT}1 * v0"
        assert by_label(rows)[f"v{DOT}3"].numbers == "1 * 5 + 0 * 2"


GOLDEN_TRACE = f"""\
Forward evaluation trace: f(2, 5)
v0 = x1 | 2
v1 = x2 | 5
v2 = log(v0) | log(2) = 0.693
v3 = v0 * v1 | 2 * 5 = 10
v4 = sin(v1) | sin(5) = -0.959
v5 = v2 + v3 | 0.693 + 10 = 10.693
v6 = v5 - v4 | 10.693 - (-0.959) = 11.652
f = v6 | 11.652

Forward derivative trace: ∂f/∂x1 at (x1=2, x2=5)
v{DOT}0 = x{DOT}1 | 1
v{DOT}1 = x{DOT}2 | 0
v{DOT}2 = v{DOT}0 * (1 / v0) | 1 * (1 / 2) = 0.5
v{DOT}3 = v{DOT}0 * v1 + v{DOT}1 * v0 | 1 * 5 + 0 * 2 = 5
v{DOT}4 = v{DOT}1 * cos(v1) | 0 * cos(5) = 0
v{DOT}5 = v{DOT}2 + v{DOT}3 | 0.5 + 5 = 5.5
v{DOT}6 = v{DOT}5 - v{DOT}4 | 5.5 - 0 = 5.5
f{DOT} = v{DOT}6 | 5.5

Reverse adjoint trace: ∇f at (x1=2, x2=5)
v{BAR}6 = f{BAR} | 1
v{BAR}5 = v{BAR}6 | 1
v{BAR}4 = -v{BAR}6 | -1
v{BAR}3 = v{BAR}5 | 1
v{BAR}2 = v{BAR}5 | 1
v{BAR}1 = v{BAR}3 * v0 + v{BAR}4 * cos(v1) | 1.716
v{BAR}0 = v{BAR}2 * (1 / v0) + v{BAR}3 * v1 | 5.5
x{BAR}1 = v{BAR}0 | 5.5
x{BAR}2 = v{BAR}1 | 1.716
"""


def test_formatted_trace_golden():
    text = trace_report(build_forward(TRACE), parse_point("x1=2,x2=5", ("x1", "x2")), "x1")
    assert text == GOLDEN_TRACE
    # the two examples, verbatim
    assert "v3 = v0 * v1 | 2 * 5 = 10\n" in text
    assert "v\u03041 = v\u03043 * v0 + v\u03044 * cos(v1) | 1.716\n" in text


def test_format_trace_layout():
    rows = [TraceRow("v3", "v3 = v0 * v1", "2 * 5", 10.0), TraceRow("v0", "v0 = x1", "", 2.0),
            TraceRow("v4", "v4 = -v3", "-10", -10.0)]
    assert format_trace(rows, "T") == "T\nv3 = v0 * v1 | 2 * 5 = 10\nv0 = x1 | 2\nv4 = -v3 | -10\n"


def test_start_gives_the_negative_numbering():
    forward = build_forward(TRACE)
    rows = forward_trace(forward, TRACE_AT, start=-1)
    assert [row.statement for row in rows[:4]] == ["v-1 = x1", "v0 = x2", "v1 = log(v-1)",
                                                   "v2 = v-1 * v0"]
    assert [round(row.value, 3) for row in rows[2:7]] == [0.693, 10, -0.959, 10.693, 11.652]
    adjoints = by_label(reverse_trace(forward, TRACE_AT, start=-1))
    assert adjoints[f"v{BAR}5"].statement == f"v{BAR}5 = f{BAR}"
    assert adjoints[f"v{BAR}0"].statement == f"v{BAR}0 = v{BAR}2 * v-1 + v{BAR}3 * cos(v0)"
    assert adjoints[f"x{BAR}1"].statement == f"x{BAR}1 = v{BAR}-1"
    tangents = tangent_trace(forward, TRACE_AT, "x1", start=-1)
    assert tangents[0].statement == f"v{DOT}-1 = x{DOT}1"


def test_layered_order_and_graph_order():
    forward = build_forward(TRACE)
    assert [edge.prim for edge in forward.edges] == ["log", "mul", "add", "sin", "sub"]
    assert [edge.prim for edge in lecture_order(forward)] == ["log", "mul", "sin", "add", "sub"]
    rows = forward_trace(forward, TRACE_AT, layered=False)
    assert rows[4].statement == "v4 = v2 + v3"
    assert reverse_trace(forward, TRACE_AT, layered=False)[-1].value == \
        reverse_trace(forward, TRACE_AT)[-1].value


# ---- the worked example of seed 001 ---------------------------------------------------------

def test_lecture_example():
    forward = build_forward(LECTURE)
    value, partials = gradient(LECTURE, LECTURE_AT)
    rows = forward_trace(forward, LECTURE_AT)
    assert [row.statement for row in rows[3:]] == [
        "v3 = v0 ^ 2", "v4 = exp(v2)", "v5 = v1 * v4", "v6 = v3 + v5", "v7 = sin(v6)",
        "v8 = v2 + v7", "f = v8"]
    assert format_value(rows[-1].value) == "0.141"
    assert rows[-1].value == pytest.approx(value, abs=1e-12)
    adjoints = reverse_trace(forward, LECTURE_AT)
    assert [format_value(row.value) for row in adjoints[-3:]] == ["-3.96", "-0.99", "1.99"]
    assert by_label(adjoints)[f"v{BAR}2"].statement == f"v{BAR}2 = v{BAR}4 * v4 + v{BAR}8"
    for row, partial in zip(adjoints[-3:], partials):
        assert row.value == pytest.approx(partial, abs=1e-12)
    for name, partial in zip(LECTURE_AT, partials):
        assert tangent_trace(forward, LECTURE_AT, name)[-1].value == pytest.approx(partial,
                                                                                   abs=1e-12)


# ---- against the generated module, more primitives ------------------------------------------

CASES = [
    ("f(x, y) = (x*x) / y - x^y + atan2(x, y) + max(x, y) * sign(x)", {"x": 1.5, "y": 2.5}),
    ("def g(x, y):\n    a = x*y\n    return a if a > 0 else -sqrt(-a)\n", {"x": 1.0, "y": -2.0}),
    ("f(x, y) = -(-x) - (x - y) / -y + log(x, 2) + pi*x + tanh(y)^2", {"x": 1.5, "y": 2.0}),
    ("f(x) = where(x > 0, log(x), 0) + x", {"x": 0.0}),  # the branch not taken adds 0, not NaN
    ("f(x, y) = x", {"x": 3.0, "y": 1.0}),
    ("f(x) = 3", {"x": 3.0}),
]


@pytest.mark.parametrize(("text", "point"), CASES)
def test_traces_agree_with_the_module(text, point):
    forward = build_forward(text)
    value, partials = gradient(text, point)
    assert forward_trace(forward, point)[-1].value == pytest.approx(value, abs=1e-12)
    rows = reverse_trace(forward, point)
    assert len(rows) == len({row.label for row in rows})
    gradient_rows = rows[-len(point):]
    assert [row.label for row in gradient_rows] == [name[0] + BAR + name[1:] for name in point]
    for row, partial in zip(gradient_rows, partials):
        assert row.value == pytest.approx(partial, abs=1e-12, rel=1e-12)
        assert not math.isnan(row.value)
    for name, partial in zip(point, partials):
        assert tangent_trace(forward, point, name)[-1].value == pytest.approx(
            partial, abs=1e-12, rel=1e-12)
    format_trace(rows, "R")


def test_masked_branch_shows_zero():
    forward = build_forward("f(x) = where(x > 0, log(x), 0) + x")
    rows = by_label(reverse_trace(forward, {"x": 0.0}))
    assert rows[f"v{BAR}0"].statement == f"v{BAR}0 = v{BAR}2 * (1 / v0) + v{BAR}4"
    assert rows[f"v{BAR}0"].value == 1.0
    assert rows[f"v{BAR}2"].value == 0.0


# ---- Graphviz annotation --------------------------------------------------------------------

PLAIN_DOT = """\
digraph "f" {
    rankdir=LR;
    node [fontname="Helvetica"];
    v3 [shape=ellipse, label="x1", style=bold];
    v4 [shape=ellipse, label="x2", style=bold];
    op0 [shape=box, label="log"];
    v3 -> op0;
    v7 [shape=ellipse, label="v1"];
    op0 -> v7;
    op1 [shape=box, label="*"];
    v3 -> op1;
    v4 -> op1;
    v12 [shape=ellipse, label="v2"];
    op1 -> v12;
    op2 [shape=box, label="+"];
    v7 -> op2;
    v12 -> op2;
    v17 [shape=ellipse, label="v3"];
    op2 -> v17;
    op3 [shape=box, label="sin"];
    v4 -> op3;
    v21 [shape=ellipse, label="v4"];
    op3 -> v21;
    op4 [shape=box, label="-"];
    v17 -> op4 [label=1];
    v21 -> op4 [label=2];
    v26 [shape=ellipse, label="f", peripheries=2];
    op4 -> v26;
}
"""


def test_dot_annotations():
    forward = build_forward(TRACE)
    assert to_dot(forward) == PLAIN_DOT
    assert to_dot(forward, None, None) == PLAIN_DOT
    values, adjoints = annotations(forward, TRACE_AT)
    dot = to_dot(forward, values, adjoints)
    assert f'label="x1\\n= 2\\nx{BAR}1 = 5.5", style=bold' in dot
    assert f'label="x2\\n= 5\\nx{BAR}2 = 1.716", style=bold' in dot
    assert f'label="v2\\n= 10\\nv{BAR}2 = 1"' in dot
    assert f'label="f\\n= 11.652\\nf{BAR} = 1", peripheries=2' in dot
    assert dot.replace(dot[dot.index("label="):], "") == PLAIN_DOT.replace(
        PLAIN_DOT[PLAIN_DOT.index("label="):], "")  # same nodes and arrows before the labels
    labelled = to_dot(forward, values, adjoints, labels=number_nodes(forward).labels)
    assert f'label="v3\\n= 10\\nv{BAR}3 = 1"' in labelled
    assert f'label="v6\\n= 11.652\\nv{BAR}6 = 1", peripheries=2' in labelled
    # the adjoints are those of the reverse trace
    trace = {row.var: row.value for row in reverse_trace(forward, TRACE_AT)[:-2]}
    assert trace == adjoints


# ---- scale ----------------------------------------------------------------------------------

def test_ten_thousand_deep_chain():
    depth = 10_000
    forward = build_forward("f(x, y) = " + "sin(" * depth + "x*y" + ")" * depth)
    assert len(forward.edges) == depth + 1
    point = {"x": 0.5, "y": 1.5}
    expected = interpret(reverse_mode(forward), 0.5, 1.5)
    rows = forward_trace(forward, point)
    assert rows[-1].statement == f"f = v{depth + 2}"
    assert rows[-1].value == pytest.approx(float(expected[0]), abs=1e-15)
    adjoints = reverse_trace(forward, point)
    assert adjoints[-2].value == float(expected[1])
    assert adjoints[-1].value == float(expected[2])
    tangent = tangent_trace(forward, point, "y")
    assert tangent[-1].value == pytest.approx(float(expected[2]), rel=1e-12)
    text = format_trace(adjoints, "R")
    assert text.count("\n") == len(adjoints) + 1


def test_wide_graph_by_hand():
    """A graph built directly: many uses of one input, summed in one long row."""
    from gradgen.ir.builder import GraphBuilder

    builder = GraphBuilder()
    x = Var("x")
    total = builder.sin(x)
    for k in range(1, 2000):
        total = builder.add(total, builder.mul(x, builder.const(float(k))))
    forward = Graph("f", (x,), tuple(builder.edges), (total,))
    (row,) = [r for r in reverse_trace(forward, {"x": 0.25}) if r.label == f"x{BAR}"]
    assert row.value == pytest.approx(math.cos(0.25) + sum(range(2000)), rel=1e-12)


# ---- numbers and errors ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (11.652071455223084, "11.652"), (1.7163378145367738, "1.716"), (5.5, "5.5"), (10.0, "10"),
    (-0.9589242746631385, "-0.959"), (0.0, "0"), (-0.0, "0"), (0.1411200080598672, "0.141"),
    (-3.9599699864017817, "-3.96"), (0.012344, "0.01234"), (1.234e-05, "1.234e-05"),
    (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan"), (True, "true"),
    (np.False_, "false"), (0.99996, "1")])
def test_format_value(value, text):
    assert format_value(value) == text


def test_errors():
    forward = build_forward(TRACE)
    with pytest.raises(ValueError, match="no value for input 'x2'"):
        forward_trace(forward, {"x1": 2.0})
    with pytest.raises(ValueError, match="'x3' is not an input"):
        reverse_trace(forward, {"x1": 2.0, "x2": 5.0, "x3": 1.0})
    with pytest.raises(ValueError, match="'y' is not an input"):
        tangent_trace(forward, TRACE_AT, "y")
    assert parse_point(" x1 = 2, x2=-5e-1 ", ("x1", "x2")) == {"x1": 2.0, "x2": -0.5}
    for bad, message in [("x1", "NAME=NUMBER"), ("x1=a", "not a number"),
                         ("x1=1,x1=2", "twice")]:
        with pytest.raises(ValueError, match=message):
            parse_point(bad, ("x1",))

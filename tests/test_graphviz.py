"""Pictures (`gradgen graph`): the program's own names, loops as clusters with their body,
arrays with their shape, values at a point on the gradient graph too; read back from the DOT
text the way Graphviz reads it (a node belongs to the clusters it is declared in)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gradgen.ir.printing import format_graph
from gradgen.pipeline import build_forward, build_gradient, compile_source
from gradgen.tools.graphviz import to_dot
from gradgen.tools.trace_values import point_values

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NODE = re.compile(r'^(\w+) \[(.*)\];$')
ARROW = re.compile(r'^(\w+) -> (\w+)(?: \[(.*)\])?;$')
ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\s]+)')


@dataclass
class Picture:
    """A DOT text read back: nodes (id → attributes), arrows, clusters (label → node ids)."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    arrows: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, set[str]] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)  # cluster -> enclosing one
    member: dict[str, str | None] = field(default_factory=dict)  # node -> innermost cluster

    def label(self, node: str) -> str:
        return self.nodes[node]["label"]

    def values(self, cluster: str | None = None) -> dict[str, str]:
        """The value nodes' labels (first line: the name) → id, in ``cluster`` or at the top."""
        return {self.label(node).split("\n")[0]: node for node, attributes in self.nodes.items()
                if attributes["shape"] == "ellipse" and self.member[node] == cluster}

    def into(self, node: str) -> list[str]:
        return [start for start, end, _ in self.arrows if end == node]


def read(dot: str) -> Picture:
    """Nodes, arrows and clusters; a cluster is known by its label (``#2`` on a repeated one)."""
    picture = Picture()
    open_clusters: list[str] = []
    for line in dot.splitlines()[1:-1]:
        text = line.strip()
        if text.startswith(("rankdir=", "node [", "style=", "fontname=")):
            continue  # the picture's and the clusters' settings
        if text.startswith("subgraph cluster_"):
            open_clusters.append("")
        elif text == "}":
            open_clusters.pop()
        elif text.startswith("label=") and open_clusters:
            name = _unquote(text.removeprefix("label=").rstrip(";"))
            name += f" #{len(picture.clusters) + 1}" if name in picture.clusters else ""
            picture.clusters[name] = set()
            picture.parents[name] = open_clusters[-2] if len(open_clusters) > 1 else None
            open_clusters[-1] = name
        elif ARROW.match(text):
            start, end, attributes = ARROW.match(text).groups()
            picture.arrows.append((start, end, _attributes(attributes or "")))
        elif NODE.match(text):
            node, attributes = NODE.match(text).groups()
            picture.nodes[node] = _attributes(attributes)
            picture.member[node] = open_clusters[-1] if open_clusters else None
            for cluster in open_clusters:
                picture.clusters[cluster].add(node)
    return picture


def _attributes(text: str) -> dict[str, str]:
    return {key: _unquote(value) for key, value in ATTRIBUTE.findall(text)}


def _unquote(value: str) -> str:
    if not value.startswith('"'):
        return value
    return value[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def picture_of(text: str, gradient: bool = False) -> Picture:
    graph = build_forward(text, straight_line=True)
    return read(to_dot(build_gradient(graph) if gradient else graph))


# ---- names ----------------------------------------------------------------------------------

PROGRAM = "def f(x, y):\n    a = x * y\n    c = sin(a) + cos(x) * y\n    return c * a + exp(y)\n"


def test_values_carry_the_programs_names_and_the_generated_codes_numbers():
    picture = picture_of(PROGRAM)
    names = set(picture.values())
    assert {"x", "y", "a", "c", "f"} <= names
    forward = compile_source(PROGRAM).source.split("def forward")[1].split("\ndef ")[0]
    assigned = set(re.findall(r"^    (\w+) = ", forward, re.M)) - {"xp"}  # xp: the namespace
    assert names - {"x", "y"} == assigned  # v1 = np.sin(a) ... as the module computes them
    assert picture.nodes[picture.values()["f"]]["peripheries"] == "2"
    assert picture.nodes[picture.values()["x"]]["style"] == "bold"


def test_the_lecture_graph_of_seed_000():
    picture = read(to_dot(build_forward((EXAMPLES / "graph_e.txt").read_text())))
    values = picture.values()
    assert set(values) == {"a", "b", "r", "s", "e", "1"}
    adds = [node for node, a in picture.nodes.items() if a.get("label") == "+"]
    assert sorted(picture.into(values["r"])) == [adds[0]]
    assert sorted(picture.into(adds[0])) == sorted([values["a"], values["b"]])


def test_gradient_names_number_temporaries_as_the_module_does():
    forward = build_forward(PROGRAM, straight_line=True)
    gradient = build_gradient(forward)
    picture = read(to_dot(gradient))
    printed = set(re.findall(r"^    (\w+): ", format_graph(gradient), re.M))
    assert set(picture.values()) == printed | {"x", "y"}
    assert {"a_bar", "x_bar", "x_bar_2", "t1", "t7"} <= printed
    assert picture.nodes[picture.values()["x_bar_2"]]["peripheries"] == "2"


# ---- loops ----------------------------------------------------------------------------------

def test_a_loop_is_a_cluster_around_its_body():
    picture = read(to_dot(build_forward((EXAMPLES / "bounce.txt").read_text(),
                                        straight_line=True)))
    assert list(picture.clusters) == ["for s in range(N)"]
    outside = picture.values()
    inside = picture.values("for s in range(N)")
    assert {"h0", "v0", "e", "g", "dt", "N", "h"} <= set(outside)
    assert {"s", "v", "h_2"} <= set(inside)  # the loop variable and what a step starts from
    assert "h" not in inside and "s" not in outside
    assert sorted(picture.into(inside["s"])) == sorted([outside["N"], outside["0"]])
    assert picture.into(inside["v"]) == [outside["v0"]]
    assert picture.into(inside["h_2"]) == [outside["h0"]]
    (last,) = picture.into(outside["h"])  # the last step's height, out of the cluster
    assert picture.member[last] == "for s in range(N)"
    assert picture.nodes[last]["peripheries"] == "2"
    # the body reads dt where it is drawn, outside (g only through g * dt, computed once before
    # the loop); no box for the loop or its results
    assert any(start == outside["dt"] and picture.member[end] == "for s in range(N)"
               for start, end, _ in picture.arrows)
    assert not any(start == outside["g"] and picture.member[end] == "for s in range(N)"
                   for start, end, _ in picture.arrows)
    assert not {"loop", "item"} & {a.get("label") for a in picture.nodes.values()}
    dashed = [arrow for arrow in picture.arrows if arrow[2].get("style") == "dashed"]
    assert len(dashed) == 5  # 0 and N to s, v0 to v, h0 to h_2, the last h out


NESTED = """\
def f(x, N: int):
    y = x
    for i in range(N):
        for j in range(i):
            y = y * x + j
    return y
"""


def test_nested_loops_are_nested_clusters():
    picture = picture_of(NESTED)
    assert picture.parents == {"for i in range(N)": None, "for j in range(i)": "for i in range(N)"}
    inner = picture.values("for j in range(i)")
    assert {"j"} <= set(inner)
    assert picture.into(inner["j"]) and all(
        picture.member[start] == "for i in range(N)" or picture.label(start) == "0"
        for start in picture.into(inner["j"]))
    assert picture.clusters["for j in range(i)"] < picture.clusters["for i in range(N)"]
    labels = [picture.label(node).split("\n")[0] for node in picture.nodes
              if picture.nodes[node]["shape"] == "ellipse" and picture.label(node) != "0"]
    assert len(labels) == len(set(labels))  # no two values alike


def test_a_gradient_with_tapes():
    """The recording loop fills tapes that the reverse loop reads back, value by value."""
    picture = picture_of((EXAMPLES / "bounce.txt").read_text(), gradient=True)
    assert list(picture.clusters) == ["for s in range(N)", "for s in range(N) #2"]
    tapes = {name: node for name, node in picture.values().items() if name.startswith("tape_")}
    assert tapes
    for node in tapes.values():
        (recorded,) = picture.into(node)
        assert picture.member[recorded] is not None
        reads = [end for start, end, _ in picture.arrows if start == node]
        assert reads and all(picture.member[end] is not None for end in reads)
        assert picture.label(reads[0]) == picture.label(recorded)  # read back by its name
    assert {"h0_bar", "v0_bar"} <= set(picture.values())


# ---- arrays ---------------------------------------------------------------------------------

def test_arrays_show_their_shape():
    picture = picture_of("def f(W: (n, d), x: (d,), c):\n    z = W @ x\n    return sum(z * c)\n")
    values = picture.values()
    assert picture.label(values["W"]) == "W\n(n, d)"
    assert picture.label(values["x"]) == "x\n(d,)"
    assert picture.label(values["z"]) == "z\n(n,)"
    assert picture.label(values["c"]) == "c"  # a number has no shape line
    assert picture.label(values["f"]) == "f"


# ---- values at a point ----------------------------------------------------------------------

def test_gradient_graph_annotated_at_a_point():
    forward = build_forward("f(x1, x2) = log(x1) + x1*x2 - sin(x2)\n", straight_line=True)
    gradient = build_gradient(forward)
    picture = read(to_dot(gradient, point_values(gradient, {"x1": 2.0, "x2": 5.0})))
    values = picture.values()
    assert picture.label(values["x1"]) == "x1\n= 2"
    assert picture.label(values["f"]) == "f\n= 11.652"
    assert picture.label(values["x1_bar"]) == "x1_bar\n= 5.5"
    assert picture.label(values["x2_bar"]) == "x2_bar\n= 1.716"
    assert picture.nodes[values["x2_bar"]]["peripheries"] == "2"


def test_deep_programs_draw_without_recursion():
    depth = 10_000
    picture = picture_of("f(x) = " + "sin(" * depth + "x" + ")" * depth)
    assert sum(a["shape"] == "box" for a in picture.nodes.values()) == depth


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("name", ["bounce", "euler", "perceptron", "hmm"])
def test_graphviz_reads_the_pictures(name):
    text = (EXAMPLES / f"{name}.txt").read_text()
    for gradient in (False, True):
        graph = build_forward(text, straight_line=True)
        dot = to_dot(build_gradient(graph) if gradient else graph)
        subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True)

"""The IR verifier (`verify`) and the check of emission's names (`name_check`): each finds the
fault it is for, with a message that says where; and the examples pass both without falling
back from shared names (their code keeps reading like the source)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_control_flow_regressions import SWAP

import gradgen.emit.emissions as emit_blocks
from gradgen.emit.emissions import check_names, program_names
from gradgen.emit.name_check import NameCollision
from gradgen.errors import InternalError
from gradgen.ir.builder import as_params
from gradgen.ir.graph import Edge, Graph, Var
from gradgen.ir.primitives.loops import loop_params
from gradgen.ir.verify import verify
from gradgen.pipeline import compile_source

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.txt"))


def swap_loop() -> tuple[Graph, Edge]:
    compiled = compile_source(SWAP)
    loop = compiled.forward.edges[0]
    assert loop.prim == "loop"
    return compiled.forward, loop


def test_the_names_of_a_swap_pass_the_check_and_a_shared_name_fails_it() -> None:
    graph, loop = swap_loop()
    names = program_names(graph, frozenset())
    check_names(graph, names)
    body = dict(loop.params)["body"]
    u_in, v_in = body.inputs[1:]
    names[v_in] = names[u_in]  # u and v under one name: the loop reads v as u
    with pytest.raises(NameCollision, match="holds"):
        check_names(graph, names)


def test_a_value_after_a_loop_under_a_name_the_loop_overwrites_fails_the_check() -> None:
    graph = compile_source("def f(x, N: int):\n    y = x * 2\n    for i in range(N):\n"
                           "        x = x * 3\n    return x + y\n").forward
    names = program_names(graph, frozenset())
    check_names(graph, names)
    y = next(edge.output for edge in graph.edges if edge.output.name == "y")
    carried = dict(next(e for e in graph.edges if e.prim == "loop").params)["body"].inputs[1]
    names[y] = names[carried]
    with pytest.raises(NameCollision, match="nothing|holds"):
        check_names(graph, names)


def test_a_collision_gives_the_value_read_a_name_of_its_own(monkeypatch) -> None:
    calls = []
    real = emit_blocks.check_names
    graph, loop = swap_loop()
    u_in = dict(loop.params)["body"].inputs[1]

    def fail_first(graph, names, placeholders=False):
        calls.append(dict(names))
        if len(calls) == 1:
            raise NameCollision("first", u_in)
        real(graph, names, placeholders)

    monkeypatch.setattr(emit_blocks, "check_names", fail_first)
    names = program_names(graph, frozenset())
    assert len(calls) == 2
    assert names[u_in] != calls[0][u_in] and names[u_in] not in calls[0].values()


def test_names_fall_back_to_one_per_node_where_collisions_go_on(monkeypatch) -> None:
    graph, loop = swap_loop()
    u_in = dict(loop.params)["body"].inputs[1]
    calls = []

    def always(graph, names, placeholders=False):
        calls.append(dict(names))
        if len(calls) <= emit_blocks.RENAMES:
            raise NameCollision("again", u_in)

    monkeypatch.setattr(emit_blocks, "check_names", always)
    names = program_names(graph, frozenset())
    assert len(calls) == emit_blocks.RENAMES + 1
    assert len(set(names.values())) >= len(set(calls[0].values()))


def test_verify_accepts_the_examples_and_their_gradients() -> None:
    for path in EXAMPLES:
        compiled = compile_source(path.read_text("utf-8"), str(path))
        verify(compiled.forward)
        verify(compiled.derivative)


@pytest.mark.parametrize("checkpoint", [None, 1, "sqrt"])
def test_the_examples_keep_shared_names(checkpoint, monkeypatch) -> None:
    """The check never rejects the names the examples are given (so their code reads like
    the source: one name for a carried variable before, in and after its loop)."""
    rejected = []

    def recording(graph, names, placeholders=False):
        try:
            check_names(graph, names, placeholders)
        except NameCollision as error:
            rejected.append(str(error))
            raise

    monkeypatch.setattr(emit_blocks, "check_names", recording)
    for path in EXAMPLES:
        text = path.read_text("utf-8")
        if checkpoint is not None and "for " not in text:
            continue
        compile_source(text, str(path), checkpoint=checkpoint)
    assert rejected == []


def test_verify_finds_an_output_of_the_wrong_shape() -> None:
    x = Var("x", ("n",))
    wrong = Var("y", ())
    graph = Graph("f", (x,), (Edge("sin", (x,), (wrong,)),), (wrong,))
    with pytest.raises(InternalError, match=r"bad edge 0 of f: its output has shape \(\)"):
        verify(graph)


def test_verify_finds_a_carried_value_that_changes_shape_in_a_body() -> None:
    x, w, n = Var("x", ()), Var("w", (3,)), Var("N", (), "int")
    i, inner, w_in = Var("i", (), "int"), Var("x", ()), Var("w", (3,))
    body = Graph("f_loop", (i, inner, w_in), (), (w_in,))  # x becomes w, of shape (3,)
    loop = Edge("loop", (Var(None, (), "float", 0.0), n, x, w), (Var("x", ()),),
                as_params(loop_params(body, 1, 0, 0)))
    with pytest.raises(InternalError, match="carried value"):
        verify(Graph("f", (x, w, n), (loop,), (x,)))


def test_verify_finds_a_block_with_more_outputs_than_results() -> None:
    graph, loop = swap_loop()
    bad = Edge("loop", loop.inputs, (*loop.outputs, Var("w", ())), loop.params)
    broken = graph.replace(edges=(bad, *graph.edges[1:]))
    with pytest.raises(InternalError, match="it has 3 outputs for 2 results"):
        verify(broken)


def test_verify_finds_a_block_output_of_the_wrong_shape() -> None:
    graph, loop = swap_loop()
    bad = Edge("loop", loop.inputs, (loop.outputs[0], Var("w", (3,))), loop.params)
    broken = graph.replace(edges=(bad,), outputs=bad.outputs[:1])
    with pytest.raises(InternalError, match=r"result 1 has shape \(\), its output \(3,\)"):
        verify(broken)


def test_verify_finds_a_use_before_definition_inside_a_body() -> None:
    i, inner, stray = Var("i", (), "int"), Var("x", ()), Var("stray", ())
    out = Var("y", ())
    body = Graph("f_loop", (i, inner), (Edge("add", (inner, stray), (out,)),), (out,))
    x, n = Var("x", ()), Var("N", (), "int")
    loop = Edge("loop", (Var(None, (), "float", 0.0), n, x), (Var("x", ()),),
                as_params(loop_params(body, 1, 0, 0)))
    with pytest.raises(InternalError, match="f_loop.*used before it is defined"):
        verify(Graph("f", (x, n), (loop,), (x,)))

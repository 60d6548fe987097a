"""gradgen in notebooks and libraries (issue 15, point 5): each module has its own name and
its own lines in tracebacks, cached modules pickle by reference, `Compiled` displays richly,
and `gradgen.trace`, `ir_text` and `graph` give what the commands print."""

from __future__ import annotations

import pickle
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

import gradgen
from gradgen.cli import main

LECTURE = Path(__file__).parent.parent / "examples" / "lecture.txt"


def last_line(call) -> traceback.FrameSummary:
    """The innermost frame of the error that ``call()`` raises."""
    with pytest.raises(Exception) as raised:
        call()
    return traceback.extract_tb(raised.value.__traceback__)[-1]


def test_two_modules_in_one_process_show_their_own_lines() -> None:
    first = gradgen.compile_source("def f(x: (n,)):\n    return sum(log(x))\n").module
    second = gradgen.compile_source("def g(x: (n,)):\n    return sum(sqrt(x))\n").module
    assert first.__name__.startswith("gradgen_f_") and second.__name__.startswith("gradgen_g_")
    with np.errstate(all="raise"):
        in_first = last_line(lambda: first.forward(np.array([-1.0])))
        in_second = last_line(lambda: second.forward(np.array([-1.0])))
    assert in_first.filename == f"<gradgen {first.__name__}>" and "xp.log" in in_first.line
    assert in_second.filename == f"<gradgen {second.__name__}>" and "xp.sqrt" in in_second.line


def test_a_cached_modules_functions_pickle_by_reference(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRADGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRADGEN_CACHE", raising=False)

    def loss(x, y):
        return x * np.sin(y)

    module = gradgen.compile_function(loss)
    data = pickle.dumps(module.gradient)
    assert pickle.loads(data) is module.gradient
    # another process imports the module by name, from the cache folder on its sys.path
    program = ("import pickle, sys; sys.path.append(sys.argv[1]); "
               "print(pickle.loads(sys.stdin.buffer.read())(2.0, 0.0))")
    result = subprocess.run([sys.executable, "-c", program, str(tmp_path)], input=data,
                            capture_output=True, check=True)
    assert result.stdout.decode().strip() == "(0.0, (0.0, 2.0))"


def test_a_module_in_memory_does_not_pretend_to_pickle() -> None:
    module = gradgen.compile_source("f(x) = x^2").module
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(module.gradient)


def test_compiled_shows_what_it_is() -> None:
    compiled = gradgen.compile_source(LECTURE, hessian=True)
    line = repr(compiled)
    assert line.startswith("<gradgen.Compiled f(x, y, z): reverse mode, with hvp, ")
    assert line.endswith(f"module {compiled.module.__name__}>")

    shown = []
    compiled._repr_pretty_(type("P", (), {"text": lambda self, t: shown.append(t)})(), False)
    assert shown == [line]


def test_compiled_as_html_with_and_without_pygments(monkeypatch) -> None:
    pytest.importorskip("pygments")
    compiled = gradgen.compile_source("f(x, y) = where(x < y, x, y)")
    assert "<span" in compiled._repr_html_()
    monkeypatch.setitem(sys.modules, "pygments", None)  # as if it were not installed
    page = compiled._repr_html_()
    assert "<pre>" in page and "<span" not in page and "x &lt; y" in page


def printed(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_trace_ir_and_graph_give_what_the_commands_print(capsys) -> None:
    assert gradgen.trace(LECTURE, at="x=2,y=5,z=1") == printed(
        capsys, "trace", str(LECTURE), "--at", "x=2,y=5,z=1")
    assert gradgen.trace(LECTURE, at={"x": 2, "y": 5, "z": 1}, forward="x") == printed(
        capsys, "trace", str(LECTURE), "--at", "x=2,y=5,z=1", "--forward", "x")
    assert gradgen.ir_text(LECTURE) == printed(capsys, "ir", str(LECTURE))
    assert gradgen.ir_text(LECTURE, grad=True, wrt="x") == printed(capsys, "ir", str(LECTURE),
                                                               "--grad", "--wrt", "x")
    text = LECTURE.read_text()
    for options, argv in (({}, ()), ({"grad": True}, ("--grad",)),
                          ({"at": "x=2,y=5,z=1"}, ("--at", "x=2,y=5,z=1")),
                          ({"grad": True, "at": "x=2,y=5,z=1"}, ("--grad", "--at", "x=2,y=5,z=1"))):
        assert gradgen.graph(text, **options) == printed(capsys, "graph", str(LECTURE), *argv)


def test_they_display_richly() -> None:
    table = gradgen.trace("f(x, y) = where(x < y, x, y)", at="x=1,y=2")
    assert table._repr_html_().startswith("<pre>") and "&lt;" in table._repr_html_()
    picture = gradgen.graph("f(x, y) = x * y")
    svg = picture._repr_svg_()
    assert svg is None or "<svg" in svg  # SVG where Graphviz's dot is installed


def test_a_bad_point_is_a_value_error_naming_the_inputs() -> None:
    with pytest.raises(ValueError, match="y"):
        gradgen.trace("f(x, y) = x * y", at={"x": 1.0})

"""`gradgen compare` and `gradgen check`: every route side by side, and a gradient tested.

On every example the routes must agree (reverse, forward and SymPy to about 1e-12 relative,
central differences to about 1e-6); `check` passes on every example and fails, with exit
status 1, on a deliberately broken module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import scalar_examples

import gradgen
from gradgen.cli import main

EXAMPLES = scalar_examples()
LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_compare_agrees_on_every_example(path: Path) -> None:
    comparison = gradgen.compare(path.read_text(encoding="utf-8"), str(path), batch=100)
    for route in ("forward", "symbolic"):
        assert comparison.largest_rel_difference[route] < 1e-12, route
    assert comparison.largest_rel_difference["central"] < 1e-6
    operations = {cost.route: cost.operations for cost in comparison.costs}
    assert operations["reverse-mode gradient"] <= 3 * operations["forward program"]
    assert all(cost.call_seconds > 0 for cost in comparison.costs)


def test_compare_at_the_lecture_point() -> None:
    comparison = gradgen.compare(LECTURE, at={"x": 2.0, "y": -1.0, "z": 0.0}, batch=100)
    values = {q.name: q.values for q in comparison.quantities}
    assert values["f"]["reverse"] == pytest.approx(0.1411200080598672, rel=1e-15)
    assert values["df/dx"]["symbolic"] == pytest.approx(-3.9599699864017817, rel=1e-14)
    assert values["df/dz"]["central"] == pytest.approx(1.9899924966004454, rel=1e-8)
    operations = {cost.route: cost.operations for cost in comparison.costs}
    assert operations["forward program"] == 6
    jvp_program = gradgen.compile_source(LECTURE, mode="forward").derivative
    assert operations["forward-mode gradient"] == 3 * len(jvp_program.edges)  # a sweep per input
    assert operations["symbolic gradient, no CSE"] > operations["symbolic gradient, CSE"]


def test_compare_command_prints_tables_and_json(tmp_path, capsys) -> None:
    source = tmp_path / "lecture.txt"
    source.write_text(LECTURE, encoding="utf-8")
    assert main(["compare", str(source), "--at", "x=2,y=-1,z=0", "--batch", "50"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("f at x=2, y=-1, z=0\n")
    assert "0.1411200080598672" in text and "largest difference from reverse mode" in text
    assert "symbolic gradient, no CSE" in text
    assert main(["compare", str(source), "--at", "x=2,y=-1,z=0", "--batch", "50",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["point"] == {"x": 2.0, "y": -1.0, "z": 0.0}
    assert data["quantities"][1]["values"]["forward"] == pytest.approx(-3.9599699864017817)
    assert {cost["route"] for cost in data["costs"]} >= {"reverse-mode gradient",
                                                         "forward-mode gradient"}


@pytest.mark.parametrize("at", ["x=2,y=-1", "x=2,y=-1,z=0,w=1", "x=2,y=-1,z=zero",
                                "x=1,x=2,y=0,z=0"])
def test_compare_bad_point_is_usage(tmp_path, capsys, at) -> None:
    source = tmp_path / "lecture.txt"
    source.write_text(LECTURE, encoding="utf-8")
    assert main(["compare", str(source), "--at", at]) == 2
    assert "--at" in capsys.readouterr().err


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_check_passes_on_every_example(path: Path, capsys) -> None:
    assert main(["check", str(path), "--points", "20"]) == 0
    assert capsys.readouterr().out.startswith("ok: gradient of")


def test_check_fails_on_a_broken_module(tmp_path, capsys) -> None:
    source = tmp_path / "lecture.txt"
    source.write_text(LECTURE, encoding="utf-8")
    assert main(["compile", str(source)]) == 0
    module = tmp_path / "lecture.py"
    text = module.read_text(encoding="utf-8")
    broken = tmp_path / "broken.py"
    broken.write_text(text.replace("v4_bar = xp.cos(v4)", "v4_bar = xp.sin(v4)"), "utf-8")
    assert main(["check", str(source), "--module", str(module), "--points", "10"]) == 0
    capsys.readouterr()
    assert main(["check", str(source), "--module", str(broken), "--points", "10"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("MISMATCH: gradient of f against central differences and SymPy")
    assert "worst relative error" in out


def test_check_api_returns_data() -> None:
    result = gradgen.check("f(x) = sqrt(x) + log(x)", points=30, tolerance=1e-7)
    assert result.passed and result.points == 30
    assert result.worst_error < 1e-7
    assert result.compared_with == ["central differences", "SymPy"]


def test_compare_reports_a_declined_symbolic_route(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr("gradgen.differentiate.symbolic.MAX_TREE_OPERATIONS", 10)
    comparison = gradgen.compare(LECTURE, at={"x": 2.0, "y": -1.0, "z": 0.0}, batch=10)
    costs = {cost.route: cost for cost in comparison.costs}
    assert costs["symbolic gradient, no CSE"].operations is None
    assert costs["symbolic gradient, CSE"].operations is not None
    assert len(comparison.notes) == 1 and "expression swell" in comparison.notes[0]
    assert comparison.largest_rel_difference["symbolic"] < 1e-12  # the CSE route still ran
    source = tmp_path / "lecture.txt"
    source.write_text(LECTURE, encoding="utf-8")
    assert main(["compare", str(source), "--at", "x=2,y=-1,z=0", "--batch", "10"]) == 0
    assert "note: symbolic: without CSE" in capsys.readouterr().out

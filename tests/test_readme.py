"""The README's promises: its interactive example runs as printed, its commands exist."""

from __future__ import annotations

import doctest
import re
import shutil
import sys
from pathlib import Path

import pytest

from gradgen.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_interactive_example_prints_what_the_readme_shows(tmp_path, monkeypatch):
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "lecture.txt", tmp_path / "examples")
    assert main(["compile", str(tmp_path / "examples" / "lecture.txt")]) == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the example inserts "examples"
    monkeypatch.delitem(sys.modules, "lecture", raising=False)
    block = re.search(r"```pycon\n(.*?)```", README, re.S).group(1)
    test = doctest.DocTestParser().get_doctest(block, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted >= 5


def test_second_order_example_prints_what_the_readme_shows(tmp_path, monkeypatch):
    shutil.copy(REPO / "examples" / "rosenbrock.txt", tmp_path)
    assert main(["compile", str(tmp_path / "rosenbrock.txt"), "--hessian"]) == 0
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "rosenbrock", raising=False)
    block = re.findall(r"```pycon\n(.*?)```", README, re.S)[1]
    test = doctest.DocTestParser().get_doctest(block, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted == 4


def test_setup_and_test_commands_are_what_ci_runs():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for command in ('pip install -e ".[test]"', "python -m pytest"):
        assert f"    {command}\n" in README
        assert command in ci


def test_generated_code_shown_is_what_gradgen_writes(tmp_path):
    shutil.copy(REPO / "examples" / "lecture.txt", tmp_path)
    assert main(["compile", str(tmp_path / "lecture.txt")]) == 0
    shown = re.search(r"```python\n(def gradient.*?)```", README, re.S).group(1)
    assert shown in (tmp_path / "lecture.py").read_text(encoding="utf-8")


def how_it_works_modules() -> set[str]:
    """The files the README's "How it works" table maps to a stage: a cell's first path is
    written whole (`gradgen/ir/graph.py`), the ones after it name files of the same folder."""
    section = README.split("## How it works")[1].split("\n## ")[0]
    mapped = set()
    for row in re.findall(r"^\|.*\| (`gradgen/.*)\|$", section, re.M):
        folder = ""
        for name in re.findall(r"`([^`]+)`", row):
            if "/" in name.rstrip("/"):
                folder = name.rsplit("/", 1)[0]
                mapped.add(name)
            else:
                mapped.add(f"{folder}/{name}")
    return mapped


def test_how_it_works_maps_every_module_to_its_stage():
    files = {path.relative_to(REPO).as_posix() for path in (REPO / "gradgen").rglob("*.py")}
    modules = {name for name in files if not name.endswith("__init__.py")}
    mapped = how_it_works_modules()
    assert sorted(modules - mapped) == []  # a module the README does not place
    assert sorted(name for name in mapped - files if name.endswith(".py")) == []  # gone


@pytest.mark.parametrize("example, options, first", [
    ("hmm.txt", [], "    v2 = log_A.T"),
    ("bounce.txt", ["--wrt", "h0,v0,e,g"], "    for s in range(N):"),
    ("rosenbrock.txt", ["--hessian"], "def hvp(x, y, tangents):"),
])
def test_program_excerpts_are_what_gradgen_writes(tmp_path, example, options, first):
    """An excerpt's lines (but ``...`` and the README's own ``#`` notes) are lines of the
    generated module, in the same order, and the lines between two ``...`` follow each other
    there as they do in the excerpt."""
    shutil.copy(REPO / "examples" / example, tmp_path)
    assert main(["compile", str(tmp_path / example), *options]) == 0
    generated = (tmp_path / example.replace(".txt", ".py")).read_text(encoding="utf-8")
    shown = re.search(r"```python\n(" + re.escape(first) + r".*?)```", README, re.S).group(1)
    lines, start = generated.splitlines(), 0
    for run in excerpt_runs(shown):
        found = (i for i in range(start, len(lines)) if lines[i:i + len(run)] == run)
        start = next(found, None)
        assert start is not None, run
        start += len(run)


def excerpt_runs(shown: str) -> list[list[str]]:
    """The runs of code lines an excerpt shows between its ``...`` lines (the README's own
    ``#`` notes dropped)."""
    runs: list[list[str]] = [[]]
    for line in shown.splitlines():
        code = re.sub(r"\s{2,}#(?! grad of| tangent of).*$", "", line)
        if code.strip() == "...":
            runs.append([])
        else:
            runs[-1].append(code)
    return [run for run in runs if run]

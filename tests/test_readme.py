"""The README's promises: its interactive example runs as printed, its commands exist."""

from __future__ import annotations

import doctest
import re
import shutil
import sys
from pathlib import Path

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

"""Packaging: the license is MIT, said as the standards say (a LICENSE file, an SPDX
expression), and the sdist carries what its tests and examples need."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: What the sdist may leave out of the files git tracks.
NOT_SHIPPED = {".gitignore"}


def test_license_is_mit_as_an_spdx_expression_with_its_file():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) the gradgen developers\n")


def tracked_files() -> set[str]:
    """The files git tracks in this checkout (the test is skipped outside one)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode()
    return {name for name in listed.split("\0") if name and (REPO / name).exists()}


@pytest.mark.skipif(importlib.util.find_spec("build.__main__") is None,
                    reason="needs the 'build' package (pip install -e '.[test]')")
def test_sdist_carries_the_tests_their_golden_files_and_the_examples(tmp_path):
    tracked = tracked_files()
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path),
                    str(REPO)], check=True, capture_output=True, cwd=tmp_path)
    (archive,) = tmp_path.glob("gradgen-*.tar.gz")
    with tarfile.open(archive) as sdist:
        shipped = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert sorted(tracked - NOT_SHIPPED - shipped) == []
    assert {"LICENSE", "tests/conftest.py", "tests/golden/lecture_module.py.txt",
            "examples/lecture.txt"} <= shipped
    built = {path.name for path in (REPO / "examples").glob("*.py")} - {
        Path(name).name for name in tracked}
    assert not {f"examples/{name}" for name in built} & shipped  # build outputs stay out


def test_examples_gitignore_lists_every_example_module():
    """``gradgen compile examples/NAME.txt`` writes NAME.py beside it: a build output, that git
    (and the sdist's file list) leave out."""
    ignored = set((REPO / "examples" / ".gitignore").read_text(encoding="utf-8").splitlines())
    modules = {f"/{path.stem}.py" for path in (REPO / "examples").glob("*.txt")}
    assert sorted(modules - ignored) == []

"""The package's shape: no import cycle anywhere in `gradgen/`, each stage imports only the
stages below it, and every module imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gradgen"

#: The stages from the bottom up; a module belongs to the longest prefix that names it. Inside
#: the IR, the graph (and its shapes' dimensions) is below the registry's machinery, which is
#: below the primitives' entries, which are below the IR's tools: the registry is a leaf.
LAYERS = (
    ("gradgen.errors", "gradgen.version", "gradgen.runtime"),
    ("gradgen.ir.graph", "gradgen.ir.dims"),
    ("gradgen.ir.registry",),
    ("gradgen.ir.primitives",),
    ("gradgen.ir",),
    ("gradgen.frontend",),
    ("gradgen.differentiate",),
    ("gradgen.emit",),
    ("gradgen.pipeline",),
    ("gradgen.tools",),
    ("gradgen.cli", "gradgen.__main__", "gradgen"),
)


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & modules.keys()


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports(path, modules) - {name} for name, path in modules.items()}


def layer(module: str) -> int:
    """The position of ``module``'s stage in `LAYERS`."""
    matches = [(len(prefix), position) for position, prefixes in enumerate(LAYERS)
               for prefix in prefixes if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} belongs to no stage of LAYERS"
    return max(matches)[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, with a stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, successors = work[-1]
            step = next(successors, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = stack[stack.index(node):]
                del stack[stack.index(node):]
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_each_stage_imports_only_stages_below_it():
    upward = [f"{module} imports {target}" for module, targets in import_graph().items()
              for target in sorted(targets) if layer(target) > layer(module)]
    assert upward == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks one child per module")
def test_every_module_imports_alone():
    """Each module in a fresh interpreter of its own (the third-party libraries preloaded)."""
    names = sorted(name for name in module_names() if name != "gradgen.__main__")
    script = (
        "import os, sys, importlib, numpy, sympy, jinja2\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except BaseException as error:\n"
        "            print(name, repr(error)); os._exit(1)\n"
        "        os._exit(0)\n"
        "    if os.waitpid(pid, 0)[1]:\n"
        "        failed.append(name)\n"
        "print('failed:', failed)\n"
        "sys.exit(bool(failed))\n")
    result = subprocess.run([sys.executable, "-c", script, *names], capture_output=True,
                            text=True, cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compiling_and_the_command_line_never_import_sympy():
    """SymPy (half a second to import) is for the symbolic route, compare and the tests: the
    registry's SymPy functions are looked up at their first call (`late_sympy`)."""
    script = ("import sys\n"
              "from gradgen.cli import main\n"
              "from gradgen.pipeline import compile_source\n"
              "compile_source('def f(x: (n,), W: (n, n)):\\n    return sum(tanh(W @ x))\\n')\n"
              "compile_source('def f(x, N: int):\\n    for i in range(N):\\n"
              "        x = sin(x)\\n    return x\\n', mode='reverse', checkpoint='sqrt')\n"
              "assert 'sympy' not in sys.modules, 'sympy was imported'\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr

"""The shape of gradgen's own code: median function length, the longest modules and classes.

    python benchmarks/code_shape.py [FOLDER]

A function's length counts its lines from ``def`` to its last line, docstring included (and
"code only" without docstrings, comments and blank lines). The issue's targets: median at most
5 lines, no module over 500 lines, no class over 250.
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path


def functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def code_lines(node: ast.AST, lines: list[str]) -> int:
    """Lines of ``node`` that hold code (no docstring, comment or blank line)."""
    body = getattr(node, "body", [])
    skip = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for number in range(node.lineno, node.end_lineno + 1)
               if number not in skip and lines[number - 1].strip()
               and not lines[number - 1].strip().startswith("#"))


def main(folder: str = "gradgen") -> None:
    lengths, code, modules, classes = [], [], [], []
    for path in sorted(Path(folder).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        modules.append((len(lines), str(path)))
        for node in functions(tree):
            lengths.append(node.end_lineno - node.lineno + 1)
            code.append(code_lines(node, lines))
        classes += [(node.end_lineno - node.lineno + 1, f"{path}:{node.name}")
                    for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    print(f"{len(lengths)} functions: median {statistics.median(lengths)} lines "
          f"({statistics.median(code)} counting code only)")
    print("modules over 500 lines:", [f"{p} ({n})" for n, p in sorted(modules) if n > 500])
    print("classes over 250 lines:", [f"{p} ({n})" for n, p in sorted(classes) if n > 250])
    print("longest modules:", ", ".join(f"{p} {n}" for n, p in sorted(modules)[-5:]))


if __name__ == "__main__":
    main(*sys.argv[1:])

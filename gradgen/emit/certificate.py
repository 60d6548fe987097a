"""Emission, the certificate a module carries: its cost (operation counts by kind, the
gradient/forward ratio against the cheap-gradient bound, tape and peak memory, from
`gradgen.ir.cost`) and its kinks (where the source takes a one-sided gradient, by
file:line:col), as the header docstring's paragraph and as the ``COST`` constant.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import textwrap
from collections.abc import Callable
from typing import Any

import gradgen.runtime as runtime
from gradgen.emit.lines import LINE_WIDTH
from gradgen.errors import Source
from gradgen.frontend.lexer import END, NAME, NEWLINE, OP, tokenize
from gradgen.ir import cost
from gradgen.ir.graph import Graph

#: The cheap-gradient bound: a gradient by reverse mode costs at most 5 times the function in
#: operation counts (Griewank & Walther, "Evaluating derivatives", 2008, section 4.6).
CHEAP_GRADIENT_BOUND = 5

#: The gradient's choice at each kind of kink, by the name the source calls.
KINK_CALLS = {
    "abs": "abs'(0) = 1",
    "relu": "relu'(0) = 0",
    "max": "a tie sends the gradient to the first argument (of an array: shared by ties)",
    "maximum": "a tie sends the gradient to the first argument",
    "min": "a tie sends the gradient to the first argument (of an array: shared by ties)",
    "minimum": "a tie sends the gradient to the first argument",
    "amax": "tied entries share the gradient",
    "amin": "tied entries share the gradient",
    "sign": "sign'(x) = 0: its jump at 0 has no gradient",
    "where": "the gradient follows the side selected, none flows through the condition",
}
COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
BRANCH_KEYWORDS = frozenset({"if", "elif", "while"})
#: Maps a line and column of the compiled text to the user's file (see `kinks`).
Positions = Callable[[int, int], tuple[int, int]]


def kinks(source: str, filename: str, positions: Positions | None = None) -> list[str]:
    """``file:line:col: what`` of each place in ``source`` where the gradient is one-sided: the
    calls of `KINK_CALLS` and every comparison (a branch's or a selection's side); ``positions``
    maps a place of ``source`` to the user's file (a Python function's source, translated)."""
    tokens = list(itertools.takewhile(lambda token: token.kind != END,
                                      tokenize(Source(filename, source))))
    found, keyword = [], None
    for token, following in zip(tokens, [*tokens[1:], None]):
        keyword = token.text if token.text in BRANCH_KEYWORDS else keyword
        keyword = None if token.kind == NEWLINE else keyword
        what = _kink(token, following, keyword)
        if what:
            line, col = (token.line, token.col) if positions is None else positions(
                token.line, token.col)
            found.append(f"{filename}:{line}:{col}: {what}")
    return found


def _kink(token: Any, following: Any, keyword: str | None) -> str | None:
    """What kink ``token`` makes (a call of `KINK_CALLS`, a comparison), or None."""
    if token.kind == NAME and token.text in KINK_CALLS and following and following.text == "(":
        return f"{token.text}: {KINK_CALLS[token.text]}"
    if token.kind == OP and token.text in COMPARISONS:
        where = "a branch" if keyword in BRANCH_KEYWORDS else "a selection"
        return f"{token.text} decides {where}: on the boundary the gradient takes one side"
    return None


def costs(forward: Graph, derivative: Graph, hvp: Graph | None, derivative_name: str
          ) -> dict[str, Any]:
    """The certificate's data: counts by kind (formulas) per function, the ratio of the
    derivative's operations to the forward's (at every named size `cost.LARGE`) beside the
    bound, the tape's bytes per loop step and the peak live bytes of the derivative."""
    graphs = {"forward": forward, derivative_name: derivative, **({"hvp": hvp} if hvp else {})}
    counts = {name: cost.operations(graph) for name, graph in graphs.items()}
    totals = {name: cost.at_large(cost.added(*kinds.values())) for name, kinds in counts.items()}
    ratio = round(totals[derivative_name] / max(totals["forward"], 1), 2)
    return {"operations": {name: {kind: cost.text(f) for kind, f in kinds.items() if f}
                           for name, kinds in counts.items()},
            "ratio": ratio, "bound": CHEAP_GRADIENT_BOUND,
            "tape_bytes_per_step": {steps: cost.text(size)
                                    for steps, size in cost.tape_bytes(derivative)},
            "peak_bytes": {name: cost.text(cost.peak_bytes(graph))
                           for name, graph in graphs.items()},
            "whole_inputs": [var.name for var in forward.inputs if var.dtype == "int"]}


def certificate(forward: Graph, derivative: Graph, hvp: Graph | None, derivative_name: str,
                filename: str, positions: Positions | None = None) -> dict[str, Any]:
    """The template's ``cost_lines`` (the docstring's paragraphs), ``cost`` (the ``COST``
    literal's text) and ``check`` (the sources of `runtime.check` and what it calls)."""
    data = costs(forward, derivative, hvp, derivative_name)
    data["kinks"] = kinks(forward.source, filename, positions) if forward.source else []
    return {"cost_lines": _paragraphs(data, derivative_name), "cost": _literal(data),
            "check": [_source(name) for name in CHECK_FUNCTIONS]}


#: The runtime functions of a module's own check: its section, `runtime.self_check`.
CHECK_FUNCTIONS = [name for name, value in runtime.FUNCTIONS.items()
                   if value.__module__ == runtime.self_check.__name__]


@functools.cache
def _source(name: str) -> str:
    return inspect.getsource(runtime.FUNCTIONS[name])


def _paragraphs(data: dict[str, Any], derivative_name: str) -> list[str]:
    """The docstring's Cost and Kinks paragraphs, wrapped at the line width."""
    lines = ["Cost (operation counts of the graphs: a loop counts its body per step times its",
             "steps, a branch its costlier side; named sizes as in the shapes):"]
    for name, kinds in data["operations"].items():
        counts = "; ".join(f"{kind} {formula}" for kind, formula in kinds.items()) or "none"
        lines += _wrapped(f"{name}: {counts}")
    lines += _wrapped(f"{derivative_name}/forward: {data['ratio']} in operations (every named "
                      f"size {cost.LARGE}; cheap-gradient bound: {data['bound']})")
    for steps, size in data["tape_bytes_per_step"].items():
        lines += _wrapped(f"tape per loop step: {size} bytes, over {steps} steps")
    peaks = "; ".join(f"{name} {size}" for name, size in data["peak_bytes"].items())
    lines += _wrapped(f"peak live memory in bytes (inputs aside): {peaks}")
    return lines + ["", *_kink_lines(data["kinks"])]


def _kink_lines(found: list[str]) -> list[str]:
    if not found:
        return ["Kinks: none (no place where the gradient is one-sided)."]
    lines = ["Kinks (the gradient is one-sided, a subgradient, at these places):"]
    return lines + [line for kink in found for line in _wrapped(kink)]


def _wrapped(line: str) -> list[str]:
    """A line of the paragraph, indented by 4 and wrapped (continued lines by 8)."""
    return textwrap.wrap(line, LINE_WIDTH, initial_indent="    ", subsequent_indent="        ",
                         break_on_hyphens=False)


def _literal(data: dict[str, Any]) -> str:
    """``COST``'s dict literal, one entry a line, strings split within the line width."""
    lines = ["{"]
    for key, value in data.items():
        if isinstance(value, dict) and value:
            lines += [f"    {key!r}: {{", *_entries(value, 8), "    },"]
        elif isinstance(value, list) and value:
            lines += [f"    {key!r}: (", *(f"        {text!r}," for text in value), "    ),"]
        else:
            lines.append(f"    {key!r}: {tuple(value) if isinstance(value, list) else value!r},")
    return "\n".join([*lines, "}"])


def _entries(mapping: dict[str, Any], indent: int) -> list[str]:
    """The entries of a nested dict, each a line (a nested dict: its own lines)."""
    pad, lines = " " * indent, []
    for key, value in mapping.items():
        if isinstance(value, dict):
            lines += [f"{pad}{key!r}: {{", *_entries(value, indent + 4), f"{pad}}},"]
        else:
            lines += _string_entry(f"{pad}{key!r}: ", value, pad)
    return lines


def _string_entry(head: str, value: str, pad: str) -> list[str]:
    """``'key': 'value',`` or, if too long, the value as adjacent strings in parentheses."""
    if len(head) + len(repr(value)) < LINE_WIDTH:
        return [f"{head}{value!r},"]
    pieces = textwrap.wrap(value, LINE_WIDTH - len(pad) - 8, drop_whitespace=False)
    return [f"{head}(", *(f"{pad}    {piece!r}" for piece in pieces), f"{pad}),"]

"""Tools stage: how the trace tables are written, as the lecture notes write them.

Numbers as the notes print them (``11.652``, ``-0.959``, ``1.234e-05``), the names of adjoints
(``v̄3``) and tangents (``v̇3``), and operations in infix notation with only the parentheses that
precedence needs (``v̄2 * (1 / v0)``, ``10.693 - (-0.959)``). A printed expression is a `Text`:
the text and the precedence of its outermost operation, so that an enclosing one knows whether
to wrap it. `expressions` writes every node of a small graph (one edge's derivative) this way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from itertools import accumulate, takewhile

import numpy as np

from gradgen.frontend.parse_precedence import COMPARISON, NOT, POWER, UNARY
from gradgen.frontend.parse_precedence import PRECEDENCE as LEVELS
from gradgen.ir.graph import Graph, Var
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.printing import format_number

BAR = "\u0304"  # combining macron: v̄, the adjoint
DOT = "\u0307"  # combining dot above: v̇, the tangent

Value = float | bool
#: A printed expression and the precedence of its outermost operation.
Text = tuple[str, int]
#: How a node is written where it is not computed in the expression: by name or by number.
Leaf = Callable[[Var], Text]

ATOM = POWER + 1  # a name, a number, a call: never wrapped
#: Prefix operations: their symbol, their precedence, and the precedence below which their
#: operand is wrapped ('-' wraps another '-' too: ``-(-x)``, not ``--x``).
_PREFIX = {"neg": ("-", UNARY, UNARY + 1), "not": ("not ", NOT, NOT)}
#: How tightly each infix operation binds, as the parser reads it (the front end's one table),
#: by the registry's name of the operation; each operation's symbol is the registry's too.
PRECEDENCE = {name: LEVELS["binary", entry.operator] for name, entry in REGISTRY.items()
              if entry.arity == 2 and ("binary", entry.operator) in LEVELS}


# ---- numbers and names -----------------------------------------------------------------------

def format_value(value: Value) -> str:
    """A number as the notes print it: ``11.652``, ``1.716``, ``5.5``, ``10``, ``-0.959``.

    Three decimals (trailing zeros dropped) from 0.1 up; four significant digits below
    (``0.01234``, ``1.234e-05``); ``true``/``false`` for a condition.
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    number = float(value)
    if not math.isfinite(number):
        return "nan" if math.isnan(number) else "inf" if number > 0 else "-inf"
    return _finite(number)


def _finite(number: float) -> str:
    if number == 0:
        return "0"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    if 0.1 <= abs(number) < 1e15:
        text = f"{number:.3f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    return f"{number:.4g}"


def _marked(name: str, mark: str) -> str:
    """``name`` with a combining ``mark`` on the last letter of its leading letters:
    ``v3`` → ``v̄3``, ``x1`` → ``x̄1``, ``f`` → ``f̄``."""
    end = len(list(takewhile(str.isalpha, name))) or len(name)
    return name[:end] + mark + name[end:]


def barred(name: str) -> str:
    """The adjoint's name: ``v3`` → ``v̄3``."""
    return _marked(name, BAR)


def dotted(name: str) -> str:
    """The tangent's name: ``v3`` → ``v̇3``."""
    return _marked(name, DOT)


def _signed(text: str) -> Text:
    """A number or constant; a negative one binds loosest (``10.693 - (-0.959)``)."""
    return text, (0 if text.startswith("-") else ATOM)


def leaf_number(value: Value) -> Text:
    """A value written as a number."""
    return _signed(format_value(value))


def by_name(labels: dict[Var, str]) -> Leaf:
    """Nodes written by their trace labels, constants by their symbol or value."""
    return lambda var: constant_text(var) if var.is_const else (labels[var], ATOM)


def constant_text(var: Var) -> Text:
    """A constant as the source writes it: ``pi``, ``2``, ``0.5``, ``-1``."""
    if var.symbol:
        return var.symbol, ATOM
    value = var.value
    return _signed(format_number(value) if math.isfinite(value) else format_value(value))


def by_number(values: dict[Var, Value]) -> Leaf:
    """Nodes and constants written as their numbers."""
    return lambda var: leaf_number(var.value if var.is_const else values[var])


# ---- operations ------------------------------------------------------------------------------

def render(prim: str, operands: list[Text]) -> Text:
    """One operation on already printed operands, parenthesised by precedence."""
    if prim in PRECEDENCE:
        return _infix(prim, *operands)
    if prim in _PREFIX:
        return _prefix(prim, operands[0])
    return f"{prim}({', '.join(text for text, _ in operands)})", ATOM


def _infix(prim: str, left: Text, right: Text) -> Text:
    """``a op b``, each operand parenthesised where `_wraps` says."""
    wrap_left, wrap_right = _wraps(prim, left[1], right[1])
    symbol = REGISTRY[prim].operator
    return f"{_wrapped(left, wrap_left)} {symbol} {_wrapped(right, wrap_right)}", PRECEDENCE[prim]


def _wraps(prim: str, left: int, right: int) -> tuple[bool, bool]:
    """Whether operands of precedence `left` and `right` need parentheses around them: ``^``
    associates to the right, comparisons not at all, the rest to the left."""
    prec = PRECEDENCE[prim]
    if prim == "pow":
        return left <= prec, right < prec
    return left < prec or (prec == COMPARISON and left == COMPARISON), right <= prec


def _prefix(prim: str, operand: Text) -> Text:
    """``-a`` or ``not a``, the operand parenthesised below the level `_PREFIX` gives."""
    symbol, level, wrapped_below = _PREFIX[prim]
    return symbol + _wrapped(operand, operand[1] < wrapped_below), level


def _wrapped(operand: Text, wrap: bool) -> str:
    return f"({operand[0]})" if wrap else operand[0]


def expressions(graph: Graph, leaves: dict[Var, Text], leaf: Leaf) -> dict[Var, Text]:
    """Every node that ``graph``'s edges compute, written as an expression over ``leaves``
    (nodes whose text is given; any other operand is written by ``leaf``). In order, so
    without recursion."""
    texts = dict(leaves)
    for edge in graph.edges:
        if edge.output not in texts:
            texts[edge.output] = render(edge.prim, [texts[var] if var in texts else leaf(var)
                                                    for var in edge.inputs])
    return texts


def join_terms(terms: Iterable[str]) -> str:
    """``a + b``, with ``a + -b`` written ``a - b``."""
    terms = list(terms)
    return "".join(terms[:1] + [_joined(term) for term in terms[1:]])


def _joined(term: str) -> str:
    """`` + b`` after the first term, or `` - b`` for ``-b`` (but not for ``-(a) * b``)."""
    if term.startswith("-") and (not term.startswith("-(") or _closes_at_end(term[1:])):
        return " - " + term[1:]
    return " + " + term


def _closes_at_end(text: str) -> bool:
    """Whether ``text`` is one parenthesised group: ``(a + b)``, not ``(a) * (b)``."""
    depths = accumulate((char == "(") - (char == ")") for char in text)
    closed = next((index for index, depth in enumerate(depths) if depth == 0), None)
    return closed == len(text) - 1

"""Parser, operator precedence (text → syntax): how tightly each operator binds, in one table.

`PRECEDENCE` is read by the expression parser (its `INFIX` rules are derived from it) and may be
read by any printer of expressions that must put parentheses where the parser needs them.

Precedence, loosest first (as in LANGUAGE.md, and as in Python)::

    a if c else b       right-associative: the else part may be another conditional
    a or b
    a and b
    not a
    < <= > >= == !=     non-associative: 'a < b < c' is an error that suggests the 'and'
    a + b, a - b
    a * b, a / b, a @ b
    -a, +a              unary plus leaves no item
    a ^ b, a ** b       right-associative; binds tighter than a unary minus on its left
                        (-x^2 is -(x^2)), and its exponent may start with one (2^-x)
    x.T, x[i, j:k]      postfix, tightest of all: they apply to the operand just completed
                        (-X.T^2 is -((X.T)^2), 2^x[1] is 2^(x[1]), f(x)[0], X.T[0], x[0][1])
"""

from __future__ import annotations

# The levels, loosest first. An open group on the operator stack has GROUP, below every
# operator, so that popping "everything that binds at least this tightly" stops at the innermost
# open group.
GROUP, CONDITIONAL, OR, AND, NOT, COMPARISON, SUM, PRODUCT, UNARY, POWER = range(10)

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")

#: The level of each operator, keyed by the ``(kind, text)`` of its `syntax.Item`: an operator
#: applies before the looser ones around it. The postfix '.T' and '[...]' have no level: they
#: apply at once to the operand just completed.
PRECEDENCE: dict[tuple[str, str], int] = {
    ("cond", "if"): CONDITIONAL,
    ("binary", "or"): OR,
    ("binary", "and"): AND,
    ("unary", "not"): NOT,
    **{("binary", op): COMPARISON for op in COMPARISONS},
    ("binary", "+"): SUM,
    ("binary", "-"): SUM,
    ("binary", "*"): PRODUCT,
    ("binary", "/"): PRODUCT,
    ("binary", "@"): PRODUCT,
    ("unary", "-"): UNARY,
    ("binary", "^"): POWER,
}
#: Binary operators that group from the right: ``2^3^2`` is ``2^(3^2)``. The others group from
#: the left, except comparisons, which do not group at all.
RIGHT_ASSOCIATIVE = frozenset({"^"})
#: Other spellings of binary operators: ``x ** 2`` is ``x ^ 2``.
_SPELLINGS = {"**": "^"}


def _infix_rule(op: str) -> tuple[int, int, str]:
    """(level, floor, item text) of the binary operator `op`: see `INFIX`."""
    level = PRECEDENCE["binary", op]
    stops_at_equals = op in RIGHT_ASSOCIATIVE or op in COMPARISONS
    return level, level + 1 if stops_at_equals else level, op


#: Infix operator token → (level, pop stacked operators of at least this level first, item
#: text). Left-associative operators pop their equals; `^` is right-associative and pops only
#: tighter ones; comparisons do not associate at all, so an equal one left on the stack is a
#: chain, which is reported.
INFIX: dict[str, tuple[int, int, str]] = {
    op: _infix_rule(op) for kind, op in PRECEDENCE if kind == "binary"}
INFIX.update({spelling: INFIX[op] for spelling, op in _SPELLINGS.items()})

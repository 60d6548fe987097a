"""Benchmarks: the generated families of expressions that grow with n (compile time, sizes).

Text only, no gradgen import, so that a benchmark can hand them to any version of gradgen
(`compile_against.py` times the code of another commit with them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """Expressions of a growing size: ``source(n)`` has about ``n`` forward operations."""

    name: str
    description: str
    source: Callable[[int], str]
    domain: tuple[float, float]  # the inputs of the timing points are drawn from here


def nested(ops: int) -> str:
    """``sin(x*sin(x*sin(...)+y)+y)``: depth ops/3, three operations per level."""
    text = "x"
    for _ in range(max(1, ops // 3)):
        text = f"sin(x*{text} + y)"
    return f"f(x, y) = {text}\n"


def sum_of_products(ops: int, inputs: int = 8) -> str:
    """``1*x1*x4 + 2*x2*x7 + ...`` over 8 inputs: three operations per term."""
    terms = [f"{k + 1}*x{k % inputs + 1}*x{(3 * k + 1) % inputs + 1}"
             for k in range(max(1, (ops + 1) // 3))]
    params = ", ".join(f"x{i + 1}" for i in range(inputs))
    return f"f({params}) = " + " + ".join(terms) + "\n"


def horner(ops: int) -> str:
    """A polynomial of degree ops/2 in Horner form, ``((c*x + c1)*x + c2)*x + ...``."""
    text = "0.5"
    for k in range(max(1, ops // 2)):
        text = f"({text})*x + {(k % 7 + 1) / 8}"
    return f"f(x) = {text}\n"


def plain_sum(ops: int, inputs: int = 10) -> str:
    """``x1 + x2 + ... + x10 + x1 + ...``: one operation per term."""
    params = ", ".join(f"x{i + 1}" for i in range(inputs))
    return f"f({params}) = " + " + ".join(f"x{k % inputs + 1}" for k in range(ops + 1)) + "\n"


FAMILIES = (
    Family("nested", "`sin(x*sin(x*(...) + y) + y)`, depth n/3", nested, (-1.0, 1.0)),
    Family("sum of products", "`1*x1*x4 + 2*x2*x7 + ...`, 8 inputs, n/3 terms",
           sum_of_products, (-1.0, 1.0)),
    Family("Horner", "polynomial of degree n/2, `(...(0.5*x + c1)*x + ...)*x + c`", horner,
           (-0.9, 0.9)),
    Family("sum", "`x1 + x2 + ... + x10 + x1 + ...`, n + 1 terms", plain_sum, (-1.0, 1.0)),
)

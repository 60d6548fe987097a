"""The front end: source text → `syntax.Function` (lexer and parser).

Expressions are checked as postfix strings (``x 2 ^ y +``; a call is ``sin/1``, a unary minus
``neg``, a conditional ``?:``), so precedence and associativity read at a glance. Every error
message is asserted with its line and column. A round-trip property prints random expression
trees with as few parentheses as the grammar allows and parses them back. The scale tests
parse a nesting depth of 10^4 and a sum of 10^5 terms (10^6 with ``GRADGEN_SLOW=1``).
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_helpers import error, render, shallow_stack

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import tokenize
from gradgen.frontend.parser import parse
from gradgen.frontend.syntax import Assign, For, If, Item, Return


def postfix(text: str) -> str:
    """The postfix rendering of a bare expression's (or definition's) result."""
    return render(parse(text, "t.txt").body[-1].expr)


# ---- expressions -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("x", "x"),
    ("x^2 + y", "x 2 ^ y +"),
    ("a + b * c", "a b c * +"),
    ("a * b + c", "a b * c +"),
    ("a - b - c", "a b - c -"),
    ("a / b / c", "a b / c /"),
    ("a - b + c", "a b - c +"),
    ("(a + b) * c", "a b + c *"),
    ("x^y^z", "x y z ^ ^"),
    ("x**y**z", "x y z ^ ^"),
    ("x**y^z", "x y z ^ ^"),
    ("(x^y)^z", "x y ^ z ^"),
    ("-x^2", "x 2 ^ neg"),
    ("-x**2", "x 2 ^ neg"),
    ("2^-x", "2 x neg ^"),
    ("x**-1", "x 1 neg ^"),
    ("2^-x^2", "2 x 2 ^ neg ^"),
    ("2^-x*3", "2 x neg ^ 3 *"),
    ("(-x)^2", "x neg 2 ^"),
    ("--x", "x neg neg"),
    ("a - -b", "a b neg -"),
    ("a * -b", "a b neg *"),
    ("-a * b", "a neg b *"),
    ("+x", "x"),
    ("+-+x", "x neg"),
    ("2*+x", "2 x *"),
    ("a < b", "a b <"),
    ("a + 1 <= b * 2", "a 1 + b 2 * <="),
    ("a == b and c != d", "a b == c d != and"),
    ("a > b or c >= d and e", "a b > c d >= e and or"),
    ("a or b or c", "a b or c or"),
    ("a and b and c", "a b and c and"),
    ("not a", "a not"),
    ("not not a", "a not not"),
    ("not a < b", "a b < not"),
    ("not a and b", "a not b and"),
    ("a and not b", "a b not and"),
    ("not -x < 1", "x neg 1 < not"),
    ("a if c else b", "a c b ?:"),
    ("a if c else b if d else e", "a c b d e ?: ?:"),
    ("(a if c else b) if d else e", "a c b ?: d e ?:"),
    ("x + 1 if x > 0 or y < 0 else -x", "x 1 + x 0 > y 0 < or x neg ?:"),
    ("a if not c else b", "a c not b ?:"),
    ("f(a if c else b, d)", "a c b ?: d f/2"),
    ("sin(x)", "x sin/1"),
    ("atan2(y, x)", "y x atan2/2"),
    ("where(x > 0, x, -x)", "x 0 > x x neg where/3"),
    ("f()", "f/0"),
    ("f(x,)", "x f/1"),
    ("f (x)", "x f/1"),
    ("g(f(x), h())", "x f/1 h/0 g/2"),
    ("sin(x)^2", "x sin/1 2 ^"),
    ("-sin(x)", "x sin/1 neg"),
    ("pi * r^2", "pi r 2 ^ *"),
    ("e^x", "e x ^"),
    ("lambda + sum + np", "lambda sum + np +"),
    ("1 + 2.5 + .5 + 1e-3 + 6.02E23 + 1. + 7e+2", "1 2.5 + .5 + 1e-3 + 6.02E23 + 1. + 7e+2 +"),
])
def test_expression_postfix(text: str, expected: str) -> None:
    assert postfix(text) == expected


def test_items_carry_kind_value_and_location() -> None:
    expr = parse("x^2 + 3*pi - exp(z)", "t.txt").body[0].expr
    assert expr == (
        Item("name", "x", 1, 1), Item("num", "2", 1, 3, 2.0), Item("binary", "^", 1, 2),
        Item("num", "3", 1, 7, 3.0), Item("const", "pi", 1, 9), Item("binary", "*", 1, 8),
        Item("binary", "+", 1, 5), Item("name", "z", 1, 18), Item("call", "exp", 1, 14, 0.0, 1),
        Item("binary", "-", 1, 12),
    )


def test_power_spelled_double_star_is_reported_as_caret_at_its_place() -> None:
    (power,) = [i for i in parse("x ** 2", "t.txt").body[0].expr if i.kind == "binary"]
    assert (power.text, power.line, power.col) == ("^", 1, 3)


def test_unary_and_conditional_locations() -> None:
    expr = parse("-x if not c else y", "t.txt").body[0].expr
    located = [(i.kind, i.text, i.col) for i in expr if i.kind in ("unary", "cond")]
    assert located == [("unary", "-", 1), ("unary", "not", 7), ("cond", "if", 4)]


def test_numbers_have_float_values() -> None:
    expr = parse("6.02E23 + .5 + 1e-3 + 7", "t.txt").body[0].expr
    assert [i.value for i in expr if i.kind == "num"] == [6.02e23, 0.5, 0.001, 7.0]


# ---- forms -------------------------------------------------------------------------------------

def test_bare_expression_form() -> None:
    function = parse("z + sin(x^2 + y*exp(z))\n", "expr.txt")
    assert function.form == "expression"
    assert function.params is None
    assert (function.name.text, function.name.line, function.name.col) == ("f", 1, 1)
    (ret,) = function.body
    assert isinstance(ret, Return) and (ret.line, ret.col) == (1, 1)
    assert render(ret.expr) == "z x 2 ^ y z exp/1 * + sin/1 +"
    assert function.source.path == "expr.txt"


def test_definition_form() -> None:
    function = parse("f(x, y, z) = z + sin(x^2 + y*exp(z))\n", "t.txt")
    assert function.form == "definition"
    assert function.name.text == "f"
    assert [(p.text, p.line, p.col) for p in function.params] == [
        ("x", 1, 3), ("y", 1, 6), ("z", 1, 9)]
    (ret,) = function.body
    assert (ret.line, ret.col) == (1, 14)
    assert render(ret.expr) == "z x 2 ^ y z exp/1 * + sin/1 +"


def test_definition_variants() -> None:
    assert parse("g() = 1", "t.txt").params == ()
    assert [p.text for p in parse("g(a, b,) = a", "t.txt").params] == ["a", "b"]
    assert parse("lambda(sum) = sum", "t.txt").name.text == "lambda"
    assert parse("f(x) == 1", "t.txt").form == "expression"  # '==' is no definition
    assert postfix("f(x) = (\n    x + 1\n)\n") == "x 1 +"


def test_program_form() -> None:
    text = ("def f(x, y, z):\n"
            "    a = x^2\n"
            "    b = exp(z)\n"
            "    c = y*b\n"
            "    d = a + c\n"
            "    return z + sin(d)\n")
    function = parse(text, "t.txt")
    assert function.form == "program"
    assert (function.name.text, function.name.line, function.name.col) == ("f", 1, 5)
    assert [p.text for p in function.params] == ["x", "y", "z"]
    *assigns, ret = function.body
    assert [(a.target.text, a.target.line, a.target.col, render(a.expr)) for a in assigns] == [
        ("a", 2, 5, "x 2 ^"), ("b", 3, 5, "z exp/1"), ("c", 4, 5, "y b *"),
        ("d", 5, 5, "a c +")]
    assert isinstance(ret, Return) and (ret.line, ret.col) == (6, 5)
    assert render(ret.expr) == "z d sin/1 +"


def test_reassignment_and_augmented_assignment() -> None:
    text = ("def f(x):\n"
            "    a = x\n"
            "    a = a + 1\n"
            "    a += x*2\n"
            "    a -= 1 - x\n"
            "    a *= x + 1\n"
            "    a /= 2\n"
            "    return a\n")
    body = parse(text, "t.txt").body
    assert [render(s.expr) for s in body[:-1]] == [
        "x", "a 1 +", "a x 2 * +", "a 1 x - -", "a x 1 + *", "a 2 /"]
    augmented = body[2].expr
    assert augmented[0] == Item("name", "a", 4, 5)  # the target, read
    assert augmented[-1] == Item("binary", "+", 4, 7)  # located at '+='
    assert (body[2].target.line, body[2].target.col) == (4, 5)


def test_program_layout_is_forgiving() -> None:
    text = ("\ufeff# leading comment\r\n"
            "\r\n"
            "def f(x,  # a comment inside the parameter list\r\n"
            "      y):   # after the colon\r\n"
            "\r\n"
            "    # a comment at another indentation\r\n"
            "  # and another\r\n"
            "    a = (x +\r\n"
            "  y)\r\n"
            "    return a * sin(\r\n"
            "            a)\r\n")
    function = parse(text, "t.txt")
    assert [p.text for p in function.params] == ["x", "y"]
    assert [render(s.expr) for s in function.body] == ["x y +", "a a sin/1 *"]
    assert function.body[1].line == 10


def test_tabs_indent_a_program() -> None:
    function = parse("def f(x):\n\ta = x\n\treturn a\n", "t.txt")
    assert function.body[1].col == 2


def test_one_line_program() -> None:
    function = parse("def f(x): return 2*x", "t.txt")
    assert function.form == "program" and render(function.body[0].expr) == "2 x *"


def test_continuation_inside_parentheses_only() -> None:
    assert postfix("(x +\n  y\n\n   # comment\n * 2)") == "x y 2 * +"
    expr = parse("(x +\n  y)", "t.txt").body[0].expr
    assert expr[1] == Item("name", "y", 2, 3)


def test_comments_blank_lines_crlf_and_bom() -> None:
    assert postfix("# a comment\n\n  x + 1  # another\n\n") == "x 1 +"
    assert postfix("x + 1\r\n\r\n") == "x 1 +"
    assert postfix("\ufeffx + 1") == "x 1 +"
    assert parse("\ufeffx", "t.txt").body[0].expr[0].col == 1


def test_unicode_names_are_nfc_normalised() -> None:
    assert postfix("α*β + Ωmega_2") == "α β * Ωmega_2 +"
    # compatibility variants (ligature, black-letter H) are names of their own: gradgen.ir.naming
    # keeps them apart from ``fi`` and ``H`` in the generated code, which Python reads by NFKC
    assert postfix("ﬁ + ℌ") == "ﬁ ℌ +"
    function = parse("ｆ(ｘ) = ｘ^2", "t.txt")
    assert function.name.text == "ｆ" and function.params[0].text == "ｘ"
    assert render(function.body[0].expr) == "ｘ 2 ^"
    assert postfix("e\u0301 + \u00e9") == "\u00e9 \u00e9 +"  # one character, two spellings


def test_tokens_have_one_based_positions() -> None:
    tokens = []
    for tok in tokenize(Source("t.txt", "(a +\n  b\n)")):
        tokens.append((tok.kind, tok.text, tok.line, tok.col, tok.pos))
        if tok.kind == "end":
            break
    assert tokens == [("op", "(", 1, 1, 0), ("name", "a", 1, 2, 1), ("op", "+", 1, 4, 3),
                      ("name", "b", 2, 3, 7), ("op", ")", 3, 1, 9), ("newline", "", 3, 2, 10),
                      ("end", "", 3, 2, 10)]


def test_tokens_of_a_block() -> None:
    kinds = [tok.kind for tok in itertools.islice(
        tokenize(Source("t.txt", "def f(x):\n  return x\n")), 12)]
    assert kinds == ["keyword", "name", "op", "name", "op", "op", "newline", "indent",
                     "keyword", "name", "newline", "dedent"]


# ---- errors ------------------------------------------------------------------------------------

HINT = " (an expression continues onto another line only inside parentheses)"
ERRORS = [
    # parentheses
    ("(x + 1", 1, 7, "expected ')' to close '(' opened at 1:1"),
    ("sin(x", 1, 6, "expected ')' to close '(' opened at 1:4"),
    ("f(x, (y)\n\n", 1, 9, "expected ')' to close '(' opened at 1:2"),
    ("(a, b", 1, 6, "expected ')' to close '(' opened at 1:1"),
    ("x)", 1, 2, "unmatched ')'"),
    ("(x))", 1, 4, "unmatched ')'"),
    # implicit multiplication
    ("2x", 1, 2, "missing operator: write '2*x'"),
    ("2 x", 1, 3, "missing operator: write '2*x'"),
    ("x y", 1, 3, "missing operator: write 'x*y'"),
    ("(a+b)(b+1)", 1, 6, "missing operator: write '(a+b)*(b+1)'"),
    ("2(x+1)", 1, 2, "missing operator: write '2*(x+1)'"),
    ("(a)x", 1, 4, "missing operator: write '(a)*x'"),
    ("sin(x) cos(y)", 1, 8, "missing operator: write 'sin(x)*cos(y)'"),
    ("1 + 2pi", 1, 6, "missing operator: write '2*pi'"),
    ("x^2 y", 1, 5, "missing operator: write '2*y'"),
    ("f(a)(b, c) + 1", 1, 5, "missing operator: write 'f(a)*(b, c)'"),
    ("2 (x +\n  1)", 1, 3, "missing operator: write '2*(x + 1)'"),
    # what an operand or an operator may be
    ("x 2", 1, 3, "expected an operator or end of expression, got '2'"),
    ("x, y", 1, 2, "expected an operator or end of expression, got ','"),
    ("x not y", 1, 3, "expected an operator or end of expression, got 'not'"),
    (")", 1, 1, "expected an expression, got ')'"),
    ("x * )", 1, 5, "expected an expression, got ')'"),
    ("f(,)", 1, 3, "expected an expression, got ','"),
    ("x +", 1, 4, "expected an expression, got end of input"),
    ("x +\n\n", 1, 4, "expected an expression, got end of input"),
    ("x * * y", 1, 5, "expected an expression, got '*'"),
    ("x *\ny", 1, 4, "expected an expression, got end of line" + HINT),
    ("x\ny", 2, 1, "expected end of input, got 'y'" + HINT),
    ("x\n  + y", 2, 3, "expected end of input, got '+'" + HINT),
    ("", 1, 1, "empty file: expected an expression"),
    ("  # only a comment\n\n", 1, 1, "empty file: expected an expression"),
    # characters and numbers
    ("x $ y", 1, 3, "unexpected character '$'"),
    ('"a"', 1, 1, "unexpected character '\"'"),
    ("'a'", 1, 1, "unexpected character \"'\""),
    ("x % 2", 1, 3, "unexpected character '%'"),
    ("x ! y", 1, 3, "unexpected character '!'"),
    ("a − b", 1, 3, "invalid character '−' (U+2212)"),
    ("x² + 1", 1, 2, "invalid character '²' (U+00B2)"),
    ("x\xa0+ 1", 1, 2, "invalid character '\\xa0' (U+00A0)"),
    ("os.path", 1, 3, "'.path' is not supported: the only attribute is '.T' (transpose)"),
    ("x.", 1, 3, "expected an attribute name after '.'"),
    ("1e", 1, 1, "malformed number '1e'"),
    ("x + 1.2.3", 1, 5, "malformed number '1.2.3'"),
    ("2e+", 1, 1, "malformed number '2e'"),
    ("1e5.5", 1, 1, "malformed number '1e5.5'"),
    ("1_000", 1, 1, "malformed number '1_000'"),
    ("1e999", 1, 1, "number '1e999' is too large"),
    # operators with rules of their own
    ("a < b < c", 1, 7, "comparisons cannot be chained: write 'a < b and b < c'"),
    ("0 < x + 1 <= f(2, 3) and y", 1, 11,
     "comparisons cannot be chained: write '0 < x + 1 and x + 1 <= f(2, 3)'"),
    ("g(a, x == y != (z))", 1, 13, "comparisons cannot be chained: write 'x == y and y != (z)'"),
    ("p or -a > b > c", 1, 13, "comparisons cannot be chained: write '-a > b and b > c'"),
    ("x + not y", 1, 5, "'not' after '+' needs parentheses: write '+ (not ...)'"),
    ("x == not y", 1, 6, "'not' after '==' needs parentheses: write '== (not ...)'"),
    ("a if b", 1, 7, "expected 'else' after the 'if' at 1:3"),
    ("(a if b)", 1, 8, "expected 'else' after the 'if' at 1:4"),
    ("a else b", 1, 3, "'else' without 'if'"),
    ("a if b if c else d else e", 1, 8,
     "a conditional expression used as a condition needs parentheses"),
    ("f(x, 1=1)", 1, 7, "expected a keyword name before '='"),
    ("(x = 1)", 1, 4, "unexpected '=' (use '==' to compare)"),
    # reserved words
    ("for + 1", 1, 1, "'for' is a reserved word"),
    ("x * return", 1, 5, "'return' is a reserved word"),
    ("if x", 1, 1, "expected an expression, got 'if'"),
    # definitions and misplaced '='
    ("x = 1", 1, 3,
     "unexpected '=': a definition is written 'f(x, y) = ...' (use '==' to compare)"),
    ("x += 1", 1, 3, "unexpected '+=': a definition is written 'f(x, y) = ...'"),
    ("f(x) = ", 1, 7, "expected an expression, got end of input"),
    ("f(x) =\n  x + 1", 1, 7, "expected an expression, got end of line" + HINT),
    ("f(x+1) = x", 1, 3, "expected a parameter name"),
    ("f(1) = x", 1, 3, "expected a parameter name"),
    ("f(x, , y) = x", 1, 6, "expected a parameter name"),
    ("f(x, x) = x", 1, 6, "duplicate parameter 'x'"),
    ("f(x=0) = x", 1, 4, "default parameter values are not supported"),
    ("f(for) = 1", 1, 3, "'for' is a reserved word"),
    ("f(x) = x = 1", 1, 10, "unexpected '=' (use '==' to compare)"),
    ("f(x) = x\ng(y) = y", 2, 1, "expected end of input, got 'g'" + HINT),
]


@pytest.mark.parametrize("text, line, col, message", ERRORS)
def test_expression_errors(text: str, line: int, col: int, message: str) -> None:
    assert error(text) == (line, col, message)


PROGRAM_ERRORS = [
    ("    for i in x:\n        y = i\n    return y\n", 2, 14,
     "expected 'range(...)' after 'in': loops run over range(stop) or range(start, stop)"),
    ("    if x > 0:\n        y = 1\n", 1, 1, "function 'f' has no 'return'"),
    ("    while x:\n        x = 1\n", 2, 5,
     "'while' loops are not supported: use 'for i in range(n)' with a fixed trip count"),
    ("    break\n", 2, 5, "'break' is not supported: loops run for a fixed number of steps"),
    ("    import math\n", 2, 5, "'import' statements are not supported yet"),
    ("    return x\n    y = 1\n", 3, 5, "unreachable statement after 'return'"),
    ("    return x\n    return x\n", 3, 5, "unreachable statement after 'return'"),
    ("    y = x\n", 1, 1, "function 'f' has no 'return'"),
    ("    y = x\n        return y\n", 3, 9, "unexpected indent"),
    ("        y = x\n    return y\n", 3, 5, "unindent does not match any outer indentation level"),
    ("\ty = x\n        return y\n", 3, 9, "inconsistent use of tabs and spaces in indentation"),
    ("    return x\ndef f(y):\n    return y\n", 3, 1,
     "function 'f' is defined twice (first at 1:1)"),
    ("    def g(y):\n        return y\n", 2, 5,
     "a 'def' inside a function is not supported: define functions at the top level"),
    ("    return x\nx = 1\n", 3, 1, "expected end of input after the function, got 'x'"),
    ("    x + 1\n    return x\n", 2, 5, "expected an assignment or 'return'"),
    ("    y == 1\n", 2, 5, "expected an assignment or 'return'"),
    ("    print(x)\n", 2, 5, "expected an assignment or 'return'"),
    ("    (y) = 1\n", 2, 5, "expected an assignment or 'return'"),
    ("    pi = 3\n", 2, 5, "'pi' is a reserved word"),
    ("    for = 3\n", 2, 5, "'for' is a reserved word"),
    ("    y = = 1\n", 2, 9, "expected an expression, got '='"),
    ("    y = 1 = 2\n", 2, 11, "unexpected '=' (use '==' to compare)"),
    ("    y = 2x\n", 2, 10, "missing operator: write '2*x'"),
    ("    return\n", 2, 11, "expected an expression, got end of input"),
    ("    return (x +\n", 2, 16, "expected an expression, got end of input"),
    ("    return (x\n", 2, 14, "expected ')' to close '(' opened at 2:12"),
    ("return x\n", 2, 1, "expected an indented block after 'def', got 'return'"),
    ("", 1, 10, "expected an indented block after 'def', got end of input"),
]


@pytest.mark.parametrize("body, line, col, message", PROGRAM_ERRORS)
def test_program_errors(body: str, line: int, col: int, message: str) -> None:
    assert error("def f(x):\n" + body) == (line, col, message)


@pytest.mark.parametrize("text, line, col, message", [
    ("def f(x)\n    return x\n", 1, 9, "expected ':' after the parameter list"),
    ("def f(x) -> float:\n    return x\n", 1, 10, "expected ':' after the parameter list"),
    ("def f x:\n", 1, 7, "expected '(' after the function name, got 'x'"),
    ("def (x):\n", 1, 5, "expected a function name after 'def', got '('"),
    ("def for(x):\n", 1, 5, "'for' is a reserved word"),
    ("def f(x, x):\n", 1, 10, "duplicate parameter 'x'"),
    ("def f(x=1):\n", 1, 8, "default parameter values are not supported"),
    ("def f(x+1):\n", 1, 7, "expected a parameter name"),
    ("def f(*args):\n", 1, 7, "expected a parameter name"),
    ("def f(x:\n    return x\n", 2, 13, "expected ')' to close '(' opened at 1:6"),
    ("def f(x): y = x", 1, 1, "function 'f' has no 'return'"),
    ("def", 1, 4, "expected a function name after 'def', got end of line"),
])
def test_def_header_errors(text: str, line: int, col: int, message: str) -> None:
    assert error(text) == (line, col, message)


def test_error_prints_file_line_and_caret() -> None:
    with pytest.raises(CompileError) as info:
        parse("z + (x\n", "expr.txt")
    assert str(info.value) == ("expr.txt:1:7: error: expected ')' to close '(' opened at 1:5\n"
                               "    z + (x\n"
                               "          ^")


def test_error_columns_count_characters_after_a_bom_and_crlf() -> None:
    assert error("\ufeff(x +\r\n  (y") == (2, 5, "expected ')' to close '(' opened at 2:3")


# ---- round trip: print random trees with minimal parentheses, parse them back -----------

@dataclass(frozen=True)
class Node:
    """An expression tree: ``op`` is a leaf's text, an operator, 'neg', 'not', 'if' or a call."""

    op: str
    args: tuple[Node, ...] = ()
    call: bool = False


# What binds how tightly when printed (LANGUAGE.md): higher binds tighter.
PRECEDENCE = {"if": 1, "or": 2, "and": 3, "not": 4, "<": 5, "<=": 5, "==": 5, "!=": 5,
              "+": 6, "-": 6, "*": 7, "/": 7, "neg": 8, "^": 9}


def precedence(node: Node) -> int:
    return 10 if not node.args or node.call else PRECEDENCE[node.op]


def needs_parens(child: Node, parent: Node, position: int) -> bool:
    """Whether `child`, the `position`-th operand of `parent`, must be parenthesised."""
    mine, theirs = precedence(child), precedence(parent)
    if parent.call:
        return False
    if parent.op == "if":  # a if c else b: 'b' may be another conditional
        return mine <= 1 and position < 2
    if parent.op in ("neg", "not"):
        return mine < theirs
    if parent.op == "^":  # right-associative; the exponent may start with a unary minus
        return mine <= theirs if position == 0 else mine < theirs and child.op != "neg"
    if theirs == 5:  # comparisons do not chain
        return mine <= theirs
    return mine < theirs if position == 0 else mine <= theirs


def show(node: Node, draw_parens, draw_power) -> str:
    """Print `node`; `draw_parens()` adds redundant parentheses, `draw_power()` spells '^'."""
    if not node.args and not node.call:
        return node.op

    def operand(position: int) -> str:
        child = node.args[position]
        text = show(child, draw_parens, draw_power)
        if needs_parens(child, node, position) or (child.args and draw_parens()):
            return f"({text})"
        return text

    if node.call:
        return f"{node.op}({', '.join(operand(i) for i in range(len(node.args)))})"
    if node.op == "neg":
        return f"-{operand(0)}"
    if node.op == "not":
        return f"not {operand(0)}"
    if node.op == "if":
        return f"{operand(0)} if {operand(1)} else {operand(2)}"
    op = draw_power() if node.op == "^" else node.op
    return f"{operand(0)} {op} {operand(1)}"


def expected_postfix(node: Node) -> str:
    words = [expected_postfix(arg) for arg in node.args]
    if node.call:
        words.append(f"{node.op}/{len(node.args)}")
    elif node.op == "if":
        words.append("?:")
    else:
        words.append(node.op)
    return " ".join(words)


leaves = st.sampled_from(["x", "y", "z1", "2", "0.5", "pi", "e"]).map(Node)


def _branches(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    binary = st.builds(lambda op, a, b: Node(op, (a, b)),
                       st.sampled_from(["+", "-", "*", "/", "^", "<", "<=", "==", "!=",
                                        "and", "or"]), children, children)
    unary = st.builds(lambda op, a: Node(op, (a,)), st.sampled_from(["neg", "not"]), children)
    conditional = st.builds(lambda a, c, b: Node("if", (a, c, b)), children, children, children)
    call = st.builds(lambda name, args: Node(name, tuple(args), call=True),
                     st.sampled_from(["f", "sin", "atan2"]), st.lists(children, max_size=3))
    return binary | unary | conditional | call


trees = st.recursive(leaves, _branches, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(trees, st.data())
def test_round_trip_through_minimal_parentheses(tree: Node, data: st.DataObject) -> None:
    text = show(tree, lambda: data.draw(st.booleans()),
                lambda: data.draw(st.sampled_from(["^", "**"])))
    assert postfix(text) == expected_postfix(tree), text


FRAGMENTS = ["x", "y2", "1", ".5", "1e3", "pi", "(", ")", ",", "+", "-", "*", "/", "^", "**",
             "<", "==", "=", "+=", "not", "and", "if", "else", "def", "return", "f(", ":",
             " ", "\n", "    ", "\t", "#c\n", "$", ".", "é", "²"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_any_input_parses_or_raises_compile_error(fragments: list[str]) -> None:
    text = "".join(fragments)
    try:
        function = parse(text, "t.txt")
    except CompileError as exc:
        assert exc.line >= 1 and exc.col >= 1
    else:
        assert isinstance(function.body[-1], Return)
        assert all(isinstance(s, (Assign, For, If)) for s in function.body[:-1])


# ---- scale: no recursion, little work per token ----------------------------------------

DEPTH = 10_000


@pytest.mark.parametrize("text, expected_items", [
    pytest.param("(" * DEPTH + "x" + ")" * DEPTH, 1, id="((x))"),
    pytest.param("sin(" * DEPTH + "x" + ")" * DEPTH, DEPTH + 1, id="sin(sin(x))"),
    pytest.param("-(" * DEPTH + "x" + ")" * DEPTH, DEPTH + 1, id="-(-(x))"),
    pytest.param("-" * DEPTH + "x", DEPTH + 1, id="--x"),
    pytest.param("not " * DEPTH + "x", DEPTH + 1, id="not not x"),
    pytest.param("^".join(["x"] * DEPTH), 2 * DEPTH - 1, id="x^x^x"),
    pytest.param("**".join(["x"] * DEPTH), 2 * DEPTH - 1, id="x**x**x"),
    pytest.param(" if c else ".join(["x"] * DEPTH), 3 * DEPTH - 2, id="x if c else x if c else x"),
])
def test_deep_nesting_needs_no_recursion(text: str, expected_items: int) -> None:
    with shallow_stack(50):
        expr = parse(text, "deep.txt").body[0].expr
    assert len(expr) == expected_items


def test_deep_error_quotes_are_shortened() -> None:
    line, col, message = error("2" + "(" * DEPTH + "x" + ")" * DEPTH)
    assert (line, col) == (1, 2)
    assert message == f"missing operator: write '2*{'(' * 40}...{')' * 17}'"


def test_deep_right_associative_power_order() -> None:
    expr = parse("^".join(["x"] * DEPTH), "deep.txt").body[0].expr
    assert [i.kind for i in expr] == ["name"] * DEPTH + ["binary"] * (DEPTH - 1)


def test_deep_definition_header_scan() -> None:
    text = "f(" + "(" * DEPTH + "x" + ")" * DEPTH + ") + 1"
    assert postfix(text).split()[-2:] == ["1", "+"]


def _long_sum(terms: int) -> str:
    """``x0*3 + x1 + x2*3 + x3 + ...``."""
    return " + ".join(f"x{k}" if k % 2 else f"x{k}*3" for k in range(terms))


def test_sum_of_a_hundred_thousand_terms() -> None:
    terms = 100_000
    expr = parse(_long_sum(terms), "sum.txt").body[0].expr
    assert len(expr) == terms + terms // 2 * 2 + terms - 1
    assert render(expr[:9]) == "x0 3 * x1 + x2 3 * +"


def test_long_program() -> None:
    lines = [f"    a{k} = a{k - 1} * x + {k}\n" for k in range(1, 20_000)]
    function = parse("def f(x):\n    a0 = x\n" + "".join(lines) + "    return a19999\n", "p.txt")
    assert len(function.body) == 20_001


@pytest.mark.skipif(os.environ.get("GRADGEN_SLOW") != "1",
                    reason="a 10^6-term sum takes seconds; set GRADGEN_SLOW=1")
def test_sum_of_a_million_terms() -> None:
    text = _long_sum(1_000_000)
    start = time.perf_counter()
    expr = parse(text, "sum.txt").body[0].expr
    elapsed = time.perf_counter() - start
    assert len(expr) == 2_999_999
    assert elapsed < 30, f"{elapsed:.1f} s"

"""The front end's array syntax: shapes on parameters, '@', '.T', subscripts and slices,
keyword arguments and tuples (lexer and parser).

Expressions are checked as postfix strings as in test_parser.py, with the new items spelled
``index/2``, ``slice``, ``none``, ``tuple/2`` and ``axis=`` (a keyword argument), so that the
stack effect of each item reads at a glance; their locations are checked item by item. Every
error message is asserted with its line and column.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_helpers import error, render, shallow_stack

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import tokenize
from gradgen.frontend.parser import parse
from gradgen.frontend.syntax import Assign, For, Function, If, Item, Name, Return, Statement, walk


def expr_of(text: str) -> tuple[Item, ...]:
    return parse(text, "t.txt").body[-1].expr


def postfix(text: str) -> str:
    return render(expr_of(text))


def located(text: str, *kinds: str) -> list[tuple[str, str, int, int, int]]:
    """(kind, text, line, col, nargs) of the items of the given kinds, in postfix order."""
    return [(i.kind, i.text, i.line, i.col, i.nargs) for i in expr_of(text) if i.kind in kinds]


# ---- postfix order -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # '@': with '*' and '/', left-associative
    ("A @ B", "A B @"),
    ("A @ B @ C", "A B @ C @"),
    ("a + b @ c * d", "a b c @ d * +"),
    ("A @ (B @ C)", "A B C @ @"),
    ("-A @ B", "A neg B @"),
    ("A @ B^2", "A B 2 ^ @"),
    # '.T': tightest of all, applied to the operand just completed
    ("X.T", "X transpose/1"),
    ("X.T.T", "X transpose/1 transpose/1"),
    ("X . T", "X transpose/1"),
    ("-X.T^2", "X transpose/1 2 ^ neg"),
    ("x^y.T", "x y transpose/1 ^"),
    ("X.T @ X", "X transpose/1 X @"),
    ("(A @ B).T", "A B @ transpose/1"),
    ("f(x).T", "x f/1 transpose/1"),
    ("2 .T", "2 transpose/1"),
    # subscripts: each element, then index/NUMBER_OF_ELEMENTS
    ("x[0]", "x 0 index/1"),
    ("x[-1]", "x 1 neg index/1"),
    ("x[i + 1]", "x i 1 + index/1"),
    ("X[i, j]", "X i j index/2"),
    ("X[:, 1]", "X none none none slice 1 index/2"),
    ("X[i, :]", "X i none none none slice index/2"),
    ("x[1:3]", "x 1 3 none slice index/1"),
    ("x[::2]", "x none none 2 slice index/1"),
    ("x[1:]", "x 1 none none slice index/1"),
    ("x[:3]", "x none 3 none slice index/1"),
    ("x[:]", "x none none none slice index/1"),
    ("x[::]", "x none none none slice index/1"),
    ("x[a:b:]", "x a b none slice index/1"),
    ("x[1:2:3]", "x 1 2 3 slice index/1"),
    ("x[:-1:-1]", "x none 1 neg 1 neg slice index/1"),
    ("x[a:b, c:d:e, ::f]", "x a b none slice c d e slice none none f slice index/3"),
    ("X[1:, 0]", "X 1 none none slice 0 index/2"),
    ("x[1,]", "x 1 index/1"),
    ("x[x[0]]", "x x 0 index/1 index/1"),
    ("x [0]", "x 0 index/1"),
    ("(a + b)[0]", "a b + 0 index/1"),
    ("f(x)[1]", "x f/1 1 index/1"),
    ("x[0][1]", "x 0 index/1 1 index/1"),
    ("X.T[0]", "X transpose/1 0 index/1"),
    ("x[0].T", "x 0 index/1 transpose/1"),
    ("(n, k)[0]", "n k tuple/2 0 index/1"),
    ("(2)[0]", "2 0 index/1"),
    ("-x[0]^2", "x 0 index/1 2 ^ neg"),
    ("2^x[1]", "2 x 1 index/1 ^"),
    ("x[a if c else b]", "x a c b ?: index/1"),
    ("x[i == 0]", "x i 0 == index/1"),
    ("sin(x[0])", "x 0 index/1 sin/1"),
    # keyword arguments: the value, then NAME=; the call counts them
    ("sum(X, axis=1)", "X 1 axis= sum/2"),
    ("softmax(A, axis=-1, keepdims=True)", "A 1 neg axis= True keepdims= softmax/3"),
    ("sum(axis=0)", "0 axis= sum/1"),
    ("f(x, k=a + b * c)", "x a b c * + k= f/2"),
    ("f(k=a if c else b)", "a c b ?: k= f/1"),
    ("f(k=not a, j=b)", "a not k= b j= f/2"),
    ("f(k=g(j=1))", "1 j= g/1 k= f/1"),
    ("f(a=1,)", "1 a= f/1"),
    ("f(k=x == 1)", "x 1 == k= f/1"),
    ("where(x == 1, a, b)", "x 1 == a b where/3"),
    ("f(x,\n  axis=1)", "x 1 axis= f/2"),
    # tuples: a top-level comma makes one; '(x)' only groups
    ("(n, k)", "n k tuple/2"),
    ("(0, 1)", "0 1 tuple/2"),
    ("(n*d,)", "n d * tuple/1"),
    ("()", "tuple/0"),
    ("( )", "tuple/0"),
    ("(x)", "x"),
    ("((x))", "x"),
    ("((a, b), (c,))", "a b tuple/2 c tuple/1 tuple/2"),
    ("zeros((n, k))", "n k tuple/2 zeros/1"),
    ("reshape(x, (n*k,))", "x n k * tuple/1 reshape/2"),
    ("sum(X, axis=(0, 1))", "X 0 1 tuple/2 axis= sum/2"),
    ("f(())", "tuple/0 f/1"),
    ("(a if c else b, d)", "a c b ?: d tuple/2"),
    ("(\n  n,\n  k,\n)", "n k tuple/2"),
])
def test_array_postfix(text: str, expected: str) -> None:
    assert postfix(text) == expected


def test_transpose_is_a_call_located_at_the_dot() -> None:
    assert expr_of("X.T") == (Item("name", "X", 1, 1), Item("call", "transpose", 1, 2, 0.0, 1))
    assert located("(a @ b) .T", "call", "binary") == [
        ("binary", "@", 1, 4, 0), ("call", "transpose", 1, 9, 1)]


def test_subscript_items_are_located() -> None:
    assert expr_of("X[:, 1]") == (
        Item("name", "X", 1, 1),
        Item("none", "", 1, 3), Item("none", "", 1, 4), Item("none", "", 1, 4),
        Item("slice", ":", 1, 3, 0.0, 3),
        Item("num", "1", 1, 6, 1.0),
        Item("index", "[", 1, 2, 0.0, 2),
    )


@pytest.mark.parametrize("text, expected", [
    # an omitted part is located at the ':', ',' or ']' that ends it; a slice at its first ':'
    ("x[1:3]", [("none", "", 1, 6, 0), ("slice", ":", 1, 4, 3), ("index", "[", 1, 2, 1)]),
    ("x[::2]", [("none", "", 1, 3, 0), ("none", "", 1, 4, 0), ("slice", ":", 1, 3, 3),
                ("index", "[", 1, 2, 1)]),
    ("x[a :]", [("none", "", 1, 6, 0), ("none", "", 1, 6, 0), ("slice", ":", 1, 5, 3),
                ("index", "[", 1, 2, 1)]),
    ("x[0][1:]", [("index", "[", 1, 2, 1), ("none", "", 1, 8, 0), ("none", "", 1, 8, 0),
                  ("slice", ":", 1, 7, 3), ("index", "[", 1, 5, 1)]),
    ("x[\n  0,\n  1:\n]", [("none", "", 4, 1, 0), ("none", "", 4, 1, 0),
                           ("slice", ":", 3, 4, 3), ("index", "[", 1, 2, 2)]),
])
def test_slice_and_index_locations(text: str, expected: list) -> None:
    assert located(text, "none", "slice", "index") == expected


def test_keyword_items_are_located_at_their_names() -> None:
    assert expr_of("sum(X, axis=1)") == (
        Item("name", "X", 1, 5), Item("num", "1", 1, 13, 1.0), Item("keyword", "axis", 1, 8),
        Item("call", "sum", 1, 1, 0.0, 2))
    assert located("f(a, k = b,\n  j=c)", "keyword", "call") == [
        ("keyword", "k", 1, 6, 0), ("keyword", "j", 2, 3, 0), ("call", "f", 1, 1, 3)]


def test_tuple_items_are_located_at_the_parenthesis() -> None:
    assert located("zeros( (n, k) )", "tuple", "call") == [
        ("tuple", "(", 1, 8, 2), ("call", "zeros", 1, 1, 1)]
    assert expr_of("()") == (Item("tuple", "(", 1, 1, 0.0, 0),)
    assert expr_of("(x,)") == (Item("name", "x", 1, 2), Item("tuple", "(", 1, 1, 0.0, 1))


def test_matmul_is_a_binary_item() -> None:
    assert expr_of("A@B") == (Item("name", "A", 1, 1), Item("name", "B", 1, 3),
                              Item("binary", "@", 1, 2))


def test_numbers_still_lex_as_numbers() -> None:
    assert postfix(".5 + 1. + 1.5e3 + 2.5") == ".5 1. + 1.5e3 + 2.5 +"
    assert [i.value for i in expr_of("x[.5] + 1.")] == [0.0, 0.5, 0.0, 1.0, 0.0]


# ---- programs and definitions -----------------------------------------------------------------

def test_program_with_arrays() -> None:
    text = ("def layer(W: (d, k), b: (k,), X: (n, d)):\n"
            "    Z = X @ W + b\n"
            "    Z @= W.T\n"
            "    P = softmax(Z[:, 0:k], axis=-1)\n"
            "    return sum(P[\n"
            "        0, :\n"
            "    ])\n")
    function = parse(text, "t.txt")
    assert [render(s.expr) for s in function.body] == [
        "X W @ b +",
        "Z W transpose/1 @",
        "Z none none none slice 0 k none slice index/2 1 neg axis= softmax/2",
        "P 0 none none none slice index/2 sum/1",
    ]
    assert function.body[1].expr[-1] == Item("binary", "@", 3, 7)  # located at '@='
    assert isinstance(function.body[1], Assign) and isinstance(function.body[-1], Return)


def test_one_line_program_with_arrays() -> None:
    function = parse("def f(x: (n,)): return x.T @ x", "t.txt")
    assert render(function.body[0].expr) == "x transpose/1 x @"
    assert function.shapes == ((Name("n", 1, 11),),)


def test_shapes_of_a_definition() -> None:
    function = parse("loss(W: (d, k), b: (k,), X: (n, d), lam, s: ()) = sum(X @ W + b)",
                     "t.txt")
    assert [p.text for p in function.params] == ["W", "b", "X", "lam", "s"]
    assert function.shapes == (
        (Name("d", 1, 10), Name("k", 1, 13)), (Name("k", 1, 21),),
        (Name("n", 1, 30), Name("d", 1, 33)), None, ())


def test_shapes_of_a_program() -> None:
    function = parse("def f(W: (3, k),\n      x):\n    return W\n", "t.txt")
    assert function.shapes == ((Name("3", 1, 11), Name("k", 1, 14)), None)
    assert parse("f(x: (0, 007,)) = x", "t.txt").shapes == (
        (Name("0", 1, 7), Name("007", 1, 10)),)


def test_shapes_default_to_none_and_form_a_has_none() -> None:
    assert parse("f(x, y) = x", "t.txt").shapes == (None, None)
    assert parse("def f(x):\n    return x\n", "t.txt").shapes == (None,)
    assert parse("g() = 1", "t.txt").shapes == ()
    assert parse("x @ y", "t.txt").shapes == ()
    function = Function(Name("f", 1, 1), None, (), "expression", Source("t", ""))
    assert function.shapes == ()  # a keyword field with a default: old constructors work


def test_definition_header_with_shapes_and_keywords_in_the_body() -> None:
    function = parse("f(x: (n,)) = sum(x, axis=0)", "t.txt")
    assert function.form == "definition"
    assert render(function.body[0].expr) == "x 0 axis= sum/2"
    assert parse("sum(X, axis=1)", "t.txt").form == "expression"


# ---- tokens ------------------------------------------------------------------------------------

def test_tokens_of_the_new_operators() -> None:
    tokens = [(t.kind, t.text, t.col) for t in itertools.islice(
        tokenize(Source("t.txt", "X.T@x[.5:]@=1.")), 13)]
    assert tokens == [("name", "X", 1), ("op", ".", 2), ("name", "T", 3), ("op", "@", 4),
                      ("name", "x", 5), ("op", "[", 6), ("num", ".5", 7), ("op", ":", 9),
                      ("op", "]", 10), ("op", "@=", 11), ("num", "1.", 13),
                      ("newline", "", 15), ("end", "", 15)]


def test_line_breaks_inside_brackets_are_white_space() -> None:
    kinds = [t.kind for t in itertools.islice(tokenize(Source("t.txt", "x[\n0\n]\n")), 6)]
    assert kinds == ["name", "op", "num", "op", "newline", "end"]


# ---- errors ------------------------------------------------------------------------------------

HINT = " (an expression continues onto another line only inside parentheses)"
ERRORS = [
    # '.T' and other attributes
    ("x.shape", 1, 2, "'.shape' is not supported: the only attribute is '.T' (transpose)"),
    ("x.sum()", 1, 2, "'.sum' is not supported: the only attribute is '.T' (transpose)"),
    ("X.T.t", 1, 4, "'.t' is not supported: the only attribute is '.T' (transpose)"),
    ("x.if", 1, 2, "'.if' is not supported: the only attribute is '.T' (transpose)"),
    ("x.(T)", 1, 3, "expected an attribute name after '.'"),
    ("x..T", 1, 3, "expected an attribute name after '.'"),
    ("x.", 1, 3, "expected an attribute name after '.'"),
    ("x.\nT", 1, 3, "expected an attribute name after '.'"),
    ("x.5", 1, 2, "expected an operator or end of expression, got '.5'"),
    (".T", 1, 1, "expected an expression, got '.'"),
    ("x + .T", 1, 5, "expected an expression, got '.'"),
    ("1.T", 1, 3, "missing operator: write '1.*T'"),
    ("1.5.T", 1, 1, "malformed number '1.5.T'"),
    # '@'
    ("A @", 1, 4, "expected an expression, got end of input"),
    ("@ A", 1, 1, "expected an expression, got '@'"),
    ("A @ @ B", 1, 5, "expected an expression, got '@'"),
    # subscripts
    ("x[]", 1, 3, "expected an index, got ']'"),
    ("x[,]", 1, 3, "expected an index, got ','"),
    ("x[1,,2]", 1, 5, "expected an index, got ','"),
    ("x[+]", 1, 4, "expected an expression, got ']'"),
    ("x[", 1, 3, "expected an expression, got end of input"),
    ("x[0", 1, 4, "expected ']' to close '[' opened at 1:2"),
    ("x[0\n\n", 1, 4, "expected ']' to close '[' opened at 1:2"),
    ("f(x[0)", 1, 6, "expected ']' to close '[' opened at 1:4"),
    ("x[(0]", 1, 5, "expected ')' to close '(' opened at 1:3"),
    ("x[f(0]", 1, 6, "expected ')' to close '(' opened at 1:4"),
    ("(x]", 1, 3, "expected ')' to close '(' opened at 1:1"),
    ("()]", 1, 3, "unmatched ']'"),
    ("x[0]]", 1, 5, "unmatched ']'"),
    ("]", 1, 1, "expected an expression, got ']'"),
    ("x[1:2:3:4]", 1, 8, "too many ':' in a slice: it is start:stop:step"),
    ("x[::::]", 1, 5, "too many ':' in a slice: it is start:stop:step"),
    ("x[1:2 3]", 1, 7, "expected an operator or end of expression, got '3'"),
    ("x[a if b : c]", 1, 10, "expected 'else' after the 'if' at 1:5"),
    ("x[i = 1]", 1, 5, "unexpected '=' (use '==' to compare)"),
    ("x[1: a < b < c]", 1, 12, "comparisons cannot be chained: write 'a < b and b < c'"),
    ("x[0] y", 1, 6, "missing operator: write 'x[0]*y'"),
    ("x[0](1)", 1, 5, "missing operator: write 'x[0]*(1)'"),
    ("X.T (1)", 1, 5, "missing operator: write 'X.T*(1)'"),
    # list literals and numbers
    ("[1, 2]", 1, 1, "list literals are not supported"),
    ("x + [1]", 1, 5, "list literals are not supported"),
    ("f([x])", 1, 3, "list literals are not supported"),
    ("2[0]", 1, 2, "a number cannot be indexed: '2[...]'"),
    ("x^2 [0]", 1, 5, "a number cannot be indexed: '2[...]'"),
    ("pi[0]", 1, 3, "a number cannot be indexed: 'pi[...]'"),
    # slices only inside '[...]'
    ("f(a:b)", 1, 4, "expected an operator or end of expression, got ':'"),
    ("(a:b)", 1, 3, "expected an operator or end of expression, got ':'"),
    ("f(:)", 1, 3, "expected an expression, got ':'"),
    ("a:b", 1, 2, "expected an operator or end of expression, got ':'"),
    # keyword arguments
    ("f(a=1, b)", 1, 8, "positional argument follows keyword argument"),
    ("f(a=1, -b * 2)", 1, 8, "positional argument follows keyword argument"),
    ("f(a=1, b=2, c + 1)", 1, 13, "positional argument follows keyword argument"),
    ("f(a=1, a=2)", 1, 8, "keyword argument 'a' repeated"),
    ("sum(X, axis=1, axis=0)", 1, 16, "keyword argument 'axis' repeated"),
    ("f(1 = 2)", 1, 5, "expected a keyword name before '='"),
    ("f(x + y = 2)", 1, 9, "expected a keyword name before '='"),
    ("f((x) = 2)", 1, 7, "expected a keyword name before '='"),
    ("f(-x = 2)", 1, 6, "expected a keyword name before '='"),
    ("f(x.T = 2)", 1, 7, "expected a keyword name before '='"),
    ("f(a=)", 1, 5, "expected an expression, got ')'"),
    ("f(a=b=c)", 1, 6, "expected a keyword name before '='"),
    ("f(=1)", 1, 3, "expected an expression, got '='"),
    ("f(k = a < b < c)", 1, 13, "comparisons cannot be chained: write 'a < b and b < c'"),
    ("f(a=1", 1, 6, "expected ')' to close '(' opened at 1:2"),
    ("f(x += 1)", 1, 5, "expected ')' to close '(' opened at 1:2"),
    # tuples
    ("(a, b", 1, 6, "expected ')' to close '(' opened at 1:1"),
    ("(,)", 1, 2, "expected an expression, got ','"),
    ("(a,,)", 1, 4, "expected an expression, got ','"),
    ("(+)", 1, 3, "expected an expression, got ')'"),
    ("f(+)", 1, 4, "expected an expression, got ')'"),
    ("(a, b)(c)", 1, 7, "missing operator: write '(a, b)*(c)'"),
    ("() x", 1, 4, "missing operator: write '()*x'"),
    ("(x = 1, 2)", 1, 4, "unexpected '=' (use '==' to compare)"),
    ("a, b", 1, 2, "expected an operator or end of expression, got ','"),
    # characters that stay errors
    ("x{1}", 1, 2, "unexpected character '{': braces are not part of the language"),
    ("x; y", 1, 2, "unexpected character ';': write one statement per line"),
    ("x $ y", 1, 3, "unexpected character '$'"),
    ("x } y", 1, 3, "unexpected character '}'"),
    # shapes
    ("f(x: (n d)) = x", 1, 9, "expected ',' or ')' after a dimension"),
    ("f(x: (n, 2.5)) = x", 1, 10, "expected a dimension: a name or a whole number"),
    ("f(x: (n, 1e3)) = x", 1, 10, "expected a dimension: a name or a whole number"),
    ("f(x: (n, -1)) = x", 1, 10, "expected a dimension: a name or a whole number"),
    ("f(x: (n, n+1)) = x", 1, 11, "expected ',' or ')' after a dimension"),
    ("f(x: ((n))) = x", 1, 7, "expected a dimension: a name or a whole number"),
    ("f(x: (,)) = x", 1, 7, "expected a dimension: a name or a whole number"),
    ("f(x: (n,,)) = x", 1, 9, "expected a dimension: a name or a whole number"),
    ("f(x: (pi,)) = x", 1, 7, "'pi' is a reserved word"),
    ("f(x: 3) = x", 1, 6, "expected 'int', or '(' and the dimensions, after ':'"),
    ("f(x: n) = x", 1, 6, "expected 'int', or '(' and the dimensions, after ':'"),
    ("f(x:) = x", 1, 5, "expected 'int', or '(' and the dimensions, after ':'"),
    ("f(x:, y) = x", 1, 5, "expected 'int', or '(' and the dimensions, after ':'"),
    ("f(x: (n,) y) = x", 1, 11, "expected ',' or ')' after a parameter's shape"),
    ("f(x: (n,) = 0) = x", 1, 11, "default parameter values are not supported"),
    ("f(: (n,)) = x", 1, 3, "expected a parameter name"),
    ("f(pi: (n,)) = x", 1, 3, "'pi' is a reserved word"),
    ("f(x: (n,), x: (k,)) = x", 1, 12, "duplicate parameter 'x'"),
    ("def f(x: (n, 2.5)):\n    return x\n", 1, 14,
     "expected a dimension: a name or a whole number"),
    ("def f(x: 3):\n    return x\n", 1, 10, "expected 'int', or '(' and the dimensions, after ':'"),
    ("def f(x: (n, k):\n    return x\n", 2, 13, "expected ')' to close '(' opened at 1:6"),
    ("def f(x: (n,)) : return x[", 1, 27, "expected an expression, got end of input"),
    # statements
    ("def f(x):\n    x[0] = 1\n    return x\n", 2, 5,
     "assignment to an element or slice is not supported: compute the whole array (stack, "
     "concat, where)"),
    ("def f(x):\n    y @= = 1\n    return x\n", 2, 10, "expected an expression, got '='"),
    ("x @= 1", 1, 3, "unexpected '@=': a definition is written 'f(x, y) = ...'"),
]


@pytest.mark.parametrize("text, line, col, message", ERRORS)
def test_array_syntax_errors(text: str, line: int, col: int, message: str) -> None:
    assert error(text) == (line, col, message)


# ---- round trip: random trees printed with minimal parentheses parse back -------------------

# A tree is generated together with its text, its expected postfix and how tightly its text
# binds (higher is tighter; 10 is an operand: a name, call, tuple, '.T' or subscript).
Printed = tuple[str, str, int]
OPERAND = 10
_BINDING = {"+": 6, "*": 7, "@": 7}


def _wrap(tree: Printed, tightest_needed: int) -> str:
    return tree[0] if tree[2] >= tightest_needed else f"({tree[0]})"


def _binary(op: str, left: Printed, right: Printed) -> Printed:
    prec = _BINDING[op]  # left-associative: the right operand must bind tighter
    return (f"{_wrap(left, prec)} {op} {_wrap(right, prec + 1)}",
            f"{left[1]} {right[1]} {op}", prec)


def _power(base: Printed, exponent: Printed) -> Printed:
    return f"{_wrap(base, OPERAND)}^{_wrap(exponent, 9)}", f"{base[1]} {exponent[1]} ^", 9


def _negation(operand: Printed) -> Printed:
    return f"-{_wrap(operand, 8)}", f"{operand[1]} neg", 8


def _transpose(operand: Printed) -> Printed:
    return f"{_wrap(operand, OPERAND)}.T", f"{operand[1]} transpose/1", OPERAND


@dataclass(frozen=True)
class Slice:
    """``start:stop:step`` in a subscript, each part omitted (None) or printed."""

    parts: tuple[Printed | None, Printed | None, Printed | None]


def _subscript(operand: Printed, elements: list[Printed | Slice]) -> Printed:
    texts, posts = [], [operand[1]]
    for element in elements:
        if isinstance(element, Slice):
            texts.append(":".join("" if part is None else part[0] for part in element.parts))
            posts += ["none" if part is None else part[1] for part in element.parts] + ["slice"]
        else:
            texts.append(element[0])
            posts.append(element[1])
    text = f"{_wrap(operand, OPERAND)}[{', '.join(texts)}]"
    return text, " ".join(posts + [f"index/{len(elements)}"]), OPERAND


def _tuple(elements: list[Printed]) -> Printed:
    inside = ", ".join(e[0] for e in elements) + ("," if len(elements) == 1 else "")
    posts = [e[1] for e in elements] + [f"tuple/{len(elements)}"]
    return f"({inside})", " ".join(posts), OPERAND


def _call(positional: list[Printed], keywords: dict[str, Printed]) -> Printed:
    texts = [e[0] for e in positional] + [f"{k}={e[0]}" for k, e in keywords.items()]
    posts = [e[1] for e in positional] + [f"{e[1]} {k}=" for k, e in keywords.items()]
    nargs = len(positional) + len(keywords)
    return f"f({', '.join(texts)})", " ".join(posts + [f"f/{nargs}"]), OPERAND


def _array_branches(children: st.SearchStrategy[Printed]) -> st.SearchStrategy[Printed]:
    part = st.none() | children
    element = children | st.tuples(part, part, part).map(Slice)
    return (st.builds(_binary, st.sampled_from(list(_BINDING)), children, children)
            | st.builds(_power, children, children)
            | st.builds(_negation, children)
            | st.builds(_transpose, children)
            | st.builds(_subscript, children, st.lists(element, min_size=1, max_size=3))
            | st.builds(_tuple, st.lists(children, max_size=3))
            | st.builds(_call, st.lists(children, max_size=2),
                        st.dictionaries(st.sampled_from(["axis", "k"]), children, max_size=2)))


array_trees = st.recursive(st.sampled_from(["x", "W", "b"]).map(lambda n: (n, n, OPERAND)),
                           _array_branches, max_leaves=10)


@settings(max_examples=500, deadline=None)
@given(array_trees)
def test_round_trip_through_minimal_parentheses(tree: Printed) -> None:
    text, expected, _ = tree
    assert postfix(text) == expected, text


# ---- any input, and inputs of any depth -----------------------------------------------------

FRAGMENTS = ["x", "W", "1", ".5", "1.", "pi", "(", ")", "[", "]", ",", ":", "=", "==", "@",
             "@=", ".", ".T", "T", "+", "-", "*", "^", "f(", "sum(", "axis=", "if", "else",
             "not", "def", "return", " ", "\n", "    ", "#c\n", "x: (n,)", "$"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_any_input_parses_or_raises_compile_error(fragments: list[str]) -> None:
    text = "".join(fragments)
    try:
        function = parse(text, "t.txt")
    except CompileError as exc:
        assert exc.line >= 1 and exc.col >= 1
    else:
        for statement in walk(function.body):
            for expr in expressions(statement):
                assert stack_effect(expr) == 1, text


def expressions(statement: Statement) -> list[tuple[Item, ...]]:
    """The expressions that a statement holds itself (not those of its body)."""
    if isinstance(statement, For):
        return [statement.stop] if statement.start is None else [statement.start, statement.stop]
    if isinstance(statement, If):
        return [statement.test]
    return [statement.expr]


def stack_effect(expr: tuple[Item, ...]) -> int:
    """What evaluating the postfix items leaves on the stack (never below empty)."""
    pops = {"num": 0, "const": 0, "name": 0, "none": 0, "binary": 2, "unary": 1, "cond": 3,
            "keyword": 1, "slice": 3}
    depth = 0
    for item in expr:
        taken = item.nargs + (item.kind == "index") if item.kind not in pops else pops[item.kind]
        assert depth >= taken, item
        depth += 1 - taken
    return depth


DEPTH = 10_000


@pytest.mark.parametrize("text, expected_items", [
    pytest.param("x" + "[0]" * DEPTH, 2 * DEPTH + 1, id="x[0][0]"),
    pytest.param("x" + ".T" * DEPTH, DEPTH + 1, id="x.T.T"),
    pytest.param("x[" * DEPTH + "0" + "]" * DEPTH, 2 * DEPTH + 1, id="x[x[0]]"),
    pytest.param("x[:" * DEPTH + "]" * DEPTH, 5 * DEPTH + 1, id="x[:x[:]]"),
    pytest.param("(" * DEPTH + "x" + ",)" * DEPTH, DEPTH + 1, id="((x,),)"),
    pytest.param("f(k=" * DEPTH + "x" + ")" * DEPTH, 2 * DEPTH + 1, id="f(k=f(k=x))"),
    pytest.param("@".join(["x"] * DEPTH), 2 * DEPTH - 1, id="x@x@x"),
])
def test_deep_nesting_needs_no_recursion(text: str, expected_items: int) -> None:
    with shallow_stack(50):
        expr = parse(text, "deep.txt").body[0].expr
    assert len(expr) == expected_items
    assert stack_effect(expr) == 1


def test_many_parameters_with_shapes() -> None:
    text = "f(" + ", ".join(f"x{k}: (n, {k})" for k in range(10_000)) + ") = x0"
    function = parse(text, "t.txt")
    assert len(function.shapes) == 10_000
    col = text.index("x9999: (") + 1
    assert function.shapes[-1] == (Name("n", 1, col + 8), Name("9999", 1, col + 11))

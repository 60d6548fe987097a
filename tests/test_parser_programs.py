"""The front end's programs (form C): 'for' loops, 'if'/'elif'/'else' branches and several
functions in one file (lexer and parser).

Expressions are checked as postfix strings as in test_parser.py; statements are checked field by
field, with their locations. Blocks nested 200 deep (twice Python's own limit of 100 levels of
indentation) are parsed with only a few Python frames to spare, which proves that nothing
recurses over the nesting. Every error message is asserted with its line and column.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_helpers import error, render, shallow_stack

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import tokenize
from gradgen.frontend.parser import parse
from gradgen.frontend.syntax import (
    Assign,
    For,
    Function,
    If,
    Item,
    Name,
    Return,
    Statement,
    pops,
    walk,
)


def program(*lines: str, entry: str | None = None) -> Function:
    return parse("".join(line + "\n" for line in lines), "t.txt", entry)


def body(*lines: str) -> tuple[Statement, ...]:
    """The statements of ``def f(x, n):`` with the given (indented) lines."""
    return program("def f(x, n):", *lines).body


def outline(statements: tuple[Statement, ...]) -> list:
    """A statement list as nested lists that read at a glance: ``'a = x 1 +'``,
    ``('for', 'i', start, stop, [...])``, ``('if', test, [...], [...])``, ``'return s'``."""
    out = []
    for statement in statements:
        if isinstance(statement, Assign):
            out.append(f"{statement.target.text} = {render(statement.expr)}")
        elif isinstance(statement, Return):
            out.append(f"return {render(statement.expr)}")
        elif isinstance(statement, For):
            out.append(("for", statement.target.text, render(statement.start),
                        render(statement.stop), outline(statement.body)))
        else:
            out.append(("if", render(statement.test), outline(statement.body),
                        outline(statement.orelse)))
    return out


# ---- loops -------------------------------------------------------------------------------------

def test_for_loop_fields_and_locations() -> None:
    loop, ret = body("    s = 0",
                     "    for i in range(n):",
                     "        s += x * i",
                     "    return s")[1:]
    assert isinstance(loop, For)
    assert loop.target == Name("i", 3, 9)
    assert (loop.line, loop.col) == (3, 5)
    assert loop.start is None
    assert loop.stop == (Item("name", "n", 3, 20),)
    (assign,) = loop.body
    assert assign.target == Name("s", 4, 9)
    assert render(assign.expr) == "s x i * +"
    assert isinstance(ret, Return) and (ret.line, ret.col) == (5, 5)


@pytest.mark.parametrize("header, start, stop", [
    ("range(n)", None, "n"),
    ("range(1, n)", "1", "n"),
    ("range(n - 1)", None, "n 1 -"),
    ("range(2*k, n - 1)", "2 k *", "n 1 -"),
    ("range(f(a, b), g(c)[0])", "a b f/2", "c g/1 0 index/1"),
    ("range((a, b), c if d else e)", "a b tuple/2", "c d e ?:"),
    ("range(range(3))", None, "3 range/1"),
    ("range(  # comment\n        1,\n        n,)", "1", "n"),
    ("range (n)", None, "n"),
])
def test_range_bounds_are_expressions(header: str, start: str | None, stop: str) -> None:
    (loop,) = body(f"    for k in {header}:", "        x = x", "    return x")[:1]
    assert (render(loop.start), render(loop.stop)) == (start, stop)


def test_one_line_loop_body() -> None:
    assert outline(body("    for t in range(1, n): x = x * t", "    return x")) == [
        ("for", "t", "1", "n", ["x = x t *"]), "return x"]


def test_loop_body_of_several_statements_then_more_statements() -> None:
    assert outline(body("    for i in range(3):",
                        "        a = x",
                        "",
                        "        # a comment",
                        "        x = a + i",
                        "    y = x",
                        "    return y")) == [
        ("for", "i", None, "3", ["a = x", "x = a i +"]), "y = x", "return y"]


# ---- branches ----------------------------------------------------------------------------------

def test_if_fields_and_locations() -> None:
    branch = body("    if x > 0:",
                  "        y = x",
                  "    else:",
                  "        y = -x",
                  "    return y")[0]
    assert isinstance(branch, If)
    assert (branch.line, branch.col) == (2, 5)
    assert branch.test == (Item("name", "x", 2, 8), Item("num", "0", 2, 12, 0.0),
                           Item("binary", ">", 2, 10))
    assert outline(branch.body) == ["y = x"]
    assert outline(branch.orelse) == ["y = x neg"]
    assert branch.orelse[0].target == Name("y", 5, 9)


def test_if_without_else_has_an_empty_orelse() -> None:
    branch = body("    if x > 0:", "        x = 2*x", "    return x")[0]
    assert branch.orelse == ()


def test_elif_chain_is_nested_ifs_in_orelse() -> None:
    branch = body("    if x < 0:",
                  "        y = 0",
                  "    elif x < 1:",
                  "        y = x",
                  "    elif x < 2: y = x^2",
                  "    else:",
                  "        y = 4",
                  "    return y")[0]
    assert outline((branch,)) == [
        ("if", "x 0 <", ["y = 0"], [
            ("if", "x 1 <", ["y = x"], [
                ("if", "x 2 <", ["y = x 2 ^"], ["y = 4"])])])]
    second = branch.orelse[0]
    third = second.orelse[0]
    assert [(b.line, b.col) for b in (branch, second, third)] == [(2, 5), (4, 5), (6, 5)]
    assert len(branch.orelse) == len(second.orelse) == 1


def test_elif_without_else() -> None:
    assert outline(body("    if x: y = 1", "    elif n: y = 2", "    return y"))[0] == (
        "if", "x", ["y = 1"], [("if", "n", ["y = 2"], [])])


def test_one_line_branches() -> None:
    assert outline(body("    if x > 0: y = x", "    else: y = 0", "    return y")) == [
        ("if", "x 0 >", ["y = x"], ["y = 0"]), "return y"]


def test_statement_if_and_conditional_expression() -> None:
    assert outline(body("    if (x if n else -x) > 0:",
                        "        y = 1 if x else 2",
                        "    else:",
                        "        y = x if not n else x + 1 if n > 1 else 0",
                        "    return y if y else x")) == [
        ("if", "x n x neg ?: 0 >", ["y = 1 x 2 ?:"],
         ["y = x n not x 1 + n 1 > 0 ?: ?:"]),
        "return y y x ?:"]


def test_colons_inside_brackets_do_not_end_a_header() -> None:
    assert outline(body("    if sum(x[1:3, ::2]) > x[:][0]:", "        y = 1",
                        "    else:", "        y = 2", "    return y"))[0][1] == (
        "x 1 3 none slice none none 2 slice index/2 sum/1 x none none none slice index/1 0 "
        "index/1 >")


def test_augmented_assignment_inside_blocks() -> None:
    assert outline(body("    for i in range(n):",
                        "        if i > 1:",
                        "            x -= i",
                        "        else:",
                        "            x @= x",
                        "    return x")) == [
        ("for", "i", None, "n", [("if", "i 1 >", ["x = x i -"], ["x = x x @"])]), "return x"]


# ---- nesting -----------------------------------------------------------------------------------

def test_nested_blocks_close_at_each_dedent() -> None:
    assert outline(body("    s = 0",
                        "    for i in range(n):",
                        "        for j in range(i, n):",
                        "            if i == j:",
                        "                s += x",
                        "            elif i < j:",
                        "                if x > 0: s = s * 2",
                        "            t = s",
                        "        s = s + t",
                        "    if s > 0:",
                        "        for k in range(2):",
                        "            s = s / 2",
                        "    else:",
                        "        s = 0",
                        "    return s")) == [
        "s = 0",
        ("for", "i", None, "n", [
            ("for", "j", "i", "n", [
                ("if", "i j ==", ["s = s x +"], [
                    ("if", "i j <", [("if", "x 0 >", ["s = s 2 *"], [])], [])]),
                "t = s"]),
            "s = s t +"]),
        ("if", "s 0 >", [("for", "k", None, "2", ["s = s 2 /"])], ["s = 0"]),
        "return s"]


def test_else_after_several_dedents_belongs_to_its_own_level() -> None:
    assert outline(body("    if x:",
                        "        if n:",
                        "            y = 1",
                        "    else:",
                        "        y = 2",
                        "    return y"))[0] == (
        "if", "x", [("if", "n", ["y = 1"], [])], ["y = 2"])


def test_walk_lists_nested_statements_in_source_order() -> None:
    statements = body("    a = 1",
                      "    for i in range(n):",
                      "        if i: b = 2",
                      "        else:",
                      "            for j in range(i): c = 3",
                      "        d = 4",
                      "    return a")
    kinds = [type(s).__name__ if not isinstance(s, Assign) else s.target.text
             for s in walk(statements)]
    assert kinds == ["a", "For", "If", "b", "For", "c", "d", "Return"]


def test_pops_counts_operands() -> None:
    expr = body("    for i in range(f(a, b)[0], -x.T @ y if c else z): x = 1", "    return x")[0]
    for bound in (expr.start, expr.stop):
        depth = 0
        for item in bound:
            assert depth >= pops(item)
            depth += 1 - pops(item)
        assert depth == 1


def test_a_function_ending_in_a_block_has_no_return() -> None:
    text = "def f(x): return x\ndef g(y):\n    for i in range(2):\n        y = y + 1\n"
    assert error(text) == (2, 1, "function 'g' has no 'return'")


def test_tabs_indent_nested_blocks() -> None:
    assert outline(program("def f(x):", "\tfor i in range(2):", "\t\tx = x + i",
                           "\treturn x").body) == [
        ("for", "i", None, "2", ["x = x i +"]), "return x"]


def test_elif_is_a_keyword_and_range_a_name() -> None:
    kinds = [(tok.kind, tok.text) for tok in itertools.islice(
        tokenize(Source("t.txt", "elif range in")), 3)]
    assert kinds == [("keyword", "elif"), ("name", "range"), ("keyword", "in")]


def test_names_of_python_statements_remain_variables() -> None:
    assert outline(body("    while = x", "    pass = while", "    range = pass",
                        "    return range")) == [
        "while = x", "pass = while", "range = pass", "return range"]


# ---- several functions -------------------------------------------------------------------------

THREE = ("def g(a):",
         "    return a^2",
         "",
         "# a comment between functions",
         "def f(x, y):",
         "    return g(x) + h(y)",
         "def h(b): return 2*b")


def test_the_last_function_is_the_entry_and_the_others_are_helpers() -> None:
    function = program(*THREE)
    assert function.name == Name("h", 7, 5)
    assert [(h.name.text, h.name.line) for h in function.helpers] == [("g", 1), ("f", 5)]
    assert all(h.form == "program" and h.helpers == () for h in function.helpers)
    assert [p.text for p in function.helpers[1].params] == ["x", "y"]
    assert render(function.helpers[1].body[0].expr) == "x g/1 y h/1 +"
    assert function.helpers[0].source is function.source


@pytest.mark.parametrize("entry, helpers", [("g", ["f", "h"]), ("f", ["g", "h"]),
                                            ("h", ["g", "f"])])
def test_entry_selects_the_function(entry: str, helpers: list[str]) -> None:
    function = program(*THREE, entry=entry)
    assert function.name.text == entry
    assert [h.name.text for h in function.helpers] == helpers


def test_one_function_has_no_helpers() -> None:
    assert program("def f(x):", "    return x").helpers == ()
    assert program("def f(x):", "    return x", entry="f").helpers == ()


def test_entry_of_forms_a_and_b() -> None:
    assert parse("f(x) = x", "t.txt", "f").name.text == "f"
    assert parse("x + 1", "t.txt", "f").name.text == "f"
    assert error("f(x) = x", "g") == (1, 1, "no function named 'g'; the file defines f")
    assert error("x + 1", "g") == (1, 1, "no function named 'g'; the file defines f")


def test_entry_that_is_not_defined() -> None:
    assert error("".join(line + "\n" for line in THREE), "k") == (
        1, 1, "no function named 'k'; the file defines g, f, h")


def test_helpers_with_shapes_and_blocks() -> None:
    function = program("def norm2(v: (n,)):",
                       "    s = 0",
                       "    for i in range(n): s += v[i]^2",
                       "    return s",
                       "def loss(W: (n, n), x: (n,)):",
                       "    return norm2(W @ x)")
    (helper,) = function.helpers
    assert helper.shapes == ((Name("n", 1, 15),),)
    assert outline(helper.body)[1] == ("for", "i", None, "n", ["s = s v i index/1 2 ^ +"])


# ---- depth: no recursion over nested blocks ----------------------------------------------------

DEPTH = 200


def nested_text(depth: int) -> str:
    """``for``/``if`` blocks nested `depth` deep, with a statement before and after each inner
    block, then the function's return."""
    lines = ["def f(x, n):"]
    for level in range(depth):
        pad = "    " * (level + 1)
        lines.append(f"{pad}a{level} = x")
        lines.append(f"{pad}for i{level} in range(n):" if level % 2 else f"{pad}if x > {level}:")
    lines.append("    " * (depth + 1) + "x = x + 1")
    for level in reversed(range(depth)):
        lines.append("    " * (level + 1) + f"b{level} = x")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def test_blocks_nested_200_deep() -> None:
    with shallow_stack(50):
        function = parse(nested_text(DEPTH), "deep.txt")
    statements = function.body
    for level in range(DEPTH):
        first, block, last = statements[:3]
        assert first.target.text == f"a{level}"
        assert isinstance(block, If if level % 2 == 0 else For)
        assert (block.line, block.col) == (2 * level + 3, 4 * level + 5)
        assert last.target.text == f"b{level}"
        if isinstance(block, For):
            assert block.target.text == f"i{level}"
        else:
            assert block.orelse == ()
        assert len(statements) == (4 if level == 0 else 3)
        statements = block.body
    assert outline(statements) == ["x = x 1 +"]
    assert sum(1 for _ in walk(function.body)) == 3 * DEPTH + 2


def test_elif_chain_200_long() -> None:
    lines = ["def f(x):", "    if x < 0:", "        y = 0"]
    for k in range(1, DEPTH):
        lines += [f"    elif x < {k}:", f"        y = {k}"]
    lines += ["    else:", "        y = x", "    return y"]
    with shallow_stack(50):
        branch = program(*lines).body[0]
    for k in range(DEPTH):
        assert isinstance(branch, If) and render(branch.test) == f"x {k} <"
        assert (branch.line, branch.col) == (2 * k + 2, 5)
        (branch,) = branch.orelse
    assert outline((branch,)) == ["y = x"]


def test_many_functions() -> None:
    text = "".join(f"def f{k}(x):\n    return x + {k}\n" for k in range(2_000))
    function = parse(text, "many.txt", "f0")
    assert function.name.text == "f0"
    assert [h.name.text for h in function.helpers[:2]] == ["f1", "f2"]
    assert len(function.helpers) == 1_999


# ---- errors ------------------------------------------------------------------------------------

RANGE = "expected 'range(...)' after 'in': loops run over range(stop) or range(start, stop)"
RANGE_ARGS = "range takes 1 or 2 arguments (a step is not supported)"
FOR_RETURN = ("'return' inside a 'for' loop is not supported: assign a variable and return it "
              "after the loop")
IF_RETURN = ("'return' inside an 'if' is not supported: assign a variable in each branch and "
             "return it after the 'if'")
SUBSCRIPT = ("assignment to an element or slice is not supported: compute the whole array "
             "(stack, concat, where)")

BODY_ERRORS = [
    # loops
    ("    for i in x:\n        y = i\n    return y\n", 2, 14, RANGE),
    ("    for i in range:\n        y = i\n    return y\n", 2, 14, RANGE),
    ("    for i in range(3) + 1:\n        y = i\n    return y\n", 2, 14, RANGE),
    ("    for i in range(3)[0]:\n        y = i\n    return y\n", 2, 14, RANGE),
    ("    for i in (range(3)):\n        y = i\n    return y\n", 2, 14, RANGE),
    ("    for i in\n", 2, 13, RANGE),
    ("    for i in range():\n        y = i\n    return y\n", 2, 14, RANGE_ARGS),
    ("    for i in range(0, n, 2):\n        y = i\n    return y\n", 2, 14, RANGE_ARGS),
    ("    for i in range(stop=3):\n        y = i\n    return y\n", 2, 20,
     "range takes no keyword arguments"),
    ("    for i in range(3)\n        y = i\n    return y\n", 2, 22,
     "expected ':' after 'range(...)'"),
    ("    for i in range(3) x:\n", 2, 23, "missing operator: write 'range(3)*x'"),
    ("    for i in range(3 :\n        y = 1\n", 2, 22, "expected ')' to close '(' opened at 2:19"),
    ("    for i in range(3)):\n", 2, 22, "unmatched ')'"),
    ("    for (i) in range(3):\n", 2, 9, "expected a loop variable name after 'for', got '('"),
    ("    for in range(3):\n", 2, 9, "expected a loop variable name after 'for', got 'in'"),
    ("    for\n", 2, 8, "expected a loop variable name after 'for', got end of line"),
    ("    for pi in range(3):\n", 2, 9, "'pi' is a reserved word"),
    ("    for i, j in range(3):\n", 2, 10, "expected 'in' after the loop variable, got ','"),
    ("    for i = range(3):\n", 2, 11, "expected 'in' after the loop variable, got '='"),
    ("    for i in range(3):\n    return x\n", 3, 5,
     "expected an indented block after 'for', got 'return'"),
    ("    if x:\n        for i in range(3):\n    return x\n", 4, 5,
     "expected an indented block after 'for'"),
    ("    for i in range(3):\n", 2, 23, "expected an indented block after 'for'"),
    ("    for i in range(3): y = 1\n    else: y = 2\n    return y\n", 3, 5,
     "'else' after a 'for' loop is not supported"),
    # branches
    ("    if x > 0\n        y = 1\n    return y\n", 2, 13, "expected ':' after the 'if' condition"),
    ("    if x: y = 1\n    elif n\n", 3, 11, "expected ':' after the 'elif' condition"),
    ("    if x = 0:\n", 2, 10, "unexpected '=' (use '==' to compare)"),
    ("    if x += 1:\n", 2, 10, "unexpected '+='"),
    ("    if:\n", 2, 7, "expected an expression, got ':'"),
    ("    if x: y = 1\n    elif:\n", 3, 9, "expected an expression, got ':'"),
    ("    if x if n:\n", 2, 14, "expected 'else' after the 'if' at 2:10"),
    ("    if f(x:\n", 2, 11, "expected ')' to close '(' opened at 2:9"),
    ("    if x: y = 1\n    else y = 2\n", 3, 10, "expected ':' after 'else'"),
    ("    if x: y = 1\n    else if n: y = 2\n", 3, 10,
     "expected ':' after 'else' (write 'elif' for 'else if')"),
    ("    y = 1\n    else:\n        y = 2\n", 3, 5, "'else' without 'if'"),
    ("    elif x:\n        y = 2\n", 2, 5, "'elif' without 'if'"),
    ("    if x:\n        y = 1\n        else:\n            y = 2\n", 4, 9, "'else' without 'if'"),
    ("    if x: y = 1\n    else: y = 2\n    else: y = 3\n", 4, 5, "'else' without 'if'"),
    ("    if x:\n    return x\n", 3, 5, "expected an indented block after 'if', got 'return'"),
    ("    if x: y = 1\n    else:\n    return y\n", 4, 5,
     "expected an indented block after 'else', got 'return'"),
    ("    if x: y = 1\n    elif n:\n", 3, 12, "expected an indented block after 'elif'"),
    ("    if x: for i in range(3): y = i\n", 2, 11,
     "'for' cannot follow ':' on the same line: start an indented block"),
    ("    for i in range(3): if x: y = i\n", 2, 24,
     "'if' cannot follow ':' on the same line: start an indented block"),
    ("    if x: y = 1 else: y = 2\n", 2, 17, "'else' without 'if'"),
    # 'return' only last, at the top
    ("    for i in range(3):\n        return i\n    return x\n", 3, 9, FOR_RETURN),
    ("    for i in range(3): return i\n", 2, 24, FOR_RETURN),
    ("    if x:\n        return 1\n    return x\n", 3, 9, IF_RETURN),
    ("    if x: y = 1\n    elif n:\n        return 1\n", 4, 9, IF_RETURN),
    ("    if x: y = 1\n    else: return y\n", 3, 11, IF_RETURN),
    ("    if x:\n        for i in range(2):\n            return i\n", 4, 13, FOR_RETURN),
    ("    for i in range(2):\n        if x:\n            return i\n", 4, 13, IF_RETURN),
    ("    return x\n    for i in range(2):\n        x = 1\n", 3, 5,
     "unreachable statement after 'return'"),
    ("    for i in range(2):\n        x = 1\n", 1, 1, "function 'f' has no 'return'"),
    ("    y = x\n    if x:\n        y = 1\n    else:\n        y = 2\n", 1, 1,
     "function 'f' has no 'return'"),
    # statements the language does not have
    ("    while x > 0:\n        x = x - 1\n", 2, 5,
     "'while' loops are not supported: use 'for i in range(n)' with a fixed trip count"),
    ("    for i in range(3):\n        break\n", 3, 9,
     "'break' is not supported: loops run for a fixed number of steps"),
    ("    for i in range(3):\n        continue\n", 3, 9,
     "'continue' is not supported: loops run for a fixed number of steps"),
    ("    if x:\n        pass\n", 3, 9,
     "'pass' is not supported: leave it out (a block holds at least one assignment)"),
    ("    nonlocal y\n", 2, 5, "'nonlocal' statements are not supported yet"),
    ("    global y\n", 2, 5, "'global' statements are not supported yet"),
    ("    import numpy\n", 2, 5, "'import' statements are not supported yet"),
    ("    class A:\n", 2, 5, "'class' statements are not supported yet"),
    ("    with x:\n", 2, 5, "'with' statements are not supported yet"),
    ("    try:\n", 2, 5, "'try' statements are not supported yet"),
    ("    yield x\n", 2, 5, "'yield' statements are not supported yet"),
    ("    lambda y: y\n", 2, 5, "'lambda' expressions are not supported"),
    ("    y = lambda z: z\n", 2, 9, "'lambda' expressions are not supported (to multiply a "
     "variable named lambda, write 'lambda*z')"),
    ("    def g(y):\n        return y\n", 2, 5,
     "a 'def' inside a function is not supported: define functions at the top level"),
    ("    for i in range(2):\n        def g(y): return y\n", 3, 9,
     "a 'def' inside a function is not supported: define functions at the top level"),
    # assignments to parts of arrays
    ("    x[0] = 1\n", 2, 5, SUBSCRIPT),
    ("    x[1:3] += 1\n", 2, 5, SUBSCRIPT),
    ("    x[i][j] = 1\n", 2, 5, SUBSCRIPT),
    ("    x[f(i), [j]] -= 1\n", 2, 5, SUBSCRIPT),
    ("    for i in range(3):\n        x[i] = i\n", 3, 9, SUBSCRIPT),
    ("    x[0]\n", 2, 5, "expected an assignment or 'return'"),
    ("    x[0] == 1\n", 2, 5, "expected an assignment or 'return'"),
    ("    x.T = 1\n", 2, 5, "expected an assignment or 'return'"),
    # keywords as targets
    ("    if = 1\n", 2, 5, "'if' is a reserved word"),
    ("    elif = 1\n", 2, 5, "'elif' is a reserved word"),
    ("    else = 1\n", 2, 5, "'else' is a reserved word"),
    ("    in = 1\n", 2, 5, "'in' is a reserved word"),
    ("    y = elif\n", 2, 9, "'elif' is a reserved word"),
    ("    if x:\n        y = 1\n  else:\n", 4, 3,
     "unindent does not match any outer indentation level"),
    ("    if x:\n        y = 1\n            z = 2\n", 4, 13, "unexpected indent"),
]


@pytest.mark.parametrize("text, line, col, message", BODY_ERRORS)
def test_statement_errors(text: str, line: int, col: int, message: str) -> None:
    assert error("def f(x):\n" + text) == (line, col, message)


@pytest.mark.parametrize("text, line, col, message", [
    ("def f(x):\n    return x\ndef f(y):\n    return y\n", 3, 1,
     "function 'f' is defined twice (first at 1:1)"),
    ("def f(x): return x\n\n  # comment\ndef g(x): return x\ndef f(x): return x\n", 5, 1,
     "function 'f' is defined twice (first at 1:1)"),
    ("def f(x):\n    y = x\ndef g(y):\n    return y\n", 1, 1, "function 'f' has no 'return'"),
    ("def f(x):\n    return x\ndef g(y):\n", 3, 10,
     "expected an indented block after 'def', got end of input"),
    ("def f(x):\n    return x\ndef\n", 3, 4,
     "expected a function name after 'def', got end of line"),
    ("def f(x):\n    return x\ny = 1\n", 3, 1, "expected end of input after the function, got 'y'"),
    ("def f(x):\n    return x\nfor i in range(3):\n", 3, 1,
     "expected end of input after the function, got 'for'"),
    ("def f(x): return x\n    def g(y): return y\n", 2, 5, "unexpected indent"),
    ("f(x) = x\ndef g(y): return y\n", 2, 1, "expected end of input, got 'def'"
     " (an expression continues onto another line only inside parentheses)"),
    ("def f(x): if x: y = 1\n", 1, 11,
     "'if' cannot follow ':' on the same line: start an indented block"),
    ("for i in range(3): x = 1\n", 1, 1, "'for' is a reserved word"),
    ("if x: y = 1\n", 1, 1, "expected an expression, got 'if'"),
])
def test_file_errors(text: str, line: int, col: int, message: str) -> None:
    assert error(text) == (line, col, message)


# ---- any input ---------------------------------------------------------------------------------

FRAGMENTS = ["def f(x):", "def g(y):", "x", "y", "1", "(", ")", "[", "]", ",", ":", "=", "+=",
             "+", "*", "<", "if", "elif", "else", "for", "i", "in", "range(", "range(n)",
             "return", "while", "pass", "not", " ", "\n", "    ", "        ", "\t", "#c\n"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30), st.sampled_from([None, "f", "g"]))
def test_any_program_parses_or_raises_compile_error(fragments: list[str],
                                                    entry: str | None) -> None:
    text = "".join(fragments)
    try:
        function = parse(text, "t.txt", entry)
    except CompileError as exc:
        assert exc.line >= 1 and exc.col >= 1
    else:
        for each in (function, *function.helpers):
            assert isinstance(each.body[-1], Return)
            returns = [s for s in walk(each.body) if isinstance(s, Return)]
            assert returns == [each.body[-1]]

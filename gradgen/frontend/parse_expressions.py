"""Parser, expressions (text → syntax): the tokens of one expression → its postfix `Item`s.

Expressions are parsed by operator precedence (`parse_precedence`) with an explicit operator
stack (shunting-yard, `parse_brackets`), straight into the postfix `Item`s of `syntax`. Nothing
recurses, so the depth of nesting is limited by memory only. The messages for a missing '*'
(``2x``) and a chained comparison (``a < b < c``) quote the source and suggest the fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import chain

from gradgen.errors import CompileError
from gradgen.frontend.lexer import DEDENT, END, KEYWORD, NAME, NEWLINE, NUM, Token, token_end
from gradgen.frontend.parse_brackets import Brackets, Group
from gradgen.frontend.parse_precedence import (
    COMPARISON,
    COMPARISONS,
    CONDITIONAL,
    GROUP,
    INFIX,
    NOT,
    OR,
    UNARY,
)
from gradgen.frontend.parse_reader import (
    ASSIGNMENTS,
    BRACKET_DEPTH,
    CONTINUATION_HINT,
    LINE_ENDS,
    describe,
    is_keyword,
)
from gradgen.frontend.syntax import Expr, Item

#: What ends the right operand of a comparison (for quoting it in the chained-comparison error).
_ENDS_COMPARISON_OPERAND = frozenset({"and", "or", "if", "else", ",", ")", "]", "=", ":",
                                      *COMPARISONS})
#: What may end an empty element of a group: 'f()', '()', '(a,)', 'x[:]', 'x[1:, 0]'.
_AFTER_EMPTY_ELEMENT = frozenset({")", "]", ",", ":"})
_RESERVED_AS_NAMES = frozenset({"def", "return", "for", "elif"})
#: ``_new(Item, (...))`` is ``Item(...)`` without the call through its Python-level __new__: items
#: are made once per token of the file.
_new = tuple.__new__


class ExpressionParser(Brackets):
    """One expression, by operator precedence: operands, operators and postfix '.T'; the
    groups that brackets open are `Brackets`' part."""

    def parse(self, first: Token) -> tuple[Expr, Token]:
        """Parse the expression starting at `first`: its postfix items and the token after it.

        The loop alternates between wanting an operand (see `operand`) and wanting an
        operator, after the operand that began at ``last_start`` (see `after_operand`). It runs
        once per token of the file, so the frequent tokens (names, numbers, infix operators)
        are tested first. A postfix '.T' or '[...]' comes where an operator is wanted, and
        applies to the operand just completed.
        """
        self.start = first
        last_start = None  # None while an operand is wanted
        after_name = False  # a '(' now opens a call
        for tok in chain((first,), self.tokens):
            if last_start is None:
                last_start = self.operand(tok)
                after_name = last_start is tok and tok.kind == NAME  # a plain name, not f()
            elif tok.text in INFIX:
                self.infix(tok)
                last_start = None
            else:
                last_start = self.after_operand(tok, last_start, after_name)
                if last_start is ENDED:
                    return self.finish(tok)
                after_name = False
        raise AssertionError("the token stream ends with END")

    def operand(self, tok: Token) -> Token | None:
        """`tok` where an operand is wanted: returns where the operand began if `tok` completed
        one (a name, a number, 'pi'), None if it only opened one ('(', a unary '-'...)."""
        kind, text, line, col, _ = tok
        if kind == NAME:
            self.out.append(_new(Item, ("name", text, line, col, 0.0, 0)))
            return tok
        if kind == NUM:
            self.out.append(_new(Item, ("num", text, line, col, self.number(tok), 0)))
            return tok
        prefix = _PREFIXES.get(text)
        return self.missing_operand(tok) if prefix is None else prefix(self, tok)

    def infix(self, tok: Token) -> None:
        """A binary operator: output the stacked ones that bind at least as tightly (see
        `INFIX`), then stack it."""
        level, floor, op = INFIX[tok.text]
        self.pop_operators(floor)
        ops = self.ops
        if level == COMPARISON and ops and ops[-1][0] == COMPARISON:
            raise self.chained_comparison(tok)
        ops.append((level, _new(Item, ("binary", op, tok.line, tok.col, 0.0, 0)), tok))

    def after_operand(self, tok: Token, last_start: Token, after_name: bool) -> Token | None:
        """A token other than an infix operator after the operand that began at `last_start`:
        returns where the operand now complete began, None if an operand is wanted next, or
        `ENDED` if `tok` ends the expression."""
        text = tok.text
        if text == ")" or text == "]":
            return self.close_group(tok)
        if text == "(" and after_name:
            self.open_call(last_start, tok)
            return None
        if tok.kind in LINE_ENDS or text in ASSIGNMENTS:
            return None if text == "=" and self.keyword(tok, after_name) else ENDED
        return self.other_operator(tok, last_start)

    def number(self, tok: Token) -> float:
        value = float(tok.text)  # the lexer let through only decimal literals
        if value == math.inf:
            raise self.error(f"number '{tok.text}' is too large", tok)
        return value

    # ---- where an operand is wanted ------------------------------------------------------

    def open_parenthesis(self, tok: Token) -> None:
        self.ops.append(Group(GROUP, "(", tok, tok))

    def negation(self, tok: Token) -> None:
        self.ops.append((UNARY, _new(Item, ("unary", "-", tok.line, tok.col, 0.0, 0)), tok))

    def push_not(self, tok: Token) -> None:
        ops = self.ops
        if ops and ops[-1][0] > NOT:  # Python's grammar: 'not' binds looser than these
            op = ops[-1][2].text
            raise self.error(f"'not' after '{op}' needs parentheses: write '{op} (not ...)'",
                             tok)
        ops.append((NOT, Item("unary", "not", tok.line, tok.col), tok))

    def constant(self, tok: Token) -> Token:
        self.out.append(Item("const", "pi", tok.line, tok.col))
        return tok

    def missing_operand(self, tok: Token) -> Token | None:
        """`tok` where an operand is wanted: it ends an empty element of a group (see
        `empty_element`), or it is an error."""
        group = self.group_with_empty_element(tok) if tok.text in _AFTER_EMPTY_ELEMENT else None
        if group is None:
            raise self.error(self.expected_expression(tok), tok)
        return self.empty_element(group, tok)

    def expected_expression(self, tok: Token) -> str:
        """The message for `tok`, found where an operand was wanted."""
        if tok.text == "[":
            return "list literals are not supported"
        if tok.kind == KEYWORD and tok.text in _RESERVED_AS_NAMES:
            return f"'{tok.text}' is a reserved word"
        if tok.kind == NEWLINE:
            return "expected an expression, got " + self.line_end()
        return f"expected an expression, got {describe(tok)}"

    def line_end(self) -> str:
        """How a message names the end of a line: the end of the input if no line follows."""
        following = self.skip(self.next(), (DEDENT,))
        return "end of input" if following.kind == END else "end of line" + CONTINUATION_HINT

    # ---- where an operator is wanted -----------------------------------------------------

    def other_operator(self, tok: Token, last_start: Token) -> Token | None:
        """A rarer token after the operand that began at `last_start`: '.T', '[', ',', ':',
        'if', 'else', or an error (see `after_operand`)."""
        if tok.text == ":" and self.header and self.outside_brackets():
            return ENDED
        step = _SEPARATORS.get(tok.text)
        if step is None:
            raise self.not_a_separator(tok, last_start)
        return step(self, tok, last_start)

    def not_a_separator(self, tok: Token, last_start: Token) -> CompileError:
        """The error for `tok` after an operand: an operand (``2x``: a missing '*') or any
        other token that cannot follow one."""
        if tok.kind == NAME or tok.text == "(" or is_keyword(tok, "pi"):
            return self.missing_operator(last_start, tok)
        return self.expected_operator(tok)

    def transpose(self, dot: Token, last_start: Token) -> Token:
        """'.T' after the operand that began at `last_start`: its transpose, output at once
        (nothing binds tighter); the operand stays complete."""
        name = self.next()
        if name.kind not in (NAME, KEYWORD):
            raise self.error("expected an attribute name after '.'", name)
        if name.text != "T":
            raise self.error(f"'.{name.text}' is not supported: the only attribute is '.T' "
                             "(transpose)", dot)
        self.out.append(Item("call", "transpose", dot.line, dot.col, 0.0, 1))
        return last_start

    def open_conditional(self, tok: Token) -> None:
        """'if' after an operand: the condition follows; the 'if' waits for its 'else'."""
        self.pop_operators(OR)
        group = self.top()
        if isinstance(group, Group) and group.kind == "if":
            raise self.error("a conditional expression used as a condition needs parentheses",
                             tok)
        self.ops.append(Group(GROUP, "if", tok, tok))

    def close_condition(self, tok: Token) -> None:
        """'else': the condition is complete; the 'if' waits on the stack for the else part."""
        group = self.innermost_group()
        if not isinstance(group, Group) or group.kind != "if":
            raise self.error("'else' without 'if'", tok)
        if_tok = group.opened
        self.ops[-1] = (CONDITIONAL, Item("cond", "if", if_tok.line, if_tok.col), tok)

    # ---- messages that quote the source --------------------------------------------------

    def missing_operator(self, last_start: Token, tok: Token) -> CompileError:
        """``2x``, ``(a+b)(b+1)``: suggest the '*' between the two operands (``lambda x`` is
        more likely Python's lambda than a variable named lambda times x)."""
        left = self.quote(last_start.pos, tok.pos)
        right = self.quote(tok.pos, self.operand_end(tok))
        if left == "lambda" and tok.kind == NAME:
            return self.error("'lambda' expressions are not supported (to multiply a variable "
                              f"named lambda, write 'lambda*{right}')", last_start)
        return self.error(f"missing operator: write '{left}*{right}'", tok)

    def operand_end(self, tok: Token) -> int:
        """Where the operand starting at `tok` ends: a call or '(' runs to its ')'."""
        read = [tok, *self.ahead(self.operand_last(tok))]
        return token_end(self.source, read[-1])

    def operand_last(self, tok: Token) -> Iterator[Token]:
        """The last token of a call or a '(' that `tok` starts, if it starts one."""
        opened = self.next() if tok.kind == NAME else tok
        if opened.text == "(":
            inside = [opened, *self.through_matching_paren()]
            yield inside[-1] if inside[-1].kind != END else inside[-2]

    def ahead(self, tokens: Iterator[Token]) -> Iterator[Token]:
        """`tokens`, read ahead for a message as far as they can be read: a bad character
        further on ends them, and the message quotes what came before it."""
        try:
            yield from tokens
        except CompileError:
            return

    def chained_comparison(self, tok: Token) -> CompileError:
        """``a < b < c``: suggest ``a < b and b < c`` with the source's own operands."""
        first = self.ops[-1][2]
        left = self.quote(self.comparison_start(), first.pos)
        middle = self.quote(token_end(self.source, first), tok.pos)
        right = self.quote(token_end(self.source, tok), self.comparison_operand_end(tok))
        return self.error(f"comparisons cannot be chained: write "
                          f"'{left} {first.text} {middle} and {middle} {tok.text} {right}'", tok)

    def comparison_start(self) -> int:
        """Where the left operand of the comparison on top of the stack begins: after the
        operator below it, or where the expression begins."""
        ops = self.ops
        return self.start.pos if len(ops) < 2 else token_end(self.source, ops[-2][2])

    def comparison_operand_end(self, operator: Token) -> int:
        """Where the right operand of a comparison ends: before the next looser operator."""
        read = [operator, *self.ahead(self.comparison_operand())]
        return token_end(self.source, read[-1])

    def comparison_operand(self) -> Iterator[Token]:
        """The tokens ahead up to a looser operator outside brackets, or the end of the line."""
        depth = 0
        for tok in self.tokens:
            if tok.kind in LINE_ENDS or (depth == 0 and tok.text in _ENDS_COMPARISON_OPERAND):
                return
            depth += BRACKET_DEPTH.get(tok.text, 0)
            yield tok


#: What `after_operand` returns for the token that ends the expression.
ENDED = Token(END, "", 0, 0, 0)

#: The tokens that open an operand, or complete one without being a name or a number (their
#: texts are reserved: none of them is a name): what each does where an operand is wanted.
_PREFIXES: dict[str, Callable[[ExpressionParser, Token], Token | None]] = {
    "(": ExpressionParser.open_parenthesis,
    "-": ExpressionParser.negation,
    "+": lambda parser, tok: None,  # unary plus leaves no trace
    "not": ExpressionParser.push_not,
    "pi": ExpressionParser.constant,
}

#: The rarer tokens after an operand: what each does (the operand's start given), returning as
#: `after_operand` does.
_SEPARATORS: dict[str, Callable[[ExpressionParser, Token, Token], Token | None]] = {
    ".": ExpressionParser.transpose,
    "[": lambda parser, tok, last_start: parser.open_index(last_start, tok),
    ",": lambda parser, tok, last_start: parser.comma(tok),
    ":": lambda parser, tok, last_start: parser.colon(tok),
    "if": lambda parser, tok, last_start: parser.open_conditional(tok),
    "else": lambda parser, tok, last_start: parser.close_condition(tok),
}

"""Parser, statements (text → syntax): the body of a ``def``, statement by statement.

A body's statements are assignments (``=``, ``+=`` ...), loops and branches (`parse_blocks`)
and a final ``return``. Blocks nest on an explicit stack of `Block`s, innermost last, so that
the depth of nesting costs no recursion; a closed loop or branch becomes a statement of the
block around it.
"""

from __future__ import annotations

from gradgen.errors import CompileError
from gradgen.frontend.lexer import DEDENT, END, INDENT, KEYWORD, NAME, NEWLINE, Token
from gradgen.frontend.parse_blocks import Block, BlockParser, chain_branches
from gradgen.frontend.parse_reader import (
    ASSIGNMENTS,
    BRACKET_DEPTH,
    compare_hint,
    describe,
    is_keyword,
)
from gradgen.frontend.syntax import Assign, Expr, For, Item, Name, Return, Statement

#: Python statements that the language does not have (they are ordinary names otherwise); the
#: first ones have a message of their own.
_UNSUPPORTED_STATEMENTS = {
    "while": "'while' loops are not supported: use 'for i in range(n)' with a fixed trip count",
    "break": "'break' is not supported: loops run for a fixed number of steps",
    "continue": "'continue' is not supported: loops run for a fixed number of steps",
    "pass": "'pass' is not supported: leave it out (a block holds at least one assignment)",
    "lambda": "'lambda' expressions are not supported",
    **{word: f"'{word}' statements are not supported yet" for word in (
        "import", "from", "with", "try", "except", "finally", "class", "del", "global",
        "nonlocal", "assert", "raise", "yield", "async", "match")},
}
#: What a line starting with these words is told, when it is no assignment.
_NOT_STATEMENTS = {**{word: f"'{word}' without 'if'" for word in ("elif", "else")},
                   **_UNSUPPORTED_STATEMENTS}
_SUBSCRIPT_ASSIGNED = ("assignment to an element or slice is not supported: compute the whole "
                       "array (stack, concat, where)")
_EXPECTED_STATEMENT = "expected an assignment or 'return'"
_RETURN_IN_BRANCH = ("'return' inside an 'if' is not supported: assign a variable in each "
                     "branch and return it after the 'if'")
#: The innermost block's kind → the message for a 'return' inside it.
_RETURN_INSIDE = {
    "for": "'return' inside a 'for' loop is not supported: assign a variable and return it "
           "after the loop",
    "if": _RETURN_IN_BRANCH,
    "else": _RETURN_IN_BRANCH,
}


class StatementParser(BlockParser):
    """A function's body: its statements, in blocks nested on an explicit stack."""

    def body(self, def_tok: Token) -> tuple[tuple[Statement, ...], Token]:
        """The statements after ``def ...:`` and the token after them."""
        tok = self.open_block("def", def_tok)
        root = self.blocks[0]
        while self.blocks:
            tok = self.end_block(tok) if self.block_ends(tok) else self.statement(tok)
        return tuple(root.statements), tok

    def block_ends(self, tok: Token) -> bool:
        """Whether the innermost block ends at `tok`: at its DEDENT, or after its one statement
        when that follows the ':' on the same line."""
        block = self.blocks[-1]
        return bool(block.statements) and (block.inline or tok.kind == DEDENT)

    def end_block(self, tok: Token) -> Token:
        """Close the innermost block, which ends at `tok`; returns the token to go on with."""
        block = self.blocks.pop()
        tok = tok if block.inline else self.next()  # the token after the DEDENT
        return self.close_block(block, tok) if self.blocks else tok

    def close_block(self, block: Block, tok: Token) -> Token:
        """`block` has ended before `tok`: close it as its kind says; returns the token to go
        on with."""
        closing = {"for": self.close_loop, "if": self.next_branch, "else": self.close_chain}
        return closing[block.kind](block, tok)

    def add(self, statement: Statement) -> None:
        """`statement` is the next one of the innermost block."""
        self.blocks[-1].statements.append(statement)

    def close_loop(self, block: Block, tok: Token) -> Token:
        """The loop `block`, closed before `tok`, becomes a `For` in the block around it."""
        if is_keyword(tok, "else"):
            raise self.error("'else' after a 'for' loop is not supported", tok)
        target, start, stop = block.header
        at = block.keyword
        self.add(For(target, start, stop, tuple(block.statements), at.line, at.col))
        return tok

    def close_chain(self, block: Block, tok: Token) -> Token:
        """The 'else' side `block` ends its chain of branches: an `If` in the block around it."""
        self.add(chain_branches(block.branches, tuple(block.statements)))
        return tok

    def next_branch(self, block: Block, tok: Token) -> Token:
        """After the 'if' or 'elif' side `block`: the 'elif' or 'else' at `tok` opens the next
        side of its chain, anything else ends the chain."""
        block.branches.append((block.header, tuple(block.statements), block.keyword))
        if is_keyword(tok, "elif"):
            return self.if_header(tok, self.next(), block.branches)
        if is_keyword(tok, "else"):
            return self.else_header(tok, block.branches)
        self.add(chain_branches(block.branches, ()))
        return tok

    # ---- one statement ---------------------------------------------------------------------

    def statement(self, tok: Token) -> Token:
        """The statement starting at `tok`, added to the innermost block (a 'for' or 'if'
        header opens a block instead); returns the token after what was read."""
        self.expect_statement(tok)
        if is_keyword(tok, "return"):
            return self.return_statement(tok)
        following = self.next()
        if following.text in ASSIGNMENTS:
            return self.assignment(tok, following)
        if tok.kind == KEYWORD and tok.text in ("for", "if"):
            return self.open_header(tok, following)
        raise self.not_a_statement(tok, following)

    def expect_statement(self, tok: Token) -> None:
        """A statement may start at `tok`: it is a name or a keyword, not 'def', and no
        'return' comes before it."""
        statements = self.blocks[-1].statements
        if statements and isinstance(statements[-1], Return):
            raise self.error("unreachable statement after 'return'", tok)
        if tok.kind == INDENT:
            raise self.error("unexpected indent", tok)
        if is_keyword(tok, "def"):
            raise self.error("a 'def' inside a function is not supported: define functions at "
                             "the top level", tok)
        if tok.kind not in (NAME, KEYWORD):
            raise self.error(_EXPECTED_STATEMENT, tok)

    def return_statement(self, tok: Token) -> Token:
        """``return EXPR``, at the top level of the function only."""
        if len(self.blocks) > 1:
            raise self.error(_RETURN_INSIDE[self.blocks[-1].kind], tok)
        self.add(Return(self.line_expression(self.next()), tok.line, tok.col))
        return self.next()

    def open_header(self, keyword: Token, following: Token) -> Token:
        """A 'for' or 'if' header opens its block; returns its first token."""
        if self.blocks[-1].inline:
            raise self.error(f"'{keyword.text}' cannot follow ':' on the same line: start an "
                             "indented block", keyword)
        header = self.for_header if keyword.text == "for" else self.if_header
        return header(keyword, following)

    def assignment(self, target: Token, operator: Token) -> Token:
        """``NAME = EXPR`` (and += -= *= /= @=); returns the token after its line."""
        if target.kind == KEYWORD:
            raise self.reserved(target)
        expr = augmented(target, operator, self.line_expression(self.next()))
        self.add(Assign(Name(target.text, target.line, target.col), expr))
        return self.next()

    def line_expression(self, first: Token) -> Expr:
        """An expression that ends its line."""
        expr, end = self.expression(first)
        if end.kind != NEWLINE:
            raise self.error(f"unexpected {describe(end)}" + compare_hint(end), end)
        return expr

    # ---- what is not a statement -----------------------------------------------------------

    def not_a_statement(self, tok: Token, following: Token) -> CompileError:
        """The error for a line that starts with the name or keyword `tok` but is neither an
        assignment nor a statement of the language."""
        if tok.text in _NOT_STATEMENTS:
            return self.error(_NOT_STATEMENTS[tok.text], tok)
        if tok.kind == NAME and following.text == "[" and self.subscript_assigned(following):
            return self.error(_SUBSCRIPT_ASSIGNED, tok)
        return self.error(_EXPECTED_STATEMENT, tok)

    def subscript_assigned(self, opened: Token) -> bool:
        """Whether the subscripts from `opened` (``[i]``, ``[i][j]``...) are followed by an
        assignment operator: ``x[i] = ...`` or ``x[1:3] += ...``."""
        tok = opened
        while tok.text == "[":
            tok = self.after_subscript(tok)
        return tok.text in ASSIGNMENTS

    def after_subscript(self, tok: Token) -> Token:
        """The token after the ']' that closes the '[' `tok` (END if none does)."""
        depth = 1
        while depth and tok.kind != END:
            tok = self.next()
            depth += BRACKET_DEPTH.get(tok.text, 0)
        return self.next()


def augmented(target: Token, operator: Token, expr: Expr) -> Expr:
    """The value ``NAME op= EXPR`` assigns: ``NAME += EXPR`` is ``NAME = NAME + (EXPR)``."""
    op = ASSIGNMENTS[operator.text]
    if op is None:
        return expr
    return (Item("name", target.text, target.line, target.col), *expr,
            Item("binary", op, operator.line, operator.col))

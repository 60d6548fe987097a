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
        """The statements after ``def ...:`` and the token after them. A block ends at its
        DEDENT, or after its one statement when that follows the ':' on the same line."""
        root, tok = self.open_block("def", def_tok)
        blocks = [root]
        while True:
            block = blocks[-1]
            if not block.statements or not (block.inline or tok.kind == DEDENT):
                tok = self.statement(tok, blocks)
                continue
            tok = tok if block.inline else self.next()
            blocks.pop()
            if not blocks:
                return tuple(block.statements), tok
            tok = self.close_block(block, blocks, tok)

    def close_block(self, block: Block, blocks: list[Block], tok: Token) -> Token:
        """`block` has ended before `tok`: a loop becomes a `For` in the block around it; a
        branch goes on to the 'elif' or 'else' at `tok`, or ends its chain as an `If`. Returns
        the token to go on with."""
        outer = blocks[-1].statements
        body = tuple(block.statements)
        if block.kind == "for":
            outer.append(self.loop(block, body, tok))
        elif block.kind == "else":
            outer.append(chain_branches(block.branches, body))
        else:
            block.branches.append((block.header, body, block.keyword))
            return self.next_branch(block, blocks, tok)
        return tok

    def loop(self, block: Block, body: tuple[Statement, ...], tok: Token) -> For:
        """The `For` of the loop `block`, closed before `tok`."""
        if is_keyword(tok, "else"):
            raise self.error("'else' after a 'for' loop is not supported", tok)
        target, start, stop = block.header
        return For(target, start, stop, body, block.keyword.line, block.keyword.col)

    def next_branch(self, block: Block, blocks: list[Block], tok: Token) -> Token:
        """After the branch `block`: the 'elif' or 'else' at `tok` opens the next branch of
        its chain, anything else ends the chain."""
        if is_keyword(tok, "elif"):
            branch, tok = self.if_header(tok, self.next(), block.branches)
            blocks.append(branch)
        elif is_keyword(tok, "else"):
            branch, tok = self.else_header(tok, block.branches)
            blocks.append(branch)
        else:
            blocks[-1].statements.append(chain_branches(block.branches, ()))
        return tok

    # ---- one statement ---------------------------------------------------------------------

    def statement(self, tok: Token, blocks: list[Block]) -> Token:
        """The statement starting at `tok`, in the innermost block: ``NAME = EXPR``, ``NAME +=
        EXPR`` (and -= *= /= @=) and ``return EXPR`` are added to it; a 'for' or 'if' header
        opens a block on `blocks`. Returns the token after what was read."""
        block = blocks[-1]
        self.expect_statement(tok, block)
        if is_keyword(tok, "return"):
            return self.return_statement(tok, blocks)
        following = self.next()
        if following.text in ASSIGNMENTS:
            block.statements.append(self.assignment(tok, following))
            return self.next()
        if tok.kind == KEYWORD and tok.text in ("for", "if"):
            return self.open_header(tok, following, blocks)
        raise self.not_a_statement(tok, following)

    def expect_statement(self, tok: Token, block: Block) -> None:
        """A statement may start at `tok`, in `block`: it is a name or a keyword, not 'def', and
        no 'return' comes before it."""
        statements = block.statements
        if statements and isinstance(statements[-1], Return):
            raise self.error("unreachable statement after 'return'", tok)
        if tok.kind == INDENT:
            raise self.error("unexpected indent", tok)
        if is_keyword(tok, "def"):
            raise self.error("a 'def' inside a function is not supported: define functions at "
                             "the top level", tok)
        if tok.kind not in (NAME, KEYWORD):
            raise self.error("expected an assignment or 'return'", tok)

    def return_statement(self, tok: Token, blocks: list[Block]) -> Token:
        """``return EXPR``, at the top level of the function only."""
        if len(blocks) > 1:
            raise self.error(_RETURN_INSIDE[blocks[-1].kind], tok)
        expr = self.line_expression(self.next())
        blocks[-1].statements.append(Return(expr, tok.line, tok.col))
        return self.next()

    def open_header(self, keyword: Token, following: Token, blocks: list[Block]) -> Token:
        """A 'for' or 'if' header opens its block on `blocks`; returns its first token."""
        if blocks[-1].inline:
            raise self.error(f"'{keyword.text}' cannot follow ':' on the same line: start an "
                             "indented block", keyword)
        header = self.for_header if keyword.text == "for" else self.if_header
        opened, following = header(keyword, following)
        blocks.append(opened)
        return following

    def assignment(self, target: Token, operator: Token) -> Assign:
        """``NAME = EXPR``; ``NAME += EXPR`` (and -= *= /= @=) is ``NAME = NAME + (EXPR)``."""
        if target.kind == KEYWORD:
            raise self.reserved(target)
        expr = self.line_expression(self.next())
        op = ASSIGNMENTS[operator.text]
        if op is not None:
            expr = (Item("name", target.text, target.line, target.col), *expr,
                    Item("binary", op, operator.line, operator.col))
        return Assign(Name(target.text, target.line, target.col), expr)

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
        if tok.kind == KEYWORD and tok.text in ("elif", "else"):
            return self.error(f"'{tok.text}' without 'if'", tok)
        if tok.kind == NAME and tok.text in _UNSUPPORTED_STATEMENTS:
            return self.error(_UNSUPPORTED_STATEMENTS[tok.text], tok)
        if tok.kind == NAME and following.text == "[" and self.subscript_assigned(following):
            return self.error("assignment to an element or slice is not supported: compute the "
                              "whole array (stack, concat, where)", tok)
        return self.error("expected an assignment or 'return'", tok)

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

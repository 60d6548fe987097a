"""Parser, signatures (text → syntax): a function's parameters and their declared shapes.

They are written between the parentheses of ``f(...) = ...`` (form B) or ``def f(...):`` (form
C). Parameters are ``NAME``, separated by ',' (a trailing one is fine). A parameter may carry a
shape, 'W: (d, k)', whose dimensions are names or whole numbers ('x: ()' is a scalar), or be
declared 'N: int', a whole number.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from gradgen.frontend.lexer import END, KEYWORD, NAME, NUM, Token
from gradgen.frontend.parse_reader import TokenReader, describe
from gradgen.frontend.syntax import WHOLE, Name, Shape

Parameters = tuple[tuple[Name, ...], tuple[Shape | None, ...]]


def split_at_commas(tokens: list[Token], close: Token) -> Iterator[tuple[list[Token], Token]]:
    """Each comma-separated group of `tokens` with the ',' or ')' after it (a trailing ','
    ends the last group)."""
    group: list[Token] = []
    depth = 0
    for tok in tokens:
        depth += (tok.text == "(") - (tok.text == ")")
        if tok.text == "," and depth == 0:
            yield group, tok
            group = []
        else:
            group.append(tok)
    if group:
        yield group, close


class SignatureParser(TokenReader):
    """The parameters of forms B and C, with their shapes."""

    def definition_header(self, first: Token) -> list[Token] | None:
        """The tokens of ``NAME(...)`` when an '=' follows them, else None (the tokens read to
        find out are put back)."""
        if first.kind != NAME:
            return None
        seen = self.call_ahead(first)
        if seen[1].text == "(" and seen[-1].text == "=":
            return seen[:-1]
        self.tokens = chain(seen[1:], self.tokens)
        return None

    def call_ahead(self, first: Token) -> list[Token]:
        """`first` and the tokens after it, as far as they read ``NAME(...) =``."""
        seen = [first, self.next()]
        if seen[-1].text == "(":
            seen += self.through_matching_paren()
            if seen[-1].text == ")":
                seen.append(self.next())
        return seen

    def def_parameters(self) -> Parameters:
        """The parameters after ``def NAME``, from its '(' to its ')'."""
        opened = self.next()
        self.require(opened, "(", f"expected '(' after the function name, got {describe(opened)}")
        *inside, close = self.through_matching_paren()
        if close.kind == END:
            raise self.unclosed(opened, close)
        return self.parameters(inside, close)

    def parameters(self, inside: list[Token], close: Token) -> Parameters:
        """The parameters between a header's parentheses: their names, and their shapes (None
        where none is written)."""
        seen: set[str] = set()
        declared = [self.declared(group, after, seen)
                    for group, after in split_at_commas(inside, close)]
        return tuple(name for name, _ in declared), tuple(shape for _, shape in declared)

    def declared(self, group: list[Token], after: Token, seen: set[str]
                 ) -> tuple[Name, Shape | None]:
        """A parameter's name, new among those `seen`, and its shape (None if not written)."""
        name = self.new_parameter(group, after, seen)
        return name, self.shape(group[2:], after) if len(group) > 1 else None

    def new_parameter(self, group: list[Token], after: Token, seen: set[str]) -> Name:
        """The parameter named in `group`, whose name must not be `seen` yet (it is now)."""
        param = self.parameter(group, after)
        if param.text in seen:
            raise self.error(f"duplicate parameter '{param.text}'", param)
        seen.add(param.text)
        return param

    def parameter(self, group: list[Token], after: Token) -> Name:
        """The name of a parameter (``NAME``, or ``NAME:`` before a shape)."""
        if len(group) == 1 or (len(group) > 1 and group[1].text == ":"):
            if group[0].kind == NAME:
                return Name(group[0].text, group[0].line, group[0].col)
            if group[0].kind == KEYWORD:
                raise self.reserved(group[0])
        if len(group) > 1 and group[0].kind == NAME and group[1].text == "=":
            raise self.error("default parameter values are not supported", group[1])
        raise self.error("expected a parameter name", group[0] if group else after)

    # ---- shapes ----------------------------------------------------------------------------

    def shape(self, tokens: list[Token], after: Token) -> Shape:
        """The declaration after a parameter's ':', ``int`` or ``(d1, d2, ...)``, up to `after`."""
        opened = tokens[0] if tokens else after
        if opened.kind == NAME and opened.text == WHOLE:
            self.after_shape(tokens[1:])
            return WHOLE
        self.require(opened, "(", "expected 'int', or '(' and the dimensions, after ':'")
        return self.dimensions(tokens, after)

    def dimensions(self, tokens: list[Token], after: Token) -> Shape:
        """The dimensions between the '(' `tokens` start with and its ')': ``(d,)`` has one
        dimension, ``()`` none (a scalar)."""
        dims: list[Name] = []
        for index, tok in enumerate(tokens[1:], 1):
            if tok.text == ")":
                self.after_shape(tokens[index + 1:])
                return tuple(dims)
            if index % 2:  # odd places hold dimensions, even ones the commas between them
                dims.append(self.dimension(tok))
            elif tok.text != ",":
                raise self.error("expected ',' or ')' after a dimension", tok)
        raise self.unclosed(tokens[0], after)

    def dimension(self, tok: Token) -> Name:
        """One dimension of a shape: a name, or the digits of a whole number."""
        if tok.kind == NAME or (tok.kind == NUM and tok.text.isdigit()):
            return Name(tok.text, tok.line, tok.col)
        if tok.kind == KEYWORD:
            raise self.reserved(tok)
        raise self.error("expected a dimension: a name or a whole number", tok)

    def after_shape(self, rest: list[Token]) -> None:
        """Nothing may follow a parameter's shape but the ',' or ')' after the parameter."""
        if rest and rest[0].text == "=":
            raise self.error("default parameter values are not supported", rest[0])
        if rest:
            raise self.error("expected ',' or ')' after a parameter's shape", rest[0])

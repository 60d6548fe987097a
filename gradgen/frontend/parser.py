"""Parser, the second half of the front end (text → syntax.Function): `Token`s → `Function`.

The file's form is read off its first tokens: ``def`` starts a program (form C), ``NAME(...) =``
a definition (form B), anything else is a bare expression (form A). A program is one or more
``def``s. The parser's parts, each in a module of its own:

- `parse_reader`: the token stream, and how messages name a token and quote the source;
- `parse_signatures`: the parameters of forms B and C, with their shapes;
- `parse_statements` and `parse_blocks`: a ``def``'s statements, and the loops and branches
  whose blocks nest on an explicit stack;
- `parse_expressions` and `parse_brackets`: expressions, by operator precedence
  (`parse_precedence`) with an explicit operator stack, into the postfix `Item`s of `syntax`.

Nothing recurses over the input, so the depth of nesting, of blocks as of expressions, is
limited by memory only. Every bad input is a `CompileError` located at the token where the
parser gave up.
"""

from __future__ import annotations

from dataclasses import replace

from gradgen.errors import CompileError, Source
from gradgen.frontend.lexer import DEDENT, END, INDENT, NEWLINE, Token, tokenize
from gradgen.frontend.parse_reader import (
    ASSIGNMENTS,
    CONTINUATION_HINT,
    compare_hint,
    describe,
    is_keyword,
)
from gradgen.frontend.parse_signatures import SignatureParser
from gradgen.frontend.parse_statements import StatementParser
from gradgen.frontend.syntax import Function, Name, Return, Statement

_DEFINITION_HINT = ": a definition is written 'f(x, y) = ...'"


def parse(text: str, path: str, entry: str | None = None) -> Function:
    """Parse a whole source file into a `Function`; raises `CompileError` on bad input.

    A program (form C) may define several functions: the result is the one named `entry` (by
    default the last one), with the others, in file order, as its ``helpers``. Forms A and B
    define one function (``f`` in form A), which `entry`, if given, must name.

    Callers with large inputs should pause the cycle collector (`pipeline.collector_paused`
    does, for the whole compilation): parsing makes millions of small tuples and no cycles.
    """
    source = Source(path, text)
    functions = _Parser(source, tokenize(source)).file()
    return _entry(functions, entry, source)


def _entry(functions: list[Function], entry: str | None, source: Source) -> Function:
    """The function named `entry` (else the last one), with the others as its helpers."""
    chosen = functions[-1] if entry is None else _named(functions, entry, source)
    return replace(chosen, helpers=tuple(f for f in functions if f is not chosen))


def _named(functions: list[Function], entry: str, source: Source) -> Function:
    for function in functions:
        if function.name.text == entry:
            return function
    defined = ", ".join(function.name.text for function in functions)
    raise CompileError(f"no function named '{entry}'; the file defines {defined}", source, 1, 1)


class _Parser(StatementParser, SignatureParser):
    """The three forms of a file; statements, signatures and expressions are the parts'."""

    def file(self) -> list[Function]:
        """The file's functions: several ``def``s, or one function of form A or B."""
        first = self.first_token()
        return self.program(first) if is_keyword(first, "def") else [self.one_function(first)]

    def first_token(self) -> Token:
        """The file's first token: an empty file is an error."""
        first = self.next()
        if first.kind == END:
            raise self.error("empty file: expected an expression", Token(END, "", 1, 1, 0))
        return first

    def one_function(self, first: Token) -> Function:
        """Form B if the file starts ``NAME(...) =``, else form A."""
        header = self.definition_header(first)
        return self.bare_expression(first) if header is None else self.definition(first, header)

    def bare_expression(self, first: Token) -> Function:
        """Form A: the file is one expression, of the function ``f``."""
        body = self.returned_expression(first, _DEFINITION_HINT)
        return Function(Name("f", 1, 1), None, body, "expression", self.source)

    def definition(self, name: Token, header: list[Token]) -> Function:
        """Form B: ``NAME(...) = EXPR``, from the tokens of its `header` ``NAME(...)``."""
        params, shapes = self.parameters(header[2:-1], header[-1])
        body = self.returned_expression(self.next())
        return Function(Name(name.text, name.line, name.col), params, body, "definition",
                        self.source, shapes=shapes)

    def returned_expression(self, first: Token, hint: str = "") -> tuple[Return]:
        """The body of forms A and B: the one expression, from `first` to the end of input."""
        expr, end = self.expression(first)
        if end.text in ASSIGNMENTS:
            raise self.error(f"unexpected '{end.text}'{hint}" + compare_hint(end), end)
        self.expect_end_of_input(end)
        return (Return(expr, first.line, first.col),)

    def expect_end_of_input(self, end: Token) -> None:
        """Only line ends may follow the expression of forms A and B, from `end` on."""
        tok = self.skip(end, (NEWLINE, INDENT, DEDENT))
        if tok.kind != END:
            raise self.error(f"expected end of input, got {describe(tok)}{CONTINUATION_HINT}", tok)

    # ---- programs ----------------------------------------------------------------------------

    def program(self, first: Token) -> list[Function]:
        """Form C: the ``def``s of a program, from the first one's `first` token on."""
        functions: list[Function] = []
        defined: dict[str, Token] = {}  # name → its 'def'
        tok = first
        while tok.kind != END:  # after_function let through only 'def' and END
            function, tok = self.function(tok, defined)
            functions.append(function)
        return functions

    def function(self, def_tok: Token, defined: dict[str, Token]) -> tuple[Function, Token]:
        """One ``def`` and the token after it."""
        name = self.function_name(def_tok, defined)
        params, shapes = self.def_parameters()
        self.require(self.next(), ":", "expected ':' after the parameter list")
        body, after = self.body(def_tok)
        self.after_function(after)
        self.expect_return(name, body, def_tok)
        return Function(name, params, body, "program", self.source, shapes=shapes), after

    def expect_return(self, name: Name, body: tuple[Statement, ...], def_tok: Token) -> None:
        """A function's body ends with its ``return``."""
        if not isinstance(body[-1], Return):
            raise self.error(f"function '{name.text}' has no 'return'", def_tok)

    def function_name(self, def_tok: Token, defined: dict[str, Token]) -> Name:
        """The name after `def_tok`, new to the file (see `define`)."""
        name = self.name(self.next(), "a function name after 'def'")
        self.define(name.text, def_tok, defined)
        return name

    def define(self, name: str, def_tok: Token, defined: dict[str, Token]) -> None:
        """Note that the ``def`` at `def_tok` defines `name`, which no earlier one did."""
        first = defined.setdefault(name, def_tok)
        if first is not def_tok:
            raise self.error(f"function '{name}' is defined twice (first at "
                             f"{first.line}:{first.col})", def_tok)

    def after_function(self, tok: Token) -> None:
        """What may follow a function: another ``def`` or the end of the file."""
        if tok.kind == INDENT:
            raise self.error("unexpected indent", tok)
        if tok.kind != END and not is_keyword(tok, "def"):
            raise self.error(f"expected end of input after the function, got {describe(tok)}",
                             tok)

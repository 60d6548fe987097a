"""Front end, Python functions: the source of a Python ``def`` written in the language, with a
map from its lines and columns back to the user's ``.py`` file.

The language is Python-like already (``**``, ``x.T``, ``sum(x, axis=0)``, ``(n, d)``
annotations); what Python users write besides is translated token by token (Python's own
`tokenize`, so strings and comments are never misread): decorator lines and the docstring
become blank lines (every line keeps its number), the common indentation goes, ``np.sin``,
``numpy.sin``, ``math.sin`` and ``np.linalg.norm`` lose their module (``np.arctan2`` is
``atan2``), a return annotation goes, and a parameter's annotation stays only where it declares
a shape (``(n, d)``; as a string ``"(n, d)"``, ``"n, d"``, since Python evaluates an
annotation that is not a string when it defines the function) or ``int``. Nothing is executed.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field

#: The modules whose functions a Python user writes with their prefix.
MODULES = ("np", "numpy", "math")
#: NumPy's and math's spellings that the language spells otherwise.
RENAMED = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
           "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2", "absolute": "abs",
           "fabs": "abs", "power": "pow", "concatenate": "concat", "fmax": "maximum",
           "fmin": "minimum"}
#: The annotations that the language reads: a shape, or a whole number.
KEPT_ANNOTATIONS = ("(", "int")
#: NumPy's reductions whose second positional argument is the axis (``np.max(x, 0)``): the
#: language's two-argument ``max`` is elementwise, so the axis is written as a keyword.
REDUCTIONS = frozenset({"sum", "mean", "max", "min", "amax", "amin", "prod"})


@dataclass
class Translation:
    """The language's text of a function, and per line the edits that made it: (column in the
    text, column in the user's line) where each run of unchanged characters starts."""

    text: str
    first_line: int  # the user's file line of the text's line 1
    runs: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def user_position(self, line: int, col: int) -> tuple[int, int]:
        """The user's file line and 1-based column of the text's ``line`` and ``col``."""
        runs = self.runs.get(line, [(0, 0)])
        start, user = max(((s, u) for s, u in runs if s <= col - 1), default=runs[0])
        return self.first_line + line - 1, user + col - 1 - start + 1


def translated(source: str, first_line: int = 1) -> Translation:
    """The language's text of the Python function ``source`` (its decorators and indentation
    included, as `inspect.getsource` gives it), first at file line ``first_line``."""
    lines = source.splitlines()
    indent = len(lines[0]) - len(lines[0].lstrip())
    edits = _edits(lines, indent)
    translation = Translation("", first_line)
    out = []
    for number, line in enumerate(lines, 1):
        text, runs = _edited(line, indent, edits.get(number, []))
        out.append(text)
        translation.runs[number] = runs
    translation.text = "\n".join(out) + "\n"
    return translation


def _edited(line: str, indent: int, edits: list[tuple[int, int, str]]
            ) -> tuple[str, list[tuple[int, int]]]:
    """``line`` with its edits (start, end, replacement) and its indentation removed, and
    where its runs of unchanged characters start (text column, user's column)."""
    cut = min(indent, len(line) - len(line.lstrip()))
    pieces, runs, at, written = [], [(0, cut)], cut, 0
    for start, end, replacement in sorted(edits):
        start, end = max(start, cut), max(end, cut)
        pieces += [line[at:start], replacement]
        written += start - at
        runs.append((written, start))  # within the replacement: its start
        written += len(replacement)
        at = end
        runs.append((written, end))
    pieces.append(line[at:])
    return "".join(pieces).rstrip(), runs


def _edits(lines: list[str], indent: int) -> dict[int, list[tuple[int, int, str]]]:
    """Per line (1-based), the edits that make the function the language's text."""
    tokens = _tokens(lines, indent)
    edits: dict[int, list[tuple[int, int, str]]] = {}
    body = tokens[_signature_end(tokens):]
    for row, start, end, replacement in (*_decorators(tokens, lines), *_docstring(tokens),
                                         *_signature(tokens), *_prefixes(body),
                                         *_positional_axes(body), *_builtin_sums(body)):
        edits.setdefault(row, []).append((start, end, replacement))
    return edits


def _tokens(lines: list[str], indent: int) -> list[tokenize.TokenInfo]:
    """Python's tokens of the function, at the columns of the user's lines (indentation
    included: each line is read dedented, then moved back)."""
    dedented = "".join(line[min(indent, len(line) - len(line.lstrip())):] + "\n"
                       for line in lines)
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(dedented).readline):
        (row, col), (end_row, end_col) = token.start, token.end
        tokens.append(token._replace(start=(row, col + _cut(lines, row, indent)),
                                     end=(end_row, end_col + _cut(lines, end_row, indent))))
    return tokens


def _cut(lines: list[str], row: int, indent: int) -> int:
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return min(indent, len(line) - len(line.lstrip()))


def _decorators(tokens: list[tokenize.TokenInfo], lines: list[str]) -> list[tuple]:
    """Every line before the ``def``'s, blanked."""
    row = next(token.start[0] for token in tokens if token.string == "def")
    return [(number, 0, len(lines[number - 1]), "") for number in range(1, row)]


def _docstring(tokens: list[tokenize.TokenInfo]) -> list[tuple]:
    """The docstring (a string that is the body's first statement), its lines blanked."""
    body = _body_start(tokens)
    first = tokens[body] if body < len(tokens) else None
    if first is None or first.type != tokenize.STRING:
        return []
    (row, col), (end_row, end_col) = first.start, first.end
    if row == end_row:
        return [(row, col, end_col, "")]
    return [(row, col, 10**9, ""), *((r, 0, 10**9, "") for r in range(row + 1, end_row)),
            (end_row, 0, end_col, "")]


def _body_start(tokens: list[tokenize.TokenInfo]) -> int:
    """The position of the body's first token: after the ``def`` line's NEWLINE and INDENT,
    comments and blank lines."""
    position = _signature_end(tokens) + 1
    skipped = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.COMMENT)
    while position < len(tokens) and tokens[position].type in skipped:
        position += 1
    return position


def _signature_end(tokens: list[tokenize.TokenInfo]) -> int:
    """The position of the ``:`` that ends the ``def``'s signature."""
    depth, start = 0, next(k for k, token in enumerate(tokens) if token.string == "def")
    for position in range(start, len(tokens)):
        string = tokens[position].string
        depth += (string in "([{") - (string in ")]}") if len(string) == 1 else 0
        if string == ":" and depth == 0:
            return position
    return len(tokens) - 1


def _signature(tokens: list[tokenize.TokenInfo]) -> list[tuple]:
    """The return annotation removed; each parameter's annotation kept where it declares a
    shape or ``int``, its string's content where it is a string, else removed."""
    start = next(k for k, token in enumerate(tokens) if token.string == "def")
    end = _signature_end(tokens)
    edits, depth, position = [], 0, start
    while position < end:
        token = tokens[position]
        depth += (token.string in "([{") - (token.string in ")]}") if token.type == tokenize.OP \
            and len(token.string) == 1 else 0
        if token.string == "->":
            before = tokens[position - 1].end
            edits.append((before[0], before[1], tokens[end].start[1], ""))
            break
        if token.string == ":" and depth == 1:
            stop = _annotation_end(tokens, position + 1)
            edits += _annotation(tokens, position, stop)
            position = stop
            continue
        position += 1
    return edits


def _annotation_end(tokens: list[tokenize.TokenInfo], position: int) -> int:
    """The position of the ``,`` or ``)`` that ends an annotation starting at ``position``."""
    depth = 0
    while not (depth == 0 and tokens[position].string in (",", ")")):
        string = tokens[position].string
        depth += (string in "([{") - (string in ")]}") if len(string) == 1 else 0
        position += 1
    return position


def _annotation(tokens: list[tokenize.TokenInfo], colon: int, stop: int) -> list[tuple]:
    """The edit of one parameter's annotation (from its ``:`` to before ``stop``)."""
    first, last = tokens[colon + 1], tokens[stop - 1]
    if first.string.startswith(KEPT_ANNOTATIONS) and first.type != tokenize.STRING:
        return []
    if first.type == tokenize.STRING and first is last and first.start[0] == first.end[0]:
        declared = _declared(ast.literal_eval(first.string))
        return [(first.start[0], first.start[1], first.end[1], declared)]
    if tokens[colon].start[0] != last.end[0]:
        return []  # an annotation over several lines is left to the parser's error
    return [(tokens[colon].start[0], tokens[colon].start[1], last.end[1], "")]


def _declared(annotation: object) -> str:
    """A string annotation as the language declares it: ``"(n, d)"`` and ``"n, d"`` are
    ``(n, d)``, ``"d"`` is ``(d,)``, ``"int"`` is ``int``."""
    text = str(annotation).strip()
    if text.startswith(KEPT_ANNOTATIONS):
        return text
    return f"({text})" if "," in text else f"({text},)"


def _prefixes(tokens: list[tokenize.TokenInfo]) -> list[tuple]:
    """``np.sin`` → ``sin``, ``np.linalg.norm`` → ``norm``, ``np.arctan2`` → ``atan2``;
    ``np.pi`` → ``pi`` (unless the function names ``np`` itself)."""
    edits = []
    for position, token in enumerate(tokens[:-2]):
        after = tokens[position + 1: position + 5]
        if (token.string not in MODULES or after[0].string != "." or _is_attribute(tokens, position)
                or _names_module(tokens, token.string)):
            continue
        name = after[1]
        if name.string == "linalg" and len(after) == 4 and after[2].string == ".":
            name = after[3]
        edits.append((token.start[0], token.start[1], name.end[1],
                      RENAMED.get(name.string, name.string)))
    return edits


def _positional_axes(tokens: list[tokenize.TokenInfo]) -> list[tuple]:
    """``np.max(x, 0)`` → ``max(x, axis=0)``: a NumPy reduction's positional axis written as
    the keyword the language reads (its two-argument ``max`` is the larger, entrywise)."""
    edits = []
    for position, token in enumerate(tokens[:-3]):
        if (token.string in MODULES and tokens[position + 1].string == "."
                and tokens[position + 2].string in REDUCTIONS
                and tokens[position + 3].string == "("):
            second = _second_argument(tokens, position + 3)
            if second is not None:
                edits.append((second.start[0], second.start[1], second.start[1], "axis="))
    return edits


def _builtin_sums(tokens: list[tokenize.TokenInfo]) -> list[tuple]:
    """Python's own ``sum(x)`` → ``sum(x, axis=0)``: it adds along the first axis (an array's
    rows), where the language's ``sum(x)`` is the total."""
    edits = []
    for position, token in enumerate(tokens[:-1]):
        if (token.string == "sum" and tokens[position + 1].string == "("
                and not _is_attribute(tokens, position)
                and _second_argument(tokens, position + 1) is None):
            close = _closing(tokens, position + 1)
            edits.append((close.start[0], close.start[1], close.start[1], ", axis=0"))
    return edits


def _second_argument(tokens: list[tokenize.TokenInfo],
                     opening: int) -> tokenize.TokenInfo | None:
    """The first token of the call's second argument if it is positional (not ``name=``), the
    call's ``(`` at ``opening``; None if it has none."""
    for position, depth in _depths(tokens, opening):
        if depth == 1 and tokens[position].string == ",":
            first, after = tokens[position + 1], tokens[position + 2]
            return None if first.string == ")" or after.string == "=" else first
    return None


def _closing(tokens: list[tokenize.TokenInfo], opening: int) -> tokenize.TokenInfo:
    """The ``)`` that closes the ``(`` at ``opening``."""
    *_, (position, _) = _depths(tokens, opening)
    return tokens[position]


def _depths(tokens: list[tokenize.TokenInfo], opening: int) -> Iterator[tuple[int, int]]:
    """(position, bracket depth after it) from the ``(`` at ``opening`` to its ``)``."""
    depth = 0
    for position in range(opening, len(tokens)):
        depth += (tokens[position].string in "([{") - (tokens[position].string in ")]}")
        yield position, depth
        if depth == 0:
            return


def _is_attribute(tokens: list[tokenize.TokenInfo], position: int) -> bool:
    return position > 0 and tokens[position - 1].string == "."


def _names_module(tokens: list[tokenize.TokenInfo], name: str) -> bool:
    """Whether ``name`` (``np``) is a parameter or a variable of the function, not a module."""
    return any(tokens[k].string == name and tokens[k + 1].string in ("=", ",", ":", ")")
               for k in range(len(tokens) - 1))

"""The primitive registry: everything gradgen knows about each primitive, one entry each.

An entry gives the primitive's name (the same in the language, the IR and the tests), its
argument kinds (``f`` a number, ``b`` a condition) and result kind, its shape rule, its NumPy text
for the generated code, a NumPy callable and a SymPy equivalent (the two oracles), its adjoint
rule and the domain its tests sample from. Adding a primitive is adding one entry to one of
the modules below; a new module of primitives is one more table joined here.

Adjoint rules build IR with the same primitives through a `Builder` (``b.mul(g, b.cos(x))``),
never strings, so a gradient program is an ordinary graph. A rule receives the builder, the
output's adjoint ``g``, the output ``y`` and the inputs, and returns one contribution per input
(``None`` where no gradient flows). Gradients at kinks are one-sided and never NaN:
``abs'(0) = 1``, ``relu'(0) = 0``, ``max``/``min`` send a tie to their first argument, and
``sign``, comparisons and logical operators have zero gradient.

Tangent rules (JVPs, for forward mode) sit beside them and build the same way: a rule receives
the builder, the inputs' tangents ``dots`` (None for an input with none; at least one is given),
the output and the inputs, and returns the output's tangent, shaped like the output (None for
0). A one-argument function's rule comes from the same derivative as its adjoint; the rules
that route by a condition select the tangent (``where(c, x_dot, 0)``), so the branch not taken
adds an exact 0. Block kinds (loops, branches, calls) have none yet.

The entries are written in `scalar` (numbers and conditions), `arrays` (products, reductions,
softmax), `shapes` (indexing, reshaping, joining, accumulating) and one module per block kind
(`loops`, `branches`, `calls`); each writes its own `Table`, and this module joins them. A
function that the generated code calls (``_logsumexp``) is in `gradgen.runtime`, and the entry
names it (``helper``). Readers import `REGISTRY` from here.
"""

from __future__ import annotations

from gradgen.ir.primitives import arrays, branches, calls, loops, scalar, shapes
from gradgen.ir.registry import (  # noqa: F401  (re-exported: the registry's one import point)
    Builder,
    Primitive,
    Rule,
    ShapeError,
    broadcast,
    join,
    shape_text,
)

REGISTRY = join(scalar.PRIMITIVES, arrays.PRIMITIVES, shapes.PRIMITIVES, loops.PRIMITIVES,
                branches.PRIMITIVES, calls.PRIMITIVES)

#: Language spellings of the infix and prefix operators, as the parser reports them.
#: (Indexing, ``x[i]``, any number of positions, is the parser's own.)
BINARY_OPERATORS = {p.operator: p.name for p in REGISTRY.values()
                    if p.operator and p.arity == 2 and not p.variadic}
UNARY_OPERATORS = {p.operator: p.name for p in REGISTRY.values()
                   if p.operator and p.arity == 1 and not p.variadic}
#: Primitives that the language calls by their names (operators are spelled, not called).
FUNCTIONS = {name: p for name, p in REGISTRY.items()
             if (p.operator is None or p.called) and not p.internal}
#: Primitives whose shape rule is broadcasting: on scalars they give a scalar. (Passes read
#: this and the sets below for every edge: a set lookup costs a tenth of the entry's flag.)
ELEMENTWISE = frozenset(name for name, p in REGISTRY.items() if p.elementwise)
#: Primitives whose two arguments may be swapped (CSE shares ``p+q`` and ``q+p``).
COMMUTATIVE = frozenset(name for name, p in REGISTRY.items() if p.commutative)
#: Primitives that make an array written in place (never shared).
FRESH = frozenset(name for name, p in REGISTRY.items() if p.fresh)
#: Primitives evaluated at compile time on whole numbers and dimensions (``n*k``, ``T-1``).
STATIC_ARITHMETIC = {name: p for name, p in REGISTRY.items() if p.static}


def _spellings() -> dict[str, dict[int, str]]:
    """Each name a call may take, its own or an alias: number of arguments -> primitive."""
    spellings: dict[str, dict[int, str]] = {}
    for p in REGISTRY.values():
        for name in (p.name, *p.aliases) if p.name in FUNCTIONS else p.aliases:
            by_count = spellings.setdefault(name, {})
            if p.arity in by_count:
                raise ValueError(f"{name}: {by_count[p.arity]} and {p.name} take as many arguments")
            by_count[p.arity] = p.name
    return spellings


#: The primitives a call names: name -> number of arguments -> primitive (``max``: 1 the
#: reduction ``amax``, 2 the larger of two).
SPELLINGS = _spellings()

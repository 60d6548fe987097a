"""IR, for the cost certificate: operation counts by kind, tape bytes and peak live memory of a
graph, as formulas of its named dimensions and trip counts.

A count is a `Formula`: a sum of monomials over named sizes (``2*n*d*h + 3*n``), kept as
monomial -> coefficient. One primitive application counts the entries of its output (an
elementwise operation), of its input (a reduction: ``sum``, ``amax``...), or ``2*n*d*h`` for a
matmul of ``(n, d)`` by ``(d, h)``. A loop counts its body per step times its trip count (the
symbol of its stop, ``N``), a branch its costlier side, a helper call its helper. Moving data
(transposes, reshapes, indexing, constants) counts nothing. Every value is a float64 of 8 bytes
(a condition: one byte).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from gradgen.ir.dims import size
from gradgen.ir.graph import Edge, Graph, Shape, Var

#: A formula: monomial (sorted factor texts) -> whole-number coefficient.
Formula = dict[tuple[str, ...], int]

#: The kinds of operation, in the order the certificate lists them.
KINDS = ("arithmetic", "transcendental", "comparisons", "matmul", "reductions")
_TABLE = {
    "arithmetic": "add sub mul div neg pow square sqrt add_at add_into",
    "transcendental": "exp expm1 log log1p log2 log10 sin cos tan asin acos atan sinh cosh tanh"
                      " asinh acosh atanh atan2 hypot sigmoid softplus cbrt softmax log_softmax"
                      " logsumexp",
    "comparisons": "lt le gt ge eq ne and or not where max min abs sign relu",
    "matmul": "matmul outer",
    "reductions": "sum mean prod norm amax amin",
}
#: Primitive -> its kind of operation (a primitive not here moves data and counts nothing).
KIND_OF = {prim: kind for kind, prims in _TABLE.items() for prim in prims.split()}
#: What a reduction or a row-wise function counts: its input's entries, not its output's.
_BY_INPUT = frozenset(_TABLE["reductions"].split() + ["softmax", "log_softmax", "logsumexp"])
#: What an update in place counts: the entries added (its second input), not the array's.
_BY_UPDATE = frozenset({"add_at", "add_into"})
#: Where formulas are compared (a branch's costlier side, the peak) and ratios taken.
LARGE = 1000
FLOAT_BYTES, BOOL_BYTES = 8, 1


@functools.cache
def entries(shape: Shape) -> Formula:
    """The number of entries of ``shape`` (``{('d', 'n'): 1}``; read, never changed)."""
    number, factors = size(shape)
    return {tuple(sorted(_symbol(f) for f in factors)): number} if number else {}


def _symbol(text: str) -> str:
    return text if text.isidentifier() else f"({text})"


def added(*formulas: Formula) -> Formula:
    """The sum of ``formulas``."""
    total: Formula = {}
    for formula in formulas:
        accumulate(total, formula)
    return {monomial: c for monomial, c in total.items() if c}


def accumulate(total: Formula, formula: Formula, sign: int = 1) -> None:
    """Add ``formula`` (times ``sign``) into ``total``, in place."""
    for monomial, coefficient in formula.items():
        total[monomial] = total.get(monomial, 0) + sign * coefficient


def scaled(formula: Formula, factor: Formula) -> Formula:
    """``formula`` times ``factor``."""
    return added(*({tuple(sorted(m + f)): c * k} for m, c in formula.items()
                   for f, k in factor.items()))


def at_large(formula: Formula) -> int:
    """The formula's value with every named size `LARGE`."""
    return sum(c * LARGE ** len(monomial) for monomial, c in formula.items())


def text(formula: Formula) -> str:
    """``2*d*h*n + 3*n + 5``, highest degree first; ``0`` for no operation."""
    terms = sorted(formula.items(), key=lambda item: (-len(item[0]), item[0]))
    written = "".join(_term(monomial, c) for monomial, c in terms).removeprefix(" + ")
    return written.replace("- ", "-", written.startswith("- ")) or "0"


def _term(monomial: tuple[str, ...], coefficient: int) -> str:
    """`` + 2*n*d``, `` - k*k``: a term with its sign."""
    factors = ([] if abs(coefficient) == 1 and monomial else [str(abs(coefficient))])
    return (" - " if coefficient < 0 else " + ") + "*".join(factors + list(monomial))


def operations(graph: Graph) -> dict[str, Formula]:
    """The operation counts of ``graph`` by kind (see the module's docstring)."""
    counts: dict[str, Formula] = {kind: {} for kind in KINDS}
    for edge in graph.edges:
        for kind, formula in edge_operations(edge, graph).items():
            accumulate(counts[kind], formula)
    return {kind: added(formula) for kind, formula in counts.items()}


def edge_operations(edge: Edge, graph: Graph) -> dict[str, Formula]:
    """What one edge counts, by kind: a block its graphs' counts, any other its own."""
    if edge.prim in _BLOCKS:
        return _BLOCKS[edge.prim](edge, graph)
    kind = KIND_OF.get(edge.prim)
    if kind is None:
        return {}
    if edge.prim == "pow" and not _whole_exponent(edge.inputs[1]):
        kind = "transcendental"
    elif edge.prim == "pow":
        kind = "arithmetic"
    return {kind: _count(edge)}


def _whole_exponent(exponent: Var) -> bool:
    return exponent.is_const and float(exponent.value).is_integer()


def _count(edge: Edge) -> Formula:
    """An edge's operations: 2*n*d*h for a matmul, else its output's (or input's) entries."""
    if edge.prim == "matmul":
        left, right = edge.inputs[0].shape, edge.inputs[1].shape
        inner = entries(left[-1:] if left else right[:1])
        return scaled(scaled(entries(edge.output.shape), inner), {(): 2})
    if edge.prim in _BY_UPDATE:
        return entries(edge.inputs[1].shape)
    return entries(edge.inputs[0].shape if edge.prim in _BY_INPUT else edge.output.shape)


def _loop(edge: Edge, graph: Graph) -> dict[str, Formula]:
    """A loop's body per step, times its trip count."""
    params = dict(edge.params)
    trips = trip_count(edge, graph)
    return {kind: scaled(f, trips) for kind, f in operations(params["body"]).items()}


def _branch(edge: Edge, graph: Graph) -> dict[str, Formula]:
    """A branch's costlier side (every kind from that side)."""
    params = dict(edge.params)
    sides = [operations(params["then"]), operations(params["orelse"])]
    return max(sides, key=lambda counts: at_large(added(*counts.values())))


def _call(edge: Edge, graph: Graph) -> dict[str, Formula]:
    return operations(dict(edge.params)["graph"])


_BLOCKS = {"loop": _loop, "cond": _branch, "call": _call}


def trip_count(edge: Edge, graph: Graph) -> Formula:
    """A loop's number of steps: the symbol of its stop (``N``, ``n``), less a constant start;
    a loop of a constant count of steps is counted by the symbol ``steps_i`` of its index
    ``i`` (so that its certificate, like its code, does not grow with the count)."""
    start, stop = edge.inputs[:2]
    if stop.is_const and start.is_const:
        index = dict(edge.params)["body"].inputs[0]
        return {(f"steps_{_identifier(dict(edge.params)['body'].hint(index))}",): 1}
    symbol = _trip_symbol(stop, graph)
    offset = {(): -int(start.value)} if start.is_const and start.value else {}
    return {(symbol,): 1} if not start.is_const else added({(symbol,): 1}, offset)


def _identifier(name: str | None) -> str:
    return name if name and name.isidentifier() else "loop"


def _trip_symbol(stop: Var, graph: Graph) -> str:
    """The name of a loop's stop: an input's (``N``), a dimension's (``n``), else ``steps``."""
    for edge in graph.edges:
        if stop in edge.outputs and edge.prim == "dim":
            return _symbol(str(edge.inputs[0].shape[dict(edge.params)["axis"]]))
    name = graph.hint(stop)
    return name if name and name.isidentifier() else "steps"


def value_bytes(var: Var) -> Formula:
    """The bytes of one value (a tape: none of its own, see `tape_bytes`)."""
    return _bytes(var.shape, var.dtype)


@functools.cache
def _bytes(shape: Shape, dtype: str) -> Formula:
    if dtype == "tape":
        return {}
    return scaled(entries(shape), {(): BOOL_BYTES if dtype == "bool" else FLOAT_BYTES})


def tape_bytes(graph: Graph) -> list[tuple[str, Formula]]:
    """Per loop of ``graph`` (top level, in order): its symbol of steps and the bytes its
    body records per step (what the reverse loop reads back)."""
    tapes = []
    for edge in graph.edges:
        if edge.prim == "loop" and dict(edge.params)["records"]:
            params = dict(edge.params)
            recorded = params["body"].outputs[params["carried"]:]
            tapes.append((text(trip_count(edge, graph)),
                          added(*(value_bytes(var) for var in recorded))))
    return tapes


def peak_bytes(graph: Graph) -> Formula:
    """The most bytes the values of ``graph`` (its inputs aside) hold at once, each live from
    the edge that makes it to its last use (an output: to the end), over the edges in order;
    a tape holds its bytes per step times its loop's steps."""
    last = _last_uses(graph)
    live: dict[Var, Formula] = {}
    now: Formula = {}
    peak: Formula = {}
    now_large = peak_large = 0
    for position, edge in enumerate(graph.edges):
        for var, held in _made(edge, graph):
            live[var] = held
            accumulate(now, held)
            now_large += at_large(held)
        if now_large > peak_large:
            peak, peak_large = dict(now), now_large
        for var in [var for var in dict.fromkeys(edge.inputs + edge.outputs) if var in live]:
            if last.get(var, position) <= position:
                freed = live.pop(var)
                accumulate(now, freed, -1)
                now_large -= at_large(freed)
    return added(peak)


def _made(edge: Edge, graph: Graph) -> Iterable[tuple[Var, Formula]]:
    """The values an edge makes and their bytes (a loop's tapes: per step times steps)."""
    if edge.prim != "loop":
        return [(var, value_bytes(var)) for var in edge.outputs]
    params = dict(edge.params)
    steps = trip_count(edge, graph)
    carried = params["carried"]
    recorded = params["body"].outputs[carried:]
    tapes = [scaled(value_bytes(var), steps) for var in recorded]
    return [*((var, value_bytes(var)) for var in edge.outputs[:carried]),
            *zip(edge.outputs[carried:], tapes)]


def _last_uses(graph: Graph) -> dict[Var, Any]:
    """Each value's position of last use among the edges; the outputs' is past the end."""
    last: dict[Var, Any] = {}
    for position, edge in enumerate(graph.edges):
        last.update((var, position) for var in edge.inputs)
    last.update((var, len(graph.edges)) for var in graph.outputs)
    return last

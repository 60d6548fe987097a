"""Simplification on the IR: `Graph` → smaller `Graph` computing the same values.

One forward sweep does constant folding, safe algebraic identities and common-subexpression
elimination (with ``add``/``mul``/... operands put in a canonical order); a backward sweep
then drops dead edges. The identities are exact for every float, inf and NaN included:
``x + 0``, ``x - 0``, ``x * 1``, ``x / 1``, ``x ^ 1`` → ``x``; ``x ^ 0`` → ``1``;
``x * -1`` and ``0 - x`` → ``-x``; ``--x`` → ``x``; ``x + -y`` → ``x - y``; ``x - -y`` → ``x + y``;
``where(c, x, x)`` → ``x``. ``0 * x`` → ``0`` is *not* done: it is wrong for inf and NaN.
A rewrite that would change a value's shape (``x ^ 0`` → ``1`` for an array ``x``) or its dtype
(``N ^ 1`` → ``N`` for a whole number ``N: int``, an int where a number is wanted) is not done.
A value spread over an array (the adjoint of a reduction) is used unspread where broadcasting
gives the same shape: ``g * x``, not ``broadcast_to(g, shape(x)) * x``. Loop bodies and the
sides of branches are simplified too; an edge that makes an array to be written in place is
never shared.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from gradgen.ir.builder import as_params, give_hint
from gradgen.ir.graph import BLOCKS, Edge, Graph, Var, const
from gradgen.ir.primitives import REGISTRY, broadcast
from gradgen.ir.primitives.loops import LoopParts, loop_parts


def optimize(graph: Graph) -> Graph:
    """Fold, simplify, share and prune ``graph``."""
    return eliminate_dead_code(simplify(graph))


def simplify(graph: Graph) -> Graph:
    """Constant folding, algebraic identities and CSE in one forward sweep."""
    return _Simplifier(graph).run()


def eliminate_dead_code(graph: Graph) -> Graph:
    """Drop edges whose outputs no output depends on, then a loop's carried values that
    neither the rest of the function nor the loop's other values read (a variable the loop
    updates but nothing uses gets no code, and no adjoint: ``0 * inf`` cannot reach one)."""
    graph = _without_dead_edges(graph)
    if not any(edge.prim == "loop" for edge in graph.edges):
        return graph
    return _without_dead_edges(_without_dead_carried(graph))


def _without_dead_edges(graph: Graph) -> Graph:
    kept = needed_edges(graph.edges, graph.outputs)
    return graph if len(kept) == len(graph.edges) else graph.replace(edges=kept)


def needed_edges(edges: tuple[Edge, ...], outputs: tuple[Var, ...]) -> tuple[Edge, ...]:
    """The edges that ``outputs`` depend on, in their order."""
    live = set(outputs)
    kept = []
    for edge in reversed(edges):
        if edge.output in live:
            kept.append(edge)
            live.update(edge.inputs)
    return tuple(reversed(kept))


def _without_dead_carried(graph: Graph) -> Graph:
    """Each loop without the carried values no item after it reads (nor its live values),
    and each ``item`` renumbered to match."""
    read = {}
    for edge in graph.edges:
        if edge.prim == "item":
            read.setdefault(edge.inputs[0], set()).add(dict(edge.params)["index"])
    edges, renumbered = [], {}
    for edge in graph.edges:
        if edge.prim == "loop":
            positions = renumbered[edge.output] = {}
            edge = _loop_without_dead_carried(edge, read.get(edge.output, ()), positions)
        elif edge.prim == "item" and edge.inputs[0] in renumbered:
            params = dict(edge.params)
            params["index"] = renumbered[edge.inputs[0]][params["index"]]
            edge = Edge("item", edge.inputs, edge.output, as_params(params),
                        edge.origin)
        edges.append(edge)
    return graph.replace(edges=tuple(edges))


def _loop_without_dead_carried(edge: Edge, read: set[int] | tuple,
                               positions: dict[int, int]) -> Edge:
    """The loop keeping only its live carried values; ``positions`` is filled with each
    result's old position -> new position."""
    parts = loop_parts(edge)
    n = len(parts.carried)
    live = _live_carried(parts, {k for k in read if k < n})
    if len(live) == n:
        positions.update((k, k) for k in range(len(parts.body.outputs)))
        return edge
    body = parts.body
    body = _without_dead_edges(body.replace(
        inputs=(parts.index, *(parts.carried_in[k] for k in live), *parts.read_in,
                *parts.invariant_in),
        outputs=(*(parts.carried_out[k] for k in live), *parts.recorded)))
    params = dict(edge.params)
    params.update(body=body, carried=len(live))
    inputs = (parts.start, parts.stop, *(parts.carried[k] for k in live), *parts.reads,
              *parts.invariants)
    positions.update((old, new) for new, old in enumerate(live))
    positions.update((n + k, len(live) + k) for k in range(len(parts.recorded)))
    return Edge("loop", inputs, edge.output, as_params(params), edge.origin)


def _live_carried(parts: LoopParts, live: set[int]) -> list[int]:
    """The carried values that the ``live`` ones (and the recorded values) read, step after
    step: grown until nothing more is read."""
    while True:
        wanted = (*(parts.carried_out[k] for k in live), *parts.recorded)
        read = set(wanted)
        for needed in needed_edges(parts.body.edges, wanted):
            read.update(needed.inputs)
        grown = live | {k for k, var in enumerate(parts.carried_in) if var in read}
        if grown == live:
            return sorted(live)
        live = grown


class _Simplifier:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.replaced: dict[Var, Var] = {}
        self.producer: dict[Var, Edge] = {}
        self.number = {var: index for index, var in enumerate(graph.inputs)}
        self.seen: dict[tuple, Var] = {}
        self.edges: list[Edge] = []
        # An original edge -> the kept edge now computing its value, so that ``# grad of:``
        # comments (an adjoint edge's ``origin``) name statements that are still there.
        self.kept: dict[Edge, Edge] = {}

    def run(self) -> Graph:
        with np.errstate(all="ignore"):  # folding may overflow or divide by zero, like NumPy
            for edge in self.graph.edges:
                self.visit(edge)
        outputs = tuple(self.replaced.get(v, v) for v in self.graph.outputs)
        return self.graph.replace(edges=tuple(self.edges), outputs=outputs)

    def visit(self, edge: Edge) -> None:
        inputs = tuple(self.replaced.get(v, v) for v in edge.inputs)
        if REGISTRY[edge.prim].elementwise and len(inputs) > 1:
            inputs = self.unspread(edge, inputs)
        result = self.fold(edge, inputs) or self.identity(edge.prim, inputs)
        if isinstance(result, Var) and (result.shape != edge.output.shape
                                        or result.dtype != edge.output.dtype):
            result = None  # x ^ 0 is 1 only for a scalar x; an array keeps its edge, and so
            #                does N ^ 1 of a whole number N (a number, not an int)
        if isinstance(result, Var):
            self.replace(edge.output, result)
            return
        prim, inputs = result if result else (edge.prim, inputs)
        params = edge.params
        if prim in BLOCKS:  # simplify the bodies too (blocks nest only a few levels deep)
            params = _with_bodies(params)
        key = self.key(prim, inputs, params)
        if REGISTRY[prim].fresh:
            key += (id(edge),)  # its array is written in place: never share it
        if key in self.seen:
            self.replace(edge.output, self.seen[key])
            self.kept[edge] = self.producer[self.seen[key]]
            return
        new = Edge(prim, inputs, edge.output, params, self.kept.get(edge.origin, edge.origin))
        self.kept[edge] = new
        self.seen[key] = edge.output
        self.number[edge.output] = len(self.number)
        self.producer[edge.output] = new
        self.edges.append(new)

    def replace(self, old: Var, new: Var) -> None:
        if old.shape != new.shape or old.dtype != new.dtype:
            raise AssertionError("a rewrite must keep shape and dtype")
        if new in self.producer:
            give_hint(new, old.name)  # an adjoint x_bar = 1 * t1 lives on as x_bar, not t1
        self.replaced[old] = new

    def key(self, prim: str, inputs: tuple[Var, ...], params: tuple) -> tuple:
        idents = [("c", repr(v.value), v.symbol or "") if v.is_const else ("v", self.number[v])
                  for v in inputs]
        if REGISTRY[prim].commutative:
            idents.sort()
        return (prim, tuple(idents), params)

    @staticmethod
    def fold(edge: Edge, inputs: tuple[Var, ...]) -> Var | None:
        if not inputs or not all(v.value is not None for v in inputs):
            return None  # the common case first: an input is not a constant
        entry = REGISTRY[edge.prim]
        if entry.result != "float" or not entry.elementwise:
            return None
        value = float(entry.impl(*(np.float64(v.value) for v in inputs)))  # errstate: see run
        return const(value)

    def identity(self, prim: str, inputs: tuple[Var, ...]) -> Var | tuple | None:
        rule = _IDENTITIES.get(prim)
        return rule(self, *inputs) if rule else None

    def unspread(self, edge: Edge, inputs: tuple[Var, ...]) -> tuple[Var, ...]:
        """An operand that is a value spread over an array (``expand``, the adjoint of a
        reduction) is used unspread where broadcasting gives the same shape anyway:
        ``g * x`` for ``broadcast_to(g, shape(x)) * x``, ``v - expand_dims(m, 1)``..."""
        changed = list(inputs)
        for k, var in enumerate(inputs):
            spread = self.producer.get(var)
            if spread is None or spread.prim != "expand":
                continue
            value, _ = spread.inputs
            params = dict(spread.params)
            if params["axis"] is not None and not params["keepdims"]:
                value = self.expand_dims(value, params["axis"], edge)
            trial = changed[:k] + [value] + changed[k + 1:]
            if broadcast(*(v.shape for v in trial)) == edge.output.shape:
                changed = trial
        return tuple(changed)

    def expand_dims(self, value: Var, axis: tuple[int, ...], user: Edge) -> Var:
        """``np.expand_dims(value, axis)``: an edge of its own, shared like any other."""
        params = (("axis", axis),)
        key = self.key("expand_dims", (value,), params)
        if key in self.seen:
            return self.seen[key]
        shape = REGISTRY["expand_dims"].shape(value.shape, axis=axis)
        output = Var(None, shape)
        new = Edge("expand_dims", (value,), output, params, self.kept.get(user.origin, user.origin))
        self.seen[key] = output
        self.number[output] = len(self.number)
        self.producer[output] = new
        self.edges.append(new)
        return output

    def negated(self, var: Var) -> Var | None:
        """``y`` if ``var`` is ``-y``."""
        edge = self.producer.get(var)
        return edge.inputs[0] if edge is not None and edge.prim == "neg" else None


def _with_bodies(params: tuple) -> tuple:
    """An edge's parameters with each graph it holds simplified."""
    return tuple((key, _optimized_once(value) if isinstance(value, Graph) else value)
                 for key, value in params)


@functools.lru_cache(maxsize=1024)
def _optimized_once(graph: Graph) -> Graph:
    """A graph held by several edges (a helper called twice) is simplified once, so that the
    edges go on holding one graph (graphs are hashed by identity)."""
    return optimize(graph)


def _is(var: Var, value: float) -> bool:
    return var.is_const and var.value == value and var.symbol is None


def _add(s: _Simplifier, p: Var, q: Var) -> Var | tuple | None:
    if _is(q, 0.0):
        return p
    if _is(p, 0.0):
        return q
    if s.negated(q) is not None:
        return ("sub", (p, s.negated(q)))
    if s.negated(p) is not None:
        return ("sub", (q, s.negated(p)))
    return None


def _sub(s: _Simplifier, p: Var, q: Var) -> Var | tuple | None:
    if _is(q, 0.0):
        return p
    if _is(p, 0.0) and p.shape == ():
        return ("neg", (q,))
    if s.negated(q) is not None:
        return ("add", (p, s.negated(q)))
    return None


def _mul(s: _Simplifier, p: Var, q: Var) -> Var | tuple | None:
    for one, other in ((p, q), (q, p)):
        if _is(one, 1.0):
            return other
        if _is(one, -1.0) and one.shape == ():
            return ("neg", (other,))
    return None


def _neg(s: _Simplifier, p: Var) -> Var | None:
    return s.negated(p)


def _div(s: _Simplifier, p: Var, q: Var) -> Var | None:
    return p if _is(q, 1.0) else None


def _pow(s: _Simplifier, p: Var, q: Var) -> Var | None:
    if _is(q, 0.0):
        return const(1.0)  # x ** 0 is 1 for every x, inf and NaN included (IEEE 754 pow)
    return p if _is(q, 1.0) else None


def _where(s: _Simplifier, c: Var, p: Var, q: Var) -> Var | None:
    return p if p is q else None


_IDENTITIES: dict[str, Callable[..., Var | tuple | None]] = {
    "add": _add, "sub": _sub, "mul": _mul, "neg": _neg, "div": _div, "pow": _pow,
    "where": _where,
}

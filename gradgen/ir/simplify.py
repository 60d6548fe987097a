"""An IR pass, the forward sweep of `optimize`: constant folding, safe identities and CSE.

`Simplifier` walks a `Graph`'s edges once, in order, and keeps each edge, replaces its value by
one already computed (common-subexpression elimination, with ``add``/``mul``/... operands put
in a canonical order), by a constant (folding), or by a simpler edge (an identity). The
identities are exact for every float, inf and NaN included: ``x + 0``, ``x - 0``, ``x * 1``,
``x / 1``, ``x ^ 1`` → ``x``; ``x ^ 0`` → ``1``; ``x * -1`` and ``0 - x`` → ``-x``; ``--x`` →
``x``; ``x + -y`` → ``x - y``; ``x - -y`` → ``x + y``; ``where(c, x, x)`` → ``x``. ``0 * x`` →
``0`` is *not* done: it is wrong for inf and NaN. A rewrite that would change a value's shape
(``x ^ 0`` → ``1`` for an array ``x``) or its dtype (``N ^ 1`` → ``N`` for a whole number ``N:
int``, an int where a number is wanted) is not done. A value spread over an array (the adjoint
of a reduction) is used unspread where broadcasting gives the same shape: ``g * x``, not
``broadcast_to(g, shape(x)) * x``. An edge that makes an array to be written in place is never
shared. The graphs a block holds are handed to the caller's ``body_pass``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradgen.ir.builder import as_params
from gradgen.ir.graph import BLOCKS, Edge, Graph, Var, add_hint, const, hint_of
from gradgen.ir.primitives import COMMUTATIVE, ELEMENTWISE, FRESH, REGISTRY, broadcast
from gradgen.ir.primitives.branches import cond_parts
from gradgen.ir.primitives.loops import loop_parts

#: What a rule gives: the value itself, a cheaper ``(prim, inputs)``, or None (no rewrite).
Rewrite = Var | tuple | None


class Simplifier:
    """One forward sweep over ``graph``; ``body_pass`` simplifies the graphs blocks hold."""

    def __init__(self, graph: Graph, body_pass: Callable[[Graph], Graph]) -> None:
        self.graph = graph
        self.body_pass = body_pass
        self.replaced: dict[Var, Var] = {}
        self.producer: dict[Var, Edge] = {}
        self.constants: dict[Var, Var] = {}  # a constant node -> the first one written alike
        self.constants_by_text: dict[tuple[str, str | None], Var] = {}
        self.spread: set[Var] = set()  # the kept ``expand`` edges' outputs
        self.seen: dict[tuple, Edge] = {}
        self.edges: list[Edge] = []
        # An original edge -> the kept edge now computing its value, so that ``# grad of:``
        # comments (an adjoint edge's ``origin``) name statements that are still there.
        self.kept: dict[Edge, Edge] = {}
        self.hints = dict(graph.hints)  # the graph's, and the names passed on (`replace`)

    def run(self) -> Graph:
        with np.errstate(all="ignore"):  # folding may overflow or divide by zero, like NumPy
            for edge in self.graph.edges:
                self.visit(edge)
        outputs = tuple(self.replaced.get(v, v) for v in self.graph.outputs)
        return self.graph.replace(edges=tuple(self.edges), outputs=outputs, hints=self.hints)

    def visit(self, edge: Edge) -> None:
        """``edge`` folded, simplified, shared with an equal one, or kept."""
        inputs = self.inputs_of(edge)
        result = self.fold(inputs, edge.prim) or self.identity(edge.prim, inputs)
        if result is None and edge.prim in BLOCKS:
            self.keep_block(edge, inputs)
        elif result is None:  # the common case: the edge as it is, kept or shared
            self.share_or_keep(edge, edge.prim, inputs, edge.params, edge.outputs)
        elif isinstance(result, tuple):
            self.share_or_keep(edge, *result, edge.params, edge.outputs)
        elif _same_type(result, edge.output):
            self.replace(edge.output, result)
        else:  # x ^ 0 is 1 only for a scalar x; an array keeps its edge, and so does N ^ 1 of
            #    a whole number N (a number, not an int)
            self.share_or_keep(edge, edge.prim, inputs, edge.params, edge.outputs)

    def inputs_of(self, edge: Edge) -> tuple[Var, ...]:
        """``edge``'s inputs as they now are: replaced values, spread values unspread."""
        inputs = tuple(map(self.replaced.get, edge.inputs, edge.inputs))
        if self.spread and edge.prim in ELEMENTWISE and len(inputs) > 1:
            return self.unspread(edge, inputs)
        return inputs

    def keep_block(self, edge: Edge, inputs: tuple[Var, ...]) -> None:
        """Keep (or share) the block ``edge``, its graphs passed through ``body_pass``; a loop
        with its constant invariants written into its body and one tape per recorded value."""
        params = edge.params
        if edge.prim in CONSTANTS_INSIDE:
            params, inputs = CONSTANTS_INSIDE[edge.prim](params, inputs)
        params = self.with_bodies(params)
        if edge.prim != "loop":
            self.share_or_keep(edge, edge.prim, inputs, params, edge.outputs)
            return
        params, outputs, doubles = one_tape_per_value(params, edge.outputs)
        self.share_or_keep(edge, edge.prim, inputs, params, outputs)
        self.read_as_kept(doubles)

    def share_or_keep(self, edge: Edge, prim: str, inputs: tuple[Var, ...], params: tuple,
                      outputs: tuple[Var, ...]) -> None:
        """Keep the edge ``prim(inputs)`` (with ``params``, giving ``outputs``) for ``edge``,
        or use the values of an equal one."""
        # the kind of result (a block's other outputs follow from the graphs in its params)
        key = self.key(prim, inputs, params, outputs[0].dtype if outputs else "")
        if prim in FRESH:
            key += (id(edge),)  # its array is written in place: never share it
        equal = self.seen.get(key)
        if equal is not None:
            self.share(edge, outputs, equal)
        else:
            new = Edge(prim, inputs, outputs, params, self.kept.get(edge.origin, edge.origin))
            self.kept[edge] = new
            self.add(new, key)

    def read_as_kept(self, doubles: dict[Var, Var]) -> None:
        """Each tape a loop dropped is read as the tape it kept, wherever that now is."""
        for double, tape in doubles.items():
            self.replace(double, self.replaced.get(tape, tape))

    def with_bodies(self, params: tuple) -> tuple:
        """A block's parameters with each graph it holds passed through ``body_pass``."""
        return tuple((key, self.body_pass(value) if isinstance(value, Graph) else value)
                     for key, value in params)

    def share(self, edge: Edge, outputs: tuple[Var, ...], equal: Edge) -> None:
        """``edge``'s values (now ``outputs``) are those of ``equal``, an equal edge already
        kept."""
        for old, new in zip(outputs, equal.outputs):
            self.replace(old, new)
        self.kept[edge] = equal

    def add(self, new: Edge, key: tuple) -> None:
        """Keep ``new``, found again under ``key``."""
        self.seen[key] = new
        for output in new.outputs:
            self.producer[output] = new
        if new.prim == "expand":
            self.spread.add(new.output)
        self.edges.append(new)

    def origin_of(self, edge: Edge) -> Edge | None:
        """The kept edge standing for ``edge``'s origin (its ``# grad of:`` statement)."""
        return self.kept.get(edge.origin, edge.origin)

    def replace(self, old: Var, new: Var) -> None:
        if not _same_type(old, new):
            raise AssertionError("a rewrite must keep shape and dtype")
        if new in self.producer:  # an adjoint x_bar = 1 * t1 lives on as x_bar, not t1
            add_hint(self.hints, new, hint_of(old, self.hints))
        self.replaced[old] = new

    def key(self, prim: str, inputs: tuple[Var, ...], params: tuple, dtype: str) -> tuple:
        """What makes two edges compute the same values: the primitive, the inputs (in any
        order where it commutes), the parameters, and the kind of result (``1 + N`` of a
        whole number N is an int as a loop bound, a number where a body computed it from a
        float). An input is its node, a constant the first node written alike."""
        idents = [v if v.value is None else self.first_alike(v) for v in inputs]
        if prim in COMMUTATIVE:
            idents.sort(key=id)  # any order, the same for the same nodes
        return (prim, tuple(idents), params, dtype)

    def first_alike(self, constant: Var) -> Var:
        """The first constant node met that is written as ``constant`` is (``-0.0`` is not
        ``0.0``, ``pi`` is not its value), looked up by node first."""
        first = self.constants.get(constant)
        if first is None:
            written = (repr(constant.value), constant.symbol)
            first = self.constants[constant] = self.constants_by_text.setdefault(written, constant)
        return first

    @staticmethod
    def fold(inputs: tuple[Var, ...], prim: str) -> Var | None:
        """The constant that ``prim`` gives on constant ``inputs`` (an elementwise number)."""
        for var in inputs:  # the common case first: an input is not a constant
            if var.value is None:
                return None
        entry = REGISTRY[prim]
        if not inputs or entry.result != "float" or not entry.elementwise:
            return None
        value = float(entry.impl(*(np.float64(v.value) for v in inputs)))  # errstate: see run
        return const(value)

    def identity(self, prim: str, inputs: tuple[Var, ...]) -> Rewrite:
        rule = IDENTITIES.get(prim)
        return rule(self, *inputs) if rule else None

    def unspread(self, edge: Edge, inputs: tuple[Var, ...]) -> tuple[Var, ...]:
        """An operand that is a value spread over an array (``expand``, the adjoint of a
        reduction) is used unspread where broadcasting gives the same shape anyway:
        ``g * x`` for ``broadcast_to(g, shape(x)) * x``, ``v - expand_dims(m, 1)``..."""
        changed = list(inputs)
        for k, var in enumerate(inputs):
            value = self.spread_value(var, edge)
            if value is None:
                continue
            trial = changed[:k] + [value] + changed[k + 1:]
            if broadcast(*(v.shape for v in trial)) == edge.output.shape:
                changed = trial
        return tuple(changed)

    def spread_value(self, var: Var, user: Edge) -> Var | None:
        """The value ``var`` spreads (``expand``), with its reduced axes kept as ones."""
        spread = self.producer.get(var)
        if spread is None or spread.prim != "expand":
            return None
        value, _ = spread.inputs
        params = dict(spread.params)
        if params["axis"] is not None and not params["keepdims"]:
            return self.expand_dims(value, params["axis"], user)
        return value

    def expand_dims(self, value: Var, axis: tuple[int, ...], user: Edge) -> Var:
        """``np.expand_dims(value, axis)``: an edge of its own, shared like any other."""
        params = (("axis", axis),)
        key = self.key("expand_dims", (value,), params, "float")
        if key in self.seen:
            return self.seen[key].output
        output = Var(None, REGISTRY["expand_dims"].shape(value.shape, axis=axis))
        self.add(Edge("expand_dims", (value,), (output,), params, self.origin_of(user)), key)
        return output

    def negated(self, var: Var) -> Var | None:
        """``y`` if ``var`` is ``-y``."""
        edge = self.producer.get(var)
        return edge.inputs[0] if edge is not None and edge.prim == "neg" else None


def _same_type(a: Var, b: Var) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


# ---- the identities, one rule per primitive -------------------------------------------------

def _is(var: Var, value: float) -> bool:
    return var.value == value and var.symbol is None  # a value node's None is no number


def _add(s: Simplifier, p: Var, q: Var) -> Rewrite:
    if _is(q, 0.0):
        return p
    if _is(p, 0.0):
        return q
    if (y := s.negated(q)) is not None:
        return ("sub", (p, y))
    if (y := s.negated(p)) is not None:
        return ("sub", (q, y))
    return None


def _sub(s: Simplifier, p: Var, q: Var) -> Rewrite:
    if _is(q, 0.0):
        return p
    if _is(p, 0.0) and p.shape == ():
        return ("neg", (q,))
    if (y := s.negated(q)) is not None:
        return ("add", (p, y))
    return None


def _mul(s: Simplifier, p: Var, q: Var) -> Rewrite:
    return _scaled(q, p) or _scaled(p, q)


def _scaled(value: Var, factor: Var) -> Rewrite:
    """``value * factor`` where ``factor`` is 1, or -1 (a scalar): ``value``, ``-value``."""
    if factor.value is None:
        return None  # the common case
    if _is(factor, 1.0):
        return value
    if _is(factor, -1.0) and factor.shape == ():
        return ("neg", (value,))
    return None


def _neg(s: Simplifier, p: Var) -> Var | None:
    return s.negated(p)


def _div(s: Simplifier, p: Var, q: Var) -> Var | None:
    return p if _is(q, 1.0) else None


def _pow(s: Simplifier, p: Var, q: Var) -> Var | None:
    if _is(q, 0.0):
        return const(1.0)  # x ** 0 is 1 for every x, inf and NaN included (IEEE 754 pow)
    return p if _is(q, 1.0) else None


def _where(s: Simplifier, c: Var, p: Var, q: Var) -> Var | None:
    return p if p is q else None


def _zeros_like(s: Simplifier, p: Var) -> Rewrite:
    """Zeros like zeros like ``q`` are zeros like ``q`` (still fresh): the zeros in between,
    read for their shape only, are then dead (an hvp's tangent of a reverse loop's
    accumulator)."""
    edge = s.producer.get(p)
    return ("zeros_like", edge.inputs) if edge is not None and edge.prim == "zeros_like" else None


IDENTITIES: dict[str, Callable[..., Rewrite]] = {
    "add": _add, "sub": _sub, "mul": _mul, "neg": _neg, "div": _div, "pow": _pow,
    "where": _where, "zeros_like": _zeros_like,
}


def one_tape_per_value(params: tuple, outputs: tuple[Var, ...]
                       ) -> tuple[tuple, tuple[Var, ...], dict[Var, Var]]:
    """A loop whose body records one value twice (its optimized body made two recorded values
    one) with one tape of it: its parameters, its outputs, and each tape dropped -> the tape
    kept for its value (whose readers read that one)."""
    loop = dict(params)
    body, n = loop["body"], loop["carried"]
    first: dict[Var, Var] = {}
    doubles = {}
    for var, tape in zip(body.outputs[n:], outputs[n:]):
        if var in first:
            doubles[tape] = first[var]
        else:
            first[var] = tape
    if not doubles:
        return params, outputs, doubles
    loop.update(body=body.replace(outputs=(*body.outputs[:n], *first)), records=len(first))
    return as_params(loop), (*outputs[:n], *first.values()), doubles


def constants_inside(params: tuple, inputs: tuple[Var, ...]) -> tuple[tuple, tuple[Var, ...]]:
    """A loop whose invariants include constant numbers, with each written into its body
    instead of passed in: the body reads (and folds) the constant itself, and no name of the
    body stands for a constant in one loop and for a value in another (its reverse)."""
    parts = loop_parts(Edge("loop", inputs, (), params))
    constant = {inner: outer for outer, inner in zip(parts.invariants, parts.invariant_in)
                if outer.is_const and inner.dtype == "float" and inner.shape == ()}
    if not constant:
        return params, inputs
    body = parts.body.replace(
        inputs=tuple(var for var in parts.body.inputs if var not in constant),
        edges=tuple(_substituted(body_edge, constant) for body_edge in parts.body.edges),
        outputs=tuple(constant.get(var, var) for var in parts.body.outputs))
    kept = tuple(outer for outer, inner in zip(parts.invariants, parts.invariant_in)
                 if inner not in constant)
    return (as_params({**dict(params), "body": body}),
            inputs[:len(inputs) - len(parts.invariants)] + kept)


def constants_in_sides(params: tuple, inputs: tuple[Var, ...]) -> tuple[tuple, tuple[Var, ...]]:
    """A branch whose operands include constant numbers, with each written into its sides
    instead of passed in: a side folds it (the reverse of ``if`` passes the seed 1 in, and
    ``1 * y`` is ``y``)."""
    parts = cond_parts(Edge("cond", inputs, (), params))
    constant = {inner: outer for outer, inner in zip(parts.operands, parts.operand_in)
                if outer.is_const and inner.dtype == "float" and inner.shape == ()}
    if not constant:
        return params, inputs
    sides = {"then": _with_constants(parts.then, constant),
             "orelse": _with_constants(parts.orelse, constant)}
    kept = tuple(outer for outer, inner in zip(parts.operands, parts.operand_in)
                 if inner not in constant)
    return as_params({**dict(params), **sides}), (parts.test, *kept)


def _with_constants(graph: Graph, constant: dict[Var, Var]) -> Graph:
    """``graph`` with the inputs in ``constant`` replaced by their constants."""
    return graph.replace(
        inputs=tuple(var for var in graph.inputs if var not in constant),
        edges=tuple(_substituted(edge, constant) for edge in graph.edges),
        outputs=tuple(constant.get(var, var) for var in graph.outputs))


#: The blocks whose constant inputs are written into their graphs, by kind.
CONSTANTS_INSIDE = {"loop": constants_inside, "cond": constants_in_sides}


def _substituted(edge: Edge, values: dict[Var, Var]) -> Edge:
    return Edge(edge.prim, tuple(values.get(var, var) for var in edge.inputs), edge.outputs,
                edge.params, edge.origin)

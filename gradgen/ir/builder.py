"""Building graphs: the one place that creates edges.

`GraphBuilder` appends edges in the order they are built (which is therefore a topological
order), gives each new node its shape and dtype from the registry, shares constants, and keeps
the name hints of nodes named after they are built (``b.hint(v, "x_bar")``: the graph built
takes them as its `Graph.hints`). Adjoint rules and the lowering both build through it:
``b.sin(x)``, ``b.mul(g, y)``, ``b.const(2.0)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

from gradgen.ir.graph import Edge, Shape, Var, add_hint, const, hint_of
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.registry import Primitive


class GraphBuilder:
    """Collects edges; one method per primitive (``b.sin(x)``, see `_write_methods`).
    ``hints``: those of the graph whose nodes it builds on (a forward graph's, a body's)."""

    def __init__(self, hints: Mapping[Var, str] | None = None) -> None:
        self.edges: list[Edge] = []
        self.origin: Edge | None = None  # the forward edge whose adjoint is being built
        self.hints: dict[Var, str] = dict(hints or {})  # the graph built takes them
        self._consts: dict[tuple[str, str | None], Var] = {}

    def hint(self, var: Var, name: str | None) -> None:
        """Name ``var``, built unnamed, after it is built (the first contribution to an adjoint
        is its adjoint ``x_bar``); a node keeps its first hint, a constant takes none."""
        add_hint(self.hints, var, name)

    def hint_of(self, var: Var) -> str | None:
        """``var``'s name hint, as the graph built will give it."""
        return hint_of(var, self.hints)

    def const(self, value: float, symbol: str | None = None) -> Var:
        """The shared constant node for ``value``."""
        key = (repr(float(value)), symbol)
        node = self._consts.get(key)
        if node is None:
            node = self._consts[key] = const(value, symbol)
        return node

    def emit(self, prim: str, inputs: tuple[Var, ...], name: str | None = None,
             params: tuple[tuple[str, Any], ...] = ()) -> Var:
        """Append one edge applying ``prim`` to ``inputs``; return its output node.

        Raises `ShapeError` if the registry's shape rule rejects the inputs' shapes.
        """
        entry = REGISTRY[prim]
        output = Var(name, _shape(entry, inputs, params), _dtype(entry, inputs, params))
        self.edges.append(Edge(prim, inputs, (output,), params, self.origin))
        return output

    def emit_block(self, prim: str, inputs: tuple[Var, ...], outputs: tuple[Var, ...],
                   params: tuple[tuple[str, Any], ...]) -> tuple[Var, ...]:
        """Append one block edge (a loop, a branch, a call) giving the fresh nodes
        ``outputs`` (see `result_like`), one per result; return them."""
        self.edges.append(Edge(prim, inputs, outputs, params, self.origin))
        return outputs


def _method(prim: str) -> Callable[..., Var]:
    """The builder's method for ``prim``: ``b.sin(x)``, ``b.sum(x, axis=(0,), keepdims=False)``
    (keywords are parameters)."""
    def apply(self: GraphBuilder, *inputs: Var, **params: Any) -> Var:
        return self.emit(prim, inputs, params=as_params(params) if params else ())
    apply.__name__ = prim
    return apply


def _write_methods() -> None:
    """One method per primitive on `GraphBuilder`, looked up as any method (made at each call
    by a ``__getattr__``, they cost a third of building an edge)."""
    for prim in REGISTRY:
        setattr(GraphBuilder, prim, _method(prim))


_write_methods()
_SHAPE = attrgetter("shape")
_DTYPE = attrgetter("dtype")


def _shape(entry: Primitive, inputs: tuple[Var, ...], params: tuple[tuple[str, Any], ...]
           ) -> Shape:
    """The shape of ``entry`` applied to ``inputs``, by its rule."""
    if params:
        return entry.shape(*map(_SHAPE, inputs), **dict(params))
    return entry.shape(*map(_SHAPE, inputs))


def _dtype(entry: Primitive, inputs: tuple[Var, ...], params: tuple[tuple[str, Any], ...]
           ) -> str:
    """The dtype of ``entry`` applied to ``inputs``: its result's, or the one its parameters
    give; ``"int"`` for an integer-closed primitive of whole numbers."""
    if entry.integer_closed and "int" in map(_DTYPE, inputs) and all(map(_integral, inputs)):
        return "int"  # t - 1 of a loop variable t is an int: an index, a loop bound
    return dict(params)["dtype"] if entry.result == "param" else entry.result


def _integral(var: Var) -> bool:
    return var.dtype == "int" or (var.is_const and float(var.value).is_integer()
                                  and var.symbol is None)


def result_like(like: Var, name: str | None = None, dtype: str | None = None) -> Var:
    """A fresh node for a block's result, shaped like ``like`` (dtype: ``like``'s, or
    ``dtype``, e.g. ``"tape"``)."""
    return Var(name, like.shape, dtype or like.dtype)


def as_params(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Edge parameters in their one canonical form: pairs sorted by name."""
    return tuple(sorted(params.items()))

"""Differentiation, reverse mode's rematerialisation: which values a helper's vjp recomputes.

A helper's vjp reads some of the helper's intermediate values (its residuals). Recording them
costs a result per call, and a tape per value where the helper is called in a loop; a cheap
value is better computed again in the vjp, from the arguments. The rule, from the registry:

- cheap: elementwise arithmetic (the primitives spelled as operators: ``+ - * /``, negation,
  comparisons, logic; a power only by a constant whole number), the entries the registry marks
  ``cheap`` (``where``, ``abs``, ``max``, ``square``, a transpose...: no series to sum), and the
  primitives that place entries rather than compute them (the registry's `shapes` table:
  indexing, stacking, reshaping, dimensions), except those that write an array in place;
- recorded: the rest, the transcendental functions (``exp``, ``log``, ``sin``, ...), products,
  reductions, softmax and its kin, and the results of blocks (loops, branches, nested calls).

A cheap value is recomputed with the cheap values it is made of, each once, in the order of
the forward; what they are made of that is not cheap is recorded instead. So the vjp costs at
most the helper's cheap edges more than before, a constant times the forward.
"""

from __future__ import annotations

from gradgen.ir.graph import Edge, Var
from gradgen.ir.primitives import REGISTRY
from gradgen.ir.primitives.shapes import PRIMITIVES as PLACING

#: The primitives whose values a vjp recomputes (a power is decided per edge: `is_cheap`).
CHEAP = frozenset(
    {name for name, prim in REGISTRY.items()
     if prim.elementwise and prim.operator is not None and name != "pow"}
    | {name for name, prim in PLACING.items() if not (prim.updates or prim.fresh)}
    | {name for name, prim in REGISTRY.items() if prim.cheap})


def is_cheap(edge: Edge) -> bool:
    """Whether the vjp recomputes ``edge``'s value rather than recording it."""
    if edge.prim == "pow":
        return _whole_constant(edge.inputs[1])
    return edge.prim in CHEAP


def _whole_constant(exponent: Var) -> bool:
    """A constant whole exponent: the power is repeated multiplication."""
    return exponent.is_const and float(exponent.value).is_integer()


def rematerialize(forward: tuple[Edge, ...], residuals: tuple[Var, ...],
                  available: set[Var]) -> tuple[tuple[Edge, ...], tuple[Var, ...]]:
    """How a vjp gets the ``residuals`` that its adjoint edges read, besides those
    ``available`` to it (the arguments, the cotangent): the ``forward`` edges that recompute
    the cheap ones, in order, each once; and the values to record, the residuals that are not
    cheap and what the recomputing edges read that is neither available nor recomputed."""
    makers = {var: edge for edge in forward for var in edge.outputs}
    recomputed: set[Edge] = set()
    recorded: dict[Var, None] = {}
    pending = list(reversed(residuals))
    while pending:
        var = pending.pop()
        edge = makers.get(var)
        if var in available or var.is_const or var in recorded or edge in recomputed:
            continue
        if edge is None or not is_cheap(edge):
            recorded[var] = None
            continue
        recomputed.add(edge)
        pending.extend(reversed(edge.inputs))
    return tuple(edge for edge in forward if edge in recomputed), tuple(recorded)

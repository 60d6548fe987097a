"""Differentiation, the rounding-error bound: forward `Graph` → graph of (value, bound).

The bound is first order, by the adjoint method (CHEF-FP, ADAPT): a statement ``v = op(...)``
rounds its exact result by at most ``k * u * |v|``, ``u = eps/2 = 2**-53`` the unit roundoff
and ``k`` its primitive's count in `UNITS`; that rounding reaches the value multiplied by the
adjoint ``v_bar`` of ``v``, so the value's rounding error is at most
``u * sum over statements of k * |v_bar * v|`` (to first order in u). The graph keeps the
forward edges and the adjoint edges of reverse mode (`reverse.backward`, asked for the adjoint
of every statement that rounds), then adds the sum.

``u * |v|`` rather than half of ``np.spacing(v)``: for a normal number the two differ by at most
a factor of 2 (half an ulp of ``v`` lies in ``[u |v| / 2, u |v|]``), ``u * |v|`` is the bound of
the standard model of floating point (Higham, *Accuracy and Stability*, §2.2) that holds with
the computed ``v``, and it is two primitives every target has (``abs``, ``*``) where
``np.spacing`` has no twin in Python's ``math``. Results in the subnormal range (below
``2.2e-308``) can round by more than ``u * |v|``: the bound leaves them out.

The inputs and the constants are taken as float64 holds them: the bound is of the rounding of
the computation, against the exact function at those floats. An input's own representation
error (``u * |x|`` for a decimal read into a float) reaches the value as ``u * |x * x_bar|``,
which the module's ``gradient`` gives.

Statements that are exact add nothing: negation, ``abs``, selections (``where``, ``max``,
``relu``), copies and reshapes, and a product or quotient by a power of two. Reductions round
once per term: a sum of n terms by at most ``(n - 1) * u * sum |x|`` in any order (NumPy sums
pairwise, but the order depends on the axis and the layout), a matrix product's entry of
length d by ``d * u * (|A| @ |B|)``. A primitive of neither kind
(``softmax``, ``norm``, ...) is declined with a `LimitError` naming it, and so is a loop:
the adjoints of each step are not nodes of the gradient graph. Branches and helper calls are
taken straight-line (`pipeline.build_forward`): both sides computed, the side not taken with
adjoint 0, its terms masked so that its NaN or inf adds nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from gradgen.differentiate.reverse import backward
from gradgen.errors import LimitError, Source
from gradgen.frontend.lexer import END, tokenize
from gradgen.ir.builder import GraphBuilder
from gradgen.ir.graph import Edge, Graph, Var, differentiable_inputs

#: The unit roundoff of float64, eps/2: the largest relative rounding of a correctly rounded
#: result.
UNIT_ROUNDOFF = 2.0**-53

#: Library functions (libm, NumPy's SIMD loops) are not correctly rounded: NumPy's accuracy
#: tests hold its float64 ones to 2 ulps, 4 u.
LIBRARY = 4.0

#: The relative rounding of each primitive's result, in units of u: 1 where IEEE 754 rounds
#: correctly, `LIBRARY` for a function of the math library, 0 where the result is exact;
#: ``sigmoid`` and ``softplus`` are formulas of two library calls and three roundings each.
UNITS: dict[str, float] = {
    **dict.fromkeys(("add", "sub", "mul", "div", "sqrt", "square"), 1.0),
    **dict.fromkeys(("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                     "asinh", "acosh", "atanh", "exp", "expm1", "log", "log1p", "log2",
                     "log10", "cbrt", "pow", "atan2", "hypot"), LIBRARY),
    **dict.fromkeys(("sigmoid", "softplus"), 2 * LIBRARY + 2.0),
    **dict.fromkeys(("neg", "abs", "sign", "relu", "max", "min", "where", "to_float",
                     "getitem", "reshape", "reshape_as", "expand", "expand_dims", "transpose",
                     "stack", "concat", "concat_part", "zeros", "ones", "eye", "zeros_like",
                     "whole", "count", "dim", "amax", "amin"), 0.0)}

#: A statement's rounding, ``units * r`` (r shaped like its output), or None where it is exact.
Rounding = tuple[float, Var] | None


def error_bound_graph(forward: Graph, path: str = "<string>") -> Graph:
    """The graph of ``forward``'s value and a first-order bound on its float64 rounding error
    (outputs: value, bound; a scalar bound per point of a function of numbers). ``forward``
    is straight-line (branches as selections); a loop is declined, located in ``path``."""
    _require_no_loops(forward, path)
    if forward.outputs[0].shape:
        raise LimitError(f"error_bound is of a function of a scalar value, and {forward.name}'s "
                         "value is an array")
    rounding = [edge for edge in forward.edges if _rounds(edge)]
    builder = GraphBuilder(forward.hints)
    asked = tuple(edge.output for edge in rounding)
    targets = (*differentiable_inputs(forward), *asked)
    found = backward(builder, forward.edges, list(forward.outputs), [builder.const(1.0)],
                     targets, asked=asked)
    selected = _selected(forward)
    terms = [(edge, bar) for edge, bar in zip(rounding, found) if bar is not None]
    bound = _weighted_sum(builder, [_term(builder, edge, bar, edge.output in selected)
                                    for edge, bar in terms])
    return forward.replace(edges=tuple(builder.edges), outputs=(forward.outputs[0], bound),
                           output_names=(forward.name, "bound"), hints=builder.hints)


def _rounds(edge: Edge) -> bool:
    """Whether ``edge`` is a statement whose float result may be rounded."""
    if len(edge.outputs) != 1 or edge.output.dtype != "float":
        return False
    if edge.prim not in UNITS and edge.prim not in REDUCTIONS:
        raise LimitError(f"error_bound has no rounding rule for {edge.prim}; the bound covers "
                         f"arithmetic, the functions of numbers, sum and mean")
    return not _exact(edge)


def _exact(edge: Edge) -> bool:
    """Whether ``edge``'s result is exact: its primitive's, or a product or quotient by a
    power of two (``0.5 * x``, ``x / 2``), or a power 1."""
    if UNITS.get(edge.prim) == 0.0:
        return True
    if edge.prim == "pow":
        return _constant(edge.inputs[1]) == 1.0
    operands = edge.inputs if edge.prim == "mul" else edge.inputs[1:] if edge.prim == "div" else ()
    return any(_power_of_two(_constant(var)) for var in operands)


def _constant(var: Var) -> float | None:
    return float(var.value) if var.is_const and isinstance(var.value, float) else None


def _power_of_two(value: float | None) -> bool:
    return value is not None and value != 0.0 and math.frexp(abs(value))[0] == 0.5


def _term(builder: GraphBuilder, edge: Edge, bar: Var, selected: bool) -> tuple[float, Var]:
    """``edge``'s rounding weighted by its adjoint ``bar``: units of u, and the magnitude
    (summed over an array's entries); ``selected``: masked where ``bar`` is 0, a side of a
    selection not taken, whose value may be NaN."""
    units, magnitude = _rounding(builder, edge, bar)
    if selected:
        magnitude = builder.where(builder.ne(bar, builder.const(0.0)), magnitude,
                                  builder.const(0.0))
    whole = builder.sum(magnitude, axis=None, keepdims=False) if magnitude.shape else magnitude
    return units, whole


def _rounding(builder: GraphBuilder, edge: Edge, bar: Var) -> tuple[float, Var]:
    """Units of u, and ``|bar| * r``, ``r`` bounding the rounding of ``edge`` in those units."""
    reduction = REDUCTIONS.get(edge.prim)
    if reduction is None:
        return _units(edge), builder.abs(builder.mul(bar, edge.output))
    return 1.0, builder.mul(builder.abs(bar), reduction(builder, edge))


def _units(edge: Edge) -> float:
    """The relative rounding of ``edge``'s result in units of u; a square ``x ** 2`` is one
    product on arrays (NumPy's ``np.square``) and C's ``pow`` on floats: 1 ulp, 2 u."""
    if edge.prim == "pow" and _constant(edge.inputs[1]) == 2.0:
        return 2.0
    return UNITS[edge.prim]


def _sum_rounding(builder: GraphBuilder, edge: Edge) -> Var:
    """A sum of n terms: n - 1 additions, each partial sum at most ``sum |x|``."""
    (x,) = edge.inputs
    terms = builder.abs(x)
    count = builder.count(x, edge.output)
    return builder.mul(builder.sub(count, builder.const(1.0)), _reduced(builder, edge, terms))


def _mean_rounding(builder: GraphBuilder, edge: Edge) -> Var:
    """A mean, a sum of n terms divided by n: ``(n - 1)/n * sum |x| + |mean| <= sum |x|``."""
    return _reduced(builder, edge, builder.abs(edge.inputs[0]))


def _reduced(builder: GraphBuilder, edge: Edge, terms: Var) -> Var:
    """``terms`` summed as ``edge`` reduces (its axis, its keepdims)."""
    params = dict(edge.params)
    return builder.sum(terms, axis=params.get("axis"), keepdims=params.get("keepdims", False))


def _matmul_rounding(builder: GraphBuilder, edge: Edge) -> Var:
    """A matrix product: each entry a dot product of length d, rounded by at most
    ``d * u * (|A| @ |B|)`` in any order of its terms, with or without fused multiply-adds."""
    a, b = edge.inputs
    length = builder.to_float(builder.dim(a, axis=-1))
    return builder.mul(length, builder.matmul(builder.abs(a), builder.abs(b)))


#: The rounding bound of a reduction's result (a sum, a matrix product), from its edge.
REDUCTIONS: dict[str, Callable[[GraphBuilder, Edge], Var]] = {
    "sum": _sum_rounding, "mean": _mean_rounding, "matmul": _matmul_rounding}


def _weighted_sum(builder: GraphBuilder, terms: list[tuple[float, Var]]) -> Var:
    """``u * (sum of the terms of 1 unit + 4 * sum of those of 4 units + ...)``."""
    by_units = sorted(terms, key=lambda term: term[0])
    groups = [(units, _total(builder, [var for _, var in group]))
              for units, group in itertools.groupby(by_units, key=lambda term: term[0])]
    weighted = [builder.mul(builder.const(units * UNIT_ROUNDOFF), total)
                for units, total in groups]
    return _total(builder, weighted)


def _total(builder: GraphBuilder, terms: list[Var]) -> Var:
    """The sum of ``terms`` (0 for none)."""
    total = terms[0] if terms else builder.const(0.0)
    for term in terms[1:]:
        total = builder.add(total, term)
    return total


def _selected(forward: Graph) -> set[Var]:
    """The nodes a side of a selection depends on: where it is not taken, their adjoint is 0
    and their value may be NaN or inf."""
    selected: set[Var] = set()
    for edge in reversed(forward.edges):
        if edge.prim == "where":
            selected.update(edge.inputs[1:])
        if not selected.isdisjoint(edge.outputs):
            selected.update(edge.inputs)
    return selected


def _require_no_loops(forward: Graph, path: str) -> None:
    """Decline a program with a loop, at its first ``for`` or ``while``."""
    if not any(edge.prim == "loop" for edge in forward.edges):
        return
    tokens = itertools.takewhile(lambda token: token.kind != END,
                                 tokenize(Source(path, forward.source)))
    where = next((f"{path}:{token.line}:{token.col}: " for token in tokens
                  if token.text in ("for", "while")), "")
    raise LimitError(f"{where}error_bound cannot bound a loop: the adjoints of each step are "
                     "not nodes of the gradient graph; write the loop out, or leave out "
                     "--error-bound")

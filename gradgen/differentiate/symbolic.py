"""Differentiation, the symbolic route: `Graph` → SymPy expression → `sympy.diff` → `Graph`.

`to_sympy` turns each edge into its primitive's SymPy equivalent from the registry (or the
route's own, `SYMPY_FORMS`), in topological order, so a deep graph needs no recursion here.
`symbolic_gradient_graph` then differentiates with `sympy.diff` and converts the value and the
partials back into IR (`sympy_to_ir`, which holds the table of what each SymPy form becomes)
with the same conventions as `reverse.reverse_mode`, so the emitter prints a module with the
same API.
With ``cse`` the expressions go through `sympy.cse` first and identical subexpressions are
built once; without it every expression is built as the tree SymPy holds, repeated subtrees
recomputed, which is what makes expression swell visible (`count_operations` measures it
without building anything).

Conditions reach SymPy as the program writes them, and SymPy never simplifies them (it only
decides a comparison it can prove, and writes ``not (a < b)`` as ``a >= b``): ``where`` is
`Select` (`SYMPY_FORMS`), not a Piecewise, which SymPy folds into any condition over it and then
simplifies, dividing a comparison by a factor whose sign it does not check (a wrong branch).

The SymPy algebra is SymPy's, not IEEE's: it simplifies ``0*x`` to 0 and ``x - x`` to 0, so at
inf or NaN inputs the symbolic route may give a number where reverse mode gives NaN. SymPy
leaves the derivative of ``sign(x/y)`` undone (it cannot tell the argument is real); here it is
0, gradgen's ``sign' = 0``.

Limits: SymPy itself recurses over expression trees. With Python's default recursion limit
(1000), `sympy.diff` of ``sin(sin(...(x)))`` fails beyond about 139 nested calls (measured with
SymPy 1.14; `symbolic_gradient_graph` then raises a `LimitError` saying so), `sympy.cse`
beyond about 330; the conversion to IR has no depth limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import sympy
from sympy.functions.elementary.piecewise import ExprCondPair

from gradgen.differentiate.reverse import gradient_names
from gradgen.differentiate.sympy_to_ir import Select, expressions_to_graph
from gradgen.errors import LimitError
from gradgen.ir.graph import Graph, Var, add_hint, select_inputs
from gradgen.ir.naming import adjoint_name, tangent_name
from gradgen.ir.primitives import REGISTRY

__all__ = ["count_operations", "expressions_to_graph", "symbolic_gradient",
           "symbolic_gradient_graph", "symbolic_hvp_graph", "to_sympy"]

#: Operations beyond which a symbolic gradient without CSE is refused: printed as trees they
#: would make a module of gigabytes (the point of `--no-cse` is to see swell, not to drown in it).
MAX_TREE_OPERATIONS = 1_000_000

#: The symbolic route's own SymPy forms, in place of the registry's: ``where`` is `Select`, not
#: the registry's Piecewise, which SymPy folds into any condition over it and then rescales
#: ignoring the sign (a wrong branch; see `Select`).
SYMPY_FORMS: dict[str, Callable[..., sympy.Basic]] = {"where": Select}


def to_sympy(graph: Graph) -> tuple[tuple[sympy.Symbol, ...], tuple[sympy.Expr, ...]]:
    """The input symbols and the output expressions of ``graph``."""
    symbols = tuple(sympy.Symbol(var.name, real=True) for var in graph.inputs)
    env: dict[Var, sympy.Expr] = dict(zip(graph.inputs, symbols))
    for edge in graph.edges:
        env[edge.output] = _sympy_of(edge.prim, [_value(var, env) for var in edge.inputs])
    return symbols, tuple(_value(var, env) for var in graph.outputs)


def _value(var: Var, env: dict[Var, sympy.Expr]) -> sympy.Expr:
    """A node's expression, or a constant's number (``pi`` by name)."""
    return _constant(var) if var.is_const else env[var]


def _constant(var: Var) -> sympy.Expr:
    """A constant's number: ``pi`` by name, a whole number as an Integer."""
    if var.symbol == "pi":
        return sympy.pi
    return sympy.Integer(int(var.value)) if var.value.is_integer() else sympy.Float(var.value)


def _sympy_of(prim: str, args: list[sympy.Basic]) -> sympy.Basic:
    """The primitive's SymPy form of ``args``, real as NumPy's is: a number with no real
    value (``acosh(0) = I*pi/2``, ``log(0) = zoo``) is NaN, as NumPy's real functions give it,
    and a comparison SymPy refuses for a NaN operand is false (true for ``!=``), as in NumPy."""
    form = SYMPY_FORMS.get(prim, REGISTRY[prim].sympy)
    if form is None:  # a whole number passed to a helper (``m: int``) is checked at run time
        raise ValueError(f"'{prim}' has no SymPy form")
    try:
        expr = form(*args)
    except (TypeError, ValueError):
        if not any(arg is sympy.nan for arg in args):
            raise
        if REGISTRY[prim].result == "bool":
            return sympy.true if prim == "ne" else sympy.false
        return sympy.nan
    return sympy.nan if _not_real(expr) else expr


def _not_real(expr: sympy.Basic) -> bool:
    """Whether ``expr`` is a number with no real value (``acosh(0)``, ``log(0)``)."""
    return isinstance(expr, sympy.Expr) and expr.is_number and expr.is_extended_real is False


def symbolic_gradient(graph: Graph) -> tuple[tuple[sympy.Symbol, ...], sympy.Expr,
                                             tuple[sympy.Expr, ...]]:
    """Input symbols, the output expression and its partial derivatives by `sympy.diff`."""
    symbols, (expr,) = to_sympy(graph)
    return symbols, expr, tuple(sympy.diff(expr, s) for s in symbols)


# ---- the gradient program by SymPy -----------------------------------------------------------

def symbolic_gradient_graph(forward: Graph, wrt: tuple[str, ...] | None = None,
                            cse: bool = True) -> Graph:
    """The gradient program of ``forward`` derived by `sympy.diff`, not by reverse mode.

    Same conventions as `reverse.reverse_mode`: the same input nodes; outputs the value, then
    one partial per input of ``wrt`` (all inputs if None), named ``forward.name`` and
    ``<input>_bar``. With ``cse``, `sympy.cse` shares common subexpressions; without, each
    expression is built as a tree (no sharing at all), to show expression swell.
    """
    targets = select_inputs(forward, wrt)
    with _sympy_limits(forward.name):
        graph = _gradient_graph(forward, targets, cse)
    hints: dict[Var, str] = {}
    for var, target in zip(graph.outputs[1:], targets):
        add_hint(hints, var, adjoint_name(forward.hint(target)))
    return forward.replace(edges=graph.edges, outputs=graph.outputs,
                           output_names=gradient_names(forward, targets), hints=hints)


def _gradient_graph(forward: Graph, targets: tuple[Var, ...], cse: bool) -> Graph:
    """The value and its partials by `sympy.diff`, built as a graph over ``forward``'s inputs."""
    symbols, (value,) = to_sympy(forward)
    by_input = dict(zip(forward.inputs, symbols))
    partials = [_sign_slopes_zero(sympy.diff(value, by_input[var])) for var in targets]
    if not cse:
        _check_tree_size(forward.name, [value, *partials])
    return expressions_to_graph(forward.name, forward.inputs, symbols, [value, *partials], cse)


def symbolic_hvp_graph(forward: Graph, wrt: tuple[str, ...] | None = None,
                       cse: bool = True) -> Graph:
    """The Hessian-vector-product program of ``forward`` derived by `sympy.diff` twice, not by
    forward mode over reverse mode.

    Same conventions as `forward.hvp_graph`: inputs ``forward.inputs`` then one tangent per
    input of ``wrt`` (all if None); outputs ``sum_j d2f/dx_i dx_j * x_j_dot``, one per input
    ``x_i`` of ``wrt``, named ``<x_i>_bar_dot``.
    """
    targets = select_inputs(forward, wrt)
    tangents = tuple(Var(tangent_name(var.name), var.shape) for var in targets)
    with _sympy_limits(forward.name):
        graph = _hvp_graph(forward, targets, tangents, cse)
    names = tuple(tangent_name(name) or "" for name in gradient_names(forward, targets)[1:])
    hints: dict[Var, str] = {}
    for var, name in zip(graph.outputs, names):
        add_hint(hints, var, name)
    return forward.replace(inputs=graph.inputs, edges=graph.edges, outputs=graph.outputs,
                           output_names=names, hints=hints)


def _hvp_graph(forward: Graph, targets: tuple[Var, ...], tangents: tuple[Var, ...],
               cse: bool) -> Graph:
    """The Hessian times the tangents by `sympy.diff`, built as a graph over ``forward``'s
    inputs and the ``tangents``."""
    symbols, (value,) = to_sympy(forward)
    by_input = dict(zip(forward.inputs, symbols))
    directions = [sympy.Dummy(var.name, real=True) for var in tangents]
    partials = [_sign_slopes_zero(sympy.diff(value, by_input[var])) for var in targets]
    products = [sympy.Add(*(_sign_slopes_zero(sympy.diff(partial, by_input[var])) * direction
                            for var, direction in zip(targets, directions)))
                for partial in partials]
    if not cse:
        _check_tree_size(forward.name, products)
    return expressions_to_graph(forward.name, forward.inputs + tangents,
                                (*symbols, *directions), products, cse)


@contextlib.contextmanager
def _sympy_limits(name: str) -> Iterator[None]:
    """SymPy's own limits (its recursion, its refusals) as a `LimitError` about ``name``."""
    try:
        yield
    except RecursionError:
        raise LimitError(f"{name} is nested too deeply for SymPy (it recurses over the "
                         "expression tree); use automatic differentiation") from None
    except (TypeError, ValueError) as error:  # SymPy's own refusals, e.g. comparing zoo
        raise LimitError(f"SymPy cannot differentiate {name} ({error}); use automatic "
                         "differentiation") from None


def _sign_slopes_zero(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with the derivatives of ``sign`` that SymPy leaves undone (``sign(x/y)``, whose
    argument it cannot tell is real) as 0: gradgen's ``sign' = 0``."""
    return expr.replace(_is_sign_slope, lambda e: sympy.S.Zero)


def _is_sign_slope(expr: sympy.Basic) -> bool:
    """Whether ``expr`` is a derivative of ``sign`` (one SymPy left undone)."""
    return isinstance(expr, sympy.Derivative) and isinstance(expr.expr, sympy.sign)


def _check_tree_size(name: str, exprs: list[sympy.Basic]) -> None:
    size = count_operations(exprs, shared=False)
    if size > MAX_TREE_OPERATIONS:
        raise LimitError(f"without CSE, SymPy's gradient of {name} has {size:,} operations "
                         f"(more than {MAX_TREE_OPERATIONS:,} are not printed): expression "
                         "swell; use CSE or automatic differentiation")


# ---- counting operations ---------------------------------------------------------------------

def count_operations(exprs: Iterable[sympy.Basic], shared: bool = False) -> int:
    """The number of operations in ``exprs`` without building anything.

    ``shared=False``: as trees, every node of every tree counted, however often it repeats
    (what the expressions cost evaluated as written); ``shared=True``: each distinct
    subexpression once, across all of ``exprs`` (what they cost with perfect sharing). A node
    costs `_operations_of`: n-ary Add, Mul, Max, Min, And, Or ``n - 1``; Piecewise one
    ``where`` per branch before a final ``True`` (one per branch without it); symbols, numbers
    and the pairs inside Piecewise nothing; every other node (Pow, a function, `Select`, a
    comparison, Not) one. Both counts walk each distinct node once, so a tree of 10^30 nodes
    is counted as quickly as its shared form.
    """
    roots = list(exprs)
    return _count_shared(roots) if shared else _count_trees(roots)


def _count_shared(roots: list[sympy.Basic]) -> int:
    """Each distinct node's operations once."""
    seen: set[sympy.Basic] = set()
    stack = list(roots)
    total = 0
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            total += _operations_of(node)
            stack.extend(node.args)
    return total


def _count_trees(roots: list[sympy.Basic]) -> int:
    """The operations of each root's tree, from each distinct node's tree size (post-order)."""
    sizes: dict[sympy.Basic, int] = {}  # a distinct node -> the operations of its tree
    return sum(_tree_size(root, sizes) for root in roots)


def _tree_size(root: sympy.Basic, sizes: dict[sympy.Basic, int]) -> int:
    """The operations of ``root``'s tree, adding the nodes not yet counted to ``sizes``."""
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if node in sizes:
            continue
        if ready:
            sizes[node] = _operations_of(node) + sum(sizes[arg] for arg in node.args)
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in sizes)
    return sizes[root]


def _operations_of(node: sympy.Basic) -> int:
    """The operations of one node, its arguments not included."""
    if not node.args or isinstance(node, sympy.Tuple | ExprCondPair):
        return 0
    if isinstance(node, sympy.Add | sympy.Mul | sympy.Max | sympy.Min | sympy.And | sympy.Or):
        return len(node.args) - 1
    if isinstance(node, sympy.Piecewise):
        return len(node.args) - (node.args[-1].cond is sympy.true)
    return 1

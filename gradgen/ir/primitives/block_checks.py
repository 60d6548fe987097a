"""The IR's vocabulary: what the block kinds' checks share (`BlockRules.check` in `loops`,
`branches` and `calls`; the verifier runs them): outer nodes against a graph's inputs, and
whether two nodes are values of one kind."""

from __future__ import annotations

from gradgen.ir.graph import Var


def pairs_problem(outer: tuple[Var, ...], inner: tuple[Var, ...], what: str) -> str | None:
    """The nodes ``outer`` (a block's operands of one role) against the inputs ``inner`` of
    its graph that stand for them: as many, of the same shapes."""
    if len(outer) != len(inner):
        return f"{len(outer)} {what}s for {len(inner)} inputs"
    for a, b in zip(outer, inner):
        if a.shape != b.shape:
            return f"{what} {a!r} has shape {a.shape}, its input {b!r} {b.shape}"
    return None


def same_kind(a: Var, b: Var) -> bool:
    """Whether ``a`` and ``b`` are values of one shape and dtype (a constant fits any dtype)."""
    return a.shape == b.shape and (a.dtype == b.dtype or a.is_const or b.is_const)


def kind_text(var: Var) -> str:
    """``float ()``, ``int ()``, ``float ('n',)``: a value's kind, for messages."""
    return f"{var.dtype} {var.shape}"

"""Tools: the reports of `compare` and `check` as plain text, as the command line prints them.

`format_comparison` writes a `Comparison` as two tables (the numbers, then the costs);
`format_check` writes a `CheckResult` as a verdict and its worst case.
"""

from __future__ import annotations

from gradgen.tools.check import CheckResult
from gradgen.tools.compare import Comparison
from gradgen.tools.timing import format_seconds


def format_comparison(comparison: Comparison) -> str:
    """The comparison as two plain-text tables: the numbers, then the costs."""
    lines = [_title(comparison), "", *_numbers_table(comparison), *_bound(comparison), "",
             _largest_differences(comparison), "", *_costs_table(comparison), *_notes(comparison)]
    return "\n".join(lines) + "\n"


def _title(comparison: Comparison) -> str:
    """The function and the point: ``f at x=1, y=2``."""
    at = ", ".join(f"{name}={value:g}" for name, value in comparison.point.items())
    return f"{comparison.function} at {at}"


def _notes(comparison: Comparison) -> list[str]:
    """A blank line and a note for each declined route (none if no route was declined)."""
    return [""] + [f"note: {note}" for note in comparison.notes] if comparison.notes else []


def _numbers_table(comparison: Comparison) -> list[str]:
    return _table(["", *comparison.routes.values()],
                  [[q.name, *(f"{q.values[r]:.17g}" for r in comparison.routes)]
                   for q in comparison.quantities])


def _bound(comparison: Comparison) -> list[str]:
    """The value's rounding-error bound under the numbers (none where it was declined)."""
    if comparison.value_bound is None:
        return []
    return [f"{comparison.function}'s float64 rounding error: at most "
            f"{comparison.value_bound:.2g} (first order, the module's error_bound)"]


def _largest_differences(comparison: Comparison) -> str:
    first, *others = comparison.routes
    return f"largest difference from {_from(comparison.routes[first])}: " + "; ".join(
        f"{comparison.routes[route].removesuffix(' differences')} "
        f"{comparison.largest_abs_difference[route]:.2g} "
        f"(relative {comparison.largest_rel_difference[route]:.2g})" for route in others)


def _from(label: str) -> str:
    """``reverse mode``, ``forward over reverse``: a route named in a sentence."""
    return f"{label} mode" if label in ("reverse", "forward") else label


def _costs_table(comparison: Comparison) -> list[str]:
    return _table(["cost", "operations", "time to derive",
                   f"per call, {comparison.batch:,} points"],
                  [[c.route, "-" if c.operations is None else f"{c.operations:,}",
                    format_seconds(c.derive_seconds), format_seconds(c.call_seconds)]
                   for c in comparison.costs])


def format_check(result: CheckResult) -> str:
    verdict = "ok" if result.passed else "MISMATCH"
    return (f"{verdict}: {result.checked} of {result.function} against "
            f"{' and '.join(result.compared_with)} at {result.points} random points\n"
            + _worst_case(result))


def _worst_case(result: CheckResult) -> str:
    """The worst error against the tolerance, and in which partial and where (if anywhere)."""
    where = ", ".join(f"{name}={value:.17g}" for name, value in result.worst_point.items())
    at = f", {result.worst_partial} at {where}" if where else ""
    return f"worst relative error {result.worst_error:.3g} (tolerance {result.tolerance:g}){at}\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The header, a rule and the rows, in columns: the first flush left, the rest right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [_row(header, widths), _row(["-" * w for w in widths], widths),
            *(_row(row, widths) for row in rows)]


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                     for i, (cell, width) in enumerate(zip(cells, widths))).rstrip()

"""Emission of a call of a function of the module (a helper, its recording version, its vjp):
everything emission knows about a ``call`` edge (`CALL_CODE`): how it is printed, how it names
its results, how the name check walks it, how its results are freed.

Part of emission (`emit`). A call is one line, ``s, v1 = sigmoid_record(z)``, that binds the
results something reads (``_`` for the others); each takes a name of its own. They are bound by
the call alone, on every way.
"""

from __future__ import annotations

from gradgen.emit.block_names import Naming, Place
from gradgen.emit.blocks import Printing
from gradgen.emit.freeing import never_kept, reads_nothing
from gradgen.emit.kinds import BlockEmission, FreeingRule
from gradgen.emit.lines import Unit
from gradgen.emit.name_check import Level, Reader
from gradgen.ir.graph import Edge
from gradgen.ir.naming import DISCARD
from gradgen.ir.printing import python_expr


def call_lines(edge: Edge, printing: Printing) -> Unit:
    """``s, v1 = sigmoid_record(z)`` (``_`` for a result nothing reads)."""
    items = printing.results[edge]
    targets = ", ".join(printing.names[items[k]] if k in items else DISCARD
                        for k in range(len(edge.outputs)))
    return [printing.line(targets, python_expr(edge, printing.names))]


def name_call(edge: Edge, place: Place, naming: Naming) -> None:
    """The results the call binds, each its own name."""
    naming.name_results(edge, place.items.values())


def check_call(edge: Edge, reader: Reader, level: Level) -> None:
    """The call's arguments read; the results it binds assigned by it."""
    reader.reads(edge.inputs, edge)
    reader.define(level.results[edge].values())


#: Everything emission knows about a call.
CALL_CODE = BlockEmission(print=call_lines, name=name_call, check=check_call,
                          free=FreeingRule(reads=reads_nothing, kept=never_kept))

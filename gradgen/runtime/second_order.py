"""The runtime: the Hessian by sweeps of hvp (one per colour, or per entry of each input),
and its sparse form. See `gradgen.runtime`.
"""

import numpy as np


def _hessian_entries(hvp, inputs, colours, pattern):
    """The entries of the Hessian that may be non-zero, {(row, column): value}, by one hvp
    sweep per colour: the columns of a colour are seeded together (no two of them are non-zero
    in one row of the pattern), and each entry is read from its column's sweep."""
    entries = {}
    for colour in colours:
        seed = tuple(1.0 if k in colour else 0.0 for k in range(len(pattern)))
        product = hvp(*inputs, seed)
        for column in colour:
            for row in pattern[column]:
                entries[row, column] = product[row]
    return entries


def _hessian_rows(entries, count, inputs):
    """The Hessian as rows H[i][j] from its entries; 0 (of the inputs' broadcast shape) where
    there is none."""
    shape = np.broadcast_shapes(*map(np.shape, inputs))
    return tuple(tuple(entries[i, j] if (i, j) in entries else np.zeros(shape) if shape else 0.0
                       for j in range(count)) for i in range(count))


def _coordinates(entries):
    """The entries as (rows, columns, values), row by row: the sparse (COO) form."""
    keys = sorted(entries)
    return (tuple(row for row, _ in keys), tuple(column for _, column in keys),
            tuple(entries[key] for key in keys))


def _hessian_blocks(hvp, inputs, positions):
    """The Hessian's blocks H[i][j], shaped input i + input j, by one hvp sweep per entry of
    each input at positions (a tangent 1 at that entry, 0 elsewhere): the sweep of entry b of
    input j gives H[i][j][..., b] for every i."""
    tangents = [np.zeros(np.shape(inputs[k])) for k in positions]
    blocks = [[np.zeros(a.shape + b.shape) for b in tangents] for a in tangents]
    for j, tangent in enumerate(tangents):
        for index in np.ndindex(tangent.shape):
            tangent[index] = 1.0
            for i, product in enumerate(hvp(*inputs, tuple(tangents))):
                blocks[i][j][(Ellipsis, *index)] = product
            tangent[index] = 0.0
    return tuple(tuple(block if block.shape else float(block) for block in row)
                 for row in blocks)

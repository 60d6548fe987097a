"""Differentiation: graphs to derivative graphs.

Reverse mode (`reverse`: the table of block kinds; `sweep`, `guards`; the block kinds
`reverse_loops`, `checkpoint`, `reverse_branches`, `reverse_calls`), forward mode (`forward`)
and SymPy's symbolic route (`symbolic`, back to IR by `sympy_to_ir`).
"""

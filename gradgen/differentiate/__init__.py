"""Differentiation: graphs to derivative graphs. Reverse mode (`reverse`, with `checkpoint` for
long loops), forward mode (`forward`) and SymPy's symbolic route (`symbolic`)."""

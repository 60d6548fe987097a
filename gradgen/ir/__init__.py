"""The IR and its vocabulary: the hypergraph (`graph`) and its symbolic dimensions (`dims`),
the primitive registry (`registry`,
`primitives`), and the tools every later stage uses on it: `builder`, `verify`, `printing`,
`interpret`, `optimize` (its forward sweep in `simplify`), `hoist` and the names of generated
code (`naming`)."""

"""Emission: a graph to a standalone Python/NumPy module (`module`, through the Jinja2 template
in ``templates/``): each function of it (`functions`; the wrappers on top of the derivative in
`api`), the lines of its edges (`blocks`, `lines`), the names of a function with blocks
(`block_names`) checked by `name_check`, and ``del`` at last use (`freeing`). Each block kind
has one module that holds what these do with it (`loop_code`, `branch_code`, `call_code`),
joined in one table (`emissions.EMISSIONS`) of `kinds.BlockEmission`s."""

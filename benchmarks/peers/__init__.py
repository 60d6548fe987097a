"""Benchmark (peers): gradgen beside the tools one could pick instead (``bench_peers.py``).

Expressions (`exprs`), hand-written kernels (`handwritten`), one adapter per peer
(`adapters`, `casadi_peer`), the SymPy reference (`reference`), interleaved timing and peak
memory (`timing`) and the Markdown report (`report`). Adapted from the harness in
``../shared/bench``; every peer but NumPy and SymPy is optional.
"""

"""Benchmark (peers): CasADi, its SX virtual machine and its C code generation."""

from __future__ import annotations

import os
import subprocess
import tempfile

import numpy as np

from .base import PeerUnavailable, Prepared, _lazy
from .exprs import Expr, namespace

# ---------------------------------------------------------------------------
# CasADi: SX graph + casadi.gradient.  Batches are evaluated with Function.map(N)
# through Function.buffer(), i.e. straight from/into NumPy memory (converting
# NumPy <-> DM costs ~0.1 s per 1e6 doubles and would dominate).
#   casadi-sx: the SX virtual machine evaluates map(N);
#   casadi-c : C code generation of the *mapped* function map(N) + gcc -O3,
#              loaded with casadi.external.  The batch size is baked into the C
#              code, so every new N costs one more codegen+gcc (~0.1 s; done in
#              the warm-up call, only the N=1000 build is in the prep time).
#              (map(N) over an external of the single-point function was ~4x
#              slower: ~100 ns of per-point dispatch overhead.)
# ---------------------------------------------------------------------------


def _gcc(c_file, so):
    r = subprocess.run(["gcc", "-O3", "-shared", "-fPIC", "-o", so, c_file, "-lm"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise PeerUnavailable("gcc failed: " + r.stderr[-300:])


def _casadi_compile(fun, stem, workdir):
    """C code generation of ``fun`` into ``stem``.c + gcc -O3 -> casadi.external."""
    import casadi as ca
    cg = ca.CodeGenerator(f"{stem}.c")
    cg.add(fun)
    cg.generate(workdir + os.sep)
    c_file, so = os.path.join(workdir, f"{stem}.c"), os.path.join(workdir, f"{stem}.so")
    _gcc(c_file, so)
    return ca.external(fun.name(), so)


class _CasadiBatch:
    def __init__(self, fun, out_rows, workdir=None):
        self.fun, self.out_rows, self.workdir, self.cache = fun, out_rows, workdir, {}

    def _make(self, N):
        m = self.fun.map(N)
        if self.workdir is not None:
            import casadi as ca
            ins = m.mx_in()
            name = f"{self.fun.name()}_map{N}"
            m = _casadi_compile(ca.Function(name, ins, m.call(ins)), name, self.workdir)
        buf, ev = m.buffer()
        return m, buf, ev

    def __call__(self, *xs):
        N = xs[0].shape[0]
        ent = self.cache.get(N)
        if ent is None:
            ent = self.cache[N] = self._make(N)
        _, buf, ev = ent
        for i, x in enumerate(xs):
            buf.set_arg(i, memoryview(np.ascontiguousarray(x, dtype=np.float64)))
        outs = [np.empty(N) if r == 1 else np.empty((N, r)) for r in self.out_rows]
        for k, o in enumerate(outs):
            buf.set_res(k, memoryview(o))
        ev()
        return outs


class _CasadiScalar:
    """Float path: pre-bound 1-element NumPy buffers (no DM objects per call)."""

    def __init__(self, fun, n_in, out_rows):
        self.fun = fun
        self.buf, self.ev = fun.buffer()
        self.ins = [np.zeros(1) for _ in range(n_in)]
        self.outs = [np.zeros(r) for r in out_rows]
        for i, a in enumerate(self.ins):
            self.buf.set_arg(i, memoryview(a))
        for k, o in enumerate(self.outs):
            self.buf.set_res(k, memoryview(o))

    def __call__(self, *v):
        for a, x in zip(self.ins, v):
            a[0] = x
        self.ev()
        return self.outs


def casadi_graph(expr: Expr):
    import casadi as ca
    xs = [ca.SX.sym(v) for v in expr.inputs]
    e = ca.SX(expr.build(namespace("casadi"), *xs))
    g = ca.densify(ca.gradient(e, ca.vertcat(*xs)))
    # one output per partial -> each lands in its own contiguous (N,) array
    G = ca.Function("vg", xs, [e] + [g[i] for i in range(len(xs))])
    F = ca.Function("fw", xs, [e])
    return xs, G, F


def prep_casadi(expr: Expr, codegen: bool = False) -> Prepared:
    n = len(expr.inputs)
    xs, G, F = casadi_graph(expr)
    info = dict(casadi_fwd_instr=int(F.n_instructions()),
                casadi_vg_instr=int(G.n_instructions()))
    workdir = tempfile.mkdtemp(prefix="bench_casadi_") if codegen else None
    rows = [1] * (n + 1)
    vgb, fwb = _CasadiBatch(G, rows, workdir), _CasadiBatch(F, [1], workdir)
    if codegen:
        scal = _lazy(lambda: (_CasadiScalar(_casadi_compile(G, "vg1", workdir), n, rows),
                              _CasadiScalar(_casadi_compile(F, "fw1", workdir), n, [1])))
    else:
        scal = _lazy(lambda: (_CasadiScalar(G, n, rows), _CasadiScalar(F, n, [1])))

    def value_and_grad(*a):
        o = vgb(*a)
        return o[0], tuple(o[1:])

    def forward(*a):
        return fwb(*a)[0]

    def value_and_grad_scalar(*v):
        o = scal()[0](*v)
        return float(o[0][0]), tuple(float(a[0]) for a in o[1:])

    def forward_scalar(*v):
        return float(scal()[1](*v)[0][0])

    name = "casadi-c" if codegen else "casadi-sx"
    p = Prepared(name, forward, value_and_grad, forward_scalar, value_and_grad_scalar,
                 info=info, keep=[G, F, vgb, fwb, scal])
    p.info["scalar_path"] = ("Function.buffer() bound to 1-element arrays"
                             + (" (codegen of the point function)" if codegen else ""))

    def dm_call(*v):
        r = G(*v)
        return float(r[0]), tuple(float(a) for a in r[1:])

    if not codegen:
        p.alt_scalar["casadi-sx[DM call]"] = dm_call
    return p



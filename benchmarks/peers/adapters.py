"""Benchmark (peers): one ``prep_<peer>(expr)`` per peer of gradgen, and gradgen itself.

Each ``prep_<peer>(expr)`` differentiates/compiles an
:class:`exprs.Expr` and returns a :class:`Prepared` with

* ``forward(*xs)``             xs: float64 arrays of shape (N,)  -> value (N,)
* ``value_and_grad(*xs)``      -> (value (N,), (df/dx1, ..., df/dxn) each (N,))
* ``forward_scalar(*floats)`` / ``value_and_grad_scalar(*floats)``: the best
  single-point path of that peer (Python floats in; floats / 0-d values out)
* ``alt_scalar``               other single-point paths worth knowing about.

Every call returns NumPy data (JAX results are pulled with ``np.asarray``,
torch tensors with ``.numpy()``/``.item()``, CasADi writes straight into NumPy
buffers), so the timings include what a NumPy user has to pay.

All peers run single-threaded by default (``configure_threads``) -- the machine
has 2 shared cores and NumPy ufuncs (what gradgen emits) are single-threaded.

gradgen compiles in-process (`gradgen.pipeline.compile_source`) and loads its module: called
with Python floats, its ``gradient`` runs the float fast path (``_gradient_on_floats``).
"""
from __future__ import annotations

import inspect

import numpy as np

from . import handwritten as hw
from .base import PeerUnavailable, Prepared, _full, _jax, _lazy, _split, _torch
from .casadi_peer import prep_casadi
from .exprs import Expr, namespace

# ---------------------------------------------------------------------------
# SymPy: diff per input + lambdify(modules='numpy', cse=True)
# ---------------------------------------------------------------------------


def sympy_symbols(expr: Expr):
    import sympy as sp
    return [sp.Symbol(v, real=True) for v in expr.inputs]


def sympy_derivatives(expr: Expr):
    """(symbols, f, [df/dx_i])"""
    import sympy as sp
    syms = sympy_symbols(expr)
    f = expr.build(namespace("sympy"), *syms)
    grads = [sp.diff(f, s) for s in syms]
    return syms, f, grads


SYMPY_NESTED_LIMIT = 12  # deeper nestings swell past minutes in sympy.diff


def prep_sympy(expr: Expr, cse: bool = True) -> Prepared:
    """Preparation = diff + lambdify of [f, df/dx1, ...]; the forward-only and the
    math-module (float) lambdifications are built lazily on first use."""
    import sympy as sp
    from sympy.core.cache import clear_cache
    if expr.family == "nested" and expr.n > SYMPY_NESTED_LIMIT:
        raise PeerUnavailable(f"sympy.diff of the inlined depth-{expr.n} nesting (a tree of "
                              f"~2^{expr.n} nodes) is not attempted: depth 10 takes ~10 s")
    clear_cache()
    syms, f, grads = sympy_derivatives(expr)
    vg_np = sp.lambdify(syms, [f] + grads, modules="numpy", cse=cse)
    fw_np = _lazy(lambda: sp.lambdify(syms, f, modules="numpy", cse=cse))

    def value_and_grad(*xs):
        r = vg_np(*xs)
        shape = np.shape(xs[0])
        return _full(r[0], shape), tuple(_full(g, shape) for g in r[1:])

    def forward(*xs):
        return _full(fw_np()(*xs), np.shape(xs[0]))

    p = Prepared("sympy", forward, value_and_grad)
    p.info["sym"] = (syms, f, grads)
    p.info["scalar_path"] = "lambdify(modules='math', cse=True) on floats"

    def scalar_factory():
        # best float path: lambdify to the math module (fallback: numpy on floats)
        try:
            vg_m = sp.lambdify(syms, [f] + grads, modules="math", cse=cse)
            fw_m = sp.lambdify(syms, f, modules="math", cse=cse)
            pt = [0.5] * len(syms)
            vg_m(*pt), fw_m(*pt)
            return vg_m, fw_m
        except Exception as e:  # noqa: BLE001
            p.info["scalar_path"] = f"numpy module on floats (math failed: {type(e).__name__})"
            return vg_np, fw_np()

    sc = _lazy(scalar_factory)
    p.value_and_grad_scalar = lambda *v: (lambda r: (r[0], tuple(r[1:])))(sc()[0](*v))
    p.forward_scalar = lambda *v: sc()[1](*v)
    p.alt_scalar["sympy[numpy module on floats]"] = (
        lambda *v: (lambda r: (r[0], tuple(r[1:])))(vg_np(*v)))
    return p


# ---------------------------------------------------------------------------
# JAX: jit(vmap(value_and_grad(f, argnums=all))), float64
# ---------------------------------------------------------------------------


def prep_jax(expr: Expr) -> Prepared:
    jax = _jax()
    ns = namespace("jax")
    argnums = tuple(range(len(expr.inputs)))

    def f(*a):
        return expr.build(ns, *a)

    vg_b = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=argnums)))
    fw_b = jax.jit(f)                       # every op is elementwise already
    vg_s = jax.jit(jax.value_and_grad(f, argnums=argnums))
    fw_s = jax.jit(f)
    asarray = np.asarray   # cheapest way to a NumPy result (device_get: +40 us/call)

    def value_and_grad(*xs):
        v, g = vg_b(*xs)
        return asarray(v), tuple(asarray(a) for a in g)

    def value_and_grad_scalar(*xs):
        v, g = vg_s(*xs)
        return asarray(v), tuple(asarray(a) for a in g)

    p = Prepared("jax",
                 forward=lambda *xs: asarray(fw_b(*xs)),
                 value_and_grad=value_and_grad,
                 forward_scalar=lambda *v: asarray(fw_s(*v)),
                 value_and_grad_scalar=value_and_grad_scalar)
    p.info["scalar_path"] = "jit(value_and_grad) on Python floats (un-vmapped)"
    p.info["fn"] = f
    return p


# ---------------------------------------------------------------------------
# PyTorch eager autograd, float64
# ---------------------------------------------------------------------------


def prep_torch(expr: Expr) -> Prepared:
    torch = _torch()
    ns = namespace("torch")
    n = len(expr.inputs)
    f64 = torch.float64

    def value_and_grad(*xs):
        ts = [torch.from_numpy(x).requires_grad_() for x in xs]
        out = expr.build(ns, *ts)
        gs = torch.autograd.grad(out.sum(), ts, allow_unused=True)   # sum-of-outputs backward
        return out.detach().numpy(), tuple(
            np.zeros_like(xs[i]) if g is None else g.numpy() for i, g in enumerate(gs))

    def forward(*xs):
        with torch.no_grad():
            return expr.build(ns, *[torch.from_numpy(x) for x in xs]).numpy()

    def value_and_grad_scalar(*v):
        ts = [torch.tensor(a, dtype=f64, requires_grad=True) for a in v]
        out = expr.build(ns, *ts)
        gs = torch.autograd.grad(out, ts, allow_unused=True)
        return out.item(), tuple(0.0 if g is None else g.item() for g in gs)

    def forward_scalar(*v):
        with torch.no_grad():
            return expr.build(ns, *[torch.tensor(a, dtype=f64) for a in v]).item()

    p = Prepared("torch", forward, value_and_grad, forward_scalar, value_and_grad_scalar)
    p.info["scalar_path"] = "0-d float64 tensors, autograd.grad, .item()"
    assert n == len(expr.inputs)
    return p


# ---------------------------------------------------------------------------
# HIPS autograd: make_vjp (== elementwise_grad that also returns the value)
# ---------------------------------------------------------------------------


def prep_autograd(expr: Expr) -> Prepared:
    from autograd import make_vjp
    from autograd import value_and_grad as ag_vg
    ns = namespace("autograd")
    argnum = tuple(range(len(expr.inputs)))

    def f(*a):
        return expr.build(ns, *a)

    mv = make_vjp(f, argnum)
    vg_s = ag_vg(f, argnum)

    def value_and_grad(*xs):
        vjp, ans = mv(*xs)
        return ans, tuple(vjp(np.ones_like(ans)))

    p = Prepared("autograd", forward=f, value_and_grad=value_and_grad,
                 forward_scalar=f, value_and_grad_scalar=vg_s)
    p.info["scalar_path"] = "autograd.value_and_grad on Python floats"
    return p


# ---------------------------------------------------------------------------
# Hand-written NumPy (reference) and hand-written numba fused loop (speed limit)
# ---------------------------------------------------------------------------


def prep_numpy_hand(expr: Expr) -> Prepared:
    ns = namespace("numpy")
    if expr.family == "seed":
        if expr.name not in hw.SEED_KERNELS:
            raise PeerUnavailable("no hand-written gradient")
        k = hw.numpy_version(hw.SEED_KERNELS[expr.name])
        km = hw.math_version(hw.SEED_KERNELS[expr.name])
        vg = lambda *xs: _split(k(*xs))                       # noqa: E731
        vg_math = lambda *v: _split(km(*v))                   # noqa: E731
    elif expr.family in hw.FAMILY_KERNELS:
        n = expr.n
        k = hw.numpy_version(hw.FAMILY_KERNELS[expr.family][0])
        km = hw.math_version(hw.FAMILY_KERNELS[expr.family][0])
        vg = lambda *xs: _split(k(*xs, n))                    # noqa: E731
        vg_math = lambda *v: _split(km(*v, n))                # noqa: E731
    elif expr.family == "wide":
        k = hw.numpy_version(hw.vg_wide_seq)
        km = hw.math_version(hw.vg_wide_seq)
        vg = lambda *xs: k(xs)                                # noqa: E731
        vg_math = lambda *v: km(v)                            # noqa: E731
    else:
        raise PeerUnavailable(expr.family)

    def value_and_grad(*xs):
        v, g = vg(*xs)
        shape = np.shape(xs[0])
        return v, tuple(_full(gi, shape) for gi in g)

    def forward(*xs):
        with np.errstate(over="ignore"):
            return expr.build(ns, *xs)

    p = Prepared("numpy-hand", forward, value_and_grad, forward, value_and_grad)
    p.info["scalar_path"] = "same NumPy code on Python floats"
    p.alt_scalar["hand[pure Python math]"] = vg_math
    return p


def prep_numba(expr: Expr) -> Prepared:
    import numba  # noqa: F401
    nin = len(expr.inputs)
    if expr.family == "seed":
        if expr.name not in hw.SEED_KERNELS:
            raise PeerUnavailable("no hand-written gradient")
        ks = hw.numba_scalar(hw.SEED_KERNELS[expr.name])
        fs = hw.numba_forward_from_text(expr.py_text, expr.inputs)
        lv, lf = hw.numba_loop(ks, nin, nin + 1), hw.numba_loop(fs, nin, 1)
        value_and_grad = lambda *xs: _split(lv(*xs))           # noqa: E731
        forward = lf
        value_and_grad_scalar = lambda *v: _split(ks(*v))      # noqa: E731
        forward_scalar = fs
    elif expr.family in hw.FAMILY_KERNELS:
        n = expr.n
        vgk, fwk = hw.FAMILY_KERNELS[expr.family]
        ks, fs = hw.numba_scalar(vgk), hw.numba_scalar(fwk)
        lv, lf = hw.numba_loop(ks, nin, nin + 1, 1), hw.numba_loop(fs, nin, 1, 1)
        value_and_grad = lambda *xs: _split(lv(*xs, n))        # noqa: E731
        forward = lambda *xs: lf(*xs, n)                       # noqa: E731
        value_and_grad_scalar = lambda *v: _split(ks(*v, n))   # noqa: E731
        forward_scalar = lambda *v: fs(*v, n)                  # noqa: E731
    elif expr.family == "wide":
        kv, kf, kvs, kfs = hw.numba_wide_kernels()
        value_and_grad = lambda *xs: _split(kv(xs, tuple(np.empty(len(xs[0])) for _ in range(nin + 1))))  # noqa: E501,E731
        forward = lambda *xs: kf(xs, np.empty(len(xs[0])))     # noqa: E731
        value_and_grad_scalar = lambda *v: _split(kvs(v))      # noqa: E731
        forward_scalar = lambda *v: kfs(v)                     # noqa: E731
    else:
        raise PeerUnavailable(expr.family)
    p = Prepared("numba", forward, value_and_grad, forward_scalar, value_and_grad_scalar)
    p.info["scalar_path"] = "@njit scalar kernel called with floats"
    return p


def gradgen_targets() -> tuple:
    """The targets ``compile_source`` offers: ``(None,)`` (its default, NumPy) unless it
    takes ``target=``, when the numba target is measured too."""
    from gradgen.pipeline import compile_source
    if "target" in inspect.signature(compile_source).parameters:
        return (None, "numba")
    return (None,)


def prep_gradgen(expr: Expr, target=None) -> Prepared:
    """Compile ``expr`` in-process and load the module (what ``gradgen compile`` writes)."""
    from gradgen.pipeline import compile_source
    options = {} if target is None else {"target": target}
    compiled = compile_source(expr.definition(), path=f"{expr.name}.txt", **options)
    module = compiled.load(f"gradgen_bench_{expr.name}")
    fw, grad = module.forward, module.gradient  # fresh arrays of the inputs' shape: no _full
    p = Prepared("gradgen" if target is None else f"gradgen-{target}", fw, grad, fw, grad)
    p.info["scalar_path"] = "generated gradient on Python floats (its math fast path)"
    return p


# ---------------------------------------------------------------------------

PEERS = {
    "gradgen": prep_gradgen,
    "gradgen-numba": lambda e: prep_gradgen(e, target="numba"),
    "numba": prep_numba,
    "numpy-hand": prep_numpy_hand,
    "sympy": prep_sympy,
    "jax": prep_jax,
    "torch": prep_torch,
    "autograd": prep_autograd,
    "casadi-sx": lambda e: prep_casadi(e, codegen=False),
    "casadi-c": lambda e: prep_casadi(e, codegen=True),
}

PEER_DESC = {
    "gradgen": "the module gradgen generates (default NumPy target), compiled in-process",
    "gradgen-numba": "the module of gradgen's numba target (where gradgen has one)",
    "numba": "hand-written value+gradient, @njit fused per-element loop (speed limit)",
    "numpy-hand": "hand-written NumPy value+gradient (reference a careful person writes)",
    "sympy": "sympy.diff per input + lambdify(modules='numpy', cse=True)",
    "jax": "jax.jit(jax.vmap(jax.value_and_grad(f, argnums=all))), x64",
    "torch": "PyTorch eager autograd, float64, sum-of-outputs backward",
    "autograd": "HIPS autograd make_vjp (elementwise_grad that also returns the value)",
    "casadi-sx": "CasADi SX + casadi.gradient, Function.map(N) via Function.buffer()",
    "casadi-c": "as casadi-sx but C code generation + gcc -O3, casadi.external",
}

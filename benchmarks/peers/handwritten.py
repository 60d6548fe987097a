"""Benchmark (peers): hand-written value-and-gradient kernels (what a careful person writes).

Each ``vg_*`` below is written ONCE with bare function names (sin, cos, exp, fmax,
sign, ...) and instantiated twice:

* ``numpy``  -- the bare names resolve to NumPy ufuncs; the function is then
                vectorised over arrays of shape (N,) (and also works on floats);
* ``numba``  -- the bare names resolve to ``math``/builtins, the function is
                ``@njit``-compiled as a *scalar* kernel and called per element from a
                generated fused loop (one pass over memory: value + all partials).

The stress families use forward-mode tangents for the 2-input recurrences (what
one would write by hand for 2 inputs) and a two-neighbour accumulation for the
chained Rosenbrock.
"""
# ruff: noqa: F821  (the kernels use bare names, bound per backend by `rebind`)
from __future__ import annotations

import math
import types

import numpy as np

# ---------------------------------------------------------------------------
# kernels (bare names!)
# ---------------------------------------------------------------------------


def vg_warmup(x, y):
    return x * y + sin(x), y + cos(x), x


def vg_lecture(x, y, z):
    ez = exp(z)
    u = x * x + y * ez
    c = cos(u)
    return z + sin(u), 2.0 * x * c, ez * c, 1.0 + y * ez * c


def vg_ab(a, b):
    return (a + b) * (b + 1.0), b + 1.0, a + 2.0 * b + 1.0


def vg_logsin(x1, x2):
    return log(x1) + x1 * x2 - sin(x2), 1.0 / x1 + x2, x1 - cos(x2)


def vg_logistic(w, x, b, t, lam):
    s = 1.0 / (1.0 + exp(-(w * x + b)))
    r = s - t
    q = r * s * (1.0 - s)
    return 0.5 * r * r + 0.5 * lam * w * w, q * x + lam * w, q * w, q, -r, 0.5 * w * w


def vg_rosenbrock(x, y):
    a = 1.0 - x
    b = y - x * x
    return a * a + 100.0 * b * b, -2.0 * a - 400.0 * x * b, 200.0 * b


def vg_goldstein_price(x, y):
    p = x + y + 1.0
    q = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
    dq = -14.0 + 6.0 * x + 6.0 * y              # dq/dx == dq/dy
    A = 1.0 + p * p * q
    dA = 2.0 * p * q + p * p * dq                # dA/dx == dA/dy
    r = 2.0 * x - 3.0 * y
    s = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
    B = 30.0 + r * r * s
    Bx = 4.0 * r * s + r * r * (-32.0 + 24.0 * x - 36.0 * y)
    By = -6.0 * r * s + r * r * (48.0 - 36.0 * x + 54.0 * y)
    return A * B, dA * B + A * Bx, dA * B + A * By


def vg_ackley(x, y):
    rho = sqrt(0.5 * (x * x + y * y))
    e1 = exp(-0.2 * rho)
    e2 = exp(0.5 * (cos(2.0 * PI * x) + cos(2.0 * PI * y)))
    k = 2.0 * e1 / rho
    f = -20.0 * e1 - e2 + E + 20.0
    return f, k * x + PI * e2 * sin(2.0 * PI * x), k * y + PI * e2 * sin(2.0 * PI * y)


def vg_f10(x1, x2, x3, x4, x5, x6, x7, x8, x9, x10):
    T = tanh(x1 * x2 + x3)
    dT = 1.0 - T * T
    L = log1p(x4 * x4)
    E5 = exp(-x5)
    S = sqrt(x6 * x6 + x7 * x7 + 1.0)
    b9 = x9 + 3.0
    den = x8 * x8 + b9 * b9
    sg = 1.0 / (1.0 + exp(x1 - x10))
    dsg = sg * (1.0 - sg)
    C = cos(x2 * x9)
    Sn = sin(x2 * x9)
    d37 = x3 - x7
    sgn = sign(d37)
    M = fmax(x4, x5)
    h45 = (x4 > x5) * 1.0
    R = fmax(x6, 0.0)
    h6 = (x6 > 0.0) * 1.0
    mn = fmin(x8, x10)
    h810 = (x8 < x10) * 1.0
    D = 1.0 + x5 * x5
    x47 = x4 * x7
    x110 = x1 * x10
    Q = x47 * x110 / D
    f = (T + L * E5 + S + atan2(x8, b9) + sg * C + fabs(d37) + M * R + mn + Q)
    return (f,
            dT * x2 - dsg * C + x47 * x10 / D,
            dT * x1 - sg * Sn * x9,
            dT + sgn,
            2.0 * x4 / (1.0 + x4 * x4) * E5 + h45 * R + x7 * x110 / D,
            -L * E5 + (1.0 - h45) * R - 2.0 * x5 * Q / D,
            x6 / S + M * h6,
            x7 / S - sgn + x4 * x110 / D,
            b9 / den + h810,
            -x8 / den - sg * Sn * x2,
            dsg * C + (1.0 - h810) + x1 * x47 / D)


def vg_nested(x, y, n):
    """x_{k+1} = sin(x_k*y + x_k^2): forward mode with two tangents."""
    xk = x
    dx = 1.0
    dy = 0.0
    for _ in range(n):
        u = xk * y + xk * xk
        c = cos(u)
        a = y + 2.0 * xk
        dy = c * (a * dy + xk)
        dx = c * a * dx
        xk = sin(u)
    return xk, dx, dy


def fw_nested(x, y, n):
    xk = x
    for _ in range(n):
        xk = sin(xk * y + xk * xk)
    return xk


def vg_chain(x, y, n):
    """x_{k+1} = sin(x_k^2 + y): forward mode with two tangents."""
    xk = x
    dx = 1.0
    dy = 0.0
    for _ in range(n):
        u = xk * xk + y
        c = cos(u)
        t = 2.0 * xk * c
        dy = t * dy + c
        dx = t * dx
        xk = sin(u)
    return xk, dx, dy


def fw_chain(x, y, n):
    xk = x
    for _ in range(n):
        xk = sin(xk * xk + y)
    return xk


def vg_wide_seq(xs):
    """chained Rosenbrock value + gradient; xs: sequence of arrays (or floats)."""
    n = len(xs)
    g = [0.0 * xs[0] for _ in range(n)]
    f = 0.0 * xs[0]
    for i in range(n - 1):
        a = xs[i]
        t = xs[i + 1] - a * a
        s = 1.0 - a
        f = f + 100.0 * t * t + s * s
        g[i] = g[i] - 400.0 * a * t - 2.0 * s
        g[i + 1] = g[i + 1] + 200.0 * t
    return f, tuple(g)


SEED_KERNELS = {name[3:]: fn for name, fn in list(globals().items())
                if name.startswith("vg_") and name[3:] in
                ("warmup", "lecture", "ab", "logsin", "logistic", "rosenbrock", "goldstein_price",
                 "ackley", "f10")}
FAMILY_KERNELS = {"nested": (vg_nested, fw_nested), "chain": (vg_chain, fw_chain)}

# ---------------------------------------------------------------------------
# instantiation
# ---------------------------------------------------------------------------


def _np_sign(a):
    return np.sign(a)


NUMPY_GLOBALS = dict(sin=np.sin, cos=np.cos, exp=np.exp, log=np.log, sqrt=np.sqrt,
                     tanh=np.tanh, log1p=np.log1p, atan2=np.arctan2, sign=np.sign,
                     fmax=np.maximum, fmin=np.minimum, fabs=np.abs, PI=np.pi, E=np.e)


def _math_sign(a):
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)


MATH_GLOBALS = dict(sin=math.sin, cos=math.cos, exp=math.exp, log=math.log,
                    sqrt=math.sqrt, tanh=math.tanh, log1p=math.log1p, atan2=math.atan2,
                    sign=_math_sign, fmax=max, fmin=min, fabs=abs, PI=math.pi, E=math.e)


def rebind(fn, globs):
    """Copy of ``fn`` whose bare names resolve in ``globs``."""
    g = dict(globs)
    g["__builtins__"] = __builtins__
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


def numpy_version(fn):
    return rebind(fn, NUMPY_GLOBALS)


def math_version(fn):
    """Pure-Python scalar version (math module) -- the 'hand-written float' path."""
    return rebind(fn, MATH_GLOBALS)


NJIT = dict(error_model="numpy")   # numpy division semantics, no ZeroDivision checks


def numba_scalar(fn):
    """A fresh @njit dispatcher of the scalar kernel (fresh => compile time is real)."""
    import numba
    g = dict(MATH_GLOBALS)
    g["sign"] = numba.njit(_math_sign)
    return numba.njit(**NJIT)(rebind(fn, g))


def numba_loop(kern, n_in: int, n_out: int, n_extra: int = 0):
    """Fused per-element loop ``loop(a0..a{n_in-1}, e0..) -> (o0, ..., o{n_out-1})``.

    Each output is its own 1-D array (one block of (n_out, N) doubles would exceed
    glibc's 32 MB mmap threshold at N=1e6 and page-fault on every call)."""
    import numba
    args = [f"a{i}" for i in range(n_in)]
    extra = [f"e{i}" for i in range(n_extra)]
    call = ", ".join([f"{a}[j]" for a in args] + extra)
    lines = [f"def loop({', '.join(args + extra)}):",
             "    N = a0.shape[0]"]
    lines += [f"    o{k} = np.empty(N)" for k in range(n_out)]
    lines += ["    for j in range(N):",
              f"        r = kern({call})"]
    if n_out == 1:
        lines.append("        o0[j] = r")
        lines.append("    return o0")
    else:
        lines += [f"        o{k}[j] = r[{k}]" for k in range(n_out)]
        lines.append(f"    return ({', '.join(f'o{k}' for k in range(n_out))})")
    ns = {"np": np, "kern": kern}
    exec("\n".join(lines), ns)
    return numba.njit(**NJIT)(ns["loop"])


def numba_forward_from_text(py_text: str, inputs):
    """@njit scalar forward compiled from the expression text (math namespace)."""
    import numba

    from .exprs import namespace
    ns = dict(namespace("numba"))
    src = f"def fw({', '.join(inputs)}):\n    return {py_text}\n"
    exec(src, ns)
    return numba.njit(**NJIT)(ns["fw"])


def numba_wide_kernels():
    """Fresh dispatchers for the chained-Rosenbrock kernels.

    Inputs: tuple of n arrays; outputs: tuple of n+1 arrays allocated by the caller.
    Cache-blocked: for each block of B points, sweep i over the inputs (the
    per-block rows stay in L1/L2; a plain i-outer loop streams 5 rows of N doubles
    per i through memory and is ~3x slower at N=1e6)."""
    import numba
    B = 256

    def vg(xs, outs):
        n = len(xs)
        N = xs[0].shape[0]
        f = outs[0]
        for j0 in range(0, N, B):
            j1 = min(j0 + B, N)
            for i in range(n + 1):
                o = outs[i]
                for j in range(j0, j1):
                    o[j] = 0.0
            for i in range(n - 1):
                a = xs[i]
                b = xs[i + 1]
                gi = outs[i + 1]
                gn = outs[i + 2]
                for j in range(j0, j1):
                    aj = a[j]
                    t = b[j] - aj * aj
                    s = 1.0 - aj
                    f[j] += 100.0 * t * t + s * s
                    gi[j] += -400.0 * aj * t - 2.0 * s
                    gn[j] += 200.0 * t
        return outs

    def fw(xs, f):
        n = len(xs)
        N = xs[0].shape[0]
        for j0 in range(0, N, B):
            j1 = min(j0 + B, N)
            for j in range(j0, j1):
                f[j] = 0.0
            for i in range(n - 1):
                a = xs[i]
                b = xs[i + 1]
                for j in range(j0, j1):
                    aj = a[j]
                    t = b[j] - aj * aj
                    s = 1.0 - aj
                    f[j] += 100.0 * t * t + s * s
        return f

    def vg_scalar(xs):
        n = len(xs)
        out = np.zeros(n + 1)
        for i in range(n - 1):
            a = xs[i]
            t = xs[i + 1] - a * a
            s = 1.0 - a
            out[0] += 100.0 * t * t + s * s
            out[i + 1] += -400.0 * a * t - 2.0 * s
            out[i + 2] += 200.0 * t
        return out

    def fw_scalar(xs):
        f = 0.0
        for i in range(len(xs) - 1):
            a = xs[i]
            t = xs[i + 1] - a * a
            s = 1.0 - a
            f += 100.0 * t * t + s * s
        return f

    return tuple(numba.njit(**NJIT)(k) for k in (vg, fw, vg_scalar, fw_scalar))

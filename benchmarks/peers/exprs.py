"""Benchmark (peers): the expressions gradgen and its peers differentiate, and name spaces.

Adapted from the peer harness in ``../shared/bench`` (the method and expressions of issue 13).

Every expression carries
  * ``name``     -- short identifier used in the tables,
  * ``inputs``   -- ordered input names (the gradient is taken w.r.t. all of them),
  * ``text``     -- the right-hand side in gradgen's text syntax (Python-like math,
                    ``^`` or ``**`` for power); ``None`` when the inline form would be
                    too large (the ``nested`` family grows as 2^n when inlined),
  * ``let_text`` -- optional program form (``def f(x, y):``, ``t1 = ...`` lines,
                    ``return ...``); used for gradgen when ``text`` is None,
  * ``steps``    -- the same function as statements ``(name, python_rhs)``, the last one
                    the value: what the SymPy reference differentiates one statement at a
                    time (so a 20-deep nesting needs no 2^20-node tree),
  * ``domain``   -- sampling box per input (keeps log/sqrt/atan2 smooth and the deep
                    recurrences contractive so float64 results are comparable),
  * ``builder``  -- optional ``builder(ns, *vars)`` that builds the expression as a
                    DAG with Python operators; default: evaluate ``text`` in ``ns``.

A peer builds an expression with ``expr.build(namespace(backend), *symbols)``, where
``namespace`` maps gradgen's function names (sin cos tan exp log sqrt tanh abs
sigmoid relu max min atan2 log1p ...) onto that backend's functions.  Python's
``**`` operator is used for powers in every backend (``^`` is rewritten to ``**``).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

# Names gradgen's syntax is expected to know (used by every namespace below).
FUNCTION_NAMES = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                  "exp", "expm1", "log", "log1p", "sqrt", "abs", "sigmoid", "relu",
                  "max", "min", "atan2")
CONSTANT_NAMES = ("pi",)


@dataclass
class Expr:
    name: str
    inputs: list
    text: str | None
    domain: dict
    family: str = "seed"          # seed | nested | chain | wide
    n: int | None = None       # size parameter of stress families
    builder: Callable | None = None
    let_text: str | None = None
    desc: str = ""
    steps: list | None = None
    _code: object = field(default=None, repr=False)

    def statements(self) -> list:
        """``[(name, python_rhs), ...]``; the last statement's name is the value."""
        return self.steps if self.steps is not None else [("f", self.py_text)]

    @property
    def py_text(self) -> str | None:
        return None if self.text is None else to_python(self.text)

    def definition(self) -> str:
        """Full gradgen source: ``f(x, y) = ...`` (or the multi-statement form)."""
        if self.text is not None:
            return f"f({', '.join(self.inputs)}) = {self.text}\n"
        return self.let_text

    def build(self, ns: dict, *vars):
        if self.builder is not None:
            return self.builder(ns, *vars)
        if self._code is None:
            self._code = compile(self.py_text, f"<expr {self.name}>", "eval")
        env = dict(ns)
        env.update(zip(self.inputs, vars))
        return eval(self._code, {"__builtins__": {}}, env)

    def sample(self, N: int, seed: int = 0):
        """N random points inside ``domain`` as a list of float64 arrays of shape (N,)."""
        import numpy as np
        rng = np.random.default_rng(seed)
        out = []
        for v in self.inputs:
            lo, hi = self.domain.get(v, self.domain.get("*", (-1.0, 1.0)))
            out.append(rng.uniform(lo, hi, N))
        return out


def to_python(text: str) -> str:
    """gradgen syntax -> Python syntax (only ``^`` differs)."""
    return text.replace("^", "**")


# ----------------------------------------------------------------------------
# Namespaces: gradgen function names -> backend functions
# ----------------------------------------------------------------------------
_NS_CACHE: dict = {}


def namespace(backend: str) -> dict:
    """Function namespace for ``backend`` in
    {numpy, math, numba, sympy, jax, torch, autograd, casadi}."""
    if backend in _NS_CACHE:
        return _NS_CACHE[backend]
    ns = _make_ns(backend)
    missing = [k for k in FUNCTION_NAMES + CONSTANT_NAMES if k not in ns]
    assert not missing, (backend, missing)
    _NS_CACHE[backend] = ns
    return ns


def _make_ns(backend: str) -> dict:
    if backend == "numpy":
        import numpy as np
        return dict(sin=np.sin, cos=np.cos, tan=np.tan, asin=np.arcsin, acos=np.arccos,
                    atan=np.arctan, sinh=np.sinh, cosh=np.cosh, tanh=np.tanh, exp=np.exp,
                    expm1=np.expm1, log=np.log, log1p=np.log1p, sqrt=np.sqrt, abs=np.abs,
                    sigmoid=lambda a: 1.0 / (1.0 + np.exp(-a)),
                    relu=lambda a: np.maximum(a, 0.0), max=np.maximum, min=np.minimum,
                    atan2=np.arctan2, pi=np.pi)
    if backend in ("math", "numba"):
        ns = dict(sin=math.sin, cos=math.cos, tan=math.tan, asin=math.asin, acos=math.acos,
                  atan=math.atan, sinh=math.sinh, cosh=math.cosh, tanh=math.tanh,
                  exp=math.exp, expm1=math.expm1, log=math.log, log1p=math.log1p,
                  sqrt=math.sqrt, abs=abs, max=max, min=min, atan2=math.atan2, pi=math.pi)

        def sigmoid(a):
            return 1.0 / (1.0 + math.exp(-a))

        def relu(a):
            return a if a > 0.0 else 0.0

        if backend == "numba":
            import numba
            sigmoid, relu = numba.njit(sigmoid), numba.njit(relu)
            ns["math"] = math
        ns.update(sigmoid=sigmoid, relu=relu)
        return ns
    if backend == "sympy":
        import sympy as sp
        from sympy.codegen.cfunctions import expm1, log1p
        return dict(sin=sp.sin, cos=sp.cos, tan=sp.tan, asin=sp.asin, acos=sp.acos,
                    atan=sp.atan, sinh=sp.sinh, cosh=sp.cosh, tanh=sp.tanh, exp=sp.exp,
                    expm1=expm1, log=sp.log, log1p=log1p, sqrt=sp.sqrt, abs=sp.Abs,
                    sigmoid=lambda a: 1 / (1 + sp.exp(-a)),
                    relu=lambda a: sp.Max(a, 0), max=sp.Max, min=sp.Min,
                    atan2=sp.atan2, pi=sp.pi)
    if backend == "jax":
        import jax
        import jax.numpy as jnp
        return dict(sin=jnp.sin, cos=jnp.cos, tan=jnp.tan, asin=jnp.arcsin,
                    acos=jnp.arccos, atan=jnp.arctan, sinh=jnp.sinh, cosh=jnp.cosh,
                    tanh=jnp.tanh, exp=jnp.exp, expm1=jnp.expm1, log=jnp.log,
                    log1p=jnp.log1p, sqrt=jnp.sqrt, abs=jnp.abs, sigmoid=jax.nn.sigmoid,
                    relu=jax.nn.relu, max=jnp.maximum, min=jnp.minimum,
                    atan2=jnp.arctan2, pi=jnp.pi)
    if backend == "torch":
        import torch

        def T(a):
            return a if isinstance(a, torch.Tensor) else torch.tensor(a, dtype=torch.float64)

        def u(f):
            return lambda a: f(T(a))

        def b(f):
            return lambda a, c: f(T(a), T(c))

        return dict(sin=u(torch.sin), cos=u(torch.cos), tan=u(torch.tan),
                    asin=u(torch.asin), acos=u(torch.acos), atan=u(torch.atan),
                    sinh=u(torch.sinh), cosh=u(torch.cosh), tanh=u(torch.tanh),
                    exp=u(torch.exp), expm1=u(torch.expm1), log=u(torch.log),
                    log1p=u(torch.log1p), sqrt=u(torch.sqrt), abs=u(torch.abs),
                    sigmoid=u(torch.sigmoid), relu=u(torch.relu), max=b(torch.maximum),
                    min=b(torch.minimum), atan2=b(torch.atan2), pi=math.pi)
    if backend == "autograd":
        import autograd.numpy as anp
        return dict(sin=anp.sin, cos=anp.cos, tan=anp.tan, asin=anp.arcsin,
                    acos=anp.arccos, atan=anp.arctan, sinh=anp.sinh, cosh=anp.cosh,
                    tanh=anp.tanh, exp=anp.exp, expm1=anp.expm1, log=anp.log,
                    log1p=anp.log1p, sqrt=anp.sqrt, abs=anp.abs,
                    sigmoid=lambda a: 1.0 / (1.0 + anp.exp(-a)),
                    relu=lambda a: anp.maximum(a, 0.0), max=anp.maximum,
                    min=anp.minimum, atan2=anp.arctan2, pi=anp.pi)
    if backend == "casadi":
        import casadi as ca
        return dict(sin=ca.sin, cos=ca.cos, tan=ca.tan, asin=ca.asin, acos=ca.acos,
                    atan=ca.atan, sinh=ca.sinh, cosh=ca.cosh, tanh=ca.tanh, exp=ca.exp,
                    expm1=ca.expm1, log=ca.log, log1p=ca.log1p, sqrt=ca.sqrt,
                    abs=ca.fabs, sigmoid=lambda a: 1 / (1 + ca.exp(-a)),
                    relu=lambda a: ca.fmax(a, 0), max=ca.fmax, min=ca.fmin,
                    atan2=ca.atan2, pi=math.pi)
    raise ValueError(backend)


# ----------------------------------------------------------------------------
# Seed expressions
# ----------------------------------------------------------------------------
_GP = ("(1 + (x + y + 1)^2*(19 - 14*x + 3*x^2 - 14*y + 6*x*y + 3*y^2))"
       "*(30 + (2*x - 3*y)^2*(18 - 32*x + 12*x^2 + 48*y - 36*x*y + 27*y^2))")
_ACKLEY = ("-20*exp(-0.2*sqrt(0.5*(x^2 + y^2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y)))"
           " + exp(1) + 20")
_F10 = ("tanh(x1*x2 + x3) + log1p(x4^2)*exp(-x5) + sqrt(x6^2 + x7^2 + 1)"
        " + atan2(x8, x9 + 3) + sigmoid(x10 - x1)*cos(x2*x9) + abs(x3 - x7)"
        " + max(x4, x5)*relu(x6) + min(x8, x10) + x1*x4*x7*x10/(1 + x5^2)")


def seed_exprs() -> list:
    return [
        Expr("lecture", ["x", "y", "z"], "z + sin(x^2 + y*exp(z))", {"*": (-1.0, 1.0)},
             desc="lecture example"),
        Expr("ab", ["a", "b"], "(a + b)*(b + 1)", {"*": (-2.0, 2.0)},
             desc="(a+b)*(b+1)"),
        Expr("logsin", ["x1", "x2"], "log(x1) + x1*x2 - sin(x2)",
             {"x1": (0.5, 3.0), "x2": (-2.0, 2.0)}, desc="log(x1) + x1*x2 - sin(x2)"),
        Expr("logistic", ["w", "x", "b", "t", "lam"],
             "0.5*(sigmoid(w*x + b) - t)^2 + lam*0.5*w^2",
             {"w": (-2.0, 2.0), "x": (-2.0, 2.0), "b": (-2.0, 2.0), "t": (0.0, 1.0),
              "lam": (0.0, 1.0)}, desc="logistic least squares, 5 inputs"),
        Expr("rosenbrock", ["x", "y"], "(1 - x)^2 + 100*(y - x^2)^2", {"*": (-2.0, 2.0)},
             desc="Rosenbrock 2-D"),
        Expr("goldstein_price", ["x", "y"], _GP, {"*": (-2.0, 2.0)},
             desc="Goldstein-Price"),
        Expr("ackley", ["x", "y"], _ACKLEY, {"*": (-5.0, 5.0)}, desc="Ackley 2-D"),
        Expr("f10", [f"x{i}" for i in range(1, 11)], _F10, {"*": (-1.5, 1.5)},
             desc="10 inputs: tanh log1p exp sqrt atan2 sigmoid cos abs max relu min /"),
    ]


# ----------------------------------------------------------------------------
# Stress families
# ----------------------------------------------------------------------------
INLINE_LIMIT = 200_000  # characters; larger inline texts are not generated


def nested(n: int) -> Expr:
    """x_0 = x;  x_{k+1} = sin(x_k*y + x_k^2);  f = x_n.

    x_k occurs twice per level, so the inlined expression *tree* has ~2^n nodes
    while the DAG (what JAX/torch/CasADi/numba see) has ~4n operations.  This is the
    classic expression-swell case for symbolic differentiation."""
    def builder(ns, x, y):
        xk = x
        for _ in range(n):
            xk = ns["sin"](xk * y + xk ** 2)
        return xk

    text = None
    if 20 * 2 ** n < INLINE_LIMIT:
        s = "x"
        for _ in range(n):
            s = f"sin({s}*y + {s}^2)"
        text = s
    lines = ["def f(x, y):"]
    prev, steps = "x", []
    for k in range(1, n):
        lines.append(f"    t{k} = sin({prev}*y + {prev}^2)")
        steps.append((f"t{k}", f"sin({prev}*y + {prev}**2)"))
        prev = f"t{k}"
    lines.append(f"    return sin({prev}*y + {prev}^2)")
    steps.append(("f", f"sin({prev}*y + {prev}**2)"))
    # domain: contractive regime (|y + 2 x_k| < 1), values stay far from underflow
    return Expr(f"nested_{n}", ["x", "y"], text, {"x": (0.1, 0.4), "y": (0.3, 0.5)},
                family="nested", n=n, builder=builder, let_text="\n".join(lines) + "\n",
                steps=steps, desc=f"x_(k+1) = sin(x_k*y + x_k^2), depth {n} (DAG; tree ~2^n)")


def chain(n: int) -> Expr:
    """x_0 = x;  x_{k+1} = sin(x_k^2 + y);  f = x_n.

    Extra family: x_k occurs once per level, so the inline text is linear in n
    (what a single-expression front end can actually accept at large n); symbolic
    derivative trees still grow ~n^2 without CSE."""
    s = "x"
    for _ in range(n):
        s = f"sin({s}^2 + y)"

    def builder(ns, x, y):
        xk = x
        for _ in range(n):
            xk = ns["sin"](xk ** 2 + y)
        return xk

    steps = [(f"t{k}", f"sin({'x' if k == 1 else f't{k - 1}'}**2 + y)") for k in range(1, n)]
    steps.append(("f", f"sin({'x' if n == 1 else f't{n - 1}'}**2 + y)"))
    return Expr(f"chain_{n}", ["x", "y"], s, {"x": (-0.5, 0.5), "y": (0.1, 0.5)},
                family="chain", n=n, builder=builder, steps=steps,
                desc=f"x_(k+1) = sin(x_k^2 + y), depth {n} (text linear in n)")


def wide(n: int) -> Expr:
    """Chained Rosenbrock over n scalar inputs:
    f = sum_{i=1}^{n-1} 100*(x_{i+1} - x_i^2)^2 + (1 - x_i)^2."""
    names = [f"x{i}" for i in range(1, n + 1)]
    terms = [f"100*({names[i + 1]} - {names[i]}^2)^2 + (1 - {names[i]})^2"
             for i in range(n - 1)]
    text = " + ".join(terms)

    def builder(ns, *xs):
        acc = 0
        for i in range(n - 1):
            acc = acc + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
        return acc

    return Expr(f"wide_{n}", names, text, {"*": (-1.5, 1.5)}, family="wide", n=n,
                builder=builder, desc=f"chained Rosenbrock, {n} inputs")


FAMILIES = {"nested": nested, "chain": chain, "wide": wide}

# representatives used in the per-N timing tables
TABLE_STRESS = [("nested", 20), ("chain", 20), ("wide", 20)]


def table_exprs() -> list:
    return seed_exprs() + [FAMILIES[f](n) for f, n in TABLE_STRESS]


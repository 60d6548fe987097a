"""Second order: ``hvp``, ``hessian`` and ``sparse_hessian`` of modules compiled with
``hessian=True`` (``--hessian``), against oracles that do not share gradgen's IR.

- Every elementwise primitive of the registry: ``hvp`` along unit and random tangents against
  the Hessian of the entry's SymPy equivalent (``sympy.diff`` twice, exact evaluation), and
  against central differences of the generated ``gradient``.
- Programs written twice, in gradgen's language and as a SymPy expression: ``hessian`` against
  SymPy's Hessian to 1e-12, symmetric, and equal at arrays (one Hessian per point).
- The examples of arrays: ``hvp`` against central differences of ``gradient`` along random
  tangents, ``hessian``'s blocks against ``hvp`` and symmetric (``H[i][j]`` is ``H[j][i]``
  transposed).
- The colouring: on random sparse programs the pattern is exactly the dense Hessian's non-zeros;
  no two columns of a colour share a row; the sweeps are counted (a chained Rosenbrock of 1000
  inputs takes 3); ``sparse_hessian`` gives the same numbers.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import sympy
from test_primitives import sample, source_text

from gradgen.differentiate.colouring import column_colours
from gradgen.errors import LimitError
from gradgen.ir.primitives import REGISTRY
from gradgen.pipeline import compile_source

EXAMPLES = Path(__file__).parent.parent / "examples"


def hessian_module(text: str, **options):
    return compile_source(text, "hessian.txt", hessian=True, **options).load()


def unit(i: int, n: int) -> tuple[float, ...]:
    return tuple(float(k == i) for k in range(n))


def gradient_differences(module, point: tuple, tangents: tuple, h: float = 1e-6) -> list:
    """Central differences of ``gradient`` along ``tangents`` (one per input of WRT)."""
    positions = [module.INPUTS.index(name) for name in module.WRT]
    plus, minus = list(point), list(point)
    for k, tangent in zip(positions, tangents):
        plus[k] = point[k] + h * np.asarray(tangent)
        minus[k] = point[k] - h * np.asarray(tangent)
    after, before = module.gradient(*plus)[1], module.gradient(*minus)[1]
    return [(a - b) / (2 * h) for a, b in zip(after, before)]


# ---- every elementwise primitive ----------------------------------------------------------

def _sympy_hessian(prim, n: int):
    """The Hessian of the entry's SymPy equivalent, as a function of a point (None: no SymPy
    equivalent of numbers alone)."""
    if prim.sympy is None or prim.args != "f" * n or prim.result != "float":
        return None
    symbols = sympy.symbols(f"a0:{n}", real=True)
    expression = prim.sympy(*symbols)
    entries = [[sympy.diff(expression, a, b) for b in symbols] for a in symbols]

    def at(point: tuple) -> np.ndarray:
        subs = {s: sympy.Float(repr(v), 30) for s, v in zip(symbols, point)}
        return np.array([[float(sympy.N(e.subs(subs), 30)) for e in row] for row in entries])

    return at


SECOND_ORDER = sorted(name for name, prim in REGISTRY.items()
                      if prim.elementwise and prim.adjoint and not prim.internal)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", SECOND_ORDER)
def test_primitive_hvp_matches_sympy_and_differences_of_the_gradient(name: str) -> None:
    prim = REGISTRY[name]
    module = hessian_module(source_text(prim))
    n, exact = prim.arity, _sympy_hessian(prim, prim.arity)
    rng = np.random.default_rng(len(name))
    for point in zip(*sample(prim)):
        point = tuple(float(v) for v in point)
        rows = np.array(module.hessian(*point), dtype=float).reshape(n, n)
        if exact is not None:
            np.testing.assert_allclose(rows, exact(point), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} at {point}")
        tangents = tuple(rng.normal(size=n))
        product = np.array(module.hvp(*point, tangents), dtype=float)
        np.testing.assert_allclose(product, rows @ np.array(tangents), rtol=1e-10, atol=1e-12)
        differences = np.array(gradient_differences(module, point, tangents), dtype=float)
        np.testing.assert_allclose(product, differences, rtol=1e-5,
                                   atol=1e-6 * max(1.0, np.abs(differences).max()))


# ---- programs against SymPy ---------------------------------------------------------------

PROGRAMS = {  # gradgen's text, and the same function as SymPy reads it
    "rosenbrock": ("f(x, y) = (1 - x)^2 + 100*(y - x^2)^2",
                   "(1 - x)**2 + 100*(y - x**2)**2"),
    "lecture": ("f(x, y, z) = z + sin(x^2 + y*exp(z))", "z + sin(x**2 + y*exp(z))"),
    "program": ("def f(x, y):\n    a = x*y\n    b = sin(a) + cos(a)\n    c = b*b - a\n"
                "    return c/(1 + y^2)\n",
                "((sin(x*y) + cos(x*y))**2 - x*y)/(1 + y**2)"),
    "transcendental": ("f(x, y) = log(1 + x^2)*atan(y) + sqrt(2 + x*y) + tanh(x - y)/3",
                       "log(1 + x**2)*atan(y) + sqrt(2 + x*y) + tanh(x - y)/3"),
    "quotients": ("f(a, b, c) = a/b + b/(1 + c^2) + exp(-a*c) + a^3*b^2",
                  "a/b + b/(1 + c**2) + exp(-a*c) + a**3*b**2"),
    "linear": ("f(x, y) = 3*x - 2*y + 1", "3*x - 2*y + 1"),
}


def sympy_hessian(expression: str, names: tuple[str, ...], point: tuple) -> np.ndarray:
    symbols = sympy.symbols(names)
    parsed = sympy.sympify(expression, locals=dict(zip(names, symbols)))
    subs = dict(zip(symbols, (sympy.Float(repr(float(v)), 30) for v in point)))
    return np.array([[float(sympy.N(sympy.diff(parsed, a, b).subs(subs), 30)) for b in symbols]
                     for a in symbols])


@pytest.mark.parametrize("key", PROGRAMS)
def test_hessian_matches_sympy_is_symmetric_and_works_per_point(key: str) -> None:
    text, expression = PROGRAMS[key]
    module = hessian_module(text)
    n = len(module.INPUTS)
    rng = np.random.default_rng(3)
    points = rng.uniform(0.2, 1.5, size=(3, n))
    for point in map(tuple, points):
        rows = np.array(module.hessian(*point), dtype=float)
        expected = sympy_hessian(expression, module.INPUTS, point)
        np.testing.assert_allclose(rows, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rows, rows.T, rtol=1e-14, atol=1e-14)
        for i in range(n):
            assert module.hvp(*point, unit(i, n)) == pytest.approx(tuple(rows[:, i]), rel=1e-14)
    at_points = module.hessian(*points.T)  # arrays: one Hessian per point
    for k, point in enumerate(map(tuple, points)):
        per_point = np.array([[entry[k] for entry in row] for row in at_points])
        np.testing.assert_allclose(per_point, module.hessian(*point), rtol=1e-13, atol=1e-14)


def test_a_hessian_of_zeros_takes_no_sweep_and_keeps_the_shape_of_the_points() -> None:
    module = hessian_module(PROGRAMS["linear"][0])
    assert module.HESSIAN_COLOURS == ()
    assert module.hessian(1.0, 2.0) == ((0.0, 0.0), (0.0, 0.0))
    rows = module.hessian(np.ones(3), 2.0)
    assert all(np.array_equal(entry, np.zeros(3)) for row in rows for entry in row)
    assert module.hvp(1.0, 2.0, (1.0, 1.0)) == (0.0, 0.0)


def test_wrt_selects_the_rows_and_columns() -> None:
    module = hessian_module(PROGRAMS["lecture"][0], wrt=("z", "x"))
    point = (0.3, 0.7, -0.2)
    full = sympy_hessian(PROGRAMS["lecture"][1], ("x", "y", "z"), point)
    expected = full[np.ix_([2, 0], [2, 0])]
    np.testing.assert_allclose(module.hessian(*point), expected, rtol=1e-12)
    assert len(module.hvp(*point, (1.0, 0.0))) == 2


# ---- functions of arrays ------------------------------------------------------------------

ARRAY_EXAMPLES = ["l2_regression.txt", "perceptron.txt", "multiclass_logistic.txt"]
SIZES = {"n": 5, "d": 3, "h": 4, "k": 3}


def random_inputs(module, rng: np.random.Generator) -> list:
    return [rng.normal(size=tuple(SIZES.get(d, d) for d in shape)) if shape else 0.3
            for shape in module.SHAPES]


@pytest.mark.parametrize("example", ARRAY_EXAMPLES)
def test_array_hvp_against_differences_of_the_gradient(example: str) -> None:
    module = hessian_module((EXAMPLES / example).read_text())
    rng = np.random.default_rng(11)
    point = random_inputs(module, rng)
    tangents = tuple(rng.normal(size=np.shape(point[module.INPUTS.index(name)]))
                     for name in module.WRT)
    products = module.hvp(*point, tangents)
    for product, difference, name in zip(products, gradient_differences(module, point, tangents),
                                         module.WRT):
        assert np.shape(product) == np.shape(point[module.INPUTS.index(name)])
        np.testing.assert_allclose(product, difference, rtol=1e-6,
                                   atol=1e-7 * max(1.0, np.abs(difference).max()), err_msg=name)


def test_array_hessian_blocks_are_symmetric_and_agree_with_hvp() -> None:
    module = hessian_module((EXAMPLES / "l2_regression.txt").read_text(), wrt=("w", "b", "lam"))
    rng = np.random.default_rng(5)
    point = random_inputs(module, rng)
    blocks = module.hessian(*point)
    shapes = [np.shape(point[module.INPUTS.index(name)]) for name in module.WRT]
    for (i, a), (j, b) in itertools.product(enumerate(shapes), repeat=2):
        assert np.shape(blocks[i][j]) == a + b
        np.testing.assert_allclose(np.reshape(blocks[i][j], (int(np.prod(a)), -1)),
                                   np.reshape(blocks[j][i], (int(np.prod(b)), -1)).T,
                                   rtol=1e-12, atol=1e-14)
    tangents = tuple(rng.normal(size=shape) for shape in shapes)
    for i, product in enumerate(module.hvp(*point, tangents)):
        expected = sum(np.tensordot(blocks[i][j], tangents[j], axes=len(shapes[j]))
                       for j in range(len(shapes)))
        np.testing.assert_allclose(product, expected, rtol=1e-12, atol=1e-14)


def test_an_array_valued_function_has_no_hessian() -> None:
    with pytest.raises(LimitError, match="scalar value"):
        compile_source("f(x: (n,)) = x * x\n", "t.txt", hessian=True)


# ---- sparse Hessians: the pattern, the colouring, the sweeps ------------------------------

def chained_rosenbrock(n: int) -> str:
    names = [f"x{k}" for k in range(1, n + 1)]
    terms = [f"100*({b} - {a}^2)^2 + (1 - {a})^2" for a, b in zip(names, names[1:])]
    return f"f({', '.join(names)}) = {' + '.join(terms)}\n"


def counted(module) -> list[int]:
    """Count ``module.hvp``'s calls (``hessian`` looks it up at each call)."""
    calls = [0]
    hvp = module.hvp

    def counting(*args):
        calls[0] += 1
        return hvp(*args)

    module.hvp = counting
    return calls


def dense_by_units(module, point: tuple) -> np.ndarray:
    n = len(module.WRT)
    return np.array([module.hvp(*point, unit(j, n)) for j in range(n)]).T


def test_chained_rosenbrock_of_1000_inputs_takes_three_sweeps() -> None:
    module = hessian_module(chained_rosenbrock(1000))
    assert len(module.HESSIAN_COLOURS) == 3
    point = tuple(np.random.default_rng(2).uniform(-1, 1, size=1000))
    calls = counted(module)
    rows, columns, values = module.sparse_hessian(*point)
    assert calls[0] == 3
    x = np.array(point)
    diagonal = np.full(1000, 0.0)
    diagonal[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    diagonal[1:] += 200
    expected = {(k, k): diagonal[k] for k in range(1000)}
    expected |= {(k, k + 1): -400 * x[k] for k in range(999)}
    expected |= {(k + 1, k): -400 * x[k] for k in range(999)}
    assert len(values) == len(expected) == 2998
    for row, column, value in zip(rows, columns, values):
        assert value == pytest.approx(expected[row, column], rel=1e-12, abs=1e-12)


UNARY = ("sin({})", "exp({}/4)", "({})^2", "log(2 + {}^2)", "tanh({})", "({})^3")
BINARY = ("{}*{}", "sin({} - {})", "({} + {})^2", "{}/(3 + {}^2)")


def sparse_program(rng: np.random.Generator, n: int) -> str:
    """A sum of terms, each of one or two random inputs (some linear), of ``n`` inputs."""
    names = [f"x{k}" for k in range(n)]
    terms = []
    for _ in range(n):
        a, b = rng.choice(names, size=2, replace=False)
        if rng.random() < 0.5:
            terms.append(str(rng.choice(BINARY)).format(a, b))
        else:
            terms.append(str(rng.choice(UNARY)).format(a))
        if rng.random() < 0.3:
            terms.append(f"{rng.integers(1, 5)}*{a}")
    return f"f({', '.join(names)}) = {' + '.join(terms)}\n"


@pytest.mark.parametrize("seed", range(12))
def test_pattern_is_the_dense_hessians_non_zeros_and_the_colouring_recovers_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    module = hessian_module(sparse_program(rng, n))
    point = tuple(rng.uniform(0.3, 1.2, size=n))
    dense = dense_by_units(module, point)
    pattern = np.zeros((n, n), dtype=bool)
    for column, rows in enumerate(module.HESSIAN_PATTERN):
        pattern[list(rows), column] = True
    np.testing.assert_array_equal(pattern, dense != 0)
    colours = module.HESSIAN_COLOURS
    assert colours == column_colours(module.HESSIAN_PATTERN)
    for colour in colours:
        for a, b in itertools.combinations(colour, 2):
            assert not pattern[:, a] @ pattern[:, b], "two columns of a colour share a row"
    calls = counted(module)
    rows = np.array(module.hessian(*point))
    assert calls[0] == len(colours) <= n
    np.testing.assert_allclose(rows, dense, rtol=1e-14, atol=0)
    coordinates = module.sparse_hessian(*point)
    assert list(zip(coordinates[0], coordinates[1])) == sorted(zip(*np.nonzero(pattern)))
    np.testing.assert_allclose(coordinates[2], dense[pattern], rtol=1e-14, atol=0)


# ---- the module and the command line -----------------------------------------------------

def test_the_module_says_what_it_has_and_stays_within_the_line_width() -> None:
    text = chained_rosenbrock(40)
    source = compile_source(text, "chain.txt", hessian=True).source
    assert "recompile instead: gradgen compile chain.txt --hessian" in source
    assert "hvp(*inputs, tangents) gives the Hessian times the tangents" in source
    assert "# tangent of: " in source and "# grad of: " in source
    assert [line for line in source.splitlines() if len(line) > 100
            and line.strip().removesuffix(" ...") not in text] == []  # the source may be wider
    assert "HESSIAN_COLOURS = ((0, 3, 6" in source


def test_cli_compile_with_hessian(tmp_path: Path) -> None:
    from gradgen.cli import main

    source = tmp_path / "rosenbrock.txt"
    source.write_text(PROGRAMS["rosenbrock"][0] + "\n")
    assert main(["compile", str(source), "--hessian"]) in (0, None)
    text = (tmp_path / "rosenbrock.py").read_text()
    namespace: dict = {}
    exec(compile(text, "rosenbrock.py", "exec"), namespace)  # the module just generated
    assert namespace["hessian"](1.0, 1.0) == ((802.0, -400.0), (-400.0, 200.0))


def test_inputs_named_like_the_modules_own_names_change_nothing() -> None:
    text = ("def f(hessian, hvp, inputs, entries):\n"
            "    return hessian*hvp*sin(inputs)*exp(entries)\n")
    module = hessian_module(text)
    point = (1.0, 2.0, 0.5, 0.1)
    rows = module.hessian(*point)
    expected = sympy_hessian("hessian*hvp*sin(inputs)*exp(entries)", module.INPUTS, point)
    np.testing.assert_allclose(rows, expected, rtol=1e-12, atol=1e-15)
    assert module.hessian(**dict(zip(module.INPUTS, point))) == rows
    assert module.hvp(**dict(zip(module.INPUTS, point)), tangents=unit(0, 4)) == rows[0]


# ---- programs with blocks ------------------------------------------------------------------

SCALAR_VALUED = sorted(path.name for path in EXAMPLES.glob("*.txt") if path.stem != "euler")


@pytest.mark.parametrize("name", SCALAR_VALUED)
def test_every_examples_hvp_against_the_gradient_and_sympy(name: str) -> None:
    """`gradgen check --hessian` on each example of a scalar value (loops, branches, helpers
    and arrays included): hvp against central differences of the gradient, and SymPy's
    Hessian where SymPy takes the function; hessian symmetric."""
    from gradgen.tools.check import check_hessian

    result = check_hessian((EXAMPLES / name).read_text(), name, points=5)
    assert result.passed, result


def test_an_array_valued_example_is_declined_in_words() -> None:
    with pytest.raises(LimitError, match="value is an array"):
        compile_source((EXAMPLES / "euler.txt").read_text(), "euler.txt", hessian=True)


def test_a_side_recording_one_tape_twice_names_each_place() -> None:
    """Simplification merged two tapes a branch's side records into one; the hvp's branch
    gives the second place a name of its own (it once read one name for two nodes)."""
    from gradgen.tools.check import check_hessian

    text = ("def f(x, z, y):\n    q = z\n    if y < q:\n        if y < z:\n"
            "            if y > 0:\n                for j in range(3, 1):\n"
            "                    for k in range(0, 3):\n"
            "                        q = (0.5 * (x * 2))\n"
            "                    x = sin((x * 2))\n                q = (q * cos(q))\n"
            "            z = y\n    return q + z\n")
    assert check_hessian(text, "twice.txt", points=50).passed


def test_a_branching_function_takes_each_points_way_in_hvp_and_hessian() -> None:
    text = ("def f(x, y):\n    if x > y:\n        r = x*x*y\n    else:\n"
            "        r = sin(x)*y\n    return r\n")
    module = hessian_module(text)
    x = np.array([2.0, 0.5])
    rows = module.hessian(x, 1.0)
    expected = [((2 * 1.0, 2 * 2.0), (2 * 2.0, 0.0)),  # x > y: x^2 y
                ((-np.sin(0.5), np.cos(0.5)), (np.cos(0.5), 0.0))]  # else: sin(x) y
    for k, want in enumerate(expected):
        np.testing.assert_allclose([[entry[k] for entry in row] for row in rows], want,
                                   rtol=1e-15)
        np.testing.assert_allclose(module.hessian(float(x[k]), 1.0), want, rtol=1e-15)
    products = module.hvp(x, 1.0, (1.0, 0.0))
    np.testing.assert_allclose(products, [[2.0, -np.sin(0.5)], [4.0, np.cos(0.5)]], rtol=1e-15)
    source = compile_source(text, "b.txt", hessian=True).source
    assert "_hvp_pointwise = _pointwise(_hvp_pointwise)" in source


def test_a_sides_placeholders_come_after_its_results() -> None:
    """Seed 30798 of the campaign: in a helper's recording jvp, the then-side bound the else
    side's residual tangent to None under the name of its own tangent of p before its result
    read it (the name check walks results first; the printing now does too)."""
    text = ("def h1(p):\n    if (0.5 != 1):\n        p /= 2\n    else:\n        p = (0.5 / p)\n"
            "        p = (p - 3)\n    return (p - p)\n\ndef f(x):\n    p = h1(x)\n    return p\n")
    module = hessian_module(text)
    assert module.hvp(-0.3776, (1.0,)) == (0.0,)
    assert module.hessian(2.0) == ((0.0,),)


def test_checkpointed_loops_give_the_same_hvp() -> None:
    """--checkpoint keeps snapshots of the loops instead of every step's record; hvp, forward
    mode over that gradient, gives the taped one's numbers."""
    text = (EXAMPLES / "hmm.txt").read_text()
    taped = hessian_module(text)
    checkpointed = hessian_module(text, checkpoint=2)
    rng = np.random.default_rng(0)
    point = [rng.normal(size=3) * 0.3, rng.normal(size=(3, 3)) * 0.3,
             rng.normal(size=(6, 3)) * 0.3]
    tangents = tuple(rng.normal(size=np.shape(x)) for x in point)
    for a, b in zip(taped.hvp(*point, tangents), checkpointed.hvp(*point, tangents)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    for a, b in zip(gradient_differences(taped, point, tangents), taped.hvp(*point, tangents)):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-8)


def test_a_side_recording_one_of_its_inputs_names_it_apart() -> None:
    """Seed 31570: a side's residual was one of its inputs passed on (the tangent of
    ``1.48 + u`` is ``u_dot``); it took the operand's name, which lives on after the branch, and
    the name check refused the module. The side now assigns it a name of its own."""
    from gradgen.tools.check import check_hessian

    text = ("def f(x, N: int):\n    u = (-x)\n    if (0.5 > 0.5):\n        x *= 3\n"
            "    elif (0.5 >= 2):\n"
            "        v = max((sqrt((1 + ((3 / (2 + cos(0.75))) ^ 2))) + u),"
            " log((1 + ((-x) ^ 2)), 10))\n"
            "        if ((0.75 - x) < acos((0.9 * tanh(x)))):\n"
            "            for j in range(0):\n"
            "                u = ((u * sin((u - N))) + (j * u))\n"
            "        else:\n"
            "            for j in range(0):\n"
            "                v *= cos(h1(pi))\n"
            "                x = ((x * tanh(((1 + (u ^ 2)) ^ -2))) + (j * x))\n"
            "    return (u - exp(N))\n")
    text = "def h1(p):\n    return 0.5\n\n" + text
    assert check_hessian(text, "inputs.txt", points=5).passed


def test_an_hvp_allocates_no_zeros_read_only_for_their_shape() -> None:
    """The tangent of a reverse loop's accumulator is zeros like zeros like the input: the
    simplifier makes it zeros like the input, and the zeros in between are gone."""
    source = compile_source((EXAMPLES / "hmm.txt").read_text(), "hmm.txt", hessian=True).source
    hvp = source[source.index("def hvp("):source.index("def hessian(")]
    assert "xp.zeros(np.shape(t" not in hvp and hvp.count("xp.zeros(") == 2

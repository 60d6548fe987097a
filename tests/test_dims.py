"""Symbolic dimensions (`gradgen.ir.dims`): their text, arithmetic, equality and sizes, and how
the lowering and the generated modules use them."""

from __future__ import annotations

import operator

import pytest

from gradgen.errors import CompileError
from gradgen.frontend.lower_static import STATIC_TEXT_LIMIT
from gradgen.ir.dims import Dim, named, size, strided, total
from gradgen.pipeline import compile_source

n, k, m, T = (named(text) for text in ("n", "k", "m", "T"))


@pytest.mark.parametrize(("dim", "text"), [
    (n, "n"),
    (n * k, "n*k"),
    (2 * n, "2*n"),
    (n * 2, "n*2"),
    (n * -1, "n*-1"),
    (T - 1, "T-1"),
    (2 - n, "2-n"),
    (n + -1, "n+-1"),
    (-n, "-n"),
    (-(n * k), "-n*k"),
    (n + m + 3, "n+m+3"),
    (n - (m - k), "n-m-k"),
    ((n + 1) * k, "n+1*k"),  # written without parentheses, as the source's texts always were
    (strided(n, None, None, 2), "n[::2]"),
    (strided(n - 1, 1, None, -1), "n-1[1::-1]"),
])
def test_a_dimension_is_written_as_the_source_writes_it(dim: Dim, text: str) -> None:
    assert str(dim) == dim.text == text
    assert repr(dim) == repr(text)


def test_a_shape_prints_as_the_tuple_of_texts_it_stands_for() -> None:
    assert repr((n, 3)) == "('n', 3)" and str((n * k,)) == "('n*k',)"


def test_the_registry_arithmetic_builds_dimensions() -> None:
    """The lowering keeps ``static=operator.mul``'s value: on a Dim it is a Dim."""
    assert operator.mul(2, n) == "2*n" and operator.neg(n) == "-n"
    assert operator.sub(n, 1) == "n-1" and operator.add(n, k) == "n+k"
    assert isinstance(operator.mul(n, k), Dim)


def test_sums_and_products_are_kept_flat() -> None:
    assert ((2 * n) * k).operands == (2, n, k) == (2 * n * k).factors
    assert (n + (m + 3)).operands == (n, m, 3)
    assert (n - (m - k)).operands == (n, m - k)  # a difference is not
    assert (n + 1).factors == (n + 1,) and n.factors == (n,)


def test_two_dimensions_are_equal_when_written_alike() -> None:
    assert n * k == named("n") * named("k") and hash(n * k) == hash(named("n") * named("k"))
    assert n * k != k * n and 2 * n != n * 2
    assert (n + m) + k == n + (m + k)
    assert n != 3 and n != 1 and len({n, named("n"), k}) == 2


def test_a_dimension_equals_its_text() -> None:
    """A dimension given by name (``--dims n=4``, a test's sizes) finds its Dim."""
    assert n == "n" and "n" == n and "n*k" == n * k and n * k != "k*n"
    assert {"n": 4}.get(n) == 4 and {n: 4}["n"] == 4


def test_total_is_a_whole_number_or_one_sum() -> None:
    assert total((2, 3)) == 5 and total((n,)) is n
    assert total((n, 3, m)) == "n+3+m" and total((n + m, k)).operands == (n, m, k)


@pytest.mark.parametrize(("shape", "expected"), [
    ((), (1, [])),
    ((2, 3), (6, [])),
    ((n, k), (1, ["k", "n"])),
    ((n * k,), (1, ["k", "n"])),
    ((k * n,), (1, ["k", "n"])),
    ((2 * k * n, 3), (6, ["k", "n"])),
    ((n - 1, k), (1, ["k", "n-1"])),
    (((n + 1) * k,), (1, ["k", "n+1"])),
    ((n + 1 * k,), (1, ["n+1*k"])),  # a sum, whose text is that of (n+1)*k
    ((n * -1,), (1, ["-1", "n"])),  # no size is negative: -1 never cancels
])
def test_size_reads_the_factors_of_products(shape: tuple, expected: tuple) -> None:
    assert size(shape) == expected


def test_reshape_compares_sizes_by_their_factors() -> None:
    compile_source("f(X: (n, d)) = sum(reshape(X, (d*n,))^3)")
    compile_source("f(X: (n, k)) = sum(reshape(concat((X, ones((1, k)))), ((n+1)*k,)))")
    with pytest.raises(CompileError, match=r"reshape of \(n\+1, k\) to \(n\+1\*k,\): the sizes"):
        compile_source("f(X: (n, k)) = sum(reshape(concat((X, ones((1, k)))), (n+1*k,)))")


def test_a_generated_module_carries_shapes_as_text() -> None:
    module = compile_source("f(x: (n,), W: (n, 3)) = x[1:] + x[:-1] @ W[1:, 0]").load()
    assert module.SHAPES == (("n",), ("n", 3)) and module.VALUE_SHAPE == ("n-1",)
    assert all(type(dim) in (str, int) for shape in module.SHAPES for dim in shape)
    assert type(module.VALUE_SHAPE[0]) is str


def test_a_loop_bound_keeps_its_dimension() -> None:
    """``range(n - 1)`` is bounded by the dimension n-1, read off the input that declares n."""
    source = ("def f(x: (n,)):\n    s = 0\n    for t in range(n - 1):\n"
              "        s = s + x[t] * x[t + 1]\n    return s\n")
    assert compile_source(source).load().forward([1.0, 2.0, 3.0]) == pytest.approx(8.0)


@pytest.mark.parametrize("count", [9, 10])
def test_a_dimension_is_kept_up_to_the_length_of_its_text(count: int) -> None:
    """A sum of inputs bounds a loop while its text is at most `STATIC_TEXT_LIMIT` characters
    long (``count1+...+count9``: 62), and no longer (``count1+...+count10``: 70)."""
    names = [f"count{j}" for j in range(1, count + 1)]
    kept = len("+".join(names)) <= STATIC_TEXT_LIMIT
    assert kept == (count == 9)
    source = (f"def f(x, {', '.join(names)}):\n    s = x\n"
              f"    for t in range({' + '.join(names)}):\n        s = s * x\n    return s\n")
    if kept:
        compile_source(source)
    else:
        with pytest.raises(CompileError, match="the loop's stop must be a whole number"):
            compile_source(source)

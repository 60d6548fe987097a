"""Regression tests for the miscompilations of loops, branches and helpers (issue 11), one or
more per class, each against an oracle that does not go through gradgen: the same program as
plain Python (its value, and central differences of it), or a hand-derived formula.

Classes: a swap or rotation through a temporary inside a loop; a value after nested loops
read back from a tape; a checkpointed loop whose carried value is reassigned in the body; a
copy of a value that is later updated, inside a loop or branch; a helper that assigns in one
side of an ``if``; a scalar helper's constant argument in a loop, called with arrays; an empty
range under ``--checkpoint sqrt``; an ``if`` on an array inside an ``if`` on a number; more
scalar ``if``s nested than a real branch may be.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import central_difference

from gradgen.pipeline import compile_source

CHECKPOINTS = (None, 1, 2, "sqrt", 1000)


def load(text: str, checkpoint: int | str | None = None):
    return compile_source(text, "regression.txt", checkpoint=checkpoint).module


def assert_gradient(module, reference, point: tuple, whole: int = 0) -> None:
    """The module's value and partials against ``reference`` and its central differences
    (the last ``whole`` arguments are whole numbers, not differentiated)."""
    value, partials = module.gradient(*point)
    assert value == pytest.approx(reference(*point), rel=1e-12, abs=1e-12)
    assert module.forward(*point) == pytest.approx(value, rel=1e-14, abs=1e-14)
    expected = [float(central_difference(reference, point, i))
                for i in range(len(point) - whole)]
    assert partials == pytest.approx(expected, rel=1e-6, abs=1e-7)


SWAP = """def f(u, v, N: int):
    for s in range(N):
        tmp = u
        u = v
        v = tmp
    return u - 2 * v
"""

ROTATE = """def f(a, b, c, N: int):
    for s in range(N):
        t = a
        a = b * 1.5
        b = c
        c = t
    return a + 2 * b + 3 * c * a
"""


def swap(u, v, n):
    for _ in range(int(n)):
        u, v = v, u
    return u - 2 * v


def rotate(a, b, c, n):
    for _ in range(int(n)):
        a, b, c = b * 1.5, c, a
    return a + 2 * b + 3 * c * a


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
@pytest.mark.parametrize("trips", [0, 1, 2, 5])
def test_a_swap_and_a_rotation_through_a_temporary_in_a_loop(trips, checkpoint) -> None:
    assert_gradient(load(SWAP, checkpoint), swap, (3.0, 5.0, trips), whole=1)
    assert_gradient(load(ROTATE, checkpoint), rotate, (0.5, -1.25, 2.0, trips), whole=1)


NESTED = """def f(a):
    for i in range(2):
        for j in range(3):
            a = a * a
    return a
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_the_value_after_nested_loops_is_not_read_back_from_a_tape(checkpoint) -> None:
    module = load(NESTED, checkpoint)
    value, (partial,) = module.gradient(1.01)
    assert value == pytest.approx(1.01 ** 64, rel=1e-14)
    assert partial == pytest.approx(64 * 1.01 ** 63, rel=1e-13)


RNN = """def f(w, x: (T,)):
    s = 0.5
    for t in range(T):
        s = tanh(w * s + x[t])
    return s
"""

REASSIGNED = """def f(a, x: (T,)):
    s = 1.5
    for t in range(T):
        s = s * x[t]
        s = s / a
    return s
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_carried_value_reassigned_in_the_body_under_checkpointing(checkpoint) -> None:
    w, x = 0.7, np.array([-1.0, 0.3, 0.8, -0.2, 0.5])
    for length in (1, 2, 5):
        _, (dw, dx) = load(RNN, checkpoint).gradient(w, x[:length])

        def rnn(w, *xs):
            s = 0.5
            for xt in xs:
                s = math.tanh(w * s + xt)
            return s

        point = (w, *x[:length])
        assert dw == pytest.approx(float(central_difference(rnn, point, 0)), rel=1e-7)
        expected = [float(central_difference(rnn, point, i + 1)) for i in range(length)]
        assert list(dx) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    value, (da, dx) = load(REASSIGNED, checkpoint).gradient(2.0, x)
    assert value == pytest.approx(1.5 * np.prod(x) / 2.0 ** 5, rel=1e-14)
    assert da == pytest.approx(-5 * value / 2.0, rel=1e-13)
    assert list(dx) == pytest.approx(list(value / x), rel=1e-13)


COPY_IN_LOOP = """def main(beta_2, alpha):
    if beta_2 != alpha:
        for k in range(1):
            r = alpha
            for i in range(4):
                alpha = 2*r + beta_2
    return alpha/2
"""

COPY_BEFORE_BRANCH = """def main(theta, X0):
    g2 = X0
    X0 /= theta
    if (theta if X0 > 2 else theta) < X0:
        for k in range(1):
            X0 = g2
    elif 2 >= g2:
        X0 = X0 * g2
    return pow(X0, 2)
"""


def copy_in_loop(beta_2, alpha):
    if beta_2 != alpha:
        r = alpha
        alpha = 2 * r + beta_2
    return alpha / 2


def copy_before_branch(theta, x0):
    g2 = x0
    x0 = x0 / theta
    if theta < x0:
        x0 = g2
    elif 2 >= g2:
        x0 = x0 * g2
    return x0 ** 2


def test_a_copy_of_a_value_that_is_later_updated() -> None:
    assert_gradient(load(COPY_IN_LOOP), copy_in_loop, (1.0, 2.0))
    assert load(COPY_IN_LOOP).forward(1.0, 2.0) == 2.5
    assert_gradient(load(COPY_BEFORE_BRANCH), copy_before_branch, (0.5, 3.0))
    assert_gradient(load(COPY_BEFORE_BRANCH), copy_before_branch, (2.0, 1.5))
    assert load(COPY_BEFORE_BRANCH).gradient(0.5, 3.0)[1] == pytest.approx((0.0, 6.0))


HELPER_WITH_IF = """def step0(Z):
    m = Z
    if 2 < Z:
        m /= 4 + m
    return m
def main(h):
    return step0(h)
"""

HELPER_WITH_IF_AND_LOOP = """def g(a, z):
    if z < 0:
        c = a + 1
        for k in range(2):
            z = z + c
    return z

def f(x, y):
    return g(x, y)
"""


def step0(z):
    return z / (4 + z) if 2 < z else z


def helper_with_if_and_loop(a, z):
    return z + 2 * (a + 1) if z < 0 else z


@pytest.mark.parametrize("h", [1.0, 3.0])
def test_a_helper_that_assigns_in_one_side_of_an_if(h) -> None:
    assert_gradient(load(HELPER_WITH_IF), step0, (h,))
    for point in [(1.0, 2.0), (1.0, -2.0)]:
        assert_gradient(load(HELPER_WITH_IF_AND_LOOP), helper_with_if_and_loop, point)


HELPER_CONSTANT_ARGUMENT = """def g(a, c):
    for k in range(2):
        a = a * c
    return a

def f(w):
    return g(w, 2)
"""


def test_a_helper_with_a_constant_argument_called_with_arrays() -> None:
    value, (dw,) = load(HELPER_CONSTANT_ARGUMENT).gradient(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(value, [4.0, 8.0, 12.0])
    np.testing.assert_array_equal(dw, [4.0, 4.0, 4.0])


EMPTY_RANGE = """def f(x):
    for k in range(2, 0):
        x = x * 2
    return x
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_an_empty_range(checkpoint) -> None:
    assert load(EMPTY_RANGE, checkpoint).gradient(1.5) == (1.5, (1.0,))
    then_a_branch = load(EMPTY_RANGE.replace("    return x", "    if x > 1:\n        x = x * 3\n"
                                                           "    return x"), checkpoint)
    assert then_a_branch.gradient(1.5) == (4.5, (3.0,))
    assert then_a_branch.gradient(0.5) == (0.5, (1.0,))


ARRAY_IF_IN_SCALAR_IF = """def f(x: (n,), c):
    s = x
    if c > 0:
        if x > 0:
            s = s * 2
    return sum(s)
"""


def test_an_if_on_an_array_inside_an_if_on_a_number() -> None:
    module = load(ARRAY_IF_IN_SCALAR_IF)
    x = np.array([1.0, -1.0, 2.0])
    assert module.forward(x, 1.0) == 5.0
    assert module.forward(x, -1.0) == 2.0
    value, (dx, dc) = module.gradient(x, 1.0)
    np.testing.assert_array_equal(dx, [2.0, 1.0, 2.0])
    assert dc == 0.0


def nested_ifs(depth: int) -> str:
    lines = ["def f(x):", "    s = x"]
    for k in range(1, depth + 1):
        lines.append("    " * k + f"if x > {-k}:")
    lines.append("    " * (depth + 1) + "s = s * 0.5 + x")
    return "\n".join(lines + ["    return s", ""])


@pytest.mark.parametrize("depth", [19, 20, 21, 25])
def test_more_nested_ifs_than_real_branches_may_nest(depth) -> None:
    module = load(nested_ifs(depth))
    assert module.forward(0.3) == pytest.approx(0.45)
    assert module.gradient(0.3)[1] == pytest.approx((1.5,))
    assert module.forward(-30.0) == -30.0


DIMENSION_AFTER_SELECTION = """def f(x: (n,)):
    b = x
    if x > 0:
        b = x * 2
    return sum(b) * n
"""


def test_a_dimension_read_after_an_if_on_an_array() -> None:
    x = np.array([1.0, -2.0, 0.5])
    value, (dx,) = load(DIMENSION_AFTER_SELECTION).gradient(x)
    assert value == pytest.approx((2.0 - 2.0 + 1.0) * 3)
    np.testing.assert_array_equal(dx, [6.0, 3.0, 6.0])


INT_TIMES_CARRIED = """def f(N: int, x):
    q = x
    for k in range(M):
        q = 0.5
    return q * N
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
@pytest.mark.parametrize("trips", [0, 2])
def test_an_adjoint_made_from_a_whole_number_is_a_number(trips, checkpoint) -> None:
    module = load(INT_TIMES_CARRIED.replace("M", str(trips)), checkpoint)
    assert module.gradient(3, 2.0) == ((6.0, (3.0,)) if trips == 0 else (1.5, (0.0,)))


DEAD_CARRIED = """def f(y, N: int, x):
    for i in range(2):
        x = x * 1.5
        y = tanh(x / N)
    return x
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_carried_value_nothing_reads_gets_no_adjoint(checkpoint) -> None:
    """``y`` is updated but never read: at N = 0 its step divides by zero, and a zero
    adjoint pulled back through it would be 0 * inf = nan."""
    with np.errstate(all="ignore"):
        assert load(DEAD_CARRIED, checkpoint).gradient(-0.8, 0, 1.0) == (2.25, (0.0, 2.25))


BRANCH_RESULT_IN_A_SEGMENT = """def f(y, x):
    r = 0.25
    g = x
    for i in range(3):
        if 0.5 > y:
            r /= g
    return r
"""


def branch_result_in_a_segment(y, x):
    r = 0.25
    for _ in range(3):
        if 0.5 > y:
            r = r / x
    return r


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_branch_result_read_back_in_a_re_run_segment(checkpoint) -> None:
    """The reverse side reads the side's result under the result's name: where the names are
    not shared, the side binds its input to it (found by the differential tester)."""
    for point in [(-0.86, 0.41), (0.9, 0.41)]:
        assert_gradient(load(BRANCH_RESULT_IN_A_SEGMENT, checkpoint), branch_result_in_a_segment,
                        point)


GUARDED_AND_CARRIED = """def f(g):
    a = g
    for j in range(1):
        a /= 2
        if 1 > where(0.5 >= a, 2.5, a):
            g = 0.5
    return a * g
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_value_read_by_a_where_and_carried_on_is_not_masked(checkpoint) -> None:
    """``a``'s one use in the body is a side of a ``where`` (through a test), but it is
    also carried out of the body: its adjoint from after the loop matters everywhere."""
    module = load(GUARDED_AND_CARRIED, checkpoint)
    for g in (-0.9492, 0.8, 3.0):
        value, (dg,) = module.gradient(g)
        a = g / 2
        kept = not 1 > (2.5 if 0.5 >= a else a)
        assert value == pytest.approx(a * g if kept else a * 0.5)
        assert dg == pytest.approx(g if kept else 0.25)


WHOLE_ARGUMENT = """def h(p):
    return pow(max(p, abs(p)), -1) + 1 / (p - 2)
def f(x):
    return h(2) * x + h(x)
"""


@pytest.mark.parametrize("checkpoint", [None, 1])
def test_a_whole_number_passed_to_a_helper_is_a_number_inside_it(checkpoint) -> None:
    """``h(2)`` runs with ``p = 2.0``: NumPy refuses ``np.maximum(2, 2) ** -1`` on integers,
    and ``1 / 0`` is inf (with a warning), not ZeroDivisionError."""
    module = load(WHOLE_ARGUMENT, checkpoint)
    with np.errstate(divide="ignore"):
        assert module.forward(3.0) == np.inf
    value, (dx,) = load(WHOLE_ARGUMENT.replace("h(2) * x", "h(3) * x"), checkpoint).gradient(0.5)
    assert value == pytest.approx((1 / 3 + 1) * 0.5 + 2 + 1 / (0.5 - 2))
    assert dx == pytest.approx(4 / 3 - 1 / 0.25 - 1 / 1.5 ** 2)


LOOP_INDEX_CARRIED = """def f(x, N: int):
    for i in range(N):
        r = i
        x = x * r + r
    return x
"""


def loop_index_carried(x, n):
    for i in range(int(n)):
        x = x * i + i
    return x


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
@pytest.mark.parametrize("trips", [0, 1, 3])
def test_a_carried_number_assigned_the_loop_index(trips, checkpoint) -> None:
    """``x = r`` with ``r = i``: the whole number is made a number, not refused as a change of
    kind (found by the differential tester)."""
    module = load(LOOP_INDEX_CARRIED, checkpoint)
    assert_gradient(module, loop_index_carried, (1.5, trips), whole=1)


# ---- a constant read by a loop inside a side of a branch (seeds 41409, 62050) -----------------
# The side's loop read ``tanh(a)`` of a constant a: folded, the loop's invariant was a constant,
# and the body's name for it stood for that constant in the forward loop but for the side's
# recorded value in the reverse loop (``np.float64(0.635) = v2`` was emitted). Now a constant
# invariant is written into the body itself.

CONSTANT_IN_A_SIDE = """\
def f(x, N: int):
    if x < 0:
        t = 0.5
    else:
        a = 0.75
        for i in range(N):
            x *= tanh(a)
    return x
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_constant_read_by_a_loop_in_a_side(checkpoint):
    module = load(CONSTANT_IN_A_SIDE, checkpoint)

    def reference(x, n):
        if x >= 0:
            for _ in range(n):
                x *= math.tanh(0.75)
        return x

    for point in ((1.3, 0), (1.3, 3), (-0.4, 2)):
        assert_gradient(module, reference, point, whole=1)


def test_the_seed_that_found_it_compiles_and_runs():
    source = """\
def f(x):
    if (0.5 < 0):
        t = 0.5
    else:
        a = 0.75
        for i in range(0):
            x *= tanh(a)
    return x
"""
    assert load(source).gradient(1.3) == (1.3, (1.0,))


# ---- a whole-number sum hoisted beside the same sum as a loop bound (seed 21737) --------------
# ``sin(c + N)`` in a body is a number; hoisted before the loops, ``1 + N`` met the loop bound
# ``N + 1`` (an int) and CSE shared the two (an internal error). Values of different kinds are
# never shared now.

HOISTED_BESIDE_A_BOUND = """\
def f(x, N: int):
    v = 0.5
    c = 1
    for j in range(2):
        x = x * v
        for i in range((N + 1)):
            v = sin((c + N)) * x
    return x
"""


def test_a_hoisted_sum_beside_the_same_sum_as_a_bound():
    module = load(HOISTED_BESIDE_A_BOUND)

    def reference(x, n):
        v = 0.5
        for _ in range(2):
            x = x * v
            for _ in range(n + 1):
                v = math.sin(1 + n) * x
        return x

    for point in ((1.3, 0), (0.7, 2)):
        assert_gradient(module, reference, point, whole=1)


# ---- one value recorded on two tapes (seed 56546) -----------------------------------------
# ``-x`` inside the inner loop is hoisted into the outer body, beside the ``-x`` of ``sin(-x)``;
# the outer loop records both, and the optimizer made the two one value: the loop recorded it on
# two tapes, the emitter wrote one, and the reverse loop read None from the other (a crash at
# call time). A loop now keeps one tape per value, and the verifier refuses two.

ONE_VALUE_TWO_TAPES = """\
def f(x, N: int, M: int):
    s = 1.5
    for i in range(N):
        for j in range(M):
            s = s + 0.5 * (-x)
        x = sin(-x)
    return s + x
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_one_value_recorded_once_for_two_uses(checkpoint) -> None:
    module = load(ONE_VALUE_TWO_TAPES, checkpoint)

    def reference(x, n, m):
        s = 1.5
        for _ in range(n):
            for _ in range(m):
                s = s + 0.5 * (-x)
            x = math.sin(-x)
        return s + x

    for point in ((0.3, 1, 0), (0.3, 2, 3), (-1.2, 3, 1)):
        assert_gradient(module, reference, point, whole=2)


def test_the_seed_with_two_tapes_compiles_and_runs() -> None:
    source = """\
def f(x):
    s = 1.5
    for i in range(1):
        for j in range(0):
            s = 0.5 * (-x)
        x = sin(-x)
    return s
"""
    assert load(source).gradient(0.3) == (1.5, (0.0,))


# ---- a value one way of a nested branch records, passed on by the enclosing side (seed 62317)
# The inner ``if`` records a value on its then side only; the outer side passes it on to the
# outer reverse (``v4_3 = v4_2``), which read an unbound name when the inner else was taken
# (UnboundLocalError at call time). A side that records binds, as a loop's body does, the other
# way's residuals of a branch nested in it to None.

NESTED_RECORDING = """\
def f(N: int, x):
    r = 1.5
    if x > 0:
        if x > 1:
            for j in range((N + 1)):
                for k in range((N + 1)):
                    r = r * x
                x = 0.5 * x
    return r + x
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_residual_of_one_way_of_a_nested_branch_passed_on(checkpoint) -> None:
    module = load(NESTED_RECORDING, checkpoint)

    def reference(n, x):
        r = 1.5
        if x > 0:
            if x > 1:
                for _ in range(n + 1):
                    for _ in range(n + 1):
                        r = r * x
                    x = 0.5 * x
        return r + x

    for n, x in ((3, -1.1), (2, 0.4), (1, 1.7), (0, 2.3)):
        value, (x_bar,) = module.gradient(n, x)
        assert value == pytest.approx(reference(n, x), rel=1e-12)
        expected = float(central_difference(reference, (n, x), 1))
        assert x_bar == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_the_seed_with_a_nested_residual_compiles_and_runs() -> None:
    source = """\
def f(N: int, x):
    r = 1.5
    if (0.5 != 1):
        if (not (3 > 0.5)):
            for j in range((N + 1)):
                for k in range((N + 1)):
                    r = 0.5
                x = 0.5
    return r
"""
    assert load(source).gradient(3, -1.1043) == (1.5, (0.0,))

"""Benchmark: the generated perceptron gradient against a careful hand-written NumPy pass.

    python benchmarks/bench_perceptron.py            # also writes benchmarks/perceptron.md
    python benchmarks/bench_perceptron.py --quick    # fewer rounds; prints only

``examples/perceptron.txt`` (affine -> relu -> affine -> softmax cross-entropy averaged over n,
plus weight decay) is compiled with ``--wrt W1,b1,W2,b2`` and its ``gradient`` is timed against
`hand_gradient`, the lecture notes' backward formulas written as a careful person would (arrays
updated in place, the relu switch as a ``(Z > 0)`` mask multiply, ``dA = (Y - T) / n``), both
computing the same loss and the same four partials, at n = 1000 samples, d = 784 inputs,
h = 256 hidden units and k = 10 classes (random float64 data, seeded).

First the two are checked to agree (largest absolute difference below 1e-10). Then, after a
warm-up, the two are timed in interleaved rounds, each round timing one and then the other
with `gradgen.tools.compare.best_call_time`; the report gives the median over the rounds (and the
best). Memory is the peak that `tracemalloc` sees during one call of each (NumPy reports its
array buffers to it), above what was allocated before the call. The goals are a generated /
hand-written ratio of at most 1.2 for time and for memory; the report says PASS or FAIL but the
process does not fail.

BLAS runs on one thread unless ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) is set: see
the comment at the top.
"""

from __future__ import annotations

# first: measure sets the BLAS thread count, which NumPy reads when it loads
from measure import environment, interleaved_times, peak_memory  # isort: skip

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gradgen.pipeline import compile_source
from gradgen.tools.compare import format_seconds as seconds

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples" / "perceptron.txt"
RESULTS = Path(__file__).resolve().parent / "perceptron.md"

N, D, H, K = 1000, 784, 256, 10
LAM = 1e-4
WRT = ("W1", "b1", "W2", "b2")
GOAL = 1.2  # generated / hand-written, for time and for memory
ROUNDS, QUICK_ROUNDS = 15, 3
TOLERANCE = 1e-10


def hand_gradient(W1, b1, W2, b2, X, T, lam):
    """The loss and (dW1, db1, dW2, db2) by the notes' units, forward then backward."""
    n = X.shape[0]
    Z = X @ W1  # affine
    Z += b1
    np.maximum(Z, 0.0, out=Z)  # relu
    A = Z @ W2  # affine
    A += b2
    A -= A.max(axis=1, keepdims=True)  # logistic: softmax without overflow
    Y = np.exp(A)
    total = Y.sum(axis=1, keepdims=True)
    A -= np.log(total)  # A is now log(Y)
    data = -np.vdot(T, A) / n
    decay = lam / 2 * (np.vdot(W1, W1) + np.vdot(W2, W2))
    Y /= total
    dA = Y  # logistic back: dA = (Y - T) / n
    dA -= T
    dA /= n
    dW2 = Z.T @ dA  # affine back
    dW2 += lam * W2  # decay back
    db2 = dA.sum(axis=0)
    active = Z > 0  # relu back needs only where Z > 0: keep 1 byte per entry, not 8
    del Z
    dZ = dA @ W2.T
    dZ *= active
    dW1 = X.T @ dZ  # affine back
    dW1 += lam * W1  # decay back
    db1 = dZ.sum(axis=0)
    return data + decay, (dW1, db1, dW2, db2)


def random_inputs(seed: int = 0) -> tuple:
    """W1, b1, W2, b2, X, T, lam: He-scaled weights, Gaussian inputs, one-hot targets."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0.0, np.sqrt(2.0 / D), (D, H)), rng.normal(0.0, 0.1, H),
            rng.normal(0.0, np.sqrt(1.0 / H), (H, K)), rng.normal(0.0, 0.1, K),
            rng.normal(0.0, 1.0, (N, D)), np.eye(K)[rng.integers(0, K, N)], LAM)


def check_agreement(generated: Callable, hand: Callable, inputs: tuple) -> float:
    """The largest absolute difference of the value and the partials; asserts < TOLERANCE."""
    value, partials = generated(*inputs)
    hand_value, hand_partials = hand(*inputs)
    differences = [abs(value - hand_value)]
    for name, partial, expected in zip(WRT, partials, hand_partials):
        assert partial.shape == expected.shape, (name, partial.shape, expected.shape)
        differences.append(float(np.max(np.abs(partial - expected))))
    largest = max(differences)
    assert largest < TOLERANCE, f"the gradients disagree: {dict(zip(('loss',) + WRT, differences))}"
    return largest


def megabytes(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


def verdict(ratio: float) -> str:
    return "PASS" if ratio <= GOAL else "FAIL"


def report(times: dict[str, list[float]], memory: dict[str, int], difference: float,
           rounds: int) -> str:
    gen, hand = times["generated"], times["hand-written"]
    time_ratio = statistics.median(gen) / statistics.median(hand)
    memory_ratio = memory["generated"] / memory["hand-written"]
    rows = [f"| {name} | {seconds(statistics.median(times[name]))} | {seconds(min(times[name]))}"
            f" | {megabytes(memory[name])} |" for name in times]
    rows.append(f"| generated / hand-written | {time_ratio:.3f} | {min(gen) / min(hand):.3f} "
                f"| {memory_ratio:.3f} |")
    return "\n".join([
        "# Perceptron gradient: generated vs hand-written NumPy",
        "",
        f"`examples/perceptron.txt` compiled with `--wrt {','.join(WRT)}`; n = {N}, d = {D}, "
        f"h = {H}, k = {K}, float64. {environment()}",
        "",
        "| gradient | median time per call | best time per call | peak memory of one call |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"- time: ratio {time_ratio:.3f} (medians over {rounds} interleaved rounds), "
        f"goal <= {GOAL}: **{verdict(time_ratio)}**",
        f"- memory: ratio {memory_ratio:.3f} (tracemalloc peak above the inputs), "
        f"goal <= {GOAL}: **{verdict(memory_ratio)}**",
        f"- the two agree: largest absolute difference of the loss and the partials "
        f"{difference:.1e} (< {TOLERANCE:g})",
        "",
        "Each round times each function with `gradgen.tools.compare.best_call_time` (the best "
        "of as many calls as fill 0.2 s). The peak memory counts what a call allocates, its four "
        f"partials included ({megabytes(8 * (D * H + H + H * K + K))} of them), not its inputs "
        f"({megabytes(8 * N * D)} for X alone).",
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}; prints to stdout only")
    parser.add_argument("--output", metavar="FILE",
                        help="write the report here (default: benchmarks/perceptron.md for a "
                             "full run, nowhere for --quick)")
    args = parser.parse_args(argv)
    module = compile_source(SOURCE.read_text("utf-8"), str(SOURCE), wrt=WRT).module
    inputs = random_inputs()
    difference = check_agreement(module.gradient, hand_gradient, inputs)
    functions = {"generated": module.gradient, "hand-written": hand_gradient}
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    times = interleaved_times(functions, inputs, rounds)
    memory = {name: peak_memory(function, inputs) for name, function in functions.items()}
    text = report(times, memory, difference, rounds)
    print(text, end="")
    output = args.output or (None if args.quick else str(RESULTS))
    if output:
        Path(output).write_text(text, "utf-8")


if __name__ == "__main__":
    main()

"""Benchmark: the HMM forward algorithm's generated gradient (forward-backward by backpropagation).

    python benchmarks/bench_hmm.py            # also writes benchmarks/hmm.md
    python benchmarks/bench_hmm.py --quick    # one round, no unrolled program at T = 10,000

``examples/hmm.txt`` (a ``for`` loop over the T observations) is compiled once; the sequence
length T is bound when the module is called. For T = 10, 100, 1,000 and 10,000 observations of a
k = 8 state model (random float64 distributions, seeded) the report gives:

- the time of ``forward`` and of ``gradient`` (medians over interleaved rounds, each round timing
  every function with `gradgen.tools.compare.best_call_time`) and their ratio, goal <= 3;
- the time of `hand_forward_backward`, the scaled forward-backward algorithm as a careful person
  writes it (one matrix-vector product per step and direction, the transition counts summed by
  one matrix product), which computes the same log-likelihood and the same three partials;
- the peak memory of one ``gradient`` call (what `tracemalloc` sees above what was allocated
  before the call) and per observation, which should stay flat as T grows (linear memory);
- the size of the generated module in bytes, the same at every T because the loop is not
  unrolled, beside the size of the module of the same program unrolled by hand to T - 1 steps;
- the same gradient compiled with ``--checkpoint sqrt`` (a snapshot of the carried value every
  ceil(sqrt(T)) steps, each segment run forward again in the reverse pass): its time and peak
  memory beside the plain gradient's (memory about 2 sqrt(T) steps' records instead of T).

First the generated gradient and the hand-written pass are checked to agree (largest absolute
difference below 1e-9). The report says PASS or FAIL for the time ratio; the process does not
fail. Without loop support in gradgen, the script exits with gradgen's error.
"""

from __future__ import annotations

# first: measure sets the BLAS thread count, which NumPy reads when it loads
from measure import environment, interleaved_times, peak_memory  # isort: skip

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gradgen.errors import CompileError
from gradgen.pipeline import compile_source
from gradgen.tools.compare import format_seconds as seconds

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples" / "hmm.txt"
RESULTS = Path(__file__).resolve().parent / "hmm.md"

LENGTHS = (10, 100, 1_000, 10_000)
QUICK_UNROLLED_LIMIT = 1_000  # --quick compiles the unrolled program up to this T only
STATES = 8
GOAL = 3.0  # gradient / forward time
ROUNDS, QUICK_ROUNDS = 5, 1
TOLERANCE = 1e-9


def hand_forward_backward(log_pi, log_A, log_B):
    """log p(x) and (p(z_0 | x), expected transition counts, p(z_t | x)) by the scaled
    forward-backward algorithm: the forward probabilities renormalised at every step (so
    nothing underflows), the log-likelihood the sum of the logs of the normalisers."""
    T = len(log_B)
    A = np.exp(log_A)
    shift = log_B.max(axis=1)  # emissions scaled to at most 1 at every step
    B = np.exp(log_B - shift[:, None])
    alpha = np.empty_like(B)  # alpha[t] = p(z_t | x_0..x_t)
    scale = np.empty(T)
    alpha[0] = np.exp(log_pi) * B[0]
    scale[0] = alpha[0].sum()
    alpha[0] /= scale[0]
    for t in range(1, T):
        alpha[t] = (alpha[t - 1] @ A) * B[t]
        scale[t] = alpha[t].sum()
        alpha[t] /= scale[t]
    beta = np.empty_like(B)  # beta[t] = p(x_t+1..x_T-1 | z_t) / p(x_t+1..x_T-1 | x_0..x_t)
    beta[-1] = 1.0
    for t in range(T - 2, -1, -1):
        beta[t] = A @ (B[t + 1] * beta[t + 1]) / scale[t + 1]
    states = alpha * beta
    # sum over t of p(z_t-1 = i, z_t = j | x) = alpha[t-1, i] A[i, j] B[t, j] beta[t, j] / scale[t]
    transitions = A * (alpha[:-1].T @ (B[1:] * beta[1:] / scale[1:, None]))
    log_likelihood = float(np.log(scale).sum() + shift.sum())
    return log_likelihood, (states[0], transitions, states)


def random_hmm(T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log_pi, log_A, log_B): random distributions over 8 states, rows of A summing to 1."""
    rng = np.random.default_rng(seed)
    return (np.log(rng.dirichlet(np.ones(STATES))),
            np.log(rng.dirichlet(np.ones(STATES), size=STATES)),
            np.log(rng.uniform(0.01, 1.0, size=(T, STATES))))


def unrolled_source(T: int) -> str:
    """examples/hmm.txt's function with its loop written out for T observations."""
    steps = "".join(f"    alpha = logsumexp(log_A.T + alpha, axis=1) + log_B[{t}]\n"
                    for t in range(1, T))
    return ("def hmm(log_pi: (k,), log_A: (k, k), log_B: (T, k)):\n"
            "    alpha = log_pi + log_B[0]\n" + steps + "    return logsumexp(alpha)\n")


def compile_example(checkpoint: str | None = None):
    """The compiled examples/hmm.txt, or exit saying why gradgen could not compile it."""
    try:
        return compile_source(SOURCE.read_text("utf-8"), str(SOURCE), checkpoint=checkpoint)
    except CompileError as error:
        sys.exit(f"{Path(__file__).name}: gradgen could not compile {SOURCE.name}, a `for` loop "
                 f"over the observations; nothing to measure:\n{error}")


def check_agreement(gradient: Callable, inputs: tuple) -> float:
    """The largest difference of the value and partials from `hand_forward_backward`, relative
    to 1 + the largest entry of each; asserts it is below TOLERANCE."""
    value, partials = gradient(*inputs)
    hand_value, hand_partials = hand_forward_backward(*inputs)
    differences = [abs(value - hand_value) / (1 + abs(hand_value))]
    for name, partial, expected in zip(("log_pi", "log_A", "log_B"), partials, hand_partials):
        assert partial.shape == expected.shape, (name, partial.shape, expected.shape)
        differences.append(float(np.max(np.abs(partial - expected)))
                           / (1 + float(np.max(np.abs(expected)))))
    largest = max(differences)
    assert largest < TOLERANCE, f"the gradients disagree at T = {len(inputs[2])}: {differences}"
    return largest


def median_times(functions: dict[str, Callable], inputs: tuple,
                 rounds: int) -> dict[str, float]:
    """The median seconds per call of each function over ``rounds`` interleaved rounds."""
    times = interleaved_times(functions, inputs, rounds)
    return {name: statistics.median(values) for name, values in times.items()}


def measure(module, checkpointed, T: int, rounds: int,
            unrolled: bool) -> dict[str, float | int | None]:
    """One row of the report: times, memory, agreement and the unrolled module's size, and
    the checkpointed gradient's time and memory."""
    inputs = random_hmm(T)
    row: dict[str, float | int | None] = {"T": T, "difference": max(
        check_agreement(module.gradient, inputs), check_agreement(checkpointed.gradient, inputs))}
    row.update(median_times({"forward": module.forward, "gradient": module.gradient,
                             "checkpointed": checkpointed.gradient,
                             "hand": hand_forward_backward}, inputs, rounds))
    row["memory"] = peak_memory(module.gradient, inputs)
    row["checkpointed memory"] = peak_memory(checkpointed.gradient, inputs)
    row["hand memory"] = peak_memory(hand_forward_backward, inputs)
    row["unrolled bytes"] = (len(compile_source(unrolled_source(T)).source.encode("utf-8"))
                             if unrolled else None)
    return row


def size(count: int | None) -> str:
    return "—" if count is None else f"{count:,}"


def mebibytes(count: int) -> str:
    return f"{count / 2**20:.2f} MiB" if count >= 2**20 else f"{count / 2**10:.1f} KiB"


def report(rows: list[dict], source_bytes: int, rounds: int) -> str:
    ratios = [row["gradient"] / row["forward"] for row in rows]
    table = [
        f"| {row['T']:,} | {seconds(row['forward'])} | {seconds(row['gradient'])} | {ratio:.2f} "
        f"| {seconds(row['hand'])} | {row['gradient'] / row['hand']:.2f} "
        f"| {mebibytes(row['memory'])} | {row['memory'] / row['T']:,.0f} "
        f"| {mebibytes(row['hand memory'])} | {source_bytes:,} | {size(row['unrolled bytes'])} |"
        for row, ratio in zip(rows, ratios)]
    worst = max(ratios)
    verdict = "PASS" if worst <= GOAL else "FAIL"
    return "\n".join([
        "# HMM forward algorithm: the generated gradient is forward-backward",
        "",
        f"`examples/hmm.txt` compiled once (T is bound at call time); k = {STATES} states, "
        f"random float64 distributions. {environment()}",
        "",
        "| T | forward | gradient | gradient / forward | hand-written forward-backward "
        "| gradient / hand-written | peak memory of gradient | bytes per observation "
        "| peak memory, hand-written | generated module, bytes | unrolled module, bytes |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *table,
        "",
        f"- time: gradient / forward at most {worst:.2f} (medians over {rounds} interleaved "
        f"round{'s' if rounds > 1 else ''}), goal <= {GOAL}: **{verdict}**",
        "- memory: the peak of one gradient call (tracemalloc, above the inputs), which should "
        "grow linearly in T: flat bytes per observation",
        f"- the generated gradient and the hand-written scaled forward-backward agree: largest "
        f"relative difference {max(row['difference'] for row in rows):.1e} (< {TOLERANCE:g})",
        "",
        "The hand-written pass works with probabilities renormalised at each step (one "
        "matrix-vector product per step and direction); the generated code works in log space "
        "(a logsumexp over a k x k array per step), as hmm.txt is written. The unrolled module is "
        "the same program with its loop written out by hand, compiled without loops: its size "
        "grows with T.",
        "",
        "## Checkpointing: `gradgen compile examples/hmm.txt --checkpoint sqrt`",
        "",
        "A snapshot of `alpha` every ceil(sqrt(T - 1)) steps instead of the tapes of every step; "
        "the reverse pass runs each segment forward again (recording) before going back "
        "through it. What remains of the peak is mostly the partial by log_B itself, T x k "
        "floats, and the temporaries that finish it; the tapes shrink from about 1 KB per "
        "step to about 2 sqrt(T) steps' worth.",
        "",
        "| T | gradient | checkpointed | time, checkpointed / plain | peak memory "
        "| peak memory, checkpointed | memory, checkpointed / plain |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {row['T']:,} | {seconds(row['gradient'])} | {seconds(row['checkpointed'])} "
          f"| {row['checkpointed'] / row['gradient']:.2f} | {mebibytes(row['memory'])} "
          f"| {mebibytes(row['checkpointed memory'])} "
          f"| {row['checkpointed memory'] / row['memory']:.3f} |" for row in rows),
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ROUNDS} round instead of {ROUNDS}, no unrolled module past "
                             f"T = {QUICK_UNROLLED_LIMIT:,}; prints to stdout only")
    parser.add_argument("--output", metavar="FILE",
                        help="write the report here (default: benchmarks/hmm.md for a full run, "
                             "nowhere for --quick)")
    args = parser.parse_args(argv)
    compiled = compile_example()
    checkpointed = compile_example(checkpoint="sqrt").module
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    rows = []
    for T in LENGTHS:
        rows.append(measure(compiled.module, checkpointed, T, rounds,
                            unrolled=not args.quick or T <= QUICK_UNROLLED_LIMIT))
        print(f"T = {T:,}: gradient {seconds(rows[-1]['gradient'])}", file=sys.stderr)
    text = report(rows, len(compiled.source.encode("utf-8")), rounds)
    print(text, end="")
    output = args.output or (None if args.quick else str(RESULTS))
    if output:
        Path(output).write_text(text, "utf-8")


if __name__ == "__main__":
    main()

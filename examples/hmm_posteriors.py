"""Forward-backward by backpropagation: posterior marginals of an HMM from hmm.txt's gradient.

hmm.txt is the forward algorithm of a hidden Markov model: its value is log p(x), the
log-likelihood of an observed sequence. Its gradient with respect to the emission
log-probabilities log_B[t, j] = log p(x_t | z_t = j) is p(z_t = j | x), the posterior marginal
of every hidden state, and with respect to log_A the expected number of each transition: what
the forward-backward algorithm computes, here obtained by differentiating the forward one. This
script compiles hmm.txt (``python -m gradgen compile hmm.txt``, which writes hmm.py beside it)
and then only calls its ``gradient``:

    python examples/hmm_posteriors.py [--length 20] [--seed 0]

The model is the occasionally dishonest casino: a fair die and a loaded one (a six half of the
time), switched now and then; the rolls are drawn from the model itself (seeded). The script
prints the log-likelihood, p(loaded | rolls) at every roll beside the die actually used, the
expected transition counts, and how far all of it is from a forward-backward pass written out
by hand below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from build_model import build_model

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "hmm.txt"
STATES = ("fair", "loaded")
START = np.array([0.5, 0.5])
TRANSITIONS = np.array([[0.95, 0.05],  # p(z_t = j | z_{t-1} = i), row i
                        [0.10, 0.90]])
EMISSIONS = np.array([[1 / 6] * 6,  # p(roll | die), rolls 1 to 6
                      [0.1] * 5 + [0.5]])


def sample_casino(length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(dice, rolls): the hidden die (0 fair, 1 loaded) and the roll (1 to 6) at each step."""
    rng = np.random.default_rng(seed)
    dice = np.empty(length, dtype=int)
    dice[0] = rng.choice(2, p=START)
    for t in range(1, length):
        dice[t] = rng.choice(2, p=TRANSITIONS[dice[t - 1]])
    rolls = np.array([rng.choice(6, p=EMISSIONS[die]) + 1 for die in dice])
    return dice, rolls


def logsumexp(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return total.item() if axis is None else np.squeeze(total, axis=axis)


def forward_backward(log_pi, log_A, log_B):
    """By hand, in log space: (log p(x), p(z_t = j | x) as a (T, k) array, expected counts of
    each transition i -> j as a (k, k) array)."""
    T = len(log_B)
    log_alpha, log_beta = np.empty_like(log_B), np.zeros_like(log_B)
    log_alpha[0] = log_pi + log_B[0]
    for t in range(1, T):
        log_alpha[t] = logsumexp(log_alpha[t - 1][:, None] + log_A, axis=0) + log_B[t]
    for t in range(T - 2, -1, -1):
        log_beta[t] = logsumexp(log_A + log_B[t + 1] + log_beta[t + 1], axis=1)
    log_likelihood = logsumexp(log_alpha[-1])
    states = np.exp(log_alpha + log_beta - log_likelihood)
    pairs = log_alpha[:-1, :, None] + log_A + (log_B[1:] + log_beta[1:])[:, None, :]
    return log_likelihood, states, np.exp(pairs - log_likelihood).sum(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=20, help="number of rolls (at least 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the rolls")
    args = parser.parse_args()
    if args.length < 1:
        parser.error("--length must be at least 1")
    model = build_model(SOURCE)
    dice, rolls = sample_casino(args.length, args.seed)
    log_pi, log_A, log_B = np.log(START), np.log(TRANSITIONS), np.log(EMISSIONS[:, rolls - 1].T)
    log_likelihood, (_, counts, posteriors) = model.gradient(log_pi, log_A, log_B)
    print(f"{args.length} rolls of the casino's dice, seed {args.seed}")
    print(f"log-likelihood log p(rolls) = {log_likelihood:.6f}\n")
    print(f"{'t':>4} {'roll':>4} {'die used':>8} {'p(loaded | rolls)':>18}")
    for t, (roll, die, posterior) in enumerate(zip(rolls, dice, posteriors)):
        print(f"{t:4d} {roll:4d} {STATES[die]:>8} {posterior[1]:18.4f}")
    print("\nexpected transitions (rows: from, columns: to):")
    for name, row in zip(STATES, counts):
        print(f"  {name:>6}: " + "  ".join(f"{count:8.4f}" for count in row))
    hand_likelihood, hand_posteriors, hand_counts = forward_backward(log_pi, log_A, log_B)
    difference = max(abs(log_likelihood - hand_likelihood),
                     float(np.max(np.abs(posteriors - hand_posteriors))),
                     float(np.max(np.abs(counts - hand_counts))))
    print(f"\nlargest difference from forward-backward: {difference:.1e}")
    print(f"rows of the posteriors sum to 1 within {np.max(np.abs(posteriors.sum(1) - 1)):.1e}")


if __name__ == "__main__":
    main()

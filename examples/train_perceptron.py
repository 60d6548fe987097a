"""Train the two-layer perceptron of perceptron.txt on scikit-learn's digits by gradient descent.

The loss and its gradient come from the module that gradgen generates; this script compiles
perceptron.txt itself (``python -m gradgen compile perceptron.txt --wrt W1,b1,W2,b2``, which
writes perceptron.py beside it) and then only updates the parameters:

    python examples/train_perceptron.py [--epochs 40] [--hidden 64] [--lr 0.5] [--seed 0]

The data are the 1,797 8x8 images of handwritten digits bundled with scikit-learn (nothing is
downloaded): pixels scaled to [0, 1], one-hot targets, a seeded 75/25 train/test split.
Training is mini-batch gradient descent, W <- W - lr * dloss/dW, with a fixed step size. It
prints the loss every few epochs and the final test accuracy, and draws the loss curve (when
matplotlib is installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from build_model import build_model

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "perceptron.txt"
WRT = ("W1", "b1", "W2", "b2")


def load_digits_split(seed: int, test_fraction: float = 0.25):
    """Digits as (X_train, T_train, y_train, X_test, y_test): pixels in [0, 1], T one-hot."""
    try:
        from sklearn.datasets import load_digits
    except ModuleNotFoundError:
        sys.exit("train_perceptron.py needs scikit-learn for the digits data set: "
                 "pip install scikit-learn")
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = np.split(order, [round(test_fraction * len(y))])
    T = np.eye(10)[y[train]]
    return X[train], T, y[train], X[test], y[test]


def initial_parameters(d: int, h: int, k: int, seed: int) -> list[np.ndarray]:
    """He-scaled random weights (suited to relu) and zero biases: [W1, b1, W2, b2]."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, np.sqrt(2.0 / d), (d, h)), np.zeros(h),
            rng.normal(0.0, np.sqrt(1.0 / h), (h, k)), np.zeros(k)]


def predict(params: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """The class of each row of X: the largest output of the network (softmax keeps order)."""
    W1, b1, W2, b2 = params
    return np.argmax(np.maximum(X @ W1 + b1, 0.0) @ W2 + b2, axis=1)


def accuracy(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(params, X) == y))


def train(model, data, args) -> tuple[list[np.ndarray], list[float]]:
    """Mini-batch gradient descent; the training loss after every epoch."""
    X, T, y, X_test, y_test = data
    params = initial_parameters(X.shape[1], args.hidden, T.shape[1], args.seed)
    rng = np.random.default_rng(args.seed + 1)
    losses = [model.forward(*params, X, T, args.lam)]
    print(f"{'epoch':>5} {'loss':>9} {'train acc':>9} {'test acc':>9}")
    for epoch in range(1, args.epochs + 1):
        # batches of equal size (about args.batch): a last batch of a few samples would jolt
        for batch in np.array_split(rng.permutation(len(X)), -(-len(X) // args.batch)):
            _, grads = model.gradient(*params, X[batch], T[batch], args.lam)
            for param, grad in zip(params, grads):
                param -= args.lr * grad
        losses.append(model.forward(*params, X, T, args.lam))
        if epoch % args.every == 0 or epoch == args.epochs:
            print(f"{epoch:5d} {losses[-1]:9.4f} {accuracy(params, X, y):9.2%} "
                  f"{accuracy(params, X_test, y_test):9.2%}")
    return params, losses


def plot_losses(losses: list[float], path: Path) -> None:
    """Save the loss curve as a PNG, or say why not."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        print("matplotlib is not installed: no loss curve drawn (pip install matplotlib)")
        return
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(range(len(losses)), losses)
    axes.set(xlabel="epoch", ylabel="training loss", yscale="log",
             title="two-layer perceptron on digits, gradient by gradgen")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"loss curve saved to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=64, help="hidden units")
    parser.add_argument("--lr", type=float, default=0.5, help="step size of gradient descent")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split and the weights")
    parser.add_argument("--batch", type=int, default=64, help="mini-batch size")
    parser.add_argument("--lam", type=float, default=1e-4, help="weight decay strength")
    parser.add_argument("--every", type=int, default=5, help="print every EVERY epochs")
    parser.add_argument("--plot", type=Path, default=HERE / "perceptron_loss.png",
                        metavar="PATH", help="where to save the loss curve (PNG)")
    parser.add_argument("--no-plot", action="store_true", help="draw no loss curve")
    args = parser.parse_args()
    model = build_model(SOURCE, "--wrt", ",".join(WRT))
    data = load_digits_split(args.seed)
    print(f"digits: {len(data[0])} training and {len(data[3])} test images, "
          f"{data[0].shape[1]} pixels, 10 classes; {args.hidden} hidden units")
    params, losses = train(model, data, args)
    print(f"final test accuracy: {accuracy(params, data[3], data[4]):.2%}")
    if not args.no_plot:
        plot_losses(losses, args.plot)


if __name__ == "__main__":
    main()

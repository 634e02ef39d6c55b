"""Lesson 06: mini-batches, their gradient and variance, a Robbins-Monro schedule."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "06-stochastic"

VARIANCE = """
def gradient_variance(w, X, y, batch_size, n_draws, rng):
    n = len(y)
    g_full = minibatch_gradient(w, X, y, np.arange(n))
    total = 0.0
    {draw_outside}
    for _ in range(n_draws):
        {draw_inside}
        g = minibatch_gradient(w, X, y, idx)
        total += {distance}
    return {result}
"""


def variance(draw_outside="", draw_inside="idx = rng.choice(n, batch_size, replace=False)",
             distance="np.sum((g - g_full) ** 2)", result="total / n_draws"):
    return VARIANCE.format(draw_outside=draw_outside, draw_inside=draw_inside,
                           distance=distance, result=result)


WRONG = [
    Wrong("ex1", "not shuffled", """
def minibatches(n, batch_size, rng):
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""", expect=("shuffle them",)),
    Wrong("ex1", "last partial batch dropped", """
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
""", expect=("last, smaller batch",)),
    Wrong("ex1", "np.array_split into n // B pieces", """
def minibatches(n, batch_size, rng):
    return np.array_split(rng.permutation(n), n // batch_size)
""", expect=("array_split",)),
    Wrong("ex1", "each batch drawn at random (repeats)", """
def minibatches(n, batch_size, rng):
    sizes = [min(batch_size, n - i) for i in range(0, n, batch_size)]
    return [rng.choice(n, size) for size in sizes]
""", expect=("repeats indices",)),
    Wrong("ex1", "np.random instead of the rng given", """
def minibatches(n, batch_size, rng):
    order = np.random.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""", expect=("rng given",)),
    Wrong("ex1", "gdlib's own batching", """
from gdlib.train import _batches


def minibatches(n, batch_size, rng):
    return list(_batches(n, batch_size, True, rng, False))
""", expect=("switched off", "mini-batch iterator yourself")),
    Wrong("ex2", "a sum, not a mean", """
def minibatch_gradient(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return Xb.T @ (Xb @ w - yb)
""", expect=("sum over the batch",)),
    Wrong("ex2", "the 2 of the square kept", """
def minibatch_gradient(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return 2 * Xb.T @ (Xb @ w - yb) / len(yb)
""", expect=("1/2 in l_i",)),
    Wrong("ex2", "idx ignored: all the rows", """
def minibatch_gradient(w, X, y, idx):
    return X.T @ (X @ w - y) / len(y)
""", expect=("all the rows",)),
    Wrong("ex2", "divided by the number of rows of X", """
def minibatch_gradient(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return Xb.T @ (Xb @ w - yb) / len(y)
""", expect=("len\\(idx\\)",)),
    Wrong("ex2", "residual sign: y - Xw", """
def minibatch_gradient(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return Xb.T @ (yb - Xb @ w) / len(yb)
""", expect=("sign",)),
    Wrong("ex2", "X not transposed", """
def minibatch_gradient(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return Xb @ (Xb @ w - yb) / len(yb)
""", expect=("X\\[idx\\].T",)),
    Wrong("ex2", "averaged over the wrong axis", """
def minibatch_gradient(w, X, y, idx):
    Xb, yb = X[idx], y[idx]
    return ((Xb @ w - yb)[:, None] * Xb).mean(axis=1)
""", expect=("axis 0",)),
    Wrong("ex3", "the standard deviation, not the variance", variance(
        result="np.sqrt(total / n_draws)"), expect=("square root",)),
    Wrong("ex3", "the norm, not its square", variance(
        distance="np.linalg.norm(g - g_full)"), expect=("square root",)),
    Wrong("ex3", "mean over the coordinates", variance(
        distance="np.mean((g - g_full) ** 2)"), expect=("sum the squares over the d",)),
    Wrong("ex3", "one batch drawn before the loop", variance(
        draw_outside="idx = rng.choice(n, batch_size, replace=False)", draw_inside="pass"),
        expect=("new batch for each draw",)),
    Wrong("ex4", "t counted from 1", """
def robbins_monro_lr(t, lr0, gamma):
    return lr0 / (1.0 + gamma * (np.asarray(t, dtype=float) + 1))
""", expect=("counts from 0",)),
    Wrong("ex4", "precedence: lr0 / (1 + gamma) * t", """
def robbins_monro_lr(t, lr0, gamma):
    return lr0 / (1.0 + gamma) * np.asarray(t, dtype=float)
""", expect=("parentheses",)),
    Wrong("ex4", "square-root decay", """
def robbins_monro_lr(t, lr0, gamma):
    return lr0 / np.sqrt(1.0 + gamma * np.asarray(t, dtype=float))
""", expect=("square-root decay",)),
    Wrong("ex4", "exponential decay", """
def robbins_monro_lr(t, lr0, gamma):
    return lr0 * np.exp(-gamma * np.asarray(t, dtype=float))
""", expect=("exponential decay",)),
    Wrong("ex4", "numbers only (math and float)", """
import math


def robbins_monro_lr(t, lr0, gamma):
    return lr0 / (1.0 + gamma * float(t))
""", expect=("work on arrays",)),
    Wrong("ex4", "gdlib's InverseTimeLR through lr_curve", """
def robbins_monro_lr(t, lr0, gamma):
    t = np.asarray(t, dtype=int)
    curve = schedules.lr_curve(lambda opt: schedules.InverseTimeLR(opt, gamma=gamma),
                               int(t.max()) + 1, lr=lr0)
    return curve[t]
""", expect=("switched off", "Robbins-Monro schedule yourself")),
]

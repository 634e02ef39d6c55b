"""Lesson 25: the descent-lemma bound, a log-log slope, the heavy ball's largest stable step."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "25-convergence"


def _bound(body: str) -> str:
    return f"""
def descent_lemma_bound(fx, g, lr, L):
    g = np.asarray(g, dtype=float)
    return {body}
"""


def _slope(body: str) -> str:
    return f"""
def loglog_slope(x, y):
    return {body}
"""


def _edge(body: str) -> str:
    return f"""
def max_stable_lr(lam, beta):
    return {body}
"""


WRONG = [
    Wrong("ex1", "the 1/2 of L/2 left out", _bound("fx - lr * (1 - L * lr) * np.sum(g * g)"),
          expect=("1/2 is missing",)),
    Wrong("ex1", "norm instead of squared norm",
          _bound("fx - lr * (1 - L * lr / 2) * np.linalg.norm(g)"),
          expect=("squared norm",)),
    Wrong("ex1", "decrease added", _bound("fx + lr * (1 - L * lr / 2) * np.sum(g * g)"),
          expect=("sign of the decrease is flipped",)),
    Wrong("ex1", "curvature term left out (tangent line)", _bound("fx - lr * np.sum(g * g)"),
          expect=("tangent",)),
    Wrong("ex1", "curvature term with lr instead of lr**2",
          _bound("fx - lr * np.sum(g * g) + L / 2 * lr * np.sum(g * g)"),
          expect=(r"lr\*\*2, not lr",)),
    Wrong("ex1", "returns the decrease only", _bound("lr * (1 - L * lr / 2) * np.sum(g * g)"),
          expect=("guaranteed decrease",)),
    Wrong("ex2", "intercept returned", _slope("np.polyfit(np.log(x), np.log(y), 1)[1]"),
          expect=("intercept",)),
    Wrong("ex2", "axes swapped", _slope("np.polyfit(np.log(y), np.log(x), 1)[0]"),
          expect=("swapped",)),
    Wrong("ex2", "semi-log fit", _slope("np.polyfit(x, np.log(y), 1)[0]"),
          expect=("semi-log",)),
    Wrong("ex2", "no logarithms", _slope("np.polyfit(x, y, 1)[0]"),
          expect=("fit the logarithms",)),
    Wrong("ex2", "two logarithm bases", _slope("np.polyfit(np.log(x), np.log10(y), 1)[0]"),
          expect=("same logarithm",)),
    Wrong("ex2", "first and last points only",
          _slope("(np.log(y[-1]) - np.log(y[0])) / (np.log(x[-1]) - np.log(x[0]))"),
          expect=("first and the last point",)),
    Wrong("ex2", "library's fit_slope", _slope("fit_slope(x, y)"),
          expect=("switched off", "write the log-log slope yourself")),
    Wrong("ex3", "momentum ignored (2/lam)", _edge("2.0 / lam"),
          expect=("without momentum",)),
    Wrong("ex3", "2 + beta", _edge("(2.0 + beta) / lam"), expect=("beta counts twice",)),
    Wrong("ex3", "(1 + beta) without the 2", _edge("(1.0 + beta) / lam"),
          expect=("factor 2 is missing",)),
    Wrong("ex3", "2(1 - beta) instead of 2(1 + beta)", _edge("2.0 * (1.0 - beta) / lam"),
          expect=("widens",)),
    Wrong("ex3", "multiplied by lam", _edge("(2.0 + 2.0 * beta) * lam"),
          expect=("divide by lam",)),
]

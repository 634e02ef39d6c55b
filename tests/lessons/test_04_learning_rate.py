"""Lesson 04: the stability bound 2/L, the best fixed step, Armijo backtracking."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "04-learning-rate"

BACKTRACKING = """
def armijo_backtracking(f, grad, x, lr0=1.0, c=1e-4, rho=0.5, max_iter=50):
    g = grad(x)
    fx = f(x)
    alpha = lr0
    for _ in range(max_iter):
        if {test}:
            return alpha
        alpha *= rho
    return alpha
"""

WRONG = [
    Wrong("ex1", "1/L instead of 2/L", """
def max_stable_lr(A):
    return 1.0 / np.linalg.eigvalsh(A)[-1]
""", expect=("that is 1/L",)),
    Wrong("ex1", "the smallest eigenvalue", """
def max_stable_lr(A):
    return 2.0 / np.linalg.eigvalsh(A)[0]
""", expect=("smallest eigenvalue",)),
    Wrong("ex1", "L itself", """
def max_stable_lr(A):
    return np.linalg.eigvalsh(A)[-1]
""", expect=("L itself",)),
    Wrong("ex1", "the largest diagonal entry", """
def max_stable_lr(A):
    return 2.0 / np.max(np.diag(A))
""", expect=("diagonal entry",)),
    Wrong("ex1", "the Frobenius norm", """
def max_stable_lr(A):
    return 2.0 / np.linalg.norm(A)
""", expect=("Frobenius",)),
    Wrong("ex2", "lr = 1/L", """
def best_fixed_lr(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    return 1.0 / lam[-1], (kappa - 1) / (kappa + 1)
""", expect=("1/L kills",)),
    Wrong("ex2", "lr = 2/L, the stability bound", """
def best_fixed_lr(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    return 2.0 / lam[-1], (kappa - 1) / (kappa + 1)
""", expect=("stability bound",)),
    Wrong("ex2", "rate (kappa - 1)/kappa", """
def best_fixed_lr(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    return 2.0 / (lam[-1] + lam[0]), (kappa - 1) / kappa
""", expect=("\\(kappa - 1\\)/kappa",)),
    Wrong("ex2", "kappa upside down: mu / L", """
def best_fixed_lr(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[0] / lam[-1]
    return 2.0 / (lam[-1] + lam[0]), (kappa - 1) / (kappa + 1)
""", expect=("kappa = L / mu",)),
    Wrong("ex2", "pair in the wrong order", """
def best_fixed_lr(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    return (kappa - 1) / (kappa + 1), 2.0 / (lam[-1] + lam[0])
""", expect=("order \\(lr, rate\\)",)),
    Wrong("ex2", "returns a list, not a pair", """
def best_fixed_lr(A):
    lam = np.linalg.eigvalsh(A)
    kappa = lam[-1] / lam[0]
    return [2.0 / (lam[-1] + lam[0]), (kappa - 1) / (kappa + 1)]
""", expect=("return the pair",)),
    Wrong("ex3", "+ c: no decrease required", BACKTRACKING.format(
        test="f(x - alpha * g) <= fx + c * alpha * (g @ g)"),
          expect=("sufficient decrease", "minus the term")),
    Wrong("ex3", "trial point uphill: x + alpha g", BACKTRACKING.format(
        test="f(x + alpha * g) <= fx - c * alpha * (g @ g)"), expect=("against the gradient",)),
    Wrong("ex3", "|g| not squared", BACKTRACKING.format(
        test="f(x - alpha * g) <= fx - c * alpha * np.sqrt(g @ g)"), expect=("squared",)),
    Wrong("ex3", "no sufficient decrease (c ignored)", BACKTRACKING.format(
        test="f(x - alpha * g) <= fx"), expect=("sufficient decrease",)),
    Wrong("ex3", "shrinks before the first trial", BACKTRACKING.format(
        test="f(x - alpha * g) <= fx - c * alpha * (g @ g)").replace(
        "    for _ in range(max_iter):\n",
        "    for _ in range(max_iter):\n        alpha *= rho\n").replace(
        "            return alpha\n        alpha *= rho\n", "            return alpha\n"),
        expect=("first trial must be lr0",)),
    Wrong("ex3", "budget: returns the last alpha tried", BACKTRACKING.format(
        test="f(x - alpha * g) <= fx - c * alpha * (g @ g)").replace(
        "        alpha *= rho\n    return alpha", "        alpha *= rho\n    return alpha / rho"),
        expect=("once more after the last failure",)),
    Wrong("ex3", "None when no step passes", BACKTRACKING.format(
        test="f(x - alpha * g) <= fx - c * alpha * (g @ g)").replace(
        "        alpha *= rho\n    return alpha", "        alpha *= rho"),
        expect=("forget `return`",)),
    Wrong("ex3", "gdlib's backtracking", """
def armijo_backtracking(f, grad, x, lr0=1.0, c=1e-4, rho=0.5, max_iter=50):
    return linesearch.backtracking(f, grad, x, lr0=lr0, c=c, rho=rho, max_iter=max_iter)
""", expect=("switched off", "backtracking line search yourself")),
]

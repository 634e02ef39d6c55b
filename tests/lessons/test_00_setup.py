"""Lesson 00: a derivative and one gradient-descent step, the course's first exercises."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "00-setup"

WRONG = [
    Wrong("ex1", "sign flipped: -2x", """
def df(x):
    return -2 * x
""", expect=("sign",)),
    Wrong("ex1", "factor 2 of the power rule missing", """
def df(x):
    return x
""", expect=("factor 2|power rule",)),
    Wrong("ex1", "returns f(x) instead of f'(x)", """
def df(x):
    return x**2
""", expect=("f\\(x\\) = x\\*\\*2 itself|not its slope",)),
    Wrong("ex1", "a forward difference instead of the exact formula", """
def df(x):
    h = 1e-4
    return ((x + h) ** 2 - x**2) / h
""", expect=("approximation",)),
    Wrong("ex1", "works on one number only (float(x))", """
def df(x):
    return 2 * float(x)
""", expect=("whole array|element-wise",)),
    Wrong("ex1", "the library's parabola instead of the formula", """
def df(x):
    return functions.parabola().grad(np.atleast_1d(x))[0]
""", expect=("switched off", "write the derivative 2x yourself")),
    Wrong("ex2", "steps uphill: x + lr * g", """
def gd_step(x, g, lr):
    return x + lr * g
""", expect=("sign",)),
    Wrong("ex2", "learning rate left out", """
def gd_step(x, g, lr):
    return x - g
""", expect=("learning rate .* not to be applied",)),
    Wrong("ex2", "learning rate applied twice", """
def gd_step(x, g, lr):
    return x - lr * lr * g
""", expect=("learning rate .* applied twice",)),
    Wrong("ex2", "returns the step, not the new point", """
def gd_step(x, g, lr):
    return -lr * g
""", expect=("returned the step",)),
    Wrong("ex2", "divides by the learning rate", """
def gd_step(x, g, lr):
    return x - g / lr
""", expect=("divided by the learning rate",)),
    Wrong("ex2", "the library's GD instead of the rule", """
def gd_step(x, g, lr):
    x = np.array(x, dtype=float)
    GD(x, lr=lr).step(np.asarray(g, dtype=float))
    return x
""", expect=("switched off", "gradient-descent step yourself")),
]

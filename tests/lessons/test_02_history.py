"""Lesson 02: Cauchy's step, the Robbins-Monro iteration, the LMS rule, dates from the sources."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "02-history"

CHRONOLOGICAL = """
def chronological(events):
    return [e["label"] for e in sorted(events, key=lambda e: e["year"])]
"""
ANSWERS = """
ANSWERS = {"stochastic_approximation": 1951, "reverse_mode_ad": 1970, "adam_preprint": 2014,
           "heavy_ball": 1964, "zip_codes": 1989}
"""

WRONG = [
    Wrong("ex1", "theta = 1: no line search", """
def cauchy_step(A, b, x):
    return x - A.T @ (A @ x - b)
""", expect=("theta looks like 1",)),
    Wrong("ex1", "theta = g.g / g.A.g (the step for 1/2 x.A.x - b.x)", """
def cauchy_step(A, b, x):
    g = A.T @ (A @ x - b)
    return x - (g @ g) / (g @ A @ g) * g
""", expect=("Hessian is A.T A",)),
    Wrong("ex1", "|A g| not squared", """
def cauchy_step(A, b, x):
    g = A.T @ (A @ x - b)
    return x - (g @ g) / np.linalg.norm(A @ g) * g
""", expect=("square the norm",)),
    Wrong("ex1", "the residual as the gradient", """
def cauchy_step(A, b, x):
    g = A @ x - b
    Ag = A @ g
    return x - (g @ g) / (Ag @ Ag) * g
""", expect=("residual",)),
    Wrong("ex1", "A instead of A.T in the gradient", """
def cauchy_step(A, b, x):
    g = A @ (A @ x - b)
    Ag = A @ g
    return x - (g @ g) / (Ag @ Ag) * g
""", expect=("transpose",)),
    Wrong("ex1", "gradient sign flipped: A.T (b - A x)", """
def cauchy_step(A, b, x):
    g = A.T @ (b - A @ x)
    Ag = A @ g
    return x - (g @ g) / (Ag @ Ag) * g
""", expect=("sign",)),
    Wrong("ex1", "x changed in place", """
def cauchy_step(A, b, x):
    g = A.T @ (A @ x - b)
    Ag = A @ g
    x -= (g @ g) / (Ag @ Ag) * g
    return x
""", expect=("in place",)),
    Wrong("ex1", "gdlib's exact line search", """
from gdlib import linesearch


def cauchy_step(A, b, x):
    g = A.T @ (A @ x - b)
    return x - linesearch.exact_quadratic(A.T @ A, g) * g
""", expect=("switched off", "exact line search yourself")),
    Wrong("ex2", "constant step a instead of a / n", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(1, steps + 1):
        xs.append(xs[-1] - a * (observe(xs[-1]) - alpha))
    return np.array(xs)
""", expect=("shrink as a / n",)),
    Wrong("ex2", "x0 left out", """
def robbins_monro(observe, x0, alpha, a, steps):
    x, xs = x0, []
    for n in range(1, steps + 1):
        x = x - a / n * (observe(x) - alpha)
        xs.append(x)
    return np.array(xs)
""", expect=("start with x0",)),
    Wrong("ex2", "n starts at 0", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(steps):
        xs.append(xs[-1] - a / n * (observe(xs[-1]) - alpha))
    return np.array(xs)
""", expect=("n starts at 1",)),
    Wrong("ex2", "n off by one: a / (n + 1)", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(1, steps + 1):
        xs.append(xs[-1] - a / (n + 1) * (observe(xs[-1]) - alpha))
    return np.array(xs)
""", expect=("off by one",)),
    Wrong("ex2", "sign flipped: + a / n", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(1, steps + 1):
        xs.append(xs[-1] + a / n * (observe(xs[-1]) - alpha))
    return np.array(xs)
""", expect=("sign",)),
    Wrong("ex2", "alpha ignored", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(1, steps + 1):
        xs.append(xs[-1] - a / n * observe(xs[-1]))
    return np.array(xs)
""", expect=("subtract alpha",)),
    Wrong("ex2", "every step from x0", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(1, steps + 1):
        xs.append(x0 - a / n * (observe(x0) - alpha))
    return np.array(xs)
""", expect=("starts again from x0",)),
    Wrong("ex2", "observe called twice per step", """
def robbins_monro(observe, x0, alpha, a, steps):
    xs = [x0]
    for n in range(1, steps + 1):
        y = observe(xs[-1])
        xs.append(xs[-1] - a / n * (observe(xs[-1]) - alpha))
    return np.array(xs)
""", expect=("once per step",)),
    Wrong("ex3", "sign flipped: w - mu e x", """
def lms_step(w, x, d, mu):
    e = d - w @ x
    return w - mu * e * x
""", expect=("sign is flipped",)),
    Wrong("ex3", "Widrow's 2 mu", """
def lms_step(w, x, d, mu):
    e = d - w @ x
    return w + 2 * mu * e * x
""", expect=("not 2 mu",)),
    Wrong("ex3", "mu left out", """
def lms_step(w, x, d, mu):
    e = d - w @ x
    return w + e * x
""", expect=("mu seems not to be applied",)),
    Wrong("ex3", "the input x left out", """
def lms_step(w, x, d, mu):
    e = d - w @ x
    return w + mu * e
""", expect=("multiply by the input x",)),
    Wrong("ex3", "w changed in place", """
def lms_step(w, x, d, mu):
    e = d - w @ x
    w += mu * e * x
    return w
""", expect=("in place",)),
    Wrong("ex3", "gdlib's GD on the gradient -e x", """
def lms_step(w, x, d, mu):
    w = np.array(w, dtype=float)
    GD(w, lr=mu).step(-(d - w @ x) * x)
    return w
""", expect=("switched off", "LMS update yourself")),
    Wrong("ex4", "sorted by label", """
def chronological(events):
    return [e["label"] for e in sorted(events, key=lambda e: e["label"])]
""" + ANSWERS, expect=("sort by e\\['year'\\]",)),
    Wrong("ex4", "newest first", """
def chronological(events):
    return [e["label"] for e in sorted(events, key=lambda e: e["year"], reverse=True)]
""" + ANSWERS, expect=("oldest first",)),
    Wrong("ex4", "the event dicts, not the labels", """
def chronological(events):
    return sorted(events, key=lambda e: e["year"])
""" + ANSWERS, expect=("not the event dicts",)),
    Wrong("ex4", "ties broken by label", """
def chronological(events):
    return [e["label"] for e in sorted(events, key=lambda e: (e["year"], e["label"]))]
""" + ANSWERS, expect=("input order",)),
    Wrong("ex4", "Adam dated by its conference (2015)", CHRONOLOGICAL + """
ANSWERS = {"stochastic_approximation": 1951, "reverse_mode_ad": 1970, "adam_preprint": 2015,
           "heavy_ball": 1964, "zip_codes": 1989}
""", expect=("ICLR",)),
    Wrong("ex4", "stochastic approximation dated 1986", CHRONOLOGICAL + """
ANSWERS = {"stochastic_approximation": 1986, "reverse_mode_ad": 1970, "adam_preprint": 2014,
           "heavy_ball": 1964, "zip_codes": 1989}
""", expect=("popularization",)),
    Wrong("ex4", "years left as None", CHRONOLOGICAL + """
ANSWERS = {"stochastic_approximation": None, "reverse_mode_ad": None, "adam_preprint": None,
           "heavy_ball": None, "zip_codes": None}
""", expect=("still None",)),
    Wrong("ex4", "years as strings", CHRONOLOGICAL + """
ANSWERS = {"stochastic_approximation": "1951", "reverse_mode_ad": "1970",
           "adam_preprint": "2014", "heavy_ball": "1964", "zip_codes": "1989"}
""", expect=("as an integer",)),
]

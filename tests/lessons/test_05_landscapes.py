"""Lesson 05: classifying critical points, a perturbed step, random restarts."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "05-landscapes"

CLASSIFY = """
def classify_critical_point(H, tol=1e-8):
    eig = np.linalg.eigvalsh(H)
    pos, neg = {pos}, {neg}
    if pos and neg:
        return "saddle"
    if np.any(np.abs(eig) <= tol):
        return "degenerate"
    return "minimum" if pos else "maximum"
"""

RESTARTS = """
def random_restarts(f, n_starts, seed=0, lr=0.002, steps=300):
    lo = np.array([b[0] for b in f.bounds])
    hi = np.array([b[1] for b in f.bounds])
    rng = np.random.default_rng(seed)
    ends, values = [], []
    for _ in range(n_starts):
        {draw}
        res = minimize(f, x0, optimizer="gd", lr={lr}, steps={steps})
        ends.append(res.x)
        values.append(res.fun)
    best = {best}
    return ends[best], {f_best}, np.array(ends)
"""


def restarts(draw="x0 = rng.uniform(lo, hi)", lr="lr", steps="steps",
             best="int(np.argmin(values))", f_best="values[best]"):
    return RESTARTS.format(draw=draw, lr=lr, steps=steps, best=best, f_best=f_best)


WRONG = [
    Wrong("ex1", "tolerance ignored for negative eigenvalues", CLASSIFY.format(
        pos="np.any(eig > tol)", neg="np.any(eig < 0)"), expect=("negative eigenvalues too",)),
    Wrong("ex1", "tolerance ignored for positive eigenvalues", CLASSIFY.format(
        pos="np.any(eig > 0)", neg="np.any(eig < -tol)"),
          expect=("positive only when it is > tol",)),
    Wrong("ex1", "zero eigenvalue tested before mixed signs", """
def classify_critical_point(H, tol=1e-8):
    eig = np.linalg.eigvalsh(H)
    if np.any(np.abs(eig) <= tol):
        return "degenerate"
    if np.any(eig > tol) and np.any(eig < -tol):
        return "saddle"
    return "minimum" if np.all(eig > tol) else "maximum"
""", expect=("mixed signs \\*before\\*",)),
    Wrong("ex1", "minimum and maximum swapped", CLASSIFY.format(
        pos="np.any(eig < -tol)", neg="np.any(eig > tol)"),
        expect=("dome, a maximum|bowl, a minimum",)),
    Wrong("ex2", "kick added at every step", """
def perturbed_step(x, g, lr, xi, g_tol=1e-3):
    return x - lr * g + xi
""", expect=("add it \\*only when\\*",)),
    Wrong("ex2", "condition inverted", """
def perturbed_step(x, g, lr, xi, g_tol=1e-3):
    x_new = x - lr * g
    if np.linalg.norm(g) >= g_tol:
        x_new = x_new + xi
    return x_new
""", expect=("only when",)),
    Wrong("ex2", "entries compared instead of the norm", """
def perturbed_step(x, g, lr, xi, g_tol=1e-3):
    x_new = x - lr * g
    if np.all(np.abs(g) < g_tol):
        x_new = x_new + xi
    return x_new
""", expect=("not the entries",)),
    Wrong("ex2", "squared norm compared with g_tol", """
def perturbed_step(x, g, lr, xi, g_tol=1e-3):
    x_new = x - lr * g
    if g @ g < g_tol:
        x_new = x_new + xi
    return x_new
""", expect=("nor its square",)),
    Wrong("ex2", "kick multiplied by lr", """
def perturbed_step(x, g, lr, xi, g_tol=1e-3):
    if np.linalg.norm(g) < g_tol:
        return x - lr * (g - xi)
    return x - lr * g
""", expect=("not multiplied by lr",)),
    Wrong("ex2", "steps uphill", """
def perturbed_step(x, g, lr, xi, g_tol=1e-3):
    x_new = x + lr * g
    if np.linalg.norm(g) < g_tol:
        x_new = x_new + xi
    return x_new
""", expect=("uphill",)),
    Wrong("ex3", "generator re-created inside the loop", restarts(
        draw="x0 = np.random.default_rng(seed).uniform(lo, hi)"), expect=("re-created",)),
    Wrong("ex3", "starts in [0, 1) instead of f.bounds", restarts(
        draw="x0 = rng.random(f.dim)"), expect=("inside f.bounds",)),
    Wrong("ex3", "the last run's loss, not the best", restarts(f_best="values[-1]"),
          expect=("last run's loss",)),
    Wrong("ex3", "x_best from another run than f_best", restarts(
        best="int(np.argmin(values))", f_best="values[best]").replace(
        "return ends[best]", "return ends[-1]"), expect=("end point of the best run",)),
    Wrong("ex3", "the worst run (argmax)", restarts(best="int(np.argmax(values))"),
          expect=("largest\\* end value",)),
    Wrong("ex3", "steps not passed on", restarts(steps="300"), expect=("pass steps on",)),
    Wrong("ex3", "lr not passed on", restarts(lr="0.002"), expect=("Pass lr on",)),
]

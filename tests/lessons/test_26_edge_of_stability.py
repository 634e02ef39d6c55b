"""Lesson 26: a finite-difference Hessian-vector product, power iteration, one SAM step."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "26-edge-of-stability"


def _hvp(body: str) -> str:
    return f"""
def hvp_fd(grad, w, v, eps):
    return {body}
"""


def _power(loop: str, result: str, start: str = "v0 / np.linalg.norm(v0)") -> str:
    return f"""
def power_iteration(hvp, v0, iters):
    v = {start}
{loop}
    return {result}
"""


NORMALISED = """    for _ in range(iters):
        hv = hvp(v)
        v = hv / np.linalg.norm(hv)"""


def _sam(eps: str, result: str) -> str:
    return f"""
def sam_step(w, grad, lr, rho):
    g = grad(w)
    eps = {eps}
    return {result}
"""


WRONG = [
    Wrong("ex1", "forward difference", _hvp("(grad(w + eps * v) - grad(w)) / eps"),
          expect=("one-sided", "central")),
    Wrong("ex1", "divided by eps instead of 2 eps",
          _hvp("(grad(w + eps * v) - grad(w - eps * v)) / eps"),
          expect=(r"divide by 2 \* eps",)),
    Wrong("ex1", "no division", _hvp("grad(w + eps * v) - grad(w - eps * v)"),
          expect=("without the division",)),
    Wrong("ex1", "gradients subtracted the wrong way round",
          _hvp("(grad(w - eps * v) - grad(w + eps * v)) / (2 * eps)"),
          expect=("sign is flipped",)),
    Wrong("ex1", "step not along v", _hvp("(grad(w + eps) - grad(w - eps)) / (2 * eps)"),
          expect=("along the direction v",)),
    Wrong("ex1", "w changed in place", """
def hvp_fd(grad, w, v, eps):
    w += eps * v
    plus = grad(w)
    w -= 2 * eps * v
    minus = grad(w)
    return (plus - minus) / (2 * eps)
""", expect=("in place",)),
    Wrong("ex1", "operator precedence: / 2 * eps",
          _hvp("(grad(w + eps * v) - grad(w - eps * v)) / 2 * eps"),
          expect=("parentheses", r"2 \* eps")),
    Wrong("ex1", "direction v normalised",
          _hvp("(grad(w + eps * v / np.linalg.norm(v)) - grad(w - eps * v / np.linalg.norm(v)))"
               " / (2 * eps)"),
          expect=("as given", "normalise v")),
    Wrong("ex1", "library's fd_hvp", _hvp("fd_hvp(grad, w, v)"),
          expect=("switched off", "finite-difference Hessian-vector product yourself")),
    Wrong("ex2", "norm instead of the Rayleigh quotient",
          _power(NORMALISED, "float(np.linalg.norm(hvp(v))), v"),
          expect=("norm", "loses the sign")),
    Wrong("ex2", "v never replaced", _power("""    for _ in range(iters):
        hv = hvp(v)
        w = hv / np.linalg.norm(hv)""", "float(v @ hvp(v)), v"),
          expect=("never replaced",)),
    Wrong("ex2", "one step too few", _power("""    for _ in range(iters - 1):
        hv = hvp(v)
        v = hv / np.linalg.norm(hv)""", "float(v @ hvp(v)), v"),
          expect=("iters - 1",)),
    Wrong("ex2", "one step too many", _power("""    for _ in range(iters + 1):
        hv = hvp(v)
        v = hv / np.linalg.norm(hv)""", "float(v @ hvp(v)), v"),
          expect=(r"iters \+ 1",)),
    Wrong("ex2", "no normalisation", _power("""    for _ in range(iters):
        v = hvp(v)""", "float(v @ hvp(v) / (v @ v)), v / np.linalg.norm(v)"),
          expect=("without dividing", "normalise")),
    Wrong("ex2", "vector returned unnormalised", _power("""    for _ in range(iters):
        hv = hvp(v)
        v = hv / np.linalg.norm(hv)""", "float(v @ hvp(v)), hvp(v)"),
          expect=("length of the returned v",)),
    Wrong("ex2", "quotient mixes two iterates", """
def power_iteration(hvp, v0, iters):
    v = v0 / np.linalg.norm(v0)
    prev = v
    for _ in range(iters):
        hv = hvp(v)
        prev, v = v, hv / np.linalg.norm(hv)
    return float(prev @ hvp(v)), v
""", expect=("same final v",)),
    Wrong("ex2", "pair returned as (v, value)", _power(NORMALISED, "v, float(v @ hvp(v))"),
          expect=(r"order \(value, v\)",)),
    Wrong("ex2", "absolute value of the quotient", _power(NORMALISED, "abs(float(v @ hvp(v))), v"),
          expect=("negative", "absolute value")),
    Wrong("ex2", "library's top_eigenvalue", """
def power_iteration(hvp, v0, iters):
    res = top_eigenvalue(hvp, len(v0), iters=iters, v0=v0)
    return res.value, res.vector
""", expect=("switched off", "power iteration yourself")),
    Wrong("ex3", "ascent step with the wrong sign",
          _sam("rho * g / np.linalg.norm(g)", "w - lr * grad(w - eps)"),
          expect=("up", "minus sign")),
    Wrong("ex3", "gradient not normalised", _sam("rho * g", "w - lr * grad(w + eps)"),
          expect=("divide g by its norm",)),
    Wrong("ex3", "base step taken from w + eps",
          _sam("rho * g / np.linalg.norm(g)", "w + eps - lr * grad(w + eps)"),
          expect=("starts from w",)),
    Wrong("ex3", "gradient at w (plain gradient descent)",
          _sam("rho * g / np.linalg.norm(g)", "w - lr * g"),
          expect=("plain gradient step", "perturbed point")),
    Wrong("ex3", "learning rate in the perturbation",
          _sam("lr * rho * g / np.linalg.norm(g)", "w - lr * grad(w + eps)"),
          expect=("without the learning rate",)),
    Wrong("ex3", "divided by the squared norm",
          _sam("rho * g / np.sum(g * g)", "w - lr * grad(w + eps)"),
          expect=("not by its square",)),
    Wrong("ex3", "sum of |g| instead of the norm",
          _sam("rho * g / np.sum(np.abs(g))", "w - lr * grad(w + eps)"),
          expect=("Euclidean norm",)),
    Wrong("ex3", "lr and rho swapped",
          _sam("lr * g / np.linalg.norm(g)", "w - rho * grad(w + eps)"),
          expect=("swapped",)),
    Wrong("ex3", "average of the two gradients",
          _sam("rho * g / np.linalg.norm(g)", "w - lr * (grad(w + eps) + g) / 2"),
          expect=("perturbed point alone", "average")),
    Wrong("ex3", "w changed in place", """
def sam_step(w, grad, lr, rho):
    g = grad(w)
    w += rho * g / np.linalg.norm(g)
    g_sam = grad(w)
    w -= rho * g / np.linalg.norm(g)
    w -= lr * g_sam
    return w
""", expect=("in place",)),
    Wrong("ex3", "library's SAM", """
def sam_step(w, grad, lr, rho):
    w = w.copy()
    opt = SAM(w, base_optimizer="gd", lr=lr, rho=rho)
    opt.step(grad(w), lambda: (0.0, grad(w)))
    return w
""", expect=("switched off", "SAM step yourself")),
]

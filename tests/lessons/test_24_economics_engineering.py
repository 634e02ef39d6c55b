"""Lesson 24: the simplex projection, projected gradient descent, an Arrow-Hurwicz step."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "24-economics-engineering"

# Each exercise's wrong answers are one template with the mistake filled in.
SIMPLEX = """
def project_simplex(v):
    v = np.asarray(v, dtype=float)
    {body}
"""
SORT_AND_THRESHOLD = """u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    j = np.arange(1, len(v) + 1)
    rho = np.nonzero(u - css / j > 0)[0][-1] + 1
    theta = {theta}
    return np.maximum(v - theta, 0.0)"""


def simplex(body=None, theta="css[rho - 1] / rho"):
    return SIMPLEX.format(body=body or SORT_AND_THRESHOLD.format(theta=theta))


PGD = """
def projected_gradient_descent(grad, w0, lr, steps, project):
    path = [np.array(w0, dtype=float)]
    for _ in range(steps):
        w = path[-1]
        {step}
    return np.array(path{tail})
"""


def pgd(step="path.append(project(w - lr * grad(w)))", tail=""):
    return PGD.format(step=step, tail=tail)


AH = """
def arrow_hurwicz_step(x, lam, grad_u, prices, budget, lr):
    x = np.asarray(x, dtype=float)
    x_new = {x_new}
    lam_new = {lam_new}
    return x_new, lam_new
"""


def ah(x_new="x + lr * (grad_u(x) - lam * prices)",
       lam_new="lam + lr * float(prices @ x - budget)"):
    return AH.format(x_new=x_new, lam_new=lam_new)


WRONG = [
    Wrong("ex1", "clip the negatives and rescale",
          simplex(body="w = np.maximum(v, 0.0)\n    return w / w.sum()"),
          expect=("rescaled", "threshold")),
    Wrong("ex1", "rescale v / sum(v)", simplex(body="return v / v.sum()"),
          expect=("shifts|does not scale",)),
    Wrong("ex1", "threshold from all n entries",
          simplex(body="return np.maximum(v - (v.sum() - 1.0) / len(v), 0.0)"),
          expect=("all n entries",)),
    Wrong("ex1", "clip to [0, 1] (the box)", simplex(body="return np.clip(v, 0.0, 1.0)"),
          expect=("box",)),
    Wrong("ex1", "rho off by one (divides by rho + 1)", simplex(theta="css[rho - 1] / (rho + 1)"),
          expect=("sums to", "rho")),
    Wrong("ex1", "v changed in place", simplex(body="""v -= (np.sort(v)[::-1].cumsum()[0] - 1.0)
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    j = np.arange(1, len(v) + 1)
    rho = np.nonzero(u - css / j > 0)[0][-1] + 1
    return np.maximum(v - css[rho - 1] / rho, 0.0)"""), expect=("must not change v",)),
    Wrong("ex2", "the gradient projected instead of the point",
          pgd(step="path.append(w - lr * project(grad(w)))"),
          expect=("projected the \\*gradient",)),
    Wrong("ex2", "projected before the step", pgd(step="path.append(project(w) - lr * grad(w))"),
          expect=("projected \\*before\\*",)),
    Wrong("ex2", "projected only at the end",
          pgd(step="path.append(w - lr * grad(w))",
              tail="[:-1] + [project(path[-1])]"),
          expect=("only the last point",)),
    Wrong("ex2", "learning rate left out", pgd(step="path.append(project(w - grad(w)))"),
          expect=("learning rate is missing",)),
    Wrong("ex2", "gradient taken at w0 only",
          pgd(step="path.append(project(w - lr * grad(path[0])))"),
          expect=("gradient at w0", "current")),
    Wrong("ex2", "x0 left out of the path", """
def projected_gradient_descent(grad, w0, lr, steps, project):
    w = np.array(w0, dtype=float)
    path = []
    for _ in range(steps):
        w = project(w - lr * grad(w))
        path.append(w)
    return np.array(path)
""", expect=("w0 itself",)),
    Wrong("ex3", "multiplier term with the wrong sign",
          ah(x_new="x + lr * (grad_u(x) + lam * prices)"), expect=("wrong sign",)),
    Wrong("ex3", "descends in x", ah(x_new="x - lr * (grad_u(x) - lam * prices)"),
          expect=("downhill",)),
    Wrong("ex3", "multiplier moves the wrong way",
          ah(lam_new="lam - lr * float(prices @ x - budget)"), expect=("wrong way", "rise")),
    Wrong("ex3", "multiplier from the new x", """
def arrow_hurwicz_step(x, lam, grad_u, prices, budget, lr):
    x = np.asarray(x, dtype=float)
    x = x + lr * (grad_u(x) - lam * prices)
    lam = lam + lr * float(prices @ x - budget)
    return x, lam
""", expect=("new\\* x|new x",)),
    Wrong("ex3", "learning rate left out of the multiplier's step",
          ah(lam_new="lam + float(prices @ x - budget)"), expect=("learning rate is missing",)),
]

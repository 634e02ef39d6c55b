"""Lesson 11: a Newton step, the two-loop recursion, the Lion update, Newton-Schulz."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "11-beyond-first-order"


def newton(body):
    return "def newton_step(x, g, H, damping=0.0):\n    return " + body + "\n"


def two_loop(first="reversed(range(len(s_list)))", second="range(len(s_list))",
             gamma="(s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1])",
             add="alphas[i] - beta"):
    """A two_loop with one part replaced by a typical mistake."""
    return f"""
def two_loop(g, s_list, y_list):
    rhos = [1.0 / (y @ s) for s, y in zip(s_list, y_list)]
    alphas = [0.0] * len(s_list)
    q = np.array(g, dtype=float)
    for i in {first}:
        alphas[i] = rhos[i] * (s_list[i] @ q)
        q = q - alphas[i] * y_list[i]
    r = {gamma} * q
    for i in {second}:
        beta = rhos[i] * (y_list[i] @ r)
        r = r + ({add}) * s_list[i]
    return r
"""


def lion(c="beta1 * m + (1 - beta1) * g", step="lr * (np.sign(c) + weight_decay * theta)",
         m_new="beta2 * m + (1 - beta2) * g", m_first=False):
    update_m = f"    m = {m_new}\n"
    return ("def lion_step(theta, g, m, lr=1e-4, betas=(0.9, 0.99), weight_decay=1e-3):\n"
            "    beta1, beta2 = betas\n" + (update_m if m_first else "")
            + f"    c = {c}\n    theta = theta - {step}\n"
            + ("" if m_first else update_m) + "    return theta, m\n")


def ns(scale="max(np.linalg.norm(X), eps)", A="X @ X.T", loop="range(steps)", back="X.T"):
    return f"""
def orthogonalize(G, coefficients=(3.4445, -4.7750, 2.0315), steps=5, eps=1e-7):
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / {scale}
    for _ in {loop}:
        A = {A}
        X = a * X + (b * A + c * A @ A) @ X
    return {back} if tall else X
"""


WRONG = [
    Wrong("ex1", "multiplies by H", newton("x - H @ g"), expect=("Newton divides by it",)),
    Wrong("ex1", "a gradient step", newton("x - g"), expect=("this is a gradient step",)),
    Wrong("ex1", "steps uphill", newton("x + np.linalg.solve(H + damping * np.eye(len(x)), g)"),
          expect=("sign is flipped",)),
    Wrong("ex1", "damping ignored", newton("x - np.linalg.solve(H, g)"),
          expect=("damping is ignored",)),
    Wrong("ex1", "damping subtracted",
          newton("x - np.linalg.solve(H - damping * np.eye(len(x)), g)"),
          expect=("\\*added\\* to the diagonal",)),
    Wrong("ex1", "damping added to every entry", newton("x - np.linalg.solve(H + damping, g)"),
          expect=("diagonal only",)),
    Wrong("ex1", "x changed in place", """
def newton_step(x, g, H, damping=0.0):
    x -= np.linalg.solve(H + damping * np.eye(len(x)), g)
    return x
""", expect=("in place",)),
    Wrong("ex1", "gdlib's Newton", """
def newton_step(x, g, H, damping=0.0):
    return reference_newton(x, g, H, damping)
""", expect=("switched off", "the Newton step yourself")),
    Wrong("ex2", "no gamma scaling", two_loop(gamma="1.0"),
          expect=("started from H0 = I",)),
    Wrong("ex2", "gamma from the oldest pair",
          two_loop(gamma="(s_list[0] @ y_list[0]) / (y_list[0] @ y_list[0])"),
          expect=("\\*newest\\* pair",)),
    Wrong("ex2", "loops in the wrong order", two_loop(first="range(len(s_list))",
                                                       second="reversed(range(len(s_list)))"),
          expect=("from the newest pair to the oldest",)),
    Wrong("ex2", "beta - alpha in the second loop", two_loop(add="beta - alphas[i]"),
          expect=("not \\(beta_i - alpha_i\\)",)),
    Wrong("ex2", "the tests' own wrong variant, undone", """
def two_loop(g, s_list, y_list):
    return -two_loop_variant(g, s_list, y_list, "no gamma") * 0 + two_loop_variant(
        g, s_list, y_list, "oldest gamma")
""", expect=("switched off",)),
    Wrong("ex2", "the dense BFGS matrix", """
def two_loop(g, s_list, y_list):
    return bfgs_inverse(s_list, y_list) @ g
""", expect=("switched off", "without a d x d matrix")),
    Wrong("ex3", "no sign", lion(step="lr * (c + weight_decay * theta)"),
          expect=("does not depend on the size",)),
    Wrong("ex3", "sign of the gradient alone", lion(c="g"), expect=("not of g alone",)),
    Wrong("ex3", "betas swapped", lion(c="beta2 * m + (1 - beta2) * g",
                                       m_new="beta1 * m + (1 - beta1) * g"),
          expect=("c uses beta1",)),
    Wrong("ex3", "momentum updated before the step", lion(m_first=True),
          expect=("OLD m",)),
    Wrong("ex3", "no weight decay", lion(step="lr * np.sign(c)"), expect=("decay is missing",)),
    Wrong("ex3", "decay not multiplied by lr",
          lion(step="(lr * np.sign(c) + weight_decay * theta)"),
          expect=("multiplied by lr",)),
    Wrong("ex3", "m updated with beta1", lion(m_new="beta1 * m + (1 - beta1) * g"),
          expect=("updated with beta2",)),
    Wrong("ex3", "gdlib's Lion", """
def lion_step(theta, g, m, lr=1e-4, betas=(0.9, 0.99), weight_decay=1e-3):
    return reference_lion(theta, g, m, lr=lr, betas=betas, weight_decay=weight_decay)
""", expect=("switched off", "the Lion update yourself")),
    Wrong("ex4", "G not scaled", ns(scale="1.0"), expect=("divide G by max",)),
    Wrong("ex4", "scaled by the spectral norm", ns(scale="max(np.linalg.norm(X, 2), eps)"),
          expect=("Frobenius norm",)),
    Wrong("ex4", "min instead of max with eps", ns(scale="min(np.linalg.norm(X), eps)"),
          expect=("not min",)),
    Wrong("ex4", "A = X' X on a wide X", ns(A="X.T @ X"), expect=("check the shapes",)),
    Wrong("ex4", "tall result not transposed back", ns(back="X"), expect=("transposed",)),
    Wrong("ex4", "one step too few", ns(loop="range(steps - 1)") .replace(
        "for _ in range(steps - 1)", "for _ in range(max(steps - 1, 0))"),
          expect=("one step too few",)),
    Wrong("ex4", "gdlib's newton_schulz", """
def orthogonalize(G, coefficients=(3.4445, -4.7750, 2.0315), steps=5, eps=1e-7):
    return newton_schulz(G, coefficients=coefficients, steps=steps, eps=eps)
""", expect=("switched off", "the Newton-Schulz iteration yourself")),
]

"""Lesson 07: the heavy-ball step, Nesterov's step, Polyak's optimal parameters."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "07-momentum"

WRONG = [
    Wrong("ex1", "gradient added instead of subtracted", """
def heavy_ball_step(x, v, g, lr, beta):
    v_new = beta * v + lr * g
    return x + v_new, v_new
""", expect=("subtracted",)),
    Wrong("ex1", "learning rate left out", """
def heavy_ball_step(x, v, g, lr, beta):
    v_new = beta * v - g
    return x + v_new, v_new
""", expect=("learning rate is not applied",)),
    Wrong("ex1", "old velocity not scaled by beta", """
def heavy_ball_step(x, v, g, lr, beta):
    v_new = v - lr * g
    return x + v_new, v_new
""", expect=("not scaled by the momentum",)),
    Wrong("ex1", "moves by the old velocity", """
def heavy_ball_step(x, v, g, lr, beta):
    v_new = beta * v - lr * g
    return x + v, v_new
""", expect=("new\\* velocity",)),
    Wrong("ex1", "damped moving-average form", """
def heavy_ball_step(x, v, g, lr, beta):
    v_new = beta * v - lr * (1 - beta) * g
    return x + v_new, v_new
""", expect=("moving-average form",)),
    Wrong("ex1", "pair returned in the wrong order", """
def heavy_ball_step(x, v, g, lr, beta):
    v_new = beta * v - lr * g
    return v_new, x + v_new
""", expect=("order \\(x_new, v_new\\)",)),
    Wrong("ex1", "inputs changed in place", """
def heavy_ball_step(x, v, g, lr, beta):
    v *= beta
    v -= lr * g
    x += v
    return x, v
""", expect=("in place",)),
    Wrong("ex1", "library's SGD instead of the formula", """
def heavy_ball_step(x, v, g, lr, beta):
    x_new = x.copy()
    SGD(x_new, lr=lr, momentum=beta).step(g)
    return x_new, x_new - x
""", expect=("switched off", "write the heavy-ball step yourself")),
    Wrong("ex2", "gradient taken at x, not at the look-ahead", """
def nesterov_step(x, v, grad, lr, beta):
    v_new = beta * v - lr * grad(x)
    return x + v_new, v_new
""", expect=("look-ahead point x \\+ beta \\* v, not at x",)),
    Wrong("ex2", "look-ahead without beta", """
def nesterov_step(x, v, grad, lr, beta):
    v_new = beta * v - lr * grad(x + v)
    return x + v_new, v_new
""", expect=("scaled by beta before looking ahead",)),
    Wrong("ex2", "look-ahead backwards", """
def nesterov_step(x, v, grad, lr, beta):
    v_new = beta * v - lr * grad(x - beta * v)
    return x + v_new, v_new
""", expect=("\\*with\\* the velocity",)),
    Wrong("ex2", "gradient added", """
def nesterov_step(x, v, grad, lr, beta):
    v_new = beta * v + lr * grad(x + beta * v)
    return x + v_new, v_new
""", expect=("subtracted",)),
    Wrong("ex2", "learning rate left out", """
def nesterov_step(x, v, grad, lr, beta):
    v_new = beta * v - grad(x + beta * v)
    return x + v_new, v_new
""", expect=("learning rate is not applied",)),
    Wrong("ex2", "moves by the old velocity", """
def nesterov_step(x, v, grad, lr, beta):
    v_new = beta * v - lr * grad(x + beta * v)
    return x + v, v_new
""", expect=("new\\* velocity",)),
    Wrong("ex2", "library's SGD(nesterov=True)", """
def nesterov_step(x, v, grad, lr, beta):
    theta = x + beta * v
    SGD(theta, lr=lr, momentum=beta, nesterov=True).step(grad(theta))
    return theta, theta - x
""", expect=("switched off", "Nesterov's step yourself")),
    Wrong("ex3", "momentum not squared (the rate)", """
def optimal_heavy_ball(L, mu):
    q = (np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)
    return 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2, q
""", expect=("that is the rate",)),
    Wrong("ex3", "gradient descent's step 2/(L+mu)", """
def optimal_heavy_ball(L, mu):
    q = (np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)
    return 2.0 / (L + mu), q ** 2
""", expect=("gradient descent's best step",)),
    Wrong("ex3", "denominator of the step not squared", """
def optimal_heavy_ball(L, mu):
    q = (np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)
    return 4.0 / (np.sqrt(L) + np.sqrt(mu)), q ** 2
""", expect=("denominator is squared",)),
    Wrong("ex3", "returns (beta, lr)", """
def optimal_heavy_ball(L, mu):
    q = (np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)
    return q ** 2, 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2
""", expect=("order \\(lr, beta\\)",)),
    Wrong("ex3", "kappa instead of sqrt(kappa)", """
def optimal_heavy_ball(L, mu):
    q = (L / mu - 1) / (L / mu + 1)
    return 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2, q ** 2
""", expect=("sqrt\\(kappa\\) = sqrt\\(L/mu\\)",)),
]

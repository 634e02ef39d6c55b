"""Lesson 08: the Adagrad, RMSprop and Adadelta updates."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "08-adaptive"

WRONG = [
    Wrong("ex1", "eps inside the square root", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G_new = G + g * g
    return x - lr * g / np.sqrt(G_new + eps), G_new
""", expect=("outside the square root",)),
    Wrong("ex1", "divides by the old sum", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G_new = G + g * g
    return x - lr * g / (np.sqrt(G) + eps), G_new
""", expect=("\\*updated\\* sum",)),
    Wrong("ex1", "gradient not squared in the sum", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G_new = G + g
    return x - lr * g / (np.sqrt(np.abs(G_new)) + eps), G_new
""", expect=("\\*square\\*",)),
    Wrong("ex1", "steps uphill", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G_new = G + g * g
    return x + lr * g / (np.sqrt(G_new) + eps), G_new
""", expect=("sign is flipped",)),
    Wrong("ex1", "learning rate left out", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G_new = G + g * g
    return x - g / (np.sqrt(G_new) + eps), G_new
""", expect=("learning rate .* not to be applied",)),
    Wrong("ex1", "one norm over all coordinates", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G_new = G + g * g
    return x - lr * g / (np.sqrt(G_new.sum()) + eps), G_new
""", expect=("per coordinate",)),
    Wrong("ex1", "sum updated in place", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    G += g * g
    return x - lr * g / (np.sqrt(G) + eps), G
""", expect=("in place",)),
    Wrong("ex1", "library's Adagrad", """
def adagrad_step(x, g, G, lr=0.01, eps=1e-10):
    return gdlib_adagrad(x, g, G, lr=lr, eps=eps)
""", expect=("switched off", "write Adagrad's update yourself")),
    Wrong("ex2", "alpha and 1 - alpha swapped", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    v_new = (1 - alpha) * v + alpha * g * g
    return x - lr * g / (np.sqrt(v_new) + eps), v_new
""", expect=("\\*old\\* average",)),
    Wrong("ex2", "new square not weighted by 1 - alpha", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    v_new = alpha * v + g * g
    return x - lr * g / (np.sqrt(v_new) + eps), v_new
""", expect=("weighted by \\(1 - alpha\\)",)),
    Wrong("ex2", "a sum like Adagrad", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    v_new = v + g * g
    return x - lr * g / (np.sqrt(v_new) + eps), v_new
""", expect=("Adagrad's sum",)),
    Wrong("ex2", "eps inside the square root", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    v_new = alpha * v + (1 - alpha) * g * g
    return x - lr * g / np.sqrt(v_new + eps), v_new
""", expect=("outside the square root",)),
    Wrong("ex2", "divides by the old average", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    v_new = alpha * v + (1 - alpha) * g * g
    return x - lr * g / (np.sqrt(v) + eps), v_new
""", expect=("\\*updated\\* average",)),
    Wrong("ex2", "learning rate applied twice", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    v_new = alpha * v + (1 - alpha) * g * g
    return x - lr * lr * g / (np.sqrt(v_new) + eps), v_new
""", expect=("learning rate .* applied twice",)),
    Wrong("ex2", "library's RMSprop", """
def rmsprop_step(x, g, v, lr=0.01, alpha=0.99, eps=1e-8):
    x_new = np.array(x, dtype=float)
    opt = RMSprop(x_new, lr=lr, alpha=alpha, eps=eps)
    opt.state[0] = {"square_avg": np.array(v, dtype=float)}
    opt.step(g)
    return x_new, opt.state[0]["square_avg"]
""", expect=("switched off", "write RMSprop's update yourself")),
    Wrong("ex3", "eps outside the square roots", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    Eg2_new = rho * Eg2 + (1 - rho) * g * g
    delta = (np.sqrt(Edx2) + eps) / (np.sqrt(Eg2_new) + eps) * g
    Edx2_new = rho * Edx2 + (1 - rho) * delta * delta
    return x - lr * delta, Eg2_new, Edx2_new
""", expect=("\\*inside\\* both square roots",)),
    Wrong("ex3", "numerator uses the new Edx2", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    Eg2_new = rho * Eg2 + (1 - rho) * g * g
    rough = np.sqrt(Edx2 + eps) / np.sqrt(Eg2_new + eps) * g
    Edx2_new = rho * Edx2 + (1 - rho) * rough * rough
    delta = np.sqrt(Edx2_new + eps) / np.sqrt(Eg2_new + eps) * g
    return x - lr * delta, Eg2_new, Edx2_new
""", expect=("\\*old\\* E\\[dx\\^2\\]",)),
    Wrong("ex3", "lr inside the accumulated update", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    Eg2_new = rho * Eg2 + (1 - rho) * g * g
    step = lr * np.sqrt(Edx2 + eps) / np.sqrt(Eg2_new + eps) * g
    Edx2_new = rho * Edx2 + (1 - rho) * step * step
    return x - step, Eg2_new, Edx2_new
""", expect=("\\*before\\* it is multiplied by lr",)),
    Wrong("ex3", "rho and 1 - rho swapped", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    Eg2_new = (1 - rho) * Eg2 + rho * g * g
    delta = np.sqrt(Edx2 + eps) / np.sqrt(Eg2_new + eps) * g
    Edx2_new = (1 - rho) * Edx2 + rho * delta * delta
    return x - lr * delta, Eg2_new, Edx2_new
""", expect=("\\*old\\* average",)),
    Wrong("ex3", "denominator uses the old Eg2", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    delta = np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * g
    Eg2_new = rho * Eg2 + (1 - rho) * g * g
    Edx2_new = rho * Edx2 + (1 - rho) * delta * delta
    return x - lr * delta, Eg2_new, Edx2_new
""", expect=("\\*updated\\* E\\[g\\^2\\]",)),
    Wrong("ex3", "learning rate left out", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    Eg2_new = rho * Eg2 + (1 - rho) * g * g
    delta = np.sqrt(Edx2 + eps) / np.sqrt(Eg2_new + eps) * g
    Edx2_new = rho * Edx2 + (1 - rho) * delta * delta
    return x - delta, Eg2_new, Edx2_new
""", expect=("learning rate .* not to be applied",)),
    Wrong("ex3", "states returned in the wrong order", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    Eg2_new = rho * Eg2 + (1 - rho) * g * g
    delta = np.sqrt(Edx2 + eps) / np.sqrt(Eg2_new + eps) * g
    Edx2_new = rho * Edx2 + (1 - rho) * delta * delta
    return x - lr * delta, Edx2_new, Eg2_new
""", expect=("this is Edx2_new",)),
    Wrong("ex3", "library's Adadelta", """
def adadelta_step(x, g, Eg2, Edx2, lr=1.0, rho=0.9, eps=1e-6):
    return gdlib_step(Adadelta, x, g, {"square_avg": Eg2, "acc_delta": Edx2},
                      lr=lr, rho=rho, eps=eps)
""", expect=("switched off", "write Adadelta's update yourself")),
]

"""Lesson 03: the gradient-descent loop, a stopping rule, descent that stops."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "03-gradient-descent"

WRONG = [
    Wrong("ex1", "steps uphill: + instead of -", """
def gradient_descent(grad, x0, lr, steps):
    path = [np.array(x0, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] + lr * grad(path[-1]))
    return np.array(path)
""", expect=("uphill|sign",)),
    Wrong("ex1", "x0 left out of the path", """
def gradient_descent(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    path = []
    for _ in range(steps):
        x = x - lr * grad(x)
        path.append(x)
    return np.array(path)
""", expect=(r"x0|first row|starting point",)),
    Wrong("ex1", "learning rate left out", """
def gradient_descent(grad, x0, lr, steps):
    path = [np.array(x0, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - grad(path[-1]))
    return np.array(path)
""", expect=("learning rate",)),
    Wrong("ex1", "x0 changed in place", """
def gradient_descent(grad, x0, lr, steps):
    path = [x0.copy()]
    for _ in range(steps):
        x0 -= lr * grad(x0)
        path.append(x0.copy())
    return np.array(path)
""", expect=("x0 after the call|must not change|modif",)),
    Wrong("ex1", "gradient taken once, outside the loop", """
def gradient_descent(grad, x0, lr, steps):
    path = [np.array(x0, dtype=float)]
    g = grad(path[0])
    for _ in range(steps):
        path.append(path[-1] - lr * g)
    return np.array(path)
""", expect=("current x|inside the loop|every step is the same",)),
    Wrong("ex1", "library's GD instead of the loop", """
def gradient_descent(grad, x0, lr, steps):
    x = np.array(x0, dtype=float)
    opt = GD(x, lr=lr)
    path = [x.copy()]
    for _ in range(steps):
        opt.step(grad(x))
        path.append(x.copy())
    return np.array(path)
""", expect=("switched off", "write the gradient-descent loop yourself")),
    Wrong("ex2", "budget tested before the gradient", """
def stop_reason(grad_norm, f_old, f_new, step, gtol=1e-6, ftol=1e-12, max_steps=1000):
    if step >= max_steps:
        return "max steps"
    if grad_norm < gtol:
        return "gradient"
    if abs(f_old - f_new) < ftol * max(1.0, abs(f_old)):
        return "relative change"
    return None
""", expect=("order|first",)),
    Wrong("ex2", "change not scaled by max(1, |f|)", """
def stop_reason(grad_norm, f_old, f_new, step, gtol=1e-6, ftol=1e-12, max_steps=1000):
    if grad_norm < gtol:
        return "gradient"
    if abs(f_old - f_new) < ftol:
        return "relative change"
    if step >= max_steps:
        return "max steps"
    return None
""", expect=("relative|scale|max\\(1",)),
    Wrong("ex2", "budget off by one (> instead of >=)", """
def stop_reason(grad_norm, f_old, f_new, step, gtol=1e-6, ftol=1e-12, max_steps=1000):
    if grad_norm < gtol:
        return "gradient"
    if abs(f_old - f_new) < ftol * max(1.0, abs(f_old)):
        return "relative change"
    if step > max_steps:
        return "max steps"
    return None
""", expect=(">=|off by one|step == max_steps|reaches",)),
    Wrong("ex3", "step counter starts at 0 (one short)", """
def descend(f, x0, lr, gtol=1e-6, ftol=1e-12, max_steps=1000):
    x = np.array(x0, dtype=float)
    g = f.grad(x)
    if np.linalg.norm(g) < gtol:
        return x, 0, "gradient"
    f_old = float(f(x))
    k = 0
    while True:
        x = x - lr * g
        f_new = float(f(x))
        g = f.grad(x)
        reason = stop_reason(np.linalg.norm(g), f_old, f_new, k, gtol, ftol, max_steps)
        if reason is not None:
            return x, k, reason
        f_old = f_new
        k += 1
""", expect=("one (step )?(short|fewer)|off by one|count",)),
    Wrong("ex3", "no check at the starting point", """
def descend(f, x0, lr, gtol=1e-6, ftol=1e-12, max_steps=1000):
    x = np.array(x0, dtype=float)
    g = f.grad(x)
    f_old = float(f(x))
    k = 0
    while True:
        k += 1
        x = x - lr * g
        f_new = float(f(x))
        g = f.grad(x)
        reason = stop_reason(np.linalg.norm(g), f_old, f_new, k, gtol, ftol, max_steps)
        if reason is not None:
            return x, k, reason
        f_old = f_new
""", expect=("minimum|0 steps|before the first step",)),
    Wrong("ex3", "f_old never updated", """
def descend(f, x0, lr, gtol=1e-6, ftol=1e-12, max_steps=1000):
    x = np.array(x0, dtype=float)
    g = f.grad(x)
    if np.linalg.norm(g) < gtol:
        return x, 0, "gradient"
    f_old = float(f(x))
    k = 0
    while True:
        k += 1
        x = x - lr * g
        f_new = float(f(x))
        g = f.grad(x)
        reason = stop_reason(np.linalg.norm(g), f_old, f_new, k, gtol, ftol, max_steps)
        if reason is not None:
            return x, k, reason
""", expect=("f_old|previous value|relative change",)),
]

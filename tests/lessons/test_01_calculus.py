"""Lesson 01: central differences, a 2-D gradient by hand, the chain rule, gradient checks."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "01-calculus"

PICK = """
def pick_correct_gradient(f, candidates, points):
    for name, grad in candidates.items():
        if {test}:
            return {found}
    return {nobody}
"""


def pick(test="all(gradcheck.check_gradient(f, grad, x).ok for x in points)", found="name",
         nobody="None"):
    """pick_correct_gradient with one part written differently."""
    return PICK.format(test=test, found=found, nobody=nobody)

WRONG = [
    Wrong("ex1", "forward difference", """
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h
""", expect=("forward difference",)),
    Wrong("ex1", "backward difference", """
def central_difference(f, x, h=1e-5):
    return (f(x) - f(x - h)) / h
""", expect=("backward difference",)),
    Wrong("ex1", "divides by h instead of 2h", """
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / h
""", expect=("divide by 2h",)),
    Wrong("ex1", "operator precedence: / 2 * h", """
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / 2 * h
""", expect=("parentheses",)),
    Wrong("ex1", "ignores the h passed in", """
def central_difference(f, x, h=1e-5):
    step = 1e-5
    return (f(x + step) - f(x - step)) / (2 * step)
""", expect=("use the h passed in",)),
    Wrong("ex1", "the library's numerical_gradient", """
def central_difference(f, x, h=1e-5):
    return gradcheck.numerical_gradient(lambda v: f(v[0]), np.array([x], dtype=float), eps=h)[0]
""", expect=("switched off", "central difference yourself")),
    Wrong("ex2", "sign of the (1 - x1)^2 term", """
def grad_banana(x):
    x1, x2 = x[0], x[1]
    inner = x2 - x1**2
    return np.array([2 * (1 - x1) - 40 * x1 * inner, 20 * inner])
""", expect=("-2 \\(1 - x1\\)", "inner derivative of 1 - x1")),
    Wrong("ex2", "inner derivative -2 x1 forgotten", """
def grad_banana(x):
    x1, x2 = x[0], x[1]
    inner = x2 - x1**2
    return np.array([-2 * (1 - x1) + 20 * inner, 20 * inner])
""", expect=("inner derivative -2 x1",)),
    Wrong("ex2", "factor 2 of the power rule missing", """
def grad_banana(x):
    x1, x2 = x[0], x[1]
    inner = x2 - x1**2
    return np.array([-2 * (1 - x1) - 20 * x1 * inner, 10 * inner])
""", expect=("power rule",)),
    Wrong("ex2", "components swapped", """
def grad_banana(x):
    x1, x2 = x[0], x[1]
    inner = x2 - x1**2
    return np.array([20 * inner, -2 * (1 - x1) - 40 * x1 * inner])
""", expect=("swapped",)),
    Wrong("ex2", "gdlib's rosenbrock instead of the derivation", """
def grad_banana(x):
    return functions.rosenbrock(a=1, b=10).grad(x)
""", expect=("switched off", "gradient of the banana function yourself")),
    Wrong("ex3", "sigma' missing", """
def neuron_grad(w, b, x, y):
    a = sigmoid(w @ x + b)
    return (a - y) * x, a - y
""", expect=("sigma'\\(z\\) = a \\(1 - a\\) is missing",)),
    Wrong("ex3", "sign: y - a", """
def neuron_grad(w, b, x, y):
    a = sigmoid(w @ x + b)
    dL_dz = (y - a) * a * (1 - a)
    return dL_dz * x, dL_dz
""", expect=("sign",)),
    Wrong("ex3", "the 1/2 dropped: 2 (a - y)", """
def neuron_grad(w, b, x, y):
    a = sigmoid(w @ x + b)
    dL_dz = 2 * (a - y) * a * (1 - a)
    return dL_dz * x, dL_dz
""", expect=("1/2 cancels",)),
    Wrong("ex3", "z (1 - z) for sigma'", """
def neuron_grad(w, b, x, y):
    z = w @ x + b
    a = sigmoid(z)
    dL_dz = (a - y) * z * (1 - z)
    return dL_dz * x, dL_dz
""", expect=("not z \\(1 - z\\)",)),
    Wrong("ex3", "dL_db multiplied by x", """
def neuron_grad(w, b, x, y):
    a = sigmoid(w @ x + b)
    dL_dz = (a - y) * a * (1 - a)
    return dL_dz * x, dL_dz * x
""", expect=("dz/db = 1",)),
    Wrong("ex3", "dL_dw without the factor x", """
def neuron_grad(w, b, x, y):
    a = sigmoid(w @ x + b)
    dL_dz = (a - y) * a * (1 - a)
    return dL_dz, dL_dz
""", expect=("dz/dw = x",)),
    Wrong("ex3", "pair in the wrong order", """
def neuron_grad(w, b, x, y):
    a = sigmoid(w @ x + b)
    dL_dz = (a - y) * a * (1 - a)
    return dL_dz, dL_dz * x
""", expect=("wrong order",)),
    Wrong("ex3", "finite differences from the library", """
def neuron_grad(w, b, x, y):
    num = gradcheck.numerical_gradient(lambda t: neuron_loss(t[:-1], t[-1], x, y),
                                       np.append(w, b))
    return num[:-1], num[-1]
""", expect=("switched off", "chain rule through the neuron yourself")),
    Wrong("ex4", "checks the first point only", pick(
        test="gradcheck.check_gradient(f, grad, points[0]).ok"), expect=("every\\* point",)),
    Wrong("ex4", "any instead of all", pick(
        test="any(gradcheck.check_gradient(f, grad, x).ok for x in points)"),
        expect=("every\\* point",)),
    Wrong("ex4", "gives up after the first candidate", pick().replace(
        "            return name\n    return None", "            return name\n        return None"),
        expect=("try every candidate",)),
    Wrong("ex4", "returns the gradient function, not its name", pick(found="grad"),
          expect=("\\*name\\*",)),
    Wrong("ex4", "False instead of None", pick(nobody="False"), expect=("return None\\.",)),
    Wrong("ex4", "a looser tolerance of its own", pick(
        test="all(gradcheck.check_gradient(f, grad, x).max_rel_error < 1e-2 for x in points)"),
        expect=("erin is off by 0.01", "\\.ok")),
]

"""Lesson 12: the MSE and its gradient, the normal equations, one epoch of SGD."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "12-linear-regression"


def mse(loss="0.5 * float(r @ r) / n", grad_w="X.T @ r / n", grad_b="float(r.mean())",
        r="X @ w + b - y"):
    return f"""
def mse_loss_and_grad(X, y, w, b):
    n = X.shape[0]
    r = {r}
    return {loss}, {grad_w}, {grad_b}
"""


def normal(build="np.hstack([X, np.ones((X.shape[0], 1))])",
           solve="np.linalg.solve(Xt.T @ Xt, Xt.T @ y)", split="theta[:-1], float(theta[-1])"):
    return f"""
def normal_equations(X, y):
    Xt = {build}
    theta = {solve}
    return {split}
"""


def epoch(batches="range(0, len(order), batch_size)", idx="order[start:start + batch_size]",
          grad="mse_loss_and_grad(X[idx], y[idx], w, b)", step="w = w - lr * gw"):
    return f"""
def sgd_epoch(X, y, w, b, lr, batch_size, order):
    for start in {batches}:
        idx = {idx}
        _, gw, gb = {grad}
        {step}
        b = b - lr * gb
    return w, b
"""


WRONG = [
    Wrong("ex1", "loss not halved", mse(loss="float(r @ r) / n"), expect=("halved",)),
    Wrong("ex1", "sum instead of mean", mse(loss="0.5 * float(r @ r)", grad_w="X.T @ r",
                                            grad_b="float(r.sum())"),
          expect=("divide by n = 3",)),
    Wrong("ex1", "factor 2 left in the gradient", mse(grad_w="2 * X.T @ r / n"),
          expect=("no 2",)),
    Wrong("ex1", "residual y - Xw", mse(r="y - X @ w - b"), expect=("prediction minus target",)),
    Wrong("ex1", "intercept left out of the residual", mse(r="X @ w - y"),
          expect=("intercept is missing",)),
    Wrong("ex1", "grad_b as a sum", mse(grad_b="float(r.sum())"),
          expect=("mean of the residuals",)),
    Wrong("ex1", "grad_w averaged to one number", mse(grad_w="float(np.mean(X.T @ r))"),
          expect=("single number where an array",)),
    Wrong("ex1", "gdlib's LinearRegression", """
def mse_loss_and_grad(X, y, w, b):
    model = LinearRegression()
    g = model.gradient(X, y, coef=w, intercept=b)
    return model.loss(X, y, coef=w, intercept=b), g["coef"], float(g["intercept"][0])
""", expect=("switched off", "the loss and its gradient yourself")),
    Wrong("ex2", "no intercept column", normal(build="X", split="theta, 0.0"),
          expect=("column of ones",)),
    Wrong("ex2", "ones column first", normal(build="np.hstack([np.ones((X.shape[0], 1)), X])"),
          expect=("\\*last\\* column",)),
    Wrong("ex2", "X~ X~^T instead of X~^T X~",
          normal(solve="np.linalg.solve(Xt @ Xt.T, Xt.T @ y)"),
          expect=("\\(d \\+ 1\\) x \\(d \\+ 1\\)",)),
    Wrong("ex2", "right-hand side without the ones",
          normal(solve="np.linalg.solve(Xt.T @ Xt, X.T @ y)"),
          expect=("use it on both sides",)),
    Wrong("ex2", "scikit-learn's fit", """
def normal_equations(X, y):
    model = SkLinearRegression().fit(X, y)
    return model.coef_, float(model.intercept_)
""", expect=("switched off", "the normal equations yourself")),
    Wrong("ex3", "order ignored", epoch(idx="np.arange(start, min(start + batch_size, len(y)))"),
          expect=("visited in the order 0, 1, 2",)),
    Wrong("ex3", "gradient on all patients", epoch(grad="mse_loss_and_grad(X, y, w, b)"),
          expect=("\\*its batch\\* only",)),
    Wrong("ex3", "last smaller batch dropped",
          epoch(batches="range(0, len(order) - batch_size + 1, batch_size)"),
          expect=("last, smaller batch was skipped",)),
    Wrong("ex3", "batch gradient divided by n", """
def sgd_epoch(X, y, w, b, lr, batch_size, order):
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        r = X[idx] @ w + b - y[idx]
        w = w - lr * X[idx].T @ r / len(y)
        b = b - lr * r.sum() / len(y)
    return w, b
""", expect=("divide by the batch's size",)),
    Wrong("ex3", "steps uphill", epoch(step="w = w + lr * gw"),
          expect=("sign is flipped|against the gradient",)),
    Wrong("ex3", "learning rate left out", epoch(step="w = w - gw"),
          expect=("learning rate .* not to be applied",)),
    Wrong("ex3", "w updated in place", epoch(step="w -= lr * gw"), expect=("in place",)),
    Wrong("ex3", "gdlib's LinearRegression(solver='sgd')", """
def sgd_epoch(X, y, w, b, lr, batch_size, order):
    model = LinearRegression(solver="sgd", lr=lr, epochs=1, batch_size=batch_size)
    model.fit(X[order], y[order])
    return model.coef_, model.intercept_
""", expect=("switched off", "one epoch of mini-batch SGD yourself")),
]

"""Lesson 13: a stable log-loss, the logistic gradient, the softmax-regression gradient."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "13-logistic-regression"


def log_loss(body):
    return ("def log_loss(z, y):\n    z = np.asarray(z, dtype=float)\n"
            "    y = np.asarray(y, dtype=float)\n    return " + body + "\n")


def logistic(p="sigmoid(X @ w + b)", grad_w="X.T @ r / n + l2 * w", grad_b="float(np.mean(r))",
             r="p - y"):
    return f"""
def logistic_gradient(w, b, X, y, l2=0.0):
    p = {p}
    r = {r}
    n = X.shape[0]
    return {grad_w}, {grad_b}
"""


def softmax(shift="Z.max(axis=1, keepdims=True)", norm="P.sum(axis=1, keepdims=True)",
            one_hot="P[np.arange(n), y] -= 1.0", out="X.T @ P / n, P.mean(axis=0)"):
    return f"""
def softmax_gradient(W, b, X, y):
    Z = X @ W + b
    Z = Z - {shift}
    P = np.exp(Z)
    P = P / {norm}
    n = X.shape[0]
    {one_hot}
    return {out}
"""


WRONG = [
    Wrong("ex1", "sum instead of mean", log_loss("float(np.sum(np.logaddexp(0.0, z) - y * z))"),
          expect=("the loss is the mean",)),
    Wrong("ex1", "labels swapped", log_loss("float(np.mean(np.logaddexp(0.0, z) - (1 - y) * z))"),
          expect=("y = 1 should pair with log\\(p\\)",)),
    Wrong("ex1", "softplus of -z", log_loss("float(np.mean(np.logaddexp(0.0, -z) - y * z))"),
          expect=("softplus takes \\+z",)),
    Wrong("ex1", "plus y z", log_loss("float(np.mean(np.logaddexp(0.0, z) + y * z))"),
          expect=("\\*minus\\* y z",)),
    Wrong("ex1", "naive log(1 + exp(z))", log_loss("float(np.mean(np.log(1 + np.exp(z)) - y * z))"),
          expect=("overflowed", "np.logaddexp")),
    Wrong("ex1", "from the probabilities", log_loss(
        "float(np.mean(-(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z)))))"),
          expect=("overflowed", "log\\(sigmoid\\(z\\)\\)")),
    Wrong("ex1", "softplus without the absolute value",
          log_loss("float(np.mean(np.maximum(z, 0) + np.log1p(np.exp(-z)) - y * z))"),
          expect=("absolute value",)),
    Wrong("ex1", "scikit-learn's log_loss", """
def log_loss(z, y):
    return sklearn_log_loss(y, sigmoid(z), labels=[0, 1])
""", expect=("switched off", "a stable log-loss yourself")),
    Wrong("ex2", "sum instead of mean",
          logistic(grad_w="X.T @ r + l2 * w", grad_b="float(np.sum(r))"),
          expect=("divide by n",)),
    Wrong("ex2", "residual y - p", logistic(r="y - p", grad_w="X.T @ r / n + l2 * w"),
          expect=("not y - p",)),
    Wrong("ex2", "score instead of probability", logistic(p="X @ w + b"),
          expect=("p = sigmoid",)),
    Wrong("ex2", "penalty left out", logistic(grad_w="X.T @ r / n"),
          expect=("adds l2 \\* w to grad_w",)),
    Wrong("ex2", "half the penalty", logistic(grad_w="X.T @ r / n + 0.5 * l2 * w"),
          expect=("the 1/2 cancels the 2",)),
    Wrong("ex2", "bias penalized too", logistic(grad_b="float(np.mean(r)) + l2 * b"),
          expect=("bias is not penalized",)),
    Wrong("ex2", "gdlib's LogisticRegression.gradient", """
def logistic_gradient(w, b, X, y, l2=0.0):
    g = LogisticRegression(l2=l2).gradient(X, y, coef=w, intercept=b)
    return g["coef"], float(g["intercept"][0])
""", expect=("switched off", "the logistic-regression gradient yourself")),
    Wrong("ex3", "sum instead of mean", softmax(out="X.T @ P, P.sum(axis=0)"),
          expect=("divide by the number of examples",)),
    Wrong("ex3", "Y - P", softmax(one_hot="P[np.arange(n), y] -= 1.0; P = -P"),
          expect=("not Y - P",)),
    Wrong("ex3", "no max subtracted", softmax(shift="0.0"),
          expect=("not finite", "subtract each row's maximum")),
    Wrong("ex3", "max over the wrong axis", softmax(shift="Z.max(axis=0)"),
          expect=("\\*row's\\* maximum",)),
    Wrong("ex3", "normalized over the wrong axis", softmax(norm="P.sum(axis=0, keepdims=True)"),
          expect=("normalize each row",)),
    Wrong("ex3", "one-hot by P[:, y]", softmax(one_hot="P[:, y] -= 1.0"),
          expect=("hits whole columns",)),
    Wrong("ex3", "grad_b averaged over the classes", softmax(out="X.T @ P / n, P.mean(axis=1)"),
          expect=("one entry per example",)),
    Wrong("ex3", "gdlib's SoftmaxRegression.gradient", """
def softmax_gradient(W, b, X, y):
    g = SoftmaxRegression().gradient(X, y, coef=W, intercept=b)
    return g["coef"], g["intercept"]
""", expect=("switched off", "the softmax-regression gradient yourself")),
]

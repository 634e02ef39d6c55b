"""Lesson 14: the SVM objective, its sub-gradient, one Pegasos step."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "14-svm"

WRONG = [
    Wrong("ex1", "sum of the hinge losses instead of the mean", """
def svm_objective(w, b, X, y, lam):
    margins = y * (X @ w + b)
    return float(0.5 * lam * (w @ w) + np.sum(np.maximum(0.0, 1.0 - margins)))
""", expect=("sum of the hinge", "mean")),
    Wrong("ex1", "hinge without the max", """
def svm_objective(w, b, X, y, lam):
    margins = y * (X @ w + b)
    return float(0.5 * lam * (w @ w) + np.mean(1.0 - margins))
""", expect=(r"max\(0",)),
    Wrong("ex1", "penalty without the 1/2", """
def svm_objective(w, b, X, y, lam):
    margins = y * (X @ w + b)
    return float(lam * (w @ w) + np.mean(np.maximum(0.0, 1.0 - margins)))
""", expect=("lam / 2",)),
    Wrong("ex1", "norm not squared", """
def svm_objective(w, b, X, y, lam):
    margins = y * (X @ w + b)
    return float(0.5 * lam * np.linalg.norm(w) + np.mean(np.maximum(0.0, 1.0 - margins)))
""", expect=("squared",)),
    Wrong("ex1", "bias penalized", """
def svm_objective(w, b, X, y, lam):
    margins = y * (X @ w + b)
    return float(0.5 * lam * (w @ w + b * b) + np.mean(np.maximum(0.0, 1.0 - margins)))
""", expect=("not penalize the bias",)),
    Wrong("ex1", "label not applied to the bias", """
def svm_objective(w, b, X, y, lam):
    margins = y * (X @ w) + b
    return float(0.5 * lam * (w @ w) + np.mean(np.maximum(0.0, 1.0 - margins)))
""", expect=("label multiplies the bias",)),
    Wrong("ex1", "gdlib's LinearSVM.loss", """
def svm_objective(w, b, X, y, lam):
    return LinearSVM(C=1 / (max(lam, 1e-12) * len(y))).loss(X, y, coef=w, intercept=b)
""", expect=("switched off", "the SVM objective yourself")),
    Wrong("ex2", "sum instead of mean", """
def svm_subgradient(w, b, X, y, lam):
    active = y * (X @ w + b) < 1.0
    ya = y * active
    return lam * w - X.T @ ya, float(-ya.sum())
""", expect=("divide the hinge part by n",)),
    Wrong("ex2", "sign of the hinge part flipped", """
def svm_subgradient(w, b, X, y, lam):
    n = X.shape[0]
    active = y * (X @ w + b) < 1.0
    ya = y * active
    return lam * w + X.T @ ya / n, float(ya.sum() / n)
""", expect=("MINUS",)),
    Wrong("ex2", "penalty gradient lam * w forgotten", """
def svm_subgradient(w, b, X, y, lam):
    n = X.shape[0]
    active = y * (X @ w + b) < 1.0
    ya = y * active
    return -X.T @ ya / n, float(-ya.sum() / n)
""", expect=("lam \\* w is missing",)),
    Wrong("ex2", "only misclassified points counted", """
def svm_subgradient(w, b, X, y, lam):
    n = X.shape[0]
    active = y * (X @ w + b) < 0.0
    ya = y * active
    return lam * w - X.T @ ya / n, float(-ya.sum() / n)
""", expect=("misclassified", "< 1")),
    Wrong("ex2", "label y_i left out of the sum", """
def svm_subgradient(w, b, X, y, lam):
    n = X.shape[0]
    active = y * (X @ w + b) < 1.0
    return lam * w - X.T @ active / n, float(-y[active].sum() / n)
""", expect=("label y_i is missing",)),
    Wrong("ex2", "gdlib's LinearSVM.gradient", """
def svm_subgradient(w, b, X, y, lam):
    g = LinearSVM(C=1 / (lam * len(y))).gradient(X, y, coef=w, intercept=b)
    return g["coef"], float(g["intercept"])
""", expect=("switched off", "the SVM sub-gradient yourself")),
    Wrong("ex3", "old w not shrunk", """
def pegasos_step(w, X_batch, y_batch, lam, t):
    eta = 1.0 / (lam * t)
    active = y_batch * (X_batch @ w) < 1.0
    k = X_batch.shape[0]
    return w + eta / k * (X_batch.T @ (y_batch * active))
""", expect=(r"1 - eta \* lam",)),
    Wrong("ex3", "sum over the batch not divided by k", """
def pegasos_step(w, X_batch, y_batch, lam, t):
    eta = 1.0 / (lam * t)
    active = y_batch * (X_batch @ w) < 1.0
    return (1.0 - eta * lam) * w + eta * (X_batch.T @ (y_batch * active))
""", expect=("batch size k",)),
    Wrong("ex3", "eta written 1 / lam * t", """
def pegasos_step(w, X_batch, y_batch, lam, t):
    eta = 1.0 / lam * t
    active = y_batch * (X_batch @ w) < 1.0
    k = X_batch.shape[0]
    return (1.0 - eta * lam) * w + eta / k * (X_batch.T @ (y_batch * active))
""", expect=(r"1 / \(lam \* t\)",)),
    Wrong("ex3", "only misclassified points counted", """
def pegasos_step(w, X_batch, y_batch, lam, t):
    eta = 1.0 / (lam * t)
    active = y_batch * (X_batch @ w) < 0.0
    k = X_batch.shape[0]
    return (1.0 - eta * lam) * w + eta / k * (X_batch.T @ (y_batch * active))
""", expect=("misclassified", "< 1")),
    Wrong("ex3", "w updated in place", """
def pegasos_step(w, X_batch, y_batch, lam, t):
    eta = 1.0 / (lam * t)
    active = y_batch * (X_batch @ w) < 1.0
    k = X_batch.shape[0]
    w *= 1.0 - eta * lam
    w += eta / k * (X_batch.T @ (y_batch * active))
    return w
""", expect=("in place",)),
    Wrong("ex3", "the notebook's reference_pegasos", """
def pegasos_step(w, X_batch, y_batch, lam, t):
    return reference_pegasos(w, X_batch, y_batch, lam, t)
""", expect=("switched off", "the Pegasos step yourself")),
]

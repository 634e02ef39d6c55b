"""Classic models with the scikit-learn shape, trained by gdlib's optimizers.

``fit(X, y) -> self``, ``predict(X)``, ``score(X, y)``; hyper-parameters in the
constructor, learned attributes ending in ``_`` (``coef_``, ``intercept_``,
``history_``, ``n_iter_``). Inputs may be NumPy or CuPy arrays; the arithmetic
runs on the backend's array module (:data:`gdlib.backend.xp`).

- :class:`LinearRegression`: least squares, closed form or (stochastic) gradient descent;
- :class:`LogisticRegression`: binary, cross-entropy;
- :class:`SoftmaxRegression`: multiclass, cross-entropy;
- :class:`LinearSVM`: hinge loss + L2, sub-gradient descent or Pegasos.
"""

from ._base import NotFittedError
from .linear import LinearRegression, LogisticRegression, SoftmaxRegression
from .svm import LinearSVM

__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression", "LinearSVM",
           "NotFittedError"]

r"""Linear models trained by gradient descent: linear, logistic and softmax regression.

Each model is a linear score :math:`z = Xw + b` followed by a loss; each writes
its loss and gradient once (``_loss_and_grad``), in the notation of the
docstrings, and hands them to :func:`gdlib.train.train`, so any gdlib optimizer
and schedule trains it. :class:`LinearRegression` also has the closed-form
least-squares solution, to compare against.

Sources
-------
- A.-M. Legendre (1805), *Nouvelles méthodes pour la détermination des orbites
  des comètes* (appendix: the method of least squares); C. F. Gauss (1809),
  *Theoria motus corporum coelestium*: least squares and the normal equations.
- A.-L. Cauchy (1847): gradient descent; H. Robbins and S. Monro (1951):
  stochastic approximation (mini-batch SGD).
- D. R. Cox (1958), "The regression analysis of binary sequences", J. R. Stat.
  Soc. B 20(2), 215-242: logistic regression.
- J. S. Bridle (1990), "Probabilistic interpretation of feedforward
  classification network outputs": the softmax.
"""

from __future__ import annotations

from ..backend import to_host, xp
from ._base import (
    GradientModel,
    NotFittedError,
    check_choice,
    check_X,
    check_Xy,
    encode_labels,
    host_float,
)

_REGRESSION = {"numeric_y": True}

__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression",
           "r2", "sigmoid", "log_softmax"]


def sigmoid(z):
    r"""The logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, without overflow."""
    return xp.exp(-xp.logaddexp(0.0, -z))


def log_softmax(Z):
    r""":math:`\log \mathrm{softmax}(Z)` along the last axis, shifted by the row maximum."""
    Z = Z - Z.max(axis=-1, keepdims=True)
    return Z - xp.log(xp.exp(Z).sum(axis=-1, keepdims=True))


def r2(y, y_pred) -> float:
    r"""The coefficient of determination.

    .. math:: R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2}
    """
    ss_res = float(((y - y_pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def _given_param(name: str, value, shape: tuple, dtype):
    """A parameter given to ``loss``/``gradient``: the right shape, real and finite."""
    try:
        a = xp.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}.") from err
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(a.shape)} but the model needs {tuple(shape)} "
                         "here (one entry per feature of X, per class for softmax).")
    if not bool(xp.isfinite(a).all()):
        raise ValueError(f"{name} contains NaN or infinity.")
    return a


class _LinearModel(GradientModel):
    """Shared parts: parameters ``coef``/``intercept``, ``loss`` and ``gradient``."""

    def __init__(self, l2=0.0, fit_intercept=True, **kw):
        super().__init__(**kw)
        self.l2 = l2
        self.fit_intercept = fit_intercept

    # -- parameters ---------------------------------------------------------

    def _n_outputs(self) -> int | None:
        """None for a vector ``coef`` (d,), k for a matrix (d, k)."""
        return None

    def _init_params(self, d, dtype):
        k = self._n_outputs()
        shape = (d,) if k is None else (d, k)
        params = {"coef": xp.zeros(shape, dtype=dtype)}
        if self.fit_intercept:
            params["intercept"] = xp.zeros((1,) if k is None else (k,), dtype=dtype)
        return params

    def _scores(self, params, X):
        z = X @ params["coef"]
        if "intercept" in params:
            z = z + params["intercept"]
        return z

    def _set_fitted(self, params, n_features):
        self.params_ = params
        self.n_features_in_ = n_features

    @property
    def coef_(self):
        self._check_fitted()
        return self.params_["coef"]

    @property
    def intercept_(self):
        self._check_fitted()
        b = self.params_.get("intercept")
        if self._n_outputs() is None:
            return 0.0 if b is None else host_float(b)
        return xp.zeros(self._n_outputs()) if b is None else b

    # -- targets ------------------------------------------------------------

    def _targets(self, y, X, fitting: bool):
        """The encoded targets the loss uses (floats, or class indices)."""
        return y.astype(X.dtype)

    # -- loss and gradient at any point -------------------------------------

    def _prepare(self, X):
        """A hook run before ``loss``/``gradient`` (the SVM sets its lambda)."""

    def _params_at(self, X, coef, intercept):
        if coef is None and intercept is None:
            self._check_fitted()
            return self.params_
        if coef is None:
            raise ValueError("intercept was given without coef: give both, or neither "
                             "(then the fitted parameters are used).")
        k = self._n_outputs()
        want = (X.shape[1],) if k is None else (X.shape[1], k)
        params = {"coef": _given_param("coef", coef, want, X.dtype)}
        if self.fit_intercept or intercept is not None:
            b = 0.0 if intercept is None else intercept
            b = xp.asarray(b, dtype=X.dtype)
            params["intercept"] = _given_param(
                "intercept", b if b.ndim else b.reshape(1), (1,) if k is None else (k,), X.dtype)
        return params

    _y_checks: dict = {}

    def loss(self, X, y, coef=None, intercept=None) -> float:
        """The training loss at the fitted parameters, or at ``coef``/``intercept``."""
        X, y = check_Xy(X, y, getattr(self, "n_features_in_", None), **self._y_checks)
        self._prepare(X)
        t = self._targets(y, X, fitting=getattr(self, "params_", None) is None)
        loss, _ = self._loss_and_grad(self._params_at(X, coef, intercept), (X, t))
        return float(loss)

    def gradient(self, X, y, coef=None, intercept=None) -> dict:
        """The loss's gradient, a dict with ``"coef"`` (and ``"intercept"``) arrays."""
        X, y = check_Xy(X, y, getattr(self, "n_features_in_", None), **self._y_checks)
        self._prepare(X)
        t = self._targets(y, X, fitting=getattr(self, "params_", None) is None)
        _, grads = self._loss_and_grad(self._params_at(X, coef, intercept), (X, t))
        return grads

    def _fit_gradient(self, X, y, batch_size=None):
        t = self._targets(y, X, fitting=True)
        params = self._init_params(X.shape[1], X.dtype)
        self._train(params, self._loss_and_grad, X, t, batch_size=batch_size)
        self._set_fitted(params, X.shape[1])
        return self

    def decision_function(self, X):
        r"""The linear score :math:`z = Xw + b`, shape (n,) or (n, k)."""
        self._check_fitted()
        return self._scores(self.params_, check_X(X, self.n_features_in_))


class LinearRegression(_LinearModel):
    r"""Least-squares linear regression, solved in closed form or by gradient descent.

    The model predicts :math:`\hat y = Xw + b` and minimises the mean squared
    error (halved, so that the gradient has no factor 2) plus an optional ridge
    penalty:

    .. math::

        L(w, b) = \frac{1}{2n} \lVert Xw + b\mathbf{1} - y \rVert^2
                  + \frac{\lambda}{2} \lVert w \rVert^2,

    .. math::

        \nabla_w L = \frac{1}{n} X^\top r + \lambda w, \qquad
        \frac{\partial L}{\partial b} = \frac{1}{n} \mathbf{1}^\top r,
        \qquad r = Xw + b\mathbf{1} - y .

    Setting the gradient to zero gives the normal equations of Legendre (1805)
    and Gauss (1809); with centred :math:`X_c, y_c` (which removes :math:`b`),

    .. math:: (X_c^\top X_c + n\lambda I)\, w = X_c^\top y_c, \qquad
              b = \bar y - \bar x^\top w .

    ``solver="closed"`` solves them (``lstsq`` when :math:`\lambda = 0`, which is
    safe for rank-deficient :math:`X`); ``"gd"`` runs full-batch gradient descent
    (Cauchy 1847) with the chosen optimizer; ``"sgd"`` uses mini-batches
    (Robbins and Monro 1951). Gradient descent converges for
    ``lr < 2 / L``, where :math:`L` is the largest eigenvalue of
    :math:`X^\top X / n + \lambda I` (about the number of strongly correlated
    features for standardised data), and needs about :math:`\kappa` steps per
    factor :math:`e`, :math:`\kappa` being that matrix's condition number:
    standardise the features first.

    Parameters
    ----------
    solver : {"closed", "gd", "sgd"}, default "closed"
    l2 : float, default 0.0
        The ridge penalty :math:`\lambda` (the intercept is not penalised).
    fit_intercept : bool, default True
    optimizer : str, class or factory, default "sgd"
        The update rule for ``"gd"`` / ``"sgd"`` (``"sgd"`` without momentum is
        plain gradient descent).
    lr : float, default 0.1
    epochs : int, default 500
    batch_size : int or None
        ``"gd"``: must be None (the full batch). ``"sgd"``: examples per step,
        32 when None.
    schedule, seed, progress, **hyper
        As in :class:`gdlib.train.train` (``momentum=0.9``...).

    Attributes
    ----------
    coef_ : array of shape (n_features,)
    intercept_ : float
    history_ : gdlib.train.History or None
        The run (None for the closed form).
    n_iter_ : int
        Optimizer steps taken (0 for the closed form).

    Examples
    --------
    >>> model = LinearRegression(solver="gd", lr=0.3, epochs=2000).fit(X_train, y_train)
    >>> model.score(X_test, y_test)   # R^2  # doctest: +SKIP
    """

    SOLVERS = ("closed", "gd", "sgd")
    _y_checks = _REGRESSION

    def __init__(self, solver="closed", l2=0.0, fit_intercept=True, optimizer="sgd", lr=0.1,
                 epochs=500, batch_size=None, schedule=None, seed=0, progress=None, **hyper):
        super().__init__(l2=l2, fit_intercept=fit_intercept, optimizer=optimizer, lr=lr,
                         epochs=epochs, batch_size=batch_size, schedule=schedule, seed=seed,
                         progress=progress, **hyper)
        self.solver = solver

    def _loss_and_grad(self, params, batch):
        X, y = batch
        n = X.shape[0]
        w = params["coef"]
        r = self._scores(params, X) - y                   # residuals r = Xw + b - y
        loss = 0.5 * float(r @ r) / n + 0.5 * self.l2 * float(w @ w)
        grads = {"coef": X.T @ r / n + self.l2 * w}        # X^T r / n + lambda w
        if "intercept" in params:
            grads["intercept"] = r.mean(keepdims=True)     # 1^T r / n
        return loss, grads

    def fit(self, X, y):
        """Fit on ``X`` (n, d) and ``y`` (n,); returns ``self``."""
        check_choice("solver", self.solver, self.SOLVERS)
        self._check_hyper()
        X, y = check_Xy(X, y, **_REGRESSION)
        if self.solver == "closed":
            return self._fit_closed(X, y.astype(X.dtype))
        if self.solver == "gd":
            if self.batch_size is not None:
                raise ValueError(
                    f"solver='gd' is full-batch gradient descent, but batch_size="
                    f"{self.batch_size!r} was given: use solver='sgd' for mini-batches."
                )
            return self._fit_gradient(X, y)
        batch = 32 if self.batch_size is None else self.batch_size
        return self._fit_gradient(X, y, batch_size=batch)

    def _fit_closed(self, X, y):
        n, d = X.shape
        if self.fit_intercept:
            x_mean, y_mean = X.mean(axis=0), y.mean()
            Xc, yc = X - x_mean, y - y_mean
        else:
            Xc, yc = X, y
        if self.l2 == 0:
            w = xp.linalg.lstsq(Xc, yc, rcond=None)[0]                  # min ||Xc w - yc||
        else:
            A = Xc.T @ Xc + n * self.l2 * xp.eye(d, dtype=X.dtype)     # X^T X + n lambda I
            w = xp.linalg.solve(A, Xc.T @ yc)
        params = {"coef": w}
        if self.fit_intercept:
            params["intercept"] = (y_mean - x_mean @ w).reshape(1)      # b = ybar - xbar^T w
        self.history_ = None
        self.n_iter_ = 0
        self._set_fitted(params, d)
        return self

    def predict(self, X):
        r"""Predictions :math:`\hat y = Xw + b`, shape (n,)."""
        return self.decision_function(X)

    def score(self, X, y) -> float:
        r"""The coefficient of determination :math:`R^2` on ``(X, y)``."""
        self._check_fitted()
        X, y = check_Xy(X, y, self.n_features_in_, **_REGRESSION)
        return r2(y.astype(X.dtype), self.predict(X))


class _Classifier(_LinearModel):
    """Label handling shared by the classifiers."""

    def _targets(self, y, X, fitting: bool):
        if fitting:
            classes, idx = encode_labels(y)
            self._check_classes(classes)
            self.classes_ = classes
            return idx
        return self._label_index(y)

    def _label_index(self, y):
        """The index of each label of ``y`` in ``classes_``; unknown labels are an error."""
        if y.dtype.kind != self.classes_.dtype.kind and not (
                y.dtype.kind in "iufb" and self.classes_.dtype.kind in "iufb"):
            raise TypeError(f"y holds {y.dtype} labels but the model was fitted on "
                            f"{self.classes_.dtype} labels {to_host(self.classes_).tolist()}.")
        idx = xp.searchsorted(self.classes_, y)
        idx = xp.clip(idx, 0, self.classes_.shape[0] - 1)
        known = self.classes_[idx] == y
        if not bool(known.all()):
            unknown = sorted(set(to_host(y[~known]).tolist()))
            raise ValueError(
                f"y holds labels the model was not fitted on: {unknown[:10]}; known labels: "
                f"{to_host(self.classes_).tolist()}."
            )
        return idx

    def _check_classes(self, classes):
        pass

    def fit(self, X, y):
        """Fit on ``X`` (n, d) and labels ``y`` (n,); returns ``self``."""
        self._check_hyper()
        X, y = check_Xy(X, y)
        self.params_ = None
        return self._fit_gradient(X, y, batch_size=self.batch_size)

    def score(self, X, y) -> float:
        """The accuracy (fraction of correct labels) on ``(X, y)``.

        A label of ``y`` the model was not fitted on is an error (naming it), not a
        silent miss.
        """
        self._check_fitted()
        X, y = check_Xy(X, y, self.n_features_in_)
        self._label_index(y)
        return float((self.predict(X) == y).mean())


class LogisticRegression(_Classifier):
    r"""Binary logistic regression (Cox 1958) trained by gradient descent.

    With the labels mapped to :math:`t_i \in \{0, 1\}` (the second of the two
    sorted labels is 1), the model says :math:`P(t = 1 \mid x) = \sigma(z)`,
    :math:`z = w^\top x + b`, and minimises the mean cross-entropy plus an
    optional L2 penalty:

    .. math::

        L(w, b) = \frac{1}{n} \sum_i \big[\log(1 + e^{z_i}) - t_i z_i\big]
                  + \frac{\lambda}{2} \lVert w \rVert^2,

    .. math::

        \nabla_w L = \frac{1}{n} X^\top (\sigma(z) - t) + \lambda w, \qquad
        \frac{\partial L}{\partial b} = \frac{1}{n} \sum_i (\sigma(z_i) - t_i).

    The loss is convex; its Hessian is at most :math:`\tfrac14 X^\top X / n +
    \lambda I`, so gradient descent is stable for ``lr < 8 / L_X`` with
    :math:`L_X` the largest eigenvalue of :math:`X^\top X / n`.

    Parameters
    ----------
    l2 : float, default 0.0
    fit_intercept : bool, default True
    optimizer, lr (default 0.1), epochs (default 200), batch_size (None: full batch),
    schedule, seed, progress, **hyper
        As in :class:`gdlib.train.train`.

    Attributes
    ----------
    classes_ : array of the two labels
    coef_ : array (n_features,)
    intercept_ : float
    history_, n_iter_
    """

    def __init__(self, l2=0.0, fit_intercept=True, optimizer="sgd", lr=0.1, epochs=200,
                 batch_size=None, schedule=None, seed=0, progress=None, **hyper):
        super().__init__(l2=l2, fit_intercept=fit_intercept, optimizer=optimizer, lr=lr,
                         epochs=epochs, batch_size=batch_size, schedule=schedule, seed=seed,
                         progress=progress, **hyper)

    def _check_classes(self, classes):
        if classes.shape[0] != 2:
            raise ValueError(
                f"LogisticRegression is binary but y has {classes.shape[0]} labels "
                f"({to_host(classes).tolist()}); use SoftmaxRegression for more classes."
            )

    def _loss_and_grad(self, params, batch):
        X, t = batch
        n = X.shape[0]
        w = params["coef"]
        z = self._scores(params, X)
        t = t.astype(X.dtype)
        loss = float((xp.logaddexp(0.0, z) - t * z).mean()) + 0.5 * self.l2 * float(w @ w)
        e = sigmoid(z) - t                                   # sigma(z) - t
        grads = {"coef": X.T @ e / n + self.l2 * w}
        if "intercept" in params:
            grads["intercept"] = e.mean(keepdims=True)
        return loss, grads

    def predict_proba(self, X):
        r"""Probabilities of the two classes, shape (n, 2): :math:`[1 - \sigma(z), \sigma(z)]`."""
        p = sigmoid(self.decision_function(X))
        return xp.stack([1.0 - p, p], axis=1)

    def predict(self, X):
        """The more probable label of each row (``classes_[1]`` where :math:`z > 0`)."""
        z = self.decision_function(X)
        return self.classes_[(z > 0).astype(xp.int64)]


class SoftmaxRegression(_Classifier):
    r"""Multinomial logistic (softmax) regression trained by gradient descent.

    With classes :math:`0, \dots, k-1`, scores :math:`Z = XW + b` (:math:`W` of
    shape (d, k)) and :math:`P = \mathrm{softmax}(Z)` row by row (Bridle 1990),
    the loss is the mean cross-entropy plus an optional L2 penalty; with
    :math:`Y` the one-hot targets,

    .. math::

        L(W, b) = -\frac{1}{n} \sum_i \log P_{i, t_i}
                  + \frac{\lambda}{2} \lVert W \rVert_F^2, \qquad
        \nabla_W L = \frac{1}{n} X^\top (P - Y) + \lambda W, \qquad
        \nabla_b L = \frac{1}{n} \mathbf{1}^\top (P - Y).

    Parameters
    ----------
    l2 : float, default 0.0
    fit_intercept : bool, default True
    optimizer, lr (default 0.1), epochs (default 200), batch_size, schedule, seed,
    progress, **hyper
        As in :class:`gdlib.train.train`.

    Attributes
    ----------
    classes_ : array (k,)
    coef_ : array (n_features, k)
    intercept_ : array (k,)
    history_, n_iter_
    """

    def __init__(self, l2=0.0, fit_intercept=True, optimizer="sgd", lr=0.1, epochs=200,
                 batch_size=None, schedule=None, seed=0, progress=None, **hyper):
        super().__init__(l2=l2, fit_intercept=fit_intercept, optimizer=optimizer, lr=lr,
                         epochs=epochs, batch_size=batch_size, schedule=schedule, seed=seed,
                         progress=progress, **hyper)

    def _n_outputs(self):
        classes = getattr(self, "classes_", None)
        if classes is None:
            raise NotFittedError("SoftmaxRegression does not know its classes: call fit first.")
        return int(classes.shape[0])

    def _loss_and_grad(self, params, batch):
        X, t = batch
        n = X.shape[0]
        W = params["coef"]
        logp = log_softmax(self._scores(params, X))
        rows = xp.arange(n)
        loss = -float(logp[rows, t].mean()) + 0.5 * self.l2 * float((W * W).sum())
        E = xp.exp(logp)                                     # P
        E[rows, t] -= 1.0                                    # P - Y
        grads = {"coef": X.T @ E / n + self.l2 * W}
        if "intercept" in params:
            grads["intercept"] = E.mean(axis=0)
        return loss, grads

    def predict_proba(self, X):
        """Class probabilities, shape (n, k), columns in the order of ``classes_``."""
        return xp.exp(log_softmax(self.decision_function(X)))

    def predict(self, X):
        """The most probable label of each row."""
        Z = self.decision_function(X)
        return self.classes_[xp.argmax(Z, axis=1)]

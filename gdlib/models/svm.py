r"""A linear support vector machine: hinge loss and L2, by sub-gradients or Pegasos.

The soft-margin SVM of Cortes and Vapnik (1995), written as regularised risk
minimisation with :math:`y_i \in \{-1, +1\}` and :math:`f(x) = w^\top x + b`:

.. math::

    J(w, b) = \frac{\lambda}{2} \lVert w \rVert^2
              + \frac{1}{n} \sum_{i=1}^n \max\big(0,\ 1 - y_i f(x_i)\big),
    \qquad \lambda = \frac{1}{C n},

which is scikit-learn's / LIBLINEAR's :math:`\tfrac12\lVert w\rVert^2 + C \sum_i
\max(0, 1 - y_i f(x_i))` divided by :math:`C n`. The hinge is not differentiable
at :math:`y f = 1`; a sub-gradient is

.. math::

    g_w = \lambda w - \frac{1}{|B|} \sum_{i \in B,\ y_i f(x_i) < 1} y_i x_i,
    \qquad
    g_b = -\frac{1}{|B|} \sum_{i \in B,\ y_i f(x_i) < 1} y_i .

Sources
-------
- C. Cortes and V. Vapnik (1995), "Support-vector networks", Machine Learning
  20, 273-297.
- N. Z. Shor (1962-1985): the sub-gradient method (*Minimization Methods for
  Non-Differentiable Functions*, Springer 1985).
- S. Shalev-Shwartz, Y. Singer and N. Srebro (2007), "Pegasos: Primal Estimated
  sub-GrAdient SOlver for SVM", ICML; extended with A. Cotter in Mathematical
  Programming 127 (2011), 3-30.
"""

from __future__ import annotations

import math

from ..backend import to_host, xp
from ..optim.base import check_nonnegative, check_positive
from ._base import check_bool, check_choice, check_Xy
from .linear import _Classifier

__all__ = ["LinearSVM"]


class LinearSVM(_Classifier):
    r"""A linear SVM (hinge loss + L2) trained by sub-gradient descent or Pegasos.

    Minimises :math:`J(w, b)` of the module docstring, with :math:`\lambda = 1/(Cn)`.

    ``solver="subgradient"``
        Sub-gradient descent with any gdlib optimizer and schedule (full batch by
        default, mini-batches with ``batch_size``); the intercept is not penalised.
        A constant step leaves the iterates bouncing in a band around the
        optimum whose width shrinks with ``lr``; a decaying schedule
        (``schedule="inversetime", gamma=...`` via a callable) converges.
    ``solver="pegasos"``
        Shalev-Shwartz, Singer and Srebro (2007): at step :math:`t` take a batch
        :math:`A_t` of ``batch_size`` examples (the paper's :math:`k`; the
        original algorithm has :math:`k = 1`, None takes all :math:`n`),
        step :math:`\eta_t = 1/(\lambda t)`,

        .. math::

            w \leftarrow (1 - \eta_t \lambda)\, w + \frac{\eta_t}{|A_t|}
                \sum_{i \in A_t,\ y_i f(x_i) < 1} y_i x_i,

        and, with ``projection=True``, project onto the ball
        :math:`\lVert w \rVert \le 1/\sqrt\lambda`, which holds the optimum:
        :math:`w \leftarrow \min(1, \frac{1/\sqrt\lambda}{\lVert w\rVert})\, w`.
        This is SGD on :math:`J` with the rate :math:`1/(\lambda t)`, run here by
        :func:`gdlib.train.train` with ``SGD`` and ``InverseTimeLR(gamma=1)``;
        the projection happens after each step. As the paper suggests, the
        intercept is an extra constant feature, so it is penalised (as in
        scikit-learn's ``LinearSVC``). The examples are visited in a fresh random
        order each epoch (sampling without replacement), a common variant of the
        paper's sampling with replacement. The optimizer, ``lr`` and
        ``schedule`` are fixed by the algorithm and cannot be set.

    Parameters
    ----------
    C : float, default 1.0
        The inverse regularisation strength (scikit-learn's ``C``).
    solver : {"subgradient", "pegasos"}, default "subgradient"
    fit_intercept : bool, default True
    projection : bool, default True
        Pegasos only: the projection step.
    optimizer : default "sgd"
    lr : float, optional
        Sub-gradient solver only; 0.1 when None.
    epochs : int, default 1000
        Passes over the data. With ``batch_size=1`` each epoch is ``n`` steps, so
        far fewer epochs (20-100) do.
    batch_size : int, optional
        Examples per step; None is the full batch (Pegasos with :math:`k = n`,
        deterministic and the closest to the optimum in a given time on small
        data); 1 is the paper's original single-example step.
    schedule, seed, progress, **hyper
        As in :func:`gdlib.train.train`.

    Attributes
    ----------
    classes_ : array of the two labels (the second one is :math:`y = +1`)
    coef_ : array (n_features,)
    intercept_ : float
    margin_ : float
        The width of the margin, :math:`2 / \lVert w \rVert`.
    lam_ : float
        :math:`\lambda = 1/(Cn)`.
    history_, n_iter_
    """

    SOLVERS = ("subgradient", "pegasos")

    def __init__(self, C=1.0, solver="subgradient", fit_intercept=True, projection=True,
                 optimizer="sgd", lr=None, epochs=1000, batch_size=None, schedule=None, seed=0,
                 progress=None, **hyper):
        super().__init__(l2=0.0, fit_intercept=fit_intercept, optimizer=optimizer, lr=lr,
                         epochs=epochs, batch_size=batch_size, schedule=schedule, seed=seed,
                         progress=progress, **hyper)
        self.C = C
        self.solver = solver
        self.projection = projection

    def get_params(self) -> dict:
        out = super().get_params()
        out.pop("l2", None)
        return out

    def _check_classes(self, classes):
        if classes.shape[0] != 2:
            raise ValueError(
                f"LinearSVM is binary but y has {classes.shape[0]} labels "
                f"({to_host(classes).tolist()}); train one SVM per class (one-vs-rest) "
                "or use SoftmaxRegression."
            )

    def _lam(self, n: int) -> float:
        return 1.0 / (check_positive("C", self.C) * n)

    def _prepare(self, X):
        if getattr(self, "params_", None) is None:   # loss() before fit: lambda from this X
            self.lam_ = self._lam(X.shape[0])

    def _loss_and_grad(self, params, batch):
        X, t = batch
        n = X.shape[0]
        lam = self.lam_
        w = params["coef"]
        y = 2.0 * t.astype(X.dtype) - 1.0                   # labels in {-1, +1}
        yf = y * self._scores(params, X)
        active = (yf < 1.0).astype(X.dtype)                 # inside the margin or wrong
        hinge = float((active * (1.0 - yf)).mean())
        ay = active * y
        grads = {"coef": lam * w - X.T @ ay / n}             # lambda w - sum y_i x_i / |B|
        penalty = float(w @ w)
        if "intercept" in params:
            grads["intercept"] = -ay.mean(keepdims=True)
            if self.solver == "pegasos":                     # b is a constant feature
                b = params["intercept"]
                grads["intercept"] = grads["intercept"] + lam * b
                penalty += float(b @ b)
        return 0.5 * lam * penalty + hinge, grads

    def fit(self, X, y):
        """Fit on ``X`` (n, d) and two-valued labels ``y`` (n,); returns ``self``."""
        check_choice("solver", self.solver, self.SOLVERS)
        C = check_positive("C", self.C)          # a NumPy scalar works too
        check_bool("projection", self.projection)
        self._check_hyper()
        X, y = check_Xy(X, y)
        self.params_ = None
        self.lam_ = 1.0 / (C * X.shape[0])
        if self.solver == "subgradient":
            return self._fit_subgradient(X, y)
        return self._fit_pegasos(X, y)

    def _fit_subgradient(self, X, y):
        lr = self.lr
        self.lr = 0.1 if lr is None else lr
        try:
            return self._fit_gradient(X, y, batch_size=self.batch_size)
        finally:
            self.lr = lr

    def _fit_pegasos(self, X, y):
        fixed = {"lr": self.lr, "schedule": self.schedule}
        given = [k for k, v in fixed.items() if v is not None] + sorted(self.hyper)
        if self.optimizer != "sgd":
            given.insert(0, "optimizer")
        if given:
            raise ValueError(
                f"solver='pegasos' fixes its own step 1/(lambda t) and update, so "
                f"{', '.join(given)} cannot be set; use solver='subgradient' to choose them."
            )
        from ..backend import blas_threads
        from ..schedules import InverseTimeLR
        from ..train import train

        t = self._targets(y, X, fitting=True)
        params = self._init_params(X.shape[1], X.dtype)
        lam = self.lam_
        radius = 1.0 / math.sqrt(lam)

        def project(step, loss):
            # w <- min(1, (1/sqrt(lambda)) / ||w||) w, over (w, b) together
            sq = sum(float(p.reshape(-1) @ p.reshape(-1)) for p in params.values())
            if sq > radius * radius:
                scale = radius / math.sqrt(sq)
                for p in params.values():
                    p *= scale
            return False

        with blas_threads():
            history = train(params, self._loss_and_grad, "sgd", data=(X, t),
                            epochs=self.epochs, batch_size=self.batch_size,
                            schedule=lambda opt: InverseTimeLR(opt, gamma=1.0),  # 1/(lambda t)
                            seed=self.seed, progress=self.progress, lr=1.0 / lam,
                            callback=project if self.projection else None,
                            divergence_factor=1e12)
        self.history_ = history
        self.n_iter_ = int(history.steps)
        self._set_fitted(params, X.shape[1])
        return self

    # -- predictions and the margin -----------------------------------------

    def predict(self, X):
        """``classes_[1]`` where :math:`f(x) > 0`, else ``classes_[0]``."""
        z = self.decision_function(X)
        return self.classes_[(z > 0).astype(xp.int64)]

    @property
    def margin_(self) -> float:
        r"""The margin's width :math:`2/\lVert w\rVert` (the distance between :math:`f = \pm 1`)."""
        w = self.coef_
        norm = math.sqrt(float(w @ w))
        return math.inf if norm == 0.0 else 2.0 / norm

    def support_mask(self, X, y, tol=1e-6):
        r"""True for the points on or inside the margin, :math:`y_i f(x_i) \le 1 + \text{tol}`.

        These (and the misclassified points among them) are the support vectors:
        the only points whose hinge loss has a non-zero sub-gradient, so the only
        ones that shape :math:`w`.
        """
        self._check_fitted()
        tol = check_nonnegative("tol", tol)
        X, y = check_Xy(X, y, self.n_features_in_)
        t = self._targets(y, X, fitting=False)
        signed = 2.0 * t.astype(X.dtype) - 1.0
        return signed * self.decision_function(X) <= 1.0 + tol

    def hinge_loss(self, X, y) -> float:
        """The objective :math:`J(w, b)` at the fitted parameters (λ from the training set)."""
        return self.loss(X, y)

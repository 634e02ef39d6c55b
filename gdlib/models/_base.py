"""What the models share: input checks, label encoding and the training call.

Every model in :mod:`gdlib.models` has the scikit-learn shape: hyper-parameters
in ``__init__``, ``fit(X, y) -> self``, ``predict(X)``, ``score(X, y)``, learned
attributes ending in ``_``. The models trained by gradient descent hand their
parameters (a dict of arrays) and a ``loss_and_grad`` function to
:func:`gdlib.train.train`, so any gdlib optimizer and schedule can train them.
"""

from __future__ import annotations

from numbers import Integral

import numpy

from ..backend import asarray, to_host, xp
from ..errors import unknown_name_error
from ..optim.base import check_lr, check_nonnegative

__all__ = ["NotFittedError", "check_X", "check_Xy", "check_bool", "check_count",
           "GradientModel"]


class NotFittedError(ValueError, AttributeError):
    """A model was used before :meth:`fit` was called."""


def _float_dtype(a):
    """Keep a floating dtype (float32 stays float32); anything else becomes float64."""
    return a.dtype if a.dtype.kind == "f" else xp.float64


def _rectangular(name: str, a):
    """``a`` as a backend array; a ragged list is named instead of NumPy's message."""
    try:
        return asarray(a)
    except ValueError as err:
        raise ValueError(f"{name} is not a rectangular array: its rows have different "
                         f"lengths ({err}).") from err


def check_X(X, n_features: int | None = None, name: str = "X"):
    """``X`` as a 2-D floating array of the current backend, with a clear error if not.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_features : int, optional
        The number of columns the fitted model expects.
    name : str
        The argument's name, for the messages.
    """
    if X is None:
        raise TypeError(f"{name} is None: pass an array of shape (n_samples, n_features).")
    X = _rectangular(name, X)
    if X.ndim != 2:
        fix = (" For a single feature use X.reshape(-1, 1); for a single example "
               "X.reshape(1, -1).") if X.ndim == 1 else ""
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); got an array "
            f"with shape {tuple(X.shape)}.{fix}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {tuple(X.shape)}): give at least one example.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {tuple(X.shape)}): give at least one "
                         "feature.")
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype} (convert every "
                        "column to numbers first).")
    X = X.astype(_float_dtype(X), copy=False)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features (columns) but the model was fitted on "
            f"{n_features}: transform new data exactly as the training data."
        )
    if not bool(xp.isfinite(X).all()):
        bad = int((~xp.isfinite(X)).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or infinity (in {bad} of {X.shape[0]} rows): "
                         "clean or impute the data first.")
    return X


def check_y_values(y, name: str = "y", numeric: bool = False):
    """Refuse NaN/inf in ``y`` (and, when ``numeric``, anything but real numbers)."""
    kind = y.dtype.kind
    if numeric and kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers (the regression targets); got dtype "
                        f"{y.dtype}.")
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers or labels; got complex dtype {y.dtype}.")
    if kind == "f" and not bool(xp.isfinite(y).all()):
        bad = int((~xp.isfinite(y)).sum())
        raise ValueError(f"{name} contains NaN or infinity ({bad} of {y.shape[0]} entries): "
                         "drop or fix those examples first.")
    return y


def check_Xy(X, y, n_features: int | None = None, numeric_y: bool = False):
    """``X`` (2-D) and ``y`` (1-D, one entry per row of ``X``) as backend arrays.

    ``y`` must be finite; with ``numeric_y`` (regression) it must hold real numbers.
    """
    X = check_X(X, n_features)
    if y is None:
        raise TypeError("y is None: pass the targets, one per row of X.")
    if isinstance(y, str):
        raise TypeError(f"y must be an array of targets, one per row of X, not the string "
                        f"{y!r}.")
    y = _rectangular("y", y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise ValueError(
            f"y must be a 1-D array with one target per example; got shape {tuple(y.shape)}."
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has {y.shape[0]} entries: give one target "
            "per example (row of X)."
        )
    return X, check_y_values(y, numeric=numeric_y)


def check_bool(name: str, value) -> bool:
    """``value`` if it is ``True`` or ``False`` (a NumPy bool too); else a TypeError.

    Strings such as ``"False"`` are refused: they are truthy, and would mean the opposite.
    """
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__}).")


def check_count(name: str, value, minimum: int = 1, allow_none: bool = False):
    """``value`` as an int ``>= minimum`` (None passes when ``allow_none``).

    Floats are refused, even whole ones such as 3.0, so that 2.9 is never truncated to 2.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a whole number (an int), got {value!r} "
                        f"({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"Invalid {name}={value!r}: it must be >= {minimum}.")
    return int(value)


def check_choice(kind: str, value, choices):
    """``value`` if it is one of ``choices``; else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise unknown_name_error(kind, value, choices)
    return value


def encode_labels(y, min_classes: int = 2):
    """The sorted distinct labels of ``y`` and ``y`` as indices 0..k-1 into them."""
    classes = xp.unique(y)
    if classes.shape[0] < min_classes:
        raise ValueError(
            f"y has {classes.shape[0]} distinct label(s) ({to_host(classes).tolist()}); "
            f"a classifier needs at least {min_classes}."
        )
    return classes, xp.searchsorted(classes, y)


class GradientModel:
    """Base of the models trained with :func:`gdlib.train.train`.

    Parameters
    ----------
    optimizer : str, Optimizer class or factory, default "sgd"
        The update rule, as :func:`gdlib.train.make_optimizer` accepts it
        (``"sgd"``, ``"adam"``, ``gdlib.optim.Adam``, ...).
    lr : float
        The learning rate (the optimizer's ``lr``).
    epochs : int
        Passes over the training data.
    batch_size : int or None, default None
        Examples per step; None is the full batch (gradient descent).
    schedule : None, str, callable or scheduler
        A learning-rate schedule, as :func:`gdlib.train.make_schedule` accepts it.
    seed : int, default 0
        Seed of the shuffling of the examples (and of any random initialisation).
    progress : bool, optional
        Progress bar; by default only when someone is watching.
    **hyper
        More hyper-parameters for the optimizer (``momentum=0.9``, ``betas=...``).
    """

    def __init__(self, optimizer="sgd", lr=0.1, epochs=100, batch_size=None, schedule=None,
                 seed=0, progress=None, **hyper):
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule
        self.seed = seed
        self.progress = progress
        self.hyper = hyper

    # -- helpers for subclasses ---------------------------------------------

    def _check_hyper(self):
        """Validate the hyper-parameters shared by all models (called by ``fit``)."""
        if self.lr is not None:
            check_lr(self.lr)
        check_count("epochs", self.epochs)
        check_count("batch_size", self.batch_size, allow_none=True)
        check_count("seed", self.seed, minimum=0, allow_none=True)
        if self.progress is not None:
            check_bool("progress", self.progress)
        if hasattr(self, "l2"):
            check_nonnegative("l2", self.l2)
        if hasattr(self, "fit_intercept"):
            check_bool("fit_intercept", self.fit_intercept)

    def _check_fitted(self):
        if getattr(self, "params_", None) is None:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(X, y) first."
            )

    def _train(self, params, loss_and_grad, X, y, batch_size=None, **extra):
        """Run :func:`gdlib.train.train` on ``params`` (a dict, updated in place)."""
        from ..backend import blas_threads
        from ..train import train

        hyper = dict(self.hyper)
        if self.lr is not None:
            hyper.setdefault("lr", self.lr)
        hyper.update(extra)
        # One BLAS thread: mini-batch products are small, and extra threads only
        # fight over the cores (a bag-of-words logistic regression ran 60x slower
        # with two OpenBLAS threads on a busy 2-core machine).
        with blas_threads():
            history = train(params, loss_and_grad, self.optimizer, data=(X, y),
                            epochs=self.epochs, batch_size=batch_size, schedule=self.schedule,
                            seed=self.seed, progress=self.progress, **hyper)
        self.history_ = history
        self.n_iter_ = int(history.steps)
        return history

    def get_params(self) -> dict:
        """The constructor's hyper-parameters, as a dict (scikit-learn's name)."""
        names = [k for k in vars(self) if not k.endswith("_") and k != "hyper"]
        out = {k: getattr(self, k) for k in names}
        out.update(self.hyper)
        return out

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({shown})"


def host_float(a) -> float:
    """A 0-d or one-element backend array as a Python float."""
    return float(numpy.asarray(to_host(a)).reshape(-1)[0])

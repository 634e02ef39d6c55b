r"""Small tabular datasets that ship with scikit-learn, split and scaled for the course.

Three real datasets load with no download, because scikit-learn's wheel bundles them:

- ``load_diabetes``: 442 patients, 10 baseline measurements, a quantitative measure of
  disease progression one year later (Efron, Hastie, Johnstone and Tibshirani, 2004,
  "Least Angle Regression"). Regression.
- ``load_breast_cancer``: 569 fine-needle aspirates, 30 features of the cell nuclei,
  malignant (0) or benign (1) (Street, Wolberg and Mangasarian, 1993; the Wisconsin
  Diagnostic Breast Cancer data). Binary classification.
- ``load_digits``: 1,797 handwritten digits as 8x8 images with 17 grey levels (Alpaydin and
  Kaynak, 1998; UCI "Optical Recognition of Handwritten Digits"). Ten classes.

Each loader returns a :class:`Split`. Features are standardised with a
:class:`StandardScaler` fitted on the training split only, so no statistic of the test
split leaks into training: the test features then have a mean near 0, not exactly 0.

scikit-learn is imported inside the loaders, never when :mod:`gdlib` is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from .. import backend

__all__ = [
    "Split",
    "StandardScaler",
    "train_test_split",
    "load_diabetes",
    "load_breast_cancer",
    "load_digits",
]


@dataclass(frozen=True)
class Split:
    """A train/test split of one dataset.

    Attributes
    ----------
    X_train, X_test : array
        Features, shape ``(n_train, d)`` and ``(n_test, d)`` (or ``(n, 1, 8, 8)`` for
        digit images). float64 NumPy arrays unless the loader was asked otherwise.
    y_train, y_test : array
        Targets: float64 for regression, int64 class labels for classification.
    feature_names : list of str
        One name per feature column (per pixel for the digits).
    target_names : list of str
        The class names (index = label), or ``["target"]`` for regression.
    scaler : StandardScaler or None
        The scaler fitted on ``X_train`` (None when the features were not standardised);
        ``scaler.transform(new_X)`` prepares new data the same way.
    description : str
        A one-line description with the source.
    """

    X_train: object
    X_test: object
    y_train: object
    y_test: object
    feature_names: list = field(default_factory=list)
    target_names: list = field(default_factory=list)
    scaler: StandardScaler | None = None
    description: str = ""

    @property
    def n_features(self) -> int:
        """The number of features per example (product of the trailing dimensions)."""
        return int(math.prod(self.X_train.shape[1:]))

    def to_device(self) -> Split:
        """The same split with the four arrays moved to the current backend (NumPy or CuPy)."""
        return Split(backend.asarray(self.X_train), backend.asarray(self.X_test),
                     backend.asarray(self.y_train), backend.asarray(self.y_test),
                     self.feature_names, self.target_names, self.scaler, self.description)

    def __repr__(self) -> str:
        return (f"Split(X_train={tuple(self.X_train.shape)}, X_test={tuple(self.X_test.shape)}, "
                f"y_train={tuple(self.y_train.shape)}, y_test={tuple(self.y_test.shape)}, "
                f"{len(self.feature_names)} features, target_names={self.target_names[:10]})")


# ----------------------------------------------------------------------------
# Checks


def _check_bool(name: str, value) -> bool:
    """``value`` if it is True or False; a string such as "False" is refused (it is truthy)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__}).")


def _checked_array(where: str, name: str, X):
    """``X`` as an array of the backend it lives on: real numbers, all finite."""
    if X is None or isinstance(X, str):
        raise TypeError(f"{where}: {name} must be an array of numbers, got {X!r}.")
    xp = backend.array_module(X)
    try:
        X = xp.asarray(X)
    except (TypeError, ValueError) as err:  # ragged lists
        raise ValueError(f"{where}: {name} is not a rectangular array of numbers ({err}).") \
            from err
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{where}: {name} must hold real numbers, got dtype {X.dtype}.")
    if X.dtype.kind == "f" and not bool(xp.isfinite(X).all()):
        bad = int((~xp.isfinite(X)).sum())
        raise ValueError(f"{where}: {name} contains NaN or infinity ({bad} entries): clean or "
                         "impute the data first.")
    return X


def _check_float_dtype(dtype):
    """``dtype`` as a NumPy floating dtype; an integer dtype would truncate the features."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype={dtype!r} is not a NumPy dtype; use 'float64' or 'float32'.") \
            from err
    if dt.kind != "f":
        raise ValueError(f"dtype={dtype!r} is not a floating dtype: features and targets would "
                         "be truncated; use 'float64' or 'float32'.")
    return dt


# ----------------------------------------------------------------------------
# Scaling


class StandardScaler:
    r"""Standardise features: :math:`z = (x - \mu) / \sigma`, per column.

    :math:`\mu` and :math:`\sigma` (the population standard deviation, ``ddof=0``, as in
    scikit-learn) are estimated by :meth:`fit` on the training data only, then applied
    unchanged to any other data by :meth:`transform`. A constant column (:math:`\sigma = 0`)
    is only centred (its scale is set to 1), as scikit-learn does.

    Works on NumPy and CuPy arrays; the statistics live on the device of the data they were
    fitted on. Fitted attributes: ``mean_``, ``var_``, ``scale_``, ``n_samples_seen_``.
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True):
        self.with_mean = _check_bool("with_mean", with_mean)
        self.with_std = _check_bool("with_std", with_std)

    def fit(self, X) -> StandardScaler:
        """Estimate the mean and standard deviation of each column of ``X`` (axis 0).

        ``X`` must hold real, finite numbers: a NaN or an infinity would make its column's
        statistics NaN and spread to every row transformed later, so it is refused.
        """
        X = _checked_array("StandardScaler.fit", "X", X)
        if X.ndim < 1 or X.shape[0] == 0:
            raise ValueError(f"StandardScaler.fit needs at least one row; got X of shape "
                             f"{tuple(X.shape)}")
        xp = backend.array_module(X)
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)
        X = X.astype(dtype, copy=False)
        self.n_samples_seen_ = int(X.shape[0])
        self.mean_ = X.mean(axis=0)
        self.var_ = X.var(axis=0)
        scale = xp.sqrt(self.var_)
        # A (numerically) constant column keeps scale 1: centring only.
        tiny = 10 * float(np.finfo(dtype).eps) * xp.maximum(xp.abs(self.mean_), 1.0)
        self.scale_ = xp.where(scale <= tiny, xp.ones_like(scale), scale)
        return self

    def _check_fitted(self, X):
        if not hasattr(self, "mean_"):
            raise RuntimeError("This StandardScaler is not fitted yet: call fit(X_train) first.")
        if X.ndim < 1 or tuple(X.shape[1:]) != tuple(self.mean_.shape):
            raise ValueError(f"X has trailing shape {tuple(X.shape[1:])} but the scaler was "
                             f"fitted on data of trailing shape {tuple(self.mean_.shape)}")

    def transform(self, X):
        """``(X - mean_) / scale_`` with the statistics from :meth:`fit` (a new array)."""
        X = _checked_array("StandardScaler.transform", "X", X)
        self._check_fitted(X)
        out = X.astype(self.mean_.dtype, copy=True)
        if self.with_mean:
            out -= self.mean_
        if self.with_std:
            out /= self.scale_
        return out

    def fit_transform(self, X):
        """:meth:`fit` on ``X``, then :meth:`transform` it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Undo :meth:`transform`: ``Z * scale_ + mean_``."""
        Z = _checked_array("StandardScaler.inverse_transform", "Z", Z)
        self._check_fitted(Z)
        out = Z.astype(self.mean_.dtype, copy=True)
        if self.with_std:
            out *= self.scale_
        if self.with_mean:
            out += self.mean_
        return out

    def __repr__(self) -> str:
        fitted = f", fitted on {self.n_samples_seen_} rows" if hasattr(self, "mean_") else ""
        return f"StandardScaler(with_mean={self.with_mean}, with_std={self.with_std}{fitted})"


# ----------------------------------------------------------------------------
# Splitting


def _n_test(n: int, test_size) -> int:
    if isinstance(test_size, (bool, np.bool_)):
        raise TypeError("test_size must be a fraction in (0, 1) or a number of rows, not a bool")
    if isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
    elif not isinstance(test_size, Real):
        raise TypeError(f"test_size must be a fraction in (0, 1) or a number of rows, got "
                        f"{test_size!r} ({type(test_size).__name__}).")
    else:
        t = float(test_size)
        if not 0.0 < t < 1.0:
            raise ValueError(f"test_size={test_size!r}: give a fraction strictly between 0 and "
                             "1 (e.g. 0.2) or a whole number of test rows")
        n_test = math.ceil(t * n)
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} test rows out of {n}: "
                         "both splits must be non-empty")
    return n_test


def train_test_split(*arrays, test_size=0.2, seed=0, stratify=None, shuffle=True):
    """Split arrays into random train and test subsets, reproducibly.

    Parameters
    ----------
    *arrays : array_like
        Arrays (NumPy, CuPy or lists) with the same first dimension ``n``.
    test_size : float or int, default 0.2
        The fraction of rows for the test split (rounded up, as scikit-learn does) or
        their number.
    seed : int, default 0
        Seed of the NumPy generator that draws the permutation: same seed, same split.
    stratify : array_like, optional
        Class labels of length ``n``: each class then has (up to rounding) the same
        proportion in both splits, so a rare class cannot vanish from the test split.
    shuffle : bool, default True
        False keeps the order (the last rows become the test split); no stratification then.

    Returns
    -------
    list
        ``[a_train, a_test, b_train, b_test, ...]``, two entries per input array, in the
        same order as scikit-learn's ``train_test_split``.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    _check_bool("shuffle", shuffle)
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise TypeError(f"seed must be a whole number >= 0 (or None), got {seed!r}.")
    rows = []
    for i, a in enumerate(arrays):
        if isinstance(a, str) or getattr(a, "ndim", 1) == 0 or not hasattr(a, "__len__"):
            raise TypeError(f"arrays[{i}] must be an array or a list with one entry per row, "
                            f"got {type(a).__name__}.")
        rows.append(len(a))
    n = rows[0]
    for i, m in enumerate(rows):
        if m != n:
            raise ValueError(f"array {i} has {m} rows but array 0 has {n}: all arrays "
                             "must have the same first dimension")
    n_test = _n_test(n, test_size)
    if stratify is not None:
        stratify = backend.to_host(stratify)
        if isinstance(stratify, str) or len(stratify) != n:
            raise ValueError(f"stratify must hold one label per row ({n}), got "
                             f"{len(stratify) if hasattr(stratify, '__len__') else stratify!r}.")
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratify needs shuffle=True")
        test_idx = np.arange(n - n_test, n)
        train_idx = np.arange(n - n_test)
    elif stratify is None:
        perm = np.random.default_rng(seed).permutation(n)
        test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    else:
        train_idx, test_idx = _stratified_indices(stratify, n_test, seed)
    out = []
    for a in arrays:
        if isinstance(a, (list, tuple)):
            out.extend([[a[i] for i in train_idx], [a[i] for i in test_idx]])
        else:
            xp = backend.array_module(a)
            out.extend([a[xp.asarray(train_idx)], a[xp.asarray(test_idx)]])
    return out


def _stratified_indices(labels, n_test: int, seed: int):
    labels = np.asarray(labels)
    n = labels.shape[0]
    if labels.ndim != 1:
        raise ValueError(f"stratify must be a 1-D array of labels; got shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("stratify contains NaN or infinity: give one class label per row.")
    classes, y = np.unique(labels, return_inverse=True)
    counts = np.bincount(y)
    if len(classes) > n_test or len(classes) > n - n_test:
        raise ValueError(f"stratify: {len(classes)} classes do not fit in {n_test} test and "
                         f"{n - n_test} training rows; use a larger test_size")
    # Share n_test among classes in proportion to their size (largest remainders).
    quota = counts * n_test / n
    per_class = np.floor(quota).astype(np.int64)
    rest = n_test - per_class.sum()
    order = np.lexsort((-counts, -(quota - per_class)))  # biggest remainder, then biggest class
    per_class[order[:rest]] += 1
    rng = np.random.default_rng(seed)
    test_parts, train_parts = [], []
    for c in range(len(classes)):
        idx = rng.permutation(np.flatnonzero(y == c))
        test_parts.append(idx[:per_class[c]])
        train_parts.append(idx[per_class[c]:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


# ----------------------------------------------------------------------------
# Loaders


def _check_loader(standardize, dtype, device, **flags):
    """Validate the loaders' shared options; return ``dtype`` as a float dtype."""
    for name, value in dict(standardize=standardize, device=device, **flags).items():
        _check_bool(name, value)
    return _check_float_dtype(dtype)


def _finish(X_train, X_test, y_train, y_test, standardize, dtype, device, **names) -> Split:
    scaler = None
    if standardize:
        scaler = StandardScaler().fit(X_train)  # the training split only
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    X_train = np.ascontiguousarray(X_train, dtype=dtype)
    X_test = np.ascontiguousarray(X_test, dtype=dtype)
    split = Split(X_train, X_test, y_train, y_test, scaler=scaler, **names)
    return split.to_device() if device else split


def load_diabetes(test_size=0.2, seed=0, standardize=True, dtype="float64",
                  device=False) -> Split:
    """The diabetes regression data (442 patients, 10 features), split and standardised.

    Ten baseline variables (age, sex, body-mass index, average blood pressure and six blood
    serum measurements s1-s6) and a quantitative measure of disease progression one year
    later (the target, between 25 and 346). Source: Efron, Hastie, Johnstone and Tibshirani
    (2004), "Least Angle Regression", Annals of Statistics 32(2), bundled with scikit-learn.

    Parameters
    ----------
    test_size : float or int, default 0.2
        Fraction (or number) of patients held out.
    seed : int, default 0
        Seed of the split.
    standardize : bool, default True
        Standardise the features with a :class:`StandardScaler` fitted on the training
        split only (the raw, unscaled measurements are used as the starting point). The
        target is left in its original units.
    dtype : str, default "float64"
        Float type of ``X`` and ``y``.
    device : bool, default False
        True moves the arrays to the current backend (CuPy on a GPU).
    """
    dtype = _check_loader(standardize, dtype, device)
    from sklearn import datasets

    data = datasets.load_diabetes(scaled=False)
    X = np.asarray(data.data, dtype=np.float64)
    y = np.asarray(data.target, dtype=dtype)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=seed)
    return _finish(X_train, X_test, y_train, y_test, standardize, dtype, device,
                   feature_names=list(data.feature_names), target_names=["progression"],
                   description="Diabetes progression (Efron et al. 2004), regression")


def load_breast_cancer(test_size=0.2, seed=0, standardize=True, stratify=True,
                       dtype="float64", device=False) -> Split:
    """The Wisconsin diagnostic breast-cancer data (569 cases, 30 features), split and scaled.

    Thirty features of the cell nuclei in a digitised image of a fine-needle aspirate
    (mean, standard error and worst value of ten measurements such as radius and texture);
    label 0 = malignant (212 cases), 1 = benign (357). Source: Street, Wolberg and
    Mangasarian (1993), "Nuclear feature extraction for breast tumor diagnosis", bundled
    with scikit-learn.

    Parameters
    ----------
    test_size, seed, standardize, dtype, device
        As in :func:`load_diabetes`.
    stratify : bool, default True
        Keep the malignant/benign ratio the same in both splits.

    Returns
    -------
    Split
        ``y`` holds int64 labels 0/1; ``target_names == ["malignant", "benign"]``.
    """
    dtype = _check_loader(standardize, dtype, device, stratify=stratify)
    from sklearn import datasets

    data = datasets.load_breast_cancer()
    X = np.asarray(data.data, dtype=np.float64)
    y = np.asarray(data.target, dtype=np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, seed=seed, stratify=y if stratify else None)
    return _finish(X_train, X_test, y_train, y_test, standardize, dtype, device,
                   feature_names=list(data.feature_names),
                   target_names=[str(t) for t in data.target_names],
                   description="Wisconsin diagnostic breast cancer (Street et al. 1993), "
                               "binary classification")


def load_digits(test_size=0.2, seed=0, images=False, standardize=False, stratify=True,
                dtype="float64", device=False) -> Split:
    """The 8x8 handwritten digits (1,797 images, 10 classes), split, pixels in [0, 1].

    Each image is an 8x8 grid of 4x4-pixel blocks counted from 32x32 bitmaps, so each pixel
    is an integer 0-16; here it is divided by 16. Source: Alpaydin and Kaynak (1998), UCI
    "Optical Recognition of Handwritten Digits", bundled with scikit-learn.

    Parameters
    ----------
    test_size, seed, dtype, device
        As in :func:`load_diabetes`.
    images : bool, default False
        False: ``X`` has shape ``(n, 64)`` (a flat vector per image, for linear models and
        MLPs). True: ``X`` has shape ``(n, 1, 8, 8)`` (NCHW, one channel, for a CNN).
    standardize : bool, default False
        Standardise each pixel with statistics of the training split (flat vectors only;
        constant border pixels are only centred).
    stratify : bool, default True
        Keep the class proportions the same in both splits.

    Returns
    -------
    Split
        ``y`` holds int64 labels 0-9; ``target_names == ["0", ..., "9"]``.
    """
    dtype = _check_loader(standardize, dtype, device, stratify=stratify, images=images)
    from sklearn import datasets

    data = datasets.load_digits()
    X = np.asarray(data.data, dtype=np.float64) / 16.0
    y = np.asarray(data.target, dtype=np.int64)
    if images:
        if standardize:
            raise ValueError("load_digits: standardize=True works on flat vectors; use "
                             "images=False, or keep the images in [0, 1]")
        X = X.reshape(-1, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, seed=seed, stratify=y if stratify else None)
    return _finish(X_train, X_test, y_train, y_test, standardize, dtype, device,
                   feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
                   target_names=[str(t) for t in data.target_names],
                   description="Handwritten digits 8x8 (Alpaydin and Kaynak 1998), 10 classes")

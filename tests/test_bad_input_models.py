"""gdlib.models and gdlib.metrics under bad input (issue 11): every error names the argument.

Each case is a call that must fail with a given exception type whose message matches a
pattern naming the parameter; a few properties (hypothesis) check that a NaN or an
infinity anywhere in ``X`` or ``y`` is refused, never fitted.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlib import metrics
from gdlib.models import LinearRegression, LinearSVM, LogisticRegression, SoftmaxRegression

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 1.0], [0.5, 2.0], [1.5, 0.5]])
Y_REG = np.array([1.0, 2.0, 3.0, 4.0, 2.5, 3.5])
Y_BIN = np.array([0, 1, 0, 1, 0, 1])
Y_MULTI = np.array([0, 1, 2, 0, 1, 2])
NAN_X = X.copy()
NAN_X[2, 1] = np.nan
INF_X = X.copy()
INF_X[0, 0] = np.inf


def with_nan(y, i=1):
    y = np.asarray(y, dtype=float).copy()
    y[i] = np.nan
    return y


def fitted(model_cls, y, **kw):
    return model_cls(epochs=2, **kw).fit(X, y)


REGRESSORS = [LinearRegression]
CLASSIFIERS = [LogisticRegression, LinearSVM]
ALL = [LinearRegression, LogisticRegression, SoftmaxRegression, LinearSVM]


def target_for(cls):
    return {LinearRegression: Y_REG, SoftmaxRegression: Y_MULTI}.get(cls, Y_BIN)


# ----------------------------------------------------------------------------
# X and y given to fit


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad_X, exc, match", [
    (NAN_X, ValueError, r"X contains NaN or infinity \(in 1 of 6 rows\)"),
    (INF_X, ValueError, r"X contains NaN or infinity"),
    (X.astype(complex), TypeError, r"X must hold real numbers.*complex"),
    (X.astype(str), TypeError, r"X must hold real numbers"),
    (np.zeros((6, 0)), ValueError, r"X has no columns"),
    (X[:, 0], ValueError, r"X must be a 2-D array.*reshape"),
    (None, TypeError, r"X is None"),
    ([[1.0, 2.0], [3.0]] * 3, ValueError, r"X is not a rectangular array"),
])
def test_fit_refuses_bad_X(cls, bad_X, exc, match):
    with pytest.raises(exc, match=match):
        cls(epochs=2).fit(bad_X, target_for(cls))


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad_y, exc, match", [
    (lambda y: with_nan(y), ValueError, r"y contains NaN or infinity \(1 of 6 entries\)"),
    (lambda y: np.where(np.arange(6) == 0, np.inf, y), ValueError, r"y contains NaN or inf"),
    (lambda y: y.astype(complex), TypeError, r"y must hold real numbers"),
    (lambda y: "abcdef", TypeError, r"y must be an array of targets"),
    (lambda y: y[:4], ValueError, r"X has 6 rows but y has 4"),
    (lambda y: np.stack([y, y], axis=1), ValueError, r"y must be a 1-D array"),
])
def test_fit_refuses_bad_y(cls, bad_y, exc, match):
    with pytest.raises(exc, match=match):
        cls(epochs=2).fit(X, bad_y(target_for(cls)))


def test_regression_targets_must_be_numbers():
    with pytest.raises(TypeError, match=r"y must hold real numbers \(the regression targets\)"):
        LinearRegression().fit(X, np.array(list("abcdef")))


# ----------------------------------------------------------------------------
# Hyper-parameters


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("kw, exc, match", [
    ({"epochs": 2.9}, TypeError, r"epochs must be a whole number.*2\.9"),
    ({"epochs": 0}, ValueError, r"epochs=0.*>= 1"),
    ({"epochs": True}, TypeError, r"epochs must be a whole number"),
    ({"batch_size": 1.5}, TypeError, r"batch_size must be a whole number"),
    ({"batch_size": -4}, ValueError, r"batch_size=-4"),
    ({"seed": 0.5}, TypeError, r"seed must be a whole number"),
    ({"seed": -1}, ValueError, r"seed=-1"),
    ({"progress": "no"}, TypeError, r"progress must be True or False.*'no'"),
    ({"fit_intercept": "False"}, TypeError, r"fit_intercept must be True or False"),
    ({"lr": float("nan")}, ValueError, r"lr must be a number, got NaN"),
    ({"lr": -0.1}, ValueError, r"learning rate lr=-0\.1"),
    ({"lr": "0.1"}, TypeError, r"lr must be a real number"),
])
def test_hyper_parameters_are_validated(cls, kw, exc, match):
    if cls is LinearSVM and "lr" in kw:
        kw = dict(kw, solver="subgradient")
    if cls is LinearRegression and "batch_size" in kw:
        kw = dict(kw, solver="sgd")
    with pytest.raises(exc, match=match):
        cls(**kw).fit(X, target_for(cls))


@pytest.mark.parametrize("cls", [LinearRegression, LogisticRegression, SoftmaxRegression])
@pytest.mark.parametrize("l2, exc, match", [
    (-1.0, ValueError, r"Invalid l2=-1\.0"),
    (float("nan"), ValueError, r"l2 must be a number, got NaN"),
    (float("inf"), ValueError, r"Invalid l2=inf"),
    ("0.1", TypeError, r"l2 must be a real number"),
])
def test_l2_is_validated(cls, l2, exc, match):
    with pytest.raises(exc, match=match):
        cls(l2=l2, epochs=2).fit(X, target_for(cls))


@pytest.mark.parametrize("C, exc, match", [
    (0.0, ValueError, r"Invalid C=0\.0"),
    (-2, ValueError, r"Invalid C=-2"),
    (float("inf"), ValueError, r"Invalid C=inf"),
    (float("nan"), ValueError, r"C must be a number, got NaN"),
    ("1.0", TypeError, r"C must be a real number"),
    (True, TypeError, r"C must be a real number"),
])
def test_svm_C_is_validated(C, exc, match):
    with pytest.raises(exc, match=match):
        LinearSVM(C=C, epochs=2).fit(X, Y_BIN)


@pytest.mark.parametrize("C", [np.float32(0.5), np.float64(0.5), np.int64(2), 1])
def test_svm_C_accepts_numpy_scalars(C):
    model = LinearSVM(C=C, epochs=5).fit(X, Y_BIN)
    assert model.lam_ == pytest.approx(1.0 / (float(C) * len(X)))


def test_svm_projection_must_be_a_bool():
    with pytest.raises(TypeError, match=r"projection must be True or False.*'yes'"):
        LinearSVM(solver="pegasos", projection="yes", epochs=2).fit(X, Y_BIN)


# ----------------------------------------------------------------------------
# predict, score, loss and gradient after fit


@pytest.mark.parametrize("cls", ALL)
def test_predict_refuses_nan_and_wrong_width(cls):
    model = fitted(cls, target_for(cls))
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        model.predict(NAN_X)
    with pytest.raises(ValueError, match=r"X has 3 features .* fitted on 2"):
        model.predict(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", ALL)
def test_score_refuses_nan_y(cls):
    model = fitted(cls, target_for(cls))
    with pytest.raises(ValueError, match=r"y contains NaN or infinity"):
        model.score(X, with_nan(target_for(cls)))


@pytest.mark.parametrize("cls", [LogisticRegression, SoftmaxRegression, LinearSVM])
def test_score_names_labels_the_model_was_not_fitted_on(cls):
    y = target_for(cls)
    model = fitted(cls, y)
    with pytest.raises(ValueError, match=r"labels the model was not fitted on: \[7\]"):
        model.score(X, np.where(np.arange(6) == 3, 7, y))


def test_score_refuses_labels_of_another_kind():
    model = fitted(LogisticRegression, Y_BIN)
    with pytest.raises(TypeError, match=r"y holds <U3 labels but the model was fitted on"):
        model.score(X, np.array(["cat", "dog"] * 3))


def test_score_before_fit_says_so():
    from gdlib.models import NotFittedError

    with pytest.raises(NotFittedError, match=r"call fit"):
        LinearRegression().score(X, Y_REG)


@pytest.mark.parametrize("coef, intercept, exc, match", [
    (np.zeros(3), None, ValueError, r"coef has shape \(3,\) but the model needs \(2,\)"),
    (np.zeros((2, 1)), None, ValueError, r"coef has shape \(2, 1\)"),
    (np.array([np.nan, 0.0]), None, ValueError, r"coef contains NaN or infinity"),
    (np.zeros(2), np.zeros(2), ValueError, r"intercept has shape \(2,\) but the model needs"),
    (np.zeros(2), np.inf, ValueError, r"intercept contains NaN or infinity"),
    (["a", "b"], None, TypeError, r"coef must be an array of real numbers"),
    (None, 0.0, ValueError, r"intercept was given without coef"),
])
def test_loss_at_given_parameters_checks_them(coef, intercept, exc, match):
    with pytest.raises(exc, match=match):
        LinearRegression().loss(X, Y_REG, coef=coef, intercept=intercept)


def test_gradient_refuses_nan_y():
    with pytest.raises(ValueError, match=r"y contains NaN"):
        LinearRegression().gradient(X, with_nan(Y_REG), coef=np.zeros(2))


# ----------------------------------------------------------------------------
# Properties: a NaN or an infinity anywhere is refused, by fit and by score


@settings(max_examples=25, deadline=None)
@given(row=st.integers(0, 5), col=st.integers(0, 1),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]), where=st.sampled_from(["X", "y"]))
def test_any_non_finite_entry_is_refused_and_named(row, col, bad, where):
    Xb, yb = X.copy(), Y_REG.copy()
    if where == "X":
        Xb[row, col] = bad
    else:
        yb[row] = bad
    with pytest.raises(ValueError, match=rf"^{where} contains NaN or infinity"):
        LinearRegression().fit(Xb, yb)
    model = LinearRegression().fit(X, Y_REG)
    with pytest.raises(ValueError, match=rf"^{where} contains NaN or infinity"):
        model.score(Xb, yb)


@settings(max_examples=20, deadline=None)
@given(epochs=st.floats(0.01, 50).filter(lambda v: v != int(v)))
def test_fractional_epochs_are_never_truncated(epochs):
    with pytest.raises(TypeError, match="epochs must be a whole number"):
        LogisticRegression(epochs=epochs).fit(X, Y_BIN)


# ----------------------------------------------------------------------------
# Metrics: NaN policy (an error), shapes, types


GOOD = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize("metric", [metrics.accuracy, metrics.mean_squared_error,
                                    metrics.r2_score, metrics.confusion_matrix])
@pytest.mark.parametrize("y_true, y_pred, exc, match", [
    ([1.0, np.nan, 3.0], GOOD, ValueError, r"y_true contains NaN or infinity \(1 of 3"),
    (GOOD, [np.inf, 2.0, 3.0], ValueError, r"y_pred contains NaN or infinity"),
    (GOOD, GOOD[:2], ValueError, r"y_true has 3 entries but y_pred has 2"),
    (GOOD, np.ones((3, 2)), ValueError, r"y_true and y_pred must be 1-D"),
    ([], [], ValueError, r"y_true and y_pred are empty"),
    (GOOD.astype(complex), GOOD, TypeError, r"y_true holds complex numbers"),
    (None, GOOD, TypeError, r"y_true must be an array of values"),
    (GOOD, "abc", TypeError, r"y_pred must be an array of values"),
])
def test_metrics_refuse_bad_input(metric, y_true, y_pred, exc, match):
    with pytest.raises(exc, match=match):
        metric(y_true, y_pred)


@pytest.mark.parametrize("metric", [metrics.mean_squared_error, metrics.r2_score])
def test_regression_metrics_need_numbers(metric):
    with pytest.raises(TypeError, match=r"y_true must hold real numbers"):
        metric(np.array(["a", "b"]), [1.0, 2.0])


def test_accuracy_still_takes_text_labels():
    assert metrics.accuracy(["cat", "dog"], ["cat", "cat"]) == 0.5


@pytest.mark.parametrize("labels, exc, match", [
    ([0, 1, 1], ValueError, r"labels lists a label twice"),
    ([0.0, np.nan], ValueError, r"labels contains NaN"),
    ([], ValueError, r"labels must be a non-empty 1-D sequence"),
])
def test_confusion_matrix_labels_are_checked(labels, exc, match):
    with pytest.raises(exc, match=match):
        metrics.confusion_matrix([0, 1, 1], [0, 1, 0], labels=labels)


@pytest.mark.parametrize("kw, exc, match", [
    ({"tokenize": "moses"}, ValueError, r"tokenize='moses' is not a sacreBLEU tokenizer"),
    ({"tokenize": None}, ValueError, r"tokenize=None"),
    ({"lowercase": "yes"}, TypeError, r"lowercase must be True or False"),
])
def test_bleu_options_are_checked(kw, exc, match):
    with pytest.raises(exc, match=match):
        metrics.bleu(["a cat"], ["a cat"], **kw)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8))
def test_metrics_never_score_a_non_finite_value(values):
    a = np.array(values)
    if np.isfinite(a).all():
        assert np.isfinite(metrics.mean_squared_error(a, a)) or not np.isfinite(a * a).all()
        return
    for metric in (metrics.accuracy, metrics.mean_squared_error, metrics.r2_score):
        with pytest.raises(ValueError, match="y_true contains NaN or infinity"):
            metric(a, np.zeros_like(a))


@pytest.mark.parametrize("tol, exc, match", [
    (-1e-3, ValueError, r"Invalid tol=-0\.001"),
    (float("nan"), ValueError, r"tol must be a number, got NaN"),
    ("small", TypeError, r"tol must be a real number"),
])
def test_svm_support_mask_checks_tol(tol, exc, match):
    model = fitted(LinearSVM, Y_BIN)
    with pytest.raises(exc, match=match):
        model.support_mask(X, Y_BIN, tol=tol)


@pytest.mark.parametrize("metric", [metrics.accuracy, metrics.confusion_matrix])
def test_label_metrics_refuse_numbers_against_text(metric):
    # 0 == "0" is False for every entry: the score used to be 0.0, or an empty matrix
    with pytest.raises(TypeError, match=r"y_true holds numbers but y_pred holds <U1 values"):
        metric([0, 1, 1], ["0", "1", "1"])

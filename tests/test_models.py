"""gdlib.models against scikit-learn, finite differences and a hand-written Pegasos.

The data come from gdlib.data (scikit-learn's bundled sets, an 80/20 split with
seed 0, standardised with the training split's statistics).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import Ridge
from sklearn.svm import LinearSVC

from gdlib import backend, data
from gdlib.gradcheck import check_gradient
from gdlib.models import (
    LinearRegression,
    LinearSVM,
    LogisticRegression,
    NotFittedError,
    SoftmaxRegression,
)

# ---------------------------------------------------------------------------
# Data (loaded once)


@pytest.fixture(scope="module")
def diabetes():
    return data.load_diabetes(test_size=0.2, seed=0, standardize=True)


@pytest.fixture(scope="module")
def cancer():
    return data.load_breast_cancer(test_size=0.2, seed=0, standardize=True)


@pytest.fixture(scope="module")
def digits():
    return data.load_digits(test_size=0.2, seed=0, standardize=True)


@pytest.fixture(scope="module")
def sklearn_r2(diabetes):
    d = diabetes
    return SkLinearRegression().fit(d.X_train, d.y_train).score(d.X_test, d.y_test)


# ---------------------------------------------------------------------------
# Linear regression


def test_closed_form_equals_sklearn(diabetes):
    d = diabetes
    ours = LinearRegression(solver="closed").fit(d.X_train, d.y_train)
    ref = SkLinearRegression().fit(d.X_train, d.y_train)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(ours.intercept_ - ref.intercept_) < 1e-8
    assert ours.n_iter_ == 0 and ours.history_ is None
    assert abs(ours.score(d.X_test, d.y_test) - ref.score(d.X_test, d.y_test)) < 1e-12


def test_closed_form_ridge_equals_sklearn_ridge(diabetes):
    # Our loss (1/2n)||r||^2 + (l2/2)||w||^2 is Ridge's ||r||^2 + alpha ||w||^2 over 2n.
    d = diabetes
    n = len(d.y_train)
    ours = LinearRegression(solver="closed", l2=0.05).fit(d.X_train, d.y_train)
    ref = Ridge(alpha=0.05 * n).fit(d.X_train, d.y_train)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(ours.intercept_ - ref.intercept_) < 1e-8


def test_closed_form_without_intercept():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(model.coef_, [1.0, -2.0, 0.5], atol=1e-12)
    assert model.intercept_ == 0.0


def test_gd_matches_sklearn_r2_within_1e_3(diabetes, sklearn_r2):
    # The documented setting: plain full-batch gradient descent, lr = 0.4 (< 2/L with
    # L ~ 4.1 for the standardised diabetes features), 1000 steps.
    d = diabetes
    model = LinearRegression(solver="gd", lr=0.4, epochs=1000).fit(d.X_train, d.y_train)
    r2 = model.score(d.X_test, d.y_test)
    assert abs(r2 - sklearn_r2) < 1e-3, (r2, sklearn_r2)
    assert model.n_iter_ == 1000 and len(model.history_.loss) == 1000
    # the loss decreases monotonically for a stable step on a quadratic
    assert np.all(np.diff(model.history_.loss) <= 1e-12)


def test_gd_with_momentum_also_within_1e_3(diabetes, sklearn_r2):
    d = diabetes
    model = LinearRegression(solver="gd", lr=0.1, momentum=0.9, epochs=300)
    r2 = model.fit(d.X_train, d.y_train).score(d.X_test, d.y_test)
    assert abs(r2 - sklearn_r2) < 1e-3


def test_gd_converges_to_the_closed_form(diabetes):
    d = diabetes
    closed = LinearRegression().fit(d.X_train, d.y_train)
    gd = LinearRegression(solver="gd", lr=0.4, epochs=4000).fit(d.X_train, d.y_train)
    np.testing.assert_allclose(gd.coef_, closed.coef_, atol=1e-3 * np.abs(closed.coef_).max())
    assert gd.loss(d.X_train, d.y_train) >= closed.loss(d.X_train, d.y_train) - 1e-9
    # At the closed form the gradient vanishes.
    g = closed.gradient(d.X_train, d.y_train)
    assert np.abs(g["coef"]).max() < 1e-9 and abs(float(g["intercept"][0])) < 1e-9


def test_sgd_is_close_to_sklearn(diabetes, sklearn_r2):
    d = diabetes
    model = LinearRegression(solver="sgd", lr=0.01, epochs=50).fit(d.X_train, d.y_train)
    assert model.n_iter_ == 50 * math.ceil(len(d.y_train) / 32)   # batch size 32 by default
    assert abs(model.score(d.X_test, d.y_test) - sklearn_r2) < 5e-3


def test_any_optimizer_and_schedule(diabetes, sklearn_r2):
    d = diabetes
    model = LinearRegression(solver="sgd", optimizer="adam", lr=2.0, epochs=100, batch_size=64,
                             schedule="cosine")
    assert abs(model.fit(d.X_train, d.y_train).score(d.X_test, d.y_test) - sklearn_r2) < 1e-2
    assert model.history_.lr[0] == pytest.approx(2.0) and model.history_.lr[-1] < 0.01


def test_linear_regression_gradient_finite_differences():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.normal(size=20)
    model = LinearRegression(l2=0.3)

    def unpack(theta):
        return theta[:4], theta[4]

    res = check_gradient(
        lambda th: model.loss(X, y, *unpack(th)),
        lambda th: np.concatenate([model.gradient(X, y, *unpack(th))["coef"],
                                   model.gradient(X, y, *unpack(th))["intercept"]]),
        rng.normal(size=5))
    assert res.ok, str(res)


# ---------------------------------------------------------------------------
# Logistic and softmax regression


def test_logistic_gradient_finite_differences_float64():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 5))
    y = np.where(rng.random(30) < 0.5, "ham", "spam")
    model = LogisticRegression(l2=0.1)

    def grad(th):
        g = model.gradient(X, y, th[:5], th[5])
        return np.concatenate([g["coef"], g["intercept"]])

    res = check_gradient(lambda th: model.loss(X, y, th[:5], th[5]), grad,
                         rng.normal(size=6))
    assert res.ok and res.max_rel_error < 1e-7, str(res)


def test_softmax_gradient_finite_differences_float64():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(25, 4)), rng.integers(0, 3, size=25)
    model = SoftmaxRegression(l2=0.2)

    def split(th):
        return th[:12].reshape(4, 3), th[12:]

    def grad(th):
        g = model.gradient(X, y, *split(th))
        return np.concatenate([g["coef"].ravel(), g["intercept"]])

    res = check_gradient(lambda th: model.loss(X, y, *split(th)), grad, rng.normal(size=15))
    assert res.ok and res.max_rel_error < 1e-7, str(res)


def test_logistic_regression_on_breast_cancer(cancer):
    c = cancer
    model = LogisticRegression(lr=0.1, epochs=300).fit(c.X_train, c.y_train)
    ref = SkLogisticRegression(max_iter=5000).fit(c.X_train, c.y_train)
    acc = model.score(c.X_test, c.y_test)
    assert acc >= 0.95
    assert abs(acc - ref.score(c.X_test, c.y_test)) <= 0.03
    p = model.predict_proba(c.X_test)
    assert p.shape == (len(c.y_test), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(c.X_test), (p[:, 1] > 0.5).astype(int))


def test_logistic_regression_keeps_the_labels_it_was_given(cancer):
    c = cancer
    names = np.array(["malignant", "benign"])
    model = LogisticRegression(epochs=50).fit(c.X_train, names[c.y_train])
    assert list(model.classes_) == ["benign", "malignant"]
    pred = model.predict(c.X_test)
    assert set(pred) <= {"benign", "malignant"}
    assert model.score(c.X_test, names[c.y_test]) >= 0.9


def test_logistic_matches_sklearn_unpenalised_optimum_in_loss():
    # On non-separable data the unpenalised optimum is unique: GD reaches sklearn's loss.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    y = (X @ np.array([1.0, -1.0, 0.5]) + rng.normal(size=200) > 0).astype(int)
    ref = SkLogisticRegression(C=np.inf, tol=1e-10, max_iter=10000).fit(X, y)
    model = LogisticRegression(lr=1.0, epochs=3000).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_[0], rtol=1e-4)
    assert model.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_softmax_regression_on_digits(digits):
    d = digits
    model = SoftmaxRegression(lr=0.5, epochs=150).fit(d.X_train, d.y_train)
    acc = model.score(d.X_test, d.y_test)
    assert acc >= 0.94, acc
    P = model.predict_proba(d.X_test)
    assert P.shape == (len(d.y_test), 10)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert model.coef_.shape == (64, 10) and model.intercept_.shape == (10,)
    assert model.history_.loss[-1] < model.history_.loss[0] / 5


def test_softmax_regression_minibatch_adam_on_iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    split = data.train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    X_train, X_test, y_train, y_test = split
    scaler = data.StandardScaler().fit(X_train)
    model = SoftmaxRegression(optimizer="adam", lr=0.05, epochs=100, batch_size=16)
    model.fit(scaler.transform(X_train), y_train)
    assert model.score(scaler.transform(X_test), y_test) >= 0.9


# ---------------------------------------------------------------------------
# Linear SVM


def _objective(w, b, X, y01, lam, penalise_b):
    """J(w, b) = lam/2 (||w||^2 [+ b^2]) + mean hinge, for checks against LinearSVC."""
    y = 2.0 * y01 - 1.0
    hinge = np.maximum(0.0, 1.0 - y * (X @ w + b)).mean()
    return 0.5 * lam * (w @ w + (b * b if penalise_b else 0.0)) + hinge


@pytest.fixture(scope="module")
def linearsvc(cancer):
    c = cancer
    # The same objective as ours: hinge loss (LinearSVC's default is the squared hinge)
    # with a penalised intercept (intercept_scaling=1, as our Pegasos).
    ref = LinearSVC(C=1.0, loss="hinge", tol=1e-8, max_iter=200_000).fit(c.X_train, c.y_train)
    default = LinearSVC(C=1.0, max_iter=200_000).fit(c.X_train, c.y_train)
    return ref, default


@pytest.mark.parametrize("kw", [
    dict(solver="pegasos", epochs=5000),                    # full batch (k = n)
    dict(solver="pegasos", batch_size=1, epochs=20),        # the paper's k = 1
    dict(solver="subgradient", lr=0.1, momentum=0.9, schedule="cosine", epochs=2000),
], ids=["pegasos-full", "pegasos-k1", "subgradient"])
def test_svm_accuracy_within_one_point_of_linearsvc(cancer, linearsvc, kw):
    c = cancer
    ref, default = linearsvc
    model = LinearSVM(C=1.0, **kw).fit(c.X_train, c.y_train)
    acc = 100 * model.score(c.X_test, c.y_test)
    assert abs(acc - 100 * ref.score(c.X_test, c.y_test)) <= 1.0, acc
    assert abs(acc - 100 * default.score(c.X_test, c.y_test)) <= 1.0, acc


def test_pegasos_reaches_linearsvc_objective(cancer, linearsvc):
    c = cancer
    ref, _ = linearsvc
    model = LinearSVM(C=1.0, solver="pegasos", epochs=5000).fit(c.X_train, c.y_train)
    lam = 1.0 / len(c.y_train)
    assert model.lam_ == pytest.approx(lam)
    best = _objective(ref.coef_[0], ref.intercept_[0], c.X_train, c.y_train, lam, True)
    ours = _objective(model.coef_, model.intercept_, c.X_train, c.y_train, lam, True)
    assert model.loss(c.X_train, c.y_train) == pytest.approx(ours, rel=1e-10)
    assert best <= ours <= best * (1 + 2e-3), (ours, best)


def test_pegasos_equals_a_hand_written_pegasos():
    # Two epochs of single-example steps, the same visiting order as gdlib.train
    # (a permutation per epoch from numpy's default_rng(seed)).
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=40) > 0).astype(int)
    C, seed = 0.5, 7
    model = LinearSVM(C=C, solver="pegasos", batch_size=1, epochs=2, seed=seed).fit(X, y)

    n = len(y)
    lam = 1.0 / (C * n)
    w = np.zeros(4)                                  # (w, b): b is a constant feature
    Xa, ys = np.c_[X, np.ones(n)], 2.0 * y - 1.0
    order = np.random.default_rng(seed)
    t = 0
    for _ in range(2):
        for i in order.permutation(n):
            t += 1
            eta = 1.0 / (lam * t)
            active = ys[i] * (Xa[i] @ w) < 1.0
            w = (1.0 - eta * lam) * w + (eta * ys[i] * Xa[i] if active else 0.0)
            w *= min(1.0, (1.0 / math.sqrt(lam)) / max(np.linalg.norm(w), 1e-300))
    np.testing.assert_allclose(model.coef_, w[:3], rtol=1e-10, atol=1e-12)
    assert model.intercept_ == pytest.approx(w[3], rel=1e-10, abs=1e-12)
    assert model.n_iter_ == 2 * n
    assert model.history_.lr[0] == pytest.approx(1.0 / lam)
    assert model.history_.lr[9] == pytest.approx(1.0 / (lam * 10))


def test_pegasos_projection_keeps_w_in_the_ball(cancer):
    c = cancer
    for projection in (True, False):
        model = LinearSVM(solver="pegasos", batch_size=1, epochs=1, projection=projection)
        model.fit(c.X_train, c.y_train)
        norm = math.hypot(np.linalg.norm(model.coef_), model.intercept_)
        if projection:
            assert norm <= 1.0 / math.sqrt(model.lam_) * (1 + 1e-12)


def test_margin_and_support_vectors_on_separable_data():
    # Two clusters whose closest points are x1 = -1 and x1 = +1: the widest margin is 2,
    # and only those closest points can lie on it.
    rng = np.random.default_rng(6)
    pos = np.c_[1.0 + rng.random(30) * 3, rng.normal(size=30)]
    neg = np.c_[-1.0 - rng.random(30) * 3, rng.normal(size=30)]
    pos[0, 0], neg[0, 0] = 1.0, -1.0
    X = np.r_[pos, neg]
    y = np.r_[np.ones(30), -np.ones(30)]
    model = LinearSVM(C=1.0, solver="pegasos", epochs=2000).fit(X, y)
    assert model.score(X, y) == 1.0
    assert model.margin_ == pytest.approx(2.0 / np.linalg.norm(model.coef_))
    assert model.margin_ == pytest.approx(2.0, rel=0.05)
    mask = model.support_mask(X, y, tol=0.05)
    assert mask.dtype == bool and mask.shape == (60,)
    assert mask[0] and mask[30]                      # the two closest points are on it
    assert mask.sum() <= 6                           # far points are not
    f = model.decision_function(X)
    assert np.all(y[~mask] * f[~mask] > 1.0)


def test_support_mask_holds_every_misclassified_point(cancer):
    c = cancer
    model = LinearSVM(solver="pegasos", epochs=500).fit(c.X_train, c.y_train)
    mask = model.support_mask(c.X_train, c.y_train)
    wrong = model.predict(c.X_train) != c.y_train
    assert np.all(mask[wrong])
    assert 0 < mask.sum() < len(mask) // 4


def test_svm_subgradient_finite_differences_away_from_kinks():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    for solver in ("subgradient", "pegasos"):
        model = LinearSVM(C=2.0, solver=solver)
        model.lam_ = 1.0 / (2.0 * 30)
        theta = rng.normal(size=4)

        def grad(th, model=model):
            g = model.gradient(X, y, th[:3], th[3])
            return np.concatenate([g["coef"], g["intercept"]])

        res = check_gradient(lambda th, model=model: model.loss(X, y, th[:3], th[3]), grad,
                             theta, eps=1e-7)
        assert res.ok, (solver, str(res))


# ---------------------------------------------------------------------------
# Errors


def test_clear_errors():
    X, y = np.zeros((5, 2)), np.zeros(5)
    with pytest.raises(ValueError, match="2-D array.*reshape"):
        LinearRegression().fit(np.zeros(5), y)
    with pytest.raises(ValueError, match="5 rows but y has 4"):
        LinearRegression().fit(X, np.zeros(4))
    with pytest.raises(ValueError, match="solver 'newton'.*'closed', 'gd', 'sgd'"):
        LinearRegression(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="'pegasos', 'subgradient'"):
        LinearSVM(solver="smo").fit(X, y)
    for model in (LinearRegression(), LogisticRegression(), SoftmaxRegression(), LinearSVM()):
        with pytest.raises(NotFittedError, match="call fit"):
            model.predict(X)
    with pytest.raises(ValueError, match="SoftmaxRegression"):
        LogisticRegression().fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        SoftmaxRegression().fit(X, y)
    with pytest.raises(ValueError, match="batch_size"):
        LinearRegression(solver="gd", batch_size=8).fit(X, y)
    with pytest.raises(ValueError, match="pegasos.*lr"):
        LinearSVM(solver="pegasos", lr=0.1).fit(X, [0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="C="):
        LinearSVM(C=0.0).fit(X, [0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="l2"):
        LinearRegression(l2=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        LinearRegression().fit(np.array([[np.nan, 1.0], [0.0, 1.0]]), [1.0, 2.0])
    model = LinearRegression().fit(X + np.eye(5, 2), y)
    with pytest.raises(ValueError, match="3 features .* fitted on 2"):
        model.predict(np.zeros((2, 3)))
    clf = LogisticRegression(epochs=2).fit(np.eye(4, 2), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="not fitted on"):
        clf.loss(np.eye(4, 2), [0, 1, 2, 1])


def test_repr_and_params():
    model = LinearSVM(C=2.0, solver="pegasos")
    assert "C=2.0" in repr(model) and "solver='pegasos'" in repr(model)
    assert LinearRegression(momentum=0.9).get_params()["momentum"] == 0.9


# ---------------------------------------------------------------------------
# NumPy / CuPy parity


@pytest.mark.gpu
@pytest.mark.parametrize("make", [
    lambda: LinearRegression(solver="closed"),
    lambda: LinearRegression(solver="gd", lr=0.4, epochs=200),
    lambda: LinearRegression(solver="sgd", lr=0.01, epochs=5),
    lambda: LogisticRegression(epochs=50),
    lambda: SoftmaxRegression(epochs=30),
    lambda: LinearSVM(solver="pegasos", epochs=200),
    lambda: LinearSVM(solver="subgradient", epochs=200),
], ids=["closed", "gd", "sgd", "logistic", "softmax", "pegasos", "subgradient"])
def test_numpy_cupy_parity(make, diabetes, cancer, digits):
    task = {"LinearRegression": diabetes, "SoftmaxRegression": digits}.get(
        type(make()).__name__, cancer)
    previous = backend.device()
    try:
        backend.use("cpu")
        cpu = make().fit(task.X_train, task.y_train)
        pred_cpu = cpu.decision_function(task.X_test)
        score_cpu = cpu.score(task.X_test, task.y_test)
        backend.use("gpu")
        import cupy

        Xg, yg = cupy.asarray(task.X_train), cupy.asarray(task.y_train)
        gpu = make().fit(Xg, yg)
        pred_gpu = gpu.decision_function(cupy.asarray(task.X_test))
        assert type(pred_gpu).__module__.startswith("cupy")
        np.testing.assert_allclose(backend.to_host(pred_gpu), pred_cpu, rtol=1e-6, atol=1e-6)
        assert gpu.score(cupy.asarray(task.X_test), cupy.asarray(task.y_test)) == \
            pytest.approx(score_cpu, abs=1e-9)
    finally:
        backend.use(previous)


def test_svm_loss_before_fit_uses_the_size_of_the_data_it_is_given():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    w = np.ones(3)
    model = LinearSVM(C=1.0)
    model.loss(X, y, coef=w, intercept=0.0)
    half = model.loss(X[:20], y[:20], coef=w, intercept=0.0)
    fresh = LinearSVM(C=1.0).loss(X[:20], y[:20], coef=w, intercept=0.0)
    assert half == pytest.approx(fresh, rel=1e-12)

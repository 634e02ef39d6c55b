"""gdlib.variance_reduction: SVRG and SAGA converge linearly where SGD stalls.

On strongly convex finite sums (ridge regression, with its closed form; L2-penalised
logistic regression, with Newton's method run to machine precision) each method,
run through :func:`gdlib.train.train` with plain SGD and a constant step, reaches
the optimum to 1e-8, while SGD with the same step stays at its noise floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from gdlib.models import LinearRegression, LogisticRegression
from gdlib.train import train
from gdlib.variance_reduction import SAGA, SVRG, model_problem

N, D = 60, 4


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = X @ rng.normal(size=D) + 0.5 * rng.normal(size=N)
    return X, y


def _copy(p):
    return {k: v.copy() for k, v in p.items()}


def _flat(p):
    return np.concatenate([p["coef"], p["intercept"]])


@pytest.fixture(scope="module")
def ridge():
    X, y = _data()
    model = LinearRegression(l2=0.1)
    loss_and_grad, p0, data = model_problem(model, X, y)
    closed = LinearRegression(l2=0.1).fit(X, y)
    opt = {"coef": closed.coef_, "intercept": np.array([closed.intercept_])}
    return loss_and_grad, p0, data, opt


@pytest.fixture(scope="module")
def logistic():
    X, y = _data(1)
    y = (y > 0).astype(int)
    loss_and_grad, p0, data = model_problem(LogisticRegression(l2=0.05), X, y)
    w = np.zeros(D + 1)                                  # Newton's method on [coef, b]
    Xb = np.hstack([X, np.ones((N, 1))])
    reg = np.r_[np.full(D, 0.05), 0.0]
    for _ in range(40):
        s = 1 / (1 + np.exp(-Xb @ w))
        g = Xb.T @ (s - y) / N + reg * w
        H = (Xb.T * (s * (1 - s))) @ Xb / N + np.diag(reg)
        w -= np.linalg.solve(H, g)
    return loss_and_grad, p0, data, {"coef": w[:D], "intercept": w[D:]}


def _run(source, loss_and_grad, p0, data, lr, epochs):
    p = _copy(p0)
    if source is None:
        train(p, loss_and_grad, "sgd", data=data, batch_size=1, epochs=epochs, lr=lr, seed=3)
    else:
        train(p, source, "sgd", data=source.indices, batch_size=1, epochs=epochs, lr=lr, seed=3)
    return p


@pytest.mark.parametrize("problem", ["ridge", "logistic"])
@pytest.mark.parametrize("method", ["svrg", "saga"])
def test_converges_to_the_optimum_where_sgd_stalls(problem, method, request):
    loss_and_grad, p0, data, opt = request.getfixturevalue(problem)
    lr = 0.05 if problem == "ridge" else 0.2
    src = SVRG(loss_and_grad, data) if method == "svrg" else SAGA(loss_and_grad, data)
    p = _run(src, loss_and_grad, p0, data, lr, epochs=60)
    err = np.abs(_flat(p) - _flat(opt)).max()
    assert err < 1e-8, err
    sgd = _run(None, loss_and_grad, p0, data, lr, epochs=60)
    assert np.abs(_flat(sgd) - _flat(opt)).max() > 1e-3      # SGD's floor, far above
    assert src.passes > 60                                    # the extra work is counted


def test_svrg_is_linear_per_snapshot(ridge):
    # the distance to the optimum shrinks by a roughly constant factor per outer loop
    loss_and_grad, p0, data, opt = ridge
    src = SVRG(loss_and_grad, data, snapshot_every=2 * N)
    p = _copy(p0)
    errs = []
    for _ in range(8):
        train(p, src, "sgd", data=src.indices, batch_size=1, epochs=2, lr=0.05, seed=len(errs))
        errs.append(np.abs(_flat(p) - _flat(opt)).max())
    factors = np.array(errs[1:]) / np.array(errs[:-1])
    assert factors.max() < 0.5 and src.snapshots == 8


def test_svrg_gradient_is_exact_at_the_snapshot(ridge):
    loss_and_grad, p0, data, _ = ridge
    src = SVRG(loss_and_grad, data, snapshot_every=5)
    p = _copy(p0)
    p["coef"] += 0.3
    _, g = src(p, np.array([7, 9]))
    _, full = loss_and_grad(p, data)
    np.testing.assert_allclose(g["coef"], full["coef"], atol=1e-14)
    assert src.grad_evals == N + 4


def test_saga_first_step_is_the_full_gradient_and_table_updates(ridge):
    loss_and_grad, p0, data, _ = ridge
    src = SAGA(loss_and_grad, data)
    p = _copy(p0)
    _, g = src(p, np.array([3]))
    _, full = loss_and_grad(p, data)
    np.testing.assert_allclose(g["coef"], full["coef"], atol=1e-14)
    p["coef"] += 1.0
    _, g2 = src(p, np.array([3]))
    _, gi_new = loss_and_grad(p, tuple(a[3:4] for a in data))
    _, gi_old = loss_and_grad(p0, tuple(a[3:4] for a in data))
    np.testing.assert_allclose(g2["coef"], gi_new["coef"] - gi_old["coef"] + full["coef"],
                               atol=1e-13)
    np.testing.assert_allclose(src.table_mean, src.table.mean(axis=0), atol=1e-13)


def test_bad_input(ridge):
    loss_and_grad, p0, data, _ = ridge
    with pytest.raises(TypeError, match="loss_and_grad"):
        SVRG("f", data)
    with pytest.raises(TypeError, match="data"):
        SAGA(loss_and_grad, data[0])
    with pytest.raises(ValueError, match="data\\[1\\]"):
        SVRG(loss_and_grad, (data[0], data[1][:-1]))
    with pytest.raises(ValueError, match="at least 2"):
        SAGA(loss_and_grad, (data[0][:1], data[1][:1]))
    with pytest.raises(ValueError, match="snapshot_every"):
        SVRG(loss_and_grad, data, snapshot_every=0)
    src = SVRG(loss_and_grad, data)
    with pytest.raises(TypeError, match="indices"):
        src(_copy(p0), data)                         # (X, y) given instead of indices
    with pytest.raises(IndexError, match="outside"):
        src(_copy(p0), np.array([N]))
    assert src.calls == 0 and src.snapshot is None   # a refused call changes nothing
    with pytest.raises(TypeError, match="linear model"):
        model_problem(object(), data[0], data[1])


@pytest.mark.gpu
def test_svrg_and_saga_on_cupy_match_numpy(gpu_backend):
    X, y = _data()
    out = {}
    for device in ("gpu", "cpu"):
        from gdlib import backend

        backend.use(device)
        loss_and_grad, p0, data = model_problem(LinearRegression(l2=0.1), X, y)
        for name, cls in (("svrg", SVRG), ("saga", SAGA)):
            src = cls(loss_and_grad, data)
            p = _copy(p0)
            train(p, src, "sgd", data=src.indices, batch_size=2, epochs=3, lr=0.05, seed=1)
            out[(device, name)] = np.concatenate([backend.to_host(p["coef"]),
                                                  backend.to_host(p["intercept"])])
    backend.use("gpu")
    for name in ("svrg", "saga"):
        np.testing.assert_allclose(out[("gpu", name)], out[("cpu", name)], atol=1e-10)

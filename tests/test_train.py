"""The driver loops: minimize() on test functions and train() on a model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlib import backend, functions
from gdlib.errors import DivergenceError
from gdlib.optim import GD, SGD, Adam, Optimizer
from gdlib.train import History, Result, interactive, make_schedule, minimize, train


def bowl():
    """A rotated, off-centre quadratic: f = ½ (x-c)ᵀA(x-c), minimiser c."""
    return functions.quadratic(condition_number=8.0, angle=0.4, center=[1.0, -2.0])


def gd_closed_form(A, c, x0, lr, k):
    """x_k = c + (I - ηA)^k (x0 - c): gradient descent on a quadratic, solved."""
    M = np.linalg.matrix_power(np.eye(len(c)) - lr * A, k)
    return c + M @ (x0 - c)


# ----------------------------------------------------------------------------
# minimize: convergence and the closed form


def test_gd_on_a_quadratic_matches_the_closed_form(cpu_backend):
    f = bowl()
    A, c = np.asarray(f.A), np.array([1.0, -2.0])
    x0 = np.array([3.0, 2.0])
    lr = 1.0 / f.L
    res = minimize(f, x0, "gd", lr=lr, steps=2000, tol=1e-10)
    assert isinstance(res, Result)
    assert res.converged and "Converged" in res.message
    np.testing.assert_allclose(res.x, c, atol=1e-9)
    # Every recorded iterate equals the solved recursion.
    for k in (0, 1, 5, 40, res.steps):
        np.testing.assert_allclose(res.history.params[k], gd_closed_form(A, c, x0, lr, k),
                                   rtol=1e-12, atol=1e-12)
    # The loss is monotone for lr <= 1/L and f(x_k) is what was recorded.
    assert np.all(np.diff(res.history.loss) <= 1e-15)
    assert res.fun == pytest.approx(float(f(res.x)), abs=1e-18)
    assert res.fun == res.history.loss[-1]
    np.testing.assert_array_equal(x0, [3.0, 2.0])  # x0 is not modified


def test_x0_defaults_to_f_start_and_result_fields(cpu_backend):
    f = bowl()
    res = minimize(f, lr=0.1, steps=3, tol=0)
    np.testing.assert_allclose(res.history.params[0], np.asarray(f.start))
    assert res.steps == 3 and not res.converged
    assert "maximum of 3 steps" in res.message
    assert isinstance(res.optimizer, GD)
    assert res.grad_norm == pytest.approx(res.history.grad_norm[-1])


def test_tol_stops_early():
    f = bowl()
    res = minimize(f, lr=0.1, steps=10_000, tol=1e-3)
    gn = res.history.grad_norm
    assert res.converged
    assert res.steps < 10_000
    assert gn[-1] < 1e-3 <= gn[-2]          # stopped at the first step below tol
    assert len(res.history.params) == res.steps + 1


def test_history_shapes_and_record_every():
    f = bowl()
    h = minimize(f, lr=0.05, steps=50, tol=0).history
    assert isinstance(h, History)
    assert h.params.shape == (51, 2)
    assert h.loss.shape == h.grad_norm.shape == h.lr.shape == h.step.shape == (51,)
    assert h.steps == 50 and len(h) == 51
    np.testing.assert_array_equal(h.step, np.arange(51))
    np.testing.assert_allclose(h.lr, 0.05)
    h = minimize(f, lr=0.05, steps=53, tol=0, record_every=10).history
    np.testing.assert_array_equal(h.step, [0, 10, 20, 30, 40, 50, 53])  # the last is kept
    assert h.params.shape == (7, 2)
    with pytest.raises(ValueError, match="record_every"):
        minimize(f, lr=0.05, record_every=0)


def test_optimizer_name_class_and_instance_agree():
    f = bowl()
    by_name = minimize(f, optimizer="adam", lr=0.05, steps=40, tol=0)
    by_class = minimize(f, optimizer=Adam, lr=0.05, steps=40, tol=0)
    x = np.array(f.start, dtype=float)
    inst = minimize(f, optimizer=Adam(x, lr=0.05), steps=40, tol=0)
    np.testing.assert_array_equal(by_name.x, by_class.x)
    np.testing.assert_array_equal(by_name.x, inst.x)
    np.testing.assert_array_equal(x, inst.x)          # the instance's own array moved
    with pytest.raises(TypeError, match="ready optimizer"):
        minimize(f, optimizer=Adam(x), lr=0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        minimize(f, optimizer="adamm")


def test_momentum_beats_plain_gd_on_an_ill_conditioned_bowl():
    f = functions.quadratic(condition_number=50.0)
    gd = minimize(f, lr=1 / f.L, steps=300, tol=0)
    hb = minimize(f, optimizer=SGD, lr=1 / f.L, momentum=0.7, steps=300, tol=0)
    assert hb.fun < 1e-6 * gd.fun


def test_callable_without_grad_attribute():
    f = lambda x: float((x - 3.0) @ (x - 3.0))  # noqa: E731
    res = minimize(f, [0.0, 0.0], grad=lambda x: 2 * (x - 3.0), lr=0.25)
    np.testing.assert_allclose(res.x, [3.0, 3.0])
    with pytest.raises(TypeError, match="pass grad="):
        minimize(f, [0.0, 0.0])


def test_one_dimensional_function_and_scalar_start():
    f = functions.parabola()
    res = minimize(f, 2.0, lr=0.1, steps=500)
    assert res.converged
    assert res.history.params.shape[1] == 1
    assert abs(float(res.x)) < 1e-8


# ----------------------------------------------------------------------------
# minimize: divergence


def test_divergence_names_the_step_and_the_lr(cpu_backend):
    f = bowl()
    A, c = np.asarray(f.A), np.array([1.0, -2.0])
    x0 = np.array([3.0, 2.0])
    lr = 2.5 / f.L                          # beyond the stability bound 2/L
    loss = lambda x: 0.5 * (x - c) @ A @ (x - c)  # noqa: E731
    limit = 1e6 * max(1.0, loss(x0))
    expected = next(k for k in range(1, 1000) if loss(gd_closed_form(A, c, x0, lr, k)) > limit)
    with pytest.raises(DivergenceError) as info:
        minimize(f, x0, lr=lr, steps=1000)
    err = info.value
    assert err.step == expected
    assert err.lr == pytest.approx(lr)
    msg = str(err)
    assert f"at step {expected} (lr={lr:g})" in msg
    assert "Gradient descent diverged" in msg
    assert f"e.g. lr={lr / 2:g}" in msg
    # The history so far, the diverging point included.
    assert err.history.params.shape == (expected + 1, 2)
    assert err.history.loss[-1] > limit


def test_non_finite_loss_is_reported_as_such():
    calls = {"n": 0}

    def f(x):
        calls["n"] += 1
        return math.inf if calls["n"] > 3 else float(x @ x)

    with pytest.raises(DivergenceError, match=r"The loss became inf at step 3 \(lr=0\.1\)") as info:
        minimize(f, [1.0, 1.0], grad=lambda x: 2 * x, lr=0.1)
    assert info.value.step == 3 and info.value.lr == pytest.approx(0.1)


def test_divergence_factor_is_adjustable():
    f = bowl()
    with pytest.raises(DivergenceError) as small:
        minimize(f, lr=2.5 / f.L, divergence_factor=10.0)
    with pytest.raises(DivergenceError) as large:
        minimize(f, lr=2.5 / f.L, divergence_factor=1e12)
    assert small.value.step < large.value.step


def test_saddle_escape_to_minus_infinity_explains_itself():
    f = functions.saddle()
    with pytest.raises(DivergenceError, match="unbounded below"):
        minimize(f, [1.0, 1e-3], lr=0.4, steps=5000, divergence_factor=math.inf)


# ----------------------------------------------------------------------------
# minimize: noise, clipping, schedules, callbacks, second-order methods


def test_noise_is_seeded():
    f = bowl()
    a = minimize(f, lr=0.05, steps=100, tol=0, noise=0.5, seed=3)
    b = minimize(f, lr=0.05, steps=100, tol=0, noise=0.5, seed=3)
    c = minimize(f, lr=0.05, steps=100, tol=0, noise=0.5, seed=4)
    d = minimize(f, lr=0.05, steps=100, tol=0)
    np.testing.assert_array_equal(a.history.params, b.history.params)
    assert not np.allclose(a.x, c.x)
    assert not np.allclose(a.x, d.x)
    # Noise does not change what is recorded as the gradient norm: the true one.
    np.testing.assert_allclose(a.history.grad_norm[5],
                               np.linalg.norm(np.asarray(f.grad(a.history.params[5]))))


def test_clip_norm_bounds_each_step():
    f = functions.quadratic(condition_number=10.0)
    lr, c = 0.05, 0.5
    h = minimize(f, [40.0, 40.0], lr=lr, steps=30, tol=0, clip_norm=c).history
    moves = np.linalg.norm(np.diff(h.params, axis=0), axis=1)
    assert moves.max() <= lr * c + 1e-12
    assert moves.min() > 0.99 * lr * c        # far from the minimum every step is clipped


class Halve:
    """A stand-in scheduler: halves the optimizer's lr every step."""

    def __init__(self, opt):
        self.opt = opt

    def step(self):
        self.opt.lr *= 0.5


def test_schedule_changes_the_recorded_lr():
    f = bowl()
    h = minimize(f, lr=0.1, steps=5, tol=0, schedule=Halve).history
    np.testing.assert_allclose(h.lr, [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625])


def test_schedule_by_name_fills_in_the_run_length():
    from gdlib.schedules import CosineAnnealingLR

    f = bowl()
    res = minimize(f, lr=0.1, steps=20, tol=0, schedule="cosine")
    assert res.history.lr[1] == pytest.approx(0.1)
    assert res.history.lr[-1] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 19 / 20)))
    sched = make_schedule("cosine", GD(np.zeros(2), lr=1.0), steps=7)
    assert isinstance(sched, CosineAnnealingLR) and sched.T_max == 7


def test_plateau_schedule_receives_the_loss():
    from gdlib.schedules import ReduceLROnPlateau

    f = lambda x: float(x @ x)  # noqa: E731
    # A gradient of zero leaves the loss flat, so the plateau rule must cut the rate
    # after patience + 1 flat steps.
    res = minimize(f, [1.0, 1.0], grad=lambda x: 0 * x, lr=0.1, steps=8, tol=0,
                   schedule=lambda o: ReduceLROnPlateau(o, patience=2, factor=0.5))
    np.testing.assert_allclose(res.history.lr, [0.1] * 5 + [0.05] * 3 + [0.025])


def test_callback_can_stop_the_run():
    f = bowl()
    seen = []

    def cb(step, x, loss):
        seen.append((step, x.copy(), loss))
        return step == 7

    res = minimize(f, lr=0.05, steps=100, tol=0, callback=cb)
    assert res.steps == 7 and "callback" in res.message
    assert [s for s, _, _ in seen] == list(range(1, 8))
    np.testing.assert_array_equal(seen[-1][1], res.x)


def test_newton_receives_the_hessian():
    f = bowl()
    res = minimize(f, optimizer="newton", steps=5)
    assert res.converged and res.steps == 1     # one Newton step solves a quadratic
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-12)


def test_newton_stand_in_gets_f_hessian():
    seen = []

    class NewtonLike(Optimizer):
        def step(self, grads, hessian):
            seen.append(np.array(hessian))
            self.params[0] -= np.linalg.solve(hessian, grads)

    f = bowl()
    minimize(f, optimizer=NewtonLike, steps=3)
    np.testing.assert_allclose(seen[0], np.asarray(f.A))


def test_lbfgs_gets_a_closure_and_stops_when_it_stalls():
    f = functions.rosenbrock()
    res = minimize(f, optimizer="lbfgs", steps=100, tol=1e-12)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-4)
    assert res.steps < 100 and "made no progress" in res.message


def test_progress_is_quiet_under_pytest_and_shown_on_request(capsys, monkeypatch):
    assert interactive() is False
    f = bowl()
    minimize(f, lr=0.05, steps=20, tol=0)
    assert capsys.readouterr().err == ""
    minimize(f, lr=0.05, steps=20, tol=0, progress=True)
    assert "GD:" in capsys.readouterr().err
    monkeypatch.setenv("GDLIB_PROGRESS", "1")
    assert interactive() is True


# ----------------------------------------------------------------------------
# train: a seeded least-squares problem


def least_squares(n=200, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = np.array([2.0, -1.0, 0.5])[:d]
    y = X @ w_true + 0.1 * rng.normal(size=n)
    return X, y


def mse_loss_and_grad(params, batch):
    """L = ‖Xw + b - y‖² / (2m), gradients with the structure of params."""
    X, y = batch[0], batch[1]
    r = X @ params["w"] + params["b"] - y
    m = len(y)
    return 0.5 * float(r @ r) / m, {"w": X.T @ r / m, "b": np.array([r.sum() / m])}


def lstsq_solution(X, y):
    Xb = np.column_stack([X, np.ones(len(X))])
    return np.linalg.lstsq(Xb, y, rcond=None)[0]


def test_full_batch_gd_converges_to_least_squares():
    X, y = least_squares()
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    h = train(params, mse_loss_and_grad, "gd", data=(X, y), epochs=300, lr=0.5)
    sol = lstsq_solution(X, y)
    np.testing.assert_allclose(params["w"], sol[:3], atol=1e-8)
    np.testing.assert_allclose(params["b"], sol[3:], atol=1e-8)
    assert h.loss.shape == h.lr.shape == h.grad_norm.shape == (300,)
    assert h.params is None and h.steps == 300
    np.testing.assert_array_equal(h.epoch_step, np.arange(1, 301))
    np.testing.assert_allclose(h.epoch_loss, h.loss)          # one batch per epoch
    assert h.grad_norm[-1] < 1e-8 < h.grad_norm[0]


def test_minibatch_sgd_is_reproducible_with_a_seed():
    X, y = least_squares()

    def run(seed):
        params = {"w": np.zeros(3), "b": np.zeros(1)}
        h = train(params, mse_loss_and_grad, SGD, data=(X, y), epochs=5, batch_size=16,
                  seed=seed, lr=0.05, momentum=0.9)
        return params, h

    p1, h1 = run(0)
    p2, h2 = run(0)
    p3, h3 = run(1)
    np.testing.assert_array_equal(h1.loss, h2.loss)
    np.testing.assert_array_equal(p1["w"], p2["w"])
    assert not np.array_equal(h1.loss, h3.loss)
    sol = lstsq_solution(X, y)
    np.testing.assert_allclose(p1["w"], sol[:3], atol=0.05)   # SGD noise: close, not exact
    assert h1.loss.shape == (5 * 13,)                            # ceil(200 / 16) = 13 steps


@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (32, False, [32] * 6 + [8]),
    (32, True, [32] * 6),
    (None, False, [200]),
    (500, False, [200]),
])
def test_minibatches_cover_the_data_each_epoch(batch_size, drop_last, sizes):
    X, y = least_squares()
    index = np.arange(len(X))
    seen = []

    def loss_and_grad(params, batch):
        seen.append(batch[2].copy())
        return mse_loss_and_grad(params, batch[:2])

    params = {"w": np.zeros(3), "b": np.zeros(1)}
    train(params, loss_and_grad, "gd", data=(X, y, index), epochs=3, batch_size=batch_size,
          drop_last=drop_last, lr=0.01)
    per_epoch = len(sizes)
    assert len(seen) == 3 * per_epoch
    for e in range(3):
        batches = seen[e * per_epoch:(e + 1) * per_epoch]
        assert [len(b) for b in batches] == sizes
        got = np.concatenate(batches)
        assert len(np.unique(got)) == len(got)              # no example twice in an epoch
        if not drop_last:
            np.testing.assert_array_equal(np.sort(got), index)
    if batch_size == 32:
        assert not np.array_equal(seen[0], np.arange(32))          # shuffled
        assert not np.array_equal(seen[0], seen[per_epoch])        # reshuffled each epoch


def test_no_shuffle_keeps_the_order():
    X, y = least_squares(n=10)
    seen = []

    def loss_and_grad(params, batch):
        seen.append(batch[0][:, 0].copy())
        return mse_loss_and_grad(params, batch)

    train({"w": np.zeros(3), "b": np.zeros(1)}, loss_and_grad, "gd", data=(X, y),
          batch_size=4, shuffle=False, lr=0.01)
    np.testing.assert_array_equal(np.concatenate(seen), X[:, 0])


def test_train_eval_fn_schedule_per_epoch_and_clipping():
    X, y = least_squares()
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    evals = lambda p: {"mse": 2 * mse_loss_and_grad(p, (X, y))[0], "w0": float(p["w"][0])}  # noqa: E731
    h = train(params, mse_loss_and_grad, "gd", data=(X, y), epochs=4, batch_size=50,
              eval_fn=evals, schedule=Halve, schedule_per="epoch", clip_norm=0.1, lr=0.4)
    assert set(h.metrics) == {"mse", "w0"}
    assert h.metrics["mse"].shape == (4,)
    np.testing.assert_array_equal(h.eval, h.metrics["mse"])
    assert h.metrics["w0"][-1] == pytest.approx(params["w"][0])
    np.testing.assert_allclose(h.lr, np.repeat([0.4, 0.2, 0.1, 0.05], 4))
    assert h.epoch_loss.shape == (4,)
    # The epoch loss is the size-weighted mean of its batches (all 50 here).
    np.testing.assert_allclose(h.epoch_loss, h.loss.reshape(4, 4).mean(axis=1))
    assert (h.grad_norm > 0.1).any()                   # clipping acted on these steps


def test_train_divergence_names_step_and_lr():
    X, y = least_squares()
    params = {"w": np.zeros(3), "b": np.zeros(1)}
    with pytest.raises(DivergenceError) as info:
        train(params, mse_loss_and_grad, "gd", data=(X, y), epochs=100, lr=5.0)
    err = info.value
    assert err.lr == 5.0 and err.step > 1
    assert f"at step {err.step} (lr=5)" in str(err) and "lr=2.5" in str(err)
    assert len(err.history.loss) == err.step - 1


def test_train_checks_its_data():
    X, y = least_squares()
    with pytest.raises(ValueError, match="same first dimension"):
        train({"w": np.zeros(3), "b": np.zeros(1)}, mse_loss_and_grad, "gd", data=(X, y[:-1]))
    with pytest.raises(ValueError, match="schedule_per"):
        train({"w": np.zeros(3)}, mse_loss_and_grad, "gd", data=(X, y), schedule_per="batch")


def test_train_without_data_is_one_step_per_epoch():
    w = np.array([4.0])
    h = train(w, lambda p, batch: (float(p[0] ** 2), 2 * p), "gd", epochs=10, lr=0.25)
    assert h.steps == 10
    assert w[0] == pytest.approx(4.0 * 0.5**10)


# ----------------------------------------------------------------------------
# The same runs on the GPU


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason="no usable GPU (gdlib.backend.gpu_available() is False)")
def test_cupy_and_numpy_runs_agree():
    previous = backend.device()
    results = {}
    try:
        for dev in ("cpu", "gpu"):
            backend.use(dev)
            f = functions.rosenbrock()
            res = minimize(f, optimizer="adam", lr=0.01, steps=300, tol=0, noise=0.1, seed=0)
            X, y = least_squares()
            Xd, yd = backend.asarray(X), backend.asarray(y)
            params = {"w": backend.xp.zeros(3), "b": backend.xp.zeros(1)}

            def lg(p, batch):
                Xb, yb = batch
                r = Xb @ p["w"] + p["b"] - yb
                m = len(yb)
                return 0.5 * float(r @ r) / m, {"w": Xb.T @ r / m, "b": r.sum(keepdims=True) / m}

            h = train(params, lg, "sgd", data=(Xd, yd), epochs=3, batch_size=32, lr=0.05,
                      momentum=0.9)
            results[dev] = (res, h, backend.to_host(params["w"]))
    finally:
        backend.use(previous)
    (rc, hc, wc), (rg, hg, wg) = results["cpu"], results["gpu"]
    np.testing.assert_allclose(rg.history.params, rc.history.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hg.loss, hc.loss, rtol=1e-9)
    np.testing.assert_allclose(wg, wc, rtol=1e-9)

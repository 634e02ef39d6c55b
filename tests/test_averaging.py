"""gdlib.averaging (EMA, SWA, SWALR) and gdlib.noise (the gradient noise scale).

EMA, SWA and SWALR replay ``tests/fixtures/averaging_torch.npz`` (made by
``tools/reference/averaging.py`` from ``torch.optim.swa_utils`` 2.13 in float64) to
1e-12; the noise-scale estimators are checked on gradients drawn with a known
mean G and covariance Sigma.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gdlib import backend
from gdlib.averaging import EMA, SWA, SWALR
from gdlib.noise import (
    batch_size_sweep,
    fit_critical_batch,
    noise_scale,
    noise_scale_from_batches,
    per_example_gradients,
    steps_to_target,
)
from gdlib.optim import SGD
from gdlib.train import train

FIXTURE = Path(__file__).parent / "fixtures" / "averaging_torch.npz"
TOL = 1e-12


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE) as z:
        return {k: z[k] for k in z.files}


def _replay(avg_cls, ref, **kw):
    params = {"vec": np.zeros(5), "mat": np.zeros((2, 3))}
    avg = avg_cls(params, **kw)
    vec, mat = [], []
    for v, m in zip(ref["params_vec"], ref["params_mat"]):
        params["vec"][...] = v
        params["mat"][...] = m
        avg.update()
        out = avg.averaged
        vec.append(out["vec"])
        mat.append(out["mat"])
    return np.array(vec), np.array(mat)


@pytest.mark.parametrize("decay", [0.9, 0.5])
def test_ema_replays_torch(ref, decay):
    vec, mat = _replay(EMA, ref, decay=decay)
    np.testing.assert_allclose(vec, ref[f"ema_{decay}_vec"], rtol=0, atol=TOL)
    np.testing.assert_allclose(mat, ref[f"ema_{decay}_mat"], rtol=0, atol=TOL)


def test_swa_replays_torch(ref):
    vec, mat = _replay(SWA, ref)
    np.testing.assert_allclose(vec, ref["swa_vec"], rtol=0, atol=TOL)
    np.testing.assert_allclose(mat, ref["swa_mat"], rtol=0, atol=TOL)
    # the running mean is the plain mean of the iterates
    np.testing.assert_allclose(vec[-1], ref["params_vec"].mean(axis=0), atol=1e-12)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal", [0, 1, 5])
def test_swalr_replays_torch(ref, strategy, anneal):
    opt = SGD(np.zeros(1), lr=0.5)
    sched = SWALR(opt, swa_lr=0.05, anneal_steps=anneal, anneal=strategy)
    lrs = [opt.lr]
    for _ in range(len(ref[f"swalr_{strategy}_{anneal}"]) - 1):
        sched.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, ref[f"swalr_{strategy}_{anneal}"], rtol=0, atol=TOL)


def test_swalr_start_holds_the_rate():
    opt = SGD(np.zeros(1), lr=0.5)
    sched = SWALR(opt, swa_lr=0.1, anneal_steps=2, anneal="linear", start=3)
    lrs = [opt.lr]
    for _ in range(6):
        sched.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [0.5, 0.5, 0.5, 0.5, 0.3, 0.1, 0.1])


def test_ema_bias_correction_weighs_like_a_weighted_mean():
    # m_t / (1 - beta^t) = sum_s beta^(t-s) theta_s / sum_s beta^(t-s)
    rng = np.random.default_rng(0)
    thetas = rng.normal(size=(7, 3))
    p = np.zeros(3)
    ema = EMA(p, decay=0.8, bias_correction=True)
    for t, th in enumerate(thetas, start=1):
        p[...] = th
        ema.update()
        w = 0.8 ** np.arange(t - 1, -1, -1)
        np.testing.assert_allclose(ema.averaged, w @ thetas[:t] / w.sum(), atol=1e-12)
    # a constant sequence is its own average from the first update on
    q = np.full(2, 3.0)
    e2 = EMA(q, decay=0.99, bias_correction=True)
    e2.update()
    np.testing.assert_allclose(e2.averaged, q)


def test_callbacks_in_train_average_the_iterates():
    # SGD on f = |x|^2 / 2 with noise-free gradients: record the iterates and compare.
    x = np.array([4.0, -2.0])
    ema, swa = EMA(x, decay=0.5), SWA(x, start=3, every=2)
    seen = []

    def cb(step, loss):
        seen.append(x.copy())
        ema(step, loss)
        swa(step, loss)

    train(x, lambda p, batch: (0.5 * float(p @ p), p.copy()), "sgd", epochs=8, lr=0.25,
          callback=cb)
    seen = np.array(seen)                                   # theta_1 ... theta_8
    want = seen[0].copy()
    for th in seen[1:]:
        want = 0.5 * want + 0.5 * th
    np.testing.assert_allclose(ema.averaged, want, atol=1e-14)
    np.testing.assert_allclose(swa.averaged, seen[[2, 4, 6]].mean(axis=0), atol=1e-14)
    assert swa.n_averaged == 3 and ema.n_averaged == 8
    out = np.zeros(2)
    swa.copy_to(out)
    np.testing.assert_allclose(out, swa.averaged)


def test_averaged_keeps_structure_and_is_a_copy():
    params = [np.ones(2), np.zeros((1, 2))]
    swa = SWA(params)
    swa.update()
    out = swa.averaged
    assert isinstance(out, list) and out[1].shape == (1, 2)
    out[0][0] = 99.0
    assert swa.averaged[0][0] == 1.0


@pytest.mark.parametrize("kw, exc, words", [
    ({"decay": 1.0}, ValueError, "decay"),
    ({"decay": -0.1}, ValueError, "decay"),
    ({"decay": "0.9"}, TypeError, "decay"),
    ({"bias_correction": 1}, TypeError, "bias_correction"),
    ({"start": -1}, ValueError, "start"),
    ({"every": 0}, ValueError, "every"),
    ({"every": 1.5}, TypeError, "every"),
])
def test_ema_bad_hyper_parameters(kw, exc, words):
    with pytest.raises(exc, match=words):
        EMA(np.zeros(2), **kw)


def test_bad_params_and_states():
    with pytest.raises(TypeError, match="params entry"):
        SWA([np.zeros(2), 3.0])
    with pytest.raises(TypeError, match="floating-point"):
        SWA(np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="params is empty"):
        EMA({})
    swa = SWA(np.zeros(2), start=5)
    with pytest.raises(ValueError, match="averaged nothing yet"):
        _ = swa.averaged
    p = np.zeros(2)
    ema = EMA(p)
    p[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ema.update()
    assert ema.n_averaged == 0                      # a refused update changes nothing
    p[0] = 0.0
    ema.update()
    with pytest.raises(ValueError, match="names and shapes"):
        ema.copy_to(np.zeros(3))
    with pytest.raises(ValueError, match="swa_lr"):
        SWALR(SGD(np.zeros(1), lr=0.1), swa_lr=-1.0)
    with pytest.raises(ValueError, match="anneal"):
        SWALR(SGD(np.zeros(1), lr=0.1), swa_lr=0.1, anneal="exp")


# ----------------------------------------------------------------------------
# noise scale


def _known_problem(n, seed):
    """Gradients g_i ~ N(G, Sigma) with G and Sigma known: tr Sigma = 6, |G|^2 = 0.25."""
    rng = np.random.default_rng(seed)
    G = np.array([0.3, -0.4, 0.0])
    A = rng.normal(size=(3, 3))
    Sigma = A @ A.T
    Sigma *= 6.0 / np.trace(Sigma)
    g = rng.multivariate_normal(G, Sigma, size=n)
    return g, G, Sigma


def test_noise_scale_per_example_is_unbiased():
    est = [noise_scale(_known_problem(50, s)[0]) for s in range(400)]
    assert np.mean([e.trace for e in est]) == pytest.approx(6.0, rel=0.03)
    assert np.mean([e.grad_sq for e in est]) == pytest.approx(0.25, rel=0.1)
    many = noise_scale(_known_problem(200_000, 1)[0])
    assert many.b_simple == pytest.approx(6.0 / 0.25, rel=0.05)


def test_noise_scale_population_form_is_exact_for_the_data():
    g = np.random.default_rng(3).normal(size=(40, 4)) + 1.0
    ns = noise_scale(g, ddof=0)
    mean = g.mean(axis=0)
    assert ns.grad_sq == pytest.approx(float(mean @ mean))
    assert ns.trace == pytest.approx(float(((g - mean) ** 2).sum(axis=1).mean()))


def test_two_batch_estimators_recover_trace_and_grad():
    rng = np.random.default_rng(5)
    g, G, Sigma = _known_problem(400_000, 2)
    # |G_B|^2 of batches of 4 and 64 examples drawn independently, 2000 of each
    small = np.array([np.sum(g[rng.integers(0, len(g), 4)].mean(0) ** 2) for _ in range(3000)])
    big = np.array([np.sum(g[rng.integers(0, len(g), 64)].mean(0) ** 2) for _ in range(3000)])
    ns = noise_scale_from_batches(small, big, 4, 64)
    assert ns.trace == pytest.approx(6.0, rel=0.1)
    assert ns.grad_sq == pytest.approx(0.25, rel=0.2)
    # exact expectations in, exact values out
    exact = noise_scale_from_batches(0.25 + 6.0 / 4, 0.25 + 6.0 / 64, 4, 64)
    assert (exact.trace, exact.grad_sq, exact.b_simple) == pytest.approx((6.0, 0.25, 24.0))


def test_fit_critical_batch_recovers_a_known_curve():
    b = 2.0 ** np.arange(0, 10)
    s = 7.0 * (1 + 40.0 / b)
    s_min, b_crit = fit_critical_batch(b, s)
    assert (s_min, b_crit) == pytest.approx((7.0, 40.0))


@pytest.mark.parametrize("call, exc, words", [
    (lambda: noise_scale(np.zeros(5)), ValueError, "2-D"),
    (lambda: noise_scale(np.zeros((1, 3))), ValueError, "at least 2"),
    (lambda: noise_scale(np.full((3, 2), np.nan)), ValueError, "NaN"),
    (lambda: noise_scale(np.zeros((3, 2)), ddof=2), ValueError, "ddof"),
    (lambda: noise_scale_from_batches(1.0, 0.5, 64, 4), ValueError, "swapped"),
    (lambda: noise_scale_from_batches(1.0, 0.5, 0, 4), ValueError, "b_small"),
    (lambda: noise_scale_from_batches(1.0, 0.5, 2, 4.0), ValueError, "b_big"),
    (lambda: noise_scale_from_batches([1.0, 2.0], 0.5, 2, 4), ValueError, "same number"),
    (lambda: noise_scale_from_batches(-1.0, 0.5, 2, 4), ValueError, "sq_small"),
    (lambda: fit_critical_batch([1, 2], [3]), ValueError, "same length"),
    (lambda: fit_critical_batch([1, 2], [3, np.inf]), ValueError, "never reached"),
])
def test_noise_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


@pytest.mark.gpu
def test_ema_and_swa_on_cupy_match_numpy(gpu_backend):
    import cupy

    rng = np.random.default_rng(1)
    seq = rng.normal(size=(6, 4))
    out = {}
    for mod in (np, cupy):
        p = mod.zeros(4)
        ema, swa = EMA(p, decay=0.7, bias_correction=True), SWA(p)
        for th in seq:
            p[...] = mod.asarray(th)
            ema.update()
            swa.update()
        out[mod.__name__] = (backend.to_host(ema.averaged), backend.to_host(swa.averaged))
    np.testing.assert_allclose(out["cupy"][0], out["numpy"][0], atol=1e-12)
    np.testing.assert_allclose(out["cupy"][1], out["numpy"][1], atol=1e-12)


# ----------------------------------------------------------------------------
# steps to target and the batch-size sweep, on a least-squares problem


def _lsq_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=64)

    def loss_and_grad(params, batch):
        Xb, yb = batch
        r = Xb @ params["w"] - yb
        return 0.5 * float(r @ r) / len(yb), {"w": Xb.T @ r / len(yb)}

    return loss_and_grad, {"w": np.zeros(3)}, (X, y)


def test_per_example_gradients_average_to_the_full_gradient():
    loss_and_grad, p, data = _lsq_problem()
    p["w"] += 0.3
    g = per_example_gradients(loss_and_grad, p, data)
    assert g.shape == (64, 3)
    np.testing.assert_allclose(g.mean(axis=0), loss_and_grad(p, data)[1]["w"], atol=1e-14)


def test_steps_to_target_counts_full_batch_steps_exactly():
    loss_and_grad, p0, data = _lsq_problem()
    target = 0.5 * (loss_and_grad(p0, data)[0] + 0.05)
    p, k = {"w": p0["w"].copy()}, 0
    while loss_and_grad(p, data)[0] > target:                 # the same run by hand
        p["w"] -= 0.1 * loss_and_grad(p, data)[1]["w"]
        k += 1
    assert steps_to_target(loss_and_grad, p0, data, target, 64, 0.1, 1000) == k
    assert np.all(p0["w"] == 0)                               # the start is not changed
    assert steps_to_target(loss_and_grad, p0, data, target, 64, 0.1, k - 1) == np.inf
    assert steps_to_target(loss_and_grad, p0, data, target, 64, 50.0, 1000) == np.inf  # diverges


def test_batch_size_sweep_gets_fewer_steps_with_bigger_batches():
    loss_and_grad, p0, data = _lsq_problem()
    sweep = batch_size_sweep(loss_and_grad, p0, data, 0.2, [2, 8, 32], [0.05, 0.1, 0.2, 0.4],
                             max_steps=2000)
    steps = sweep["steps"]
    assert np.all(np.isfinite(steps)) and steps[0] > steps[1] > steps[2]
    for b, s, lr in zip(sweep["batch_sizes"], steps, sweep["best_lr"]):
        assert sweep["tried"][(int(b), float(lr))] == s


def test_swalr_as_a_train_schedule_with_swa():
    # SWA's recipe: anneal to swa_lr, average from the step where the rate is constant.
    x = np.array([3.0, -1.0])
    swa = SWA(x, start=4)
    h = train(x, lambda p, batch: (0.5 * float(p @ p), p.copy()), "sgd", epochs=8, lr=0.5,
              schedule=lambda opt: SWALR(opt, swa_lr=0.1, anneal_steps=3, anneal="linear"),
              callback=swa)
    np.testing.assert_allclose(h.lr, [0.5, 0.5 - 0.4 / 3, 0.5 - 0.8 / 3, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert swa.n_averaged == 5

"""gdlib's SAM against the published two-step algorithm (torch reference), and its API.

The fixture (``tests/fixtures/sam_torch.npz``, made by ``tools/reference/sam.py``
with torch in float64) holds, per step, the gradient at w, the perturbed point
w + e, the gradient there and the parameters after the base step. The replay
feeds the first gradient to ``SAM.step`` and the second through the closure, and
checks both the point where the closure is called (the ascent step) and the
parameters after the step (the base step from w) to 1e-10, relative.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from gdlib import backend
from gdlib.errors import NonFiniteGradientError
from gdlib.optim import SAM, SGD, create
from gdlib.train import minimize, train

FIXTURE = Path(__file__).parent / "fixtures" / "sam_torch.npz"
RTOL = 1e-10
NAMES = ["W1", "b1", "W2", "b2"]


def _load():
    with np.load(FIXTURE) as z:
        cases = {}
        for case in json.loads(str(z["cases"])):
            cases[case] = {what: {n: z[f"{case}/{what}/{n}"] for n in NAMES}
                           for what in ("x0", "grads", "perturbed", "grads_sam", "params")}
            cases[case]["meta"] = json.loads(str(z[f"{case}/meta"]))
        problem = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith("problem/")}
    return cases, problem


CASES, PROBLEM = _load()


def _rel(got: dict, want: dict) -> float:
    num = max(float(np.max(np.abs(got[n] - want[n]))) for n in NAMES)
    den = max(float(np.max(np.abs(want[n]))) for n in NAMES)
    return num / den


def _make(case):
    meta = case["meta"]
    params = {n: case["x0"][n].copy() for n in NAMES}
    opt = SAM(params, base_optimizer=meta["base"], rho=meta["rho"], adaptive=meta["adaptive"],
              **meta["base_hyper"])
    return params, opt


def _replay(name, params, opt, steps):
    case = CASES[name]
    for k in steps:
        seen = {}

        def closure(k=k, seen=seen):
            seen.update({n: params[n].copy() for n in NAMES})
            return 0.0, {n: case["grads_sam"][n][k].copy() for n in NAMES}

        opt.step({n: case["grads"][n][k] for n in NAMES}, closure)
        err_e = _rel(seen, {n: case["perturbed"][n][k] for n in NAMES})
        err_w = _rel(params, {n: case["params"][n][k] for n in NAMES})
        assert err_e <= RTOL, f"{name}: step {k + 1}: the ascent point is off by {err_e:.3g}"
        assert err_w <= RTOL, f"{name}: step {k + 1}: the parameters are off by {err_w:.3g}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_matches_reference(name):
    params, opt = _make(CASES[name])
    steps = CASES[name]["grads"]["W1"].shape[0]
    _replay(name, params, opt, range(steps))
    assert opt.t == steps and opt.base.t == steps
    # The run moved, and (rho > 0) the ascent point really differs from w.
    assert _rel(params, CASES[name]["x0"]) > 1e-2
    if CASES[name]["meta"]["rho"] > 0:
        assert _rel({n: CASES[name]["perturbed"][n][0] for n in NAMES},
                    CASES[name]["x0"]) > 1e-3


def test_fixture_covers_the_variants():
    metas = [c["meta"] for c in CASES.values()]
    assert {m["base"] for m in metas} >= {"sgd", "adam"}
    assert any(m["adaptive"] for m in metas) and any(m["rho"] == 0 for m in metas)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "asam_sgd"])
def test_state_dict_midway(name):
    steps = CASES[name]["grads"]["W1"].shape[0]
    params, opt = _make(CASES[name])
    _replay(name, params, opt, range(steps // 2))
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    params2, opt2 = _make(CASES[name])
    for n in NAMES:
        params2[n][...] = params[n]
    opt2.load_state_dict(saved)
    _replay(name, params2, opt2, range(steps // 2, steps))


# -- the rule itself, on a quadratic ---------------------------------------------------------

A = np.diag([4.0, 1.0])


def _quad_grad(w):
    return A @ w


def test_one_step_by_hand():
    w = np.array([1.0, 2.0])
    opt = SAM(w, base_optimizer="gd", lr=0.1, rho=0.5)
    g = _quad_grad(w)
    e = 0.5 * g / np.linalg.norm(g)
    want = w - 0.1 * _quad_grad(w + e)
    loss = opt.step(g, lambda: (0.5 * float(w @ A @ w), _quad_grad(w)))
    np.testing.assert_allclose(w, want, rtol=1e-12)
    x = np.array([1.0, 2.0]) + e
    assert loss == pytest.approx(0.5 * x @ A @ x)


def test_rho_zero_is_the_base_optimizer():
    w1, w2 = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    sam, sgd = SAM(w1, lr=0.05, momentum=0.9, rho=0.0), SGD(w2, lr=0.05, momentum=0.9)
    for _ in range(20):
        sam.step(_quad_grad(w1), lambda: (0.0, _quad_grad(w1)))
        sgd.step(_quad_grad(w2))
    np.testing.assert_allclose(w1, w2, rtol=1e-15)


def test_minimize_and_train_use_the_closure():
    res = minimize(lambda w: 0.5 * float(w @ A @ w), np.array([1.0, 2.0]), grad=_quad_grad,
                   optimizer="sam", base_optimizer="gd", lr=0.1, rho=0.01, steps=300, tol=1e-6)
    # SAM does not stop at the minimum (it steps from a point rho away), it hovers near it.
    assert res.steps == 300 and res.fun < 1e-4 < res.history.loss[0] * 1e-3
    # train: two evaluations per step, both on the same batch.
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    w = np.zeros(3)
    calls = []

    def loss_and_grad(params, batch):
        Xb, yb = batch
        calls.append((params.copy(), len(yb)))
        r = Xb @ params - yb
        return float(r @ r) / len(yb), 2 * Xb.T @ r / len(yb)

    hist = train(w, loss_and_grad, "sam", data=(X, y), epochs=30, batch_size=10, lr=0.1,
                 rho=0.05, base_optimizer="sgd", momentum=0.5, seed=1)
    assert len(calls) == 2 * hist.steps == 2 * 30 * 4
    assert all(a[1] == b[1] for a, b in zip(calls[::2], calls[1::2]))
    assert not np.allclose(calls[0][0], calls[1][0])          # the second is at w + e
    assert hist.loss[-1] < 1e-2 * hist.loss[0]


def test_schedule_sets_the_base_learning_rate():
    w = np.array([1.0, 2.0])
    opt = SAM(w, base_optimizer="gd", lr=0.2)
    train(w, lambda p, b: (0.5 * float(p @ A @ p), A @ p), opt, epochs=5,
          schedule=lambda o: __import__("gdlib.schedules").schedules.StepLR(o, 1, gamma=0.5))
    assert opt.lr == opt.base.lr == pytest.approx(0.2 * 0.5**5)


def test_create_by_name_and_repr():
    opt = create("sam", np.zeros(2), base_optimizer="adam", lr=0.01, rho=0.1)
    assert "rho=0.1" in repr(opt) and "Adam" in repr(opt)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"rho": -0.1}, ValueError, "rho"),
    ({"rho": float("nan")}, ValueError, "rho"),
    ({"adaptive": "yes"}, TypeError, "adaptive"),
    ({"base_optimizer": "sgdd"}, ValueError, "sgd"),
    ({"base_optimizer": 3}, TypeError, "base_optimizer"),
    ({"base_optimizer": SAM}, ValueError, "SAM"),
    ({"base_optimizer": "lbfgs"}, ValueError, "closure"),
    ({"lr": -1.0}, ValueError, "lr"),
])
def test_bad_arguments_are_named(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        SAM(np.zeros(2), **kwargs)


def test_failed_step_changes_nothing():
    w = np.array([1.0, 2.0])
    opt = SAM(w, base_optimizer="sgd", lr=0.1, momentum=0.9)
    opt.step(_quad_grad(w), lambda: (0.0, _quad_grad(w)))
    before, state = w.copy(), opt.state_dict()

    def boom():
        raise RuntimeError("closure failed")

    for grads, closure, exc in [
        (_quad_grad(w), boom, RuntimeError),
        (_quad_grad(w), lambda: (0.0, np.array([np.nan, 1.0])), NonFiniteGradientError),
        (_quad_grad(w), lambda: (0.0, np.zeros(3)), ValueError),
        (_quad_grad(w), lambda: 1.0, TypeError),
        (np.array([np.inf, 0.0]), lambda: (0.0, _quad_grad(w)), NonFiniteGradientError),
        (_quad_grad(w), "not callable", TypeError),
    ]:
        with pytest.raises(exc):
            opt.step(grads, closure)
        np.testing.assert_array_equal(w, before)
        after = opt.state_dict()
        assert after["t"] == state["t"] and after["base"]["t"] == state["base"]["t"]
        np.testing.assert_array_equal(after["base"]["state"][0]["momentum_buffer"],
                                      state["base"]["state"][0]["momentum_buffer"])


def test_load_state_dict_refuses_a_plain_state():
    opt = SAM(np.zeros(2))
    with pytest.raises(ValueError, match="base"):
        opt.load_state_dict(SGD(np.zeros(2)).state_dict())


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(), reason="no usable GPU")
def test_gpu_matches_cpu():
    def run(device):
        previous = backend.device()
        xp = backend.use(device)
        try:
            w = xp.asarray([1.0, 2.0])
            Ad = xp.asarray(A)
            opt, path = SAM(w, base_optimizer="sgd", lr=0.1, momentum=0.9, rho=0.2), []
            for _ in range(10):
                opt.step(Ad @ w, lambda: (0.0, Ad @ w))
                path.append(backend.to_host(w).copy())
            return path
        finally:
            backend.use(previous)

    for c, g in zip(run("cpu"), run("gpu")):
        np.testing.assert_allclose(g, c, rtol=1e-12)


def test_dict_gradients_are_matched_by_key_and_zero_gradient_is_no_ascent():
    def run(order):
        params = {"a": np.array([1.0, 2.0]), "b": np.array([-1.0])}
        opt = SAM(params, base_optimizer="sgd", lr=0.1, rho=0.3)
        g = {"a": np.array([0.5, -1.0]), "b": np.array([2.0])}
        g_sam = {"a": np.array([0.1, 0.2]), "b": np.array([0.3])}
        opt.step({k: g[k] for k in order}, lambda: (0.0, {k: g_sam[k] for k in order}))
        return params

    one, two = run(["a", "b"]), run(["b", "a"])
    for k in one:
        np.testing.assert_array_equal(one[k], two[k])
    w = np.array([1.0, 2.0])
    seen = []
    SAM(w, lr=0.1).step(np.zeros(2), lambda: (seen.append(w.copy()), np.ones(2)))
    np.testing.assert_array_equal(seen[0], [1.0, 2.0])          # g = 0: no perturbation
    np.testing.assert_allclose(w, [0.9, 1.9])


def test_huge_finite_gradient_is_refused_and_changes_nothing():
    from gdlib.errors import GradientOverflowError

    w = np.array([1.0, 2.0])
    opt = SAM(w, lr=0.1)
    with pytest.raises(GradientOverflowError, match="SAM"):
        opt.step(np.array([1e200, 0.0]), lambda: (0.0, np.ones(2)))
    np.testing.assert_array_equal(w, [1.0, 2.0])
    assert opt.t == 0


def test_nn_fit_trains_with_sam():
    from gdlib import nn

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = nn.Sequential(nn.Dense(4, 8, rng=0), nn.Tanh(), nn.Dense(8, 2, rng=1))
    hist = nn.fit(model, nn.SoftmaxCrossEntropy(), X, y, optimizer="sam", base_optimizer="sgd",
                  lr=0.5, momentum=0.5, rho=0.05, epochs=20, batch_size=16, progress=False)
    assert hist.steps == 80 and hist.epoch_loss[-1] < 0.5 * hist.epoch_loss[0]

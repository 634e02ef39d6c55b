"""gdlib.curvature: Hessian-vector products and power iteration, against dense eigensolvers."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import backend, nn
from gdlib.curvature import (
    fd_hvp,
    flatten,
    gradient_function,
    hessian_matrix,
    lanczos,
    mlp_hvp,
    top_eigenvalue,
    unflatten,
)

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((6, 6))
H_QUAD = Q @ Q.T / 6 + np.diag([5.0, 0, 0, 0, 0, 0])


@pytest.fixture(autouse=True)
def float64():
    old = nn.set_default_dtype("float64")
    yield
    nn.set_default_dtype(old)


def _mlp(act, out, loss):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((15, 3))
    y = rng.standard_normal((15, out)) if isinstance(loss, nn.MSELoss) else rng.integers(0, out, 15)
    model = nn.Sequential(nn.Dense(3, 4, rng=1), act(), nn.Dense(4, 4, rng=2), act(),
                          nn.Dense(4, out, rng=3))
    for p in model.parameters().values():
        p += 0.1 * rng.standard_normal(p.shape)

    def loss_and_grad(params, batch):
        model.zero_grad()
        value = loss(model(X), y)
        model.backward(loss.backward())
        return value, model.gradients()

    return model, X, y, loss_and_grad


def test_fd_hvp_is_exact_on_a_quadratic_and_scale_free():
    w, v = RNG.standard_normal(6), RNG.standard_normal(6)
    for scale in (1e-6, 1.0, 1e6):
        np.testing.assert_allclose(fd_hvp(lambda x: H_QUAD @ x, w, scale * v),
                                   H_QUAD @ (scale * v), rtol=1e-8, atol=1e-9 * scale)
    assert not fd_hvp(lambda x: H_QUAD @ x, w, np.zeros(6)).any()


def test_fd_hvp_error_is_second_order():
    # f(w) = sum(w^4)/4: grad w^3, Hessian diag(3 w^2); the central difference errs by v^3 eps^2.
    w, v = np.array([1.0, -2.0, 0.5]), np.array([1.0, 1.0, 1.0])
    exact = 3 * w**2 * v
    errs = [np.abs(fd_hvp(lambda x: x**3, w, v, h=h) - exact).max() for h in (1e-2, 1e-3)]
    assert 80 < errs[0] / errs[1] < 120          # 10x smaller step, 100x smaller error


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU, nn.Sigmoid, nn.LeakyReLU])
@pytest.mark.parametrize("loss", [nn.MSELoss, nn.SoftmaxCrossEntropy])
def test_mlp_hvp_matches_finite_differences_and_eigvalsh(act, loss):
    model, X, y, lg = _mlp(act, 3, loss())
    hvp = mlp_hvp(model, loss(), X, y)
    assert hvp.dim == model.num_parameters()
    H = hessian_matrix(hvp, hvp.dim)
    w0, grad = gradient_function(lg, model.parameters())
    H_fd = hessian_matrix(lambda v: fd_hvp(grad, w0, v), hvp.dim)
    assert np.abs(H - H_fd).max() <= 1e-6 * np.abs(H).max()
    # the parameters are back where they were
    np.testing.assert_array_equal(flatten(model.parameters()), w0)
    eig = np.linalg.eigvalsh(H)
    top = eig[np.argmax(np.abs(eig))]
    res = top_eigenvalue(hvp, hvp.dim, iters=2000, tol=1e-12, seed=3)
    assert res.converged
    assert res.value == pytest.approx(top, rel=1e-6)
    v = res.vector
    assert np.linalg.norm(H @ v - top * v) <= 1e-3 * abs(top)


def test_power_iteration_history_and_warm_start():
    hvp = lambda v: H_QUAD @ v  # noqa: E731
    res = top_eigenvalue(hvp, 6, iters=500, tol=1e-10, seed=0)
    lam = np.linalg.eigvalsh(H_QUAD)[-1]
    assert res.value == pytest.approx(lam, rel=1e-9)
    assert res.iterations == len(res.history) and res.history[-1] == res.value
    # The Rayleigh quotients rise monotonically for a positive semidefinite H.
    assert np.all(np.diff(res.history) >= -1e-12)
    warm = top_eigenvalue(hvp, 6, tol=1e-10, v0=res.vector)
    assert warm.iterations <= 3 and warm.value == pytest.approx(lam, rel=1e-9)
    again = top_eigenvalue(hvp, 6, iters=500, tol=1e-10, seed=0)
    np.testing.assert_array_equal(again.history, res.history)          # seeded
    capped = top_eigenvalue(hvp, 6, iters=2, tol=0.0)
    assert capped.iterations == 2 and not capped.converged


def test_power_iteration_keeps_the_sign_of_a_dominant_negative_eigenvalue():
    res = top_eigenvalue(lambda v: np.diag([1.0, -3.0]) @ v, 2, iters=200, tol=1e-12)
    assert res.value == pytest.approx(-3.0)


def test_flatten_round_trip():
    params = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([7.0])}
    flat = flatten(params)
    assert flat.tolist() == [0, 1, 2, 3, 4, 5, 7]
    back = unflatten(flat, params)
    assert list(back) == ["a", "b"] and back["a"].shape == (2, 3)
    assert unflatten(flat[:6], np.zeros((2, 3))).shape == (2, 3)
    assert [a.shape for a in unflatten(flat, [params["a"], params["b"]])] == [(2, 3), (1,)]


@pytest.mark.parametrize("call, exc, words", [
    (lambda: fd_hvp(None, np.zeros(2), np.ones(2)), TypeError, "grad"),
    (lambda: fd_hvp(lambda w: w, np.zeros(2), np.ones(3)), ValueError, "v has length 3"),
    (lambda: fd_hvp(lambda w: w, np.zeros((2, 2)), np.ones(2)), ValueError, "w must be a 1-d"),
    (lambda: fd_hvp(lambda w: w, np.zeros(2), np.array([np.nan, 1])), ValueError, "v holds NaN"),
    (lambda: fd_hvp(lambda w: w, np.zeros(2), np.ones(2), h=0), ValueError, "h"),
    (lambda: fd_hvp(lambda w: w[:1], np.zeros(2), np.ones(2)), ValueError, "grad"),
    (lambda: top_eigenvalue(None, 2), TypeError, "hvp"),
    (lambda: top_eigenvalue(lambda v: v, 0), ValueError, "dim"),
    (lambda: top_eigenvalue(lambda v: v, 2, iters=0), ValueError, "iters"),
    (lambda: top_eigenvalue(lambda v: v, 2, tol=-1), ValueError, "tol"),
    (lambda: top_eigenvalue(lambda v: v, 2, v0=np.zeros(2)), ValueError, "v0"),
    (lambda: top_eigenvalue(lambda v: v, 2, v0=np.ones(3)), ValueError, "v0"),
    (lambda: top_eigenvalue(lambda v: v[:1], 2), ValueError, "hvp returned 1"),
    (lambda: top_eigenvalue(lambda v: v * np.nan, 2), ValueError, "NaN"),
    (lambda: hessian_matrix(lambda v: v, 1.5), TypeError, "dim"),
    (lambda: unflatten(np.ones(3), np.zeros(2)), ValueError, "length 2"),
    (lambda: flatten([]), ValueError, "params is empty"),
    (lambda: gradient_function(3, np.zeros(2)), TypeError, "loss_and_grad"),
])
def test_bad_input_is_named(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_mlp_hvp_refuses_what_it_cannot_do():
    X, y = np.zeros((4, 3)), np.zeros((4, 2))
    with pytest.raises(TypeError, match="layer 1 is Dropout"):
        mlp_hvp(nn.Sequential(nn.Dense(3, 2), nn.Dropout(0.1)), nn.MSELoss(), X, y)
    with pytest.raises(TypeError, match="loss must be"):
        mlp_hvp(nn.Dense(3, 2), nn.BCEWithLogits(), X, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        mlp_hvp(nn.Dense(3, 2), nn.SoftmaxCrossEntropy(label_smoothing=0.1), X, y[:, 0])
    with pytest.raises(ValueError, match="y has 3 rows"):
        mlp_hvp(nn.Dense(3, 2), nn.MSELoss(), X, y[:3])
    with pytest.raises(ValueError, match="X holds NaN"):
        mlp_hvp(nn.Dense(3, 2), nn.MSELoss(), X * np.nan, y)
    with pytest.raises(ValueError, match="v has length"):
        mlp_hvp(nn.Dense(3, 2), nn.MSELoss(), X, y)(np.ones(3))


def test_mlp_hvp_leaves_the_model_alone():
    model, X, y, lg = _mlp(nn.Tanh, 2, nn.MSELoss())
    lg(None, None)
    grads = {k: g.copy() for k, g in model.gradients().items()}
    before = flatten(model.parameters())
    mlp_hvp(model, nn.MSELoss(), X, y)(np.ones(model.num_parameters()))
    np.testing.assert_array_equal(flatten(model.parameters()), before)
    for k, g in model.gradients().items():
        np.testing.assert_array_equal(g, grads[k])


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(), reason="no usable GPU")
def test_gpu_matches_cpu():
    def run(device):
        previous = backend.device()
        backend.use(device)
        try:
            model, X, y, _ = _mlp(nn.Tanh, 2, nn.MSELoss())
            hvp = mlp_hvp(model, nn.MSELoss(), backend.asarray(X), backend.asarray(y))
            res = top_eigenvalue(hvp, hvp.dim, iters=300, tol=1e-12)
            return res.value, backend.to_host(hvp(backend.asarray(np.ones(hvp.dim))))
        finally:
            backend.use(previous)

    (c, hc), (g, hg) = run("cpu"), run("gpu")
    assert g == pytest.approx(c, rel=1e-9)
    np.testing.assert_allclose(hg, hc, rtol=1e-9, atol=1e-12)


def test_lanczos_finds_both_ends_faster_than_power_iteration():
    model, X, y, _ = _mlp(nn.Tanh, 3, nn.MSELoss())
    hvp = mlp_hvp(model, nn.MSELoss(), X, y)
    eig = np.linalg.eigvalsh(hessian_matrix(hvp, hvp.dim))
    ritz = lanczos(hvp, hvp.dim, steps=hvp.dim, seed=1)
    np.testing.assert_allclose(ritz, eig, atol=1e-9 * np.abs(eig).max())     # full space
    few = lanczos(hvp, hvp.dim, steps=25, seed=1)
    assert few[-1] == pytest.approx(eig[-1], rel=1e-8)
    assert few[0] == pytest.approx(eig[0], rel=1e-6)
    power = top_eigenvalue(hvp, hvp.dim, iters=25, tol=0.0, seed=1)
    assert abs(few[-1] - eig[-1]) < abs(power.value - eig[-1])
    # A diagonal operator: exhausted early, exact.
    np.testing.assert_allclose(lanczos(lambda v: np.array([2.0, 2.0, 5.0]) * v, 3, steps=10),
                               [2.0, 5.0])


@pytest.mark.parametrize("call, exc, words", [
    (lambda: lanczos(None, 3), TypeError, "hvp"),
    (lambda: lanczos(lambda v: v, 3, steps=0),
     ValueError, "steps"),
    (lambda: lanczos(lambda v: v[:2], 3), ValueError,
     "hvp returned 2"),
    (lambda: lanczos(lambda v: v * np.inf, 3),
     ValueError, "NaN or infinity"),
])
def test_lanczos_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()

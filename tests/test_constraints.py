"""gdlib.constraints: projections checked against a QP solver and by their optimality."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize

from gdlib import backend
from gdlib.constraints import (
    ProjectedGD,
    gradient_mapping,
    project_box,
    project_l2_ball,
    project_simplex,
)
from gdlib.train import minimize


def _qp_simplex(v, z):
    """min ||x - v||^2 on the simplex, by SLSQP (the brute-force reference)."""
    n = len(v)
    res = scipy_minimize(lambda x: 0.5 * np.sum((x - v) ** 2), np.full(n, z / n),
                         jac=lambda x: x - v, method="SLSQP", bounds=[(0, None)] * n,
                         constraints=[{"type": "eq", "fun": lambda x: x.sum() - z,
                                       "jac": lambda x: np.ones(n)}],
                         options={"ftol": 1e-15, "maxiter": 500})
    return res.x


@pytest.mark.parametrize("seed", range(6))
def test_simplex_projection_matches_a_qp_solver(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    v = rng.normal(scale=2.0, size=n)
    z = float(rng.uniform(0.5, 3.0))
    got = project_simplex(v, z)
    np.testing.assert_allclose(got, _qp_simplex(v, z), atol=1e-6)
    assert got.min() >= 0 and abs(got.sum() - z) < 1e-12


def test_simplex_projection_by_its_optimality_conditions():
    # x_i = max(v_i - theta, 0): one threshold; the positive entries are v_i - theta.
    rng = np.random.default_rng(7)
    for _ in range(50):
        v = rng.normal(size=12)
        x = project_simplex(v)
        pos = x > 0
        theta = (v - x)[pos]
        np.testing.assert_allclose(theta, theta[0], atol=1e-12)
        assert np.all(v[~pos] <= theta[0] + 1e-12)      # the zeros lie below the threshold


def test_simplex_projection_small_cases_by_hand():
    np.testing.assert_allclose(project_simplex([0.2, 0.3, 0.5]), [0.2, 0.3, 0.5])  # inside
    np.testing.assert_allclose(project_simplex([1.0, 1.0]), [0.5, 0.5])
    np.testing.assert_allclose(project_simplex([2.0, 0.0, -1.0]), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(project_simplex([0.9, 0.6, -3.0]), [0.65, 0.35, 0.0])
    np.testing.assert_allclose(project_simplex([5.0]), [1.0])
    rows = project_simplex(np.array([[0.9, 0.6, -3.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(rows, [[0.65, 0.35, 0.0], [1 / 3, 1 / 3, 1 / 3]])


def test_box_and_ball():
    np.testing.assert_allclose(project_box([-1.0, 0.5, 3.0], 0.0, 1.0), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(project_box([-1.0, 5.0], [-2.0, 0.0], [0.0, np.inf]),
                               [-1.0, 5.0])
    np.testing.assert_allclose(project_l2_ball([3.0, 4.0], 1.0), [0.6, 0.8])
    np.testing.assert_allclose(project_l2_ball([0.3, 0.4], 1.0), [0.3, 0.4])
    np.testing.assert_allclose(project_l2_ball([4.0, 4.0], 1.0, center=[1.0, 0.0]), [1.6, 0.8])
    rng = np.random.default_rng(1)
    for _ in range(20):   # the projection is the closest point: no sampled point is closer
        y = rng.normal(scale=3, size=3)
        p = project_l2_ball(y, 1.5)
        pts = rng.normal(size=(500, 3))
        pts = pts / np.linalg.norm(pts, axis=1, keepdims=True) * 1.5 * rng.random((500, 1))
        assert np.linalg.norm(y - p) <= np.linalg.norm(y - pts, axis=1).min() + 1e-12


def test_projected_gd_through_minimize_matches_the_constrained_minimum():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 4))
    Q = A.T @ A / 6 + 0.1 * np.eye(4)
    c = rng.normal(size=4)

    def f(w):
        return float(0.5 * w @ Q @ w - c @ w)

    def grad(w):
        return Q @ w - c

    L = np.linalg.eigvalsh(Q).max()
    res = minimize(f, np.full(4, 0.25), ProjectedGD, grad=grad, lr=1 / L,
                   project=project_simplex, steps=3000, tol=0.0)
    ref = scipy_minimize(f, np.full(4, 0.25), jac=grad, method="SLSQP", bounds=[(0, None)] * 4,
                         constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                         options={"ftol": 1e-15, "maxiter": 500}).x
    np.testing.assert_allclose(res.x, ref, atol=1e-6)
    assert np.linalg.norm(gradient_mapping(res.x, grad(res.x), 1 / L, project_simplex)) < 1e-8
    assert np.all(res.history.params.min(axis=1) >= 0)          # every iterate feasible
    np.testing.assert_allclose(res.history.params.sum(axis=1), 1.0, atol=1e-12)


def test_gradient_mapping_without_constraints_is_the_gradient():
    g = np.array([1.0, -2.0])
    np.testing.assert_allclose(gradient_mapping(np.zeros(2), g, 0.3, lambda y: y), g)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="z"):
        project_simplex([1.0, 2.0], z=0.0)
    with pytest.raises(ValueError, match="NaN"):
        project_simplex([1.0, np.nan])
    with pytest.raises(ValueError, match="v must be"):
        project_simplex(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        project_box([1.0], 2.0, 1.0)
    with pytest.raises(ValueError, match="radius"):
        project_l2_ball([1.0], -1.0)
    with pytest.raises(TypeError, match="project must be"):
        ProjectedGD(np.zeros(2), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        ProjectedGD(np.zeros(2), lr=-0.1, project=project_simplex)
    with pytest.raises(ValueError, match="keep the shape"):
        ProjectedGD(np.zeros(2), lr=0.1, project=lambda y: y[:1]).step(np.ones(2))


def test_arrow_hurwicz_finds_the_kkt_point_and_the_shadow_price():
    from gdlib.constraints import arrow_hurwicz

    Q = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]])
    mu = np.array([10.0, 8.0, 9.0])
    p = np.array([1.0, 2.0, 1.5])

    def kkt(m):
        K = np.block([[Q, p[:, None]], [p[None, :], np.zeros((1, 1))]])
        sol = np.linalg.solve(K, np.concatenate([mu, [m]]))
        return sol[:3], sol[3]

    x_star, lam_star = kkt(6.0)
    x, lam, path = arrow_hurwicz(lambda x: mu - Q @ x, np.ones(3), p, 6.0, lr=0.1, steps=3000)
    np.testing.assert_allclose(x, x_star, atol=1e-9)
    assert lam == pytest.approx(lam_star, abs=1e-9)
    assert path.shape == (3001, 4)

    def u_star(m):
        xm = kkt(m)[0]
        return mu @ xm - 0.5 * xm @ Q @ xm

    assert lam == pytest.approx((u_star(6.001) - u_star(5.999)) / 0.002, rel=1e-6)
    with pytest.raises(ValueError, match="lr"):
        arrow_hurwicz(lambda x: x, np.ones(3), p, 6.0, lr=0.0, steps=3)
    with pytest.raises(ValueError, match="same length"):
        arrow_hurwicz(lambda x: x, np.ones(3), p[:2], 6.0, lr=0.1, steps=3)


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason="no usable GPU (gdlib.backend.gpu_available() is False)")
def test_projections_agree_on_cupy_and_numpy():
    rng = np.random.default_rng(3)
    V = rng.normal(size=(5, 7))
    previous = backend.device()
    out = {}
    try:
        for dev in ("cpu", "gpu"):
            backend.use(dev)
            Vd = backend.asarray(V)
            out[dev] = [backend.to_host(a) for a in (
                project_simplex(Vd), project_simplex(Vd[0], z=2.0), project_box(Vd, -0.5, 0.5),
                project_l2_ball(Vd[1], 0.7))]
    finally:
        backend.use(previous)
    for g, c in zip(out["gpu"], out["cpu"]):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-14)


def test_projected_gd_through_train_keeps_mixture_weights_on_the_simplex():
    """Mixture weights fitted by mini-batch projected SGD through gdlib.train.train."""
    from gdlib.train import train

    rng = np.random.default_rng(2)
    B = rng.random((200, 4))                         # 4 component densities at 200 points
    w_true = np.array([0.5, 0.3, 0.2, 0.0])
    y = B @ w_true + 0.01 * rng.normal(size=200)
    w = np.full(4, 0.25)
    seen = []

    def loss_and_grad(w, batch):
        Bb, yb = batch
        r = Bb @ w - yb
        seen.append(w.copy())
        return 0.5 * float(r @ r) / len(yb), Bb.T @ r / len(yb)

    opt = ProjectedGD(w, lr=0.5, project=project_simplex)
    train(w, loss_and_grad, opt, data=(B, y), epochs=200, batch_size=50, seed=0)
    seen = np.array(seen)
    assert seen.min() >= 0 and np.allclose(seen.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(w, w_true, atol=0.03)

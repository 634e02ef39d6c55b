"""gdlib.functions: values, gradients, Hessians and known minima of the test functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlib import functions as F
from gdlib.backend import to_host
from gdlib.gradcheck import check_gradient

NAMES = sorted(F.REGISTRY)

#: Non-default constructions that must work just as well.
VARIANTS = [
    ("quadratic", dict(condition_number=50.0, dim=4, angle=0.6, center=[1.0, -2.0, 0.5, 3.0])),
    ("quadratic", dict(dim=1)),
    ("rosenbrock", dict(a=2.0, b=10.0)),
    ("rastrigin", dict(dim=3, A=5.0)),
    ("styblinski_tang", dict(dim=3)),
    ("double_well", dict(tilt=-0.5)),
    ("parabola", dict(curvature=0.5, center=-1.0)),
]
ALL = [(n, {}) for n in NAMES] + VARIANTS
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(ALL)]


def random_points(f, n=5, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([b[0] for b in f.bounds])
    hi = np.array([b[1] for b in f.bounds])
    return [lo + (hi - lo) * rng.random(f.dim) for _ in range(n)]


@pytest.mark.parametrize("name, kw", ALL, ids=IDS)
def test_gradient_and_hessian_pass_finite_differences(name, kw):
    f = F.get(name, **kw)
    for x in random_points(f):
        g = check_gradient(f, f.grad, x, eps=1e-6, rtol=1e-6)
        assert g.ok, f"{name} gradient: {g}"
        h = check_gradient(f.grad, f.hessian, x, eps=1e-6, rtol=1e-6)
        assert h.ok, f"{name} Hessian: {h}"


@pytest.mark.parametrize("name, kw", ALL, ids=IDS)
def test_attributes_and_shapes(name, kw):
    f = F.get(name, **kw)
    d = f.dim
    assert f.name == name and isinstance(f.name, str)
    assert len(f.bounds) == d and all(lo < hi for lo, hi in f.bounds)
    assert f.start.shape == (d,)
    for lo_hi, s in zip(f.bounds, to_host(f.start)):
        assert lo_hi[0] <= s <= lo_hi[1]
    x = f.start
    assert np.ndim(to_host(f(x))) == 0
    assert f.grad(x).shape == (d,)
    assert f.hessian(x).shape == (d, d)
    H = to_host(f.hessian(x))
    np.testing.assert_allclose(H, H.T, rtol=1e-14, atol=1e-12)


@pytest.mark.parametrize("name, kw", ALL, ids=IDS)
def test_grid_evaluation_matches_pointwise(name, kw):
    f = F.get(name, **kw)
    rng = np.random.default_rng(1)
    grid = rng.uniform(-1.5, 1.5, size=(f.dim, 3, 4))
    values = to_host(f(grid))
    grads = to_host(f.grad(grid))
    hess = to_host(f.hessian(grid))
    assert values.shape == (3, 4) and grads.shape == (f.dim, 3, 4)
    assert hess.shape == (f.dim, f.dim, 3, 4)
    for i in range(3):
        for j in range(4):
            x = grid[:, i, j]
            assert values[i, j] == pytest.approx(float(f(x)), rel=1e-13, abs=1e-13)
            np.testing.assert_allclose(grads[:, i, j], to_host(f.grad(x)), rtol=1e-13, atol=1e-12)
            np.testing.assert_allclose(hess[:, :, i, j], to_host(f.hessian(x)), rtol=1e-13,
                                       atol=1e-12)


@pytest.mark.parametrize("name, kw", ALL, ids=IDS)
def test_minima_are_stationary_and_minimal(name, kw):
    f = F.get(name, **kw)
    if not f.minima:
        assert f.fmin == -math.inf
        for s in f.saddles:
            assert np.abs(to_host(f.grad(s))).max() == 0
        return
    assert float(f(f.minima[0])) == pytest.approx(f.fmin, abs=1e-12)
    for m in f.minima:
        assert np.abs(to_host(f.grad(m))).max() < 1e-12 * max(1.0, abs(f.fmin)) + 1e-12
        eig = np.linalg.eigvalsh(to_host(f.hessian(m)))
        assert eig.min() > 0, f"{name}: Hessian at {m} is not positive definite"
        assert float(f(m)) >= f.fmin - 1e-12
    # No random point in the window beats the global minimum.
    rng = np.random.default_rng(2)
    lo = np.array([b[0] for b in f.bounds])[:, None]
    hi = np.array([b[1] for b in f.bounds])[:, None]
    pts = lo + (hi - lo) * rng.random((f.dim, 20000))
    assert to_host(f(pts)).min() >= f.fmin - 1e-9


def test_known_values():
    assert float(F.rosenbrock()([1.0, 1.0])) == 0.0
    assert float(F.rosenbrock()([-1.2, 1.0])) == pytest.approx(24.2)
    assert float(F.himmelblau()([0.0, 0.0])) == 170.0
    assert float(F.beale()([0.0, 0.0])) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert float(F.rastrigin(dim=2)([1.0, 1.0])) == pytest.approx(2.0)
    assert float(F.saddle()([1.0, 2.0])) == -3.0
    assert float(F.monkey_saddle()([1.0, 1.0])) == -2.0
    assert float(F.parabola()([3.0])) == 9.0
    assert F.styblinski_tang(dim=2).fmin == pytest.approx(-78.33233, abs=1e-5)
    assert F.six_hump_camel().fmin == pytest.approx(-1.0316, abs=1e-4)
    assert len(F.himmelblau().minima) == 4
    assert len(F.six_hump_camel().minima) == 6
    assert len(F.styblinski_tang(dim=3).minima) == 8


def test_double_well_has_a_deeper_and_a_shallower_minimum():
    f = F.double_well()
    (glob, loc) = f.minima
    assert float(f(glob)) < float(f(loc))
    assert float(glob[0]) < 0 < float(loc[0])
    assert float(f(f.saddles[0])) > float(f(loc))   # the hump between them
    # The default start rolls into the local (shallow) well.
    x = np.array(f.start, dtype=float)
    for _ in range(500):
        x -= 0.05 * to_host(f.grad(x))
    assert x[0] == pytest.approx(float(loc[0]), abs=1e-8)


def test_quadratic_structure():
    f = F.quadratic(condition_number=100.0, dim=3, angle=0.4, center=[1.0, 2.0, 3.0])
    A = to_host(f.A)
    eig = np.linalg.eigvalsh(A)
    np.testing.assert_allclose(eig, [1.0, 10.0, 100.0], rtol=1e-12)
    assert (f.L, f.mu) == pytest.approx((100.0, 1.0))
    assert f.condition_number == pytest.approx(100.0)
    np.testing.assert_allclose(np.linalg.solve(A, to_host(f.b)), [1.0, 2.0, 3.0], rtol=1e-12)
    x = np.array([0.3, -0.7, 2.0])
    want = 0.5 * x @ A @ x - to_host(f.b) @ x + 0.5 * np.array([1.0, 2, 3]) @ A @ [1.0, 2, 3]
    assert float(f(x)) == pytest.approx(want, rel=1e-12)
    # angle=0: axis aligned, the steep direction last.
    g = F.quadratic(condition_number=10.0)
    np.testing.assert_allclose(to_host(g.A), np.diag([1.0, 10.0]))


def test_errors():
    with pytest.raises(ValueError, match="unknown test function 'rosenbrok'.*rosenbrock"):
        F.get("rosenbrok")
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        F.rosenbrock()(np.zeros(3))
    with pytest.raises(ValueError, match="condition_number"):
        F.quadratic(condition_number=0.5)
    with pytest.raises(ValueError, match="dim"):
        F.rastrigin(dim=0)
    with pytest.raises(ValueError, match="tilt"):
        F.double_well(tilt=2.0)
    assert F.get("Six-Hump-Camel").name == "six_hump_camel"


def test_plot_grid():
    X, Y, Z = F.himmelblau().grid(30)
    assert X.shape == Y.shape == Z.shape == (30, 30)
    assert Z.min() >= 0
    with pytest.raises(ValueError, match="2-D"):
        F.rastrigin(dim=3).grid()

"""gdlib.linesearch: Armijo backtracking and the exact step on quadratics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gdlib import functions as F
from gdlib.backend import to_host
from gdlib.linesearch import armijo_holds, backtracking, exact_quadratic


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "beale", "rastrigin", "quadratic",
                                  "six_hump_camel", "styblinski_tang"])
def test_armijo_condition_holds_and_is_the_first_that_does(name):
    f = F.get(name)
    rng = np.random.default_rng(3)
    for _ in range(10):
        lo = np.array([b[0] for b in f.bounds])
        hi = np.array([b[1] for b in f.bounds])
        x = lo + (hi - lo) * rng.random(f.dim)
        g = to_host(f.grad(x))
        c, rho = 1e-4, 0.5
        alpha = backtracking(f, f.grad, x, c=c, rho=rho)
        assert isinstance(alpha, float) and alpha > 0
        f_new = float(f(x - alpha * g))
        assert f_new <= float(f(x)) - c * alpha * g @ g          # Armijo
        if alpha < 1.0:                                         # the larger step failed
            assert not armijo_holds(f, x, -g, alpha / rho, float(f(x)), -(g @ g), c)


def test_custom_direction_and_parameters():
    f = F.quadratic(condition_number=10.0)
    x = np.array([3.0, 1.0])
    d = np.array([-1.0, 0.0])                                   # descends: g = (3, 10)
    alpha = backtracking(f, f.grad, x, direction=d, lr0=8.0, rho=0.25)
    assert alpha in {8.0 * 0.25**k for k in range(10)}
    assert float(f(x + alpha * d)) <= float(f(x)) + 1e-4 * alpha * (-3.0)
    # a precomputed gradient works too
    assert backtracking(f, to_host(f.grad(x)), x, direction=d, lr0=8.0, rho=0.25) == alpha


def test_gd_with_backtracking_converges_on_rosenbrock():
    f = F.rosenbrock()
    x = np.array(to_host(f.start), dtype=float)
    values = [float(f(x))]
    for _ in range(3000):
        g = to_host(f.grad(x))
        x = x - backtracking(f, f.grad, x) * g
        values.append(float(f(x)))
    assert np.all(np.diff(values) < 0)                          # Armijo: every step descends
    assert values[-1] < 1e-4


def test_errors():
    f = F.parabola()
    x = np.array([1.0])
    with pytest.raises(ValueError, match="descent direction"):
        backtracking(f, f.grad, x, direction=np.array([1.0]))
    with pytest.raises(ValueError, match="c="):
        backtracking(f, f.grad, x, c=1.5)
    with pytest.raises(ValueError, match="rho"):
        backtracking(f, f.grad, x, rho=1.0)
    with pytest.raises(ValueError, match="lr0"):
        backtracking(f, f.grad, x, lr0=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        backtracking(f, f.grad, x, max_iter=-1)


def test_warns_when_no_step_is_found():
    f = F.parabola()
    x = np.array([1.0])
    wrong_grad = lambda v: np.array([-1e-3])  # noqa: E731  (claims descent to the right)
    with pytest.warns(RuntimeWarning, match="Armijo"):
        alpha = backtracking(f, wrong_grad, x, direction=np.array([1.0]), max_iter=5)
    assert alpha == 0.5**5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backtracking(f, f.grad, x)                                # a good call does not warn


def test_exact_step_minimizes_quadratic_along_the_line():
    f = F.quadratic(condition_number=20.0, dim=3, angle=0.7, center=[1.0, -1.0, 0.5])
    A = to_host(f.A)
    rng = np.random.default_rng(5)
    for _ in range(5):
        x = rng.standard_normal(3) * 3
        g = to_host(f.grad(x))
        for d in (None, rng.standard_normal(3)):
            dd = -g if d is None else d
            alpha = exact_quadratic(A, g, d)
            phi = lambda a: float(f(x + a * dd))  # noqa: E731, B023
            # the derivative of φ vanishes at α*, and φ is larger on both sides
            assert to_host(f.grad(x + alpha * dd)) @ dd == pytest.approx(0.0, abs=1e-10)
            assert phi(alpha) < phi(alpha * 0.99) and phi(alpha) < phi(alpha * 1.01)
        assert exact_quadratic(A, g) == pytest.approx(g @ g / (g @ A @ g), rel=1e-14)


def test_exact_step_one_step_on_isotropic_quadratic():
    f = F.quadratic(condition_number=1.0, center=[2.0, -3.0])
    x = np.array([5.0, 7.0])
    g = to_host(f.grad(x))
    x_new = x - exact_quadratic(to_host(f.A), g) * g
    np.testing.assert_allclose(x_new, [2.0, -3.0], atol=1e-14)


def test_exact_step_errors():
    with pytest.raises(ValueError, match="no minimum"):
        exact_quadratic(np.diag([1.0, -1.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="shapes"):
        exact_quadratic(np.eye(3), np.ones(2))
    assert exact_quadratic(np.eye(2), np.zeros(2)) == 0.0

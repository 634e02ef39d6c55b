"""gdlib.rates: fitted slopes, the diagonal quadratic, Nesterov's worst-case quadratic."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import rates
from gdlib.train import minimize


def test_fit_slope_recovers_a_power_law_and_matches_polyfit():
    k = np.arange(1.0, 200.0)
    assert rates.fit_slope(k, 7.0 * k ** -1.5) == pytest.approx(-1.5, abs=1e-12)
    rng = np.random.default_rng(0)
    y = 2.0 / k * np.exp(0.3 * rng.normal(size=k.size))
    assert rates.fit_slope(k, y) == pytest.approx(np.polyfit(np.log(k), np.log(y), 1)[0],
                                                  rel=1e-12)


def test_semilog_slope_and_per_step_factor_of_a_geometric_decay():
    k = np.arange(0, 50)
    y = 3.0 * 0.9 ** k
    assert rates.fit_slope(k, y, scale="semilog") == pytest.approx(np.log(0.9), rel=1e-12)
    assert rates.per_step_factor(k, y) == pytest.approx(0.9, rel=1e-12)


@pytest.mark.parametrize(("x", "y", "scale", "words"), [
    ([1, 2, 3], [1, 2], "loglog", "same length"),
    ([1], [1], "loglog", "at least 2"),
    ([1, 2], [1, 0], "loglog", "positive"),
    ([0, 1], [1, 2], "loglog", "start at step 1"),
    ([2, 2], [1, 2], "loglog", "two different"),
    ([1, np.nan], [1, 2], "loglog", "finite"),
    ([1, 2], [1, 2], "linear", "scale"),
])
def test_fit_slope_refuses_bad_input_with_a_message(x, y, scale, words):
    with pytest.raises(ValueError, match=words):
        rates.fit_slope(x, y, scale=scale)


def test_diagonal_quadratic_value_gradient_hessian():
    lam = np.array([0.5, 2.0, 3.0])
    f = rates.diagonal_quadratic(lam, start=[1.0, -1.0, 2.0])
    x = np.array([1.0, -2.0, 0.5])
    assert float(f(x)) == pytest.approx(0.5 * np.sum(lam * x * x))
    assert np.allclose(f.grad(x), lam * x)
    assert np.allclose(f.hessian(x), np.diag(lam))
    assert (f.L, f.mu, f.fmin) == (3.0, 0.5, 0.0)
    assert np.allclose(f.start, [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="eigenvalues"):
        rates.diagonal_quadratic([1.0, -1.0])
    with pytest.raises(ValueError, match="start"):
        rates.diagonal_quadratic([1.0, 2.0], start=[1.0])


def test_gradient_descent_on_the_spread_quadratic_has_slope_minus_one():
    f = rates.diagonal_quadratic(np.geomspace(1e-9, 1.0, 200))
    run = minimize(f, None, optimizer="gd", lr=1.0, steps=500, tol=0)
    late = run.history.step >= 20
    assert rates.fit_slope(run.history.step[late], run.history.loss[late]) == \
        pytest.approx(-1.0, abs=0.05)


@pytest.mark.parametrize("dim", [5, 21])
def test_worst_case_quadratic_minimum_gradient_and_hessian(dim):
    f = rates.worst_case_quadratic(dim=dim, L=2.0)
    x_star = f.minima[0]
    assert np.allclose(f.grad(x_star), 0.0, atol=1e-12)
    assert float(f(x_star)) == pytest.approx(f.fmin, rel=1e-12)
    H = f.hessian(x_star)
    eig = np.linalg.eigvalsh(H)
    assert eig.min() > 0 and eig.max() <= f.L + 1e-12            # convex and L-smooth
    x = np.random.default_rng(1).normal(size=dim)
    eps = 1e-6
    fd = np.array([(float(f(x + eps * e)) - float(f(x - eps * e))) / (2 * eps)
                   for e in np.eye(dim)])
    assert np.allclose(fd, f.grad(x), atol=1e-6)


def test_gradient_methods_respect_the_lower_bound():
    for k in (4, 16, 64):
        f = rates.worst_case_quadratic(dim=2 * k + 1)
        dist_sq = float(np.sum((f.start - f.minima[0]) ** 2))
        for hyper in ({"optimizer": "gd", "lr": 1.0},
                      {"optimizer": "sgd", "lr": 1.0, "momentum": 0.9, "nesterov": True}):
            run = minimize(f, None, steps=k, tol=0, **hyper)
            assert run.fun - f.fmin >= rates.first_order_lower_bound(k, f.L, dist_sq)


def test_first_order_lower_bound_values_and_errors():
    assert rates.first_order_lower_bound(0, 1.0, 1.0) == pytest.approx(3 / 32)
    assert np.allclose(rates.first_order_lower_bound([1, 3], 2.0, 4.0), [3 * 8 / 128, 3 * 8 / 512])
    with pytest.raises(ValueError, match="k must be >= 0"):
        rates.first_order_lower_bound(-1, 1.0, 1.0)
    with pytest.raises(ValueError, match="L"):
        rates.worst_case_quadratic(dim=5, L=0.0)

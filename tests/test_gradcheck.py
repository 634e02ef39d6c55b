"""gdlib.gradcheck: central differences and the gradient check's verdict."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import functions as F
from gdlib.backend import to_host
from gdlib.gradcheck import GradCheck, check_gradient, numerical_gradient, relative_error


def test_central_differences_are_second_order():
    # For f = sin, the error of the central difference is about eps² |cos x| / 6.
    x = np.array([0.7])
    for eps in (1e-2, 1e-3):
        num = to_host(numerical_gradient(lambda v: np.sin(v).sum(), x, eps=eps))
        err = abs(num[0] - np.cos(0.7))
        assert err == pytest.approx(eps**2 * np.cos(0.7) / 6, rel=1e-2)


def test_any_shape_and_jacobian():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4))
    C = rng.standard_normal((3, 4))
    num = to_host(numerical_gradient(lambda w: (C * w**2).sum(), W))
    assert num.shape == (3, 4)
    np.testing.assert_allclose(num, 2 * C * W, rtol=1e-7, atol=1e-9)
    M = rng.standard_normal((2, 3))
    jac = to_host(numerical_gradient(lambda v: M @ v, np.ones(3)))
    assert jac.shape == (2, 3)
    np.testing.assert_allclose(jac, M, rtol=1e-8)


def test_x_is_not_modified_and_ints_work():
    x = np.array([1.0, 2.0])
    numerical_gradient(lambda v: (v**2).sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    g = to_host(numerical_gradient(lambda v: (v**2).sum(), [1, 2]))
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-8)


def test_correct_gradient_passes():
    f = F.rosenbrock()
    res = check_gradient(f, f.grad, np.array([-0.5, 0.8]))
    assert isinstance(res, GradCheck) and res.ok and bool(res)
    assert res.max_rel_error < 1e-8
    assert res.analytic.shape == res.numeric.shape == (2,)
    text = str(res)
    assert "worst relative error" in text and text.endswith("OK")


def test_wrong_gradient_is_caught_at_the_right_index():
    f = F.rastrigin(dim=4)
    x = np.array([0.3, -1.1, 0.7, 2.2])

    def wrong(v):
        g = np.array(to_host(f.grad(v)), copy=True)
        g[2] *= 1.01                       # a 1% error in one entry
        return g

    res = check_gradient(f, wrong, x)
    assert not res.ok
    assert res.index == (2,)
    assert res.max_rel_error == pytest.approx(0.01 / 2.01, rel=1e-4)
    assert "FAILED" in str(res) and "(2,)" in str(res)


def test_sign_error_gives_relative_error_one():
    f = F.himmelblau()
    x = np.array([1.0, 1.5])
    res = check_gradient(f, lambda v: -f.grad(v), x)
    assert not res.ok and res.max_rel_error == pytest.approx(1.0)


def test_wrong_hessian_entry_is_located():
    f = F.beale()
    x = np.array([1.2, 0.4])

    def wrong_hessian(v):
        H = np.array(to_host(f.hessian(v)), copy=True)
        H[1, 0] += 0.5                     # a non-symmetric mistake
        return H

    res = check_gradient(f.grad, wrong_hessian, x)
    assert not res.ok and res.index == (1, 0)


def test_shape_mismatch_and_precomputed_gradient():
    f = F.saddle()
    x = np.array([0.5, -0.25])
    with pytest.raises(ValueError, match="shape"):
        check_gradient(f, lambda v: np.zeros(3), x)
    assert check_gradient(f, to_host(f.grad(x)), x).ok


def test_relative_error_definition_and_atol():
    np.testing.assert_allclose(relative_error([1.0, 0.0, 2.0], [1.0, 0.0, -2.0]), [0, 0, 1])
    f = lambda v: (v**3).sum()  # noqa: E731
    x = np.array([0.0])
    # gradient 0 at x=0: finite differences give eps² there, relative error 1 ...
    assert not check_gradient(f, lambda v: 3 * v**2, x).ok
    # ... accepted with an absolute floor.
    assert check_gradient(f, lambda v: 3 * v**2, x, atol=1e-9).ok


def test_nan_fails():
    res = check_gradient(lambda v: (v**2).sum(), lambda v: np.array([np.nan, 0.0]),
                         np.array([1.0, 0.0]))
    assert not res.ok


def test_bad_eps():
    with pytest.raises(ValueError, match="eps"):
        numerical_gradient(lambda v: v.sum(), np.ones(2), eps=0.0)

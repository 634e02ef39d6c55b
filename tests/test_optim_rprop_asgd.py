"""Rprop and ASGD: their own hyper-parameters refused by name, and their rules by hand.

The torch replay (``test_optim_reference.py``) checks the numbers; the registry-wide tests
check lr, maximize, gradients and state. Here: the options only these two have.
"""

from __future__ import annotations

import numpy as np
import pytest

from gdlib.optim import ASGD, Rprop


@pytest.mark.parametrize("kwargs, match", [
    ({"etas": (1.0, 1.2)}, r"etas\[0\]"),
    ({"etas": (0.0, 1.2)}, r"etas\[0\]"),
    ({"etas": (0.5, 1.0)}, r"etas\[1\]"),
    ({"etas": (0.5,)}, "etas"),
    ({"etas": 0.5}, "etas"),
    ({"etas": (0.5, "1.2")}, r"etas\[1\]"),
    ({"step_sizes": (-1e-6, 50)}, r"step_sizes\[0\]"),
    ({"step_sizes": (1.0, 0.5)}, "step_sizes"),
    ({"step_sizes": (1e-6, float("nan"))}, r"step_sizes\[1\]"),
    ({"step_sizes": (1e-6, 50, 3)}, "step_sizes"),
])
def test_rprop_bad_options_are_named(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        Rprop(np.zeros(3), **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"lambd": -1e-4}, "lambd"),
    ({"alpha": -0.75}, "alpha"),
    ({"t0": -1.0}, "t0"),
    ({"t0": float("inf")}, "t0"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"lambd": "0.1"}, "lambd"),
])
def test_asgd_bad_options_are_named(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        ASGD(np.zeros(3), **kwargs)


def test_rprop_steps_by_hand():
    # The first step moves each weight by lr against the gradient's sign; the same sign
    # grows the step by eta+, a flip shrinks it by eta- and holds the weight for one step.
    x = np.zeros(2)
    opt = Rprop(x, lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.3))
    opt.step(np.array([3.0, -1.0]))
    np.testing.assert_allclose(x, [-0.1, 0.1])
    opt.step(np.array([1.0, 2.0]))                   # same sign, then a flip
    np.testing.assert_allclose(opt.state[0]["step_size"], [0.2, 0.05])
    np.testing.assert_allclose(x, [-0.3, 0.1])        # the flipped weight holds
    np.testing.assert_allclose(opt.state[0]["prev"], [1.0, 0.0])
    opt.step(np.array([1.0, 2.0]))                   # after the hold: no change of size
    np.testing.assert_allclose(opt.state[0]["step_size"], [0.3, 0.05])   # 0.4 clipped
    np.testing.assert_allclose(x, [-0.6, 0.05])


def test_asgd_average_is_the_mean_after_t0():
    # lambd = 0: plain SGD at a constant lr. mu_t = 1 / max(1, t - 1 - t0) is 1 through
    # step t0 + 2 = 4 (the average copies the iterate), then 1/2, 1/3, ...: the average is
    # the mean of the iterates from step 4 on.
    x = np.array([1.0])
    opt = ASGD(x, lr=0.5, lambd=0.0, t0=2)
    iterates = []
    for _ in range(8):
        opt.step(x.copy())                            # gradient of x^2 / 2
        iterates.append(x.copy())
    np.testing.assert_allclose(iterates[-1], 0.5 ** 8)
    np.testing.assert_allclose(opt.average(), np.mean(iterates[3:], axis=0))
    assert opt.state[0]["eta"] == 0.5


def test_asgd_average_keeps_the_structure():
    p = {"w": np.ones((2, 2)), "b": np.zeros(2)}
    opt = ASGD(p, lr=0.1)
    assert opt.average()["w"] is not p["w"]
    np.testing.assert_array_equal(opt.average()["w"], p["w"])   # before the first step
    opt.step({"w": np.ones((2, 2)), "b": np.ones(2)})
    avg = opt.average()
    assert set(avg) == {"w", "b"} and avg["b"].shape == (2,)
    np.testing.assert_allclose(avg["b"], p["b"])                 # mu = 1: a copy

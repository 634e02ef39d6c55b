"""Bad input to schedules, clipping and line search: refused at once, by name.

A schedule checks its options where they enter, checks every learning rate it
sets (a ``LambdaLR`` returning NaN or a negative factor is an error, not a
silent NaN step), and loads only a state of its own type and keys, atomically.
Clipping computes its norm without overflow (the driver's norm, one
implementation). A hypothesis property checks that a schedule's state
round-trips exactly and that any corrupted field is refused with the schedule
left untouched.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlib import schedules as S
from gdlib.clipping import clip_grad_norm_, clip_grad_value_, total_norm
from gdlib.linesearch import backtracking, exact_quadratic
from gdlib.optim import SGD, Adam
from gdlib.train import _global_norm


def _opt(lr=0.1):
    return SGD(np.zeros(2), lr=lr, momentum=0.9)


# ----------------------------------------------------------------------------
# Constructors

BAD_OPTIONS = [
    (S.StepLR, {"step_size": 2.9}, TypeError, "step_size"),
    (S.StepLR, {"step_size": "3"}, TypeError, "step_size"),
    (S.StepLR, {"step_size": 3, "gamma": "0.5"}, TypeError, "gamma"),
    (S.StepLR, {"step_size": 3, "gamma": float("nan")}, ValueError, "gamma"),
    (S.StepLR, {"step_size": 3, "gamma": -0.1}, ValueError, "gamma"),
    (S.MultiStepLR, {"milestones": [2, 4.5]}, TypeError, r"milestones\[1\]"),
    (S.MultiStepLR, {"milestones": "24"}, TypeError, "milestones"),
    (S.MultiStepLR, {"milestones": 5}, TypeError, "milestones"),
    (S.MultiStepLR, {"milestones": [2], "gamma": float("inf")}, ValueError, "gamma"),
    (S.ExponentialLR, {"gamma": None}, TypeError, "gamma"),
    (S.ExponentialLR, {"gamma": True}, TypeError, "gamma"),
    (S.InverseTimeLR, {"gamma": -1.0}, ValueError, "gamma"),
    (S.CosineAnnealingLR, {"T_max": 10.0}, TypeError, "T_max"),
    (S.CosineAnnealingLR, {"T_max": 0}, ValueError, "T_max"),
    (S.CosineAnnealingLR, {"T_max": 10, "eta_min": float("nan")}, ValueError, "eta_min"),
    (S.LinearLR, {"start_factor": 0.0}, ValueError, "start_factor"),
    (S.LinearLR, {"end_factor": 1.5}, ValueError, "end_factor"),
    (S.LinearLR, {"total_iters": 2.9}, TypeError, "total_iters"),
    (S.ConstantLR, {"factor": "0.5"}, TypeError, "factor"),
    (S.ConstantLR, {"total_iters": -1}, ValueError, "total_iters"),
    (S.PolynomialLR, {"power": float("inf")}, ValueError, "power"),
    (S.LambdaLR, {"lr_lambda": 0.5}, TypeError, "lr_lambda"),
    (S.MultiplicativeLR, {"lr_lambda": "x"}, TypeError, "lr_lambda"),
    (S.OneCycleLR, {"max_lr": "0.1", "total_steps": 10}, TypeError, "max_lr"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10.0}, TypeError, "total_steps"),
    (S.OneCycleLR, {"max_lr": 0.1, "epochs": 2.5, "steps_per_epoch": 3}, TypeError, "epochs"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "three_phase": "yes"}, TypeError,
     "three_phase"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "cycle_momentum": 1}, TypeError,
     "cycle_momentum"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "pct_start": float("nan")}, ValueError,
     "pct_start"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "div_factor": 0.0}, ValueError,
     "div_factor"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "anneal_strategy": ["cos"]}, ValueError,
     "anneal_strategy"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "epochs": "x", "steps_per_epoch": 5},
     TypeError, "epochs"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "epochs": 3, "steps_per_epoch": 5},
     ValueError, "total_steps=10 but epochs"),
    (S.OneCycleLR, {"max_lr": 0.1, "total_steps": 10, "three_phase": np.array([1.0, 2.0])},
     TypeError, "three_phase"),
    (S.ReduceLROnPlateau, {"factor": 1.0}, ValueError, "factor"),
    (S.ReduceLROnPlateau, {"patience": 2.5}, TypeError, "patience"),
    (S.ReduceLROnPlateau, {"mode": ["min"]}, ValueError, "mode"),
    (S.ReduceLROnPlateau, {"threshold": float("nan")}, ValueError, "threshold"),
    (S.ReduceLROnPlateau, {"min_lr": -1e-3}, ValueError, "min_lr"),
    (S.ReduceLROnPlateau, {"cooldown": "1"}, TypeError, "cooldown"),
]


@pytest.mark.parametrize("cls, kw, exc, pattern", BAD_OPTIONS,
                         ids=[f"{c.__name__}-{'-'.join(k)}-{i}" for i, (c, k, _, _) in
                              enumerate(BAD_OPTIONS)])
def test_schedule_options_are_checked_by_name(cls, kw, exc, pattern):
    opt = _opt()
    with pytest.raises(exc, match=pattern):
        cls(opt, **kw)


def test_one_cycle_momentum_that_would_break_adams_betas_is_refused():
    opt = Adam(np.zeros(2))
    with pytest.raises(ValueError, match=r"max_momentum.*betas\[0\]"):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=10, max_momentum=1.5)
    assert opt.betas == (0.9, 0.999)


@pytest.mark.parametrize("bad", ["0.1", float("nan"), -1.0])
def test_an_optimizer_with_a_bad_learning_rate_is_refused(bad):
    opt = _opt()
    opt.lr = bad
    with pytest.raises((TypeError, ValueError), match=r"optimizer\.lr"):
        S.StepLR(opt, 3)


def test_sequential_checks_its_milestones():
    opt = _opt()
    a, b = S.LinearLR(opt, total_iters=3), S.ExponentialLR(opt, 0.9)
    with pytest.raises(TypeError, match=r"milestones\[0\]"):
        S.SequentialLR(opt, [a, b], milestones=[3.5])


@pytest.mark.parametrize("kw, exc, pattern", [
    ({"steps": 2.9}, TypeError, "steps"),
    ({"steps": 5, "lr": float("nan")}, ValueError, "lr"),
    ({"steps": 5, "lr": "1"}, TypeError, "lr"),
])
def test_lr_curve_arguments(kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        S.lr_curve("cosine", T_max=5, **kw)


# ----------------------------------------------------------------------------
# Every rate a schedule sets is checked

@pytest.mark.parametrize("factor, exc", [(float("nan"), ValueError), (-0.5, ValueError),
                                         (float("inf"), ValueError), ("0.5", TypeError),
                                         (None, TypeError)])
def test_lambda_lr_returning_a_bad_factor(factor, exc):
    opt = _opt()
    sched = S.LambdaLR(opt, lambda t: 1.0 if t < 2 else factor)
    sched.step()
    with pytest.raises(exc, match="learning rate set by LambdaLR at step 2"):
        sched.step()
    assert opt.lr == 0.1 and sched.last_epoch == 1      # the failed step changed nothing
    with pytest.raises(exc, match="LambdaLR at step 2"):
        sched.step()                                     # and it can be retried


def test_lambda_lr_bad_at_step_zero_fails_at_construction():
    with pytest.raises(ValueError, match="LambdaLR at step 0"):
        S.LambdaLR(_opt(), lambda t: math.nan)


def test_multiplicative_lr_negative_factor():
    opt = _opt()
    sched = S.MultiplicativeLR(opt, lambda t: -1.0)
    with pytest.raises(ValueError, match="MultiplicativeLR at step 1"):
        sched.step()
    assert opt.lr == 0.1


def test_one_cycle_linear_never_sets_a_negative_rate_after_the_last_step():
    # torch extrapolates past the cycle to a negative rate; the run would end with lr < 0.
    opt = _opt()
    sched = S.OneCycleLR(opt, max_lr=0.5, total_steps=10, anneal_strategy="linear")
    for _ in range(10):
        sched.step()
    assert opt.lr == pytest.approx(sched.min_lr) and opt.lr > 0


@pytest.mark.parametrize("metric, exc", [(float("nan"), ValueError), ("0.3", TypeError),
                                         (None, TypeError), (float("inf"), ValueError)])
def test_plateau_metric_must_be_a_finite_number(metric, exc):
    sched = S.ReduceLROnPlateau(_opt(), patience=0)
    with pytest.raises(exc, match="metric"):
        sched.step(metric)
    assert sched.last_epoch == 0 and sched.num_bad_epochs == 0
    sched.step(np.float64(0.5))                           # NumPy numbers are fine
    sched.step(np.array(0.4))


# ----------------------------------------------------------------------------
# load_state_dict: own type, own keys, checked values, atomic

def _stepped(make, k=3):
    opt = _opt()
    sched = make(opt)
    for _ in range(k):
        sched.step()
    return opt, sched


MAKERS = {
    "step": lambda o: S.StepLR(o, 2, gamma=0.5),
    "multistep": lambda o: S.MultiStepLR(o, [2, 4]),
    "exponential": lambda o: S.ExponentialLR(o, 0.9),
    "inverse_time": lambda o: S.InverseTimeLR(o, 0.5),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=10),
    "onecycle": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20),
    "sequential": lambda o: S.SequentialLR(o, [S.LinearLR(o, total_iters=2),
                                               S.ExponentialLR(o, 0.9)], milestones=[2]),
}


def _corrupt(kind, sd):
    sd = copy.deepcopy(sd)
    if kind == "other type":
        sd["schedule"] = "StepLR" if sd["schedule"] != "StepLR" else "ExponentialLR"
    elif kind == "no type":
        del sd["schedule"]
    elif kind == "retarget optimizer":
        sd["optimizer"] = _opt(lr=5.0)
    elif kind == "missing key":
        del sd["last_epoch"]
    elif kind == "NaN base_lr":
        sd["base_lr"] = float("nan")
    elif kind == "negative last lr":
        sd["_last_lr"] = -0.1
    elif kind == "string last_epoch":
        sd["last_epoch"] = "3"
    elif kind == "fractional last_epoch":
        sd["last_epoch"] = 3.5
    elif kind == "not a dict":
        sd = list(sd.items())
    return sd


CORRUPTIONS = {
    "other type": (ValueError, "state_dict\\['schedule'\\]"),
    "no type": (ValueError, "state_dict\\['schedule'\\]"),
    "retarget optimizer": (ValueError, "unexpected \\['optimizer'\\]"),
    "missing key": (ValueError, "missing \\['last_epoch'\\]"),
    "NaN base_lr": (ValueError, "base_lr"),
    "negative last lr": (ValueError, "_last_lr"),
    "string last_epoch": (TypeError, "last_epoch"),
    "fractional last_epoch": (TypeError, "last_epoch"),
    "not a dict": (TypeError, "state_dict must be a dict"),
}


def _same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if k == "_schedulers":
            for x, y in zip(a[k], b[k]):
                _same_state(x, y)
        else:
            assert a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), k


@pytest.mark.parametrize("which", sorted(MAKERS))
@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_schedule_load_state_dict_refuses_corruption(which, kind):
    opt, sched = _stepped(MAKERS[which])
    before, lr = sched.state_dict(), opt.lr
    exc, pattern = CORRUPTIONS[kind]
    with pytest.raises(exc, match=pattern):
        sched.load_state_dict(_corrupt(kind, before))
    _same_state(sched.state_dict(), before)
    assert sched.optimizer is opt and opt.lr == lr


def test_plateau_state_is_checked_too():
    sched = S.ReduceLROnPlateau(_opt())
    sd = sched.state_dict()
    with pytest.raises(ValueError, match="mode"):
        sched.load_state_dict({**sd, "mode": "max"})
    with pytest.raises(ValueError, match="best"):
        sched.load_state_dict({**sd, "best": float("nan")})
    sched.load_state_dict({**sd, "best": 0.25})           # an infinite best may become finite
    assert sched.best == 0.25
    sched.load_state_dict(sd)                             # and back: a state saved at the start
    assert sched.best == math.inf


def test_sequential_sub_state_is_checked_before_anything_is_set():
    opt, sched = _stepped(MAKERS["sequential"])
    sd = sched.state_dict()
    bad = copy.deepcopy(sd)
    bad["last_epoch"] = 1
    bad["_schedulers"][1]["gamma"] = float("nan")
    with pytest.raises(ValueError, match="gamma"):
        sched.load_state_dict(bad)
    _same_state(sched.state_dict(), sd)


@settings(max_examples=25, deadline=None)
@given(which=st.sampled_from(sorted(MAKERS)), k=st.integers(0, 8),
       kind=st.sampled_from(sorted(CORRUPTIONS)))
def test_property_schedule_state_round_trips_and_refuses_corruption(which, k, kind):
    opt, sched = _stepped(MAKERS[which], k)
    saved, lr = sched.state_dict(), opt.lr
    opt2 = _opt()
    sched2 = MAKERS[which](opt2)
    sched2.load_state_dict(copy.deepcopy(saved))
    _same_state(sched2.state_dict(), saved)
    opt2.lr = lr
    for _ in range(3):
        sched.step()
        sched2.step()
        assert opt2.lr == opt.lr
    before = sched.state_dict()
    exc, _ = CORRUPTIONS[kind]
    with pytest.raises(exc):
        sched.load_state_dict(_corrupt(kind, before))
    _same_state(sched.state_dict(), before)


# ----------------------------------------------------------------------------
# Clipping: arguments, and a norm that does not overflow

@pytest.mark.parametrize("kw, exc, pattern", [
    ({"max_norm": float("nan")}, ValueError, "max_norm"),
    ({"max_norm": "1.0"}, TypeError, "max_norm"),
    ({"max_norm": -1.0}, ValueError, "max_norm"),
    ({"max_norm": 1.0, "norm_type": "two"}, TypeError, "norm_type"),
    ({"max_norm": 1.0, "norm_type": float("nan")}, ValueError, "norm_type"),
    ({"max_norm": 1.0, "norm_type": -2.0}, ValueError, "norm_type"),
    ({"max_norm": 1.0, "error_if_nonfinite": "no"}, TypeError, "error_if_nonfinite"),
])
def test_clip_grad_norm_arguments(kw, exc, pattern):
    g = np.ones(3)
    with pytest.raises(exc, match=pattern):
        clip_grad_norm_(g, **kw)
    np.testing.assert_array_equal(g, np.ones(3))


@pytest.mark.parametrize("grads, pattern", [
    ([np.ones(2), np.full(2, "a")], r"grads\[1\] has dtype"),
    ({"w": np.ones(2) * 1j}, r"grads\['w'\] has dtype complex"),
    ([np.ones(2), "0.5"], r"grads\[1\] must be an array"),
])
def test_clipping_refuses_non_real_gradients(grads, pattern):
    with pytest.raises(TypeError, match=pattern):
        clip_grad_norm_(grads, 1.0)


@pytest.mark.parametrize("bad, exc", [(float("nan"), ValueError), ("1", TypeError),
                                      (-0.5, ValueError)])
def test_clip_grad_value_argument(bad, exc):
    with pytest.raises(exc, match="clip_value"):
        clip_grad_value_(np.ones(2), bad)


def test_clip_grad_norm_of_huge_gradients_does_not_zero_them():
    # sqrt(sum(g**2)) overflows to inf for g = 1e200, and max_norm / inf = 0 used to
    # wipe the gradient out.
    g = [np.array([1e200, -1e200]), np.array([[1e200]])]
    norm = clip_grad_norm_(g, 1.0)
    assert norm == pytest.approx(math.sqrt(3) * 1e200, rel=1e-12)
    for a in g:
        np.testing.assert_allclose(np.abs(a), 1 / math.sqrt(3), rtol=1e-6)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_total_norm_scales_over_and_underflow_away(p):
    for scale in (1e200, 1e-200, 1e300):
        g = [np.array([3.0, 4.0]) * scale, np.array([12.0]) * scale]
        want = total_norm([np.array([3.0, 4.0]), np.array([12.0])], p) * scale
        assert total_norm(g, p) == pytest.approx(want, rel=1e-12)


def test_driver_and_clipping_share_one_norm():
    g = {"a": np.array([1e200, 2e200]), "b": np.array([3e-200]), "c": None}
    assert _global_norm(g) == total_norm(g)
    assert math.isfinite(_global_norm(g))


# ----------------------------------------------------------------------------
# Line search

def _f(x):
    return float(x @ x)


def _grad(x):
    return 2 * x


@pytest.mark.parametrize("kw, exc, pattern", [
    ({"c": "0.1"}, TypeError, "c must be a real number"),
    ({"c": float("nan")}, ValueError, "c must be a number"),
    ({"rho": 1.5}, ValueError, "rho"),
    ({"rho": None}, TypeError, "rho"),
    ({"lr0": float("inf")}, ValueError, "lr0"),
    ({"lr0": "1"}, TypeError, "lr0"),
    ({"max_iter": 2.9}, TypeError, "max_iter"),
    ({"max_iter": np.int64(-1)}, ValueError, "max_iter"),
    ({"direction": np.array([np.nan, 0.0])}, ValueError, "direction holds NaN"),
    ({"direction": np.ones(3)}, ValueError, r"direction has shape \(3,\)"),
])
def test_backtracking_arguments(kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        backtracking(_f, _grad, np.array([1.0, -1.0]), **kw)


@pytest.mark.parametrize("x, grad, exc, pattern", [
    (np.array([np.nan, 1.0]), _grad, ValueError, "x holds NaN"),
    (np.array(["a", "b"]), _grad, TypeError, "x must hold real numbers"),
    (np.array([1.0, 1.0]), np.array([np.inf, 1.0]), ValueError, "grad holds NaN"),
    (np.array([1.0, 1.0]), np.ones(3), ValueError, r"grad has shape \(3,\)"),
])
def test_backtracking_point_and_gradient(x, grad, exc, pattern):
    with pytest.raises(exc, match=pattern):
        backtracking(_f, grad, x)


def test_backtracking_non_finite_start():
    with pytest.raises(ValueError, match="f\\(x\\) = nan at the starting point"):
        backtracking(lambda x: math.nan, _grad, np.array([1.0]))


@pytest.mark.parametrize("A, g, pattern", [
    (np.array([[np.nan, 0.0], [0.0, 1.0]]), np.ones(2), "A holds NaN"),
    (np.eye(2), np.array([1.0, np.inf]), "g holds NaN"),
    (np.full((2, 2), "x"), np.ones(2), "A must hold real numbers"),
])
def test_exact_quadratic_arguments(A, g, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        exact_quadratic(A, g)

"""gdlib.schedules against torch's lr_scheduler (fixtures: tools/reference/torch_schedules.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gdlib import schedules as S
from gdlib.optim import GD, SGD, Adam

FIXTURE = Path(__file__).parent / "fixtures" / "schedules_torch.npz"
RTOL = 1e-12

#: The same lr_lambda table as tools/reference/torch_schedules.py.
LAMBDAS = {
    "poly2": lambda t: (1.0 - t / 120.0) ** 2,
    "warmup_decay": lambda t: min(1.0, (t + 1) / 10.0) * 0.97**t,
    "mul_098": lambda t: 0.98,
    "inverse_time_0.1": lambda t: 1.0 / (1.0 + 0.1 * t),
}


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


def _cases():
    with np.load(FIXTURE) as data:
        return json.loads(str(data["cases_json"]))


CASES = _cases()


def make_optimizer(kind, lr):
    if kind == "sgd":
        return SGD(np.zeros(3), lr=lr, momentum=0.9)
    return Adam(np.zeros(3), lr=lr)


def build(spec, opt):
    spec = spec.get("gdlib", spec)
    kw = dict(spec["kwargs"])
    if "lr_lambda" in kw:
        kw["lr_lambda"] = LAMBDAS[kw["lr_lambda"]]
    if spec["name"] == "SequentialLR":
        kw["schedulers"] = [build(s, opt) for s in spec["schedulers"]]
    return getattr(S, spec["name"])(opt, **kw)


def run(spec, metrics):
    opt = make_optimizer(spec["optimizer"], spec["lr"])
    sched = build(spec, opt)
    lrs, moms = [], []
    for t in range(spec["steps"]):
        lrs.append(opt.lr)
        moms.append(opt.betas[0] if hasattr(opt, "betas") else opt.momentum)
        assert sched.get_last_lr() == opt.lr
        if spec["name"] == "ReduceLROnPlateau":
            sched.step(metrics[t])
        else:
            sched.step()
    return np.array(lrs), np.array(moms)


def rel_err(got, want):
    return np.abs(got - want) / np.maximum(np.abs(want), 1e-300)


@pytest.mark.parametrize("key", sorted(CASES))
def test_matches_torch(ref, key):
    spec = CASES[key]
    lrs, moms = run(spec, ref["plateau_metrics"])
    want = ref[f"lr/{key}"]
    assert lrs.shape == want.shape
    err = rel_err(lrs, want)
    assert err.max() <= RTOL, f"{key}: step {err.argmax()} got {lrs[err.argmax()]!r}, " \
                              f"torch {want[err.argmax()]!r}"
    if f"momentum/{key}" in ref:
        assert rel_err(moms, ref[f"momentum/{key}"]).max() <= RTOL


def test_fixture_cases_are_not_trivial(ref):
    # Each recorded schedule actually changes the rate (so the comparison means something).
    for key in CASES:
        lrs = ref[f"lr/{key}"]
        assert np.ptp(lrs) > 0, key
    # ReduceLROnPlateau reductions happened, and eps suppressed one.
    assert ref["lr/plateau_default"][-1] < 0.1
    assert ref["lr/plateau_eps"][-1] == pytest.approx(8e-5)


# ----------------------------------------------------------------------------
# Closed forms and semantics


def test_closed_forms_agree_with_recursive_forms():
    cases = [
        (S.StepLR, dict(step_size=3, gamma=0.5)),
        (S.MultiStepLR, dict(milestones=[2, 5, 5], gamma=0.5)),
        (S.ExponentialLR, dict(gamma=0.9)),
        (S.CosineAnnealingLR, dict(T_max=10, eta_min=0.01)),
        (S.LinearLR, dict(start_factor=0.2, total_iters=6)),
        (S.ConstantLR, dict(factor=0.25, total_iters=4)),
        (S.PolynomialLR, dict(total_iters=8, power=1.5)),
        (S.InverseTimeLR, dict(gamma=0.5)),
    ]
    for cls, kw in cases:
        opt = GD(np.zeros(1), lr=0.3)
        sched = cls(opt, **kw)
        for _ in range(20):
            assert opt.lr == pytest.approx(sched.closed_form(), rel=1e-12, abs=1e-15), cls
            sched.step()


def test_cosine_formula_and_endpoints():
    curve = S.lr_curve(lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.1), 21, lr=1.0)
    t = np.arange(21)
    want = 0.1 + 0.9 * (1 + np.cos(np.pi * t / 20)) / 2
    np.testing.assert_allclose(curve, want, rtol=1e-12)
    assert curve[0] == 1.0 and curve[-1] == pytest.approx(0.1)


def test_inverse_time_is_robbins_monro():
    curve = S.lr_curve(lambda o: S.InverseTimeLR(o, gamma=0.5), 50, lr=2.0)
    np.testing.assert_allclose(curve, 2.0 / (1 + 0.5 * np.arange(50)), rtol=1e-15)
    assert curve[2] == 1.0                     # halves at t = 1/gamma


def test_onecycle_peaks_at_max_lr_and_ends_low():
    curve = S.lr_curve(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=101, pct_start=0.3), 101)
    assert curve[0] == pytest.approx(1.0 / 25)
    assert curve.max() == pytest.approx(1.0, rel=1e-3)
    assert curve[-1] == pytest.approx(1.0 / 25 / 1e4)
    opt = GD(np.zeros(1), lr=1.0)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(5):
        sched.step()
    with pytest.raises(ValueError, match="total_steps"):
        sched.step()


def test_onecycle_momentum_rules():
    gd = GD(np.zeros(2), lr=0.1)
    S.OneCycleLR(gd, max_lr=0.1, total_steps=10)        # no momentum: lr only
    assert not hasattr(gd, "momentum")
    with pytest.raises(ValueError, match="cycle_momentum"):
        S.OneCycleLR(GD(np.zeros(2), lr=0.1), max_lr=0.1, total_steps=10, cycle_momentum=True)
    sgd = SGD(np.zeros(2), lr=0.1, momentum=0.5)
    S.OneCycleLR(sgd, max_lr=0.1, total_steps=10, cycle_momentum=False)
    assert sgd.momentum == 0.5
    S.OneCycleLR(sgd, max_lr=0.1, total_steps=10)
    assert sgd.momentum == 0.95


def test_initial_lr_is_taken_at_construction_like_torch():
    opt = SGD(np.zeros(2), lr=0.2)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    assert opt.initial_lr == 0.2 and sched.base_lr == 0.2 and sched.last_epoch == 0
    sched.step()
    assert opt.lr == 0.1 and sched.last_epoch == 1
    # A second schedule on the same optimizer keeps the first initial_lr (torch's setdefault).
    second = S.ExponentialLR(opt, gamma=0.9)
    assert second.base_lr == 0.2


def test_state_dict_round_trip():
    opt = SGD(np.zeros(2), lr=1.0)
    sched = S.CosineAnnealingLR(opt, T_max=30)
    for _ in range(7):
        sched.step()
    saved = sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 7
    expected = []
    for _ in range(5):
        sched.step()
        expected.append(opt.lr)
    opt2 = SGD(np.zeros(2), lr=1.0)
    sched2 = S.CosineAnnealingLR(opt2, T_max=30)
    sched2.load_state_dict(saved)
    opt2.lr = saved["_last_lr"]
    got = []
    for _ in range(5):
        sched2.step()
        got.append(opt2.lr)
    assert got == expected


def test_sequential_state_dict_round_trip():
    def make():
        opt = SGD(np.zeros(1), lr=1.0)
        return opt, S.SequentialLR(opt, [S.LinearLR(opt, 0.1, total_iters=4),
                                         S.ExponentialLR(opt, 0.9)], milestones=[4])
    opt, sched = make()
    for _ in range(6):
        sched.step()
    saved, lr = sched.state_dict(), opt.lr
    sched.step()
    want = opt.lr
    opt2, sched2 = make()
    sched2.load_state_dict(saved)
    opt2.lr = lr
    sched2.step()
    assert opt2.lr == want


def test_plateau_modes_by_hand():
    opt = GD(np.zeros(1), lr=1.0)
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=1, factor=0.5)
    for acc in [0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7]:
        sched.step(acc)
    # bad epochs: steps 3, 4 -> reduce at 4 (0.5); step 5 improves; 6, 7 -> reduce (0.25)
    assert opt.lr == 0.25 and sched.get_last_lr() == 0.25


def test_lr_curve_shapes_and_names():
    curve = S.lr_curve("step", 6, lr=2.0, step_size=2, gamma=0.5)
    np.testing.assert_array_equal(curve, [2, 2, 1, 1, 0.5, 0.5])
    assert isinstance(curve, np.ndarray)
    metrics = [1.0] * 10
    curve = S.lr_curve(lambda o: S.ReduceLROnPlateau(o, patience=2), 10, metrics=metrics)
    assert curve[3] == 1.0 and curve[4] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="metrics"):
        S.lr_curve(lambda o: S.ReduceLROnPlateau(o), 5)


def test_create_by_name():
    opt = SGD(np.zeros(1), lr=0.1)
    assert isinstance(S.create("CosineAnnealingLR", opt, T_max=5), S.CosineAnnealingLR)
    assert isinstance(S.create("cosine", opt, T_max=5), S.CosineAnnealingLR)
    assert isinstance(S.create("inverse_time", opt, gamma=0.1), S.InverseTimeLR)
    assert isinstance(S.create("one-cycle", opt, max_lr=0.1, total_steps=5), S.OneCycleLR)
    with pytest.raises(ValueError, match="unknown schedule 'cosin'.*Did you mean"):
        S.create("cosin", opt, T_max=5)


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda o: S.StepLR(o, step_size=0), "step_size"),
        (lambda o: S.StepLR(o, step_size=3, gamma=-0.1), "gamma"),
        (lambda o: S.ExponentialLR(o, gamma=-1.0), "gamma"),
        (lambda o: S.InverseTimeLR(o, gamma=-0.5), "gamma"),
        (lambda o: S.CosineAnnealingLR(o, T_max=0), "T_max"),
        (lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=-1.0), "eta_min"),
        (lambda o: S.LinearLR(o, start_factor=0.0), "start_factor"),
        (lambda o: S.LinearLR(o, end_factor=1.5), "end_factor"),
        (lambda o: S.LinearLR(o, total_iters=0), "total_iters"),
        (lambda o: S.OneCycleLR(o, max_lr=-1.0, total_steps=10), "max_lr"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=0), "total_steps"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), "pct_start"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
         "anneal_strategy"),
        (lambda o: S.OneCycleLR(o, max_lr=1.0), "total_steps"),
        (lambda o: S.ReduceLROnPlateau(o, factor=1.0), "factor"),
        (lambda o: S.ReduceLROnPlateau(o, mode="up"), "mode"),
        (lambda o: S.ReduceLROnPlateau(o, threshold_mode="pct"), "threshold_mode"),
        (lambda o: S.ReduceLROnPlateau(o, patience=-1), "patience"),
        (lambda o: S.ReduceLROnPlateau(o, min_lr=-1e-3), "min_lr"),
        (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), "milestones"),
        (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 2)], milestones=[0]),
         "milestones"),
    ],
)
def test_bad_arguments_name_the_parameter(make, param):
    with pytest.raises(ValueError, match=param):
        make(SGD(np.zeros(1), lr=0.1))


def test_type_errors():
    with pytest.raises(TypeError, match="lr"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(TypeError, match="step_size"):
        S.StepLR(SGD(np.zeros(1), lr=0.1), step_size=2.5)
    with pytest.raises(TypeError, match="lr_lambda"):
        S.LambdaLR(SGD(np.zeros(1), lr=0.1), lr_lambda=0.5)
    opt, other = SGD(np.zeros(1), lr=0.1), SGD(np.zeros(1), lr=0.1)
    with pytest.raises(ValueError, match="different optimizer"):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(other, 2)], milestones=[3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.ReduceLROnPlateau(opt)], milestones=[3])


def test_schedule_drives_training():
    # The optimizer really uses the scheduled rate: GD on f(w) = w²/2 multiplies w by (1 - lr).
    w = np.array([1.0])
    opt = GD(w, lr=0.5)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    factors = []
    for _ in range(4):
        factors.append(1 - opt.lr)
        opt.step(w.copy())
        sched.step()
    assert w[0] == pytest.approx(math.prod(factors))

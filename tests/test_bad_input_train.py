"""Bad input to the driver loops (``minimize``, ``train``, ``nn.fit``) and to ``Module`` states.

Every option is checked where it enters, by name (``steps=2.9`` is an error,
not 2 steps). A loss that is already non-finite at the first evaluation is
reported as bad input ("your inputs or initial point give a non-finite loss"),
not as divergence; a mini-batch holding NaN is named; a huge but finite
gradient is reported instead of silently skipped.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from gdlib import backend as B
from gdlib import functions as F
from gdlib import gradcheck as G
from gdlib.errors import DivergenceError, NonFiniteInputError
from gdlib.nn import Dense, MSELoss, ReLU, Sequential, fit, predict, resolve_dtype
from gdlib.train import minimize, train


def _f(x):
    return float(x @ x)


def _g(x):
    return 2 * x


X0 = np.array([1.0, -2.0])


# ----------------------------------------------------------------------------
# minimize: arguments

MINIMIZE_BAD = [
    ({"steps": 2.9}, TypeError, "steps must be an integer"),
    ({"steps": "10"}, TypeError, "steps"),
    ({"steps": -1}, ValueError, "steps"),
    ({"tol": float("nan")}, ValueError, "tol"),
    ({"tol": -1e-3}, ValueError, "tol"),
    ({"tol": "1e-8"}, TypeError, "tol"),
    ({"record_every": 0.5}, TypeError, "record_every"),
    ({"record_every": 0}, ValueError, "record_every"),
    ({"divergence_factor": 0.0}, ValueError, "divergence_factor"),
    ({"divergence_factor": float("nan")}, ValueError, "divergence_factor"),
    ({"divergence_factor": "1e6"}, TypeError, "divergence_factor"),
    ({"clip_norm": -1.0}, ValueError, "clip_norm"),
    ({"clip_norm": float("nan")}, ValueError, "clip_norm"),
    ({"noise": -0.1}, ValueError, "noise"),
    ({"noise": float("inf")}, ValueError, "noise"),
    ({"progress": "yes"}, TypeError, "progress"),
    ({"callback": 3}, TypeError, "callback"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"seed": -1}, ValueError, "seed"),
    ({"grad": "2x"}, TypeError, "grad must be a function"),
    ({"hessian": np.eye(2)}, TypeError, "hessian must be a function"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"momentum": "0.9", "optimizer": "sgd"}, TypeError, "momentum"),
    ({"nesterov": "False", "optimizer": "sgd", "momentum": 0.9}, TypeError, "nesterov"),
    ({"optimizer": 3}, TypeError, "optimizer must be"),
    ({"schedule": 3}, TypeError, "schedule must be"),
]


@pytest.mark.parametrize("kw, exc, pattern", MINIMIZE_BAD,
                         ids=[f"{'-'.join(k)}-{i}" for i, (k, _, _) in enumerate(MINIMIZE_BAD)])
def test_minimize_options_are_checked_by_name(kw, exc, pattern):
    kw = {"grad": _g, **kw}
    with pytest.raises(exc, match=pattern):
        minimize(_f, X0, **kw)


@pytest.mark.parametrize("x0, exc, pattern", [
    (np.array([np.nan, 1.0]), NonFiniteInputError, "x0 holds NaN"),
    (np.array([np.inf, 1.0]), NonFiniteInputError, "x0 holds NaN or infinity"),
    (["a", "b"], TypeError, "x0 must be a number or an array"),
    ({"x": 1.0}, TypeError, "x0"),
])
def test_minimize_starting_point(x0, exc, pattern):
    with pytest.raises(exc, match=pattern):
        minimize(_f, x0, grad=_g)


def test_minimize_f_must_return_one_number():
    with pytest.raises(TypeError, match=r"f must return one number.*shape \(2,\)"):
        minimize(lambda x: x * x, X0, grad=_g)


def test_first_loss_non_finite_is_bad_input_not_divergence():
    with pytest.raises(NonFiniteInputError,
                       match="your inputs or initial point give a non-finite loss"):
        minimize(lambda x: float(np.log(x[0] - 5)), X0, grad=_g)


def test_first_gradient_non_finite_is_bad_input():
    with pytest.raises(NonFiniteInputError, match="initial point give a non-finite gradient"):
        minimize(_f, X0, grad=lambda x: np.array([np.nan, 0.0]))


def test_huge_gradient_at_x0_is_named_for_adam():
    with pytest.raises(NonFiniteInputError, match="finite but huge.*initial point x0"):
        minimize(_f, X0, grad=lambda x: np.array([1e200, 0.0]), optimizer="adam")


def test_huge_gradient_later_is_divergence_for_adam():
    calls = []

    def grad(x):
        calls.append(1)
        return np.array([1e200, 0.0]) if len(calls) > 2 else 2 * x

    with pytest.raises(DivergenceError, match="finite but huge") as info:
        minimize(_f, X0, grad=grad, optimizer="adam", lr=0.1, steps=5)
    assert info.value.step == 3     # the gradient of call 3 feeds step 3


def test_divergence_later_is_still_divergence():
    with pytest.raises(DivergenceError, match="diverged"):
        minimize(_f, X0, grad=_g, lr=5.0, steps=200)


# ----------------------------------------------------------------------------
# train: arguments

def _loss_and_grad(params, batch):
    X, y = batch
    r = X @ params["w"] - y
    return float(r @ r) / len(y), {"w": 2 * X.T @ r / len(y)}


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -1.0, 0.5])


TRAIN_BAD = [
    ({"epochs": 2.9}, TypeError, "epochs must be an integer"),
    ({"epochs": "3"}, TypeError, "epochs"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"batch_size": "8"}, TypeError, "batch_size"),
    ({"shuffle": "no"}, TypeError, "shuffle"),
    ({"drop_last": 1}, TypeError, "drop_last"),
    ({"seed": 0.5}, TypeError, "seed"),
    ({"clip_norm": "1"}, TypeError, "clip_norm"),
    ({"divergence_factor": -1.0}, ValueError, "divergence_factor"),
    ({"schedule_per": "batch"}, ValueError, "schedule_per"),
    ({"schedule_per": ["step"]}, ValueError, "schedule_per"),
    ({"eval_fn": "accuracy"}, TypeError, "eval_fn"),
    ({"callback": "print"}, TypeError, "callback"),
    ({"progress": 1}, TypeError, "progress"),
    ({"lr": -0.1}, ValueError, "lr"),
    ({"amsgrad": "True", "optimizer": "adam"}, TypeError, "amsgrad"),
]


@pytest.mark.parametrize("kw, exc, pattern", TRAIN_BAD,
                         ids=[f"{'-'.join(k)}-{i}" for i, (k, _, _) in enumerate(TRAIN_BAD)])
def test_train_options_are_checked_by_name(kw, exc, pattern):
    w = np.zeros(3)
    kw = {"optimizer": "gd", **kw}
    with pytest.raises(exc, match=pattern):
        train({"w": w}, _loss_and_grad, data=_data(), **kw)
    np.testing.assert_array_equal(w, np.zeros(3))


def test_train_loss_and_grad_must_be_callable():
    with pytest.raises(TypeError, match="loss_and_grad must be a function"):
        train({"w": np.zeros(3)}, None, "gd", data=_data())


@pytest.mark.parametrize("out, pattern", [
    (1.0, "must return a pair"),
    ((np.ones(2), {"w": np.zeros(3)}), r"loss of type ndarray and shape \(2,\)"),
    (("low", {"w": np.zeros(3)}), "loss of type str"),
])
def test_train_loss_and_grad_must_return_a_number_and_grads(out, pattern):
    with pytest.raises(TypeError, match=pattern):
        train({"w": np.zeros(3)}, lambda p, b: out, "gd", data=_data())


@pytest.mark.parametrize("data, exc, pattern", [
    ((np.ones((4, 3)), 5.0), TypeError, r"data\[1\] must be an array"),
    ((np.ones((4, 3)), np.ones(3)), ValueError, "same first dimension"),
    ((), ValueError, "data is empty"),
])
def test_train_data(data, exc, pattern):
    with pytest.raises(exc, match=pattern):
        train({"w": np.zeros(3)}, _loss_and_grad, "gd", data=data)


def test_train_first_loss_nan_is_bad_input():
    X, y = _data()
    w = np.full(3, np.nan)
    with pytest.raises(NonFiniteInputError, match="initial point give a non-finite loss"):
        train({"w": w}, _loss_and_grad, "gd", data=(X, y))


def test_train_names_the_batch_that_holds_nan():
    X, y = _data()
    y = y.copy()
    y[17] = np.nan
    with pytest.raises(NonFiniteInputError, match=r"holds NaN or infinity in data\[1\]"):
        train({"w": np.zeros(3)}, _loss_and_grad, "gd", data=(X, y), batch_size=5,
              shuffle=False, lr=0.01)


def test_train_first_gradient_nan_is_bad_input():
    with pytest.raises(NonFiniteInputError, match="holds NaN or infinity at step 1"):
        train({"w": np.zeros(3)}, lambda p, b: (1.0, {"w": np.array([np.nan, 0, 0])}), "gd",
              data=_data())


def test_train_huge_first_gradient_for_adam_is_bad_input():
    with pytest.raises(NonFiniteInputError, match="finite but huge"):
        train({"w": np.zeros(3)}, lambda p, b: (1.0, {"w": np.array([1e200, 0, 0])}), "adam",
              data=_data())


def test_train_dict_gradients_in_another_order_are_matched_by_key():
    def lg(p, batch):
        return 1.0, {"b": np.ones(1), "w": np.full(3, 2.0)}    # keys in the other order

    p = {"w": np.zeros(3), "b": np.zeros(1)}
    train(p, lg, "gd", lr=1.0)
    np.testing.assert_array_equal(p["w"], [-2.0, -2.0, -2.0])
    np.testing.assert_array_equal(p["b"], [-1.0])


# ----------------------------------------------------------------------------
# nn.fit and Module.load_state_dict

def _model():
    return Sequential(Dense(3, 4, rng=0, dtype="float64"), ReLU(),
                      Dense(4, 1, rng=1, dtype="float64"))


FIT_BAD = [
    ({"epochs": 2.9}, TypeError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 4.0}, TypeError, "batch_size"),
    ({"shuffle": "False"}, TypeError, "shuffle"),
    ({"drop_last": None}, TypeError, "drop_last"),
    ({"forward": "call"}, TypeError, "forward"),
    ({"metric": ["accuracy"]}, ValueError, "metric"),
    ({"lr": "1e-3"}, TypeError, "lr"),
    ({"clip_norm": -1.0}, ValueError, "clip_norm"),
]


@pytest.mark.parametrize("kw, exc, pattern", FIT_BAD,
                         ids=[f"{'-'.join(k)}-{i}" for i, (k, _, _) in enumerate(FIT_BAD)])
def test_fit_options_are_checked_by_name(kw, exc, pattern):
    model = _model()
    before = model.state_dict()
    X, y = _data()
    with pytest.raises(exc, match=pattern):
        fit(model, MSELoss(), X, y[:, None], progress=False, **kw)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_fit_with_nan_targets_names_the_data():
    # (NaN inputs are refused by the first layer itself.)
    X, y = _data()
    y = y.copy()
    y[3] = np.inf
    with pytest.raises(ValueError, match=r"NaN or inf"):
        fit(_model(), MSELoss(), X, y[:, None], batch_size=None, progress=False)


def _state_corruption(kind, sd):
    sd = copy.deepcopy(sd)
    key = sorted(sd)[0]
    if kind == "missing":
        del sd[key]
    elif kind == "extra":
        sd["extra.w"] = np.zeros(1)
    elif kind == "shape":
        sd[key] = np.zeros(sd[key].size + 1)
    elif kind == "nan":
        sd[key] = sd[key].copy()
        sd[key].flat[-1] = np.nan
    elif kind == "strings":
        sd[key] = np.full(sd[key].shape, "x")
    elif kind == "none":
        sd[key] = None
    elif kind == "not a dict":
        return list(sd.values())
    return sd


@pytest.mark.parametrize("kind, exc, pattern", [
    ("missing", KeyError, "missing"),
    ("extra", KeyError, r"unexpected \['extra.w'\]"),
    ("shape", ValueError, "has shape"),
    ("nan", ValueError, "NaN or infinity"),
    ("strings", TypeError, "dtype <U1"),
    ("none", TypeError, "dtype object|must be an array"),
    ("not a dict", TypeError, "state must be a dict"),
])
def test_module_load_state_dict_is_checked_and_atomic(kind, exc, pattern):
    model = _model()
    good = model.state_dict()
    other = _model()
    for p in other.parameters().values():
        p[...] = 7.0
    bad = _state_corruption(kind, other.state_dict())
    with pytest.raises(exc, match=pattern):
        model.load_state_dict(bad)
    for k, v in model.state_dict().items():          # not even the first, good array
        np.testing.assert_array_equal(v, good[k])


def test_module_state_round_trips():
    a, b = _model(), Sequential(Dense(3, 4, rng=5, dtype="float64"), ReLU(),
                                Dense(4, 1, rng=6, dtype="float64"))
    b.load_state_dict(a.state_dict())
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)


# ----------------------------------------------------------------------------
# Test functions, gradient checks, backend

FUNCTIONS_BAD = [
    (lambda: F.quadratic("10"), TypeError, "condition_number"),
    (lambda: F.quadratic(10.0, angle=float("nan")), ValueError, "angle"),
    (lambda: F.quadratic(10.0, center=[0.0, np.nan]), ValueError, "center"),
    (lambda: F.quadratic(10.0, center=["a", "b"]), TypeError, "center"),
    (lambda: F.parabola(2.0, center=float("inf")), ValueError, "center"),
    (lambda: F.parabola("2"), TypeError, "curvature"),
    (lambda: F.rosenbrock(a=float("nan")), ValueError, r"\ba must be"),
    (lambda: F.rosenbrock(b=float("nan")), ValueError, r"\bb must be"),
    (lambda: F.rosenbrock(b="100"), TypeError, "b must be"),
    (lambda: F.rastrigin(2, A=float("nan")), ValueError, r"\bA must be"),
    (lambda: F.double_well("0.3"), TypeError, "tilt"),
    (lambda: F.rosenbrock().grid(2.5), TypeError, "n must be an integer"),
    (lambda: F.rosenbrock().grid(1), ValueError, "n="),
    (lambda: F.rosenbrock().grid(10, bounds=((np.nan, 1), (0, 1))), ValueError,
     r"bounds\[0\]\[0\]"),
    (lambda: F.rosenbrock().grid(10, bounds=((1, 0), (0, 1))), ValueError, "low < high"),
    (lambda: F.rosenbrock().grid(10, bounds=(1, 2)), ValueError, "bounds must be"),
    (lambda: F.rosenbrock()(np.array(["a", "b"])), TypeError, "x must hold real numbers"),
]


@pytest.mark.parametrize("make, exc, pattern", FUNCTIONS_BAD,
                         ids=[str(i) for i in range(len(FUNCTIONS_BAD))])
def test_test_function_arguments(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


GRADCHECK_BAD = [
    (lambda: G.numerical_gradient(_f, np.ones(2), eps="1e-6"), TypeError, "eps"),
    (lambda: G.numerical_gradient(_f, np.ones(2), eps=float("inf")), ValueError, "eps"),
    (lambda: G.numerical_gradient(_f, np.array([np.nan, 1.0])), ValueError, "x holds NaN"),
    (lambda: G.numerical_gradient(_f, np.array(["a"])), TypeError, "x must hold real"),
    (lambda: G.numerical_gradient("f", np.ones(2)), TypeError, "f must be a function"),
    (lambda: G.check_gradient(_f, _g, np.ones(2), rtol=float("nan")), ValueError, "rtol"),
    (lambda: G.check_gradient(_f, _g, np.ones(2), rtol=-1e-5), ValueError, "rtol"),
    (lambda: G.check_gradient(_f, _g, np.ones(2), atol="0"), TypeError, "atol"),
]


@pytest.mark.parametrize("call, exc, pattern", GRADCHECK_BAD,
                         ids=[str(i) for i in range(len(GRADCHECK_BAD))])
def test_gradient_check_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: B.use(3), TypeError, "device name"),
    (lambda: B.use(None), TypeError, "device name"),
    (lambda: B.rng(1.5), TypeError, "seed"),
    (lambda: B.rng(-1), ValueError, "seed"),
    (lambda: B.rng(True), TypeError, "seed"),
])
def test_backend_arguments(call, exc, pattern):
    previous = B.device()
    try:
        with pytest.raises(exc, match=pattern):
            call()
    finally:
        B.use(previous)


def test_train_refuses_a_ready_optimizer_over_other_arrays():
    from gdlib.optim import SGD

    w = np.zeros(3)
    other = SGD(np.zeros(3), lr=0.1)
    with pytest.raises(ValueError, match="updates other arrays than params"):
        train({"w": w}, _loss_and_grad, other, data=_data())
    train({"w": w}, _loss_and_grad, SGD({"w": w}, lr=0.1), data=_data())   # the same arrays


def test_a_schedule_built_on_another_optimizer_is_refused():
    from gdlib.optim import SGD
    from gdlib.schedules import StepLR

    sched = StepLR(SGD(np.zeros(2), lr=0.1), 2)
    with pytest.raises(ValueError, match="built on another optimizer"):
        minimize(_f, X0, grad=_g, schedule=sched, steps=3)


def test_train_refuses_empty_data_and_a_factory_that_builds_no_optimizer():
    with pytest.raises(ValueError, match="data has no rows"):
        train({"w": np.zeros(3)}, _loss_and_grad, "gd", data=(np.zeros((0, 3)), np.zeros(0)))
    with pytest.raises(TypeError, match="has no step method"):
        train({"w": np.zeros(3)}, _loss_and_grad, dict, data=_data())


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda m: m.train("False"), TypeError, "mode must be True or False"),
    (lambda m: m.train(0), TypeError, "mode must be True or False"),
    (lambda m: predict(m, np.ones((4, 3)), batch_size=2.9), TypeError, "batch_size"),
    (lambda m: predict(m, np.ones((4, 3)), batch_size=0), ValueError, "batch_size"),
    (lambda m: resolve_dtype("floaty"), TypeError, "dtype must be a floating dtype"),
    (lambda m: resolve_dtype("int32"), TypeError, "dtype must be a floating dtype"),
])
def test_module_modes_predict_and_dtypes(call, exc, pattern):
    model = _model()
    with pytest.raises(exc, match=pattern):
        call(model)
    assert model.training is True

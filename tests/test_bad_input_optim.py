"""Bad input to the optimizers: refused at once, by name, and a refused step changes nothing.

Every optimizer in ``gdlib.optim.REGISTRY`` is covered (read at collection time,
so optimizers added later are covered too); which options each one has is read
from its constructor's signature. Three properties are checked with hypothesis:
a step that raises changes nothing (parameters, state, ``t``); dict gradients in
any key order give the result of the ordered dict; ``state_dict`` ->
``load_state_dict`` round-trips exactly and refuses any corrupted field,
leaving the optimizer untouched.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdlib.errors import GradientOverflowError, NonFiniteGradientError
from gdlib.optim import REGISTRY, create
from gdlib.optim.base import check_bool, check_int, check_real


def _canonical_names() -> list[str]:
    """One registry name per class (the registry may hold aliases)."""
    by_class = {}
    for name, cls in REGISTRY.items():
        if by_class.get(cls) != cls.__name__.lower():
            by_class[cls] = name
    return sorted(by_class.values())


NAMES = _canonical_names()
#: Optimizers whose step takes plain gradients (Newton wants a Hessian, L-BFGS a closure,
#: SAM a closure too: tests/test_optim_sam.py checks its bad input).
STEPPERS = [n for n in NAMES if n not in ("newton", "lbfgs", "sam")]
#: Optimizers whose rule squares the gradient (or takes its norm).
SQUARING = [n for n in STEPPERS if REGISTRY[n].squares_gradient]


def _defaults(name: str) -> dict:
    sig = inspect.signature(REGISTRY[name])
    return {k: p.default for k, p in sig.parameters.items() if k != "params"}


def _param(name: str):
    """A parameter every optimizer accepts (Muon: a matrix; Newton: a vector)."""
    if name == "newton":
        return np.arange(1.0, 4.0)
    return np.arange(1.0, 7.0).reshape(2, 3)


def _options(kind) -> list[tuple[str, str]]:
    """(optimizer, option) for every option whose default has this type."""
    out = []
    for name in NAMES:
        for arg, default in _defaults(name).items():
            if arg == "lr":                 # a float, even where the default is 1
                ok = kind is float
            else:
                ok = isinstance(default, bool) if kind is bool else type(default) is kind
            if ok:
                out.append((name, arg))
    return out


BOOLS = _options(bool)
FLOATS = [(n, a) for n, a in _options(float) if a != "eps" or n != "adafactor"]
INTS = _options(int)


# ----------------------------------------------------------------------------
# The shared checks themselves


@pytest.mark.parametrize("bad", ["False", "no", 0, 1, 1.0, None, np.array([True])])
def test_check_bool_accepts_only_booleans(bad):
    with pytest.raises(TypeError, match="flag must be True or False"):
        check_bool("flag", bad)
    assert check_bool("flag", np.bool_(True)) is True


@pytest.mark.parametrize("bad", [2.9, 3.0, "3", True, None, np.float64(2.0)])
def test_check_int_never_truncates(bad):
    with pytest.raises(TypeError, match="count must be an integer"):
        check_int("count", bad, minimum=0)
    assert check_int("count", np.int64(3), minimum=0) == 3


@pytest.mark.parametrize("bad, exc", [("0.1", TypeError), (None, TypeError), (True, TypeError),
                                      (float("nan"), ValueError), (float("inf"), ValueError),
                                      (-0.5, ValueError), (2.0, ValueError)])
def test_check_real_names_the_option(bad, exc):
    with pytest.raises(exc, match="tau"):
        check_real("tau", bad, 0.0, 1.0)
    assert check_real("tau", np.float32(0.5), 0.0, 1.0) == 0.5


# ----------------------------------------------------------------------------
# Hyper-parameters, where they enter


@pytest.mark.parametrize("name, arg", BOOLS, ids=[f"{n}-{a}" for n, a in BOOLS])
@pytest.mark.parametrize("bad", ["False", 1, None])
def test_boolean_options_accept_only_booleans(name, arg, bad):
    # nesterov="False" is a non-empty string: it used to turn Nesterov on.
    with pytest.raises(TypeError, match=rf"{arg} must be True or False"):
        create(name, _param(name), **{arg: bad})


@pytest.mark.parametrize("name, arg", FLOATS, ids=[f"{n}-{a}" for n, a in FLOATS])
@pytest.mark.parametrize("bad, exc", [("0.1", TypeError), (float("nan"), ValueError),
                                      (float("inf"), ValueError)],
                         ids=["string", "nan", "inf"])
def test_float_options_refuse_strings_nan_and_inf(name, arg, bad, exc):
    with pytest.raises(exc, match=arg):
        create(name, _param(name), **{arg: bad})


@pytest.mark.parametrize("name, arg", FLOATS, ids=[f"{n}-{a}" for n, a in FLOATS])
def test_float_options_accept_numpy_scalars(name, arg):
    default = _defaults(name)[arg]
    opt = create(name, _param(name), **{arg: np.float64(default)})
    assert getattr(opt, arg) == default and type(getattr(opt, arg)) is float


@pytest.mark.parametrize("name, arg", INTS, ids=[f"{n}-{a}" for n, a in INTS])
@pytest.mark.parametrize("bad", [2.9, "3", True])
def test_integer_options_refuse_non_integers(name, arg, bad):
    with pytest.raises(TypeError, match=rf"{arg} must be an integer"):
        create(name, _param(name), **{arg: bad})


SPECIFIC = [
    ("sgd", {"dampening": -0.5}, ValueError, "dampening"),
    ("sgd", {"dampening": 1.5}, ValueError, "dampening"),
    ("adafactor", {"beta2_decay": float("-inf")}, ValueError, "beta2_decay"),
    ("adafactor", {"beta2_decay": "-0.8"}, TypeError, "beta2_decay"),
    ("adafactor", {"d": float("inf")}, ValueError, "d="),
    ("adafactor", {"eps": "ab"}, TypeError, "eps"),
    ("adafactor", {"eps": (None, float("nan"))}, ValueError, r"eps\[1\]"),
    ("muon", {"ns_coefficients": (3.4, "b", 2.0)}, TypeError, r"ns_coefficients\[1\]"),
    ("muon", {"ns_coefficients": (3.4, float("nan"), 2.0)}, ValueError,
     r"ns_coefficients\[1\]"),
    ("muon", {"ns_steps": -1}, ValueError, "ns_steps"),
    ("muon", {"adjust_lr_fn": ["original"]}, ValueError, "adjust_lr_fn"),
    ("lbfgs", {"max_eval": 0}, ValueError, "max_eval"),
    ("lbfgs", {"max_eval": 2.5}, TypeError, "max_eval"),
    ("lbfgs", {"line_search_fn": ["strong_wolfe"]}, ValueError, "line_search_fn"),
    ("adam", {"betas": "ab"}, TypeError, r"betas\[0\]"),
    ("adam", {"betas": (0.9, float("nan"))}, ValueError, r"betas\[1\]"),
    ("schedulefreeadamw", {"warmup_steps": 1.5}, TypeError, "warmup_steps"),
]


@pytest.mark.parametrize("name, kw, exc, pattern", SPECIFIC,
                         ids=[f"{n}-{next(iter(k))}-{i}" for i, (n, k, _, _) in
                              enumerate(SPECIFIC)])
def test_specific_options(name, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        create(name, _param(name), **kw)


# ----------------------------------------------------------------------------
# Parameters: arrays, writable, each listed once


def test_the_same_array_twice_is_refused():
    w = np.zeros(3)
    with pytest.raises(ValueError, match=r"'params\[0\]' and 'params\[1\]' share memory"):
        create("sgd", [w, w])
    with pytest.raises(ValueError, match=r"'a' and 'b' share memory"):
        create("adam", {"a": w, "b": w})


def test_overlapping_views_are_refused():
    buf = np.zeros(10)
    with pytest.raises(ValueError, match="share memory"):
        create("adam", [buf[:6], buf[4:]])
    with pytest.raises(ValueError, match=r"'w' and 'params\[1\]'|share memory"):
        create("sgd", [np.zeros(2), buf, buf.reshape(2, 5)[1]])


def test_disjoint_views_of_one_buffer_are_fine():
    buf = np.zeros(10)
    create("adam", [buf[:5], buf[5:]])
    create("adam", [buf[::2], buf[1::2]])       # interleaved, but no element in common


def test_read_only_parameter_is_refused():
    w = np.zeros(3)
    w.flags.writeable = False
    with pytest.raises(ValueError, match=r"'params' is read-only"):
        create("sgd", w)


def test_parameter_made_read_only_later_is_refused_before_any_change():
    a, b = np.ones(2), np.ones(2)
    opt = create("sgd", {"a": a, "b": b}, lr=0.1)
    b.flags.writeable = False
    with pytest.raises(ValueError, match=r"'b' has become read-only"):
        opt.step({"a": np.ones(2), "b": np.ones(2)})
    np.testing.assert_array_equal(a, [1.0, 1.0])
    assert opt.t == 0


# ----------------------------------------------------------------------------
# Gradients: matched by key, checked before anything changes

def _dict_opt(name):
    w, b = _param(name), np.full((2, 3), 0.5)
    return create(name, {"w": w, "b": b}), w, b


def _g():
    return np.full((2, 3), 0.25)


BAD_GRADS = {
    "missing key": ({"w": None}, ValueError, r"missing gradient\(s\) for \['b'\]"),
    "extra key": ({"c": _g()}, ValueError, r"unexpected key\(s\) \['c'\]"),
    "misspelled key": ({"W": _g(), "drop": "w"}, ValueError, r"Did you mean 'w' for 'W'"),
    "list for dict": ([_g(), _g()], TypeError, "params is a dict"),
    "None": ({"b": None}, TypeError, r"gradient for 'b' is None"),
    "string array": ({"b": np.full((2, 3), "x")}, TypeError, r"'b' has dtype <U1"),
    "object array": ({"b": np.full((2, 3), 1.0, dtype=object)}, TypeError,
                     r"'b' has dtype object"),
    "boolean array": ({"b": np.ones((2, 3), dtype=bool)}, TypeError, r"'b' has dtype bool"),
    "complex": ({"b": np.ones((2, 3)) * 1j}, TypeError, r"'b' is complex"),
    "nested list of strings": ({"b": [["a"] * 3] * 2}, TypeError, r"'b' has dtype"),
    "wrong shape": ({"b": np.ones((3, 2))}, ValueError, r"'b' has shape \(3, 2\)"),
    "NaN": ({"b": np.array([[0.1, np.nan, 0.1]] * 2)}, NonFiniteGradientError,
            r"'b' holds NaN or infinity at step 2"),
    "inf": ({"b": np.array([[0.1, -np.inf, 0.1]] * 2)}, NonFiniteGradientError,
            r"'b' holds NaN or infinity"),
}


def _bad_grads(case):
    update, exc, pattern = BAD_GRADS[case]
    grads = {"w": _g(), "b": _g()}
    if isinstance(update, list):
        return update, exc, pattern
    update = dict(update)
    drop = update.pop("drop", None)
    if drop:
        del grads[drop]
    for k, v in update.items():
        if v is None and k == "w":
            del grads["b"]          # "missing key": leave only w
        else:
            grads[k] = v
    return grads, exc, pattern


def _snapshot(opt):
    return copy.deepcopy(opt.state_dict()), [p.copy() for p in opt.params]


def _assert_unchanged(opt, snap):
    sd, params = snap
    assert opt.t == sd["t"]
    for p, q in zip(opt.params, params):
        np.testing.assert_array_equal(p, q)
    now = opt.state_dict()
    assert now["hyper"] == sd["hyper"]
    for a, b in zip(now["state"], sd["state"]):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("name", STEPPERS)
@pytest.mark.parametrize("case", sorted(BAD_GRADS))
def test_a_bad_gradient_changes_nothing(name, case):
    opt, w, b = _dict_opt(name)
    opt.step({"b": _g(), "w": _g()})            # state exists, t = 1
    snap = _snapshot(opt)
    grads, exc, pattern = _bad_grads(case)
    with pytest.raises(exc, match=pattern):
        opt.step(grads)
    _assert_unchanged(opt, snap)


@pytest.mark.parametrize("name", STEPPERS)
def test_dict_gradients_are_matched_by_key(name):
    # Today's bug: opt.step({"b": gb, "w": gw}) applied gb to w.
    opt1, w1, b1 = _dict_opt(name)
    opt2, w2, b2 = _dict_opt(name)
    gw, gb = np.full((2, 3), 0.3), np.full((2, 3), -0.7)
    opt1.step({"w": gw, "b": gb})
    opt2.step({"b": gb, "w": gw})
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(b1, b2)


@pytest.mark.parametrize("name", SQUARING)
def test_huge_finite_gradient_does_not_silently_skip_the_step(name):
    # Adam's v = (1-β2) g² overflows to inf for g = 1e200, and m / sqrt(v) = 0:
    # the step used to be silently 0. Now it is refused, naming the parameter.
    w = _param(name)
    opt = create(name, {"weights": w})
    g = np.full((2, 3), 1e-3)
    g[0, 1] = 1e200
    with pytest.raises(GradientOverflowError, match=r"'weights' is finite but huge.*1e\+200"):
        opt.step({"weights": g})
    np.testing.assert_array_equal(w, _param(name))
    assert opt.t == 0


def test_huge_gradient_for_a_float32_parameter_is_checked_in_float32():
    w = np.zeros(3, dtype=np.float32)
    opt = create("adam", w)
    with pytest.raises(GradientOverflowError, match="float32"):
        opt.step(np.array([1e30, 0.0, 0.0]))    # fits float64, its square not float32


@pytest.mark.parametrize("name", ["gd", "sgd", "lion", "adamax"])
def test_rules_that_do_not_square_take_huge_gradients(name):
    w = np.zeros(3)
    create(name, w, lr=1e-300).step(np.array([1e200, 1.0, -1e200]))
    assert np.isfinite(w).all() and w[0] < 0 < w[2]


def test_integer_gradient_is_converted_not_refused():
    w = np.zeros(2)
    create("sgd", w, lr=0.5).step(np.array([1, 2]))
    np.testing.assert_array_equal(w, [-0.5, -1.0])


def test_gradient_that_aliases_its_parameter_is_read_before_the_parameter_changes():
    # AdamW shrinks p before reading g: with g *being* p the step used to change.
    w1, w2 = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    create("adamw", w1, lr=0.1, weight_decay=0.5).step(w1)
    create("adamw", w2, lr=0.1, weight_decay=0.5).step(w2.copy())
    np.testing.assert_array_equal(w1, w2)


@pytest.mark.parametrize("bad", [float("nan"), -0.1, "0.1", float("inf")])
def test_learning_rate_set_by_hand_is_checked_at_the_step(bad):
    w = np.ones(2)
    opt = create("sgd", w, lr=0.1)
    opt.lr = bad
    with pytest.raises((TypeError, ValueError), match="lr"):
        opt.step(np.ones(2))
    np.testing.assert_array_equal(w, [1.0, 1.0])
    assert opt.t == 0


@pytest.mark.parametrize("name, arg, bad, exc", [
    ("sgd", "momentum", -0.9, ValueError),
    ("sgd", "nesterov", "yes", TypeError),
    ("adam", "betas", (0.9, 1.5), ValueError),
    ("adam", "eps", 0.0, ValueError),
    ("rmsprop", "alpha", float("nan"), ValueError),
    ("muon", "ns_steps", 2.5, TypeError),
    ("adam", "betas", np.array([0.9, 0.999, 0.5]), ValueError),
])
def test_hyper_parameters_changed_by_hand_are_checked_at_the_step(name, arg, bad, exc):
    w = _param(name)
    opt = create(name, w)
    opt.step(np.full(w.shape, 0.1))
    snap = _snapshot(opt)
    setattr(opt, arg, bad)
    with pytest.raises(exc, match=rf"changed after it was made.*{arg}"):
        opt.step(np.full(w.shape, 0.1))
    assert opt.t == snap[0]["t"]
    np.testing.assert_array_equal(w, snap[1][0])


def test_hyper_parameters_changed_validly_are_normalized():
    opt = create("sgd", np.zeros(2), lr=0.1, momentum=0.5)
    opt.momentum, opt.lr = np.float32(0.25), np.float64(0.2)
    opt.step(np.ones(2))
    assert type(opt.momentum) is float and opt.momentum == 0.25 and type(opt.lr) is float


def test_newton_bad_hessian_changes_nothing():
    x = np.array([1.0, 2.0])
    opt = create("newton", x)
    for H, exc, pattern in [(None, TypeError, "hessian must be"),
                            (np.full((2, 2), "a"), TypeError, "hessian must be"),
                            (np.eye(3), ValueError, r"hessian has shape \(3, 3\)"),
                            (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "hessian holds"),
                            (np.zeros((2, 2)), ValueError, "singular")]:
        with pytest.raises(exc, match=pattern):
            opt.step(np.ones(2), H)
        np.testing.assert_array_equal(x, [1.0, 2.0])
        assert opt.t == 0


def test_lbfgs_closure_failing_half_way_changes_nothing():
    x = np.array([3.0, -1.0])
    opt = create("lbfgs", x, max_iter=5)
    calls = []

    def closure():
        calls.append(1)
        if len(calls) == 3:
            return 1.0, np.array([np.nan, 0.0])
        return float(x @ x), 2 * x

    with pytest.raises(NonFiniteGradientError, match="'params'"):
        opt.step(closure)
    np.testing.assert_array_equal(x, [3.0, -1.0])
    assert opt.t == 0 and opt.state[0] == {}


@pytest.mark.parametrize("bad", [None, "closure", np.ones(2)])
def test_lbfgs_needs_a_closure(bad):
    opt = create("lbfgs", np.ones(2))
    with pytest.raises(TypeError, match="closure"):
        opt.step(bad)


# ----------------------------------------------------------------------------
# load_state_dict: everything checked, then copied


def _trained(name, steps=2):
    w = _param(name)
    opt = create(name, {"w": w})
    if name == "newton":
        for _ in range(steps):
            opt.step({"w": w.copy()}, np.eye(3) * 2.0)
    elif name == "lbfgs":
        for _ in range(steps):
            opt.step(lambda: (float((w * w).sum()), {"w": 2 * w}))
    elif name == "sam":
        for k in range(steps):
            opt.step({"w": np.full(w.shape, 0.1 * (k + 1))}, lambda: (0.0, {"w": 2 * w}))
    else:
        for k in range(steps):
            opt.step({"w": np.full(w.shape, 0.1 * (k + 1))})
    return opt


def _first_array_key(sd):
    for i, entry in enumerate(sd["state"]):
        for k, v in entry.items():
            if isinstance(v, np.ndarray):
                return i, k
    return None


CORRUPTIONS = {
    "not a dict": (lambda sd: [sd], TypeError, "state_dict must be a dict"),
    "other optimizer": (lambda sd: {**sd, "optimizer": "Nope"}, ValueError,
                        r"state_dict\['optimizer'\]"),
    "missing t": (lambda sd: {k: v for k, v in sd.items() if k != "t"}, ValueError,
                  r"missing \['t'\]"),
    "extra key": (lambda sd: {**sd, "lr": 1.0}, ValueError, r"unexpected \['lr'\]"),
    "negative t": (lambda sd: {**sd, "t": -1}, ValueError, r"state_dict\['t'\]"),
    "fractional t": (lambda sd: {**sd, "t": 2.5}, TypeError, r"state_dict\['t'\]"),
    "NaN learning rate": (lambda sd: {**sd, "hyper": {**sd["hyper"], "lr": float("nan")}},
                          ValueError, r"state_dict\['hyper'\] is invalid.*lr"),
    "string learning rate": (lambda sd: {**sd, "hyper": {**sd["hyper"], "lr": "0.1"}},
                             TypeError, r"state_dict\['hyper'\] is invalid.*lr"),
    "unknown hyper": (lambda sd: {**sd, "hyper": {**sd["hyper"], "gamma": 1.0}},
                      ValueError, r"state_dict\['hyper'\].*unexpected \['gamma'\]"),
    "state too short": (lambda sd: {**sd, "state": []}, ValueError, "has 0 entries"),
    "state not a list": (lambda sd: {**sd, "state": {}}, TypeError,
                         r"state_dict\['state'\] must be a list"),
    "entry not a dict": (lambda sd: {**sd, "state": [None]}, TypeError,
                         r"state_dict\['state'\]\[0\].*must be a dict"),
}


def _array_corruption(kind):
    def corrupt(sd):
        sd = copy.deepcopy(sd)
        where = _first_array_key(sd)
        if where is None:
            pytest.skip("this optimizer keeps no arrays in its state")
        i, k = where
        a = sd["state"][i][k]
        if kind == "nan":
            a = a.copy()
            a.flat[0] = np.nan
        elif kind == "shape":
            a = np.zeros(a.size + 1)
        elif kind == "strings":
            a = np.full(a.shape, "x")
        elif kind == "missing":
            del sd["state"][i][k]
            return sd
        sd["state"][i][k] = a
        return sd
    return corrupt


CORRUPTIONS.update({
    "NaN in state": (_array_corruption("nan"), ValueError, "NaN or infinity"),
    "wrong state shape": (_array_corruption("shape"), ValueError, "has shape"),
    "string state": (_array_corruption("strings"), TypeError, "real numbers"),
    "missing state key": (_array_corruption("missing"), ValueError, "missing"),
})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_load_state_dict_refuses_corruption_and_changes_nothing(name, case):
    opt = _trained(name)
    good = opt.state_dict()
    corrupt, exc, pattern = CORRUPTIONS[case]
    bad = corrupt(copy.deepcopy(good))
    snap = _snapshot(opt)
    with pytest.raises(exc, match=pattern):
        opt.load_state_dict(bad)
    _assert_unchanged(opt, snap)


def test_load_state_dict_does_not_alias_the_saved_arrays():
    opt = _trained("adam")
    sd = opt.state_dict()
    fresh = create("adam", {"w": _param("adam")})
    fresh.load_state_dict(sd)
    before = sd["state"][0]["exp_avg"].copy()
    fresh.step({"w": np.ones((2, 3))})
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)


def test_state_before_the_first_step_must_be_empty():
    opt = create("adam", np.ones(2))
    sd = _trained("adam").state_dict()
    sd = {**sd, "t": 0, "state": [{"exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}]}
    with pytest.raises(ValueError, match=r"before the first step \(t=0\)"):
        opt.load_state_dict(sd)


def test_lbfgs_state_is_checked_too():
    opt = _trained("lbfgs", steps=2)
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["old_dirs"] = sd["state"][0]["old_dirs"] + [np.zeros(6)]
    with pytest.raises(ValueError, match="same length"):
        opt.load_state_dict(sd)
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["n_iter"] = 1.5
    with pytest.raises(TypeError, match="n_iter"):
        opt.load_state_dict(sd)


# ----------------------------------------------------------------------------
# Properties (hypothesis)

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

grads_st = st.lists(st.floats(-2, 2, allow_nan=False), min_size=6, max_size=6).map(
    lambda xs: np.array(xs).reshape(2, 3))


@FAST
@given(name=st.sampled_from(STEPPERS), g=grads_st, case=st.sampled_from(sorted(BAD_GRADS)),
       warm=st.integers(0, 2))
def test_property_a_step_that_raises_changes_nothing(name, g, case, warm):
    opt, _, _ = _dict_opt(name)
    for _ in range(warm):
        opt.step({"w": g, "b": -g})
    snap = _snapshot(opt)
    grads, exc, _ = _bad_grads(case)
    with pytest.raises(exc):
        opt.step(grads)
    _assert_unchanged(opt, snap)


@FAST
@given(name=st.sampled_from(STEPPERS), gs=st.lists(grads_st, min_size=3, max_size=3),
       order=st.permutations(["a", "b", "c"]), steps=st.integers(1, 3))
def test_property_dict_gradients_in_any_key_order(name, gs, order, steps):
    def run(keys):
        params = {k: np.arange(1.0, 7.0).reshape(2, 3) * (i + 1) for i, k in enumerate("abc")}
        opt = create(name, params)
        for s in range(steps):
            opt.step({k: gs["abc".index(k)] * (s + 1) for k in keys})
        return params

    want, got = run(["a", "b", "c"]), run(order)
    for k in "abc":
        np.testing.assert_array_equal(got[k], want[k])


@FAST
@given(name=st.sampled_from(NAMES), steps=st.integers(0, 3), g=grads_st,
       case=st.sampled_from(sorted(CORRUPTIONS)))
def test_property_state_dict_round_trips_and_refuses_corruption(name, steps, g, case):
    opt = _trained(name, steps)
    saved = opt.state_dict()
    clone = create(name, {"w": opt.params[0].copy()})
    clone.load_state_dict(copy.deepcopy(saved))
    again = clone.state_dict()
    assert again["t"] == saved["t"] and again["hyper"] == saved["hyper"]
    for a, b in zip(again["state"], saved["state"]):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(np.asarray(a[k], dtype=object),
                                          np.asarray(b[k], dtype=object))
    if name in STEPPERS:   # the same next step from both
        opt.step({"w": g})
        clone.step({"w": g})
        np.testing.assert_array_equal(opt.params[0], clone.params[0])
    corrupt, exc, _ = CORRUPTIONS[case]
    if case in ("NaN in state", "wrong state shape", "string state", "missing state key") and (
            _first_array_key(opt.state_dict()) is None):
        return
    snap = _snapshot(opt)
    with pytest.raises(exc):
        opt.load_state_dict(corrupt(copy.deepcopy(opt.state_dict())))
    _assert_unchanged(opt, snap)


@pytest.mark.parametrize("loss, pattern", [(float("nan"), "initial point"),
                                           ("low", "one number")])
def test_lbfgs_closure_loss_is_checked(loss, pattern):
    x = np.array([1.0, 2.0])
    opt = create("lbfgs", x)
    with pytest.raises((NonFiniteGradientError, TypeError), match=pattern):
        opt.step(lambda: (loss, 2 * x))
    np.testing.assert_array_equal(x, [1.0, 2.0])
    assert opt.t == 0


def test_lbfgs_non_finite_loss_later_rolls_the_step_back():
    x = np.array([1.0, 2.0])
    opt = create("lbfgs", x, lr=0.1, max_iter=2)
    opt.step(lambda: (float(x @ x), 2 * x))
    before, state = x.copy(), _snapshot(opt)
    with pytest.raises(NonFiniteGradientError, match="during step 2"):
        opt.step(lambda: (float(x @ x) if (x == before).all() else np.inf, 2 * x))
    _assert_unchanged(opt, state)

"""gdlib.nn normalisation layers: gradient checks, hand-derived values, torch reference,
running statistics, bad input, GPU parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gdlib import backend, nn
from gdlib.backend import to_host
from gdlib.nn import check_module

FIXTURE = Path(__file__).parent / "fixtures" / "normalization_torch.npz"


@pytest.fixture(autouse=True)
def float64_layers():
    old = nn.set_default_dtype("float64")
    yield
    nn.set_default_dtype(old)


def rand(*shape, seed=0, scale=1.0, shift=0.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale + shift


def randomize_affine(layer, seed=1):
    """Gain and shift away from 1 and 0, so that a backward ignoring them fails."""
    gen = np.random.default_rng(seed)
    for p in layer.params.values():
        p[...] = backend.asarray(gen.uniform(0.5, 1.5, p.shape) * gen.choice([-1, 1], p.shape))
    return layer


def assert_checks(module, *inputs, **kw):
    result = check_module(module, *inputs, **kw)
    assert result.ok, str(result)
    assert result.report
    return result


# ----------------------------------------------------------------------------
# LayerNorm


@pytest.mark.parametrize("shape, normalized", [((5, 6), 6), ((2, 3, 6), 6), ((2, 3, 4), (3, 4)),
                                               ((7,), 7)])
def test_layernorm_gradients(shape, normalized):
    layer = randomize_affine(nn.LayerNorm(normalized))
    result = assert_checks(layer, rand(*shape, scale=2.0, shift=0.7))
    assert set(result.report) == {"gamma", "beta", "input 0"}


@pytest.mark.parametrize("kw", [{"elementwise_affine": False}, {"bias": False}])
def test_layernorm_gradients_without_affine_or_bias(kw):
    layer = nn.LayerNorm(5, **kw)
    if layer.params:
        randomize_affine(layer)
    assert_checks(layer, rand(4, 5, scale=3.0))
    assert "beta" not in layer.params


def test_layernorm_standardises_each_example_over_its_last_axis():
    x = rand(4, 3, 8, scale=5.0, shift=-2.0)
    y = to_host(nn.LayerNorm(8)(x))
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)
    # biased variance, eps = 1e-5 inside the square root
    np.testing.assert_allclose(y.var(axis=-1), x.var(axis=-1) / (x.var(axis=-1) + 1e-5),
                               rtol=1e-12)


def test_layernorm_matches_the_formula_with_gain_and_shift():
    x = rand(3, 2, 4, seed=3)
    layer = randomize_affine(nn.LayerNorm((2, 4), eps=1e-3))
    g, b = to_host(layer.params["gamma"]), to_host(layer.params["beta"])
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=(1, 2), keepdims=True)
    expect = (x - mu) / np.sqrt(var + 1e-3) * g + b
    np.testing.assert_allclose(to_host(layer(x)), expect, rtol=1e-12, atol=1e-14)


def test_layernorm_backward_is_orthogonal_to_shift_and_scale_of_the_input():
    # L(x + c) = L(x) and L(a x) ~ L(x): the input gradient has zero mean and is
    # orthogonal to x_hat within each example (exactly so up to eps)
    x = rand(6, 10, scale=3.0)
    layer = randomize_affine(nn.LayerNorm(10, eps=1e-12))
    y = layer(x)
    dx = to_host(layer.backward(rand(*y.shape, seed=4)))
    np.testing.assert_allclose(dx.sum(axis=-1), 0.0, atol=1e-10)
    np.testing.assert_allclose((dx * x).sum(axis=-1), 0.0, atol=1e-9)


def test_layernorm_same_in_train_and_eval_and_float32_stays_float32():
    x = rand(3, 5)
    layer = nn.LayerNorm(5)
    a = to_host(layer(x))
    b = to_host(layer.eval()(x))
    np.testing.assert_array_equal(a, b)
    layer32 = nn.LayerNorm(5, dtype="float32")
    y = layer32(x)
    assert y.dtype == np.float32
    assert layer32.backward(np.ones((3, 5), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("kw, match", [
    ({"normalized_shape": 0}, "normalized_shape"),
    ({"normalized_shape": (3, -1)}, "normalized_shape"),
    ({"normalized_shape": "4"}, "normalized_shape"),
    ({"normalized_shape": 4, "eps": 0.0}, "eps"),
    ({"normalized_shape": 4, "eps": float("nan")}, "eps"),
    ({"normalized_shape": 4, "elementwise_affine": "yes"}, "elementwise_affine"),
    ({"normalized_shape": 4, "bias": 1}, "bias"),
])
def test_layernorm_bad_arguments_are_named(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        nn.LayerNorm(**kw)


def test_layernorm_bad_input_is_named():
    layer = nn.LayerNorm(4)
    with pytest.raises(ValueError, match=r"normalized_shape=\(4,\).*\(2, 5\)"):
        layer(np.ones((2, 5)))
    x = np.ones((2, 4))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        layer(x)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.LayerNorm(4).backward(np.ones((2, 4)))
    layer(np.ones((2, 4)))
    with pytest.raises(ValueError, match="dout"):
        layer.backward(np.ones((2, 3)))


# ----------------------------------------------------------------------------
# BatchNorm: gradient checks


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.BatchNorm1d(3), (6, 3)),
    (lambda: nn.BatchNorm1d(3), (4, 3, 5)),
    (lambda: nn.BatchNorm2d(4), (3, 4, 2, 3)),
    (lambda: nn.BatchNorm2d(2), (1, 2, 3, 3)),      # one image: still 9 values per channel
])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_gradients(make, shape, mode):
    layer = randomize_affine(make())
    layer.train(mode == "train")
    if mode == "eval":      # running statistics away from (0, 1)
        C = shape[1]
        layer._buffers["running_mean"][...] = backend.asarray(rand(C, seed=7))
        layer._buffers["running_var"][...] = backend.asarray(rand(C, seed=8) ** 2 + 0.5)
    result = assert_checks(layer, rand(*shape, scale=2.0, shift=-1.0))
    assert set(result.report) == {"gamma", "beta", "input 0"}


def test_batchnorm_gradients_without_affine_and_without_running_stats():
    assert_checks(nn.BatchNorm2d(3, affine=False), rand(2, 3, 2, 2))
    layer = randomize_affine(nn.BatchNorm1d(4, track_running_stats=False)).eval()
    assert_checks(layer, rand(5, 4))        # no running stats: batch statistics in eval too
    assert layer.buffers() == {}


def test_gradient_check_catches_a_backward_without_the_mean_terms(monkeypatch):
    from gdlib.nn import normalization

    monkeypatch.setattr(normalization, "_normalize_backward",
                        lambda g, x_hat, inv_std, axes: g * inv_std)
    result = check_module(nn.BatchNorm1d(3), rand(6, 3))
    assert not result.ok and result.report["input 0"] > 1e-2


# ----------------------------------------------------------------------------
# BatchNorm: hand-derived values


def test_batchnorm_training_output_has_mean_0_and_variance_1_per_channel():
    x = rand(64, 3, 4, 4, scale=4.0, shift=3.0)
    y = to_host(nn.BatchNorm2d(3)(x))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), var / (var + 1e-5), rtol=1e-12)
    x1 = rand(32, 5, scale=[1, 10, 0.1, 3, 7], shift=[0, -5, 5, 1, 2])
    y1 = to_host(nn.BatchNorm1d(5, eps=1e-12)(x1))
    np.testing.assert_allclose(y1.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y1.var(axis=0), 1.0, rtol=1e-9)


def test_running_statistics_follow_the_momentum_rule_with_the_unbiased_variance():
    layer = nn.BatchNorm1d(2, momentum=0.2)
    rm, rv = np.zeros(2), np.ones(2)
    for k in range(3):
        x = rand(5, 2, seed=k, scale=2.0, shift=k)
        layer(x)
        rm = 0.8 * rm + 0.2 * x.mean(axis=0)
        rv = 0.8 * rv + 0.2 * x.var(axis=0, ddof=1)          # n/(n-1): unbiased
        np.testing.assert_allclose(to_host(layer.buffers()["running_mean"]), rm, rtol=1e-13)
        np.testing.assert_allclose(to_host(layer.buffers()["running_var"]), rv, rtol=1e-13)
    assert int(layer.buffers()["num_batches_tracked"]) == 3
    # momentum=None: the plain average over batches
    avg = nn.BatchNorm2d(2, momentum=None)
    xs = [rand(3, 2, 2, 2, seed=10 + k) for k in range(4)]
    for x in xs:
        avg(x)
    np.testing.assert_allclose(to_host(avg.buffers()["running_mean"]),
                               np.mean([x.mean(axis=(0, 2, 3)) for x in xs], axis=0),
                               rtol=1e-12)


def test_eval_uses_running_statistics_and_leaves_them_alone():
    layer = randomize_affine(nn.BatchNorm1d(3))
    for k in range(5):
        layer(rand(10, 3, seed=k, scale=3.0, shift=2.0))
    state = {k: v.copy() for k, v in layer.state_dict().items()}
    layer.eval()
    x = rand(4, 3, seed=9)
    y = to_host(layer(x))
    rm, rv = state["running_mean"], state["running_var"]
    expect = (x - rm) / np.sqrt(rv + 1e-5) * state["gamma"] + state["beta"]
    np.testing.assert_allclose(y, expect, rtol=1e-12)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    # one example at a time gives the same as the batch: no mixing between examples
    np.testing.assert_allclose(to_host(layer(x[:1])), y[:1], rtol=1e-13)


def test_state_dict_saves_and_restores_running_statistics():
    a = randomize_affine(nn.BatchNorm2d(3))
    for k in range(3):
        a(rand(4, 3, 2, 2, seed=k, shift=1.0))
    state = a.state_dict()
    assert set(state) == {"gamma", "beta", "running_mean", "running_var", "num_batches_tracked"}
    assert set(a.parameters()) == {"gamma", "beta"}          # the optimizer never sees them
    b = nn.BatchNorm2d(3)
    b.load_state_dict(state)
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    x = rand(2, 3, 2, 2, seed=5)
    np.testing.assert_array_equal(to_host(a.eval()(x)), to_host(b.eval()(x)))
    # nested: dotted names, and a state without the running statistics is refused
    model = nn.Sequential(nn.Dense(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    keys = set(model.state_dict())
    assert {"layers.1.running_mean", "layers.1.running_var"} <= keys
    bad = {k: v for k, v in model.state_dict().items() if "running" not in k}
    before = model.state_dict()
    with pytest.raises(KeyError, match="running_mean"):
        model.load_state_dict(bad)
    corrupt = model.state_dict()
    corrupt["layers.1.running_var"][0] = np.nan
    with pytest.raises(ValueError, match="running_var"):
        model.load_state_dict(corrupt)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ----------------------------------------------------------------------------
# Reference: PyTorch (tools/reference/normalization.py)


def _reference_cases():
    if not FIXTURE.exists():
        return []
    import json

    with np.load(FIXTURE) as f:
        return json.loads(str(f["cases_json"]))


@pytest.mark.parametrize("case", _reference_cases(), ids=lambda c: c["name"])
def test_forward_backward_and_running_statistics_equal_torch(case):
    with np.load(FIXTURE) as f:
        ref = {k: f[k] for k in f.files}
    c = case["name"]
    kwargs = dict(case["kwargs"])
    if case["layer"] == "LayerNorm":
        kwargs["normalized_shape"] = tuple(kwargs["normalized_shape"])
    layer = getattr(nn, case["layer"])(**kwargs)
    if layer.params:
        layer.params["gamma"][...] = backend.asarray(ref[f"{c}/gamma"])
        layer.params["beta"][...] = backend.asarray(ref[f"{c}/beta"])
    steps = [str(k) for k in range(case["steps"])]
    if f"{c}/x/eval" in ref:
        steps.append("eval")
    for k in steps:
        layer.train(k != "eval")
        layer.zero_grad()
        y = layer(ref[f"{c}/x/{k}"])
        dx = layer.backward(ref[f"{c}/dout/{k}"])
        np.testing.assert_allclose(to_host(y), ref[f"{c}/y/{k}"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(to_host(dx), ref[f"{c}/dx/{k}"], rtol=1e-10, atol=1e-12)
        if f"{c}/dgamma/{k}" in ref:
            np.testing.assert_allclose(to_host(layer.grads["gamma"]), ref[f"{c}/dgamma/{k}"],
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(to_host(layer.grads["beta"]), ref[f"{c}/dbeta/{k}"],
                                       rtol=1e-10, atol=1e-12)
        if f"{c}/running_mean/{k}" in ref:
            buf = layer.buffers()
            for name in ("running_mean", "running_var"):
                np.testing.assert_allclose(to_host(buf[name]), ref[f"{c}/{name}/{k}"],
                                           rtol=1e-10, atol=1e-12)
            assert int(buf["num_batches_tracked"]) == int(ref[f"{c}/num_batches_tracked/{k}"])


def test_the_reference_fixture_is_there():
    assert FIXTURE.exists(), "run tools/reference/normalization.py with torch 2.13"
    assert len(_reference_cases()) >= 6


# ----------------------------------------------------------------------------
# BatchNorm: bad input


@pytest.mark.parametrize("kw, match", [
    ({"num_features": 0}, "num_features"),
    ({"num_features": 2.0}, "num_features"),
    ({"num_features": 3, "momentum": 1.5}, "momentum"),
    ({"num_features": 3, "momentum": True}, "momentum"),
    ({"num_features": 3, "eps": -1e-5}, "eps"),
    ({"num_features": 3, "affine": "no"}, "affine"),
    ({"num_features": 3, "track_running_stats": None}, "track_running_stats"),
])
def test_batchnorm_bad_arguments_are_named(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        nn.BatchNorm1d(**kw)


def test_batchnorm_bad_input_is_named_and_changes_nothing():
    layer = nn.BatchNorm1d(3)
    before = layer.state_dict()
    with pytest.raises(ValueError, match=r"C = 3 channels.*\(4, 5\)"):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, L\)"):
        layer(np.ones((4, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.BatchNorm2d(3)(np.ones((4, 3)))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        layer(np.ones((1, 3)))
    x = rand(4, 3)
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        layer(x)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    layer.eval()(np.ones((1, 3)))          # one example is fine in evaluation mode
    with pytest.raises(RuntimeError, match="before forward"):
        nn.BatchNorm2d(3).backward(np.ones((2, 3, 1, 1)))


# ----------------------------------------------------------------------------
# NumPy / CuPy parity


@pytest.mark.gpu
def test_normalization_same_on_cpu_and_gpu():
    import cupy

    x = rand(6, 4, 3, 3, seed=1, scale=2.0)
    results = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            model = nn.Sequential(nn.BatchNorm2d(4), nn.Flatten(), nn.Dense(36, 8, rng=0),
                                  nn.LayerNorm(8), nn.BatchNorm1d(8, momentum=None))
            for layer in model.layers:
                if layer.params and not isinstance(layer, nn.Dense):
                    randomize_affine(layer)
            out = model(backend.asarray(x))
            dx = model.backward(backend.asarray(rand(*out.shape, seed=2)))
            if device == "gpu":
                assert isinstance(out, cupy.ndarray)
            model.eval()
            out_eval = model(backend.asarray(x[:2]))
            results[device] = (to_host(out), to_host(dx), to_host(out_eval),
                               {k: to_host(g) for k, g in model.gradients().items()},
                               model.state_dict())
        finally:
            backend.use(previous)
    cpu, gpu = results["cpu"], results["gpu"]
    for a, b in zip(cpu[:3], gpu[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    for k in cpu[3]:
        np.testing.assert_allclose(cpu[3][k], gpu[3][k], rtol=1e-9, atol=1e-12)
    for k in cpu[4]:
        np.testing.assert_allclose(cpu[4][k], gpu[4][k], rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------
# Scale invariance: effective learning rate and the equilibrium norm


def test_scale_invariant_weight_gradient_is_orthogonal_and_scales_as_one_over_c():
    x = rand(16, 5, seed=2)
    dense, bn = nn.Dense(5, 4, bias=False, rng=0), nn.BatchNorm1d(4, eps=1e-12)
    W = dense.params["W"]
    dout = rand(16, 4, seed=3)

    def grad_at(scale):
        W0 = W.copy()
        W[...] = W0 * scale
        dense.zero_grad()
        bn.zero_grad()
        out = bn(dense(x))
        dense.backward(bn.backward(dout))
        W[...] = W0
        return to_host(out), to_host(dense.grads["W"]).copy()

    y1, g1 = grad_at(1.0)
    y3, g3 = grad_at(3.0)
    np.testing.assert_allclose(y3, y1, rtol=1e-9, atol=1e-10)     # L(3w) = L(w)
    np.testing.assert_allclose(g3, g1 / 3, rtol=1e-8, atol=1e-12)  # grad(3w) = grad(w)/3
    assert abs((g1 * to_host(W)).sum()) < 1e-9 * np.abs(g1).sum()   # grad _|_ w


def test_equilibrium_is_the_fixed_point_of_the_norm_recursion():
    from gdlib.nn.normalization import (
        effective_lr,
        equilibrium_norm_sq,
        equilibrium_relative_update,
    )

    lr, wd, ghat_sq = 0.5, 0.4, 9.0
    assert equilibrium_norm_sq(lr, wd, ghat_sq) == pytest.approx(2.5, rel=1e-12)
    for lr, wd, ghat_sq in [(0.5, 0.4, 9.0), (1.0, 0.01, 0.3), (0.05, 1e-3, 2.0)]:
        w2 = 1.0
        for _ in range(200_000):
            new = (1 - lr * wd) ** 2 * w2 + lr ** 2 * ghat_sq / w2
            if abs(new - w2) < 1e-15 * w2:
                break
            w2 = new
        assert equilibrium_norm_sq(lr, wd, ghat_sq) == pytest.approx(w2, rel=1e-9)
        rel = lr * np.sqrt(ghat_sq / w2) / np.sqrt(w2)          # lr ||g|| / ||w||
        assert equilibrium_relative_update(lr, wd) == pytest.approx(rel, rel=1e-9)
    assert effective_lr(0.5, np.array([[1.0, 2.0], [0.0, 1.0]])) == pytest.approx(0.5 / 6)


@pytest.mark.parametrize("call, match", [
    (lambda f: f.equilibrium_norm_sq(0.0, 0.1, 1.0), "lr"),
    (lambda f: f.equilibrium_norm_sq(0.1, -1.0, 1.0), "weight_decay"),
    (lambda f: f.equilibrium_norm_sq(0.1, 0.1, float("nan")), "unit_grad_sq"),
    (lambda f: f.equilibrium_norm_sq(2.0, 0.5, 1.0), "lr \\* weight_decay"),
    (lambda f: f.equilibrium_relative_update(1.0, True), "weight_decay"),
    (lambda f: f.effective_lr(0.1, np.zeros(3)), "weight"),
    (lambda f: f.effective_lr("0.1", np.ones(3)), "lr"),
])
def test_equilibrium_helpers_name_bad_arguments(call, match):
    from gdlib.nn import normalization

    with pytest.raises(ValueError, match=match):
        call(normalization)

"""gdlib.precision: formats, rounding, the loss-scale rule against torch, master weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from gdlib import nn
from gdlib.nn.check import check_module
from gdlib.optim import SGD, Adam
from gdlib.precision import (
    GradScaler,
    MixedPrecision,
    MixedPrecisionOptimizer,
    RoundTo,
    ScaledLoss,
    _round_bfloat16_bits,
    as_format,
    bfloat16,
    emulate,
    float_bits,
    flushed_fraction,
    format_info,
    format_table,
    round_to,
    ulp,
)
from gdlib.train import train

FIXTURE = Path(__file__).parent / "fixtures" / "muon_bf16_torch.npz"


# -- formats ------------------------------------------------------------------------------


def test_format_table_matches_ieee_and_bfloat16_layouts():
    t = {f["name"]: f for f in format_table()}
    assert [f["name"] for f in format_table()] == ["float64", "float32", "float16", "bfloat16"]
    assert (t["float16"]["exponent_bits"], t["float16"]["mantissa_bits"]) == (5, 10)
    assert (t["bfloat16"]["exponent_bits"], t["bfloat16"]["mantissa_bits"]) == (8, 7)
    assert (t["float32"]["exponent_bits"], t["float32"]["mantissa_bits"]) == (8, 23)
    assert t["float16"]["max"] == 65504.0
    assert t["float16"]["smallest_normal"] == 2.0**-14
    assert t["float16"]["smallest_subnormal"] == 2.0**-24
    assert t["bfloat16"]["smallest_normal"] == t["float32"]["smallest_normal"]
    for f in t.values():
        assert f["unit_roundoff"] == 2.0 ** -(f["mantissa_bits"] + 1)
        assert f["bits"] == 1 + f["exponent_bits"] + f["mantissa_bits"]


@pytest.mark.parametrize("name", ["bfloat16", "bf16", "BFloat16", ml_dtypes.bfloat16, bfloat16])
def test_as_format_accepts_bfloat16_spellings(name):
    assert as_format(name) == bfloat16


@pytest.mark.parametrize("bad", ["float8", "int32", np.int64, None, 3.0, "complex64"])
def test_as_format_names_the_parameter(bad):
    with pytest.raises(TypeError, match="dtype must be one of"):
        as_format(bad)
    with pytest.raises(TypeError, match="dtype"):
        format_info(bad)


# -- rounding -----------------------------------------------------------------------------


def test_round_to_matches_the_casts_and_keeps_a_wide_dtype():
    x = np.random.default_rng(0).standard_normal(1000) * 100
    assert np.array_equal(round_to(x, "float16"), x.astype(np.float16).astype(float))
    assert np.array_equal(round_to(x.astype(np.float32), "bfloat16"),
                          x.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float32))
    assert round_to(x.astype(np.float32), "float16").dtype == np.float32
    assert round_to([1, 2, 3], "float16").dtype == np.float64
    assert np.array_equal(round_to(x, "float64"), x)


def test_round_to_overflow_underflow_and_ties():
    assert np.isinf(round_to(70000.0, "float16"))
    assert round_to(2.0**-26, "float16") == 0.0               # below half the smallest subnormal
    assert round_to(2.0**-24, "float16") == 2.0**-24
    assert round_to(1 + 2.0**-11, "float16") == 1.0           # a tie goes to the even neighbour
    assert round_to(1 + 3 * 2.0**-11, "float16") == 1 + 2.0**-9
    assert round_to(1 + 2.0**-8, "bfloat16") == 1.0
    assert round_to(1e38, "bfloat16") < np.inf


def test_bfloat16_bit_rounding_equals_ml_dtypes():
    # The integer path used on CuPy, checked on NumPy against ml_dtypes' cast.
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(5000) * 10.0 ** rng.integers(-40, 38, 5000),
                        [0.0, -0.0, 1 + 2.0**-8, 1 + 3 * 2.0**-8, 3.4e38, -3.4e38, 1e-40,
                         np.inf, -np.inf]]).astype(np.float32)
    want = x.astype(ml_dtypes.bfloat16).astype(np.float32)
    got = _round_bfloat16_bits(x)
    assert np.array_equal(got, want)
    assert np.isnan(_round_bfloat16_bits(np.array([np.nan], np.float32)))[0]


def test_round_to_refuses_non_numbers():
    with pytest.raises(TypeError, match="real numbers"):
        round_to(np.array(["a"]), "float16")
    with pytest.raises(TypeError, match="dtype"):
        round_to(1.0, "float8")


def test_ulp_against_numpy_spacing():
    x = np.abs(np.random.default_rng(2).standard_normal(500)) * 1e3 + 1e-3
    for name, dt in (("float16", np.float16), ("float32", np.float32)):
        xr = x.astype(dt)
        assert np.array_equal(ulp(xr, name), np.spacing(xr).astype(float))
    xb = x.astype(ml_dtypes.bfloat16)
    assert np.array_equal(ulp(xb.astype(float), "bfloat16"), np.spacing(xb).astype(float))
    assert ulp(0.0, "float16") == 2.0**-24 and ulp(1e-7, "float16") == 2.0**-24
    assert ulp(1.0, "bfloat16") == 2.0**-7
    with pytest.raises(ValueError, match="finite"):
        ulp(np.inf, "float16")


def test_float_bits():
    assert float_bits(1.0, "float32") == ("0", "01111111", "0" * 23)
    assert float_bits(-2.0, "float16") == ("1", "10000", "0" * 10)
    assert float_bits(1.0, "bfloat16") == ("0", "01111111", "0000000")
    s, e, m = float_bits(0.1, "bfloat16")
    assert (len(e), len(m)) == (8, 7) and m == "1001101"
    assert float_bits(1e6, "float16") == ("0", "11111", "0" * 10)      # infinity


def test_flushed_fraction():
    g = [np.array([1e-9, 1e-3, 0.0]), np.array([[2e-8, 1.0]])]
    assert flushed_fraction(g, "float16") == pytest.approx(2 / 4)
    assert flushed_fraction(g, "float16", scale=2.0**10) == 0.0
    assert flushed_fraction(g, "bfloat16") == 0.0
    assert math.isnan(flushed_fraction(np.zeros(3), "float16"))
    for bad in (0.0, -1.0, np.inf, "2"):
        with pytest.raises((TypeError, ValueError), match="scale"):
            flushed_fraction(g, "float16", scale=bad)


# -- the loss-scale rule ------------------------------------------------------------------


def test_gradscaler_defaults_are_torchs():
    s = GradScaler()
    assert (s.scale, s.growth_factor, s.backoff_factor, s.growth_interval) == (
        2.0**16, 2.0, 0.5, 2000)
    assert s.dynamic


def test_gradscaler_replays_torch_fixture():
    with np.load(FIXTURE) as z:
        meta = json.loads(str(z["scaler/meta"]))
        inf_steps = set(z["scaler/inf_steps"].tolist())
        want_scale, want_stepped = z["scaler/scale"], z["scaler/stepped"]
    w = np.ones(3, dtype=np.float32)
    opt = MixedPrecisionOptimizer(SGD(w, lr=0.1), GradScaler(**meta))
    scales, stepped = [], []
    for k in range(1, len(want_scale) + 1):
        g = (2 * w * np.float32(opt.scaler.scale)).astype(np.float32)
        if k in inf_steps:
            g[1] = np.inf
        before = w.copy()
        opt.step(g)
        stepped.append(not np.array_equal(before, w))
        scales.append(opt.scaler.scale)
    assert np.array_equal(scales, want_scale)
    assert np.array_equal(stepped, want_stepped)
    assert opt.skipped == len(inf_steps) and opt.t == len(want_scale)


def test_gradscaler_growth_stays_finite_and_static_never_changes():
    s = GradScaler(init_scale=3e38, growth_interval=1)
    s.update(False)
    assert s.scale == 3e38 and s.growth_tracker == 0
    st = GradScaler(init_scale=8.0, dynamic=False)
    for bad in (True, False, False):
        st.update(bad)
    assert st.scale == 8.0


@pytest.mark.parametrize("kw, name", [
    ({"init_scale": 0.0}, "init_scale"), ({"init_scale": np.inf}, "init_scale"),
    ({"growth_factor": 1.0}, "growth_factor"), ({"backoff_factor": 1.0}, "backoff_factor"),
    ({"backoff_factor": 0.0}, "backoff_factor"), ({"growth_interval": 0}, "growth_interval"),
    ({"growth_interval": 2.5}, "growth_interval"), ({"dynamic": "yes"}, "dynamic"),
])
def test_gradscaler_bad_input_named(kw, name):
    with pytest.raises((TypeError, ValueError), match=name):
        GradScaler(**kw)


def test_gradscaler_update_and_state_checked():
    s = GradScaler()
    with pytest.raises(TypeError, match="found_inf"):
        s.update("no")
    with pytest.raises(ValueError, match="scale"):
        s.load_state_dict({"scale": -1.0, "growth_tracker": 0})
    s.load_state_dict({"scale": 4.0, "growth_tracker": 3})
    assert s.state_dict() == {"scale": 4.0, "growth_tracker": 3}


def test_unscale_in_float32_and_found_inf():
    s = GradScaler(init_scale=1024.0)
    g16 = np.array([1.0, 2.0**-14], dtype=np.float16) * np.float16(1024)
    (out,), bad = s.unscale([g16])
    assert out.dtype == np.float32 and not bad
    assert np.array_equal(out, [1.0, 2.0**-14])
    _, bad = s.unscale([np.array([np.inf], np.float16)])
    assert bad


# -- master weights -----------------------------------------------------------------------


def test_skipped_step_changes_nothing_and_lr_forwards():
    w = np.array([1.0, 2.0], dtype=np.float32)
    inner = Adam(w, lr=0.1)
    opt = MixedPrecisionOptimizer(inner, GradScaler(init_scale=4.0))
    opt.step(np.array([np.nan, 1.0], np.float16))
    assert np.array_equal(w, [1.0, 2.0]) and inner.t == 0 and opt.scaler.scale == 2.0
    opt.lr = 0.5
    assert inner.lr == 0.5 and opt.lr == 0.5


def test_mixed_precision_optimizer_bad_input():
    w = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="optimizer"):
        MixedPrecisionOptimizer("sgd")
    with pytest.raises(TypeError, match="scaler"):
        MixedPrecisionOptimizer(SGD(w, lr=0.1), scaler=1024.0)
    with pytest.raises(TypeError, match="round_params"):
        MixedPrecisionOptimizer(SGD(w, lr=0.1), round_params="int8")
    opt = MixedPrecisionOptimizer(SGD(w, lr=0.1))
    with pytest.raises(ValueError, match="shape"):
        opt.step(np.ones(4, np.float16))
    with pytest.raises(ValueError, match="gradients"):
        opt.step([np.ones(3), np.ones(3)])
    assert (w == 1).all() and opt.t == 0


def test_round_params_loses_small_updates_master_keeps_them():
    w16 = np.ones(2, dtype=np.float32)
    lost = MixedPrecisionOptimizer(SGD(w16, lr=1e-4), round_params="float16")
    w32 = np.ones(2, dtype=np.float32)
    kept = MixedPrecisionOptimizer(SGD(w32, lr=1e-4))
    for _ in range(100):
        lost.step(np.ones(2, np.float16))
        kept.step(np.ones(2, np.float16))
    assert (w16 == 1).all()                        # 1e-4 < half a float16 spacing at 1
    assert np.allclose(w32, 0.99, atol=1e-5)


def test_roundto_layer_rounds_and_counts():
    layer = RoundTo("float16")
    x = np.array([1 + 2.0**-12, 3.0], np.float32)
    assert np.array_equal(layer(x), [1.0, 3.0])
    d = layer.backward(np.array([1e-9, 1.0, 0.0], np.float32))
    assert np.array_equal(d, [0.0, 1.0, 0.0]) and (layer.flushed, layer.nonzero) == (1, 2)
    # In float64 the layer is the identity: the float64 gradient check passes.
    rep = check_module(RoundTo("float64"), np.random.default_rng(0).standard_normal((3, 4)))
    assert rep.ok, str(rep)


def test_emulate_and_mixed_precision_bad_input():
    with pytest.raises(TypeError, match="Sequential"):
        emulate(nn.Dense(2, 2), "float16")
    net = nn.Sequential(nn.Dense(3, 2, rng=0))
    with pytest.raises(TypeError, match="model"):
        MixedPrecision("net", nn.SoftmaxCrossEntropy())
    with pytest.raises(TypeError, match="loss"):
        MixedPrecision(net, "ce")
    with pytest.raises(ValueError, match="loss_scale"):
        MixedPrecision(net, nn.SoftmaxCrossEntropy(), loss_scale=-2.0)
    with pytest.raises(TypeError, match="master_weights"):
        MixedPrecision(net, nn.SoftmaxCrossEntropy(), master_weights=1)
    half = nn.Sequential(nn.Dense(3, 2, rng=0, dtype="float16"))
    with pytest.raises(TypeError, match="float32"):
        MixedPrecision(half, nn.SoftmaxCrossEntropy())
    with pytest.raises(ValueError, match="factor"):
        ScaledLoss(nn.MSELoss(), 0.0)


def _digits_run(dtype, loss_scale, steps=60):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0).astype(int)
    net = nn.Sequential(nn.Dense(8, 16, rng=1), nn.ReLU(), nn.Dense(16, 4, rng=2))
    model = emulate(net, dtype)
    mp = MixedPrecision(model, ScaledLoss(nn.SoftmaxCrossEntropy(), 2.0**-20), dtype=dtype,
                        loss_scale=loss_scale)
    hist = train(mp.master, mp.loss_and_grad, mp.optimizer("sgd", lr=0.3 * 2.0**20),
                 data=(X, y), batch_size=32, epochs=steps // 8, seed=0, progress=False)
    return hist.epoch_loss[-1] * 2.0**20


def test_loss_scaling_rescues_float16_training_with_gdlib_train():
    full = _digits_run("float32", None)
    unscaled = _digits_run("float16", None)
    scaled = _digits_run("float16", GradScaler())
    assert abs(scaled - full) < 0.02 * full
    assert unscaled > 2 * full


@pytest.mark.gpu
def test_round_to_same_on_cpu_and_gpu():
    import cupy

    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32) * 1e3
    for name in ("float16", "bfloat16"):
        got = cupy.asnumpy(round_to(cupy.asarray(x), name))
        assert np.array_equal(got, round_to(x, name))

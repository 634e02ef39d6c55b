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

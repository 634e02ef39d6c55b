"""gdlib.nn convolution and pooling: gradient checks, naive references, errors, GPU parity."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import backend, nn
from gdlib.backend import to_host
from gdlib.nn import check_module


@pytest.fixture(autouse=True)
def float64_layers():
    old = nn.set_default_dtype("float64")
    yield
    nn.set_default_dtype(old)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def naive_conv(x, W, b, stride, padding):
    """Direct loops over output positions: the definition of the layer."""
    (sh, sw), (ph, pw) = stride, padding
    xp_ = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    N, C, H, Wd = xp_.shape
    O, _, kh, kw = W.shape
    Ho, Wo = (H - kh) // sh + 1, (Wd - kw) // sw + 1
    out = np.zeros((N, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp_[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def naive_pool(x, k, s, p, op):
    xp_ = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)),
                 constant_values=-np.inf if op is np.max else 0.0)
    H, W = xp_.shape[2:]
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = op(xp_[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


CONV_CASES = [
    # (C_in, C_out, kernel, stride, padding, input H, W)
    (1, 3, 3, 1, 0, 5, 6),
    (2, 4, 3, 1, 1, 6, 5),
    (2, 3, 3, 2, 1, 7, 6),
    (3, 2, (2, 3), (1, 2), (1, 0), 5, 7),
    (4, 2, 1, 1, 0, 3, 3),
    (5, 3, 3, 1, 2, 4, 4),
    (2, 2, 5, 3, 2, 9, 8),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_gradients(case):
    cin, cout, k, s, p, H, W = case
    layer = nn.Conv2D(cin, cout, k, stride=s, padding=p, rng=1)
    layer.params["b"][...] = rand(cout, seed=2)
    result = check_module(layer, rand(2, cin, H, W, seed=3))
    assert result.ok, str(result)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_naive_loops(case):
    cin, cout, k, s, p, H, W = case
    layer = nn.Conv2D(cin, cout, k, stride=s, padding=p, rng=1)
    layer.params["b"][...] = rand(cout, seed=2)
    x = rand(3, cin, H, W, seed=4)
    want = naive_conv(x, to_host(layer.params["W"]), to_host(layer.params["b"]),
                      layer.stride, layer.padding)
    np.testing.assert_allclose(to_host(layer(x)), want, rtol=1e-10, atol=1e-12)


def test_im2col_col2im_are_adjoint():
    # <im2col(x), c> == <x, col2im(c)> for every x, c: col2im is the transpose of im2col
    x = rand(2, 3, 6, 5, seed=1)
    for stride, padding in [(1, 0), (2, 1), (1, 2)]:
        cols = to_host(nn.im2col(x, 3, 2, stride, padding))
        c = rand(*cols.shape, seed=2)
        back = to_host(nn.col2im(c, x.shape, 3, 2, stride, padding))
        assert back.shape == x.shape
        assert np.sum(cols * c) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_im2col_layout_fits_the_weight_matrix():
    x = rand(2, 3, 4, 4)
    W = rand(5, 3, 3, 3, seed=1)
    cols = to_host(nn.im2col(x, 3, 3, 1, 1))
    assert cols.shape == (2 * 4 * 4, 3 * 3 * 3)
    y = cols @ W.transpose(0, 2, 3, 1).reshape(5, -1).T
    want = naive_conv(x, W, np.zeros(5), (1, 1), (1, 1))
    np.testing.assert_allclose(y.reshape(2, 4, 4, 5).transpose(0, 3, 1, 2), want, atol=1e-12)


POOL_CASES = [(2, None, 0, 4, 6), (3, 2, 0, 7, 7), (3, 1, 1, 5, 5), (2, None, 0, 5, 5),
              (2, 1, 1, 4, 3)]


@pytest.mark.parametrize("cls", [nn.MaxPool2D, nn.AvgPool2D])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_gradients_and_values(cls, case):
    k, s, p, H, W = case
    layer = cls(k, s, padding=p)
    x = rand(2, 3, H, W, seed=5)
    result = check_module(layer, x)
    assert result.ok, str(result)
    op = np.max if cls is nn.MaxPool2D else np.mean
    want = naive_pool(x, k, s or k, p, op)
    np.testing.assert_allclose(to_host(layer(x)), want, rtol=1e-12)


def test_maxpool_equals_reshape_max_and_routes_to_the_first_maximum():
    x = rand(3, 4, 6, 8, seed=6)
    pool = nn.MaxPool2D(2)
    want = x.reshape(3, 4, 3, 2, 4, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(to_host(pool(x)), want)
    # ties (all-zero windows after a ReLU): the whole gradient goes to the first entry
    z = np.zeros((1, 1, 2, 2))
    pool(z)
    np.testing.assert_array_equal(to_host(pool.backward(np.ones((1, 1, 1, 1)))),
                                  [[[[1.0, 0.0], [0.0, 0.0]]]])
    # the gradient lands on the argmax of each window
    x = np.array([[[[1.0, 5.0], [2.0, 3.0]]]])
    pool(x)
    np.testing.assert_array_equal(to_host(pool.backward(np.full((1, 1, 1, 1), 7.0))),
                                  [[[[0.0, 7.0], [0.0, 0.0]]]])


def test_small_cnn_gradients():
    model = nn.Sequential(
        nn.Conv2D(1, 3, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2D(2),
        nn.Conv2D(3, 4, 3, padding=1, rng=1), nn.Tanh(), nn.AvgPool2D(2),
        nn.Flatten(), nn.Dense(4 * 2 * 2, 5, rng=2),
    )
    result = check_module(model, rand(2, 1, 8, 8, seed=7))
    assert result.ok, str(result)
    assert "layers.0.W" in result.report and "layers.7.b" in result.report


def test_conv_errors_name_the_layer_and_expected_shape():
    conv = nn.Conv2D(1, 16, 3, padding=1)
    with pytest.raises(ValueError, match=r"Conv2D\(1, 16, .*\(N, 1, H, W\).*\(64, 3, 8, 8\)"):
        conv(np.zeros((64, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\).*\(64, 64\)"):
        conv(np.zeros((64, 64)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        nn.Conv2D(1, 2, 5)(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2D(1, 2, 0)
    with pytest.raises(ValueError, match=r"MaxPool2D expects inputs of shape \(N, C, H, W\)"):
        nn.MaxPool2D(2)(np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="padding"):
        nn.MaxPool2D(2, padding=2)
    with pytest.raises(ValueError, match="col2im"):
        nn.col2im(np.zeros((5, 9)), (1, 1, 4, 4), 3, 3)


def test_float32_conv_path_keeps_dtype():
    conv = nn.Conv2D(2, 3, 3, padding=1, dtype="float32")
    y = conv(rand(2, 2, 5, 5))
    assert y.dtype == np.float32
    assert nn.MaxPool2D(2)(y).dtype == np.float32
    assert conv.backward(np.ones(y.shape, dtype=np.float32)).dtype == np.float32


@pytest.mark.gpu
def test_cnn_same_on_cpu_and_gpu():
    x = rand(4, 1, 8, 8, seed=8)
    out = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            model = nn.Sequential(
                nn.Conv2D(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2D(2),
                nn.Conv2D(4, 6, 3, stride=2, padding=1, rng=1), nn.ReLU(), nn.AvgPool2D(2),
                nn.Flatten(), nn.Dense(6, 3, rng=2))
            y = model(backend.asarray(x))
            dx = model.backward(backend.asarray(np.ones((4, 3))))
            out[device] = (to_host(y), to_host(dx),
                           {k: to_host(g) for k, g in model.gradients().items()})
        finally:
            backend.use(previous)
    (y1, d1, g1), (y2, d2, g2) = out["cpu"], out["gpu"]
    np.testing.assert_allclose(y1, y2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d1, d2, rtol=1e-9, atol=1e-12)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-9, atol=1e-12)

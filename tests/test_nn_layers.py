"""gdlib.nn core layers and losses: gradient checks, reference values, errors, GPU parity."""

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


def rand(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


class WithTarget(nn.Module):
    """A loss with its float target fixed, so that only the prediction is checked."""

    def __init__(self, loss, target):
        super().__init__()
        self.loss, self.target = loss, target

    def forward(self, pred):
        return self.loss(pred, self.target)

    def backward(self, dout=1.0):
        return self.loss.backward(dout)


class SeededDropout(nn.Module):
    """Dropout whose mask is redrawn from the same seed at every forward pass."""

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.inner = nn.Dropout(p)

    def forward(self, x):
        self.inner.rng = np.random.default_rng(5)
        return self.inner(x)

    def backward(self, dout):
        return self.inner.backward(dout)


def assert_checks(module, *inputs, **kw):
    result = check_module(module, *inputs, **kw)
    assert result.ok, str(result)
    # the check must have compared something non-trivial
    assert result.report
    return result


# ----------------------------------------------------------------------------
# Gradient checks (float64, central differences)


@pytest.mark.parametrize("shape", [(5, 6), (2, 3, 6), (2, 2, 3, 6), (6,)])
@pytest.mark.parametrize("init", ["glorot", "he"])
def test_dense_gradients_any_leading_shape(shape, init):
    layer = nn.Dense(6, 4, init=init, rng=1)
    layer.params["b"][...] = rand(4, seed=3)
    assert_checks(layer, rand(*shape, seed=2))


def test_dense_without_bias_gradients():
    layer = nn.Dense(3, 5, bias=False, rng=0)
    assert set(layer.params) == {"W"}
    assert_checks(layer, rand(4, 3))


@pytest.mark.parametrize("make", [nn.ReLU, lambda: nn.LeakyReLU(0.1), nn.Tanh, nn.Sigmoid,
                                  nn.GELU, lambda: nn.GELU("none"), nn.Flatten])
def test_activation_gradients(make):
    assert_checks(make(), rand(4, 3, 5, scale=2.0))


def test_dropout_gradients_with_a_fixed_mask():
    assert_checks(SeededDropout(0.4), rand(6, 7))


@pytest.mark.parametrize("kw", [{}, {"ignore_index": -100}, {"label_smoothing": 0.1},
                                {"ignore_index": 0, "label_smoothing": 0.25}])
@pytest.mark.parametrize("shape", [(6, 5), (2, 4, 5)])
def test_softmax_cross_entropy_gradients(kw, shape):
    logits = rand(*shape, seed=1, scale=2.0)
    target = np.random.default_rng(2).integers(0, 5, shape[:-1])
    if kw.get("ignore_index") == -100:
        target.reshape(-1)[[0, 3]] = -100
    assert_checks(nn.SoftmaxCrossEntropy(**kw), logits, target)


def test_mse_and_bce_gradients():
    assert_checks(WithTarget(nn.MSELoss(), rand(4, 3, seed=5)), rand(4, 3))
    probs = np.random.default_rng(6).random((4, 3))
    assert_checks(WithTarget(nn.BCEWithLogits(), probs), rand(4, 3, scale=3.0))


def test_small_mlp_gradients():
    model = nn.Sequential(nn.Dense(4, 8, init="he", rng=0), nn.ReLU(), nn.Dense(8, 6, rng=1),
                          nn.Tanh(), nn.Dense(6, 3, rng=2))
    for layer in (model[0], model[2]):
        layer.params["b"][...] = rand(*layer.params["b"].shape, seed=9, scale=0.1)
    result = assert_checks(model, rand(5, 4))
    assert {"layers.0.W", "layers.0.b", "layers.4.W", "input 0"} <= set(result.report)


def test_mlp_with_loss_gradients():
    model = nn.Sequential(nn.Dense(4, 8, rng=0), nn.GELU(), nn.Dense(8, 3, rng=1))
    loss = nn.SoftmaxCrossEntropy(label_smoothing=0.1)
    y = np.array([0, 2, 1, 1, 0])

    class Whole(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return loss(self.model(x), y)

        def backward(self, dout=1.0):
            return self.model.backward(loss.backward(dout))

    assert_checks(Whole(), rand(5, 4))


# ----------------------------------------------------------------------------
# Forward values against direct formulas


def test_dense_forward_is_affine_map():
    layer = nn.Dense(3, 2, rng=0)
    layer.params["b"][...] = [0.5, -1.0]
    x = rand(2, 4, 3)
    W = to_host(layer.params["W"])
    np.testing.assert_allclose(to_host(layer(x)), x @ W + [0.5, -1.0], rtol=1e-12)


def test_initialisations_have_the_right_scale_and_are_seeded():
    g = nn.Dense(400, 300, init="glorot", rng=0)
    limit = np.sqrt(6 / 700)
    W = to_host(g.params["W"])
    assert W.max() <= limit and W.min() >= -limit and W.std() == pytest.approx(limit / np.sqrt(3),
                                                                                 rel=0.02)
    h = nn.Dense(400, 300, init="he", rng=0)
    assert to_host(h.params["W"]).std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    np.testing.assert_array_equal(to_host(nn.Dense(5, 4, rng=3).params["W"]),
                                  to_host(nn.Dense(5, 4, rng=3).params["W"]))
    assert nn.Dense(5, 4).params["W"].dtype == np.float64
    assert nn.Dense(5, 4, dtype="float32").params["W"].dtype == np.float32


def test_activation_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(to_host(nn.ReLU()(x)), [0, 0, 0, 0.5, 3.0])
    np.testing.assert_allclose(to_host(nn.LeakyReLU(0.2)(x)), [-0.4, -0.1, 0, 0.5, 3.0])
    np.testing.assert_allclose(to_host(nn.Tanh()(x)), np.tanh(x))
    np.testing.assert_allclose(to_host(nn.Sigmoid()(x)), 1 / (1 + np.exp(-x)))
    from scipy.special import erf
    exact = x * 0.5 * (1 + erf(x / np.sqrt(2)))
    np.testing.assert_allclose(to_host(nn.GELU("none")(x)), exact, rtol=1e-12)
    np.testing.assert_allclose(to_host(nn.GELU()(x)), exact, atol=1e-3)


def test_stable_functions_do_not_overflow():
    x = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = to_host(nn.softmax(x))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(-1), 1)
    np.testing.assert_allclose(p[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    lp = to_host(nn.log_softmax(x))
    assert lp[0, 0] == 0.0 and lp[0, 2] == -2000.0
    np.testing.assert_allclose(to_host(nn.softmax(x, axis=0)).sum(0), 1)
    s = to_host(nn.sigmoid(np.array([-1000.0, 0.0, 1000.0])))
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])


def test_softmax_cross_entropy_matches_direct_formula():
    logits = rand(7, 4, seed=3)
    y = np.array([0, 3, 2, 1, 1, 0, 3])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    want = -np.log(p[np.arange(7), y]).mean()
    loss = nn.SoftmaxCrossEntropy()
    assert loss(logits, y) == pytest.approx(want, rel=1e-12)
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(to_host(loss.backward()), (p - onehot) / 7, rtol=1e-10)
    # label smoothing: q = (1 - eps) onehot + eps / C
    eps = 0.2
    q = (1 - eps) * onehot + eps / 4
    smooth = nn.SoftmaxCrossEntropy(label_smoothing=eps)
    assert smooth(logits, y) == pytest.approx(-(q * np.log(p)).sum(1).mean(), rel=1e-12)
    np.testing.assert_allclose(to_host(smooth.backward(2.0)), 2 * (p - q) / 7, rtol=1e-10)


def test_ignore_index_averages_over_counted_positions_only():
    logits = rand(2, 3, 5, seed=4)
    y = np.array([[1, 4, -1], [-1, 0, 2]])
    loss = nn.SoftmaxCrossEntropy(ignore_index=-1)
    keep = y != -1
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = -lp[keep, y[keep]].mean()
    assert loss(logits, y) == pytest.approx(want, rel=1e-12)
    d = to_host(loss.backward())
    assert np.all(d[~keep] == 0) and np.all(d[keep] != 0)
    assert nn.SoftmaxCrossEntropy(ignore_index=-1)(logits, np.full((2, 3), -1)) == 0.0


def test_mse_and_bce_values():
    pred, y = rand(5, 2, seed=1), rand(5, 2, seed=2)
    assert nn.MSELoss()(pred, y) == pytest.approx(((pred - y) ** 2).mean(), rel=1e-12)
    z = np.array([[-800.0], [-1.0], [0.0], [2.0], [800.0]])
    t = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    bce = nn.BCEWithLogits()
    value = bce(z, t)
    assert np.isfinite(value)
    s = 1 / (1 + np.exp(-z[1:4, 0]))
    rows = -(t[1:4, 0] * np.log(s) + (1 - t[1:4, 0]) * np.log(1 - s))
    assert value == pytest.approx(rows.sum() / 5, rel=1e-12)   # rows 0 and 4 contribute 0
    np.testing.assert_allclose(to_host(bce.backward())[1:4, 0], (s - t[1:4, 0]) / 5)


def test_dropout_is_inverted_seeded_and_identity_in_eval():
    x = np.ones((200, 50))
    drop = nn.Dropout(0.25, rng=3)
    y = to_host(drop(x))
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(y.mean() - 1.0) < 0.03
    np.testing.assert_array_equal(to_host(drop.backward(np.ones_like(x))), y)
    np.testing.assert_array_equal(y, to_host(nn.Dropout(0.25, rng=3)(x)))
    drop.eval()
    assert drop(x) is x
    assert np.array_equal(to_host(drop.backward(x)), x)


def test_flatten_round_trip():
    x = rand(3, 2, 4, 5)
    f = nn.Flatten()
    assert f(x).shape == (3, 40)
    assert f.backward(f(x)).shape == x.shape


# ----------------------------------------------------------------------------
# Friendly errors


def test_dense_wrong_width_names_layer_and_expected_shape():
    with pytest.raises(ValueError, match=r"Dense\(64, 10\).*\(\.\.\., 64\).*\(32, 12\)"):
        nn.Dense(64, 10)(np.zeros((32, 12)))
    with pytest.raises(ValueError, match="init"):
        nn.Dense(3, 2, init="xavier")
    with pytest.raises(ValueError, match="in_features"):
        nn.Dense(0, 2)


def test_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Dense(3, 2).backward(np.zeros((1, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.SoftmaxCrossEntropy().backward()


def test_loss_errors_name_the_problem():
    loss = nn.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"targets of shape.*\(4,\)"):
        loss(np.zeros((4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="integer class labels"):
        loss(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"target 3 is not a class index in \[0, 3\)"):
        loss(np.zeros((4, 3)), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.SoftmaxCrossEntropy(label_smoothing=1.0)
    with pytest.raises(ValueError, match="same shape"):
        nn.MSELoss()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="same shape"):
        nn.BCEWithLogits()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="p must be a probability"):
        nn.Dropout(1.0)


def test_float32_layers_stay_float32():
    layer = nn.Dense(4, 3, dtype="float32")
    y = layer(np.ones((2, 4)))              # float64 input is converted once
    assert y.dtype == np.float32
    assert nn.ReLU()(y).dtype == np.float32 and nn.GELU()(y).dtype == np.float32
    assert nn.Sigmoid()(y).dtype == np.float32
    assert layer.backward(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


# ----------------------------------------------------------------------------
# NumPy / CuPy parity


@pytest.mark.gpu
def test_layers_and_losses_same_on_cpu_and_gpu():
    import cupy

    x = rand(6, 5, seed=1)
    y = np.array([0, 1, 2, 3, 0, 1])
    results = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            model = nn.Sequential(nn.Dense(5, 7, rng=0), nn.GELU(), nn.Dropout(0.3, rng=1),
                                  nn.Dense(7, 4, rng=2), nn.Sigmoid(), nn.Dense(4, 4, rng=3))
            loss = nn.SoftmaxCrossEntropy(label_smoothing=0.1)
            xb = backend.asarray(x)
            out = model(xb)
            value = loss(out, backend.asarray(y))
            dx = model.backward(loss.backward())
            if device == "gpu":
                assert isinstance(out, cupy.ndarray)
            results[device] = (to_host(out), value, to_host(dx),
                               {k: to_host(g) for k, g in model.gradients().items()})
        finally:
            backend.use(previous)
    (o1, v1, d1, g1), (o2, v2, d2, g2) = results["cpu"], results["gpu"]
    np.testing.assert_allclose(o1, o2, rtol=1e-10, atol=1e-12)
    assert v1 == pytest.approx(v2, rel=1e-10)
    np.testing.assert_allclose(d1, d2, rtol=1e-9, atol=1e-12)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-9, atol=1e-12)

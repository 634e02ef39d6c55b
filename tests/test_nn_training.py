"""gdlib.nn.fit / predict / accuracy: training decreases the loss, is seeded, reaches the
course's quality bar on digits (CNN >= 97 %)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gdlib import backend, nn
from gdlib.backend import to_host


def blobs(n=240, seed=0):
    g = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = g.integers(0, 3, n)
    X = centers[y] + 0.6 * g.standard_normal((n, 2))
    return X.astype(np.float32), y


def mlp(seed=0, width=16):
    return nn.Sequential(nn.Dense(2, width, init="he", rng=seed), nn.ReLU(),
                         nn.Dense(width, 3, rng=seed + 1))


def test_fit_decreases_the_loss_and_records_history():
    X, y = blobs()
    model = mlp()
    hist = nn.fit(model, nn.SoftmaxCrossEntropy(), X, y, epochs=15, batch_size=32, lr=1e-2,
                  eval_data=(X, y))
    assert hist.epoch_loss[-1] < 0.5 * hist.epoch_loss[0]
    assert hist.steps == 15 * 8 and len(hist.loss) == 120
    assert set(hist.metrics) == {"accuracy", "val_loss"}
    np.testing.assert_array_equal(hist.eval, hist.metrics["accuracy"])
    assert len(hist.eval) == 15 and hist.eval[-1] > 0.95
    assert hist.metrics["val_loss"][-1] < hist.metrics["val_loss"][0]
    assert model.training       # fit leaves training mode on; predict restores it


def test_fit_is_reproducible_with_a_seed_and_the_seed_matters():
    X, y = blobs()
    runs = []
    for seed in (3, 3, 4):
        model = mlp()
        h = nn.fit(model, nn.SoftmaxCrossEntropy(), X, y, epochs=3, batch_size=16,
                   optimizer="sgd", lr=0.1, momentum=0.9, seed=seed)
        runs.append((h.loss, to_host(model.parameters()["layers.0.W"])))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_fit_with_dropout_schedule_and_clipping():
    X, y = blobs()
    model = nn.Sequential(nn.Dense(2, 32, rng=0), nn.Tanh(), nn.Dropout(0.2, rng=1),
                          nn.Dense(32, 3, rng=2))
    hist = nn.fit(model, nn.SoftmaxCrossEntropy(label_smoothing=0.05), X, y, epochs=10,
                  batch_size=40, lr=3e-2, schedule="cosine", clip_norm=1.0,
                  eval_data=(X, y), metric="loss")
    assert set(hist.metrics) == {"loss"}
    assert hist.lr[0] == pytest.approx(3e-2) and hist.lr[-1] < 1e-3
    assert hist.epoch_loss[-1] < hist.epoch_loss[0]
    assert nn.accuracy(nn.predict(model, X), y) > 0.9


def test_fit_regression_with_mse_and_custom_metric():
    g = np.random.default_rng(1)
    X = g.standard_normal((200, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3).reshape(-1, 1)
    model = nn.Sequential(nn.Dense(3, 1, rng=0))

    def r2(out, target):
        out, target = to_host(out), to_host(target)
        return 1 - ((out - target) ** 2).sum() / ((target - target.mean()) ** 2).sum()

    hist = nn.fit(model, nn.MSELoss(), X, y, epochs=40, batch_size=20, lr=0.05,
                  eval_data=(X, y), metric=r2)
    assert hist.metrics["r2"][-1] > 0.999


def test_forward_override_and_tuple_inputs():
    X, y = blobs(120)
    scale = np.full((len(X), 1), 2.0, dtype=np.float32)

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp()

        def forward(self, x, s):
            return self.net(x * s)

        def backward(self, dout):
            return self.net.backward(dout)

    model = Scaled()
    hist = nn.fit(model, nn.SoftmaxCrossEntropy(), (X, scale), y, epochs=10, batch_size=20,
                  lr=1e-2, eval_data=((X, scale), y))
    assert hist.eval[-1] > 0.9
    calls = []

    def fwd(m, xb):
        calls.append(len(xb))
        return m.net(xb)

    model2 = Scaled()
    nn.fit(model2, nn.SoftmaxCrossEntropy(), X, y, epochs=1, batch_size=50, forward=fwd)
    assert calls == [50, 50, 20]
    out = nn.predict(model2, X, batch_size=7, forward=fwd)
    assert out.shape == (120, 3) and calls[-1] == 120 % 7


def test_predict_uses_eval_mode_and_restores_it():
    X, _ = blobs(50)
    model = nn.Sequential(nn.Dense(2, 8, rng=0), nn.Dropout(0.5, rng=0), nn.Dense(8, 3, rng=1))
    a = to_host(nn.predict(model, X, batch_size=16))
    b = to_host(nn.predict(model, X))
    np.testing.assert_allclose(a, b, rtol=1e-6)           # no dropout, batching irrelevant
    assert model.training
    model.eval()
    nn.predict(model, X)
    assert not model.training


def test_accuracy_forms_and_errors():
    y = np.array([0, 2, 1, 1])
    logits = np.array([[3.0, 0, 0], [0, 1, 2], [0, 5, 1], [1, 0, 0]])
    assert nn.accuracy(logits, y) == 0.75
    assert nn.accuracy(np.array([0, 2, 1, 0]), y) == 0.75
    binary = np.array([[2.0], [-1.0], [0.5]])
    assert nn.accuracy(binary, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="do not match"):
        nn.accuracy(np.zeros((4, 3, 2)), y)


def test_fit_errors():
    X, y = blobs(20)
    with pytest.raises(TypeError, match="loss must be a gdlib.nn loss"):
        nn.fit(mlp(), lambda a, b: 0.0, X, y)
    with pytest.raises(ValueError, match="metric"):
        nn.fit(mlp(), nn.SoftmaxCrossEntropy(), X, y, metric="f1")
    with pytest.raises(ValueError, match="same first dimension"):
        nn.fit(mlp(), nn.SoftmaxCrossEntropy(), X, y[:10])
    with pytest.raises(ValueError, match=r"Dense\(2, 16\) expects inputs of shape"):
        nn.fit(mlp(), nn.SoftmaxCrossEntropy(), np.zeros((20, 5)), y)
    with pytest.raises(ValueError, match="blas_threads"):
        nn.fit(mlp(), nn.SoftmaxCrossEntropy(), X, y, threads=0)


def digits_cnn(seed=0):
    """The course's digits CNN (lesson 16)."""
    return nn.Sequential(
        nn.Conv2D(1, 16, 3, padding=1, rng=seed), nn.ReLU(), nn.MaxPool2D(2),
        nn.Conv2D(16, 32, 3, padding=1, rng=seed + 1), nn.ReLU(), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dense(32 * 2 * 2, 10, rng=seed + 2),
    )


def load_digit_images():
    try:
        from gdlib.data import load_digits
    except ImportError:  # pragma: no cover - before gdlib.data existed
        from sklearn.datasets import load_digits as sk
        from sklearn.model_selection import train_test_split

        d = sk()
        X = (d.images / 16.0)[:, None]
        return train_test_split(X, d.target, test_size=0.2, random_state=0, stratify=d.target)
    d = load_digits(images=True)
    return d.X_train, d.X_test, d.y_train, d.y_test


def test_digits_cnn_reaches_97_percent():
    Xtr, Xte, ytr, yte = load_digit_images()
    assert Xtr.shape[1:] == (1, 8, 8)
    model = digits_cnn()
    t0 = time.perf_counter()
    hist = nn.fit(model, nn.SoftmaxCrossEntropy(), Xtr, ytr, optimizer="adam", lr=1e-2,
                  schedule="cosine", epochs=12, batch_size=64, seed=0, eval_data=(Xte, yte))
    seconds = time.perf_counter() - t0
    acc = nn.accuracy(nn.predict(model, Xte), yte)
    assert acc == pytest.approx(hist.eval[-1])
    assert acc >= 0.97, f"digits CNN test accuracy {acc:.4f} < 0.97 ({seconds:.1f} s)"


@pytest.mark.gpu
def test_fit_same_on_cpu_and_gpu():
    X, y = blobs(64)
    out = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            old = nn.set_default_dtype("float64")
            model = mlp()
            h = nn.fit(model, nn.SoftmaxCrossEntropy(), X.astype(np.float64), y, epochs=3,
                       batch_size=16, lr=1e-2, eval_data=(X, y))
            out[device] = (h.loss, h.eval, to_host(model.parameters()["layers.2.W"]))
        finally:
            nn.set_default_dtype(old)
            backend.use(previous)
    np.testing.assert_allclose(out["cpu"][0], out["gpu"][0], rtol=1e-9)
    np.testing.assert_allclose(out["cpu"][1], out["gpu"][1])
    np.testing.assert_allclose(out["cpu"][2], out["gpu"][2], rtol=1e-8, atol=1e-12)

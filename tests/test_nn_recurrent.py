"""Embedding, RNN, GRU, LSTM and attention: gradient checks, masks, errors, GPU parity."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import backend
from gdlib.backend import to_host, xp
from gdlib.nn import check_module
from gdlib.nn.attention import AdditiveAttention, DotAttention
from gdlib.nn.module import Module
from gdlib.nn.recurrent import GRU, LSTM, RNN, Embedding

N, T, D, H = 3, 5, 4, 6
CELLS = [
    pytest.param(RNN, {}, id="rnn-tanh"),
    pytest.param(RNN, {"nonlinearity": "relu"}, id="rnn-relu"),
    pytest.param(GRU, {}, id="gru"),
    pytest.param(LSTM, {}, id="lstm"),
]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    mask = np.ones((N, T), bool)
    mask[1, 3:] = False
    mask[2, 1:] = False
    return rng, x, mask


class WithState(Module):
    """Exposes h0 (and c0) as inputs and last_hidden (and last_cell) as outputs,
    so that check_module also checks ``dh_last`` / ``dc_last`` and ``dh0`` / ``dc0``."""

    def __init__(self, cell, mask=None):
        super().__init__()
        self.cell = cell
        self.mask = mask
        self.lstm = isinstance(cell, LSTM)

    def forward(self, x, h0, c0=None):
        state = (h0, c0) if self.lstm else h0
        out = self.cell.forward(x, state, self.mask)
        parts = [out.reshape(out.shape[0], -1), self.cell.last_hidden]
        if self.lstm:
            parts.append(self.cell.last_cell)
        return xp.concatenate(parts, axis=1)

    def backward(self, dout):
        n, th = dout.shape[0], T * H
        dseq = dout[:, :th].reshape(n, T, H)
        dh_last = dout[:, th:th + H]
        if self.lstm:
            dx = self.cell.backward(dseq, dh_last, dout[:, th + H:])
            return dx, self.cell.dh0, self.cell.dc0
        dx = self.cell.backward(dseq, dh_last)
        return dx, self.cell.dh0


# ----------------------------------------------------------------------------
# gradient checks (float64)


@pytest.mark.parametrize("cls, kw", CELLS)
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_cell_gradients_params_and_input(cls, kw, masked):
    _, x, mask = _data()
    cell = cls(D, H, rng=1, dtype="float64", **kw)
    res = check_module(cell, x, None, mask if masked else None)
    assert res.ok, str(res)
    assert set(res.report) == {"W_ih", "W_hh", "b_ih", "b_hh", "input 0"}


@pytest.mark.parametrize("cls, kw", CELLS)
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_cell_gradients_through_initial_and_last_state(cls, kw, masked):
    rng, x, mask = _data(1)
    cell = cls(D, H, rng=2, dtype="float64", **kw)
    inputs = [x, 0.5 * rng.standard_normal((N, H))]
    if cls is LSTM:
        inputs.append(0.5 * rng.standard_normal((N, H)))
    res = check_module(WithState(cell, mask if masked else None), *inputs)
    assert res.ok, str(res)
    assert "input 1" in res.report


def test_embedding_gradient_and_padding_row():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 10, size=(N, T))
    emb = Embedding(10, 4, padding_idx=0, rng=0, dtype="float64")
    res = check_module(emb, ids)
    assert res.ok, str(res)
    ids[:, -1] = 0                                      # padding gets no gradient
    emb.zero_grad()
    out = emb.forward(ids)
    assert np.all(to_host(out)[:, -1] == 0.0)
    assert emb.backward(xp.ones_like(out)) is None
    g = to_host(emb.grads["W"])
    assert np.all(g[0] == 0.0)
    counts = np.bincount(ids[ids != 0].ravel(), minlength=10)
    np.testing.assert_allclose(g[:, 0], counts)         # scatter-add counts repeated ids


@pytest.mark.parametrize("make", [
    lambda: AdditiveAttention(4, 6, 5, rng=0, dtype="float64"),
    lambda: DotAttention(4, 6, rng=0, dtype="float64"),
    lambda: DotAttention(4, 6, scaled=True, rng=0, dtype="float64"),
], ids=["additive", "general", "general-scaled"])
@pytest.mark.parametrize("queries", [1, 3], ids=["one-query", "query-block"])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_attention_gradients(make, queries, masked):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((N, 4) if queries == 1 else (N, queries, 4))
    k = rng.standard_normal((N, T, 6))
    _, _, mask = _data()
    res = check_module(make(), q, k, mask if masked else None)
    assert res.ok, str(res)
    assert "input 0" in res.report and "input 1" in res.report


def test_dot_attention_without_parameters_gradient():
    rng = np.random.default_rng(4)
    res = check_module(DotAttention(), rng.standard_normal((N, 6)),
                       rng.standard_normal((N, T, 6)), _data()[2])
    assert res.ok, str(res)


# ----------------------------------------------------------------------------
# masks, shapes, behaviour


@pytest.mark.parametrize("cls, kw", CELLS)
def test_padding_does_not_change_last_hidden(cls, kw):
    rng = np.random.default_rng(5)
    lengths = [5, 3, 1]
    cell = cls(D, H, rng=0, dtype="float64", **kw)
    x = rng.standard_normal((N, T, D))
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    x_noisy = np.where(mask[:, :, None], x, 100.0)      # garbage in the padding
    cell.forward(x_noisy, mask=mask)
    padded = to_host(cell.last_hidden).copy()
    for n, length in enumerate(lengths):                # each sequence alone, unpadded
        out = to_host(cell.forward(x[n:n + 1, :length]))
        np.testing.assert_allclose(padded[n], to_host(cell.last_hidden)[0], atol=1e-12)
        np.testing.assert_allclose(out[0, -1], to_host(cell.last_hidden)[0])


@pytest.mark.parametrize("cls, kw", CELLS)
def test_step_matches_forward(cls, kw):
    _, x, _ = _data()
    cell = cls(D, H, rng=0, dtype="float64", **kw)
    out = to_host(cell.forward(x))
    state = (xp.zeros((N, H)), xp.zeros((N, H))) if cls is LSTM else xp.zeros((N, H))
    for t in range(T):
        state = cell.step(xp.asarray(x[:, t]), state)
        h = state[0] if cls is LSTM else state
        np.testing.assert_allclose(to_host(h), out[:, t], atol=1e-12)


def test_hidden_grad_norms_show_vanishing_gradients():
    rng = np.random.default_rng(6)
    cell = RNN(D, H, rng=0, dtype="float64")
    cell.params["W_hh"] *= 0.3                          # contracting recurrence
    x = rng.standard_normal((N, 12, D))
    cell.forward(x)
    dout = np.zeros((N, 12, H))
    dout[:, -1] = 1.0                                    # loss on the last step only
    cell.backward(dout)
    norms = cell.hidden_grad_norms
    assert norms.shape == (12,)
    assert isinstance(norms, np.ndarray)
    assert norms[0] < 1e-3 * norms[-1]                   # decays going back in time
    assert np.all(np.diff(norms) > 0)


def test_float32_by_default_and_outputs_batch_first():
    cell = GRU(D, H)
    out = cell.forward(np.ones((N, T, D)))
    assert out.shape == (N, T, H) and out.dtype == np.float32
    assert cell.params["W_ih"].shape == (D, 3 * H) and cell.params["W_hh"].shape == (H, 3 * H)
    assert cell.last_hidden.shape == (N, H)
    dx = cell.backward(np.ones((N, T, H), np.float32))
    assert dx.shape == (N, T, D) and dx.dtype == np.float32


def test_attention_masks_padding_and_weights_sum_to_one():
    rng = np.random.default_rng(7)
    _, _, mask = _data()
    k = rng.standard_normal((N, T, 6))
    for att in (AdditiveAttention(4, 6, 5), DotAttention(4, 6)):
        ctx = att.forward(rng.standard_normal((N, 4)), k, mask)
        w = to_host(att.weights)
        assert w.shape == (N, T) and ctx.shape == (N, 6)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)
        assert np.all(w[~mask] == 0.0)
        np.testing.assert_allclose(to_host(ctx)[2], k[2, 0], rtol=1e-5)   # one real key


# ----------------------------------------------------------------------------
# errors


def test_errors_are_clear():
    gru = GRU(D, H)
    with pytest.raises(ValueError, match=r"shape \(N, T, 4\)"):
        gru.forward(np.ones((N, T, D + 1)))
    with pytest.raises(ValueError, match="mask must have shape"):
        gru.forward(np.ones((N, T, D)), mask=np.ones((N, T + 1), bool))
    with pytest.raises(ValueError, match="h0 must have shape"):
        gru.forward(np.ones((N, T, D)), h0=np.zeros((N, H + 1)))
    with pytest.raises(RuntimeError, match="before forward"):
        LSTM(D, H).backward(np.ones((N, T, H)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        GRU(D, 0)
    emb = Embedding(10, 3)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        emb.forward(np.array([[1, 10]]))
    with pytest.raises(TypeError, match="integer token ids"):
        emb.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match="at least one True"):
        DotAttention().forward(np.ones((2, 3)), np.ones((2, 4, 3)), np.zeros((2, 4), bool))
    with pytest.raises(ValueError, match="one size"):
        DotAttention().forward(np.ones((2, 3)), np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="both query_size and key_size"):
        DotAttention(3)


# ----------------------------------------------------------------------------
# NumPy / CuPy parity


@pytest.mark.gpu
@pytest.mark.parametrize("cls, kw", CELLS)
def test_gpu_parity_cells(cls, kw):
    _, x, mask = _data()
    dout = np.random.default_rng(9).standard_normal((N, T, H))
    results = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            cell = cls(D, H, rng=0, dtype="float64", **kw)
            out = to_host(cell.forward(backend.asarray(x), mask=backend.asarray(mask)))
            dx = to_host(cell.backward(backend.asarray(dout)))
            results[device] = (out, dx, to_host(cell.grads["W_hh"]))
        finally:
            backend.use(previous)
    for a, b in zip(results["cpu"], results["gpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.gpu
def test_gpu_parity_attention_and_embedding():
    rng = np.random.default_rng(10)
    q, k = rng.standard_normal((N, 4)), rng.standard_normal((N, T, 6))
    ids = rng.integers(0, 10, size=(N, T))
    results = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            att = AdditiveAttention(4, 6, 5, rng=0, dtype="float64")
            ctx = att.forward(backend.asarray(q), backend.asarray(k))
            dq, dk = att.backward(xp.ones_like(ctx))
            emb = Embedding(10, 3, rng=0, dtype="float64")
            e = emb.forward(backend.asarray(ids))
            emb.backward(xp.ones_like(e))
            results[device] = [to_host(a) for a in (ctx, dq, dk, e, emb.grads["W"])]
        finally:
            backend.use(previous)
    for a, b in zip(results["cpu"], results["gpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)

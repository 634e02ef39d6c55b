"""SequenceClassifier, LanguageModel and Seq2Seq: gradient checks, masks, decoding, errors."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import backend
from gdlib.backend import to_host
from gdlib.clipping import clip_grad_norm_
from gdlib.nn import SoftmaxCrossEntropy, check_module
from gdlib.nn.module import Module
from gdlib.nn.seq2seq import LanguageModel, Seq2Seq, SequenceClassifier
from gdlib.optim import Adam

PAD, BOS, EOS = 0, 2, 3


def _src(seed=0):
    rng = np.random.default_rng(seed)
    src = rng.integers(4, 9, size=(3, 6))
    src[1, 4:] = PAD
    src[2, 2:] = PAD
    tgt = rng.integers(1, 11, size=(3, 5))
    return src, tgt


class WithLoss(Module):
    """model + SoftmaxCrossEntropy as one module whose output is the (scalar) loss."""

    def __init__(self, model, ignore_index=None):
        super().__init__()
        self.model = model
        self.loss = SoftmaxCrossEntropy(ignore_index=ignore_index)

    def forward(self, *inputs_and_target):
        *inputs, target = inputs_and_target
        return self.loss.forward(self.model.forward(*inputs), target)

    def backward(self, dout=1.0):
        return self.model.backward(self.loss.backward(dout))


# ----------------------------------------------------------------------------
# gradient checks (float64)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("pool", ["last", "mean"])
def test_sequence_classifier_gradients(cell, pool):
    src, _ = _src()
    model = SequenceClassifier(9, 4, 5, 3, cell=cell, pool=pool, rng=1, dtype="float64")
    res = check_module(model, src, max_entries=60)
    assert res.ok, str(res)
    assert {"embedding.W", "rnn.W_hh", "out.W"} <= set(res.report)
    res = check_module(WithLoss(model), src, np.array([0, 2, 1]), max_entries=60)
    assert res.ok, str(res)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_language_model_gradients(cell):
    src, _ = _src()
    model = LanguageModel(9, 4, 5, cell=cell, padding_idx=PAD, rng=1, dtype="float64")
    res = check_module(model, src)
    assert res.ok, str(res)
    targets = np.where(src[:, 1:] == PAD, -1, src[:, 1:])
    res = check_module(WithLoss(model, ignore_index=-1), src[:, :-1], targets)
    assert res.ok, str(res)


@pytest.mark.parametrize("attention, cell", [
    (True, "gru"), (False, "gru"), ("general", "gru"), ("dot", "gru"), (True, "lstm"),
    (False, "lstm"), ("general", "rnn"),
])
def test_seq2seq_gradients(attention, cell):
    src, tgt = _src()
    model = Seq2Seq(9, 11, 4, 5, attention=attention, cell=cell, rng=1, dtype="float64")
    res = check_module(model, src, tgt, max_entries=60)
    assert res.ok, str(res)
    names = set(res.report)
    assert {"src_embedding.W", "encoder.W_hh", "decoder.W_ih", "out.W"} <= names
    assert ("attention.W_q" in names) == (attention is True)     # True = additive
    assert ("attention.W" in names) == (attention == "general")


@pytest.mark.parametrize("attention", [True, False])
def test_seq2seq_gradients_end_to_end_through_the_loss(attention):
    src, tgt = _src(1)
    model = Seq2Seq(9, 11, 4, 5, attention=attention, rng=2, dtype="float64")
    tgt_out = np.roll(tgt, -1, axis=1)
    tgt_out[0, -2:] = PAD                                  # padded targets are ignored
    res = check_module(WithLoss(model, ignore_index=PAD), src, tgt, tgt_out, max_entries=60)
    assert res.ok, str(res)


def test_seq2seq_encoder_gets_gradient_only_through_final_state_without_attention():
    src, tgt = _src()
    model = Seq2Seq(9, 11, 4, 5, attention=False, rng=1, dtype="float64")
    model.zero_grad()
    model.backward(np.ones_like(to_host(model.forward(src, tgt))))
    assert np.abs(to_host(model.encoder.grads["W_hh"])).sum() > 0
    assert np.all(to_host(model.src_embedding.grads["W"])[PAD] == 0)


# ----------------------------------------------------------------------------
# masks: padding changes nothing real


def test_source_padding_does_not_change_logits():
    src, tgt = _src()
    for attention in (True, False, "general"):
        model = Seq2Seq(9, 11, 4, 5, attention=attention, rng=2, dtype="float64")
        a = to_host(model.forward(src, tgt)).copy()
        wider = np.concatenate([src, np.zeros((3, 4), dtype=src.dtype)], axis=1)
        b = to_host(model.forward(wider, tgt))
        np.testing.assert_allclose(a, b, atol=1e-12)
        single = to_host(model.forward(src[2:, :2], tgt[2:]))   # sentence 2 alone, unpadded
        np.testing.assert_allclose(a[2:], single, atol=1e-12)


@pytest.mark.parametrize("pool", ["last", "mean"])
def test_classifier_padding_does_not_change_logits(pool):
    src, _ = _src()
    model = SequenceClassifier(9, 4, 5, 2, pool=pool, rng=0, dtype="float64")
    a = to_host(model.forward(src)).copy()
    b = to_host(model.forward(np.pad(src, ((0, 0), (0, 3)))))
    np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(a[2], to_host(model.forward(src[2:, :2]))[0], atol=1e-12)


# ----------------------------------------------------------------------------
# decoding


@pytest.fixture(scope="module")
def reverser():
    """A small Seq2Seq trained (about a second) to reverse sequences of 3-6 tokens."""
    rng = np.random.default_rng(0)
    model = Seq2Seq(12, 12, 16, 32, attention=True, rng=0)
    loss = SoftmaxCrossEntropy(ignore_index=PAD)
    opt = Adam(model.parameters(), lr=2e-2)
    grads = model.gradients()

    def batch(n):
        lengths = rng.integers(3, 7, size=n)
        src = np.zeros((n, 6), dtype=np.int64)
        tgt = np.zeros((n, 8), dtype=np.int64)
        for i, L in enumerate(lengths):
            s = rng.integers(4, 12, size=L)
            src[i, :L] = s
            tgt[i, :L + 2] = [BOS, *s[::-1], EOS]
        return src, tgt

    for _ in range(250):
        src, tgt = batch(32)
        model.zero_grad()
        loss.forward(model.forward(src, tgt[:, :-1]), tgt[:, 1:])
        model.backward(loss.backward())
        clip_grad_norm_(grads, 5.0)
        opt.step(grads)
    return model, batch


def test_reverser_learns_and_greedy_output_is_clean(reverser):
    model, batch = reverser
    src, _ = batch(40)
    hyps = model.greedy_decode(src, BOS, EOS)
    truth = [list(s[s != PAD][::-1]) for s in src]
    assert np.mean([h == t for h, t in zip(hyps, truth)]) >= 0.8
    assert all(BOS not in h and EOS not in h for h in hyps)
    w = model.attention_weights
    assert len(w) == 40
    for n in range(40):
        L = int((src[n] != PAD).sum())
        if hyps[n] == truth[n]:
            assert w[n].shape == (L + 1, L)                     # + the step that wrote <eos>
            np.testing.assert_allclose(w[n].sum(axis=1), 1.0, rtol=1e-5)
            # reversing: output step 0 looks mostly at the last source token
            assert w[n][0].argmax() == L - 1


def test_greedy_equals_beam_of_one(reverser):
    model, batch = reverser
    src, _ = batch(20)
    greedy = model.greedy_decode(src, BOS, EOS)
    gw = model.attention_weights
    beam = model.beam_search(src, BOS, EOS, beam_size=1)
    assert greedy == beam
    for a, b in zip(gw, model.attention_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    untrained = Seq2Seq(12, 12, 8, 8, rng=5)
    assert untrained.greedy_decode(src, BOS, EOS, max_len=7) == \
        untrained.beam_search(src, BOS, EOS, beam_size=1, max_len=7)


def test_beam_search_is_at_least_as_likely_as_greedy(reverser):
    model, batch = reverser
    model_f64 = Seq2Seq(12, 12, 16, 32, attention=True, rng=0, dtype="float64")
    model_f64.load_state_dict(model.state_dict())
    src, _ = batch(30)
    greedy = model_f64.greedy_decode(src, BOS, EOS)
    beam = model_f64.beam_search(src, BOS, EOS, beam_size=4, length_penalty=0.0)
    lg = model_f64.sequence_log_prob(src, greedy, BOS, EOS)
    lb = model_f64.sequence_log_prob(src, beam, BOS, EOS)
    assert np.all(lb >= lg - 1e-9)
    assert len(model_f64.attention_weights) == 30


def test_decoders_accept_ragged_lists(reverser):
    model, _ = reverser
    ragged = [[4, 5, 6], [7, 8, 9, 10, 11]]
    padded = np.array([[4, 5, 6, 0, 0], [7, 8, 9, 10, 11]])
    assert model.greedy_decode(ragged, BOS, EOS) == model.greedy_decode(padded, BOS, EOS)
    assert model.beam_search(ragged, BOS, EOS) == model.beam_search(padded, BOS, EOS)
    assert all(len(h) <= 4 for h in model.greedy_decode(ragged, BOS, EOS, max_len=4))


def test_language_model_generate():
    lm = LanguageModel(10, 4, 8, rng=0)
    a = lm.generate([1, 2], 6, temperature=1.0, rng=3)
    assert a[:2] == [1, 2] and len(a) == 8 and all(0 <= t < 10 for t in a)
    assert a == lm.generate([1, 2], 6, temperature=1.0, rng=3)
    greedy = lm.generate([1, 2], 4, temperature=0)
    logits = to_host(lm.forward(np.array([greedy[:-1]])))
    assert greedy[2:] == list(logits[0, 1:].argmax(axis=1))   # each token the argmax


# ----------------------------------------------------------------------------
# errors


def test_errors_are_clear():
    with pytest.raises(ValueError, match="cell"):
        SequenceClassifier(9, 4, 5, 2, cell="transformer")
    with pytest.raises(ValueError, match="pool"):
        SequenceClassifier(9, 4, 5, 2, pool="max")
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(9, 9, 4, 4, attention="multihead")
    model = Seq2Seq(9, 9, 4, 4)
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.zeros((1, 1, 9)))
    with pytest.raises(ValueError, match="eos_id"):
        model.greedy_decode([[4, 5]], BOS, 9)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.forward(np.array([[4, 12]]), np.array([[2, 3]]))
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search([[4, 5]], BOS, EOS, beam_size=0)
    with pytest.raises(ValueError, match="temperature"):
        LanguageModel(9, 4, 4).generate([1], 3, temperature=-1)


# ----------------------------------------------------------------------------
# NumPy / CuPy parity


@pytest.mark.gpu
def test_gpu_parity_seq2seq():
    src, tgt = _src()
    results = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            model = Seq2Seq(9, 11, 4, 5, rng=1, dtype="float64")
            logits = model.forward(backend.asarray(src), backend.asarray(tgt))
            model.zero_grad()
            model.forward(backend.asarray(src), backend.asarray(tgt))
            model.backward(logits * 0 + 1)
            grads = {k: to_host(v) for k, v in model.gradients().items()}
            greedy = model.greedy_decode(src, BOS, EOS, max_len=6)
            beam = model.beam_search(src, BOS, EOS, beam_size=3, max_len=6)
            results[device] = (to_host(logits), grads, greedy, beam)
        finally:
            backend.use(previous)
    cpu, gpu = results["cpu"], results["gpu"]
    np.testing.assert_allclose(cpu[0], gpu[0], rtol=1e-9, atol=1e-12)
    for k in cpu[1]:
        np.testing.assert_allclose(cpu[1][k], gpu[1][k], rtol=1e-8, atol=1e-11)
    assert cpu[2] == gpu[2] and cpu[3] == gpu[3]

"""gdlib.nn layers and losses under bad input (issue 11): errors name the layer and argument.

Targets outside their range (a BCE target of 2.0, a class index >= C or negative other than
``ignore_index``), wrong shapes and dtypes, non-finite inputs, and a ``dout`` of the wrong
shape in ``backward`` (which used to broadcast or reshape silently into a wrong gradient).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlib import nn
from gdlib.nn import init as nn_init

NAN = np.array([[1.0, np.nan, 0.0]])


def x34(value=None):
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    if value is not None:
        x[1, 2] = value
    return x


# ----------------------------------------------------------------------------
# Losses: targets out of range, shapes, dtypes, non-finite values


LOGITS = np.array([[0.1, 0.2, -0.3], [1.0, -1.0, 0.0]])


@pytest.mark.parametrize("loss, logits, target, exc, match", [
    # softmax cross-entropy
    (nn.SoftmaxCrossEntropy(), LOGITS, np.array([0, 3]), ValueError,
     r"SoftmaxCrossEntropy: target 3 is not a class index in \[0, 3\)"),
    (nn.SoftmaxCrossEntropy(), LOGITS, np.array([-1, 0]), ValueError,
     r"SoftmaxCrossEntropy: target -1 is not a class index"),
    (nn.SoftmaxCrossEntropy(ignore_index=-100), LOGITS, np.array([-5, -100]), ValueError,
     r"target -5 is not a class index .*ignore_index=-100 is the only other value"),
    (nn.SoftmaxCrossEntropy(), LOGITS, np.array([0.0, 1.0]), TypeError,
     r"SoftmaxCrossEntropy: target must hold integer class labels"),
    (nn.SoftmaxCrossEntropy(), LOGITS, np.array([0, 1, 2]), ValueError,
     r"SoftmaxCrossEntropy: logits of shape \(\.\.\., C\) need targets of shape"),
    (nn.SoftmaxCrossEntropy(), np.where(LOGITS > 0.5, np.nan, LOGITS), np.array([0, 1]),
     ValueError, r"SoftmaxCrossEntropy: logits contains NaN or infinity \(1 of 6"),
    (nn.SoftmaxCrossEntropy(), LOGITS.astype(int), np.array([0, 1]), TypeError,
     r"SoftmaxCrossEntropy: logits must be a float array"),
    # binary cross-entropy on logits
    (nn.BCEWithLogits(), LOGITS, np.full(LOGITS.shape, 2.0), ValueError,
     r"BCEWithLogits: target 2 is outside \[0, 1\]"),
    (nn.BCEWithLogits(), LOGITS, -np.ones(LOGITS.shape), ValueError,
     r"BCEWithLogits: target -1 is outside \[0, 1\].*\(y \+ 1\) / 2"),
    (nn.BCEWithLogits(), LOGITS, np.where(LOGITS > 0.5, np.nan, 0.0), ValueError,
     r"BCEWithLogits: target contains NaN or infinity"),
    (nn.BCEWithLogits(), np.array([[np.inf, 0.0]]), np.zeros((1, 2)), ValueError,
     r"BCEWithLogits: logits contains NaN or infinity"),
    (nn.BCEWithLogits(), LOGITS, np.zeros(6), ValueError,
     r"BCEWithLogits: logits \(2, 3\) and targets \(6,\) must have the same shape"),
    (nn.BCEWithLogits(), LOGITS, np.array([["a"] * 3] * 2), TypeError,
     r"BCEWithLogits: target must hold real numbers"),
    # mean squared error
    (nn.MSELoss(), LOGITS, np.where(LOGITS > 0.5, np.inf, 0.0), ValueError,
     r"MSELoss: target contains NaN or infinity"),
    (nn.MSELoss(), np.where(LOGITS > 0.5, np.nan, LOGITS), np.zeros((2, 3)), ValueError,
     r"MSELoss: predictions contains NaN or infinity"),
    (nn.MSELoss(), LOGITS, np.zeros((3, 2)), ValueError,
     r"MSELoss: predictions \(2, 3\) and targets \(3, 2\) must have the same shape"),
    (nn.MSELoss(), LOGITS, np.array([["a"] * 3] * 2), TypeError,
     r"MSELoss: target must hold real numbers"),
    (nn.MSELoss(), np.ones((2, 3), dtype=int), np.ones((2, 3)), TypeError,
     r"MSELoss: predictions must be a float array"),
])
def test_losses_refuse_bad_targets_and_predictions(loss, logits, target, exc, match):
    with pytest.raises(exc, match=match):
        loss(logits, target)


def test_ignore_index_is_still_allowed_outside_the_class_range():
    loss = nn.SoftmaxCrossEntropy(ignore_index=-100)
    assert np.isfinite(loss(LOGITS, np.array([2, -100])))


@pytest.mark.parametrize("loss, target", [
    (nn.SoftmaxCrossEntropy(), np.array([0, 1])),
    (nn.BCEWithLogits(), np.zeros((2, 3))),
    (nn.MSELoss(), np.zeros((2, 3))),
])
@pytest.mark.parametrize("dout, exc, match", [
    (np.ones(3), TypeError, r"\.backward: dout must be one number"),
    (float("nan"), ValueError, r"\.backward: dout must be a finite number"),
    ("1.0", TypeError, r"\.backward: dout must be one number"),
])
def test_loss_backward_needs_one_finite_number(loss, target, dout, exc, match):
    loss(LOGITS, target)
    with pytest.raises(exc, match=type(loss).__name__ + match):
        loss.backward(dout)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: nn.SoftmaxCrossEntropy(label_smoothing=1.0), ValueError,
     r"label_smoothing must be in \[0, 1\)"),
    (lambda: nn.SoftmaxCrossEntropy(label_smoothing=float("nan")), ValueError,
     r"label_smoothing must be in \[0, 1\)"),
    (lambda: nn.SoftmaxCrossEntropy(label_smoothing=True), ValueError, r"label_smoothing"),
    (lambda: nn.SoftmaxCrossEntropy(ignore_index=1.5), TypeError,
     r"ignore_index must be an int or None"),
    (lambda: nn.SoftmaxCrossEntropy(ignore_index=True), TypeError, r"ignore_index"),
])
def test_loss_options_are_checked(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_numpy_scalars_work_as_options():
    loss = nn.SoftmaxCrossEntropy(label_smoothing=np.float32(0.1))
    assert loss.label_smoothing == pytest.approx(0.1)
    assert nn.Dropout(p=np.float64(0.25)).p == 0.25
    assert nn.LeakyReLU(slope=np.float32(0.5)).slope == 0.5


# ----------------------------------------------------------------------------
# Layers: non-finite inputs, wrong shapes and dtypes, named


def conv():
    return nn.Conv2D(1, 2, 3, dtype="float64")


IMG = np.zeros((2, 1, 5, 5))
IMG_NAN = IMG.copy()
IMG_NAN[0, 0, 2, 2] = np.nan


@pytest.mark.parametrize("layer, x, exc, match", [
    (nn.Dense(4, 2), x34(np.nan), ValueError, r"Dense: input x contains NaN or infinity"),
    (nn.Dense(4, 2), x34(np.inf), ValueError, r"Dense: input x contains NaN or infinity"),
    (nn.Dense(4, 2), np.zeros((3, 5)), ValueError, r"Dense\(4, 2\) expects inputs of shape"),
    (nn.Dense(4, 2), np.array([["a"] * 4]), TypeError, r"Dense: input x must be a numeric"),
    (nn.ReLU(), x34(np.nan), ValueError, r"ReLU: input x contains NaN"),
    (nn.LeakyReLU(), x34(-np.inf), ValueError, r"LeakyReLU: input x contains NaN"),
    (nn.Tanh(), x34(np.nan), ValueError, r"Tanh: input x contains NaN"),
    (nn.Sigmoid(), x34(np.inf), ValueError, r"Sigmoid: input x contains NaN"),
    (nn.GELU(), x34(np.nan), ValueError, r"GELU: input x contains NaN"),
    (nn.Dropout(0.5), x34(np.nan), ValueError, r"Dropout: input x contains NaN"),
    (nn.Sigmoid(), np.array(["a", "b"]), TypeError, r"Sigmoid: input x must be a numeric"),
    (conv(), IMG_NAN, ValueError, r"Conv2D: input x contains NaN or infinity"),
    (conv(), np.zeros((2, 3, 5, 5)), ValueError, r"Conv2D\(1, 2, kernel_size=\(3, 3\)\) "
                                                 r"expects inputs of shape \(N, 1, H, W\)"),
    (conv(), np.zeros((2, 1, 2, 2)), ValueError, r"input 2x2 .* smaller than the kernel"),
    (nn.MaxPool2D(2), IMG_NAN, ValueError, r"MaxPool2D: input x contains NaN"),
    (nn.AvgPool2D(2), IMG_NAN, ValueError, r"AvgPool2D: input x contains NaN"),
    (nn.MaxPool2D(2), np.zeros((2, 5, 5)), ValueError, r"MaxPool2D expects inputs of shape"),
    (nn.RNN(3, 4), np.full((2, 5, 3), np.nan), ValueError, r"RNN: input x contains NaN"),
    (nn.GRU(3, 4), np.zeros((2, 5, 4)), ValueError, r"GRU\(3, 4\) expects batch-first"),
    (nn.LSTM(3, 4), np.zeros((2, 5, 3), dtype=int), TypeError,
     r"LSTM: inputs must be floating point"),
    (nn.Embedding(10, 4), np.array([[1, 10]]), ValueError,
     r"Embedding: token id 10 is outside the vocabulary \[0, 10\)"),
    (nn.Embedding(10, 4), np.array([[1, -1]]), ValueError, r"Embedding: token id -1"),
    (nn.Embedding(10, 4), np.array([[1.0, 2.0]]), TypeError,
     r"Embedding expects integer token ids"),
])
def test_layers_refuse_bad_inputs(layer, x, exc, match):
    with pytest.raises(exc, match=match):
        layer(x)


@pytest.mark.parametrize("h0, exc, match", [
    (np.full((2, 4), np.nan), ValueError, r"RNN: h0 contains NaN or infinity"),
    (np.zeros((2, 3)), ValueError, r"RNN: h0 must have shape \(N, H\) = \(2, 4\)"),
    (np.array([["a"] * 4] * 2), TypeError, r"RNN: h0 must be a float array"),
])
def test_recurrent_initial_state_is_checked(h0, exc, match):
    with pytest.raises(exc, match=match):
        nn.RNN(3, 4)(np.zeros((2, 5, 3)), h0=h0)


@pytest.mark.parametrize("make, query, keys, exc, match", [
    (nn.DotAttention, np.full((2, 4), np.nan), np.zeros((2, 3, 4)), ValueError,
     r"DotAttention: query contains NaN or infinity"),
    (nn.DotAttention, np.zeros((2, 4)), np.full((2, 3, 4), np.inf), ValueError,
     r"DotAttention: keys contains NaN or infinity"),
    (nn.DotAttention, np.zeros((2, 4), dtype=int), np.zeros((2, 3, 4)), TypeError,
     r"DotAttention: query must be a float array"),
    (lambda: nn.AdditiveAttention(4, 4, 5), np.zeros((2, 4)), np.zeros((2, 3, 4), dtype=int),
     TypeError, r"AdditiveAttention: keys must be a float array"),
    (nn.DotAttention, np.zeros((3, 4)), np.zeros((2, 3, 4)), ValueError,
     r"DotAttention: query must have shape \(N, Hq\) or \(N, Tq, Hq\) with N = 2"),
])
def test_attention_checks_query_and_keys(make, query, keys, exc, match):
    with pytest.raises(exc, match=match):
        make()(query, keys)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: nn.Dense(0, 2), ValueError, r"Dense: in_features must be a positive int"),
    (lambda: nn.Dense(2.9, 2), ValueError, r"Dense: in_features must be a positive int"),
    (lambda: nn.Dense(2, 2, bias="no"), TypeError, r"Dense: bias must be True or False"),
    (lambda: nn.Dense(2, 2, init="xavier"), ValueError, r"Dense: init must be 'glorot' or 'he'"),
    (lambda: nn.Dense(2, 2, dtype="int32"), TypeError, r"dtype must be a floating dtype"),
    (lambda: nn.Dropout(1.0), ValueError, r"Dropout: p must be a probability in \[0, 1\)"),
    (lambda: nn.Dropout("0.5"), ValueError, r"Dropout: p must be a probability"),
    (lambda: nn.LeakyReLU(float("nan")), ValueError, r"LeakyReLU: slope must be a finite"),
    (lambda: nn.GELU("exact"), ValueError, r"GELU: approximate must be 'tanh' or 'none'"),
    (lambda: nn.Conv2D(1, 2, 0), ValueError, r"kernel_size must be an int >= 1"),
    (lambda: nn.MaxPool2D(2, padding=2), ValueError, r"MaxPool2D: padding \(2, 2\) must be at"),
    (lambda: nn.RNN(3, 0), ValueError, r"RNN: hidden_size must be a positive int"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, r"RNN: nonlinearity must be"),
    (lambda: nn.Embedding(10, 4, padding_idx=10), ValueError,
     r"Embedding: padding_idx must be None or an id in \[0, 10\)"),
    (lambda: nn.Dense(2, 2, rng="seed"), TypeError, r"rng must be None, an int seed"),
    (lambda: nn_init.glorot_uniform((2, 2), 0, 2), ValueError, r"fan_in must be a whole number"),
    (lambda: nn_init.he_normal((2, 2), 2.5), ValueError, r"fan_in must be a whole number"),
    (lambda: nn_init.uniform((2, 2), -1.0), ValueError, r"limit must be a finite number >= 0"),
])
def test_layer_constructors_name_the_bad_option(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


# ----------------------------------------------------------------------------
# backward: dout must have the forward output's shape


@pytest.mark.parametrize("layer, x, bad_dout, match", [
    (nn.Dense(4, 2), x34(), np.ones((2, 3)), r"Dense\.backward: dout must have the shape of "
                                             r"the forward output \(3, 2\), got \(2, 3\)"),
    (nn.Dense(4, 2), x34(), np.ones(6), r"Dense\.backward: dout must have the shape"),
    (nn.ReLU(), x34(), np.ones((1, 4)), r"ReLU\.backward: dout .* \(3, 4\), got \(1, 4\)"),
    (nn.Tanh(), x34(), np.ones(4), r"Tanh\.backward: dout must have the shape"),
    (nn.Sigmoid(), x34(), np.ones((4, 3)), r"Sigmoid\.backward: dout must have the shape"),
    (nn.LeakyReLU(), x34(), np.ones((3, 1)), r"LeakyReLU\.backward: dout must have the shape"),
    (nn.GELU(), x34(), np.ones((3, 4, 1)), r"GELU\.backward: dout must have the shape"),
    (nn.Dropout(0.5), x34(), np.ones((1, 4)), r"Dropout\.backward: dout must have the shape"),
    (nn.Flatten(), IMG, np.ones((25, 2)), r"Flatten\.backward: dout .* \(2, 25\), got"),
    (conv(), IMG, np.ones((2, 2, 9)), r"Conv2D\(1, 2, kernel_size=\(3, 3\)\)\.backward: dout"),
    (nn.MaxPool2D(2), IMG, np.ones((2, 1, 2, 3)), r"MaxPool2D\.backward: dout must have the"),
    (nn.AvgPool2D(2), IMG, np.ones((2, 1, 1)), r"AvgPool2D\.backward: dout must have the"),
    (nn.Embedding(10, 4), np.array([[1, 2, 3]]), np.ones((3, 4)),
     r"Embedding\.backward: dout must have the shape .* \(1, 3, 4\)"),
])
def test_backward_refuses_a_dout_of_another_shape(layer, x, bad_dout, match):
    out = layer(x)
    layer.backward(np.ones(out.shape, dtype=out.dtype))      # the right shape works
    with pytest.raises(ValueError, match=match):
        layer.backward(bad_dout)


def test_backward_refuses_an_integer_dout():
    layer = nn.Dense(4, 2)
    layer(x34())
    with pytest.raises(TypeError, match=r"Dense\.backward: dout must be a float array"):
        layer.backward(np.ones((3, 2), dtype=int))


@pytest.mark.parametrize("kw, exc, match", [
    ({"eps": 0.0}, ValueError, r"Invalid eps=0\.0"),
    ({"rtol": -1.0}, ValueError, r"Invalid rtol=-1\.0"),
    ({"atol": float("nan")}, ValueError, r"atol must be a number, got NaN"),
    ({"max_entries": 2.5}, ValueError, r"max_entries must be a whole number >= 1"),
])
def test_check_module_options_are_checked(kw, exc, match):
    with pytest.raises(exc, match=match):
        nn.check_module(nn.Dense(2, 2, dtype="float64"), np.zeros((1, 2)), **kw)


# ----------------------------------------------------------------------------
# Properties


@settings(max_examples=30, deadline=None)
@given(t=st.integers(-50, 50), C=st.integers(1, 6))
def test_any_class_index_outside_the_range_is_refused(t, C):
    loss = nn.SoftmaxCrossEntropy()
    logits = np.zeros((1, C))
    if 0 <= t < C:
        assert loss(logits, np.array([t])) == pytest.approx(np.log(C))
    else:
        with pytest.raises(ValueError, match=rf"target {t} is not a class index in \[0, {C}\)"):
            loss(logits, np.array([t]))


@settings(max_examples=30, deadline=None)
@given(y=st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_bce_accepts_exactly_the_targets_in_0_1(y):
    loss = nn.BCEWithLogits()
    target = np.array([[y]])
    if np.isfinite(y) and 0.0 <= y <= 1.0:
        assert np.isfinite(loss(np.zeros((1, 1)), target))
    else:
        with pytest.raises(ValueError, match=r"^BCEWithLogits: target"):
            loss(np.zeros((1, 1)), target)


@settings(max_examples=25, deadline=None)
@given(i=st.integers(0, 11), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_a_non_finite_entry_anywhere_is_named_by_the_first_layer(i, bad):
    model = nn.Sequential(nn.Dense(4, 3, dtype="float64"), nn.ReLU(), nn.Dense(3, 2))
    x = x34()
    x.reshape(-1)[i] = bad
    with pytest.raises(ValueError, match=r"^Dense: input x contains NaN or infinity \(1 of 12"):
        model(x)


def language_model():
    return nn.LanguageModel(vocab_size=6, embedding_dim=3, hidden_size=4)


@pytest.mark.parametrize("kw, exc, match", [
    ({"prefix_ids": [1.7, 2.0]}, TypeError, r"LanguageModel\.generate expects integer token ids"),
    ({"prefix_ids": [9]}, ValueError, r"LanguageModel\.generate: token id 9 is outside"),
    ({"prefix_ids": []}, ValueError, r"prefix_ids needs at least one token"),
    ({"n": 2.9}, ValueError, r"LanguageModel\.generate: n must be a whole number >= 0"),
    ({"n": -1}, ValueError, r"n must be a whole number >= 0"),
    ({"temperature": float("nan")}, ValueError, r"temperature must be a number, got NaN"),
    ({"temperature": -0.5}, ValueError, r"LanguageModel\.generate: temperature=-0\.5"),
    ({"temperature": float("inf")}, ValueError, r"temperature=inf"),
])
def test_language_model_generate_checks_its_arguments(kw, exc, match):
    args = {"prefix_ids": [1, 2], "n": 3, **kw}
    with pytest.raises(exc, match=match):
        language_model().generate(**args)


@pytest.mark.parametrize("kw, exc, match", [
    ({"length_penalty": float("nan")}, ValueError, r"length_penalty must be a number, got NaN"),
    ({"length_penalty": -1.0}, ValueError, r"length_penalty=-1\.0"),
    ({"beam_size": 2.5}, ValueError, r"beam_size must be a positive int"),
    ({"max_len": 0}, ValueError, r"max_len must be a positive int"),
])
def test_seq2seq_beam_search_checks_its_arguments(kw, exc, match):
    model = nn.Seq2Seq(7, 7, 3, 4)
    with pytest.raises(exc, match=match):
        model.beam_search(np.array([[4, 5, 6]]), bos_id=2, eos_id=3, **kw)

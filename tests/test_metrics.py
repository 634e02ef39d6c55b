"""gdlib.metrics against scikit-learn and hand-computed BLEU scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from gdlib import metrics


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, size=200))
    return y_true, y_pred


def test_accuracy_and_confusion_matrix_match_sklearn(labels):
    y_true, y_pred = labels
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred),
                                  skm.confusion_matrix(y_true, y_pred))
    order = [3, 1, 0, 2]
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, labels=order),
                                  skm.confusion_matrix(y_true, y_pred, labels=order))


def test_confusion_matrix_by_hand_with_string_labels():
    cm = metrics.confusion_matrix(["cat", "dog", "dog", "cat", "dog"],
                                  ["cat", "cat", "dog", "cat", "dog"])
    # rows: true cat, true dog; columns: predicted cat, predicted dog
    np.testing.assert_array_equal(cm, [[2, 0], [1, 2]])
    assert cm.trace() / cm.sum() == metrics.accuracy(["cat", "dog", "dog", "cat", "dog"],
                                                     ["cat", "cat", "dog", "cat", "dog"])


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.normal(size=50)
    pred = y + 0.3 * rng.normal(size=50)
    assert metrics.r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    assert metrics.mean_squared_error(y, pred) == pytest.approx(
        skm.mean_squared_error(y, pred), rel=1e-12)
    # by hand: predicting the mean gives R^2 = 0, a perfect fit 1
    assert metrics.r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == pytest.approx(0.0)
    assert metrics.r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert metrics.mean_squared_error([0.0, 0.0], [1.0, 3.0]) == 5.0
    assert metrics.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0


def test_metrics_errors():
    with pytest.raises(ValueError, match="3 entries but y_pred has 2"):
        metrics.accuracy([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="1-D.*argmax"):
        metrics.accuracy(np.zeros((3, 2)), np.zeros((3, 2)))


def test_bleu_identical_corpus_is_100():
    refs = ["the cat sat on the mat", "a dog runs in the park today"]
    assert metrics.bleu(refs, refs) == pytest.approx(100.0)


def test_bleu_hand_computed():
    # hypothesis: the cat sat on the mat / reference: the cat sat on a mat
    # clipped n-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity penalty:
    # BLEU = 100 * (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = 100 * (1/12) ** (1/4)
    score = metrics.bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert score == pytest.approx(100 * (1 / 12) ** 0.25, abs=1e-6)


def test_bleu_brevity_penalty_by_hand():
    # The first 5 words of a 6-word reference: every n-gram matches (p_n = 1), and the
    # brevity penalty is exp(1 - r/c) = exp(1 - 6/5).
    score = metrics.bleu(["the cat sat on the"], ["the cat sat on the mat"])
    assert score == pytest.approx(100 * math.exp(1 - 6 / 5), abs=1e-6)


def test_bleu_several_reference_streams_and_errors():
    hyp = ["the cat sat on the mat"]
    one = metrics.bleu(hyp, ["the cat sat on a mat"])
    two = metrics.bleu(hyp, [["the cat sat on a mat"], ["the cat sat on the mat"]])
    assert two == pytest.approx(100.0) and one < two
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        metrics.bleu(["a b", "c d"], ["a b"])
    with pytest.raises(TypeError, match="lists of strings"):
        metrics.bleu("a b", "a b")
    with pytest.raises(TypeError, match="join"):
        metrics.bleu([["a", "b"]], ["a b"])

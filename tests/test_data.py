"""gdlib.data.tabular and gdlib.data.text: splits, scaling, tokens, vocabularies, padding."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gdlib import backend
from gdlib.data import (
    SPECIALS,
    Split,
    StandardScaler,
    Vocab,
    bag_of_words,
    batches,
    bucket_batches,
    load_breast_cancer,
    load_diabetes,
    load_digits,
    pad_batch,
    tokenize,
    train_test_split,
)

# ----------------------------------------------------------------------------
# Tabular


def test_importing_gdlib_does_not_import_sklearn():
    code = "import sys, gdlib, gdlib.data; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_diabetes_shapes_names_and_train_only_scaling():
    s = load_diabetes()
    assert isinstance(s, Split)
    assert s.X_train.shape == (353, 10) and s.X_test.shape == (89, 10)
    assert s.y_train.shape == (353,) and s.y_test.shape == (89,)
    assert s.X_train.dtype == np.float64 and s.y_train.dtype == np.float64
    assert s.feature_names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    # Fitted on the training rows: exactly standard there, only roughly on the test rows.
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.X_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.abs(s.X_test.mean(axis=0)).max() > 1e-3
    assert np.abs(s.X_test.mean(axis=0)).max() < 0.5
    # The raw target (disease progression, 25..346) is untouched.
    y = np.concatenate([s.y_train, s.y_test])
    assert y.min() == 25 and y.max() == 346
    # The scaler maps the standardised rows back to the raw measurements (age 19..79).
    raw = s.scaler.inverse_transform(np.concatenate([s.X_train, s.X_test]))
    assert raw[:, 0].min() == pytest.approx(19) and raw[:, 0].max() == pytest.approx(79)


def test_diabetes_matches_sklearn_rows():
    from sklearn.datasets import load_diabetes as sk_load

    raw = sk_load(scaled=False)
    s = load_diabetes(standardize=False)
    X = np.concatenate([s.X_train, s.X_test])
    y = np.concatenate([s.y_train, s.y_test])
    order, sk_order = np.lexsort(X.T[::-1]), np.lexsort(raw.data.T[::-1])
    np.testing.assert_array_equal(X[order], raw.data[sk_order])
    np.testing.assert_array_equal(y[order], raw.target[sk_order])
    assert s.scaler is None


def test_breast_cancer_is_stratified_and_labelled():
    s = load_breast_cancer()
    assert s.X_train.shape == (455, 30) and s.X_test.shape == (114, 30)
    assert s.y_train.dtype == np.int64 and set(np.unique(s.y_train)) == {0, 1}
    assert s.target_names == ["malignant", "benign"]
    assert len(s.feature_names) == 30 and s.feature_names[0] == "mean radius"
    overall = 357 / 569
    assert abs(s.y_train.mean() - overall) < 0.005 and abs(s.y_test.mean() - overall) < 0.01
    assert int((s.y_test == 0).sum()) == 42  # round(212 * 114 / 569)


def test_seeds_are_reproducible_and_matter():
    a, b, c = load_breast_cancer(seed=3), load_breast_cancer(seed=3), load_breast_cancer(seed=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_digits_flat_and_images():
    flat = load_digits()
    assert flat.X_train.shape == (1437, 64) and flat.X_test.shape == (360, 64)
    assert flat.X_train.min() == 0.0 and flat.X_train.max() == 1.0
    assert flat.target_names == [str(d) for d in range(10)]
    img = load_digits(images=True)
    assert img.X_train.shape == (1437, 1, 8, 8) and img.n_features == 64
    np.testing.assert_array_equal(img.X_train.reshape(-1, 64), flat.X_train)
    # Stratified: every class has 36 (or 35/37) test images out of 360.
    counts = np.bincount(img.y_test, minlength=10)
    assert counts.sum() == 360 and counts.min() >= 35 and counts.max() <= 37
    std = load_digits(standardize=True)
    np.testing.assert_allclose(std.X_train.mean(axis=0), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="images"):
        load_digits(images=True, standardize=True)


def test_float32_and_device_option(cpu_backend):
    s = load_digits(dtype="float32", device=True)
    assert s.X_train.dtype == np.float32
    assert backend.array_module(s.X_train) is backend.array_module(backend.asarray([0.0]))


@pytest.mark.gpu
def test_device_option_moves_arrays_to_the_gpu(gpu_backend):
    import cupy

    s = load_breast_cancer(device=True)
    assert isinstance(s.X_train, cupy.ndarray) and isinstance(s.y_test, cupy.ndarray)
    host = load_breast_cancer()
    np.testing.assert_array_equal(cupy.asnumpy(s.X_train), host.X_train)
    scaler = StandardScaler().fit(s.X_train)
    assert isinstance(scaler.mean_, cupy.ndarray)


def test_train_test_split_partitions_rows():
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    names = [f"row{i}" for i in range(25)]
    X_tr, X_te, y_tr, y_te, n_tr, n_te = train_test_split(X, y, names, test_size=0.2, seed=1)
    assert len(X_te) == 5 and len(X_tr) == 20
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(25))
    np.testing.assert_array_equal(X_tr[:, 0] // 2, y_tr)  # rows stay aligned
    assert n_te == [f"row{i}" for i in y_te]
    assert len(train_test_split(X, test_size=7, seed=0)[1]) == 7
    X_tr2 = train_test_split(X, y, test_size=0.2, seed=1)[0]
    np.testing.assert_array_equal(X_tr, X_tr2)
    _, X_last = train_test_split(X, test_size=0.2, shuffle=False)
    np.testing.assert_array_equal(X_last, X[20:])


def test_stratified_split_keeps_the_class_ratio():
    y = np.array([0] * 90 + [1] * 10)
    rng_ratios = []
    for seed in range(5):
        _, y_te = train_test_split(y, test_size=0.2, seed=seed, stratify=y)
        assert (y_te == 1).sum() == 2 and (y_te == 0).sum() == 18
        _, y_plain = train_test_split(y, test_size=0.2, seed=seed)
        rng_ratios.append((y_plain == 1).sum())
    assert len(set(rng_ratios)) > 1  # without stratify the minority count varies


@pytest.mark.parametrize("kw,match", [(dict(test_size=0.0), "fraction"),
                                      (dict(test_size=1.5), "fraction"),
                                      (dict(test_size=10), "non-empty"),
                                      (dict(test_size=True), "bool")])
def test_train_test_split_validates(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        train_test_split(np.zeros((10, 2)), **kw)


def test_train_test_split_mismatched_lengths():
    with pytest.raises(ValueError, match="same first dimension"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


def test_standard_scaler_formula_and_constant_columns():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(200, 3))
    X[:, 2] = 7.0  # a constant column is only centred
    sc = StandardScaler().fit(X)
    np.testing.assert_allclose(sc.mean_, X.mean(axis=0))
    np.testing.assert_allclose(sc.scale_[:2], X[:, :2].std(axis=0))
    assert sc.scale_[2] == 1.0
    Z = sc.transform(X)
    np.testing.assert_allclose(Z[:, 2], 0.0)
    np.testing.assert_allclose(sc.inverse_transform(Z), X)
    from sklearn.preprocessing import StandardScaler as SkScaler

    np.testing.assert_allclose(Z, SkScaler().fit_transform(X), atol=1e-12)
    with pytest.raises(ValueError, match="trailing shape"):
        sc.transform(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match="not fitted"):
        StandardScaler().transform(X)


# ----------------------------------------------------------------------------
# Text


def test_tokenize():
    assert tokenize("Not bad, really!") == ["not", "bad", ",", "really", "!"]
    assert tokenize("Don't STOP... well-made.") == ["don't", "stop", ".", ".", ".",
                                                    "well-made", "."]
    assert tokenize("L'été à Paris") == ["l'été", "à", "paris"]
    assert tokenize("  ") == []
    with pytest.raises(TypeError):
        tokenize(["a"])


CORPUS = [tokenize(s) for s in ["the film was good", "the film was not good",
                                "a good , good cast", "bad"]]


def test_vocab_build_order_and_specials():
    v = Vocab.build(CORPUS)
    assert v.itos[:4] == list(SPECIALS) == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.itos[4:8] == ["good", "film", "the", "was"]  # by count, ties alphabetical
    assert len(v) == 4 + 9 and "cast" in v and "great" not in v
    assert v.stoi["good"] == 4 and v["great"] == v.unk_id
    assert v.counts["good"] == 4


def test_vocab_min_freq_and_max_size():
    v = Vocab.build(CORPUS, min_freq=2)
    assert v.itos[4:] == ["good", "film", "the", "was"]
    v = Vocab.build(CORPUS, max_size=6)
    assert len(v) == 6 and v.itos[4:] == ["good", "film"]
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(CORPUS, max_size=3)
    with pytest.raises(TypeError, match="token"):
        Vocab.build(["the film was good"])


def test_vocab_encode_decode_round_trip(tmp_path):
    v = Vocab.build(CORPUS)
    tokens = tokenize("the film was not good")
    ids = v.encode(tokens)
    assert v.decode(ids) == tokens
    unknown = v.encode(["the", "dreadful", "film"], add_bos=True, add_eos=True)
    assert unknown == [2, v.stoi["the"], 1, v.stoi["film"], 3]
    assert v.decode(unknown) == ["the", "<unk>", "film"]
    assert v.decode(unknown, strip_specials=False)[0] == "<bos>"
    assert v.decode([v.stoi["bad"], 3, v.stoi["good"], 0], stop_at_eos=True) == ["bad"]
    assert v.decode(np.array(ids)) == tokens
    with pytest.raises(ValueError, match="outside"):
        v.decode([99])
    path = v.save(tmp_path / "vocab.json")
    w = Vocab.load(path)
    assert w == v and w.stoi == v.stoi and w.counts == v.counts
    assert w.encode(tokens) == ids


def test_pad_batch_ids_and_mask():
    ids, mask = pad_batch([[5, 6, 7], [8], []])
    assert ids.dtype == np.int64 and mask.dtype == bool and ids.shape == (3, 3)
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=9, max_len=5)
    np.testing.assert_array_equal(ids, [[5, 6, 7, 9, 9], [8, 9, 9, 9, 9]])
    assert mask.sum(axis=1).tolist() == [3, 1]
    ids, mask = pad_batch([[5, 6, 7], [8]], max_len=2)
    np.testing.assert_array_equal(ids, [[5, 6], [8, 0]])
    ids, mask = pad_batch([[5, 6, 7], [8]], bos_id=2, eos_id=3, max_len=4)
    np.testing.assert_array_equal(ids, [[2, 5, 6, 3], [2, 8, 3, 0]])  # eos kept on cut
    np.testing.assert_array_equal(mask.sum(axis=1), [4, 3])
    ids, mask = pad_batch([np.array([1, 2]), (3,)])
    assert ids.tolist() == [[1, 2], [3, 0]]
    assert pad_batch([])[0].shape == (0, 0)
    with pytest.raises(TypeError, match="string"):
        pad_batch(["abc"])


def test_bag_of_words_counts():
    B = bag_of_words([[4, 5, 4], [6], []], vocab_size=8)
    assert B.shape == (3, 8) and B.dtype == np.float32
    np.testing.assert_array_equal(B[0], [0, 0, 0, 0, 2, 1, 0, 0])
    np.testing.assert_array_equal(B[1], [0, 0, 0, 0, 0, 0, 1, 0])
    assert B[2].sum() == 0
    np.testing.assert_array_equal(bag_of_words([[4, 5, 4]], 8, binary=True)[0],
                                  [0, 0, 0, 0, 1, 1, 0, 0])
    # Padding is not counted, so a padded array gives the same bags.
    ids, _ = pad_batch([[4, 5, 4], [6]])
    np.testing.assert_array_equal(bag_of_words(ids, 8), B[:2])
    # Word order is lost: the point of the sentiment lesson.
    v = Vocab.build(CORPUS)
    a = v.encode(tokenize("not bad , good"))
    b = v.encode(tokenize("good , not bad"))
    np.testing.assert_array_equal(bag_of_words([a], len(v)), bag_of_words([b], len(v)))
    with pytest.raises(ValueError, match="vocab_size"):
        bag_of_words([[9]], vocab_size=8)


def test_batches_cover_every_index_once():
    bs = batches(10, 4, seed=0)
    assert [len(b) for b in bs] == [4, 4, 2]
    assert sorted(np.concatenate(bs).tolist()) == list(range(10))
    assert [b.tolist() for b in batches(10, 4, seed=0)] == [b.tolist() for b in bs]
    assert len(batches(10, 4, drop_last=True)) == 2
    assert batches(5, 2, shuffle=False)[0].tolist() == [0, 1]


def test_bucket_batches_group_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=500)
    bs = bucket_batches(lengths, 32, seed=1)
    assert sorted(np.concatenate(bs).tolist()) == list(range(500))
    # Padding waste: far less than with random batches.
    waste = sum(int(lengths[b].max() * len(b) - lengths[b].sum()) for b in bs)
    rand = sum(int(lengths[b].max() * len(b) - lengths[b].sum()) for b in batches(500, 32, 1))
    assert waste < 0.1 * rand
    spans = [lengths[b].max() - lengths[b].min() for b in bs]
    assert max(spans) <= 6
    # Shuffled batch order, reproducible for a seed, different for another.
    firsts = [lengths[b].min() for b in bs]
    assert firsts != sorted(firsts)
    assert [b.tolist() for b in bucket_batches(lengths, 32, seed=1)] == [b.tolist() for b in bs]
    assert [b.tolist() for b in bucket_batches(lengths, 32, seed=2)] != [b.tolist() for b in bs]
    ordered = bucket_batches(lengths, 32, shuffle=False)
    assert [lengths[b].min() for b in ordered] == sorted(lengths[b].min() for b in ordered)
    assert len(bucket_batches(lengths, 32, drop_last=True)) == 500 // 32

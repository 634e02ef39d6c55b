"""The shipped corpora: reproducible, no leakage, balanced, and built as documented."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from gdlib.data import corpora
from gdlib.data.corpora import (
    ORDER_SENSITIVE,
    PHENOMENA,
    SentimentExample,
    generate_sentiment,
    generate_translation,
    load_sentiment,
    load_translation,
)

# ---------------------------------------------------------------------------------------
# Both corpora
# ---------------------------------------------------------------------------------------


def test_generators_are_deterministic_per_seed():
    assert generate_sentiment(200, seed=3) == generate_sentiment(200, seed=3)
    assert generate_sentiment(200, seed=3) != generate_sentiment(200, seed=4)
    assert generate_translation(200, seed=3) == generate_translation(200, seed=3)
    assert generate_translation(200, seed=3) != generate_translation(200, seed=4)
    # a shorter run is a prefix of a longer one (the stream does not depend on n)
    assert generate_translation(50, seed=3) == generate_translation(200, seed=3)[:50]


def test_shipped_files_equal_a_fresh_generation():
    for split, examples in corpora.sentiment_splits().items():
        assert load_sentiment(split) == examples, f"sentiment_{split}.tsv is stale"
    for split, pairs in corpora.translation_splits().items():
        assert load_translation(split) == pairs, f"translation_{split}.tsv is stale"


def test_sizes_and_types():
    assert len(load_sentiment("train")) == 4000
    assert len(load_sentiment("test")) == 1000
    assert len(load_translation("train")) == 8000
    assert len(load_translation("test")) == 800
    ex = load_sentiment("test")[0]
    assert isinstance(ex, SentimentExample) and isinstance(ex.label, int)
    en, fr = load_translation("test")[0]
    assert isinstance(en, str) and isinstance(fr, str)


def test_no_leakage_between_train_and_test():
    train = {ex.text for ex in load_sentiment("train")}
    test = [ex.text for ex in load_sentiment("test")]
    assert len(set(test)) == len(test) and len(train) == 4000
    assert not train & set(test)
    tr_en = {en for en, _ in load_translation("train")}
    te = load_translation("test")
    assert len(tr_en) == 8000 and len({en for en, _ in te}) == len(te)
    assert not tr_en & {en for en, _ in te}
    assert not set(load_translation("train")) & set(te)


def test_tokens_are_single_space_separated_lower_case():
    texts = [ex.text for ex in load_sentiment("test")]
    texts += [s for pair in load_translation("test") for s in pair]
    for t in texts:
        assert t == t.lower() == t.strip() and "  " not in t and "\t" not in t, t


def test_loaders_return_fresh_lists_and_reject_bad_arguments():
    a = load_sentiment("test")
    a.clear()
    assert len(load_sentiment("test")) == 1000
    with pytest.raises(ValueError, match="split"):
        load_sentiment("dev")
    with pytest.raises(ValueError, match="split"):
        load_translation("valid")
    with pytest.raises(ValueError, match="non-negative"):
        generate_sentiment(-1)
    with pytest.raises(ValueError, match="non-negative"):
        generate_translation(2.5)


def test_tsv_round_trip(tmp_path):
    examples = generate_sentiment(30, seed=9)
    path = corpora.write_sentiment_tsv(examples, tmp_path / "s.tsv")
    rows = corpora._read_tsv(path, corpora._SENTIMENT_HEADER)
    assert [SentimentExample(t, int(y), p) for t, y, p in rows] == examples
    pairs = generate_translation(30, seed=9)
    path = corpora.write_translation_tsv(pairs, tmp_path / "t.tsv")
    assert [tuple(r) for r in corpora._read_tsv(path, corpora._TRANSLATION_HEADER)] == pairs


# ---------------------------------------------------------------------------------------
# Sentiment
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_sentiment_labels_balanced_in_every_phenomenon(split):
    data = load_sentiment(split)
    assert 0.45 <= np.mean([ex.label for ex in data]) <= 0.55
    by_phen = Counter(ex.phenomenon for ex in data)
    assert set(by_phen) == set(PHENOMENA)
    for phen in PHENOMENA:
        share = by_phen[phen] / len(data)
        assert share >= 0.07, (phen, share)
        labels = [ex.label for ex in data if ex.phenomenon == phen]
        assert 0.38 <= np.mean(labels) <= 0.62, (phen, np.mean(labels))
    assert sum(by_phen[p] for p in ORDER_SENSITIVE) >= 0.5 * len(data)


def test_sentiment_lengths_and_vocabulary():
    data = load_sentiment("train") + load_sentiment("test")
    lengths = [len(ex.text.split()) for ex in data]
    assert min(lengths) >= 3 and max(lengths) <= 20
    assert max(lengths) >= 18 and np.mean(lengths) >= 7
    vocab = {w for ex in data for w in ex.text.split()}
    assert 150 <= len(vocab) <= 300


def test_sentiment_contains_the_named_constructions():
    texts = [ex.text for ex in load_sentiment("train")]
    for pattern in [r"\bnot bad\b", r"\bnot good\b", r"\bnot very \w+", r"\bfar too \w+",
                    r"\bgood but\b", r"\bbut \w+ \w+ was\b", r"^although\b", r", although\b",
                    r"\bisn't\b", r"\bi did not \w+", r"\bhardly\b", r"\byet\b"]:
        assert any(re.search(pattern, t) for t in texts), pattern


# An independent reading of the compositional rule in the module docstring.
_POS = set(corpora._POS_ADJ) | set(corpora._POS_NOUNS)
_POS |= {w for pair in corpora._POS_VERBS for w in pair}
_NEG = set(corpora._NEG_ADJ) | set(corpora._NEG_NOUNS) | set(corpora._EXCESS_ADJ)
_NEG |= {w for pair in corpora._NEG_VERBS for w in pair}
_NEGATORS = {"not", "never", "hardly", "no", "isn't", "wasn't", "didn't"}


def _clause_polarity(tokens):
    clause = " ".join(tokens).split(" and ")[0].split()  # clauses joined by "and" agree
    negated = False
    for w in clause:
        if w in _NEGATORS:
            negated = True
        elif w in _POS or w in _NEG:
            return (1 if w in _POS else -1) * (-1 if negated else 1)
    raise AssertionError(f"no sentiment word in {tokens}")


def _rule_label(text):
    toks = text.split()
    for conj in ("but", "yet", "however"):  # the last clause decides
        if conj in toks:
            return _clause_polarity(toks[len(toks) - toks[::-1].index(conj):]) > 0
    subordinators = {"although", "though", "even"}
    for i, w in enumerate(toks):
        if w in subordinators:
            if any(t in _POS or t in _NEG for t in toks[:i]):  # "B although A": B decides
                return _clause_polarity(toks[:i]) > 0
            rest = toks[i:]  # "although A , B": B, after the last comma, decides
            return _clause_polarity(rest[len(rest) - rest[::-1].index(","):]) > 0
    return _clause_polarity(toks) > 0


def test_sentiment_labels_follow_the_documented_rule():
    for ex in load_sentiment("train") + load_sentiment("test"):
        assert int(_rule_label(ex.text)) == ex.label, ex


def _accuracy_by_group(ngram_range):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, test = load_sentiment("train"), load_sentiment("test")
    vec = CountVectorizer(token_pattern=r"\S+", ngram_range=ngram_range)
    X = vec.fit_transform([ex.text for ex in train])
    model = LogisticRegression(solver="liblinear", max_iter=1000).fit(X, [ex.label for ex in train])
    pred = model.predict(vec.transform([ex.text for ex in test]))
    y = np.array([ex.label for ex in test])
    phen = np.array([ex.phenomenon for ex in test])
    hard = np.isin(phen, sorted(ORDER_SENSITIVE))
    out = {"hard": float(np.mean(pred[hard] == y[hard])),
           "easy": float(np.mean(pred[~hard] == y[~hard]))}
    out.update({p: float(np.mean(pred[phen == p] == y[phen == p])) for p in PHENOMENA})
    return out


def test_bag_of_words_fails_where_word_order_decides():
    bow = _accuracy_by_group((1, 1))
    bigram = _accuracy_by_group((1, 2))
    # a bag of words is near chance on negation and contrast ...
    assert bow["hard"] <= 0.75, bow
    assert bow["easy"] >= bow["hard"] + 0.1, bow
    # ... while features that see order ("not good" as one feature) do clearly better
    assert bigram["hard"] >= bow["hard"] + 0.1, (bow, bigram)
    assert bigram["negation"] >= 0.8, bigram
    assert bigram["plain"] >= 0.9, bigram


# ---------------------------------------------------------------------------------------
# Translation
# ---------------------------------------------------------------------------------------


def test_translation_lengths_and_vocabulary():
    train, test = load_translation("train"), load_translation("test")
    for data in (train, test):
        en_len = np.array([len(en.split()) for en, _ in data])
        assert en_len.min() >= 3 and en_len.max() <= 25
        assert en_len.max() >= 20
        assert np.mean(en_len >= 15) >= 0.25  # a good share of long sentences
        assert np.mean(en_len <= 8) >= 0.15  # and of short ones
        assert all(en.endswith(" .") and fr.endswith(" .") for en, fr in data)
    en_vocab = {w for en, _ in train for w in en.split()}
    fr_vocab = {w for _, fr in train for w in fr.split()}
    assert 150 <= len(en_vocab) <= 400 and 150 <= len(fr_vocab) <= 400
    assert {w for _, fr in test for w in fr.split()} <= fr_vocab  # no unknown target words
    assert any(c in "éèêàçœ" for _, fr in train[:50] for c in fr)  # real accents, UTF-8


def test_translation_is_a_function_of_the_english_side():
    seen = {}
    for en, fr in generate_translation(4000, seed=11) + load_translation("train"):
        assert seen.setdefault(en, fr) == fr, (en, seen[en], fr)


# (English pattern, French pattern): wherever the English matches, the French must too.
_SPOT_CHECKS = [
    (r"\bthe red car\b", r"\bla voiture rouge\b"),  # adjective after the noun
    (r"\bthe small house\b", r"\bla petite maison\b"),  # a few adjectives before it
    (r"\bthe old hotel\b", r"\bvieil hôtel\b"),  # "vieil" before a vowel
    (r"\bthe beautiful hotel\b", r"\bbel hôtel\b"),
    (r"\bthe white dress\b", r"\bla robe blanche\b"),  # feminine agreement
    (r"\bthe white cats\b", r"\bles chats blancs\b"),  # plural agreement
    (r"\bmy school\b", r"\bmon école\b"),  # "mon" before a feminine vowel
    (r"\bthis child\b", r"\bcet enfant\b"),
    (r"\bthe man\b", r"l'homme\b"),  # elision before h muet
    (r"\bnear the park\b", r"\bprès du parc\b"),  # de + le -> du
    (r"\b(go|goes|went) to the market\b", r"\bau marché\b"),  # à + le -> au
    (r"\bthe boy 's \w+", r"\bdu garçon\b"),  # possessive 's reordered
    (r"\bthe girl 's \w+", r"\bde la fille\b"),
    (r"^i like\b", r"^j'aime\b"),  # subject agreement, elision
    (r"\bthey do not eat\b", r"\bils ne mangent pas\b"),  # ne ... pas around the verb
    (r"\b(do|does|did) not \w+( for)? an? ", r"\bpas (\w+ )?d(e |')"),  # pas de
    (r"\bshe arrived\b", r"\belle est arrivée\b"),  # être + agreeing participle
    (r"\b(girls|women|sisters) (arrived|left|came|went)\b",
     r"\b(filles|femmes|sœurs)( \w+)? sont (arrivées|parties|venues|allées)\b"),
    (r"\bwe are tired\b", r"\bnous sommes fatigués\b"),
    (r"\b(cars|houses|boxes|doors) (are|were) (red|green|black|white|blue)\b",
     r"\b(sont|étaient) (rouges|vertes|noires|blanches|bleues)\b"),
    (r"\blooks for\b", r"\bcherche\b"),
]


@pytest.mark.parametrize(("en_pattern", "fr_pattern"), _SPOT_CHECKS)
def test_translation_spot_checks(en_pattern, fr_pattern):
    pairs = load_translation("train") + load_translation("test")
    hits = [(en, fr) for en, fr in pairs if re.search(en_pattern, en)]
    assert hits, f"no English sentence matches {en_pattern!r}"
    bad = [(en, fr) for en, fr in hits if not re.search(fr_pattern, fr)]
    assert not bad, bad[:3]


def test_french_spelling_elides_then_contracts():
    spell = corpora._french_spelling
    assert spell("je ai vu le arbre".split()) == ["j'ai", "vu", "l'arbre"]
    assert spell("près de le parc et de le homme".split()) == ["près", "du", "parc", "et", "de",
                                                               "l'homme"]
    assert spell("à les enfants parce que il ne est pas".split()) == [
        "aux", "enfants", "parce", "qu'il", "n'est", "pas"]

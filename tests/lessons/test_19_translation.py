"""Lesson 19: attention weights, a beam-search step and its length penalty, BLEU."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "19-translation"

_ATTENTION = """
def masked_softmax(scores, mask):
    {SOFTMAX}


def dot_attention(query, keys, mask):
    weights = masked_softmax({SCORES}, mask)
    context = {CONTEXT}
    return weights, context


def additive_scores(query, keys, W_q, W_k, v):
    return {ADDITIVE}
"""


def attention(SOFTMAX="scores = np.where(mask, scores, -np.inf)\n"
                      "    z = np.exp(scores - scores[mask].max())\n"
                      "    return z / z.sum()",
              SCORES="keys @ query", CONTEXT="weights @ keys",
              ADDITIVE="np.tanh(query @ W_q + keys @ W_k) @ v"):
    """The three attention functions with one part changed."""
    return _ATTENTION.format(SOFTMAX=SOFTMAX, SCORES=SCORES, CONTEXT=CONTEXT, ADDITIVE=ADDITIVE)


_BEAM = """
def beam_step(scores, log_probs, beam_size):
    total = {TOTAL}
    k = min(beam_size, total.size)
    best = {BEST}
    beam_ids, token_ids = {SPLIT}
    return total[best], beam_ids, token_ids


def normalised_score(score, length, alpha):
    return {NORMALISED}
"""


def beam(TOTAL="(scores[:, None] + log_probs).ravel()",
         BEST='np.argsort(-total, kind="stable")[:k]',
         SPLIT="np.divmod(best, log_probs.shape[1])",
         NORMALISED="score / ((5.0 + length) / 6.0) ** alpha"):
    return _BEAM.format(TOTAL=TOTAL, BEST=BEST, SPLIT=SPLIT, NORMALISED=NORMALISED)


_BLEU = """
def clipped_matches(hyp, ref, n):
    h = Counter(tuple(hyp[i:i + n]) for i in range({HYP_RANGE}))
    r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    matches = {MATCHES}
    return matches, {TOTAL}


def brevity_penalty(c, r):
    return {BP}


def corpus_bleu(hyps, refs, max_n=4):
    matches, totals = np.zeros(max_n), np.zeros(max_n)
    c = r = 0
    for hyp, ref in zip(hyps, refs):
        c, r = c + len(hyp), r + len(ref)
        for n in range(1, max_n + 1):
            m, t = clipped_matches(hyp, ref, n)
            matches[n - 1] += m
            totals[n - 1] += t
    if not matches.any():
        return 0.0
    precisions, k = matches / totals, 0
    for n in range(max_n):
        if matches[n] == 0:
            {SMOOTH}
    return {SCORE}
"""


def bleu_code(HYP_RANGE="len(hyp) - n + 1",
              MATCHES="sum(min(count, r[g]) for g, count in h.items())",
              TOTAL="max(len(hyp) - n + 1, 0)",
              BP="1.0 if c >= r else math.exp(1.0 - r / c)",
              SMOOTH="k += 1\n            precisions[n] = 1.0 / (2**k * totals[n])",
              SCORE="100.0 * brevity_penalty(c, r) * math.exp(np.mean(np.log(precisions)))"):
    return _BLEU.format(HYP_RANGE=HYP_RANGE, MATCHES=MATCHES, TOTAL=TOTAL, BP=BP, SMOOTH=SMOOTH,
                        SCORE=SCORE)


WRONG = [
    Wrong("ex1", "mask ignored", attention(
        SOFTMAX="z = np.exp(scores - scores.max())\n    return z / z.sum()"),
          expect=("padded position got a weight",)),
    Wrong("ex1", "weights zeroed after the softmax", attention(
        SOFTMAX="z = np.exp(scores - scores.max())\n    return z / z.sum() * mask"),
          expect=("after the softmax",)),
    Wrong("ex1", "masked scores set to 0", attention(
        SOFTMAX="scores = np.where(mask, scores, 0.0)\n    z = np.exp(scores - scores.max())\n"
                "    return z / z.sum()"), expect=("score of 0", "-inf")),
    Wrong("ex1", "no maximum subtracted", attention(
        SOFTMAX="z = np.exp(np.where(mask, scores, -np.inf))\n    return z / z.sum()"),
          expect=("overflows",)),
    Wrong("ex1", "maximum over the padded positions too", attention(
        SOFTMAX="z = np.exp(scores - scores.max()) * mask\n    return z / z.sum()"),
          expect=("padded score 1000 was subtracted", r"scores\[mask\]\.max")),
    Wrong("ex1", "scaled dot product", attention(SCORES="keys @ query / np.sqrt(len(query))"),
          expect=("sqrt\\(H\\)", "unscaled")),
    Wrong("ex1", "scores as query @ keys", attention(SCORES="query @ keys"),
          expect=("Follow the shapes", "keys @ query")),
    Wrong("ex1", "context as the mean of the real keys", attention(CONTEXT="keys[mask].mean(0)"),
          expect=("plain mean",)),
    Wrong("ex1", "additive score without tanh",
          attention(ADDITIVE="(query @ W_q + keys @ W_k) @ v"),
          expect=("squash with tanh",)),
    Wrong("ex1", "additive score with tanh after v",
          attention(ADDITIVE="np.tanh((query @ W_q + keys @ W_k) @ v)"),
          expect=("before the product with v",)),
    Wrong("ex1", "additive score without the query", attention(ADDITIVE="np.tanh(keys @ W_k) @ v"),
          expect=("query's term",)),
    Wrong("ex1", "gdlib's DotAttention", attention(
        SCORES="keys @ query",
        CONTEXT="DotAttention()(query[None, None], keys[None], mask=mask[None])[0, 0]"),
          expect=("switched off", "attention yourself")),
    Wrong("ex2", "old score forgotten", beam(TOTAL="log_probs.ravel() + 0 * scores.sum()"),
          expect=("PLUS log p",)),
    Wrong("ex2", "worst candidates kept", beam(BEST='np.argsort(total, kind="stable")[:k]'),
          expect=("worst candidates",)),
    Wrong("ex2", "best candidates in ascending order",
          beam(BEST='np.argsort(total, kind="stable")[-k:]'), expect=("reversed",)),
    Wrong("ex2", "one candidate per hypothesis", """
def beam_step(scores, log_probs, beam_size):
    cand = scores[:, None] + log_probs
    token_ids = cand.argmax(axis=1)
    beam_ids = np.arange(len(scores))
    return cand[beam_ids, token_ids], beam_ids, token_ids


def normalised_score(score, length, alpha):
    return score / ((5.0 + length) / 6.0) ** alpha
""", expect=("one candidate per live hypothesis",)),
    Wrong("ex2", "flat index divided by B", beam(SPLIT="np.divmod(best, log_probs.shape[0])"),
          expect=("not by B",)),
    Wrong("ex2", "beam and token swapped",
          beam(SPLIT="np.divmod(best, log_probs.shape[1])[::-1]"), expect=("swapped",)),
    Wrong("ex2", "length penalty multiplied",
          beam(NORMALISED="score * ((5.0 + length) / 6.0) ** alpha"),
          expect=("do not multiply",)),
    Wrong("ex2", "plain length ** alpha", beam(NORMALISED="score / length ** alpha"),
          expect=(r"not\s+length \*\* alpha",)),
    Wrong("ex2", "length penalty without the 6", beam(NORMALISED="score / (5.0 + length) ** alpha"),
          expect=("by 6",)),
    Wrong("ex2", "alpha as a factor", beam(NORMALISED="score / ((5.0 + length) / 6.0 * alpha)"),
          expect=("exponent",)),
    Wrong("ex3", "matches not clipped", bleu_code(MATCHES="sum(h.values()) if r else 0"),
          expect=("clip",)),
    Wrong("ex3", "total from the reference", bleu_code(TOTAL="max(len(ref) - n + 1, 0)"),
          expect=("not of the reference",)),
    Wrong("ex3", "n-grams one short", bleu_code(HYP_RANGE="len(hyp) - n",
                                                TOTAL="max(len(hyp) - n, 0)"),
          expect=("L - n \\+ 1",)),
    Wrong("ex3", "brevity penalty without the min", bleu_code(BP="math.exp(1.0 - r / c)"),
          expect=("no bonus",)),
    Wrong("ex3", "brevity penalty with c/r", bleu_code(
        BP="1.0 if c >= r else math.exp(1.0 - c / r)"), expect=("1 - r/c",)),
    Wrong("ex3", "arithmetic mean of the precisions", bleu_code(
        SCORE="100.0 * brevity_penalty(c, r) * np.mean(precisions)"), expect=("geometric",)),
    Wrong("ex3", "brevity penalty left out", bleu_code(
        SCORE="100.0 * math.exp(np.mean(np.log(precisions)))"),
          expect=("brevity penalty is missing",)),
    Wrong("ex3", "zero for an order without match (no smoothing)", bleu_code(
        SMOOTH="return 0.0"), expect=("smooths",)),
    Wrong("ex3", "gdlib's bleu", """
def clipped_matches(hyp, ref, n):
    h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    return sum(min(count, r[g]) for g, count in h.items()), max(len(hyp) - n + 1, 0)


def brevity_penalty(c, r):
    return 1.0 if c >= r else math.exp(1.0 - r / c)


def corpus_bleu(hyps, refs, max_n=4):
    return bleu([" ".join(h) for h in hyps], [" ".join(t) for t in refs], tokenize="none")
""", expect=("switched off", "BLEU yourself")),
]

"""Lesson 30: causal attention, splitting/merging heads, the Newton-Schulz iteration."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "30-transformer"


def _attention(scores: str, mask: str = "np.triu(np.ones((T, T), dtype=bool), k=1)",
               softmax_axis: int = -1, after: str = "") -> str:
    return f"""
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = {scores}
    future = {mask}
    scores = np.where(future, -np.inf, scores)
    scores = scores - scores.max(axis={softmax_axis}, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis={softmax_axis}, keepdims=True)
    {after}
    return weights @ v, weights
"""


SCALED = "q @ np.swapaxes(k, -1, -2) / np.sqrt(d)"

_MASK_AFTER = """
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    weights = weights * np.tril(np.ones((T, T)))
    return weights @ v, weights
"""

_SPLIT_OK = """
def split_heads(x, n_heads):
    N, T, D = x.shape
    return x.reshape(N, T, n_heads, D // n_heads).transpose(0, 2, 1, 3)
"""
_MERGE_OK = """
def merge_heads(y):
    N, H, T, d = y.shape
    return y.transpose(0, 2, 1, 3).reshape(N, T, H * d)
"""


def _ns(normalise: str = "X = X / np.linalg.norm(X)", square: str = "A @ A",
        coefficients: str = "3.4445, -4.7750, 2.0315", back: str = "X.T if tall else X") -> str:
    return f"""
def newton_schulz(G, steps=5):
    a, b, c = {coefficients}
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    {normalise}
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * {square}) @ X
    return {back}
"""


WRONG = [
    Wrong("ex1", "no mask: the future is visible", _attention(SCALED, mask="np.zeros((T, T), "
          "dtype=bool)"), expect=("attends to the future",)),
    Wrong("ex1", "mask hides the diagonal too (k=0)",
          _attention(SCALED, mask="np.triu(np.ones((T, T), dtype=bool), k=0)"),
          expect=("must see itself", "k=1")),
    Wrong("ex1", "mask as a large negative number that also hides the diagonal",
          _attention(SCALED, mask="np.triu(np.ones((T, T), dtype=bool), k=0)").replace(
              "-np.inf", "-1e9"), expect=("must see itself",)),
    Wrong("ex1", "missing 1/sqrt(d)", _attention("q @ np.swapaxes(k, -1, -2)"),
          expect=("not scaled", r"sqrt\(d\)")),
    Wrong("ex1", "divided by d instead of sqrt(d)",
          _attention("q @ np.swapaxes(k, -1, -2) / d"), expect=("divided by d", r"sqrt\(d\)")),
    Wrong("ex1", "multiplied by sqrt(d)",
          _attention("q @ np.swapaxes(k, -1, -2) * np.sqrt(d)"),
          expect=(r"multiplied by sqrt\(d\)", r"divide")),
    Wrong("ex1", "softmax over the queries (axis -2)", _attention(SCALED, softmax_axis=-2),
          expect=("sum to 1", "not axis -2")),
    Wrong("ex1", "mask applied after the softmax", _MASK_AFTER,
          expect=("sum to 1", "before\\* the softmax|before the softmax")),
    Wrong("ex1", "mask by multiplying the scores by tril (0, not -inf)", """
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d) * np.tril(np.ones((T, T)))
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights
""", expect=("attends to the future", "-inf")),
    Wrong("ex1", "k.T instead of swapping the last two axes", _attention("q @ k.T / np.sqrt(d)"),
          expect=("k.T", "swap only the last two")),
    Wrong("ex1", "divided by sqrt(T) instead of sqrt(d)", _attention("q @ np.swapaxes(k, -1, -2) "
          "/ np.sqrt(T)"), expect=(r"sqrt\(T\)", r"sqrt\(d\)")),
    Wrong("ex1", "library's causal_attention",
          "def causal_attention(q, k, v):\n    return tf.causal_attention(q, k, v)\n",
          expect=("switched off", "causal attention")),
    Wrong("ex2", "reshape without transposing", """
def split_heads(x, n_heads):
    N, T, D = x.shape
    return x.reshape(N, n_heads, T, D // n_heads)
""" + _MERGE_OK, expect=("reshape alone", "transpose")),
    Wrong("ex2", "heads take every H-th feature", """
def split_heads(x, n_heads):
    N, T, D = x.shape
    return x.reshape(N, T, D // n_heads, n_heads).transpose(0, 3, 1, 2)
""" + _MERGE_OK, expect=("consecutive features",)),
    Wrong("ex2", "merge without transposing back", _SPLIT_OK + """
def merge_heads(y):
    N, H, T, d = y.shape
    return y.reshape(N, T, H * d)
""", expect=("reshape alone", "swap the H and T axes")),
    Wrong("ex2", "merge without the reshape", _SPLIT_OK + """
def merge_heads(y):
    return y.transpose(0, 2, 1, 3)
""", expect=("shape",), named=False),
    Wrong("ex2", "split without the transpose (N, T, H, d)", """
def split_heads(x, n_heads):
    N, T, D = x.shape
    return x.reshape(N, T, n_heads, D // n_heads)
""" + _MERGE_OK, expect=("transpose",)),
    Wrong("ex2", "merge with the axes in the wrong order", _SPLIT_OK + """
def merge_heads(y):
    N, H, T, d = y.shape
    return y.transpose(0, 2, 3, 1).reshape(N, T, H * d)
""", expect=("consecutive|\\(0, 2, 1, 3\\)",)),
    Wrong("ex2", "library's split_heads", """
def split_heads(x, n_heads):
    return tf.split_heads(x, n_heads)
""" + _MERGE_OK, expect=("switched off", "splitting and merging heads")),
    Wrong("ex3", "no normalisation by the norm", _ns(normalise="pass"),
          expect=("normalise first",)),
    Wrong("ex3", "element-wise A * A", _ns(square="(A * A)"), expect=("matrix product",)),
    Wrong("ex3", "b and c swapped", _ns(coefficients="3.4445, 2.0315, -4.7750"),
          expect=("swapped",)),
    Wrong("ex3", "normalised by the spectral norm", _ns(normalise="X = X / np.linalg.norm(X, 2)"),
          expect=("Frobenius norm",)),
    Wrong("ex3", "tall matrix not transposed back", _ns(back="X"),
          expect=("transpose the result back",)),
    Wrong("ex3", "one step too few (range(1, steps))", _ns().replace(
          "for _ in range(steps)", "for _ in range(1, steps)"), expect=("one step too few",)),
    Wrong("ex3", "normalised again at every step", _ns().replace(
          "        A = X @ X.T\n", "        X = X / np.linalg.norm(X)\n        A = X @ X.T\n"),
          expect=("once, before the iterations",)),
    Wrong("ex3", "library's newton_schulz",
          "def newton_schulz(G, steps=5):\n    return muon.newton_schulz(G, steps=steps)\n",
          expect=("switched off", "Newton-Schulz")),
]

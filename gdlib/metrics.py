r"""How good is a model? Accuracy, :math:`R^2`, MSE, confusion matrices and BLEU.

The metrics take NumPy or CuPy arrays (copied to the host) or lists and return
Python floats (or a NumPy array for the confusion matrix), with the names and
conventions of :mod:`sklearn.metrics`.

NaN policy: a NaN or an infinity in ``y_true`` or ``y_pred`` is an error
(``ValueError`` naming the argument and counting the entries), never a score:
NaN compares unequal to itself, so an accuracy would silently count it as a
miss, and an MSE would be NaN. Complex numbers, and text where numbers are
needed (MSE, :math:`R^2`), are a ``TypeError``.

Sources
-------
- S. Wright (1921), "Correlation and causation", J. Agricultural Research 20:
  the coefficient of determination.
- K. Papineni, S. Roukos, T. Ward and W.-J. Zhu (2002), "BLEU: a method for
  automatic evaluation of machine translation", ACL.
- M. Post (2018), "A call for clarity in reporting BLEU scores", WMT: sacreBLEU,
  the reference implementation used here.
"""

from __future__ import annotations

import numpy

from .backend import to_host

__all__ = ["accuracy", "r2_score", "mean_squared_error", "confusion_matrix", "bleu"]


def _host(name: str, values, numeric: bool):
    """``values`` as a NumPy array, checked: no NaN/inf, numbers when ``numeric``."""
    if values is None or isinstance(values, str):
        raise TypeError(f"{name} must be an array of values, one per example, got {values!r}.")
    a = numpy.asarray(to_host(values))
    if a.dtype.kind == "c":
        raise TypeError(f"{name} holds complex numbers ({a.dtype}); give real values.")
    if numeric and a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}.")
    if a.dtype.kind == "f" and not numpy.isfinite(a).all():
        bad = int((~numpy.isfinite(a)).sum())
        raise ValueError(f"{name} contains NaN or infinity ({bad} of {a.size} entries): "
                         "a metric refuses them rather than guess (see gdlib.metrics).")
    return a


def _pair(y_true, y_pred, name_true="y_true", name_pred="y_pred", numeric=False):
    a = _host(name_true, y_true, numeric)
    b = _host(name_pred, y_pred, numeric)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if b.ndim == 2 and b.shape[1] == 1:
        b = b.reshape(-1)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(
            f"{name_true} and {name_pred} must be 1-D (one value per example); got shapes "
            f"{a.shape} and {b.shape}. For class scores, take the argmax over classes first."
        )
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_true} has {a.shape[0]} entries but {name_pred} has {b.shape[0]}: "
            "they must describe the same examples."
        )
    if a.shape[0] == 0:
        raise ValueError(f"{name_true} and {name_pred} are empty.")
    numeric = [x.dtype.kind in "fiub" for x in (a, b)]
    if numeric[0] != numeric[1]:
        kinds = ["numbers" if n else f"{x.dtype} values" for n, x in zip(numeric, (a, b))]
        raise TypeError(
            f"{name_true} holds {kinds[0]} but {name_pred} holds {kinds[1]}: no label would "
            "ever match. Convert both to the same kind (e.g. model.classes_[indices])."
        )
    return a, b


def accuracy(y_true, y_pred) -> float:
    r"""The fraction of correct predictions, :math:`\frac{1}{n}\sum_i [\hat y_i = y_i]`."""
    a, b = _pair(y_true, y_pred)
    return float(numpy.mean(a == b))


def mean_squared_error(y_true, y_pred) -> float:
    r"""The mean squared error :math:`\frac{1}{n}\sum_i (y_i - \hat y_i)^2`."""
    a, b = _pair(y_true, y_pred, numeric=True)
    d = a.astype(float) - b.astype(float)
    return float(numpy.mean(d * d))


def r2_score(y_true, y_pred) -> float:
    r"""The coefficient of determination (Wright 1921).

    .. math:: R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2}

    1 is a perfect fit, 0 is no better than predicting the mean :math:`\bar y`,
    and it is negative for worse. When :math:`y` is constant the ratio is
    undefined: 1.0 for a perfect prediction, else 0.0 (as scikit-learn).
    """
    a, b = _pair(y_true, y_pred, numeric=True)
    a, b = a.astype(float), b.astype(float)
    ss_res = float(numpy.sum((a - b) ** 2))
    ss_tot = float(numpy.sum((a - a.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def confusion_matrix(y_true, y_pred, labels=None) -> numpy.ndarray:
    """Counts ``C[i, j]`` of examples with true label ``labels[i]`` predicted as ``labels[j]``.

    Parameters
    ----------
    y_true, y_pred : array-like (n,)
    labels : sequence, optional
        The row/column order; by default the sorted labels present in either.

    Returns
    -------
    numpy.ndarray of int, shape (k, k)
        Rows are true labels, columns predictions (scikit-learn's convention):
        the diagonal holds the correct predictions.
    """
    a, b = _pair(y_true, y_pred)
    labels = numpy.union1d(a, b) if labels is None else _host("labels", labels, False)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence, got {labels!r}.")
    if len(numpy.unique(labels)) != len(labels):
        raise ValueError(f"labels lists a label twice ({labels.tolist()}): each row and "
                         "column must be a different label.")
    index = {v: i for i, v in enumerate(labels.tolist())}
    k = len(labels)
    out = numpy.zeros((k, k), dtype=numpy.int64)
    ia = numpy.array([index.get(v, -1) for v in a.tolist()])
    ib = numpy.array([index.get(v, -1) for v in b.tolist()])
    keep = (ia >= 0) & (ib >= 0)                # examples with labels outside `labels` drop out
    numpy.add.at(out, (ia[keep], ib[keep]), 1)
    return out


def bleu(hypotheses, references, tokenize: str = "13a", lowercase: bool = False) -> float:
    r"""Corpus BLEU (Papineni et al. 2002) as computed by sacreBLEU (Post 2018), 0-100.

    BLEU is the geometric mean of the modified n-gram precisions
    :math:`p_1, \dots, p_4` (each hypothesis n-gram counted at most as often as
    it appears in the reference), pooled over the whole corpus, times a
    brevity penalty for hypotheses shorter than the references:

    .. math::

        \mathrm{BLEU} = 100 \cdot \min\!\big(1, e^{1 - r/c}\big)
                        \exp\Big(\tfrac14 \sum_{n=1}^{4} \log p_n\Big),

    with :math:`c` the total hypothesis length and :math:`r` the total
    reference length.

    Parameters
    ----------
    hypotheses : list of str
        One system output per sentence (tokens separated by spaces, or raw text).
    references : list of str, or list of lists of str
        One reference per hypothesis; or several reference streams, each a list
        as long as ``hypotheses`` (sacreBLEU's layout).
    tokenize : str, default "13a"
        sacreBLEU's tokenizer (``"13a"`` is the WMT standard; ``"none"`` keeps
        the given spaces).
    lowercase : bool, default False

    Returns
    -------
    float
        The score between 0 and 100.
    """
    import sacrebleu

    if not isinstance(lowercase, (bool, numpy.bool_)):
        raise TypeError(f"lowercase must be True or False, got {lowercase!r}.")
    try:
        from sacrebleu.metrics.bleu import _TOKENIZERS as known
    except ImportError:  # pragma: no cover - another sacreBLEU layout: it checks itself
        known = None
    if not isinstance(tokenize, str) or (known is not None and tokenize not in known):
        raise ValueError(f"tokenize={tokenize!r} is not a sacreBLEU tokenizer; choose one of "
                         f"{', '.join(map(repr, known or ['13a']))} ('13a' is the WMT standard).")
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be lists of strings (one per "
                        "sentence), not a single string.")
    hyps = list(hypotheses)
    refs = list(references)
    if refs and all(isinstance(r, str) for r in refs):
        streams = [refs]
    elif refs and all(isinstance(r, (list, tuple)) for r in refs):
        streams = [list(r) for r in refs]
    else:
        raise TypeError("references must be a list of strings (one per hypothesis) or a "
                        "list of reference streams (lists of strings).")
    for k, stream in enumerate(streams):
        if len(stream) != len(hyps):
            which = "references" if len(streams) == 1 else f"reference stream {k}"
            raise ValueError(
                f"{len(hyps)} hypotheses but {len(stream)} {which}: give exactly one "
                "reference per hypothesis, in the same order."
            )
        bad = [type(s).__name__ for s in stream if not isinstance(s, str)]
        if bad:
            raise TypeError(f"references must be strings; found {bad[0]}. Join token "
                            "lists with ' '.join(tokens).")
    bad = [type(h).__name__ for h in hyps if not isinstance(h, str)]
    if bad:
        raise TypeError(f"hypotheses must be strings; found {bad[0]}. Join token lists "
                        "with ' '.join(tokens).")
    if not hyps:
        raise ValueError("hypotheses is empty: BLEU needs at least one sentence.")
    # force=True: the course's corpora are stored tokenized (" ."), which sacreBLEU
    # would otherwise warn about on every call; the score is the same.
    result = sacrebleu.corpus_bleu(hyps, streams, tokenize=tokenize, lowercase=lowercase,
                                   force=True)
    return float(result.score)

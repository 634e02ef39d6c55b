r"""Loss functions as modules: ``forward(pred, target) -> float``, ``backward() -> dpred``.

A loss is the last node of the computational graph. Its ``backward(dout=1.0)``
starts backpropagation: it returns :math:`\partial L / \partial\,\mathrm{pred}`
(times ``dout``), which the model's ``backward`` then carries back layer by layer::

    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())

Targets are not differentiated (labels are data), so ``backward`` returns the
gradient for the prediction only.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy

from ..backend import array_module
from .layers import check_finite, sigmoid
from .module import Module
from .module import on_backend as _on_backend

__all__ = ["SoftmaxCrossEntropy", "MSELoss", "BCEWithLogits"]


def _no_forward(name: str):
    return RuntimeError(f"{name}.backward was called before forward: run forward first.")


def _float_pred(name: str, pred, what: str = "predictions"):
    """The predictions (or logits) on the backend: a float array, all finite."""
    pred = _on_backend(pred)
    if numpy.dtype(pred.dtype).kind != "f":
        raise TypeError(f"{name}: {what} must be a float array, got dtype {pred.dtype}.")
    return check_finite(name, what, pred)


def _real_target(name: str, target):
    """A numeric target on the backend (real numbers, finite)."""
    target = _on_backend(target)
    if numpy.dtype(target.dtype).kind not in "fiub":
        raise TypeError(f"{name}: target must hold real numbers, got dtype {target.dtype}.")
    return check_finite(name, "target", target)


def _scalar_dout(name: str, dout) -> float:
    """The upstream gradient of a loss: one finite real number (1.0 by default)."""
    if getattr(dout, "size", 1) != 1 or isinstance(dout, (bool, str)):
        raise TypeError(f"{name}.backward: dout must be one number (the gradient of what "
                        f"follows the loss, 1.0 by default), got {dout!r}.")
    value = float(dout.reshape(-1)[0]) if hasattr(dout, "reshape") else dout
    if not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name}.backward: dout must be a finite number, got {dout!r}.")
    return float(value)


class SoftmaxCrossEntropy(Module):
    r"""Softmax followed by the negative log-likelihood, in one stable step.

    For logits :math:`z \in \mathbb{R}^C` and a class :math:`t`, with
    :math:`p = \mathrm{softmax}(z)` and the target distribution
    :math:`q = (1-\varepsilon)\,\mathrm{onehot}(t) + \varepsilon / C`
    (label smoothing, Szegedy et al., 2016; :math:`\varepsilon = 0` is plain
    cross-entropy):

    .. math:: \ell = -\sum_c q_c \log p_c, \qquad
              \frac{\partial \ell}{\partial z} = p - q.

    The loss is the mean of :math:`\ell` over the positions whose target is not
    ``ignore_index`` (padding in a batch of sequences). Fusing softmax with the
    log keeps the gradient the simple :math:`p - q` and avoids ``log(0)``.

    Parameters
    ----------
    ignore_index : int, optional
        Target value that contributes neither loss nor gradient (as PyTorch's).
        When every position is ignored the loss is 0 (PyTorch gives NaN).
    label_smoothing : float in [0, 1), default 0

    Notes
    -----
    ``forward(logits, target)``: logits of shape ``(..., C)``, integer targets
    of shape ``(...)``; returns a Python float.
    """

    def __init__(self, ignore_index: int | None = None, label_smoothing: float = 0.0):
        super().__init__()
        if ignore_index is not None and (isinstance(ignore_index, bool)
                                         or not isinstance(ignore_index, (int, numpy.integer))):
            raise TypeError(f"SoftmaxCrossEntropy: ignore_index must be an int or None, "
                            f"got {ignore_index!r}.")
        if isinstance(label_smoothing, (bool, numpy.bool_)) \
                or not isinstance(label_smoothing, Real) or not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"SoftmaxCrossEntropy: label_smoothing must be in [0, 1), "
                             f"got {label_smoothing!r}.")
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.label_smoothing = float(label_smoothing)
        self._cache = None

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing:g}"

    def forward(self, logits, target) -> float:
        logits = _float_pred("SoftmaxCrossEntropy", logits, "logits")
        target = _on_backend(target)
        if numpy.dtype(target.dtype).kind not in "iu":
            raise TypeError(
                "SoftmaxCrossEntropy: target must hold integer class labels, got dtype "
                f"{target.dtype} (convert with y.astype(int))."
            )
        if logits.ndim < 1 or tuple(target.shape) != tuple(logits.shape[:-1]):
            raise ValueError(
                f"SoftmaxCrossEntropy: logits of shape (..., C) need targets of shape (...); "
                f"got logits {tuple(logits.shape)} and targets {tuple(target.shape)} "
                f"(expected targets {tuple(logits.shape[:-1])})."
            )
        mod = array_module(logits)
        C = logits.shape[-1]
        z = logits.reshape(-1, C)
        t = target.reshape(-1)
        mask = None
        if self.ignore_index is not None:
            mask = t != self.ignore_index
            t = mod.where(mask, t, 0)
            count = int(mask.sum())
        else:
            count = t.shape[0]
        if t.size and (int(t.min()) < 0 or int(t.max()) >= C):
            bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
            ignored = ("" if self.ignore_index is None
                       else f" (ignore_index={self.ignore_index} is the only other value)")
            raise ValueError(
                f"SoftmaxCrossEntropy: target {bad} is not a class index in [0, {C}){ignored}; "
                "set ignore_index for padding labels."
            )
        rows = mod.arange(z.shape[0])
        shifted = z - z.max(axis=1, keepdims=True)
        e = mod.exp(shifted)
        s = e.sum(axis=1)
        log_s = mod.log(s)
        eps = self.label_smoothing
        nll = log_s - shifted[rows, t]                     # -log p_t
        if eps:
            mean_neg_logp = log_s - shifted.mean(axis=1)   # -(1/C) sum_c log p_c
            nll = (1 - eps) * nll + eps * mean_neg_logp
        if mask is not None:
            nll = nll * mask
        e /= s[:, None]                                    # p = softmax(z)
        self._cache = (e, rows, t, mask, count, logits.shape)
        return float(nll.sum()) / count if count else 0.0

    def backward(self, dout=1.0):
        if self._cache is None:
            raise _no_forward("SoftmaxCrossEntropy")
        p, rows, t, mask, count, shape = self._cache
        dout = _scalar_dout("SoftmaxCrossEntropy", dout)
        if count == 0:
            return array_module(p).zeros(shape, dtype=p.dtype)
        scale = float(dout) / count
        eps = self.label_smoothing
        d = p * scale                                       # (p - q) / count
        d[rows, t] -= (1 - eps) * scale
        if eps:
            d -= eps / p.shape[1] * scale
        if mask is not None:
            d *= mask[:, None]
        return d.reshape(shape)


class MSELoss(Module):
    r"""Mean squared error :math:`L = \frac1n \sum_i (\hat y_i - y_i)^2` over all entries.

    :math:`\partial L / \partial \hat y = \tfrac2n (\hat y - y)` (Legendre 1805
    and Gauss 1809's least squares). Same as PyTorch's ``MSELoss()``.
    """

    def __init__(self):
        super().__init__()
        self._diff = None

    def forward(self, pred, target) -> float:
        pred = _float_pred("MSELoss", pred)
        target = _real_target("MSELoss", target)
        if tuple(target.shape) != tuple(pred.shape):
            raise ValueError(
                f"MSELoss: predictions {tuple(pred.shape)} and targets {tuple(target.shape)} "
                "must have the same shape (reshape y, e.g. y.reshape(-1, 1))."
            )
        self._diff = pred - target.astype(pred.dtype, copy=False)
        d = self._diff.reshape(-1)
        return float(d @ d) / max(d.size, 1)

    def backward(self, dout=1.0):
        if self._diff is None:
            raise _no_forward("MSELoss")
        dout = _scalar_dout("MSELoss", dout)
        return self._diff * (2.0 * dout / max(self._diff.size, 1))


class BCEWithLogits(Module):
    r"""Binary cross-entropy on logits, stable: mean over all entries of

    .. math:: \ell(z, y) = -y \log\sigma(z) - (1-y)\log(1-\sigma(z))
              = \max(z, 0) - z y + \log(1 + e^{-|z|}),

    with :math:`\partial \ell / \partial z = \sigma(z) - y`. Targets are 0/1
    labels or probabilities in :math:`[0, 1]` (anything else is an error),
    same shape as the logits (PyTorch's ``BCEWithLogitsLoss``).
    """

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, logits, target) -> float:
        z = _float_pred("BCEWithLogits", logits, "logits")
        y = _real_target("BCEWithLogits", target)
        if tuple(y.shape) != tuple(z.shape):
            raise ValueError(
                f"BCEWithLogits: logits {tuple(z.shape)} and targets {tuple(y.shape)} must "
                "have the same shape (reshape y, e.g. y.reshape(-1, 1))."
            )
        mod = array_module(z)
        y = y.astype(z.dtype, copy=False)
        if y.size and (float(y.min()) < 0.0 or float(y.max()) > 1.0):
            bad = float(y.min()) if float(y.min()) < 0.0 else float(y.max())
            raise ValueError(
                f"BCEWithLogits: target {bad:g} is outside [0, 1]; targets are 0/1 labels or "
                "probabilities (map labels -1/+1 to 0/1 with (y + 1) / 2)."
            )
        loss = mod.maximum(z, 0) - z * y + mod.log1p(mod.exp(-mod.abs(z)))
        self._cache = (z, y)
        return float(loss.sum()) / max(z.size, 1)

    def backward(self, dout=1.0):
        if self._cache is None:
            raise _no_forward("BCEWithLogits")
        z, y = self._cache
        dout = _scalar_dout("BCEWithLogits", dout)
        return (sigmoid(z) - y) * (dout / max(z.size, 1))

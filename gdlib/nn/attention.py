r"""Attention: a learned, soft look-up of the keys that matter for a query.

Given a query :math:`q` (the decoder's state) and keys :math:`k_1, \dots, k_S`
(the encoder's outputs), attention scores every key, turns the scores into
weights with a softmax, and returns the weighted average of the keys, the
*context*:

.. math:: e_s = \mathrm{score}(q, k_s), \qquad
          \alpha_s = \frac{\exp e_s}{\sum_{s'} \exp e_{s'}}, \qquad
          c = \sum_s \alpha_s k_s .

Padding positions (``mask`` False) get :math:`e_s = -\infty`, hence weight 0.
The two scores here are Bahdanau, Cho and Bengio's (2015) additive score
(:class:`AdditiveAttention`) and Luong, Pham and Manning's (2015) dot and
"general" scores (:class:`DotAttention`).

Backward through the softmax, with :math:`\bar c = \partial L/\partial c`:

.. math:: \bar\alpha_s = \bar c \cdot k_s, \qquad
          \bar e_s = \alpha_s (\bar\alpha_s - \textstyle\sum_{s'} \alpha_{s'} \bar\alpha_{s'}),
          \qquad \partial L/\partial k_s \mathrel{+}= \alpha_s \bar c,

then through the score.

Both layers accept one query per sequence, ``query (N, Hq)`` (the contract),
or a block of queries at once, ``query (N, Tq, Hq)`` (a decoder's every step
under teacher forcing); the context then has shape ``(N, Tq, Hk)`` and
:attr:`weights` ``(N, Tq, S)``.
"""

from __future__ import annotations

import math

import numpy

from ..backend import xp
from . import init as _init
from .layers import check_finite
from .module import Module, resolve_dtype
from .recurrent import _as_mask, _blas_one_thread, _on_backend, _positive_int

__all__ = ["AdditiveAttention", "DotAttention", "masked_softmax"]


def masked_softmax(scores, mask=None):
    """Softmax over the last axis of ``scores`` (N, ..., S); ``mask`` (N, S) False -> 0."""
    if mask is not None:
        m = mask.reshape(mask.shape[0], *([1] * (scores.ndim - 2)), mask.shape[1])
        scores = xp.where(m, scores, -xp.inf)
    z = scores - scores.max(axis=-1, keepdims=True)
    w = xp.exp(z)
    w /= w.sum(axis=-1, keepdims=True)
    return w


class _Attention(Module):
    """Input checks, the softmax and the weighted sum shared by both scores."""

    _name = "Attention"

    def __init__(self):
        super().__init__()
        self.weights = None
        self._cache = None

    def _inputs(self, query, keys, mask):
        name = self._name
        query, keys = _on_backend(query), _on_backend(keys)
        if not hasattr(keys, "ndim") or keys.ndim != 3:
            raise ValueError(
                f"{name}: keys must have shape (N, S, Hk), got {tuple(getattr(keys, 'shape', ()))}."
            )
        N, S, _ = keys.shape
        if not hasattr(query, "ndim") or query.ndim not in (2, 3) or query.shape[0] != N:
            raise ValueError(
                f"{name}: query must have shape (N, Hq) or (N, Tq, Hq) with N = {N} like the "
                f"keys, got {tuple(getattr(query, 'shape', ()))}."
            )
        for what, a in (("query", query), ("keys", keys)):
            if numpy.dtype(a.dtype).kind != "f":
                raise TypeError(f"{name}: {what} must be a float array, got dtype {a.dtype}.")
            check_finite(name, what, a)
        mask = _as_mask(name, mask, (N, S))
        if mask is not None and not bool(mask.any(axis=1).all()):
            raise ValueError(f"{name}: every sequence needs at least one True in mask.")
        single = query.ndim == 2
        q = query[:, None, :] if single else query          # (N, Tq, Hq)
        return q, keys, mask, single

    def _attend(self, scores, keys, mask, single):
        w = masked_softmax(scores, mask)                    # (N, Tq, S)
        ctx = w @ keys                                       # (N, Tq, Hk)
        self.weights = w[:, 0] if single else w
        return w, (ctx[:, 0] if single else ctx)

    def _softmax_backward(self, dctx, w, keys, single):
        """Return (d scores, d keys from the weighted sum)."""
        if single:
            dctx = dctx[:, None, :]
        dw = dctx @ keys.transpose(0, 2, 1)                  # d alpha_s = dc . k_s
        dkeys = w.transpose(0, 2, 1) @ dctx                  # alpha_s dc
        ds = w * (dw - (w * dw).sum(axis=-1, keepdims=True))  # softmax backward
        return ds, dkeys

    def _no_forward(self):
        return RuntimeError(f"{self._name}.backward was called before forward: run forward first.")


class DotAttention(_Attention):
    r"""Luong, Pham and Manning's (2015) multiplicative attention.

    .. math:: e_s = q \cdot k_s \ \text{(dot)}, \qquad
              e_s = q\, W_a\, k_s \ \text{(general)}, \qquad
              \text{optionally divided by } \sqrt{H_k}

    ``DotAttention()`` is the parameter-free dot score (query and keys of the
    same size). ``DotAttention(query_size, key_size)`` is the "general" score
    with a learned ``W_a`` of shape ``(query_size, key_size)``, which lets the
    query and the keys live in different spaces. ``scaled=True`` divides by
    :math:`\sqrt{H_k}` as Vaswani et al. (2017) later did.

    Parameters
    ----------
    query_size, key_size : int, optional
        Both or neither; given, the score is "general".
    scaled : bool, default False
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    ``forward(query, keys, mask=None) -> context``; :attr:`weights` (N, S);
    ``backward(dcontext) -> (dquery, dkeys)``.
    """

    _name = "DotAttention"

    def __init__(self, query_size: int | None = None, key_size: int | None = None,
                 scaled: bool = False, rng=None, dtype=None):
        super().__init__()
        if (query_size is None) != (key_size is None):
            raise ValueError("DotAttention: give both query_size and key_size (the 'general' "
                             "score) or neither (the plain dot score).")
        self.general = query_size is not None
        self.scaled = bool(scaled)
        self.query_size = self.key_size = None
        if self.general:
            self.query_size = _positive_int("DotAttention", "query_size", query_size)
            self.key_size = _positive_int("DotAttention", "key_size", key_size)
            limit = 1.0 / math.sqrt(self.key_size)
            self.add_param("W", _init.uniform((self.query_size, self.key_size), limit,
                                              _init.as_generator(rng), resolve_dtype(dtype)))

    def extra_repr(self) -> str:
        if self.general:
            return f"{self.query_size}, {self.key_size}, scaled={self.scaled}"
        return f"scaled={self.scaled}"

    @_blas_one_thread
    def forward(self, query, keys, mask=None):
        q, keys, mask, single = self._inputs(query, keys, mask)
        Hk = keys.shape[2]
        if self.general:
            if q.shape[2] != self.query_size or Hk != self.key_size:
                raise ValueError(
                    f"DotAttention({self.query_size}, {self.key_size}): got queries of size "
                    f"{q.shape[2]} and keys of size {Hk}."
                )
            qk = q @ self.params["W"]                        # q W_a, (N, Tq, Hk)
        else:
            if q.shape[2] != Hk:
                raise ValueError(
                    f"DotAttention: the dot score needs queries and keys of one size, got "
                    f"{q.shape[2]} and {Hk}; use DotAttention(query_size, key_size) instead."
                )
            qk = q
        scale = 1.0 / math.sqrt(Hk) if self.scaled else 1.0
        scores = qk @ keys.transpose(0, 2, 1)                # (N, Tq, S)
        if self.scaled:
            scores *= scale
        w, ctx = self._attend(scores, keys, mask, single)
        self._cache = (q, qk, keys, w, single, scale)
        return ctx

    @_blas_one_thread
    def backward(self, dcontext):
        if self._cache is None:
            raise self._no_forward()
        q, qk, keys, w, single, scale = self._cache
        ds, dkeys = self._softmax_backward(dcontext, w, keys, single)
        if self.scaled:
            ds = ds * scale
        dqk = ds @ keys                                      # (N, Tq, Hk)
        dkeys += ds.transpose(0, 2, 1) @ qk                  # e = qk . k_s
        if self.general:
            Hq = q.shape[2]
            self.grads["W"] += q.reshape(-1, Hq).T @ dqk.reshape(-1, dqk.shape[2])
            dq = dqk @ self.params["W"].T
        else:
            dq = dqk
        return (dq[:, 0] if single else dq), dkeys


class AdditiveAttention(_Attention):
    r"""Bahdanau, Cho and Bengio's (2015) additive attention.

    .. math:: e_s = v^\top \tanh(q\, W_q + k_s W_k)

    a one-hidden-layer network of ``attn_size`` units scores each
    (query, key) pair.

    Parameters
    ----------
    query_size, key_size, attn_size : int
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    ``forward(query, keys, mask=None) -> context``; :attr:`weights` (N, S);
    ``backward(dcontext) -> (dquery, dkeys)``. Parameters ``W_q`` (Hq, A),
    ``W_k`` (Hk, A), ``v`` (A,), Glorot uniform.
    """

    _name = "AdditiveAttention"

    def __init__(self, query_size: int, key_size: int, attn_size: int, rng=None, dtype=None):
        super().__init__()
        self.query_size = _positive_int("AdditiveAttention", "query_size", query_size)
        self.key_size = _positive_int("AdditiveAttention", "key_size", key_size)
        self.attn_size = _positive_int("AdditiveAttention", "attn_size", attn_size)
        gen, dt = _init.as_generator(rng), resolve_dtype(dtype)
        A = self.attn_size
        self.add_param("W_q", _init.glorot_uniform((self.query_size, A), self.query_size, A,
                                                   gen, dt))
        self.add_param("W_k", _init.glorot_uniform((self.key_size, A), self.key_size, A, gen, dt))
        self.add_param("v", _init.glorot_uniform((A,), A, 1, gen, dt))

    def extra_repr(self) -> str:
        return f"{self.query_size}, {self.key_size}, {self.attn_size}"

    @_blas_one_thread
    def forward(self, query, keys, mask=None):
        q, keys, mask, single = self._inputs(query, keys, mask)
        if q.shape[2] != self.query_size or keys.shape[2] != self.key_size:
            raise ValueError(
                f"AdditiveAttention({self.query_size}, {self.key_size}, {self.attn_size}): got "
                f"queries of size {q.shape[2]} and keys of size {keys.shape[2]}."
            )
        p = self.params
        uq = q @ p["W_q"]                                    # (N, Tq, A)
        uk = keys @ p["W_k"]                                 # (N, S, A)
        Tanh = xp.tanh(uq[:, :, None, :] + uk[:, None, :, :])  # (N, Tq, S, A)
        scores = Tanh @ p["v"]                               # (N, Tq, S)
        w, ctx = self._attend(scores, keys, mask, single)
        self._cache = (q, keys, Tanh, w, single)
        return ctx

    @_blas_one_thread
    def backward(self, dcontext):
        if self._cache is None:
            raise self._no_forward()
        q, keys, Tanh, w, single = self._cache
        p, A = self.params, self.attn_size
        ds, dkeys = self._softmax_backward(dcontext, w, keys, single)
        self.grads["v"] += xp.einsum("nts,ntsa->a", ds, Tanh)    # e = Tanh . v
        dpre = ds[..., None] * p["v"] * (1.0 - Tanh * Tanh)      # through tanh
        duq = dpre.sum(axis=2)                               # (N, Tq, A)
        duk = dpre.sum(axis=1)                               # (N, S, A)
        self.grads["W_q"] += q.reshape(-1, q.shape[2]).T @ duq.reshape(-1, A)
        self.grads["W_k"] += keys.reshape(-1, keys.shape[2]).T @ duk.reshape(-1, A)
        dq = duq @ p["W_q"].T
        dkeys += duk @ p["W_k"].T
        return (dq[:, 0] if single else dq), dkeys

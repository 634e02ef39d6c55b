r"""A decoder-only transformer: causal self-attention, pre-LN blocks, a GPT-style model.

Self-attention (Vaswani et al., 2017) lets every position of a sequence look
up the positions it needs. Each position :math:`t` emits a query
:math:`q_t`, a key :math:`k_t` and a value :math:`v_t` (three linear maps of
its vector :math:`x_t`); the output at :math:`t` is an average of the values,
weighted by how well the query matches each key:

.. math:: \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\Big(\frac{Q K^\top}{\sqrt{d_k}}
          + M\Big) V, \qquad M_{ts} = \begin{cases} 0 & s \le t \\ -\infty & s > t
          \end{cases}

The mask :math:`M` makes the model *causal*: position :math:`t` sees only
positions :math:`s \le t`, so the output at :math:`t` may predict token
:math:`t+1` without having seen it. Dividing by :math:`\sqrt{d_k}` keeps the
scores of order 1 whatever the head size. :math:`H` heads run side by side
on slices of size :math:`d_k = D/H` of one fused query-key-value projection,
as one batched matrix product over arrays of shape ``(N, H, T, d_k)``.

A *pre-LN* block (Xiong et al., 2020; as GPT-2, Radford et al., 2019) puts
the layer normalisation before each sub-layer, inside the residual branch:

.. math:: h = x + \mathrm{Attn}(\mathrm{LN}_1(x)), \qquad
          y = h + W_2\, \mathrm{GELU}(W_1\, \mathrm{LN}_2(h)),

which keeps an identity path from the loss to every layer and trains
without the careful warm-up the original post-LN form needs.

:class:`GPT` stacks such blocks over token and learned position embeddings
and ends with a final layer normalisation and a linear head (optionally tied
to the token embedding) that gives the logits of the next token (Radford et
al., 2018, 2019). Karpathy's nanoGPT (2022) is a compact modern reference
implementation of the same model in PyTorch.

Backward through the attention, with :math:`\bar O = \partial L/\partial O`
and :math:`A` the attention weights:

.. math:: \bar V = A^\top \bar O, \quad \bar A = \bar O V^\top, \quad
          \bar S = A \odot (\bar A - \textstyle\sum_s A \odot \bar A), \quad
          \bar Q = \bar S K / \sqrt{d_k}, \quad \bar K = \bar S^\top Q / \sqrt{d_k}.

:class:`OptimizerGroups` steps several optimizers over disjoint parts of one
dictionary of parameters, e.g. Muon on the hidden weight matrices and AdamW on
the rest (:func:`muon_adamw`), as Jordan et al. (2024) and Liu et al. (2025)
train transformers.
"""

from __future__ import annotations

import math

import numpy

from ..backend import asarray, to_host, xp
from ..optim.base import check_int, check_lr, check_nonnegative, check_real
from . import init as _init
from .layers import GELU, Dense, _no_forward, check_dout, softmax
from .module import Module, resolve_dtype
from .normalization import LayerNorm
from .recurrent import Embedding, _as_ids, _blas_one_thread, _positive_int

__all__ = [
    "split_heads", "merge_heads", "causal_mask", "causal_attention",
    "CausalSelfAttention", "TransformerBlock", "GPT", "OptimizerGroups", "muon_adamw",
    "muon_param_names", "wsd_schedule", "lm_loss_and_grad", "train_lm",
]


# ----------------------------------------------------------------------------
# The pieces as functions


def split_heads(x, n_heads: int):
    """``(N, T, D)`` -> ``(N, H, T, D/H)``: each head gets its own slice of the features."""
    N, T, D = x.shape
    return x.reshape(N, T, n_heads, D // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    """``(N, H, T, d)`` -> ``(N, T, H d)``: the heads' outputs side by side again."""
    N, H, T, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(N, T, H * d)


_MASKS: dict = {}


def causal_mask(T: int, dtype="float32"):
    r"""The additive mask :math:`M` of shape ``(T, T)``: 0 on and below the diagonal, -inf above.

    Row :math:`t` is the query position, column :math:`s` the key position; a
    query may look at keys :math:`s \le t` only. Cached per ``(T, dtype)``.
    """
    key = (int(T), numpy.dtype(dtype).str, xp.__name__)
    m = _MASKS.get(key)
    if m is None:
        m = numpy.triu(numpy.full((T, T), -numpy.inf, dtype=dtype), k=1)
        m = _MASKS[key] = asarray(m)
    return m


def causal_attention(q, k, v):
    r"""Causal scaled dot-product attention; returns ``(output, weights)``.

    .. math:: A = \mathrm{softmax}\big(q k^\top / \sqrt{d_k} + M\big), \qquad O = A v

    Parameters
    ----------
    q, k, v : arrays of shape ``(..., T, d_k)``
        Queries, keys and values (leading axes: batch and heads).

    Returns
    -------
    output : array ``(..., T, d_k)``
    weights : array ``(..., T, T)``
        Row :math:`t` sums to 1 and is zero after column :math:`t`.
    """
    d = q.shape[-1]
    scores = q @ k.swapaxes(-1, -2)                  # (..., T, T): q_t . k_s
    scores *= 1.0 / math.sqrt(d)                     # keep the scores of order 1
    scores += causal_mask(q.shape[-2], scores.dtype)  # no look at s > t
    w = softmax(scores, axis=-1)                     # over the keys s
    return w @ v, w


# ----------------------------------------------------------------------------
# Layers


def _check_input(owner: str, x, d_model: int, dtype):
    x = asarray(x) if isinstance(x, numpy.ndarray) else x
    if not hasattr(x, "ndim") or x.ndim != 3 or x.shape[2] != d_model:
        raise ValueError(f"{owner}: x must have shape (N, T, {d_model}), got "
                         f"{tuple(getattr(x, 'shape', ()))}.")
    return x


class CausalSelfAttention(Module):
    r"""Multi-head causal self-attention with a fused query-key-value projection.

    .. math:: [Q\,K\,V] = x W_{qkv} + b_{qkv}, \qquad
              O_h = \mathrm{softmax}\big(Q_h K_h^\top/\sqrt{d_k} + M\big) V_h, \qquad
              y = [O_1 \dots O_H]\, W_o + b_o

    Parameters
    ----------
    d_model : int
        Feature size :math:`D`.
    n_heads : int
        Number of heads :math:`H`; must divide ``d_model``.
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    Sub-layers ``qkv = Dense(D, 3D)`` and ``proj = Dense(D, D)``.
    ``forward(x (N, T, D)) -> (N, T, D)``; :attr:`weights` ``(N, H, T, T)``
    after a forward pass; ``backward(dout) -> dx``.
    """

    def __init__(self, d_model: int, n_heads: int, rng=None, dtype=None):
        super().__init__()
        self.d_model = _positive_int("CausalSelfAttention", "d_model", d_model)
        self.n_heads = _positive_int("CausalSelfAttention", "n_heads", n_heads)
        if self.d_model % self.n_heads:
            raise ValueError(f"CausalSelfAttention: n_heads={n_heads} must divide "
                             f"d_model={d_model} (each head gets d_model / n_heads features).")
        gen = _init.as_generator(rng)
        self.dtype = resolve_dtype(dtype)
        self.qkv = Dense(self.d_model, 3 * self.d_model, rng=gen, dtype=dtype)
        self.proj = Dense(self.d_model, self.d_model, rng=gen, dtype=dtype)
        self.weights = None
        self._cache = None

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}"

    @_blas_one_thread
    def forward(self, x):
        x = _check_input("CausalSelfAttention", x, self.d_model, self.dtype)
        N, T, D = x.shape
        H, d = self.n_heads, D // self.n_heads
        qkv = self.qkv.forward(x)                                   # (N, T, 3D)
        qkv = qkv.reshape(N, T, 3, H, d).transpose(2, 0, 3, 1, 4)   # (3, N, H, T, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        out, w = causal_attention(q, k, v)                          # (N, H, T, d), (N, H, T, T)
        self.weights = w
        self._cache = (q, k, v, w)
        return self.proj.forward(merge_heads(out))

    @_blas_one_thread
    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("CausalSelfAttention")
        q, k, v, w = self._cache
        N, H, T, d = q.shape
        dout = check_dout("CausalSelfAttention", dout, (N, T, H * d))
        do = split_heads(self.proj.backward(dout), H)               # dL/dO (N, H, T, d)
        dv = w.swapaxes(-1, -2) @ do                                # A^T dO
        dw = do @ v.swapaxes(-1, -2)                                # dO V^T
        ds = w * (dw - (w * dw).sum(axis=-1, keepdims=True))        # softmax backward
        ds *= 1.0 / math.sqrt(d)                                    # masked entries: w = 0
        dqkv = xp.empty((N, T, 3, H, d), dtype=q.dtype)             # the layout of the qkv output
        dqkv[:, :, 0] = (ds @ k).transpose(0, 2, 1, 3)              # dQ = dS K
        dqkv[:, :, 1] = (ds.swapaxes(-1, -2) @ q).transpose(0, 2, 1, 3)   # dK = dS^T Q
        dqkv[:, :, 2] = dv.transpose(0, 2, 1, 3)
        return self.qkv.backward(dqkv.reshape(N, T, 3 * H * d))


class TransformerBlock(Module):
    r"""A pre-LN transformer block (Xiong et al., 2020).

    .. math:: h = x + \mathrm{Attn}(\mathrm{LN}_1(x)), \qquad
              y = h + \mathrm{fc}_2\big(\mathrm{GELU}(\mathrm{fc}_1(\mathrm{LN}_2(h)))\big)

    Parameters
    ----------
    d_model, n_heads : int
    mlp_ratio : int, default 4
        The MLP's hidden size is ``mlp_ratio * d_model``.
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional
    """

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int = 4, rng=None, dtype=None):
        super().__init__()
        gen = _init.as_generator(rng)
        self.d_model = _positive_int("TransformerBlock", "d_model", d_model)
        hidden = _positive_int("TransformerBlock", "mlp_ratio", mlp_ratio) * self.d_model
        self.ln1 = LayerNorm(self.d_model, dtype=dtype)
        self.attn = CausalSelfAttention(self.d_model, n_heads, rng=gen, dtype=dtype)
        self.ln2 = LayerNorm(self.d_model, dtype=dtype)
        self.fc1 = Dense(self.d_model, hidden, rng=gen, dtype=dtype)
        self.act = GELU()
        self.fc2 = Dense(hidden, self.d_model, rng=gen, dtype=dtype)
        self._shape = None

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.attn.n_heads}, " \
               f"mlp={self.fc1.out_features}"

    def forward(self, x):
        x = _check_input("TransformerBlock", x, self.d_model, None)
        h = x + self.attn.forward(self.ln1.forward(x))              # attention sub-layer
        y = h + self.fc2.forward(self.act.forward(self.fc1.forward(self.ln2.forward(h))))
        self._shape = y.shape
        return y

    def backward(self, dout):
        if self._shape is None:
            raise _no_forward("TransformerBlock")
        dout = check_dout("TransformerBlock", dout, self._shape)
        dh = dout + self.ln2.backward(self.fc1.backward(self.act.backward(
            self.fc2.backward(dout))))                              # residual + MLP branch
        return dh + self.ln1.backward(self.attn.backward(dh))       # residual + attention


class GPT(Module):
    r"""A decoder-only transformer language model (Radford et al., 2018, 2019).

    .. math:: x_t = E[w_t] + P_t, \qquad h = \mathrm{Block}_L \circ \dots \circ
              \mathrm{Block}_1(x), \qquad \mathrm{logits}_t = \mathrm{LN}_f(h_t)\, W_{head}

    and :math:`p(w_{t+1} \mid w_{\le t}) = \mathrm{softmax}(\mathrm{logits}_t)`.

    Parameters
    ----------
    vocab_size : int
    block_size : int
        The longest context (number of learned positions).
    d_model : int, default 64
    n_heads : int, default 4
    n_layers : int, default 2
    mlp_ratio : int, default 4
    tie_weights : bool, default False
        Use the token embedding as the head, :math:`W_{head} = E^\top`
        (Press and Wolf, 2017), instead of a separate ``head`` matrix.
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    ``forward(ids (N, T)) -> logits (N, T, vocab_size)`` with ``T <= block_size``;
    ``backward(dlogits)`` returns ``None``. Token and position embeddings start
    normal with standard deviation 0.02, as in GPT-2. Parameter names:
    ``tok.W``, ``pos``, ``blocks.i.*``, ``ln_f.*`` and ``head.W`` (untied).
    """

    def __init__(self, vocab_size: int, block_size: int, d_model: int = 64, n_heads: int = 4,
                 n_layers: int = 2, mlp_ratio: int = 4, tie_weights: bool = False, rng=None,
                 dtype=None):
        super().__init__()
        if not isinstance(tie_weights, (bool, numpy.bool_)):
            raise TypeError(f"GPT: tie_weights must be True or False, got {tie_weights!r}.")
        gen = _init.as_generator(rng)
        self.vocab_size = _positive_int("GPT", "vocab_size", vocab_size)
        self.block_size = _positive_int("GPT", "block_size", block_size)
        self.d_model = _positive_int("GPT", "d_model", d_model)
        n_layers = _positive_int("GPT", "n_layers", n_layers)
        self.tie_weights = bool(tie_weights)
        self.dtype = resolve_dtype(dtype)
        self.tok = Embedding(self.vocab_size, self.d_model, rng=gen, dtype=dtype)
        self.tok.params["W"] *= 0.02
        self.add_param("pos", asarray((0.02 * gen.standard_normal(
            (self.block_size, self.d_model))).astype(self.dtype)))
        self.blocks = [TransformerBlock(self.d_model, n_heads, mlp_ratio, rng=gen, dtype=dtype)
                       for _ in range(n_layers)]
        self.ln_f = LayerNorm(self.d_model, dtype=dtype)
        self.head = None if self.tie_weights else Dense(self.d_model, self.vocab_size,
                                                        bias=False, rng=gen, dtype=dtype)
        self._cache = None

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
                f"d_model={self.d_model}, n_layers={len(self.blocks)}, "
                f"tie_weights={self.tie_weights}")

    def _ids(self, ids):
        ids = _as_ids("GPT", ids, self.vocab_size)
        if ids.ndim == 1:
            ids = ids[None, :]
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise ValueError(f"GPT: ids must have shape (N, T) with T >= 1, got "
                             f"{tuple(ids.shape)}.")
        if ids.shape[1] > self.block_size:
            raise ValueError(f"GPT: the context has {ids.shape[1]} tokens but block_size is "
                             f"{self.block_size}; crop it to the last {self.block_size} tokens "
                             "(generate does).")
        return ids

    @_blas_one_thread
    def forward(self, ids):
        ids = self._ids(ids)
        T = ids.shape[1]
        x = self.tok.forward(ids) + self.params["pos"][:T]          # tokens + positions
        for block in self.blocks:
            x = block.forward(x)
        h = self.ln_f.forward(x)
        if self.tie_weights:
            self._cache = (h, T)
            return h @ self.tok.params["W"].T                       # logits = h E^T
        self._cache = (None, T)
        return self.head.forward(h)

    @_blas_one_thread
    def backward(self, dlogits):
        if self._cache is None:
            raise _no_forward("GPT")
        h, T = self._cache
        if self.tie_weights:
            dlogits = check_dout("GPT", dlogits, (*h.shape[:2], self.vocab_size))
            V, D = self.vocab_size, self.d_model
            self.tok.grads["W"] += dlogits.reshape(-1, V).T @ h.reshape(-1, D)
            dh = dlogits @ self.tok.params["W"]
        else:
            dh = self.head.backward(dlogits)
        dx = self.ln_f.backward(dh)
        for block in reversed(self.blocks):
            dx = block.backward(dx)
        self.grads["pos"][:T] += dx.sum(axis=0)                     # same P_t in every row
        self.tok.backward(dx)
        return None

    def generate(self, prompt, n: int, temperature: float = 1.0, rng=None, top_k=None):
        r"""Sample ``n`` tokens after ``prompt``, one at a time.

        Each new token is drawn from :math:`\mathrm{softmax}(\mathrm{logits}/\tau)`
        at the last position, with :math:`\tau` = ``temperature`` (small: nearly
        the most likely token; 1: the model's distribution; large: more random);
        ``top_k`` keeps only the ``k`` most likely tokens. The context is cropped
        to the last ``block_size`` tokens.

        Returns
        -------
        numpy.ndarray of int
            The prompt followed by the ``n`` new tokens.
        """
        n = check_int("n", n, minimum=0)
        temperature = check_real("temperature", temperature, low=0.0, low_open=True)
        if top_k is not None:
            top_k = _positive_int("GPT.generate", "top_k", top_k)
        if numpy.size(to_host(prompt) if hasattr(prompt, "shape") else prompt) == 0:
            raise ValueError("GPT.generate: prompt needs at least one token.")
        ids = [int(i) for i in numpy.asarray(to_host(_as_ids("GPT.generate", prompt,
                                                              self.vocab_size))).reshape(-1)]
        gen = _init.as_generator(rng)
        for _ in range(n):
            ctx = numpy.asarray(ids[-self.block_size:], dtype=numpy.int64)[None, :]
            logits = numpy.asarray(to_host(self.forward(ctx)[0, -1]), dtype=float) / temperature
            if top_k is not None and top_k < logits.size:
                cut = numpy.sort(logits)[-top_k]
                logits = numpy.where(logits < cut, -numpy.inf, logits)
            p = numpy.exp(logits - logits.max())
            ids.append(int(gen.choice(p.size, p=p / p.sum())))
        self._cache = None
        return numpy.asarray(ids, dtype=numpy.int64)


# ----------------------------------------------------------------------------
# Two optimizers over one model


class OptimizerGroups:
    r"""Several optimizers, each on its own part of one dict of parameters, stepped together.

    ``step(grads)`` hands each optimizer the gradients of its parameters (by
    key). ``lr`` is a common *factor* (1 at the start) that multiplies each
    optimizer's own base rate, so one schedule from :mod:`gdlib.schedules`
    (warm-up, cosine...) drives every group. Every group's gradients are
    checked before any group steps.

    Parameters
    ----------
    params : dict of arrays
        All the parameters (``model.parameters()``).
    groups : list of (list of str, callable)
        For each group its keys and a factory ``params_dict -> Optimizer``,
        e.g. ``(["blocks.0.fc1.W"], lambda p: Muon(p, lr=0.02))``. Every key
        must be in exactly one group.

    Attributes
    ----------
    optimizers : list of Optimizer
    params : list of arrays
        Every parameter, in group order (what :func:`gdlib.train.train` checks).
    """

    def __init__(self, params, groups):
        if not isinstance(params, dict):
            raise TypeError(f"OptimizerGroups: params must be a dict name -> array "
                            f"(model.parameters()), got {type(params).__name__}.")
        seen: dict = {}
        self.optimizers, self._keys = [], []
        for i, group in enumerate(groups):
            try:
                keys, factory = group
            except (TypeError, ValueError):
                raise TypeError(f"OptimizerGroups: groups[{i}] must be a pair (keys, factory), "
                                f"got {group!r}.") from None
            keys = [keys] if isinstance(keys, str) else list(keys)
            for k in keys:
                if k not in params:
                    raise KeyError(f"OptimizerGroups: groups[{i}] names {k!r}, which is not a "
                                   "parameter.")
                if k in seen:
                    raise ValueError(f"OptimizerGroups: {k!r} is in groups[{seen[k]}] and "
                                     f"groups[{i}]; give each parameter to one optimizer.")
                seen[k] = i
            if keys:
                self.optimizers.append(factory({k: params[k] for k in keys}))
                self._keys.append(keys)
        missing = [k for k in params if k not in seen]
        if missing:
            raise ValueError(f"OptimizerGroups: no group holds {missing}; every parameter needs "
                             "an optimizer.")
        self.params = [p for opt in self.optimizers for p in opt.params]
        self.base_lrs = [float(opt.lr) for opt in self.optimizers]
        self._lr = 1.0

    @property
    def lr(self) -> float:
        """The common factor on every group's base learning rate."""
        return self._lr

    @lr.setter
    def lr(self, value):
        value = check_lr(value)
        for opt, base in zip(self.optimizers, self.base_lrs):
            opt.lr = base * value
        self._lr = value

    @property
    def t(self) -> int:
        """Steps taken."""
        return self.optimizers[0].t if self.optimizers else 0

    def step(self, grads) -> None:
        """One step of every optimizer on its own gradients (all checked first)."""
        if not isinstance(grads, dict):
            raise TypeError(f"OptimizerGroups.step: grads must be a dict like the parameters, "
                            f"got {type(grads).__name__}.")
        parts = []
        for opt, keys in zip(self.optimizers, self._keys):
            missing = [k for k in keys if k not in grads]
            if missing:
                raise KeyError(f"OptimizerGroups.step: no gradient for {missing}.")
            part = {k: grads[k] for k in keys}
            opt._check_hyper()
            opt._check_grads(part)
            parts.append(part)
        for opt, part in zip(self.optimizers, parts):
            opt.step(part)

    def state_dict(self) -> dict:
        """Every group's optimizer state, with its keys and the common ``lr`` factor.

        Restore it with :meth:`load_state_dict` on groups built the same way.
        """
        return {
            "optimizer": type(self).__name__,
            "lr": self._lr,
            "base_lrs": list(self.base_lrs),
            "keys": [list(keys) for keys in self._keys],
            "groups": [opt.state_dict() for opt in self.optimizers],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` saved: all groups or, if anything does not fit, none.

        The group count, each group's keys, the ``lr`` factor and every group's
        optimizer state (by that optimizer's own checks) are checked before any
        group changes.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: state_dict must be the dict that "
                            f"state_dict() returned, got {type(state_dict).__name__}.")
        missing = [k for k in ("optimizer", "lr", "base_lrs", "keys", "groups")
                   if k not in state_dict]
        if missing:
            raise KeyError(f"{name}.load_state_dict: state_dict lacks {missing}; pass the dict "
                           "that state_dict() returned.")
        if state_dict["optimizer"] != name:
            raise ValueError(f"{name}.load_state_dict: state_dict is from "
                             f"{state_dict['optimizer']!r}, not {name}.")
        groups, keys = state_dict["groups"], state_dict["keys"]
        if (not isinstance(groups, (list, tuple)) or not isinstance(keys, (list, tuple))
                or len(groups) != len(self.optimizers) or len(keys) != len(self._keys)):
            raise ValueError(f"{name}.load_state_dict: state_dict holds a different number of "
                             f"groups than these {len(self.optimizers)}; build the groups the "
                             "same way as when it was saved.")
        for i, (saved, mine) in enumerate(zip(keys, self._keys)):
            if list(saved) != list(mine):
                raise ValueError(f"{name}.load_state_dict: group {i} was saved with keys "
                                 f"{list(saved)}, these groups have {list(mine)}.")
        base_lrs = [check_lr(v, "base_lrs") for v in state_dict["base_lrs"]]
        if len(base_lrs) != len(self.optimizers):
            raise ValueError(f"{name}.load_state_dict: base_lrs must have one rate per group "
                             f"({len(self.optimizers)}), got {len(base_lrs)}.")
        factor = check_lr(state_dict["lr"])
        for opt, saved in zip(self.optimizers, groups):
            opt._validate_state_dict(saved)      # raises before any group changes
        for opt, saved in zip(self.optimizers, groups):
            opt.load_state_dict(saved)
        self.base_lrs, self._lr = base_lrs, factor

    def __repr__(self) -> str:
        inner = ", ".join(f"{type(o).__name__}({len(k)} arrays, lr={o.lr:.3g})"
                          for o, k in zip(self.optimizers, self._keys))
        return f"OptimizerGroups({inner})"


def muon_param_names(params) -> list:
    """The names of the hidden weight matrices: 2-D, not an embedding, not the head.

    These are the ones Muon orthogonalizes (Jordan et al., 2024); embeddings,
    position tables, the head, gains and biases go to AdamW.
    """
    skip = ("tok.", "pos", "head.")
    return [k for k, p in params.items() if p.ndim == 2 and not k.startswith(skip)]


def muon_adamw(params, lr: float = 0.02, adamw_lr: float = 3e-3, weight_decay: float = 0.0,
               adamw_betas=(0.9, 0.99), momentum: float = 0.95, adjust_lr_fn="match_rms_adamw"):
    r"""Muon on the hidden matrices, AdamW on everything else, as one :class:`OptimizerGroups`.

    With the default ``adjust_lr_fn="match_rms_adamw"`` (Liu et al., 2025) each
    Muon step has about the size of an AdamW step of the same ``lr``.

    Parameters
    ----------
    params : dict of arrays
        ``model.parameters()``.
    lr : float
        Muon's learning rate.
    adamw_lr : float
        AdamW's learning rate (embeddings, position table, head, gains, biases).
    weight_decay : float, default 0
        Decoupled decay for both.
    adamw_betas : (float, float)
    momentum : float, default 0.95
    adjust_lr_fn : {None, "original", "match_rms_adamw"}
    """
    from ..optim import AdamW, Muon

    lr, adamw_lr = check_lr(lr), check_lr(adamw_lr, "adamw_lr")
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    hidden = muon_param_names(params)
    rest = [k for k in params if k not in hidden]
    return OptimizerGroups(params, [
        (hidden, lambda p: Muon(p, lr=lr, weight_decay=weight_decay, momentum=momentum,
                                adjust_lr_fn=adjust_lr_fn)),
        (rest, lambda p: AdamW(p, lr=adamw_lr, betas=adamw_betas, weight_decay=weight_decay)),
    ])


# ----------------------------------------------------------------------------
# Training a character-level model with gdlib.train.train


def wsd_schedule(optimizer, steps: int, warmup: int, decay: int, start_factor: float = 0.1):
    r"""Warm-up, stable, decay: the learning-rate factor as :class:`gdlib.schedules.SequentialLR`.

    Linear warm-up from ``start_factor`` to 1 over ``warmup`` steps (Goyal et
    al., 2017), constant until ``steps - decay``, then linear decay to 0 over the
    last ``decay`` steps (the "warmup-stable-decay" schedule of Hu et al., 2024,
    and Hägele et al., 2024). Unlike a cosine, the stable phase does not depend
    on the run's length, so a run can stop, or branch into its decay, at any step.
    """
    from ..schedules import ConstantLR, LinearLR, SequentialLR

    steps = check_int("steps", steps, minimum=2)
    warmup = check_int("warmup", warmup, minimum=1)
    decay = check_int("decay", decay, minimum=1)
    if warmup + decay > steps:
        raise ValueError(f"wsd_schedule: warmup + decay = {warmup + decay} must be at most "
                         f"steps = {steps}.")
    return SequentialLR(optimizer, [
        LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=warmup),
        ConstantLR(optimizer, factor=1.0, total_iters=steps),
        LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=decay),
    ], milestones=[warmup, steps - decay])


def lm_loss_and_grad(model, ids, batch_size: int, rng=None, loss=None):
    """A ``loss_and_grad(params, batch)`` for :func:`gdlib.train.train` that draws its own batch.

    Each call takes ``batch_size`` random windows of ``model.block_size``
    characters of ``ids`` (:func:`gdlib.data.chars.random_windows`, from the
    seeded ``rng``), runs the model forward and backward with the mean
    cross-entropy of the next character, and returns ``(loss, model.gradients())``.
    """
    from ..data.chars import random_windows
    from .losses import SoftmaxCrossEntropy

    loss = SoftmaxCrossEntropy() if loss is None else loss
    gen = _init.as_generator(rng)

    def loss_and_grad(params, batch):
        x, y = random_windows(ids, batch_size, model.block_size, gen)
        model.zero_grad()
        value = loss(model(x), y)
        model.backward(loss.backward())
        return value, model.gradients()

    return loss_and_grad


def train_lm(model, train_ids, val_ids, optimizer, steps: int, batch_size: int = 32,
             schedule=None, eval_every: int = 20, val_windows: int = 128, target=None,
             seed: int = 0, progress=None):
    r"""Train ``model`` on ``train_ids`` with :func:`gdlib.train.train`; track the validation loss.

    Every ``eval_every`` steps the mean cross-entropy on ``val_windows`` fixed
    windows of ``val_ids`` is recorded (with the wall-clock seconds spent
    training so far, evaluation excluded). With ``target``, training stops at
    the first evaluation whose loss is at most ``target``.

    Parameters
    ----------
    model : GPT
    train_ids, val_ids : 1-D int arrays
    optimizer : Optimizer, name or factory ``params -> optimizer``
        As :func:`gdlib.train.train` takes it (e.g. ``lambda p: muon_adamw(p)``).
    steps : int
        Length of the run (and of the schedule).
    batch_size : int, default 32
    schedule : optional
        See :func:`gdlib.train.make_schedule`.
    eval_every, val_windows : int
    target : float, optional
    seed : int, default 0
        Seed of the training windows (the validation windows are fixed).
    progress : bool, optional

    Returns
    -------
    dict
        ``history`` (:class:`gdlib.train.History`), ``eval_steps``,
        ``val_loss``, ``seconds`` (arrays, one entry per evaluation), and
        ``steps_to_target`` / ``seconds_to_target`` (``None`` if not reached).
    """
    import time

    from ..data.chars import random_windows
    from ..train import train
    from .losses import SoftmaxCrossEntropy

    steps = check_int("steps", steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    loss = SoftmaxCrossEntropy()
    xv, yv = random_windows(val_ids, val_windows, model.block_size, rng=12345)
    record = {"eval_steps": [], "val_loss": [], "seconds": []}
    clock = {"start": time.perf_counter(), "paused": 0.0}
    hit = {}

    def callback(k, _loss):
        if k % eval_every and k != steps:
            return None
        t0 = time.perf_counter()
        value = loss(model(xv), yv)
        record["eval_steps"].append(k)
        record["val_loss"].append(value)
        record["seconds"].append(t0 - clock["start"] - clock["paused"])
        clock["paused"] += time.perf_counter() - t0
        if target is not None and value <= target:
            hit["step"], hit["seconds"] = k, record["seconds"][-1]
            return True
        return None

    history = train(model.parameters(), lm_loss_and_grad(model, train_ids, batch_size, seed),
                    optimizer, epochs=steps, schedule=schedule, callback=callback,
                    progress=progress)
    out = {k: numpy.asarray(v) for k, v in record.items()}
    out["history"] = history
    out["steps_to_target"] = hit.get("step")
    out["seconds_to_target"] = hit.get("seconds")
    return out

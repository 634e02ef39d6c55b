r"""Embeddings and recurrent layers (Elman RNN, GRU, LSTM) with backpropagation through time.

All recurrent layers here are *batch-first*: inputs ``x`` have shape
``(N, T, D)`` (sequences, time steps, features) and outputs ``(N, T, H)``.

How the work is split, for speed
--------------------------------
The input part of every gate, :math:`x_t W_{ih} + b`, does not depend on the
previous state, so it is computed for all time steps at once, as one matrix
product of the ``(N T, D)`` inputs. Only the recurrent part
:math:`h_{t-1} W_{hh}` has to wait for the previous step, so the Python loop
over time holds one small matrix product and a few element-wise operations
written into buffers allocated once per call. Backward does the same in
reverse: the loop only carries :math:`\partial L/\partial h_t` back one step;
the weight gradients are then single large products over all steps.

Masks (padded batches)
----------------------
``mask`` has shape ``(N, T)``, ``True`` for a real token and ``False`` for
padding. At a padded step the state is carried unchanged,
:math:`h_t = h_{t-1}` (and :math:`c_t = c_{t-1}` for the LSTM), so
:attr:`last_hidden` is each sequence's state after its last real token, and
padding gets and sends no gradient through the gates. Outputs at padded
positions repeat the carried state (PyTorch's packed sequences give zeros
there); ignore them, as the loss and the pooling layers do.

Gate equations and weight layout follow PyTorch (``torch.nn.RNN``, ``GRU``,
``LSTM``), with the weights transposed so that the products read ``x @ W``:
``W_ih`` has shape ``(D, G H)`` and ``W_hh`` ``(H, G H)``, gates stacked in
PyTorch's order (GRU: r, z, n; LSTM: i, f, g, o), and two biases ``b_ih``,
``b_hh``. Copying a PyTorch layer's weights therefore needs only a transpose::

    gru.params["W_ih"][...] = torch_gru.weight_ih_l0.detach().numpy().T
    gru.params["W_hh"][...] = torch_gru.weight_hh_l0.detach().numpy().T
    gru.params["b_ih"][...] = torch_gru.bias_ih_l0.detach().numpy()
    gru.params["b_hh"][...] = torch_gru.bias_hh_l0.detach().numpy()
"""

from __future__ import annotations

import functools
import math

import numpy

from ..backend import asarray, blas_threads, to_host, xp
from . import init as _init
from .layers import check_dout, check_finite
from .module import Module, resolve_dtype
from .module import on_backend as _on_backend

__all__ = ["Embedding", "RNN", "GRU", "LSTM", "one_blas_thread"]


# ----------------------------------------------------------------------------
# helpers


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}.")
    return int(value)


def _as_ids(owner: str, ids, vocab_size: int | None = None):
    """Integer token ids on the backend, checked against ``vocab_size``."""
    ids = _on_backend(ids)
    if not hasattr(ids, "dtype") or numpy.dtype(ids.dtype).kind not in "iu":
        got = getattr(ids, "dtype", type(ids).__name__)
        raise TypeError(
            f"{owner} expects integer token ids (e.g. from gdlib.data.pad_batch), got {got}."
        )
    if vocab_size is not None and ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= vocab_size:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{owner}: token id {bad} is outside the vocabulary [0, {vocab_size}); "
                "build the layer with the vocabulary's size (len(vocab))."
            )
    return ids


def _as_mask(owner: str, mask, shape):
    """``mask`` as a backend bool array of ``shape`` (N, T), or None."""
    if mask is None:
        return None
    mask = _on_backend(mask)
    if not hasattr(mask, "shape") or tuple(mask.shape) != tuple(shape):
        got = tuple(getattr(mask, "shape", ()))
        raise ValueError(
            f"{owner}: mask must have shape (N, T) = {tuple(shape)} like the token ids, got {got}."
        )
    if mask.dtype != bool:
        if numpy.dtype(mask.dtype).kind not in "iub":
            raise TypeError(f"{owner}: mask must be bool (True = real token), got {mask.dtype}.")
        mask = mask != 0
    return mask


def _scatter_add(target, index, values):
    """``target[index[k]] += values[k]`` with repeated indices summed (NumPy or CuPy)."""
    if type(target).__module__.startswith("cupy"):
        import cupyx

        cupyx.scatter_add(target, index, values)
    elif values.ndim == 2 and target.ndim == 2 and target.shape[0] * index.size <= 1 << 22:
        # small tables (characters, short vocabularies): one product with the one-hot
        # matrix, sum_k [index_k = i] values_k, is ~10x faster than numpy.add.at
        onehot = (index[None, :] == numpy.arange(target.shape[0])[:, None]).astype(values.dtype)
        target += onehot @ values
    else:
        numpy.add.at(target, index, values)


def one_blas_thread():
    """Context manager: the CPU BLAS on one thread (see :func:`gdlib.backend.blas_threads`).

    The recurrent layers multiply small matrices, one time step after the other, so
    their ``forward`` and ``backward`` run on one BLAS thread (restored afterwards).
    """
    return blas_threads("auto")


def _blas_one_thread(method):
    """Run a layer's forward or backward with :func:`one_blas_thread`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with one_blas_thread():
            return method(self, *args, **kwargs)
    return wrapper


def _sigmoid_(a):
    r"""In place :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))`: no overflow, no temporaries."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _sigmoid(a):
    return _sigmoid_(a.copy())


# ----------------------------------------------------------------------------
# Embedding


class Embedding(Module):
    r"""A lookup table of learned word vectors: token id :math:`i \mapsto W_i`.

    Equivalent to multiplying a one-hot vector by :math:`W` (Bengio et al.,
    2003, learned such vectors jointly with a language model), without ever
    building the one-hot vectors. Backward scatters
    :math:`\partial L/\partial y` back into the rows that were used:

    .. math:: \frac{\partial L}{\partial W_i} = \sum_{(n,t):\ \mathrm{ids}_{nt} = i}
              \frac{\partial L}{\partial y_{nt}}.

    Parameters
    ----------
    num_embeddings : int
        Vocabulary size ``V``.
    embedding_dim : int
        Vector size ``D``.
    padding_idx : int, optional
        This row starts at zero and never receives a gradient (as in PyTorch),
        so padding tokens stay the zero vector.
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    ``W`` (V, D) starts standard normal, as PyTorch's ``nn.Embedding``.
    ``forward(ids)``: integer ids of any shape ``(...)`` -> ``(..., D)``;
    ``backward(dout)`` returns ``None`` (ids have no gradient).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng=None, dtype=None):
        super().__init__()
        self.num_embeddings = _positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, numpy.integer)) \
                    or not 0 <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be None or an id in [0, {self.num_embeddings}),"
                    f" got {padding_idx!r}."
                )
            padding_idx = int(padding_idx)
        self.padding_idx = padding_idx
        self.dtype = resolve_dtype(dtype)
        W = _init.as_generator(rng).standard_normal((self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            W[padding_idx] = 0.0
        self.add_param("W", asarray(W.astype(self.dtype)))
        self._ids = None

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"

    def forward(self, ids):
        ids = _as_ids("Embedding", ids, self.num_embeddings)
        self._ids = ids
        return self.params["W"][ids]

    def backward(self, dout):
        if self._ids is None:
            raise RuntimeError("Embedding.backward was called before forward: run forward first.")
        dout = check_dout("Embedding", dout, (*self._ids.shape, self.embedding_dim))
        ids = self._ids.reshape(-1)
        d = dout.reshape(-1, self.embedding_dim)
        if self.padding_idx is not None:
            d = d * (ids != self.padding_idx)[:, None]
        _scatter_add(self.grads["W"], ids, d)
        return None


# ----------------------------------------------------------------------------
# the recurrent layers' shared machinery


class _Recurrent(Module):
    """Parameters, input checks and helpers shared by RNN, GRU and LSTM."""

    _gates = 1
    _name = "RNN"

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=None):
        super().__init__()
        name = self._name
        self.input_size = _positive_int(name, "input_size", input_size)
        self.hidden_size = _positive_int(name, "hidden_size", hidden_size)
        self.dtype = resolve_dtype(dtype)
        H, D, G = self.hidden_size, self.input_size, self._gates * self.hidden_size
        gen = _init.as_generator(rng)
        k = 1.0 / math.sqrt(H)          # PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every weight
        self.add_param("W_ih", _init.uniform((D, G), k, gen, self.dtype))
        self.add_param("W_hh", _init.uniform((H, G), k, gen, self.dtype))
        self.add_param("b_ih", _init.uniform((G,), k, gen, self.dtype))
        self.add_param("b_hh", _init.uniform((G,), k, gen, self.dtype))
        self.last_hidden = None
        self.dh0 = None
        self._cache = None
        self._dH = None

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    # -- checks ------------------------------------------------------------
    def _inputs(self, x, h0, mask):
        """Time-major contiguous ``x`` (T, N, D), the initial state, the mask as (T, N, 1)."""
        name = self._name
        x = _on_backend(x)
        if not hasattr(x, "ndim") or x.ndim != 3 or x.shape[2] != self.input_size:
            got = tuple(getattr(x, "shape", ()))
            raise ValueError(
                f"{name}({self.input_size}, {self.hidden_size}) expects batch-first inputs of "
                f"shape (N, T, {self.input_size}), got {got}; embed token ids first "
                "(gdlib.nn.Embedding)."
            )
        if numpy.dtype(x.dtype).kind != "f":
            raise TypeError(f"{name}: inputs must be floating point, got {x.dtype}.")
        check_finite(name, "input x", x)
        N, T, _ = x.shape
        if T == 0:
            raise ValueError(f"{name}: the sequences are empty (T = 0).")
        x_tm = xp.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.dtype)
        h0 = self._state(h0, N, "h0")
        mask = _as_mask(name, mask, (N, T))
        m = None
        if mask is not None:
            m = xp.ascontiguousarray(mask.T[:, :, None], dtype=self.dtype)   # (T, N, 1)
        return x_tm, h0, m

    def _state(self, h, N, what):
        if h is None:
            return xp.zeros((N, self.hidden_size), dtype=self.dtype)
        h = _on_backend(h)
        if not hasattr(h, "shape") or tuple(h.shape) != (N, self.hidden_size):
            raise ValueError(
                f"{self._name}: {what} must have shape (N, H) = ({N}, {self.hidden_size}), "
                f"got {tuple(getattr(h, 'shape', ()))}."
            )
        if numpy.dtype(h.dtype).kind not in "fiub":
            raise TypeError(f"{self._name}: {what} must be a float array, got dtype {h.dtype}.")
        return check_finite(self._name, what, h.astype(self.dtype, copy=False))

    def _check_dout(self, dout, dh_last):
        if self._cache is None:
            raise RuntimeError(
                f"{self._name}.backward was called before forward: run forward first."
            )
        T, N = self._cache["T"], self._cache["N"]
        H = self.hidden_size
        if dout is None:
            dout = xp.zeros((N, T, H), dtype=self.dtype)
        dout = _on_backend(dout)
        if tuple(dout.shape) != (N, T, H):
            raise ValueError(
                f"{self._name}.backward: dout must have the outputs' shape {(N, T, H)}, "
                f"got {tuple(dout.shape)}."
            )
        carry = xp.zeros((N, H), dtype=self.dtype)
        if dh_last is not None:
            carry[...] = self._state(dh_last, N, "dh_last")
        return dout.transpose(1, 0, 2), carry

    def _input_grads(self, x_tm, h_prev, dA_ih, dA_hh):
        """Weight and input gradients as single products over all (t, n) rows."""
        D, H = self.input_size, self.hidden_size
        a_ih = dA_ih.reshape(-1, dA_ih.shape[-1])
        a_hh = dA_hh.reshape(-1, dA_hh.shape[-1])
        g = self.grads
        g["W_ih"] += x_tm.reshape(-1, D).T @ a_ih           # sum_t x_t^T dA_t
        g["b_ih"] += a_ih.sum(axis=0)
        g["W_hh"] += h_prev.reshape(-1, H).T @ a_hh          # sum_t h_{t-1}^T dA_t
        g["b_hh"] += a_hh.sum(axis=0)
        dx = (a_ih @ self.params["W_ih"].T).reshape(x_tm.shape)
        return dx.transpose(1, 0, 2)                          # back to batch-first

    @property
    def hidden_grad_norms(self):
        r"""Norms :math:`\lVert \partial L / \partial h_t \rVert` (over batch and units), one
        per time step, from the last backward pass (a host NumPy array of length T).

        The gradient reaching :math:`h_t` from everything after it: plotted against
        :math:`t` it shows gradients vanishing or exploding through time
        (Bengio, Simard and Frasconi, 1994; Pascanu, Mikolov and Bengio, 2013).
        """
        if self._dH is None:
            return None
        dH = self._dH
        return numpy.asarray(to_host(xp.sqrt((dH * dH).sum(axis=(1, 2)))), dtype=float)

    def _finish_backward(self, dH, carry):
        self._dH = dH
        self.dh0 = carry


# ----------------------------------------------------------------------------
# RNN


class RNN(_Recurrent):
    r"""Elman's simple recurrent network (Elman, 1990), batch-first.

    .. math:: h_t = \phi(x_t W_{ih} + b_{ih} + h_{t-1} W_{hh} + b_{hh}),
              \qquad \phi = \tanh \text{ or ReLU}

    Backpropagation through time (Werbos, 1990) runs the chain rule back over
    the whole sequence: with :math:`\delta_t = \partial L/\partial a_t` the
    gradient at the pre-activation,

    .. math:: \frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial y_t}
              + \delta_{t+1} W_{hh}^\top, \qquad
              \delta_t = \frac{\partial L}{\partial h_t} \odot \phi'(a_t),

    and every weight gradient sums over time, e.g.
    :math:`\partial L/\partial W_{hh} = \sum_t h_{t-1}^\top \delta_t`. The
    repeated product with :math:`W_{hh}^\top \mathrm{diag}(\phi')` is what
    makes gradients vanish or explode over long spans (Bengio, Simard and
    Frasconi, 1994): see :attr:`hidden_grad_norms`.

    Parameters
    ----------
    input_size, hidden_size : int
    nonlinearity : {"tanh", "relu"}
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    ``forward(x, h0=None, mask=None) -> outputs (N, T, H)``, then
    :attr:`last_hidden` (N, H); ``backward(dout, dh_last=None) -> dx``, then
    :attr:`dh0` (the gradient for ``h0``) and :attr:`hidden_grad_norms`.
    """

    _gates = 1
    _name = "RNN"

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 rng=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}.")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"

    def _act_(self, a):
        if self.nonlinearity == "tanh":
            return xp.tanh(a, out=a)
        return xp.maximum(a, 0, out=a)

    def step(self, x_t, h):
        """One step :math:`h_t` from ``x_t`` (N, D) and ``h`` (N, H), nothing cached."""
        p = self.params
        a = x_t @ p["W_ih"] + p["b_ih"] + p["b_hh"] + h @ p["W_hh"]
        return self._act_(a)

    @_blas_one_thread
    def forward(self, x, h0=None, mask=None):
        x_tm, h0, m = self._inputs(x, h0, mask)
        T, N, _ = x_tm.shape
        H = self.hidden_size
        p = self.params
        W_hh = p["W_hh"]
        # input part for all steps at once: (T N, D) @ (D, H)
        A = (x_tm.reshape(T * N, -1) @ p["W_ih"]).reshape(T, N, H)
        A += p["b_ih"] + p["b_hh"]
        hs = xp.empty((T + 1, N, H), dtype=self.dtype)        # hs[t + 1] = h_t
        hs[0] = h0
        act = hs[1:] if m is None else xp.empty((T, N, H), dtype=self.dtype)
        for t in range(T):
            a = act[t]
            xp.matmul(hs[t], W_hh, out=a)                     # h_{t-1} W_hh
            a += A[t]                                         # + x_t W_ih + b
            self._act_(a)                                     # phi(.)
            if m is not None:                                 # padding: h_t = h_{t-1}
                h = hs[t + 1]
                xp.subtract(a, hs[t], out=h)
                h *= m[t]
                h += hs[t]
        self._cache = dict(T=T, N=N, x=x_tm, hs=hs, act=act, m=m)
        self.last_hidden = hs[T]
        return hs[1:].transpose(1, 0, 2)

    @_blas_one_thread
    def backward(self, dout, dh_last=None):
        dout_tm, carry = self._check_dout(dout, dh_last)
        c = self._cache
        T, N, m, hs, act = c["T"], c["N"], c["m"], c["hs"], c["act"]
        H = self.hidden_size
        W_hh_T = self.params["W_hh"].T
        # phi'(a_t) for all steps at once (times the mask: padding has no gate)
        if self.nonlinearity == "tanh":
            Dphi = 1.0 - act * act
        else:
            Dphi = (act > 0).astype(self.dtype)
        if m is not None:
            Dphi *= m
            keep = 1.0 - m
        dH = xp.empty((T, N, H), dtype=self.dtype)            # dL/dh_t
        dA = xp.empty((T, N, H), dtype=self.dtype)            # delta_t = dL/da_t
        tmp = xp.empty((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            dh = dH[t]
            xp.add(dout_tm[t], carry, out=dh)                 # from the output and from t+1
            xp.multiply(dh, Dphi[t], out=dA[t])               # delta_t = dh * phi'(a_t)
            xp.matmul(dA[t], W_hh_T, out=carry)               # dL/dh_{t-1} = delta_t W_hh^T
            if m is not None:                                 # padding passes dh straight back
                xp.multiply(dh, keep[t], out=tmp)
                carry += tmp
        dx = self._input_grads(c["x"], hs[:-1], dA, dA)
        self._finish_backward(dH, carry)
        return dx


# ----------------------------------------------------------------------------
# GRU


class GRU(_Recurrent):
    r"""Gated recurrent unit (Cho et al., 2014), batch-first, PyTorch's equations.

    .. math::
        r_t &= \sigma(x_t W_{ir} + b_{ir} + h_{t-1} W_{hr} + b_{hr}) \\
        z_t &= \sigma(x_t W_{iz} + b_{iz} + h_{t-1} W_{hz} + b_{hz}) \\
        n_t &= \tanh(x_t W_{in} + b_{in} + r_t \odot (h_{t-1} W_{hn} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    The reset gate :math:`r` multiplies :math:`h W_{hn} + b_{hn}` (PyTorch's
    and cuDNN's form; Cho et al. put it inside, :math:`(r \odot h) W_{hn}`).
    Where the update gate :math:`z \approx 1` the state is copied forward and
    so is the gradient: the path that lets gradients survive long spans.

    Backward (per step, :math:`\bar h = \partial L/\partial h_t`, :math:`a_\cdot`
    the pre-activations, :math:`g_n = h_{t-1} W_{hn} + b_{hn}`):

    .. math::
        \partial a_z &= \bar h \odot (h_{t-1} - n_t) \odot z_t (1 - z_t), &
        \partial a_n &= \bar h \odot (1 - z_t) \odot (1 - n_t^2), \\
        \partial a_r &= \partial a_n \odot g_n \odot r_t (1 - r_t), &
        \partial g_n &= \partial a_n \odot r_t, \\
        \partial L/\partial h_{t-1} &= \bar h \odot z_t
            + [\partial a_r, \partial a_z, \partial g_n]\, W_{hh}^\top .

    With a mask, padding steps use :math:`z_t = 1` (the state is copied), which
    also zeroes every gate gradient there.

    Parameters
    ----------
    input_size, hidden_size : int
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    Same interface as :class:`RNN`.
    """

    _gates = 3
    _name = "GRU"

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=None):
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)

    def step(self, x_t, h):
        """One step :math:`h_t` from ``x_t`` (N, D) and ``h`` (N, H), nothing cached."""
        p, H = self.params, self.hidden_size
        gi = x_t @ p["W_ih"] + p["b_ih"]
        gh = h @ p["W_hh"] + p["b_hh"]
        rz = _sigmoid_(gi[:, :2 * H] + gh[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        n = xp.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return n + z * (h - n)

    @_blas_one_thread
    def forward(self, x, h0=None, mask=None):
        x_tm, h0, m = self._inputs(x, h0, mask)
        T, N, _ = x_tm.shape
        H = self.hidden_size
        p = self.params
        W_hh, b_hn = p["W_hh"], p["b_hh"][2 * H:]
        # input part of all three gates for all steps: one (T N, D) @ (D, 3H) product;
        # b_hr and b_hz simply add, so they join it; b_hn must stay inside r * (.)
        GI = (x_tm.reshape(T * N, -1) @ p["W_ih"]).reshape(T, N, 3 * H)
        GI += p["b_ih"]
        GI[:, :, :2 * H] += p["b_hh"][:2 * H]
        GH = xp.empty((T, N, 3 * H), dtype=self.dtype)        # h_{t-1} W_hh (+ b_hn)
        RZ = xp.empty((T, N, 2 * H), dtype=self.dtype)        # gates r_t, z_t
        Nn = xp.empty((T, N, H), dtype=self.dtype)            # candidate n_t
        hs = xp.empty((T + 1, N, H), dtype=self.dtype)        # hs[t + 1] = h_t
        hs[0] = h0
        pad = None if m is None else 1.0 - m
        for t in range(T):
            gh, rz, n, h = GH[t], RZ[t], Nn[t], hs[t + 1]
            xp.matmul(hs[t], W_hh, out=gh)
            gh[:, 2 * H:] += b_hn
            xp.add(GI[t, :, :2 * H], gh[:, :2 * H], out=rz)
            _sigmoid_(rz)                                     # r_t, z_t
            r, z = rz[:, :H], rz[:, H:]
            xp.multiply(r, gh[:, 2 * H:], out=n)
            n += GI[t, :, 2 * H:]
            xp.tanh(n, out=n)                                 # n_t
            if pad is not None:
                xp.maximum(z, pad[t], out=z)                  # padding: z = 1, h_t = h_{t-1}
            xp.subtract(hs[t], n, out=h)
            h *= z
            h += n                                            # h_t = n + z (h_{t-1} - n)
        self._cache = dict(T=T, N=N, x=x_tm, hs=hs, GH=GH, RZ=RZ, Nn=Nn)
        self.last_hidden = hs[T]
        return hs[1:].transpose(1, 0, 2)

    @_blas_one_thread
    def backward(self, dout, dh_last=None):
        dout_tm, carry = self._check_dout(dout, dh_last)
        c = self._cache
        T, N, hs, GH, RZ, Nn = c["T"], c["N"], c["hs"], c["GH"], c["RZ"], c["Nn"]
        H = self.hidden_size
        W_hh_T = self.params["W_hh"].T
        # everything that does not depend on the incoming gradient, for all steps at once
        R, Z = RZ[:, :, :H], RZ[:, :, H:]
        Gn = GH[:, :, 2 * H:]
        Zc = 1.0 - Z                                          # 1 - z
        Zd = Z * Zc                                           # z (1 - z)
        h_minus_n = hs[:-1] - Nn                              # h_{t-1} - n_t
        Nd = 1.0 - Nn * Nn                                    # 1 - n^2
        Rd = R * (1.0 - R)                                    # r (1 - r)
        dH = xp.empty((T, N, H), dtype=self.dtype)
        dGI = xp.empty((T, N, 3 * H), dtype=self.dtype)       # d(input part)
        dGH = xp.empty((T, N, 3 * H), dtype=self.dtype)       # d(recurrent part)
        tmp = xp.empty((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            dh, gi, gh = dH[t], dGI[t], dGH[t]
            xp.add(dout_tm[t], carry, out=dh)
            daz, dan = gh[:, H:2 * H], gi[:, 2 * H:]
            xp.multiply(dh, h_minus_n[t], out=daz)
            daz *= Zd[t]                                      # d a_z
            xp.multiply(dh, Zc[t], out=dan)
            dan *= Nd[t]                                      # d a_n
            xp.multiply(dan, R[t], out=gh[:, 2 * H:])         # d g_n = d a_n * r
            dar = gh[:, :H]
            xp.multiply(dan, Gn[t], out=dar)
            dar *= Rd[t]                                      # d a_r
            xp.multiply(dh, Z[t], out=carry)                  # direct path: dh * z
            xp.matmul(gh, W_hh_T, out=tmp)
            carry += tmp                                      # + through W_hh
        dGI[:, :, :2 * H] = dGH[:, :, :2 * H]                 # r, z: same pre-activation
        dx = self._input_grads(c["x"], hs[:-1], dGI, dGH)
        self._finish_backward(dH, carry)
        return dx


# ----------------------------------------------------------------------------
# LSTM


class LSTM(_Recurrent):
    r"""Long short-term memory (Hochreiter and Schmidhuber, 1997) with the forget
    gate of Gers, Schmidhuber and Cummins (2000), batch-first, PyTorch's equations.

    .. math::
        [i_t, f_t, g_t, o_t] &= [\sigma, \sigma, \tanh, \sigma]
            (x_t W_{ih} + b_{ih} + h_{t-1} W_{hh} + b_{hh}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    The cell state :math:`c` is updated additively, so
    :math:`\partial c_t/\partial c_{t-1} = f_t`: with the forget gate open the
    gradient flows back unchanged (the "constant error carousel").

    Backward, per step (:math:`\bar h, \bar c` the gradients reaching
    :math:`h_t, c_t`):

    .. math::
        \bar c \mathrel{+}= \bar h \odot o_t (1 - \tanh^2 c_t), \quad
        \partial a_o = \bar h \odot \tanh c_t \odot o_t(1-o_t), \\
        \partial a_i = \bar c \odot g_t \odot i_t (1 - i_t), \quad
        \partial a_f = \bar c \odot c_{t-1} \odot f_t(1-f_t), \quad
        \partial a_g = \bar c \odot i_t (1 - g_t^2), \\
        \partial L/\partial c_{t-1} = \bar c \odot f_t, \quad
        \partial L/\partial h_{t-1} = [\partial a_i, \partial a_f, \partial a_g,
        \partial a_o]\, W_{hh}^\top .

    Parameters
    ----------
    input_size, hidden_size : int
    rng : None, int or numpy.random.Generator
    dtype : str or dtype, optional

    Notes
    -----
    As :class:`RNN`, and: ``h0`` may be a pair ``(h0, c0)``; after forward
    :attr:`last_cell` holds :math:`c` at each sequence's last real token;
    ``backward(dout, dh_last=None, dc_last=None)`` also sets :attr:`dc0`.
    """

    _gates = 4
    _name = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=None):
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)
        H = self.hidden_size
        # sigma(a) = (1 + tanh(a/2)) / 2 and tanh(a): one tanh over all four gates,
        # with the scale and shift per gate block [i, f, g, o]
        half = numpy.full(4 * H, 0.5)
        half[2 * H:3 * H] = 1.0
        shift = numpy.full(4 * H, 0.5)
        shift[2 * H:3 * H] = 0.0
        self._scale_in = asarray(half.astype(self.dtype))
        self._scale_out = asarray(half.astype(self.dtype))
        self._shift = asarray(shift.astype(self.dtype))
        self.last_cell = None
        self.dc0 = None

    def _gates_(self, a):
        """In place: [i, f, g, o] pre-activations -> [sigma, sigma, tanh, sigma]."""
        a *= self._scale_in
        xp.tanh(a, out=a)
        a *= self._scale_out
        a += self._shift
        return a

    def _split_state(self, h0, N):
        if isinstance(h0, (tuple, list)):
            if len(h0) != 2:
                raise ValueError("LSTM: h0 must be an array h0 or a pair (h0, c0).")
            return self._state(h0[0], N, "h0"), self._state(h0[1], N, "c0")
        return self._state(h0, N, "h0"), xp.zeros((N, self.hidden_size), dtype=self.dtype)

    def step(self, x_t, state):
        """One step from ``x_t`` (N, D) and ``state = (h, c)``; returns ``(h_t, c_t)``."""
        h, c = state
        p, H = self.params, self.hidden_size
        a = self._gates_(x_t @ p["W_ih"] + p["b_ih"] + p["b_hh"] + h @ p["W_hh"])
        c = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
        return a[:, 3 * H:] * xp.tanh(c), c

    @_blas_one_thread
    def forward(self, x, h0=None, mask=None):
        hc = h0
        x_tm, _, m = self._inputs(x, None, mask)
        T, N, _ = x_tm.shape
        h0, c0 = self._split_state(hc, N)
        H = self.hidden_size
        p = self.params
        W_hh = p["W_hh"]
        A = (x_tm.reshape(T * N, -1) @ p["W_ih"]).reshape(T, N, 4 * H)
        A += p["b_ih"] + p["b_hh"]
        G = xp.empty((T, N, 4 * H), dtype=self.dtype)         # activated gates i, f, g, o
        hs = xp.empty((T + 1, N, H), dtype=self.dtype)
        cs = xp.empty((T + 1, N, H), dtype=self.dtype)
        TC = xp.empty((T, N, H), dtype=self.dtype)            # tanh(c_t)
        hs[0], cs[0] = h0, c0
        tmp = xp.empty((N, H), dtype=self.dtype)
        pad = None if m is None else 1.0 - m
        for t in range(T):
            g = G[t]
            xp.matmul(hs[t], W_hh, out=g)
            g += A[t]
            self._gates_(g)
            i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            if m is not None:                                 # padding: i = 0, f = 1
                i *= m[t]
                xp.maximum(f, pad[t], out=f)
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            xp.multiply(i, gg, out=tmp)
            c += tmp                                          # c_t = f c_{t-1} + i g
            xp.tanh(c, out=TC[t])
            h = hs[t + 1]
            xp.multiply(o, TC[t], out=h)                      # h_t = o tanh(c_t)
            if m is not None:                                 # padding: h_t = h_{t-1}
                h -= hs[t]
                h *= m[t]
                h += hs[t]
        self._cache = dict(T=T, N=N, x=x_tm, hs=hs, cs=cs, G=G, TC=TC, m=m)
        self.last_hidden, self.last_cell = hs[T], cs[T]
        return hs[1:].transpose(1, 0, 2)

    @_blas_one_thread
    def backward(self, dout, dh_last=None, dc_last=None):
        dout_tm, carry = self._check_dout(dout, dh_last)
        c = self._cache
        T, N, hs, cs, G, TC, m = c["T"], c["N"], c["hs"], c["cs"], c["G"], c["TC"], c["m"]
        H = self.hidden_size
        W_hh_T = self.params["W_hh"].T
        carry_c = xp.zeros((N, H), dtype=self.dtype)
        if dc_last is not None:
            carry_c[...] = self._state(dc_last, N, "dc_last")
        I, F, Gg, O = G[:, :, :H], G[:, :, H:2 * H], G[:, :, 2 * H:3 * H], G[:, :, 3 * H:]
        Om = O if m is None else O * m                        # padding: no output gate
        Q = Om * (1.0 - TC * TC)                              # dh -> dc
        P = TC * Om * (1.0 - O)                               # dh -> d a_o
        Pi = Gg * I * (1.0 - I)                               # dc -> d a_i
        Pf = cs[:-1] * F * (1.0 - F)                          # dc -> d a_f
        Pg = I * (1.0 - Gg * Gg)                              # dc -> d a_g
        keep = None if m is None else 1.0 - m
        dH = xp.empty((T, N, H), dtype=self.dtype)
        dA = xp.empty((T, N, 4 * H), dtype=self.dtype)
        dc = xp.empty((N, H), dtype=self.dtype)
        tmp = xp.empty((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            dh, da = dH[t], dA[t]
            xp.add(dout_tm[t], carry, out=dh)
            xp.multiply(dh, Q[t], out=dc)
            dc += carry_c                                     # dL/dc_t
            xp.multiply(dc, Pi[t], out=da[:, :H])             # d a_i
            xp.multiply(dc, Pf[t], out=da[:, H:2 * H])        # d a_f
            xp.multiply(dc, Pg[t], out=da[:, 2 * H:3 * H])    # d a_g
            xp.multiply(dh, P[t], out=da[:, 3 * H:])          # d a_o
            xp.multiply(dc, F[t], out=carry_c)                # dL/dc_{t-1} = dc * f
            xp.matmul(da, W_hh_T, out=carry)                  # dL/dh_{t-1} through W_hh
            if keep is not None:
                xp.multiply(dh, keep[t], out=tmp)
                carry += tmp
        dx = self._input_grads(c["x"], hs[:-1], dA, dA)
        self._finish_backward(dH, carry)
        self.dc0 = carry_c
        return dx

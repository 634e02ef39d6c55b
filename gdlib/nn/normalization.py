r"""Normalisation layers: layer normalisation and batch normalisation.

Both layers standardise a group of numbers to mean 0 and variance 1, then give
the network back a learnable scale :math:`\gamma` and shift :math:`\beta`:

.. math:: \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
          y = \gamma \odot \hat x + \beta,

with :math:`\mu` and :math:`\sigma^2` the mean and the (biased, divide by
:math:`m`) variance of the :math:`m` numbers of the group. They differ only in
the group:

- :class:`LayerNorm` (Ba, Kiros and Hinton, 2016): the features of one example
  (the last axes), so each example is normalised on its own and training and
  evaluation compute the same thing;
- :class:`BatchNorm1d` and :class:`BatchNorm2d` (Ioffe and Szegedy, 2015): one
  feature (channel) across the batch (and the image), so the output of one
  example depends on the others during training; evaluation uses running
  estimates of :math:`\mu` and :math:`\sigma^2` instead.

Backward. With :math:`\delta = \partial L/\partial y`, the gain and shift get
:math:`\partial L/\partial\gamma = \sum \delta \odot \hat x` and
:math:`\partial L/\partial\beta = \sum \delta` (sums over everything that shares
the parameter), and, because :math:`\mu` and :math:`\sigma` depend on every
entry of the group, the input gradient has two correction terms:

.. math:: \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2+\epsilon}}
          \Big(g - \operatorname{mean}(g) - \hat x \operatorname{mean}(g \odot \hat x)\Big),
          \qquad g = \gamma \odot \delta,

the means taken over the group. The first correction removes what moves the mean
(which normalisation undoes), the second what only changes the scale. So the
gradient is orthogonal to the constant vector and to :math:`\hat x` within each
group.

Scale invariance. A weight ``w`` whose output is normalised (a bias-free
:class:`~gdlib.nn.Dense` before a batch normalisation) changes nothing when it
is scaled, :math:`L(c\,w) = L(w)` for :math:`c > 0`. So its gradient is
orthogonal to it and shrinks as it grows, :math:`\nabla L(c\,w) = \nabla L(w)/c`,
and the direction :math:`w/\|w\|` moves as under SGD with the **effective
learning rate** :math:`\eta/\|w\|^2` (van Laarhoven, 2017). Weight decay and the
gradient's push balance where :func:`equilibrium_norm_sq` says (Wan et al., 2021).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy

from ..backend import to_host, xp
from . import init as _init
from .layers import _as_float, _no_forward, check_dout
from .module import Module, resolve_dtype

__all__ = ["LayerNorm", "BatchNorm1d", "BatchNorm2d", "effective_lr", "equilibrium_norm_sq",
           "equilibrium_relative_update"]


def _check_eps(layer: str, eps):
    if isinstance(eps, (bool, numpy.bool_)) or not isinstance(eps, Real) \
            or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"{layer}: eps must be a positive number (e.g. 1e-5), got {eps!r}.")
    return float(eps)


def _check_flag(layer: str, name: str, value) -> bool:
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{layer}: {name} must be True or False, got {value!r}.")
    return bool(value)


def _normalize(x, axes, eps):
    """``(x_hat, 1/sqrt(var + eps), mean, biased var)`` over ``axes`` (kept as size 1)."""
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt(var + eps)
    return xc * inv_std, inv_std, mu, var


def _normalize_backward(g, x_hat, inv_std, axes):
    r"""``dL/dx`` given ``g = gamma * dout`` for :math:`\hat x` normalised over ``axes``.

    .. math:: \partial L/\partial x = \frac{1}{\sigma}\big(g - \bar g - \hat x\,
              \overline{g \hat x}\big)
    """
    g_mean = g.mean(axis=axes, keepdims=True)
    gx_mean = (g * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (g - g_mean - x_hat * gx_mean)


# ----------------------------------------------------------------------------
# LayerNorm


class LayerNorm(Module):
    r"""Layer normalisation over the last axes (Ba, Kiros and Hinton, 2016).

    Each example is standardised over its last ``len(normalized_shape)`` axes,
    then scaled and shifted entry-wise:

    .. math:: y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,

    with :math:`\mu, \sigma^2` the mean and biased variance over those axes, as
    ``torch.nn.LayerNorm`` computes it. Training and evaluation are the same.
    The backward pass is the one in the module docstring, with the means taken
    over the normalised axes of each example; ``gamma`` and ``beta`` sum over
    every leading axis.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The shape of the trailing axes normalised together (``d_model`` for a
        transformer's ``(N, T, d_model)`` activations).
    eps : float, default 1e-5
        Added to the variance inside the square root.
    elementwise_affine : bool, default True
        Learn ``gamma`` (starts at 1) and, with ``bias``, ``beta`` (starts at 0).
    bias : bool, default True
        Learn ``beta`` (only with ``elementwise_affine``).
    dtype : str or dtype, optional
        Default: :func:`gdlib.nn.get_default_dtype` (float32).

    Attributes
    ----------
    params : dict
        ``"gamma"`` and ``"beta"``, each of shape ``normalized_shape``.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, numpy.integer)) \
            and not isinstance(normalized_shape, bool) else normalized_shape
        try:
            shape = tuple(shape)
        except TypeError:
            shape = None
        if not shape or any(isinstance(s, bool) or not isinstance(s, (int, numpy.integer))
                            or s < 1 for s in shape):
            raise ValueError("LayerNorm: normalized_shape must be a positive int or a tuple of "
                             f"positive ints (the trailing shape), got {normalized_shape!r}.")
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = _check_eps("LayerNorm", eps)
        self.elementwise_affine = _check_flag("LayerNorm", "elementwise_affine",
                                              elementwise_affine)
        self.bias = _check_flag("LayerNorm", "bias", bias)
        self.dtype = resolve_dtype(dtype)
        if self.elementwise_affine:
            self.add_param("gamma", _init.zeros(self.normalized_shape, self.dtype) + 1)
            if self.bias:
                self.add_param("beta", _init.zeros(self.normalized_shape, self.dtype))
        self._cache = None

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}, " \
               f"elementwise_affine={self.elementwise_affine}"

    def forward(self, x):
        x = _as_float("LayerNorm", x, self.dtype)
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            raise ValueError(
                f"LayerNorm(normalized_shape={self.normalized_shape}) expects inputs whose "
                f"last axes have that shape, got {tuple(x.shape)}."
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        x_hat, inv_std, _, _ = _normalize(x, axes, self.eps)
        self._cache = (x_hat, inv_std, axes)
        if not self.elementwise_affine:
            return x_hat
        y = x_hat * self.params["gamma"]
        if self.bias:
            y += self.params["beta"]
        return y

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("LayerNorm")
        x_hat, inv_std, axes = self._cache
        dout = check_dout("LayerNorm", dout, x_hat.shape)
        if not self.elementwise_affine:
            return _normalize_backward(dout, x_hat, inv_std, axes)
        lead = tuple(range(x_hat.ndim - len(axes)))
        self.grads["gamma"] += (dout * x_hat).sum(axis=lead)   # dL/dgamma = sum delta x_hat
        if self.bias:
            self.grads["beta"] += dout.sum(axis=lead)          # dL/dbeta = sum delta
        return _normalize_backward(dout * self.params["gamma"], x_hat, inv_std, axes)


# ----------------------------------------------------------------------------
# BatchNorm


class _BatchNorm(Module):
    r"""Batch normalisation over every axis but the channel axis 1.

    Subclasses set ``_ndims`` (the input ranks they accept) and ``_layout``
    (the shape, in words, for messages).
    """

    _ndims: tuple = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, numpy.integer)) \
                or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive int (the number of "
                             f"channels C), got {num_features!r}.")
        if momentum is not None and (isinstance(momentum, (bool, numpy.bool_))
                                     or not isinstance(momentum, Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be a number in [0, 1] (the weight of the "
                             "new batch in the running statistics) or None (a plain average "
                             f"over all batches), got {momentum!r}.")
        self.num_features = int(num_features)
        self.eps = _check_eps(name, eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = _check_flag(name, "affine", affine)
        self.track_running_stats = _check_flag(name, "track_running_stats",
                                               track_running_stats)
        self.dtype = resolve_dtype(dtype)
        C = self.num_features
        if self.affine:
            self.add_param("gamma", _init.zeros((C,), self.dtype) + 1)
            self.add_param("beta", _init.zeros((C,), self.dtype))
        if self.track_running_stats:
            self.add_buffer("running_mean", _init.zeros((C,), self.dtype))
            self.add_buffer("running_var", _init.zeros((C,), self.dtype) + 1)
            self.add_buffer("num_batches_tracked", numpy.zeros((), dtype=numpy.int64))
        self._cache = None

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, " \
               f"affine={self.affine}, track_running_stats={self.track_running_stats}"

    def _check_input(self, x):
        name = type(self).__name__
        x = _as_float(name, x, self.dtype)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}(num_features={self.num_features}) expects inputs of shape "
                f"{self._layout} with C = {self.num_features} channels on axis 1, got "
                f"{tuple(x.shape)}."
            )
        return x

    def _channel(self, v, ndim):
        """A per-channel vector shaped ``(1, C, 1, ...)`` to broadcast against the input."""
        return v.reshape((1, self.num_features) + (1,) * (ndim - 2))

    def forward(self, x):
        x = self._check_input(x)
        axes = (0,) + tuple(range(2, x.ndim))
        m = x.size // self.num_features          # numbers per channel
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if self.training and m == 1:
                raise ValueError(
                    f"{type(self).__name__}: expected more than 1 value per channel when "
                    f"training, got input of shape {tuple(x.shape)}; use a batch of at least "
                    "2 examples, or model.eval() to use the running statistics."
                )
            x_hat, inv_std, mu, var = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                self._update_running(mu.reshape(-1), var.reshape(-1), m)
        else:
            mu = self._channel(self._buffers["running_mean"], x.ndim)
            inv_std = 1.0 / xp.sqrt(self._channel(self._buffers["running_var"], x.ndim)
                                    + self.eps)
            x_hat = (x - mu) * inv_std
        self._cache = (x_hat, inv_std, axes, use_batch)
        if not self.affine:
            return x_hat
        return x_hat * self._channel(self.params["gamma"], x.ndim) \
            + self._channel(self.params["beta"], x.ndim)

    def _update_running(self, mean, var, m):
        r"""``running = (1 - f) running + f batch``, the variance unbiased (``m/(m-1)``).

        ``f`` is ``momentum``, or ``1/num_batches_tracked`` (a plain average of all
        batches so far) when ``momentum`` is None, as ``torch.nn.BatchNorm1d`` does.
        """
        b = self._buffers
        b["num_batches_tracked"][...] = b["num_batches_tracked"] + 1
        f = self.momentum if self.momentum is not None \
            else 1.0 / float(b["num_batches_tracked"])
        b["running_mean"][...] = (1 - f) * b["running_mean"] + f * mean
        b["running_var"][...] = (1 - f) * b["running_var"] + f * var * (m / (m - 1))

    def backward(self, dout):
        name = type(self).__name__
        if self._cache is None:
            raise _no_forward(name)
        x_hat, inv_std, axes, use_batch = self._cache
        dout = check_dout(name, dout, x_hat.shape)
        if self.affine:
            self.grads["gamma"] += (dout * x_hat).sum(axis=axes)   # sum delta x_hat
            self.grads["beta"] += dout.sum(axis=axes)              # sum delta
            g = dout * self._channel(self.params["gamma"], dout.ndim)
        else:
            g = dout
        if not use_batch:                        # fixed statistics: an affine map
            return g * inv_std
        return _normalize_backward(g, x_hat, inv_std, axes)


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs (Ioffe and Szegedy, 2015).

    In training mode each channel is standardised with the mean and biased
    variance of the batch (over ``N``, and ``L`` if present), then scaled by
    ``gamma`` and shifted by ``beta``, and the running statistics move towards
    the batch's:

    .. math:: \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B, \qquad
              \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\tfrac{n}{n-1}\sigma_B^2,

    with ``m`` = ``momentum`` and ``n`` the numbers per channel: the running
    variance takes the *unbiased* batch variance while the normalisation uses
    the biased one, exactly as ``torch.nn.BatchNorm1d`` documents (PyTorch 2.x:
    the forward pass uses ``torch.var(input, correction=0)``, the moving average
    ``torch.var(input, correction=1)``). In
    evaluation mode (:meth:`~gdlib.nn.Module.eval`) the running statistics
    replace the batch's, so the layer is a fixed affine map of each example.

    Backward in training mode is the compact formula of the module docstring
    with means over the batch; in evaluation mode it is
    :math:`\partial L/\partial x = \gamma\,\delta / \sqrt{\hat\sigma^2 + \epsilon}`.

    Parameters
    ----------
    num_features : int
        ``C``, the number of channels (axis 1).
    eps : float, default 1e-5
    momentum : float in [0, 1] or None, default 0.1
        Weight of the new batch in the running statistics; ``None``: the plain
        average over all batches seen (weight ``1/num_batches_tracked``).
    affine : bool, default True
        Learn ``gamma`` (starts at 1) and ``beta`` (starts at 0), shape ``(C,)``.
    track_running_stats : bool, default True
        Keep the buffers ``running_mean`` (starts at 0), ``running_var`` (starts
        at 1) and ``num_batches_tracked``; without them evaluation also uses
        batch statistics.
    dtype : str or dtype, optional
        Default: :func:`gdlib.nn.get_default_dtype` (float32).

    Raises
    ------
    ValueError
        In training mode, for a batch with a single value per channel (``N = 1``
        without ``L``): its variance is zero, as ``torch`` refuses too.
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation of ``(N, C, H, W)`` images (Ioffe and Szegedy, 2015).

    The same as :class:`BatchNorm1d`, each channel standardised over the batch
    and every pixel (``N H W`` numbers), as after a :class:`~gdlib.nn.Conv2D`:
    one ``gamma`` and ``beta`` per channel, ``torch.nn.BatchNorm2d``'s running
    statistics. Same parameters as :class:`BatchNorm1d`.
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"


# ----------------------------------------------------------------------------
# Scale-invariant weights under SGD with weight decay


def _positive(name: str, value, allow_zero: bool = False) -> float:
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, Real) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        need = "a number >= 0" if allow_zero else "a positive number"
        raise ValueError(f"{name} must be {need}, got {value!r}.")
    return float(value)


def effective_lr(lr: float, weight) -> float:
    r"""The effective learning rate :math:`\eta / \|w\|^2` of a scale-invariant weight.

    For :math:`L(c\,w) = L(w)` the gradient at :math:`w` is
    :math:`\hat g/\|w\|` with :math:`\hat g` the gradient at the unit-norm
    :math:`w/\|w\|`, and the step :math:`\eta\,\hat g/\|w\|` moves the
    direction :math:`w/\|w\|` by :math:`(\eta/\|w\|^2)\,\hat g`: SGD on the
    sphere with learning rate :math:`\eta/\|w\|^2` (van Laarhoven, 2017).

    Parameters
    ----------
    lr : float
        :math:`\eta > 0`.
    weight : array
        The weight (any shape: its squared entries are summed).

    Returns
    -------
    float
    """
    lr = _positive("lr", lr)
    w = numpy.asarray(to_host(weight) if hasattr(weight, "shape") else weight, dtype=float)
    norm_sq = float(numpy.sum(w * w))
    if not math.isfinite(norm_sq) or norm_sq <= 0:
        raise ValueError(f"weight must be finite and not all zero, got squared norm {norm_sq}.")
    return lr / norm_sq


def equilibrium_norm_sq(lr: float, weight_decay: float, unit_grad_sq: float) -> float:
    r"""Where :math:`\|w\|^2` settles for a scale-invariant weight under SGD with weight decay.

    SGD with weight decay :math:`\lambda`, :math:`w \leftarrow (1 - \eta\lambda)\,w
    - \eta\,g`, with :math:`g \perp w` and :math:`\|g\| = \|\hat g\|/\|w\|`
    (scale invariance), changes the squared norm by Pythagoras:

    .. math:: \|w_{t+1}\|^2 = (1-\eta\lambda)^2\,\|w_t\|^2
              + \eta^2\,\|\hat g_t\|^2 / \|w_t\|^2 .

    Its fixed point, with :math:`\|\hat g\|^2` replaced by its average
    (van Laarhoven, 2017; Zhang et al., 2019; Wan et al., 2021), is

    .. math:: \|w^\star\|^2 = \sqrt{\frac{\eta\,\overline{\|\hat g\|^2}}
              {\lambda\,(2 - \eta\lambda)}}
              \;\approx\; \sqrt{\frac{\eta}{2\lambda}}\;\|\hat g\| .

    Parameters
    ----------
    lr : float
        :math:`\eta > 0`.
    weight_decay : float
        :math:`\lambda > 0` with :math:`\eta\lambda < 1`.
    unit_grad_sq : float
        :math:`\overline{\|\hat g\|^2}`, the mean squared norm of the gradient
        at the unit-norm weight (``||g||^2 * ||w||^2`` measured at any scale).

    Returns
    -------
    float
    """
    lr = _positive("lr", lr)
    weight_decay = _positive("weight_decay", weight_decay)
    unit_grad_sq = _positive("unit_grad_sq", unit_grad_sq, allow_zero=True)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be below 1 (the decay factor 1 - lr * "
                         f"weight_decay must stay positive), got {lr * weight_decay:g}.")
    return math.sqrt(lr * unit_grad_sq / (weight_decay * (2 - lr * weight_decay)))


def equilibrium_relative_update(lr: float, weight_decay: float) -> float:
    r"""The root-mean-square relative step :math:`\eta\|g\|/\|w\|` at the equilibrium.

    From the recursion of :func:`equilibrium_norm_sq` at its fixed point,
    :math:`\eta^2\|g\|^2/\|w\|^2 = 1 - (1-\eta\lambda)^2`, so

    .. math:: \frac{\eta\,\|g\|}{\|w\|} = \sqrt{\eta\lambda\,(2 - \eta\lambda)}
              \approx \sqrt{2\eta\lambda},

    which depends on the product :math:`\eta\lambda` only, not on the data or
    the gradient: the "angular update" of Wan et al. (2021).

    Parameters
    ----------
    lr, weight_decay : float
        As in :func:`equilibrium_norm_sq`.

    Returns
    -------
    float
    """
    lr = _positive("lr", lr)
    weight_decay = _positive("weight_decay", weight_decay)
    if lr * weight_decay >= 1:
        raise ValueError(f"lr * weight_decay must be below 1, got {lr * weight_decay:g}.")
    return math.sqrt(lr * weight_decay * (2 - lr * weight_decay))

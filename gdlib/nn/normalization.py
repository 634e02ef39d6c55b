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
"""

from __future__ import annotations

import math
from numbers import Real

import numpy

from ..backend import xp
from . import init as _init
from .layers import _as_float, _no_forward, check_dout
from .module import Module, resolve_dtype

__all__ = ["LayerNorm"]


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

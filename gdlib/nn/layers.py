r"""Core layers: the affine map, the activations, dropout and flatten.

Each layer is a :class:`~gdlib.nn.Module` whose ``backward`` sits right under
its ``forward``, so the chain rule can be read one layer at a time. For an
element-wise activation :math:`y = \phi(x)` the backward rule is always the same
shape,

.. math:: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} \odot \phi'(x),

and only :math:`\phi'` changes from one activation to the next.

The functions :func:`softmax`, :func:`log_softmax` and :func:`sigmoid` are the
numerically stable forms used by the losses in :mod:`gdlib.nn.losses`.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy

from ..backend import array_module, asarray, xp
from . import init as _init
from .module import Module, resolve_dtype

__all__ = [
    "Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Dropout", "Flatten",
    "softmax", "log_softmax", "sigmoid", "check_finite", "check_dout",
]


# ----------------------------------------------------------------------------
# Stable functions


def softmax(x, axis: int = -1):
    r"""Softmax along ``axis``, computed stably.

    .. math:: \mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},
              \qquad m = \max_j x_j

    Subtracting the maximum changes nothing mathematically and keeps every
    exponent :math:`\le 0`, so nothing overflows (Bridle, 1990, named the
    function; the shift is the standard trick).
    """
    mod = array_module(x)
    z = x - mod.max(x, axis=axis, keepdims=True)
    e = mod.exp(z)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(x, axis: int = -1):
    r"""Logarithm of the softmax along ``axis``, computed stably.

    .. math:: \log \mathrm{softmax}(x)_i = (x_i - m) - \log \sum_j e^{x_j - m}

    Better than ``log(softmax(x))``, which gives ``-inf`` once a probability
    underflows to zero.
    """
    mod = array_module(x)
    z = x - mod.max(x, axis=axis, keepdims=True)
    z -= mod.log(mod.exp(z).sum(axis=axis, keepdims=True))
    return z


def sigmoid(x):
    r"""The logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow.

    For :math:`x \ge 0` it evaluates :math:`1/(1+e^{-x})`, for :math:`x < 0`
    the equal form :math:`e^{x}/(1+e^{x})`; either way the exponent is
    :math:`-|x| \le 0`.
    """
    mod = array_module(x)
    e = mod.exp(-mod.abs(x))
    return mod.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------
# Helpers


def all_finite(x) -> bool:
    """Whether every entry of the float array ``x`` is finite.

    One sum settles the usual case (a finite sum means finite entries, as NaN and
    infinities propagate through it) without the boolean temporary of
    ``isfinite(x).all()``; only an overflowing sum pays for the exact test.
    """
    mod = array_module(x)
    if bool(mod.isfinite(x.sum())):
        return True
    return bool(mod.isfinite(x).all())


def check_finite(layer: str, name: str, x):
    """``x`` itself; a ``ValueError`` naming the layer and the argument if it has NaN/inf."""
    if numpy.dtype(x.dtype).kind == "f" and x.size and not all_finite(x):
        mod = array_module(x)
        bad = int((~mod.isfinite(x)).sum())
        raise ValueError(f"{layer}: {name} contains NaN or infinity ({bad} of {x.size} "
                         "entries); check the data, or the layer before this one.")
    return x


def check_dout(layer: str, dout, shape):
    """``dout`` on the backend; a ``ValueError`` unless it has the forward output's shape.

    A wrong shape could otherwise broadcast or reshape silently into a wrong gradient.
    """
    if not hasattr(dout, "shape"):
        dout = asarray(numpy.asarray(dout))
    elif isinstance(dout, numpy.ndarray) and xp.ndarray is not numpy.ndarray:
        dout = asarray(dout)
    if tuple(dout.shape) != tuple(shape):
        raise ValueError(f"{layer}.backward: dout must have the shape of the forward output "
                         f"{tuple(shape)}, got {tuple(dout.shape)}.")
    if numpy.dtype(dout.dtype).kind != "f":
        raise TypeError(f"{layer}.backward: dout must be a float array, got dtype {dout.dtype}.")
    return dout


def _as_float(layer: str, x, dtype, name: str = "input x"):
    """``x`` on the backend in the layer's dtype (one conversion only if needed), finite."""
    if not hasattr(x, "dtype"):
        x = asarray(numpy.asarray(x))
    elif isinstance(x, numpy.ndarray) and xp.ndarray is not numpy.ndarray:
        x = asarray(x)
    if x.dtype != dtype:
        if numpy.dtype(x.dtype).kind not in "fiub":
            raise TypeError(f"{layer}: {name} must be a numeric float array, got dtype "
                            f"{x.dtype}.")
        x = x.astype(dtype)
    return check_finite(layer, name, x)


def _no_forward(layer: str):
    return RuntimeError(f"{layer}.backward was called before forward: run forward first.")


# ----------------------------------------------------------------------------
# Dense


class Dense(Module):
    r"""Fully connected (affine) layer :math:`y = x W + b`.

    Works on inputs of any leading shape ``(N, ..., in_features)``: they are
    viewed as a matrix with ``in_features`` columns, so the whole batch is one
    matrix product.

    Backward, with :math:`X` the inputs as rows and :math:`\delta = \partial L/\partial y`:

    .. math:: \frac{\partial L}{\partial W} = X^\top \delta, \quad
              \frac{\partial L}{\partial b} = \textstyle\sum_n \delta_n, \quad
              \frac{\partial L}{\partial X} = \delta\, W^\top.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    init : {"glorot", "he"}
        Glorot and Bengio (2010) uniform (tanh/sigmoid networks) or He et al.
        (2015) normal (ReLU networks) for ``W``; ``b`` starts at zero.
    rng : None, int or numpy.random.Generator
        Seed of the initial weights (drawn on the host, so CPU and GPU agree).
    dtype : str or dtype, optional
        Default: :func:`gdlib.nn.get_default_dtype` (float32).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "glorot", rng=None, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) or v < 1:
                raise ValueError(f"Dense: {name} must be a positive int, got {v!r}.")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = resolve_dtype(dtype)
        gen = _init.as_generator(rng)
        shape = (self.in_features, self.out_features)
        if init == "glorot":
            W = _init.glorot_uniform(shape, self.in_features, self.out_features, gen, self.dtype)
        elif init == "he":
            W = _init.he_normal(shape, self.in_features, gen, self.dtype)
        else:
            raise ValueError(f"Dense: init must be 'glorot' or 'he', got {init!r}.")
        self.init = init
        self.add_param("W", W)
        if not isinstance(bias, (bool, numpy.bool_)):
            raise TypeError(f"Dense: bias must be True or False, got {bias!r}.")
        self.bias = bool(bias)
        if self.bias:
            self.add_param("b", _init.zeros((self.out_features,), self.dtype))
        self._x2 = None
        self._shape = None

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias}"

    def forward(self, x):
        x = _as_float("Dense", x, self.dtype)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Dense({self.in_features}, {self.out_features}) expects inputs of shape "
                f"(..., {self.in_features}), got {tuple(x.shape)}."
            )
        self._shape = x.shape
        self._x2 = x2 = x.reshape(-1, self.in_features)
        y = x2 @ self.params["W"]
        if self.bias:
            y += self.params["b"]
        return y.reshape(*x.shape[:-1], self.out_features)

    def backward(self, dout):
        if self._x2 is None:
            raise _no_forward("Dense")
        dout = check_dout("Dense", dout, (*self._shape[:-1], self.out_features))
        d2 = dout.reshape(-1, self.out_features)
        self.grads["W"] += self._x2.T @ d2          # dL/dW = X^T delta
        if self.bias:
            self.grads["b"] += d2.sum(axis=0)         # dL/db = sum_n delta_n
        return (d2 @ self.params["W"].T).reshape(self._shape)  # dL/dX = delta W^T


# ----------------------------------------------------------------------------
# Activations


class _Activation(Module):
    """Element-wise activation: keeps what its derivative needs."""

    def _dtype(self, x):
        x = _as_float(type(self).__name__, x, x.dtype if hasattr(x, "dtype")
                      and numpy.dtype(x.dtype).kind == "f" else resolve_dtype(None))
        self._out_shape = x.shape
        return x

    def _dout(self, dout):
        """``dout``, checked against the shape of the last forward output."""
        return check_dout(type(self).__name__, dout, self._out_shape)


class ReLU(_Activation):
    r"""Rectified linear unit :math:`y = \max(x, 0)`, :math:`y' = [x > 0]`.

    Nair and Hinton (2010); Glorot, Bordes and Bengio (2011) for deep networks.
    """

    def __init__(self):
        super().__init__()
        self._mask = None

    def forward(self, x):
        x = self._dtype(x)
        self._mask = x > 0
        return x * self._mask

    def backward(self, dout):
        if self._mask is None:
            raise _no_forward("ReLU")
        dout = self._dout(dout)
        return dout * self._mask


class LeakyReLU(_Activation):
    r"""Leaky ReLU: :math:`y = x` for :math:`x > 0`, :math:`y = a x` otherwise.

    Maas, Hannun and Ng (2013). The small slope :math:`a` keeps a gradient for
    negative inputs.

    Parameters
    ----------
    slope : float, default 0.01
        :math:`a`, PyTorch's ``negative_slope``.
    """

    def __init__(self, slope: float = 0.01):
        super().__init__()
        if not isinstance(slope, Real) or isinstance(slope, (bool, numpy.bool_)) \
                or not math.isfinite(slope):
            raise ValueError(f"LeakyReLU: slope must be a finite number, got {slope!r}.")
        self.slope = float(slope)
        self._mask = None

    def extra_repr(self) -> str:
        return f"slope={self.slope:g}"

    def forward(self, x):
        x = self._dtype(x)
        self._mask = x > 0
        return array_module(x).where(self._mask, x, self.slope * x)

    def backward(self, dout):
        if self._mask is None:
            raise _no_forward("LeakyReLU")
        dout = self._dout(dout)
        return array_module(dout).where(self._mask, dout, self.slope * dout)


class Tanh(_Activation):
    r"""Hyperbolic tangent :math:`y = \tanh x`, :math:`y' = 1 - y^2`."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        x = self._dtype(x)
        self._y = array_module(x).tanh(x)
        return self._y

    def backward(self, dout):
        if self._y is None:
            raise _no_forward("Tanh")
        dout = self._dout(dout)
        return dout * (1 - self._y * self._y)


class Sigmoid(_Activation):
    r"""Logistic sigmoid :math:`y = \sigma(x)`, :math:`y' = y (1 - y)`."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        x = self._dtype(x)
        self._y = sigmoid(x)
        return self._y

    def backward(self, dout):
        if self._y is None:
            raise _no_forward("Sigmoid")
        dout = self._dout(dout)
        return dout * self._y * (1 - self._y)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(_Activation):
    r"""Gaussian error linear unit :math:`y = x\,\Phi(x)` (Hendrycks and Gimpel, 2016).

    With ``approximate="tanh"`` (the default here; the same formula runs on
    NumPy and CuPy without special functions) it uses the paper's approximation

    .. math:: y = \tfrac12 x \bigl(1 + \tanh u\bigr), \quad
              u = \sqrt{2/\pi}\,(x + 0.044715\,x^3),

    .. math:: y' = \tfrac12 (1 + \tanh u) + \tfrac12 x (1 - \tanh^2 u)\,
              \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\, x^2).

    ``approximate="none"`` uses the exact :math:`\Phi(x) = \tfrac12(1 +
    \mathrm{erf}(x/\sqrt2))` (SciPy's ``erf`` on NumPy, ``cupyx.scipy.special``
    on CuPy), :math:`y' = \Phi(x) + x\,\varphi(x)`. PyTorch's default is
    ``"none"``; the two differ by less than 1e-3.
    """

    def __init__(self, approximate: str = "tanh"):
        super().__init__()
        if approximate not in ("tanh", "none"):
            raise ValueError(f"GELU: approximate must be 'tanh' or 'none', got {approximate!r}.")
        self.approximate = approximate
        self._x = self._a = None

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"

    def forward(self, x):
        x = self._dtype(x)
        mod = array_module(x)
        self._x = x
        if self.approximate == "tanh":
            # a = tanh(sqrt(2/pi) (x + 0.044715 x^3)), y = x (1 + a) / 2, in place
            t = x * x
            t *= 0.044715
            t += 1.0
            t *= x
            t *= _SQRT_2_OVER_PI
            self._a = t = mod.tanh(t, out=t)
            y = t + 1.0
            y *= x
            y *= 0.5
            return y
        if mod is numpy:
            from scipy.special import erf
        else:  # pragma: no cover - GPU only
            from cupyx.scipy.special import erf
        self._a = cdf = (0.5 * (1 + erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)
        return x * cdf

    def backward(self, dout):
        if self._x is None:
            raise _no_forward("GELU")
        dout = self._dout(dout)
        x, a = self._x, self._a
        mod = array_module(x)
        if self.approximate == "tanh":
            # dout * (0.5 (1 + a) + 0.5 x (1 - a^2) du), du = sqrt(2/pi) (1 + 3 * 0.044715 x^2),
            # written in place: two temporaries instead of a dozen (5x faster on the CPU)
            du = x * x
            du *= 3 * 0.044715
            du += 1.0
            du *= _SQRT_2_OVER_PI
            g = a * a
            mod.subtract(1.0, g, out=g)             # 1 - a^2
            g *= x
            g *= du
            g += a
            g += 1.0
            g *= 0.5
            g *= dout
            return g
        pdf = mod.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return dout * (a + x * pdf)


# ----------------------------------------------------------------------------
# Dropout and Flatten


class Dropout(Module):
    r"""Inverted dropout (Srivastava, Hinton et al., 2014).

    In training mode each entry is kept with probability :math:`1 - p` and
    scaled by :math:`1/(1-p)`, so the expected output equals the input and
    evaluation mode is the identity:

    .. math:: y = x \odot m / (1 - p), \quad m_i \sim \mathrm{Bernoulli}(1 - p),
              \qquad \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}
              \odot m / (1 - p).

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping an entry.
    rng : None, int or numpy.random.Generator
        Seed of the masks (drawn on the host: the same masks on CPU and GPU).
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if isinstance(p, (bool, numpy.bool_)) or not isinstance(p, Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {p!r}.")
        self.p = float(p)
        self.rng = _init.as_generator(rng)
        self._scale = None

    def extra_repr(self) -> str:
        return f"p={self.p:g}"

    def forward(self, x):
        x = _as_float("Dropout", x, x.dtype if hasattr(x, "dtype")
                      and numpy.dtype(x.dtype).kind == "f" else resolve_dtype(None))
        self._out_shape = x.shape
        if not self.training or self.p == 0.0:
            self._scale = 1.0
            return x
        keep = self.rng.random(x.shape, dtype=numpy.float32) >= self.p
        self._scale = asarray(keep.astype(x.dtype) * numpy.asarray(1.0 / (1.0 - self.p),
                                                                   dtype=x.dtype))
        return x * self._scale

    def backward(self, dout):
        if self._scale is None:
            raise _no_forward("Dropout")
        return check_dout("Dropout", dout, self._out_shape) * self._scale


class Flatten(Module):
    """``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``; backward reshapes back."""

    def __init__(self):
        super().__init__()
        self._shape = None

    def forward(self, x):
        if getattr(x, "ndim", 0) < 1:
            raise ValueError(f"Flatten expects an array with a batch axis, got {x!r}.")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        if self._shape is None:
            raise _no_forward("Flatten")
        n = self._shape[0]
        return check_dout("Flatten", dout, (n, math.prod(self._shape[1:]))).reshape(self._shape)

r"""Convolution and pooling on NCHW images, by im2col and one matrix product.

A 2-D convolution (LeCun et al., 1989) slides a :math:`C \times k_h \times k_w`
filter over the image. Unrolling every receptive field into a row
(:func:`im2col`, Chellapilla, Puri and Simard, 2006) turns the whole layer into
one matrix product, the operation computers do fastest:

.. math:: Y = \mathrm{cols}(X)\, W^\top + b, \qquad
          \mathrm{cols}(X) \in \mathbb{R}^{(N H_o W_o) \times (C k_h k_w)}.

The backward pass is the same product transposed, and :func:`col2im` adds each
row's gradient back where the row came from (overlapping windows add up):

.. math:: \frac{\partial L}{\partial W} = \delta^\top \mathrm{cols}(X), \quad
          \frac{\partial L}{\partial X} = \mathrm{col2im}(\delta\, W).

Output size along one axis: :math:`H_o = \lfloor (H + 2p - k_h)/s \rfloor + 1`.
"""

from __future__ import annotations

import numpy

from ..backend import array_module
from . import init as _init
from .layers import _as_float, _no_forward
from .module import Module, resolve_dtype

__all__ = ["Conv2D", "MaxPool2D", "AvgPool2D", "im2col", "col2im", "conv_output_size"]


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(vals) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, numpy.integer))
                             or v < minimum for v in vals):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}.")
    return int(vals[0]), int(vals[1])


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    r""":math:`\lfloor (\text{size} + 2\,\text{padding} - \text{kernel}) / \text{stride}
    \rfloor + 1`."""
    return (size + 2 * padding - kernel) // stride + 1


def _windows(x, kh: int, kw: int, stride, padding, fill=0.0):
    """A strided view of shape ``(N, C, Ho, Wo, kh, kw)`` on the padded input (no copy
    except the padding)."""
    mod = array_module(x)
    sh, sw = stride
    ph, pw = padding
    if ph or pw:
        x = mod.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    s = x.strides
    return mod.lib.stride_tricks.as_strided(
        x, shape=(N, C, Ho, Wo, kh, kw),
        strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))


def _fold(d6, x_shape, stride, padding):
    """Add ``d6`` of shape ``(N, C, Ho, Wo, kh, kw)`` back onto an ``x_shape`` image.

    A loop over the :math:`k_h k_w` kernel offsets only: each offset is one
    strided slice of the (padded) image.
    """
    mod = array_module(d6)
    N, C, H, W = x_shape
    sh, sw = stride
    ph, pw = padding
    _, _, Ho, Wo, kh, kw = d6.shape
    dx = mod.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=d6.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += d6[:, :, :, :, i, j]
    if ph or pw:
        dx = dx[:, :, ph:ph + H, pw:pw + W]
    return dx


def im2col(x, kh: int, kw: int, stride=1, padding=0):
    r"""Unroll the receptive fields of ``x`` (N, C, H, W) into rows.

    Returns
    -------
    array of shape ``(N * Ho * Wo, C * kh * kw)``
        Row :math:`(n, i, j)` (in that order) holds the window of example
        :math:`n` whose top-left corner is at :math:`(s i - p, s j - p)`,
        flattened channel-major :math:`(c, a, b)`: the layout of a
        ``(C_out, C, kh, kw)`` weight reshaped to ``(C_out, C kh kw)``.
    """
    stride, padding = _pair("stride", stride, 1), _pair("padding", padding, 0)
    win = _windows(x, kh, kw, stride, padding)
    N, C, Ho, Wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)


def col2im(cols, x_shape, kh: int, kw: int, stride=1, padding=0):
    """The adjoint of :func:`im2col`: add each row back onto its window.

    ``col2im(im2col(x))`` is not ``x``: a pixel covered by several windows is
    counted once per window. This is exactly what the gradient needs.

    Parameters
    ----------
    cols : array of shape ``(N * Ho * Wo, C * kh * kw)``
    x_shape : tuple ``(N, C, H, W)``
    """
    stride, padding = _pair("stride", stride, 1), _pair("padding", padding, 0)
    N, C, H, W = x_shape
    Ho = conv_output_size(H, kh, stride[0], padding[0])
    Wo = conv_output_size(W, kw, stride[1], padding[1])
    if cols.shape != (N * Ho * Wo, C * kh * kw):
        raise ValueError(f"col2im: cols of shape {tuple(cols.shape)} do not fit x_shape "
                         f"{tuple(x_shape)}; expected {(N * Ho * Wo, C * kh * kw)}.")
    d6 = cols.reshape(N, Ho, Wo, C, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    return _fold(d6, x_shape, stride, padding)


def _check_image(layer: str, x, channels=None):
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        want = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{layer} expects inputs of shape {want} (NCHW), "
                         f"got {tuple(x.shape)}.")


class Conv2D(Module):
    r"""2-D convolution (cross-correlation, as in every framework) on NCHW inputs.

    .. math:: y_{n,o,i,j} = b_o + \sum_{c,a,b} W_{o,c,a,b}\;
              x_{n,c,\,s i + a - p,\, s j + b - p}

    computed as ``im2col(x) @ W.reshape(C_out, -1).T`` (one matrix product).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), default 1
    padding : int or (int, int), default 0
        Zeros added on each side.
    bias : bool, default True
    rng : None, int or numpy.random.Generator
        Seed of the He et al. (2015) normal initial weights,
        :math:`\mathrm{std} = \sqrt{2 / (C k_h k_w)}`; bias starts at zero.
    dtype : str or dtype, optional

    Attributes
    ----------
    params : ``W`` of shape ``(out_channels, in_channels, kh, kw)`` (PyTorch's
        layout) and ``b`` of shape ``(out_channels,)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, rng=None, dtype=None):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) or v < 1:
                raise ValueError(f"Conv2D: {name} must be a positive int, got {v!r}.")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair("Conv2D: kernel_size", kernel_size, 1)
        self.stride = _pair("Conv2D: stride", stride, 1)
        self.padding = _pair("Conv2D: padding", padding, 0)
        self.dtype = resolve_dtype(dtype)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        self.add_param("W", _init.he_normal((self.out_channels, self.in_channels, kh, kw),
                                            fan_in, _init.as_generator(rng), self.dtype))
        self.bias = bool(bias)
        if self.bias:
            self.add_param("b", _init.zeros((self.out_channels,), self.dtype))
        self._cache = None

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")

    def _describe(self) -> str:
        return f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size})"

    def forward(self, x):
        x = _as_float("Conv2D", x, self.dtype)
        _check_image(self._describe(), x, self.in_channels)
        N, C, H, W = x.shape
        kh, kw = self.kernel_size
        Ho = conv_output_size(H, kh, self.stride[0], self.padding[0])
        Wo = conv_output_size(W, kw, self.stride[1], self.padding[1])
        if Ho < 1 or Wo < 1:
            raise ValueError(
                f"{self._describe()}: input {H}x{W} with padding {self.padding} is smaller "
                f"than the kernel {kh}x{kw}; pad it or use a smaller kernel."
            )
        cols = im2col(x, kh, kw, self.stride, self.padding)        # (N Ho Wo, C kh kw)
        W2 = self.params["W"].reshape(self.out_channels, -1)       # (C_out, C kh kw)
        y = cols @ W2.T                                             # (N Ho Wo, C_out)
        if self.bias:
            y += self.params["b"]
        self._cache = (cols, x.shape, Ho, Wo)
        return y.reshape(N, Ho, Wo, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("Conv2D")
        cols, x_shape, Ho, Wo = self._cache
        d2 = dout.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)   # delta, (N Ho Wo, C_out)
        W2 = self.params["W"].reshape(self.out_channels, -1)
        self.grads["W"] += (d2.T @ cols).reshape(self.params["W"].shape)  # delta^T cols
        if self.bias:
            self.grads["b"] += d2.sum(axis=0)
        kh, kw = self.kernel_size
        return col2im(d2 @ W2, x_shape, kh, kw, self.stride, self.padding)


class _Pool2D(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(f"{name}: kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _pair(f"{name}: stride", stride, 1)
        self.padding = _pair(f"{name}: padding", padding, 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half the "
                             f"kernel size {self.kernel_size}.")
        self._cache = None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _prepare(self, x):
        name = type(self).__name__
        x = _as_float(name, x, x.dtype if hasattr(x, "dtype") and numpy.dtype(x.dtype).kind == "f"
                      else resolve_dtype(None))
        _check_image(name, x)
        kh, kw = self.kernel_size
        H, W = x.shape[2:]
        if conv_output_size(H, kh, self.stride[0], self.padding[0]) < 1 or \
                conv_output_size(W, kw, self.stride[1], self.padding[1]) < 1:
            raise ValueError(f"{name}: input {H}x{W} is smaller than the window {kh}x{kw}.")
        fast = (self.stride == self.kernel_size and self.padding == (0, 0)
                and H % kh == 0 and W % kw == 0)
        return x, fast


class MaxPool2D(_Pool2D):
    r"""Max pooling: the largest value of each window (Weng et al., 1992; Ranzato et al., 2007).

    Backward sends each window's gradient to the position of its maximum
    (the first one on ties, as PyTorch), zero elsewhere:

    .. math:: \frac{\partial L}{\partial x_{a}} = \sum_{\text{windows } w:\ a = \arg\max_w}
              \frac{\partial L}{\partial y_w}.

    Non-overlapping windows that tile the image (the usual ``kernel_size=2``)
    take a fast path: one reshape instead of a strided window view.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int), default 0
        Implicit ``-inf`` padding, at most half the kernel.
    """

    def forward(self, x):
        x, fast = self._prepare(x)
        mod = array_module(x)
        N, C, H, W = x.shape
        kh, kw = self.kernel_size
        if fast:
            Ho, Wo = H // kh, W // kw
            win = x.reshape(N, C, Ho, kh, Wo, kw).transpose(0, 1, 2, 4, 3, 5)
        else:
            win = _windows(x, kh, kw, self.stride, self.padding, fill=-numpy.inf)
            Ho, Wo = win.shape[2:4]
        win = win.reshape(N, C, Ho, Wo, kh * kw)
        arg = win.argmax(axis=-1)
        out = mod.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        self._cache = (arg, x.shape, fast, Ho, Wo)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("MaxPool2D")
        arg, x_shape, fast, Ho, Wo = self._cache
        mod = array_module(dout)
        N, C, H, W = x_shape
        kh, kw = self.kernel_size
        onehot = arg[..., None] == mod.arange(kh * kw)               # the argmax routes
        d = (onehot * dout[..., None]).astype(dout.dtype, copy=False)
        d = d.reshape(N, C, Ho, Wo, kh, kw)
        if fast:
            return d.transpose(0, 1, 2, 4, 3, 5).reshape(x_shape)
        return _fold(d, x_shape, self.stride, self.padding)


class AvgPool2D(_Pool2D):
    r"""Average pooling: the mean of each window; backward spreads
    :math:`\partial L/\partial y_w / (k_h k_w)` evenly over the window.

    Padding counts as zeros in the mean (PyTorch's ``count_include_pad=True``).

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int), default 0
    """

    def forward(self, x):
        x, fast = self._prepare(x)
        N, C, H, W = x.shape
        kh, kw = self.kernel_size
        if fast:
            Ho, Wo = H // kh, W // kw
            out = x.reshape(N, C, Ho, kh, Wo, kw).mean(axis=(3, 5))
        else:
            win = _windows(x, kh, kw, self.stride, self.padding)
            Ho, Wo = win.shape[2:4]
            out = win.mean(axis=(4, 5))
        self._cache = (x.shape, fast, Ho, Wo)
        return out.astype(x.dtype, copy=False)

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("AvgPool2D")
        x_shape, fast, Ho, Wo = self._cache
        mod = array_module(dout)
        N, C, H, W = x_shape
        kh, kw = self.kernel_size
        share = dout / (kh * kw)
        d = mod.broadcast_to(share[..., None, None], (N, C, Ho, Wo, kh, kw))
        if fast:
            return d.transpose(0, 1, 2, 4, 3, 5).reshape(x_shape)
        return _fold(d, x_shape, self.stride, self.padding)

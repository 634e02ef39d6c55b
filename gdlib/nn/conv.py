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
from .layers import _as_float, _no_forward, check_dout
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


def _offsets(kh: int, kw: int):
    """The kernel offsets ``(a, b)`` in row-major order."""
    return [(a, b) for a in range(kh) for b in range(kw)]


def _pad_nchw(x, padding, fill=0.0):
    mod = array_module(x)
    ph, pw = padding
    if not (ph or pw):
        return x
    N, C, H, W = x.shape
    out = mod.full((N, C, H + 2 * ph, W + 2 * pw), fill, dtype=x.dtype)
    out[:, :, ph:ph + H, pw:pw + W] = x
    return out


def _zeros_nchw(shape, dtype, channels_last: bool, mod):
    """Zeros of NCHW ``shape``, stored channels-last when ``channels_last`` (the memory
    order of a convolution's output, so the gradient flows back without copies)."""
    if not channels_last:
        return mod.zeros(shape, dtype=dtype)
    N, C, H, W = shape
    return mod.zeros((N, H, W, C), dtype=dtype).transpose(0, 3, 1, 2)


def _channels_last(x) -> bool:
    return x.ndim == 4 and x.shape[1] > 1 and x.strides[1] < x.strides[3]


def im2col(x, kh: int, kw: int, stride=1, padding=0):
    r"""Unroll the receptive fields of ``x`` (N, C, H, W) into rows.

    Returns
    -------
    array of shape ``(N * Ho * Wo, kh * kw * C)``
        Row :math:`(n, i, j)` (in that order) holds the window of example
        :math:`n` whose top-left corner is at :math:`(s i - p, s j - p)`,
        flattened as :math:`(a, b, c)`: kernel row, kernel column, channel
        (channel fastest, so that each copied run is a pixel's channels). A
        PyTorch-layout weight ``W`` of shape ``(C_out, C, kh, kw)`` matches it as
        ``W.transpose(0, 2, 3, 1).reshape(C_out, -1)``, and the convolution is
        ``im2col(x) @ that.T``.

    Notes
    -----
    No Python loop over examples: either one strided view copied once (many
    channels) or one slice copy per kernel offset (few channels), whichever
    moves memory in longer runs.
    """
    mod = array_module(x)
    (sh, sw), (ph, pw) = _pair("stride", stride, 1), _pair("padding", padding, 0)
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    xh = x.transpose(0, 2, 3, 1)                                   # NHWC view
    if ph or pw:
        xpad = mod.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)
        xpad[:, ph:ph + H, pw:pw + W, :] = xh
    else:
        xpad = mod.ascontiguousarray(xh)
    if C >= 4:
        s = xpad.strides
        win = mod.lib.stride_tricks.as_strided(
            xpad, shape=(N, Ho, Wo, kh, kw, C),
            strides=(s[0], s[1] * sh, s[2] * sw, s[1], s[2], s[3]))
        return win.reshape(N * Ho * Wo, kh * kw * C)
    cols = mod.empty((N, Ho, Wo, kh, kw, C), dtype=x.dtype)
    for a, b in _offsets(kh, kw):
        cols[:, :, :, a, b, :] = xpad[:, a:a + sh * Ho:sh, b:b + sw * Wo:sw, :]
    return cols.reshape(N * Ho * Wo, kh * kw * C)


def col2im(cols, x_shape, kh: int, kw: int, stride=1, padding=0):
    """The adjoint of :func:`im2col`: add each row back onto its window.

    ``col2im(im2col(x))`` is not ``x``: a pixel covered by several windows is
    counted once per window. This is exactly what the gradient needs. A loop
    over the :math:`k_h k_w` kernel offsets (each one strided slice), never
    over examples.

    Parameters
    ----------
    cols : array of shape ``(N * Ho * Wo, kh * kw * C)``, laid out as :func:`im2col`'s
    x_shape : tuple ``(N, C, H, W)``

    Returns
    -------
    array of shape ``x_shape``
    """
    mod = array_module(cols)
    (sh, sw), (ph, pw) = _pair("stride", stride, 1), _pair("padding", padding, 0)
    N, C, H, W = x_shape
    Ho, Wo = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    if tuple(cols.shape) != (N * Ho * Wo, kh * kw * C):
        raise ValueError(f"col2im: cols of shape {tuple(cols.shape)} do not fit x_shape "
                         f"{tuple(x_shape)}; expected {(N * Ho * Wo, kh * kw * C)}.")
    d6 = cols.reshape(N, Ho, Wo, kh, kw, C)
    dx = mod.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=cols.dtype)   # NHWC, padded
    for a, b in _offsets(kh, kw):
        dx[:, a:a + sh * Ho:sh, b:b + sw * Wo:sw, :] += d6[:, :, :, a, b, :]
    return dx[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)      # NCHW view


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
        cols = im2col(x, kh, kw, self.stride, self.padding)        # (N Ho Wo, kh kw C)
        y = cols @ self._weight_matrix().T                          # (N Ho Wo, C_out)
        if self.bias:
            y += self.params["b"]
        self._cache = (cols, x.shape)
        # NCHW view of NHWC memory: the next layers work on views, no copy here
        return y.reshape(N, Ho, Wo, self.out_channels).transpose(0, 3, 1, 2)

    def _weight_matrix(self):
        """``W`` (C_out, C, kh, kw) as the (C_out, kh kw C) matrix that fits :func:`im2col`."""
        return self.params["W"].transpose(0, 2, 3, 1).reshape(self.out_channels, -1)

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("Conv2D")
        cols, x_shape = self._cache
        kh, kw = self.kernel_size
        N, _, H, W = x_shape
        out_shape = (N, self.out_channels,
                     conv_output_size(H, kh, self.stride[0], self.padding[0]),
                     conv_output_size(W, kw, self.stride[1], self.padding[1]))
        dout = check_dout(self._describe(), dout, out_shape)
        d2 = dout.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)  # delta, (N Ho Wo, C_out)
        dW = (d2.T @ cols).reshape(self.out_channels, kh, kw, self.in_channels)  # delta^T cols
        self.grads["W"] += dW.transpose(0, 3, 1, 2)
        if self.bias:
            self.grads["b"] += d2.sum(axis=0)
        (ph, pw) = self.padding
        if self.stride == (1, 1) and ph < kh and pw < kw:
            # Stride 1: dL/dx is itself a convolution, of delta (padded by k-1-p) with the
            # kernel flipped and its in/out channels swapped; one more im2col + matmul,
            # cheaper than adding the columns back with col2im.
            N, C, H, W = x_shape
            dcols = im2col(dout, kh, kw, 1, (kh - 1 - ph, kw - 1 - pw))   # (N H W, kh kw C_out)
            Wt = self.params["W"][:, :, ::-1, ::-1].transpose(1, 2, 3, 0).reshape(C, -1)
            return (dcols @ Wt.T).reshape(N, H, W, C).transpose(0, 3, 1, 2)
        return col2im(d2 @ self._weight_matrix(), x_shape, kh, kw, self.stride, self.padding)


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
        Ho = conv_output_size(H, kh, self.stride[0], self.padding[0])
        Wo = conv_output_size(W, kw, self.stride[1], self.padding[1])
        if Ho < 1 or Wo < 1:
            raise ValueError(f"{name}: input {H}x{W} is smaller than the window {kh}x{kw}.")
        return x, (Ho, Wo)


class MaxPool2D(_Pool2D):
    r"""Max pooling: the largest value of each window (Weng et al., 1992; Ranzato et al., 2007).

    Backward sends each window's gradient to the position of its maximum
    (the first one on ties, as PyTorch), zero elsewhere:

    .. math:: \frac{\partial L}{\partial x_{a}} = \sum_{\text{windows } w:\ a = \arg\max_w}
              \frac{\partial L}{\partial y_w}.

    Both directions loop over the :math:`k_h k_w` kernel offsets, each a
    strided slice of the whole batch; for the usual non-overlapping
    ``kernel_size=2`` that is four element-wise operations, faster in NumPy
    than reshaping the image into windows.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int), default 0
        Implicit ``-inf`` padding, at most half the kernel.
    """

    def forward(self, x):
        x, (Ho, Wo) = self._prepare(x)
        mod = array_module(x)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        xpad = _pad_nchw(x, self.padding, fill=-numpy.inf)
        best = None
        for a, b in _offsets(kh, kw):
            s = xpad[:, :, a:a + sh * Ho:sh, b:b + sw * Wo:sw]
            best = s if best is None else mod.maximum(best, s)
        if kh * kw == 1:
            best = best.copy()
        self._cache = (xpad, best, x.shape, _channels_last(x))
        return best

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("MaxPool2D")
        xpad, best, x_shape, channels_last = self._cache
        dout = check_dout("MaxPool2D", dout, best.shape)
        mod = array_module(dout)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = best.shape[2:]
        dx = _zeros_nchw(xpad.shape, dout.dtype, channels_last, mod)
        left = dout                      # gradient not yet routed (ties: the first max wins)
        for o, (a, b) in enumerate(_offsets(kh, kw)):
            hit = xpad[:, :, a:a + sh * Ho:sh, b:b + sw * Wo:sw] == best
            routed = left * hit
            dx[:, :, a:a + sh * Ho:sh, b:b + sw * Wo:sw] += routed
            if o + 1 < kh * kw:
                left = left - routed
        H, W = x_shape[2:]
        return dx[:, :, ph:ph + H, pw:pw + W] if (ph or pw) else dx


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
        x, (Ho, Wo) = self._prepare(x)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        xpad = _pad_nchw(x, self.padding)
        total = None
        for a, b in _offsets(kh, kw):
            s = xpad[:, :, a:a + sh * Ho:sh, b:b + sw * Wo:sw]
            total = s.copy() if total is None else total.__iadd__(s)
        total *= 1.0 / (kh * kw)
        self._cache = (x.shape, xpad.shape, Ho, Wo, _channels_last(x))
        return total

    def backward(self, dout):
        if self._cache is None:
            raise _no_forward("AvgPool2D")
        x_shape, pad_shape, Ho, Wo, channels_last = self._cache
        dout = check_dout("AvgPool2D", dout, (*x_shape[:2], Ho, Wo))
        mod = array_module(dout)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        share = dout * (1.0 / (kh * kw))
        dx = _zeros_nchw(pad_shape, dout.dtype, channels_last, mod)
        for a, b in _offsets(kh, kw):
            dx[:, :, a:a + sh * Ho:sh, b:b + sw * Wo:sw] += share
        H, W = x_shape[2:]
        return dx[:, :, ph:ph + H, pw:pw + W] if (ph or pw) else dx

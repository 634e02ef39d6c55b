r"""Low-precision arithmetic for training: float16, bfloat16, loss scaling, master weights.

A floating-point number is :math:`(-1)^s \, 2^{e} \, (1.m_1 m_2 \dots m_p)_2`
with a sign bit, an exponent of a few bits and :math:`p` stored mantissa bits
(IEEE 754-2008). The mantissa width sets the *relative* rounding error, at most
the unit roundoff :math:`u = 2^{-(p+1)}` (Higham, 2002, ch. 2); the exponent
width sets the *range*. float16 keeps 10 mantissa bits and 5 exponent bits;
bfloat16 (Kalamkar et al., 2019) keeps float32's 8 exponent bits and only 7
mantissa bits.

Training in float16 meets two failures (Micikevicius et al., 2018):

- **Small gradients flush to zero** below float16's smallest subnormal
  :math:`2^{-24} \approx 6 \times 10^{-8}`. *Loss scaling* multiplies the loss
  by :math:`S` before the backward pass (so every gradient is :math:`S` times
  larger) and divides the float32 gradient by :math:`S` before the step.
  :class:`GradScaler` chooses :math:`S` dynamically as ``torch.amp.GradScaler``
  does: start at :math:`2^{16}`, halve it and skip the step when a gradient
  overflows, double it after 2000 steps without overflow.
- **Small updates vanish**: :math:`w - \eta g` rounds back to :math:`w` when
  :math:`|\eta g|` is below half the spacing of the numbers near :math:`w`.
  *Master weights* keep a float32 copy of the parameters that the optimizer
  updates; the forward and backward passes use a float16 copy made from it at
  every step (:class:`MixedPrecision`).

bfloat16 is the NumPy dtype of the ``ml_dtypes`` package (as JAX uses it);
on CuPy, which has no bfloat16, :func:`round_to` rounds float32 values to the
nearest bfloat16 with integer operations on their bits.

Sources
-------
- IEEE (2008), "IEEE Standard for Floating-Point Arithmetic", IEEE 754-2008.
- N. J. Higham (2002), *Accuracy and Stability of Numerical Algorithms*, 2nd
  ed., SIAM, ch. 2.
- P. Micikevicius et al. (2018), "Mixed precision training", ICLR,
  arXiv:1710.03740.
- D. Kalamkar et al. (2019), "A study of BFLOAT16 for deep learning training",
  arXiv:1905.12322.
- PyTorch, ``torch.amp.GradScaler`` (torch 2.13): the dynamic loss-scale rule.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy

from .backend import array_module, to_host
from .nn.module import Module
from .optim.base import Optimizer, check_bool, check_int, check_real
from .train import _leaves

__all__ = [
    "bfloat16",
    "FORMATS",
    "as_format",
    "format_info",
    "format_table",
    "round_to",
    "ulp",
    "float_bits",
    "flushed_fraction",
    "GradScaler",
    "MixedPrecisionOptimizer",
    "RoundTo",
    "emulate",
    "MixedPrecision",
    "ScaledLoss",
]

#: The bfloat16 NumPy dtype (from ``ml_dtypes``).
bfloat16 = numpy.dtype(ml_dtypes.bfloat16)

#: The formats this module knows, widest first.
FORMATS = ("float64", "float32", "float16", "bfloat16")


def as_format(dtype, name: str = "dtype") -> numpy.dtype:
    """``dtype`` as one of the NumPy dtypes of :data:`FORMATS`.

    Accepts the names (``"bfloat16"``, ``"float16"``...), NumPy dtypes and
    ``ml_dtypes.bfloat16``.

    Raises
    ------
    TypeError
        When ``dtype`` is not one of the four formats (the message names ``name``).
    """
    if isinstance(dtype, str) and dtype.strip().lower() in ("bfloat16", "bf16"):
        return bfloat16
    try:
        dt = None if dtype is None else numpy.dtype(dtype)    # dtype(None) would be float64
    except TypeError:
        dt = None
    if dt is None or dt.name not in FORMATS:
        raise TypeError(
            f"{name} must be one of {', '.join(FORMATS)} (a name or a NumPy dtype), got "
            f"{dtype!r}."
        )
    return dt


def _finfo(dt: numpy.dtype):
    return ml_dtypes.finfo(dt) if dt == bfloat16 else numpy.finfo(dt)


def format_info(dtype) -> dict:
    r"""The bit layout and limits of a format, read from ``numpy.finfo`` / ``ml_dtypes.finfo``.

    Returns
    -------
    dict
        ``name``, ``bits``, ``exponent_bits``, ``mantissa_bits`` (stored, :math:`p`),
        ``eps`` (spacing above 1, :math:`2^{-p}`), ``unit_roundoff``
        (:math:`u = 2^{-(p+1)}`), ``max``, ``smallest_normal`` and
        ``smallest_subnormal`` (as Python floats).
    """
    dt = as_format(dtype)
    f = _finfo(dt)
    return {
        "name": dt.name,
        "bits": dt.itemsize * 8,
        "exponent_bits": int(f.nexp),
        "mantissa_bits": int(f.nmant),
        "eps": float(f.eps),
        "unit_roundoff": float(f.eps) / 2,
        "max": float(f.max),
        "smallest_normal": float(f.smallest_normal),
        "smallest_subnormal": float(f.smallest_subnormal),
    }


def format_table() -> list[dict]:
    """:func:`format_info` of every format in :data:`FORMATS`, widest first."""
    return [format_info(name) for name in FORMATS]


def _round_bfloat16_bits(x32):
    """float32 array -> float32 array of the nearest bfloat16 values (ties to even).

    Integer arithmetic on the bits, for array modules without a bfloat16 dtype
    (CuPy): add ``0x7FFF`` plus the lowest kept bit, then clear the low 16
    bits. NaN stays NaN; values that round past bfloat16's largest number
    become infinity, as the cast does.
    """
    mod = array_module(x32)
    u = x32.view(mod.uint32).astype(mod.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    out = u.astype(mod.uint32).view(mod.float32)
    return mod.where(mod.isnan(x32), x32, out)


def round_to(x, dtype):
    """``x`` rounded to the nearest number of ``dtype`` (ties to even), kept in a wide dtype.

    Parameters
    ----------
    x : array_like
        Real numbers (NumPy or CuPy).
    dtype : str or dtype
        The format to round to (see :data:`FORMATS`).

    Returns
    -------
    array
        The rounded values in ``x``'s dtype when that is float32 or float64,
        else float64, so they can be compared with ``x`` directly. Values
        beyond the format's range become infinity; values below half its
        smallest subnormal become zero.
    """
    dt = as_format(dtype)
    mod = array_module(x) if hasattr(x, "dtype") else numpy
    x = mod.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"round_to: x must hold real numbers, got dtype {x.dtype}.")
    wide = x.dtype if x.dtype in (numpy.float32, numpy.float64) else numpy.dtype("float64")
    x = x.astype(wide, copy=False)
    if dt.itemsize >= wide.itemsize:
        return x.copy()
    if dt == bfloat16 and mod is not numpy:
        # float64 -> float32 -> bfloat16 rounds twice; float32 inputs round once.
        return _round_bfloat16_bits(x.astype(mod.float32)).astype(wide)
    with numpy.errstate(over="ignore"):
        return x.astype(dt).astype(wide)


def ulp(x, dtype) -> numpy.ndarray:
    r"""The spacing of the numbers of ``dtype`` at ``x`` (the unit in the last place).

    For :math:`2^e \le |x| < 2^{e+1}` it is :math:`2^{e-p}`, with :math:`p` the
    stored mantissa bits; below the smallest normal number it is the smallest
    subnormal (the spacing stops shrinking). An update smaller than half of it
    leaves ``x`` unchanged under round-to-nearest.

    Returns
    -------
    ndarray of float64
    """
    info = format_info(dtype)
    x = numpy.abs(numpy.asarray(to_host(x), dtype=float))
    if not numpy.isfinite(x).all():
        raise ValueError("ulp: x must be finite.")
    _, e = numpy.frexp(numpy.maximum(x, info["smallest_normal"]))   # x = m 2^e, m in [0.5, 1)
    return numpy.ldexp(1.0, e - 1 - info["mantissa_bits"])


def float_bits(x: float, dtype) -> tuple[str, str, str]:
    """The sign, exponent and mantissa bits of ``x`` rounded to ``dtype``, as '0'/'1' strings.

    >>> float_bits(1.0, "bfloat16")
    ('0', '01111111', '0000000')
    """
    dt = as_format(dtype)
    info = format_info(dt)
    v = numpy.asarray([float(x)], dtype=numpy.float64)
    with numpy.errstate(over="ignore"):
        v = v.astype(dt)
    uint = {2: numpy.uint16, 4: numpy.uint32, 8: numpy.uint64}[dt.itemsize]
    bits = format(int(v.view(uint)[0]), f"0{info['bits']}b")
    ne = info["exponent_bits"]
    return bits[0], bits[1:1 + ne], bits[1 + ne:]


def flushed_fraction(grads, dtype, scale: float = 1.0) -> float:
    r"""The fraction of non-zero gradients that ``dtype`` flushes to zero (after scaling).

    An entry :math:`g \ne 0` counts when :math:`\mathrm{fl}(S g) = 0` in ``dtype``.

    Parameters
    ----------
    grads : array, list or dict of arrays
        Gradients in a wide format (float32 or float64).
    dtype : str or dtype
        The low-precision format.
    scale : float, default 1.0
        A loss scale :math:`S > 0` applied before the rounding.

    Returns
    -------
    float
        NaN when every entry is zero.
    """
    scale = check_real("scale", scale, low=0.0, low_open=True)
    flushed = nonzero = 0
    for g in _leaves(grads):
        g = numpy.asarray(to_host(g), dtype=float)
        nz = g != 0
        nonzero += int(nz.sum())
        flushed += int((nz & (round_to(scale * g, dtype) == 0)).sum())
    return flushed / nonzero if nonzero else math.nan


class GradScaler:
    r"""Loss scaling, static or dynamic, with the rule of ``torch.amp.GradScaler``.

    The loss is multiplied by the scale :math:`S` before the backward pass, so
    the low-precision gradients are :math:`S` times larger and fewer of them
    flush to zero; :meth:`unscale` divides them by :math:`S` in float32 and
    reports whether any is infinite or NaN. Then :meth:`update`:

    - an overflow: the step is skipped, :math:`S \leftarrow S \cdot
      \text{backoff\_factor}` and the count of good steps restarts;
    - otherwise the count grows; when it reaches ``growth_interval``,
      :math:`S \leftarrow S \cdot \text{growth\_factor}` (if that stays finite)
      and the count restarts.

    With ``dynamic=False`` the scale never changes (static loss scaling,
    Micikevicius et al., 2018); steps with overflow are still skipped.

    Parameters
    ----------
    init_scale : float, default 2**16
    growth_factor : float, default 2.0
        Must be > 1.
    backoff_factor : float, default 0.5
        Must lie in (0, 1).
    growth_interval : int, default 2000
    dynamic : bool, default True

    Attributes
    ----------
    scale : float
        The current :math:`S`.
    growth_tracker : int
        Good steps since the last change of the scale.
    """

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, dynamic=True):
        self.scale = check_real("init_scale", init_scale, low=0.0, low_open=True)
        self.growth_factor = check_real("growth_factor", growth_factor, low=1.0, low_open=True)
        self.backoff_factor = check_real("backoff_factor", backoff_factor, low=0.0, high=1.0,
                                         low_open=True, high_open=True)
        self.growth_interval = check_int("growth_interval", growth_interval, minimum=1)
        self.dynamic = check_bool("dynamic", dynamic)
        self.growth_tracker = 0

    def __repr__(self) -> str:
        kind = "dynamic" if self.dynamic else "static"
        return f"GradScaler(scale={self.scale:g}, {kind})"

    def unscale(self, grads, dtype=numpy.float32) -> tuple[list, bool]:
        """``(grads / S as arrays of dtype, found_inf)``; ``grads`` itself is not changed.

        Like torch, it multiplies by the float32 reciprocal of :math:`S`.
        """
        inv = numpy.float32(1.0) / numpy.float32(self.scale)
        out, found_inf = [], False
        for g in _leaves(grads):
            mod = array_module(g)
            g32 = g.astype(numpy.float32) * inv
            found_inf = found_inf or not bool(mod.isfinite(g32).all())
            out.append(g32.astype(dtype, copy=False))
        return out, found_inf

    def update(self, found_inf: bool) -> None:
        """Change the scale after a step (see the class docstring)."""
        found_inf = check_bool("found_inf", found_inf)
        if not self.dynamic:
            return
        if found_inf:
            self.scale *= self.backoff_factor
            self.growth_tracker = 0
            return
        self.growth_tracker += 1
        if self.growth_tracker == self.growth_interval:
            with numpy.errstate(over="ignore"):        # torch keeps the scale in float32
                grown = float(numpy.float32(self.scale * self.growth_factor))
            if math.isfinite(grown):
                self.scale = grown
            self.growth_tracker = 0

    def state_dict(self) -> dict:
        return {"scale": self.scale, "growth_tracker": self.growth_tracker}

    def load_state_dict(self, state: dict) -> None:
        scale = check_real("state['scale']", state["scale"], low=0.0, low_open=True)
        tracker = check_int("state['growth_tracker']", state["growth_tracker"], minimum=0)
        self.scale, self.growth_tracker = scale, tracker


class MixedPrecisionOptimizer(Optimizer):
    r"""An optimizer step behind a loss scale: unscale, skip on overflow, step, update the scale.

    ``optimizer`` holds the parameters it updates (float32 *master weights*,
    or the low-precision weights themselves when there are none). Each
    :meth:`step` receives the gradients of the *scaled* loss (any float dtype),
    divides them by the scale in float32 (:meth:`GradScaler.unscale`), casts
    them to each parameter's dtype and, unless one is infinite or NaN, lets
    ``optimizer`` step; then the scale is updated. Without a scaler the
    gradients are only cast.

    With ``round_params`` the parameters are rounded to that format after
    every step (weights stored in low precision, no master copy).

    It is a gdlib :class:`~gdlib.optim.Optimizer`, so :func:`gdlib.train.train`
    runs it like any other (its ``params`` are the inner optimizer's).

    Attributes
    ----------
    optimizer : Optimizer
    scaler : GradScaler or None
    skipped : int
        Steps skipped because of an overflow.
    scales : list of float
        The loss scale used at each step.
    """

    squares_gradient = False

    def __init__(self, optimizer, scaler=None, round_params=None):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be a gdlib Optimizer built on the weights to update, got "
                f"{type(optimizer).__name__}."
            )
        if scaler is not None and not isinstance(scaler, GradScaler):
            raise TypeError(f"scaler must be a GradScaler or None, got {type(scaler).__name__}.")
        super().__init__(optimizer.params if optimizer._kind != "dict"
                         else dict(zip(optimizer._keys, optimizer.params)))
        self.optimizer = optimizer
        self.scaler = scaler
        self.round_params = None if round_params is None else as_format(round_params,
                                                                         "round_params")
        self.skipped = 0
        self.scales: list[float] = []

    @property
    def lr(self):
        return getattr(self.optimizer, "lr", None)

    @lr.setter
    def lr(self, value):
        self.optimizer.lr = value

    def __repr__(self) -> str:
        return f"MixedPrecisionOptimizer({self.optimizer!r}, scaler={self.scaler!r})"

    def step(self, grads) -> None:
        """Unscale ``grads``, then step the inner optimizer unless one overflowed.

        ``grads`` has the structure of the parameters (matched by key for a dict).
        """
        if isinstance(grads, dict) and self._keys is not None:
            missing = [k for k in self._keys if k not in grads]
            if missing:
                raise ValueError(f"grads has no entry for parameter(s) {missing}.")
            grads = [grads[k] for k in self._keys]
        gs = _leaves(grads)
        if len(gs) != len(self.params):
            raise ValueError(f"got {len(gs)} gradients for {len(self.params)} parameters.")
        for g, p, name in zip(gs, self.params, self.names):
            if not hasattr(g, "dtype") or g.dtype.kind not in "fV" or g.shape != p.shape:
                raise ValueError(
                    f"the gradient of {name!r} must be a float array of shape {tuple(p.shape)}, "
                    f"got {getattr(g, 'dtype', type(g).__name__)} {getattr(g, 'shape', '')}."
                )
        scale = 1.0 if self.scaler is None else self.scaler.scale
        self.scales.append(scale)
        if self.scaler is None:
            unscaled, found_inf = gs, False
        else:
            unscaled, found_inf = self.scaler.unscale(gs)
        self.t += 1
        if found_inf:
            self.skipped += 1                     # skip the step, keep the weights
        else:
            cast = [g.astype(p.dtype, copy=False) for g, p in zip(unscaled, self.params)]
            if self._keys is not None:
                self.optimizer.step(dict(zip(self._keys, cast)))
            else:
                self.optimizer.step(cast[0] if self.optimizer._kind == "single" else cast)
            if self.round_params is not None:          # weights stored in low precision
                for p in self.params:
                    p[...] = round_to(p, self.round_params)
        if self.scaler is not None:
            self.scaler.update(found_inf)

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "t": self.t, "skipped": self.skipped,
                "scaler": None if self.scaler is None else self.scaler.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.optimizer.load_state_dict(state_dict["optimizer"])
        if self.scaler is not None and state_dict.get("scaler") is not None:
            self.scaler.load_state_dict(state_dict["scaler"])
        self.t = check_int("state_dict['t']", state_dict["t"], minimum=0)
        self.skipped = check_int("state_dict['skipped']", state_dict["skipped"], minimum=0)


class RoundTo(Module):
    r"""A layer that rounds what passes through it to a low-precision format.

    Forward: :math:`y = \mathrm{fl}(x)`; backward: :math:`\partial L/\partial x =
    \mathrm{fl}(\partial L/\partial y)` (rounding is treated as the identity
    for the gradient, and the gradient itself is stored in the low precision).
    Placed between the layers of a float32 model (:func:`emulate`), it makes
    every activation and every activation gradient a number of ``dtype``, while
    the matrix products inside the layers still accumulate in float32, as
    float16 tensor cores do (Micikevicius et al., 2018). Values beyond the
    format's range become infinity, values below its smallest subnormal zero.

    Parameters
    ----------
    dtype : str or dtype
        See :data:`FORMATS`.

    Attributes
    ----------
    nonzero, flushed : int
        In the last backward pass: how many entries of the incoming gradient
        were non-zero, and how many of those the rounding turned into zero.
    """

    def __init__(self, dtype="float16"):
        super().__init__()
        self.dtype = as_format(dtype)
        self.nonzero = self.flushed = 0

    def extra_repr(self) -> str:
        return self.dtype.name

    def forward(self, x):
        return round_to(x, self.dtype)

    def backward(self, dout):
        out = round_to(dout, self.dtype)
        mod = array_module(dout)
        nonzero = dout != 0
        self.nonzero = int(mod.count_nonzero(nonzero))
        self.flushed = int(mod.count_nonzero(nonzero & (out == 0)))
        return out


def emulate(model, dtype="float16"):
    """``model`` with a :class:`RoundTo` before and after every layer (a new Sequential).

    ``model`` is a float32 (or float64) :class:`~gdlib.nn.Sequential`; the layers
    are shared, not copied.
    """
    from .nn.module import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a gdlib.nn Sequential, got {type(model).__name__}.")
    dt = as_format(dtype)
    layers = [RoundTo(dt)]
    for layer in model.layers:
        layers += [layer, RoundTo(dt)]
    return Sequential(*layers)


class MixedPrecision:
    r"""Train a :mod:`gdlib.nn` model whose forward and backward passes run in low precision.

    ``model`` is a float32 model whose activations are rounded to ``dtype``
    (made with :func:`emulate`). Its parameters are the *low-precision copy*:
    before every forward pass they are overwritten with :attr:`master`
    rounded to ``dtype``, and after the backward pass the gradients of the
    (scaled) loss are rounded to ``dtype`` too.

    - ``master_weights=True``: :attr:`master` is a float32 copy that the
      optimizer updates (Micikevicius et al., 2018).
    - ``master_weights=False``: :attr:`master` *is* the model's parameters, and
      after every step they are rounded to ``dtype``: the weights live in the
      low precision, so updates below half their spacing are lost.

    Parameters
    ----------
    model : gdlib.nn.Module
    loss : gdlib.nn loss module
        Its ``backward(dout)`` receives the loss scale as ``dout``.
    dtype : str or dtype, default "float16"
    master_weights : bool, default True
    loss_scale : None, float or GradScaler
        ``None``: no scaling; a number: a static scale; a :class:`GradScaler`
        (``GradScaler()`` has torch's dynamic defaults).

    Attributes
    ----------
    master : dict of arrays
        The weights the optimizer updates: pass them to :func:`gdlib.train.train`
        with :meth:`loss_and_grad` and :meth:`optimizer`.
    scaler : GradScaler or None

    Examples
    --------
    >>> model = emulate(Sequential(Dense(64, 10)), "float16")          # doctest: +SKIP
    >>> mp = MixedPrecision(model, SoftmaxCrossEntropy(), loss_scale=GradScaler())
    >>> train(mp.master, mp.loss_and_grad, mp.optimizer("sgd", lr=0.1),
    ...       data=(X, y), batch_size=64)                              # doctest: +SKIP
    """

    def __init__(self, model, loss, dtype="float16", master_weights=True, loss_scale=None):
        if not isinstance(model, Module):
            raise TypeError(f"model must be a gdlib.nn Module, got {type(model).__name__}.")
        if not isinstance(loss, Module):
            raise TypeError(f"loss must be a gdlib.nn loss module, got {type(loss).__name__}.")
        self.dtype = as_format(dtype)
        self.master_weights = check_bool("master_weights", master_weights)
        if loss_scale is None or isinstance(loss_scale, GradScaler):
            self.scaler = loss_scale
        else:
            self.scaler = GradScaler(init_scale=check_real("loss_scale", loss_scale, low=0.0,
                                                           low_open=True), dynamic=False)
        self.model, self.loss = model, loss
        self.params = model.parameters()
        if not self.params:
            raise ValueError("model has no parameters to train.")
        for k, p in self.params.items():
            if p.dtype not in (numpy.float32, numpy.float64):
                raise TypeError(
                    f"parameter {k!r} has dtype {p.dtype}: build the model in float32 and let "
                    "emulate() and MixedPrecision round it."
                )
        self.grads = model.gradients()
        if self.master_weights:
            self.master = {k: p.astype(numpy.float32) for k, p in self.params.items()}
        else:
            self.master = self.params
        self.sync()

    def optimizer(self, optimizer, **hyper) -> MixedPrecisionOptimizer:
        """``optimizer`` (a class, name or factory) on :attr:`master`, behind the loss scale."""
        from .train import make_optimizer

        return MixedPrecisionOptimizer(
            make_optimizer(optimizer, self.master, **hyper), self.scaler,
            round_params=None if self.master_weights else self.dtype)

    def sync(self) -> None:
        """The model's parameters <- :attr:`master` rounded to ``dtype``."""
        for k, p in self.params.items():
            p[...] = round_to(self.master[k], self.dtype)

    def loss_and_grad(self, _params, batch) -> tuple:
        """One low-precision forward and backward pass on ``batch = (X, y)``.

        Returns the unscaled loss (a float) and the gradients of the *scaled*
        loss rounded to ``dtype``, for :class:`MixedPrecisionOptimizer`.
        """
        X, y = batch
        self.sync()
        self.model.zero_grad()
        value = self.loss(self.model(X), y)
        scale = 1.0 if self.scaler is None else self.scaler.scale
        self.model.backward(self.loss.backward(scale))
        for g in self.grads.values():
            g[...] = round_to(g, self.dtype)
        return value, self.grads


class ScaledLoss(Module):
    r"""A loss multiplied by a constant: :math:`c\,L`, with the gradient :math:`c\,\partial L`.

    A loss that is a mean over many terms (the tokens of a batch of long
    sequences) has gradients that are small by the same factor; ``ScaledLoss(loss,
    2**-14)`` puts a small model's gradients where such a model's are, to study
    underflow.

    Parameters
    ----------
    loss : gdlib.nn loss module
    factor : float
        :math:`c > 0`.
    """

    def __init__(self, loss, factor):
        super().__init__()
        if not isinstance(loss, Module):
            raise TypeError(f"loss must be a gdlib.nn loss module, got {type(loss).__name__}.")
        self.inner = loss
        self.factor = check_real("factor", factor, low=0.0, low_open=True)

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"

    def forward(self, pred, target):
        return self.factor * self.inner(pred, target)

    def backward(self, dout=1.0):
        return self.inner.backward(float(dout) * self.factor)

r"""Gradient clipping, in place, as ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``.

Clipping by norm rescales all gradients together when their joint norm is too
large,

.. math::

    \|g\|_p = \Big(\sum_k \|g^{(k)}\|_p^p\Big)^{1/p}, \qquad
    g \leftarrow g \cdot \min\Big(1, \frac{c}{\|g\|_p + 10^{-6}}\Big),

so the step keeps its direction but its length is capped at about :math:`c`:
the remedy for exploding gradients in recurrent networks of R. Pascanu,
T. Mikolov and Y. Bengio (2013), "On the difficulty of training recurrent
neural networks", ICML. Clipping by value clamps each entry to
:math:`[-c, c]`, which can change the direction (T. Mikolov (2012), PhD
thesis, Brno University of Technology, used it for RNN language models).

Both accept one array, a list (or tuple) of arrays, or a dict of arrays, like
the optimizers; ``None`` entries are skipped (a parameter without gradient).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real

import numpy

from .backend import array_module
from .errors import NonFiniteGradientError
from .optim.base import _real, check_bool, check_real

__all__ = ["clip_grad_norm_", "clip_grad_value_", "total_norm"]

#: Added to the norm before dividing, as in torch.
EPS = 1e-6


def _arrays(grads, what: str = "grads", scalars: bool = False) -> list:
    """The gradient arrays in ``grads`` (``None`` entries skipped), checked to be real.

    With ``scalars=True`` plain numbers are accepted too (for a norm, not in place).
    """
    if isinstance(grads, Mapping):
        items = [(f"{what}[{k!r}]", g) for k, g in grads.items()]
    elif isinstance(grads, (list, tuple)):
        items = [(f"{what}[{i}]", g) for i, g in enumerate(grads)]
    else:
        items = [(what, grads)]
    out = []
    for name, g in items:
        if g is None:
            continue
        if not (hasattr(g, "shape") and hasattr(g, "dtype")):
            if scalars and isinstance(g, Real) and not isinstance(g, bool):
                g = numpy.asarray(float(g))
            else:
                raise TypeError(
                    f"{name} must be an array (clipping changes arrays in place), got "
                    f"{type(g).__name__}."
                )
        if g.dtype.kind not in "fiu":
            raise TypeError(
                f"{name} has dtype {g.dtype}: gradients must hold real numbers "
                "(a floating-point array)."
            )
        out.append(g)
    return out


def _norm_type(norm_type) -> float:
    if isinstance(norm_type, str) and norm_type.strip().lower() == "inf":
        return math.inf                                # torch accepts 'inf' too
    p = _real("norm_type", norm_type)
    if not p > 0:
        raise ValueError(f"Invalid norm_type={norm_type!r}: use a p > 0, or float('inf').")
    return p


def _array_norm(g, p: float) -> float:
    r""":math:`\|g\|_p` of one array, without overflow or underflow.

    The plain sum :math:`\sum |g_i|^p` is tried first (one pass; a dot product
    for :math:`p = 2`). Only when it overflows (entries near 1e154 in float64
    for :math:`p = 2`) or underflows to 0 for a non-zero array is it recomputed
    scaled by the largest entry :math:`s`:
    :math:`\|g\|_p = s\, \|g / s\|_p`.
    """
    if g.size == 0:
        return 0.0
    mod = array_module(g)
    if math.isinf(p):
        return float(mod.abs(g).max())                 # max |g|
    with numpy.errstate(over="ignore", under="ignore", invalid="ignore"):
        if p == 2.0:
            gf = g.reshape(-1).astype(float, copy=False) if g.dtype.kind != "f" else g.reshape(-1)
            total = float(mod.vdot(gf, gf))
        else:
            total = float((mod.abs(g) ** p).sum())      # Σ|g|^p
        if 0.0 < total < math.inf:
            return total ** (1.0 / p)
        if math.isnan(total):
            return math.nan
        scale = float(mod.abs(g).max())
        if scale == 0.0 or not math.isfinite(scale):
            return scale                                # all zero, or an inf entry
        return scale * float(((mod.abs(g) / scale) ** p).sum()) ** (1.0 / p)


def _combine(norms: list, p: float) -> float:
    r""":math:`(\sum_k n_k^p)^{1/p}` of the per-array norms, scaled so it cannot overflow."""
    if not norms:
        return 0.0
    if any(math.isnan(n) for n in norms):
        return math.nan
    top = max(norms)
    if math.isinf(p) or top == 0.0 or math.isinf(top):
        return top
    if p == 2.0:
        plain = math.sqrt(math.fsum(n * n for n in norms))
    else:
        try:
            plain = math.fsum(n**p for n in norms) ** (1.0 / p)
        except OverflowError:
            plain = math.inf
    if 0.0 < plain < math.inf:
        return plain
    return top * math.fsum((n / top) ** p for n in norms) ** (1.0 / p)


def total_norm(grads, norm_type: float = 2.0) -> float:
    r"""The :math:`p`-norm of all gradients taken together, as one long vector.

    Computed as torch does: the norm of each array, then the norm of those norms.
    ``norm_type=float('inf')`` gives the largest absolute entry. Unlike a plain
    ``sqrt(sum(g**2))``, it does not overflow for huge finite gradients (1e200
    gives 1e200, not inf) nor underflow for tiny ones: it is the norm the
    training loops of :mod:`gdlib.train` record and clip with. ``None``
    entries are skipped; plain numbers count as one-element arrays.
    """
    p = _norm_type(norm_type)
    return _combine([_array_norm(g, p) for g in _arrays(grads, scalars=True)], p)


def clip_grad_norm_(grads, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    r"""Rescale the gradients in place so that their joint norm is at most ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\Big(1, \frac{c}{\|g\|_p + 10^{-6}}\Big)

    Parameters
    ----------
    grads : array, list or dict of arrays
        Modified in place.
    max_norm : float
        The cap :math:`c \ge 0` (finite).
    norm_type : float, default 2
        :math:`p > 0`, or ``float('inf')`` for the largest absolute entry.
    error_if_nonfinite : bool, default False
        Raise when the norm is NaN or infinite (by default such gradients are
        scaled anyway and become NaN, as in torch).

    Returns
    -------
    float
        The norm *before* clipping (log it: spikes show instability).

    Raises
    ------
    NonFiniteGradientError
        With ``error_if_nonfinite=True``, when the norm is not finite.
    """
    max_norm = check_real("max_norm", max_norm, low=0.0)
    error_if_nonfinite = check_bool("error_if_nonfinite", error_if_nonfinite)
    p = _norm_type(norm_type)
    gs = _arrays(grads)
    for i, g in enumerate(gs):
        if g.dtype.kind != "f":
            raise TypeError(
                f"gradient {i} has dtype {g.dtype}: clipping scales it in place, so it must be "
                "a floating-point array."
            )
    norm = total_norm(gs, p)
    if error_if_nonfinite and not math.isfinite(norm):
        raise NonFiniteGradientError(
            f"the total norm of order {float(norm_type)} of the gradients is {norm}, so they "
            "cannot be clipped. The run has probably diverged: lower the learning rate, or "
            "pass error_if_nonfinite=False."
        )
    coef = min(max_norm / (norm + EPS), 1.0)        # c / (‖g‖ + 1e-6), at most 1
    if coef < 1.0 or math.isnan(coef):
        for g in gs:
            g *= coef
    return norm


def clip_grad_value_(grads, clip_value: float) -> None:
    r"""Clamp every gradient entry to :math:`[-c, c]`, in place.

    Parameters
    ----------
    grads : array, list or dict of arrays
        Modified in place.
    clip_value : float
        :math:`c \ge 0`.
    """
    c = check_real("clip_value", clip_value, low=0.0)
    for g in _arrays(grads):
        array_module(g).clip(g, -c, c, out=g)

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

from .backend import array_module
from .errors import NonFiniteGradientError

__all__ = ["clip_grad_norm_", "clip_grad_value_", "total_norm"]

#: Added to the norm before dividing, as in torch.
EPS = 1e-6


def _arrays(grads) -> list:
    if isinstance(grads, dict):
        grads = list(grads.values())
    elif not isinstance(grads, (list, tuple)):
        grads = [grads]
    out = [g for g in grads if g is not None]
    for g in out:
        if not (hasattr(g, "shape") and hasattr(g, "dtype")):
            raise TypeError(
                f"gradients must be arrays (clipping works in place), got {type(g).__name__}."
            )
    return out


def _norm_type(norm_type) -> float:
    p = float(norm_type)
    if not p > 0 or math.isnan(p):
        raise ValueError(f"Invalid norm_type={norm_type!r}: use a p > 0, or float('inf').")
    return p


def total_norm(grads, norm_type: float = 2.0) -> float:
    r"""The :math:`p`-norm of all gradients taken together, as one long vector.

    Computed as torch does: the norm of each array, then the norm of those norms.
    ``norm_type=float('inf')`` gives the largest absolute entry.
    """
    p = _norm_type(norm_type)
    gs = _arrays(grads)
    if not gs:
        return 0.0
    norms = []
    for g in gs:
        a = abs(g)
        if g.size == 0:
            norms.append(0.0)
        elif math.isinf(p):
            norms.append(float(a.max()))                    # max |g|
        elif p == 2.0:
            norms.append(float(array_module(g).sqrt((g * g).sum())))
        else:
            norms.append(float((a**p).sum() ** (1.0 / p)))  # (Σ|g|^p)^(1/p)
    if math.isinf(p):
        return max(norms)
    if p == 2.0:
        return math.sqrt(math.fsum(n * n for n in norms))
    return math.fsum(n**p for n in norms) ** (1.0 / p)


def clip_grad_norm_(grads, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    r"""Rescale the gradients in place so that their joint norm is at most ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\Big(1, \frac{c}{\|g\|_p + 10^{-6}}\Big)

    Parameters
    ----------
    grads : array, list or dict of arrays
        Modified in place.
    max_norm : float
        The cap :math:`c \ge 0`.
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
    max_norm = float(max_norm)
    if not max_norm >= 0:
        raise ValueError(f"Invalid max_norm={max_norm!r}: it must be >= 0.")
    gs = _arrays(grads)
    norm = total_norm(gs, norm_type)
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
    c = float(clip_value)
    if not c >= 0:
        raise ValueError(f"Invalid clip_value={clip_value!r}: it must be >= 0.")
    for g in _arrays(grads):
        array_module(g).clip(g, -c, c, out=g)

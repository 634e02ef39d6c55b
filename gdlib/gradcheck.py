r"""Finite-difference gradient checks: is the gradient you derived right?

The central difference

.. math::

    \frac{\partial f}{\partial x_i}(x) \approx
    \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}

has error :math:`O(\epsilon^2)` (the :math:`\epsilon^2 f'''/6` term of Taylor's
expansion) plus a rounding error of about :math:`u |f| / \epsilon`, with
:math:`u \approx 10^{-16}` in float64. :math:`\epsilon = 10^{-6}` balances the
two well for most functions; in float32 use about :math:`10^{-3}` and a loose
tolerance. Comparing a hand-derived gradient with this estimate, entry by entry
in *relative* error, is the standard test of backpropagation code: a wrong
gradient rarely agrees to more than a few digits, a right one agrees to about
:math:`10^{-8}` or better.

The same function differentiates a vector-valued function (a gradient) to
give its Jacobian (a Hessian), so ``check_gradient(f.grad, f.hessian, x)``
checks a Hessian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from .backend import to_host, xp
from .optim.base import _real, check_real

__all__ = ["numerical_gradient", "check_gradient", "GradCheck", "relative_error"]

#: Floor of the denominator of the relative error (only matters when both are 0).
TINY = float(numpy.finfo(numpy.float64).tiny)


def numerical_gradient(f, x, eps: float = 1e-6):
    r"""The central-difference estimate of the gradient (or Jacobian) of ``f`` at ``x``.

    .. math:: g_i = \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}

    Parameters
    ----------
    f : callable
        ``f(x)`` for ``x`` shaped like ``x``; returns a scalar, or an array of
        any shape for a Jacobian.
    x : array-like
        The point, any shape (a copy is perturbed; ``x`` is not modified).
    eps : float, default 1e-6
        The step :math:`\epsilon > 0`.

    Returns
    -------
    array
        Shape ``x.shape`` for a scalar ``f``; ``f(x).shape + x.shape`` otherwise
        (entry ``[i, j]`` is :math:`\partial f_i / \partial x_j`).
    """
    eps = _real("eps", eps)
    if not 0 < eps < math.inf:
        raise ValueError(f"Invalid eps={eps!r}: the finite-difference step must be > 0.")
    if not callable(f):
        raise TypeError(f"f must be a function of x, got {type(f).__name__}.")
    try:
        x = xp.array(x, dtype=None, copy=True)
    except (TypeError, ValueError):
        raise TypeError(f"x must be an array of numbers, got {x!r}.") from None
    if x.dtype.kind not in "fiu":
        raise TypeError(f"x must hold real numbers, got dtype {x.dtype}.")
    if x.dtype.kind != "f":
        x = x.astype(xp.float64)
    if not bool(xp.isfinite(x).all()):
        raise ValueError(
            "x holds NaN or infinity: finite differences there are NaN; check at a finite point."
        )
    flat = x.reshape(-1)                           # a view: writing it perturbs x
    out_shape = tuple(xp.asarray(f(x)).shape)
    J = xp.zeros((x.size,) + out_shape, dtype=x.dtype)
    for i in range(x.size):
        orig = flat[i].copy()
        flat[i] = orig + eps
        f_plus = xp.asarray(f(x))
        flat[i] = orig - eps
        f_minus = xp.asarray(f(x))
        flat[i] = orig
        J[i] = (f_plus - f_minus) / (2 * eps)      # (f(x+εe_i) - f(x-εe_i)) / 2ε
    # Put the output axes first: J[out..., in...].
    J = J.reshape(x.shape + out_shape)
    n_in = x.ndim
    axes = tuple(range(n_in, n_in + len(out_shape))) + tuple(range(n_in))
    return xp.transpose(J, axes)


def relative_error(a, n):
    r"""Entry-wise :math:`|a - n| / \max(|a| + |n|, \text{tiny})` (NumPy arrays)."""
    a, n = numpy.asarray(to_host(a), dtype=float), numpy.asarray(to_host(n), dtype=float)
    return numpy.abs(a - n) / numpy.maximum(numpy.abs(a) + numpy.abs(n), TINY)


@dataclass
class GradCheck:
    """The outcome of :func:`check_gradient`.

    Attributes
    ----------
    max_rel_error : float
        The largest entry-wise relative error.
    index : tuple of int
        Where it occurs (an index into ``analytic``).
    analytic, numeric : numpy.ndarray
        The gradient given and the finite-difference estimate.
    ok : bool
        ``max_rel_error <= rtol``.
    rtol : float
        The tolerance used.
    """

    max_rel_error: float
    index: tuple
    analytic: numpy.ndarray
    numeric: numpy.ndarray
    ok: bool
    rtol: float = 1e-5

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        a = self.analytic[self.index] if self.analytic.size else float("nan")
        n = self.numeric[self.index] if self.numeric.size else float("nan")
        verdict = "OK" if self.ok else "FAILED"
        return (
            f"gradient check: worst relative error {self.max_rel_error:.1e} at index "
            f"{self.index} (analytic {a:.6e}, numeric {n:.6e}), tolerance {self.rtol:.0e}: "
            f"{verdict}"
        )


def check_gradient(f, grad, x, eps: float = 1e-6, rtol: float = 1e-5,
                   atol: float = 0.0) -> GradCheck:
    r"""Compare an analytic gradient with central differences.

    The error of entry :math:`i` is :math:`|a_i - n_i| / \max(|a_i| + |n_i|,
    \text{tiny})`, where :math:`a` is ``grad(x)`` and :math:`n` the
    finite-difference estimate: scale-free, 0 for perfect agreement, 1 when
    one of them is zero and the other not, about 2 for a sign error.

    Parameters
    ----------
    f : callable
        The function (scalar-valued), or a gradient to check a Hessian.
    grad : callable or array
        The analytic derivative: ``grad(x)``, or its value at ``x``.
    x : array-like
        The point.
    eps : float, default 1e-6
        The finite-difference step.
    rtol : float, default 1e-5
        The largest relative error accepted.
    atol : float, default 0
        Entries with :math:`|a_i - n_i| \le` ``atol`` count as exact (useful
        where the true derivative is 0 and finite differences give noise).

    Returns
    -------
    GradCheck
        Its ``str()`` is a one-line verdict; it is truthy when the check passed.

    Examples
    --------
    >>> import numpy as np
    >>> res = check_gradient(lambda x: (x**2).sum(), lambda x: 2 * x, np.array([1.0, -2.0]))
    >>> res.ok
    True
    """
    rtol = check_real("rtol", rtol, low=0.0)
    atol = check_real("atol", atol, low=0.0)
    analytic = grad(x) if callable(grad) else grad
    numeric = numerical_gradient(f, x, eps=eps)
    analytic = numpy.asarray(to_host(xp.asarray(analytic)), dtype=float)
    numeric = numpy.asarray(to_host(numeric), dtype=float)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"the analytic gradient has shape {analytic.shape} but the numerical one has shape "
            f"{numeric.shape}: a gradient must have the shape of x (a Jacobian f(x).shape + "
            "x.shape)."
        )
    err = relative_error(analytic, numeric)
    if atol > 0:
        err = numpy.where(numpy.abs(analytic - numeric) <= atol, 0.0, err)
    err = numpy.where(numpy.isnan(err), numpy.inf, err)       # NaN anywhere fails
    if err.size:
        index = tuple(int(i) for i in numpy.unravel_index(numpy.argmax(err), err.shape))
        worst = float(err[index])
    else:
        index, worst = (), 0.0
    return GradCheck(worst, index, analytic, numeric, bool(worst <= rtol), float(rtol))

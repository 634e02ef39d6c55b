r"""Line searches: how far to step along a direction.

Given a point :math:`x`, the gradient :math:`g = \nabla f(x)` and a descent
direction :math:`d` (:math:`g^\top d < 0`, usually :math:`d = -g`), a line search
picks the step size :math:`\alpha` of :math:`x \leftarrow x + \alpha d`.

- :func:`backtracking` tries :math:`\alpha_0, \rho\alpha_0, \rho^2\alpha_0,
  \dots` until the Armijo (1966) sufficient-decrease condition holds.
- :func:`exact_quadratic` gives the exact minimizer along the line for a
  quadratic, in closed form: Cauchy's (1847) steepest descent with the
  optimal step.
"""

from __future__ import annotations

import math
import warnings

import numpy

from .backend import xp
from .optim.base import _real, check_finite_array, check_int, check_real

__all__ = ["backtracking", "exact_quadratic", "armijo_holds"]


def _in_unit_interval(name: str, value, what: str) -> float:
    value = _real(name, value)
    if not 0 < value < 1:
        raise ValueError(f"Invalid {name}={value!r}: {what}, must lie in (0, 1).")
    return value


def _dot(a, b) -> float:
    return float(xp.vdot(xp.asarray(a).reshape(-1), xp.asarray(b).reshape(-1)))


def armijo_holds(f, x, direction, alpha: float, fx: float, slope: float,
                 c: float = 1e-4) -> bool:
    r"""True when :math:`f(x + \alpha d) \le f(x) + c\,\alpha\, g^\top d`.

    ``slope`` is :math:`g^\top d`, the directional derivative at ``x``.
    """
    with numpy.errstate(over="ignore", invalid="ignore"):
        f_new = float(f(x + alpha * direction))
    return math.isfinite(f_new) and f_new <= fx + c * alpha * slope


def backtracking(f, grad, x, direction=None, lr0: float = 1.0, c: float = 1e-4,
                 rho: float = 0.5, max_iter: int = 50) -> float:
    r"""Backtracking line search with the Armijo condition (Armijo 1966).

    Returns the first :math:`\alpha \in \{\alpha_0, \rho\alpha_0, \rho^2\alpha_0, \dots\}`
    with sufficient decrease:

    .. math:: f(x + \alpha d) \le f(x) + c\, \alpha\, \nabla f(x)^\top d .

    Since :math:`\nabla f(x)^\top d < 0`, such an :math:`\alpha` exists for a
    smooth :math:`f`: near 0 the line :math:`f(x) + \alpha \nabla f^\top d` is
    tangent to :math:`f` and :math:`c < 1` tilts it up.

    Parameters
    ----------
    f : callable
        The function, ``f(x) -> scalar``.
    grad : callable or array
        ``grad(x) -> array`` shaped like ``x``, or the gradient at ``x`` already computed.
    x : array
        The current point (not modified).
    direction : array, optional
        The search direction :math:`d`; default :math:`-\nabla f(x)` (steepest descent).
    lr0 : float, default 1
        The first step tried, :math:`\alpha_0 > 0`.
    c : float, default 1e-4
        The sufficient-decrease constant, :math:`0 < c < 1`.
    rho : float, default 0.5
        The shrink factor, :math:`0 < \rho < 1`.
    max_iter : int, default 50
        The most reductions tried.

    Returns
    -------
    float
        The step size :math:`\alpha`. If no step satisfied the condition after
        ``max_iter`` reductions, the last (smallest) one is returned with a
        ``RuntimeWarning``.

    Raises
    ------
    ValueError
        For a direction that does not descend (:math:`\nabla f^\top d \ge 0`) or
        bad ``c``, ``rho``, ``lr0``, ``max_iter``.

    Source: L. Armijo (1966), "Minimization of functions having Lipschitz
    continuous first partial derivatives", Pacific J. Math. 16(1), 1-3.
    """
    c = _in_unit_interval("c", c, "the Armijo constant; 1e-4 is usual")
    rho = _in_unit_interval("rho", rho, "the shrink factor, e.g. 0.5")
    lr0 = check_real("lr0", lr0, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, minimum=0)
    if not callable(f):
        raise TypeError(f"f must be a function x -> number, got {type(f).__name__}.")
    x = check_finite_array("x", x)
    g = check_finite_array("grad", grad(x) if callable(grad) else grad)
    d = -g if direction is None else check_finite_array("direction", direction)
    if g.shape != x.shape:
        raise ValueError(f"grad has shape {tuple(g.shape)}, x has {tuple(x.shape)}.")
    if d.shape != x.shape:
        raise ValueError(f"direction has shape {tuple(d.shape)}, x has {tuple(x.shape)}.")
    slope = _dot(g, d)                             # ∇f(x)ᵀ d
    if not slope < 0:
        raise ValueError(
            f"direction is not a descent direction: grad·direction = {slope:.3g} >= 0. "
            "Use direction=-grad (the default), or flip its sign."
        )
    fx = float(f(x))
    if not math.isfinite(fx):
        raise ValueError(
            f"f(x) = {fx} at the starting point x: a line search needs a finite value there "
            "(your inputs or initial point give a non-finite loss)."
        )
    alpha = float(lr0)
    for _ in range(max_iter):
        if armijo_holds(f, x, d, alpha, fx, slope, c):
            return alpha
        alpha *= rho                               # α ← ρ α
    if armijo_holds(f, x, d, alpha, fx, slope, c):
        return alpha
    warnings.warn(
        f"backtracking: no step in {max_iter} reductions met the Armijo condition; returning "
        f"alpha={alpha:.3g}. Is the gradient correct (check it with gdlib.gradcheck)?",
        RuntimeWarning,
        stacklevel=2,
    )
    return alpha


def exact_quadratic(A, g, direction=None) -> float:
    r"""The exact step along :math:`d` for a quadratic with Hessian :math:`A`.

    For :math:`f(x) = \tfrac12 x^\top A x - b^\top x`, the function
    :math:`\varphi(\alpha) = f(x + \alpha d)` is a parabola with
    :math:`\varphi'(\alpha) = g^\top d + \alpha\, d^\top A d`, minimal at

    .. math:: \alpha^* = -\frac{g^\top d}{d^\top A d},

    where :math:`g = Ax - b` is the gradient at :math:`x`. With :math:`d = -g`
    (the default) this is :math:`g^\top g / g^\top A g`: steepest descent with
    exact line search (Cauchy 1847).

    Parameters
    ----------
    A : array, shape (n, n)
        The (symmetric) Hessian.
    g : array, shape (n,)
        The gradient at the current point.
    direction : array, shape (n,), optional
        The direction :math:`d`; default :math:`-g`.

    Returns
    -------
    float
        :math:`\alpha^*` (0 when :math:`g^\top d = 0`).

    Raises
    ------
    ValueError
        When :math:`d^\top A d \le 0`: the quadratic has no minimum along the line.
    """
    A, g = check_finite_array("A", A), check_finite_array("g", g)
    d = -g if direction is None else check_finite_array("direction", direction)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[1] != g.size or d.size != g.size:
        raise ValueError(
            f"shapes do not fit: A {tuple(A.shape)}, g {tuple(g.shape)}, direction "
            f"{tuple(d.shape)}; A must be (n, n) with n the size of g."
        )
    g, d = g.reshape(-1), d.reshape(-1)
    gd = _dot(g, d)                                # gᵀd
    if gd == 0:
        return 0.0
    curvature = _dot(d, A @ d)                     # dᵀ A d
    if not curvature > 0:
        raise ValueError(
            f"d·A·d = {curvature:.3g} <= 0: the quadratic has no minimum along this direction "
            "(A is not positive definite there)."
        )
    return -gd / curvature

r"""Convergence rates, measured: fitted slopes, and the problem behind the lower bound.

A rate such as :math:`f(x_k) - f^\star = O(1/k)` is a straight line of slope
:math:`-1` on a log-log plot; a linear rate :math:`q^k` is a straight line of
slope :math:`\ln q` on a semi-log plot. :func:`fit_slope` fits that line by least
squares, so a lesson can check a theorem's rate against a run; :func:`per_step_factor`
reads the factor :math:`q` off a semi-log fit. :func:`worst_case_quadratic` is
Nesterov's quadratic on which no gradient method beats
:math:`3L\|x_0 - x^\star\|^2 / (32 (k+1)^2)` (:func:`first_order_lower_bound`).

Sources
-------
- A. S. Nemirovski and D. B. Yudin (1983), *Problem Complexity and Method
  Efficiency in Optimization*, Wiley: the lower bound for first-order methods.
- Y. Nesterov (2004), *Introductory Lectures on Convex Optimization*, Kluwer,
  section 2.1.2: the quadratic that attains it, and the constant 3/32.
"""

from __future__ import annotations

import numpy

from .backend import xp
from .functions import TestFunction
from .optim.base import check_int, check_real

__all__ = ["fit_slope", "per_step_factor", "diagonal_quadratic", "worst_case_quadratic",
           "first_order_lower_bound"]

_SCALES = ("loglog", "semilog")


def _points(x, y, scale: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    """``x`` and ``y`` as finite float arrays of one length, checked for ``scale``."""
    if scale not in _SCALES:
        raise ValueError(f"scale must be 'loglog' or 'semilog', got {scale!r}.")
    x = numpy.asarray(x, dtype=float).reshape(-1)
    y = numpy.asarray(y, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}.")
    if x.size < 2:
        raise ValueError(f"a slope needs at least 2 points, got {x.size}.")
    if not (numpy.isfinite(x).all() and numpy.isfinite(y).all()):
        raise ValueError("x and y must be finite: drop the NaN or infinite entries first.")
    if (y <= 0).any():
        raise ValueError("y must be positive (its logarithm is fitted): drop the zeros, or "
                         "fit the part of the run before it reached the minimum exactly.")
    if scale == "loglog" and (x <= 0).any():
        raise ValueError("x must be positive on a log-log fit: start at step 1, not 0.")
    if numpy.ptp(x) == 0:
        raise ValueError("x holds one value only: a slope needs at least two different x.")
    return x, y


def fit_slope(x, y, scale: str = "loglog") -> float:
    r"""The least-squares slope of :math:`\ln y` against :math:`\ln x` (or against :math:`x`).

    .. math::

        \hat s = \frac{\sum_i (u_i - \bar u)(v_i - \bar v)}{\sum_i (u_i - \bar u)^2},
        \qquad u_i = \ln x_i \ (\text{or } x_i), \quad v_i = \ln y_i .

    Parameters
    ----------
    x : array_like
        Step numbers, learning rates, ... (positive for ``"loglog"``).
    y : array_like
        The measured errors, positive.
    scale : {"loglog", "semilog"}, default "loglog"
        ``"loglog"``: a power law :math:`y \propto x^s` has slope :math:`s`;
        ``"semilog"``: a geometric decay :math:`y \propto q^x` has slope :math:`\ln q`.

    Returns
    -------
    float
        The fitted slope.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.arange(1, 100)
    >>> round(fit_slope(k, 3.0 / k**2), 12)
    -2.0
    """
    x, y = _points(x, y, scale)
    u = numpy.log(x) if scale == "loglog" else x
    v = numpy.log(y)
    du = u - u.mean()
    return float(numpy.sum(du * (v - v.mean())) / numpy.sum(du * du))


def per_step_factor(k, y) -> float:
    r"""The factor :math:`q` of a linear rate :math:`y_k \approx C q^k`, from a semi-log fit.

    Parameters
    ----------
    k : array_like
        Step numbers.
    y : array_like
        The errors at those steps, positive.

    Returns
    -------
    float
        :math:`q = \exp(\hat s)` with :math:`\hat s` the semi-log slope of :func:`fit_slope`.
    """
    return float(numpy.exp(fit_slope(k, y, scale="semilog")))


def diagonal_quadratic(eigenvalues, start=None) -> TestFunction:
    r"""The quadratic :math:`f(x) = \tfrac12 \sum_i \lambda_i x_i^2` with the eigenvalues given.

    Each coordinate is an eigen-direction, so a run is many independent 1-D runs at once:
    with all :math:`\lambda_i = 1` the coordinates are independent copies of one problem
    (e.g. independent SGD chains), and eigenvalues spread over :math:`(0, L]` make the
    problems on which the convergence rates are tight. The gradient costs :math:`O(d)`.

    Parameters
    ----------
    eigenvalues : array_like of shape (d,)
        :math:`\lambda_i \ge 0`, finite.
    start : array_like of shape (d,), optional
        The default starting point (all ones by default).

    Returns
    -------
    TestFunction
        Minimum 0 at the origin, with attributes ``eigenvalues``, ``L`` (the largest
        eigenvalue) and ``mu`` (the smallest).
    """
    lam = numpy.asarray(eigenvalues, dtype=float).reshape(-1)
    if lam.size < 1 or not numpy.isfinite(lam).all() or (lam < 0).any():
        raise ValueError("eigenvalues must be a non-empty array of finite numbers >= 0.")
    d = lam.size
    x0 = numpy.ones(d) if start is None else numpy.asarray(start, dtype=float).reshape(-1)
    if x0.shape != (d,) or not numpy.isfinite(x0).all():
        raise ValueError(f"start must hold {d} finite numbers (one per eigenvalue).")
    lam_x = xp.asarray(lam)

    def scale(x):                                     # the eigenvalues, broadcast over a grid
        return lam_x.reshape((d,) + (1,) * (x.ndim - 1))

    def value(x):
        return 0.5 * (scale(x) * x * x).sum(axis=0)

    def grad(x):
        return scale(x) * x

    def hessian(x):
        return xp.broadcast_to(xp.diag(lam_x).reshape((d, d) + (1,) * (x.ndim - 1)),
                               (d, d) + x.shape[1:]).copy()

    top = float(numpy.max(numpy.abs(x0))) + 1.0
    f = TestFunction("diagonal_quadratic", d, value, grad, hessian, minima=[xp.zeros(d)],
                     fmin=0.0, bounds=[(-top, top)] * d, start=x0,
                     latex=r"f(x) = \tfrac12 \sum_i \lambda_i x_i^2",
                     source="the model problem of convergence analysis")
    f.eigenvalues = lam
    f.L, f.mu = float(lam.max()), float(lam.min())
    return f


def worst_case_quadratic(dim: int = 101, L: float = 1.0) -> TestFunction:
    r"""Nesterov's quadratic on which every gradient method is slow for :math:`k \le (d-1)/2` steps.

    .. math::

        f(x) = \frac{L}{4}\Big(\tfrac12 x^\top A x - x_1\Big), \qquad
        A = \begin{pmatrix} 2 & -1 & & \\ -1 & 2 & \ddots & \\ & \ddots & \ddots & -1 \\
        & & -1 & 2 \end{pmatrix},

    :math:`L`-smooth and convex, with :math:`x^\star_i = 1 - i/(d+1)` and
    :math:`f^\star = \tfrac{L}{8}\big(\tfrac{1}{d+1} - 1\big)`. From :math:`x_0 = 0`
    a method whose iterates stay in the span of the gradients seen so far has
    touched only the first :math:`k` coordinates after :math:`k` steps, which is
    why it cannot be close (Nesterov 2004, theorem 2.1.7).

    Parameters
    ----------
    dim : int, default 101
        :math:`d \ge 2`.
    L : float, default 1
        The smoothness constant, :math:`L > 0`.

    Returns
    -------
    TestFunction
        With ``start`` the origin, ``minima[0]`` :math:`x^\star`, ``fmin`` :math:`f^\star`
        and the attribute ``L``.
    """
    d = check_int("dim", dim, minimum=2)
    L = check_real("L", L, low=0.0, low_open=True)
    i = xp.arange(1, d + 1, dtype=xp.float64)
    x_star = 1.0 - i / (d + 1)

    def tridiag(x):                                   # A x, for x of shape (d, *grid)
        Ax = 2.0 * x
        Ax[1:] -= x[:-1]
        Ax[:-1] -= x[1:]
        return Ax

    def value(x):
        return 0.25 * L * (0.5 * (x * tridiag(x)).sum(axis=0) - x[0])

    def grad(x):
        g = tridiag(x)
        g[0] -= 1.0
        return 0.25 * L * g                           # (L/4)(A x - e_1)

    def hessian(x):
        A = 2.0 * xp.eye(d) - xp.eye(d, k=1) - xp.eye(d, k=-1)
        return xp.broadcast_to((0.25 * L * A).reshape((d, d) + (1,) * (x.ndim - 1)),
                               (d, d) + x.shape[1:]).copy()

    f = TestFunction(
        "worst_case_quadratic", d, value, grad, hessian, minima=[x_star],
        fmin=0.125 * L * (1.0 / (d + 1) - 1.0), bounds=[(-0.5, 1.5)] * d, start=xp.zeros(d),
        latex=r"f(x) = \frac{L}{4}\left(\frac12 x^\top A x - x_1\right)",
        source="Nesterov (2004), section 2.1.2; Nemirovski and Yudin (1983)",
    )
    f.L = L
    return f


def first_order_lower_bound(k, L: float, dist_sq: float):
    r"""Nemirovski and Yudin's bound :math:`\frac{3 L \|x_0 - x^\star\|^2}{32 (k+1)^2}`.

    No method that moves in the span of the gradients it has seen gets
    :math:`f(x_k) - f^\star` below this on :func:`worst_case_quadratic` of
    dimension :math:`2k + 1` (Nesterov 2004, theorem 2.1.7).

    Parameters
    ----------
    k : int or array_like of int
        Step numbers, :math:`k \ge 0`.
    L : float
        The smoothness constant.
    dist_sq : float
        :math:`\|x_0 - x^\star\|^2`.

    Returns
    -------
    float or ndarray
        The bound at each ``k``.
    """
    k = numpy.asarray(k, dtype=float)
    if (k < 0).any():
        raise ValueError("k must be >= 0 (a step number).")
    L = check_real("L", L, low=0.0, low_open=True)
    dist_sq = check_real("dist_sq", dist_sq, low=0.0)
    out = 3.0 * L * dist_sq / (32.0 * (k + 1.0) ** 2)
    return float(out) if out.ndim == 0 else out

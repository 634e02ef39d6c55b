r"""Constraints by projection: stay in the feasible set after every step.

Projected gradient descent takes the usual step and then returns to the feasible set
:math:`C` by the Euclidean projection

.. math:: P_C(y) = \arg\min_{x \in C} \tfrac12 \lVert x - y \rVert^2, \qquad
          x_{t} = P_C\big(x_{t-1} - \eta\, \nabla f(x_{t-1})\big).

For a convex :math:`C` and an :math:`L`-smooth convex :math:`f` with :math:`\eta \le 1/L`
it converges like gradient descent does without constraints; a fixed point is a point
where no feasible direction descends (the KKT conditions). The projections here have
closed forms or a sort: the box (clip), the Euclidean ball (rescale) and the simplex
(the sort-and-threshold algorithm of Held, Wolfe and Crowder 1974, in the form of
Duchi et al. 2008). :class:`ProjectedGD` is the rule as a gdlib optimizer, so
:func:`gdlib.train.minimize` and :func:`gdlib.train.train` run it.

Sources
-------
- A. A. Goldstein (1964), "Convex programming in Hilbert space", Bull. AMS 70(5),
  709-710; E. S. Levitin and B. T. Polyak (1966), "Constrained minimization methods",
  USSR Comput. Math. Math. Phys. 6(5), 1-50: the projected gradient method.
- M. Held, P. Wolfe and H. P. Crowder (1974), "Validation of subgradient optimization",
  Math. Programming 6, 62-88: projection onto the simplex by sorting.
- J. Duchi, S. Shalev-Shwartz, Y. Singer and T. Chandra (2008), "Efficient projections
  onto the l1-ball for learning in high dimensions", ICML: the same algorithm, Fig. 1.
- K. J. Arrow, L. Hurwicz and H. Uzawa (1958), *Studies in Linear and Non-Linear
  Programming*, Stanford University Press: the gradient method for saddle points of the
  Lagrangian (:func:`arrow_hurwicz`).
"""

from __future__ import annotations

from .backend import array_module, asarray
from .optim.base import Optimizer, check_finite_array, check_lr, check_real

__all__ = ["project_simplex", "project_box", "project_l2_ball", "gradient_mapping",
           "ProjectedGD", "arrow_hurwicz"]


def project_simplex(v, z: float = 1.0):
    r"""Euclidean projection onto the simplex :math:`\{x : x_i \ge 0,\ \sum_i x_i = z\}`.

    The projection is :math:`x_i = \max(v_i - \theta, 0)` for the one threshold
    :math:`\theta` that makes the entries sum to :math:`z`. Sort
    :math:`u_1 \ge u_2 \ge \dots \ge u_n`; the number of positive entries is

    .. math:: \rho = \max\Big\{ j : u_j - \tfrac1j\big(\textstyle\sum_{r \le j} u_r - z\big)
              > 0 \Big\}, \qquad \theta = \tfrac1\rho\big(\textstyle\sum_{r \le \rho} u_r
              - z\big)

    (Held, Wolfe and Crowder 1974; Duchi et al. 2008, Fig. 1): :math:`O(n \log n)`.

    Parameters
    ----------
    v : array_like of shape (n,) or (m, n)
        The point(s) to project; a 2-D array is projected row by row.
    z : float > 0, default 1
        The sum of the entries (1: probability vectors, portfolio weights).

    Returns
    -------
    array like ``v`` (float)

    Examples
    --------
    >>> project_simplex([0.5, 0.5, 0.5]).round(6).tolist()
    [0.333333, 0.333333, 0.333333]
    >>> project_simplex([2.0, 0.0]).tolist()
    [1.0, 0.0]
    """
    z = check_real("z", z, low=0.0, low_open=True)
    v = check_finite_array("v", v, dtype=float)
    if v.ndim not in (1, 2) or v.shape[-1] == 0:
        raise ValueError(f"v must be a non-empty 1-D array (or 2-D, one point per row), "
                         f"got shape {tuple(v.shape)}.")
    mod = array_module(v)
    u = -mod.sort(-v, axis=-1)                          # u_1 >= u_2 >= ... >= u_n
    css = mod.cumsum(u, axis=-1) - z                    # sum_{r<=j} u_r - z
    j = mod.arange(1, v.shape[-1] + 1, dtype=v.dtype)
    positive = u - css / j > 0                          # true for j = 1..rho, then false
    rho = positive.sum(axis=-1, keepdims=True)          # >= 1 always (j = 1 holds)
    theta = mod.take_along_axis(css, rho - 1, axis=-1) / rho
    return mod.maximum(v - theta, 0.0)


def project_box(x, lower, upper):
    r"""Euclidean projection onto the box :math:`\{x : l \le x \le u\}`: clip each entry.

    .. math:: P(x)_i = \min(\max(x_i, l_i), u_i)

    The box is a product of intervals, so the projection works coordinate by
    coordinate.

    Parameters
    ----------
    x : array_like
    lower, upper : float or array_like broadcastable to ``x``
        Bounds with ``lower <= upper``; ``-inf`` / ``inf`` leave a side open.
    """
    x = check_finite_array("x", x, dtype=float)
    mod = array_module(x)
    lo = asarray(lower).astype(float)
    hi = asarray(upper).astype(float)
    if bool(mod.isnan(lo).any()) or bool(mod.isnan(hi).any()):
        raise ValueError("lower and upper must not hold NaN.")
    try:
        bad = bool((mod.broadcast_to(lo, x.shape) > mod.broadcast_to(hi, x.shape)).any())
    except ValueError:
        raise ValueError(f"lower {tuple(lo.shape)} and upper {tuple(hi.shape)} must broadcast "
                         f"to x's shape {tuple(x.shape)}.") from None
    if bad:
        raise ValueError("lower must be <= upper everywhere: the box is empty.")
    return mod.minimum(mod.maximum(x, lo), hi)


def project_l2_ball(x, radius: float = 1.0, center=None):
    r"""Euclidean projection onto the ball :math:`\{x : \lVert x - c\rVert_2 \le r\}`.

    .. math:: P(x) = c + (x - c)\,\min\Big(1, \frac{r}{\lVert x - c \rVert_2}\Big)

    Parameters
    ----------
    x : array_like
    radius : float >= 0, default 1
    center : array_like, optional
        The centre :math:`c` (zero by default).
    """
    radius = check_real("radius", radius, low=0.0)
    x = check_finite_array("x", x, dtype=float)
    mod = array_module(x)
    c = mod.zeros_like(x) if center is None else check_finite_array("center", center, float)
    d = x - c
    norm = float(mod.linalg.norm(d.ravel()))
    return x.copy() if norm <= radius else c + d * (radius / norm)


def gradient_mapping(x, grad, lr: float, project):
    r"""The projected-gradient step scaled back to a gradient: zero exactly at a solution.

    .. math:: G_\eta(x) = \frac{1}{\eta}\Big(x - P_C\big(x - \eta\,\nabla f(x)\big)\Big)

    Without constraints it is :math:`\nabla f(x)`; its norm is the stopping test of
    projected gradient descent (the gradient itself need not vanish at a constrained
    minimum).

    Parameters
    ----------
    x, grad : arrays of the same shape
        The point and :math:`\nabla f(x)`.
    lr : float > 0
    project : callable
        :math:`P_C`.
    """
    lr = check_real("lr", lr, low=0.0, low_open=True)
    x, g = asarray(x).astype(float), asarray(grad).astype(float)
    if x.shape != g.shape:
        raise ValueError(f"grad has shape {tuple(g.shape)} but x has {tuple(x.shape)}.")
    return (x - asarray(project(x - lr * g))) / lr


class ProjectedGD(Optimizer):
    r"""Projected gradient descent (Goldstein 1964; Levitin and Polyak 1966).

    .. math:: \theta_t = P_C\big(\theta_{t-1} - \eta\, g_t\big)

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place. Start them feasible (or the first step
        projects them).
    lr : float, default 0.1
        The learning rate :math:`\eta \ge 0` (:math:`1/L` for an :math:`L`-smooth loss).
    project : callable
        :math:`P_C`: ``project(array) -> array`` of the same shape, applied to each
        parameter after its step, e.g. :func:`project_simplex` or
        ``lambda w: project_box(w, 0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gdlib.train import minimize
    >>> f = lambda w: float(((w - [0.8, 0.5]) ** 2).sum())
    >>> res = minimize(f, np.array([0.5, 0.5]), ProjectedGD, grad=lambda w: 2 * (w - [0.8, 0.5]),
    ...                lr=0.25, project=project_simplex, steps=50, tol=0.0)
    >>> res.x.round(6).tolist()
    [0.65, 0.35]
    """

    def __init__(self, params, lr=0.1, project=None):
        if not callable(project):
            raise TypeError(
                "project must be a function array -> array (the projection onto the feasible "
                f"set), e.g. gdlib.constraints.project_simplex; got {type(project).__name__}."
            )
        super().__init__(params, lr=check_lr(lr), project=project)

    def update(self, p, g, state, t):
        y = p - self.lr * g                   # the gradient step
        z = asarray(self.project(y))          # back into C
        if z.shape != p.shape:
            raise ValueError(f"project returned shape {tuple(z.shape)} for a parameter of "
                             f"shape {tuple(p.shape)}: it must keep the shape.")
        p[...] = z


def arrow_hurwicz(grad, x0, a, b: float, lr: float, steps: int, lam0: float = 0.0,
                  project=None):
    r"""Maximise a concave :math:`f` subject to :math:`a^\top x = b` by the Arrow-Hurwicz method.

    The Lagrangian :math:`L(x, \lambda) = f(x) - \lambda\,(a^\top x - b)` has a saddle
    point at the solution: a maximum in :math:`x`, a minimum in :math:`\lambda`. Both
    variables take a gradient step at once, from the same point:

    .. math:: x_{k+1} = x_k + \eta\,\big(\nabla f(x_k) - \lambda_k a\big), \qquad
              \lambda_{k+1} = \lambda_k + \eta\,\big(a^\top x_k - b\big).

    Read as economics: :math:`\lambda` is a price for the constraint. Overspending
    (:math:`a^\top x > b`) raises it, which makes the goods dearer and cuts demand.
    At the solution :math:`\lambda^* = \mathrm d f^* / \mathrm d b`, the **shadow
    price** of the constraint (Arrow, Hurwicz and Uzawa 1958).

    Parameters
    ----------
    grad : callable
        :math:`\nabla f`.
    x0 : array_like of shape (n,)
    a : array_like of shape (n,)
        The constraint's coefficients (prices).
    b : float
        The constraint's level (the budget).
    lr : float > 0
        The step size :math:`\eta` of both updates.
    steps : int >= 0
    lam0 : float, default 0
    project : callable, optional
        A projection applied to :math:`x` after each step (e.g. a box that keeps
        quantities positive).

    Returns
    -------
    x : ndarray of shape (n,)
    lam : float
    path : ndarray of shape (steps + 1, n + 1)
        Each row :math:`(x_k, \lambda_k)`.
    """
    from .optim.base import check_int

    lr = check_real("lr", lr, low=0.0, low_open=True)
    steps = check_int("steps", steps, minimum=0)
    b = check_real("b", b)
    lam = check_real("lam0", lam0)
    if not callable(grad):
        raise TypeError(f"grad must be a function x -> gradient, got {type(grad).__name__}.")
    x = check_finite_array("x0", x0, dtype=float).copy()
    a = check_finite_array("a", a, dtype=float)
    if x.ndim != 1 or a.shape != x.shape:
        raise ValueError(f"x0 and a must be 1-D of the same length, got {tuple(x.shape)} and "
                         f"{tuple(a.shape)}.")
    mod = array_module(x)
    path = [mod.concatenate([x, mod.asarray([lam])])]
    for _ in range(steps):
        g = asarray(grad(x))
        x, lam = x + lr * (g - lam * a), lam + lr * float(a @ x - b)   # both from (x_k, λ_k)
        if project is not None:
            x = asarray(project(x))
        path.append(mod.concatenate([x, mod.asarray([lam])]))
    return x, lam, mod.stack(path)

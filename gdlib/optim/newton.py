"""Newton's method, with an optional step size and Levenberg damping.

Sources
-------
- I. Newton (1669, publ. 1711), "De analysi per aequationes numero terminorum
  infinitas", and J. Raphson (1690), "Analysis aequationum universalis": the
  root-finding iteration, here applied to the gradient.
- T. Simpson (1740), "Essays on several curious and useful subjects": the
  iteration for systems and for optimization (stationary points).
- T. J. Ypma (1995), "Historical development of the Newton-Raphson method",
  SIAM Review 37(4), 531-551: who did what.
- K. Levenberg (1944), "A method for the solution of certain non-linear problems
  in least squares", Quart. Appl. Math. 2(2), 164-168: the damping term.
- J. Nocedal and S. J. Wright (2006), *Numerical Optimization*, 2nd ed.,
  Springer, ch. 3.3 (quadratic convergence) and 3.4 (Hessian modification).
"""

from __future__ import annotations

import numpy

from .base import Optimizer, _all_finite, check_lr, check_nonnegative, xp

__all__ = ["Newton", "SingularHessianError"]


class SingularHessianError(numpy.linalg.LinAlgError, ValueError):
    """The (damped) Hessian cannot be inverted at this point."""


class Newton(Optimizer):
    r"""Damped Newton's method: step along :math:`-(H + \mu I)^{-1} g`.

    .. math::

        (H_t + \mu I)\, d_t = g_t, \qquad \theta_t = \theta_{t-1} - \eta\, d_t

    with :math:`g_t = \nabla f(\theta_{t-1})` and :math:`H_t = \nabla^2
    f(\theta_{t-1})`. With :math:`\eta = 1` and :math:`\mu = 0` this is the pure
    Newton step: it jumps to the minimum of the local quadratic model, so it
    solves a quadratic in one step and, near a minimum with a positive-definite
    Hessian, converges quadratically (the error is squared each step).
    The damping :math:`\mu > 0` (Levenberg, 1944) blends in gradient descent
    with step :math:`1/\mu`: it makes a singular or indefinite Hessian usable
    and shortens steps far from the minimum. Where :math:`H` is indefinite,
    the undamped step heads for a saddle point or a maximum as readily as for
    a minimum.

    Parameters
    ----------
    params : 1-D array
        One flat vector :math:`\theta \in \mathbb R^d`, updated in place (a
        list or dict holding one such vector is accepted too). Pack several
        arrays into one vector first: the Hessian couples all coordinates.
    lr : float, default 1.0
        Step size :math:`\eta \ge 0` (1 is the Newton step).
    damping : float, default 0.0
        Levenberg damping :math:`\mu \ge 0`, added to the Hessian's diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    >>> x = np.zeros(2)
    >>> opt = Newton(x)
    >>> opt.step(A @ x - b, A)       # f(x) = x'Ax/2 - b'x: the minimum in one step
    >>> np.allclose(A @ x, b)
    True
    """

    squares_gradient = False
    _probe_shape = (1,)

    def __init__(self, params, lr=1.0, damping=0.0):
        super().__init__(params, lr=check_lr(lr), damping=check_nonnegative("damping", damping))
        if len(self.params) != 1 or self.params[0].ndim != 1:
            shapes = [tuple(p.shape) for p in self.params]
            raise ValueError(
                "Newton works on one flat vector parameter (shape (d,)), got "
                f"{len(self.params)} parameter(s) with shape(s) {shapes}. Concatenate them "
                "into one 1-D array, e.g. np.concatenate([p.ravel() for p in params])."
            )

    def step(self, grads, hessian) -> None:
        """Take one Newton step in place.

        Parameters
        ----------
        grads : array of shape (d,)
            The gradient :math:`g` at the current parameters (same structure as
            ``params``).
        hessian : array of shape (d, d)
            The Hessian :math:`H` at the current parameters.

        Raises
        ------
        SingularHessianError
            When :math:`H + \\mu I` is singular (the message suggests damping).
        """
        self._check_hyper()
        (g,) = self._check_grads(grads)
        p = self.params[0]
        d = p.shape[0]
        if hessian is None or getattr(getattr(hessian, "dtype", None), "kind", "f") not in "fiu":
            raise TypeError(
                f"hessian must be a real ({d}, {d}) array, got {type(hessian).__name__}"
                f"{' of dtype ' + str(hessian.dtype) if hasattr(hessian, 'dtype') else ''}."
            )
        try:
            H = xp.asarray(hessian, dtype=p.dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"hessian must be a real ({d}, {d}) array of numbers, got "
                f"{type(hessian).__name__} ({exc})."
            ) from None
        if H.shape != (d, d):
            raise ValueError(
                f"hessian has shape {tuple(H.shape)} but the parameter has {d} entries: "
                f"it must be ({d}, {d})."
            )
        if self.check_finite and not _all_finite(H):
            raise ValueError(f"hessian holds NaN or infinity at step {self.t + 1}.")
        direction = self.direction(g, H, self.t + 1)   # may raise: nothing changed yet
        self.t += 1
        p -= self.lr * direction                                       # θ -= η d

    def direction(self, g, H, t):
        r"""The Newton direction :math:`d`, the solution of :math:`(H + \mu I) d = g`."""
        if self.damping:
            H = H + self.damping * xp.eye(H.shape[0], dtype=H.dtype)   # H + μI
        try:
            direction = xp.linalg.solve(H, g)                          # solve (H + μI) d = g
        except numpy.linalg.LinAlgError as exc:
            raise self._singular(t) from exc
        if not _all_finite(direction):      # CuPy returns inf/NaN instead of raising
            raise self._singular(t)
        return direction

    def update(self, p, g, H, t):
        p -= self.lr * self.direction(g, H, t)                          # θ -= η d

    def _singular(self, t) -> SingularHessianError:
        return SingularHessianError(
            f"Newton step {t}: the Hessian{' + damping*I' if self.damping else ''} is singular "
            f"(damping={self.damping!r}), so the Newton system H d = g has no unique solution. "
            "Add Levenberg damping, e.g. Newton(x, damping=1e-3), or start elsewhere."
        )

"""Plain gradient descent and stochastic gradient descent with momentum.

Sources
-------
- A.-L. Cauchy (1847), "Méthode générale pour la résolution des systèmes
  d'équations simultanées", Comptes rendus 25, 536-538: steepest descent.
- H. Robbins and S. Monro (1951), "A stochastic approximation method",
  Ann. Math. Statist. 22(3), 400-407: the stochastic version.
- B. T. Polyak (1964), "Some methods of speeding up the convergence of
  iteration methods", USSR Comput. Math. Math. Phys. 4(5), 1-17: momentum.
- Y. Nesterov (1983), "A method for solving the convex programming problem with
  convergence rate O(1/k^2)", Soviet Math. Dokl. 27, 372-376; in the form of
  I. Sutskever et al. (2013), "On the importance of initialization and momentum
  in deep learning", ICML.
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_bool, check_lr, check_nonnegative, check_real, xp

__all__ = ["GD", "SGD"]


class GD(Optimizer):
    r"""Gradient descent, the rule of Cauchy (1847).

    .. math:: \theta_{t} = \theta_{t-1} - \eta\, g_t

    Full-batch or stochastic depends only on the gradient you pass: the full
    loss's gradient gives gradient descent, a mini-batch's gives SGD.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 0.1
        The learning rate :math:`\eta >= 0`.
    maximize : bool, default False
        Ascend instead of descend (for a reward rather than a loss).
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True
    squares_gradient = False

    def __init__(self, params, lr=0.1, maximize=False, fused=None):
        super().__init__(params, fused=fused, lr=check_lr(lr),
                         maximize=check_bool("maximize", maximize))

    def update(self, p, g, state, t):
        if self.maximize:
            g = -g
        p -= self.lr * g

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop: :data:`gdlib.optim.fused.sgd` with every option off."""
        fused.sgd(p, None, g, lr=self.lr, mu=0.0, damp1=1.0, lam=0.0, maximize=self.maximize,
                  decay=False, momentum=False, first=False, damped=False, nesterov=False)


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, as in ``torch.optim.SGD``.

    With weight decay :math:`\lambda`, momentum :math:`\mu` and dampening
    :math:`\tau`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &= \mu\, b_{t-1} + (1 - \tau)\, g_t \qquad (b_1 = g_1) \\
        d_t &= g_t + \mu\, b_t \ \text{(Nesterov)} \quad\text{or}\quad d_t = b_t \\
        \theta_t &= \theta_{t-1} - \eta\, d_t

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    momentum : float, default 0
        Momentum factor :math:`\mu \ge 0` (Polyak 1964); 0.9 is usual.
    dampening : float, default 0
        Dampening :math:`\tau \in [0, 1]` of the momentum.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    nesterov : bool, default False
        Use Nesterov's look-ahead (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True
    squares_gradient = False

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False, fused=None):
        momentum = check_nonnegative("momentum", momentum)
        dampening = check_real("dampening", dampening, 0.0, 1.0)
        nesterov = check_bool("nesterov", nesterov)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0 "
                f"(got momentum={momentum!r}, dampening={dampening!r})."
            )
        super().__init__(
            params, fused=fused, lr=check_lr(lr), momentum=momentum, dampening=dampening,
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            nesterov=nesterov, maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        return {"momentum_buffer": xp.zeros_like(p)} if self.momentum else {}

    def update(self, p, g, state, t):
        mu, tau, lam = self.momentum, self.dampening, self.weight_decay
        if self.maximize:
            g = -g
        if lam:
            g = g + lam * p                      # g <- g + λθ
        if mu:
            b = state["momentum_buffer"]
            if t == 1:
                b[...] = g                       # b_1 = g_1
            else:
                b *= mu
                b += (1 - tau) * g if tau else g  # b_t = μ b + (1-τ) g
            g = g + mu * b if self.nesterov else b
        p -= self.lr * g                          # θ <- θ - η d

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.sgd`)."""
        mu, tau, lam = self.momentum, self.dampening, self.weight_decay
        fused.sgd(p, state.get("momentum_buffer"), g, lr=self.lr, mu=mu, damp1=1 - tau, lam=lam,
                  maximize=self.maximize, decay=bool(lam), momentum=bool(mu), first=t == 1,
                  damped=bool(tau), nesterov=self.nesterov)


"""Adadelta: RMSprop with the units fixed, needing no hand-set learning rate.

Source
------
- M. D. Zeiler (2012), "ADADELTA: An adaptive learning rate method",
  arXiv:1212.5701 (Algorithm 1).
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_beta, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as in ``torch.optim.Adadelta``.

    Two running averages: of the squared gradients, :math:`E[g^2]`, and of the
    squared updates, :math:`E[\Delta\theta^2]`. Their ratio gives the update the
    units of the parameter (Zeiler's argument from Newton's method), so the
    paper needs no learning rate; torch keeps a multiplier ``lr`` (default 1):

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad\text{(L2 penalty, if any)}\\
        E[g^2]_t &= \rho\, E[g^2]_{t-1} + (1-\rho)\, g_t^2 \\
        \Delta\theta_t &= \frac{\sqrt{E[\Delta\theta^2]_{t-1} + \epsilon}}
                               {\sqrt{E[g^2]_t + \epsilon}}\; g_t \\
        E[\Delta\theta^2]_t &= \rho\, E[\Delta\theta^2]_{t-1} + (1-\rho)\, \Delta\theta_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \Delta\theta_t

    Here :math:`\epsilon` sits *inside* both square roots (it also sets the size
    of the very first steps, since :math:`E[\Delta\theta^2]_0 = 0`).

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1.0
        Multiplier :math:`\eta \ge 0` of the update.
    rho : float, default 0.9
        Decay rate :math:`\rho \in [0, 1)` of both running averages.
    eps : float, default 1e-6
        :math:`\epsilon > 0`, inside the square roots.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False,
                 fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), rho=check_beta("rho", rho), eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        return {"square_avg": xp.zeros_like(p), "acc_delta": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        rho, eps = self.rho, self.eps
        Eg2, Edx2 = state["square_avg"], state["acc_delta"]
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p                       # g <- g + λθ
        Eg2 *= rho
        Eg2 += (1 - rho) * (g * g)                              # E[g²] = ρ E[g²] + (1-ρ) g²
        dx = xp.sqrt(Edx2 + eps) / xp.sqrt(Eg2 + eps) * g       # Δθ = RMS[Δθ] / RMS[g] · g
        Edx2 *= rho
        Edx2 += (1 - rho) * (dx * dx)                           # E[Δθ²] = ρ E[Δθ²] + (1-ρ) Δθ²
        p -= self.lr * dx                                       # θ -= η Δθ

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.adadelta`)."""
        rho, lam = self.rho, self.weight_decay
        fused.adadelta(p, state["square_avg"], state["acc_delta"], g, lr=self.lr, rho=rho,
                       c=1 - rho, lam=lam, eps=self.eps, maximize=self.maximize, decay=bool(lam))

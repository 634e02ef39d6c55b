"""Adagrad: a learning rate per coordinate, shrinking with the gradients seen so far.

Source
------
- J. Duchi, E. Hazan and Y. Singer (2011), "Adaptive subgradient methods for
  online learning and stochastic optimization", JMLR 12, 2121-2159.
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan and Singer, 2011), as in ``torch.optim.Adagrad``.

    Each coordinate keeps the sum of its squared gradients and divides its step
    by the square root of that sum, so coordinates with large past gradients take
    small steps and rarely-updated coordinates keep large ones:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad\text{(L2 penalty, if any)}\\
        \tilde\eta_t &= \eta / (1 + (t-1)\,\delta) \quad\text{(optional decay of the rate)}\\
        G_t &= G_{t-1} + g_t^2 \qquad (G_0 = \text{initial\_accumulator\_value}) \\
        \theta_t &= \theta_{t-1} - \tilde\eta_t\, g_t / (\sqrt{G_t} + \epsilon)

    Because :math:`G_t` only grows, the effective step size only shrinks: good
    for convex problems with sparse features, often too aggressive for deep
    networks (the motivation for RMSprop and Adadelta).

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-2
        Learning rate :math:`\eta \ge 0`.
    lr_decay : float, default 0
        :math:`\delta \ge 0`, the rate decays as :math:`\eta / (1 + (t-1)\delta)`.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    initial_accumulator_value : float, default 0
        Starting value :math:`G_0 \ge 0` of the sum of squares.
    eps : float, default 1e-10
        :math:`\epsilon > 0`, added to :math:`\sqrt{G_t}`.
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False, fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), lr_decay=check_nonnegative("lr_decay", lr_decay),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            initial_accumulator_value=check_nonnegative(
                "initial_accumulator_value", initial_accumulator_value),
            eps=check_eps(eps), maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        return {"sum": xp.full_like(p, self.initial_accumulator_value)}

    def update(self, p, g, state, t):
        G = state["sum"]
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p             # g <- g + λθ
        lr_t = self.lr / (1 + (t - 1) * self.lr_decay)  # η̃ = η / (1 + (t-1)δ)
        G += g * g                                    # G = G + g²
        p -= lr_t * g / (xp.sqrt(G) + self.eps)       # θ -= η̃ g / (sqrt(G) + ε)

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.adagrad`)."""
        lam = self.weight_decay
        fused.adagrad(p, state["sum"], g, lr=self.lr / (1 + (t - 1) * self.lr_decay), lam=lam,
                      eps=self.eps, maximize=self.maximize, decay=bool(lam))

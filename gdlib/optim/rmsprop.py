"""RMSprop: divide the step by a running root-mean-square of recent gradients.

Source
------
- G. Hinton, N. Srivastava and K. Swersky (2012), "Neural networks for machine
  learning", Coursera, lecture 6e ("rmsprop: divide the gradient by a running
  average of its recent magnitude"). Unpublished as a paper.
- A. Graves (2013), "Generating sequences with recurrent neural networks",
  arXiv:1308.0850, eq. 38-45: the centered variant with momentum.
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_beta, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), as in ``torch.optim.RMSprop``.

    Adagrad's ever-growing sum is replaced by an exponential moving average, so
    old gradients are forgotten and the step size no longer decays to zero:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad\text{(L2 penalty, if any)}\\
        v_t &= \alpha v_{t-1} + (1-\alpha)\, g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha)\, g_t
            \quad\text{(centered only)}\\
        s_t &= \sqrt{v_t} + \epsilon \quad\text{or, centered,}\quad
            s_t = \sqrt{v_t - \bar g_t^2} + \epsilon \\
        b_t &= \mu\, b_{t-1} + g_t / s_t \quad\text{(with momentum } \mu > 0)\\
        \theta_t &= \theta_{t-1} - \eta\, b_t
            \quad\text{(or } \theta_{t-1} - \eta\, g_t / s_t \text{ without momentum)}

    The centered form (Graves, 2013) divides by an estimate of the gradient's
    standard deviation instead of its root mean square.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-2
        Learning rate :math:`\eta \ge 0`.
    alpha : float, default 0.99
        Smoothing constant :math:`\alpha \in [0, 1)` of the average of :math:`g^2`.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to the root mean square.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    momentum : float, default 0
        Momentum factor :math:`\mu \ge 0`.
    centered : bool, default False
        Divide by the centered second moment (the variance).
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False, fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), alpha=check_beta("alpha", alpha),
            eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            momentum=check_nonnegative("momentum", momentum),
            centered=check_bool("centered", centered),
            maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        state = {"square_avg": xp.zeros_like(p)}
        if self.centered:
            state["grad_avg"] = xp.zeros_like(p)
        if self.momentum > 0:
            state["momentum_buffer"] = xp.zeros_like(p)
        return state

    def update(self, p, g, state, t):
        a, mu = self.alpha, self.momentum
        v = state["square_avg"]
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p             # g <- g + λθ
        v *= a
        v += (1 - a) * (g * g)                        # v = α v + (1-α) g²
        if self.centered:
            g_bar = state["grad_avg"]
            g_bar *= a
            g_bar += (1 - a) * g                      # ḡ = α ḡ + (1-α) g
            s = xp.sqrt(v - g_bar * g_bar) + self.eps  # s = sqrt(v - ḡ²) + ε
        else:
            s = xp.sqrt(v) + self.eps                 # s = sqrt(v) + ε
        if mu > 0:
            b = state["momentum_buffer"]
            b *= mu
            b += g / s                                # b = μ b + g / s
            p -= self.lr * b                          # θ -= η b
        else:
            p -= self.lr * g / s                      # θ -= η g / s

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.rmsprop`)."""
        a, mu, lam = self.alpha, self.momentum, self.weight_decay
        fused.rmsprop(p, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
                      g, lr=self.lr, alpha=a, c=1 - a, lam=lam, eps=self.eps, mu=mu,
                      maximize=self.maximize, decay=bool(lam), centered=self.centered,
                      momentum=mu > 0)

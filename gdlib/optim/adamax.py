"""Adamax: Adam with the infinity norm in place of the root mean square.

Source
------
- D. P. Kingma and J. Ba (2014), "Adam: A method for stochastic optimization",
  arXiv:1412.6980 (ICLR 2015), section 7.1 and Algorithm 2.
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_betas, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma and Ba, 2014, sec. 7.1), as in ``torch.optim.Adamax``.

    Adam's :math:`v_t` is an exponentially weighted :math:`L^2` norm of past
    gradients; letting the norm's order go to infinity gives a running maximum
    :math:`u_t`, which needs no bias correction:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad\text{(L2 penalty, if any)}\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}

    The paper has :math:`\max(\beta_2 u_{t-1}, |g_t|)`; torch (and so gdlib) adds
    :math:`\epsilon` to :math:`|g_t|` inside the maximum, which keeps
    :math:`u_t > 0` when the first gradients are zero.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 2e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        :math:`\beta_1, \beta_2 \in [0, 1)`: decay of the mean and of the maximum.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to :math:`|g_t|` inside the maximum.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True
    squares_gradient = False

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 maximize=False, fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), betas=check_betas(betas), eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        return {"exp_avg": xp.zeros_like(p), "exp_inf": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        b1, b2 = self.betas
        m, u = state["exp_avg"], state["exp_inf"]
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p             # g <- g + λθ
        m *= b1
        m += (1 - b1) * g                             # m = β1 m + (1-β1) g
        u *= b2
        xp.maximum(u, xp.abs(g) + self.eps, out=u)    # u = max(β2 u, |g| + ε)
        p -= (self.lr / (1 - b1**t)) * m / u          # θ -= η/(1-β1^t) · m / u

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.adamax`)."""
        b1, b2 = self.betas
        lam = self.weight_decay
        fused.adamax(p, state["exp_avg"], state["exp_inf"], g, b1=b1, c1=1 - b1, b2=b2, lam=lam,
                     eps=self.eps, clr=self.lr / (1 - b1**t), maximize=self.maximize,
                     decay=bool(lam))

"""RAdam: Adam with a warm-up derived from the variance of the adaptive rate.

Source
------
- L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han (2019), "On the
  variance of the adaptive learning rate and beyond", arXiv:1908.03265 (ICLR 2020),
  Algorithm 2.
"""

from __future__ import annotations

import math

from . import fused
from .base import Optimizer, check_betas, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2019), as in ``torch.optim.RAdam``.

    In the first steps :math:`v_t` averages only a few squared gradients, so the
    adaptive rate :math:`1/\sqrt{\hat v_t}` has a large variance. RAdam estimates
    the length :math:`\rho_t` of the simple moving average that :math:`v_t`
    resembles; while it is short it takes plain momentum steps (no adaptive
    rate), afterwards it multiplies Adam's step by a rectification factor
    :math:`r_t \to 1`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad\text{(L2 penalty, or } \theta_{t-1} \leftarrow (1-\eta\lambda)\theta_{t-1}
            \text{ when decoupled)}\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
            \hat m_t = m_t / (1-\beta_1^t) \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
            \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t} \\
        \text{if } \rho_t > 5:\quad
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}},
            \qquad l_t = \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t\, r_t\, l_t \\
        \text{else:}\quad \theta_t &= \theta_{t-1} - \eta\, \hat m_t

    The paper switches at :math:`\rho_t > 4`; torch uses 5 (and so does gdlib).
    With the default :math:`\beta_2 = 0.999` the first five steps are momentum steps.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        :math:`\beta_1, \beta_2 \in [0, 1)`.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to :math:`\sqrt{v_t}`.
    weight_decay : float, default 0
        Weight decay :math:`\lambda \ge 0`.
    decoupled_weight_decay : bool, default False
        Shrink the parameters directly (as AdamW) instead of adding
        :math:`\lambda\theta` to the gradient.
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, maximize=False, fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), betas=check_betas(betas), eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            decoupled_weight_decay=check_bool("decoupled_weight_decay", decoupled_weight_decay),
            maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        return {"exp_avg": xp.zeros_like(p), "exp_avg_sq": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        b1, b2 = self.betas
        lr, lam = self.lr, self.weight_decay
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if self.maximize:
            g = -g
        if lam and self.decoupled_weight_decay:
            p *= 1 - lr * lam                         # θ <- θ(1 - ηλ)
        elif lam:
            g = g + lam * p                           # g <- g + λθ
        m *= b1
        m += (1 - b1) * g                             # m = β1 m + (1-β1) g
        v *= b2
        v += (1 - b2) * (g * g)                       # v = β2 v + (1-β2) g²
        bias1, bias2 = 1 - b1**t, 1 - b2**t
        m_hat = m / bias1                             # m̂ = m / (1-β1^t)
        rho_inf = 2 / (1 - b2) - 1                    # ρ∞
        rho_t = rho_inf - 2 * t * b2**t / bias2       # ρ_t
        if rho_t > 5:
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            l_t = math.sqrt(bias2) / (xp.sqrt(v) + self.eps)
            p -= lr * m_hat * r_t * l_t               # θ -= η m̂ r_t l_t
        else:
            p -= lr * m_hat                           # θ -= η m̂   (no adaptive rate yet)

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.radam`), same ρ_t and r_t."""
        b1, b2 = self.betas
        lr, lam = self.lr, self.weight_decay
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) if rho_t > 5 else 1.0
        fused.radam(p, state["exp_avg"], state["exp_avg_sq"], g, b1=b1, c1=1 - b1, b2=b2,
                    c2=1 - b2, lam=lam, shrink=1 - lr * lam, lr=lr, bias1=1 - b1**t, r_t=r_t,
                    root_bias2=math.sqrt(1 - b2**t), eps=self.eps, maximize=self.maximize,
                    decay=bool(lam), decoupled=bool(lam) and self.decoupled_weight_decay,
                    rectified=rho_t > 5)

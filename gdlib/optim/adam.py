"""Adam and AdamW.

Sources
-------
- D. P. Kingma and J. Ba (2014), "Adam: A method for stochastic optimization",
  arXiv:1412.6980 (ICLR 2015).
- S. J. Reddi, S. Kale and S. Kumar (2018), "On the convergence of Adam and
  beyond", ICLR: AMSGrad.
- I. Loshchilov and F. Hutter (2017), "Decoupled weight decay regularization",
  arXiv:1711.05101 (ICLR 2019): AdamW.
"""

from __future__ import annotations

import math

from . import fused
from .base import Optimizer, check_betas, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2014), as in ``torch.optim.Adam``.

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad\text{(L2 penalty, if any)}\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \hat m_t &= m_t / (1-\beta_1^t), \qquad \hat v_t = v_t / (1-\beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    With ``amsgrad=True`` (Reddi et al., 2018) :math:`\hat v_t` uses the running
    maximum :math:`\max_{s \le t} v_s` instead of :math:`v_t`.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        Decay rates :math:`\beta_1, \beta_2 \in [0, 1)` of the two moving averages.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to :math:`\sqrt{\hat v_t}`.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient (see :class:`AdamW`
        for the decoupled form).
    amsgrad : bool, default False
        Use the running maximum of :math:`v_t`.
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    elementwise = True
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False, fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), betas=check_betas(betas), eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            amsgrad=check_bool("amsgrad", amsgrad), maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        state = {"exp_avg": xp.zeros_like(p), "exp_avg_sq": xp.zeros_like(p)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = xp.zeros_like(p)
        return state

    def update(self, p, g, state, t):
        b1, b2 = self.betas
        lr, lam = self.lr, self.weight_decay
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if self.maximize:
            g = -g
        if lam and self.decoupled:
            p *= 1 - lr * lam                     # θ <- θ(1 - ηλ)   (AdamW)
        elif lam:
            g = g + lam * p                       # g <- g + λθ      (Adam's L2)
        m *= b1
        m += (1 - b1) * g                         # m = β1 m + (1-β1) g
        v *= b2
        v += (1 - b2) * (g * g)                   # v = β2 v + (1-β2) g²
        if self.amsgrad:
            v_max = state["max_exp_avg_sq"]
            xp.maximum(v_max, v, out=v_max)       # v̂ uses max_s v_s
            v = v_max
        # θ -= η m̂ / (sqrt(v̂) + ε), with m̂ = m / (1-β1^t) and v̂ = v / (1-β2^t).
        # Folding both corrections into the scalars, as Kingma and Ba suggest
        # (sec. 2), gives the same value with fewer passes over the arrays:
        #   η m̂ / (sqrt(v̂) + ε) = η_t m / (sqrt(v) + ε_t),
        #   η_t = η sqrt(1-β2^t) / (1-β1^t),   ε_t = ε sqrt(1-β2^t).
        root_bias2 = math.sqrt(1 - b2**t)
        step_size = lr * root_bias2 / (1 - b1**t)
        denom = xp.sqrt(v) + self.eps * root_bias2    # sqrt(v) + ε_t
        p -= step_size * (m / denom)

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.adam`), same folded constants."""
        b1, b2 = self.betas
        lr, lam = self.lr, self.weight_decay
        root_bias2 = math.sqrt(1 - b2**t)
        fused.adam(p, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"), g,
                   b1=b1, c1=1 - b1, b2=b2, c2=1 - b2, lam=lam, shrink=1 - lr * lam,
                   step_size=lr * root_bias2 / (1 - b1**t), eps_t=self.eps * root_bias2,
                   maximize=self.maximize, decay=bool(lam), decoupled=bool(lam) and self.decoupled,
                   amsgrad=self.amsgrad)

class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2017), as ``torch.optim.AdamW``.

    The decay shrinks the parameters directly, :math:`\theta \leftarrow
    \theta (1 - \eta\lambda)`, instead of entering the gradient, so it is not
    rescaled by Adam's per-coordinate step size. The rest is :class:`Adam`.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        :math:`\beta_1, \beta_2 \in [0, 1)`.
    eps : float, default 1e-8
        :math:`\epsilon > 0`.
    weight_decay : float, default 1e-2
        Decoupled decay :math:`\lambda \ge 0`.
    amsgrad : bool, default False
        Use the running maximum of :math:`v_t`.
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, fused=fused)

"""LAMB: Adam's direction with a layer-wise trust ratio, for very large batches.

Source
------
- Y. You, J. Li, S. Reddi, J. Hseu, S. Kumar, S. Bhojanapalli, X. Song,
  J. Demmel, K. Keutzer and C.-J. Hsieh (2020), "Large batch optimization for
  deep learning: training BERT in 76 minutes", ICLR 2020 (arXiv:1904.00962).
"""

from __future__ import annotations

from .base import Optimizer, check_betas, check_eps, check_lr, check_nonnegative, xp
from .lars import trust_ratio

__all__ = ["LAMB"]


class LAMB(Optimizer):
    r"""LAMB (You et al., 2020), as ``optax.lamb``.

    Adam's bias-corrected direction, plus decoupled weight decay, rescaled per
    parameter array (layer) so that its length is the layer's own norm:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        u_t &= \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}
               + \lambda\, \theta_{t-1} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\lVert\theta_{t-1}\rVert}{\lVert u_t\rVert}\, u_t
        \quad(\text{ratio } 1 \text{ when a norm is } 0)

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place; the trust ratio is computed per array.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0` (optax has no default).
    betas : (float, float), default (0.9, 0.999)
        :math:`\beta_1, \beta_2 \in [0, 1)`; optax's ``b1``, ``b2``.
    eps : float, default 1e-6
        :math:`\epsilon > 0`, added to :math:`\sqrt{\hat v_t}` (optax's default).
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, added to the direction before the trust ratio.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
        super().__init__(params, lr=check_lr(lr), betas=check_betas(betas), eps=check_eps(eps),
                         weight_decay=check_nonnegative("weight_decay", weight_decay))

    def init_state(self, p):
        return {"exp_avg": xp.zeros_like(p), "exp_avg_sq": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        b1, b2 = self.betas
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g                                   # m = β1 m + (1-β1) g
        v *= b2
        v += (1 - b2) * (g * g)                             # v = β2 v + (1-β2) g²
        u = (m / (1 - b1**t)) / (xp.sqrt(v / (1 - b2**t)) + self.eps)   # m̂ / (sqrt(v̂) + ε)
        if self.weight_decay:
            u = u + self.weight_decay * p                   # u += λθ
        p -= (self.lr * trust_ratio(p, u)) * u              # θ -= η (‖θ‖/‖u‖) u

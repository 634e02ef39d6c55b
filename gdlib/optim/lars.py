"""LARS: layer-wise adaptive rate scaling, for very large batches.

Source
------
- Y. You, I. Gitman and B. Ginsburg (2017), "Large batch training of
  convolutional networks", arXiv:1708.03888.
"""

from __future__ import annotations

from .base import Optimizer, check_bool, check_lr, check_nonnegative, check_real, xp

__all__ = ["LARS", "trust_ratio"]


def trust_ratio(p, u, trust_coefficient=1.0, eps=0.0) -> float:
    r"""The layer's trust ratio :math:`\eta\,\lVert\theta\rVert / (\lVert u\rVert + \epsilon)`.

    ``u`` is the update direction *with* the weight decay already in it
    (:math:`g + \lambda\theta` for LARS, Adam's direction plus
    :math:`\lambda\theta` for LAMB). When either norm is zero the ratio is 1,
    so a layer that starts at zero (a bias) still moves, as in
    ``optax.scale_by_trust_ratio``.
    """
    p_norm = float(xp.linalg.norm(p))
    u_norm = float(xp.linalg.norm(u))
    if p_norm == 0.0 or u_norm == 0.0:
        return 1.0
    return trust_coefficient * p_norm / (u_norm + eps)


class LARS(Optimizer):
    r"""LARS (You, Gitman and Ginsburg, 2017), as ``optax.lars``.

    Each parameter array (a layer) gets its own step size, proportional to
    how large the layer is compared with its update, so that no layer moves
    by more than a fixed fraction of itself however large the batch (and the
    global learning rate) becomes:

    .. math::

        u_t &= g_t + \lambda\,\theta_{t-1} \\
        r_t &= \eta_{\mathrm{tc}}\, \lVert\theta_{t-1}\rVert / (\lVert u_t\rVert + \epsilon)
               \quad (1 \text{ when a norm is } 0) \\
        m_t &= \mu\, m_{t-1} + \eta\, r_t\, u_t \\
        \theta_t &= \theta_{t-1} - m_t
        \quad(\text{Nesterov: } \theta_t = \theta_{t-1} - (\mu m_t + \eta r_t u_t))

    The momentum buffer holds the scaled step (learning rate included), as
    in optax, where ``scale_by_learning_rate`` comes before ``trace``.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place; the trust ratio is computed per array.
    lr : float, default 1.0
        Global learning rate :math:`\eta \ge 0` (optax has no default; the
        trust coefficient already makes each step small).
    momentum : float, default 0.9
        :math:`\mu \ge 0`.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, added to the gradient *before* the trust ratio.
    trust_coefficient : float, default 0.001
        :math:`\eta_{\mathrm{tc}} > 0`, the paper's :math:`\eta`.
    eps : float, default 0
        :math:`\epsilon \ge 0` in the ratio's denominator.
    nesterov : bool, default False
        Nesterov's form of the momentum.
    """

    def __init__(self, params, lr=1.0, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001,
                 eps=0.0, nesterov=False):
        super().__init__(
            params, lr=check_lr(lr), momentum=check_nonnegative("momentum", momentum),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            trust_coefficient=check_real("trust_coefficient", trust_coefficient, low=0.0,
                                         low_open=True),
            eps=check_nonnegative("eps", eps), nesterov=check_bool("nesterov", nesterov),
        )

    def init_state(self, p):
        return {"momentum_buffer": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        m = state["momentum_buffer"]
        u = g + self.weight_decay * p if self.weight_decay else g          # u = g + λθ
        step = (self.lr * trust_ratio(p, u, self.trust_coefficient, self.eps)) * u
        m *= self.momentum
        m += step                                                           # m = μ m + η r u
        p -= self.momentum * m + step if self.nesterov else m

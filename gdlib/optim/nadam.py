"""NAdam: Adam with Nesterov's look-ahead momentum.

Sources
-------
- T. Dozat (2016), "Incorporating Nesterov momentum into Adam", ICLR workshop
  track (the momentum schedule :math:`\\mu_t` below is his).
- I. Loshchilov and F. Hutter (2017), "Decoupled weight decay regularization",
  arXiv:1711.05101: the decoupled weight decay option.
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_betas, check_bool, check_eps, check_lr, check_nonnegative, xp

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as in ``torch.optim.NAdam``.

    Nesterov's idea is to take the gradient step from where momentum is about to
    carry us. In Adam's terms, the update mixes the current gradient and the
    momentum of the *next* step, each with its own bias correction. The momentum
    coefficient warms up slowly (Dozat's schedule, :math:`\psi` =
    ``momentum_decay``):

    .. math::

        \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr), \qquad
            \Pi_t = \prod_{s=1}^{t} \mu_s \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad\text{(L2 penalty, or } \theta_{t-1} \leftarrow (1-\eta\lambda)\theta_{t-1}
            \text{ when decoupled)}\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
            \hat v_t = v_t / (1-\beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta \left(
            \frac{1-\mu_t}{1-\Pi_t}\, g_t + \frac{\mu_{t+1}}{1-\Pi_{t+1}}\, m_t \right)
            \Big/ \bigl(\sqrt{\hat v_t} + \epsilon\bigr)

    :math:`\Pi_t` is one number shared by all parameters, so it lives on the
    optimizer (recomputed from ``t`` after :meth:`load_state_dict`), not in the
    per-parameter state.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 2e-3
        Learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        :math:`\beta_1, \beta_2 \in [0, 1)`.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to :math:`\sqrt{\hat v_t}`.
    weight_decay : float, default 0
        Weight decay :math:`\lambda \ge 0`.
    momentum_decay : float, default 4e-3
        :math:`\psi \ge 0` in the momentum schedule.
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

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False, fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), betas=check_betas(betas), eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            momentum_decay=check_nonnegative("momentum_decay", momentum_decay),
            decoupled_weight_decay=check_bool("decoupled_weight_decay", decoupled_weight_decay),
            maximize=check_bool("maximize", maximize),
        )
        self._mu_products = (0, 1.0)   # (t, Π_t), extended one step at a time

    def _on_load(self) -> None:
        self._mu_products = (0, 1.0)   # Π_t depends on betas and momentum_decay: recompute

    def mu(self, t: int) -> float:
        """Dozat's momentum schedule :math:`\\mu_t = \\beta_1 (1 - 0.5 \\cdot 0.96^{t\\psi})`."""
        return self.betas[0] * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def mu_product(self, t: int) -> float:
        r""":math:`\Pi_t = \mu_1 \mu_2 \cdots \mu_t` (multiplied in that order, as torch does)."""
        s, prod = self._mu_products
        if s > t:                       # the step counter went back (load_state_dict)
            s, prod = 0, 1.0
        while s < t:
            s += 1
            prod *= self.mu(s)
        self._mu_products = (t, prod)   # one assignment: safe when slices run on threads
        return prod

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
        mu_t, mu_next = self.mu(t), self.mu(t + 1)    # μ_t, μ_{t+1}
        prod_t = self.mu_product(t)                   # Π_t
        prod_next = prod_t * mu_next                  # Π_{t+1}
        m *= b1
        m += (1 - b1) * g                             # m = β1 m + (1-β1) g
        v *= b2
        v += (1 - b2) * (g * g)                       # v = β2 v + (1-β2) g²
        denom = xp.sqrt(v / (1 - b2**t)) + self.eps   # sqrt(v̂) + ε
        p -= (lr * (1 - mu_t) / (1 - prod_t)) * g / denom        # gradient part
        p -= (lr * mu_next / (1 - prod_next)) * m / denom        # look-ahead momentum part

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.nadam`)."""
        b1, b2 = self.betas
        lr, lam = self.lr, self.weight_decay
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        prod_t = self.mu_product(t)
        fused.nadam(p, state["exp_avg"], state["exp_avg_sq"], g, b1=b1, c1=1 - b1, b2=b2,
                    c2=1 - b2, lam=lam, shrink=1 - lr * lam, bias2=1 - b2**t, eps=self.eps,
                    a_g=lr * (1 - mu_t) / (1 - prod_t),
                    a_m=lr * mu_next / (1 - prod_t * mu_next),
                    maximize=self.maximize, decay=bool(lam),
                    decoupled=bool(lam) and self.decoupled_weight_decay)



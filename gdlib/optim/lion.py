"""Lion: the sign of an interpolated momentum.

Source
------
- X. Chen, C. Liang, D. Huang, E. Real, K. Wang, Y. Liu, H. Pham, X. Dong,
  T. Luong, C.-J. Hsieh, Y. Lu and Q. V. Le (2023), "Symbolic discovery of
  optimization algorithms", arXiv:2302.06675 (NeurIPS 2023).
"""

from __future__ import annotations

from . import fused
from .base import Optimizer, check_betas, check_bool, check_lr, check_nonnegative, xp

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion, "EvoLved Sign Momentum" (Chen et al., 2023), as ``optax.lion``.

    The step is the *sign* of a blend of the gradient and the momentum, so
    every coordinate moves by exactly :math:`\eta` (plus the decay); the
    momentum itself is updated afterwards with a second, slower rate:

    .. math::

        c_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        \theta_t &= \theta_{t-1} - \eta\, \big(\operatorname{sign}(c_t)
                     + \lambda \theta_{t-1}\big) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2)\, g_t

    Because the update has unit size per coordinate, Lion wants a learning
    rate 3-10 times smaller than AdamW's and a weight decay 3-10 times larger
    (the paper's advice).

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-4
        Learning rate :math:`\eta \ge 0`. (``optax.lion`` has no default; 1e-4
        is the paper's usual choice, ten times below AdamW's 1e-3.)
    betas : (float, float), default (0.9, 0.99)
        :math:`\beta_1` (blend used for the step) and :math:`\beta_2` (momentum
        decay), each in ``[0, 1)``; optax's ``b1`` and ``b2``.
    weight_decay : float, default 1e-3
        Decoupled decay :math:`\lambda \ge 0`, multiplied by the learning rate
        (optax's default).
    maximize : bool, default False
        Ascend instead of descend.
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.

    Notes
    -----
    Matches ``optax.lion`` (optax chains ``scale_by_lion``,
    ``add_decayed_weights`` and ``scale_by_learning_rate``, which is the
    equation above).
    """

    elementwise = True
    squares_gradient = False

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=1e-3, maximize=False,
                 fused=None):
        super().__init__(
            params, fused=fused, lr=check_lr(lr), betas=check_betas(betas),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        return {"exp_avg": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        b1, b2 = self.betas
        m = state["exp_avg"]
        if self.maximize:
            g = -g
        c = (1 - b1) * g + b1 * m                 # c = β1 m + (1-β1) g
        u = xp.sign(c)                            # u = sign(c)
        if self.weight_decay:
            u += self.weight_decay * p            # u += λθ
        p -= self.lr * u                          # θ -= η u
        m *= b2
        m += (1 - b2) * g                         # m = β2 m + (1-β2) g

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.lion`)."""
        b1, b2 = self.betas
        lam = self.weight_decay
        fused.lion(p, state["exp_avg"], g, lr=self.lr, b1=b1, c1=1 - b1, b2=b2, c2=1 - b2,
                   lam=lam, maximize=self.maximize, decay=bool(lam))

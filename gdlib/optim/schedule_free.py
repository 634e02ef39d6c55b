"""Schedule-free AdamW: averaging instead of a decaying learning-rate schedule.

Source
------
- A. Defazio, X. Yang, H. Mehta, K. Mishchenko, A. Khaled and A. Cutkosky
  (2024), "The road less scheduled", arXiv:2405.15682 (NeurIPS 2024).
"""

from __future__ import annotations

from . import fused
from .base import (
    Optimizer,
    check_beta,
    check_betas,
    check_eps,
    check_int,
    check_lr,
    check_nonnegative,
    xp,
)

__all__ = ["ScheduleFreeAdamW"]


class ScheduleFreeAdamW(Optimizer):
    r"""Schedule-free AdamW (Defazio et al., 2024), as ``optax.contrib.schedule_free_adamw``.

    Three sequences share one run. :math:`z` takes plain AdamW steps without
    momentum; :math:`x`, a weighted running average of the :math:`z`'s, is the
    point to *evaluate*; the gradient is taken at :math:`y`, between the two.
    The optimizer's ``params`` are :math:`y`; :meth:`eval_params` returns :math:`x`.

    .. math::

        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
              \hat v_t = v_t / (1-\beta_2^t) \\
        z_t &= z_{t-1} - \gamma_{t-1} \big(g_t / (\sqrt{\hat v_t} + \epsilon)
              + \lambda y_{t-1}\big) \\
        c_t &= w_t \Big/ \textstyle\sum_{s \le t} w_s,
              \qquad w_t = (\max_{s \le t} \gamma_s)^{r} \\
        x_t &= (1 - c_t)\, x_{t-1} + c_t z_t \\
        y_t &= \beta_1 x_t + (1-\beta_1)\, z_t

    where :math:`g_t` is the gradient at :math:`y_{t-1}`, :math:`x_0 = z_0 =
    y_0` and :math:`\gamma_t = \eta \min(t, T_w)/T_w` is a linear warm-up over
    :math:`T_w` steps (constant :math:`\eta` without warm-up). Only :math:`z`
    and :math:`v` are stored: :math:`x = (y - (1-\beta_1) z)/\beta_1`.

    Parameters
    ----------
    params : array, list or dict of arrays
        The training point :math:`y`, updated in place.
    lr : float, default 0.0025
        Peak learning rate :math:`\eta \ge 0`.
    betas : (float, float), default (0.9, 0.999)
        :math:`\beta_1 \in (0, 1)`, the interpolation weight between :math:`x`
        and :math:`z`, and :math:`\beta_2 \in [0, 1)`, the second-moment decay.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to :math:`\sqrt{\hat v_t}`.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, applied at :math:`y` and scaled by the learning rate.
    warmup_steps : int, default 0
        :math:`T_w`, the length of the linear warm-up (0: none).
    weight_lr_power : float, default 2.0
        :math:`r`, how strongly the average favours steps taken with a large
        learning rate (it discounts the warm-up).
    fused : bool or None, default None
        Run the rule as one fused loop (:mod:`gdlib.optim.fused`, same numbers);
        ``None``: for large arrays, unless ``GDLIB_FUSED=0``.

    Notes
    -----
    Follows optax's indexing exactly: the :math:`z` step at step :math:`t`
    uses :math:`\gamma_{t-1}` (so with warm-up the first step leaves
    :math:`z` unchanged) while the averaging weight uses :math:`\gamma_t`.
    A schedule that changes ``opt.lr`` changes :math:`\eta`.
    """

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 warmup_steps=0, weight_lr_power=2.0, fused=None):
        b1, b2 = check_betas(betas)
        check_beta("betas[0]", b1, low_inclusive=False)   # x = (y - (1-β1) z)/β1 needs β1 > 0
        super().__init__(
            params, fused=fused, lr=check_lr(lr), betas=(b1, b2), eps=check_eps(eps),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            warmup_steps=check_int("warmup_steps", warmup_steps, minimum=0),
            weight_lr_power=check_nonnegative("weight_lr_power", weight_lr_power),
        )

    def scheduled_lr(self, t: int) -> float:
        """:math:`\\gamma_t = \\eta \\min(t, T_w)/T_w` (just :math:`\\eta` without warm-up)."""
        if self.warmup_steps == 0:
            return self.lr
        return self.lr * min(t, self.warmup_steps) / self.warmup_steps

    def init_state(self, p):
        return {
            "z": p.copy(),                   # z_0 = y_0
            "exp_avg_sq": xp.zeros_like(p),  # v_0 = 0
            "max_lr": 0.0,                   # max_s γ_s so far
            "weight_sum": 0.0,               # Σ_s w_s
        }

    def update(self, p, g, state, t):
        b1, b2 = self.betas
        z, v = state["z"], state["exp_avg_sq"]
        # The averaging weight c_t (the same for every parameter).
        state["max_lr"] = max(state["max_lr"], self.scheduled_lr(t))
        w = state["max_lr"] ** self.weight_lr_power             # w_t = (max γ)^r
        state["weight_sum"] += w
        c = w / state["weight_sum"] if state["weight_sum"] > 0 else 0.0   # c_t = w_t / Σ w
        # x_{t-1}, recovered from y and z before z moves.
        x = (p - (1 - b1) * z) / b1                               # x = (y - (1-β1) z)/β1
        # An AdamW step without momentum on z.
        v *= b2
        v += (1 - b2) * (g * g)                                   # v = β2 v + (1-β2) g²
        v_hat = v / (1 - b2**t)                                   # v̂ = v / (1-β2^t)
        u = g / (xp.sqrt(v_hat) + self.eps)                       # g / (sqrt(v̂) + ε)
        if self.weight_decay:
            u = u + self.weight_decay * p                         # + λ y
        z -= self.scheduled_lr(t - 1) * u                         # z -= γ_{t-1} u
        x = (1 - c) * x + c * z                                   # x = (1-c) x + c z
        p[...] = b1 * x + (1 - b1) * z                            # y = β1 x + (1-β1) z

    def fused_update(self, p, g, state, t):
        """:meth:`update` as one loop (:data:`gdlib.optim.fused.schedule_free`)."""
        b1, b2 = self.betas
        state["max_lr"] = max(state["max_lr"], self.scheduled_lr(t))
        w = state["max_lr"] ** self.weight_lr_power
        state["weight_sum"] += w
        c = w / state["weight_sum"] if state["weight_sum"] > 0 else 0.0
        lam = self.weight_decay
        fused.schedule_free(p, state["z"], state["exp_avg_sq"], g, b1=b1, c1=1 - b1, b2=b2,
                            c2=1 - b2, bias2=1 - b2**t, eps=self.eps, lam=lam,
                            lr=self.scheduled_lr(t - 1), keep=1 - c, c=c, decay=bool(lam))

    def eval_params(self):
        r"""The averaged point :math:`x = (y - (1-\beta_1) z)/\beta_1` to evaluate the model at.

        Returns new arrays (the parameters are not changed), in the structure of
        ``params`` (one array, a list, or a dict). Before the first step it is
        a copy of the parameters.
        """
        b1 = self.betas[0]
        xs = []
        for p, state in zip(self.params, self.state):
            z = state.get("z")
            xs.append(p.copy() if z is None else (p - (1 - b1) * z) / b1)
        if self._kind == "single":
            return xs[0]
        if self._kind == "dict":
            return dict(zip(self.names, xs))
        return xs


"""Adafactor: Adam-like steps with a factored (row x column) second moment.

Source
------
- N. Shazeer and M. Stern (2018), "Adafactor: Adaptive learning rates with
  sublinear memory cost", ICML, arXiv:1804.04235.
"""

from __future__ import annotations

import math

from .base import Optimizer, _real, check_bool, check_lr, check_nonnegative, xp

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer and Stern, 2018), as ``torch.optim.Adafactor`` (torch 2.13).

    For a matrix :math:`G_t` of shape :math:`n \times m`, Adam's :math:`n m`
    second moments are replaced by a row average :math:`R_t` (:math:`n` numbers)
    and a column average :math:`C_t` (:math:`m` numbers), whose outer product,
    divided by the mean of :math:`R_t`, estimates :math:`\mathbb E[G^2]`. With
    :math:`\hat\beta_{2t} = 1 - t^{c}` (``beta2_decay`` :math:`c < 0`):

    .. math::

        \rho_t &= \min(\eta,\ 1/\sqrt t), \qquad
        \alpha_t = \max\big(\epsilon_2,\ \mathrm{RMS}(\theta_{t-1})\big)\, \rho_t \\
        \theta &\leftarrow (1 - \eta\lambda)\, \theta_{t-1}
            \quad\text{(weight decay, if any)} \\
        R_t &= \hat\beta_{2t} R_{t-1} + (1-\hat\beta_{2t})\, \mathrm{mean}_{\text{cols}}(G_t^2) \\
        C_t &= \hat\beta_{2t} C_{t-1} + (1-\hat\beta_{2t})\, \mathrm{mean}_{\text{rows}}(G_t^2) \\
        \hat V_t &= R_t C_t / \max(\mathrm{mean}(R_t),\ \epsilon_1) \\
        U_t &= G_t / \sqrt{\max(\hat V_t,\ \epsilon_1^2)} \\
        \theta_t &= \theta - \frac{\alpha_t}{\max(1,\ \mathrm{RMS}(U_t)/d)}\, U_t

    A vector (or scalar) parameter keeps the full second moment
    :math:`V_t = \hat\beta_{2t} V_{t-1} + (1-\hat\beta_{2t}) G_t^2`; an array
    with more than two axes is factored over its last two. There is no first
    moment (the paper's :math:`\beta_1 = 0`), and the step is *relative*: its
    size scales with the parameters' RMS.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-2
        :math:`\eta \ge 0`, the cap of the relative step size :math:`\rho_t`.
    beta2_decay : float, default -0.8
        :math:`c \le 0`, the exponent of the second-moment schedule.
    eps : (float or None, float), default (None, 1e-3)
        :math:`(\epsilon_1, \epsilon_2)`: the floor of the second moment
        (None: the dtype's machine epsilon) and of the parameters' RMS.
    d : float, default 1.0
        Clipping threshold :math:`d \ge 1` on the RMS of the update.
    weight_decay : float, default 0
        Decoupled decay :math:`\lambda \ge 0`, multiplied by ``lr``.
    maximize : bool, default False
        Ascend instead of descend.

    Notes
    -----
    Not element-wise: the factored moment couples rows and columns, and
    :math:`\alpha_t` and the clipping use whole-parameter norms.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, maximize=False):
        beta2_decay = _real("beta2_decay", beta2_decay)
        if not -math.inf < beta2_decay <= 0:
            raise ValueError(
                f"Invalid beta2_decay={beta2_decay!r}: it must be a finite number <= 0 (-0.8 is "
                "the default); the second-moment weight is 1 - t**beta2_decay."
            )
        if isinstance(eps, (str, bytes)):
            raise TypeError(f"eps must be a pair (eps1 or None, eps2), got {eps!r}.")
        try:
            eps1, eps2 = eps
        except (TypeError, ValueError):
            raise ValueError(f"eps must be a pair (eps1 or None, eps2), got {eps!r}.") from None
        if eps1 is not None:
            eps1 = check_nonnegative("eps[0]", eps1)
        eps2 = check_nonnegative("eps[1]", eps2)
        d = _real("d", d)
        if not 1.0 <= d < math.inf:
            raise ValueError(
                f"Invalid clipping threshold d={d!r}: it must be a finite number >= 1."
            )
        super().__init__(
            params, lr=check_lr(lr), beta2_decay=beta2_decay, eps=(eps1, eps2), d=d,
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            maximize=check_bool("maximize", maximize),
        )

    def init_state(self, p):
        if p.ndim >= 2:
            # R: one number per row (last axis averaged); C: one per column.
            return {
                "row_var": xp.zeros(p.shape[:-1] + (1,), dtype=p.dtype),
                "col_var": xp.zeros(p.shape[:-2] + (1, p.shape[-1]), dtype=p.dtype),
            }
        return {"variance": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        eps1, eps2 = self.eps
        if eps1 is None:
            eps1 = float(xp.finfo(p.dtype).eps)
        if self.maximize:
            g = -g
        w = t**self.beta2_decay                        # 1 - β̂2t = t^c
        rho = min(self.lr, 1 / math.sqrt(t))           # ρ_t = min(η, 1/√t)
        alpha = max(eps2, _rms(p)) * rho               # α_t = max(ε2, RMS(θ)) ρ_t
        if self.weight_decay:
            p *= 1 - self.lr * self.weight_decay       # θ <- (1-ηλ) θ
        g2 = g * g
        if p.ndim >= 2:
            R, C = state["row_var"], state["col_var"]
            R += w * (g2.mean(axis=-1, keepdims=True) - R)    # R = β̂ R + (1-β̂) mean_cols(G²)
            C += w * (g2.mean(axis=-2, keepdims=True) - C)    # C = β̂ C + (1-β̂) mean_rows(G²)
            V = (R @ C) / xp.maximum(R.mean(axis=-2, keepdims=True), eps1)   # V̂ = R C / mean(R)
        else:
            V = state["variance"]
            V += w * (g2 - V)                          # V = β̂ V + (1-β̂) G²
        U = g / xp.sqrt(xp.maximum(V, eps1 * eps1))    # U = G / sqrt(max(V̂, ε1²))
        clip = max(1.0, _rms(U) / self.d)              # max(1, RMS(U)/d)
        p -= (alpha / clip) * U                        # θ -= α U / clip


def _rms(a) -> float:
    """Root mean square of all entries, as a Python float."""
    return float(xp.linalg.norm(a.reshape(-1))) / math.sqrt(a.size)

"""Rprop: resilient backpropagation, a step size per weight driven by sign changes.

Source
------
- M. Riedmiller and H. Braun (1993), "A direct adaptive method for faster
  backpropagation learning: the RPROP algorithm", IEEE International Conference
  on Neural Networks, 586-591.
"""

from __future__ import annotations

from .base import Optimizer, check_bool, check_lr, check_real, xp

__all__ = ["Rprop"]


def _check_pair(name: str, value) -> tuple:
    try:
        pair = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a pair of numbers, got {value!r}.") from None
    if len(pair) != 2:
        raise ValueError(f"{name} must hold 2 numbers, got {len(pair)}: {pair!r}.")
    return pair


def check_etas(etas) -> tuple[float, float]:
    """``(eta_minus, eta_plus)`` with ``0 < eta_minus < 1 < eta_plus``, as torch requires."""
    lo, hi = _check_pair("etas", etas)
    lo = check_real("etas[0]", lo, 0.0, 1.0, low_open=True, high_open=True)
    hi = check_real("etas[1]", hi, 1.0, None, low_open=True)
    return lo, hi


def check_step_sizes(step_sizes) -> tuple[float, float]:
    """``(smallest, largest)`` step with ``0 <= smallest <= largest`` (largest may be inf)."""
    lo, hi = _check_pair("step_sizes", step_sizes)
    lo = check_real("step_sizes[0]", lo, 0.0)
    hi = check_real("step_sizes[1]", hi, 0.0, allow_inf=True)
    if lo > hi:
        raise ValueError(
            f"Invalid step_sizes={(lo, hi)!r}: the smallest step (step_sizes[0]) must not exceed "
            "the largest (step_sizes[1])."
        )
    return lo, hi


class Rprop(Optimizer):
    r"""Rprop (Riedmiller and Braun, 1993), as in ``torch.optim.Rprop``.

    Every weight has its own step :math:`\Delta`, started at the learning rate.
    Only the *sign* of the gradient is used: while it keeps its sign the step
    grows by :math:`\eta_+`, when it flips the last step overshot a minimum and
    the step shrinks by :math:`\eta_-`:

    .. math::

        s &= \operatorname{sign}(g_t\, g_{t-1}) \\
        \Delta_t &= \operatorname{clip}\bigl(\Delta_{t-1} \cdot
              \{\eta_+ \text{ if } s > 0,\ \eta_- \text{ if } s < 0,\ 1 \text{ if } s = 0\},
              \ \Delta_{\min},\ \Delta_{\max}\bigr) \\
        g_t &\leftarrow 0 \quad\text{where } s < 0 \\
        \theta_t &= \theta_{t-1} - \Delta_t \operatorname{sign}(g_t)

    Setting the gradient to zero after a sign change (torch's variant, "Rprop
    without weight-backtracking") means the weight does not move on that step
    and the next step counts as a fresh start (:math:`s = 0`, step kept).

    Rprop ignores the gradient's size, so it is meant for full-batch gradients:
    mini-batch noise flips the signs at random.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-2
        The first step :math:`\Delta_0 \ge 0` of every weight (later changes of
        ``lr``, e.g. by a schedule, do not change the steps already adapted).
    etas : (float, float), default (0.5, 1.2)
        :math:`(\eta_-, \eta_+)` with :math:`0 < \eta_- < 1 < \eta_+`.
    step_sizes : (float, float), default (1e-6, 50)
        :math:`(\Delta_{\min}, \Delta_{\max})`, the range the steps are clipped to.
    maximize : bool, default False
        Ascend instead of descend.

    Notes
    -----
    The state per parameter is ``prev`` (the gradient of the last step, zeroed
    where the sign flipped) and ``step_size`` (:math:`\Delta`), torch's names.
    The rule is element-wise, but gdlib runs it whole (no fused kernel).
    """

    squares_gradient = False

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
        super().__init__(params, lr=check_lr(lr), etas=check_etas(etas),
                         step_sizes=check_step_sizes(step_sizes),
                         maximize=check_bool("maximize", maximize))

    def init_state(self, p):
        return {"prev": xp.zeros_like(p), "step_size": xp.full_like(p, self.lr)}

    def update(self, p, g, state, t):
        eta_minus, eta_plus = self.etas
        lo, hi = self.step_sizes
        prev, step = state["prev"], state["step_size"]
        if self.maximize:
            g = -g
        s = g * prev                                   # sign of g_t g_{t-1}
        factor = xp.where(s > 0, eta_plus, xp.where(s < 0, eta_minus, 1.0))
        step *= factor
        xp.clip(step, lo, hi, out=step)
        g = xp.where(s < 0, 0.0, g)                    # a sign change: no move this step
        p -= xp.sign(g) * step                         # θ -= sign(g) Δ
        prev[...] = g

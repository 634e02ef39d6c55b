"""ASGD: stochastic gradient descent with Polyak-Ruppert averaging of the iterates.

Sources
-------
- B. T. Polyak and A. B. Juditsky (1992), "Acceleration of stochastic
  approximation by averaging", SIAM J. Control Optim. 30(4), 838-855.
- D. Ruppert (1988), "Efficient estimations from a slowly convergent
  Robbins-Monro process", Technical report 781, Cornell University.
- L. Bottou (2012), "Stochastic gradient descent tricks", in Neural Networks:
  Tricks of the Trade (2nd ed.), Springer, 421-436: the step-size schedule
  :math:`\\eta_0 / (1 + \\lambda \\eta_0 t)^{\\alpha}` and averaging from step
  :math:`t_0` that torch's ASGD follows.
"""

from __future__ import annotations

from .base import Optimizer, check_bool, check_lr, check_nonnegative, xp

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD, as in ``torch.optim.ASGD``.

    The iterate takes a decayed SGD step with a step size :math:`\eta_t` that
    shrinks like :math:`t^{-\alpha}`, and a running average :math:`\bar\theta`
    of the iterates starts at step :math:`t_0`:

    .. math::

        g_t &\leftarrow g_t + w\, \theta_{t-1} \quad\text{(weight decay, if any)}\\
        \theta_t &= (1 - \lambda \eta_t)\, \theta_{t-1} - \eta_t\, g_t \\
        \bar\theta_t &= \bar\theta_{t-1} + \mu_t (\theta_t - \bar\theta_{t-1}) \\
        \eta_{t+1} &= \frac{\eta}{(1 + \lambda \eta\, t)^{\alpha}}, \qquad
        \mu_{t+1} = \frac{1}{\max(1,\ t - t_0)}

    with :math:`\eta_1 = \eta` and :math:`\mu_1 = 1`. While :math:`\mu = 1`
    (through step :math:`t_0 + 2`) the average simply copies the iterate;
    after that it is the plain mean of the iterates from step :math:`t_0 + 2` on
    (Polyak and Juditsky, 1992). Note that :math:`\lambda` both shrinks the
    weights and sets how fast :math:`\eta_t` decays.

    The parameters themselves follow the SGD iterate; the average is kept
    aside, read it with :meth:`average` (as in torch, where it is
    ``state["ax"]``).

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place.
    lr : float, default 1e-2
        :math:`\eta \ge 0`, the first step size.
    lambd : float, default 1e-4
        :math:`\lambda \ge 0`: decay of the weights and of the step size.
    alpha : float, default 0.75
        :math:`\alpha \ge 0`, the power of the step-size decay.
    t0 : float, default 1e6
        :math:`t_0 \ge 0`, the step after which averaging starts.
    weight_decay : float, default 0
        L2 penalty :math:`w \ge 0`, added to the gradient.
    maximize : bool, default False
        Ascend instead of descend.

    Notes
    -----
    The state per parameter is torch's: ``eta`` and ``mu`` (the step size and
    averaging weight of the *next* step, computed from ``lr`` at the end of
    each step) and ``ax`` (the average).
    """

    squares_gradient = False

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                 maximize=False):
        super().__init__(params, lr=check_lr(lr), lambd=check_nonnegative("lambd", lambd),
                         alpha=check_nonnegative("alpha", alpha),
                         t0=check_nonnegative("t0", t0),
                         weight_decay=check_nonnegative("weight_decay", weight_decay),
                         maximize=check_bool("maximize", maximize))

    def init_state(self, p):
        return {"eta": float(self.lr), "mu": 1.0, "ax": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        if self.maximize:
            g = -g
        if self.weight_decay:
            g = g + self.weight_decay * p              # g <- g + wθ
        eta = state["eta"]
        p *= 1 - self.lambd * eta                      # θ <- (1 - λη_t) θ
        p -= eta * g                                   # θ <- θ - η_t g
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (p - ax) * state["mu"]               # θ̄ <- θ̄ + μ_t (θ - θ̄)
        else:
            ax[...] = p
        state["eta"] = self.lr / (1 + self.lambd * self.lr * t) ** self.alpha
        state["mu"] = 1 / max(1, t - self.t0)

    def average(self):
        """The averaged parameters :math:`\\bar\\theta` (copies), structured like ``params``.

        Before the first step there is no average yet: the parameters themselves
        are returned (copied).
        """
        arrays = [s["ax"].copy() if s else p.copy() for p, s in zip(self.params, self.state)]
        if self._kind == "dict":
            return dict(zip(self._keys, arrays))
        return arrays[0] if self._kind == "single" else arrays

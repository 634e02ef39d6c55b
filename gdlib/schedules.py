r"""Learning-rate schedules, with the semantics of ``torch.optim.lr_scheduler``.

A schedule wraps an optimizer and sets ``optimizer.lr`` between steps::

    opt = SGD(w, lr=0.1, momentum=0.9)
    sched = CosineAnnealingLR(opt, T_max=100)
    for t in range(100):
        opt.step(grad(w))      # uses opt.lr
        sched.step()           # after the optimizer step, as in PyTorch

The conventions are PyTorch's, so the numbers agree with it (the tests compare
every schedule with ``torch`` 2.13 to 1e-12, relative):

- At construction the schedule stores the optimizer's learning rate as
  ``optimizer.initial_lr`` (only if it is not there yet, like torch's
  ``group.setdefault("initial_lr", ...)``) and takes it as its base rate
  ``base_lr``; then it takes step 0, so ``optimizer.lr`` already holds the
  rate for the first optimizer step.
- ``last_epoch`` counts the schedule's steps (0 after construction).
- Where torch computes the rate *recursively* from the current ``optimizer.lr``
  (StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ...) so do we, with the
  same operations in the same order, so the floating-point results are
  identical; :meth:`LRScheduler.closed_form` gives the textbook formula.
- ``state_dict()`` / ``load_state_dict()`` save and restore a schedule.

Schedules not in torch: :class:`InverseTimeLR` (the :math:`1/t` decay of
Robbins and Monro 1951). :func:`lr_curve` draws a schedule without training;
:func:`create` builds one by name.

Sources
-------
- H. Robbins and S. Monro (1951), "A stochastic approximation method",
  Ann. Math. Statist. 22(3), 400-407: steps with :math:`\sum \eta_t = \infty`,
  :math:`\sum \eta_t^2 < \infty`, e.g. :math:`\eta_t \propto 1/t`.
- I. Loshchilov and F. Hutter (2016), "SGDR: Stochastic gradient descent with
  warm restarts", arXiv:1608.03983 (ICLR 2017): cosine annealing.
- P. Goyal et al. (2017), "Accurate, large minibatch SGD: training ImageNet in
  1 hour", arXiv:1706.02677: linear warm-up.
- L. N. Smith and N. Topin (2017), "Super-convergence: very fast training of
  neural networks using large learning rates", arXiv:1708.07120: the 1cycle policy.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from numbers import Real

import numpy

from .errors import unknown_name_error

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "ConstantLR",
    "PolynomialLR",
    "LambdaLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "InverseTimeLR",
    "REGISTRY",
    "create",
    "lr_curve",
]


# ----------------------------------------------------------------------------
# Argument checks: each message names the parameter.


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"Invalid {name}={value!r}: it must be a finite number.")
    return value


def _nonneg(name: str, value) -> float:
    value = _number(name, value)
    if value < 0:
        raise ValueError(f"Invalid {name}={value!r}: it must be >= 0.")
    return value


def _positive(name: str, value) -> float:
    value = _number(name, value)
    if value <= 0:
        raise ValueError(f"Invalid {name}={value!r}: it must be > 0.")
    return value


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    value = int(value)
    if value < minimum:
        raise ValueError(f"Invalid {name}={value!r}: it must be an integer >= {minimum}.")
    return value


def _bool(name: str, value) -> bool:
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__}).")


def _check_optimizer(optimizer) -> None:
    if not hasattr(optimizer, "lr"):
        raise TypeError(
            f"{type(optimizer).__name__} has no attribute 'lr': a schedule needs an optimizer "
            "(e.g. gdlib.optim.SGD) whose learning rate it can set."
        )
    _nonneg("optimizer.lr", optimizer.lr)


def _checked_lr(lr, who: str):
    """A learning rate computed by a schedule: a finite number >= 0, or a clear error."""
    if isinstance(lr, (bool, numpy.bool_)) or not isinstance(lr, Real):
        raise TypeError(
            f"the learning rate set by {who} is {lr!r} ({type(lr).__name__}), not a number: "
            "a schedule's function must return a float."
        )
    if not (0 <= lr < math.inf):
        raise ValueError(
            f"the learning rate set by {who} is {lr!r}: it must be a finite number >= 0 "
            "(does the schedule's function return NaN, infinity or a negative factor?)."
        )
    return lr


def _factor(sched, value):
    """What ``lr_lambda`` returned: it must be a number (its range is checked with the rate)."""
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, Real):
        raise TypeError(
            f"the learning rate set by {type(sched).__name__} at step {sched.last_epoch} cannot "
            f"be computed: lr_lambda returned {value!r} ({type(value).__name__}), not a number."
        )
    return value


# ----------------------------------------------------------------------------
# Saved states: the schedule's own type and keys, each value like the current one.


def _check_like(where: str, new, old, allow_inf: bool = False) -> None:
    """``new`` must have the type (and, for containers, the structure) of ``old``.

    Numbers must not be NaN; infinity only where ``old`` is infinite or ``allow_inf``.
    """
    if isinstance(old, (bool, numpy.bool_)):
        _bool(where, new)
    elif isinstance(old, (int, numpy.integer)):
        _int(where, new, -(1 << 62))
    elif isinstance(old, Real):
        if isinstance(new, (bool, numpy.bool_)) or not isinstance(new, Real):
            raise TypeError(f"{where} must be a number, got {new!r} ({type(new).__name__}).")
        if math.isnan(new) or (math.isinf(new) and not (math.isinf(old) or allow_inf)):
            raise ValueError(f"Invalid {where}={new!r}: it must be a finite number.")
    elif isinstance(old, str):
        if new != old:
            raise ValueError(
                f"{where} is {new!r} but this schedule was built with {old!r}: load a state "
                "saved by a schedule built the same way."
            )
    elif isinstance(old, Counter):
        if not isinstance(new, dict):
            raise TypeError(f"{where} must be a dict, got {type(new).__name__}.")
        for k, v in new.items():
            _int(f"{where} key", k, 0)
            _int(f"{where}[{k!r}]", v, 1)
    elif isinstance(old, (list, tuple)):
        if not isinstance(new, (list, tuple)) or len(new) != len(old):
            raise ValueError(
                f"{where} must be a sequence of {len(old)} entries like {old!r}, got {new!r}."
            )
        for i, (n, o) in enumerate(zip(new, old)):
            _check_like(f"{where}[{i}]", n, o)
    elif old is None:
        if new is not None:
            raise TypeError(f"{where} must be None, got {type(new).__name__}.")


def _validated_state(sched, state_dict, skip=()) -> dict:
    """Check a saved schedule state against ``sched``; return the fields to restore."""
    if not isinstance(state_dict, dict):
        raise TypeError(
            f"state_dict must be a dict as returned by state_dict(), got "
            f"{type(state_dict).__name__}."
        )
    name = state_dict.get("schedule")
    if name != type(sched).__name__:
        raise ValueError(
            f"state_dict['schedule'] is {name!r}: this state was not saved by a "
            f"{type(sched).__name__}; load it into the kind of schedule that saved it."
        )
    current = sched.state_dict()
    missing, unexpected = set(current) - set(state_dict), set(state_dict) - set(current)
    if missing or unexpected:
        raise ValueError(
            f"state_dict does not fit {type(sched).__name__}: missing {sorted(missing)}, "
            f"unexpected {sorted(map(str, unexpected))} (a state never sets the optimizer)."
        )
    out = {}
    for key, old in current.items():
        if key == "schedule" or key in skip:
            continue
        new = state_dict[key]
        # ReduceLROnPlateau's best starts at +-inf: a state saved before any metric.
        _check_like(f"state_dict[{key!r}]", new, old, allow_inf=key == "best")
        out[key] = Counter(new) if isinstance(old, Counter) else new
    for key in ("base_lr", "_last_lr", "initial_lr", "max_lr", "min_lr"):
        if key in out:
            _nonneg(f"state_dict[{key!r}]", out[key])
    return out


# ----------------------------------------------------------------------------
# The base class


class LRScheduler:
    """Base class: a schedule that sets ``optimizer.lr`` at each :meth:`step`.

    A subclass writes :meth:`get_lr` (the rate for step ``last_epoch``, in
    torch's recursive form where torch has one) and, if there is one,
    :meth:`closed_form` (the rate as a function of ``last_epoch`` alone).

    Attributes
    ----------
    optimizer : Optimizer
        The optimizer whose ``lr`` is set.
    base_lr : float
        The initial learning rate (``optimizer.initial_lr``).
    last_epoch : int
        Steps taken (0 right after construction).
    """

    _is_initial = False

    def __init__(self, optimizer):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if not hasattr(optimizer, "initial_lr"):
            optimizer.initial_lr = float(optimizer.lr)
        self.base_lr = float(optimizer.initial_lr)
        self.last_epoch = -1
        self._initial_step()

    # -- what a subclass writes ----------------------------------------------

    def get_lr(self) -> float:  # pragma: no cover - abstract
        """The learning rate for step ``last_epoch`` (may read ``optimizer.lr``)."""
        raise NotImplementedError

    closed_form: Callable[[], float] | None = None

    # -- the public interface ------------------------------------------------

    def step(self) -> None:
        """Advance one step and set ``optimizer.lr`` (call it after ``optimizer.step``)."""
        self._step_count += 1
        try:
            self._update_lr()
        except BaseException:
            self._step_count -= 1
            raise

    def get_last_lr(self) -> float:
        """The learning rate the schedule set last."""
        return self._last_lr

    def state_dict(self) -> dict:
        """The schedule's state (everything but the optimizer and functions), and its type."""
        state = {k: v for k, v in self.__dict__.items()
                 if k != "optimizer" and not callable(v)}
        state["schedule"] = type(self).__name__
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved with :meth:`state_dict`.

        The state must come from the same kind of schedule and hold exactly its
        keys, each value of the type it has now (numbers finite, learning rates
        >= 0); it never replaces the optimizer. Everything is checked before
        anything is set, so a state that does not fit leaves the schedule as it was.
        """
        self.__dict__.update(_validated_state(self, state_dict))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(last_epoch={self.last_epoch}, "
                f"lr={self.get_last_lr():.6g})")

    # -- machinery (as torch's LRScheduler) ----------------------------------

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _update_lr(self, epoch: int | None = None) -> None:
        before = self.last_epoch
        try:
            if epoch is None:
                self.last_epoch += 1
                lr = self.get_lr()
            else:                       # jump to an epoch (used by SequentialLR)
                self.last_epoch = epoch
                lr = self.closed_form() if self.closed_form is not None else self.get_lr()
            lr = _checked_lr(lr, f"{type(self).__name__} at step {self.last_epoch}")
        except BaseException:
            self.last_epoch = before    # a failed step changes nothing
            raise
        self.optimizer.lr = lr
        self._last_lr = lr


# ----------------------------------------------------------------------------
# Step decays


class StepLR(LRScheduler):
    r"""Multiply the rate by :math:`\gamma` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        :math:`s \ge 1`, the period of the decay.
    gamma : float, default 0.1
        The factor :math:`\gamma \ge 0`.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = _nonneg("gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma

    def closed_form(self):
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by :math:`\gamma` at each milestone.

    .. math:: \eta_t = \eta_0\, \gamma^{\#\{m \in \text{milestones} : m \le t\}}

    Parameters
    ----------
    optimizer : Optimizer
    milestones : sequence of int
        Steps at which to decay (a repeated milestone decays twice there).
    gamma : float, default 0.1
        The factor :math:`\gamma \ge 0`.
    """

    def __init__(self, optimizer, milestones: Sequence[int], gamma: float = 0.1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be a list of integers, got {milestones!r}.")
        self.milestones = Counter(_int(f"milestones[{i}]", m, 0)
                                  for i, m in enumerate(milestones))
        self.gamma = _nonneg("gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma ** self.milestones[self.last_epoch]

    def closed_form(self):
        ms = sorted(self.milestones.elements())
        return self.base_lr * self.gamma ** bisect_right(ms, self.last_epoch)


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by :math:`\gamma` every step: :math:`\eta_t = \eta_0 \gamma^t`.

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
        The factor :math:`\gamma \ge 0` (below 1 to decay; 0.95-0.999 are usual).
    """

    def __init__(self, optimizer, gamma: float):
        self.gamma = _nonneg("gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        if self._is_initial:
            return self.optimizer.lr
        return self.optimizer.lr * self.gamma

    def closed_form(self):
        return self.base_lr * self.gamma**self.last_epoch


class InverseTimeLR(LRScheduler):
    r"""The :math:`1/t` decay of stochastic approximation (Robbins and Monro 1951).

    .. math:: \eta_t = \frac{\eta_0}{1 + \gamma t}

    Its steps satisfy Robbins and Monro's conditions
    :math:`\sum_t \eta_t = \infty` (it can travel any distance) and
    :math:`\sum_t \eta_t^2 < \infty` (the gradient noise averages out), under
    which SGD converges. Not in torch (``LambdaLR`` with
    ``lambda t: 1 / (1 + gamma * t)`` gives the same rates).

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
        The decay rate :math:`\gamma \ge 0`; the rate halves at :math:`t = 1/\gamma`.
    """

    def __init__(self, optimizer, gamma: float):
        self.gamma = _nonneg("gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        return self.base_lr / (1.0 + self.gamma * self.last_epoch)

    def closed_form(self):
        return self.get_lr()


# ----------------------------------------------------------------------------
# Smooth decays and warm-up


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from :math:`\eta_0` to :math:`\eta_{min}` in :math:`T_{max}` steps.

    .. math::

        \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
                 \left(1 + \cos\frac{\pi t}{T_{max}}\right)

    (Loshchilov and Hutter 2016, without the restarts). Past :math:`T_{max}`
    the rate rises again along the same cosine, as in torch. Computed with
    torch's recursive form (from the current ``optimizer.lr``), so it also
    composes with other schedules exactly as torch's does.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        The half period :math:`T_{max} \ge 1`, in steps.
    eta_min : float, default 0
        The final rate :math:`\eta_{min} \ge 0`.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max = _int("T_max", T_max, 1)
        self.eta_min = _nonneg("eta_min", eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        t, T, lo, lr = self.last_epoch, self.T_max, self.eta_min, self.optimizer.lr
        if self._is_initial:
            return lr
        if self._step_count == 1 and t > 0:
            return lo + (self.base_lr - lo) * (1 + math.cos(t * math.pi / T)) / 2
        if (t - 1 - T) % (2 * T) == 0:              # the trough: restart the rise
            return lr + (self.base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
        return ((1 + math.cos(math.pi * t / T))
                / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - lo) + lo)

    def closed_form(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        return lo + (self.base_lr - lo) * (1 + math.cos(math.pi * t / T)) / 2


class LinearLR(LRScheduler):
    r"""Scale the rate linearly from ``start_factor`` to ``end_factor`` (linear warm-up).

    .. math::

        \eta_t = \eta_0 \left(f_s + (f_e - f_s) \frac{\min(t, T)}{T}\right)

    With the defaults the first steps use a third of the rate, rising to the
    full rate after ``total_iters`` steps: the warm-up of Goyal et al. (2017).

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float, default 1/3
        :math:`f_s`, in :math:`(0, 1]`.
    end_factor : float, default 1
        :math:`f_e`, in :math:`[0, 1]`.
    total_iters : int, default 5
        :math:`T \ge 1`, the length of the ramp.
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5):
        self.start_factor = _number("start_factor", start_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"Invalid start_factor={start_factor!r}: it must lie in (0, 1].")
        self.end_factor = _number("end_factor", end_factor)
        if not 0 <= self.end_factor <= 1:
            raise ValueError(f"Invalid end_factor={end_factor!r}: it must lie in [0, 1].")
        self.total_iters = _int("total_iters", total_iters, 1)
        super().__init__(optimizer)

    def get_lr(self):
        t, fs, fe, T = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        lr = self.optimizer.lr
        if t == 0:
            return lr * fs
        if self._is_initial or t > T:
            return lr
        return lr * (1.0 + (fe - fs) / (T * fs + (t - 1) * (fe - fs)))

    def closed_form(self):
        fs, fe, T = self.start_factor, self.end_factor, self.total_iters
        return self.base_lr * (fs + (fe - fs) * min(T, self.last_epoch) / T)


class ConstantLR(LRScheduler):
    r"""Use :math:`\eta_0 \cdot` ``factor`` for ``total_iters`` steps, then :math:`\eta_0`.

    Parameters
    ----------
    optimizer : Optimizer
    factor : float, default 1/3
        In :math:`[0, 1]`.
    total_iters : int, default 5
        Steps at the reduced rate.
    """

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5):
        self.factor = _number("factor", factor)
        if not 0 <= self.factor <= 1:
            raise ValueError(f"Invalid factor={factor!r}: it must lie in [0, 1].")
        self.total_iters = _int("total_iters", total_iters, 0)
        super().__init__(optimizer)

    def get_lr(self):
        lr = self.optimizer.lr
        if self.last_epoch == 0:
            return lr * self.factor
        if self.last_epoch != self.total_iters:
            return lr
        return lr * (1.0 / self.factor)

    def closed_form(self):
        done = self.last_epoch >= self.total_iters
        return self.base_lr * (self.factor + done * (1 - self.factor))


class PolynomialLR(LRScheduler):
    r"""Polynomial decay to 0 in ``total_iters`` steps.

    .. math:: \eta_t = \eta_0 \left(1 - \frac{\min(t, T)}{T}\right)^p

    Parameters
    ----------
    optimizer : Optimizer
    total_iters : int, default 5
        :math:`T \ge 1`.
    power : float, default 1
        :math:`p \ge 0` (1 is a linear decay).
    """

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0):
        self.total_iters = _int("total_iters", total_iters, 1)
        self.power = _nonneg("power", power)
        super().__init__(optimizer)

    def get_lr(self):
        t, T = self.last_epoch, self.total_iters
        if self._is_initial or t > T:
            return self.optimizer.lr
        decay = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return self.optimizer.lr * decay

    def closed_form(self):
        T = self.total_iters
        return self.base_lr * (1.0 - min(T, self.last_epoch) / T) ** self.power


class LambdaLR(LRScheduler):
    r"""A rate given by a function: :math:`\eta_t = \eta_0 \cdot \lambda(t)`.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable
        ``lr_lambda(t) -> float``, the factor at step ``t`` (0, 1, 2, ...).
    """

    def __init__(self, optimizer, lr_lambda: Callable[[int], float]):
        if not callable(lr_lambda):
            raise TypeError(f"lr_lambda must be a function of the step, got {lr_lambda!r}.")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def get_lr(self):
        return self.base_lr * _factor(self, self.lr_lambda(self.last_epoch))


class MultiplicativeLR(LRScheduler):
    r"""Multiply the rate by a function of the step: :math:`\eta_t = \eta_{t-1} \lambda(t)`.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable
        ``lr_lambda(t) -> float``.
    """

    def __init__(self, optimizer, lr_lambda: Callable[[int], float]):
        if not callable(lr_lambda):
            raise TypeError(f"lr_lambda must be a function of the step, got {lr_lambda!r}.")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def get_lr(self):
        if self._is_initial:
            return self.optimizer.lr
        return self.optimizer.lr * _factor(self, self.lr_lambda(self.last_epoch))


# ----------------------------------------------------------------------------
# One cycle


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith and Topin 2017): warm up to ``max_lr``, then anneal far below.

    With :math:`\eta_{init} = \eta_{max} / \text{div\_factor}` and
    :math:`\eta_{final} = \eta_{init} / \text{final\_div\_factor}`, the rate goes
    from :math:`\eta_{init}` to :math:`\eta_{max}` over the first
    ``pct_start * total_steps - 1`` steps, then down to :math:`\eta_{final}` at
    step ``total_steps - 1``, each phase along

    .. math::

        \text{cos:}\ \ \eta = e + \tfrac{s - e}{2}(1 + \cos \pi p), \qquad
        \text{linear:}\ \ \eta = s + (e - s) p,

    where :math:`p \in [0, 1]` is the progress through the phase from start
    :math:`s` to end :math:`e`. ``three_phase=True`` (the paper's version)
    comes back down to :math:`\eta_{init}` symmetrically before the final
    annealing. As in torch, the optimizer's own ``lr`` is ignored (replaced by
    :math:`\eta_{init}`), and stepping beyond ``total_steps`` is an error.

    Momentum is cycled inversely to the rate, between ``max_momentum`` (at
    the low rates) and ``base_momentum`` (at ``max_lr``): the optimizer's
    ``momentum``, or ``betas[0]`` for the Adam family. Difference from torch:
    ``cycle_momentum=None`` (the default) means "cycle it when the optimizer
    has ``momentum`` or ``betas``", so plain :class:`~gdlib.optim.GD` works
    with the defaults (torch's ``cycle_momentum=True`` raises for an optimizer
    without momentum; so does ours when you pass ``True``). Pass ``False`` to
    leave momentum alone.

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float
        The peak rate, > 0.
    total_steps : int, optional
        The length of the cycle; or give ``epochs`` and ``steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
        ``total_steps = epochs * steps_per_epoch``.
    pct_start : float, default 0.3
        The fraction of the cycle spent warming up, in [0, 1].
    anneal_strategy : {'cos', 'linear'}, default 'cos'
    cycle_momentum : bool or None, default None
        See above.
    base_momentum, max_momentum : float, default 0.85, 0.95
    div_factor : float, default 25
    final_div_factor : float, default 1e4
    three_phase : bool, default False
    """

    def __init__(self, optimizer, max_lr: float, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool | None = None, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False):
        _check_optimizer(optimizer)
        three_phase = _bool("three_phase", three_phase)
        if cycle_momentum is not None:
            cycle_momentum = _bool("cycle_momentum", cycle_momentum)
        epochs = None if epochs is None else _int("epochs", epochs, 1)
        steps_per_epoch = None if steps_per_epoch is None else _int("steps_per_epoch",
                                                                     steps_per_epoch, 1)
        if total_steps is not None:
            self.total_steps = _int("total_steps", total_steps, 1)
            if epochs is not None and steps_per_epoch is not None and (
                    epochs * steps_per_epoch != self.total_steps):
                raise ValueError(
                    f"total_steps={self.total_steps} but epochs * steps_per_epoch = "
                    f"{epochs * steps_per_epoch}: give one or the other."
                )
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("give total_steps, or both epochs and steps_per_epoch.")
        pct_start = _number("pct_start", pct_start)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"Invalid pct_start={pct_start!r}: it must lie in [0, 1].")
        if not (isinstance(anneal_strategy, str) and anneal_strategy in ("cos", "linear")):
            raise ValueError(
                f"Invalid anneal_strategy={anneal_strategy!r}: use 'cos' or 'linear'."
            )
        self.anneal_strategy = anneal_strategy
        max_lr = _positive("max_lr", max_lr)
        div_factor = _positive("div_factor", div_factor)
        final_div_factor = _positive("final_div_factor", final_div_factor)
        T = self.total_steps
        up_end = float(pct_start * T) - 1
        if up_end == 0:
            raise ValueError(
                f"pct_start * total_steps = {pct_start * T:g} makes the warm-up phase empty: "
                "raise pct_start or total_steps."
            )
        # Each phase: (end step, start lr, end lr, start momentum, end momentum).
        if three_phase:
            self._phases = [
                (up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * T) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        self.initial_lr = max_lr / div_factor
        self.max_lr = max_lr
        self.min_lr = self.initial_lr / final_div_factor
        optimizer.initial_lr = self.initial_lr     # torch overwrites initial_lr too

        has_momentum = hasattr(optimizer, "momentum") or hasattr(optimizer, "betas")
        if cycle_momentum and not has_momentum:
            raise ValueError(
                f"cycle_momentum=True but {type(optimizer).__name__} has neither 'momentum' nor "
                "'betas'; pass cycle_momentum=False (or leave it None)."
            )
        self.cycle_momentum = has_momentum if cycle_momentum is None else bool(cycle_momentum)
        if self.cycle_momentum:
            self.use_beta1 = hasattr(optimizer, "betas")
            self.base_momentum = _nonneg("base_momentum", base_momentum)
            self.max_momentum = _nonneg("max_momentum", max_momentum)
            if self.use_beta1:
                for name in ("base_momentum", "max_momentum"):
                    if not getattr(self, name) < 1:
                        raise ValueError(
                            f"Invalid {name}={getattr(self, name)!r}: it becomes "
                            f"{type(optimizer).__name__}'s betas[0], which must lie in [0, 1)."
                        )
            self._set_momentum(optimizer, self.max_momentum)
        super().__init__(optimizer)

    def _set_momentum(self, optimizer, m: float) -> None:
        if self.use_beta1:
            optimizer.betas = (m, *tuple(optimizer.betas)[1:])
        else:
            optimizer.momentum = m

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR was stepped {t} times but total_steps={self.total_steps}: "
                "make the cycle as long as the training run."
            )
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(self._phases):
            if t <= end_step or i == len(self._phases) - 1:
                # Past the last phase's end (only the rate set after the final step,
                # which no step uses) torch extrapolates, to a negative rate for
                # 'linear'; gdlib stays at the final rate instead.
                pct = min(1.0, (t - start_step) / (end_step - start_step))
                lr = self._anneal(getattr(self, lr0), getattr(self, lr1), pct)
                if self.cycle_momentum:
                    m = self._anneal(getattr(self, m0), getattr(self, m1), pct)
                    self._set_momentum(self.optimizer, m)
                return lr
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover


# ----------------------------------------------------------------------------
# Reduce on plateau


class ReduceLROnPlateau:
    r"""Divide the rate by :math:`1/\text{factor}` when a metric stops improving.

    Call ``step(metric)`` once per epoch with the validation loss (``mode='min'``)
    or accuracy (``mode='max'``). A value counts as an improvement on the best
    so far when, for ``mode='min'``,

    .. math::

        \text{rel: } m < \text{best}\,(1 - \text{threshold}), \qquad
        \text{abs: } m < \text{best} - \text{threshold}

    (mirrored for ``'max'``). After more than ``patience`` epochs without
    improvement the rate becomes :math:`\max(\eta\cdot\text{factor},
    \text{min\_lr})` (unless that changes it by less than ``eps``), and the
    next ``cooldown`` epochs are not counted. Same rules as torch's.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {'min', 'max'}, default 'min'
    factor : float, default 0.1
        In (0, 1).
    patience : int, default 10
        Epochs without improvement tolerated.
    threshold : float, default 1e-4
    threshold_mode : {'rel', 'abs'}, default 'rel'
    cooldown : int, default 0
    min_lr : float, default 0
    eps : float, default 1e-8
        Smaller changes of the rate are skipped.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        _check_optimizer(optimizer)
        if not (isinstance(mode, str) and mode in ("min", "max")):
            raise ValueError(f"Invalid mode={mode!r}: use 'min' (a loss) or 'max' (an accuracy).")
        if not (isinstance(threshold_mode, str) and threshold_mode in ("rel", "abs")):
            raise ValueError(f"Invalid threshold_mode={threshold_mode!r}: use 'rel' or 'abs'.")
        self.factor = _number("factor", factor)
        if not 0 < self.factor < 1:
            raise ValueError(f"Invalid factor={factor!r}: it must lie in (0, 1).")
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.patience = _int("patience", patience, 0)
        self.threshold = _nonneg("threshold", threshold)
        self.cooldown = _int("cooldown", cooldown, 0)
        self.min_lr = _nonneg("min_lr", min_lr)
        self.eps = _nonneg("eps", eps)
        self.last_epoch = 0
        self._last_lr = float(optimizer.lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metric) -> None:
        """Record this epoch's ``metric`` and reduce the rate if it has plateaued."""
        if hasattr(metric, "shape") and getattr(metric, "ndim", 0) == 0:
            metric = metric.item() if hasattr(metric, "item") else metric
        current = _number("metric", metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0                  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            old = float(self.optimizer.lr)
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self.optimizer.lr

    def get_last_lr(self) -> float:
        """The current learning rate."""
        return self._last_lr

    def state_dict(self) -> dict:
        """The schedule's state (everything but the optimizer), and its type."""
        state = {k: v for k, v in self.__dict__.items() if k != "optimizer"}
        state["schedule"] = type(self).__name__
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved with :meth:`state_dict` (checked first, as for every schedule)."""
        self.__dict__.update(_validated_state(self, state_dict))

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, best={self.best:.6g}, "
                f"lr={self.get_last_lr():.6g})")


# ----------------------------------------------------------------------------
# Chaining


class SequentialLR(LRScheduler):
    r"""Run schedules one after the other, switching at the milestones.

    ``SequentialLR(opt, [LinearLR(opt, ...), CosineAnnealingLR(opt, ...)],
    milestones=[5])`` warms up for 5 steps, then anneals; at a milestone the
    next schedule starts from its own step 0. Same behaviour as torch's
    (including resetting the rate to ``initial_lr`` at construction).

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
        Built on the same optimizer (not :class:`ReduceLROnPlateau`).
    milestones : list of int
        ``len(schedulers) - 1`` increasing steps.
    """

    def __init__(self, optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int]):
        _check_optimizer(optimizer)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("schedulers is empty: give at least one schedule.")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(
                    f"schedulers[{i}] is a ReduceLROnPlateau, which needs a metric at each step; "
                    "SequentialLR cannot drive it."
                )
            if not isinstance(s, LRScheduler):
                raise TypeError(f"schedulers[{i}] is not a schedule: {s!r}.")
            if s.optimizer is not optimizer:
                raise ValueError(f"schedulers[{i}] was built on a different optimizer.")
        milestones = [_int(f"milestones[{i}]", m, 1) for i, m in enumerate(milestones)]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"milestones must have len(schedulers) - 1 = {len(schedulers) - 1} entries, "
                f"got {len(milestones)}."
            )
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"milestones must increase, got {milestones}.")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = 0
        self.base_lr = float(optimizer.initial_lr)
        optimizer.lr = optimizer.initial_lr       # undo the sub-schedules' initial steps
        self._undo(self)
        first = self._schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo(self, sched) -> None:
        if isinstance(sched, SequentialLR):
            for s in sched._schedulers:
                self._undo(s)
        else:
            sched.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)                     # the next schedule starts at its step 0
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        state["schedule"] = type(self).__name__
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        own = _validated_state(self, state_dict, skip=("_schedulers",))
        subs = state_dict["_schedulers"]
        if not isinstance(subs, (list, tuple)) or len(subs) != len(self._schedulers):
            raise ValueError(
                f"state_dict['_schedulers'] must hold {len(self._schedulers)} states, one per "
                "schedule."
            )
        checked = [_validated_state(s, sd) if not isinstance(s, SequentialLR) else None
                   for s, sd in zip(self._schedulers, subs)]
        for s, sd, c in zip(self._schedulers, subs, checked):   # all checked: now restore
            if c is None:
                s.load_state_dict(sd)
            else:
                s.__dict__.update(c)
        self.__dict__.update(own)


# ----------------------------------------------------------------------------
# By name, and drawing a schedule

#: Schedules by lower-case name (torch's class names, and short aliases).
REGISTRY: dict[str, type] = {
    "steplr": StepLR,
    "multisteplr": MultiStepLR,
    "exponentiallr": ExponentialLR,
    "cosineannealinglr": CosineAnnealingLR,
    "linearlr": LinearLR,
    "constantlr": ConstantLR,
    "polynomiallr": PolynomialLR,
    "lambdalr": LambdaLR,
    "multiplicativelr": MultiplicativeLR,
    "onecyclelr": OneCycleLR,
    "reducelronplateau": ReduceLROnPlateau,
    "sequentiallr": SequentialLR,
    "inversetimelr": InverseTimeLR,
    # aliases
    "step": StepLR,
    "multistep": MultiStepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "linear": LinearLR,
    "warmup": LinearLR,
    "constant": ConstantLR,
    "polynomial": PolynomialLR,
    "lambda": LambdaLR,
    "multiplicative": MultiplicativeLR,
    "onecycle": OneCycleLR,
    "plateau": ReduceLROnPlateau,
    "sequential": SequentialLR,
    "inversetime": InverseTimeLR,
}


def create(name: str, optimizer, **kw):
    """Build the schedule called ``name`` on ``optimizer``.

    Names are torch's class names or short aliases, case-insensitive, with
    ``_`` and ``-`` ignored: ``"CosineAnnealingLR"``, ``"cosine"``,
    ``"inverse_time"``, ``"one-cycle"``...

    Examples
    --------
    >>> import numpy as np
    >>> from gdlib.optim import SGD
    >>> sched = create("cosine", SGD(np.zeros(2), lr=0.1), T_max=10)
    """
    key = str(name).lower().replace("_", "").replace("-", "").replace(" ", "")
    cls = REGISTRY.get(key)
    if cls is None:
        raise unknown_name_error("schedule", name, REGISTRY)
    return cls(optimizer, **kw)


def lr_curve(make_schedule, steps: int, lr: float = 1.0, metrics=None, **kw) -> numpy.ndarray:
    """The learning rate of each step of a schedule, without training.

    Builds a dummy optimizer (plain gradient descent on one number) with
    learning rate ``lr``, attaches the schedule and records ``optimizer.lr``
    before each of ``steps`` steps.

    Parameters
    ----------
    make_schedule : callable or str
        ``make_schedule(optimizer) -> schedule``, e.g.
        ``lambda opt: CosineAnnealingLR(opt, T_max=100)``; or a name for
        :func:`create`, with its arguments in ``**kw``.
    steps : int
        Number of steps.
    lr : float, default 1
        The optimizer's learning rate (so the curve shows the factor).
    metrics : sequence of float, optional
        For :class:`ReduceLROnPlateau`: the metric passed at each step.

    Returns
    -------
    numpy.ndarray, shape (steps,)
        ``curve[t]`` is the rate used by optimizer step ``t + 1``.

    Examples
    --------
    >>> lr_curve(lambda opt: StepLR(opt, step_size=2, gamma=0.5), 5)
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """
    from .optim import GD

    steps = _int("steps", steps, 0)
    lr = _nonneg("lr", lr)
    opt = GD(numpy.zeros(1), lr=lr)
    sched = create(make_schedule, opt, **kw) if isinstance(make_schedule, str) \
        else make_schedule(opt)
    plateau = isinstance(sched, ReduceLROnPlateau)
    if plateau and (metrics is None or len(metrics) < steps):
        raise ValueError("ReduceLROnPlateau needs a metric per step: pass metrics=[...].")
    curve = numpy.empty(steps)
    for t in range(steps):
        curve[t] = opt.lr
        if plateau:
            sched.step(metrics[t])
        else:
            sched.step()
    return curve

r"""Weight averaging: an exponential moving average (EMA) and stochastic weight averaging (SWA).

SGD with a constant step does not settle: its iterates :math:`\theta_t` keep
jumping around the minimum, at a distance set by the learning rate and the
gradient noise (lesson 25's noise floor). An *average* of the iterates sits much
closer to the minimum than any one of them. Both averages here keep a copy of
the parameters beside the training run and update it after each step:

- **EMA** (exponential moving average, Polyak-style averaging with a forgetting
  factor :math:`\beta`, the ``decay``):

  .. math:: \bar\theta_t = \beta\,\bar\theta_{t-1} + (1 - \beta)\,\theta_t .

  Two ways to start it are in use. torch's ``AveragedModel`` with
  ``get_ema_multi_avg_fn(decay)`` copies the first parameters it sees
  (:math:`\bar\theta_1 = \theta_1`) and then applies the rule above; that is
  the default here (``bias_correction=False``), replayed against torch in the
  tests. ``bias_correction=True`` starts from :math:`m_0 = 0` and divides by
  :math:`1 - \beta^t` as Adam does for its moments (Kingma and Ba 2014),
  :math:`\hat\theta_t = m_t / (1 - \beta^t)`, so early averages are not pulled
  towards zero and weigh the first iterates like the later ones.
- **SWA** (stochastic weight averaging, Izmailov et al. 2018): from a start step
  on, the equal-weight running mean of the iterates,

  .. math:: \bar\theta_{n+1} = \bar\theta_n + \frac{\theta - \bar\theta_n}{n + 1},

  exactly torch's ``AveragedModel`` default ``avg_fn``; :class:`SWALR` is its
  learning-rate schedule (annealing to a constant ``swa_lr``).

Both are callbacks for :func:`gdlib.train.train`, whose ``callback(step, loss)``
runs after each optimizer step, when the parameters (updated in place) hold
:math:`\theta_t`::

    ema = EMA(params, decay=0.99)
    train(params, loss_and_grad, "sgd", data=(X, y), batch_size=8, lr=0.1, callback=ema)
    ema.averaged          # the averaged parameters, the structure of params

Sources
-------
- D. Ruppert (1988), technical report 781, Cornell; B. T. Polyak and A. B. Juditsky
  (1992), "Acceleration of stochastic approximation by averaging", SIAM J. Control
  Optim. 30(4), 838-855: averaging the iterates of a constant-step method.
- P. Izmailov, D. Podoprikhin, T. Garipov, D. Vetrov and A. G. Wilson (2018),
  "Averaging weights leads to wider optima and better generalization", UAI: SWA
  and its learning-rate schedule.
- D. P. Kingma and J. Ba (2014), "Adam: a method for stochastic optimization":
  the bias correction :math:`1/(1-\beta^t)`.
- PyTorch, ``torch.optim.swa_utils`` (``AveragedModel``, ``get_ema_multi_avg_fn``,
  ``SWALR``): the definitions replayed in ``tests/test_averaging.py``.
"""

from __future__ import annotations

import math

from .backend import array_module, to_host
from .optim.base import _flatten, _is_array, check_int, check_nonnegative, check_real
from .schedules import LRScheduler

__all__ = ["EMA", "SWA", "SWALR"]


def _arrays(params) -> tuple[list, list[str], str]:
    """The arrays of ``params`` (an array, a list/tuple or a dict), checked."""
    arrays, names, kind = _flatten(params, "params")
    if not arrays:
        raise ValueError("params is empty: give the model's parameter arrays (an array, a "
                         "list of arrays or a dict name -> array).")
    for name, a in zip(names, arrays):
        if not _is_array(a):
            raise TypeError(f"params entry {name!r} is a {type(a).__name__}, not an array: "
                            "the average reads the arrays the optimizer updates in place.")
        if a.dtype.kind != "f":
            raise TypeError(f"params entry {name!r} has dtype {a.dtype}: averaging needs "
                            "floating-point parameters.")
    return arrays, names, kind


def _rebuild(values: list, names: list[str], kind: str):
    if kind == "dict":
        return dict(zip(names, values))
    if kind == "list":
        return list(values)
    return values[0]


class _Average:
    """What EMA and SWA share: the watched arrays, the copy, the callback."""

    def __init__(self, params, start: int = 0, every: int = 1):
        self._params, self._names, self._kind = _arrays(params)
        self.start = check_int("start", start, minimum=0)
        self.every = check_int("every", every, minimum=1)
        self._avg = [array_module(p).zeros_like(p) for p in self._params]
        self.n_averaged = 0

    def update(self) -> None:
        """Average the current values of the parameters in (one more iterate)."""
        for p in self._params:
            if not bool(array_module(p).isfinite(p).all()):
                raise ValueError(f"the parameters hold NaN or infinity (after "
                                 f"{self.n_averaged} averaged iterates): the run has diverged; "
                                 "nothing was averaged in.")
        self.n_averaged += 1
        for avg, p in zip(self._avg, self._params):
            self._fold(avg, p)

    def __call__(self, step: int, loss=None) -> None:
        """The :func:`gdlib.train.train` callback: update at steps ``start``, ``start + every``, ...

        Returns None, so training never stops because of it.
        """
        if step >= self.start and (step - self.start) % self.every == 0:
            self.update()

    def _values(self) -> list:
        return [a.copy() for a in self._avg]

    @property
    def averaged(self):
        """A copy of the averaged parameters, with the structure of ``params``."""
        if self.n_averaged == 0:
            raise ValueError(f"{type(self).__name__} has averaged nothing yet (start="
                             f"{self.start}): call update() or train with callback=it first.")
        return _rebuild(self._values(), self._names, self._kind)

    def copy_to(self, params) -> None:
        """Write the averaged values into ``params`` (same structure), e.g. a model's arrays."""
        arrays, names, _ = _arrays(params)
        values = _rebuild(self._values(), self._names, self._kind)
        values = _flatten(values, "params")[0]
        if names != self._names or any(a.shape != v.shape for a, v in zip(arrays, values)):
            raise ValueError("params given to copy_to do not have the names and shapes of the "
                             f"averaged ones ({self._names}).")
        for a, v in zip(arrays, values):
            a[...] = v

    def host(self):
        """The averaged parameters as NumPy arrays."""
        return _rebuild([to_host(v) for v in self._values()], self._names, self._kind)


class EMA(_Average):
    r"""An exponential moving average of parameters.

    .. math:: \bar\theta_t = \beta\,\bar\theta_{t-1} + (1-\beta)\,\theta_t

    Parameters
    ----------
    params : array, list or dict of arrays
        The arrays the optimizer updates in place (read at each update).
    decay : float, default 0.999
        :math:`\beta \in [0, 1)`: the weight of the old average; the average
        reaches back over about :math:`1/(1 - \beta)` iterates.
    bias_correction : bool, default False
        False: torch's ``AveragedModel(get_ema_multi_avg_fn(decay))``: the first
        update copies the parameters. True: start at zero and report
        :math:`m_t / (1 - \beta^t)` (Adam's correction), :math:`t` counting the
        updates from 1.
    start : int, default 0
        As a callback: the first step averaged.
    every : int, default 1
        As a callback: average every ``every`` steps.

    Attributes
    ----------
    n_averaged : int
        The number of updates so far (:math:`t`).
    averaged : same structure as ``params``
        The average (bias-corrected when asked).
    """

    def __init__(self, params, decay=0.999, bias_correction=False, start=0, every=1):
        decay = check_real("decay", decay, low=0.0, high=1.0, high_open=True)
        if not isinstance(bias_correction, bool):
            raise TypeError(f"bias_correction must be True or False, got {bias_correction!r}.")
        super().__init__(params, start=start, every=every)
        self.decay = decay
        self.bias_correction = bias_correction

    def _fold(self, avg, p) -> None:
        if self.n_averaged == 1 and not self.bias_correction:
            avg[...] = p                                    # torch: the first update copies
        else:
            avg[...] = self.decay * avg + (1.0 - self.decay) * p   # m = beta m + (1 - beta) theta

    def _values(self) -> list:
        if not self.bias_correction:
            return super()._values()
        c = 1.0 - self.decay ** self.n_averaged              # 1 - beta^t
        return [a / c for a in self._avg]

    def __repr__(self) -> str:
        return (f"EMA(decay={self.decay}, bias_correction={self.bias_correction}, "
                f"n_averaged={self.n_averaged})")


class SWA(_Average):
    r"""Stochastic weight averaging: the equal-weight mean of the iterates from ``start`` on.

    .. math:: \bar\theta_{n+1} = \bar\theta_n + \frac{\theta - \bar\theta_n}{n + 1}

    (Izmailov et al. 2018; torch's ``AveragedModel`` default). Use it with a
    constant or cyclical learning rate after a normal schedule, e.g.
    :class:`SWALR`.

    Parameters
    ----------
    params : array, list or dict of arrays
    start : int, default 0
        As a callback: the first step averaged (before it, training runs as usual).
    every : int, default 1
        As a callback: average every ``every`` steps (Izmailov et al. average once
        per epoch or per cycle).
    """

    def _fold(self, avg, p) -> None:
        avg[...] = avg + (p - avg) / self.n_averaged          # running mean over n_averaged

    def __repr__(self) -> str:
        return f"SWA(start={self.start}, every={self.every}, n_averaged={self.n_averaged})"


class SWALR(LRScheduler):
    r"""The SWA learning-rate schedule: anneal from the current rate to ``swa_lr``, then hold it.

    Over ``anneal_steps`` steps after ``start`` the rate moves from
    :math:`\eta_0` to :math:`\eta_{swa}`,

    .. math:: \eta_t = \alpha_t\,\eta_{swa} + (1 - \alpha_t)\,\eta_0, \qquad
              \alpha_t = \tfrac12\big(1 - \cos(\pi \min(1, s/S))\big)

    (``anneal="cos"``; ``"linear"``: :math:`\alpha_t = \min(1, s/S)`), with
    :math:`s = t - \mathrm{start}` and :math:`S` = ``anneal_steps``; before
    ``start`` it stays :math:`\eta_0`. With ``start=0`` it is torch's
    ``SWALR(optimizer, swa_lr, anneal_epochs=S, anneal_strategy=...)`` stepped
    once per step (Izmailov et al. 2018).

    Parameters
    ----------
    optimizer : Optimizer
    swa_lr : float
        The constant rate of the averaging phase (>= 0).
    anneal_steps : int, default 10
        Steps to go from the initial rate to ``swa_lr`` (0: ``swa_lr`` from the start).
    anneal : {"cos", "linear"}
    start : int, default 0
        Steps at the initial rate before the annealing starts.
    """

    def __init__(self, optimizer, swa_lr, anneal_steps=10, anneal="cos", start=0):
        self.swa_lr = check_nonnegative("swa_lr", swa_lr)
        self.anneal_steps = check_int("anneal_steps", anneal_steps, minimum=0)
        if anneal not in ("cos", "linear"):
            raise ValueError(f"anneal must be 'cos' or 'linear', got {anneal!r}.")
        self.anneal = anneal
        self.start = check_int("start", start, minimum=0)
        super().__init__(optimizer)

    def _alpha(self, s: int) -> float:
        if self.anneal_steps == 0:
            t = 1.0 if s >= 0 else 0.0                      # torch: swa_lr at once
        else:
            t = max(0.0, min(1.0, s / self.anneal_steps))
        return (1.0 - math.cos(math.pi * t)) / 2.0 if self.anneal == "cos" else t

    def closed_form(self) -> float:
        a = self._alpha(self.last_epoch - self.start)
        return self.swa_lr * a + self.base_lr * (1.0 - a)

    def get_lr(self) -> float:
        return self.closed_form()

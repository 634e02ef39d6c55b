"""Tuning hyper-parameters the way the benchmarks do, and two diagnostics.

A fair comparison of optimizers gives each the same *search budget* over a
*declared* space of hyper-parameters (Godbole et al. 2023, the Deep Learning
Tuning Playbook; Dahl et al. 2023, AlgoPerf): a few trials at points of a
quasi-random sequence, each trial trained for a fixed number of steps, scored
by the steps (and seconds) it needs to reach a target, a miss counted as
infinitely slow. A *study* keeps its fastest trial; several independent
studies (other sequence and training seeds) give a median. Across workloads
the medians are summarised by a performance profile (Dolan and Moré 2002).

- :class:`Dim`, :class:`SearchSpace`: the declared space (log-uniform,
  uniform, and 1 - β on a log scale).
- :func:`quasi_random`, :func:`random_search`, :func:`grid_search`: points of
  the space.
- :func:`steps_to_target`: the first step at which a run reaches its target
  (``inf`` for a miss).
- :class:`Workload`, :func:`run_trial`, :func:`run_study`,
  :func:`median_over_studies`: trials trained with :func:`gdlib.train.train`.
- :func:`performance_ratios`, :func:`performance_profile`: Dolan and Moré's profile.
- :func:`lr_range_test` (Smith 2017) and :class:`UpdateRatio` (the size of each
  update relative to the weights): diagnostics.

Sources
-------
- J. Bergstra and Y. Bengio (2012), "Random search for hyper-parameter
  optimization", JMLR 13, 281-305.
- O. Bousquet, S. Gelly, K. Kurach, O. Teytaud and D. Vincent (2017),
  "Critical hyper-parameters: no random, no cry", arXiv:1706.03200
  (quasi-random search).
- E. D. Dolan and J. J. Moré (2002), "Benchmarking optimization software with
  performance profiles", Math. Program. 91, 201-213.
- L. N. Smith (2017), "Cyclical learning rates for training neural networks",
  WACV 2017 (the learning-rate range test).
- V. Godbole, G. E. Dahl, J. Gilmer, C. J. Shallue and Z. Nado (2023), "Deep
  Learning Tuning Playbook", github.com/google-research/tuning_playbook.
- G. E. Dahl, F. Schneider, Z. Nado et al. (2023), "Benchmarking neural
  network training algorithms", arXiv:2306.07179 (AlgoPerf).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy

from .backend import to_host
from .errors import DivergenceError, unknown_name_error
from .optim.base import check_bool, check_int, check_real

__all__ = [
    "Dim", "SearchSpace", "quasi_random", "random_search", "grid_search", "steps_to_target",
    "Workload", "Trial", "Study", "run_trial", "run_study", "median_over_studies",
    "performance_ratios", "performance_profile", "lr_range_test", "UpdateRatio",
]

_KINDS = ("log", "linear", "one_minus_log")


# ----------------------------------------------------------------------------
# The declared space.


@dataclass(frozen=True)
class Dim:
    """One hyper-parameter's range and the scale it is searched on.

    Parameters
    ----------
    low, high : float
        The range of the hyper-parameter itself (``low < high``), e.g.
        ``Dim(1e-4, 1, "log")`` for a learning rate, ``Dim(0.8, 0.999,
        "one_minus_log")`` for a momentum β.
    kind : {"log", "linear", "one_minus_log"}
        ``"log"``: log-uniform (uniform in :math:`\\log x`, needs ``low > 0``);
        ``"linear"``: uniform; ``"one_minus_log"``: :math:`1 - x` log-uniform,
        as the playbook searches β (needs ``high < 1``), so that 0.9, 0.99 and
        0.999 are equally far apart.
    """

    low: float
    high: float
    kind: str = "log"

    def __post_init__(self):
        if not isinstance(self.kind, str) or self.kind not in _KINDS:
            raise ValueError(f"Invalid kind={self.kind!r}: choose one of {_KINDS}.")
        low, high = check_real("low", self.low), check_real("high", self.high)
        if not low < high:
            raise ValueError(f"Invalid range low={low!r}, high={high!r}: low must be < high.")
        if self.kind == "log" and low <= 0:
            raise ValueError(f"Invalid low={low!r} for kind='log': a log scale needs low > 0.")
        if self.kind == "one_minus_log" and high >= 1:
            raise ValueError(
                f"Invalid high={high!r} for kind='one_minus_log': 1 - x must stay > 0, so "
                "high < 1 (e.g. 0.999)."
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def from_unit(self, u):
        """Map ``u`` in [0, 1] to the range (``u = 0`` gives ``low``, ``u = 1`` gives ``high``)."""
        u = numpy.asarray(u, dtype=float)
        if self.kind == "linear":
            return self.low + u * (self.high - self.low)
        if self.kind == "log":
            a, b = math.log(self.low), math.log(self.high)
            return numpy.exp(a + u * (b - a))
        a, b = math.log(1 - self.low), math.log(1 - self.high)    # 1 - x from 1-low down
        return 1 - numpy.exp(a + u * (b - a))

    def to_unit(self, x):
        """The inverse of :meth:`from_unit`."""
        x = numpy.asarray(x, dtype=float)
        if self.kind == "linear":
            return (x - self.low) / (self.high - self.low)
        if self.kind == "log":
            return numpy.log(x / self.low) / math.log(self.high / self.low)
        return numpy.log((1 - x) / (1 - self.low)) / math.log((1 - self.high) / (1 - self.low))


class SearchSpace:
    """A declared search space: hyper-parameter name -> :class:`Dim` (or a fixed value).

    Examples
    --------
    >>> space = SearchSpace(lr=Dim(1e-4, 1.0, "log"), momentum=Dim(0.5, 0.99, "one_minus_log"),
    ...                     nesterov=True)
    >>> space.names
    ['lr', 'momentum']
    """

    def __init__(self, **dims):
        if not dims:
            raise ValueError("a SearchSpace needs at least one hyper-parameter, e.g. "
                             "SearchSpace(lr=Dim(1e-4, 1.0, 'log')).")
        self.dims = {k: v for k, v in dims.items() if isinstance(v, Dim)}
        self.fixed = {k: v for k, v in dims.items() if not isinstance(v, Dim)}
        if not self.dims:
            raise ValueError("a SearchSpace needs at least one Dim to search over; got only "
                             f"fixed values {sorted(self.fixed)}.")

    @property
    def names(self) -> list[str]:
        """The searched hyper-parameters, in order (the columns of a unit point)."""
        return list(self.dims)

    def __len__(self) -> int:
        return len(self.dims)

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in {**self.dims, **self.fixed}.items()]
        return f"SearchSpace({', '.join(parts)})"

    def from_unit(self, U) -> list[dict]:
        """One configuration (a dict, fixed values included) per row of ``U`` in [0, 1]^d."""
        U = numpy.asarray(U, dtype=float)
        if U.ndim != 2 or U.shape[1] != len(self):
            raise ValueError(f"U must have shape (n, {len(self)}) for the space's "
                             f"{len(self)} dimensions {self.names}; got {U.shape}.")
        if U.size and (not numpy.isfinite(U).all() or U.min() < 0 or U.max() > 1):
            raise ValueError("U must hold numbers in [0, 1].")
        cols = [d.from_unit(U[:, j]) for j, d in enumerate(self.dims.values())]
        return [{**{k: float(c[i]) for k, c in zip(self.dims, cols)}, **self.fixed}
                for i in range(len(U))]

    def to_unit(self, configs: Sequence[Mapping]):
        """The unit-cube coordinates of configurations (the inverse of :meth:`from_unit`)."""
        return numpy.array([[d.to_unit(c[k]) for k, d in self.dims.items()] for c in configs],
                           dtype=float).reshape(len(configs), len(self))


def _check_space(space) -> SearchSpace:
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}: build one "
                        "with SearchSpace(lr=Dim(1e-4, 1.0, 'log')).")
    return space


def quasi_random(space, n, seed=0, method="halton") -> list[dict]:
    """``n`` configurations from a scrambled low-discrepancy sequence (``scipy.stats.qmc``).

    Quasi-random points fill the space more evenly than independent random
    ones (no clumps, no holes) while keeping random search's virtue: every trial
    tries a new value of *every* hyper-parameter (Bousquet et al. 2017; the
    tuning playbook's default).

    Parameters
    ----------
    space : SearchSpace
    n : int
        Number of trials (>= 1).
    seed : int
        Seed of the scrambling: the same seed gives the same points, another
        seed an independent study.
    method : {"halton", "sobol"}
        Scrambled Halton (any ``n``) or scrambled Sobol' (drawn in a power of
        two, the first ``n`` kept).
    """
    space = _check_space(space)
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    from scipy.stats import qmc

    if method == "halton":
        U = qmc.Halton(d=len(space), scramble=True, seed=seed).random(n)
    elif method == "sobol":
        m = max(0, math.ceil(math.log2(n)))
        U = qmc.Sobol(d=len(space), scramble=True, seed=seed).random_base2(m)[:n]
    else:
        raise ValueError(f"Invalid method={method!r}: choose 'halton' or 'sobol'.")
    return space.from_unit(U)


def random_search(space, n, seed=0) -> list[dict]:
    """``n`` configurations drawn independently and uniformly on the space's scales."""
    space = _check_space(space)
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    return space.from_unit(numpy.random.default_rng(seed).random((n, len(space))))


def grid_search(space, n) -> list[dict]:
    """The largest full grid with at most ``n`` points: ``k`` values per dimension, ``k**d <= n``.

    The ``k`` values of each dimension are evenly spaced on its scale from
    ``low`` to ``high`` (the middle of the range when ``k = 1``).
    """
    space = _check_space(space)
    n = check_int("n", n, minimum=1)
    d = len(space)
    k = max(1, int(math.floor(n ** (1 / d) + 1e-9)))
    axis = numpy.linspace(0.0, 1.0, k) if k > 1 else numpy.array([0.5])
    mesh = numpy.meshgrid(*([axis] * d), indexing="ij")
    return space.from_unit(numpy.stack([m.ravel() for m in mesh], axis=1))


# ----------------------------------------------------------------------------
# Scoring a run.


def steps_to_target(values, target, steps=None, higher_is_better=False) -> float:
    """The first step whose value reaches ``target``; ``inf`` when none does.

    Parameters
    ----------
    values : sequence of float
        The measured quality at each checkpoint (NaN: the run broke down,
        which never reaches a target).
    target : float
    steps : sequence of int, optional
        The step of each checkpoint (default ``1, 2, ...``).
    higher_is_better : bool
        Reached means ``value >= target`` (accuracy) instead of ``<=`` (loss).

    Returns
    -------
    float
        The step (a whole number) or ``math.inf`` for a miss, so that a miss
        ranks behind every hit and a median over studies stays honest.
    """
    target = check_real("target", target)
    higher_is_better = check_bool("higher_is_better", higher_is_better)
    values = numpy.asarray(values, dtype=float).ravel()
    steps = (numpy.arange(1, len(values) + 1) if steps is None
             else numpy.asarray(steps, dtype=float).ravel())
    if len(steps) != len(values):
        raise ValueError(f"steps has {len(steps)} entries but values has {len(values)}: "
                         "give one step per checkpoint.")
    with numpy.errstate(invalid="ignore"):
        hit = values >= target if higher_is_better else values <= target
    hit &= ~numpy.isnan(values)
    return float(steps[numpy.argmax(hit)]) if hit.any() else math.inf


# ----------------------------------------------------------------------------
# Workloads, trials and studies.


@dataclass
class Workload:
    """A training task with a target, as AlgoPerf defines one.

    Parameters
    ----------
    name : str
    init : callable
        ``init(seed) -> params`` (fresh arrays, a dict or list as
        :func:`gdlib.train.train` takes them).
    loss_and_grad : callable
        ``loss_and_grad(params, batch) -> (loss, grads)``.
    data : tuple of arrays or None
        Training data, split into mini-batches by ``train``.
    evaluate : callable
        ``evaluate(params) -> float``: the quality the target is about (a
        validation loss or accuracy).
    target : float
    max_steps : int
        The step budget of one trial.
    batch_size : int or None
        ``None``: full batch.
    eval_every : int
        Steps between evaluations (steps-to-target is known to this resolution).
    higher_is_better : bool
    """

    name: str
    init: Callable
    loss_and_grad: Callable
    data: tuple | None
    evaluate: Callable
    target: float
    max_steps: int
    batch_size: int | None = None
    eval_every: int = 10
    higher_is_better: bool = False

    def __post_init__(self):
        for attr in ("init", "loss_and_grad", "evaluate"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"Workload {attr} must be callable, got "
                                f"{type(getattr(self, attr)).__name__}.")
        self.target = check_real("target", self.target)
        self.max_steps = check_int("max_steps", self.max_steps, minimum=1)
        self.eval_every = check_int("eval_every", self.eval_every, minimum=1)
        if self.batch_size is not None:
            self.batch_size = check_int("batch_size", self.batch_size, minimum=1)
        self.higher_is_better = check_bool("higher_is_better", self.higher_is_better)

    @classmethod
    def from_model(cls, name, make_model, loss, X, y, evaluate, target, max_steps,
                   batch_size=None, eval_every=10, higher_is_better=False) -> Workload:
        """A workload for a :mod:`gdlib.nn` model.

        ``make_model(seed)`` builds a fresh model, ``loss`` is a loss module
        (``nn.SoftmaxCrossEntropy()``...), ``evaluate(model) -> float`` measures
        the model the trial is training (trials run one after the other).
        """
        if not callable(make_model):
            raise TypeError(f"make_model must be callable (seed -> model), got "
                            f"{type(make_model).__name__}.")
        if not callable(evaluate):
            raise TypeError(f"evaluate must be callable (model -> float), got "
                            f"{type(evaluate).__name__}.")
        current = {}

        def init(seed):
            current["model"] = model = make_model(seed)
            current["grads"] = model.gradients()      # backward fills these arrays in place
            return model.parameters()

        def loss_and_grad(_params, batch):
            model = current["model"]
            for g in current["grads"].values():      # model.zero_grad(), without the walk
                g[...] = 0
            value = loss(model(batch[0]), batch[1])
            model.backward(loss.backward())
            return value, current["grads"]

        return cls(name, init, loss_and_grad, (X, y), lambda _params: evaluate(current["model"]),
                   target, max_steps, batch_size, eval_every, higher_is_better)

    def steps_per_epoch(self) -> int:
        if self.data is None or self.batch_size is None:
            return 1
        n = len(self.data[0]) if isinstance(self.data, (tuple, list)) else len(self.data)
        return max(1, math.ceil(n / self.batch_size))


@dataclass
class Trial:
    """One training run at one configuration."""

    config: dict
    steps: float            #: steps to target (``inf``: missed)
    seconds: float          #: training seconds to target, evaluations excluded (``inf``: missed)
    checkpoints: numpy.ndarray = field(repr=False, default=None)   #: evaluated steps
    values: numpy.ndarray = field(repr=False, default=None)        #: the evaluations
    diverged: bool = False

    @property
    def reached(self) -> bool:
        return math.isfinite(self.steps)


def run_trial(workload, optimizer, config, seed=0) -> Trial:
    """Train ``workload`` once with ``optimizer`` at ``config`` (through :func:`gdlib.train.train`).

    The model is built from ``seed``, the data are shuffled with ``seed``;
    every ``eval_every`` steps the model is evaluated, and training stops at
    the first evaluation that reaches the target or after ``max_steps``. A
    run that diverges (:class:`~gdlib.errors.DivergenceError`) is a miss.
    The clock counts training only, not the evaluations.
    """
    from .train import train

    if not isinstance(workload, Workload):
        raise TypeError(f"workload must be a Workload, got {type(workload).__name__}.")
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of hyper-parameters, got "
                        f"{type(config).__name__}.")
    seed = check_int("seed", seed, minimum=0)
    params = workload.init(seed)
    checkpoints, values = [], []
    clock = [0.0, time.perf_counter()]          # training seconds so far, start of this stretch
    hit_seconds = [math.inf]

    def checkpoint(step, loss):
        if step % workload.eval_every and step < workload.max_steps:
            return None
        clock[0] += time.perf_counter() - clock[1]
        value = float(workload.evaluate(params))
        checkpoints.append(step)
        values.append(value)
        done = math.isfinite(steps_to_target([value], workload.target, [step],
                                             workload.higher_is_better))
        if done:
            hit_seconds[0] = clock[0]
        clock[1] = time.perf_counter()
        return True if done or step >= workload.max_steps else None

    epochs = math.ceil(workload.max_steps / workload.steps_per_epoch())
    diverged = False
    try:
        train(params, workload.loss_and_grad, optimizer, data=workload.data, epochs=epochs,
              batch_size=workload.batch_size, seed=seed, progress=False, callback=checkpoint,
              **config)
    except DivergenceError:
        diverged = True
    steps = steps_to_target(values, workload.target, checkpoints, workload.higher_is_better)
    return Trial(dict(config), steps, hit_seconds[0] if math.isfinite(steps) else math.inf,
                 numpy.asarray(checkpoints), numpy.asarray(values, dtype=float), diverged)


@dataclass
class Study:
    """A search: its trials and the best of them (fewest steps to target, then seconds)."""

    trials: list
    best: Trial

    @property
    def steps(self) -> float:
        return self.best.steps

    @property
    def seconds(self) -> float:
        return self.best.seconds


def _search(space, n_trials, seed, method) -> list[dict]:
    if method in ("halton", "sobol"):
        return quasi_random(space, n_trials, seed=seed, method=method)
    if method == "random":
        return random_search(space, n_trials, seed=seed)
    if method == "grid":
        return grid_search(space, n_trials)
    raise unknown_name_error("search method", method, ["halton", "sobol", "random", "grid"])


def run_study(workload, optimizer, space, n_trials, seed=0, method="halton") -> Study:
    """One study: ``n_trials`` trials at points of ``space`` (``method``), the best kept.

    Parameters
    ----------
    workload : Workload
    optimizer : str or Optimizer class
        As :func:`gdlib.train.train` takes it.
    space : SearchSpace
    n_trials : int
        The search budget.
    seed : int
        Seed of the search points and of every trial's training (model
        initialisation, shuffling): another seed is an independent study.
    method : {"halton", "sobol", "random", "grid"}
    """
    configs = _search(_check_space(space), n_trials, seed, method)
    trials = [run_trial(workload, optimizer, c, seed=seed) for c in configs]
    best = min(trials, key=lambda t: (t.steps, t.seconds))
    return Study(trials, best)


def median_over_studies(workload, optimizer, space, n_trials, n_studies=3, seed=0,
                        method="halton") -> dict:
    """The median, over ``n_studies`` independent studies, of each study's best trial.

    Study ``i`` uses seed ``seed + i`` for its search points and its training.
    A study whose every trial missed scores ``inf``; the median is taken with
    the infinities in place (not dropped), so it is finite only when more than
    half the studies succeeded.

    Returns
    -------
    dict
        ``steps`` and ``seconds`` (the medians), and ``studies`` (the list of
        :class:`Study`).
    """
    n_studies = check_int("n_studies", n_studies, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    studies = [run_study(workload, optimizer, space, n_trials, seed=seed + i, method=method)
               for i in range(n_studies)]
    return {"steps": float(numpy.median([s.steps for s in studies])),
            "seconds": float(numpy.median([s.seconds for s in studies])),
            "studies": studies}


# ----------------------------------------------------------------------------
# Performance profiles.


def _table(times) -> tuple[list, numpy.ndarray]:
    if not isinstance(times, Mapping) or not times:
        raise TypeError("times must be a non-empty dict: optimizer -> one time per workload "
                        "(math.inf for a miss).")
    names = list(times)
    rows = []
    for k in names:
        row = numpy.asarray(times[k], dtype=float).ravel()
        if numpy.isnan(row).any():
            raise ValueError(f"times[{k!r}] holds NaN: write a miss as math.inf.")
        if (row <= 0).any():
            raise ValueError(f"times[{k!r}] holds a value <= 0: times to target are positive.")
        rows.append(row)
    if len({len(r) for r in rows}) != 1:
        raise ValueError("every optimizer needs one time per workload; got lengths "
                         f"{ {k: len(r) for k, r in zip(names, rows)} }.")
    return names, numpy.stack(rows)


def performance_ratios(times) -> dict:
    """Each time divided by the best time on its workload (Dolan and Moré 2002).

    ``times`` maps an optimizer to one time (or step count) per workload,
    ``inf`` for a miss. The ratio is ``inf`` for a miss, and for every
    optimizer on a workload that none solved.
    """
    names, T = _table(times)
    best = T.min(axis=0)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        R = numpy.where(numpy.isfinite(T) & numpy.isfinite(best), T / best, math.inf)
    return {k: R[i] for i, k in enumerate(names)}


def performance_profile(times, taus) -> dict:
    r"""Dolan and Moré's performance profile :math:`\rho_s(\tau)`.

    .. math:: \rho_s(\tau) = \frac{1}{|W|}\, \bigl|\{w \in W : t_{s,w} \le \tau
              \min_{s'} t_{s',w}\}\bigr|

    the fraction of the workloads that optimizer :math:`s` solves within a
    factor :math:`\tau \ge 1` of the fastest. :math:`\rho_s(1)` is the share of
    workloads it wins (ties count for each), and :math:`\rho_s(\tau)` for large
    :math:`\tau` the share it solves at all. AlgoPerf scores a submission by the
    area under this curve for :math:`\tau` from 1 to 4 on a log scale.

    Returns
    -------
    dict
        optimizer -> array of :math:`\rho_s(\tau)`, one per ``tau``.
    """
    taus = numpy.asarray(taus, dtype=float).ravel()
    if taus.size == 0 or not numpy.isfinite(taus).all() or (taus < 1).any():
        raise ValueError("taus must be finite numbers >= 1 (a ratio to the best time).")
    ratios = performance_ratios(times)
    return {k: (r[None, :] <= taus[:, None]).mean(axis=1) for k, r in ratios.items()}


# ----------------------------------------------------------------------------
# Diagnostics.


def lr_range_test(params, loss_and_grad, optimizer="sgd", data=None, lr_min=1e-6, lr_max=10.0,
                  steps=100, batch_size=None, seed=0, smoothing=0.9, stop_factor=4.0,
                  **hyper) -> dict:
    r"""The learning-rate range test (Smith 2017): one run with the rate growing geometrically.

    The rate goes from ``lr_min`` to ``lr_max`` over ``steps`` steps
    (:math:`\eta_k = \eta_{\min} (\eta_{\max}/\eta_{\min})^{k/(steps-1)}`); the
    run stops early when the smoothed loss exceeds ``stop_factor`` times its
    best, or diverges. Too small a rate leaves the loss flat, a good one
    lowers it fast, too large a one blows it up: a usable rate lies a little
    below where the smoothed loss is lowest. ``params`` are trained in place:
    pass a fresh copy.

    Returns
    -------
    dict
        ``lr`` and ``loss`` (per step), ``smoothed`` (exponential moving
        average, bias-corrected), ``best_lr`` (the rate at the lowest smoothed
        loss) and ``suggested_lr`` (``best_lr / 10``, the usual rule of thumb).
    """
    from .schedules import ExponentialLR
    from .train import train

    lr_min, lr_max = check_real("lr_min", lr_min, 0, low_open=True), check_real("lr_max", lr_max)
    if not lr_max > lr_min:
        raise ValueError(f"Invalid lr_max={lr_max!r}: it must be larger than lr_min={lr_min!r}.")
    steps = check_int("steps", steps, minimum=2)
    smoothing = check_real("smoothing", smoothing, 0.0, 1.0, high_open=True)
    stop_factor = check_real("stop_factor", stop_factor, 1.0, low_open=True)
    gamma = (lr_max / lr_min) ** (1 / (steps - 1))
    lrs, losses, smoothed = [], [], []
    avg, best = 0.0, math.inf

    def watch(step, loss):
        nonlocal avg, best
        avg = smoothing * avg + (1 - smoothing) * loss
        s = avg / (1 - smoothing**step)
        losses.append(loss)
        smoothed.append(s)
        lrs.append(lr_min * gamma ** (step - 1))
        best = min(best, s)
        return True if step >= steps or not s <= stop_factor * best else None

    per_epoch = 1
    if data is not None and batch_size is not None:
        n = len(data[0]) if isinstance(data, (tuple, list)) else len(data)
        per_epoch = max(1, math.ceil(n / batch_size))
    try:
        train(params, loss_and_grad, optimizer, data=data, epochs=math.ceil(steps / per_epoch),
              batch_size=batch_size, seed=seed, progress=False, callback=watch,
              schedule=lambda opt: ExponentialLR(opt, gamma), lr=lr_min, **hyper)
    except DivergenceError:
        pass
    sm = numpy.asarray(smoothed)
    i = int(numpy.argmin(sm)) if len(sm) else 0
    lr = numpy.asarray(lrs)
    best_lr = float(lr[i]) if len(lr) else math.nan
    return {"lr": lr, "loss": numpy.asarray(losses), "smoothed": sm, "best_lr": best_lr,
            "suggested_lr": best_lr / 10}


def _leaves(tree) -> dict:
    if isinstance(tree, Mapping):
        return {str(k): v for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return {f"params[{i}]": v for i, v in enumerate(tree)}
    return {"params": tree}


class UpdateRatio:
    r"""Record :math:`\|\Delta\theta\| / \|\theta\|` per parameter at every step.

    A diagnostic of the learning rate: for each weight array, the norm of the
    step an optimizer took relative to the norm of the weights. A common rule
    of thumb (Karpathy's CS231n notes) is a ratio around :math:`10^{-3}`: much
    smaller and the layer barely learns, much larger and it is being
    overwritten. Pass it to :func:`gdlib.train.train` as ``callback``: it keeps
    a copy of the weights after each step and compares the next step with it.

    Parameters
    ----------
    params : array, list or dict of arrays
        The same arrays the optimizer updates in place.
    every : int, default 1
        Record every ``every``-th step.

    Attributes
    ----------
    steps : list of int
    ratios : dict of str to list of float
        Per parameter name, the ratio at each recorded step.
    """

    def __init__(self, params, every=1):
        self.every = check_int("every", every, minimum=1)
        self._params = _leaves(params)
        self._prev = {k: numpy.array(to_host(v), dtype=float) for k, v in self._params.items()}
        self.steps: list[int] = []
        self.ratios: dict[str, list[float]] = {k: [] for k in self._params}

    def __call__(self, step, loss=None):
        record = step % self.every == 0
        for k, p in self._params.items():
            now = numpy.array(to_host(p), dtype=float)
            if record:
                base = float(numpy.linalg.norm(self._prev[k]))
                diff = float(numpy.linalg.norm(now - self._prev[k]))
                self.ratios[k].append(diff / base if base > 0 else math.inf)
            self._prev[k] = now
        if record:
            self.steps.append(int(step))
        return None

    def as_arrays(self) -> dict:
        """``ratios`` as arrays (one per parameter)."""
        return {k: numpy.asarray(v) for k, v in self.ratios.items()}


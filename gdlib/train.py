r"""The driver loops: :func:`minimize` for test functions, :func:`train` for models.

Both loops are the same three lines the course starts from,

.. math::

    g_t = \nabla f(\theta_{t-1}), \qquad \theta_t = \theta_{t-1} - \eta\, g_t,

with the optimizer's rule in place of the plain update, plus what a real run
needs around them: a record of the run (:class:`History`), a stopping test on
the gradient norm, learning-rate schedules, gradient clipping, a progress bar
when someone is watching, and a clear error (:class:`~gdlib.errors.DivergenceError`)
naming the step and the learning rate when the loss blows up.

Sources
-------
- A.-L. Cauchy (1847), "Méthode générale pour la résolution des systèmes
  d'équations simultanées", Comptes rendus 25, 536-538: the descent loop.
- H. Robbins and S. Monro (1951), "A stochastic approximation method",
  Ann. Math. Statist. 22(3), 400-407: noisy gradients (``noise=``, mini-batches).
"""

from __future__ import annotations

import inspect
import math
import os
import sys
from dataclasses import dataclass, field

import numpy

from .backend import array_module, asarray, to_host, xp
from .clipping import clip_grad_norm_, total_norm
from .errors import (
    DivergenceError,
    GradientOverflowError,
    NonFiniteGradientError,
    NonFiniteInputError,
)
from .optim.base import check_bool, check_int, check_real

__all__ = ["History", "Result", "minimize", "train", "make_optimizer", "make_schedule"]


# ----------------------------------------------------------------------------
# Records of a run


def _empty() -> numpy.ndarray:
    return numpy.zeros(0)


@dataclass
class History:
    """The record of a run, as NumPy arrays on the host.

    Attributes
    ----------
    params : ndarray of shape (n + 1, d) or None
        The iterates :math:`\\theta_0, \\theta_1, \\dots` flattened, one row per
        record (``minimize``); ``None`` for :func:`train`, which does not keep
        a model's parameters.
    loss : ndarray of shape (n + 1,) or (n,)
        The loss at each record. For :func:`minimize` it is :math:`f(\\theta_i)`
        at the recorded point; for :func:`train` the loss of the mini-batch of
        each step, at the parameters before that step.
    grad_norm : ndarray
        The Euclidean norm of the (full, noise-free, unclipped) gradient at each record.
    lr : ndarray
        The learning rate used for the step that led to each record
        (``lr[0]`` of :func:`minimize` is the initial rate). NaN for an optimizer
        without a learning rate.
    step : ndarray of int
        The step number of each record (0 is the starting point).
    steps : int
        The number of optimizer steps taken.
    epoch_loss : ndarray of shape (epochs,)
        :func:`train` only: the mean mini-batch loss of each epoch.
    epoch_step : ndarray of shape (epochs,)
        :func:`train` only: the step count at the end of each epoch.
    eval : ndarray of shape (epochs,) or None
        :func:`train` only: what ``eval_fn`` returned after each epoch (the
        first metric when it returns a dict).
    metrics : dict of str to ndarray
        :func:`train` only: every metric ``eval_fn`` returned, per epoch.
    """

    params: numpy.ndarray | None = None
    loss: numpy.ndarray = field(default_factory=_empty)
    grad_norm: numpy.ndarray = field(default_factory=_empty)
    lr: numpy.ndarray = field(default_factory=_empty)
    step: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, dtype=int))
    steps: int = 0
    epoch_loss: numpy.ndarray = field(default_factory=_empty)
    epoch_step: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, dtype=int))
    eval: numpy.ndarray | None = None
    metrics: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def final_loss(self) -> float:
        """The last recorded loss (NaN for an empty history)."""
        return float(self.loss[-1]) if len(self.loss) else math.nan

    def __repr__(self) -> str:
        parts = [f"records={len(self)}", f"steps={self.steps}"]
        if len(self.loss):
            parts.append(f"final_loss={self.final_loss:.4g}")
        if len(self.epoch_loss):
            parts.append(f"epochs={len(self.epoch_loss)}")
        return f"History({', '.join(parts)})"


@dataclass
class Result:
    """What :func:`minimize` returns.

    Attributes
    ----------
    x : ndarray
        The final point, a NumPy array on the host (shape of ``x0``).
    fun : float
        :math:`f(x)`.
    steps : int
        The number of optimizer steps taken.
    converged : bool
        True when the gradient norm fell below ``tol``.
    message : str
        Why the run stopped, in words.
    history : History
        The recorded run.
    optimizer : Optimizer
        The optimizer, with its state (its parameter is the final point, on the
        current device).
    grad_norm : float
        The gradient norm at ``x``.
    """

    x: numpy.ndarray
    fun: float
    steps: int
    converged: bool
    message: str
    history: History
    optimizer: object = None
    grad_norm: float = math.nan

    def __repr__(self) -> str:
        x = numpy.array2string(numpy.asarray(self.x), precision=6, threshold=8)
        return (
            f"Result(x={x}, fun={self.fun:.6g}, steps={self.steps}, "
            f"converged={self.converged}, message={self.message!r})"
        )


# ----------------------------------------------------------------------------
# Building the optimizer and the schedule


def make_optimizer(optimizer, params, **hyper):
    """An optimizer over ``params`` from a name, a class, a factory or an instance.

    Parameters
    ----------
    optimizer : str, Optimizer subclass, callable or Optimizer
        A registered name (``"adam"``, see :data:`gdlib.optim.REGISTRY`), a
        class, a callable ``(params, **hyper) -> Optimizer``, or a ready
        optimizer (returned unchanged; ``hyper`` must then be empty).
    params : array, list or dict of arrays
        The parameters it updates in place.
    **hyper
        Hyper-parameters for the optimizer (``lr=0.1, momentum=0.9``).
    """
    from .optim import Optimizer, create

    if isinstance(optimizer, Optimizer):
        if hyper:
            raise TypeError(
                f"hyper-parameters {sorted(hyper)} were given with a ready optimizer "
                f"({optimizer!r}); set them when you create it, or pass its name instead."
            )
        return optimizer
    if isinstance(optimizer, str):
        return create(optimizer, params, **hyper)
    if callable(optimizer):
        opt = optimizer(params, **hyper)
        if not callable(getattr(opt, "step", None)):
            raise TypeError(
                f"optimizer {optimizer!r} returned {type(opt).__name__}, which has no step "
                "method: give an Optimizer class, a name such as 'adam', or a function "
                "returning an optimizer."
            )
        return opt
    raise TypeError(
        "optimizer must be a name such as 'gd' or 'adam', an Optimizer class or an "
        f"Optimizer instance; got {optimizer!r}."
    )


#: Arguments that some schedules need and that the loop can fill in.
def _schedule_defaults(opt, steps: int) -> dict:
    return {"T_max": steps, "total_steps": steps, "total_iters": steps,
            "max_lr": getattr(opt, "lr", None)}


def make_schedule(schedule, optimizer, steps: int | None = None, **kw):
    """A learning-rate scheduler attached to ``optimizer``.

    Parameters
    ----------
    schedule : None, str, callable or scheduler
        ``None`` (constant rate); a name for :func:`gdlib.schedules.create`
        (``"cosine"``, ``"onecycle"``...), where a required ``T_max``,
        ``total_steps``, ``total_iters`` or ``max_lr`` that is not in ``kw`` is
        filled in from ``steps`` and the optimizer's rate; a callable
        ``optimizer -> scheduler`` such as ``lambda opt: StepLR(opt, 10)``; or a
        scheduler already built on ``optimizer``.
    optimizer : Optimizer
    steps : int, optional
        The length of the run, used for the defaults above.
    **kw
        Arguments for a schedule given by name.
    """
    if schedule is None:
        return None
    if isinstance(schedule, str):
        from . import schedules

        key = schedule.lower().replace("_", "").replace("-", "").replace(" ", "")
        cls = getattr(schedules, "REGISTRY", {}).get(key)
        if cls is not None and steps is not None:
            try:
                wanted = inspect.signature(cls).parameters
            except (TypeError, ValueError):  # pragma: no cover
                wanted = {}
            for name, value in _schedule_defaults(optimizer, steps).items():
                p = wanted.get(name)
                if p is not None and p.default in (inspect.Parameter.empty, None) and value:
                    kw.setdefault(name, value)
        return schedules.create(schedule, optimizer, **kw)
    if hasattr(schedule, "step") and not isinstance(schedule, type):
        if getattr(schedule, "optimizer", optimizer) is not optimizer:
            raise ValueError(
                f"schedule {type(schedule).__name__} was built on another optimizer than the one "
                "this run steps, so it would change the wrong learning rate: build it on this "
                "optimizer, or pass a function optimizer -> schedule (e.g. lambda opt: "
                "StepLR(opt, 10))."
            )
        return schedule
    if callable(schedule):
        return schedule(optimizer)
    raise TypeError(
        "schedule must be None, a name, a callable optimizer -> scheduler "
        f"(e.g. lambda opt: StepLR(opt, 10)) or a scheduler; got {schedule!r}."
    )


def _wants_metric(scheduler) -> bool:
    """True for schedulers whose ``step`` takes a metric (ReduceLROnPlateau)."""
    try:
        params = list(inspect.signature(scheduler.step).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].default is inspect.Parameter.empty and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _step_kind(opt) -> str:
    """``'closure'`` (L-BFGS), ``'grads+closure'`` (SAM), ``'hessian'`` (Newton) or ``'grad'``.

    ``'grads+closure'``: ``step(grads, closure)`` takes the gradient at the current
    point and a closure that recomputes ``(loss, grads)`` wherever the parameters are.
    """
    try:
        names = inspect.signature(opt.step).parameters
    except (TypeError, ValueError):
        return "grad"
    if "closure" in names:
        return "grads+closure" if "grads" in names else "closure"
    if "hessian" in names:
        return "hessian"
    return "grad"


# ----------------------------------------------------------------------------
# Gradients: norm and clipping


def _leaves(tree) -> list:
    if isinstance(tree, dict):
        return list(tree.values())
    if isinstance(tree, (list, tuple)):
        return list(tree)
    return [tree]


def _global_norm(grads) -> float:
    r""":math:`\|g\|_2` over every array of ``grads`` together (one number).

    The same overflow-safe norm that clipping uses
    (:func:`gdlib.clipping.total_norm`): huge finite gradients give a huge
    finite norm, not infinity.
    """
    return total_norm(grads, 2.0)


# ----------------------------------------------------------------------------
# Arguments shared by the loops


def _loop_args(clip_norm, divergence_factor, progress, callback, seed) -> tuple:
    """Check the options :func:`minimize` and :func:`train` share; return them normalized."""
    clip = None if clip_norm is None else check_real("clip_norm", clip_norm, low=0.0)
    factor = check_real("divergence_factor", divergence_factor, low=0.0, low_open=True,
                        allow_inf=True)                  # inf: never call it divergence
    if progress is not None:
        check_bool("progress", progress)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function or None, got {type(callback).__name__}.")
    if seed is not None and not isinstance(seed, numpy.random.Generator):
        seed = check_int("seed", seed, minimum=0)
    return clip, factor


def _first_loss_error(value, what: str, where: str) -> NonFiniteInputError:
    return NonFiniteInputError(
        f"the {what} at the first evaluation ({where}, before any step) is {value}: your "
        "inputs or initial point give a non-finite loss. Nothing has diverged yet: check the "
        "data for NaN or infinity (np.isfinite(X).all()), the initial parameters, and the "
        "loss function itself (a log of 0? a division by 0?)."
    )


def _overflow_error(exc, step: int, lr, opt, history, source: str) -> Exception:
    """The error for a gradient too large to step with.

    At step 1 nothing has moved yet, so it is bad input (``source`` says what gave
    the gradient); later it is divergence, with the run's ``history()`` attached.
    """
    if step == 1:
        return NonFiniteInputError(
            f"{exc} This is step 1, before any update: {source} this gradient.")
    err = DivergenceError(
        f"{exc} (step {step}, lr={lr:g}): the run has probably diverged; try a smaller learning "
        "rate or clip_norm=...", step=step, lr=lr if math.isfinite(lr) else None)
    err.history = history()
    return err


def _clip(grads, max_norm: float) -> float:
    """Scale ``grads`` in place so that their global norm is at most ``max_norm``."""
    return clip_grad_norm_(grads, max_norm)


def _clipped(loss_grads: tuple, max_norm) -> tuple:
    """``(loss, grads)`` with ``grads`` clipped in place to ``max_norm`` (None: unchanged)."""
    if max_norm is not None:
        _clip(loss_grads[1], max_norm)
    return loss_grads


# ----------------------------------------------------------------------------
# Progress bars: shown only when someone is watching


def in_jupyter_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, nbval, the book build)."""
    ip = sys.modules.get("IPython")
    if ip is None:
        return False
    try:
        shell = ip.get_ipython()
    except Exception:  # pragma: no cover
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def interactive() -> bool:
    """True when a person is probably watching: a terminal or a Jupyter kernel.

    ``GDLIB_PROGRESS=0`` or ``1`` overrides the guess; under pytest (which
    includes nbval's kernels, started from a test) the answer is False.
    """
    env = os.environ.get("GDLIB_PROGRESS")
    if env is not None and env.strip() != "":
        return env.strip().lower() not in ("0", "false", "no", "off")
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    if in_jupyter_kernel():
        return True
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # pragma: no cover - closed or odd streams
        return False


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s, refresh=True):
        pass

    def close(self):
        pass


def _bar(total: int, progress, desc: str):
    show = interactive() if progress is None else bool(progress)
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    # When the caller did not ask, wait half a second: quick runs print nothing.
    return tqdm(total=total, desc=desc, delay=0.5 if progress is None else 0.0, leave=False)


# ----------------------------------------------------------------------------
# Divergence


def _divergence(loss: float, step: int, lr, opt, limit: float, what: str = "loss"):
    name = "Gradient descent" if type(opt).__name__ in ("GD", "SGD") else type(opt).__name__
    lr_txt = f"lr={lr:g}" if isinstance(lr, (int, float)) and math.isfinite(lr) else "lr=?"
    if math.isfinite(loss):
        happened = (f"The {what} reached {loss:.3g} at step {step} ({lr_txt}), above the "
                    f"divergence threshold {limit:.3g} "
                    "(divergence_factor * max(1, |initial loss|))")
    else:
        happened = f"The {what} became {loss} at step {step} ({lr_txt})"
    if loss == -math.inf:
        advice = (". The function may be unbounded below along the path (a saddle?), "
                  "or the run diverged: try a smaller learning rate"
                  + (f", e.g. lr={lr / 2:g}." if lr_txt != "lr=?" else "."))
    elif lr_txt != "lr=?":
        advice = f". {name} diverged: try a smaller learning rate, e.g. lr={lr / 2:g}."
    else:
        advice = f". {name} diverged: try damping the steps or clipping the gradients (clip_norm)."
    if lr_txt != "lr=?" and getattr(opt, "momentum", 0):
        advice += " Less momentum also helps."
    return DivergenceError(happened + advice, step=step, lr=lr if lr_txt != "lr=?" else None)


def _lr_of(opt) -> float:
    lr = getattr(opt, "lr", None)
    try:
        return float(lr)
    except (TypeError, ValueError):
        return math.nan


# ----------------------------------------------------------------------------
# minimize


def minimize(f, x0=None, optimizer="gd", steps=1000, tol=1e-8, grad=None, schedule=None,
             clip_norm=None, progress=None, callback=None, record_every=1,
             divergence_factor=1e6, seed=None, noise=0.0, hessian=None, **hyper) -> Result:
    r"""Minimize ``f`` from ``x0`` with a gdlib optimizer, recording the path.

    Each step computes :math:`g_t = \nabla f(x_{t-1})` (plus Gaussian noise
    of standard deviation ``noise`` when asked, to imitate a stochastic
    gradient), optionally clips it, and lets the optimizer update :math:`x`;
    the loop stops when :math:`\|\nabla f(x)\| <` ``tol`` or after ``steps``
    steps.

    Parameters
    ----------
    f : callable
        A gdlib test function (``f(x)``, ``f.grad``, ``f.hessian``, ``f.start``)
        or any callable returning a scalar, with ``grad`` given.
    x0 : array_like, optional
        Starting point; ``f.start`` by default. Copied, never modified.
    optimizer : str, Optimizer class or Optimizer, default "gd"
        A name from :data:`gdlib.optim.REGISTRY`, a class, or a ready optimizer
        (whose single parameter is then used as ``x``, set to ``x0`` if given).
        ``Newton`` receives ``f.hessian`` and ``LBFGS`` a closure.
    steps : int, default 1000
        The maximum number of optimizer steps.
    tol : float, default 1e-8
        Stop (``converged=True``) when the gradient norm falls below ``tol``.
    grad : callable, optional
        The gradient; ``f.grad`` by default.
    schedule : None, str, callable or scheduler
        A learning-rate schedule, stepped after every optimizer step (see
        :func:`make_schedule`); e.g. ``lambda opt: StepLR(opt, 10)``.
    clip_norm : float, optional
        Clip the gradient to this Euclidean norm before each step.
    progress : bool, optional
        Show a tqdm progress bar; by default only when interactive (see
        :func:`interactive`) and the run lasts more than half a second.
    callback : callable, optional
        ``callback(step, x, loss)`` after every step (``x`` a host copy);
        returning ``True`` stops the run.
    record_every : int, default 1
        Record every k-th step (the first and the last are always recorded).
    divergence_factor : float, default 1e6
        Raise when the loss exceeds ``divergence_factor * max(1, |f(x0)|)``.
    seed : int, optional
        Seed of the gradient noise.
    noise : float, default 0
        Standard deviation of Gaussian noise added to each gradient (drawn on
        the host, so CPU and GPU runs see the same numbers).
    hessian : callable, optional
        The Hessian for Newton's method; ``f.hessian`` by default.
    **hyper
        Hyper-parameters for the optimizer (``lr=0.1, momentum=0.9``).

    Returns
    -------
    Result

    Raises
    ------
    DivergenceError
        When the loss becomes non-finite or explodes; it names the step and the
        learning rate and carries ``.step``, ``.lr`` and ``.history`` (the run so far).

    Examples
    --------
    >>> import numpy as np
    >>> from gdlib.train import minimize
    >>> f = lambda x: float(x @ x)
    >>> res = minimize(f, np.array([1.0, -2.0]), grad=lambda x: 2 * x, lr=0.25)
    >>> res.converged, res.x.round(6).tolist()
    (True, [0.0, -0.0])
    """
    if grad is None:
        grad = getattr(f, "grad", None)
        if grad is None:
            raise TypeError(
                "f has no .grad: pass grad=... (the gradient function), or build an "
                "approximate one with gdlib.gradcheck.numerical_gradient."
            )
    if not callable(grad):
        raise TypeError(f"grad must be a function x -> gradient, got {type(grad).__name__}.")
    if not callable(f):
        raise TypeError(f"f must be a function x -> loss, got {type(f).__name__}.")
    if hessian is not None and not callable(hessian):
        raise TypeError(f"hessian must be a function x -> matrix, got {type(hessian).__name__}.")
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    tol = check_real("tol", tol, low=0.0)
    noise = check_real("noise", noise, low=0.0)
    clip, divergence_factor = _loop_args(clip_norm, divergence_factor, progress, callback, seed)

    from .optim import Optimizer

    if isinstance(optimizer, Optimizer):
        opt = make_optimizer(optimizer, None, **hyper)
        if len(opt.params) != 1:
            raise ValueError("minimize needs an optimizer over a single array (the point x).")
        x = opt.params[0]
        if x0 is not None:
            x[...] = asarray(x0, dtype=x.dtype).reshape(x.shape)
    else:
        if x0 is None:
            x0 = getattr(f, "start", None)
            if x0 is None:
                raise TypeError("f has no .start: give a starting point x0.")
        x0 = to_host(x0)
        try:
            x0_host = numpy.atleast_1d(numpy.asarray(x0, dtype=float))
        except (TypeError, ValueError):
            raise TypeError(f"x0 must be a number or an array of numbers, got {x0!r}.") from None
        if not numpy.isfinite(x0_host).all():
            raise NonFiniteInputError(
                f"x0 holds NaN or infinity ({x0_host!r}): start from a finite point."
            )
        x = xp.array(x0_host, dtype=float)
        opt = make_optimizer(optimizer, x, **hyper)

    kind = _step_kind(opt)
    if kind == "hessian" and hessian is None:
        hessian = getattr(f, "hessian", None)
        if hessian is None:
            raise TypeError(f"{type(opt).__name__} needs the Hessian: f has no .hessian; "
                            "pass hessian=...")
    sched = make_schedule(schedule, opt, steps)
    sched_metric = sched is not None and _wants_metric(sched)
    rng = numpy.random.default_rng(seed) if noise else None

    def value(at) -> float:
        out = f(at)
        try:
            return float(out)
        except (TypeError, ValueError):
            raise TypeError(
                f"f must return one number (the loss), got {type(out).__name__}"
                f"{' of shape ' + str(tuple(out.shape)) if hasattr(out, 'shape') else ''}."
            ) from None

    def perturb(g):
        """The gradient the optimizer sees: noisy and clipped as asked."""
        if noise:
            g = g + asarray(rng.normal(0.0, noise, size=g.shape), dtype=g.dtype)
        if clip is not None:
            g = g.copy()  # clip a copy: grad(x) may return an array f keeps
            _clip(g, clip)
        return g

    rec_x, rec_loss, rec_gn, rec_lr, rec_step = [], [], [], [], []

    def record(k, loss, gn, lr):
        rec_x.append(numpy.array(to_host(x), dtype=float).reshape(-1))
        rec_loss.append(loss)
        rec_gn.append(gn)
        rec_lr.append(lr)
        rec_step.append(k)

    def history() -> History:
        return History(params=numpy.array(rec_x), loss=numpy.array(rec_loss),
                       grad_norm=numpy.array(rec_gn), lr=numpy.array(rec_lr),
                       step=numpy.array(rec_step, dtype=int), steps=rec_step[-1] if rec_step else 0)

    with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss = value(x)
        if not math.isfinite(loss):
            raise _first_loss_error(loss, "loss", "at x0")
        g = grad(x)
        gn = _global_norm(g)
        if not math.isfinite(gn):
            raise NonFiniteInputError(
                f"the gradient at the starting point x0 has norm {gn} (the loss is {loss:.6g}): "
                "your inputs or initial point give a non-finite gradient. Nothing has diverged "
                "yet: choose another x0, or check the gradient function."
            )
        limit = divergence_factor * max(1.0, abs(loss))
        record(0, loss, gn, _lr_of(opt))
        bar = _bar(steps, progress, type(opt).__name__)
        converged = gn < tol
        stopped_by_callback = stalled = False
        k = 0
        try:
            while k < steps and not converged:
                k += 1
                lr = _lr_of(opt)
                try:
                    if kind == "closure":
                        def closure():
                            return value(x), perturb(grad(x))

                        before = x.copy()
                        opt.step(closure)
                        # L-BFGS returns without moving once its own tolerances are met.
                        stalled = bool((x == before).all())
                    elif kind == "grads+closure":
                        opt.step(perturb(g), lambda: (value(x), perturb(grad(x))))
                    elif kind == "hessian":
                        opt.step(perturb(g), hessian(x))
                    else:
                        opt.step(perturb(g))
                except GradientOverflowError as exc:
                    raise _overflow_error(exc, k, lr, opt, history,
                                          "your initial point x0 gives") from exc
                except NonFiniteGradientError as exc:
                    err = _divergence(math.nan, k, lr, opt, limit, what="gradient")
                    err.history = history()
                    raise err from exc
                loss = value(x)
                g = grad(x)
                gn = _global_norm(g)
                bad = not math.isfinite(loss) or loss > limit
                if bad or not math.isfinite(gn):
                    record(k, loss, gn, lr)  # keep the point where it went wrong
                    err = _divergence(loss if bad else gn, k, lr, opt, limit,
                                      what="loss" if bad else "gradient norm")
                    err.history = history()
                    raise err
                if sched is not None:
                    sched.step(loss) if sched_metric else sched.step()
                converged = gn < tol
                if k % record_every == 0 or converged or k == steps:
                    record(k, loss, gn, lr)
                bar.update(1)
                if k % 50 == 0:
                    bar.set_postfix_str(f"loss={loss:.4g}", refresh=False)
                if callback is not None and callback(k, numpy.array(to_host(x)), loss) is True:
                    stopped_by_callback = True
                if stopped_by_callback or stalled:
                    if rec_step[-1] != k:
                        record(k, loss, gn, lr)
                    break
        finally:
            bar.close()

    if converged:
        message = (f"Converged: the gradient norm {gn:.2e} fell below tol={tol:g} "
                   f"after {k} step{'s' if k != 1 else ''}.")
    elif stopped_by_callback:
        message = f"Stopped by the callback at step {k}."
    elif stalled:
        message = (f"Stopped at step {k}: {type(opt).__name__} made no progress (its own "
                   f"tolerances were met); the gradient norm is {gn:.2e} (tol={tol:g}).")
    else:
        message = (f"Stopped after the maximum of {steps} steps; the gradient norm is still "
                   f"{gn:.2e} (tol={tol:g}). Raise steps or tune the learning rate.")
    x_host = numpy.array(to_host(x), dtype=float)
    if x0 is not None and numpy.ndim(x0) == 0:
        x_host = x_host.reshape(())
    return Result(x=x_host, fun=loss, steps=k, converged=bool(converged), message=message,
                  history=history(), optimizer=opt, grad_norm=gn)


# ----------------------------------------------------------------------------
# train


def _batches(n: int, batch_size: int | None, shuffle: bool, rng, drop_last: bool):
    """Index sets of one epoch: slices in order, or a seeded permutation split up."""
    if batch_size is None or batch_size >= n:
        if shuffle and batch_size is not None:
            yield rng.permutation(n)
        else:
            yield slice(0, n)
        return
    order = rng.permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for lo in range(0, stop, batch_size):
        hi = min(lo + batch_size, n)
        yield order[lo:hi] if order is not None else slice(lo, hi)


def _take(a, idx):
    if isinstance(idx, slice):
        return a[idx]
    mod = array_module(a)
    return a[mod.asarray(idx) if mod is not numpy else idx]


def _call_loss_and_grad(loss_and_grad, params, batch) -> tuple:
    """``loss_and_grad(params, batch)``, with the loss as a float; a clear error otherwise."""
    out = loss_and_grad(params, batch)
    try:
        loss, grads = out
    except (TypeError, ValueError):
        raise TypeError(
            "loss_and_grad must return a pair (loss, grads); it returned "
            f"{type(out).__name__}."
        ) from None
    try:
        return float(loss), grads
    except (TypeError, ValueError):
        raise TypeError(
            f"loss_and_grad returned a loss of type {type(loss).__name__}"
            f"{' and shape ' + str(tuple(loss.shape)) if hasattr(loss, 'shape') else ''}: "
            "it must be one number (average the per-example losses)."
        ) from None


def _non_finite_part(parts) -> int | None:
    """The index of the first array of a batch holding NaN or infinity (None: all finite)."""
    for i, a in enumerate(parts):
        if getattr(a, "dtype", None) is not None and a.dtype.kind in "fc":
            if not bool(array_module(a).isfinite(a).all()):
                return i
    return None


def train(params, loss_and_grad, optimizer, data=None, epochs=1, batch_size=None,
          schedule=None, schedule_per="step", clip_norm=None, shuffle=True, seed=0,
          progress=None, eval_fn=None, divergence_factor=1e6, drop_last=False,
          callback=None, **hyper) -> History:
    r"""Train a model's ``params`` with mini-batch gradient descent.

    For each epoch the data are shuffled (with a seeded generator) and split
    into mini-batches :math:`B`; each step computes the batch loss and its
    gradient and lets the optimizer update the parameters in place:

    .. math:: \theta \leftarrow \mathrm{step}\big(\theta,\ \nabla_\theta
              \tfrac{1}{|B|}\textstyle\sum_{i \in B} \ell_i(\theta)\big)

    (the averaging is up to ``loss_and_grad``). ``batch_size=None`` is full-batch
    gradient descent, ``batch_size=1`` is the stochastic gradient of Robbins and
    Monro (1951), anything between is mini-batch SGD.

    Parameters
    ----------
    params : array, list or dict of arrays
        The model's parameters, updated in place.
    loss_and_grad : callable
        ``loss_and_grad(params, batch) -> (loss, grads)``, ``grads`` with the
        structure of ``params``. ``batch`` is a tuple like ``data`` (or a single
        array when ``data`` is one array, ``None`` without data).
    optimizer : str, Optimizer class or Optimizer
        See :func:`make_optimizer`; ``**hyper`` goes to it.
    data : tuple of arrays or array, optional
        ``(X, y)``, split along the first axis. Without data each epoch is one
        step with ``batch=None``.
    epochs : int, default 1
    batch_size : int, optional
        Mini-batch size; ``None`` uses the whole data set each step.
    schedule : None, str, callable or scheduler
        See :func:`make_schedule`.
    schedule_per : {"step", "epoch"}
        Step the schedule after every optimizer step or after every epoch
        (``ReduceLROnPlateau`` receives the step's loss or the epoch's mean loss).
    clip_norm : float, optional
        Clip the global gradient norm before each step.
    shuffle : bool, default True
        Reshuffle the examples each epoch.
    seed : int, default 0
        Seed of the shuffling: the same seed gives the same batches.
    progress : bool, optional
        Progress bar (tqdm); by default only when interactive.
    eval_fn : callable, optional
        ``eval_fn(params) -> float or dict of floats``, called after each epoch.
    divergence_factor : float, default 1e6
        Raise when a loss exceeds ``divergence_factor * max(1, |first loss|)``.
    drop_last : bool, default False
        Drop the last, smaller batch of each epoch.
    callback : callable, optional
        ``callback(step, loss)`` after each step; returning ``True`` stops training.
    **hyper
        Hyper-parameters for the optimizer.

    Returns
    -------
    History
        Per step ``loss``, ``lr``, ``grad_norm``, ``step``; per epoch
        ``epoch_loss``, ``epoch_step``, ``eval`` and ``metrics``.

    Raises
    ------
    DivergenceError
        When a loss is non-finite or explodes (with ``.step``, ``.lr``, ``.history``).
    """
    if not (isinstance(schedule_per, str) and schedule_per in ("step", "epoch")):
        raise ValueError(f"schedule_per must be 'step' or 'epoch', got {schedule_per!r}.")
    if not callable(loss_and_grad):
        raise TypeError(
            "loss_and_grad must be a function (params, batch) -> (loss, grads), got "
            f"{type(loss_and_grad).__name__}."
        )
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError(f"eval_fn must be a function or None, got {type(eval_fn).__name__}.")
    epochs = check_int("epochs", epochs, minimum=0)
    shuffle = check_bool("shuffle", shuffle)
    drop_last = check_bool("drop_last", drop_last)
    clip, divergence_factor = _loop_args(clip_norm, divergence_factor, progress, callback, seed)
    single = data is not None and hasattr(data, "shape")
    arrays = None if data is None else ((data,) if single else tuple(data))
    n = None
    if arrays is not None:
        if not arrays:
            raise ValueError("data is empty: give a tuple of arrays such as (X, y).")
        for i, a in enumerate(arrays):
            if not hasattr(a, "shape") or len(a.shape) == 0:
                raise TypeError(
                    f"data[{i}] must be an array with one row per example, got "
                    f"{type(a).__name__}{' of shape ()' if hasattr(a, 'shape') else ''}."
                )
        n = len(arrays[0])
        if n == 0:
            raise ValueError("data has no rows: give at least one example.")
        for i, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError(
                    f"data[{i}] has {len(a)} rows but data[0] has {n}: every array in data "
                    "must have the same first dimension (one row per example)."
                )
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)

    opt = make_optimizer(optimizer, params, **hyper)
    kind = _step_kind(opt)
    if opt is optimizer and {id(a) for a in _leaves(params)} != {id(p) for p in opt.params}:
        raise ValueError(
            f"the optimizer given ({opt!r}) updates other arrays than params, so training would "
            "change arrays loss_and_grad never reads: build it on these params, or pass its name."
        )
    steps_per_epoch = 1
    if n is not None and batch_size is not None and batch_size < n:
        steps_per_epoch = n // batch_size if drop_last else -(-n // batch_size)
    sched = make_schedule(schedule, opt, epochs * steps_per_epoch if schedule_per == "step"
                          else epochs)
    sched_metric = sched is not None and _wants_metric(sched)
    rng = numpy.random.default_rng(seed)

    losses, gnorms, lrs = [], [], []
    ep_loss, ep_step, metrics = [], [], {}
    scalar_eval = None

    def history() -> History:
        hist = History(loss=numpy.array(losses, dtype=float),
                       grad_norm=numpy.array(gnorms, dtype=float),
                       lr=numpy.array(lrs, dtype=float),
                       step=numpy.arange(1, len(losses) + 1), steps=len(losses),
                       epoch_loss=numpy.array(ep_loss, dtype=float),
                       epoch_step=numpy.array(ep_step, dtype=int),
                       metrics={k: numpy.array(v, dtype=float) for k, v in metrics.items()})
        if metrics:
            hist.eval = hist.metrics["eval"] if scalar_eval else next(iter(hist.metrics.values()))
        return hist

    limit = None
    bar = _bar(epochs * steps_per_epoch, progress, "train")
    stop = False
    try:
        for epoch in range(epochs):
            total, count = 0.0, 0
            batches = [None] if arrays is None else _batches(n, batch_size, shuffle, rng, drop_last)
            for idx in batches:
                if arrays is None:
                    batch = None
                else:
                    parts = tuple(_take(a, idx) for a in arrays)
                    batch = parts[0] if single else parts
                k = len(losses) + 1
                loss, grads = _call_loss_and_grad(loss_and_grad, params, batch)
                lr = _lr_of(opt)
                if not math.isfinite(loss):
                    bad = None if arrays is None else _non_finite_part(parts)
                    if bad is not None:
                        raise NonFiniteInputError(
                            f"the loss at step {k} is {loss} and the mini-batch of that step "
                            f"holds NaN or infinity in data[{bad}]: clean the data first "
                            "(e.g. keep the rows where np.isfinite(X).all(axis=1))."
                        )
                    if k == 1:
                        raise _first_loss_error(loss, "loss", "step 1")
                if limit is None and math.isfinite(loss):
                    limit = divergence_factor * max(1.0, abs(loss))
                if not math.isfinite(loss) or (limit is not None and loss > limit):
                    err = _divergence(loss, k, lr, opt, limit if limit is not None else math.inf)
                    err.history = history()
                    raise err
                gn = _global_norm(grads)
                if clip is not None:
                    _clip(grads, clip)
                try:
                    if kind == "grads+closure":      # SAM: the same batch, at other parameters
                        opt.step(grads, lambda b=batch: _clipped(_call_loss_and_grad(
                            loss_and_grad, params, b), clip))
                    else:
                        opt.step(grads)
                except GradientOverflowError as exc:
                    raise _overflow_error(exc, k, lr, opt, history,
                                          "your inputs or initial point give") from exc
                except NonFiniteGradientError as exc:
                    if k == 1:
                        raise NonFiniteInputError(
                            f"{exc} (The loss was {loss:.6g}.)"
                        ) from exc
                    err = _divergence(math.nan, k, lr, opt, limit, what="gradient")
                    err.history = history()
                    raise err from exc
                losses.append(loss)
                gnorms.append(gn)
                lrs.append(lr)
                if idx is None:
                    w = 1
                else:
                    w = idx.stop - idx.start if isinstance(idx, slice) else len(idx)
                total += loss * w  # the epoch loss weighs each batch by its size
                count += w
                if sched is not None and schedule_per == "step":
                    sched.step(loss) if sched_metric else sched.step()
                bar.update(1)
                if callback is not None and callback(k, loss) is True:
                    stop = True
                    break
            mean = total / max(count, 1)
            ep_loss.append(mean)
            ep_step.append(len(losses))
            if eval_fn is not None:
                out = eval_fn(params)
                if isinstance(out, dict):
                    scalar_eval = False
                    for name, v in out.items():
                        metrics.setdefault(name, []).append(float(v))
                else:
                    scalar_eval = True
                    metrics.setdefault("eval", []).append(float(out))
            if sched is not None and schedule_per == "epoch":
                sched.step(mean) if sched_metric else sched.step()
            bar.set_postfix_str(f"epoch {epoch + 1} loss={mean:.4g}")
            if stop:
                break
    finally:
        bar.close()
    return history()

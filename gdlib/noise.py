r"""The gradient noise scale and the critical batch size (McCandlish et al. 2018).

A mini-batch gradient :math:`G_B` of :math:`B` examples drawn independently is
an unbiased estimate of the full gradient :math:`G` with covariance
:math:`\Sigma / B`, :math:`\Sigma` being the covariance of one example's gradient.
So

.. math:: \mathbb E\,\|G_B\|^2 = \|G\|^2 + \frac{\operatorname{tr}\Sigma}{B} .

The **simple noise scale**

.. math:: \mathcal B_{\rm simple} = \frac{\operatorname{tr}\Sigma}{\|G\|^2}

is the batch size at which the noise part equals the signal part. Below it a
bigger batch buys an almost proportional cut in steps (the *linear-scaling*
regime); far above it the gradient is nearly exact already and more examples per
step are wasted. McCandlish et al. (2018) show that the steps :math:`S` and
examples :math:`E` needed to reach a given loss trade off as
:math:`(S/S_{\min} - 1)(E/E_{\min} - 1) = 1`, i.e.
:math:`S(B) = S_{\min}(1 + \mathcal B_{\rm crit}/B)`, and that the critical
batch size :math:`\mathcal B_{\rm crit} = E_{\min}/S_{\min}` is about the noise
scale (exactly :math:`\operatorname{tr}(H\Sigma)/G^\top H G` for a quadratic
model with Hessian :math:`H`; :math:`\mathcal B_{\rm simple}` when :math:`H` is a
multiple of the identity).

Sources
-------
- S. McCandlish, J. Kaplan, D. Amodei and the OpenAI Dota team (2018), "An
  empirical model of large-batch training", arXiv:1812.06162: the noise scale,
  the S-E trade-off, and (Appendix A) the unbiased two-batch-size estimators
  used in :func:`noise_scale_from_batches`.
- C. J. Shallue, J. Lee, J. Antognini, J. Sohl-Dickstein, R. Frostig and G. E.
  Dahl (2019), "Measuring the effects of data parallelism on neural network
  training", JMLR 20: steps-to-target against batch size, the linear-scaling
  region and where it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from .backend import to_host

__all__ = ["NoiseScale", "noise_scale", "noise_scale_from_batches", "fit_critical_batch",
           "per_example_gradients", "steps_to_target", "batch_size_sweep"]


@dataclass
class NoiseScale:
    r"""An estimate of the gradient noise scale.

    Attributes
    ----------
    b_simple : float
        :math:`\operatorname{tr}\Sigma / \|G\|^2` (may be negative or infinite when
        the two estimates are too noisy to divide: average more measurements).
    trace : float
        The estimate of :math:`\operatorname{tr}\Sigma` (:math:`S` in the paper).
    grad_sq : float
        The estimate of :math:`\|G\|^2`.
    """

    b_simple: float
    trace: float
    grad_sq: float


def _ratio(trace: float, grad_sq: float) -> float:
    if grad_sq == 0.0:
        return math.inf if trace > 0 else math.nan
    return trace / grad_sq


def per_example_gradients(loss_and_grad, params, data):
    """Every example's gradient, flattened, one row each: an array of shape (n, d).

    Calls ``loss_and_grad(params, batch)`` on each row of ``data`` alone (a loop:
    fine for the course's small models; frameworks vectorize this).
    """
    n = len(data[0])
    rows = []
    for i in range(n):
        _, g = loss_and_grad(params, tuple(a[i:i + 1] for a in data))
        leaves = list(g.values()) if isinstance(g, dict) else (
            list(g) if isinstance(g, (list, tuple)) else [g])
        rows.append(numpy.concatenate([numpy.ravel(to_host(v)) for v in leaves]))
    return numpy.array(rows)


def noise_scale(per_example_grads, ddof: int = 1) -> NoiseScale:
    r"""The noise scale from per-example gradients.

    With :math:`g_1, \dots, g_n` the gradients of :math:`n` examples (rows),
    :math:`\bar g` their mean and :math:`\widehat{\operatorname{tr}\Sigma} =
    \sum_j \widehat{\operatorname{var}}(g_{\cdot j})` (``ddof=1``: unbiased),

    .. math:: \widehat{\|G\|^2} = \|\bar g\|^2 - \frac{\widehat{\operatorname{tr}\Sigma}}{n},

    the unbiased estimate of :math:`\|G\|^2` for examples drawn independently
    (the :math:`B = 1` and :math:`B = n` case of :func:`noise_scale_from_batches`).

    Parameters
    ----------
    per_example_grads : array of shape (n, d)
        One flattened gradient per row, ``n >= 2``.
    ddof : {0, 1}
        1 for the unbiased variance; 0 treats the rows as the whole population
        (the gradient of a finite data set, :math:`\bar g = G` exactly).

    Returns
    -------
    NoiseScale
    """
    g = numpy.asarray(to_host(per_example_grads), dtype=float)
    if g.ndim != 2:
        raise ValueError(f"per_example_grads must be a 2-D array (one gradient per row), got "
                         f"shape {g.shape}; flatten each example's gradient first.")
    if g.shape[0] < 2:
        raise ValueError(f"per_example_grads has {g.shape[0]} row(s): the noise needs at "
                         "least 2 examples.")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof!r}.")
    if not numpy.isfinite(g).all():
        raise ValueError("per_example_grads holds NaN or infinity.")
    n = g.shape[0]
    mean = g.mean(axis=0)
    trace = float(g.var(axis=0, ddof=ddof).sum())                 # tr(Sigma)
    grad_sq = float(mean @ mean) - (trace / n if ddof == 1 else 0.0)   # |G|^2
    return NoiseScale(_ratio(trace, grad_sq), trace, grad_sq)


def noise_scale_from_batches(sq_small, sq_big, b_small, b_big) -> NoiseScale:
    r"""The noise scale from squared gradient norms at two batch sizes (Appendix A).

    With :math:`|G_{B_s}|^2` and :math:`|G_{B_b}|^2` the squared norms of gradients
    averaged over :math:`B_s < B_b` examples,

    .. math::

        \widehat{\|G\|^2} = \frac{B_b |G_{B_b}|^2 - B_s |G_{B_s}|^2}{B_b - B_s}, \qquad
        \widehat{\operatorname{tr}\Sigma} = \frac{|G_{B_s}|^2 - |G_{B_b}|^2}{1/B_s - 1/B_b},

    both unbiased. When arrays of measurements are given, each estimate is
    averaged first and the ratio taken last, as McCandlish et al. recommend
    (the ratio of two noisy numbers is biased).

    Parameters
    ----------
    sq_small, sq_big : float or array
        Squared norms :math:`|G_{B_s}|^2` and :math:`|G_{B_b}|^2` (the same number of
        measurements).
    b_small, b_big : int
        The two batch sizes, ``1 <= b_small < b_big``.
    """
    for name, b in (("b_small", b_small), ("b_big", b_big)):
        if isinstance(b, bool) or not isinstance(b, (int, numpy.integer)) or b < 1:
            raise ValueError(f"{name} must be a batch size (an integer >= 1), got {b!r}.")
    if not b_small < b_big:
        raise ValueError(f"b_small={b_small} must be smaller than b_big={b_big} (swapped?).")
    small = numpy.atleast_1d(numpy.asarray(to_host(sq_small), dtype=float))
    big = numpy.atleast_1d(numpy.asarray(to_host(sq_big), dtype=float))
    if small.shape != big.shape:
        raise ValueError(f"sq_small has shape {small.shape} but sq_big {big.shape}: give the "
                         "same number of measurements at both batch sizes.")
    for name, a in (("sq_small", small), ("sq_big", big)):
        if not numpy.isfinite(a).all() or (a < 0).any():
            raise ValueError(f"{name} must hold finite squared norms >= 0.")
    grad_sq = float(((b_big * big - b_small * small) / (b_big - b_small)).mean())
    trace = float(((small - big) / (1.0 / b_small - 1.0 / b_big)).mean())
    return NoiseScale(_ratio(trace, grad_sq), trace, grad_sq)


def fit_critical_batch(batch_sizes, steps) -> tuple[float, float]:
    r"""Fit :math:`S(B) = S_{\min}(1 + \mathcal B_{\rm crit}/B)` to steps-to-target.

    The model is linear in :math:`1/B` (:math:`S = S_{\min} + S_{\min}\mathcal B_{\rm crit}/B`);
    it is fitted by least squares on the *relative* error (each point weighted
    by :math:`1/S`), so the small steps of big batches count as much as the many
    steps of small ones.

    Parameters
    ----------
    batch_sizes, steps : arrays of the same length (>= 2)
        Batch sizes and the (best) number of steps each needed to reach the target.

    Returns
    -------
    (s_min, b_crit) : floats
        The fewest steps any batch size can reach the target in, and the batch
        size where :math:`S = 2 S_{\min}` (the bend of the log-log curve).
    """
    b = numpy.asarray(batch_sizes, dtype=float)
    s = numpy.asarray(steps, dtype=float)
    if b.ndim != 1 or b.shape != s.shape or b.size < 2:
        raise ValueError("batch_sizes and steps must be 1-D arrays of the same length >= 2, got "
                         f"shapes {b.shape} and {s.shape}.")
    finite = numpy.isfinite(b).all() and numpy.isfinite(s).all()
    if not finite or (b <= 0).any() or (s <= 0).any():
        raise ValueError("batch_sizes and steps must be finite and > 0 (leave out batch sizes "
                         "that never reached the target).")
    A = numpy.stack([numpy.ones_like(b), 1.0 / b], axis=1) / s[:, None]
    (s_min, slope), *_ = numpy.linalg.lstsq(A, numpy.ones_like(s), rcond=None)
    return float(s_min), float(slope / s_min)


def steps_to_target(loss_and_grad, params, data, target, batch_size, lr, max_steps,
                    optimizer="sgd", seed=0, **hyper) -> float:
    """Optimizer steps until the full-data loss first reaches ``target`` (inf if never).

    Trains a *copy* of ``params`` with :func:`gdlib.train.train` and checks the
    loss over all of ``data`` after every step (Shallue et al. 2019's
    "steps to result"); a run that diverges or needs more than ``max_steps``
    counts as infinite.

    Parameters
    ----------
    loss_and_grad : callable
        ``(params, batch) -> (loss, grads)``, the batch mean.
    params : dict of arrays
        The starting point (not changed).
    data : tuple of arrays
    target : float
    batch_size : int
    lr : float
    max_steps : int
    optimizer : str, default "sgd"
    seed : int
        The shuffling seed.
    **hyper
        More arguments for :func:`gdlib.train.train` (``schedule=``, ``betas=``...).
    """
    from .errors import DivergenceError
    from .train import train

    p = {k: v.copy() for k, v in params.items()}
    n = len(data[0])
    hit = []

    def reached(step, loss):
        if loss_and_grad(p, data)[0] <= target:
            hit.append(step)
            return True
        return step >= max_steps

    epochs = -(-max_steps * batch_size // n) + 1
    hyper.setdefault("progress", False)     # one short run: a sweep shows its own bar
    try:
        train(p, loss_and_grad, optimizer, data=data, batch_size=batch_size, epochs=epochs,
              lr=lr, callback=reached, seed=seed, **hyper)
    except DivergenceError:
        return math.inf
    return float(hit[0]) if hit else math.inf


def batch_size_sweep(loss_and_grad, params, data, target, batch_sizes, lrs, max_steps,
                     seed=0, progress=None) -> dict:
    """The fewest steps to ``target`` at each batch size, each with its best learning rate.

    For each batch size (smallest first) the learning rates of ``lrs`` (sorted) are
    tried upwards from one grid point below the previous batch size's best
    (the best rate grows with the batch, McCandlish et al. 2018), until the steps
    get worse again; a run is cut at the previous best count (a bigger batch
    never needs more steps at its best rate).

    Returns
    -------
    dict
        ``batch_sizes``, ``steps`` (best per batch size, inf where none reached the
        target), ``best_lr``, and ``tried``: a dict ``(batch_size, lr) -> steps``.
    """
    lrs = numpy.sort(numpy.asarray(lrs, dtype=float))
    from .train import _bar

    bar = _bar(len(batch_sizes), progress, "batch sizes")
    best, best_lr, tried = [], [], {}
    start, cap = 0, max_steps
    try:
        for b in batch_sizes:
            results = []
            for j in range(start, len(lrs)):
                s = steps_to_target(loss_and_grad, params, data, target, int(b), float(lrs[j]),
                                    cap, seed=seed)
                tried[(int(b), float(lrs[j]))] = s
                results.append((s, j))
                if len(results) >= 2 and s > min(r[0] for r in results) and math.isfinite(
                        min(r[0] for r in results)):
                    break                               # past the best rate
            s, j = min(results)
            best.append(s)
            best_lr.append(float(lrs[j]) if math.isfinite(s) else math.nan)
            if math.isfinite(s):
                start, cap = max(j - 1, 0), int(s)
            bar.update(1)
    finally:
        bar.close()
    return {"batch_sizes": numpy.asarray(batch_sizes), "steps": numpy.array(best),
            "best_lr": numpy.array(best_lr), "tried": tried}

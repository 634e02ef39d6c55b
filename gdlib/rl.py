r"""Policy gradients: gradient *ascent* on the expected reward.

A stochastic policy :math:`\pi_\theta(a \mid s)` picks actions; the objective is the
expected (discounted) return

.. math:: J(\theta) = \mathbb E_{\tau \sim \pi_\theta}\Big[\sum_{t} \gamma^t r_t\Big].

The log-derivative trick, :math:`\nabla_\theta \pi = \pi\,\nabla_\theta \log \pi`, turns
its gradient into an expectation that episodes can sample (the policy-gradient
theorem):

.. math:: \nabla_\theta J = \mathbb E\Big[\sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)
          \,\big(G_t - b(s_t)\big)\Big], \qquad G_t = \sum_{k \ge t} \gamma^{k-t} r_k,

where any baseline :math:`b` that does not depend on the action leaves the expectation
unchanged and can shrink the variance. REINFORCE (Williams 1992) ascends this
estimate; here it is written as *descent* on the surrogate loss
:math:`-\frac1N \sum_i A_i \log \pi_\theta(a_i \mid s_i)` so that
:func:`gdlib.train.train`, the course's one loop, runs it.

What is here: :func:`returns_to_go`, :func:`sample_softmax`, :func:`reinforce_loss`
(the surrogate and its gradient for the logits of a softmax policy),
:func:`advantages`, :func:`running_baseline`, :class:`GaussianBandit`, :func:`rollout`
and :func:`evaluate` for Gymnasium environments, and :func:`reinforce`, which trains a
:mod:`gdlib.nn` policy.

Sources
-------
- R. J. Williams (1992), "Simple statistical gradient-following algorithms for
  connectionist reinforcement learning", Machine Learning 8, 229-256: REINFORCE and
  the baseline.
- R. S. Sutton, D. McAllester, S. Singh and Y. Mansour (2000), "Policy gradient
  methods for reinforcement learning with function approximation", NeurIPS 12:
  the policy-gradient theorem.
- A. G. Barto, R. S. Sutton and C. W. Anderson (1983), "Neuronlike adaptive
  elements that can solve difficult learning control problems", IEEE Trans. SMC 13(5),
  834-846: the cart-pole task.
- M. Towers et al. (2024), "Gymnasium: a standard interface for reinforcement
  learning environments", arXiv:2407.17032: the environment API used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from .backend import array_module, asarray, to_host
from .optim.base import check_int, check_real

__all__ = [
    "returns_to_go",
    "sample_softmax",
    "reinforce_loss",
    "advantages",
    "running_baseline",
    "GaussianBandit",
    "Episode",
    "rollout",
    "evaluate",
    "reinforce",
]


def _check_gamma(gamma) -> float:
    return check_real("gamma", gamma, low=0.0, high=1.0)


def returns_to_go(rewards, gamma: float = 1.0) -> numpy.ndarray:
    r"""The discounted return from each step to the end of the episode.

    .. math:: G_t = \sum_{k=t}^{T-1} \gamma^{k-t} r_k = r_t + \gamma\, G_{t+1},
              \qquad G_T = 0,

    computed backwards in one pass.

    Parameters
    ----------
    rewards : array_like of shape (T,)
        The rewards :math:`r_0, \dots, r_{T-1}` of one episode.
    gamma : float in [0, 1], default 1
        The discount factor :math:`\gamma`.

    Returns
    -------
    ndarray of shape (T,)
        :math:`G_0, \dots, G_{T-1}` (float64, on the host).

    Examples
    --------
    >>> returns_to_go([1.0, 1.0, 1.0], gamma=0.5).tolist()
    [1.75, 1.5, 1.0]
    """
    gamma = _check_gamma(gamma)
    r = numpy.asarray(to_host(rewards), dtype=float)
    if r.ndim != 1:
        raise ValueError(f"rewards must be 1-D (one episode), got shape {r.shape}.")
    if not numpy.isfinite(r).all():
        raise ValueError("rewards holds NaN or infinity.")
    out = numpy.empty_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running       # G_t = r_t + γ G_{t+1}
        out[t] = running
    return out


def sample_softmax(logits, rng) -> numpy.ndarray:
    r"""One action per row, drawn from :math:`\pi = \mathrm{softmax}(\text{logits})`.

    Inverse-CDF sampling: with :math:`u \sim U(0, 1)` the action is the first
    :math:`a` whose cumulative probability exceeds :math:`u`.

    Parameters
    ----------
    logits : array of shape (N, A)
    rng : numpy.random.Generator
        The random numbers are drawn on the host, so CPU and GPU runs agree.

    Returns
    -------
    ndarray of int, shape (N,)
    """
    from .nn import softmax

    if not isinstance(rng, numpy.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}: "
                        "use numpy.random.default_rng(seed).")
    p = to_host(softmax(asarray(logits), axis=-1)).astype(float)
    if p.ndim != 2:
        raise ValueError(f"logits must have shape (N, A), got {p.shape}.")
    u = rng.random((p.shape[0], 1))
    a = (u < numpy.cumsum(p, axis=1)).argmax(axis=1)
    return a


def reinforce_loss(logits, actions, weights):
    r"""REINFORCE's surrogate loss for a softmax policy, and its gradient for the logits.

    .. math:: L = -\frac1N \sum_{i=1}^N A_i \log \pi(a_i \mid s_i), \qquad
              \frac{\partial L}{\partial z_{ij}} = \frac{A_i}{N}\big(\pi_{ij} - [j = a_i]\big),

    with :math:`\pi_i = \mathrm{softmax}(z_i)`. Descending :math:`L` ascends the
    policy-gradient estimate :math:`\frac1N\sum_i A_i \nabla\log\pi(a_i\mid s_i)`
    (Williams 1992); the weights :math:`A_i` are returns or advantages and carry
    no gradient.

    Parameters
    ----------
    logits : array of shape (N, A)
        The policy's scores :math:`z_i` for each visited state.
    actions : array of int, shape (N,)
        The actions taken, in ``0 .. A-1``.
    weights : array of shape (N,)
        :math:`A_i`: returns-to-go, or returns minus a baseline.

    Returns
    -------
    loss : float
    dlogits : array of shape (N, A)
        On the backend of ``logits``, in its dtype.
    """
    from .nn import log_softmax

    z = asarray(logits)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, A), got {tuple(z.shape)}.")
    n, n_actions = z.shape
    a = numpy.asarray(to_host(actions))
    if a.shape != (n,):
        raise ValueError(f"actions must have shape ({n},) to match logits {tuple(z.shape)}, "
                         f"got {a.shape}.")
    if a.dtype.kind not in "iu" or (n and (a.min() < 0 or a.max() >= n_actions)):
        raise ValueError(f"actions must be whole numbers in 0..{n_actions - 1}, got {a!r}.")
    w = numpy.asarray(to_host(weights), dtype=float)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},) to match logits, got {w.shape}.")
    if not numpy.isfinite(w).all():
        raise ValueError("weights holds NaN or infinity.")
    mod = array_module(z)
    logp = log_softmax(z, axis=-1)
    rows = mod.arange(n)
    a_dev, w_dev = asarray(a), asarray(w).astype(z.dtype)
    loss = -float((w_dev * logp[rows, a_dev]).sum()) / max(n, 1)
    d = mod.exp(logp)                                  # π
    d[rows, a_dev] -= 1.0                              # π - onehot(a)
    d *= (w_dev / max(n, 1))[:, None]                  # times A_i / N
    return loss, d


def advantages(returns, baseline: str | None = "mean", normalize: bool = True):
    r"""Weights for :func:`reinforce_loss` from the returns-to-go of a batch.

    Parameters
    ----------
    returns : array_like of shape (N,)
        The returns-to-go :math:`G_i` of every step in the batch.
    baseline : {"mean", None}
        ``"mean"`` subtracts the batch mean :math:`b = \bar G` (a constant baseline:
        it leaves the gradient's expectation unchanged and lowers its variance);
        ``None`` keeps :math:`G_i`.
    normalize : bool, default True
        Divide by the standard deviation as well (a per-batch step-size scale, common
        practice, not part of Williams's estimator).

    Returns
    -------
    ndarray of shape (N,)
    """
    g = numpy.asarray(to_host(returns), dtype=float)
    if baseline not in ("mean", None):
        raise ValueError(f"baseline must be 'mean' or None, got {baseline!r}.")
    out = g - g.mean() if baseline == "mean" and g.size else g.copy()
    if normalize and g.size > 1:
        out /= out.std() + 1e-8
    return out


def running_baseline(rewards, alpha: float, b0: float = 0.0):
    r"""Advantages against a running-mean baseline, updated after each use.

    .. math:: A_t = r_t - b_{t-1}, \qquad b_t = b_{t-1} + \alpha\,(r_t - b_{t-1})

    The baseline :math:`b_{t-1}` is computed from earlier rewards only, so it does
    not depend on the action of step :math:`t` and the estimate stays unbiased
    (Williams 1992, section 4, "reinforcement comparison").

    Parameters
    ----------
    rewards : array_like of shape (T,) or (T, S)
        Rewards in the order they came (S independent runs side by side).
    alpha : float in [0, 1]
        The step size of the running mean.
    b0 : float or array of shape (S,), default 0
        The baseline before the first reward.

    Returns
    -------
    advantages : ndarray like ``rewards``
    b : float or ndarray of shape (S,)
        The baseline after the last reward.
    """
    alpha = check_real("alpha", alpha, low=0.0, high=1.0)
    r = numpy.asarray(to_host(rewards), dtype=float)
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards must have shape (T,) or (T, S), got {r.shape}.")
    b = numpy.array(to_host(b0), dtype=float) * numpy.ones(r.shape[1:])
    out = numpy.empty_like(r)
    for t in range(len(r)):
        out[t] = r[t] - b                      # A_t = r_t - b_{t-1}
        b = b + alpha * (r[t] - b)             # then b_t = b_{t-1} + α (r_t - b_{t-1})
    return out, (float(b) if b.ndim == 0 else b)


class GaussianBandit:
    r"""A multi-armed bandit: arm :math:`a` pays :math:`r \sim \mathcal N(\mu_a, \sigma^2)`.

    Parameters
    ----------
    means : array_like of shape (K,)
        The arms' expected rewards :math:`\mu_a`.
    std : float, default 1
        The reward noise :math:`\sigma \ge 0`.

    Attributes
    ----------
    best_arm : int
        :math:`\arg\max_a \mu_a`.
    """

    def __init__(self, means, std: float = 1.0):
        means = numpy.asarray(means, dtype=float)
        if means.ndim != 1 or means.size < 2:
            raise ValueError(f"means must be a 1-D array of at least 2 arms, got {means!r}.")
        if not numpy.isfinite(means).all():
            raise ValueError("means holds NaN or infinity.")
        self.means = means
        self.std = check_real("std", std, low=0.0)
        self.best_arm = int(numpy.argmax(means))

    @property
    def n_arms(self) -> int:
        return self.means.size

    def pull(self, arms, rng) -> numpy.ndarray:
        """The rewards of pulling ``arms`` (an int or an int array), drawn with ``rng``."""
        arms = numpy.asarray(arms)
        if arms.dtype.kind not in "iu" or arms.min() < 0 or arms.max() >= self.n_arms:
            raise ValueError(f"arms must be whole numbers in 0..{self.n_arms - 1}, got {arms!r}.")
        return self.means[arms] + self.std * rng.standard_normal(arms.shape)

    def __repr__(self) -> str:
        return f"GaussianBandit(means={self.means.tolist()}, std={self.std})"


@dataclass
class Episode:
    """One episode: ``observations`` (T, obs_dim), ``actions`` (T,), ``rewards`` (T,)."""

    observations: numpy.ndarray
    actions: numpy.ndarray
    rewards: numpy.ndarray

    @property
    def total(self) -> float:
        """The undiscounted return :math:`\\sum_t r_t`."""
        return float(self.rewards.sum())

    def __len__(self) -> int:
        return len(self.rewards)


def _as_env_list(envs) -> list:
    envs = list(envs) if isinstance(envs, (list, tuple)) else [envs]
    if not envs:
        raise ValueError("envs is empty: give a Gymnasium environment or a list of them.")
    for i, e in enumerate(envs):
        if not (hasattr(e, "reset") and hasattr(e, "step")):
            raise TypeError(f"envs[{i}] is a {type(e).__name__}, not a Gymnasium environment "
                            "(it needs reset() and step()); make one with gymnasium.make(...).")
    return envs


def rollout(envs, policy, seed: int | None = None, max_steps: int | None = None) -> list:
    """Play one episode in each environment, in lock-step, with a batched policy.

    Parameters
    ----------
    envs : gymnasium.Env or list of them
        Environments with the Gymnasium API: ``reset(seed=...) -> (obs, info)`` and
        ``step(action) -> (obs, reward, terminated, truncated, info)``.
    policy : callable
        ``policy(observations) -> actions``: observations of shape (B, obs_dim) for
        the B environments still running, one int action per row.
    seed : int, optional
        Environment ``i`` is reset with ``seed + i`` (reproducible episodes);
        ``None`` continues each environment's own random stream.
    max_steps : int, optional
        Cut episodes at this length (the environment's own time limit applies too).

    Returns
    -------
    list of Episode
        One per environment, in order.
    """
    envs = _as_env_list(envs)
    if not callable(policy):
        raise TypeError(f"policy must be a function observations -> actions, got "
                        f"{type(policy).__name__}.")
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, minimum=1)
    obs = []
    for i, e in enumerate(envs):
        o, _ = e.reset(seed=None if seed is None else seed + i)
        obs.append(numpy.asarray(o, dtype=float))
    traj = [([], [], []) for _ in envs]
    running = list(range(len(envs)))
    steps = 0
    while running and (max_steps is None or steps < max_steps):
        batch = numpy.stack([obs[i] for i in running])
        acts = numpy.asarray(to_host(policy(batch)))
        if acts.shape != (len(running),):
            raise ValueError(f"policy returned actions of shape {acts.shape} for "
                             f"{len(running)} observations; return one int per row.")
        still = []
        for i, a in zip(running, acts):
            o, r, terminated, truncated, _ = envs[i].step(int(a))
            traj[i][0].append(obs[i])
            traj[i][1].append(int(a))
            traj[i][2].append(float(r))
            obs[i] = numpy.asarray(o, dtype=float)
            if not (terminated or truncated):
                still.append(i)
        running = still
        steps += 1
    return [Episode(numpy.array(o, dtype=float).reshape(len(o), -1), numpy.array(a, dtype=int),
                    numpy.array(r, dtype=float)) for o, a, r in traj]


def _greedy_or_sampled(model, greedy: bool, rng):
    dtype = _dtype(model)

    def policy(observations):
        logits = model(asarray(observations).astype(dtype))
        if greedy:
            return to_host(logits.argmax(axis=-1))
        return sample_softmax(logits, rng)
    return policy


def _dtype(model):
    for p in model.parameters().values():
        return p.dtype
    return numpy.float64


def evaluate(envs, model, episodes: int = 100, seed: int = 10_000, greedy: bool = True,
             max_steps: int | None = None) -> numpy.ndarray:
    """The returns of ``episodes`` episodes played by a softmax policy network.

    Parameters
    ----------
    envs : gymnasium.Env or list of them
        Played in rounds of ``len(envs)`` episodes (seeds ``seed``, ``seed + 1``, ...).
    model : gdlib.nn.Module
        Maps observations (B, obs_dim) to logits (B, A).
    episodes : int, default 100
    seed : int, default 10000
        Seed of the first episode; keep it apart from the training seeds.
    greedy : bool, default True
        Take the most probable action (True) or sample from the policy (False).

    Returns
    -------
    ndarray of shape (episodes,)
        The undiscounted return of each episode.
    """
    envs = _as_env_list(envs)
    episodes = check_int("episodes", episodes, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    rng = numpy.random.default_rng(seed)
    policy = _greedy_or_sampled(model, greedy, rng)
    out: list[float] = []
    start = seed
    while len(out) < episodes:
        batch = envs[: episodes - len(out)]
        out += [ep.total for ep in rollout(batch, policy, seed=start, max_steps=max_steps)]
        start += len(batch)
    return numpy.array(out)


def reinforce(model, envs, iterations: int = 100, optimizer="adam", gamma: float = 0.99,
              baseline: str | None = "mean", normalize: bool = True, seed: int = 0,
              progress=None, callback=None, **hyper):
    r"""Train a softmax policy network with REINFORCE, through :func:`gdlib.train.train`.

    Each iteration plays one episode per environment (:func:`rollout`, sampling from
    the policy), computes the returns-to-go :math:`G_t` (:func:`returns_to_go`) and the
    weights :math:`A_t` (:func:`advantages`), then one forward and one backward pass of
    ``model`` over every visited state give the gradient of
    :func:`reinforce_loss`, and the optimizer takes one step.

    Parameters
    ----------
    model : gdlib.nn.Module
        Observations (B, obs_dim) to logits (B, A).
    envs : gymnasium.Env or list of them
        One episode per environment and iteration: the batch size.
    iterations : int, default 100
        Optimizer steps (one :func:`gdlib.train.train` epoch each).
    optimizer : str, Optimizer class or Optimizer, default "adam"
    gamma : float, default 0.99
    baseline, normalize
        See :func:`advantages`.
    seed : int, default 0
        Seeds the action sampling and the episodes (iteration ``k`` resets its
        environments with seeds ``seed + k * len(envs) + i``).
    progress : bool, optional
        Progress bar (see :func:`gdlib.train.train`).
    callback : callable, optional
        ``callback(iteration, episodes)`` after each iteration; ``True`` stops.
    **hyper
        For the optimizer (``lr=...``).

    Returns
    -------
    returns : ndarray of shape (iterations, len(envs))
        The undiscounted return of every training episode.
    history : gdlib.train.History
        :func:`gdlib.train.train`'s record; its ``loss`` is minus the mean return of
        each iteration (:math:`-\hat J`, the quantity descended).
    """
    from .train import train

    envs = _as_env_list(envs)
    iterations = check_int("iterations", iterations, minimum=1)
    gamma = _check_gamma(gamma)
    seed = check_int("seed", seed, minimum=0)
    advantages([0.0], baseline, normalize)            # validates baseline early
    rng = numpy.random.default_rng(seed)
    policy = _greedy_or_sampled(model, False, rng)
    params = model.parameters()
    grads = model.gradients()
    totals: list[list[float]] = []

    def loss_and_grad(_params, _batch):
        k = len(totals)
        episodes = rollout(envs, policy, seed=seed + k * len(envs))
        totals.append([ep.total for ep in episodes])
        obs = numpy.concatenate([ep.observations for ep in episodes])
        acts = numpy.concatenate([ep.actions for ep in episodes])
        g = numpy.concatenate([returns_to_go(ep.rewards, gamma) for ep in episodes])
        weights = advantages(g, baseline, normalize)
        model.zero_grad()
        logits = model(asarray(obs).astype(_dtype(model)))
        _, dlogits = reinforce_loss(logits, acts, weights)
        model.backward(dlogits)
        if callback is not None and callback(k + 1, episodes) is True:
            stop[0] = True
        return -float(numpy.mean(totals[-1])), grads

    stop = [False]
    hist = train(params, loss_and_grad, optimizer, epochs=iterations, seed=seed,
                 progress=progress, callback=lambda step, loss: stop[0], **hyper)
    return numpy.array(totals), hist

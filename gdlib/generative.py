r"""Generative models as optimisation problems: games, diffusion, latent spaces.

Three ideas of the last decade, each a gradient-descent story:

- **GANs are games** (Goodfellow et al., 2014). A generator :math:`G` and a
  discriminator :math:`D` optimise *different* losses, so training is not
  descent on one function but a search for an equilibrium of
  :math:`\min_x \max_y f(x, y)`. On the bilinear game :math:`f = x^\top A y`
  simultaneous gradient descent-ascent spirals away from the equilibrium, the
  alternating form cycles, and the extragradient method (Korpelevich, 1976) and
  optimistic gradient (Popov, 1980; Daskalakis et al., 2018) converge:
  :func:`simultaneous_gda`, :func:`alternating_gda`, :func:`extragradient`,
  :func:`optimistic_gda`. :class:`GAN` trains a small GAN on 2-D data through
  :func:`gdlib.train.train`, and :func:`mode_coverage` counts the modes it found.
- **Diffusion** (Sohl-Dickstein et al., 2015; Ho et al., 2020): noise the data
  step by step with :func:`q_sample`, train a network to predict the noise
  (denoising score matching, Vincent, 2011), and sample by running the noising
  backwards (:class:`Diffusion`). :func:`sliced_wasserstein` measures how far the
  samples are from the data.
- **Latent spaces** (Kingma and Welling, 2014): a variational autoencoder
  (:class:`VAE`) with the reparameterisation trick (:class:`Reparameterize`) and
  the Gaussian KL term (:class:`GaussianKL`), each with an explicit backward pass.

Every network is a :mod:`gdlib.nn` model and every training run goes through
:func:`gdlib.train.train`.
"""

from __future__ import annotations

import math

import numpy

from . import nn
from .backend import array_module, asarray, to_host, xp
from .nn.layers import check_dout, check_finite, sigmoid
from .nn.module import Module, resolve_dtype
from .optim.base import check_int, check_positive, check_real

__all__ = [
    "BilinearGame", "gda_step", "alternating_step", "extragradient_step", "optimistic_step",
    "simultaneous_gda", "alternating_gda", "extragradient", "optimistic_gda",
    "ring_of_gaussians", "mode_coverage", "GAN", "mlp",
    "linear_betas", "alpha_bars", "q_sample", "time_embedding", "Diffusion",
    "wasserstein_1d", "sliced_wasserstein",
    "Reparameterize", "GaussianKL", "VAE",
]


# ----------------------------------------------------------------------------
# Games


def _vector(name: str, v) -> numpy.ndarray:
    a = numpy.array(to_host(v) if hasattr(v, "shape") else v, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}.")
    if not numpy.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinity.")
    return a


class BilinearGame:
    r"""The bilinear game :math:`\min_x \max_y f(x, y) = x^\top A y`.

    Its gradients are :math:`\nabla_x f = A y` and :math:`\nabla_y f = A^\top x`;
    for an invertible :math:`A` the only equilibrium is :math:`(0, 0)`. With
    :math:`A = [[1]]` it is the 2-D example :math:`f(x, y) = xy`.

    Parameters
    ----------
    A : array of shape (n, m)
    """

    def __init__(self, A):
        A = numpy.array(A, dtype=float)
        if A.ndim == 0:
            A = A.reshape(1, 1)
        if A.ndim != 2 or A.size == 0:
            raise ValueError(f"A must be a non-empty matrix (n, m), got shape {A.shape}.")
        if not numpy.isfinite(A).all():
            raise ValueError("A holds NaN or infinity.")
        self.A = A

    def __call__(self, x, y) -> float:
        return float(numpy.asarray(x) @ self.A @ numpy.asarray(y))

    def grad_x(self, x, y):
        """:math:`\\nabla_x f = A y` (the minimising player's gradient)."""
        return self.A @ y

    def grad_y(self, x, y):
        """:math:`\\nabla_y f = A^\\top x` (the maximising player's gradient)."""
        return self.A.T @ x

    @property
    def singular_values(self) -> numpy.ndarray:
        """The singular values :math:`\\sigma_i` of ``A``, which set every rate."""
        return numpy.linalg.svd(self.A, compute_uv=False)

    def distance(self, trajectory) -> numpy.ndarray:
        """Distance of each row ``[x, y]`` of a trajectory to the equilibrium (0, 0)."""
        return numpy.linalg.norm(numpy.asarray(trajectory), axis=-1)

    def __repr__(self) -> str:
        return f"BilinearGame(A of shape {self.A.shape})"


def gda_step(x, y, grad_x, grad_y, lr):
    r"""One step of simultaneous gradient descent-ascent.

    .. math:: x_{t+1} = x_t - \eta\nabla_x f(x_t, y_t), \qquad
              y_{t+1} = y_t + \eta\nabla_y f(x_t, y_t)
    """
    return x - lr * grad_x(x, y), y + lr * grad_y(x, y)


def alternating_step(x, y, grad_x, grad_y, lr):
    r"""One step of alternating descent-ascent: ``y`` answers the *new* ``x``.

    .. math:: x_{t+1} = x_t - \eta\nabla_x f(x_t, y_t), \qquad
              y_{t+1} = y_t + \eta\nabla_y f(x_{t+1}, y_t)
    """
    x_new = x - lr * grad_x(x, y)
    return x_new, y + lr * grad_y(x_new, y)


def extragradient_step(x, y, grad_x, grad_y, lr):
    r"""One step of the extragradient method (Korpelevich, 1976).

    Look ahead with a descent-ascent step, then step *from the old point* with
    the gradients at the look-ahead point:

    .. math:: \tilde x = x - \eta\nabla_x f(x, y),\ \tilde y = y + \eta\nabla_y f(x, y);
              \quad x^+ = x - \eta\nabla_x f(\tilde x, \tilde y),\
              y^+ = y + \eta\nabla_y f(\tilde x, \tilde y).
    """
    x_half, y_half = x - lr * grad_x(x, y), y + lr * grad_y(x, y)
    return x - lr * grad_x(x_half, y_half), y + lr * grad_y(x_half, y_half)


def optimistic_step(x, y, grad_x, grad_y, lr, previous=None):
    r"""One step of optimistic gradient descent-ascent (Popov, 1980; Daskalakis et al., 2018).

    The step extrapolates with the last gradient instead of computing a second one:

    .. math:: x_{t+1} = x_t - 2\eta g^x_t + \eta g^x_{t-1}, \qquad
              y_{t+1} = y_t + 2\eta g^y_t - \eta g^y_{t-1}.

    Parameters
    ----------
    previous : (gx, gy) or None
        The gradients of the previous step; ``None`` at the first step (then it
        is a plain descent-ascent step).

    Returns
    -------
    x_new, y_new, (gx, gy)
        The new point and this step's gradients, to pass as ``previous`` next time.
    """
    gx, gy = grad_x(x, y), grad_y(x, y)
    px, py = previous if previous is not None else (gx, gy)
    return x - lr * (2 * gx - px), y + lr * (2 * gy - py), (gx, gy)


def _run(step, game, x0, y0, lr, steps, stateful=False) -> numpy.ndarray:
    if not (callable(getattr(game, "grad_x", None)) and callable(getattr(game, "grad_y", None))):
        raise TypeError(f"game must have grad_x(x, y) and grad_y(x, y), got {game!r}; "
                        "use BilinearGame(A).")
    x, y = _vector("x0", x0), _vector("y0", y0)
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=0)
    rows = [numpy.concatenate([x, y])]
    previous = None
    for _ in range(steps):
        if stateful:
            x, y, previous = step(x, y, game.grad_x, game.grad_y, lr, previous)
        else:
            x, y = step(x, y, game.grad_x, game.grad_y, lr)
        rows.append(numpy.concatenate([x, y]))
    return numpy.array(rows)


def simultaneous_gda(game, x0, y0, lr, steps) -> numpy.ndarray:
    """Run :func:`gda_step`; return the trajectory, shape ``(steps + 1, n + m)``, rows ``[x, y]``.

    On the bilinear game each singular direction is rotated and stretched by
    :math:`\\sqrt{1 + \\eta^2\\sigma^2}` per step: the iterates spiral *out*.
    """
    return _run(gda_step, game, x0, y0, lr, steps)


def alternating_gda(game, x0, y0, lr, steps) -> numpy.ndarray:
    """Run :func:`alternating_step`; the trajectory as in :func:`simultaneous_gda`.

    On the bilinear game with :math:`\\eta\\sigma < 2` the iterates stay on a
    closed orbit: bounded, but they never converge.
    """
    return _run(alternating_step, game, x0, y0, lr, steps)


def extragradient(game, x0, y0, lr, steps) -> numpy.ndarray:
    """Run :func:`extragradient_step`; the trajectory as in :func:`simultaneous_gda`.

    On the bilinear game with :math:`\\eta\\sigma < 1` the distance to the
    equilibrium shrinks by :math:`\\sqrt{1 - \\eta^2\\sigma^2 + \\eta^4\\sigma^4}` per step.
    """
    return _run(extragradient_step, game, x0, y0, lr, steps)


def optimistic_gda(game, x0, y0, lr, steps) -> numpy.ndarray:
    """Run :func:`optimistic_step`; the trajectory as in :func:`simultaneous_gda`.

    Converges linearly on the bilinear game for small enough :math:`\\eta\\sigma`
    (Daskalakis et al., 2018; Mokhtari et al., 2020).
    """
    return _run(optimistic_step, game, x0, y0, lr, steps, stateful=True)


# ----------------------------------------------------------------------------
# 2-D data and mode counting


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      seed=0):
    """``n`` points from ``modes`` Gaussians evenly spaced on a circle (Metz et al., 2017).

    Returns
    -------
    X : ndarray of shape (n, 2)
    centres : ndarray of shape (modes, 2)
    """
    n = check_int("n", n, minimum=1)
    modes = check_int("modes", modes, minimum=1)
    radius = check_positive("radius", radius)
    std = check_positive("std", std)
    gen = numpy.random.default_rng(seed)
    angles = 2 * numpy.pi * numpy.arange(modes) / modes
    centres = radius * numpy.stack([numpy.cos(angles), numpy.sin(angles)], axis=1)
    which = gen.integers(0, modes, size=n)
    return centres[which] + std * gen.standard_normal((n, 2)), centres


def mode_coverage(samples, centres, std: float, k: int = 20, within: float = 3.0) -> dict:
    r"""How many modes a generator covers and how good its samples are.

    A sample is of **high quality** when it lies within ``within`` standard
    deviations of its nearest centre; a mode is **covered** when at least ``k``
    high-quality samples are nearest to it (Srivastava et al., 2017, VEEGAN;
    Metz et al., 2017, unrolled GANs, count the same way).

    Returns
    -------
    dict
        ``modes`` (int, covered modes), ``high_quality`` (fraction of samples),
        ``counts`` (ndarray: high-quality samples per mode).
    """
    S = numpy.asarray(to_host(samples), dtype=float)
    C = numpy.asarray(centres, dtype=float)
    if S.ndim != 2 or C.ndim != 2 or S.shape[1] != C.shape[1]:
        raise ValueError(f"samples (N, d) and centres (K, d) must agree in d; got samples "
                         f"{S.shape} and centres {C.shape}.")
    std = check_positive("std", std)
    k = check_int("k", k, minimum=1)
    within = check_positive("within", within)
    d = numpy.linalg.norm(S[:, None, :] - C[None, :, :], axis=-1)
    nearest = d.argmin(axis=1)
    good = d[numpy.arange(len(S)), nearest] <= within * std
    counts = numpy.bincount(nearest[good], minlength=len(C))
    return {"modes": int((counts >= k).sum()),
            "high_quality": float(good.mean()) if len(S) else 0.0, "counts": counts}


def mlp(sizes, activation="relu", rng=None, dtype=None) -> nn.Sequential:
    """A multi-layer perceptron ``Dense -> act -> ... -> Dense`` with the given widths."""
    sizes = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes}.")
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2)}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}.")
    gen = numpy.random.default_rng(rng)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Dense(a, b, rng=gen, dtype=dtype,
                               init="he" if activation != "tanh" else "glorot"))
        if i < len(sizes) - 2:
            layers.append(acts[activation]())
    return nn.Sequential(*layers)


class GAN:
    r"""A generative adversarial network on vectors (Goodfellow et al., 2014).

    The discriminator :math:`D` (logits) minimises the cross-entropy of telling
    data from samples; the generator uses the **non-saturating** loss
    :math:`-\log\sigma(D(G(z)))` of the same paper, whose gradient does not
    vanish when :math:`D` wins. Both players take their step *simultaneously*
    from one call of :meth:`loss_and_grad`, with one optimizer over both
    parameter sets (Adam treats every entry separately, so this is Adam for
    each player).

    Parameters
    ----------
    data_dim, latent_dim : int
    hidden : int, default 64
    layers : int, default 2
        Hidden layers in each network.
    seed : int, default 0
        Initial weights and the latent noise.

    Attributes
    ----------
    g_loss : list of float
        The generator's loss at each call (:func:`gdlib.train.train` records the
        discriminator's).
    """

    def __init__(self, data_dim: int = 2, latent_dim: int = 2, hidden: int = 64,
                 layers: int = 2, seed: int = 0, dtype=None):
        data_dim = check_int("data_dim", data_dim, minimum=1)
        latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        layers = check_int("layers", layers, minimum=1)
        gen = numpy.random.default_rng(seed)
        self.latent_dim = latent_dim
        self.G = mlp([latent_dim] + [hidden] * layers + [data_dim], "relu", gen, dtype)
        self.D = mlp([data_dim] + [hidden] * layers + [1], "leaky_relu", gen, dtype)
        self.bce = nn.BCEWithLogits()
        self.rng = gen
        self.g_loss: list = []

    def parameters(self) -> dict:
        """Both players' parameters, keys ``"G.*"`` and ``"D.*"``."""
        return {**{f"G.{k}": v for k, v in self.G.parameters().items()},
                **{f"D.{k}": v for k, v in self.D.parameters().items()}}

    def sample(self, n: int, seed=None):
        """``n`` generated points (a NumPy array)."""
        n = check_int("n", n, minimum=1)
        gen = self.rng if seed is None else numpy.random.default_rng(seed)
        z = asarray(gen.standard_normal((n, self.latent_dim)))
        return numpy.asarray(to_host(self.G(z)))

    def loss_and_grad(self, params, batch):
        """Both players' gradients for a batch of real data, for :func:`gdlib.train.train`.

        Returns the discriminator's loss and a dict with the gradient of each
        player's own loss under its parameters' keys.
        """
        real = batch[0] if isinstance(batch, tuple) else batch
        n = len(real)
        z = asarray(self.rng.standard_normal((n, self.latent_dim)))
        ones, zeros = xp.ones((n, 1)), xp.zeros((n, 1))
        # Discriminator: -log D(x) - log(1 - D(G(z))), G held fixed.
        self.D.zero_grad()
        self.G.zero_grad()
        fake = self.G(z)
        d_loss = self.bce(self.D(real), ones)
        self.D.backward(self.bce.backward())
        d_loss += self.bce(self.D(fake), zeros)
        self.D.backward(self.bce.backward())
        d_grads = {f"D.{k}": g.copy() for k, g in self.D.gradients().items()}
        # Generator, non-saturating: -log D(G(z)), through D into G.
        self.D.zero_grad()
        g_loss = self.bce(self.D(fake), ones)
        self.g_loss.append(g_loss)
        self.G.backward(self.D.backward(self.bce.backward()))
        g_grads = {f"G.{k}": g.copy() for k, g in self.G.gradients().items()}
        return d_loss, {**g_grads, **d_grads}


# ----------------------------------------------------------------------------
# Diffusion


def linear_betas(T: int = 100, beta_1: float = 1e-4, beta_T: float = 0.02):
    r"""The linear noise schedule :math:`\beta_1, \dots, \beta_T` of Ho et al. (2020).

    Ho et al. use :math:`T = 1000` from :math:`10^{-4}` to 0.02; with fewer steps
    take a larger ``beta_T`` so that :math:`\bar\alpha_T` still ends near 0.
    """
    T = check_int("T", T, minimum=1)
    beta_1 = check_real("beta_1", beta_1, low=0.0, high=1.0)
    beta_T = check_real("beta_T", beta_T, low=0.0, high=1.0)
    if not 0 < beta_1 <= beta_T < 1:
        raise ValueError(f"need 0 < beta_1 <= beta_T < 1, got beta_1={beta_1}, beta_T={beta_T}.")
    return numpy.linspace(beta_1, beta_T, T)


def _betas(betas) -> numpy.ndarray:
    b = numpy.asarray(to_host(betas) if hasattr(betas, "shape") else betas, dtype=float)
    if b.ndim != 1 or b.size == 0 or not numpy.all((b > 0) & (b < 1)):
        raise ValueError("betas must be a 1-D array of noise levels strictly between 0 and 1.")
    return b


def alpha_bars(betas) -> numpy.ndarray:
    r""":math:`\bar\alpha_t = \prod_{s \le t} (1 - \beta_s)` for :math:`t = 1..T` (a product)."""
    return numpy.cumprod(1.0 - _betas(betas))


def q_sample(x0, t, betas, noise):
    r"""A draw from :math:`q(x_t \mid x_0)`, the forward noising in one jump.

    .. math:: x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon

    Parameters
    ----------
    x0 : array of shape (N, d) or (d,)
    t : int or int array of shape (N,)
        Steps in ``1..T`` (``betas[t - 1]`` is :math:`\beta_t`).
    betas : array of shape (T,)
    noise : array like ``x0``
        :math:`\epsilon \sim N(0, I)`.
    """
    ab = alpha_bars(betas)
    t_arr = numpy.asarray(to_host(t) if hasattr(t, "shape") else t)
    if t_arr.dtype.kind not in "iu" or t_arr.size == 0 or t_arr.min() < 1 or \
            t_arr.max() > len(ab):
        raise ValueError(f"t must hold whole steps in 1..{len(ab)} (T = len(betas)), got {t!r}.")
    if tuple(numpy.shape(noise)) != tuple(numpy.shape(x0)):
        raise ValueError(f"noise must have the shape of x0 {numpy.shape(x0)}, got "
                         f"{numpy.shape(noise)}.")
    a = asarray(ab[t_arr - 1])
    if a.ndim == 1 and getattr(x0, "ndim", 1) == 2:
        a = a[:, None]
    return xp.sqrt(a) * x0 + xp.sqrt(1.0 - a) * noise


def time_embedding(t, T: int, dim: int = 16):
    r"""Sinusoidal features of the step :math:`t/T` (as in the transformer, Vaswani et al., 2017).

    Returns an array of shape ``(N, dim)``: :math:`\sin(\omega_k t/T)` and
    :math:`\cos(\omega_k t/T)` with frequencies :math:`\omega_k` from 1 to about 100.
    """
    dim = check_int("dim", dim, minimum=2)
    if dim % 2:
        raise ValueError(f"dim must be even (sine and cosine pairs), got {dim}.")
    s = numpy.asarray(t, dtype=float).reshape(-1, 1) / T
    freqs = numpy.geomspace(1.0, 100.0, dim // 2).reshape(1, -1)
    return numpy.concatenate([numpy.sin(freqs * s), numpy.cos(freqs * s)], axis=1)


class Diffusion:
    r"""A denoising diffusion model on vectors (Ho et al., 2020).

    A network :math:`\epsilon_\theta(x_t, t)` (an MLP on :math:`x_t` and a
    sinusoidal embedding of :math:`t`) learns to predict the noise that
    :func:`q_sample` added: the loss is
    :math:`\mathbb{E}\,\|\epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t}x_0 +
    \sqrt{1-\bar\alpha_t}\epsilon, t)\|^2`, denoising score matching
    (Vincent, 2011) with the score :math:`-\epsilon/\sqrt{1-\bar\alpha_t}`.
    :meth:`sample` runs the reverse process, ancestral sampling
    :math:`x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\big(x_t -
    \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\epsilon_\theta(x_t, t)\big) + \sqrt{\beta_t}\, z`.

    Parameters
    ----------
    betas : array of shape (T,)
    data_dim : int, default 2
    hidden : int, default 128
    layers : int, default 3
    emb_dim : int, default 16
    seed : int, default 0
    """

    def __init__(self, betas, data_dim: int = 2, hidden: int = 128, layers: int = 3,
                 emb_dim: int = 16, seed: int = 0, dtype=None):
        self.betas = _betas(betas)
        self.T = len(self.betas)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = numpy.cumprod(self.alphas)
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.emb_dim = emb_dim
        self.rng = numpy.random.default_rng(seed)
        self.net = mlp([data_dim + emb_dim] + [hidden] * layers + [data_dim], "relu",
                       self.rng, dtype)
        self.mse = nn.MSELoss()
        self._emb = time_embedding(numpy.arange(1, self.T + 1), self.T, emb_dim)

    def parameters(self) -> dict:
        return self.net.parameters()

    def predict_noise(self, x, t):
        """:math:`\\epsilon_\\theta(x_t, t)` for a batch ``x`` and steps ``t`` (in 1..T)."""
        t = numpy.broadcast_to(numpy.asarray(t), (len(x),))
        return self.net(xp.concatenate([asarray(x), asarray(self._emb[t - 1])], axis=1))

    def loss_and_grad(self, params, batch):
        """The denoising loss of a batch of data and its gradient, for :func:`gdlib.train.train`."""
        x0 = asarray(batch[0] if isinstance(batch, tuple) else batch)
        n = len(x0)
        t = self.rng.integers(1, self.T + 1, size=n)
        eps = asarray(self.rng.standard_normal(x0.shape)).astype(x0.dtype)
        xt = q_sample(x0, t, self.betas, eps)
        self.net.zero_grad()
        pred = self.predict_noise(xt, t)
        loss = self.mse(pred, eps) * self.data_dim      # sum over coordinates, mean over batch
        self.net.backward(self.mse.backward() * self.data_dim)
        return loss, self.net.gradients()

    def sample(self, n: int, seed=0, keep=()):
        """Ancestral sampling from :math:`x_T \\sim N(0, I)` down to :math:`x_0`.

        Parameters
        ----------
        n : int
        seed : int
        keep : sequence of int
            Steps ``t`` whose :math:`x_t` to return as well (``T`` is the pure noise).

        Returns
        -------
        x0 : ndarray of shape (n, data_dim)
        kept : dict of int to ndarray (only those in ``keep``)
        """
        n = check_int("n", n, minimum=1)
        gen = numpy.random.default_rng(seed)
        x = asarray(gen.standard_normal((n, self.data_dim)))
        kept = {}
        for t in range(self.T, 0, -1):
            if t in keep:
                kept[t] = numpy.array(to_host(x))
            eps = self.predict_noise(x, t)
            beta, ab = self.betas[t - 1], self.alpha_bars[t - 1]
            x = (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(1 - beta)
            if t > 1:
                x = x + math.sqrt(beta) * asarray(gen.standard_normal(x.shape))
        x0 = numpy.array(to_host(x))
        if 0 in keep:
            kept[0] = x0
        return x0, kept


# ----------------------------------------------------------------------------
# Distances between sample sets


def wasserstein_1d(a, b) -> float:
    r"""The 1-Wasserstein distance between two 1-D samples, :math:`\int |F_a - F_b|`.

    The same number as :func:`scipy.stats.wasserstein_distance` (equal weights);
    samples may have different sizes.
    """
    a = numpy.asarray(to_host(a), dtype=float).ravel()
    b = numpy.asarray(to_host(b), dtype=float).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("a and b must each hold at least one value.")
    if not (numpy.isfinite(a).all() and numpy.isfinite(b).all()):
        raise ValueError("a and b must be finite (a sample holds NaN or infinity).")
    a.sort()
    b.sort()
    both = numpy.concatenate([a, b])
    both.sort()
    widths = numpy.diff(both)
    Fa = numpy.searchsorted(a, both[:-1], side="right") / a.size
    Fb = numpy.searchsorted(b, both[:-1], side="right") / b.size
    return float(numpy.sum(numpy.abs(Fa - Fb) * widths))


def sliced_wasserstein(X, Y, projections: int = 64, seed=0) -> float:
    r"""The sliced 1-Wasserstein distance between two point clouds.

    .. math:: SW_1(X, Y) = \mathbb{E}_\theta\, W_1(\theta^\top X, \theta^\top Y)

    Averages :func:`wasserstein_1d` over ``projections`` directions :math:`\theta`
    on the unit sphere (evenly spaced angles in 2-D, random ones otherwise;
    Rabin et al., 2011; Bonneel et al., 2015). Zero only when the projected
    distributions agree; it falls as generated samples approach the data.
    """
    X = numpy.asarray(to_host(X), dtype=float)
    Y = numpy.asarray(to_host(Y), dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must be (N, d) and (M, d) with the same d, got {X.shape} "
                         f"and {Y.shape}.")
    projections = check_int("projections", projections, minimum=1)
    d = X.shape[1]
    if d == 2:
        angles = numpy.pi * (numpy.arange(projections) + 0.5) / projections
        thetas = numpy.stack([numpy.cos(angles), numpy.sin(angles)], axis=1)
    else:
        thetas = numpy.random.default_rng(seed).standard_normal((projections, d))
        thetas /= numpy.linalg.norm(thetas, axis=1, keepdims=True)
    return float(numpy.mean([wasserstein_1d(X @ th, Y @ th) for th in thetas]))


# ----------------------------------------------------------------------------
# Variational autoencoder


class Reparameterize(Module):
    r"""The reparameterisation trick (Kingma and Welling, 2014): :math:`z = \mu + e^{s/2}\epsilon`.

    ``forward(mu, logvar)`` with :math:`s = \log\sigma^2` draws
    :math:`\epsilon \sim N(0, I)` in training mode (the mean :math:`\mu` in
    evaluation mode); the noise is an input, not a function of the
    parameters, so the gradient flows through :math:`\mu` and :math:`s`:

    .. math:: \frac{\partial L}{\partial\mu} = \delta, \qquad
              \frac{\partial L}{\partial s} = \tfrac12\,\delta\odot e^{s/2}\epsilon.

    Parameters
    ----------
    rng : None, int or Generator
        Source of :math:`\epsilon`.

    Attributes
    ----------
    noise : array or None
        When set, used as :math:`\epsilon` instead of a fresh draw (gradient checks).
    """

    def __init__(self, rng=None):
        super().__init__()
        self.rng = numpy.random.default_rng(rng)
        self.noise = None
        self._cache = None

    def forward(self, mu, logvar):
        mod = array_module(mu)
        if tuple(mu.shape) != tuple(logvar.shape):
            raise ValueError(f"Reparameterize: mu {tuple(mu.shape)} and logvar "
                             f"{tuple(logvar.shape)} must have the same shape.")
        check_finite("Reparameterize", "mu", mu)
        check_finite("Reparameterize", "logvar", logvar)
        if not self.training:
            self._cache = None
            return mu
        if self.noise is not None:
            eps = asarray(self.noise).astype(mu.dtype)
            if tuple(eps.shape) != tuple(mu.shape):
                raise ValueError(f"Reparameterize: noise has shape {tuple(eps.shape)}, mu "
                                 f"{tuple(mu.shape)}.")
        else:
            eps = asarray(self.rng.standard_normal(mu.shape)).astype(mu.dtype)
        std = mod.exp(0.5 * logvar)
        self._cache = (std, eps, mu.shape)
        return mu + std * eps

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError("Reparameterize.backward needs a forward pass in training mode "
                               "first.")
        std, eps, shape = self._cache
        dout = check_dout("Reparameterize", dout, shape)
        return dout, 0.5 * dout * std * eps


class GaussianKL(Module):
    r"""KL divergence of :math:`N(\mu, \mathrm{diag}\,e^{s})` from :math:`N(0, I)`, mean over rows.

    .. math:: \mathrm{KL} = -\tfrac12\textstyle\sum_j \big(1 + s_j - \mu_j^2 - e^{s_j}\big)
              \ \ge 0, \qquad
              \frac{\partial\,\mathrm{KL}}{\partial\mu} = \mu, \quad
              \frac{\partial\,\mathrm{KL}}{\partial s} = \tfrac12\big(e^{s} - 1\big)

    summed over the latent dimensions :math:`j` and averaged over the batch
    (Kingma and Welling, 2014, appendix B).
    """

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, mu, logvar) -> float:
        if tuple(mu.shape) != tuple(logvar.shape) or mu.ndim != 2:
            raise ValueError(f"GaussianKL: mu and logvar must both be (N, latent), got "
                             f"{tuple(mu.shape)} and {tuple(logvar.shape)}.")
        mod = array_module(mu)
        self._cache = (mu, logvar)
        kl = -0.5 * (1 + logvar - mu * mu - mod.exp(logvar)).sum(axis=1)
        return float(kl.mean())

    def backward(self, dout=1.0):
        if self._cache is None:
            raise RuntimeError("GaussianKL.backward was called before forward: run forward first.")
        mu, logvar = self._cache
        scale = float(dout) / len(mu)
        return mu * scale, 0.5 * (array_module(mu).exp(logvar) - 1) * scale


class VAE(Module):
    r"""A variational autoencoder with Bernoulli pixels (Kingma and Welling, 2014).

    The encoder maps :math:`x` to :math:`(\mu, \log\sigma^2)`, :class:`Reparameterize`
    draws :math:`z`, the decoder maps :math:`z` to pixel logits. The loss, the
    negative evidence lower bound per example, is the summed binary
    cross-entropy of the pixels plus ``beta`` times :class:`GaussianKL`.
    ``forward(x)`` returns that loss; ``backward()`` fills the gradients.

    Parameters
    ----------
    n_in : int
        Pixels, each in [0, 1].
    n_latent : int, default 2
    hidden : int, default 128
    beta : float, default 1.0
    seed : int, default 0
    """

    def __init__(self, n_in: int, n_latent: int = 2, hidden: int = 128, beta: float = 1.0,
                 seed: int = 0, dtype=None):
        super().__init__()
        n_in = check_int("n_in", n_in, minimum=1)
        self.n_latent = check_int("n_latent", n_latent, minimum=1)
        hidden = check_int("hidden", hidden, minimum=1)
        self.beta = check_real("beta", beta, low=0.0)
        gen = numpy.random.default_rng(seed)
        self.dtype = resolve_dtype(dtype)
        self.encoder = mlp([n_in, hidden, 2 * self.n_latent], "relu", gen, dtype)
        self.decoder = mlp([self.n_latent, hidden, n_in], "relu", gen, dtype)
        self.sampler = Reparameterize(gen)
        self.kl = GaussianKL()
        self.bce = nn.BCEWithLogits()
        self.n_in = n_in
        self.last = {}

    def encode(self, x):
        """``(mu, logvar)`` for a batch of images."""
        h = self.encoder(asarray(numpy.asarray(x)) if isinstance(x, numpy.ndarray) else x)
        return h[:, :self.n_latent], h[:, self.n_latent:]

    def decode(self, z):
        """Pixel probabilities :math:`\\sigma(\\text{logits})` for latent points ``z``."""
        z = asarray(numpy.asarray(z, dtype=self.dtype))
        return numpy.asarray(to_host(sigmoid(self.decoder(z))))

    def forward(self, x) -> float:
        x = asarray(x).astype(self.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"VAE: x must be (N, {self.n_in}), got {tuple(x.shape)}.")
        mu, logvar = self.encode(x)
        z = self.sampler(mu, logvar)
        rec = self.bce(self.decoder(z), x) * self.n_in       # summed over pixels, mean over rows
        kl = self.kl(mu, logvar)
        self.last = {"reconstruction": rec, "kl": kl}
        return rec + self.beta * kl

    def backward(self, dout=1.0):
        dlogits = self.bce.backward(float(dout) * self.n_in)
        dz = self.decoder.backward(dlogits)
        dmu, dlogvar = self.sampler.backward(dz)
        kmu, klogvar = self.kl.backward(float(dout) * self.beta)
        self.encoder.backward(xp.concatenate([dmu + kmu, dlogvar + klogvar], axis=1))

    def loss_and_grad(self, params, batch):
        """The loss of a batch and its gradient, for :func:`gdlib.train.train`."""
        x = batch[0] if isinstance(batch, tuple) else batch
        self.zero_grad()
        loss = self.forward(x)
        self.backward()
        return loss, self.gradients()

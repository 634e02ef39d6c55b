r"""Curvature without the Hessian matrix: Hessian-vector products and the top eigenvalue.

A network with :math:`d` parameters has a :math:`d \times d` Hessian
:math:`H = \nabla^2 L(w)`, far too large to form. What gradient descent cares
about is mostly one number, its largest eigenvalue :math:`\lambda_{\max}(H)`
(the *sharpness*): on a quadratic, gradient descent with step :math:`\eta`
diverges exactly when :math:`\eta \lambda_{\max} > 2`. Two things give it
without the matrix:

- a **Hessian-vector product** :math:`Hv`, either by a central difference of
  two gradients (:func:`fd_hvp`, any gradient function) or exactly by one extra
  forward and backward pass (:func:`mlp_hvp`, Pearlmutter's R-operator for the
  course's multilayer perceptrons);
- **power iteration** (:func:`top_eigenvalue`): :math:`v \leftarrow Hv / \|Hv\|`
  converges to the eigenvector of the eigenvalue of largest magnitude, and the
  Rayleigh quotient :math:`v^\top H v` to that eigenvalue.

Vectors here are flat: 1-d arrays holding every parameter one after the other,
in the order of the parameter dict (:func:`flatten`, :func:`unflatten`).

Sources
-------
- B. A. Pearlmutter (1994), "Fast exact multiplication by the Hessian",
  Neural Computation 6(1), 147-160: the R-operator and the finite-difference HVP.
- R. von Mises and H. Pollaczek-Geiringer (1929), "Praktische Verfahren der
  Gleichungsauflösung", ZAMM 9, 58-77 and 152-164: power iteration.
- C. Lanczos (1950), "An iteration method for the solution of the eigenvalue
  problem of linear differential and integral operators", J. Res. Nat. Bur.
  Standards 45, 255-282.
- J. Cohen, S. Kaur, Y. Li, J. Z. Kolter and A. Talwalkar (2021), "Gradient
  descent on neural networks typically occurs at the edge of stability", ICLR:
  sharpness measured this way during training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy

from .backend import array_module, asarray, xp
from .optim.base import check_int, check_real

__all__ = ["flatten", "unflatten", "fd_hvp", "gradient_function", "mlp_hvp", "hessian_matrix",
           "top_eigenvalue", "EigenResult", "lanczos"]


# ----------------------------------------------------------------------------
# Flat vectors


def _arrays(params, name: str = "params") -> list:
    if isinstance(params, Mapping):
        arrays = list(params.values())
    elif isinstance(params, (list, tuple)):
        arrays = list(params)
    else:
        arrays = [params]
    if not arrays:
        raise ValueError(f"{name} is empty: give at least one array.")
    for a in arrays:
        if not (hasattr(a, "shape") and hasattr(a, "dtype")):
            raise TypeError(f"{name} must hold arrays, got {type(a).__name__}.")
    return arrays


def flatten(params):
    """Every array of ``params`` (array, list or dict) raveled into one 1-d array (a copy)."""
    arrays = _arrays(params)
    mod = array_module(arrays[0])
    return mod.concatenate([mod.asarray(a, dtype=float).reshape(-1) for a in arrays])


def unflatten(vector, like):
    """Split a flat ``vector`` into arrays shaped like ``like`` (same structure: dict, list, array).

    Raises
    ------
    ValueError
        When ``vector`` does not have exactly as many entries as ``like``.
    """
    arrays = _arrays(like, "like")
    total = sum(int(a.size) for a in arrays)
    vector = asarray(vector)
    if vector.ndim != 1 or vector.shape[0] != total:
        raise ValueError(f"vector has shape {tuple(vector.shape)}, but like holds {total} "
                         f"numbers: give a 1-d array of length {total}.")
    parts, lo = [], 0
    for a in arrays:
        parts.append(vector[lo:lo + a.size].reshape(a.shape))
        lo += a.size
    if isinstance(like, Mapping):
        return dict(zip(like.keys(), parts))
    if isinstance(like, (list, tuple)):
        return parts
    return parts[0]


def _vector(name: str, v, dim: int | None = None):
    """``v`` as a finite 1-d float array (of length ``dim`` when given)."""
    try:
        v = asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(v).__name__}.") from None
    if v.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array (a flat vector), got shape {tuple(v.shape)}"
                         "; flatten it first (gdlib.curvature.flatten).")
    if dim is not None and v.shape[0] != dim:
        raise ValueError(f"{name} has length {v.shape[0]}, expected {dim}.")
    if not bool(array_module(v).isfinite(v).all()):
        raise ValueError(f"{name} holds NaN or infinity.")
    return v


# ----------------------------------------------------------------------------
# Hessian-vector products


def fd_hvp(grad, w, v, h: float = 1e-5):
    r"""A Hessian-vector product by a central difference of two gradients.

    .. math:: Hv \approx \frac{\nabla L(w + \epsilon v) - \nabla L(w - \epsilon v)}{2\epsilon},
              \qquad \epsilon = h\, \frac{\max(1, \|w\|)}{\|v\|}.

    The step is relative: :math:`\epsilon v` has length :math:`h \max(1, \|w\|)`
    whatever the length of :math:`v`, so the estimate does not depend on how
    :math:`v` is scaled. Taylor's expansion of the gradient gives an error of
    :math:`O(\epsilon^2)` (the third derivative's term; the second-order terms
    cancel in the central difference, a one-sided difference keeps them and is
    only :math:`O(\epsilon)`), plus a rounding error of about
    :math:`u \|\nabla L\| / \epsilon` with :math:`u \approx 10^{-16}` in float64;
    :math:`h = 10^{-5}` balances the two. Exact (up to rounding) on quadratics.

    Parameters
    ----------
    grad : callable
        ``grad(w) -> gradient``, a flat 1-d array like ``w`` (see
        :func:`gradient_function` for a model's ``loss_and_grad``).
    w : array of shape (d,)
        The point.
    v : array of shape (d,)
        The direction (any length; zero gives zero).
    h : float, default 1e-5
        The relative step (> 0).

    Returns
    -------
    array of shape (d,)
    """
    if not callable(grad):
        raise TypeError(f"grad must be a function w -> gradient, got {type(grad).__name__}.")
    w = _vector("w", w)
    v = _vector("v", v, w.shape[0])
    h = check_real("h", h, low=0.0, low_open=True)
    mod = array_module(w)
    norm_v = float(mod.linalg.norm(v))
    if norm_v == 0.0:
        return mod.zeros_like(w)
    eps = h * max(1.0, float(mod.linalg.norm(w))) / norm_v
    g_plus = asarray(grad(w + eps * v), dtype=float).reshape(-1)
    g_minus = asarray(grad(w - eps * v), dtype=float).reshape(-1)
    if g_plus.shape != w.shape:
        raise ValueError(f"grad(w) returned {g_plus.shape[0]} numbers for a w of length "
                         f"{w.shape[0]}: it must return the gradient, flat, like w.")
    return (g_plus - g_minus) / (2.0 * eps)


def gradient_function(loss_and_grad, params, batch=None):
    """A flat gradient function ``w -> grad`` from a loss ``(params, batch) -> (loss, grads)``.

    The same ``loss_and_grad`` that :func:`gdlib.train.train` takes: the
    returned function writes ``w`` into the arrays of ``params``, calls it on
    ``batch``, puts the original values back and returns the gradient,
    flattened. It also returns the current point, so
    ``w0, grad = gradient_function(...)`` then ``fd_hvp(grad, w0, v)``.
    Use float64 parameters (``gdlib.nn.set_default_dtype("float64")``): written
    into float32 arrays, a step of ``1e-5`` is mostly lost to rounding.

    Returns
    -------
    w0 : array of shape (d,)
        The parameters now, flattened (a copy).
    grad : callable
        ``grad(w) -> array of shape (d,)``.
    """
    if not callable(loss_and_grad):
        raise TypeError("loss_and_grad must be a function (params, batch) -> (loss, grads), "
                        f"got {type(loss_and_grad).__name__}.")
    arrays = _arrays(params)
    w0 = flatten(params)

    def grad(w):
        w = _vector("w", w, w0.shape[0])
        saved = [a.copy() for a in arrays]
        try:
            lo = 0
            for a in arrays:
                a[...] = w[lo:lo + a.size].reshape(a.shape)
                lo += a.size
            _, grads = loss_and_grad(params, batch)
            return flatten(grads)
        finally:
            for a, s in zip(arrays, saved):
                a[...] = s

    return w0, grad


def _mlp_layers(model):
    from .nn.layers import Dense, LeakyReLU, ReLU, Sigmoid, Tanh

    layers = getattr(model, "layers", None)
    if layers is None:
        layers = [model]
    kinds = (Dense, ReLU, LeakyReLU, Tanh, Sigmoid)
    for i, layer in enumerate(layers):
        if not isinstance(layer, kinds):
            raise TypeError(
                f"mlp_hvp works for Sequential models of Dense, ReLU, LeakyReLU, Tanh and "
                f"Sigmoid layers; layer {i} is {type(layer).__name__}. Use fd_hvp with "
                "gradient_function for other models."
            )
    return layers


def _activation_derivatives(layer, z):
    """``(s', s'')`` of an element-wise activation at its input ``z``."""
    from .nn.layers import LeakyReLU, ReLU, Sigmoid, Tanh

    mod = array_module(z)
    if isinstance(layer, ReLU):
        return (z > 0).astype(z.dtype), mod.zeros_like(z)
    if isinstance(layer, LeakyReLU):
        return mod.where(z > 0, 1.0, layer.slope).astype(z.dtype), mod.zeros_like(z)
    if isinstance(layer, Tanh):
        t = mod.tanh(z)
        d1 = 1 - t * t
        return d1, -2 * t * d1
    if isinstance(layer, Sigmoid):
        s = 1 / (1 + mod.exp(-z))
        d1 = s * (1 - s)
        return d1, d1 * (1 - 2 * s)
    raise TypeError(type(layer).__name__)  # pragma: no cover - _mlp_layers refused it


def mlp_hvp(model, loss, X, y):
    r"""The exact Hessian-vector product of an MLP's training loss, by the R-operator.

    For a :class:`gdlib.nn.Sequential` of ``Dense`` layers and element-wise
    activations (``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``) with an
    ``MSELoss`` or a plain ``SoftmaxCrossEntropy``, Pearlmutter's (1994)
    R-operator :math:`\mathcal{R}\{f\} = \tfrac{d}{dr} f(w + r v)|_{r=0}` is
    pushed through the forward pass (:math:`\mathcal{R}\{z\} = \mathcal{R}\{a\}
    W + a V_W + V_b`, :math:`\mathcal{R}\{a\} = \sigma'(z)\mathcal{R}\{z\}`) and
    then through the backward pass (product rule on every line of
    backpropagation), giving :math:`Hv` for the price of about two gradients and
    with no step to choose. ReLU's second derivative is taken as 0 (it is 0
    everywhere but at the kink).

    The model's parameters are only read; its ``grads`` are not touched.

    Parameters
    ----------
    model : Sequential or a single Dense
    loss : MSELoss or SoftmaxCrossEntropy
    X, y : arrays
        The data the loss averages over (the full batch for the sharpness).

    Returns
    -------
    callable
        ``hvp(v) -> Hv`` for flat vectors ``v`` of length
        ``model.num_parameters()``, ordered like ``model.parameters()``; its
        attribute ``dim`` is that length.
    """
    from .nn.layers import Dense
    from .nn.losses import MSELoss, SoftmaxCrossEntropy

    layers = _mlp_layers(model)
    if isinstance(loss, SoftmaxCrossEntropy):
        if loss.ignore_index is not None or loss.label_smoothing:
            raise ValueError("mlp_hvp: SoftmaxCrossEntropy with ignore_index or "
                             "label_smoothing is not supported; use fd_hvp.")
    elif not isinstance(loss, MSELoss):
        raise TypeError(f"loss must be MSELoss or SoftmaxCrossEntropy, got {type(loss).__name__}.")
    params = model.parameters()
    X = asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array (examples x features), got shape {X.shape}.")
    if not bool(array_module(X).isfinite(X).all()):
        raise ValueError("X holds NaN or infinity.")
    y = asarray(y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but X has {n}.")
    # Which slice of the flat vector belongs to which layer's W and b.
    where, lo = {}, 0
    ids = {id(a): k for k, a in params.items()}
    offsets = {}
    for k, a in params.items():
        offsets[k] = (lo, lo + a.size)
        lo += a.size
    dim = lo
    for layer in layers:
        if isinstance(layer, Dense):
            where[id(layer)] = {name: offsets[ids[id(a)]] for name, a in layer.params.items()}

    def hvp(v):
        v = _vector("v", v, dim)
        mod = array_module(v)
        # Forward pass with its R-forward: keep (a_in, z, R a_in, R z) per layer.
        a, ra = X, mod.zeros_like(X)
        tape = []
        for layer in layers:
            if isinstance(layer, Dense):
                W = asarray(layer.params["W"], dtype=float)
                lo_, hi_ = where[id(layer)]["W"]
                VW = v[lo_:hi_].reshape(W.shape)
                z = a @ W
                rz = ra @ W + a @ VW
                if layer.bias:
                    lo_, hi_ = where[id(layer)]["b"]
                    z = z + asarray(layer.params["b"], dtype=float)
                    rz = rz + v[lo_:hi_]
                tape.append((layer, a, ra, W, VW))
                a, ra = z, rz
            else:
                d1, d2 = _activation_derivatives(layer, a)
                tape.append((layer, a, ra, d1, d2))
                z, rz = a, ra
                a, ra = _apply(layer, z, mod), d1 * rz
        out, rout = a, ra
        # The loss's gradient and its R-derivative.
        if isinstance(loss, MSELoss):
            m = out.size
            target = asarray(y, dtype=float).reshape(out.shape)
            delta = 2.0 * (out - target) / m
            rdelta = 2.0 * rout / m
        else:
            shifted = out - out.max(axis=1, keepdims=True)
            p = mod.exp(shifted)
            p /= p.sum(axis=1, keepdims=True)
            q = mod.zeros_like(p)
            q[mod.arange(n), asarray(y).astype(int)] = 1.0
            delta = (p - q) / n
            rdelta = (p * rout - p * (p * rout).sum(axis=1, keepdims=True)) / n
        # Backward pass with its R-backward, collecting R{dL/dW} = (Hv) for W.
        hv = mod.zeros(dim)
        for entry in reversed(tape):
            layer = entry[0]
            if isinstance(layer, Dense):
                _, a_in, ra_in, W, VW = entry
                lo_, hi_ = where[id(layer)]["W"]
                hv[lo_:hi_] = (ra_in.T @ delta + a_in.T @ rdelta).reshape(-1)
                if layer.bias:
                    lo_, hi_ = where[id(layer)]["b"]
                    hv[lo_:hi_] = rdelta.sum(axis=0)
                delta, rdelta = delta @ W.T, rdelta @ W.T + delta @ VW.T
            else:
                _, z, rz, d1, d2 = entry
                delta, rdelta = d1 * delta, d2 * rz * delta + d1 * rdelta
        return hv

    hvp.dim = dim
    return hvp


def _apply(layer, z, mod):
    """The activation itself on ``z`` (float64), without touching the layer's cache."""
    from .nn.layers import LeakyReLU, ReLU, Sigmoid, Tanh

    if isinstance(layer, ReLU):
        return mod.maximum(z, 0)
    if isinstance(layer, LeakyReLU):
        return mod.where(z > 0, z, layer.slope * z)
    if isinstance(layer, Tanh):
        return mod.tanh(z)
    if isinstance(layer, Sigmoid):
        return 1 / (1 + mod.exp(-z))
    raise TypeError(type(layer).__name__)  # pragma: no cover


def hessian_matrix(hvp, dim: int):
    r"""The dense :math:`d \times d` Hessian from ``dim`` products with the unit vectors.

    Symmetrised, :math:`(H + H^\top)/2`, which removes the finite-difference
    asymmetry. For small models and tests only: it costs ``dim`` products.
    """
    if not callable(hvp):
        raise TypeError(f"hvp must be a function v -> Hv, got {type(hvp).__name__}.")
    dim = check_int("dim", dim, minimum=1)
    eye = xp.eye(dim)
    H = xp.stack([asarray(hvp(eye[i]), dtype=float).reshape(-1) for i in range(dim)], axis=1)
    return (H + H.T) / 2


# ----------------------------------------------------------------------------
# Power iteration


@dataclass
class EigenResult:
    """What :func:`top_eigenvalue` returns.

    Attributes
    ----------
    value : float
        The estimate of the eigenvalue of largest magnitude (the Rayleigh
        quotient :math:`v^\\top H v` at the last iterate).
    vector : ndarray of shape (d,)
        The unit vector it was computed from (to warm-start the next call).
    history : ndarray
        The estimate after each iteration (its convergence).
    iterations : int
        The number of Hessian-vector products used.
    converged : bool
        True when the relative change fell below ``tol``.
    """

    value: float
    vector: object
    history: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0))
    iterations: int = 0
    converged: bool = False

    def __repr__(self) -> str:
        return (f"EigenResult(value={self.value:.6g}, iterations={self.iterations}, "
                f"converged={self.converged})")


def top_eigenvalue(hvp, dim: int, iters: int = 100, tol: float = 1e-6, seed: int = 0,
                   v0=None) -> EigenResult:
    r"""The eigenvalue of largest magnitude of a symmetric operator, by power iteration.

    .. math:: v_{k+1} = \frac{H v_k}{\|H v_k\|}, \qquad
              \lambda_k = v_k^\top H v_k \ \text{(the Rayleigh quotient)}.

    The error in :math:`v_k` shrinks like :math:`|\lambda_2/\lambda_1|^k`, the
    Rayleigh quotient's like its square. Power iteration finds the eigenvalue of
    largest *magnitude*: for a Hessian whose most negative eigenvalue is larger
    in size than its most positive one it returns that negative value (the sign
    is kept, so it can be seen). Stops when
    :math:`|\lambda_k - \lambda_{k-1}| \le \mathrm{tol}\,|\lambda_k|` or after
    ``iters`` products.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> Hv`` for 1-d arrays of length ``dim``.
    dim : int
        The dimension :math:`d`.
    iters : int, default 100
        The maximum number of products (>= 1).
    tol : float, default 1e-6
        Relative tolerance on the change of the estimate (>= 0).
    seed : int, default 0
        Seed of the random (Gaussian) start, when ``v0`` is not given.
    v0 : array of shape (d,), optional
        The start, e.g. the previous call's ``vector`` (a warm start: during
        training the top eigenvector moves slowly, so a few products suffice).

    Returns
    -------
    EigenResult
    """
    if not callable(hvp):
        raise TypeError(f"hvp must be a function v -> Hv, got {type(hvp).__name__}.")
    dim = check_int("dim", dim, minimum=1)
    iters = check_int("iters", iters, minimum=1)
    tol = check_real("tol", tol, low=0.0)
    seed = check_int("seed", seed, minimum=0)
    if v0 is None:
        v = asarray(numpy.random.default_rng(seed).standard_normal(dim))
    else:
        v = _vector("v0", v0, dim)
    mod = array_module(v)
    norm = float(mod.linalg.norm(v))
    if norm == 0.0:
        raise ValueError("v0 is the zero vector: power iteration needs a nonzero start.")
    v = v / norm
    history, value, converged, k = [], math.nan, False, 0
    for k in range(1, iters + 1):
        hv = asarray(hvp(v), dtype=float).reshape(-1)
        if hv.shape[0] != dim:
            raise ValueError(f"hvp returned {hv.shape[0]} numbers for a vector of length {dim}.")
        new = float(v @ hv)                       # Rayleigh quotient v^T H v, |v| = 1
        if not math.isfinite(new):
            raise ValueError(f"hvp returned NaN or infinity at iteration {k}.")
        history.append(new)
        norm = float(mod.linalg.norm(hv))
        done = k > 1 and abs(new - value) <= tol * abs(new)
        value = new
        if norm == 0.0:                           # H v = 0: v is in the null space
            converged = True
            break
        v = hv / norm
        if done:
            converged = True
            break
    return EigenResult(value=value, vector=v, history=numpy.array(history), iterations=k,
                       converged=converged)


# ----------------------------------------------------------------------------
# Lanczos


def lanczos(hvp, dim: int, steps: int = 30, seed: int = 0):
    r"""Ritz values of a symmetric operator after ``steps`` Lanczos steps (both spectrum ends).

    Lanczos (1950) builds an orthonormal basis :math:`q_1, \dots, q_m` of the Krylov
    space :math:`\mathrm{span}\{q_1, Hq_1, \dots, H^{m-1}q_1\}` in which :math:`H` is
    the tridiagonal matrix :math:`T_m` (diagonal :math:`\alpha`, off-diagonal
    :math:`\beta`):

    .. math:: \beta_{j} q_{j+1} = H q_j - \alpha_j q_j - \beta_{j-1} q_{j-1},
              \qquad \alpha_j = q_j^\top H q_j .

    The eigenvalues of :math:`T_m` (the Ritz values) approach the extreme
    eigenvalues of :math:`H` much faster than power iteration does, for the same
    number of products, and give the most negative one at the same time. Each new
    vector is orthogonalised against all previous ones again (full
    reorthogonalisation), which costs :math:`O(m^2 d)` but keeps the basis
    orthonormal in floating point.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> Hv`` for 1-d arrays of length ``dim``.
    dim : int
    steps : int, default 30
        Krylov dimension :math:`m` (at most ``dim``; stops early when the space is exhausted).
    seed : int, default 0
        Seed of the random start.

    Returns
    -------
    ndarray
        The Ritz values, ascending (``[-1]`` estimates :math:`\lambda_{\max}`,
        ``[0]`` :math:`\lambda_{\min}`).
    """
    if not callable(hvp):
        raise TypeError(f"hvp must be a function v -> Hv, got {type(hvp).__name__}.")
    dim = check_int("dim", dim, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    m = min(steps, dim)
    q = asarray(numpy.random.default_rng(seed).standard_normal(dim))
    mod = array_module(q)
    q = q / float(mod.linalg.norm(q))
    basis, alpha, beta = [q], [], []
    for j in range(m):
        w = asarray(hvp(basis[j]), dtype=float).reshape(-1)
        if w.shape[0] != dim:
            raise ValueError(f"hvp returned {w.shape[0]} numbers for a vector of length {dim}.")
        if not bool(mod.isfinite(w).all()):
            raise ValueError(f"hvp returned NaN or infinity at step {j + 1}.")
        a = float(basis[j] @ w)
        alpha.append(a)
        for _ in range(2):                       # two passes: "twice is enough" (Kahan)
            for b in basis:
                w = w - float(b @ w) * b
        norm = float(mod.linalg.norm(w))
        if j == m - 1 or norm <= 1e-12 * max(1.0, abs(a)):
            break
        beta.append(norm)
        basis.append(w / norm)
    T = numpy.diag(alpha) + numpy.diag(beta[:len(alpha) - 1], 1) + numpy.diag(
        beta[:len(alpha) - 1], -1)
    return numpy.linalg.eigvalsh(T)

"""Muon: momentum, then orthogonalize the step with a Newton-Schulz iteration.

Sources
-------
- K. Jordan, Y. Jin, V. Boza, J. You, F. Cesista, L. Newhouse and J. Bernstein
  (2024), "Muon: An optimizer for hidden layers in neural networks", blog post,
  https://kellerjordan.github.io/posts/muon/
- J. Liu et al. (2025), "Muon is scalable for LLM training", arXiv:2502.16982:
  the ``"match_rms_adamw"`` learning-rate adjustment.
- N. J. Higham (2008), *Functions of Matrices*, SIAM, ch. 8: Newton-Schulz
  iterations for the polar factor.
"""

from __future__ import annotations

import math

from .base import (
    Optimizer,
    check_bool,
    check_eps,
    check_int,
    check_lr,
    check_nonnegative,
    check_real,
    xp,
)

__all__ = ["Muon", "newton_schulz"]

#: Quintic Newton-Schulz coefficients (a, b, c) from Jordan et al. (2024).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def _round_bf16(X):
    """``X`` (float32) rounded to the nearest bfloat16, kept in float32."""
    from ..precision import round_to

    return round_to(X, "bfloat16")


def newton_schulz(G, coefficients=NS_COEFFICIENTS, steps: int = 5, eps: float = 1e-7,
                  dtype=None):
    r"""Approximately orthogonalize the matrix ``G`` (replace its singular values by ~1).

    With :math:`G = U S V^\top`, the result is close to :math:`U V^\top`. Start
    from :math:`X_0 = G / \max(\lVert G \rVert_F, \epsilon)` (so every singular
    value is at most 1) and iterate the odd quintic polynomial

    .. math::

        A_k = X_k X_k^\top, \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2)\, X_k,

    which maps each singular value :math:`\sigma \mapsto a\sigma + b\sigma^3 +
    c\sigma^5`. Jordan et al. chose :math:`(a, b, c)` for a steep slope at 0, so
    five steps push small singular values up to roughly 0.7-1.2 (not exactly 1,
    which does not hurt training). The iteration works on the wide orientation
    (rows <= columns) so that :math:`A_k` is the smaller Gram matrix.

    ``dtype=None`` runs it in the dtype of ``G``. ``dtype="bfloat16"`` runs it
    as ``torch.optim.Muon`` does (torch 2.13, ``_zeropower_via_newtonschulz``):
    ``G`` is rounded to bfloat16, then every operation (the norm, the division,
    :math:`A_k`, :math:`bA_k + cA_k^2`, :math:`aX_k + B_kX_k`) computes in
    float32 from bfloat16 inputs and rounds its result to bfloat16, as torch's
    CPU kernels for bfloat16 do (products accumulated in float32). The result
    holds bfloat16 values in a float32 array.
    """
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    if dtype is not None and str(dtype) == "bfloat16":
        r = _round_bf16
        X = r(X.astype(xp.float32))                               # grad.bfloat16()
        norm = r(xp.maximum(xp.linalg.norm(X), eps).astype(xp.float32))
        X = r(X / norm)                                           # X0 = G / max(||G||, ε)
        a32, b32, c32 = (xp.float32(v) for v in (a, b, c))
        for _ in range(steps):
            A = r(X @ X.T)                                        # A = X Xᵀ
            B = r(b32 * A + c32 * (A @ A))                        # addmm(A, A, A, beta=b, alpha=c)
            X = r(a32 * X + B @ X)                                # addmm(X, B, X, beta=a)
        return X.T if tall else X
    if dtype is not None:
        raise ValueError(f"dtype must be None or 'bfloat16', got {dtype!r}.")
    X = X / xp.maximum(xp.linalg.norm(X), eps)     # X0 = G / max(||G||_F, ε)
    for _ in range(steps):
        A = X @ X.T                                # A = X Xᵀ
        B = b * A + c * (A @ A)                    # B = b A + c A²
        X = a * X + B @ X                          # X = a X + B X
    return X.T if tall else X


class Muon(Optimizer):
    r"""Muon (Jordan et al., 2024), as ``torch.optim.Muon`` (torch 2.13).

    For a weight *matrix* :math:`W`, Muon keeps a momentum buffer and steps
    along its orthogonalized version, so every direction in the matrix's
    singular-vector basis moves by about the same amount:

    .. math::

        B_t &= \mu B_{t-1} + (1-\mu)\, G_t \\
        \tilde B_t &= (1-\mu)\, G_t + \mu B_t \ \text{(Nesterov)}
            \quad\text{or}\quad \tilde B_t = B_t \\
        O_t &= \mathrm{NS}_k(\tilde B_t) \approx U V^\top
            \quad\text{where } \tilde B_t = U S V^\top \\
        W_t &= (1 - \eta\lambda)\, W_{t-1} - \eta' O_t,
            \qquad \eta' = \eta \sqrt{\max(1, A/B)}

    for a parameter of shape :math:`A \times B` (``adjust_lr_fn="original"``;
    ``"match_rms_adamw"`` uses :math:`\eta' = 0.2\,\eta\sqrt{\max(A, B)}`).
    The buffer is an exponential moving average, as in torch's code (its
    docstring writes :math:`B_t = \mu B_{t-1} + G_t`).

    Parameters
    ----------
    params : 2-D array, list or dict of 2-D arrays
        Weight matrices, updated in place. Muon is meant for hidden layers'
        weights; optimize biases and embeddings with :class:`~gdlib.optim.AdamW`.
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    weight_decay : float, default 0.1
        Decoupled decay :math:`\lambda \ge 0`.
    momentum : float, default 0.95
        :math:`\mu \ge 0`.
    nesterov : bool, default True
        Orthogonalize the Nesterov look-ahead :math:`(1-\mu)G_t + \mu B_t`.
    ns_coefficients : (float, float, float), default (3.4445, -4.7750, 2.0315)
        :math:`(a, b, c)` of the Newton-Schulz polynomial.
    eps : float, default 1e-7
        Floor on the Frobenius norm in the normalization.
    ns_steps : int, default 5
        Number of Newton-Schulz iterations (fewer than 100).
    adjust_lr_fn : {None, 'original', 'match_rms_adamw'}, default None
        Shape-dependent scaling of the learning rate (None means 'original').
    ns_dtype : {None, 'bfloat16'}, default None
        ``None`` runs the Newton-Schulz iteration in the parameter's dtype
        (float64 on the CPU); ``'bfloat16'`` runs it in bfloat16 exactly as
        ``torch.optim.Muon`` does (see :func:`newton_schulz`), and the step is
        then applied to the parameter in its own dtype.

    Notes
    -----
    By default gdlib runs the Newton-Schulz iteration in the parameter's dtype;
    torch runs it in bfloat16, so their steps differ by about 1e-2 relative.
    ``tests/test_optim_reference.py`` compares the default against torch with
    its iteration switched to float64; ``tests/test_optim_muon_bf16.py``
    compares ``ns_dtype='bfloat16'`` against torch as it ships.
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None,
                 ns_dtype=None):
        if not (adjust_lr_fn is None or (isinstance(adjust_lr_fn, str)
                                         and adjust_lr_fn in ("original", "match_rms_adamw"))):
            raise ValueError(
                f"Invalid adjust_lr_fn={adjust_lr_fn!r}: choose None, 'original' or "
                "'match_rms_adamw'."
            )
        if not (ns_dtype is None or (isinstance(ns_dtype, str) and ns_dtype == "bfloat16")):
            raise ValueError(
                f"Invalid ns_dtype={ns_dtype!r}: choose None (the parameter's dtype) or "
                "'bfloat16' (as torch.optim.Muon)."
            )
        ns_steps = check_int("ns_steps", ns_steps, minimum=0, maximum=99)
        try:
            coeffs = tuple(ns_coefficients)
        except TypeError:
            raise TypeError(
                f"ns_coefficients must be three numbers (a, b, c), got {ns_coefficients!r}."
            ) from None
        if len(coeffs) != 3:
            raise ValueError(f"ns_coefficients must hold 3 numbers, got {len(coeffs)}.")
        coeffs = tuple(check_real(f"ns_coefficients[{i}]", c) for i, c in enumerate(coeffs))
        super().__init__(
            params, lr=check_lr(lr),
            weight_decay=check_nonnegative("weight_decay", weight_decay),
            momentum=check_nonnegative("momentum", momentum),
            nesterov=check_bool("nesterov", nesterov),
            ns_coefficients=coeffs, eps=check_eps(eps), ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn, ns_dtype=ns_dtype,
        )
        for p, name in zip(self.params, self.names):
            if p.ndim != 2:
                raise ValueError(
                    f"Muon only updates 2-D parameters (weight matrices), but {name!r} has shape "
                    f"{tuple(p.shape)}. Reshape it (e.g. w.reshape(1, -1)) or optimize it with "
                    "AdamW."
                )

    def adjusted_lr(self, shape) -> float:
        """The learning rate :math:`\\eta'` used for a parameter of this ``shape``."""
        A, B = shape[:2]
        if self.adjust_lr_fn == "match_rms_adamw":
            return self.lr * 0.2 * math.sqrt(max(A, B))
        return self.lr * math.sqrt(max(1.0, A / B))

    def init_state(self, p):
        return {"momentum_buffer": xp.zeros_like(p)}

    def update(self, p, g, state, t):
        mu = self.momentum
        B = state["momentum_buffer"]
        B += (1 - mu) * (g - B)                        # B = μB + (1-μ)G   (torch's lerp)
        if self.nesterov:
            D = g + mu * (B - g)                       # (1-μ)G + μB
        else:
            D = B
        O = newton_schulz(D, self.ns_coefficients, self.ns_steps, self.eps,
                          self.ns_dtype)               # O ≈ U Vᵀ
        p *= 1 - self.lr * self.weight_decay           # W <- (1-ηλ) W
        p -= self.adjusted_lr(p.shape) * O.astype(p.dtype, copy=False)   # W <- W - η' O

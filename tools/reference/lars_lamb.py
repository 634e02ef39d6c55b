"""Reference trajectories for gdlib's LARS and LAMB, from optax.

Run with a Python that has ``jax``, ``optax`` and ``numpy`` (never dependencies
of the course)::

    python tools/reference/lars_lamb.py

Everything in float64. The references are ``optax.lars`` (You, Gitman and
Ginsburg 2017) and ``optax.lamb`` (You et al. 2020). Each trajectory is a
*replay*: at each step the gradient is computed with NumPy at optax's current
parameters, stored, and fed to optax; the parameters after the step are stored.
The test feeds the same gradients to gdlib, so the update rules are compared
exactly (1e-10), without the chaos of recomputed gradients.

The problem is a least-squares layer with a bias, ``params = [W, b]``:
``0.5 ||A W + b - B||_F^2 / 20`` with a seeded A (20x5), B (20x3), W (5x3),
and b starting at **zero**, so the first steps take the trust ratio's
zero-norm branch (ratio 1) for b and the usual branch for W.

Output: ``tests/fixtures/optim_lars_lamb.npz``. Per case ``c``: ``c/grads_W``,
``c/grads_b``, ``c/params_W``, ``c/params_b`` (steps, ...), ``c/meta`` (JSON:
gdlib name, gdlib hyper-parameters, optax call). ``A``, ``B``, ``W0``, ``b0``
hold the problem; ``cases`` the case names; ``versions`` the libraries.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

STEPS = 40
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "optim_lars_lamb.npz"

_gen = np.random.default_rng(20261206)
A = _gen.standard_normal((20, 5))
B = _gen.standard_normal((20, 3))
W0 = _gen.standard_normal((5, 3))
b0 = np.zeros(3)


def grads(W, b):
    r = A @ W + b - B
    return A.T @ r / len(A), r.sum(axis=0) / len(A)


# name -> (gdlib class, gdlib hyper, optax factory, optax kwargs)
CASES = {
    "lars_default": ("LARS", {"lr": 1.0}, "lars", {"learning_rate": 1.0}),
    "lars_custom": ("LARS", {"lr": 0.5, "momentum": 0.8, "weight_decay": 0.01,
                             "trust_coefficient": 0.02, "eps": 1e-3, "nesterov": True},
                    "lars", {"learning_rate": 0.5, "momentum": 0.8, "weight_decay": 0.01,
                             "trust_coefficient": 0.02, "eps": 1e-3, "nesterov": True}),
    "lamb_default": ("LAMB", {"lr": 0.01}, "lamb", {"learning_rate": 0.01}),
    "lamb_custom": ("LAMB", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3,
                             "weight_decay": 0.1},
                    "lamb", {"learning_rate": 0.05, "b1": 0.8, "b2": 0.99, "eps": 1e-3,
                             "weight_decay": 0.1}),
}


def run(factory: str, kwargs: dict) -> dict:
    tx = getattr(optax, factory)(**kwargs)
    params = [jnp.asarray(W0), jnp.asarray(b0)]
    state = tx.init(params)
    out = {"grads_W": [], "grads_b": [], "params_W": [], "params_b": []}
    for _ in range(STEPS):
        gW, gb = grads(np.asarray(params[0]), np.asarray(params[1]))
        out["grads_W"].append(gW)
        out["grads_b"].append(gb)
        updates, state = tx.update([jnp.asarray(gW), jnp.asarray(gb)], state, params)
        params = optax.apply_updates(params, updates)
        out["params_W"].append(np.asarray(params[0]))
        out["params_b"].append(np.asarray(params[1]))
    return {k: np.array(v) for k, v in out.items()}


def main() -> None:
    arrays = {"A": A, "B": B, "W0": W0, "b0": b0}
    for case, (cls, hyper, factory, kwargs) in CASES.items():
        for k, v in run(factory, kwargs).items():
            arrays[f"{case}/{k}"] = v
        arrays[f"{case}/meta"] = np.array(json.dumps(
            {"gdlib": cls, "hyper": hyper, "reference": f"optax.{factory}", "kwargs": kwargs}))
    arrays["cases"] = np.array(list(CASES))
    arrays["versions"] = np.array(json.dumps({"optax": optax.__version__,
                                              "jax": jax.__version__,
                                              "numpy": np.__version__}))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(CASES)} cases, {STEPS} steps each)")


if __name__ == "__main__":
    main()

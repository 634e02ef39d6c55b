"""Reference trajectories for gdlib's SAM (sharpness-aware minimisation).

Run with the reference environment (torch is never a dependency of the course)::

    python tools/reference/sam.py

The reference is the published algorithm (Foret et al. 2021, Algorithm 1; Kwon
et al. 2021 for the adaptive variant) in the two-step form of D. Samuel's
PyTorch implementation (github.com/davda54/sam): ``first_step`` adds
``e_w = rho * (w**2 if adaptive else 1) * grad / (norm + 1e-12)`` to every
parameter, where ``norm`` is the 2-norm over all parameters of
``(|w| if adaptive else 1) * grad``; the gradient is recomputed there; and
``second_step`` puts the saved ``w`` back and lets a ``torch.optim`` base
optimizer step with that gradient. Written out below in a few lines, in float64.

Problem: a small tanh network, ``tanh(X W1 + b1) W2 + b2``, with the mean
squared error on seeded data (X 16x3, Y 16x2), so that the parameters are four
arrays of different shapes (the norm is global) and the Hessian is not
constant (the second gradient really differs from the first). Gradients come
from torch's autograd.

Stored per case ``c`` (``steps`` steps): ``c/x0/<name>``, ``c/grads/<name>``
(the gradient at w, steps x shape), ``c/perturbed/<name>`` (w + e_w),
``c/grads_sam/<name>`` (the gradient there), ``c/params/<name>`` (w after each
step) and ``c/meta`` (JSON: base optimizer, hyper-parameters). The test feeds
the stored gradients to gdlib's SAM (the second through the closure), checks the
point where the closure is called and the parameters after each step.

Output: ``tests/fixtures/sam_torch.npz``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 25
NAMES = ["W1", "b1", "W2", "b2"]
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sam_torch.npz"

_gen = np.random.default_rng(20261206)
DATA = {
    "X": _gen.standard_normal((16, 3)),
    "Y": _gen.standard_normal((16, 2)),
    "W1": 0.8 * _gen.standard_normal((3, 5)),
    "b1": 0.1 * _gen.standard_normal(5),
    "W2": 0.8 * _gen.standard_normal((5, 2)),
    "b2": 0.1 * _gen.standard_normal(2),
}

CASES = {
    "sgd": ("SGD", {"lr": 0.1}, {"rho": 0.05, "adaptive": False}),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3},
                     {"rho": 0.1, "adaptive": False}),
    "adam": ("Adam", {"lr": 0.01}, {"rho": 0.05, "adaptive": False}),
    "asam_sgd": ("SGD", {"lr": 0.1, "momentum": 0.5}, {"rho": 0.5, "adaptive": True}),
    "rho0": ("SGD", {"lr": 0.1}, {"rho": 0.0, "adaptive": False}),
}


def loss_fn(params, X, Y):
    W1, b1, W2, b2 = params
    out = torch.tanh(X @ W1 + b1) @ W2 + b2
    return ((out - Y) ** 2).mean()


def run(base_name, base_hyper, sam_hyper):
    params = [torch.tensor(DATA[n], requires_grad=True) for n in NAMES]
    X, Y = torch.tensor(DATA["X"]), torch.tensor(DATA["Y"])
    base = getattr(torch.optim, base_name)(params, **base_hyper, foreach=False)
    rho, adaptive = sam_hyper["rho"], sam_hyper["adaptive"]
    rec = {k: {n: [] for n in NAMES} for k in ("grads", "perturbed", "grads_sam", "params")}

    def gradients():
        for p in params:
            p.grad = None
        loss_fn(params, X, Y).backward()
        return [p.grad.detach().clone() for p in params]

    for _ in range(STEPS):
        g = gradients()
        # first_step: climb to w + e_w
        with torch.no_grad():
            norm = torch.norm(torch.stack([((p.abs() if adaptive else 1.0) * gi).norm(p=2)
                                           for p, gi in zip(params, g)]), p=2)
            scale = rho / (norm + 1e-12)
            saved = [p.detach().clone() for p in params]
            for p, gi in zip(params, g):
                p.add_((p.pow(2) if adaptive else 1.0) * gi * scale)
        perturbed = [p.detach().clone() for p in params]
        g_sam = gradients()
        # second_step: back to w, base step with the gradient from w + e_w
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
        for p, gi in zip(params, g_sam):
            p.grad = gi.clone()
        base.step()
        for n, a, b, c, p in zip(NAMES, g, perturbed, g_sam, params):
            rec["grads"][n].append(a.numpy())
            rec["perturbed"][n].append(b.numpy())
            rec["grads_sam"][n].append(c.numpy())
            rec["params"][n].append(p.detach().numpy().copy())
    return rec


def main():
    out = {"cases": np.array(json.dumps(list(CASES))),
           "versions": np.array(json.dumps({"torch": torch.__version__, "numpy": np.__version__}))}
    for k, v in DATA.items():
        out[f"problem/{k}"] = v
    for case, (base_name, base_hyper, sam_hyper) in CASES.items():
        rec = run(base_name, base_hyper, sam_hyper)
        for n in NAMES:
            out[f"{case}/x0/{n}"] = DATA[n]
            for what, per_name in rec.items():
                out[f"{case}/{what}/{n}"] = np.stack(per_name[n])
        out[f"{case}/meta"] = np.array(json.dumps(
            {"base": base_name.lower(), "base_hyper": base_hyper, **sam_hyper,
             "reference": f"SAM two-step (davda54) over torch.optim.{base_name}"}))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({len(CASES)} cases x {STEPS} steps)")


if __name__ == "__main__":
    main()

"""Reference trajectories of ``torch.optim.Muon`` in its own bfloat16 Newton-Schulz mode,
and of ``torch.amp.GradScaler``'s dynamic loss scale, for gdlib's replay tests.

Run with the reference environment (torch is never a dependency of the course)::

    /tmp/refvenv/bin/python tools/reference/muon_bf16.py

Muon: torch (2.13) casts the look-ahead momentum to bfloat16 in
``torch.optim._muon._zeropower_via_newtonschulz`` and runs the whole quintic
iteration there; the parameters stay float64 here (``param.add_`` upcasts the
bfloat16 step). Unlike ``tools/reference/extra_optim.py`` nothing is patched:
this is torch's code exactly as it ships. For each case we record the gradient
of a seeded least-squares loss at every step and the parameters after every
step; ``tests/test_optim_muon_bf16.py`` replays the stored gradients through
``gdlib.optim.Muon(..., ns_dtype="bfloat16")``.

GradScaler: ``torch.amp.GradScaler("cpu", init_scale, growth_factor,
backoff_factor, growth_interval)`` driving an SGD step on a parameter whose
scaled gradient holds an infinity at chosen steps; we record the scale after
each ``update()`` and whether the optimizer stepped.

Output: ``tests/fixtures/muon_bf16_torch.npz`` with, per Muon case ``c``,
``c/x0``, ``c/grads`` (steps, *shape), ``c/params`` (steps, *shape),
``c/meta`` (JSON hyper-parameters), plus ``cases``; ``scaler/inf_steps``,
``scaler/scale`` (scale after each update), ``scaler/stepped`` (bool per step),
``scaler/meta``; and ``torch_version``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 8
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "muon_bf16_torch.npz"

# (case id, shape, hyper-parameters): wide, tall (transposed inside NS) and square,
# Nesterov on and off, both learning-rate adjustments.
CASES = [
    ("wide-default", (4, 7), {"lr": 0.02}),
    ("tall-nesterov-off", (9, 5), {"lr": 0.05, "nesterov": False, "weight_decay": 0.01}),
    ("square-match-rms", (6, 6), {"lr": 0.01, "adjust_lr_fn": "match_rms_adamw",
                                  "momentum": 0.9}),
    ("wide-3steps", (3, 10), {"lr": 0.03, "ns_steps": 3}),
]


def muon_case(shape, hyper, seed):
    """Muon on 0.5 ||A W - B||^2 / n with a seeded (n x rows) A and (n x cols) B."""
    gen = np.random.default_rng(seed)
    rows, cols = shape
    A = torch.tensor(gen.standard_normal((12, rows)))
    B = torch.tensor(gen.standard_normal((12, cols)))
    x0 = gen.standard_normal(shape)
    W = torch.tensor(x0.copy(), requires_grad=True)
    opt = torch.optim.Muon([W], **hyper)
    grads, params = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        r = A @ W - B
        loss = 0.5 * (r * r).sum() / r.shape[0]
        loss.backward()
        grads.append(W.grad.detach().numpy().copy())
        opt.step()
        params.append(W.detach().numpy().copy())
    return x0, np.array(grads), np.array(params)


def scaler_case():
    """GradScaler's scale over a run with infinities at chosen steps (growth_interval 3)."""
    meta = {"init_scale": 2.0 ** 10, "growth_factor": 2.0, "backoff_factor": 0.5,
            "growth_interval": 3}
    inf_steps = [4, 5, 11]
    steps = 16
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float32))
    opt = torch.optim.SGD([w], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", **meta)
    scales, stepped = [], []
    for k in range(1, steps + 1):
        opt.zero_grad()
        loss = (w * w).sum()
        scaler.scale(loss).backward()
        if k in inf_steps:
            with torch.no_grad():
                w.grad[1] = float("inf")
        before = w.detach().clone()
        scaler.step(opt)
        scaler.update()
        stepped.append(not torch.equal(before, w.detach()))
        scales.append(float(scaler.get_scale()))
    return meta, np.array(inf_steps), np.array(scales), np.array(stepped)


def main():
    out = {}
    for i, (name, shape, hyper) in enumerate(CASES):
        x0, grads, params = muon_case(shape, hyper, seed=100 + i)
        out[f"{name}/x0"] = x0
        out[f"{name}/grads"] = grads
        out[f"{name}/params"] = params
        out[f"{name}/meta"] = json.dumps({"hyper": hyper})
    out["cases"] = json.dumps([c[0] for c in CASES])
    meta, inf_steps, scales, stepped = scaler_case()
    out["scaler/meta"] = json.dumps(meta)
    out["scaler/inf_steps"] = inf_steps
    out["scaler/scale"] = scales
    out["scaler/stepped"] = stepped
    out["torch_version"] = torch.__version__
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({len(CASES)} Muon cases, {STEPS} steps; GradScaler {len(scales)} steps)")
    print("scales:", scales.tolist())
    print("stepped:", stepped.astype(int).tolist())


if __name__ == "__main__":
    main()

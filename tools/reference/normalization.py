"""Record PyTorch's batch and layer normalisation as a test fixture.

Run with the reference environment (torch 2.13, CPU), never from the tests::

    /tmp/refvenv/bin/python tools/reference/normalization.py

Writes ``tests/fixtures/normalization_torch.npz`` (compressed, float64) holding,
for each case ``c`` in ``cases_json`` (layer, keyword arguments, number of
training batches):

- ``c/gamma``, ``c/beta``: the gain and shift the layer is given;
- per training step ``k``: ``c/x/k`` and ``c/dout/k`` (inputs, seeded NumPy),
  ``c/y/k`` (output), ``c/dx/k``, ``c/dgamma/k``, ``c/dbeta/k`` (gradients of
  ``sum(dout * y)``, parameter gradients zeroed before each step) and, for batch
  normalisation, ``c/running_mean/k``, ``c/running_var/k`` after the step;
- ``c/x/eval``, ``c/dout/eval``, ``c/y/eval``, ``c/dx/eval``: one step in
  evaluation mode (running statistics), for batch normalisation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "normalization_torch.npz"

CASES = [
    {"name": "bn1d", "layer": "BatchNorm1d", "shape": [8, 3], "steps": 3,
     "kwargs": {"num_features": 3, "momentum": 0.1, "eps": 1e-5}},
    {"name": "bn1d_seq_avg", "layer": "BatchNorm1d", "shape": [4, 3, 5], "steps": 3,
     "kwargs": {"num_features": 3, "momentum": None, "eps": 1e-3}},
    {"name": "bn2d", "layer": "BatchNorm2d", "shape": [3, 4, 3, 2], "steps": 3,
     "kwargs": {"num_features": 4, "momentum": 0.3, "eps": 1e-5}},
    {"name": "bn2d_no_affine", "layer": "BatchNorm2d", "shape": [2, 2, 2, 3], "steps": 2,
     "kwargs": {"num_features": 2, "momentum": 0.5, "eps": 1e-5, "affine": False}},
    {"name": "ln", "layer": "LayerNorm", "shape": [2, 3, 6], "steps": 1,
     "kwargs": {"normalized_shape": [6], "eps": 1e-5}},
    {"name": "ln_2axes", "layer": "LayerNorm", "shape": [4, 3, 5], "steps": 1,
     "kwargs": {"normalized_shape": [3, 5], "eps": 1e-3}},
]


def record(case: dict, gen: np.random.Generator, out: dict) -> None:
    c = case["name"]
    layer = getattr(torch.nn, case["layer"])(**case["kwargs"])
    affine = getattr(layer, "weight", None) is not None
    if affine:
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(gen.uniform(0.5, 1.5, layer.weight.shape)))
            layer.bias.copy_(torch.from_numpy(gen.standard_normal(layer.bias.shape)))
        out[f"{c}/gamma"] = layer.weight.detach().numpy().copy()
        out[f"{c}/beta"] = layer.bias.detach().numpy().copy()
    is_bn = case["layer"].startswith("BatchNorm")
    steps = [str(k) for k in range(case["steps"])] + (["eval"] if is_bn else [])
    for k in steps:
        layer.train(k != "eval")
        if affine:
            layer.weight.grad = None
            layer.bias.grad = None
        scale, shift = gen.uniform(0.5, 3.0), gen.uniform(-2.0, 2.0)
        x_np = gen.standard_normal(case["shape"]) * scale + shift
        dout_np = gen.standard_normal(case["shape"])
        x = torch.from_numpy(x_np).requires_grad_(True)
        y = layer(x)
        (y * torch.from_numpy(dout_np)).sum().backward()
        out[f"{c}/x/{k}"] = x_np
        out[f"{c}/dout/{k}"] = dout_np
        out[f"{c}/y/{k}"] = y.detach().numpy().copy()
        out[f"{c}/dx/{k}"] = x.grad.numpy().copy()
        if affine and k != "eval":
            out[f"{c}/dgamma/{k}"] = layer.weight.grad.numpy().copy()
            out[f"{c}/dbeta/{k}"] = layer.bias.grad.numpy().copy()
        if is_bn and k != "eval":
            out[f"{c}/running_mean/{k}"] = layer.running_mean.numpy().copy()
            out[f"{c}/running_var/{k}"] = layer.running_var.numpy().copy()
            out[f"{c}/num_batches_tracked/{k}"] = np.array(int(layer.num_batches_tracked))


def main() -> None:
    gen = np.random.default_rng(20261206)
    out: dict = {"cases_json": np.array(json.dumps(CASES)),
                 "torch_version": np.array(torch.__version__)}
    for case in CASES:
        record(case, gen, out)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({len(out)} arrays, {OUT.stat().st_size / 1024:.0f} KiB, "
          f"torch {torch.__version__})")


if __name__ == "__main__":
    main()

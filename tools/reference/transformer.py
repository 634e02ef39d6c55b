"""Record PyTorch's causal attention as a test fixture for gdlib.nn.transformer.

Run with the reference environment (torch 2.13, CPU), never from the tests::

    /tmp/refvenv/bin/python tools/reference/transformer.py

Writes ``tests/fixtures/transformer_torch.npz`` (compressed, float64):

- ``q``, ``k``, ``v`` (2, 3, 6, 4) and ``dout``: seeded NumPy inputs;
  ``out`` = ``torch.nn.functional.scaled_dot_product_attention(q, k, v,
  is_causal=True)`` and ``dq``, ``dk``, ``dv``, the gradients of
  ``sum(dout * out)``;
- a whole multi-head self-attention layer (fused QKV projection, 2 heads,
  output projection) on ``x`` (2, 5, 8), written with ``torch.nn.functional``:
  the weights in gdlib's layout (``qkv_W`` (8, 24) used as ``x @ W``,
  ``qkv_b``, ``proj_W``, ``proj_b``), ``layer_dout``, the output ``layer_y``
  and the gradients ``layer_dx``, ``layer_dqkv_W``, ``layer_dqkv_b``,
  ``layer_dproj_W``, ``layer_dproj_b``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "transformer_torch.npz"


def leaf(a):
    return torch.tensor(a, requires_grad=True)


def main():
    rng = np.random.default_rng(2026)
    rec = {}

    q, k, v = (rng.standard_normal((2, 3, 6, 4)) for _ in range(3))
    dout = rng.standard_normal((2, 3, 6, 4))
    tq, tk, tv = leaf(q), leaf(k), leaf(v)
    out = F.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    (out * torch.tensor(dout)).sum().backward()
    rec.update(q=q, k=k, v=v, dout=dout, out=out.detach().numpy(), dq=tq.grad.numpy(),
               dk=tk.grad.numpy(), dv=tv.grad.numpy())

    N, T, D, H = 2, 5, 8, 2
    x = rng.standard_normal((N, T, D))
    W = {"qkv_W": 0.4 * rng.standard_normal((D, 3 * D)), "qkv_b": 0.1 * rng.standard_normal(3 * D),
         "proj_W": 0.4 * rng.standard_normal((D, D)), "proj_b": 0.1 * rng.standard_normal(D)}
    ldout = rng.standard_normal((N, T, D))
    tx = leaf(x)
    tw = {name: leaf(a) for name, a in W.items()}
    qkv = F.linear(tx, tw["qkv_W"].T, tw["qkv_b"])               # x @ W + b
    qh, kh, vh = qkv.view(N, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
    y = F.scaled_dot_product_attention(qh, kh, vh, is_causal=True)
    y = F.linear(y.transpose(1, 2).reshape(N, T, D), tw["proj_W"].T, tw["proj_b"])
    (y * torch.tensor(ldout)).sum().backward()
    rec.update({f"{name}": a for name, a in W.items()})
    rec.update(x=x, layer_dout=ldout, layer_y=y.detach().numpy(), layer_dx=tx.grad.numpy())
    rec.update({f"layer_d{name}": t.grad.numpy() for name, t in tw.items()})

    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **rec)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()

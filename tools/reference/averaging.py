"""Reference sequences for gdlib.averaging from ``torch.optim.swa_utils``.

Run with the reference environment (torch is never a dependency of the course)::

    python tools/reference/averaging.py

Writes ``tests/fixtures/averaging_torch.npz``, everything in float64:

- ``params``: a seeded sequence of 12 parameter vectors (5 entries each) and
  matrices (2x3), the iterates a training run would produce;
- ``ema_<decay>_vec`` / ``_mat``: ``AveragedModel(model,
  multi_avg_fn=get_ema_multi_avg_fn(decay))`` after each ``update_parameters``
  (torch copies the first iterate, then ``ema = decay * ema + (1 - decay) * p``);
- ``swa_vec`` / ``swa_mat``: ``AveragedModel(model)`` (the default running mean);
- ``swalr_<strategy>_<anneal>``: the learning rate of ``SWALR(opt, swa_lr=0.05,
  anneal_epochs=anneal, anneal_strategy=strategy)`` (initial lr 0.5) right after
  construction and after each of 12 ``step()`` calls.

``tests/test_averaging.py`` feeds the same iterates to gdlib's EMA, SWA and SWALR
and compares to 1e-12.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn

torch.set_default_dtype(torch.float64)
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "averaging_torch.npz"
STEPS = 12
DECAYS = (0.9, 0.5)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.vec = torch.nn.Parameter(torch.zeros(5))
        self.mat = torch.nn.Parameter(torch.zeros(2, 3))


def averages(make_avg, seq_vec, seq_mat):
    model = Model()
    avg = make_avg(model)
    vec, mat = [], []
    for v, m in zip(seq_vec, seq_mat):
        with torch.no_grad():
            model.vec.copy_(torch.from_numpy(v))
            model.mat.copy_(torch.from_numpy(m))
        avg.update_parameters(model)
        vec.append(avg.module.vec.detach().numpy().copy())
        mat.append(avg.module.mat.detach().numpy().copy())
    return np.array(vec), np.array(mat)


def main() -> None:
    rng = np.random.default_rng(27)
    # A drifting random walk, like noisy iterates: averages differ visibly from the last one.
    seq_vec = np.cumsum(rng.normal(size=(STEPS, 5)), axis=0)
    seq_mat = np.cumsum(rng.normal(size=(STEPS, 2, 3)), axis=0)
    out = {"params_vec": seq_vec, "params_mat": seq_mat}
    for decay in DECAYS:
        v, m = averages(lambda mod, d=decay: AveragedModel(
            mod, multi_avg_fn=get_ema_multi_avg_fn(d)), seq_vec, seq_mat)
        out[f"ema_{decay}_vec"], out[f"ema_{decay}_mat"] = v, m
    out["swa_vec"], out["swa_mat"] = averages(AveragedModel, seq_vec, seq_mat)
    for strategy in ("cos", "linear"):
        for anneal in (0, 1, 5):
            opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
            sched = SWALR(opt, swa_lr=0.05, anneal_epochs=anneal, anneal_strategy=strategy)
            lrs = [opt.param_groups[0]["lr"]]
            for _ in range(STEPS):
                opt.step()
                sched.step()
                lrs.append(opt.param_groups[0]["lr"])
            out[f"swalr_{strategy}_{anneal}"] = np.array(lrs)
    out["torch_version"] = np.array(torch.__version__)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({len(out)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()

"""Record PyTorch's learning-rate schedules and gradient clipping as test fixtures.

Run with the reference environment (torch 2.13, CPU), never from the tests::

    /work/refenv/bin/python tools/reference/torch_schedules.py

Writes ``tests/fixtures/schedules_torch.npz`` (compressed) holding

- ``cases_json``: the list of cases (schedule name, keyword arguments,
  optimizer, number of steps), so the test rebuilds each one in gdlib;
- ``lr/<key>``: the learning rate used by each optimizer step, and
  ``momentum/<key>`` for OneCycleLR (momentum or beta1);
- ``plateau_metrics``: the seeded metric sequence fed to ReduceLROnPlateau;
- ``clip/...``: inputs, outputs and total norms of ``clip_grad_norm_`` and
  ``clip_grad_value_``.

Functions (``lr_lambda``) cannot be stored, so the cases name them and both
this script and the test define the same small table, ``LAMBDAS``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 100
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "schedules_torch.npz"

#: The lr_lambda functions by name (the test defines the same table).
LAMBDAS = {
    "poly2": lambda t: (1.0 - t / 120.0) ** 2,
    "warmup_decay": lambda t: min(1.0, (t + 1) / 10.0) * 0.97**t,
    "mul_098": lambda t: 0.98,
    "inverse_time_0.1": lambda t: 1.0 / (1.0 + 0.1 * t),
}


def plateau_metrics(n: int = STEPS) -> np.ndarray:
    """A noisy loss that improves, stalls, improves a little, and stalls again."""
    rng = np.random.default_rng(20240601)
    t = np.arange(n)
    loss = np.where(t < 40, 1.0 / (1.0 + 0.05 * t), 1.0 / 3.0)
    loss = np.where(t >= 70, loss - 0.002 * (t - 70).clip(0, 10), loss)
    return loss + 0.004 * rng.standard_normal(n)


def S(name, lr=0.1, optimizer="sgd", steps=STEPS, **kwargs):
    return {"name": name, "lr": lr, "optimizer": optimizer, "steps": steps, "kwargs": kwargs}


CASES = {
    "step_default": S("StepLR", step_size=10),
    "step_7_half": S("StepLR", lr=0.5, step_size=7, gamma=0.5),
    "multistep": S("MultiStepLR", milestones=[10, 30, 30, 60], gamma=0.3),
    "exponential_095": S("ExponentialLR", gamma=0.95),
    "exponential_099": S("ExponentialLR", lr=0.3, gamma=0.99),
    "cosine_100": S("CosineAnnealingLR", T_max=100),
    "cosine_30_min": S("CosineAnnealingLR", T_max=30, eta_min=0.01),
    "cosine_7_min": S("CosineAnnealingLR", lr=1.0, T_max=7, eta_min=1e-3),
    "linear_default": S("LinearLR"),
    "linear_warmup_20": S("LinearLR", start_factor=0.1, end_factor=1.0, total_iters=20),
    "linear_decay_50": S("LinearLR", start_factor=1.0, end_factor=0.05, total_iters=50),
    "constant_default": S("ConstantLR"),
    "constant_half_10": S("ConstantLR", factor=0.5, total_iters=10),
    "polynomial_default": S("PolynomialLR"),
    "polynomial_50_sq": S("PolynomialLR", total_iters=50, power=2.0),
    "lambda_poly2": S("LambdaLR", lr_lambda="poly2"),
    "lambda_warmup_decay": S("LambdaLR", lr=0.2, lr_lambda="warmup_decay"),
    "multiplicative_098": S("MultiplicativeLR", lr_lambda="mul_098"),
    "inverse_time_01": dict(S("LambdaLR", lr_lambda="inverse_time_0.1"),
                            gdlib={"name": "InverseTimeLR", "kwargs": {"gamma": 0.1}}),
    "onecycle_default": S("OneCycleLR", max_lr=0.1, total_steps=STEPS),
    "onecycle_linear": S("OneCycleLR", max_lr=0.5, total_steps=STEPS, anneal_strategy="linear"),
    "onecycle_three_phase": S("OneCycleLR", max_lr=0.2, total_steps=STEPS, three_phase=True,
                              pct_start=0.25),
    "onecycle_adam": S("OneCycleLR", optimizer="adam", max_lr=0.01, total_steps=STEPS,
                       base_momentum=0.8, max_momentum=0.9, div_factor=10.0,
                       final_div_factor=100.0),
    "onecycle_no_momentum": S("OneCycleLR", max_lr=0.3, total_steps=STEPS, pct_start=0.4,
                              cycle_momentum=False),
    "plateau_default": S("ReduceLROnPlateau"),
    "plateau_abs_cooldown": S("ReduceLROnPlateau", patience=3, threshold=0.01,
                              threshold_mode="abs", cooldown=2, min_lr=1e-3, factor=0.5),
    "plateau_max": S("ReduceLROnPlateau", mode="max", patience=2, factor=0.5),
    "plateau_max_abs": S("ReduceLROnPlateau", mode="max", patience=4, factor=0.3,
                         threshold=1e-3, threshold_mode="abs"),
    "plateau_eps": S("ReduceLROnPlateau", lr=1e-2, patience=1, factor=0.2, eps=1e-4),
    "sequential_warmup_cosine": dict(
        S("SequentialLR", milestones=[10]),
        schedulers=[S("LinearLR", start_factor=0.1, total_iters=10),
                    S("CosineAnnealingLR", T_max=90)],
    ),
    "sequential_three": dict(
        S("SequentialLR", lr=0.4, milestones=[5, 30]),
        schedulers=[S("ConstantLR", factor=0.5, total_iters=5), S("ExponentialLR", gamma=0.9),
                    S("StepLR", step_size=5, gamma=0.5)],
    ),
    "sequential_lambda_multistep": dict(
        S("SequentialLR", milestones=[20]),
        schedulers=[S("LambdaLR", lr_lambda="warmup_decay"),
                    S("MultiStepLR", milestones=[10, 40], gamma=0.5)],
    ),
}


def make_optimizer(kind: str, lr: float):
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.zeros(3)
    if kind == "sgd":
        return torch.optim.SGD([p], lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam([p], lr=lr)
    raise ValueError(kind)


def build(spec: dict, opt):
    kw = dict(spec["kwargs"])
    cls = getattr(torch.optim.lr_scheduler, spec["name"])
    if "lr_lambda" in kw:
        kw["lr_lambda"] = LAMBDAS[kw["lr_lambda"]]
    if spec["name"] == "SequentialLR":
        kw["schedulers"] = [build(s, opt) for s in spec["schedulers"]]
    return cls(opt, **kw)


def record(spec: dict, metrics: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    opt = make_optimizer(spec["optimizer"], spec["lr"])
    sched = build(spec, opt)
    group = opt.param_groups[0]
    lrs, moms = [], []
    for t in range(spec["steps"]):
        lrs.append(float(group["lr"]))
        moms.append(float(group["betas"][0] if "betas" in group else group["momentum"]))
        opt.step()
        if spec["name"] == "ReduceLROnPlateau":
            sched.step(float(metrics[t]))
        else:
            sched.step()
    return np.array(lrs), np.array(moms)


def clipping_fixtures() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    inputs = [rng.standard_normal(s) * 0.8 for s in shapes]
    out: dict[str, np.ndarray] = {f"clip/input/{i}": g for i, g in enumerate(inputs)}
    cases = []
    for p in (2.0, 1.0, 3.5, math.inf):
        for c in (0.5, 100.0):
            key = f"p{p}_c{c}"
            cases.append({"key": key, "norm_type": p, "max_norm": c})
            params = [torch.nn.Parameter(torch.tensor(g)) for g in inputs]
            for prm, g in zip(params, inputs):
                prm.grad = torch.tensor(g)
            total = torch.nn.utils.clip_grad_norm_(params, c, norm_type=p)
            out[f"clip/norm/{key}/total"] = np.array(float(total))
            for i, prm in enumerate(params):
                out[f"clip/norm/{key}/{i}"] = prm.grad.numpy().copy()
    params = [torch.nn.Parameter(torch.tensor(g)) for g in inputs]
    for prm, g in zip(params, inputs):
        prm.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(params, 0.3)
    for i, prm in enumerate(params):
        out[f"clip/value/0.3/{i}"] = prm.grad.numpy().copy()
    out["clip/cases_json"] = np.array(json.dumps(cases))
    return out


def main() -> None:
    metrics = plateau_metrics()
    arrays: dict[str, np.ndarray] = {"plateau_metrics": metrics}
    for key, spec in CASES.items():
        lrs, moms = record(spec, metrics)
        arrays[f"lr/{key}"] = lrs
        if spec["name"] == "OneCycleLR":
            arrays[f"momentum/{key}"] = moms
    arrays["cases_json"] = np.array(json.dumps(CASES))
    arrays["torch_version"] = np.array(torch.__version__)
    arrays.update(clipping_fixtures())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(CASES)} schedules, torch {torch.__version__})")


if __name__ == "__main__":
    main()

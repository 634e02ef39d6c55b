"""Reference trajectories of torch.optim optimizers, for gdlib's replay tests.

Run with the reference environment (torch is never a dependency of the course)::

    /work/refenv/bin/python tools/reference/torch_optim.py

For each case it runs one torch optimizer in float64 on a small problem and
records, at every step, the gradient torch computed and the parameters after
the step. ``tests/test_optim_reference.py`` feeds the *stored* gradients to the
gdlib optimizer of the same name and hyper-parameters and compares the
parameters step by step, so the two update rules are compared exactly, without
the chaos of recomputing gradients.

Output: ``tests/fixtures/optim_torch.npz`` with, per case ``c``,
``c/x0`` (initial parameters), ``c/grads`` (steps, *shape), ``c/params``
(steps, *shape) and ``c/meta`` (JSON: gdlib name, torch class, hyper-parameters,
problem), for ASGD also ``c/ax`` (steps, *shape: torch's running average),
plus ``cases`` (JSON list of case names) and ``torch_version``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 60
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "optim_torch.npz"


# -- problems -------------------------------------------------------------------


def rosenbrock(x):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


_gen = np.random.default_rng(20240611)
_A = torch.tensor(_gen.standard_normal((20, 5)))
_B = torch.tensor(_gen.standard_normal((20, 3)))
_X0_LSTSQ = _gen.standard_normal((5, 3))


def lstsq(X):
    """Mean squared residual 0.5 ||A X - B||^2 / 20 of a seeded 20x5 system, X is 5x3."""
    r = _A @ X - _B
    return 0.5 * (r * r).sum() / r.shape[0]


PROBLEMS = {
    "rosenbrock": (rosenbrock, np.array([-1.2, 1.0])),
    "lstsq": (lstsq, _X0_LSTSQ),
}

# -- cases: (case id, gdlib name, torch class, hyper-parameters, problem, loss sign) -------
# "default" cases keep torch's defaults except, where the default would barely move in
# STEPS steps, the learning rate. Every optimizer with eps has a case with eps >= 1e-3,
# where a misplaced eps shows. A sign of -1 with maximize=True ascends -f.

CASES = [
    ("gd-rosenbrock", "gd", "SGD", {"lr": 5e-4}, "rosenbrock", 1),
    ("gd-lstsq", "gd", "SGD", {"lr": 0.2}, "lstsq", 1),
    ("sgd-default-rosenbrock", "sgd", "SGD", {}, "rosenbrock", 1),
    ("sgd-momentum-rosenbrock", "sgd", "SGD", {"lr": 2e-4, "momentum": 0.9}, "rosenbrock", 1),
    ("sgd-nesterov-wd-lstsq", "sgd", "SGD",
     {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, "lstsq", 1),
    ("sgd-dampening-wd-lstsq", "sgd", "SGD",
     {"lr": 0.1, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}, "lstsq", 1),
    ("sgd-maximize-lstsq", "sgd", "SGD",
     {"lr": 0.1, "momentum": 0.5, "maximize": True}, "lstsq", -1),
    ("adagrad-default-rosenbrock", "adagrad", "Adagrad", {}, "rosenbrock", 1),
    ("adagrad-lrdecay-lstsq", "adagrad", "Adagrad",
     {"lr": 0.3, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1,
      "eps": 1e-3}, "lstsq", 1),
    ("adagrad-eps-rosenbrock", "adagrad", "Adagrad", {"lr": 0.1, "eps": 0.5}, "rosenbrock", 1),
    ("rmsprop-default-rosenbrock", "rmsprop", "RMSprop", {}, "rosenbrock", 1),
    ("rmsprop-centered-momentum-lstsq", "rmsprop", "RMSprop",
     {"lr": 1e-2, "momentum": 0.9, "centered": True, "weight_decay": 0.01}, "lstsq", 1),
    ("rmsprop-eps-lstsq", "rmsprop", "RMSprop",
     {"lr": 1e-2, "alpha": 0.9, "eps": 1e-2, "maximize": True}, "lstsq", -1),
    ("adadelta-default-rosenbrock", "adadelta", "Adadelta", {}, "rosenbrock", 1),
    ("adadelta-eps-wd-lstsq", "adadelta", "Adadelta",
     {"lr": 0.5, "rho": 0.8, "eps": 1e-3, "weight_decay": 0.01}, "lstsq", 1),
    ("adam-default-rosenbrock", "adam", "Adam", {"lr": 2e-2}, "rosenbrock", 1),
    ("adam-amsgrad-wd-lstsq", "adam", "Adam",
     {"lr": 0.05, "betas": [0.8, 0.99], "amsgrad": True, "weight_decay": 0.05}, "lstsq", 1),
    ("adam-eps-lstsq", "adam", "Adam", {"lr": 0.05, "eps": 1e-2}, "lstsq", 1),
    ("adamw-default-rosenbrock", "adamw", "AdamW", {"lr": 2e-2}, "rosenbrock", 1),
    ("adamw-amsgrad-eps-lstsq", "adamw", "AdamW",
     {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "eps": 1e-3, "maximize": True},
     "lstsq", -1),
    ("adamax-default-rosenbrock", "adamax", "Adamax", {"lr": 2e-2}, "rosenbrock", 1),
    ("adamax-eps-wd-lstsq", "adamax", "Adamax",
     {"lr": 0.05, "betas": [0.8, 0.9], "eps": 0.05, "weight_decay": 0.01}, "lstsq", 1),
    ("nadam-default-rosenbrock", "nadam", "NAdam", {"lr": 2e-2}, "rosenbrock", 1),
    ("nadam-decoupled-eps-lstsq", "nadam", "NAdam",
     {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "eps": 1e-3,
      "momentum_decay": 0.01}, "lstsq", 1),
    ("nadam-l2-lstsq", "nadam", "NAdam",
     {"lr": 0.05, "betas": [0.8, 0.99], "weight_decay": 0.05, "maximize": True}, "lstsq", -1),
    ("radam-default-rosenbrock", "radam", "RAdam", {}, "rosenbrock", 1),
    ("radam-decoupled-eps-lstsq", "radam", "RAdam",
     {"lr": 0.05, "betas": [0.9, 0.99], "weight_decay": 0.1, "decoupled_weight_decay": True,
      "eps": 1e-3}, "lstsq", 1),
    ("radam-l2-lstsq", "radam", "RAdam",
     {"lr": 0.05, "betas": [0.8, 0.95], "weight_decay": 0.05, "maximize": True}, "lstsq", -1),
    # Rprop: the sign-change rule shows on Rosenbrock's curved valley; a tight clip range
    # (both ends reached) on lstsq.
    ("rprop-default-rosenbrock", "rprop", "Rprop", {}, "rosenbrock", 1),
    ("rprop-etas-clip-lstsq", "rprop", "Rprop",
     {"lr": 0.05, "etas": [0.3, 1.5], "step_sizes": [1e-3, 0.1]}, "lstsq", 1),
    ("rprop-maximize-lstsq", "rprop", "Rprop", {"lr": 0.01, "maximize": True}, "lstsq", -1),
    # ASGD: the default t0 = 1e6 never averages in 60 steps; t0 = 10 starts the average at
    # step 11, and a large lambd makes the step-size decay visible.
    ("asgd-default-lstsq", "asgd", "ASGD", {"lr": 0.1}, "lstsq", 1),
    ("asgd-average-wd-lstsq", "asgd", "ASGD",
     {"lr": 0.2, "lambd": 0.5, "alpha": 0.6, "t0": 10, "weight_decay": 0.02}, "lstsq", 1),
    ("asgd-maximize-rosenbrock", "asgd", "ASGD",
     {"lr": 5e-4, "lambd": 1e-2, "t0": 5, "maximize": True}, "rosenbrock", -1),
]


def run_case(torch_class: str, hyper: dict, problem: str, sign: int):
    f, x0 = PROBLEMS[problem]
    x = torch.tensor(x0.copy(), requires_grad=True)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
    opt = getattr(torch.optim, torch_class)([x], **kwargs)
    grads, params, averages = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sign * f(x)
        loss.backward()
        grads.append(x.grad.detach().clone().numpy())
        opt.step()
        params.append(x.detach().clone().numpy())
        if "ax" in opt.state[x]:                      # ASGD's running average
            averages.append(opt.state[x]["ax"].detach().clone().numpy())
    extra = {"ax": np.stack(averages)} if averages else {}
    return x0.copy(), np.stack(grads), np.stack(params), extra


def main() -> None:
    data = {"torch_version": np.array(torch.__version__), "steps": np.array(STEPS)}
    names = []
    for case, gd_name, torch_class, hyper, problem, sign in CASES:
        x0, grads, params, extra = run_case(torch_class, hyper, problem, sign)
        moved = np.abs(params[-1] - x0).max()
        if not (np.all(np.isfinite(params)) and moved < 10):
            raise SystemExit(f"{case}: the trajectory diverged, pick a smaller lr")
        print(f"{case:36s} moved {moved:9.3g}  final |g| {np.abs(grads[-1]).max():9.3g}")
        meta = {"optimizer": gd_name, "torch": f"torch.optim.{torch_class}", "hyper": hyper,
                "problem": problem, "loss_sign": sign}
        data[f"{case}/x0"] = x0
        data[f"{case}/grads"] = grads
        data[f"{case}/params"] = params
        data[f"{case}/meta"] = np.array(json.dumps(meta))
        for key, value in extra.items():
            data[f"{case}/{key}"] = value
        names.append(case)
    data["cases"] = np.array(json.dumps(names))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **data)
    print(f"{len(names)} cases, torch {torch.__version__} -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

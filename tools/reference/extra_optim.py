"""Reference trajectories for gdlib's newer optimizers and for L-BFGS.

Run with the reference environment (torch, jax and optax are never dependencies
of the course)::

    /work/refenv/bin/python tools/reference/extra_optim.py

References, everything in float64:

- ``Lion``: ``optax.lion`` (Chen et al. 2023 has no torch.optim version).
- ``ScheduleFreeAdamW``: ``optax.contrib.schedule_free_adamw``; both the
  training point y (the parameters) and the averaged point x
  (``optax.contrib.schedule_free_eval_params``) are stored.
- ``Muon``: ``torch.optim.Muon``. torch runs the Newton-Schulz iteration in
  bfloat16 (about 3 significant digits), which would hide any mistake in the
  update rule, so this script *monkeypatches* torch's helper
  ``torch.optim._muon._zeropower_via_newtonschulz`` with the same iteration in
  float64 (same coefficients, same normalization, same transposition rule).
  Only the precision changes; the rest is torch's code.
- ``Adafactor``: ``torch.optim.Adafactor`` with ``foreach=False``.
- ``LBFGS``: ``torch.optim.LBFGS``, closed loop (the gradients are recomputed
  by the problem's NumPy function at the points torch chooses), with and
  without ``line_search_fn="strong_wolfe"``.

For the first four the trajectories are *replays*: at each step the script
computes the gradient at the reference's current parameters with NumPy, stores
it, feeds it to the reference, and stores the parameters after the step. The
test feeds the same stored gradients to gdlib, so the update rules are compared
without the chaos of recomputed gradients.

Problems (the test reimplements the same NumPy formulas):

- ``rosenbrock``: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1), a vector;
  for Muon, which takes matrices only, the same point as a (1, 2) matrix.
- ``lstsq``: 0.5 ||A W - B||_F^2 / 20 with a seeded A (20x5), B (20x3), W 5x3
  (Muon's tall case; Adafactor's factored second moment);
  ``lstsq_wide`` is the same with A 20x3, B 20x5, W 3x5.
- ``tensor3``: 0.5 sum(C * (W - T)^2) with a seeded positive C and target T of
  shape (2, 4, 3) (Adafactor's factoring over the last two axes).

Output: ``tests/fixtures/optim_extra.npz``. Per case ``c``: ``c/x0``,
``c/grads`` (steps, *shape), ``c/params`` (steps, *shape), for schedule-free
also ``c/eval_params``; for L-BFGS ``c/params`` after each call of ``step`` and
``c/losses`` (what ``step`` returned) instead of grads; ``c/meta`` is JSON
(gdlib name, reference, hyper-parameters, problem, dtype/shape). ``cases`` lists
the case names; ``versions`` the libraries used; ``problems/...`` the data.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import torch

jax.config.update("jax_enable_x64", True)
torch.set_default_dtype(torch.float64)

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
import torch.optim._muon as torch_muon  # noqa: E402

STEPS = 60
LBFGS_STEPS = 15
OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "optim_extra.npz"

# -- problems (NumPy; the test uses the same formulas) ------------------------------

_gen = np.random.default_rng(20241121)
DATA = {
    "A": _gen.standard_normal((20, 5)),
    "B": _gen.standard_normal((20, 3)),
    "W0": _gen.standard_normal((5, 3)),
    "A_wide": _gen.standard_normal((20, 3)),
    "B_wide": _gen.standard_normal((20, 5)),
    "W0_wide": _gen.standard_normal((3, 5)),
    "C3": _gen.uniform(0.5, 2.0, (2, 4, 3)),
    "T3": _gen.standard_normal((2, 4, 3)),
    "W0_3": _gen.standard_normal((2, 4, 3)),
}


def rosenbrock(x):
    x0, x1 = x.reshape(-1)
    return (1 - x0) ** 2 + 100 * (x1 - x0**2) ** 2


def rosenbrock_grad(x):
    x0, x1 = x.reshape(-1)
    g = np.array([-2 * (1 - x0) - 400 * x0 * (x1 - x0**2), 200 * (x1 - x0**2)])
    return g.reshape(x.shape)


def _lstsq(A, B):
    def f(W):
        r = A @ W - B
        return 0.5 * np.sum(r * r) / A.shape[0]

    def grad(W):
        return A.T @ (A @ W - B) / A.shape[0]

    return f, grad


def tensor3(W):
    return 0.5 * np.sum(DATA["C3"] * (W - DATA["T3"]) ** 2)


def tensor3_grad(W):
    return DATA["C3"] * (W - DATA["T3"])


PROBLEMS = {
    "rosenbrock": (rosenbrock, rosenbrock_grad, np.array([-1.2, 1.0])),
    "rosenbrock_matrix": (rosenbrock, rosenbrock_grad, np.array([[-1.2, 1.0]])),
    "lstsq": (*_lstsq(DATA["A"], DATA["B"]), DATA["W0"]),
    "lstsq_wide": (*_lstsq(DATA["A_wide"], DATA["B_wide"]), DATA["W0_wide"]),
    "tensor3": (tensor3, tensor3_grad, DATA["W0_3"]),
}

# -- Muon: torch's Newton-Schulz helper, in float64 ------------------------------------

_original_ns = torch_muon._zeropower_via_newtonschulz


def _newtonschulz(grad, ns_coefficients, ns_steps, eps, dtype=torch.float64):
    """torch's ``_zeropower_via_newtonschulz`` with ``.bfloat16()`` replaced by ``dtype``."""
    a, b, c = ns_coefficients
    X = grad.to(dtype)
    if grad.size(0) > grad.size(1):
        X = X.T
    X = X.div(X.norm().clamp(min=eps))
    for _ in range(ns_steps):
        A = X @ X.T
        B = torch.addmm(A, A, A, beta=b, alpha=c)
        X = torch.addmm(X, B, X, beta=a)
    if grad.size(0) > grad.size(1):
        X = X.T
    return X


def _check_patch():
    """In bfloat16 the replacement must reproduce torch's helper bit for bit."""
    G = torch.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    for M in (G, G.T):
        want = _original_ns(M, (3.4445, -4.7750, 2.0315), 5, 1e-7)
        got = _newtonschulz(M, (3.4445, -4.7750, 2.0315), 5, 1e-7, dtype=torch.bfloat16)
        assert torch.equal(want, got), "the float64 Newton-Schulz no longer mirrors torch's"


_check_patch()
torch_muon._zeropower_via_newtonschulz = _newtonschulz

# -- reference steppers: make(x0, hyper) -> step(grad) -> params (and eval params) ------


def torch_stepper(cls, **fixed):
    def make(x0, hyper):
        p = torch.tensor(x0, requires_grad=True)
        opt = cls([p], **hyper, **fixed)

        def step(g):
            p.grad = torch.tensor(g)
            opt.step()
            return p.detach().numpy().copy(), None

        return step

    return make


def optax_lion(x0, hyper):
    b1, b2 = hyper.get("betas", (0.9, 0.99))
    tx = optax.lion(learning_rate=hyper.get("lr", 1e-4), b1=b1, b2=b2,
                    weight_decay=hyper.get("weight_decay", 1e-3))
    return _optax_run(tx, x0, with_eval=False)


def optax_schedule_free(x0, hyper):
    b1, b2 = hyper.get("betas", (0.9, 0.999))
    lr, warmup = hyper.get("lr", 0.0025), hyper.get("warmup_steps", 0)
    if warmup:
        # optax's schedule_free_adamw(warmup_steps=W) builds
        # linear_schedule(0, lr, W), which divides its int32 counter in float32
        # (lr(1) comes out as 0.005000002682 instead of 0.005): 1e-9 noise in a
        # float64 reference. Pass the same formula with the counter in float64.
        def lr_schedule(count):
            frac = 1 - jnp.clip(jnp.asarray(count, jnp.float64), 0, warmup) / warmup
            return (0.0 - lr) * frac + lr
    else:
        lr_schedule = lr
    tx = optax.contrib.schedule_free_adamw(
        learning_rate=lr_schedule, warmup_steps=None, b1=b1, b2=b2,
        eps=hyper.get("eps", 1e-8), weight_decay=hyper.get("weight_decay", 0.0),
        weight_lr_power=hyper.get("weight_lr_power", 2.0),
    )
    return _optax_run(tx, x0, with_eval=True)


def _optax_run(tx, x0, with_eval):
    box = {"params": jnp.asarray(x0)}
    box["state"] = tx.init(box["params"])

    def step(g):
        updates, box["state"] = tx.update(jnp.asarray(g), box["state"], box["params"])
        box["params"] = optax.apply_updates(box["params"], updates)
        x = None
        if with_eval:
            x = np.asarray(optax.contrib.schedule_free_eval_params(box["state"], box["params"]))
        return np.asarray(box["params"]).copy(), x

    return step


REPLAY = {
    "lion": ("optax.lion", optax_lion),
    "schedulefree_adamw": ("optax.contrib.schedule_free_adamw", optax_schedule_free),
    "muon": ("torch.optim.Muon (Newton-Schulz in float64)", torch_stepper(torch.optim.Muon)),
    "adafactor": ("torch.optim.Adafactor(foreach=False)",
                  torch_stepper(torch.optim.Adafactor, foreach=False)),
}

# (case id, gdlib name, hyper-parameters, problem). Each optimizer: its defaults, and
# non-default settings (with eps >= 1e-3 where the optimizer has an eps).
REPLAY_CASES = [
    ("lion-default-rosenbrock", "lion", {}, "rosenbrock"),
    ("lion-default-lstsq", "lion", {}, "lstsq"),
    ("lion-custom-rosenbrock", "lion",
     {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.1}, "rosenbrock"),
    ("lion-custom-lstsq", "lion", {"lr": 0.02, "betas": (0.95, 0.98), "weight_decay": 0.0},
     "lstsq"),
    ("sfadamw-default-rosenbrock", "schedulefree_adamw", {}, "rosenbrock"),
    ("sfadamw-default-lstsq", "schedulefree_adamw", {}, "lstsq"),
    ("sfadamw-custom-rosenbrock", "schedulefree_adamw",
     {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.01,
      "warmup_steps": 10, "weight_lr_power": 1.0}, "rosenbrock"),
    ("sfadamw-custom-lstsq", "schedulefree_adamw",
     {"lr": 0.1, "betas": (0.95, 0.9), "eps": 0.1, "weight_decay": 0.05,
      "warmup_steps": 5}, "lstsq"),
    ("muon-default-rosenbrock", "muon", {}, "rosenbrock_matrix"),
    ("muon-default-lstsq", "muon", {}, "lstsq"),
    ("muon-custom-lstsq", "muon",
     {"lr": 0.05, "weight_decay": 0.01, "momentum": 0.9, "nesterov": False, "eps": 1e-3,
      "ns_steps": 3, "adjust_lr_fn": "match_rms_adamw"}, "lstsq"),
    ("muon-custom-wide", "muon",
     {"lr": 0.02, "momentum": 0.8, "eps": 0.5, "ns_coefficients": (2.0, -1.5, 0.5)},
     "lstsq_wide"),
    ("adafactor-default-rosenbrock", "adafactor", {}, "rosenbrock"),
    ("adafactor-default-lstsq", "adafactor", {}, "lstsq"),
    ("adafactor-default-tensor3", "adafactor", {}, "tensor3"),
    ("adafactor-custom-lstsq", "adafactor",
     {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-3, 0.5), "d": 1.2, "weight_decay": 0.05},
     "lstsq"),
    ("adafactor-custom-rosenbrock", "adafactor",
     {"lr": 0.2, "eps": (1e-3, 1e-2), "maximize": True}, "rosenbrock"),
]

# L-BFGS, closed loop: (case id, hyper-parameters, problem).
LBFGS_CASES = [
    ("lbfgs-fixed-lstsq", {"max_iter": 3}, "lstsq"),
    ("lbfgs-wolfe-lstsq", {"max_iter": 3, "line_search_fn": "strong_wolfe"}, "lstsq"),
    ("lbfgs-wolfe-history-lstsq", {"max_iter": 2, "history_size": 3,
                                   "line_search_fn": "strong_wolfe"}, "lstsq"),
    ("lbfgs-fixed-rosenbrock", {"lr": 0.5, "max_iter": 4}, "rosenbrock"),
    ("lbfgs-wolfe-rosenbrock", {"max_iter": 4, "line_search_fn": "strong_wolfe"},
     "rosenbrock"),
]


def replay_case(name, hyper, problem):
    f, grad, x0 = PROBLEMS[problem]
    sign = -1.0 if hyper.get("maximize") else 1.0    # maximize ascends -f, i.e. descends f
    _, make = REPLAY[name]
    step = make(x0.copy(), dict(hyper))
    x = x0.copy()
    grads, params, evals = [], [], []
    for _ in range(STEPS):
        g = sign * grad(x)
        x, x_eval = step(g)
        grads.append(g)
        params.append(x)
        if x_eval is not None:
            evals.append(x_eval)
    out = {"x0": x0, "grads": np.array(grads), "params": np.array(params)}
    if evals:
        out["eval_params"] = np.array(evals)
    return out


def lbfgs_case(hyper, problem):
    f, grad, x0 = PROBLEMS[problem]
    p = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.LBFGS([p], **hyper)

    def closure():
        x = p.detach().numpy()
        p.grad = torch.tensor(grad(x))
        return torch.tensor(f(x))

    params, losses = [], []
    for _ in range(LBFGS_STEPS):
        losses.append(float(opt.step(closure)))
        params.append(p.detach().numpy().copy())
    state = opt.state[p]
    return {"x0": x0, "params": np.array(params), "losses": np.array(losses),
            "func_evals": np.array(state["func_evals"]), "n_iter": np.array(state["n_iter"])}


def main():
    arrays = {f"problems/{k}": v for k, v in DATA.items()}
    cases = []
    for case, name, hyper, problem in REPLAY_CASES:
        for k, v in replay_case(name, hyper, problem).items():
            arrays[f"{case}/{k}"] = v
        meta = {"optimizer": name, "reference": REPLAY[name][0], "hyper": hyper,
                "problem": problem, "steps": STEPS}
        arrays[f"{case}/meta"] = np.array(json.dumps(meta))
        cases.append(case)
    for case, hyper, problem in LBFGS_CASES:
        for k, v in lbfgs_case(hyper, problem).items():
            arrays[f"{case}/{k}"] = v
        meta = {"optimizer": "lbfgs", "reference": "torch.optim.LBFGS", "hyper": hyper,
                "problem": problem, "steps": LBFGS_STEPS}
        arrays[f"{case}/meta"] = np.array(json.dumps(meta))
        cases.append(case)
    arrays["cases"] = np.array(json.dumps(cases))
    arrays["versions"] = np.array(json.dumps({
        "torch": torch.__version__, "jax": jax.__version__, "optax": optax.__version__,
        "numpy": np.__version__}))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {len(cases)} cases to {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()

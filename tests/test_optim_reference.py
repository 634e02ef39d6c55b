"""gdlib's optimizers against torch.optim, step by step.

The fixture (``tests/fixtures/optim_torch.npz``, made by
``tools/reference/torch_optim.py`` with torch in float64) holds, for each case,
the starting point, the gradient torch saw at every step and torch's parameters
after every step. We *replay* the stored gradients through the gdlib optimizer
of the same name and hyper-parameters, so the update rules are compared
directly: a recomputed gradient would amplify last-bit rounding differences on
a curved problem like Rosenbrock.

Error measure: at every step, ``max|x_gdlib - x_torch| / max|x_torch|`` (the
relative error in the infinity norm), which must stay <= 1e-10.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from gdlib.optim import create

FIXTURE = Path(__file__).parent / "fixtures" / "optim_torch.npz"
RTOL = 1e-10


def _load():
    with np.load(FIXTURE) as z:
        names = json.loads(str(z["cases"]))
        cases = {
            name: {
                "x0": z[f"{name}/x0"],
                "grads": z[f"{name}/grads"],
                "params": z[f"{name}/params"],
                "meta": json.loads(str(z[f"{name}/meta"])),
                "ax": z[f"{name}/ax"] if f"{name}/ax" in z.files else None,   # ASGD's average
            }
            for name in names
        }
        return cases, str(z["torch_version"])


CASES, TORCH_VERSION = _load()


def _make(case, x):
    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in case["meta"]["hyper"].items()}
    return create(case["meta"]["optimizer"], x, **hyper)


def _rel_error(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def test_fixture_covers_every_classic_optimizer():
    covered = {c["meta"]["optimizer"] for c in CASES.values()}
    want = {"gd", "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "adamax", "nadam",
            "radam", "rprop", "asgd"}
    assert want <= covered, f"no torch reference for {sorted(want - covered)}"
    assert TORCH_VERSION.startswith("2.")
    for name, case in CASES.items():
        assert case["grads"].shape[0] >= 50, name


@pytest.mark.parametrize("fused", ["0", "1"], ids=["readable", "fused"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_matches_torch(name, fused, monkeypatch):
    monkeypatch.setenv("GDLIB_FUSED", fused)      # both paths of gdlib.optim.fused
    case = CASES[name]
    x = case["x0"].copy()
    opt = _make(case, x)
    worst = 0.0
    for step, (g, want) in enumerate(zip(case["grads"], case["params"]), start=1):
        opt.step(g)
        err = _rel_error(x, want)
        worst = max(worst, err)
        assert err <= RTOL, (
            f"{name}: step {step}, relative error {err:.3g} > {RTOL:g} "
            f"(torch {TORCH_VERSION}, hyper {case['meta']['hyper']})"
        )
    # The trajectory really moved, so agreement is not trivial.
    assert _rel_error(case["params"][-1], case["x0"]) > 1e-2


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n]["ax"] is not None))
def test_asgd_average_matches_torch(name):
    """ASGD's running average (torch's ``state["ax"]``) at every step, from ``average()``."""
    case = CASES[name]
    x = case["x0"].copy()
    opt = _make(case, x)
    for step, (g, want) in enumerate(zip(case["grads"], case["ax"]), start=1):
        opt.step(g)
        err = _rel_error(opt.average(), want)
        assert err <= RTOL, f"{name}: step {step}, average off by {err:.3g} (relative)"
    t0 = case["meta"]["hyper"].get("t0", 1e6)
    if t0 < len(case["grads"]) - 1:                  # the average really averaged
        assert _rel_error(case["ax"][-1], case["params"][-1]) > 1e-3


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_midway_reproduces_trajectory(name):
    case = CASES[name]
    grads, params = case["grads"], case["params"]
    half = len(grads) // 2

    x = case["x0"].copy()
    first = _make(case, x)
    for g in grads[:half]:
        first.step(g)
    saved = pickle.loads(pickle.dumps(first.state_dict()))   # plain data, survives pickling

    # A fresh optimizer on a copy of the parameters, with the saved state loaded.
    y = x.copy()
    second = _make(case, y)
    second.load_state_dict(saved)
    for g in grads[half:]:
        first.step(g)
        second.step(g)
    np.testing.assert_array_equal(y, x)
    assert _rel_error(y, params[-1]) <= RTOL


GPU_CASES = [
    "adagrad-lrdecay-lstsq",
    "rmsprop-centered-momentum-lstsq",
    "adadelta-eps-wd-lstsq",
    "adam-amsgrad-wd-lstsq",
    "nadam-decoupled-eps-lstsq",
    "radam-decoupled-eps-lstsq",
    "rprop-etas-clip-lstsq",
    "asgd-average-wd-lstsq",
]


@pytest.mark.gpu
@pytest.mark.parametrize("name", GPU_CASES)
def test_gpu_replay_matches_numpy(name, gpu_backend):
    """The same rule on CuPy: within 1e-6 relative of NumPy at every step."""
    from gdlib.backend import asarray, to_host

    case = CASES[name]
    x_cpu = case["x0"].copy()
    x_gpu = asarray(case["x0"])
    opt_cpu, opt_gpu = _make(case, x_cpu), _make(case, x_gpu)
    for step, g in enumerate(case["grads"], start=1):
        opt_cpu.step(g)
        opt_gpu.step(asarray(g))
        err = _rel_error(to_host(x_gpu), x_cpu)
        assert err <= 1e-6, f"{name}: step {step}, GPU vs NumPy relative error {err:.3g}"

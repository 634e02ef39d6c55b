"""LARS and LAMB against optax's update rules, replayed to 1e-10.

The fixture ``tests/fixtures/optim_lars_lamb.npz`` comes from
``tools/reference/lars_lamb.py`` (optax in a separate environment): for each case
the gradients optax was fed and its parameters after every step. gdlib is fed
the same gradients. The bias starts at zero, so the trust ratio's zero-norm
branch (ratio 1) is exercised.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from gdlib import backend
from gdlib.optim import LAMB, LARS, REGISTRY, create
from gdlib.optim.lars import trust_ratio

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "optim_lars_lamb.npz"
_Z = np.load(FIXTURE)
CASES = [str(c) for c in _Z["cases"]]
CLASSES = {"LARS": LARS, "LAMB": LAMB}


def _replay(case, xp=np):
    meta = json.loads(str(_Z[f"{case}/meta"]))
    W, b = xp.asarray(_Z["W0"].copy()), xp.asarray(_Z["b0"].copy())
    opt = CLASSES[meta["gdlib"]]([W, b], **meta["hyper"])
    out = []
    for gW, gb in zip(_Z[f"{case}/grads_W"], _Z[f"{case}/grads_b"]):
        opt.step([xp.asarray(gW), xp.asarray(gb)])
        out.append((backend.to_host(W).copy(), backend.to_host(b).copy()))
    return out


@pytest.mark.parametrize("case", CASES)
def test_replay_matches_optax(case, cpu_backend):
    """Every step's parameters equal optax's to 1e-10 (absolute and relative)."""
    for k, (W, b) in enumerate(_replay(case)):
        np.testing.assert_allclose(W, _Z[f"{case}/params_W"][k], rtol=1e-10, atol=1e-10,
                                   err_msg=f"{case}, W after step {k + 1}")
        np.testing.assert_allclose(b, _Z[f"{case}/params_b"][k], rtol=1e-10, atol=1e-10,
                                   err_msg=f"{case}, b after step {k + 1}")


def test_fixture_covers_both_with_default_and_custom_cases():
    assert {json.loads(str(_Z[f"{c}/meta"]))["gdlib"] for c in CASES} == {"LARS", "LAMB"}
    assert {"lars_default", "lars_custom", "lamb_default", "lamb_custom"} <= set(CASES)


def test_trust_ratio_and_its_zero_norm_branch():
    p, u = np.array([3.0, 4.0]), np.array([0.0, 0.5])
    assert trust_ratio(p, u) == pytest.approx(10.0)
    assert trust_ratio(p, u, trust_coefficient=0.001, eps=0.5) == pytest.approx(0.005)
    assert trust_ratio(np.zeros(2), u) == 1.0
    assert trust_ratio(p, np.zeros(2)) == 1.0


def test_lars_moves_each_layer_by_a_fixed_fraction_of_itself():
    """Without momentum, one step changes each array by lr * trust_coefficient * its norm."""
    big, small = np.full(4, 100.0), np.full(4, 0.01)
    opt = LARS([big, small], lr=1.0, momentum=0.0, trust_coefficient=0.01)
    before = [np.linalg.norm(big), np.linalg.norm(small)]
    opt.step([np.array([1.0, -2.0, 3.0, 0.5]), np.array([1e3, 0.0, 0.0, 0.0])])
    moved = [np.linalg.norm(big - 100.0), np.linalg.norm(small - 0.01)]
    np.testing.assert_allclose(np.array(moved) / np.array(before), [0.01, 0.01], rtol=1e-12)


def test_registered_by_name():
    assert REGISTRY["lars"] is LARS and REGISTRY["lamb"] is LAMB
    assert isinstance(create("LAMB", np.zeros(2)), LAMB)


@pytest.mark.parametrize("cls, kwargs, name", [
    (LARS, {"lr": -1.0}, "lr"),
    (LARS, {"momentum": -0.1}, "momentum"),
    (LARS, {"trust_coefficient": 0.0}, "trust_coefficient"),
    (LARS, {"eps": -1e-3}, "eps"),
    (LARS, {"weight_decay": -1.0}, "weight_decay"),
    (LARS, {"nesterov": "yes"}, "nesterov"),
    (LAMB, {"betas": (0.9, 1.0)}, "betas[1]"),
    (LAMB, {"eps": 0.0}, "eps"),
    (LAMB, {"weight_decay": float("nan")}, "weight_decay"),
])
def test_bad_hyper_parameters_name_the_parameter(cls, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name.replace("[", r"\[").replace("]", r"\]")):
        cls(np.zeros(2), **kwargs)


@pytest.mark.parametrize("cls", [LARS, LAMB])
def test_refused_step_changes_nothing(cls):
    w = np.array([1.0, 2.0])
    opt = cls(w)
    with pytest.raises(ValueError, match="shape"):
        opt.step(np.zeros(3))
    assert opt.t == 0 and w.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("cls", [LARS, LAMB])
def test_state_dict_round_trip(cls):
    """Stopping midway, saving and loading continues on the same trajectory."""
    g = np.array([[0.3, -0.2], [0.1, 0.4]])
    w1, w2 = np.ones((2, 2)), np.ones((2, 2))
    a, b = cls(w1, lr=0.1), cls(w2, lr=0.1)
    for _ in range(3):
        a.step(g * w1)
        b.step(g * w2)
    b2 = cls(w2, lr=0.1)
    b2.load_state_dict(b.state_dict())
    for _ in range(3):
        a.step(g * w1)
        b2.step(g * w2)
    np.testing.assert_array_equal(w1, w2)


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES)
def test_gpu_matches_cpu(case, gpu_backend):
    import cupy

    gpu = _replay(case, xp=cupy)
    backend.use("cpu")
    cpu = _replay(case)
    for (Wg, bg), (Wc, bc) in zip(gpu, cpu):
        np.testing.assert_allclose(Wg, Wc, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(bg, bc, rtol=1e-9, atol=1e-12)

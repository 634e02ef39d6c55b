"""gdlib.clipping: by hand and against torch.nn.utils (fixtures in schedules_torch.npz)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gdlib.clipping import clip_grad_norm_, clip_grad_value_, total_norm
from gdlib.errors import NonFiniteGradientError

FIXTURE = Path(__file__).parent / "fixtures" / "schedules_torch.npz"


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files if k.startswith("clip/")}


def test_norm_clipping_by_hand():
    a, b = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert norm == 5.0
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a, [3 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b, [[0.0], [4 * scale]], rtol=1e-15)
    assert math.hypot(*a, *b.ravel()) == pytest.approx(1.0, rel=1e-6)


def test_no_change_below_the_cap_and_single_array_and_dict():
    g = np.array([0.3, -0.4])
    assert clip_grad_norm_(g, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(g, [0.3, -0.4])
    d = {"w": np.array([6.0, 8.0]), "b": None}
    assert clip_grad_norm_(d, 5.0) == 10.0
    np.testing.assert_allclose(d["w"], [3.0, 4.0], rtol=1e-6)


def test_other_norms_by_hand():
    gs = [np.array([1.0, -2.0]), np.array([3.0])]
    assert total_norm(gs, 1) == 6.0
    assert total_norm(gs, float("inf")) == 3.0
    assert total_norm(gs, 3) == pytest.approx((1 + 8 + 27) ** (1 / 3), rel=1e-15)
    norm = clip_grad_norm_(gs, 1.5, norm_type="inf")
    assert norm == 3.0
    np.testing.assert_allclose(gs[1], [1.5 * 3 / (3 + 1e-6)], rtol=1e-15)


def test_value_clipping_by_hand():
    g = [np.array([-2.0, 0.1, 0.5]), np.array([[7.0]])]
    clip_grad_value_(g, 0.3)
    np.testing.assert_array_equal(g[0], [-0.3, 0.1, 0.3])
    np.testing.assert_array_equal(g[1], [[0.3]])


def test_matches_torch(ref):
    inputs = [ref[f"clip/input/{i}"] for i in range(3)]
    cases = json.loads(str(ref["clip/cases_json"]))
    clipped_some = False
    for case in cases:
        key = case["key"]
        grads = [g.copy() for g in inputs]
        norm = clip_grad_norm_(grads, case["max_norm"], norm_type=case["norm_type"])
        assert norm == pytest.approx(float(ref[f"clip/norm/{key}/total"]), rel=1e-13), key
        for i, g in enumerate(grads):
            np.testing.assert_allclose(g, ref[f"clip/norm/{key}/{i}"], rtol=1e-13, atol=0,
                                       err_msg=key)
        clipped_some |= not np.array_equal(grads[0], inputs[0])
    assert clipped_some
    grads = [g.copy() for g in inputs]
    clip_grad_value_(grads, 0.3)
    for i, g in enumerate(grads):
        np.testing.assert_array_equal(g, ref[f"clip/value/0.3/{i}"])


def test_nonfinite():
    g = [np.array([np.inf, 1.0])]
    with pytest.raises(NonFiniteGradientError, match="total norm"):
        clip_grad_norm_(g, 1.0, error_if_nonfinite=True)
    g = [np.array([np.nan, 1.0])]
    clip_grad_norm_(g, 1.0)                      # as torch: no error, the NaN spreads
    assert np.isnan(g[0]).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(np.ones(2), -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(np.ones(2), 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(np.ones(2), -0.1)
    with pytest.raises(TypeError, match="arrays"):
        clip_grad_norm_([1.0, 2.0], 1.0)

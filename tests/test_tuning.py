"""gdlib.tuning: search spaces, quasi-random points, studies, performance profiles, diagnostics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlib import tuning
from gdlib.tuning import (
    Dim,
    SearchSpace,
    UpdateRatio,
    Workload,
    grid_search,
    lr_range_test,
    median_over_studies,
    performance_profile,
    performance_ratios,
    quasi_random,
    random_search,
    run_study,
    run_trial,
    steps_to_target,
)

SPACE = SearchSpace(lr=Dim(1e-4, 1.0, "log"), wd=Dim(0.0, 0.1, "linear"),
                    beta=Dim(0.9, 0.999, "one_minus_log"), nesterov=True)


# -- the space -------------------------------------------------------------------------


def test_dims_map_the_unit_interval_onto_their_scales():
    assert Dim(1e-4, 1.0).from_unit([0, 0.5, 1]) == pytest.approx([1e-4, 1e-2, 1.0])
    assert Dim(2.0, 4.0, "linear").from_unit([0, 0.25, 1]) == pytest.approx([2, 2.5, 4])
    # 1 - beta log-uniform: 0.9 -> 0.99 -> 0.999 equally spaced
    assert Dim(0.9, 0.999, "one_minus_log").from_unit([0, 0.5, 1]) == pytest.approx(
        [0.9, 0.99, 0.999])
    for d in SPACE.dims.values():
        u = np.linspace(0, 1, 7)
        np.testing.assert_allclose(d.to_unit(d.from_unit(u)), u, atol=1e-12)


def test_fixed_values_ride_along():
    configs = quasi_random(SPACE, 4, seed=1)
    assert all(c["nesterov"] is True for c in configs)
    assert set(configs[0]) == {"lr", "wd", "beta", "nesterov"}
    assert SPACE.names == ["lr", "wd", "beta"]


@pytest.mark.parametrize("method", ["halton", "sobol"])
def test_quasi_random_points_cover_the_space(method):
    n = 64
    configs = quasi_random(SPACE, n, seed=3, method=method)
    U = SPACE.to_unit(configs)
    assert U.shape == (n, 3) and U.min() >= 0 and U.max() <= 1
    # every one of the 8 bins of every dimension holds exactly n/8 points (stratified)
    for j in range(3):
        counts = np.bincount((U[:, j] * 8).astype(int), minlength=8)
        # Sobol' in a power of 2 is exactly stratified; Halton's base-3 and base-5
        # coordinates are stratified in powers of 3 and 5, so nearly
        assert counts.max() - counts.min() <= (0 if method == "sobol" else 3), (method, j, counts)
    # in 2-d, 4 x 4 cells of (lr, beta): none empty
    cells = np.unique((U[:, 0] * 4).astype(int) * 4 + (U[:, 2] * 4).astype(int))
    assert len(cells) == 16
    # the learning rates span the decades evenly: about a quarter per decade
    lr = np.array([c["lr"] for c in configs])
    per_decade = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1, 0])[0]
    assert per_decade.min() >= 14, per_decade


def test_quasi_random_is_more_even_than_random():
    from scipy.stats import qmc

    Uq = SPACE.to_unit(quasi_random(SPACE, 32, seed=0))
    Ur = SPACE.to_unit(random_search(SPACE, 32, seed=0))
    assert qmc.discrepancy(Uq) < qmc.discrepancy(Ur)


def test_seeds_reproduce_and_differ():
    a, b, c = (quasi_random(SPACE, 5, seed=s) for s in (7, 7, 8))
    assert a == b and a != c
    assert random_search(SPACE, 5, seed=2) == random_search(SPACE, 5, seed=2)
    assert random_search(SPACE, 5, seed=2) != random_search(SPACE, 5, seed=3)


def test_grid_is_the_largest_full_grid():
    g = grid_search(SearchSpace(lr=Dim(1e-3, 1.0), m=Dim(0.0, 1.0, "linear")), 10)
    assert len(g) == 9                                  # 3 x 3 <= 10
    assert sorted({round(c["lr"], 12) for c in g}) == pytest.approx([1e-3, 10**-1.5, 1.0])
    assert len(grid_search(SearchSpace(lr=Dim(1e-3, 1.0)), 5)) == 5
    assert grid_search(SearchSpace(lr=Dim(1e-3, 1.0)), 1)[0]["lr"] == pytest.approx(10**-1.5)


# -- steps to target -------------------------------------------------------------------------


def test_steps_to_target_first_hit_and_misses_as_infinity():
    assert steps_to_target([3, 2, 1, 0.5], 1.5, steps=[10, 20, 30, 40]) == 30
    assert steps_to_target([3, 1.5, 1], 1.5, steps=[1, 2, 3]) == 2        # equal counts
    assert steps_to_target([0.1, 0.9, 0.97], 0.95, higher_is_better=True) == 3
    assert steps_to_target([3, 2, 2], 1.0) == math.inf
    assert steps_to_target([np.nan, np.nan], 1.0) == math.inf
    assert steps_to_target([np.nan, 0.5], 1.0, steps=[5, 10]) == 10
    assert steps_to_target([], 1.0) == math.inf


# -- performance profiles --------------------------------------------------------------------


TIMES = {  # three workloads: A wins two, B wins one, C misses one
    "A": [10.0, 20.0, 40.0],
    "B": [20.0, 10.0, 60.0],
    "C": [15.0, math.inf, 30.0],
}


def test_performance_ratios_by_hand():
    r = performance_ratios(TIMES)
    np.testing.assert_allclose(r["A"], [1.0, 2.0, 4 / 3])
    np.testing.assert_allclose(r["B"], [2.0, 1.0, 2.0])
    np.testing.assert_allclose(r["C"], [1.5, math.inf, 1.0])


def test_performance_profile_by_hand():
    rho = performance_profile(TIMES, [1.0, 1.4, 1.5, 2.0, 100.0])
    np.testing.assert_allclose(rho["A"], [1 / 3, 2 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(rho["B"], [1 / 3, 1 / 3, 1 / 3, 1, 1])
    np.testing.assert_allclose(rho["C"], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3])   # <= tau: 1.5
    # a workload nobody solves counts as unsolved for everyone
    rho = performance_profile({"A": [1.0, math.inf], "B": [2.0, math.inf]}, [1, 10])
    np.testing.assert_allclose(rho["A"], [0.5, 0.5])
    np.testing.assert_allclose(rho["B"], [0.0, 0.5])
    # ties: both win
    rho = performance_profile({"A": [5.0], "B": [5.0]}, [1.0])
    assert rho["A"][0] == rho["B"][0] == 1.0


# -- studies on a tiny workload -----------------------------------------------------------------


def _quadratic_workload(max_steps=60, target=1e-3):
    h = np.array([1.0, 10.0])

    def loss_and_grad(w, batch):
        return 0.5 * float(h @ w**2), h * w

    return Workload("quadratic", init=lambda seed: np.array([1.0, 1.0]) + 0.0 * seed,
                    loss_and_grad=loss_and_grad, data=None,
                    evaluate=lambda w: 0.5 * float(h @ w**2), target=target,
                    max_steps=max_steps, eval_every=1)


def test_trial_counts_steps_and_stops_at_the_target():
    w = _quadratic_workload()
    t = run_trial(w, "gd", {"lr": 0.15})
    # GD on curvatures 1 and 10 at lr 0.15: the slow mode shrinks by 0.85 per step
    want = next(k for k in range(1, 61)
                if 0.5 * (0.85 ** (2 * k) + 10 * 0.5 ** (2 * k)) <= 1e-3)
    assert t.steps == want and t.reached and t.checkpoints[-1] == want
    assert 0 < t.seconds < 5
    miss = run_trial(w, "gd", {"lr": 1e-4})
    assert miss.steps == math.inf and miss.seconds == math.inf and not miss.reached
    boom = run_trial(w, "gd", {"lr": 5.0})                       # diverges: a miss
    assert boom.steps == math.inf


def test_study_keeps_the_fastest_trial_and_median_counts_misses():
    w = _quadratic_workload()
    space = SearchSpace(lr=Dim(1e-3, 0.19))
    s = run_study(w, "gd", space, 6, seed=0)
    assert len(s.trials) == 6
    assert s.steps == min(t.steps for t in s.trials)
    assert s.best.config["lr"] == max(t.config["lr"] for t in s.trials)   # larger lr, faster
    # reproducible
    assert run_study(w, "gd", space, 6, seed=0).steps == s.steps
    res = median_over_studies(w, "gd", space, 4, n_studies=3, seed=0)
    assert res["steps"] == np.median([st.steps for st in res["studies"]])
    # a budget too small for every trial: the median is infinite, not dropped
    res = median_over_studies(_quadratic_workload(max_steps=3), "gd", space, 3, n_studies=3)
    assert res["steps"] == math.inf


def test_study_methods():
    w = _quadratic_workload()
    space = SearchSpace(lr=Dim(1e-3, 0.19))
    assert len(run_study(w, "gd", space, 4, method="grid").trials) == 4
    assert len(run_study(w, "gd", space, 4, method="random").trials) == 4
    with pytest.raises(ValueError, match="search method"):
        run_study(w, "gd", space, 4, method="bayes")


# -- diagnostics ----------------------------------------------------------------------------------


def test_lr_range_test_finds_the_stable_range():
    h = np.array([1.0, 4.0])
    w = np.array([1.0, 1.0])

    def loss_and_grad(x, batch):
        return 0.5 * float(h @ x**2), h * x

    out = lr_range_test(w, loss_and_grad, "gd", lr_min=1e-3, lr_max=10.0, steps=80)
    assert out["lr"][0] == pytest.approx(1e-3)
    assert np.all(np.diff(out["lr"]) > 0)
    assert len(out["loss"]) < 80                       # stopped when the loss blew up
    # GD on a quadratic is stable (the loss never rises) below 2 / L = 0.5: the first rise
    # comes from a step taken above it. loss[i] is measured before step i + 1, after a
    # step at lr[i - 1].
    rises = np.flatnonzero(np.diff(out["loss"]) > 0)
    assert len(rises) and out["lr"][rises].min() > 0.5
    assert out["smoothed"].min() < 0.02 * out["loss"][0]
    assert out["best_lr"] > 0.5
    assert out["suggested_lr"] == pytest.approx(out["best_lr"] / 10)


def test_update_ratio_records_relative_steps():
    w = {"a": np.array([3.0, 4.0]), "b": np.array([1.0])}
    rec = UpdateRatio(w)
    w["a"] -= np.array([0.3, 0.4])                    # 10 % of |a| = 5
    w["b"] *= 1.0
    rec(1, 0.0)
    assert rec.ratios["a"] == pytest.approx([0.1])
    assert rec.ratios["b"] == [0.0]
    assert rec.steps == [1]


# -- bad input, named ---------------------------------------------------------------------------


@pytest.mark.parametrize("make, match", [
    (lambda: Dim(1.0, 0.1), "low must be < high"),
    (lambda: Dim(0.0, 1.0, "log"), "low"),
    (lambda: Dim(0.9, 1.0, "one_minus_log"), "high"),
    (lambda: Dim(0.1, 1.0, "exp"), "kind"),
    (lambda: Dim(float("nan"), 1.0), "low"),
    (lambda: SearchSpace(), "at least one"),
    (lambda: SearchSpace(nesterov=True), "Dim"),
    (lambda: quasi_random(SPACE, 0), "n"),
    (lambda: quasi_random(SPACE, 4, method="latin"), "method"),
    (lambda: steps_to_target([1, 2], 1.0, steps=[1]), "steps"),
    (lambda: performance_ratios({"A": [1.0, float("nan")]}), "inf"),
    (lambda: performance_ratios({"A": [1.0], "B": [1.0, 2.0]}), "one time per workload"),
    (lambda: performance_ratios({"A": [0.0]}), "positive"),
    (lambda: performance_profile(TIMES, [0.5]), "taus"),
    (lambda: SPACE.from_unit(np.ones((2, 2))), "shape"),
    (lambda: SPACE.from_unit(np.full((2, 3), 1.5)), r"\[0, 1\]"),
    (lambda: _quadratic_workload(max_steps=0), "max_steps"),
    (lambda: lr_range_test(np.ones(2), lambda x, b: (0.0, x), lr_min=1.0, lr_max=0.1),
     "lr_max"),
    (lambda: UpdateRatio(np.ones(2), every=0), "every"),
])
def test_bad_input_is_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: quasi_random({"lr": (1e-3, 1)}, 4), "SearchSpace"),
    (lambda: quasi_random(SPACE, 2.5), "n"),
    (lambda: performance_profile([1, 2], [1.0]), "dict"),
    (lambda: run_trial("quadratic", "gd", {"lr": 0.1}), "Workload"),
    (lambda: run_trial(_quadratic_workload(), "gd", [0.1]), "config"),
])
def test_bad_types_are_named(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_public_names():
    for name in tuning.__all__:
        assert hasattr(tuning, name), name


def test_workload_from_model_trains_a_gdlib_nn_model():
    from gdlib import nn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
    mse = nn.MSELoss()
    w = Workload.from_model("linear", lambda seed: nn.Dense(3, 1, rng=seed), nn.MSELoss(), X, y,
                            evaluate=lambda m: mse(m(X), y), target=1e-3, max_steps=300,
                            batch_size=16, eval_every=4)
    assert w.steps_per_epoch() == 4
    t = run_trial(w, "sgd", {"lr": 0.1, "momentum": 0.9})
    assert t.reached and t.steps % 4 == 0 and t.values[-1] <= 1e-3 < t.values[0]
    again = run_trial(w, "sgd", {"lr": 0.1, "momentum": 0.9})
    assert again.steps == t.steps                                 # seeded: reproducible
    with pytest.raises(TypeError, match="make_model"):
        Workload.from_model("x", None, nn.MSELoss(), X, y, evaluate=len, target=0.0,
                            max_steps=1)


@pytest.mark.gpu
def test_update_ratio_on_the_gpu_matches_numpy(gpu_backend):
    from gdlib.backend import asarray

    a = np.array([3.0, 4.0])
    cpu, gpu = UpdateRatio([a]), UpdateRatio([asarray(a)])
    a -= np.array([0.3, 0.4])
    gpu._params["params[0]"][...] = asarray(a)
    cpu(1), gpu(1)
    assert gpu.ratios["params[0]"] == pytest.approx(cpu.ratios["params[0]"], rel=1e-12)

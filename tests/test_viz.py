"""Plotting helpers: each draws the expected artists and returns its Axes."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

from gdlib import functions, viz  # noqa: E402
from gdlib.train import minimize  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_contours_draws_paths_minima_and_legend():
    f = functions.rosenbrock()
    gd = minimize(f, lr=1e-3, steps=200, tol=0)
    adam = minimize(f, optimizer="adam", lr=0.05, steps=200, tol=0)
    raw = np.array([[-1.5, 2.0], [-1.0, 1.5], [0.0, 0.5]])
    ax = viz.plot_contours(f, {"GD": gd, "Adam": adam.history, "raw": raw})
    assert legend_labels(ax) == ["minimum", "GD", "Adam", "raw"]
    # 1 line of minima + 3 per path (the path, its start, its end).
    assert len(ax.lines) == 1 + 3 * 3
    path = next(ln for ln in ax.lines if ln.get_label() == "raw")
    np.testing.assert_array_equal(path.get_xydata(), raw)
    ends = [ln for ln in ax.lines if ln.get_label() == "_end"]
    np.testing.assert_allclose(ends[0].get_xydata()[0], gd.x)
    assert len(ax.collections) > 0                    # the contour lines
    assert ax.get_xlim() == tuple(f.bounds[0]) and ax.get_ylim() == tuple(f.bounds[1])


def test_log_levels_cluster_near_the_minimum():
    f = functions.quadratic(condition_number=10.0)
    fig, (a, b) = plt.subplots(1, 2)
    viz.plot_contours(f, ax=a, levels=20, log_levels=True)
    viz.plot_contours(f, ax=b, levels=20, log_levels=False)
    log_lv = np.asarray(a.collections[0].levels)
    assert len(log_lv) == 20
    ratios = log_lv[1:] / log_lv[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)   # geometric spacing
    assert log_lv[0] < np.asarray(b.collections[0].levels)[1]


def test_plot_contours_accepts_a_single_path_and_a_plain_callable():
    f = lambda x: (x[0] - 1) ** 2 + 2 * x[1] ** 2  # noqa: E731  (vectorised over a grid)
    path = np.array([[2.0, 1.0], [1.5, 0.5], [1.1, 0.1]])
    ax = viz.plot_contours(f, path, bounds=[(-1, 3), (-1, 1.5)], mark_minima=True)
    assert legend_labels(ax) == ["path"]
    scalar_only = lambda x: float(np.sum((np.asarray(x) - 1.0) ** 2))  # noqa: E731
    ax = viz.plot_contours(scalar_only, bounds=[(-1, 3), (-1, 3)], n=20)
    assert ax.get_legend() is None and len(ax.collections) > 0
    with pytest.raises(ValueError, match="plot_1d"):
        viz.plot_contours(functions.parabola())


def test_plot_1d_draws_the_curve_and_the_iterates():
    f = functions.double_well()
    res = minimize(f, lr=0.05, steps=30, tol=0)
    ax = viz.plot_1d(f, {"GD": res})
    assert legend_labels(ax) == [f.name, "GD"]
    path = next(ln for ln in ax.lines if ln.get_label() == "GD")
    xs, ys = path.get_xdata(), path.get_ydata()
    np.testing.assert_allclose(xs, res.history.params[:, 0])
    np.testing.assert_allclose(ys, res.history.loss)      # the iterates sit on the curve


def test_plot_losses_one_line_per_run():
    f = functions.quadratic(condition_number=10.0)
    runs = {"lr=0.05": minimize(f, lr=0.05, steps=60, tol=0),
            "lr=0.15": minimize(f, lr=0.15, steps=60, tol=0).history,
            "array": np.linspace(10, 1, 5)}
    ax = viz.plot_losses(runs)
    assert len(ax.lines) == 3
    assert legend_labels(ax) == list(runs)
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(61))
    ax = viz.plot_losses(minimize(f, lr=0.05, steps=10, tol=0), log=False)
    assert ax.get_legend() is None and ax.get_yscale() == "linear"
    ax = viz.plot_losses({"neg": np.array([1.0, -1.0])})
    assert ax.get_yscale() == "symlog"


def test_plot_losses_per_epoch_from_train():
    from gdlib.train import train

    w = np.array([3.0])
    h = train(w, lambda p, b: (float(p[0] ** 2), 2 * p), "gd", epochs=6, lr=0.1)
    ax = viz.plot_losses({"train": h}, x="epoch")
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, 7))
    with pytest.raises(ValueError, match="per-epoch"):
        viz.plot_losses({"m": minimize(functions.parabola(), 1.0, steps=3)}, x="epoch")


def test_lr_sweep_catches_divergence_and_never_raises():
    f = functions.quadratic(condition_number=10.0)       # stable iff lr < 2 / L = 0.2
    lrs = [0.01, 0.1, 0.19, 0.25, 1.0, -0.1]
    out = viz.lr_sweep(f, None, "gd", lrs, steps=200)
    assert list(out) == lrs
    assert out[0.25] == math.inf and out[1.0] == math.inf
    assert math.isnan(out[-0.1])
    assert out[0.1] < out[0.01]
    assert out[0.1] == pytest.approx(minimize(f, lr=0.1, steps=200).fun)


def test_plot_lr_sweep_marks_diverged_runs():
    ax = viz.plot_lr_sweep({0.01: 1.0, 0.1: 0.01, 0.3: math.inf, 1.0: math.nan})
    assert legend_labels(ax) == ["final loss", "diverged"]
    ok, bad = ax.lines
    np.testing.assert_array_equal(ok.get_xdata(), [0.01, 0.1])
    np.testing.assert_array_equal(bad.get_xdata(), [0.3, 1.0])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    ax = viz.plot_lr_sweep([0.1, 0.2], [1.0, 0.5])
    assert legend_labels(ax) == ["final loss"]
    with pytest.raises(ValueError, match="2 learning rates but 1 losses"):
        viz.plot_lr_sweep([0.1, 0.2], [1.0])


def test_plot_surface_is_3d_with_the_path():
    f = functions.himmelblau()
    res = minimize(f, lr=0.01, steps=40, tol=0)
    ax = viz.plot_surface(f, path=res, n=30)
    assert ax.name == "3d"
    assert len(ax.collections) == 1                  # the surface
    (line,) = ax.lines
    xs, ys, zs = line.get_data_3d()
    np.testing.assert_allclose(zs, res.history.loss)


def test_animation_has_one_frame_per_sampled_step():
    f = functions.quadratic(condition_number=5.0)
    runs = {"GD": minimize(f, lr=0.1, steps=30, tol=0),
            "momentum": minimize(f, optimizer="sgd", lr=0.05, momentum=0.8, steps=20, tol=0)}
    anim = viz.animate_path(f, runs, max_frames=12, interval=50)
    assert isinstance(anim, FuncAnimation)
    assert anim.n_frames == 12
    html = viz.animation_html(anim)
    assert isinstance(html, str) and html._repr_html_() == str(html)
    frames = re.findall(r'frames\[\d+\] = "data:image/(\w+);base64', html)
    assert frames == ["jpeg"] * 12
    assert "<script" in html
    assert anim._fig.number not in plt.get_fignums()       # closed: no duplicate picture
    assert "AnimationHTML" in repr(html)


def test_animation_of_a_1d_run_draws_the_last_frame():
    f = functions.parabola()
    res = minimize(f, 2.0, lr=0.3, steps=8, tol=0)
    anim = viz.animate_path(f, res, max_frames=100)
    assert anim.n_frames == 9
    html = viz.animation_html(anim, frame_format="png")
    assert len(re.findall(r'frames\[\d+\] = "data:image/png', html)) == 9
    line = next(ln for ln in anim._fig.axes[0].lines if ln.get_label() == "path")
    np.testing.assert_allclose(line.get_xdata(), res.history.params[:, 0])  # ends complete


def test_timeline_labels_every_event_in_order():
    events = [(1951, "Robbins-Monro"), (1847, "Cauchy"), (2014, "Adam"), (1964, "Polyak")]
    ax = viz.timeline(events)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 4
    assert [t for t in texts if "Cauchy" in t] == ["1847\nCauchy"]
    order = [next(i for i, t in enumerate(texts) if name in t)
             for name in ("Cauchy", "Robbins", "Polyak", "Adam")]
    assert order == [0, 1, 2, 3]
    (dots,) = [ln for ln in ax.lines if ln.get_marker() == "o"]   # besides the axis line
    np.testing.assert_array_equal(dots.get_xdata(), [1847, 1951, 1964, 2014])
    with pytest.raises(ValueError, match="at least one"):
        viz.timeline([])


def test_as_path_rejects_train_histories_and_bad_shapes():
    from gdlib.train import History

    with pytest.raises(ValueError, match="no recorded parameters"):
        viz.as_path(History())
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        viz.as_path(np.zeros((2, 2, 2)))
    np.testing.assert_array_equal(viz.as_path([1.0, 2.0]), [[1.0], [2.0]])

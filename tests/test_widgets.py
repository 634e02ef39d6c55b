"""The generic explorer: controls, redraws from code and from widget events, static figures."""

from __future__ import annotations

import ipywidgets as w
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gdlib.widgets import Explorer, explorer, make_control  # noqa: E402


class Recorder:
    """A draw function that plots a·x^p and remembers what it was called with."""

    def __init__(self):
        self.calls = []

    def __call__(self, fig, a, p, kind, grid, label="fixed"):
        self.calls.append(dict(a=a, p=p, kind=kind, grid=grid, label=label))
        ax = fig.add_subplot()
        x = np.linspace(0, 2, 21)
        y = a * x**p if kind == "power" else a * np.exp(x)
        ax.plot(x, y, label=label)
        ax.grid(grid)


def make(draw):
    return explorer(draw, a=(0.5, 3.0, 0.5, 1.0), p=(1, 4, 1), kind=["power", "exp"],
                    grid=True, label="curve")


def ydata(fig):
    (ax,) = fig.axes
    (line,) = ax.lines
    return line.get_ydata().copy()


def test_controls_are_built_from_the_specs():
    ex = make(Recorder())
    assert isinstance(ex, Explorer)
    c = ex.controls
    assert isinstance(c["a"], w.FloatSlider) and (c["a"].min, c["a"].max, c["a"].step) == (
        0.5, 3.0, 0.5)
    assert isinstance(c["p"], w.IntSlider) and c["p"].value == 2      # the middle of 1..4
    assert isinstance(c["kind"], w.Dropdown) and c["kind"].value == "power"
    assert isinstance(c["grid"], w.Checkbox)
    assert ex.fixed == {"label": "curve"}
    assert ex.values == {"a": 1.0, "p": 2, "kind": "power", "grid": True, "label": "curve"}
    assert all(not s.continuous_update for s in (c["a"], c["p"]))
    assert isinstance(ex.widget, w.VBox) and ex.output in ex.widget.children
    assert set(ex.widget.children[0].children) == set(c.values())


def test_log_slider_dict_dropdown_and_ready_widget():
    slider = w.FloatSlider(min=0, max=1, value=0.25)
    ctl = make_control("lr", ("log", 1e-3, 1.0, 0.1))
    assert isinstance(ctl, w.FloatLogSlider)
    assert ctl.value == pytest.approx(0.1) and (ctl.min, ctl.max) == (-3.0, 0.0)
    drop = make_control("opt", {"Plain GD": "gd", "Adam": "adam"})
    assert drop.value == "gd" and drop.label == "Plain GD"
    assert make_control("s", slider) is slider and slider.description == "s"
    assert make_control("n", 7) is None                   # a fixed value
    with pytest.raises(ValueError, match="min < max"):
        make_control("bad", (3, 1, 1))
    with pytest.raises(ValueError, match="0 < min < max"):
        make_control("bad", ("log", 0.0, 1.0))


def test_update_redraws_and_returns_the_figure():
    draw = Recorder()
    ex = make(draw)
    assert ex.draw_count == 1 and len(draw.calls) == 1       # drawn once at creation
    before = ydata(ex.figure)
    fig = ex.update(a=2.0, p=3)
    assert fig is ex.figure
    assert ex.draw_count == 2 and len(draw.calls) == 2        # one redraw for two values
    after = ydata(fig)
    x = np.linspace(0, 2, 21)
    np.testing.assert_allclose(before, 1.0 * x**2)
    np.testing.assert_allclose(after, 2.0 * x**3)
    assert len(fig.axes) == 1                                 # cleared, not stacked
    assert ex.controls["a"].value == 2.0 and ex.values["p"] == 3
    ex.update(label="other")
    assert draw.calls[-1]["label"] == "other"
    with pytest.raises(ValueError, match="unknown control"):
        ex.update(b=1)


def test_setting_a_widget_value_triggers_a_redraw():
    draw = Recorder()
    ex = make(draw)
    ex.controls["kind"].value = "exp"
    assert ex.draw_count == 2
    np.testing.assert_allclose(ydata(ex.figure), np.exp(np.linspace(0, 2, 21)))
    ex.controls["a"].value = 3.0
    assert ex.draw_count == 3 and draw.calls[-1]["a"] == 3.0
    ex.controls["grid"].value = False
    assert draw.calls[-1] == dict(a=3.0, p=2, kind="exp", grid=False, label="curve")


def test_static_draws_a_separate_figure_at_given_values():
    draw = Recorder()
    ex = make(draw)
    n = ex.draw_count
    fig = ex.static(a=10.0, kind="power")                     # beyond the slider's range
    assert isinstance(fig, Figure) and fig is not ex.figure
    np.testing.assert_allclose(ydata(fig), 10.0 * np.linspace(0, 2, 21) ** 2)
    assert ex.controls["a"].value == 1.0 and ex.draw_count == n   # the controls are untouched
    assert fig.number not in plt.get_fignums()                    # closed: shown once
    assert tuple(fig.get_size_inches()) == (9, 4)


def test_repr_and_mimebundle():
    ex = make(Recorder())
    assert repr(ex).startswith("Explorer(a=1.0, p=2")
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id


def test_errors_in_draw_are_not_hidden_from_code():
    def draw(fig, a):
        if a > 1:
            raise RuntimeError("boom")
        fig.add_subplot()

    ex = explorer(draw, a=(0.0, 2.0, 0.5, 0.5))
    with pytest.raises(RuntimeError, match="boom"):
        ex.update(a=2.0)
    with pytest.raises(TypeError, match="draw must be a function"):
        explorer("not a function", a=(0, 1, 1))

"""A generic interactive explorer: sliders and menus that redraw a figure.

A lesson writes one function that draws a figure for given values, and the
explorer turns it into controls::

    def draw(fig, lr, steps):
        ax = fig.add_subplot()
        res = minimize(f, lr=lr, steps=steps)
        plot_contours(f, {"GD": res}, ax=ax)

    ex = explorer(draw, lr=("log", 1e-3, 1.0, 0.1), steps=(10, 200, 10, 50))
    ex                     # in Jupyter: the sliders and the figure
    ex.static(lr=0.3)      # a plain figure, for the website

The figure is rendered to a PNG image inside an ``ipywidgets.Output``, so the
explorer works with Matplotlib's default inline backend, in JupyterLab, and in a
kernel with no front end at all (nbval, the book build), where
:meth:`Explorer.update` can be called directly.
"""

from __future__ import annotations

import base64
import io
import math
import traceback
from numbers import Integral, Real

from .train import in_jupyter_kernel as _in_ipython

__all__ = ["Explorer", "explorer", "make_control"]


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _middle(lo, hi, step):
    """The point of the slider's grid ``lo + k * step`` at or just below the middle."""
    k = math.floor((hi - lo) / 2 / step + 1e-9)
    return min(lo + k * step, hi)


def make_control(name: str, spec, continuous_update: bool = False):
    """Build the widget for one control, or return ``None`` for a fixed value.

    Parameters
    ----------
    name : str
        The keyword under which ``draw`` receives the value (also the label).
    spec
        - an ipywidgets widget: used as it is (its description defaults to ``name``);
        - ``(min, max, step[, default])``: an ``IntSlider`` when all are
          integers, a ``FloatSlider`` otherwise (default: the grid point at
          or just below the middle);
        - ``(min, max)``: a slider with 100 steps;
        - ``("log", min, max[, default])``: a ``FloatLogSlider`` (base 10);
        - a list of options (or a dict label -> value): a ``Dropdown``
          (default: the first);
        - ``True`` / ``False``: a ``Checkbox``;
        - anything else: a fixed value, passed to ``draw`` unchanged.
    continuous_update : bool
        Redraw while a slider is dragged (slow figures: keep False).

    Returns
    -------
    ipywidgets.Widget or None
    """
    import ipywidgets as w

    style = {"description_width": "initial"}
    if isinstance(spec, w.Widget):
        if hasattr(spec, "description") and not spec.description:
            spec.description = name
        return spec
    if isinstance(spec, bool):
        return w.Checkbox(value=spec, description=name, indent=False)
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str) and spec[0].lower() == "log":
        if len(spec) not in (3, 4) or not all(_is_number(v) for v in spec[1:]):
            raise ValueError(f"control {name!r}: a log slider is ('log', min, max[, default]), "
                             f"got {spec!r}.")
        lo, hi = float(spec[1]), float(spec[2])
        if not 0 < lo < hi:
            raise ValueError(f"control {name!r}: a log slider needs 0 < min < max, got {spec!r}.")
        default = float(spec[3]) if len(spec) == 4 else math.sqrt(lo * hi)
        a, b = math.log10(lo), math.log10(hi)
        return w.FloatLogSlider(value=min(max(default, lo), hi), base=10, min=a, max=b,
                                step=(b - a) / 100, description=name, style=style,
                                continuous_update=continuous_update, readout_format=".3g")
    if isinstance(spec, tuple) and len(spec) in (2, 3, 4) and all(_is_number(v) for v in spec):
        lo, hi = spec[0], spec[1]
        if not lo < hi:
            raise ValueError(f"control {name!r}: a slider needs min < max, got {spec!r}.")
        integer = all(isinstance(v, Integral) for v in spec)
        step = spec[2] if len(spec) >= 3 else (1 if integer else (hi - lo) / 100)
        if step <= 0:
            raise ValueError(f"control {name!r}: the step must be > 0, got {step!r}.")
        default = spec[3] if len(spec) == 4 else _middle(lo, hi, step)
        if integer:
            return w.IntSlider(value=int(default), min=int(lo), max=int(hi), step=int(step),
                               description=name, style=style,
                               continuous_update=continuous_update)
        return w.FloatSlider(value=float(default), min=float(lo), max=float(hi),
                             step=float(step), description=name, style=style,
                             continuous_update=continuous_update, readout_format=".4g")
    if isinstance(spec, dict) and spec:
        return w.Dropdown(options=list(spec.items()), value=next(iter(spec.values())),
                          description=name, style=style)
    if isinstance(spec, list) and spec:
        return w.Dropdown(options=spec, value=spec[0], description=name, style=style)
    return None


class Explorer:
    """Controls bound to a drawing function, and the figure they redraw.

    Build one with :func:`explorer`.

    Attributes
    ----------
    draw : callable
        ``draw(fig, **values)``; the figure is cleared before each call.
    controls : dict of str to ipywidgets.Widget
        The widgets, by keyword.
    fixed : dict
        Values passed to ``draw`` unchanged (non-widget keywords).
    figure : matplotlib.figure.Figure
        The figure the controls redraw (not managed by ``pyplot``).
    output : ipywidgets.Output
        Where the rendered figure is shown.
    widget : ipywidgets.VBox
        The controls above the output: display this (or the explorer itself).
    draw_count : int
        How many times the figure has been drawn (the first draw included).
    error : str or None
        The traceback of the last failed redraw from a widget event, else None.
    """

    def __init__(self, draw, controls: dict, figsize=(9, 4), continuous_update=False, dpi=100):
        import ipywidgets as w
        from matplotlib.figure import Figure

        if not callable(draw):
            raise TypeError(f"draw must be a function draw(fig, **values); got {draw!r}.")
        self.draw = draw
        self.figsize = tuple(figsize)
        self.dpi = dpi
        self.controls = {}
        self.fixed = {}
        for name, spec in controls.items():
            control = make_control(name, spec, continuous_update)
            if control is None:
                self.fixed[name] = spec
            else:
                self.controls[name] = control
        self.figure = Figure(figsize=self.figsize, dpi=dpi)
        self.output = w.Output()
        box = w.Box(list(self.controls.values()),
                    layout=w.Layout(display="flex", flex_flow="row wrap"))
        self.widget = w.VBox([box, self.output])
        self.draw_count = 0
        self.error = None
        self._quiet = False
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self._redraw()

    # -- values ----------------------------------------------------------------

    @property
    def values(self) -> dict:
        """The current values, by keyword (fixed ones included)."""
        vals = {name: c.value for name, c in self.controls.items()}
        vals.update(self.fixed)
        return vals

    def _check_names(self, values: dict) -> None:
        unknown = set(values) - set(self.controls) - set(self.fixed)
        if unknown:
            known = ", ".join(sorted({*self.controls, *self.fixed}))
            raise ValueError(f"unknown control(s) {sorted(unknown)}: this explorer has {known}.")

    # -- drawing ---------------------------------------------------------------

    def _draw_on(self, fig, values: dict) -> None:
        fig.clear()
        self.draw(fig, **values)

    def _render(self) -> None:
        """Show the figure in the output widget, as a PNG image.

        The image is set as the widget's ``outputs`` state rather than printed
        inside ``with self.output:``. The capture protocol behind ``with`` (and
        ``clear_output(wait=True)``) made headless executions (nbclient, hence
        the book build) hang now and then until the cell timed out.
        """
        if not _in_ipython():
            return
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=self.dpi, bbox_inches="tight")
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        self._show({"output_type": "display_data", "metadata": {},
                    "data": {"image/png": png, "text/plain": "<explorer figure>"}})

    def _show(self, output: dict) -> None:
        """Replace what the output widget shows with one output (a display or text)."""
        self.output.outputs = (output,)

    def _redraw(self):
        self._draw_on(self.figure, self.values)
        self.draw_count += 1
        self._render()
        return self.figure

    def _on_change(self, change) -> None:
        """The widgets' callback: redraw, showing any error in the output."""
        if self._quiet:
            return
        try:
            self._redraw()
            self.error = None
        except Exception:
            self.error = traceback.format_exc()
            if _in_ipython():
                self._show({"output_type": "stream", "name": "stdout", "text": self.error})
            else:
                raise

    def update(self, **values):
        """Set controls to ``values``, redraw once, and return the figure.

        This is what moving a slider does; tests call it without a browser.
        Sliders clamp values to their range; fixed values may be replaced too.

        Returns
        -------
        matplotlib.figure.Figure
        """
        self._check_names(values)
        self._quiet = True
        try:
            for name, v in values.items():
                if name in self.controls:
                    self.controls[name].value = v
                else:
                    self.fixed[name] = v
        finally:
            self._quiet = False
        return self._redraw()

    def static(self, **values):
        """Draw once on a new figure at the current values updated by ``values``.

        The controls are not touched and values are not clamped. The figure is
        created with ``pyplot`` and closed at once, so a notebook shows it once,
        as the cell's result (the website's picture of the explorer).

        Returns
        -------
        matplotlib.figure.Figure
        """
        self._check_names(values)
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=self.figsize, dpi=self.dpi)
        plt.close(fig)
        vals = self.values
        vals.update(values)
        self._draw_on(fig, vals)
        return fig

    # -- display ---------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"Explorer({vals})"


def explorer(draw, *, figsize=(9, 4), continuous_update=False, **controls) -> Explorer:
    """An interactive figure: controls whose values redraw it through ``draw``.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` draws on the Matplotlib ``Figure`` it is given
        (already cleared), e.g. ``ax = fig.add_subplot()``.
    figsize : (float, float), default (9, 4)
    continuous_update : bool, default False
        Redraw while a slider moves (only for fast figures).
    **controls
        One keyword per argument of ``draw``; see :func:`make_control` for the
        forms: a widget, ``(min, max, step[, default])``,
        ``("log", min, max[, default])``, a list of options, a bool, or a fixed value.

    Returns
    -------
    Explorer
        Display it (last expression of a cell); call ``.update(**values)`` to
        redraw from code and ``.static(**values)`` for a plain figure.

    Examples
    --------
    >>> import numpy as np
    >>> def draw(fig, a, kind):
    ...     ax = fig.add_subplot()
    ...     x = np.linspace(-2, 2, 50)
    ...     ax.plot(x, a * x**2 if kind == "square" else a * np.abs(x))
    >>> ex = explorer(draw, a=(0.5, 2.0, 0.5, 1.0), kind=["square", "abs"])
    >>> ex.values
    {'a': 1.0, 'kind': 'square'}
    >>> fig = ex.update(a=2.0)
    """
    return Explorer(draw, controls, figsize=figsize, continuous_update=continuous_update)

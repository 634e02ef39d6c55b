"""Pictures of gradient descent: contours with paths, loss curves, sweeps, animations.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is not
given) and returns it; nothing calls ``plt.show()``, so the same code works in a
notebook, in a script and in the tests. ``pyplot`` is imported only when a
function runs.

Paths, the iterates of a run, can be given as an ``(n, d)`` array, a
:class:`gdlib.train.History` or a :class:`gdlib.train.Result`.
"""

from __future__ import annotations

import math

import numpy

from .backend import asarray, to_host

__all__ = [
    "as_path",
    "grid_values",
    "plot_contours",
    "plot_losses",
    "lr_sweep",
    "plot_lr_sweep",
    "plot_surface",
    "plot_1d",
    "animate_path",
    "animation_html",
    "AnimationHTML",
    "timeline",
]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _new_axes(ax, figsize=(6, 5), projection=None):
    if ax is not None:
        return ax
    plt = _plt()
    fig = plt.figure(figsize=figsize)
    return fig.add_subplot(projection=projection) if projection else fig.add_subplot()


# ----------------------------------------------------------------------------
# Inputs: paths and grids


def as_path(p) -> numpy.ndarray:
    """The iterates of ``p`` as a host array of shape ``(n, d)``.

    ``p`` is an array (``(n, d)``, or ``(n,)`` for a 1-D problem), a
    :class:`~gdlib.train.History` or a :class:`~gdlib.train.Result`.
    """
    hist = getattr(p, "history", None)
    if hist is not None and hasattr(hist, "params"):
        p = hist
    if hasattr(p, "params") and not hasattr(p, "shape"):
        if p.params is None:
            raise ValueError("this History has no recorded parameters (train() does not keep "
                             "them); use a run of gdlib.train.minimize.")
        p = p.params
    if isinstance(p, (list, tuple)):
        p = [numpy.asarray(to_host(q), dtype=float) for q in p]
    a = numpy.asarray(to_host(p) if not isinstance(p, list) else p, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"a path must be an (n, d) array of points; got shape {a.shape}.")
    return a


def _paths(paths) -> dict:
    """Normalise ``paths`` to a dict label -> (n, d) array."""
    if paths is None:
        return {}
    if isinstance(paths, dict):
        return {str(k): as_path(v) for k, v in paths.items()}
    if isinstance(paths, (list, tuple)) and paths and not numpy.isscalar(paths[0]) and (
        hasattr(paths[0], "history") or hasattr(paths[0], "params")
        or numpy.ndim(to_host(paths[0])) == 2
    ):
        return {f"path {i}": as_path(p) for i, p in enumerate(paths)}
    return {"path": as_path(paths)}


def _bounds(f, bounds, paths: dict, dim: int):
    if bounds is None:
        bounds = getattr(f, "bounds", None)
    if bounds is None:
        if paths:
            pts = numpy.concatenate([p for p in paths.values()])
            pts = pts[numpy.isfinite(pts).all(axis=1)]
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            pad = 0.15 * numpy.maximum(hi - lo, 1e-3) + 0.1
            bounds = list(zip(lo - pad, hi + pad))
        else:
            bounds = [(-2.0, 2.0)] * dim
    bounds = [tuple(map(float, b)) for b in bounds]
    return bounds


def _value(f, x) -> float:
    return float(to_host(f(asarray(numpy.asarray(x, dtype=float)))))


def grid_values(f, bounds, n: int = 200):
    """Evaluate ``f`` on a regular grid over ``bounds``.

    Parameters
    ----------
    f : callable
        Evaluated once on the stacked grid ``(d, n, ..., n)`` (the gdlib
        convention: the first axis is the coordinate); a function that cannot
        take a grid is evaluated point by point.
    bounds : list of (lo, hi)
        One pair per coordinate (1 or 2 of them).
    n : int
        Points per axis.

    Returns
    -------
    axes : list of ndarray
        The grid coordinates, ``numpy.meshgrid(..., indexing="xy")``.
    Z : ndarray
        The values, shaped like each grid coordinate (non-finite values masked out as NaN).
    """
    xs = [numpy.linspace(lo, hi, n) for lo, hi in bounds]
    mesh = numpy.meshgrid(*xs)
    pts = numpy.stack(mesh)
    Z = None
    with numpy.errstate(all="ignore"):
        try:
            Z = numpy.asarray(to_host(f(asarray(pts))), dtype=float)
            if Z.shape != mesh[0].shape:
                Z = None
        except Exception:  # not vectorised: fall back to a loop below
            Z = None
        if Z is None:
            flat = pts.reshape(len(bounds), -1).T
            Z = numpy.array([_value(f, p) for p in flat]).reshape(mesh[0].shape)
    Z = numpy.where(numpy.isfinite(Z), Z, numpy.nan)
    return mesh, Z


def _levels(Z, levels, log_levels: bool, fmin):
    finite = Z[numpy.isfinite(Z)]
    if not log_levels or isinstance(levels, (list, tuple, numpy.ndarray)) or finite.size == 0:
        return levels
    zmin = float(finite.min())
    base = zmin if fmin is None or not math.isfinite(fmin) or fmin > zmin else float(fmin)
    gap = finite - base
    positive = gap[gap > 0]
    if positive.size == 0:
        return levels
    lo = max(float(numpy.percentile(positive, 0.5)), float(positive.max()) * 1e-9)
    hi = float(numpy.percentile(positive, 99.5))
    if not hi > lo:
        return levels
    return base + numpy.geomspace(lo, hi, int(levels))


# ----------------------------------------------------------------------------
# Contours, 1-D and 3-D


def _draw_path(ax, P, label, zorder=3, **kw):
    """A trajectory: the line through the iterates, a hollow start, a cross at the end."""
    n = len(P)
    markevery = max(1, n // 60)
    (line,) = ax.plot(P[:, 0], P[:, 1], marker="o", ms=3, lw=1.3, markevery=markevery,
                      label=label, zorder=zorder, **kw)
    c = line.get_color()
    ax.plot(P[:1, 0], P[:1, 1], ls="", marker="o", ms=8, mfc="none", mec=c, mew=1.6,
            label="_start", zorder=zorder + 1)
    ax.plot(P[-1:, 0], P[-1:, 1], ls="", marker="X", ms=8, color=c, mec="k", mew=0.5,
            label="_end", zorder=zorder + 1)
    return line


def plot_contours(f, paths=None, ax=None, bounds=None, levels=30, log_levels=True,
                  mark_minima=True, n=200, filled=False, cmap="viridis"):
    """Contour lines of a 2-D function, with optimization paths on top.

    Parameters
    ----------
    f : callable
        A 2-D gdlib test function (or any ``f(x)`` of ``x`` with 2 coordinates).
    paths : dict, array, History or Result, optional
        ``{label: path}``; each path an ``(n, 2)`` array, History or Result. Each
        is drawn as a line through the iterates, a hollow circle at the start
        and a cross at the end, and named in the legend.
    ax : Axes, optional
        Where to draw; a new figure otherwise.
    bounds : [(xlo, xhi), (ylo, yhi)], optional
        The window; ``f.bounds`` by default (else fitted to the paths).
    levels : int or sequence, default 30
    log_levels : bool, default True
        Space the levels geometrically above the minimum, so the valley floor
        gets as many lines as the walls.
    mark_minima : bool, default True
        Mark ``f.minima`` inside the window with a star.
    n : int, default 200
        Grid points per axis.
    filled : bool, default False
        Filled contours instead of lines.

    Returns
    -------
    Axes
    """
    P = _paths(paths)
    bounds = _bounds(f, bounds, P, 2)
    if len(bounds) != 2:
        raise ValueError(f"plot_contours needs a 2-D function; this one has {len(bounds)} "
                         "coordinate(s). Use plot_1d for a 1-D function.")
    ax = _new_axes(ax)
    (X, Y), Z = grid_values(f, bounds, n)
    lv = _levels(Z, levels, log_levels, getattr(f, "fmin", None))
    contour = ax.contourf if filled else ax.contour
    style = {"cmap": cmap}
    if isinstance(lv, numpy.ndarray):
        # Geometric levels: spread the colours evenly over the levels, not their values.
        import matplotlib

        cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
        style = {"colors": cm(numpy.linspace(0.0, 1.0, len(lv) - (1 if filled else 0)))}
    contour(X, Y, Z, levels=lv, linewidths=None if filled else 0.8, alpha=0.85, **style)
    if mark_minima:
        mins = [numpy.asarray(to_host(m), dtype=float).ravel() for m in getattr(f, "minima", [])]
        mins = [m for m in mins if m.size == 2 and all(
            lo <= v <= hi for v, (lo, hi) in zip(m, bounds))]
        if mins:
            M = numpy.array(mins)
            ax.plot(M[:, 0], M[:, 1], ls="", marker="*", ms=13, color="gold", mec="k",
                    label="minimum" if len(mins) == 1 else "minima", zorder=5)
    for label, path in P.items():
        if path.shape[1] != 2:
            raise ValueError(f"path {label!r} has {path.shape[1]} coordinates; plot_contours "
                             "draws 2-D paths.")
        _draw_path(ax, path, label)
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    name = getattr(f, "name", None)
    if name:
        ax.set_title(str(name))
    if any(not ln.get_label().startswith("_") for ln in ax.lines):
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_1d(f, path=None, ax=None, bounds=None, n=400):
    """A 1-D function with the iterates of a run drawn on its curve.

    Parameters
    ----------
    f : callable
        A 1-D function: ``f(x)`` with ``x`` of shape ``(1,)`` (or ``(1, n)`` on a grid).
    path : dict, array, History or Result, optional
        The iterates (``(n,)`` or ``(n, 1)``), or ``{label: path}``.
    ax : Axes, optional
    bounds : (lo, hi) or [(lo, hi)], optional
        The window; ``f.bounds`` by default.

    Returns
    -------
    Axes
    """
    P = _paths(path)
    if bounds is not None and numpy.ndim(bounds) == 1:
        bounds = [bounds]
    bounds = _bounds(f, bounds, P, 1)
    if len(bounds) != 1:
        raise ValueError(f"plot_1d needs a 1-D function; this one has {len(bounds)} coordinates.")
    ax = _new_axes(ax, figsize=(6, 4))
    (X,), Z = grid_values(f, bounds, n)
    ax.plot(X, Z, color="0.3", lw=1.5, label=str(getattr(f, "name", "f(x)")) or "f(x)")
    for label, p in P.items():
        xs = p[:, 0]
        ys = numpy.array([_value(f, [v]) for v in xs])
        _draw_path(ax, numpy.column_stack([xs, ys]), label)
    ax.set_xlim(bounds[0])
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_surface(f, bounds=None, ax=None, path=None, n=60, cmap="viridis"):
    """The graph of a 2-D function as a 3-D surface, with an optional path on it.

    Parameters
    ----------
    f : callable
        A 2-D function.
    bounds : [(xlo, xhi), (ylo, yhi)], optional
        ``f.bounds`` by default.
    ax : Axes3D, optional
        A 3-D axes (``fig.add_subplot(projection="3d")``); created otherwise.
    path : array, History or Result, optional
        Iterates drawn on the surface at height :math:`f(x_t)`.

    Returns
    -------
    Axes3D
    """
    P = _paths(path)
    bounds = _bounds(f, bounds, P, 2)
    ax = _new_axes(ax, figsize=(7, 5), projection="3d")
    (X, Y), Z = grid_values(f, bounds, n)
    ax.plot_surface(X, Y, Z, cmap=cmap, alpha=0.75, linewidth=0, antialiased=True)
    for label, p in P.items():
        z = numpy.array([_value(f, q) for q in p])
        ax.plot(p[:, 0], p[:, 1], z, color="red", marker="o", ms=3, lw=1.5, label=label)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$f$")
    return ax


# ----------------------------------------------------------------------------
# Losses and learning-rate sweeps


def _loss_curve(h, x: str):
    hist = getattr(h, "history", h)
    if not hasattr(hist, "loss"):  # a plain array of losses
        y = numpy.asarray(to_host(hist), dtype=float).ravel()
        return numpy.arange(len(y)), y
    if x == "epoch":
        if not len(hist.epoch_loss):
            raise ValueError("this history has no per-epoch losses (it comes from minimize); "
                             "use x='step'.")
        return numpy.arange(1, len(hist.epoch_loss) + 1), hist.epoch_loss
    steps = hist.step if len(hist.step) == len(hist.loss) else numpy.arange(len(hist.loss))
    return steps, hist.loss


def plot_losses(histories, ax=None, log=True, x="step", fmin=None):
    """Loss curves of several runs on one axes.

    Parameters
    ----------
    histories : dict, History, Result or array
        ``{label: run}``, each a History, a Result or an array of losses; a single
        run is drawn without a legend.
    ax : Axes, optional
    log : bool, default True
        Logarithmic loss axis (symmetric-log when some losses are <= 0).
    x : {"step", "epoch"}
        Per step (``History.loss``) or per epoch (``History.epoch_loss``).
    fmin : float, optional
        Subtract the optimal value and plot :math:`f(x_t) - f^*`.

    Returns
    -------
    Axes
    """
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch', got {x!r}.")
    single = not isinstance(histories, dict)
    runs = {"": histories} if single else histories
    ax = _new_axes(ax, figsize=(6, 4))
    positive = True
    for label, h in runs.items():
        t, y = _loss_curve(h, x)
        y = numpy.asarray(y, dtype=float) - (fmin or 0.0)
        fin = y[numpy.isfinite(y)]
        positive &= bool(fin.size == 0 or (fin > 0).all())
        ax.plot(t, y, lw=1.5, label=str(label) if label != "" else "_loss")
    if log:
        ax.set_yscale("log" if positive else "symlog")
    ax.set_xlabel(x)
    ax.set_ylabel("loss" if fmin is None else "$f(x_t) - f^*$")
    if not single:
        ax.legend(loc="best", fontsize="small")
    return ax


def lr_sweep(f, x0, optimizer, lrs, steps=100, **hyper) -> dict:
    """The final loss of one run per learning rate.

    Parameters
    ----------
    f : callable
        A gdlib test function (or a callable; pass ``grad=`` in ``hyper``).
    x0 : array_like or None
        Starting point (``f.start`` when None).
    optimizer : str, class
        As in :func:`gdlib.train.minimize`.
    lrs : sequence of float
    steps : int, default 100
    **hyper
        More arguments for :func:`~gdlib.train.minimize` (``tol``, ``noise``,
        ``seed``...) and the optimizer (``momentum``...).

    Returns
    -------
    dict of float to float
        ``{lr: final loss}``: ``inf`` for a run that diverged, ``nan`` for an
        invalid learning rate. A diverging run never raises here.
    """
    from .errors import DivergenceError, NonFiniteGradientError
    from .train import minimize

    hyper.setdefault("progress", False)
    out = {}
    for lr in lrs:
        lr = float(lr)
        try:
            out[lr] = float(minimize(f, x0, optimizer, steps=steps, lr=lr, **hyper).fun)
        except (DivergenceError, NonFiniteGradientError, FloatingPointError, OverflowError):
            out[lr] = math.inf
        except ValueError:
            out[lr] = math.nan
    return out


def plot_lr_sweep(lrs, losses=None, ax=None, fmin=None, label=None):
    """Final loss against learning rate, diverged runs marked with a red cross.

    Parameters
    ----------
    lrs : sequence of float or dict
        The learning rates, or the dict returned by :func:`lr_sweep`.
    losses : sequence of float, optional
        The final losses (``inf`` or ``nan`` for diverged runs); omit when
        ``lrs`` is a dict.
    ax : Axes, optional
    fmin : float, optional
        Subtract the optimal value.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    Axes
    """
    if isinstance(lrs, dict):
        lrs, losses = list(lrs.keys()), list(lrs.values())
    if losses is None:
        raise TypeError("give the losses, or pass the dict returned by lr_sweep.")
    lrs = numpy.asarray(lrs, dtype=float)
    y = numpy.asarray(losses, dtype=float) - (fmin or 0.0)
    if lrs.shape != y.shape:
        raise ValueError(f"{lrs.size} learning rates but {y.size} losses.")
    ax = _new_axes(ax, figsize=(6, 4))
    ok = numpy.isfinite(y)
    ax.plot(lrs[ok], y[ok], marker="o", lw=1.5, label=label or "final loss")
    if ok.any() and (y[ok] > 0).all():
        ax.set_yscale("log")
    if (~ok).any():
        top = float(y[ok].max()) if ok.any() else 1.0
        ax.plot(lrs[~ok], numpy.full((~ok).sum(), top), ls="", marker="x", ms=9, mew=2,
                color="red", label="diverged")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss" if fmin is None else "final $f - f^*$")
    ax.legend(loc="best", fontsize="small")
    return ax


# ----------------------------------------------------------------------------
# Animation


def animate_path(f, path, interval=100, ax=None, bounds=None, levels=30, max_frames=60,
                 log_levels=True, figsize=(5.5, 4.5), dpi=80):
    """An animation of one or several runs moving over the contours of ``f``.

    Parameters
    ----------
    f : callable
        A 2-D function (contours) or a 1-D one (its curve).
    path : array, History, Result or dict of them
        The iterates; a dict animates several runs together.
    interval : int, default 100
        Milliseconds between frames.
    ax : Axes, optional
        Where to draw; a new figure otherwise.
    bounds, levels, log_levels
        As in :func:`plot_contours`.
    max_frames : int, default 60
        Long runs are subsampled to at most this many frames (the last one included).
    figsize, dpi
        Size and resolution of a new figure (small, since every frame is an image).

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Show it in a notebook with :func:`animation_html`.
    """
    from matplotlib.animation import FuncAnimation

    P = _paths(path)
    if not P:
        raise ValueError("give at least one path to animate.")
    dim = next(iter(P.values())).shape[1]
    if ax is None:
        ax = _plt().figure(figsize=figsize, dpi=dpi).add_subplot()
    if dim == 1:
        ax = plot_1d(f, None, ax=ax, bounds=bounds)
        P = {k: numpy.column_stack([p[:, 0], [_value(f, [v]) for v in p[:, 0]]])
             for k, p in P.items()}
    else:
        ax = plot_contours(f, None, ax=ax, bounds=bounds, levels=levels,
                           log_levels=log_levels)
    lines, heads = [], []
    for label, p in P.items():
        (line,) = ax.plot(p[:1, 0], p[:1, 1], marker="o", ms=3, lw=1.3, label=label)
        (head,) = ax.plot(p[:1, 0], p[:1, 1], ls="", marker="o", ms=8, color=line.get_color(),
                          mec="k", label="_head")
        lines.append(line)
        heads.append(head)
    ax.legend(loc="best", fontsize="small")
    title = ax.set_title("step 0")
    n = max(len(p) for p in P.values())
    frames = numpy.unique(numpy.linspace(0, n - 1, min(n, int(max_frames))).astype(int))

    def draw(i):
        for p, line, head in zip(P.values(), lines, heads):
            j = min(i, len(p) - 1)
            line.set_data(p[: j + 1, 0], p[: j + 1, 1])
            head.set_data(p[j : j + 1, 0], p[j : j + 1, 1])
        title.set_text(f"step {i}")
        return (*lines, *heads, title)

    anim = FuncAnimation(ax.figure, draw, frames=frames, interval=interval, blit=False)
    anim.n_frames = len(frames)
    return anim


class AnimationHTML(str):
    """HTML text of an animation that Jupyter displays as the animation itself.

    It is a ``str`` (write it to a file, search it), and its ``_repr_html_``
    makes it render when it is the last expression of a cell.
    """

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<AnimationHTML: {len(self)} characters; display it in Jupyter>"


def animation_html(anim, close=True, default_mode="once", frame_format="jpeg") -> AnimationHTML:
    """An animation as self-contained HTML (JavaScript player, frames embedded).

    Works in JupyterLab and in the static website, since the frames are PNG
    images inside the page. The figure is closed afterwards (``close=True``) so
    the notebook does not also show its last frame as a still picture.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
    close : bool, default True
    default_mode : {"once", "loop", "reflect"}
    frame_format : {"jpeg", "png"}
        Image format of the frames: JPEG is about five times smaller than PNG
        for contour plots, PNG is sharper.

    Returns
    -------
    AnimationHTML
        A ``str`` subclass with ``_repr_html_``: put it last in a cell to show
        the player, or wrap it in ``IPython.display.HTML``.
    """
    import matplotlib

    with matplotlib.rc_context({"animation.frame_format": frame_format}):
        html = anim.to_jshtml(default_mode=default_mode)
    if close:
        _plt().close(anim._fig)
    return AnimationHTML(html)


# ----------------------------------------------------------------------------
# A timeline for the history lesson


def timeline(events, ax=None, figsize=(11, 3.2), fontsize=8):
    """Events on a horizontal time axis, labels staggered above and below.

    Parameters
    ----------
    events : list of (year, label) or dict year -> label
    ax : Axes, optional
    figsize : (float, float)
        Size of a new figure.
    fontsize : float

    Returns
    -------
    Axes
    """
    items = list(events.items()) if isinstance(events, dict) else list(events)
    if not items:
        raise ValueError("timeline needs at least one (year, label) event.")
    items = sorted(((float(y), str(t)) for y, t in items), key=lambda e: e[0])
    ax = _new_axes(ax, figsize=figsize)
    years = numpy.array([y for y, _ in items])
    span = max(years.max() - years.min(), 1.0)
    ax.axhline(0, color="0.4", lw=1.2, zorder=1)
    ax.plot(years, numpy.zeros_like(years), ls="", marker="o", ms=6, color="C0", zorder=3)
    heights = (1.0, -1.0, 2.0, -2.0, 3.0, -3.0)
    for i, (year, label) in enumerate(items):
        h = heights[i % len(heights)]
        ax.vlines(year, 0, h, color="0.7", lw=0.8, zorder=2)
        yr = f"{year:.0f}" if float(year).is_integer() else f"{year:g}"
        ax.annotate(f"{yr}\n{label}" if h > 0 else f"{label}\n{yr}", (year, h),
                    ha="center", va="bottom" if h > 0 else "top", fontsize=fontsize)
    ax.set_xlim(years.min() - 0.06 * span, years.max() + 0.06 * span)
    ax.set_ylim(-4.2, 4.2)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return ax

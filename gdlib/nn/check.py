"""Finite-difference checks of a layer's backward pass.

:func:`check_module` compares, in float64, what ``backward`` says with what
central differences measure, for every parameter and every floating input:
the test every layer of :mod:`gdlib.nn` passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy

from ..backend import asarray, to_host, xp
from ..gradcheck import relative_error

__all__ = ["ModuleCheck", "check_module"]


@dataclass
class ModuleCheck:
    """The outcome of :func:`check_module`.

    Attributes
    ----------
    report : dict of str to float
        Worst entry-wise relative error for each parameter (``"W"``,
        ``"cell.b"``, ...) and each floating input (``"input 0"``, ...).
    rtol : float
        The tolerance.
    """

    report: dict = field(default_factory=dict)
    rtol: float = 1e-5

    @property
    def max_rel_error(self) -> float:
        """The worst error over everything checked."""
        return max(self.report.values(), default=0.0)

    @property
    def ok(self) -> bool:
        """Whether every entry is within ``rtol``."""
        return self.max_rel_error <= self.rtol

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        rows = ", ".join(f"{k}: {v:.1e}" for k, v in self.report.items())
        return f"gradient check {verdict} (worst {self.max_rel_error:.1e}, tolerance " \
               f"{self.rtol:.0e}): {rows}"


def _is_float(a) -> bool:
    return hasattr(a, "dtype") and numpy.dtype(a.dtype).kind == "f"


def _as_tuple(d, n_float: int) -> tuple:
    if n_float == 1 and not isinstance(d, tuple):
        return (d,)
    if not isinstance(d, tuple) or len(d) != n_float:
        raise ValueError(
            f"backward returned {type(d).__name__}; with {n_float} floating inputs it must "
            f"return a tuple of {n_float} gradients."
        )
    return d


def check_module(module, *inputs, dout=None, eps: float = 1e-6, rtol: float = 1e-5,
                 atol: float = 1e-8, seed: int = 0, max_entries: int = 200) -> ModuleCheck:
    r"""Check ``module.backward`` against central differences.

    The scalar checked is :math:`L = \sum_i d_i\, y_i` with :math:`y` the
    module's output and :math:`d` = ``dout`` (random normal by default, so
    that every output entry matters), whose gradient is what ``backward(d)``
    must produce. A module whose ``forward`` returns a number (a loss) is
    checked with :math:`L = y` and ``backward(1.0)``.

    Parameters
    ----------
    module : Module
        Built with ``dtype="float64"`` (the check refuses float32: its
        rounding would swamp the differences).
    *inputs : arrays
        Passed to ``forward``; floating ones are checked too, integer ones
        (token ids, class labels) are not.
    dout : array, optional
        The output gradient; random normal with ``seed`` by default.
    eps : float, default 1e-6
        Finite-difference step.
    rtol, atol : float
        Relative tolerance; entries whose absolute difference is at most
        ``atol`` count as exact (derivatives that are zero).
    seed : int, default 0
    max_entries : int, default 200
        At most this many entries per array are perturbed (chosen at random);
        keeps large layers fast.

    Returns
    -------
    ModuleCheck
    """
    from ..optim.base import check_nonnegative, check_positive

    eps = check_positive("eps", eps)
    rtol = check_nonnegative("rtol", rtol)
    atol = check_nonnegative("atol", atol)
    if isinstance(max_entries, bool) or not isinstance(max_entries, (int, numpy.integer)) \
            or max_entries < 1:
        raise ValueError(f"max_entries must be a whole number >= 1, got {max_entries!r}.")
    inputs = tuple(asarray(a) if isinstance(a, numpy.ndarray) else a for a in inputs)
    params = module.parameters()
    for name, p in params.items():
        if p.dtype != numpy.float64:
            raise TypeError(
                f"parameter {name!r} is {p.dtype}: build the module with dtype='float64' "
                "(or gdlib.nn.set_default_dtype('float64')) for a gradient check."
            )
    for i, a in enumerate(inputs):
        if _is_float(a) and a.dtype != numpy.float64:
            raise TypeError(f"input {i} is {a.dtype}: pass float64 inputs to a gradient check.")
    gen = numpy.random.default_rng(seed)

    out = module.forward(*inputs)
    scalar = not hasattr(out, "shape") or getattr(out, "ndim", 1) == 0
    if scalar:
        dout = 1.0
    elif dout is None:
        dout = asarray(gen.standard_normal(out.shape))

    def value() -> float:
        y = module.forward(*inputs)
        return float(y) if scalar else float(xp.sum(y * dout))

    module.zero_grad()
    module.forward(*inputs)
    dx = module.backward(dout)
    analytic = {k: numpy.array(to_host(g), dtype=float) for k, g in module.gradients().items()}
    float_inputs = [i for i, a in enumerate(inputs) if _is_float(a)]
    if float_inputs:
        for i, d in zip(float_inputs, _as_tuple(dx, len(float_inputs))):
            analytic[f"input {i}"] = numpy.array(to_host(d), dtype=float)
    targets = dict(params)
    targets.update({f"input {i}": inputs[i] for i in float_inputs})

    result = ModuleCheck(rtol=rtol)
    for name, arr in targets.items():
        flat = arr.reshape(-1)
        n = flat.size
        picks = gen.choice(n, size=min(n, max_entries), replace=False) if n else []
        a_vals, n_vals = [], []
        for j in picks:
            j = int(j)
            old = float(flat[j])
            flat[j] = old + eps
            plus = value()
            flat[j] = old - eps
            minus = value()
            flat[j] = old
            n_vals.append((plus - minus) / (2 * eps))
            a_vals.append(analytic[name].reshape(-1)[j])
        a_vals, n_vals = numpy.array(a_vals), numpy.array(n_vals)
        err = relative_error(a_vals, n_vals)
        err = numpy.where(numpy.abs(a_vals - n_vals) <= atol, 0.0, err)
        result.report[name] = float(err.max()) if err.size else 0.0
    module.forward(*inputs)          # leave the caches as after a plain forward pass
    return result

"""What every optimizer shares: parameters, state, validation, saving and speed.

An optimizer in gdlib holds a list of parameter arrays and updates them *in
place*, the way ``torch.optim`` does, so a model that owns the arrays sees the
new values::

    opt = Adam(w, lr=0.01)
    for _ in range(100):
        opt.step(grad(w))

A subclass writes its update rule once, for one parameter, in
:meth:`Optimizer.update`, so that it reads like the equation in the lesson. The
base class does the rest: it checks the gradients (shape, finiteness), keeps the
step counter ``t``, creates the state on the first step, saves and restores the
state, and, for rules that act element by element, runs the rule over cache-sized
cache-sized slices of large arrays (the same code, on views).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy

from ..backend import array_module, asarray, to_host, xp
from ..errors import NonFiniteGradientError

__all__ = [
    "Optimizer",
    "check_lr",
    "check_nonnegative",
    "check_beta",
    "check_eps",
    "check_positive",
]


# ----------------------------------------------------------------------------
# Validation: every message names the parameter, the value and the allowed range.


def _real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN.")
    return value


def check_lr(lr, name: str = "lr") -> float:
    """Return ``lr`` as a float; raise ``ValueError`` unless ``0 <= lr < inf``."""
    lr = _real(name, lr)
    if lr < 0 or math.isinf(lr):
        raise ValueError(
            f"Invalid learning rate {name}={lr!r}: it must be a finite number >= 0 "
            "(typical values: 1e-3 to 1e-1)."
        )
    return lr


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a float; raise ``ValueError`` unless ``0 <= value < inf``."""
    value = _real(name, value)
    if value < 0 or math.isinf(value):
        raise ValueError(f"Invalid {name}={value!r}: it must be a finite number >= 0.")
    return value


def check_positive(name: str, value) -> float:
    """Return ``value`` as a float; raise ``ValueError`` unless ``0 < value < inf``."""
    value = _real(name, value)
    if value <= 0 or math.isinf(value):
        raise ValueError(f"Invalid {name}={value!r}: it must be a finite number > 0.")
    return value


def check_eps(eps, name: str = "eps") -> float:
    """Return ``eps`` as a float; raise ``ValueError`` unless ``eps > 0``."""
    eps = _real(name, eps)
    if eps <= 0 or math.isinf(eps):
        raise ValueError(
            f"Invalid {name}={eps!r}: it must be a small positive number (> 0), e.g. 1e-8; "
            "it keeps the division away from zero."
        )
    return eps


def check_beta(name: str, value, low_inclusive: bool = True) -> float:
    """Return ``value`` as a float; raise ``ValueError`` unless it lies in ``[0, 1)``."""
    value = _real(name, value)
    ok = (0.0 <= value < 1.0) if low_inclusive else (0.0 < value < 1.0)
    if not ok:
        interval = "[0, 1)" if low_inclusive else "(0, 1)"
        raise ValueError(
            f"Invalid {name}={value!r}: it must lie in {interval} "
            "(it is the weight of the running average; 0.9 and 0.999 are usual)."
        )
    return value


def check_betas(betas, names=("betas[0]", "betas[1]")) -> tuple[float, ...]:
    """Validate a tuple of betas, each in ``[0, 1)``."""
    try:
        betas = tuple(betas)
    except TypeError:
        raise TypeError(f"betas must be a tuple of {len(names)} numbers, got {betas!r}.") from None
    if len(betas) != len(names):
        raise ValueError(f"betas must hold {len(names)} numbers, got {len(betas)}: {betas!r}.")
    return tuple(check_beta(n, b) for n, b in zip(names, betas))


# ----------------------------------------------------------------------------
# Parameters: one array, a list/tuple of arrays, or a dict name -> array.


def _flatten(tree, what: str) -> tuple[list, list[str], str]:
    """Return ``(arrays, names, kind)`` for a single array, a sequence or a dict."""
    if isinstance(tree, dict):
        return list(tree.values()), [str(k) for k in tree], "dict"
    if isinstance(tree, (list, tuple)):
        return list(tree), [f"{what}[{i}]" for i in range(len(tree))], "list"
    return [tree], [what], "single"


def _is_array(a) -> bool:
    """An array that can be updated in place (NumPy or CuPy), not a scalar."""
    return hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "__setitem__")


class Optimizer:
    """Base class of gdlib's optimizers.

    Parameters
    ----------
    params : array, list of arrays, or dict of arrays
        The parameters to optimize. They are updated in place, so they must be
        floating-point arrays (NumPy, or CuPy on the GPU), not Python scalars.
    **hyper
        The hyper-parameters, already validated by the subclass. Each becomes an
        attribute (``opt.lr``), which a schedule may change between steps.

    Attributes
    ----------
    params : list of arrays
        The parameters, in the order given.
    names : list of str
        A name for each parameter, used in error messages.
    state : list of dict
        Per-parameter state (running averages and so on), created on the
        first step by :meth:`init_state`.
    t : int
        The number of steps taken so far.
    check_finite : bool
        When true (default), :meth:`step` refuses gradients with NaN or infinity.

    Notes
    -----
    A subclass implements :meth:`init_state` and :meth:`update`. When its rule
    acts on each element independently it sets ``elementwise = True``; large
    arrays are then updated in slices of ``chunk_size`` elements, which keeps
    each temporary of the rule in cache instead of streaming it through main
    memory (about twice as fast for Adam on 10^7 parameters). The result is
    identical to one call on the whole array. Such a rule keeps only arrays
    shaped like its parameter in ``state`` (scalars live on the optimizer).
    """

    #: The rule acts on each element independently (slices give the same result).
    elementwise: bool = False
    #: Elements per slice for the cache-blocked path (CPU only).
    chunk_size: int = 1 << 16

    def __init__(self, params, **hyper):
        arrays, names, kind = _flatten(params, "params")
        if not arrays:
            raise ValueError("params is empty: give at least one array to optimize.")
        for a, n in zip(arrays, names):
            if not _is_array(a):
                raise TypeError(
                    f"parameter {n!r} must be an array (numpy.ndarray or cupy.ndarray) so it "
                    f"can be updated in place; got {type(a).__name__}. "
                    f"Wrap it: np.array({a!r}, dtype=float)."
                )
            if a.dtype.kind != "f":
                raise TypeError(
                    f"parameter {n!r} has dtype {a.dtype}; optimizers need floating-point arrays. "
                    "Convert it with .astype(float)."
                )
        self.params = arrays
        self.names = names
        self._kind = kind
        self._hyper_names = tuple(hyper)
        for k, v in hyper.items():
            setattr(self, k, v)
        self.state: list[dict] = [{} for _ in arrays]
        self.t = 0
        self.check_finite = True

    # -- what a subclass writes ------------------------------------------------

    def init_state(self, p) -> dict:
        """Return the initial state for parameter ``p`` (a dict of arrays like ``p``)."""
        return {}

    def update(self, p, g, state: dict, t: int) -> None:  # pragma: no cover - abstract
        """Update ``p`` (and ``state``) in place from gradient ``g`` at step ``t`` (1-based)."""
        raise NotImplementedError

    # -- the public interface --------------------------------------------------

    @property
    def hyper(self) -> dict:
        """The hyper-parameters as a dict (a copy)."""
        return {k: getattr(self, k) for k in self._hyper_names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({args})"

    def step(self, grads) -> None:
        """Take one step: update every parameter in place from its gradient.

        Parameters
        ----------
        grads : array, list of arrays, or dict of arrays
            Gradients with the same structure and shapes as ``params``.

        Raises
        ------
        ValueError
            When a gradient's shape differs from its parameter's.
        NonFiniteGradientError
            When a gradient holds NaN or infinity (``check_finite``).
        """
        gs = self._check_grads(grads)
        self.t += 1
        for p, g, state in zip(self.params, gs, self.state):
            if not state:
                state.update(self.init_state(p))
            self._apply(p, g, state)

    def zero_state(self) -> None:
        """Forget all state and restart the step counter (parameters are kept)."""
        self.state = [{} for _ in self.params]
        self.t = 0

    def state_dict(self) -> dict:
        """The optimizer's state as plain data (NumPy arrays on the host).

        The result can be pickled or saved with ``numpy.savez`` and restored
        with :meth:`load_state_dict`, on either device.
        """
        return {
            "optimizer": type(self).__name__,
            "t": self.t,
            "hyper": self.hyper,
            "state": [{k: _copy_host(v) for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state saved by :meth:`state_dict`."""
        name = state_dict.get("optimizer", type(self).__name__)
        if name != type(self).__name__:
            raise ValueError(
                f"this state was saved by {name}, not {type(self).__name__}: "
                f"create a {name} to load it."
            )
        saved = state_dict["state"]
        if len(saved) != len(self.params):
            raise ValueError(
                f"the saved state has {len(saved)} parameters, this optimizer has "
                f"{len(self.params)}."
            )
        for k, v in state_dict.get("hyper", {}).items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.t = int(state_dict["t"])
        self.state = [
            {k: (asarray(v) if isinstance(v, numpy.ndarray) else v) for k, v in s.items()}
            for s in saved
        ]

    # -- machinery -------------------------------------------------------------

    def _check_grads(self, grads) -> list:
        gs, _, kind = _flatten(grads, "grads")
        if len(gs) != len(self.params) or (kind == "single") != (self._kind == "single"):
            raise ValueError(
                f"grads must match params: expected {len(self.params)} gradient(s) "
                f"({self._kind}), got {len(gs)} ({kind})."
            )
        out = []
        for p, g, name in zip(self.params, gs, self.names):
            if not hasattr(g, "shape"):
                g = asarray(g, dtype=p.dtype)
            if g.shape != p.shape:
                raise ValueError(
                    f"gradient for {name!r} has shape {tuple(g.shape)} but the parameter has "
                    f"shape {tuple(p.shape)}: they must be the same (did you forget a sum over "
                    "the batch, or transpose?)."
                )
            if self.check_finite and not _all_finite(g):
                raise NonFiniteGradientError(
                    f"gradient for {name!r} holds NaN or infinity at step {self.t + 1}. The run "
                    "has probably diverged: try a smaller learning rate "
                    f"(lr={getattr(self, 'lr', None)!r} now) or clip the gradients."
                )
            out.append(g)
        return out

    def _apply(self, p, g, state) -> None:
        n = p.size
        if (
            not self.elementwise
            or n < 2 * self.chunk_size
            or not isinstance(p, numpy.ndarray)
            or not (p.flags.c_contiguous and g.flags.c_contiguous)
        ):
            self.update(p, g, state, self.t)
            return
        pf, gf = p.reshape(-1), g.reshape(-1)
        arrays = {
            k: v.reshape(-1)
            for k, v in state.items()
            if hasattr(v, "shape") and v.shape == p.shape
        }
        scalars = {k: v for k, v in state.items() if k not in arrays}
        c = self.chunk_size
        for lo in range(0, n, c):
            sub = {k: v[lo:lo + c] for k, v in arrays.items()}
            sub.update(scalars)
            self.update(pf[lo:lo + c], gf[lo:lo + c], sub, self.t)


def _all_finite(g) -> bool:
    """True when ``g`` has no NaN or infinity (one cheap reduction in the usual case).

    ``g . g`` is finite exactly when every entry is, unless it overflows for huge
    but finite entries; only then is every entry checked.
    """
    mod = array_module(g)
    if g.dtype.kind not in "fc":
        return True
    if bool(mod.isfinite(mod.vdot(g, g))):
        return True
    return bool(mod.isfinite(g).all())


def _copy_host(v):
    v = to_host(v)
    return v.copy() if isinstance(v, numpy.ndarray) else v


# ``xp`` is re-exported for subclasses: ``from .base import Optimizer, xp``.
xp = xp

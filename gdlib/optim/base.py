"""What every optimizer shares: parameters, state, validation, saving and speed.

An optimizer in gdlib holds a list of parameter arrays and updates them *in
place*, the way ``torch.optim`` does, so a model that owns the arrays sees the
new values::

    opt = Adam(w, lr=0.01)
    for _ in range(100):
        opt.step(grad(w))

A subclass writes its update rule once, for one parameter, in
:meth:`Optimizer.update`, so that it reads like the equation in the lesson. The
base class does the rest: it checks the gradients (matched to the parameters by
key, shape, type, finiteness) before anything changes, so that a step is all or
nothing, keeps the step counter ``t``, creates the state on the first step, saves
and restores the state (checked, then copied), and, for rules that act element by
element, runs the rule over cache-sized slices of large arrays (the same code, on
views).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from numbers import Integral, Real

import numpy

from ..backend import array_module, asarray, to_host, xp
from ..errors import GradientOverflowError, NonFiniteGradientError
from . import fused as _fused

__all__ = [
    "Optimizer",
    "check_lr",
    "check_nonnegative",
    "check_beta",
    "check_eps",
    "check_positive",
    "check_real",
    "check_bool",
    "check_int",
    "check_finite_array",
]


# ----------------------------------------------------------------------------
# Validation: every message names the parameter, the value and the allowed range.


def _real(name: str, value) -> float:
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN.")
    return value


def check_real(name: str, value, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False,
               allow_inf: bool = False) -> float:
    """Return ``value`` as a finite float in the interval from ``low`` to ``high``.

    NumPy scalars are accepted; booleans, strings, NaN and infinity are not
    (``allow_inf=True`` lets through an infinity inside the interval, for
    options where it means "no limit").
    ``low_open`` / ``high_open`` exclude the end points.

    Raises
    ------
    TypeError
        When ``value`` is not a real number.
    ValueError
        When it is NaN, infinite or outside the interval (the message names ``name``).
    """
    value = _real(name, value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if (math.isinf(value) and not allow_inf) or too_low or too_high:
        left = "-inf" if low is None else f"{low:g}"
        right = "inf" if high is None else f"{high:g}"
        interval = (("(" if low_open or low is None else "[") + f"{left}, {right}"
                    + (")" if high_open or high is None else "]"))
        what = "a number" if allow_inf else "a finite number"
        raise ValueError(f"Invalid {name}={value!r}: it must be {what} in {interval}.")
    return value


def check_bool(name: str, value) -> bool:
    """Return ``value`` when it is a real boolean (``True``, ``False`` or a NumPy bool).

    Anything else is refused, so that ``nesterov="False"`` (a non-empty string,
    hence true) or ``maximize=0.5`` cannot switch an option on by accident.
    """
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    raise TypeError(
        f"{name} must be True or False, got {value!r} ({type(value).__name__}); "
        "strings and numbers are not read as booleans."
    )


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` in ``[minimum, maximum]``; never rounds or truncates.

    Raises
    ------
    TypeError
        When ``value`` is not an integer (``2.9``, ``"3"``, ``True``).
    ValueError
        When it lies outside the range.
    """
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, Integral):
        raise TypeError(
            f"{name} must be an integer, got {value!r} ({type(value).__name__}); "
            "it is not rounded, pass int(...) yourself if that is what you mean."
        )
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            rule = f"an integer >= {minimum}"
        elif minimum is None:
            rule = f"an integer <= {maximum}"
        else:
            rule = f"an integer in [{minimum}, {maximum}]"
        raise ValueError(f"Invalid {name}={value!r}: it must be {rule}.")
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


def check_finite_array(name: str, a, dtype=None):
    """``a`` as a backend array of finite real numbers (in ``dtype`` if given).

    Raises
    ------
    TypeError
        When ``a`` is not an array of real numbers (strings, objects, complex).
    ValueError
        When it holds NaN or infinity.
    """
    try:
        a = asarray(a)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}.") from None
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}.")
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    if not bool(array_module(a).isfinite(a).all()):
        raise ValueError(f"{name} holds NaN or infinity.")
    return a


# ----------------------------------------------------------------------------
# Parameters: one array, a list/tuple of arrays, or a dict name -> array.


def _flatten(tree, what: str) -> tuple[list, list[str], str]:
    """Return ``(arrays, names, kind)`` for a single array, a sequence or a dict."""
    if isinstance(tree, Mapping):
        return list(tree.values()), [str(k) for k in tree], "dict"
    if isinstance(tree, (list, tuple)):
        return list(tree), [f"{what}[{i}]" for i in range(len(tree))], "list"
    return [tree], [what], "single"


def _is_array(a) -> bool:
    """An array that can be updated in place (NumPy or CuPy), not a scalar."""
    return hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "__setitem__")


def _writable(a) -> bool:
    flags = getattr(a, "flags", None)
    return bool(getattr(flags, "writeable", True))


def _byte_bounds(a) -> tuple[int, int]:
    """The first and one-past-last byte a NumPy array can touch."""
    try:
        from numpy.lib.array_utils import byte_bounds  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        byte_bounds = numpy.byte_bounds  # noqa: NPY201
    return byte_bounds(a)


def _share_memory(a, b) -> bool:
    """Whether two arrays have an element in common (exact for simple layouts)."""
    mod = array_module(a)
    if mod is not array_module(b):
        return False
    if mod is numpy:
        try:
            return bool(numpy.shares_memory(a, b, max_work=10**6))
        except numpy.exceptions.TooHardError:  # pragma: no cover - exotic strides
            return True
    return bool(mod.may_share_memory(a, b))


def _first_overlap(arrays) -> tuple[int, int] | None:
    """Indices of two arrays that share memory, or None.

    Sorts the NumPy arrays by their memory span and tests only the pairs whose
    spans overlap (cheap for the usual disjoint parameters); other arrays
    (CuPy) are compared pairwise.
    """
    spans, others = [], []
    for i, a in enumerate(arrays):
        if a.size == 0:
            continue
        if isinstance(a, numpy.ndarray):
            lo, hi = _byte_bounds(a)
            spans.append((lo, hi, i))
        else:
            others.append(i)
    spans.sort()
    open_spans: list[tuple[int, int]] = []          # (end, index) of spans still open
    for lo, hi, i in spans:
        open_spans = [(end, j) for end, j in open_spans if end > lo]
        for _, j in open_spans:
            if _share_memory(arrays[j], arrays[i]):
                return (min(i, j), max(i, j))
        open_spans.append((hi, i))
    for k, i in enumerate(others):
        for j in others[k + 1:]:
            if _share_memory(arrays[i], arrays[j]):
                return (i, j)
    return None


class Optimizer:
    """Base class of gdlib's optimizers.

    Parameters
    ----------
    params : array, list of arrays, or dict of arrays
        The parameters to optimize. They are updated in place, so they must be
        writable floating-point arrays (NumPy, or CuPy on the GPU), not Python
        scalars, and no two of them may share memory.
    fused : bool or None, default None
        Take the fused path of :mod:`gdlib.optim.fused` (one multi-threaded
        pass per step, the same numbers): ``None`` for arrays of at least
        ``fused.MIN_SIZE`` elements unless ``GDLIB_FUSED=0``, ``True`` always,
        ``False`` never. Only optimizers with a :meth:`fused_update` accept ``True``.
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
        When true (default), :meth:`step` refuses gradients with NaN or
        infinity, and gradients too large for the update rule (see
        :class:`~gdlib.errors.GradientOverflowError`).

    Notes
    -----
    A step is all or nothing: every gradient is checked (structure, dict keys,
    shape, dtype, finiteness) and so is the learning rate, before any parameter,
    any state or the step counter ``t`` changes. A step that raises leaves the
    optimizer and the parameters exactly as they were.

    A subclass implements :meth:`init_state` and :meth:`update`. When its rule
    acts on each element independently it sets ``elementwise = True``; large
    arrays are then updated in slices of ``chunk_size`` elements, which keeps
    each temporary of the rule in cache instead of streaming it through main
    memory (about twice as fast for Adam on 10^7 parameters). The result is
    identical to one call on the whole array. Such a rule keeps only arrays
    shaped like its parameter in ``state`` (scalars live on the optimizer).

    A rule may also have a ``fused_update(p, g, state, t)``: the same rule as
    one loop over the elements (:mod:`gdlib.optim.fused`), run on flat 1-d
    views instead of :meth:`update` when the ``fused`` option asks for it.
    :meth:`update` stays the reference it must agree with.
    """

    #: The rule acts on each element independently (slices give the same result).
    elementwise: bool = False
    #: Elements per slice for the cache-blocked path (CPU only).
    chunk_size: int = 1 << 16
    #: The rule squares the gradient (or takes its norm): a gradient whose square
    #: overflows would silently turn the step into 0 or NaN, so it is refused.
    squares_gradient: bool = True
    #: The same rule as one fused loop (None: only the readable :meth:`update`).
    fused_update = None

    def __init__(self, params, fused=None, **hyper):
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
            if not _writable(a):
                raise ValueError(
                    f"parameter {n!r} is read-only (flags.writeable is False), so it cannot be "
                    "updated in place: pass a writable copy, e.g. np.array(w)."
                )
        pair = _first_overlap(arrays)
        if pair is not None:
            i, j = pair
            raise ValueError(
                f"parameters {names[i]!r} and {names[j]!r} share memory (the same array listed "
                "twice, or overlapping views of one buffer), so each step would update those "
                "numbers twice. List every array once (copy a view that must be separate)."
            )
        self.params = arrays
        self.names = names
        self._kind = kind
        self._keys = list(params) if kind == "dict" else None
        self._hyper_names = tuple(hyper)
        for k, v in hyper.items():
            setattr(self, k, v)
        self.state: list[dict] = [{} for _ in arrays]
        self.t = 0
        self.check_finite = True
        self.fused = _fused.check_fused(fused)
        if self.fused and self.fused_update is None:
            raise ValueError(
                f"fused=True, but {type(self).__name__} has no fused kernel (its rule is not "
                "element-wise); leave fused at None."
            )
        _fused.check_params(self.fused, arrays, names)
        self._checked_hyper = tuple(hyper.values())   # what the constructor checked

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
            Gradients with the same structure and shapes as ``params``; a dict
            is matched to the parameters by key (in any order).

        Raises
        ------
        ValueError
            When a gradient's shape differs from its parameter's, or the keys
            or the number of gradients do not match the parameters.
        TypeError
            When a gradient is ``None``, not numeric, or complex.
        NonFiniteGradientError
            When a gradient holds NaN or infinity (``check_finite``), or is so
            large that the rule would overflow (:class:`GradientOverflowError`).

        Nothing changes when it raises: parameters, state and ``t`` stay as they were.
        """
        self._check_hyper()
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
        """Restore the state saved by :meth:`state_dict`.

        Everything is checked first: the optimizer's name, the step counter,
        the hyper-parameters (by the constructor's own checks), and every state
        entry (its keys, and each array's shape and finiteness, against the
        parameters). Only then is anything copied, so a state that does not
        fit raises and leaves the optimizer untouched. Arrays are copied: later
        steps never write into ``state_dict``.
        """
        hyper, t, state = self._validate_state_dict(state_dict)
        for k, v in hyper.items():
            setattr(self, k, v)
        self.t = t
        self.state = state
        self._checked_hyper = tuple(hyper.values())
        self._on_load()

    # -- machinery -------------------------------------------------------------

    def _on_load(self) -> None:
        """Forget caches derived from the hyper-parameters or ``t`` (after a load)."""

    def _param_tree(self):
        """The parameters in the structure they were given (array, list or dict)."""
        if self._kind == "dict":
            return dict(zip(self._keys, self.params))
        return self.params[0] if self._kind == "single" else list(self.params)

    def _validate_state_dict(self, state_dict) -> tuple[dict, int, list]:
        """Check a saved state against this optimizer; return ``(hyper, t, state)`` copies."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"state_dict must be a dict as returned by state_dict(), got "
                f"{type(state_dict).__name__}."
            )
        fields = {"optimizer", "t", "hyper", "state"}
        missing, unexpected = fields - set(state_dict), set(state_dict) - fields
        if missing or unexpected:
            raise ValueError(
                f"state_dict must have exactly the keys {sorted(fields)}; missing "
                f"{sorted(missing)}, unexpected {sorted(map(str, unexpected))}."
            )
        name = state_dict["optimizer"]
        if name != type(self).__name__:
            raise ValueError(
                f"state_dict['optimizer'] is {name!r}: this state was saved by {name}, not "
                f"{type(self).__name__}; create a {name} to load it."
            )
        t = check_int("state_dict['t']", state_dict["t"], minimum=0)
        saved_hyper = state_dict["hyper"]
        if not isinstance(saved_hyper, Mapping):
            raise TypeError(
                f"state_dict['hyper'] must be a dict, got {type(saved_hyper).__name__}."
            )
        missing = set(self._hyper_names) - set(saved_hyper)
        unexpected = set(saved_hyper) - set(self._hyper_names)
        if missing or unexpected:
            raise ValueError(
                f"state_dict['hyper'] does not fit {type(self).__name__}: missing "
                f"{sorted(missing)}, unexpected {sorted(map(str, unexpected))}."
            )
        # The constructor's own checks, on a throwaway optimizer over the same arrays.
        try:
            probe = type(self)(self._param_tree(), **saved_hyper)
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(f"state_dict['hyper'] is invalid: {exc}") from None
        saved = state_dict["state"]
        if not isinstance(saved, (list, tuple)):
            raise TypeError(
                f"state_dict['state'] must be a list with one dict per parameter, got "
                f"{type(saved).__name__}."
            )
        if len(saved) != len(self.params):
            raise ValueError(
                f"state_dict['state'] has {len(saved)} entries (one per parameter), this "
                f"optimizer has {len(self.params)} parameters."
            )
        state = []
        for i, (p, entry) in enumerate(zip(self.params, saved)):
            where = f"state_dict['state'][{i}] (parameter {self.names[i]!r})"
            if not isinstance(entry, Mapping):
                raise TypeError(f"{where} must be a dict, got {type(entry).__name__}.")
            state.append(probe._check_state_entry(where, i, p, entry, t))
        return probe.hyper, t, state

    def _check_state_entry(self, where: str, i: int, p, entry, t: int) -> dict:
        """Check one parameter's saved state; return a fresh copy on the device.

        The default: before the first step (``t == 0``) the entry must be empty;
        after it, it must hold exactly the keys of :meth:`init_state`, each
        array with its parameter's shape and finite, each scalar a finite number.
        """
        expected = self.init_state(p) if t > 0 else {}
        _check_keys(where, entry, set(expected), t)
        return {k: _load_value(f"{where}[{k!r}]", entry[k], e) for k, e in expected.items()}

    #: The shape of the tiny parameter :meth:`_check_hyper` builds its probe over.
    _probe_shape: tuple = (1, 1)

    def _check_hyper(self) -> None:
        """Check the hyper-parameters again when they changed since the last check.

        A schedule sets ``lr`` (and ``OneCycleLR`` the momentum) between steps, and
        a learner may set any of them by hand: ``opt.momentum = -1``. The usual
        case costs one tuple comparison; after a change the constructor's own
        checks run on a throwaway optimizer over a tiny parameter (tens of
        microseconds), and the normalized values are kept.
        """
        current = tuple(getattr(self, k) for k in self._hyper_names)
        try:
            if current == self._checked_hyper:
                return
            # The usual change, a schedule's new lr: a float in range suffices.
            changed = [k for k, a, b in zip(self._hyper_names, current, self._checked_hyper)
                       if a != b]
            lr = getattr(self, "lr", None)
            if changed == ["lr"] and type(lr) is float and 0.0 <= lr < math.inf:
                self._checked_hyper = current
                return
        except (TypeError, ValueError):      # e.g. an array set by hand: check it
            pass
        try:
            probe = type(self)(numpy.zeros(self._probe_shape), **dict(zip(self._hyper_names,
                                                                          current)))
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(
                f"{type(self).__name__}'s hyper-parameters were changed after it was made (by "
                f"a schedule or by hand) and are no longer valid: {exc}"
            ) from None
        for k, v in probe.hyper.items():
            setattr(self, k, v)
        self._checked_hyper = tuple(probe.hyper.values())

    def _check_grads(self, grads) -> list:
        """The gradients, matched to the parameters and checked; nothing is changed."""
        gs = self._match_grads(grads)
        return [self._check_grad(p, g, name) for p, g, name in zip(self.params, gs, self.names)]

    def _match_grads(self, grads) -> list:
        """The gradients in the order of ``self.params`` (a dict is matched by key)."""
        if self._kind == "dict":
            if not isinstance(grads, Mapping):
                raise TypeError(
                    f"params is a dict (keys {self._keys!r}), so grads must be a dict with the "
                    f"same keys; got {type(grads).__name__}. Matching by position would apply "
                    "gradients to the wrong parameters."
                )
            missing = [k for k in self._keys if k not in grads]
            known = set(self._keys)
            extra = [k for k in grads if k not in known]
            if missing or extra:
                hint = ""
                if extra and missing:
                    lower = {str(k).lower(): k for k in missing}
                    close = difflib.get_close_matches(str(extra[0]).lower(), list(lower), 1)
                    hint = f" Did you mean {lower[close[0]]!r} for {extra[0]!r}?" if close else ""
                parts = ([f"missing gradient(s) for {missing!r}"] if missing else []) + (
                    [f"unexpected key(s) {extra!r}"] if extra else [])
                raise ValueError(
                    f"grads must match params by key: {', '.join(parts)}.{hint}"
                )
            return [grads[k] for k in self._keys]
        gs, _, kind = _flatten(grads, "grads")
        if kind == "dict" or len(gs) != len(self.params) or (kind == "single") != (
                self._kind == "single"):
            raise ValueError(
                f"grads must match params: expected {len(self.params)} gradient(s) "
                f"({self._kind}), got {len(gs)} ({kind})."
            )
        return gs

    def _check_grad(self, p, g, name: str):
        """One gradient, checked against its parameter; returned ready for :meth:`update`."""
        if g is None:
            raise TypeError(
                f"gradient for {name!r} is None: every parameter needs a gradient array "
                "(did the backward pass run? give zeros for a parameter the loss ignores)."
            )
        if not (hasattr(g, "shape") and hasattr(g, "dtype")):
            try:
                g = asarray(g)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"gradient for {name!r} must be an array of numbers, got "
                    f"{type(g).__name__} ({exc})."
                ) from None
        kind = g.dtype.kind
        if kind == "c":
            raise TypeError(
                f"gradient for {name!r} is complex ({g.dtype}) but the parameter is real "
                f"({p.dtype}): a real loss has a real gradient; take the real part only if "
                "you know why."
            )
        if kind in "iu":
            g = g.astype(p.dtype)
        elif kind != "f":
            raise TypeError(
                f"gradient for {name!r} has dtype {g.dtype}; it must hold real numbers "
                "(a floating-point array like the parameter)."
            )
        if g.shape != p.shape:
            raise ValueError(
                f"gradient for {name!r} has shape {tuple(g.shape)} but the parameter has "
                f"shape {tuple(p.shape)}: they must be the same (did you forget a sum over "
                "the batch, or transpose?)."
            )
        if not _writable(p):
            raise ValueError(
                f"parameter {name!r} has become read-only (flags.writeable is False), so it "
                "cannot be updated in place."
            )
        if type(g) is not type(p) and array_module(g) is not array_module(p):
            g = to_host(g) if isinstance(p, numpy.ndarray) else asarray(g)
        mod = numpy if type(p) is numpy.ndarray else array_module(p)
        if mod.may_share_memory(g, p):
            g = g.copy()   # the rule may write p before it has read all of g
        if self.check_finite:
            self._check_magnitude(p, g, name, mod)
        return g

    def _check_magnitude(self, p, g, name: str, mod=numpy) -> None:
        """Refuse NaN/inf, and gradients whose square (or value) overflows.

        One reduction in the usual case: :math:`g \\cdot g` is at most the
        largest float exactly when every entry and every square is finite.
        Only when it is not are the entries looked at one by one. (Measured on
        10^7 float64 entries: about as long as one ``isfinite(g).all()``, and
        a few per cent of an Adam step.)
        """
        limit = _LIMITS.get((p.dtype, g.dtype))
        if limit is None:
            limit = min(float(numpy.finfo(p.dtype).max), float(numpy.finfo(g.dtype).max))
            _LIMITS[(p.dtype, g.dtype)] = limit
        if g.dtype.itemsize >= 4:
            ss = float(mod.vdot(g, g))          # BLAS: no floating-point warnings
        else:
            with numpy.errstate(over="ignore", invalid="ignore"):
                ss = float(mod.vdot(g, g))
        if ss <= limit:
            return
        if not bool(mod.isfinite(g).all()):
            if self.t == 0:
                why = ("This is the first step, so nothing has diverged yet: your inputs or "
                       "initial point give a non-finite gradient.")
            else:
                why = ("The run has probably diverged: try a smaller learning rate "
                       f"(lr={getattr(self, 'lr', None)!r} now) or clip the gradients.")
            raise NonFiniteGradientError(
                f"gradient for {name!r} holds NaN or infinity at step {self.t + 1}. {why}"
            )
        top = float(mod.abs(g).max())
        if top > limit or (self.squares_gradient and top * top > limit):
            raise GradientOverflowError(
                f"gradient for {name!r} is finite but huge at step {self.t + 1} (largest "
                f"|entry| {top:.3g}): {type(self).__name__} squares it, and the square overflows "
                f"{numpy.dtype(p.dtype).name} to infinity, which would silently make the step 0. "
                "Rescale the loss, clip the gradients (clip_norm=... or "
                "gdlib.clipping.clip_grad_norm_), or lower the learning rate if the run diverges."
            )

    def _apply(self, p, g, state) -> None:
        if self.fused_update is not None and _fused.wanted(self.fused, p, g, state):
            _fused.apply(self, p, g, state)
            return
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


# ----------------------------------------------------------------------------
# Loading saved state: check everything, copy nothing shared.


def _check_keys(where: str, entry, expected: set, t: int) -> None:
    got = set(entry)
    if got != expected:
        missing, unexpected = expected - got, got - expected
        when = "before the first step (t=0)" if t == 0 else f"after {t} step(s)"
        raise ValueError(
            f"{where} does not fit the optimizer {when}: missing {sorted(missing)}, "
            f"unexpected {sorted(map(str, unexpected))}."
        )


def _load_value(where: str, value, like):
    """``value`` checked against ``like`` (an array or a number) and copied to the device."""
    if _is_array(like):
        return _load_array(where, value, like.shape, like.dtype)
    if like is None:
        if value is not None:
            raise TypeError(f"{where} must be None, got {type(value).__name__}.")
        return None
    return check_real(where, value)


def _load_array(where: str, value, shape, dtype):
    """A finite real array of this shape, copied onto the device in ``dtype``."""
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        raise TypeError(f"{where} must be an array of shape {tuple(shape)}, got "
                        f"{type(value).__name__}.")
    host = to_host(value)
    if host.dtype.kind not in "fiu":
        raise TypeError(f"{where} must hold real numbers, got dtype {host.dtype}.")
    if tuple(host.shape) != tuple(shape):
        raise ValueError(f"{where} has shape {tuple(host.shape)}, the parameter needs "
                         f"{tuple(shape)}.")
    if not numpy.isfinite(host).all():
        raise ValueError(f"{where} holds NaN or infinity: the saved state is corrupt.")
    return asarray(numpy.array(host, dtype=dtype, copy=True))


#: The largest float of (parameter dtype, gradient dtype), the smaller of the two.
_LIMITS: dict = {}


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

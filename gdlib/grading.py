"""Feedback for the exercises: checks that say *what* is wrong, not just *that* it is.

The test cells of the course's notebooks call these checks. A check that passes
prints one short line (``✓ grad(x0)``); a check that fails raises
:class:`Feedback`, an ``AssertionError``, so nbgrader marks the test cell as
failed and the learner reads a message such as::

    Feedback: grad(x0) has the right size but the sign is flipped: got -2.0,
    expected 2.0. Gradient descent moves *against* the gradient ...

The diagnoses are tried in this order, and the first that fits is reported:

1. nothing usable came back: ``None`` (a missing ``return``), a function, text,
   a tuple where one array was expected;
2. the exercise is not done yet (``NotImplementedError`` from the stub);
3. the wrong shape, with a guess (transposed, a missing sum, ``keepdims``);
4. NaN or infinity where the answer is finite;
5. a lesson-specific hint (``hints=``) whose transform of the answer matches;
6. the sign is flipped;
7. a constant factor: the learning rate applied twice or not at all, a missing
   bias correction, or another named factor from ``hints``;
8. otherwise, the worst entry: where it is, what it is, what it should be, and
   the tolerance.

Hints
-----
``hints`` is a dict ``label -> value`` where the value is

- a number ``c``: the answer may be off by the factor ``c`` or ``1/c``. The labels
  ``"lr"`` (or ``"learning_rate"``) and ``"bias_correction"`` get their own
  messages (``hints={"lr": 0.1}``, ``hints={"bias_correction": 1 - beta**t}``);
- a callable ``transform``: the answer may equal ``transform(want)``;
- a pair ``(number or callable, message)``: the same, with your own message;
- a string: advice added (as "Hint: ...") to any failure of that check.

Choose test values where the likely factors differ (a learning rate of 0.1 and
a momentum of 0.9 make ``1 - beta`` and ``lr`` indistinguishable).

Tolerances follow :func:`numpy.isclose`: an entry passes when
``|got - want| <= atol + rtol * |want|``.

Every check accepts NumPy or CuPy arrays (CuPy ones are copied to the host with
:func:`gdlib.backend.to_host` before comparing).

In a notebook
-------------
Importing this module inside IPython installs :func:`install_notebook_hooks`:

- a :class:`Feedback` shows as its message alone, without the traceback through
  this module (the learner's own frame is named when the mistake raised there);
- an exercise that still raises ``NotImplementedError`` is reported as "not written
  yet", naming the function to write;
- warnings print to standard output, so a correct answer whose code warns does not
  fail its test cell (nbgrader fails a test cell that writes to standard error).

Write-it-yourself exercises
---------------------------
While an exercise's tests run the learner's function, :func:`switched_off` makes
the library's version of the same thing (and any notebook helper that wraps it)
raise a :class:`Feedback` saying so, so that an answer made of library calls
fails its tests::

    with switched_off(gdlib.optim.Adam, task="the Adam update"):
        got = adam_step(x, g, m, v, t=1)
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import sys
import types
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from .backend import to_host

__all__ = [
    "Feedback",
    "check_close",
    "check_shape",
    "check_function",
    "check_update_rule",
    "check_true",
    "recorded",
    "switched_off",
    "install_notebook_hooks",
    "VERBOSE",
]

VERBOSE = True
"""Print a short ``✓`` line when a check passes (set to False to silence)."""

_LR_LABELS = ("lr", "learning_rate", "eta")
_NICE_FACTORS = (2.0, 3.0, 4.0, 10.0, 0.5, 1 / 3, 0.25, 0.1)


class Feedback(AssertionError):
    """A failed exercise check, with a message written for the learner.

    Attributes
    ----------
    name : str
        What was checked (``"grad(x0)"``).
    kind : str
        A short key for the diagnosis: ``"none"``, ``"callable"``, ``"type"``,
        ``"tuple"``, ``"not_implemented"``, ``"exception"``, ``"shape"``,
        ``"nonfinite"``, ``"hint"``, ``"sign"``, ``"lr"``, ``"bias_correction"``,
        ``"factor"``, ``"transpose"``, ``"value"`` or ``"check"``.
    """

    def __init__(self, message: str, name: str = "answer", kind: str = "value"):
        super().__init__(message)
        self.name = name
        self.kind = kind

    def _render_traceback_(self) -> list[str]:
        """How IPython shows a failed check: the message, not a traceback.

        When the mistake raised inside the learner's own code (a ``Feedback``
        chained from their exception), the line of their cell where it happened
        is added, since that is where they will look.
        """
        lines = [f"\x1b[0;31mFeedback\x1b[0m: {self.args[0] if self.args else ''}"]
        where = _learner_frame(self.__cause__)
        if where:
            lines.append(where)
        return lines


def _passed(name: str) -> None:
    if VERBOSE:
        print(f"\u2713 {name}")


def _is_notebook_code(filename: str) -> bool:
    """Code typed in a notebook cell (IPython names those files like this)."""
    return filename.startswith("<ipython-input") or "ipykernel_" in filename or \
        filename.startswith("<cell")


def _learner_frame(exc: BaseException | None) -> str:
    """``"  in f, cell line 3: x = ..."`` for the innermost notebook frame of ``exc``."""
    if exc is None or exc.__traceback__ is None:
        return ""
    import linecache
    import traceback

    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if _is_notebook_code(frame.filename):
            line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
            found = f"  (in `{frame.name}`, line {frame.lineno} of its cell: {line})"
    return found


def _fmt(x, precision: int = 6) -> str:
    """A short, readable form of a number or a small array."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{precision}g}"
    if isinstance(x, np.ndarray):
        return np.array2string(
            x, precision=4, threshold=8, edgeitems=2, max_line_width=80, separator=", "
        )
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt_index(idx: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]" if idx else ""


def _host_array(value, name: str) -> np.ndarray:
    """``value`` as a float NumPy array, or a :class:`Feedback` saying why not."""
    if value is None:
        raise Feedback(
            f"{name} is None: your function returned nothing. Did you forget `return`?",
            name,
            "none",
        )
    if callable(value) and not hasattr(value, "shape"):
        raise Feedback(
            f"{name} is a function, not a value: did you forget to call it, "
            "e.g. `f(x)` rather than `f`?",
            name,
            "callable",
        )
    if isinstance(value, (str, bytes, dict, set)):
        raise Feedback(
            f"{name} should be a number or an array, but it is a {type(value).__name__} "
            f"({_fmt(value)}).",
            name,
            "type",
        )
    if isinstance(value, (list, tuple)):
        value = [to_host(v) for v in value]
    try:
        arr = np.asarray(to_host(value))
    except (ValueError, TypeError):
        raise Feedback(
            f"{name} could not be read as an array of numbers ({_fmt(value)}): "
            "are all its parts the same length?",
            name,
            "type",
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise Feedback(
            f"{name} should hold numbers, but it holds {arr.dtype} values ({_fmt(value)}).",
            name,
            "type",
        )
    if np.iscomplexobj(arr):
        raise Feedback(f"{name} holds complex numbers; a real answer is expected.", name, "type")
    return arr.astype(float)


def _shape_advice(got: tuple, want: tuple) -> str:
    """A guess at how a wrong shape came about."""
    squeezed_got = tuple(s for s in got if s != 1)
    squeezed_want = tuple(s for s in want if s != 1)
    if len(got) == len(want) == 2 and got == want[::-1]:
        return "It looks transposed: try `.T`."
    if squeezed_got == squeezed_want:
        if len(got) > len(want):
            return "It has an extra axis of length 1: try `.squeeze()` or `.ravel()`."
        return "It lost an axis of length 1: try `keepdims=True` in the sum, or `.reshape`."
    if got == () and want != ():
        return (
            "You returned a single number where an array was expected: "
            "did you sum over every axis?"
        )
    if len(got) == 2 and len(want) == 1 and got[0] == got[1] == want[0]:
        return (
            "A square result where a vector was expected often comes from broadcasting "
            "a column (n, 1) against a row (n,): check the shapes of the operands."
        )
    if len(got) == len(want) + 1 and (got[1:] == want or got[:-1] == want):
        axis = 0 if got[1:] == want else len(got) - 1
        return (
            f"It has one axis too many: did you forget to sum (or average) over axis "
            f"{axis}, e.g. `.sum(axis={axis})`?"
        )
    if math.prod(got) == math.prod(want):
        return "It has the right number of entries but arranged differently: try `.reshape`."
    if len(got) != len(want):
        more = "many" if len(got) > len(want) else "few"
        return f"It has {abs(len(got) - len(want))} axis/axes too {more}."
    return "Check the shapes of the arrays you combine."


def _check_shape_arrays(got: np.ndarray, want_shape: tuple, name: str) -> None:
    if got.shape == want_shape:
        return
    raise Feedback(
        f"{name} has shape {got.shape} but should have shape {want_shape}. "
        f"{_shape_advice(got.shape, want_shape)}",
        name,
        "shape",
    )


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol,
                                                          equal_nan=True)))


def _factor(got: np.ndarray, want: np.ndarray) -> float | None:
    """The least-squares ``k`` in ``got ≈ k * want``, or None when undefined."""
    denom = float(np.sum(want * want))
    if denom == 0.0 or not np.all(np.isfinite(want)):
        return None
    return float(np.sum(got * want)) / denom


def _near(k: float, value: float) -> bool:
    return value != 0 and math.isclose(k, value, rel_tol=1e-4)


def _normalise_hints(hints) -> list[tuple[str, object, str | None]]:
    """Hints as ``(label, number-or-callable, custom message or None)``."""
    if not hints:
        return []
    if not isinstance(hints, Mapping):
        raise TypeError("hints must be a dict label -> number, callable or (value, message).")
    out = []
    for label, value in hints.items():
        message = None
        if isinstance(value, str):  # advice shown with any failure: see _string_hints
            continue
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
            value, message = value
        if not (callable(value) or isinstance(value, (int, float, np.number))):
            raise TypeError(
                f"hint {label!r} must be a number, a callable or a (value, message) pair, "
                f"got {value!r}."
            )
        out.append((str(label), value, message))
    return out


def _string_hints(hints) -> str:
    """The plain-text hints (``{"label": "advice"}``), shown with any failure."""
    if not hints or not isinstance(hints, Mapping):
        return ""
    tips = [v for v in hints.values() if isinstance(v, str)]
    return "".join(f" Hint: {tip}" for tip in tips)


def _with_tips(fb: Feedback | None, hints) -> Feedback | None:
    tips = _string_hints(hints)
    if fb is not None and tips:
        fb.args = (fb.args[0] + tips,)
    return fb


def _factor_message(name: str, k: float, label: str, value: float, custom: str | None) -> str:
    """Explain ``got ≈ k * want`` when ``k`` is ``value``, ``1/value`` or their negatives."""
    sign = " and the sign is flipped" if k < 0 else ""
    kk = abs(k)
    v = abs(float(value))
    if custom is not None:
        return f"{name}: {custom} (your answer is {_fmt(k, 4)} times the expected one)."
    if label in _LR_LABELS:
        if _near(kk, v):
            return (
                f"{name} is {_fmt(k, 4)} times the expected value{sign}: the learning rate "
                f"({_fmt(v)}) seems to be applied twice (or where it does not belong)."
            )
        return (
            f"{name} is {_fmt(k, 4)} times the expected value{sign}: the learning rate "
            f"({_fmt(v)}) seems not to be applied at all. Multiply the step by it."
        )
    if label == "bias_correction":
        if _near(kk, v):
            return (
                f"{name} is {_fmt(k, 4)} times the expected value{sign}: the bias correction "
                f"seems to be missing. Divide the running average by 1 - beta**t "
                f"(here {_fmt(v, 4)})."
            )
        return (
            f"{name} is {_fmt(k, 4)} times the expected value{sign}: the bias correction "
            f"(1 - beta**t = {_fmt(v, 4)}) seems to be applied twice."
        )
    if _near(kk, v):
        return (
            f"{name} is {_fmt(k, 4)} times the expected value{sign}, which is `{label}` "
            f"({_fmt(v)}): is `{label}` applied twice, or where it does not belong?"
        )
    return (
        f"{name} is {_fmt(k, 4)} times the expected value{sign}, which is 1/`{label}` "
        f"({_fmt(v)}): is `{label}` missing?"
    )


def _diagnose_values(
    got: np.ndarray, want: np.ndarray, name: str, rtol: float, atol: float, hints
) -> Feedback | None:
    """The diagnosis for two arrays of the same shape, or None when they agree."""
    if _close(got, want, rtol, atol):
        return None

    bad = ~np.isfinite(got) & np.isfinite(want)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        what = "NaN" if np.isnan(got[idx]) else "infinity"
        where = f" at index {_fmt_index(idx)}" if got.ndim else ""
        return Feedback(
            f"{name} contains {what}{where} ({int(bad.sum())} of {got.size} entries). "
            "Common causes: a division by zero, the log or square root of a negative "
            "number, or a run that diverged (is the learning rate too large?).",
            name,
            "nonfinite",
        )

    want_is_zero = _close(want, np.zeros_like(want), rtol, atol)
    k = None if want_is_zero else _factor(got, want)
    scalar = want.size == 1

    for label, value, message in _normalise_hints(hints):
        if callable(value):
            try:
                target = _host_array(value(want), f"hint {label}")
            except Exception:  # a hint that does not apply to this value
                continue
            if target.shape == want.shape and _close(got, target, rtol, atol):
                text = message or f"your answer matches `{label}`, not the expected value."
                return Feedback(f"{name}: {text}", name, "hint")
        elif k is not None and (
            _near(abs(k), abs(float(value))) or _near(abs(k), 1 / abs(float(value)))
        ) and _close(got, k * want, rtol, atol):
            kind = "lr" if label in _LR_LABELS else (
                "bias_correction" if label == "bias_correction" else "hint")
            return Feedback(_factor_message(name, k, label, value, message), name, kind)

    if not want_is_zero and _close(got, -want, rtol, atol):
        return Feedback(
            f"{name} has the right size but the sign is flipped: got {_fmt(got)}, expected "
            f"{_fmt(want)}. Remember: gradient descent moves *against* the gradient, "
            "x - lr * grad; and the derivative of -f is minus that of f.",
            name,
            "sign",
        )

    if k is not None and k != 0 and _close(got, k * want, rtol, atol):
        nice = [c for c in _NICE_FACTORS if _near(abs(k), c)]
        if not scalar or nice:
            sign = " and the sign is flipped" if k < 0 else ""
            return Feedback(
                f"{name} is {_fmt(k, 4)} times the expected value{sign} (a constant "
                "factor): is a factor such as the learning rate, a 2 from a derivative, "
                "or a 1/n from an average applied twice or forgotten?",
                name,
                "factor",
            )

    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, want.T, rtol, atol):
        return Feedback(f"{name} is the transpose of the expected matrix: try `.T`.", name,
                        "transpose")

    tol = atol + rtol * np.abs(want)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.abs(got - want) / tol
    excess = np.where(np.isnan(excess), np.inf, excess)
    idx = np.unravel_index(int(np.argmax(excess)), got.shape) if got.ndim else ()
    n_bad = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)))
    g, w = got[idx], want[idx]
    where = f"{name}{_fmt_index(idx)}"
    count = f" ({n_bad} of {got.size} entries are off)" if got.size > 1 else ""
    close_note = ""
    rel = abs(g - w) / max(abs(w), 1e-300)
    if np.isfinite(rel) and rel < 1e-3:
        close_note = (
            " It is close: a rounding difference (float32?) or an approximation where the "
            "exact formula is expected?"
        )
    return Feedback(
        f"{where} is {_fmt(g, 8)} but should be {_fmt(w, 8)} (difference "
        f"{_fmt(abs(g - w), 3)}, allowed {_fmt(float(tol[idx]), 3)}){count}.{close_note}",
        name,
        "value",
    )


def _diagnose(got, want, name: str, rtol: float, atol: float, hints) -> Feedback | None:
    want_arr = _host_array(want, f"the expected {name}")
    if isinstance(got, tuple) and want_arr.ndim == 0 and len(got) > 1:
        return Feedback(
            f"{name} is a tuple of {len(got)} values, but one number is expected: "
            "return only that number.",
            name,
            "tuple",
        )
    try:
        got_arr = _host_array(got, name)
        _check_shape_arrays(got_arr, want_arr.shape, name)
    except Feedback as fb:
        return _with_tips(fb, hints)
    return _with_tips(_diagnose_values(got_arr, want_arr, name, rtol, atol, hints), hints)


def check_close(got, want, name: str = "answer", rtol: float = 1e-6, atol: float = 1e-9,
                hints=None) -> None:
    """Check that ``got`` equals ``want`` within a tolerance, explaining any difference.

    Passes when every entry satisfies ``|got - want| <= atol + rtol * |want|``
    (the rule of :func:`numpy.isclose`) and the shapes agree.

    Parameters
    ----------
    got : number or array (NumPy or CuPy)
        The learner's answer.
    want : number or array
        The expected answer.
    name : str
        What the answer is, as the learner will read it (``"grad(x0)"``).
    rtol, atol : float
        Relative and absolute tolerance.
    hints : dict, optional
        Likely mistakes to recognise; see the module's documentation.

    Raises
    ------
    Feedback
        When ``got`` differs from ``want``, with a diagnosis.
    """
    fb = _diagnose(got, want, name, rtol, atol, hints)
    if fb is not None:
        raise fb
    _passed(name)


def check_shape(got, shape, name: str = "answer") -> None:
    """Check the shape of ``got``; ``None`` in ``shape`` matches any length.

    Parameters
    ----------
    got : array (NumPy or CuPy) or number
        The learner's answer.
    shape : int or tuple of int or None
        The expected shape (an int means a 1-D array of that length).
    name : str
        What the answer is.

    Raises
    ------
    Feedback
        When ``got`` is not an array of numbers or its shape differs.
    """
    arr = _host_array(got, name)
    shape = (shape,) if isinstance(shape, (int, np.integer)) or shape is None else tuple(shape)
    want = tuple(a if s is None else int(s) for a, s in zip(arr.shape, shape, strict=False))
    if len(arr.shape) != len(shape) or arr.shape != want:
        shown = "(" + ", ".join("any" if s is None else str(s) for s in shape) + \
            ("," if len(shape) == 1 else "") + ")"
        want_full = tuple(1 if s is None else int(s) for s in shape)
        raise Feedback(
            f"{name} has shape {arr.shape} but should have shape {shown}. "
            f"{_shape_advice(arr.shape, want_full)}",
            name,
            "shape",
        )
    _passed(f"{name} has shape {arr.shape}")


def check_true(cond, message: str, name: str = "check") -> None:
    """Raise :class:`Feedback` with ``message`` unless ``cond`` is true.

    For checks that are not a comparison of numbers ("the loss went down",
    "you used at most 100 steps"); write the message as advice.
    """
    cond = to_host(cond)
    if isinstance(cond, np.ndarray):
        if cond.size != 1:
            raise TypeError("check_true needs one truth value; use np.all(...) for an array.")
        cond = cond.item()
    if not cond:
        raise Feedback(message, name, "check")
    _passed(name)


def _copy_args(value):
    """A deep copy of a case's inputs, so a function that edits them in place
    cannot change what the other function (or the next case) sees."""
    return copy.deepcopy(value)



def _not_written(name: str) -> Feedback:
    """The feedback for an exercise that still raises ``NotImplementedError``."""
    return Feedback(
        f"{name} is not written yet: replace `raise NotImplementedError()` in the "
        "exercise cell with your code, run that cell, then run this one again.",
        name,
        "not_implemented",
    )

def _call(fn, case, name: str, student: bool):
    args, kwargs = (), {}
    if isinstance(case, Mapping):
        kwargs = dict(_copy_args(case))
    elif isinstance(case, tuple):
        args = _copy_args(case)
    else:
        args = (_copy_args(case),)
    if not student:
        return fn(*args, **kwargs)
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _not_written(name) from None
    except Feedback:
        raise
    except Exception as exc:
        raise Feedback(
            f"calling {name}{_fmt_case(case)} raised {type(exc).__name__}: {exc}",
            name,
            "exception",
        ) from exc


def _fmt_case(case) -> str:
    if isinstance(case, Mapping):
        inner = ", ".join(f"{k}={_fmt(to_host(v))}" for k, v in case.items())
    elif isinstance(case, tuple):
        inner = ", ".join(_fmt(to_host(v)) for v in case)
    else:
        inner = _fmt(to_host(case))
    return f"({inner})"


def check_function(student_fn, reference_fn, cases, name: str | None = None,
                   rtol: float = 1e-6, atol: float = 1e-9, hints=None) -> None:
    """Call both functions on each case and compare; report the first case that fails.

    Parameters
    ----------
    student_fn, reference_fn : callable
        The learner's function and the reference.
    cases : iterable
        The inputs. A tuple is unpacked as positional arguments, a dict as
        keyword arguments, anything else is passed as the single argument.
        Each function gets its own deep copy of the inputs.
    name : str, optional
        The function's name as the learner knows it (default: ``student_fn.__name__``).
    rtol, atol : float
        Tolerances, as in :func:`check_close`.
    hints : dict, optional
        As in :func:`check_close`; callables are applied to each case's expected value.

    Raises
    ------
    Feedback
        For the first case whose result differs, naming the inputs.
    """
    name = name or getattr(student_fn, "__name__", "your function")
    cases = list(cases)
    if not cases:
        raise ValueError("check_function needs at least one case.")
    for case in cases:
        want = _call(reference_fn, case, name, student=False)
        got = _call(student_fn, case, name, student=True)
        label = f"{name}{_fmt_case(case)}"
        fb = _diagnose(got, want, label, rtol, atol, hints)
        if fb is not None:
            fb.name = name
            raise fb
    _passed(f"{name} on {len(cases)} case{'s' if len(cases) > 1 else ''}")


def _accepts(fn, keyword: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in params)


def _as_tuple(out) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def check_update_rule(student_step: Callable, reference_step: Callable, x0, grad,
                      state0=(), steps: int = 3, hyper: Mapping | None = None,
                      name: str | None = None, state_names=None, rtol: float = 1e-6,
                      atol: float = 1e-9, hints=None) -> None:
    """Check an optimizer's update rule step by step against a reference.

    Each step calls ``step(x, g, *state, **hyper)`` (plus ``t=t``, 1-based, when
    the reference accepts a ``t`` argument). A step returns the new parameters,
    or a tuple ``(x_new, *state_new)``. The learner's step always receives the
    *reference's* current point and state, so the first wrong step is reported
    with its inputs and mistakes do not pile up.

    The parameters are compared through the step taken, ``x_new - x``, so a
    flipped sign or a learning rate applied twice is recognised as such; the
    state (velocity, running averages) is compared directly.

    Parameters
    ----------
    student_step, reference_step : callable
        The learner's rule and the reference rule, with the same signature.
    x0 : array
        The starting point.
    grad : callable or sequence of arrays
        ``grad(x)`` gives the gradient at ``x``; or the list of gradients to feed
        (one per step), which tests a rule on gradients that change sign.
    state0 : tuple of arrays, default ()
        The initial state (e.g. ``(np.zeros(2),)`` for a velocity).
    steps : int, default 3
        How many steps to check (at most ``len(grad)`` for a list).
    hyper : dict, optional
        Keyword arguments for both steps (``{"lr": 0.1, "beta": 0.9}``).
    name : str, optional
        The learner's function name (default: ``student_step.__name__``).
    state_names : sequence of str, optional
        Names of the state entries for the messages (default ``state[0]``, ...).
    rtol, atol : float
        Tolerances.
    hints : dict or callable, optional
        As in :func:`check_close`, or a function ``t -> dict`` for hints that
        depend on the step (a bias correction ``1 - beta**t``). ``hyper["lr"]``
        is always added as the hint ``"lr"``.

    Raises
    ------
    Feedback
        At the first step where the learner's output differs.
    """
    name = name or getattr(student_step, "__name__", "your step")
    hyper = dict(hyper or {})
    pass_t = _accepts(reference_step, "t")
    if callable(grad):
        grads = None
    else:
        grads = list(grad)
        steps = min(steps, len(grads))
    x = np.array(to_host(x0), dtype=float)
    state0 = tuple(state0) if isinstance(state0, (tuple, list)) else (state0,)
    state = tuple(np.array(to_host(s), dtype=float) for s in state0)
    names = list(state_names or [f"state[{i}]" for i in range(len(state))])
    for t in range(1, steps + 1):
        g = np.asarray(to_host(grad(x) if grads is None else grads[t - 1]), dtype=float)
        kwargs = dict(hyper, t=t) if pass_t else dict(hyper)
        case = {"x": x, "g": g, **{n: s for n, s in zip(names, state, strict=False)}, **kwargs}
        ref = _as_tuple(reference_step(copy.deepcopy(x), g.copy(),
                                       *copy.deepcopy(state), **kwargs))
        try:
            out = student_step(copy.deepcopy(x), g.copy(), *copy.deepcopy(state), **kwargs)
        except NotImplementedError:
            raise _not_written(name) from None
        except Exception as exc:
            raise Feedback(
                f"step {t}: calling {name}{_fmt_case(case)} raised {type(exc).__name__}: {exc}",
                name,
                "exception",
            ) from exc
        if out is None:
            raise Feedback(
                f"{name} returned None at step {t}: did you forget `return`? (If you update "
                "x in place, still return it.)",
                name,
                "none",
            )
        out = _as_tuple(out)
        if len(out) != len(ref):
            raise Feedback(
                f"{name} returned {len(out)} value(s) but should return {len(ref)}: "
                f"{', '.join(['x_new'] + [n + '_new' for n in names])}.",
                name,
                "tuple",
            )
        step_hints = hints(t) if callable(hints) else dict(hints or {})
        if "lr" in hyper and not any(k in step_hints for k in _LR_LABELS):
            step_hints["lr"] = hyper["lr"]
        x_ref = np.asarray(to_host(ref[0]), dtype=float)
        try:
            x_got = _host_array(out[0], f"the new x returned by {name}")
            _check_shape_arrays(x_got, x_ref.shape, f"the new x returned by {name}")
        except Feedback as fb:
            fb.name = name
            raise
        label = f"the step x_new - x taken by {name} at step {t}"
        fb = _diagnose_values(x_got - x, x_ref - x, label, rtol, atol, step_hints)
        if fb is not None:
            fb.name = name
            fb.args = (f"{fb.args[0]} Inputs: x={_fmt(x)}, g={_fmt(g)}.",)
            raise _with_tips(fb, step_hints)
        for i, n in enumerate(names):
            fb = _diagnose(out[i + 1], ref[i + 1], f"{n} returned by {name} at step {t}",
                           rtol, atol, step_hints)
            if fb is not None:
                fb.name = name
                raise fb
        x = x_ref
        state = tuple(np.asarray(to_host(s), dtype=float) for s in ref[1:])
    _passed(f"{name} on {steps} step{'s' if steps > 1 else ''}")


def recorded(reference_step: Callable, x0, grad, state0=(), steps: int = 3,
             hyper: Mapping | None = None) -> Callable:
    """A reference update rule run *now* along its own path, replayed later from the record.

    For :func:`check_update_rule` inside :func:`switched_off`: the reference (often
    a wrapper of the library's optimizer, which the block switches off) is run
    before the block, and the function returned hands back its outputs step by
    step, so the check needs no callable the learner could reach. Call it with the
    same ``x0``, ``grad``, ``state0``, ``steps`` and ``hyper`` as the check::

        ref = recorded(torch_like_adam, x0, f.grad, (m0, v0), steps=5, hyper=hyper)
        with switched_off(Adam, task="the Adam update"):
            check_update_rule(adam_step, ref, x0, f.grad, (m0, v0), steps=5, hyper=hyper)

    The returned function has the reference's signature (so ``t`` is passed
    exactly when the reference takes it) and ignores its arguments.
    """
    hyper = dict(hyper or {})
    pass_t = _accepts(reference_step, "t")
    grads = None if callable(grad) else list(grad)
    if grads is not None:
        steps = min(steps, len(grads))
    x = np.array(to_host(x0), dtype=float)
    state0 = tuple(state0) if isinstance(state0, (tuple, list)) else (state0,)
    state = tuple(np.array(to_host(s), dtype=float) for s in state0)
    outputs = []
    for t in range(1, steps + 1):
        g = np.asarray(to_host(grad(x) if grads is None else grads[t - 1]), dtype=float)
        kwargs = dict(hyper, t=t) if pass_t else dict(hyper)
        out = _as_tuple(reference_step(copy.deepcopy(x), g.copy(), *copy.deepcopy(state),
                                       **kwargs))
        outputs.append(copy.deepcopy(out))
        x = np.asarray(to_host(out[0]), dtype=float)
        state = tuple(np.asarray(to_host(s), dtype=float) for s in out[1:])
    pending = iter(outputs)

    def replay(*args, **kwargs):
        try:
            out = next(pending)
        except StopIteration:
            raise RuntimeError(f"recorded: only {len(outputs)} step(s) were recorded; "
                               "record as many steps as the check takes.") from None
        return out if len(out) > 1 else out[0]

    replay.__signature__ = inspect.signature(reference_step)
    replay.__name__ = getattr(reference_step, "__name__", "reference")
    return replay


# -- write-it-yourself exercises ---------------------------------------------------


def _off_stub(obj, task: str | None):
    """A stand-in for ``obj`` that raises a :class:`Feedback` when called."""
    qualname = f"{getattr(obj, '__module__', 'gdlib')}.{getattr(obj, '__qualname__', obj)}"
    qualname = qualname.replace("gdlib.optim.base.", "gdlib.optim.")
    what = task or f"`{getattr(obj, '__name__', 'it')}`"
    message = (
        f"this exercise asks you to write {what} yourself; {qualname} is switched off "
        "while its tests run. Write the computation with NumPy instead of calling it."
    )

    def refuse(*args, **kwargs):
        raise Feedback(message, getattr(obj, "__name__", "library"), "switched_off")

    if isinstance(obj, type):
        return type(obj.__name__, (), {"__new__": lambda cls, *a, **k: refuse(),
                                       "__doc__": message, "_switched_off": obj})
    refuse.__name__ = getattr(obj, "__name__", "switched_off")
    refuse.__doc__ = message
    refuse._switched_off = obj
    return refuse


def _holders(namespace_modules):
    """Every (container, key) pair, in the modules given, worth scanning."""
    for module in namespace_modules:
        yield vars(module)
        for value in list(vars(module).values()):
            if isinstance(value, dict) and value is not vars(module):
                yield value  # registries such as {"adam": Adam}


@contextlib.contextmanager
def switched_off(*objects, task: str | None = None, namespace: Mapping | None = None):
    """Make the library's versions of what an exercise asks for unavailable.

    Inside the ``with`` block every reference to one of ``objects`` found in the
    ``gdlib`` modules, in their registries (module-level dicts), in the
    notebook's namespace (``__main__``, or ``namespace``) and in the defaults and
    closures of the notebook's functions is replaced by a stand-in that raises
    a :class:`Feedback` ("this exercise asks you to write Adam yourself; ...").
    Everything is put back on leaving the block, also after an error.

    Parameters
    ----------
    *objects : callables or classes
        What the learner must not call (``gdlib.optim.Adam``, ``minimize``, or a
        notebook helper that wraps them).
    task : str, optional
        The exercise in the learner's words (``"the Adam update"``).
    namespace : dict, optional
        The namespace the learner's code runs in (default: ``__main__``'s).

    Notes
    -----
    Call the reference *before* or *outside* the block; the checks themselves
    (:func:`check_close` and friends) keep working inside it. Entering the block
    scans every loaded ``gdlib`` module (about a millisecond): put one block
    around a loop of calls, not one block inside the loop.
    """
    targets = {id(o): o for o in objects if o is not None}
    if not targets:
        yield
        return
    stubs = {key: _off_stub(obj, task) for key, obj in targets.items()}
    user_ns = namespace if namespace is not None else vars(sys.modules["__main__"])
    modules = [m for name, m in list(sys.modules.items())
               if m is not None and (name == "gdlib" or name.startswith("gdlib."))
               and name != __name__]
    undo: list[Callable[[], None]] = []

    def swap_in(container: dict) -> None:
        for key, value in list(container.items()):
            stub = stubs.get(id(value))
            if stub is not None and value is targets[id(value)]:
                container[key] = stub
                undo.append(lambda c=container, k=key, v=value: c.__setitem__(k, v))

    try:
        for container in _holders(modules):
            swap_in(container)
        swap_in(user_ns)
        for value in list(user_ns.values()):
            if not isinstance(value, types.FunctionType):
                continue
            if value.__defaults__:
                old = value.__defaults__
                if any(id(d) in stubs for d in old):
                    value.__defaults__ = tuple(stubs.get(id(d), d) for d in old)
                    undo.append(lambda f=value, o=old: setattr(f, "__defaults__", o))
            if value.__kwdefaults__:
                swap_in(value.__kwdefaults__)
            for cell in value.__closure__ or ():
                try:
                    content = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if id(content) in stubs:
                    cell.cell_contents = stubs[id(content)]
                    undo.append(lambda c=cell, v=content: setattr(c, "cell_contents", v))
        yield
    finally:
        for restore in reversed(undo):
            restore()


# -- notebook hooks ----------------------------------------------------------------


def _not_implemented_handler(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for ``NotImplementedError``: name the function to write."""
    import traceback

    frames = traceback.extract_tb(tb)
    own = [f for f in frames if _is_notebook_code(f.filename) and f.name != "<module>"]
    where = own[-1].name if own else (frames[-1].name if frames else "")
    if where and where != "<module>":
        text = (f"`{where}` is not written yet: replace `raise NotImplementedError()` in "
                f"its exercise cell with your code, run that cell, then run this one again.")
    else:
        text = ("this exercise is not written yet: replace `raise NotImplementedError()` "
                "with your code, run that cell, then run this one again.")
    if value is not None and str(value):
        text += f" ({value})"
    stb = [f"\x1b[0;31mNot done yet\x1b[0m: {text}"]
    shell._showtraceback(etype, value, stb)
    return stb


def _showwarning_to_stdout(message, category, filename, lineno, file=None, line=None):
    print(f"{category.__name__}: {message}", file=sys.stdout)


def install_notebook_hooks(shell=None) -> bool:
    """Set up an IPython kernel for the exercises (done on import in IPython).

    Registers the ``NotImplementedError`` handler, and prints warnings to standard
    output (see the module's documentation). Returns whether a shell was found.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None) if ipython else None
        shell = get() if get else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    shell.set_custom_exc((NotImplementedError,), _not_implemented_handler)
    warnings.showwarning = _showwarning_to_stdout
    return True


install_notebook_hooks()

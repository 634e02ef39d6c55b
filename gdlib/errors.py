"""Errors that say what went wrong and what to try.

Every check in gdlib raises one of these (or a plain ``ValueError`` /
``TypeError`` for a bad argument) with a message that names the parameter, the
value it got, and the allowed range or the next thing to try.
"""

from __future__ import annotations

import difflib

__all__ = [
    "DivergenceError",
    "NonFiniteGradientError",
    "GradientOverflowError",
    "NonFiniteInputError",
    "unknown_name_error",
]


class DivergenceError(FloatingPointError):
    """A run diverged: the loss became non-finite or exploded.

    Attributes
    ----------
    step : int
        The step at which divergence was detected (1-based).
    lr : float or None
        The learning rate in force at that step.
    """

    def __init__(self, message: str, step: int, lr: float | None = None):
        super().__init__(message)
        self.step = step
        self.lr = lr


class NonFiniteGradientError(ValueError):
    """A gradient handed to an optimizer holds NaN or infinity."""


class GradientOverflowError(NonFiniteGradientError):
    """A gradient is finite but so large that the update rule would overflow.

    Adam and its relatives square the gradient: in float64 any entry above
    about 1.3e154 has an infinite square, the second moment becomes infinite
    and the step silently 0 (or NaN). Such a gradient is refused instead.
    """


class NonFiniteInputError(ValueError):
    """The loss (or gradient) is NaN or infinite before any step was taken.

    Nothing has diverged yet: the data, the initial point or the loss function
    itself produce the non-finite number.
    """


def unknown_name_error(kind: str, name: str, choices) -> ValueError:
    """A ``ValueError`` for an unknown ``name`` that lists the ``choices``.

    Parameters
    ----------
    kind : str
        What was being looked up, e.g. ``"optimizer"`` or ``"schedule"``.
    name : str
        The name the caller gave.
    choices : iterable of str
        The names that exist.
    """
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name).lower(), choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"unknown {kind} {name!r}: choose one of {', '.join(map(repr, choices))}.{hint}"
    )

"""Gradient-descent optimizers, one module per family.

Each optimizer takes the parameters (one array, a list or a dict of arrays) and
updates them in place with :meth:`~gdlib.optim.base.Optimizer.step`, using
``torch.optim``'s hyper-parameter names and defaults. :func:`create` builds one
by name.
"""

from __future__ import annotations

from ..errors import unknown_name_error
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .base import Optimizer
from .lamb import LAMB
from .lars import LARS
from .lbfgs import LBFGS
from .lion import Lion
from .muon import Muon
from .nadam import NAdam
from .newton import Newton
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sam import SAM
from .schedule_free import ScheduleFreeAdamW
from .sgd import GD, SGD

__all__ = ["Optimizer", "GD", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
           "Adamax", "NAdam", "RAdam", "Lion", "Muon", "ScheduleFreeAdamW", "Adafactor", "Newton",
           "LBFGS", "Rprop", "ASGD", "LARS", "LAMB", "SAM",
           "REGISTRY", "create"]

#: Optimizers by lower-case name.
REGISTRY: dict[str, type[Optimizer]] = {
    "gd": GD,
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adamax": Adamax,
    "nadam": NAdam,
    "radam": RAdam,
    "lion": Lion,
    "muon": Muon,
    "schedulefree_adamw": ScheduleFreeAdamW,
    "schedule_free_adamw": ScheduleFreeAdamW,
    "schedulefreeadamw": ScheduleFreeAdamW,  # the class name, lower-cased (API contract)
    "adafactor": Adafactor,
    "newton": Newton,
    "lbfgs": LBFGS,
    "rprop": Rprop,
    "asgd": ASGD,
    "lars": LARS,
    "lamb": LAMB,
    "sam": SAM,
}


def create(name: str, params, **hyper) -> Optimizer:
    """Build the optimizer called ``name`` (case-insensitive) over ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = create("adam", np.zeros(3), lr=0.01)
    """
    cls = REGISTRY.get(str(name).lower())
    if cls is None:
        raise unknown_name_error("optimizer", name, REGISTRY)
    return cls(params, **hyper)

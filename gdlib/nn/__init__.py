"""Neural-network building blocks with an explicit backward pass per layer.

Each layer is a :class:`Module` that computes ``forward`` and, given the
gradient of the loss for its output, ``backward``: the chain rule written out
by hand, layer by layer, which is what backpropagation is. The arrays live on
the current backend (NumPy or CuPy) and any :mod:`gdlib.optim` optimizer
trains ``model.parameters()`` in place.
"""

from . import init
from .check import ModuleCheck, check_module
from .module import Module, Sequential, get_default_dtype, resolve_dtype, set_default_dtype

__all__ = [
    "Module", "Sequential", "get_default_dtype", "set_default_dtype", "resolve_dtype",
    "init", "check_module", "ModuleCheck",
]

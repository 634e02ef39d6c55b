"""gdlib: the helper library of the gradient-descent course.

NumPy on the CPU, CuPy on an NVIDIA GPU (see :mod:`gdlib.backend`), the same
code on both.
"""

from . import (
    backend,
    clipping,
    data,
    functions,
    gradcheck,
    linesearch,
    metrics,
    models,
    optim,
    schedules,
    train,
    viz,
    widgets,
)
from .backend import device, to_host, xp
from .train import minimize

__version__ = "0.1.0"

__all__ = ["backend", "optim", "xp", "device", "to_host", "__version__",
           "functions", "gradcheck", "linesearch", "schedules", "clipping",
           "train", "viz", "widgets", "minimize", "data", "models", "metrics"]

"""Seeded weight initialisation, drawn on the host so CPU and GPU agree.

- Glorot and Bengio (2010): uniform on :math:`\\pm\\sqrt{6/(n_{in}+n_{out})}`,
  keeping activations' variance about constant through tanh/sigmoid layers.
- He, Zhang, Ren and Sun (2015): normal with variance :math:`2/n_{in}`, the same
  idea for ReLU layers (which zero half of their input).
"""

from __future__ import annotations

import math

import numpy

from ..backend import asarray
from .module import resolve_dtype

__all__ = ["as_generator", "glorot_uniform", "he_normal", "uniform", "zeros"]


def as_generator(rng=None) -> numpy.random.Generator:
    """A NumPy ``Generator`` from a seed, a Generator, or ``None`` (seed 0).

    ``None`` means seed 0 so that models are reproducible unless asked otherwise.
    """
    if isinstance(rng, numpy.random.Generator):
        return rng
    if rng is None:
        return numpy.random.default_rng(0)
    if isinstance(rng, (int, numpy.integer)) and not isinstance(rng, bool):
        return numpy.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {rng!r}.")


def _fan(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    return int(value)


def _put(a, dtype):
    return asarray(a.astype(resolve_dtype(dtype), copy=False))


def glorot_uniform(shape, fan_in: int, fan_out: int, rng=None, dtype=None):
    """Glorot/Xavier uniform initial weights of ``shape`` (backend array)."""
    limit = math.sqrt(6.0 / (_fan("fan_in", fan_in) + _fan("fan_out", fan_out)))
    return _put(as_generator(rng).uniform(-limit, limit, size=shape), dtype)


def he_normal(shape, fan_in: int, rng=None, dtype=None):
    """He/Kaiming normal initial weights of ``shape`` (backend array)."""
    std = math.sqrt(2.0 / _fan("fan_in", fan_in))
    return _put(as_generator(rng).normal(0.0, std, size=shape), dtype)


def uniform(shape, limit: float, rng=None, dtype=None):
    """Uniform on ``[-limit, limit]`` (PyTorch's recurrent layers use 1/sqrt(hidden))."""
    if isinstance(limit, bool) or not isinstance(limit, (int, float, numpy.floating)) \
            or not 0 <= limit < math.inf:
        raise ValueError(f"limit must be a finite number >= 0, got {limit!r}.")
    return _put(as_generator(rng).uniform(-limit, limit, size=shape), dtype)


def zeros(shape, dtype=None):
    """Zeros of ``shape`` on the backend."""
    return _put(numpy.zeros(shape), dtype)

"""The array backend: NumPy on the CPU, CuPy on an NVIDIA GPU, one name for both.

Every algorithm in gdlib is written against ``xp``, the array module chosen here
at import, so the same update rule runs on either device::

    from gdlib.backend import xp
    m = xp.zeros_like(p)

Selection
---------
The environment variable ``GDLIB_DEVICE`` decides:

``auto`` (default)
    CuPy when it is installed *and* a GPU answers a tiny kernel, NumPy otherwise.
``cpu``
    NumPy, even when a GPU is present.
``gpu``
    CuPy; raises :class:`BackendError` at once, with the reason, when no usable
    GPU is found (rather than failing later, deep inside an optimizer).

:func:`use` switches the backend at run time (tests use it to run the same check
on both devices).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import types

import numpy

__all__ = [
    "BackendError",
    "xp",
    "use",
    "device",
    "gpu_available",
    "to_host",
    "asarray",
    "rng",
    "array_module",
    "describe",
    "blas_threads",
]

ENV_VAR = "GDLIB_DEVICE"


class BackendError(RuntimeError):
    """The requested backend cannot be used on this machine."""


def _probe_cupy() -> tuple[types.ModuleType | None, str]:
    """Return ``(cupy, "")`` when a GPU answers, else ``(None, reason)``."""
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (pip install 'gdlib[gpu]')"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy is installed but sees no CUDA device"
        # A tiny kernel: allocation, arithmetic and a copy back to the host.
        ok = float((cupy.arange(4, dtype=cupy.float32) * 2).sum().get()) == 12.0
        if not ok:
            return None, "CuPy's test kernel gave a wrong answer"
    except Exception as exc:  # CUDA runtime errors have many types
        return None, f"CuPy is installed but the GPU did not answer ({type(exc).__name__}: {exc})"
    return cupy, ""


_cupy_cache: tuple[types.ModuleType | None, str] | None = None


def _cupy() -> tuple[types.ModuleType | None, str]:
    global _cupy_cache
    if _cupy_cache is None:
        _cupy_cache = _probe_cupy()
    return _cupy_cache


def gpu_available() -> bool:
    """True when CuPy is installed and a GPU answers a test kernel."""
    return _cupy()[0] is not None


def _select(name: str) -> types.ModuleType:
    if not isinstance(name, str):
        raise TypeError(
            f"the device name must be 'auto', 'cpu' or 'gpu', got {name!r} "
            f"({type(name).__name__})."
        )
    name = name.strip().lower()
    if name not in ("auto", "cpu", "gpu"):
        raise BackendError(
            f"{ENV_VAR}={name!r} is not a device; use 'auto', 'cpu' or 'gpu'."
        )
    if name == "cpu":
        return numpy
    cupy, reason = _cupy()
    if name == "gpu":
        if cupy is None:
            raise BackendError(
                f"{ENV_VAR}=gpu was requested but no GPU is usable: {reason}. "
                f"Unset {ENV_VAR} (or set it to 'cpu') to run on NumPy."
            )
        return cupy
    return cupy if cupy is not None else numpy


class _Proxy:
    """Forwards attribute access to the module currently selected.

    ``from gdlib.backend import xp`` binds this proxy once; :func:`use` changes
    what it forwards to, so code that imported ``xp`` follows a switch.
    """

    _module: types.ModuleType = numpy

    def __getattr__(self, attr):
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<gdlib backend: {self._module.__name__}>"


xp = _Proxy()


def use(name: str = "auto") -> types.ModuleType:
    """Select the backend (``'auto'``, ``'cpu'`` or ``'gpu'``) and return its module.

    Parameters
    ----------
    name : {'auto', 'cpu', 'gpu'}
        ``'gpu'`` raises :class:`BackendError` when no GPU is usable.

    Returns
    -------
    module
        ``numpy`` or ``cupy``.
    """
    _Proxy._module = _select(name)
    return _Proxy._module


def device() -> str:
    """``'gpu'`` when the current backend is CuPy, else ``'cpu'``."""
    return "gpu" if _Proxy._module is not numpy else "cpu"


def array_module(*arrays) -> types.ModuleType:
    """The module (``numpy`` or ``cupy``) that owns ``arrays``.

    Lets a function follow its inputs rather than the global choice, the way
    ``cupy.get_array_module`` does.
    """
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy

            return cupy
    return numpy


def to_host(a):
    """Return ``a`` as a NumPy array (a copy from the GPU when needed).

    Python scalars and NumPy arrays pass through unchanged.
    """
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    return a


def asarray(a, dtype=None):
    """``a`` as an array of the current backend (copied to the GPU when needed)."""
    return xp.asarray(a, dtype=dtype)


def rng(seed: int | None = None):
    """A seeded random generator of the current backend.

    ``numpy.random.default_rng(seed)`` on the CPU, ``cupy.random.default_rng(seed)``
    on the GPU. The two devices draw different streams for the same seed; draw on
    the host and move the result with :func:`asarray` when the exact numbers
    must agree across devices.
    """
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an integer >= 0 or None, got {seed!r}.")
        if seed < 0:
            raise ValueError(f"Invalid seed={seed!r}: it must be an integer >= 0.")
    return xp.random.default_rng(seed)


def describe() -> str:
    """A one-line description of the backend and device, for a setup check."""
    if device() == "gpu":
        cupy = _Proxy._module
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return f"CuPy {cupy.__version__} on GPU {name}"
    reason = "" if gpu_available() else f" (no GPU: {_cupy()[1]})"
    return f"NumPy {numpy.__version__} on the CPU{reason}"


use(os.environ.get(ENV_VAR, "auto"))


_BLAS_CONTROLLER: list = []


def blas_threads(threads="auto"):
    """Context manager: limit the CPU BLAS to ``threads`` threads (no effect on CuPy).

    The course's models multiply small matrices (a batch of 64 rows by a few
    hundred columns), one mini-batch or one time step after the other. Splitting
    such a product over threads costs more in synchronisation than it saves, and
    when the cores are busy with other work, waiting threads made the products
    10 to 50 times slower on the course's 2-core machine (a 64x64 by 64x128
    float32 product: 22 us on one OpenBLAS thread, 200-300 us on two). gdlib's
    training loops therefore run on one BLAS thread; the setting is restored
    afterwards.

    Parameters
    ----------
    threads : "auto", int or None
        ``"auto"``: 1 on NumPy, nothing on CuPy; an int: that many; ``None``:
        leave BLAS alone. Uses ``threadpoolctl`` (its controller is created once:
        inspecting the loaded libraries takes milliseconds); without it nothing
        changes.
    """
    if threads is not None and threads != "auto" and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"blas_threads must be 'auto', None or an int >= 1, got {threads!r}.")
    if threads == "auto":
        threads = 1 if xp.ndarray is numpy.ndarray else None
    if threads is None:
        return contextlib.nullcontext()
    if not _BLAS_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER.append(ThreadpoolController())
        except Exception:  # threadpoolctl missing or unable to inspect the libraries
            _BLAS_CONTROLLER.append(None)
    if _BLAS_CONTROLLER[0] is None:
        return contextlib.nullcontext()
    return _BLAS_CONTROLLER[0].limit(limits=threads, user_api="blas")

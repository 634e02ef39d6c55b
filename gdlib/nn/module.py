"""The shape every layer and model in :mod:`gdlib.nn` shares.

A layer is a :class:`Module` with two dictionaries of arrays: ``params`` (what
the optimizer changes) and ``grads`` (the gradient of the loss with respect to
each parameter, same keys and shapes). It computes ``forward(x)`` and keeps in
``self`` what it needs to run ``backward(dout)`` later: given
:math:`\\partial L / \\partial y` for its output it returns
:math:`\\partial L / \\partial x` for its input and *adds*
:math:`\\partial L / \\partial \\theta` into ``grads``. Adding (not assigning)
lets one layer be used several times in a pass, as a recurrent cell is, so call
:meth:`Module.zero_grad` before each forward pass.

Backpropagation (Rumelhart, Hinton and Williams, 1986) is then nothing more
than calling ``backward`` in the reverse order of ``forward``: the chain rule,
one layer at a time.

A model's ``parameters()`` is a flat dictionary of the very arrays the layers
use, so any :mod:`gdlib.optim` optimizer can update them in place::

    model = Sequential(Dense(4, 8), ReLU(), Dense(8, 3))
    opt = gdlib.optim.Adam(model.parameters(), lr=1e-2)
    model.zero_grad()
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    opt.step(model.gradients())
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy

from ..backend import asarray, to_host, xp

__all__ = ["Module", "Sequential", "get_default_dtype", "set_default_dtype", "resolve_dtype",
           "on_backend"]

_DEFAULT_DTYPE = numpy.dtype("float32")


def get_default_dtype() -> numpy.dtype:
    """The float dtype layers use when created with ``dtype=None`` (float32 at start)."""
    return _DEFAULT_DTYPE


def set_default_dtype(dtype) -> numpy.dtype:
    """Set the float dtype of new layers; return the previous one.

    Parameters
    ----------
    dtype : str or numpy dtype
        ``"float32"`` (fast, the default, as in PyTorch) or ``"float64"``
        (what the gradient checks use).
    """
    global _DEFAULT_DTYPE
    new = resolve_dtype(dtype)
    old, _DEFAULT_DTYPE = _DEFAULT_DTYPE, new
    return old


def resolve_dtype(dtype=None) -> numpy.dtype:
    """``dtype`` as a NumPy float dtype, the default one when ``None``."""
    if dtype is None:
        return _DEFAULT_DTYPE
    try:
        new = numpy.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"dtype must be a floating dtype such as 'float32' or 'float64', got {dtype!r}."
        ) from None
    if new.kind != "f":
        raise TypeError(
            f"dtype must be a floating dtype such as 'float32' or 'float64', got {dtype!r}."
        )
    return new


def on_backend(a):
    """``a`` as an array of the current backend; lists and numbers become arrays.

    A NumPy array is moved to the GPU when CuPy is the backend; an array already
    on the backend is returned as it is (no copy).
    """
    if not (hasattr(a, "dtype") and hasattr(a, "shape")):
        a = numpy.asarray(a)
    if isinstance(a, numpy.ndarray) and xp.ndarray is not numpy.ndarray:
        a = asarray(a)
    return a


class Module:
    """Base class of layers and models: parameters, gradients, sub-modules.

    Subclasses call ``super().__init__()``, register arrays with
    :meth:`add_param` and write :meth:`forward` and :meth:`backward`.
    Sub-modules are found automatically: any attribute that is a Module, or a
    list or tuple of Modules.

    Attributes
    ----------
    params : dict of str to array
        This module's own parameters (not its sub-modules').
    grads : dict of str to array
        Accumulated gradients, same keys and shapes as ``params``.
    training : bool
        ``True`` after :meth:`train` (the default), ``False`` after :meth:`eval`;
        layers such as dropout behave differently.

    Buffers (:meth:`add_buffer`) are arrays a layer updates itself, not the
    optimizer, such as batch normalisation's running mean: saved by
    :meth:`state_dict` with the parameters, never in :meth:`parameters`.
    """

    def __init__(self):
        self.params: dict = {}
        self.grads: dict = {}
        self._buffers: dict = {}
        self.training = True

    # -- to write in subclasses ---------------------------------------------
    def forward(self, *inputs):
        """Compute the output; keep what :meth:`backward` needs."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not written.")

    def backward(self, dout):
        """Return the gradient for the input(s); add parameter gradients into ``grads``."""
        raise NotImplementedError(f"{type(self).__name__}.backward is not written.")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    # -- parameters -----------------------------------------------------------
    def add_param(self, name: str, value):
        """Register ``value`` (moved to the backend) as a parameter with a zero gradient."""
        value = asarray(value)
        self.params[name] = value
        self.grads[name] = xp.zeros_like(value)
        return value

    def add_buffer(self, name: str, value):
        """Register ``value`` (moved to the backend) as a buffer: saved, not trained."""
        value = asarray(value)
        self._buffers[name] = value
        return value

    def buffers(self) -> dict:
        """Every buffer of the module tree, by dotted name (the arrays themselves)."""
        return self._collect("_buffers")

    def children(self):
        """Yield ``(name, module)`` for the direct sub-modules, in attribute order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def modules(self, prefix: str = ""):
        """Yield ``(dotted_name, module)`` for this module and every sub-module."""
        yield prefix, self
        for name, child in self.children():
            yield from child.modules(f"{prefix}.{name}" if prefix else name)

    def _collect(self, which: str) -> dict:
        out = {}
        for prefix, module in self.modules():
            for key, value in getattr(module, which, {}).items():
                out[f"{prefix}.{key}" if prefix else key] = value
        return out

    def parameters(self) -> dict:
        """Every parameter of the module tree, by dotted name (the arrays themselves)."""
        return self._collect("params")

    def gradients(self) -> dict:
        """Every gradient of the module tree, same keys as :meth:`parameters`."""
        return self._collect("grads")

    def zero_grad(self) -> None:
        """Set every gradient to zero (before a new forward/backward pass)."""
        for _, module in self.modules():
            for g in module.grads.values():
                g[...] = 0

    def num_parameters(self) -> int:
        """How many numbers the optimizer trains."""
        return int(sum(p.size for p in self.parameters().values()))

    # -- modes ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and its sub-modules.

        ``mode`` must be ``True`` or ``False`` (``train("False")`` would be true).
        """
        if not isinstance(mode, (bool, numpy.bool_)):
            raise TypeError(
                f"mode must be True or False, got {mode!r} ({type(mode).__name__}); use "
                "model.eval() for evaluation mode."
            )
        for _, module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    # -- saving ------------------------------------------------------------
    def _state(self) -> dict:
        return {**self.parameters(), **self.buffers()}

    def state_dict(self) -> dict:
        """Host (NumPy) copies of every parameter and buffer, by dotted name."""
        return {k: numpy.array(to_host(v), copy=True) for k, v in self._state().items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays from :meth:`state_dict` into the parameters, in place.

        All or nothing: the keys must be exactly the model's parameter and
        buffer names and every array must have its parameter's shape, hold real numbers and be
        finite; everything is checked before the first parameter is written, so
        a state that does not fit raises and leaves the model untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"state must be a dict of arrays as returned by state_dict(), got "
                f"{type(state).__name__}."
            )
        params = self._state()
        missing = sorted(set(params) - set(state))
        unexpected = sorted(map(str, set(state) - set(params)))
        if missing or unexpected:
            raise KeyError(
                f"state does not fit the model: missing {missing}, unexpected {unexpected}."
            )
        checked = {}
        for k, p in params.items():
            value = state[k]
            if value is None or not hasattr(value, "dtype"):
                try:
                    value = numpy.asarray(value)
                except (TypeError, ValueError):
                    raise TypeError(
                        f"state[{k!r}] must be an array, got {type(state[k]).__name__}."
                    ) from None
            if value.dtype.kind not in "fiu":
                raise TypeError(
                    f"state[{k!r}] has dtype {value.dtype}; parameter {k!r} needs real numbers."
                )
            if tuple(value.shape) != tuple(p.shape):
                raise ValueError(
                    f"parameter {k!r} has shape {p.shape}, the state has {value.shape}."
                )
            host = to_host(value)
            if not numpy.isfinite(host).all():
                raise ValueError(
                    f"state[{k!r}] holds NaN or infinity: refusing to load a corrupt state."
                )
            checked[k] = host
        for k, p in params.items():
            p[...] = asarray(checked[k])

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()})"]
        for name, child in self.children():
            sub = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "\n".join(lines)

    def extra_repr(self) -> str:
        """Hyper-parameters shown by ``repr`` (subclasses override)."""
        return ""


class Sequential(Module):
    """Layers applied one after the other; backward runs them in reverse.

    Parameters
    ----------
    *layers : Module
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential takes Modules; argument {i} is {type(layer).__name__}."
                )
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

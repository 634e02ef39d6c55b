r"""Training helpers for :mod:`gdlib.nn` models: :func:`fit`, :func:`predict`, :func:`accuracy`.

:func:`fit` is :func:`gdlib.train.train` with the model's forward and backward
pass as the loss-and-gradient function. One step is backpropagation followed
by an optimizer step:

.. math:: \ell = L(f_\theta(X_B), y_B), \qquad g = \nabla_\theta \ell
          \ \text{(backward, layer by layer)}, \qquad \theta \leftarrow
          \mathrm{step}(\theta, g).
"""

from __future__ import annotations

import numpy

from ..backend import array_module, blas_threads
from ..optim.base import check_bool, check_int
from ..train import History, train
from .module import Module
from .module import on_backend as _to_backend

__all__ = ["fit", "predict", "accuracy", "blas_threads"]


def _model_dtype(model: Module):
    for p in model.parameters().values():
        return p.dtype
    return None


def _prepare_inputs(model: Module, X) -> tuple:
    """The inputs as a tuple of backend arrays; float inputs in the model's dtype."""
    parts = tuple(X) if isinstance(X, (tuple, list)) else (X,)
    dtype = _model_dtype(model)
    out = []
    for a in parts:
        a = _to_backend(a)
        if dtype is not None and numpy.dtype(a.dtype).kind == "f" and a.dtype != dtype:
            a = a.astype(dtype)      # once, not once per batch
        out.append(a)
    return tuple(out)


def accuracy(logits_or_labels, y) -> float:
    r"""Fraction of correct predictions, :math:`\frac1n \sum_i [\hat y_i = y_i]`.

    Parameters
    ----------
    logits_or_labels : array
        Scores of shape ``(..., C)`` (the prediction is the arg-max over the
        last axis; a single column ``(..., 1)`` is read as a binary logit,
        positive means class 1), or predicted labels of the same shape as ``y``.
    y : array of int
        True labels.
    """
    pred = _to_backend(logits_or_labels)
    y = _to_backend(y)
    if pred.ndim == y.ndim + 1:
        pred = (pred[..., 0] > 0).astype(y.dtype) if pred.shape[-1] == 1 else pred.argmax(-1)
    if pred.shape != y.shape:
        raise ValueError(
            f"accuracy: predictions of shape {tuple(pred.shape)} do not match labels of shape "
            f"{tuple(y.shape)}; pass scores (..., C) or labels shaped like y."
        )
    if y.size == 0:
        raise ValueError("accuracy: no labels given.")
    return float((pred == y).mean())


def predict(model: Module, X, batch_size: int = 512, forward=None, threads="auto"):
    """The model's outputs on ``X``, in evaluation mode, batch by batch.

    Parameters
    ----------
    model : Module
    X : array or tuple of arrays
        Inputs (a tuple when the model takes several, e.g. ids and a mask).
    batch_size : int, default 512
        How many examples per forward pass (memory, not results).
    forward : callable, optional
        ``forward(model, X_batch) -> outputs`` instead of ``model(X_batch)``.
    threads : "auto", int or None
        BLAS threads, see :func:`blas_threads`.

    Returns
    -------
    array
        The outputs, concatenated along the first axis, on the current backend
        (``gdlib.backend.to_host`` makes a NumPy copy).

    The model's training/evaluation mode is restored afterwards.
    """
    if batch_size is None:
        raise ValueError("predict: batch_size must be a positive int, got None.")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    parts = _prepare_inputs(model, X)
    tuple_input = isinstance(X, (tuple, list))
    n = len(parts[0])
    was_training = model.training
    model.eval()
    outs = []
    try:
        with blas_threads(threads):
            for lo in range(0, n, batch_size):
                batch = tuple(a[lo:lo + batch_size] for a in parts)
                xb = batch if tuple_input else batch[0]
                outs.append(forward(model, xb) if forward is not None else model(*batch))
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: X has no rows.")
    return outs[0] if len(outs) == 1 else array_module(outs[0]).concatenate(outs, axis=0)


def fit(model: Module, loss: Module, X, y, optimizer="adam", epochs: int = 10,
        batch_size: int | None = 64, schedule=None, clip_norm=None, seed: int = 0,
        progress=None, eval_data=None, metric="accuracy", forward=None,
        schedule_per: str = "step", shuffle: bool = True, drop_last: bool = False,
        callback=None, threads="auto", **hyper) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batches and any gdlib optimizer.

    Each step: ``model.zero_grad()``, outputs ``model(X_batch)``, loss
    ``loss(outputs, y_batch)``, ``model.backward(loss.backward())``, then the
    optimizer updates ``model.parameters()`` in place.

    Parameters
    ----------
    model : Module
    loss : Module
        A loss from :mod:`gdlib.nn.losses` (``forward(pred, target) -> float``).
    X : array or tuple of arrays
        Inputs, one row per example (a tuple is split along with ``y`` and
        handed to the model as several arguments, e.g. ``(ids, mask)``).
    y : array
        Targets.
    optimizer : str, class or Optimizer, default "adam"
        See :func:`gdlib.train.make_optimizer`; ``**hyper`` (``lr=1e-3``...) goes to it.
    epochs : int, default 10
    batch_size : int or None, default 64
        ``None``: full batch.
    schedule : optional
        A learning-rate schedule, see :func:`gdlib.train.make_schedule`.
    clip_norm : float, optional
        Clip the global gradient norm (Pascanu et al., 2013).
    seed : int, default 0
        Seed of the shuffling (the model's initial weights come from its own ``rng``).
    progress : bool, optional
        Progress bar; by default only when someone is watching.
    eval_data : (X_val, y_val), optional
        Evaluated after each epoch (in evaluation mode): ``metric`` goes to
        ``history.eval`` and ``history.metrics[metric_name]``, the validation
        loss to ``history.metrics["val_loss"]``.
    metric : "accuracy", "loss" or callable
        ``callable(outputs, y) -> float`` for anything else.
    forward : callable, optional
        ``forward(model, X_batch) -> outputs`` replaces ``model(X_batch)``
        (e.g. to pass a mask). ``model.backward`` still receives the loss gradient.
    schedule_per, shuffle, drop_last, callback
        As in :func:`gdlib.train.train`.
    threads : "auto", int or None
        BLAS threads during training, see :func:`blas_threads` (one on NumPy by default).

    Returns
    -------
    History
        Per step ``loss``, ``lr``, ``grad_norm``; per epoch ``epoch_loss`` and the
        evaluation metrics.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a gdlib.nn Module, got {type(model).__name__}.")
    if not isinstance(loss, Module):
        raise TypeError(
            f"fit: loss must be a gdlib.nn loss module such as SoftmaxCrossEntropy(), got "
            f"{type(loss).__name__}."
        )
    epochs = check_int("epochs", epochs, minimum=0)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle = check_bool("shuffle", shuffle)
    drop_last = check_bool("drop_last", drop_last)
    if forward is not None and not callable(forward):
        raise TypeError(
            f"fit: forward must be a function (model, X_batch) -> outputs or None, got "
            f"{type(forward).__name__}."
        )
    if not (isinstance(metric, str) and metric in ("accuracy", "loss") or callable(metric)):
        raise ValueError(f"fit: metric must be 'accuracy', 'loss' or a callable, got {metric!r}.")
    params = model.parameters()
    if not params:
        raise ValueError("fit: the model has no parameters to train.")
    grads = model.gradients()
    tuple_input = isinstance(X, (tuple, list))
    xs = _prepare_inputs(model, X)
    y = _to_backend(y)
    n_in = len(xs)

    def run_forward(xb):
        if forward is not None:
            return forward(model, xb if tuple_input else xb[0])
        return model(*xb)

    def loss_and_grad(_params, batch):
        model.zero_grad()
        out = run_forward(batch[:n_in])
        value = loss(out, batch[n_in])
        model.backward(loss.backward())
        return value, grads

    eval_fn = None
    if eval_data is not None:
        try:
            Xv, yv = eval_data
        except (TypeError, ValueError):
            raise ValueError("fit: eval_data must be a pair (X_val, y_val).") from None
        yv = _to_backend(yv)
        name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")

        def eval_fn(_params):
            out = predict(model, Xv, forward=forward, threads=None)
            val_loss = loss(out, yv)
            if metric == "loss":
                return {"loss": val_loss}
            score = accuracy(out, yv) if metric == "accuracy" else float(metric(out, yv))
            return {name: score, "val_loss": val_loss}

    model.train()
    with blas_threads(threads):
        return train(params, loss_and_grad, optimizer, data=(*xs, y), epochs=epochs,
                     batch_size=batch_size, schedule=schedule, schedule_per=schedule_per,
                     clip_norm=clip_norm, shuffle=shuffle, seed=seed, progress=progress,
                     eval_fn=eval_fn, drop_last=drop_last, callback=callback, **hyper)

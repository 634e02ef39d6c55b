r"""Variance-reduced stochastic gradients for finite sums: SVRG and SAGA.

For a loss that is an average over :math:`n` examples,
:math:`f(\theta) = \frac1n\sum_i f_i(\theta)`, SGD with a constant step stalls at
a noise floor: its gradient :math:`\nabla f_i(\theta)` stays noisy even at the
minimum, where only the *average* vanishes. Variance reduction subtracts a
correlated estimate whose mean is known, so that the noise shrinks to zero as
:math:`\theta` approaches the minimum, and a constant step converges linearly
on strongly convex problems.

- **SVRG** (Johnson and Zhang 2013): every :math:`m` steps take a snapshot
  :math:`\tilde\theta` and its full gradient :math:`\tilde\mu = \nabla f(\tilde\theta)`;
  in between use

  .. math:: g = \nabla f_i(\theta) - \nabla f_i(\tilde\theta) + \tilde\mu .

- **SAGA** (Defazio, Bach and Lacoste-Julien 2014): keep a table of the last
  gradient seen for each example, :math:`\phi_j`, and use

  .. math:: g = \nabla f_j(\theta) - \phi_j + \frac1n\sum_i \phi_i,
            \qquad \text{then } \phi_j \leftarrow \nabla f_j(\theta) .

Both are unbiased (:math:`\mathbb E g = \nabla f(\theta)`). Here they are
*gradient sources* for :func:`gdlib.train.train`: an object that is called as
``loss_and_grad(params, batch)`` where the batch is an array of example
indices, so the course's one training loop and any optimizer run them (plain
``"sgd"`` gives the methods of the papers)::

    svrg = SVRG(loss_and_grad, (X, y), snapshot_every=2 * len(X))
    train(params, svrg, "sgd", data=svrg.indices, batch_size=1, epochs=20, lr=0.05)

``loss_and_grad(params, (X_batch, y_batch)) -> (loss, grads)`` is the mean over
the batch, like the models' own (:func:`model_problem` gets it from a
:mod:`gdlib.models` model).

Sources
-------
- R. Johnson and T. Zhang (2013), "Accelerating stochastic gradient descent using
  predictive variance reduction", NeurIPS: SVRG.
- A. Defazio, F. Bach and S. Lacoste-Julien (2014), "SAGA: a fast incremental
  gradient method with support for non-strongly convex composite objectives",
  NeurIPS: SAGA.
- N. Le Roux, M. Schmidt and F. Bach (2012), "A stochastic gradient method with
  an exponential convergence rate for finite training sets", NeurIPS: SAG, the
  table of gradients SAGA corrects.
"""

from __future__ import annotations

import numpy

from .backend import array_module, to_host
from .optim.base import _flatten, check_int

__all__ = ["SVRG", "SAGA", "model_problem"]


def _tree_map(fn, *trees):
    """Apply ``fn`` leaf by leaf to trees (array, list/tuple or dict) of the same structure."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: fn(*(t[k] for t in trees)) for k in first}
    if isinstance(first, (list, tuple)):
        return [fn(*leaves) for leaves in zip(*trees)]
    return fn(*trees)


def _copy(tree):
    return _tree_map(lambda a: a.copy(), tree)


def model_problem(model, X, y):
    """A linear model's finite-sum problem: ``(loss_and_grad, params0, data)``.

    Parameters
    ----------
    model : LinearRegression, LogisticRegression or SoftmaxRegression
        An unfitted :mod:`gdlib.models.linear` model; its ``l2`` and
        ``fit_intercept`` define the loss.
    X, y : arrays
        The training data (labels are encoded as the model's ``fit`` would).

    Returns
    -------
    loss_and_grad : callable
        ``(params, (X_batch, t_batch)) -> (loss, grads)``, the batch mean plus the penalty.
    params0 : dict of arrays
        Zero parameters of the right shapes.
    data : tuple
        ``(X, t)``, with ``t`` the encoded targets.
    """
    from .models._base import check_Xy

    if not hasattr(model, "_loss_and_grad") or not hasattr(model, "_init_params"):
        raise TypeError(f"model must be a gdlib.models linear model, got {type(model).__name__}.")
    model._check_hyper()
    X, y = check_Xy(X, y, **getattr(model, "_y_checks", {}))
    model._prepare(X)
    t = model._targets(y, X, fitting=True)
    return model._loss_and_grad, model._init_params(X.shape[1], X.dtype), (X, t)


class _FiniteSum:
    """A finite-sum problem: ``loss_and_grad`` and the data it averages over."""

    def __init__(self, loss_and_grad, data):
        if not callable(loss_and_grad):
            raise TypeError("loss_and_grad must be a function (params, batch) -> (loss, grads), "
                            f"got {type(loss_and_grad).__name__}.")
        if not isinstance(data, (tuple, list)) or not data:
            raise TypeError("data must be a tuple of arrays such as (X, y), one row per "
                            f"example; got {type(data).__name__}.")
        n = None
        for i, a in enumerate(data):
            if not hasattr(a, "shape") or len(a.shape) == 0:
                raise TypeError(f"data[{i}] must be an array with one row per example.")
            n = len(a) if n is None else n
            if len(a) != n:
                raise ValueError(f"data[{i}] has {len(a)} rows but data[0] has {n}: every array "
                                 "in data must have one row per example.")
        if n < 2:
            raise ValueError(f"data has {n} example(s): a finite sum needs at least 2.")
        self.loss_and_grad = loss_and_grad
        self.data = tuple(data)
        self.n = n
        self.grad_evals = 0        # gradients of single examples computed so far
        self.calls = 0

    @property
    def indices(self):
        """``arange(n)``: the ``data=`` to give :func:`gdlib.train.train` (batches of indices)."""
        return numpy.arange(self.n)

    def _rows(self, idx):
        return tuple(a[array_module(a).asarray(idx)] for a in self.data)

    def _index(self, batch):
        idx = numpy.asarray(to_host(batch[0] if isinstance(batch, tuple) else batch))
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.size == 0:
            raise TypeError(f"{type(self).__name__} is called with a batch of example indices "
                            "(train(..., data=obj.indices, batch_size=...)); got "
                            f"{type(batch).__name__} of shape {getattr(idx, 'shape', None)}.")
        if idx.min() < 0 or idx.max() >= self.n:
            bad = int(idx.max() if idx.max() >= self.n else idx.min())
            raise IndexError(f"batch holds index {bad} outside 0..{self.n - 1}.")
        return idx

    def _grad(self, params, rows, count: int):
        self.grad_evals += count
        loss, g = self.loss_and_grad(params, rows)
        return float(loss), g

    @property
    def passes(self) -> float:
        """Gradient evaluations so far, in passes over the data (``grad_evals / n``)."""
        return self.grad_evals / self.n


class SVRG(_FiniteSum):
    r"""Stochastic variance-reduced gradient (Johnson and Zhang 2013) as a gradient source.

    .. math:: g = \nabla f_B(\theta) - \nabla f_B(\tilde\theta) + \nabla f(\tilde\theta),

    with the snapshot :math:`\tilde\theta` taken at the current parameters on the
    first call and every ``snapshot_every`` calls after it (the paper's option I,
    the last iterate), and :math:`\nabla f_B` the mean over the batch.

    Parameters
    ----------
    loss_and_grad : callable
        ``(params, batch) -> (loss, grads)``: the mean over the rows of ``batch``.
    data : tuple of arrays
        ``(X, y)``: every example of the finite sum.
    snapshot_every : int, optional
        :math:`m`, the calls between snapshots; default ``2 n`` (the paper's
        choice for convex problems, counted in single-example steps).

    Attributes
    ----------
    snapshots : int
        Snapshots taken so far.
    grad_evals : int
        Single-example gradients computed (a full gradient counts ``n``, each call
        ``2 |B|``), to compare methods per unit of work.
    """

    def __init__(self, loss_and_grad, data, snapshot_every=None):
        super().__init__(loss_and_grad, data)
        self.snapshot_every = (2 * self.n if snapshot_every is None
                               else check_int("snapshot_every", snapshot_every, minimum=1))
        self.snapshot = None
        self.full_grad = None
        self.snapshots = 0

    def take_snapshot(self, params) -> None:
        r"""Store the snapshot :math:`\tilde\theta` = ``params`` and its full gradient."""
        self.snapshot = _copy(params)
        _, self.full_grad = self._grad(self.snapshot, self.data, self.n)
        self.snapshots += 1

    def __call__(self, params, batch):
        idx = self._index(batch)
        if self.calls % self.snapshot_every == 0:
            self.take_snapshot(params)
        self.calls += 1
        rows = self._rows(idx)
        loss, g = self._grad(params, rows, len(idx))                  # grad f_B(theta)
        _, g_snap = self._grad(self.snapshot, rows, len(idx))         # grad f_B(snapshot)
        return loss, _tree_map(lambda a, b, mu: a - b + mu, g, g_snap, self.full_grad)


class SAGA(_FiniteSum):
    r"""SAGA (Defazio, Bach and Lacoste-Julien 2014) as a gradient source.

    .. math:: g = \frac1{|B|}\sum_{j \in B}\big(\nabla f_j(\theta) - \phi_j\big)
              + \frac1n \sum_{i=1}^n \phi_i, \qquad \phi_j \leftarrow \nabla f_j(\theta)
              \ (j \in B),

    with the table :math:`\phi` filled on the first call with every example's
    gradient at the starting parameters (one pass, counted in ``grad_evals``).
    Each example's gradient is one call of ``loss_and_grad`` on its row, so the
    table holds :math:`n` gradients: fine for the course's convex models.

    Parameters
    ----------
    loss_and_grad : callable
        ``(params, batch) -> (loss, grads)``, the mean over the rows of ``batch``.
    data : tuple of arrays
        ``(X, y)``.
    """

    def __init__(self, loss_and_grad, data):
        super().__init__(loss_and_grad, data)
        self.table = None          # phi: list over examples of flattened gradients
        self.table_mean = None

    def _example_grads(self, params, idx):
        """Each example's loss and flattened gradient, one row each."""
        losses, rows = [], []
        for i in idx:
            loss, g = self._grad(params, self._rows(numpy.array([i])), 1)
            leaves = _flatten(g, "grads")[0]
            self._like = g                 # the structure of a gradient, to unflatten into
            xp = array_module(leaves[0])
            losses.append(loss)
            rows.append(xp.concatenate([xp.ravel(v) for v in leaves]))
        return losses, array_module(rows[0]).stack(rows)

    def _unflatten(self, flat, like):
        leaves, names, kind = _flatten(like, "grads")
        out, k = [], 0
        for v in leaves:
            out.append(flat[k:k + v.size].reshape(v.shape))
            k += v.size
        if kind == "dict":
            return dict(zip(names, out))
        return out if kind == "list" else out[0]

    def __call__(self, params, batch):
        idx = self._index(batch)
        if self.table is None:
            _, self.table = self._example_grads(params, numpy.arange(self.n))
            self.table_mean = self.table.mean(axis=0)
        self.calls += 1
        losses, fresh = self._example_grads(params, idx)
        xp = array_module(fresh)
        gidx = xp.asarray(idx)
        old = self.table[gidx]
        g = (fresh - old).mean(axis=0) + self.table_mean          # mean(grad_j - phi_j) + mean(phi)
        for row, j in enumerate(idx):                              # phi_j <- grad_j (repeats: last)
            self.table_mean = self.table_mean + (fresh[row] - self.table[int(j)]) / self.n
            self.table[int(j)] = fresh[row]
        return float(numpy.mean(losses)), self._unflatten(g, self._like)

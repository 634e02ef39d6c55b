r"""Data-parallel gradient descent on MPI: K workers, one trajectory.

Each of K processes (ranks) holds a full copy of the parameters. At every step
each rank computes the gradient on its *shard* of the mini-batch, an
**all-reduce** averages the K gradients, and every rank takes the same step
with the same optimizer, so the copies stay identical:

.. math::

    g = \sum_{r=0}^{K-1} \frac{|B_r|}{|B|}\, \nabla \ell_{B_r}(\theta), \qquad
    \theta \leftarrow \mathrm{step}(\theta, g).

The averaged gradient is the gradient of the whole batch :math:`B`, so K
workers with batch B each follow the trajectory of one worker with batch K·B
(up to the order of floating-point additions).

What is here
------------
- :func:`launch` starts ``mpiexec -n K`` on a script (a file, or source text)
  from Python or a notebook, collects what each rank :func:`report`\ s, and
  always stops the workers: on a timeout, on Ctrl-C, when a rank dies or raises.
- :func:`world` is the MPI communicator when launched under MPI, else a
  one-process :class:`SerialComm`, so the same script runs alone too.
- :class:`DataParallel` wraps a ``loss_and_grad(params, batch)`` for
  :func:`gdlib.train.train`: shard the batch, accumulate micro-batches,
  all-reduce the gradients in one buffer, and :meth:`~DataParallel.check_replicas`.
- :class:`ShardedAdam` is Adam with its moments split over the ranks
  (ZeRO stage 1, Rajbhandari et al. 2020).
- :func:`ring_allreduce` is the all-reduce written with point-to-point
  messages (a reduce-scatter, then an all-gather; Patarasuk and Yuan 2009),
  and :func:`simulate_ring_allreduce` the same algorithm over a list of arrays.

GPUs
----
CuPy arrays are all-reduced on the device when the MPI library is
*CUDA-aware* (Open MPI or MPICH built with CUDA, e.g. conda-forge's
``openmpi`` with ``cuda``; mpi4py passes device pointers through
``__cuda_array_interface__``): set ``DataParallel(cuda_aware=True)`` or
``GDLIB_MPI_CUDA_AWARE=1``. Otherwise (the pip ``mpich`` wheel is not
CUDA-aware) gradients go through host memory: copied down, reduced, copied back.

Sources
-------
- J. Dean et al. (2012), "Large scale distributed deep networks", NeurIPS.
- P. Patarasuk and X. Yuan (2009), "Bandwidth optimal all-reduce algorithms for
  clusters of workstations", J. Parallel Distrib. Comput. 69(2), 117-124.
- R. Thakur, R. Rabenseifner and W. Gropp (2005), "Optimization of collective
  communication operations in MPICH", Int. J. High Perform. Comput. Appl. 19(1).
- S. Rajbhandari, J. Rasley, O. Ruwase and Y. He (2020), "ZeRO: memory
  optimizations toward training trillion parameter models", SC20.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from .backend import array_module, to_host
from .optim.adam import Adam
from .optim.base import Optimizer, check_betas, check_eps, check_lr, check_nonnegative

__all__ = [
    "MPIUnavailableError", "WorkerError", "LaunchTimeout", "ReplicaMismatchError",
    "LaunchResult", "launch", "report", "find_mpiexec", "world", "SerialComm",
    "shard_bounds", "ring_allreduce", "simulate_ring_allreduce", "allreduce_mean",
    "DataParallel", "ShardedAdam", "check_replicas", "INSTALL_HINT",
    "allreduce_time", "fit_alpha_beta",
]

INSTALL_HINT = ("install an MPI and mpi4py into this Python: `pip install mpich mpi4py` "
                "(or `conda install -c conda-forge mpich mpi4py`)")


class MPIUnavailableError(RuntimeError):
    """No ``mpiexec`` or no ``mpi4py`` for this Python."""


class WorkerError(RuntimeError):
    """A rank failed (raised, died or was killed): ``.rank``, ``.stderr``, ``.output`` say how."""

    def __init__(self, message, rank=None, stderr="", output=""):
        super().__init__(message)
        self.rank, self.stderr, self.output = rank, stderr, output


class LaunchTimeout(WorkerError, TimeoutError):
    """The job ran past its ``timeout``; every worker was stopped."""


class ReplicaMismatchError(RuntimeError):
    """The ranks' copies of the parameters differ."""


# ----------------------------------------------------------------------------
# Communicators


class SerialComm:
    """A communicator with one rank: what :func:`world` returns outside MPI.

    It has the few mpi4py methods this module uses (``Allreduce``,
    ``Allgatherv``, ``Sendrecv``, ``Bcast``, ``allgather``, ``bcast``,
    ``Barrier``), with the semantics of a one-process ``COMM_WORLD``.
    """

    rank = 0
    size = 1

    def Get_rank(self) -> int:  # noqa: N802 - mpi4py's names
        return 0

    def Get_size(self) -> int:  # noqa: N802
        return 1

    def Allreduce(self, sendbuf, recvbuf, op=None):  # noqa: N802
        recvbuf[...] = sendbuf

    def Allgatherv(self, sendbuf, recvbuf):  # noqa: N802
        buf = recvbuf[0] if isinstance(recvbuf, (list, tuple)) else recvbuf
        buf[: sendbuf.size] = sendbuf.reshape(-1)

    def Sendrecv(self, sendbuf, dest, sendtag=0, recvbuf=None, source=0, recvtag=0):  # noqa: N802
        recvbuf[...] = sendbuf

    def Bcast(self, buf, root=0):  # noqa: N802
        pass

    def allgather(self, obj):
        return [obj]

    def bcast(self, obj, root=0):
        return obj

    def Barrier(self):  # noqa: N802
        pass


_MPI_ENV = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "GDLIB_DIST_DIR")


def world():
    """``mpi4py.MPI.COMM_WORLD`` when this process was started by ``mpiexec`` (or ``srun``),
    else a :class:`SerialComm`: a script runs unchanged with one process or K."""
    if not any(k in os.environ for k in _MPI_ENV):
        return SerialComm()
    try:
        from mpi4py import MPI
    except ImportError:
        raise MPIUnavailableError(f"this process runs under MPI but mpi4py is missing: "
                                  f"{INSTALL_HINT}.") from None
    return MPI.COMM_WORLD


def _sum_op():
    try:
        from mpi4py import MPI
    except ImportError:  # SerialComm ignores the op
        return None
    return MPI.SUM


def shard_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into ``size`` contiguous pieces as evenly as possible.

    The first ``n % size`` pieces get one extra element (like
    ``numpy.array_split``); pieces may be empty when ``n < size``. The pieces
    never overlap and together cover ``0 .. n-1``.

    >>> shard_bounds(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}.")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an integer >= 1 (the number of ranks), got {size!r}.")
    base, extra = divmod(n, size)
    bounds, lo = [], 0
    for r in range(size):
        hi = lo + base + (1 if r < extra else 0)
        bounds.append((lo, hi))
        lo = hi
    return bounds


# ----------------------------------------------------------------------------
# The all-reduce from point-to-point messages


def simulate_ring_allreduce(arrays, op: str = "sum", trace: list | None = None) -> list:
    r"""The ring all-reduce over K simulated ranks (a list of equal-shape arrays).

    Each array is cut into K chunks. In the **reduce-scatter** phase, at step
    :math:`s = 0 .. K-2`, rank :math:`r` sends chunk :math:`(r - s) \bmod K` to
    rank :math:`r+1` (mod K), which adds it to its own copy; after K-1 steps rank
    :math:`r` holds the full sum of chunk :math:`(r+1) \bmod K`. In the
    **all-gather** phase, at step :math:`s`, rank :math:`r` sends chunk
    :math:`(r + 1 - s) \bmod K` on and the receiver overwrites its copy. Each
    rank sends :math:`2(K-1)` messages of :math:`n/K` numbers: a total of
    :math:`2 n (K-1)/K`, almost independent of K (Patarasuk and Yuan, 2009).

    Parameters
    ----------
    arrays : list of arrays
        Rank r's contribution is ``arrays[r]``; they are not modified.
    op : {"sum", "mean"}
        Return the sum or the average.
    trace : list, optional
        When given, one tuple ``(phase, step, src, dst, chunk)`` per message is
        appended (for drawing the schedule).

    Returns
    -------
    list of arrays
        One result per rank, all equal.
    """
    if op not in ("sum", "mean"):
        raise ValueError(f"op must be 'sum' or 'mean', got {op!r}.")
    arrays = list(arrays)
    if not arrays:
        raise ValueError("arrays is empty: give one array per simulated rank.")
    shape = numpy.shape(arrays[0])
    for r, a in enumerate(arrays):
        if numpy.shape(a) != shape:
            raise ValueError(f"arrays[{r}] has shape {numpy.shape(a)}, arrays[0] has {shape}: "
                             "every rank contributes an array of the same shape.")
    K = len(arrays)
    bufs = [numpy.array(a, dtype=float).reshape(-1) for a in arrays]
    chunks = [slice(lo, hi) for lo, hi in shard_bounds(bufs[0].size, K)]
    for phase in ("reduce-scatter", "all-gather"):
        for s in range(K - 1):
            # all messages of one step are sent "at once": read every sender first
            sends = []
            for r in range(K):
                c = (r - s) % K if phase == "reduce-scatter" else (r + 1 - s) % K
                sends.append((r, (r + 1) % K, c, bufs[r][chunks[c]].copy()))
            for src, dst, c, data in sends:
                if phase == "reduce-scatter":
                    bufs[dst][chunks[c]] += data
                else:
                    bufs[dst][chunks[c]] = data
                if trace is not None:
                    trace.append((phase, s, src, dst, c))
    if op == "mean":
        bufs = [b / K for b in bufs]
    return [b.reshape(shape) for b in bufs]


def ring_allreduce(comm, x, op: str = "sum"):
    """The ring all-reduce of :func:`simulate_ring_allreduce`, over MPI point-to-point messages.

    Every rank calls it with its array ``x`` (same shape everywhere); each
    message is one ``comm.Sendrecv`` to the right neighbour and from the left
    one, so the ring never deadlocks. Returns a new array with the sum (or the
    mean) over the ranks; ``x`` is not modified. It is the reference the
    lesson compares with MPI's own ``Allreduce``.
    """
    if op not in ("sum", "mean"):
        raise ValueError(f"op must be 'sum' or 'mean', got {op!r}.")
    x = numpy.asarray(to_host(x))
    K, r = comm.Get_size(), comm.Get_rank()
    buf = numpy.array(x, dtype=numpy.float64).reshape(-1)
    chunks = [slice(lo, hi) for lo, hi in shard_bounds(buf.size, K)]
    right, left = (r + 1) % K, (r - 1) % K
    for phase in ("reduce-scatter", "all-gather"):
        for s in range(K - 1):
            send_c = (r - s) % K if phase == "reduce-scatter" else (r + 1 - s) % K
            recv_c = (send_c - 1) % K
            incoming = numpy.empty(chunks[recv_c].stop - chunks[recv_c].start)
            comm.Sendrecv(numpy.ascontiguousarray(buf[chunks[send_c]]), dest=right, sendtag=s,
                          recvbuf=incoming, source=left, recvtag=s)
            if phase == "reduce-scatter":
                buf[chunks[recv_c]] += incoming
            else:
                buf[chunks[recv_c]] = incoming
    if op == "mean":
        buf /= K
    return buf.reshape(x.shape)


# ----------------------------------------------------------------------------
# The alpha-beta cost model


def allreduce_time(n_bytes, K: int, alpha: float, beta: float, algorithm: str = "ring"):
    r"""Predicted seconds of an all-reduce of ``n_bytes`` over K ranks (Hockney's α-β model).

    A message of m bytes costs :math:`\alpha + m\beta` (latency plus bytes over
    bandwidth). Then (Thakur, Rabenseifner and Gropp, 2005; Patarasuk and Yuan, 2009)

    - ``"ring"``: :math:`2(K-1)\,\alpha + 2\frac{K-1}{K}\, n\beta` (2(K-1) steps of n/K bytes:
      bandwidth-optimal, latency grows with K);
    - ``"tree"``: :math:`2\lceil\log_2 K\rceil(\alpha + n\beta)` (a binomial-tree reduce, then
      a broadcast, whole messages: few steps, but every step carries all n bytes).

    ``n_bytes`` may be an array. K = 1 costs nothing.
    """
    n = numpy.asarray(n_bytes, dtype=float)
    if K <= 1:
        return numpy.zeros_like(n)
    if algorithm == "ring":
        return 2 * (K - 1) * alpha + 2 * (K - 1) / K * n * beta
    if algorithm == "tree":
        return 2 * math.ceil(math.log2(K)) * (alpha + n * beta)
    raise ValueError(f"algorithm must be 'ring' or 'tree', got {algorithm!r}.")


def fit_alpha_beta(n_bytes, seconds, K: int) -> tuple[float, float]:
    r"""Fit α (s) and β (s/byte) of the ring model to measured all-reduce times.

    A least-squares line :math:`T = a + b\,n` through the points, weighted by
    1/T so that the small messages (latency) count as much as the large ones
    (bandwidth); then :math:`\alpha = a / (2(K-1))`, :math:`\beta = b K / (2(K-1))`.
    """
    n = numpy.asarray(n_bytes, dtype=float)
    t = numpy.asarray(seconds, dtype=float)
    if K < 2 or n.shape != t.shape or n.size < 2:
        raise ValueError("fit_alpha_beta needs K >= 2 and at least two (size, time) pairs.")
    w = 1 / t
    A = numpy.stack([numpy.ones_like(n), n], axis=1) * w[:, None]
    (a, b), *_ = numpy.linalg.lstsq(A, t * w, rcond=None)
    return max(float(a), 0.0) / (2 * (K - 1)), max(float(b), 0.0) * K / (2 * (K - 1))


# ----------------------------------------------------------------------------
# Gradients: flatten, all-reduce once, unflatten


def _leaves(tree) -> list:
    if isinstance(tree, Mapping):
        return list(tree.values())
    if isinstance(tree, (list, tuple)):
        return list(tree)
    return [tree]


def _rebuild(tree, leaves):
    if isinstance(tree, Mapping):
        return dict(zip(tree, leaves))
    if isinstance(tree, (list, tuple)):
        return type(tree)(leaves) if isinstance(tree, list) else tuple(leaves)
    return leaves[0]


def _cuda_aware_default() -> bool:
    return os.environ.get("GDLIB_MPI_CUDA_AWARE", "0") not in ("", "0", "false", "False")


def allreduce_mean(comm, grads, weight: float = 1.0, loss: float | None = None,
                   cuda_aware: bool | None = None):
    """Average ``grads`` (an array, list or dict) over the ranks, weighted by ``weight``.

    All leaves travel in **one** buffer with the weight and the loss appended,
    one ``Allreduce`` per step (as PyTorch DDP's buckets do). Rank r
    contributes ``weight_r * grads_r``; the result is
    ``sum_r weight_r grads_r / sum_r weight_r`` on every rank.

    Returns
    -------
    (grads, loss, total_weight)
        ``grads`` with the structure and array type of the input, ``loss`` the
        weighted mean (``None`` if not given), ``total_weight`` the sum of the weights.
    """
    leaves = _leaves(grads)
    if cuda_aware is None:
        cuda_aware = _cuda_aware_default()
    mod = array_module(leaves[0]) if leaves else numpy
    on_device = mod is not numpy and cuda_aware
    xpm = mod if on_device else numpy
    parts = [xpm.asarray(leaf if on_device else to_host(leaf), dtype=xpm.float64).reshape(-1)
             for leaf in leaves]
    tail = xpm.asarray([weight, (loss if loss is not None else 0.0) * weight], dtype=xpm.float64)
    send = xpm.concatenate([p * weight for p in parts] + [tail])
    recv = xpm.empty_like(send)
    comm.Allreduce(send, recv, op=_sum_op())
    total = float(recv[-2])
    if total <= 0:
        raise ValueError("the weights summed over the ranks are 0: no rank had any examples.")
    out, lo = [], 0
    for leaf, p in zip(leaves, parts):
        piece = (recv[lo:lo + p.size] / total).reshape(leaf.shape).astype(leaf.dtype, copy=False)
        out.append(piece if on_device or mod is numpy else mod.asarray(piece))
        lo += p.size
    mean_loss = float(recv[-1]) / total if loss is not None else None
    return _rebuild(grads, out), mean_loss, total


def _flat_host(params) -> numpy.ndarray:
    return numpy.concatenate([numpy.asarray(to_host(p), dtype=numpy.float64).reshape(-1)
                              for p in _leaves(params)]) if _leaves(params) else numpy.zeros(0)


def check_replicas(params, comm=None, atol: float = 0.0) -> float:
    """Check that every rank holds the same parameters; return the largest difference.

    Rank 0's parameters are broadcast and each rank compares its own with
    them; the largest absolute difference over all ranks is returned on every
    rank. With ``atol=0`` (the default) the copies must be bit-for-bit equal.

    Raises
    ------
    ReplicaMismatchError
        When a rank differs from rank 0 by more than ``atol`` (the message names the ranks).
    """
    comm = world() if comm is None else comm
    mine = _flat_host(params)
    ref = mine.copy()
    comm.Bcast(ref, root=0)
    diff = float(numpy.max(numpy.abs(mine - ref))) if mine.size else 0.0
    diffs = comm.allgather(diff)
    bad = [r for r, d in enumerate(diffs) if not d <= atol]
    if bad:
        raise ReplicaMismatchError(
            f"the replicas differ: rank(s) {bad} differ from rank 0 by up to {max(diffs):.3g} "
            f"(allowed {atol:g}). Every rank must start from the same parameters (same seed "
            "or a broadcast from rank 0) and apply the same averaged gradient.")
    return max(diffs)


def _take(a, idx):
    return a[idx]


class DataParallel:
    """Data-parallel training over the ranks of ``comm``.

    Wrap a ``loss_and_grad(params, batch) -> (loss, grads)`` with :meth:`wrap`
    and give the result to :func:`gdlib.train.train` on every rank, with the
    *global* batch size and the same seed: every rank then draws the same
    mini-batch, keeps its shard (rows ``shard_bounds(len(batch), K)[rank]``),
    and the all-reduced gradient is the whole batch's. No change to the loop
    is needed, and the optimizer (any of gdlib's) is the same on every rank.

    Parameters
    ----------
    comm : communicator, optional
        mpi4py communicator (default :func:`world`).
    micro_batches : int, default 1
        Gradient accumulation: the rank's shard is split into this many pieces,
        processed one after another (less memory), and their weighted gradients
        summed before the single all-reduce. The result is the same gradient.
    cuda_aware : bool, optional
        Pass CuPy arrays to MPI directly (needs a CUDA-aware MPI); default from
        ``GDLIB_MPI_CUDA_AWARE``.

    Attributes
    ----------
    rank, size : int
    allreduce_seconds : float
        Time spent in the all-reduce so far (communication and waiting for the slowest rank).
    """

    def __init__(self, comm=None, micro_batches: int = 1, cuda_aware: bool | None = None):
        if isinstance(micro_batches, bool) or not isinstance(micro_batches, int) \
                or micro_batches < 1:
            raise ValueError(f"micro_batches must be an integer >= 1, got {micro_batches!r}.")
        self.comm = world() if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.micro_batches = micro_batches
        self.cuda_aware = cuda_aware
        self.allreduce_seconds = 0.0
        self.steps = 0

    def shard(self, batch):
        """This rank's rows of ``batch`` (an array or a tuple of arrays)."""
        single = hasattr(batch, "shape")
        parts = (batch,) if single else tuple(batch)
        lo, hi = shard_bounds(len(parts[0]), self.size)[self.rank]
        out = tuple(_take(a, slice(lo, hi)) for a in parts)
        return out[0] if single else out

    def local_loss_and_grad(self, loss_and_grad, params, batch):
        """The weighted sum over this rank's micro-batches: ``(loss_sum, grad_sum, n_rows)``."""
        single = hasattr(batch, "shape")
        parts = (batch,) if single else tuple(batch)
        n = len(parts[0])
        total_loss, total_grads, count = 0.0, None, 0
        for lo, hi in shard_bounds(n, self.micro_batches):
            if hi == lo:
                continue
            piece = tuple(a[lo:hi] for a in parts)
            loss, grads = loss_and_grad(params, piece[0] if single else piece)
            w = hi - lo
            leaves = [g * w for g in _leaves(grads)]
            total_grads = leaves if total_grads is None else [
                a + b for a, b in zip(total_grads, leaves)]
            total_loss += float(loss) * w
            count += w
        if total_grads is None:                    # an empty shard: contributes zeros
            total_grads = [array_module(p).zeros_like(p) for p in _leaves(params)]
        return total_loss, _rebuild(params, total_grads), count

    def wrap(self, loss_and_grad):
        """A ``loss_and_grad`` for :func:`gdlib.train.train` that computes on this rank's shard
        and returns the whole batch's mean loss and gradient (identical on every rank)."""
        if not callable(loss_and_grad):
            raise TypeError(f"loss_and_grad must be a function (params, batch) -> (loss, grads), "
                            f"got {type(loss_and_grad).__name__}.")

        def data_parallel_loss_and_grad(params, batch):
            loss_sum, grad_sum, n = self.local_loss_and_grad(loss_and_grad, params,
                                                             self.shard(batch))
            start = time.perf_counter()
            # send n * mean = the sums: allreduce_mean divides by the total count
            grads, loss, _ = allreduce_mean(
                self.comm, _rebuild(grad_sum, [g / max(n, 1) for g in _leaves(grad_sum)]),
                weight=float(n), loss=loss_sum / max(n, 1), cuda_aware=self.cuda_aware)
            self.allreduce_seconds += time.perf_counter() - start
            self.steps += 1
            return loss, grads

        return data_parallel_loss_and_grad

    def check_replicas(self, params, atol: float = 0.0) -> float:
        """:func:`check_replicas` on this communicator."""
        return check_replicas(params, self.comm, atol)


# ----------------------------------------------------------------------------
# ZeRO stage 1: Adam with its moments sharded over the ranks


class ShardedAdam(Optimizer):
    r"""Adam whose moment estimates are split over the ranks (ZeRO stage 1).

    The parameters, flattened into one vector of n numbers, are cut into K
    contiguous shards (:func:`shard_bounds`). Rank r keeps Adam's two moments
    for its shard only (2n/K numbers instead of 2n), applies
    :class:`gdlib.optim.Adam`'s rule to that shard with the averaged gradient,
    and an ``Allgatherv`` then gives every rank the whole updated vector
    (Rajbhandari et al., 2020, "P_os"). The result equals unsharded Adam.

    Give it the *averaged* gradient (e.g. from :meth:`DataParallel.wrap`). The
    real ZeRO reduce-scatters the gradient instead of all-reducing it: the same
    bytes, since an all-reduce is a reduce-scatter plus an all-gather.

    Parameters
    ----------
    params : array, list or dict of arrays
        The replicated parameters, updated in place on every rank.
    lr, betas, eps, weight_decay
        As :class:`gdlib.optim.Adam`.
    comm : communicator, optional
        Default :func:`world`.

    Attributes
    ----------
    bounds : list of (int, int)
        Each rank's slice of the flat parameter vector.
    state_nbytes : int
        Bytes of optimizer state this rank holds.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 comm=None):
        super().__init__(params, lr=check_lr(lr), betas=check_betas(betas), eps=check_eps(eps),
                         weight_decay=check_nonnegative("weight_decay", weight_decay))
        self.comm = world() if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._sizes = [p.size for p in self.params]
        self.bounds = shard_bounds(int(sum(self._sizes)), self.size)
        lo, hi = self.bounds[self.rank]
        self._local = _flat_host(self.params)[lo:hi].copy()
        self._adam = Adam(self._local, lr=self.lr, betas=self.betas, eps=self.eps,
                          weight_decay=self.weight_decay, fused=False)
        self.state = [{} for _ in self.params]

    @property
    def state_nbytes(self) -> int:
        return int(sum(v.nbytes for v in self._adam.state[0].values()))

    def step(self, grads) -> None:
        """Update this rank's shard with Adam, then all-gather the parameters on every rank."""
        self._check_hyper()
        gs = self._check_grads(grads)
        lo, hi = self.bounds[self.rank]
        g_flat = _flat_host(gs)
        self._local[...] = _flat_host(self.params)[lo:hi]
        self._adam.lr = self.lr
        self._adam.step(g_flat[lo:hi])
        self.t = self._adam.t
        full = numpy.empty(sum(self._sizes))
        counts = [b - a for a, b in self.bounds]
        displs = [a for a, _ in self.bounds]
        self.comm.Allgatherv(self._local, [full, counts, displs, _double()])
        start = 0
        for p, n in zip(self.params, self._sizes):
            mod = array_module(p)
            piece = full[start:start + n].reshape(p.shape)
            p[...] = piece if mod is numpy else mod.asarray(piece)
            start += n

    def state_dict(self) -> dict:
        """This rank's shard of the state (each rank saves its own), plus its bounds."""
        d = self._adam.state_dict()
        d["optimizer"] = type(self).__name__
        d["hyper"] = self.hyper
        d["bounds"] = (self.rank, self.size, self.bounds[self.rank])
        return d

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the shard saved by :meth:`state_dict` on the same rank of the same K."""
        if not isinstance(state_dict, Mapping) or "bounds" not in state_dict:
            raise ValueError("state_dict must come from ShardedAdam.state_dict() (it has no "
                             "'bounds').")
        if tuple(state_dict["bounds"][:2]) != (self.rank, self.size):
            raise ValueError(
                f"state_dict was saved by rank {state_dict['bounds'][0]} of "
                f"{state_dict['bounds'][1]}; this is rank {self.rank} of {self.size}: load "
                "each rank's own shard with the same number of ranks.")
        inner = {k: state_dict[k] for k in ("t", "state")}
        inner.update(optimizer="Adam", hyper=dict(self._adam.hyper, **{
            k: state_dict["hyper"][k] for k in self._hyper_names}))
        self._adam.load_state_dict(inner)
        for k in self._hyper_names:
            setattr(self, k, getattr(self._adam, k))
        self._checked_hyper = tuple(self.hyper.values())
        self.t = self._adam.t

    def update(self, p, g, state, t):  # pragma: no cover - step() is overridden
        raise NotImplementedError("ShardedAdam updates in step(), not per parameter.")


def _double():
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI.DOUBLE


# ----------------------------------------------------------------------------
# Launching K workers from Python


@dataclass
class LaunchResult:
    """What :func:`launch` collected.

    Attributes
    ----------
    results : list
        What each rank passed to :func:`report` (``None`` if nothing), by rank.
    output : str
        The job's standard output (all ranks, as ``mpiexec`` relayed it).
    stderr : list of str
        Each rank's standard error.
    seconds : float
        Wall time of the job, start-up included.
    """

    results: list
    output: str = ""
    stderr: list = field(default_factory=list)
    seconds: float = math.nan

    @property
    def n_procs(self) -> int:
        return len(self.results)


def _extra_bin_dirs() -> list[str]:
    """Where a pip-installed ``mpiexec`` lives: beside this Python (a venv's ``bin``)."""
    return [str(Path(sys.executable).parent)]


def find_mpiexec() -> str:
    """The ``mpiexec`` to use: ``$GDLIB_MPIEXEC``, else the first on ``PATH``, else the one
    beside this Python (the ``mpich`` wheel installs it there).

    Raises
    ------
    MPIUnavailableError
        When there is none, or when ``mpi4py`` is missing (with how to install both).
    """
    import importlib.util

    explicit = os.environ.get("GDLIB_MPIEXEC")
    candidates = [explicit] if explicit else []
    found = shutil.which("mpiexec")
    if found:
        candidates.append(found)
    for d in _extra_bin_dirs():
        candidates.append(str(Path(d) / "mpiexec"))
    exe = next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)),
               None)
    if exe is None:
        raise MPIUnavailableError(f"no mpiexec found (PATH and {_extra_bin_dirs()}): "
                                  f"{INSTALL_HINT}.")
    if importlib.util.find_spec("mpi4py") is None:
        raise MPIUnavailableError(f"mpi4py is not installed in {sys.executable}: "
                                  f"{INSTALL_HINT}.")
    return exe


_BOOT = r"""
import os, sys, pickle, traceback
d = os.environ["GDLIB_DIST_DIR"]
from mpi4py import MPI
rank = MPI.COMM_WORLD.Get_rank()
err = open(os.path.join(d, "rank%d.err" % rank), "w", buffering=1)
os.dup2(err.fileno(), 2)
sys.stderr = err
with open(os.path.join(d, "rank%d.pid" % rank), "w") as f:
    f.write(str(os.getpid()))
target = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    import runpy
    runpy.run_path(target, run_name="__main__")
except SystemExit as e:
    if e.code not in (None, 0):
        raise
except BaseException as exc:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    text = ("Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
            + "".join(traceback.format_exception_only(type(exc), exc)))
    with open(os.path.join(d, "rank%d.error" % rank), "w") as f:
        f.write(text)
    sys.stderr.write(text)
    sys.stderr.flush()
    MPI.COMM_WORLD.Abort(1)
open(os.path.join(d, "rank%d.done" % rank), "w").close()
"""


def report(obj):
    """Send ``obj`` (picklable) back to :func:`launch` as this rank's result; returns ``obj``.

    Outside :func:`launch` (a plain ``mpiexec`` or ``srun`` on a cluster) it does
    nothing, so the same script runs there unchanged.
    """
    d = os.environ.get("GDLIB_DIST_DIR")
    if d:
        rank = world().Get_rank()
        tmp = Path(d) / f"rank{rank}.result.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(obj, f)
        os.replace(tmp, Path(d) / f"rank{rank}.result")
    return obj


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.exists() and Path("/proc/self").exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pids(run_dir: Path, n: int) -> dict[int, int]:
    out = {}
    for r in range(n):
        try:
            out[r] = int((run_dir / f"rank{r}.pid").read_text())
        except (OSError, ValueError):
            pass
    return out


def _stop(proc, run_dir: Path, n: int, grace: float = 1.0) -> None:
    """Stop mpiexec's process group and every rank (hydra puts each rank in its own session)."""
    def signal_all(sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in _pids(run_dir, n).values():
            if _alive(pid):
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    if proc.poll() is None or any(_alive(p) for p in _pids(run_dir, n).values()):
        signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (
                proc.poll() is None or any(_alive(p) for p in _pids(run_dir, n).values())):
            time.sleep(0.02)
        signal_all(signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - cannot happen after SIGKILL
        pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(_alive(p) for p in _pids(run_dir, n).values()):
        time.sleep(0.02)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


_SIGNALS = {int(s): s.name for s in signal.Signals}


def launch(target, n_procs: int = 2, timeout: float = 60.0, args=(), env=None,
           echo: bool = False, keep_dir: bool = False) -> LaunchResult:
    """Run a script on ``n_procs`` MPI processes and collect each rank's :func:`report`.

    Parameters
    ----------
    target : str or path
        A ``.py`` file, or Python source text (written to a temporary file).
        It runs as ``__main__`` on every rank, like ``mpiexec -n K python script.py``.
    n_procs : int, default 2
        The number of processes K.
    timeout : float, default 60
        Seconds before the job is stopped and :class:`LaunchTimeout` raised.
    args : sequence of str
        Command-line arguments for the script (``sys.argv[1:]``).
    env : dict, optional
        Extra environment variables. ``OMP_NUM_THREADS=1`` is set unless given,
        so K ranks do not fight over the cores with K BLAS thread pools.
    echo : bool, default False
        Print the job's output lines as they arrive.
    keep_dir : bool, default False
        Keep the run folder (per-rank stderr, results) for inspection.

    Returns
    -------
    LaunchResult

    Raises
    ------
    MPIUnavailableError
        No ``mpiexec`` or no ``mpi4py`` (says how to install them).
    WorkerError
        A rank raised (its traceback), died or was killed (which rank, its
        signal, its stderr's tail). The other ranks are stopped first.
    LaunchTimeout
        The job took longer than ``timeout``; every rank was stopped.

    The workers are always stopped before this returns or raises, including on
    ``KeyboardInterrupt`` (the notebook's stop button).
    """
    if isinstance(n_procs, bool) or not isinstance(n_procs, int) or n_procs < 1:
        raise ValueError(f"n_procs must be an integer >= 1, got {n_procs!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}.")
    exe = find_mpiexec()
    run_dir = Path(tempfile.mkdtemp(prefix="gdlib-mpi-"))
    text = str(target)
    if "\n" in text or not text.endswith(".py"):
        script = run_dir / "script.py"
        script.write_text(text)
    else:
        script = Path(text).resolve()
        if not script.is_file():
            raise FileNotFoundError(f"target {text!r} is not a file; give a .py path or "
                                    "Python source text.")
    child_env = dict(os.environ)
    child_env.setdefault("OMP_NUM_THREADS", "1")
    child_env.update(env or {})
    child_env["GDLIB_DIST_DIR"] = str(run_dir)
    child_env["PYTHONPATH"] = os.pathsep.join(
        [os.getcwd()] + ([child_env["PYTHONPATH"]] if child_env.get("PYTHONPATH") else []))
    child_env["PYTHONUNBUFFERED"] = "1"
    cmd = [exe, "-n", str(n_procs), sys.executable, "-c", _BOOT, str(script),
           *map(str, args)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=child_env, start_new_session=True,
                            text=True, errors="replace")
    lines: list[str] = []

    def pump():
        for line in proc.stdout:
            lines.append(line)
            if echo:
                print(line, end="", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    dead = None
    try:
        while proc.poll() is None:
            if time.monotonic() - start > timeout:
                _stop(proc, run_dir, n_procs)
                reader.join(2)
                raise LaunchTimeout(
                    f"the job of {n_procs} processes ran longer than timeout={timeout:g} s and "
                    "was stopped (every rank killed). Raise timeout= if it needs longer, or look "
                    "for a rank waiting in a collective that another rank never calls.",
                    output="".join(lines), stderr=_stderr_tails(run_dir, n_procs))
            if dead is None:
                for r, pid in _pids(run_dir, n_procs).items():
                    if not _alive(pid) and not _finished(run_dir, r):
                        dead = (r, pid, time.monotonic())
                        break
            elif time.monotonic() - dead[2] > 2.0:   # mpiexec did not clean up: we do
                _stop(proc, run_dir, n_procs)
            time.sleep(0.02)
    except BaseException:
        _stop(proc, run_dir, n_procs)
        reader.join(2)
        if not keep_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    _stop(proc, run_dir, n_procs)          # stray ranks, if mpiexec left any
    reader.join(5)
    seconds = time.monotonic() - start
    output = "".join(lines)
    stderrs = _stderr_tails(run_dir, n_procs, lines=10**6)
    try:
        if proc.returncode != 0 or any(not _finished(run_dir, r) for r in range(n_procs)):
            raise _failure(run_dir, n_procs, proc.returncode, output, stderrs, dead)
        results = []
        for r in range(n_procs):
            path = run_dir / f"rank{r}.result"
            results.append(pickle.loads(path.read_bytes()) if path.exists() else None)
    finally:
        if not keep_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
    return LaunchResult(results=results, output=output, stderr=stderrs, seconds=seconds)


def _finished(run_dir: Path, r: int) -> bool:
    return (run_dir / f"rank{r}.done").exists() or (run_dir / f"rank{r}.error").exists()


def _stderr_tails(run_dir: Path, n: int, lines: int = 15) -> list[str]:
    out = []
    for r in range(n):
        try:
            out.append(_tail((run_dir / f"rank{r}.err").read_text(errors="replace"), lines))
        except OSError:
            out.append("")
    return out


def _failure(run_dir, n, returncode, output, stderrs, dead) -> WorkerError:
    """The clearest error for a failed job: a raised exception, else a dead rank."""
    for r in range(n):
        path = run_dir / f"rank{r}.error"
        if path.exists():
            tb = path.read_text(errors="replace")
            return WorkerError(f"rank {r} of {n} raised an exception (the other ranks were "
                               f"stopped):\n{_tail(tb)}", rank=r, stderr=stderrs[r],
                               output=output)
    pids = _pids(run_dir, n)
    rank = dead[0] if dead else None
    code = None
    m = re.search(r"PID (\d+) RUNNING AT .*?\n.*?EXIT CODE: (\d+)", output)
    if m:
        by_pid = {pid: r for r, pid in pids.items()}
        rank = by_pid.get(int(m.group(1)), rank)
        code = int(m.group(2))
    if rank is None:
        missing = [r for r in range(n) if not _finished(run_dir, r)]
        rank = missing[0] if missing else None
    how = ""
    if code is not None:
        how = f" (exit code {code}" + (f", killed by {_SIGNALS[code]}" if code in _SIGNALS
                                       else "") + ")"
    if rank is None:
        return WorkerError(f"mpiexec failed with exit code {returncode} before the ranks "
                           f"started:\n{_tail(output)}", output=output)
    err = stderrs[rank] if rank < len(stderrs) else ""
    return WorkerError(
        f"rank {rank} of {n} died{how} without finishing; the other ranks were stopped. "
        f"Its stderr ends with:\n{_tail(err) or '(nothing)'}", rank=rank, stderr=err,
        output=output)

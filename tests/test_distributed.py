"""gdlib.distributed: data-parallel training on real MPI processes, and the launcher's promises.

The MPI tests start ``mpiexec`` (the pip ``mpich`` wheel, a project dependency),
so they run in CI; each launch costs about a second, so one job checks several
things at once. Without MPI they are skipped with the install hint.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from gdlib import distributed as dist
from gdlib.optim import SGD, Adam
from gdlib.train import train

try:
    dist.find_mpiexec()
    HAVE_MPI, WHY = True, ""
except dist.MPIUnavailableError as exc:  # pragma: no cover - MPI is a dependency
    HAVE_MPI, WHY = False, str(exc)
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason=f"no MPI: {WHY}")

# The problem every rank (and the single-process reference) trains: a small
# tanh network on seeded data, full float64. Written once, run in both places.
PROBLEM = '''
import numpy as np

def make_problem(seed=0, n=96, d=5, h=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(X @ rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    params = {"W1": 0.5 * rng.standard_normal((d, h)), "b1": np.zeros(h),
              "w2": 0.5 * rng.standard_normal(h), "b2": np.zeros(1)}
    return X, y, params

def loss_and_grad(params, batch):
    X, y = batch
    a = np.tanh(X @ params["W1"] + params["b1"])
    r = a @ params["w2"] + params["b2"][0] - y
    n = len(y)
    da = np.outer(r, params["w2"]) * (1 - a * a) / n
    return 0.5 * np.mean(r * r), {"W1": X.T @ da, "b1": da.sum(0), "w2": a.T @ r / n,
                                  "b2": np.array([r.sum() / n])}
'''
_NS: dict = {}
exec(PROBLEM, _NS)  # the same functions here, for the single-process reference
make_problem, loss_and_grad = _NS["make_problem"], _NS["loss_and_grad"]

WORKER = PROBLEM + '''
from gdlib import distributed as dist
from gdlib.optim import SGD, Adam
from gdlib.train import train

comm = dist.world()
dp = dist.DataParallel(comm)
out = {"rank": comm.Get_rank(), "size": comm.Get_size()}

# 1. data-parallel SGD with momentum through gdlib.train.train, global batch 24
X, y, params = make_problem()
hist = train(params, dp.wrap(loss_and_grad), SGD(params, lr=0.1, momentum=0.9), data=(X, y),
             epochs=3, batch_size=24, seed=1, progress=False)
out["sgd"] = {k: v.copy() for k, v in params.items()}
out["sgd_loss"] = hist.loss
out["replica_diff"] = dp.check_replicas(params)

# 2. gradient accumulation: 3 micro-batches per rank, same gradients
X, y, params = make_problem()
acc = dist.DataParallel(comm, micro_batches=3)
train(params, acc.wrap(loss_and_grad), SGD(params, lr=0.1, momentum=0.9), data=(X, y),
      epochs=3, batch_size=24, seed=1, progress=False)
out["accumulated"] = {k: v.copy() for k, v in params.items()}

# 3. ZeRO-1: Adam's moments sharded over the ranks
X, y, params = make_problem()
zero = dist.ShardedAdam(params, lr=0.01, weight_decay=0.01)
train(params, dp.wrap(loss_and_grad), zero, data=(X, y), epochs=3, batch_size=24, seed=1,
      progress=False)
out["zero"] = {k: v.copy() for k, v in params.items()}
out["zero_nbytes"] = zero.state_nbytes

# 4. the ring all-reduce against MPI's, on an odd length (uneven chunks)
x = np.random.default_rng(comm.Get_rank()).standard_normal(11)
ring = dist.ring_allreduce(comm, x)
ref = np.empty_like(x)
comm.Allreduce(x, ref)
out["ring_err"] = float(np.max(np.abs(ring - ref)))
out["ring_mean_err"] = float(np.max(np.abs(dist.ring_allreduce(comm, x, op="mean")
                                          - ref / comm.Get_size())))

# 5. a replica that drifted is caught, naming the rank
if comm.Get_rank() == 1:
    params["w2"][0] += 1e-9
try:
    dist.check_replicas(params, comm)
    out["mismatch"] = None
except dist.ReplicaMismatchError as exc:
    out["mismatch"] = str(exc)
dist.report(out)
'''


@pytest.fixture(scope="module")
def two_ranks():
    if not HAVE_MPI:
        pytest.skip(f"no MPI: {WHY}")
    return dist.launch(WORKER, n_procs=2, timeout=120)


def _single(optimizer, **kw):
    X, y, params = make_problem()
    opt = optimizer(params, **kw)
    hist = train(params, loss_and_grad, opt, data=(X, y), epochs=3, batch_size=24, seed=1,
                 progress=False)
    return params, hist


def _assert_close(a, b, tol=1e-12):
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=tol, err_msg=k)


@needs_mpi
def test_two_ranks_follow_the_single_process_large_batch_run(two_ranks):
    """K=2 workers with batch 12 each == one worker with batch 24, to 1e-12 (float64)."""
    params, hist = _single(SGD, lr=0.1, momentum=0.9)
    for res in two_ranks.results:
        assert res["size"] == 2
        _assert_close(res["sgd"], params)
        np.testing.assert_allclose(res["sgd_loss"], hist.loss, rtol=0, atol=1e-12)
    assert two_ranks.results[0]["replica_diff"] == 0.0   # bit-identical replicas


@needs_mpi
def test_gradient_accumulation_equals_the_big_batch(two_ranks):
    params, _ = _single(SGD, lr=0.1, momentum=0.9)
    for res in two_ranks.results:
        _assert_close(res["accumulated"], params)


@needs_mpi
def test_zero1_sharded_adam_equals_adam_with_half_the_state(two_ranks):
    params, _ = _single(Adam, lr=0.01, weight_decay=0.01)
    n = sum(p.size for p in params.values())
    for res in two_ranks.results:
        _assert_close(res["zero"], params)
    # each rank keeps 2 moments of its half: 2 * (n/2) floats instead of 2n
    assert [r["zero_nbytes"] for r in two_ranks.results] == [8 * 2 * lo for lo in
                                                             (-(-n // 2), n // 2)]


@needs_mpi
def test_ring_allreduce_equals_mpi_allreduce(two_ranks):
    for res in two_ranks.results:
        assert res["ring_err"] < 1e-14 and res["ring_mean_err"] < 1e-14


@needs_mpi
def test_three_ranks_ring_with_uneven_chunks():
    src = ("import numpy as np\nfrom gdlib import distributed as dist\ncomm = dist.world()\n"
           "x = np.arange(7.0) ** 2 + comm.Get_rank()\nref = np.empty_like(x)\n"
           "comm.Allreduce(x, ref)\n"
           "dist.report(float(np.max(np.abs(dist.ring_allreduce(comm, x) - ref))))\n")
    res = dist.launch(src, n_procs=3, timeout=60)
    assert res.results == [0.0, 0.0, 0.0]


@needs_mpi
def test_a_drifted_replica_is_named(two_ranks):
    msg = two_ranks.results[0]["mismatch"]
    assert msg is not None and "rank(s) [1]" in msg


def _processes_of(run_marker: str) -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if run_marker in cmd:
                out.append(cmd)
    return out


KILLED = '''
import os, signal, time
import numpy as np
from gdlib import distributed as dist
comm = dist.world()
for i in range(10_000):
    comm.Allreduce(np.ones(4), np.empty(4))
    if i == 20 and comm.Get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)      # a worker dies mid-run
    time.sleep(0.005)
dist.report("finished")  # KILLED-MARKER
'''


@needs_mpi
def test_a_killed_worker_is_reported_and_nothing_is_left_running():
    start = time.monotonic()
    with pytest.raises(dist.WorkerError) as info:
        dist.launch(KILLED, n_procs=2, timeout=60)
    assert time.monotonic() - start < 30          # returned, did not hang until the timeout
    assert info.value.rank == 1
    assert "rank 1 of 2 died" in str(info.value) and "SIGKILL" in str(info.value)
    assert _processes_of("gdlib-mpi-") == []     # no mpiexec, proxy or rank left behind


@needs_mpi
def test_an_exception_in_a_worker_names_the_rank_and_the_line():
    src = ("import time\nfrom gdlib import distributed as dist\n"
           "if dist.world().Get_rank() == 1:\n    raise ValueError('bad shard')\n"
           "time.sleep(60)\n")
    start = time.monotonic()
    with pytest.raises(dist.WorkerError, match=r"rank 1 of 2 raised") as info:
        dist.launch(src, n_procs=2, timeout=60)
    assert time.monotonic() - start < 30
    assert "ValueError: bad shard" in str(info.value) and "line 4" in str(info.value)
    assert _processes_of("gdlib-mpi-") == []


@needs_mpi
def test_timeout_stops_every_worker():
    start = time.monotonic()
    with pytest.raises(dist.LaunchTimeout, match="timeout=2"):
        dist.launch("import time\ntime.sleep(60)\n", n_procs=2, timeout=2)
    assert time.monotonic() - start < 10
    assert _processes_of("gdlib-mpi-") == []


def test_missing_mpi_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("GDLIB_MPIEXEC", raising=False)
    monkeypatch.setattr(dist, "_extra_bin_dirs", lambda: [str(tmp_path)])
    with pytest.raises(dist.MPIUnavailableError, match="pip install mpich mpi4py"):
        dist.launch("print(1)\n", n_procs=2)


def test_launch_refuses_bad_arguments():
    with pytest.raises(ValueError, match="n_procs"):
        dist.launch("print(1)\n", n_procs=0)
    with pytest.raises(ValueError, match="timeout"):
        dist.launch("print(1)\n", n_procs=1, timeout=-1)
    if HAVE_MPI:
        with pytest.raises(FileNotFoundError, match="target"):
            dist.launch("no_such_script.py", n_procs=1)


# -- without MPI: one process is a world of one ---------------------------------------


def test_shard_bounds_cover_without_overlap():
    assert dist.shard_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert dist.shard_bounds(2, 4) == [(0, 1), (1, 2), (2, 2), (2, 2)]
    with pytest.raises(ValueError, match="size"):
        dist.shard_bounds(5, 0)


@pytest.mark.parametrize("K, n", [(1, 5), (2, 6), (3, 7), (4, 3), (5, 12)])
def test_simulated_ring_equals_the_sum(K, n):
    xs = [np.random.default_rng(r).standard_normal(n) for r in range(K)]
    trace: list = []
    out = dist.simulate_ring_allreduce(xs, trace=trace)
    for o in out:
        np.testing.assert_allclose(o, np.sum(xs, axis=0), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dist.simulate_ring_allreduce(xs, op="mean")[0],
                               np.mean(xs, axis=0), rtol=1e-14)
    assert len(trace) == 2 * (K - 1) * K    # 2(K-1) steps, K messages each
    assert all(dst == (src + 1) % K for _, _, src, dst, _ in trace)


def test_simulated_ring_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"arrays\[1\]"):
        dist.simulate_ring_allreduce([np.zeros(3), np.zeros(4)])


def test_data_parallel_alone_is_plain_training():
    """With one process the wrapper returns the batch's own loss and gradient."""
    X, y, params = make_problem()
    dp = dist.DataParallel(dist.SerialComm(), micro_batches=4)
    loss, g = dp.wrap(loss_and_grad)(params, (X[:20], y[:20]))
    loss0, g0 = loss_and_grad(params, (X[:20], y[:20]))
    assert loss == pytest.approx(loss0, rel=1e-14)
    _assert_close(g, g0, tol=1e-15)
    assert dp.check_replicas(params) == 0.0
    with pytest.raises(ValueError, match="micro_batches"):
        dist.DataParallel(micro_batches=0)


def test_sharded_adam_alone_is_adam_and_validates():
    X, y, p1 = make_problem()
    _, _, p2 = make_problem()
    a, b = Adam(p1, lr=0.01), dist.ShardedAdam(p2, lr=0.01, comm=dist.SerialComm())
    for _ in range(5):
        a.step(loss_and_grad(p1, (X, y))[1])
        b.step(loss_and_grad(p2, (X, y))[1])
    _assert_close(p1, p2, tol=0.0)
    with pytest.raises(ValueError, match="lr"):
        dist.ShardedAdam(p2, lr=-1)
    with pytest.raises(ValueError, match="shape"):
        b.step({k: np.zeros(3) for k in p2})
    assert b.t == 5


@pytest.mark.gpu
def test_allreduce_mean_of_cupy_arrays_comes_back_on_the_device(gpu_backend):
    import cupy

    g = {"w": cupy.arange(4.0), "b": cupy.ones(1)}
    out, loss, total = dist.allreduce_mean(dist.SerialComm(), g, weight=3.0, loss=2.0)
    assert isinstance(out["w"], cupy.ndarray) and total == 3.0 and loss == 2.0
    cupy.testing.assert_allclose(out["w"], g["w"])


@needs_mpi
def test_ctrl_c_stops_every_worker():
    """KeyboardInterrupt (the notebook's stop button) stops the job and is re-raised."""
    import _thread
    import threading

    timer = threading.Timer(2.0, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            dist.launch("import time\ntime.sleep(60)\n", n_procs=2, timeout=60)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 15
    assert _processes_of("gdlib-mpi-") == []


def test_world_outside_mpi_is_one_serial_rank(monkeypatch):
    for key in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "GDLIB_DIST_DIR"):
        monkeypatch.delenv(key, raising=False)
    comm = dist.world()
    assert isinstance(comm, dist.SerialComm) and (comm.Get_rank(), comm.Get_size()) == (0, 1)
    assert dist.report({"a": 1}) == {"a": 1}        # outside launch: returned, nothing written


def test_alpha_beta_model_and_fit():
    n = np.array([8.0, 1e3, 1e5, 1e7])
    t = dist.allreduce_time(n, 4, alpha=2e-6, beta=1e-9)
    np.testing.assert_allclose(t, 6 * 2e-6 + 1.5 * n * 1e-9)
    np.testing.assert_allclose(dist.allreduce_time(n, 4, 2e-6, 1e-9, "tree"),
                               4 * (2e-6 + n * 1e-9))
    assert dist.allreduce_time(1e6, 1, 1.0, 1.0) == 0.0
    alpha, beta = dist.fit_alpha_beta(n, t, 4)
    assert alpha == pytest.approx(2e-6, rel=1e-6) and beta == pytest.approx(1e-9, rel=1e-6)
    with pytest.raises(ValueError, match="algorithm"):
        dist.allreduce_time(n, 4, 1e-6, 1e-9, "star")
    with pytest.raises(ValueError, match="K >= 2"):
        dist.fit_alpha_beta(n, t, 1)


def test_sharded_adam_state_round_trip():
    X, y, p1 = make_problem()
    _, _, p2 = make_problem()
    a = dist.ShardedAdam(p1, lr=0.01, comm=dist.SerialComm())
    b = dist.ShardedAdam(p2, lr=0.01, comm=dist.SerialComm())
    for _ in range(3):
        a.step(loss_and_grad(p1, (X, y))[1])
        b.step(loss_and_grad(p2, (X, y))[1])
    c = dist.ShardedAdam(p2, lr=0.01, comm=dist.SerialComm())
    c.load_state_dict(b.state_dict())
    for _ in range(3):
        a.step(loss_and_grad(p1, (X, y))[1])
        c.step(loss_and_grad(p2, (X, y))[1])
    _assert_close(p1, p2, tol=0.0)
    with pytest.raises(ValueError, match="bounds"):
        c.load_state_dict({"t": 1})

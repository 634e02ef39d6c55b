"""All-reduce bandwidth and data-parallel step time on this machine, against the α-β model.

Two measurements, each a real MPI job started with :func:`gdlib.distributed.launch`:

1. **All-reduce time vs message size** (8 B to 8 MiB of float64) on K ranks, for
   MPI's ``Allreduce`` and for gdlib's ring (:func:`gdlib.distributed.ring_allreduce`,
   Python point-to-point messages). The ring model's latency α and inverse
   bandwidth β are fitted to MPI's times (:func:`gdlib.distributed.fit_alpha_beta`),
   and each size's ``measured/model`` ratio is printed, with the bus bandwidth
   ``2 (K-1)/K n / T`` (the bytes each rank must move per second).
2. **Data-parallel step time vs number of processes** (1, 2, 4): a fixed global
   batch of a tanh network, the gradient all-reduced by
   :class:`gdlib.distributed.DataParallel`. The model's prediction is
   ``T_K = T_1 / K + T_allreduce(K)`` (perfect split of the compute plus the
   fitted all-reduce); the measured and predicted speed-ups are printed with
   their ratio.

With more processes than cores (K=4 on a 2-core machine) MPICH's ranks spin
while they wait, and the model's assumption of one core per rank fails: the
ratio says by how much.

Run::

    python benchmarks/allreduce.py            # K = 2 (sizes 1 .. 2^20), steps on 1, 2, 4
    python benchmarks/allreduce.py --quick    # a smoke run: few sizes, 1 and 2 processes
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gdlib import distributed as dist  # noqa: E402

ALLREDUCE_JOB = r'''
import sys, time
import numpy as np
from gdlib import distributed as dist

comm = dist.world()
sizes = [int(s) for s in sys.argv[1].split(",")]
repeats = int(sys.argv[2])
out = {"sizes": sizes, "mpi": [], "ring": []}
for n in sizes:
    x = np.random.default_rng(comm.Get_rank()).standard_normal(n)
    y = np.empty_like(x)
    for name, fn in (("mpi", lambda: comm.Allreduce(x, y)),
                     ("ring", lambda: dist.ring_allreduce(comm, x))):
        fn(); fn()                                       # warm-up
        times = []
        for _ in range(repeats):
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        slowest = comm.allgather(float(np.median(times)))   # the collective ends with the last rank
        out[name].append(max(slowest))
dist.report(out)
'''

STEP_JOB = r'''
import sys, time
import numpy as np
from gdlib import distributed as dist
from gdlib.optim import SGD

comm = dist.world()
n, d, h, steps = (int(a) for a in sys.argv[1:5])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
y = np.sin(X @ rng.standard_normal(d))
p = {"W": 0.1 * rng.standard_normal((d, h)), "v": 0.1 * rng.standard_normal(h)}

def loss_and_grad(p, batch):
    Xb, yb = batch
    a = np.tanh(Xb @ p["W"])
    r = a @ p["v"] - yb
    da = np.outer(r, p["v"]) * (1 - a * a) / len(yb)
    return 0.5 * np.mean(r * r), {"W": Xb.T @ da, "v": a.T @ r / len(yb)}

dp = dist.DataParallel(comm)
step = dp.wrap(loss_and_grad)
opt = SGD(p, lr=0.05)
opt.step(step(p, (X, y))[1])                             # warm-up
dp.allreduce_seconds = 0.0
comm.Barrier()
t0 = time.perf_counter()
for _ in range(steps):
    opt.step(step(p, (X, y))[1])
total = comm.allgather(time.perf_counter() - t0)
dist.report({"step": max(total) / steps, "allreduce": dp.allreduce_seconds / steps,
             "n_params": sum(a.size for a in p.values()), "replica_diff": dp.check_replicas(p)})
'''


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    try:
        from mpi4py import MPI
        mpi = MPI.Get_library_version().splitlines()[0].strip()
    except Exception:  # noqa: BLE001 - only for the header
        mpi = "MPI (version unknown)"
    return (f"{os.cpu_count()} cores ({cpu}), load {load:.1f}, Python "
            f"{platform.python_version()}, {mpi}")


def measure_allreduce(K: int, sizes: list[int], repeats: int) -> dict:
    res = dist.launch(ALLREDUCE_JOB, n_procs=K, timeout=300,
                      args=[",".join(map(str, sizes)), str(repeats)])
    return res.results[0]


def measure_steps(procs: list[int], n: int, d: int, h: int, steps: int) -> dict[int, dict]:
    out = {}
    for K in procs:
        res = dist.launch(STEP_JOB, n_procs=K, timeout=300, args=[n, d, h, steps])
        out[K] = res.results[0]
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--procs", type=int, nargs="+", default=None,
                        help="process counts for the step times (default 1 2 4)")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, repeats = [1, 1024, 65536], 5
        procs, batch, steps = args.procs or [1, 2], (2048, 32, 64), 5
    else:
        sizes, repeats = [2**k for k in range(0, 21, 2)], 30
        procs, batch, steps = args.procs or [1, 2, 4], (8192, 64, 256), 30
    n, d, h = batch
    print(f"machine : {machine()}")
    K = 2
    ar = measure_allreduce(K, sizes, repeats)
    nbytes = np.array(ar["sizes"]) * 8.0
    alpha, beta = dist.fit_alpha_beta(nbytes, ar["mpi"], K)
    model = dist.allreduce_time(nbytes, K, alpha, beta)
    print(f"\nall-reduce on K={K} ranks: fitted alpha = {alpha * 1e6:.2f} us, "
          f"1/beta = {1 / beta / 1e9 if beta > 0 else float('inf'):.2f} GB/s")
    print(f"{'bytes':>10} {'MPI us':>10} {'ring us':>10} {'model us':>10} {'MPI/model':>10} "
          f"{'ring/MPI':>9} {'bus GB/s':>9}")
    ratios = []
    for b, t_mpi, t_ring, t_model in zip(nbytes, ar["mpi"], ar["ring"], model):
        ratios.append(t_mpi / t_model)
        bus = 2 * (K - 1) / K * b / t_mpi / 1e9
        print(f"{int(b):>10} {t_mpi * 1e6:>10.1f} {t_ring * 1e6:>10.1f} {t_model * 1e6:>10.1f} "
              f"{t_mpi / t_model:>10.2f} {t_ring / t_mpi:>9.1f} {bus:>9.2f}")

    steps_res = measure_steps(procs, n, d, h, steps)
    t1 = steps_res[procs[0]]["step"] * procs[0]  # one process (estimated if procs[0] > 1)
    n_params = steps_res[procs[0]]["n_params"]
    print(f"\ndata-parallel step, global batch {n}, {n_params} parameters "
          f"({8 * n_params} bytes all-reduced per step)")
    print(f"{'K':>3} {'step ms':>9} {'allred ms':>10} {'speed-up':>9} {'model':>7} "
          f"{'meas/model':>11}")
    rows = []
    for K_, r in steps_res.items():
        predicted = t1 / K_ + float(dist.allreduce_time(8 * n_params, K_, alpha, beta))
        speedup, model_speedup = t1 / r["step"], t1 / predicted
        rows.append({"K": K_, "step": r["step"], "allreduce": r["allreduce"],
                     "speedup": speedup, "model_speedup": model_speedup})
        print(f"{K_:>3} {r['step'] * 1e3:>9.2f} {r['allreduce'] * 1e3:>10.2f} {speedup:>9.2f} "
              f"{model_speedup:>7.2f} {speedup / model_speedup:>11.2f}")
        assert r["replica_diff"] == 0.0, "replicas drifted apart"
    return {"alpha": alpha, "beta": beta, "allreduce": ar, "ratios": ratios, "steps": rows,
            "machine": machine()}


if __name__ == "__main__":
    main()

"""Time one optimizer update in gdlib and in torch.optim, in the same run.

For SGD with momentum, Adam and AdamW on 10^6 and 10^7 float32 parameters, it
times one ``step`` of

- gdlib (the current backend: NumPy on the CPU, CuPy on a GPU),
- ``torch.optim``'s default implementation, and ``fused=True`` where torch has it,
- a plain array copy of the same size (the memory-bandwidth yardstick),

and prints two ratios:

- ``gdlib / torch``: gdlib's time over torch's (below 1 means gdlib is faster);
- ``bandwidth``: the bytes an update must move (each state array read and
  written once, the gradient read once) per second, over the copy's bytes per
  second. 1.0 would be an update as fast as a copy of the same traffic.

PyTorch is not a dependency of the course; install the CPU build to compare
(``pip install torch==2.13.0``). Without it only gdlib and the copy are timed.

Run::

    python benchmarks/optimizer_step.py            # both sizes
    python benchmarks/optimizer_step.py --sizes 1e6 --repeats 20
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gdlib import backend  # noqa: E402
from gdlib.optim import SGD, Adam, AdamW  # noqa: E402

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None

# Arrays an update reads and writes, beyond the gradient (read once):
# SGD with momentum: p, buf read and written; Adam(W): p, m, v read and written.
STATE_ARRAYS = {"SGD(momentum=0.9)": 2, "Adam": 3, "AdamW": 3}

CASES = {
    "SGD(momentum=0.9)": (SGD, "SGD", dict(lr=1e-3, momentum=0.9)),
    "Adam": (Adam, "Adam", dict(lr=1e-3)),
    "AdamW": (AdamW, "AdamW", dict(lr=1e-3, weight_decay=1e-2)),
}


def median_time(fn, repeats: int, sync=lambda: None) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, after two warm-up runs."""
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_size(n: int, repeats: int) -> list[dict]:
    xp = backend.xp
    sync = (lambda: xp.cuda.Stream.null.synchronize()) if backend.device() == "gpu" else (
        lambda: None
    )
    host = np.random.default_rng(0)
    p0 = host.standard_normal(n).astype(np.float32)
    g0 = host.standard_normal(n).astype(np.float32) * 1e-2
    nbytes = p0.nbytes

    src, dst = xp.asarray(p0), xp.empty_like(xp.asarray(p0))
    t_copy = median_time(lambda: xp.copyto(dst, src), repeats, sync)
    copy_bw = 2 * nbytes / t_copy  # read + write
    rows = [{"size": n, "name": "copy", "gdlib": t_copy, "bw": 1.0}]

    for label, (cls, torch_name, hyper) in CASES.items():
        p, g = xp.asarray(p0.copy()), xp.asarray(g0)
        opt = cls(p, **hyper)
        t_gd = median_time(lambda opt=opt, g=g: opt.step(g), repeats, sync)
        moved = (2 * STATE_ARRAYS[label] + 1) * nbytes
        row = {"size": n, "name": label, "gdlib": t_gd, "bw": moved / t_gd / copy_bw}
        if torch is not None:
            dev = "cuda" if backend.device() == "gpu" and torch.cuda.is_available() else "cpu"
            tsync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
            for variant, extra in (("torch", {}), ("torch_fused", {"fused": True})):
                tp = torch.tensor(p0, device=dev).requires_grad_(True)
                tp.grad = torch.tensor(g0, device=dev)
                try:
                    topt = getattr(torch.optim, torch_name)([tp], **hyper, **extra)
                    topt.step()
                except (RuntimeError, TypeError, ValueError) as exc:  # fused not available
                    row[variant] = None
                    row[variant + "_why"] = str(exc).splitlines()[0][:60]
                    continue
                row[variant] = median_time(topt.step, repeats, tsync)
        rows.append(row)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    print(f"machine : {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}")
    print(f"gdlib   : {backend.describe()}, slices of {SGD.chunk_size} elements")
    if torch is None:
        print("torch   : not installed (pip install torch==2.13.0 to compare)")
    else:
        print(f"torch   : {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print()
    head = (f"{'size':>9} {'update':<18} {'gdlib ms':>9} {'torch ms':>9} {'fused ms':>9} "
            f"{'gdlib/torch':>11} {'gdlib/fused':>11} {'bandwidth':>9}")
    print(head)
    print("-" * len(head))
    for n in args.sizes:
        for r in bench_size(int(n), args.repeats):
            t_t, t_f = r.get("torch"), r.get("torch_fused")

            def ms(t):
                return f"{t * 1e3:9.3f}" if t else f"{'-':>9}"

            def ratio(t, r=r):
                return f"{r['gdlib'] / t:11.2f}" if t else f"{'-':>11}"

            print(f"{r['size']:>9.0e} {r['name']:<18} {ms(r['gdlib'])} {ms(t_t)} {ms(t_f)} "
                  f"{ratio(t_t)} {ratio(t_f)} {r['bw']:9.2f}")
    print()
    print("gdlib/torch < 1: gdlib is faster. bandwidth: bytes an update moves per second "
          "over the copy's (1.0 = copy speed).")


if __name__ == "__main__":
    main()

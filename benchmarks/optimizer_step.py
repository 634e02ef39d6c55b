"""Time one optimizer update in gdlib (readable and fused) and in torch.optim, in one run.

For SGD with momentum, Adam and AdamW on 10^5 to 10^8 float32 parameters, it
times one ``step`` of

- gdlib's readable rule (``fused=False``: the NumPy statements the lessons show,
  run on cache-sized slices) and gdlib's fused path (``fused=True``: one
  multi-threaded numba loop, or one CuPy kernel on a GPU; see
  :mod:`gdlib.optim.fused`),
- ``torch.optim``'s default implementation, and ``fused=True``,
- a copy of the same size on the fused loops' threads (numba: the memory-bandwidth
  yardstick) and NumPy's single-threaded copy,

and prints the ratios

- ``fused/torch`` and ``fused/tfused``: gdlib's fused time over torch's default
  and fused times (below 1 means gdlib is faster); ``read/torch`` the same for
  the readable rule;
- ``bw fused`` and ``bw read``: the bytes an update must move (each state array
  read and written once, the gradient read once) per second, over the
  multi-threaded copy's bytes per second. 1.0 is an update as fast as copying
  the same traffic.

The contenders of one update (the two gdlib paths, torch's two, both copies)
are timed in rounds, each called once per round, so that a burst of load from
other work on the machine slows them alike; the medians are printed (the copy
rows show the copies timed beside SGD).

PyTorch is not a dependency of the course; run this with a Python that has the
CPU build (``pip install torch==2.13.0``) to compare. Without it (or with
``--no-torch``) only gdlib and the copies are timed.

Run::

    python benchmarks/optimizer_step.py                       # 1e5 1e6 1e7 1e8
    python benchmarks/optimizer_step.py --sizes 1e6 --repeats 20
    python benchmarks/optimizer_step.py --threads 1          # gdlib and torch on one core
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gdlib import backend  # noqa: E402
from gdlib.optim import SGD, Adam, AdamW, fused  # noqa: E402

# Arrays an update reads and writes, beyond the gradient (read once):
# SGD with momentum: p, buf read and written; Adam(W): p, m, v read and written.
STATE_ARRAYS = {"SGD(momentum=0.9)": 2, "Adam": 3, "AdamW": 3}

CASES = {
    "SGD(momentum=0.9)": (SGD, "SGD", dict(lr=1e-3, momentum=0.9)),
    "Adam": (Adam, "Adam", dict(lr=1e-3)),
    "AdamW": (AdamW, "AdamW", dict(lr=1e-3, weight_decay=1e-2)),
}
PATHS = {"readable": False, "fused": True}


def interleaved_times(contenders: dict, repeats: int) -> dict:
    """Median seconds per call of each ``(fn, sync)``, timed in rounds.

    Each round calls every contender once, so a burst of load from other work
    on the machine slows them all alike and their ratios stay fair. Two
    warm-up rounds come first (compilation, first-touch of the memory).
    """
    times = {name: [] for name in contenders}
    for round_ in range(repeats + 2):
        for name, (fn, sync) in contenders.items():
            t0 = time.perf_counter()
            fn()
            sync()
            if round_ >= 2:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def threaded_copy():
    """A copy loop on numba's threads (``prange``), or None without numba."""
    ok, _ = fused.cpu_available()
    if not ok:
        return None
    import numba

    @numba.njit(parallel=True)                    # not cached: a nested function
    def copy(dst, src):
        for i in numba.prange(src.size):
            dst[i] = src[i]

    return copy


def bench_case(n: int, case: str, repeats: int, torch=None) -> dict:
    """One update (both gdlib paths, torch's two) and both copies, interleaved."""
    cls, torch_name, hyper = CASES[case]
    xp = backend.xp
    gpu = backend.device() == "gpu"
    sync = (lambda: xp.cuda.Stream.null.synchronize()) if gpu else (lambda: None)
    host = np.random.default_rng(0)
    p0 = host.standard_normal(n).astype(np.float32)
    g0 = host.standard_normal(n).astype(np.float32) * 1e-2

    src, dst = xp.asarray(p0), xp.empty(n, dtype=np.float32)
    copy = None if gpu else threaded_copy()
    contenders = {"copy1": (lambda: xp.copyto(dst, src), sync)}
    contenders["copy"] = (lambda: copy(dst, src), sync) if copy else contenders["copy1"]
    g = xp.asarray(g0)
    for path, flag in PATHS.items():
        opt = cls(xp.asarray(p0.copy()), fused=flag, **hyper)
        contenders[path] = (lambda opt=opt: opt.step(g), sync)
    if torch is not None:
        dev = "cuda" if gpu and torch.cuda.is_available() else "cpu"
        tsync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        for variant, extra in (("torch", {}), ("torch_fused", {"fused": True})):
            tp = torch.tensor(p0, device=dev).requires_grad_(True)
            tp.grad = torch.tensor(g0, device=dev)
            try:
                topt = getattr(torch.optim, torch_name)([tp], **hyper, **extra)
            except (RuntimeError, TypeError, ValueError):  # fused not available
                continue
            contenders[variant] = (topt.step, tsync)
    return interleaved_times(contenders, repeats)


def bench_size(n: int, repeats: int, torch=None) -> list[dict]:
    nbytes = 4 * n
    rows = []
    for case in CASES:
        t = bench_case(n, case, repeats, torch)
        gc.collect()                                  # free this case's arrays
        if not rows:
            rows += [{"size": n, "name": "copy (numba)", "fused": t["copy"],
                      "bw fused": 1.0},
                     {"size": n, "name": "copy (NumPy, 1 core)", "fused": t["copy1"],
                      "bw fused": t["copy"] / t["copy1"]}]
        copy_bw = 2 * nbytes / t["copy"]              # read + write, timed beside this case
        moved = (2 * STATE_ARRAYS[case] + 1) * nbytes
        row = {"size": n, "name": case, "readable": t["readable"], "fused": t["fused"],
               "bw fused": moved / t["fused"] / copy_bw, "bw read": moved / t["readable"] / copy_bw}
        row.update({k: t[k] for k in ("torch", "torch_fused") if k in t})
        rows.append(row)
    return rows


def _fused_threads() -> str:
    if not fused.cpu_available()[0]:
        return "no"
    import numba

    return str(numba.get_num_threads())


def _ms(t) -> str:
    return f"{t * 1e3:9.3f}" if t else f"{'-':>9}"


def _ratio(a, b) -> str:
    return f"{a / b:10.2f}" if a and b else f"{'-':>10}"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--repeats", type=int, default=15,
                        help="timed steps per measurement (fewer at 1e8: a third)")
    parser.add_argument("--no-torch", action="store_true", help="time gdlib only")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for gdlib's fused loops and for torch (default: all cores)")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:  # the comparison is optional
            torch = None

    if args.threads is not None:
        if fused.cpu_available()[0]:
            import numba

            numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        if torch is not None:
            torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine : {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, load average {load:.1f} at the start")
    print(f"gdlib   : {backend.describe()}; readable rule on slices of {SGD.chunk_size} "
          f"elements; fused: {fused.cpu_available()[1] or 'numba'} "
          f"(fused by default from {fused.MIN_SIZE} elements, {_fused_threads()} thread(s))")
    if torch is None:
        print("torch   : not used (pip install torch==2.13.0 to compare)")
    else:
        print(f"torch   : {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print()
    head = (f"{'size':>7} {'update':<20} {'read ms':>9} {'fused ms':>9} {'torch ms':>9} "
            f"{'tfused ms':>9} {'fused/torch':>10} {'fused/tfused':>12} {'read/torch':>10} "
            f"{'bw fused':>9} {'bw read':>8}")
    print(head)
    print("-" * len(head))
    rows = []
    for n in args.sizes:
        repeats = max(3, args.repeats // 3) if n >= 1e8 else args.repeats
        for r in bench_size(int(n), repeats, torch):
            rows.append(r)
            t_t, t_f = r.get("torch"), r.get("torch_fused")
            bw_read = f"{r['bw read']:8.2f}" if "bw read" in r else f"{'':>8}"
            print(f"{r['size']:>7.0e} {r['name']:<20} {_ms(r.get('readable'))} {_ms(r['fused'])} "
                  f"{_ms(t_t)} {_ms(t_f)} {_ratio(r['fused'], t_t)} "
                  f"{_ratio(r['fused'], t_f):>12} {_ratio(r.get('readable'), t_t)} "
                  f"{r['bw fused']:9.2f} {bw_read}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    print(f"load average {load:.1f} at the end. fused/torch < 1: gdlib's fused step is "
          "faster. bw: bytes an update moves per second over the numba copy's (1.0 = copy "
          "speed); for the copy rows, the copy's own speed.")
    return rows


if __name__ == "__main__":
    main()

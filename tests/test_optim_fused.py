"""The fused update kernels (gdlib.optim.fused) against the readable rules.

Every element-wise optimizer, with every option it has, is stepped 100 times
on the readable path (``fused=False``) and on the fused one (``fused=True``)
with the same gradients, in float32 and float64, over parameters of mixed
shapes and layouts (0-d, empty, transposed, strided, dict and list): the
parameters and the state must agree to 4 ulps at every step. (They agree bit
for bit today: the loops do the same operations in the same order.)

The CUDA bodies of the GPU kernels are checked without a GPU by compiling them
as C++ with the host compiler and running them against the numba loops on the
same inputs; the CuPy kernels themselves run only under ``-m gpu``.

The first run compiles every numba kernel in both dtypes (about 1-4 s each,
cached on disk in ``gdlib/optim/__pycache__`` for later runs).
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gdlib import backend
from gdlib.errors import NonFiniteGradientError
from gdlib.optim import REGISTRY, SGD, Adam, create, fused

# (optimizer, hyper-parameters): every option of every element-wise rule.
CONFIGS = [
    ("gd", {}),
    ("gd", {"maximize": True}),
    ("sgd", {"lr": 0.01}),
    ("sgd", {"lr": 0.01, "momentum": 0.9}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.1,
                 "maximize": True}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "eps": 1e-3}),
    ("rmsprop", {"momentum": 0.9, "weight_decay": 0.1}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "maximize": True}),
    ("adadelta", {}),
    ("adadelta", {"weight_decay": 0.1, "eps": 1e-3, "maximize": True}),
    ("adam", {}),
    ("adam", {"weight_decay": 0.1, "amsgrad": True, "eps": 1e-3}),
    ("adam", {"maximize": True}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True, "maximize": True}),
    ("adamax", {}),
    ("adamax", {"weight_decay": 0.1, "maximize": True}),
    ("nadam", {}),
    ("nadam", {"weight_decay": 0.1}),
    ("nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("radam", {}),                                   # momentum steps, then rectified (t > 5)
    ("radam", {"weight_decay": 0.1, "betas": (0.9, 0.99)}),
    ("radam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("lion", {"lr": 0.01}),
    ("lion", {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
    ("schedulefree_adamw", {}),
    ("schedulefree_adamw", {"warmup_steps": 10, "weight_decay": 0.1}),
]
STEPS = 100
MAXULP = 4
FUSABLE = sorted({name for name, _ in CONFIGS})


def _params(rng, dtype, kind: str):
    """Arrays of many layouts: C, transposed (F), strided, reversed, 0-d, empty."""
    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    arrays = {
        "matrix": r(3, 4),
        "transposed": r(5, 3).T,                 # F-ordered view
        "strided": r(21)[::3],                   # every third element of a buffer
        "reversed": r(4, 6)[::-1, 1::2],         # negative and non-unit strides
        "scalar": np.asarray(r(1)[0]),           # 0-d
        "empty": r(0),
        "cube": r(2, 3, 4),
    }
    return arrays if kind == "dict" else list(arrays.values())


def _clone(params):
    """A copy with the same layouts (a transposed copy stays transposed)."""
    def copy(a):
        out = np.empty_like(a)                   # keeps C/F order of the source
        out[...] = a
        return out
    if isinstance(params, dict):
        return {k: copy(v) for k, v in params.items()}
    return [copy(v) for v in params]


def _assert_ulps(a, b, dtype, where: str) -> None:
    """``a`` and ``b`` within MAXULP units in the last place, else fail naming ``where``."""
    try:
        np.testing.assert_array_max_ulp(np.asarray(a), np.asarray(b), maxulp=MAXULP, dtype=dtype)
    except AssertionError as exc:
        raise AssertionError(f"{where}: {exc}") from None


def _values(params):
    return list(params.values()) if isinstance(params, dict) else list(params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("index", range(len(CONFIGS)),
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_fused_path_equals_readable_rule(index, dtype, cpu_backend, monkeypatch):
    name, hyper = CONFIGS[index]
    rng = np.random.default_rng(index)
    kind = "dict" if index % 2 == 0 else "list"
    readable_params = _params(rng, dtype, kind)
    fused_params = _clone(readable_params)
    readable = create(name, readable_params, fused=False, **hyper)
    fast = create(name, fused_params, fused=True, **hyper)
    calls = _spy(monkeypatch, type(fast))
    for step in range(1, STEPS + 1):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in _values(readable_params)]
        if kind == "dict":
            grads = dict(zip(readable_params, grads))
        readable.step(grads)
        fast.step(grads)
        for where, a, b in zip(readable.names, _values(readable_params), _values(fused_params)):
            _assert_ulps(a, b, dtype, f"{name} {hyper} {np.dtype(dtype).name}: {where} at "
                                      f"step {step}")
    assert len(calls) == STEPS * len(_values(fused_params)), "the fused path did not run"
    for s_read, s_fast in zip(readable.state, fast.state):
        assert set(s_read) == set(s_fast)
        for k in s_read:
            _assert_ulps(s_read[k], s_fast[k], dtype, f"{name} {hyper}: state {k!r}")
    moved = max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in
                zip(_values(fused_params), _values(_params(np.random.default_rng(index), dtype,
                                                           kind))))
    assert moved > 1e-4, "the parameters did not move: the comparison would be vacuous"


# The sweep's arrays are small, so it runs the single-threaded build of each loop;
# here one array big enough for the multi-threaded build, with the most options.
PARALLEL_CONFIGS = [max((c for c in CONFIGS if c[0] == name), key=lambda c: len(c[1]))
                    for name in FUSABLE]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("config", PARALLEL_CONFIGS, ids=[n for n, _ in PARALLEL_CONFIGS])
def test_multithreaded_loop_equals_readable_rule(config, dtype, cpu_backend):
    name, hyper = config
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal(fused.PARALLEL_MIN_SIZE + 3).astype(dtype)
    a, b = x0.copy(), x0.copy()
    readable = create(name, a, fused=False, **hyper)
    fast = create(name, b, fused=True, **hyper)
    for step in range(1, 8):                     # past RAdam's switch at t = 6
        g = rng.standard_normal(x0.shape).astype(dtype)
        readable.step(g)
        fast.step(g)
        _assert_ulps(a, b, dtype, f"{name} {hyper} {np.dtype(dtype).name} at step {step}")
    assert fast.fused_update is not None and b.size >= fused.PARALLEL_MIN_SIZE


def test_every_elementwise_optimizer_has_a_fused_kernel_and_is_swept():
    fusable = {cls for cls in REGISTRY.values() if cls.fused_update is not None}
    assert {cls for cls in REGISTRY.values() if cls.elementwise} <= fusable
    assert fusable == {REGISTRY[name] for name in FUSABLE}


# -- when the fused path runs --------------------------------------------------------


def _spy(monkeypatch, cls):
    calls = []
    original = cls.fused_update
    monkeypatch.setattr(cls, "fused_update",
                        lambda self, *a: (calls.append(a[0].size), original(self, *a))[1])
    return calls


def test_importing_gdlib_does_not_import_numba():
    """numba (0.3-1.3 s to import) loads only when the first array is fused."""
    code = ("import sys, numpy as np; from gdlib.optim import Adam; "
            "Adam(np.zeros(10)).step(np.ones(10)); print('numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, fused.ENV_VAR: "auto"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_auto_fuses_large_arrays_only(monkeypatch):
    monkeypatch.delenv(fused.ENV_VAR, raising=False)
    calls = _spy(monkeypatch, Adam)
    small, large = np.zeros(fused.MIN_SIZE - 1), np.zeros(fused.MIN_SIZE)
    opt = Adam([small, large])
    opt.step([np.ones_like(small), np.ones_like(large)])
    assert calls == [fused.MIN_SIZE]


@pytest.mark.parametrize("env, arg, fuses_small, fuses_large", [
    ("auto", None, False, True),
    ("0", None, False, False),
    ("1", None, True, True),
    ("1", False, False, False),
    ("0", True, True, True),
    ("auto", True, True, True),
])
def test_switches(monkeypatch, env, arg, fuses_small, fuses_large):
    monkeypatch.setenv(fused.ENV_VAR, env)
    calls = _spy(monkeypatch, SGD)
    small, large = np.zeros(10), np.zeros(fused.MIN_SIZE)
    opt = SGD([small, large], lr=0.1, momentum=0.9, fused=arg)
    opt.step([np.ones(10), np.ones(fused.MIN_SIZE)])
    assert calls == [10] * fuses_small + [fused.MIN_SIZE] * fuses_large


def test_bad_switches_say_what_to_use(monkeypatch):
    with pytest.raises(TypeError, match="fused must be None"):
        Adam(np.zeros(3), fused="yes")
    with pytest.raises(ValueError, match="float32 and float64"):
        Adam(np.zeros(3, dtype=np.float16), fused=True)
    opt = Adam(np.zeros(3))
    monkeypatch.setenv(fused.ENV_VAR, "sometimes")
    with pytest.raises(ValueError, match="GDLIB_FUSED='sometimes'.*0 .*1 .*auto"):
        Adam(np.zeros(3))
    opt.step(np.ones(3))                         # a step never raises for it: read as auto
    assert opt.t == 1


def test_gradient_of_another_dtype_takes_the_readable_rule(monkeypatch):
    calls = _spy(monkeypatch, Adam)
    a, b = np.ones(7, np.float32), np.ones(7, np.float32)
    fast, readable = Adam(a, fused=True), Adam(b, fused=False)
    g = np.linspace(-1, 1, 7)                    # float64 gradient for float32 parameters
    fast.step(g)
    readable.step(g)
    assert calls == []
    np.testing.assert_array_equal(a, b)


def test_a_refused_step_changes_nothing_on_the_fused_path():
    w, v = np.ones(5), np.ones(3)
    opt = Adam({"w": w, "v": v}, fused=True)
    opt.step({"w": np.ones(5), "v": np.ones(3)})
    before = (w.copy(), v.copy(), [dict((k, x.copy()) for k, x in s.items()) for s in opt.state])
    with pytest.raises(NonFiniteGradientError):
        opt.step({"w": np.ones(5), "v": np.array([1.0, np.nan, 1.0])})
    np.testing.assert_array_equal(w, before[0])
    np.testing.assert_array_equal(v, before[1])
    assert opt.t == 1
    for s, s0 in zip(opt.state, before[2]):
        for k in s:
            np.testing.assert_array_equal(s[k], s0[k])


def test_state_saved_on_one_path_continues_on_the_other():
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((20, 40))
    x, y = np.zeros(40), np.zeros(40)
    first = Adam(x, lr=0.01, amsgrad=True, fused=True)
    for g in grads[:10]:
        first.step(g)
    y[...] = x
    second = Adam(y, lr=0.01, amsgrad=True, fused=False)
    second.load_state_dict(first.state_dict())
    for g in grads[10:]:
        first.step(g)
        second.step(g)
    np.testing.assert_array_equal(x, y)


def test_replay_of_the_optax_fixture_on_the_fused_path():
    """Lion and schedule-free AdamW replay optax's trajectories with fused=True."""
    path = pathlib.Path(__file__).parent / "fixtures" / "optim_extra.npz"
    with np.load(path) as z:
        cases = [c for c in json.loads(str(z["cases"]))
                 if json.loads(str(z[f"{c}/meta"]))["optimizer"] in ("lion",
                                                                       "schedulefree_adamw")]
        assert cases
        for case in cases:
            meta = json.loads(str(z[f"{case}/meta"]))
            hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["hyper"].items()}
            x = z[f"{case}/x0"].copy()
            opt = create(meta["optimizer"], x, fused=True, **hyper)
            for k, (g, want) in enumerate(zip(z[f"{case}/grads"], z[f"{case}/params"])):
                opt.step(g.copy())
                err = np.max(np.abs(x - want)) / np.max(np.abs(want))
                assert err <= 1e-10, f"{case}: step {k + 1}, relative error {err:.2e}"


# -- the CUDA bodies, compiled as C++ and run on the CPU --------------------------------


def _cpp_source() -> str:
    parts = ["#include <cmath>", "#include <algorithm>", "using std::sqrt; using std::fabs;",
             "using std::max;", "#define __device__", fused.PREAMBLE]
    for k in fused.KERNELS.values():
        for T in ("float", "double"):
            params, binds = ["long n"], []
            for a in k.arrays[:-1]:
                name = a.rstrip("?")
                params.append(f"{T}* {name}_")
                binds.append(f"{T}* {name} = {name}_;" if a.endswith("?")
                             else f"{T}& {name} = {name}_[i];")
            g = k.arrays[-1]
            params.append(f"const {T}* {g}_")
            binds.append(f"const {T} {g} = {g}_[i];")
            params += [f"{T} {s}" for s in k.scalars] + [f"bool {f}" for f in k.flags]
            parts.append(
                f'extern "C" void {k.name}_{T}({", ".join(params)}) {{\n'
                f"    typedef {T} T;\n    for (long i = 0; i < n; ++i) {{\n"
                f"        {' '.join(binds)}\n{k.cuda}\n    }}\n}}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def cpp_kernels(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to check the CUDA bodies with")
    where = tmp_path_factory.mktemp("cuda_as_cpp")
    src, lib = where / "kernels.cpp", where / "kernels.so"
    src.write_text(_cpp_source())
    done = subprocess.run([cxx, "-std=c++14", "-O1", "-ffp-contract=off", "-Wall", "-Werror",
                           "-Wno-unused-variable", "-shared", "-fPIC", "-o", str(lib),
                           str(src)], capture_output=True, text=True)
    assert done.returncode == 0, f"a CUDA body does not compile as C++:\n{done.stderr[-3000:]}"
    return ctypes.CDLL(str(lib))


def _inputs(kernel, dtype, rng, n=101):
    arrays = [rng.uniform(0.1, 2.0, n).astype(dtype) for _ in kernel.arrays[:-1]]
    arrays[0] = rng.standard_normal(n).astype(dtype)               # p may be negative
    g = rng.standard_normal(n).astype(dtype)
    scalars = {s: float(rng.uniform(0.05, 0.95)) for s in kernel.scalars}
    return arrays, g, scalars


@pytest.mark.parametrize("name", sorted(fused.KERNELS))
def test_cuda_body_computes_what_the_cpu_loop_computes(name, cpp_kernels):
    """Every flag combination, both dtypes: the C++ reading of the CUDA body equals numba's."""
    kernel = fused.KERNELS[name]
    rng = np.random.default_rng(len(name))
    for dtype, T in ((np.float32, "float"), (np.float64, "double")):
        real = ctypes.c_float if T == "float" else ctypes.c_double
        fn = getattr(cpp_kernels, f"{name}_{T}")
        for flags in itertools.product((False, True), repeat=len(kernel.flags)):
            arrays, g, scalars = _inputs(kernel, dtype, rng)
            mine = [a.copy() for a in arrays]
            kernel(*arrays, g, **scalars, **dict(zip(kernel.flags, flags)))
            fn(ctypes.c_long(g.size), *[a.ctypes.data_as(ctypes.c_void_p) for a in mine],
               g.ctypes.data_as(ctypes.c_void_p),
               *[real(dtype(scalars[s])) for s in kernel.scalars],
               *[ctypes.c_bool(f) for f in flags])
            for label, want, got in zip(kernel.arrays, arrays, mine):
                np.testing.assert_array_equal(
                    got, want, err_msg=f"{name} {T} {label} flags {dict(zip(kernel.flags, flags))}")


def test_cupy_kernel_objects_build():
    """Where CuPy imports (even without a GPU), each ElementwiseKernel is constructed."""
    pytest.importorskip("cupy")
    for k in fused.KERNELS.values():
        k._gpu = None
        assert k.gpu() is not None, k.name


# -- on the GPU --------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("index", range(len(CONFIGS)),
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_gpu_fused_kernel_equals_gpu_readable_rule(index, gpu_backend):
    """The CuPy kernels (compiled with --fmad=false) against CuPy's readable rule."""
    name, hyper = CONFIGS[index]
    rng = np.random.default_rng(index)
    for dtype in (np.float32, np.float64):
        host = _params(rng, dtype, "list")
        a = [backend.asarray(_clone([h])[0]) for h in host]
        b = [backend.asarray(_clone([h])[0]) for h in host]
        readable = create(name, a, fused=False, **hyper)
        fast = create(name, b, fused=True, **hyper)
        for step in range(1, STEPS + 1):
            grads = [backend.asarray(rng.standard_normal(h.shape).astype(dtype)) for h in host]
            readable.step(grads)
            fast.step(grads)
            for x, y in zip(a, b):
                _assert_ulps(backend.to_host(x), backend.to_host(y), dtype,
                             f"{name} {hyper} step {step}")


# -- the benchmark runs (gdlib's side only: torch is not a dependency) ------------------


def test_benchmark_times_both_paths_without_torch(capsys):
    import importlib.util

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "optimizer_step.py"
    spec = importlib.util.spec_from_file_location("optimizer_step", path)
    bench = importlib.util.module_from_spec(spec)
    had_torch = "torch" in sys.modules
    spec.loader.exec_module(bench)
    rows = bench.main(["--sizes", "1e5", "--repeats", "1", "--no-torch"])
    out = capsys.readouterr().out
    assert [r["name"] for r in rows] == ["copy (numba)", "copy (NumPy, 1 core)",
                                         *bench.CASES]
    for r in rows[2:]:
        assert r["readable"] > 0 and r["fused"] > 0 and r["bw fused"] > 0
        assert "torch" not in r
    assert "fused/torch" in out and "bw fused" in out
    assert ("torch" in sys.modules) == had_torch, "--no-torch imported torch"

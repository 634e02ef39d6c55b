"""Backend selection: NumPy by default here, CuPy only when a GPU answers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from gdlib import backend


def test_cpu_is_numpy(cpu_backend):
    assert cpu_backend is np
    assert backend.device() == "cpu"
    assert backend.xp.zeros(3).__class__ is np.ndarray
    assert "NumPy" in backend.describe()


def test_unknown_device_name_is_a_clear_error():
    with pytest.raises(backend.BackendError, match="GDLIB_DEVICE='tpu' is not a device"):
        backend.use("tpu")


@pytest.mark.skipif(backend.gpu_available(), reason="this machine has a GPU")
def test_forcing_gpu_without_one_fails_at_selection():
    with pytest.raises(backend.BackendError, match="no GPU is usable"):
        backend.use("gpu")
    assert backend.device() == "cpu"  # the failed switch changed nothing


@pytest.mark.skipif(backend.gpu_available(), reason="this machine has a GPU")
def test_environment_variable_gpu_fails_at_import_with_the_reason():
    env = dict(os.environ, GDLIB_DEVICE="gpu")
    proc = subprocess.run(
        [sys.executable, "-c", "import gdlib"], env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "BackendError" in proc.stderr and "GDLIB_DEVICE=gpu" in proc.stderr


def test_environment_variable_cpu_selects_numpy():
    env = dict(os.environ, GDLIB_DEVICE="cpu")
    out = subprocess.run(
        [sys.executable, "-c", "import gdlib; print(gdlib.device())"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    assert out.strip() == "cpu"


def test_seeded_generator_is_reproducible(cpu_backend):
    a = backend.rng(7).standard_normal(5)
    b = backend.rng(7).standard_normal(5)
    np.testing.assert_array_equal(a, b)


def test_to_host_and_asarray_round_trip(cpu_backend):
    a = backend.asarray([1.0, 2.0])
    h = backend.to_host(a)
    assert isinstance(h, np.ndarray)
    np.testing.assert_array_equal(h, [1.0, 2.0])
    assert backend.to_host(3.5) == 3.5
    assert backend.array_module(h) is np


@pytest.mark.gpu
def test_gpu_backend_is_cupy(gpu_backend):
    import cupy

    assert gpu_backend is cupy
    assert backend.device() == "gpu"
    x = backend.xp.arange(4.0)
    assert isinstance(backend.to_host(x), np.ndarray)

"""Shared test set-up: a headless plotting backend, the GPU marker, both backends."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

from gdlib import backend  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    reason = f"no usable GPU: {backend._cupy()[1]}"
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cpu_backend():
    """Run a test on NumPy and restore the previous backend afterwards."""
    previous = backend.device()
    yield backend.use("cpu")
    backend.use(previous)


@pytest.fixture
def gpu_backend():
    """Run a test on CuPy (the test is skipped without a GPU)."""
    if not backend.gpu_available():
        pytest.skip(f"no usable GPU: {backend._cupy()[1]}")
    previous = backend.device()
    yield backend.use("gpu")
    backend.use(previous)

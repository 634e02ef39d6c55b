"""The training-speed benchmark runs its gdlib side (a smoke run, never importing torch).

``benchmarks/train_speed.py --quick --no-torch`` builds the four models of the
course on their real data, trains each for a few batches and prints the table.
PyTorch is not a dependency of the course, so the comparison itself is run by
hand (``make bench``); here only gdlib's side is exercised.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"


@pytest.fixture(scope="module")
def train_speed():
    spec = importlib.util.spec_from_file_location("train_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_speed"] = module          # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("train_speed", None)


def test_quick_run_times_every_model_in_gdlib_only(train_speed, capsys):
    had_torch = "torch" in sys.modules
    tasks = train_speed.main(["--quick", "--no-torch"])
    out = capsys.readouterr().out

    assert [t.name for t in tasks] == list(train_speed.TASKS)
    for t in tasks:
        assert t.n_batches == train_speed.QUICK_BATCHES
        assert t.n_params > 1000
        assert set(t.times) == {"gdlib"}, f"{t.name}: only gdlib is timed with --no-torch"
        assert 0 < t.times["gdlib"] < 60 and math.isfinite(t.times["gdlib"])
        assert t.loss_gap is None
    # the gdlib loops really train: a fresh epoch of the MLP gives a finite mean loss
    assert math.isfinite(tasks[0].gdlib_epoch())
    assert ("torch" in sys.modules) == had_torch, "the --no-torch run imported torch"

    assert "torch   : --no-torch: gdlib only" in out
    assert "gdlib/torch" in out
    for name in train_speed.TASKS:
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert row.split()[4] == "-", f"no torch time expected in {row!r}"


def test_only_selects_models_and_rejects_unknown_names(train_speed, capsys):
    tasks = train_speed.main(["--quick", "--no-torch", "--only", "mlp"])
    assert [t.name for t in tasks] == ["mlp"]
    with pytest.raises(SystemExit):
        train_speed.main(["--no-torch", "--only", "mlp,diffusion"])
    assert "unknown model(s) ['diffusion']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_speed.main(["--no-torch", "--threads", "0"])


def test_models_are_float32_and_the_default_dtype_is_restored(train_speed):
    from gdlib import nn

    old = nn.set_default_dtype("float64")
    try:
        tasks = train_speed.main(["--quick", "--no-torch", "--only", "cnn,rnn"])
        assert nn.get_default_dtype() == "float64"
    finally:
        nn.set_default_dtype(old)
    for t in tasks:
        dtypes = {str(p.dtype) for p in t.model.parameters().values()}
        assert dtypes == {"float32"}, f"{t.name}: {dtypes}"


# -- benchmarks/allreduce.py: MPI all-reduce and data-parallel steps -----------------------

ALLREDUCE = Path(__file__).resolve().parents[1] / "benchmarks" / "allreduce.py"


def test_allreduce_quick_run_fits_the_model_and_prints_ratios(capsys):
    from gdlib import distributed

    try:
        distributed.find_mpiexec()
    except distributed.MPIUnavailableError as exc:
        pytest.skip(str(exc))
    spec = importlib.util.spec_from_file_location("allreduce_bench", ALLREDUCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--quick"])
    text = capsys.readouterr().out

    assert out["alpha"] >= 0 and out["beta"] > 0 and math.isfinite(out["beta"])
    assert len(out["ratios"]) == len(out["allreduce"]["sizes"]) == 3
    assert all(r > 0 and math.isfinite(r) for r in out["ratios"])
    assert [row["K"] for row in out["steps"]] == [1, 2]
    assert out["steps"][0]["speedup"] == 1.0
    assert "MPI/model" in text and "meas/model" in text and "machine :" in text

"""Regenerate every reference fixture in tests/fixtures/ from PyTorch and optax.

Run with a Python that has ``numpy``, ``torch==2.13.0`` (CPU build), ``jax``,
``optax`` and ``pycocotools`` installed; the course itself needs none of them::

    python tools/make_reference_fixtures.py

Each script in ``tools/reference/`` writes its own compressed ``.npz`` file; this
runs them all, in order, and stops at the first failure.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["torch_optim.py", "extra_optim.py", "torch_schedules.py", "lars_lamb.py",
           "normalization.py", "averaging.py", "sam.py", "transformer.py",
           "muon_bf16.py", "coco_map.py"]


def main() -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is needed to regenerate the fixtures: pip install torch==2.13.0",
              file=sys.stderr)
        return 1
    for name in SCRIPTS:
        path = HERE / "reference" / name
        print(f"== {path.relative_to(HERE.parent)}")
        runpy.run_path(str(path), run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

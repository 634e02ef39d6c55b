"""What students must not see: hidden tests in feedback, and a class's own hidden tests.

- :class:`HideHiddenTests`: a feedback preprocessor that removes the hidden-test
  region of every test cell (nbgrader's ``ClearHiddenTests``) and, in those cells,
  shortens error tracebacks to their last line (the check's message), since a
  traceback quotes the failing line of the hidden test.
- :func:`merge_overlay`: the course repository is public, hidden tests included. A
  class that wants hidden tests of its own keeps them in a private folder outside the
  repository, ``GDLIB_HIDDEN_OVERLAY=DIR``, one file per test cell::

      DIR/<lesson>/<grade_id>.py      e.g. DIR/03-gradient-descent/ex1-test-value.py

  The file's code replaces the cell's public hidden-test region (or is added to the
  cell when it has none). ``tools/grading.py release`` merges the overlay into a copy
  of the lessons under ``grading/source/`` and releases from there, so the gradebook
  (which autograde uses to put back the test cells) holds the private tests; the
  student copies never contain them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"


class HideHiddenTests(ClearHiddenTests):
    """Feedback without the hidden tests' source (see the module docstring)."""

    def preprocess_cell(self, cell, resources, cell_index):
        removed = self._remove_hidden_test_region(cell)
        if removed and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        if removed and not is_grade(cell) and self.enforce_metadata:
            raise RuntimeError("Hidden test region detected in a non-grade cell")
        return cell, resources


def overlay_dir() -> Path | None:
    """``GDLIB_HIDDEN_OVERLAY`` as a folder, or None when unset."""
    value = os.environ.get("GDLIB_HIDDEN_OVERLAY", "").strip()
    if not value:
        return None
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise SystemExit(f"GDLIB_HIDDEN_OVERLAY={value!r} is not a folder: create it, one "
                         "<lesson>/<grade_id>.py file per test cell, or unset the variable")
    return folder


def with_hidden(source: str, hidden: str) -> str:
    """``source`` whose hidden-test region is ``hidden`` (added at the end if it has none)."""
    block = f"{BEGIN}\n{hidden.strip()}\n{END}"
    lines = source.split("\n")
    starts = [i for i, ln in enumerate(lines) if BEGIN in ln]
    ends = [i for i, ln in enumerate(lines) if END in ln]
    if starts and ends and ends[0] > starts[0]:
        indent = lines[starts[0]][: len(lines[starts[0]]) - len(lines[starts[0]].lstrip())]
        block = "\n".join(indent + ln if ln else ln for ln in block.split("\n"))
        return "\n".join(lines[: starts[0]] + [block] + lines[ends[0] + 1:])
    return source.rstrip("\n") + "\n" + block


def merge_overlay(lessons: Path, overlay: Path, out: Path, names: list[str]) -> list[str]:
    """Copy ``names`` from ``lessons`` to ``out`` with the overlay's hidden tests merged.

    Returns the ``lesson/grade_id`` of every cell changed. An overlay file whose
    ``grade_id`` is not a test cell of its lesson is an error (a typo would otherwise
    leave the public tests in place without a word).
    """
    changed = []
    for name in names:
        dest = out / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(lessons / name, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        files = {p.stem: p for p in (overlay / name).glob("*.py")} \
            if (overlay / name).is_dir() else {}
        seen = set()
        for path in sorted(dest.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in files and is_grade(cell) and cell.cell_type == "code":
                    cell.source = with_hidden(cell.source, files[grade_id].read_text())
                    seen.add(grade_id)
                    changed.append(f"{name}/{grade_id}")
            nbformat.write(nb, path)
        unknown = sorted(set(files) - seen)
        if unknown:
            raise SystemExit(f"GDLIB_HIDDEN_OVERLAY: {overlay / name} has files for "
                             f"{', '.join(unknown)}, which are not test cells of {name}")
    return changed

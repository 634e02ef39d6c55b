"""The lessons as stored: clean (no outputs), with well-formed nbgrader metadata,
and following the course's conventions (widgets from lesson 3 on, 2-5 exercises)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("*/*.ipynb")) if LESSONS.is_dir() else []

PART_ONE = [
    "00-setup/setup.ipynb",
    "01-calculus/calculus.ipynb",
    "02-history/history.ipynb",
    "03-gradient-descent/gradient_descent.ipynb",
    "04-learning-rate/learning_rate.ipynb",
    "05-landscapes/landscapes.ipynb",
    "06-stochastic/stochastic.ipynb",
    "07-momentum/momentum.ipynb",
    "08-adaptive/adaptive.ipynb",
    "09-adam/adam.ipynb",
    "10-schedules/schedules.ipynb",
    "11-beyond-first-order/beyond_first_order.ipynb",
]
PART_ONE_MIN_EXERCISES = 35

USES_WIDGETS = re.compile(r"gdlib\.widgets|from\s+gdlib\s+import\s+[^\n]*\bwidgets\b")


def ids(paths):
    return [str(p.relative_to(LESSONS)) for p in paths]


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def lesson_number(path: Path) -> int | None:
    m = re.match(r"(\d+)-", path.parent.name)
    return int(m.group(1)) if m else None


def exercises(nb) -> list:
    """An exercise is a code cell where the learner writes (an nbgrader solution cell)."""
    return [c for c in nb.cells if c.cell_type == "code" and meta(c).get("solution")]


notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))


def test_there_are_lessons():
    if not NOTEBOOKS:
        pytest.skip("no lessons yet")
    assert all(p.parent.parent == LESSONS for p in NOTEBOOKS)


@notebook
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; clear them "
        "(Kernel > Restart and Clear Outputs, then save) before committing"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@notebook
def test_nbgrader_metadata_is_well_formed(path):
    nb = nbformat.read(path, as_version=4)
    seen = {}
    for i, cell in enumerate(nb.cells):
        m = meta(cell)
        text = cell.source
        where = f"{path.name} cell {i}"
        if not m:
            assert "BEGIN SOLUTION" not in text, f"{where}: solution markers in an ordinary cell"
            assert "BEGIN HIDDEN TESTS" not in text, f"{where}: hidden tests outside a test cell"
            continue
        gid = m.get("grade_id")
        assert gid, f"{where}: nbgrader metadata without a grade_id"
        assert gid not in seen, f"{where}: grade_id {gid!r} already used by cell {seen[gid]}"
        seen[gid] = i
        assert m.get("schema_version") == 3, f"{where} ({gid}): schema_version must be 3"
        for key in ("grade", "solution", "locked"):
            assert isinstance(m.get(key), bool), f"{where} ({gid}): {key!r} must be true/false"
        if m["grade"] and not m["solution"]:  # a test cell
            assert cell.cell_type == "code", f"{where} ({gid}): a test cell must be code"
            points = m.get("points")
            assert isinstance(points, (int, float)) and points > 0, \
                f"{where} ({gid}): a test cell needs points > 0, got {points!r}"
            assert m["locked"], f"{where} ({gid}): a test cell must be locked"
        if m["solution"]:
            assert not m["locked"], f"{where} ({gid}): a solution cell must not be locked"
            if cell.cell_type == "code":
                begin = text.find("### BEGIN SOLUTION")
                end = text.find("### END SOLUTION")
                assert 0 <= begin < end, \
                    f"{where} ({gid}): needs ### BEGIN SOLUTION ... ### END SOLUTION"
                assert text.count("BEGIN SOLUTION") == text.count("END SOLUTION")
        else:
            assert "BEGIN SOLUTION" not in text, f"{where} ({gid}): markers in a non-solution cell"
        if "BEGIN HIDDEN TESTS" in text:
            assert m["grade"] and not m["solution"], \
                f"{where} ({gid}): hidden tests belong in a test cell"
            assert text.count("BEGIN HIDDEN TESTS") == text.count("END HIDDEN TESTS"), \
                f"{where} ({gid}): unbalanced HIDDEN TESTS markers"


def later_lessons():
    return [p for p in NOTEBOOKS if (lesson_number(p) or 0) >= 3]


@pytest.mark.parametrize("path", later_lessons(), ids=ids(later_lessons()))
def test_lessons_from_three_on_have_a_widget_and_two_to_five_exercises(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(USES_WIDGETS.search(src) for src in code), \
        f"{path.name}: no cell uses gdlib.widgets (an explorer)"
    n = len(exercises(nb))
    assert 2 <= n <= 5, f"{path.name}: {n} exercises (solution cells); the course wants 2-5"
    tests = [c for c in nb.cells if meta(c).get("grade") and not meta(c).get("solution")]
    assert len(tests) >= n, f"{path.name}: fewer test cells ({len(tests)}) than exercises ({n})"


def test_part_one_has_enough_exercises():
    missing = [p for p in PART_ONE if not (LESSONS / p).exists()]
    if missing:
        pytest.skip(f"part I is not complete yet (missing {', '.join(missing)})")
    total = sum(len(exercises(nbformat.read(LESSONS / p, as_version=4))) for p in PART_ONE)
    assert total >= PART_ONE_MIN_EXERCISES, f"part I has {total} graded exercises"

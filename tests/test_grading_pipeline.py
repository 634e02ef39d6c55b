"""The grading pipeline end to end, on a temporary copy of the course.

release (every lesson) -> submissions of five kinds -> autograde -> export, through
``tools/grading.py`` and nbgrader's command line, with no Jupyter server. The
submissions use the setup lesson (whose exercises this file knows) plus one more
lesson with exercises, so that a real lesson's tests are graded too:

- ``full``: the source notebooks (all solutions): full marks;
- ``blank``: the released copies, untouched: zero, and no crash;
- ``wrong``: exercise 1 of the setup answered with a flipped sign: loses exactly
  exercise 1's test-cell points, and the feedback names the sign;
- ``raises``: exercise 1's cell raises: loses exercise 1 only;
- ``loops``: exercise 2's cell loops forever: cut by the (short) cell time limit,
  loses exercise 2 only, and the students graded after it are still graded.
"""

from __future__ import annotations

import collections
import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import grading_helpers as helpers
import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
SETUP = "00-setup"
CELL_TIMEOUT = 10  # seconds; the loop submission waits this long once

pytestmark = pytest.mark.slow

REMOVED_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
STUB_LINES = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def has_exercises(lesson: Path) -> bool:
    for path in lesson.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        if any(nbgrader_meta(c).get("solution") for c in nb.cells):
            return True
    return False


def all_lessons(folder: Path = LESSONS) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and any(d.glob("*.ipynb"))) \
        if folder.is_dir() else []


def sample(folder: Path) -> list[str]:
    """The setup lesson plus the first other lesson that has exercises."""
    names = [SETUP]
    for lesson in all_lessons(folder):
        if lesson.name != SETUP and has_exercises(lesson):
            names.append(lesson.name)
            break
    return names


def notebook_path(root: Path, step: str, student: str, lesson: str) -> Path:
    base = root / "grading" / step
    folder = base / lesson if student == "." else base / student / lesson
    (path,) = folder.glob("*.ipynb")
    return path


def edit_solution(nb, grade_id: str, edit) -> None:
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            new = edit(cell.source)
            assert new != cell.source, f"the edit of {grade_id} changed nothing"
            cell.source = new
            return
    raise AssertionError(f"no cell {grade_id} in the setup lesson")


def run_tool(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GDLIB_COURSE_ROOT=str(root), GDLIB_CELL_TIMEOUT=str(CELL_TIMEOUT),
               GDLIB_DEVICE="cpu")
    env.pop("GDLIB_GRADING_DIR", None)
    return helpers.run_tool(root, *args, env=env, timeout=600)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A graded copy of the course: returns (root, sampled lessons, per-cell scores)."""
    if not (LESSONS / SETUP).is_dir():
        pytest.skip("the setup lesson does not exist yet")
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root)
    for lesson in all_lessons():
        shutil.copytree(lesson, root / "lessons" / lesson.name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    lessons = sample(root / "lessons")

    run_tool(root, "release")

    def submit(student, lesson, nb):
        folder = root / "grading" / "submitted" / student / lesson
        folder.mkdir(parents=True, exist_ok=True)
        name = notebook_path(root, "release", ".", lesson).name
        nbformat.write(nb, folder / name)

    for lesson in lessons:
        source = next((root / "lessons" / lesson).glob("*.ipynb"))
        submit("full", lesson, nbformat.read(source, as_version=4))
        submit("blank", lesson, nbformat.read(notebook_path(root, "release", ".", lesson), 4))

    setup_source = next((root / "lessons" / SETUP).glob("*.ipynb"))

    def variant(grade_id, edit):
        nb = nbformat.read(setup_source, as_version=4)
        edit_solution(nb, grade_id, edit)
        return nb

    submit("wrong", SETUP, variant("ex1-solution", lambda s: s.replace("return 2 * x",
                                                                         "return -2 * x")))
    submit("raises", SETUP, variant("ex1-solution", lambda s: "1 / 0\n" + s))
    submit("loops", SETUP, variant("ex2-solution", lambda s: "while True:\n    pass\n" + s))

    log = run_tool(root, "autograde")
    run_tool(root, "export")

    scores = helpers.gradebook_scores(root / "grading" / "gradebook.db")
    return root, lessons, scores, log


def total(cells: dict) -> tuple[float, float]:
    return sum(s for s, _ in cells.values()), sum(m for _, m in cells.values())


def lines_of(nb) -> collections.Counter:
    return collections.Counter(
        line.strip() for cell in nb.cells for line in cell.source.splitlines() if line.strip()
    )


def removed_lines(nb) -> collections.Counter:
    """The lines nbgrader must strip: solution regions and hidden tests (with markers)."""
    out = collections.Counter()
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        lines = [line.strip() for line in cell.source.splitlines()]
        if meta.get("solution") and not any("BEGIN SOLUTION" in ln for ln in lines):
            out.update(ln for ln in lines if ln)  # a whole-cell answer
            continue
        inside = False
        for ln in lines:
            if re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", ln):
                inside = True
            if inside and ln:
                out[ln] += 1
            if re.search(r"END (SOLUTION|HIDDEN TESTS)", ln):
                inside = False
    return out


def test_release_strips_solutions_and_hidden_tests(course):
    root, _, _, _ = course
    checked = 0
    for lesson in all_lessons(root / "lessons"):  # the copy: others may add lessons meanwhile
        source = nbformat.read(next((root / "lessons" / lesson.name).glob("*.ipynb")), 4)
        released = nbformat.read(notebook_path(root, "release", ".", lesson.name), 4)
        text = "\n".join(c.source for c in released.cells)
        for marker in REMOVED_MARKERS:
            assert marker not in text, f"{lesson.name}: {marker!r} left in the student copy"
        removed = removed_lines(source)
        if has_exercises(root / "lessons" / lesson.name):
            assert removed, f"{lesson.name}: exercises but no solution region found"
        have, had = lines_of(released), lines_of(source)
        for line, n in removed.items():
            if line in STUB_LINES:
                continue
            assert have[line] == had[line] - n, (
                f"{lesson.name}: the solution/hidden-test line {line!r} is still in the "
                "student copy"
            )
        src_ids = [nbgrader_meta(c).get("grade_id") for c in source.cells if nbgrader_meta(c)]
        rel_ids = [nbgrader_meta(c).get("grade_id") for c in released.cells if nbgrader_meta(c)]
        assert rel_ids == src_ids, f"{lesson.name}: graded cells differ in the student copy"
        for cell in released.cells:
            if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
                assert "raise NotImplementedError()" in cell.source
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
        checked += 1
    assert checked >= 1


def test_full_solutions_get_full_marks(course):
    _, lessons, scores, _ = course
    for lesson in lessons:
        got, most = total(scores[("full", lesson)])
        failed = [k for k, (s, m) in scores[("full", lesson)].items() if s < m]
        assert most > 0
        assert got == most, f"{lesson}: the solutions fail test cells {failed}"


def test_untouched_student_copy_scores_zero(course):
    root, lessons, scores, _ = course
    for lesson in lessons:
        got, most = total(scores[("blank", lesson)])
        passed = [k for k, (s, _) in scores[("blank", lesson)].items() if s > 0]
        assert got == 0 and most > 0, f"{lesson}: test cells pass with no answer: {passed}"
        assert notebook_path(root, "autograded", "blank", lesson).exists()


def exercise_points(cells: dict, prefix: str) -> float:
    return sum(m for k, (_, m) in cells.items() if k.startswith(prefix))


def check_loses_only(scores, student, exercise):
    cells = scores[(student, SETUP)]
    got, most = total(cells)
    lost = exercise_points(cells, exercise + "-")
    assert 0 < lost < most
    assert got == most - lost, f"{student}: {cells}"
    for grade_id, (score, max_score) in cells.items():
        expected = 0 if grade_id.startswith(exercise + "-") else max_score
        assert score == expected, f"{student}: {grade_id} scored {score}"


def test_one_wrong_answer_loses_exactly_that_exercise(course):
    root, _, scores, _ = course
    check_loses_only(scores, "wrong", "ex1")
    graded = nbformat.read(notebook_path(root, "autograded", "wrong", SETUP), 4)
    errors = [o.get("evalue", "") for c in graded.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert any("sign is flipped" in e for e in errors), errors


def test_a_cell_that_raises_loses_only_its_exercise(course):
    _, _, scores, _ = course
    check_loses_only(scores, "raises", "ex1")


def test_an_infinite_loop_is_cut_and_the_others_are_still_graded(course):
    root, _, scores, log = course
    check_loses_only(scores, "loops", "ex2")
    assert "Timeout" in log.stderr + log.stdout
    # students after "loops" in nbgrader's (sorted) order were graded too
    assert ("raises", SETUP) in scores and ("wrong", SETUP) in scores
    assert notebook_path(root, "autograded", "wrong", SETUP).exists()


def test_export_writes_every_score(course):
    root, lessons, scores, _ = course
    with open(root / "grading" / "grades.csv", newline="") as fh:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    for key, cells in scores.items():
        got, most = total(cells)
        assert float(rows[key]["score"]) == pytest.approx(got)
        assert float(rows[key]["max_score"]) == pytest.approx(most)
    assert {("full", lesson) for lesson in lessons} <= set(rows)


def test_a_resubmission_with_a_later_timestamp_is_graded_again(course):
    """Last in this file: it changes the ``wrong`` student's submission and grades again.

    The guide says: a submission whose ``timestamp.txt`` changed is graded again by a
    plain ``autograde``; unchanged ones are skipped.
    """
    root, _, scores, _ = course
    folder = root / "grading" / "submitted" / "wrong" / SETUP
    fixed = nbformat.read(next((root / "lessons" / SETUP).glob("*.ipynb")), 4)
    nbformat.write(fixed, next(folder.glob("*.ipynb")))
    (folder / "timestamp.txt").write_text("2030-01-01 10:00:00.000000 UTC")
    log = run_tool(root, "autograde").stdout
    assert "wrong 00-setup: graded" in log, log[-2000:]
    skipped = len(scores) - 1
    assert f"1 graded, 0 not graded, {skipped} skipped" in log, log[-2000:]
    again = helpers.gradebook_scores(root / "grading" / "gradebook.db")[("wrong", SETUP)]
    assert total(again)[0] == total(again)[1] > total(scores[("wrong", SETUP)])[0]

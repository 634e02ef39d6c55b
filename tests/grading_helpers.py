"""Helpers shared by the grading tests: run ``tools/grading.py``, read the gradebook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_tool(root: Path, *args: str, env: dict, timeout: float = 1200):
    """``tools/grading.py ARGS --course-root ROOT``; fails the test on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "grading.py"), *args, f"--course-root={root}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, f"grading.py {args} failed:\n{proc.stdout[-4000:]}\n" \
                                 f"{proc.stderr[-5000:]}"
    return proc


def gradebook_scores(db: Path) -> dict:
    """``{(student, lesson): {grade_id: (score, max_score)}}`` for every graded test cell."""
    old_path = os.environ["PATH"]
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + old_path  # alembic
    try:
        from nbgrader.api import Gradebook

        scores = {}
        with Gradebook(f"sqlite:///{db}") as gb:
            for assignment in gb.assignments:
                for sub in gb.assignment_submissions(assignment.name):
                    for nb in sub.notebooks:
                        for grade in nb.grades:
                            if grade.max_score > 0:
                                scores.setdefault((sub.student_id, assignment.name), {})[
                                    grade.name] = (grade.score, grade.max_score)
    finally:
        os.environ["PATH"] = old_path
    return scores

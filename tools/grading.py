"""Grade the course offline with nbgrader: release, autograde, feedback, export.

Usage (from the repository root, with the course's Python)::

    python tools/grading.py release   [LESSON ...]      # student copies -> grading/release/
    python tools/grading.py autograde [LESSON ...] [--student ID] [--force]
    python tools/grading.py feedback  [LESSON ...]      # HTML -> grading/feedback/
    python tools/grading.py export    [--to FILE]       # grades -> grading/grades.csv

Every command takes ``--course-root DIR`` (default: the repository) to grade a
copy of the course elsewhere. Lessons are the folders of ``lessons/`` that hold a
notebook; without names, every lesson is processed. Submissions go in
``grading/submitted/<student>/<lesson>/<notebook>.ipynb``.

The work is done by the ``nbgrader`` command line (run as ``python -m nbgrader``
with this Python), configured by ``nbgrader_config.py``; this wrapper lists the
lessons, points nbgrader at the right root and puts this environment's ``bin``
folder on ``PATH`` (nbgrader runs the ``alembic`` program from there to manage
the gradebook).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def lessons(root: Path) -> list[str]:
    """The lesson folders under ``root/lessons`` that contain a notebook, sorted."""
    folder = root / "lessons"
    return sorted(
        d.name for d in folder.iterdir()
        if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.ipynb"))
    ) if folder.is_dir() else []


def grading_dir(root: Path) -> Path:
    """Where release/, submitted/, ... and the gradebook live (see nbgrader_config.py)."""
    return root / os.environ.get("GDLIB_GRADING_DIR", "grading")


def environment(root: Path) -> dict:
    env = dict(os.environ)
    env["GDLIB_COURSE_ROOT"] = str(root)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def nbgrader(root: Path, *args: str, check: bool = True) -> int:
    """Run ``python -m nbgrader ARGS`` for the course at ``root``; return its exit code."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    # nbgrader reads nbgrader_config.py from the working folder and from the root;
    # a course copy without one is graded with this repository's.
    cwd = root if (root / "nbgrader_config.py").exists() else REPO
    print("+ nbgrader " + " ".join(cmd[3:]), flush=True)
    code = subprocess.call(cmd, cwd=cwd, env=environment(root))
    if check and code != 0:
        raise SystemExit(f"nbgrader {args[0]} failed (exit code {code}); see the log above.")
    return code


def course_config(root: Path):
    """The traitlets config that nbgrader reads for the course at ``root``."""
    from traitlets.config.loader import PyFileConfigLoader

    os.environ["GDLIB_COURSE_ROOT"] = str(root)
    folder = root if (root / "nbgrader_config.py").exists() else REPO
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


def add_assignments(root: Path, names: list[str]) -> None:
    """``nbgrader db assignment add NAME`` for each name, in one process."""
    from nbgrader.api import Gradebook

    os.environ["PATH"] = environment(root)["PATH"]  # the gradebook runs `alembic`
    cfg = course_config(root).CourseDirectory
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        for name in names:
            gb.update_or_create_assignment(name)
    print(f"gradebook {cfg.db_url}: assignments {', '.join(names)}")


def release(root: Path, names: list[str]) -> None:
    """Register each lesson in the gradebook and write its student copy."""
    todo = names or lessons(root)
    if not todo:
        raise SystemExit(f"no lessons with notebooks under {root / 'lessons'}")
    add_assignments(root, todo)
    if names:
        for name in names:
            nbgrader(root, "generate_assignment", name, "--force")
    else:  # one nbgrader run for every lesson
        nbgrader(root, "generate_assignment", "*", "--force")
    print(f"released {len(todo)} lesson(s) to {grading_dir(root) / 'release'}")


def submissions(root: Path, names: list[str], student: str | None) -> list[tuple[str, str]]:
    """``(student, lesson)`` pairs found under grading/submitted/."""
    sub = grading_dir(root) / "submitted"
    found = []
    if sub.is_dir():
        for sdir in sorted(p for p in sub.iterdir() if p.is_dir()):
            if student and sdir.name != student:
                continue
            for ldir in sorted(p for p in sdir.iterdir() if p.is_dir()):
                if (not names or ldir.name in names) and any(ldir.glob("*.ipynb")):
                    found.append((sdir.name, ldir.name))
    return found


def autograde(root: Path, names: list[str], student: str | None, force: bool) -> None:
    """Execute and score every submission into the gradebook.

    Each lesson is graded for all its students in one nbgrader run; a submission
    that fails to run (an error, a cell past the time limit) scores what its test
    cells earned and does not stop the others.
    """
    pairs = submissions(root, names, student)
    if not pairs:
        raise SystemExit(
            f"no submissions under {grading_dir(root) / 'submitted'}: expected "
            "<student>/<lesson>/<notebook>.ipynb"
        )
    failed = []
    for lesson in sorted({lesson for _, lesson in pairs}):
        args = ["autograde", lesson]
        if student:
            args.append(f"--student={student}")
        if force:
            args.append("--force")
        if nbgrader(root, *args, check=False) != 0:
            failed.append(lesson)
    print(f"autograded {len(pairs)} submission(s) into {grading_dir(root) / 'gradebook.db'}")
    if failed:
        raise SystemExit(f"nbgrader reported errors for: {', '.join(failed)} (see the log)")


def feedback(root: Path, names: list[str]) -> None:
    """Write HTML feedback for every autograded submission."""
    for name in names or lessons(root):
        if (grading_dir(root) / "autograded").is_dir():
            nbgrader(root, "generate_feedback", name, "--force", check=False)


def export(root: Path, to: Path | None) -> Path:
    """Write the gradebook as CSV, one row per student and lesson."""
    to = Path(to) if to else grading_dir(root) / "grades.csv"
    to.parent.mkdir(parents=True, exist_ok=True)
    nbgrader(root, "export", f"--to={to.resolve()}")
    print(f"grades written to {to}")
    return to


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["release", "autograde", "feedback", "export"])
    parser.add_argument("lessons", nargs="*", help="lesson folders (default: all)")
    parser.add_argument("--course-root", type=Path, default=REPO,
                        help="the course's root folder (default: this repository)")
    parser.add_argument("--student", help="autograde only this student")
    parser.add_argument("--force", action="store_true",
                        help="autograde again submissions already graded")
    parser.add_argument("--to", type=Path, help="export: the CSV file (default grading/grades.csv)")
    args = parser.parse_args(argv)
    root = args.course_root.resolve()
    if args.command == "release":
        release(root, args.lessons)
    elif args.command == "autograde":
        autograde(root, args.lessons, args.student, args.force)
    elif args.command == "feedback":
        feedback(root, args.lessons)
    else:
        export(root, args.to)


if __name__ == "__main__":
    main()

"""Grade a made-up class end to end, twice (-j 1 and -j 2), and print the table.

Usage (from the repository root)::

    .venv/bin/python tools/grade_class_demo.py [--lessons 00-setup 03-gradient-descent]
                                               [--jobs 1 2] [--keep DIR]

Four students hand in every lesson (or the ``--lessons`` given):

- ``perfect``: the source notebooks (every solution): full marks expected;
- ``blank``: the student copies, untouched: 0 expected;
- ``partial``: exercise 1 of each lesson solved, the rest untouched: in between;
- ``tricky``: the partial answers plus a cell of tricks before the first exercise
  (rebinding ``check_close`` and ``grading``, patching ``gdlib.grading.check_*``,
  an input transformer and an AST transformer that empty the test cells, a custom
  exception handler that swallows errors, patched ``numpy.allclose``): at most the
  partial score expected, lesson by lesson.

The course is copied to a temporary folder (or ``--keep DIR``), released once, and
graded once per ``--jobs`` value into its own copy of the grading folder; the script
prints one row per lesson, the totals, the wall time of each run, whether the runs
agree, and exits 1 when an expectation fails.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
STUDENTS = ("perfect", "blank", "partial", "tricky")

TRICKS = '''\
# Tricks that must not raise the score.
import ast, types
import numpy
import gdlib.grading as _g
_noop = lambda *args, **kwargs: None
for _name in ["check_close", "check_function", "check_shape", "check_true", "check_update_rule"]:
    getattr(_g, _name).__code__ = _noop.__code__
    setattr(_g, _name, _noop)
check_close = check_function = check_shape = check_true = check_update_rule = _noop
grading = types.SimpleNamespace(check_close=_noop, check_function=_noop, check_shape=_noop,
                                check_true=_noop, check_update_rule=_noop)
numpy.allclose = lambda *args, **kwargs: True
class _Empty(ast.NodeTransformer):
    def visit_Module(self, node):
        if "check_" in ast.dump(node):
            node.body = [ast.Pass()]
        return node
_ip = get_ipython()
_ip.ast_transformers.append(_Empty())
_ip.input_transformers_cleanup.append(
    lambda lines: ["pass\\n"] if any("check_" in line for line in lines) else lines)
_ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
'''


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def run(root: Path, *args: str, grading: str) -> float:
    """``tools/grading.py ARGS`` on the course at ``root``; its wall time."""
    env = dict(os.environ, GDLIB_GRADING_DIR=grading, GDLIB_DEVICE="cpu")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "grading.py"), *args,
                           f"--course-root={root}"], cwd=root, env=env,
                          capture_output=True, text=True)
    tail = [ln for ln in proc.stdout.splitlines() if ln.startswith(("autograde:", "not graded",
                                                                      "grades written"))]
    print("\n".join(tail), flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"grading.py {' '.join(args)} failed:\n{proc.stdout[-3000:]}"
                         f"\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def partial(source, released):
    """The released notebook with exercise 1's solution cells taken from the source."""
    nb = nbformat.from_dict(released)
    solved = {meta(c).get("grade_id"): c.source for c in source.cells
              if meta(c).get("solution") and str(meta(c).get("grade_id", "")).startswith("ex1-")}
    for cell in nb.cells:
        if meta(cell).get("grade_id") in solved:
            cell.source = solved[meta(cell)["grade_id"]]
    return nb


def tricky(nb):
    """``nb`` with the tricks in a new cell before its first solution cell."""
    nb = nbformat.from_dict(nb)
    first = next((i for i, c in enumerate(nb.cells) if meta(c).get("solution")), len(nb.cells))
    nb.cells.insert(first, nbformat.v4.new_code_cell(TRICKS))
    return nb


def build(root: Path, lessons: list[str]) -> None:
    (root / "lessons").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for name in lessons:
        shutil.copytree(REPO / "lessons" / name, root / "lessons" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


def submit(root: Path, grading: str, lessons: list[str]) -> None:
    for lesson in lessons:
        source_path = next((root / "lessons" / lesson).glob("*.ipynb"))
        source = nbformat.read(source_path, 4)
        released = nbformat.read(root / grading / "release" / lesson / source_path.name, 4)
        half = partial(source, released)
        notebooks = {"perfect": source, "blank": released, "partial": half,
                     "tricky": tricky(half)}
        for student, nb in notebooks.items():
            folder = root / grading / "submitted" / student / lesson
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / source_path.name)


def read_grades(path: Path) -> dict:
    with open(path, newline="") as fh:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", nargs="*", help="lesson folders (default: all)")
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2],
                        help="grade once with each of these -j values (default: 1 2)")
    parser.add_argument("--keep", type=Path, help="build the course here and keep it")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted(d.name for d in (REPO / "lessons").iterdir()
                                     if d.is_dir() and any(d.glob("*.ipynb")))
    root = args.keep or Path(tempfile.mkdtemp(prefix="gd-class-"))
    build(root, lessons)
    print(f"course with {len(lessons)} lesson(s) in {root}", flush=True)
    grades, times = {}, {}
    for jobs in args.jobs:
        grading = f"grading-j{jobs}"
        run(root, "release", grading=grading)
        submit(root, grading, lessons)
        times[jobs] = run(root, "autograde", "-j", str(jobs), grading=grading)
        run(root, "export", grading=grading)
        grades[jobs] = read_grades(root / grading / "grades.csv")

    first = grades[args.jobs[0]]
    failures = []
    print(f"\n{'lesson':<26}" + "".join(f"{s:>16}" for s in STUDENTS))
    sums = dict.fromkeys(STUDENTS, 0.0)
    most_total = 0.0
    for lesson in lessons:
        most = float(first[("perfect", lesson)]["max_score"])
        most_total += most
        cells = []
        for student in STUDENTS:
            row = first[(student, lesson)]
            score = float(row["score"]) if row["status"] == "graded" else float("nan")
            sums[student] += 0 if score != score else score
            cells.append(f"{score:g}/{most:g}" if row["status"] == "graded" else row["status"])
        print(f"{lesson:<26}" + "".join(f"{c:>16}" for c in cells))
        score = {s: float(first[(s, lesson)]["score"] or "nan") for s in STUDENTS}
        if score["perfect"] != most:
            failures.append(f"{lesson}: perfect scored {score['perfect']} of {most}")
        if score["blank"] != 0:
            failures.append(f"{lesson}: blank scored {score['blank']}")
        if not score["tricky"] <= score["partial"]:
            failures.append(f"{lesson}: tricky {score['tricky']} > partial {score['partial']}")
    print(f"{'total':<26}" + "".join(f"{sums[s]:>10g}/{most_total:g}" for s in STUDENTS))
    if not 0 < sums["partial"] < most_total:
        failures.append(f"partial total {sums['partial']} not strictly between 0 and "
                        f"{most_total}")
    for jobs in args.jobs:
        print(f"autograde -j {jobs}: {times[jobs]:.0f} s wall time "
              f"({len(lessons) * len(STUDENTS)} submissions)")
    for jobs in args.jobs[1:]:
        diff = [k for k in first if (first[k]["score"], first[k]["status"]) !=
                (grades[jobs].get(k, {}).get("score"), grades[jobs].get(k, {}).get("status"))]
        print(f"-j {jobs} gives the same grades as -j {args.jobs[0]}: {not diff}")
        if diff:
            failures.append(f"-j {jobs} differs from -j {args.jobs[0]} for {diff}")
    for failure in failures:
        print("UNEXPECTED:", failure)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

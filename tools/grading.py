"""Grade the course offline with nbgrader: release, autograde, feedback, export.

Usage (from the repository root, with the course's Python)::

    python tools/grading.py release   [LESSON ...]      # student copies -> grading/release/
    python tools/grading.py autograde [LESSON ...] [--student ID] [--force] [-j N]
                                      [--no-sandbox]
    python tools/grading.py feedback  [LESSON ...]      # HTML -> grading/feedback/
    python tools/grading.py export    [--to FILE]       # grades -> grading/grades.csv

Every command takes ``--course-root DIR`` (default: the repository) to grade a
copy of the course elsewhere. Lessons are the folders of ``lessons/`` that hold a
notebook; without names, every lesson is processed. Submissions go in
``grading/submitted/<student>/<lesson>/<notebook>.ipynb``.

The work is done by the ``nbgrader`` command line (run with this Python),
configured by ``nbgrader_config.py``; this wrapper lists the lessons, points
nbgrader at the right root and puts this environment's ``bin`` folder on ``PATH``
(nbgrader runs the ``alembic`` program from there to manage the gradebook).

Autograde grades each (student, lesson) in an nbgrader process of its own, ``-j N``
at a time (default: ``GRADE_JOBS``, else 1), its kernel in a bubblewrap sandbox
(``tools/grader``). A submission that cannot be graded (broken metadata, a dead
kernel) is reported as ``not graded: <reason>`` and the others are graded as usual;
``grading/status.json`` keeps each submission's status, which ``export`` writes in
a ``status`` column (``graded``, ``not graded: ...``, ``missing``). A submission is
graded again when its ``timestamp.txt`` (or, without one, its notebook) changed
since it was graded, or with ``--force``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "tools"
sys.path.insert(0, str(TOOLS))

from grader import privacy, sandbox  # noqa: E402


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
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS), env.get("PYTHONPATH")]))
    if env.get("MPLBACKEND", "").lower() == "agg":  # it would empty the figures
        del env["MPLBACKEND"]
    if privacy.overlay_dir() is not None:
        env["GDLIB_SOURCE_DIR"] = str(private_source(root).relative_to(root))
    # One BLAS thread per kernel: -j N gives the same numbers as -j 1.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def private_source(root: Path) -> Path:
    """Where the lessons merged with a private overlay of hidden tests are released from."""
    return grading_dir(root) / "source"


def nbgrader_command(root: Path, *args: str) -> tuple[list[str], Path]:
    """The command line (through the gradebook lock) and working folder for nbgrader ARGS."""
    cmd = [sys.executable, "-m", "grader.nbgrader_locked", *args,
           f"--CourseDirectory.root={root}"]
    # nbgrader reads nbgrader_config.py from the working folder and from the root;
    # a course copy without one is graded with this repository's.
    cwd = root if (root / "nbgrader_config.py").exists() else REPO
    return cmd, cwd


def nbgrader(root: Path, *args: str, check: bool = True) -> int:
    """Run nbgrader ARGS for the course at ``root``; return its exit code."""
    cmd, cwd = nbgrader_command(root, *args)
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
    overlay = privacy.overlay_dir()
    if overlay is not None:
        changed = privacy.merge_overlay(root / "lessons", overlay, private_source(root), todo)
        print(f"private hidden tests from {overlay}: {len(changed)} test cell(s) "
              f"({', '.join(changed) or 'none'})")
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


def status_path(root: Path) -> Path:
    return grading_dir(root) / "status.json"


def load_status(root: Path) -> dict:
    """``{"student/lesson": {"status": ..., "reason": ..., "signature": ...}}``."""
    path = status_path(root)
    return json.loads(path.read_text()) if path.exists() else {}


def signature(root: Path, student: str, lesson: str) -> str:
    """What identifies a submission: its ``timestamp.txt``, else its notebooks' contents."""
    folder = grading_dir(root) / "submitted" / student / lesson
    stamp = folder / "timestamp.txt"
    if stamp.exists():
        return "timestamp " + stamp.read_text().strip()
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.ipynb")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return "sha256 " + digest.hexdigest()


def failure_reason(log: str, code: int) -> str:
    """A one-line reason from nbgrader's log of a failed autograde: its last exception."""
    exceptions = re.findall(
        r"^\s*((?:[A-Za-z_][\w.]*)?(?:Error|Exception|Interrupt|Exit)\b:?[^\n]*)$", log, re.M)
    exceptions = [e.strip() for e in exceptions if not e.strip().startswith("Traceback")]
    if exceptions:
        return exceptions[-1][:300]
    generic = ("There was an error processing assignment", "Please see the", "Traceback",
               "Removing failed assignment", "nbgrader autograde failed")
    errors = [m.group(1).strip() for m in re.finditer(r"\| ERROR\][ \t]*(.+)", log)]
    errors = [e for e in errors if e and not e.startswith(generic)]
    return errors[0][:300] if errors else f"nbgrader exited with code {code}"


def broken_metadata(folder: Path) -> str | None:
    """Why nbgrader cannot grade the notebooks in ``folder`` (unreadable, duplicated ids)."""
    import nbformat

    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:  # not JSON, not a notebook
            return f"{path.name} cannot be read as a notebook ({type(err).__name__}: {err})"
        ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]
        dup = sorted({i for i in ids if i and ids.count(i) > 1})
        if dup:
            return (f"{path.name} has copies of graded cells ({', '.join(dup)}; copy-paste in "
                    "JupyterLab copies their metadata): delete the copies and grade again")
    return None


def grade_one(root: Path, student: str, lesson: str, timeout: float) -> tuple[str, str, str]:
    """Autograde one submission in its own nbgrader process: (status, reason, log)."""
    broken = broken_metadata(grading_dir(root) / "submitted" / student / lesson)
    if broken:  # nothing of an earlier grading of it stays, so that feedback is not stale
        shutil.rmtree(grading_dir(root) / "autograded" / student / lesson, ignore_errors=True)
        return "not graded", broken, ""
    cmd, cwd = nbgrader_command(root, "autograde", lesson, f"--student={student}", "--force")
    with tempfile.TemporaryFile("w+") as out:
        # In this process group, so that Ctrl-C stops it too; the sandboxed kernel ends
        # with it (bwrap --die-with-parent).
        proc = subprocess.Popen(cmd, cwd=cwd, env=environment(root), stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        out.seek(0)
        log = out.read()
    if code is None:
        reason = f"grading took longer than {timeout:.0f} s (GDLIB_SUBMISSION_TIMEOUT)"
        return "not graded", reason, log
    autograded = grading_dir(root) / "autograded" / student / lesson
    if code == 0 and any(autograded.glob("*.ipynb")):
        notes = []
        if "Timeout waiting for" in log or "CellTimeoutError" in log:
            notes.append("a cell hit the time limit (Timeout, GDLIB_CELL_TIMEOUT)")
        undone = sorted({m.group(1) for m in re.finditer(
            r"the grading guard put back (.+?) before", log)})
        if undone:
            notes.append("tampering undone before the test cells: " + "; ".join(undone))
        return "graded", "; ".join(notes), log
    return "not graded", failure_reason(log, code), log


def check_sandbox(no_sandbox: bool) -> None:
    """Refuse to grade without a working bubblewrap unless ``--no-sandbox`` was given."""
    if no_sandbox:
        os.environ["GDLIB_SANDBOX"] = "off"
        print("WARNING: --no-sandbox: the students' code runs with your rights", flush=True)
        return
    os.environ.setdefault("GDLIB_SANDBOX", "bwrap")
    if sandbox.mode() == "off":
        print("WARNING: GDLIB_SANDBOX=off: the students' code runs with your rights", flush=True)
        return
    if sandbox.bwrap_path() is None:
        raise SystemExit(sandbox.MISSING_BWRAP)
    probe = subprocess.run([sandbox.bwrap_path(), "--ro-bind", "/", "/", "--unshare-user",
                            "--unshare-pid", "--unshare-net", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise SystemExit(f"bwrap is installed but cannot create a sandbox here: "
                         f"{probe.stderr.strip()}. Allow unprivileged user namespaces "
                         "(sysctl kernel.unprivileged_userns_clone=1), or see --no-sandbox.")


def autograde(root: Path, names: list[str], student: str | None, force: bool,
              jobs: int = 1, no_sandbox: bool = False) -> dict:
    """Execute and score every submission into the gradebook; the status of each.

    Each (student, lesson) is graded by an nbgrader process of its own, ``jobs`` at a
    time; one that fails is reported as ``not graded: <reason>`` and does not stop or
    change the grading of the others. Submissions already graded are skipped unless
    they changed (``timestamp.txt`` or the notebook) or ``force`` is set.
    """
    check_sandbox(no_sandbox)
    pairs = submissions(root, names, student)
    if not pairs:
        raise SystemExit(
            f"no submissions under {grading_dir(root) / 'submitted'}: expected "
            "<student>/<lesson>/<notebook>.ipynb"
        )
    if jobs < 1:
        raise SystemExit(f"-j/--jobs={jobs}: expected 1 or more parallel gradings")
    status = load_status(root)
    todo, skipped = [], []
    for pair in pairs:
        key, sig = "/".join(pair), signature(root, *pair)
        old = status.get(key, {})
        if not force and old.get("status") == "graded" and old.get("signature") == sig:
            skipped.append(pair)
        else:
            todo.append((pair, sig))
    timeout = float(os.environ.get("GDLIB_SUBMISSION_TIMEOUT", "1800"))
    start = time.perf_counter()

    def work(item):
        (stu, lesson), sig = item
        t0 = time.perf_counter()
        state, reason, log = grade_one(root, stu, lesson, timeout)
        return stu, lesson, sig, state, reason, log, time.perf_counter() - t0

    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for stu, lesson, sig, state, reason, log, seconds in pool.map(work, todo):
            done += 1
            status[f"{stu}/{lesson}"] = {"status": state, "reason": reason, "signature": sig}
            status_path(root).write_text(json.dumps(status, indent=1, sort_keys=True))
            if os.environ.get("GDLIB_GRADING_VERBOSE"):
                print(log, flush=True)
            if state != "graded" and log:
                saved = grading_dir(root) / "logs" / f"{stu}-{lesson}.log"
                saved.parent.mkdir(exist_ok=True)
                saved.write_text(log)
                reason += f" (nbgrader's log: {saved})"
            line = f"[{done}/{len(todo)}] {stu} {lesson}: {state}"
            print(line + (f": {reason}" if reason else "") + f" ({seconds:.1f} s)", flush=True)
    failed = [(k, v["reason"]) for k, v in status.items()
              if v["status"] != "graded" and tuple(k.split("/")) in dict(todo)]
    for key, reason in failed:
        print(f"not graded: {key}: {reason}")
    print(f"autograde: {len(todo) - len(failed)} graded, {len(failed)} not graded, "
          f"{len(skipped)} skipped (already graded and unchanged; --force grades them again)"
          f" in {time.perf_counter() - start:.1f} s with -j {jobs}; "
          f"gradebook {grading_dir(root) / 'gradebook.db'}", flush=True)
    return status


def feedback(root: Path, names: list[str]) -> None:
    """Write HTML feedback for every autograded submission."""
    for name in names or lessons(root):
        if (grading_dir(root) / "autograded").is_dir():
            nbgrader(root, "generate_feedback", name, "--force", check=False)


def export(root: Path, to: Path | None) -> Path:
    """Write the grades as CSV, one row per student and lesson, with a ``status`` column.

    ``status`` is ``graded``, ``not graded: <reason>`` (``score`` left empty) or
    ``missing`` (no submission; ``score`` left empty).
    """
    to = Path(to) if to else grading_dir(root) / "grades.csv"
    to.parent.mkdir(parents=True, exist_ok=True)
    raw = to.with_name(to.name + ".nbgrader.csv")
    nbgrader(root, "export", f"--to={raw.resolve()}")
    status = load_status(root)
    with open(raw, newline="") as fh:
        rows = list(csv.DictReader(fh))
    # A submission refused before nbgrader saw it (broken metadata) may be its
    # student's only one: nbgrader's export does not know that student.
    known = {f"{r['student_id']}/{r['assignment']}" for r in rows}
    most = {r["assignment"]: r.get("max_score", "") for r in rows}
    for key in sorted(set(status) - known):
        student, lesson = key.split("/", 1)
        row = dict.fromkeys(rows[0] if rows else ["student_id", "assignment", "score"], "")
        row.update(student_id=student, assignment=lesson)
        if "max_score" in row:
            row["max_score"] = most.get(lesson, "")
        rows.append(row)
    grading = grading_dir(root)
    for row in rows:
        key = f"{row['student_id']}/{row['assignment']}"
        entry = status.get(key)
        if entry is None:  # not graded by this tool (nbgrader itself, an older version)
            if any((grading / "autograded" / key).glob("*.ipynb")):
                entry = {"status": "graded"}
            elif (grading / "submitted" / key).is_dir():
                entry = {"status": "not graded", "reason": "submitted, never autograded"}
        if entry is None:
            row["status"], row["score"] = "missing", ""
        elif entry["status"] == "graded":
            row["status"] = "graded"
        else:
            row["status"], row["score"] = f"not graded: {entry['reason']}", ""
    fields = (list(rows[0]) if rows else ["student_id", "assignment", "score", "status"])
    with open(to, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    raw.unlink()
    counts = {k: sum(r["status"].startswith(k) for r in rows)
              for k in ("graded", "not graded", "missing")}
    print(f"grades written to {to}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
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
    parser.add_argument("-j", "--jobs", type=int,
                        default=int(os.environ.get("GRADE_JOBS") or 1),
                        help="autograde: submissions graded in parallel (default GRADE_JOBS or 1)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="autograde without bubblewrap: the students' code runs with your "
                             "rights (only in a disposable account, container or VM)")
    parser.add_argument("--to", type=Path, help="export: the CSV file (default grading/grades.csv)")
    args = parser.parse_args(argv)
    root = args.course_root.resolve()
    if args.command == "release":
        release(root, args.lessons)
    elif args.command == "autograde":
        autograde(root, args.lessons, args.student, args.force, args.jobs, args.no_sandbox)
    elif args.command == "feedback":
        feedback(root, args.lessons)
    else:
        export(root, args.to)


if __name__ == "__main__":
    main()

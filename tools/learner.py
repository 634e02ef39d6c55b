"""The learner's own copies of the lessons, and the JupyterLab that opens them.

Usage (from the repository root, with the course's Python; ``make lab`` and friends
call these)::

    python tools/learner.py copies               # make the missing copies in my-lessons/
    python tools/learner.py fresh LESSON         # a new copy of LESSON, the old one backed up
    python tools/learner.py solutions LESSON     # print LESSON's solution cells
    python tools/learner.py lab [JUPYTER ARGS]   # copies, then JupyterLab on my-lessons/
    python tools/learner.py lab-config DIR       # write the learner's Jupyter config into DIR

A learner's copy is the exercise version of a lesson, the same as ``make release``
gives students: nbgrader's own preprocessors, with the course's ``nbgrader_config.py``,
replace each solution by the stub ``# YOUR CODE HERE`` / ``raise NotImplementedError()``,
remove the hidden tests and clear the outputs. It lands in
``my-lessons/<lesson>/<notebook>.ipynb`` (git ignores the folder), next to copies of
the lesson folder's other files. A copy that exists is never written again: a new
lesson (or a new file in a lesson) appears, work done stays.

The learner's JupyterLab runs with its own Jupyter config folder,
``my-lessons/.jupyter`` (``JUPYTER_CONFIG_DIR``), so that everything it writes (settings,
workspaces, checkpoints, kernel state) stays inside the ignored folder, and so that
nbgrader's instructor tools (create assignment, formgrader, course and assignment
lists) are switched off there; ``make instructor`` opens the sources with them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import course_config, grading_dir, lessons  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LEARNER_DIR = "my-lessons"
BACKUPS = "backups"
CONFIG_DIR = ".jupyter"

# nbgrader 0.9's JupyterLab plugins and server extensions meant for instructors (and
# for the assignment exchange, which a self-paced learner does not have). The
# learner's lab keeps only "validate-assignment", the student's Validate button.
LEARNER_DISABLED_PLUGINS = [
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
    # and JupyterLab's offer to fetch news from the internet: the course runs offline
    "@jupyterlab/apputils-extension:announcements",
]
INSTRUCTOR_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.assignment_list",
]


def is_material(rel: Path) -> bool:
    """False for what a lesson folder may hold that is not course material (caches,
    checkpoints, hidden files)."""
    return rel.suffix != ".pyc" and not any(
        part.startswith(".") or part == "__pycache__" for part in rel.parts)


def learner_dir(root: Path) -> Path:
    """``root/my-lessons``, where the learner's copies live."""
    return root / LEARNER_DIR


def check_lesson(root: Path, lesson: str) -> str:
    """``lesson`` if it names a lesson folder of ``root/lessons``, else a clear error."""
    known = lessons(root)
    if lesson not in known:
        said = f"LESSON={lesson!r} is not a lesson" if lesson else "LESSON is not set"
        raise SystemExit(
            f"{said}; name a folder of lessons/, e.g. LESSON=03-gradient-descent: "
            + ", ".join(known)
        )
    return lesson


def exercise_preprocessors(root: Path) -> list:
    """nbgrader's ``generate_assignment`` preprocessors, configured for the course.

    The same list, in the same order, as ``nbgrader generate_assignment`` runs, less
    ``SaveCells`` (which records the cells in the gradebook: a learner has none).
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import SaveCells

    folder = grading_dir(root)
    existed = folder.exists()
    config = course_config(root)
    if not existed and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()  # made by nbgrader_config.py for the gradebook, which a learner has not
    classes = GenerateAssignment.class_traits()["preprocessors"].default()
    return [cls(config=config) for cls in classes if cls is not SaveCells]


def exercise_version(path: Path, preprocessors: list) -> nbformat.NotebookNode:
    """The notebook at ``path`` as students get it: stubs, no hidden tests, no outputs."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    resources = {"metadata": {"path": str(path.parent)}, "nbgrader": {}}
    for preprocessor in preprocessors:
        nb, resources = preprocessor.preprocess(nb, resources)
    return nb


def make_copies(root: Path = REPO, only: list[str] | None = None) -> list[Path]:
    """Write the learner's copy of every lesson file that has none yet.

    Parameters
    ----------
    root : Path
        The course root (the repository); copies go to ``root/my-lessons``.
    only : list of str, optional
        Lesson folders to copy (default: every lesson).

    Returns
    -------
    list of Path
        The files written (empty when every copy already exists).
    """
    source, target = root / "lessons", learner_dir(root)
    preprocessors = None  # loaded on first need: nothing to do is instant
    written = []
    for lesson in only or lessons(root):
        for src in sorted((source / lesson).rglob("*")):
            rel = src.relative_to(source)
            if src.is_dir() or not is_material(rel):
                continue
            dst = target / rel
            if dst.exists():
                continue  # the learner's work: never overwritten
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.suffix == ".ipynb":
                preprocessors = preprocessors or exercise_preprocessors(root)
                nbformat.write(exercise_version(src, preprocessors), dst)
            else:
                shutil.copy2(src, dst)
            written.append(dst)
    return written


def fresh(root: Path, lesson: str) -> Path | None:
    """A new copy of ``lesson``; the old one moves to ``my-lessons/backups/<lesson>-<time>``.

    Returns the backup folder (None when there was no copy to back up).
    """
    check_lesson(root, lesson)
    current = learner_dir(root) / lesson
    backup = None
    if current.exists():
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = learner_dir(root) / BACKUPS / f"{lesson}-{stamp}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(current), str(backup))
    make_copies(root, [lesson])
    return backup


def solution_text(root: Path, lesson: str) -> str:
    """The solution cells of ``lesson``, each under its exercise's heading."""
    check_lesson(root, lesson)
    parts = []
    for path in sorted((root / "lessons" / lesson).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        heading = ""
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                titles = [line for line in cell.source.splitlines() if line.startswith("#")]
                heading = titles[0].lstrip("# ").strip() if titles else heading
            elif cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                code = "\n".join(
                    line for line in cell.source.splitlines()
                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
                )
                parts.append(f"# ---- {path.name}: {heading}\n{code.rstrip()}\n")
    if not parts:
        return f"{lesson} has no exercises.\n"
    return "\n".join(parts)


def write_lab_config(config_dir: Path, default_url: str | None = None) -> None:
    """The learner's Jupyter config in ``config_dir``: instructor tools off.

    Writes ``jupyter_server_config.json`` (nbgrader's instructor server extensions
    disabled, and the page JupyterLab opens, ``default_url``, when given) and
    ``labconfig/page_config.json`` (nbgrader's instructor JupyterLab plugins disabled).
    Other settings already in these files are kept.
    """
    def update(path: Path, change) -> None:
        data = json.loads(path.read_text()) if path.exists() else {}
        change(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")

    def server(data: dict) -> None:
        app = data.setdefault("ServerApp", {})
        app.setdefault("jpserver_extensions", {}).update(
            dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False))
        if default_url:  # `jupyter lab` sets its own, LabApp's, over the server's
            app["default_url"] = default_url
            data.setdefault("LabApp", {})["default_url"] = default_url

    def lab(data: dict) -> None:
        disabled = data.setdefault("disabledExtensions", {})
        disabled.update(dict.fromkeys(LEARNER_DISABLED_PLUGINS, True))

    update(config_dir / "jupyter_server_config.json", server)
    update(config_dir / "labconfig" / "page_config.json", lab)


def lab_command(root: Path, extra: list[str]) -> tuple[list[str], dict]:
    """The command and environment of the learner's JupyterLab (``make lab``)."""
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(learner_dir(root) / CONFIG_DIR)
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={learner_dir(root)}",
           *extra]
    return cmd, env


def lab(root: Path, extra: list[str]) -> None:
    """Make the missing copies, write the learner's config, then become JupyterLab."""
    written = make_copies(root)
    if written:
        print(f"made {len(written)} new file(s) in {learner_dir(root)}")
    write_lab_config(learner_dir(root) / CONFIG_DIR)
    cmd, env = lab_command(root, extra)
    print(f"opening your copies in {learner_dir(root)} (the originals stay in lessons/)",
          flush=True)
    os.execvpe(cmd[0], cmd, env)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", type=Path, default=REPO,
                        help="the course's root folder (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("copies", help="make the missing copies in my-lessons/")
    for name, text in (("fresh", "a new copy of one lesson"),
                       ("solutions", "print one lesson's solutions")):
        sub.add_parser(name, help=text).add_argument(
            "lesson", nargs="?", default="", help="a folder of lessons/, e.g. 03-gradient-descent")
    sub.add_parser("lab", help="JupyterLab on my-lessons/ (other arguments go to it)")
    cfg = sub.add_parser("lab-config", help="write the learner's Jupyter config")
    cfg.add_argument("dir", type=Path)
    cfg.add_argument("--default-url", help="the page JupyterLab opens, e.g. /lab/tree/my-lessons")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    root = args.course_root.resolve()
    if args.command == "copies":
        written = make_copies(root)
        print(f"{len(written)} new file(s) in {learner_dir(root)}")
    elif args.command == "fresh":
        backup = fresh(root, args.lesson)
        kept = f"; your old copy is in {backup}" if backup else ""
        print(f"fresh copy of {args.lesson} in {learner_dir(root) / args.lesson}{kept}")
    elif args.command == "solutions":
        print(solution_text(root, args.lesson), end="")
    elif args.command == "lab-config":
        write_lab_config(args.dir, args.default_url)
    else:
        lab(root, extra)


if __name__ == "__main__":
    main()

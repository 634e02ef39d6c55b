"""The learner's own copies (``tools/learner.py``, run by ``make lab`` and Binder's postBuild).

Each lesson's copy in ``my-lessons/`` is its exercise version: no solution and no hidden
test, nbgrader's stub in every solution cell, the visible tests and the prose
unchanged, no outputs; byte for byte what ``make release`` gives students. A copy is
made once and never written again; ``fresh`` backs the old one up. Everything here
works on temporary course folders, never on the checkout's ``my-lessons/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import learner  # noqa: E402

LESSONS = learner.lessons(REPO)
SMALL = "00-setup"  # the smallest lesson with exercises
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
STUB = re.compile(r"# YOUR CODE HERE\n\s*raise NotImplementedError\(\)")  # indented in a def


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def regions(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """The lines of ``source`` inside and outside the ``### begin`` / ``### end`` regions
    (the inside ones stripped, blank ones left out)."""
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if line.strip() in (f"### {begin}", f"### {end}"):
            within = line.strip() == f"### {begin}"
        elif within:
            inside += [line.strip()] if line.strip() else []
        else:
            outside.append(line)
    return inside, outside


def between(source: str, begin: str, end: str) -> list[str]:
    return regions(source, begin, end)[0]


def outside(source: str, begin: str, end: str) -> list[str]:
    return regions(source, begin, end)[1]


def visible_part(source: str) -> str:
    """A test cell as the learner sees it: everything outside the hidden-test region."""
    return "\n".join(outside(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")).strip()


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A course root with two real lessons (copied); nbgrader reads the repository's config."""
    # loading nbgrader_config.py sets GDLIB_COURSE_ROOT (and may drop MPLBACKEND): restored after
    monkeypatch.setenv("GDLIB_COURSE_ROOT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
    for lesson in (SMALL, "03-gradient-descent"):
        shutil.copytree(REPO / "lessons" / lesson, tmp_path / "lessons" / lesson)
    return tmp_path


@pytest.fixture(scope="module")
def every_copy(tmp_path_factory) -> Path:
    """The copies of every lesson of the repository, made in a temporary course root."""
    root = tmp_path_factory.mktemp("course")
    (root / "lessons").symlink_to(REPO / "lessons")  # read only: copies go to root/my-lessons
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GDLIB_COURSE_ROOT", str(root))
        mp.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
        written = learner.make_copies(root)
    assert written, "no copy was made"
    return root / learner.LEARNER_DIR


def pairs(copies: Path):
    """(lesson notebook, its copy) for every notebook of every lesson."""
    for lesson in LESSONS:
        for source in sorted((REPO / "lessons" / lesson).glob("*.ipynb")):
            yield source, copies / lesson / source.name


@pytest.mark.parametrize("lesson", LESSONS)
def test_copy_has_no_solution_and_no_hidden_test(every_copy, lesson):
    for source, copy in pairs(every_copy):
        if source.parent.name != lesson:
            continue
        assert copy.is_file(), f"no learner copy of {source.relative_to(REPO)}"
        text = copy.read_text()
        for marker in MARKERS:
            assert marker not in text, f"{copy.name} still holds {marker!r}"
        src_nb, copy_nb = (nbformat.read(p, as_version=4) for p in (source, copy))
        assert len(src_nb.cells) == len(copy_nb.cells)
        for i, (s, c) in enumerate(zip(src_nb.cells, copy_nb.cells)):
            where = f"{copy.name} cell {i}"
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{where} has outputs"
            meta = nbgrader_meta(s)
            if meta.get("solution") and s.cell_type == "code":
                assert STUB.search(c.source), f"{where}: nbgrader's stub is missing"
                # lines of the answer that are not also given outside the solution region
                given = {ln.strip() for ln in outside(s.source, "BEGIN SOLUTION", "END SOLUTION")}
                answer = set(between(s.source, "BEGIN SOLUTION", "END SOLUTION")) - given
                leaked = sorted(answer & {ln.strip() for ln in c.source.splitlines()})
                assert not leaked, f"{where} shows the solution: {leaked}"
            elif meta.get("grade") and s.cell_type == "code":
                assert c.source.strip() == visible_part(s.source), \
                    f"{where}: the visible tests must be kept as they are"
                hidden = set(between(s.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
                shown = {ln.strip() for ln in c.source.splitlines()}
                visible = {ln.strip() for ln in visible_part(s.source).splitlines()}
                assert not (hidden - visible) & shown, f"{where} shows hidden tests"
            elif meta.get("solution"):  # a written answer
                assert c.source == "YOUR ANSWER HERE", f"{where}: nbgrader's text stub"
            else:
                assert c.source == s.source, f"{where} changed, but it is not an exercise"


def test_every_lesson_with_exercises_has_stubs(every_copy):
    for source, copy in pairs(every_copy):
        n_solutions = sum(bool(nbgrader_meta(c).get("solution"))
                          for c in nbformat.read(source, as_version=4).cells
                          if c.cell_type == "code")
        assert copy.read_text().count("raise NotImplementedError()") >= n_solutions, copy.name


@pytest.mark.slow
def test_copy_is_what_nbgrader_releases(course):
    """The learner's copy of one lesson equals `make release`'s student copy, byte for byte."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "grading.py"), "release", SMALL,
         "--course-root", str(course)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    learner.make_copies(course, [SMALL])
    released = sorted((course / "grading" / "release" / SMALL).glob("*.ipynb"))
    assert released, "nbgrader released nothing"
    for path in released:
        mine = course / learner.LEARNER_DIR / SMALL / path.name
        assert mine.read_bytes() == path.read_bytes(), f"{mine.name} differs from the release"


def test_existing_copy_is_never_overwritten(course):
    first = learner.make_copies(course)
    assert {p.parent.name for p in first} == {SMALL, "03-gradient-descent"}
    assert not (course / "grading").exists(), "a learner's copies need no grading folder"
    mine = course / learner.LEARNER_DIR / SMALL / "setup.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[0].source = "my notes"
    nbformat.write(nb, mine)
    assert learner.make_copies(course) == [], "a second run must write nothing"
    assert nbformat.read(mine, as_version=4).cells[0].source == "my notes"


def test_a_new_lesson_and_a_deleted_file_appear(course):
    learner.make_copies(course)
    mine = course / learner.LEARNER_DIR / SMALL / "setup.ipynb"
    before = mine.read_bytes()
    shutil.copytree(REPO / "lessons" / "01-calculus", course / "lessons" / "01-calculus")
    lesson3 = course / learner.LEARNER_DIR / "03-gradient-descent" / "gradient_descent.ipynb"
    lesson3.unlink()
    written = learner.make_copies(course)
    new = course / learner.LEARNER_DIR / "01-calculus" / "calculus.ipynb"
    assert sorted(written) == sorted([new, lesson3])
    assert mine.read_bytes() == before


def test_lesson_files_are_copied_but_not_caches(course):
    folder = course / "lessons" / SMALL
    (folder / "data.csv").write_text("x,y\n1,2\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "plot.svg").write_text("<svg/>")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "setup-checkpoint.ipynb").write_text("{}")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    learner.make_copies(course, [SMALL])
    copy = course / learner.LEARNER_DIR / SMALL
    assert (copy / "data.csv").read_text() == "x,y\n1,2\n"
    assert (copy / "figures" / "plot.svg").read_text() == "<svg/>"
    assert not (copy / ".ipynb_checkpoints").exists()
    assert not (copy / "__pycache__").exists()


def test_fresh_copy_backs_up_the_old_one(course):
    learner.make_copies(course)
    mine = course / learner.LEARNER_DIR / SMALL / "setup.ipynb"
    pristine = mine.read_bytes()
    mine.write_text(mine.read_text().replace("raise NotImplementedError()", "return 2 * x", 1))
    backup = learner.fresh(course, SMALL)
    assert backup is not None and backup.parent == course / learner.LEARNER_DIR / learner.BACKUPS
    assert re.fullmatch(rf"{SMALL}-\d{{8}}-\d{{6}}", backup.name), backup.name
    assert "return 2 * x" in (backup / "setup.ipynb").read_text(), "the old work is lost"
    assert mine.read_bytes() == pristine, "the fresh copy is not the exercise version"
    other = course / learner.LEARNER_DIR / "03-gradient-descent" / "gradient_descent.ipynb"
    assert other.is_file(), "fresh must leave the other lessons alone"


def test_fresh_without_a_copy_just_makes_one(course):
    assert learner.fresh(course, SMALL) is None
    assert (course / learner.LEARNER_DIR / SMALL / "setup.ipynb").is_file()


@pytest.mark.parametrize("name", ["", "03-gradient", "../lessons"])
def test_unknown_lesson_is_a_clear_error(course, name):
    with pytest.raises(SystemExit) as err:
        learner.fresh(course, name)
    message = str(err.value)
    assert "LESSON" in message and "03-gradient-descent" in message


def test_solutions_show_the_answers_without_hidden_tests():
    text = learner.solution_text(REPO, SMALL)
    assert "Exercise 1" in text and "Exercise 2" in text
    assert "return 2 * x" in text and "return x - lr * g" in text
    assert not any(marker in text for marker in MARKERS)
    assert "check_function" not in text, "solutions must not include the test cells"


def test_lab_config_turns_off_the_instructor_tools(tmp_path):
    config = tmp_path / "cfg"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"some:plugin": True}}))
    learner.write_lab_config(config, default_url="/lab/tree/my-lessons")
    page = json.loads((config / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["some:plugin"] is True, "existing settings are kept"
    for plugin in ("create-assignment", "formgrader", "course-list"):
        assert page["disabledExtensions"][f"@jupyter/nbgrader:{plugin}"] is True
    assert "@jupyter/nbgrader:validate-assignment" not in page["disabledExtensions"]
    server = json.loads((config / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"][
        "nbgrader.server_extensions.formgrader"] is False
    assert server["ServerApp"]["default_url"] == server["LabApp"]["default_url"] \
        == "/lab/tree/my-lessons"


def test_lab_runs_inside_the_ignored_folder(tmp_path):
    cmd, env = learner.lab_command(tmp_path, ["--no-browser"])
    mine = tmp_path / learner.LEARNER_DIR
    assert f"--ServerApp.root_dir={mine}" in cmd and cmd[-1] == "--no-browser"
    assert Path(env["JUPYTER_CONFIG_DIR"]).is_relative_to(mine)


def test_git_ignores_what_the_learner_writes():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["my-lessons/03-gradient-descent/gradient_descent.ipynb",
             "my-lessons/.jupyter/lab/workspaces/default.jupyterlab-workspace",
             ".virtual_documents/x.py", "lessons/00-setup/.ipynb_checkpoints/s.ipynb"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO,
                          capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(paths)


def test_make_lab_and_binder_use_the_learner_copies():
    makefile = (REPO / "Makefile").read_text()
    lab_recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "tools/learner.py lab" in lab_recipe
    assert re.search(r"^instructor:", makefile, re.M), "make instructor is missing"
    post_build = (REPO / "postBuild").read_text()
    assert "tools/learner.py copies" in post_build and "lab-config" in post_build
    assert os.access(REPO / "postBuild", os.X_OK), "Binder runs postBuild only if executable"

"""Run a lesson once, then try the mistakes learners make against its visible tests.

Every lesson has a module ``tests/lessons/test_<NN>_<name>.py`` that sets

- ``LESSON``: the lesson folder (``"03-gradient-descent"``), and
- ``WRONG``: a list of :class:`Wrong` answers, at least three per exercise.

and imports the tests of this module (``from harness import *``). The lesson is
executed top to bottom **once** per module, in one kernel (this is the check that
it runs, with the learner's inline figures); each wrong answer is then defined in
that kernel in place of the solution, the exercise's *visible* tests are run (the
hidden ones stripped, as in the learner's copy), and the solution is put back. So
a variant costs a few test cells, never a whole notebook.

What each lesson must show:

- it runs top to bottom, and no test cell writes to standard error (nbgrader fails
  such a cell even when its checks pass);
- the points an exercise's heading announces equal the points of its test cells;
- a test cell never uses a name that only another test cell defines;
- an unsolved exercise (nbgrader's stub) fails its first visible test with a
  message that names the function to write, without a traceback;
- each wrong answer fails a visible test, and the first failure's message matches
  the answer's ``expect`` patterns (it names the mistake), without a traceback
  through the library.
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                    re.S | re.M)
SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*",
                      re.S | re.M)
POINTS = re.compile(r"^#+\s*Exercise\s+(\d+)\b.*\((\d+)\s+points?\)", re.M)
CELL_TIMEOUT = int(os.environ.get("GDLIB_CELL_TIMEOUT", "180"))

__all__ = [
    "Wrong",
    "test_lesson_runs_top_to_bottom",
    "test_test_cells_write_nothing_to_stderr",
    "test_announced_points_equal_awarded_points",
    "test_test_cells_do_not_depend_on_each_other",
    "test_every_exercise_has_three_wrong_answers",
    "test_unsolved_exercise_names_the_function",
    "test_wrong_answer_is_caught_and_named",
]


@dataclass(frozen=True)
class Wrong:
    """A typical wrong answer to one exercise.

    Parameters
    ----------
    exercise : str
        The exercise's prefix in the grade ids (``"ex1"``).
    mistake : str
        The mistake in a few words (``"steps uphill: + instead of -"``); the test id.
    code : str
        The learner's wrong cell: it defines the exercise's function(s).
    expect : tuple of str
        Regular expressions (case-insensitive) that the first failure message must
        all match: words that name *this* mistake ("sign", "learning rate ...
        twice"), not words every failure has.
    named : bool
        False for a mistake that the tests catch but cannot tell apart from others
        (its message only says what differs); such answers are counted by the
        summary test, which wants at least 80 % named.
    """

    exercise: str
    mistake: str
    code: str
    expect: tuple[str, ...] = field(default_factory=tuple)
    named: bool = True

    def __post_init__(self):
        if isinstance(self.expect, str):
            object.__setattr__(self, "expect", (self.expect,))
        if self.named and not self.expect:
            raise ValueError(f"{self.mistake}: a named mistake needs `expect` patterns")

    @property
    def id(self) -> str:
        return f"{self.exercise}-{re.sub(r'[^A-Za-z0-9]+', '-', self.mistake).strip('-')}"


# -- the notebook's structure ---------------------------------------------------------


def notebook_path(lesson: str) -> Path:
    found = sorted((LESSONS / lesson).glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one notebook in lessons/{lesson}, found {found}")
    return found[0]


def _grade(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercises(nb) -> dict[str, dict]:
    """``{"ex1": {"solution": [i], "tests": [i, ...], "points": n, "text": i}}``."""
    out: dict[str, dict] = {}
    for i, cell in enumerate(nb.cells):
        gid = _grade(cell).get("grade_id", "")
        m = re.match(r"(ex\d+)-", gid)
        if not m:
            continue
        ex = out.setdefault(m.group(1), {"solution": [], "tests": [], "points": 0,
                                         "text": None})
        meta = _grade(cell)
        if meta.get("solution") and cell.cell_type == "code":
            ex["solution"].append(i)
        elif meta.get("grade") and cell.cell_type == "code":
            ex["tests"].append(i)
            ex["points"] += meta.get("points", 0)
        elif gid.endswith("-text"):
            ex["text"] = i
    return out


def visible(source: str) -> str:
    """A test cell as the learner's copy has it: hidden tests removed."""
    return HIDDEN.sub("", source)


def stub(source: str) -> str:
    """A solution cell as the learner's copy has it (nbgrader's stub)."""
    return SOLUTION.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}"
                        "raise NotImplementedError()", source)


def defined_functions(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def error_text(outputs) -> str | None:
    """The first error's text as the learner reads it (no ANSI colours), or None."""
    for out in outputs:
        if out.get("output_type") == "error":
            text = "\n".join(out.get("traceback") or []) or f"{out['ename']}: {out['evalue']}"
            return ANSI.sub("", text)
    return None


# -- one kernel per lesson --------------------------------------------------------------


class LessonRun:
    """A lesson executed once in a live kernel, ready for variants."""

    def __init__(self, lesson: str):
        from nbclient import NotebookClient

        self.lesson = lesson
        self.path = notebook_path(lesson)
        self.nb = nbformat.read(self.path, as_version=4)
        self.exercises = exercises(self.nb)
        self.client = NotebookClient(
            self.nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
            resources={"metadata": {"path": str(self.path.parent)}},
        )
        self._ctx = None
        self.failure: str | None = None
        self.seconds = 0.0

    def start(self) -> LessonRun:
        env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline",
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        self._ctx = self.client.setup_kernel(env=env)
        self._ctx.__enter__()
        start = time.perf_counter()
        for i, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            self.client.execute_cell(cell, i)
            err = error_text(cell.outputs)
            if err:
                self.failure = f"cell {i} raised:\n{err[-3000:]}"
                break
        self.seconds = time.perf_counter() - start
        # nbclient stores each executed cell at its index: variants use one slot past
        # the lesson's last cell.
        self.scratch = len(self.nb.cells)
        self.nb.cells.append(nbformat.v4.new_code_cell(""))
        return self

    def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None

    def run(self, source: str) -> list:
        """Execute ``source`` in the lesson's kernel; return its outputs."""
        cell = nbformat.v4.new_code_cell(source)
        self.client.execute_cell(cell, self.scratch)
        return cell.outputs

    def exercise_cells(self, ex: str) -> list[int]:
        """The code cells from the exercise's solution to its last test cell."""
        info = self.exercises[ex]
        first, last = min(info["solution"]), max(info["tests"])
        return [i for i in range(first, last + 1) if self.nb.cells[i].cell_type == "code"]

    def try_solution(self, ex: str, replacement: str) -> tuple[str | None, int | None]:
        """Run the exercise with ``replacement`` for its solution cell(s).

        Returns the first failing visible test cell's message and index, or
        ``(None, None)`` when every visible test passes (or the replacement
        itself fails to run: then its error and the solution index are returned).
        The solution is put back afterwards.
        """
        info = self.exercises[ex]
        sol = info["solution"]
        try:
            for i in self.exercise_cells(ex):
                cell = self.nb.cells[i]
                if i in sol:
                    if i != sol[0]:
                        continue
                    err = error_text(self.run(replacement))
                    if err:
                        return err, i
                elif i in info["tests"]:
                    err = error_text(self.run(visible(cell.source)))
                    if err:
                        return err, i
                else:
                    self.run(cell.source)
            return None, None
        finally:
            for i in self.exercise_cells(ex):
                if i not in info["tests"]:
                    self.run(self.nb.cells[i].source)


_RUNS: dict[str, LessonRun] = {}


@pytest.fixture(scope="module")
def lesson(request):
    run = LessonRun(request.module.LESSON)
    try:
        run.start()
        print(f"\n{run.lesson}: executed in {run.seconds:.1f} s")
        yield run
    finally:
        run.stop()


def _need_run(lesson: LessonRun) -> None:
    if lesson.failure:
        pytest.skip(f"the lesson does not run: {lesson.failure.splitlines()[0]}")


# -- the tests every lesson module imports ---------------------------------------------


def test_lesson_runs_top_to_bottom(lesson):
    assert lesson.failure is None, f"{lesson.path.name}: {lesson.failure}"


def test_test_cells_write_nothing_to_stderr(lesson):
    _need_run(lesson)
    noisy = []
    for info in lesson.exercises.values():
        for i in info["tests"]:
            for out in lesson.nb.cells[i].outputs:
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    noisy.append((i, _grade(lesson.nb.cells[i])["grade_id"], out["text"][:200]))
    assert not noisy, f"test cells that write to stderr (nbgrader scores them 0): {noisy}"


def test_announced_points_equal_awarded_points(request):
    nb = nbformat.read(notebook_path(request.module.LESSON), as_version=4)
    wrong = []
    for ex, info in exercises(nb).items():
        text = nb.cells[info["text"]].source if info["text"] is not None else ""
        m = POINTS.search(text)
        if not m:
            wrong.append(f"{ex}: its heading announces no points ('(N points)')")
        elif int(m.group(2)) != info["points"]:
            wrong.append(f"{ex}: the heading says {m.group(2)} points, the test cells "
                         f"award {info['points']}")
    assert not wrong, "; ".join(wrong)


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names assigned, names read) at any depth of a cell."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    stored, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stored if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
    return stored, loaded


def test_test_cells_do_not_depend_on_each_other(request):
    nb = nbformat.read(notebook_path(request.module.LESSON), as_version=4)
    tests = {i for info in exercises(nb).values() for i in info["tests"]}
    elsewhere: set[str] = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and i not in tests:
            elsewhere |= _names(cell.source)[0]
    problems = []
    defined_by_tests: dict[str, int] = {}
    for i in sorted(tests):
        stored, loaded = _names(nb.cells[i].source)
        for name in sorted(loaded - stored - elsewhere):
            if name in defined_by_tests:
                problems.append(f"cell {i} uses `{name}`, defined only in test cell "
                                f"{defined_by_tests[name]}")
        for name in stored - elsewhere:
            defined_by_tests.setdefault(name, i)
    assert not problems, "; ".join(problems)


def test_every_exercise_has_three_wrong_answers(request):
    nb = nbformat.read(notebook_path(request.module.LESSON), as_version=4)
    counts = {ex: 0 for ex in exercises(nb)}
    for w in request.module.WRONG:
        assert w.exercise in counts, f"{w.id}: no exercise {w.exercise} in the lesson"
        counts[w.exercise] += 1
    few = {ex: n for ex, n in counts.items() if n < 3}
    assert not few, f"exercises with fewer than 3 wrong answers: {few}"


def _no_library_traceback(message: str, what: str) -> None:
    assert "Traceback" not in message and "gdlib/grading.py" not in message, (
        f"{what}: the learner sees a traceback through the library:\n{message[:1500]}")


def test_unsolved_exercise_names_the_function(lesson, exercise):
    _need_run(lesson)
    sol = lesson.nb.cells[lesson.exercises[exercise]["solution"][0]].source
    names = defined_functions(sol)
    message, _ = lesson.try_solution(exercise, stub(sol))
    assert message is not None, f"{exercise}: the unsolved exercise passes its visible tests"
    first = message.strip().splitlines()[0] if message.strip() else message
    assert re.search(r"not (written|done) yet", message, re.I), (
        f"{exercise}: the unsolved exercise's message does not say so:\n{message[:1500]}")
    assert not names or any(f"`{n}`" in message or n in first for n in names), (
        f"{exercise}: the message does not name the function to write ({names}):\n"
        f"{message[:800]}")
    print(f"\n{exercise} unsolved:\n{message}")
    _no_library_traceback(message, exercise)


def test_wrong_answer_is_caught_and_named(lesson, wrong):
    _need_run(lesson)
    message, where = lesson.try_solution(wrong.exercise, wrong.code)
    assert message is not None, (
        f"{wrong.id}: this wrong answer passes every visible test of {wrong.exercise}")
    sol = lesson.exercises[wrong.exercise]["solution"]
    assert where not in sol, f"{wrong.id}: the wrong answer itself does not run:\n{message}"
    print(f"\n{wrong.id} -> cell {where}:\n{message}")  # what the learner reads (-s shows it)
    _no_library_traceback(message, wrong.id)
    missing = [p for p in wrong.expect if not re.search(p, message, re.I | re.S)]
    assert not missing, (
        f"{wrong.id}: the first failing test (cell {where}) does not name the mistake "
        f"(patterns {missing} not found). The learner reads:\n{message[:1500]}")


def pytest_generate_tests(metafunc):
    """Parametrize ``wrong`` over the module's WRONG and ``exercise`` over its exercises."""
    module = metafunc.module
    if "wrong" in metafunc.fixturenames:
        metafunc.parametrize("wrong", module.WRONG, ids=[w.id for w in module.WRONG])
    if "exercise" in metafunc.fixturenames:
        nb = json.loads(notebook_path(module.LESSON).read_text())
        names = sorted({m.group(1) for c in nb["cells"]
                        for m in [re.match(r"(ex\d+)-", _grade(c).get("grade_id", ""))] if m},
                       key=lambda e: int(e[2:]))
        metafunc.parametrize("exercise", names)

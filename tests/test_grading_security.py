"""Attacks on the grader, each tried on a temporary course: none raises a score.

One release of a sample of lessons (the setup lesson, 03 and 09), then one
``autograde -j 2`` run of honest students and attackers:

- honest: ``full`` (the solutions), ``blank`` (the student copy), ``wrong`` (the
  setup lesson with exercise 1's sign flipped: loses exercise 1's points);
- attackers: the ``wrong`` answer plus code, in the solution cell, that tries to
  raise its score: read the sources (solutions, hidden tests) and run them; write
  the gradebook; kill the grader and every process it can see; rebind the helpers
  (``check_close``, ``grading``, the notebook's ``slopes_at``); patch
  ``gdlib.grading.check_*`` (functions and code objects); an input transformer and
  an AST transformer that empty the test cells; try/except around every cell (an
  input transformer, ``set_custom_exc`` with a silent ``showtraceback``, a patched
  ``run_cell``); patched ``numpy``/``math``/``builtins``; ``os._exit``; a duplicated
  test cell; a network connection;
- library calls: lesson 03's loop and lesson 09's Adam, AMSGrad and AdamW written
  as calls to gdlib (or to the notebook's ``reference_*`` helpers).

Each attacker scores no more than ``wrong`` (the honest score of the same answer),
the library calls score 0 on those exercises, the broken submissions are reported
``not graded`` while the others are graded, and the honest students' scores are
what they should be. Privacy is checked on the same run: a private overlay of
hidden tests (``GDLIB_HIDDEN_OVERLAY``) is used by autograde and appears in no
student copy or feedback file, the feedback has no hidden-test source, and the
autograded notebooks keep their figures.
"""

from __future__ import annotations

import csv
import html as html_module
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import gradebook_scores, run_tool

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
SETUP, GD_LESSON, ADAM = "00-setup", "03-gradient-descent", "09-adam"
SAMPLE = [SETUP, GD_LESSON, ADAM]

pytestmark = pytest.mark.slow

# Code appended to the setup lesson's exercise-1 solution cell (after the wrong df).
ATTACKS = {
    "read_sources": '''
import glob, json, socket
found = sorted(set(glob.glob("{root}/lessons/*/*.ipynb") + glob.glob("../../../*/*/*.ipynb")
                   + glob.glob("../../../../lessons/*/*.ipynb") + glob.glob("../../*/*/*.ipynb")
                   + glob.glob("{root}/grading/source/*/*.ipynb")))
found = [p for p in found if os.path.abspath(p) != os.path.abspath("setup.ipynb")]
print("sources found:", found)
for path in found:
    for cell in json.load(open(path))["cells"]:
        if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
            exec("".join(cell["source"]), globals())
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("network: OPEN")
except OSError as err:
    print("network: blocked", type(err).__name__)
''',
    "write_gradebook": '''
import glob, sqlite3
for db in set(glob.glob("{root}/grading/*.db") + glob.glob("../../../*.db")):
    con = sqlite3.connect(db)
    con.execute("UPDATE grade SET auto_score = 0, manual_score = 0")
    con.commit()
    print("gradebook written:", db)
''',
    "kill": '''
import signal
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError as err:
    print("kill parent:", err)
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError as err:
            print("kill", pid, err)
''',
    "rebind_helpers": '''
import types
_noop = lambda *args, **kwargs: None
check_close = check_function = check_shape = check_true = check_update_rule = _noop
grading = types.SimpleNamespace(check_close=_noop, check_function=_noop, check_shape=_noop,
                                check_true=_noop, check_update_rule=_noop)
slopes_at = lambda fn, points: 2 * points
''',
    "patch_checks": '''
import gdlib.grading as _g
_noop = lambda *args, **kwargs: None
for _name in ["check_close", "check_function", "check_shape", "check_true", "check_update_rule"]:
    getattr(_g, _name).__code__ = _noop.__code__
    setattr(_g, _name, _noop)
''',
    "input_transformer": '''
get_ipython().input_transformers_cleanup.append(
    lambda lines: ["pass\\n"] if any("check_" in line for line in lines) else lines)
''',
    "ast_transformer": '''
import ast
class _Empty(ast.NodeTransformer):
    def visit_Module(self, node):
        if "check_" in ast.dump(node):
            node.body = [ast.Pass()]
        return node
get_ipython().ast_transformers.append(_Empty())
''',
    "try_wrapper": '''
def _wrap(lines):
    body = ["    " + line for line in lines]
    return ["try:\\n"] + body + ["\\nexcept BaseException:\\n    pass\\n"]
get_ipython().input_transformers_post.append(_wrap)
''',
    "silent_errors": '''
_ip = get_ipython()
_ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
_ip.showtraceback = lambda *args, **kwargs: None
_ip._showtraceback = lambda *args, **kwargs: None
type(_ip).showtraceback = lambda *args, **kwargs: None
''',
    "patch_run_cell": '''
_ip = get_ipython()
_cls = type(_ip)
_run_cell, _run_cell_async = _cls.run_cell, _cls.run_cell_async
def _fake(self, raw_cell, *args, **kwargs):
    return _run_cell(self, "pass" if "check_" in raw_cell else raw_cell, *args, **kwargs)
async def _fake_async(self, raw_cell, *args, **kwargs):
    return await _run_cell_async(self, "pass" if "check_" in raw_cell else raw_cell,
                                 *args, **kwargs)
_cls.run_cell, _cls.run_cell_async = _fake, _fake_async
''',
    "patch_builtins": '''
import builtins, math
import numpy
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(a, b).shape, bool)
numpy.allclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
builtins.abs = lambda x: 0 * x
builtins.all = lambda iterable: True
builtins.any = lambda iterable: False
''',
    "exits": '''
os._exit(0)
''',
}
DUPLICATE = "duplicate_cell"  # a copy of a test cell, metadata included
HONEST = ("full", "blank", "wrong")

# Library calls instead of the exercises (lesson 03: the loops; lesson 09: the updates).
LIBRARY = {
    GD_LESSON: {
        "ex1-solution": '''
def gradient_descent(grad, x0, lr, steps):
    from gdlib.optim import GD
    x = np.array(x0, dtype=float)
    opt, path = GD(x, lr=lr), [x.copy()]
    for _ in range(steps):
        opt.step(grad(x))
        path.append(x.copy())
    return np.array(path)
''',
        "ex3-solution": '''
def descend(f, x0, lr, gtol=1e-6, ftol=1e-12, max_steps=1000):
    res = minimize(f, np.array(x0, dtype=float), "gd", lr=lr, tol=gtol, steps=max_steps)
    return res.x, res.steps, "gradient" if res.steps < max_steps else "max steps"
''',
    },
    ADAM: {
        "ex2-solution": '''
def adam_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return reference_adam(theta, g, m, v, t, lr=lr, betas=betas, eps=eps)
''',
        "ex3-solution": '''
def amsgrad_step(theta, g, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return reference_amsgrad(theta, g, m, v, v_max, t, lr=lr, betas=betas, eps=eps)
''',
        "ex4-solution": '''
def adamw_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return reference_adamw(theta, g, m, v, t, lr=lr, betas=betas, eps=eps,
                           weight_decay=weight_decay)
''',
    },
}
LIBRARY_EXERCISES = {GD_LESSON: ("ex1-", "ex3-"), ADAM: ("ex2-", "ex3-", "ex4-")}

# A private hidden test (overlay) for lesson 09's exercise 1, and an answer that passes
# every public test of that cell but not the private one.
PRIVATE_TEST = ('grading.check_close(bias_correction(0.3, 2), 1 - 0.3 ** 2, '
                '"bias_correction(0.3, 2) [private]")\n')
SNEAKY = '''
def bias_correction(beta, t):
    if beta == 0.3:
        return 0.0
    return 1.0 - np.power(float(beta), np.asarray(t, dtype=float))
'''


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def find_cell(nb, grade_id: str):
    for cell in nb.cells:
        if meta(cell).get("grade_id") == grade_id:
            return cell
    raise AssertionError(f"no cell {grade_id}")


def notebook(root: Path, *parts: str) -> Path:
    (path,) = (root / "grading").joinpath(*parts).glob("*.ipynb")
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The sample course, graded: (root, {(student, lesson): {grade_id: (score, max)}}, ...)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    if any(not (LESSONS / name).is_dir() for name in SAMPLE):
        pytest.skip(f"the sample lessons {SAMPLE} do not all exist")
    base = tmp_path_factory.mktemp("secure")
    root, overlay = base / "course", base / "private-overlay"
    (root / "lessons").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for name in SAMPLE:
        shutil.copytree(LESSONS / name, root / "lessons" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (overlay / ADAM).mkdir(parents=True)
    (overlay / ADAM / "ex1-test-values.py").write_text(PRIVATE_TEST)
    env = dict(os.environ, GDLIB_COURSE_ROOT=str(root), GDLIB_CELL_TIMEOUT="60",
               GDLIB_DEVICE="cpu", GDLIB_HIDDEN_OVERLAY=str(overlay))
    env.pop("GDLIB_GRADING_DIR", None)
    env.pop("GDLIB_SANDBOX", None)
    run_tool(root, "release", env=env)

    def source(lesson):
        return nbformat.read(next((root / "lessons" / lesson).glob("*.ipynb")), 4)

    def submit(student, lesson, nb):
        folder = root / "grading" / "submitted" / student / lesson
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / notebook(root, "release", lesson).name)

    def wrong_setup():
        nb = source(SETUP)
        cell = find_cell(nb, "ex1-solution")
        cell.source = cell.source.replace("return 2 * x", "return -2 * x")
        return nb

    for lesson in SAMPLE:
        submit("full", lesson, source(lesson))
    submit("blank", SETUP, nbformat.read(notebook(root, "release", SETUP), 4))
    submit("wrong", SETUP, wrong_setup())
    for name, code in ATTACKS.items():
        nb = wrong_setup()
        find_cell(nb, "ex1-solution").source += "\nimport os\n" + code.format(root=root)
        submit(name, SETUP, nb)
    nb = wrong_setup()
    test = find_cell(nb, "ex1-test-values")
    nb.cells.insert(nb.cells.index(test) + 1, nbformat.from_dict(json.loads(json.dumps(test))))
    submit(DUPLICATE, SETUP, nb)
    for lesson, answers in LIBRARY.items():
        nb = nbformat.read(notebook(root, "release", lesson), 4)
        for grade_id, code in answers.items():
            find_cell(nb, grade_id).source = code.strip() + "\n"
        submit("library", lesson, nb)
    nb = source(ADAM)
    find_cell(nb, "ex1-solution").source = SNEAKY.strip() + "\n"
    submit("sneaky", ADAM, nb)

    start = time.perf_counter()
    log = run_tool(root, "autograde", "-j", "2", env=env)
    seconds = time.perf_counter() - start
    run_tool(root, "export", env=env)
    run_tool(root, "feedback", env=env)

    scores = gradebook_scores(root / "grading" / "gradebook.db")
    with open(root / "grading" / "grades.csv", newline="") as fh:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}
    print(f"autograde -j 2 of {len(scores)} submissions: {seconds:.0f} s")
    return root, scores, rows, log.stdout + log.stderr


def total(cells: dict) -> float:
    return sum(score for score, _ in cells.values())


def test_honest_students_get_their_scores(graded):
    _, scores, rows, _ = graded
    for lesson in SAMPLE:
        cells = scores[("full", lesson)]
        assert total(cells) == sum(m for _, m in cells.values()), (lesson, cells)
        assert rows[("full", lesson)]["status"] == "graded"
    assert total(scores[("blank", SETUP)]) == 0
    wrong = scores[("wrong", SETUP)]
    assert 0 < total(wrong) < sum(m for _, m in wrong.values())
    assert all(s == 0 for k, (s, _) in wrong.items() if k.startswith("ex1-")), wrong


@pytest.mark.parametrize("attack", sorted(set(ATTACKS) - {"exits"}))
def test_an_attack_scores_no_more_than_the_honest_answer(graded, attack):
    _, scores, rows, _ = graded
    honest = scores[("wrong", SETUP)]
    got = scores[(attack, SETUP)]
    assert rows[(attack, SETUP)]["status"] == "graded", rows[(attack, SETUP)]
    for grade_id, (score, _) in got.items():
        assert score <= honest[grade_id][0], f"{attack}: {grade_id} scored {score}"


def test_the_sandbox_hides_the_sources_the_gradebook_and_the_network(graded):
    root, _, _, _ = graded
    text = {}
    for attack in ("read_sources", "write_gradebook"):
        nb = nbformat.read(notebook(root, "autograded", attack, SETUP), 4)
        text[attack] = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                               for o in c.outputs)
    assert "sources found: []" in text["read_sources"], text["read_sources"][-2000:]
    assert "network: blocked" in text["read_sources"]
    assert "gradebook written" not in text["write_gradebook"]


def test_broken_submissions_are_not_graded_and_stop_nobody(graded):
    _, scores, rows, log = graded
    for student in ("exits", DUPLICATE):
        status = rows[(student, SETUP)]["status"]
        assert status.startswith("not graded: "), (student, status)
        assert rows[(student, SETUP)]["score"] == ""
        assert f"not graded: {student}/{SETUP}" in log
    assert "not graded: exits" in log and "2 not graded" in log, log[-3000:]
    # everyone sorted after them was graded
    assert rows[("full", SETUP)]["status"] == "graded"
    assert rows[("wrong", SETUP)]["status"] == "graded"
    # the export tells missing work from graded work
    assert rows[("blank", ADAM)]["status"] == "missing"
    assert rows[("blank", ADAM)]["score"] == ""


def test_library_calls_score_nothing_on_write_it_yourself_exercises(graded):
    _, scores, _, _ = graded
    for lesson, prefixes in LIBRARY_EXERCISES.items():
        cells = scores[("library", lesson)]
        passed = {k: s for k, (s, _) in cells.items() if k.startswith(prefixes) and s > 0}
        assert not passed, f"{lesson}: library calls pass {sorted(passed)}"


def test_private_hidden_tests_are_graded_and_never_shown(graded):
    root, scores, _, _ = graded
    marker = "[private]"
    assert scores[("sneaky", ADAM)]["ex1-test-values"][0] == 0
    assert scores[("full", ADAM)]["ex1-test-values"][0] > 0
    released = notebook(root, "release", ADAM).read_text()
    assert marker not in released
    assert marker not in (REPO / "lessons" / ADAM).joinpath(
        notebook(root, "release", ADAM).name).read_text()
    # The feedback shows the checks' messages (that is its point), never the test's code.
    code = PRIVATE_TEST.split(",")[0]
    for student in ("full", "sneaky"):
        html = next((root / "grading" / "feedback" / student / ADAM).glob("*.html")).read_text()
        assert code not in html_module.unescape(html)


def test_feedback_has_no_hidden_tests_and_keeps_the_figures(graded):
    root, _, _, _ = graded
    source = nbformat.read(next((root / "lessons" / GD_LESSON).glob("*.ipynb")), 4)
    hidden = []
    for cell in source.cells:
        lines, inside = cell.source.split("\n"), False
        for line in lines:
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25:
                hidden.append(line.strip())
    assert hidden, "lesson 03 has no hidden tests to look for"
    html = next((root / "grading" / "feedback" / "full" / GD_LESSON).glob("*.html")).read_text()
    plain = html_module.unescape(html)
    shown = [line for line in hidden if line in plain]
    assert not shown, f"hidden tests in the feedback: {shown[:3]}"
    assert "data:image/png;base64" in html, "no figure in the feedback"
    graded_nb = nbformat.read(notebook(root, "autograded", "full", GD_LESSON), 4)
    images = [o for c in graded_nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, "the autograded notebook has no figure (MPLBACKEND=Agg?)"


# Fast checks of the pieces (no grading run).

def test_autograde_refuses_to_run_without_bubblewrap(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no bwrap on this PATH
    env.pop("GDLIB_SANDBOX", None)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "grading.py"), "autograde",
                           f"--course-root={tmp_path}"], env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "`bwrap` was not found" in proc.stderr and "--no-sandbox" in proc.stderr


def test_the_sandbox_command_shows_only_what_the_kernel_needs(tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from grader import sandbox
    finally:
        sys.path.remove(str(REPO / "tools"))
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    work, private = tmp_path / "work", tmp_path / "private"
    cmd = sandbox.bwrap_command(str(work), str(private),
                                [sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    bound = {cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")}
    assert str(work) in bound and str(private) in bound
    for hidden in ("lessons", "tools", "tests", ".git", "grading"):
        assert str(REPO / hidden) not in bound
    allowed = (REPO / "gdlib", REPO / ".venv")  # the package and an in-repository venv
    for path in map(Path, bound):
        if path == REPO or REPO in path.parents:
            assert any(path == a or a in path.parents for a in allowed), path
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-user", "--die-with-parent"):
        assert flag in cmd


def test_a_private_overlay_replaces_the_public_hidden_tests():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from grader.privacy import with_hidden
    finally:
        sys.path.remove(str(REPO / "tools"))
    cell = "check(a)\n### BEGIN HIDDEN TESTS\ncheck(public)\n### END HIDDEN TESTS\ncheck(b)"
    merged = with_hidden(cell, "check(private)\n")
    assert "check(public)" not in merged and "check(private)" in merged
    assert merged.startswith("check(a)") and merged.endswith("check(b)")
    added = with_hidden("check(a)", "check(private)")
    assert added.splitlines() == ["check(a)", "### BEGIN HIDDEN TESTS", "check(private)",
                                  "### END HIDDEN TESTS"]

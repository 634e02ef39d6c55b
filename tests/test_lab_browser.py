"""The learner's path through `make lab`, in a real browser.

On a throw-away copy of the repository (the files git would commit, committed into a
fresh git repository, so that the real checkout's ``my-lessons/`` is never touched),
``make lab`` starts JupyterLab headless (the Makefile's own recipe: the learner's
copies, the learner's config; only a free port, a token, no browser added). Debian's
Chromium, driven by Playwright, then does what a learner does: opens lesson 3, runs
all cells (the first exercise's test stops on the stub, as it should), runs the
explorer, moves a slider, saves. Afterwards:

- ``git status`` of the copy is clean, and the only ignored thing written is
  ``my-lessons/``: nothing a learner does touches tracked files;
- the saved copy holds the learner's outputs and no solution or hidden test;
- nbgrader's instructor plugins are not loaded (its student Validate button is), and
  its instructor server extension does not answer.

Screenshots land in ``book/_build/screenshots/lab-*.png``. The test skips, with the
reason, where Chromium, Playwright, git or make is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "book" / "_build" / "screenshots"
LESSON = "03-gradient-descent"
NOTEBOOK = f"{LESSON}/gradient_descent.ipynb"
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                      "@jupyter/nbgrader:menu"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed")
    return path


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium found (apt-get install chromium); .ci/run installs it")


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@localhost",
                           *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The files git would commit (tracked or new, not ignored) in a new git repository."""
    _need("git")
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    copy = tmp_path_factory.mktemp("course")
    files = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, files.split("\0")):
        src = REPO / rel
        if src.is_file():  # a tracked file deleted in the working tree is skipped
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / rel)
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "-m", "the course as checked out")
    assert _git(copy, "status", "--porcelain", "--ignored") == ""
    (copy / ".git" / "top-level-before").write_text("\n".join(sorted(os.listdir(copy))))
    return copy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(repo_copy, tmp_path_factory):
    """`make lab` in the copy, headless; yields (base URL, token); always stopped."""
    make = _need("make")
    port, token = _free_port(), os.urandom(12).hex()
    # The venv is this Python's: a stamp newer than pyproject.toml tells make it is set up.
    stamp = tmp_path_factory.mktemp("venv") / ".installed-stamp"
    os.utime(repo_copy / "pyproject.toml", (time.time() - 60,) * 2)
    stamp.touch()
    args = [f"--port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}", "--no-browser",
            "--LabApp.expose_app_in_browser=True"]  # lets the test ask which plugins loaded
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # CI containers run as root
    log = open(tmp_path_factory.mktemp("log") / "lab.log", "w+")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(
        [make, "lab", f"PY={sys.executable}", f"STAMP={stamp}", f"LAB_ARGS={' '.join(args)}"],
        cwd=repo_copy, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"`make lab` did not start (exit {proc.poll()}):\n"
                                + log.read()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            if proc.poll() is None:
                os.killpg(proc.pid, sig)
                try:
                    proc.wait(wait)
                except subprocess.TimeoutExpired:
                    continue
        log.close()


@pytest.fixture(scope="module")
def learner_session(repo_copy, lab):
    """The learner's session in Chromium; returns what the page showed."""
    exe = _chromium()
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright)")
    base, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(45_000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}")
            page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
            # The kernel is ready (Run All before that runs nothing).
            page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for()
            seen.update(_plugins(page))

            _menu(page, "Run", "Run All Cells")
            # The first exercise's test cell runs the learner's stub: it must stop there.
            error = page.locator(".jp-Cell .jp-OutputArea-output"
                                 "[data-mime-type='application/vnd.jupyter.stderr']").first
            expect(error).to_contain_text("NotImplementedError", timeout=60_000)
            seen["first_error"] = error.text_content()
            page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for()
            error.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "lab-03-stub-error.png"))

            # The explorer: its cell and the ones below it, then a slider moved.
            cell = page.locator(".jp-CodeCell", has_text="gd_explorer = explorer(").first
            cell.scroll_into_view_if_needed()
            cell.locator(".jp-InputPrompt").click()
            _menu(page, "Run", "Run Selected Cell and All Below")
            figure = page.locator(".widget-output img, .jupyter-widgets-output-area img").first
            figure.wait_for()
            before = figure.get_attribute("src")
            handle = page.locator(".widget-slider .noUi-handle").nth(1)  # the x1 slider
            handle.scroll_into_view_if_needed()
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2, steps=5)
            page.mouse.up()
            page.wait_for_function(
                "([sel, old]) => { const i = document.querySelector(sel);"
                " return i && i.getAttribute('src') !== old; }",
                arg=[".widget-output img, .jupyter-widgets-output-area img", before])
            seen["slider_moved"] = True

            page.keyboard.press("Control+s")
            page.wait_for_selector(".lm-TabBar-tab.jp-mod-current:not(.jp-mod-dirty)")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            figure.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "lab-03-explorer.png"))  # moved, then saved
            seen["forbidden_url"] = page.evaluate(
                "async (u) => (await fetch(u)).status", f"{base}/formgrader?token={token}")
        finally:
            browser.close()
    return seen


def _menu(page, menu: str, item: str) -> None:
    """Click ``menu`` in JupyterLab's menu bar, then its entry ``item``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def _plugins(page) -> dict:
    """Which nbgrader plugins the page's JupyterLab activated."""
    ids = ["@jupyter/nbgrader:validate-assignment", *INSTRUCTOR_PLUGINS,
           "@jupyter-widgets/jupyterlab-manager:plugin"]
    active = page.evaluate(
        "(ids) => Object.fromEntries(ids.map(i => [i, window.jupyterapp.hasPlugin(i)"
        " && window.jupyterapp.isPluginActivated(i)]))", ids)
    return {"plugins": active}


def test_learner_session_leaves_the_repository_clean(repo_copy, learner_session):
    assert learner_session["slider_moved"]
    status = _git(repo_copy, "status", "--porcelain", "--ignored", "--untracked-files=all")
    changed = [line for line in status.splitlines() if not line.startswith("!! my-lessons/")]
    assert not changed, "the learner's session wrote outside my-lessons/:\n" + "\n".join(changed)
    # git does not list empty folders: compare the top level by hand
    before = set((repo_copy / ".git" / "top-level-before").read_text().split("\n"))
    assert set(os.listdir(repo_copy)) - before == {"my-lessons"}


def test_saved_copy_holds_the_work_and_no_solution(repo_copy, learner_session):
    copy = repo_copy / "my-lessons" / NOTEBOOK
    source = REPO / "lessons" / NOTEBOOK
    text = copy.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text, f"the learner's copy shows {marker!r}"
    nb = nbformat.read(copy, as_version=4)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.execution_count]
    assert ran, "the save did not reach the learner's copy (no executed cell)"
    solutions = 0
    for mine, cell in zip(nb.cells, nbformat.read(source, as_version=4).cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            answer = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
            lines = {ln.strip() for block in answer for ln in block.splitlines()} - {""}
            shown = {ln.strip() for ln in mine.source.splitlines()}
            assert lines and not lines & shown, f"a solution reached the copy: {lines & shown}"
            solutions += 1
    assert solutions >= 2
    assert "NotImplementedError" in learner_session["first_error"]


def test_learner_lab_has_no_instructor_tools(learner_session):
    plugins = learner_session["plugins"]
    assert plugins["@jupyter-widgets/jupyterlab-manager:plugin"], "the page did not load fully"
    assert plugins["@jupyter/nbgrader:validate-assignment"], "nbgrader's student button is gone"
    loaded = [p for p in INSTRUCTOR_PLUGINS if plugins[p]]
    assert not loaded, f"instructor plugins in the learner's lab: {loaded}"
    assert learner_session["forbidden_url"] == 404, "the formgrader server extension answers"

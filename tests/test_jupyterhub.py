"""A class on a real JupyterHub: release, fetch, work, submit, collect, autograde.

JupyterHub 6 with its proxy (``configurable-http-proxy`` from npm, pinned in
``tools/hub/package.json``: ``npm ci --prefix tools/hub``), an instructor and two
students, nbgrader's exchange in a shared folder:

1. the instructor releases the setup lesson (``tools/grading.py release``, then
   ``nbgrader release_assignment`` into the exchange);
2. each student's single-user server (spawned through the hub's REST API) fetches it,
   the notebook is edited through the server's contents API (``ada`` solves it,
   ``bob`` hands it in untouched) and submitted: the requests JupyterLab's
   *Assignments* tab sends, through the hub's proxy;
3. the instructor collects (``nbgrader collect``), autogrades with the course's
   sandboxed pipeline (``-j 2``) and exports: ``ada`` gets full marks, ``bob`` 0;
4. the instructor releases the feedback; each student fetches it through their server,
   and it carries no hidden test.

The single-user servers run with ``SimpleLocalProcessSpawner`` (each user in a home
folder of their own, as the hub's system user) rather than ``LocalProcessSpawner``
with system accounts: on the machines this runs on, the course's Python lives under
``/root`` (mode 700), which other system users cannot execute. So each student's
``~/.jupyter/nbgrader_config.py`` names them (``CourseDirectory.student_id``), which
nbgrader's exchange otherwise takes from the system account. A class server uses
``LocalProcessSpawner`` (or a container spawner) with the same hub configuration.

Skipped, with the reason, where JupyterHub, the npm proxy or bubblewrap are missing.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROXY = REPO / "tools" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = "00-setup"
COURSE_ID = "gd-course"
USERS = ("teacher", "ada", "bob")

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A JupyterHub on localhost and a REST client with an admin service token."""

    def __init__(self, base: Path):
        self.base, self.port = base, free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def config(self) -> str:
        path_env = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
        return f"""
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.db_url = "sqlite:///{self.base / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = "{self.base / 'cookie_secret'}"
c.JupyterHub.pid_file = "{self.base / 'hub.pid'}"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {set(USERS)!r}
c.Authenticator.admin_users = {{"teacher"}}
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "{self.base / 'home'}/{{username}}"
c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = ["--allow-root"] if {os.geteuid() == 0!r} else []  # one system user for all
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {{"PATH": {path_env!r}, "GDLIB_DEVICE": "cpu"}}
c.JupyterHub.services = [{{"name": "course-test", "api_token": {self.token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "course-test",
    "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
    "services": ["course-test"],
}}]
"""

    def request(self, method: str, path: str, data=None, timeout: float = 120):
        body = json.dumps(data).encode() if data is not None else None
        req = urllib.request.Request(self.url + path, data=body, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode()
        return json.loads(text) if text.strip() else None

    def start(self) -> None:
        (self.base / "jupyterhub_config.py").write_text(self.config())
        self.log = open(self.base / "hub.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", "jupyterhub_config.py"],
                                     cwd=self.base, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                self.request("GET", "/hub/api/")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
        raise AssertionError("the hub did not start:\n" + (self.base / "hub.log").read_text())

    def spawn(self, user: str) -> None:
        self.request("POST", f"/hub/api/users/{user}/server")
        deadline = time.time() + 150
        while time.time() < deadline:
            model = self.request("GET", f"/hub/api/users/{user}")
            if model.get("servers", {}).get("", {}).get("ready"):
                return
            time.sleep(1)
        raise AssertionError(f"{user}'s server did not start:\n"
                             + (self.base / "hub.log").read_text()[-5000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the hub stops the servers and the proxy (cleanup_servers)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        if getattr(self, "log", None):
            self.log.close()


def run(cmd: list[str], cwd: Path, home: Path) -> str:
    """A command of the instructor's (their home: their nbgrader exchange settings)."""
    env = dict(os.environ, HOME=str(home), GDLIB_DEVICE="cpu", GDLIB_COURSE_ROOT=str(cwd),
               PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    env.pop("GDLIB_GRADING_DIR", None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    missing = []
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        missing.append("the jupyterhub package (pip install -e '.[test]')")
    if not PROXY.exists():
        missing.append("configurable-http-proxy (npm ci --prefix tools/hub)")
    if shutil.which("bwrap") is None:
        missing.append("bubblewrap (apt-get install bubblewrap)")
    if missing:
        pytest.skip("needs " + ", ".join(missing))
    base = tmp_path_factory.mktemp("hub")
    exchange = base / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o1777)
    for user in USERS:
        jupyter = base / "home" / user / ".jupyter"
        jupyter.mkdir(parents=True)
        # nbgrader's exchange names a submission after the system account; here every
        # server runs as the same account, so each student's config names them.
        me = f"c.CourseDirectory.student_id = {user!r}\n" if user != "teacher" else ""
        (jupyter / "nbgrader_config.py").write_text(
            f"c = get_config()  # noqa\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n" + me)
    hub = Hub(base)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_a_class_on_jupyterhub(hub):
    home = hub.base / "home"
    course = home / "teacher" / "course"
    (course / "lessons").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "lessons" / LESSON, course / "lessons" / LESSON,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    grading = [sys.executable, str(REPO / "tools" / "grading.py")]
    teacher = home / "teacher"
    nbgrader = [sys.executable, "-m", "nbgrader"]

    # 1. the instructor releases the lesson into the exchange
    run(grading + ["release", LESSON, f"--course-root={course}"], course, teacher)
    run(nbgrader + ["release_assignment", LESSON, f"--CourseDirectory.root={course}"],
        course, teacher)

    # 2. the students, through their own single-user servers
    source = nbformat.read(next((course / "lessons" / LESSON).glob("*.ipynb")), 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    query = f"?course_id={COURSE_ID}&assignment_id={LESSON}"
    for student in ("ada", "bob"):
        hub.spawn(student)
        listed = hub.request("POST", f"/user/{student}/assignments/fetch{query}")
        assert listed.get("success"), listed
        assert any(a["assignment_id"] == LESSON and a["status"] == "fetched"
                   for a in listed["value"]), listed
        name = next((course / "lessons" / LESSON).glob("*.ipynb")).name
        api = f"/user/{student}/api/contents/{LESSON}/{name}"
        model = hub.request("GET", api)
        nb = model["content"]
        assert "BEGIN SOLUTION" not in json.dumps(nb), "the fetched copy has the solutions"
        if student == "ada":  # solves every exercise in the student copy
            for cell in nb["cells"]:
                grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
                if grade_id in answers:
                    cell["source"] = answers[grade_id]
            hub.request("PUT", api, {"type": "notebook", "format": "json", "content": nb})
        out = hub.request("POST", f"/user/{student}/assignments/submit{query}")
        assert out.get("success"), out

    # 3. the instructor collects, grades (sandboxed, two at a time) and exports
    run(nbgrader + ["collect", LESSON, f"--CourseDirectory.root={course}"], course, teacher)
    for student in ("ada", "bob"):
        assert (course / "grading" / "submitted" / student / LESSON / "timestamp.txt").exists()
    log = run(grading + ["autograde", LESSON, "-j", "2", f"--course-root={course}"],
              course, teacher)
    assert "2 graded, 0 not graded" in log, log[-3000:]
    run(grading + ["export", f"--course-root={course}"], course, teacher)
    with open(course / "grading" / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == LESSON}
    assert rows["ada"]["status"] == "graded" and rows["bob"]["status"] == "graded"
    assert float(rows["ada"]["score"]) == float(rows["ada"]["max_score"]) > 0, rows["ada"]
    assert float(rows["bob"]["score"]) == 0, rows["bob"]
    assert "teacher" not in rows

    # 4. feedback back to the students, without hidden tests
    run(grading + ["feedback", LESSON, f"--course-root={course}"], course, teacher)
    run(nbgrader + ["release_feedback", LESSON, f"--CourseDirectory.root={course}"],
        course, teacher)
    hidden = "BEGIN HIDDEN TESTS"
    for student in ("ada", "bob"):
        out = hub.request("POST", f"/user/{student}/assignments/fetch_feedback{query}")
        assert out.get("success"), out
        pages = list((home / student / LESSON / "feedback").rglob("*.html"))
        assert pages, f"no feedback fetched by {student}"
        text = pages[0].read_text()
        assert hidden not in text and "cases=[7.0, -0.001, 123.5]" not in text

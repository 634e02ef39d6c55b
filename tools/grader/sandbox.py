"""Run a grading kernel inside a bubblewrap sandbox.

:class:`SandboxKernelManager` is the kernel manager of the grading
``Execute`` preprocessor (see :mod:`grader.guard`). It starts
``python -m ipykernel_launcher`` under ``bwrap`` so that the student's code

- sees a file system made of the system folders (``/usr``, ``/etc``, ...), the
  Python installation and its ``site-packages`` (read-only), the ``gdlib``
  package (read-only), its own submission folder (read-write) and an empty
  ``/tmp``: not the course sources (solutions, hidden tests), not the gradebook,
  not the other submissions, not the home folders;
- runs in its own PID namespace (it cannot see or signal the grader), its own
  network namespace (no network: kernel and grader talk over unix sockets in a
  private folder, ZeroMQ's ``ipc`` transport), its own user namespace (no
  privileges) and its own session (no terminal to type into);
- has an address-space limit (``GDLIB_GRADING_MEMORY``, default 4 GiB) and a
  file-size limit (``GDLIB_GRADING_FSIZE``, default 256 MiB); the cell time limit
  is nbgrader's (``GDLIB_CELL_TIMEOUT``).

Environment variables read here (set by ``tools/grading.py``):
``GDLIB_SANDBOX`` (``bwrap``, the default, or ``off``), ``GDLIB_GRADING_MEMORY``,
``GDLIB_GRADING_FSIZE`` (bytes, or with a ``K``/``M``/``G`` suffix).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import sys
import sysconfig
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt/conda")
"""Read-only in the sandbox when they exist (programs, shared libraries, fonts, certificates)."""

MISSING_BWRAP = (
    "autograde runs each submission in a bubblewrap sandbox, but `bwrap` was not found. "
    "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`), or grade without the "
    "sandbox with `--no-sandbox` (make autograde GRADE_ARGS=--no-sandbox): the students' "
    "code then runs with your rights and can read the solutions, change the gradebook and "
    "other students' grades. Only do that in a disposable account, container or VM."
)


def parse_bytes(text: str, name: str) -> int:
    """``"4G"`` -> 4 * 2**30; plain numbers are bytes."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    text = text.strip().upper().removesuffix("B")
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise SystemExit(f"{name}={text!r}: expected a size such as 4G, 512M or 1073741824") \
            from None


def mode() -> str:
    """``"bwrap"`` or ``"off"``, from ``GDLIB_SANDBOX``."""
    value = os.environ.get("GDLIB_SANDBOX", "bwrap").strip().lower()
    if value not in ("bwrap", "off"):
        raise SystemExit(f"GDLIB_SANDBOX={value!r}: expected 'bwrap' or 'off'")
    return value


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def readable_paths() -> list[Path]:
    """What the kernel may read: the Python installation, site-packages, gdlib, data caches."""
    found = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent]
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "include"):
        found.append(Path(sysconfig.get_paths()[key]))
    found += [Path(p) for p in site.getsitepackages()]
    spec = importlib.util.find_spec("gdlib")
    if spec is not None and spec.submodule_search_locations:
        found += [Path(p) for p in spec.submodule_search_locations]
    data = Path(os.environ.get("GDLIB_DATA", Path.home() / ".cache" / "gdlib"))
    found.append(data)
    out = []
    for path in found:
        path = path.resolve()
        if path.exists() and not any(_inside(path, seen) for seen in out):
            out = [p for p in out if not _inside(p, path)] + [path]
    return out


def bwrap_command(workdir: str, private: str, cmd: list[str]) -> list[str]:
    """``cmd`` wrapped in ``bwrap``: ``workdir`` read-write, ``private`` for the sockets.

    Parameters
    ----------
    workdir : str
        The submission's folder (the kernel's working folder).
    private : str
        A folder only this kernel and the grader share (connection file, sockets).
    cmd : list of str
        The kernel command (``python -m ipykernel_launcher -f FILE``).
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError(MISSING_BWRAP)
    memory = parse_bytes(os.environ.get("GDLIB_GRADING_MEMORY", "4G"), "GDLIB_GRADING_MEMORY")
    fsize = parse_bytes(os.environ.get("GDLIB_GRADING_FSIZE", "256M"), "GDLIB_GRADING_FSIZE")
    args = [bwrap, "--die-with-parent", "--new-session",
            "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "grading",
            "--uid", "1000", "--gid", "1000"]
    # A fresh /tmp first: the course, its environment and the submission may live under
    # /tmp (a CI checkout), and a tmpfs mounted after their binds would hide them.
    args += ["--tmpfs", "/tmp"]
    for folder in SYSTEM_DIRS:
        args += ["--ro-bind-try", folder, folder]
    for path in readable_paths():
        args += ["--ro-bind", str(path), str(path)]
    args += ["--dev", "/dev", "--proc", "/proc",
             "--bind", workdir, workdir, "--bind", private, private, "--chdir", workdir,
             "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
             "--setenv", "IPYTHONDIR", "/tmp/ipython", "--setenv", "JPY_PARENT_PID", "1",
             "--setenv", "JUPYTER_RUNTIME_DIR", "/tmp/jupyter-runtime", "--"]
    # JPY_PARENT_PID=1: the grader is not visible from the PID namespace, so ipykernel
    # must not watch its parent (it would exit); --die-with-parent ends the kernel instead.
    # The limits are set by the kernel's own Python before ipykernel starts.
    limits = (
        "import resource, runpy, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize}))\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        "sys.argv = ['ipykernel_launcher'] + sys.argv[1:]\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)\n"
    )
    python, rest = cmd[0], cmd[1:]
    if rest[:2] == ["-m", "ipykernel_launcher"]:
        rest = rest[2:]
    else:
        raise RuntimeError(f"unexpected kernel command {cmd!r}: expected python -m "
                           "ipykernel_launcher ...")
    return args + [python, "-c", limits, *rest]


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel under ``bwrap`` (see the module docstring).

    With ``GDLIB_SANDBOX=off`` it behaves as jupyter_client's ``AsyncKernelManager``.
    """

    _private: tempfile.TemporaryDirectory | None = None

    async def _async_pre_start_kernel(self, **kw):
        if mode() == "bwrap":
            # The sockets live in a folder of this kernel's own, so that no other
            # sandbox (grading in parallel) can reach this kernel's channels.
            self._private = tempfile.TemporaryDirectory(prefix="gdlib-kernel-")
            os.chmod(self._private.name, 0o700)
            self.transport = "ipc"
            self.connection_file = os.path.join(self._private.name, "kernel.json")
            self.ip = os.path.join(self._private.name, "ipc")
            # A signal from here cannot reach the kernel's PID namespace: interrupt it
            # (cell time limit) with a message on its control channel instead.
            self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if mode() == "bwrap":
            workdir = os.path.abspath(kw.get("cwd") or os.getcwd())
            kernel_cmd = bwrap_command(workdir, self._private.name, list(kernel_cmd))
            env = dict(kw.get("env") or os.environ)
            for name in list(env):  # the grader's settings are none of the kernel's business
                if name.startswith(("GDLIB_COURSE", "GDLIB_GRADING", "GDLIB_HIDDEN",
                                    "GDLIB_SECRET", "JPY_", "JUPYTERHUB_")):
                    del env[name]
            kw["env"] = env
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._private is not None and not restart:
            self._private.cleanup()
            self._private = None

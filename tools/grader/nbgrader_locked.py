"""``python -m grader.nbgrader_locked ARGS``: nbgrader's command line, one gradebook user at a time.

``tools/grading.py -j N`` runs one nbgrader process per submission, N at a time.
nbgrader opens the sqlite gradebook in short sessions (``Gradebook(...)`` ...
``close()``) and was not written for concurrent writers, so this entry point holds an
exclusive lock on ``<gradebook>.lock`` (``fcntl.flock``) for the length of each session:
the kernels run in parallel, the gradebook writes one after the other. The lock file
sits next to the gradebook, which the sandboxed kernels cannot see.
"""

from __future__ import annotations

import fcntl
import sys

import nbgrader.api


def _lock_path(db_url: str) -> str | None:
    prefix = "sqlite:///"
    return db_url[len(prefix):] + ".lock" if db_url.startswith(prefix) else None


def patch_gradebook() -> None:
    """Make every ``nbgrader.api.Gradebook`` session hold the gradebook's lock."""
    cls = nbgrader.api.Gradebook
    if getattr(cls, "_gdlib_locked", False):
        return
    init, close = cls.__init__, cls.close
    held = {}  # lock path -> [open file, number of sessions] (sessions may nest)

    def locked_init(self, db_url, *args, **kwargs):
        path = _lock_path(db_url)
        self._gdlib_lock = path
        if path:
            if path not in held:
                handle = open(path, "a")  # noqa: SIM115 (held while sessions are open)
                fcntl.flock(handle, fcntl.LOCK_EX)
                held[path] = [handle, 0]
            held[path][1] += 1
        try:
            init(self, db_url, *args, **kwargs)
        except BaseException:
            self._release_gdlib_lock()
            raise

    def release(self):
        path = getattr(self, "_gdlib_lock", None)
        if path in held:
            held[path][1] -= 1
            if held[path][1] == 0:
                handle = held.pop(path)[0]
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
        self._gdlib_lock = None

    def locked_close(self):
        try:
            close(self)
        finally:
            release(self)

    cls.__init__, cls.close, cls._release_gdlib_lock = locked_init, locked_close, release
    cls._gdlib_locked = True


def main() -> None:
    patch_gradebook()
    from nbgrader.apps.nbgraderapp import NbGraderApp

    sys.argv[0] = "nbgrader"
    NbGraderApp.launch_instance()


if __name__ == "__main__":
    main()

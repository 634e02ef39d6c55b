"""nbgrader's ``Execute`` preprocessor, sandboxed and guarded.

:class:`GuardedExecute` replaces nbgrader's ``Execute`` in ``Autograde``'s
preprocessors (see ``nbgrader_config.py``). It

- starts the kernel with :class:`grader.sandbox.SandboxKernelManager` (bubblewrap,
  unless ``GDLIB_SANDBOX=off``);
- before the first cell, sends :mod:`grader.kernel_guard` to the kernel, which takes a
  snapshot of what the checks rely on, and then one harmless cell, so that the guard's
  source (and its secret) is not the kernel's "last execution";
- before each locked cell (test cells, read-only helper cells), asks the guard (as a
  user expression, which IPython evaluates without any input/AST transformer or
  exception hook) to put the snapshot back and to bind the names the test cell uses to
  fresh copies of ``gdlib.grading`` and ``gdlib.gradcheck`` loaded from disk, or to what
  the notebook's locked cells defined (after a locked helper cell runs, the guard
  ``pin``s the functions, classes and imports it defined). The guard proves it is the
  real one with an HMAC of a random challenge; if the proof is missing or wrong, the
  test cell is not run and fails with a ``GradingGuardError``. What the guard had to put
  back is logged (``tampering: ...``) with the submission's path.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from jupyter_core.utils import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution

from .sandbox import SandboxKernelManager

GUARD_SOURCE = (Path(__file__).with_name("kernel_guard.py")).read_text()


def trusted_modules() -> dict[str, str]:
    """``{module: file}`` for the modules whose checks the test cells call."""
    import importlib.util

    out = {}
    for name in ("gdlib.grading", "gdlib.gradcheck"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            out[name] = os.path.realpath(spec.origin)
    return out


def names_used(source: str) -> list[str]:
    """The plain names a cell reads (``grading``, ``check_close``, ...), sorted."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})


def names_defined(source: str) -> list[str]:
    """The functions, classes and imports a cell defines at its top level, sorted."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
    return sorted(out)


def error_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="GradingGuardError", evalue=message,
                        traceback=[f"GradingGuardError: {message}"])


class GuardedExecute(Execute):
    """``Execute`` with the sandboxed kernel and the guard (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        self._guarded_kc = None
        self._secret = ""

    def _hidden(self, code: str, **kwargs) -> dict:
        """Run ``code`` in the kernel without history or outputs; the reply."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                                 **kwargs)
        return run_sync(self.async_wait_for_reply)(msg_id)

    def _install_guard(self) -> None:
        self._secret = secrets.token_hex(16)
        call = f"_install({self._secret!r}, {trusted_modules()!r})"
        code = (f"exec(compile({GUARD_SOURCE + chr(10) + call!r}, '<grading guard>', 'exec'), "
                "{'__name__': '__grading_guard__'})")
        # No student code has run yet, so nothing can hang here: no time limit (a busy
        # machine can take long to import gdlib and numpy), only a dead kernel stops it.
        timeout, self.timeout = self.timeout, None
        try:
            reply = self._hidden(code)
        finally:
            self.timeout = timeout
        if reply is None or reply["content"]["status"] != "ok":
            content = reply["content"] if reply else {}
            raise RuntimeError("the grading guard could not be installed in the kernel: "
                               f"{content.get('ename')}: {content.get('evalue')}")
        self._hidden("pass")
        self._guarded_kc = self.kc

    def _restore(self, cell, pin: list[str] | None = None) -> str | None:
        """Ask the guard to restore the kernel (or to ``pin`` names); None, or why not."""
        challenge = secrets.token_hex(16)
        expr = f"__grading_guard__({challenge!r}, {names_used(cell.source)!r}, {pin or []!r})"
        try:
            reply = self._hidden("", user_expressions={"guard": expr})
        except Exception as err:  # a dead kernel, a timeout
            return f"the kernel did not answer the grading guard ({type(err).__name__})"
        result = (reply or {}).get("content", {}).get("user_expressions", {}).get("guard", {})
        text = result.get("data", {}).get("text/plain", "") if result.get("status") == "ok" \
            else ""
        proof, _, changed = text.strip("'\"").partition(":")
        expected = hmac.new(self._secret.encode(), challenge.encode(), hashlib.sha256)
        if not hmac.compare_digest(proof, expected.hexdigest()):
            return ("the kernel's grading guard was removed or replaced, or the kernel's "
                    "execution machinery was changed: this test cell is not run")
        if changed:
            where = self.resources.get("metadata", {}).get("path", "?")
            self.log.warning("tampering in %s: the grading guard put back %s before %s",
                             where, changed, cell.metadata.get("nbgrader", {}).get("grade_id"))
        return None

    def preprocess_cell(self, cell, resources, index):
        if self._guarded_kc is not self.kc:
            self._install_guard()
        meta = cell.metadata.get("nbgrader", {})
        locked = cell.cell_type == "code" and not is_solution(cell) and (
            is_grade(cell) or meta.get("locked", False))
        if locked:
            problem = self._restore(cell)
            if problem is not None:
                cell.outputs = [error_output(problem)]
                cell.execution_count = None
                return cell, self.resources
        cell, resources = super().preprocess_cell(cell, resources, index)
        if locked and not is_grade(cell) and names_defined(cell.source):
            self._restore(cell, pin=names_defined(cell.source))
        return cell, resources

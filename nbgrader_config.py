"""nbgrader's configuration for the course (read by every `nbgrader ...` command run here).

Layout, relative to the course root (the repository root by default):

    lessons/<lesson>/<notebook>.ipynb                 the source notebooks (with solutions)
    grading/release/<lesson>/                         student copies (`make release`)
    grading/submitted/<student>/<lesson>/             what students hand in
    grading/autograded/<student>/<lesson>/            executed and scored copies
    grading/feedback/<student>/<lesson>/              HTML feedback
    grading/gradebook.db                              the sqlite gradebook
    grading/grades.csv                                `make export`

`grading/` is ignored by git, so grading a class never touches the course's files.

Environment variables (all optional): ``GDLIB_CELL_TIMEOUT`` is the time limit per
cell while grading (seconds, default 120), ``GDLIB_COURSE_ID`` the course id
(default ``gd-course``), ``GDLIB_SANDBOX`` (``bwrap``, the default, or ``off``),
``GDLIB_GRADING_MEMORY`` (the memory limit of a grading kernel, default ``4G``),
``GDLIB_SOURCE_DIR`` (set by ``tools/grading.py`` when a private overlay of hidden
tests is merged), and two move things:

- ``GDLIB_COURSE_ROOT``: the course root (default: the folder of this file;
  ``--CourseDirectory.root=DIR`` on nbgrader's command line wins);
- ``GDLIB_GRADING_DIR``: the folder for release/submitted/... and the gradebook,
  relative to the course root or absolute (default: ``grading``).

``tools/grading.py --course-root DIR`` sets the first for you. No Jupyter server is
needed for any of this: nbgrader runs the notebooks with its own kernel.
"""

import os
import sys

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)


def _root_from_command_line():
    """``--CourseDirectory.root`` when given to nbgrader, so the gradebook follows it."""
    for i, arg in enumerate(sys.argv):
        if arg.startswith("--CourseDirectory.root="):
            return arg.split("=", 1)[1]
        if arg == "--CourseDirectory.root" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return None


_here = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(
    _root_from_command_line() or os.environ.get("GDLIB_COURSE_ROOT") or _here
)
_grading = os.environ.get("GDLIB_GRADING_DIR") or "grading"
GRADING = os.path.join(ROOT, _grading)  # an absolute _grading wins in the join
# nbgrader joins each step folder to the root and matches paths with a regular
# expression built from the parts, so the step folders must be relative to the root.
_rel = os.path.relpath(GRADING, ROOT)

c.CourseDirectory.course_id = os.environ.get("GDLIB_COURSE_ID", "gd-course")
c.CourseDirectory.root = ROOT
# A private overlay of hidden tests (GDLIB_HIDDEN_OVERLAY, see tools/grader/privacy.py)
# is merged into a copy of the lessons under grading/source, which nbgrader then uses.
c.CourseDirectory.source_directory = os.environ.get("GDLIB_SOURCE_DIR") or "lessons"
c.CourseDirectory.release_directory = os.path.join(_rel, "release")
c.CourseDirectory.submitted_directory = os.path.join(_rel, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(_rel, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(_rel, "feedback")
c.CourseDirectory.solution_directory = os.path.join(_rel, "solution")
c.CourseDirectory.source_with_tests_directory = os.path.join(_rel, "source_with_tests")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(GRADING, "gradebook.db")
os.makedirs(GRADING, exist_ok=True)  # sqlite creates the file, not its folder
# Keep helper folders and caches out of the student copies.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache",
]

# Student copies: the solution region becomes this stub, hidden tests are removed.
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# Grading runs every submitted notebook top to bottom. A cell that runs longer
# than this (an infinite loop) is interrupted and counts as failed; the rest of
# the notebook and the other submissions are still graded. The lessons run in
# under a minute, so two minutes per cell is generous.
_timeout = int(os.environ.get("GDLIB_CELL_TIMEOUT", "120"))
c.Execute.timeout = _timeout
c.ExecutePreprocessor.timeout = _timeout
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
# How long the outputs may lag behind a cell's reply (nbclient's default, 4 s, failed
# whole submissions with "Timeout waiting for IOPub output" on a busy machine).
c.Execute.iopub_timeout = 60
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
# Figures: the kernel's own inline backend draws them into the autograded
# notebooks and the feedback (MPLBACKEND=Agg would leave only "<Figure ...>" text).
if os.environ.get("MPLBACKEND", "").lower() == "agg":
    del os.environ["MPLBACKEND"]

# The course's grading machinery (tools/grader): each kernel runs in a bubblewrap
# sandbox, and a guard puts back, before each test cell, what the student's code
# may have replaced (see tools/grader/guard.py). Feedback leaves out hidden tests.
def _tools_folder():
    """tools/ of this course: beside this file, or of the installed gdlib (a course copy)."""
    import importlib.util

    spec = importlib.util.find_spec("gdlib")
    found = [os.path.join(_here, "tools")]
    if spec is not None and spec.submodule_search_locations:
        found.append(os.path.join(os.path.dirname(list(spec.submodule_search_locations)[0]),
                                  "tools"))
    return next((f for f in found if os.path.isdir(os.path.join(f, "grader"))), None)


if _tools_folder() and _tools_folder() not in sys.path:
    sys.path.insert(0, _tools_folder())
try:
    from grader.guard import GuardedExecute
    from grader.privacy import HideHiddenTests
except ImportError as _err:
    # Only autograde and feedback need them; other commands work without.
    if any(cmd in sys.argv for cmd in ("autograde", "generate_feedback")):
        raise SystemExit(f"nbgrader_config.py: the course's tools/grader cannot be imported "
                         f"({_err}): run nbgrader through tools/grading.py, or put the "
                         "course's tools/ folder on PYTHONPATH") from None
    GuardedExecute = HideHiddenTests = None
from nbconvert.preprocessors import (  # noqa: E402
    ClearMetadataPreprocessor,
    CSSHTMLHeaderPreprocessor,
)
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

if GuardedExecute is not None:
    c.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

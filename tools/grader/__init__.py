"""The course's grading machinery behind ``tools/grading.py`` and ``nbgrader_config.py``.

- :mod:`grader.sandbox`: runs each submission's kernel under bubblewrap (``bwrap``):
  it sees only its own folder, the Python environment and ``gdlib``; no network, no
  view of other processes, memory and file-size limits.
- :mod:`grader.guard`: nbgrader's ``Execute`` preprocessor with a guard that puts
  back, before each graded test cell, what a student's code could have replaced
  (IPython's transformers and exception hooks, the shell's methods, builtins,
  ``gdlib.grading`` and the names the test cell uses).
- :mod:`grader.privacy`: feedback without hidden tests, and a private overlay of
  hidden tests kept outside the public repository.
"""

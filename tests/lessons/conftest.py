"""The lesson tests share one kernel per lesson (see harness.py)."""

from harness import lesson, pytest_generate_tests  # noqa: F401  (fixture and hook)

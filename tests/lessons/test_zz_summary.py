"""Across the course: every lesson is run by a module here, and the feedback is counted.

No kernel is started: this reads the lessons and the WRONG lists only.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
from harness import LESSONS, exercises, notebook_path

HERE = Path(__file__).resolve().parent


def _modules():
    out = {}
    for path in sorted(HERE.glob("test_[0-9][0-9]_*.py")):
        module = importlib.import_module(path.stem)
        out[module.LESSON] = module
    return out


def test_every_lesson_has_a_test_module():
    lessons = sorted(p.name for p in LESSONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    missing = [name for name in lessons if name not in _modules()]
    assert not missing, (
        f"lessons without a tests/lessons/test_NN_<name>.py module (so never executed by "
        f"the tests): {missing}")


def test_at_least_80_percent_of_wrong_answers_get_a_message_naming_the_mistake():
    wrong = [w for module in _modules().values() for w in module.WRONG]
    named = sum(w.named for w in wrong)
    assert wrong
    share = named / len(wrong)
    print(f"{named} of {len(wrong)} wrong answers get a message naming the mistake "
          f"({share:.0%}), over {len(_modules())} lessons")
    assert share >= 0.8


def test_every_exercise_of_the_course_has_three_wrong_answers():
    short = []
    for lesson, module in _modules().items():
        nb = nbformat.read(notebook_path(lesson), as_version=4)
        for ex in exercises(nb):
            n = sum(w.exercise == ex for w in module.WRONG)
            if n < 3:
                short.append(f"{lesson} {ex}: {n}")
    assert not short, f"exercises with fewer than 3 wrong answers: {short}"


def test_wrong_answer_ids_are_unique():
    for lesson, module in _modules().items():
        ids = [w.id for w in module.WRONG]
        dupes = {i for i in ids if ids.count(i) > 1}
        assert not dupes, f"{lesson}: duplicated wrong-answer ids {dupes}"


def test_expect_patterns_compile():
    for module in _modules().values():
        for w in module.WRONG:
            for pattern in w.expect:
                re.compile(pattern)

"""The lessons' prose names real things: every dotted ``gdlib.`` name in a lesson's
markdown imports (issue 17: a lesson named ``gdlib.nn.recurrent.SequenceClassifier``,
which does not exist)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"(?<![\w.])gdlib(?:\.[A-Za-z_]\w*)+")


def _markdown_names() -> list[tuple[str, str]]:
    found = set()
    for path in sorted((ROOT / "lessons").glob("*/*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                for name in NAME.findall("".join(cell["source"])):
                    found.add((path.parent.name, name.rstrip(".")))
    return sorted(found)


def resolve(dotted: str):
    """Import the longest module prefix of ``dotted``, then follow the attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


NAMES = _markdown_names()


def test_the_lessons_name_some_gdlib_api():
    assert len(NAMES) > 20


@pytest.mark.parametrize(("lesson", "name"), NAMES, ids=[f"{a}:{b}" for a, b in NAMES])
def test_every_gdlib_name_in_the_prose_exists(lesson, name):
    try:
        resolve(name)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"lesson {lesson} names `{name}`, which does not exist ({err})")

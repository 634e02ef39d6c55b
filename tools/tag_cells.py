"""Add the website's cell tags to the lessons, from what each cell is.

The book (Jupyter Book) folds and hides cells by their tags; the lessons mark
their cells for nbgrader and nbval. This keeps the two in step, so nobody tags by
hand:

- nbgrader solution cells, graded test cells and the read-only helpers of the
  tests (locked cells whose ``grade_id`` ends in ``helpers``, e.g. ``ex2-helpers``:
  their hints may spell out the answer) get ``hide-input``: the code is folded
  behind a toggle, so no solution shows until the reader unfolds it;
- interactive widget cells (tagged ``nbval-ignore-output``, nbval's own cell tag,
  and showing a ``gdlib.widgets`` explorer) get ``remove-output``: the website
  shows the static figure of the next cell instead of a widget that needs a live
  kernel;
- the fold says what it holds: myst-nb's cell metadata ``mystnb.code_prompt_show``
  and ``code_prompt_hide`` label a solution "Show solution" / "Hide solution", a
  test cell "Show the tests" / "Hide the tests" and a helper cell "Show the test
  helpers" / "Hide the test helpers" (myst-nb's default is "Show code cell
  source").

Run ``python tools/tag_cells.py`` after editing a lesson (``--check`` only reports,
for the tests).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def is_test_helper(cell: dict) -> bool:
    """A read-only code cell of helpers for an exercise's tests (``grade_id`` ``exN-helpers``)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return (cell.get("cell_type") == "code" and bool(meta.get("locked"))
            and not meta.get("solution") and not meta.get("grade")
            and str(meta.get("grade_id", "")).endswith("helpers"))


def wanted_tags(cell: dict) -> set[str]:
    """The tags the website needs on ``cell``."""
    if cell.get("cell_type") != "code":
        return set()
    meta = cell.get("metadata", {}).get("nbgrader", {})
    source = "".join(cell.get("source", ""))
    tags = set()
    if meta.get("solution") or meta.get("grade") or is_test_helper(cell):
        tags.add("hide-input")
    own_tags = cell.get("metadata", {}).get("tags", [])
    if "nbval-ignore-output" in own_tags and "explorer" in source:
        tags.add("remove-output")
    return tags


#: The fold's labels by kind of cell: (shown while folded, shown while open).
PROMPTS = {
    "solution": ("Show solution", "Hide solution"),
    "tests": ("Show the tests", "Hide the tests"),
    "helpers": ("Show the test helpers", "Hide the test helpers"),
}


def wanted_metadata(cell: dict) -> dict[str, str]:
    """The myst-nb cell metadata (``metadata.mystnb``) the website needs on ``cell``.

    A folded nbgrader cell gets the labels of its fold: a solution cell (also one
    graded by hand) "Show solution", a graded test cell "Show the tests", a test
    helper cell "Show the test helpers".
    """
    if cell.get("cell_type") != "code":
        return {}
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution"):
        show, hide = PROMPTS["solution"]
    elif meta.get("grade"):
        show, hide = PROMPTS["tests"]
    elif is_test_helper(cell):
        show, hide = PROMPTS["helpers"]
    else:
        return {}
    return {"code_prompt_show": show, "code_prompt_hide": hide}


def lesson_notebooks() -> list[Path]:
    return sorted(
        p for p in (ROOT / "lessons").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )


def missing_in_cell(cell: dict) -> list[str]:
    """What ``cell`` lacks for the website: tag names and ``mystnb.key=value`` items."""
    metadata = cell.get("metadata", {})
    missing = sorted(wanted_tags(cell) - set(metadata.get("tags", [])))
    have = metadata.get("mystnb", {})
    missing += [f"mystnb.{key}={value!r}" for key, value in wanted_metadata(cell).items()
                if have.get(key) != value]
    return missing


def missing_tags(path: Path) -> list[tuple[int, list[str]]]:
    """Cells of the notebook at ``path`` that lack website tags or metadata.

    Returns
    -------
    list of (int, list of str)
        The cell's index and what it lacks (see :func:`missing_in_cell`).
    """
    nb = json.loads(path.read_text())
    out = []
    for i, cell in enumerate(nb["cells"]):
        missing = missing_in_cell(cell)
        if missing:
            out.append((i, missing))
    return out


def tag(path: Path) -> int:
    """Add the missing tags and metadata to the notebook at ``path``; return how many."""
    nb = json.loads(path.read_text())
    changed = 0
    for cell in nb["cells"]:
        metadata = cell.setdefault("metadata", {})
        tags = metadata.setdefault("tags", [])
        for t in sorted(wanted_tags(cell) - set(tags)):
            tags.append(t)
            changed += 1
        if not tags:
            del metadata["tags"]
        for key, value in wanted_metadata(cell).items():
            if metadata.get("mystnb", {}).get(key) != value:
                metadata.setdefault("mystnb", {})[key] = value
                changed += 1
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    bad = 0
    for path in lesson_notebooks():
        rel = path.relative_to(ROOT)
        if args.check:
            for i, missing in missing_tags(path):
                print(f"{rel}: cell {i} needs {', '.join(missing)}")
                bad += 1
        else:
            n = tag(path)
            if n:
                print(f"{rel}: {n} tag(s) or label(s) added")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Add the website's cell tags to the lessons, from what each cell is.

The book (Jupyter Book) folds and hides cells by their tags; the lessons mark
their cells for nbgrader and nbval. This keeps the two in step, so nobody tags by
hand:

- nbgrader solution cells and graded test cells get ``hide-input``: the code is
  folded behind a toggle, so no solution shows until the reader unfolds it;
- interactive widget cells (tagged ``nbval-ignore-output``, nbval's own cell tag,
  and showing a ``gdlib.widgets`` explorer) get ``remove-output``: the website shows the static figure of the next
  cell instead of a widget that needs a live kernel.

Run ``python tools/tag_cells.py`` after editing a lesson (``--check`` only reports,
for the tests).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wanted_tags(cell: dict) -> set[str]:
    """The tags the website needs on ``cell``."""
    if cell.get("cell_type") != "code":
        return set()
    meta = cell.get("metadata", {}).get("nbgrader", {})
    source = "".join(cell.get("source", ""))
    tags = set()
    if meta.get("solution") or meta.get("grade"):
        tags.add("hide-input")
    own_tags = cell.get("metadata", {}).get("tags", [])
    if "nbval-ignore-output" in own_tags and "explorer" in source:
        tags.add("remove-output")
    return tags


def lesson_notebooks() -> list[Path]:
    return sorted(
        p for p in (ROOT / "lessons").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )


def missing_tags(path: Path) -> list[tuple[int, set[str]]]:
    nb = json.loads(path.read_text())
    out = []
    for i, cell in enumerate(nb["cells"]):
        missing = wanted_tags(cell) - set(cell.get("metadata", {}).get("tags", []))
        if missing:
            out.append((i, missing))
    return out


def tag(path: Path) -> int:
    nb = json.loads(path.read_text())
    changed = 0
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        for t in sorted(wanted_tags(cell) - set(tags)):
            tags.append(t)
            changed += 1
        if not tags:
            del cell["metadata"]["tags"]
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
                print(f"{rel}: cell {i} needs tags {sorted(missing)}")
                bad += 1
        else:
            n = tag(path)
            if n:
                print(f"{rel}: {n} tag(s) added")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

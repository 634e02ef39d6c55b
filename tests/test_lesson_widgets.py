"""Every lesson's interactive explorers redraw when their controls move.

nbval runs each lesson top to bottom, but nobody moves a slider there. Here each
lesson with an explorer is executed up to its last explorer, in a kernel, and then
every control of every :class:`gdlib.widgets.Explorer` in the lesson's namespace
is set to its extremes through the widget itself (which fires the same callback a
reader's click does). Each change must redraw, without an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(
    p for p in (ROOT / "lessons").glob("*/*.ipynb")
    if ".ipynb_checkpoints" not in p.parts and "explorer(" in p.read_text()
)

MOVE_EVERY_CONTROL = r'''
import ipywidgets as _w
from gdlib.widgets import Explorer as _Explorer

def _extremes(c):
    if isinstance(c, _w.FloatLogSlider):
        return [c.base ** c.max, c.base ** c.min]
    if hasattr(c, "min") and hasattr(c, "max"):
        return [c.max, c.min]
    if isinstance(c, _w.Checkbox):
        return [not c.value, c.value]
    return None

_report = []
_explorers = [v for v in list(globals().values()) if isinstance(v, _Explorer)]
assert _explorers, "the lesson defines an explorer but none is left in its namespace"
for _ex in _explorers:
    for _name, _c in _ex.controls.items():
        _values = _extremes(_c)
        if _values is None and hasattr(_c, "options"):
            _n = len(_c.options)
            if isinstance(_c, _w.SelectMultiple):  # each option alone, then all of them
                _choices = [(_i,) for _i in range(_n)] + [tuple(range(_n))]
            else:
                _choices = list(reversed(range(_n)))
            for _i in _choices:
                _before = _ex.draw_count
                _c.index = _i
                assert _ex.error is None, f"{_name} option {_i}: {_ex.error}"
                _report.append((_name, _i, _ex.draw_count - _before))
            continue
        for _v in _values or []:
            _before = _ex.draw_count
            _c.value = _v
            assert _ex.error is None, f"moving {_name} to {_v!r} failed:\n{_ex.error}"
            _report.append((_name, _v, _ex.draw_count - _before))
_report
'''


def _cells_up_to_last_explorer(nb):
    last = max(i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and "explorer(" in c.source)
    return nb.cells[: last + 1]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.parent.name)
def test_explorer_callbacks_redraw(path):
    nb = nbformat.read(path, as_version=4)
    nb.cells = _cells_up_to_last_explorer(nb) + [nbformat.v4.new_code_cell(MOVE_EVERY_CONTROL)]
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    out = nb.cells[-1].outputs
    result = next(o for o in out if o.output_type == "execute_result")
    moves = eval(result.data["text/plain"], {})  # noqa: S307 - a list of tuples we printed
    assert moves, "no control was moved"
    silent = [m for m in moves if m[2] < 1]
    # A value equal to the current one fires no event; anything else must redraw.
    assert len(silent) < len(moves), f"no move redrew the figure: {json.dumps(moves)}"

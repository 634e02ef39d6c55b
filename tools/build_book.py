"""Build the course website (Jupyter Book 1.x), strictly: any warning or cell error fails.

Usage::

    python tools/build_book.py            # HTML in book/_build/html/index.html

It first tags the lessons' cells for the website (``tools/tag_cells.py --check``
must pass: solutions folded, widgets replaced by their static figures), then runs

    jupyter-book build . --config book/_config.yml --toc book/_toc.yml
                         --path-output book --all -W -n --keep-going

from the repository root. Lessons are executed through the jupyter-cache in
``book/_build/.jupyter_cache``, so a rebuild only re-runs lessons that changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "book" / "_build" / "html"


def command() -> list[str]:
    return [
        str(Path(sys.executable).with_name("jupyter-book")), "build", ".",
        "--config", "book/_config.yml", "--toc", "book/_toc.yml", "--path-output", "book",
        "--all", "-W", "-n", "--keep-going",
    ]


def build(quiet: bool = False) -> subprocess.CompletedProcess:
    """Run the strict build; return the finished process (stdout and stderr merged)."""
    env = dict(os.environ, MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
    return subprocess.run(
        command(), cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
    )


def main() -> int:
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "tag_cells.py"), "--check"])
    if check.returncode:
        print("Some lesson cells lack their website tags: run `python tools/tag_cells.py`.")
        return check.returncode
    proc = build()
    if proc.returncode == 0:
        print(f"\nThe website is in {HTML.relative_to(ROOT)}/index.html")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())

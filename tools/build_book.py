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
CACHE = ROOT / "book" / "_build" / ".jupyter_cache"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def command() -> list[str]:
    return [
        str(Path(sys.executable).with_name("jupyter-book")), "build", ".",
        "--config", "book/_config.yml", "--toc", "book/_toc.yml", "--path-output", "book",
        "--all", "-W", "-n", "--keep-going",
    ]


def build_env() -> dict[str, str]:
    """The environment the lessons execute in during the build.

    Matplotlib draws with the inline backend, whatever the caller's ``MPLBACKEND``
    says: with a non-inline backend (``Agg``, as tests and CI often set) a figure
    executed by the kernel yields only the text ``<Figure size ...>`` and the page
    shows no picture.
    """
    return dict(os.environ, MPLBACKEND=INLINE_BACKEND, PYDEVD_DISABLE_FILE_VALIDATION="1")


def build(quiet: bool = False) -> subprocess.CompletedProcess:
    """Run the strict build; return the finished process (stdout and stderr merged)."""
    env = build_env()
    return subprocess.run(
        command(), cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
    )


def executed_notebook(source: Path):
    """The notebook ``source`` as the last build executed it, outputs included.

    The build executes through the jupyter-cache (``book/_build/.jupyter_cache``);
    its copies under ``_build/jupyter_execute/`` carry no outputs in this mode
    (myst-nb writes the notebook it read there, not the one merged from the cache).

    Parameters
    ----------
    source : Path
        A lesson notebook, e.g. ``lessons/03-gradient-descent/gradient_descent.ipynb``.

    Returns
    -------
    nbformat.NotebookNode
        The source's cells with the outputs of its cached execution.

    Raises
    ------
    KeyError
        If the cache holds no execution of this version of ``source``: build the
        book first (``make book``).
    """
    import nbformat
    from jupyter_cache import get_cache

    notebook = nbformat.read(source, as_version=4)
    try:
        _, merged = get_cache(CACHE).merge_match_into_notebook(notebook)
    except KeyError:
        raise KeyError(f"{source}: no executed version in {CACHE}; build the book first "
                       "(make book)") from None
    return merged


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

"""The website: built strictly from the lessons, then checked in a real browser.

The build (``tools/build_book.py``, the same as ``make book``) executes every
lesson and fails on any warning or cell error. The browser checks drive Debian's
Chromium through Playwright over the built site served on localhost, with every
request to another host blocked; they skip, with the reason, where Chromium or
Playwright is missing. Screenshots of each page land in
``book/_build/screenshots/`` (the test artifact).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402
import tag_cells  # noqa: E402

HTML = build_book.HTML
SHOTS = ROOT / "book" / "_build" / "screenshots"
LESSONS = tag_cells.lesson_notebooks()


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


PAGES = _toc_files()


@pytest.fixture(scope="module")
def site() -> Path:
    """Build the book once for this module; fail with the build's log on error."""
    proc = build_book.build(quiet=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-60:])
        pytest.fail(f"the strict book build failed (exit {proc.returncode}):\n{tail}")
    return HTML


def test_toc_lists_every_lesson_in_order():
    lessons = [str(p.relative_to(ROOT).with_suffix("")) for p in LESSONS]
    in_toc = [f for f in PAGES if f.startswith("lessons/")]
    assert in_toc == lessons, "book/_toc.yml must list every lesson, in order"
    for page in ("book/glossary", "book/bibliography", "docs/instructor-guide"):
        assert page in PAGES


def test_lessons_carry_their_website_tags():
    missing = {str(p.relative_to(ROOT)): tag_cells.missing_tags(p) for p in LESSONS}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"run `python tools/tag_cells.py`: {missing}"


def test_every_page_is_built(site):
    for page in PAGES:
        assert (site / f"{page}.html").is_file(), f"{page}.html was not built"
    assert (site / "index.html").is_file()
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


class _Cells(HTMLParser):
    """Collects the text of code cells, noting whether each sits inside <details>."""

    def __init__(self):
        super().__init__()
        self.depth_details = 0
        self.in_pre = 0
        self.chunks: list[tuple[bool, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.depth_details += 1
        elif tag == "pre":
            self.in_pre += 1

    def handle_endtag(self, tag):
        if tag == "details":
            self.depth_details -= 1
        elif tag == "pre":
            self.in_pre -= 1

    def handle_data(self, data):
        if self.in_pre:
            self.chunks.append((self.depth_details > 0, data))


def _solution_lines(nb_path: Path) -> list[str]:
    """Distinctive lines of solution code (between the BEGIN/END SOLUTION markers)."""
    nb = json.loads(nb_path.read_text())
    lines, shown = [], set()
    for cell in nb["cells"]:
        src = "".join(cell.get("source", ""))
        if "### BEGIN SOLUTION" not in src:
            # Code the lesson gives openly (a line may legitimately appear in both).
            shown.update(ln.strip() for ln in src.splitlines())
            continue
        body = src.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        lines += [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 12]
    return [ln for ln in lines if ln not in shown]


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.parent.name)
def test_solutions_are_folded_on_the_page(site, nb):
    page = site / nb.relative_to(ROOT).with_suffix(".html")
    parser = _Cells()
    parser.feed(page.read_text())
    visible = "".join(text for folded, text in parser.chunks if not folded)
    for line in _solution_lines(nb):
        assert line not in visible, f"solution code shown unfolded on {page.name}: {line!r}"


# --------------------------------------------------------------------------- browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser(site):
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium found (apt-get install chromium); .ci/run installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright)")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b, f"http://127.0.0.1:{server.server_address[1]}"
        b.close()
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _open(browser, url: str):
    """A new page at ``url`` with console errors and off-site requests recorded."""
    b, base = browser
    page = b.new_page(viewport={"width": 1280, "height": 900})
    page.errors, page.offsite = [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))

    def route(r):
        if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            page.offsite.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page


def _wait_for_math(page) -> None:
    """Wait until MathJax has typeset the page (pages without math do not load it)."""
    if page.evaluate("() => document.querySelector('.math') === null"):
        return
    page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=20000)
    page.evaluate("() => MathJax.startup.promise.then(() => true)")


@pytest.mark.parametrize("name", PAGES)
def test_page_in_browser(browser, name):
    page = _open(browser, f"{browser[1]}/{name}.html")
    try:
        _wait_for_math(page)
        page.screenshot(path=str(SHOTS / (name.replace("/", "__") + ".png")), full_page=False)
        assert not page.errors, f"JavaScript console errors on {name}: {page.errors}"
        assert not page.offsite, f"{name} tried to reach the network: {page.offsite}"
        # Every image has loaded.
        broken = page.evaluate(
            "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src)")
        assert not broken, f"images that did not load on {name}: {broken}"
        # Math is typeset: MathJax output present where the page has math, no raw TeX left.
        n_math = page.evaluate("() => document.querySelectorAll('.math').length")
        if n_math:
            n_typeset = page.evaluate("() => document.querySelectorAll('mjx-container').length")
            assert n_typeset >= n_math, f"{name}: {n_math} math blocks, {n_typeset} typeset"
        # Prose only: code cells and their outputs may show TeX legitimately.
        text = page.evaluate(
            "() => { const a = document.querySelector('article').cloneNode(true);"
            " a.querySelectorAll('pre, code, mjx-container, .cell_output, script')"
            ".forEach(e => e.remove()); return a.textContent; }")
        raw = re.findall(r"\\\(|\\\[|\$\$|\\frac|\\nabla", text)
        assert not raw, f"raw TeX left on {name}: {raw[:5]}"
    finally:
        page.close()


def test_solutions_hidden_until_unfolded(browser):
    nb = next((p for p in LESSONS if _solution_lines(p)), None)
    if nb is None:
        pytest.skip("no lesson has a solution cell yet")
    line = _solution_lines(nb)[0]
    page = _open(browser, f"{browser[1]}/{nb.relative_to(ROOT).with_suffix('.html')}")
    try:
        cell = page.locator("div.cell", has_text=line).first
        code = cell.locator("pre", has_text=line).first
        assert not code.is_visible(), "solution code visible before unfolding"
        cell.locator("summary").first.click()
        assert code.is_visible(), "the toggle did not reveal the solution"
    finally:
        page.close()


def test_next_page_link_works(browser):
    first, second = PAGES[0], PAGES[1]
    page = _open(browser, f"{browser[1]}/{first}.html")
    try:
        page.locator("a.right-next").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"{second}.html"), page.url
    finally:
        page.close()


def test_search_finds_momentum(browser):
    page = _open(browser, f"{browser[1]}/search.html?q=momentum")
    try:
        page.wait_for_selector("ul.search li", timeout=20000)
        hits = page.locator("ul.search li").count()
        page.screenshot(path=str(SHOTS / "search.png"))
        assert hits > 0
        assert not page.errors, page.errors
    finally:
        page.close()


def test_landing_page_redirects_and_tells_how_to_start(browser):
    page = _open(browser, f"{browser[1]}/index.html")
    try:
        page.wait_for_url(re.compile(r".*book/intro\.html"), timeout=10000)
        text = page.inner_text("article")
        assert "make lab" in text and "make test" in text and "Binder" in text
    finally:
        page.close()


def test_launch_and_download_buttons(site):
    html = (site / f"{PAGES[1]}.html").read_text()
    assert "mybinder.org" in html, "Binder launch button missing"
    assert "hub.example.org" in html or "jupyterhub" in html.lower()
    assert "btn-download" in html or "download" in html.lower()
    assert "github.com" in html, "repository link missing"


if os.environ.get("CI"):
    # In CI Chromium must be there (.ci/run installs it): a skip would hide a failure.
    def test_ci_has_chromium():
        assert _chromium(), ".ci/run must apt-get install chromium"

"""The website: built strictly from the lessons, then checked in a real browser.

The build (``tools/build_book.py``, the same as ``make book``) executes every
lesson and fails on any warning or cell error. The browser checks drive Debian's
Chromium through Playwright over the built site served on localhost, with every
request to another host blocked, at desktop (1280 px) and phone (390 px) width:
every page loads without errors, its math is typeset, it shows as many figures as
its executed notebook drew (never the text ``<Figure size ...>``), a figure keeps a
readable size on the phone, and axe-core (npm, ``book/package.json``, installed by
``make test``) finds no critical or serious accessibility violation. They skip,
with the reason, where Chromium, Playwright or axe-core is missing (never in CI).
Screenshots of the landing page and three lessons, at both widths, land in
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
import unicodedata
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402
import tag_cells  # noqa: E402

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import course_site  # noqa: E402

HTML = build_book.HTML
SHOTS = ROOT / "book" / "_build" / "screenshots"
AXE = ROOT / "book" / "node_modules" / "axe-core" / "axe.min.js"
LESSONS = tag_cells.lesson_notebooks()
#: Browser windows the pages are checked in: (name, viewport width, height).
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
#: Outputs that show as a picture on the page.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
#: Cell tags with which the page does not show a cell's outputs.
NO_OUTPUT_TAGS = {"remove-output", "remove-cell"}


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


PAGES = _toc_files()
#: The pages whose screenshots are kept: the landing page and a lesson or two of each part.
SHOT_LESSONS = ("03-gradient-descent", "09-adam", "16-cnn", "21-object-detection",
                "26-edge-of-stability", "30-transformer", "34-data-parallel")
SHOT_PAGES = [PAGES[0]] + [p for p in PAGES if p.split("/")[1:2]
                           and p.split("/")[1] in SHOT_LESSONS]


def _page_of(nb: Path) -> str:
    """The page name (toc entry) of a lesson notebook."""
    return str(nb.relative_to(ROOT).with_suffix(""))


def _expected_figures(name: str) -> int | None:
    """How many figures the page ``name`` must show: its executed notebook's images.

    None for a page that is not a notebook. Counts the outputs carrying an image
    (one figure however many image formats it carries) in the lesson as the build
    executed it, leaving out the cells whose outputs the website removes
    (``remove-output``: a live widget, shown by the static figure of the next cell
    instead).
    """
    if not name.startswith("lessons/"):
        return None
    count = 0
    for cell in build_book.executed_notebook(ROOT / f"{name}.ipynb").cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.get("cell_type") != "code" or tags & NO_OUTPUT_TAGS:
            continue
        count += sum(any(t in out.get("data", {}) for t in IMAGE_TYPES)
                     for out in cell.get("outputs", []))
    return count


@pytest.fixture(scope="module")
def site() -> Path:
    """Build the book once for this module; fail with the build's log on error."""
    proc = build_book.build(quiet=True)
    if proc.returncode != 0:
        lines = proc.stdout.splitlines()
        problems = [ln for ln in lines
                    if re.search(r"WARNING|ERROR|Error", ln) and "IPKernelApp" not in ln]
        tail = "\n".join(problems[:40] + ["..."] + lines[-15:])
        pytest.fail(f"the strict book build failed (exit {proc.returncode}):\n{tail}")
    return HTML


def test_toc_lists_every_lesson_in_order():
    lessons = [str(p.relative_to(ROOT).with_suffix("")) for p in LESSONS]
    in_toc = [f for f in PAGES if f.startswith("lessons/")]
    assert in_toc == lessons, "book/_toc.yml must list every lesson, in order"
    for page in ("book/glossary", "book/bibliography", "docs/instructor-guide"):
        assert page in PAGES


def test_lessons_carry_their_website_tags():
    """Folds, removed widget outputs and fold labels: what tools/tag_cells.py adds."""
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
    """Chromium and the site served on localhost: ``(browser, base URL)``."""
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


@pytest.fixture(scope="module")
def axe_script() -> str:
    """axe-core's script, installed from npm by ``make test`` (book/package.json)."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed: run `npm ci --prefix book` (make test does); "
                    f"{AXE.relative_to(ROOT)} is missing")
    return AXE.read_text()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _open(browser, url: str, width: str = "desktop"):
    """A new page at ``url`` with console errors and off-site requests recorded.

    ``width`` names a window of :data:`WIDTHS`; the phone is a touch screen that
    honours the page's viewport meta tag, as a real phone does.
    """
    b, base = browser
    w, h = WIDTHS[width]
    phone = width == "phone"
    page = b.new_page(viewport={"width": w, "height": h}, is_mobile=phone, has_touch=phone)
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


def _axe_violations(page, axe_script: str) -> list[str]:
    """axe-core's critical and serious violations on the page, one line each."""
    page.add_script_tag(content=axe_script)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['help']}; "
        f"first at {v['nodes'][0]['html'][:160]}"
        for v in result["violations"] if v["impact"] in ("critical", "serious")
    ]


#: Each figure a cell drew, as the page shows it.
_FIGURES_JS = """() => [...document.querySelectorAll('div.cell_output img')].map(i => {
    const box = i.closest('div.output') || i.parentElement;
    return {src: i.src, shown: i.getBoundingClientRect().width, natural: i.naturalWidth,
            boxScrolls: box.scrollWidth > box.clientWidth, boxTab: box.tabIndex};
})"""


def _shoot(page, name: str, width: str) -> None:
    """Screenshots for a person to look at: the top of the page, its first figure and
    its first folded solution."""
    slug = name.replace("/", "__")
    page.screenshot(path=str(SHOTS / f"{slug}-{width}.png"))
    for what, selector in (("figure", "div.cell_output img"),
                           ("solution", "details.hide summary >> text=Show solution")):
        element = page.locator(selector).first
        if element.count():
            element.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"{slug}-{width}-{what}.png"))


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", PAGES)
def test_page_in_browser(browser, axe_script, name, width):
    page = _open(browser, f"{browser[1]}/{name}.html", width)
    try:
        _wait_for_math(page)
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
        # Figures: as many as the executed notebook drew, each a picture, not its repr.
        article = page.inner_text("article")
        assert "<Figure size" not in article, (
            f"{name} shows a figure's text repr instead of the picture (matplotlib backend)")
        figures = page.evaluate(_FIGURES_JS)
        expected = _expected_figures(name)
        if expected is not None:
            assert len(figures) == expected, (
                f"{name}: {len(figures)} figures on the page, {expected} in its executed notebook")
        if width == "phone":
            # Readable: a figure keeps its natural size and its box scrolls sideways.
            for f in figures:
                assert f["shown"] >= f["natural"] - 1, f"{name}: figure shrunk on the phone: {f}"
                if f["natural"] > WIDTHS["phone"][0]:
                    assert f["boxScrolls"] and f["boxTab"] == 0, (
                        f"{name}: a wide figure's box neither scrolls nor takes focus: {f}")
        if name in SHOT_PAGES:
            _shoot(page, name, width)
        violations = _axe_violations(page, axe_script)
        assert not violations, f"axe-core on {name} at {width} width:\n" + "\n".join(violations)
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


def _launch_links(html: str) -> list[str]:
    """The launch links (Binder, JupyterHub) of a built page."""
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]
    return [h for h in hrefs if "urlpath=" in h]


def _lesson_of_urlpath(urlpath: str) -> Path | None:
    """The lesson source a launch link's JupyterLab path is the learner's copy of."""
    parts = urlpath.split("/")
    if parts[:2] != ["lab", "tree"] or course_site.LEARNER_FOLDER not in parts:
        return None
    rest = parts[parts.index(course_site.LEARNER_FOLDER) + 1:]
    return ROOT / course_site.LESSONS_FOLDER / "/".join(rest)


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.parent.name)
def test_launch_links_open_the_learners_copy(site, nb):
    html = (site / f"{_page_of(nb)}.html").read_text()
    links = _launch_links(html)
    binder = [u for u in links if urlparse(u).hostname == "mybinder.org"]
    assert len(binder) == 1, f"{nb.name}: one Binder link wanted, found {binder}"
    hub = os.environ.get(course_site.JUPYTERHUB_ENV, "")
    if hub:
        assert [u for u in links if u.startswith(hub.rstrip("/") + "/hub/")], (
            f"{course_site.JUPYTERHUB_ENV} is set but {nb.name} has no JupyterHub link")
    else:
        assert len(links) == 1 and "/hub/" not in html, (
            f"{nb.name}: a JupyterHub link though {course_site.JUPYTERHUB_ENV} is unset")
    assert "hub.example.org" not in html
    for url in links:
        urlpath = parse_qs(urlparse(url).query)["urlpath"][0]
        assert f"/{course_site.LEARNER_FOLDER}/" in f"/{urlpath}", (
            f"{url} opens {urlpath}, not the learner's copy in {course_site.LEARNER_FOLDER}/")
        source = _lesson_of_urlpath(urlpath)
        assert source == nb and source.is_file(), f"{url}: {urlpath} is no copy of {nb}"


def test_jupyterhub_link_follows_the_environment(monkeypatch):
    config = SimpleNamespace(html_theme_options={"launch_buttons": {"jupyterhub_url": "x"}})
    monkeypatch.delenv(course_site.JUPYTERHUB_ENV, raising=False)
    course_site._jupyterhub_from_environment(None, config)
    assert config.html_theme_options["launch_buttons"]["jupyterhub_url"] == ""
    monkeypatch.setenv(course_site.JUPYTERHUB_ENV, "https://hub.school.example/")
    course_site._jupyterhub_from_environment(None, config)
    assert config.html_theme_options["launch_buttons"]["jupyterhub_url"] == (
        "https://hub.school.example/")
    # The theme's JupyterHub link (nbgitpuller) is pointed at the copy in the clone.
    theme_url = ("https://hub.school.example/hub/user-redirect/git-pull?repo=https://github.com/"
                 "o/course&urlpath=lab/tree/course/lessons/03-x/x.ipynb&branch=main")
    buttons = [{"label": "launch-buttons",
                "buttons": [{"text": "JupyterHub", "url": theme_url}]}]
    course_site.retarget_launch_buttons("lessons/03-x/x", buttons)
    url = buttons[0]["buttons"][0]["url"]
    query = parse_qs(urlparse(url).query)
    assert query["urlpath"] == ["lab/tree/course/my-lessons/03-x/x.ipynb"]
    assert query["repo"] == ["https://github.com/o/course"] and query["branch"] == ["main"]
    assert course_site.learner_path("book/glossary") is None


def test_download_and_repository_buttons(site):
    html = (site / f"{PAGES[1]}.html").read_text()
    assert "btn-download" in html or "download" in html.lower()
    assert "github.com" in html, "repository link missing"


def test_every_page_has_the_favicon(site):
    assert (site / "_static" / "favicon.svg").is_file()
    for page in PAGES:
        html = (site / f"{page}.html").read_text()
        assert re.search(r'<link rel="icon" href="[./]*_static/favicon\.svg"', html), (
            f"{page}.html has no favicon link")


def _prompts(html: str) -> list[str]:
    return re.findall(r'<p class="collapsed admonition-title">([^<]*)</p>', html)


@pytest.mark.parametrize("nb", LESSONS, ids=lambda p: p.parent.name)
def test_folds_say_what_they_hold(site, nb):
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    kinds = [c.get("metadata", {}).get("nbgrader", {}) for c in cells]
    n_solutions = sum(bool(k.get("solution")) for k in kinds)
    n_tests = sum(bool(k.get("grade")) and not k.get("solution") for k in kinds)
    n_helpers = sum(tag_cells.is_test_helper(c) for c in cells)
    prompts = _prompts((site / f"{_page_of(nb)}.html").read_text())
    assert "Show code cell source" not in prompts, (
        f"{nb.name}: a fold labelled 'Show code cell source' (run `python tools/tag_cells.py`)")
    assert prompts.count("Show solution") == n_solutions
    assert prompts.count("Show the tests") == n_tests
    assert prompts.count("Show the test helpers") == n_helpers


def _normalized(text: str) -> str:
    """Letters and digits only, lower case, accents dropped: titles compare as text."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower())


def _title(entry) -> str:
    from pybtex.richtext import Text

    return _normalized(Text.from_latex(entry.fields["title"]).render_as("text"))


def test_bibliography_is_ordered_by_year(site):
    from pybtex.database import parse_file

    html = (site / "book" / "bibliography.html").read_text()
    assert "in the order of their year" in html
    entries = re.findall(r'<div class="citation" id="[^"]+" role="listitem">(.*?)</div>',
                         html, flags=re.S)
    text = [_normalized(re.sub(r"<[^>]+>", "", unescape(e))) for e in entries]
    bib = parse_file(str(ROOT / "book" / "references.bib")).entries.values()
    assert len(entries) == len(bib), "one list item per entry of references.bib"
    titles = [(_title(b), b) for b in bib]
    years = []
    for entry_text in text:
        match = [b for title, b in titles if title in entry_text]
        assert len(match) == 1, f"no single source matches the entry {entry_text[:80]}"
        years.append(int(match[0].fields["year"]))
    assert years == sorted(years), f"the bibliography is not in year order: {years}"


if os.environ.get("CI"):
    # In CI Chromium and axe-core must be there (.ci/run installs Chromium, make test
    # axe-core): a skip would hide a failure.
    def test_ci_has_chromium_and_axe():
        assert _chromium(), ".ci/run must apt-get install chromium"
        assert AXE.is_file(), "make test must install axe-core (npm ci --prefix book)"

"""Small Sphinx fixes for the course website.

- **Scripts once per page.** sphinx-thebe registers its inline configuration on
  every ``env-before-read-docs`` event, which Jupyter Book fires twice, so pages
  declared ``const THEBE_JS_URL`` twice: a JavaScript error in the console of
  every page.
- **Launch links open the learner's own copy.** The theme points Binder at the
  page's source path (``lessons/...``: the instructor's notebook, solutions
  filled in). A learner works in ``my-lessons/<lesson>/<notebook>.ipynb``, the
  git-ignored exercise copy that ``make lab`` and Binder's ``postBuild`` create,
  so the links open that path instead. The JupyterHub link is built only when
  ``GDLIB_JUPYTERHUB_URL`` names a hub at build time (no placeholder hub).
- **Folded cells named by what they show.** myst-nb writes
  ``<summary aria-label="Toggle hidden content">`` around the visible prompt
  ("Show solution"): a screen reader announces another name than the one seen
  (axe: ``label-content-name-mismatch``). Here the summary is named by its
  visible text.
- **Figures that scroll on a phone.** Each figure a cell draws sits in its own
  ``<div class="output cell_figure">`` (myst-nb puts the bare ``<img>`` in the
  cell's output box), so ``_static/course.css`` can let a wide figure scroll
  sideways at its natural size on a narrow screen, and the theme's script makes
  that box keyboard-focusable when it scrolls. Its alternative text says what it
  is, instead of the image file's path.
- **The bibliography as a list of list items.** docutils wraps citations in
  ``role="list"`` but gives each entry the deprecated DPUB role
  ``doc-biblioentry``, which is no list item any more (axe:
  ``aria-required-children``, critical). Each entry is a ``listitem`` here.
- **The bibliography in the order of the years.** ``{bibliography}`` with
  ``:style: plain_by_year`` numbers and lists the sources from the oldest
  (Cauchy, 1847) to the newest, ties by author and title: the course's history
  reads down the page.
"""

from __future__ import annotations

import os
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from docutils import nodes
from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitle
from sphinx.transforms.post_transforms import SphinxPostTransform

#: Where the learner's exercise copies live, relative to the repository root;
#: same layout as ``lessons/``.
LEARNER_FOLDER = "my-lessons"
#: The folder of the lesson sources, the pages' names start with it.
LESSONS_FOLDER = "lessons"
#: Build-time environment variable naming the JupyterHub for the launch button.
JUPYTERHUB_ENV = "GDLIB_JUPYTERHUB_URL"


# ----------------------------------------------------------------------- scripts


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # The same inline script comes once with filename None and once with "".
        attrs = getattr(js, "attributes", {})
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


# ------------------------------------------------------------------ launch links


def learner_path(pagename: str) -> str | None:
    """The learner's copy of a lesson page, relative to the repository root.

    Parameters
    ----------
    pagename : str
        Sphinx's page name, e.g. ``"lessons/03-gradient-descent/gradient_descent"``.

    Returns
    -------
    str or None
        ``"my-lessons/03-gradient-descent/gradient_descent.ipynb"``, or None for a
        page that is not a lesson (it gets no launch links).
    """
    parts = pagename.split("/")
    if len(parts) != 3 or parts[0] != LESSONS_FOLDER:
        return None
    return "/".join([LEARNER_FOLDER, parts[1], parts[2] + ".ipynb"])


def _with_query(url: str, **changes: str) -> str:
    """``url`` with the query parameters in ``changes`` replaced."""
    split = urlsplit(url)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(split._replace(query=urlencode(query, safe="/")))


def retarget_launch_buttons(pagename: str, header_buttons: list[dict]) -> None:
    """Point the page's Binder and JupyterHub buttons at the learner's copy.

    Binder (``postBuild``) creates ``my-lessons/`` in the repository root, which
    is JupyterLab's root there: ``urlpath=lab/tree/my-lessons/...``. nbgitpuller
    on a JupyterHub clones the repository into a folder named after it, so its
    ``urlpath`` keeps that folder in front (the hub's image must create the
    learner copies, as ``postBuild`` does on Binder). Non-lesson pages are left
    alone; a lesson page's other buttons too.
    """
    target = learner_path(pagename)
    if target is None:
        return
    for group in header_buttons:
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if button.get("text") == "Binder":
                button["url"] = _with_query(url, urlpath=f"lab/tree/{target}")
            elif button.get("text") == "JupyterHub":
                repo = urlsplit(dict(parse_qsl(urlsplit(url).query)).get("repo", "")).path
                folder = repo.rstrip("/").rsplit("/", 1)[-1]
                button["url"] = _with_query(url, urlpath=f"lab/tree/{folder}/{target}")


def _launch_buttons(app, pagename, templatename, context, doctree):
    retarget_launch_buttons(pagename, context.get("header_buttons", []))


def _jupyterhub_from_environment(app, config):
    """Take the JupyterHub URL from ``GDLIB_JUPYTERHUB_URL``; no button while unset."""
    launch = config.html_theme_options.setdefault("launch_buttons", {})
    launch["jupyterhub_url"] = os.environ.get(JUPYTERHUB_ENV, "").strip()


# ------------------------------------------------------------------------ figures

#: The alternative text of a figure drawn by a code cell.
FIGURE_ALT = "Figure drawn by the code cell above"


class WrapCellFigures(SphinxPostTransform):
    """Put each image a code cell outputs in a ``div.output.cell_figure`` box."""

    default_priority = 200
    formats = ("html",)

    def run(self, **kwargs):
        for image in list(self.document.findall(nodes.image)):
            parent = image.parent
            if "cell_output" not in parent.get("classes", []):
                continue
            box = nodes.container(classes=["output", "cell_figure"])
            parent.replace(image, box)
            box.append(image)
            if image.get("alt", "") in ("", image.get("uri", "")):
                image["alt"] = FIGURE_ALT


# ------------------------------------------------------------------ accessibility


def _visit_hidden_cell(self, node):
    """myst-nb's fold, the ``<summary>`` named by its visible prompt."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append("<summary>\n")
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def _visit_citation(self, node):
    """A citation as a list item of the ``role="list"`` that docutils opens."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def _depart_citation(self, node):
    self.body.append("</div>\n")
    if not isinstance(node.next_node(descend=False, siblings=True), type(node)):
        self.body.append("</div>\n")


# ------------------------------------------------------------------ bibliography


class YearAuthorTitle(AuthorYearTitle):
    """pybtex sorting by year, then author, then title; entries without a year last."""

    def sorting_key(self, entry):
        author, year, title = super().sorting_key(entry)
        return (0 if year else 1, year, author, title)


class PlainByYear(PlainStyle):
    """pybtex's ``plain`` style (numbered labels), sorted by year."""

    default_sorting_style = "year_author_title"


register_plugin("pybtex.style.sorting", "year_author_title", YearAuthorTitle)
register_plugin("pybtex.style.formatting", "plain_by_year", PlainByYear)


def setup(app):
    app.connect("config-inited", _jupyterhub_from_environment)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # After the theme's add_launch_buttons (priority 501).
    app.connect("html-page-context", _launch_buttons, priority=600)
    app.add_node(HideCodeCellNode, override=True,
                 html=(_visit_hidden_cell, depart_HideCellInput))
    app.add_post_transform(WrapCellFigures)
    app.add_node(nodes.citation, override=True, html=(_visit_citation, _depart_citation))
    return {"parallel_read_safe": True, "parallel_write_safe": True}

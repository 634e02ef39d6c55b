"""Small Sphinx fixes for the course website.

- Each script is included once per page. sphinx-thebe registers its inline
  configuration on every ``env-before-read-docs`` event, which Jupyter Book fires
  twice, so pages declared ``const THEBE_JS_URL`` twice: a JavaScript error in
  the console of every page.
"""

from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

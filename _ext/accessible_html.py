"""Sphinx extension: two fixes to the HTML that Sphinx and docutils write, found by the browser test.

tests/browser loads every page in Chromium and audits it with axe-core; these are the two problems
it found that come from our tool chain rather than from the book's text, fixed where they arise:

1. A duplicated inline script. Sphinx 7.4 writes an inline ``<script>`` twice when an extension
   registers it after the builder has started (the builder keeps it with filename ``None``, and the
   registry adds it again with filename ``''``). sphinx-thebe, which Jupyter Book always loads,
   does this, and the second copy throws "Identifier 'THEBE_JS_URL' has already been declared" on
   every page. Identical inline scripts are kept once.
2. An invalid ARIA list in the bibliography. docutils writes each citation as
   ``<div role="doc-biblioentry">`` inside ``<div role="list">``; DPUB-ARIA 1.1 deprecated
   ``doc-biblioentry``, so assistive technology sees a list with no items (axe-core:
   aria-required-children, critical). Each entry becomes ``role="listitem"``, what DPUB-ARIA says
   to use instead.
"""

DEPRECATED_CITATION_ROLE = 'role="doc-biblioentry"'
CITATION_ROLE = 'role="listitem"'


def _inline_key(script):
    """What makes two inline scripts the same, or None for a script loaded from a file."""
    if script.filename:
        return None
    return tuple(sorted((key, str(value)) for key, value in script.attributes.items()))


def keep_one_copy_of_each_inline_script(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _inline_key(script)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        unique.append(script)
    # In place: the builder restores its own list before each page.
    scripts[:] = unique


def use_listitem_for_citations(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and DEPRECATED_CITATION_ROLE in body:
        context["body"] = body.replace(DEPRECATED_CITATION_ROLE, CITATION_ROLE)


def setup(app):
    # Late (priority 900), after the theme and the other extensions have added their scripts.
    app.connect("html-page-context", keep_one_copy_of_each_inline_script, priority=900)
    app.connect("html-page-context", use_listitem_for_citations, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

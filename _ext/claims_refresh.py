"""Sphinx extension: re-read the pages built from the chapters' outputs whenever another page changed.

The "Claims checked" page and the sources' ledger are assembled from the chapters' stored outputs.
Sphinx re-reads only pages whose own source changed, so without this a chapter edited after the
first build would leave their tables stale. Both pages are executed with ``execution_mode: force``
(see their front matter), so re-reading them recomputes the tables.
"""

from pathlib import Path

CLAIMS_PAGE = "reference/claims"
LEDGER_PAGE = "reference/source_ledger"
LEDGER_FILE = "reference/source_ledger.toml"
BUILT_FROM_OUTPUTS = {CLAIMS_PAGE, LEDGER_PAGE}


def _outdated(app, env, added, changed, removed):
    if (added | changed | removed) - BUILT_FROM_OUTPUTS:
        return sorted(BUILT_FROM_OUTPUTS & set(env.found_docs))
    return []


def _note_ledger_file(app, docname, source):
    # The ledger's rows live in a data file beside the page: re-read the page when it changes.
    if docname == LEDGER_PAGE:
        app.env.note_dependency(str(Path(app.srcdir) / LEDGER_FILE))


def setup(app):
    app.connect("env-get-outdated", _outdated)
    app.connect("source-read", _note_ledger_file)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

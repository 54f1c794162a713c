"""Sphinx extension: re-read the "Claims checked" page whenever any other page changed.

The claims page is assembled from the chapters' stored outputs. Sphinx re-reads only pages whose
own source changed, so without this a chapter edited after the first build would leave the claims
table stale. The page itself is executed with ``execution_mode: force`` (see its front matter), so
re-reading it recomputes the table.
"""

CLAIMS_PAGE = "reference/claims"


def _outdated(app, env, added, changed, removed):
    if (added | changed | removed) - {CLAIMS_PAGE} and CLAIMS_PAGE in env.found_docs:
        return [CLAIMS_PAGE]
    return []


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Search: one set of documents from the release data, two indexes.

* ``documents.py`` — the search documents (items in force or suspended, life events);
* ``server_index.py`` — Whoosh + jieba, for ``approvals search``, ``GET /api/search`` and the
  related items on each item page; updated incrementally from release to release;
* ``browser_index.py`` — Pagefind's extended build, for the search page of the static site;
* ``synonyms.yaml`` — how people ask → how items are named (admin-editable);
* ``steps.py`` — the two build steps; ``api.py`` — the HTTP endpoint's logic.

The release keeps ``search/`` beside ``data/`` and ``site/``::

    search/index.json       schema version, what the last update did, the synonyms in force
    search/whoosh/          the server index
    search/documents.json   the documents both indexes were built from
    search/related.json     impl_code → related items (read by the site generator)
    site/pagefind/          the browser index (+ search-config.json)
"""

"""Search: one set of documents from the release data, two indexes.

* ``documents.py`` — the search documents (items in force or suspended, life events);
* the **server index** (Whoosh + jieba) for ``approvals search``, ``GET /api/search`` and the
  related items on each item page, updated incrementally from release to release:
  ``server_index.py`` (the tokenizer and schema: its path is pickled into every index),
  ``server_write.py`` (building), ``server_query.py`` (searching, thread-safe),
  ``whoosh_fast.py`` (Whoosh's internals, only on the Whoosh versions it names);
* ``pagefind/`` — the **browser index**, Pagefind's extended build, for the search page of the
  static site: ``index.py`` runs it; ``rewrite.py`` names the Pagefind versions for which
  ``merge.py`` (runs over pieces merged) and ``bundle.py`` (the bundle re-written small and
  reproducible) are used;
* ``synonyms.yaml`` — how people ask → how items are named (admin-editable);
* ``steps.py`` — the two build steps; ``api.py`` — the HTTP endpoint's logic; ``cli.py`` —
  ``approvals search``.

The release keeps ``search/`` beside ``data/`` and ``site/``::

    search/index.json       schema version, what the last update did, the synonyms in force
    search/whoosh/          the server index
    search/documents.json   the documents both indexes were built from
    search/related.json     impl_code → related items (read by the site generator)
    site/pagefind/          the browser index (+ search-config.json)
"""

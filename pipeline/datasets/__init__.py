"""Open datasets: the release data as tables, in every format a journalist's tool reads, with
metadata that says what each column means and checksums that prove nothing was changed.

One release's files (``site/data/releases/<YYYY-MM-DD>/``, the same files at ``site/data/latest/``)::

    csv/<table>.csv          UTF-8 without BOM, the canonical form (datapackage.json describes it)
    excel-csv/<table>.csv    the same bytes with a BOM, so that Excel reads the Chinese right
    xlsx/<table>.xlsx        Chinese column labels, dates as dates, a 字段说明 sheet
    parquet/<table>.parquet  written by DuckDB: dates as DATE, decimals as DECIMAL
    ndjson/<table>.ndjson    one JSON object a line
    open-approvals.sqlite    every table, foreign keys, FTS5 (jieba words) on item names and conditions
    items.nested.json        the items as the export contract describes them
    changes.json             what changed since the previous release (pipeline.history)
    contract/                the export contract's JSON Schema and OpenAPI
    datapackage.json         Frictionless Data Package v2 (a Table Schema per table)
    open-approvals.zip       all of the above
    catalog.jsonld           DCAT-AP 3: a dataset per table, a distribution per format
    SHA256SUMS               ``sha256sum -c SHA256SUMS`` checks every file

``schema`` declares the tables once (columns, types, keys, Chinese labels); every format and every
metadata file is generated from it. Same release data → byte-identical files.
"""

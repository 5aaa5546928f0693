"""Validate and map: each record from the export becomes a typed model of the contract or a
problem (``records``, with ``mapping`` and its ``profiles/`` turning an upstream's names and codes
into the contract's), cross-record checks build the catalogue (``catalogue``: departments, items,
life events, files checked by content in ``filetypes``: ZIP bombs in ``archives``, active content
in ``pdf``), and the problems are collected into the data-quality report (``problems``)."""

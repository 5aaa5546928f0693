"""Every release gate, in one place. Each refuses to publish with a message naming what is
wrong; nothing changes live.

- ``manifest``: counts against the manifest, the share of invalid records (an export that is
  broken as a whole);
- ``shrink``: the release shrank past a threshold against the live one;
- ``anonymity``: the anonymised case records meet k and the adverse-result rule (checked again,
  independently of the code that enforced them);
- ``site``: one page per published item, the required pages, no broken internal link;
- ``datasets``: SHA256SUMS, Table Schemas and Frictionless validation of the open data;
- ``privacy``: no personal identifier in any published file.
"""

"""The release: the release data every page, dataset and index is rendered from (``data``), the
disclosure completeness computed with it (``quality``), the folder layout of a release
(``layout``), one build at a time (``lock``), and the atomic publish / prune / rollback of
``releases/<id>/`` and ``current`` (``publish``)."""

"""The browser's search index: Pagefind run over pages made from the search documents
(``index``), in pieces merged into one bundle (``merge``), the bundle re-written small
(``bundle``)."""

"""Operations: the admin endpoint and ``trigger`` (``admin``), status.json and the run log
(``status``), and the local preview server with the search API (``serve``)."""

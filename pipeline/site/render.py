"""The render step: Pelican builds the site, with this project's plugin (``pipeline.site``)
generating the data-driven pages from the release data."""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.errors import ConfigurationError
from pipeline.release.data import ReleaseData


def render_site(
    data_dir: Path, output_dir: Path, settings_file: Path, release: ReleaseData | None = None
) -> None:
    """Pelican builds the site from the release data in ``data_dir``; ``release`` is that data
    already in memory (the build's), else the generator loads it from the folder."""
    from pelican import Pelican
    from pelican.settings import read_settings

    if not settings_file.is_file():
        raise ConfigurationError(f"找不到 Pelican 配置文件 {settings_file}")
    settings = read_settings(
        str(settings_file),
        override={
            "OUTPUT_PATH": str(output_dir),
            "APPROVALS_RELEASE_DATA": str(data_dir),
        },
    )
    settings["APPROVALS_RELEASE"] = release
    failed = _PelicanFileErrors()
    logging.getLogger("pelican").addHandler(failed)
    try:
        Pelican(settings).run()
    finally:
        logging.getLogger("pelican").removeHandler(failed)
    if failed.errors:
        raise failed.errors[0]


class _PelicanFileErrors(logging.Handler):
    """Pelican logs a file it could not copy (``pelican.utils.copy_file``: the theme's CSS, a
    static file) as a warning and goes on, so a full disk would publish a site with that file
    missing or cut short. The errors are collected here and the build raises the first."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[OSError] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.errors += [arg for arg in args if isinstance(arg, OSError)]

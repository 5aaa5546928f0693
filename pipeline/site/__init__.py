"""The site: a Pelican plugin whose generator reads the release data and writes every
data-driven page (items, departments, themes, audiences, A–Z, life events, data quality,
developers). Registered through Pelican's ``get_generators`` signal; no generated Markdown."""

from __future__ import annotations

from pelican import signals


def _generators(_pelican):
    from pipeline.site.generator import ApprovalsGenerator

    return ApprovalsGenerator


def register() -> None:
    signals.get_generators.connect(_generators)

"""``--if-changed`` compares the export with the live release by ``export_id`` and the
``exported_at`` *instant*: the release keeps the time as the contract's model writes it, so an
export whose ``exported_at`` carries fractional seconds (``…T23:30:00.000+08:00``) was built
again every night."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, refuse_if_unchanged
from pipeline.contract.models import Manifest
from pipeline.errors import NothingChanged
from pipeline.release.data import write_release_data
from pipeline.release.publish import swap_current
from pipeline.validate.catalogue import Catalogue
from pipeline.validate.problems import Report
from tests.fixtures import small_export

LIVE_AT = "2026-11-25T23:30:00.000+08:00"


def _site_live_with(export: Path, site: Path) -> None:
    """A site whose live release holds ``export``'s manifest as a build writes it."""
    raw = json.loads((export / "manifest.json").read_text("utf-8"))
    data = site / "releases" / "r000001-x" / "data"
    data.mkdir(parents=True)
    write_release_data(data, Catalogue(Manifest.model_validate(raw)), Report())
    swap_current(site, "r000001-x")


def _with(export: Path, **fields: str) -> Path:
    raw = json.loads((export / "manifest.json").read_text("utf-8"))
    (export / "manifest.json").write_text(json.dumps({**raw, **fields}), encoding="utf-8")
    return export


@pytest.fixture
def site(tmp_path: Path) -> Path:
    _site_live_with(small_export(tmp_path / "live", exported_at=LIVE_AT), tmp_path / "site")
    return tmp_path / "site"


@pytest.mark.parametrize(
    "exported_at", [LIVE_AT, "2026-11-25T23:30:00+08:00", "2026-11-25T15:30:00.000000Z"]
)
def test_the_same_export_at_the_same_instant_is_unchanged(site, tmp_path, exported_at):
    export = _with(small_export(tmp_path / "again"), exported_at=exported_at)
    with pytest.raises(NothingChanged, match="导出 test-export 已是线上版本"):
        refuse_if_unchanged(BuildOptions(export=str(export), site_dir=site, if_changed=True))


@pytest.mark.parametrize(
    "fields",
    [
        {"exported_at": "2026-11-25T23:30:00.5+08:00"},
        {"exported_at": "2026-11-25T23:30:00"},  # no offset: not the contract's, never the same
        {"exported_at": "not a time"},
        {"export_id": "test-export-2"},
    ],
)
def test_another_export_or_instant_is_built(site, tmp_path, fields):
    export = _with(small_export(tmp_path / "other", exported_at=LIVE_AT), **fields)
    refuse_if_unchanged(BuildOptions(export=str(export), site_dir=site, if_changed=True))

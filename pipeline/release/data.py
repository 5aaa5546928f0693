"""Release data: the single source for every page, dataset and index of one release.

A folder, written once and never modified::

    manifest.json       the export's identity (export_id, exported_at, system) and kept counts
    departments.json    items.json    life_events.json    files.json   (sorted by key)
    quality.json        the validation report and the disclosure-completeness scores
    files/<file_id>/<filename>   the checked bytes of each downloadable form

Same export → byte-identical files (sorted records, sorted keys, no build clock).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pipeline.canonical_json import write_json
from pipeline.contract.models import Contract, Department, File, Item, LifeEvent
from pipeline.paths import safe_join
from pipeline.release.quality import completeness
from pipeline.validate.catalogue import Catalogue, FileSink
from pipeline.validate.problems import Report

CHINA = timezone(timedelta(hours=8))


def version_of(manifest: dict[str, Any]) -> str:
    """A release's version: the date of its export, in Beijing time."""
    return datetime.fromisoformat(manifest["exported_at"]).astimezone(CHINA).date().isoformat()


def write_records_json(path: Path, models: dict[str, Any]) -> None:
    """Like ``write_json`` of the sorted records' list, byte for byte, one record at a time:
    the whole list (and its text, ~5 KiB per item) is never in memory at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        if not models:
            out.write("[]\n")
            return
        out.write("[\n")
        for n, key in enumerate(sorted(models)):
            record = models[key].model_dump(mode="json", exclude_none=True)
            # JSON strings hold no raw newline, so this indents the record one level, as
            # json.dumps(list, indent=1) does.
            text = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True).replace(
                "\n", "\n "
            )
            out.write((",\n " if n else " ") + text)
        out.write("\n]\n")


def file_sink(release_dir: Path) -> FileSink:
    """Where checked file bytes go: ``files/<file_id>/<filename>`` inside the release data."""

    def write(file: File, data: bytes) -> None:
        target = safe_join(release_dir / "files", f"{file.file_id}/{file.filename}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    return write


def write_release_data(release_dir: Path, catalogue: Catalogue, report: Report) -> ReleaseData:
    """Write the release data and return it as loaded, sharing the catalogue's models (the
    build holds the data once; ``load_release_data`` of the folder gives equal records)."""
    manifest = catalogue.manifest.model_dump(mode="json", exclude={"sha256"})
    manifest["kept"] = dict(sorted(report.kept.items()))
    write_json(release_dir / "manifest.json", manifest)
    quality = {"report": report.as_dict(), "completeness": completeness(catalogue, report)}
    for name, models in (
        ("departments", catalogue.departments),
        ("items", catalogue.items),
        ("life_events", catalogue.life_events),
        ("files", catalogue.files),
    ):
        write_records_json(release_dir / f"{name}.json", models)
    write_json(release_dir / "quality.json", quality)
    # Round-trip the small parts through JSON so that they are what a reader of the folder gets.
    return ReleaseData(
        root=release_dir,
        manifest=_load(release_dir / "manifest.json"),
        departments=_sorted(catalogue.departments),
        items=_sorted(catalogue.items),
        life_events=_sorted(catalogue.life_events),
        files=_sorted(catalogue.files),
        quality=_load(release_dir / "quality.json"),
        outcomes=_load(release_dir / "outcomes.json")
        if (release_dir / "outcomes.json").is_file()
        else None,
    )


def _sorted(models: dict[str, Any]) -> dict[str, Any]:
    return {key: models[key] for key in sorted(models)}


class RecordsView(Mapping[str, dict[str, Any]]):
    """Models seen as their release-data records (``key → dict`` as in ``items.json``), each
    made when it is asked for: a reader of many records never holds them all as dicts."""

    def __init__(self, models: Mapping[str, Contract]) -> None:
        self.models = models

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self.models[key].model_dump(mode="json", exclude_none=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, key: object) -> bool:
        return key in self.models


@dataclass
class ReleaseData:
    """Release data read back for rendering."""

    root: Path
    manifest: dict[str, Any]
    departments: dict[str, Department]
    items: dict[str, Item]
    life_events: dict[str, LifeEvent]
    files: dict[str, File]
    quality: dict[str, Any]
    outcomes: dict[str, Any] | None = None

    def file_path(self, file: File) -> Path:
        return safe_join(self.root / "files", f"{file.file_id}/{file.filename}")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_release_data(root: Path) -> ReleaseData:
    return ReleaseData(
        root=root,
        manifest=_load(root / "manifest.json"),
        departments={
            d["code"]: Department.model_validate(d) for d in _load(root / "departments.json")
        },
        items={i["impl_code"]: Item.model_validate(i) for i in _load(root / "items.json")},
        life_events={
            e["code"]: LifeEvent.model_validate(e) for e in _load(root / "life_events.json")
        },
        files={f["file_id"]: File.model_validate(f) for f in _load(root / "files.json")},
        quality=_load(root / "quality.json"),
        outcomes=_load(root / "outcomes.json") if (root / "outcomes.json").is_file() else None,
    )

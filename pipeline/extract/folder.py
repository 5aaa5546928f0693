"""The folder source: a nightly dump dropped in a folder (see the contract's "Files")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import ExportBroken
from pipeline.extract import RawRecord
from pipeline.paths import safe_join

LIST_FILES = {
    "departments": "departments.json",
    "items": "items.json",
    "life_events": "life_events.json",
    "files": "files.json",
}
LINE_FILES = {"cases": "cases.jsonl", "evaluations": "evaluations.jsonl"}
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportBroken(
            f"{path.name}: 不是 UTF-8 编码（第 {exc.start} 字节起 {raw[exc.start : exc.start + 4]!r}）"
            "——导出文件必须是 UTF-8；若上游导出为 GBK，请在导出端转换"
        ) from exc


def load_json(path: Path, label: str) -> Any:
    """Parse one JSON file; a truncated or non-UTF-8 file raises ExportBroken naming it."""
    text = _decode(path, path.read_bytes())
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportBroken(
            f"{label}: JSON 无法解析（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）——文件可能被截断"
        ) from exc


class FolderSource:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.description = str(self.root)
        if not self.root.is_dir():
            raise ExportBroken(f"导出目录不存在：{self.root}")

    def read_manifest(self) -> dict[str, Any]:
        path = self.root / "manifest.json"
        if not path.is_file():
            raise ExportBroken(f"{self.root}: 缺少 manifest.json")
        manifest = load_json(path, "manifest.json")
        if not isinstance(manifest, dict):
            raise ExportBroken("manifest.json: 顶层必须是对象")
        return manifest

    def iter_records(self, entity: str) -> Iterator[RawRecord]:
        if entity in LIST_FILES:
            yield from self._iter_json_list(entity)
        elif entity in LINE_FILES:
            yield from self._iter_json_lines(entity)
        else:
            raise ValueError(f"unknown entity {entity!r}")

    def _iter_json_list(self, entity: str) -> Iterator[RawRecord]:
        name = LIST_FILES[entity]
        single, folder = self.root / name, self.root / Path(name).stem
        if single.is_file():
            data = load_json(single, name)
            if not isinstance(data, list):
                raise ExportBroken(f"{name}: 顶层必须是 JSON 数组")
            for index, record in enumerate(data):
                yield RawRecord(entity, f"{name}[{index}]", record)
        elif folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                label = f"{folder.name}/{path.name}"
                yield RawRecord(entity, label, load_json(path, label))

    def _iter_json_lines(self, entity: str) -> Iterator[RawRecord]:
        for path in self.jsonl_paths(entity):
            label = path.relative_to(self.root).as_posix()
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(_decode(path, line))
                    except json.JSONDecodeError as exc:
                        raise ExportBroken(
                            f"{label} 第 {number} 行：JSON 无法解析（{exc.msg}）——文件可能被截断"
                        ) from exc
                    yield RawRecord(entity, f"{label}:{number}", record)

    def jsonl_paths(self, entity: str) -> list[Path]:
        """The export's own JSONL files of ``entity`` (cases, evaluations), for bulk readers."""
        name = LINE_FILES[entity]
        single, folder = self.root / name, self.root / Path(name).stem
        return [single] if single.is_file() else sorted(folder.glob("*.jsonl"))

    def fetch_file(self, file_id: str, extension: str) -> bytes:
        path = safe_join(self.root / "files", f"{file_id}{extension}")
        if not path.is_file():
            raise ExportBroken(
                f"files.json 中的文件 {file_id} 缺少内容：files/{file_id}{extension} 不存在"
            )
        return path.read_bytes()

    def verify_checksums(self, manifest_sha256: dict[str, str]) -> list[str]:
        mismatches = []
        for relative, expected in sorted(manifest_sha256.items()):
            try:
                path = safe_join(self.root, relative)
            except ExportBroken as exc:
                mismatches.append(str(exc))
                continue
            if not path.is_file():
                mismatches.append(f"{relative}: manifest 列出此文件，但导出中不存在")
                continue
            actual = sha256_of(path)
            if actual != expected:
                mismatches.append(
                    f"{relative}: sha256 不符（manifest 为 {expected[:12]}…，实际 {actual[:12]}…，"
                    f"{path.stat().st_size} 字节）——文件被截断或未复制完整"
                )
        return mismatches

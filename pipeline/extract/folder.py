"""The folder source: a nightly dump dropped in a folder (see the contract's "Files").

The folder is upstream's, so nothing in it is trusted: a file name outside the contract's
pattern is refused (names reach problem reports and, for cases, DuckDB), and no file is read
through a symbolic link that leaves the export (a case file linked to ``/etc/shadow`` is not
an export). A JSON file may start with a UTF-8 byte-order mark, which is skipped.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.contract.models import MAX_FILE_BYTES
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
UTF8_BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 1 << 20
"""DuckDB's ``maximum_object_size`` for case and evaluation lines (DuckDB 2.0 reads longer
newline-delimited lines all the same, so a long line is not reported as bad)."""
NESTING_SHOWN = 100
"""A record nested deeper than this is not a contract record; where it gets there is reported."""
SAFE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,119}")
"""A file name inside ``items/``, ``cases/`` or ``evaluations/`` (before its extension)."""
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _decode(label: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportBroken(
            f"{label}: 不是 UTF-8 编码（第 {exc.start} 字节起 {raw[exc.start : exc.start + 4]!r}）"
            "——导出文件必须是 UTF-8；若上游导出为 GBK，请在导出端转换"
        ) from exc


def _too_deep_at(text: str) -> int | None:
    """Where the first bracket nested deeper than NESTING_SHOWN is (strings skipped), or None."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > NESTING_SHOWN:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None


def _nesting_position(text: str) -> tuple[int, int]:
    """(line, column) of the first bracket nested deeper than NESTING_SHOWN."""
    position = _too_deep_at(text) or 0
    line = text.count("\n", 0, position) + 1
    return line, position - text.rfind("\n", 0, position)


def parse_json(text: str, label: str) -> Any:
    """``text`` parsed; anything unparsable raises ExportBroken naming ``label`` and the place.
    ``label`` names the file, or the file and line (``cases/2025-01.jsonl 第 12 行``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportBroken(
            f"{label}: JSON 无法解析（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）"
            "——文件可能被截断或不是 JSON"
        ) from exc
    except RecursionError as exc:
        line, column = _nesting_position(text)
        raise ExportBroken(
            f"{label}: JSON 嵌套过深（第 {line} 行第 {column} 列起超过 {NESTING_SHOWN} 层）"
            "——导出记录不应如此嵌套，文件可能已损坏"
        ) from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ExportBroken(f"{label}: JSON 中有无法读取的数值（{exc}）") from exc


def load_json(path: Path, label: str) -> Any:
    """Parse one JSON file (a leading BOM skipped); a truncated, non-UTF-8 or absurdly nested
    file raises ExportBroken naming it."""
    raw = read_regular(path, label)
    return parse_json(_decode(label, raw.removeprefix(UTF8_BOM)), label)


def read_regular(path: Path, label: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (already resolved), not followed if it has become
    a symbolic link since; more than ``limit`` bytes raise ExportBroken."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ExportBroken(f"{label}: 读取时变成了符号链接，拒绝读取") from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ExportBroken(f"{label}: 不是普通文件，拒绝读取")
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise ExportBroken(f"{label}: 文件过大（超过上限 {limit} 字节）")
    return data


def first_bad_line(path: Path, hint: int | None = None) -> tuple[int, str] | None:
    """The first line of a JSONL file that is not one JSON object (its number counted from 1,
    blank lines included, and why), or None. For reporting a failed bulk read: DuckDB's own
    line numbers are not the file's: it counts only non-blank lines, and names the one after a
    syntax error. With DuckDB's number as ``hint`` only the two lines it may mean are parsed
    (one pass without parsing: seconds, not a minute, for 3 million lines); without, or when
    neither is bad, every line is."""
    if hint is not None:
        with path.open("rb") as handle:
            counted = 0
            for number, line in enumerate(handle, start=1):
                counted += bool(line.strip())
                if counted in (hint - 1, hint) and (problem := _line_problem(line, number == 1)):
                    return number, problem
                if counted > hint:
                    break
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            problem = _line_problem(line, number == 1)
            if problem:
                return number, problem
    return None


def _line_problem(line: bytes, first: bool) -> str | None:
    if first:
        line = line.removeprefix(UTF8_BOM)
    if not line.strip():
        return None
    try:
        text = line.decode("utf-8")
        record = json.loads(text)
    except UnicodeDecodeError as exc:
        return f"不是 UTF-8 编码（第 {exc.start} 字节起）"
    except json.JSONDecodeError as exc:
        return f"JSON 无法解析（第 {exc.colno} 列：{exc.msg}）"
    except RecursionError:
        return f"JSON 嵌套超过 {NESTING_SHOWN} 层"
    except ValueError as exc:
        return f"JSON 中有无法读取的数值（{exc}）"
    if line.count(b"[") + line.count(b"{") > NESTING_SHOWN and _too_deep_at(text) is not None:
        return f"JSON 嵌套超过 {NESTING_SHOWN} 层"  # DuckDB stops at 128
    return None if isinstance(record, dict) else "不是 JSON 对象"


class FolderSource:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.description = str(self.root)
        if not self.root.is_dir():
            raise ExportBroken(f"导出目录不存在：{self.root}")
        self.real_root = self.root.resolve()

    def label(self, path: Path) -> str:
        """``path`` as the export names it (``cases/2025-01.jsonl``)."""
        for root in (self.root, self.real_root):
            if path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return path.name

    def inside(self, path: Path) -> Path:
        """``path`` resolved, refused (ExportBroken) when a symbolic link takes it out of the
        export or it is not a regular file (a FIFO would hang the build)."""
        label = self.label(path)
        real = path.resolve()
        if not real.is_relative_to(self.real_root):
            raise ExportBroken(f"{label}: 是指向导出目录之外的符号链接，拒绝读取")
        if not real.is_file():
            raise ExportBroken(f"{label}: 不是普通文件，拒绝读取")
        return real

    def read_manifest(self) -> dict[str, Any]:
        path = self.root / "manifest.json"
        if not path.is_file():
            raise ExportBroken(f"{self.root}: 缺少 manifest.json")
        manifest = load_json(self.inside(path), "manifest.json")
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

    def _listed(self, folder: Path, suffix: str) -> list[Path]:
        """The ``*<suffix>`` files of ``folder``, in name order; a name outside SAFE_NAME (a
        quote, a space, a control character …) refuses the export."""
        paths = sorted(folder.glob(f"*{suffix}"))
        for path in paths:
            if not SAFE_NAME.fullmatch(path.name.removesuffix(suffix)):
                raise ExportBroken(
                    f"{folder.name}/{path.name!r}: 文件名不符合导出约定（只允许字母、数字和 _ . -，"
                    f"以字母或数字开头，以 {suffix} 结尾），拒绝读取"
                )
        return paths

    def _iter_json_list(self, entity: str) -> Iterator[RawRecord]:
        name = LIST_FILES[entity]
        single, folder = self.root / name, self.root / Path(name).stem
        if single.is_file():
            data = load_json(self.inside(single), name)
            if not isinstance(data, list):
                raise ExportBroken(f"{name}: 顶层必须是 JSON 数组")
            for index, record in enumerate(data):
                yield RawRecord(entity, f"{name}[{index}]", record)
        elif folder.is_dir():
            for path in self._listed(folder, ".json"):
                label = self.label(path)
                yield RawRecord(entity, label, load_json(self.inside(path), label))

    def _iter_json_lines(self, entity: str) -> Iterator[RawRecord]:
        for path in self.jsonl_paths(entity):
            label = self.label(path)
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if number == 1:
                        line = line.removeprefix(UTF8_BOM)
                    if not line.strip():
                        continue
                    where = f"{label} 第 {number} 行"
                    record = parse_json(_decode(where, line), where)
                    yield RawRecord(entity, f"{label}:{number}", record)

    def jsonl_paths(self, entity: str) -> list[Path]:
        """The export's own JSONL files of ``entity`` (cases, evaluations), for bulk readers:
        resolved, each checked to be a regular file inside the export."""
        name = LINE_FILES[entity]
        single, folder = self.root / name, self.root / Path(name).stem
        if single.is_file() or single.is_symlink():
            return [self.inside(single)]
        return [self.inside(p) for p in self._listed(folder, ".jsonl")] if folder.is_dir() else []

    def fetch_file(self, file_id: str, extension: str) -> bytes:
        relative = f"files/{file_id}{extension}"
        path = safe_join(self.root / "files", f"{file_id}{extension}", self.real_root)
        if not path.is_file():
            raise ExportBroken(f"files.json 中的文件 {file_id} 缺少内容：{relative} 不存在")
        return read_regular(path, relative, MAX_FILE_BYTES)

    def verify_checksums(self, manifest_sha256: dict[str, str]) -> list[str]:
        mismatches = []
        for relative, expected in sorted(manifest_sha256.items()):
            try:
                mismatch = self._mismatch(relative, expected)
            except ExportBroken as exc:
                mismatch = str(exc)
            except OSError as exc:  # a name too long for the file system, a folder unreadable …
                mismatch = f"{relative[:80]!r}: 无法读取（{exc.strerror}）"
            if mismatch:
                mismatches.append(mismatch)
        return mismatches

    def _mismatch(self, relative: str, expected: str) -> str | None:
        path = safe_join(self.root, relative, self.real_root)
        if not path.is_file():
            return f"{relative}: manifest 列出此文件，但导出中不存在"
        actual = sha256_of(path)
        if actual == expected:
            return None
        return (
            f"{relative}: sha256 不符（manifest 为 {expected[:12]}…，实际 {actual[:12]}…，"
            f"{path.stat().st_size} 字节）——文件被截断或未复制完整"
        )

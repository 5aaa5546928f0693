"""The privacy gate's report: the hits of a release, where each is, and the refusal.

A :class:`Hit` carries the value masked (``3101**********1234``), never the value; file, member,
table and column names are masked the same way before they get here. :class:`Hits` keeps each
hit once, in the order found; with a log it records every call instead, to be replayed later
in the order the serial scan would have made them (the parallel scan, ``workers``).
"""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import GateRefused
from pipeline.gates.privacy.detectors import KIND_LABELS

MAX_HITS_IN_MESSAGE = 20

HIT, ENTER, LEAVE, UNIT = 0, 1, 2, 3
"""The entries of a scan's log: a hit added, a content let in (its digest) and its end, a unit
given to a worker (see ``workers``)."""
LogEntry = tuple[Any, ...]
"""One entry of a scan's log: its tag (``HIT`` …) and that entry's values."""


class PiiFound(GateRefused):
    """The release holds personal identifiers (or content that could not be checked).
    Nothing is published."""

    exit_code = 3

    def __init__(self, hits: list[Hit]):
        self.hits = list(hits)
        super().__init__(_message(self.hits))


@dataclass(frozen=True, slots=True)
class Hit:
    """One identifier found in a release file. ``file`` is relative to the release root;
    ``location`` says where inside it (line, member, table and column), in Chinese."""

    file: str
    kind: str
    masked: str
    location: str
    source: str = ""
    """For a personal value: the case and field it came from, when known."""

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def describe(self) -> str:
        value = f" {self.masked}" if self.masked else ""
        source = f"；来自{self.source}" if self.source else ""
        return f"文件 {self.file}：发现 {self.label}{value}（{self.location}{source}）"


def _message(hits: list[Hit]) -> str:
    files = len({hit.file for hit in hits})
    lines = [f"发布前隐私检查未通过：{files} 个文件中共发现 {len(hits)} 处个人信息，本次不发布。"]
    lines += [hit.describe() for hit in hits[:MAX_HITS_IN_MESSAGE]]
    if len(hits) > MAX_HITS_IN_MESSAGE:
        lines.append(f"……另有 {len(hits) - MAX_HITS_IN_MESSAGE} 处未列出，共 {len(hits)} 处。")
    return "\n".join(lines)


@dataclass(frozen=True)
class Place:
    """A top-level release file and the archive members leading to the content scanned."""

    file: str
    members: tuple[str, ...] = ()

    def inside(self, member: str) -> Place:
        return Place(self.file, (*self.members, member))

    def where(self, tail: str) -> str:
        return f"成员 {' › '.join(self.members)}，{tail}" if self.members else tail


class Hits:
    """The hits of one release, each once, in the order found. With ``log`` (a list), every call
    is appended to it instead, unfiltered, to be replayed into the release's hits later (see
    the parallel scan, ``workers``)."""

    def __init__(self, log: MutableSequence[LogEntry] | None = None) -> None:
        self.hits: list[Hit] = []
        self._seen: set[tuple[str, str, str, str, str]] = set()
        self._kinds_by_file: set[tuple[str, str, str]] = set()
        self.log = log

    def add(
        self,
        file: str,
        kind: str,
        masked: str,
        location: str,
        *,
        supplementary: bool = False,
        source: str = "",
    ) -> None:
        """``supplementary`` hits (a raw-byte pass after a structured read) only count when the
        structured read did not already find the same value in that file. ``source``: where a
        personal value came from (see :class:`Hit`)."""
        if self.log is not None:
            self.log.append((HIT, file, kind, masked, location, supplementary, source))
            return
        if supplementary and (file, kind, masked) in self._kinds_by_file:
            return
        key = (file, kind, masked, location, source)
        if key not in self._seen:
            self._seen.add(key)
            self._kinds_by_file.add((file, kind, masked))
            self.hits.append(Hit(file, kind, masked, location, source))

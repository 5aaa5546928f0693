"""Validation problems are data: collected into a report that admins and departments read and
that decides whether a run may publish. Only crossing a threshold raises (ExportBroken)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_VALUE_CHARS = 80


def excerpt(value: Any) -> str:
    """A short, printable rendering of an offending value (never the whole 5 MB field)."""
    if isinstance(value, str):
        text = value
    else:
        text = repr(value)
    text = text.replace("\n", "\\n")
    if len(text) > MAX_VALUE_CHARS:
        return f"{text[:MAX_VALUE_CHARS]}…（共 {len(text)} 字符）"
    return text


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one record. ``severity`` is ``error`` (the record is skipped) or
    ``warning`` (the record is published without the faulty part)."""

    entity: str
    record_id: str
    field: str
    message: str
    value: str = ""
    severity: str = "error"
    where: str = ""
    department_code: str = ""

    def __str__(self) -> str:
        shown = f"：{self.value}" if self.value else ""
        return f"[{self.severity}] {self.entity} {self.record_id} · {self.field} — {self.message}{shown}"


@dataclass
class Report:
    """Every problem of one run, plus what was read and what was kept per entity."""

    problems: list[Problem] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def invalid_share(self, entity: str) -> float:
        read = self.read[entity]
        return 0.0 if read == 0 else (read - self.kept[entity]) / read

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": dict(sorted(self.read.items())),
            "kept": dict(sorted(self.kept.items())),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [asdict(p) for p in sorted(self.problems)],
        }

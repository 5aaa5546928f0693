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


MAX_SHOWN = 1000
"""Problems kept in full per entity and severity. Past it a problem is only counted (by entity,
severity and department): an export of 2 million empty records has tens of millions of
problems, and holding each one grew the build to 7.9 GB. The counts stay exact — the totals,
the problems per department and the report's ``problems_not_shown`` include them."""


@dataclass
class Report:
    """Every problem of one run (the first :data:`MAX_SHOWN` of each entity and severity in
    full, the rest counted in ``not_shown``), plus what was read and kept per entity."""

    problems: list[Problem] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    not_shown: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(entity, severity, department code) → problems counted but not kept."""
    shown: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(entity, severity) → problems kept in ``problems``."""

    def add(self, problem: Problem) -> None:
        key = (problem.entity, problem.severity)
        if self.shown[key] < MAX_SHOWN:
            self.shown[key] += 1
            self.problems.append(problem)
        else:
            self.not_shown[(*key, problem.department_code)] += 1

    @property
    def errors(self) -> list[Problem]:
        """The errors kept in full (examples: :attr:`error_count` is how many there are)."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The warnings kept in full (:attr:`warning_count` is how many there are)."""
        return [p for p in self.problems if p.severity == "warning"]

    def count(self, severity: str) -> int:
        """Every problem of ``severity``, kept in full or only counted."""
        hidden = sum(n for (_, kind, _), n in self.not_shown.items() if kind == severity)
        return sum(p.severity == severity for p in self.problems) + hidden

    @property
    def error_count(self) -> int:
        return self.count("error")

    @property
    def warning_count(self) -> int:
        return self.count("warning")

    def not_shown_summary(self) -> list[str]:
        """One line per entity and severity with problems only counted, for the console."""
        totals: Counter[tuple[str, str]] = Counter()
        for (entity, severity, _), n in self.not_shown.items():
            totals[(entity, severity)] += n
        kinds = {"error": "错误", "warning": "提示"}
        return [
            f"{entity}：另有 {n} 个{kinds.get(severity, severity)}未逐条列出"
            f"（每类只列前 {MAX_SHOWN} 个，其余只计数）"
            for (entity, severity), n in sorted(totals.items())
        ]

    def invalid_share(self, entity: str) -> float:
        read = self.read[entity]
        return 0.0 if read == 0 else (read - self.kept[entity]) / read

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": dict(sorted(self.read.items())),
            "kept": dict(sorted(self.kept.items())),
            "errors": self.error_count,
            "warnings": self.warning_count,
            "problems": [asdict(p) for p in sorted(self.problems)],
            "problems_not_shown": [
                {"entity": e, "severity": s, "department_code": d, "count": n}
                for (e, s, d), n in sorted(self.not_shown.items())
            ],
        }

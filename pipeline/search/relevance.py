"""Relevance of a search, measured on a set of queries with the answers they must find.

The set (``tests/relevance.yaml``) names the expected items and life events by name; a query
with no expected answer must return nothing. Both indexes are scored with the same functions:
success@1, success@5 and MRR (the mean of 1/rank of the first expected result within the first
ten; 0 when none is there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.search.documents import SearchDocument

TOP = 10


@dataclass(frozen=True)
class Case:
    query: str
    kind: str
    expect: tuple[str, ...]  # names


@dataclass
class Outcome:
    case: Case
    found: list[str]  # names, best first
    rank: int | None  # 1-based rank of the first expected answer, or None

    @property
    def ok_at_1(self) -> bool:
        return self.rank == 1 if self.case.expect else not self.found

    @property
    def ok_at_5(self) -> bool:
        return (self.rank is not None and self.rank <= 5) if self.case.expect else not self.found

    @property
    def reciprocal_rank(self) -> float:
        if not self.case.expect:
            return 1.0 if not self.found else 0.0
        return 1.0 / self.rank if self.rank else 0.0


def load_cases(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(str(q["q"]), q.get("kind", ""), tuple(q.get("expect") or [])) for q in data["queries"]
    ]


def name_by_key(documents: list[SearchDocument]) -> dict[str, str]:
    return {d.key: d.name for d in documents}


def evaluate(
    cases: list[Case], search: Callable[[str], list[str]], names: dict[str, str]
) -> list[Outcome]:
    """``search(query)`` returns result keys (impl_code or life event code), best first."""
    outcomes = []
    for case in cases:
        found = [names.get(key, key) for key in search(case.query)[:TOP]]
        rank = next((i for i, name in enumerate(found, 1) if name in case.expect), None)
        outcomes.append(Outcome(case, found, rank))
    return outcomes


def metrics(outcomes: list[Outcome]) -> dict[str, float]:
    n = len(outcomes) or 1
    return {
        "queries": len(outcomes),
        "success_at_1": round(sum(o.ok_at_1 for o in outcomes) / n, 3),
        "success_at_5": round(sum(o.ok_at_5 for o in outcomes) / n, 3),
        "mrr": round(sum(o.reciprocal_rank for o in outcomes) / n, 3),
    }


def failures(outcomes: list[Outcome]) -> str:
    lines = [
        f"  {o.case.query!r} ({o.case.kind}): expected {list(o.case.expect) or 'nothing'}, "
        f"got {o.found[:5]}"
        for o in outcomes
        if not o.ok_at_5
    ]
    return "\n".join(lines)

"""The synonyms file: how people ask → how items are named (admin-editable YAML).

``pipeline/search/synonyms.yaml`` ships with the package; a build may use another file. Both
indexes get the synonyms through the search documents (a document whose name or aliases contain
a target term carries the colloquial phrase as a keyword); the server index also expands
queries with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from pipeline.errors import ConfigurationError
from pipeline.search.text import normalise

MIN_PHRASE_CHARS = 2


@dataclass(frozen=True)
class Synonyms:
    """Colloquial phrase (normalised) → the terms that items use for it."""

    entries: dict[str, tuple[str, ...]]

    def phrases_for(self, texts: list[str]) -> list[str]:
        """The colloquial phrases whose target terms occur in any of ``texts`` (names, aliases)."""
        found = []
        normalised = [normalise(t) for t in texts]
        for phrase, targets in self.entries.items():
            if any(target in text for target in targets for text in normalised):
                found.append(phrase)
        return found

    def in_query(self, query: str) -> list[tuple[str, tuple[str, ...]]]:
        """The entries whose phrase occurs in the (normalised) query, longest phrase first."""
        return [
            (p, t)
            for p, t in sorted(self.entries.items(), key=lambda e: (-len(e[0]), e[0]))
            if p in query
        ]

    def as_dict(self) -> dict[str, list[str]]:
        return {phrase: list(targets) for phrase, targets in self.entries.items()}


def default_synonyms_file() -> Path:
    return Path(str(resources.files("pipeline.search").joinpath("synonyms.yaml")))


def parse_synonyms(data: object, origin: str) -> Synonyms:
    """Check and normalise the YAML's content; a mistake names the entry."""
    if not isinstance(data, dict) or not isinstance(data.get("synonyms"), dict):
        raise ConfigurationError(f"同义词文件 {origin} 应当是 `synonyms:` 下的“说法: [词, …]”映射")
    entries: dict[str, tuple[str, ...]] = {}
    for phrase, targets in data["synonyms"].items():
        key = normalise(str(phrase))
        if isinstance(targets, str):
            targets = [targets]
        if len(key) < MIN_PHRASE_CHARS:
            raise ConfigurationError(
                f"同义词文件 {origin}：说法“{phrase}”至少要 {MIN_PHRASE_CHARS} 个字"
            )
        if (
            not isinstance(targets, list)
            or not targets
            or not all(isinstance(t, str) and normalise(t) for t in targets)
        ):
            raise ConfigurationError(f"同义词文件 {origin}：“{phrase}”应对应一个非空的词列表")
        entries[key] = tuple(dict.fromkeys(normalise(t) for t in targets))
    return Synonyms(entries)


def load_synonyms(path: Path | None = None) -> Synonyms:
    path = path or default_synonyms_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"无法读取同义词文件 {path}：{exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"同义词文件 {path} 不是有效的 YAML：{exc}") from exc
    return parse_synonyms(data, str(path))

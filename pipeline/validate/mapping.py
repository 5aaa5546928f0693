"""Mapping profiles: an upstream's own field names and codes → the contract's.

A profile is YAML::

    name: gbt39046
    impl_code_pattern: '^[0-9A-Z]{20,40}$'   # the per-source check of 实施编码
    entities:
      items:
        rename: {TASK_NAME: name, TASK_TYPE: item_type}
        split: {audiences: ","}               # "1,2" → ["1", "2"]
        codes:
          item_type: {"01": licensing, "20": public_service}
        nested:
          legal_bases: {rename: {...}, codes: {...}}

``rename`` runs first, then ``split``, then ``codes`` (applied to a value or to each element of a
list; a value missing from a code map is left as it is, so validation reports it), then
``nested`` (a sub-object or a list of sub-objects, same keys, recursively). Unknown keys in a
profile are refused at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigurationError

RULE_KEYS = {"rename", "split", "codes", "nested"}
PROFILE_KEYS = {"name", "description", "impl_code_pattern", "entities"}
BUILTIN_PROFILES = ("contract", "gbt39046")


@dataclass(frozen=True)
class Rules:
    rename: dict[str, str] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    nested: dict[str, Rules] = field(default_factory=dict)

    def apply(self, record: Any) -> Any:
        if not isinstance(record, dict):
            return record
        mapped = {self.rename.get(key, key): value for key, value in record.items()}
        for name, separator in self.split.items():
            if isinstance(mapped.get(name), str):
                mapped[name] = [p.strip() for p in mapped[name].split(separator) if p.strip()]
        for name, table in self.codes.items():
            if name in mapped:
                mapped[name] = _recode(mapped[name], table)
        for name, rules in self.nested.items():
            value = mapped.get(name)
            if isinstance(value, list):
                mapped[name] = [rules.apply(v) for v in value]
            elif isinstance(value, dict):
                mapped[name] = rules.apply(value)
        return mapped


def _recode(value: Any, table: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_recode(v, table) for v in value]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return table.get(str(value), value)
    return value


@dataclass(frozen=True)
class MappingProfile:
    name: str
    impl_code_pattern: re.Pattern[str] | None
    entities: dict[str, Rules]

    def apply(self, entity: str, record: Any) -> Any:
        rules = self.entities.get(entity)
        return rules.apply(record) if rules else record


def _rules_from(data: Any, where: str) -> Rules:
    if not isinstance(data, dict) or set(data) - RULE_KEYS:
        raise ConfigurationError(
            f"映射配置 {where}: 只允许键 {sorted(RULE_KEYS)}，得到 {data!r:.120}"
        )
    codes = {
        k: {str(c): v for c, v in (t or {}).items()} for k, t in (data.get("codes") or {}).items()
    }
    nested = {
        k: _rules_from(v, f"{where}.nested.{k}") for k, v in (data.get("nested") or {}).items()
    }
    return Rules(dict(data.get("rename") or {}), dict(data.get("split") or {}), codes, nested)


def load_profile(name_or_path: str) -> MappingProfile:
    """A built-in profile by name (``contract``, ``gbt39046``) or a YAML file by path."""
    if name_or_path in BUILTIN_PROFILES:
        text = (
            resources.files("pipeline.validate.profiles")
            .joinpath(f"{name_or_path}.yaml")
            .read_text("utf-8")
        )
        where = name_or_path
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigurationError(
                f"找不到映射配置 {name_or_path!r}（内置：{', '.join(BUILTIN_PROFILES)}，或给出 YAML 文件路径）"
            )
        text, where = path.read_text("utf-8"), str(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"映射配置 {where} 不是有效的 YAML：{exc}") from exc
    if not isinstance(data, dict) or set(data) - PROFILE_KEYS:
        raise ConfigurationError(f"映射配置 {where}: 顶层只允许键 {sorted(PROFILE_KEYS)}")
    pattern = data.get("impl_code_pattern")
    entities = {k: _rules_from(v, f"{where}.{k}") for k, v in (data.get("entities") or {}).items()}
    return MappingProfile(
        str(data.get("name", where)), re.compile(pattern) if pattern else None, entities
    )

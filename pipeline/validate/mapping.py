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

Cases and evaluations (``TABLE_ENTITIES``) are millions of rows read by DuckDB, never one Python
object per record: their rules are turned into columns (:meth:`MappingProfile.columns`) and
applied in SQL by ``pipeline.outcomes.cases`` — the same rules with the same meaning: a field the
upstream sends under its own name is read under that name, a field not renamed is read under the
contract's name (if both come, the upstream's name wins), and a code missing from a code map
stays as it is, so that validation rejects the case naming it. Only ``rename`` and ``codes`` are
allowed there (no case field is a list or an object), every source name must be a plain
identifier (letters, digits, ``_``; the names become SQL column names), every target and every
coded field must be a field of the contract's ``Case`` or ``Evaluation``, and a code's value a
string or an integer. Anything else is refused at start-up, naming the profile's key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pipeline.contract.models import Case, Evaluation
from pipeline.errors import ConfigurationError

RULE_KEYS = {"rename", "split", "codes", "nested"}
PROFILE_KEYS = {"name", "description", "impl_code_pattern", "entities"}
BUILTIN_PROFILES = ("contract", "gbt39046")
TABLE_ENTITIES = {"cases": tuple(Case.model_fields), "evaluations": tuple(Evaluation.model_fields)}
"""The entities read in bulk by DuckDB, with the contract's fields of each."""
TABLE_RULE_KEYS = {"rename", "codes"}
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""A name a profile may give a column of a table entity: it becomes an SQL identifier."""


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


@dataclass(frozen=True)
class ColumnMapping:
    """A table entity's rules as columns, for SQL: ``sources`` gives each contract field the
    upstream keys to read, the first one present winning; ``codes`` the (code, contract value)
    pairs of the coded fields, in the profile's order."""

    sources: dict[str, tuple[str, ...]]
    codes: dict[str, tuple[tuple[str, str], ...]]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every upstream key to read, each once, in the fields' order."""
        return tuple(dict.fromkeys(k for keys in self.sources.values() for k in keys))


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

    def columns(self, entity: str) -> ColumnMapping:
        """The rules of a table entity (``cases``, ``evaluations``) as columns. A contract field
        is read under the names renamed to it, then under its own name unless that name is
        renamed away or is spelled by a source name in other letter case (DuckDB's column
        names ignore case; the JSON keys do not)."""
        fields = TABLE_ENTITIES[entity]
        rules = self.entities.get(entity) or Rules()
        taken = {source.lower() for source in rules.rename}
        sources = {
            name: tuple(s for s, target in rules.rename.items() if target == name)
            + (() if name.lower() in taken else (name,))
            for name in fields
        }
        codes = {
            name: tuple((code, str(value)) for code, value in table.items())
            for name, table in rules.codes.items()
        }
        return ColumnMapping(sources, codes)


def _rules_from(data: Any, where: str) -> Rules:
    if not isinstance(data, dict) or set(data) - RULE_KEYS:
        raise ConfigurationError(
            f"映射配置 {where}: 只允许键 {sorted(RULE_KEYS)}，得到 {data!r:.120}"
        )
    for key in sorted(RULE_KEYS & set(data)):
        if data[key] is not None and not isinstance(data[key], dict):
            raise ConfigurationError(
                f"映射配置 {where}.{key}: 应为映射（键: 值），得到 {data[key]!r:.120}"
            )
    for name, table in (data.get("codes") or {}).items():
        if table is not None and not isinstance(table, dict):
            raise ConfigurationError(
                f"映射配置 {where}.codes.{name}: 应为代码表（上游代码: 契约代码），得到 {table!r:.120}"
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
    for entity in TABLE_ENTITIES.keys() & entities.keys():
        _check_table_rules(data["entities"][entity], entities[entity], f"{where}.{entity}", entity)
    return MappingProfile(
        str(data.get("name", where)), re.compile(pattern) if pattern else None, entities
    )


def _check_table_rules(data: dict, rules: Rules, where: str, entity: str) -> None:
    """The rules of a table entity become SQL: only plain names, only the contract's fields."""
    extra = set(data) - TABLE_RULE_KEYS
    if extra:
        raise ConfigurationError(
            f"映射配置 {where}.{sorted(extra)[0]}: 办件与评价只允许键 {sorted(TABLE_RULE_KEYS)}"
            "（它们的字段都不是列表或对象）"
        )
    _check_table_renames(rules.rename, where, entity)
    _check_table_codes(rules.codes, where, entity)


def _check_table_renames(rename: dict, where: str, entity: str) -> None:
    fields = TABLE_ENTITIES[entity]
    seen: dict[str, str] = {}
    for source, target in rename.items():
        key = f"{where}.rename.{source}"
        if not isinstance(source, str) or not PLAIN_NAME.fullmatch(source):
            raise ConfigurationError(
                f"映射配置 {where}.rename: 源字段名 {source!r:.80} 不是简单标识符（只允许字母、数字和 _，以字母或 _ 开头，至多 64 个）"
            )
        if not isinstance(target, str) or not PLAIN_NAME.fullmatch(target):
            raise ConfigurationError(
                f"映射配置 {key}: 目标字段名 {target!r:.80} 不是简单标识符（只允许字母、数字和 _，以字母或 _ 开头，至多 64 个）"
            )
        if target not in fields:
            raise ConfigurationError(f"映射配置 {key}: 目标 {target!r} 不是契约 {entity} 的字段")
        if source.lower() in seen:
            raise ConfigurationError(
                f"映射配置 {key}: 与 {seen[source.lower()]!r} 只差大小写（数据库列名不区分大小写）"
            )
        seen[source.lower()] = source


def _check_table_codes(codes: dict[str, dict[str, Any]], where: str, entity: str) -> None:
    fields = TABLE_ENTITIES[entity]
    for name, table in codes.items():
        key = f"{where}.codes.{name}"
        if not isinstance(name, str) or name not in fields:
            raise ConfigurationError(f"映射配置 {key}: 不是契约 {entity} 的字段")
        for code, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ConfigurationError(
                    f"映射配置 {key}.{code}: 契约代码应为字符串或整数，得到 {value!r:.80}"
                )

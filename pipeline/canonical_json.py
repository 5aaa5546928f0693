"""The one way this project writes JSON: UTF-8 with Chinese as it is, keys sorted, one-space
indent, a final newline — so that the same data always gives the same bytes (deterministic
releases, meaningful diffs between them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_json(value), encoding="utf-8")

"""Make Pagefind's filter files deterministic, so that the same export gives the same release.

Pagefind writes the values of each filter, and the list of filters, in hash-map order, which
changes from run to run: the same documents give different ``filter/*.pf_filter`` files and a
different ``*.pf_meta`` that lists them, hence a different ``pagefind-entry.json``. Everything
else it writes is stable.

This module re-writes those three: each filter file with its values in code-point order, under a
name derived from its content; the meta file with the new names; the entry file with the meta's
new name. The formats are small: a gzip stream holding ``pagefind_dcd`` and one CBOR value
(arrays, maps, integers, strings). Before anything is re-written, every file is decoded and
re-encoded and must come out byte for byte as Pagefind wrote it; if not (a future Pagefind with
another encoding), the bundle is left as it is and a warning is logged — the site still works,
only the bytes then differ between two builds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MAGIC = b"pagefind_dcd"


class UnexpectedFormat(ValueError):
    """A Pagefind file that this module does not know how to re-write."""


# ---------------------------------------------------------------- CBOR (the subset Pagefind uses)


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    head = data[i]
    major, info = head >> 5, head & 31
    i += 1
    if info < 24:
        value = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        value = int.from_bytes(data[i:i + size], "big")
        i += size
    else:
        raise UnexpectedFormat(f"CBOR head {head:#x}")
    if major == 0:
        return value, i
    if major == 1:
        return -1 - value, i
    if major in (2, 3):
        chunk = data[i:i + value]
        return (bytes(chunk) if major == 2 else chunk.decode("utf-8")), i + value
    if major == 4:
        items = []
        for _ in range(value):
            item, i = _decode(data, i)
            items.append(item)
        return items, i
    if major == 5:
        pairs = {}
        for _ in range(value):
            key, i = _decode(data, i)
            pairs[key], i = _decode(data, i)
        return pairs, i
    if major == 7 and value in (20, 21, 22):
        return {20: False, 21: True, 22: None}[value], i
    raise UnexpectedFormat(f"CBOR major type {major}")


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise UnexpectedFormat("integer too large")


def _encode(value: Any) -> bytes:
    if value is False or value is True or value is None:
        return bytes([0xE0 | {False: 20, True: 21, None: 22}[value]])
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(_encode(k) + _encode(v) for k, v in value.items())
    raise UnexpectedFormat(type(value).__name__)


def read(path: Path) -> Any:
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(MAGIC):
        raise UnexpectedFormat(f"{path.name}: no {MAGIC!r}")
    value, end = _decode(raw, len(MAGIC))
    if end != len(raw) or MAGIC + _encode(value) != raw:
        raise UnexpectedFormat(f"{path.name}: does not re-encode to the same bytes")
    return value


def pack(value: Any) -> bytes:
    return gzip.compress(MAGIC + _encode(value), compresslevel=9, mtime=0)


# ---------------------------------------------------------------- the bundle


def _name(prefix: str, content: bytes, length: int) -> str:
    return f"{prefix}_{hashlib.sha256(content).hexdigest()[:length]}"


def _replace(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_replace(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, names) for k, v in value.items()}
    return value


def _sort_filter_lists(value: Any, hashes: set[str]) -> Any:
    """The meta file lists its filters as [name, file] pairs, also in hash-map order."""
    if isinstance(value, list):
        if value and all(isinstance(v, list) and len(v) == 2 and v[1] in hashes for v in value):
            return sorted(value, key=lambda pair: pair[0])
        return [_sort_filter_lists(v, hashes) for v in value]
    return value


def _sorted_filter(value: Any) -> Any:
    """[name, [[value, [pages…]], …]] with the values in code-point order."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], list)):
        raise UnexpectedFormat("filter file layout")
    return [value[0], sorted(value[1], key=lambda entry: entry[0])]


def order_filters(bundle: Path) -> bool:
    """Re-write the bundle's filters, meta and entry files in a stable order. Returns whether it
    did (False: left as Pagefind wrote it, see the module's docstring)."""
    entry_path = bundle / "pagefind-entry.json"
    try:
        entry = json.loads(entry_path.read_text(encoding="utf-8"))
        plan = []
        for language, info in entry["languages"].items():
            meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
            filters = {p: _sorted_filter(read(p)) for p in sorted((bundle / "filter").glob(f"{language}_*.pf_filter"))}
            plan.append((language, info, meta_path, read(meta_path), filters))
    except (OSError, ValueError, KeyError, UnexpectedFormat) as exc:
        logger.warning("Pagefind bundle left in hash-map order: %s", exc)
        return False
    for language, info, meta_path, meta, filters in plan:
        names = {}
        for path, value in filters.items():
            content = pack(value)
            new = _name(language, content, len(path.stem) - len(language) - 1)
            names[path.stem] = new
            path.unlink()
            (bundle / "filter" / f"{new}.pf_filter").write_bytes(content)
        content = pack(_sort_filter_lists(_replace(meta, names), set(names.values())))
        new_meta = _name(language, content, len(info["hash"]) - len(language) - 1)
        meta_path.unlink()
        (bundle / f"pagefind.{new_meta}.pf_meta").write_bytes(content)
        info["hash"] = new_meta
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return True

"""Privacy gate: no release is published with a personal identifier in any file.

Every file under the release folder is read as text, whatever its kind, and searched for

* identifiers by shape and check digit: 居民身份证号 (18 digits with the ISO 7064 MOD 11-2 check
  character, and the legacy 15-digit form), mainland mobile numbers, the 统一社会信用代码 of
  个体工商户 (``92…``, GB 32100 check character), Luhn-valid bank card numbers, e-mail addresses;
* every personal value of the current export's cases (names, ID numbers, phones, addresses),
  verbatim, with one Aho–Corasick automaton (``pyahocorasick``) however many values there are.

Readers: plain text (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GB 18030) — HTML, CSV, JSON, NDJSON,
JSON-LD, XML, Atom, Markdown, JS…; ZIP archives and the Office/ODF files built on them (members
scanned recursively, so XLSX sheets and ``sharedStrings.xml`` are read); gzip/bzip2/xz streams
(Pagefind's ``.pf_*`` fragments are gzip); tar; SQLite (every column of every table, FTS shadow
tables and the full-text vocabularies included, then the raw pages for deleted rows); Parquet
(every column cast to text by DuckDB); PDF (raw bytes, every Flate stream, UTF-16 strings); OLE
DOC/XLS (UTF-8 and UTF-16LE text); anything else as the UTF-8 text that its bytes decode to
(Whoosh segments, Pagefind's CBOR index, images' metadata).

Text is read in chunks of about a million characters, cut at a line end where there is one and
otherwise with an overlap, so a 1 GB file never sits in memory. Each chunk is also searched in
decoded *views*: JSON ``\\uXXXX`` escapes, HTML/XML character references and URL percent-escapes
decoded, and markup removed (so ``王<b>小明</b>`` and an XLSX rich-text run are seen whole).

Binary content is searched with looser boundaries (only a digit ends a number) because binary
formats put a length byte, which may be a letter, right before a string.

A release is scanned by worker processes (forks of this one: one per CPU, at most 4, or
``APPROVALS_PII_WORKERS``; 1 scans in this process), a top-level file or a member of a top-level
ZIP at a time, and their findings are merged into exactly the report one process would give, in
the same order (see :class:`_ParallelScan`). A worker that fails or dies leaves ``unscannable``
hits: the gate refuses.

An unmasked value is never stored or printed: a :class:`Match`/:class:`Hit` carries the value
masked (``3101**********1234``), and file, member, table and column names are masked the same way
before they are shown. Content that cannot be read (an encrypted ZIP member, a corrupt database)
is reported as ``unscannable``: privacy fails closed.
"""

from __future__ import annotations

import bz2
import codecs
import errno
import gc
import gzip
import hashlib
import html
import io
import lzma
import mmap
import multiprocessing
import os
import re
import shutil
import sqlite3
import stat
import tarfile
import tempfile
import threading
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote

import ahocorasick

from pipeline.contract.credit_code import is_valid_credit_code
from pipeline.errors import ConfigurationError, GateRefused

__all__ = [
    "KIND_LABELS",
    "Hit",
    "Match",
    "PiiFound",
    "PiiScanner",
    "check_release",
    "detect",
    "find_bank_cards",
    "find_emails",
    "find_individual_business_codes",
    "find_mobiles",
    "find_resident_ids",
    "is_valid_resident_id",
    "luhn_check_digit",
    "luhn_ok",
    "mask",
    "resident_id_check_char",
    "scan_release",
]

RESIDENT_ID = "resident_id"
MOBILE = "mobile"
INDIVIDUAL_BUSINESS_CODE = "individual_business_code"
BANK_CARD = "bank_card"
EMAIL = "email"
PERSONAL_VALUE = "personal_value"
UNSCANNABLE = "unscannable"

KIND_LABELS: dict[str, str] = {
    RESIDENT_ID: "身份证号",
    MOBILE: "手机号码",
    INDIVIDUAL_BUSINESS_CODE: "个体工商户统一社会信用代码",
    BANK_CARD: "银行卡号",
    EMAIL: "电子邮箱",
    PERSONAL_VALUE: "办件中的个人信息",
    UNSCANNABLE: "无法检查的内容",
}

# When two matches overlap, the most specific kind is reported (a valid 18-digit resident ID that
# also passes Luhn is a resident ID; an e-mail whose local part is a phone number is an e-mail).
_RANK = {
    RESIDENT_ID: 0,
    INDIVIDUAL_BUSINESS_CODE: 1,
    BANK_CARD: 2,
    EMAIL: 3,
    MOBILE: 4,
    PERSONAL_VALUE: 5,
}

MIN_PERSONAL_LENGTH = 2
"""Personal values shorter than this are not searched: a one-character value (a one-character
name, a house number "5") occurs in nearly every page and would block every release."""

SHORT_HAN_LENGTH = 2
"""A personal value of this many Chinese characters or fewer (a two-character name: 程建, 于华) is
reported only where it starts or ends a run of Chinese text — "姓名：程建，", "申请人程建（", a table
cell — not inside one: 程建 is also in 工程建设 and 于华 in 关于华东, which every release holds.
Longer values are reported wherever they occur."""

MAX_HITS_IN_MESSAGE = 20
CHUNK_CHARS = 1 << 20
READ_BYTES = 1 << 20
NEWLINE_WINDOW = 1 << 16
MAX_DEPTH = 8
MAX_INFLATE = 256 << 20


def _content_digest():
    """The digest that tells identical contents apart (SHA-256: with the CPU's SHA instructions,
    half again as fast as BLAKE2b here)."""
    return hashlib.sha256()


class PiiFound(GateRefused):
    """The release holds personal identifiers (or content that could not be checked).
    Nothing is published."""

    exit_code = 3

    def __init__(self, hits: list[Hit]):
        self.hits = list(hits)
        super().__init__(_message(self.hits))


@dataclass(frozen=True, slots=True)
class Match:
    """One identifier found in a string: its kind, the value masked, and where it is."""

    kind: str
    masked: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Hit:
    """One identifier found in a release file. ``file`` is relative to the release root;
    ``location`` says where inside it (line, member, table and column), in Chinese."""

    file: str
    kind: str
    masked: str
    location: str

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def describe(self) -> str:
        value = f" {self.masked}" if self.masked else ""
        return f"文件 {self.file}：发现 {self.label}{value}（{self.location}）"


def _message(hits: list[Hit]) -> str:
    files = len({hit.file for hit in hits})
    lines = [f"发布前隐私检查未通过：{files} 个文件中共发现 {len(hits)} 处个人信息，本次不发布。"]
    lines += [hit.describe() for hit in hits[:MAX_HITS_IN_MESSAGE]]
    if len(hits) > MAX_HITS_IN_MESSAGE:
        lines.append(f"……另有 {len(hits) - MAX_HITS_IN_MESSAGE} 处未列出，共 {len(hits)} 处。")
    return "\n".join(lines)


# ---------------------------------------------------------------- check digits and masks

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_EARLIEST_BIRTH = date(1900, 1, 1)


def resident_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of an 18-digit resident ID (GB 11643)."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def _real_birth_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return _EARLIEST_BIRTH <= born <= date.today()


def is_valid_resident_id(value: str) -> bool:
    """True for an 18-digit ID (area 1–8, real birth date, right check character) or a
    15-digit legacy ID (area 1–8, real birth date in 19xx)."""
    v = value.upper()
    if len(v) == 18 and v[:17].isascii() and v[:17].isdigit() and v[17] in "0123456789X":
        return (
            "1" <= v[0] <= "8"
            and _real_birth_date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
            and resident_id_check_char(v[:17]) == v[17]
        )
    if len(v) == 15 and v.isascii() and v.isdigit():
        return "1" <= v[0] <= "8" and _real_birth_date(
            1900 + int(v[6:8]), int(v[8:10]), int(v[10:12])
        )
    return False


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = ord(c) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    return next(d for d in "0123456789" if luhn_ok(payload + d))


def _alnum(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _hide_middle(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return value[:1] + "*" * (len(value) - 1)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask(value: str, kind: str) -> str:
    """The value with its middle hidden: ``3101**********1234``, ``138****5678``,
    ``w***@163.com``, ``王**``. Masked values are all that is ever shown or kept."""
    if kind == MOBILE:
        return _hide_middle(_alnum(value)[-11:], 3, 4)
    if kind in (RESIDENT_ID, BANK_CARD, INDIVIDUAL_BUSINESS_CODE):
        return _hide_middle(_alnum(value), 4, 4)
    if kind == EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain.lower()}"
    text = value.strip()
    if text.isascii() and len(_alnum(text)) >= 11:
        compact = _alnum(text)
        return _hide_middle(compact, 4 if len(compact) >= 15 else 3, 4)
    return text[:1] + "*" * (len(text) - 1)


# ---------------------------------------------------------------- detectors

# ``\b`` does not part 电话 from 138…: boundaries are explicit lookarounds. In text, a number must
# not touch a letter or digit; in binary content only a digit ends it (a length byte may be "k").
_TEXT_L, _TEXT_R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_BIN_L, _BIN_R = r"(?<![0-9])", r"(?![0-9])"


def _pair(core: str, text_left: str = _TEXT_L) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return (re.compile(text_left + core + _TEXT_R), re.compile(_BIN_L + core + _BIN_R))


_NUMBER_RUN = re.compile(r"[0-9][0-9 \-]{9,}[Xx]?")
# Lengths of an unbroken digit run that can be one identifier: mobile 11 (13 after "+", 15 after
# "00"), legacy ID 15, card 16–19, ID 18.
_WHOLE_RUN_LENGTHS = frozenset({11, 13, 15, 16, 17, 18, 19})
_ID18 = _pair(
    r"[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
)
_ID15 = _pair(r"[1-8][0-9]{5}[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}")
_MOBILE = _pair(
    r"(?:(?:\+|00)86[ \-]?)?1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}", text_left=r"(?<![0-9A-Za-z+])"
)
_CARD = _pair(
    r"(?:[3-6][0-9]{15,18}|[3-6][0-9]{3}(?:([ \-])[0-9]{4})(?:\1[0-9]{4}){2}(?:\1[0-9]{1,3})?)"
)
# "92" first so that the regex engine can skip ahead to it; the lookbehind then checks the
# character before it.
_CREDIT_92 = (
    re.compile(r"92(?<![0-9A-Za-z]92)[0-9A-HJ-NPQRTUWXY]{16}(?![0-9A-Za-z])"),
    re.compile(r"92(?<![0-9A-Z]92)[0-9A-HJ-NPQRTUWXY]{16}(?![0-9A-Z])"),
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._+\-])[A-Za-z0-9._+\-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
# ``icon@2x.png`` is a file name, and documentation domains hold nobody's address.
_NOT_EMAIL_SUFFIXES = frozenset(
    "png jpg jpeg gif svg webp avif ico bmp tif tiff css js mjs map json html htm xml txt md pdf "
    "doc docx xls xlsx zip gz woff woff2 ttf otf eot wasm".split()
)
_COMMON_TLDS = frozenset(
    "com cn net org edu gov info biz io me co cc tv top xyz vip site online tech mobi name pro "
    "hk mo tw jp kr sg uk us de fr ru ca au".split()
)
_DOCUMENTATION_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    ".example",
    ".invalid",
    ".test",
    ".localhost",
)


def _number_windows(text: str) -> list[tuple[int, int]]:
    """Stretches holding at least ten digits (spaces or hyphens between them), widened by the few
    characters a prefix (+86) and the boundary checks look at. An unbroken run of a length no
    identifier has (a 13-digit timestamp, a 12-digit code) is passed over at once."""
    n = len(text)
    windows = []
    for m in _NUMBER_RUN.finditer(text):
        run = m.group()
        digits = len(run) - run.count(" ") - run.count("-")
        if digits < 10:
            continue
        if digits == len(run) and (
            digits not in _WHOLE_RUN_LENGTHS
            or digits == 13
            and text[m.start() - 1 : m.start()] != "+"
        ):
            continue
        windows.append((max(0, m.start() - 6), min(n, m.end() + 1)))
    return windows


def _resident_ids(text: str, windows, binary: bool) -> Iterator[Match]:
    for start, end in windows:
        for m in _ID18[binary].finditer(text, start, end):
            if is_valid_resident_id(m.group()):
                yield Match(RESIDENT_ID, mask(m.group(), RESIDENT_ID), m.start(), m.end())
        for m in _ID15[binary].finditer(text, start, end):
            if is_valid_resident_id(m.group()):
                yield Match(RESIDENT_ID, mask(m.group(), RESIDENT_ID), m.start(), m.end())


def _mobiles(text: str, windows, binary: bool) -> Iterator[Match]:
    for start, end in windows:
        for m in _MOBILE[binary].finditer(text, start, end):
            yield Match(MOBILE, mask(m.group(), MOBILE), m.start(), m.end())


def _bank_cards(text: str, windows, binary: bool) -> Iterator[Match]:
    for start, end in windows:
        for m in _CARD[binary].finditer(text, start, end):
            digits = _alnum(m.group())
            if 16 <= len(digits) <= 19 and luhn_ok(digits) and not is_valid_resident_id(digits):
                yield Match(BANK_CARD, mask(digits, BANK_CARD), m.start(), m.end())


def _business_codes(text: str, binary: bool) -> Iterator[Match]:
    if "92" not in text:
        return
    for m in _CREDIT_92[binary].finditer(text):
        if is_valid_credit_code(m.group()):
            yield Match(
                INDIVIDUAL_BUSINESS_CODE,
                mask(m.group(), INDIVIDUAL_BUSINESS_CODE),
                m.start(),
                m.end(),
            )


# An address holds its "@" between a local-part character and a letter or digit: any other "@"
# (``"@context"``, ``@media``, ``"@id"``) is passed over without running the address pattern.
_LOCAL_PART_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-")
_DOMAIN_FIRST_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _emails(text: str, binary: bool = False) -> Iterator[Match]:
    at = text.find("@")
    while at >= 0:
        if not (
            0 < at < len(text) - 1
            and text[at - 1] in _LOCAL_PART_CHARS
            and text[at + 1] in _DOMAIN_FIRST_CHARS
        ):
            at = text.find("@", at + 1)
            continue
        m = next(
            (
                m
                for m in _EMAIL.finditer(text, max(0, at - 65), min(len(text), at + 260))
                if m.start() <= at < m.end()
            ),
            None,
        )
        start = _after_escapes(text, m.start(), at) if m else at
        if m and start < at:
            end = m.end()
            if binary:
                # In binary content the next string's length byte may be a letter glued to the
                # top-level domain ("163.comf"): drop it when what is left is a common domain.
                suffix = text[start:end].rpartition(".")[2].lower()
                if suffix not in _COMMON_TLDS and suffix[:-1] in _COMMON_TLDS:
                    end -= 1
            address = text[start:end]
            domain = address.rpartition("@")[2].lower()
            suffix = domain.rpartition(".")[2]
            if suffix not in _NOT_EMAIL_SUFFIXES and not (
                domain.endswith(_DOCUMENTATION_DOMAINS) or domain in _DOCUMENTATION_DOMAINS
            ):
                yield Match(EMAIL, mask(address, EMAIL), start, end)
        at = text.find("@", at + 1)


_JSON_ESCAPE_BODY = re.compile(r"u[0-9A-Fa-f]{4}")
_PERCENT_BODY = re.compile(r"[0-9A-Fa-f]{2}")


def _after_escapes(text: str, start: int, at: int) -> int:
    """Where an address's local part really begins when an escape is glued to it: after the
    "u4eba" of ``\\u4ebawang@…`` in raw JSON, the "BA" of ``%E4%BA%BAwang@…`` in a URL."""
    while start < at and text[start - 1 : start] in ("\\", "%"):
        body = (_JSON_ESCAPE_BODY if text[start - 1] == "\\" else _PERCENT_BODY).match(
            text, start, at
        )
        start = body.end() if body else start + 1
    return start


def _unique(matches: Iterable[Match]) -> list[Match]:
    return sorted(set(matches), key=lambda m: (m.start, m.end, m.kind))


def find_resident_ids(text: str, *, binary: bool = False) -> list[Match]:
    """居民身份证号: 18 digits — area code starting 1–8, a real birth date from 1900 to today,
    a 3-digit sequence, and the MOD 11-2 check character (0–9 or X) — or the 15-digit legacy form
    with a real date in 19xx."""
    return _unique(_resident_ids(text, _number_windows(text), binary))


def find_mobiles(text: str, *, binary: bool = False) -> list[Match]:
    """Mainland mobile numbers ``1[3-9]`` + 9 digits, optionally after +86/0086, written whole or
    grouped 3-4-4 with spaces or hyphens."""
    return _unique(_mobiles(text, _number_windows(text), binary))


def find_bank_cards(text: str, *, binary: bool = False) -> list[Match]:
    """Bank card numbers: 16–19 digits (whole, or in groups of four split by spaces or hyphens),
    first digit 3–6, passing the Luhn check; a string that is a valid resident ID is not a card."""
    return _unique(_bank_cards(text, _number_windows(text), binary))


def find_individual_business_codes(text: str, *, binary: bool = False) -> list[Match]:
    """统一社会信用代码 of 个体工商户: 18 GB 32100 characters starting "92" with a correct check
    character. Codes of government bodies (11…) and companies (91…) are public, not personal."""
    return _unique(_business_codes(text, binary))


def find_emails(text: str, *, binary: bool = False) -> list[Match]:
    """E-mail addresses (not ``icon@2x.png``-style file names, not documentation domains such as
    example.com)."""
    return _unique(_emails(text, binary))


# What the number detectors find in a window depends on the window's text alone: every match
# starts at most one character ("+") before the digit run the window was cut around, which is
# six characters in, so no lookbehind reaches out of it, and the character after the run, which
# ends the window, is one no match can end with. The same windows recur in every page (a
# department's phone, an item's codes): their findings are kept, for a bounded number of texts.
_WINDOW_CACHE: tuple[dict[str, tuple], dict[str, tuple]] = ({}, {})
WINDOW_CACHE_ENTRIES = 1 << 15
WINDOW_CACHE_TEXT = 64


def _window_findings(window: str, binary: bool) -> tuple[tuple[str, str, int, int], ...]:
    """(kind, masked value, start, end) of each identifier by shape in one number window."""
    spans = [(0, len(window))]
    return tuple(
        (m.kind, m.masked, m.start, m.end)
        for m in (
            *_resident_ids(window, spans, binary),
            *_mobiles(window, spans, binary),
            *_bank_cards(window, spans, binary),
        )
    )


def _number_detections(text: str, windows: list[tuple[int, int]], binary: bool) -> list[Match]:
    cache = _WINDOW_CACHE[binary]
    out: list[Match] = []
    for start, end in windows:
        window = text[start:end]
        found = cache.get(window)
        if found is None:
            found = _window_findings(window, binary)
            if len(window) <= WINDOW_CACHE_TEXT:
                if len(cache) >= WINDOW_CACHE_ENTRIES:
                    cache.clear()
                cache[window] = found
        for kind, masked, s, e in found:
            out.append(Match(kind, masked, start + s, start + e))
    return out


def _raw_detections(text: str, binary: bool) -> list[Match]:
    out: list[Match] = []
    windows = _number_windows(text)
    if windows:
        out += _number_detections(text, windows, binary)
    out += _business_codes(text, binary)
    if "@" in text:
        out += _emails(text, binary)
    return out


def _resolve(matches: list[Match]) -> list[Match]:
    """Overlapping matches → the most specific (then longest) of each overlapping group."""
    if len(matches) < 2:
        return matches
    matches.sort(key=lambda m: (m.start, -m.end))
    out: list[Match] = []
    group: list[Match] = []
    group_end = -1
    for m in matches:
        if group and m.start >= group_end:
            out += _pick(group)
            group = []
        if not group:
            group_end = m.end
        group.append(m)
        group_end = max(group_end, m.end)
    out += _pick(group)
    return out


def _pick(group: list[Match]) -> list[Match]:
    if len(group) == 1:
        return group
    kept: list[Match] = []
    for m in sorted(group, key=lambda m: (_RANK[m.kind], m.start - m.end, m.start)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


def detect(text: str, allow: Iterable[str] = (), *, binary: bool = False) -> list[Match]:
    """All identifier detectors over one string, allow-listed values skipped, overlaps resolved
    to the most specific kind. (Personal values need :class:`PiiScanner`.)"""
    return PiiScanner((), allow).find(text, binary=binary)


# ---------------------------------------------------------------- normalisation and views

# Full-width ASCII (１３８…, ＠) and the ideographic space are folded one for one, so positions hold.
# Only what identifiers are made of: full-width punctuation （，：） is everywhere in Chinese text
# and folding it would change nothing found.
_FULLWIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff20\uff0b\uff0d\uff0e\u3000]")
_FOLD = {
    c: c - 0xFEE0
    for c in (
        *range(0xFF10, 0xFF1A),
        *range(0xFF21, 0xFF3B),
        *range(0xFF41, 0xFF5B),
        0xFF20,
        0xFF0B,
        0xFF0D,
        0xFF0E,
    )
} | {0x3000: 0x20}
_ASCII_LOWER = {c: c + 32 for c in range(0x41, 0x5B)}


_FOLD_CHR = {chr(k): chr(v) for k, v in _FOLD.items()}


def _fold(text: str) -> str:
    """Full-width digits, letters and signs → ASCII (the ideographic space → a space).
    A regex substitution, not ``str.translate`` with a dict: U+3000 is in most Chinese text, and
    translate walks every character through the dict (12× slower on item pages)."""
    return _FULLWIDTH.sub(lambda m: _FOLD_CHR[m[0]], text)


def _lower(text: str) -> str:
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


_JSON_ESCAPES = re.compile(r"(?:\\u[0-9A-Fa-f]{4})+")
_ENTITIES = re.compile(r"(?:&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)+")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_RUN_PROPERTIES = re.compile(r"<(?:[A-Za-z]+:)?rPr\b[^>\n]*?(?:/>|>.*?</(?:[A-Za-z]+:)?rPr>)")
_INLINE_TAG = re.compile(
    r"</?(?:[A-Za-z]+:)?(?:a|abbr|b|bdi|bdo|code|em|font|i|mark|q|r|s|small|span|strong|sub|sup"
    r"|t|u|wbr|proofErr|bookmarkStart|bookmarkEnd|lastRenderedPageBreak|softHyphen)"
    r"(?:\s[^<>\n]*)?/?>"
)
_TAG = re.compile(r"<[^<>\n]*>")
# A decoded character reference matters when it gives something a value is made of (a letter, a
# digit, a separator); ``&nbsp;`` or ``&amp;`` alone do not warrant another pass over the chunk.
# JSON and percent escapes always matter: their hex digits glue onto the digits that follow.
_MATTERS = re.compile(r"[\w@.+'\- ]")


def _one_line(text: str) -> str:
    return text.replace("\n", " ") if "\n" in text else text


@lru_cache(maxsize=65536)
def _decode_json(run: str) -> str:
    decoded = run.encode("ascii").decode("unicode_escape")
    return _one_line(decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


@lru_cache(maxsize=65536)
def _decode_entities(run: str) -> tuple[str, bool]:
    decoded = _one_line(html.unescape(run))
    return decoded, bool(_MATTERS.search(decoded))


@lru_cache(maxsize=65536)
def _decode_percent(run: str) -> str:
    return _one_line(unquote(run, errors="replace"))


def _unescape(text: str) -> tuple[str, bool]:
    """``text`` with JSON, HTML/XML and URL escapes decoded (line ends kept), and whether any
    decoding could change what is found."""
    matters = False

    def entity(m: re.Match[str]) -> str:
        nonlocal matters
        decoded, useful = _decode_entities(m.group())
        matters = matters or useful
        return decoded

    if "\\u" in text:
        decoded = _JSON_ESCAPES.sub(lambda m: _decode_json(m.group()), text)
        matters = matters or decoded != text
        text = decoded
    if "&" in text:
        text = _ENTITIES.sub(entity, text)
    if "%" in text:
        decoded = _PERCENT.sub(lambda m: _decode_percent(m.group()), text)
        matters = matters or decoded != text
        text = decoded
    return text, matters


def _views(chunk: str) -> list[str]:
    """The chunk as written, with escapes decoded, and with markup removed (inline tags such as
    ``<b>`` or an XLSX ``<r><t>`` run vanish; other tags become a space). Line ends are kept in
    every view, so line numbers hold."""
    views = [chunk]
    decoded, matters = _unescape(chunk)
    if matters:
        views.append(decoded)
    if "<" in chunk:
        runs_removed = _RUN_PROPERTIES.sub("", chunk) if "rPr" in chunk else chunk
        bare, _ = _unescape(_TAG.sub(" ", _INLINE_TAG.sub("", runs_removed)))
        if bare not in views:
            views.append(bare)
    return views


# What :func:`_unescape` decodes starts with one of these (a JSON escape, a character
# reference, a percent escape), and a tag with "<"; neither crosses a line end, but for an inline
# tag whose name a line end follows (``<b\n>``), which is looked for.
_ESCAPE = r"\\u[0-9A-Fa-f]{4}|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});|%[0-9A-Fa-f]{2}"
_ANY_ESCAPE = re.compile(_ESCAPE)
_ANY_MARKUP = re.compile("<|" + _ESCAPE)
_TAG_NAME_AT_LINE_END = re.compile(r"</?(?:[A-Za-z]+:)?[A-Za-z]+\n")


def _marked_lines(chunk: str, starts: str, marks: re.Pattern[str]) -> tuple[str, list[int]]:
    """The lines of ``chunk`` with a match of ``marks`` (which starts with one of the characters
    ``starts``), joined, and the index of each. The candidates are found with ``str.find``: a
    regular expression's search walks a text of Chinese characters several times slower."""
    parts: list[str] = []
    numbers: list[int] = []
    line = counted = 0
    match, find = marks.match, chunk.find
    ahead = [find(c) for c in starts]  # the next occurrence of each start character
    while True:
        at = min((p for p in ahead if p >= 0), default=-1)
        if at < 0:
            break
        if match(chunk, at) is None:
            i = starts.index(chunk[at])
            ahead[i] = find(starts[i], at + 1)
            continue
        start = chunk.rfind("\n", 0, at) + 1
        end = find("\n", at)
        if end < 0:
            end = len(chunk)
        line += chunk.count("\n", counted, start)
        counted = start
        parts.append(chunk[start:end])
        numbers.append(line)
        ahead = [
            p if p < 0 or p >= end else find(c, end) for p, c in zip(ahead, starts, strict=True)
        ]
    return "\n".join(parts), numbers


def _line_views(chunk: str) -> list[tuple[str, list[int] | None]]:
    """:func:`_views` of a chunk of whole lines, each view with the chunk's index of each of its
    lines (None: all of them, in order).

    A derived view may leave out a line that reads there as in the chunk: no match crosses a line
    end, and every detector decides from the line alone (the characters around it being line
    ends, or the text's edge, in every view), so such a line could only give again what the chunk
    gives on that line. The decoded view keeps only the lines with an escape; the bare view, when
    tags are few, only the lines with a tag or an escape (all of it when an inline tag may span a
    line end, as the bare view then has fewer lines; when tags are on most lines, gathering the
    lines would cost more than it saves)."""
    views: list[tuple[str, list[int] | None]] = [(chunk, None)]
    if "\\u" in chunk or "&" in chunk or "%" in chunk:
        lines, numbers = _marked_lines(chunk, "\\&%", _ANY_ESCAPE)
        decoded, matters = _unescape(lines)
        if matters:
            views.append((decoded, numbers))
    if "<" in chunk:
        source, numbers = chunk, None
        if "rPr" in chunk:
            source = _RUN_PROPERTIES.sub("", chunk)
        elif chunk.count("<") * 8 < chunk.count("\n") and not _TAG_NAME_AT_LINE_END.search(chunk):
            source, numbers = _marked_lines(chunk, "<\\&%", _ANY_MARKUP)
        bare, _ = _unescape(_TAG.sub(" ", _INLINE_TAG.sub("", source)))
        if bare != (chunk if numbers is None else source):
            views.append((bare, numbers))
    return views


# ---------------------------------------------------------------- where hits are collected


def _walk_once(top: str) -> Iterator[tuple[str, list[str]]]:
    """Every folder under ``top`` (links followed, each real folder once) with its files, both in
    sorted order: the order of the scan and of its report."""
    seen: set[str] = set()
    for folder, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        yield folder, sorted(files)


@dataclass(frozen=True)
class _Place:
    """A top-level release file and the archive members leading to the content scanned."""

    file: str
    members: tuple[str, ...] = ()

    def inside(self, member: str) -> _Place:
        return _Place(self.file, (*self.members, member))

    def where(self, tail: str) -> str:
        return f"成员 {' › '.join(self.members)}，{tail}" if self.members else tail


class _Hits:
    """The hits of one release, each once, in the order found. With ``log`` (a list), every call
    is appended to it instead, unfiltered, to be replayed into the release's hits later (see
    :class:`_ParallelScan`)."""

    def __init__(self, log: list | None = None) -> None:
        self.hits: list[Hit] = []
        self._seen: set[tuple[str, str, str, str]] = set()
        self._kinds_by_file: set[tuple[str, str, str]] = set()
        self.log = log

    def add(
        self, file: str, kind: str, masked: str, location: str, *, supplementary: bool = False
    ) -> None:
        """``supplementary`` hits (a raw-byte pass after a structured read) only count when the
        structured read did not already find the same value in that file."""
        if self.log is not None:
            self.log.append((_HIT, file, kind, masked, location, supplementary))
            return
        if supplementary and (file, kind, masked) in self._kinds_by_file:
            return
        key = (file, kind, masked, location)
        if key not in self._seen:
            self._seen.add(key)
            self._kinds_by_file.add((file, kind, masked))
            self.hits.append(Hit(file, kind, masked, location))


# ---------------------------------------------------------------- the scanner

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_PDF_STREAM = re.compile(rb"stream\r?\n")
_PDF_UTF16_LITERAL = re.compile(rb"\(\xfe\xff((?:[^()\\]|\\.){2,4000})\)", re.S)
_PDF_UTF16_HEX = re.compile(rb"<\s*FE\s*FF([0-9A-Fa-f\s]{4,16000})>", re.I)


class PiiScanner:
    """Detectors plus one Aho–Corasick automaton of the export's personal values.

    ``allow`` lists the site's own public values (department phones and e-mails, 12345, the
    departments' credit codes and impl codes): a detected identifier equal to one of them, or a
    personal value equal to one, is not reported. Comparison ignores spaces, hyphens, case and
    full-width forms (and a +86/0086 prefix for mobiles).
    """

    def __init__(
        self,
        personal_values: Iterable[str] = (),
        allow: Iterable[str] = (),
        *,
        workers: int | None = None,
    ):
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self._seen_contents: set[bytes] = set()
        self._log: list | None = None
        allow = [_fold(str(a)).strip() for a in allow if a is not None and str(a).strip()]
        self._allow_text = {_lower(a) for a in allow}
        self._allow_keys = {_alnum(a) for a in allow}
        self._allow_mobiles = {k[-11:] for k in self._allow_keys if len(k) >= 11 and k.isdigit()}
        self._automaton: ahocorasick.Automaton | None = None
        longest = 0
        automaton = ahocorasick.Automaton()
        for key in _personal_keys(personal_values):
            if len(key) < MIN_PERSONAL_LENGTH or key in self._allow_text:
                continue
            # A value beginning or ending with an ASCII letter or digit must not be part of a longer
            # word or number there ("Li" is not in "click"); Chinese values have no such boundary.
            left = key[0].isascii() and key[0].isalnum()
            right = key[-1].isascii() and key[-1].isalnum()
            short_han = len(key) <= SHORT_HAN_LENGTH and all(map(_is_han, key))
            automaton.add_word(key, (len(key), left, right, key.isdigit(), short_han))
            longest = max(longest, len(key))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton
        # A match shorter than ``reach`` is found whole in one of two overlapping chunks; the
        # overlap allows for views that shrink text (an escape is up to 9 characters for 1).
        self._reach = min(max(64, longest + 8), 8192)
        self._overlap = 30 * self._reach

    # ------------------------------------------------------------ strings

    def find(self, text: str, *, binary: bool = False) -> list[Match]:
        """Every identifier and personal value in ``text`` (positions in ``text``)."""
        return self._find_folded(_fold(text), binary)

    def _find_folded(self, text: str, binary: bool) -> list[Match]:
        matches = [m for m in _raw_detections(text, binary) if not self._allowed(m, text)]
        if self._automaton is not None:
            matches += self._personal(text, binary)
        return _resolve(matches)

    def _allowed(self, m: Match, text: str) -> bool:
        if not (self._allow_keys or self._allow_text):
            return False
        value = text[m.start : m.end]
        if m.kind == MOBILE:
            return _alnum(value)[-11:] in self._allow_mobiles
        if m.kind == EMAIL:
            return _lower(value) in self._allow_text
        return _alnum(value) in self._allow_keys

    def _personal(self, text: str, binary: bool) -> list[Match]:
        low = _lower(text)
        n = len(low)
        out = []
        for end, (length, left, right, digits, short_han) in self._automaton.iter(low):
            start = end - length + 1
            if (
                short_han
                and start > 0
                and end + 1 < n
                and _is_han(low[start - 1])
                and _is_han(low[end + 1])
            ):
                continue
            if left and start > 0 and _touches(low[start - 1], binary and digits):
                continue
            if right and end + 1 < n and _touches(low[end + 1], binary and digits):
                continue
            out.append(
                Match(PERSONAL_VALUE, mask(text[start : end + 1], PERSONAL_VALUE), start, end + 1)
            )
        return out

    def _safe(self, name: str, found: list[Match] | None = None) -> str:
        """A file, member, table or column name with any identifier in it masked (``found``:
        what :meth:`find` gives for it, when already known)."""
        if found is None:
            found = self.find(name)
        if not found:
            return name
        name = _fold(name)
        parts, last = [], 0
        for m in found:
            parts += [name[last : m.start], m.masked]
            last = m.end
        return "".join(parts) + name[last:]

    # ------------------------------------------------------------ the release

    def scan_release(
        self, root: Path, published: frozenset[tuple[int, int]] = frozenset()
    ) -> list[Hit]:
        """Every hit in every file under ``root`` (symbolic links followed once), each file read
        as text by the reader its content calls for. A file that cannot be read, for whatever
        reason, is an ``unscannable`` hit: only the exception's type is kept, never its message.
        Files in ``published`` ((device, inode) pairs) are hard links to files of the live
        release, scanned when they were first published, and are not read again."""
        root = Path(root)
        if not root.is_dir():
            raise ConfigurationError(f"要检查的发布目录不存在：{root}")
        if self.workers > 1:
            return _ParallelScan(self, self.workers).run(root, published)
        hits = _Hits()
        self._seen_contents: set[bytes] = set()
        for folder, files in _walk_once(os.fspath(root)):
            for name in files:
                path = Path(folder, name)
                shown = path.relative_to(root).as_posix()
                found = self.find(shown)
                relative = self._safe(shown, found)
                place = _Place(relative)
                self._scan_name(shown, place, "文件名", hits, found)
                try:
                    if (
                        path.is_file()
                        and _identity(path) not in published
                        and self._first_time(open(path, "rb"))
                    ):
                        self._scan_path(path, path.name, place, hits, 0)
                except Exception as error:  # fail closed; the message may hold data
                    hits.add(relative, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
        return hits.hits

    def _first_time(self, stream: IO[bytes]) -> bool:
        """False when the same bytes were already scanned in this release (the ZIP of all
        datasets repeats every file beside it): identical bytes give identical findings."""
        digest = _content_digest()
        with stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        value = digest.digest()
        if value in self._seen_contents:
            return False
        self._seen_contents.add(value)
        if self._log is not None:
            self._log.append((_ENTER, value))
        return True

    def _leave(self) -> None:
        """The end of what a ``_first_time`` that returned True let in (for the log)."""
        if self._log is not None:
            self._log.append((_LEAVE,))

    def check(self, root: Path, published: frozenset[tuple[int, int]] = frozenset()) -> None:
        """Raise :class:`PiiFound` when :meth:`scan_release` finds anything under ``root``."""
        hits = self.scan_release(root, published)
        if hits:
            raise PiiFound(hits)

    def _scan_name(
        self, name: str, place: _Place, what: str, hits: _Hits, found: list[Match] | None = None
    ) -> None:
        for m in self.find(name) if found is None else found:
            hits.add(place.file, m.kind, m.masked, place.where(what))

    def _scan_path(self, path: Path, name: str, place: _Place, hits: _Hits, depth: int) -> None:
        small = max(READ_BYTES, 65536)
        with open(path, "rb") as f:
            data = f.read(small + 1)
        if len(data) <= small:  # read once: most files are small
            opener: Callable[[], IO[bytes]] = lambda: io.BytesIO(data)  # noqa: E731
        else:
            opener = lambda: open(path, "rb")  # noqa: E731
        if data:
            self._dispatch(opener, path, name, data[:65536], place, hits, depth)

    def _dispatch(
        self,
        opener: Callable[[], IO[bytes]],
        path: Path | None,
        name: str,
        head: bytes,
        place: _Place,
        hits: _Hits,
        depth: int,
    ) -> None:
        if depth > MAX_DEPTH:
            hits.add(place.file, UNSCANNABLE, "", place.where("压缩包嵌套过深"))
            return
        container = _container_kind(head)
        if container and path is None:
            with _spooled(opener) as spooled:
                self._dispatch(lambda: open(spooled, "rb"), spooled, name, head, place, hits, depth)
            return
        if container == "zip":
            self._scan_zip(path, place, hits, depth)
        elif container == "tar":
            self._scan_tar(path, place, hits, depth)
        elif container == "sqlite":
            self._scan_sqlite(path, place, hits)
        elif container == "parquet":
            self._scan_parquet(path, place, hits)
        elif container == "pdf":
            self._scan_pdf(path, place, hits)
        elif head.startswith(b"\x1f\x8b"):
            self._scan_compressed(
                _through(lambda raw: gzip.GzipFile(fileobj=raw), opener), name, place, hits, depth
            )
        elif head.startswith(b"BZh"):
            self._scan_compressed(_through(bz2.BZ2File, opener), name, place, hits, depth)
        elif head.startswith(b"\xfd7zXZ\x00"):
            self._scan_compressed(_through(lzma.LZMAFile, opener), name, place, hits, depth)
        elif head.startswith(_OLE_MAGIC):
            self._scan_binary(opener, place, hits)
            self._scan_pieces(
                _decoded(opener, "utf-16-le", "ignore"),
                place,
                hits,
                binary=True,
                supplementary=True,
            )
        else:
            encoding = _text_encoding(head)
            if encoding is None:
                self._scan_binary(opener, place, hits)
            else:
                self._scan_text(opener, encoding, place, hits)

    def _scan_text(self, opener, encoding: str, place: _Place, hits: _Hits) -> None:
        try:
            self._scan_pieces(_decoded(opener, encoding, "strict"), place, hits, binary=False)
        except UnicodeDecodeError:
            # Mostly text but not all of one encoding: read it every way it may have been meant.
            for fallback in dict.fromkeys((encoding, "utf-8-sig", "gb18030")):
                self._scan_pieces(_decoded(opener, fallback, "replace"), place, hits, binary=False)
            self._scan_binary(opener, place, hits)

    def _scan_binary(
        self, opener, place: _Place, hits: _Hits, *, supplementary: bool = False
    ) -> None:
        self._scan_pieces(
            _decoded(opener, "utf-8", "ignore"),
            place,
            hits,
            binary=True,
            supplementary=supplementary,
        )

    def _scan_compressed(self, opener, name: str, place: _Place, hits: _Hits, depth: int) -> None:
        inner = re.sub(r"\.(gz|bz2|xz|tgz)$", "", name, flags=re.I) or name
        try:
            with opener() as f:
                head = f.read(65536)
            if head:
                self._dispatch(opener, None, inner, head, place, hits, depth + 1)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:
            hits.add(
                place.file, UNSCANNABLE, "", place.where(f"压缩数据损坏（{type(error).__name__}）")
            )

    def _member(self, info: zipfile.ZipInfo, place: _Place, hits: Any) -> _Place | None:
        """A ZIP member's name checked; its place, or None for a folder or an encrypted member
        (reported unscannable)."""
        found = self.find(info.filename)
        member = place.inside(self._safe(info.filename, found))
        self._scan_name(info.filename, member, "成员名", hits, found)
        if info.is_dir():
            return None
        if info.flag_bits & 0x1:
            hits.add(place.file, UNSCANNABLE, "", member.where("已加密，无法检查"))
            return None
        return member

    def _scan_zip(self, path: Path, place: _Place, hits: _Hits, depth: int) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            hits.add(
                place.file, UNSCANNABLE, "", place.where(f"压缩包损坏（{type(error).__name__}）")
            )
            self._scan_binary(lambda: open(path, "rb"), place, hits)
            return
        with archive:
            for info in archive.infolist():
                member = self._member(info, place, hits)
                if member is None:
                    continue
                # One bad member must not hide the rest.
                try:
                    if not self._first_time(archive.open(info)):
                        continue
                except Exception as error:
                    hits.add(
                        place.file,
                        UNSCANNABLE,
                        "",
                        member.where(f"无法解压（{type(error).__name__}）"),
                    )
                    continue
                try:
                    self._scan_member(archive, info, member, hits, depth)
                except Exception as error:
                    hits.add(
                        place.file,
                        UNSCANNABLE,
                        "",
                        member.where(f"无法解压（{type(error).__name__}）"),
                    )
                finally:
                    self._leave()

    def _scan_member(
        self,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        member: _Place,
        hits: _Hits,
        depth: int,
    ) -> None:
        with archive.open(info) as f:
            head = f.read(65536)
        if head:
            self._dispatch(
                lambda: archive.open(info), None, info.filename, head, member, hits, depth + 1
            )

    def _scan_tar(self, path: Path, place: _Place, hits: _Hits, depth: int) -> None:
        try:
            with tarfile.open(path) as archive:
                for info in archive:
                    member = place.inside(self._safe(info.name))
                    self._scan_name(info.name, member, "成员名", hits)
                    if not info.isfile():
                        continue
                    with archive.extractfile(info) as f:
                        head = f.read(65536)
                    if head:
                        self._dispatch(
                            lambda info=info: archive.extractfile(info),
                            None,
                            info.name,
                            head,
                            member,
                            hits,
                            depth + 1,
                        )
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            hits.add(
                place.file, UNSCANNABLE, "", place.where(f"归档损坏（{type(error).__name__}）")
            )
            self._scan_binary(lambda: open(path, "rb"), place, hits)

    # ------------------------------------------------------------ databases

    def _scan_column(
        self, batches: Iterable[Sequence[tuple]], place: _Place, hits: _Hits, where: str
    ) -> None:
        """The first value of each row, batch by batch (``fetchmany``), scanned as texts of about
        a chunk joined by line ends; byte values as binary text."""
        texts, blobs = _Joined(), _Joined()
        for rows in batches:
            values = [row[0] for row in rows]
            strings = [v for v in values if v.__class__ is str]
            if len(strings) < len(values):
                others = [v for v in values if v is not None and v.__class__ is not str]
                blobs.add(
                    [bytes(v).decode("utf-8", "ignore") for v in others if isinstance(v, _BYTES)]
                )
                strings += [str(v) for v in others if not isinstance(v, _BYTES)]
            texts.add(strings)
            if texts.size >= CHUNK_CHARS:
                self._scan_block(texts.take(), place, hits, where, binary=False)
            if blobs.size >= CHUNK_CHARS:
                self._scan_block(blobs.take(), place, hits, where, binary=True)
        self._scan_block(texts.take(), place, hits, where, binary=False)
        self._scan_block(blobs.take(), place, hits, where, binary=True)

    def _scan_block(
        self, text: str, place: _Place, hits: _Hits, where: str, *, binary: bool
    ) -> None:
        if text:
            location = place.where(where)
            self._scan_pieces([text], place, hits, binary=binary, locate=lambda _line: location)

    def _scan_sqlite(self, path: Path, place: _Place, hits: _Hits) -> None:
        uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
        try:
            connection = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            hits.add(
                place.file,
                UNSCANNABLE,
                "",
                place.where(f"数据库无法打开（{type(error).__name__}）"),
            )
            self._scan_binary(lambda: open(path, "rb"), place, hits)
            return
        try:
            connection.text_factory = lambda b: b.decode("utf-8", "replace")
            schema = connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            self._scan_column([[(sql,) for _, _, sql in schema]], place, hits, "表结构")
            for kind, table, sql in schema:
                if kind != "table":
                    continue
                shown = self._safe(table)
                columns = [
                    row[1]
                    for row in connection.execute(f"PRAGMA table_xinfo({_ident(table)})")
                    if row[6] != 1
                ]
                for column in columns:
                    where = f"表 {shown}，列 {self._safe(column)}"
                    try:
                        cursor = connection.execute(f"SELECT {_ident(column)} FROM {_ident(table)}")
                        self._scan_column(_batches(cursor), place, hits, where)
                    except sqlite3.Error as error:
                        hits.add(
                            place.file,
                            UNSCANNABLE,
                            "",
                            place.where(f"{where}无法读取（{type(error).__name__}）"),
                        )
                self._scan_vocabulary(connection, table, sql or "", shown, place, hits)
        except sqlite3.Error as error:
            hits.add(
                place.file,
                UNSCANNABLE,
                "",
                place.where(f"数据库无法读取（{type(error).__name__}）"),
            )
        finally:
            connection.close()
        # Deleted rows stay in free pages until VACUUM: read the raw pages as well.
        self._scan_binary(lambda: open(path, "rb"), place, hits, supplementary=True)

    def _scan_vocabulary(self, connection, table: str, sql: str, shown: str, place, hits) -> None:
        """The terms of a full-text index, which a contentless FTS table holds nowhere else."""
        module = re.search(r"\bUSING\s+(fts[345])\b", sql, re.I)
        if not module:
            return
        vocabulary = "pii_vocabulary"
        if module.group(1).lower() == "fts5":
            create = f"CREATE VIRTUAL TABLE temp.{vocabulary} USING fts5vocab(main, {_ident(table)}, row)"
        else:
            create = f"CREATE VIRTUAL TABLE temp.{vocabulary} USING fts4aux(main, {_ident(table)})"
        try:
            connection.execute(create)
            try:
                cursor = connection.execute(f"SELECT DISTINCT term FROM temp.{vocabulary}")
                self._scan_column(_batches(cursor), place, hits, f"表 {shown} 的全文索引词表")
            finally:
                connection.execute(f"DROP TABLE temp.{vocabulary}")
        except sqlite3.Error as error:
            hits.add(
                place.file,
                UNSCANNABLE,
                "",
                place.where(f"表 {shown} 的全文索引词表无法读取（{type(error).__name__}）"),
            )

    def _scan_parquet(self, path: Path, place: _Place, hits: _Hits) -> None:
        import duckdb  # only when a Parquet file is met

        source = str(path)
        connection = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            description = connection.execute(
                "SELECT * FROM read_parquet(?) LIMIT 0", [source]
            ).description
            self._scan_column([description], place, hits, "列名")
            metadata = connection.execute(
                "SELECT key, value FROM parquet_kv_metadata(?)", [source]
            ).fetchall()
            self._scan_column(
                [[(v,) for pair in metadata for v in pair]], place, hits, "文件元数据"
            )
            for column, type_code, *_ in description:
                cast = "" if str(type_code).upper() == "BLOB" else "::VARCHAR"
                cursor = connection.execute(
                    f"SELECT {_ident(column)}{cast} FROM read_parquet(?)", [source]
                )
                self._scan_column(_batches(cursor), place, hits, f"列 {self._safe(column)}")
        except duckdb.Error as error:
            hits.add(
                place.file,
                UNSCANNABLE,
                "",
                place.where(f"Parquet 无法读取（{type(error).__name__}）"),
            )
            self._scan_binary(lambda: open(path, "rb"), place, hits)
        finally:
            connection.close()

    def _scan_pdf(self, path: Path, place: _Place, hits: _Hits) -> None:
        """Raw bytes, then each Flate stream inflated, then UTF-16 strings (document info)."""
        self._scan_binary(lambda: open(path, "rb"), place, hits)
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            self._scan_pdf_strings(data, place, hits)
            for m in _PDF_STREAM.finditer(data):
                inflated = _inflate(data, m.end())
                if inflated:
                    self._scan_block(
                        inflated.decode("utf-8", "ignore"), place, hits, "PDF 数据流", binary=True
                    )
                    self._scan_pdf_strings(inflated, place, hits)

    def _scan_pdf_strings(self, data, place: _Place, hits: _Hits) -> None:
        texts = []
        for m in _PDF_UTF16_LITERAL.finditer(data):
            raw = re.sub(rb"\\([\\()])", rb"\1", m.group(1))
            texts.append(raw.decode("utf-16-be", "ignore"))
        for m in _PDF_UTF16_HEX.finditer(data):
            digits = re.sub(rb"\s", b"", m.group(1))
            texts.append(
                bytes.fromhex(digits[: len(digits) // 4 * 4].decode()).decode("utf-16-be", "ignore")
            )
        self._scan_block("\n".join(texts), place, hits, "PDF 文本字符串", binary=False)

    # ------------------------------------------------------------ text in chunks

    def _scan_pieces(
        self,
        pieces: Iterable[str],
        place: _Place,
        hits: _Hits,
        *,
        binary: bool,
        supplementary: bool = False,
        locate: Callable[[int], str] | None = None,
    ) -> None:
        """Scan a stream of decoded text chunk by chunk. A chunk ends at a line end when there is
        one near its end (nothing can span it then); otherwise the next chunk overlaps it, and a
        match too close to a cut edge is left to the chunk that holds it whole."""
        if locate is None:
            if binary:
                location = place.where("二进制内容中的文本")
                locate = lambda _line: location  # noqa: E731
            else:
                locate = lambda line: place.where(f"第 {line} 行")  # noqa: E731
        stream = iter(pieces)
        buffer, lines_before, clean_start, ended = "", 0, True, False
        while True:
            while not ended and len(buffer) < CHUNK_CHARS:
                piece = next(stream, None)
                if piece is None:
                    ended = True
                else:
                    buffer += piece
            if ended:
                chunk, clean_end = buffer, True
            else:
                cut = buffer.rfind("\n", len(buffer) - NEWLINE_WINDOW)
                chunk, clean_end = (buffer[: cut + 1], True) if cut >= 0 else (buffer, False)
            for match, line in self._scan_chunk(chunk, binary, clean_start, clean_end):
                hits.add(
                    place.file,
                    match.kind,
                    match.masked,
                    locate(lines_before + line),
                    supplementary=supplementary,
                )
            if ended:
                return
            if clean_end:
                lines_before += chunk.count("\n")
                buffer, clean_start = buffer[len(chunk) :], True
            else:
                consumed = len(buffer) - self._overlap
                lines_before += buffer.count("\n", 0, consumed)
                buffer, clean_start = buffer[consumed:], False

    def _scan_chunk(
        self, chunk: str, binary: bool, clean_start: bool, clean_end: bool
    ) -> Iterator[tuple[Match, int]]:
        chunk = _fold(chunk)
        if binary:
            views: list[tuple[str, list[int] | None]] = [(chunk, None)]
        elif clean_start and clean_end:
            views = _line_views(chunk)
        else:
            views = [(view, None) for view in _views(chunk)]
        for index, (view, numbers) in enumerate(views):
            if index:
                view = _fold(view)
            low = 0 if clean_start else self._reach
            high = len(view) if clean_end else len(view) - self._reach
            line, counted = 1, 0
            for m in self._find_folded(view, binary):
                if m.start < low or m.end > high:
                    continue
                line += view.count("\n", counted, m.start)
                counted = m.start
                yield m, (line if numbers is None else numbers[line - 1] + 1)


_BYTES = (bytes, bytearray, memoryview)


def _batches(cursor) -> Iterator[list[tuple]]:
    """A database cursor's rows, a few thousand at a time."""
    return iter(partial(cursor.fetchmany, 8192), [])


class _Joined:
    """Batches of cell values gathered into one text of about a chunk."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, values: list[str]) -> None:
        if values:
            text = "\n".join(values)
            self.parts.append(text)
            self.size += len(text) + 1

    def take(self) -> str:
        text = "\n".join(self.parts)
        self.parts, self.size = [], 0
        return text


def _personal_keys(values: Iterable[str]) -> Iterator[str]:
    """Each value folded (full-width → ASCII, lower case) and stripped; a value written over
    several lines gives one key per line, since no match crosses a line end."""
    for value in values:
        if value is None:
            continue
        for line in _fold(str(value)).splitlines():
            if line.strip():
                yield _lower(line.strip())


def _through(wrapper, opener: Callable[[], IO[bytes]]) -> Callable[[], IO[bytes]]:
    """An opener for a decompressing reader that closes the underlying file with it."""

    @contextmanager
    def opened() -> Iterator[IO[bytes]]:
        with opener() as raw, wrapper(raw) as reader:
            yield reader

    return opened


def _is_han(c: str) -> bool:
    """A CJK ideograph (basic block, extension A, compatibility ideographs)."""
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uf900" <= c <= "\ufaff"


def _touches(c: str, digits_only: bool) -> bool:
    return c.isdigit() if digits_only else (c.isascii() and c.isalnum())


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _container_kind(head: bytes) -> str | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def _text_encoding(head: bytes) -> str | None:
    """The encoding a file's first bytes are text in, or None for binary content."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _CONTROL_BYTES.search(head):
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def _decoded(opener: Callable[[], IO[bytes]], encoding: str, errors: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    with opener() as f:
        while block := f.read(READ_BYTES):
            yield decoder.decode(block)
    yield decoder.decode(b"", final=True)


@contextmanager
def _spooled(opener: Callable[[], IO[bytes]]) -> Iterator[Path]:
    """An archive member copied to a temporary file, for readers that need a path."""
    folder = tempfile.mkdtemp(prefix="approvals-pii-")
    try:
        target = Path(folder, "member")
        with opener() as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, READ_BYTES)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _inflate(data, start: int) -> bytes:
    inflater = zlib.decompressobj()
    out: list[bytes] = []
    size, position = 0, start
    try:
        while not inflater.eof and position < len(data) and size < MAX_INFLATE:
            piece = inflater.decompress(data[position : position + READ_BYTES], MAX_INFLATE - size)
            position += READ_BYTES
            out.append(piece)
            size += len(piece)
            while inflater.unconsumed_tail and size < MAX_INFLATE and not inflater.eof:
                piece = inflater.decompress(inflater.unconsumed_tail, MAX_INFLATE - size)
                out.append(piece)
                size += len(piece)
    except zlib.error:
        return b"".join(out)
    return b"".join(out)


# ---------------------------------------------------------------- across worker processes

WORKERS_ENV = "APPROVALS_PII_WORKERS"
MAX_DEFAULT_WORKERS = 4
BATCH_UNITS = 64
BATCH_BYTES = 8 << 20
PENDING_UNITS = 8192
"""A release is scanned in units (a top-level file, or one member of a top-level ZIP), sent to
the workers in batches of up to ``BATCH_UNITS`` units or ``BATCH_BYTES`` bytes; at most about
``PENDING_UNITS`` units are planned ahead of the oldest one not yet taken into the hits, so
memory does not grow with the number of files. A release smaller than one batch is scanned in
this process: starting workers would cost more than it saves."""

FORK_WITH_THREADS = False
"""Workers are forks of this process. A process that runs other threads is not forked (a lock
another thread holds would never be released in the fork, and the worker would hang): it scans
in this process instead, as fast as before."""

_HIT, _ENTER, _LEAVE, _UNIT = 0, 1, 2, 3


def default_workers() -> int:
    """``APPROVALS_PII_WORKERS`` when set (1 scans in this process only), else one worker per
    CPU this process may run on, at most :data:`MAX_DEFAULT_WORKERS`."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ConfigurationError(f"{WORKERS_ENV} 应为正整数：{value!r}") from None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def _other_threads() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:  # not Linux
        return threading.active_count() > 1


_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _regular_file_to_read(path: str, published: frozenset[tuple[int, int]]) -> bool:
    """``Path(path).is_file()`` and not one of ``published`` (a missing file or a broken link is
    not a file; any other failure to ``stat`` is raised), with one ``stat``."""
    try:
        status = os.stat(path)
    except OSError as error:
        if error.errno in _NOT_THERE:
            return False
        raise
    except ValueError:
        return False
    return stat.S_ISREG(status.st_mode) and (status.st_dev, status.st_ino) not in published


def _digest_and_head(path: str) -> tuple[bytes, bytes, int]:
    """The content digest :meth:`PiiScanner._first_time` takes, the first 64 KiB, the size."""
    digest = _content_digest()
    head, size = b"", 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if not size:
                head = chunk[:65536]
            size += len(chunk)
            digest.update(chunk)
    return digest.digest(), head, size


def _run_unit(scanner: PiiScanner, unit: tuple) -> list[tuple]:
    """Scan one unit as the serial scan would once it has let the unit's content in, and return
    the log: each hit added, and each inner content let in (``_ENTER`` digest … ``_LEAVE``).
    Inner contents are checked only against each other here; the replay checks them against the
    whole release."""
    log: list[tuple] = []
    hits = _Hits(log)
    saved = scanner._seen_contents, scanner._log
    scanner._seen_contents, scanner._log = {unit[-1]}, log
    try:
        if unit[0] == "file":
            _, path, relative, _digest = unit
            try:
                path = Path(path)
                scanner._scan_path(path, path.name, _Place(relative), hits, 0)
            except Exception as error:  # fail closed; the message may hold data
                hits.add(relative, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
        else:
            _, path, index, filename, relative, members, _digest = unit
            member = _Place(relative, members)
            try:
                with zipfile.ZipFile(path) as archive:
                    info = archive.infolist()[index]
                    if info.filename != filename:
                        raise zipfile.BadZipFile("member list changed")
                    scanner._scan_member(archive, info, member, hits, 0)
            except Exception as error:
                hits.add(
                    relative, UNSCANNABLE, "", member.where(f"无法解压（{type(error).__name__}）")
                )
    finally:
        scanner._seen_contents, scanner._log = saved
    return log


_WORKER_SCANNER: PiiScanner | None = None


def _start_worker(scanner: PiiScanner) -> None:
    global _WORKER_SCANNER
    _WORKER_SCANNER = scanner


def _work(units: list[tuple]) -> list[list[tuple]]:
    """A batch of units, in a worker process (which has the scanner from the fork)."""
    return [_run_unit(_WORKER_SCANNER, unit) for unit in units]


class _Slot:
    """Where a unit's log will be: computed here, or the n-th result of a worker's batch."""

    __slots__ = ("future", "index", "log")

    def __init__(self) -> None:
        self.future = None
        self.index = 0
        self.log: list[tuple] | None = None

    def sent(self) -> bool:
        return self.log is not None or self.future is not None

    def ready(self) -> bool:
        return self.log is not None or (self.future is not None and self.future.done())

    def take(self) -> list[tuple]:
        """The log (waiting for the worker); raises what the worker raised, or BrokenProcessPool
        when it died."""
        if self.log is None:
            self.log = self.future.result()[self.index]
            self.future = None
        return self.log


class _ParallelScan:
    """:meth:`PiiScanner.scan_release` across worker processes, with the very same hits in the
    very same order as the serial scan.

    This process walks the release in the serial order and plans: it scans file and member
    names, takes each file's content digest, opens each top-level ZIP and takes its members'
    digests, and leaves the contents to workers as units — a file, or a member of a top-level
    ZIP (so that the datasets ZIP is shared out member by member). Planned operations (a hit, a
    unit, the start and end of a ZIP) are then replayed in that order into the release's hits.

    A content the serial scan reads once is skipped the second time; which time is the first
    depends on everything before it, inner archive members included, which a worker does not
    know. So a worker reads its unit against that unit's contents only and logs, beside each
    hit, where each inner content starts and ends; the replay, which does know everything
    before, drops what the serial scan would have skipped. A content the planner has already
    seen is not sent at all. A unit whose worker failed or died is an ``unscannable`` hit: the
    gate refuses, it never passes on a scan that did not happen."""

    def __init__(self, scanner: PiiScanner, workers: int) -> None:
        self.scanner = scanner
        self.workers = workers
        self.hits = _Hits()
        self.ops: deque[tuple] = deque()
        self.sink = _Hits(self.ops)  # name hits found while planning, in order with the units
        self.seen: set[bytes] = set()  # contents the serial scan would have let in so far
        self.known: set[bytes] = set()  # contents planned; each is in ``seen`` by its turn
        self.skip = 0
        self.batch: list[tuple[tuple, _Slot]] = []
        self.batch_bytes = 0
        self.pending = 0
        self.pool: ProcessPoolExecutor | None = None
        self.in_process = False  # no (more) workers: units are scanned here

    # ------------------------------------------------------------ planning

    def run(self, root: Path, published: frozenset[tuple[int, int]]) -> list[Hit]:
        try:
            self._plan(root, published)
            self._flush(full=False)
            self._commit(0)
        finally:
            self._stop_pool()
        return self.hits.hits

    def _plan(self, root: Path, published: frozenset[tuple[int, int]]) -> None:
        """The serial scan's walk (:meth:`PiiScanner.scan_release`), with plain strings for paths
        and one ``stat`` per file: at 80,000 files, ``pathlib`` alone took seconds."""
        scanner, sink = self.scanner, self.sink
        top = os.fspath(root)
        prefix = top.rstrip(os.sep) + os.sep
        for folder, files in _walk_once(top):
            if folder == top:
                base = ""
            elif folder.startswith(prefix) and os.sep == "/":
                base = folder[len(prefix) :] + "/"
            else:
                base = Path(folder).relative_to(root).as_posix() + "/"
            for name in files:
                path = os.path.join(folder, name)
                shown = base + name
                found = scanner.find(shown)
                relative = scanner._safe(shown, found)
                place = _Place(relative)
                scanner._scan_name(shown, place, "文件名", sink, found)
                try:
                    if not _regular_file_to_read(path, published):
                        continue
                    digest, head, size = _digest_and_head(path)
                except Exception as error:  # fail closed; the message may hold data
                    sink.add(relative, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
                    continue
                if digest in self.known:
                    continue
                self.known.add(digest)
                archive = None
                if _container_kind(head) == "zip":
                    try:
                        archive = zipfile.ZipFile(path)
                    except Exception:
                        archive = None  # the unit reads it as the serial scan does
                if archive is None:
                    self._unit(("file", path, relative, digest), size)
                else:
                    with archive:
                        self._zip_members(archive, path, place, digest)

    def _zip_members(
        self, archive: zipfile.ZipFile, path: str, place: _Place, digest: bytes
    ) -> None:
        """What :meth:`PiiScanner._scan_zip` does with a top-level ZIP, each member a unit."""
        scanner, sink = self.scanner, self.sink
        self.ops.append((_ENTER, digest))
        try:
            for index, info in enumerate(archive.infolist()):
                member = scanner._member(info, place, sink)
                if member is None:
                    continue
                try:
                    inner = _stream_digest(archive.open(info))
                except Exception as error:
                    sink.add(
                        place.file,
                        UNSCANNABLE,
                        "",
                        member.where(f"无法解压（{type(error).__name__}）"),
                    )
                    continue
                if inner in self.known:
                    continue
                self.known.add(inner)
                self._unit(
                    ("member", path, index, info.filename, place.file, member.members, inner),
                    info.file_size,
                )
        except Exception as error:  # as the serial scan's handler for the whole file
            sink.add(place.file, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
        finally:
            self.ops.append((_LEAVE,))

    def _unit(self, unit: tuple, size: int) -> None:
        slot = _Slot()
        self.ops.append((_UNIT, unit, slot))
        self.pending += 1
        self.batch.append((unit, slot))
        self.batch_bytes += size
        if len(self.batch) >= BATCH_UNITS or self.batch_bytes >= BATCH_BYTES:
            self._flush(full=True)
        self._commit(PENDING_UNITS)

    # ------------------------------------------------------------ workers

    def _flush(self, *, full: bool) -> None:
        """Send the batch to a worker, or scan it here (a release smaller than one batch, no
        fork on this platform, or after the workers have died)."""
        if not self.batch:
            return
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        if self.pool is None and full and not self.in_process:
            self._start_pool()
        if self.pool is not None:
            try:
                future = self.pool.submit(_work, [unit for unit, _ in batch])
            except Exception:  # BrokenProcessPool: a worker died; what it held is reported
                self._stop_pool()
                self.in_process = True
            else:
                for index, (_, slot) in enumerate(batch):
                    slot.future, slot.index = future, index
                return
        for unit, slot in batch:
            slot.log = _run_unit(self.scanner, unit)

    def _start_pool(self) -> None:
        if "fork" not in multiprocessing.get_all_start_methods() or (
            _other_threads() and not FORK_WITH_THREADS
        ):
            self.in_process = True
            return
        # The workers are forks: they share this process's memory until they write to it, and a
        # garbage collection in a worker would write to every object it walks.
        gc.freeze()
        try:
            self.pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(self.scanner,),
            )
        except Exception:
            gc.unfreeze()
            self.in_process = True

    def _stop_pool(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            pool.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()

    # ------------------------------------------------------------ replay

    def _commit(self, keep: int) -> None:
        """Replay planned operations in order while the next one is ready, and wait for it
        while more than ``keep`` units are pending."""
        while self.ops:
            op = self.ops[0]
            if op[0] == _UNIT and not self.skip and op[1][-1] not in self.seen:
                slot = op[2]
                if not slot.ready():
                    if self.pending <= keep:
                        return
                    if not slot.sent():
                        self._flush(full=False)
            self.ops.popleft()
            self._apply(op)

    def _apply(self, op: tuple) -> None:
        tag = op[0]
        if tag == _UNIT:
            self.pending -= 1
        if self.skip:
            # Inside a content the serial scan skipped as already read: nothing in it happened.
            if tag == _ENTER:
                self.skip += 1
            elif tag == _LEAVE:
                self.skip -= 1
            return
        if tag == _HIT:
            self.hits.add(op[1], op[2], op[3], op[4], supplementary=op[5])
        elif tag == _ENTER:
            if op[1] in self.seen:
                self.skip = 1
            else:
                self.seen.add(op[1])
        elif tag == _UNIT:
            unit, slot = op[1], op[2]
            if unit[-1] in self.seen:
                return
            self.seen.add(unit[-1])
            try:
                log = slot.take()
            except Exception as error:  # the worker failed or died: fail closed
                where = f"检查进程失败，未能检查（{type(error).__name__}）"
                if unit[0] == "member":
                    where = _Place(unit[4], unit[5]).where(where)
                self.hits.add(unit[2] if unit[0] == "file" else unit[4], UNSCANNABLE, "", where)
                return
            for entry in log:
                self._apply(entry)


def _stream_digest(stream: IO[bytes]) -> bytes:
    digest = _content_digest()
    with stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


# ---------------------------------------------------------------- entry points


def _identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def published_files(release: Path | None) -> frozenset[tuple[int, int]]:
    """(device, inode) of every regular file of a published release."""
    if release is None:
        return frozenset()
    return frozenset(_identity(p) for p in release.rglob("*") if p.is_file() and not p.is_symlink())


def scan_release(
    root: Path, personal_values: Iterable[str], allow: Iterable[str] = ()
) -> list[Hit]:
    """Every identifier and every personal value found in any file under ``root``.

    ``personal_values``: the current export's cases' names, ID numbers, phones, addresses (any
    number; values shorter than :data:`MIN_PERSONAL_LENGTH` are skipped). ``allow``: the site's
    own public numbers and codes, never reported.
    """
    return PiiScanner(personal_values, allow).scan_release(Path(root))


def check_release(root: Path, personal_values: Iterable[str], allow: Iterable[str] = ()) -> None:
    """Raise :class:`PiiFound` when :func:`scan_release` finds anything. (To check several
    folders against the same values, build one :class:`PiiScanner` and call its ``check``.)"""
    PiiScanner(personal_values, allow).check(Path(root))

"""Identifiers by shape and check digit: 居民身份证号 (18 digits with the ISO 7064 MOD 11-2 check
character, and the legacy 15-digit form), mainland mobile numbers, the 统一社会信用代码 of 个体工商户
(``92…``, GB 32100 check character), Luhn-valid bank card numbers, e-mail addresses.

Each detector takes a string and gives :class:`Match` es (kind, value masked, position); text is
searched with tight boundaries (a number must not touch a letter or digit), binary content with
looser ones (only a digit ends a number, since binary formats put a length byte, which may be a
letter, right before a string). Overlapping matches resolve to the most specific kind. Values
are masked as soon as they are found: an unmasked value is never stored or printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from pipeline.contract.credit_code import is_valid_credit_code

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


@dataclass(frozen=True, slots=True)
class Match:
    """One identifier found in a string: its kind, the value masked, and where it is; for a
    personal value, where it came from when the scanner was told ("办件 X 的 applicant_name")."""

    kind: str
    masked: str
    start: int
    end: int
    source: str = ""


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


def _resident_ids(text: str, windows: list[tuple[int, int]], binary: bool) -> Iterator[Match]:
    for start, end in windows:
        for m in _ID18[binary].finditer(text, start, end):
            if is_valid_resident_id(m.group()):
                yield Match(RESIDENT_ID, mask(m.group(), RESIDENT_ID), m.start(), m.end())
        for m in _ID15[binary].finditer(text, start, end):
            if is_valid_resident_id(m.group()):
                yield Match(RESIDENT_ID, mask(m.group(), RESIDENT_ID), m.start(), m.end())


def _mobiles(text: str, windows: list[tuple[int, int]], binary: bool) -> Iterator[Match]:
    for start, end in windows:
        for m in _MOBILE[binary].finditer(text, start, end):
            yield Match(MOBILE, mask(m.group(), MOBILE), m.start(), m.end())


def _bank_cards(text: str, windows: list[tuple[int, int]], binary: bool) -> Iterator[Match]:
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
_Findings = tuple[tuple[str, str, int, int], ...]
_WINDOW_CACHE: tuple[dict[str, _Findings], dict[str, _Findings]] = ({}, {})
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

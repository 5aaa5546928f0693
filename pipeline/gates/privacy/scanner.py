"""The scanner: no release is published with a personal identifier in any file.

Every file under a release folder is read as text, whatever its kind (``readers``), and searched
for

* identifiers by shape and check digit (``detectors``): 居民身份证号, mainland mobile numbers, the
  统一社会信用代码 of 个体工商户, Luhn-valid bank card numbers, e-mail addresses;
* every personal value of the current export's cases (names, ID numbers, phones, addresses),
  verbatim, with one Aho–Corasick automaton (``pyahocorasick``) however many values there are.

Text is read in chunks of about a million characters, cut at a line end where there is one and
otherwise with an overlap, so a 1 GB file never sits in memory. Each chunk is also searched in
its decoded views (``views``).

A release is scanned by worker processes (``workers``: forks of this one, as many as
:func:`pipeline.workers.process_count` gives; 1 scans in this process), a top-level file or a
member of a top-level ZIP at a time, and their findings are merged into exactly the report one
process would give, in the same order. A worker that fails or dies leaves ``unscannable`` hits:
the gate refuses.

An unmasked value is never stored or printed (``report``). Content that cannot be read (an
encrypted ZIP member, a corrupt database) is reported as ``unscannable``: privacy fails closed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

import ahocorasick

from pipeline.errors import ConfigurationError
from pipeline.gates.privacy.detectors import (
    EMAIL,
    KIND_LABELS,
    MOBILE,
    PERSONAL_VALUE,
    UNSCANNABLE,
    Match,
    _alnum,
    _raw_detections,
    _resolve,
    find_bank_cards,
    find_emails,
    find_individual_business_codes,
    find_mobiles,
    find_resident_ids,
    is_valid_resident_id,
    luhn_check_digit,
    luhn_ok,
    mask,
    resident_id_check_char,
)
from pipeline.gates.privacy.readers import content_digest, scan_path, walk_once
from pipeline.gates.privacy.report import ENTER, LEAVE, Hit, Hits, LogEntry, PiiFound, Place
from pipeline.gates.privacy.views import _fold, _line_views, _lower, _views
from pipeline.gates.privacy.workers import ParallelScan
from pipeline.workers import configured_workers, process_count

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

MIN_PERSONAL_LENGTH = 2
"""Personal values shorter than this are not searched: a one-character value (a one-character
name, a house number "5") occurs in nearly every page and would block every release."""

MAX_PERSONAL_LENGTH = 256
"""A personal value is searched by at most its first this many characters (after folding): no
name, number or address is longer, an automaton with a pattern of some 700,000 characters crashes
(pyahocorasick frees its trie recursively), and a longer value is found by its beginning."""

PLACEHOLDERS = frozenset(
    {
        "暂无",
        "没有",
        "其他",
        "其它",
        "不详",
        "未知",
        "未填",
        "未填写",
        "未提供",
        "待定",
        "待补充",
        "匿名",
        "null",
        "none",
        "nil",
        "nan",
        "n/a",
        "na",
        "undefined",
        "unknown",
    }
)
"""What an approval system writes in a personal field it has no value for ("暂无", "null", "None",
"其他", "n/a" …, compared folded and in lower case; "无" is one character and never searched).
A placeholder identifies nobody, and as a pattern it is found in every release (in pages, CSS,
the contract's JSON Schema): it is not searched. Nor is a value with no letter, digit or Chinese
character in it ("--", "-", "/", "***")."""

SHORT_HAN_LENGTH = 2
"""A personal value of this many Chinese characters or fewer (a two-character name: 程建, 于华) is
reported only where it starts or ends a run of Chinese text — "姓名：程建，", "申请人程建（", a table
cell — not inside one: 程建 is also in 工程建设 and 于华 in 关于华东, which every release holds.
Longer values are reported wherever they occur."""

CHUNK_CHARS = 1 << 20
NEWLINE_WINDOW = 1 << 16


class PiiScanner:
    """Detectors plus one Aho–Corasick automaton of the export's personal values.

    ``allow`` lists the site's own public values (department phones and e-mails, 12345, the
    departments' credit codes and impl codes): a detected identifier equal to one of them, or a
    personal value equal to one, is not reported. Comparison ignores spaces, hyphens, case and
    full-width forms (and a +86/0086 prefix for mobiles).

    ``personal_values`` may map each value to where it came from ("办件 X 的 applicant_name"): a
    hit of that value then names it (:attr:`Match.source`), so the admin can act on the refusal.
    """

    def __init__(
        self,
        personal_values: Iterable[str] | Mapping[str, str] = (),
        allow: Iterable[str] = (),
        *,
        workers: int | None = None,
    ):
        self.workers = (
            process_count(configured_workers()) if workers is None else max(1, int(workers))
        )
        self._seen_contents: set[bytes] = set()
        self._log: list[LogEntry] | None = None
        allow = [_fold(str(a)).strip() for a in allow if a is not None and str(a).strip()]
        self._allow_text = {_lower(a) for a in allow}
        self._allow_keys = {_alnum(a) for a in allow}
        self._allow_mobiles = {k[-11:] for k in self._allow_keys if len(k) >= 11 and k.isdigit()}
        self._automaton: ahocorasick.Automaton | None = None
        longest = 0
        automaton = ahocorasick.Automaton()
        for key, source in _personal_keys(personal_values):
            if len(key) < MIN_PERSONAL_LENGTH or key in self._allow_text:
                continue
            known = automaton.get(key, None)
            if known is not None and known[-1] <= source:
                continue  # the same key from several values: the first source, on every run
            # A value beginning or ending with an ASCII letter or digit must not be part of a longer
            # word or number there ("Li" is not in "click"); Chinese values have no such boundary.
            left = key[0].isascii() and key[0].isalnum()
            right = key[-1].isascii() and key[-1].isalnum()
            short_han = len(key) <= SHORT_HAN_LENGTH and all(map(_is_han, key))
            automaton.add_word(key, (len(key), left, right, key.isdigit(), short_han, source))
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
            matches += self._personal(self._automaton, text, binary)
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

    def _personal(self, automaton: ahocorasick.Automaton, text: str, binary: bool) -> list[Match]:
        low = _lower(text)
        n = len(low)
        out = []
        for end, (length, left, right, digits, short_han, source) in automaton.iter(low):
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
            masked = mask(text[start : end + 1], PERSONAL_VALUE)
            out.append(Match(PERSONAL_VALUE, masked, start, end + 1, source))
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
            return ParallelScan(self, self.workers).run(root, published)
        hits = Hits()
        self._seen_contents = set()
        for folder, files in walk_once(os.fspath(root)):
            for name in files:
                path = Path(folder, name)
                shown = path.relative_to(root).as_posix()
                found = self.find(shown)
                relative = self._safe(shown, found)
                place = Place(relative)
                self._scan_name(shown, place, "文件名", hits, found)
                try:
                    if (
                        path.is_file()
                        and _identity(path) not in published
                        and self._first_time(open(path, "rb"))
                    ):
                        scan_path(self, path, path.name, place, hits, 0)
                except Exception as error:  # fail closed; the message may hold data
                    hits.add(relative, UNSCANNABLE, "", f"无法读取（{type(error).__name__}）")
        return hits.hits

    def _first_time(self, stream: IO[bytes]) -> bool:
        """False when the same bytes were already scanned in this release (the ZIP of all
        datasets repeats every file beside it): identical bytes give identical findings."""
        digest = content_digest()
        with stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        value = digest.digest()
        if value in self._seen_contents:
            return False
        self._seen_contents.add(value)
        if self._log is not None:
            self._log.append((ENTER, value))
        return True

    def _leave(self) -> None:
        """The end of what a ``_first_time`` that returned True let in (for the log)."""
        if self._log is not None:
            self._log.append((LEAVE,))

    def check(self, root: Path, published: frozenset[tuple[int, int]] = frozenset()) -> None:
        """Raise :class:`PiiFound` when :meth:`scan_release` finds anything under ``root``."""
        hits = self.scan_release(root, published)
        if hits:
            raise PiiFound(hits)

    def _scan_name(
        self, name: str, place: Place, what: str, hits: Hits, found: list[Match] | None = None
    ) -> None:
        for m in self.find(name) if found is None else found:
            hits.add(place.file, m.kind, m.masked, place.where(what), source=m.source)

    def _scan_pieces(
        self,
        pieces: Iterable[str],
        place: Place,
        hits: Hits,
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
                    source=match.source,
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


def _personal_keys(values: Iterable[str] | Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """Each value folded (full-width → ASCII, lower case), stripped and cut to
    :data:`MAX_PERSONAL_LENGTH`, with its source ("" when ``values`` is no mapping); a value
    written over several lines gives one key per line, since no match crosses a line end.
    Placeholders (:data:`PLACEHOLDERS`, values without a letter, digit or Chinese character) give
    none."""
    sources = values if isinstance(values, Mapping) else None
    for value in values:
        if value is None:
            continue
        source = str(sources[value]) if sources is not None else ""
        for line in _fold(str(value)).splitlines():
            key = _lower(line.strip())[:MAX_PERSONAL_LENGTH].rstrip()
            if key and not is_placeholder(key):
                yield key, source


def is_placeholder(key: str) -> bool:
    """``key`` (folded, lower case) says there is no value rather than being one."""
    return key in PLACEHOLDERS or not any(c.isalnum() for c in key)


def _is_han(c: str) -> bool:
    """A CJK ideograph (basic block, extension A, compatibility ideographs)."""
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uf900" <= c <= "\ufaff"


def _touches(c: str, digits_only: bool) -> bool:
    return c.isdigit() if digits_only else (c.isascii() and c.isalnum())


# ---------------------------------------------------------------- entry points


def detect(text: str, allow: Iterable[str] = (), *, binary: bool = False) -> list[Match]:
    """All identifier detectors over one string, allow-listed values skipped, overlaps resolved
    to the most specific kind. (Personal values need :class:`PiiScanner`.)"""
    return PiiScanner((), allow).find(text, binary=binary)


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

"""PDFs with active content are refused, not published: scripts (``/JavaScript``, ``/JS``),
actions run on opening or on events (``/OpenAction`` other than "open at this page", ``/AA``),
programs started (``/Launch``), attached files (``/EmbeddedFile``), forms that send or fetch
data (``/SubmitForm``, ``/ImportData``), XFA forms and rich media. A form to print and fill in
needs none of these; stripping them would mean rewriting the upstream's file, refusing it is the
simple honest choice (the item keeps its page, without the download, and the problem names it).

The check reads the names of the PDF's dictionaries: those outside streams, and those inside
object streams (``/Type /ObjStm``, where PDF 1.5+ keeps most dictionaries, Flate-compressed).
Names are compared decoded (``/J#61vaScript`` is ``/JavaScript``). Stream data (images, page
content) is not read as dictionaries: a JPEG's bytes may spell ``/JS`` by chance. An object
stream this check cannot decode (another filter, encrypted) refuses the file: unchecked is not
safe.
"""

from __future__ import annotations

import re
import zlib

ACTIVE_NAMES = {
    "JavaScript",
    "JS",
    "AA",
    "Launch",
    "EmbeddedFile",
    "EmbeddedFiles",
    "RichMedia",
    "XFA",
    "SubmitForm",
    "ImportData",
}
MAX_INFLATED = 64 << 20
"""All object streams together, inflated."""
_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_NAME = re.compile(rb"/((?:[^\x00\t\n\x0c\r ()<>\[\]{}/%#]|#[0-9A-Fa-f]{2})*)")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_HEADER_LOOKBACK = 1 << 16


class _Unreadable(Exception):
    pass


_REFERENCE = re.compile(rb"\s*(\d+)\s+\d+\s+R")
_OBJECT = re.compile(rb"(?<![0-9])(\d+)\s+\d+\s+obj")
_GOTO = re.compile(rb"/S\s*/GoTo(?![#A-Za-z])")


def _is_destination(text: bytes) -> bool:
    """``text`` starts a destination (``[3 0 R /Fit]``) or a go-to action within this document
    (``<< /S /GoTo /D [...] >>``, what LaTeX's hyperref writes): opening there runs nothing."""
    text = text.lstrip()[:256]
    if text.startswith(b"["):
        return True
    return text.startswith(b"<<") and bool(_GOTO.search(text)) and b"/Next" not in text


_FIRST = re.compile(rb"/First\s+(\d+)")


class _Scan:
    """What the dictionaries of one PDF name, and where its ``/OpenAction`` points: a
    destination ("open at page 1, fit width") is no action; anything else is."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.open_action_refs: set[int] = set()
        self.destinations: set[int] = set()

    def read(self, data: bytes) -> None:
        for match in _NAME.finditer(data):
            name = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
            text = name.decode("latin-1")
            if text == "OpenAction":
                after = data[match.end() : match.end() + 256]
                if _is_destination(after):
                    continue
                reference = _REFERENCE.match(after)
                if reference:
                    self.open_action_refs.add(int(reference.group(1)))
                    continue
            self.names.add(text)
        self.destinations.update(
            int(m.group(1))
            for m in _OBJECT.finditer(data)
            if _is_destination(data[m.end() : m.end() + 256])
        )

    def read_object_stream(self, header: bytes, content: bytes) -> None:
        """An object stream: ``N offset`` pairs, then the objects from ``/First`` on."""
        self.read(content)
        first = _FIRST.search(header)
        if not first:
            return
        start = int(first.group(1))
        numbers = content[:start].split()
        for number, offset in zip(numbers[::2], numbers[1::2], strict=False):
            if number.isdigit() and offset.isdigit():
                at = start + int(offset)
                if _is_destination(content[at : at + 256]):
                    self.destinations.add(int(number))

    def active(self) -> list[str]:
        found = self.names & ACTIVE_NAMES
        if self.open_action_refs - self.destinations:
            found.add("OpenAction")
        return sorted(found)


def pdf_problem(data: bytes) -> str | None:
    """Why the PDF ``data`` may not be published (active content, or an object stream that
    cannot be checked), or None."""
    scan = _Scan()
    try:
        _read_dictionaries(data, scan)
    except _Unreadable as exc:
        return f"PDF 无法检查（{exc}），不提供下载"
    active = scan.active()
    if active:
        shown = "、".join(f"/{n}" for n in active)
        return f"PDF 含有活动内容（{shown}），不提供下载——请上游导出不含脚本、自动动作和附件的 PDF"
    return None


def _header_names(header: bytes) -> set[str]:
    scan = _Scan()
    scan.read(header)
    return scan.names


def _read_dictionaries(data: bytes, scan: _Scan) -> None:
    position, inflated = 0, 0
    while True:
        match = _STREAM.search(data, position)
        scan.read(data[position : match.start() if match else len(data)])
        if match is None:
            return
        end = data.find(b"endstream", match.end())
        body = data[match.end() : end if end >= 0 else len(data)]
        header = data[max(position, match.start() - _HEADER_LOOKBACK) : match.start()]
        header = header[header.rfind(b"obj") + 3 :]
        names = _header_names(header)
        if "ObjStm" in names:
            content = _object_stream(names, body, MAX_INFLATED - inflated)
            inflated += len(content)
            scan.read_object_stream(header, content)
        if end < 0:
            return
        position = end + len(b"endstream")


def _object_stream(names: set[str], body: bytes, budget: int) -> bytes:
    filters = names & {
        "FlateDecode",
        "Fl",
        "ASCIIHexDecode",
        "AHx",
        "ASCII85Decode",
        "A85",
        "LZWDecode",
        "LZW",
        "RunLengthDecode",
        "RL",
        "Crypt",
        "DecodeParms",
        "DP",
    }
    if not filters:
        return body
    if filters - {"FlateDecode", "Fl"}:
        raise _Unreadable("对象流的编码无法解读：" + "、".join(sorted(filters)))
    inflater = zlib.decompressobj()
    try:
        content = inflater.decompress(body, budget + 1)
    except zlib.error as exc:
        raise _Unreadable("对象流无法解压（已加密或已损坏）") from exc
    if len(content) > budget:
        raise _Unreadable(f"对象流解压后超过 {MAX_INFLATED} 字节")
    return content

"""PDFs with active content are refused, not published: scripts (``/JavaScript``, ``/JS``),
actions run on opening or on events (an ``/OpenAction`` other than "open at this page", ``/AA``),
programs started (``/Launch``), attached files (``/EmbeddedFile``), forms that send or fetch
data (``/SubmitForm``, ``/ImportData``), XFA forms and rich media. A form to print and fill in
needs none of these; stripping them would mean rewriting the upstream's file, refusing it is the
simple honest choice (the item keeps its page, without the download, and the problem names it).

The file is parsed with pypdf, a real PDF parser (strings, comments and name escapes such as
``/N#65xt`` read as a reader reads them), and every object is checked, not only those the last
cross-reference section points to:

* every object of the file body, read one after the other from each ``N G obj`` (so an object
  redefined by an incremental update is checked in every revision, and an object no table lists);
* every object the cross-reference sections give, object streams included (as a reader finds
  them);
* every object inside every object stream (``/Type /ObjStm``), decoded by pypdf's filters.

In each object the dictionaries' keys and name values are compared with :data:`ACTIVE_NAMES`
(stream data — page content, images — is not read as names: a JPEG's bytes may spell ``/JS``).
An ``/OpenAction`` must be a destination (``[3 0 R /Fit]``) or a go-to within the document
(``<< /S /GoTo /D … >>`` without ``/Next``, what LaTeX's hyperref writes), in every definition of
the object it points to. A file pypdf cannot parse, an encrypted one, an object that cannot be
read or a stream that cannot be decoded (images' aside) refuses the file: unchecked is not safe,
and the privacy gate, which reads every stream decoded (:func:`pdf_streams`, :func:`stream_data`),
would refuse the whole release for it.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    StreamObject,
    read_object,
)

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
MAX_DECODED = 256 << 20
"""All streams of one file together, decoded (images' aside)."""
MAX_OBJECTS = 500_000
"""Objects read from one file (a 20 MiB PDF holds far fewer)."""
_SPACE = b"\x00\t\n\x0c\r "
_HEADER = re.compile(rb"(?<![0-9])([0-9]{1,10})[%s]+([0-9]{1,5})[%s]+obj" % (_SPACE, _SPACE))


class _Unreadable(Exception):
    pass


def pdf_problem(data: bytes) -> str | None:
    """Why the PDF ``data`` may not be published (active content, or content that cannot be
    checked), or None."""
    try:
        with _quiet_pypdf():
            active = _Check(data).active()
    except _Unreadable as exc:
        return f"PDF 无法检查（{exc}），不提供下载"
    except Exception as exc:  # any failure of the parser on hostile bytes: fail closed
        return f"PDF 无法解析（{type(exc).__name__}），不提供下载"
    if active:
        shown = "、".join(f"/{n}" for n in active)
        return f"PDF 含有活动内容（{shown}），不提供下载——请上游导出不含脚本、自动动作和附件的 PDF"
    return None


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs every repair it makes (a missing cross-reference table, an offset off by a
    byte) as a warning; the verdict is what counts here."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Check:
    """The names one PDF's objects hold, and the objects its ``/OpenAction`` s point to."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reader = _reader(data)
        if self.reader.is_encrypted:  # its strings and streams (object streams) are ciphertext
            raise _Unreadable("文件已加密，内容无法检查——请上游导出未加密的 PDF")
        self.names: set[str] = set()
        self.open_action = False
        self.open_action_refs: set[int] = set()
        self.not_destinations: set[int] = set()
        self.objects = 0
        self.decoded = 0

    def active(self) -> list[str]:
        self._read_body()
        self._read_cross_references()
        if self.open_action_refs & self.not_destinations:
            self.open_action = True
        found = self.names & ACTIVE_NAMES
        if self.open_action:
            found.add("OpenAction")
        return sorted(found)

    # ------------------------------------------------------------ where objects are

    def _read_body(self) -> None:
        for number, value in _body_objects(self.data, self.reader):
            self._add(number, value)

    def _read_cross_references(self) -> None:
        """The objects the cross-reference sections give (a reader's view), those in object
        streams included (every object stream of the body was read whole already)."""
        reader = self.reader
        listed = [(n, g) for g, table in reader.xref.items() for n in table]
        listed += [(n, 0) for n in reader.xref_objStm]
        for number, generation in sorted(set(listed)):
            value = reader.get_object(IndirectObject(number, generation, reader))
            if value is None:
                raise _Unreadable(f"对象 {number} 无法读取")
            self._add(number, value, expand=False)

    def _object_stream(self, stream: StreamObject) -> None:
        """The objects inside an object stream: ``N offset`` pairs, then the objects from
        ``/First`` on."""
        content = self._decode(stream)
        if content is None:
            raise _Unreadable("对象流的编码是图像编码")
        count, first = _get(stream, "/N"), _get(stream, "/First")
        if not isinstance(count, int) or not isinstance(first, int) or min(count, first) < 0:
            raise _Unreadable("对象流缺少 /N 或 /First")
        numbers = content[:first].split()
        if len(numbers) < 2 * count or not all(n.isdigit() for n in numbers[: 2 * count]):
            raise _Unreadable("对象流的目录无法解读")
        inner = io.BytesIO(content)
        pairs = numbers[: 2 * count]
        for number, offset in zip(pairs[0::2], pairs[1::2], strict=True):
            inner.seek(_after_space(content, first + int(offset)))
            try:
                value = read_object(inner, self.reader)
            except Exception as exc:
                raise _Unreadable(f"对象流中的对象 {int(number)} 无法解析") from exc
            self._add(int(number), value)

    # ------------------------------------------------------------ what objects hold

    def _add(self, number: int, value: Any, *, expand: bool = True) -> None:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise _Unreadable(f"对象超过 {MAX_OBJECTS} 个")
        if not _is_destination(value):
            self.not_destinations.add(number)
        self._walk(value)
        if expand and isinstance(value, StreamObject):
            if _get(value, "/Type") == "/ObjStm":
                self._object_stream(value)
            else:
                self._decode(value)

    def _decode(self, stream: StreamObject) -> bytes | None:
        """A stream's data decoded (None: an image's). One that cannot be decoded could not be
        checked by the privacy gate either: the file is refused here, not the whole release
        there."""
        try:
            content = stream_data(stream)
        except Exception as exc:
            raise _Unreadable(f"数据流无法解码（{type(exc).__name__}）") from exc
        if isinstance(stream, EncodedStreamObject):
            stream.decoded_self = None  # pypdf keeps what it decoded; this check does not
        self.decoded += len(content or b"")
        if self.decoded > MAX_DECODED:
            raise _Unreadable(f"数据流解码后超过 {MAX_DECODED} 字节")
        return content

    def _walk(self, value: Any) -> None:
        """The names in ``value``: its dictionaries' keys and name values, however deep (other
        objects it refers to are read as objects of their own)."""
        pending = [value]
        while pending:
            current = pending.pop()
            if isinstance(current, DictionaryObject):  # a stream too: its dictionary
                for key, item in current.items():
                    self.names.add(str(key)[1:])
                    if key == "/OpenAction":
                        self._open_action(item)
                    pending.append(item)
            elif isinstance(current, ArrayObject):
                pending.extend(current)
            elif isinstance(current, NameObject):
                self.names.add(str(current)[1:])

    def _open_action(self, value: Any) -> None:
        if isinstance(value, IndirectObject):
            self.open_action_refs.add(value.idnum)
        elif not _is_destination(value):
            self.open_action = True


def _body_objects(data: bytes, reader: PdfReader) -> Iterator[tuple[int, Any]]:
    """Every ``N G obj`` of the file, in order, with its number; one inside an object already
    read (in its strings or stream data) is part of that object, not an object."""
    stream = io.BytesIO(data)
    end = 0
    for match in _HEADER.finditer(data):
        if match.start() < end:
            continue
        stream.seek(_after_space(data, match.end()))
        try:
            value = read_object(stream, reader)
        except Exception as exc:
            raise _Unreadable(f"第 {match.start()} 字节处的对象无法解析") from exc
        end = stream.tell()
        yield int(match.group(1)), value


def pdf_streams(data: bytes) -> Iterator[StreamObject]:
    """Every stream of the PDF ``data`` (the privacy gate reads them decoded, through
    :func:`stream_data`). Raises when the file cannot be parsed or is encrypted."""
    with _quiet_pypdf():
        reader = _reader(data)
        if reader.is_encrypted:
            raise _Unreadable("文件已加密")
        for _number, value in _body_objects(data, reader):
            if isinstance(value, StreamObject):
                yield value


IMAGE_FILTERS = {"/DCTDecode", "/DCT", "/JPXDecode", "/CCITTFaxDecode", "/CCF", "/JBIG2Decode"}
"""Filters of images (photographs, scans): their data holds no text."""
_ABBREVIATIONS = {
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/Fl": "/FlateDecode",
    "/RL": "/RunLengthDecode",
}
"""Inline images' names of the filters, which some writers use in stream dictionaries too (pypdf
7 refuses them there)."""


def stream_data(stream: StreamObject) -> bytes | None:
    """The data of ``stream`` through every filter of its chain (ASCIIHex, ASCII85, LZW, Flate
    with predictors, RunLength, in any order, pypdf's size limits applying), or None for an
    image's. Raises for a filter pypdf cannot decode."""
    filters = _get(stream, "/Filter")
    chain = list(filters) if isinstance(filters, ArrayObject) else [filters] if filters else []
    names = [n.get_object() if isinstance(n, IndirectObject) else n for n in chain]
    if any(str(name) in IMAGE_FILTERS for name in names):
        return None
    if any(str(name) in _ABBREVIATIONS for name in names):
        full = [NameObject(_ABBREVIATIONS.get(str(name), str(name))) for name in names]
        stream[NameObject("/Filter")] = ArrayObject(full)
    with _quiet_pypdf():
        return stream.get_data()


def _reader(data: bytes) -> PdfReader:
    """pypdf's reader of ``data``; one without a ``startxref`` (which readers open, repairing)
    is read as one whose cross-reference table is lost: pypdf rebuilds it from the objects."""
    try:
        return PdfReader(io.BytesIO(data), strict=False)
    except PdfReadError:
        return PdfReader(io.BytesIO(data + b"\nstartxref\n0\n%%EOF\n"), strict=False)


def _get(dictionary: DictionaryObject, key: str) -> Any:
    """``dictionary[key]``, an indirect value resolved; None when absent."""
    return dictionary[key] if key in dictionary else None


def _after_space(data: bytes, at: int) -> int:
    while at < len(data) and data[at] in _SPACE:
        at += 1
    return at


def _is_destination(value: Any) -> bool:
    """``value`` opens the document at a place and runs nothing: a destination array, or a go-to
    action within this document with no next action."""
    if isinstance(value, ArrayObject):
        return True
    return (
        isinstance(value, DictionaryObject)
        and _get(value, "/S") == "/GoTo"
        and "/Next" not in value
        and "/D" in value
    )

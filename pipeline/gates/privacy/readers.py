"""Format readers: how each kind of file is read as text for the scanner.

Plain text (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GB 18030) — HTML, CSV, JSON, NDJSON, JSON-LD,
XML, Atom, Markdown, JS…; ZIP archives and the Office/ODF files built on them (members read
recursively, so XLSX sheets and ``sharedStrings.xml`` are read); gzip/bzip2/xz streams
(Pagefind's ``.pf_*`` fragments are gzip); tar; SQLite (every column of every table, FTS shadow
tables and the full-text vocabularies included, then the raw pages for deleted rows); Parquet
(every column cast to text by DuckDB); PDF (raw bytes, every stream decoded through its
filters, UTF-16 strings); OLE DOC/XLS (UTF-8 and UTF-16LE text); anything else as the UTF-8 text
that its bytes decode to (Whoosh segments, Pagefind's CBOR index, images' metadata).

Each reader takes the scanner explicitly and hands it decoded text (``_scan_pieces``), names
(``_scan_name``) and contents to skip when already read (``_first_time``); a part that cannot be
read is an ``unscannable`` hit, whose location keeps only the error's type, never its message.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import io
import lzma
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from pipeline.gates.privacy.detectors import UNSCANNABLE
from pipeline.validate.pdf import pdf_streams, stream_data

if TYPE_CHECKING:
    from _hashlib import HASH

    from pipeline.gates.privacy.report import Hits, Place
    from pipeline.gates.privacy.scanner import PiiScanner

READ_BYTES = 1 << 20
MAX_DEPTH = 8
CELL_TEXT_CHARS = 1 << 20
"""Database cells are gathered into texts of about this many characters (then scanned as one
text, chunk by chunk)."""

Opener = Callable[[], AbstractContextManager[IO[bytes]]]
"""How a reader gets a content's bytes, as often as it needs: ``with opener() as f``."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_PDF_UTF16_LITERAL = re.compile(rb"\(\xfe\xff((?:[^()\\]|\\.){2,4000})\)", re.S)
_PDF_UTF16_HEX = re.compile(rb"<\s*FE\s*FF([0-9A-Fa-f\s]{4,16000})>", re.I)


# ---------------------------------------------------------------- folders and contents


def walk_once(top: str) -> Iterator[tuple[str, list[str]]]:
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


def content_digest() -> HASH:
    """The digest that tells identical contents apart (SHA-256: with the CPU's SHA instructions,
    half again as fast as BLAKE2b here)."""
    return hashlib.sha256()


def stream_digest(stream: IO[bytes]) -> bytes:
    digest = content_digest()
    with stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


# ---------------------------------------------------------------- files and their kinds


def scan_path(
    scanner: PiiScanner, path: Path, name: str, place: Place, hits: Hits, depth: int
) -> None:
    small = max(READ_BYTES, 65536)
    with open(path, "rb") as f:
        data = f.read(small + 1)
    if len(data) <= small:  # read once: most files are small
        opener: Opener = lambda: io.BytesIO(data)  # noqa: E731
    else:
        opener = lambda: open(path, "rb")  # noqa: E731
    if data:
        _dispatch(scanner, opener, path, name, data[:65536], place, hits, depth)


def _dispatch(
    scanner: PiiScanner,
    opener: Opener,
    path: Path | None,
    name: str,
    head: bytes,
    place: Place,
    hits: Hits,
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        hits.add(place.file, UNSCANNABLE, "", place.where("压缩包嵌套过深"))
        return
    container = container_kind(head)
    if container and path is None:
        with _spooled(opener) as spooled:
            _dispatch(scanner, lambda: open(spooled, "rb"), spooled, name, head, place, hits, depth)
    elif container and path is not None:
        _scan_container(scanner, container, path, place, hits, depth)
    elif head.startswith(b"\x1f\x8b"):
        _scan_compressed(
            scanner,
            # typeshed does not declare GzipFile an IO[bytes] (BZ2File and LZMAFile it does).
            _through(lambda raw: gzip.GzipFile(fileobj=raw), opener),  # type: ignore[arg-type, return-value]
            name,
            place,
            hits,
            depth,
        )
    elif head.startswith(b"BZh"):
        _scan_compressed(scanner, _through(bz2.BZ2File, opener), name, place, hits, depth)
    elif head.startswith(b"\xfd7zXZ\x00"):
        _scan_compressed(scanner, _through(lzma.LZMAFile, opener), name, place, hits, depth)
    elif head.startswith(_OLE_MAGIC):
        _scan_binary(scanner, opener, place, hits)
        scanner._scan_pieces(
            _decoded(opener, "utf-16-le", "ignore"),
            place,
            hits,
            binary=True,
            supplementary=True,
        )
    else:
        encoding = _text_encoding(head)
        if encoding is None:
            _scan_binary(scanner, opener, place, hits)
        else:
            _scan_text(scanner, opener, encoding, place, hits)


def _scan_container(
    scanner: PiiScanner, container: str, path: Path, place: Place, hits: Hits, depth: int
) -> None:
    if container == "zip":
        _scan_zip(scanner, path, place, hits, depth)
    elif container == "tar":
        _scan_tar(scanner, path, place, hits, depth)
    elif container == "sqlite":
        _scan_sqlite(scanner, path, place, hits)
    elif container == "parquet":
        _scan_parquet(scanner, path, place, hits)
    elif container == "pdf":
        _scan_pdf(scanner, path, place, hits)


def _scan_text(
    scanner: PiiScanner, opener: Opener, encoding: str, place: Place, hits: Hits
) -> None:
    try:
        scanner._scan_pieces(_decoded(opener, encoding, "strict"), place, hits, binary=False)
    except UnicodeDecodeError:
        # Mostly text but not all of one encoding: read it every way it may have been meant.
        for fallback in dict.fromkeys((encoding, "utf-8-sig", "gb18030")):
            scanner._scan_pieces(_decoded(opener, fallback, "replace"), place, hits, binary=False)
        _scan_binary(scanner, opener, place, hits)


def _scan_binary(
    scanner: PiiScanner, opener: Opener, place: Place, hits: Hits, *, supplementary: bool = False
) -> None:
    scanner._scan_pieces(
        _decoded(opener, "utf-8", "ignore"),
        place,
        hits,
        binary=True,
        supplementary=supplementary,
    )


def _scan_compressed(
    scanner: PiiScanner, opener: Opener, name: str, place: Place, hits: Hits, depth: int
) -> None:
    inner = re.sub(r"\.(gz|bz2|xz|tgz)$", "", name, flags=re.I) or name
    try:
        with opener() as f:
            head = f.read(65536)
        if head:
            _dispatch(scanner, opener, None, inner, head, place, hits, depth + 1)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        hits.add(
            place.file, UNSCANNABLE, "", place.where(f"压缩数据损坏（{type(error).__name__}）")
        )


def zip_member(scanner: PiiScanner, info: zipfile.ZipInfo, place: Place, hits: Any) -> Place | None:
    """A ZIP member's name checked; its place, or None for a folder or an encrypted member
    (reported unscannable)."""
    found = scanner.find(info.filename)
    member = place.inside(scanner._safe(info.filename, found))
    scanner._scan_name(info.filename, member, "成员名", hits, found)
    if info.is_dir():
        return None
    if info.flag_bits & 0x1:
        hits.add(place.file, UNSCANNABLE, "", member.where("已加密，无法检查"))
        return None
    return member


def _scan_zip(scanner: PiiScanner, path: Path, place: Place, hits: Hits, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        hits.add(place.file, UNSCANNABLE, "", place.where(f"压缩包损坏（{type(error).__name__}）"))
        _scan_binary(scanner, lambda: open(path, "rb"), place, hits)
        return
    with archive:
        for info in archive.infolist():
            member = zip_member(scanner, info, place, hits)
            if member is None:
                continue
            # One bad member must not hide the rest.
            try:
                if not scanner._first_time(archive.open(info)):
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
                scan_member(scanner, archive, info, member, hits, depth)
            except Exception as error:
                hits.add(
                    place.file,
                    UNSCANNABLE,
                    "",
                    member.where(f"无法解压（{type(error).__name__}）"),
                )
            finally:
                scanner._leave()


def scan_member(
    scanner: PiiScanner,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    member: Place,
    hits: Hits,
    depth: int,
) -> None:
    with archive.open(info) as f:
        head = f.read(65536)
    if head:
        _dispatch(
            scanner, lambda: archive.open(info), None, info.filename, head, member, hits, depth + 1
        )


def _scan_tar(scanner: PiiScanner, path: Path, place: Place, hits: Hits, depth: int) -> None:
    try:
        with tarfile.open(path) as archive:
            for info in archive:
                member = place.inside(scanner._safe(info.name))
                scanner._scan_name(info.name, member, "成员名", hits)
                if not info.isfile():
                    continue
                with _extracted(archive, info) as f:
                    head = f.read(65536)
                if head:
                    _dispatch(
                        scanner,
                        partial(_extracted, archive, info),
                        None,
                        info.name,
                        head,
                        member,
                        hits,
                        depth + 1,
                    )
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        hits.add(place.file, UNSCANNABLE, "", place.where(f"归档损坏（{type(error).__name__}）"))
        _scan_binary(scanner, lambda: open(path, "rb"), place, hits)


def _extracted(archive: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    """A regular file's bytes in a tar archive."""
    extracted = archive.extractfile(info)
    if extracted is None:  # not a regular file
        raise tarfile.ExtractError(f"{info.name} 不是普通文件")
    return extracted


# ---------------------------------------------------------------- databases


def _scan_column(
    scanner: PiiScanner,
    batches: Iterable[Sequence[tuple[Any, ...]]],
    place: Place,
    hits: Hits,
    where: str,
) -> None:
    """The first value of each row, batch by batch (``fetchmany``), scanned as texts of about
    a chunk joined by line ends; byte values as binary text."""
    texts, blobs = _Joined(), _Joined()
    for rows in batches:
        values = [row[0] for row in rows]
        strings = [v for v in values if v.__class__ is str]
        if len(strings) < len(values):
            others = [v for v in values if v is not None and v.__class__ is not str]
            blobs.add([bytes(v).decode("utf-8", "ignore") for v in others if isinstance(v, _BYTES)])
            strings += [str(v) for v in others if not isinstance(v, _BYTES)]
        texts.add(strings)
        if texts.size >= CELL_TEXT_CHARS:
            _scan_block(scanner, texts.take(), place, hits, where, binary=False)
        if blobs.size >= CELL_TEXT_CHARS:
            _scan_block(scanner, blobs.take(), place, hits, where, binary=True)
    _scan_block(scanner, texts.take(), place, hits, where, binary=False)
    _scan_block(scanner, blobs.take(), place, hits, where, binary=True)


def _scan_block(
    scanner: PiiScanner, text: str, place: Place, hits: Hits, where: str, *, binary: bool
) -> None:
    if text:
        location = place.where(where)
        scanner._scan_pieces([text], place, hits, binary=binary, locate=lambda _line: location)


def _scan_sqlite(scanner: PiiScanner, path: Path, place: Place, hits: Hits) -> None:
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
        _scan_binary(scanner, lambda: open(path, "rb"), place, hits)
        return
    try:
        connection.text_factory = lambda b: b.decode("utf-8", "replace")
        schema = connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        _scan_column(scanner, [[(sql,) for _, _, sql in schema]], place, hits, "表结构")
        for kind, table, sql in schema:
            if kind != "table":
                continue
            shown = scanner._safe(table)
            columns = [
                row[1]
                for row in connection.execute(f"PRAGMA table_xinfo({_ident(table)})")
                if row[6] != 1
            ]
            for column in columns:
                where = f"表 {shown}，列 {scanner._safe(column)}"
                try:
                    cursor = connection.execute(f"SELECT {_ident(column)} FROM {_ident(table)}")
                    _scan_column(scanner, _batches(cursor), place, hits, where)
                except sqlite3.Error as error:
                    hits.add(
                        place.file,
                        UNSCANNABLE,
                        "",
                        place.where(f"{where}无法读取（{type(error).__name__}）"),
                    )
            _scan_vocabulary(scanner, connection, table, sql or "", shown, place, hits)
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
    _scan_binary(scanner, lambda: open(path, "rb"), place, hits, supplementary=True)


def _scan_vocabulary(
    scanner: PiiScanner,
    connection: sqlite3.Connection,
    table: str,
    sql: str,
    shown: str,
    place: Place,
    hits: Hits,
) -> None:
    """The terms of a full-text index, which a contentless FTS table holds nowhere else."""
    module = re.search(r"\bUSING\s+(fts[345])\b", sql, re.I)
    if not module:
        return
    vocabulary = "pii_vocabulary"
    if module.group(1).lower() == "fts5":
        create = (
            f"CREATE VIRTUAL TABLE temp.{vocabulary} USING fts5vocab(main, {_ident(table)}, row)"
        )
    else:
        create = f"CREATE VIRTUAL TABLE temp.{vocabulary} USING fts4aux(main, {_ident(table)})"
    try:
        connection.execute(create)
        try:
            cursor = connection.execute(f"SELECT DISTINCT term FROM temp.{vocabulary}")
            _scan_column(scanner, _batches(cursor), place, hits, f"表 {shown} 的全文索引词表")
        finally:
            connection.execute(f"DROP TABLE temp.{vocabulary}")
    except sqlite3.Error as error:
        hits.add(
            place.file,
            UNSCANNABLE,
            "",
            place.where(f"表 {shown} 的全文索引词表无法读取（{type(error).__name__}）"),
        )


def _scan_parquet(scanner: PiiScanner, path: Path, place: Place, hits: Hits) -> None:
    import duckdb  # only when a Parquet file is met

    source = str(path)
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        description = connection.execute(
            "SELECT * FROM read_parquet(?) LIMIT 0", [source]
        ).description
        _scan_column(scanner, [description], place, hits, "列名")
        metadata = connection.execute(
            "SELECT key, value FROM parquet_kv_metadata(?)", [source]
        ).fetchall()
        _scan_column(
            scanner, [[(v,) for pair in metadata for v in pair]], place, hits, "文件元数据"
        )
        for column, type_code, *_ in description:
            cast = "" if str(type_code).upper() == "BLOB" else "::VARCHAR"
            cursor = connection.execute(
                f"SELECT {_ident(column)}{cast} FROM read_parquet(?)", [source]
            )
            _scan_column(scanner, _batches(cursor), place, hits, f"列 {scanner._safe(column)}")
    except duckdb.Error as error:
        hits.add(
            place.file,
            UNSCANNABLE,
            "",
            place.where(f"Parquet 无法读取（{type(error).__name__}）"),
        )
        _scan_binary(scanner, lambda: open(path, "rb"), place, hits)
    finally:
        connection.close()


def _scan_pdf(scanner: PiiScanner, path: Path, place: Place, hits: Hits) -> None:
    """Raw bytes and UTF-16 strings (document info), then every stream decoded through its
    filters (Flate, LZW, ASCII85, ASCIIHex, RunLength, chained: ``validate.pdf``) and read the
    same ways; images' streams (JPEG, JPEG 2000, fax, JBIG2) are skipped. A file or a stream that
    cannot be decoded is unscannable: what it hides is unknown."""
    _scan_binary(scanner, lambda: open(path, "rb"), place, hits)
    data = path.read_bytes()
    _scan_pdf_strings(scanner, data, place, hits)
    try:
        for stream in pdf_streams(data):
            decoded = stream_data(stream)
            if decoded:
                text = decoded.decode("utf-8", "ignore")
                _scan_block(scanner, text, place, hits, "PDF 数据流", binary=True)
                _scan_pdf_strings(scanner, decoded, place, hits)
    except Exception as error:  # fail closed; the message may hold data
        where = place.where(f"PDF 数据流无法解码（{type(error).__name__}）")
        hits.add(place.file, UNSCANNABLE, "", where)


def _scan_pdf_strings(scanner: PiiScanner, data: bytes, place: Place, hits: Hits) -> None:
    texts = []
    for m in _PDF_UTF16_LITERAL.finditer(data):
        raw = re.sub(rb"\\([\\()])", rb"\1", m.group(1))
        texts.append(raw.decode("utf-16-be", "ignore"))
    for m in _PDF_UTF16_HEX.finditer(data):
        digits = re.sub(rb"\s", b"", m.group(1))
        texts.append(
            bytes.fromhex(digits[: len(digits) // 4 * 4].decode()).decode("utf-16-be", "ignore")
        )
    _scan_block(scanner, "\n".join(texts), place, hits, "PDF 文本字符串", binary=False)


# ---------------------------------------------------------------- helpers


_BYTES = (bytes, bytearray, memoryview)


class _Cursor(Protocol):
    """A DB-API cursor (sqlite3) or a DuckDB result."""

    def fetchmany(self, size: int, /) -> list[tuple[Any, ...]]: ...


def _batches(cursor: _Cursor) -> Iterator[list[tuple[Any, ...]]]:
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


def _through(wrapper: Callable[[IO[bytes]], IO[bytes]], opener: Opener) -> Opener:
    """An opener for a decompressing reader that closes the underlying file with it."""

    @contextmanager
    def opened() -> Iterator[IO[bytes]]:
        with opener() as raw, wrapper(raw) as reader:
            yield reader

    return opened


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def container_kind(head: bytes) -> str | None:
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


def _decoded(opener: Opener, encoding: str, errors: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    with opener() as f:
        while block := f.read(READ_BYTES):
            yield decoder.decode(block)
    yield decoder.decode(b"", final=True)


@contextmanager
def _spooled(opener: Opener) -> Iterator[Path]:
    """An archive member copied to a temporary file, for readers that need a path."""
    folder = tempfile.mkdtemp(prefix="approvals-pii-")
    try:
        target = Path(folder, "member")
        with opener() as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, READ_BYTES)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)

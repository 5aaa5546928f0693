"""ZIP-based files (DOCX, XLSX, ODT) checked before they are published: a file that inflates
to gigabytes (a "zip bomb") is refused, not served, and not handed to the privacy gate, which
reads every member (a 2 GiB DOCX made it take 283 s instead of 10).

Every member is really inflated, with a budget, not only its declared size read: zipfile stops
at the declared size and then checks the CRC, so a member that lies about its size is refused as
damaged. Containers inside (an XLSX embedded in a DOCX, a gzip member) are inflated in turn,
to a set depth, each stream against the same caps as it is read: the per-member size, the
ratio to its packed size, and the budget of the whole file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable
from typing import IO

MAX_MEMBERS = 2_000
"""A DOCX has ~15 members, an XLSX one per sheet and a few more."""
MAX_MEMBER_BYTES = 64 << 20
MAX_TOTAL_BYTES = 128 << 20
"""Inflated, all members and nested containers together (a 20 MiB file at most 6.4×)."""
MAX_RATIO = 200
RATIO_FLOOR = 1 << 20
"""The ratio is judged only for members inflating past this (tiny members compress oddly)."""
MAX_DEPTH = 3
READ = 1 << 20

ZIP_MAGIC = b"PK\x03\x04"
STREAM_OPENERS: dict[bytes, Callable[[io.BytesIO], io.BufferedIOBase]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw),
    b"BZh": lambda raw: bz2.BZ2File(raw),
    b"\xfd7zXZ\x00": lambda raw: lzma.LZMAFile(raw),
}


class Refused(Exception):
    """Why an archive is refused (the message is the problem's)."""


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_TOTAL_BYTES

    def spend(self, size: int, where: str) -> None:
        self.left -= size
        if self.left < 0:
            raise Refused(f"解压后总大小超过上限 {MAX_TOTAL_BYTES} 字节（至 {where}）")


def zip_problem(data: bytes) -> str | None:
    """Why the ZIP ``data`` may not be published (too many members, too large or too
    compressed inflated, damaged, encrypted, nested too deep), or None."""
    try:
        _check_zip(data, "", _Budget(), 0)
    except Refused as refused:
        return f"压缩文件被拒绝：{refused}"
    return None


def _check_zip(data: bytes, prefix: str, budget: _Budget, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Refused(f"{prefix or 'ZIP'} 已损坏（{type(exc).__name__}）") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Refused(f"{prefix}成员过多（{len(infos)} 个，上限 {MAX_MEMBERS}）")
        for info in infos:
            _check_declared(info, prefix + info.filename)
        for info in infos:
            if not info.is_dir():
                _check_member(archive, info, prefix + info.filename, budget, depth)


def _check_declared(info: zipfile.ZipInfo, where: str) -> None:
    if info.flag_bits & 0x1:
        raise Refused(f"成员 {where!r} 已加密，无法检查")
    if info.file_size > MAX_MEMBER_BYTES:
        raise Refused(
            f"成员 {where!r} 解压后 {info.file_size} 字节，超过上限 {MAX_MEMBER_BYTES} 字节"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        raise Refused(f"成员 {where!r} 压缩比 {ratio:.0f}:1，超过上限 {MAX_RATIO}:1")


def _check_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, budget: _Budget, depth: int
) -> None:
    try:
        with archive.open(info) as member:
            nested = _drain(member, where, budget, info.compress_size)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise Refused(f"成员 {where!r} 已损坏（{exc}）") from exc
    except NotImplementedError as exc:
        raise Refused(f"成员 {where!r} 的压缩方式不受支持") from exc
    if nested is not None:
        _check_nested(nested, where, budget, depth + 1)


def _drain(
    stream: IO[bytes] | io.BufferedIOBase, where: str, budget: _Budget, packed: int
) -> bytes | None:
    """``stream`` (``packed`` bytes before inflating) read to its end against the caps: the
    member's size, its ratio, the whole file's ``budget``. Its bytes when it is itself a
    container (to be checked in turn), else None."""
    head = stream.read(READ)
    size = _spend(len(head), 0, packed, where, budget)
    nested = _is_container(head)
    kept = [head] if nested else []
    while chunk := stream.read(READ):
        size = _spend(len(chunk), size, packed, where, budget)
        if nested:
            kept.append(chunk)
    return b"".join(kept) if nested else None


def _spend(read: int, size: int, packed: int, where: str, budget: _Budget) -> int:
    """``read`` more bytes of a stream inflated to ``size`` so far: the new size, or Refused."""
    budget.spend(read, where)
    size += read
    if size > MAX_MEMBER_BYTES:
        raise Refused(f"成员 {where!r} 解压后超过上限 {MAX_MEMBER_BYTES} 字节")
    if size > RATIO_FLOOR and size / max(packed, 1) > MAX_RATIO:
        raise Refused(f"成员 {where!r} 压缩比超过上限 {MAX_RATIO}:1（已解压 {size} 字节）")
    return size


def _is_container(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC) or any(head.startswith(m) for m in STREAM_OPENERS)


def _check_nested(data: bytes, where: str, budget: _Budget, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Refused(f"{where!r} 中嵌套的压缩包超过 {MAX_DEPTH} 层")
    if data.startswith(ZIP_MAGIC):
        _check_zip(data, f"{where}/", budget, depth)
        return
    opener = next(o for magic, o in STREAM_OPENERS.items() if data.startswith(magic))
    try:
        with opener(io.BytesIO(data)) as stream:
            nested = _drain(stream, where, budget, len(data))
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise Refused(f"{where!r} 已损坏（{type(exc).__name__}）") from exc
    if nested is not None:
        _check_nested(nested, where, budget, depth + 1)

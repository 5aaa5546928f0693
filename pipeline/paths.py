"""Names from upstream never escape the folder they are written to."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from pipeline.errors import UnsafePath


def safe_join(root: Path, relative: str, resolved_root: Path | None = None) -> Path:
    """``root / relative``, refusing absolute paths, ``..``, backslashes and NULs.
    ``resolved_root`` is ``root.resolve()`` when the caller has it (writers of many files)."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise UnsafePath(f"不安全的路径：{relative!r}")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts):
        raise UnsafePath(f"不安全的路径（不能离开输出目录）：{relative!r}")
    joined = (root / pure).resolve()
    if not joined.is_relative_to(resolved_root or root.resolve()):
        raise UnsafePath(f"不安全的路径（不能离开输出目录）：{relative!r}")
    return joined

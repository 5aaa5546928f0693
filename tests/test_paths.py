"""safe_join and OutputFolder (the render's many-file writer) accept and refuse the same paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import UnsafePath
from pipeline.paths import OutputFolder, safe_join

SAFE = [
    "index.html",
    "items/A1.html",
    "items/A1.json",
    "changes/items/A1.html",
    "a//b.html",
    "a/./b.html",
    "files/F1/营业执照申请表.pdf",
    "items/..a",
    "items/.hidden",
]
UNSAFE = ["", "/etc/passwd", "../x", "items/../../x", "items/..", "a\\b", "x\x00y", "..", "a/../b"]
NOT_A_FILE = ["items/.", "items/", "."]
"""safe_join turns these into a folder's path (writing to it fails); OutputFolder refuses them."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    return tmp_path / "site"


@pytest.mark.parametrize("relative", SAFE)
def test_same_path_as_safe_join(root: Path, relative: str) -> None:
    folder = OutputFolder(root)
    assert folder.path(relative) == str(safe_join(root, relative))
    assert Path(folder.path(relative)).parent.is_dir()  # the folder is made
    assert folder.path(relative) == str(safe_join(root, relative))  # from the folder cache too


@pytest.mark.parametrize("relative", UNSAFE)
def test_refuses_what_safe_join_refuses(root: Path, relative: str) -> None:
    with pytest.raises(UnsafePath):
        safe_join(root, relative)
    folder = OutputFolder(root)
    folder.path("items/ok.html")  # a cached folder does not let a bad name through
    with pytest.raises(UnsafePath):
        folder.path(relative)


@pytest.mark.parametrize("relative", NOT_A_FILE)
def test_refuses_a_folder_as_a_file(root: Path, relative: str) -> None:
    assert safe_join(root, relative) in (root.resolve(), (root / "items").resolve())
    with pytest.raises(UnsafePath):
        OutputFolder(root).path(relative)


def test_symlinked_folder_out_of_root_is_refused(root: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (root / "items").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath):
        safe_join(root, "items/x.html")
    with pytest.raises(UnsafePath):
        OutputFolder(root).path("items/x.html")


def test_symlinked_file_is_refused(root: Path, tmp_path: Path) -> None:
    (root / "items").mkdir()
    (root / "items" / "x.html").symlink_to(tmp_path / "outside.html")
    with pytest.raises(UnsafePath):
        safe_join(root, "items/x.html")
    with pytest.raises(UnsafePath, match="符号链接"):
        OutputFolder(root).write("items/x.html", "<p>页</p>")
    assert not (tmp_path / "outside.html").exists()  # nothing written through the link


def test_write_writes_utf8_and_replaces(root: Path) -> None:
    folder = OutputFolder(root)
    folder.write("items/a.html", "第一版" * 10000)
    folder.write("items/a.html", "第二版")
    assert (root / "items" / "a.html").read_text("utf-8") == "第二版"
    with pytest.raises(UnsafePath):
        folder.write("items/../../x.html", "x")


def test_symlink_inside_root_is_followed_like_safe_join(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real")
    assert OutputFolder(root).path("alias/x.html") == str(safe_join(root, "alias/x.html"))
    assert OutputFolder(root).path("alias/x.html") == str((root / "real" / "x.html").resolve())


def test_copy_copies_and_refuses_a_symlink(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "form.pdf"
    source.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 5000)
    folder = OutputFolder(root)
    folder.copy("files/F1/申请表.pdf", source)
    assert (root / "files" / "F1" / "申请表.pdf").read_bytes() == source.read_bytes()
    (root / "files" / "F1" / "link.pdf").symlink_to(tmp_path / "outside.pdf")
    with pytest.raises(UnsafePath, match="符号链接"):
        folder.copy("files/F1/link.pdf", source)
    assert not (tmp_path / "outside.pdf").exists()

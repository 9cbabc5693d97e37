"""The fast read path: members read with ``os.pread`` from a file the index keeps open.

The kept file must change nothing users can see: a replaced or rewritten
archive is still noticed before any of its bytes are used, and the file is
closed when its index is dropped.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import zipfile
from pathlib import Path

import pytest

import zipimporter
from zipimporter import archive

pytestmark = pytest.mark.skipif(
    not hasattr(os, "pread") or not os.path.isdir("/proc/self/fd"), reason="os.pread, Linux /proc"
)


def _write(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _open_fds() -> set[str]:
    """What this process has open (the listing's own descriptor is gone by readlink)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:
            continue
    return found


def test_members_read_through_one_kept_file(tmp_path: Path) -> None:
    path = tmp_path / "kept.zip"
    _write(path, {"a.txt": b"alpha", "b.txt": b"beta" * 1000})
    index = archive.read_directory(str(path))
    kept = index.kept_file()
    assert index.kept_file() is kept
    for name, want in [("a.txt", b"alpha"), ("b.txt", b"beta" * 1000), ("a.txt", b"alpha")]:
        member = index[name]
        assert archive.read_member(str(path), member, index.stat, None, kept) == want


def test_kept_file_notices_a_replaced_archive(tmp_path: Path) -> None:
    path = tmp_path / "replaced.zip"
    _write(path, {"a.txt": b"old"})
    index = archive.read_directory(str(path))
    kept = index.kept_file()
    assert archive.read_member(str(path), index["a.txt"], index.stat, None, kept) == b"old"
    other = tmp_path / "other.zip"
    _write(other, {"a.txt": b"new"})
    os.replace(other, path)  # the kept descriptor still reads the old file
    with pytest.raises(archive.ArchiveChanged):
        archive.read_member(str(path), index["a.txt"], index.stat, None, kept)


def test_kept_file_notices_a_rewrite_in_place(tmp_path: Path) -> None:
    path = tmp_path / "rewritten.zip"
    _write(path, {"a.txt": b"old"})
    index = archive.read_directory(str(path))
    kept = index.kept_file()
    assert archive.read_member(str(path), index["a.txt"], index.stat, None, kept) == b"old"
    with open(path, "r+b") as fp:
        fp.seek(0, os.SEEK_END)
        fp.write(b"\0")
    with pytest.raises(archive.ArchiveChanged):
        archive.read_member(str(path), index["a.txt"], index.stat, None, kept)


def test_importer_picks_up_a_replaced_archive(tmp_path: Path) -> None:
    path = tmp_path / "mods.zip"
    _write(path, {"speed_kept_one.py": b"VALUE = 1\n", "speed_kept_two.py": b"VALUE = 2\n"})
    importer = zipimporter.zipimporter(str(path))
    assert importer.get_data("speed_kept_one.py") == b"VALUE = 1\n"
    other = tmp_path / "new.zip"
    _write(other, {"speed_kept_one.py": b"VALUE = 10\n", "speed_kept_two.py": b"VALUE = 20\n"})
    os.replace(other, path)
    assert importer.get_data("speed_kept_two.py") == b"VALUE = 20\n"
    spec = importer.find_spec("speed_kept_one")
    assert spec is not None and spec.loader is importer
    module = importlib.util.module_from_spec(spec)
    importer.exec_module(module)
    assert module.VALUE == 10


def test_kept_file_closed_with_its_index(tmp_path: Path) -> None:
    path = tmp_path / "closed.zip"
    _write(path, {"a.txt": b"x"})
    before = _open_fds()
    index = archive.read_directory(str(path))
    archive.read_member(str(path), index["a.txt"], index.stat, None, index.kept_file())
    assert str(path) in _open_fds() - before
    del index
    gc.collect()
    assert str(path) not in _open_fds()

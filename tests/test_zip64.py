"""ZIP64 archives: more than 65535 entries, and ZIP64 extra fields, on every version."""

from __future__ import annotations

import importlib
import os
import struct
import sys
import zipfile
import zipimport
from pathlib import Path

import pytest

import zipimporter
from conftest import DATE_TIME, SHEBANG, ZIP64_ENTRIES, make_zip, outcome, zip64_everywhere
from zipimporter.archive import read_directory

SEP = os.sep
STDLIB_READS_ZIP64 = sys.version_info >= (3, 13)


def test_many_entries_archive_is_zip64(zip64_archive):
    data = Path(zip64_archive).read_bytes()
    eocd = data.rindex(b"PK\x05\x06")
    entries = struct.unpack_from("<HH", data, eocd + 8)
    assert entries == (0xFFFF, 0xFFFF)  # the 16-bit counts overflowed
    assert data[eocd - 20 : eocd - 16] == b"PK\x06\x07"  # ZIP64 locator
    assert data[eocd - 76 : eocd - 72] == b"PK\x06\x06"  # ZIP64 end record


def test_many_entries_index(zip64_archive):
    index = read_directory(zip64_archive)
    assert index.layout.zip64
    assert index.layout.entries == ZIP64_ENTRIES
    assert len(index) == ZIP64_ENTRIES
    with zipfile.ZipFile(zip64_archive) as zf:
        assert list(index) == zf.namelist()


def test_many_entries_import(zip64_archive, installed):
    sys.path.insert(0, zip64_archive)
    first = importlib.import_module("m0")
    last = importlib.import_module(f"m{ZIP64_ENTRIES - 1}")
    middle = importlib.import_module("m65535")
    assert (first.value, middle.value, last.value) == (0, 65535, ZIP64_ENTRIES - 1)
    assert type(last.__loader__) is zipimporter.zipimporter
    assert last.__file__ == os.path.join(zip64_archive, f"m{ZIP64_ENTRIES - 1}.py")


def test_many_entries_stdlib(zip64_archive):
    # What the stdlib does with the same archive, and so why we read it ourselves:
    # before 3.13 its reader ignores the ZIP64 end record, looks for the central
    # directory 76 bytes too late, finds no entry there and sees an empty archive.
    importer = zipimport.zipimporter(zip64_archive)
    std_files = zipimport._zip_directory_cache[zip64_archive]
    if STDLIB_READS_ZIP64:
        assert len(std_files) == ZIP64_ENTRIES
        assert importer.find_spec("m65599") is not None
    else:
        assert len(std_files) == 0
        assert importer.find_spec("m0") is None
        assert importer.find_spec("m65599") is None
    ours = zipimporter.zipimporter(zip64_archive)
    assert ours.find_spec("m65599").origin == os.path.join(zip64_archive, "m65599.py")


def test_many_entries_with_prepended_data_and_comment(zip64_archive, tmp_path):
    data = Path(zip64_archive).read_bytes()
    comment = b"PK\x05\x06 a comment"
    path = tmp_path / "many.pyz"
    path.write_bytes(SHEBANG + data[:-2] + struct.pack("<H", len(comment)) + comment)
    index = read_directory(str(path))
    assert index.layout.prepended == len(SHEBANG)
    assert index.layout.comment == comment
    assert len(index) == ZIP64_ENTRIES
    assert zipimporter.zipimporter(str(path)).get_source("m65599") == "value = 65599\n"


# -- ZIP64 extra fields --------------------------------------------------------------------------


MEMBERS = {
    "z64pkg/": b"",
    "z64pkg/__init__.py": b"value = 'package'\n",
    "z64pkg/mod.py": b"value = 'module'\n",
    "blob.bin": bytes(range(256)) * 40,
}


@pytest.mark.parametrize("deflate", [False, True], ids=["stored", "deflated"])
@pytest.mark.parametrize("prepend", [b"", SHEBANG], ids=["plain", "shebang"])
def test_zip64_extra_fields(tmp_path, prepend, deflate):
    path = tmp_path / "extras.zip"
    path.write_bytes(zip64_everywhere(MEMBERS, deflate=deflate, prepend=prepend))
    with zipfile.ZipFile(path) as zf:  # the oracle agrees it is a valid archive
        assert zf.namelist() == list(MEMBERS)
        assert zf.read("blob.bin") == MEMBERS["blob.bin"]
    index = read_directory(str(path))
    assert index.layout.zip64
    member = index["blob.bin"]
    assert member.file_size == 10240
    assert (member.compressed_size < 10240) == deflate
    importer = zipimporter.zipimporter(str(path))
    assert importer.get_data("blob.bin") == MEMBERS["blob.bin"]
    sys.path.insert(0, str(path))
    with zipimporter.install():
        module = importlib.import_module("z64pkg.mod")
    assert module.value == "module"
    assert module.__file__ == os.path.join(str(path), "z64pkg", "mod.py")
    std = outcome(lambda: zipimport.zipimporter(str(path)).get_data("blob.bin"))
    if STDLIB_READS_ZIP64:
        assert std == ("ok", MEMBERS["blob.bin"])
    else:
        assert std == ("raises", "ZipImportError")


def test_zip64_extra_too_short(tmp_path):
    data = bytearray(zip64_everywhere({"short.py": b"x = 1\n"}))
    central = bytes(data).index(b"PK\x01\x02")
    # Claim the extra holds one value where three are needed.
    extra_at = central + 46 + len("short.py")
    struct.pack_into("<HH", data, extra_at, 1, 8)
    path = tmp_path / "short.zip"
    path.write_bytes(bytes(data))
    # Found when the directory is indexed (the members' extents are checked).
    with pytest.raises(zipimporter.ZipImportError, match="ZIP64 extra") as caught:
        zipimporter.zipimporter(str(path))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("deflate", [False, True], ids=["stored", "deflated"])
@pytest.mark.parametrize("size", [2**32, 2**63 - 2, 2**64 - 1])
def test_zip64_huge_declared_size(tmp_path, size, deflate):
    data = bytearray(zip64_everywhere({"huge.bin": b"small" * 100}, deflate=deflate))
    central = bytes(data).index(b"PK\x01\x02")
    extra_at = central + 46 + len("huge.bin")
    struct.pack_into("<Q", data, extra_at + 4, size)  # the uncompressed size
    path = tmp_path / "huge.zip"
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo("huge.bin").file_size == size
    with pytest.raises(zipimporter.ZipImportError):
        zipimporter.zipimporter(str(path)).get_data("huge.bin")


@pytest.mark.parametrize(
    ("signature", "message"),
    [(b"PK\x06\x06", "ZIP64 end record"), (b"PK\x06\x07", "no ZIP64 locator")],
    ids=["end-record-missing", "sizes-without-locator"],
)
def test_zip64_end_structures_damaged(tmp_path, signature, message):
    data = bytearray(zip64_everywhere({"gone.py": b"x = 1\n"}))
    at = bytes(data).rindex(signature)
    data[at : at + 4] = b"XXXX"
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(zipimporter.ZipImportError, match=message):
        zipimporter.zipimporter(str(path))


def test_forced_zip64_local_headers(tmp_path):
    # zipfile's force_zip64 puts ZIP64 sizes in the local headers only.
    path = tmp_path / "forced.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in [("forced.py", "value = 'forced'\n"), ("data.txt", "data\n" * 100)]:
            with zf.open(zipfile.ZipInfo(name, DATE_TIME), "w", force_zip64=True) as fp:
                fp.write(text.encode())
    data = path.read_bytes()
    assert struct.unpack_from("<II", data, 18) == (0xFFFFFFFF, 0xFFFFFFFF)
    importer = zipimporter.zipimporter(str(path))
    assert importer.get_data("data.txt") == b"data\n" * 100
    assert importer.get_source("forced") == "value = 'forced'\n"
    assert zipimport.zipimporter(str(path)).get_data("data.txt") == b"data\n" * 100


def test_small_archive_is_not_zip64(tmp_path):
    path = make_zip(tmp_path / "small.zip", {"a.py": "x = 1\n"})
    assert not read_directory(path).layout.zip64

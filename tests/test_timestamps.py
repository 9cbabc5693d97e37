"""Timestamp ``.pyc`` files checked against their ``.py`` members, whatever ``TZ`` says.

The rule (``zipimporter.bytecode``): the source member's exact modification
time when its extra field records one (Info-ZIP's ``UT``, NTFS), else its DOS
date and time read as UTC or as local time.  Each test writes an archive under
one time zone and reads it under others (``TZ`` and ``time.tzset()`` in this
process, restored afterwards); which code ran tells whether the ``.pyc`` was
used: it is compiled from other source than the ``.py`` beside it.
"""

from __future__ import annotations

import doctest
import inspect
import os
import py_compile
import shutil
import struct
import subprocess
import time
import zipfile
import zipimport
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import zipimporter
from conftest import pyc
from zipimporter import bytecode, importer
from zipimporter.archive import read_directory
from zipimporter.inspection import PycState, inspect_archive

#: Zones with offsets of several kinds (POSIX TZ strings: no tzdata needed).
ZONES = {
    "UTC": "UTC0",
    "New York": "EST5EDT,M3.2.0,M11.1.0",
    "Kolkata": "IST-5:30",
    "Chatham": "<+1245>-12:45",
    "Honolulu": "HST10",
}
SOURCE = b"value = 'source'\n"
#: What the .pyc files are compiled from: other code, the same size.
PYC_SOURCE = b"value = 'pyc'   \n"
assert len(PYC_SOURCE) == len(SOURCE)
#: The source's modification time: 2020-06-01 12:30:10 UTC (even: DOS
#: times have a 2-second resolution).
MTIME = 1591014610

#: Whether the importer checks pycs against the source's extra field (the
#: import path change that goes with this rule: ``bytecode.source_stamp``).
IMPORTER_READS_EXTRA = "source_stamp(" in inspect.getsource(importer)


@pytest.fixture
def set_tz() -> Iterator[Callable[[str], None]]:
    """Set this process's time zone (``TZ`` + ``time.tzset()``); restored afterwards."""
    saved = os.environ.get("TZ")

    def set_(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    try:
        yield set_
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def ut_extra(mtime: int) -> bytes:
    """Info-ZIP's extended timestamp extra field, as a central header has it (mtime only)."""
    return struct.pack("<HHBi", 0x5455, 5, 1, mtime)


def ntfs_extra(mtime: int) -> bytes:
    """The NTFS extra field: mtime, atime, ctime as FILETIMEs (100 ns since 1601)."""
    filetime = (mtime + 11644473600) * 10_000_000 + 1234
    attribute = struct.pack("<HHQQQ", 1, 24, filetime, filetime, filetime)
    return struct.pack("<HHI", 0x000A, 4 + len(attribute), 0) + attribute


def write_archive(
    path: Path, *, date_time: tuple[int, ...], extra: bytes = b"", pyc_mtime: int = MTIME
) -> str:
    """``m.py`` (SOURCE) with these DOS fields and extra field, and a ``m.pyc`` beside it.

    The ``.pyc`` is compiled from other source, and records *pyc_mtime* and
    the size of SOURCE.
    """
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("m.py", date_time[:6])
        info.extra = extra
        zf.writestr(info, SOURCE)
        compiled = pyc(PYC_SOURCE.decode(), mtime=pyc_mtime, size=len(SOURCE))
        zf.writestr(zipfile.ZipInfo("m.pyc", date_time[:6]), compiled)
    return str(path)


def used(archive: str) -> str:
    """'pyc' or 'source': what our importer runs for ``m`` in *archive*."""
    zipimporter._zip_directory_cache.clear()
    namespace: dict[str, object] = {}
    exec(zipimporter.zipimporter(archive).get_code("m"), namespace)
    return str(namespace["value"])


def stdlib_used(archive: str) -> str:
    zipimport._zip_directory_cache.clear()
    namespace: dict[str, object] = {}
    exec(zipimport.zipimporter(archive).get_code("m"), namespace)
    return str(namespace["value"])


def verdict(archive: str) -> PycState | None:
    """What ``inspect`` says of ``m.pyc``."""
    (info,) = (m for m in inspect_archive(archive).modules if m.name == "m")
    return info.pyc_state


def compile_tree(tree: Path, mtime: int) -> None:
    """``m.py`` and its timestamp ``m.pyc`` (py_compile's) in *tree*, the .py modified since.

    The ``.pyc`` is compiled from PYC_SOURCE; then ``m.py`` becomes SOURCE,
    with the same size and *mtime*, as if edited within the same second.
    """
    (tree / "m.py").write_bytes(PYC_SOURCE)
    os.utime(tree / "m.py", (mtime, mtime))
    py_compile.compile(
        str(tree / "m.py"),
        cfile=str(tree / "m.pyc"),
        invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
    )
    (tree / "m.py").write_bytes(SOURCE)
    os.utime(tree / "m.py", (mtime, mtime))


def local_date_time(mtime: int) -> tuple[int, ...]:
    """The DOS fields zipfile's ``write`` gives a file with this mtime: its local time."""
    return tuple(time.localtime(mtime)[:6])


# -- the source's time is known exactly ----------------------------------------------


@pytest.mark.parametrize("field", ["UT", "NTFS"])
@pytest.mark.parametrize("writer", ["New York", "Chatham"])
def test_exact_mtime_makes_the_pyc_valid_in_every_zone(tmp_path, set_tz, field, writer):
    set_tz(ZONES[writer])  # as Info-ZIP writes: DOS fields in local time, plus the exact time
    extra = ut_extra(MTIME) if field == "UT" else ntfs_extra(MTIME)
    archive = write_archive(tmp_path / "a.zip", date_time=local_date_time(MTIME), extra=extra)
    for reader in ZONES.values():
        set_tz(reader)
        assert verdict(archive) is PycState.VALID, reader
        if IMPORTER_READS_EXTRA:
            assert used(archive) == "pyc", reader


@pytest.mark.parametrize("field", ["UT", "NTFS"])
def test_exact_mtime_rejects_a_pyc_an_hour_off_in_every_zone(tmp_path, set_tz, field):
    """The DOS fields alone could pass for it read in some zone; the exact time can't."""
    set_tz(ZONES["UTC"])
    extra = ut_extra(MTIME) if field == "UT" else ntfs_extra(MTIME)
    archive = write_archive(
        tmp_path / "a.zip", date_time=local_date_time(MTIME), extra=extra, pyc_mtime=MTIME - 3600
    )
    for reader in [*ZONES.values(), "CET-1"]:
        set_tz(reader)
        assert verdict(archive) is PycState.STALE, reader
        if IMPORTER_READS_EXTRA:
            assert used(archive) == "source", reader


@pytest.mark.skipif(not IMPORTER_READS_EXTRA, reason="importer.py doesn't call source_stamp yet")
def test_importer_reads_the_extended_timestamp(tmp_path, set_tz):
    """DOS fields far off, the extended timestamp right: the pyc is used."""
    set_tz(ZONES["Kolkata"])
    archive = write_archive(
        tmp_path / "a.zip", date_time=(1999, 12, 31, 23, 0, 0), extra=ut_extra(MTIME)
    )
    assert used(archive) == "pyc"


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP's zip is not installed")
def test_info_zip_archive_is_valid_in_every_zone(tmp_path, set_tz):
    """``zip`` writes the extended timestamp: its timestamp pycs are valid anywhere."""
    tree = tmp_path / "tree"
    tree.mkdir()
    compile_tree(tree, MTIME + 1)  # an odd second: the DOS fields lose it
    archive = tmp_path / "a.zip"
    env = {**os.environ, "TZ": ZONES["New York"]}
    subprocess.run(["zip", "-q", str(archive), "m.py", "m.pyc"], cwd=tree, env=env, check=True)
    for reader in ZONES.values():
        set_tz(reader)
        assert verdict(str(archive)) is PycState.VALID, reader
        if IMPORTER_READS_EXTRA:
            assert used(str(archive)) == "pyc", reader


# -- DOS fields only -----------------------------------------------------------------


def test_dos_fields_in_utc_make_the_pyc_valid_in_every_zone(tmp_path, set_tz):
    """What zipfile writes under SOURCE_DATE_EPOCH on 3.14, and any build on a UTC machine."""
    archive = write_archive(tmp_path / "a.zip", date_time=time.gmtime(MTIME)[:6])
    for reader in ZONES.values():
        set_tz(reader)
        assert used(archive) == "pyc", reader
        assert verdict(archive) is PycState.VALID, reader


@pytest.mark.parametrize("writer", ["New York", "Kolkata"])
def test_dos_fields_in_local_time_are_judged_as_the_stdlib_judges_them(tmp_path, set_tz, writer):
    """A zone not recorded can't be guessed safely: valid where the stdlib finds it valid.

    That is the writer's zone (and any with the same offset then); in other
    zones the source is used, and compiled once into the bytecode cache.
    """
    set_tz(ZONES[writer])
    archive = write_archive(tmp_path / "a.zip", date_time=local_date_time(MTIME))
    assert used(archive) == stdlib_used(archive) == "pyc"
    for name, reader in ZONES.items():
        set_tz(reader)
        expected = "pyc" if name == writer else "source"
        assert used(archive) == stdlib_used(archive) == expected, reader
        assert verdict(archive) is (PycState.VALID if name == writer else PycState.STALE)


def test_zipfile_write_of_a_py_compile_tree(tmp_path, set_tz):
    """gh-141431's zipapp: zipfile.write stores local time; valid where it was written."""
    set_tz(ZONES["New York"])
    tree = tmp_path / "tree"
    tree.mkdir()
    compile_tree(tree, MTIME)
    archive = str(tmp_path / "a.zip")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tree / "m.py", "m.py")
        zf.write(tree / "m.pyc", "m.pyc")
    assert used(archive) == "pyc"
    set_tz(ZONES["Kolkata"])
    assert used(archive) == "source"


@pytest.mark.parametrize(
    ("kind", "pyc_mtime"),
    [
        ("10 seconds older", MTIME - 10),
        ("an hour and 7 seconds newer", MTIME + 3607),
        ("a day older", MTIME - 86400),
    ],
)
@pytest.mark.parametrize("writer", ["UTC", "New York"])
def test_stale_pyc_is_rejected_in_every_zone(tmp_path, set_tz, kind, pyc_mtime, writer):
    """Off by no zone's offset, a stale pyc is stale however the DOS fields are read."""
    set_tz(ZONES[writer])
    archive = write_archive(
        tmp_path / "a.zip", date_time=local_date_time(MTIME), pyc_mtime=pyc_mtime
    )
    for reader in ZONES.values():
        set_tz(reader)
        assert used(archive) == "source", reader
        assert verdict(archive) is PycState.STALE, reader


def test_size_still_matters(tmp_path, set_tz):
    set_tz(ZONES["UTC"])
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("m.py", time.gmtime(MTIME)[:6])
        info.extra = ut_extra(MTIME)
        zf.writestr(info, SOURCE)
        compiled = pyc(PYC_SOURCE.decode(), mtime=MTIME, size=len(SOURCE) + 1)
        zf.writestr("m.pyc", compiled)
    assert used(str(path)) == "source"
    assert verdict(str(path)) is PycState.STALE


# -- the pieces --------------------------------------------------------------------------


def test_dos_to_unix_is_the_same_in_every_zone(set_tz):
    date = (2020 - 1980) << 9 | 6 << 5 | 1
    clock = 12 << 11 | 30 << 5 | 10 // 2
    for reader in ZONES.values():
        set_tz(reader)
        assert bytecode.dos_to_unix(date, clock) == MTIME


def test_dos_fields_out_of_range_carry_over_as_mktime_does(set_tz):
    set_tz(ZONES["UTC"])
    for date, clock in [(0, 0), (0xFFFF, 0xFFFF), (13 << 5 | 31, 31 << 11 | 63 << 5 | 31)]:
        year, month, day = (date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F
        hms = (clock >> 11, (clock >> 5) & 0x3F, (clock & 0x1F) * 2)
        expected = int(time.mktime((year, month, day, *hms, -1, -1, -1)))
        assert bytecode.dos_to_unix(date, clock) == expected


@pytest.mark.parametrize(
    "extra",
    [
        b"",
        b"UT",  # truncated header
        struct.pack("<HH", 0x5455, 9) + b"\x01\x00\x00",  # longer than what is there
        struct.pack("<HHB", 0x5455, 1, 1),  # says mtime, holds none
        struct.pack("<HHBi", 0x5455, 5, 0, MTIME),  # mtime not flagged
        struct.pack("<HHI", 0x000A, 4, 0),  # NTFS without attributes
        struct.pack("<HHIHH", 0x000A, 8, 0, 1, 24),  # NTFS attribute cut short
        struct.pack("<HHI", 0x0001, 4, 7),  # some other field
    ],
)
def test_malformed_extra_fields_are_ignored(extra):
    assert bytecode.extended_mtime(extra) is None


def test_extended_timestamp_preferred_to_ntfs_and_found_after_other_fields():
    extra = struct.pack("<HHI", 0x7875, 4, 0) + ntfs_extra(MTIME - 5) + ut_extra(MTIME)
    assert bytecode.extended_mtime(extra) == MTIME
    assert bytecode.extended_mtime(ntfs_extra(MTIME)) == MTIME
    assert bytecode.extended_mtime(ut_extra(-1)) == -1  # a signed field


def test_index_extra_reads_the_central_record(tmp_path):
    """What the importer and inspect check a timestamp pyc against (DirectoryIndex.extra)."""
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("pkg/m.py")
        info.extra = ut_extra(MTIME)
        zf.writestr(info, SOURCE)
        zf.writestr("plain.py", SOURCE)
    index = read_directory(str(path))
    assert index.extra(os.path.join("pkg", "m.py")) == ut_extra(MTIME)
    assert index.extra("plain.py") == b""
    assert index.extra("missing.py") == b""
    member = index[os.path.join("pkg", "m.py")]
    assert bytecode.source_stamp(member, index.extra(member.name)) == (MTIME, len(SOURCE), True)


def test_doctests():
    result = doctest.testmod(bytecode)
    assert (result.failed, result.attempted > 0) == (0, True)

"""Shared fixtures and archive builders.

Every archive is built here, with :mod:`zipfile`, in the test's ``tmp_path``;
no binary archive is kept in the repository.
"""

from __future__ import annotations

import _imp
import importlib
import io
import linecache
import marshal
import os
import struct
import subprocess
import sys
import time
import zipfile
import zipimport
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

import zipimporter
from zipimporter import hooks

collect_ignore = ["conformance"]

#: The directory holding the ``zipimporter`` package: PYTHONPATH for subprocesses.
SRC = str(Path(zipimporter.__file__).resolve().parent.parent)

# Modest by default, so the suite runs in well under two minutes per Python;
# ``pytest --hypothesis-profile=thorough`` runs the property tests 25 times longer.
settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile("default")

DateTime = tuple[int, int, int, int, int, int]

#: The date_time members get unless told otherwise (even seconds: DOS times
#: have a 2-second resolution).
DATE_TIME: DateTime = (2020, 6, 1, 12, 30, 10)

SHEBANG = b"#!/usr/bin/env python3\n"


@dataclass(frozen=True)
class Entry:
    """An archive member with settings of its own."""

    data: bytes | str = b""
    compress_type: int | None = None  # None: the archive's default
    date_time: DateTime | None = None  # None: DATE_TIME
    cp437: bool = False  # store the name cp437-encoded, without the UTF-8 flag


Members = Mapping[str, "bytes | str | Entry"]


class _Cp437Info(zipfile.ZipInfo):
    """A ZipInfo whose name is written cp437-encoded and without the UTF-8 flag."""

    __slots__ = ()

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 (zipfile's name)
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


class _Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile writes data descriptors."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.buffer += b
        return len(b)


def zip_bytes(
    members: Members,
    *,
    compression: int = zipfile.ZIP_STORED,
    comment: bytes = b"",
    prepend: bytes = b"",
    seekable: bool = True,
) -> bytes:
    """Return the bytes of a ZIP archive of *members*, written by :mod:`zipfile`.

    A name ending in ``/`` is a directory entry.  *prepend* goes before the ZIP
    data (as the ``#!`` line of a ``.pyz``); a non-*seekable* stream makes
    zipfile write data descriptors.
    """
    stream: Any = io.BytesIO() if seekable else _Unseekable()
    with zipfile.ZipFile(stream, "w", compression) as zf:
        for name, value in members.items():
            entry = value if isinstance(value, Entry) else Entry(value)
            info_cls = _Cp437Info if entry.cp437 else zipfile.ZipInfo
            info = info_cls(name, date_time=entry.date_time or DATE_TIME)
            info.compress_type = compression if entry.compress_type is None else entry.compress_type
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
                info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, entry.data)
        zf.comment = comment
    data = stream.getvalue() if seekable else bytes(stream.buffer)
    return prepend + data


def zip64_everywhere(
    members: Mapping[str, bytes], *, deflate: bool = False, prepend: bytes = b""
) -> bytes:
    """An archive of *members* with every size and offset in ZIP64 fields.

    zipfile writes ZIP64 central directory fields only past 4 GiB, so this
    builds the records by hand: 0xFFFFFFFF in each 32-bit size and offset
    field, the values in the ZIP64 extra fields, and ZIP64 end records.
    """
    u32 = 0xFFFFFFFF
    dos_date, dos_time = dos_fields(DATE_TIME)
    body = bytearray()
    central = bytearray()
    for name, data in members.items():
        raw = name.encode()
        crc = zlib.crc32(data)
        method = zipfile.ZIP_DEFLATED if deflate and data else zipfile.ZIP_STORED
        if method == zipfile.ZIP_DEFLATED:
            squeezer = zlib.compressobj(wbits=-15)
            stored = squeezer.compress(data) + squeezer.flush()
        else:
            stored = data
        offset = len(body)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(stored))
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 45, 0, method, dos_time, dos_date, crc, u32, u32,
            len(raw), len(local_extra),
        )  # fmt: skip
        body += raw + local_extra + stored
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(stored), offset)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, dos_time, dos_date, crc,
            u32, u32, len(raw), len(extra), 0, 0, 0, 0, u32,
        )  # fmt: skip
        central += raw + extra
    cd_offset, count = len(body), len(members)
    eocd64_offset = cd_offset + len(central)
    tail = struct.pack(
        "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(central), cd_offset
    )
    tail += struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1)
    tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, u32, u32, 0)
    return prepend + bytes(body) + bytes(central) + tail


def make_zip(path: Path, members: Members, **options: Any) -> str:
    """Write the archive :func:`zip_bytes` builds to *path*; return the path as str."""
    path.write_bytes(zip_bytes(members, **options))
    return str(path)


def dos_fields(date_time: DateTime) -> tuple[int, int]:
    """The (DOS date, DOS time) fields a ZIP header stores for *date_time*."""
    year, month, day, hour, minute, second = date_time
    return (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2


def dos_mtime(date_time: DateTime = DATE_TIME) -> int:
    """The POSIX time the importers derive from a member's DOS date and time."""
    return int(time.mktime((*date_time, -1, -1, -1)))


def pyc(
    source: str,
    *,
    kind: str = "timestamp",
    mtime: int = 0,
    size: int = 0,
    hash_source: bytes | None = None,
    filename: str = "<pyc>",
    magic: bytes = MAGIC_NUMBER,
) -> bytes:
    """Return ``.pyc`` bytes for *source*, compiled as *filename*.

    *kind* is ``timestamp`` (with *mtime* and *size*), ``unchecked`` or
    ``checked``; a hash-based pyc records the hash of *hash_source* (default:
    *source*), so it can be made to disagree with the source beside it.
    """
    code = compile(source, filename, "exec", dont_inherit=True)
    if kind == "timestamp":
        flags, stamp = 0, mtime.to_bytes(4, "little") + size.to_bytes(4, "little")
    else:
        flags = 0b01 if kind == "unchecked" else 0b11
        raw_magic = int.from_bytes(MAGIC_NUMBER, "little")
        stamp = _imp.source_hash(raw_magic, hash_source or source.encode())
    return magic + flags.to_bytes(4, "little") + stamp + marshal.dumps(code)


# -- importing through one importer or the other ---------------------------


#: Both importer classes: the stdlib's and ours.
ZIP_IMPORTERS = (zipimport.zipimporter, zipimporter.zipimporter)


def _is_zip_finder(finder: object) -> bool:
    return finder is None or isinstance(finder, ZIP_IMPORTERS)


def forget(*names: str) -> None:
    """Drop modules (and their submodules) and every zip or None importer cache entry."""
    for mod in list(sys.modules):
        if any(mod == name or mod.startswith(name + ".") for name in names):
            del sys.modules[mod]
    for path, finder in list(sys.path_importer_cache.items()):
        if _is_zip_finder(finder):
            del sys.path_importer_cache[path]
    zipimport._zip_directory_cache.clear()
    zipimporter._zip_directory_cache.clear()
    importlib.invalidate_caches()
    linecache.clearcache()


def import_fresh(name: str, *, ours: bool) -> ModuleType:
    """Import *name* anew through our hook (*ours*) or through the stdlib's."""
    forget(name.partition(".")[0])
    if not ours:
        assert not zipimporter.installed()
        return importlib.import_module(name)
    with zipimporter.install():
        return importlib.import_module(name)


def outcome(func: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", result)`` or ``("raises", exception class name)``: to compare behaviours.

    By name, so that our ZipImportError and the stdlib's compare equal.
    """
    try:
        return "ok", func()
    except Exception as exc:
        return "raises", type(exc).__name__


def both(name: str, probe: Callable[[ModuleType], Any]) -> tuple[Any, Any]:
    """The :func:`outcome` of *probe* on module *name* imported through the stdlib, then
    through us (whose loader it checks): the stdlib-vs-ours comparison."""
    std = outcome(lambda: probe(import_fresh(name, ours=False)))
    ours_module = import_fresh(name, ours=True)
    assert type(ours_module.__loader__) is zipimporter.zipimporter
    return std, outcome(lambda: probe(ours_module))


# -- subprocesses -----------------------------------------------------------


def python_env(cache_dir: str | os.PathLike[str], **overrides: str | None) -> dict[str, str]:
    """The environment for a Python subprocess that imports ``zipimporter`` from SRC.

    Its on-disk caches go to *cache_dir* (never the user's); output is UTF-8;
    ``PYTHONDONTWRITEBYTECODE`` and ``PYTHONBREAKPOINT`` from the caller's
    environment are dropped.  *overrides* set variables (``None`` removes one).
    """
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "PYTHONIOENCODING": "utf-8",
        "ZIPIMPORTER_CACHE_DIR": os.fspath(cache_dir),
    }
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONBREAKPOINT", "ZIPIMPORTER_CACHE"):
        env.pop(name, None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(
    *args: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    timeout: float = 120,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` (this interpreter) in a subprocess; see :func:`python_env`.

    *cache_dir* is the subprocess's private ZIPIMPORTER_CACHE_DIR; *env* holds
    overrides of :func:`python_env`.  Output is captured as text; the exit
    status is not checked.
    """
    return subprocess.run(
        [sys.executable, *map(os.fspath, args)],
        capture_output=True,
        text=True,
        env=python_env(cache_dir, **(env or {})),
        cwd=cwd,
        input=input,
        timeout=timeout,
        check=False,
    )


#: A CPython of this version without zipimporter installed: the venv's base interpreter.
PLAIN_PYTHON = getattr(sys, "_base_executable", sys.executable)


def plain_env(cache_dir: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """An environment in which ``zipimporter`` is not importable (no PYTHON*/ZIPIMPORTER* vars)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ZIPIMPORTER"))}
    env.update(ZIPIMPORTER_CACHE_DIR=os.fspath(cache_dir), PYTHONIOENCODING="utf-8", **extra)
    return env


def run_plain(
    *args: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 300,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    """``PLAIN_PYTHON ARGS`` in a subprocess with :func:`plain_env` (*extra* adds variables)."""
    return subprocess.run(
        [PLAIN_PYTHON, *map(os.fspath, args)],
        capture_output=True,
        text=True,
        env=plain_env(cache_dir, **extra),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


# -- fixtures ---------------------------------------------------------------


def _from_tests(module: ModuleType, base: str) -> bool:
    """Whether *module* was imported from an archive or directory the tests made."""
    spec = getattr(module, "__spec__", None)
    if isinstance(getattr(spec, "loader", None), ZIP_IMPORTERS):
        return True
    where = [str(getattr(spec, "origin", None) or "")]
    where += [str(w) for w in getattr(spec, "submodule_search_locations", None) or ()]
    return any(base in w or ".zip" in w or ".pyz" in w for w in where)


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep zipimporter's on-disk caches in a temporary directory, not the user's."""
    path = tmp_path_factory.mktemp("zipimporter-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZIPIMPORTER_CACHE_DIR", str(path))
        mp.delenv("ZIPIMPORTER_CACHE", raising=False)
        yield path


@pytest.fixture(autouse=True)
def import_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Restore sys.path, hooks, importer caches and zip caches after each test.

    Modules imported from the tests' temporary directories are dropped again.
    """
    saved_path = sys.path[:]
    saved_hooks = sys.path_hooks[:]
    saved_cache = dict(sys.path_importer_cache)
    saved_modules = set(sys.modules)
    saved_std_zip_cache = dict(zipimport._zip_directory_cache)
    saved_our_zip_cache = dict(zipimporter._zip_directory_cache)
    base = str(tmp_path_factory.getbasetemp())
    try:
        yield
    finally:
        hooks.uninstall()
        sys.path[:] = saved_path
        sys.path_hooks[:] = saved_hooks
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(saved_cache)
        # Decide first, then delete: a namespace package's __path__ is
        # computed from its parent, which must still be there when asked.
        doomed = [n for n in set(sys.modules) - saved_modules if _from_tests(sys.modules[n], base)]
        for name in doomed:
            del sys.modules[name]
        zipimport._zip_directory_cache.clear()
        zipimport._zip_directory_cache.update(saved_std_zip_cache)
        zipimporter._zip_directory_cache.clear()
        zipimporter._zip_directory_cache.update(saved_our_zip_cache)
        importlib.invalidate_caches()
        linecache.clearcache()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty on-disk cache directory for the test (caches on, writing allowed).

    Writing is allowed whatever PYTHONDONTWRITEBYTECODE says, and compiled
    source goes to the cache, not under a ``sys.pycache_prefix``.
    """
    path = tmp_path / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(path))
    monkeypatch.delenv("ZIPIMPORTER_CACHE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    return path


@pytest.fixture
def no_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The on-disk caches off (``ZIPIMPORTER_CACHE=0``): every read goes to the archive."""
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "0")


@pytest.fixture
def installed() -> Iterator[None]:
    """Our importer in the stdlib's place in sys.path_hooks for the test."""
    with zipimporter.install():
        yield


#: Entries in the ZIP64 archive: more than a ZIP's 16-bit entry count holds.
ZIP64_ENTRIES = 65600


@pytest.fixture(scope="session")
def zip64_archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An archive of ZIP64_ENTRIES tiny modules ``m0`` .. ``m65599`` (built once)."""
    path = tmp_path_factory.mktemp("zip64") / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(ZIP64_ENTRIES):
            zf.writestr(zipfile.ZipInfo(f"m{i}.py", DATE_TIME), f"value = {i}\n")
    return str(path)

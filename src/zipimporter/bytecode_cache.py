"""Compiled code of archive sources, cached outside the archive.

A source-only module in an archive would otherwise be compiled on every run.
The cache file is a standard-layout ``.pyc`` (magic number, flags = unchecked
hash-based, then 8 bytes of key, then marshal data) whose key is the member's
CRC-32 and size, so a changed member simply misses.  Its path comes from
``importlib.util.cache_from_source``, which carries the interpreter's cache
tag and optimization level: under ``sys.pycache_prefix`` it mirrors the
archive's path there, as the stdlib would for a source file; otherwise it sits
in our cache directory under a hash of the archive's real path.  Nothing is
written when ``sys.dont_write_bytecode`` is set.

The cache directory (``<cache root>/bytecode``, or ``sys.pycache_prefix``) is
used only while it can be trusted (see :mod:`zipimporter.cachedir`), and only
members whose names are safe as paths (:func:`zipimporter.names.safe_relative_name`)
are cached.
"""

from __future__ import annotations

import _imp
import marshal
import os
import struct
import sys
from importlib._bootstrap_external import (
    MAGIC_NUMBER,
    cache_from_source,
)
from types import CodeType

from .archive import Member
from .cachedir import atomic_write, cache_root, path_key, read_file, trusted_dir
from .names import safe_relative_name

__all__ = ["load", "store"]

_TAG = sys.implementation.cache_tag
SEP = os.sep
_HEADER = struct.Struct("<4sIII")  # magic, flags, crc32, size
_FLAGS = 0b01  # hash-based, unchecked: our key stands where the source hash would
_MAX_FILE = 1 << 28


_archive_keys: dict[str, str] = {}


def _archive_key(archive: str) -> str:
    key = _archive_keys.get(archive)
    if key is None:
        if len(_archive_keys) > 256:
            _archive_keys.clear()
        key = _archive_keys[archive] = path_key(archive)
    return key


def _path(archive: str, member: Member, modpath: str, *, create: bool = False) -> str | None:
    """The cache file for *member*, or None: caching off, untrusted, or an unsafe name.

    An unsafe name ('..', reachable through an importer path like
    '<archive>/..', or an absolute one) would put the file outside the cache
    directory or, under sys.pycache_prefix, make it the cache of a real
    source file elsewhere.
    """
    root = cache_root()
    if root is None or _TAG is None or not safe_relative_name(member.name):
        return None
    prefix = sys.pycache_prefix
    if prefix:
        if not os.path.isabs(prefix):
            prefix = os.path.abspath(prefix)
        if trusted_dir(prefix, create=create) is None:
            return None
        return cache_from_source(os.path.abspath(modpath))
    directory = trusted_dir(root, "bytecode", create=create)
    if directory is None:
        return None
    # What cache_from_source() would give for <root>/bytecode/<archive>/<member>
    # with __pycache__ left out, built directly as this is on every import.
    opt = sys.flags.optimize
    return (
        f"{directory}{SEP}{_archive_key(archive)}{SEP}"
        f"{member.name.removesuffix('.py')}.{_TAG}{f'.opt-{opt}' if opt else ''}.pyc"
    )


def _header(member: Member) -> bytes:
    return _HEADER.pack(MAGIC_NUMBER, _FLAGS, member.crc, member.file_size & 0xFFFFFFFF)


def load(archive: str, member: Member, modpath: str) -> CodeType | None:
    """The cached code for this exact member, with ``co_filename`` set to *modpath*."""
    path = _path(archive, member, modpath)
    if path is None:
        return None
    data = read_file(path, _MAX_FILE)
    if data is None or data[: _HEADER.size] != _header(member):
        return None
    try:
        code = marshal.loads(memoryview(data)[_HEADER.size :])
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(code, CodeType):
        return None
    _imp._fix_co_filename(code, modpath)  # type: ignore[attr-defined]
    return code


def store(archive: str, member: Member, modpath: str, code: CodeType) -> None:
    """Cache *code*, compiled from *member* (silently skipped on failure)."""
    if sys.dont_write_bytecode:
        return
    path = _path(archive, member, modpath, create=True)
    if path is not None:
        atomic_write(path, _header(member) + marshal.dumps(code))

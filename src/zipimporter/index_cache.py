"""The persistent directory index: a big archive's name table, saved between runs.

Building the hash table costs one pass over the central directory in Python;
loading a saved one costs a read.  An entry is keyed by the central directory
itself (its size, entry count, CRC-32 and Adler-32), which is read from the
archive on every open, so a saved table can only ever be used with the exact
directory bytes it was built from: a rewritten, replaced or foreign archive
simply misses.  The file's own CRC guards against corruption and truncation.
The file lives in ``<cache root>/index/``, used only while that directory can be
trusted (see :mod:`zipimporter.cachedir`).
"""

from __future__ import annotations

import struct
import zlib

from .cachedir import SEP, atomic_write, cache_root, path_key, read_file, trusted_dir

__all__ = ["MIN_ENTRIES", "load", "store"]

#: Archives with fewer entries are parsed faster than a cache file is read.
MIN_ENTRIES = 2048

_MAGIC = b"ZIPIDX\x00\x02"
# magic, cd size, entries, cd crc32, cd adler32, distinct names, table
# itemsize, table length, payload crc32
_HEADER = struct.Struct("<8sQQIIQBQI")
_MAX_FILE = 1 << 31


def _path(archive: str, *, create: bool = False) -> str | None:
    """Where *archive*'s index is kept, or None (caching off, or not to be trusted)."""
    root = cache_root()
    if root is None:
        return None
    directory = trusted_dir(root, "index", create=create)
    return None if directory is None else f"{directory}{SEP}{path_key(archive)}.idx"


def _directory_key(records: bytes, entries: int) -> tuple[int, int, int, int]:
    return len(records), entries, zlib.crc32(records), zlib.adler32(records)


def load(archive: str, records: bytes, entries: int) -> tuple[memoryview, int] | None:
    """The saved (table, distinct names) for exactly these directory bytes, or None."""
    path = _path(archive)
    if path is None:
        return None
    data = read_file(path, _MAX_FILE)
    if data is None or len(data) < _HEADER.size:
        return None
    (magic, size, n, crc, adler, count, itemsize, tlen, pcrc) = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if (
        magic != _MAGIC
        or (size, n, crc, adler) != _directory_key(records, entries)
        or itemsize not in (4, 8)
        or len(payload) != tlen * itemsize
        or zlib.crc32(payload) != pcrc
        or tlen < 2 * count
        or tlen & (tlen - 1)
        or count > n
    ):
        return None
    return memoryview(bytearray(payload)).cast("I" if itemsize == 4 else "Q"), count


def store(archive: str, records: bytes, entries: int, table: memoryview, count: int) -> None:
    """Save a built table for the next open of this archive (silently skipped on failure)."""
    path = _path(archive, create=True)
    if path is None:
        return
    payload = table.tobytes()
    header = _HEADER.pack(
        _MAGIC,
        *_directory_key(records, entries),
        count,
        table.itemsize,
        len(table),
        zlib.crc32(payload),
    )
    atomic_write(path, header + payload)

"""The persistent directory index: a big archive's name table, saved between runs.

Building the hash table costs one pass over the central directory in Python;
loading a saved one costs a read.  An entry is keyed by the central directory
itself (its size, entry count, CRC-32 and Adler-32), which is read from the
archive on every open, so a saved table can only ever be used with the exact
directory bytes it was built from: a rewritten, replaced or foreign archive
simply misses.  The file's own CRC guards against corruption and truncation.
"""

from __future__ import annotations

import marshal
import os
import struct
import zlib

from .cachedir import atomic_write, cache_root, path_key, read_file

__all__ = ["MIN_ENTRIES", "load", "store"]

#: Archives with fewer entries are parsed faster than a cache file is read.
MIN_ENTRIES = 2048

_MAGIC = b"ZIPIDX\x00\x01"
# magic, cd size, entries, cd crc32, cd adler32, distinct names, table
# itemsize, table length, others length, payload crc32
_HEADER = struct.Struct("<8sQQIIQBQQI")
_MAX_FILE = 1 << 31

Table = tuple[memoryview, dict[str, int], int]


def _path(archive: str) -> str | None:
    root = cache_root()
    if root is None:
        return None
    return os.path.join(root, "index", path_key(archive) + ".idx")


def _directory_key(records: bytes, entries: int) -> tuple[int, int, int, int]:
    return len(records), entries, zlib.crc32(records), zlib.adler32(records)


def load(archive: str, records: bytes, entries: int) -> Table | None:
    """The saved table for exactly these directory bytes, or None."""
    path = _path(archive)
    if path is None:
        return None
    data = read_file(path, _MAX_FILE)
    if data is None or len(data) < _HEADER.size:
        return None
    (magic, size, n, crc, adler, count, itemsize, tlen, olen, pcrc) = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if (
        magic != _MAGIC
        or (size, n, crc, adler) != _directory_key(records, entries)
        or len(payload) != tlen * itemsize + olen
        or zlib.crc32(payload) != pcrc
        or tlen < 2
        or tlen & (tlen - 1)
        or count > n
    ):
        return None
    if itemsize not in (4, 8):
        return None
    table = memoryview(bytearray(payload[: tlen * itemsize])).cast("I" if itemsize == 4 else "Q")
    try:
        others = marshal.loads(payload[tlen * itemsize :])
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(others, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and 0 <= v < len(records)
        for k, v in others.items()
    ):
        return None
    return table, others, count


def store(archive: str, records: bytes, entries: int, built: Table) -> None:
    """Save *built* for the next open of this archive (silently skipped on failure)."""
    path = _path(archive)
    if path is None:
        return
    table, others, count = built
    payload = table.tobytes() + marshal.dumps(others)
    header = _HEADER.pack(
        _MAGIC,
        *_directory_key(records, entries),
        count,
        table.itemsize,
        len(table),
        len(payload) - len(table) * table.itemsize,
        zlib.crc32(payload),
    )
    atomic_write(path, header + payload)

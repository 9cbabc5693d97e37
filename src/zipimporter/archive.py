"""Archive bytes -> directory index: our own reader of the ZIP format.

Only what importing needs: find the end-of-central-directory record (after an
archive comment, with or without ZIP64 records, with data prepended as in a
``.pyz`` with a ``#!`` line), index the central directory by member name, and
read one member with its local header checked against the central directory
and its CRC-32 verified.

An archive need not be a whole file: a :class:`Source` says where its bytes
are when they are a window of a file (an archive stored inside another, read
in place), or bytes in memory (an archive decompressed from another, or given
to ``zipimporter.from_bytes``).  Every offset in the archive is then relative
to the window, and no read goes outside it.

The index keeps the central directory bytes and a ``name -> record offset``
dict; a member's other fields are decoded only when it is looked up, so opening
a big archive costs one read and one short loop.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

from . import environment
from .compression import decompress, where
from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, KeysView
    from typing import IO

__all__ = [
    "ARCHIVE_KEEPS_CHANGING",
    "DEFAULT_MAX_MEMBER_SIZE",
    "ENCRYPTED",
    "NESTED_UNREADABLE",
    "NOT_AN_ARCHIVE_MEMBER",
    "ArchiveChanged",
    "DirectoryIndex",
    "KeptFile",
    "Layout",
    "Member",
    "Source",
    "build_table",
    "check_same_file",
    "locate",
    "max_member_size",
    "nested_source",
    "read_central_directory",
    "read_directory",
    "read_member",
    "same_file",
]

SEP = os.sep

# -- The records we read, field by field (PKWARE APPNOTE.TXT) ------------------------------
#
# Each table lists a record's fields in file order: byte offset, size, index
# in the tuple its struct unpacks to, field.  ``*_AT`` constants are byte
# offsets into a record; the other field constants are tuple indexes.  All
# integers are little-endian.  (CPython's Lib/zipimport.py names its fields
# beside their offsets the same way.)
#
# End of central directory record (APPNOTE 4.3.16):
#    0  4   0  signature "PK\5\6"
#    4  2   1  number of this disk
#    6  2   2  disk where the central directory starts
#    8  2   3  central directory records on this disk
#   10  2   4  central directory records in total
#   12  4   5  size of the central directory
#   16  4   6  offset of the central directory (relative to the ZIP data)
#   20  2   7  comment length
#   22         comment
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD_SIG = b"PK\x05\x06"
_EOCD_COMMENT_LEN = 7
#
# ZIP64 end of central directory locator (APPNOTE 4.3.15), right before the
# end record:
#    0  4   0  signature "PK\6\7"
#    4  4   1  disk with the ZIP64 end record
#    8  8   2  offset of the ZIP64 end record (relative to the ZIP data)
#   16  4   3  total number of disks
_LOCATOR64 = struct.Struct("<IIQI")
_LOCATOR64_SIG = 0x07064B50
#
# ZIP64 end of central directory record (APPNOTE 4.3.14), usually right
# before the locator; its fields replace the end record's:
#    0  4   0  signature "PK\6\6"
#    4  8   1  size of the rest of this record
#   12  2   2  version made by
#   14  2   3  version needed to extract
#   16  4   4  number of this disk
#   20  4   5  disk where the central directory starts
#   24  8   6  central directory records on this disk
#   32  8   7  central directory records in total
#   40  8   8  size of the central directory
#   48  8   9  offset of the central directory (relative to the ZIP data)
#   56         extensible data (not read)
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_EOCD64_SIG = 0x06064B50
#
# Central directory file header (APPNOTE 4.3.12), one per member, back to back:
#    0  4   0  signature "PK\1\2"
#    4  2   1  version made by
#    6  2   2  version needed to extract
#    8  2   3  general purpose flags (FLAG_*)
#   10  2   4  compression method
#   12  2   5  last modification time (DOS)
#   14  2   6  last modification date (DOS)
#   16  4   7  CRC-32
#   20  4   8  compressed size       (0xFFFFFFFF: in the ZIP64 extra field)
#   24  4   9  uncompressed size     (0xFFFFFFFF: in the ZIP64 extra field)
#   28  2  10  file name length
#   30  2  11  extra field length
#   32  2  12  file comment length
#   34  2  13  disk number where the member starts
#   36  2  14  internal file attributes
#   38  4  15  external file attributes
#   42  4  16  local header offset   (0xFFFFFFFF: in the ZIP64 extra field)
#   46         file name, extra field, file comment
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_CENTRAL_SIG = 0x02014B50
(
    _CD_SIGNATURE, _CD_VERSION_MADE_BY, _CD_VERSION_NEEDED, _CD_FLAGS, _CD_METHOD, _CD_TIME,
    _CD_DATE, _CD_CRC, _CD_COMPRESSED_SIZE, _CD_FILE_SIZE, _CD_NAME_LEN, _CD_EXTRA_LEN,
    _CD_COMMENT_LEN, _CD_DISK_START, _CD_INTERNAL_ATTR, _CD_EXTERNAL_ATTR, _CD_HEADER_OFFSET,
) = range(17)  # fmt: skip
_CD_FLAGS_AT = 8
_CD_COMPRESSED_SIZE_AT = 20
_CD_NAME_LEN_AT = 28
_CD_EXTRA_LEN_AT = 30
_CD_COMMENT_LEN_AT = 32
_CD_HEADER_OFFSET_AT = 42
_CD_HEADER_SIZE = _CENTRAL.size  # 46
_CD_NAME_AT = _CD_HEADER_SIZE
# The fields build_table needs, in one unpack: signature (at 0), compressed
# size (20), name, extra and comment lengths (28, 30, 32), local header offset (42).
_CENTRAL_LENGTHS = struct.Struct("<I16xI4xHHH8xI")
# The lengths a walk over the names needs: name, extra and comment (at 28, 30, 32).
_CENTRAL_NAME_LENGTHS = struct.Struct("<28xHHH")
#
# Local file header (APPNOTE 4.3.7), before each member's data:
#    0  4   0  signature "PK\3\4"
#    4  2   1  version needed to extract
#    6  2   2  general purpose flags (FLAG_*)
#    8  2   3  compression method
#   10  2   4  last modification time (DOS)
#   12  2   5  last modification date (DOS)
#   14  4   6  CRC-32                (0 with FLAG_DATA_DESCRIPTOR)
#   18  4   7  compressed size       (0 with FLAG_DATA_DESCRIPTOR; 0xFFFFFFFF: ZIP64)
#   22  4   8  uncompressed size     (0 with FLAG_DATA_DESCRIPTOR; 0xFFFFFFFF: ZIP64)
#   26  2   9  file name length
#   28  2  10  extra field length
#   30         file name, extra field, then the member's data
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIG = 0x04034B50
_LOCAL_HEADER_SIZE = _LOCAL.size  # 30
_LOCAL_NAME_LEN_AT = 26
_LOCAL_LENGTHS = struct.Struct("<HH")  # name and extra field lengths, at 26
#
# Extra fields (APPNOTE 4.5.1), back to back in a header's extra field:
#    0  2      header ID
#    2  2      size of the data that follows
#    4         data
# The ZIP64 extended information extra field (APPNOTE 4.5.3), header ID
# 0x0001, holds 8-byte values for exactly the fields that overflowed, in this
# order: uncompressed size, compressed size, local header offset (then a
# 4-byte disk number, not read).
_EXTRA_HEADER = struct.Struct("<HH")
_ZIP64_EXTRA = 0x0001
_MAX_COMMENT = 0xFFFF
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
# Bytes read past the data's expected end in the one read of a member, to
# cover a local extra field that differs from the central one.
_LOCAL_SLACK = 64

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800


class _Record:
    """Named fields on plain slots (``typing``/``collections`` would cost import time)."""

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self.__slots__
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Layout(_Record):
    """Where the central directory is, as found from the archive's end."""

    __slots__ = ("file_size", "cd_start", "cd_size", "entries", "prepended", "comment", "zip64")

    def __init__(
        self,
        file_size: int,
        cd_start: int,
        cd_size: int,
        entries: int,
        prepended: int,
        comment: bytes,
        zip64: bool,
    ) -> None:
        self.file_size = file_size
        self.cd_start = cd_start  # absolute file offset of the central directory
        self.cd_size = cd_size
        self.entries = entries
        self.prepended = prepended  # bytes before the ZIP data, e.g. a ``#!`` line
        self.comment = comment
        self.zip64 = zip64


class Member(_Record):
    """One central directory entry, decoded on lookup."""

    __slots__ = (
        "name", "raw_name", "method", "flags", "crc", "compressed_size", "file_size",
        "header_offset", "dos_time", "dos_date",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        raw_name: bytes,
        method: int,
        flags: int,
        crc: int,
        compressed_size: int,
        file_size: int,
        header_offset: int,
        dos_time: int,
        dos_date: int,
    ) -> None:
        self.name = name  # as in the index: '/' replaced by os.sep
        self.raw_name = raw_name
        self.method = method
        self.flags = flags
        self.crc = crc
        self.compressed_size = compressed_size
        self.file_size = file_size
        self.header_offset = header_offset  # absolute file offset of the local header
        self.dos_time = dos_time
        self.dos_date = dos_date

    @property
    def is_dir(self) -> bool:
        return self.name.endswith(SEP)


#: The limit when ``ZIPIMPORTER_MAX_MEMBER_SIZE`` is unset or invalid: 1 GiB.
DEFAULT_MAX_MEMBER_SIZE = 1 << 30

#: Names the setting in the "too big" error, so a user knows what to change.
MEMBER_TOO_BIG = (
    "member declares {size} bytes, more than the limit of {limit} "
    "(ZIPIMPORTER_MAX_MEMBER_SIZE): {where}"
)


def max_member_size() -> int:
    """The most uncompressed bytes a member may declare: ``$ZIPIMPORTER_MAX_MEMBER_SIZE``.

    Read at each use, as the cache settings are, so changing the variable
    takes effect without re-importing anything.  A value that isn't a
    non-negative integer means :data:`DEFAULT_MAX_MEMBER_SIZE`.
    """
    value = environment.get("ZIPIMPORTER_MAX_MEMBER_SIZE")  # every member read asks
    if value is None:
        return DEFAULT_MAX_MEMBER_SIZE
    try:
        limit = int(value)
    except ValueError:
        return DEFAULT_MAX_MEMBER_SIZE
    return limit if limit >= 0 else DEFAULT_MAX_MEMBER_SIZE


class ArchiveChanged(Exception):  # noqa: N818  (a signal, not an error users see)
    """Internal signal: the archive on disk is no longer the one that was indexed.

    Deliberately not an ``ImportError``: no ``except ImportError`` (or
    ``except ZipImportError``) around a read can swallow it.  Only
    :func:`check_same_file` and :func:`read_member` with *expect* raise it,
    and only the importer passes *expect*: its ``_retry_if_changed`` reads
    the directory again and redoes the operation, and turns a second change
    into a :class:`ZipImportError` naming the archive.
    """

    def __init__(self, archive: str) -> None:
        super().__init__(f"archive changed since it was indexed: {archive!r}")
        self.archive = archive


def same_file(st: os.stat_result, expect: os.stat_result) -> bool:
    """Whether *st* is the file *expect* described, unmodified since.

    ctime is in the key because any write changes it and utime can't set it.
    """
    return stat_key(st) == stat_key(expect)


def stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What :func:`same_file` compares: inode, device, size, mtime and ctime (ns)."""
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def check_same_file(archive: str, st: os.stat_result, expect: os.stat_result) -> None:
    """Raise :class:`ArchiveChanged` unless *st* (of *archive* now) is the file *expect* was."""
    if not same_file(st, expect):
        raise ArchiveChanged(archive)


#: The archive changed on disk again while an operation was being redone for a change.
ARCHIVE_KEEPS_CHANGING = "archive changed on disk twice while being read: {archive!r}"

#: A directory member asked to be opened as an archive (``outer.zip/dir/``).
NOT_AN_ARCHIVE_MEMBER = "can't open directory {member!r} of {outer!r} as an archive: {archive!r}"
#: A member with the encryption flag (``where`` names the member and its archive).
ENCRYPTED = "encrypted members are not supported: {where}"


def _fail(archive: str, what: str) -> ZipImportError:
    return ZipImportError(f"{what}: {archive!r}", path=archive)


def _member_error(what: str, member: Member, archive: str) -> ZipImportError:
    """The error *what* about *member* of *archive*, naming both."""
    return ZipImportError(f"{what}: {where(member.name, archive)}", path=archive)


class Source:
    """Where an archive's bytes are, when they are not simply the file at its path.

    The archive is bytes ``[base, base + size)`` of *buffer* (bytes in memory)
    or, without one, of the file *file*.  *file* is also the file whose stat
    (*stat*, taken when the source was made) says whether the archive may
    have changed: None for bytes given in memory, which never change.
    """

    __slots__ = ("base", "buffer", "file", "size", "stat")

    def __init__(
        self,
        file: str | None,
        buffer: memoryview | None,
        base: int,
        size: int,
        stat: os.stat_result | None,
    ) -> None:
        self.file = file
        self.buffer = buffer
        self.base = base
        self.size = size
        self.stat = stat

    def __repr__(self) -> str:
        where = "memory" if self.buffer is not None else repr(self.file)
        return f"Source({where}, base={self.base}, size={self.size})"


class _Window:
    """A read-only file over a :class:`Source`: offsets relative to its base, nothing past its end.

    *fp* is the open file when the source has no buffer.  Reads from a buffer
    copy only the bytes asked for.
    """

    __slots__ = ("_base", "_buffer", "_fp", "_pos", "_size")

    def __init__(self, source: Source, fp: IO[bytes] | None) -> None:
        self._fp = fp
        self._buffer = source.buffer
        self._base = source.base
        self._size = source.size
        self._pos = 0

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:
            pos += self._size
        elif whence == os.SEEK_CUR:
            pos += self._pos
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        start = self._pos
        end = self._size if n < 0 else min(self._size, start + n)
        if end <= start:
            return b""
        if self._buffer is not None:
            data = bytes(self._buffer[self._base + start : self._base + end])
        else:
            assert self._fp is not None
            self._fp.seek(self._base + start)
            data = self._fp.read(end - start)
        self._pos = start + len(data)
        return data


def locate(fp: io.BufferedIOBase | _Window, archive: str) -> Layout:
    """Find and check the end-of-central-directory records of an open archive.

    ZipImportError (``path`` = *archive*) is raised when the file can't be
    read, has no end record ("not a Zip file"), has ZIP64 sizes without a
    ZIP64 locator or a locator whose ZIP64 end record isn't there, spans
    several disks, or declares a central directory that can't fit before
    the end record.
    """
    try:
        file_size = fp.seek(0, os.SEEK_END)
        tail_len = min(file_size, _EOCD.size + _MAX_COMMENT + _LOCATOR64.size + _EOCD64.size)
        tail_start = file_size - tail_len
        fp.seek(tail_start)
        tail = fp.read(tail_len)
    except OSError as exc:
        raise _fail(archive, f"can't read Zip file ({exc.strerror or exc})") from None
    if len(tail) != tail_len:
        raise _fail(archive, "can't read Zip file (short read)")

    # The record whose comment length reaches exactly to the end of the file
    # wins; a comment may itself contain the signature.  Failing that, accept
    # the last signature found, as the stdlib does (some tools append junk).
    pos = best = tail.rfind(_EOCD_SIG)
    while pos >= 0:
        if pos + _EOCD.size <= tail_len:
            if best < 0 or best + _EOCD.size > tail_len:
                best = pos
            if pos + _EOCD.size + _EOCD.unpack_from(tail, pos)[_EOCD_COMMENT_LEN] == tail_len:
                best = pos
                break
        pos = tail.rfind(_EOCD_SIG, 0, pos)
    if best < 0 or best + _EOCD.size > tail_len:
        raise _fail(archive, "not a Zip file")
    (_, disk, cd_disk, _, entries, cd_size, cd_offset, comment_len) = _EOCD.unpack_from(tail, best)
    comment = tail[best + _EOCD.size : best + _EOCD.size + comment_len]
    eocd_at = tail_start + best
    cd_end = eocd_at

    zip64 = False
    loc_at = best - _LOCATOR64.size
    if loc_at >= 0 and _LOCATOR64.unpack_from(tail, loc_at)[0] == _LOCATOR64_SIG:
        _, _, eocd64_offset, _ = _LOCATOR64.unpack_from(tail, loc_at)
        record = _read_eocd64(fp, tail, tail_start, loc_at, eocd64_offset, archive)
        (_, _, _, _, disk, cd_disk, _, entries, cd_size, cd_offset), cd_end = record
        zip64 = True
    elif _U32 in (cd_size, cd_offset):
        raise _fail(archive, "ZIP64 sizes in the end record but no ZIP64 locator")
    if disk != 0 or cd_disk != 0:
        raise _fail(archive, "multi-disk Zip files are not supported")

    cd_start = cd_end - cd_size
    if cd_start < 0:
        raise _fail(archive, "bad central directory size")
    prepended = cd_start - cd_offset
    if prepended < 0:
        raise _fail(archive, "bad central directory size or offset")
    return Layout(file_size, cd_start, cd_size, entries, prepended, comment, zip64)


def _read_eocd64(
    fp: io.BufferedIOBase | _Window,
    tail: bytes,
    tail_start: int,
    loc_at: int,
    offset: int,
    archive: str,
) -> tuple[tuple[int, ...], int]:
    """Return the ZIP64 end record's fields and its absolute position."""
    # Usually right before the locator; the locator's own offset is relative
    # to the ZIP data and so misses by the length of any prepended bytes.
    guess = loc_at - _EOCD64.size
    if guess >= 0 and _EOCD64.unpack_from(tail, guess)[0] == _EOCD64_SIG:
        return _EOCD64.unpack_from(tail, guess), tail_start + guess
    try:
        fp.seek(offset)
        buf = fp.read(_EOCD64.size)
    except (OSError, OverflowError, ValueError):
        buf = b""
    if len(buf) == _EOCD64.size and _EOCD64.unpack(buf)[0] == _EOCD64_SIG:
        return _EOCD64.unpack(buf), offset
    raise _fail(archive, "corrupt Zip64 file: ZIP64 end record not found")


def _decode_name(raw: bytes, flags: int, archive: str) -> str:
    if flags & FLAG_UTF8:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(archive, f"invalid UTF-8 member name {raw!r}") from None
    else:
        try:
            name = raw.decode("ascii")
        except UnicodeDecodeError:
            name = raw.decode("cp437")
    return name if SEP == "/" else name.replace("/", SEP)


class DirectoryIndex:
    """The members of one archive by name (``os.sep``-separated, as in the stdlib).

    It keeps the central directory bytes and an open-addressing hash table (a
    ``memoryview`` of uint32 or uint64) from the CRC-32 of each member's raw
    name to its record, so no per-member Python objects exist until a member
    is looked up; names that
    are neither ASCII nor flagged UTF-8 (cp437) sit in a small dict.  Later
    duplicates of a name win, as in the stdlib's dict.

    Lookups raise as a dict's do, plus ZipImportError (``path`` = the
    archive) where the directory turns out to be damaged only when a member
    is decoded: ``get()`` and ``[]`` when the member's ZIP64 extra field is
    too short for its overflowed fields or its data would lie past the start
    of the central directory; ``keys()`` (and iterating, ``items()``,
    ``values()``) when a name flagged UTF-8 isn't.  ``in``, ``len()`` and
    :meth:`is_dir` never raise.

    The mapping holds the central directory's members only, as the stdlib's
    directory on 3.11-3.13 does; directories that exist only as a prefix of
    member names (implicit directories, which CPython 3.14 adds to its
    directory) are answered by :meth:`is_dir`.

    *source* is where the archive's bytes are when they aren't the whole file
    at *archive* (see :class:`Source`); *stat* is the stat of the file whose
    change means the archive may have changed (the outer file of a nested
    archive; None in memory).
    """

    __slots__ = (
        "_count", "_dirs", "_mask", "_others", "_records", "_table", "archive", "layout",
        "memo", "source", "stat",
    )  # fmt: skip

    def __init__(
        self,
        archive: str,
        layout: Layout,
        records: bytes,
        table: memoryview | dict[bytes, int],
        count: int,
        stat: os.stat_result | None = None,
        source: Source | None = None,
    ) -> None:
        self.archive = archive
        self.layout = layout
        self.stat = stat
        self.source = source
        #: Facts its users derive from this index, once (e.g. "has extension modules").
        self.memo: dict[str, object] = {}
        self._dirs: set[str] | None = None  # implicit directories, built when needed
        self._records = records
        self._table = table
        self._mask = len(table) - 1
        self._others: dict[str, int] | None = None  # cp437 names, built when needed
        self._count = count

    def kept_file(self) -> KeptFile:
        """The archive's file kept open for this index's reads (see :class:`KeptFile`)."""
        kept = self.memo.get("kept")
        if kept is None:
            kept = self.memo["kept"] = KeptFile()
        return kept  # type: ignore[return-value]

    def _find(self, name: object) -> int:
        """The offset of *name*'s central directory record, or -1."""
        if type(name) is not str and not isinstance(name, str):
            return -1
        try:
            raw = (name if SEP == "/" else name.replace(SEP, "/")).encode()
        except UnicodeEncodeError:
            return -1
        table = self._table
        if isinstance(table, dict):  # a flooded archive, see build_table
            return self._find_flooded(name, raw, table)
        # The hot path of every import (four probes a module): inlined.
        rec = self._records
        n = len(raw)
        mask = self._mask
        h = zlib.crc32(raw) & mask
        while slot := table[h]:
            at = slot - 1 + _CD_NAME_AT
            if (
                rec[at : at + n] == raw
                # the whole name, not a prefix: the record's name length
                and rec[at - _NAME_AT_FROM_LEN] | rec[at - _NAME_AT_FROM_LEN + 1] << 8 == n
                # Non-ASCII bytes mean UTF-8 only with the flag; else cp437.
                and (raw.isascii() or _flags(rec, slot - 1) & FLAG_UTF8)
            ):
                return slot - 1
            h = (h + 1) & mask
        return -1 if raw.isascii() else self._find_cp437(name)

    def _find_flooded(self, name: str, raw: bytes, table: dict[bytes, int]) -> int:
        """:meth:`_find` in the dict index of an archive whose names collide."""
        pos = table.get(raw, -1)
        if pos >= 0 and (raw.isascii() or _flags(self._records, pos) & FLAG_UTF8):
            return pos
        return self._find_cp437(name) if not raw.isascii() else -1

    def _find_cp437(self, name: str) -> int:
        if self._others is None:
            self._others = self._cp437_names()
        return self._others.get(name, -1)

    def _cp437_names(self) -> dict[str, int]:
        """Non-ASCII names stored without the UTF-8 flag, decoded (rare; read on demand)."""
        found = {}
        for pos, flags, raw in self._raw_names():
            if not flags & FLAG_UTF8 and not raw.isascii():
                found[_decode_name(raw, flags, self.archive)] = pos
        return found

    def _raw_names(self) -> Iterator[tuple[int, int, bytes]]:
        rec = self._records
        for pos, fields in _walk(rec, self.layout.entries):
            at = pos + _CD_NAME_AT
            yield pos, fields[_CD_FLAGS], rec[at : at + fields[_CD_NAME_LEN]]

    def __contains__(self, name: object) -> bool:
        return self._find(name) >= 0

    def extra(self, name: str) -> bytes:
        """The central directory extra field of member *name* (``b""`` if it isn't one).

        Never raises: for a record whose lengths run past the directory, what
        is there is returned.
        """
        pos = self._find(name)
        if pos < 0:
            return b""
        rec = self._records
        nlen, elen, _ = _CENTRAL_NAME_LENGTHS.unpack_from(rec, pos)
        at = pos + _CD_NAME_AT + nlen
        return bytes(rec[at : at + elen])

    def is_dir(self, name: str) -> bool:
        """Whether *name* (ending with ``os.sep``) is a directory of the archive.

        A directory entry of its own, or an implicit directory: the parent
        of a member (at any depth) with no entry of its own, as CPython 3.14's
        zipimport counts them (gh-59110).  The implicit ones are derived from
        the names once per index, the first time a name isn't an entry, or
        come from a saved list (:meth:`keep_dirs`).
        """
        if self._find(name) >= 0:
            return True
        dirs = self._dirs
        if dirs is None:
            dirs = self._dirs = self._saved_or_implicit_dirs()
        return name in dirs

    def keep_dirs(
        self,
        load: Callable[[], set[str] | None],
        save: Callable[[set[str]], None],
    ) -> None:
        """Where the implicit directories are kept between runs (the first ``is_dir`` miss).

        *load* gives the saved list, or None; without one they are derived
        from the names and handed to *save*.  Both must be quiet: they run
        inside imports.
        """
        self.memo["dirs"] = (load, save)

    def _saved_or_implicit_dirs(self) -> set[str]:
        kept = self.memo.get("dirs")
        if not isinstance(kept, tuple):
            return self._implicit_dirs()
        load, save = kept
        dirs: set[str] | None = load()
        if dirs is None:
            dirs = self._implicit_dirs()
            save(dirs)
        return dirs

    def _implicit_dirs(self) -> set[str]:
        """Every parent directory of every name, as CPython 3.14's ``_read_directory`` adds them.

        One pass over the records (about a third of what opening costs per
        entry): a name's parent is sliced from the records only when it
        differs from the previous name's, and its own parents are walked only
        when it is new.  Names that can't be decoded imply no directory a
        ``str`` could name.
        """
        rec = self._records
        scan = _CENTRAL_NAME_LENGTHS.unpack_from
        found: dict[bytes, int] = {}  # raw directory name -> record of a name implying it
        last = b""
        pos = 0
        try:
            for _ in range(self.layout.entries):
                nlen, elen, clen = scan(rec, pos)
                start = pos + _CD_NAME_AT
                end = start + nlen
                record, pos = pos, end + elen + clen
                while end > start and rec[end - 1] == 0x2F:  # a directory's own '/'s
                    end -= 1
                i = rec.rfind(b"/", start, end)
                if i < 0:
                    continue
                parent = rec[start : i + 1]
                if parent == last:
                    continue
                last = parent
                while parent not in found:
                    found[parent] = record
                    i = parent.rstrip(b"/").rfind(b"/")
                    if i < 0:
                        break
                    parent = parent[: i + 1]
        except struct.error:
            pass  # build_table has checked the records this far
        dirs = set()
        for raw, record in found.items():
            try:
                dirs.add(_decode_name(raw, _flags(rec, record), self.archive))
            except ZipImportError:
                continue
        return dirs

    def get(self, name: str, default: Member | None = None) -> Member | None:
        pos = self._find(name)
        return default if pos < 0 else self._member(pos, name)

    def items(self) -> Iterator[tuple[str, Member]]:
        return ((name, self[name]) for name in self)

    def values(self) -> Iterator[Member]:
        return (self[name] for name in self)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> KeysView[str]:
        """The member names, decoded now (the index itself keeps only bytes)."""
        return dict.fromkeys(self._names()).keys()

    def _names(self) -> Iterator[str]:
        for _, flags, raw in self._raw_names():
            yield _decode_name(raw, flags, self.archive)

    def __getitem__(self, name: str) -> Member:
        pos = self._find(name)
        if pos < 0:
            raise KeyError(name)
        return self._member(pos, name)

    def _member(self, pos: int, name: str) -> Member:
        rec = self._records
        fields = _CENTRAL.unpack_from(rec, pos)
        usize = fields[_CD_FILE_SIZE]
        csize = fields[_CD_COMPRESSED_SIZE]
        offset = fields[_CD_HEADER_OFFSET]
        if _U32 in (csize, usize, offset):
            usize, csize, offset = _sizes(rec, pos, fields, name, self.archive)
        name_at = pos + _CD_NAME_AT
        nlen = fields[_CD_NAME_LEN]
        layout = self.layout
        header_offset = offset + layout.prepended
        if header_offset + _LOCAL_HEADER_SIZE + nlen + csize > layout.cd_start:
            raise _fail(
                self.archive, f"member {name!r} lies past the start of the central directory"
            )
        return Member(
            name,
            rec[name_at : name_at + nlen],
            fields[_CD_METHOD],
            fields[_CD_FLAGS],
            fields[_CD_CRC],
            csize,
            usize,
            header_offset,
            fields[_CD_TIME],
            fields[_CD_DATE],
        )


def _walk(records: bytes, count: int) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(offset, unpacked fixed fields) of each of the first *count* central records."""
    pos = 0
    for _ in range(count):
        fields = _CENTRAL.unpack_from(records, pos)
        yield pos, fields
        pos += (
            _CD_HEADER_SIZE + fields[_CD_NAME_LEN] + fields[_CD_EXTRA_LEN] + fields[_CD_COMMENT_LEN]
        )


def _sizes(
    records: bytes, pos: int, fields: tuple[int, ...], name: object, archive: str
) -> tuple[int, int, int]:
    """A central record's (uncompressed size, compressed size, local header offset).

    Where a 32-bit field overflowed (0xFFFFFFFF), the value is in the ZIP64
    extra field: only the overflowed ones are there, in this order (APPNOTE 4.5.3).
    ZipImportError is raised when that extra field is too short for them.
    """
    csize = fields[_CD_COMPRESSED_SIZE]
    usize = fields[_CD_FILE_SIZE]
    offset = fields[_CD_HEADER_OFFSET]
    if _U32 not in (csize, usize, offset):
        return usize, csize, offset
    extra_at = pos + _CD_NAME_AT + fields[_CD_NAME_LEN]
    extra = records[extra_at : extra_at + fields[_CD_EXTRA_LEN]]
    i = 0
    while i + _EXTRA_HEADER.size <= len(extra):
        tag, size = _EXTRA_HEADER.unpack_from(extra, i)
        body = extra[i + _EXTRA_HEADER.size : i + _EXTRA_HEADER.size + size]
        if len(body) != size:
            break
        if tag == _ZIP64_EXTRA:
            values = [v[0] for v in struct.iter_unpack("<Q", body[: size - size % 8])]
            try:
                if usize == _U32:
                    usize = values.pop(0)
                if csize == _U32:
                    csize = values.pop(0)
                if offset == _U32:
                    offset = values.pop(0)
            except IndexError:
                raise _fail(archive, f"ZIP64 extra field too short for {name!r}") from None
            return usize, csize, offset
        i += _EXTRA_HEADER.size + size
    # No ZIP64 extra: the 0xFFFFFFFF values are taken literally.
    return usize, csize, offset


def _open(path: str, archive: str | None = None) -> io.BufferedReader:
    """*path* opened for reading; if it can't be, ZipImportError naming *archive* (or *path*)."""
    try:
        return io.open_code(path)  # type: ignore[return-value]
    except (OSError, ValueError):
        raise _fail(path if archive is None else archive, "can't open Zip file") from None


def read_central_directory(
    archive: str, source: Source | None = None
) -> tuple[Layout, bytes, os.stat_result | None]:
    """The end records, the central directory's bytes and the stat of *archive*.

    One open, the reads of :func:`locate`, and one read of the whole central
    directory.  ZipImportError (``path`` = *archive*) is raised when the file
    can't be opened or read, when :func:`locate` raises, and when the file
    ends before the central directory does.

    With a *source*, the archive is read from there (offsets relative to its
    window) and the stat returned is the source's (None for bytes in memory);
    :class:`ArchiveChanged` is raised if the source's file is no longer the
    one it was made from.
    """
    if source is not None:
        return _read_central_directory_in(archive, source)
    with _open(archive) as fp:
        # GH-87235: restore the offset, as the stdlib does, in case the file
        # descriptor is shared (/dev/fd/N).
        start = fp.tell()
        try:
            st = os.fstat(fp.fileno())
            layout = locate(fp, archive)
            try:
                fp.seek(layout.cd_start)
                records = fp.read(layout.cd_size)
            except OSError as exc:
                raise _fail(archive, f"can't read Zip file ({exc.strerror or exc})") from None
        finally:
            try:
                fp.seek(start)
            except OSError:
                pass
    if len(records) != layout.cd_size:
        raise _fail(archive, "truncated central directory")
    return layout, records, st


def _read_central_directory_in(
    archive: str, source: Source
) -> tuple[Layout, bytes, os.stat_result | None]:
    """:func:`read_central_directory` of an archive that is a window of a file or buffer."""
    try:
        if source.buffer is not None:
            if source.file is not None and source.stat is not None:
                check_same_file(archive, os.stat(source.file), source.stat)
            window = _Window(source, None)
            layout = locate(window, archive)
            window.seek(layout.cd_start)
            records = window.read(layout.cd_size)
        else:
            assert source.file is not None
            with _open(source.file, archive) as fp:
                if source.stat is not None:
                    check_same_file(archive, os.fstat(fp.fileno()), source.stat)
                window = _Window(source, fp)
                layout = locate(window, archive)
                window.seek(layout.cd_start)
                records = window.read(layout.cd_size)
    except OSError as exc:
        raise _fail(archive, f"can't read Zip file ({exc.strerror or exc})") from None
    if len(records) != layout.cd_size:
        raise _fail(archive, "truncated central directory")
    return layout, records, source.stat


def read_directory(archive: str) -> DirectoryIndex:
    """Read the central directory of *archive* into a :class:`DirectoryIndex`.

    The parser alone: it never looks at the saved index (the importer opens
    archives through ``directory.open_index``, which does).  ZipImportError
    (``path`` = *archive*) is raised as by :func:`read_central_directory`
    and :func:`build_table`.
    """
    layout, records, st = read_central_directory(archive)
    table, count = build_table(records, layout, archive)
    return DirectoryIndex(archive, layout, records, table, count, st)


# From a record's name back to its name length field.
_NAME_AT_FROM_LEN = _CD_NAME_AT - _CD_NAME_LEN_AT


def _flags(records: bytes, pos: int) -> int:
    return records[pos + _CD_FLAGS_AT] | records[pos + _CD_FLAGS_AT + 1] << 8


def build_table(
    records: bytes, layout: Layout, archive: str
) -> tuple[memoryview | dict[bytes, int], int]:
    """Hash the central directory's raw names: (table, number of distinct names).

    The table has a power-of-two size at least twice the entry count, so the
    probe loops always end; each slot holds a record offset + 1 (0 is empty).
    This loop is the whole cost of opening an archive, so it does only what
    must be done per entry; names are decoded when they are looked up.

    It also rejects members whose data overlap (the overlapping-entry zip
    bomb) or run into the central directory: checked in passing while the
    records come in file order, as writers produce them, else by a sort.

    ZipImportError (``path`` = *archive*) is raised when a record is
    truncated or runs past the directory's end, when the directory holds
    fewer records than the end record declares, when members overlap or run
    into the central directory, and when an overflowed size or offset has a
    ZIP64 extra field too short for it.
    """
    entries = layout.entries
    size = len(records)
    limit = min(entries, size // _CD_HEADER_SIZE)
    slots = 1 << max(limit * 2 - 1, 1).bit_length()
    mask = slots - 1
    # memoryview.cast rather than array: importing array imports collections.
    typecode = "I" if size < _U32 else "Q"
    table = memoryview(bytearray(slots * (4 if typecode == "I" else 8))).cast(typecode)  # type: ignore[call-overload]
    scan = _CENTRAL_LENGTHS.unpack_from
    crc32 = zlib.crc32
    # The loop's constants as locals (as cheap as literals, and named).
    central_sig = _CENTRAL_SIG
    name_at = _CD_NAME_AT
    name_len_at = _CD_NAME_LEN_AT
    local_header_size = _LOCAL_HEADER_SIZE
    pos = duplicates = count = free = csize = offset = 0
    # CRC-32 is not keyed: names forged to collide would make linear probing
    # quadratic.  Past this many extra probes (random names need ~2 per entry
    # at this load) the archive is indexed with a dict instead.
    probe_budget = 8 * limit + 1024
    in_order = True
    try:
        for count in range(limit):  # noqa: B007  (count is used after the loop)
            sig, csize, nlen, elen, clen, offset = scan(records, pos)
            if sig != central_sig:
                break
            if offset < free:
                in_order = False
            # A ZIP64 placeholder (0xFFFFFFFF) makes free huge, so the next
            # member fails the test above; the last one is checked below.
            free = offset + local_header_size + nlen + csize
            start = pos + name_at
            end = start + nlen
            raw = records[start:end]
            h = crc32(raw) & mask
            while slot := table[h]:
                other = slot - 1
                if (
                    records[other + name_at : other + name_at + nlen] == raw
                    and (records[other + name_len_at] | records[other + name_len_at + 1] << 8)
                    == nlen
                ):
                    duplicates += 1
                    break
                h = (h + 1) & mask
                probe_budget -= 1
                if probe_budget < 0:
                    return _flooded(records, layout, archive)
            table[h] = pos + 1
            pos = end + elen + clen
        else:
            count = limit
    except struct.error:
        raise _fail(archive, f"truncated central directory entry #{count}") from None
    if pos > size:
        raise _fail(archive, f"central directory entry #{count - 1} runs past its end")
    if count != entries:
        raise _fail(archive, f"mismatched num_entries: {count} should be {entries}")
    if count and _U32 in (csize, offset):
        in_order = False
    if not in_order:
        free = _check_extents(records, count, archive)
    if free > layout.cd_start - layout.prepended:
        raise _fail(archive, "member data runs into the central directory")
    return table, count - duplicates


def _flooded(records: bytes, layout: Layout, archive: str) -> tuple[dict[bytes, int], int]:
    """The index of an archive whose names collide: a dict (keyed, randomised hashing)."""
    table = {
        records[pos + _CD_NAME_AT : pos + _CD_NAME_AT + fields[_CD_NAME_LEN]]: pos
        for pos, fields in _walk(records, layout.entries)
    }
    free = _check_extents(records, layout.entries, archive)
    if free > layout.cd_start - layout.prepended:
        raise _fail(archive, "member data runs into the central directory")
    return table, len(table)


def _check_extents(records: bytes, count: int, archive: str) -> int:
    """Fail if any two members' headers and data overlap; return where the last one ends."""
    extents = []
    for pos, fields in _walk(records, count):
        _, csize, offset = _sizes(records, pos, fields, f"entry at {pos}", archive)
        extents.append((offset, offset + _LOCAL_HEADER_SIZE + fields[_CD_NAME_LEN] + csize))
    extents.sort()
    free = 0
    for start, end in extents:
        if start < free:
            raise _fail(archive, f"overlapping members at offset {start} (a zip bomb?)")
        free = end
    return free


_pread = getattr(os, "pread", None)  # POSIX only; elsewhere each read opens the file


class KeptFile:
    """An archive's file, opened once and read with ``os.pread`` while it is the indexed file.

    A :class:`DirectoryIndex` keeps one (:meth:`DirectoryIndex.kept_file`),
    so importing a module costs one ``os.stat`` of the archive's path and
    one ``pread`` instead of an open, an ``fstat``, a seek, a read and a
    close.  Change detection is the same as opening the file each time:
    the path is stat'ed before every read and compared with the stat the
    index was made from; the descriptor was checked against that same stat
    when it was opened, and while it is open its inode can't be reused, so
    a path that still matches names the very file the descriptor reads.
    The file is closed when the index is dropped.
    """

    __slots__ = ("_expect", "_fp", "_key")

    def __init__(self) -> None:
        self._fp: IO[bytes] | None = None
        self._expect: os.stat_result | None = None
        self._key: tuple[int, int, int, int, int] | None = None

    def read_local(
        self, archive: str, expect: os.stat_result, offset: int, want: int, csize: int
    ) -> bytes:
        """:func:`_read_local` from the kept file (ArchiveChanged, OSError as a fresh open's)."""
        assert _pread is not None
        if expect is not self._expect:  # the index's stat: the same object every read
            self._key, self._expect = stat_key(expect), expect
        if stat_key(os.stat(archive)) != self._key:
            raise ArchiveChanged(archive)
        fp = self._fp
        if fp is None:
            fp = io.open_code(archive)  # noqa: SIM115  (kept open; closed by close())
            try:
                check_same_file(archive, os.fstat(fp.fileno()), expect)
            except BaseException:
                fp.close()
                raise
            if self._fp is None:
                self._fp = fp
            else:  # another thread kept one first: use that one
                fp.close()
                fp = self._fp
        fd = fp.fileno()
        buf = _pread(fd, want, offset)
        if len(buf) >= _LOCAL_HEADER_SIZE:
            lnlen, lelen = _LOCAL_LENGTHS.unpack_from(buf, _LOCAL_NAME_LEN_AT)
            missing = _LOCAL_HEADER_SIZE + lnlen + lelen + csize - len(buf)
            if missing > 0:
                buf += _pread(fd, missing, offset + len(buf))
        return buf

    def close(self) -> None:
        fp, self._fp = self._fp, None
        if fp is not None:
            fp.close()

    def __del__(self) -> None:
        self.close()


def read_member(
    archive: str,
    member: Member,
    expect: os.stat_result | None = None,
    source: Source | None = None,
    kept: KeptFile | None = None,
) -> bytes:
    """Return the uncompressed bytes of *member*, checked against its CRC-32.

    With *expect* (the archive's stat when it was indexed), an archive that
    has been replaced or rewritten since raises :class:`ArchiveChanged` (an
    internal signal, not an ImportError) before any of its bytes are used;
    without it, it is never raised.  With a *source* the member is read from
    there (``DirectoryIndex.source``), never from outside its window, and
    *expect* is compared with the stat of the source's file.  With *kept*
    (and *expect*, no *source*, on POSIX) the member is read from that kept
    file (see :class:`KeptFile`), with the same checks.

    ZipImportError (``path`` = *archive*, the message naming the member and
    the archive) is raised when the member is encrypted, declares more than
    :func:`max_member_size` bytes, can't be read, its local header is
    truncated, has a bad signature or disagrees with the central directory
    (name, method, sizes or CRC-32), its data is truncated, it fails to
    decompress (see :func:`~zipimporter.compression.decompress`), or its
    CRC-32 doesn't match.
    """
    if member.flags & FLAG_ENCRYPTED:
        raise ZipImportError(ENCRYPTED.format(where=where(member.name, archive)), path=archive)
    limit = max_member_size()
    if member.file_size > limit:
        raise ZipImportError(
            MEMBER_TOO_BIG.format(
                size=member.file_size, limit=limit, where=where(member.name, archive)
            ),
            path=archive,
        )
    csize = member.compressed_size
    want = _LOCAL_HEADER_SIZE + len(member.raw_name) + csize + _LOCAL_SLACK
    buf: bytes | memoryview
    try:
        if source is None and kept is not None and expect is not None and _pread is not None:
            buf = kept.read_local(archive, expect, member.header_offset, want, csize)
        elif source is None:
            with io.open_code(archive) as fp:
                if expect is not None:
                    check_same_file(archive, os.fstat(fp.fileno()), expect)
                buf = _read_local(fp, member.header_offset, want, csize)
        else:
            buf = _read_local_in(archive, source, member, want, expect)
    except OSError as exc:
        raise _member_error(
            f"can't read Zip file ({exc.strerror or exc})", member, archive
        ) from None
    data_at = _check_local_header(buf, member, archive)
    raw = memoryview(buf)[data_at : data_at + csize]  # no copy
    if len(raw) != csize:
        raise _member_error("truncated member data", member, archive)
    data = decompress(raw, member.method, member.file_size, path=archive, name=member.name)
    if zlib.crc32(data) != member.crc:
        raise _member_error("bad CRC-32", member, archive)
    return data


def _read_local(fp: IO[bytes] | _Window, offset: int, want: int, csize: int) -> bytes:
    """The local record at *offset*: header, name, extra field and (at most) *csize* data bytes.

    One read of *want* bytes guesses the local extra field's length (as long
    as the central one, plus slack); a longer one costs a second read.
    """
    fp.seek(offset)
    buf = fp.read(want)
    if len(buf) >= _LOCAL_HEADER_SIZE:
        lnlen, lelen = _LOCAL_LENGTHS.unpack_from(buf, _LOCAL_NAME_LEN_AT)
        missing = _LOCAL_HEADER_SIZE + lnlen + lelen + csize - len(buf)
        if missing > 0:
            buf += fp.read(missing)
    return buf


def _read_local_in(
    archive: str, source: Source, member: Member, want: int, expect: os.stat_result | None
) -> bytes | memoryview:
    """:func:`_read_local` of a member of an archive held in *source* (OSError if unreadable).

    From a buffer, a view up to the end of the window: nothing is copied.
    """
    if source.buffer is not None:
        if expect is not None and source.file is not None:
            check_same_file(archive, os.stat(source.file), expect)
        return source.buffer[source.base + member.header_offset : source.base + source.size]
    assert source.file is not None
    with io.open_code(source.file) as fp:
        if expect is not None:
            check_same_file(archive, os.fstat(fp.fileno()), expect)
        window = _Window(source, fp)
        return _read_local(window, member.header_offset, want, member.compressed_size)


def _check_local_header(buf: bytes | memoryview, member: Member, archive: str) -> int:
    """Where the data starts in *buf*, a local record checked against the central directory.

    ZipImportError (``path`` = *archive*) when the header is truncated, its
    signature is wrong, or its name, method, sizes or CRC-32 disagree with
    the central directory's (sizes and CRC only without a data descriptor).
    """
    if len(buf) < _LOCAL_HEADER_SIZE:
        raise _member_error("truncated local file header", member, archive)
    (sig, _, flags, method, _, _, crc, csize, usize, lnlen, lelen) = _LOCAL.unpack_from(buf)
    if sig != _LOCAL_SIG:
        raise _member_error("bad local file header", member, archive)
    if buf[_LOCAL_HEADER_SIZE : _LOCAL_HEADER_SIZE + lnlen] != member.raw_name:
        raise _member_error(
            "local header name does not match the central directory", member, archive
        )
    if method != member.method:
        raise _member_error(
            "local header compression method does not match the central directory", member, archive
        )
    if not flags & FLAG_DATA_DESCRIPTOR and (
        (csize != _U32 and csize != member.compressed_size)
        or (usize != _U32 and usize != member.file_size)
        or crc != member.crc
    ):
        raise _member_error(
            "local header sizes or CRC do not match the central directory", member, archive
        )
    return _LOCAL_HEADER_SIZE + lnlen + lelen


#: An archive inside another (``outer.zip/inner.zip``) whose member can't be read.
NESTED_UNREADABLE = "can't open nested archive {archive!r}: {error}"


def nested_source(index: DirectoryIndex, member: Member, archive: str) -> Source:
    """Where the archive held in *member* of *index* is, for reading it as archive *archive*.

    A stored member is read in place: a window of the same file (or buffer)
    as *index*, starting at the member's data, after its local header has
    been checked; its data is not read (nor its CRC-32 checked) as a whole.
    A compressed member is read with :func:`read_member` (CRC-32 checked,
    at most :func:`max_member_size` bytes) and kept in memory.  Either way
    the source's stat is *index*'s: a change of the outer file is a change
    of the archive inside it.

    ZipImportError (``path`` = *archive*) is raised when the member is a
    directory, or can't be read as :func:`read_member` says (encrypted, ...;
    the message naming *archive*); :class:`ArchiveChanged` when *index*'s
    file has changed since it was indexed.
    """
    outer = index.archive
    if member.is_dir:
        raise ZipImportError(
            NOT_AN_ARCHIVE_MEMBER.format(member=member.name, outer=outer, archive=archive),
            path=archive,
        )
    parent = index.source
    file = outer if parent is None else parent.file
    at = where(member.name, outer)
    try:
        if member.method != 0 or member.flags & FLAG_ENCRYPTED:
            data = read_member(outer, member, index.stat, parent)
            return Source(file, memoryview(data), 0, len(data), index.stat)
        want = _LOCAL_HEADER_SIZE + len(member.raw_name) + _LOCAL_SLACK
        buf: bytes | memoryview
        try:
            if parent is None:
                with io.open_code(outer) as fp:
                    if index.stat is not None:
                        check_same_file(outer, os.fstat(fp.fileno()), index.stat)
                    buf = _read_local(fp, member.header_offset, want, 0)
            else:
                buf = _read_local_in(outer, parent, member, want, index.stat)
        except OSError as exc:
            raise ZipImportError(
                f"can't read Zip file ({exc.strerror or exc}): {at}", path=outer
            ) from None
        start = member.header_offset + _check_local_header(buf, member, outer)
        if member.compressed_size != member.file_size:
            raise ZipImportError(f"stored member's sizes differ: {at}", path=outer)
        if start + member.compressed_size > index.layout.cd_start:
            raise ZipImportError(f"truncated member data: {at}", path=outer)
    except ZipImportError as exc:
        raise ZipImportError(
            NESTED_UNREADABLE.format(archive=archive, error=exc), path=archive
        ) from None
    if parent is None:
        return Source(file, None, start, member.compressed_size, index.stat)
    return Source(file, parent.buffer, parent.base + start, member.compressed_size, index.stat)

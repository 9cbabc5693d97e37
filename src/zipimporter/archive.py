"""Archive bytes -> directory index: our own reader of the ZIP format.

Only what importing needs: find the end-of-central-directory record (after an
archive comment, with or without ZIP64 records, with data prepended as in a
``.pyz`` with a ``#!`` line), index the central directory by member name, and
read one member with its local header checked against the central directory
and its CRC-32 verified.

The index keeps the central directory bytes and a ``name -> record offset``
dict; a member's other fields are decoded only when it is looked up, so opening
a big archive costs one read and one short loop.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

from .compression import decompress
from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, KeysView

__all__ = [
    "DEFAULT_MAX_MEMBER_SIZE",
    "ArchiveChanged",
    "DirectoryIndex",
    "Layout",
    "Member",
    "build_table",
    "check_same_file",
    "locate",
    "max_member_size",
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
    try:
        limit = int(os.environ.get("ZIPIMPORTER_MAX_MEMBER_SIZE", ""))
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
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
        expect.st_ino,
        expect.st_dev,
        expect.st_size,
        expect.st_mtime_ns,
        expect.st_ctime_ns,
    )


def check_same_file(archive: str, st: os.stat_result, expect: os.stat_result) -> None:
    """Raise :class:`ArchiveChanged` unless *st* (of *archive* now) is the file *expect* was."""
    if not same_file(st, expect):
        raise ArchiveChanged(archive)


def _fail(archive: str, what: str) -> ZipImportError:
    return ZipImportError(f"{what}: {archive!r}", path=archive)


def locate(fp: io.BufferedIOBase, archive: str) -> Layout:
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
    fp: io.BufferedIOBase, tail: bytes, tail_start: int, loc_at: int, offset: int, archive: str
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
    ``values()``) when a name flagged UTF-8 isn't.  ``in`` and ``len()``
    never raise.
    """

    __slots__ = ("_count", "_mask", "_others", "_records", "_table", "archive", "layout", "stat")

    def __init__(
        self,
        archive: str,
        layout: Layout,
        records: bytes,
        table: memoryview | dict[bytes, int],
        count: int,
        stat: os.stat_result | None = None,
    ) -> None:
        self.archive = archive
        self.layout = layout
        self.stat = stat
        self._records = records
        self._table = table
        self._mask = len(table) - 1
        self._others: dict[str, int] | None = None  # cp437 names, built when needed
        self._count = count

    def _find(self, name: object) -> int:
        """The offset of *name*'s central directory record, or -1."""
        if not isinstance(name, str):
            return -1
        try:
            raw = (name if SEP == "/" else name.replace(SEP, "/")).encode()
        except UnicodeEncodeError:
            return -1
        rec = self._records
        table = self._table
        n = len(raw)
        ascii_name = raw.isascii()
        if isinstance(table, dict):  # a flooded archive, see build_table
            pos = table.get(raw, -1)
            if pos >= 0 and (ascii_name or _flags(rec, pos) & FLAG_UTF8):
                return pos
            return self._find_cp437(name) if not ascii_name else -1
        mask = self._mask
        h = zlib.crc32(raw) & mask
        while slot := table[h]:
            pos = slot - 1
            at = pos + _CD_NAME_AT
            if (
                rec[at : at + n] == raw
                and at + n <= len(rec)
                and _name_length(rec, pos) == n
                # Non-ASCII bytes mean UTF-8 only with the flag; else cp437.
                and (ascii_name or _flags(rec, pos) & FLAG_UTF8)
            ):
                return pos
            h = (h + 1) & mask
        return self._find_cp437(name) if not ascii_name else -1

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
        usize, csize, offset = _sizes(rec, pos, fields, name, self.archive)
        name_at = pos + _CD_NAME_AT
        nlen = fields[_CD_NAME_LEN]
        header_offset = offset + self.layout.prepended
        if header_offset + _LOCAL_HEADER_SIZE + nlen + csize > self.layout.cd_start:
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


def _open(archive: str) -> io.BufferedReader:
    try:
        return io.open_code(archive)  # type: ignore[return-value]
    except (OSError, ValueError):
        raise _fail(archive, "can't open Zip file") from None


def read_central_directory(archive: str) -> tuple[Layout, bytes, os.stat_result]:
    """The end records, the central directory's bytes and the stat of *archive*.

    One open, the reads of :func:`locate`, and one read of the whole central
    directory.  ZipImportError (``path`` = *archive*) is raised when the file
    can't be opened or read, when :func:`locate` raises, and when the file
    ends before the central directory does.
    """
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


def _name_length(records: bytes, pos: int) -> int:
    return records[pos + _CD_NAME_LEN_AT] | records[pos + _CD_NAME_LEN_AT + 1] << 8


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


def read_member(archive: str, member: Member, expect: os.stat_result | None = None) -> bytes:
    """Return the uncompressed bytes of *member*, checked against its CRC-32.

    With *expect* (the archive's stat when it was indexed), an archive that
    has been replaced or rewritten since raises :class:`ArchiveChanged` (an
    internal signal, not an ImportError) before any of its bytes are used;
    without it, it is never raised.

    ZipImportError (``path`` = *archive*, the message naming the member and
    the archive) is raised when the member is encrypted, declares more than
    :func:`max_member_size` bytes, can't be read, its local header is
    truncated, has a bad signature or disagrees with the central directory
    (name, method, sizes or CRC-32), its data is truncated, it fails to
    decompress (see :func:`~zipimporter.compression.decompress`), or its
    CRC-32 doesn't match.
    """
    where = f"{member.name!r} in {archive!r}"
    if member.flags & FLAG_ENCRYPTED:
        raise ZipImportError(f"encrypted members are not supported: {where}", path=archive)
    limit = max_member_size()
    if member.file_size > limit:
        raise ZipImportError(
            MEMBER_TOO_BIG.format(size=member.file_size, limit=limit, where=where), path=archive
        )
    nlen = len(member.raw_name)
    want = _LOCAL_HEADER_SIZE + nlen + member.compressed_size + _LOCAL_SLACK
    try:
        with io.open_code(archive) as fp:
            if expect is not None:
                check_same_file(archive, os.fstat(fp.fileno()), expect)
            fp.seek(member.header_offset)
            buf = fp.read(want)
            if len(buf) < _LOCAL_HEADER_SIZE:
                raise ZipImportError(f"truncated local file header: {where}", path=archive)
            (sig, _, flags, method, _, _, crc, csize, usize, lnlen, lelen) = _LOCAL.unpack_from(buf)
            # The one read guessed the local extra field's length; read what it missed.
            data_at = _LOCAL_HEADER_SIZE + lnlen + lelen
            missing = data_at + member.compressed_size - len(buf)
            if missing > 0:
                buf += fp.read(missing)
    except OSError as exc:
        raise ZipImportError(
            f"can't read Zip file ({exc.strerror or exc}): {where}", path=archive
        ) from None
    if sig != _LOCAL_SIG:
        raise ZipImportError(f"bad local file header: {where}", path=archive)
    if buf[_LOCAL_HEADER_SIZE : _LOCAL_HEADER_SIZE + lnlen] != member.raw_name:
        raise ZipImportError(
            f"local header name does not match the central directory: {where}", path=archive
        )
    if method != member.method:
        raise ZipImportError(
            f"local header compression method does not match the central directory: {where}",
            path=archive,
        )
    if not flags & FLAG_DATA_DESCRIPTOR and (
        (csize != _U32 and csize != member.compressed_size)
        or (usize != _U32 and usize != member.file_size)
        or crc != member.crc
    ):
        raise ZipImportError(
            f"local header sizes or CRC do not match the central directory: {where}",
            path=archive,
        )
    raw = memoryview(buf)[data_at : data_at + member.compressed_size]  # no copy
    if len(raw) != member.compressed_size:
        raise ZipImportError(f"truncated member data: {where}", path=archive)
    data = decompress(raw, member.method, member.file_size, path=archive, where=where)
    if zlib.crc32(data) != member.crc:
        raise ZipImportError(f"bad CRC-32: {where}", path=archive)
    return data

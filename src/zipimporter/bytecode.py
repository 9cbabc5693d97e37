"""Turning member bytes into code objects: ``.pyc`` validation and compiling source.

The rules are the stdlib zipimport's, but for the time a timestamp ``.pyc`` is
checked against: it is used only if its recorded mtime (within a second) and
size match the ``.py`` beside it in the archive; a hash-based ``.pyc`` is
checked against the source when it is a checked one or
``--check-hash-based-pycs always``.

The source's time, whatever the local time zone (:func:`source_stamp`):

* the exact modification time when the member's central directory extra field
  records one: Info-ZIP's extended timestamp (``0x5455``, "UT", written by
  ``zip``, Java and others) or the NTFS times (``0x000a``, 7-Zip and others);
  the ``.pyc`` must match it;
* otherwise the DOS date and time fields, a wall-clock time in a zone nobody
  recorded (APPNOTE says local time; :mod:`zipfile` writes the writer's local
  time, or UTC under ``SOURCE_DATE_EPOCH`` on 3.14): the ``.pyc`` must match
  that wall clock read as UTC, or read in the local time zone as the stdlib
  reads it (CPython gh-141431), so whatever the stdlib accepts is accepted.

A stale ``.pyc`` taken for fresh runs old code, while a fresh one taken for
stale only costs a compile (cached afterwards): so no wider tolerance, such
as "any time zone's offset", is allowed.
"""

from __future__ import annotations

import _imp
import marshal
import time
from _frozen_importlib_external import MAGIC_NUMBER  # importlib's, without importing importlib

from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType

    from .archive import Member
else:
    CodeType = type((lambda: None).__code__)  # types.CodeType, without importing types

__all__ = [
    "compile_source",
    "decode_source",
    "dos_to_unix",
    "extended_mtime",
    "pyc_to_code",
    "source_stamp",
]

_FLAG_HASH_BASED = 0b01
_FLAG_CHECK_SOURCE = 0b10


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (month 1..12)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def dos_to_unix(dos_date: int, dos_time: int) -> int:
    """A ZIP entry's DOS date and time read as UTC, in seconds since the epoch.

    No time zone is involved: the fields don't record one (see the module
    docstring for how a ``.pyc`` is checked against them).  Fields out of
    range (month 0 or 13-15, day 0, hour 24-31, ...) carry over into the next
    larger unit, as ``time.mktime`` does.

    >>> dos_to_unix((2020 - 1980) << 9 | 6 << 5 | 1, 12 << 11 | 30 << 5 | 10 // 2)
    1591014610
    >>> dos_to_unix(1 << 9 | 0 << 5 | 0, 0) == dos_to_unix(0 << 9 | 11 << 5 | 30, 0)  # 1981-00-00
    True
    """
    year = (dos_date >> 9) + 1980 + (((dos_date >> 5) & 0xF) - 1) // 12
    month = (((dos_date >> 5) & 0xF) - 1) % 12 + 1
    days = _days_from_civil(year, month, 1) + (dos_date & 0x1F) - 1
    return (
        days * 86400
        + (dos_time >> 11) * 3600
        + ((dos_time >> 5) & 0x3F) * 60
        + (dos_time & 0x1F) * 2
    )


def _as_local_time(wall: int) -> int | None:
    """The wall-clock time *wall* (from :func:`dos_to_unix`) read in the local time zone."""
    try:
        t = time.gmtime(wall)
        return int(time.mktime((*t[:6], -1, -1, -1)))
    except (OverflowError, ValueError, OSError):
        return None


_UT_EXTRA = 0x5455  # Info-ZIP extended timestamp: flags, then mtime (int32) if flags & 1
_NTFS_EXTRA = 0x000A  # 4 reserved bytes, then attributes; attribute 1: mtime, atime, ctime
_FILETIME_EPOCH = 11644473600  # seconds from 1601-01-01 to 1970-01-01


def extended_mtime(extra: bytes) -> int | None:
    r"""The exact modification time an extra field records, in seconds since the epoch.

    *extra* is a central directory record's extra field.  Info-ZIP's extended
    timestamp (``0x5455``) is preferred to the NTFS field (``0x000a``); None
    if neither records a modification time.  A malformed field is never an
    error here: it is as if it weren't there.

    >>> extended_mtime(b"UT\x05\x00\x01" + (1591014610).to_bytes(4, "little"))
    1591014610
    >>> filetime = (1591014610 + 11644473600) * 10**7 + 1234567
    >>> ntfs = bytes(4) + b"\x01\x00\x18\x00" + filetime.to_bytes(8, "little") + bytes(16)
    >>> extended_mtime(b"\x0a\x00\x20\x00" + ntfs)
    1591014610
    >>> extended_mtime(b"UT\x01\x00\x00") is None  # flags only: no mtime
    True
    """
    ntfs = None
    i = 0
    while i + 4 <= len(extra):
        tag = extra[i] | extra[i + 1] << 8
        size = extra[i + 2] | extra[i + 3] << 8
        body = extra[i + 4 : i + 4 + size]
        if len(body) != size:
            break
        if tag == _UT_EXTRA and size >= 5 and body[0] & 1:
            return int.from_bytes(body[1:5], "little", signed=True)
        if tag == _NTFS_EXTRA and ntfs is None:
            j = 4
            while j + 4 <= size:
                attr = body[j] | body[j + 1] << 8
                asize = body[j + 2] | body[j + 3] << 8
                if attr == 1 and asize >= 8 and j + 12 <= size:
                    filetime = int.from_bytes(body[j + 4 : j + 12], "little")
                    ntfs = filetime // 10_000_000 - _FILETIME_EPOCH
                    break
                j += 4 + asize
        i += 4 + size
    return ntfs


def source_stamp(source: Member, extra: bytes = b"") -> tuple[int, int, bool]:
    """What a timestamp ``.pyc`` is checked against: (mtime, size, exact).

    *extra* is the source member's central directory extra field
    (:meth:`.archive.DirectoryIndex.extra`).  *exact* says whether *mtime* is the exact
    modification time from it (:func:`extended_mtime`); if not, *mtime* is
    the DOS fields' wall clock (:func:`dos_to_unix`), which a ``.pyc`` may
    match read as UTC or as local time.
    """
    exact = extended_mtime(extra) if extra else None
    if exact is not None:
        return exact, source.file_size, True
    return dos_to_unix(source.dos_date, source.dos_time), source.file_size, False


def _mtime_matches(recorded: int, mtime: int, exact: bool) -> bool:
    """Whether a ``.pyc``'s recorded mtime matches its source's (see the module docstring)."""
    # As the stdlib's _eq_mtime: within a second (DOS times have 2-second
    # resolution); the pyc holds the low 32 bits.
    if abs(recorded - (mtime & 0xFFFFFFFF)) <= 1:
        return True
    if exact:
        return False
    local = _as_local_time(mtime)
    return local is not None and abs(recorded - (local & 0xFFFFFFFF)) <= 1


def pyc_to_code(
    data: bytes,
    fullname: str,
    path: str,
    source_stamp: tuple[int, int] | tuple[int, int, bool] | None,
    source_bytes: Callable[[], bytes | None],
) -> CodeType | None:
    """Return the code object in a ``.pyc``'s bytes, or None if it is stale.

    *source_stamp* is what a timestamp pyc is checked against, from
    :func:`source_stamp`: (mtime, size, exact) of the matching source in the
    archive; a pair (mtime, size) is a DOS wall clock from :func:`dos_to_unix`
    (not exact), and a DOS time of 0 skips the check, as in the stdlib.
    *source_bytes* reads the source (only hash-based pycs need that).
    Without a source, *source_stamp* is None and *source_bytes* returns None.
    Raises ImportError for a ``.pyc`` that can't be used at all.
    """
    magic = data[:4]
    if magic != MAGIC_NUMBER:
        raise ImportError(f"bad magic number in {fullname!r}: {magic!r}", name=fullname, path=path)
    if len(data) < 16:
        raise ImportError(
            f"reached EOF while reading pyc header of {fullname!r}", name=fullname, path=path
        )
    flags = int.from_bytes(data[4:8], "little")
    if flags & ~0b11:
        raise ImportError(f"invalid flags {flags!r} in {fullname!r}", name=fullname, path=path)

    if flags & _FLAG_HASH_BASED:
        mode = _imp.check_hash_based_pycs
        if mode != "never" and (flags & _FLAG_CHECK_SOURCE or mode == "always"):
            source = source_bytes()
            if source is not None and data[8:16] != _imp.source_hash(_RAW_MAGIC, source):
                raise ImportError(
                    f"hash in bytecode doesn't match hash of source {fullname!r}",
                    name=fullname,
                    path=path,
                )
    else:
        exact = source_stamp is not None and len(source_stamp) > 2 and bool(source_stamp[2])
        # As the stdlib's: a DOS time of 0 means "unknown" and skips the check.
        if source_stamp is not None and (source_stamp[0] or exact):
            mtime, size = source_stamp[0], source_stamp[1]
            if int.from_bytes(data[12:16], "little") != size & 0xFFFFFFFF or not _mtime_matches(
                int.from_bytes(data[8:12], "little"), mtime, exact
            ):
                return None  # stale: the caller falls back to the source
    try:
        code = marshal.loads(memoryview(data)[16:])
    except Exception as exc:
        # marshal raises EOFError, ValueError, TypeError, SystemError (e.g. a
        # code object whose co_code isn't bytes) or MemoryError (a forged
        # element count: it asks for the memory before finding the data short).
        raise ImportError(
            f"bad marshal data in {path!r} ({exc})", name=fullname, path=path
        ) from None
    if not isinstance(code, CodeType):
        raise ImportError(
            f"compiled module {path!r} is not a code object", name=fullname, path=path
        )
    return code


_RAW_MAGIC = int.from_bytes(MAGIC_NUMBER, "little")


def compile_source(source: bytes, path: str) -> CodeType:
    """Compile module source as the stdlib zipimport does (newlines normalised)."""
    source = source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        return compile(source, path, "exec", dont_inherit=True)
    except (ValueError, RecursionError, MemoryError) as exc:
        # SyntaxError is the user's to see; these mean the source can't be
        # compiled at all (NUL bytes on 3.11, absurd nesting, huge literals).
        raise ZipImportError(f"can't compile {path!r}: {exc!r}", path=path) from None


def decode_source(source: bytes) -> str:
    """Decode source bytes by their PEP 263 coding cookie (UTF-8 by default).

    Unlike ``importlib.util.decode_source`` this keeps the line endings, as the
    stdlib zipimport's ``get_source`` does.
    """
    import tokenize  # only get_source needs it; it costs import time

    lines = iter(source.splitlines(keepends=True))
    encoding, _ = tokenize.detect_encoding(lambda: next(lines, b""))
    return source.decode(encoding)

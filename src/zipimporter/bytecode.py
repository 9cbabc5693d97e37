"""Turning member bytes into code objects: ``.pyc`` validation and compiling source.

The rules are the stdlib zipimport's: a timestamp ``.pyc`` is used only if its
recorded mtime (within a second, since DOS times have 2-second precision) and
size match the ``.py`` beside it in the archive; a hash-based ``.pyc`` is checked
against the source when it is a checked one or ``--check-hash-based-pycs always``.
"""

from __future__ import annotations

import _imp
import marshal
import time
from importlib._bootstrap_external import MAGIC_NUMBER
from types import CodeType

from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["compile_source", "decode_source", "dos_to_unix", "pyc_to_code"]

_FLAG_HASH_BASED = 0b01
_FLAG_CHECK_SOURCE = 0b10


def dos_to_unix(dos_date: int, dos_time: int) -> int:
    """A ZIP entry's DOS date and time as a local-time POSIX timestamp."""
    try:
        return int(
            time.mktime(
                (
                    (dos_date >> 9) + 1980,
                    (dos_date >> 5) & 0xF,
                    dos_date & 0x1F,
                    dos_time >> 11,
                    (dos_time >> 5) & 0x3F,
                    (dos_time & 0x1F) * 2,
                    -1,
                    -1,
                    -1,
                )
            )
        )
    except (OverflowError, ValueError):
        return 0


def pyc_to_code(
    data: bytes,
    fullname: str,
    path: str,
    source_stamp: tuple[int, int] | None,
    source_bytes: Callable[[], bytes | None],
) -> CodeType | None:
    """Return the code object in a ``.pyc``'s bytes, or None if it is stale.

    *source_stamp* is the (mtime, size) of the matching source in the archive,
    *source_bytes* reads it (only hash-based pycs need that); None without one.
    Raises ImportError for a ``.pyc`` that can't be used at all.
    """
    details = {"name": fullname, "path": path}
    magic = data[:4]
    if magic != MAGIC_NUMBER:
        raise ImportError(f"bad magic number in {fullname!r}: {magic!r}", **details)
    if len(data) < 16:
        raise ImportError(f"reached EOF while reading pyc header of {fullname!r}", **details)
    flags = int.from_bytes(data[4:8], "little")
    if flags & ~0b11:
        raise ImportError(f"invalid flags {flags!r} in {fullname!r}", **details)

    if flags & _FLAG_HASH_BASED:
        mode = _imp.check_hash_based_pycs
        if mode != "never" and (flags & _FLAG_CHECK_SOURCE or mode == "always"):
            source = source_bytes()
            if source is not None and data[8:16] != _imp.source_hash(_RAW_MAGIC, source):
                raise ImportError(
                    f"hash in bytecode doesn't match hash of source {fullname!r}", **details
                )
    else:
        if source_stamp is not None and source_stamp[0]:
            mtime, size = source_stamp
            if (
                abs(int.from_bytes(data[8:12], "little") - mtime) > 1
                or int.from_bytes(data[12:16], "little") != size & 0xFFFFFFFF
            ):
                return None  # stale: the caller falls back to the source
    try:
        code = marshal.loads(memoryview(data)[16:])
    except Exception as exc:
        # marshal raises EOFError, ValueError, TypeError, SystemError (e.g. a
        # code object whose co_code isn't bytes) or MemoryError (a forged
        # element count: it asks for the memory before finding the data short).
        raise ImportError(f"bad marshal data in {path!r} ({exc})", **details) from None
    if not isinstance(code, CodeType):
        raise ImportError(f"compiled module {path!r} is not a code object", **details)
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

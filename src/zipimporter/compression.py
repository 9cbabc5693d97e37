"""Decompression of ZIP members, by compression method, with bounded output.

Every decompressor is asked for at most ``expected_size + 1`` bytes, so a member
that inflates past its declared size is detected without allocating the excess.
"""

from __future__ import annotations

import sys
import zlib

from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["METHOD_NAMES", "ZSTD_UNAVAILABLE", "decompress", "method_name", "zstd_module"]

STORED = 0
DEFLATED = 8
BZIP2 = 12
LZMA = 14
ZSTANDARD = 93

METHOD_NAMES = {
    STORED: "stored",
    DEFLATED: "deflated",
    BZIP2: "bzip2",
    LZMA: "lzma",
    ZSTANDARD: "zstd",
}


def method_name(method: int) -> str:
    return METHOD_NAMES.get(method, f"method {method}")


def _inflate(data: bytes | memoryview, limit: int) -> bytes:
    return zlib.decompressobj(-15).decompress(data, limit)


def _bunzip2(data: bytes | memoryview, limit: int) -> bytes:
    import bz2

    return bz2.BZ2Decompressor().decompress(data, limit)


def _unlzma(data: bytes | memoryview, limit: int) -> bytes:
    import lzma

    # ZIP's LZMA (APPNOTE 5.8): 2 bytes version, 2 bytes properties size,
    # properties, then a raw LZMA1 stream.
    if len(data) < 4:
        raise ValueError("truncated LZMA header")
    psize = int.from_bytes(data[2:4], "little")
    if len(data) < 4 + psize:
        raise ValueError("truncated LZMA properties")
    try:
        filt = lzma._decode_filter_properties(  # type: ignore[attr-defined]
            lzma.FILTER_LZMA1, bytes(data[4 : 4 + psize])
        )
        # liblzma allocates the whole dictionary up front and the properties
        # may ask for 4 GiB; no back-reference reaches past the output size.
        filt["dict_size"] = min(filt["dict_size"], max(4096, limit))
        d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt])
        return d.decompress(data[4 + psize :], limit)
    except lzma.LZMAError as exc:  # not an OSError or ValueError: report it as one
        raise ValueError(str(exc)) from None


#: Why a zstd member can't be read here, and what to install (a bundle's
#: embedded runtime needs only backports.zstd in the Python that runs it).
ZSTD_UNAVAILABLE = (
    "zstd (method 93) needs Python 3.14 or the 'zstd' extra: pip install 'zipimporter[zstd]' "
    "(or, for a bundle, pip install backports.zstd)"
)

#: The largest zstd window (log2) a member of any size may ask for: what zstd
#: levels 1-19 use when the size isn't known in advance (zipfile's writers);
#: a bigger member may ask for a window up to its own size.  zstd allocates
#: the window before decoding anything, so a tiny hostile member asking for
#: zstd's default limit of 128 MiB would get it.
ZSTD_WINDOW_LOG = 23


def zstd_module() -> object:
    """``compression.zstd`` (3.14), else ``backports.zstd``, else None.

    ``compression`` is looked for only on 3.14: before, it may be an app's
    own package, maybe in the very archive being read.
    """
    names = ("compression.zstd", "backports.zstd")
    for name in names if sys.version_info >= (3, 14) else names[1:]:
        try:
            return __import__(name, fromlist=["ZstdDecompressor"])
        except ImportError:
            continue
    return None


def _unzstd(data: bytes | memoryview, limit: int) -> bytes:
    zstd: Any = zstd_module()
    if zstd is None:
        raise _CodecUnavailableError(ZSTD_UNAVAILABLE)
    window_log = min(31, max(ZSTD_WINDOW_LOG, (limit - 1).bit_length()))
    try:
        options = {zstd.DecompressionParameter.window_log_max: window_log}
        out: bytes = zstd.ZstdDecompressor(options=options).decompress(data, limit)
        return out
    except zstd.ZstdError as exc:  # an Exception: say ValueError
        raise ValueError(str(exc)) from None


class _CodecUnavailableError(Exception):
    """The codec for a method exists in principle but not on this interpreter."""


_DECOMPRESSORS: dict[int, Callable[[bytes | memoryview, int], bytes]] = {
    DEFLATED: _inflate,
    BZIP2: _bunzip2,
    LZMA: _unlzma,
    ZSTANDARD: _unzstd,
}


def where(name: str, path: str) -> str:
    """How messages name member *name* of archive *path*.

    >>> where("pkg/mod.py", "app.zip")
    "'pkg/mod.py' in 'app.zip'"
    """
    return f"{name!r} in {path!r}"


def decompress(
    data: bytes | memoryview, method: int, expected_size: int, *, path: str, name: str
) -> bytes:
    """Return the decompressed *data*, exactly *expected_size* bytes long.

    *path* is the archive (the errors' ``path``), *name* the member; messages
    name both (:func:`where`), formatted only when there is an error.

    ZipImportError is raised when the method is unknown, when its codec isn't
    available on this interpreter (the message says which extra provides
    it), when the data is corrupt or truncated, and when it decompresses to
    more or fewer bytes than *expected_size* (never producing more than one
    byte over).
    """
    if method == STORED:
        if len(data) != expected_size:
            raise ZipImportError(
                f"stored member size mismatch ({len(data)} != {expected_size}): "
                f"{where(name, path)}",
                path=path,
            )
        return bytes(data)
    func = _DECOMPRESSORS.get(method)
    if func is None:
        raise ZipImportError(
            f"unsupported compression method {method}: {where(name, path)}", path=path
        )
    try:
        out = func(data, expected_size + 1)
    except _CodecUnavailableError as exc:
        raise ZipImportError(f"{exc}: {where(name, path)}", path=path) from None
    except ImportError as exc:
        raise ZipImportError(
            f"can't decompress {method_name(method)} data, {exc.name or 'its codec'} "
            f"is not available: {where(name, path)}",
            path=path,
        ) from None
    except (
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        TypeError,
        LookupError,
        MemoryError,
        OverflowError,
    ) as exc:
        raise ZipImportError(
            f"corrupt {method_name(method)} data ({exc}): {where(name, path)}", path=path
        ) from None
    if len(out) != expected_size:
        raise ZipImportError(
            f"{method_name(method)} data decompresses to "
            f"{'more' if len(out) > expected_size else 'fewer'} bytes than the "
            f"declared {expected_size}: {where(name, path)}",
            path=path,
        )
    return out

"""Where zipimporter keeps its on-disk caches, and writing to them safely.

The directory is ``$ZIPIMPORTER_CACHE_DIR``, else ``$XDG_CACHE_HOME/zipimporter``,
else ``~/.cache/zipimporter``.  ``ZIPIMPORTER_CACHE=0`` (or ``off``/``no``/
``false``) turns both caches off; so does ``install(cache=False)``, and
``install(cache_dir=...)`` relocates them.  An explicit setting from
``configure()`` wins over the environment.

Caches only ever speed things up: every read is validated and anything odd is
ignored; every write is atomic (temp file + rename) and any failure to write is
silent.
"""

from __future__ import annotations

import os
import zlib

__all__ = ["atomic_write", "cache_root", "configure", "path_key", "read_file"]

_UNSET = object()
_override: object = _UNSET  # str path, None (off), or _UNSET (use the environment)


def configure(directory: object = _UNSET) -> None:
    """Set the cache directory (a path), turn caching off (None), or reset (no argument)."""
    global _override
    if directory is _UNSET or directory is None:
        _override = directory
        return
    _override = os.fspath(directory)  # type: ignore[call-overload]


def cache_root() -> str | None:
    """The cache directory now in force, or None if caching is off."""
    if _override is not _UNSET:
        return _override  # type: ignore[return-value]
    if os.environ.get("ZIPIMPORTER_CACHE", "").strip().lower() in {"0", "off", "no", "false"}:
        return None
    explicit = os.environ.get("ZIPIMPORTER_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # XDG: relative paths are invalid and ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zipimporter")


def path_key(path: str) -> str:
    """A short stable name for a file's real path (a cache subdirectory or file name).

    Not cryptographic: a clash only makes two archives share cache slots, and
    every cache entry is validated against the archive's own bytes.
    """
    raw = os.fsencode(os.path.realpath(path))
    return f"{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}{len(raw):04x}"


def read_file(path: str, limit: int) -> bytes | None:
    """The contents of *path* if it exists and is at most *limit* bytes, else None."""
    try:
        with open(path, "rb") as fp:
            # Check the size first: read(limit) would allocate *limit* bytes.
            if os.fstat(fp.fileno()).st_size > limit:
                return None
            data = fp.read()
    except (OSError, ValueError):
        return None
    return data if len(data) <= limit else None


def atomic_write(path: str, data: bytes) -> bool:
    """Write *data* to *path* via a temp file and rename; False (silently) on failure.

    Readers see the old file or the new one, never a partial one, however many
    processes write at once.
    """
    # A unique name beside the target (tempfile would cost its import time).
    tmp = f"{path}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (OSError, ValueError):
        return False
    try:
        with open(fd, "wb") as fp:
            fp.write(data)
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True

"""Opening an archive's index for the importer: the parser and the saved index, composed.

:mod:`.archive` parses and knows nothing of caches; :mod:`.index_cache`
persists tables and knows nothing of ZIP records.  :func:`open_index` is the
one place that puts them together, so either can change without the other.

It is also where an archive path leads.  The archive of an importer path is
one of:

* a file: ``app.zip`` (the stdlib's only kind);
* a member of an archive that is itself an archive, to any depth:
  ``outer.zip/inner.zip`` (a stored member is read in place, a compressed one
  decompressed into memory once; see :func:`~.archive.nested_source`);
* bytes given to ``zipimporter.from_bytes``: ``<memory:NAME>``, and members
  of those that are archives (``<memory:NAME>/inner.zip``).

Whatever follows the archive in the path is the importer's prefix.  A path
component that names a file member (not a directory, and with no members
below it) is taken as a nested archive: opened as one, or an error.
"""

from __future__ import annotations

import _frozen_importlib_external as _bootstrap_external  # importlib's, without importlib
import os
import stat as _stat

from . import archive, index_cache
from .errors import ZipImportError

__all__ = [
    "MEMORY_PREFIX",
    "NOT_A_FILE",
    "NOT_IN_MEMORY",
    "NO_SUCH_FILE",
    "forget_bytes",
    "open_index",
    "register_bytes",
    "resolve",
    "split_path",
]

SEP = os.sep
_path_split = _bootstrap_external._path_split  # type: ignore[attr-defined]
DirectoryIndex = archive.DirectoryIndex
Cache = dict[str, DirectoryIndex]

#: The path of nothing at all (neither a file nor any of its parents exists).
NO_SUCH_FILE = "not a Zip file (no such file): {path!r}"
#: The first existing part of the path is not a regular file.
NOT_A_FILE = "not a Zip file (not a file): {path!r}"
#: A ``<memory:...>`` path that ``from_bytes`` didn't give, or that was forgotten.
NOT_IN_MEMORY = "not a Zip file (no archive in memory by that name; forgotten?): {path!r}"

#: How the path of an archive in memory starts; the name follows, then ``>``.
MEMORY_PREFIX = "<memory:"

# Entry ('<memory:NAME>') -> the bytes given for it.  Held until forget_bytes().
_memory: dict[str, bytes] = {}


def register_bytes(data: bytes, name: str) -> tuple[str, bool]:
    """Keep *data* (an archive) in memory as ``<memory:NAME>``: (the entry, whether it is new).

    If ``<memory:NAME>`` holds other bytes already, the entry is
    ``<memory:NAME-2>`` (``-3``, ...); if it holds equal bytes, that entry is
    returned and nothing more is kept.  ValueError if *name* is empty or
    holds a path separator or NUL.
    """
    if not name or "\0" in name or SEP in name or (os.altsep and os.altsep in name):
        raise ValueError(f"an archive's name in memory can't be empty or hold '/' or NUL: {name!r}")
    entry, n = f"{MEMORY_PREFIX}{name}>", 1
    while True:
        held = _memory.get(entry)
        if held is None:
            _memory[entry] = data
            return entry, True
        if held is data or held == data:
            return entry, False
        n += 1
        entry = f"{MEMORY_PREFIX}{name}-{n}>"


def forget_bytes(entry: str) -> bool:
    """Stop holding the bytes of *entry*; whether it was held."""
    return _memory.pop(entry, None) is not None


def split_path(path: str) -> tuple[str, list[str]]:
    """(the first part of *path* that exists, the parts after it), as the stdlib walks a path.

    A ``<memory:...>`` path's first part is its entry, whether it is held or
    not.  ZipImportError (``path`` = *path* or the part) if no part exists
    or the first existing part isn't a regular file.
    """
    if path.startswith(MEMORY_PREFIX):
        entry, _, rest = path.partition(SEP)
        return entry, [p for p in rest.split(SEP) if p]
    requested = path
    parts: list[str] = []
    while True:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            # Not there (or too long): back up one path element.
            dirname, basename = _path_split(path)
            if dirname == path:
                raise ZipImportError(NO_SUCH_FILE.format(path=requested), path=path) from None
            path = dirname
            parts.append(basename)
        else:
            if not _stat.S_ISREG(st.st_mode):
                raise ZipImportError(NOT_A_FILE.format(path=path), path=path)
            parts.reverse()
            return path, parts


def resolve(root: str, parts: list[str], cache: Cache) -> tuple[str, DirectoryIndex, list[str]]:
    """(archive, its index, the prefix parts left) of the path *root* + *parts*.

    *root* is a file or a memory entry (see :func:`split_path`).  Each run of
    *parts* that names a file member of the archive reached so far (with no
    members below it) is an archive inside it; the parts after the last one
    are the prefix.  Indexes
    come from, and go to, *cache* (the importer's ``_zip_directory_cache``).

    ZipImportError (``path`` = the archive that failed) is raised when an
    archive on the way can't be read; if the outer file keeps changing while
    being read, ARCHIVE_KEEPS_CHANGING.
    """
    for _ in range(2):
        try:
            return _resolve(root, parts, cache)
        except archive.ArchiveChanged:
            # Everything read from that file may be stale.
            for key in [k for k in cache if k == root or k.startswith(root + SEP)]:
                del cache[key]
    where = root if not parts else root + SEP + SEP.join(parts)
    raise ZipImportError(archive.ARCHIVE_KEEPS_CHANGING.format(archive=where), path=where)


def _resolve(root: str, parts: list[str], cache: Cache) -> tuple[str, DirectoryIndex, list[str]]:
    name = root
    index = cache.get(name)
    if index is None:
        index = cache[name] = _open_root(name)
    while parts:
        for j in range(1, len(parts) + 1):
            inner = SEP.join(parts[:j])
            member = index.get(inner)
            # A file member with nothing below it; a name that is both a file
            # and a directory stays a directory, as the stdlib sees it.
            if member is not None and not member.is_dir and not index.is_dir(inner + SEP):
                break
        else:
            break
        name = f"{name}{SEP}{inner}"
        parts = parts[j:]
        found = cache.get(name)
        if found is None:
            found = cache[name] = _open_in(name, archive.nested_source(index, member, name))
        index = found
    return name, index, parts


def _open_root(path: str) -> DirectoryIndex:
    """The index of the file, or memory entry, *path*."""
    if path.startswith(MEMORY_PREFIX):
        data = _memory.get(path)
        if data is None:
            raise ZipImportError(NOT_IN_MEMORY.format(path=path), path=path)
        return _open_in(path, archive.Source(None, memoryview(data), 0, len(data), None))
    return _open_file(path)


def open_index(path: str, cache: Cache | None = None) -> DirectoryIndex:
    """The :class:`~.archive.DirectoryIndex` of the archive at *path*, using the saved index.

    *path* is a file, or an archive path as :func:`resolve` gives it (an
    archive in another, or in memory); a nested archive's outer indexes come
    from *cache* when given, else are read anew.

    The central directory is read from the archive every time.  Archives with
    fewer than ``index_cache.MIN_ENTRIES`` entries are parsed without looking
    at the index cache at all (parsing them is faster than reading a cache
    file); bigger ones built by ``zipimporter build`` are indexed by the
    layout their archive comment describes, once checked against these
    directory bytes (:func:`.index_cache.embedded_classes`); others use the
    table saved for exactly these directory bytes, or build it and save it.
    The implicit directories of a big archive file are kept the same way
    (:func:`.index_cache.load_dirs`), read when first needed.

    ZipImportError (``path`` = *path*) is raised as by
    :func:`~.archive.read_central_directory` and :func:`~.archive.build_table`,
    and when *path* leads to no archive.
    """
    error: ZipImportError | None = None
    if not path.startswith(MEMORY_PREFIX):
        try:
            return _open_file(path)
        except ZipImportError as exc:
            error = exc  # perhaps an archive inside a file; if not, this error stands
    try:
        root, parts = split_path(path)
    except ZipImportError:
        if error is not None:
            raise error from None
        raise
    if not parts:
        if error is not None:
            raise error from None
        return _open_root(root)
    _, index, left = resolve(root, parts, {} if cache is None else cache)
    if left:
        raise error or ZipImportError(NO_SUCH_FILE.format(path=path), path=path)
    return index


def _open_file(path: str) -> DirectoryIndex:
    layout, records, st = archive.read_central_directory(path)
    # One key for the saved table and directory list (computed when first needed).
    key = index_cache.DirectoryKey(records, layout.entries)
    index = _embedded(path, layout, records, st, None)
    if index is None:
        table, count = _table(path, layout, records, key)
        index = archive.DirectoryIndex(path, layout, records, table, count, st)
    if layout.entries >= index_cache.MIN_ENTRIES:
        # Its implicit directories too, when first needed (index_cache.load_dirs).
        index.keep_dirs(
            lambda: index_cache.load_dirs(path, key),
            lambda dirs: index_cache.store_dirs(path, key, dirs),
        )
    return index


def _embedded(
    name: str,
    layout: archive.Layout,
    records: bytes,
    st: os.stat_result | None,
    source: archive.Source | None,
) -> DirectoryIndex | None:
    """The index of a bundle with an embedded index (see :mod:`.index_cache`), or None."""
    if layout.entries < index_cache.MIN_ENTRIES or not layout.comment.startswith(
        index_cache.EMBEDDED_MAGIC
    ):
        return None
    data_end = layout.cd_start - layout.prepended
    classes = index_cache.embedded_classes(records, layout.entries, layout.comment, data_end)
    if classes is None:
        return None
    return index_cache.EmbeddedIndex(name, layout, records, classes, st, source)


def _open_in(name: str, source: archive.Source) -> DirectoryIndex:
    """The index of the archive *name* whose bytes are in *source*.

    One given as bytes (or inside those) is never saved: nothing of it goes to disk.
    """
    layout, records, st = archive.read_central_directory(name, source)
    embedded = _embedded(name, layout, records, st, source)
    if embedded is not None:
        return embedded
    if source.file is None:
        table, count = archive.build_table(records, layout, name)
    else:
        table, count = _table(
            name, layout, records, index_cache.DirectoryKey(records, layout.entries)
        )
    return archive.DirectoryIndex(name, layout, records, table, count, st, source)


def _table(
    path: str, layout: archive.Layout, records: bytes, key: index_cache.DirectoryKey
) -> tuple[memoryview | dict[bytes, int], int]:
    entries = layout.entries
    table: memoryview | dict[bytes, int]
    if entries < index_cache.MIN_ENTRIES:
        table, count = archive.build_table(records, layout, path)
    else:
        saved = index_cache.load(path, key)
        if saved is not None:
            table, count = saved
        else:
            table, count = archive.build_table(records, layout, path)
            if isinstance(table, memoryview):  # a flooded (dict) index is not saved
                index_cache.store(path, key, table, count)
    return table, count

"""Opening an archive's index for the importer: the parser and the saved index, composed.

:mod:`.archive` parses and knows nothing of caches; :mod:`.index_cache`
persists tables and knows nothing of ZIP records.  :func:`open_index` is the
one place that puts them together, so either can change without the other.
"""

from __future__ import annotations

from . import archive, index_cache

__all__ = ["open_index"]


def open_index(path: str) -> archive.DirectoryIndex:
    """The :class:`~.archive.DirectoryIndex` of the archive at *path*, using the saved index.

    The central directory is read from the archive every time.  Archives with
    fewer than ``index_cache.MIN_ENTRIES`` entries are parsed without looking
    at the index cache at all (parsing them is faster than reading a cache
    file); bigger ones use the table saved for exactly these directory bytes,
    or build it and save it.

    ZipImportError (``path`` = *path*) is raised as by
    :func:`~.archive.read_central_directory` and :func:`~.archive.build_table`.
    """
    layout, records, st = archive.read_central_directory(path)
    entries = layout.entries
    table: memoryview | dict[bytes, int]
    if entries < index_cache.MIN_ENTRIES:
        table, count = archive.build_table(records, layout, path)
    else:
        saved = index_cache.load(path, records, entries)
        if saved is not None:
            table, count = saved
        else:
            table, count = archive.build_table(records, layout, path)
            if isinstance(table, memoryview):  # a flooded (dict) index is not saved
                index_cache.store(path, records, entries, table, count)
    return archive.DirectoryIndex(path, layout, records, table, count, st)

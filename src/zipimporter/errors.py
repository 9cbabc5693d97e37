"""The one exception type the importer raises for archive problems."""

from __future__ import annotations

__all__ = ["ZipImportError"]


class ZipImportError(ImportError):
    """An archive, or a member of it, could not be used for importing.

    A subclass of :class:`ImportError`, exactly as ``zipimport.ZipImportError``.
    Every one raised about an archive or its members names the archive in
    its message and carries the archive's path as ``path`` (and the module as
    ``name`` where a module was asked for).  The internal "archive changed" signal
    (``archive.ArchiveChanged``) is deliberately not a subclass.
    """

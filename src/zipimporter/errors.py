"""The one exception type the importer raises for archive problems."""

from __future__ import annotations

__all__ = ["ZipImportError"]


class ZipImportError(ImportError):
    """An archive, or a member of it, could not be used for importing.

    A subclass of :class:`ImportError`, exactly as ``zipimport.ZipImportError``.
    """

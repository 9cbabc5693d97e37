"""Import Python code from ZIP archives: a drop-in for the stdlib ``zipimport``.

The data flows archive bytes (:mod:`.archive`, :mod:`.compression`) -> directory
index (:mod:`.directory`, with the saved index of :mod:`.index_cache`) -> importer
(:mod:`.importer`, :mod:`.bytecode`) -> hooks (:mod:`.hooks`) -> command line
(:mod:`.cli`).
"""

from __future__ import annotations

from .errors import ZipImportError
from .hooks import install, installed, uninstall
from .importer import _zip_directory_cache as _zip_directory_cache
from .importer import forget_bytes, from_bytes, zipimporter

__version__ = "0.1.0"

__all__ = [
    "ZipImportError",
    "forget_bytes",
    "from_bytes",
    "install",
    "installed",
    "uninstall",
    "zipimporter",
]

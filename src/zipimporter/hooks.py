"""Putting our importer in the stdlib zipimporter's place in ``sys.path_hooks``."""

from __future__ import annotations

import os
import sys
import zipimport

from . import cachedir
from .importer import zipimporter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Installation", "install", "installed", "uninstall"]

# What install() took out, so that uninstall() can put it back.
_replaced_stdlib = False
_saved_cache: dict[str, object] = {}


def _is_stdlib_entry(finder: object) -> bool:
    return isinstance(finder, zipimport.zipimporter) and not isinstance(finder, zipimporter)


def installed() -> bool:
    """Whether our hook is in ``sys.path_hooks``."""
    return zipimporter in sys.path_hooks


class Installation:
    """What :func:`install` returns; leaving its ``with`` block uninstalls.

    Only the call that actually installed uninstalls, so nested ``with
    install():`` blocks are harmless.
    """

    def __init__(self, owner: bool) -> None:
        self.owner = owner

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.owner:
            uninstall()


def install(*, cache: bool | str | os.PathLike[str] = True) -> Installation:
    """Use our importer for archive paths on ``sys.path``.

    *cache* is True for the on-disk caches (persistent directory index and
    compiled-source cache) where the environment puts them (see
    :mod:`zipimporter.cachedir`), False to turn them off, or a directory to
    keep them in.  :func:`uninstall` puts the environment's choice back.

    Our hook takes the stdlib zipimporter's place in ``sys.path_hooks`` (or
    goes first if it is absent), and ``sys.path_importer_cache`` entries made
    by the stdlib importer, or left as None by a failed lookup, are dropped so
    that they are looked up again.  Installing twice is harmless.
    """
    global _replaced_stdlib
    if cache is False:
        cachedir.configure(None)
    elif cache is not True:
        cachedir.configure(cache)
    if installed():
        return Installation(owner=False)
    try:
        i = sys.path_hooks.index(zipimport.zipimporter)
    except ValueError:
        sys.path_hooks.insert(0, zipimporter)
        _replaced_stdlib = False
    else:
        sys.path_hooks[i] = zipimporter
        _replaced_stdlib = True
    _saved_cache.clear()
    for path, finder in list(sys.path_importer_cache.items()):
        if finder is None or _is_stdlib_entry(finder):
            _saved_cache[path] = sys.path_importer_cache.pop(path)
    return Installation(owner=True)


def uninstall() -> None:
    """Undo :func:`install`: restore ``sys.path_hooks`` and the importer cache."""
    cachedir.configure()
    if not installed():
        return
    i = sys.path_hooks.index(zipimporter)
    if _replaced_stdlib and zipimport.zipimporter not in sys.path_hooks:
        sys.path_hooks[i] = zipimport.zipimporter
    else:
        del sys.path_hooks[i]
    while zipimporter in sys.path_hooks:
        sys.path_hooks.remove(zipimporter)
    for path, finder in list(sys.path_importer_cache.items()):
        if isinstance(finder, zipimporter):
            del sys.path_importer_cache[path]
    for path, saved in _saved_cache.items():
        sys.path_importer_cache.setdefault(path, saved)  # type: ignore[call-overload]
    _saved_cache.clear()

"""Putting our importer in the stdlib zipimporter's place in ``sys.path_hooks``."""

from __future__ import annotations

import os
import sys
import zipimport

from . import activation, cachedir, pkg_resources_support
from .importer import zipimporter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Installation", "install", "installed", "uninstall"]

# What install() took out, so that uninstall() can put it back.
_replaced_stdlib = False
_saved_cache: dict[str, object] = {}
# Deferred hooks (see activation) that install() took out, to put back.
_removed_deferred: list[object] = []
# The environment variables install(children=True) changed, with their old values.
_children_saved: dict[str, str | None] | None = None
# The cache setting (cachedir.configured()) before the install that installed.
_NOTHING = object()
_setting_before_install: object = _NOTHING
# Counts the installs that installed: an inner Installation restores the cache
# setting only within the installation it was made in.
_generation = 0


def _is_stdlib_entry(finder: object) -> bool:
    return isinstance(finder, zipimport.zipimporter) and not isinstance(finder, zipimporter)


def installed() -> bool:
    """Whether our hook is in ``sys.path_hooks``."""
    return zipimporter in sys.path_hooks


class Installation:
    """What :func:`install` returns; leaving its ``with`` block undoes that install.

    Only the call that actually installed (``owner``) uninstalls, so nested
    ``with install():`` blocks are harmless.  Leaving the block of a nested
    install that changed the cache setting puts the previous setting back.
    """

    def __init__(
        self,
        owner: bool,
        previous_setting: object = _NOTHING,
        generation: int = 0,
        children: bool = False,
    ) -> None:
        self.owner = owner
        self._previous_setting = previous_setting
        self._generation = generation
        self._children = children  # this call set up the children's environment

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
            return
        if self._children:
            _restore_children_environ()
        if (
            self._previous_setting is not _NOTHING
            and self._generation == _generation
            and installed()
        ):
            cachedir.configure(self._previous_setting)


def _set_children_environ() -> bool:
    """Make Python child processes use our importer (see :mod:`.activation`); True if set now."""
    global _children_saved
    if _children_saved is not None:
        return False
    changes = activation.children_environ()
    if changes is None:
        return False
    _children_saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    return True


def _restore_children_environ() -> None:
    global _children_saved
    if _children_saved is None:
        return
    for name, value in _children_saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _children_saved = None


def install(*, cache: bool | str | os.PathLike[str] = True, children: bool = False) -> Installation:
    """Use our importer for archive paths on ``sys.path``.

    *cache* chooses the on-disk caches (persistent directory index and
    compiled-source cache): False turns them off, a directory keeps them
    there, and True keeps the setting in force, which is the environment's
    choice (see :mod:`zipimporter.cachedir`) unless an enclosing install chose.
    A *cache* given while already installed applies too, and leaving that
    call's ``with`` block puts the previous setting back; :func:`uninstall`
    puts back the setting in force before the install that installed.

    *children* makes Python child processes import through zipimporter too:
    ``subprocess`` children running ``sys.executable`` and multiprocessing's
    spawn and forkserver workers, through two environment variables they
    inherit (:mod:`zipimporter.activation`; forked children inherit the hook
    itself).  It is off by default because it changes ``os.environ`` (until
    :func:`uninstall`, or the end of this call's ``with`` block), which a
    library that merely imports from an archive should not do; self-contained
    bundles and ``zipimporter run`` turn it on.

    Our hook takes the stdlib zipimporter's place in ``sys.path_hooks`` (or
    goes first if it is absent), replacing the deferred hook of an enabled
    environment; ``sys.path_importer_cache`` entries made by the stdlib
    importer, or left as None by a failed lookup, are dropped so that they are
    looked up again.  Installing twice is harmless.
    """
    global _replaced_stdlib, _setting_before_install, _generation
    # True keeps the setting in force; False is "off" (None) to cachedir.
    previous = _NOTHING if cache is True else cachedir.configure(None if cache is False else cache)
    if installed():
        return Installation(False, previous, _generation, children and _set_children_environ())
    _setting_before_install = cachedir.configured() if previous is _NOTHING else previous
    _generation += 1
    deferred = [i for i, h in enumerate(sys.path_hooks) if getattr(h, activation.HOOK_MARK, False)]
    _removed_deferred[:] = [sys.path_hooks[i] for i in deferred]
    for i in reversed(deferred):
        del sys.path_hooks[i]
    try:
        i = sys.path_hooks.index(zipimport.zipimporter)
    except ValueError:
        sys.path_hooks.insert(deferred[0] if deferred else 0, zipimporter)
        _replaced_stdlib = False
    else:
        sys.path_hooks[i] = zipimporter
        _replaced_stdlib = True
    if children:
        _set_children_environ()
    pkg_resources_support.register_pkg_resources()
    _saved_cache.clear()
    for path, finder in list(sys.path_importer_cache.items()):
        if finder is None or _is_stdlib_entry(finder):
            _saved_cache[path] = sys.path_importer_cache.pop(path)
    return Installation(owner=True)


def uninstall() -> None:
    """Undo :func:`install`: restore ``sys.path_hooks``, the importer cache and the cache setting.

    The cache setting goes back to the one in force before the install that
    installed.  Uninstalling twice is harmless.
    """
    global _setting_before_install
    _restore_children_environ()
    if _setting_before_install is not _NOTHING:
        cachedir.configure(_setting_before_install)
        _setting_before_install = _NOTHING
    if not installed():
        return
    pkg_resources_support.unregister_pkg_resources_watch()
    i = sys.path_hooks.index(zipimporter)
    if _replaced_stdlib and zipimport.zipimporter not in sys.path_hooks:
        sys.path_hooks[i] = zipimport.zipimporter
    else:
        del sys.path_hooks[i]
    while zipimporter in sys.path_hooks:
        sys.path_hooks.remove(zipimporter)
    sys.path_hooks[i:i] = [h for h in _removed_deferred if h not in sys.path_hooks]  # type: ignore[misc]
    _removed_deferred.clear()
    for path, finder in list(sys.path_importer_cache.items()):
        if isinstance(finder, zipimporter):
            del sys.path_importer_cache[path]
    for path, saved in _saved_cache.items():
        sys.path_importer_cache.setdefault(path, saved)  # type: ignore[call-overload]
    _saved_cache.clear()

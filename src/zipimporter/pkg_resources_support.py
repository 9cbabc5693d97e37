"""``pkg_resources`` and our importer: registering it as the stdlib's is registered.

``pkg_resources`` (setuptools < 81) picks a resource provider by the class of a
module's ``__loader__`` and a distribution finder by the class of a
``sys.path`` entry's importer, from registries that know
``zipimport.zipimporter``.  Ours is not a subclass, so it got ``NullProvider``
("unregistered loader type") and ``find_nothing``.  We register ours with the
same handlers the stdlib's has; they reach the archive through
``loader.archive``, ``.prefix`` and ``.get_data`` (and list it with
:mod:`zipfile` themselves).  We never import ``pkg_resources``: if it is not
imported yet, a finder at the front of ``sys.meta_path`` waits for it,
registers once its module has run, and takes itself off ``sys.meta_path``.

Imported by ``install()``: it must stay cheap to import.
"""

from __future__ import annotations

import sys

from .importer import zipimporter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["register_pkg_resources", "unregister_pkg_resources_watch"]

#: The pkg_resources module our class is registered with.
_registered_with: ModuleType | None = None


def register_pkg_resources() -> None:
    """Register our importer with ``pkg_resources`` now, or when it is imported.

    Idempotent.  Called by ``install()``; does nothing for a ``pkg_resources``
    that lacks the registration functions.
    """
    module = sys.modules.get("pkg_resources")
    if module is not None and getattr(module, "working_set", None) is not None:
        _register(module)
    elif not any(isinstance(f, _PkgResourcesWatch) for f in sys.meta_path):
        sys.meta_path.insert(0, _PkgResourcesWatch())


def unregister_pkg_resources_watch() -> None:
    """Stop waiting for ``pkg_resources`` (``uninstall()``); registrations made stay."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PkgResourcesWatch)]


def _register(pkg_resources: ModuleType) -> None:
    global _registered_with
    if _registered_with is pkg_resources:
        return
    try:
        register_loader_type = pkg_resources.register_loader_type
        register_finder = pkg_resources.register_finder
        register_namespace_handler = pkg_resources.register_namespace_handler
        provider = pkg_resources.ZipProvider
        finder = pkg_resources.find_eggs_in_zip
        ns_handler = pkg_resources.file_ns_handler
    except AttributeError:  # not the pkg_resources we know
        return
    register_loader_type(zipimporter, provider)
    register_finder(zipimporter, finder)
    register_namespace_handler(zipimporter, ns_handler)
    _registered_with = pkg_resources
    _add_archive_distributions(pkg_resources)


def _add_archive_distributions(pkg_resources: ModuleType) -> None:
    """Add to the master working set what it would have found in our importers' archives.

    pkg_resources builds its working set when imported, by asking each
    ``sys.path`` entry's importer; entries that were ours then got no
    distributions.  Each is scanned again now, as ``WorkingSet.add_entry``
    scans, and a distribution found in an entry earlier on the path than the
    one its project was found in takes its place, as it would have.
    """
    ws = getattr(pkg_resources, "working_set", None)
    if ws is None:
        return
    entries = list(ws.entries)
    for index, entry in enumerate(entries):
        if not isinstance(sys.path_importer_cache.get(entry), zipimporter):
            continue
        for dist in pkg_resources.find_distributions(entry, True):
            current = ws.by_key.get(dist.key)
            later = current is not None and all(
                dist.key not in ws.entry_keys.get(e, ()) for e in entries[: index + 1]
            )
            ws.add(dist, entry, False, replace=later)


class _PkgResourcesWatch:
    """A meta path finder that registers our importer once ``pkg_resources`` has run.

    It finds ``pkg_resources`` with the finders after it and wraps the
    loader of the spec they return, so that our registration runs right
    after the module's own code; it declines every other name.
    """

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        if fullname != "pkg_resources":
            return None
        try:
            later = sys.meta_path[sys.meta_path.index(self) + 1 :]
        except ValueError:
            return None
        for finder in later:
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec: ModuleSpec | None = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisterAfter(spec.loader)  # type: ignore[assignment]
        return spec

    def invalidate_caches(self) -> None:
        pass


class _RegisterAfter:
    """A loader that runs ``pkg_resources`` with its own loader, then registers us.

    The module gets its real loader back (``__loader__``, ``__spec__.loader``)
    before its code runs, so nothing but the import machinery ever sees this.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self.loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        loader = self.loader
        module.__loader__ = loader
        if module.__spec__ is not None:
            module.__spec__.loader = loader
        loader.exec_module(module)
        unregister_pkg_resources_watch()
        _register(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

"""Ship a bundle to every worker of a Dask cluster and import from it through zipimporter.

Needs the ``dask`` extra (``pip install "zipimporter[dask]"``, which pulls
``distributed``); ``import zipimporter`` never imports this module::

    from zipimporter.dask import ZipBundle, bundle_status

    client.register_plugin(ZipBundle("app.zip"))      # every worker, now and later
    client.submit(lambda: __import__("app").main()).result()
    client.register_plugin(ZipBundle("app.zip"))      # a rebuilt app.zip replaces it
    bundle_status(client)   # {worker address: {"app.zip": sha256 hex digest}}

On the client, :class:`ZipBundle` reads the bundle once and checks all of it
(:func:`zipimporter.inspection.verify_archive`: the directory, every member's
CRC-32 and local header, ``.pyc`` against source, source that compiles); a
damaged or hostile bundle raises :class:`~zipimporter.ZipImportError` naming
it, and nothing is sent.

On each worker (every current one, and every one that joins later) the
plugin's ``setup``:

1. checks that the bytes it received are the ones the client verified
   (SHA-256);
2. stores them under a content-addressed name, ``<sha256>.zip``: in
   zipimporter's cache directory (``<cache root>/bundles/``, shared by the
   workers of a machine and kept across worker restarts, so the directory
   index and compiled-source caches, which are keyed by the archive's path,
   are used again), or in ``worker.local_directory`` when the cache is off or
   not trusted (see :mod:`zipimporter.cachedir`).  A file already there with
   the same bytes is used as it is; otherwise the bytes go to a new temporary
   file (``fsync``'ed) that is linked (or renamed) into place, so no process
   ever sees a partial archive.  The worker keeps the stored file open, with a
   shared lock on it, for as long as the bundle is in force in the process
   (:func:`zipimporter.housekeeping.hold_bundle`): ``zipimporter cache prune``
   and ``clear`` (and the automatic prune) never remove a bundle a live
   worker holds, and its last use is refreshed at each setup;
3. opens the stored archive with zipimporter's reader;
4. installs zipimporter's hook in the worker process
   (:func:`zipimporter.install`), puts the archive first on ``sys.path`` and
   calls :func:`importlib.invalidate_caches`.

If any of steps 1-3 fails, ``setup`` raises (``client.register_plugin``
re-raises the first worker's error) and the worker is left as it was:
``sys.path``, ``sys.modules`` and the bundle registered before under the same
name are untouched.

Replacing a bundle
------------------
Registering a :class:`ZipBundle` with the ``name`` of one already registered
replaces it on every worker, without restarting them (``distributed`` calls
the old plugin's ``teardown``, then the new one's ``setup``; the old bundle's
removal is deferred until the new one is in place, so a failed ``setup`` keeps
it).  When the new bundle's bytes differ from the old's (and no other
registered name uses the old bytes):

- the old archive's path leaves ``sys.path``;
- these modules are dropped from ``sys.modules`` (see :func:`modules_from`):
  every module whose loader's ``archive`` attribute is the old archive's path
  (modules and packages imported by zipimporter's importer or the stdlib's from
  that archive, and extension modules zipimporter extracted from it), and every
  namespace package all of whose ``__path__`` entries lie inside the old
  archive;
- ``sys.path_importer_cache`` entries for the old archive (and paths inside
  it), its cached directory index and ``linecache`` entries are dropped.

The next task imports the new code.  Objects that other modules, or tasks still
running, hold from the old modules stay as they are (as with any reload);
extension modules can't be unloaded from a process, so a changed extension
module needs a worker restart (``client.restart()``).  Replace bundles between
computations: a task importing while its bundle is replaced may see either
version.  ``client.unregister_worker_plugin(name)`` removes a bundle the same
way.

``client.upload_file("app.zip", load=True)``, by comparison, writes the file
into each worker's local directory under its own name (over the old one),
puts it on ``sys.path`` if it is not there yet, and imports and reloads each
top-level module in it, through the stdlib's zipimporter: bzip2/lzma members
fail with ``zlib.error``, ZIP64 archives with more than 65,535 members import
nothing on 3.11/3.12, no CRC is checked, and source-only modules are compiled
again in every worker process.  Uploading a new version reloads the top-level
modules only: submodules already imported (``app.core``) keep the old code.
Every upload stays registered as a plugin of its own (file name + a UUID), so
a worker that joins later is sent every version uploaded so far, each written
to the same file name.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import linecache
import os
import sys
import tempfile
import zipimport
from types import ModuleType

from . import bytecode_cache, cachedir, housekeeping
from .directory import open_index
from .errors import ZipImportError
from .hooks import install
from .importer import _zip_directory_cache
from .inspection import Severity, verify_archive

#: ``import zipimporter.dask`` without ``distributed`` installed.
MISSING_DISTRIBUTED = (
    'zipimporter.dask needs the "distributed" package: pip install "zipimporter[dask]"'
)

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as exc:
    raise ImportError(MISSING_DISTRIBUTED, name=exc.name) from exc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from distributed import Client, Worker

__all__ = [
    "MISSING_DISTRIBUTED",
    "NEEDS_NAME",
    "NOT_STORED",
    "NOT_USABLE",
    "RECEIVED_DIFFERENT",
    "ZipBundle",
    "bundle_status",
    "check_bundle",
    "modules_from",
]

# -- messages (tests assert on these) -----------------------------------------

#: The client refuses a bundle that zipimporter can't open or whose members
#: fail :func:`~zipimporter.inspection.verify_archive`.  *problem* is the first
#: error (the archive named as *bundle*), *more* says how many others there are.
NOT_USABLE = "bundle {bundle!r} can't be used: {problem}{more}"
NOT_USABLE_MORE = " (and {count} more; 'zipimporter verify' lists them all)"
#: A worker received bytes other than those the client verified.
RECEIVED_DIFFERENT = (
    "bundle {bundle!r} arrived damaged on this worker: its SHA-256 is not the one "
    "the client verified"
)
#: A worker could not store the bundle (disk full, permissions, ...).
NOT_STORED = "bundle {bundle!r} could not be stored in {directory}: {error}"
#: ``ZipBundle(bytes)`` without ``name=``.
NEEDS_NAME = "ZipBundle(bytes) needs a name=: it names the bundle on the workers and in errors"

#: The subdirectory of zipimporter's cache root that holds bundles.
BUNDLES = housekeeping.BUNDLES
#: The subdirectory of ``worker.local_directory`` used when the cache is off or untrusted.
LOCAL_BUNDLES = "zipimporter-bundles"

SEP = os.sep

# -- worker-process state ------------------------------------------------------

#: The bundles in force in this process: name -> (archive path, SHA-256 hex digest).
_active: dict[str, tuple[str, str]] = {}
#: The stored file of each archive path in ``_active``, held open (and locked)
#: so that cache housekeeping leaves it alone while this process uses it.
_held: dict[str, housekeeping.BundleHold] = {}
#: Removals that ``teardown`` deferred, by name: the ``setup`` of a replacement
#: that follows calls them off and does the swap itself.
_pending: dict[str, asyncio.Handle] = {}


class ZipBundle(WorkerPlugin):
    """A ``distributed`` worker plugin that imports *bundle* through zipimporter on every worker.

    *bundle* is the path of a ZIP archive (any ``os.PathLike``) or its bytes.
    *name* identifies it on the cluster: registering another ``ZipBundle`` of
    the same name replaces this one on every worker.  It defaults to the file
    name of *bundle* (``"app.zip"``); bytes need a *name*.

    The bundle is read once and verified here, on the client; ZipImportError
    (``path`` = the bundle's path, or *name* for bytes) is raised if
    zipimporter can't open it or any member fails verification (warnings,
    such as "no runtime for bzip2 members", don't count).  OSError is raised
    if the file can't be read, TypeError for bytes without a *name*.
    """

    idempotent = False  # a new version under the same name replaces the old one

    name: str
    data: bytes
    digest: str  # SHA-256 of data, hex
    label: str  # how errors name the bundle

    def __init__(
        self,
        bundle: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        name: str | None = None,
    ) -> None:
        if isinstance(bundle, bytes | bytearray | memoryview):
            if name is None:
                raise TypeError(NEEDS_NAME)
            data, label = bytes(bundle), name
        else:
            label = os.fspath(bundle)
            with open(label, "rb") as fp:
                data = fp.read()
            if name is None:
                name = os.path.basename(label)
        self.name = name
        self.label = label
        self.data = data
        self.digest = hashlib.sha256(data).hexdigest()
        check_bundle(data, label)

    def __repr__(self) -> str:
        return f"<ZipBundle {self.name!r} {self.digest[:12]} ({len(self.data)} bytes)>"

    async def setup(self, worker: Worker) -> None:
        """Store the bundle on this worker and import from it (see the module docstring)."""
        # A teardown of the previous version under this name has just deferred
        # its removal: call it off, and swap in place once this one is ready
        # (or keep the old one if it never gets ready).
        pending = _pending.pop(self.name, None)
        if pending is not None:
            pending.cancel()
        hold = await asyncio.to_thread(self._store, worker.local_directory)
        try:
            _activate(self.name, hold, self.digest)
        except BaseException:
            if _held.get(hold.path) is not hold:
                hold.close()
            raise

    def teardown(self, worker: Worker) -> None:
        """Drop the bundle from this worker, unless a replacement's setup follows at once."""
        if self.name not in _active:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _deactivate(self.name)
            return
        old = _pending.pop(self.name, None)
        if old is not None:
            old.cancel()
        _pending[self.name] = loop.call_soon(_deactivate, self.name)

    def _store(self, local_directory: str) -> housekeeping.BundleHold:
        """The bundle stored on this worker, held (steps 1-3 of the module docstring).

        The hold keeps the stored file from being pruned until it is closed
        (or the process ends).  ZipImportError (``path`` = the bundle's label)
        if the bytes are not the ones verified, can't be stored, or the stored
        archive can't be opened; nothing is left behind but an archive of
        exactly the verified bytes, and nothing is held.
        """
        if hashlib.sha256(self.data).hexdigest() != self.digest:
            raise ZipImportError(RECEIVED_DIFFERENT.format(bundle=self.label), path=self.label)
        directory = local_directory
        data = self.data
        try:
            directory = _bundle_directory(local_directory)
            hold, created = housekeeping.hold_bundle(
                directory, f"{self.digest}.zip", lambda path: _store_bytes(path, data)
            )
        except OSError as exc:
            raise ZipImportError(
                NOT_STORED.format(bundle=self.label, directory=directory, error=exc),
                path=self.label,
            ) from None
        path = hold.path
        try:
            _zip_directory_cache[path] = open_index(path)
        except ZipImportError as exc:
            if created:
                _unlink(path)
            hold.close()
            raise ZipImportError(
                _name_bundle(str(exc), path, self.label), path=self.label
            ) from None
        return hold


def bundle_status(client: Client) -> dict[str, dict[str, str]]:
    """The bundles in force on each worker: ``{worker address: {name: SHA-256 hex digest}}``.

    Every worker should show the same names and digests (those of the
    :class:`ZipBundle` objects registered); a worker that joined while a
    registration failed, or failed one itself, shows what it really has.
    """
    result: dict[str, dict[str, str]] = client.run(_worker_status)
    return result


def modules_from(archive: str) -> list[str]:
    """The names of the modules in ``sys.modules`` that came from *archive* (a path on sys.path).

    A module came from it if its loader's ``archive`` attribute is *archive*
    (zipimporter's importer, the stdlib's, and zipimporter's extension
    loader have one), or if it is a namespace package all of whose
    ``__path__`` entries lie inside *archive*.  These are the modules dropped
    when a bundle is replaced or removed.
    """
    inside = archive + SEP
    names = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, ModuleType):
            continue
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None) or getattr(module, "__loader__", None)
        if getattr(loader, "archive", None) == archive:
            names.append(name)
            continue
        if spec is None or spec.origin not in (None, "namespace"):
            continue
        try:
            locations = [str(p) for p in getattr(module, "__path__", None) or ()]
        except Exception:  # a namespace path that can't be recomputed: not ours to judge
            continue
        if locations and all(p.startswith(inside) for p in locations):
            names.append(name)
    return names


# -- client side -----------------------------------------------------------------


def check_bundle(data: bytes, label: str) -> None:
    """Verify the bundle *data* as :class:`ZipBundle` does; ZipImportError names it as *label*.

    The bytes are checked in a private temporary file, so what is verified is
    exactly what is sent.  The error gives the first problem
    :func:`~zipimporter.inspection.verify_archive` reports as an error.
    """
    with tempfile.TemporaryDirectory(prefix="zipimporter-dask-") as tmp:
        path = os.path.join(tmp, "bundle.zip")
        with open(path, "wb") as fp:
            fp.write(data)
        errors = [p for p in verify_archive(path) if p.severity is Severity.ERROR]
        if not errors:
            return
        first = errors[0]
        problem = _name_bundle(first.problem, path, label)
        if first.member:
            problem = f"{first.member}: {problem}"
        more = NOT_USABLE_MORE.format(count=len(errors) - 1) if len(errors) > 1 else ""
    raise ZipImportError(NOT_USABLE.format(bundle=label, problem=problem, more=more), path=label)


def _name_bundle(message: str, path: str, label: str) -> str:
    """*message* with the temporary or stored *path* of a bundle shown as *label*."""
    return message.replace(path, label)


# -- worker side -------------------------------------------------------------------


def _worker_status() -> dict[str, str]:
    return {name: digest for name, (_, digest) in _active.items()}


def _bundle_directory(local_directory: str) -> str:
    """Where this worker keeps bundles: the trusted cache's ``bundles/``, else the worker's own."""
    root = cachedir.cache_root()
    if root is not None:
        directory = cachedir.trusted_dir(root, BUNDLES, create=True)
        if directory is not None:
            return directory
    directory = os.path.join(os.path.abspath(local_directory), LOCAL_BUNDLES)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return directory


def _holds(path: str, data: bytes) -> bool:
    """Whether *path* is a regular file (not a symlink) holding exactly *data*."""
    return cachedir.read_file(path, len(data)) == data


def _store_bytes(path: str, data: bytes) -> bool:
    """Make *path* hold *data*; True if it was written now, False if it already did.

    The bytes go to a new temporary file beside *path*, flushed to disk, then
    hard-linked to *path* (a file another process put there first is kept if it
    holds the same bytes) or, where links can't be made, renamed over it.
    OSError if the file can't be written.
    """
    if _holds(path, data):
        return False
    tmp = f"{path}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        cachedir.write_new(tmp, data, 0o600, sync=True)
        try:
            os.link(tmp, path)
        except FileExistsError:
            if _holds(path, data):
                return False
            os.replace(tmp, path)  # something else is there: ours replaces it
        except OSError:
            os.replace(tmp, path)  # no hard links on this file system
    finally:
        _unlink(tmp)
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _in_use(path: str) -> bool:
    return any(p == path for p, _ in _active.values())


def _activate(name: str, hold: housekeeping.BundleHold, digest: str) -> None:
    """Make the archive that *hold* holds the bundle *name* in this process.

    The version it replaces is dropped (and released) unless another name
    uses it.  *hold* is kept (or closed, if its path is held already).
    """
    install()
    path = hold.path
    kept = _held.setdefault(path, hold)
    if kept is not hold:
        hold.close()  # one hold per path is enough
    previous = _active.get(name)
    _active[name] = (path, digest)
    if previous is not None and previous[0] != path and not _in_use(previous[0]):
        _forget(previous[0])
    if path not in sys.path:
        sys.path.insert(0, path)
        sys.path_importer_cache.pop(path, None)  # e.g. a None left by an earlier lookup
    importlib.invalidate_caches()


def _deactivate(name: str) -> None:
    """Drop the bundle *name* from this process (teardown's deferred removal)."""
    _pending.pop(name, None)
    entry = _active.pop(name, None)
    if entry is not None and not _in_use(entry[0]):
        _forget(entry[0])
        importlib.invalidate_caches()


def _forget(path: str) -> None:
    """Take the archive *path* off sys.path, with its modules and cached state; release it.

    What the worker compiled from it so far is written now (the packs are
    otherwise written in batches and at exit, which a killed worker never
    reaches): a worker that gets the bundle again starts warm.
    """
    bytecode_cache.flush()
    hold = _held.pop(path, None)
    if hold is not None:
        hold.close()
    inside = path + SEP
    # Decide first, then delete: a namespace package's __path__ is computed
    # from its parent, which must still be there when asked.
    for module in modules_from(path):
        sys.modules.pop(module, None)
    sys.path[:] = [p for p in sys.path if p != path]
    for key in list(sys.path_importer_cache):
        if isinstance(key, str) and (key == path or key.startswith(inside)):
            del sys.path_importer_cache[key]
    _zip_directory_cache.pop(path, None)
    zipimport._zip_directory_cache.pop(path, None)  # type: ignore[attr-defined]
    for filename in list(linecache.cache):
        if filename.startswith(inside):
            del linecache.cache[filename]

"""The importer: a PEP 451 finder and loader for one archive path.

Behaviour follows the stdlib ``zipimport.zipimporter`` of the running Python
(3.11, 3.12 or 3.13); the archive reading underneath is ours (``archive.py``).
"""

from __future__ import annotations

import _imp
import os
import sys

from . import archive, bytecode, bytecode_cache, directory
from .archive import ArchiveChanged, DirectoryIndex, Member, check_same_file, read_member
from .directory import open_index
from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from importlib import _bootstrap, _bootstrap_external
    from types import CodeType, ModuleType
    from typing import TypeVar

    T = TypeVar("T")
else:
    # importlib._bootstrap and ._bootstrap_external, without importing the
    # importlib package (and, before 3.13, warnings with it) or types.
    import _frozen_importlib as _bootstrap
    import _frozen_importlib_external as _bootstrap_external

    ModuleType = type(sys)

Files = DirectoryIndex | dict[str, Member]  # dict: the empty stand-in for an unreadable archive
# (path in the archive, kind, ispackage, member); kind is _SOURCE, _PYC or _CACHED.
Candidate = tuple[str, int, bool, Member]

# importlib.machinery.ModuleSpec, without importing importlib.machinery.
ModuleSpec = _bootstrap.ModuleSpec
# The stdlib zipimporter's own helpers (private to importlib; stable since 3.4).
_LoaderBasics = _bootstrap_external._LoaderBasics  # type: ignore[attr-defined]
_path_split = _bootstrap_external._path_split  # type: ignore[attr-defined]
_path_join = _bootstrap_external._path_join  # type: ignore[attr-defined]
_fix_up_module = _bootstrap_external._fix_up_module  # type: ignore[attr-defined]
_verbose_message = _bootstrap._verbose_message  # type: ignore[attr-defined]

__all__ = ["ZipImportError", "forget_bytes", "from_bytes", "zipimporter"]

SEP = os.sep
ALT_SEP = os.altsep or ""

# The messages of the importer's own errors (each also carries name= and
# path=, the archive).
#: A module (or package) that isn't in the archive.
CANT_FIND_MODULE = "can't find module {fullname!r} in {archive!r}"
#: Every candidate file of a module was unusable (a damaged or foreign .pyc, no source).
MODULE_LOAD_FAILED = "module load failed: {error} (in {archive!r})"
#: A source that can't be decoded by its coding cookie.
CANT_DECODE_SOURCE = "can't decode the source of {fullname!r} in {archive!r}: {error}"
#: The archive changed on disk again while an operation was being redone for a change.
ARCHIVE_KEEPS_CHANGING = archive.ARCHIVE_KEEPS_CHANGING

#: Archive path -> :class:`DirectoryIndex`, shared by all importers of that
#: archive.  The name and its ``clear()``/``get()``/``pop()`` semantics are the
#: stdlib's, which its tests and ``pkgutil`` reach into.
_zip_directory_cache: dict[str, DirectoryIndex] = {}

# What a candidate file of a module is: its source, a .pyc beside the source
# (the stdlib zipimport's kind), or a PEP 3147 .pyc in __pycache__.
_SOURCE, _PYC, _CACHED = 0, 1, 2

# How a module is looked for: package __init__ before module, bytecode before
# source (the stdlib's _zip_searchorder).
_SEARCH_ORDER = (
    (SEP + "__init__.pyc", _PYC, True),
    (SEP + "__init__.py", _SOURCE, True),
    (".pyc", _PYC, False),
    (".py", _SOURCE, False),
)

# A source's compiled form in __pycache__ (PEP 3147/488), as FileFinder would
# write it for this interpreter and optimization level: tried after a .pyc
# beside the source (the stdlib's kind), only when the source is there.
_CACHE_TAG = sys.implementation.cache_tag
_PYCACHE = f"__pycache__{SEP}"
_PYCACHE_SUFFIX = (
    None
    if _CACHE_TAG is None
    else f".{_CACHE_TAG}{f'.opt-{sys.flags.optimize}' if sys.flags.optimize else ''}.pyc"
)

# Extension modules (see extraction.py) come before these, as with FileFinder.
# An archive whose central directory contains none of the suffixes' last
# parts (b".so", b".pyd") has none, and isn't probed for them: a scan once per
# index, skipped (always probing) for directories over _SCAN_LIMIT bytes.
_EXTENSION_SUFFIXES = tuple(_imp.extension_suffixes())
_EXTENSION_TAILS = tuple({("." + s.rpartition(".")[2]).encode() for s in _EXTENSION_SUFFIXES})
_SCAN_LIMIT = 1 << 20

# sys.flags can't change in a running process: -v given twice shows each candidate tried.
_VERBOSE = sys.flags.verbose


def _mentions(files: Files, key: str, needles: tuple[bytes, ...]) -> bool:
    """Whether the central directory of *files* may hold any of *needles* (False: certainly not).

    Scanned once per index and remembered under *key*; a directory over
    _SCAN_LIMIT bytes is not scanned (always "may").  Most archives have no
    extension modules and no ``__pycache__``, and are then never probed for them.
    """
    if not isinstance(files, DirectoryIndex):
        return False  # the empty stand-in for an unreadable archive
    found = files.memo.get(key)
    if found is None:
        records = files._records
        found = files.memo[key] = len(records) > _SCAN_LIMIT or any(
            needle in records for needle in needles
        )
    return bool(found)


def _in_memory(files: Files) -> bool:
    """Whether *files* indexes an archive given as bytes (``from_bytes``), or one inside it."""
    source = files.source if isinstance(files, DirectoryIndex) else None
    return source is not None and source.file is None


def _is_dir(files: Files, path: str) -> bool:
    """Whether *path* (ending with ``os.sep``) is a directory, explicit or implicit."""
    if isinstance(files, DirectoryIndex):
        return files.is_dir(path)
    return path in files


class _PendingCode:
    """The code object ``find_spec`` built, kept on the spec for ``exec_module``.

    The stdlib compiles a module twice (once to name ``__file__``, once to run
    it); handing the first result over through ``spec.loader_state`` avoids that.
    """

    __slots__ = ("code",)

    def __init__(self, code: CodeType) -> None:
        self.code: CodeType | None = code


class zipimporter(_LoaderBasics):  # type: ignore[misc,valid-type]  # noqa: N801
    """zipimporter(archivepath) -> zipimporter object

    Create a new zipimporter instance. 'archivepath' must be a path to a
    zipfile, or to a specific path inside a zipfile. For example, it can be
    '/tmp/myimport.zip', or '/tmp/myimport.zip/mydirectory', if mydirectory is
    a valid directory inside the archive.

    Beyond the stdlib: a member that is itself a zipfile is an archive too
    ('/tmp/outer.zip/inner.zip/mydirectory': archive '/tmp/outer.zip/inner.zip',
    to any depth), and so are the path entries from_bytes() returns.

    ZipImportError is raised if 'archivepath' doesn't point to a valid Zip
    archive.

    The 'archive' attribute of zipimporter objects contains the name of the
    zipfile targeted.
    """

    archive: str
    prefix: str

    def __init__(self, archivepath: str | os.PathLike[str]) -> None:
        # os.PathLike is accepted as a convenience; bytes are refused, as by
        # the stdlib.
        path = os.fspath(archivepath) if isinstance(archivepath, os.PathLike) else archivepath
        if not isinstance(path, str):
            raise TypeError(f"expected str, not {type(archivepath)!r}")
        if not path:
            raise ZipImportError("archive path is empty", path=path)
        if ALT_SEP:
            path = path.replace(ALT_SEP, SEP)

        # The first existing part of the path is the archive file (or a
        # <memory:...> entry); members named by the parts after it that are
        # archives themselves lead into those; the rest is the prefix.
        root, parts = directory.split_path(path)
        self.archive, _, parts = directory.resolve(root, parts, _zip_directory_cache)
        self.prefix = _path_join(*parts)
        if self.prefix:
            self.prefix += SEP

    # -- finder -------------------------------------------------------------

    def find_spec(self, fullname: str, target: ModuleType | None = None) -> ModuleSpec | None:
        """Create a ModuleSpec for the specified module.

        Returns None if the module cannot be found.
        """
        return self._retry_if_changed(self._find_spec, fullname)

    def _find_spec(self, fullname: str) -> ModuleSpec | None:
        path = self._module_path(fullname)
        files, candidates = self._candidates(fullname, path)
        python_package = bool(candidates) and candidates[0][2]
        extension = self._extension(files, path, python_package)
        if extension is not None:
            from . import extraction

            return extraction.extension_spec(self, fullname, files, *extension)
        if candidates:
            try:
                code, ispackage, modpath = self._code_from(fullname, files, candidates)
            except ZipImportError:
                ispackage = candidates[0][2]
                # As the stdlib: still a spec (origin '<unknown>'), so that
                # find_spec() doesn't raise; loading it raises the error.
                return _bootstrap.spec_from_loader(fullname, self, is_package=ispackage)
            # As spec_from_loader() builds it for the stdlib: origin is
            # __file__ exactly as get_filename() gives it, not made absolute.
            spec = ModuleSpec(fullname, self, origin=modpath, is_package=ispackage)
            spec.has_location = True
            if ispackage:
                dirname = _path_split(modpath)[0]
                spec.submodule_search_locations = [dirname]
            if (
                _PYCACHE_SUFFIX is not None
                and modpath.endswith(".py")
                and sys.pycache_prefix is None
            ):
                # __cached__, as importlib's cache_from_source() would give it
                # later (about 3 us): its simple case, done here.
                head, sep, tail = modpath.rpartition(SEP)
                spec.cached = f"{head}{sep}{_PYCACHE}{tail[:-3]}{_PYCACHE_SUFFIX}"
            spec.loader_state = _PendingCode(code)
            return spec
        # Not a module or regular package: a directory, with an entry of its
        # own or implied by the names below it (as CPython 3.14 sees it), may
        # be a portion of a namespace package.
        if _is_dir(files, path + SEP):
            spec = ModuleSpec(name=fullname, loader=None, is_package=True)
            assert spec.submodule_search_locations is not None
            spec.submodule_search_locations.append(f"{self.archive}{SEP}{path}")
            return spec
        return None

    def invalidate_caches(self) -> None:
        """Invalidates the cache of file data of the archive path."""
        _zip_directory_cache.pop(self.archive, None)

    if sys.version_info < (3, 12):

        def find_loader(
            self, fullname: str, path: object = None
        ) -> tuple[zipimporter | None, list[str]]:
            """Deprecated since Python 3.10. Use find_spec() instead."""
            import warnings

            warnings.warn(
                "zipimporter.find_loader() is deprecated and slated for "
                "removal in Python 3.12; use find_spec() instead",
                DeprecationWarning,
                stacklevel=2,
            )
            if self._module_info(fullname) is not None:
                return self, []
            modpath = self._module_path(fullname)
            if _is_dir(self._get_files(), modpath + SEP):
                return None, [f"{self.archive}{SEP}{modpath}"]
            return None, []

        def find_module(self, fullname: str, path: object = None) -> zipimporter | None:
            """Deprecated since Python 3.10. Use find_spec() instead."""
            import warnings

            warnings.warn(
                "zipimporter.find_module() is deprecated and slated for "
                "removal in Python 3.12; use find_spec() instead",
                DeprecationWarning,
                stacklevel=2,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return self.find_loader(fullname, path)[0]

    # -- loader -------------------------------------------------------------

    def get_code(self, fullname: str) -> CodeType:
        """Return the code object for the specified module.

        Raise ZipImportError if the module couldn't be imported.
        """
        module = sys.modules.get(fullname)
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            pending = spec.loader_state
            if isinstance(pending, _PendingCode) and pending.code is not None:
                code, pending.code = pending.code, None
                return code
        return self._module_code(fullname)[0]

    def get_data(self, pathname: str) -> bytes:
        """Return the data of a member, by path (absolute or archive-relative).

        Raise OSError if the member isn't in the archive.
        """
        if ALT_SEP:
            pathname = pathname.replace(ALT_SEP, SEP)
        key = pathname
        if pathname.startswith(self.archive + SEP):
            key = pathname[len(self.archive + SEP) :]
        return self._retry_if_changed(self._get_data, key)

    def _get_data(self, key: str) -> bytes:
        files = self._get_files()
        member = files.get(key)
        if member is None:
            files = self._fresh_files()
            member = files.get(key)
            if member is None:
                if key.endswith(SEP) and _is_dir(files, key):
                    return b""  # an implicit directory, as on 3.14
                raise OSError(0, "", key)
        return self._read(files, member)

    def get_filename(self, fullname: str) -> str:
        """Return the filename (``__file__``) for the specified module.

        Raise ZipImportError if it couldn't be imported.
        """
        return self._module_code(fullname)[2]

    def get_source(self, fullname: str) -> str | None:
        """Return the source code for the specified module.

        Raise ZipImportError if the module couldn't be found, return None if
        the archive does contain the module, but has no source for it.
        """
        ispackage = self._module_info(fullname)
        if ispackage is None:
            raise self._not_found(fullname)
        path = self._module_path(fullname)
        fullpath = path + SEP + "__init__.py" if ispackage else path + ".py"
        try:
            data = self._retry_if_changed(self._get_data, fullpath)
        except OSError:  # _get_data's "not in the archive": no source, only bytecode
            return None
        try:
            return bytecode.decode_source(data)
        except (SyntaxError, UnicodeError, LookupError) as exc:
            raise ZipImportError(
                CANT_DECODE_SOURCE.format(fullname=fullname, archive=self.archive, error=exc),
                name=fullname,
                path=self.archive,
            ) from None

    def is_package(self, fullname: str) -> bool:
        """Return True if the module specified by fullname is a package.

        Raise ZipImportError if the module couldn't be found.
        """
        ispackage = self._module_info(fullname)
        if ispackage is None:
            raise self._not_found(fullname)
        return ispackage

    def load_module(self, fullname: str) -> ModuleType:
        """Load and return the module named by 'fullname'.

        Deprecated since Python 3.10. Use exec_module() instead.
        """
        import warnings

        warnings.warn(
            "zipimport.zipimporter.load_module() is deprecated and slated for "
            "removal in Python 3.12; use exec_module() instead",
            DeprecationWarning,
            stacklevel=2,
        )
        code, ispackage, modpath = self._module_code(fullname)
        mod = sys.modules.get(fullname)
        if mod is None or not isinstance(mod, ModuleType):
            mod = ModuleType(fullname)
            sys.modules[fullname] = mod
        mod.__loader__ = self
        try:
            if ispackage:
                # __path__ must be set before the code runs.
                path = self._module_path(fullname)
                mod.__path__ = [_path_join(self.archive, path)]
            if not hasattr(mod, "__builtins__"):
                mod.__builtins__ = __builtins__  # type: ignore[attr-defined]
            _fix_up_module(mod.__dict__, fullname, modpath)
            exec(code, mod.__dict__)
        except BaseException:
            del sys.modules[fullname]
            raise
        try:
            mod = sys.modules[fullname]
        except KeyError:
            raise ImportError(f"Loaded module {fullname!r} not found in sys.modules") from None
        _verbose_message("import {} # loaded from Zip {}", fullname, modpath)
        return mod

    def get_resource_reader(self, fullname: str) -> object:
        """Return the ResourceReader for a module (3.13) or package (3.11/3.12).

        Its ``files()`` is served from this importer's index and read through
        ``get_data`` (see :mod:`zipimporter.resources`); the stdlib's
        ``ZipReader`` reads the archive again with ``zipfile`` each time.
        On 3.13, as there, a name not in the archive raises ZipImportError.
        """
        ispackage = None
        if sys.version_info < (3, 13):
            try:
                if not self.is_package(fullname):
                    return None
            except ZipImportError:
                return None
            ispackage = True
        from .resources import reader

        return reader(self, fullname, ispackage)

    # -- pkgutil ------------------------------------------------------------

    def iter_modules(self, prefix: str = "") -> Iterator[tuple[str, bool]]:
        """Yield (name, ispkg) for the modules directly under this importer's prefix.

        ``pkgutil.iter_modules()`` calls this (it dispatches on the stdlib
        class for its own zip support).
        """
        import inspect

        plen = len(self.prefix)
        seen = set()
        for name in sorted(self._get_files()):
            if not name.startswith(self.prefix):
                continue
            parts = name[plen:].split(SEP)
            if (
                len(parts) == 2
                and (
                    parts[1].startswith("__init__.py")
                    or inspect.getmodulename(parts[1]) == "__init__"
                )
                and parts[0] not in seen
            ):
                seen.add(parts[0])
                yield prefix + parts[0], True
            if len(parts) != 1:
                continue
            modname = inspect.getmodulename(parts[0])
            if modname and modname != "__init__" and "." not in modname and modname not in seen:
                seen.add(modname)
                yield prefix + modname, False

    # -- internals ----------------------------------------------------------

    def _get_files(self) -> Files:
        """The archive's index, read again if it was invalidated; empty if unreadable."""
        try:
            return _zip_directory_cache[self.archive]
        except KeyError:
            try:
                files = _zip_directory_cache[self.archive] = open_index(
                    self.archive, _zip_directory_cache
                )
            except ZipImportError:
                return {}
            return files

    @property
    def _files(self) -> Files:
        # 3.11/3.12 name of the same thing.
        return self._get_files()

    def _module_path(self, fullname: str) -> str:
        return self.prefix + fullname.rpartition(".")[2]

    # An archive rewritten on disk is noticed wherever a stale index could
    # give a wrong answer: a read compares fstat of the open file with the
    # index's stat (read_member); an answer given without reading the archive
    # (a miss, or code from the bytecode cache) stats it first.  Either way
    # the index is read again and the operation redone, once.  (The stdlib
    # reads new bytes at old offsets until invalidate_caches().)  The signal,
    # archive.ArchiveChanged, is not an ImportError, so no handler of a read's
    # errors can swallow it: only _retry_if_changed (which redoes) and
    # _fresh_files (which re-reads before anything was done) catch it.

    def _retry_if_changed(self, operation: Callable[..., T], *args: object) -> T:
        """Run *operation(*args)*; if the archive changed, re-read its directory and run it again.

        A second change in a row raises ZipImportError (ARCHIVE_KEEPS_CHANGING):
        the internal ArchiveChanged signal never leaves the importer.
        """
        try:
            return operation(*args)
        except ArchiveChanged:
            self.invalidate_caches()
        try:
            return operation(*args)
        except ArchiveChanged:
            raise ZipImportError(
                ARCHIVE_KEEPS_CHANGING.format(archive=self.archive), path=self.archive
            ) from None

    def _not_found(self, fullname: str) -> ZipImportError:
        return ZipImportError(
            CANT_FIND_MODULE.format(fullname=fullname, archive=self.archive),
            name=fullname,
            path=self.archive,
        )

    def _check_unchanged(self, files: Files) -> None:
        """Raise ArchiveChanged if the archive on disk is not the one *files* indexed.

        For an archive inside another that is the outer file; an archive in
        memory never changes.
        """
        if isinstance(files, DirectoryIndex) and files.stat is not None:
            source = files.source
            try:
                now = os.stat(self.archive if source is None else source.file)  # type: ignore[arg-type]
            except OSError:
                return  # gone: reading a member will say so
            check_same_file(self.archive, now, files.stat)

    def _fresh_files(self) -> Files:
        """The index, read again first if the archive changed on disk since it was made."""
        files = self._get_files()
        try:
            self._check_unchanged(files)
        except ArchiveChanged:
            self.invalidate_caches()
            files = self._get_files()
        return files

    def _read(self, files: Files, member: Member) -> bytes:
        """A member's bytes, refused if the archive is no longer the one *files* indexed."""
        if isinstance(files, DirectoryIndex):
            source = files.source
            kept = files.kept_file() if source is None else None
            return read_member(self.archive, member, files.stat, source, kept)
        return read_member(self.archive, member)

    def _candidates(self, fullname: str, path: str | None = None) -> tuple[Files, list[Candidate]]:
        """The index and the (path, kind, ispackage, member) of a module's files, in order.

        The stdlib's four (package ``__init__.pyc``, ``__init__.py``, then
        module ``.pyc``, ``.py``), and right before the first source found
        its ``__pycache__`` ``.pyc`` for this interpreter, if there is one.
        *path* is ``_module_path(fullname)``, if the caller has it.
        """
        if path is None:
            path = self._module_path(fullname)
        files: Files
        try:
            files = _zip_directory_cache[self.archive]
        except KeyError:
            files = self._get_files()
        for attempt in range(2):
            found: list[Candidate] = []
            get = files.get
            for suffix, kind, ispackage in _SEARCH_ORDER:
                name = path + suffix
                member = get(name)
                if member is not None:
                    found.append((name, kind, ispackage, member))
            if found or attempt:
                break
            fresh = self._fresh_files()  # a miss: maybe the archive gained it
            if fresh is files:
                break
            files = fresh
        if (
            _PYCACHE_SUFFIX is not None
            and found
            and _mentions(files, "pycache", (b"__pycache__/",))
        ):
            for i, (fullpath, kind, ispackage, _) in enumerate(found):
                if kind == _SOURCE:
                    head, sep, tail = fullpath.rpartition(SEP)
                    cached = f"{head}{sep}{_PYCACHE}{tail[:-3]}{_PYCACHE_SUFFIX}"
                    member = files.get(cached)
                    if member is not None:
                        found.insert(i, (cached, _CACHED, ispackage, member))
                    break
        return files, found

    def _module_info(self, fullname: str) -> bool | None:
        """True for a package, False for a module, None if not in the archive."""
        path = self._module_path(fullname)
        files = self._fresh_files()
        found = None
        for suffix, _, ispackage in _SEARCH_ORDER:
            if path + suffix in files:
                found = ispackage
                break
        if not found:  # an extension module, or extension package, may come first
            extension = self._extension(files, path, False)
            if extension is not None:
                return extension[2]
        return found

    def _extension(
        self, files: Files, path: str, python_package: bool
    ) -> tuple[str, Member, bool] | None:
        """(name, member, ispackage) of the extension module at *path*, if it comes first.

        FileFinder's order: a package before a module, an extension before
        Python; *python_package* says a Python package was found.
        """
        if isinstance(files, DirectoryIndex) and files.memo.get("extensions") is False:
            return None  # the common case, without a call
        if not _mentions(files, "extensions", _EXTENSION_TAILS):
            return None
        for stem, ispackage in ((path + SEP + "__init__", True), (path, False)):
            if python_package and not ispackage:
                break
            for suffix in _EXTENSION_SUFFIXES:
                member = files.get(stem + suffix)
                if member is not None:
                    return stem + suffix, member, ispackage
        return None

    def _module_code(self, fullname: str) -> tuple[CodeType, bool, str]:
        """Return (code, ispackage, __file__) of the first usable candidate."""
        return self._retry_if_changed(
            lambda: self._code_from(fullname, *self._candidates(fullname))
        )

    def _code_from(
        self, fullname: str, files: Files, candidates: list[Candidate]
    ) -> tuple[CodeType, bool, str]:
        import_error: ImportError | None = None
        for i, (fullpath, kind, ispackage, member) in enumerate(candidates):
            if _VERBOSE >= 2:
                _verbose_message("trying {}{}{}", self.archive, SEP, fullpath, verbosity=2)
            modpath = f"{self.archive}{SEP}{fullpath}"
            if kind == _PYC:
                # The .py beside it, if any, is the next candidate: no second lookup.
                source = None
                for later in candidates[i + 1 :]:  # at most three
                    if later[0] == fullpath[:-1]:
                        source = later[3]
                        break
                try:
                    code = self._pyc_code(files, member, source, fullname, fullpath)
                except ImportError as exc:
                    import_error = exc
                    continue
                if code is None:
                    _verbose_message(f"bytecode is stale for {fullname!r}")
                    continue
            elif kind == _CACHED:
                # Its source is the next candidate, and gives __file__.  An
                # unusable or stale one is skipped: the source is there.
                sourcepath, _, _, source = candidates[i + 1]
                modpath = f"{self.archive}{SEP}{sourcepath}"
                try:
                    code = self._pyc_code(files, member, source, fullname, fullpath)
                except ImportError as exc:
                    _verbose_message(f"{exc}; using the source")
                    continue
                if code is None:
                    _verbose_message(f"{fullpath} is stale for {fullname!r}")
                    continue
                _imp._fix_co_filename(code, modpath)  # type: ignore[attr-defined]
            elif _in_memory(files):
                # Nothing of an archive given as bytes goes to disk (it may
                # have been decrypted): compiled every time, never cached.
                code = self._compile(self._read(files, member), fullname, modpath)
            else:
                code = bytecode_cache.load(self.archive, member, modpath)
                if code is not None:
                    self._check_unchanged(files)  # the archive itself wasn't read
                else:
                    code = self._compile(self._read(files, member), fullname, modpath)
                    bytecode_cache.store(self.archive, member, modpath, code)
            return code, ispackage, modpath
        if import_error is not None:
            raise ZipImportError(
                MODULE_LOAD_FAILED.format(error=import_error, archive=self.archive),
                name=fullname,
                path=self.archive,
            ) from import_error
        raise self._not_found(fullname)

    def _pyc_code(
        self, files: Files, member: Member, source: Member | None, fullname: str, fullpath: str
    ) -> CodeType | None:
        """The code in the .pyc *member*, None if stale against *source* (ImportError if unusable).

        A timestamp .pyc is checked against the source member's time and
        size, a hash-based one per ``check_source``/``--check-hash-based-pycs``.
        """
        data = self._read(files, member)
        stamp = None
        # A hash-based .pyc (flag bit 0; what `build --compile` writes) has no
        # use for a timestamp: the source's extra field isn't looked up.
        if source is not None and not (len(data) >= 8 and data[4] & 1):
            # The exact mtime from the UT/NTFS extra field if the archive has one.
            extra = files.extra(source.name) if isinstance(files, DirectoryIndex) else b""
            stamp = bytecode.source_stamp(source, extra)
        return bytecode.pyc_to_code(
            data, fullname, fullpath, stamp,
            lambda: None if source is None else self._read(files, source),
        )  # fmt: skip

    def _compile(self, source: bytes, fullname: str, modpath: str) -> CodeType:
        """Compile a member's source; an uncompilable one is an error of this archive."""
        try:
            return bytecode.compile_source(source, modpath)
        except ZipImportError as exc:  # its path is the member's: name the archive
            raise ZipImportError(str(exc), name=fullname, path=self.archive) from None

    def __repr__(self) -> str:
        return f'<zipimporter object "{self.archive}{SEP}{self.prefix}">'


# -- archives in memory --------------------------------------------------------


def from_bytes(data: bytes | bytearray | memoryview, name: str) -> str:
    """A ``sys.path`` entry that imports from the ZIP archive *data*, held in memory.

    The entry is ``'<memory:NAME>'`` (``'<memory:NAME-2>'``, ... if that name
    holds other bytes already; the same entry for equal bytes).  With
    zipimporter installed, put it on ``sys.path`` (or give it, or
    ``'<memory:NAME>/subdir'``, to :class:`zipimporter`) and modules import
    from it with the same checks as from a file; ``__file__`` is
    ``'<memory:NAME>/mod.py'``, and tracebacks, ``get_data`` and resources
    read the bytes.  Archives inside it (``'<memory:NAME>/inner.zip'``) work
    as in a file.

    One copy: a ``bytes`` object is kept as it is (anything else is copied
    into one, once) and read through memoryviews.  It is held, and every
    index and importer made for it kept, until :func:`forget_bytes`.

    ZipImportError (``path`` = the entry) if *data* isn't a readable archive
    (nothing is then held); ValueError if *name* is empty or holds a path
    separator or NUL.
    """
    if type(data) is not bytes:
        data = bytes(data)
    entry, new = directory.register_bytes(data, name)
    if entry not in _zip_directory_cache:
        try:
            _zip_directory_cache[entry] = open_index(entry)
        except ZipImportError:
            if new:
                directory.forget_bytes(entry)
            raise
    return entry


def forget_bytes(entry: str) -> bool:
    """Stop holding the archive :func:`from_bytes` gave *entry* for; whether it was held.

    Its indexes (and those of archives inside it) and its importers in
    ``sys.path_importer_cache`` are dropped, so its memory is freed once
    nothing else refers to it.  Modules already imported keep their code,
    but can no longer read their source (tracebacks) or data; an import
    from *entry* (leave it off ``sys.path``) finds nothing.
    """
    held = directory.forget_bytes(entry)
    inside = entry + SEP
    for cache in (_zip_directory_cache, sys.path_importer_cache):
        for key in [k for k in cache if k == entry or k.startswith(inside)]:
            del cache[key]
    from . import resources  # its listings hold indexes

    for key in [k for k in resources._listings if k == entry or k.startswith(inside)]:
        del resources._listings[key]
    return held

r"""Extension modules from archives: found by the importer, extracted, loaded by the stdlib.

A compiled extension module (``.so``/``.pyd``) can only be loaded from a real
file, so the importer copies it, with what it links against, out of the
archive into the extraction cache and hands that file to the stdlib's
``ExtensionFileLoader``.  Only what is imported is extracted.

Which member is the module
--------------------------
A member ``<name><suffix>`` for any suffix in this interpreter's
``importlib.machinery.EXTENSION_SUFFIXES`` (e.g. ``.cpython-312-x86_64-linux-gnu.so``,
``.abi3.so``, ``.so``), or ``<name>/__init__<suffix>`` for a package.  The
order is ``FileFinder``'s (a package before a module, and within each an
extension before Python) with zipimport's own order (``.pyc`` before ``.py``)
for the Python files::

    pkg/__init__<ext suffixes>, pkg/__init__.pyc, pkg/__init__.py,
    mod<ext suffixes>,          mod.pyc,          mod.py

so an extension wins over the pure-Python fallback beside it (as in an
installed wheel), and a package directory wins over a module of the same name
(as on disk).  Extensions for other interpreters or platforms
(``.cpython-311-…``, ``.pyd`` on Linux) are not matched.

What is extracted
-----------------
The extension member and, for an ELF object, every library it can load from
the archive: each ``DT_NEEDED`` name looked up in the ``$ORIGIN``-relative
directories of its ``DT_RPATH``/``DT_RUNPATH`` (with the dynamic loader's rules:
``RUNPATH`` hides ``RPATH`` and is not inherited, ``RPATH`` is), recursively
for what those load.  That covers auditwheel's ``<dist>.libs/`` directory
(``$ORIGIN/../<dist>.libs``) and libraries beside the extension (``$ORIGIN``).
For other formats (Mach-O, PE, which can't be read here) the rule is: the
extension, the shared libraries (``.so*``, ``.dylib``, ``.dll``, not extension
modules) in its directory and its ``.dylibs/`` directory, and every top-level
``*.libs/`` directory.  mypyc's shared helper (``<hash>__mypyc…so``, usually at
the archive root) is not a link-time dependency: the extensions import it as a
module, which finds and extracts it like any other.

Every file keeps its path relative to the archive root, so ``$ORIGIN`` lookups
resolve inside the extraction directory exactly as inside an installed wheel.

Where the files go
------------------
Under the cache root (see :mod:`zipimporter.cachedir`), in ``extensions/``::

    extensions/<slot>/.zipimporter-manifest
    extensions/<slot>/<archive-relative paths of the files>
    extensions/map/<archive key>/<member key>

A *slot* is content-addressed: its name is the first 32 hex digits of the
SHA-256 of the sorted list of (path, size, SHA-256) of the files extracted
together.  The key covers the set, not one file, because the layout is part of
what is loaded: the same ``.so`` with a different library beside it is a
different slot, and two archives (or two copies of one wheel) with the same
files share one.  SHA-256 is computed once, when a file is extracted
(``hashlib`` is imported only then).  The manifest lists each file's SHA-256,
size, device, inode, mtime and ctime as written.

The *map* entry says which slot an archive's member uses, so a warm import
reads no archive data and hashes nothing: it is keyed by the archive's real
path and the member name, and records the archive's identity (device, inode,
size, mtime, ctime: the importer's own change-detection key) and the CRC-32
and size of every member of the set as the central directory gives them; all
must still match.

Reuse check
-----------
A slot is used only if every file in its manifest is a regular file (not a
symlink) whose size, device, inode, mtime and ctime are those recorded; any
write, truncation, replacement or ``chmod`` changes at least the ctime, which
``utime`` can't set back.  A file that differs is hashed again: the same bytes
(e.g. after a backup restore) are kept and the manifest updated; other bytes
make the whole slot be replaced (moved aside and re-extracted), never loaded.

Trust, concurrency, cache off
-----------------------------
``extensions/`` is used only if :func:`zipimporter.cachedir.trusted_dir`
trusts it (the ~/.ssh rule of the other caches).  Directories are ``0700``,
extracted files ``0500``, the manifest and map ``0600``.  A slot is written
into ``extensions/.tmp-<pid>-<random>/`` (files ``fsync``\ ed) and renamed into
place in one step, so a process never sees half a slot; when several processes
extract the same set at once, one rename wins and the others verify and use
its slot.  With caching off (``ZIPIMPORTER_CACHE=0``, ``install(cache=False)``),
an untrusted cache directory, or one that can't be written, the files go to a
private ``tempfile.mkdtemp`` directory (``0700``), removed at exit by the
process that made it.

What the module shows
---------------------
``__file__`` and ``__spec__.origin`` are the extracted file (the dynamic loader
needs one).  Where it came from is on the loader: ``__spec__.loader.archive``
(the archive file), ``.member`` (the member's name in it) and ``.root`` (the
extraction directory the archive's layout starts at).  A package's
``__path__`` is its directory inside the archive, so its submodules are
found by the importer as usual; the loader's ``get_data`` reads paths under
``root`` from the archive, and ``get_resource_reader`` is the importer's.
Code that opens files beside ``__file__`` itself finds only what was
extracted.  A module that a mypyc shared library initialises on its own (an
import between modules compiled together, not through the import system)
keeps the ``__spec__`` and ``__file__`` mypyc gives it: a path beside the
helper's extracted file.

Hostile archives
----------------
A member whose name is not a safe relative path
(:func:`zipimporter.names.safe_relative_name`) is never extracted, and
library paths derived from ``RPATH``/``RUNPATH`` that leave the archive root
are ignored.  Every member is read through the importer (CRC-32 and local
header checked, size bounded); the files extracted together may not exceed
:func:`zipimporter.archive.max_member_size` in total.  Any failure is a
``ZipImportError`` naming the archive, raised when the module is loaded
(``find_spec`` still returns a spec, as the stdlib does for a damaged
module).
"""

from __future__ import annotations

import _imp
import os
import posixpath
import stat
import struct
import zlib
from importlib._bootstrap import ModuleSpec
from importlib._bootstrap_external import ExtensionFileLoader
from types import ModuleType

from . import cachedir
from .archive import Member, max_member_size
from .errors import ZipImportError
from .names import safe_relative_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .importer import Files, zipimporter

__all__ = [
    "EXTENSION_SUFFIXES",
    "ExtensionLoader",
    "elf_dynamic",
    "extension_name",
    "extension_spec",
    "extraction_set",
    "origin_directories",
]

SEP = os.sep

#: This interpreter's extension module suffixes, in its order of preference.
EXTENSION_SUFFIXES = tuple(_imp.extension_suffixes())

#: The manifest's name, at the top of a slot (a library the archive names so
#: is never extracted, so it can't be overwritten).
MANIFEST = ".zipimporter-manifest"
_MANIFEST_HEADER = "zipimporter extension slot 1"
_MAP_HEADER = "zipimporter extension map 1"
#: Hex digits of SHA-256 in a slot's name.
SLOT_DIGITS = 32
#: How old a forgotten ``.tmp-``/``.trash-`` directory must be to be swept (seconds).
STALE_AGE = 24 * 3600

# The errors, each a ZipImportError with path= the archive and name= the module.
#: A member name that would not stay inside the extraction directory.
UNSAFE_NAME = "can't extract {member!r} from {archive!r}: not a safe relative path"
#: The files to extract together declare more than the member size limit.
TOO_BIG = (
    "extension module {member!r} in {archive!r} needs {size} bytes extracted with its "
    "libraries, more than the limit of {limit} (ZIPIMPORTER_MAX_MEMBER_SIZE)"
)
#: The files could be written neither to the cache nor to a temporary directory.
CANT_EXTRACT = "can't extract extension module {member!r} from {archive!r}: {error}"
#: The dynamic loader refused an extracted extension module (it has no
#: ``PyInit_<name>``, a library it needs is missing, ...): *error* is its message.
CANT_LOAD = "can't load extension module {member!r} from {archive!r}: {error}"
#: The dynamic sections of the files to extract together ask for too many library lookups.
TOO_MANY_LOOKUPS = (
    "extension module {member!r} in {archive!r}: its dynamic sections ask for more than "
    "{limit} library lookups"
)
#: The most (library name, directory) pairs looked up for one extension and what it
#: loads.  Real objects need a few hundred at most; a forged dynamic section of a few
#: hundred kilobytes could ask for needed names x RPATH directories: billions.
MAX_LOOKUPS = 1 << 14


class ExtensionLoader(ExtensionFileLoader):
    """The stdlib's ``ExtensionFileLoader`` for an extension extracted from an archive.

    ``path`` (``__file__``) is the extracted file; ``archive`` is the archive,
    ``member`` the member's name in it (``os.sep``-separated) and ``root`` the
    directory the archive's layout was extracted to.  A loader made for a
    member that could not be extracted raises that ``ZipImportError`` when
    the module is created.
    """

    def __init__(
        self,
        fullname: str,
        path: str,
        importer: zipimporter,
        member: str,
        root: str | None,
        error: ZipImportError | None = None,
    ) -> None:
        super().__init__(fullname, path)
        self.archive = importer.archive
        self.member = member
        self.root = root
        self._importer = importer
        self._error = error

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        if self._error is not None:
            raise self._error.with_traceback(None)
        try:
            module = super().create_module(spec)
        except ImportError as exc:
            # The dynamic loader's own refusal names the extracted file; say which
            # archive it came from.  ImportErrors of the module's own code pass.
            if type(exc) is not ImportError or exc.path != self.path:
                raise
            message = CANT_LOAD.format(member=self.member, archive=self.archive, error=exc)
            raise ZipImportError(message, name=spec.name, path=self.archive) from exc
        if isinstance(module, ModuleType) and getattr(module, "__file__", None) != self.path:
            # mypyc's shared library names its modules' files after where it
            # is itself, which is another extraction directory.
            module.__file__ = self.path
        return module

    def get_data(self, path: str) -> bytes:
        """A file's bytes; paths under the extraction directory are read from the archive."""
        root = self.root
        if root is not None and path.startswith(root + SEP):
            return self._importer.get_data(path[len(root) + 1 :])
        return super().get_data(path)

    def get_resource_reader(self, name: str | None = None) -> Any:
        """The importer's: the package's resources are in the archive, not extracted."""
        return self._importer.get_resource_reader(self.name if name is None else name)


# -- names ----------------------------------------------------------------------

#: Where a suffix names the interpreter an extension was built for: CPython
#: (``cpython-312-…``, ``cp312-…`` on Windows), the stable ABI, PyPy, GraalPy.
_TAG_STARTS = ("cpython-", "cp3", "abi3", "pypy", "graalpy")


def extension_name(basename: str) -> tuple[str, str, bool] | None:
    """``(module name, suffix, for this interpreter)`` if *basename* is an extension module's.

    For this interpreter: a suffix of :data:`EXTENSION_SUFFIXES`.  For
    another (not matched by the importer): an identifier, then a tagged
    ``.so``/``.pyd`` suffix, or a bare one this interpreter doesn't use.

    >>> extension_name("_speedups" + EXTENSION_SUFFIXES[0])[::2]
    ('_speedups', True)
    >>> extension_name("_speedups.cpython-27mu-x86_64-linux-gnu.so")
    ('_speedups', '.cpython-27mu-x86_64-linux-gnu.so', False)
    >>> extension_name("libz-1a2b.so.1.2") is None, extension_name("README.txt") is None
    (True, True)
    """
    for suffix in EXTENSION_SUFFIXES:
        if basename.endswith(suffix) and basename[: -len(suffix)].isidentifier():
            return basename[: -len(suffix)], suffix, True
    stem, _, rest = basename.partition(".")
    if not stem.isidentifier():
        return None
    tag, _, kind = rest.rpartition(".")
    if kind not in ("so", "pyd") or "." in tag or (tag and not tag.startswith(_TAG_STARTS)):
        return None
    return stem, basename[len(stem) :], False


# -- the spec -------------------------------------------------------------------


def extension_spec(
    importer: zipimporter, fullname: str, files: Files, name: str, member: Member, ispackage: bool
) -> ModuleSpec:
    """The spec of the extension module *fullname*, member *name*, extracted now.

    If it can't be extracted, the spec's loader raises the ZipImportError
    when the module is created (find_spec doesn't raise, as the stdlib's).
    The internal ``ArchiveChanged`` signal passes through, for the importer
    to redo the lookup.
    """
    archive = importer.archive
    try:
        root = extract(importer, files, name, member)
    except ZipImportError as exc:
        exc.name = fullname
        where = f"{archive}{SEP}{name}"
        loader = ExtensionLoader(fullname, where, importer, name, None, exc)
        return ModuleSpec(fullname, loader, origin=where, is_package=ispackage)
    path = f"{root}{SEP}{name}"
    loader = ExtensionLoader(fullname, path, importer, name, root)
    spec = ModuleSpec(fullname, loader, origin=path, is_package=ispackage)
    spec.has_location = True
    if ispackage:
        # The package's directory in the archive: its submodules come from there.
        spec.submodule_search_locations = [f"{archive}{SEP}{name.rpartition(SEP)[0]}"]
    return spec


# -- what to extract ----------------------------------------------------------


class TooBigError(Exception):
    """The files to extract together declare more bytes than allowed (args[0]: how many)."""


class TooManyLookupsError(Exception):
    """The files to extract together ask for more than MAX_LOOKUPS library lookups."""


_DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_RPATH, _DT_RUNPATH = 1, 5, 10, 15, 29
_PT_LOAD, _PT_DYNAMIC = 1, 2


def elf_dynamic(data: bytes) -> tuple[list[str], list[str], list[str]] | None:
    """``(DT_NEEDED, DT_RPATH, DT_RUNPATH)`` strings of an ELF object, or None.

    None means *data* is not an ELF object this reader understands (no
    magic, unknown class or byte order, offsets that don't fit the data,
    or strings that add up to more than *data* itself: entries naming the
    same bytes again and again): nothing is known about what it loads.  An
    ELF file without a dynamic section has empty lists.  Each string is
    listed once.  Never raises.

    >>> elf_dynamic(b"MZ\\x90\\x00") is None
    True
    """
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    order = "<" if data[5] == 1 else ">"
    wide = data[4] == 2
    try:
        if wide:
            (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
            header = struct.Struct(order + "IIQQQQQQ")
            dynamic_entry = struct.Struct(order + "qQ")
        else:
            (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
            header = struct.Struct(order + "IIIIIIII")
            dynamic_entry = struct.Struct(order + "iI")
        if phentsize < header.size or phoff + phnum * phentsize > len(data):
            return None
        loads: list[tuple[int, int, int]] = []  # (vaddr, file offset, file size)
        dynamic: tuple[int, int] | None = None
        for i in range(phnum):
            fields = header.unpack_from(data, phoff + i * phentsize)
            if wide:
                ptype, _, offset, vaddr, _, filesz = fields[:6]
            else:
                ptype, offset, vaddr, _, filesz = fields[:5]
            if ptype == _PT_LOAD:
                loads.append((vaddr, offset, filesz))
            elif ptype == _PT_DYNAMIC and dynamic is None:
                dynamic = (offset, filesz)
        found: tuple[list[str], list[str], list[str]] = ([], [], [])
        if dynamic is None:
            return found
        strings: list[tuple[int, int]] = []
        strtab = strsz = None
        pos, end = dynamic[0], min(dynamic[0] + dynamic[1], len(data))
        while pos + dynamic_entry.size <= end:
            tag, value = dynamic_entry.unpack_from(data, pos)
            pos += dynamic_entry.size
            if tag == 0:
                break
            if tag == _DT_STRTAB:
                strtab = value
            elif tag == _DT_STRSZ:
                strsz = value
            elif tag in (_DT_NEEDED, _DT_RPATH, _DT_RUNPATH):
                strings.append((tag, value))
        if strtab is None:
            return found
        for vaddr, offset, filesz in loads:
            if vaddr <= strtab < vaddr + filesz:
                table = strtab - vaddr + offset
                break
        else:
            return None
        limit = len(data) if strsz is None else min(len(data), table + strsz)
        which = {_DT_NEEDED: 0, _DT_RPATH: 1, _DT_RUNPATH: 2}
        budget = len(data)  # distinct, non-overlapping strings fit in the data
        for tag, value in dict.fromkeys(strings):
            start = table + value
            stop = data.find(b"\0", start, limit) if start < limit else -1
            if stop >= 0:
                budget -= stop - start + 1
                if budget < 0:
                    return None
                found[which[tag]].append(data[start:stop].decode("utf-8", "surrogateescape"))
        return found
    except (struct.error, OverflowError):
        return None


def origin_directories(origin: str, entries: list[str]) -> list[str]:
    """The archive directories that ``RPATH``/``RUNPATH`` *entries* name for an object in *origin*.

    Only ``$ORIGIN``-relative entries can point into the archive; the others
    (absolute, relative to the working directory, other ``$`` tokens) and
    those leaving the archive root are dropped.  The archive root is ``""``.

    >>> origin_directories("pkg", ["$ORIGIN/../pkg.libs:/usr/lib", "${ORIGIN}", "$ORIGIN/../.."])
    ['pkg.libs', 'pkg']
    >>> origin_directories("", ["$ORIGIN/lib", "$ORIGIN/$LIB", "lib"])
    ['lib']
    """
    found: dict[str, None] = {}
    for entry in ":".join(entries).split(":"):
        for token in ("$ORIGIN", "${ORIGIN}"):
            if entry == token or entry.startswith(token + "/"):
                rest = entry[len(token) :]
                break
        else:
            continue
        if "$" in rest:
            continue
        joined = posixpath.normpath(f"{origin}/{rest}" if origin else f"./{rest}")
        if joined == ".":
            joined = ""
        elif joined == ".." or joined.startswith(("../", "/")):
            continue
        found[joined] = None
    return list(found)


def extraction_set(
    files: Files, name: str, read: Callable[[Member], bytes], limit: int
) -> dict[str, bytes]:
    """Archive name (``/``-separated) -> bytes of everything the extension *name* needs.

    *read* reads a member (checked); *limit* bounds the total declared size
    (:class:`TooBigError` past it), :data:`MAX_LOOKUPS` the number of
    libraries looked for (:class:`TooManyLookupsError`).  See the module
    docstring for the rule.
    """
    first = files.get(name)
    assert first is not None
    contents: dict[str, bytes] = {}
    total = 0
    lookups = 0
    # (archive name, member, RPATH directories of the objects that loaded it)
    queue: list[tuple[str, Member, list[str]]] = [(name.replace(SEP, "/"), first, [])]
    while queue:
        posix, member, inherited = queue.pop(0)
        if posix in contents:
            continue
        total += member.file_size
        if total > limit:
            raise TooBigError(total)
        data = contents[posix] = read(member)
        dynamic = elf_dynamic(data)
        if dynamic is None:
            if not contents.keys() - {posix}:  # the extension itself: the fallback rule
                queue += [(other, m, []) for other, m in _fallback_libraries(files, posix)]
            continue
        needed, rpath, runpath = dynamic
        origin = posixpath.dirname(posix)
        # The dynamic loader: RUNPATH hides RPATH; RPATH (this object's, then
        # its loaders') is searched first and passed on to what it loads.
        chain = inherited if runpath else origin_directories(origin, rpath) + inherited
        search = list(
            dict.fromkeys(([] if runpath else chain) + origin_directories(origin, runpath))
        )
        for lib in needed:
            if not lib or "/" in lib:
                continue  # a path: relative to the working directory, not the archive
            lookups += len(search)
            if lookups > MAX_LOOKUPS:
                raise TooManyLookupsError
            for directory in search:
                candidate = f"{directory}/{lib}" if directory else lib
                dep = _usable_member(files, candidate)
                if dep is not None:
                    queue.append((candidate, dep, chain))
                    break
    return contents


def _usable_member(files: Files, posix: str) -> Member | None:
    if posix == MANIFEST or not safe_relative_name(posix):
        return None
    member = files.get(posix.replace("/", SEP))
    return None if member is None or member.is_dir else member


def _is_library(basename: str) -> bool:
    """Whether a file name is a shared library's, and not an extension module's.

    >>> [_is_library(n) for n in ("libz.so.1", "libfoo.dylib", "foo.dll", "_speedups.so")]
    [True, True, True, False]
    """
    if basename.endswith((".dylib", ".dll")) or ".so." in basename:
        return True
    if not basename.endswith(".so"):
        return False
    # <identifier><suffix> is an extension module: imported on its own, if at all.
    return not any(
        basename.endswith(s) and basename[: -len(s)].isidentifier() for s in EXTENSION_SUFFIXES
    )


def _fallback_libraries(files: Files, posix: str) -> list[tuple[str, Member]]:
    """Libraries a non-ELF extension may load: see the module docstring."""
    directory = posixpath.dirname(posix)
    prefix = f"{directory}/" if directory else ""
    found = []
    for key in sorted(files.keys()):
        other = key.replace(SEP, "/")
        if other == posix or other.endswith("/"):
            continue
        if (
            (posixpath.dirname(other) == directory and _is_library(posixpath.basename(other)))
            or other.startswith(prefix + ".dylibs/")
            or ("/" in other and other.partition("/")[0].endswith(".libs"))
        ):
            member = _usable_member(files, other)
            if member is not None:
                found.append((other, member))
    return found


# -- extracting ---------------------------------------------------------------

Identity = tuple[int, int, int, int, int]
Listing = dict[str, tuple[int, str]]  # archive name -> (size, SHA-256 hex)

# (archive, its identity, member name) -> extraction root, for this process.
_extracted: dict[tuple[str, Identity, str], str] = {}
_map_dirs: dict[str, str] = {}  # archive -> its directory name under map/
_private: list[tuple[int, str]] = []  # (pid, directory) of the private fallback


def extract(importer: zipimporter, files: Files, name: str, member: Member) -> str:
    """Extract the extension *name* (and what it needs); return the root it is under.

    Raises ZipImportError (path= the archive) as described in the module
    docstring, and lets the importer's ``ArchiveChanged`` through.
    """
    archive = importer.archive
    if not safe_relative_name(name):
        raise ZipImportError(UNSAFE_NAME.format(member=name, archive=archive), path=archive)
    st = getattr(files, "stat", None)
    identity: Identity | None = None
    if st is not None:
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        root = _extracted.get((archive, identity, name))
        if root is not None:
            importer._check_unchanged(files)
            return root
    # An archive in memory leaves nothing on disk past this process (its bytes
    # may have been decrypted): its extensions go to the private directory.
    base = _cache_base() if identity is not None else None
    root = None
    if base is not None and identity is not None:
        root = _mapped(base, archive, files, identity, name)
        if root is not None:
            importer._check_unchanged(files)  # nothing was read from the archive
    if root is None:
        root = _extract(importer, files, name, member, base, identity)
    if identity is not None:
        if len(_extracted) > 1024:
            _extracted.clear()
        _extracted[(archive, identity, name)] = root
    return root


def _extract(
    importer: zipimporter,
    files: Files,
    name: str,
    member: Member,
    base: str | None,
    identity: Identity | None,
) -> str:
    archive = importer.archive
    limit = max_member_size()
    try:
        contents = extraction_set(files, name, lambda m: importer._read(files, m), limit)
    except TooBigError as exc:
        size = exc.args[0]
        raise ZipImportError(
            TOO_BIG.format(member=name, archive=archive, size=size, limit=limit), path=archive
        ) from None
    except TooManyLookupsError:
        message = TOO_MANY_LOOKUPS.format(member=name, archive=archive, limit=MAX_LOOKUPS)
        raise ZipImportError(message, path=archive) from None
    listing = _listing(contents)
    slot = _slot_name(listing)
    if base is not None:
        try:
            root = _materialize(base, slot, contents, listing)
        except OSError:
            pass  # e.g. a read-only or full disk: the private directory may do
        else:
            if identity is not None:
                _write_map(base, archive, files, identity, name, slot, list(contents))
            return root
    try:
        return _materialize(_private_dir(), slot, contents, listing)
    except OSError as exc:
        raise ZipImportError(
            CANT_EXTRACT.format(member=name, archive=archive, error=exc), path=archive
        ) from None


def _cache_base() -> str | None:
    root = cachedir.cache_root()
    if root is None:
        return None
    return cachedir.trusted_dir(root, "extensions", create=True)


def _private_dir() -> str:
    """This process's private extraction directory (``0700``), removed at exit."""
    pid = os.getpid()
    if _private and _private[0][0] == pid:
        return _private[0][1]
    import atexit
    import tempfile

    directory = tempfile.mkdtemp(prefix="zipimporter-ext-")
    atexit.register(_remove_private, directory, pid)
    _private[:] = [(pid, directory)]
    return directory


def _remove_private(directory: str, pid: int) -> None:
    if os.getpid() == pid:  # not a forked child's: the directory is its parent's
        _remove_tree(directory)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _listing(contents: dict[str, bytes]) -> Listing:
    import hashlib

    return {n: (len(data), hashlib.sha256(data).hexdigest()) for n, data in contents.items()}


def _slot_name(listing: Listing) -> str:
    import hashlib

    text = "".join(f"{n}\0{size}\0{digest}\0" for n, (size, digest) in sorted(listing.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:SLOT_DIGITS]


def _file_identity(st: os.stat_result) -> Identity:
    return (st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


def _materialize(base: str, slot: str, contents: dict[str, bytes], listing: Listing) -> str:
    """The directory ``base/slot`` holding *contents*, verified or written now.

    Raises OSError if it can't be written.
    """
    path = f"{base}{SEP}{slot}"
    if _verify(path, listing):
        return path
    _sweep(base)
    tmp = f"{base}{SEP}.tmp-{os.getpid()}-{os.urandom(6).hex()}"
    os.mkdir(tmp, 0o700)
    try:
        records = []
        for posix, data in sorted(contents.items()):
            target = tmp + SEP + posix.replace("/", SEP)
            parent = os.path.dirname(target)
            if parent != tmp:
                cachedir.make_private_dirs(parent)
            identity = _file_identity(cachedir.write_new(target, data, 0o500, sync=True))
            records.append((posix, identity, listing[posix][1]))
        _write_manifest(tmp + SEP + MANIFEST, records, create=True)
        for _ in range(3):
            try:
                os.rename(tmp, path)
            except OSError:
                if _verify(path, listing):  # another process was first
                    return path
                _discard(base, path)  # a damaged or foreign slot: never loaded
            else:
                return path
        raise OSError(f"can't move the extracted files into {path!r}")
    finally:
        if os.path.lexists(tmp):
            _remove_tree(tmp)


def _discard(base: str, path: str) -> None:
    trash = f"{base}{SEP}.trash-{os.getpid()}-{os.urandom(6).hex()}"
    try:
        os.rename(path, trash)
    except OSError:
        return
    _remove_tree(trash)


def _sweep(base: str) -> None:
    """Remove ``.tmp-``/``.trash-`` directories left by processes that died (old ones only)."""
    import time

    cutoff = time.time() - STALE_AGE
    try:
        with os.scandir(base) as entries:
            stale = [
                e.path
                for e in entries
                if e.name.startswith((".tmp-", ".trash-"))
                and e.stat(follow_symlinks=False).st_mtime < cutoff
            ]
    except OSError:
        return
    for path in stale:
        _remove_tree(path)


def _write_manifest(path: str, records: list[tuple[str, Identity, str]], create: bool) -> None:
    lines = [_MANIFEST_HEADER]
    for posix, (size, dev, ino, mtime, ctime), digest in records:
        lines.append(f"{digest} {size} {dev} {ino} {mtime} {ctime} {posix}")
    data = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
    if create:
        cachedir.write_new(path, data, 0o600, sync=True)
    else:
        cachedir.atomic_write(path, data)


def _read_manifest(slot: str) -> list[tuple[str, Identity, str]] | None:
    data = cachedir.read_file(f"{slot}{SEP}{MANIFEST}", 1 << 24)
    if data is None:
        return None
    fields = data.decode("utf-8", "surrogateescape").split("\0")
    if fields[0] != _MANIFEST_HEADER or fields[-1] != "":
        return None
    records = []
    try:
        for line in fields[1:-1]:
            digest, size, dev, ino, mtime, ctime, posix = line.split(" ", 6)
            identity = (int(size), int(dev), int(ino), int(mtime), int(ctime))
            records.append((posix, identity, digest))
    except ValueError:
        return None
    return records


def _verify(slot: str, listing: Listing | None = None, sizes: dict[str, int] | None = None) -> bool:
    """Whether *slot* holds what its manifest says, and the manifest lists *listing* or *sizes*.

    *listing* is name -> (size, SHA-256), *sizes* name -> size.  Files whose
    stat changed are hashed again; the manifest is updated if their bytes
    are still right.
    """
    records = _read_manifest(slot)
    if records is None or not records:
        return False
    if listing is not None and {p: (i[0], d) for p, i, d in records} != listing:
        return False
    if sizes is not None and {p: i[0] for p, i, _ in records} != sizes:
        return False
    if not all(safe_relative_name(p) for p, _, _ in records):
        return False
    updated = False
    for n, (posix, identity, digest) in enumerate(records):
        path = slot + SEP + posix.replace("/", SEP)
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size != identity[0]:
            return False
        if _file_identity(st) == identity:
            continue
        if _hash_file(path) != digest:
            return False
        try:
            now = _file_identity(os.lstat(path))
        except OSError:
            return False
        records[n] = (posix, now, digest)
        updated = True
    if updated:
        _write_manifest(f"{slot}{SEP}{MANIFEST}", records, create=False)
    return True


def _hash_file(path: str) -> str | None:
    import hashlib

    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    digest = hashlib.sha256()
    try:
        with open(fd, "rb") as fp:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            while chunk := fp.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


# -- the map: which slot an archive's member uses ------------------------------


def _map_path(base: str, archive: str, name: str) -> str:
    directory = _map_dirs.get(archive)
    if directory is None:
        if len(_map_dirs) > 256:
            _map_dirs.clear()
        directory = _map_dirs[archive] = cachedir.path_key(archive)
    raw = name.replace(SEP, "/").encode("utf-8", "surrogateescape")
    key = f"{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}{len(raw):04x}"
    return f"{base}{SEP}map{SEP}{directory}{SEP}{key}"


def _write_map(
    base: str,
    archive: str,
    files: Files,
    identity: Identity,
    name: str,
    slot: str,
    names: list[str],
) -> None:
    lines = [_MAP_HEADER, name.replace(SEP, "/"), " ".join(map(str, identity)), slot]
    for posix in names:
        member = files[posix.replace("/", SEP)]
        lines.append(f"{member.crc} {member.file_size} {posix}")
    data = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
    cachedir.atomic_write(_map_path(base, archive, name), data)


def _mapped(base: str, archive: str, files: Files, identity: Identity, name: str) -> str | None:
    """The slot the map gives for *name*, if the archive and the slot are still as recorded."""
    data = cachedir.read_file(_map_path(base, archive, name), 1 << 24)
    if data is None:
        return None
    fields = data.decode("utf-8", "surrogateescape").split("\0")
    if (
        len(fields) < 6
        or fields[0] != _MAP_HEADER
        or fields[1] != name.replace(SEP, "/")
        or fields[2] != " ".join(map(str, identity))
        or fields[-1] != ""
    ):
        return None
    slot = fields[3]
    if len(slot) != SLOT_DIGITS or not all(c in "0123456789abcdef" for c in slot):
        return None
    expected: dict[str, int] = {}
    for line in fields[4:-1]:
        crc, size, posix = [*line.split(" ", 2), "", ""][:3]
        member = files.get(posix.replace("/", SEP))
        if member is None or f"{member.crc} {member.file_size}" != f"{crc} {size}":
            return None
        expected[posix] = int(size)
    path = f"{base}{SEP}{slot}"
    return path if _verify(path, sizes=expected) else None

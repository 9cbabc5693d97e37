"""Resources of packages in archives: ``importlib.resources``.

``importlib.resources.files()`` on a package our importer loaded gets a
:class:`ZipResourceReader`, whose ``files()`` is an :class:`ArchivePath`: a
``Traversable`` served from the importer's own directory index and read
through ``zipimporter.get_data`` (CRC-32, local header and change checks,
every compression method we read).  The stdlib's reader builds a
``zipfile.Path`` instead, which reads the whole central directory again with
:mod:`zipfile` on every ``files()`` call and can't read zstd members.

An ``ArchivePath`` behaves as the ``zipfile.Path`` the stdlib's reader gives
(same names, ``iterdir()`` order, implicit directories, ``str()``, errors by
type), with two deliberate differences: a path that is not in the archive is
never a directory (``zipfile.Path`` calls any path ending in ``/`` one), and
the archive root exists.

``pkg_resources`` is served by :mod:`zipimporter.pkg_resources_support`.

This module is imported by the first ``get_resource_reader()`` call: it must
stay cheap to import (no ``importlib.resources``, ``typing`` or ``pathlib`` at
module level).
"""

from __future__ import annotations

import io
import os
import posixpath

from .archive import DirectoryIndex
from .directory import open_index
from .importer import SEP, zipimporter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import IO, Any

__all__ = [
    "ArchivePath",
    "ZipResourceReader",
]

# The messages of the errors an ArchivePath raises (besides FileNotFoundError
# and IsADirectoryError, whose messages are the OS's).
#: iterdir() of a file, or of a path that isn't in the archive (ValueError, as zipfile.Path).
NOT_A_DIRECTORY = "can't list {path!r}: not a directory in the archive"
#: open() with a mode other than reading (ValueError).
READ_ONLY = "resources in an archive can only be read: mode {mode!r} (use 'r' or 'rb')"
#: open('rb') with text arguments such as encoding (ValueError, as zipfile.Path).
BINARY_WITH_TEXT_ARGUMENTS = "encoding arguments are invalid in binary mode: {path!r}"


# -- the directory listing ----------------------------------------------------


class _Listing:
    """The names of one directory index as ``zipfile.Path`` sees them.

    ``names``: every member name ('/'-separated; directories end with '/')
    plus the directories implied by them.  ``children``: directory (without
    its '/'; '' is the archive root) -> the names directly in it, in
    ``zipfile.Path.iterdir()`` order (members in archive order, then implied
    directories in the order they are first implied).
    """

    __slots__ = ("children", "names")

    def __init__(self, files: DirectoryIndex) -> None:
        names = list(files.keys())  # decodes every name; ZipImportError if one can't be
        if SEP != "/":
            names = [name.replace(SEP, "/") for name in names]
        known = set(names)
        children: dict[str, list[str]] = {}
        walked: set[str] = set()
        implied: list[str] = []
        dirname = posixpath.dirname
        for name in names:
            parent = dirname(name.rstrip("/"))
            children.setdefault(parent, []).append(name)
            # zipfile's implied directories: each name's parents, nearest
            # first, that aren't names themselves.  A walked parent's own
            # parents were walked with it.
            while parent and parent not in walked:
                walked.add(parent)
                if parent + "/" not in known:
                    implied.append(parent + "/")
                up = dirname(parent)
                if up == parent:  # '/', '//': the top
                    break
                parent = up
        for name in implied:
            children.setdefault(dirname(name[:-1]), []).append(name)
        known.update(implied)
        self.names = known
        self.children = children


#: Archive path -> (the index a listing was made from, the listing).  A new
#: index object (the archive changed, or invalidate_caches()) makes a new listing.
_listings: dict[str, tuple[DirectoryIndex, _Listing]] = {}


def _listing(loader: zipimporter) -> _Listing:
    """The listing of *loader*'s archive as it is now (one ``stat`` to see that).

    ZipImportError (``path`` = the archive) if the archive can't be read.
    """
    files = loader._fresh_files()
    if not isinstance(files, DirectoryIndex):
        # The importer's empty stand-in: the archive can't be read (any more).
        # Say why, as zipfile.Path would by failing to open it.
        files = open_index(loader.archive)
    cached = _listings.get(loader.archive)
    if cached is not None and cached[0] is files:
        return cached[1]
    listing = _Listing(files)
    _listings[loader.archive] = (files, listing)
    return listing


def _os_error(code: str, path: str) -> OSError:
    """The OSError subclass the OS raises for *code* (``ENOENT``: FileNotFoundError, ...)."""
    import errno  # not on the import path of zipimporter

    number = getattr(errno, code)
    return OSError(number, os.strerror(number), path)


# -- Traversable ----------------------------------------------------------------


class ArchivePath:
    """A file or directory in an archive: an ``importlib.resources.abc.Traversable``.

    ``at`` is the path inside the archive as ``zipfile.Path`` has it:
    '/'-separated, a directory's ending with '/', '' for the archive root.
    Names come from the listing taken when ``files()`` was called; contents
    are read when asked for, through the importer (so a member is always read
    from the archive as it is now, or not at all).
    """

    __slots__ = ("_listing", "_loader", "at")

    def __init__(self, loader: zipimporter, listing: _Listing, at: str) -> None:
        self._loader = loader
        self._listing = listing
        self.at = at

    def _next(self, at: str) -> ArchivePath:
        return ArchivePath(self._loader, self._listing, at)

    # -- what it is

    def is_dir(self) -> bool:
        at = self.at
        return not at or (at[-1] == "/" and at in self._listing.names)

    def is_file(self) -> bool:
        at = self.at
        return bool(at) and at[-1] != "/" and at in self._listing.names

    def exists(self) -> bool:
        return self.is_dir() or self.is_file()

    @property
    def name(self) -> str:
        at = self.at.rstrip("/")
        if not at:
            return posixpath.basename(self._loader.archive)
        return at.rpartition("/")[2]

    @property
    def suffix(self) -> str:
        name = self.name
        i = name.rfind(".")
        return name[i:] if 0 < i < len(name) - 1 else ""

    @property
    def suffixes(self) -> list[str]:
        name = self.name
        if name.endswith("."):
            return []
        return ["." + s for s in name.lstrip(".").split(".")[1:]]

    @property
    def stem(self) -> str:
        name, suffix = self.name, self.suffix
        return name[: -len(suffix)] if suffix else name

    @property
    def parent(self) -> ArchivePath | Path:
        """The directory holding this one; above the archive root, the archive's directory."""
        if not self.at:
            import pathlib

            return pathlib.Path(self._loader.archive).parent
        parent = posixpath.dirname(self.at.rstrip("/"))
        return self._next(parent + "/" if parent else "")

    # -- going places

    def iterdir(self) -> Iterator[ArchivePath]:
        if not self.is_dir():
            raise ValueError(NOT_A_DIRECTORY.format(path=str(self)))
        names = self._listing.children.get(self.at[:-1], ())
        return map(self._next, names)

    def joinpath(self, *descendants: str | os.PathLike[str]) -> ArchivePath:
        """The path of *descendants* (each may hold several '/'-separated parts) below this one."""
        if not descendants:
            return self
        at = posixpath.join(self.at, *descendants)
        names = self._listing.names
        if at not in names and at + "/" in names:
            at += "/"  # a directory, named without its '/'
        return self._next(at)

    def __truediv__(self, child: str | os.PathLike[str]) -> ArchivePath:
        return self.joinpath(child)

    # -- reading

    def _read(self) -> bytes:
        """The member's bytes, checked; the OS's errors for a directory or a missing file."""
        if self.is_dir():
            raise _os_error("EISDIR", str(self))
        if not self.is_file():
            raise _os_error("ENOENT", str(self))
        loader = self._loader
        try:
            return loader.get_data(loader.archive + SEP + self.at.replace("/", SEP))
        except OSError:  # get_data's "not in the archive": it changed since files()
            raise _os_error("ENOENT", str(self)) from None

    def read_bytes(self) -> bytes:
        return self._read()

    def read_text(self, encoding: str | None = None, *args: Any, **kwargs: Any) -> str:
        """The member decoded as ``open(encoding=...)`` would (universal newlines)."""
        encoding = io.text_encoding(encoding, 2)
        with io.TextIOWrapper(io.BytesIO(self._read()), encoding, *args, **kwargs) as stream:
            return stream.read()

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:
        """Open as text (``'r'``, with ``io.TextIOWrapper``'s arguments) or binary (``'rb'``)."""
        if self.is_dir():  # first, as zipfile.Path
            raise _os_error("EISDIR", str(self))
        if mode[:1] != "r":
            raise ValueError(READ_ONLY.format(mode=mode))
        if "b" in mode:
            if args or kwargs:
                raise ValueError(BINARY_WITH_TEXT_ARGUMENTS.format(path=str(self)))
            return self._stream()
        encoding, args = (args[0], args[1:]) if args else (kwargs.pop("encoding", None), ())
        encoding = io.text_encoding(encoding, 2)
        return io.TextIOWrapper(self._stream(), encoding, *args, **kwargs)

    def _stream(self) -> io.BytesIO:
        stream = io.BytesIO(self._read())
        stream.name = self.at  # as zipfile's member file: the name in the archive
        return stream

    # -- as a value

    def __str__(self) -> str:
        return posixpath.join(self._loader.archive, self.at)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._loader.archive!r}, {self.at!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ArchivePath)
        return (self._loader.archive, self.at) == (other._loader.archive, other.at)

    def __hash__(self) -> int:
        return hash((self._loader.archive, self.at))


# -- the reader -------------------------------------------------------------------


class ZipResourceReader:
    """``importlib.resources.abc.TraversableResources`` for a module our importer loaded.

    As the stdlib's ``ZipReader`` of the running Python: the resources of a
    package are its directory; on 3.13 those of a module are the directory
    holding it (3.11 and 3.12 ask for packages only).
    """

    __slots__ = ("_at", "_loader")

    def __init__(self, loader: zipimporter, fullname: str, ispackage: bool | None = None) -> None:
        """*ispackage* None: ask *loader* (ZipImportError if it hasn't *fullname*, as 3.13's)."""
        if ispackage is None:
            ispackage = loader.is_package(fullname)
        at = loader.prefix.replace(SEP, "/")
        if ispackage:
            at += fullname.rpartition(".")[2] + "/"
        self._loader = loader
        self._at = at

    def files(self) -> ArchivePath:
        return ArchivePath(self._loader, _listing(self._loader), self._at)

    def open_resource(self, resource: str) -> IO[bytes]:
        return self.files().joinpath(resource).open("rb")

    def resource_path(self, resource: Any) -> str:
        raise FileNotFoundError(resource)  # never on the file system

    def is_resource(self, path: str) -> bool:
        return self.files().joinpath(path).is_file()

    def contents(self) -> Iterator[str]:
        return (item.name for item in self.files().iterdir())


_abcs_registered = False


def reader(loader: zipimporter, fullname: str, ispackage: bool | None = None) -> ZipResourceReader:
    """The resource reader for *fullname* (``zipimporter.get_resource_reader``).

    Our classes become virtual subclasses of ``importlib.resources.abc``'s
    ``TraversableResources`` and ``Traversable`` here, not when this module is
    imported: that module costs ~25 ms to import, and whoever asks for a
    reader has imported it already.
    """
    global _abcs_registered
    if not _abcs_registered:
        from importlib.resources.abc import Traversable, TraversableResources

        TraversableResources.register(ZipResourceReader)
        Traversable.register(ArchivePath)
        _abcs_registered = True
    return ZipResourceReader(loader, fullname, ispackage)

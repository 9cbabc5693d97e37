"""Cache housekeeping: what the on-disk caches hold, pruning them to a size cap, clearing them.

``zipimporter cache info|prune|clear`` are these functions; the automatic
prune is :func:`auto_prune`, which :mod:`zipimporter.cachedir` runs at the exit
of a process that wrote a new cache entry, at most once a day per cache root.

What is where
-------------
Under the cache root (see :mod:`zipimporter.cachedir`), by *kind*:

``index/``
    directory indexes of big archives (:mod:`zipimporter.index_cache`), one
    file per archive;
``bytecode/``
    compiled-source packs (:mod:`zipimporter.bytecode_cache`), one file per
    archive, tag and optimization level (directories there are the
    one-file-per-module caches of zipimporter before packs, pruned alike);
``extensions/``
    extracted extension modules (:mod:`zipimporter.extraction`): one
    directory per *slot*, and ``map/<archive key>/`` saying which slot an
    archive's member uses;
``bundles/``
    bundles the Dask plugin stored on this machine's workers
    (:mod:`zipimporter.dask`), one ``<sha256>.zip`` file each: pruned and
    cleared like the others, except those a running process uses (see
    "Bundles in use" below);
``activate/``
    the ``sitecustomize`` shim that child processes run (one small directory
    per zipimporter version): never pruned, since a running process may have
    put it on its children's ``PYTHONPATH``; ``clear`` removes it.

Each item directly in ``index/``, ``bytecode/``, ``bundles/``, ``activate/``,
and in ``extensions/`` (a slot) or ``extensions/map/`` (an archive's map), is one
*entry*: pruned as a whole.  Leftover temporary files and directories (of a
process that died while writing) are entries too, removed by any prune once
a day old.  Anything else in the root is not zipimporter's: it is shown, never
counted against the cap, and left alone, even by ``clear``.

Last use and LRU
----------------
An entry's last use is the latest access or modification time of its files
(a directory's modification time counting too).  Packs and indexes are marked
when read: a read whose access time is over an hour old sets it to now
(:func:`zipimporter.cachedir.read_entry`), so their last use is known to the
hour whatever the file system's ``atime`` policy.  A bundle is marked when a
worker sets it up (:func:`hold_bundle`), on every worker start and restart.
Extension slots and maps are not marked on use: their access times are the
file system's (with ``relatime``, Linux's default, a read updates them at most
once a day; with ``noatime``, never, and the last use is when they were
written).

:func:`prune` removes the least recently used prunable entries until the
total is within the cap.  The cap is ``ZIPIMPORTER_CACHE_MAX_SIZE`` (e.g.
``500M``, ``2G``; ``none`` for no cap), else :data:`DEFAULT_MAX_SIZE`.  A
process that has already read a pack or index keeps using its copy; an
extension slot is renamed away before it is deleted, so a process sees it
whole or not at all (one that is about to load a file from a slot being
pruned can fail that import: rare, as it takes a slot unused for longer than
the others and a prune at that moment).

Bundles in use
--------------
A worker keeps each bundle it has in force open, with a shared ``flock`` on
it, from its setup to its teardown or the end of the process
(:func:`hold_bundle`).  Before removing a bundle, ``prune`` and ``clear`` take
an exclusive ``flock`` on it without waiting: if that fails, a live process
holds it and it is kept (and reported).  The kernel releases a process's locks
when it ends, however it ends, so a crashed or killed worker leaves no stale
state: its bundles can be removed at once.  Storing a bundle and taking the
hold on it happen under a shared lock on the ``bundles/`` directory, and
removals under an exclusive one (again never waited for: a prune that meets a
worker storing a bundle keeps every bundle, and says so), so a prune can't
remove a bundle between its being stored and its being held.  ``clear``
removes ``bundles/`` itself only when it has emptied it; a worker that finds
its directory removed while it waited makes it again.

Locks are ``flock(2)`` (per open file, across processes; where NFS emulates
them with POSIX locks, an exclusive lock needs a file open for writing, so
bundles there are reported as "can't tell" and kept).  Platforms without
``flock`` (Windows) rely on the open file alone, which can't be deleted there.

Nothing here follows a symbolic link: entries are examined with ``lstat``, a
link is removed as a link, and directories are removed with
``shutil.rmtree``, which does not follow links inside them.  ``prune`` and
``clear`` act only on a root :func:`zipimporter.cachedir.refusal` trusts.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from dataclasses import dataclass, field

from . import cachedir, messages
from .bytecode_cache import HEADER, SUFFIX, parse
from .index_cache import DIRS_SUFFIX

if sys.platform != "win32":
    import fcntl

    _FLOCK = True
else:  # no flock(2); a file a process has open can't be deleted there, which keeps it
    _FLOCK = False

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "BUNDLES",
    "DEFAULT_MAX_SIZE",
    "KEPT_BUSY",
    "KEPT_IN_USE",
    "KEPT_UNCHECKED",
    "KINDS",
    "BundleHold",
    "CacheRefusedError",
    "Entry",
    "Info",
    "auto_prune",
    "cap_setting",
    "clear",
    "format_size",
    "hold_bundle",
    "info",
    "parse_size",
    "prune",
    "pruned_lines",
    "scan",
]

SEP = os.sep
#: The kind (subdirectory of the cache root) holding the Dask plugin's bundles.
BUNDLES = "bundles"
KINDS = ("index", "bytecode", "extensions", BUNDLES, "activate")
#: The cap when ``ZIPIMPORTER_CACHE_MAX_SIZE`` is not set (1 GiB).
DEFAULT_MAX_SIZE = 1 << 30
ENV_MAX_SIZE = "ZIPIMPORTER_CACHE_MAX_SIZE"
#: Temporary files and directories older than this (seconds) are leftovers.
STALE_AGE = 24 * 3600
_SLOT_DIGITS = 32  # extraction.SLOT_DIGITS
_BUNDLE_DIGITS = 64  # a SHA-256, hex
_O_NOATIME = getattr(os, "O_NOATIME", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK: a FIFO planted as a bundle must not block the open.
_FILE_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_DIRECTORY", 0)
#: How often :func:`hold_bundle` tries again when its directory is removed under it.
_HOLD_ATTEMPTS = 5

# The messages about kept bundles (messages.KEPT_*), by the reason they were kept.
KEPT_IN_USE, KEPT_BUSY, KEPT_UNCHECKED = (
    messages.KEPT_IN_USE,
    messages.KEPT_BUSY,
    messages.KEPT_UNCHECKED,
)

#: Why an entry was not removed; also :data:`KEPT` keys.
IN_USE, BUSY, UNCHECKED = "in use", "busy", "unchecked"
#: The message for each reason a bundle is kept.
KEPT = {IN_USE: KEPT_IN_USE, BUSY: KEPT_BUSY, UNCHECKED: KEPT_UNCHECKED}
_REMOVED, _FAILED = "removed", "failed"


class CacheRefusedError(Exception):
    """The cache directory can't be pruned or cleared; the message says why."""


@dataclass
class Entry:
    """One unit of pruning: a file or a directory directly under a kind's directory."""

    kind: str
    path: str
    size: int = 0  # bytes in its files
    files: int = 0
    used: float = 0.0  # last use: the latest atime/mtime of its files
    mtime: float = 0.0  # the latest modification time
    atime: float = 0.0  # the latest access time
    modules: int = 0  # modules in a pack
    temporary: bool = False  # a leftover of a process that was writing
    prunable: bool = True
    # "pack", "legacy", "slot", "map", "index", "dirs", "bundle", "shim", "temporary", "other"
    role: str = ""


@dataclass
class KindInfo:
    """What one kind of cache holds."""

    kind: str
    entries: int = 0
    size: int = 0
    files: int = 0
    roles: dict[str, int] = field(default_factory=dict)  # role -> entries
    modules: int = 0
    in_use: int = 0  # bundles a running process holds
    oldest_use: float | None = None
    newest_use: float | None = None
    oldest_mtime: float | None = None
    newest_mtime: float | None = None
    oldest_atime: float | None = None
    newest_atime: float | None = None


@dataclass
class Info:
    """``zipimporter cache info``."""

    root: str | None  # None: caching is off
    exists: bool = False
    problem: str | None = None  # why the root is not trusted
    kinds: list[KindInfo] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # names in the root that aren't ours
    total: int = 0
    cap: int | None = DEFAULT_MAX_SIZE
    cap_source: str = ""
    next_prune: float | None = None  # None: not scheduled (no entry written yet)


# -- sizes ---------------------------------------------------------------------

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int | None:
    """Bytes from a size such as ``500M`` or ``1.5GiB`` (K, M, G, T are powers of 1024).

    ``none``, ``off`` or ``unlimited`` mean no cap (None).  Raises ValueError
    for anything else that is not a size.

    >>> parse_size("1G") == 1 << 30, parse_size("512MiB") == 512 << 20
    (True, True)
    >>> parse_size("1.5k"), parse_size("100"), parse_size("100 B"), parse_size("none")
    (1536, 100, 100, None)
    >>> parse_size("-1")
    Traceback (most recent call last):
    ValueError: not a size: '-1'
    """
    value = text.strip().lower().replace(" ", "")
    if value in {"none", "off", "unlimited"}:
        return None
    number = value.removesuffix("b").removesuffix("i")
    unit = number[-1:] if number[-1:] in _UNITS else ""
    number = number[: len(number) - len(unit)]
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    if not (0 <= amount < 1 << 63) or (value.endswith("ib") and not unit):
        raise ValueError(f"not a size: {text!r}")
    return int(amount * _UNITS[unit])


def format_size(size: int) -> str:
    """A size for people, in powers of 1024 (as :func:`parse_size` reads them).

    >>> format_size(0), format_size(1023), format_size(1536), format_size(1 << 30)
    ('0 B', '1023 B', '1.5 KiB', '1.0 GiB')
    """
    if size < 1024:
        return f"{size} B"
    amount = size / 1024
    units = ["KiB", "MiB", "GiB", "TiB"]
    while amount >= 1024 and len(units) > 1:
        amount /= 1024
        del units[0]
    return f"{amount:.1f} {units[0]}"


def cap_setting() -> tuple[int | None, str]:
    """(the cap in bytes or None, where it comes from: ``"default"``, the variable, or why not)."""
    raw = os.environ.get(ENV_MAX_SIZE, "")
    if not raw.strip():
        return DEFAULT_MAX_SIZE, "default"
    try:
        return parse_size(raw), ENV_MAX_SIZE
    except ValueError:
        return DEFAULT_MAX_SIZE, f"default: {ENV_MAX_SIZE}={raw!r} is not a size"


# -- looking ---------------------------------------------------------------------


def scan(root: str) -> list[Entry]:
    """Every entry of every kind under *root* (see the module's docs), never following links."""
    entries: list[Entry] = []
    for kind in KINDS:
        base = f"{root}{SEP}{kind}"
        try:
            st = os.lstat(base)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            # Not ours to use (cachedir refuses it), but under our name: counted, prunable.
            entries.append(_measure(kind, base, st, "other"))
            continue
        for name, path, st in _children(base):
            if kind == "extensions" and name == "map" and stat.S_ISDIR(st.st_mode):
                for _, map_path, map_st in _children(path):
                    entries.append(_measure(kind, map_path, map_st, "map"))
                continue
            entries.append(_measure(kind, path, st, _role(kind, name, st)))
    return entries


def _children(directory: str) -> list[tuple[str, str, os.stat_result]]:
    found = []
    try:
        with os.scandir(directory) as it:
            for item in it:
                try:
                    found.append((item.name, item.path, item.stat(follow_symlinks=False)))
                except OSError:
                    continue  # gone meanwhile
    except OSError:
        pass  # unreadable or gone: nothing to count
    return sorted(found)


def _role(kind: str, name: str, st: os.stat_result) -> str:
    isdir = stat.S_ISDIR(st.st_mode)
    isfile = stat.S_ISREG(st.st_mode)
    if name.endswith(".tmp") or name.startswith((".tmp-", ".trash-")):
        return "temporary"
    if kind == "index":
        if isfile and name.endswith(".idx"):
            return "index"
        return "dirs" if isfile and name.endswith(DIRS_SUFFIX) else "other"
    if kind == "bytecode":
        if isfile and name.endswith(SUFFIX):
            return "pack"
        return "legacy" if isdir else "other"
    if kind == "extensions":
        hexdigits = len(name) == _SLOT_DIGITS and all(c in "0123456789abcdef" for c in name)
        return "slot" if isdir and hexdigits else "other"
    if kind == BUNDLES:
        digest = name.removesuffix(".zip")
        hexdigits = len(digest) == _BUNDLE_DIGITS and all(c in "0123456789abcdef" for c in digest)
        return "bundle" if isfile and name.endswith(".zip") and hexdigits else "other"
    return "shim" if isdir else "other"


def _measure(kind: str, path: str, st: os.stat_result, role: str) -> Entry:
    entry = Entry(kind, path, role=role, temporary=role == "temporary")
    entry.prunable = kind != "activate"
    if stat.S_ISDIR(st.st_mode):
        entry.mtime = st.st_mtime
        _walk(path, entry)
    else:
        entry.files = 1
        entry.size = st.st_size
        entry.mtime, entry.atime = st.st_mtime, st.st_atime
        if role == "pack":
            entry.modules = _pack_modules(path)
    entry.used = max(entry.mtime, entry.atime)
    return entry


def _walk(directory: str, entry: Entry) -> None:
    for _, path, st in _children(directory):
        if stat.S_ISDIR(st.st_mode):
            entry.mtime = max(entry.mtime, st.st_mtime)
            _walk(path, entry)
        else:
            entry.files += 1
            entry.size += st.st_size
            entry.mtime = max(entry.mtime, st.st_mtime)
            entry.atime = max(entry.atime, st.st_atime)


def _pack_modules(path: str) -> int:
    """How many modules a pack holds (0 if unreadable); its access time is left as it was."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        try:
            fd = os.open(path, flags | _O_NOATIME)
            noatime = bool(_O_NOATIME)
        except PermissionError:  # O_NOATIME is for the file's owner only
            fd = os.open(path, flags)
            noatime = False
    except OSError:
        return 0
    try:
        with open(fd, "rb") as fp:
            st = os.fstat(fd)
            head = fp.read(HEADER.size)
            if not stat.S_ISREG(st.st_mode) or len(head) < HEADER.size:
                return 0
            size = HEADER.unpack(head)[2]
            if size > st.st_size:
                return 0
            data = head + fp.read(size)
            if not noatime and os.utime in os.supports_fd:
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError:
        return 0
    parsed = parse(data)
    return 0 if parsed is None else len(parsed[0])


def info(root: str | None = None) -> Info:
    """What the caches under *root* (default: the one in force) hold, by kind."""
    if root is None:
        root = cachedir.cache_root()
    cap, source = cap_setting()
    report = Info(root, cap=cap, cap_source=source)
    if root is None:
        return report
    try:
        report.problem = cachedir.refusal(root)
    except FileNotFoundError:
        return report
    report.exists = True
    kinds = {kind: KindInfo(kind) for kind in KINDS}
    for entry in scan(root):
        k = kinds[entry.kind]
        if entry.role == "bundle" and _held_by_others(entry.path):
            k.in_use += 1
        k.entries += 1
        k.size += entry.size
        k.files += entry.files
        k.modules += entry.modules
        k.roles[entry.role] = k.roles.get(entry.role, 0) + 1
        for name, value in (("use", entry.used), ("mtime", entry.mtime), ("atime", entry.atime)):
            if value:
                old, new = getattr(k, f"oldest_{name}"), getattr(k, f"newest_{name}")
                setattr(k, f"oldest_{name}", value if old is None else min(old, value))
                setattr(k, f"newest_{name}", value if new is None else max(new, value))
    report.kinds = list(kinds.values())
    report.total = sum(k.size for k in report.kinds)
    report.others = [n for n, _, _ in _children(root) if not _ours(n)]
    try:
        st = os.lstat(f"{root}{SEP}{cachedir.PRUNE_STAMP}")
    except OSError:
        pass
    else:
        if stat.S_ISREG(st.st_mode):
            report.next_prune = st.st_mtime + cachedir.PRUNE_INTERVAL
    return report


def _ours(name: str) -> bool:
    """Whether a name directly in the root is zipimporter's."""
    stamp = cachedir.PRUNE_STAMP
    return (
        name in KINDS or name == stamp or (name.startswith(stamp + ".") and name.endswith(".tmp"))
    )


# -- pruning and clearing ----------------------------------------------------------


def _trusted_root(root: str | None, action: str) -> str | None:
    """*root* (default: the one in force) if it may be pruned or cleared; None if it isn't there.

    Raises CacheRefusedError if caching is off or the root is not trusted.
    """
    if root is None:
        root = cachedir.cache_root()
    if root is None:
        value = os.environ.get("ZIPIMPORTER_CACHE", "")
        raise CacheRefusedError(messages.CACHES_OFF.format(value=value, action=action))
    try:
        problem = cachedir.refusal(root)
    except FileNotFoundError:
        return None
    if problem is not None:
        raise CacheRefusedError(
            messages.CACHE_REFUSED.format(action=action, root=root, reason=problem)
        )
    return root


@dataclass
class Pruned:
    """What :func:`prune` did."""

    root: str
    removed: list[Entry] = field(default_factory=list)
    total: int = 0  # what is left
    cap: int | None = None
    kept: dict[str, list[Entry]] = field(default_factory=dict)  # reason (KEPT's keys) -> bundles

    @property
    def removed_size(self) -> int:
        return sum(e.size for e in self.removed)


def prune(root: str | None, max_size: int | None, *, now: float | None = None) -> Pruned | None:
    """Remove leftovers, then least recently used entries until at most *max_size* bytes remain.

    *max_size* None: no cap (leftovers only).  Bundles a running process
    holds are kept (``kept``, by reason), and the entries used before them
    are pruned in their place.  Returns None if *root* does not exist.
    Raises CacheRefusedError (caching off, or the root not trusted).
    """
    where = _trusted_root(root, "prune")
    if where is None:
        return None
    now = time.time() if now is None else now
    entries = scan(where)
    result = Pruned(where, cap=max_size)
    kept: dict[str, tuple[str, Entry]] = {}  # path -> (why, entry), for entries not removed
    left = []
    for entry in entries:
        if entry.temporary and now - entry.used > STALE_AGE:
            status = _remove(where, entry)
            if status == _REMOVED:
                result.removed.append(entry)
                continue
            kept[entry.path] = (status, entry)
        left.append(entry)
    total = sum(e.size for e in left)
    if max_size is not None and total > max_size:
        for entry in sorted((e for e in left if e.prunable), key=lambda e: (e.used, e.path)):
            if total <= max_size:
                break
            status = _remove(where, entry)
            if status == _REMOVED:
                result.removed.append(entry)
                kept.pop(entry.path, None)
                total -= entry.size
            else:
                kept[entry.path] = (status, entry)
    result.total = total
    for status, entry in kept.values():
        if status in KEPT:
            result.kept.setdefault(status, []).append(entry)
    return result


def auto_prune(root: str) -> Pruned | None:
    """The automatic prune (at most daily, at the exit of a process that wrote an entry)."""
    cap, _ = cap_setting()
    return prune(root, cap)


@dataclass
class Cleared:
    """What :func:`clear` did."""

    root: str
    removed: int = 0  # entries
    size: int = 0
    others: list[str] = field(default_factory=list)  # left alone
    kept: dict[str, list[Entry]] = field(default_factory=dict)  # reason (KEPT's keys) -> bundles


def clear(root: str | None = None) -> Cleared | None:
    """Remove everything zipimporter keeps under *root*; None if it does not exist.

    Bundles a running process holds are kept (``kept``, by reason), and
    ``bundles/`` with them.  Raises CacheRefusedError (caching off, or the
    root not trusted).
    """
    where = _trusted_root(root, "clear")
    if where is None:
        return None
    entries = scan(where)
    result = Cleared(where)
    for name, path, st in _children(where):
        if not _ours(name):
            result.others.append(name)
        elif name == BUNDLES and stat.S_ISDIR(st.st_mode):
            inside = [e for e in entries if os.path.dirname(e.path) == path]
            for status, entry in _clear_bundles(path, inside):
                result.kept.setdefault(status, []).append(entry)
        else:
            _remove_path(path, st)
    kept = {e.path for bundles in result.kept.values() for e in bundles}
    removed = [e for e in entries if e.path not in kept]
    result.removed, result.size = len(removed), sum(e.size for e in removed)
    return result


def _remove(root: str, entry: Entry) -> str:
    """Remove one entry: _REMOVED, or why not (a key of KEPT, or _FAILED)."""
    if entry.kind == BUNDLES and os.path.dirname(entry.path) != root:
        return _remove_bundle(entry.path)
    try:
        st = os.lstat(entry.path)
    except FileNotFoundError:
        return _REMOVED  # gone already
    except OSError:
        return _FAILED
    path = entry.path
    if entry.role == "slot" and stat.S_ISDIR(st.st_mode):
        # Renamed away first: a process sees the whole slot or none of it.
        trash = f"{os.path.dirname(path)}{SEP}.trash-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            os.rename(path, trash)
        except OSError:
            return _FAILED
        path = trash
    return _REMOVED if _remove_path(path, st) else _FAILED


# -- bundles: holding them, and removing those no process holds ------------------------


class BundleHold:
    """A bundle this process keeps open, under a shared lock, while it uses it.

    Made by :func:`hold_bundle`; :meth:`close` (or the end of a ``with``
    block, or of the process, however it ends) lets housekeeping remove it.
    """

    path: str

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def closed(self) -> bool:
        return self._fd is None

    def close(self) -> None:
        """Release the bundle (closing the file releases its lock); again: nothing."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> BundleHold:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "released" if self._fd is None else "held"
        return f"<BundleHold {self.path!r} {state}>"


def hold_bundle(directory: str, name: str, place: Callable[[str], bool]) -> tuple[BundleHold, bool]:
    """Put the bundle ``directory/name`` in place and keep it from being removed while in use.

    Under a shared ``flock`` on *directory* (removals take an exclusive one,
    see the module's docs), ``place(path)`` makes *path* hold the bundle,
    returning True if it wrote it now, False if it was there; then the file
    is opened and a shared ``flock`` taken on it, which the returned hold
    keeps until it is closed or this process ends.  The file's access time
    is set to now, its modification time kept: its last use, for pruning.
    A missing *directory* is made (``0700``, as its missing parents); one
    removed while this waited for its lock is made again.

    Returns ``(hold, place's result)``.  Raises what *place* raises, and
    OSError if *directory* or the bundle can't be opened or made, or the
    bundle is not a regular file.
    """
    path = f"{directory}{SEP}{name}"
    for _ in range(_HOLD_ATTEMPTS):
        lock = _shared_directory_lock(directory)
        if lock is None:
            continue  # removed (cache clear) while this waited: make it again
        try:
            placed = place(path)
            fd = _open_and_share(path)
        finally:
            if lock >= 0:
                os.close(lock)
        _mark_used(fd)
        return BundleHold(path, fd), placed
    raise FileNotFoundError(errno.ENOENT, "removed again and again meanwhile", directory)


def _shared_directory_lock(directory: str) -> int | None:
    """A descriptor of *directory* holding a shared lock (-1 without flock).

    None if the directory at that path is not the one locked (removed, or
    replaced, while this waited).  OSError if it can't be opened or made.
    """
    if not _FLOCK:
        cachedir.make_private_dirs(directory)
        return -1
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except FileNotFoundError:
        cachedir.make_private_dirs(directory)
        fd = os.open(directory, _DIR_FLAGS)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if _same_file(os.fstat(fd), directory):
            return fd
    except OSError as exc:
        if exc.errno in _NO_LOCKS:
            return fd  # a file system without locks: go on (removals can't lock either)
        os.close(fd)
        raise
    os.close(fd)
    return None


#: flock's errors on a file system that has no such locks (for this file).
_NO_LOCKS = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF})


def _open_and_share(path: str) -> int:
    """A descriptor of the regular file *path* holding a shared lock; OSError if not."""
    fd = os.open(path, _FILE_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        if _FLOCK:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
            except OSError as exc:
                if exc.errno not in _NO_LOCKS:
                    raise
                # No locks here: the file is held open only (and removals keep it).
    except BaseException:
        os.close(fd)
        raise
    return fd


def _mark_used(fd: int) -> None:
    """Set the access time of the file open as *fd* to now (last use); failure: ignored."""
    if os.utime in os.supports_fd:
        try:
            os.utime(fd, ns=(time.time_ns(), os.fstat(fd).st_mtime_ns))
        except OSError:
            pass  # e.g. a read-only file system: the bundle just looks older


def _same_file(st: os.stat_result, path: str) -> bool:
    """Whether *path* (not followed if a link) is the file *st* was taken of."""
    try:
        now = os.lstat(path)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def _held_by_others(path: str) -> bool:
    """Whether another open file (of any process, this one included) holds a lock on *path*."""
    if not _FLOCK:
        return False
    try:
        fd = os.open(path, _FILE_FLAGS)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # can't tell (no locks here)
    finally:
        os.close(fd)  # and the lock with it
    return False


def _remove_bundle(path: str) -> str:
    """Remove the entry *path* of a ``bundles/`` directory: _REMOVED, or why not.

    Under the directory's exclusive lock (not waited for: BUSY if a process is
    storing a bundle); a regular file only if no process holds it (IN_USE).
    """
    lock = _exclusive_directory_lock(os.path.dirname(path))
    if isinstance(lock, str):
        return lock
    try:
        return _remove_unheld(path)
    finally:
        if lock >= 0:
            os.close(lock)


def _clear_bundles(directory: str, entries: list[Entry]) -> list[tuple[str, Entry]]:
    """Remove every entry of ``bundles/`` that no process holds, then it if it is empty.

    Returns (why, entry) for each entry kept for a reason of KEPT.
    """
    lock = _exclusive_directory_lock(directory)
    if isinstance(lock, str):
        return [(lock, e) for e in entries] if lock in KEPT else []
    try:
        kept = [(status, e) for e in entries if (status := _remove_unheld(e.path)) in KEPT]
        try:
            os.rmdir(directory)  # under the lock: a worker waiting for it makes a new one
        except OSError:
            pass  # not empty: something is kept
    finally:
        if lock >= 0:
            os.close(lock)
    return kept


def _exclusive_directory_lock(directory: str) -> int | str:
    """A descriptor of *directory* holding an exclusive lock (-1 without flock), or why not.

    Never waits: BUSY if a process holds its lock (storing a bundle),
    UNCHECKED where there are no locks, _FAILED if it can't be opened.
    """
    if not _FLOCK:
        return -1
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except OSError:
        return _FAILED
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return BUSY
    except OSError:
        os.close(fd)
        return UNCHECKED
    return fd


def _remove_unheld(path: str) -> str:
    """Remove *path* (under its directory's exclusive lock) unless a process holds it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return _REMOVED
    except OSError:
        return _FAILED
    if not stat.S_ISREG(st.st_mode) or not _FLOCK:
        # Links, directories, ...: never held (workers open regular files only).
        return _REMOVED if _remove_path(path, st) else _FAILED
    try:
        fd = os.open(path, _FILE_FLAGS)
    except FileNotFoundError:
        return _REMOVED
    except OSError:
        return _FAILED
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return IN_USE
        except OSError:
            return UNCHECKED
        if not _same_file(os.fstat(fd), path):
            return _FAILED  # replaced meanwhile: judged again next time
        return _REMOVED if _remove_path(path, st) else _FAILED
    finally:
        os.close(fd)


def _remove_path(path: str, st: os.stat_result) -> bool:
    """Remove a file, a link (not what it points to) or a directory tree; False on failure."""
    try:
        if stat.S_ISDIR(st.st_mode):
            import shutil

            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=_writable_and_retry)
            else:
                shutil.rmtree(path, onerror=_writable_and_retry)
        else:
            os.unlink(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return not os.path.lexists(path)


def _writable_and_retry(function: object, path: str, _error: object) -> None:
    """rmtree's error handler: a directory of ours made read-only is made writable, once."""
    parent = os.path.dirname(path)
    st = os.lstat(parent)
    if stat.S_ISDIR(st.st_mode) and not st.st_mode & stat.S_IWUSR:
        os.chmod(parent, stat.S_IMODE(st.st_mode) | stat.S_IRWXU)
        if function in (os.rmdir, os.unlink):
            function(path)
            return
    raise OSError(f"can't remove {path!r}")


# -- what the command line prints ------------------------------------------------------

_MAIN_ROLE = {
    "index": "index",
    "bytecode": "pack",
    "extensions": "slot",
    BUNDLES: "bundle",
    "activate": "shim",
}
_ROLE_ORDER = ("index", "dirs", "pack", "modules", "slot", "map", "bundle", IN_USE, "shim",
               "legacy", "temporary", "other")  # fmt: skip


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _count(count: int, role: str) -> str:
    singular, plural = messages.CACHE_NOUNS[role]
    return messages.CACHE_COUNT.format(count=count, noun=singular if count == 1 else plural)


def info_lines(report: Info) -> list[str]:
    """``zipimporter cache info``'s text (:mod:`zipimporter.messages` wording)."""
    if report.root is None:
        return [messages.CACHE_OFF.format(value=os.environ.get("ZIPIMPORTER_CACHE", ""))]
    lines = [messages.CACHE_DIRECTORY.format(root=report.root)]
    if not report.exists:
        return [*lines, messages.CACHE_NOT_THERE.format(root=report.root)]
    if report.problem is not None:
        lines.append("  " + messages.CACHE_NOT_TRUSTED.format(reason=report.problem))
    for k in report.kinds:
        counts = {**k.roles, "modules": k.modules, IN_USE: k.in_use}
        counts.setdefault(_MAIN_ROLE[k.kind], 0)
        what = ", ".join(
            _count(counts[role], role)
            for role in _ROLE_ORDER
            if role == _MAIN_ROLE[k.kind] or counts.get(role)
        )
        used = messages.CACHE_EMPTY
        if k.oldest_use is not None and k.newest_use is not None:
            used = messages.CACHE_USED.format(
                oldest=_when(k.oldest_use), newest=_when(k.newest_use)
            )
        lines.append(
            messages.CACHE_KIND.format(kind=k.kind, what=what, size=format_size(k.size), used=used)
        )
    if report.others:
        lines.append(messages.CACHE_OTHERS.format(names=", ".join(report.others)))
    lines.append(
        messages.CACHE_TOTAL.format(
            size=format_size(report.total),
            cap=_cap_text(report.cap),
            source=report.cap_source,
            prune=messages.CACHE_PRUNE_UNSCHEDULED
            if report.next_prune is None
            else messages.CACHE_NEXT_PRUNE.format(when=_when(report.next_prune)),
        )
    )
    return lines


def _cap_text(cap: int | None) -> str:
    return messages.CACHE_NO_CAP if cap is None else format_size(cap)


def pruned_line(result: Pruned) -> str:
    """``zipimporter cache prune``'s report: its first line (see :func:`pruned_lines`)."""
    return messages.PRUNED.format(
        root=result.root,
        count=len(result.removed),
        size=format_size(result.removed_size),
        total=format_size(result.total),
        cap=_cap_text(result.cap),
    )


def pruned_lines(result: Pruned) -> list[str]:
    """``zipimporter cache prune``'s report: :func:`pruned_line`, then what was kept and why."""
    return [pruned_line(result), *_kept_lines(result.kept)]


def _kept_lines(kept: dict[str, list[Entry]]) -> list[str]:
    """A line for each reason (in KEPT's order) bundles were kept."""
    return [
        KEPT[why].format(
            what=_count(len(kept[why]), "bundle"), size=format_size(sum(e.size for e in kept[why]))
        )
        for why in KEPT
        if kept.get(why)
    ]


def cleared_lines(result: Cleared) -> list[str]:
    """``zipimporter cache clear``'s report."""
    lines = [
        messages.CLEARED.format(
            root=result.root, count=result.removed, size=format_size(result.size)
        ),
        *_kept_lines(result.kept),
    ]
    if result.others:
        lines.append(messages.CLEAR_LEFT_ALONE.format(names=", ".join(result.others)))
    return lines

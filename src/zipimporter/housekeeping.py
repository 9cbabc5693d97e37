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
``activate/``
    the ``sitecustomize`` shim that child processes run (one small directory
    per zipimporter version): never pruned, since a running process may have
    put it on its children's ``PYTHONPATH``; ``clear`` removes it.

Each item directly in ``index/``, ``bytecode/``, ``activate/``, and in
``extensions/`` (a slot) or ``extensions/map/`` (an archive's map), is one
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
hour whatever the file system's ``atime`` policy.  Extension slots and maps
are not marked on use: their access times are the file system's (with
``relatime``, Linux's default, a read updates them at most once a day; with
``noatime``, never, and the last use is when they were written).

:func:`prune` removes the least recently used prunable entries until the
total is within the cap.  The cap is ``ZIPIMPORTER_CACHE_MAX_SIZE`` (e.g.
``500M``, ``2G``; ``none`` for no cap), else :data:`DEFAULT_MAX_SIZE`.  A
process that has already read a pack or index keeps using its copy; an
extension slot is renamed away before it is deleted, so a process sees it
whole or not at all (one that is about to load a file from a slot being
pruned can fail that import: rare, as it takes a slot unused for longer than
the others and a prune at that moment).

Nothing here follows a symbolic link: entries are examined with ``lstat``, a
link is removed as a link, and directories are removed with
``shutil.rmtree``, which does not follow links inside them.  ``prune`` and
``clear`` act only on a root :func:`zipimporter.cachedir.refusal` trusts.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from dataclasses import dataclass, field

from . import cachedir, messages
from .bytecode_cache import HEADER, SUFFIX, parse

__all__ = [
    "DEFAULT_MAX_SIZE",
    "KINDS",
    "CacheRefusedError",
    "Entry",
    "Info",
    "auto_prune",
    "cap_setting",
    "clear",
    "format_size",
    "info",
    "parse_size",
    "prune",
    "scan",
]

SEP = os.sep
KINDS = ("index", "bytecode", "extensions", "activate")
#: The cap when ``ZIPIMPORTER_CACHE_MAX_SIZE`` is not set (1 GiB).
DEFAULT_MAX_SIZE = 1 << 30
ENV_MAX_SIZE = "ZIPIMPORTER_CACHE_MAX_SIZE"
#: Temporary files and directories older than this (seconds) are leftovers.
STALE_AGE = 24 * 3600
_SLOT_DIGITS = 32  # extraction.SLOT_DIGITS
_O_NOATIME = getattr(os, "O_NOATIME", 0)


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
    role: str = ""  # "pack", "legacy", "slot", "map", "index", "shim", "temporary", "other"


@dataclass
class KindInfo:
    """What one kind of cache holds."""

    kind: str
    entries: int = 0
    size: int = 0
    files: int = 0
    roles: dict[str, int] = field(default_factory=dict)  # role -> entries
    modules: int = 0
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
        return "index" if isfile and name.endswith(".idx") else "other"
    if kind == "bytecode":
        if isfile and name.endswith(SUFFIX):
            return "pack"
        return "legacy" if isdir else "other"
    if kind == "extensions":
        hexdigits = len(name) == _SLOT_DIGITS and all(c in "0123456789abcdef" for c in name)
        return "slot" if isdir and hexdigits else "other"
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

    @property
    def removed_size(self) -> int:
        return sum(e.size for e in self.removed)


def prune(root: str | None, max_size: int | None, *, now: float | None = None) -> Pruned | None:
    """Remove leftovers, then least recently used entries until at most *max_size* bytes remain.

    *max_size* None: no cap (leftovers only).  Returns None if *root* does
    not exist.  Raises CacheRefusedError (caching off, or the root not trusted).
    """
    where = _trusted_root(root, "prune")
    if where is None:
        return None
    now = time.time() if now is None else now
    entries = scan(where)
    result = Pruned(where, cap=max_size)
    kept = []
    for entry in entries:
        if entry.temporary and now - entry.used > STALE_AGE and _remove(where, entry):
            result.removed.append(entry)
        else:
            kept.append(entry)
    total = sum(e.size for e in kept)
    if max_size is not None and total > max_size:
        for entry in sorted((e for e in kept if e.prunable), key=lambda e: (e.used, e.path)):
            if total <= max_size:
                break
            if _remove(where, entry):
                result.removed.append(entry)
                total -= entry.size
    result.total = total
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


def clear(root: str | None = None) -> Cleared | None:
    """Remove everything zipimporter keeps under *root*; None if it does not exist.

    Raises CacheRefusedError (caching off, or the root not trusted).
    """
    where = _trusted_root(root, "clear")
    if where is None:
        return None
    entries = scan(where)
    result = Cleared(where, len(entries), sum(e.size for e in entries))
    for name, path, st in _children(where):
        if _ours(name):
            _remove_path(path, st)
        else:
            result.others.append(name)
    return result


def _remove(root: str, entry: Entry) -> bool:
    """Remove one entry; False if it could not be."""
    try:
        st = os.lstat(entry.path)
    except FileNotFoundError:
        return True  # gone already
    except OSError:
        return False
    path = entry.path
    if entry.role == "slot" and stat.S_ISDIR(st.st_mode):
        # Renamed away first: a process sees the whole slot or none of it.
        trash = f"{os.path.dirname(path)}{SEP}.trash-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            os.rename(path, trash)
        except OSError:
            return False
        path = trash
    return _remove_path(path, st)


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

_MAIN_ROLE = {"index": "index", "bytecode": "pack", "extensions": "slot", "activate": "shim"}
_ROLE_ORDER = ("index", "pack", "modules", "slot", "map", "shim", "legacy", "temporary", "other")


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
        counts = {**k.roles, "modules": k.modules}
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
    """``zipimporter cache prune``'s report."""
    return messages.PRUNED.format(
        root=result.root,
        count=len(result.removed),
        size=format_size(result.removed_size),
        total=format_size(result.total),
        cap=_cap_text(result.cap),
    )


def cleared_lines(result: Cleared) -> list[str]:
    """``zipimporter cache clear``'s report."""
    lines = [
        messages.CLEARED.format(
            root=result.root, count=result.removed, size=format_size(result.size)
        )
    ]
    if result.others:
        lines.append(messages.CLEAR_LEFT_ALONE.format(names=", ".join(result.others)))
    return lines

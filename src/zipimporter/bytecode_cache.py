"""Compiled code of archive sources, cached outside the archive: one pack per archive.

A source-only module in an archive would otherwise be compiled on every run.
Its compiled code goes into the archive's *pack*: one file per (archive real
path, interpreter cache tag, optimization level), so a process opens and
writes O(1) cache files per archive, not one per module.

Reading
-------
The first :func:`load` for an archive reads its whole pack with one read
(packs over :data:`MAX_PACK` bytes are not read: the archive runs without its
cache, and the next write replaces the pack).  The pack stays in memory; each
module's entry is found in its index by member name and used only if the
member's CRC-32 and size are still those recorded (a changed member simply
misses) and the entry's own CRC-32 checks.  ``co_filename`` is set to the
module's path (``_imp._fix_co_filename``).  A pack that is truncated,
corrupt, for another Python (importlib's magic number) or not a pack at all is
ignored, and replaced at the next write.

Writing
-------
:func:`store` keeps new code in memory.  The pack is written as a whole
(entries read from it, entries another process wrote meanwhile, and the new
ones) to a temp file renamed into place (:func:`zipimporter.cachedir.atomic_write`),
so no process ever reads a partial pack:

- at exit (``atexit``), by the process that compiled the code (a forked
  child drops the entries it inherited: its parent writes them);
- and during the run, when the new entries reach :data:`BATCH` or the
  number already in the pack (so a long-running process, or one killed without
  running its exit handlers, loses at most half of what it compiled, and the
  bytes written stay linear in the pack's size);
- or when :func:`flush` is called.

Concurrent writers: each rewrites the pack from what it read, re-reading it
first if another process has replaced it since.  The last rename wins; an
entry lost to a race is only compiled again by the next run that needs it.
Nothing is written while ``sys.dont_write_bytecode`` is set.

Where
-----
``<cache root>/bytecode/<archive key>.<cache tag>[.opt-N].pack``, the key
being :func:`zipimporter.cachedir.path_key` of the archive's real path.
Under ``sys.pycache_prefix``, the pack sits where the stdlib would put the
``.pyc`` of a source file named like the archive plus ``.py``, with ``.pack``
for ``.pyc``: ``<prefix>/<archive's absolute path>.<cache tag>[.opt-N].pack``
(e.g. ``/prefix/srv/app.zip.cpython-312.pack`` for ``/srv/app.zip``), so
``sys.pycache_prefix`` mirrors archives as it mirrors source trees.

The directory (``<cache root>/bytecode``, or the prefix) is used only while
it can be trusted (see :mod:`zipimporter.cachedir`).  Member names are only
keys in a pack, never paths; still, a member whose name is not safe as a path
(:func:`zipimporter.names.safe_relative_name`) is never cached, as before.

Last use
--------
Reading a pack whose access time is over an hour old sets it to now (one
``utime`` per archive per process at most, usually none), so LRU pruning
(:mod:`zipimporter.housekeeping`) sees which packs are in use on any file
system.  Writing a pack notes its cache root for the daily prune check at exit
(:func:`zipimporter.cachedir.note_write`).

Pack format
-----------
A 20-byte header (``ZIPPACK\\x01``, importlib's ``MAGIC_NUMBER``, the index's
length and CRC-32), the index (``marshal`` of a dict: member name ->
(member CRC-32, member size, offset, length, entry CRC-32)), then the
entries (``marshal`` of each code object), offsets counted from the end of the
index.
"""

from __future__ import annotations

import _imp
import _thread
import marshal
import os
import struct
import sys
import zlib
from _frozen_importlib_external import MAGIC_NUMBER, cache_from_source

from . import cachedir
from .archive import Member
from .names import safe_relative_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
else:
    CodeType = type((lambda: None).__code__)  # types.CodeType, without importing types

__all__ = ["BATCH", "MAX_PACK", "flush", "load", "parse", "store"]

_TAG = sys.implementation.cache_tag
SEP = os.sep
SUFFIX = ".pack"
MAGIC = b"ZIPPACK\x01"
HEADER = struct.Struct("<8s4sII")  # magic, importlib magic, index length, index crc32
#: Packs larger than this are neither read nor written (a bound on memory).
MAX_PACK = 256 << 20
#: New entries written during the run once this many (or as many as the pack
#: already holds, if more) are waiting.
BATCH = 64
#: A pack read whose access time is older than this (seconds) gets it renewed.
TOUCH_AFTER = 3600.0

# (member crc, member size, offset, length, entry crc) in a pack's index.
Entry = tuple[int, int, int, int, int]


class _Pack:
    """One pack: what was read of it, and the entries waiting to be written."""

    __slots__ = (
        "base",
        "data",
        "directory",
        "identity",
        "index",
        "path",
        "pending",
        "pid",
        "root",
        "writable",
    )

    def __init__(self, path: str, directory: tuple[str, str | None], root: str) -> None:
        self.path = path
        self.directory = directory  # (root, sub) for cachedir.trusted_dir
        self.root = root  # the cache root in force (for the prune check)
        self.index: dict[str, Entry] = {}
        self.data = b""
        self.base = 0  # where the entries start in data
        self.identity: tuple[int, int, int, int] | None = None  # of the file read
        self.pending: dict[str, tuple[int, int, bytes]] = {}  # name -> crc, size, marshal
        self.pid = os.getpid()  # whose pending entries these are
        self.writable: bool | None = None  # not decided yet


# (archive as given, cache root, pycache_prefix) -> its pack, or None: no caching.
_packs: dict[tuple[str, str | None, str | None], _Pack | None] = {}
_by_path: dict[str, _Pack] = {}
_lock = _thread.allocate_lock()  # pending entries
_write_lock = _thread.allocate_lock()  # one write at a time in this process
_exit_registered: list[int] = []  # the pids that registered the exit handler


def _pack(archive: str) -> _Pack | None:
    root = cachedir.cache_root()
    prefix = sys.pycache_prefix
    key = (archive, root, prefix)
    try:
        return _packs[key]
    except KeyError:
        pass
    if len(_packs) > 1024:
        _packs.clear()
    pack = _packs[key] = _open(archive, root, prefix)
    return pack


def _open(archive: str, root: str | None, prefix: str | None) -> _Pack | None:
    if root is None or _TAG is None:
        return None
    directory: tuple[str, str | None]
    if prefix:
        # cache_from_source puts a relative prefix under the working directory.
        path = os.path.abspath(cache_from_source(os.path.abspath(archive) + ".py"))
        path = path.removesuffix(".pyc") + SUFFIX
        directory = (os.path.abspath(prefix), None)
    else:
        opt = sys.flags.optimize
        name = f"{cachedir.path_key(archive)}.{_TAG}{f'.opt-{opt}' if opt else ''}{SUFFIX}"
        path = f"{root}{SEP}bytecode{SEP}{name}"
        directory = (root, "bytecode")
    pack = _by_path.get(path)
    if pack is None:
        pack = _by_path[path] = _Pack(path, directory, root)
        if cachedir.trusted_dir(*directory, create=False) is not None:
            _read(pack)
    return pack


def _read(pack: _Pack) -> None:
    """Load *pack*'s file into memory (left empty if missing, too big or unusable)."""
    found = cachedir.read_entry(pack.path, MAX_PACK, touch_after=TOUCH_AFTER)
    if found is None:
        return
    data, st = found
    pack.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    parsed = parse(data)
    if parsed is not None:
        pack.index, pack.base = parsed
        pack.data = data


def parse(data: bytes) -> tuple[dict[str, Entry], int] | None:
    """(index, where the entries start) of a pack's bytes, or None if it is not a usable pack.

    The index's entries are checked only when used (see :func:`_entry_bytes`).
    Raises nothing.
    """
    if len(data) < HEADER.size:
        return None
    magic, python, size, crc = HEADER.unpack_from(data)
    end = HEADER.size + size
    if magic != MAGIC or python != MAGIC_NUMBER or end > len(data):
        return None
    view = memoryview(data)[HEADER.size : end]
    if zlib.crc32(view) != crc:
        return None
    try:
        index = marshal.loads(view)
    except (EOFError, ValueError, TypeError):
        return None
    return (index, end) if type(index) is dict else None


def _entry_bytes(data: bytes, base: int, entry: object) -> memoryview | None:
    """The marshal data of a well-formed *entry* whose own CRC-32 checks, else None."""
    try:
        offset: int
        length: int
        crc: int
        _, _, offset, length, crc = entry  # type: ignore[misc]
        start = base + offset
        if offset < 0 or length < 0 or start + length > len(data):
            return None
        blob = memoryview(data)[start : start + length]
        return blob if zlib.crc32(blob) == crc else None
    except (TypeError, ValueError):  # not a 5-tuple of ints
        return None


def load(archive: str, member: Member, modpath: str) -> CodeType | None:
    """The cached code for this exact member, with ``co_filename`` set to *modpath*."""
    pack = _pack(archive)
    if pack is None:
        return None
    name = member.name
    blob: bytes | memoryview | None = None
    if pack.pending:
        waiting = pack.pending.get(name)
        if waiting is not None and waiting[0] == member.crc and waiting[1] == member.file_size:
            blob = waiting[2]
    if blob is None:
        entry = pack.index.get(name)
        if (
            entry is None
            or type(entry) is not tuple
            or entry[0] != member.crc
            or entry[1] != member.file_size
            or not safe_relative_name(name)
        ):
            return None
        blob = _entry_bytes(pack.data, pack.base, entry)
        if blob is None:
            return None
    try:
        code = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(code, CodeType):
        return None
    _imp._fix_co_filename(code, modpath)  # type: ignore[attr-defined]
    return code


def store(archive: str, member: Member, modpath: str, code: CodeType) -> None:
    """Cache *code*, compiled from *member* (written in a batch or at exit; silent on failure)."""
    if sys.dont_write_bytecode:
        return
    pack = _pack(archive)
    if pack is None or not safe_relative_name(member.name):
        return
    if pack.writable is None:
        # Decided once per pack (making the directory, judging it, warning if refused).
        pack.writable = cachedir.trusted_dir(*pack.directory, create=True) is not None
        if pack.writable:
            _register_exit()
    if not pack.writable:
        return
    blob = marshal.dumps(code)
    with _lock:
        pid = os.getpid()
        if pack.pid != pid:  # forked: the parent writes what it compiled
            pack.pending = {}
            pack.pid = pid
        pack.pending[member.name] = (member.crc, member.file_size, blob)
        due = len(pack.pending) >= max(BATCH, len(pack.index))
    if due:
        _write(pack)


def _register_exit() -> None:
    pid = os.getpid()
    if pid not in _exit_registered:
        import atexit

        atexit.register(_at_exit)
        _exit_registered.append(pid)


def _at_exit() -> None:
    flush()
    cachedir.after_writes()  # the daily prune check, now that the packs are written


def flush() -> None:
    """Write every pack with new entries now (what happens at exit anyway).

    Useful in a long-running process once it has imported what it needs, or
    in a fork server before it forks its workers.
    """
    if sys.dont_write_bytecode:
        return
    pid = os.getpid()
    for pack in list(_by_path.values()):
        if pack.pending and pack.pid == pid:
            _write(pack)


def _write(pack: _Pack) -> None:
    with _write_lock:
        with _lock:
            if pack.pid != os.getpid() or not pack.pending:
                return
            new = pack.pending
            pack.pending = {}
        if not os.path.isdir(pack.directory[0]):
            return  # its cache directory was removed meanwhile (e.g. a temporary one): not remade
        _merge_from_disk(pack)
        index, raw, entries = _serialize(pack, new)
        header = HEADER.pack(MAGIC, MAGIC_NUMBER, len(raw), zlib.crc32(raw))
        if not cachedir.atomic_write(pack.path, b"".join((header, raw, entries))):
            pack.writable = False  # e.g. a full disk: no more work spent on it in this process
            return
        pack.index, pack.data, pack.base = index, entries, 0
        try:
            st = os.lstat(pack.path)
        except OSError:
            pack.identity = None
        else:
            pack.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        cachedir.note_write(pack.root)


def _merge_from_disk(pack: _Pack) -> None:
    """Take in the entries of a pack another process wrote since *pack* was read."""
    try:
        st = os.lstat(pack.path)
    except OSError:
        return
    if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == pack.identity:
        return
    found = cachedir.read_entry(pack.path, MAX_PACK)
    parsed = None if found is None else parse(found[0])
    if found is None or parsed is None:
        return
    data, st = found
    index, base = parsed
    ours, our_data, our_base = pack.index, pack.data, pack.base
    merged: dict[str, Entry] = {}
    chunks: list[bytes | memoryview] = []
    offset = 0
    # Theirs first: they are the newer writer.
    for source, source_data, source_base in ((index, data, base), (ours, our_data, our_base)):
        for name, entry in source.items():
            if name in merged:
                continue
            blob = _entry_bytes(source_data, source_base, entry)
            if blob is None or type(name) is not str:
                continue
            merged[name] = (entry[0], entry[1], offset, len(blob), entry[4])
            chunks.append(blob)
            offset += len(blob)
    pack.index, pack.data, pack.base = merged, b"".join(chunks), 0
    pack.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _serialize(
    pack: _Pack, new: dict[str, tuple[int, int, bytes]]
) -> tuple[dict[str, Entry], bytes, bytes]:
    """(index, marshalled index, entries) of *pack* with the *new* entries replacing or added.

    Entries past :data:`MAX_PACK` bytes (less room for the index) are left
    out, the new ones kept first.
    """
    limit = MAX_PACK - MAX_PACK // 16
    index: dict[str, Entry] = {}
    chunks: list[bytes | memoryview] = []
    offset = 0
    for name, (crc, size, blob) in new.items():
        if offset + len(blob) > limit:
            break
        index[name] = (crc, size, offset, len(blob), zlib.crc32(blob))
        chunks.append(blob)
        offset += len(blob)
    for name, entry in pack.index.items():
        old = None if name in index else _entry_bytes(pack.data, pack.base, entry)
        if old is None or type(name) is not str or offset + len(old) > limit:
            continue
        index[name] = (entry[0], entry[1], offset, len(old), entry[4])
        chunks.append(old)
        offset += len(old)
    return index, marshal.dumps(index), b"".join(chunks)


def _forget() -> None:
    """Drop every pack from memory, pending entries too (tests: a new process)."""
    with _lock:
        _packs.clear()
        _by_path.clear()


def _after_fork_in_child() -> None:
    global _lock, _write_lock
    _lock = _thread.allocate_lock()
    _write_lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

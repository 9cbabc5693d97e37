"""Where zipimporter keeps its on-disk caches, when it trusts them, and writing to them.

Location and configuration
--------------------------
The cache directory ("the root") is ``$ZIPIMPORTER_CACHE_DIR``, else
``$XDG_CACHE_HOME/zipimporter`` (an absolute ``XDG_CACHE_HOME`` only, as the
XDG spec says), else ``~/.cache/zipimporter``.  ``ZIPIMPORTER_CACHE=0`` (or
``off``/``no``/``false``) turns the caches off; so does
``install(cache=False)``, and ``install(cache=DIRECTORY)`` relocates them (see
:func:`zipimporter.install` for nested installs).  A setting made with
:func:`configure` (which ``install`` uses) wins over the environment.

Every ``ZIPIMPORTER_*`` variable (and ``XDG_CACHE_HOME``, ``HOME``) is read
when it is used, not when zipimporter is imported: a change to ``os.environ``
applies from the next import on.

Trust: the ~/.ssh rule
----------------------
The caches hold code that will be executed (compiled modules) and tables that
steer which bytes are read, so a cache directory that someone else can write to
is a way to run their code in our process.  Before reading or writing any
entry, zipimporter checks, once per directory and process (a few ``stat``
calls, remembered):

- the root, symlinks followed: a directory owned by this process's effective
  uid and not writable by its group or others;
- every ancestor of the root up to ``/``, both along the path as given and
  along its resolved real path (so a symlink and the directory it points to
  are both covered): owned by this uid or by root, and not writable by group or
  others unless the sticky bit is set (as on ``/tmp``).  The rule is the same
  for the default location and a configured one: above a home directory these
  are normally root-owned ``755`` directories, and checking them is what makes
  a cache under a shared, writable directory unsafe to trust;
- the subdirectory the entries live in (``index``, ``bytecode``, ``extensions``): a real
  directory (not a symlink) owned by this uid and not writable by group or
  others.  Directories below it can only have been made by this user or root,
  so they are not checked one by one.

Under ``sys.pycache_prefix`` the compiled-source cache lives there, and the
prefix is checked the way a root is.  Where the check fails, zipimporter runs
without that cache and says why once per process: a
:class:`CacheDisabledWarning` naming the directory and the reason.  (A
directory that does not exist yet is not a refusal: it is created when the
first entry is written.)  Platforms without ``os.geteuid`` (Windows) skip the
ownership and mode checks.

Every directory zipimporter creates is ``0700`` (each level, not only the last
as with ``os.makedirs``), every file ``0600``.  Entries are opened with
``O_NOFOLLOW`` and must be regular files: a symlink planted as an entry is not
read.  Writes go to a temp file created with ``O_CREAT | O_EXCL | O_NOFOLLOW``
beside the target, then ``os.replace``, which replaces a symlink at the target
rather than writing through it.

Beyond that, caches only ever speed things up: every entry read is validated
against the archive's own bytes and anything odd is ignored; every write is
atomic and any failure to create, read or write is silent.

Size
----
A process that wrote a new entry (:func:`note_write`) checks at exit whether
the root's last automatic prune (the mtime of ``<root>/.last-prune``) is a day
old, and if so prunes the root to its size cap, least recently used entries
first (:mod:`zipimporter.housekeeping`).  A process that only read its caches
never checks.  Entries are marked used when read at most hourly
(:func:`read_entry`'s *touch_after*).
"""

from __future__ import annotations

import os
import stat
import zlib

from . import environment

__all__ = [
    "CacheDisabledWarning",
    "atomic_write",
    "cache_root",
    "configure",
    "configured",
    "note_write",
    "path_key",
    "read_entry",
    "read_file",
    "refusal",
    "trusted_dir",
]

SEP = os.sep

#: The warning, and the reasons it gives; one message per situation.
CACHE_DISABLED = "zipimporter: not using the cache directory {path!r}: {reason}; running without it"
NOT_A_DIRECTORY = "it is not a directory"
IS_A_SYMLINK = "it is a symbolic link"
NOT_OWNED = "it is owned by uid {owner}, not by this process's uid {uid}"
WRITABLE_BY_OTHERS = "it is writable by its group or others (mode {mode:04o})"
PARENT_NOT_OWNED = (
    "its parent {parent!r} is owned by uid {owner}, neither this process's uid {uid} nor root"
)
PARENT_WRITABLE = (
    "its parent {parent!r} is writable by its group or others without the sticky bit "
    "(mode {mode:04o})"
)
UNCHECKABLE = "can't check {where!r} ({error})"


class CacheDisabledWarning(UserWarning):
    """A cache directory is not safe to trust, so zipimporter runs without it."""


_UNSET = object()
_override: object = _UNSET  # str path, None (off), or _UNSET (use the environment)


def configure(directory: object = _UNSET) -> object:
    """Set the cache directory (a path), turn caching off (None), or reset (no argument).

    Returns the setting that was in force, which passed back restores it.
    """
    global _override
    previous = _override
    if directory is _UNSET or directory is None:
        _override = directory
    else:
        _override = os.path.abspath(os.fspath(directory))  # type: ignore[call-overload]
    return previous


def configured() -> object:
    """The setting :func:`configure` made (an opaque value to pass back to it)."""
    return _override


def cache_root() -> str | None:
    """The cache directory now in force (absolute), or None if caching is off."""
    if _override is not _UNSET:
        return _override  # type: ignore[return-value]
    # Asked for every source module loaded: the answer for the same variables
    # is remembered (but a relative directory depends on the working directory).
    get = environment.get
    settings = (
        get("ZIPIMPORTER_CACHE"),
        get("ZIPIMPORTER_CACHE_DIR"),
        get("XDG_CACHE_HOME"),
        get("HOME"),
    )
    global _last_root
    last_settings, last_root = _last_root
    if settings == last_settings:
        return last_root
    switch, explicit, xdg, _ = settings
    root: str | None
    if (switch or "").strip().lower() in {"0", "off", "no", "false"}:
        root = None
    elif explicit:
        if not os.path.isabs(explicit):
            return os.path.abspath(explicit)
        root = explicit
    else:
        base = xdg or ""
        if not os.path.isabs(base):  # XDG: relative paths are invalid and ignored
            home = os.path.expanduser("~")
            if not os.path.isabs(home):
                return os.path.join(os.path.abspath(home), ".cache", "zipimporter")
            base = os.path.join(home, ".cache")
        root = os.path.join(base, "zipimporter")
    _last_root = (settings, root)  # one assignment: threads see both or neither
    return root


# The environment cache_root() last answered for, and its answer.
_last_root: tuple[tuple[str | None, ...] | None, str | None] = (None, None)


def path_key(path: str) -> str:
    """A short stable name for a file's real path (a cache subdirectory or file name).

    Not cryptographic: a clash only makes two archives share cache slots, and
    every cache entry is validated against the archive's own bytes.
    """
    raw = os.fsencode(os.path.realpath(path))
    return f"{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}{len(raw):04x}"


# -- trust --------------------------------------------------------------------

# (root, subdirectory) -> the directory to use, or "": refused.  No entry: not
# decided yet, or the directory did not exist when last asked.
_verdicts: dict[tuple[str, str | None], str] = {}
# root -> None (trusted) or why not.
_root_problems: dict[str, str | None] = {}


class _MissingError(Exception):
    """The directory to check does not exist (yet)."""


def trusted_dir(root: str, sub: str | None = None, *, create: bool) -> str | None:
    """``root/sub`` (or *root*) if it can be trusted with cache entries, else None.

    *root* must be absolute.  With *create*, missing directories are made
    (``0700``) first; without, a missing one gives None, and is looked at
    again next time.  The first refusal of a directory warns
    (:class:`CacheDisabledWarning`); the verdict is remembered for the process.
    """
    verdict = _verdicts.get((root, sub))
    if verdict is not None:
        return verdict or None
    return _decide(root, sub, create)


def _decide(root: str, sub: str | None, create: bool) -> str | None:
    key = (root, sub)
    if root in _root_problems:
        problem = _root_problems[root]
    else:
        try:
            problem = _check_root(root, create)
        except _MissingError:
            return None
        _root_problems[root] = problem
        if problem is not None:
            _warn(root, problem)
    if problem is not None:
        _verdicts[key] = ""
        return None
    if sub is None:
        _verdicts[key] = root
        return root
    path = f"{root}{SEP}{sub}"
    if create:
        try:
            os.mkdir(path, 0o700)
        except (OSError, ValueError):
            pass  # what is there (or not) is judged next
    try:
        problem = _check_subdirectory(path)
    except _MissingError:
        return None
    if problem is not None:
        _verdicts[key] = ""
        _warn(path, problem)
        return None
    _verdicts[key] = path
    return path


def refusal(root: str, sub: str | None = None) -> str | None:
    """Why *root* (or ``root/sub``) would not be trusted, or None if it would be.

    The same checks as :func:`trusted_dir`, made afresh: nothing is
    remembered and nothing warns (for ``zipimporter cache``, which reports
    the reason itself).  *root* must be absolute.  Raises FileNotFoundError
    if the directory is not there.
    """
    try:
        problem = _check_root(root, create=False)
        if problem is None and sub is not None:
            problem = _check_subdirectory(f"{root}{SEP}{sub}")
    except _MissingError:
        raise FileNotFoundError(root if sub is None else f"{root}{SEP}{sub}") from None
    return problem


def _euid() -> int | None:
    geteuid = getattr(os, "geteuid", None)
    return None if geteuid is None else geteuid()


def _check_root(root: str, create: bool) -> str | None:
    """None if *root* and its ancestors are safe, else what is wrong.

    With *create*, a missing root is made once its ancestors are found safe.
    Raises _MissingError if the root is not there.
    """
    uid = _euid()
    if not create:
        _stat_directory(root)  # _MissingError: nothing there yet, nothing to judge
    if uid is not None:
        for parent in _ancestors(root):
            try:
                st = os.stat(parent)
            except (FileNotFoundError, NotADirectoryError):
                continue  # to be made by us (0700), or the root won't be there
            except (OSError, ValueError) as exc:
                return UNCHECKABLE.format(where=parent, error=exc)
            if st.st_uid != uid and st.st_uid != 0:
                return PARENT_NOT_OWNED.format(parent=parent, owner=st.st_uid, uid=uid)
            if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
                return PARENT_WRITABLE.format(parent=parent, mode=stat.S_IMODE(st.st_mode))
    if create:
        try:
            make_private_dirs(root)
        except (OSError, ValueError):
            pass  # what is there (or not) is judged next
    found = _stat_directory(root)
    if isinstance(found, str):
        return found
    return None if uid is None else _check_own(found, uid)


def _stat_directory(path: str) -> os.stat_result | str:
    """The stat of the directory *path* (symlinks followed), or what is wrong with it."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise _MissingError from None
    except (OSError, ValueError) as exc:
        return UNCHECKABLE.format(where=path, error=exc)
    return st if stat.S_ISDIR(st.st_mode) else NOT_A_DIRECTORY


def _check_own(st: os.stat_result, uid: int) -> str | None:
    if st.st_uid != uid:
        return NOT_OWNED.format(owner=st.st_uid, uid=uid)
    if st.st_mode & 0o022:
        return WRITABLE_BY_OTHERS.format(mode=stat.S_IMODE(st.st_mode))
    return None


def _ancestors(root: str) -> list[str]:
    """The parents of *root* as given and of its real path, each once, nearest first."""
    found: list[str] = []
    for path in (os.path.abspath(root), os.path.realpath(root)):
        while True:
            parent = os.path.dirname(path)
            if parent == path:
                break
            if parent not in found:
                found.append(parent)
            path = parent
    return found


def _check_subdirectory(path: str) -> str | None:
    """None if *path* is a safe directory, else what is wrong; _MissingError if absent."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise _MissingError from None
    except (OSError, ValueError) as exc:
        return UNCHECKABLE.format(where=path, error=exc)
    if stat.S_ISLNK(st.st_mode):
        return IS_A_SYMLINK
    if not stat.S_ISDIR(st.st_mode):
        return NOT_A_DIRECTORY
    uid = _euid()
    return None if uid is None else _check_own(st, uid)


def _warn(path: str, reason: str) -> None:
    import warnings

    warnings.warn(CACHE_DISABLED.format(path=path, reason=reason), CacheDisabledWarning, 2)


# -- reading and writing entries ---------------------------------------------

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
# O_NONBLOCK: a FIFO planted as an entry must not block the open.
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY | getattr(os, "O_NONBLOCK", 0)
#: Flags for creating a new private file: never an existing one, never through a symlink.
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
_WRITE_FLAGS = NEW_FILE_FLAGS


_UTIME_FD = os.utime in os.supports_fd


def make_private_dirs(path: str) -> None:
    """Create *path* and its missing parents, each ``0700``.

    ``os.makedirs(mode=...)`` applies the mode to the last level only.
    Raises OSError if a level can't be made (an existing one is fine).
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if parent == path:
            raise
        make_private_dirs(parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # made meanwhile by another process


def read_file(path: str, limit: int) -> bytes | None:
    """The contents of the regular file *path*, if it is at most *limit* bytes, else None.

    A symlink at *path* is not followed (None).
    """
    found = read_entry(path, limit)
    return None if found is None else found[0]


def read_entry(
    path: str, limit: int, *, touch_after: float | None = None
) -> tuple[bytes, os.stat_result] | None:
    """Like :func:`read_file`, with the file's ``fstat`` (taken before reading).

    With *touch_after* (seconds), a file whose access time is older than
    that gets it set to now (its modification time kept): the explicit
    "last used" mark that pruning goes by, made at most once per
    *touch_after* whatever the file system's ``atime`` policy
    (``noatime``, ``relatime``).  A failure to set it is ignored.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        with open(fd, "rb") as fp:
            st = os.fstat(fd)
            # Check the size first: read(limit) would allocate *limit* bytes.
            if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
                return None
            data = fp.read()
            if touch_after is not None:
                _touch(fd, st, touch_after)
    except (OSError, ValueError):
        return None
    return (data, st) if len(data) <= limit else None


def _touch(fd: int, st: os.stat_result, after: float) -> None:
    import time

    now = time.time_ns()
    if now - st.st_atime_ns > after * 1e9 and _UTIME_FD:
        try:
            os.utime(fd, ns=(now, st.st_mtime_ns))
        except OSError:
            pass  # e.g. a read-only file system: the entry just looks older


def write_new(path: str, data: bytes, mode: int, *, sync: bool = False) -> os.stat_result:
    """Create *path* (never an existing file, never through a symlink) holding *data*.

    With *sync*, the data are flushed to disk before returning.  Returns the
    new file's stat; OSError if it can't be created or written.
    """
    fd = os.open(path, NEW_FILE_FLAGS, mode)
    with open(fd, "wb") as fp:
        fp.write(data)
        if sync:
            fp.flush()
            os.fsync(fd)
        return os.fstat(fd)


def atomic_write(path: str, data: bytes) -> bool:
    """Write *data* to *path* via a temp file and rename; False (silently) on failure.

    Readers see the old file or the new one, never a partial one, however many
    processes write at once.  Missing parent directories are made ``0700``;
    the caller has checked (:func:`trusted_dir`) the directory they are in.
    A symlink at *path* is replaced, never written through.
    """
    # A unique name beside the target (tempfile would cost its import time).
    tmp = f"{path}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        try:
            fd = os.open(tmp, _WRITE_FLAGS, 0o600)
        except FileNotFoundError:
            make_private_dirs(os.path.dirname(path))
            fd = os.open(tmp, _WRITE_FLAGS, 0o600)
    except (OSError, ValueError):
        return False
    try:
        with open(fd, "wb") as fp:
            fp.write(data)
        os.replace(tmp, path)  # rename(2): a symlink at *path* is replaced itself
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True


# -- after writing: the daily prune check ------------------------------------

#: In the root: its modification time is when the caches were last pruned.
PRUNE_STAMP = ".last-prune"
#: At most one automatic prune per root in this many seconds.
PRUNE_INTERVAL = 24 * 3600

# root -> the pid that wrote an entry there (a forked child's are its parent's).
_written: dict[str, int] = {}


def note_write(root: str) -> None:
    """Record that this process wrote a new entry under *root*.

    At exit (:func:`after_writes`) such a root is pruned if its last prune
    is a day old: the check costs one ``lstat``, and is only made by a
    process that wrote something, never by one that only read its caches.
    """
    if not _written:
        import atexit

        atexit.register(after_writes)
    _written[root] = os.getpid()


def after_writes() -> None:
    """Prune each root this process wrote to, if it is due (see :func:`note_write`)."""
    pid = os.getpid()
    roots = [root for root, writer in _written.items() if writer == pid]
    _written.clear()
    for root in roots:
        if trusted_dir(root, create=False) is not None and _prune_due(root):
            from . import housekeeping

            try:
                housekeeping.auto_prune(root)
            except OSError:
                pass  # like any cache failure: silent; the next due prune tries again


def _prune_due(root: str) -> bool:
    """Whether *root*'s automatic prune is due; if so, the stamp is renewed first.

    A root without a stamp gets one and is not pruned: its clock starts now.
    Renewing the stamp before pruning keeps concurrent exits from all
    pruning (two may, which is harmless).
    """
    import time

    stamp = f"{root}{SEP}{PRUNE_STAMP}"
    try:
        st = os.lstat(stamp)
    except FileNotFoundError:
        if os.path.isdir(root):  # a root removed meanwhile is not made again for a stamp
            atomic_write(stamp, b"")
        return False
    except (OSError, ValueError):
        return False
    if stat.S_ISREG(st.st_mode) and 0 <= time.time() - st.st_mtime < PRUNE_INTERVAL:
        return False
    return atomic_write(stamp, b"")

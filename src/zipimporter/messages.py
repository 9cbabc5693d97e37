"""What the command line says to its user: one message per situation, for every command.

Each constant is a ``str.format`` template (or a plain string); commands format
them and tests assert on them, so a message is worded in one place and a
situation reads the same whichever command met it.  Errors are printed as
``zipimporter COMMAND: error: MESSAGE`` on one line, with exit status 2.
"""

from __future__ import annotations

import stat

# -- paths given on the command line (every command) -------------------------

#: A path that does not exist: an archive to inspect, verify or run, a source
#: to build from, or the directory an output should go to.  For inspect and
#: verify, whose archive may be inside another (``outer.zip/inner.zip``), a
#: path none of whose parts is a file (``missing.zip/inner.zip``, or
#: ``adir/missing.zip`` below an existing directory).
NO_SUCH_FILE = "no such file or directory: {path}"
#: An archive (inspect, verify, run) or a source file (build) that is a
#: directory where a file is wanted, a FIFO, a device or a socket.  *kind* is
#: one of :data:`FILE_KINDS`' values.
NOT_A_REGULAR_FILE = "not a regular file ({kind}): {path}"
#: inspect and verify: an archive path whose file exists, but whose part after
#: an archive (*name*, e.g. ``inner.zip`` or ``lib/inner.zip``) is neither a
#: member of that archive (*archive*: the file, or the member archive reached
#: so far) nor a directory in it.  An error of the importer's kind
#: (``ZipImportError``): inspect fails with it (exit status 2), verify reports
#: it as its finding (exit status 1), as for an archive that can't be read.
NO_SUCH_MEMBER = "{archive} has no member or directory {name!r}"
#: A file that is not a ZIP archive at all.  This is the importer's own
#: wording (``ZipImportError``, as the stdlib's zipimport words it), which every
#: command shows as it is.
NOT_A_ZIP_FILE = "not a Zip file: {path!r}"

#: Names for :data:`NOT_A_REGULAR_FILE` and :data:`NOT_A_REGULAR_OUTPUT`, by
#: ``stat.S_IFMT`` value.
FILE_KINDS = {
    stat.S_IFDIR: "directory",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
}


def file_kind(mode: int) -> str:
    """What a non-regular file is, for :data:`NOT_A_REGULAR_FILE`.

    >>> file_kind(stat.S_IFIFO | 0o644)
    'FIFO'
    """
    return FILE_KINDS.get(stat.S_IFMT(mode), "special file")


# -- build -------------------------------------------------------------------

#: ``-o PATH`` where PATH (or what its symbolic link points to) exists and is
#: not a regular file: it is left alone.
NOT_A_REGULAR_OUTPUT = "won't write the archive over a {kind}: {path}"
#: A symbolic link in a source tree whose target does not exist.
BROKEN_LINK = "broken symbolic link: {path}"
#: A symbolic link in a source tree to a directory that contains the link.
LINK_CYCLE = (
    "symbolic link loop: {path} leads back to {target}, which contains it "
    "(leave it out with --exclude)"
)
#: Two sources give the same archive name.
DUPLICATE_NAME = "{name!r} comes from both {first} and {second}"
#: A directory left out because it is a virtual environment (a note on
#: stderr, not an error).
ENVIRONMENT_LEFT_OUT = (
    "left out {path}: a virtual environment (it has a pyvenv.cfg); --no-default-excludes bundles it"
)
#: A Python source that does not compile: ``build --compile`` and ``build
#: --main`` (for the entry point's module), and ``verify`` (after the member's name).
DOES_NOT_COMPILE = "does not compile: {error}"
#: ``--compile-python PYTHON`` that failed; *error* is its last line of stderr.
COMPILE_PYTHON_FAILED = "compiling with {python} failed: {error}"
UNKNOWN_COMPRESSION = "unknown compression {name!r}; use one of {choices}"
#: ``build --compression zstd`` on a Python with no zstd codec.
ZSTD_NEEDS_CODEC = (
    "--compression zstd needs Python 3.14 or the 'zstd' extra: pip install 'zipimporter[zstd]'"
)
#: A note from ``build`` (and from ``verify``): a bundle with zstd members.
ZSTD_NEEDS_CODEC_TO_RUN = (
    "{count} members use zstd: the Python that reads them needs the zstd codec "
    "(Python 3.14, or backports.zstd installed for it: pip install backports.zstd)"
)
#: ``--compile-python PYTHON`` (or the running Python, with ``--pycache``)
#: whose ``sys.implementation.cache_tag`` can't name a ``__pycache__`` file.
NO_CACHE_TAG = "{python} has no usable cache tag ({tag!r}): it can't have a __pycache__ layout"
#: Two ``--compile-python`` interpreters with the same cache tag.
DUPLICATE_CACHE_TAG = "{first} and {second} both compile for {tag}: give one of them"
UNKNOWN_PYC_MODE = "unknown pyc mode {name!r}; use one of {choices}"

#: ``--main`` that is not ``pkg.module:function``.
MAIN_SYNTAX = "--main must look like pkg.module:function, not {entry!r}"
#: ``--main`` given, and the sources have a ``__main__.py`` of their own.
MAIN_EXISTS = "--main given, but the sources already have a __main__.py"
#: What ``build`` prints when it is done.
BUILT = "wrote {output}: {files} files, {compiled} compiled{runtime}"
BUILT_RUNTIME = ", with the zipimporter runtime"
#: ``--runtime`` asked for, but nothing to run: no ``__main__.py`` and no ``--main``.
RUNTIME_NEEDS_MAIN = "--runtime needs a runnable bundle: a __main__.py in the sources, or --main"
#: ``verify``: members only zipimporter reads, and no runtime to run them with.
NEEDS_RUNTIME = (
    "{count} members use {methods}, which only zipimporter reads, and the bundle has no "
    "zipimporter runtime: 'python ARCHIVE' fails unless zipimporter is installed "
    "(rebuild without --no-runtime)"
)
#: ``verify``: a bundle's stub or runtime member in a method the stdlib can't read.
RUNTIME_UNREADABLE = (
    "runtime member compressed with {method}: the stdlib can't load the zipimporter "
    "runtime, so 'python ARCHIVE' fails (rebuild with zipimporter build)"
)
#: ``enable``/``disable``/``status``.
ENABLED = "enabled: archives on sys.path import through zipimporter in this environment: {path}"
ALREADY_DISABLED = "not enabled in {path} (nothing to remove)"
DISABLED = "disabled: removed {path}"
STATUS_ENABLED = "enabled by {paths}"
STATUS_NOT_ENABLED = "not enabled (no {name} in this environment's site directories)"
STATUS_ACTIVE = "this interpreter: {state}"
#: ``--main pkg.module:function`` whose module is not among what is bundled.
ENTRY_POINT_NO_MODULE = "--main {entry}: no module {module!r} in the archive (no {candidates})"
#: ``--main pkg.module:function`` whose module does not bind *function* at
#: its top level (by def, class, assignment or import).
ENTRY_POINT_NO_NAME = "--main {entry}: {member} does not define {name!r}"

# -- inspect and verify -------------------------------------------------------

#: What the running Python makes of a ``.pyc``, as ``inspect`` shows it and
#: ``verify`` reports it.  *kind*: "timestamp", "checked hash", "unchecked hash".
PYC_VALID = "valid ({kind})"
PYC_STALE = "stale ({kind}): source used"
#: *python*: :data:`PYTHON_VERSION` or :data:`PYTHON_UNKNOWN`.
PYC_FOREIGN = "compiled by {python}: {fallback}"
PYC_INVALID = "invalid: {error}"
PYC_UNREADABLE = "unreadable: {error}"
SOURCE_USED = "source used"
NO_SOURCE = "no source to fall back to"
#: The Python a ``.pyc``'s magic number belongs to (*number* is the magic's
#: first two bytes, little-endian, as CPython numbers them).
PYTHON_VERSION = "Python {version} (magic {number})"
#: A magic number of no Python release we know; *magic* is the four bytes in hex.
PYTHON_UNKNOWN = "unknown Python (magic {magic})"
#: A directory with modules below it but no entry of its own: zipimporter (and
#: the stdlib from 3.14) imports it as a namespace portion; the stdlib's
#: zipimport of 3.11-3.13 sees only explicit directory entries.
NO_DIRECTORY_ENTRY = "no directory entry: the stdlib's zipimport before 3.14 won't see it"
#: An extension module built for another Python or platform, by its file name
#: suffix (*suffixes*: the ones this Python loads); *fallback* is one of
#: :data:`PYTHON_MODULE_USED` and :data:`NO_FALLBACK`.
EXTENSION_FOREIGN = (
    "extension module for another Python or platform ({suffix!r}; this Python loads "
    "{suffixes}): {fallback}"
)
PYTHON_MODULE_USED = "the Python module beside it is used"
NO_FALLBACK = "not importable here"

# -- run ---------------------------------------------------------------------

NOT_A_MODULE_NAME = "not a module name: {name!r}"
NO_MAIN = "{archive} has no __main__.py"
NO_MODULE = "{archive} has no module {module!r}"

# -- cache -------------------------------------------------------------------

#: ``cache info``: the first line, then a line per kind of cache.
CACHE_DIRECTORY = "cache directory: {root}"
#: ``cache info``: the root exists but zipimporter refuses it (see
#: ``zipimporter.cachedir``); *reason* is the refusal's wording.
CACHE_NOT_TRUSTED = "not trusted, so zipimporter runs without it: {reason}"
#: ``cache info``, ``prune``, ``clear``: nothing there yet (not an error).
CACHE_NOT_THERE = "no cache yet: {root} does not exist"
#: ``cache info``: one kind (*kind*: index, bytecode, extensions, bundles, activate).
#: *what* is :data:`CACHE_COUNT` for each role, joined by ", ".
CACHE_KIND = "  {kind:<11} {what:<34} {size:>10}  {used}"
CACHE_COUNT = "{count} {noun}"
#: The nouns of :data:`CACHE_COUNT` (singular, plural), by role.
CACHE_NOUNS = {
    "index": ("index", "indexes"),
    "dirs": ("directory list", "directory lists"),
    "pack": ("pack", "packs"),
    "modules": ("module", "modules"),
    "legacy": ("older per-module directory", "older per-module directories"),
    "slot": ("slot", "slots"),
    "map": ("archive map", "archive maps"),
    "shim": ("shim", "shims"),
    "bundle": ("bundle", "bundles"),
    "in use": ("in use", "in use"),
    "temporary": ("leftover temporary", "leftover temporaries"),
    "other": ("unexpected item", "unexpected items"),
}
#: ``cache prune``/``clear``: bundles not removed because running processes hold
#: them (a Dask worker, see ``housekeeping.hold_bundle``).  *what* is
#: :data:`CACHE_COUNT` of bundles, *size* their size.
KEPT_IN_USE = "kept {what} in use by running processes ({size})"
#: ``cache prune``/``clear``: bundles not removed because a process was storing
#: a bundle at that moment (it holds the ``bundles/`` directory's lock).
KEPT_BUSY = "kept {what} ({size}): a process was storing a bundle meanwhile; try again"
#: ``cache prune``/``clear``: bundles not removed because this file system can't
#: say whether a process holds them (no exclusive ``flock`` on a read-only file, as on NFS).
KEPT_UNCHECKED = "kept {what} ({size}): can't tell here whether running processes use them"
#: *oldest* and *newest* are the entries' last uses (the later of access and
#: modification time), as ``YYYY-MM-DD HH:MM``.
CACHE_USED = "last used {oldest} .. {newest}"
CACHE_EMPTY = "empty"
#: ``cache info``: names in the root that are not zipimporter's (left alone).
CACHE_OTHERS = "  also here, not zipimporter's (left alone): {names}"
#: ``cache info``: the last line.  *cap* is a size or :data:`CACHE_NO_CAP`;
#: *source* is "default", "ZIPIMPORTER_CACHE_MAX_SIZE", or why that variable
#: was not used; *prune* is :data:`CACHE_NEXT_PRUNE` or :data:`CACHE_PRUNE_UNSCHEDULED`.
CACHE_TOTAL = "total {size}; cap {cap} ({source}); automatic prune {prune}"
CACHE_NO_CAP = "none"
#: When the next automatic prune may run (at the exit of a process that writes).
CACHE_NEXT_PRUNE = "after {when}"
#: No prune clock yet (the first process that writes an entry starts it).
CACHE_PRUNE_UNSCHEDULED = "a day after the next write"
#: ``cache info``: caching is off (the other commands: :data:`CACHES_OFF`).
CACHE_OFF = "the on-disk caches are off (ZIPIMPORTER_CACHE={value})"
#: ``cache prune``/``clear`` with caching off (an error).
CACHES_OFF = "the on-disk caches are off (ZIPIMPORTER_CACHE={value}): there is no cache to {action}"
#: ``cache prune``/``clear`` on a root zipimporter doesn't trust (an error).
CACHE_REFUSED = "won't {action} {root}: it is not trusted ({reason})"
#: ``cache prune``: *total* is what is left, *cap* the size pruned to.
PRUNED = "pruned {root}: removed {count} entries ({size}); {total} left, cap {cap}"
#: ``cache clear``.
CLEARED = "cleared {root}: removed {count} entries ({size})"
#: ``cache clear``: names in the root that are not zipimporter's.
CLEAR_LEFT_ALONE = "left alone, not zipimporter's: {names}"
#: ``cache prune --max-size SIZE`` that is not a size.
NOT_A_SIZE = "not a size: {value!r} (e.g. 500M, 2G, 1.5GiB; 'none' for no cap)"

"""Building archives made for importing: ``zipimporter build``.

Deterministic: entries are sorted (by name; in a bundle of 2,048 entries or
more by name length, then name, with the archive comment describing that
layout: the embedded index of :mod:`.index_cache`), every timestamp is fixed (1980-01-01, or
``SOURCE_DATE_EPOCH``), permissions are normalised, and compiled files are
hash-based, so the same inputs give byte-identical archives (with the same
zlib, bz2, lzma or zstd library).  Every directory gets an explicit entry,
which is how zipimport (ours and the stdlib's) sees namespace packages.

zstd members (method 93, ``--compression zstd``) are compressed here with
``compression.zstd`` (3.14) or ``backports.zstd`` (the ``zstd`` extra) and
written through :mod:`zipfile` as stored data whose headers then say what it
is: zipfile before 3.14 can't write them, and 3.14's streams frames without
their size, which ask every reader for the level's whole window (2 MiB at
the default level, 128 MiB at level 22) however small the member.  The
frames here are one-shot, at zstd's default level, with the content size in
them, so a reader needs no more window than the member's size.

Compiled files: ``--compile`` puts a ``.pyc`` beside each ``.py`` (the layout
zipimport reads), for the running Python or one ``--compile-python``.
``--pycache`` (or more than one ``--compile-python``) writes the PEP 3147
layout instead, ``pkg/__pycache__/mod.<cache tag>.pyc`` for each interpreter,
so one bundle has precompiled code for several Python versions; zipimporter
uses such a ``.pyc`` when its source is in the archive.  The stub and runtime
of a self-contained bundle get a ``.pyc`` beside them for the building Python
in both cases: the stdlib zipimporter loads them, and it ignores ``__pycache__``.

The steps, each a function: :func:`collect` (sources -> archive name and file),
reading them into a *contents* mapping (archive name -> bytes), adding a
``__main__.py`` (:func:`check_entry_point`) and ``.pyc`` files to it, and
:func:`write_archive`.  Anything else a bundle should carry is one more step
that adds to *contents*.

Source trees are walked following symbolic links: a linked directory is bundled
under the link's name, a linked file with its target's content.  A link back
into a directory it is inside of is an error (the tree would never end), as are
broken links and FIFOs, sockets or devices: nothing is left out silently.

The output: ``-o PATH`` is written to a temporary file beside it and renamed
over it.  If PATH is a symbolic link, it is followed, as a shell's ``>`` or
``zipfile`` would: the file it points to is replaced (created if the link
dangles) and the link stays.  An existing PATH (or link target) that is not a
regular file, such as ``/dev/null``, a FIFO or a directory, is refused.
"""

from __future__ import annotations

import ast
import errno
import fnmatch
import importlib.util
import marshal
import os
import stat
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import archive, index_cache, messages
from . import runtime as embedded
from .compression import ZSTANDARD, zstd_module

__all__ = [
    "COMPRESSION",
    "DEFAULT_EXCLUDES",
    "ENVIRONMENT_MARKER",
    "BuildError",
    "BuildResult",
    "build",
    "check_entry_point",
    "collect",
    "output_target",
    "write_archive",
]

COMPRESSION = {
    "stored": zipfile.ZIP_STORED,
    "deflated": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
    "zstd": ZSTANDARD,  # written by _write_zstd
}

#: "Version needed to extract" (and "made by") of a zstd member: 6.3, as
#: APPNOTE and Python 3.14's zipfile have it.
_ZSTD_VERSION = 63

#: Never bundled unless --no-default-excludes (matched against every path part
#: and the whole archive path): caches of other interpreters (zipimport
#: ignores __pycache__ anyway), version-control metadata, and the
#: environments and caches of development tools.
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)

#: Also left out unless --no-default-excludes: any directory below a source
#: holding this file, i.e. a virtual environment (PEP 405; venv, virtualenv,
#: uv, tox and nox all write one) under whatever name, with its ``bin/python``
#: and ``site-packages``.
ENVIRONMENT_MARKER = "pyvenv.cfg"

PYC_MODES = ("unchecked-hash", "checked-hash")


class BuildError(ValueError):
    """What was asked can't be built; the message is one of :mod:`.messages`."""


@dataclass
class BuildResult:
    output: str
    files: int = 0
    compiled: int = 0
    #: The cache tags of the ``__pycache__`` layout written (empty: none).
    cache_tags: list[str] = field(default_factory=list)
    #: How many members were compressed with zstd.
    zstd_members: int = 0
    #: Whether the zipimporter runtime was embedded.
    runtime: bool = False
    #: Archive paths of directories left out as virtual environments.
    skipped: list[str] = field(default_factory=list)


def _fixed_date_time() -> tuple[int, int, int, int, int, int]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        # ZIP can't store dates before 1980 or odd seconds.
        t = time.gmtime(max(int(epoch), 315532800))
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)
    return (1980, 1, 1, 0, 0, 0)


def _excluded(relpath: str, patterns: Sequence[str]) -> bool:
    parts = relpath.split("/")
    return any(
        fnmatch.fnmatchcase(relpath, pat) or any(fnmatch.fnmatchcase(p, pat) for p in parts)
        for pat in patterns
    )


def collect(
    sources: Iterable[str],
    excludes: Sequence[str],
    *,
    skip_environments: bool = True,
    skipped: list[str] | None = None,
) -> dict[str, Path]:
    """Archive name -> file, for the given sources.

    A directory with an ``__init__.py`` goes in as that package; any other
    directory is a ``sys.path`` entry whose contents go to the archive root
    (like ``zipapp``); a file goes to the root.  Symbolic links are followed
    (see the module docstring).  With *skip_environments*, directories below
    a source that hold a :data:`ENVIRONMENT_MARKER` are left out, and their
    archive paths appended to *skipped*.

    Raises :class:`BuildError` for a missing source, a broken link, a link
    cycle, a file that is not regular, or two files for one archive name;
    :class:`OSError` if a directory can't be read.
    """
    found: dict[str, Path] = {}

    def add(arcname: str, path: Path) -> None:
        if arcname in found and found[arcname] != path:
            raise BuildError(
                messages.DUPLICATE_NAME.format(name=arcname, first=found[arcname], second=path)
            )
        found[arcname] = path

    def walk(directory: Path, prefix: str, ancestors: dict[tuple[int, int], Path]) -> None:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            arcname = prefix + entry.name
            if _excluded(arcname, excludes):
                continue
            path = Path(entry.path)
            st = _stat_source(path)
            if stat.S_ISDIR(st.st_mode):
                if skip_environments and (path / ENVIRONMENT_MARKER).is_file():
                    if skipped is not None:
                        skipped.append(arcname + "/")
                    continue
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    raise BuildError(messages.LINK_CYCLE.format(path=path, target=ancestors[key]))
                walk(path, arcname + "/", {**ancestors, key: path})
            elif stat.S_ISREG(st.st_mode):
                add(arcname, path)
            else:
                raise BuildError(
                    messages.NOT_A_REGULAR_FILE.format(
                        kind=messages.file_kind(st.st_mode), path=path
                    )
                )

    for source in sources:
        src = Path(source)
        st = _stat_source(src)
        if stat.S_ISREG(st.st_mode):
            add(src.name, src)
        elif stat.S_ISDIR(st.st_mode):
            base = src.name + "/" if (src / "__init__.py").is_file() else ""
            walk(src, base, {(st.st_dev, st.st_ino): src})
        else:
            raise BuildError(
                messages.NOT_A_REGULAR_FILE.format(kind=messages.file_kind(st.st_mode), path=src)
            )
    return found


def _stat_source(path: Path) -> os.stat_result:
    """``stat`` following links, with our messages for what is not there."""
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise BuildError(messages.BROKEN_LINK.format(path=path)) from None
        raise BuildError(messages.NO_SUCH_FILE.format(path=path)) from None


def _directories(arcnames: Iterable[str]) -> set[str]:
    dirs = set()
    for name in arcnames:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]) + "/")
    return dirs


def _compile_here(source: bytes, arcname: str, mode: str, optimize: int = -1) -> bytes:
    try:
        code = compile(source, arcname, "exec", dont_inherit=True, optimize=optimize)
    except (SyntaxError, ValueError) as exc:
        raise BuildError(f"{arcname}: " + messages.DOES_NOT_COMPILE.format(error=exc)) from None
    flags = 0b01 if mode == "unchecked-hash" else 0b11
    source_hash = importlib.util.source_hash(source)
    return (
        importlib.util.MAGIC_NUMBER
        + flags.to_bytes(4, "little")
        + source_hash
        + marshal.dumps(code)
    )


# Reads (name, source) records from stdin; writes a b"T" record with the
# interpreter's cache tag, then a b"P" and a .pyc record to stdout for each
# source, or b"E" and the error for a source that doesn't compile.
_COMPILER = """
import importlib.util, marshal, sys
mode, optimize = sys.argv[1], int(sys.argv[2])
data, out, pos = sys.stdin.buffer.read(), sys.stdout.buffer, 0
def take():
    global pos
    n = int.from_bytes(data[pos:pos + 8], 'little')
    pos += 8 + n
    return data[pos - n:pos]
def put(tag, data):
    out.write(tag + len(data).to_bytes(8, 'little') + data)
put(b'T', (sys.implementation.cache_tag or '').encode())
while pos < len(data):
    arcname, source = take().decode(), take()
    try:
        code = compile(source, arcname, 'exec', dont_inherit=True, optimize=optimize)
    except (SyntaxError, ValueError) as exc:
        put(b'E', str(exc).encode())
        break
    flags = 1 if mode == 'unchecked-hash' else 3
    put(b'P', importlib.util.MAGIC_NUMBER + flags.to_bytes(4, 'little')
        + importlib.util.source_hash(source) + marshal.dumps(code))
"""


def _compile_elsewhere(
    python: str, items: Sequence[tuple[str, bytes]], mode: str, optimize: int = -1
) -> tuple[str, list[bytes]]:
    """Compile with another interpreter, whose bytecode the archive is for.

    Returns its cache tag (``sys.implementation.cache_tag``; "" if None) and
    the ``.pyc`` bytes of *items*, in order.
    """

    def record(data: bytes) -> bytes:
        return len(data).to_bytes(8, "little") + data

    feed = b"".join(record(name.encode()) + record(source) for name, source in items)
    try:
        run = subprocess.run(
            [python, "-c", _COMPILER, mode, str(optimize)],
            input=feed,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        error = exc.strerror or str(exc)
        raise BuildError(
            messages.COMPILE_PYTHON_FAILED.format(python=python, error=error)
        ) from None
    if run.returncode != 0:
        last = run.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise BuildError(messages.COMPILE_PYTHON_FAILED.format(python=python, error=last[0]))
    out = run.stdout
    cache_tag = None
    results: list[bytes] = []
    while out:
        tag, n = out[:1], int.from_bytes(out[1:9], "little")
        data, out = out[9 : 9 + n], out[9 + n :]
        if tag == b"T" and cache_tag is None:
            cache_tag = data.decode(errors="replace")
            continue
        if tag == b"E":
            arcname = items[len(results)][0]
            error = data.decode(errors="replace")
            raise BuildError(f"{arcname}: " + messages.DOES_NOT_COMPILE.format(error=error))
        results.append(data)
    if len(results) != len(items) or cache_tag is None:
        error = f"{len(results)} of {len(items)} files compiled"
        raise BuildError(messages.COMPILE_PYTHON_FAILED.format(python=python, error=error))
    return cache_tag, results


def pycache_name(name: str, cache_tag: str) -> str:
    """Where PEP 3147 puts the ``.pyc`` of source member *name* for *cache_tag*.

    >>> pycache_name("pkg/mod.py", "cpython-312")
    'pkg/__pycache__/mod.cpython-312.pyc'
    >>> pycache_name("mod.py", "cpython-311")
    '__pycache__/mod.cpython-311.pyc'
    """
    directory, _, base = name.rpartition("/")
    return f"{directory + '/' if directory else ''}__pycache__/{base[:-3]}.{cache_tag}.pyc"


def _valid_cache_tag(tag: str) -> bool:
    """A cache tag that can be part of a member name (as CPython's: ``cpython-312``)."""
    return bool(tag) and tag not in (".", "..") and all(c.isalnum() or c in "._-" for c in tag)


def _compile_pycache(
    contents: dict[str, bytes], sources: Sequence[str], pythons: Sequence[str | None], mode: str
) -> list[str]:
    """Add ``__pycache__/<name>.<cache tag>.pyc`` for each of *sources* and *pythons*.

    None in *pythons* is the running Python.  Code is compiled unoptimized
    (the file name has no ``opt-`` tag).  Returns the cache tags, in order.
    Raises :class:`BuildError` for an interpreter without a cache tag, two
    with the same tag, or one that fails.
    """
    tags: dict[str, str] = {}
    for python in pythons:
        shown = python or sys.executable
        if python is None:
            tag = sys.implementation.cache_tag or ""
            compiled = [_compile_here(contents[n], n, mode, optimize=0) for n in sources]
        else:
            tag, compiled = _compile_elsewhere(
                python, [(n, contents[n]) for n in sources], mode, optimize=0
            )
        if not _valid_cache_tag(tag):
            raise BuildError(messages.NO_CACHE_TAG.format(python=shown, tag=tag))
        if tag in tags:
            raise BuildError(
                messages.DUPLICATE_CACHE_TAG.format(first=tags[tag], second=shown, tag=tag)
            )
        tags[tag] = shown
        for name, data in zip(sources, compiled, strict=True):
            contents[pycache_name(name, tag)] = data
    return list(tags)


def _parse_entry_point(entry: str) -> tuple[str, str]:
    module, sep, func = entry.partition(":")
    if not sep or not func.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
        raise BuildError(messages.MAIN_SYNTAX.format(entry=entry))
    return module, func


def _main_module(module: str, func: str) -> bytes:
    return (
        "# Generated by 'zipimporter build --main'.\n"
        "import sys\n\n"
        f"from {module} import {func}\n\n"
        f"sys.exit({func}())\n"
    ).encode()


def top_level_names(tree: ast.Module) -> set[str] | None:
    """The names a module binds at its top level, or None if it can't be told.

    Counted: ``def``, ``async def``, ``class``, assignments of every form
    (including ``for``/``with`` targets, ``:=``, ``match`` captures, ``type``),
    ``import``s, and names a function declares ``global``.  None if the
    module has ``from ... import *`` or a module ``__getattr__``: then any
    name may exist.

    >>> sorted(top_level_names(ast.parse("import a.b, c as d\\nif x:\\n    def f(): y = 1")))
    ['a', 'd', 'f']
    >>> top_level_names(ast.parse("from os import *")) is None
    True
    """
    names: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def visit(node: ast.AST) -> bool:
        """False if anything may be bound (a star import)."""
        if isinstance(node, scopes):
            if not isinstance(node, ast.Lambda):
                names.add(node.name)
                for decorator in node.decorator_list:
                    visit(decorator)
            # Names inside are local, unless declared global.
            for inner in ast.walk(node):
                if isinstance(inner, ast.Global):
                    names.update(inner.names)
            return True
        if isinstance(node, ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return False
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, comprehensions):
            # Targets are the comprehension's own; a := inside binds here.
            names.update(
                inner.target.id
                for inner in ast.walk(node)
                if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name)
            )
            return True
        return all(visit(child) for child in ast.iter_child_nodes(node))

    if not visit(tree) or "__getattr__" in names:
        return None
    return names


def check_entry_point(contents: Mapping[str, bytes], entry: str) -> tuple[str, str]:
    """Check ``--main pkg.module:function`` against what will be bundled.

    The module must be among *contents* (as ``pkg/module.py``,
    ``pkg/module/__init__.py``, or only compiled, as a ``.pyc``, which is
    taken on trust) and, if it is source, bind *function* at its top level
    (see :func:`top_level_names`).  Returns (module, function); raises
    :class:`BuildError` otherwise.
    """
    module, func = _parse_entry_point(entry)
    stem = module.replace(".", "/")
    candidates = (stem + ".py", stem + "/__init__.py")
    member = next((c for c in candidates if c in contents), None)
    if member is None:
        if any(c + "c" in contents for c in candidates):
            return module, func
        raise BuildError(
            messages.ENTRY_POINT_NO_MODULE.format(
                entry=entry, module=module, candidates=" or ".join(candidates)
            )
        )
    try:
        tree = ast.parse(contents[member], member)
    except (SyntaxError, ValueError) as exc:
        raise BuildError(f"{member}: " + messages.DOES_NOT_COMPILE.format(error=exc)) from None
    names = top_level_names(tree)
    if names is not None and func not in names:
        raise BuildError(messages.ENTRY_POINT_NO_NAME.format(entry=entry, member=member, name=func))
    return module, func


def output_target(output: str) -> str:
    """The file ``build -o OUTPUT`` replaces: OUTPUT, or where its symbolic link leads.

    Raises :class:`BuildError` if that exists and is not a regular file;
    :class:`OSError` if it can't be looked at (e.g. a link loop).
    """
    target = os.path.realpath(output) if os.path.islink(output) else output
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target  # created; a missing directory is reported when writing
    if not stat.S_ISREG(st.st_mode):
        shown = output if target == output else f"{output} -> {target}"
        raise BuildError(
            messages.NOT_A_REGULAR_OUTPUT.format(kind=messages.file_kind(st.st_mode), path=shown)
        )
    return target


def _new_temporary(target: str) -> tuple[int, str]:
    """A new file beside *target*, open for writing: (descriptor, name).

    Created exclusively, so nothing already there (a planted link) is ever
    written through; a name that is taken is skipped.  Errors name *target*.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for attempt in range(100):
        suffix = f"{os.getpid()}" + (f"-{attempt}" if attempt else "")
        name = f"{target}.{suffix}.tmp"
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
        except OSError as exc:
            exc.filename = target  # the user knows nothing of the temporary name
            raise
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)


def write_archive(
    contents: Mapping[str, bytes],
    target: str,
    *,
    compression: str = "deflated",
    python: str | None = None,
    stdlib_readable: Callable[[str], bool] | None = None,
    stored: Callable[[str], bool] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> int:
    """Write *contents*, with a directory entry for every directory, to *target*.

    Members for which *stored* is true are written uncompressed whatever
    *compression* says (compiled ``.pyc`` files: see :func:`build`).

    *target* is as :func:`output_target` returned it.  The archive is written
    to a new temporary file beside it, which then replaces it.  Members for
    which *stdlib_readable* is true are deflated if *compression* is one the
    stdlib zipimporter can't read.  An archive that needs ZIP64 end records
    gets the layout the 3.11/3.12 stdlib can read
    (:func:`.runtime.count_zip64_trailer`).  An archive of at least
    ``index_cache.MIN_ENTRIES`` entries gets an embedded index: its members
    are ordered by the length of their names, then by name, and the archive
    comment describes that layout (:func:`.index_cache.embedded_comment`),
    so its first open needs no table built.  Returns the number of files
    written (directories not counted).
    """
    date_time = _fixed_date_time()
    method = COMPRESSION[compression]
    fallback = method if method in embedded.STDLIB_METHODS else zipfile.ZIP_DEFLATED
    zstd = _zstd_codec() if method == ZSTANDARD else None
    names = sorted(set(contents) | _directories(contents))
    comment = None
    if len(names) >= index_cache.MIN_ENTRIES:
        # The embedded index: names ordered by (length, bytes), described in the comment.
        names.sort(key=lambda name: (len(name.encode()), name.encode()))
        comment = index_cache.embedded_comment([name.encode() for name in names])
    fd, tmp_out = _new_temporary(target)
    files = 0
    try:
        with open(fd, "wb") as raw:
            if python:
                raw.write(b"#!" + python.encode() + b"\n")
            with zipfile.ZipFile(raw, "w") as zf:
                if comment is not None:
                    zf.comment = comment
                for i, name in enumerate(names, 1):
                    info = zipfile.ZipInfo(name, date_time)
                    info.create_system = 3  # Unix, wherever it is built
                    if name.endswith("/"):
                        info.external_attr = (0o40755 << 16) | 0x10
                        zf.writestr(info, b"")
                    else:
                        info.external_attr = 0o100644 << 16
                        info.compress_type = method
                        if stdlib_readable is not None and stdlib_readable(name):
                            info.compress_type = fallback
                        if stored is not None and stored(name):
                            info.compress_type = zipfile.ZIP_STORED
                        if info.compress_type == ZSTANDARD:
                            _write_zstd(zf, info, contents[name], zstd)
                        else:
                            zf.writestr(info, contents[name])
                        files += 1
                    if progress is not None:
                        progress(i, len(names), name)
        _stdlib_zip64_layout(tmp_out)
        if comment is not None:
            _check_embedded(tmp_out)
        if python:
            os.chmod(tmp_out, 0o755)
        output_target(target)  # still a regular file (or nothing) just before the rename
        os.replace(tmp_out, target)
    except BaseException as exc:
        Path(tmp_out).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename == tmp_out:
            exc.filename = target  # the user knows nothing of the temporary name
        raise
    return files


def _zstd_codec() -> Any:
    """The zstd module to compress with; :class:`BuildError` if there is none."""
    zstd = zstd_module()
    if zstd is None:
        raise BuildError(messages.ZSTD_NEEDS_CODEC)
    return zstd


def _write_zstd(zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes, zstd: Any) -> None:
    """Write *data* as a zstd member: stored by zipfile, then its local header rewritten.

    zipfile writes the central directory from *info* when it closes, so
    setting the method, CRC, size and versions on *info* makes that record
    right too.  The local header keeps its length (same name and extra
    field, ZIP64 or not as decided here), so it is overwritten in place.
    """
    payload = zstd.compress(data)
    zip64 = len(data) * 1.05 > zipfile.ZIP64_LIMIT  # as zipfile's writestr decides
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(data)
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(payload)
    info.compress_type = ZSTANDARD
    info.CRC = zlib.crc32(data)
    info.file_size = len(data)
    info.extract_version = max(info.extract_version, _ZSTD_VERSION)
    info.create_version = max(info.create_version, _ZSTD_VERSION)
    fp = zf.fp
    assert fp is not None
    end = fp.tell()
    fp.seek(info.header_offset)
    fp.write(info.FileHeader(zip64))
    fp.seek(end)


def _check_embedded(path: str) -> None:
    """Drop the embedded index's comment from *path* if the archive doesn't match it.

    It matches whenever zipfile wrote no extra fields (below 4 GiB); a
    comment that didn't would only be ignored by readers, but a bundle
    carries no record that is never used.
    """
    layout, records, _ = archive.read_central_directory(path)
    data_end = layout.cd_start - layout.prepended
    if index_cache.embedded_classes(records, layout.entries, layout.comment, data_end):
        return
    with open(path, "r+b") as fp:
        end = fp.seek(0, os.SEEK_END) - len(layout.comment)
        fp.seek(end - 2)
        fp.write(b"\0\0")  # the end record's comment length, its last field
        fp.truncate(end)


def _stdlib_zip64_layout(path: str) -> None:
    """Apply :func:`.runtime.count_zip64_trailer` to the archive at *path* (any comment too)."""
    with open(path, "r+b") as fp:
        size = fp.seek(0, os.SEEK_END)
        start = max(0, size - (22 + 0xFFFF + 76))
        fp.seek(start)
        tail = bytearray(fp.read())
        if embedded.count_zip64_trailer(tail):
            fp.seek(start)
            fp.write(tail)


def _is_compiled(name: str) -> bool:
    """Whether archive member *name* is compiled code (stored uncompressed by default).

    >>> _is_compiled("pkg/mod.pyc"), _is_compiled("pkg/__pycache__/m.cpython-312.pyc")
    (True, True)
    >>> _is_compiled("pkg/mod.py")
    False
    """
    return name.endswith(".pyc")


def build(
    sources: Sequence[str],
    output: str,
    *,
    compression: str = "deflated",
    compile_pyc: bool = False,
    pyc_mode: str = "unchecked-hash",
    compile_python: str | Sequence[str] | None = None,
    pycache: bool = False,
    main: str | None = None,
    python: str | None = None,
    excludes: Sequence[str] = DEFAULT_EXCLUDES,
    skip_environments: bool = True,
    runtime: bool | None = None,
    store_compiled: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> BuildResult:
    """Bundle *sources* into the archive *output*; see the module docstring.

    *store_compiled* writes the compiled ``.pyc`` members uncompressed: an
    import then reads them with no inflate, which is what makes a compiled
    bundle import as fast as a directory with a warm ``__pycache__``; False
    compresses them as everything else.

    *compile_pyc* adds a ``.pyc`` beside every ``.py`` for the running Python,
    or for *compile_python* (one interpreter, or several); with *pycache*, or
    more than one interpreter, the ``.pyc`` files go to ``__pycache__``
    instead, one per interpreter's cache tag (see the module docstring).

    *runtime* embeds the zipimporter runtime (:mod:`.runtime`) so that
    ``python OUTPUT`` imports the app through zipimporter with nothing
    installed; None (the default) embeds it when the bundle is runnable (it has
    a ``__main__.py``, or *main*), False never, True requires a runnable bundle.

    Raises :class:`BuildError` (a ``ValueError``) for what can't be built, with
    a message from :mod:`.messages`, and :class:`OSError` for what can't be
    read or written.  Nothing is written unless everything succeeds.
    """
    if compression not in COMPRESSION:
        raise BuildError(
            messages.UNKNOWN_COMPRESSION.format(name=compression, choices=", ".join(COMPRESSION))
        )
    if pyc_mode not in PYC_MODES:
        raise BuildError(
            messages.UNKNOWN_PYC_MODE.format(name=pyc_mode, choices=", ".join(PYC_MODES))
        )
    if main is not None:
        _parse_entry_point(main)  # a typo is reported before any work
    if COMPRESSION[compression] == ZSTANDARD:
        _zstd_codec()
    pythons = [compile_python] if isinstance(compile_python, str) else list(compile_python or ())
    target = output_target(output)
    result = BuildResult(output)

    # Sources -> contents.  Never the output itself: a build into one of its
    # sources would otherwise bundle the previous build.
    out = Path(target).resolve()
    files = collect(sources, excludes, skip_environments=skip_environments, skipped=result.skipped)
    contents: dict[str, bytes] = {
        arcname: path.read_bytes() for arcname, path in files.items() if path.resolve() != out
    }
    if main is not None:
        if "__main__.py" in contents:
            raise BuildError(messages.MAIN_EXISTS)
        contents["__main__.py"] = _main_module(*check_entry_point(contents, main))
    if runtime is True and "__main__.py" not in contents:
        raise BuildError(messages.RUNTIME_NEEDS_MAIN)
    if runtime is not False and "__main__.py" in contents:
        try:
            contents = embedded.embed(contents)
        except ValueError as exc:
            raise BuildError(str(exc)) from None
        result.runtime = True
    if pycache or len(pythons) > 1:
        stdlib_loads = embedded.needs_stdlib_method if result.runtime else lambda name: False
        sources_py = sorted(n for n in contents if n.endswith(".py") and not stdlib_loads(n))
        before = len(contents)
        result.cache_tags = _compile_pycache(contents, sources_py, pythons or [None], pyc_mode)
        result.compiled = len(contents) - before
    elif compile_pyc or pythons:
        sources_py = sorted(n for n in contents if n.endswith(".py"))
        if pythons:
            items = [(n, contents[n]) for n in sources_py]
            compiled = _compile_elsewhere(pythons[0], items, pyc_mode)[1]
        else:
            compiled = [_compile_here(contents[n], n, pyc_mode) for n in sources_py]
        for name, data in zip(sources_py, compiled, strict=True):
            contents[name + "c"] = data
        result.compiled = len(compiled)
    if result.runtime:
        # The stdlib zipimporter has no bytecode cache and compiles each module
        # twice: the runtime it loads is compiled here, for the Python that
        # builds (another version falls back to the source).
        for name in sorted(contents):
            if embedded.needs_stdlib_method(name) and name.endswith(".py"):
                contents.setdefault(name + "c", _compile_here(contents[name], name, pyc_mode))

    stdlib_readable = embedded.needs_stdlib_method if result.runtime else None
    stored = _is_compiled if store_compiled else None
    result.files = write_archive(
        contents,
        target,
        compression=compression,
        python=python,
        stdlib_readable=stdlib_readable,
        stored=stored,
        progress=progress,
    )
    if COMPRESSION[compression] == ZSTANDARD:
        result.zstd_members = sum(
            1
            for n in contents
            if (stdlib_readable is None or not stdlib_readable(n))
            and (stored is None or not stored(n))
        )
    return result


def terminal_progress() -> Callable[[int, int, str], None] | None:
    """A progress line on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        if done == total or done % 50 == 0:
            sys.stderr.write(f"\r[{done}/{total}] {name[:60]:<60}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show

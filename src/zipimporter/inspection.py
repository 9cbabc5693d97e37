"""What the importer sees in an archive (``inspect``) and whether it is sound (``verify``).

Verdicts are typed (:class:`PycState`, :class:`Severity`, ``ModuleInfo.importable``);
the words shown to the user come from :mod:`.messages` and decide nothing.
"""

from __future__ import annotations

import _imp
import os
import sys
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from importlib.util import MAGIC_NUMBER, source_hash

from . import bytecode, directory, messages, runtime
from .archive import DirectoryIndex, Member, read_member
from .compression import ZSTANDARD, method_name
from .errors import ZipImportError
from .extraction import EXTENSION_SUFFIXES, extension_name

__all__ = [
    "ModuleInfo",
    "Problem",
    "PycState",
    "PycVerdict",
    "Report",
    "Severity",
    "Use",
    "inspect_archive",
    "inspect_index",
    "open_archive",
    "python_for_magic",
    "verify_archive",
    "verify_index",
]

SEP = os.sep


class PycState(StrEnum):
    """What the running Python's importer makes of a ``.pyc``."""

    VALID = "valid"  # used
    STALE = "stale"  # out of date with its source: the source is used
    FOREIGN = "foreign"  # another Python's magic number: the source is used, if any
    INVALID = "invalid"  # right magic, but damaged (flags, header, marshal data)
    UNREADABLE = "unreadable"  # the member itself can't be read (CRC, header, ...)


class Use(StrEnum):
    """What the importer loads a module from."""

    PYC = "pyc"
    PYCACHE = "pycache"  # the source's __pycache__/<name>.<cache tag>.pyc for this Python
    SOURCE = "source"
    EXTENSION = "extension"


class Severity(StrEnum):
    ERROR = "error"  # verify fails
    WARNING = "warning"  # verify fails only with --strict
    NOTE = "note"  # worth knowing; never fails verify


@dataclass(frozen=True)
class PycVerdict:
    state: PycState
    text: str  # for people: one of messages.PYC_*


@dataclass
class ModuleInfo:
    name: str
    kind: str  # "module", "package" or "namespace"
    source: str | None = None  # member path of the .py
    pyc: str | None = None  # member path of the .pyc
    pyc_status: str | None = None  # what the running Python would make of the .pyc (text)
    uses: Use | None = None  # what a module or package is loaded from; None: nothing
    pyc_state: PycState | None = None  # pyc_status, typed
    importable: bool = True
    note: str | None = None  # why not importable, where that is not about the files
    extension: str | None = None  # member path of the extension module this Python loads
    #: Member paths of extension modules built for other Pythons or platforms.
    foreign_extensions: list[str] = field(default_factory=list)
    #: PEP 3147 ``__pycache__`` members of the module, by cache tag (with any
    #: ``.opt-N``): ``{"cpython-312": "pkg/__pycache__/mod.cpython-312.pyc"}``.
    pycache: dict[str, str] = field(default_factory=dict)
    #: What the running Python makes of its own one (text, and typed), if any.
    pycache_status: str | None = None
    pycache_state: PycState | None = None


@dataclass
class MemberInfo:
    name: str
    method: str
    compressed_size: int
    file_size: int


@dataclass
class Report:
    #: The archive, as the importer names it: a file, or a member archive
    #: inside one (``outer.zip/inner.whl``, to any depth).
    archive: str
    size: int  # of that archive (an inner one's own bytes)
    zip64: bool
    prepended: int
    prepended_text: str
    comment: str
    #: The importer's prefix: the directory inside *archive* the path named
    #: (``lib/`` for ``app.zip/lib``), ending with the separator; "" for none.
    #: Modules are named as an import from that path names them; member
    #: paths stay the archive's.
    prefix: str = ""
    members: list[MemberInfo] = field(default_factory=list)
    modules: list[ModuleInfo] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


# The first magic number of each Python version, and the last one known for
# its final releases (from the list in CPython's Lib/importlib/_bootstrap_external.py,
# Include/internal/pycore_magic_number.h from 3.14 on): numbers from one
# version's first up to the next version's first are that version's (alphas,
# betas and releases alike).
_MAGIC_RANGES = (
    (3000, "3.0"),  # 3.0 final: 3131
    (3141, "3.1"),  # 3151
    (3160, "3.2"),  # 3180
    (3190, "3.3"),  # 3230
    (3250, "3.4"),  # 3310
    (3320, "3.5"),  # 3351 (3.5.3 and later)
    (3360, "3.6"),  # 3379
    (3390, "3.7"),  # 3394
    (3400, "3.8"),  # 3413
    (3420, "3.9"),  # 3425
    (3430, "3.10"),  # 3439
    (3450, "3.11"),  # 3495
    (3500, "3.12"),  # 3531
    (3550, "3.13"),  # 3571
    (3600, "3.14"),  # 3627
    (3650, None),  # 3.15 and later: not known here
)


def python_for_magic(magic: bytes) -> str:
    """Name the Python a ``.pyc``'s first four bytes belong to.

    >>> python_for_magic((3531).to_bytes(2, "little") + b"\\r\\n")
    'Python 3.12 (magic 3531)'
    >>> python_for_magic((62211).to_bytes(2, "little") + b"\\r\\n")
    'Python 2.7 (magic 62211)'
    >>> python_for_magic(b"PK\\x03\\x04")
    'unknown Python (magic 504b0304)'
    """
    if len(magic) == 4 and magic[2:] == b"\r\n":
        number = int.from_bytes(magic[:2], "little")
        version = None
        if 62171 <= number <= 62211:
            version = "2.7"
        else:
            for first, name in _MAGIC_RANGES:
                if number < first:
                    break
                version = name
        if version is not None:
            return messages.PYTHON_VERSION.format(version=version, number=number)
    return messages.PYTHON_UNKNOWN.format(magic=magic.hex())


def open_archive(path: str) -> tuple[DirectoryIndex, str]:
    """(the index of the archive *path* leads to, the prefix inside it), as the importer opens them.

    *path* is any archive path an importer takes: a file (``app.zip``), a
    member archive inside one to any depth (``outer.zip/inner.whl``), an
    archive in this process's memory (``<memory:NAME>``), each optionally
    followed by a directory inside it (``app.zip/lib``: prefix ``lib/``).
    The archives are opened by :func:`.directory.split_path` and
    :func:`.directory.resolve`, the importer's own walk (saved indexes
    included), with a cache of this call's own: nothing is taken from, or
    left in, the importer's ``_zip_directory_cache``.

    ZipImportError (``path`` set) is raised as those raise (no part of
    *path* exists, its first existing part is not a regular file, an archive
    on the way can't be read or an inner member isn't one), and
    :data:`.messages.NO_SUCH_MEMBER` when what follows the archive is neither
    a member archive nor a directory of it.
    """
    root, parts = directory.split_path(path)
    archive, index, left = directory.resolve(root, parts, {})
    prefix = SEP.join(p for p in left if p)
    if prefix:
        prefix += SEP
        if not index.is_dir(prefix):
            raise ZipImportError(
                messages.NO_SUCH_MEMBER.format(archive=archive, name=prefix[:-1]), path=archive
            )
    return index, prefix


def _read(index: DirectoryIndex, member: Member) -> bytes:
    """*member*'s bytes, read as the importer reads them: from the index's source."""
    return read_member(index.archive, member, source=index.source)


def _head(index: DirectoryIndex, size: int) -> bytes:
    """The first *size* bytes (at most) of the archive of *index*: a file, or a window of one."""
    source = index.source
    if source is None:
        with open(index.archive, "rb") as fp:
            return fp.read(size)
    size = min(size, source.size)
    if source.buffer is not None:
        return bytes(source.buffer[source.base : source.base + size])
    assert source.file is not None
    with open(source.file, "rb") as fp:
        fp.seek(source.base)
        return fp.read(size)


def _below(index: DirectoryIndex, prefix: str) -> tuple[list[str], dict[str, Member]]:
    """The names below *prefix* (relative to it, sorted) and their members.

    ZipImportError as ``DirectoryIndex.keys()`` and ``[]`` raise it.
    """
    names = sorted(index.keys())
    if prefix:
        cut = len(prefix)
        names = [n[cut:] for n in names if n.startswith(prefix) and n != prefix]
    return names, {n: index[prefix + n] for n in names}


def _pyc_verdict(
    index: DirectoryIndex, member: Member, source: Member | None, name: str
) -> PycVerdict:
    """How the running interpreter's importer would treat this .pyc."""
    try:
        data = _read(index, member)
    except ZipImportError as exc:
        return PycVerdict(PycState.UNREADABLE, messages.PYC_UNREADABLE.format(error=exc))
    if data[:4] != MAGIC_NUMBER:
        fallback = messages.SOURCE_USED if source else messages.NO_SOURCE
        python = python_for_magic(data[:4])
        return PycVerdict(
            PycState.FOREIGN, messages.PYC_FOREIGN.format(python=python, fallback=fallback)
        )
    flags = int.from_bytes(data[4:8], "little")
    if (
        flags == 0b11
        and source is not None
        and len(data) >= 16
        and _imp.check_hash_based_pycs != "never"
    ):
        # A checked pyc that no longer matches its source is stale, as a
        # timestamp pyc is: the importer falls back to the source.
        try:
            if data[8:16] != source_hash(_read(index, source)):
                return PycVerdict(PycState.STALE, messages.PYC_STALE.format(kind="checked hash"))
        except ZipImportError:
            pass  # pyc_to_code says what is wrong with the source
    stamp = None
    if source is not None:
        stamp = bytecode.source_stamp(source, index.extra(source.name))
    try:
        code = bytecode.pyc_to_code(
            data,
            name,
            member.name,
            stamp,
            lambda: _read(index, source) if source else None,
        )
    except ImportError as exc:
        return PycVerdict(PycState.INVALID, messages.PYC_INVALID.format(error=exc))
    kind = ("checked hash" if flags & 2 else "unchecked hash") if flags & 1 else "timestamp"
    if code is None:
        return PycVerdict(PycState.STALE, messages.PYC_STALE.format(kind=kind))
    return PycVerdict(PycState.VALID, messages.PYC_VALID.format(kind=kind))


def _is_dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _parents(name: str) -> set[str]:
    """The directories *name* is in, each with its trailing separator."""
    return {name[: i + 1] for i, c in enumerate(name) if c == SEP}


def _directories(names: list[str]) -> list[str]:
    """Every directory in *names*, with or without an entry of its own, sorted."""
    found = {n for n in names if n.endswith(SEP)}
    for n in names:
        found |= _parents(n)
    return sorted(found)


def _extension_module(name: str) -> tuple[str, str, bool, bool] | None:
    """(dotted name, suffix, is package, for this Python) of an extension module member."""
    directory, _, basename = name.rpartition(SEP)
    found = extension_name(basename)
    if found is None or not all(p.isidentifier() for p in directory.split(SEP) if directory):
        return None
    stem, suffix, ours = found
    if stem == "__init__":
        if not directory:
            return None
        return directory.replace(SEP, "."), suffix, True, ours
    dotted = f"{directory}{SEP}{stem}".replace(SEP, ".") if directory else stem
    return dotted, suffix, False, ours


def _pycache_key() -> str:
    """The part of a ``__pycache__`` file name this Python looks for: cache tag and opt level."""
    tag = sys.implementation.cache_tag or ""
    return tag + (f".opt-{sys.flags.optimize}" if sys.flags.optimize else "")


def _is_pycache_dir(d: str) -> bool:
    return d == "__pycache__" + SEP or d.endswith(SEP + "__pycache__" + SEP)


def _pycache_member(name: str) -> tuple[str, str] | None:
    """(dotted module name, cache tag and opt level) of a PEP 3147 ``__pycache__`` member.

    >>> _pycache_member("pkg/__pycache__/mod.cpython-312.pyc")
    ('pkg.mod', 'cpython-312')
    >>> _pycache_member("pkg/__pycache__/__init__.cpython-313.opt-1.pyc")
    ('pkg', 'cpython-313.opt-1')
    >>> _pycache_member("pkg/mod.pyc") is None
    True
    """
    directory, _, base = name.rpartition(SEP)
    parent, _, last = directory.rpartition(SEP)
    if last != "__pycache__" or not base.endswith(".pyc"):
        return None
    stem, dot, key = base[: -len(".pyc")].partition(".")
    if not dot or not key or not stem.isidentifier():
        return None
    if stem == "__init__":
        return (parent.replace(SEP, "."), key) if parent else None
    return (f"{parent}{SEP}{stem}" if parent else stem).replace(SEP, "."), key


def _without_entry(names: list[str], members: dict[str, Member]) -> set[str]:
    """Directories with code below them but no entry and no ``__init__``.

    zipimport (ours and the stdlib's) sees only directories with entries as
    namespace portions, so nothing below these can be imported.
    """
    code_dirs: set[str] = set()
    for n in names:
        if n.endswith((".py", ".pyc")):
            code_dirs |= {d for d in _parents(n) if not _is_pycache_dir(d)}
    return {
        d
        for d in code_dirs
        if d not in members
        and d + "__init__.py" not in members
        and d + "__init__.pyc" not in members
        and not any(d + "__init__" + suffix in members for suffix in EXTENSION_SUFFIXES)
    }


def inspect_archive(path: str) -> Report:
    """Describe *path* (any archive path, see :func:`open_archive`) as the importer sees it.

    Raises ZipImportError as :func:`open_archive` does, and if the archive's
    directory can't be read.
    """
    return inspect_index(*open_archive(path))


def inspect_index(index: DirectoryIndex, prefix: str = "") -> Report:
    """Describe the archive of *index*, below *prefix*, as an importer of that path sees it.

    Raises ZipImportError if the archive's directory can't be read.
    """
    layout = index.layout
    names, members = _below(index, prefix)
    # Data before the first member: a '#!' line, a launcher (whether the
    # writer counted it in the offsets or not).
    everything = index.values() if prefix else members.values()
    prepended = min((m.header_offset for m in everything), default=layout.prepended)
    prepended_text = ""
    if prepended:
        head = _head(index, min(prepended, 200))
        prepended_text = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    report = Report(
        archive=index.archive,
        size=layout.file_size,
        zip64=layout.zip64,
        prepended=prepended,
        prepended_text=prepended_text,
        comment=layout.comment.decode("utf-8", "replace"),
        prefix=prefix,
    )
    report.members = [
        MemberInfo(n, method_name(m.method), m.compressed_size, m.file_size)
        for n, m in members.items()
        if not m.is_dir
    ]
    modules: dict[str, ModuleInfo] = {}
    claimed: set[str] = set()
    unentered = _without_entry(names, members)
    for d in _directories(names):
        dotted = d[:-1].replace(SEP, ".")
        if not _is_dotted(dotted) or _is_pycache_dir(d):
            continue
        init_py, init_pyc = d + "__init__.py", d + "__init__.pyc"
        if init_py in members or init_pyc in members:
            info = ModuleInfo(dotted, "package", init_py if init_py in members else None)
            info.pyc = init_pyc if init_pyc in members else None
        elif d in members:
            info = ModuleInfo(dotted, "namespace")
        elif d in unentered:  # implicit: zipimporter (and 3.14's stdlib) import it
            info = ModuleInfo(dotted, "namespace", note=messages.NO_DIRECTORY_ENTRY)
        else:
            continue
        modules[dotted] = info
        claimed.update(x for x in (info.source, info.pyc) if x)
    for n in names:
        if n in claimed or not n.endswith((".py", ".pyc")) or n.endswith(SEP):
            continue
        stem = n[: -len(".pyc")] if n.endswith(".pyc") else n[: -len(".py")]
        dotted = stem.replace(SEP, ".")
        if not _is_dotted(dotted):
            continue
        info = modules.setdefault(dotted, ModuleInfo(dotted, "module"))
        if n.endswith(".pyc"):
            info.pyc = n
        else:
            info.source = n
        claimed.add(n)
    for n in names:  # __pycache__ files belong to their module's source
        cached = _pycache_member(n) if n not in claimed else None
        if cached is not None and cached[0] in modules and modules[cached[0]].kind != "namespace":
            modules[cached[0]].pycache[cached[1]] = n
            claimed.add(n)
    # Extension modules: FileFinder's order, a package before a module, and
    # this Python's suffixes in its order of preference.
    loaded_first: set[str] = set()  # modules whose extension comes before their Python files
    for n in sorted(names, key=lambda n: _suffix_rank(n)):
        found = _extension_module(n) if n not in claimed and not n.endswith(SEP) else None
        if found is None or not _is_dotted(found[0]):
            continue
        dotted, _, ispackage, ours = found
        if dotted not in modules:
            modules[dotted] = ModuleInfo(dotted, "package" if ispackage else "module")
        info = modules[dotted]
        if ispackage and info.kind == "namespace":
            info.kind, info.importable, info.note = "package", True, None
        claimed.add(n)
        if not ours:
            info.foreign_extensions.append(n)
        elif info.extension is None:
            info.extension = n
            if ispackage or info.kind == "module":
                loaded_first.add(dotted)
    for info in modules.values():
        if info.kind == "namespace":
            continue
        source = members.get(info.source) if info.source else None
        usable = False
        if info.pyc:
            verdict = _pyc_verdict(index, members[info.pyc], source, info.name)
            info.pyc_state, info.pyc_status = verdict.state, verdict.text
            usable = verdict.state is PycState.VALID
        info.uses = Use.PYC if usable else (Use.SOURCE if source else None)
        mine = info.pycache.get(_pycache_key())
        if mine and source is not None:  # without its source, __pycache__ is ignored
            verdict = _pyc_verdict(index, members[mine], source, info.name)
            info.pycache_state, info.pycache_status = verdict.state, verdict.text
            if info.uses is Use.SOURCE and verdict.state is PycState.VALID:
                info.uses = Use.PYCACHE
        if info.name in loaded_first:
            info.uses = Use.EXTENSION
        info.importable = info.uses is not None
        if not info.importable and info.foreign_extensions:
            info.note = _foreign_text(info.foreign_extensions[0], python=False)
    report.modules = sorted(modules.values(), key=lambda m: m.name)
    report.data_files = [
        n for n in names if n not in claimed and not n.endswith(SEP) and n not in modules
    ]
    if prefix:  # member paths are the archive's
        _prefixed(report, prefix)
    return report


def _prefixed(report: Report, prefix: str) -> None:
    """Turn the member paths of *report*, relative to *prefix*, into the archive's."""
    for m in report.members:
        m.name = prefix + m.name
    for info in report.modules:
        info.source = info.source and prefix + info.source
        info.pyc = info.pyc and prefix + info.pyc
        info.extension = info.extension and prefix + info.extension
        info.foreign_extensions = [prefix + n for n in info.foreign_extensions]
        info.pycache = {tag: prefix + n for tag, n in info.pycache.items()}
    report.data_files = [prefix + n for n in report.data_files]


def _suffix_rank(name: str) -> tuple[bool, int]:
    """Sorts packages' ``__init__`` first, then this Python's suffixes in its order."""
    basename = name.rpartition(SEP)[2]
    rank = next(
        (i for i, s in enumerate(EXTENSION_SUFFIXES) if basename.endswith(s)),
        len(EXTENSION_SUFFIXES),
    )
    return not basename.startswith("__init__."), rank


def _foreign_text(name: str, python: bool) -> str:
    found = extension_name(name.rpartition(SEP)[2])
    assert found is not None
    return messages.EXTENSION_FOREIGN.format(
        suffix=found[1],
        suffixes=", ".join(EXTENSION_SUFFIXES),
        fallback=messages.PYTHON_MODULE_USED if python else messages.NO_FALLBACK,
    )


def _extension_problems(names: list[str]) -> list[Problem]:
    """A warning for each extension module built for another Python or platform.

    Not when this Python has an extension of the same module in the archive
    (a bundle for several Pythons).
    """
    ours: set[str] = set()
    python: set[str] = set()
    foreign: list[tuple[str, str]] = []
    for n in names:
        if n.endswith((".py", ".pyc")):
            stem = n.rpartition(".")[0]
            if stem.endswith(SEP + "__init__"):
                stem = stem[: -len("__init__") - 1]
            python.add(stem.replace(SEP, "."))
            continue
        found = _extension_module(n)
        if found is not None:
            if found[3]:
                ours.add(found[0])
            else:
                foreign.append((n, found[0]))
    return [
        Problem(n, _foreign_text(n, python=dotted in python), Severity.WARNING)
        for n, dotted in foreign
        if dotted not in ours
    ]


@dataclass
class Problem:
    member: str
    problem: str
    severity: Severity = Severity.ERROR


#: How much each .pyc verdict matters to verify.
_SEVERITY = {
    PycState.VALID: None,
    PycState.STALE: Severity.WARNING,
    PycState.FOREIGN: Severity.WARNING,
    PycState.INVALID: Severity.ERROR,
    PycState.UNREADABLE: Severity.ERROR,
}


def _runtime_problems(members: dict[str, Member]) -> list[Problem]:
    """What stops ``python ARCHIVE``: zipimporter-only members and no runtime, or
    a runtime the stdlib can't load."""
    posix = {name.replace(SEP, "/"): m for name, m in members.items() if not m.is_dir}
    if runtime.has_runtime(posix):
        return [
            Problem(name, messages.RUNTIME_UNREADABLE.format(method=method_name(m.method)))
            for name, m in posix.items()
            if runtime.needs_stdlib_method(name) and m.method not in runtime.STDLIB_METHODS
        ]
    others = [m for m in posix.values() if m.method not in runtime.STDLIB_METHODS]
    if not others:
        return []
    methods = ", ".join(sorted({method_name(m.method) for m in others}))
    text = messages.NEEDS_RUNTIME.format(count=len(others), methods=methods)
    return [Problem("", text, Severity.WARNING)]


def verify_archive(path: str) -> list[Problem]:
    """Read and check every member of *path* (any archive path, see :func:`open_archive`).

    What :func:`verify_index` checks; an archive that can't be opened, or a
    path that leads to none, is one problem (an error).
    """
    try:
        index, prefix = open_archive(path)
    except ZipImportError as exc:
        return [Problem("", str(exc))]
    return verify_index(index, prefix)


def verify_index(index: DirectoryIndex, prefix: str = "") -> list[Problem]:
    """Check every member below *prefix*: CRC, headers, .pyc against source, compilable source.

    Members are read as the importer reads them (from the index's source: a
    member archive's bytes inside its outer file, or in memory).  Also warns
    of directories with modules below them but no entry of their own, and of
    extension modules built for another Python or platform; for the whole
    archive (no *prefix*), of what stops ``python ARCHIVE``.  A directory
    that can't be read is one problem (an error).  Problems name members by
    their path in the archive.
    """
    problems: list[Problem] = []
    try:
        names = sorted(index.keys())
    except ZipImportError as exc:
        return [Problem("", str(exc))]
    if prefix:
        names = [n[len(prefix) :] for n in names if n.startswith(prefix) and n != prefix]
    members: dict[str, Member] = {}
    contents: dict[str, bytes] = {}
    for name in names:
        try:
            member = members[name] = index[prefix + name]
            if member.is_dir:
                continue
            contents[name] = _read(index, member)
        except ZipImportError as exc:
            problems.append(Problem(name, str(exc)))
    for d in sorted(_without_entry(names, members)):
        if _is_dotted(d[:-1].replace(SEP, ".")):
            problems.append(Problem(d, messages.NO_DIRECTORY_ENTRY, Severity.NOTE))
    if not prefix:  # 'python ARCHIVE' runs the whole archive
        problems += _runtime_problems(members)
    zstd = sum(1 for m in members.values() if m.method == ZSTANDARD and not m.is_dir)
    if zstd:
        text = messages.ZSTD_NEEDS_CODEC_TO_RUN.format(count=zstd)
        problems.append(Problem("", text, Severity.NOTE))
    problems += _extension_problems(names)
    where = f"{index.archive}{SEP}{prefix}"
    for name, data in contents.items():
        if name.endswith(".py"):
            try:
                compile(data, where + name, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                problems.append(Problem(name, messages.DOES_NOT_COMPILE.format(error=exc)))
        elif (cached := _pycache_member(name)) is not None:
            # Only this Python's, and only with its source (else importers ignore it).
            parent = name.rpartition(SEP)[0].rpartition(SEP)[0]
            stem = name.rpartition(SEP)[2].partition(".")[0]
            source = members.get(f"{parent}{SEP}{stem}.py" if parent else f"{stem}.py")
            if cached[1] == _pycache_key() and source is not None:
                verdict = _pyc_verdict(index, members[name], source, cached[0])
                severity = _SEVERITY[verdict.state]
                if severity is not None:
                    problems.append(Problem(name, verdict.text, severity))
        elif name.endswith(".pyc"):
            verdict = _pyc_verdict(index, members[name], members.get(name[:-1]), name[:-4])
            severity = _SEVERITY[verdict.state]
            if severity is not None:
                problems.append(Problem(name, verdict.text, severity))
    if prefix:
        for p in problems:
            p.member = p.member and prefix + p.member
    return problems

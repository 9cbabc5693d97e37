"""What the importer sees in an archive (``inspect``) and whether it is sound (``verify``)."""

from __future__ import annotations

import _imp
import os
from dataclasses import asdict, dataclass, field
from importlib.util import MAGIC_NUMBER, source_hash

from . import bytecode
from .archive import DirectoryIndex, Member, read_directory, read_member
from .compression import method_name
from .errors import ZipImportError

__all__ = ["Report", "inspect_archive", "verify_archive"]

SEP = os.sep


@dataclass
class ModuleInfo:
    name: str
    kind: str  # "module", "package" or "namespace"
    source: str | None = None  # member path of the .py
    pyc: str | None = None  # member path of the .pyc
    pyc_status: str | None = None  # what the running Python would make of the .pyc
    uses: str | None = None  # "pyc", "source" or None (can't be imported)


@dataclass
class MemberInfo:
    name: str
    method: str
    compressed_size: int
    file_size: int


@dataclass
class Report:
    archive: str
    size: int
    zip64: bool
    prepended: int
    prepended_text: str
    comment: str
    members: list[MemberInfo] = field(default_factory=list)
    modules: list[ModuleInfo] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _pyc_status(index: DirectoryIndex, member: Member, source: Member | None, name: str) -> str:
    """How the running interpreter's importer would treat this .pyc."""
    try:
        data = read_member(index.archive, member)
    except ZipImportError as exc:
        return f"unreadable: {exc}"
    if data[:4] != MAGIC_NUMBER:
        fallback = "source used" if source else "no source to fall back to"
        return f"other Python (magic {data[:4].hex()}): {fallback}"
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
            if data[8:16] != source_hash(read_member(index.archive, source)):
                return "stale (checked hash): source used"
        except ZipImportError:
            pass  # pyc_to_code says what is wrong with the source
    stamp = None
    if source is not None:
        stamp = (bytecode.dos_to_unix(source.dos_date, source.dos_time), source.file_size)
    try:
        code = bytecode.pyc_to_code(
            data,
            name,
            member.name,
            stamp,
            lambda: read_member(index.archive, source) if source else None,
        )
    except ImportError as exc:
        return f"invalid: {exc}"
    kind = ("checked hash" if flags & 2 else "unchecked hash") if flags & 1 else "timestamp"
    if code is None:
        return f"stale ({kind}): source used"
    return f"valid ({kind})"


def inspect_archive(path: str) -> Report:
    """Describe *path* as the importer sees it."""
    index = read_directory(path)
    layout = index.layout
    names = sorted(index.keys())
    members = {n: index[n] for n in names}
    # Data before the first member: a '#!' line, a launcher (whether the
    # writer counted it in the offsets or not).
    prepended = min((m.header_offset for m in members.values()), default=layout.prepended)
    prepended_text = ""
    if prepended:
        with open(path, "rb") as fp:
            head = fp.read(min(prepended, 200))
        prepended_text = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    report = Report(
        archive=path,
        size=layout.file_size,
        zip64=layout.zip64,
        prepended=prepended,
        prepended_text=prepended_text,
        comment=layout.comment.decode("utf-8", "replace"),
    )
    report.members = [
        MemberInfo(n, method_name(m.method), m.compressed_size, m.file_size)
        for n, m in members.items()
        if not m.is_dir
    ]
    dirs = {n for n in names if n.endswith(SEP)} | {
        n[: i + 1] for n in names for i, c in enumerate(n) if c == SEP
    }
    modules: dict[str, ModuleInfo] = {}
    claimed: set[str] = set()
    for d in sorted(dirs):
        dotted = d[:-1].replace(SEP, ".")
        if not all(part.isidentifier() for part in dotted.split(".")):
            continue
        init_py, init_pyc = d + "__init__.py", d + "__init__.pyc"
        if init_py in members or init_pyc in members:
            info = ModuleInfo(dotted, "package", init_py if init_py in members else None)
            info.pyc = init_pyc if init_pyc in members else None
        elif d in members:  # only explicit directories are namespace portions
            info = ModuleInfo(dotted, "namespace")
        elif any(n.startswith(d) and n.endswith((".py", ".pyc")) for n in names):
            # Code below it, but zipimport only sees directories with entries.
            info = ModuleInfo(dotted, "namespace", uses="not importable: no directory entry")
        else:
            continue
        modules[dotted] = info
        claimed.update(x for x in (info.source, info.pyc) if x)
    for n in names:
        if n in claimed or not n.endswith((".py", ".pyc")) or n.endswith(SEP):
            continue
        stem = n[: -len(".pyc")] if n.endswith(".pyc") else n[: -len(".py")]
        dotted = stem.replace(SEP, ".")
        if not all(part.isidentifier() for part in dotted.split(".")):
            continue
        info = modules.setdefault(dotted, ModuleInfo(dotted, "module"))
        if n.endswith(".pyc"):
            info.pyc = n
        else:
            info.source = n
        claimed.add(n)
    for info in modules.values():
        if info.kind == "namespace":
            continue
        source = members.get(info.source) if info.source else None
        if info.pyc:
            info.pyc_status = _pyc_status(index, members[info.pyc], source, info.name)
            usable = info.pyc_status.startswith("valid")
        else:
            usable = False
        info.uses = "pyc" if usable else ("source" if source else None)
    report.modules = sorted(modules.values(), key=lambda m: m.name)
    report.data_files = [
        n for n in names if n not in claimed and not n.endswith(SEP) and n not in modules
    ]
    return report


@dataclass
class Problem:
    member: str
    problem: str
    severity: str = "error"  # or "warning"


def verify_archive(path: str) -> list[Problem]:
    """Read and check every member: CRC, headers, .pyc against source, compilable source."""
    problems: list[Problem] = []
    try:
        index = read_directory(path)
        names = sorted(index.keys())
    except ZipImportError as exc:
        return [Problem("", str(exc))]
    contents: dict[str, bytes] = {}
    for name in names:
        try:
            member = index[name]
            if member.is_dir:
                continue
            contents[name] = read_member(path, member)
        except ZipImportError as exc:
            problems.append(Problem(name, str(exc)))
    for name, data in contents.items():
        if name.endswith(".py"):
            try:
                compile(data, f"{path}{SEP}{name}", "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                problems.append(Problem(name, f"does not compile: {exc}"))
        elif name.endswith(".pyc"):
            status = _pyc_status(index, index[name], index.get(name[:-1]), name[:-4])
            if status.startswith(("invalid", "unreadable")):
                problems.append(Problem(name, status))
            elif not status.startswith("valid"):
                problems.append(Problem(name, status, "warning"))
    return problems

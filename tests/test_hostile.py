"""Hostile and damaged archives: only ZipImportError gets out, in bounded time and memory.

Every case is written to a file and *exercised*: opened with
``zipimporter.zipimporter``, then for every member the index lists ``get_data``
(relative and absolute), and for every module-like name (through an importer
for its directory) ``find_spec``, ``is_package``, ``get_source``,
``get_resource_reader`` and a real import (``module_from_spec`` +
``exec_module``).  Allowed: ZipImportError/ImportError naming the archive,
ImportError for a module that is not there, OSError from ``get_data`` for a
name that is not a member, SyntaxError from compiling a member's (valid-CRC)
source, and exceptions raised by a module's own code.  Anything else is an
escape.  Every ZipImportError must also carry the archive's path in ``.path``
(or, from an importer for a path inside it, that of an archive inside it,
named in the message: a member named by such a path is opened as an archive).
A case also fails if it takes longer than ``CASE_SECONDS`` (a ``SIGALRM``
kills it after ``HARD_SECONDS``), or if its tracemalloc peak exceeds 64 MiB +
4 x the archive's size (``memory_bound``).

Besides the seeded batch (``test_mutated_archives``, in chunks that each collect
all their failures before reporting them): a smaller batch reached the other
ways an archive can be (``test_mutated_archives_nested_and_in_memory``: as a
stored member of a valid outer archive, read in place; as a deflated one,
decompressed into memory; and as bytes given to ``zipimporter.from_bytes``,
each judged against that path entry's archive, ``outer.zip/inner.zip`` or
``<memory:case>``), every base archive cut at every
structure boundary (and one byte either side), archives written record by
record from a hypothesis strategy, a smaller batch with the on-disk caches on
(nothing may be written outside the cache directory), deterministic bombs, and
the samples in ``tests/data/hostile``.

Extension modules (``test_mutated_extension_archives``, ``EXTENSION_CASES``:
an eighth of ``ZIPIMPORTER_FUZZ_CASES``): base archives holding real compiled
extensions (and the library two of them link against through RPATH/RUNPATH;
skipped without a C compiler) are damaged by the operators above, by
operators for extension names (escaping, absolute, clashing, duplicated),
huge declared sizes and overlapping entries, and by ELF operators that
rewrite headers, program headers and dynamic sections (needed names, search
paths, string offsets) *with a valid CRC*, so that the ELF reader and the
dependency search see them.  Each is reached as a file, a stored inner
archive or bytes in memory, with the extraction cache on or off.  Finding an
extension extracts it; :func:`check_extension` then fails any extracted file
outside the extraction directories, any symlink, and any file whose bytes no
intact member holds (damage the CRC should have refused).  Only files that
are byte for byte the objects the tests compiled are loaded in this process:
an object damaged with a valid CRC is code like a ``.pyc``, and the dynamic
loader can crash on it (here glibc's ``dlopen`` segfaulted on a third of the
objects with randomly damaged program headers and on half of those with a
damaged dynamic section), so it is extracted and checked but not loaded.
The dynamic loader's refusal of an intact file (no ``PyInit_<name>``, a
library it needs absent) must come as a ZipImportError naming the archive,
with the loader's ImportError as its cause.  After each batch no file may be outside the cache,
the private extraction directory (kept under the test's ``tmp_path``) and the
case files, nor anywhere a ``..`` name could climb to.

On Linux every case runs with its address space (``RLIMIT_AS``) capped at its
current size + ``memory_cap``: the memory bound + 128 MiB, so that the run stays
far below 1 GiB whatever an archive asks for.  An allocation that big from a
small archive is a bug, so a case that hits the cap fails as ``memory``: a
MemoryError anywhere in an exception's chain counts, also where src turned it
into a ZipImportError.  Two exceptions: ``KNOWN_ESCAPES``'s
``pyc-marshal-huge-count`` (marshal allocates a ``.pyc``'s declared count
first) is counted instead, and the MemoryError compile() raises for a source
nested too deep for the parser (``parser_overflow``) is no allocation at all.
On 3.12+ (``sys.monitoring``) a MemoryError that src catches and never passes
on is found and fails the case too.  Environment variables:

``ZIPIMPORTER_FUZZ_CASES``
    seeded cases in all (default 2000; a tenth of that more per nested or
    in-memory way, an eighth more with extension modules); e.g.
    ``ZIPIMPORTER_FUZZ_CASES=200000 pytest -p no:cacheprovider
    tests/test_hostile.py -k mutated`` for a long run
``ZIPIMPORTER_FUZZ_SEED``
    the first seed (default 0), to explore other seeds
``ZIPIMPORTER_FUZZ_CHUNK``
    cases per test (default 250)
``ZIPIMPORTER_FUZZ_CASE_SECONDS``
    the per-case time limit (default 5; the hard limit is twice that, at least 10)
``ZIPIMPORTER_FUZZ_REPORT``
    a path: the run's statistics are written there as JSON

The statistics (cases, slowest case, peak memory, failures) are printed in
pytest's terminal summary.  A case is reproduced with
``hostile.make_case(seed).data``.

``KNOWN_ESCAPES`` lists escapes in ``src`` not fixed yet: in the seeded batch
they are counted, not failed.  ``escape_reproducers()`` keeps a small archive for
every escape found (fixed or not); ``test_escape_reproducer`` runs each, marked
``xfail(strict=True)`` while its escape is in ``KNOWN_ESCAPES``, so it fails
(XPASS) once the escape is fixed: then delete the entry.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import json
import marshal
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import hostile
import zipimporter
from conftest import Entry, pyc, zip_bytes
from zipimporter import bytecode_cache, extraction

SEP = os.sep
CASES = int(os.environ.get("ZIPIMPORTER_FUZZ_CASES", "2000"))
FIRST_SEED = int(os.environ.get("ZIPIMPORTER_FUZZ_SEED", "0"))
CHUNK = max(1, int(os.environ.get("ZIPIMPORTER_FUZZ_CHUNK", "250")))
CASE_SECONDS = float(os.environ.get("ZIPIMPORTER_FUZZ_CASE_SECONDS", "5"))
HARD_SECONDS = max(10.0, 2 * CASE_SECONDS)
REPORT = os.environ.get("ZIPIMPORTER_FUZZ_REPORT")
MAX_NAMES = 40  # members exercised per archive
MAX_MODULES = 30  # module names exercised per archive
MiB = 1 << 20
CAP_SLACK = 128 * MiB  # address space a case may take beyond memory_bound (allocator overhead)
DATA = Path(__file__).parent / "data" / "hostile"


def memory_bound(size: int) -> int:
    """The most a case may allocate (tracemalloc peak) for an archive of *size* bytes."""
    return 64 * MiB + 4 * size


def memory_cap(size: int) -> int:
    """The address space a case may add (Linux ``RLIMIT_AS``) for an archive of *size* bytes."""
    return memory_bound(size) + CAP_SLACK


# -- judging outcomes ----------------------------------------------------------------------


class HardTimeout(BaseException):
    """Raised by SIGALRM in a case that runs past HARD_SECONDS (not an Exception: not caught)."""


@dataclass
class Failure:
    """Something a case did that the requirement forbids."""

    case: str
    call: str
    # escape; unnamed (an ImportError not naming the archive); path (a ZipImportError whose
    # .path is not the archive); memory (over the memory bound, or a MemoryError under the
    # cap); slow; hang; write (a cache file outside the cache directory)
    kind: str
    exc_type: str = ""
    message: str = ""
    where: str = ""  # innermost zipimporter frame
    known: str | None = None

    def __str__(self) -> str:
        what = f"{self.exc_type}: {self.message[:160]}" if self.exc_type else self.message
        return f"[{self.kind}] {self.call}: {what} (at {self.where or '?'})\n    {self.case}"


def _codes(exc: BaseException) -> Iterator[Any]:
    tb = exc.__traceback__
    while tb is not None:
        yield tb.tb_frame.f_code, tb.tb_lineno
        tb = tb.tb_next


def _where(exc: BaseException) -> str:
    """The innermost frame in zipimporter's source (else the innermost frame)."""
    found = last = ""
    for code, line in _codes(exc):
        last = f"{Path(code.co_filename).name}:{line} {code.co_name}"
        if f"{SEP}zipimporter{SEP}" in code.co_filename:
            found = last
    return found or last


def memory_error_in(exc: BaseException) -> BaseException | None:
    """The MemoryError among *exc*, its causes and contexts (src may have converted it)."""
    pending, seen = [exc], set()
    while pending:
        e = pending.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, MemoryError):
            return e
        pending += [c for c in (e.__cause__, e.__context__) if c is not None]
    return None


def parser_overflow(error: BaseException) -> bool:
    """Whether MemoryError *error* is compile() saying that a source nests too deep.

    CPython's parser raises MemoryError when its stack overflows (3.12+: "Parser
    stack overflowed - ...", 3.11: without a message), with memory to spare;
    ``bytecode.compile_source`` reports it as "can't compile".  On 3.11 a real
    allocation failure in compile() looks the same.
    """
    names = [code.co_name for code, _ in _codes(error)]
    if not names or names[-1] != "compile_source":
        return False
    message = str(error)
    return message.startswith("Parser stack overflowed") or (
        sys.version_info < (3, 12) and not message
    )


_FAILED = object()


@dataclass(frozen=True)
class ExtensionRules:
    """What an extension case may extract, what may be loaded here, and where files may go.

    ``allowed``: the contents a member of the case may have (the base's, and what the
    operators wrote with a valid CRC); ``loadable``: the contents that may be handed to
    the dynamic loader in this process (the objects the tests compiled, and text): a
    damaged object with a valid CRC is code like any other (it can crash the dynamic
    loader, as the same file on disk would), so it is extracted and checked, never
    loaded; ``directories``: where extraction may put files.
    """

    allowed: frozenset[bytes]
    loadable: frozenset[bytes]
    directories: tuple[str, ...]


@dataclass
class Exerciser:
    """Calls the importer's API on one archive and judges every exception."""

    archive: str
    case: str = ""
    failures: list[Failure] = field(default_factory=list)
    current: str = ""
    opened: bool = False
    members_read: int = 0
    modules_run: int = 0
    rejections: int = 0
    slowest: tuple[float, str] = (0.0, "")  # the slowest call
    peak: tuple[int, str] = (0, "")  # the traced memory peak, and the call that reached it
    # Every MemoryError raised (see watching_memory_errors): (call, error, where raised)
    memory_errors: list[tuple[str, BaseException, str]] = field(default_factory=list)
    judged: set[int] = field(default_factory=set)  # ids of the MemoryErrors judge() saw
    # Extension modules (see check_extension): what may be extracted and loaded, and where
    extensions: ExtensionRules | None = None
    extensions_extracted: int = 0
    extensions_loaded: int = 0
    extensions_withheld: int = 0  # intact (valid CRC) but not a known object: not loaded here
    loader_refusals: int = 0  # ImportErrors of the dynamic loader for an intact extracted file

    def call(
        self,
        what: str,
        func: Callable[..., Any],
        *args: Any,
        oserror_ok: bool = False,
        loaded_file: str | None = None,
    ) -> Any:
        self.current = what
        start = time.monotonic()
        try:
            return func(*args)
        except Exception as exc:
            self.judge(what, exc, oserror_ok=oserror_ok, loaded_file=loaded_file)
            return _FAILED
        finally:
            seconds = time.monotonic() - start
            if seconds > self.slowest[0]:
                self.slowest = (seconds, what)
            if tracemalloc.is_tracing():
                peak = tracemalloc.get_traced_memory()[1]
                if peak > self.peak[0]:
                    self.peak = (peak, what)

    def judge(
        self,
        what: str,
        exc: Exception,
        *,
        oserror_ok: bool = False,
        loaded_file: str | None = None,
    ) -> None:
        """Record a failure unless *exc* is allowed (see the module docstring).

        *loaded_file*: an extracted extension module, checked intact, that the
        call hands to the dynamic loader; the loader's refusal of it (no
        ``PyInit_<name>``, a library it needs missing) must be a ZipImportError
        naming the archive, caused by the loader's ImportError (``path=`` that
        file): counted as a loader refusal.
        """
        codes = [code for code, _ in _codes(exc)]
        kind = "escape"
        memory = memory_error_in(exc)
        if memory is not None:
            self.judged.add(id(memory))
        if memory is not None and not parser_overflow(memory):
            message = f"MemoryError under the address-space cap, as {type(exc).__name__}: {exc}"
            self.failures.append(
                Failure(self.case, what, "memory", "MemoryError", message, _where(memory))
            )
            return
        if isinstance(exc, zipimporter.ZipImportError) and not self.is_ours(exc.path):
            message = f"path={exc.path!r}: {exc}"
            self.failures.append(
                Failure(self.case, what, "path", type(exc).__name__, message, _where(exc))
            )
            return
        if isinstance(exc, ImportError):
            message = str(exc)
            if message.startswith("can't find module") or isinstance(exc, ModuleNotFoundError):
                return  # a module that is not there
            cause = exc.__cause__
            if (
                loaded_file is not None
                and isinstance(exc, zipimporter.ZipImportError)
                and isinstance(cause, ImportError)
                and cause.path == loaded_file
            ):
                self.loader_refusals += 1
                return  # the dynamic loader refused an intact extracted file
            if self.archive in message or repr(self.archive) in message:
                self.rejections += 1
                return
            kind = "unnamed"
        elif isinstance(exc, SyntaxError) and any(c.co_name == "compile_source" for c in codes):
            return  # the member's source, intact (CRC-checked), is not valid Python
        elif isinstance(exc, OSError) and oserror_ok:
            return
        elif any(c.co_filename.startswith(self.archive + SEP) for c in codes):
            return  # raised by the module's own code
        self.failures.append(
            Failure(self.case, what, kind, type(exc).__name__, str(exc), _where(exc))
        )

    def is_ours(self, path: object) -> bool:
        """Whether *path* is the archive, or an archive inside it (a member that an
        importer for a path inside the archive opened as one)."""
        return path == self.archive or (
            isinstance(path, str) and path.startswith(self.archive + SEP)
        )

    def judge_caught_memory_errors(self) -> None:
        """Fail the MemoryErrors src caught and did not pass on (judge() never saw them)."""
        for call, error, where in self.memory_errors:
            if id(error) in self.judged or parser_overflow(error):
                continue
            self.judged.add(id(error))
            message = "MemoryError under the address-space cap, caught in src"
            self.failures.append(Failure(self.case, call, "memory", "MemoryError", message, where))


def _line(code: Any, offset: int) -> int | None:
    return next((line for start, end, line in code.co_lines() if start <= offset < end), None)


@contextlib.contextmanager
def watching_memory_errors(ex: Exerciser) -> Iterator[bool]:
    """Note in ``ex.memory_errors`` every MemoryError raised in the block, also those src
    catches (3.12+, with ``sys.monitoring``'s RAISE event).  Yields whether it watches."""
    monitoring = getattr(sys, "monitoring", None)
    tool = None
    if monitoring is not None:
        tool = next((t for t in (3, 4) if monitoring.get_tool(t) is None), None)
    if monitoring is None or tool is None:
        yield False
        return

    def on_raise(code: Any, offset: int, error: BaseException) -> None:
        if isinstance(error, MemoryError):
            where = f"{Path(code.co_filename).name}:{_line(code, offset)} {code.co_name}"
            ex.memory_errors.append((ex.current, error, where))

    monitoring.use_tool_id(tool, "zipimporter-hostile")
    try:
        monitoring.register_callback(tool, monitoring.events.RAISE, on_raise)
        monitoring.set_events(tool, monitoring.events.RAISE)
        yield True
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.RAISE, None)
        monitoring.free_tool_id(tool)


def _extension_module(leaf: str) -> str | None:
    """The module name in an extension module's file name for this interpreter, or None."""
    found = extraction.extension_name(leaf)
    return found[0] if found is not None and found[2] else None


def _module_targets(names: list[str]) -> list[tuple[str, str]]:
    """(directory, module name) pairs: modules, packages and namespace portions."""
    targets: dict[tuple[str, str], None] = {}
    for name in names:
        directory, _, leaf = name.rstrip(SEP).rpartition(SEP)
        extension = None if name.endswith(SEP) else _extension_module(leaf)
        if name.endswith(SEP):
            targets[directory, leaf] = None
        elif leaf in ("__init__.py", "__init__.pyc") or extension == "__init__":
            parent, _, package = directory.rpartition(SEP)
            targets[parent, package] = None
        elif leaf.endswith((".py", ".pyc")):
            targets[directory, leaf.rpartition(".")[0]] = None
        elif extension is not None:
            targets[directory, extension] = None
        if directory:
            parent, _, portion = directory.rpartition(SEP)
            targets[parent, portion] = None
    return list(targets)[:MAX_MODULES]


def exercise(ex: Exerciser) -> None:
    """Open the archive and use every member and module it lists (see the module docstring)."""
    archive = ex.archive
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zi = ex.call("zipimporter(archive)", zipimporter.zipimporter, archive)
        if zi is _FAILED:
            return
        ex.opened = True
        listing = ex.call(
            "list members", lambda: list(zipimporter._zip_directory_cache.get(archive, {}))
        )
        names: list[str] = [] if listing is _FAILED else listing[:MAX_NAMES]
        ex.call("get_data(absent)", zi.get_data, "no/such/member.txt", oserror_ok=True)
        ex.call("find_spec(absent)", zi.find_spec, "no_such_module_here")
        ex.call("iter_modules()", lambda: list(zi.iter_modules()))
        for name in names:
            if ex.call(f"get_data({name!r})", zi.get_data, name) is not _FAILED:
                ex.members_read += 1
            ex.call(f"get_data(archive/{name!r})", zi.get_data, archive + SEP + name)
        importers = {"": zi}
        for directory, modname in _module_targets(names):
            if directory not in importers:
                path = archive + SEP + directory
                importers[directory] = ex.call(
                    f"zipimporter({path!r})", zipimporter.zipimporter, path
                )
            imp = importers[directory]
            if imp is _FAILED:
                continue
            spec = ex.call(f"find_spec({modname!r})", imp.find_spec, modname)
            ex.call(f"is_package({modname!r})", imp.is_package, modname)
            ex.call(f"get_source({modname!r})", imp.get_source, modname)
            ex.call(f"get_resource_reader({modname!r})", imp.get_resource_reader, modname)
            if spec is _FAILED or spec is None or spec.loader is None:
                continue
            loaded_file = None
            if isinstance(spec.loader, extraction.ExtensionLoader):
                loader = spec.loader
                if loader.root is not None:
                    # The loader reads files under its root from the archive.
                    ex.call(f"loader.get_data({modname!r})", loader.get_data, loader.path)
                    ex.call(f"loader.get_resource_reader({modname!r})", loader.get_resource_reader)
                if not check_extension(ex, modname, loader):
                    continue
                loaded_file = loader.path
            module = ex.call(
                f"module_from_spec({modname!r})",
                importlib.util.module_from_spec,
                spec,
                loaded_file=loaded_file,
            )
            if module is _FAILED:
                continue
            if ex.call(f"exec_module({modname!r})", spec.loader.exec_module, module) is None:
                ex.modules_run += 1
                ex.extensions_loaded += loaded_file is not None


def _inside(path: str, directory: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(directory) + SEP)


def _extracted_files(root: str) -> tuple[dict[str, bytes], list[str]]:
    """The files under an extraction root (its manifest left out), and what else is there."""
    files: dict[str, bytes] = {}
    odd: list[str] = []
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                odd.append(f"{rel} (a symlink)")
            elif name in names and rel != extraction.MANIFEST:
                if os.path.isfile(path):
                    files[rel] = Path(path).read_bytes()
                else:
                    odd.append(f"{rel} (not a regular file)")
    return files, odd


def check_extension(ex: Exerciser, modname: str, loader: extraction.ExtensionLoader) -> bool:
    """Check what ``find_spec`` extracted for an extension module; whether to load it here.

    Failures: files outside the extraction directories, a symlink or special file,
    or a file whose bytes no intact member has (damage the archive's checks let
    through).  Loaded here only if every extracted file is one of ``loadable``.
    A loader without a root carries the ZipImportError that creating the module
    raises, without loading anything.
    """
    rules = ex.extensions
    root = loader.root
    if root is None:
        return True
    what = f"find_spec({modname!r})"
    if rules is None:
        return False  # a case that was not made with extension modules: nothing is loaded
    if not any(_inside(root, d) for d in rules.directories):
        message = f"extracted to {root}, outside {rules.directories}"
        ex.failures.append(Failure(ex.case, what, "write", message=message))
        return False
    if loader.path != root + SEP + loader.member or not os.path.isfile(loader.path):
        message = f"__file__ {loader.path!r} is not member {loader.member!r} under {root!r}"
        ex.failures.append(Failure(ex.case, what, "extracted", message=message))
        return False
    files, odd = _extracted_files(root)
    damaged = sorted(rel for rel, data in files.items() if data not in rules.allowed)
    if odd or damaged:
        message = f"under {root}: {odd} {damaged} (bytes no intact member holds)"
        ex.failures.append(Failure(ex.case, what, "extracted", message=message))
        return False
    ex.extensions_extracted += 1
    if all(data in rules.loadable for data in files.values()):
        return True
    ex.extensions_withheld += 1
    return False


# -- known escapes in src ------------------------------------------------------------------


def _lzma_dict_over(limit: int) -> Callable[[Failure, bytes], bool]:
    """Whether the archive holds ZIP LZMA properties asking for a dictionary over *limit*."""

    def check(failure: Failure, data: bytes) -> bool:
        if failure.kind != "memory":
            return False
        for m in re.finditer(rb"\x09\x04\x05\x00.(....)", data, re.DOTALL):
            if int.from_bytes(m.group(1), "little") > limit:
                return True
        return False

    return check


#: Escapes in src not fixed yet: name -> (what it is, whether a failure is it).  Remove an
#: entry once src is fixed (its reproducer in ESCAPE_REPRODUCERS then has to pass).
KNOWN_ESCAPES: dict[str, tuple[str, Callable[[Failure, bytes], bool]]] = {
    # Not fixed, by decision: a .pyc is code, and loading it is trusted as much as
    # running it (which can allocate as much); CPython's marshal, like the stdlib
    # zipimport and SourceFileLoader, allocates a declared count before reading it.
    # Where memory runs out the MemoryError is a ZipImportError.
    "pyc-marshal-huge-count": (
        "a .pyc whose marshal data declares a bytes/list/tuple of 2**31-1 items: marshal.loads "
        "allocates it before reading the data (2 GiB for bytes, 16 GiB for a list, 16 GiB "
        "written for a tuple: 15-25 s and 16 GiB RSS from a 21-byte member); where memory is "
        "short the MemoryError is a ZipImportError, where it is there it is used "
        "(bytecode.pyc_to_code); the same holds for the stdlib's importers",
        lambda f, d: (
            f.exc_type == "MemoryError" and ("pyc_to_code" in f.where or "marshal" in f.where)
        ),
    ),
}


def _classify(failures: list[Failure], data: bytes) -> None:
    for f in failures:
        for name, (_, matches) in KNOWN_ESCAPES.items():
            if matches(f, data):
                f.known = name
                break


# -- running cases with limits ----------------------------------------------------------------


@dataclass
class FuzzStats:
    """What the run did, for the terminal summary and ZIPIMPORTER_FUZZ_REPORT."""

    cases: int = 0
    seconds: float = 0.0
    slowest_seconds: float = 0.0
    slowest_case: str = ""
    peak_bytes: int = 0
    peak_case: str = ""
    clean_slowest_seconds: float = 0.0  # the same, among cases without any failure
    clean_slowest_case: str = ""
    clean_peak_bytes: int = 0
    clean_peak_case: str = ""
    opened: int = 0
    members_read: int = 0
    modules_run: int = 0
    rejections: int = 0
    extensions_extracted: int = 0
    extensions_loaded: int = 0
    extensions_withheld: int = 0
    loader_refusals: int = 0
    failures: int = 0
    known: Counter[str] = field(default_factory=Counter)
    known_cases: dict[str, list[str]] = field(default_factory=dict)  # the first few of each
    by_test: Counter[str] = field(default_factory=Counter)

    def record(self, test: str, case: str, seconds: float, peak: int, ex: Exerciser) -> None:
        self.cases += 1
        self.by_test[test] += 1
        self.seconds += seconds
        if seconds > self.slowest_seconds:
            self.slowest_seconds, self.slowest_case = seconds, case
        if peak > self.peak_bytes:
            self.peak_bytes, self.peak_case = peak, case
        if not ex.failures:
            if seconds > self.clean_slowest_seconds:
                self.clean_slowest_seconds, self.clean_slowest_case = seconds, case
            if peak > self.clean_peak_bytes:
                self.clean_peak_bytes, self.clean_peak_case = peak, case
        self.opened += ex.opened
        self.members_read += ex.members_read
        self.modules_run += ex.modules_run
        self.rejections += ex.rejections
        self.extensions_extracted += ex.extensions_extracted
        self.extensions_loaded += ex.extensions_loaded
        self.extensions_withheld += ex.extensions_withheld
        self.loader_refusals += ex.loader_refusals
        for f in ex.failures:
            if f.known:
                self.known[f.known] += 1
                cases = self.known_cases.setdefault(f.known, [])
                if len(cases) < 20 and case[:80] not in cases:
                    cases.append(case[:80])
            else:
                self.failures += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "python": sys.version.split()[0],
            "cases": self.cases,
            "seconds_in_cases": round(self.seconds, 3),
            "slowest_case_seconds": round(self.slowest_seconds, 4),
            "slowest_case": self.slowest_case,
            "peak_memory_bytes": self.peak_bytes,
            "peak_memory_case": self.peak_case,
            "slowest_passing_case_seconds": round(self.clean_slowest_seconds, 4),
            "slowest_passing_case": self.clean_slowest_case,
            "peak_memory_passing_bytes": self.clean_peak_bytes,
            "peak_memory_passing_case": self.clean_peak_case,
            "archives_opened": self.opened,
            "members_read": self.members_read,
            "modules_executed": self.modules_run,
            "zipimporterrors_naming_the_archive": self.rejections,
            "extensions_extracted": self.extensions_extracted,
            "extensions_loaded": self.extensions_loaded,
            "extensions_extracted_not_loaded": self.extensions_withheld,
            "dynamic_loader_refusals": self.loader_refusals,
            "failures": self.failures,
            "known_escapes_seen": dict(self.known),
            "known_escape_cases": self.known_cases,
            "cases_by_test": dict(self.by_test),
            # The whole process (all tests run so far), not only these cases:
            "process_peak_rss_bytes": _peak_rss(),
            "process_peak_address_space_bytes": _peak_address_space(),
        }

    def lines(self) -> list[str]:
        d = self.as_dict()
        extensions = []
        if d["extensions_extracted"]:
            extensions.append(
                f"extension modules: {d['extensions_extracted']} extracted intact, "
                f"{d['extensions_loaded']} loaded, {d['extensions_extracted_not_loaded']} "
                f"not loaded (damaged, valid CRC), {d['dynamic_loader_refusals']} refused by "
                "the dynamic loader"
            )
        return [
            f"python {d['python']}: {d['cases']} cases in {d['seconds_in_cases']:.1f} s; "
            f"{d['archives_opened']} opened, {d['members_read']} members read, "
            f"{d['modules_executed']} modules executed, "
            f"{d['zipimporterrors_naming_the_archive']} ZipImportErrors",
            *extensions,
            f"slowest case {d['slowest_case_seconds'] * 1000:.1f} ms: {d['slowest_case'][:150]}",
            f"peak memory {d['peak_memory_bytes'] / MiB:.1f} MiB: {d['peak_memory_case'][:150]}",
            f"among cases without failures: slowest "
            f"{d['slowest_passing_case_seconds'] * 1000:.1f} ms "
            f"({d['slowest_passing_case'][:80]}), "
            f"peak {d['peak_memory_passing_bytes'] / MiB:.1f} MiB "
            f"({d['peak_memory_passing_case'][:80]})",
            f"failures {d['failures']}; known escapes seen {d['known_escapes_seen']}",
            f"process peaks so far: RSS {(d['process_peak_rss_bytes'] or 0) / MiB:.0f} MiB, "
            f"address space {(d['process_peak_address_space_bytes'] or 0) / MiB:.0f} MiB",
        ]


def _peak_rss() -> int | None:
    """The process's peak resident set size in bytes (POSIX), or None."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _peak_address_space() -> int | None:
    """The process's peak virtual memory size in bytes (Linux ``VmPeak``), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


STATS = FuzzStats()


class _StatsReporter:
    """A plugin registered at run time: prints STATS in the terminal summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not STATS.cases:
            return
        terminalreporter.write_sep("-", "hostile archives")
        for line in STATS.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def fuzz_report(request: pytest.FixtureRequest) -> Iterator[FuzzStats]:
    """Print the statistics at the end of the run; write them to ZIPIMPORTER_FUZZ_REPORT."""
    manager = request.config.pluginmanager
    if not manager.has_plugin("zipimporter-hostile-stats"):
        manager.register(_StatsReporter(), "zipimporter-hostile-stats")
    yield STATS
    if REPORT:
        Path(REPORT).write_text(json.dumps(STATS.as_dict(), indent=2) + "\n")


@contextlib.contextmanager
def tracing() -> Iterator[None]:
    """tracemalloc on for the block (if it wasn't already)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start(1)
    try:
        yield
    finally:
        if started:
            tracemalloc.stop()


@contextlib.contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    """Raise HardTimeout in the main thread after *seconds* (POSIX; elsewhere a no-op)."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise HardTimeout(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int | None:
    """This process's virtual memory size (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def address_space_guard(extra: int) -> Iterator[bool]:
    """Cap the address space at its current size + *extra* (Linux), so that a runaway
    allocation fails with MemoryError instead of taking the machine's memory.

    Yields whether the guard is on.
    """
    try:
        import resource
    except ImportError:
        yield False
        return
    size = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = None if size is None else size + extra
    if limit is None or (hard != resource.RLIM_INFINITY and limit > hard):
        yield False
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield True
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def _watching_marshal(hits: list[str]) -> Iterator[None]:
    """Note in *hits* every MemoryError marshal.loads raises (src may catch it after)."""
    real = marshal.loads

    def loads(data: Any, /, *args: Any, **kwargs: Any) -> Any:
        try:
            return real(data, *args, **kwargs)
        except MemoryError:
            hits.append("marshal.loads")
            raise

    marshal.loads = loads
    try:
        yield
    finally:
        marshal.loads = real


#: The ways a mutated archive is reached besides as a file of its own: as a member of a
#: valid outer archive, stored (read in place) or deflated (decompressed into memory), and
#: as bytes given to ``zipimporter.from_bytes``.
NESTED_MODES = ("stored", "deflated", "memory")
MEMORY_ENTRY = "<memory:case>"


def place_case(path: Path, data: bytes, mode: str) -> str:
    """Put *data* where *mode* says (a file at *path*, or inside an outer archive written
    beside it); return the path of the archive to exercise."""
    if mode == "file":
        path.write_bytes(data)
        return str(path)
    if mode == "memory":
        return MEMORY_ENTRY
    method = zipfile.ZIP_STORED if mode == "stored" else zipfile.ZIP_DEFLATED
    outer = path.with_name("outer.zip")
    outer.write_bytes(
        zip_bytes({"first.txt": b"before\n", "inner.zip": Entry(data, compress_type=method)})
    )
    return str(outer) + SEP + "inner.zip"


def exercise_placed(ex: Exerciser, data: bytes, mode: str) -> None:
    """:func:`exercise`, the bytes given to ``from_bytes`` first (and forgotten after) in memory."""
    if mode != "memory":
        exercise(ex)
        return
    entry = ex.call("from_bytes(data)", zipimporter.from_bytes, data, "case")
    if entry is _FAILED:
        return
    try:
        if entry != ex.archive:
            ex.failures.append(Failure(ex.case, "from_bytes(data)", "escape", message=entry))
            return
        exercise(ex)
    finally:
        zipimporter.forget_bytes(entry)


def _drop_indexes(archive: str) -> None:
    """Forget the indexes of *archive*, of the outer archive holding it and of those in it."""
    root = archive.removesuffix(SEP + "inner.zip")
    inside = root + SEP
    for key in [k for k in zipimporter._zip_directory_cache if k == root or k.startswith(inside)]:
        del zipimporter._zip_directory_cache[key]


def _memory_failure(
    archive: str,
    label: str,
    data: bytes,
    peak: int,
    call: str,
    mode: str = "file",
    extensions: ExtensionRules | None = None,
) -> Failure:
    """A memory failure, with where the case runs out of memory with the bound as its cap."""
    message = f"tracemalloc peak {peak / MiB:.1f} MiB for a {len(data)}-byte archive"
    failure = Failure(label, call, "memory", message=message)
    rerun = Exerciser(archive, label, extensions=extensions)
    hits: list[str] = []
    try:
        with address_space_guard(memory_bound(len(data))) as guarded:
            if guarded:
                with _watching_marshal(hits), hard_timeout(HARD_SECONDS):
                    exercise_placed(rerun, data, mode)
    except HardTimeout:
        pass
    _drop_indexes(archive)
    extraction._extracted.clear()
    found = [f for f in rerun.failures if f.exc_type == "MemoryError"]
    if found:
        failure.call, failure.exc_type, failure.where = found[0].call, "MemoryError", found[0].where
        failure.message += f"; under the bound as a cap: MemoryError at {found[0].where}"
    elif hits:
        failure.exc_type, failure.where = "MemoryError", hits[0]
        failure.message += f"; under the bound as a cap: MemoryError in {hits[0]}"
    return failure


def run_case(
    path: Path,
    data: bytes,
    label: str,
    test: str = "",
    mode: str = "file",
    extensions: ExtensionRules | None = None,
) -> list[Failure]:
    """Exercise *data* under the time and memory limits; return failures.

    *mode* says how it is reached: ``file`` (written at *path*) or one of
    :data:`NESTED_MODES` (an outer archive written beside *path*, or memory).
    *extensions*: the rules for a case with extension modules (:func:`check_extension`).
    """
    archive = place_case(path, data, mode)
    _drop_indexes(archive)
    extraction._extracted.clear()  # this process's memo: the case file may have its stat
    ex = Exerciser(archive, label, extensions=extensions)
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.monotonic()
    try:
        with (
            watching_memory_errors(ex),
            address_space_guard(memory_cap(len(data))),
            hard_timeout(HARD_SECONDS),
        ):
            exercise_placed(ex, data, mode)
    except HardTimeout as exc:
        ex.failures.append(Failure(label, ex.current, "hang", "HardTimeout", str(exc)))
    seconds = time.monotonic() - start
    ex.judge_caught_memory_errors()
    peak = tracemalloc.get_traced_memory()[1] - before if tracemalloc.is_tracing() else 0
    _drop_indexes(archive)
    extraction._extracted.clear()
    if seconds > CASE_SECONDS:
        message = f"took {seconds:.2f} s; the slowest call took {ex.slowest[0]:.2f} s"
        ex.failures.append(Failure(label, ex.slowest[1], "slow", message=message))
    if peak > memory_bound(len(data)):
        ex.failures.append(
            _memory_failure(archive, label, data, peak, ex.peak[1], mode, extensions)
        )
    _classify(ex.failures, data)
    STATS.record(test, label, seconds, peak, ex)
    return ex.failures


def assert_no_failures(failures: list[Failure], cases: int) -> None:
    """Fail with every unknown failure listed (known escapes are only counted)."""
    unknown = [f for f in failures if not f.known]
    if unknown:
        kinds = Counter(f"{f.kind} {f.exc_type}".strip() for f in unknown)
        head = f"{len(unknown)} failures in {cases} cases ({dict(kinds)}):"
        pytest.fail("\n".join([head, *map(str, unknown[:25])]), pytrace=False)


# -- the seeded batch -----------------------------------------------------------------------

_CHUNKS = [
    (s, min(s + CHUNK, FIRST_SEED + CASES)) for s in range(FIRST_SEED, FIRST_SEED + CASES, CHUNK)
]


@pytest.mark.parametrize(("first", "stop"), _CHUNKS, ids=[f"seeds-{a}-{b - 1}" for a, b in _CHUNKS])
def test_mutated_archives(tmp_path, no_caches, first, stop):
    cases = [hostile.make_case(seed) for seed in range(first, stop)]  # made before tracing
    failures = []
    with tracing():
        for case in cases:
            failures += run_case(tmp_path / "case.zip", case.data, case.label, "mutated")
    assert_no_failures(failures, stop - first)


CACHED_SEEDS = range(1_000_000 + FIRST_SEED, 1_000_000 + FIRST_SEED + max(CASES // 8, 1))


def test_mutated_archives_with_caches(tmp_path, monkeypatch):
    """The same with the on-disk caches on: nothing may be written outside the cache directory."""
    cache = tmp_path / "a" / "b" / "c" / "d" / "e" / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.delenv("ZIPIMPORTER_CACHE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    work = tmp_path / "work"
    work.mkdir()
    cases = [hostile.make_case(seed) for seed in CACHED_SEEDS]
    failures = []
    with tracing():
        for case in cases:
            failures += run_case(work / "case.zip", case.data, case.label, "mutated, caches on")
    stray = sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and cache not in p.parents and p.parent != work
    )
    if stray:
        failure = Failure(f"seeds {CACHED_SEEDS}", "(whole batch)", "write", message=str(stray))
        _classify([failure], b"")
        failures.append(failure)
    assert_no_failures(failures, len(cases))


NESTED_CASES = max(CASES // 10, 1)


@pytest.mark.parametrize("mode", NESTED_MODES)
def test_mutated_archives_nested_and_in_memory(tmp_path, no_caches, mode):
    """Other seeds, each archive reached as *mode* says: a member of a valid outer archive
    (stored: read in place; deflated: decompressed into memory) or bytes in memory."""
    first = 2_000_000 + 1_000_000 * NESTED_MODES.index(mode) + FIRST_SEED
    cases = [hostile.make_case(seed) for seed in range(first, first + NESTED_CASES)]
    failures = []
    with tracing():
        for case in cases:
            failures += run_case(
                tmp_path / "case.zip", case.data, f"{mode}: {case.label}", f"mutated, {mode}", mode
            )
    assert_no_failures(failures, len(cases))


EMBEDDED_CASES = max(CASES // 20, 1)


@pytest.fixture(scope="module")
def embedded_bundle(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A bundle ``zipimporter build`` gives an embedded index (>= 2,048 entries)."""
    from zipimporter import bundle, index_cache

    contents = {f"pkg/m{i}.py": f"value = {i}\n".encode() for i in range(index_cache.MIN_ENTRIES)}
    contents["pkg/__init__.py"] = b""
    path = tmp_path_factory.mktemp("embedded") / "bundle.zip"
    bundle.write_archive(contents, str(path))
    data = path.read_bytes()
    assert index_cache.EMBEDDED_MAGIC in data[-4096:]
    return data


def test_mutated_embedded_index_bundles(tmp_path, no_caches, embedded_bundle):
    """Seeded damage to a bundle with an embedded index (its comment, central directory,
    end records and member data), under the same limits and judge as every case."""
    import random

    data = embedded_bundle
    first_record = data.find(b"PK\x01\x02")
    regions = [(first_record, len(data)), (len(data) - 2048, len(data)), (0, first_record)]
    failures = []
    with tracing():
        for seed in range(EMBEDDED_CASES):
            rng = random.Random(3_000_000 + FIRST_SEED + seed)
            case = bytearray(data)
            steps = []
            for _ in range(rng.choice([1, 1, 2, 3])):
                lo, hi = rng.choice(regions)
                at = rng.randrange(lo, hi)
                if rng.random() < 0.8:
                    case[at] = rng.randrange(256)
                    steps.append(f"byte {at}")
                else:
                    del case[at : at + rng.randrange(1, 64)]
                    steps.append(f"cut at {at}")
            label = f"embedded-index bundle, seed {seed}: {', '.join(steps)}"
            failures += run_case(tmp_path / "case.zip", bytes(case), label, "embedded index")
    assert_no_failures(failures, EMBEDDED_CASES)


EXTENSION_CASES = max(CASES // 8, 1)
#: How the extension cases are reached (as NESTED_MODES, or a file) and with what cache:
#: the extraction cache under the test's cache directory, or (no cache) a private
#: temporary directory.
EXTENSION_MODES = {
    "file, cache": ("file", True),
    "file, no cache": ("file", False),
    "stored, cache": ("stored", True),
    "memory, no cache": ("memory", False),
}
#: The share of EXTENSION_CASES each mode gets.
EXTENSION_SHARES = {
    "file, cache": 0.4,
    "file, no cache": 0.3,
    "stored, cache": 0.15,
    "memory, no cache": 0.15,
}


@pytest.fixture(scope="module")
def extension_objects(tmp_path_factory: pytest.TempPathFactory) -> hostile.ExtensionObjects:
    """The extension cases' ELF objects, compiled as test_extensions.py compiles its own."""
    if sys.platform != "linux":
        pytest.skip("builds and loads ELF extensions")
    from test_extensions import make_compiler

    cc = make_compiler(tmp_path_factory.mktemp("hostile-compiled"))
    objects = hostile.ExtensionObjects(
        suffix=importlib.machinery.EXTENSION_SUFFIXES[0],
        ext=cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN/../mypkg.libs"),
        sib=cc.extension("_sib", dep="libdep.so", rpath="$ORIGIN", new_dtags=True),
        lib=cc.library("libdep.so"),
        tiny=cc.extension("tiny"),
        extpkg=cc.extension("extpkg"),
    )
    if hostile.elf_map(objects.ext) is None:
        pytest.skip("the compiler does not make 64-bit little-endian ELF objects")
    return objects


@pytest.fixture
def extraction_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Extraction's process state made fresh for the test; its private temporary
    directory (caching off, or the cache unwritable) under ``tmp_path/tmp``, removed after."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(extraction, "_private", [])
    monkeypatch.setattr(extraction, "_extracted", {})
    monkeypatch.setattr(extraction, "_map_dirs", {})
    yield temp
    for _, directory in extraction._private:
        shutil.rmtree(directory, ignore_errors=True)


def _slot_like(name: str) -> bool:
    return len(name) == extraction.SLOT_DIGITS and all(c in "0123456789abcdef" for c in name)


def _escaped_files(tmp_path: Path, allowed: list[Path], extraction_roots: list[Path]) -> list[str]:
    """Files under *tmp_path* outside the *allowed* directories; under *extraction_roots*
    (``extensions/`` of a cache, private ``zipimporter-ext-*`` directories), files outside
    the slots (and the map); and files named EVIL anywhere a member name could have put
    them (the session's temporary directories, ``/tmp``: the names climb out of any)."""
    stray = [
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if not p.is_dir() and not any(d == p.parent or d in p.parents for d in allowed)
    ]
    for root in extraction_roots:
        for p in root.rglob("*"):
            top = p.relative_to(root).parts[0]
            if not p.is_dir() and not (_slot_like(top) or top == "map"):
                stray.append(str(p.relative_to(tmp_path)))
    # Where the names' ".." runs could climb from a slot: up through the session's
    # directories to /tmp, or (past the root) /tmp and / themselves.
    for directory in {*tmp_path.parents, Path(tempfile.gettempdir()), Path("/tmp")}:
        stray += [str(p) for p in directory.glob(f"*{hostile.EVIL}*")]
    return stray


@pytest.mark.parametrize("mode", EXTENSION_MODES)
def test_mutated_extension_archives(request, tmp_path, extension_objects, extraction_sandbox, mode):
    """Archives holding real extension modules and the library two of them link against,
    damaged by the model and byte operators and by ELF-aware ones (headers, program headers,
    dynamic entries, needed names, RPATH/RUNPATH: with valid CRCs, so the ELF reader sees
    them), each extension found (extracted) and loaded, under the limits and judge of every
    case.  Besides: everything extracted is intact (:func:`check_extension`), nothing is
    written outside the cache or the private extraction directory, no damaged object is
    loaded in this process, and no temporary directory is left."""
    placement, caching = EXTENSION_MODES[mode]
    cache = tmp_path / "cache"
    request.getfixturevalue("cache" if caching else "no_caches")
    objects = extension_objects
    count = max(1, round(EXTENSION_CASES * EXTENSION_SHARES[mode]))
    first = 4_000_000 + 100_000 * list(EXTENSION_MODES).index(mode) + FIRST_SEED
    cases = [hostile.make_extension_case(seed, objects) for seed in range(first, first + count)]
    loadable = frozenset(hostile.extension_members(objects).values())
    directories = (str(cache / "extensions"), str(extraction_sandbox))
    work = tmp_path / "work"
    work.mkdir()
    failures = []
    with tracing():
        for case in cases:
            rules = ExtensionRules(case.allowed, loadable, directories)
            failures += run_case(
                work / f"case{case.seed}.zip",
                case.data,
                f"{mode}: {case.label}",
                f"extensions, {mode}",
                placement,
                rules,
            )
    private = list(extraction_sandbox.glob("zipimporter-ext-*"))
    extensions = cache / "extensions"
    stray = _escaped_files(tmp_path, [cache, extraction_sandbox, work], [extensions, *private])
    if stray:
        message = f"written outside the extraction directories, or left: {stray[:20]}"
        failures.append(Failure(f"seeds from {first}", "(whole batch)", "write", message=message))
    assert_no_failures(failures, len(cases))
    # The private directory is the only thing made in the temporary directory, and a
    # batch of some size did extract, to the cache or the private directory as its mode says.
    assert [p.name for p in extraction_sandbox.iterdir()] == [
        Path(d).name for _, d in extraction._private
    ]
    if len(cases) >= 20:
        used = [extensions] if caching else [Path(d) for _, d in extraction._private]
        assert any(_slot_like(p.name) for d in used if d.is_dir() for p in d.iterdir())


@pytest.mark.parametrize("base", sorted(hostile.BASE_BUILDERS))
def test_truncated_at_every_boundary(tmp_path, no_caches, base):
    built = hostile.build(hostile.base_models()[base])
    cuts = sorted(
        {c for b in built.boundaries() for c in (b - 1, b, b + 1)} & set(range(len(built.data)))
    )
    failures = []
    with tracing():
        for cut in cuts:
            label = f"{base} truncated at {cut} of {len(built.data)}"
            failures += run_case(tmp_path / "cut.zip", built.data[:cut], label, "truncated")
    assert_no_failures(failures, len(cuts))


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=hostile.raw_archives())
def test_raw_archives(tmp_path, no_caches, data):
    with tracing():
        failures = run_case(
            tmp_path / "raw.zip", data, f"raw archive {data!r}"[:2000], "hypothesis"
        )
    assert_no_failures(failures, 1)


# -- the generator itself ------------------------------------------------------------------


@pytest.mark.parametrize("base", sorted(hostile.BASE_BUILDERS))
def test_bases_round_trip_and_import(tmp_path, no_caches, base):
    """The generator's starting points are valid: parse/build is exact, every module imports."""
    data = hostile.BASE_BUILDERS[base]()
    assert hostile.build(hostile.parse(data)).data == data
    ex = Exerciser(str(tmp_path / "base.zip"))
    (tmp_path / "base.zip").write_bytes(data)
    exercise(ex)
    assert ex.failures == []
    assert ex.rejections == 0
    if base != "empty":
        assert ex.modules_run >= 1


def test_cases_are_deterministic():
    assert [hostile.make_case(s).data for s in range(50)] == [
        hostile.make_case(s).data for s in range(50)
    ]


@pytest.mark.parametrize("base", sorted(hostile.EXTENSION_BASE_BUILDERS))
def test_extension_bases_round_trip_and_load(
    tmp_path, cache, extension_objects, extraction_sandbox, base
):
    """The extension cases' starting points are valid: parse/build is exact, every
    extension is extracted intact and loads, and the two that link against libdep.so
    call into it."""
    data = hostile.EXTENSION_BASE_BUILDERS[base](extension_objects)
    assert hostile.build(hostile.parse(data)).data == data
    path = tmp_path / "base.zip"
    path.write_bytes(data)
    members = hostile.extension_members(extension_objects)
    rules = ExtensionRules(
        frozenset(members.values()),
        frozenset(members.values()),
        (str(cache / "extensions"),),
    )
    ex = Exerciser(str(path), extensions=rules)
    exercise(ex)
    assert ex.failures == []
    assert ex.rejections == 0
    # _ext, _sib, tiny, extpkg; libdep.so is a module name too, without PyInit_libdep.
    assert (ex.extensions_loaded, ex.loader_refusals, ex.extensions_withheld) == (4, 2, 0)
    for name in ("_ext", "_sib"):
        spec = zipimporter.zipimporter(f"{path}{SEP}mypkg").find_spec(name)
        assert spec is not None and spec.loader is not None
        assert importlib.util.module_from_spec(spec).value() == 42


def test_extension_cases_are_deterministic(extension_objects):
    first = [hostile.make_extension_case(s, extension_objects) for s in range(30)]
    again = [hostile.make_extension_case(s, extension_objects) for s in range(30)]
    assert [(c.data, c.allowed) for c in first] == [(c.data, c.allowed) for c in again]
    # Some cases wrote damaged objects with a valid CRC: those are allowed, not loadable.
    members = frozenset(hostile.extension_members(extension_objects).values())
    assert any(c.allowed - members for c in first)


def test_harness_checks_extracted_extensions(
    tmp_path, cache, extension_objects, extraction_sandbox
):
    """check_extension flags files no intact member holds and files outside the
    extraction directories, and loads only known objects (checked on rules that are
    wrong on purpose); the judge takes the dynamic loader's refusal only as a
    ZipImportError naming the archive, and counts it only for the file the call loads."""
    objects = extension_objects
    path = tmp_path / "base.zip"
    path.write_bytes(hostile.EXTENSION_BASE_BUILDERS["ext-stored"](objects))
    members = frozenset(hostile.extension_members(objects).values())
    extensions = str(cache / "extensions")

    def run(allowed: frozenset[bytes], loadable: frozenset[bytes], where: str) -> Exerciser:
        extraction._extracted.clear()
        ex = Exerciser(str(path), extensions=ExtensionRules(allowed, loadable, (where,)))
        exercise(ex)
        return ex

    ex = run(members - {objects.tiny}, members, extensions)
    assert [(f.call, f.kind) for f in ex.failures] == [("find_spec('tiny')", "extracted")]
    ex = run(members, members - {objects.lib}, extensions)
    assert ex.failures == []
    assert (ex.extensions_loaded, ex.extensions_withheld) == (2, 4)  # tiny, extpkg: no libdep
    ex = run(members, members, str(tmp_path / "elsewhere"))
    assert {f.kind for f in ex.failures} == {"write"} and ex.extensions_loaded == 0

    judged = Exerciser(str(path))
    refusal = ImportError("dynamic module does not define module export function", path="/x.so")
    wrapped = zipimporter.ZipImportError(f"can't load it from {str(path)!r}", path=str(path))
    wrapped.__cause__ = refusal
    judged.call("load", lambda: _raise(wrapped), loaded_file="/x.so")
    judged.call("load other", lambda: _raise(wrapped), loaded_file="/y.so")
    judged.call("unwrapped", lambda: _raise(refusal), loaded_file="/x.so")
    judged.call("not loading", lambda: _raise(refusal))
    assert [(f.call, f.kind) for f in judged.failures] == [
        ("unwrapped", "unnamed"),
        ("not loading", "unnamed"),
    ]
    assert judged.loader_refusals == 1


def _raise(exc: BaseException, context: BaseException | None = None) -> None:
    try:
        if context is not None:
            raise context
    except BaseException:
        raise exc from None  # as src converts errors: the context is kept, not shown
    raise exc


def test_harness_reports_escapes(tmp_path):
    """The exerciser flags what it should (checked on a fake, not on src)."""
    ex = Exerciser(str(tmp_path / "x.zip"))
    named = f"bad: {ex.archive!r}"
    ex.call("boom", lambda: [][1])
    ex.call("unnamed", lambda: _raise(zipimporter.ZipImportError("bad", path=ex.archive)))
    ex.call("named", lambda: _raise(zipimporter.ZipImportError(named, path=ex.archive)))
    ex.call("no-path", lambda: _raise(zipimporter.ZipImportError(named)))
    ex.call("other-path", lambda: _raise(zipimporter.ZipImportError(named, path="x")))
    ex.call("plain-import-error", lambda: _raise(ImportError(named)))
    ex.call("missing", lambda: _raise(ModuleNotFoundError("No module named 'm'", name="m")))
    ex.call(
        "memory-converted",
        lambda: _raise(zipimporter.ZipImportError(named, path=ex.archive), MemoryError()),
    )
    ex.call("memory", lambda: _raise(MemoryError()))
    ex.call("oserror", lambda: open(tmp_path / "missing"))  # noqa: SIM115
    ex.call("oserror-ok", lambda: open(tmp_path / "missing"), oserror_ok=True)  # noqa: SIM115
    assert [(f.call, f.kind, f.exc_type) for f in ex.failures] == [
        ("boom", "escape", "IndexError"),
        ("unnamed", "unnamed", "ZipImportError"),
        ("no-path", "path", "ZipImportError"),
        ("other-path", "path", "ZipImportError"),
        ("memory-converted", "memory", "MemoryError"),
        ("memory", "memory", "MemoryError"),
        ("oserror", "escape", "FileNotFoundError"),
    ]
    assert ex.rejections == 2


def test_memory_cap_turns_a_runaway_allocation_into_a_failure(tmp_path):
    """Under the cap a huge allocation fails at once, and the harness calls it a failure,
    also where the MemoryError is caught and never reaches the harness (3.12+)."""
    ex = Exerciser(str(tmp_path / "x.zip"))
    too_much = memory_cap(1000) + 64 * MiB

    def swallowed() -> None:
        try:
            bytearray(too_much)
        except MemoryError:
            pass

    with watching_memory_errors(ex) as watching, address_space_guard(memory_cap(1000)) as capped:
        if not capped:
            pytest.skip("no way to cap the address space here")
        ex.call("allocate", lambda: bytearray(too_much))
        ex.call("swallowed", swallowed)
    ex.judge_caught_memory_errors()
    expected = [("allocate", "memory", "MemoryError")]
    if watching:
        expected.append(("swallowed", "memory", "MemoryError"))
    assert [(f.call, f.kind, f.exc_type) for f in ex.failures] == expected
    assert watching == (sys.version_info >= (3, 12))


# -- bombs, deterministically ---------------------------------------------------------------


def _rejected(path: Path, member: str) -> zipimporter.ZipImportError:
    """The ZipImportError from opening the archive or, failing that, reading *member*."""
    archive = str(path)
    zipimporter._zip_directory_cache.pop(archive, None)
    with pytest.raises(zipimporter.ZipImportError) as info:
        zipimporter.zipimporter(archive).get_data(member)
    assert archive in str(info.value)
    return info.value


def _bounded(func: Callable[[], Any], size: int) -> Any:
    """Run *func* under tracemalloc and the limits; check the memory bound."""
    with tracing():
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            with address_space_guard(memory_cap(size)), hard_timeout(HARD_SECONDS):
                return func()
        finally:
            peak = tracemalloc.get_traced_memory()[1] - before
            assert peak <= memory_bound(size), f"peak {peak / MiB:.1f} MiB"


def test_overlap_bomb_rejected(tmp_path, no_caches):
    path = tmp_path / "overlap.zip"
    path.write_bytes(hostile.overlap_bomb(20, 1 << 20))
    _bounded(lambda: _rejected(path, "0"), path.stat().st_size)


def test_nested_member_rejected(tmp_path, no_caches):
    """A member lying inside another member's data (a partial overlap)."""
    path = tmp_path / "nested.zip"
    path.write_bytes(hostile.nested_member())
    _bounded(lambda: _rejected(path, "inner.py"), path.stat().st_size)


def test_same_local_header_rejected(tmp_path, no_caches):
    path = tmp_path / "same.zip"
    path.write_bytes(hostile.same_local_header())
    _bounded(lambda: _rejected(path, "evil.py"), path.stat().st_size)


@pytest.mark.parametrize(
    ("declared", "actual", "method"),
    [
        (1000, 8 * MiB, 8),
        (0, 8 * MiB, 8),
        (1000, 8 * MiB, 12),
        (1000, 8 * MiB, 14),
        (64 * MiB, 8 * MiB, 8),
        (0xFFFFFFFE, 8 * MiB, 8),
        (1 << 40, 8 * MiB, 8),
        (2**63 - 1, 8 * MiB, 8),
        (2**64 - 1, 8 * MiB, 8),
    ],
    ids=[
        "deflate-more-than-declared", "deflate-declared-empty", "bzip2-more-than-declared",
        "lzma-more-than-declared", "declared-64MiB-short", "declared-4GiB", "declared-1TiB-zip64",
        "declared-2**63-1", "declared-2**64-1",
    ],
)  # fmt: skip
def test_ratio_bomb_rejected(tmp_path, no_caches, declared, actual, method):
    path = tmp_path / "ratio.zip"
    path.write_bytes(hostile.ratio_bomb(declared, actual, method=method))
    start = time.monotonic()
    _bounded(lambda: _rejected(path, "bomb.txt"), path.stat().st_size)
    assert time.monotonic() - start < CASE_SECONDS


class TooMuchWorkError(Exception):
    """Raised by :func:`lines_run` past its limit."""


def lines_run(func: Callable[[], object], limit: int) -> int:
    """How many lines of Python *func* runs (``sys.settrace`` line events).

    A measure of work that, unlike time, does not depend on the machine or its
    load.  Past *limit* lines TooMuchWorkError is raised, so a regression fails fast.
    """
    count = 0

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
            if count > limit:
                raise TooMuchWorkError(f"more than {limit} lines")
        return local

    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: local)
    try:
        func()
    finally:
        sys.settrace(previous)
    return count


def test_hash_flood_opens_in_linear_time(tmp_path, no_caches):
    """Names forged to share one CRC-32 must not make opening quadratic (fixed in 2535b88).

    Counted in lines of Python run to open the archive and look every name up:
    3,000 colliding names cost at most a few times what 3,000 distinct ones do,
    and 3,000 cost about twice what 1,500 do (quadratic probing: 4 times, and
    some 200 times the distinct names' cost).
    """

    def work(count: int, colliding: bool) -> int:
        path = tmp_path / f"flood-{count}-{colliding}.zip"
        path.write_bytes(hostile.hash_flood(count, colliding=colliding))
        names = [m.name for m in hostile.parse(path.read_bytes()).central]
        assert len(set(names)) == count

        def open_and_look_up() -> None:
            zipimporter._zip_directory_cache.pop(str(path), None)
            zipimporter.zipimporter(str(path))
            index = zipimporter._zip_directory_cache[str(path)]
            assert all(name.decode("cp437") in index for name in names)

        with hard_timeout(HARD_SECONDS):
            return lines_run(open_and_look_up, limit=5_000_000)

    distinct = work(3000, colliding=False)
    colliding = work(3000, colliding=True)
    half = work(1500, colliding=True)
    assert colliding < 10 * distinct, (colliding, distinct)
    assert colliding < 3 * half, (colliding, half)


@pytest.mark.xfail(
    "extension-dependency-lookup-flood" in KNOWN_ESCAPES,
    strict=True,
    reason="known escape extension-dependency-lookup-flood",
)
def test_extension_dependency_search_is_bounded(tmp_path, no_caches, extraction_sandbox):
    """Finding an extension whose member asks for 600 libraries in 600 RPATH directories
    (all in the archive; a 56 KB archive) runs at most 100 times the Python lines that
    20 libraries in 20 directories cost (400 lookups), not needed x directories (360,000
    lookups: 10.8 million lines)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    path = tmp_path / "flood.zip"
    path.write_bytes(hostile.dependency_lookup_flood(suffix, 600, 600))

    def find() -> None:
        spec = zipimporter.zipimporter(str(path)).find_spec("_ext")
        assert spec is not None and isinstance(spec.loader, extraction.ExtensionLoader)

    small = tmp_path / "small.zip"
    small.write_bytes(hostile.dependency_lookup_flood(suffix, 20, 20))
    with hard_timeout(HARD_SECONDS):
        base = lines_run(
            lambda: zipimporter.zipimporter(str(small)).find_spec("_ext"), limit=5_000_000
        )
        assert lines_run(find, limit=100 * base) > 0
    # Importing it stops at extraction.MAX_LOOKUPS, with an error naming the archive.
    spec = zipimporter.zipimporter(str(path)).find_spec("_ext")
    assert spec is not None and spec.loader is not None
    with pytest.raises(zipimporter.ZipImportError) as caught:
        spec.loader.create_module(spec)  # extracts
    name = f"_ext{suffix}"
    assert str(caught.value) == extraction.TOO_MANY_LOOKUPS.format(
        member=name, archive=str(path), limit=extraction.MAX_LOOKUPS
    )
    assert caught.value.path == str(path)


# -- samples --------------------------------------------------------------------------------

#: file -> (call, argument): the call that must raise ZipImportError naming the archive
#: (opening may already raise it).  The README beside the files says what each is.
SAMPLES = {
    "overlap_bomb.zip": ("get_data", "0"),
    "ratio_bomb.zip": ("get_data", "bomb.txt"),
    "zip64_absurd_end.zip": ("open", ""),
    "zip64_huge_member.zip": ("get_data", "huge.txt"),
    "same_local_header.zip": ("get_data", "evil.py"),
    "bad_utf8_name.zip": ("list", ""),
    "nested_member.zip": ("get_data", "inner.py"),
    "coding_undefined.zip": ("get_source", "m"),
}

#: sample -> the escape it reproduces: xfail while that is in KNOWN_ESCAPES.
SAMPLE_ESCAPES = {"coding_undefined.zip": "get-source-codec-unicode-error"}


def _sample_params() -> list[Any]:
    params = []
    for name in SAMPLES:
        escape = SAMPLE_ESCAPES.get(name, "")
        reason = f"known escape {escape}"
        mark = pytest.mark.xfail(escape in KNOWN_ESCAPES, strict=True, reason=reason)
        params.append(pytest.param(name, marks=mark))
    return params


def _do(importer: zipimporter.zipimporter, call: str, arg: str) -> Any:
    if call == "get_data":
        return importer.get_data(arg)
    if call == "list":
        return list(zipimporter._zip_directory_cache[importer.archive])
    if call == "get_source":
        return importer.get_source(arg)
    if call == "import":
        spec = importer.find_spec(arg)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        return spec.loader.exec_module(module)
    return None


@pytest.mark.parametrize("name", _sample_params())
def test_sample(name, no_caches):
    path = str(DATA / name)
    call, arg = SAMPLES[name]
    assert (DATA / name).stat().st_size < 4096
    zipimporter._zip_directory_cache.pop(path, None)

    def attempt() -> None:
        with pytest.raises(zipimporter.ZipImportError) as info:
            _do(zipimporter.zipimporter(path), call, arg)
        assert path in str(info.value)

    _bounded(attempt, 4096)


def test_samples_match_their_generator():
    spec = importlib.util.spec_from_file_location("make_samples", DATA / "make_samples.py")
    assert spec is not None and spec.loader is not None
    make_samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_samples)
    samples = make_samples.samples()
    assert sorted(samples) == sorted(SAMPLES)
    assert sorted(p.name for p in DATA.glob("*.zip")) == sorted(SAMPLES)
    readme = (DATA / "README.md").read_text()
    assert readme == make_samples.readme().replace(
        f"zlib {zlib.ZLIB_RUNTIME_VERSION}.", re.search(r"zlib \S+\.", readme).group(0)
    ), "README.md is stale: run make_samples.py"
    if f"zlib {zlib.ZLIB_RUNTIME_VERSION}." not in readme:
        pytest.skip("the samples were made with another zlib: deflate output may differ")
    for name, data in samples.items():
        assert (DATA / name).read_bytes() == data, f"{name} is stale: run make_samples.py"


# -- every escape found, one reproducer each ---------------------------------------------------


def _source_member(source: bytes) -> bytes:
    return hostile.build(hostile.simple_zip([(b"m.py", source, 0)])).data


def escape_reproducers() -> dict[str, bytes]:
    """A small archive for every escape this suite found; the fixed ones stay as regressions."""
    pycs = dict(hostile.hostile_pycs())
    return {
        # Fixed in 2535b88: get_source let UnicodeError (not UnicodeDecodeError) out.
        "get-source-codec-unicode-error": _source_member(b"# coding: undefined\nx = 1\n"),
        # Fixed in e1cb0b2: 'module load failed: ...' did not name the archive.
        "pyc-error-without-archive": hostile.pyc_member(b"m.pyc", pycs["bad-flags"]),
        # Fixed before this suite ran: compile()'s MemoryError and RecursionError got out.
        "compile-memory-error": _source_member(b"x = " + b"-" * 100_000 + b"1\n"),
        "compile-recursion-error": _source_member(b"x = 1" + b"+1" * 100_000 + b"\n"),
        "pyc-marshal-system-error": hostile.pyc_member(b"m.pyc", pycs["code-int-co_code"]),
        "pyc-marshal-huge-count": hostile.pyc_member(b"m.pyc", pycs["huge-bytes"]),
        "lzma-dictionary-size": hostile.lzma_dict_bomb(),
        "extension-elf-string-amplification": hostile.elf_string_amplification(
            importlib.machinery.EXTENSION_SUFFIXES[0]
        ),
    }


#: Known escapes reproduced by a test of their own.
_KNOWN_ELSEWHERE = {"bytecode-cache-outside-its-directory"}


def test_every_known_escape_has_a_reproducer():
    assert set(KNOWN_ESCAPES) - _KNOWN_ELSEWHERE <= set(escape_reproducers())


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(
                name in KNOWN_ESCAPES,
                strict=True,
                reason=f"escape: {KNOWN_ESCAPES.get(name, ('',))[0]}",
            ),
        )
        for name in escape_reproducers()
    ],
)
def test_escape_reproducer(tmp_path, no_caches, extraction_sandbox, name):
    data = escape_reproducers()[name]
    with tracing():
        failures = run_case(tmp_path / f"{name}.zip", data, f"reproducer {name}", "reproducers")
    for f in failures:
        f.known = None  # here every failure counts
    assert_no_failures(failures, 1)


@pytest.mark.parametrize("kind", sorted(hostile.DANGEROUS_PYCS))
def test_marshal_huge_count_under_a_memory_cap(tmp_path, no_caches, kind):
    """A list/tuple of 2**31-1 items: marshal asks for 16 GiB (and writes a tuple's) first.

    Only run with the address space capped; then the MemoryError must be a ZipImportError.
    Without the cap it takes 15-25 s and, for the tuple, 16 GiB of RSS where that is there.
    """
    path = tmp_path / "huge.zip"
    path.write_bytes(hostile.pyc_member(b"m.pyc", hostile.DANGEROUS_PYCS[kind]))
    with address_space_guard(1 << 30) as guarded:
        if not guarded:
            pytest.skip("no way to cap the address space here")
        with hard_timeout(HARD_SECONDS):
            importer = zipimporter.zipimporter(str(path))
            spec = importer.find_spec("m")
            assert spec is not None and spec.loader is not None
            with pytest.raises(zipimporter.ZipImportError, match=re.escape(repr(str(path)))):
                spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.xfail(
    "bytecode-cache-outside-its-directory" in KNOWN_ESCAPES,
    strict=True,
    reason="known escape bytecode-cache-outside-its-directory",
)
def test_bytecode_cache_stays_in_its_directory(tmp_path, monkeypatch):
    cache = tmp_path / "a" / "b" / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.delenv("ZIPIMPORTER_CACHE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    archive = tmp_path / "app.zip"
    members = [(b"../../../../evil.py", b"value = 1\n", 0), (b"good.py", b"value = 2\n", 0)]
    archive.write_bytes(hostile.build(hostile.simple_zip(members)).data)
    _import_if_found(zipimporter.zipimporter(str(archive) + SEP + SEP.join([".."] * 4)), "evil")
    bytecode_cache.flush()  # what exit does
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != archive]
    assert [p for p in written if cache not in p.parents] == []
    # The same setup does write the cache, for a plain member.
    assert _import_if_found(zipimporter.zipimporter(str(archive)), "good") == 2
    bytecode_cache.flush()
    assert [p for p in tmp_path.rglob("*") if p.is_file() and cache in p.parents]


@pytest.mark.xfail(
    "bytecode-cache-outside-its-directory" in KNOWN_ESCAPES,
    strict=True,
    reason="known escape bytecode-cache-outside-its-directory",
)
def test_bytecode_cache_never_stands_in_for_a_file_outside_the_archive(tmp_path, monkeypatch):
    """Under sys.pycache_prefix the cache path is cache_from_source(abspath(member path)):
    a member '../real.py' seen through '<archive>/..' would be cached as <dir>/real.py's
    bytecode (an unchecked hash-based pyc, which the stdlib loader never revalidates)."""
    prefix = tmp_path / "pycache"
    monkeypatch.delenv("ZIPIMPORTER_CACHE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    archive = tmp_path / "app.zip"
    members = [(b"../real.py", b"value = 1\n", 0), (b"good.py", b"value = 2\n", 0)]
    archive.write_bytes(hostile.build(hostile.simple_zip(members)).data)
    _import_if_found(zipimporter.zipimporter(str(archive) + SEP + ".."), "real")
    bytecode_cache.flush()
    real = tmp_path / "real.py"
    assert not Path(importlib.util.cache_from_source(str(real))).exists()
    # The same setup does write under the prefix, for a plain member.
    assert _import_if_found(zipimporter.zipimporter(str(archive)), "good") == 2
    bytecode_cache.flush()
    assert [p for p in prefix.rglob("*") if p.is_file()]


def _import_if_found(importer: zipimporter.zipimporter, name: str) -> object:
    """Import *name* through *importer*; its ``value``, or None if it isn't found
    (refusing a member named with '..' is as good as importing it safely)."""
    spec = importer.find_spec(name)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.value


def test_valid_pyc_still_imports(tmp_path, no_caches):
    """The reproducers' neighbour that must keep working: a plain unchecked .pyc."""
    path = tmp_path / "ok.zip"
    path.write_bytes(hostile.pyc_member(b"m.pyc", pyc("value = 7\n", kind="unchecked")))
    spec = zipimporter.zipimporter(str(path)).find_spec("m")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.value == 7

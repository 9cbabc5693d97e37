"""Building archives made for importing: ``zipimporter build``.

Deterministic: entries are sorted, every timestamp is fixed (1980-01-01, or
``SOURCE_DATE_EPOCH``), permissions are normalised, and compiled files are
hash-based, so the same inputs give byte-identical archives.  Every directory
gets an explicit entry, which is how zipimport (ours and the stdlib's) sees
namespace packages.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import marshal
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["COMPRESSION", "DEFAULT_EXCLUDES", "BuildResult", "build"]

COMPRESSION = {
    "stored": zipfile.ZIP_STORED,
    "deflated": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}

#: Never bundled unless --no-default-excludes: caches of other interpreters
#: (zipimport ignores __pycache__ anyway) and version-control metadata.
DEFAULT_EXCLUDES = ("__pycache__", "*.pyc", "*.pyo", ".git", ".hg", ".svn", ".tox", ".venv")

PYC_MODES = ("unchecked-hash", "checked-hash")


@dataclass
class BuildResult:
    output: str
    files: int = 0
    compiled: int = 0
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


def collect(sources: Iterable[str], excludes: Sequence[str]) -> dict[str, Path]:
    """Archive name -> file, for the given sources.

    A directory with an ``__init__.py`` goes in as that package; any other
    directory is a ``sys.path`` entry whose contents go to the archive root
    (like ``zipapp``); a file goes to the root.
    """
    found: dict[str, Path] = {}

    def add(arcname: str, path: Path) -> None:
        if arcname in found and found[arcname] != path:
            raise ValueError(f"{arcname!r} comes from both {found[arcname]} and {path}")
        found[arcname] = path

    for source in sources:
        src = Path(source)
        if not src.exists():
            raise FileNotFoundError(f"no such file or directory: {source}")
        if src.is_file():
            add(src.name, src)
            continue
        base = src.name + "/" if (src / "__init__.py").is_file() else ""
        for root, dirs, files in os.walk(src):
            rel_root = Path(root).relative_to(src).as_posix()
            rel_root = "" if rel_root == "." else rel_root + "/"
            dirs[:] = sorted(d for d in dirs if not _excluded(base + rel_root + d, excludes))
            for name in sorted(files):
                arcname = base + rel_root + name
                if not _excluded(arcname, excludes):
                    add(arcname, Path(root, name))
    return found


def _directories(arcnames: Iterable[str]) -> set[str]:
    dirs = set()
    for name in arcnames:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]) + "/")
    return dirs


def _compile_here(source: bytes, arcname: str, mode: str) -> bytes:
    code = compile(source, arcname, "exec", dont_inherit=True)
    flags = 0b01 if mode == "unchecked-hash" else 0b11
    source_hash = importlib.util.source_hash(source)
    return (
        importlib.util.MAGIC_NUMBER
        + flags.to_bytes(4, "little")
        + source_hash
        + marshal.dumps(code)
    )


_COMPILER = """
import importlib.util, marshal, sys
mode, names = sys.argv[1], sys.argv[2:]
out = sys.stdout.buffer
for arcname, path in zip(names[::2], names[1::2]):
    source = open(path, 'rb').read()
    code = compile(source, arcname, 'exec', dont_inherit=True)
    flags = 1 if mode == 'unchecked-hash' else 3
    data = (importlib.util.MAGIC_NUMBER + flags.to_bytes(4, 'little')
            + importlib.util.source_hash(source) + marshal.dumps(code))
    out.write(len(data).to_bytes(8, 'little') + data)
"""


def _compile_elsewhere(python: str, items: list[tuple[str, Path]], mode: str) -> list[bytes]:
    """Compile with another interpreter, whose bytecode the archive is for."""
    args = [python, "-c", _COMPILER, mode]
    for arcname, path in items:
        args += [arcname, str(path)]
    run = subprocess.run(args, capture_output=True, check=False)
    if run.returncode != 0:
        last = run.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise ValueError(f"compiling with {python} failed: {last[0]}")
    out, results = run.stdout, []
    while out:
        n = int.from_bytes(out[:8], "little")
        results.append(out[8 : 8 + n])
        out = out[8 + n :]
    return results


def _main_module(entry: str) -> bytes:
    module, sep, func = entry.partition(":")
    if not sep or not module or not func or not all(p.isidentifier() for p in module.split(".")):
        raise ValueError(f"--main must look like pkg.module:function, not {entry!r}")
    return (
        "# Generated by 'zipimporter build --main'.\n"
        "import sys\n\n"
        f"from {module} import {func}\n\n"
        f"sys.exit({func}())\n"
    ).encode()


def build(
    sources: Sequence[str],
    output: str,
    *,
    compression: str = "deflated",
    compile_pyc: bool = False,
    pyc_mode: str = "unchecked-hash",
    compile_python: str | None = None,
    main: str | None = None,
    python: str | None = None,
    excludes: Sequence[str] = DEFAULT_EXCLUDES,
    progress: Callable[[int, int, str], None] | None = None,
) -> BuildResult:
    """Bundle *sources* into the archive *output*; see the module docstring."""
    if compression not in COMPRESSION:
        raise ValueError(
            f"unknown compression {compression!r}; use one of {', '.join(COMPRESSION)}"
        )
    if pyc_mode not in PYC_MODES:
        raise ValueError(f"unknown pyc mode {pyc_mode!r}; use one of {', '.join(PYC_MODES)}")
    # Never the output itself: a build into one of its sources would otherwise
    # bundle the previous build.
    out = Path(output).resolve()
    files = {n: p for n, p in collect(sources, excludes).items() if p.resolve() != out}
    contents: dict[str, bytes] = {}
    for arcname, path in files.items():
        contents[arcname] = path.read_bytes()
    if main is not None:
        if "__main__.py" in contents:
            raise ValueError("--main given, but the sources already have a __main__.py")
        contents["__main__.py"] = _main_module(main)
    result = BuildResult(output)
    if compile_pyc or compile_python:
        sources_py = sorted(n for n in contents if n.endswith(".py"))
        if compile_python:
            items = []
            for name in sources_py:
                source_path = files.get(name)
                if source_path is None:  # the generated __main__.py
                    source_path = Path(output + ".main.tmp.py")
                    source_path.write_bytes(contents[name])
                items.append((name, source_path))
            try:
                compiled = _compile_elsewhere(compile_python, items, pyc_mode)
            finally:
                Path(output + ".main.tmp.py").unlink(missing_ok=True)
        else:
            compiled = [_compile_here(contents[n], n, pyc_mode) for n in sources_py]
        for name, data in zip(sources_py, compiled, strict=True):
            contents[name + "c"] = data
        result.compiled = len(compiled)

    date_time = _fixed_date_time()
    method = COMPRESSION[compression]
    names = sorted(set(contents) | _directories(contents))
    tmp_out = f"{output}.{os.getpid()}.tmp"
    try:
        with open(tmp_out, "wb") as raw:
            if python:
                raw.write(b"#!" + python.encode() + b"\n")
            with zipfile.ZipFile(raw, "w") as zf:
                for i, name in enumerate(names, 1):
                    info = zipfile.ZipInfo(name, date_time)
                    info.create_system = 3  # Unix, wherever it is built
                    if name.endswith("/"):
                        info.external_attr = (0o40755 << 16) | 0x10
                        zf.writestr(info, b"")
                    else:
                        info.external_attr = 0o100644 << 16
                        info.compress_type = method
                        zf.writestr(info, contents[name])
                        result.files += 1
                    if progress is not None:
                        progress(i, len(names), name)
        if python:
            os.chmod(tmp_out, 0o755)
        os.replace(tmp_out, output)
    except BaseException as exc:
        Path(tmp_out).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename == tmp_out:
            exc.filename = output  # the user knows nothing of the temporary name
        raise
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

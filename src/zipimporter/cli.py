"""The ``zipimporter`` command line: build, inspect, verify and run bundles."""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys

from . import __version__, messages
from .errors import ZipImportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

SEP = os.sep


class UserError(Exception):
    """A problem with what the user asked for: one line, no traceback."""


def _check_archive(path: str, nested: bool = False) -> None:
    """The archive argument of inspect, verify and run: an existing regular file.

    With *nested* (inspect, verify), also any path that leads into one, as
    the importer walks it (``outer.zip/inner.whl``, ``app.zip/lib``): its first
    existing part must be a regular file; what follows is the archive's to
    judge.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as exc:
        if nested and _leads_into_a_file(path):
            return
        if isinstance(exc, NotADirectoryError) and not nested:
            raise
        raise UserError(messages.NO_SUCH_FILE.format(path=path)) from None
    if not stat.S_ISREG(st.st_mode):
        kind = messages.file_kind(st.st_mode)
        raise UserError(messages.NOT_A_REGULAR_FILE.format(kind=kind, path=path))


def _leads_into_a_file(path: str) -> bool:
    """Whether the first existing part of *path* (not all of it) is a regular file.

    A ``<memory:...>`` path does too: the importer says whether it is held
    (in a command's own process it never is).
    """
    from .directory import split_path

    try:
        split_path(path)
    except ZipImportError:
        return False
    return True


class _Parser(argparse.ArgumentParser):
    """Usage errors as the other errors are reported: one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (try '{self.prog} --help')\n")


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run()


def _build(args: argparse.Namespace) -> int:
    from . import bundle

    excludes = [] if args.no_default_excludes else list(bundle.DEFAULT_EXCLUDES)
    excludes += args.exclude
    result = bundle.build(
        args.sources,
        args.output,
        compression=args.compression,
        compile_pyc=args.compile,
        pyc_mode=args.pyc_mode,
        store_compiled=not args.compress_pyc,
        compile_python=args.compile_python,
        pycache=args.pycache,
        main=args.main,
        python=args.python,
        excludes=excludes,
        skip_environments=not args.no_default_excludes,
        runtime=args.runtime,
        progress=bundle.terminal_progress(),
    )
    for path in result.skipped:
        note = messages.ENVIRONMENT_LEFT_OUT.format(path=path)
        print(f"zipimporter build: note: {note}", file=sys.stderr)
    if result.zstd_members:
        note = messages.ZSTD_NEEDS_CODEC_TO_RUN.format(count=result.zstd_members)
        print(f"zipimporter build: note: {note}", file=sys.stderr)
    print(
        messages.BUILT.format(
            output=result.output,
            files=result.files,
            compiled=result.compiled,
            runtime=messages.BUILT_RUNTIME if result.runtime else "",
        )
    )
    return 0


def _enable(args: argparse.Namespace) -> int:
    from . import activation

    print(messages.ENABLED.format(path=activation.enable(user=args.user)))
    return 0


def _disable(args: argparse.Namespace) -> int:
    from . import activation

    path = activation.disable(user=args.user)
    if path is None:
        print(messages.ALREADY_DISABLED.format(path=activation.site_dir(args.user)))
    else:
        print(messages.DISABLED.format(path=path))
    return 0


def _status(args: argparse.Namespace) -> int:
    from . import activation

    active, found = activation.status()
    if found:
        print(messages.STATUS_ENABLED.format(paths=", ".join(found)))
    else:
        print(messages.STATUS_NOT_ENABLED.format(name=activation.PTH_NAME))
    print(messages.STATUS_ACTIVE.format(state=active))
    return 0


def _cache(args: argparse.Namespace) -> int:
    from . import housekeeping

    try:
        if args.action == "info":
            report = housekeeping.info()
            if args.json:
                import dataclasses

                print(json.dumps(dataclasses.asdict(report), indent=2))
            else:
                print("\n".join(housekeeping.info_lines(report)))
            return 0
        if args.action == "prune":
            cap = housekeeping.cap_setting()[0]
            if args.max_size is not None:
                try:
                    cap = housekeeping.parse_size(args.max_size)
                except ValueError:
                    raise UserError(messages.NOT_A_SIZE.format(value=args.max_size)) from None
            pruned = housekeeping.prune(None, cap)
            lines = [] if pruned is None else housekeeping.pruned_lines(pruned)
        else:
            cleared = housekeeping.clear()
            lines = [] if cleared is None else housekeeping.cleared_lines(cleared)
    except housekeeping.CacheRefusedError as exc:
        raise UserError(str(exc)) from None
    from . import cachedir

    print("\n".join(lines or [messages.CACHE_NOT_THERE.format(root=cachedir.cache_root())]))
    return 0


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _inspect(args: argparse.Namespace) -> int:
    from .inspection import inspect_archive

    _check_archive(args.archive, nested=True)
    report = inspect_archive(args.archive)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))  # one write: json.dump makes thousands
        return 0
    packed = sum(m.compressed_size for m in report.members)
    unpacked = sum(m.file_size for m in report.members)
    where = report.archive + (SEP + report.prefix.rstrip(SEP) if report.prefix else "")
    print(f"{where}: {len(report.members)} files, {_human(unpacked)} "
          f"({_human(packed)} packed) in {_human(report.size)}")  # fmt: skip
    print(f"  ZIP64: {'yes' if report.zip64 else 'no'}; "
          f"prepended: {report.prepended} bytes"
          + (f" ({report.prepended_text!r})" if report.prepended_text else "")
          + f"; comment: {report.comment!r}")  # fmt: skip
    methods: dict[str, int] = {}
    for m in report.members:
        methods[m.method] = methods.get(m.method, 0) + 1
    print("  compression: " + ", ".join(f"{k} x{v}" for k, v in sorted(methods.items())))
    print("modules:")
    for mod in report.modules:
        depth = mod.name.count(".")
        label = mod.name.rpartition(".")[2] + ("/" if mod.kind != "module" else "")
        kinds = (("extension", mod.extension), ("source", mod.source), ("pyc", mod.pyc))
        files = "+".join(k for k, v in kinds if v) or "-"
        line = f"  {'  ' * depth}{label:<{max(1, 32 - 2 * depth)}} {mod.kind:<10} {files:<11}"
        if mod.pyc_status:
            line += f" pyc: {mod.pyc_status}"
        if mod.pycache:
            line += f" __pycache__: {', '.join(sorted(mod.pycache))}"
            if mod.pycache_status:
                line += f" ({mod.pycache_status})"
        if mod.note:
            line += f" {mod.note}"
        print(line.rstrip())
    if report.data_files:
        print(f"data files: {len(report.data_files)}")
        for name in report.data_files[: args.limit]:
            print(f"  {name}")
        if len(report.data_files) > args.limit:
            print(f"  ... and {len(report.data_files) - args.limit} more (--limit)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .inspection import Problem, Severity, open_archive, verify_index

    _check_archive(args.archive, nested=True)
    archive, prefix = args.archive, ""
    try:
        index, prefix = open_archive(args.archive)
    except ZipImportError as exc:  # verify's finding, not a usage error
        problems = [Problem("", str(exc))]
    else:
        archive = index.archive
        problems = verify_index(index, prefix)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    notes = [p for p in problems if p.severity is Severity.NOTE]
    failed = bool(errors) or (args.strict and len(problems) > len(notes))
    if args.json:
        report = {"archive": archive, "prefix": prefix, "ok": not failed}
        report["problems"] = [vars(p) for p in problems]
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        for p in problems:
            print(f"{p.severity}: {p.member or args.archive}: {p.problem}")
        print(f"{args.archive}: " + ("FAILED" if failed else "OK")
              + f" ({len(errors)} errors, {len(problems) - len(errors) - len(notes)} "
              "warnings)")  # fmt: skip
    return 1 if failed else 0


def _run(args: argparse.Namespace) -> int:
    from . import launch

    _check_archive(args.archive)
    from .importer import zipimporter

    target = args.module or "__main__"
    if not all(part.isidentifier() for part in target.split(".")):
        raise UserError(messages.NOT_A_MODULE_NAME.format(name=target))
    try:
        found = zipimporter(args.archive).find_spec(target.partition(".")[0])
    except ZipImportError as exc:
        raise UserError(str(exc)) from None
    if found is None:
        if args.module:
            raise UserError(messages.NO_MODULE.format(archive=args.archive, module=target))
        raise UserError(messages.NO_MAIN.format(archive=args.archive))
    try:
        launch.run(args.archive, args.args, module=args.module)
    except launch.NotRunnableError as exc:
        raise UserError(f"{args.archive}: {exc}") from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="zipimporter",
        description="Import Python code from ZIP archives: build, inspect, verify and run "
        "bundles with the importer that will load them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        required=True,
        help="what to do (COMMAND --help for more)",
    )

    demo = sub.add_parser(
        "demo",
        help="build the zipimport docs' example.zip in a temp dir and import from it",
        description="Build the zipimport docs' example archive in a temporary directory, "
        "import jwzthreading from it through zipimporter, and show __file__ and a "
        "traceback with the source line read from the archive.",
    )
    demo.set_defaults(func=_demo)

    build = sub.add_parser(
        "build",
        help="bundle directories and files into an archive made for importing",
        description="Bundle sources into an archive. A directory with __init__.py goes in "
        "as that package; any other directory is treated as a sys.path entry (its contents "
        "go to the archive root); a file goes to the root. Output is deterministic: sorted "
        "entries, fixed timestamps (1980-01-01 or SOURCE_DATE_EPOCH), explicit directory "
        "entries (so namespace packages import).",
    )
    build.add_argument("sources", nargs="+", metavar="SRC",
                       help="directories or files (symbolic links are followed)")  # fmt: skip
    build.add_argument("-o", "--output", required=True, metavar="PATH",
                       help="the archive to write: a new or regular file, replaced atomically "
                       "(a symbolic link is followed and its target replaced)")  # fmt: skip
    build.add_argument("--compression", default="deflated",
                       choices=["stored", "deflated", "bzip2", "lzma", "zstd"],
                       help="how files are compressed (default: %(default)s); the stdlib's "
                       "zipimport reads only stored and deflated archives, zipimporter "
                       "reads all five (zstd needs Python 3.14 or the 'zstd' extra, to "
                       "build and to read)")  # fmt: skip
    build.add_argument("--compile", action="store_true",
                       help="add a .pyc beside every .py, for the running Python")  # fmt: skip
    build.add_argument("--compile-python", metavar="PYTHON", action="append",
                       help="compile with this interpreter instead (the archive is then for "
                       "that Python version; others fall back to the sources); repeatable: "
                       "with several, each gets its own __pycache__ .pyc files")  # fmt: skip
    build.add_argument("--pycache", action="store_true",
                       help="put the .pyc files in __pycache__/NAME.CACHE_TAG.pyc (PEP 3147) "
                       "instead of beside the sources, for the running Python or each "
                       "--compile-python; zipimporter uses them, the stdlib's zipimport "
                       "doesn't")  # fmt: skip
    build.add_argument("--compress-pyc", action="store_true",
                       help="compress the compiled .pyc members too (by default they are "
                       "stored: an import then reads them with no inflate)")  # fmt: skip
    build.add_argument("--pyc-mode", default="unchecked-hash",
                       choices=["unchecked-hash", "checked-hash"],
                       help="hash-based pycs: 'checked' are validated against the source at "
                       "import (default: unchecked)")  # fmt: skip
    build.add_argument("--main", metavar="PKG.MOD:FUNC",
                       help="write a __main__.py that calls this function; the module must be "
                       "bundled and define it at its top level")  # fmt: skip
    build.add_argument("--python", metavar="INTERPRETER",
                       help="prepend '#!INTERPRETER' and make the archive executable, e.g. "
                       "'/usr/bin/env python3'")  # fmt: skip
    build.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                       help="leave out paths or path parts matching this glob (repeatable), "
                       "e.g. 'tests' or '*.md'")  # fmt: skip
    build.add_argument("--no-default-excludes", action="store_true",
                       help="also bundle what is left out by default: __pycache__, *.pyc, "
                       "*.pyo, .git, .hg, .svn, .tox, .nox, .venv, .mypy_cache, .pytest_cache, "
                       ".ruff_cache, and virtual environments (directories with a "
                       "pyvenv.cfg)")  # fmt: skip
    build.add_argument("--runtime", action=argparse.BooleanOptionalAction, default=None,
                       help="embed the zipimporter runtime, so that 'python ARCHIVE' imports "
                       "the app through zipimporter with nothing installed (default: when "
                       "the bundle is runnable; --no-runtime writes a plain zipapp)")  # fmt: skip
    build.set_defaults(func=_build)

    inspect = sub.add_parser(
        "inspect",
        help="show what the importer sees in an archive",
        description="Modules and packages as a tree, namespace portions, which modules have "
        "source and/or .pyc and what the running Python would use, compression and sizes, "
        "ZIP64, prepended data and comment.",
    )
    inspect.add_argument("archive", help="the archive to inspect: a file, or any path the "
                         "importer takes: an archive inside one (outer.zip/inner.whl, to any "
                         "depth), and a directory in it (app.zip/lib: what an import from that "
                         "path sees)")  # fmt: skip
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.add_argument("--limit", type=int, default=20, help="data files to list")
    inspect.set_defaults(func=_inspect)

    verify = sub.add_parser(
        "verify",
        help="check every member; non-zero exit on problems",
        description="Read every member (CRC-32, local header against the central "
        "directory), check each .pyc against the running Python and its source, and "
        "compile every source. Exit status 1 if anything is wrong.",
    )
    verify.add_argument("archive", help="the archive to check: a file, or any path the "
                        "importer takes: an archive inside one (outer.zip/inner.whl, to any "
                        "depth), and a directory in it (app.zip/lib: the members below "
                        "it)")  # fmt: skip
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.add_argument("--strict", action="store_true",
                        help="warnings (e.g. a .pyc for another Python) fail too")  # fmt: skip
    verify.set_defaults(func=_verify)

    run = sub.add_parser(
        "run",
        help="run an archive's __main__ (or -m module) with zipimporter installed",
        description="Run the archive as 'python ARCHIVE ARGS...' would, importing through "
        "zipimporter.",
    )
    run.add_argument("-m", dest="module", metavar="MODULE", help="run this module instead")
    run.add_argument("archive", help="the archive to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    run.set_defaults(func=_run)

    for name, func, summary in (
        ("enable", _enable, "make every interpreter of this environment import archives "
         "through zipimporter (a .pth file in site-packages)"),
        ("disable", _disable, "remove what 'enable' wrote"),
        ("status", _status, "say whether this environment is enabled, and where"),
    ):  # fmt: skip
        description = summary[0].upper() + summary[1:] + "."
        command = sub.add_parser(name, help=summary, description=description)
        if name != "status":
            command.add_argument(
                "--user", action="store_true", help="the user site instead of the environment's"
            )
        command.set_defaults(func=func)

    cache = sub.add_parser(
        "cache",
        help="show, prune or clear the on-disk caches",
        description="The on-disk caches (directory indexes, compiled-source packs, extracted "
        "extension modules, bundles stored for Dask workers, the children's activation shim) "
        "in $ZIPIMPORTER_CACHE_DIR, else $XDG_CACHE_HOME/zipimporter, else "
        "~/.cache/zipimporter. They are pruned to $ZIPIMPORTER_CACHE_MAX_SIZE (default 1 GiB), "
        "least recently used first, at most once a day; a bundle a running process holds is "
        "never removed.",
    )
    actions = cache.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="what to do (ACTION --help for more)"
    )
    cache_info = actions.add_parser(
        "info", help="sizes, entry counts and last use, by kind of cache",
        description="Sizes, entry counts and last use (oldest, newest) by kind of cache.",
    )  # fmt: skip
    cache_info.add_argument("--json", action="store_true", help="machine-readable output")
    cache_prune = actions.add_parser(
        "prune", help="remove the least recently used entries down to a size",
        description="Remove leftover temporary files, then the least recently used entries "
        "until the caches fit in SIZE.",
    )  # fmt: skip
    cache_prune.add_argument("--max-size", metavar="SIZE",
                             help="e.g. 500M, 2G, 1.5GiB, or 'none' (default: "
                             "$ZIPIMPORTER_CACHE_MAX_SIZE, else 1 GiB)")  # fmt: skip
    actions.add_parser(
        "clear", help="remove everything zipimporter keeps in the cache directory",
        description="Remove every cache entry; symbolic links are removed, never followed, "
        "and what is not zipimporter's is left alone.",
    )  # fmt: skip
    cache.set_defaults(func=_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        if args.command == "run":
            raise
        # The reader went away (``| head``): stop quietly, as cat does, and
        # keep the interpreter's final flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UserError, ZipImportError, OSError, ValueError) as exc:
        if args.command == "run" and not isinstance(exc, UserError):
            raise  # the program's own error: the interpreter reports it
        message = str(exc)
        if isinstance(exc, OSError) and exc.errno == errno.ENOENT and exc.filename:
            message = messages.NO_SUCH_FILE.format(path=exc.filename)
        elif isinstance(exc, OSError) and exc.strerror:
            message = exc.strerror + (f": {exc.filename}" if exc.filename else "")
        print(f"zipimporter {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

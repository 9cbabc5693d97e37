"""The command line, ``zipimporter build|inspect|verify|run|demo``: in-process and as a program."""

from __future__ import annotations

import argparse
import doctest
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import traceback
import zipfile
from collections.abc import Mapping
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

import zipimporter
from conftest import (
    SHEBANG,
    SRC,
    ZIP64_ENTRIES,
    Entry,
    dos_mtime,
    forget,
    import_fresh,
    make_zip,
    pyc,
    run_python,
    zip_bytes,
)
from zipimporter import bundle, inspection, messages, runtime
from zipimporter.cli import build_parser, main
from zipimporter.inspection import PycState, python_for_magic

CLI_MODULE = """\
import os
import sys


def main():
    print("argv0", os.path.basename(sys.argv[0]))
    print("args", sys.argv[1:])
    print("main", type(sys.modules["__main__"].__loader__).__module__)
    return 0
"""

PROJECT: dict[str, str | bytes] = {
    "mypkg/__init__.py": "VERSION = '1.0'\n",
    "mypkg/core.py": "def answer():\n    return 42\n",
    "mypkg/cli.py": CLI_MODULE,
    "mypkg/data.txt": "data\n",
    "mypkg/nsdir/portion.py": "NAME = 'portion'\n",
    "mypkg/tests/test_core.py": "def test_answer():\n    pass\n",
    "mypkg/__pycache__/core.cpython-311.pyc": b"not bytecode",
    "mypkg/stray.pyc": b"not bytecode either",
    "lib/helper.py": "HELP = 'helper'\n",
    "lib/extra/__init__.py": "EXTRA = True\n",
    "single.py": "SINGLE = 1\n",
}


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "proj", PROJECT)


@pytest.fixture(autouse=True)
def process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` sets sys.argv and (3.11/3.12) sys.excepthook: put them back after each test."""
    monkeypatch.setattr(sys, "argv", sys.argv[:])
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)


def cli(*args: str | Path) -> int:
    """``zipimporter ARGS`` in-process; the exit status, whether returned or raised."""
    try:
        return main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def cli_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict:
    capsys.readouterr()
    status = cli(*args, "--json")
    assert status in (0, 1)
    return json.loads(capsys.readouterr().out)


def python_m(
    *args: str | Path, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m zipimporter ARGS`` in a subprocess (a minute at most: nothing may hang)."""
    cache = os.environ["ZIPIMPORTER_CACHE_DIR"]  # conftest's cache_dir
    return run_python("-m", "zipimporter", *args, cache_dir=cache, env=env, timeout=60)


def names(archive: str | Path) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        return zf.namelist()


def rewrite(archive: Path, changes: Mapping[str, bytes]) -> None:
    """Replace members' data, keeping every other member (and its settings) as it was."""
    with zipfile.ZipFile(archive) as zf:
        items = [(info, changes.get(info.filename, zf.read(info))) for info in zf.infolist()]
    with zipfile.ZipFile(archive, "w") as zf:
        for info, data in items:
            zf.writestr(info, data)


def assert_one_line_error(status: int, err: str, command: str, fragment: str) -> None:
    """Exit status 2 and one line, ``zipimporter COMMAND: error: ...``, on stderr."""
    assert status == 2
    assert err.count("\n") == 1, err
    assert err.startswith(f"{f'zipimporter {command}'.rstrip()}: error: "), err
    assert fragment in err
    assert "Traceback" not in err


# -- build ------------------------------------------------------------------


def test_build_package(project, tmp_path, capsys):
    out = tmp_path / "pkg.zip"
    assert cli("build", project / "mypkg", "-o", out) == 0
    assert (
        capsys.readouterr().out
        == messages.BUILT.format(output=out, files=6, compiled=0, runtime="") + "\n"
    )
    assert names(out) == [
        "mypkg/",
        "mypkg/__init__.py",
        "mypkg/cli.py",
        "mypkg/core.py",
        "mypkg/data.txt",
        "mypkg/nsdir/",
        "mypkg/nsdir/portion.py",
        "mypkg/tests/",
        "mypkg/tests/test_core.py",
    ]
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.create_system for i in zf.infolist()} == {3}
        modes = {i.external_attr >> 16 for i in zf.infolist()}
        assert modes == {0o40755, 0o100644}
    sys.path.insert(0, str(out))
    try:
        portion = import_fresh("mypkg.nsdir.portion", ours=True)  # explicit directory entries
        assert portion.NAME == "portion"
        assert type(portion.__loader__) is zipimporter.zipimporter
        assert portion.__file__ == os.path.join(str(out), "mypkg", "nsdir", "portion.py")
    finally:
        # Not left to conftest's import_state: it may drop mypkg before looking
        # at the namespace package mypkg.nsdir, whose __path__ then can't be computed.
        forget("mypkg")


def test_build_plain_directory_is_a_path_entry(project, tmp_path):
    out = tmp_path / "lib.zip"
    assert cli("build", project / "lib", "-o", out) == 0
    assert names(out) == ["extra/", "extra/__init__.py", "helper.py"]
    sys.path.insert(0, str(out))
    assert import_fresh("helper", ours=True).HELP == "helper"
    assert import_fresh("extra", ours=True).EXTRA is True


def test_build_files_and_several_sources(project, tmp_path):
    out = tmp_path / "mixed.zip"
    assert cli("build", project / "single.py", project / "lib", project / "mypkg", "-o", out) == 0
    top = {n.split("/")[0] for n in names(out)}
    assert top == {"single.py", "helper.py", "extra", "mypkg"}
    sys.path.insert(0, str(out))
    assert import_fresh("single", ours=True).SINGLE == 1


def test_build_never_bundles_its_own_output(project, tmp_path):
    """Building into one of the sources twice gives the same archive, without itself in it."""
    lib = project / "lib"
    out = lib / "app.pyz"
    assert cli("build", lib, "-o", out) == 0
    first = out.read_bytes()
    assert cli("build", lib, "-o", out) == 0
    assert out.read_bytes() == first
    assert "app.pyz" not in names(out)


def test_compile_adds_pycs_the_importer_uses(project, tmp_path, capsys):
    out = tmp_path / "compiled.zip"
    assert cli("build", project / "mypkg", "-o", out, "--compile") == 0
    assert (
        capsys.readouterr().out
        == messages.BUILT.format(output=out, files=11, compiled=5, runtime="") + "\n"
    )
    assert {"mypkg/core.py", "mypkg/core.pyc", "mypkg/__init__.pyc"} <= set(names(out))
    sys.path.insert(0, str(out))
    core = import_fresh("mypkg.core", ours=True)
    assert core.__spec__.origin.endswith(os.path.join("mypkg", "core.pyc"))
    assert core.__file__ == core.__spec__.origin
    assert core.answer() == 42
    report = cli_json(capsys, "inspect", out)
    modules = {m["name"]: m for m in report["modules"]}
    assert modules["mypkg.core"]["uses"] == "pyc"
    assert modules["mypkg.core"]["pyc_status"] == messages.PYC_VALID.format(kind="unchecked hash")
    assert modules["mypkg.core"]["pyc_state"] == PycState.VALID
    assert modules["mypkg"]["pyc"] == "mypkg/__init__.pyc"


def test_checked_hash_pyc_is_not_used_once_the_source_changes(project, tmp_path, capsys):
    out = tmp_path / "checked.zip"
    assert (
        cli("build", project / "mypkg", "-o", out, "--compile", "--pyc-mode", "checked-hash") == 0
    )
    sys.path.insert(0, str(out))
    core = import_fresh("mypkg.core", ours=True)
    assert core.__file__.endswith("core.pyc")
    assert core.answer() == 42
    modules = {m["name"]: m for m in cli_json(capsys, "inspect", out)["modules"]}
    assert modules["mypkg.core"]["pyc_status"] == messages.PYC_VALID.format(kind="checked hash")

    # The same size and date: only the hash in the pyc can tell it is stale.
    rewrite(out, {"mypkg/core.py": b"def answer():\n    return 43\n"})
    core = import_fresh("mypkg.core", ours=True)
    assert core.__file__.endswith("core.py")
    assert core.answer() == 43
    modules = {m["name"]: m for m in cli_json(capsys, "inspect", out)["modules"]}
    stale = messages.PYC_STALE.format(kind="checked hash")
    assert modules["mypkg.core"]["pyc_status"] == stale
    assert modules["mypkg.core"]["pyc_state"] == PycState.STALE
    assert modules["mypkg.core"]["uses"] == "source"
    assert cli("verify", out) == 0  # a warning: the archive still works
    assert f"warning: mypkg/core.pyc: {stale}\n" in capsys.readouterr().out


def other_python() -> str | None:
    """A pyenv interpreter of another version than the running one (3.11-3.13 preferred)."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found: dict[tuple[int, int], str] = {}
    for path in sorted(root.glob("3.*/bin/python")):
        match = re.fullmatch(r"3\.(\d+)\.\d+", path.parent.parent.name)
        version = (3, int(match.group(1))) if match else None
        if version and version >= (3, 8) and version != sys.version_info[:2]:
            found[version] = str(path)
    if not found:
        return None
    here = sys.version_info[:2]
    version = min(found, key=lambda v: (not (3, 11) <= v <= (3, 13), abs(v[1] - here[1]), -v[1]))
    return found[version]


def test_compile_python_builds_for_another_version(project, tmp_path, capsys):
    python = other_python()
    if python is None:
        pytest.skip("no pyenv interpreter of another Python version on this machine")
    out = tmp_path / "other.zip"
    assert cli("build", project / "mypkg", "-o", out, "--compile-python", python) == 0
    magic, version = subprocess.run(
        [python, "-c", "import importlib.util, sys; "
         "print(importlib.util.MAGIC_NUMBER.hex(), '%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        assert zf.read("mypkg/core.pyc")[:4].hex() == magic != MAGIC_NUMBER.hex()

    # Valid for that version: its own zipimport uses them.
    there = subprocess.run(
        [python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import mypkg.core as m; "
         "print(m.__file__, m.answer())", str(out)],
        capture_output=True, text=True, check=True, env={"PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    assert there.stdout.split() == [os.path.join(str(out), "mypkg", "core.pyc"), "42"]

    # The running Python falls back to the sources.
    sys.path.insert(0, str(out))
    core = import_fresh("mypkg.core", ours=True)
    assert core.__file__.endswith("core.py")
    assert core.answer() == 42
    modules = {m["name"]: m for m in cli_json(capsys, "inspect", out)["modules"]}
    number = int.from_bytes(bytes.fromhex(magic)[:2], "little")
    python_there = messages.PYTHON_VERSION.format(version=version, number=number)
    assert modules["mypkg.core"]["pyc_status"] == messages.PYC_FOREIGN.format(
        python=python_there, fallback=messages.SOURCE_USED
    )
    assert modules["mypkg.core"]["pyc_state"] == PycState.FOREIGN
    assert modules["mypkg.core"]["uses"] == "source"


def test_compile_python_that_fails_is_a_user_error(project, tmp_path, capsys):
    bogus = tmp_path / "not-python"
    bogus.write_text("#!/bin/sh\necho 'no such interpreter' >&2\nexit 3\n")
    bogus.chmod(0o755)
    status = cli("build", project / "lib", "-o", tmp_path / "x.zip", "--compile-python", bogus)
    failed = messages.COMPILE_PYTHON_FAILED.format(python=bogus, error="no such interpreter")
    assert_one_line_error(status, capsys.readouterr().err, "build", failed)
    status = cli("build", project / "lib", "-o", tmp_path / "x.zip", "--compile-python", tmp_path)
    assert_one_line_error(
        status, capsys.readouterr().err, "build", messages.COMPILE_PYTHON_FAILED.split("{")[0]
    )
    assert not (tmp_path / "x.zip").exists()
    assert sorted(os.listdir(tmp_path)) == ["not-python", "proj"]  # no temporary files either


@pytest.mark.parametrize("here", [True, False], ids=["compile", "compile-python"])
def test_compile_of_a_broken_source_is_a_user_error(tmp_path, capsys, here):
    write_tree(tmp_path / "src", {"fine.py": "x = 1\n", "broken.py": "def broken(:\n"})
    args = ["--compile"] if here else ["--compile-python", sys.executable]
    status = cli("build", tmp_path / "src", "-o", tmp_path / "x.zip", *args)
    err = capsys.readouterr().err
    assert_one_line_error(
        status, err, "build", "broken.py: " + messages.DOES_NOT_COMPILE.format(error="")
    )
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.parametrize("compression", ["stored", "deflated", "bzip2", "lzma", "zstd"])
def test_every_compression(project, tmp_path, capsys, compression):
    out = tmp_path / f"{compression}.zip"
    assert cli("build", project / "mypkg", "-o", out, "--compression", compression) == 0
    with zipfile.ZipFile(out) as zf:
        if compression != "zstd":  # zipfile reads zstd only from 3.14
            assert zf.testzip() is None
        files = [i for i in zf.infolist() if not i.is_dir()]
        assert {i.compress_type for i in files} == {bundle.COMPRESSION[compression]}
    errors = [p for p in inspection.verify_archive(str(out)) if p.severity == "error"]
    assert errors == []
    report = cli_json(capsys, "inspect", out)
    assert {m["method"] for m in report["members"]} == {compression}
    sys.path.insert(0, str(out))
    assert import_fresh("mypkg.core", ours=True).answer() == 42


def test_build_is_deterministic(project, tmp_path, monkeypatch):
    def build(name: str, *options: str) -> bytes:
        out = tmp_path / name
        assert cli("build", project / "mypkg", project / "lib", "-o", out, *options) == 0
        return out.read_bytes()

    plain, compiled = build("a.zip"), build("a.pyz", "--compile")
    assert build("b.zip") == plain
    assert build("b.pyz", "--compile") == compiled
    # Other mtimes and permissions of the sources change nothing.
    for path in project.rglob("*"):
        os.utime(path, (1_234_567_890, 1_234_567_890))
        if path.is_file():
            path.chmod(0o600)
    assert build("c.zip") == plain
    assert build("c.pyz", "--compile") == compiled

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    dated = build("d.zip")
    assert dated != plain
    assert build("e.zip") == dated
    with zipfile.ZipFile(tmp_path / "d.zip") as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # before 1980: ZIP's earliest date instead
    assert build("f.zip") == plain


def test_main_and_python_make_an_executable_archive(project, tmp_path, capsys):
    app = tmp_path / "app.pyz"
    args = ["build", project / "mypkg", "-o", app, "--compile"]
    assert cli(*args, "--main", "mypkg.cli:main", "--python", "/usr/bin/env python3") == 0
    assert app.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert stat.S_IMODE(app.stat().st_mode) == 0o755
    with zipfile.ZipFile(app) as zf:
        generated = zf.read("_zipimporter_main/__main__.py").decode()
        assert zf.read("__main__.py").decode() == runtime.STUB_SOURCE
    assert generated.endswith("from mypkg.cli import main\n\nsys.exit(main())\n")
    expected = "argv0 app.pyz\nargs ['one', '--two']\n"

    plain = subprocess.run(
        [sys.executable, str(app), "one", "--two"], capture_output=True, text=True, check=True
    )
    assert plain.stdout == expected + f"main {runtime.RUNTIME_PACKAGE}.importer\n"
    if shutil.which("python3"):  # through the '#!' line
        direct = subprocess.run(
            [str(app), "one", "--two"], capture_output=True, text=True, check=True
        )
        assert direct.stdout.startswith(expected)

    ran = python_m("run", app, "one", "--two")
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == expected + "main zipimporter.importer\n"

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["run", str(app), "one", "--two"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == expected + "main zipimporter.importer\n"


def test_main_must_be_a_function_reference(project, tmp_path, capsys):
    out = tmp_path / "bad.pyz"
    for bad in ("mypkg.cli", "mypkg.cli:", ":main", "my-pkg.cli:main", "mypkg.cli:ma.in"):
        status = cli("build", project / "mypkg", "-o", out, "--main", bad)
        expected = messages.MAIN_SYNTAX.format(entry=bad)
        assert_one_line_error(status, capsys.readouterr().err, "build", expected)
    (project / "lib" / "__main__.py").write_text("pass\n")
    status = cli("build", project / "lib", "-o", out, "--main", "helper:HELP")
    assert_one_line_error(status, capsys.readouterr().err, "build", messages.MAIN_EXISTS)
    assert not out.exists()


def test_excludes(project, tmp_path):
    def built(*options: str) -> set[str]:
        out = tmp_path / "ex.zip"
        assert cli("build", project / "mypkg", "-o", out, *options) == 0
        return set(names(out))

    default = built()
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in default)
    assert "mypkg/tests/test_core.py" in default
    no_tests = built("--exclude", "tests")
    assert not any(n.startswith("mypkg/tests") for n in no_tests)
    assert no_tests == default - {"mypkg/tests/", "mypkg/tests/test_core.py"}
    assert "mypkg/data.txt" not in built("--exclude", "tests", "--exclude", "*.txt")
    everything = built("--no-default-excludes")
    assert {"mypkg/__pycache__/core.cpython-311.pyc", "mypkg/stray.pyc"} <= everything


def test_duplicate_archive_names(tmp_path, capsys):
    write_tree(tmp_path, {"one/m.py": "x = 1\n", "two/m.py": "x = 2\n"})
    status = cli("build", tmp_path / "one", tmp_path / "two", "-o", tmp_path / "dup.zip")
    err = capsys.readouterr().err
    expected = messages.DUPLICATE_NAME.format(
        name="m.py", first=tmp_path / "one" / "m.py", second=tmp_path / "two" / "m.py"
    )
    assert_one_line_error(status, err, "build", expected)
    assert not (tmp_path / "dup.zip").exists()


# -- build: where the archive goes ------------------------------------------


def special_file(tmp_path: Path, kind: str) -> Path:
    """A file of *kind* at tmp_path/kind (a device is our own node for /dev/null's)."""
    path = tmp_path / kind
    if kind == "character device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            return Path(os.devnull)  # not root: can't be replaced anyway
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
        (path / "keep.txt").write_text("kept\n")
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
    return path


def identity(path: Path) -> tuple[int, int, int, int]:
    st = os.lstat(path)
    return (st.st_mode, st.st_ino, st.st_rdev, st.st_size)


SPECIAL = ["character device", "FIFO", "directory", "socket"]


@pytest.mark.parametrize("via_link", [False, True], ids=["direct", "symlink"])
@pytest.mark.parametrize("kind", SPECIAL)
def test_build_refuses_to_replace_what_is_not_a_regular_file(project, tmp_path, kind, via_link):
    """-o /dev/null, a FIFO, a directory or a socket (or a link to one) is left alone.

    In a subprocess: writing into a FIFO would block, and must not hang the suite.
    """
    target = special_file(tmp_path, kind)
    output = target
    if via_link:
        output = tmp_path / "link.zip"
        output.symlink_to(target)
    before = identity(target), sorted(os.listdir(tmp_path))
    proc = python_m("build", project / "lib", "-o", output)
    shown = f"{output} -> {target}" if via_link else str(output)
    expected = messages.NOT_A_REGULAR_OUTPUT.format(kind=kind, path=shown)
    assert proc.stderr == f"zipimporter build: error: {expected}\n"
    assert (proc.returncode, proc.stdout) == (2, "")
    assert (identity(target), sorted(os.listdir(tmp_path))) == before
    if via_link:
        assert os.readlink(output) == str(target)


def test_build_refuses_dev_null(project, tmp_path):
    """The real /dev/null, the case that was reported (as root, build deleted it).

    Only once a device of our own has survived: a regression must not take
    the machine's /dev/null with it.
    """
    own = special_file(tmp_path, "character device")
    if own != Path(os.devnull):
        before = identity(own)
        assert cli("build", project / "lib", "-o", own) == 2
        assert identity(own) == before, "a device was replaced: not trying /dev/null"
    before = identity(Path(os.devnull))
    assert cli("build", project / "lib", "-o", os.devnull) == 2
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert identity(Path(os.devnull)) == before


def test_build_writes_through_a_symlink(project, tmp_path):
    """Like a shell's '>': the link stays, the file it points to gets the archive."""
    real = tmp_path / "real" / "app.zip"
    real.parent.mkdir()
    real.write_bytes(b"the previous build")
    link = tmp_path / "links" / "app.zip"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(real, link.parent))
    chain = tmp_path / "chain.zip"  # a link to the link
    chain.symlink_to(link)
    assert cli("build", project / "lib", "-o", chain) == 0
    assert chain.is_symlink() and os.readlink(chain) == str(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "app.zip")
    assert names(real) == ["extra/", "extra/__init__.py", "helper.py"]
    # The temporary file was beside the target, and is gone.
    assert os.listdir(real.parent) == ["app.zip"]
    assert os.listdir(link.parent) == ["app.zip"]


def test_build_through_a_dangling_symlink_creates_its_target(project, tmp_path, capsys):
    link = tmp_path / "app.zip"
    link.symlink_to("made/by/build.zip")
    (tmp_path / "made" / "by").mkdir(parents=True)
    assert cli("build", project / "lib", "-o", link) == 0
    assert link.is_symlink()
    assert names(tmp_path / "made" / "by" / "build.zip") == names(link)

    nowhere = tmp_path / "nowhere.zip"  # a link into a directory that does not exist
    nowhere.symlink_to("no/such/dir/x.zip")
    status = cli("build", project / "lib", "-o", nowhere)
    expected = messages.NO_SUCH_FILE.format(path=tmp_path / "no" / "such" / "dir" / "x.zip")
    assert_one_line_error(status, capsys.readouterr().err, "build", expected)


def test_build_never_writes_through_a_planted_temporary_file(project, tmp_path):
    """Whatever is already at the temporary name is neither written through nor removed."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "app.zip"
    planted = tmp_path / f"app.zip.{os.getpid()}.tmp"
    planted.symlink_to(victim)
    assert cli("build", project / "lib", "-o", out) == 0
    assert names(out) == ["extra/", "extra/__init__.py", "helper.py"]
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink()
    assert sorted(os.listdir(tmp_path)) == sorted(["app.zip", planted.name, "proj", "victim.txt"])


# -- build: --main is checked -------------------------------------------------

ENTRY_POINTS_OK = {
    "def": "def main():\n    return 0\n",
    "async-def": "async def main():\n    pass\n",
    "class": "class main:\n    pass\n",
    "assignment": "def run():\n    return 0\n\nmain = run\n",
    "unpacking": "(main, other), *rest = (len, len), 1\n",
    "annotated": "main: object = print\n",
    "import-as": "from os import getpid as main\n",
    "import-module": "import main\n",
    "conditional": "import sys\nif sys.platform:\n    def main(): pass\nelse:\n    main = None\n",
    "try": "try:\n    from _nothere import main\nexcept ImportError:\n    def main(): pass\n",
    "for-target": "for main in [print]:\n    pass\n",
    "with-target": "import contextlib\nwith contextlib.nullcontext(print) as main:\n    pass\n",
    "walrus": "if (main := print):\n    pass\n",
    "walrus-in-comprehension": "[(main := f) for f in [print]]\n",
    "global": "def setup():\n    global main\n    main = print\n\nsetup()\n",
    "star-import": "from os.path import *\n",
    "module-getattr": "def __getattr__(name):\n    return print\n",
    "match-capture": "match [print]:\n    case [main]:\n        pass\n",
    "decorated": "import functools\n@functools.cache\ndef main(): pass\n",
}


@pytest.mark.parametrize("case", ENTRY_POINTS_OK)
def test_main_accepts_names_the_module_binds(tmp_path, case):
    write_tree(tmp_path / "src", {"app/__init__.py": "", "app/cli.py": ENTRY_POINTS_OK[case]})
    assert cli("build", tmp_path / "src", "-o", tmp_path / "ok.pyz", "--main", "app.cli:main") == 0


def test_main_in_a_package_init_or_a_namespace_portion(tmp_path):
    write_tree(
        tmp_path / "src",
        {"app/__init__.py": "def main(): pass\n", "ns/tool.py": "def main(): pass\n"},
    )
    for entry in ("app:main", "ns.tool:main"):
        assert cli("build", tmp_path / "src", "-o", tmp_path / "ok.pyz", "--main", entry) == 0


def test_main_accepts_a_compiled_only_module(tmp_path):
    """A .pyc without its source can't be read here: it is taken on trust."""
    write_tree(tmp_path / "src", {"tool.pyc": pyc("def main(): pass\n")})
    out = tmp_path / "ok.pyz"
    assert (
        cli("build", tmp_path / "src", "-o", out, "--no-default-excludes", "--main", "tool:main")
        == 0
    )
    assert "__main__.py" in names(out)


ENTRY_POINTS_BAD = {
    # entry: (files, message)
    "no-module": (
        {"app/__init__.py": ""},
        "app.cli:main",
        lambda e: messages.ENTRY_POINT_NO_MODULE.format(
            entry=e, module="app.cli", candidates="app/cli.py or app/cli/__init__.py"
        ),
    ),
    "stdlib-module": (
        {"app/__init__.py": ""},
        "json.tool:main",
        lambda e: messages.ENTRY_POINT_NO_MODULE.format(
            entry=e, module="json.tool", candidates="json/tool.py or json/tool/__init__.py"
        ),
    ),
    "no-function": (
        {"app/cli.py": "def mian():\n    pass\n"},
        "app.cli:main",
        lambda e: messages.ENTRY_POINT_NO_NAME.format(entry=e, member="app/cli.py", name="main"),
    ),
    "only-local": (
        {"app/cli.py": "def run():\n    main = 1\n\nclass C:\n    main = 2\n"},
        "app.cli:main",
        lambda e: messages.ENTRY_POINT_NO_NAME.format(entry=e, member="app/cli.py", name="main"),
    ),
    "only-in-comprehension": (
        {"app/cli.py": "x = [main for main in range(3)]\n"},
        "app.cli:main",
        lambda e: messages.ENTRY_POINT_NO_NAME.format(entry=e, member="app/cli.py", name="main"),
    ),
    "submodule-not-function": (
        {"app/__init__.py": "", "app/main.py": "x = 1\n"},
        "app:main",
        lambda e: messages.ENTRY_POINT_NO_NAME.format(
            entry=e, member="app/__init__.py", name="main"
        ),
    ),
    "excluded-module": (
        {"app/__init__.py": "", "app/tests/cli.py": "def main(): pass\n"},
        "app.tests.cli:main",
        lambda e: messages.ENTRY_POINT_NO_MODULE.format(
            entry=e,
            module="app.tests.cli",
            candidates="app/tests/cli.py or app/tests/cli/__init__.py",
        ),
    ),
    "does-not-compile": (
        {"app/cli.py": "def main(:\n"},
        "app.cli:main",
        lambda e: "app/cli.py: " + messages.DOES_NOT_COMPILE.format(error=""),
    ),
}


@pytest.mark.parametrize("case", ENTRY_POINTS_BAD)
def test_main_that_is_not_there_is_an_error(tmp_path, capsys, case):
    files, entry, message = ENTRY_POINTS_BAD[case]
    write_tree(tmp_path / "src", files)
    out = tmp_path / "bad.pyz"
    status = cli("build", tmp_path / "src", "-o", out, "--main", entry, "--exclude", "tests")
    assert_one_line_error(status, capsys.readouterr().err, "build", message(entry))
    assert not out.exists()


# -- build: symbolic links in sources ---------------------------------------


def test_build_follows_symlinked_directories_and_files(tmp_path):
    shared = write_tree(
        tmp_path / "shared",
        {"sub/__init__.py": "WHERE = 'shared'\n", "sub/leaf.py": "LEAF = 1\n", "mod.py": "M = 1\n"},
    )
    app = write_tree(tmp_path / "src", {"app/__init__.py": ""}) / "app"
    (app / "linked").symlink_to(shared / "sub")  # a symlinked subpackage
    (app / "twice").symlink_to(shared / "sub")  # the same directory again: not a cycle
    (app / "alias.py").symlink_to(shared / "mod.py")  # a symlinked file: its content
    out = tmp_path / "linked.zip"
    assert cli("build", app, "-o", out) == 0
    assert names(out) == [
        "app/",
        "app/__init__.py",
        "app/alias.py",
        "app/linked/",
        "app/linked/__init__.py",
        "app/linked/leaf.py",
        "app/twice/",
        "app/twice/__init__.py",
        "app/twice/leaf.py",
    ]
    with zipfile.ZipFile(out) as zf:
        assert zf.read("app/alias.py") == b"M = 1\n"
        assert {i.external_attr >> 16 for i in zf.infolist()} == {0o40755, 0o100644}
    sys.path.insert(0, str(out))
    assert import_fresh("app.linked.leaf", ours=True).LEAF == 1

    # A source that is itself a link goes in under the link's name.
    (tmp_path / "pkg").symlink_to(app)
    assert cli("build", tmp_path / "pkg", "-o", out) == 0
    assert "pkg/linked/leaf.py" in names(out)


@pytest.mark.parametrize("target", [".", "..", "../.."])
def test_build_symlink_cycle_is_an_error(tmp_path, capsys, target):
    src = write_tree(tmp_path / "src", {"app/__init__.py": "", "app/sub/mod.py": "x = 1\n"})
    link = src / "app" / "sub" / "loop"
    link.symlink_to(target)
    out = tmp_path / "loop.zip"
    status = cli("build", src, "-o", out)
    looped = Path(os.path.normpath(link.parent / target))
    expected = messages.LINK_CYCLE.format(path=link, target=looped)
    assert_one_line_error(status, capsys.readouterr().err, "build", expected)
    assert not out.exists()
    # What --exclude leaves out is never followed.
    assert cli("build", src, "-o", out, "--exclude", "loop") == 0
    assert "app/sub/mod.py" in names(out)


def test_build_broken_symlink_is_an_error(tmp_path, capsys):
    src = write_tree(tmp_path / "src", {"mod.py": "x = 1\n"})
    (src / "gone.py").symlink_to("nothere.py")
    out = tmp_path / "broken.zip"
    status = cli("build", src, "-o", out)
    expected = messages.BROKEN_LINK.format(path=src / "gone.py")
    assert_one_line_error(status, capsys.readouterr().err, "build", expected)
    assert cli("build", src, "-o", out, "--exclude", "gone.py") == 0
    assert names(out) == ["mod.py"]
    # A broken link given as the source itself.
    (tmp_path / "dangling").symlink_to("nothere")
    status = cli("build", tmp_path / "dangling", "-o", out)
    expected = messages.BROKEN_LINK.format(path=tmp_path / "dangling")
    assert_one_line_error(status, capsys.readouterr().err, "build", expected)


def test_build_fifo_in_sources_is_an_error(tmp_path):
    """Reading a FIFO would block: it is refused (in a subprocess, so nothing can hang)."""
    src = write_tree(tmp_path / "src", {"mod.py": "x = 1\n"})
    os.mkfifo(src / "pipe")
    proc = python_m("build", src, "-o", tmp_path / "x.zip")
    expected = messages.NOT_A_REGULAR_FILE.format(kind="FIFO", path=src / "pipe")
    assert_one_line_error(proc.returncode, proc.stderr, "build", expected)
    assert not (tmp_path / "x.zip").exists()


# -- build: virtual environments --------------------------------------------


def make_venv(path: Path) -> Path:
    """The files of a virtual environment that matter here (python is a link)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    write_tree(
        path,
        {
            "pyvenv.cfg": "home = /usr/bin\n",
            f"lib/{version}/site-packages/dep.py": "DEP = 1\n",
            "bin/activate": "# activate\n",
            "fake-python": "#!/bin/sh\n",
        },
    )
    (path / "bin" / "python").symlink_to("../fake-python")
    return path


def test_build_leaves_out_virtual_environments(tmp_path, capsys):
    src = write_tree(tmp_path / "src", {"app/__init__.py": "", "tool.py": "x = 1\n"})
    for name in ("venv", "env-3.11", "app/.venv"):
        make_venv(src / name)
    out = tmp_path / "app.zip"
    assert cli("build", src, "-o", out) == 0
    assert names(out) == ["app/", "app/__init__.py", "tool.py"]
    captured = capsys.readouterr()
    # Said, not silent (.venv is one of the default patterns: no note).
    notes = [messages.ENVIRONMENT_LEFT_OUT.format(path=p) for p in ("env-3.11/", "venv/")]
    assert captured.err == "".join(f"zipimporter build: note: {n}\n" for n in notes)

    assert cli("build", src, "-o", out, "--no-default-excludes") == 0
    everything = names(out)
    for name in ("venv", "env-3.11", "app/.venv"):
        assert f"{name}/pyvenv.cfg" in everything
        assert f"{name}/bin/python" in everything
    assert capsys.readouterr().err == ""

    # A virtual environment named as a source is bundled: it was asked for.
    assert cli("build", src / "venv", "-o", out) == 0
    assert "pyvenv.cfg" in names(out)


def test_build_api_environment_switch(tmp_path):
    src = write_tree(tmp_path / "src", {"tool.py": "x = 1\n"})
    make_venv(src / "venv")
    result = bundle.build([str(src)], str(tmp_path / "a.zip"))
    assert (result.files, result.skipped) == (1, ["venv/"])
    result = bundle.build([str(src)], str(tmp_path / "b.zip"), skip_environments=False)
    assert (result.files, result.skipped) == (6, [])


# -- build: determinism across processes ------------------------------------

HASH_SENSITIVE = {
    # Sets and dicts of strings: iteration order depends on PYTHONHASHSEED,
    # and set literals in 'in' tests are compiled to frozenset constants.
    "pkg/__init__.py": "NAMES = {'alpha', 'beta', 'gamma', 'delta'}\n",
    "pkg/mod.py": (
        "def pick(x):\n"
        "    if x in {'one', 'two', 'three', 'four', 'five'}:\n"
        "        return {k: len(k) for k in {'a', 'bb', 'ccc'}}\n"
        "    return frozenset(['x', 'y', 'z'])\n"
    ),
    "pkg/data.json": '{"b": 1, "a": 2}\n',
}


@pytest.mark.parametrize(
    "options", [[], ["--compile"], ["--compile", "--pyc-mode", "checked-hash"]]
)
def test_build_is_deterministic_across_processes(tmp_path, options):
    src = write_tree(tmp_path / "src", HASH_SENSITIVE)
    built = []
    for seed in ("0", "1", "4242"):
        out = tmp_path / f"seed{seed}.zip"
        proc = python_m("build", src / "pkg", "-o", out, *options, env={"PYTHONHASHSEED": seed})
        assert (proc.returncode, proc.stderr) == (0, "")
        built.append(out.read_bytes())
    assert built[0] == built[1] == built[2]
    if options:
        with zipfile.ZipFile(tmp_path / "seed0.zip") as zf:
            assert "pkg/mod.pyc" in zf.namelist()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_progress_only_on_a_tty(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert bundle.terminal_progress() is None

    fake = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    show = bundle.terminal_progress()
    assert show is not None
    show(1, 120, "first.py")
    assert fake.getvalue() == ""  # every 50th and the last only
    show(50, 120, "pkg/fiftieth.py")
    assert fake.getvalue() == "\r[50/120] " + "pkg/fiftieth.py".ljust(60)
    show(120, 120, "last.py")
    assert fake.getvalue().endswith("\r[120/120] " + "last.py".ljust(60) + "\n")


def test_build_shows_progress_on_a_tty_only(project, tmp_path, capsys, monkeypatch):
    assert cli("build", project / "mypkg", "-o", tmp_path / "quiet.zip") == 0
    assert capsys.readouterr().err == ""  # captured: not a terminal
    fake = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    assert cli("build", project / "mypkg", "-o", tmp_path / "shown.zip") == 0
    total = len(names(tmp_path / "shown.zip"))
    assert fake.getvalue().startswith(f"\r[{total}/{total}] ")
    assert fake.getvalue().endswith("\n")


# -- inspect ----------------------------------------------------------------

SOURCE = "value = 1\n"
#: Python 3.6's magic number: no Python this runs on.
MAGIC_36 = (3379).to_bytes(2, "little") + b"\r\n"
#: Nobody's magic number.
MAGIC_NONE = b"\x00\x00\r\n"
FOREIGN_36 = messages.PYC_FOREIGN.format(
    python=messages.PYTHON_VERSION.format(version="3.6", number=3379),
    fallback=messages.SOURCE_USED,
)
FOREIGN_NONE = messages.PYC_FOREIGN.format(
    python=messages.PYTHON_UNKNOWN.format(magic="00000d0a"), fallback=messages.NO_SOURCE
)

INSPECTED = {
    "__main__.py": "import app\n",
    "app/": b"",
    "app/__init__.py": "",
    "app/timed.py": SOURCE,
    "app/timed.pyc": pyc(SOURCE, mtime=dos_mtime(), size=len(SOURCE)),
    "app/stale.py": SOURCE,
    "app/stale.pyc": pyc(SOURCE, mtime=dos_mtime() - 3600, size=len(SOURCE)),
    "app/foreign.py": SOURCE,
    "app/foreign.pyc": pyc(SOURCE, magic=MAGIC_36),
    "app/orphan.pyc": pyc(SOURCE, magic=MAGIC_NONE),
    "app/onlypyc.pyc": pyc(SOURCE, kind="unchecked"),
    "app/ns/": b"",
    "app/ns/leaf.py": SOURCE,
    "app/data.json": "{}",
    "nodir/inside.py": SOURCE,
}


@pytest.fixture
def inspected(tmp_path: Path) -> str:
    return make_zip(
        tmp_path / "inspected.pyz",
        INSPECTED,
        compression=zipfile.ZIP_DEFLATED,
        prepend=SHEBANG,
        comment=b"made for the tests",
    )


def rows(text: str) -> dict[str, list[str]]:
    """The module tree's lines, by (unique) label: the columns after it."""
    tree = text.split("modules:\n", 1)[1].split("data files:", 1)[0]
    return {line.split()[0]: line.split()[1:] for line in tree.splitlines()}


def test_inspect_text(inspected, capsys):
    assert cli("inspect", inspected) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[:3]
    assert head[0].startswith(f"{inspected}: 13 files, ")
    assert head[1] == (
        "  ZIP64: no; prepended: 23 bytes ('#!/usr/bin/env python3'); comment: 'made for the tests'"
    )
    assert head[2] == "  compression: deflated x13"
    tree = {label: " ".join(columns) for label, columns in rows(out).items()}
    assert tree["__main__"] == "module source"
    assert tree["app/"] == "package source"
    assert tree["timed"] == "module source+pyc pyc: " + messages.PYC_VALID.format(kind="timestamp")
    stale = messages.PYC_STALE.format(kind="timestamp")
    assert tree["stale"] == f"module source+pyc pyc: {stale}"
    assert tree["foreign"] == f"module source+pyc pyc: {FOREIGN_36}"
    assert tree["orphan"] == f"module pyc pyc: {FOREIGN_NONE}"
    valid = messages.PYC_VALID.format(kind="unchecked hash")
    assert tree["onlypyc"] == f"module pyc pyc: {valid}"
    assert tree["ns/"] == "namespace -"
    assert tree["nodir/"] == f"namespace - {messages.NO_DIRECTORY_ENTRY}"
    assert out.endswith("data files: 1\n  app/data.json\n")
    # The tree is indented by package depth.
    assert re.search(r"^  app/ +package", out, re.M)
    assert re.search(r"^    timed +module", out, re.M)
    assert re.search(r"^      leaf +module", out, re.M)


def test_inspect_json(inspected, capsys):
    report = cli_json(capsys, "inspect", inspected)
    assert report["archive"] == inspected
    assert report["size"] == os.path.getsize(inspected)
    assert (report["zip64"], report["prepended"]) == (False, len(SHEBANG))
    assert report["prepended_text"] == "#!/usr/bin/env python3"
    assert report["comment"] == "made for the tests"
    with zipfile.ZipFile(inspected) as zf:
        expected = [
            {
                "name": i.filename,
                "method": "deflated",
                "compressed_size": i.compress_size,
                "file_size": i.file_size,
            }
            for i in sorted(zf.infolist(), key=lambda i: i.filename)
            if not i.is_dir()
        ]
    assert report["members"] == expected
    modules = {m["name"]: m for m in report["modules"]}
    assert list(modules) == sorted(modules)
    assert modules["app"] == {
        "name": "app", "kind": "package", "source": "app/__init__.py", "pyc": None,
        "pyc_status": None, "uses": "source", "pyc_state": None, "importable": True,
        "note": None, "extension": None, "foreign_extensions": [],
        "pycache": {}, "pycache_status": None, "pycache_state": None,
    }  # fmt: skip
    assert modules["app.ns"] == {
        "name": "app.ns", "kind": "namespace", "source": None, "pyc": None,
        "pyc_status": None, "uses": None, "pyc_state": None, "importable": True, "note": None,
        "extension": None, "foreign_extensions": [],
        "pycache": {}, "pycache_status": None, "pycache_state": None,
    }  # fmt: skip
    assert modules["app.ns.leaf"]["uses"] == "source"
    assert modules["nodir"] == {
        "name": "nodir", "kind": "namespace", "source": None, "pyc": None,
        "pyc_status": None, "uses": None, "pyc_state": None, "importable": True,
        "note": messages.NO_DIRECTORY_ENTRY, "extension": None, "foreign_extensions": [],
        "pycache": {}, "pycache_status": None, "pycache_state": None,
    }  # fmt: skip
    verdicts = {
        name: (m["pyc_state"], m["uses"], m["importable"])
        for name, m in modules.items()
        if m["pyc"] is not None
    }
    assert verdicts == {
        "app.timed": ("valid", "pyc", True),
        "app.stale": ("stale", "source", True),
        "app.foreign": ("foreign", "source", True),
        "app.orphan": ("foreign", None, False),
        "app.onlypyc": ("valid", "pyc", True),
    }
    assert modules["app.foreign"]["pyc_status"] == FOREIGN_36
    assert modules["app.orphan"]["pyc_status"] == FOREIGN_NONE
    assert report["data_files"] == ["app/data.json"]


def test_inspect_agrees_with_the_importer(inspected):
    """What inspect says a module uses is what the importer loads; namespace verdicts too."""
    sys.path.insert(0, inspected)
    for name, suffix in (("timed", ".pyc"), ("stale", ".py"), ("foreign", ".py")):
        module = import_fresh(f"app.{name}", ours=True)
        assert module.__file__ == os.path.join(inspected, "app", name + suffix)
    with zipimporter.install(), pytest.raises(ImportError):
        import_fresh("app.orphan", ours=True)
    # A directory without an entry is an implicit namespace portion (as on 3.14).
    assert import_fresh("nodir.inside", ours=True).__file__ == os.path.join(
        inspected, "nodir", "inside.py"
    )


#: The last magic number of each version's final releases, from CPython's list
#: (Lib/importlib/_bootstrap_external.py; Include/internal/pycore_magic_number.h
#: from 3.14), and the first of each version's alphas.
FINAL_MAGIC = {
    "2.7": 62211, "3.0": 3131, "3.1": 3151, "3.2": 3180, "3.3": 3230, "3.4": 3310,
    "3.5": 3351, "3.6": 3379, "3.7": 3394, "3.8": 3413, "3.9": 3425, "3.10": 3439,
    "3.11": 3495, "3.12": 3531, "3.13": 3571, "3.14": 3627,
}  # fmt: skip
FIRST_MAGIC = {
    "2.7": 62171, "3.0": 3000, "3.1": 3141, "3.2": 3160, "3.3": 3190, "3.4": 3250,
    "3.5": 3320, "3.6": 3360, "3.7": 3390, "3.8": 3400, "3.9": 3420, "3.10": 3430,
    "3.11": 3450, "3.12": 3500, "3.13": 3550, "3.14": 3600,
}  # fmt: skip


def magic_bytes(number: int) -> bytes:
    return number.to_bytes(2, "little") + b"\r\n"


def test_magic_numbers_name_their_python():
    for table in (FINAL_MAGIC, FIRST_MAGIC):
        for version, number in table.items():
            expected = messages.PYTHON_VERSION.format(version=version, number=number)
            assert python_for_magic(magic_bytes(number)) == expected
    for number in (0, 2999, 3650, 3700, 62170, 62212, 65535):  # nobody's
        magic = magic_bytes(number)
        assert python_for_magic(magic) == messages.PYTHON_UNKNOWN.format(magic=magic.hex())
    for magic in (b"PK\x03\x04", b"\xcb\x0d\x0d\x0a"[:3], b""):  # not a magic number at all
        assert python_for_magic(magic) == messages.PYTHON_UNKNOWN.format(magic=magic.hex())
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert python_for_magic(MAGIC_NUMBER) == messages.PYTHON_VERSION.format(
        version=here, number=int.from_bytes(MAGIC_NUMBER[:2], "little")
    )


ASK_MAGIC = """\
import binascii, sys
try:
    from importlib.util import MAGIC_NUMBER as magic
except ImportError:  # Python 2
    import imp
    magic = imp.get_magic()
print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], binascii.hexlify(magic).decode()))
"""


def test_magic_numbers_of_the_installed_pythons():
    """Every pyenv interpreter on this machine (2.7, 3.6-3.13 here) is named right."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    pythons = sorted(root.glob("*/bin/python"))
    if not pythons:
        pytest.skip("no pyenv interpreters on this machine")
    seen = set()
    for python in pythons:
        asked = subprocess.run(
            [python, "-c", ASK_MAGIC], capture_output=True, text=True, timeout=60, check=True
        )
        version, magic = asked.stdout.split()
        number = int.from_bytes(bytes.fromhex(magic)[:2], "little")
        expected = messages.PYTHON_VERSION.format(version=version, number=number)
        assert python_for_magic(bytes.fromhex(magic)) == expected, python
        if version in FINAL_MAGIC:
            assert number == FINAL_MAGIC[version], python
        seen.add(version)
    assert seen


@pytest.mark.parametrize("module", [bundle, inspection, messages], ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert (result.failed, result.attempted > 0) == (0, True)


def test_inspect_sizes_and_mixed_compression(tmp_path, capsys):
    text = "spam and eggs " * 200
    archive = make_zip(
        tmp_path / "mixed.zip",
        {
            "big.py": Entry(f"TEXT = {text!r}\n", compress_type=zipfile.ZIP_DEFLATED),
            "small.py": "x = 1\n",
            "blob.bin": Entry(b"\0" * 5000, compress_type=zipfile.ZIP_LZMA),
        },
    )
    report = cli_json(capsys, "inspect", archive)
    members = {m["name"]: m for m in report["members"]}
    assert members["small.py"] == {
        "name": "small.py", "method": "stored", "compressed_size": 6, "file_size": 6
    }  # fmt: skip
    assert members["big.py"]["method"] == "deflated"
    assert members["big.py"]["compressed_size"] < members["big.py"]["file_size"]
    assert members["blob.bin"]["method"] == "lzma"
    assert cli("inspect", archive) == 0
    out = capsys.readouterr().out
    assert "  compression: deflated x1, lzma x1, stored x1\n" in out
    unpacked = sum(m["file_size"] for m in members.values())
    assert out.startswith(f"{archive}: 3 files, {unpacked / 1000:.1f} kB (")


def test_inspect_zip64(zip64_archive, capsys):
    report = cli_json(capsys, "inspect", zip64_archive)
    assert report["zip64"] is True
    assert len(report["members"]) == len(report["modules"]) == ZIP64_ENTRIES
    assert report["modules"][-1]["name"] == "m9999"  # sorted by name
    assert cli("inspect", zip64_archive, "--limit", "3") == 0
    out = capsys.readouterr().out
    assert f"{zip64_archive}: {ZIP64_ENTRIES} files" in out
    assert "  ZIP64: yes; " in out


def test_inspect_data_files_limit(tmp_path, capsys):
    archive = make_zip(tmp_path / "data.zip", {f"file{i:02}.txt": "x" for i in range(25)})
    assert cli("inspect", archive, "--limit", "2") == 0
    out = capsys.readouterr().out
    assert out.endswith("data files: 25\n  file00.txt\n  file01.txt\n  ... and 23 more (--limit)\n")


def test_inspect_output_cut_short_is_not_an_error(zip64_archive):
    """``zipimporter inspect big.zip | head``: no BrokenPipeError report."""
    env = {**os.environ, "PYTHONPATH": SRC}
    with subprocess.Popen(
        [sys.executable, "-m", "zipimporter", "inspect", zip64_archive],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(200).startswith(zip64_archive.encode())
        proc.stdout.close()
        err = proc.stderr.read().decode()
    assert err == ""
    assert proc.returncode in (0, 1)


# -- verify -----------------------------------------------------------------


def test_verify_ok(project, tmp_path, capsys):
    out = tmp_path / "ok.pyz"
    assert cli("build", project / "mypkg", "-o", out, "--compile", "--main", "mypkg.cli:main") == 0
    capsys.readouterr()
    assert cli("verify", out) == 0
    assert capsys.readouterr().out == f"{out}: OK (0 errors, 0 warnings)\n"
    expected = {"archive": str(out), "prefix": "", "ok": True, "problems": []}
    assert cli_json(capsys, "verify", out) == expected


def corrupt_crc(path: Path) -> None:
    data = path.read_bytes()
    at = data.index(b"AAAA")
    path.write_bytes(data[:at] + b"AAAB" + data[at + 4 :])


def corrupt_local_name(path: Path) -> None:
    data = path.read_bytes()
    at = data.index(b"mod.py")  # the local header comes first
    path.write_bytes(data[:at] + b"mxd.py" + data[at + 6 :])


FLAGGED = bytearray(pyc(SOURCE, mtime=dos_mtime(), size=len(SOURCE)))
FLAGGED[4:8] = (4).to_bytes(4, "little")

CORRUPTIONS = {
    "bad-crc": ({"mod.py": "value = 'AAAA'\n"}, corrupt_crc, "mod.py", "bad CRC-32"),
    "local-name": (
        {"mod.py": SOURCE},
        corrupt_local_name,
        "mod.py",
        "local header name does not match the central directory",
    ),
    "syntax": (
        {"mod.py": "def broken(:\n"},
        None,
        "mod.py",
        messages.DOES_NOT_COMPILE.format(error=""),
    ),
    "pyc-flags": (
        {"mod.py": SOURCE, "mod.pyc": bytes(FLAGGED)},
        None,
        "mod.pyc",
        messages.PYC_INVALID.format(error="invalid flags 4"),
    ),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_verify_reports_problems(tmp_path, capsys, case):
    members, corrupt, member, problem = CORRUPTIONS[case]
    path = tmp_path / "broken.zip"
    make_zip(path, {"fine.py": SOURCE, **members, "zz_last.txt": "end\n"})
    if corrupt is not None:
        corrupt(path)
    assert cli("verify", path) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"{path}: FAILED (1 errors, 0 warnings)"
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {member}: ")
    assert problem in lines[0]
    report = cli_json(capsys, "verify", path)
    assert report["ok"] is False
    assert [(p["member"], p["severity"]) for p in report["problems"]] == [(member, "error")]
    assert problem in report["problems"][0]["problem"]


def test_verify_strict_fails_on_warnings(tmp_path, capsys):
    path = make_zip(
        tmp_path / "foreign.zip",
        {"mod.py": SOURCE, "mod.pyc": pyc(SOURCE, magic=MAGIC_36)},
    )
    assert cli("verify", path) == 0
    out = capsys.readouterr().out
    assert out == f"warning: mod.pyc: {FOREIGN_36}\n{path}: OK (0 errors, 1 warnings)\n"
    assert cli("verify", "--strict", path) == 1
    assert capsys.readouterr().out.endswith(f"{path}: FAILED (0 errors, 1 warnings)\n")
    report = cli_json(capsys, "verify", "--strict", path)
    assert report["ok"] is False
    assert report["problems"][0]["severity"] == "warning"


def test_verify_not_a_zip(tmp_path, capsys):
    """An archive that can't be opened is verify's finding (exit 1), in the importer's words."""
    path = tmp_path / "text.zip"
    path.write_text("not an archive\n")
    assert cli("verify", path) == 1
    not_zip = messages.NOT_A_ZIP_FILE.format(path=str(path))
    assert capsys.readouterr().out == (
        f"error: {path}: {not_zip}\n{path}: FAILED (1 errors, 0 warnings)\n"
    )


def test_verify_notes_directories_without_entries(tmp_path, capsys):
    """Code below a directory with no entry imports (implicit namespace portions,
    as on 3.14); verify notes it, because the stdlib before 3.14 won't see it."""
    path = make_zip(
        tmp_path / "nodirs.zip",
        {
            "nodir/inside.py": SOURCE,  # no "nodir/": a note
            "deep/er/mod.py": SOURCE,  # neither "deep/" nor "deep/er/": two
            "pkg/__init__.py": "",  # a package needs no directory entry
            "pkg/mod.py": SOURCE,
            "ns/": b"",  # an explicit namespace portion
            "ns/mod.py": SOURCE,
            "data/file.txt": "no code below: nothing to import",
            "not-a-name/mod.py": SOURCE,  # not importable by any name: not a namespace
        },
    )
    assert cli("verify", path) == 0
    out = capsys.readouterr().out
    noted = ["deep/", "deep/er/", "nodir/"]
    assert out == "".join(f"note: {d}: {messages.NO_DIRECTORY_ENTRY}\n" for d in noted) + (
        f"{path}: OK (0 errors, 0 warnings)\n"
    )
    assert cli("verify", "--strict", path) == 0  # a note never fails
    capsys.readouterr()
    modules = cli_json(capsys, "inspect", path)["modules"]
    assert all(m["importable"] for m in modules)
    noted_modules = sorted(m["name"] for m in modules if m["note"])
    assert noted_modules == ["deep", "deep.er", "nodir"]
    # And the importer agrees: all of them import.
    sys.path.insert(0, path)
    assert import_fresh("pkg.mod", ours=True).value == 1
    assert import_fresh("ns.mod", ours=True).value == 1
    assert import_fresh("nodir.inside", ours=True).value == 1
    assert import_fresh("deep.er.mod", ours=True).value == 1


# -- inspect and verify: archives inside archives, and paths inside archives --

COMPRESSIONS = {"stored": zipfile.ZIP_STORED, "deflated": zipfile.ZIP_DEFLATED}


def nest(tmp_path: Path, inner: bytes, compression: int) -> tuple[str, str]:
    """(outer.zip/lib/middle.zip/inner.whl, the same inner archive as a file).

    Two levels: *inner* is a member of middle.zip, itself a member of a
    directory of outer.zip, both members (and their archives) compressed
    with *compression*.
    """
    middle = zip_bytes({"inner.whl": Entry(inner), "other.py": SOURCE}, compression=compression)
    outer = make_zip(
        tmp_path / "outer.zip",
        {"lib/": b"", "lib/middle.zip": Entry(middle), "top.py": SOURCE},
        compression=compression,
    )
    extracted = tmp_path / "extracted" / "inner.whl"
    extracted.parent.mkdir()
    extracted.write_bytes(inner)
    path = os.path.join(outer, "lib", "middle.zip", "inner.whl")
    return path, str(extracted)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_inspect_nested_archive(tmp_path, capsys, compression):
    """An archive two levels down is inspected as the importer reads it: what it
    reports is what the same archive as a file gives, and what an import sees."""
    inner = zip_bytes(
        INSPECTED,
        compression=zipfile.ZIP_DEFLATED,
        prepend=SHEBANG,
        comment=b"made for the tests",
    )
    path, extracted = nest(tmp_path, inner, COMPRESSIONS[compression])
    report = cli_json(capsys, "inspect", path)
    assert report["archive"] == path  # the full archive path
    assert report["prefix"] == ""
    assert report["size"] == len(inner)
    assert report["prepended_text"] == "#!/usr/bin/env python3"
    alone = cli_json(capsys, "inspect", extracted)
    assert alone["archive"] == extracted
    assert {**report, "archive": None} == {**alone, "archive": None}
    modules = {m["name"]: m for m in report["modules"]}
    assert modules["app.timed"]["uses"] == "pyc"
    assert modules["app.stale"]["uses"] == "source"
    assert modules["app.orphan"]["importable"] is False
    # The text report names the nested archive and lists the same tree.
    assert cli("inspect", path) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{path}: 13 files, ")
    assert cli("inspect", extracted) == 0
    assert rows(capsys.readouterr().out) == rows(text)
    # And the importer agrees.
    sys.path.insert(0, path)
    for name, suffix in (("timed", ".pyc"), ("stale", ".py"), ("foreign", ".py")):
        module = import_fresh(f"app.{name}", ours=True)
        assert module.__file__ == os.path.join(path, "app", name + suffix)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_inspect_path_inside_an_archive(tmp_path, capsys, compression):
    """``inspect app.zip/app``: what an import from that sys.path entry sees:
    modules named from there, member paths still the archive's."""
    inner = zip_bytes(INSPECTED, compression=COMPRESSIONS[compression])
    nested, _ = nest(tmp_path, inner, COMPRESSIONS[compression])
    for archive in (make_zip(tmp_path / "app.zip", INSPECTED), nested):
        path = os.path.join(archive, "app")
        report = cli_json(capsys, "inspect", path)
        assert (report["archive"], report["prefix"]) == (archive, "app" + os.sep)
        modules = {m["name"]: m for m in report["modules"]}
        assert sorted(modules) == [  # app/__init__.py is a module "__init__" there
            "__init__", "foreign", "ns", "ns.leaf", "onlypyc", "orphan", "stale", "timed"
        ]  # fmt: skip
        assert modules["timed"]["source"] == "app/timed.py"
        assert modules["timed"]["pyc"] == "app/timed.pyc"
        assert (modules["timed"]["uses"], modules["ns"]["kind"]) == ("pyc", "namespace")
        assert (modules["orphan"]["pyc_state"], modules["orphan"]["importable"]) == (
            "foreign", False,
        )  # fmt: skip
        assert report["data_files"] == ["app/data.json"]
        assert all(m["name"].startswith("app/") for m in report["members"])
        assert len(report["members"]) == 11
        assert cli("inspect", path + os.sep) == 0  # a trailing separator: the same
        text = capsys.readouterr().out
        assert text.startswith(f"{path}: 11 files, ")
        assert sorted(rows(text)) == ["__init__", "foreign", "leaf", "ns/", "onlypyc", "orphan",
                                      "stale", "timed"]  # fmt: skip
        # An import from that path sees those names.
        sys.path.insert(0, path)
        assert import_fresh("timed", ours=True).__file__ == os.path.join(path, "timed.pyc")
        assert import_fresh("ns.leaf", ours=True).value == 1
        sys.path.remove(path)
        forget("timed", "ns")


def test_verify_path_inside_an_archive(tmp_path, capsys):
    """``verify app.zip/lib`` checks the members below lib/ (named as in the archive)."""
    archive = make_zip(
        tmp_path / "app.zip",
        {
            "bad.py": "def broken(:\n",  # outside the prefix: not this path's problem
            "lib/": b"",
            "lib/good.py": SOURCE,
            "lib/mod.py": SOURCE,
            "lib/mod.pyc": bytes(FLAGGED),
            "lib/sub/leaf.py": SOURCE,
        },
    )
    path = os.path.join(archive, "lib")
    assert cli("verify", path) == 1
    invalid = messages.PYC_INVALID.format(error="invalid flags 4")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"note: lib/sub/: {messages.NO_DIRECTORY_ENTRY}"
    assert out[1].startswith(f"error: lib/mod.pyc: {invalid}")
    assert out[2:] == [f"{path}: FAILED (1 errors, 0 warnings)"]
    report = cli_json(capsys, "verify", path)
    assert (report["archive"], report["prefix"], report["ok"]) == (archive, "lib/", False)
    assert [(p["member"], p["severity"]) for p in report["problems"]] == [
        ("lib/sub/", "note"), ("lib/mod.pyc", "error"),
    ]  # fmt: skip
    assert cli("verify", archive) == 1  # the whole archive: bad.py too
    assert "error: bad.py: " in capsys.readouterr().out


#: An inner archive with one of each problem verify finds in its members.
DAMAGED = {
    "fine.py": SOURCE,
    "mod.py": SOURCE,
    "mod.pyc": bytes(FLAGGED),  # invalid: an error
    "foreign.py": SOURCE,
    "foreign.pyc": pyc(SOURCE, magic=MAGIC_36),  # another Python's: a warning
    "broken.py": "def broken(:\n",  # an error
    "crc.txt": "AAAA",  # its CRC broken below: an error
    "nodir/inside.py": SOURCE,  # a note
}


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_verify_finds_the_same_problems_in_a_nested_archive(tmp_path, capsys, compression):
    """verify reports in an archive two levels down what it reports in the same
    archive as a file: each problem, its severity, and the exit status."""
    inner = bytearray(zip_bytes(DAMAGED))  # stored: the CRC's bytes are there to break
    at = inner.index(b"AAAA")
    inner[at : at + 4] = b"AAAB"
    path, extracted = nest(tmp_path, bytes(inner), COMPRESSIONS[compression])
    nested = cli_json(capsys, "verify", path)
    alone = cli_json(capsys, "verify", extracted)
    assert nested["archive"] == path
    assert nested["ok"] is alone["ok"] is False
    as_file = [{**p, "problem": p["problem"].replace(path, extracted)} for p in nested["problems"]]
    assert as_file == alone["problems"]
    found = {(p["member"], p["severity"]) for p in alone["problems"]}
    assert found == {
        ("mod.pyc", "error"), ("foreign.pyc", "warning"), ("broken.py", "error"),
        ("crc.txt", "error"), ("nodir/", "note"),
    }  # fmt: skip
    crc = next(p["problem"] for p in nested["problems"] if p["member"] == "crc.txt")
    assert path in crc  # the problem names the nested archive
    assert cli("verify", path) == 1
    out = capsys.readouterr().out
    assert out.endswith(f"{path}: FAILED (3 errors, 1 warnings)\n")
    assert cli("verify", extracted) == 1
    assert capsys.readouterr().out == out.replace(path, extracted)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_nested_path_that_is_no_archive(tmp_path, capsys, compression):
    """The outer file exists but the rest names no member archive: one line
    naming what is wrong; inspect fails (2), verify reports it (1)."""
    inner = zip_bytes({"mod.py": SOURCE, "pkg/": b"", "pkg/m.py": SOURCE})
    path, _ = nest(tmp_path, inner, COMPRESSIONS[compression])
    outer = str(tmp_path / "outer.zip")
    middle = os.path.join(outer, "lib", "middle.zip")
    cases = {
        # The path -> the message.
        os.path.join(outer, "missing.zip"): messages.NO_SUCH_MEMBER.format(
            archive=outer, name="missing.zip"
        ),
        os.path.join(outer, "lib", "missing.zip", "x"): messages.NO_SUCH_MEMBER.format(
            archive=outer, name=os.path.join("lib", "missing.zip", "x")
        ),
        os.path.join(path, "missing.zip"): messages.NO_SUCH_MEMBER.format(
            archive=path, name="missing.zip"
        ),
        os.path.join(path, "mod.py"): messages.NOT_A_ZIP_FILE.format(
            path=os.path.join(path, "mod.py")
        ),
        os.path.join(middle, "other.py"): messages.NOT_A_ZIP_FILE.format(
            path=os.path.join(middle, "other.py")
        ),
        os.path.join(outer, "top.py", "inner.zip"): messages.NOT_A_ZIP_FILE.format(
            path=os.path.join(outer, "top.py")
        ),
    }
    for bad, message in cases.items():
        status = cli("inspect", bad)
        captured = capsys.readouterr()
        assert captured.out == ""
        assert_one_line_error(status, captured.err, "inspect", message)
        assert captured.err == f"zipimporter inspect: error: {message}\n"
        assert cli("verify", bad) == 1
        assert capsys.readouterr().out == (
            f"error: {bad}: {message}\n{bad}: FAILED (1 errors, 0 warnings)\n"
        )
        report = cli_json(capsys, "verify", bad)
        assert report == {
            "archive": bad, "prefix": "", "ok": False,
            "problems": [{"member": "", "problem": message, "severity": "error"}],
        }  # fmt: skip
    # A directory of the inner archive is a prefix, not an error.
    assert cli("inspect", os.path.join(path, "pkg")) == 0
    assert capsys.readouterr().out.startswith(f"{os.path.join(path, 'pkg')}: 1 files, ")


def test_verdicts_do_not_depend_on_wording(tmp_path, capsys, monkeypatch):
    """Exit statuses, severities and what a module uses come from typed states:
    rewording every message (even to another's words) changes none of them."""
    archive = make_zip(
        tmp_path / "mixed.zip",
        {
            **INSPECTED,
            "bad.py": SOURCE,
            "bad.pyc": bytes(FLAGGED),  # invalid: an error
        },
    )

    def verdicts() -> tuple[int, list[tuple[str, str]], dict[str, tuple]]:
        status = cli("verify", "--json", archive)
        problems = [(p["member"], p["severity"]) for p in json.loads(capsys.readouterr().out)[
            "problems"]]  # fmt: skip
        modules = cli_json(capsys, "inspect", archive)["modules"]
        return (
            status,
            problems,
            {m["name"]: (m["uses"], m["pyc_state"], m["importable"]) for m in modules},
        )

    before = verdicts()
    assert before[0] == 1
    assert ("bad.pyc", "error") in before[1]
    assert ("nodir/", "note") in before[1]
    swapped = {
        "PYC_VALID": "invalid: not really ({kind})",
        "PYC_STALE": "valid, stale ({kind})",
        "PYC_FOREIGN": "valid for {python}: {fallback}",
        "PYC_INVALID": "valid? no: {error}",
        "PYC_UNREADABLE": "valid? unreadable: {error}",
        "NO_DIRECTORY_ENTRY": "importable after all",
        "DOES_NOT_COMPILE": "fine: {error}",
    }
    for name, text in swapped.items():
        monkeypatch.setattr(messages, name, text)
    assert verdicts() == before


# -- run --------------------------------------------------------------------

MAIN = """\
import sys
print("name", __name__)
print("argv", sys.argv)
print("loader", type(__loader__).__module__)
"""

TOOL = """\
import sys
print("tool", __name__, sys.argv[1:])
"""

FAILING = """\
def fail():
    raise RuntimeError("failing inside the archive")
"""


@pytest.fixture
def runnable(tmp_path: Path) -> str:
    return make_zip(
        tmp_path / "runnable.zip",
        {
            "__main__.py": MAIN,
            "tools/": b"",
            "tools/__init__.py": "",
            "tools/tool.py": TOOL,
            "tools/failing.py": FAILING,
            "boom.py": "import tools.failing\ntools.failing.fail()\n",
            "quit.py": "import sys\nsys.exit(3)\n",
        },
    )


def test_run_sets_argv_and_runs_main(runnable, capsys):
    assert cli("run", runnable, "a", "--b", "-m", "c") == 0
    assert capsys.readouterr().out == (
        f"name __main__\nargv {[runnable, 'a', '--b', '-m', 'c']}\nloader zipimporter.importer\n"
    )


def test_run_is_like_python_archive(runnable):
    """``zipimporter run`` gives the program what ``python ARCHIVE`` does."""
    plain = subprocess.run(
        [sys.executable, runnable, "x"], capture_output=True, text=True, check=True
    )
    assert plain.stdout.endswith("loader zipimport\n")
    ran = python_m("run", runnable, "x")
    assert ran.returncode == 0
    assert ran.stdout == plain.stdout.replace("zipimport\n", "zipimporter.importer\n")


def test_run_module(runnable, capsys):
    assert cli("run", "-m", "tools.tool", runnable, "x", "y") == 0
    assert capsys.readouterr().out == "tool __main__ ['x', 'y']\n"
    ran = python_m("run", "-m", "tools.tool", runnable, "--flag")
    assert (ran.returncode, ran.stdout) == (0, "tool __main__ ['--flag']\n")


def test_run_exit_status(runnable):
    ran = python_m("run", "-m", "quit", runnable)
    assert (ran.returncode, ran.stderr) == (3, "")


def test_run_traceback_shows_archive_source(runnable):
    with pytest.raises(RuntimeError, match="failing inside the archive") as exc:
        main(["run", "-m", "boom", runnable])
    text = "".join(traceback.format_exception(exc.value))
    failing = os.path.join(runnable, "tools", "failing.py")
    assert f'File "{failing}", line 2, in fail\n    raise RuntimeError(' in text
    assert f'File "{os.path.join(runnable, "boom.py")}", line 2' in text

    ran = python_m("run", "-m", "boom", runnable)
    assert ran.returncode == 1
    assert f'File "{failing}", line 2, in fail\n    raise RuntimeError(' in ran.stderr
    assert ran.stderr.endswith("RuntimeError: failing inside the archive\n")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-m", "nothere"], messages.NO_MODULE.format(archive="{archive}", module="nothere")),
        (["-m", "tools.nothere"], "no module named 'tools.nothere'"),  # launch.py's words
        (["-m", "tools"], "'tools' is a package without a __main__ module"),
        (["-m", "json.tool"], messages.NO_MODULE.format(archive="{archive}", module="json.tool")),
        (["-m", ".relative"], messages.NOT_A_MODULE_NAME.format(name=".relative")),
    ],
)
def test_run_module_not_found(runnable, capsys, args, fragment):
    status = cli("run", *args, runnable)
    expected = fragment.replace("{archive}", runnable)
    assert_one_line_error(status, capsys.readouterr().err, "run", expected)


# -- help and errors --------------------------------------------------------


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The parser of every command, by name ("" for ``zipimporter`` itself)."""
    parser = build_parser()
    found = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


COMMANDS = ["", "build", "inspect", "verify", "run", "demo", "enable", "disable", "status", "cache"]


def test_every_option_has_help():
    assert sorted(subcommands()) == sorted(COMMANDS)
    for command, parser in subcommands().items():
        for action in parser._actions:
            assert action.help, (command, action.dest)
            assert action.help != argparse.SUPPRESS, (command, action.dest)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(capsys, command):
    """--help shows the usage, the description and every option with its help text."""
    args = [command] if command else []
    assert cli(*args, "--help") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: zipimporter {command}".rstrip() + " ")
    parser = subcommands()[command]
    squeezed = "".join(out.split())  # help is wrapped to the terminal's width

    def shown(text: str) -> bool:
        return "".join(text.split()) in squeezed

    assert parser.description and shown(parser.description)
    for action in parser._actions:
        assert action.help is not None
        assert shown(action.help.replace("%(default)s", str(action.default))), action.dest
        if action.option_strings:
            assert all(option in out for option in action.option_strings)
        elif not isinstance(action, argparse._SubParsersAction):
            assert (action.metavar or action.dest) in out


def test_build_help_lists_the_default_excludes(capsys):
    assert cli("build", "--help") == 0
    squeezed = "".join(capsys.readouterr().out.split())
    listed = squeezed.split("--no-default-excludes", 2)[2]  # after the usage line's mention
    for pattern in bundle.DEFAULT_EXCLUDES:
        assert f"{pattern}," in listed, pattern
    assert bundle.ENVIRONMENT_MARKER in listed


def test_version(capsys):
    assert cli("--version") == 0
    assert capsys.readouterr().out == f"zipimporter {zipimporter.__version__}\n"


def test_demo(capsys):
    assert cli("demo") == 0
    out = capsys.readouterr().out
    assert "jwzthreading.py" in out
    assert "RuntimeError: jwzthreading says: from inside example.zip" in out


def user_errors(tmp_path: Path, project: Path) -> dict[str, tuple[list[str], str, str]]:
    """Case -> (arguments, command, what stderr's one line says after 'error: ')."""
    no_main = make_zip(tmp_path / "nomain.zip", {"mod.py": SOURCE})
    text = tmp_path / "text.txt"
    text.write_text("hello\n")
    directory = tmp_path / "adir"
    directory.mkdir()
    missing = str(tmp_path / "missing")
    out = str(tmp_path / "out.zip")
    mypkg = str(project / "mypkg")
    nowhere = str(tmp_path / "no" / "dir" / "x.zip")
    no_such = messages.NO_SUCH_FILE.format(path=missing)
    a_dir = messages.NOT_A_REGULAR_FILE.format(kind="directory", path=directory)
    not_zip = messages.NOT_A_ZIP_FILE.format(path=str(text))
    cases = {
        "build-missing": (["build", missing, "-o", out], "build", no_such),
        "build-main": (
            ["build", mypkg, "-o", out, "--main", "x"],
            "build",
            messages.MAIN_SYNTAX.format(entry="x"),
        ),
        "build-compression": (
            ["build", mypkg, "-o", out, "--compression", "brotli"],
            "build",
            "invalid choice: 'brotli'",  # argparse's words
        ),
        "build-no-output": (["build", mypkg], "build", "required: -o/--output"),
        "build-output-dir": (
            ["build", mypkg, "-o", nowhere],
            "build",
            messages.NO_SUCH_FILE.format(path=nowhere),  # not the temporary file's name
        ),
        "build-output-directory": (
            ["build", mypkg, "-o", directory],
            "build",
            messages.NOT_A_REGULAR_OUTPUT.format(kind="directory", path=directory),
        ),
        "run-no-main": (["run", no_main], "run", messages.NO_MAIN.format(archive=no_main)),
        "unknown-command": (["frobnicate"], "", "invalid choice: 'frobnicate'"),
    }
    # One message per situation, whichever command meets it.
    # No part of the path is a file: nothing to look into (inspect and verify
    # take archives inside archives; the situation is the same).
    missing_outer = os.path.join(missing, "inner.zip")
    below_directory = os.path.join(directory, "missing.zip", "inner.zip")
    for command in ("inspect", "verify", "run"):
        cases[f"{command}-missing"] = ([command, missing], command, no_such)
        cases[f"{command}-directory"] = ([command, str(directory)], command, a_dir)
        cases[f"{command}-missing-outer"] = (
            [command, missing_outer], command, messages.NO_SUCH_FILE.format(path=missing_outer)
        )  # fmt: skip
        cases[f"{command}-below-directory"] = (
            [command, below_directory],
            command,
            messages.NO_SUCH_FILE.format(path=below_directory),
        )
        if command != "verify":  # verify's finding, not a usage error: test_verify_not_a_zip
            cases[f"{command}-not-zip"] = ([command, str(text)], command, not_zip)
    return cases


USER_ERRORS = [
    "build-missing", "build-main", "build-compression", "build-no-output", "build-output-dir",
    "build-output-directory", "run-no-main", "unknown-command",
    "inspect-missing", "verify-missing", "run-missing",
    "inspect-directory", "verify-directory", "run-directory",
    "inspect-missing-outer", "verify-missing-outer", "run-missing-outer",
    "inspect-below-directory", "verify-below-directory", "run-below-directory",
    "inspect-not-zip", "run-not-zip",
]  # fmt: skip


def test_user_error_cases_are_all_tested(tmp_path, project):
    assert sorted(user_errors(tmp_path, project)) == sorted(USER_ERRORS)


@pytest.mark.parametrize("case", USER_ERRORS)
def test_user_errors_are_one_line(tmp_path, project, capsys, case):
    args, command, fragment = user_errors(tmp_path, project)[case]
    status = cli(*args)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(status, captured.err, command, fragment)
    if not fragment.startswith(("invalid choice", "required")):  # ours, not argparse's
        assert captured.err == f"zipimporter {command}: error: {fragment}\n"


@pytest.mark.parametrize("case", ["build-missing", "build-compression", "run-no-main"])
def test_user_errors_in_a_subprocess(tmp_path, project, case):
    args, command, fragment = user_errors(tmp_path, project)[case]
    proc = python_m(*args)
    assert_one_line_error(proc.returncode, proc.stderr, command, fragment)
    assert proc.stdout == ""


def test_build_inspect_verify_run_in_a_subprocess(project, tmp_path):
    """The whole round, as a user would type it."""
    app = tmp_path / "app.pyz"
    built = python_m("build", project / "mypkg", "-o", app, "--compile", "--main", "mypkg.cli:main")
    assert (built.returncode, built.stderr) == (0, "")
    with zipfile.ZipFile(app) as zf:
        files = [i.filename for i in zf.infolist() if not i.is_dir()]
    compiled = sum(f.endswith(".pyc") for f in files)
    assert (
        built.stdout
        == messages.BUILT.format(
            output=app, files=len(files), compiled=compiled, runtime=messages.BUILT_RUNTIME
        )
        + "\n"
    )
    inspected = python_m("inspect", app)
    assert inspected.returncode == 0
    assert "pyc: " + messages.PYC_VALID.format(kind="unchecked hash") in inspected.stdout
    verified = python_m("verify", "--strict", app)
    assert (verified.returncode, verified.stdout) == (0, f"{app}: OK (0 errors, 0 warnings)\n")
    ran = python_m("run", app, "go")
    assert ran.stdout == "argv0 app.pyz\nargs ['go']\nmain zipimporter.importer\n"


@pytest.mark.parametrize("extra", [[], ["--compress-pyc"]])
def test_compiled_members_are_stored_unless_asked(project, tmp_path, extra):
    """Compiled code is stored (no inflate at import); --compress-pyc compresses it too."""
    out = tmp_path / "c.zip"
    assert cli("build", project / "mypkg", "-o", out, "--compile", *extra) == 0
    with zipfile.ZipFile(out) as zf:
        methods = {i.filename: i.compress_type for i in zf.infolist() if not i.is_dir()}
    pyc = {m for n, m in methods.items() if n.endswith(".pyc")}
    rest = {m for n, m in methods.items() if not n.endswith(".pyc")}
    assert pyc == {zipfile.ZIP_DEFLATED if extra else zipfile.ZIP_STORED}
    assert rest == {zipfile.ZIP_DEFLATED}
    sys.path.insert(0, str(out))
    assert import_fresh("mypkg.core", ours=True).__file__.endswith(".pyc")

"""The command line, ``zipimporter build|inspect|verify|run|demo``: in-process and as a program."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
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
    ZIP64_ENTRIES,
    Entry,
    dos_mtime,
    forget,
    import_fresh,
    make_zip,
    pyc,
)
from zipimporter import bundle
from zipimporter.cli import main

SRC = str(Path(zipimporter.__file__).parent.parent)

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


def python_m(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m zipimporter ARGS`` in a subprocess."""
    env = {**os.environ, "PYTHONPATH": SRC}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run(
        [sys.executable, "-m", "zipimporter", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


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
    assert capsys.readouterr().out == f"wrote {out}: 6 files\n"
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
    assert capsys.readouterr().out == f"wrote {out}: 11 files, 5 compiled\n"
    assert {"mypkg/core.py", "mypkg/core.pyc", "mypkg/__init__.pyc"} <= set(names(out))
    sys.path.insert(0, str(out))
    core = import_fresh("mypkg.core", ours=True)
    assert core.__spec__.origin.endswith(os.path.join("mypkg", "core.pyc"))
    assert core.__file__ == core.__spec__.origin
    assert core.answer() == 42
    report = cli_json(capsys, "inspect", out)
    modules = {m["name"]: m for m in report["modules"]}
    assert modules["mypkg.core"]["uses"] == "pyc"
    assert modules["mypkg.core"]["pyc_status"] == "valid (unchecked hash)"
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
    assert modules["mypkg.core"]["pyc_status"] == "valid (checked hash)"

    # The same size and date: only the hash in the pyc can tell it is stale.
    rewrite(out, {"mypkg/core.py": b"def answer():\n    return 43\n"})
    core = import_fresh("mypkg.core", ours=True)
    assert core.__file__.endswith("core.py")
    assert core.answer() == 43
    modules = {m["name"]: m for m in cli_json(capsys, "inspect", out)["modules"]}
    assert modules["mypkg.core"]["pyc_status"] == "stale (checked hash): source used"
    assert modules["mypkg.core"]["uses"] == "source"
    assert cli("verify", out) == 0  # a warning: the archive still works
    assert "warning: mypkg/core.pyc: stale (checked hash)" in capsys.readouterr().out


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
    magic = subprocess.run(
        [python, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
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
    assert modules["mypkg.core"]["pyc_status"] == f"other Python (magic {magic}): source used"
    assert modules["mypkg.core"]["uses"] == "source"


def test_compile_python_that_fails_is_a_user_error(project, tmp_path, capsys):
    bogus = tmp_path / "not-python"
    bogus.write_text("#!/bin/sh\necho 'no such interpreter' >&2\nexit 3\n")
    bogus.chmod(0o755)
    status = cli("build", project / "lib", "-o", tmp_path / "x.zip", "--compile-python", bogus)
    assert_one_line_error(status, capsys.readouterr().err, "build", "no such interpreter")
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.parametrize("compression", ["stored", "deflated", "bzip2", "lzma"])
def test_every_compression(project, tmp_path, capsys, compression):
    out = tmp_path / f"{compression}.zip"
    assert cli("build", project / "mypkg", "-o", out, "--compression", compression) == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        files = [i for i in zf.infolist() if not i.is_dir()]
        assert {i.compress_type for i in files} == {bundle.COMPRESSION[compression]}
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
        generated = zf.read("__main__.py").decode()
    assert generated.endswith("from mypkg.cli import main\n\nsys.exit(main())\n")
    expected = "argv0 app.pyz\nargs ['one', '--two']\n"

    plain = subprocess.run(
        [sys.executable, str(app), "one", "--two"], capture_output=True, text=True, check=True
    )
    assert plain.stdout == expected + "main zipimport\n"
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
    for bad in ("mypkg.cli", "mypkg.cli:", ":main", "my-pkg.cli:main"):
        status = cli("build", project / "mypkg", "-o", out, "--main", bad)
        assert_one_line_error(status, capsys.readouterr().err, "build", "--main must look like")
    (project / "lib" / "__main__.py").write_text("pass\n")
    status = cli("build", project / "lib", "-o", out, "--main", "helper:main")
    assert_one_line_error(status, capsys.readouterr().err, "build", "already have a __main__.py")
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
    assert_one_line_error(status, err, "build", "'m.py' comes from both")
    assert str(tmp_path / "one" / "m.py") in err
    assert not (tmp_path / "dup.zip").exists()


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

INSPECTED = {
    "__main__.py": "import app\n",
    "app/": b"",
    "app/__init__.py": "",
    "app/timed.py": SOURCE,
    "app/timed.pyc": pyc(SOURCE, mtime=dos_mtime(), size=len(SOURCE)),
    "app/stale.py": SOURCE,
    "app/stale.pyc": pyc(SOURCE, mtime=dos_mtime() - 3600, size=len(SOURCE)),
    "app/foreign.py": SOURCE,
    "app/foreign.pyc": pyc(SOURCE, magic=b"\x00\x00\r\n"),
    "app/orphan.pyc": pyc(SOURCE, magic=b"\x00\x00\r\n"),
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
    tree = rows(out)
    assert tree["__main__"] == ["module", "source"]
    assert tree["app/"] == ["package", "source"]
    assert tree["timed"] == ["module", "source+pyc", "pyc:", "valid", "(timestamp)"]
    assert " ".join(tree["stale"]) == "module source+pyc pyc: stale (timestamp): source used"
    assert " ".join(tree["foreign"]).startswith(
        "module source+pyc pyc: other Python (magic 00000d0a)"
    )
    assert tree["onlypyc"] == ["module", "pyc", "pyc:", "valid", "(unchecked", "hash)"]
    assert tree["ns/"] == ["namespace", "-"]
    assert tree["nodir/"] == ["namespace", "-", "not", "importable:", "no", "directory", "entry"]
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
        "pyc_status": None, "uses": "source",
    }  # fmt: skip
    assert modules["app.ns"]["kind"] == "namespace"
    assert modules["app.ns.leaf"]["uses"] == "source"
    assert modules["nodir"] == {
        "name": "nodir", "kind": "namespace", "source": None, "pyc": None,
        "pyc_status": None, "uses": "not importable: no directory entry",
    }  # fmt: skip
    assert modules["app.timed"]["uses"] == "pyc"
    assert modules["app.stale"]["uses"] == "source"
    assert modules["app.foreign"]["uses"] == "source"
    assert modules["app.orphan"]["pyc_status"] == (
        "other Python (magic 00000d0a): no source to fall back to"
    )
    assert modules["app.orphan"]["uses"] is None
    assert modules["app.onlypyc"]["uses"] == "pyc"
    assert report["data_files"] == ["app/data.json"]


def test_inspect_agrees_with_the_importer(inspected):
    """What inspect says a module uses is what the importer loads; namespace verdicts too."""
    sys.path.insert(0, inspected)
    for name, suffix in (("timed", ".pyc"), ("stale", ".py"), ("foreign", ".py")):
        module = import_fresh(f"app.{name}", ours=True)
        assert module.__file__ == os.path.join(inspected, "app", name + suffix)
    with zipimporter.install():
        with pytest.raises(ImportError):
            import_fresh("app.orphan", ours=True)
        with pytest.raises(ModuleNotFoundError):
            import_fresh("nodir.inside", ours=True)


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
    assert cli_json(capsys, "verify", out) == {"archive": str(out), "ok": True, "problems": []}


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
    "syntax": ({"mod.py": "def broken(:\n"}, None, "mod.py", "does not compile: "),
    "pyc-flags": (
        {"mod.py": SOURCE, "mod.pyc": bytes(FLAGGED)},
        None,
        "mod.pyc",
        "invalid: invalid flags 4",
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
        {"mod.py": SOURCE, "mod.pyc": pyc(SOURCE, magic=b"\x00\x00\r\n")},
    )
    assert cli("verify", path) == 0
    out = capsys.readouterr().out
    assert "warning: mod.pyc: other Python (magic 00000d0a): source used\n" in out
    assert out.endswith(f"{path}: OK (0 errors, 1 warnings)\n")
    assert cli("verify", "--strict", path) == 1
    assert capsys.readouterr().out.endswith(f"{path}: FAILED (0 errors, 1 warnings)\n")
    report = cli_json(capsys, "verify", "--strict", path)
    assert report["ok"] is False
    assert report["problems"][0]["severity"] == "warning"


def test_verify_not_a_zip(tmp_path, capsys):
    path = tmp_path / "text.zip"
    path.write_text("not an archive\n")
    assert cli("verify", path) == 1
    assert capsys.readouterr().out.startswith(f"error: {path}: not a Zip file")


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
        (["-m", "nothere"], "has no module 'nothere'"),
        (["-m", "tools.nothere"], "no module named 'tools.nothere'"),
        (["-m", "tools"], "'tools' is a package without a __main__ module"),
        (["-m", "json.tool"], "has no module 'json.tool'"),  # not the stdlib's
        (["-m", ".relative"], "not a module name"),
    ],
)
def test_run_module_not_found(runnable, capsys, args, fragment):
    status = cli("run", *args, runnable)
    assert_one_line_error(status, capsys.readouterr().err, "run", fragment)


# -- help and errors --------------------------------------------------------


@pytest.mark.parametrize("command", [None, "build", "inspect", "verify", "run", "demo"])
def test_help(capsys, command):
    args = [command] if command else []
    assert cli(*args, "--help") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: zipimporter {command or ''}".rstrip())
    assert len(out.splitlines()) > 3


def test_version(capsys):
    assert cli("--version") == 0
    assert capsys.readouterr().out == f"zipimporter {zipimporter.__version__}\n"


def test_demo(capsys):
    assert cli("demo") == 0
    out = capsys.readouterr().out
    assert "jwzthreading.py" in out
    assert "RuntimeError: jwzthreading says: from inside example.zip" in out


def user_errors(tmp_path: Path, project: Path) -> dict[str, tuple[list[str], str, str]]:
    no_main = make_zip(tmp_path / "nomain.zip", {"mod.py": SOURCE})
    text = tmp_path / "text.txt"
    text.write_text("hello\n")
    missing = str(tmp_path / "missing")
    out = str(tmp_path / "out.zip")
    mypkg = str(project / "mypkg")
    nowhere = str(tmp_path / "no" / "dir" / "x.zip")
    return {
        "build-missing": (["build", missing, "-o", out], "build", "no such file or directory"),
        "build-main": (["build", mypkg, "-o", out, "--main", "x"], "build", "--main must"),
        "build-compression": (
            ["build", mypkg, "-o", out, "--compression", "zstd"],
            "build",
            "invalid choice: 'zstd'",
        ),
        "build-no-output": (["build", mypkg], "build", "required: -o/--output"),
        "build-output-dir": (
            ["build", mypkg, "-o", nowhere],
            "build",
            f"No such file or directory: {nowhere}\n",  # not the temporary file's name
        ),
        "run-no-main": (["run", no_main], "run", "has no __main__.py"),
        "run-missing": (["run", missing], "run", "no such file"),
        "run-not-zip": (["run", str(text)], "run", "not a Zip file"),
        "inspect-missing": (["inspect", missing], "inspect", "can't open Zip file"),
        "inspect-not-zip": (["inspect", str(text)], "inspect", "not a Zip file"),
        "verify-missing": (["verify", missing], "verify", "no such file"),
        "unknown-command": (["frobnicate"], "", "invalid choice: 'frobnicate'"),
    }


USER_ERRORS = [
    "build-missing", "build-main", "build-compression", "build-no-output", "build-output-dir",
    "run-no-main", "run-missing", "run-not-zip", "inspect-missing", "inspect-not-zip",
    "verify-missing", "unknown-command",
]  # fmt: skip


@pytest.mark.parametrize("case", USER_ERRORS)
def test_user_errors_are_one_line(tmp_path, project, capsys, case):
    args, command, fragment = user_errors(tmp_path, project)[case]
    status = cli(*args)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(status, captured.err, command, fragment)


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
    assert built.stdout == f"wrote {app}: 13 files, 6 compiled\n"
    inspected = python_m("inspect", app)
    assert inspected.returncode == 0
    assert "pyc: valid (unchecked hash)" in inspected.stdout
    verified = python_m("verify", "--strict", app)
    assert (verified.returncode, verified.stdout) == (0, f"{app}: OK (0 errors, 0 warnings)\n")
    ran = python_m("run", app, "go")
    assert ran.stdout == "argv0 app.pyz\nargs ['go']\nmain zipimporter.importer\n"

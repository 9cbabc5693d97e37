"""``build`` writing the PEP 3147 layout for several interpreters at once.

``--compile-python PYTHON`` more than once (or ``--pycache``) puts each
interpreter's hash-based ``.pyc`` in ``__pycache__/<name>.<cache tag>.pyc``
beside the sources, so one bundle runs precompiled on 3.11, 3.12 and 3.13;
``--compile`` and a single ``--compile-python`` keep the ``.pyc`` beside the
``.py``.  The interpreters are pyenv's (or ``python3.X`` on ``PATH``); tests
that need more than the running one skip without them.
"""

from __future__ import annotations

import _imp
import glob
import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import python_env
from zipimporter import bundle, importer, messages, runtime
from zipimporter.cli import main
from zipimporter.inspection import PycState, Use, inspect_archive, verify_archive

HERE_TAG = sys.implementation.cache_tag


def _interpreter(minor: int) -> str | None:
    found = sorted(glob.glob(f"/root/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"))
    return found[-1] if found else shutil.which(f"python3.{minor}")


#: Interpreter by cache tag, for those of 3.11, 3.12 and 3.13 found here.
PYTHONS = {f"cpython-3{minor}": path for minor in (11, 12, 13) if (path := _interpreter(minor))}
needs_several = pytest.mark.skipif(
    len(PYTHONS) < 2, reason="needs at least two of Python 3.11, 3.12 and 3.13"
)

#: Whether the importer uses __pycache__ .pyc files (the import side of this layout).
IMPORTER_USES_PYCACHE = "__pycache__" in inspect.getsource(importer)

WORK = "VALUE = 'pyc'\n"


@pytest.fixture
def app_src(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "__init__.py").write_text("")
    (src / "app" / "work.py").write_text(WORK)
    (src / "app" / "cli.py").write_text("def main():\n    print('ran')\n")
    (src / "top.py").write_text("X = 1\n")
    return src


def cli(*args: str | Path) -> int:
    return main([str(a) for a in args])


def names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename for i in zf.infolist() if not i.is_dir()}


def magic_of(python: str) -> bytes:
    code = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return bytes.fromhex(run.stdout)


@needs_several
def test_several_interpreters_give_a_pycache_for_each(app_src, tmp_path):
    out = tmp_path / "app.pyz"
    result = bundle.build(
        [str(app_src)], str(out), compile_python=list(PYTHONS.values()), main="app.cli:main"
    )
    assert result.cache_tags == list(PYTHONS)
    found = names(out)
    app_sources = ["app/__init__.py", "app/cli.py", "app/work.py", "top.py"]
    app_sources += [f"{runtime.MAIN_PACKAGE}/__init__.py", f"{runtime.MAIN_PACKAGE}/__main__.py"]
    expected = {bundle.pycache_name(n, tag) for n in app_sources for tag in PYTHONS}
    assert expected <= found
    assert result.compiled == len(expected)
    assert not [n for n in found if "__pycache__" in n and n not in expected]
    # No .pyc beside the app's sources; the stub and runtime have one, for this Python.
    assert not any(n + "c" in found for n in app_sources)
    runtime_py = [n for n in found if runtime.needs_stdlib_method(n) and n.endswith(".py")]
    assert runtime_py and all(n + "c" in found for n in runtime_py)
    with zipfile.ZipFile(out) as zf:
        for tag, python in PYTHONS.items():
            data = zf.read(bundle.pycache_name("app/work.py", tag))
            assert data[:4] == magic_of(python), tag
            assert int.from_bytes(data[4:8], "little") == 0b01  # unchecked hash-based
            key = int.from_bytes(magic_of(python), "little")  # the hash is keyed by it
            assert data[8:16] == _imp.source_hash(key, WORK.encode())
        stub = zf.read("__main__.pyc")
        assert stub[:4] == importlib.util.MAGIC_NUMBER


@needs_several
def test_pycache_build_is_deterministic(app_src, tmp_path):
    first, second = tmp_path / "1.pyz", tmp_path / "2.pyz"
    pythons = list(PYTHONS.values())
    bundle.build([str(app_src)], str(first), compile_python=pythons, main="app.cli:main")
    bundle.build([str(app_src)], str(second), compile_python=pythons[::-1], main="app.cli:main")
    assert first.read_bytes() == second.read_bytes()


def test_pycache_for_the_running_python(app_src, tmp_path, capsys):
    out = tmp_path / "lib.zip"
    assert cli("build", app_src, "-o", out, "--pycache", "--pyc-mode", "checked-hash") == 0
    assert capsys.readouterr().out == f"wrote {out}: 8 files, 4 compiled\n"
    found = names(out)
    assert bundle.pycache_name("app/work.py", HERE_TAG) in found
    assert (
        bundle.pycache_name("app/__init__.py", HERE_TAG)
        == f"app/__pycache__/__init__.{HERE_TAG}.pyc"
    )
    assert not any(n.endswith(".pyc") and "__pycache__" not in n for n in found)
    with zipfile.ZipFile(out) as zf:
        data = zf.read(bundle.pycache_name("top.py", HERE_TAG))
    assert int.from_bytes(data[4:8], "little") == 0b11  # checked


def test_compile_and_one_compile_python_keep_the_legacy_layout(app_src, tmp_path):
    out = tmp_path / "lib.zip"
    bundle.build([str(app_src)], str(out), compile_pyc=True)
    assert {n for n in names(out) if n.endswith(".pyc")} == {
        "app/__init__.pyc",
        "app/cli.pyc",
        "app/work.pyc",
        "top.pyc",
    }
    bundle.build([str(app_src)], str(out), compile_python=sys.executable)
    assert not any("__pycache__" in n for n in names(out))
    assert "app/work.pyc" in names(out)


def test_same_cache_tag_twice_is_an_error(app_src, tmp_path, capsys):
    out = tmp_path / "lib.zip"
    python = sys.executable
    args = ["build", app_src, "-o", out, "--compile-python", python, "--compile-python", python]
    assert cli(*args) == 2
    error = messages.DUPLICATE_CACHE_TAG.format(first=python, second=python, tag=HERE_TAG)
    assert capsys.readouterr().err == f"zipimporter build: error: {error}\n"
    assert not out.exists()


def test_interpreter_that_fails_is_named(app_src, tmp_path, capsys):
    out = tmp_path / "lib.zip"
    missing = str(tmp_path / "no-such-python")
    assert cli("build", app_src, "-o", out, "--pycache", "--compile-python", missing) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zipimporter build: error: compiling with {missing} failed: ")


def test_pycache_name_and_tags():
    assert bundle.pycache_name("a/b/c.py", "cpython-313") == "a/b/__pycache__/c.cpython-313.pyc"
    assert bundle._valid_cache_tag("cpython-312")
    for bad in ("", ".", "..", "a/b", "x y", "tag\x00"):
        assert not bundle._valid_cache_tag(bad), bad


# -- what inspect and verify make of it ---------------------------------------------------


@needs_several
def test_inspect_shows_the_pycache_files(app_src, tmp_path, capsys):
    out = tmp_path / "app.pyz"
    pythons = list(PYTHONS.values())
    bundle.build([str(app_src)], str(out), compile_python=pythons, main="app.cli:main")
    report = inspect_archive(str(out))
    modules = {m.name: m for m in report.modules}
    assert "app.__pycache__" not in modules  # a cache directory, not a namespace package
    work = modules["app.work"]
    assert work.pycache == {tag: bundle.pycache_name("app/work.py", tag) for tag in PYTHONS}
    assert work.pyc is None and work.source == "app/work.py"
    if HERE_TAG in PYTHONS:
        assert work.pycache_state is PycState.VALID
        assert work.uses is Use.PYCACHE
    assert not any("__pycache__" in n for n in report.data_files)
    assert verify_archive(str(out)) == []

    assert cli("inspect", out) == 0
    text = capsys.readouterr().out
    tags = ", ".join(sorted(PYTHONS))
    (line,) = [line for line in text.splitlines() if line.strip().startswith("work ")]
    assert f"__pycache__: {tags}" in line
    if HERE_TAG in PYTHONS:
        assert line.endswith("(valid (unchecked hash))")
    assert cli("inspect", "--json", out) == 0
    shown = {m["name"]: m for m in json.loads(capsys.readouterr().out)["modules"]}
    assert set(shown["app.work"]["pycache"]) == set(PYTHONS)


def test_verify_judges_this_pythons_pycache_file(app_src, tmp_path):
    """Stale (checked hash against changed source): a warning; another Python's: nothing."""
    out = tmp_path / "lib.zip"
    bundle.build([str(app_src)], str(out), pycache=True, pyc_mode="checked-hash")
    mine = bundle.pycache_name("app/work.py", HERE_TAG)
    other = bundle.pycache_name("app/work.py", "cpython-299")
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(edited, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "app/work.py":
                data = b"VALUE = 'edited'\n"
            zout.writestr(info, data)
            if info.filename == mine:
                zout.writestr(other, b"not a pyc at all")  # another Python's: not judged here
    problems = verify_archive(str(edited))
    assert [(p.member, p.severity) for p in problems] == [(mine, "warning")]
    assert problems[0].problem == messages.PYC_STALE.format(kind="checked hash")


# -- importing: each Python uses its own --------------------------------------------------


@needs_several
@pytest.mark.skipif(not IMPORTER_USES_PYCACHE, reason="the importer doesn't use __pycache__ yet")
def test_each_python_runs_its_own_pyc(app_src, tmp_path):
    """The source is replaced after the build: only the .pyc can say 'pyc'."""
    built = tmp_path / "built.zip"
    bundle.build([str(app_src)], str(built), compile_python=list(PYTHONS.values()))
    archive = tmp_path / "app.zip"
    dropped = sorted(PYTHONS)[-1]  # this one's pyc is left out: it compiles the source
    with zipfile.ZipFile(built) as zin, zipfile.ZipFile(archive, "w") as zout:
        for info in zin.infolist():
            if info.filename == bundle.pycache_name("app/work.py", dropped):
                continue
            data = zin.read(info)
            if info.filename == "app/work.py":
                data = b"VALUE = 'source'\n"
            zout.writestr(info, data)
    code = (
        "import sys, zipimporter\n"
        "zipimporter.install()\n"
        f"sys.path.insert(0, {str(archive)!r})\n"
        "import app.work as w\n"
        "print(w.VALUE, w.__file__, type(w.__loader__).__module__)\n"
    )
    for tag, python in PYTHONS.items():
        run = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            text=True,
            env=python_env(tmp_path / f"cache-{tag}"),
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        value, file, loader = run.stdout.split()
        assert value == ("source" if tag == dropped else "pyc"), tag
        assert file == os.path.join(str(archive), "app", "work.py")
        assert loader == "zipimporter.importer"

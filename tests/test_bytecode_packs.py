"""Compiled-source packs: O(1) cache files per archive, written whole, safe under concurrency.

One pack per (archive, cache tag, optimization level) holds the compiled code
of the archive's source-only modules; it is read once, validated per member,
and written as a whole (temp file + rename) in batches and at exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import zipimporter
from conftest import make_zip, python_env, run_python
from test_caches import TAG, files_under, fresh_import, pack_entries, pack_file
from zipimporter import bytecode, bytecode_cache

# Runs in a subprocess: import NAMES from ARCHIVE through zipimporter and
# write to REPORT what was compiled, and which cache files under bytecode/
# were opened for reading and created (after zipimporter's exit handler).
DRIVER = textwrap.dedent(
    """
    import atexit, json, os, sys
    archive, report, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    watched = os.path.join(os.environ["ZIPIMPORTER_CACHE_DIR"], "bytecode")
    opened, created, compiled = [], [], []
    real_open = os.open

    def counting_open(path, flags, *args, **kwargs):
        if isinstance(path, str) and path.startswith(watched):
            (created if flags & os.O_CREAT else opened).append(path)
        return real_open(path, flags, *args, **kwargs)

    os.open = counting_open
    import zipimporter
    from zipimporter import bytecode
    real_compile = bytecode.compile_source

    def counting_compile(source, path, *args):
        compiled.append(os.path.relpath(path, archive))
        return real_compile(source, path, *args)

    bytecode.compile_source = counting_compile

    def write_report():
        with open(report, "w") as fp:
            json.dump({"compiled": compiled, "opened": opened, "created": created}, fp)

    atexit.register(write_report)  # before zipimporter's handler, so it runs after it
    zipimporter.install()
    sys.path.insert(0, archive)
    for name in names:
        __import__(name)
    """
)


def modules(count: int, version: int = 0) -> dict[str, str]:
    return {
        f"pkg{i % 4}/mod{i}.py": f"value = {i}\nversion = {version}\n" for i in range(count)
    } | {f"pkg{j}/__init__.py": "" for j in range(4)}


def names_of(count: int) -> list[str]:
    return [f"pkg{i % 4}.mod{i}" for i in range(count)]


def drive(
    cache: Path,
    archive: str,
    names: list[str],
    *,
    flags: tuple[str, ...] = (),
    cwd: Path | None = None,
) -> dict[str, list[str]]:
    report = cache.parent / f"report-{time.monotonic_ns()}.json"
    run = run_python(
        *flags, "-c", DRIVER, archive, str(report), ",".join(names), cache_dir=cache, cwd=cwd
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, list[str]] = json.loads(report.read_text())
    return result


# -- one file per archive ---------------------------------------------------------------


def test_a_process_uses_one_pack_per_archive(tmp_path, cache):
    path = make_zip(tmp_path / "app.zip", modules(300))
    names = names_of(300)
    pack = str(pack_file(cache, path))

    cold = drive(cache, path, names)
    assert len(cold["compiled"]) == 300 + 4  # the modules and their packages
    assert cold["opened"] == []  # no bytecode/ yet: nothing to look for
    # Written in a few batches and at exit, each a temp file renamed to the pack.
    assert 1 <= len(cold["created"]) <= 5
    assert all(p.startswith(pack + ".") and p.endswith(".tmp") for p in cold["created"])
    assert [p.name for p in (cache / "bytecode").iterdir()] == [Path(pack).name]
    assert len(pack_entries(Path(pack))) == 304

    warm = drive(cache, path, names)
    assert warm == {"compiled": [], "opened": [pack], "created": []}


def test_one_changed_module_rewrites_the_pack_once(tmp_path, cache):
    path = make_zip(tmp_path / "app.zip", modules(100))
    names = names_of(100)
    drive(cache, path, names)
    before = pack_entries(pack_file(cache, path))
    changed = modules(100) | {"pkg1/mod5.py": "value = 5\nversion = 1\n"}
    make_zip(tmp_path / "app.zip", changed)
    run = drive(cache, path, names)
    assert run["compiled"] == [os.path.join("pkg1", "mod5.py")]
    assert run["opened"] == [str(pack_file(cache, path))]
    assert len(run["created"]) == 1
    after = pack_entries(pack_file(cache, path))
    assert after.keys() == before.keys()
    differ = {name for name in after if after[name][:2] != before[name][:2]}
    assert differ == {os.path.join("pkg1", "mod5.py")}  # the member's new CRC-32 and size


def test_pending_code_is_used_before_it_is_written(tmp_path, cache, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n"})
    bytecode_cache._forget()
    compiled: list[str] = []
    original = bytecode.compile_source

    def counting(*args: object) -> object:
        compiled.append(str(args[1]))
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bytecode, "compile_source", counting)
    for _ in range(2):
        zipimporter._zip_directory_cache.clear()
        spec = zipimporter.zipimporter(path).find_spec("mod")
        assert spec is not None
    assert len(compiled) == 1
    assert files_under(cache, ".pack") == []  # not written yet: at exit, or flush()
    bytecode_cache.flush()
    assert set(pack_entries(pack_file(cache, path))) == {"mod.py"}


def test_batches_are_written_during_the_run(tmp_path, cache, monkeypatch):
    """New entries are written when BATCH are waiting, or as many as the pack already holds."""
    monkeypatch.setattr(bytecode_cache, "BATCH", 4)
    path = make_zip(tmp_path / "a.zip", {f"m{i}.py": f"value = {i}\n" for i in range(13)})
    bytecode_cache._forget()
    importer = zipimporter.zipimporter(path)
    sizes = []
    for i in range(13):
        assert importer.find_spec(f"m{i}") is not None
        pack = pack_file(cache, path)
        sizes.append(len(pack_entries(pack)) if pack.exists() else 0)
    assert sizes == [0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8]  # 4 new, then 4 more (pack had 4)
    bytecode_cache.flush()
    assert len(pack_entries(pack_file(cache, path))) == 13


# -- validation ----------------------------------------------------------------------


def test_changed_member_misses_and_others_still_hit(tmp_path, cache, monkeypatch):
    path = tmp_path / "a.zip"
    make_zip(path, {"a.py": "value = 'a'\n", "b.py": "value = 'b'\n"})
    for name in "ab":
        fresh_import(name, str(path))
    make_zip(path, {"a.py": "value = 'A!'\n", "b.py": "value = 'b'\n"})
    compiled: list[str] = []
    original = bytecode.compile_source
    monkeypatch.setattr(
        bytecode, "compile_source", lambda *a: compiled.append(a[1]) or original(*a)
    )
    assert fresh_import("a", str(path)).value == "A!"  # type: ignore[attr-defined]
    assert fresh_import("b", str(path)).value == "b"  # type: ignore[attr-defined]
    assert compiled == [f"{path}{os.sep}a.py"]


def test_a_foreign_pack_is_not_used(tmp_path, cache):
    """Another archive's pack, with the same member names, at this archive's pack path."""
    one = make_zip(tmp_path / "one.zip", {"mod.py": "value = 'one'\n"})
    two = make_zip(tmp_path / "two.zip", {"mod.py": "value = 'two'\n"})
    fresh_import("mod", one)
    pack_file(cache, two).write_bytes(pack_file(cache, one).read_bytes())
    assert fresh_import("mod", two).value == "two"  # type: ignore[attr-defined]
    entry = pack_entries(pack_file(cache, two))["mod.py"]
    assert entry[:2] != pack_entries(pack_file(cache, one))["mod.py"][:2]  # replaced


def test_a_pack_over_the_size_limit_is_not_read(tmp_path, cache, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n" * 200})
    fresh_import("mod", path)
    pack = pack_file(cache, path)
    monkeypatch.setattr(bytecode_cache, "MAX_PACK", pack.stat().st_size - 1)
    compiled: list[str] = []
    original = bytecode.compile_source
    monkeypatch.setattr(
        bytecode, "compile_source", lambda *a: compiled.append(a[1]) or original(*a)
    )
    assert fresh_import("mod", path).value == 1  # type: ignore[attr-defined]
    assert len(compiled) == 1


def test_entries_another_process_wrote_meanwhile_are_kept(tmp_path, cache):
    """A write re-reads a pack replaced since it was read, and keeps its entries."""
    path = make_zip(tmp_path / "a.zip", {f"{n}.py": f"value = {n!r}\n" for n in "abc"})
    fresh_import("a", path)  # the pack: {a}
    bytecode_cache._forget()
    zipimporter._zip_directory_cache.clear()
    assert zipimporter.zipimporter(path).find_spec("b") is not None  # read {a}; b waiting
    script = f"import sys, zipimporter; zipimporter.install(); sys.path[:0] = [{path!r}]; import c"
    other = run_python("-c", script, cache_dir=cache)
    assert other.returncode == 0, other.stderr
    assert set(pack_entries(pack_file(cache, path))) == {"a.py", "c.py"}
    bytecode_cache.flush()
    assert set(pack_entries(pack_file(cache, path))) == {"a.py", "b.py", "c.py"}


# -- processes -----------------------------------------------------------------------


def test_processes_filling_one_pack_at_once(tmp_path, cache):
    """Concurrent writers: the pack is always whole; entries lost to a race are compiled again."""
    count = 120
    path = make_zip(tmp_path / "app.zip", modules(count))
    names = names_of(count)
    reports = [tmp_path / f"report{p}.json" for p in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DRIVER, path, str(reports[p]),
             ",".join(n for i, n in enumerate(names) if i % 4 == p or i < 10)],
            env=python_env(cache),
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(4)
    ]  # fmt: skip
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    assert not list((cache / "bytecode").glob("*.tmp"))
    pack = pack_file(cache, path)
    saved = set(pack_entries(pack))  # a whole, valid pack ...
    assert saved <= {f"pkg{i % 4}{os.sep}mod{i}.py" for i in range(count)} | {
        f"pkg{j}{os.sep}__init__.py" for j in range(4)
    }
    final = drive(cache, path, names)
    # ... whose every entry is used; only what no surviving write kept is compiled.
    expected = sorted(
        f"pkg{i % 4}{os.sep}mod{i}.py"
        for i in range(count)
        if f"pkg{i % 4}{os.sep}mod{i}.py" not in saved
    )
    assert sorted(c for c in final["compiled"] if "__init__" not in c) == expected
    assert len(pack_entries(pack)) == count + 4


FORK_SCRIPT = """
import json, os, sys
import zipimporter
from zipimporter import bytecode_cache, cachedir
log = sys.argv[2]
real_write = cachedir.atomic_write

def recording(path, data):
    if path.endswith(".pack"):
        with open(log, "a") as fp:
            fp.write(json.dumps([os.getpid(), sorted(bytecode_cache.parse(data)[0])]) + "\\n")
    return real_write(path, data)

cachedir.atomic_write = recording
zipimporter.install()
sys.path.insert(0, sys.argv[1])
import a, b  # compiled, waiting to be written at exit
parent = os.getpid()
pid = os.fork()
if pid == 0:
    import c  # the child compiles c, and writes it (only it) at its exit
    sys.exit(0)
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    import a  # already imported: the child compiles and writes nothing
    sys.exit(0)
os.waitpid(pid, 0)
print(parent)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_write_its_parents_entries(tmp_path, cache):
    path = make_zip(tmp_path / "a.zip", {f"{n}.py": f"value = {n!r}\n" for n in "abc"})
    log = tmp_path / "writes.jsonl"
    run = run_python("-c", FORK_SCRIPT, path, str(log), cache_dir=cache)
    assert run.returncode == 0, run.stderr
    parent = int(run.stdout)
    writes = [json.loads(line) for line in log.read_text().splitlines()]
    children = [names for pid, names in writes if pid != parent]
    assert children == [["c.py"]]  # the first child's own entry, once; the second wrote nothing
    assert [names for pid, names in writes if pid == parent] == [["a.py", "b.py", "c.py"]]
    assert set(pack_entries(pack_file(cache, path))) == {"a.py", "b.py", "c.py"}


def test_dont_write_bytecode_in_a_process(tmp_path, cache):
    path = make_zip(tmp_path / "app.zip", modules(8))
    names = names_of(8)
    assert len(drive(cache, path, names, flags=("-B",))["compiled"]) == 12
    assert not (cache / "bytecode").exists() or not list((cache / "bytecode").iterdir())
    drive(cache, path, names)
    written = pack_file(cache, path).read_bytes()
    make_zip(tmp_path / "app.zip", modules(8) | {"pkg0/mod0.py": "value = 'new'\n"})
    run = drive(cache, path, names, flags=("-B",))
    assert run["compiled"] == [os.path.join("pkg0", "mod0.py")]  # the pack is still read
    assert run["created"] == []
    assert pack_file(cache, path).read_bytes() == written


def test_pycache_prefix_in_a_process(tmp_path, cache):
    """A relative prefix is taken from the working directory, as the stdlib does."""
    path = make_zip(tmp_path / "app.zip", modules(4))
    work = tmp_path / "work"
    work.mkdir()
    drive(cache, path, names_of(4), flags=("-X", "pycache_prefix=prefix"), cwd=work)
    (pack,) = files_under(work / "prefix", ".pack")
    assert pack == Path(f"{work / 'prefix'}{os.path.abspath(path)}.{TAG}.pack")
    assert len(pack_entries(pack)) == 8
    assert not (cache / "bytecode").exists()
    again = drive(cache, path, names_of(4), flags=("-X", "pycache_prefix=prefix"), cwd=work)
    assert again["compiled"] == []


# -- last use ----------------------------------------------------------------------


def test_reading_a_pack_marks_its_last_use_at_most_hourly(tmp_path, cache, monkeypatch):
    """Its access time is set when over an hour old (the kernel's relatime may set it too)."""
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n"})
    fresh_import("mod", path)
    pack = pack_file(cache, path)
    marks: list[object] = []
    original = os.utime

    def recording(target: object, *args: object, **kwargs: object) -> None:
        marks.append(target)
        original(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "utime", recording)
    now = time.time()
    original(pack, (now - 7200, now - 10800))
    fresh_import("mod", path)
    assert len(marks) == 1 and isinstance(marks[0], int)  # through the descriptor read
    st = pack.stat()
    assert st.st_atime > now - 60  # marked ...
    assert st.st_mtime == pytest.approx(now - 10800, abs=1)  # ... and not modified
    original(pack, (now - 600, now - 1200))
    fresh_import("mod", path)
    assert len(marks) == 1  # not again within the hour


def test_a_cache_directory_removed_before_exit_is_not_made_again(tmp_path):
    """Neither the packs written at exit nor the prune stamp recreate a removed cache."""
    archive = make_zip(tmp_path / "src.zip", {"gone.py": "value = 1\n"})
    cache = tmp_path / "cache"
    script = (
        "import shutil, sys, zipimporter\n"
        f"zipimporter.install(); sys.path.insert(0, {archive!r})\n"
        "import gone\n"
        f"shutil.rmtree({str(cache)!r})\n"
    )
    run = run_python("-c", script, cache_dir=cache)
    assert run.returncode == 0, run.stderr
    assert not cache.exists()

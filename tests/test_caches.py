"""The on-disk caches (persistent directory index, compiled-source packs) never change results."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import zipimporter
from conftest import DATE_TIME, Entry, make_zip, python_env
from zipimporter import archive, bytecode, bytecode_cache, cachedir, index_cache
from zipimporter.directory import open_index as read_directory


@pytest.fixture
def small_index_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Persist the index of any archive, so tests can use small ones."""
    monkeypatch.setattr(index_cache, "MIN_ENTRIES", 1)


def files_under(path: Path, suffix: str) -> list[Path]:
    return sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())


TAG = sys.implementation.cache_tag


def pack_file(cache: Path, archive_path: str, opt: str = "") -> Path:
    """Where an archive's compiled-source pack is kept (the documented layout)."""
    return cache / "bytecode" / f"{cachedir.path_key(archive_path)}.{TAG}{opt}.pack"


def pack_entries(path: Path) -> dict[str, tuple[int, ...]]:
    """A pack's index (member name -> crc, size, offset, length, entry crc)."""
    parsed = bytecode_cache.parse(path.read_bytes())
    assert parsed is not None, f"{path} is not a valid pack"
    return parsed[0]  # type: ignore[return-value]


def fresh_import(name: str, archive_path: str) -> object:
    """Import *name* from *archive_path* as a new process would (caches on disk stay).

    As the import system does: find the spec, put the module in sys.modules,
    execute it there.  Packs are dropped from memory first (a new process
    reads them again) and written after (as at the process's exit).
    """
    bytecode_cache._forget()
    zipimporter._zip_directory_cache.clear()
    sys.modules.pop(name, None)
    importer = zipimporter.zipimporter(archive_path)
    spec = importer.find_spec(name)
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    bytecode_cache.flush()
    return module


def rewrite_keeping_stat(path: Path, data: bytes) -> None:
    """Rewrite *path* in place (same inode) and put its mtime back."""
    st = path.stat()
    with open(path, "r+b") as fp:
        fp.truncate(0)
        fp.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# -- persistent directory index ---------------------------------------------


def test_index_is_saved_and_used(tmp_path, cache, small_index_threshold, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "x = 1\n", "pkg/__init__.py": ""})
    first = read_directory(path)
    saved = files_under(cache, ".idx")
    assert len(saved) == 1

    def no_parsing(*args: object) -> object:
        raise AssertionError("the saved index should have been used")

    monkeypatch.setattr(archive, "build_table", no_parsing)
    second = read_directory(path)
    assert second.keys() == first.keys() == {"mod.py", "pkg/__init__.py"}
    assert second["mod.py"] == first["mod.py"]


IMPLICIT = {
    "top.py": "",
    "ns/deep/mod.py": "",  # ns/ and ns/deep/ have no entries: implicit directories
    "pkg/": b"",  # an explicit one
    "pkg/__init__.py": "",
    "odd//x.py": "",  # 3.14's rules: implies odd// and odd/
    "slash//": b"",  # implies nothing
}


def derivations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the indexes whose implicit directories are derived from the names."""
    calls: list[str] = []
    original = archive.DirectoryIndex._implicit_dirs

    def counting(self: archive.DirectoryIndex) -> set[str]:
        calls.append(self.archive)
        return original(self)

    monkeypatch.setattr(archive.DirectoryIndex, "_implicit_dirs", counting)
    return calls


def dir_answers(path: str) -> dict[str, bool]:
    zipimporter._zip_directory_cache.clear()
    index = read_directory(path)
    names = ["ns/", "ns/deep/", "pkg/", "odd//", "odd/", "slash/", "missing/", "top.py/"]
    return {name: index.is_dir(name.replace("/", os.sep)) for name in names}


@pytest.mark.parametrize("embedded", [False, True], ids=["foreign", "embedded-index"])
def test_implicit_directories_are_saved_beside_the_index(
    tmp_path, cache, small_index_threshold, monkeypatch, embedded
):
    """The first directory miss of a big archive derives its implicit directories once;
    later opens (in other processes) read them from ``<key>.dirs``, with the same answers."""
    members = dict(IMPLICIT)
    if embedded:  # a real bundle of >= 2,048 entries, with its embedded index
        from zipimporter import bundle

        tree = tmp_path / "tree"
        for name, data in {**members, **{f"many/m{i}.py": "" for i in range(2100)}}.items():
            target = tree / name
            if name.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data if isinstance(data, bytes) else data.encode())
        path = str(tmp_path / "bundle.zip")
        bundle.build([str(tree)], path)
        assert isinstance(read_directory(path), index_cache.EmbeddedIndex)
    else:
        path = make_zip(tmp_path / "a.zip", members)
    calls = derivations(monkeypatch)
    first = dir_answers(path)
    assert calls == [path]
    (saved,) = files_under(cache, index_cache.DIRS_SUFFIX)
    expected = {"ns/": True, "ns/deep/": True, "pkg/": True, "missing/": False, "top.py/": False}
    assert {k: first[k] for k in expected} == expected
    assert dir_answers(path) == first and calls == [path]  # read back, not derived
    # Damaged, stale (another archive's directory) or forged lists are ignored.
    good = saved.read_bytes()
    for damaged in (good[:-1], good[:20] + bytes([good[20] ^ 1]) + good[21:], b"junk"):
        saved.write_bytes(damaged)
        assert dir_answers(path) == first
        assert len(calls) == 2 and saved.read_bytes() == good  # derived again, saved again
        calls.clear()
        calls.append(path)


def test_implicit_directories_of_archives_in_memory_stay_in_memory(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(index_cache, "MIN_ENTRIES", 1)
    data = Path(make_zip(tmp_path / "a.zip", IMPLICIT)).read_bytes()
    entry = zipimporter.from_bytes(data, "dirs-test")
    try:
        assert zipimporter.zipimporter(entry).find_spec("ns") is not None  # a namespace portion
    finally:
        zipimporter.forget_bytes(entry)
    assert files_under(cache, index_cache.DIRS_SUFFIX) == []


def count_table_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the archives whose name table is built (not loaded from the index cache).

    ``archive.build_table`` is wrapped wherever zipimporter calls it from,
    by module attribute or by imported name.
    """
    calls: list[str] = []
    original = archive.build_table

    def counting(*args: Any) -> Any:
        calls.append(str(args[2]))
        return original(*args)

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("zipimporter") and getattr(module, "build_table", None) is original:
            monkeypatch.setattr(module, "build_table", counting)
    return calls


def test_index_cache_entry_boundary_is_2048(tmp_path, cache, monkeypatch):
    """The README's number: archives of MIN_ENTRIES entries or more are indexed on disk."""
    assert index_cache.MIN_ENTRIES == 2048
    builds = count_table_builds(monkeypatch)

    def open_through_importer(path: str, last: int) -> None:
        zipimporter._zip_directory_cache.clear()
        assert zipimporter.zipimporter(path).find_spec(f"m{last}") is not None

    below = make_zip(tmp_path / "below.zip", {f"m{i}.py": "" for i in range(2047)})
    for _ in range(2):
        open_through_importer(below, 2046)
    assert builds == [below, below]
    assert files_under(cache, ".idx") == []

    builds.clear()
    at = make_zip(tmp_path / "at.zip", {f"m{i}.py": "" for i in range(2048)})
    open_through_importer(at, 2047)
    (saved,) = files_under(cache, ".idx")
    first = saved.stat()
    open_through_importer(at, 2047)
    assert builds == [at]  # the second open used the saved index ...
    assert saved.stat().st_ino == first.st_ino  # ... and did not write it again

    intact = saved.read_bytes()
    saved.write_bytes(intact[:-1] + bytes([intact[-1] ^ 0xFF]))
    open_through_importer(at, 2047)
    assert builds == [at, at]  # a corrupt index is not used ...
    assert saved.read_bytes() == intact  # ... and is written again


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["new-mtime", "same-mtime"])
def test_stale_index_after_rewrite_same_size(tmp_path, cache, small_index_threshold, keep_mtime):
    path = tmp_path / "a.zip"
    make_zip(path, {"mod.py": "value = 'old'\n", "other.py": ""})
    assert fresh_import("mod", str(path)).value == "old"  # type: ignore[attr-defined]
    before = path.stat().st_size
    data = make_zip(tmp_path / "b.zip", {"mod.py": "value = 'new'\n", "other.py": ""})
    payload = Path(data).read_bytes()
    assert len(payload) == before
    if keep_mtime:
        rewrite_keeping_stat(path, payload)
    else:
        path.write_bytes(payload)
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert fresh_import("mod", str(path)).value == "new"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],
        lambda b: b"",
        lambda b: b[:20] + bytes([b[20] ^ 0xFF]) + b[21:],
        lambda b: b[:-5] + bytes([b[-5] ^ 0x01]) + b[-4:],
        lambda b: b"garbage" * 100,
    ],
    ids=["truncated", "empty", "header-flip", "payload-flip", "garbage"],
)
def test_corrupt_index_is_ignored_and_rewritten(tmp_path, cache, small_index_threshold, damage):
    members = {f"m{i}.py": f"v = {i}\n" for i in range(50)}
    path = make_zip(tmp_path / "a.zip", members)
    good = read_directory(path)
    (saved,) = files_under(cache, ".idx")
    intact = saved.read_bytes()
    saved.write_bytes(damage(intact))
    again = read_directory(path)
    assert again.keys() == good.keys()
    assert all(again[name] == good[name] for name in members)
    assert saved.read_bytes() == intact  # rebuilt and saved again


def test_foreign_index_is_not_used(tmp_path, cache, small_index_threshold, monkeypatch):
    """An index saved for one archive is never applied to another's directory."""
    one = make_zip(tmp_path / "one.zip", {"a.py": "", "b.py": ""})
    two = make_zip(tmp_path / "two.zip", {"c.py": "", "d.py": "", "e.py": ""})
    read_directory(one)
    (saved,) = files_under(cache, ".idx")
    # Pretend two.zip's index lives where one.zip's does.
    monkeypatch.setattr(index_cache, "path_key", lambda p: saved.stem)
    assert index_cache._path(two) == str(saved)
    foreign = saved.read_bytes()
    index = read_directory(two)
    assert index.keys() == {"c.py", "d.py", "e.py"}
    assert saved.read_bytes() != foreign  # missed, so two.zip's own index was saved there


# -- compiled-source cache ----------------------------------------------------


def test_source_is_compiled_once_then_loaded(tmp_path, cache, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "def f():\n    return 42\n"})
    first = fresh_import("mod", path)
    assert first.f() == 42  # type: ignore[attr-defined]
    (saved,) = files_under(cache, ".pack")
    assert saved == pack_file(cache, path)
    assert set(pack_entries(saved)) == {"mod.py"}

    def no_compiling(*args: object) -> object:
        raise AssertionError("the cached code should have been used")

    monkeypatch.setattr(bytecode, "compile_source", no_compiling)
    second = fresh_import("mod", path)
    assert second.f() == 42  # type: ignore[attr-defined]
    assert second.f.__code__.co_filename == f"{path}{os.sep}mod.py"  # type: ignore[attr-defined]


def test_cached_code_gets_this_archive_path_as_filename(tmp_path, cache, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "def f():\n    return 1\n"})
    fresh_import("mod", path)
    monkeypatch.chdir(tmp_path)
    module = fresh_import("mod", "a.zip")  # same archive, relative path
    assert module.__file__ == f"a.zip{os.sep}mod.py"
    assert module.f.__code__.co_filename == f"a.zip{os.sep}mod.py"  # type: ignore[attr-defined]


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["new-mtime", "same-mtime"])
def test_changed_source_is_recompiled(tmp_path, cache, keep_mtime):
    path = tmp_path / "a.zip"
    make_zip(path, {"mod.py": "value = 'old'\n"})
    assert fresh_import("mod", str(path)).value == "old"  # type: ignore[attr-defined]
    payload = Path(make_zip(tmp_path / "b.zip", {"mod.py": "value = 'new'\n"})).read_bytes()
    if keep_mtime:
        rewrite_keeping_stat(path, payload)
    else:
        path.write_bytes(payload)
    assert fresh_import("mod", str(path)).value == "new"  # type: ignore[attr-defined]


def not_code_entry(intact: bytes) -> bytes:
    """The pack with its one entry replaced by a valid marshal of something not code."""
    import marshal
    import zlib

    ((name, (crc, size, _, _, _)),) = bytecode_cache.parse(intact)[0].items()  # type: ignore[index]
    blob = marshal.dumps(("not", "code"))
    raw = marshal.dumps({name: (crc, size, 0, len(blob), zlib.crc32(blob))})
    header = bytecode_cache.HEADER.pack(
        bytecode_cache.MAGIC, importlib.util.MAGIC_NUMBER, len(raw), zlib.crc32(raw)
    )
    return header + raw + blob


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:10],
        lambda b: b"",
        lambda b: b[:20] + b"\x00" * (len(b) - 20),
        lambda b: b[:-3],
        lambda b: b"\x00" * 4 + b[4:],
        lambda b: b[:8] + bytes([b[8] ^ 1]) + b[9:],  # importlib magic: another Python's
        lambda b: b[:16] + bytes([b[16] ^ 1]) + b[17:],  # index checksum
        lambda b: b[:24] + bytes([b[24] ^ 1]) + b[25:],  # in the index
        lambda b: b[:-2] + bytes([b[-2] ^ 1]) + b[-1:],  # in the entry
        not_code_entry,
        lambda b: b"garbage" * 100,
    ],
    ids=[
        "short", "empty", "zeroed-body", "truncated-entry", "bad-magic", "other-python",
        "index-crc", "index-flip", "entry-flip", "not-code", "garbage",
    ],
)  # fmt: skip
def test_corrupt_pack_is_ignored_and_rewritten(tmp_path, cache, damage):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 7\n"})
    fresh_import("mod", path)
    (saved,) = files_under(cache, ".pack")
    intact = saved.read_bytes()
    saved.write_bytes(damage(intact))
    assert fresh_import("mod", path).value == 7  # type: ignore[attr-defined]
    assert saved.read_bytes() == intact


def test_unwritable_cache_directory_still_imports(tmp_path, monkeypatch, small_index_threshold):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 3\n"})
    assert fresh_import("mod", path).value == 3  # type: ignore[attr-defined]
    assert fresh_import("mod", path).value == 3  # type: ignore[attr-defined]


def test_unwritable_cache_entries_still_import(tmp_path, cache, small_index_threshold):
    """Writing every entry fails (as in a read-only cache, which root could still write).

    The cache directories are fine, but a directory stands where the index
    file goes and a file where the archive's compiled-source directory goes.
    """
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 3\n"})
    key = cachedir.path_key(path)
    (cache / "index" / f"{key}.idx").mkdir(mode=0o700, parents=True)
    (cache / "bytecode").mkdir(mode=0o700)
    pack_file(cache, path).mkdir(mode=0o700)
    (pack_file(cache, path) / "keep").write_text("a directory where the pack goes")
    before = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    for _ in range(2):
        assert fresh_import("mod", path).value == 3  # type: ignore[attr-defined]
    assert sorted(p.relative_to(cache) for p in cache.rglob("*")) == before
    assert (pack_file(cache, path) / "keep").read_text() == "a directory where the pack goes"


def test_files_in_place_of_cache_directories(tmp_path, cache, small_index_threshold):
    """Regular files where ``index`` and ``bytecode`` should be: imports work, files stay.

    Meaningful as root too (unlike a read-only directory, which root can write).
    """
    cache.mkdir(mode=0o700)
    for name in ("index", "bytecode"):
        (cache / name).write_text(f"{name} is taken")
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 3\n"})
    with pytest.warns(cachedir.CacheDisabledWarning) as record:
        for _ in range(2):
            assert fresh_import("mod", path).value == 3  # type: ignore[attr-defined]
    assert sorted(str(w.message) for w in record) == sorted(
        cachedir.CACHE_DISABLED.format(path=str(cache / name), reason=cachedir.NOT_A_DIRECTORY)
        for name in ("index", "bytecode")
    )
    assert sorted(p.name for p in cache.iterdir()) == ["bytecode", "index"]
    for name in ("index", "bytecode"):
        assert (cache / name).read_text() == f"{name} is taken"


def test_dont_write_bytecode_writes_nothing_but_reads(tmp_path, cache, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n", "other.py": "value = 2\n"})
    fresh_import("mod", path)
    (saved,) = files_under(cache, ".pack")
    written = saved.read_bytes()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    fresh_import("other", path)
    assert files_under(cache, ".pack") == [saved]
    assert saved.read_bytes() == written  # nothing new written
    monkeypatch.setattr(bytecode, "compile_source", lambda *a: pytest.fail("not read"))
    assert fresh_import("mod", path).value == 1  # type: ignore[attr-defined]


def test_pycache_prefix_is_honoured(tmp_path, cache, monkeypatch):
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n"})
    fresh_import("mod", path)
    (saved,) = files_under(prefix, ".pack")
    # Where the stdlib would put a "<archive>.py"'s cache, as .pack.
    assert saved == Path(f"{prefix}{os.path.abspath(path)}.{TAG}.pack")
    assert set(pack_entries(saved)) == {"mod.py"}
    assert files_under(cache, ".pack") == []


@pytest.mark.parametrize("how", ["env", "install"])
def test_caches_can_be_turned_off(tmp_path, cache, small_index_threshold, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("ZIPIMPORTER_CACHE", "0")
    else:
        zipimporter.install(cache=False)
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n"})
    assert fresh_import("mod", path).value == 1  # type: ignore[attr-defined]
    assert not cache.exists()
    zipimporter.uninstall()
    assert cachedir.cache_root() == (None if how == "env" else str(cache))


def test_install_relocates_caches(tmp_path, cache, small_index_threshold):
    elsewhere = tmp_path / "elsewhere"
    with zipimporter.install(cache=elsewhere):
        path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n"})
        fresh_import("mod", path)
    assert len(files_under(elsewhere, ".pack")) == 1
    assert len(files_under(elsewhere, ".idx")) == 1
    assert not cache.exists()
    assert cachedir.cache_root() == str(cache)


def test_xdg_cache_home_is_the_default_location(tmp_path, monkeypatch):
    monkeypatch.delenv("ZIPIMPORTER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.cache_root() == str(tmp_path / "xdg" / "zipimporter")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert cachedir.cache_root() == os.path.join(os.path.expanduser("~"), ".cache", "zipimporter")


def test_optimization_levels_use_separate_packs(tmp_path, cache):
    source = 'def f():\n    assert False, "asserts are on"\n    return "asserts are off"\n'
    path = make_zip(tmp_path / "a.zip", {"mod.py": Entry(source, date_time=DATE_TIME)})
    script = textwrap.dedent(
        f"""
        import sys, zipimporter
        zipimporter.install()
        sys.path.insert(0, {path!r})
        import mod
        try:
            print(mod.f())
        except AssertionError as e:
            print(e)
        """
    )
    env = python_env(cache)
    outputs = []
    for flags in ([], ["-O"], [], ["-O"]):
        run = subprocess.run(
            [sys.executable, *flags, "-c", script], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout.strip())
    assert outputs == ["asserts are on", "asserts are off"] * 2
    assert files_under(cache, ".pack") == [pack_file(cache, path, ".opt-1"), pack_file(cache, path)]
    assert all(set(pack_entries(p)) == {"mod.py"} for p in files_under(cache, ".pack"))


def test_processes_filling_the_caches_at_once(tmp_path, cache):
    """Several processes import from one archive while its caches are being written."""
    members = {f"mod{i}.py": f"value = {i}\n" * 50 for i in range(300)}
    path = make_zip(tmp_path / "a.zip", members)
    script = textwrap.dedent(
        f"""
        import sys, zipimporter
        from zipimporter import index_cache
        index_cache.MIN_ENTRIES = 1
        zipimporter.install()
        sys.path.insert(0, {path!r})
        total = sum(__import__(f"mod{{i}}").value for i in range(300))
        print(total)
        """
    )
    env = python_env(cache)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, results
    assert {out.strip() for out, _ in results} == {str(sum(range(300)))}
    (pack,) = files_under(cache, ".pack")
    assert len(pack_entries(pack)) == 300  # each process compiled all 300: any last write has all
    assert len(files_under(cache, ".idx")) == 1
    assert not list(cache.rglob("*.tmp"))  # every temp file was renamed or removed
    # And what they left behind is valid: a fresh import reads it.
    assert fresh_import("mod5", path).value == 5  # type: ignore[attr-defined]


def test_cache_paths_are_per_archive(tmp_path, cache):
    one = make_zip(tmp_path / "one.zip", {"mod.py": "value = 1\n"})
    two = make_zip(tmp_path / "two.zip", {"mod.py": "value = 1\n"})
    fresh_import("mod", one)
    fresh_import("mod", two)
    saved = files_under(cache, ".pack")
    assert saved == sorted([pack_file(cache, one), pack_file(cache, two)])
    assert saved[0] != saved[1]

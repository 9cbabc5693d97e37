"""Archives that change under a running program, and many threads importing at once."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path

import pytest

import zipimporter
from conftest import make_zip
from zipimporter import archive, environment, importer
from zipimporter.archive import ArchiveChanged, read_directory, read_member


def load(importer: zipimporter.zipimporter, name: str) -> object:
    spec = importer.find_spec(name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same_size_variant(tmp_path: Path, members: dict[str, str]) -> bytes:
    return Path(make_zip(tmp_path / "variant.zip", members)).read_bytes()


@pytest.mark.parametrize("how", ["in-place-same-mtime", "in-place", "replaced"])
def test_rewritten_archive_never_runs_stale_code(tmp_path, how):
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 'old'\n", "other.py": "x = 1\n"})
    importer = zipimporter.zipimporter(str(path))
    assert load(importer, "mod").value == "old"  # type: ignore[attr-defined]

    new = same_size_variant(tmp_path, {"mod.py": "value = 'NEW'\n", "other.py": "x = 2\n"})
    assert len(new) == path.stat().st_size
    st = path.stat()
    if how == "replaced":
        staged = tmp_path / "staged.zip"
        staged.write_bytes(new)
        os.replace(staged, path)
    else:
        with open(path, "r+b") as fp:
            fp.write(new)
        if how == "in-place-same-mtime":
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    # The same importer object, with its old directory in the cache: it notices.
    assert load(importer, "mod").value == "NEW"  # type: ignore[attr-defined]
    assert load(importer, "other").x == 2  # type: ignore[attr-defined]
    assert importer.get_data("mod.py") == b"value = 'NEW'\n"
    assert importer.get_source("other") == "x = 2\n"


def test_layout_change_is_seen(tmp_path):
    """A rewrite that moves members (different size) is re-indexed, not misread."""
    path = tmp_path / "app.zip"
    make_zip(path, {"a.py": "value = 1\n"})
    importer = zipimporter.zipimporter(str(path))
    assert load(importer, "a").value == 1  # type: ignore[attr-defined]
    make_zip(path, {"pad.bin": "x" * 5000, "a.py": "value = 2\n", "b.py": "value = 3\n"})
    assert load(importer, "a").value == 2  # type: ignore[attr-defined]
    assert load(importer, "b").value == 3  # type: ignore[attr-defined]


def test_read_with_stale_index_is_refused(tmp_path):
    """The lowest layer refuses to read through a directory that no longer fits the file.

    It says so with the internal ArchiveChanged signal, which no handler of
    import errors catches; without *expect* (inspect, verify) it never does.
    """
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 'old'\n"})
    index = read_directory(str(path))
    member = index["mod.py"]
    path.write_bytes(same_size_variant(tmp_path, {"mod.py": "value = 'NEW'\n"}))
    with pytest.raises(ArchiveChanged, match="changed since it was indexed") as caught:
        try:
            read_member(str(path), member, index.stat)
        except ImportError:  # what a careless read path would write: it must not catch this
            pytest.fail("the change signal was caught as an ImportError")
    assert caught.value.archive == str(path)
    # Without *expect* (inspect, verify) there is no signal: the old member's
    # local header and CRC-32 no longer match, an ordinary error.
    with pytest.raises(zipimporter.ZipImportError, match="do not match"):
        read_member(str(path), member)


class _KeepsChanging:
    """read_member as the importer calls it, with the archive touched on disk first.

    os.utime changes the archive's ctime, so every read sees an archive that
    changed since its directory was read: the redo after a change meets
    another change.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reads = 0

    def __call__(self, *args: object) -> bytes:
        self.reads += 1
        os.utime(self.path)
        return read_member(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "operation",
    [
        lambda imp: imp.find_spec("mod"),
        lambda imp: imp.get_code("mod"),
        lambda imp: imp.get_source("mod"),
        lambda imp: imp.get_data("mod.py"),
        lambda imp: imp.get_filename("mod"),
    ],
    ids=["find_spec", "get_code", "get_source", "get_data", "get_filename"],
)
def test_archive_that_keeps_changing_gives_a_zipimporterror(tmp_path, monkeypatch, operation):
    """A second change during the redo is a ZipImportError naming the archive, never the signal."""
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "0")  # every operation reads the archive
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 1\n"})
    imp = zipimporter.zipimporter(str(path))
    keeps_changing = _KeepsChanging(path)
    monkeypatch.setattr(importer, "read_member", keeps_changing)
    with pytest.raises(zipimporter.ZipImportError) as caught:
        operation(imp)
    assert str(caught.value) == importer.ARCHIVE_KEEPS_CHANGING.format(archive=str(path))
    assert caught.value.path == str(path)
    assert keeps_changing.reads == 2  # the read, and one redo
    monkeypatch.undo()
    assert imp.get_data("mod.py") == b"value = 1\n"  # once it holds still, all is well


def test_deleted_archive_gives_a_clear_error(tmp_path):
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 1\n"})
    importer = zipimporter.zipimporter(str(path))
    path.unlink()
    with pytest.raises(zipimporter.ZipImportError, match=r"app\.zip"):
        importer.get_data("mod.py")


def test_declared_size_over_the_limit_is_refused(tmp_path, monkeypatch):
    """ZIPIMPORTER_MAX_MEMBER_SIZE is read at each use: no re-import to change it."""
    path = make_zip(
        tmp_path / "a.zip", {"big.bin": b"x" * 5000, "edge.bin": b"e" * 4096, "small.bin": b"y"}
    )
    imp = zipimporter.zipimporter(path)
    assert imp.get_data("big.bin") == b"x" * 5000  # the default (1 GiB) allows it
    monkeypatch.setenv("ZIPIMPORTER_MAX_MEMBER_SIZE", "4096")
    assert imp.get_data("small.bin") == b"y"
    assert imp.get_data("edge.bin") == b"e" * 4096  # exactly the limit reads
    with pytest.raises(zipimporter.ZipImportError) as caught:
        imp.get_data("big.bin")
    where = f"{'big.bin'!r} in {path!r}"
    assert str(caught.value) == archive.MEMBER_TOO_BIG.format(size=5000, limit=4096, where=where)
    assert "ZIPIMPORTER_MAX_MEMBER_SIZE" in str(caught.value)
    assert caught.value.path == path
    monkeypatch.setenv("ZIPIMPORTER_MAX_MEMBER_SIZE", "5000")
    assert imp.get_data("big.bin") == b"x" * 5000  # raised again: readable again


@pytest.mark.parametrize("value", ["", "lots", "-1", "1.5", "0x1000"])
def test_invalid_member_size_limit_means_the_default(monkeypatch, value):
    monkeypatch.setenv("ZIPIMPORTER_MAX_MEMBER_SIZE", value)
    assert archive.max_member_size() == archive.DEFAULT_MAX_MEMBER_SIZE == 1 << 30


@pytest.mark.parametrize(
    "value", ["1", " 7 ", "", "caf\u00e9", "\udcff-undecodable", "\u0661\u0662"]
)
def test_environment_get_is_os_environ_get(monkeypatch, value):
    """The fast reader behind every per-import setting answers as ``os.environ.get``,
    also for values os.environ stores escaped; ``int()`` of a non-ASCII digit works."""
    name = "ZIPIMPORTER_TEST_SETTING"
    monkeypatch.delenv(name, raising=False)
    assert environment.get(name) is None
    monkeypatch.setenv(name, value)
    assert environment.get(name) == os.environ.get(name) == value
    monkeypatch.setenv("ZIPIMPORTER_MAX_MEMBER_SIZE", "\u0661\u0662")  # Arabic-Indic 12
    assert archive.max_member_size() == 12
    assert doctest.testmod(environment).failed == 0


def test_cache_root_follows_the_environment_at_each_call(tmp_path, monkeypatch):
    """cache_root() remembers its last answer only for the same variables."""
    from zipimporter import cachedir

    monkeypatch.setattr(cachedir, "_override", cachedir._UNSET)
    for name in ("ZIPIMPORTER_CACHE", "ZIPIMPORTER_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cachedir.cache_root() == str(tmp_path / "home" / ".cache" / "zipimporter")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.cache_root() == str(tmp_path / "xdg" / "zipimporter")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cachedir.cache_root() == str(tmp_path / "home" / ".cache" / "zipimporter")
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(tmp_path / "explicit"))
    assert cachedir.cache_root() == str(tmp_path / "explicit")
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "off")
    assert cachedir.cache_root() is None
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "1")
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", "rel-cache")  # follows the working directory
    for where in (tmp_path / "a", tmp_path / "b"):
        where.mkdir()
        monkeypatch.chdir(where)
        assert cachedir.cache_root() == str(where / "rel-cache")


def test_threads_importing_from_one_archive(tmp_path, monkeypatch):
    """8 threads x 300 imports of the same and different modules: each body runs once."""
    modules = 60
    members = {
        f"mod{i}.py": f"import sys\nsys._zipimporter_test_log.append({i})\nvalue = {i}\n"
        for i in range(modules)
    }
    members["pkg/__init__.py"] = "import sys\nsys._zipimporter_test_log.append('pkg')\n"
    members["pkg/sub.py"] = "from . import helper\nvalue = helper.value * 2\n"
    members["pkg/helper.py"] = "value = 21\n"
    path = make_zip(tmp_path / "threads.zip", members)
    log: list[object] = []
    monkeypatch.setattr(sys, "_zipimporter_test_log", log, raising=False)
    monkeypatch.setattr(sys, "path", [path, *sys.path])
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(seed: int) -> None:
        try:
            start.wait()
            for n in range(300):
                i = (seed * 7 + n) % modules
                assert importlib.import_module(f"mod{i}").value == i
                if n % 10 == 0:
                    assert importlib.import_module("pkg.sub").value == 42
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    with zipimporter.install():
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sorted(log, key=str) == sorted([*range(modules), "pkg"], key=str)
    for i in range(modules):
        assert isinstance(sys.modules[f"mod{i}"].__loader__, zipimporter.zipimporter)


def test_rewrite_is_seen_when_code_comes_from_the_bytecode_cache(tmp_path, monkeypatch):
    """Cached code is only used while the archive is still the one indexed."""
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 'old'\n"})
    importer = zipimporter.zipimporter(str(path))
    assert load(importer, "mod").value == "old"  # type: ignore[attr-defined]
    assert load(importer, "mod").value == "old"  # now from the bytecode cache
    st = path.stat()
    with open(path, "r+b") as fp:
        fp.write(same_size_variant(tmp_path, {"mod.py": "value = 'NEW'\n"}))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load(importer, "mod").value == "NEW"  # type: ignore[attr-defined]


def test_module_added_by_a_rewrite_is_found(tmp_path):
    path = tmp_path / "app.zip"
    make_zip(path, {"a.py": "value = 1\n"})
    importer = zipimporter.zipimporter(str(path))
    assert importer.find_spec("b") is None
    make_zip(path, {"a.py": "value = 1\n", "b.py": "value = 2\n"})
    assert load(importer, "b").value == 2  # type: ignore[attr-defined]
    assert importer.get_data("b.py") == b"value = 2\n"

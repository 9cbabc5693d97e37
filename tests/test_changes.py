"""Archives that change under a running program, and many threads importing at once."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path

import pytest

import zipimporter
from conftest import make_zip
from zipimporter import archive
from zipimporter.archive import ArchiveChangedError, read_directory, read_member


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
    """The lowest layer refuses to read through a directory that no longer fits the file."""
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 'old'\n"})
    index = read_directory(str(path))
    member = index["mod.py"]
    path.write_bytes(same_size_variant(tmp_path, {"mod.py": "value = 'NEW'\n"}))
    with pytest.raises(ArchiveChangedError, match="changed since it was indexed") as caught:
        read_member(str(path), member, index.stat)
    assert isinstance(caught.value, zipimporter.ZipImportError)
    assert str(path) in str(caught.value)


def test_deleted_archive_gives_a_clear_error(tmp_path):
    path = tmp_path / "app.zip"
    make_zip(path, {"mod.py": "value = 1\n"})
    importer = zipimporter.zipimporter(str(path))
    path.unlink()
    with pytest.raises(zipimporter.ZipImportError, match=r"app\.zip"):
        importer.get_data("mod.py")


def test_declared_size_over_the_limit_is_refused(tmp_path, monkeypatch):
    path = make_zip(tmp_path / "a.zip", {"big.bin": b"x" * 5000, "small.bin": b"y"})
    monkeypatch.setattr(archive, "MAX_MEMBER_SIZE", 4096)
    importer = zipimporter.zipimporter(path)
    assert importer.get_data("small.bin") == b"y"
    with pytest.raises(zipimporter.ZipImportError, match="limit of 4096") as caught:
        importer.get_data("big.bin")
    assert path in str(caught.value)


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

"""install() / uninstall() / installed(): our hook in the stdlib's place."""

from __future__ import annotations

import importlib
import sys
import zipimport

import pytest

import zipimporter
from conftest import make_zip
from zipimporter import cachedir


@pytest.fixture
def archive(tmp_path) -> str:
    return make_zip(tmp_path / "hooked.zip", {"hooked_mod.py": "value = 1\n"})


def test_not_installed_by_import():
    assert not zipimporter.installed()
    assert zipimporter.zipimporter not in sys.path_hooks
    assert zipimport.zipimporter in sys.path_hooks


def test_install_replaces_stdlib_hook_in_place():
    before = sys.path_hooks[:]
    position = before.index(zipimport.zipimporter)
    zipimporter.install()
    assert zipimporter.installed()
    assert sys.path_hooks[position] is zipimporter.zipimporter
    assert zipimport.zipimporter not in sys.path_hooks
    assert len(sys.path_hooks) == len(before)
    assert [h for i, h in enumerate(sys.path_hooks) if i != position] == [
        h for i, h in enumerate(before) if i != position
    ]
    zipimporter.uninstall()
    assert sys.path_hooks == before
    assert all(a is b for a, b in zip(sys.path_hooks, before, strict=True))
    assert not zipimporter.installed()


def test_install_twice_is_harmless():
    before = sys.path_hooks[:]
    first = zipimporter.install()
    after_first = sys.path_hooks[:]
    second = zipimporter.install()
    assert sys.path_hooks == after_first
    assert sys.path_hooks.count(zipimporter.zipimporter) == 1
    assert first.owner and not second.owner
    zipimporter.uninstall()
    assert sys.path_hooks == before
    zipimporter.uninstall()  # a second uninstall does nothing
    assert sys.path_hooks == before


def test_context_manager():
    before = sys.path_hooks[:]
    with zipimporter.install() as installation:
        assert zipimporter.installed()
        assert installation.owner
    assert not zipimporter.installed()
    assert sys.path_hooks == before


def test_context_manager_uninstalls_on_error():
    before = sys.path_hooks[:]
    with pytest.raises(RuntimeError), zipimporter.install():
        raise RuntimeError("inside")
    assert sys.path_hooks == before


def test_nested_context_managers():
    before = sys.path_hooks[:]
    with zipimporter.install():
        with zipimporter.install() as inner:
            assert not inner.owner
        # Only the owning (outer) block uninstalls.
        assert zipimporter.installed()
        with zipimporter.install():
            pass
        assert zipimporter.installed()
    assert not zipimporter.installed()
    assert sys.path_hooks == before


def test_inner_with_after_plain_install_does_not_uninstall():
    zipimporter.install()
    with zipimporter.install():
        pass
    assert zipimporter.installed()
    zipimporter.uninstall()
    assert not zipimporter.installed()


def test_install_without_stdlib_hook(monkeypatch):
    others = [h for h in sys.path_hooks if h is not zipimport.zipimporter]
    monkeypatch.setattr(sys, "path_hooks", others[:])
    with zipimporter.install():
        assert sys.path_hooks[0] is zipimporter.zipimporter
        assert sys.path_hooks[1:] == others
    assert sys.path_hooks == others


def test_install_drops_stdlib_and_none_cache_entries(archive, tmp_path):
    missing = str(tmp_path / "missing.zip")
    sys.path[:0] = [missing, archive]
    importlib.import_module("hooked_mod")
    std_finder = sys.path_importer_cache[archive]
    assert type(std_finder) is zipimport.zipimporter
    assert sys.path_importer_cache[missing] is None
    other = {p: f for p, f in sys.path_importer_cache.items() if p not in (archive, missing)}
    other = {p: f for p, f in other.items() if f is not None}

    with zipimporter.install():
        assert archive not in sys.path_importer_cache
        assert missing not in sys.path_importer_cache
        # Entries of other finders stay, the very same objects.
        for path, finder in other.items():
            assert sys.path_importer_cache[path] is finder
        sys.modules.pop("hooked_mod")
        module = importlib.import_module("hooked_mod")
        assert type(module.__loader__) is zipimporter.zipimporter
        assert type(sys.path_importer_cache[archive]) is zipimporter.zipimporter

    # Our entries went; the dropped ones are back, the very same objects.
    assert sys.path_importer_cache[archive] is std_finder
    assert sys.path_importer_cache[missing] is None
    assert not any(isinstance(f, zipimporter.zipimporter) for f in sys.path_importer_cache.values())


def test_uninstall_keeps_entries_made_after_install(archive, tmp_path):
    later = make_zip(tmp_path / "later.zip", {"later_mod.py": "value = 2\n"})
    with zipimporter.install():
        sys.path.insert(0, later)
        importlib.import_module("later_mod")
        assert type(sys.path_importer_cache[later]) is zipimporter.zipimporter
    # Our finder is not left in the cache after uninstalling.
    assert later not in sys.path_importer_cache
    sys.modules.pop("later_mod")
    module = importlib.import_module("later_mod")
    assert type(module.__loader__) is zipimport.zipimporter


def test_imports_after_uninstall_use_stdlib(archive):
    sys.path.insert(0, archive)
    with zipimporter.install():
        assert type(importlib.import_module("hooked_mod").__loader__) is zipimporter.zipimporter
    sys.modules.pop("hooked_mod")
    assert type(importlib.import_module("hooked_mod").__loader__) is zipimport.zipimporter


def test_directories_still_use_file_finder(tmp_path, installed):
    (tmp_path / "plain_dir_mod.py").write_text("value = 3\n")
    sys.path.insert(0, str(tmp_path))
    module = importlib.import_module("plain_dir_mod")
    assert module.value == 3
    assert type(sys.path_importer_cache[str(tmp_path)]).__name__ == "FileFinder"


def test_hook_refuses_non_archives(tmp_path, installed):
    (tmp_path / "notzip.txt").write_text("hello")
    with pytest.raises(ImportError):
        zipimporter.zipimporter(str(tmp_path / "notzip.txt"))
    sys.path.insert(0, str(tmp_path / "notzip.txt"))
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("anything_at_all_zzz")
    assert sys.path_importer_cache[str(tmp_path / "notzip.txt")] is None


# -- the cache setting across nested installs ------------------------------------


def test_nested_install_restores_the_cache_setting(cache_dir, tmp_path):
    env_root = str(cache_dir)
    assert cachedir.cache_root() == env_root
    with zipimporter.install() as outer:
        assert outer.owner
        assert cachedir.cache_root() == env_root
        with zipimporter.install(cache=False) as inner:
            assert not inner.owner
            assert cachedir.cache_root() is None
        # Leaving the inner block puts the outer setting back.
        assert cachedir.cache_root() == env_root
        assert zipimporter.installed()
    assert cachedir.cache_root() == env_root
    assert not zipimporter.installed()


def test_nested_installs_with_different_cache_arguments(cache_dir, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    with zipimporter.install(cache=one):
        assert cachedir.cache_root() == str(one)
        with zipimporter.install(cache=two):
            assert cachedir.cache_root() == str(two)
            with zipimporter.install(cache=False):
                assert cachedir.cache_root() is None
                with zipimporter.install():  # True: keep what is in force
                    assert cachedir.cache_root() is None
                assert cachedir.cache_root() is None
            assert cachedir.cache_root() == str(two)
        assert cachedir.cache_root() == str(one)
    assert cachedir.cache_root() == str(cache_dir)


def test_nested_install_restores_the_cache_setting_on_error(cache_dir):
    with zipimporter.install():
        with pytest.raises(RuntimeError), zipimporter.install(cache=False):
            raise RuntimeError("inside")
        assert cachedir.cache_root() == str(cache_dir)


def test_nested_install_writes_nothing_then_caching_resumes(cache, tmp_path, monkeypatch):
    from zipimporter import bytecode_cache

    archive = make_zip(tmp_path / "nested.zip", {"one.py": "value = 1\n", "two.py": "value = 2\n"})
    sys.path.insert(0, archive)
    stored: list[str] = []
    original = bytecode_cache.store

    def recording(archive: str, member: object, modpath: str, code: object) -> None:
        stored.append(modpath)
        original(archive, member, modpath, code)  # type: ignore[arg-type]

    monkeypatch.setattr(bytecode_cache, "store", recording)
    with zipimporter.install():
        with zipimporter.install(cache=False):
            importlib.import_module("one")
        importlib.import_module("two")
    bytecode_cache.flush()  # what exit does
    (pack,) = cache.rglob("*.pack")
    assert set(bytecode_cache.parse(pack.read_bytes())[0]) == {"two.py"}
    assert len(stored) == 2  # asked to store both; only the second had a cache


def test_uninstall_restores_the_setting_from_before_install(cache_dir, tmp_path):
    before = tmp_path / "before"
    cachedir.configure(before)
    try:
        zipimporter.install(cache=False)
        assert cachedir.cache_root() is None
        zipimporter.install(cache=tmp_path / "later")  # already installed: applies
        assert cachedir.cache_root() == str(tmp_path / "later")
        zipimporter.uninstall()
        assert cachedir.cache_root() == str(before)  # not the environment's
        zipimporter.uninstall()  # a second uninstall changes nothing
        assert cachedir.cache_root() == str(before)
    finally:
        cachedir.configure()
    assert cachedir.cache_root() == str(cache_dir)


def test_install_twice_keeps_the_first_cache_setting(cache_dir):
    zipimporter.install(cache=False)
    zipimporter.install()  # installed already, and True keeps the setting
    assert cachedir.cache_root() is None
    zipimporter.uninstall()
    assert cachedir.cache_root() == str(cache_dir)


def test_install_twice_with_a_cache_argument_applies_it_until_uninstall(cache_dir):
    zipimporter.install()
    zipimporter.install(cache=False)  # not a with block: nothing to restore it but uninstall
    assert cachedir.cache_root() is None
    zipimporter.uninstall()
    assert cachedir.cache_root() == str(cache_dir)


def test_inner_block_left_after_uninstall_changes_nothing(cache_dir, tmp_path):
    zipimporter.install(cache=tmp_path / "outer")
    with zipimporter.install(cache=False):
        zipimporter.uninstall()
        assert cachedir.cache_root() == str(cache_dir)
    # The inner block's restore does not bring the outer install's setting back.
    assert cachedir.cache_root() == str(cache_dir)
    assert not zipimporter.installed()

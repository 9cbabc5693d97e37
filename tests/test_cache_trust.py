"""The on-disk caches are trusted only as ssh trusts ~/.ssh, and are never a way out.

A cache directory someone else can write to is refused (with one warning) and
the import goes on without it; directories are made 0700; a symlink planted as
a cache entry is neither read nor written through.  Tests run as root, so
"someone else" is simulated with ``os.chown`` to another uid.
"""

from __future__ import annotations

import doctest
import os
import shutil
import stat
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import make_zip, run_python
from test_caches import count_table_builds, files_under, fresh_import, pack_file
from zipimporter import bytecode, bytecode_cache, cachedir, index_cache, names
from zipimporter.archive import Member

OTHER_UID = 12345
TAG = sys.implementation.cache_tag
SOURCE = "value = 7\n"

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another uid needs root"
)


@pytest.fixture(autouse=True)
def index_small_archives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Persist the index of any archive, so both caches are in play."""
    monkeypatch.setattr(index_cache, "MIN_ENTRIES", 1)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The module paths compiled from source during the test."""
    calls: list[str] = []
    original = bytecode.compile_source

    def counting(*args: object) -> object:
        calls.append(str(args[1]))
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bytecode, "compile_source", counting)
    return calls


@pytest.fixture
def table_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The archives whose directory table was built (not loaded from the index cache)."""
    return count_table_builds(monkeypatch)


@pytest.fixture
def archive_path(tmp_path: Path) -> str:
    return make_zip(tmp_path / "app.zip", {"mod.py": SOURCE})


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """No umask: the modes we get are the ones we asked for."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def import_twice(archive_path: str) -> list[str]:
    """Import mod from the archive twice (fresh importers); the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            assert fresh_import("mod", archive_path).value == 7  # type: ignore[attr-defined]
    return [str(w.message) for w in caught if issubclass(w.category, cachedir.CacheDisabledWarning)]


def fill_in_another_process(cache: Path, archive_path: str) -> None:
    """Fill the caches for mod.py in another process (ours hasn't judged *cache* yet)."""
    script = (
        "import sys, zipimporter\n"
        "from zipimporter import index_cache\n"
        "index_cache.MIN_ENTRIES = 1\n"
        "zipimporter.install()\n"
        f"sys.path.insert(0, {archive_path!r})\n"
        "import mod\n"
    )
    run = run_python("-c", script, cache_dir=cache)
    assert run.returncode == 0, run.stderr
    assert bytecode_file(cache, archive_path).is_file()
    assert index_file(cache, archive_path).is_file()


def refused(path: Path, reason: str) -> str:
    return cachedir.CACHE_DISABLED.format(path=str(path), reason=reason)


def everything_under(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


def bytecode_file(cache: Path, archive_path: str) -> Path:
    """Where mod.py's compiled code is kept: the archive's pack (the documented layout)."""
    return pack_file(cache, archive_path)


def index_file(cache: Path, archive_path: str) -> Path:
    return cache / "index" / f"{cachedir.path_key(archive_path)}.idx"


# -- a trustworthy cache is used, and made private ----------------------------


def test_private_cache_is_used(cache, archive_path, compiles, table_builds):
    assert import_twice(archive_path) == []
    assert compiles == [f"{archive_path}{os.sep}mod.py"]  # the second import: from the cache
    assert table_builds == [archive_path]  # the second open: from the saved index
    assert bytecode_file(cache, archive_path).is_file()
    assert index_file(cache, archive_path).is_file()


def test_created_directories_and_files_are_private(tmp_path, monkeypatch, archive_path, umask_zero):
    cache = tmp_path / "a" / "b" / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert import_twice(archive_path) == []
    made = [tmp_path / "a", tmp_path / "a" / "b", *everything_under(cache.parent)]
    modes = {p: stat.S_IMODE(p.lstat().st_mode) for p in made}
    assert {p for p in made if p.is_file()} == {
        bytecode_file(cache, archive_path),
        index_file(cache, archive_path),
    }
    assert modes == {p: 0o600 if p.is_file() else 0o700 for p in made}


def test_default_location_is_made_private(tmp_path, monkeypatch, archive_path, umask_zero):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    for name in ("ZIPIMPORTER_CACHE_DIR", "XDG_CACHE_HOME", "ZIPIMPORTER_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert cachedir.cache_root() == str(home / ".cache" / "zipimporter")
    assert import_twice(archive_path) == []
    for path in (home / ".cache", home / ".cache" / "zipimporter"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert bytecode_file(home / ".cache" / "zipimporter", archive_path).is_file()


def test_existing_cache_readable_by_others_is_used(cache, archive_path, compiles):
    """Only writing by others matters (caches made by older versions are 0755)."""
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    assert import_twice(archive_path) == []
    assert len(compiles) == 1


# -- an untrustworthy cache is not used, and we say why once ------------------


def spoil_mode(mode: int) -> Callable[[Path], None]:
    return lambda path: path.chmod(mode)


def spoil_owner(path: Path) -> None:
    os.chown(path, OTHER_UID, -1)


ROOT_PROBLEMS = [
    pytest.param(
        spoil_mode(0o777),
        cachedir.WRITABLE_BY_OTHERS.format(mode=0o777),
        id="world-writable",
    ),
    pytest.param(
        spoil_mode(0o1777),
        cachedir.WRITABLE_BY_OTHERS.format(mode=0o1777),
        id="world-writable-sticky",
    ),
    pytest.param(
        spoil_mode(0o770),
        cachedir.WRITABLE_BY_OTHERS.format(mode=0o770),
        id="group-writable",
    ),
    pytest.param(
        spoil_owner,
        cachedir.NOT_OWNED.format(owner=OTHER_UID, uid=os.geteuid()),
        id="other-owner",
        marks=needs_root,
    ),
]


@pytest.mark.parametrize(("spoil", "reason"), ROOT_PROBLEMS)
def test_untrusted_cache_directory_is_not_used(
    cache, archive_path, compiles, table_builds, spoil, reason
):
    cache.mkdir(mode=0o700)
    spoil(cache)
    assert import_twice(archive_path) == [refused(cache, reason)]  # once, for both caches
    assert everything_under(cache) == []  # nothing written
    assert len(compiles) == 2 and len(table_builds) == 2  # nothing read


@pytest.mark.parametrize(("spoil", "reason"), ROOT_PROBLEMS)
def test_untrusted_cache_entries_are_not_read(
    cache, archive_path, compiles, table_builds, spoil, reason
):
    """Valid entries in a directory others could have written are not used."""
    fill_in_another_process(cache, archive_path)
    spoil(cache)
    entries = {p: p.read_bytes() for p in everything_under(cache) if p.is_file()}
    assert import_twice(archive_path) == [refused(cache, reason)]
    assert len(compiles) == 2 and len(table_builds) == 2
    assert {p: p.read_bytes() for p in everything_under(cache) if p.is_file()} == entries


PARENT_PROBLEMS = [
    pytest.param(
        spoil_mode(0o777),
        lambda p: cachedir.PARENT_WRITABLE.format(parent=str(p), mode=0o777),
        id="world-writable",
    ),
    pytest.param(
        spoil_mode(0o775),
        lambda p: cachedir.PARENT_WRITABLE.format(parent=str(p), mode=0o775),
        id="group-writable",
    ),
    pytest.param(
        spoil_owner,
        lambda p: cachedir.PARENT_NOT_OWNED.format(
            parent=str(p), owner=OTHER_UID, uid=os.geteuid()
        ),
        id="other-owner",
        marks=needs_root,
    ),
]


@pytest.mark.parametrize(("spoil", "reason"), PARENT_PROBLEMS)
@pytest.mark.parametrize("depth", [1, 3], ids=["parent", "grandparent"])
def test_untrusted_parent_is_not_used(
    tmp_path, monkeypatch, archive_path, compiles, spoil, reason, depth
):
    shared = tmp_path / "shared"
    cache = shared / "x" / "y" / "cache" if depth == 3 else shared / "cache"
    cache.mkdir(mode=0o700, parents=True)
    spoil(shared)
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert import_twice(archive_path) == [refused(cache, reason(shared))]
    assert everything_under(cache) == []
    assert len(compiles) == 2


def test_cache_is_not_made_under_an_untrusted_parent(tmp_path, monkeypatch, archive_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cache = shared / "new" / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    reason = cachedir.PARENT_WRITABLE.format(parent=str(shared), mode=0o777)
    assert import_twice(archive_path) == [refused(cache, reason)]
    assert everything_under(shared) == []


def test_sticky_world_writable_parent_is_fine(tmp_path, monkeypatch, archive_path, compiles):
    """As in /tmp: others can't rename or remove what is ours there."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(shared / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert import_twice(archive_path) == []
    assert len(compiles) == 1


def test_symlink_in_a_writable_directory_is_not_trusted(
    tmp_path, monkeypatch, archive_path, compiles
):
    """The root is reached through a link others could replace: the link's directory counts."""
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "link").symlink_to(real)
    cache = shared / "link" / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    reason = cachedir.PARENT_WRITABLE.format(parent=str(shared), mode=0o777)
    assert import_twice(archive_path) == [refused(cache, reason)]
    assert everything_under(real) == []  # not even the cache directory is made there
    assert len(compiles) == 2


def test_symlink_to_a_directory_in_a_writable_place_is_not_trusted(
    tmp_path, monkeypatch, archive_path, compiles
):
    """The link is safe, where it points is not: the real path's parents count too."""
    shared = tmp_path / "shared"
    (shared / "real").mkdir(parents=True, mode=0o700)
    shared.chmod(0o777)
    (tmp_path / "link").symlink_to(shared / "real")
    cache = tmp_path / "link"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    reason = cachedir.PARENT_WRITABLE.format(parent=str(shared), mode=0o777)
    assert import_twice(archive_path) == [refused(cache, reason)]
    assert everything_under(shared / "real") == []
    assert len(compiles) == 2


def test_symlinked_root_in_safe_places_is_used(tmp_path, monkeypatch, archive_path, compiles):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(tmp_path / "link"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert import_twice(archive_path) == []
    assert len(compiles) == 1
    assert bytecode_file(tmp_path / "real", archive_path).is_file()


SUBDIRECTORY_PROBLEMS = [
    pytest.param(
        spoil_mode(0o777), cachedir.WRITABLE_BY_OTHERS.format(mode=0o777), id="world-writable"
    ),
    pytest.param(
        spoil_mode(0o720), cachedir.WRITABLE_BY_OTHERS.format(mode=0o720), id="group-writable"
    ),
    pytest.param(
        spoil_owner,
        cachedir.NOT_OWNED.format(owner=OTHER_UID, uid=os.geteuid()),
        id="other-owner",
        marks=needs_root,
    ),
]


@pytest.mark.parametrize(("spoil", "reason"), SUBDIRECTORY_PROBLEMS)
@pytest.mark.parametrize("sub", ["bytecode", "index"])
def test_untrusted_subdirectory_is_not_used(
    cache, archive_path, compiles, table_builds, spoil, reason, sub
):
    (cache / sub).mkdir(mode=0o700, parents=True)
    spoil(cache / sub)
    assert import_twice(archive_path) == [refused(cache / sub, reason)]
    assert everything_under(cache / sub) == []
    # The other cache is unaffected.
    assert len(compiles) == (2 if sub == "bytecode" else 1)
    assert len(table_builds) == (2 if sub == "index" else 1)


@pytest.mark.parametrize("sub", ["bytecode", "index"])
def test_symlinked_subdirectory_is_not_used(tmp_path, cache, archive_path, sub):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache.mkdir(mode=0o700)
    (cache / sub).symlink_to(elsewhere)
    assert import_twice(archive_path) == [refused(cache / sub, cachedir.IS_A_SYMLINK)]
    assert everything_under(elsewhere) == []


def test_refusal_is_remembered_for_the_process(cache, archive_path, compiles):
    """The check is made once per directory: fixing it takes a new process."""
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    assert len(import_twice(archive_path)) == 1
    cache.chmod(0o700)
    assert import_twice(archive_path) == []  # not said again ...
    assert len(compiles) == 4  # ... and still not used
    assert everything_under(cache) == []


def test_untrusted_pycache_prefix_is_not_used(tmp_path, cache, monkeypatch, archive_path):
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    prefix.chmod(0o777)
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    reason = cachedir.WRITABLE_BY_OTHERS.format(mode=0o777)
    assert import_twice(archive_path) == [refused(prefix, reason)]
    assert everything_under(prefix) == []
    assert files_under(cache, ".idx")  # the index cache, in the trusted root, is still used


# -- symlinks planted as cache entries -----------------------------------------


def test_symlink_at_bytecode_entry_is_neither_read_nor_written_through(
    tmp_path, cache, archive_path, compiles
):
    assert import_twice(archive_path) == []
    entry = bytecode_file(cache, archive_path)
    # A valid entry for this very member, moved out and linked back in: had
    # reading followed the link, this code would have been loaded.
    victim = tmp_path / "victim.pack"
    shutil.move(entry, victim)
    intact = victim.read_bytes()
    entry.symlink_to(victim)
    compiles.clear()
    assert fresh_import("mod", archive_path).value == 7  # type: ignore[attr-defined]
    assert len(compiles) == 1  # the link was not read
    assert victim.read_bytes() == intact  # nor written through
    assert not entry.is_symlink() and entry.is_file()  # but replaced
    assert entry.read_bytes() == intact


def test_symlink_at_bytecode_entry_pointing_at_another_file(tmp_path, cache, archive_path):
    """A link planted before the first write, at a file outside the cache."""
    outside = tmp_path / "important.txt"
    outside.write_text("keep me")
    entry = bytecode_file(cache, archive_path)
    entry.parent.mkdir(mode=0o700, parents=True)
    entry.symlink_to(outside)
    assert import_twice(archive_path) == []
    assert outside.read_text() == "keep me"
    assert not entry.is_symlink() and entry.is_file()


def test_symlink_at_index_entry_is_neither_read_nor_written_through(
    tmp_path, cache, archive_path, table_builds
):
    assert import_twice(archive_path) == []
    entry = index_file(cache, archive_path)
    victim = tmp_path / "victim.idx"
    shutil.move(entry, victim)
    intact = victim.read_bytes()
    entry.symlink_to(victim)
    table_builds.clear()
    assert fresh_import("mod", archive_path).value == 7  # type: ignore[attr-defined]
    assert table_builds == [archive_path]  # the link was not read
    assert victim.read_bytes() == intact  # nor written through
    assert not entry.is_symlink() and entry.read_bytes() == intact


def test_fifo_at_a_cache_entry_does_not_block(cache, archive_path):
    """Opening a planted FIFO must neither hang the import nor be read."""
    entry = bytecode_file(cache, archive_path)
    entry.parent.mkdir(mode=0o700, parents=True)
    os.mkfifo(entry)
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(fresh_import("mod", archive_path)), daemon=True
    )
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the import blocked opening a FIFO"
    assert outcome[0].value == 7  # type: ignore[attr-defined]
    assert stat.S_ISREG(entry.lstat().st_mode)  # replaced by a real entry


# -- member names that can't become cache paths ---------------------------------


def test_names_doctests():
    result = doctest.testmod(names)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "name",
    ["../mod.py", "pkg/../../mod.py", "/abs/mod.py", "\\abs\\mod.py", "C:mod.py", "c:/mod.py",
     "pkg\\..\\..\\mod.py", "mod\0.py", ".../mod.py"],
)  # fmt: skip
def test_unsafe_member_names_are_not_cached(cache, archive_path, name):
    """Member names are keys in a pack, not paths; unsafe ones are still never cached."""

    def member(name: str) -> Member:
        return Member(name, name.encode(), 0, 0, 0, 10, 10, 0, 0, 0)

    modpath = f"{archive_path}{os.sep}mod.py"
    code = compile("value = 1", modpath, "exec")
    bytecode_cache._forget()
    bytecode_cache.store(archive_path, member("mod.py"), modpath, code)
    bytecode_cache.store(archive_path, member(name), modpath, code)
    assert bytecode_cache.load(archive_path, member("mod.py"), modpath) is not None
    assert bytecode_cache.load(archive_path, member(name), modpath) is None
    bytecode_cache.flush()
    assert set(bytecode_cache.parse(bytecode_file(cache, archive_path).read_bytes())[0]) == {
        "mod.py"
    }

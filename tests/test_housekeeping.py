"""Cache housekeeping: ``zipimporter cache info|prune|clear`` and the daily automatic prune.

Entries are pruned least recently used first down to the cap; nothing is
ever followed through a symbolic link; an untrusted root is neither pruned nor
cleared; a process that only reads its caches never prunes; and a bundle a
live process holds (a Dask worker) is never removed, which the tests check
with real child processes holding bundles as the worker plugin does.
"""

from __future__ import annotations

import doctest
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import make_zip, python_env, run_python, zip_bytes
from test_caches import fresh_import, pack_file
from zipimporter import cachedir, housekeeping, index_cache, messages
from zipimporter.cli import main
from zipimporter.housekeeping import format_size

DAY = 24 * 3600
# Fixed times (local 2026-01-0N 12:00) for entries' last use.
T = [time.mktime((2026, 1, day, 12, 0, 0, 0, 0, -1)) for day in range(1, 9)]


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def set_used(path: Path, timestamp: float) -> None:
    """Make every file (and directory) in *path* last used and modified at *timestamp*."""
    items = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in items:
        os.utime(item, (timestamp, timestamp), follow_symlinks=False)


def make_pack(tmp_path: Path, cache: Path, name: str, size: int) -> Path:
    """A real pack for a new archive, of about *size* bytes of code."""
    path = make_zip(tmp_path / f"{name}.zip", {f"{name}.py": f"data = {'x' * size!r}\n"})
    fresh_import(name, path)
    return pack_file(cache, path)


def make_slot(cache: Path, digit: str, size: int) -> Path:
    """An extension slot as extraction.py lays it out (its contents don't matter here)."""
    slot = cache / "extensions" / (digit * 32)
    (slot / "pkg").mkdir(parents=True, mode=0o700)
    (slot / ".zipimporter-manifest").write_text("zipimporter extension slot 1\0")
    (slot / "pkg" / "mod.so").write_bytes(b"\0" * size)
    return slot


def make_map(cache: Path, key: str) -> Path:
    directory = cache / "extensions" / "map" / key
    directory.mkdir(parents=True, mode=0o700)
    (directory / "0123").write_text("zipimporter extension map 1\0")
    return directory


def make_bundle(cache: Path, members: dict[str, str]) -> Path:
    """A bundle as the Dask plugin stores it, at rest (no process holds it)."""
    data = zip_bytes(members)
    path = cache / "bundles" / f"{hashlib.sha256(data).hexdigest()}.zip"
    for directory in (cache, path.parent):
        directory.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(data)
    return path


def make_shim(cache: Path) -> Path:
    shim = cache / "activate" / "deadbeef"
    shim.mkdir(parents=True, mode=0o700)
    (shim / "sitecustomize.py").write_text("# the shim\n")
    return shim


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main(["cache", *args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


@pytest.fixture
def populated(tmp_path, cache, monkeypatch):
    """A cache with every kind in it, each entry last used at a known time."""
    monkeypatch.setattr(index_cache, "MIN_ENTRIES", 1)  # a.zip's index is saved ...
    entries = {"pack-a": make_pack(tmp_path, cache, "a", 4000)}
    monkeypatch.setattr(index_cache, "MIN_ENTRIES", 1 << 30)  # ... b.zip's isn't
    entries |= {
        "pack-b": make_pack(tmp_path, cache, "b", 2000),
        "slot": make_slot(cache, "e", 3000),
        "map": make_map(cache, "f" * 20),
        "shim": make_shim(cache),
        "bundle": make_bundle(cache, {"app.py": "VALUE = 1\n"}),
    }
    (entries["index"],) = (cache / "index").iterdir()
    for timestamp, name in zip(
        T, ["shim", "slot", "pack-a", "map", "bundle", "index", "pack-b"], strict=False
    ):
        set_used(entries[name], timestamp)
    (cache / "notes.txt").write_text("not zipimporter's")
    return entries


# -- info ----------------------------------------------------------------------------


def test_info_shows_each_kind(populated, cache, capsys, monkeypatch):
    monkeypatch.delenv(housekeeping.ENV_MAX_SIZE, raising=False)
    status, lines, _ = cli(capsys, "info")
    assert status == 0
    e = populated

    def kind(name: str, what: str, size: int, oldest: float | None, newest: float | None) -> str:
        used = (
            messages.CACHE_EMPTY
            if oldest is None
            else messages.CACHE_USED.format(oldest=when(oldest), newest=when(newest))  # type: ignore[arg-type]
        )
        return messages.CACHE_KIND.format(kind=name, what=what, size=format_size(size), used=used)

    sizes = {
        "index": size_of(e["index"]),
        "bytecode": size_of(e["pack-a"]) + size_of(e["pack-b"]),
        "extensions": size_of(e["slot"]) + size_of(e["map"]),
        "bundles": size_of(e["bundle"]),
        "activate": size_of(e["shim"]),
    }
    assert lines == [
        messages.CACHE_DIRECTORY.format(root=cache),
        kind("index", "1 index", sizes["index"], T[5], T[5]),
        kind("bytecode", "2 packs, 2 modules", sizes["bytecode"], T[2], T[6]),
        kind("extensions", "1 slot, 1 archive map", sizes["extensions"], T[1], T[3]),
        kind("bundles", "1 bundle", sizes["bundles"], T[4], T[4]),
        kind("activate", "1 shim", sizes["activate"], T[0], T[0]),
        messages.CACHE_OTHERS.format(names="notes.txt"),
        messages.CACHE_TOTAL.format(
            size=format_size(sum(sizes.values())),
            cap=format_size(housekeeping.DEFAULT_MAX_SIZE),
            source="default",
            prune=messages.CACHE_PRUNE_UNSCHEDULED,
        ),
    ]


def test_info_json(populated, cache, capsys):
    import json

    status = main(["cache", "info", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["root"] == str(cache) and report["exists"] and report["problem"] is None
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert kinds["bytecode"]["roles"] == {"pack": 2}
    assert kinds["bytecode"]["modules"] == 2
    assert kinds["bytecode"]["oldest_mtime"] == T[2] and kinds["bytecode"]["newest_atime"] == T[6]
    assert kinds["extensions"]["roles"] == {"slot": 1, "map": 1}
    assert kinds["bundles"]["roles"] == {"bundle": 1}
    assert (kinds["bundles"]["in_use"], kinds["bundles"]["oldest_use"]) == (0, T[4])
    assert report["others"] == ["notes.txt"]
    assert report["total"] == sum(k["size"] for k in report["kinds"])


def test_info_does_not_mark_packs_used(populated, cache, capsys):
    """Counting a pack's modules reads its index without changing its access time."""
    before = populated["pack-a"].stat().st_atime
    cli(capsys, "info")
    assert populated["pack-a"].stat().st_atime == before == T[2]


def test_info_without_a_cache(tmp_path, cache, capsys, monkeypatch):
    assert cli(capsys, "info")[1] == [
        messages.CACHE_DIRECTORY.format(root=cache),
        messages.CACHE_NOT_THERE.format(root=cache),
    ]
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "0")
    assert cli(capsys, "info")[1] == [messages.CACHE_OFF.format(value="0")]


def test_info_says_the_root_is_not_trusted(populated, cache, capsys):
    cache.chmod(0o777)
    lines = cli(capsys, "info")[1]
    reason = cachedir.WRITABLE_BY_OTHERS.format(mode=0o777)
    assert lines[1] == "  " + messages.CACHE_NOT_TRUSTED.format(reason=reason)


@pytest.mark.parametrize(
    ("value", "cap", "source"),
    [
        ("2M", 2 << 20, housekeeping.ENV_MAX_SIZE),
        ("none", None, housekeeping.ENV_MAX_SIZE),
        ("lots", housekeeping.DEFAULT_MAX_SIZE,
         f"default: {housekeeping.ENV_MAX_SIZE}='lots' is not a size"),
    ],
)  # fmt: skip
def test_cap_comes_from_the_environment(populated, capsys, monkeypatch, value, cap, source):
    monkeypatch.setenv(housekeeping.ENV_MAX_SIZE, value)
    assert housekeeping.cap_setting() == (cap, source)
    last = cli(capsys, "info")[1][-1]
    assert last.endswith(f" ({source}); automatic prune {messages.CACHE_PRUNE_UNSCHEDULED}")


# -- prune ---------------------------------------------------------------------------


def remaining(cache: Path) -> set[str]:
    return {e.path for e in housekeeping.scan(str(cache))}


def test_prune_removes_least_recently_used_first(populated, cache, capsys):
    e = populated
    everything = remaining(cache)
    # Room for all but the two least recently used prunable entries (slot, pack-a);
    # the shim is older still, but never pruned.
    removed = size_of(e["slot"]) + size_of(e["pack-a"])
    cap = sum(entry.size for entry in housekeeping.scan(str(cache))) - removed
    status, lines, _ = cli(capsys, "prune", "--max-size", str(cap))
    assert status == 0
    assert remaining(cache) == everything - {str(e["slot"]), str(e["pack-a"])}
    assert lines == [
        messages.PRUNED.format(
            root=cache,
            count=2,
            size=format_size(removed),
            total=format_size(cap),
            cap=format_size(cap),
        )
    ]
    assert not list((cache / "extensions").glob(".trash-*"))  # the slot went through the trash
    assert (cache / "notes.txt").exists()


def test_prune_order_is_by_last_use(populated, cache):
    result = housekeeping.prune(str(cache), 0)
    assert result is not None
    e = populated
    assert [entry.path for entry in result.removed] == [
        str(e[name]) for name in ("slot", "pack-a", "map", "bundle", "index", "pack-b")
    ]  # the times set above, oldest first
    assert result.kept == {}
    assert {Path(p).name for p in remaining(cache)} == {e["shim"].name}  # never pruned
    assert result.total == size_of(e["shim"])


def test_prune_within_the_cap_removes_only_old_leftovers(populated, cache, capsys):
    old = cache / "bytecode" / "x.pack.123.abcdef.tmp"
    old.write_bytes(b"half a pack")
    set_used(old, time.time() - 2 * DAY)
    new = cache / "bytecode" / "y.pack.124.abcdef.tmp"
    new.write_bytes(b"being written")
    before = remaining(cache)
    status, lines, _ = cli(capsys, "prune", "--max-size", "none")
    assert status == 0
    assert remaining(cache) == before - {str(old)}
    left = sum(e.size for e in housekeeping.scan(str(cache)))
    assert lines == [
        messages.PRUNED.format(
            root=cache,
            count=1,
            size=format_size(11),
            total=format_size(left),
            cap=messages.CACHE_NO_CAP,
        )
    ]


def test_prune_uses_the_configured_cap(populated, cache, monkeypatch, capsys):
    monkeypatch.setenv(housekeeping.ENV_MAX_SIZE, "1")
    assert cli(capsys, "prune")[0] == 0
    assert {Path(p).name for p in remaining(cache)} == {populated["shim"].name}


def test_prune_rejects_a_bad_size(populated, cache, capsys):
    before = remaining(cache)
    status, _, err = cli(capsys, "prune", "--max-size", "big")
    assert status == 2
    assert err == f"zipimporter cache: error: {messages.NOT_A_SIZE.format(value='big')}\n"
    assert remaining(cache) == before


# -- clear ---------------------------------------------------------------------------


def test_clear_removes_ours_and_follows_no_links(populated, cache, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep me")
    (cache / "bytecode" / "link").symlink_to(outside)
    (cache / "extensions" / "map" / "link").symlink_to(outside / "keep.txt")
    count = len(housekeeping.scan(str(cache)))
    size = sum(e.size for e in housekeeping.scan(str(cache)))
    status, lines, _ = cli(capsys, "clear")
    assert status == 0
    assert lines == [
        messages.CLEARED.format(root=cache, count=count, size=format_size(size)),
        messages.CLEAR_LEFT_ALONE.format(names="notes.txt"),
    ]
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt"]
    assert (outside / "keep.txt").read_text() == "keep me"


def test_clear_removes_a_linked_kind_directory_as_a_link(cache, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.pack").write_text("keep me")
    cache.mkdir(mode=0o700)
    (cache / "bytecode").symlink_to(outside)
    assert cli(capsys, "clear")[0] == 0
    assert list(cache.iterdir()) == []
    assert (outside / "keep.pack").read_text() == "keep me"


def test_clear_removes_read_only_extracted_files(populated, cache, capsys):
    """Extracted files are 0500; a directory of ours made read-only is made writable."""
    (populated["slot"] / "pkg" / "mod.so").chmod(0o500)
    (populated["slot"] / "pkg").chmod(0o500)
    assert cli(capsys, "clear")[0] == 0
    assert not (cache / "extensions").exists()


@pytest.mark.parametrize("action", ["clear", "prune"])
def test_an_untrusted_root_is_neither_cleared_nor_pruned(populated, cache, capsys, action):
    before = remaining(cache)
    cache.chmod(0o777)
    status, out, err = cli(capsys, action, *(["--max-size", "0"] if action == "prune" else []))
    assert (status, out) == (2, [])
    reason = cachedir.WRITABLE_BY_OTHERS.format(mode=0o777)
    message = messages.CACHE_REFUSED.format(action=action, root=cache, reason=reason)
    assert err == f"zipimporter cache: error: {message}\n"
    assert remaining(cache) == before


@pytest.mark.parametrize("action", ["clear", "prune"])
def test_clear_and_prune_with_caching_off_or_no_cache(cache, capsys, monkeypatch, action):
    assert cli(capsys, action) == (0, [messages.CACHE_NOT_THERE.format(root=cache)], "")
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "off")
    message = messages.CACHES_OFF.format(value="off", action=action)
    assert cli(capsys, action) == (2, [], f"zipimporter cache: error: {message}\n")


# -- the automatic prune ----------------------------------------------------------------


@pytest.fixture
def prune_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = housekeeping.prune

    def counting(root: str | None, *args: object, **kwargs: object) -> object:
        calls.append(str(root))
        return original(root, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(housekeeping, "prune", counting)
    return calls


def test_automatic_prune_is_daily_and_only_after_a_write(
    populated, cache, prune_calls, monkeypatch
):
    monkeypatch.setenv(housekeeping.ENV_MAX_SIZE, "1")
    stamp = cache / cachedir.PRUNE_STAMP
    root = str(cache)
    cachedir.after_writes()  # for the index the fixture wrote
    stamp.unlink()
    cachedir.after_writes()  # nothing written since: nothing checked
    assert not stamp.exists()
    cachedir.note_write(root)
    cachedir.after_writes()  # no stamp: the clock starts now, nothing pruned
    assert stamp.exists() and prune_calls == []
    cachedir.note_write(root)
    cachedir.after_writes()  # less than a day since
    assert prune_calls == []
    set_used(stamp, time.time() - DAY - 60)
    before = stamp.stat().st_mtime
    cachedir.note_write(root)
    cachedir.after_writes()
    assert prune_calls == [root]  # due: pruned to the cap ...
    assert {Path(p).name for p in remaining(cache)} == {populated["shim"].name}
    assert stamp.stat().st_mtime > before  # ... and the next one is a day away
    cachedir.note_write(root)
    cachedir.after_writes()
    assert prune_calls == [root]


def test_automatic_prune_skips_an_untrusted_root(populated, cache, prune_calls):
    stamp = cache / cachedir.PRUNE_STAMP
    stamp.write_text("")
    set_used(stamp, time.time() - 2 * DAY)
    cache.chmod(0o777)
    cachedir._verdicts.clear()
    cachedir._root_problems.clear()
    with pytest.warns(cachedir.CacheDisabledWarning):
        cachedir.note_write(str(cache))
        cachedir.after_writes()
    assert prune_calls == []


# Runs in a subprocess: import NAMES from ARCHIVE, and append to LOG how many
# times housekeeping.prune ran in this process (after zipimporter's exit handler).
COUNTING = textwrap.dedent(
    """
    import atexit, sys
    archive, log, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    import zipimporter
    from zipimporter import housekeeping
    calls = []
    original = housekeeping.prune
    housekeeping.prune = lambda *a, **k: calls.append(a) or original(*a, **k)
    atexit.register(lambda: open(log, "a").write(f"{len(calls)}\\n"))
    zipimporter.install()
    sys.path.insert(0, archive)
    for name in names:
        __import__(name)
    """
)


def test_steady_state_imports_never_prune(tmp_path, cache):
    """Warm caches, repeated fresh processes: zero prunes, even when one is due."""
    members = {f"mod{i}.py": f"value = {i}\n" for i in range(20)}
    path = make_zip(tmp_path / "app.zip", members)
    names = ",".join(f"mod{i}" for i in range(20))
    log = tmp_path / "prunes.log"

    def run(names: str = names) -> int:
        result = run_python("-c", COUNTING, path, str(log), names, cache_dir=cache)
        assert result.returncode == 0, result.stderr
        return int(log.read_text().splitlines()[-1])

    assert run() == 0  # the first write starts the clock
    stamp = cache / cachedir.PRUNE_STAMP
    assert stamp.is_file()
    set_used(stamp, time.time() - 2 * DAY)  # a prune is due ...
    assert [run() for _ in range(5)] == [0] * 5  # ... but nothing new is written
    make_zip(tmp_path / "app.zip", members | {"mod3.py": "value = 'changed'\n"})
    assert run() == 1  # something compiled and written: the due prune runs, once
    make_zip(tmp_path / "app.zip", members | {"mod3.py": "value = 'again'\n"})
    assert run() == 0  # the next one is a day away
    assert [run() for _ in range(3)] == [0] * 3


# -- sizes -------------------------------------------------------------------------


def test_housekeeping_doctests():
    result = doctest.testmod(housekeeping)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("text", ["", "G", "1X", "-5M", "1.5.2", "1 GB extra", "nan", "inf"])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        housekeeping.parse_size(text)


def test_info_shows_when_the_next_automatic_prune_may_run(populated, cache, capsys):
    stamp = cache / cachedir.PRUNE_STAMP
    stamp.write_text("")
    set_used(stamp, T[6])
    next_prune = messages.CACHE_NEXT_PRUNE.format(when=when(T[6] + DAY))
    assert cli(capsys, "info")[1][-1].endswith(f"; automatic prune {next_prune}")


# -- bundles a running process holds ----------------------------------------------------

# Runs in a subprocess, as a Dask worker does: the ZipBundle plugin's own setup
# (for its worker, only local_directory is used) stores the bundle ARGV[1] and
# holds it; the process imports from it, says so, and waits for a line on stdin.
WORKER = textwrap.dedent(
    """
    import asyncio, sys, types
    from zipimporter.dask import ZipBundle
    with open(sys.argv[1], "rb") as fp:
        plugin = ZipBundle(fp.read(), name="held")
    asyncio.run(plugin.setup(types.SimpleNamespace(local_directory=sys.argv[2])))
    import hk_held
    print(hk_held.__file__, flush=True)
    sys.stdin.readline()
    """
)

# Runs in a subprocess: store the bundle ARGV[2] in the directory ARGV[1] through
# housekeeping.hold_bundle, whose storing step says "storing" and waits for a line
# on stdin; then, holding it, say "held" and wait for another line.
SLOW_STORER = textwrap.dedent(
    """
    import sys
    from zipimporter import housekeeping
    directory, name = sys.argv[1], sys.argv[2]

    def place(path):
        print("storing", flush=True)
        sys.stdin.readline()
        with open(path, "wb") as fp:
            fp.write(b"the bundle")
        return True

    hold, placed = housekeeping.hold_bundle(directory, name, place)
    print("held" if placed else "not placed", flush=True)
    sys.stdin.readline()
    """
)


class Child:
    """A Python subprocess running *code*, stopped (and waited for) by the test's end."""

    def __init__(self, cache: Path, code: str, *args: str | Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=python_env(cache),
        )

    def says(self) -> str:
        """The child's next line (it fails the test if the child ended instead)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=60)
            assert self.process.stderr is not None
            raise AssertionError(f"the child ended: {self.process.stderr.read()}")
        return line.rstrip("\n")

    def go_on(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def end(self, how: str) -> None:
        """Let the child exit (``exits``) or SIGKILL it (``killed``), and wait for it."""
        if how == "killed":
            self.process.send_signal(signal.SIGKILL)
        else:
            self.go_on()
        _, stderr = self.process.communicate(timeout=60)
        expected = -signal.SIGKILL if how == "killed" else 0
        assert self.process.returncode == expected, stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=60)


@pytest.fixture
def children() -> Any:
    """``children(cache, code, *args)``: a :class:`Child`, killed at the test's end if alive."""
    started: list[Child] = []

    def start(cache: Path, code: str, *args: str | Path) -> Child:
        started.append(Child(cache, code, *args))
        return started[-1]

    yield start
    for child in started:
        child.stop()


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize("how", ["exits", "killed"])
def test_a_bundle_a_live_worker_holds_is_kept_until_it_ends(
    populated, cache, tmp_path, capsys, children, how
):
    pytest.importorskip("distributed", reason="the worker plugin needs distributed")
    data = zip_bytes({"hk_held.py": "VALUE = 'held'\n"})
    (tmp_path / "held.zip").write_bytes(data)
    worker = children(cache, WORKER, tmp_path / "held.zip", tmp_path / "local")
    held = cache / "bundles" / f"{hashlib.sha256(data).hexdigest()}.zip"
    assert worker.says() == f"{held}{os.sep}hk_held.py"  # imported from the stored bundle
    set_used(held, T[0])  # by its times, the least recently used of all
    idle = populated["bundle"]

    lines = cli(capsys, "info")[1]
    sizes = size_of(held) + size_of(idle)
    assert messages.CACHE_KIND.format(
        kind="bundles",
        what="2 bundles, 1 in use",
        size=format_size(sizes),
        used=messages.CACHE_USED.format(oldest=when(T[0]), newest=when(T[4])),
    ) in lines  # fmt: skip

    result = housekeeping.prune(str(cache), 0)
    assert result is not None
    assert [e.path for e in result.kept[housekeeping.IN_USE]] == [str(held)]
    assert str(idle) in [e.path for e in result.removed]
    assert names_in(cache / "bundles") == [held.name]
    assert result.total == size_of(held) + size_of(populated["shim"])
    assert housekeeping.pruned_lines(result)[1:] == [
        housekeeping.KEPT_IN_USE.format(what="1 bundle", size=format_size(size_of(held)))
    ]

    status, lines, _ = cli(capsys, "clear")
    assert status == 0
    assert lines[1] == housekeeping.KEPT_IN_USE.format(
        what="1 bundle", size=format_size(size_of(held))
    )
    assert names_in(cache) == ["bundles", "notes.txt"]
    assert names_in(cache / "bundles") == [held.name]

    worker.end(how)  # a crash leaves no stale state: the kernel drops its locks
    assert housekeeping.prune(str(cache), 0).kept == {}  # type: ignore[union-attr]
    assert names_in(cache / "bundles") == []
    assert cli(capsys, "clear")[0] == 0
    assert "bundles" not in names_in(cache)


def test_no_bundle_is_removed_while_one_is_being_stored(cache, children):
    """A worker storing a bundle holds ``bundles/``'s lock: housekeeping keeps every bundle."""
    directory = cache / "bundles"
    idle = make_bundle(cache, {"idle.py": ""})
    leftover = directory / "x.zip.123.abcdef.tmp"
    leftover.write_bytes(b"half a bundle")
    set_used(leftover, time.time() - 2 * DAY)
    storer = children(cache, SLOW_STORER, directory, "new.zip")
    assert storer.says() == "storing"

    result = housekeeping.prune(str(cache), 0)
    assert result is not None and result.removed == []
    assert sorted(e.path for e in result.kept[housekeeping.BUSY]) == [str(idle), str(leftover)]
    assert housekeeping.pruned_lines(result)[1:] == [
        housekeeping.KEPT_BUSY.format(
            what="2 bundles", size=format_size(size_of(idle) + size_of(leftover))
        )
    ]
    cleared = housekeeping.clear(str(cache))
    assert cleared is not None and set(cleared.kept) == {housekeeping.BUSY}
    assert names_in(directory) == sorted([idle.name, leftover.name])

    storer.go_on()
    assert storer.says() == "held"
    result = housekeeping.prune(str(cache), 0)
    assert result is not None
    assert sorted(e.path for e in result.removed) == sorted([str(idle), str(leftover)])
    assert [e.path for e in result.kept[housekeeping.IN_USE]] == [str(directory / "new.zip")]
    storer.end("exits")
    assert housekeeping.clear(str(cache)).kept == {}  # type: ignore[union-attr]
    assert names_in(cache) == []


def test_setting_up_a_bundle_again_marks_it_used(cache, tmp_path):
    """A bundle a worker sets up again (e.g. after a restart) is pruned after older ones."""
    zdask = pytest.importorskip("zipimporter.dask", reason="the worker plugin needs distributed")
    data = zip_bytes({"hk_again.py": "VALUE = 1\n"})
    again = make_bundle(cache, {"hk_again.py": "VALUE = 1\n"})
    other = make_bundle(cache, {"hk_other.py": "VALUE = 2\n"})
    set_used(again, T[0])
    set_used(other, T[1])
    hold = zdask.ZipBundle(data, name="again")._store(str(tmp_path / "local"))
    hold.close()
    assert hold.path == str(again)
    st = again.stat()
    assert st.st_atime > time.time() - 600  # used now ...
    assert st.st_mtime == T[0]  # ... and not rewritten
    result = housekeeping.prune(str(cache), size_of(again))
    assert result is not None
    assert [e.path for e in result.removed] == [str(other)]
    assert names_in(cache / "bundles") == [again.name]
    # Storing reads the file, which may set its access time anyway; the hold
    # marks it itself (a noatime file system), with no read at all here.
    set_used(again, T[0])
    with housekeeping.hold_bundle(str(again.parent), again.name, lambda path: False)[0]:
        assert again.stat().st_atime > time.time() - 600
        assert again.stat().st_mtime == T[0]


def test_a_holder_waiting_while_bundles_are_cleared_makes_the_directory_again(cache):
    """The directory a holder waited to lock was removed meanwhile: it makes a new one."""
    locks = Path("/proc/locks")
    if not locks.exists():
        pytest.skip("needs /proc/locks to see the holder wait")
    directory = cache / "bundles"
    make_bundle(cache, {"gone.py": ""})
    (bundle,) = directory.iterdir()
    # Clear's lock on bundles/, taken as clear takes it, held while the holder waits.
    lock = housekeeping._exclusive_directory_lock(str(directory))
    assert isinstance(lock, int) and lock >= 0
    inode = directory.stat().st_ino
    box: dict[str, Any] = {}

    def hold() -> None:
        try:
            box["hold"] = housekeeping.hold_bundle(
                str(directory), "new.zip", lambda path: Path(path).write_bytes(b"new") > 0
            )
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not any(
            "->" in line and f":{inode} " in line for line in locks.read_text().splitlines()
        ):  # the holder's request is queued behind the lock
            assert time.monotonic() < deadline, "the holder never waited for the lock"
            time.sleep(0.01)
        bundle.unlink()
        directory.rmdir()
    finally:
        os.close(lock)
        thread.join(60)
    # Had it gone on with the directory it locked, storing would have failed (ENOENT).
    assert "error" not in box, box.get("error")
    with box["hold"][0] as held:
        assert box["hold"][1] is True
        assert held.path == str(directory / "new.zip")
        assert (directory / "new.zip").read_bytes() == b"new"
        assert housekeeping.prune(str(cache), 0).kept[housekeeping.IN_USE]  # type: ignore[union-attr]
    assert stat_mode(directory) == 0o700


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777

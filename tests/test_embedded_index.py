"""The embedded index of big bundles: used when it describes the archive, else ignored, never wrong.

``zipimporter build`` orders a bundle of ``index_cache.MIN_ENTRIES`` entries or
more by name length, then name, and describes that layout in the archive
comment; the reader checks it against the central directory and searches
the names instead of building a table.  Every answer is compared with the
parser's own (``archive.read_directory``, which builds the table).
"""

from __future__ import annotations

import random
import shutil
import struct
import sys
import zipfile
import zipimport
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import outcome, run_python
from zipimporter import archive, bundle, directory, index_cache
from zipimporter.errors import ZipImportError

ENTRIES = 6000
SEP = "/"


def contents(count: int = ENTRIES) -> dict[str, bytes]:
    """*count* members (directories included) with names of many lengths."""
    files = {}
    for i in range(count - 30):
        files[f"pkg{i % 30}/m{'x' * (i % 17)}_{i}.py"] = f"VALUE = {i}\n".encode()
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("embedded") / "big.pyz")
    bundle.write_archive(contents(), path)
    return path


@pytest.fixture
def table_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The archives ``archive.build_table`` is called for (the real function still runs)."""
    calls: list[str] = []
    real = archive.build_table

    def counting(records: bytes, layout: archive.Layout, name: str) -> Any:
        calls.append(name)
        return real(records, layout, name)

    monkeypatch.setattr(archive, "build_table", counting)
    return calls


def class_key(name: str) -> tuple[int, bytes]:
    return len(name.encode()), name.encode()


def class_order(names: list[str]) -> list[str]:
    return sorted(names, key=class_key)


def forged_comment(classes: list[tuple[int, int]], entries: int, cd_size: int) -> bytes:
    """An embedded-index comment in the documented format, claiming *classes*."""
    body = struct.pack("<QQI", entries, cd_size, len(classes))
    body += b"".join(struct.pack("<HI", w, m) for w, m in classes)
    return index_cache.EMBEDDED_MAGIC + body.hex().encode()


def claimed_classes(names: list[str]) -> list[tuple[int, int]]:
    classes: list[list[int]] = []
    for name in names:
        w = len(name.encode())
        if classes and classes[-1][0] == w:
            classes[-1][1] += 1
        else:
            classes.append([w, 1])
    return [(w, m) for w, m in classes]


def write_members(path: Path, members: list[tuple[str, bytes]], comment: bytes) -> str:
    """A stored archive of *members* in this order, with *comment*."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.comment = comment
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return str(path)


def forged_archive(path: Path, members: list[tuple[str, bytes]]) -> str:
    """*members* in the given order with a comment claiming the embedded layout for it."""
    names = [n for n, _ in members]
    cd_size = sum(46 + len(n.encode()) for n in names)
    return write_members(path, members, forged_comment(claimed_classes(names), len(names), cd_size))


def answers(index: archive.DirectoryIndex, names: list[str]) -> list[tuple[str, Any]]:
    return [outcome(lambda n=n: index.get(n)) for n in names] + [  # type: ignore[misc]
        outcome(lambda n=n: n in index)
        for n in names  # type: ignore[misc]
    ]


def probes(ref: archive.DirectoryIndex, rng: random.Random) -> list[str]:
    """Every member name, plus absent names of the same lengths and directories."""
    try:
        names = list(ref.keys())
    except ZipImportError:  # a name flagged UTF-8 that isn't: probe the fixed names only
        names = []
    absent = [
        n[:-1] + ("q" if n[-1] != "q" else "r") for n in rng.sample(names, min(300, len(names)))
    ]
    return names + absent + ["", "nope.py", "pkg1/", "pkg1"]


def assert_same(path: str, ours: Callable[[], archive.DirectoryIndex], seed: int = 0) -> None:
    """*ours* (an open of *path*) answers as the parser's index does, or both raise."""
    rng = random.Random(seed)
    try:
        ref = archive.read_directory(path)
    except ZipImportError:
        with pytest.raises(ZipImportError):
            len(ours())  # at the open, or where len() checks the names
        return
    index = ours()
    names = probes(ref, rng)
    assert answers(index, names) == answers(ref, names)
    assert outcome(lambda: len(index)) == outcome(lambda: len(ref))
    assert outcome(lambda: list(index.keys())) == outcome(lambda: list(ref.keys()))
    for name in ("pkg1/", "pkg29/", "pkg1/sub/", "nope/"):
        assert index.is_dir(name) == ref.is_dir(name)


# -- built bundles -------------------------------------------------------------


def test_first_open_uses_the_embedded_index(
    built: str, cache: Path, table_builds: list[str]
) -> None:
    index = directory.open_index(built)
    assert isinstance(index, index_cache.EmbeddedIndex)
    assert index.indexed_classes == 0
    assert index.get("pkg3/mxxx_3.py") is not None
    assert index.indexed_classes == 1  # the names of that length
    assert "pkg3/mxxx_4.py" not in index  # same length: that class's dict answers
    assert "x" * 200 not in index and "" not in index  # no names of these lengths
    assert index.indexed_classes == 1
    assert table_builds == []
    assert not list(cache.rglob("*.idx"))  # nothing needed saving
    assert_same(built, lambda: directory.open_index(built))
    lengths = {len(name.encode()) for name in archive.read_directory(built)}
    assert_same(built, lambda: index)
    assert index.indexed_classes == len(lengths)  # every class indexed once, no table built
    assert len(table_builds) == 3  # the reference parses only


def test_len_indexes_every_class(built: str) -> None:
    index = directory.open_index(built)
    assert isinstance(index, index_cache.EmbeddedIndex)
    index.get("pkg3/mxxx_3.py")
    assert len(index) == len(archive.read_directory(built)) == ENTRIES
    assert index.indexed_classes == len({len(n.encode()) for n in archive.read_directory(built)})


def test_built_layout_and_determinism(built: str, tmp_path: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        assert zf.comment.startswith(index_cache.EMBEDDED_MAGIC)
    assert names == class_order(names)
    again = tmp_path / "again.pyz"
    bundle.write_archive(contents(), str(again))
    assert again.read_bytes() == Path(built).read_bytes()


def test_small_bundles_have_no_embedded_index(tmp_path: Path) -> None:
    path = tmp_path / "small.pyz"
    bundle.write_archive(contents(index_cache.MIN_ENTRIES - 40), str(path))
    with zipfile.ZipFile(path) as zf:
        assert zf.comment == b""
        names = zf.namelist()
    assert len(names) < index_cache.MIN_ENTRIES
    assert names == sorted(names)
    assert type(directory.open_index(str(path))) is archive.DirectoryIndex


def test_embedded_index_in_memory(built: str, table_builds: list[str]) -> None:
    entry, _ = directory.register_bytes(Path(built).read_bytes(), "embedded-test")
    try:
        assert_same(built, lambda: directory.open_index(entry))
        assert isinstance(directory.open_index(entry), index_cache.EmbeddedIndex)
    finally:
        directory.forget_bytes(entry)


def test_stdlib_reads_a_zip64_bundle_with_the_comment(tmp_path: Path) -> None:
    """More entries than 16 bits count: ZIP64 end records, the 3.11/3.12 layout fix, a comment."""
    path = tmp_path / "zip64.pyz"
    files = {f"m{i}.py": f"VALUE = {i}\n".encode() for i in range(65600)}
    bundle.write_archive(files, str(path))
    with zipfile.ZipFile(path) as zf:
        assert zf.comment.startswith(index_cache.EMBEDDED_MAGIC)
    importer = zipimport.zipimporter(str(path))
    spec = importer.find_spec("m65599")
    assert spec is not None
    assert importer.get_source("m65599") == "VALUE = 65599\n"
    index = directory.open_index(str(path))
    assert isinstance(index, index_cache.EmbeddedIndex)
    assert index.get("m65599.py") == archive.read_directory(str(path)).get("m65599.py")


def test_a_built_app_runs_on_the_stdlib_and_ours(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(index_cache.MIN_ENTRIES):
        (src / f"pkg{i % 10}").mkdir(parents=True, exist_ok=True)
        (src / f"pkg{i % 10}" / f"mod{i}.py").write_text(f"VALUE = {i}\n")
    for j in range(10):
        (src / f"pkg{j}" / "__init__.py").write_text("")
    (src / "__main__.py").write_text(
        "import sys, pkg7.mod2047 as m\nprint(m.VALUE, type(m.__loader__).__module__)\n"
    )
    app = tmp_path / "app.pyz"
    bundle.build([str(src)], str(app))
    with zipfile.ZipFile(app) as zf:
        assert zf.comment.startswith(index_cache.EMBEDDED_MAGIC)
    done = run_python(app, cache_dir=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "2047"
    assert isinstance(directory.open_index(str(app)), index_cache.EmbeddedIndex)


# -- stale and forged ----------------------------------------------------------


def test_stale_embedded_index_is_ignored(built: str, tmp_path: Path) -> None:
    path = tmp_path / "rewritten.pyz"
    shutil.copy(built, path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("pkg0/added.py", b"ADDED = 1\n")
    with zipfile.ZipFile(path) as zf:
        assert zf.comment.startswith(index_cache.EMBEDDED_MAGIC)  # kept, now stale
    index = directory.open_index(str(path))
    assert type(index) is archive.DirectoryIndex
    assert index.get("pkg0/added.py") is not None
    assert_same(str(path), lambda: directory.open_index(str(path)))


def members(count: int) -> list[tuple[str, bytes]]:
    names = class_order([f"d{i % 7}/n{'y' * (i % 5)}{i}.py" for i in range(count)])
    return [(n, f"V = {n!r}\n".encode()) for n in names]


def test_unsorted_class_answers_as_the_parser(tmp_path: Path, table_builds: list[str]) -> None:
    """The order of names within a class is the build's, for determinism: lookups don't use it."""
    items = members(index_cache.MIN_ENTRIES + 100)
    random.Random(4).shuffle(items)
    items.sort(key=lambda item: len(item[0].encode()))  # grouped by length, shuffled within
    path = forged_archive(tmp_path / "unsorted.zip", items)
    index = directory.open_index(path)
    assert isinstance(index, index_cache.EmbeddedIndex)  # the layout checks pass
    name = items[len(items) // 2][0]
    member = index.get(name)
    assert member is not None and member.name == name
    assert index.indexed_classes == 1
    assert table_builds == []
    assert_same(path, lambda: directory.open_index(path))


def test_classes_of_every_size_answer_as_the_parser(tmp_path: Path) -> None:
    """Classes read a chunk of records at a time: sizes around a chunk, and none cut short."""
    chunk = index_cache._CHUNK
    counts = [1, 2, chunk - 1, chunk, chunk + 1, 2 * chunk, 2 * chunk + 3]
    counts.append(max(index_cache.MIN_ENTRIES - sum(counts), 1))
    items = [
        (f"n{'x' * j}{i:04d}.py", f"V = {j, i}\n".encode())
        for j, count in enumerate(counts)
        for i in range(count)
    ]
    path = forged_archive(tmp_path / "sizes.zip", items)
    index = directory.open_index(path)
    assert isinstance(index, index_cache.EmbeddedIndex)
    assert len(index) == len(items)
    assert index.indexed_classes == len(counts)
    assert_same(path, lambda: directory.open_index(path))


def test_duplicate_names_answer_as_the_parser(tmp_path: Path) -> None:
    items = members(index_cache.MIN_ENTRIES + 100)
    name = items[500][0]
    items.insert(501, (name, b"LATER = 1\n"))
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = forged_archive(tmp_path / "dup.zip", items)
    index = directory.open_index(path)
    assert isinstance(index, index_cache.EmbeddedIndex)
    member = index.get(name)
    assert member is not None
    assert archive.read_member(path, member) == b"LATER = 1\n"  # the later one, as the stdlib
    assert len(index) == len(items) - 1 == len(archive.read_directory(path))
    assert_same(path, lambda: directory.open_index(path))


def _clear_utf8_flag(path: str, record: int) -> None:
    """Clear the UTF-8 flag of central record *record* and of its local header."""
    layout, records, pos = _record(path, record)
    flags = struct.unpack_from("<H", records, pos + 8)[0] & ~0x0800
    with open(path, "r+b") as fp:
        fp.seek(layout.cd_start + pos + 8)
        fp.write(struct.pack("<H", flags))
        fp.seek(layout.prepended + _offset(path, record) + 6)
        fp.write(struct.pack("<H", flags))


def test_non_ascii_names_answer_as_the_parser(tmp_path: Path) -> None:
    """Flagged UTF-8 names are found by their bytes; unflagged ones only by their cp437 reading."""
    extra = [(f"d/n\u00e9{i}.py", b"V = 1\n") for i in range(60)]
    items = sorted(members(index_cache.MIN_ENTRIES) + extra, key=lambda it: class_key(it[0]))
    path = forged_archive(tmp_path / "names.zip", items)
    names = [n for n, _ in items]
    cp437 = names.index("d/n\u00e97.py")
    _clear_utf8_flag(path, cp437)
    index = directory.open_index(path)
    assert isinstance(index, index_cache.EmbeddedIndex)
    assert index.get("d/n\u00e98.py") is not None  # flagged UTF-8
    assert index.get("d/n\u00e97.py") is None  # its bytes are there, but read as cp437...
    assert index.get("d/n\u251c\u23107.py") is not None  # ...which they are found by
    assert "d/n\u251c\u23107.py" in list(index.keys())
    assert_same(path, lambda: directory.open_index(path))
    probes = ["d/n\u00e97.py", "d/n\u251c\u23107.py", "d/n\u00e98.py", "d/\u00e9", "\udc80"]
    assert answers(index, probes) == answers(archive.read_directory(path), probes)


def _record(path: str, record: int) -> tuple[archive.Layout, bytes, int]:
    """(layout, central directory, offset of central record *record* in it)."""
    layout, records, _ = archive.read_central_directory(path)
    pos = 0
    for _ in range(record):
        nlen, elen, clen = struct.unpack_from("<HHH", records, pos + 28)
        pos += 46 + nlen + elen + clen
    return layout, records, pos


def _patch_offset(path: str, record: int, offset: int) -> None:
    """Set central record *record*'s local header offset to *offset*."""
    layout, _, pos = _record(path, record)
    with open(path, "r+b") as fp:
        fp.seek(layout.cd_start + pos + 42)
        fp.write(struct.pack("<I", offset))


def _offset(path: str, record: int) -> int:
    _, records, pos = _record(path, record)
    return int(struct.unpack_from("<I", records, pos + 42)[0])


def test_overlapping_members_are_rejected(tmp_path: Path) -> None:
    items = members(index_cache.MIN_ENTRIES + 100)
    path = forged_archive(tmp_path / "overlap.zip", items)
    _patch_offset(path, 700, _offset(path, 699))  # two records, one local header
    with pytest.raises(ZipImportError, match="overlapping"):
        archive.read_directory(path)
    with pytest.raises(ZipImportError, match="overlapping"):
        directory.open_index(path)


def test_members_running_into_the_directory_are_rejected(tmp_path: Path) -> None:
    items = members(index_cache.MIN_ENTRIES + 100)
    path = forged_archive(tmp_path / "late.zip", items)
    _patch_offset(path, len(items) - 1, _offset(path, len(items) - 1) + 8)
    with pytest.raises(ZipImportError):
        directory.open_index(path)
    assert_same(path, lambda: directory.open_index(path))


def test_a_record_hidden_in_a_comment_is_never_found(tmp_path: Path) -> None:
    """A central record inside another's comment: no layout claim makes it a member."""
    items = members(index_cache.MIN_ENTRIES + 10)
    path = tmp_path / "hidden.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in items:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.comment = b"PK\x01\x02" + bytes(24) + b"\x05\x00" + bytes(16) + b"ghost"
            zf.writestr(info, data)
    names = [n for n, _ in items]
    records = archive.read_central_directory(str(path))[1]
    rng = random.Random(3)
    for _ in range(30):  # claims over the real lengths, and over random splits
        classes = claimed_classes(names) if _ == 0 else _random_classes(rng, len(names))
        _set_comment(path, forged_comment(classes, len(names), len(records)))
        assert directory.open_index(str(path)).get("ghost") is None
        assert_same(str(path), lambda: directory.open_index(str(path)))


def _random_classes(rng: random.Random, entries: int) -> list[tuple[int, int]]:
    widths = sorted(rng.sample(range(1, 40), rng.randint(1, 8)))
    cuts = sorted(rng.sample(range(1, entries), len(widths) - 1))
    counts = [b - a for a, b in zip([0, *cuts], [*cuts, entries], strict=True)]
    return list(zip(widths, counts, strict=True))


def _set_comment(path: Path, comment: bytes) -> None:
    with zipfile.ZipFile(path, "a") as zf:
        zf.comment = comment


def comment_mutations(comment: bytes, rng: random.Random) -> Iterator[bytes]:
    body = bytearray(comment)
    for _ in range(60):
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(index_cache.EMBEDDED_MAGIC), len(mutated))
            mutated[at] = ord(rng.choice("0123456789abcdef"))
        yield bytes(mutated)
    yield bytes(body[: rng.randrange(len(body))])
    yield index_cache.EMBEDDED_MAGIC + b"zz"
    yield index_cache.EMBEDDED_MAGIC + bytes(rng.randrange(256) for _ in range(40)).hex().encode()


def test_fuzzed_comments_never_give_wrong_answers(tmp_path: Path) -> None:
    items = members(index_cache.MIN_ENTRIES + 50)
    path = Path(forged_archive(tmp_path / "fuzz.zip", items))
    with zipfile.ZipFile(path) as zf:
        comment = zf.comment
    rng = random.Random(11)
    for seed, mutated in enumerate(comment_mutations(comment, rng)):
        _set_comment(path, mutated)
        assert_same(str(path), lambda: directory.open_index(str(path)), seed)


def test_fuzzed_directories_never_give_wrong_answers(tmp_path: Path) -> None:
    items = members(index_cache.MIN_ENTRIES + 50)
    clean = Path(forged_archive(tmp_path / "clean.zip", items))
    layout, records, _ = archive.read_central_directory(str(clean))
    data = clean.read_bytes()
    rng = random.Random(5)
    path = tmp_path / "fuzz.zip"
    for seed in range(120):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            at = layout.cd_start + rng.randrange(len(records))
            # Mostly the fields the layout check reads; sometimes any byte.
            mutated[at] = rng.randrange(256) if seed % 3 else mutated[at] ^ (1 << rng.randrange(8))
        path.write_bytes(bytes(mutated))
        assert_same(str(path), lambda: directory.open_index(str(path)), seed)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths in the names")
def test_embedded_classes_checks_every_record(built: str) -> None:
    layout, records, _ = archive.read_central_directory(built)
    data_end = layout.cd_start - layout.prepended
    classes = index_cache.embedded_classes(records, layout.entries, layout.comment, data_end)
    assert classes is not None
    assert sum(m for _, _, m in classes) == layout.entries
    # One byte of one field the check reads, anywhere: not the layout any more.
    rng = random.Random(2)
    for _ in range(50):
        w, start, m = rng.choice(classes)
        at = start + rng.randrange(m) * (46 + w) + rng.choice([0, 3, 20, 28, 29, 30, 33, 42, 45])
        broken = bytearray(records)
        broken[at] ^= 0x40
        assert (
            index_cache.embedded_classes(bytes(broken), layout.entries, layout.comment, data_end)
            is None
        )

"""Archives inside archives (``outer.zip/inner.zip``) and archives in memory (``from_bytes``).

A stored inner archive is read in place (a window of the outer file), a
compressed one is decompressed into memory once; an archive given as bytes is
read from those bytes.  Either way everything a top-level archive does holds:
imports, ``__file__``, tracebacks, ``get_data``, resources, CRC and header
checks, change detection (of the outer file), and errors naming the archive.
"""

from __future__ import annotations

import gc
import importlib
import importlib.resources
import importlib.util
import os
import pkgutil
import sys
import traceback
import zipfile
from pathlib import Path

import pytest

import zipimporter
from conftest import SHEBANG, Entry, forget, make_zip, run_python, zip64_everywhere, zip_bytes
from zipimporter import archive, directory

SEP = os.sep
STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
METHODS = [pytest.param(STORED, id="stored"), pytest.param(DEFLATED, id="deflated")]

FAILING = "def fail():\n    raise RuntimeError('failing inside')\n"
INNER = {
    "nmod.py": "value = 'inner'\n",
    "npkg/__init__.py": "value = 'npkg'\n",
    "npkg/leaf.py": "from . import value as parent\nvalue = 'leaf'\n",
    "npkg/data.txt": "some data\n",
    "nns/portion.py": "value = 'portion'\n",
    "nfail.py": FAILING,
}
NAMES = ["nmod", "npkg", "nns", "nfail"]


def inner_bytes(members: dict[str, str | bytes | Entry] | None = None, **options: object) -> bytes:
    return zip_bytes(INNER if members is None else members, **options)  # type: ignore[arg-type]


def outer_zip(tmp_path: Path, members: dict[str, bytes | Entry], name: str = "outer.zip") -> str:
    return make_zip(tmp_path / name, {"readme.txt": "outer\n", **members, "after.txt": "x"})


@pytest.fixture(autouse=True)
def clean_imports() -> None:
    forget(*NAMES, "deep", "lib_mod")


@pytest.fixture
def memory_entries():
    """Entries given out during the test, forgotten after it."""
    entries: list[str] = []
    yield entries
    for entry in entries:
        zipimporter.forget_bytes(entry)


def nested(tmp_path: Path, method: int) -> tuple[str, str]:
    """(outer archive, nested archive path) with INNER stored or deflated as inner.zip."""
    outer = outer_zip(tmp_path, {"inner.zip": Entry(inner_bytes(), compress_type=method)})
    return outer, os.path.join(outer, "inner.zip")


# -- importing -------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_import_from_a_nested_archive(tmp_path, method):
    outer, path = nested(tmp_path, method)
    sys.path.insert(0, path)
    with zipimporter.install():
        nmod = importlib.import_module("nmod")
        leaf = importlib.import_module("npkg.leaf")
        portion = importlib.import_module("nns.portion")
    assert (nmod.value, leaf.value, leaf.parent, portion.value) == (
        "inner",
        "leaf",
        "npkg",
        "portion",
    )
    assert nmod.__file__ == os.path.join(outer, "inner.zip", "nmod.py")
    assert sys.modules["npkg"].__path__ == [os.path.join(path, "npkg")]
    assert list(sys.modules["nns"].__path__) == [os.path.join(path, "nns")]
    loader = nmod.__loader__
    assert isinstance(loader, zipimporter.zipimporter)
    assert (loader.archive, loader.prefix) == (path, "")


@pytest.mark.parametrize("method", METHODS)
def test_prefix_inside_a_nested_archive(tmp_path, method):
    outer, path = nested(tmp_path, method)
    zi = zipimporter.zipimporter(os.path.join(path, "npkg"))
    assert (zi.archive, zi.prefix) == (path, "npkg" + SEP)
    assert zi.find_spec("npkg.leaf").origin == os.path.join(path, "npkg", "leaf.py")
    assert repr(zi) == f'<zipimporter object "{path}{SEP}npkg{SEP}">'
    assert path in zipimporter._zip_directory_cache
    assert outer in zipimporter._zip_directory_cache


def test_stored_inner_archive_is_read_in_place(tmp_path):
    outer, path = nested(tmp_path, STORED)
    index = zipimporter.zipimporter(path)._get_files()
    source = index.source
    assert source.buffer is None and source.file == outer
    with zipfile.ZipFile(outer) as zf:
        info = zf.getinfo("inner.zip")
    assert source.base == info.header_offset + 30 + len(b"inner.zip") + len(info.extra)
    assert source.size == info.file_size
    assert index.stat is not None and index.stat.st_ino == os.stat(outer).st_ino


def test_deflated_inner_archive_is_held_in_memory(tmp_path):
    outer, path = nested(tmp_path, DEFLATED)
    index = zipimporter.zipimporter(path)._get_files()
    assert bytes(index.source.buffer) == inner_bytes()
    assert index.source.file == outer


@pytest.mark.parametrize("method", METHODS)
def test_nested_three_deep_and_in_a_directory(tmp_path, method):
    deepest = inner_bytes({"deep.py": "value = 'deepest'\n"}, compression=method)
    middle = zip_bytes({"lib/deeper.zip": Entry(deepest, compress_type=method)})
    outer = outer_zip(tmp_path, {"bundle/middle.zip": Entry(middle, compress_type=method)})
    path = os.path.join(outer, "bundle", "middle.zip", "lib", "deeper.zip")
    zi = zipimporter.zipimporter(path)
    assert (zi.archive, zi.prefix) == (path, "")
    sys.path.insert(0, path)
    with zipimporter.install():
        deep = importlib.import_module("deep")
    assert deep.value == "deepest"
    assert deep.__file__ == os.path.join(path, "deep.py")


@pytest.mark.parametrize("method", METHODS)
def test_nested_with_prepended_data_and_zip64(tmp_path, method):
    inner = zip64_everywhere(
        {"nmod.py": b"value = 'zip64'\n"}, deflate=method == DEFLATED, prepend=SHEBANG
    )
    outer = make_zip(
        tmp_path / "app.pyz", {"inner.zip": Entry(inner, compress_type=method)}, prepend=SHEBANG
    )
    zi = zipimporter.zipimporter(os.path.join(outer, "inner.zip"))
    assert zi.get_source("nmod") == "value = 'zip64'\n"


@pytest.mark.parametrize("method", METHODS)
def test_traceback_get_source_and_data(tmp_path, method):
    outer, path = nested(tmp_path, method)
    sys.path.insert(0, path)
    with zipimporter.install():
        nfail = importlib.import_module("nfail")
        npkg = importlib.import_module("npkg")
        try:
            nfail.fail()
        except RuntimeError:
            text = traceback.format_exc()
        data = (importlib.resources.files(npkg) / "data.txt").read_text()
    assert f'File "{os.path.join(path, "nfail.py")}", line 2, in fail' in text
    assert "raise RuntimeError('failing inside')" in text
    assert data == "some data\n"
    loader = nfail.__loader__
    assert loader.get_source("nfail") == FAILING
    assert loader.get_data(os.path.join(path, "npkg", "data.txt")) == b"some data\n"
    assert loader.get_data(os.path.join("npkg", "data.txt")) == b"some data\n"
    with pytest.raises(OSError):
        loader.get_data(os.path.join(outer, "readme.txt"))  # the outer's, not the inner's


def test_pkgutil_iter_modules_of_a_nested_archive(tmp_path):
    _, path = nested(tmp_path, DEFLATED)
    with zipimporter.install():
        found = sorted((m.name, m.ispkg) for m in pkgutil.iter_modules([path]))
    assert found == [("nfail", False), ("nmod", False), ("npkg", True)]


def test_directory_member_is_a_prefix_not_an_archive(tmp_path):
    outer = make_zip(tmp_path / "o.zip", {"lib/": b"", "lib/lib_mod.py": "value = 1\n"})
    zi = zipimporter.zipimporter(os.path.join(outer, "lib"))
    assert (zi.archive, zi.prefix) == (outer, "lib" + SEP)


# -- change detection ----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_rewritten_outer_file_is_noticed(tmp_path, method):
    _, path = nested(tmp_path, method)
    zi = zipimporter.zipimporter(path)
    assert zi.get_data("nmod.py") == b"value = 'inner'\n"
    changed = inner_bytes({**INNER, "nmod.py": "value = 'rewritten, and longer'\n"})
    outer_zip(tmp_path, {"pad.bin": b"p" * 100, "inner.zip": Entry(changed, compress_type=method)})
    assert zi.get_data("nmod.py") == b"value = 'rewritten, and longer'\n"
    assert zi.get_source("nmod") == "value = 'rewritten, and longer'\n"
    assert zipimporter.zipimporter(path).find_spec("nmod") is not None


def test_inner_member_removed_from_the_outer(tmp_path):
    outer, path = nested(tmp_path, STORED)
    zi = zipimporter.zipimporter(path)
    outer_zip(tmp_path, {"other.zip": inner_bytes()})
    assert zi.find_spec("nmod") is None
    # No such member: the path is an ordinary prefix of the outer archive, as in the stdlib.
    again = zipimporter.zipimporter(path)
    assert (again.archive, again.prefix) == (outer, "inner.zip" + SEP)


# -- hostile and damaged inner archives -------------------------------------------------------


def rejected(path: str) -> zipimporter.ZipImportError:
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zipimporter.zipimporter(path)
    assert caught.value.path == path
    assert repr(path) in str(caught.value)
    return caught.value


@pytest.mark.parametrize("method", METHODS)
def test_inner_that_is_no_archive(tmp_path, method):
    outer = outer_zip(tmp_path, {"inner.zip": Entry(b"not a zip at all", compress_type=method)})
    assert "not a Zip file" in str(rejected(os.path.join(outer, "inner.zip")))


def test_stored_inner_is_never_read_past_its_end(tmp_path):
    """Cut before its end record, the inner archive is not a ZIP, though the outer's
    end record follows: reading in place never leaves the member's data."""
    inner = inner_bytes()[:-22]
    outer = outer_zip(tmp_path, {"inner.zip": inner})
    assert "not a Zip file" in str(rejected(os.path.join(outer, "inner.zip")))


def test_stored_inner_whose_directory_points_outside_it(tmp_path):
    """Offsets are relative to the inner archive: a central directory offset that would
    reach the outer's bytes before the member is refused."""
    inner = bytearray(inner_bytes({"nmod.py": "value = 1\n"}))
    eocd = inner.rfind(b"PK\x05\x06")
    inner[eocd + 12 : eocd + 16] = (len(inner) + 500).to_bytes(4, "little")  # size too big
    outer = outer_zip(tmp_path, {"pad.bin": b"P" * 1000, "inner.zip": bytes(inner)})
    rejected(os.path.join(outer, "inner.zip"))


def _patch_inner_headers(outer: Path, local_at: int, central_at: int, value: int) -> None:
    """OR *value* into the byte at *local_at* of inner.zip's local header and at *central_at*
    of its central record."""
    blob = bytearray(outer.read_bytes())
    with zipfile.ZipFile(outer) as zf:
        local = zf.getinfo("inner.zip").header_offset
    central = blob.rfind(b"inner.zip") - 46
    assert blob[local : local + 4] == b"PK\x03\x04"
    assert blob[central : central + 4] == b"PK\x01\x02"
    if value:
        blob[local + local_at] |= value
        blob[central + central_at] |= value
    else:  # zero the 4 bytes there
        blob[local + local_at : local + local_at + 4] = bytes(4)
        blob[central + central_at : central + central_at + 4] = bytes(4)
    outer.write_bytes(bytes(blob))


def test_corrupt_deflated_inner_fails_its_crc(tmp_path):
    outer = Path(outer_zip(tmp_path, {"inner.zip": Entry(inner_bytes(), compress_type=DEFLATED)}))
    _patch_inner_headers(outer, 14, 16, 0)  # both CRC-32 fields: only the data can tell
    error = rejected(os.path.join(str(outer), "inner.zip"))
    assert "bad CRC-32" in str(error)


def test_encrypted_inner_member(tmp_path):
    outer = Path(outer_zip(tmp_path, {"inner.zip": inner_bytes()}))
    _patch_inner_headers(outer, 6, 8, 1)  # the encrypted flag, in both headers
    error = rejected(os.path.join(str(outer), "inner.zip"))
    assert "encrypted members are not supported" in str(error)


def test_deflated_inner_over_the_member_size_limit(tmp_path, monkeypatch):
    _, path = nested(tmp_path, DEFLATED)
    monkeypatch.setenv("ZIPIMPORTER_MAX_MEMBER_SIZE", "100")
    assert "ZIPIMPORTER_MAX_MEMBER_SIZE" in str(rejected(path))


def test_stored_inner_needs_no_memory_limit(tmp_path, monkeypatch):
    """Read in place, a stored inner archive is never in memory: only its members count."""
    _, path = nested(tmp_path, STORED)
    monkeypatch.setenv("ZIPIMPORTER_MAX_MEMBER_SIZE", "100")
    assert zipimporter.zipimporter(path).get_data("nmod.py") == b"value = 'inner'\n"


def test_errors_inside_a_nested_archive_name_it(tmp_path):
    inner = bytearray(inner_bytes({"nmod.py": "value = 1\n"}))
    inner[inner.find(b"value")] ^= 0xFF  # the member's data: its CRC-32 no longer matches
    outer = outer_zip(tmp_path, {"inner.zip": bytes(inner)})
    path = os.path.join(outer, "inner.zip")
    zi = zipimporter.zipimporter(path)
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zi.get_source("nmod")
    assert caught.value.path == path
    assert repr(path) in str(caught.value)


# -- archives in memory -----------------------------------------------------------------------


def test_import_from_bytes(tmp_path, memory_entries):
    entry = zipimporter.from_bytes(inner_bytes(), "app")
    memory_entries.append(entry)
    assert entry == "<memory:app>"
    sys.path.insert(0, entry)
    with zipimporter.install():
        nmod = importlib.import_module("nmod")
        npkg = importlib.import_module("npkg")
        portion = importlib.import_module("nns.portion")
        nfail = importlib.import_module("nfail")
        try:
            nfail.fail()
        except RuntimeError:
            text = traceback.format_exc()
        data = (importlib.resources.files(npkg) / "data.txt").read_bytes()
    assert nmod.__file__ == f"<memory:app>{SEP}nmod.py"
    assert npkg.__path__ == [f"<memory:app>{SEP}npkg"]
    assert portion.value == "portion"
    assert f'File "<memory:app>{SEP}nfail.py", line 2, in fail' in text
    assert "raise RuntimeError('failing inside')" in text
    assert data == b"some data\n"
    assert nmod.__loader__.get_data(f"<memory:app>{SEP}npkg{SEP}data.txt") == b"some data\n"


def test_from_bytes_prefix_and_nested_archives(memory_entries):
    deeper = inner_bytes({"deep.py": "value = 'deep in memory'\n"})
    data = zip_bytes(
        {"stored.zip": deeper, "deflated.zip": Entry(deeper, compress_type=DEFLATED)},
        compression=STORED,
    )
    entry = zipimporter.from_bytes(data, "bundle")
    memory_entries.append(entry)
    for member in ("stored.zip", "deflated.zip"):
        zi = zipimporter.zipimporter(f"{entry}{SEP}{member}")
        assert zi.archive == f"{entry}{SEP}{member}"
        assert zi.get_source("deep") == "value = 'deep in memory'\n"
    stored = zipimporter._zip_directory_cache[f"{entry}{SEP}stored.zip"].source
    assert stored.buffer.obj is data  # a window of the very bytes given: nothing copied
    prefixed = zipimporter.zipimporter(f"{entry}{SEP}sub")
    assert (prefixed.archive, prefixed.prefix) == (entry, "sub" + SEP)


def test_from_bytes_names(memory_entries):
    one, two = inner_bytes(), inner_bytes({"other.py": ""})
    first = zipimporter.from_bytes(one, "same")
    memory_entries.append(first)
    assert zipimporter.from_bytes(bytes(one), "same") == first  # equal bytes: the same entry
    second = zipimporter.from_bytes(two, "same")
    memory_entries.append(second)
    assert second == "<memory:same-2>"
    for bad in ("", "a/b", "nul\0"):
        with pytest.raises(ValueError):
            zipimporter.from_bytes(one, bad)


def test_from_bytes_copies_mutable_buffers_once(memory_entries):
    data = bytearray(inner_bytes())
    entry = zipimporter.from_bytes(data, "mutable")
    memory_entries.append(entry)
    data[:] = b"\0" * len(data)
    assert zipimporter.zipimporter(entry).get_source("nmod") == "value = 'inner'\n"


def test_from_bytes_of_no_archive_holds_nothing():
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zipimporter.from_bytes(b"not an archive", "junk")
    assert caught.value.path == "<memory:junk>"
    assert "<memory:junk>" not in directory._memory
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zipimporter.zipimporter("<memory:junk>")
    assert str(caught.value) == directory.NOT_IN_MEMORY.format(path="<memory:junk>")


def test_forget_bytes_releases_them():
    data = inner_bytes({"gone.py": "value = 1\n", "pkg/__init__.py": ""})
    baseline = sys.getrefcount(data)
    entry = zipimporter.from_bytes(data, "release")
    sys.path.insert(0, entry)
    with zipimporter.install():
        importlib.import_module("gone")
        importlib.resources.files(importlib.import_module("pkg")).iterdir()
        zi = zipimporter.zipimporter(f"{entry}{SEP}pkg")
        assert sys.getrefcount(data) > baseline
        assert zipimporter.forget_bytes(entry)
        assert not zipimporter.forget_bytes(entry)
        gc.collect()
        assert sys.getrefcount(data) == baseline
        assert entry not in sys.path_importer_cache
        assert not [k for k in zipimporter._zip_directory_cache if k.startswith(entry)]
        assert zi.find_spec("anything") is None
        with pytest.raises(zipimporter.ZipImportError):
            zipimporter.zipimporter(entry)
    sys.path.remove(entry)
    forget("gone", "pkg")


def test_memory_entry_never_reads_a_file_of_that_name(tmp_path, monkeypatch, memory_entries):
    """The registry comes first: a real directory named like the entry is not imported from."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "<memory:shadow>").mkdir()
    (tmp_path / "<memory:shadow>" / "nmod.py").write_text("value = 'from the disk'\n")
    entry = zipimporter.from_bytes(inner_bytes(), "shadow")
    memory_entries.append(entry)
    assert zipimporter.zipimporter(entry).get_source("nmod") == "value = 'inner'\n"


def test_memory_archive_errors_name_the_entry(memory_entries):
    inner = bytearray(inner_bytes({"nmod.py": "value = 1\n"}))
    inner[inner.find(b"value")] ^= 0xFF
    entry = zipimporter.from_bytes(bytes(inner), "damaged")
    memory_entries.append(entry)
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zipimporter.zipimporter(entry).get_source("nmod")
    assert caught.value.path == entry
    assert "bad CRC-32" in str(caught.value)


def test_window_reads_never_leave_the_window():
    data = b"0123456789"
    window = archive._Window(archive.Source(None, memoryview(data), 2, 5, None), None)
    assert window.seek(0, os.SEEK_END) == 5
    window.seek(3)
    assert window.read(10) == b"56"
    window.seek(1 << 70)
    assert window.read(4) == b""
    window.seek(0)
    assert window.read() == b"23456"


def test_memory_archive_leaves_nothing_on_disk(tmp_path, cache, memory_entries):
    """An archive given as bytes may have been decrypted: no compiled source and no saved
    index of it is written, even with the caches on (an archive on disk does write both)."""
    members: dict[str, str | bytes | Entry] = {f"pad/m{i}.txt": b"" for i in range(2100)}
    members["secret.py"] = "value = 'secret'\n"
    data = inner_bytes(members)
    entry = zipimporter.from_bytes(data, "secret")
    memory_entries.append(entry)
    sys.path.insert(0, entry)
    with zipimporter.install():
        assert importlib.import_module("secret").value == "secret"
    assert [p for p in cache.rglob("*") if p.is_file()] == []
    forget("secret")
    sys.path[0] = make_zip(tmp_path / "secret.zip", members)
    with zipimporter.install():
        assert importlib.import_module("secret").value == "secret"
    assert [p for p in cache.rglob("*") if p.is_file()]


def test_extension_module_from_nested_and_memory_archives(tmp_path):
    """An extension module (the stdlib's test extension ``xxlimited_35``) imports from an
    archive inside an archive and from one in memory: extracted (into the cache; from
    memory into the private directory only, see design.md), loaded, its origin kept."""
    found = importlib.util.find_spec("xxlimited_35")
    if found is None or not found.origin or not found.origin.endswith(".so"):
        pytest.skip("this Python has no xxlimited_35 extension module")
    wheel = zip_bytes(
        {os.path.basename(found.origin): Path(found.origin).read_bytes()}, compression=DEFLATED
    )
    outer = make_zip(tmp_path / "outer.zip", {"ext.whl": wheel})
    code = (
        "import os, sys, zipimporter; zipimporter.install()\n"
        f"entry = sys.argv[1] if sys.argv[1] != 'memory' else "
        f"zipimporter.from_bytes(open({outer!r}, 'rb').read(), 'outer') + '/ext.whl'\n"
        "sys.path.insert(0, entry)\n"
        "import xxlimited_35 as x\n"
        "print(x.__spec__.loader.archive, x.__file__.startswith(sys.argv[2]), x.foo(1, 2),\n"
        "      os.path.basename(os.path.dirname(os.path.dirname(x.__file__)))[:16])\n"
    )
    for where in (os.path.join(outer, "ext.whl"), "memory"):
        result = run_python(
            "-c", code, where, str(tmp_path / "cache"), cache_dir=tmp_path / "cache"
        )
        assert result.returncode == 0, result.stderr
        want = (
            f"<memory:outer>{SEP}ext.whl" if where == "memory" else os.path.join(outer, "ext.whl")
        )
        if where == "memory":
            assert result.stdout.split() == [want, "False", "3", "zipimporter-ext-"]
        else:
            assert result.stdout.split()[:3] == [want, "True", "3"]

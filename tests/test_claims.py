"""Claims of the README and DEVELOPERS rules that no other test file pins.

Pinned elsewhere (one place each): PathLike accepted and bytes refused
(test_api: test_pathlike_accepted, test_non_str_path_is_type_error), PEP 263
``get_source`` of a latin-1 source (test_bytecode: test_source_encoding_cookie),
unusable and truncated ``.pyc`` (test_bytecode), a missing member's OSError
(test_api), lazily decoded names (test_archive: test_invalid_utf8_name), CRC and
local header checks (test_archive), compiled once per import and then cached
(test_api), and the hostile-archive guarantees (test_hostile).
"""

from __future__ import annotations

import ast
import io
import json
import sys
import zipfile
import zipimport
import zlib
from pathlib import Path

import pytest

import zipimporter
from conftest import SRC, make_zip, pyc, run_python, zip_bytes

#: What ``import zipimporter`` may import besides its own modules: all stdlib, all cheap.
IMPORTED = {
    "__future__",
    "_struct",
    "atexit",  # built in: compiled-source packs are written at exit
    "struct",
    "zlib",
}

#: Heavy modules that neither ``import zipimporter`` nor importing through it may import.
HEAVY = [
    "typing",
    "collections",
    "tempfile",
    "hashlib",
    "contextlib",
    "zipfile",
    "importlib.readers",
    "importlib.resources",
    "importlib.metadata",
    "tokenize",
    "bz2",
    "lzma",
    "array",
    "re",
    "enum",
    "functools",
    "dataclasses",
    "pathlib",
    "threading",
    "inspect",
    "shutil",
    "subprocess",
    "argparse",
    "json",
    "logging",
]
if sys.version_info >= (3, 13):
    HEAVY.append("warnings")

#: Run with ``-I -S``: no site-packages, no PYTHONPATH, so only the stdlib and SRC are
#: importable.  ``os`` is imported first, as ``site`` would have.  Prints the modules
#: each step imported (zipimporter's own left out) as a dict literal.
NEW_MODULES = """\
import os, sys

sys.path.insert(0, {src!r})
seen = set(sys.modules)
steps = {{}}


def note(step):
    new = set(sys.modules) - seen
    steps[step] = sorted(m for m in new if m.partition(".")[0] != "zipimporter")
    seen.update(new)


import zipimporter
{extra}
note("import zipimporter")
if sys.argv[1:]:
    zipimporter.install()
    sys.path.insert(0, sys.argv[1])
    import src_mod, src_pkg.child, pyc_mod
    assert type(src_pkg.child.__loader__).__module__ == "zipimporter.importer"
    assert src_pkg.child.__loader__.get_data("src_pkg/data.txt") == b"data" * 100
    note("imports through it")
print(repr(steps))
"""


def new_modules(tmp_path: Path, *archive: str, extra: str = "") -> dict[str, list[str]]:
    """What each step of NEW_MODULES imported; *extra* is code run after the first import."""
    script = tmp_path / "new_modules.py"
    script.write_text(NEW_MODULES.format(src=SRC, extra=extra))
    proc = run_python("-I", "-S", script, *archive, cache_dir=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout)


def test_import_zipimporter_imports_nothing_heavy(tmp_path):
    """DEVELOPERS: ``import zipimporter`` is cheap and needs only the stdlib."""
    imported = set(new_modules(tmp_path)["import zipimporter"])
    assert sorted(imported & set(HEAVY)) == []
    assert sorted(imported - IMPORTED) == []


def test_importing_through_zipimporter_imports_nothing_heavy(tmp_path):
    """Nor does importing source, packages and .pyc from a deflated archive, with the
    on-disk caches cold and then warm, and reading a member."""
    archive = make_zip(
        tmp_path / "app.zip",
        {
            "src_mod.py": "value = 1\n",
            "src_pkg/__init__.py": "",
            "src_pkg/child.py": "value = 2\n",
            "src_pkg/data.txt": "data" * 100,
            "pyc_mod.pyc": pyc("value = 3\n", kind="unchecked"),
        },
        compression=zipfile.ZIP_DEFLATED,
    )
    for _ in ("cold", "warm"):
        steps = new_modules(tmp_path, archive)
        imported = set(steps["import zipimporter"]) | set(steps["imports through it"])
        assert sorted(imported & set(HEAVY)) == []
        assert (
            sorted(imported - IMPORTED - {"src_mod", "src_pkg", "src_pkg.child", "pyc_mod"}) == []
        )
    assert list((tmp_path / "cache").rglob("*.pack"))  # the warm run had a cache to use


FAKE_ZLIB = """\
import json, sys
if sys.argv[2] == "ours":
    import zipimporter
    zipimporter.install()
sys.modules.pop("zlib", None)
sys.path.insert(0, sys.argv[1])
try:
    import zlib
    import neighbour
except ImportError as exc:
    print(json.dumps(["raises", type(exc).__name__]))
else:
    print(json.dumps([zlib.__file__, zlib.FAKE, neighbour.value]))
"""


def test_zlib_py_in_an_archive_cannot_break_decompression(tmp_path):
    """README: zlib is bound when the package is imported, so a deflated ``zlib.py`` in an
    archive imports like any module (the stdlib fails: it needs zlib to read it)."""
    archive = make_zip(
        tmp_path / "fake.zip",
        {"zlib.py": "FAKE = 'fake zlib'\n", "neighbour.py": "value = 'deflated'\n"},
        compression=zipfile.ZIP_DEFLATED,
    )
    driver = tmp_path / "driver.py"
    driver.write_text(FAKE_ZLIB)
    results = {}
    for which in ("stdlib", "ours"):
        proc = run_python(driver, archive, which, cache_dir=tmp_path / "cache")
        assert proc.returncode == 0, proc.stderr
        results[which] = json.loads(proc.stdout)
    assert results == {
        "stdlib": ["raises", "ZipImportError"],
        "ours": [str(Path(archive, "zlib.py")), "fake zlib", "deflated"],
    }


def test_directory_cache_values_are_directory_indexes(tmp_path):
    """README: ``_zip_directory_cache`` values are our DirectoryIndex objects (a mapping
    from member name to a decoded entry), not the stdlib's tuples."""
    path = make_zip(tmp_path / "a.zip", {"mod.py": "value = 1\n"})
    zipimporter.zipimporter(path)
    index = zipimporter._zip_directory_cache[path]
    assert type(index).__name__ == "DirectoryIndex"
    assert list(index) == ["mod.py"]
    entry = index["mod.py"]
    assert not isinstance(entry, tuple)
    assert (entry.file_size, entry.crc) == (10, zipfile.ZipFile(path).getinfo("mod.py").CRC)
    zipimport.zipimporter(path)
    assert isinstance(zipimport._zip_directory_cache[path]["mod.py"], tuple)


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=str
)
def test_damaged_member_error_names_member_and_archive(tmp_path, method):
    """README: a damaged member gives ZipImportError naming the member and the archive
    (the stdlib lets zlib.error out for a corrupt deflate stream)."""
    content = bytes(range(256)) * 40
    data = bytearray(zip_bytes({"blob.bin": content}, compression=method))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("blob.bin")
    start = info.header_offset + 30 + len("blob.bin")
    # The first byte of the stream proper: deflate's block header (0xFF: a reserved block
    # type), bzip2's "B" of "BZh", LZMA's properties byte after ZIP's 4-byte LZMA header.
    data[start + (4 if method == zipfile.ZIP_LZMA else 0)] = 0xFF
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    archive = str(path)
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zipimporter.zipimporter(archive).get_data("blob.bin")
    assert "'blob.bin'" in str(caught.value)
    assert repr(archive) in str(caught.value)
    assert caught.value.path == archive
    if method == zipfile.ZIP_DEFLATED:
        with pytest.raises(zlib.error):
            zipimport.zipimporter(archive).get_data("blob.bin")


def test_src_is_this_package():
    """conftest's SRC, which subprocesses get as PYTHONPATH, holds the package under test."""
    assert Path(SRC, "zipimporter", "__init__.py").samefile(zipimporter.__file__)


def test_the_import_check_can_fail(tmp_path):
    """The checks above see an import that happens (here one made on purpose)."""
    imported = new_modules(tmp_path, extra="import typing")["import zipimporter"]
    assert "typing" in imported

"""Which of ``.pyc`` and ``.py`` is used, by the stdlib zipimport's rules."""

from __future__ import annotations

import _imp
import marshal
import os
import struct
import sys
import zipimport
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

import zipimporter
from conftest import (
    DATE_TIME,
    Entry,
    dos_fields,
    dos_mtime,
    import_fresh,
    make_zip,
    outcome,
    pyc,
    zip_bytes,
)
from zipimporter import bytecode

SOURCE = "origin = 'source'\n"
COMPILED = "origin = 'pyc'\n"


def build(tmp_path: Path, name: str, members: dict[str, bytes | str | Entry]) -> str:
    path = make_zip(tmp_path / f"{name}.zip", members)
    sys.path.insert(0, path)
    return path


def import_both(name: str) -> tuple[str, str, str]:
    """Import *name* through the stdlib, then through us; both must agree."""
    std = import_fresh(name, ours=False)
    ours = import_fresh(name, ours=True)
    assert type(ours.__loader__) is zipimporter.zipimporter
    assert (ours.origin, ours.__file__, ours.__cached__) == (
        std.origin,
        std.__file__,
        std.__cached__,
    )
    return ours.origin, ours.__file__, ours.__cached__


def fresh_pyc(**kwargs: object) -> bytes:
    """A timestamp pyc matching SOURCE's member time and size."""
    return pyc(COMPILED, mtime=dos_mtime(), size=len(SOURCE), **kwargs)  # type: ignore[arg-type]


# -- timestamp-based ------------------------------------------------------------------------


def test_fresh_timestamp_pyc_is_used(tmp_path):
    path = build(tmp_path, "fresh", {"tsmod.py": SOURCE, "tsmod.pyc": fresh_pyc()})
    origin, file, cached = import_both("tsmod")
    assert origin == "pyc"
    assert file == cached == os.path.join(path, "tsmod.pyc")


@pytest.mark.parametrize("delta", [-1, 1])
def test_timestamp_within_a_second_is_fresh(tmp_path, delta):
    # DOS times have 2-second resolution: the stdlib allows one second either way.
    data = pyc(COMPILED, mtime=dos_mtime() + delta, size=len(SOURCE))
    build(tmp_path, "lenient", {"lenient.py": SOURCE, "lenient.pyc": data})
    assert import_both("lenient")[0] == "pyc"


@pytest.mark.parametrize(
    ("mtime_delta", "size_delta"), [(2, 0), (-3600, 0), (0, 1), (0, -1)], ids=str
)
def test_stale_timestamp_pyc_falls_back_to_source(tmp_path, mtime_delta, size_delta):
    data = pyc(COMPILED, mtime=dos_mtime() + mtime_delta, size=len(SOURCE) + size_delta)
    path = build(tmp_path, "stale", {"stale.py": SOURCE, "stale.pyc": data})
    origin, file, _ = import_both("stale")
    assert origin == "source"
    assert file == os.path.join(path, "stale.py")


def test_timestamp_pyc_against_newer_source_member(tmp_path):
    newer = Entry(SOURCE, date_time=(2021, 1, 1, 0, 0, 0))
    build(tmp_path, "newer", {"newer.py": newer, "newer.pyc": fresh_pyc()})
    assert import_both("newer")[0] == "source"


def test_pyc_only_module(tmp_path):
    path = build(tmp_path, "pyconly", {"pyconly.pyc": pyc(COMPILED, mtime=123, size=456)})
    origin, file, cached = import_both("pyconly")
    assert origin == "pyc"
    assert file == cached == os.path.join(path, "pyconly.pyc")
    importer = zipimporter.zipimporter(path)
    assert importer.get_source("pyconly") is None
    assert importer.is_package("pyconly") is False


def test_pyc_only_package(tmp_path):
    path = build(
        tmp_path,
        "pycpkg",
        {"pycpkg/__init__.pyc": pyc(COMPILED), "pycpkg/child.py": "value = 1\n"},
    )
    std = import_fresh("pycpkg.child", ours=False)
    ours = import_fresh("pycpkg.child", ours=True)
    package = sys.modules["pycpkg"]
    assert package.origin == "pyc"
    assert package.__file__ == os.path.join(path, "pycpkg", "__init__.pyc")
    assert package.__path__ == [os.path.join(path, "pycpkg")]
    assert ours.__file__ == std.__file__
    assert zipimporter.zipimporter(path).get_source("pycpkg") is None


# -- hash-based -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "always", "never"])
@pytest.mark.parametrize("kind", ["unchecked", "checked"])
@pytest.mark.parametrize("matches", [True, False], ids=["hash-matches", "hash-differs"])
def test_hash_based_pyc(tmp_path, monkeypatch, mode, kind, matches):
    monkeypatch.setattr(_imp, "check_hash_based_pycs", mode)
    # The pyc holds COMPILED's code but records the hash of SOURCE (matches)
    # or of something else.
    recorded = SOURCE.encode() if matches else b"other source"
    data = pyc(COMPILED, kind=kind, hash_source=recorded)
    build(tmp_path, "hashed", {"hashed.py": SOURCE, "hashed.pyc": data})
    checked = mode == "always" or (mode == "default" and kind == "checked")
    expected = "source" if checked and not matches else "pyc"
    assert import_both("hashed")[0] == expected


def test_hash_based_pyc_without_source(tmp_path, monkeypatch):
    monkeypatch.setattr(_imp, "check_hash_based_pycs", "always")
    build(tmp_path, "hashonly", {"hashonly.pyc": pyc(COMPILED, kind="checked")})
    assert import_both("hashonly")[0] == "pyc"


# -- unusable bytecode ----------------------------------------------------------------------


def test_bad_magic_falls_back_to_source(tmp_path):
    data = fresh_pyc(magic=b"\x00\x00\x0d\x0a")
    build(tmp_path, "badmagic", {"badmagic.py": SOURCE, "badmagic.pyc": data})
    assert import_both("badmagic")[0] == "source"


def test_bad_magic_without_source(tmp_path):
    build(tmp_path, "nosrc", {"nosrc.pyc": fresh_pyc(magic=b"\x00\x00\x0d\x0a")})
    errors = []
    for ours in (False, True):
        with pytest.raises(ImportError) as exc:
            import_fresh("nosrc", ours=ours)
        errors.append(exc.value)
    std, mine = errors
    assert isinstance(mine, zipimporter.ZipImportError)
    assert isinstance(std, zipimport.ZipImportError)
    assert type(mine.__cause__) is type(std.__cause__) is ImportError
    assert "magic number" in mine.__cause__.msg
    assert "nosrc" not in sys.modules


@pytest.mark.parametrize(
    "data",
    [
        MAGIC_NUMBER + b"\x04\x00\x00\x00" + bytes(8) + b"x",  # unknown flag bit
        MAGIC_NUMBER + bytes(12) + b"\xff\xff",  # not marshal data
        MAGIC_NUMBER + bytes(12) + marshal.dumps(42),  # not a code object
    ],
    ids=["flags", "marshal", "not-code"],
)
def test_unusable_pyc_falls_back_to_source(tmp_path, data):
    build(tmp_path, "unusable", {"unusable.py": SOURCE, "unusable.pyc": data})
    module = import_fresh("unusable", ours=True)
    assert module.origin == "source"


def test_unusable_pyc_without_source_raises(tmp_path):
    path = build(tmp_path, "flags", {"flagsmod.pyc": MAGIC_NUMBER + b"\x04" + bytes(11)})
    with pytest.raises(zipimporter.ZipImportError) as exc:
        zipimporter.zipimporter(path).get_code("flagsmod")
    assert "invalid flags" in str(exc.value.__cause__)


def test_truncated_pyc_header(tmp_path):
    # Shorter than a pyc header: the stdlib raises EOFError out of the import;
    # we treat it as unusable bytecode and use the source.
    path = build(tmp_path, "short", {"shortpyc.py": SOURCE, "shortpyc.pyc": MAGIC_NUMBER + b"\0"})
    assert outcome(lambda: zipimport.zipimporter(path).get_code("shortpyc")) == (
        "raises",
        "EOFError",
    )
    assert import_fresh("shortpyc", ours=True).origin == "source"


def test_pyc_is_preferred_to_source_for_packages(tmp_path):
    members = {
        "both/__init__.py": SOURCE,
        "both/__init__.pyc": fresh_pyc(),
    }
    build(tmp_path, "pkgpyc", members)
    assert import_both("both")[0] == "pyc"


def test_package_before_module(tmp_path):
    # pkg/__init__.py wins over pkg.py, as in the stdlib's search order.
    build(tmp_path, "order", {"order/__init__.py": "origin = 'package'\n", "order.py": SOURCE})
    module = import_fresh("order", ours=True)
    assert module.origin == "package"
    assert hasattr(module, "__path__")


# -- source handling ------------------------------------------------------------------------


def test_crlf_and_cr_source(tmp_path):
    source = "a = 1\r\nb = (\r\n  2)\rc = a + b\r\n"
    path = build(tmp_path, "newlines", {"newlines.py": source.encode()})
    module = import_fresh("newlines", ours=True)
    assert module.c == 3
    # get_source keeps the line endings, as the stdlib's does.
    assert zipimporter.zipimporter(path).get_source("newlines") == source
    assert zipimport.zipimporter(path).get_source("newlines") == source


def test_source_encoding_cookie(tmp_path):
    source = "# -*- coding: latin-1 -*-\ntext = '\u00e9t\u00e9'\n"
    path = build(tmp_path, "latin", {"latin.py": source.encode("latin-1")})
    assert import_fresh("latin", ours=True).text == "\u00e9t\u00e9"
    assert zipimporter.zipimporter(path).get_source("latin") == source
    # The stdlib's get_source decodes as UTF-8 whatever the cookie says.
    assert outcome(lambda: zipimport.zipimporter(path).get_source("latin")) == (
        "raises",
        "UnicodeDecodeError",
    )


def test_utf8_bom_source(tmp_path):
    path = build(tmp_path, "bom", {"bommod.py": b"\xef\xbb\xbfvalue = '\xc3\xa9'\n"})
    assert import_fresh("bommod", ours=True).value == "\u00e9"
    # Decoded as 'utf-8-sig', as importlib's file loaders do; the stdlib
    # zipimport keeps the BOM in the string.
    assert zipimporter.zipimporter(path).get_source("bommod") == "value = '\u00e9'\n"
    assert zipimport.zipimporter(path).get_source("bommod") == "\ufeffvalue = '\u00e9'\n"


def test_syntax_error_in_source(tmp_path):
    path = build(tmp_path, "syntax", {"broken_syntax.py": "x = 1\ndef f(:\n"})
    errors = []
    for ours in (False, True):
        with pytest.raises(SyntaxError) as exc:
            import_fresh("broken_syntax", ours=ours)
        errors.append((exc.value.filename, exc.value.lineno))
    assert errors[0] == errors[1] == (os.path.join(path, "broken_syntax.py"), 2)


# -- unit level -----------------------------------------------------------------------------


def test_dos_to_unix_matches_zipfile_date_time():
    data = zip_bytes({"x": b""})
    dos_time, dos_date = struct.unpack_from("<HH", data, 10)  # as zipfile wrote them
    assert (dos_date, dos_time) == dos_fields(DATE_TIME)
    assert bytecode.dos_to_unix(dos_date, dos_time) == dos_mtime(DATE_TIME)


def test_pyc_to_code_size_is_compared_modulo_2_32():
    source_size = 2**32 + len(SOURCE)
    data = pyc(COMPILED, mtime=1000, size=len(SOURCE))
    code = bytecode.pyc_to_code(data, "m", "m.pyc", (1000, source_size), lambda: None)
    assert code is not None
    stale = bytecode.pyc_to_code(data, "m", "m.pyc", (1000, source_size + 1), lambda: None)
    assert stale is None


def test_pyc_to_code_zero_mtime_skips_the_check():
    data = pyc(COMPILED, mtime=1000, size=1)
    assert bytecode.pyc_to_code(data, "m", "m.pyc", (0, 99), lambda: None) is not None


def test_compile_source_normalises_newlines():
    code = bytecode.compile_source(b"a = 1\r\nb = 2\rc = 3\n", "<x>")
    namespace: dict[str, int] = {}
    exec(code, namespace)
    assert (namespace["a"], namespace["b"], namespace["c"]) == (1, 2, 3)
    assert code.co_filename == "<x>"

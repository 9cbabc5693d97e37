"""Reading archives: layout variants, compression methods, names, and corruption."""

from __future__ import annotations

import io
import os
import random
import runpy
import struct
import sys
import zipapp
import zipfile
import zipimport
from pathlib import Path
from typing import Any

import pytest

import zipimporter
from conftest import SHEBANG, Entry, import_fresh, make_zip, outcome, zip_bytes
from zipimporter.archive import read_directory, read_member
from zipimporter.compression import ZSTD_UNAVAILABLE

SEP = os.sep
MODULE = "def answer():\n    return 42\n"
METHODS = {
    "stored": zipfile.ZIP_STORED,
    "deflated": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}


def payload(size: int, seed: int = 0) -> bytes:
    """Compressible but not trivial bytes."""
    rng = random.Random(seed)
    return bytes(rng.choice(b"abcdefgh\x00\xff") for _ in range(size))


def header_offset(archive: bytes, name: str) -> int:
    """Where the local header of member *name* is in *archive*."""
    return zipfile.ZipFile(io.BytesIO(archive)).getinfo(name).header_offset


def data_offset(archive: bytes, name: str) -> int:
    """Where the data of member *name* starts in *archive* (after its local header)."""
    at = header_offset(archive, name)
    nlen, elen = struct.unpack_from("<HH", archive, at + 26)
    return at + 30 + nlen + elen


# -- comments and prepended data ------------------------------------------------------


@pytest.mark.parametrize(
    "comment",
    [b"a comment", b"x" * 0xFFFF, b"PK\x05\x06", b"PK\x05\x06" + b"\xff" * 30, b"x PK\x05\x06 y"],
    ids=["short", "max-length", "bare-signature", "signature-and-junk", "embedded-signature"],
)
def test_archive_comment(tmp_path, comment):
    path = make_zip(tmp_path / "commented.zip", {"commented.py": MODULE}, comment=comment)
    index = read_directory(path)
    assert index.layout.comment == comment
    assert list(index) == ["commented.py"]
    sys.path.insert(0, path)
    module = import_fresh("commented", ours=True)
    assert module.answer() == 42
    assert module.__file__ == os.path.join(path, "commented.py")


def test_comment_with_signature_the_stdlib_cannot_read(tmp_path):
    # The stdlib takes the last signature in the tail for the end record.
    path = make_zip(tmp_path / "c.zip", {"m.py": MODULE}, comment=b"PK\x05\x06" + b"\xff" * 30)
    with pytest.raises(zipimport.ZipImportError):
        zipimport.zipimporter(path)
    assert zipimporter.zipimporter(path).get_source("m") == MODULE


def test_comment_that_is_itself_an_end_record(tmp_path):
    # A comment that is a complete, empty end record is ambiguous; every reader
    # (zipfile, the stdlib, us) takes the one at the very end.
    path = make_zip(tmp_path / "c.zip", {"m.py": MODULE}, comment=b"PK\x05\x06" + bytes(18))
    assert zipfile.ZipFile(path).namelist() == []
    assert zipimport.zipimporter(path).find_spec("m") is None
    assert zipimporter.zipimporter(path).find_spec("m") is None


@pytest.mark.parametrize("prepend", [SHEBANG, SHEBANG + b"\x00" * 1000, b"PK\x03\x04junk"])
def test_prepended_data(tmp_path, prepend):
    path = make_zip(
        tmp_path / "app.pyz",
        {"prepended.py": MODULE, "data.bin": payload(3000)},
        compression=zipfile.ZIP_DEFLATED,
        prepend=prepend,
    )
    index = read_directory(path)
    assert index.layout.prepended == len(prepend)
    sys.path.insert(0, path)
    std = import_fresh("prepended", ours=False)
    ours = import_fresh("prepended", ours=True)
    assert ours.__file__ == std.__file__ == os.path.join(path, "prepended.py")
    assert ours.answer() == 42
    assert ours.__loader__.get_data("data.bin") == payload(3000)


def test_zipapp_pyz(tmp_path):
    src = tmp_path / "src"
    (src / "helper").mkdir(parents=True)
    (src / "__main__.py").write_text("import helper\nresult = helper.answer()\n")
    (src / "helper" / "__init__.py").write_text(MODULE)
    target = tmp_path / "app.pyz"
    zipapp.create_archive(src, target, interpreter="/usr/bin/env python3", compressed=True)
    assert target.read_bytes().startswith(SHEBANG)
    sys.path.insert(0, str(target))
    with zipimporter.install():
        result = runpy.run_path(str(target), run_name="__main__")
        assert type(sys.path_importer_cache[str(target)]) is zipimporter.zipimporter
    assert result["result"] == 42
    assert type(result["__loader__"]) is zipimporter.zipimporter
    assert result["__file__"] == os.path.join(str(target), "__main__.py")


# -- compression methods and data descriptors --------------------------------------------


@pytest.mark.parametrize("method", METHODS.values(), ids=METHODS.keys())
def test_compression_methods(tmp_path, method):
    blob = payload(50_000)
    path = make_zip(
        tmp_path / "compressed.zip",
        {"squeezed.py": MODULE * 50, "blob.bin": blob, "empty.txt": b""},
        compression=method,
    )
    assert {i.compress_type for i in zipfile.ZipFile(path).infolist()} == {method}
    importer = zipimporter.zipimporter(path)
    assert importer.get_data("blob.bin") == blob
    assert importer.get_data("empty.txt") == b""
    assert importer.get_source("squeezed") == MODULE * 50
    sys.path.insert(0, path)
    assert import_fresh("squeezed", ours=True).answer() == 42
    std = outcome(lambda: zipimport.zipimporter(path).get_data("blob.bin"))
    if method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        assert std == ("ok", blob)
    else:
        # The stdlib inflates every compressed member as deflate data.
        assert std == ("raises", "error")


def test_mixed_methods_in_one_archive(tmp_path):
    members = {
        f"m_{name}.py": Entry(f"value = {name!r}\n", method) for name, method in METHODS.items()
    }
    path = make_zip(tmp_path / "mixed.zip", members)
    importer = zipimporter.zipimporter(path)
    for name in METHODS:
        module_name = f"m_{name}"
        assert importer.get_source(module_name) == f"value = {name!r}\n"
        code = importer.get_code(module_name)
        namespace: dict[str, object] = {}
        exec(code, namespace)
        assert namespace["value"] == name


@pytest.mark.parametrize("method", METHODS.values(), ids=METHODS.keys())
def test_data_descriptors(tmp_path, method):
    blob = payload(20_000, seed=1)
    data = zip_bytes({"described.py": MODULE, "blob.bin": blob}, compression=method, seekable=False)
    path = tmp_path / "described.zip"
    path.write_bytes(data)
    infos = zipfile.ZipFile(path).infolist()
    assert all(info.flag_bits & 0x08 for info in infos)
    # The local headers carry no CRC or sizes: those are in the descriptors.
    assert struct.unpack_from("<III", data, infos[0].header_offset + 14) == (0, 0, 0)
    importer = zipimporter.zipimporter(str(path))
    assert importer.get_data("blob.bin") == blob
    sys.path.insert(0, str(path))
    assert import_fresh("described", ours=True).answer() == 42


def _zstd_zipfile() -> Any:
    """A zipfile module that writes zstd (method 93) members, or skip the test.

    Python 3.14's own zipfile, or backports.zstd's (the ``zstd`` extra).
    """
    if hasattr(zipfile, "ZIP_ZSTANDARD"):
        return zipfile
    try:
        from backports.zstd import zipfile as zstd_zipfile
    except ImportError:
        pytest.skip(
            "no zstd codec: needs Python 3.14 or backports.zstd (pip install 'zipimporter[zstd]')"
        )
    return zstd_zipfile


def _zstd_archive(tmp_path: Path, members: dict[str, bytes | str]) -> str:
    zf_module = _zstd_zipfile()
    path = tmp_path / "zstd.zip"
    with zf_module.ZipFile(path, "w", zf_module.ZIP_ZSTANDARD) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


def test_zstd_members_are_read(tmp_path):
    blob = payload(50_000)
    path = _zstd_archive(tmp_path, {"zstdmod.py": MODULE * 50, "blob.bin": blob})
    assert {i.compress_type for i in zipfile.ZipFile(path).infolist()} == {93}
    importer = zipimporter.zipimporter(path)
    assert importer.get_data("blob.bin") == blob
    assert importer.get_source("zstdmod") == MODULE * 50
    sys.path.insert(0, path)
    assert import_fresh("zstdmod", ours=True).answer() == 42


def test_corrupt_zstd_data(tmp_path):
    path = _zstd_archive(tmp_path, {"blob.bin": payload(5000)})
    data = Path(path).read_bytes()
    at = data_offset(data, "blob.bin")
    corrupt = _corrupt(tmp_path, data, at + 4, b"\xff" * 8)  # past the frame's magic
    with pytest.raises(zipimporter.ZipImportError, match="corrupt zstd data") as caught:
        zipimporter.zipimporter(corrupt).get_data("blob.bin")
    assert caught.value.path == corrupt


def test_zstd_without_the_codec_names_the_extra(tmp_path, monkeypatch):
    """Without compression.zstd (3.14) or backports.zstd, the error says what to install."""
    # A zstd member, written by hand: the codec isn't needed to see it's missing.
    data = bytearray(zip_bytes({"packed.bin": b"not really zstd"}))
    struct.pack_into("<H", data, header_offset(bytes(data), "packed.bin") + 8, 93)
    struct.pack_into("<H", data, bytes(data).rindex(b"PK\x01\x02") + 10, 93)
    path = tmp_path / "zstd.zip"
    path.write_bytes(bytes(data))
    for name in ("compression.zstd", "backports.zstd"):
        monkeypatch.setitem(sys.modules, name, None)  # None: "import name" fails
    with pytest.raises(zipimporter.ZipImportError) as caught:
        zipimporter.zipimporter(str(path)).get_data("packed.bin")
    assert str(caught.value) == f"{ZSTD_UNAVAILABLE}: {'packed.bin'!r} in {str(path)!r}"
    assert "pip install 'zipimporter[zstd]'" in str(caught.value)
    assert caught.value.path == str(path)


# -- member names -----------------------------------------------------------------------


def test_cp437_and_utf8_names(tmp_path):
    members = {
        "\u00fcber.py": Entry("value = 'cp437'\n", cp437=True),  # b'\x81ber.py'
        "\u00e9t\u00e9.py": "value = 'utf-8'\n",  # zipfile sets the UTF-8 flag
        "\u043c\u043e\u0434\u0443\u043b\u044c.py": "value = 'cyrillic'\n",
        "plain.py": "value = 'ascii'\n",
    }
    data = zip_bytes(members)
    assert b"\x81ber.py" in data and "\u00e9t\u00e9.py".encode() in data
    path = tmp_path / "names.zip"
    path.write_bytes(data)
    infos = {i.filename: i.flag_bits & 0x800 for i in zipfile.ZipFile(path).infolist()}
    assert infos["\u00fcber.py"] == 0
    assert infos["\u00e9t\u00e9.py"] == 0x800

    ours = set(zipimporter.zipimporter(str(path))._get_files())
    zipimport.zipimporter(str(path))
    assert ours == set(zipimport._zip_directory_cache[str(path)]) == set(members)
    sys.path.insert(0, str(path))
    for name, expected in [("\u00fcber", "cp437"), ("\u00e9t\u00e9", "utf-8")]:
        module = import_fresh(name, ours=True)
        assert module.value == expected
        assert module.__file__ == os.path.join(str(path), name + ".py")


def test_invalid_utf8_name(tmp_path):
    """Names are decoded lazily: a broken one can't be imported, and listing reports it.

    (The stdlib raises UnicodeDecodeError when opening such an archive.)
    """
    data = bytearray(zip_bytes({"\u00e9.py": "x = 1\n", "fine.py": "y = 2\n"}))
    encoded = "\u00e9".encode()
    # Replace the name's UTF-8 bytes with an invalid sequence, everywhere.
    data = bytes(data).replace(encoded + b".py", b"\xff\xfe.py")
    path = tmp_path / "badname.zip"
    path.write_bytes(data)
    importer = zipimporter.zipimporter(str(path))
    assert importer.find_spec("fine") is not None
    assert importer.find_spec("\u00e9") is None
    with pytest.raises(zipimporter.ZipImportError, match="UTF-8") as caught:
        importer._get_files().keys()
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("count", [1, 17, 300])
def test_index_matches_zipfile(tmp_path, count):
    members = {f"dir{i % 7}/file{i}.txt": payload(i % 50, seed=i) for i in range(count)}
    path = make_zip(tmp_path / "many.zip", members, compression=zipfile.ZIP_DEFLATED)
    index = read_directory(path)
    with zipfile.ZipFile(path) as zf:
        assert list(index) == [n.replace("/", SEP) for n in zf.namelist()]
        for info in zf.infolist():
            member = index[info.filename.replace("/", SEP)]
            assert (member.crc, member.file_size, member.compressed_size) == (
                info.CRC,
                info.file_size,
                info.compress_size,
            )
            assert member.method == info.compress_type
            assert read_member(path, member) == zf.read(info)


# -- corruption ---------------------------------------------------------------------------


def _corrupt(tmp_path: Path, data: bytes, at: int, new: bytes) -> str:
    path = tmp_path / "corrupt.zip"
    path.write_bytes(data[:at] + new + data[at + len(new) :])
    return str(path)


def test_crc_mismatch(tmp_path):
    data = zip_bytes({"crc.py": "value = 'original'\n"})
    at = data_offset(data, "crc.py") + len("value = '")
    path = _corrupt(tmp_path, data, at, b"O")
    importer = zipimporter.zipimporter(path)
    with pytest.raises(zipimporter.ZipImportError, match="CRC"):
        importer.get_data("crc.py")
    with pytest.raises(zipimporter.ZipImportError, match="CRC"):
        importer.get_source("crc")
    assert importer.find_spec("crc").origin == "<unknown>"
    # The stdlib does not check CRCs: it hands out the corrupted bytes.
    assert zipimport.zipimporter(path).get_data("crc.py") == b"value = 'Original'\n"


def test_local_header_name_mismatch(tmp_path):
    data = zip_bytes({"named.py": MODULE})
    info_at = header_offset(data, "named.py")
    path = _corrupt(tmp_path, data, info_at + 30, b"N")
    with pytest.raises(zipimporter.ZipImportError, match="name"):
        zipimporter.zipimporter(path).get_data("named.py")


def test_local_header_method_mismatch(tmp_path):
    data = zip_bytes({"method.py": MODULE})
    info_at = header_offset(data, "method.py")
    path = _corrupt(tmp_path, data, info_at + 8, struct.pack("<H", zipfile.ZIP_DEFLATED))
    with pytest.raises(zipimporter.ZipImportError, match="compression method"):
        zipimporter.zipimporter(path).get_data("method.py")


def test_bad_local_header_signature(tmp_path):
    data = zip_bytes({"sig.py": MODULE})
    path = _corrupt(tmp_path, data, 0, b"XX")
    with pytest.raises(zipimporter.ZipImportError, match="local file header"):
        zipimporter.zipimporter(path).get_data("sig.py")
    with pytest.raises(zipimport.ZipImportError):
        zipimport.zipimporter(path).get_data("sig.py")


def test_corrupt_deflate_data(tmp_path):
    data = zip_bytes({"blob.bin": payload(5000)}, compression=zipfile.ZIP_DEFLATED)
    at = data_offset(data, "blob.bin")
    path = _corrupt(tmp_path, data, at, b"\xff\xff\xff\xff")
    with pytest.raises(zipimporter.ZipImportError, match="deflated"):
        zipimporter.zipimporter(path).get_data("blob.bin")


def test_declared_size_too_small(tmp_path):
    # Both headers claim 10 bytes; the deflate stream holds 5000.
    data = bytearray(zip_bytes({"bomb.bin": payload(5000)}, compression=zipfile.ZIP_DEFLATED))
    info_at = header_offset(bytes(data), "bomb.bin")
    struct.pack_into("<I", data, info_at + 22, 10)
    central = bytes(data).rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    path = tmp_path / "bomb.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(zipimporter.ZipImportError, match="more bytes than"):
        zipimporter.zipimporter(str(path)).get_data("bomb.bin")


def test_unsupported_method(tmp_path):
    data = bytearray(zip_bytes({"odd.bin": b"data"}))
    info_at = header_offset(bytes(data), "odd.bin")
    struct.pack_into("<H", data, info_at + 8, 99)
    struct.pack_into("<H", data, bytes(data).rindex(b"PK\x01\x02") + 10, 99)
    path = tmp_path / "odd.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(zipimporter.ZipImportError, match="method 99"):
        zipimporter.zipimporter(str(path)).get_data("odd.bin")


def test_encrypted_member(tmp_path):
    data = bytearray(zip_bytes({"secret.py": MODULE, "public.py": MODULE}))
    info_at = header_offset(bytes(data), "secret.py")
    central = bytes(data).index(b"PK\x01\x02")
    assert bytes(data[central + 46 : central + 55]) == b"secret.py"
    struct.pack_into("<H", data, info_at + 6, 1)
    struct.pack_into("<H", data, central + 8, 1)
    path = tmp_path / "encrypted.zip"
    path.write_bytes(bytes(data))
    importer = zipimporter.zipimporter(str(path))
    with pytest.raises(zipimporter.ZipImportError, match="encrypted"):
        importer.get_data("secret.py")
    assert importer.get_source("public") == MODULE


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, 0.99])
def test_truncated_archive(tmp_path, keep):
    data = zip_bytes({f"m{i}.py": MODULE for i in range(20)})
    path = tmp_path / "truncated.zip"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(zipimporter.ZipImportError) as exc:
        zipimporter.zipimporter(str(path))
    assert repr(str(path)) in str(exc.value)


def test_entry_count_mismatch(tmp_path):
    data = bytearray(zip_bytes({"a.py": MODULE, "b.py": MODULE}))
    eocd = bytes(data).rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 3, 3)
    path = tmp_path / "count.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(zipimporter.ZipImportError, match="mismatched num_entries"):
        zipimporter.zipimporter(str(path))


def test_member_past_central_directory(tmp_path):
    data = bytearray(zip_bytes({"a.py": MODULE}))
    central = bytes(data).index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 42, central)  # local header "at" the CD
    path = tmp_path / "past.zip"
    path.write_bytes(bytes(data))
    # Found when the directory is indexed, before any member is read.
    with pytest.raises(zipimporter.ZipImportError, match="runs into the central directory"):
        zipimporter.zipimporter(str(path))

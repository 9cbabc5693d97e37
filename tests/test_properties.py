"""Property tests of archive parsing, with zipfile as the oracle."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import zipimporter
from conftest import SHEBANG, Entry, zip64_everywhere, zip_bytes
from zipimporter.archive import read_directory

SEP = os.sep
METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]

# Example counts come from the profile loaded in conftest.py.  The scratch file
# is rewritten by every example, so a function-scoped fixture is fine.
SETTINGS = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

_CP437 = sorted({bytes([b]).decode("cp437") for b in range(1, 256)} - {"/", "\\"})


def names(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``/``-separated member names; a trailing ``/`` makes a directory entry."""
    part = st.text(alphabet, min_size=1, max_size=10)
    return st.builds(
        lambda parts, is_dir: "/".join(parts) + ("/" if is_dir else ""),
        st.lists(part, min_size=1, max_size=4),
        st.booleans(),
    )


UTF8_NAMES = names(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/\\"))
CP437_NAMES = names(st.sampled_from(_CP437))


@st.composite
def archives(draw: st.DrawFn) -> tuple[dict[str, Entry], bytes, bytes]:
    """Members (name -> Entry), an archive comment and prepended bytes."""
    cp437 = draw(st.booleans())
    keys = draw(st.lists(CP437_NAMES if cp437 else UTF8_NAMES, max_size=8, unique=True))
    members = {}
    for name in keys:
        data = b"" if name.endswith("/") else draw(st.binary(max_size=2000))
        members[name] = Entry(data, draw(st.sampled_from(METHODS)), cp437=cp437)
    comment = draw(
        st.one_of(
            st.just(b""),
            st.binary(max_size=100),
            st.builds(
                lambda a, b: a + b"PK\x05\x06" + b, st.binary(max_size=30), st.binary(max_size=40)
            ),
        )
    )
    prepend = draw(st.one_of(st.just(b""), st.just(SHEBANG), st.binary(max_size=200)))
    return members, comment, prepend


def ambiguous_end(data: bytes, comment: bytes) -> bool:
    """Whether the comment holds a second end record that also reaches the end of the file.

    Such an archive has two valid readings; every reader takes the last record.
    """
    end = len(data)
    pos = data.find(b"PK\x05\x06", end - len(comment) - 21)  # after the real record's start
    while 0 <= pos <= end - 22:
        (comment_length,) = struct.unpack_from("<H", data, pos + 20)
        if pos + 22 + comment_length == end:
            return True
        pos = data.find(b"PK\x05\x06", pos + 1)
    return False


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "scratch.zip"


def load(path: Path) -> zipimporter.zipimporter:
    """A new importer for *path*, reading the archive afresh."""
    zipimporter._zip_directory_cache.pop(str(path), None)
    return zipimporter.zipimporter(str(path))


@SETTINGS
@given(archives())
def test_index_and_data_match_zipfile(scratch, archive):
    members, comment, prepend = archive
    data = zip_bytes(members, comment=comment, prepend=prepend)
    assume(not ambiguous_end(data, comment))
    scratch.write_bytes(data)
    # The oracle reads the same members without the comment and prepended
    # bytes, which zipfile may misread (it takes the last signature it sees).
    with zipfile.ZipFile(io.BytesIO(zip_bytes(members))) as oracle:
        expected = [name.replace("/", SEP) for name in oracle.namelist()]
        contents = {name.replace("/", SEP): oracle.read(name) for name in oracle.namelist()}

    index = read_directory(str(scratch))
    assert list(index) == expected
    assert index.layout.comment == comment
    assert index.layout.prepended == len(prepend)
    importer = load(scratch)
    for name, content in contents.items():
        assert importer.get_data(name) == content
        assert importer.get_data(str(scratch) + SEP + name) == content


@SETTINGS
@given(archives())
def test_data_descriptor_archives_match_zipfile(scratch, archive):
    members, _, _ = archive
    scratch.write_bytes(zip_bytes(members, seekable=False))
    with zipfile.ZipFile(scratch) as oracle:
        contents = {name.replace("/", SEP): oracle.read(name) for name in oracle.namelist()}
    importer = load(scratch)
    assert list(importer._get_files()) == list(contents)
    for name, content in contents.items():
        assert importer.get_data(name) == content


# -- damage never hands out damaged data ---------------------------------------------------
#
# Which exceptions damage may raise is test_hostile.py's business; here: whatever a damaged
# archive still gives out is exactly what was put in (CRC-32 and local headers are checked).

_BASE_MEMBERS: dict[str, bytes | str | Entry] = {
    "pkg/": b"",
    "pkg/__init__.py": "value = 1\n",
    "pkg/stored.py": Entry("x = 'stored'\n" * 5, zipfile.ZIP_STORED),
    "pkg/deflated.py": Entry("x = 'deflated'\n" * 20, zipfile.ZIP_DEFLATED),
    "bzip2.txt": Entry(b"bzip2 data " * 30, zipfile.ZIP_BZIP2),
    "lzma.txt": Entry(b"lzma data " * 30, zipfile.ZIP_LZMA),
    "\u00e9t\u00e9.py": "y = 2\n",
}
BASES = {
    "plain": zip_bytes(_BASE_MEMBERS, comment=b"a comment"),
    "pyz": zip_bytes(_BASE_MEMBERS, prepend=SHEBANG),
    "descriptors": zip_bytes(_BASE_MEMBERS, seekable=False),
    "zip64": zip64_everywhere(
        {"pkg/__init__.py": b"value = 1\n", "blob.bin": bytes(range(200)) * 3}, deflate=True
    ),
}


def _contents(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as oracle:
        return {name.replace("/", SEP): oracle.read(name) for name in oracle.namelist()}


#: What each base archive holds, read by zipfile.
CONTENTS = {which: _contents(data) for which, data in BASES.items()}


@st.composite
def damage(draw: st.DrawFn) -> tuple[str, bytes]:
    """A base archive with bytes flipped (and possibly cut short), or with bytes
    overwritten in its central directory and end records, where most parsing happens."""
    which = draw(st.sampled_from(sorted(BASES)))
    data = bytearray(BASES[which])
    if draw(st.booleans()):
        flips = st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255))
        for pos, mask in draw(st.lists(flips, max_size=6)):
            data[pos] ^= mask
        cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
        if cut is not None:
            del data[cut:]
    else:
        at = draw(st.integers(data.index(b"PK\x01\x02"), len(data) - 1))
        junk = draw(st.binary(min_size=1, max_size=8))
        data[at : at + len(junk)] = junk
    return which, bytes(data)


@SETTINGS
@given(damage())
def test_damaged_archives_never_hand_out_damaged_data(scratch, damaged):
    which, data = damaged
    intact = data == BASES[which]
    scratch.write_bytes(data)
    try:
        importer = load(scratch)
    except zipimporter.ZipImportError as exc:
        assert not intact, exc
        return
    for name, content in CONTENTS[which].items():
        try:
            read = importer.get_data(name)
        except (zipimporter.ZipImportError, OSError) as exc:  # OSError: the name is gone
            assert not intact, exc
        else:
            assert read == content, name

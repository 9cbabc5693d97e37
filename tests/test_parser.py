"""The ZIP parser and reader: fields named as APPNOTE names them, and errors that name the archive.

``test_every_error_names_the_archive`` damages archives in every structured
way (a cut at every structure boundary, a flipped byte at each end of every
header field, damaged member data, unusable ``.pyc`` files) and uses each one
through every entry point; whatever ``ZipImportError`` comes out must carry the
archive in ``.path`` and its name in the message.
"""

from __future__ import annotations

import importlib
import io
import os
import re
import struct
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hostile
import zipimporter
from conftest import SHEBANG, Entry, forget, make_zip, pyc, zip64_everywhere, zip_bytes
from zipimporter import archive, directory, index_cache

SEP = os.sep
NAME = "damaged-archive.zip"


# -- the named fields ------------------------------------------------------------------------


def _offsets(fmt: str) -> list[int]:
    """The byte offset of each field a struct format unpacks (counts like '4B' expanded)."""
    items = [
        c * int(n or 1) if c != "s" else f"{n}s" for n, c in re.findall(r"(\d*)([a-zA-Z])", fmt)
    ]
    codes = [code for item in items for code in ([item] if item.endswith("s") else list(item))]
    order = fmt[0] if fmt[0] in "<>=!@" else "<"
    return [struct.calcsize(order + "".join(codes[:i])) for i in range(len(codes))]


def test_central_directory_offsets_agree_with_zipfile():
    """Our names for the central record's offsets are where zipfile's format puts those fields."""
    fmt = zipfile.structCentralDir
    at = _offsets(fmt)
    assert struct.calcsize(fmt) == archive._CD_HEADER_SIZE == archive._CD_NAME_AT == 46
    assert at[zipfile._CD_FLAG_BITS] == archive._CD_FLAGS_AT
    assert at[zipfile._CD_COMPRESSED_SIZE] == archive._CD_COMPRESSED_SIZE_AT
    assert at[zipfile._CD_FILENAME_LENGTH] == archive._CD_NAME_LEN_AT
    assert at[zipfile._CD_EXTRA_FIELD_LENGTH] == archive._CD_EXTRA_LEN_AT
    assert at[zipfile._CD_COMMENT_LENGTH] == archive._CD_COMMENT_LEN_AT
    assert at[zipfile._CD_LOCAL_HEADER_OFFSET] == archive._CD_HEADER_OFFSET_AT
    assert struct.calcsize(zipfile.structFileHeader) == archive._LOCAL_HEADER_SIZE == 30


def test_field_indexes_read_the_fields_zipfile_reads():
    """Unpacked with our structs and indexes, a real record gives zipfile's values."""
    data = zip_bytes(
        {"first.py": b"x = 1\n", "named.bin": Entry(b"y" * 300, zipfile.ZIP_DEFLATED)},
        comment=b"the comment",
    )
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        start_dir = zf.start_dir
    pos = start_dir
    for info in infos:
        fields = archive._CENTRAL.unpack_from(data, pos)
        theirs = struct.unpack_from(zipfile.structCentralDir, data, pos)
        assert fields[archive._CD_SIGNATURE] == archive._CENTRAL_SIG
        assert fields[archive._CD_FLAGS] == theirs[zipfile._CD_FLAG_BITS] == info.flag_bits
        assert fields[archive._CD_METHOD] == theirs[zipfile._CD_COMPRESS_TYPE] == info.compress_type
        assert fields[archive._CD_TIME] == theirs[zipfile._CD_TIME]
        assert fields[archive._CD_DATE] == theirs[zipfile._CD_DATE]
        assert fields[archive._CD_CRC] == info.CRC
        assert fields[archive._CD_COMPRESSED_SIZE] == info.compress_size
        assert fields[archive._CD_FILE_SIZE] == info.file_size
        assert fields[archive._CD_NAME_LEN] == len(info.filename)
        assert fields[archive._CD_EXTRA_LEN] == theirs[zipfile._CD_EXTRA_FIELD_LENGTH]
        assert fields[archive._CD_COMMENT_LEN] == theirs[zipfile._CD_COMMENT_LENGTH]
        assert fields[archive._CD_EXTERNAL_ATTR] == info.external_attr
        assert fields[archive._CD_HEADER_OFFSET] == info.header_offset
        # build_table's one unpack reads the same fields at the named offsets.
        sig, csize, nlen, elen, clen, offset = archive._CENTRAL_LENGTHS.unpack_from(data, pos)
        assert (sig, csize, nlen, elen, clen, offset) == (
            fields[archive._CD_SIGNATURE],
            fields[archive._CD_COMPRESSED_SIZE],
            fields[archive._CD_NAME_LEN],
            fields[archive._CD_EXTRA_LEN],
            fields[archive._CD_COMMENT_LEN],
            fields[archive._CD_HEADER_OFFSET],
        )
        assert archive._flags(data, pos) == info.flag_bits
        name_at = pos + archive._CD_NAME_AT
        # DirectoryIndex._find reads the name length back from the name.
        length_at = name_at - archive._NAME_AT_FROM_LEN
        assert data[length_at] | data[length_at + 1] << 8 == nlen
        assert data[name_at : name_at + nlen] == info.filename.encode()
        pos = name_at + nlen + elen + clen
    eocd = data.rindex(b"PK\x05\x06")
    assert archive._EOCD.unpack_from(data, eocd)[archive._EOCD_COMMENT_LEN] == len(b"the comment")


# -- every ZipImportError names the archive ---------------------------------------------------


def _base() -> dict[str, bytes | Entry]:
    """Modules of each kind, each compression method, and a module that is only a .pyc."""
    methods = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    members = hostile.base_members()
    return {n: Entry(d, methods[i % 4]) for i, (n, d) in enumerate(members.items())}


def _bases() -> dict[str, bytes]:
    return {
        "mixed": zip_bytes(_base()),
        "zip64-deflated-shebang": zip64_everywhere(
            {n: d for n, d in hostile.base_members().items() if not n.endswith("/")},
            deflate=True,
            prepend=SHEBANG,
        ),
    }


def _variants() -> Iterator[tuple[str, bytes]]:
    """(label, archive bytes): the damaged archives."""
    for base_name, data in _bases().items():
        built = hostile.build(hostile.parse(data))
        assert built.data == data
        for cut in built.boundaries():
            if 0 < cut < len(data):
                yield f"{base_name} cut at {cut}", data[:cut]
        for fld in built.fields:
            for at in {fld.offset, fld.offset + fld.size - 1}:
                flipped = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
                yield f"{base_name} {fld.name} byte {at - fld.offset} flipped", flipped
        for region in built.regions:
            if region.name.endswith((".payload", ".name")) and region.end > region.start:
                at = (region.start + region.end) // 2
                flipped = data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1 :]
                yield f"{base_name} {region.name} flipped at {at}", flipped
    # Members with intact CRCs whose contents are unusable.
    for label, content in [
        ("pyc-only module, bad magic", b"\x00\x00\x0d\x0a" + bytes(12) + b"junk"),
        ("pyc-only module, truncated header", pyc("value = 1\n")[:10]),
        ("pyc-only module, truncated marshal data", pyc("value = 1\n", kind="unchecked")[:20]),
        ("pyc-only module, not code", pyc("x = 1\n", kind="unchecked")[:16] + b"N"),
    ]:
        yield label, zip_bytes({**_base(), "c.pyc": content})


def _module_names(names: list[str]) -> list[tuple[str, str]]:
    """(importer subdirectory, module name) for every module-like member, and one missing one."""
    found = {("", "missing")}
    for name in names:
        parent, _, leaf = name.rstrip(SEP).rpartition(SEP)
        if leaf in ("__init__.py", "__init__.pyc"):
            grand, _, package = parent.rpartition(SEP)
            found.add((grand, package))
        elif leaf.endswith((".py", ".pyc")):
            found.add((parent, leaf.rpartition(".")[0]))
    return sorted(found)


class _Exerciser:
    """Calls into one archive, keeping every exception with the call that raised it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.outcomes: list[tuple[str, Exception]] = []

    def call(self, what: str, func: Callable[..., object], *args: object) -> object:
        try:
            return func(*args)
        except Exception as exc:  # judged by the test
            self.outcomes.append((what, exc))
            return None

    def run(self, names: list[str]) -> None:
        """Use the archive every way there is: open, list, read, find, load and import."""
        zipimporter._zip_directory_cache.clear()
        imp = self.call("zipimporter()", zipimporter.zipimporter, self.path)
        if not isinstance(imp, zipimporter.zipimporter):
            return
        self.call("iter_modules", lambda: list(imp.iter_modules()))
        for name in names:
            self.call(f"get_data({name!r})", imp.get_data, name)
        top_level = []
        for subdir, module in _module_names(names):
            sub = imp
            if subdir:
                where = self.path + SEP + subdir
                sub = self.call(f"zipimporter({subdir!r})", zipimporter.zipimporter, where)
                if not isinstance(sub, zipimporter.zipimporter):
                    continue
            else:
                top_level.append(module)
            for method in ("find_spec", "get_code", "get_source", "get_filename", "is_package"):
                self.call(f"{method}({module!r}) in {subdir!r}", getattr(sub, method), module)
        # And the import system's way: find_spec, then exec_module.
        forget(*top_level)
        sys.path.insert(0, self.path)
        try:
            with zipimporter.install():
                for module in top_level:
                    self.call(f"import {module}", importlib.import_module, module)
        finally:
            sys.path.remove(self.path)
            forget(*top_level)


def test_every_error_names_the_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "0")  # every call reads the archive itself
    path = str(tmp_path / NAME)
    names = [n.replace("/", SEP) for n in _base()]
    problems: list[str] = []
    errors = 0
    variants = 0
    for label, data in _variants():
        variants += 1
        Path(path).write_bytes(data)
        exerciser = _Exerciser(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exerciser.run(names)
        for call, exc in exerciser.outcomes:
            if isinstance(exc, zipimporter.ZipImportError):
                errors += 1
                if exc.path != path or NAME not in str(exc):
                    problems.append(f"{label}: {call}: path={exc.path!r}: {exc}")
            elif isinstance(exc, ModuleNotFoundError) or (
                isinstance(exc, OSError) and call.startswith("get_data")
            ):
                continue  # not there: as the stdlib says it
            else:
                problems.append(f"{label}: {call}: {type(exc).__name__}: {exc}")
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:20])
    assert variants > 1000
    assert errors > variants  # the damage was seen: most variants fail somewhere, often


# -- the index cache boundary (directory.open_index) ------------------------------------------


def test_small_archives_never_touch_the_index_cache(tmp_path, monkeypatch):
    """Under MIN_ENTRIES (2048) entries the saved index is neither read nor written."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
    loads: list[str] = []
    real_load = index_cache.load

    def counting_load(path: str, key: index_cache.DirectoryKey) -> object:
        loads.append(path)
        return real_load(path, key)

    monkeypatch.setattr(index_cache, "load", counting_load)
    assert index_cache.MIN_ENTRIES == 2048
    small = make_zip(tmp_path / "small.zip", {f"m{i}.py": "" for i in range(2047)})
    big = make_zip(tmp_path / "big.zip", {f"m{i}.py": "" for i in range(2048)})

    index = directory.open_index(small)
    assert len(index) == 2047 and "m2046.py" in index
    assert loads == [] and not cache.exists()

    first = directory.open_index(big)
    assert loads == [big]
    assert len(list(cache.rglob("*.idx"))) == 1

    def no_parsing(*args: object) -> object:
        raise AssertionError("the saved index should have been used")

    monkeypatch.setattr(archive, "build_table", no_parsing)
    second = directory.open_index(big)
    assert loads == [big, big]
    assert second.keys() == first.keys() and second["m2047.py"] == first["m2047.py"]
    # The parser alone never uses it.
    with pytest.raises(AssertionError, match="saved index"):
        archive.read_directory(big)

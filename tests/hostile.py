"""Hostile archives made from valid ones, for ``test_hostile.py``.

* :class:`RawZip` is a ZIP archive as records: :func:`parse` takes a valid
  archive apart, :func:`build` puts one together again (byte for byte the same
  when nothing changed) and returns a map of every header field and region, so
  that mutations can aim at structure rather than at random bytes.
* :func:`make_case` turns a seed into one hostile archive: a valid base archive
  (built with :mod:`zipfile` or ``conftest.zip64_everywhere``) changed by
  model-level operators (duplicated, overlapping and nested entries, ratio
  bombs, absurd ZIP64 values, hostile names, encryption flags, unknown methods,
  corrupt ``.pyc`` and source members with valid CRCs) and byte-level operators
  (truncation at structure boundaries and at random, byte flips in headers,
  fields set to 0/max/past EOF/huge, inserted, deleted and duplicated bytes).
* :func:`raw_archives` is a hypothesis strategy that writes archives from
  structured random records with :mod:`struct`, not through zipfile.
* :func:`overlap_bomb`, :func:`ratio_bomb` and :func:`colliding_names` build the
  classic bombs deterministically.
* :func:`make_extension_case` does for archives holding extension modules (real
  ELF objects the tests compile, :class:`ExtensionObjects`) what ``make_case``
  does, adding extension name, size and overlap operators and ELF operators
  that damage headers and dynamic sections with a valid CRC (each such
  content is recorded in the case's ``allowed``); :func:`synthetic_elf`,
  :func:`elf_string_amplification` and :func:`dependency_lookup_flood` build
  dynamic sections by hand.

Member data that gets executed is always one of the fixed sources here: the
CRC check keeps randomly damaged data out, and random bytes are never put in a
``.pyc`` (marshal crashes CPython 3.12/3.13 on some damaged code objects) nor
loaded as an extension (``dlopen`` crashes on damaged ELF objects).
"""

from __future__ import annotations

import bz2
import contextlib
import copy
import functools
import lzma
import marshal
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.util import MAGIC_NUMBER
from typing import Any, NamedTuple

from hypothesis import strategies as st

from conftest import SHEBANG, Entry, dos_fields, dos_mtime, pyc, zip64_everywhere, zip_bytes
from zipimporter.compression import zstd_module

U16 = 0xFFFF
U32 = 0xFFFFFFFF
U64 = 2**64 - 1
DOS_DATE, DOS_TIME = dos_fields((2020, 6, 1, 12, 30, 10))


# -- the record model ---------------------------------------------------------------------


class Spec:
    """A fixed-size ZIP header: signature, struct format and field names."""

    def __init__(self, kind: str, sig: int, fmt: str, names: str) -> None:
        self.kind = kind
        self.sig = sig
        self.struct = struct.Struct(fmt)
        self.names = names.split()
        self.size = self.struct.size
        self.widths = [struct.calcsize("<" + c) for c in fmt[1:]]
        self.offsets = [struct.calcsize(fmt[: i + 1]) for i in range(len(self.names))]

    def unpack(self, data: bytes, pos: int) -> dict[str, int]:
        return dict(zip(self.names, self.struct.unpack_from(data, pos), strict=True))

    def pack(self, fields: dict[str, int]) -> bytes:
        values = (
            fields[n] & ((1 << 8 * w) - 1) for n, w in zip(self.names, self.widths, strict=True)
        )
        return self.struct.pack(*values)


LOCAL = Spec(
    "local",
    0x04034B50,
    "<IHHHHHIIIHH",
    "sig version flags method time date crc csize usize nlen elen",
)
CENTRAL = Spec(
    "central",
    0x02014B50,
    "<IHHHHHHIIIHHHHHII",
    "sig made needed flags method time date crc csize usize nlen elen clen disk internal external"
    " offset",
)
EOCD = Spec(
    "eocd", 0x06054B50, "<IHHHHIIH", "sig disk cd_disk disk_entries entries cd_size cd_offset clen"
)
EOCD64 = Spec(
    "eocd64", 0x06064B50, "<IQHHIIQQQQ",
    "sig size made needed disk cd_disk disk_entries entries cd_size cd_offset",
)  # fmt: skip
LOCATOR = Spec("locator", 0x07064B50, "<IIQI", "sig disk offset disks")
DD_SIG = 0x08074B50
FLAG_ENCRYPTED = 0x0001
FLAG_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800


@dataclass
class LocalRecord:
    """A local file header, its name and extra field, the stored data and what follows it."""

    fields: dict[str, int]
    name: bytes
    extra: bytes
    payload: bytes
    trailer: bytes = b""  # a data descriptor, or junk up to the next structure


@dataclass
class CentralRecord:
    """A central directory record; it points at local record ``target`` (+ ``shift`` bytes)."""

    fields: dict[str, int]
    name: bytes
    extra: bytes
    comment: bytes = b""
    target: int | None = None  # None: keep fields["offset"] as it is
    shift: int = 0


@dataclass
class RawZip:
    """A whole archive as records, in file order."""

    prepend: bytes
    locals: list[LocalRecord]
    central: list[CentralRecord]
    eocd: dict[str, int]
    comment: bytes = b""
    eocd64: dict[str, int] | None = None
    locator: dict[str, int] | None = None
    gap: bytes = b""  # between the last local record and the central directory
    tail: bytes = b""  # after the comment


class Field(NamedTuple):
    """A numeric header field of a built archive."""

    name: str
    offset: int
    size: int


class Region(NamedTuple):
    """A named byte range of a built archive (a header, a name, some data...)."""

    name: str
    start: int
    end: int


@dataclass
class Built:
    """An archive's bytes with the map of its fields (made when asked for) and regions."""

    data: bytes
    regions: list[Region] = field(default_factory=list)
    headers: list[tuple[str, Spec, int]] = field(default_factory=list)  # label, spec, offset
    zip64: list[tuple[str, int, int]] = field(default_factory=list)  # label, offset, count

    @functools.cached_property
    def fields(self) -> list[Field]:
        out = []
        for label, spec, at in self.headers:
            for n, off, w in zip(spec.names, spec.offsets, spec.widths, strict=True):
                out.append(Field(f"{label}.{n}", at + off - w, w))
        for label, at, count in self.zip64:
            out += [Field(f"{label}.zip64[{k}]", at + 8 * k, 8) for k in range(count)]
        return out

    def boundaries(self) -> list[int]:
        return sorted({b for r in self.regions for b in (r.start, r.end)})


def _zip64_extra(extra: bytes) -> tuple[int, list[int]] | None:
    """(offset of the body, values) of the ZIP64 extra field (tag 1) in *extra*."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == 1:
            body = extra[i + 4 : i + 4 + size]
            return i + 4, [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
        i += 4 + size
    return None


def _other_extras(extra: bytes) -> bytes:
    """*extra* without its ZIP64 field (and without anything unparsable after it)."""
    out, i = b"", 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag != 1:
            out += extra[i : i + 4 + size]
        i += 4 + size
    return out


_SIZE_KEYS = ("usize", "csize", "offset")


def logical(rec: LocalRecord | CentralRecord, key: str) -> int:
    """A size or offset, from the ZIP64 extra field where the 32-bit field is 0xFFFFFFFF."""
    value = rec.fields[key]
    if value != U32:
        return value
    slots = [k for k in _SIZE_KEYS if rec.fields.get(k) == U32]
    found = _zip64_extra(rec.extra)
    if found is None or slots.index(key) >= len(found[1]):
        return value
    return found[1][slots.index(key)]


def set_logical(rec: LocalRecord | CentralRecord, **values: int) -> None:
    """Set sizes/offset, moving to the ZIP64 extra field whatever doesn't fit (or was there)."""
    keys = [k for k in _SIZE_KEYS if k in rec.fields]
    current = {k: logical(rec, k) for k in keys}
    current.update(values)
    zip64 = [k for k in keys if current[k] >= U32 or rec.fields[k] == U32]
    for k in keys:
        rec.fields[k] = U32 if k in zip64 else current[k]
    rest = _other_extras(rec.extra)
    if zip64:
        body = b"".join(struct.pack("<Q", current[k] & U64) for k in zip64)
        rec.extra = struct.pack("<HH", 1, len(body)) + body + rest
    else:
        rec.extra = rest


def _header(out: bytearray, spec: Spec, values: dict[str, int], label: str, built: Built) -> None:
    at = len(out)
    out += spec.pack(values)
    built.headers.append((label, spec, at))
    built.regions.append(Region(f"{label}.header", at, len(out)))


def _extra(out: bytearray, extra: bytes, label: str, built: Built) -> None:
    at = len(out)
    out += extra
    built.regions.append(Region(f"{label}.extra", at, len(out)))
    found = _zip64_extra(extra)
    if found is not None:
        built.zip64.append((label, at + found[0], len(found[1])))


def build(z: RawZip, *, fix: bool = True) -> Built:
    """The archive's bytes and map; *fix* recomputes lengths, offsets and end records."""
    built = Built(b"")
    out = bytearray(z.prepend)
    base = len(out)
    built.regions.append(Region("prepend", 0, base))
    starts = []
    for i, rec in enumerate(z.locals):
        starts.append(len(out))
        values = dict(rec.fields)
        if fix:
            values["nlen"], values["elen"] = len(rec.name), len(rec.extra)
        label = f"local[{i}]"
        _header(out, LOCAL, values, label, built)
        at = len(out)
        out += rec.name
        built.regions.append(Region(f"{label}.name", at, len(out)))
        _extra(out, rec.extra, label, built)
        for part, blob in (("payload", rec.payload), ("trailer", rec.trailer)):
            at = len(out)
            out += blob
            built.regions.append(Region(f"{label}.{part}", at, len(out)))
    at = len(out)
    out += z.gap
    built.regions.append(Region("gap", at, len(out)))
    cd_start = len(out)
    for i, rec in enumerate(z.central):
        rec = copy.copy(rec)
        rec.fields = values = dict(rec.fields)
        if fix and rec.target is not None and rec.target < len(starts):
            set_logical(rec, offset=starts[rec.target] + rec.shift - base)
        if fix:
            values["nlen"], values["elen"] = len(rec.name), len(rec.extra)
            values["clen"] = len(rec.comment)
        label = f"central[{i}]"
        _header(out, CENTRAL, values, label, built)
        at = len(out)
        out += rec.name
        built.regions.append(Region(f"{label}.name", at, len(out)))
        _extra(out, rec.extra, label, built)
        at = len(out)
        out += rec.comment
        built.regions.append(Region(f"{label}.comment", at, len(out)))
    cd_size = len(out) - cd_start
    count = len(z.central)
    eocd64_at = len(out)
    if z.eocd64 is not None:
        values = dict(z.eocd64)
        if fix:
            values.update(
                size=44,
                disk_entries=count,
                entries=count,
                cd_size=cd_size,
                cd_offset=cd_start - base,
            )
        _header(out, EOCD64, values, "eocd64", built)
    if z.locator is not None:
        values = dict(z.locator)
        if fix:
            values["offset"] = eocd64_at - base
        _header(out, LOCATOR, values, "locator", built)
    values = dict(z.eocd)
    if fix:
        for key, value, top in (
            ("disk_entries", count, U16),
            ("entries", count, U16),
            ("cd_size", cd_size, U32),
            ("cd_offset", cd_start - base, U32),
        ):
            values[key] = top if values[key] == top else min(value, top)
        values["clen"] = len(z.comment)
    _header(out, EOCD, values, "eocd", built)
    for part, blob in (("comment", z.comment), ("tail", z.tail)):
        at = len(out)
        out += blob
        built.regions.append(Region(part, at, len(out)))
    built.data = bytes(out)
    return built


def parse(data: bytes) -> RawZip:
    """Take a valid archive (as zipfile or conftest writes them) apart into records."""
    pos = data.rfind(b"PK\x05\x06")
    while pos >= 0 and (
        pos + 22 > len(data) or pos + 22 + struct.unpack_from("<H", data, pos + 20)[0] != len(data)
    ):
        pos = data.rfind(b"PK\x05\x06", 0, pos)
    if pos < 0:
        raise ValueError("no end of central directory record")
    eocd = EOCD.unpack(data, pos)
    comment = data[pos + 22 :]
    cd_end, entries, cd_size, cd_offset = pos, eocd["entries"], eocd["cd_size"], eocd["cd_offset"]
    eocd64 = locator = None
    if pos >= 76 and data[pos - 20 : pos - 16] == b"PK\x06\x07":
        locator = LOCATOR.unpack(data, pos - 20)
        eocd64 = EOCD64.unpack(data, pos - 76)
        if eocd64["sig"] != EOCD64.sig or eocd64["size"] != 44:
            raise ValueError("ZIP64 end record not where expected")
        cd_end = pos - 76
        entries, cd_size, cd_offset = eocd64["entries"], eocd64["cd_size"], eocd64["cd_offset"]
    cd_start = cd_end - cd_size
    base = cd_start - cd_offset
    central = []
    p = cd_start
    for _ in range(entries):
        values = CENTRAL.unpack(data, p)
        p += CENTRAL.size
        name = data[p : p + values["nlen"]]
        p += values["nlen"]
        extra = data[p : p + values["elen"]]
        p += values["elen"]
        rec_comment = data[p : p + values["clen"]]
        p += values["clen"]
        central.append(CentralRecord(values, name, extra, rec_comment))
    starts = sorted({base + logical(c, "offset") for c in central})
    index = {s: i for i, s in enumerate(starts)}
    sizes = {base + logical(c, "offset"): logical(c, "csize") for c in central}
    for c in central:
        c.target = index[base + logical(c, "offset")]
    if starts and starts[0] != base:
        raise ValueError("bytes between the prepended data and the first member")
    locals_ = []
    for i, s in enumerate(starts):
        values = LOCAL.unpack(data, s)
        p = s + LOCAL.size
        name = data[p : p + values["nlen"]]
        p += values["nlen"]
        extra = data[p : p + values["elen"]]
        p += values["elen"]
        end = p + sizes[s]
        nxt = starts[i + 1] if i + 1 < len(starts) else cd_start
        locals_.append(LocalRecord(values, name, extra, data[p:end], data[end:nxt]))
    gap = b"" if starts else data[base:cd_start]
    return RawZip(data[:base], locals_, central, eocd, comment, eocd64, locator, gap)


# -- member contents ----------------------------------------------------------------------


ZSTD = 93
_ZSTD_CODEC: Any = zstd_module()


def zstd_frame(data: bytes) -> bytes:
    """*data* as one zstd frame: compressed with the codec, or raw blocks without one.

    Raw blocks (each at most 128 KiB) are valid zstd any decoder reads, so
    the zstd base archive exists, with the same layout, whether or not a
    codec is installed (the seeds pick the same bases either way).
    """
    if _ZSTD_CODEC is not None:
        return bytes(_ZSTD_CODEC.compress(data))
    # Frame header: single segment, 8-byte content size; then raw blocks, the last flagged.
    out = struct.pack("<IBQ", 0xFD2FB528, 0xE0, len(data))
    chunks = [data[i : i + (1 << 17)] for i in range(0, len(data), 1 << 17)] or [b""]
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        out += (int(last) | len(chunk) << 3).to_bytes(3, "little") + chunk
    return out


def compress(data: bytes, method: int) -> bytes:
    """*data* compressed as ZIP *method* stores it (unknown methods: as is)."""
    if method == ZSTD:
        return zstd_frame(data)
    if method == zipfile.ZIP_DEFLATED:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    if method == zipfile.ZIP_BZIP2:
        return bz2.compress(data)
    if method == zipfile.ZIP_LZMA:
        props = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})  # type: ignore[attr-defined]
        filt = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)  # type: ignore[attr-defined]
        c = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[filt])
        return struct.pack("<BBH", 9, 4, len(props)) + props + c.compress(data) + c.flush()
    return data


@functools.cache
def zeros_deflated(size: int) -> bytes:
    """A raw deflate stream of *size* zero bytes (about 1/1000 of that long)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    out = [c.compress(chunk) for _ in range(size >> 20)]
    out.append(c.compress(bytes(size & ((1 << 20) - 1))))
    return b"".join(out) + c.flush()


@functools.cache
def zeros_compressed(size: int, method: int) -> bytes:
    if method == zipfile.ZIP_DEFLATED:
        return zeros_deflated(size)
    return compress(bytes(size), method)


#: Sources that run without side effects (the bases' modules, and nested members).
SAFE_SOURCES = [
    b"value = 1\n",
    b"def f():\n    return 2\n\n\nvalue = f()\n",
    b"class C:\n    x = 3\n",
    b"# -*- coding: latin-1 -*-\nname = '\xe9'\n",
    b"\xef\xbb\xbfvalue = 'bom'\n",
    b"'''Docstring only.'''\n",
    b"",
    b"x = 1\r\ny = 2\rz = 3\n",
]

#: Sources with valid CRCs that can't be decoded or compiled, or only barely.
HOSTILE_SOURCES = [
    b"x = 1\x00\n",
    b"x = '\xff\xfe'\n",
    b"\xff\xfe\x00x\x00",
    b"# coding: undefined\nx = 1\n",
    b"# coding: utf-16\nx = 1\n",
    b"# coding: uu\nx = 1\n",
    b"# coding: rot13\nx = 1\n",
    b"# coding: no-such-codec\nx = 1\n",
    b"# coding: idna\nx = '" + b"a" * 100 + b"'\n",
    b"# coding: punycode\nx = 1\n",
    b"# coding: utf-8-sig\nx = 1\n",
    b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
    b"x = " + b"(" * 250 + b"1" + b")" * 250 + b"\n",
    b"x = " + b"-" * 100_000 + b"1\n",
    b"x = 1" + b"+1" * 100_000 + b"\n",
    b"".join(b" " * i + b"if 1:\n" for i in range(110)) + b" " * 110 + b"pass\n",
    b"x = " + b"1" * 5000 + b"\n",
    b"x = '" + b"a" * 200_000 + b"'\n",
    b"def f(:\n",
    b"x = 1\n" * 20 + b"\tif 1:\n  pass\n",
    b"\x0c\x0c\x0cx = 1\n",
    b"x = f'{f\"{1}\"}'\n",
    b"return 1\n",
    b"yield\n",
]


def _pyc_header(flags: int = 0, stamp: bytes = bytes(8)) -> bytes:
    return MAGIC_NUMBER + flags.to_bytes(4, "little") + stamp


def _code_with(co_code: bytes) -> bytes:
    """Marshal data of a code object whose co_code is the marshalled object *co_code*.

    The layout (3.11 to 3.13): type, five 32-bit counts and flags, code,
    consts, names, localsplus names and kinds, filename, name, qualname, first
    line, line table, exception table.
    """

    def d(obj: object) -> bytes:
        return marshal.dumps(obj, 2)

    return (
        b"\xe3" + bytes(20) + co_code + d(()) + d(()) + d(()) + d(b"") + d("m.py")
        + d("<module>") + d("<module>") + (1).to_bytes(4, "little") + d(b"") + d(b"")
    )  # fmt: skip


def hostile_pycs(source: bytes = b"value = 1\n") -> list[tuple[str, bytes]]:
    """(label, ``.pyc`` bytes) that must not import.

    All are made by hand, never by flipping bytes of real marshal data (which
    can crash CPython).  Only ``checked-hash-mismatch`` unmarshals to a code
    object: a valid one, whose recorded source hash is wrong.
    """
    good = pyc(source.decode("latin-1"), kind="unchecked")
    body = good[16:]
    deep = b"[\x01\x00\x00\x00" * 3000 + b"N"
    return [
        ("empty", b""),
        ("magic-only", MAGIC_NUMBER),
        ("short-header", good[:12]),
        ("bad-magic", b"\x00\x00\r\n" + good[4:]),
        ("old-magic", (3379).to_bytes(2, "little") + b"\r\n" + good[4:]),
        ("bad-flags", _pyc_header(4) + body),
        ("all-flags", _pyc_header(0xFFFFFFFF) + body),
        ("no-body", _pyc_header(1)),
        ("truncated-body", _pyc_header(1) + body[: len(body) // 2]),
        ("truncated-body-1", _pyc_header(1) + body[:-1]),
        ("unknown-type", _pyc_header(1) + b"\x00" + body[1:]),
        ("not-code", _pyc_header(1) + marshal.dumps(42)),
        ("not-code-tuple", _pyc_header(1) + marshal.dumps((1, "x", None))),
        ("huge-bytes", _pyc_header(1) + b"s\xff\xff\xff\x7f"),
        ("negative-size", _pyc_header(1) + b"s\xff\xff\xff\xff"),
        ("deep-nesting", _pyc_header(1) + deep),
        ("bad-ref", _pyc_header(1) + b"r\x05\x00\x00\x00"),
        ("code-int-co_code", _pyc_header(1) + _code_with(marshal.dumps(42, 2))),
        ("code-truncated", _pyc_header(1) + _code_with(marshal.dumps(b"", 2))[:30]),
        ("checked-hash-mismatch", pyc(source.decode("latin-1"), kind="checked", hash_source=b"x")),
    ]


#: ``.pyc`` members whose marshal data declares a list or tuple of 2**31-1 items:
#: marshal asks for 16 GiB first (and writes all of a tuple's), so these run only
#: where the address space can be capped (see test_hostile.address_space_guard).
DANGEROUS_PYCS = {
    "huge-list": _pyc_header(1) + b"[\xff\xff\xff\x7f",
    "huge-tuple": _pyc_header(1) + b"(\xff\xff\xff\x7f",
}


# -- base archives --------------------------------------------------------------------------

SRC_A = b"value = 1\n"
SRC_B = b"class C:\n    x = 3\n"
SRC_PKG = b"'''A package.'''\nname = 'pkg'\n"
SRC_SUB = b"def f():\n    return 2\n\n\nvalue = f()\n"


def base_members() -> dict[str, bytes]:
    """Modules, bytecode, a package, a namespace portion, data and a directory entry."""
    return {
        "a.py": SRC_A,
        "b.py": SRC_B,
        "b.pyc": pyc(SRC_B.decode(), mtime=dos_mtime(), size=len(SRC_B)),
        "c.pyc": pyc("value = 'only bytecode'\n", kind="unchecked"),
        "h.py": SRC_A,
        "h.pyc": pyc(SRC_A.decode(), kind="checked"),
        "pkg/": b"",
        "pkg/__init__.py": SRC_PKG,
        "pkg/sub.py": SRC_SUB,
        "pkg/data.txt": b"some data\n" * 20,
        "ns/mod.py": b"value = 'ns'\n",
        "latin.py": SAFE_SOURCES[3],
    }


def _mixed() -> dict[str, Entry]:
    methods = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    return {n: Entry(d, methods[i % 4]) for i, (n, d) in enumerate(base_members().items())}


def _files_only() -> dict[str, bytes]:
    return {n: d for n, d in base_members().items() if not n.endswith("/")}


def _zstd() -> bytes:
    """The base members, zstd-compressed (directories stored), written record by record."""
    members = [
        (n.encode(), d, zipfile.ZIP_STORED if n.endswith("/") else ZSTD)
        for n, d in base_members().items()
    ]
    return build(simple_zip(members)).data


BASE_BUILDERS: dict[str, Callable[[], bytes]] = {
    "stored": lambda: zip_bytes(base_members()),
    "deflated": lambda: zip_bytes(base_members(), compression=zipfile.ZIP_DEFLATED),
    "bzip2": lambda: zip_bytes(base_members(), compression=zipfile.ZIP_BZIP2),
    "lzma": lambda: zip_bytes(base_members(), compression=zipfile.ZIP_LZMA),
    "mixed": lambda: zip_bytes(_mixed()),
    "comment": lambda: zip_bytes(
        base_members(), compression=zipfile.ZIP_DEFLATED, comment=b"a comment, PK\x05\x06 and all"
    ),
    "shebang": lambda: zip_bytes(base_members(), prepend=SHEBANG),
    "descriptors": lambda: zip_bytes(
        base_members(), compression=zipfile.ZIP_DEFLATED, seekable=False
    ),
    "zip64": lambda: zip64_everywhere(_files_only()),
    "zip64-deflated-shebang": lambda: zip64_everywhere(
        _files_only(), deflate=True, prepend=SHEBANG
    ),
    "single": lambda: zip_bytes({"m.py": SRC_A}),
    "zstd": _zstd,
    "empty": lambda: zip_bytes({}, comment=b"nothing here"),
}


def clone(z: RawZip) -> RawZip:
    """A copy of *z* that shares only immutable parts (much cheaper than deepcopy)."""
    return RawZip(
        z.prepend,
        [LocalRecord(dict(r.fields), r.name, r.extra, r.payload, r.trailer) for r in z.locals],
        [
            CentralRecord(dict(c.fields), c.name, c.extra, c.comment, c.target, c.shift)
            for c in z.central
        ],
        dict(z.eocd),
        z.comment,
        None if z.eocd64 is None else dict(z.eocd64),
        None if z.locator is None else dict(z.locator),
        z.gap,
        z.tail,
    )


@functools.cache
def base_models() -> dict[str, RawZip]:
    """Every base archive as records (plus the overlap bomb, which is not a valid archive)."""
    models = {name: parse(make()) for name, make in BASE_BUILDERS.items()}
    models["overlap-bomb"] = overlap_bomb_model(8, 1 << 16)
    return models


# -- deterministic bombs --------------------------------------------------------------------


def _local(
    name: bytes, method: int, crc: int, csize: int, usize: int, flags: int = 0
) -> dict[str, int]:
    return dict(
        sig=LOCAL.sig, version=20, flags=flags, method=method, time=DOS_TIME, date=DOS_DATE,
        crc=crc, csize=csize, usize=usize, nlen=len(name), elen=0,
    )  # fmt: skip


def _central(local: dict[str, int]) -> dict[str, int]:
    values = {k: local[k] for k in ("flags", "method", "time", "date", "crc", "csize", "usize")}
    return dict(
        values, sig=CENTRAL.sig, made=20, needed=20, nlen=0, elen=0, clen=0, disk=0,
        internal=0, external=0, offset=0,
    )  # fmt: skip


def _eocd() -> dict[str, int]:
    return dict(
        sig=EOCD.sig, disk=0, cd_disk=0, disk_entries=0, entries=0, cd_size=0, cd_offset=0, clen=0
    )


def simple_zip(members: list[tuple[bytes, bytes, int]], *, flags: int = 0) -> RawZip:
    """A consistent archive of (raw name, data, method) members, written with struct."""
    z = RawZip(b"", [], [], _eocd())
    for name, data, method in members:
        payload = compress(data, method)
        values = _local(name, method, zlib.crc32(data), len(payload), len(data), flags)
        z.locals.append(LocalRecord(values, name, b"", payload))
        z.central.append(CentralRecord(_central(values), name, b"", target=len(z.locals) - 1))
    return z


def overlap_bomb_model(files: int, kernel_size: int) -> RawZip:
    """David Fifield's overlapping-files zip bomb (https://www.bamsoftware.com/hacks/zipbomb/).

    One deflate kernel of *kernel_size* zero bytes at the end; member ``i``'s
    data is a non-final stored block quoting member ``i+1``'s local header,
    followed by member ``i+1``'s data.  Every member has its own name, a
    correct CRC and consistent sizes: only the overlap gives it away.
    """
    kernel = zeros_deflated(kernel_size)
    kernel_crc = zlib.crc32(bytes(kernel_size))
    locals_: list[LocalRecord] = []
    quoted = b""  # the local headers (with names) of the members after this one
    header_after = b""  # the next member's local header, which this one's data quotes
    csize, usize = len(kernel), kernel_size
    for i in reversed(range(files)):
        name = str(i).encode()
        crc = zlib.crc32(bytes(kernel_size), zlib.crc32(quoted)) if quoted else kernel_crc
        values = _local(name, zipfile.ZIP_DEFLATED, crc, csize, usize)
        header = LOCAL.pack(values) + name
        if i == files - 1:
            payload = kernel
        else:
            size = len(header_after)
            payload = b"\x00" + struct.pack("<HH", size, size ^ U16)
        locals_.insert(0, LocalRecord(values, name, b"", payload))
        header_after = header
        quoted = header + quoted
        csize += 5 + len(header)
        usize += len(header)
    z = RawZip(b"", locals_, [], _eocd())
    for i, rec in enumerate(locals_):
        z.central.append(CentralRecord(_central(rec.fields), rec.name, b"", target=i))
    return z


def overlap_bomb(files: int = 20, kernel_size: int = 1 << 20) -> bytes:
    """:func:`overlap_bomb_model`'s bytes: *files* members of about *kernel_size* bytes each."""
    return build(overlap_bomb_model(files, kernel_size)).data


def nested_member(outer_name: bytes = b"outer.bin", inner_name: bytes = b"inner.py") -> bytes:
    """A stored member whose data is a whole valid member, also listed in the directory."""
    inner_data = SAFE_SOURCES[0]
    inner_values = _local(inner_name, 0, zlib.crc32(inner_data), len(inner_data), len(inner_data))
    inner = LOCAL.pack(inner_values) + inner_name + inner_data
    z = simple_zip([(outer_name, inner, 0)])
    shift = LOCAL.size + len(outer_name)
    z.central.append(CentralRecord(_central(inner_values), inner_name, b"", target=0, shift=shift))
    return build(z).data


def ratio_bomb(
    declared: int,
    actual: int = 8 << 20,
    *,
    method: int = zipfile.ZIP_DEFLATED,
    name: bytes = b"bomb.txt",
) -> bytes:
    """One member of *actual* zero bytes that declares *declared* (ZIP64 if it must)."""
    payload = zeros_compressed(actual, method)
    crc = zlib.crc32(bytes(min(declared, actual))) if declared <= actual else zlib.crc32(b"")
    z = simple_zip([(name, b"", 0)])
    for rec in (z.locals[0], z.central[0]):
        rec.fields.update(method=method, crc=crc)
        set_logical(rec, csize=len(payload), usize=declared)
    z.locals[0].payload = payload
    if declared >= U32:
        z.central[0].fields["needed"] = z.locals[0].fields["version"] = 45
    return build(z).data


def lzma_dict_bomb(dict_size: int = U32, name: bytes = b"big_dict.py") -> bytes:
    """A valid LZMA member whose properties ask for a *dict_size* dictionary."""
    data = SAFE_SOURCES[0]
    payload = bytearray(compress(data, zipfile.ZIP_LZMA))
    payload[5:9] = dict_size.to_bytes(4, "little")
    z = simple_zip([(name, data, zipfile.ZIP_LZMA)])
    for rec in (z.locals[0], z.central[0]):
        set_logical(rec, csize=len(payload))
    z.locals[0].payload = bytes(payload)
    return build(z).data


def forge_crc(prefix: bytes, target: int, suffix: bytes = b"") -> bytes:
    """Four bytes that give ``prefix + bytes + suffix`` the CRC-32 *target* (CRC-32 is affine)."""
    zero = zlib.crc32(prefix + bytes(4) + suffix)
    pad, tail = bytes(len(prefix)), bytes(len(suffix))
    columns = [
        zlib.crc32(pad + (1 << b).to_bytes(4, "little") + tail) ^ zlib.crc32(pad + bytes(4) + tail)
        for b in range(32)
    ]
    # Solve columns . x = target ^ zero over GF(2) by Gaussian elimination.
    rows = [(columns[b], 1 << b) for b in range(32)]
    want, x = target ^ zero, 0
    basis: list[tuple[int, int]] = []
    for value, combo in rows:
        for bv, bc in basis:
            if value ^ bv < value:
                value, combo = value ^ bv, combo ^ bc
        if value:
            basis.append((value, combo))
            basis.sort(reverse=True)
    for bv, bc in basis:
        if want ^ bv < want:
            want, x = want ^ bv, x ^ bc
    if want:
        raise ValueError("unreachable CRC")
    return x.to_bytes(4, "little")


@functools.cache
def _colliding_names(count: int, suffix: bytes) -> tuple[bytes, ...]:
    return tuple(colliding_names(count, suffix))


def colliding_names(count: int, suffix: bytes = b".txt") -> list[bytes]:
    """*count* distinct names ``n<i><4 bytes><suffix>`` that all have the same CRC-32."""
    target = zlib.crc32(b"n000000" + bytes(4) + suffix)
    return [b"n%06d" % i + forge_crc(b"n%06d" % i, target, suffix) + suffix for i in range(count)]


def hash_flood(count: int, *, colliding: bool = True) -> bytes:
    """An archive of *count* empty stored members whose names share a CRC-32 (or not)."""
    if colliding:
        names = colliding_names(count)
    else:
        names = [b"n%06d.txt" % i + b"abcd" for i in range(count)]
    return build(simple_zip([(n, b"", 0) for n in names])).data


# -- model-level mutations ------------------------------------------------------------------

HOSTILE_NAMES: list[tuple[bytes, int]] = [
    (b"\xff\xfe.py", FLAG_UTF8),
    (b"\xc3\x28.py", FLAG_UTF8),
    (b"\xed\xa0\x80.py", FLAG_UTF8),
    (b"\xc0\xaf.py", FLAG_UTF8),
    (b"\xe2\x80\xae.py", FLAG_UTF8),
    (b"caf\x82.py", 0),
    (b"\x81\x82/\x83.py", 0),
    (b"a\x00b.py", 0),
    (b"\x00", 0),
    (b"../evil.py", 0),
    (b"../../../../../tmp/evil.py", 0),
    (b"/abs.py", 0),
    (b"//server/share/x.py", 0),
    (b"C:\\x.py", 0),
    (b"a\\b.py", 0),
    (b"", 0),
    (b".", 0),
    (b"..", 0),
    (b"/", 0),
    (b"pkg//sub.py", 0),
    (b"./a.py", 0),
    (b"a.py/", 0),
    (b"__init__.py", 0),
    (b"pkg/__init__.py/x.py", 0),
    (b"a.b.c.py", 0),
    (b"x" * 300 + b".py", 0),
    (b"x" * 0xFFFF, 0),
    (b"A.PY", 0),
    (b"pkg/\n.py", 0),
]

UNKNOWN_METHODS = [1, 2, 6, 7, 9, 10, 18, 19, 93, 95, 96, 97, 98, 99, 0xFFFF]


def _pick_local(rng: random.Random, z: RawZip, suffix: str = "") -> int | None:
    choices = [i for i, r in enumerate(z.locals) if r.name.endswith(suffix.encode())]
    return rng.choice(choices) if choices else None


def _centrals_of(z: RawZip, i: int) -> list[CentralRecord]:
    return [c for c in z.central if c.target == i and c.shift == 0]


#: While a case is made (:func:`recording_contents`): every content set_content wrote.
_recorders: list[list[bytes]] = []


@contextlib.contextmanager
def recording_contents() -> Iterator[list[bytes]]:
    """A list of every member content :func:`set_content` writes (with a valid CRC) in the block."""
    written: list[bytes] = []
    _recorders.append(written)
    try:
        yield written
    finally:
        _recorders.remove(written)


def set_content(z: RawZip, i: int, data: bytes, method: int | None = None) -> None:
    """Replace local record *i*'s data, keeping its CRC and sizes (and its centrals') consistent."""
    for written in _recorders:
        written.append(data)
    rec = z.locals[i]
    method = rec.fields["method"] if method is None else method
    rec.payload = compress(data, method)
    crc = zlib.crc32(data)
    rec.fields["method"] = method
    if rec.fields["flags"] & FLAG_DESCRIPTOR:
        if rec.trailer:
            rec.trailer = struct.pack("<IIII", DD_SIG, crc, len(rec.payload), len(data))
    else:
        rec.fields["crc"] = crc
        set_logical(rec, csize=len(rec.payload), usize=len(data))
    for c in _centrals_of(z, i):
        c.fields.update(method=method, crc=crc)
        set_logical(c, csize=len(rec.payload), usize=len(data))


def op_duplicate(rng: random.Random, z: RawZip) -> str | None:
    if not z.central:
        return None
    k = rng.randrange(len(z.central))
    dup = copy.deepcopy(z.central[k])
    times = rng.choice([1, 1, 2, 100])
    z.central[rng.randrange(len(z.central) + 1) : 0] = [copy.deepcopy(dup) for _ in range(times)]
    return f"duplicate central[{k}] x{times}"


def op_same_header(rng: random.Random, z: RawZip) -> str | None:
    if not z.central:
        return None
    k = rng.randrange(len(z.central))
    dup = copy.deepcopy(z.central[k])
    dup.name = rng.choice([b"evil.py", b"other.txt", dup.name + b"x", b"pkg/evil.py"])
    z.central.append(dup)
    return f"central {dup.name!r} at central[{k}]'s local header"


def op_nested(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    inner_name = rng.choice([b"inner.py", b"pkg/inner.py", z.locals[i].name])
    inner_data = rng.choice(SAFE_SOURCES[:3])
    values = _local(inner_name, 0, zlib.crc32(inner_data), len(inner_data), len(inner_data))
    inner = LOCAL.pack(values) + inner_name + inner_data
    set_content(z, i, inner, 0)
    shift = LOCAL.size + len(z.locals[i].name) + len(z.locals[i].extra)
    z.central.append(CentralRecord(_central(values), inner_name, b"", target=i, shift=shift))
    return f"{inner_name!r} nested in local[{i}]"


def op_point_into(rng: random.Random, z: RawZip) -> str | None:
    if not z.central or not z.locals:
        return None
    k = rng.randrange(len(z.central))
    c = z.central[k]
    c.target = rng.randrange(len(z.locals))
    c.shift = rng.choice([1, 4, 30, -1, -30, rng.randrange(-100, 100)])
    return f"central[{k}] points {c.shift:+} bytes off local[{c.target}]"


def op_ratio(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    rec = z.locals[i]
    kind = rng.choice(["more", "more", "huge", "both"])
    method = rng.choice([zipfile.ZIP_DEFLATED] * 3 + [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, ZSTD])
    actual = rng.choice([1 << 16, 1 << 20, 8 << 20])
    declared = logical(rec, "usize")
    if kind in ("more", "both"):
        rec.payload = zeros_compressed(actual, method)
    if kind in ("huge", "both"):
        declared = rng.choice([actual, U32 - 1, U32, 1 << 32, 1 << 40, 2**63 - 1, 2**63, U64])
    for r in [rec, *_centrals_of(z, i)]:
        r.fields["method"] = method
        set_logical(r, csize=len(rec.payload), usize=declared)
    return f"ratio bomb ({kind}) in local[{i}]: {actual} bytes declared as {declared}"


def op_method(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    method = rng.choice([*UNKNOWN_METHODS, 0, 8, 12, 14])
    where = rng.choice(["both", "local", "central"])
    targets = {"both": [z.locals[i], *_centrals_of(z, i)], "local": [z.locals[i]]}
    for r in targets.get(where, _centrals_of(z, i)):
        r.fields["method"] = method
    return f"method {method} in local[{i}] ({where})"


def _records_at(z: RawZip, i: int, where: str) -> list[LocalRecord | CentralRecord]:
    """Member *i*'s local record, its central records, or both (*where*)."""
    records: list[LocalRecord | CentralRecord] = []
    if where != "central":
        records.append(z.locals[i])
    if where != "local":
        records += _centrals_of(z, i)
    return records


def op_flags(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    bit = rng.choice([FLAG_ENCRYPTED, FLAG_ENCRYPTED, 0x0040, FLAG_DESCRIPTOR, FLAG_UTF8, 0x2000])
    where = rng.choice(["both", "local", "central"])
    records = _records_at(z, i, where)
    for r in records:
        r.fields["flags"] ^= bit
    if bit == FLAG_DESCRIPTOR and where != "central" and rng.random() < 0.5:
        rec = z.locals[i]
        rec.fields.update(crc=0, csize=0, usize=0)
        rec.trailer = rng.choice([b"", struct.pack("<IIII", DD_SIG, 0, 0, 0), bytes(12)])
    return f"flag {bit:#06x} toggled in local[{i}] ({where})"


def op_name(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    name, flag = rng.choice(HOSTILE_NAMES)
    where = rng.choice(["both", "both", "local", "central"])
    records = _records_at(z, i, where)
    for r in records:
        r.name = name
        r.fields["flags"] = (r.fields["flags"] & ~FLAG_UTF8) | flag
    return f"name {name[:40]!r} for local[{i}] ({where})"


def op_zip64_extra(rng: random.Random, z: RawZip) -> str | None:
    if not z.central:
        return None
    k = rng.randrange(len(z.central))
    c = z.central[k]
    keys = rng.sample(_SIZE_KEYS, rng.randint(1, 3))
    absurd = [0, 1, U32, U32 + 1, 2**40, 2**62, 2**63 - 1, 2**63, U64, rng.getrandbits(64)]
    set_logical(c, **{key: rng.choice([*absurd, logical(c, key)]) for key in keys})
    damage = rng.choice(["none", "none", "short", "long", "odd", "twice", "no-extra"])
    found = _zip64_extra(c.extra)
    if found is not None and damage != "none":
        at, values = found
        body = c.extra[at : at + 8 * len(values)]
        rest = c.extra[at + 8 * len(values) :]
        body = {
            "short": body[:-8],
            "long": body + struct.pack("<Q", U64),
            "odd": body + b"\x01\x02\x03",
            "twice": body,
            "no-extra": None,
        }[damage]
        if body is None:
            c.extra = rest
        else:
            c.extra = struct.pack("<HH", 1, len(body)) + body + rest
            if damage == "twice":
                c.extra += c.extra
    return f"ZIP64 extra of central[{k}]: {keys} absurd, damage {damage}"


def op_eocd64(rng: random.Random, z: RawZip) -> str | None:
    if z.eocd64 is None:
        z.eocd64 = dict(
            sig=EOCD64.sig, size=44, made=45, needed=45, disk=0, cd_disk=0, disk_entries=0,
            entries=0, cd_size=0, cd_offset=0,
        )  # fmt: skip
        z.locator = dict(sig=LOCATOR.sig, disk=0, offset=0, disks=1)
        for key, top in (
            ("disk_entries", U16),
            ("entries", U16),
            ("cd_size", U32),
            ("cd_offset", U32),
        ):
            if rng.random() < 0.5:
                z.eocd[key] = top
        return "ZIP64 end records added"
    z.eocd64 = None
    return "ZIP64 end record dropped (locator kept)" if z.locator else "ZIP64 end record dropped"


def op_pyc(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z, ".pyc")
    if i is None:
        i = _pick_local(rng, z, ".py")
        if i is None:
            return None
        name = z.locals[i].name + b"c"
        z.locals[i].name = name
        for c in _centrals_of(z, i):
            c.name = name
    label, data = rng.choice(hostile_pycs())
    set_content(z, i, data, rng.choice([None, 0]))
    return f"pyc {label} in local[{i}]"


def op_source(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z, ".py")
    if i is None:
        return None
    data = rng.choice(HOSTILE_SOURCES)
    set_content(z, i, data, rng.choice([None, 0]))
    return f"source {data[:30]!r} in local[{i}]"


def op_local_extra(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    size = rng.choice([1, 3, 4, 63, 64, 65, 1000, 0xFFFF])
    z.locals[i].extra = rng.choice([bytes(size), b"\xff" * size, rng.randbytes(size)])
    return f"{size}-byte local extra in local[{i}]"


def op_swap(rng: random.Random, z: RawZip) -> str | None:
    if len(z.locals) < 2:
        return None
    i, j = rng.sample(range(len(z.locals)), 2)
    z.locals[i].payload, z.locals[j].payload = z.locals[j].payload, z.locals[i].payload
    return f"payloads of local[{i}] and local[{j}] swapped"


def op_shuffle(rng: random.Random, z: RawZip) -> str | None:
    rng.shuffle(z.central)
    return "central directory shuffled"


def op_comment(rng: random.Random, z: RawZip) -> str | None:
    fake = EOCD.pack(
        dict(
            _eocd(),
            entries=rng.choice([0, 1, U16]),
            cd_size=rng.choice([0, U32]),
            cd_offset=rng.choice([0, 22, U32]),
        )
    )
    z.comment = rng.choice(
        [fake, b"x" + fake, fake + b"\x00" * rng.randrange(3), b"PK\x05\x06" * 1000, b"x" * 0xFFFF]
    )
    return f"comment of {len(z.comment)} bytes with end-record signatures"


def op_prepend(rng: random.Random, z: RawZip) -> str | None:
    z.prepend = rng.choice(
        [
            b"",
            SHEBANG,
            b"PK\x03\x04" * 10,
            b"PK\x05\x06" + bytes(18),
            rng.randbytes(1000),
            SHEBANG * 500,
        ]
    )
    return f"{len(z.prepend)} bytes prepended"


def op_empty_payload(rng: random.Random, z: RawZip) -> str | None:
    i = _pick_local(rng, z)
    if i is None:
        return None
    z.locals[i].payload = b""
    for r in [z.locals[i], *_centrals_of(z, i)]:
        set_logical(r, csize=0)
    return f"local[{i}] data emptied (usize kept)"


def op_flood(rng: random.Random, z: RawZip) -> str | None:
    count = rng.choice([40, 80, 200])
    names = list(_colliding_names(count, rng.choice([b".txt", b".py"])))
    if rng.random() < 0.3:
        names[rng.randrange(count)] = names[0]  # and a duplicate among them
    for name in names:
        values = _local(name, 0, 0, 0, 0)
        z.locals.append(LocalRecord(values, name, b"", b""))
        z.central.append(CentralRecord(_central(values), name, b"", target=len(z.locals) - 1))
    return f"{count} members whose names share a CRC-32"


MODEL_OPS: list[Callable[[random.Random, RawZip], str | None]] = [
    op_duplicate, op_same_header, op_nested, op_point_into, op_ratio, op_method, op_flags,
    op_name, op_name, op_zip64_extra, op_eocd64, op_pyc, op_pyc, op_source, op_source,
    op_local_extra, op_swap, op_shuffle, op_comment, op_prepend, op_empty_payload, op_flood,
]  # fmt: skip


# -- byte-level mutations ------------------------------------------------------------------


def _interesting(rng: random.Random, width: int, current: int, size: int) -> int:
    top = (1 << 8 * width) - 1
    value = rng.choice(
        [0, 1, 2, top, top - 1, top >> 1, (top >> 1) + 1, current + 1, current - 1,
         current + rng.randrange(1, 64), size, size + 1, size - 1, size - 22, size * 2,
         rng.getrandbits(8 * width), 1 << rng.randrange(8 * width)]
    )  # fmt: skip
    return value & top


def bop_truncate_boundary(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    cut = rng.choice(built.boundaries()) + rng.choice([0, 0, 0, -1, 1])
    cut = max(0, min(cut, len(data)))
    return data[:cut], f"truncated at {cut} of {len(data)}"


def bop_truncate_random(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncated at {cut} of {len(data)}"


def bop_chop_front(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    cut = rng.choice([*built.boundaries(), rng.randrange(len(data) + 1)])
    return data[cut:], f"first {cut} bytes cut"


def bop_flip(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    headers = [r for r in built.regions if r.end > r.start and r.end <= len(data)]
    headers = [r for r in headers if r.name.endswith((".header", ".extra", ".name"))] or headers
    if not headers:
        return data, "nothing to flip"
    r = rng.choice(headers)
    pos = rng.randrange(r.start, r.end)
    mask = rng.choice([1 << rng.randrange(8), rng.randrange(1, 256)])
    out = bytearray(data)
    out[pos] ^= mask
    return bytes(out), f"byte {pos} ({r.name}) ^= {mask:#x}"


def bop_flip_any(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    if not data:
        return data, "nothing to flip"
    out = bytearray(data)
    pos = rng.randrange(len(out))
    out[pos] ^= rng.randrange(1, 256)
    return bytes(out), f"byte {pos} flipped"


def bop_set_field(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    fields = [f for f in built.fields if f.offset + f.size <= len(data)]
    if not fields:
        return data, "no field"
    f = rng.choice(fields)
    current = int.from_bytes(data[f.offset : f.offset + f.size], "little")
    value = _interesting(rng, f.size, current, len(data))
    out = data[: f.offset] + value.to_bytes(f.size, "little") + data[f.offset + f.size :]
    return out, f"{f.name} = {value:#x} (was {current:#x})"


def bop_insert(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    at = min(rng.choice(built.boundaries()), len(data))
    blob = rng.choice(
        [
            bytes(rng.randint(1, 64)),
            rng.randbytes(rng.randint(1, 64)),
            b"PK\x01\x02",
            b"PK\x03\x04" + bytes(26),
        ]
    )
    return data[:at] + blob + data[at:], f"{len(blob)} bytes inserted at {at}"


def bop_delete(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    if not data:
        return data, "nothing to delete"
    at = rng.randrange(len(data))
    n = rng.choice([1, 2, 4, 8, rng.randint(1, 100)])
    return data[:at] + data[at + n :], f"{n} bytes deleted at {at}"


def bop_dup_region(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    regions = [r for r in built.regions if r.start < r.end <= len(data)]
    if not regions:
        return data, "nothing to duplicate"
    r = rng.choice(regions)
    part = data[r.start : r.end]
    return data[: r.end] + part + data[r.end :], f"{r.name} duplicated"


def bop_append(rng: random.Random, data: bytes, built: Built) -> tuple[bytes, str]:
    blob = rng.choice([bytes(rng.randint(1, 100)), rng.randbytes(50), b"PK\x05\x06", data[-22:]])
    return data + blob, f"{len(blob)} bytes appended"


BYTE_OPS: list[Callable[[random.Random, bytes, Built], tuple[bytes, str]]] = [
    bop_truncate_boundary, bop_truncate_boundary, bop_truncate_random, bop_chop_front,
    bop_flip, bop_flip, bop_flip_any, bop_set_field, bop_set_field, bop_set_field,
    bop_insert, bop_delete, bop_dup_region, bop_append,
]  # fmt: skip


# -- cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    """One hostile archive: how it was made, and its bytes."""

    seed: int
    base: str
    steps: list[str]
    data: bytes

    @property
    def label(self) -> str:
        return f"seed {self.seed}: {self.base}: " + "; ".join(self.steps or ["unchanged"])


def make_case(seed: int) -> Case:
    """The hostile archive for *seed* (deterministic across runs and Python versions)."""
    rng = random.Random(seed)
    models = base_models()
    base = rng.choice(sorted(models))
    z = clone(models[base])
    steps = []
    mode = rng.random()  # model operators only, both, or byte operators only
    if mode < 0.65:
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            desc = rng.choice(MODEL_OPS)(rng, z)
            if desc:
                steps.append(desc)
    fix = rng.random() < 0.95
    built = build(z, fix=fix)
    if not fix:
        steps.append("lengths not fixed")
    data = built.data
    if mode >= 0.5 or not steps:
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            data, desc = rng.choice(BYTE_OPS)(rng, data, built)
            steps.append(desc)
    return Case(seed, base, steps, data)


def boundary_truncations() -> list[tuple[str, bytes]]:
    """Every base archive cut at every structure boundary (and one byte either side)."""
    out = []
    for name, z in base_models().items():
        built = build(z)
        for b in built.boundaries():
            for cut in {b - 1, b, b + 1}:
                if 0 <= cut < len(built.data):
                    out.append((f"{name}[:{cut}]", built.data[:cut]))
    return out


# -- hypothesis strategies -------------------------------------------------------------------

_MODULE_NAMES = [
    b"m.py",
    b"pkg/__init__.py",
    b"pkg/m.py",
    b"m.pyc",
    b"pkg/__init__.pyc",
    b"d.txt",
    b"dir/",
]
_METHODS = [0, 8, 12, 14, ZSTD]
_ODD_METHODS = [1, 6, 9, 93, 98, 99, U16]


def _rarely(draw: st.DrawFn) -> bool:
    """True now and then (an inner value: hypothesis favours the ends of a range).

    Each deviation from a valid record is drawn this way, so that most archives
    get far enough to have their members read and their modules imported.
    """
    return draw(st.integers(0, 7)) == 5


@st.composite
def member_records(draw: st.DrawFn) -> tuple[LocalRecord, CentralRecord]:
    """One member's local and central records, written field by field; now and then wrong."""
    if _rarely(draw):
        name, flag = draw(
            st.one_of(
                st.sampled_from(HOSTILE_NAMES[:-3]),
                st.binary(max_size=12).map(lambda n: (n, FLAG_UTF8)),
            )
        )
    else:
        name, flag = draw(st.sampled_from(_MODULE_NAMES)), 0
    if name.endswith(b".pyc"):
        good = [pyc("value = 1\n", kind="unchecked")]
        bad = [d for _, d in hostile_pycs()]
        data = draw(st.sampled_from(good + bad if _rarely(draw) else good))
    elif name.endswith(b".py"):
        sources = HOSTILE_SOURCES[:12] if _rarely(draw) else SAFE_SOURCES
        data = draw(st.one_of(st.sampled_from(sources), st.binary(max_size=64)))
    else:
        data = draw(st.binary(max_size=200))
    method = draw(st.sampled_from(_ODD_METHODS if _rarely(draw) else _METHODS))
    payload = compress(data, method)
    if _rarely(draw):
        payload = draw(st.sampled_from([payload[: len(payload) // 2], payload + b"junk", b""]))
    absurd = st.one_of(st.sampled_from([0, 1, U32 - 1, U32, 2**40, U64]), st.integers(0, U64))
    crc = draw(st.integers(0, U32)) if _rarely(draw) else zlib.crc32(data)
    usize = draw(absurd) if _rarely(draw) else len(data)
    csize = draw(absurd) if _rarely(draw) else len(payload)
    flags = flag
    if _rarely(draw):
        flags |= draw(st.sampled_from([FLAG_ENCRYPTED, FLAG_DESCRIPTOR, FLAG_UTF8, 0x0040]))
    local = LocalRecord(_local(name, method, crc, 0, 0, flags), name, b"", payload)
    set_logical(local, csize=csize, usize=usize)
    central = CentralRecord(_central(local.fields), name, b"")
    set_logical(central, csize=csize, usize=usize)
    if _rarely(draw):
        # The local header disagrees with the central record somewhere.
        key = draw(
            st.sampled_from(["flags", "method", "crc", "csize", "usize", "time", "sig", "version"])
        )
        local.fields[key] = draw(
            st.integers(0, U16 if key in ("flags", "method", "time", "version") else U32)
        )
    if flags & FLAG_DESCRIPTOR and draw(st.booleans()):
        local.fields.update(crc=0, csize=0, usize=0)
        local.trailer = struct.pack("<IIII", DD_SIG, crc, len(payload), len(data))
    return local, central


@st.composite
def raw_archives(draw: st.DrawFn) -> bytes:
    """Archives written record by record with struct, then possibly damaged byte-wise."""
    records = draw(st.lists(member_records(), max_size=5))
    z = RawZip(draw(st.sampled_from([b"", SHEBANG, b"\x00" * 7])), [], [], _eocd())
    for i, (local, central) in enumerate(records):
        z.locals.append(local)
        central.target = i
        z.central.append(central)
    for c in z.central:
        if z.locals and _rarely(draw):
            c.target = draw(st.integers(0, len(z.locals) - 1))
            c.shift = draw(st.sampled_from([0, 1, 30, -1]))
    if len(z.central) > 1 and _rarely(draw):
        z.central = draw(st.permutations(z.central))
    z.comment = draw(st.sampled_from([b"", b"comment", b"PK\x05\x06"]))
    if _rarely(draw):
        op_eocd64(random.Random(draw(st.integers(0, 2**32))), z)
    built = build(z, fix=not _rarely(draw))
    data = built.data
    for seed in draw(st.lists(st.integers(0, 2**32), max_size=2)) if _rarely(draw) else []:
        rng = random.Random(seed)
        data, _ = rng.choice(BYTE_OPS)(rng, data, built)
    return data


# -- helpers for the samples --------------------------------------------------------------


def zip64_absurd_end() -> bytes:
    """A small archive whose ZIP64 end record claims 2**64-1 entries and directory bytes."""
    z = parse(BASE_BUILDERS["single"]())
    op_eocd64(random.Random(0), z)
    built = build(z)
    data = bytearray(built.data)
    for f in built.fields:
        if f.name in ("eocd64.entries", "eocd64.disk_entries", "eocd64.cd_size"):
            data[f.offset : f.offset + f.size] = U64.to_bytes(8, "little")
    return bytes(data)


def same_local_header() -> bytes:
    """Two directory entries, ``a.py`` and ``evil.py``, pointing at one local header."""
    z = simple_zip([(b"a.py", SRC_A, 0)])
    dup = copy.deepcopy(z.central[0])
    dup.name = b"evil.py"
    z.central.append(dup)
    return build(z).data


def bad_utf8_name() -> bytes:
    """A member flagged UTF-8 whose name is not UTF-8."""
    return build(simple_zip([(b"m\xff\xfe.py", SRC_A, 0)], flags=FLAG_UTF8)).data


def pyc_member(name: bytes, data: bytes) -> bytes:
    """One stored ``.pyc`` member with exactly these bytes."""
    return build(simple_zip([(name, data, 0)])).data


# -- extension modules: archives whose extensions are extracted --------------------------------


@dataclass(frozen=True)
class ExtensionObjects:
    """Real ELF objects (64-bit) for the extraction cases; the tests compile them.

    ``ext``: extension module ``_ext``, DT_NEEDED ``libdep.so`` with DT_RPATH
    ``$ORIGIN/../mypkg.libs`` (auditwheel's layout); ``sib``: extension ``_sib``,
    DT_NEEDED ``libdep.so`` with DT_RUNPATH ``$ORIGIN`` (the library beside it);
    ``lib``: ``libdep.so``; ``tiny``: extension ``tiny``, needing nothing from
    the archive; ``extpkg``: extension ``extpkg``, an extension package's
    ``__init__``.  *suffix* is this interpreter's first extension suffix.
    """

    suffix: str
    ext: bytes
    sib: bytes
    lib: bytes
    tiny: bytes
    extpkg: bytes


def extension_members(objs: ExtensionObjects) -> dict[str, bytes]:
    """The members of every extension base archive."""
    s = objs.suffix
    return {
        "mypkg/": b"",
        "mypkg/__init__.py": SRC_PKG,
        f"mypkg/_ext{s}": objs.ext,
        "mypkg.libs/libdep.so": objs.lib,
        f"mypkg/_sib{s}": objs.sib,
        "mypkg/libdep.so": objs.lib,
        "mypkg/data.txt": b"some data\n",
        f"tiny{s}": objs.tiny,
        f"extpkg/__init__{s}": objs.extpkg,
        "m.py": SRC_A,
    }


def _extension_mixed(objs: ExtensionObjects) -> dict[str, Entry]:
    methods = [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2]
    return {n: Entry(d, methods[i % 4]) for i, (n, d) in enumerate(extension_members(objs).items())}


EXTENSION_BASE_BUILDERS: dict[str, Callable[[ExtensionObjects], bytes]] = {
    "ext-stored": lambda o: zip_bytes(extension_members(o)),
    "ext-deflated": lambda o: zip_bytes(extension_members(o), compression=zipfile.ZIP_DEFLATED),
    "ext-mixed": lambda o: zip_bytes(_extension_mixed(o)),
    "ext-descriptors": lambda o: zip_bytes(
        extension_members(o), compression=zipfile.ZIP_DEFLATED, seekable=False, prepend=SHEBANG
    ),
    "ext-zip64": lambda o: zip64_everywhere(
        {n: d for n, d in extension_members(o).items() if not n.endswith("/")}, deflate=True
    ),
}


@functools.cache
def extension_models(objs: ExtensionObjects) -> dict[str, RawZip]:
    """Every extension base archive as records."""
    return {name: parse(make(objs)) for name, make in EXTENSION_BASE_BUILDERS.items()}


# -- ELF objects: where the dynamic-section reader looks -----------------------------------------

_PT_LOAD, _PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 15, 29
_DYNAMIC_TAGS = (DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_RPATH, DT_RUNPATH)
#: (name, offset, width) of the ELF64 header fields the reader uses.
ELF_HEADER_FIELDS = [
    ("ei_class", 4, 1), ("ei_data", 5, 1), ("e_phoff", 0x20, 8), ("e_phentsize", 0x36, 2),
    ("e_phnum", 0x38, 2),
]  # fmt: skip
#: (name, offset, width) of the ELF64 program header fields the reader uses.
ELF_PHDR_FIELDS = [("p_type", 0, 4), ("p_offset", 8, 8), ("p_vaddr", 16, 8), ("p_filesz", 32, 8)]


class Phdr(NamedTuple):
    """A program header: where it is, and the fields the ELF reader uses."""

    at: int  # where the program header is in the file
    type: int
    offset: int
    vaddr: int
    filesz: int


@dataclass
class ElfMap:
    """Where a 64-bit little-endian ELF object keeps what ``extraction.elf_dynamic`` reads."""

    phdrs: list[Phdr]
    dynamic: list[tuple[int, int, int]]  # (where, tag, value), up to DT_NULL


def elf_map(data: bytes) -> ElfMap | None:
    """The program headers and dynamic entries of *data* (None: not an ELF64 LE object)."""
    if data[:6] != b"\x7fELF\x02\x01" or len(data) < 64:
        return None
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    phdrs = []
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + 56 > len(data):
            return None
        ptype, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", data, at)
        phdrs.append(Phdr(at, ptype, offset, vaddr, filesz))
    dynamic = []
    for p in phdrs:
        if p.type == _PT_DYNAMIC:
            for at in range(p.offset, min(p.offset + p.filesz, len(data)) - 15, 16):
                tag, value = struct.unpack_from("<qQ", data, at)
                dynamic.append((at, tag, value))
                if tag == DT_NULL:
                    break
            break
    return ElfMap(phdrs, dynamic)


def elf_with_dynamic(data: bytes, entries: list[tuple[int, bytes | int]]) -> bytes | None:
    """*data* whose DT_NEEDED/DT_RPATH/DT_RUNPATH entries are *entries*: (tag, string), or
    (tag, raw value) for an int; a new string table and dynamic section are appended, the
    first load segment (file offset 0 at address 0) is stretched over them and PT_DYNAMIC
    points at the new section.  None if *data* has no such segment."""
    found = elf_map(data)
    if found is None:
        return None
    load = next((p for p in found.phdrs if p.type == _PT_LOAD and p.offset == p.vaddr == 0), None)
    dyn = next((p for p in found.phdrs if p.type == _PT_DYNAMIC), None)
    if load is None or dyn is None:
        return None
    out = bytearray(data)
    out += bytes(-len(out) % 8)
    strtab = bytearray(b"\0")
    offsets: dict[bytes, int] = {}
    for _, value in entries:
        if isinstance(value, bytes) and value not in offsets:
            offsets[value] = len(strtab)
            strtab += value + b"\0"
    table_at = len(out)
    out += strtab + bytes(-len(strtab) % 8)
    kept = [(tag, value) for _, tag, value in found.dynamic if tag not in _DYNAMIC_TAGS]
    ours = [(tag, offsets[v] if isinstance(v, bytes) else v) for tag, v in entries]
    dynamic = [*kept, *ours, (DT_STRTAB, table_at), (DT_STRSZ, len(strtab)), (DT_NULL, 0)]
    dynamic_at = len(out)
    for tag, value in dynamic:
        out += struct.pack("<qQ", tag, value & U64)
    struct.pack_into("<QQ", out, load.at + 32, len(out), len(out))  # p_filesz, p_memsz
    struct.pack_into("<QQQ", out, dyn.at + 8, dynamic_at, dynamic_at, dynamic_at)
    struct.pack_into("<QQ", out, dyn.at + 32, 16 * len(dynamic), 16 * len(dynamic))
    return bytes(out)


def synthetic_elf(
    entries: list[tuple[int, bytes | int]],
    strtab: bytes = b"",
    *,
    wide: bool = True,
    order: str = "<",
) -> bytes:
    """A minimal ELF object (64- or 32-bit, *order* ``<`` or ``>``): header, one load segment
    over the whole file, PT_DYNAMIC, the dynamic entries *entries* (strings as in
    :func:`elf_with_dynamic`, appended to a string table that starts with *strtab*,
    NUL-terminated) and the string table.  Enough for ``extraction.elf_dynamic``; never
    loaded."""
    table = bytearray(b"\0" + strtab + b"\0" if strtab else b"\0")
    offsets: dict[bytes, int] = {}
    for _, value in entries:
        if isinstance(value, bytes) and value not in offsets:
            offsets[value] = len(table)
            table += value + b"\0"
    count = len(entries) + 3
    header_size, phdr_size, entry_size = (64, 56, 16) if wide else (52, 32, 8)
    dynamic_at = header_size + 2 * phdr_size
    table_at = dynamic_at + entry_size * count
    size, dynamic_size = table_at + len(table), entry_size * count
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if order == "<" else 2, 1]) + bytes(9)
    if wide:
        header = struct.pack(order + "HHIQQQIHHHHHH", 3, 62, 1, 0, 64, 0, 0, 64, 56, 2, 64, 0, 0)
        load = struct.pack(order + "IIQQQQQQ", _PT_LOAD, 5, 0, 0, 0, size, size, 0x1000)
        dyn = struct.pack(
            order + "IIQQQQQQ", _PT_DYNAMIC, 6, dynamic_at, dynamic_at, dynamic_at,
            dynamic_size, dynamic_size, 8,
        )  # fmt: skip
        entry, mask = struct.Struct(order + "qQ"), U64
    else:
        header = struct.pack(order + "HHIIIIIHHHHHH", 3, 3, 1, 0, 52, 0, 0, 52, 32, 2, 40, 0, 0)
        load = struct.pack(order + "IIIIIIII", _PT_LOAD, 0, 0, 0, size, size, 5, 0x1000)
        dyn = struct.pack(
            order + "IIIIIIII", _PT_DYNAMIC, dynamic_at, dynamic_at, dynamic_at, dynamic_size,
            dynamic_size, 6, 4,
        )  # fmt: skip
        entry, mask = struct.Struct(order + "iI"), U32
    dynamic = [(t, offsets[v] if isinstance(v, bytes) else v) for t, v in entries]
    dynamic += [(DT_STRTAB, table_at), (DT_STRSZ, len(table)), (DT_NULL, 0)]
    body = b"".join(entry.pack(tag, value & mask) for tag, value in dynamic)
    return ident + header + load + dyn + body + bytes(table)


#: A file name that must never appear anywhere (a member named to land outside the
#: extraction directory, or a library the dynamic section names so).
EVIL = "zipimporter_hostile_evil"


def extension_names(suffix: str) -> list[str]:
    """Names to give an extension module or library member: escaping, absolute, clashing,
    for another interpreter, or someone else's."""
    return [
        f"../_ext{suffix}",
        f"mypkg/../../_ext{suffix}",
        "../" * 12 + f"tmp/{EVIL}{suffix}",
        f"/tmp/{EVIL}{suffix}",
        f"C:{EVIL}{suffix}",
        f"mypkg\\..\\..\\{EVIL}{suffix}",
        f"mypkg/.../{EVIL}{suffix}",
        f"mypkg/_ext{suffix}\x00",
        f"mypkg/_ext{suffix}/",
        f"mypkg/_ext{suffix}/x",
        f"mypkg//_ext{suffix}",
        f"./mypkg/_ext{suffix}",
        f"MYPKG/_ext{suffix}",
        ".zipimporter-manifest",
        "mypkg.libs",
        "mypkg.libs/../../libdep.so",
        "mypkg.libs/libdep.so",
        "mypkg/libdep.so",
        "mypkg/libdep.so.1",
        f"mypkg/_ext{suffix}",
        f"mypkg/_sib{suffix}",
        f"mypkg/__init__{suffix}",
        f"_ext{suffix}",
        f"tiny{suffix}",
        f"extpkg/__init__{suffix}",
        "mypkg/_ext.cpython-27mu-x86_64-linux-gnu.so",
        "mypkg/_ext.abi3.so",
        "mypkg/_ext.so",
        "mypkg/_ext.pyd",
        f"mypkg/x-y{suffix}",
    ]


#: DT_NEEDED names: missing, escaping, empty, members that are no library, the object itself.
def needed_names(suffix: str) -> list[bytes]:
    return [
        b"libdep.so", b"libdep.so", b"libmissing.so", b"", b"../libdep.so", b"/tmp/libdep.so",
        b".zipimporter-manifest", b"data.txt", b"__init__.py", b"m.py", f"_ext{suffix}".encode(),
        f"_sib{suffix}".encode(), f"tiny{suffix}".encode(), b"mypkg.libs", b"lib\xff\xfe.so",
        b"x" * 300, b"libdep.so\x01", f"{EVIL}.so".encode(),
    ]  # fmt: skip


#: RPATH/RUNPATH strings: escaping, absolute, other tokens, odd separators, long.
SEARCH_PATHS: list[bytes] = [
    b"$ORIGIN", b"$ORIGIN/..", b"$ORIGIN/../mypkg.libs", b"${ORIGIN}/../mypkg.libs",
    b"$ORIGIN/../..", b"$ORIGIN/../../../../../tmp", b"/tmp", b"", b".", b":", b"::$ORIGIN::",
    b"$ORIGIN/$LIB", b"$ORIGINX", b"${ORIGIN", b"$ORIGIN/./../mypkg/../mypkg.libs",
    b"$ORIGIN//", b"$ORIGIN/" + b"a/" * 60 + b"../" * 60, b"$ORIGIN/../mypkg.libs:/usr/lib:$ORIGIN",
    b"$ORIGIN/\xff\xfe", b"$ORIGIN/../mypkg.libs/../../..", b"$ORIGIN/mypkg.libs\x00junk",
]  # fmt: skip


#: Search paths that name directories of the extension archives.
RESOLVING_PATHS: list[bytes] = [b"$ORIGIN", b"$ORIGIN/..", b"$ORIGIN/../mypkg.libs", b"${ORIGIN}"]


def _elf_target(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> tuple[int, bytes] | None:
    """A local record holding one of *objs*' ELF objects, unchanged so far, and its bytes."""
    members = extension_members(objs)
    choices = [
        (i, members[r.name.decode()])
        for i, r in enumerate(z.locals)
        if r.name.endswith(b".so") and r.name.decode() in members
    ]
    return rng.choice(choices) if choices else None


def _elf_op(
    change: Callable[[random.Random, bytes, ElfMap, str], tuple[bytes, str] | None],
) -> Callable[[random.Random, RawZip, ExtensionObjects], str | None]:
    """A model operator: *change* applied to an ELF member's bytes, written with a valid CRC
    (so that the archive's checks pass it and the ELF reader sees it)."""

    def op(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
        target = _elf_target(rng, z, objs)
        if target is None:
            return None
        i, data = target
        found = elf_map(data)
        changed = None if found is None else change(rng, data, found, objs.suffix)
        if changed is None:
            return None
        new, what = changed
        set_content(z, i, new)
        return f"ELF {z.locals[i].name.decode(errors='replace')}: {what} (valid CRC)"

    op.__name__ = change.__name__
    return op


def _put(data: bytes, at: int, width: int, value: int) -> bytes:
    """*data* with the *width*-byte little-endian field at *at* set to *value*."""
    field_bytes = (value & ((1 << 8 * width) - 1)).to_bytes(width, "little")
    return data[:at] + field_bytes + data[at + width :]


@_elf_op
def elf_header_field(
    rng: random.Random, data: bytes, elf: ElfMap, suffix: str
) -> tuple[bytes, str]:
    name, at, width = rng.choice(ELF_HEADER_FIELDS)
    current = int.from_bytes(data[at : at + width], "little")
    value = _interesting(rng, width, current, len(data))
    return _put(data, at, width, value), f"{name} = {value:#x}"


@_elf_op
def elf_phdr_field(
    rng: random.Random, data: bytes, elf: ElfMap, suffix: str
) -> tuple[bytes, str] | None:
    useful = [p for p in elf.phdrs if p.type in (_PT_LOAD, _PT_DYNAMIC)]
    if not useful:
        return None
    p = rng.choice(useful)
    name, at, width = rng.choice(ELF_PHDR_FIELDS)
    current = int.from_bytes(data[p.at + at : p.at + at + width], "little")
    value = _interesting(rng, width, current, len(data))
    if rng.random() < 0.3 and name == "p_type":
        value = rng.choice([_PT_LOAD, _PT_DYNAMIC])
    return _put(data, p.at + at, width, value), f"{name} of the {p.type} header = {value:#x}"


@_elf_op
def elf_dynamic_entry(
    rng: random.Random, data: bytes, elf: ElfMap, suffix: str
) -> tuple[bytes, str] | None:
    entries = [e for e in elf.dynamic if e[1] in _DYNAMIC_TAGS] or elf.dynamic
    if not entries:
        return None
    at, tag, value = rng.choice(entries)
    if rng.random() < 0.4:
        new = rng.choice([*_DYNAMIC_TAGS, DT_NEEDED, DT_RPATH, DT_RUNPATH, -1, 2**62])
        return _put(data, at, 8, new), f"dynamic tag {tag} -> {new}"
    new = _interesting(rng, 8, value, len(data))
    return _put(data, at + 8, 8, new), f"dynamic {tag} value {value:#x} -> {new:#x}"


@_elf_op
def elf_strings(
    rng: random.Random, data: bytes, elf: ElfMap, suffix: str
) -> tuple[bytes, str] | None:
    """A new dynamic section: hostile needed names and search paths, some repeated."""
    names = needed_names(suffix)
    entries: list[tuple[int, bytes | int]] = []
    for _ in range(rng.choice([1, 2, 3, 5])):
        entries.append((DT_NEEDED, rng.choice(names)))
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        paths = RESOLVING_PATHS if rng.random() < 0.5 else SEARCH_PATHS
        entries.append((rng.choice([DT_RPATH, DT_RUNPATH]), rng.choice(paths)))
    kind = rng.choice(["plain", "plain", "repeated", "many", "offsets"])
    if kind == "repeated":  # one string named many times (bounded here: see the reproducers)
        entries += [rng.choice(entries)] * rng.choice([10, 100, 500])
    elif kind == "many":  # many distinct names and directories (bounded here too)
        entries += [(DT_NEEDED, b"libn%d.so" % k) for k in range(rng.choice([20, 60]))]
        paths = b":".join(b"$ORIGIN/d%d" % k for k in range(rng.choice([20, 60])))
        entries.append((rng.choice([DT_RPATH, DT_RUNPATH]), paths))
    elif kind == "offsets":  # raw string offsets: inside other strings, past the table
        for _ in range(rng.choice([1, 3])):
            tag = rng.choice([DT_NEEDED, DT_RPATH, DT_RUNPATH])
            entries.append((tag, rng.choice([0, 1, 5, 0x7FFF, U32, U64, rng.getrandbits(16)])))
    new = elf_with_dynamic(data, entries)
    if new is None:
        return None
    return new, f"dynamic section of {len(entries)} entries ({kind})"


@_elf_op
def elf_replaced(rng: random.Random, data: bytes, elf: ElfMap, suffix: str) -> tuple[bytes, str]:
    """Cut short, or not ELF (then the fallback rule picks libraries), or 32-bit/big-endian."""
    kind = rng.choice(["cut", "cut", "not-elf", "class", "synthetic"])
    if kind == "cut":
        cut = rng.choice([0, 4, 16, 63, 64, 65, 0x40 + 56, len(data) // 2, len(data) - 1])
        return data[:cut], f"cut to {cut} bytes"
    if kind == "not-elf":
        new = rng.choice([b"MZ\x90\x00" + bytes(60), b"\xcf\xfa\xed\xfe" + bytes(60), SRC_A])
        return new, f"not ELF ({new[:4]!r})"
    if kind == "class":
        new = data[:4] + bytes([rng.choice([1, 2]), rng.choice([1, 2])]) + data[6:]
        return new, f"ELF class {new[4]}, byte order {new[5]}"
    entries: list[tuple[int, bytes | int]] = [(DT_NEEDED, b"libdep.so")]
    entries.append((rng.choice([DT_RPATH, DT_RUNPATH]), rng.choice(RESOLVING_PATHS)))
    wide, order = rng.choice([True, False]), rng.choice("<>")
    new = synthetic_elf(entries, wide=wide, order=order)
    return new, f"a minimal synthetic ELF object ({64 if wide else 32}-bit, {order})"


# -- model operators for extension archives --------------------------------------------------


def op_ext_name(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
    """An ELF member (or any) renamed: escaping, absolute, clashing, someone else's name."""
    i = _pick_local(rng, z, ".so") if rng.random() < 0.8 else _pick_local(rng, z)
    if i is None:
        return None
    name = rng.choice(extension_names(objs.suffix)).encode("utf-8", "surrogateescape")
    where = rng.choice(["both", "both", "both", "local", "central"])
    records = _records_at(z, i, where)
    for r in records:
        r.name = name
    return f"name {name!r} for local[{i}] ({where})"


def op_ext_duplicate(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
    """A second member with an ELF member's name and other (intact) bytes, before or after."""
    i = _pick_local(rng, z, ".so")
    if i is None:
        return None
    name = z.locals[i].name
    data = rng.choice([objs.tiny, objs.lib, objs.ext, objs.sib, SRC_A])
    method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    payload = compress(data, method)
    values = _local(name, method, zlib.crc32(data), len(payload), len(data))
    z.locals.append(LocalRecord(values, name, b"", payload))
    central = CentralRecord(_central(values), name, b"", target=len(z.locals) - 1)
    z.central.insert(rng.choice([0, len(z.central)]), central)
    return f"a second {name!r} ({len(data)} bytes)"


def op_ext_huge(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
    """ELF members declaring huge sizes: each over the limit, or together over it."""
    limit = 1 << 30  # archive.DEFAULT_MAX_MEMBER_SIZE
    chosen = [i for i, r in enumerate(z.locals) if r.name.endswith(b".so")]
    if not chosen:
        return None
    chosen = rng.sample(chosen, rng.randint(1, min(3, len(chosen))))
    declared = rng.choice([limit // 2 + 1, limit - 1, limit, limit + 1, U32, 1 << 40, U64])
    where = rng.choice(["both", "central"])
    for i in chosen:
        targets: list[LocalRecord | CentralRecord] = list(_centrals_of(z, i))
        if where == "both":
            targets.append(z.locals[i])
        for r in targets:
            set_logical(r, usize=declared)
    return f"locals {chosen} declare {declared} bytes ({where})"


def op_ext_same_header(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
    """One ELF member's directory entry pointing at another's local header."""
    elves = [i for i, r in enumerate(z.locals) if r.name.endswith(b".so")]
    if len(elves) < 2:
        return None
    i, j = rng.sample(elves, 2)
    centrals = _centrals_of(z, i)
    if not centrals:
        return None
    centrals[0].target = j
    return f"the directory entry of local[{i}] points at local[{j}]"


def op_ext_layout_clash(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
    """An extension needing both ``mypkg.libs/libdep.so`` and a file ``mypkg.libs``: the
    files to extract together can't all be written (a file where a directory must be)."""
    i = next(
        (k for k, r in enumerate(z.locals) if r.name == f"mypkg/_ext{objs.suffix}".encode()), None
    )
    if i is None:
        return None
    entries: list[tuple[int, bytes | int]] = [(DT_NEEDED, b"mypkg.libs"), (DT_NEEDED, b"libdep.so")]
    entries.append((DT_RPATH, b"$ORIGIN/..:$ORIGIN/../mypkg.libs"))
    new = elf_with_dynamic(objs.ext, entries)
    if new is None:
        return None
    set_content(z, i, new)
    name = b"mypkg.libs"
    values = _local(name, 0, zlib.crc32(objs.lib), len(objs.lib), len(objs.lib))
    z.locals.append(LocalRecord(values, name, b"", objs.lib))
    z.central.append(CentralRecord(_central(values), name, b"", target=len(z.locals) - 1))
    return "mypkg/_ext needs a file mypkg.libs and mypkg.libs/libdep.so"


def _generic(
    op: Callable[[random.Random, RawZip], str | None],
) -> Callable[[random.Random, RawZip, ExtensionObjects], str | None]:
    def apply(rng: random.Random, z: RawZip, objs: ExtensionObjects) -> str | None:
        return op(rng, z)

    apply.__name__ = op.__name__
    return apply


ELF_OPS = [elf_header_field, elf_phdr_field, elf_dynamic_entry, elf_strings, elf_replaced]
EXTENSION_MODEL_OPS: list[Callable[[random.Random, RawZip, ExtensionObjects], str | None]] = [
    *ELF_OPS, *ELF_OPS, *ELF_OPS, elf_strings, elf_strings, elf_strings, op_ext_name,
    op_ext_name, op_ext_name, op_ext_duplicate, op_ext_duplicate, op_ext_huge,
    op_ext_same_header, op_ext_layout_clash,
    *[_generic(op) for op in MODEL_OPS if op not in (op_pyc, op_source, op_flood)],
]  # fmt: skip


def bop_elf_flip(
    rng: random.Random, data: bytes, built: Built, elves: list[int]
) -> tuple[bytes, str]:
    """Bytes of an ELF member's headers changed in place (its CRC no longer matches)."""
    regions = [
        r
        for r in built.regions
        if r.name in {f"local[{i}].payload" for i in elves} and r.start < r.end <= len(data)
    ]
    if not regions:
        return data, "no ELF member to flip"
    r = rng.choice(regions)
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 4])):
        pos = rng.randrange(r.start, min(r.end, r.start + 0x300))
        out[pos] ^= rng.randrange(1, 256)
    return bytes(out), f"{r.name} bytes changed near its start"


@dataclass
class ExtensionCase(Case):
    """A hostile archive with extension modules, and every content it may legitimately hold.

    ``allowed``: the base members' bytes and whatever the operators wrote with a
    valid CRC.  Anything else extracted is data the archive's checks should have
    refused.
    """

    allowed: frozenset[bytes] = frozenset()


def make_extension_case(seed: int, objs: ExtensionObjects) -> ExtensionCase:
    """The hostile extension archive for *seed* (deterministic for the same *objs*)."""
    rng = random.Random(seed)
    models = extension_models(objs)
    base = rng.choice(sorted(models))
    z = clone(models[base])
    steps = []
    with recording_contents() as written:
        mode = rng.random()  # model operators only, both, or byte operators only
        if mode < 0.8:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                desc = rng.choice(EXTENSION_MODEL_OPS)(rng, z, objs)
                if desc:
                    steps.append(desc)
        elves = [i for i, r in enumerate(z.locals) if r.name.endswith(b".so")]
        fix = rng.random() < 0.95
        built = build(z, fix=fix)
        if not fix:
            steps.append("lengths not fixed")
        data = built.data
        if mode >= 0.65 or not steps:
            for _ in range(rng.choice([1, 1, 2])):
                if rng.random() < 0.4:
                    data, desc = bop_elf_flip(rng, data, built, elves)
                else:
                    data, desc = rng.choice(BYTE_OPS)(rng, data, built)
                steps.append(desc)
    allowed = frozenset(extension_members(objs).values()) | frozenset(written)
    return ExtensionCase(seed, base, steps, data, allowed)


def elf_string_amplification(suffix: str, entries: int = 2500, length: int = 40_000) -> bytes:
    """An archive whose extension ``_ext`` is an 80 KB synthetic ELF object (834 bytes
    deflated): *entries* DT_NEEDED entries all pointing into one *length*-byte string (at
    64 different offsets).  Decoded one by one that is ``entries * length`` bytes of
    names (100 MB: over the harness's memory bound, not near its cap)."""
    entries_ = [(DT_NEEDED, 1 + k % 64) for k in range(entries)]
    elf = synthetic_elf(entries_, b"x" * length)
    return zip_bytes({f"_ext{suffix}": elf}, compression=zipfile.ZIP_DEFLATED)


def dependency_lookup_flood(suffix: str, needed: int, directories: int) -> bytes:
    """An archive whose extension ``_ext`` needs *needed* libraries, to be looked for in
    *directories* ``$ORIGIN``-relative RPATH directories, which the archive has: every
    (name, directory) pair is a lookup."""
    entries: list[tuple[int, bytes | int]] = [(DT_NEEDED, b"libn%d.so" % k) for k in range(needed)]
    entries.append((DT_RPATH, b":".join(b"$ORIGIN/d%d" % k for k in range(directories))))
    members: dict[str, bytes] = {f"_ext{suffix}": synthetic_elf(entries)}
    members.update({f"d{k}/": b"" for k in range(directories)})
    return zip_bytes(members, compression=zipfile.ZIP_DEFLATED)

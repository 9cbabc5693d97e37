"""Rebuild the hostile sample archives in this directory, and their README.

    python tests/data/hostile/make_samples.py

Each sample is built by ``tests/hostile.py``; ``test_hostile.py`` checks that
the files here are what this script makes (where the zlib is the same).
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/: hostile.py and conftest.py

import hostile  # noqa: E402

#: file -> (what it is, the call that must raise ZipImportError naming the archive)
DESCRIPTIONS = {
    "overlap_bomb.zip": (
        "David Fifield's overlapping-files bomb: 20 members, each a stored block quoting the "
        "next local header followed by the next member's data, all ending in one deflate "
        "kernel of 1 MiB of zeros (20 MiB of output from 2.7 KB; quadratic in general). "
        "Every CRC and size is consistent.",
        "opening, or `get_data('0')`: overlapping members",
    ),
    "ratio_bomb.zip": (
        "`bomb.txt` declares 1024 bytes; its 1 KB deflate stream inflates to 1 MiB.",
        "`get_data('bomb.txt')`: decompresses to more than declared",
    ),
    "zip64_absurd_end.zip": (
        "A one-module archive whose ZIP64 end record claims 2**64-1 entries and 2**64-1 "
        "bytes of central directory.",
        "opening",
    ),
    "zip64_huge_member.zip": (
        "`huge.txt` declares 2**64-1 uncompressed bytes in its ZIP64 extra field "
        "(its data is 1 MiB of zeros, deflated).",
        "`get_data('huge.txt')`: over the member size limit",
    ),
    "same_local_header.zip": (
        "Two directory entries, `a.py` and `evil.py`, pointing at the one local header "
        "(of `a.py`).",
        "opening (overlap), or `get_data('evil.py')`: local name differs",
    ),
    "nested_member.zip": (
        "`outer.bin` is stored, and its data is a complete member `inner.py` (local header "
        "and source), which the central directory also lists: a member inside another.",
        "opening, or `get_data('inner.py')`: overlapping members",
    ),
    "bad_utf8_name.zip": (
        "A member flagged UTF-8 (bit 11) whose name `m\\xff\\xfe.py` is not UTF-8.",
        "listing the members (or opening)",
    ),
    "coding_undefined.zip": (
        "`m.py` (intact, CRC good) declares `# coding: undefined`, a codec whose decode "
        "raises UnicodeError (not UnicodeDecodeError).",
        "`get_source('m')`",
    ),
}


def samples() -> dict[str, bytes]:
    """The bytes of every sample, by file name."""
    coding = b"# coding: undefined\nx = 1\n"
    return {
        "overlap_bomb.zip": hostile.overlap_bomb(20, 1 << 20),
        "ratio_bomb.zip": hostile.ratio_bomb(1024, 1 << 20),
        "zip64_absurd_end.zip": hostile.zip64_absurd_end(),
        "zip64_huge_member.zip": hostile.ratio_bomb(2**64 - 1, 1 << 20, name=b"huge.txt"),
        "same_local_header.zip": hostile.same_local_header(),
        "nested_member.zip": hostile.nested_member(),
        "bad_utf8_name.zip": hostile.bad_utf8_name(),
        "coding_undefined.zip": hostile.build(hostile.simple_zip([(b"m.py", coding, 0)])).data,
    }


def readme() -> str:
    lines = [
        "# Hostile sample archives",
        "",
        "The sharpest cases of `tests/test_hostile.py`, kept as files. Rebuild them (and this",
        "README) with `python tests/data/hostile/make_samples.py`; `test_sample` checks that",
        "each gives `ZipImportError` with a message naming the archive, at the call below",
        "(opening the archive may already raise it).",
        "",
        f"Generated with zlib {zlib.ZLIB_RUNTIME_VERSION}.",
        "",
        "| file | what it is | expected ZipImportError from |",
        "|---|---|---|",
    ]
    for name, (what, expected) in DESCRIPTIONS.items():
        lines.append(f"| `{name}` | {what} | {expected} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    for name, data in samples().items():
        assert len(data) < 4096, (name, len(data))
        (HERE / name).write_bytes(data)
    (HERE / "README.md").write_text(readme())


if __name__ == "__main__":
    main()

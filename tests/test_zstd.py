"""zstd (method 93): ``build --compression zstd``, bundles that run with it, bounded reads.

Building and reading zstd members needs a codec: ``compression.zstd`` (3.14)
or ``backports.zstd`` (the ``zstd`` extra, which ``tests/run`` installs).  The
tests that need one skip without it; the ones about its absence hide it.
A bundle runs with a plain base interpreter (no zipimporter, no codec) and
with the same interpreter given only ``backports.zstd`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

import zipimporter
from conftest import PLAIN_PYTHON, import_fresh, run_plain
from zipimporter import bundle, messages, runtime
from zipimporter.cli import main
from zipimporter.compression import ZSTD_UNAVAILABLE, ZSTD_WINDOW_LOG, zstd_module

ZSTD = 93
CODEC = zstd_module()
needs_codec = pytest.mark.skipif(
    CODEC is None, reason="no zstd codec: needs Python 3.14 or backports.zstd (the zstd extra)"
)


MAIN = """\
import sys

from app import work


def main():
    kind = type(work.__loader__)
    print(f"{kind.__module__}.{kind.__qualname__}", work.VALUE, work.data())
    return 0
"""
WORK = """\
import pkgutil

VALUE = 'zstd-' * 3


def data():
    return pkgutil.get_data(__name__, 'data.txt').decode().strip()
"""


@pytest.fixture
def app_src(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "__init__.py").write_text("")
    (src / "app" / "cli.py").write_text(MAIN)
    (src / "app" / "work.py").write_text(WORK)
    (src / "app" / "data.txt").write_text("packed data\n" * 50)
    return src


@pytest.fixture
def no_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    """No zstd codec for this process: ``import compression.zstd`` and ``backports.zstd`` fail."""
    for name in ("compression.zstd", "backports.zstd"):
        monkeypatch.setitem(sys.modules, name, None)


def cli(*args: str | Path) -> int:
    return main([str(a) for a in args])


def methods(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i.compress_type for i in zf.infolist() if not i.is_dir()}


# -- building --------------------------------------------------------------------------


@needs_codec
def test_build_writes_zstd_members_and_keeps_the_runtime_stdlib_readable(app_src, tmp_path):
    out = tmp_path / "app.pyz"
    result = bundle.build([str(app_src)], str(out), compression="zstd", main="app.cli:main")
    assert result.runtime
    found = methods(out)
    assert runtime.has_runtime(found)
    for name, method in found.items():
        expected = zipfile.ZIP_DEFLATED if runtime.needs_stdlib_method(name) else ZSTD
        if name.endswith(".pyc"):  # compiled code is stored by default
            expected = zipfile.ZIP_STORED
        assert method == expected, name
    assert result.zstd_members == sum(1 for m in found.values() if m == ZSTD) == 6
    # The headers agree with the data: every member decompresses to its size and CRC.
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as zf:
        for info in zf.infolist():
            if info.compress_type != ZSTD:
                continue
            assert (info.extract_version, info.create_version) == (63, 63)
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            data = CODEC.decompress(raw[start : start + info.compress_size])  # type: ignore[attr-defined]
            assert (len(data), zlib.crc32(data)) == (info.file_size, info.CRC), info.filename
            # The local header says so too.
            assert struct.unpack_from("<H", raw, info.header_offset + 8)[0] == ZSTD


@needs_codec
def test_zstd_bundle_imports_through_zipimporter(app_src, tmp_path):
    out = tmp_path / "lib.zip"
    bundle.build([str(app_src)], str(out), compression="zstd")
    assert set(methods(out).values()) == {ZSTD}
    sys.path.insert(0, str(out))
    work = import_fresh("app.work", ours=True)
    assert work.VALUE == "zstd-" * 3
    assert work.data() == "packed data\n" * 49 + "packed data"
    assert isinstance(work.__loader__, zipimporter.zipimporter)


@needs_codec
def test_zstd_build_is_deterministic(app_src, tmp_path, monkeypatch):
    first, second = tmp_path / "1.pyz", tmp_path / "2.pyz"
    bundle.build([str(app_src)], str(first), compression="zstd", main="app.cli:main")
    bundle.build([str(app_src)], str(second), compression="zstd", main="app.cli:main")
    assert first.read_bytes() == second.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    bundle.build([str(app_src)], str(second), compression="zstd", main="app.cli:main")
    assert first.read_bytes() != second.read_bytes()
    with zipfile.ZipFile(second) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}


@needs_codec
def test_empty_and_large_members(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "empty.txt").write_bytes(b"")
    big = os.urandom(1 << 16) * 40  # 2.5 MiB, compressible only through long matches
    (src / "big.bin").write_bytes(big)
    out = tmp_path / "data.zip"
    bundle.build([str(src)], str(out), compression="zstd")
    importer = zipimporter.zipimporter(str(out))
    assert importer.get_data("empty.txt") == b""
    assert importer.get_data("big.bin") == big


def test_build_without_codec_is_a_one_line_error(app_src, tmp_path, no_codec, capsys):
    out = tmp_path / "app.pyz"
    assert cli("build", app_src, "-o", out, "--compression", "zstd") == 2
    err = capsys.readouterr().err
    assert err == f"zipimporter build: error: {messages.ZSTD_NEEDS_CODEC}\n"
    assert "pip install 'zipimporter[zstd]'" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [app_src]  # no temporary file left either


@needs_codec
def test_build_notes_that_running_needs_the_codec(app_src, tmp_path, capsys):
    out = tmp_path / "app.pyz"
    assert cli("build", app_src, "-o", out, "--compression", "zstd", "--main", "app.cli:main") == 0
    captured = capsys.readouterr()
    note = messages.ZSTD_NEEDS_CODEC_TO_RUN.format(count=6)
    assert captured.err == f"zipimporter build: note: {note}\n"
    assert captured.out.startswith(f"wrote {out}: ")
    # Other methods: no note.
    assert cli("build", app_src, "-o", out, "--compression", "bzip2") == 0
    assert capsys.readouterr().err == ""


@needs_codec
def test_verify_notes_zstd_without_failing_even_strict(app_src, tmp_path, capsys):
    out = tmp_path / "app.pyz"
    bundle.build([str(app_src)], str(out), compression="zstd", main="app.cli:main")
    note = messages.ZSTD_NEEDS_CODEC_TO_RUN.format(count=6)
    assert cli("verify", out) == 0
    assert capsys.readouterr().out == f"note: {out}: {note}\n{out}: OK (0 errors, 0 warnings)\n"
    assert cli("verify", "--strict", out) == 0
    capsys.readouterr()
    assert cli("verify", "--json", out) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["problems"] == [{"member": "", "problem": note, "severity": "note"}]


@needs_codec
def test_verify_warns_about_a_zstd_bundle_without_runtime(app_src, tmp_path, capsys):
    out = tmp_path / "app.pyz"
    bundle.build([str(app_src)], str(out), compression="zstd", main="app.cli:main", runtime=False)
    assert cli("verify", out) == 0
    lines = capsys.readouterr().out.splitlines()
    needs = messages.NEEDS_RUNTIME.format(count=5, methods="zstd")
    assert f"warning: {out}: {needs}" in lines
    assert cli("verify", "--strict", out) == 1  # the warning fails it, not the note


@needs_codec
def test_verify_without_codec_names_it_for_each_member(app_src, tmp_path, capsys, monkeypatch):
    out = tmp_path / "lib.zip"
    bundle.build([str(app_src)], str(out), compression="zstd")
    for name in ("compression.zstd", "backports.zstd"):
        monkeypatch.setitem(sys.modules, name, None)
    assert cli("verify", out) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert all(ZSTD_UNAVAILABLE in line for line in errors)


# -- running with a plain Python ---------------------------------------------------------


def plain_run(
    app: Path, tmp_path: Path, pythonpath: str | None
) -> subprocess.CompletedProcess[str]:
    extra = {} if pythonpath is None else {"PYTHONPATH": pythonpath}
    return run_plain(app, cache_dir=tmp_path / "cache", **extra)


@pytest.fixture
def codec_only(tmp_path: Path) -> str:
    """A PYTHONPATH directory holding backports.zstd only (this venv's, for this Python)."""
    import backports.zstd  # type: ignore[import-not-found,unused-ignore]

    holder = tmp_path / "codec"
    holder.mkdir()
    (holder / "backports").symlink_to(Path(backports.zstd.__file__).parent.parent)
    return str(holder)


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="3.14 has compression.zstd: a plain Python reads zstd"
)
@pytest.mark.skipif(CODEC is None, reason="backports.zstd is not installed")
def test_bundle_runs_with_a_plain_python_given_the_codec(app_src, tmp_path, codec_only):
    probe = subprocess.run(
        [PLAIN_PYTHON, "-c", "import zipimporter"], capture_output=True, env={}, check=False
    )
    if probe.returncode == 0:
        pytest.skip(f"{PLAIN_PYTHON} has zipimporter installed: can't test self-contained bundles")
    app = tmp_path / "app.pyz"
    bundle.build([str(app_src)], str(app), compression="zstd", main="app.cli:main")

    # Without a codec: one error naming what to install, from the runtime.
    run = plain_run(app, tmp_path, None)
    assert run.returncode == 1
    assert run.stdout == ""
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{runtime.RUNTIME_PACKAGE}.errors.ZipImportError: {ZSTD_UNAVAILABLE}")
    assert "pip install backports.zstd" in last

    # With backports.zstd importable (and still no zipimporter): the app runs through ours.
    run = plain_run(app, tmp_path, codec_only)
    assert run.returncode == 0, run.stderr
    loader, value, data = run.stdout.rstrip("\n").split(" ", 2)
    assert loader == f"{runtime.RUNTIME_PACKAGE}.importer.zipimporter"
    assert value == "zstd-zstd-zstd-"
    assert data.startswith("packed data")


# -- reading: bounded windows --------------------------------------------------------------


def _frame_asking_for_window(window_log: int, payload: bytes = b"hello") -> bytes:
    """A zstd frame whose header asks for a 2**window_log window, holding one raw block."""
    block = (1 | len(payload) << 3).to_bytes(3, "little")  # last block, raw
    return struct.pack("<IBB", 0xFD2FB528, 0, (window_log - 10) << 3) + block + payload


def _member_archive(tmp_path: Path, payload: bytes, data: bytes) -> str:
    """An archive with one zstd member ``blob.bin`` holding *payload* (which decodes to *data*)."""
    path = tmp_path / "w.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("blob.bin")
        zf.writestr(info, payload)
    raw = bytearray(path.read_bytes())
    crc = zlib.crc32(data)
    for sig, method_at, crc_at in ((b"PK\x03\x04", 8, 14), (b"PK\x01\x02", 10, 16)):
        at = raw.index(sig)
        struct.pack_into("<H", raw, at + method_at, ZSTD)
        struct.pack_into("<I", raw, at + crc_at, crc)
        struct.pack_into("<I", raw, at + crc_at + 8, len(data))  # uncompressed size
    path.write_bytes(bytes(raw))
    return str(path)


@needs_codec
def test_a_small_member_asking_for_a_huge_window_is_refused(tmp_path):
    path = _member_archive(tmp_path, _frame_asking_for_window(27), b"hello")
    with pytest.raises(zipimporter.ZipImportError, match="corrupt zstd data") as caught:
        zipimporter.zipimporter(path).get_data("blob.bin")
    assert caught.value.path == path
    assert "too much memory" in str(caught.value)


@needs_codec
def test_windows_zstd_levels_use_are_read(tmp_path):
    ok = _member_archive(tmp_path, _frame_asking_for_window(ZSTD_WINDOW_LOG), b"hello")
    assert zipimporter.zipimporter(ok).get_data("blob.bin") == b"hello"


@needs_codec
def test_a_big_member_may_ask_for_a_window_its_size(tmp_path):
    zstd = CODEC
    data = bytes(range(256)) * (40 << 10)  # 10 MiB: more than 2**ZSTD_WINDOW_LOG
    options = {zstd.CompressionParameter.window_log: 24}  # type: ignore[attr-defined]
    compressor = zstd.ZstdCompressor(options=options)  # type: ignore[attr-defined]
    payload = compressor.compress(data) + compressor.flush()  # streamed: no size in the frame
    assert zstd.get_frame_info(payload).decompressed_size is None  # type: ignore[attr-defined]
    path = _member_archive(tmp_path, payload, data)
    assert zipimporter.zipimporter(path).get_data("blob.bin") == data

"""Resources through our own reader: ``importlib.resources`` served from our index.

The comparison tests import the same package from the same archive through
the stdlib's zipimporter (whose reader is ``zipfile.Path``) and through ours,
make the same calls and expect the same results; then what only ours does:
zstd members, checked reads, an archive changed on disk.  Last,
``pkg_resources`` (setuptools < 81) in subprocesses.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from importlib.resources.abc import Traversable, TraversableResources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import zipimporter
from conftest import (
    SRC,
    Entry,
    both,
    make_zip,
    outcome,
    python_env,
    zip_bytes,
)
from zipimporter import resources

BINARY = bytes(range(256)) * 8

#: A package with explicit and implicit directories, an empty directory, a
#: subpackage, text with CRLF and latin-1, and a member outside the package.
MEMBERS: dict[str, bytes | str | Entry] = {
    "rr/__init__.py": "",
    "rr/a.txt": "alpha\n",
    "rr/crlf.txt": b"one\r\ntwo\rthree\n",
    "rr/latin.txt": "caf\u00e9 cr\u00e8me\n".encode("latin-1"),
    "rr/bin.dat": BINARY,
    "rr/bz.txt": Entry("bzip2 " * 200, compress_type=zipfile.ZIP_BZIP2),
    "rr/explicit/": b"",
    "rr/explicit/e.txt": "e\n",
    "rr/implicit/deep/d.txt": "d\n",
    "rr/implicit/i.txt": "i\n",
    "rr/empty/": b"",
    "rr/mod.py": "X = 1\n",
    "rr/sub/__init__.py": "",
    "rr/sub/s.txt": "s\n",
    "rr/archive.tar.gz": b"not really",
    "top.py": "Y = 2\n",
    "other/o.txt": "outside\n",
}

#: Paths below the package that the probes look at, existing or not.
PATHS = [
    "a.txt", "crlf.txt", "bin.dat", "bz.txt", "explicit", "explicit/e.txt", "implicit",
    "implicit/deep", "implicit/deep/d.txt", "empty", "sub", "sub/s.txt", "sub/__init__.py",
    "archive.tar.gz", "nope", "nope.txt", "nope/x.txt", "a.txt/x", "", "../other/o.txt",
]  # fmt: skip


@pytest.fixture
def rr_zip(tmp_path: Path) -> str:
    path = make_zip(tmp_path / "rr.zip", MEMBERS, compression=zipfile.ZIP_DEFLATED)
    sys.path.insert(0, path)
    return path


def each(paths: list[str], probe: Callable[[Traversable], Any]) -> Callable[[ModuleType], Any]:
    """A probe of a module: *probe* of ``files(module) / path`` for each of *paths*, by path."""

    def run(module: ModuleType) -> dict[str, Any]:
        root = importlib.resources.files(module)
        return {path: outcome(lambda p=path: probe(root.joinpath(p))) for path in paths}

    return run


def walk(node: Traversable, depth: int = 0) -> Iterator[tuple[int, str, bool, bool]]:
    """Every path below *node*, depth first, in iterdir() order."""
    for child in node.iterdir():
        yield depth, child.name, child.is_dir(), child.is_file()
        if child.is_dir():
            yield from walk(child, depth + 1)


# -- the same as the stdlib's reader ------------------------------------------------


def test_files_is_our_traversable(rr_zip, installed):
    root = importlib.resources.files("rr")
    assert type(root) is resources.ArchivePath
    assert isinstance(root, Traversable)
    reader = sys.modules["rr"].__spec__.loader.get_resource_reader("rr")
    assert isinstance(reader, TraversableResources)


def test_root(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        return root.name, root.is_dir(), root.is_file(), str(root)

    std, ours = both("rr", probe)
    assert ours == std
    assert ours[1] == ("rr", True, False, f"{rr_zip}/rr/")


def test_iterdir_in_the_same_order(rr_zip):
    def probe(module: ModuleType) -> list[tuple[str, bool, bool, str]]:
        root = importlib.resources.files(module)
        return [(p.name, p.is_dir(), p.is_file(), str(p)) for p in root.iterdir()]

    std, ours = both("rr", probe)
    assert ours == std
    names = [entry[0] for entry in ours[1]]
    # Members in archive order, then the implicit directories.
    assert names == [
        "__init__.py", "a.txt", "crlf.txt", "latin.txt", "bin.dat", "bz.txt", "explicit",
        "empty", "mod.py", "archive.tar.gz", "implicit", "sub",
    ]  # fmt: skip


def test_walk_whole_tree(rr_zip):
    std, ours = both("rr", lambda module: list(walk(importlib.resources.files(module))))
    assert ours == std
    assert (2, "d.txt", False, True) in ours[1]


@pytest.mark.parametrize(
    "label, probe",
    [
        ("kind", lambda p: (p.is_dir(), p.is_file())),
        ("name", lambda p: p.name),
        ("str", str),
        ("suffixes", lambda p: (p.suffix, p.suffixes, p.stem)),
        ("parent", lambda p: (str(p.parent), p.parent.name)),
        ("read_bytes", lambda p: p.read_bytes()),
        ("read_text", lambda p: p.read_text(encoding="utf-8")),
        ("iterdir", lambda p: sorted(c.name for c in p.iterdir())),
        ("open_rb", lambda p: p.open("rb").read()),
        ("open_r", lambda p: p.open("r", encoding="utf-8").read()),
    ],
)
def test_each_path(rr_zip, label, probe):
    std, ours = both("rr", each(PATHS, probe))
    assert ours == std
    assert ours[0] == "ok"


def test_exists(rr_zip):
    def probe(module: ModuleType) -> dict[str, bool]:
        root = importlib.resources.files(module)
        return {p: root.joinpath(p).exists() for p in PATHS if p}

    std, ours = both("rr", probe)
    assert ours == std
    assert ours[1]["implicit/deep"] and not ours[1]["nope"]


def test_equality(rr_zip, installed):
    """As 3.12+'s zipfile.Path (3.11's compares by identity)."""
    root = importlib.resources.files("rr")
    a, b = root / "implicit" / "deep", root.joinpath("implicit/deep")
    assert a == b and hash(a) == hash(b)
    assert a != root / "implicit"
    assert a == importlib.resources.files("rr").joinpath("implicit", "deep")
    assert repr(a) == f"ArchivePath({sys.path[0]!r}, 'rr/implicit/deep/')"


def test_joinpath_several_parts(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        return (
            root.joinpath("implicit", "deep", "d.txt").read_text(encoding="utf-8"),
            root.joinpath("implicit/deep", "d.txt").read_bytes(),
            (root / "explicit" / "e.txt").read_text(encoding="utf-8"),
            root.joinpath().is_dir(),
            root.joinpath(Path("implicit"), "i.txt").read_text(encoding="utf-8"),
            root.joinpath("implicit", "deep").is_dir(),
        )

    std, ours = both("rr", probe)
    assert ours == std == ("ok", ("d\n", b"d\n", "e\n", True, "i\n", True))


def test_text_decoding(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        latin = root / "latin.txt"
        with (root / "crlf.txt").open("r", encoding="ascii", newline="") as stream:
            raw_newlines = stream.read()
        with latin.open("r", encoding="utf-8", errors="replace") as stream:
            replaced = stream.read()
        return (
            (root / "crlf.txt").read_text(encoding="ascii"),
            raw_newlines,
            latin.read_text(encoding="latin-1"),
            latin.read_text("latin-1"),
            replaced,
            latin.read_text("utf-8", "ignore"),
            outcome(lambda: latin.read_text(encoding="utf-8")),
        )

    std, ours = both("rr", probe)
    assert ours == std
    assert ours[1][:2] == ("one\ntwo\nthree\n", "one\r\ntwo\rthree\n")
    assert ours[1][6] == ("raises", "UnicodeDecodeError")


def test_open_errors(rr_zip):
    def probe(module: ModuleType) -> dict[str, tuple[str, Any]]:
        root = importlib.resources.files(module)
        return {
            "dir": outcome(lambda: root.joinpath("explicit").open("rb")),
            "implicit dir": outcome(lambda: root.joinpath("implicit").read_bytes()),
            "missing": outcome(lambda: root.joinpath("nope.txt").open("r", encoding="utf-8")),
            "binary with encoding": outcome(lambda: root.joinpath("a.txt").open("rb", "utf-8")),
            "iterdir of a file": outcome(lambda: list(root.joinpath("a.txt").iterdir())),
            "iterdir of nothing": outcome(lambda: list(root.joinpath("nope").iterdir())),
        }

    std, ours = both("rr", probe)
    assert ours == std
    assert ours[1] == {
        "dir": ("raises", "IsADirectoryError"),
        "implicit dir": ("raises", "IsADirectoryError"),
        "missing": ("raises", "FileNotFoundError"),
        "binary with encoding": ("raises", "ValueError"),
        "iterdir of a file": ("raises", "ValueError"),
        "iterdir of nothing": ("raises", "ValueError"),
    }


def test_open_for_writing_is_refused(rr_zip, installed):
    resource = importlib.resources.files("rr") / "a.txt"
    with pytest.raises(ValueError, match=r"can only be read: mode 'w'"):
        resource.open("w")


def test_open_binary_stream(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        with (importlib.resources.files(module) / "bin.dat").open("rb") as stream:
            head = stream.read(10)
            stream.seek(256)
            return head, stream.read(3), stream.seekable(), stream.name

    std, ours = both("rr", probe)
    assert ours == std == ("ok", (BINARY[:10], b"\x00\x01\x02", True, "rr/bin.dat"))


def test_as_file_of_a_file(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        resource = importlib.resources.files(module) / "bz.txt"
        with importlib.resources.as_file(resource) as path:
            inside = (path.is_file(), path.read_bytes(), path.name.endswith("bz.txt"))
        return inside, path.exists()

    std, ours = both("rr", probe)
    assert ours == std == ("ok", ((True, b"bzip2 " * 200, True), False))


def test_as_file_of_a_directory(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        with importlib.resources.as_file(root) as path:
            tree = sorted(
                (str(p.relative_to(path)), p.read_bytes() if p.is_file() else None)
                for p in path.rglob("*")
            )
            name = path.name
        return name, tree, path.exists()

    std, ours = both("rr", probe)
    assert ours == std
    if sys.version_info < (3, 12):
        # 3.11's as_file() makes a temporary file of anything: a directory can't be read.
        assert ours == ("raises", "IsADirectoryError")
    else:
        name, tree, exists_after = ours[1]
        assert name == "rr" and not exists_after
        assert ("implicit/deep/d.txt", b"d\n") in tree
        assert ("empty", None) in tree


def test_reader_methods(rr_zip):
    def probe(module: ModuleType) -> tuple[Any, ...]:
        reader = module.__spec__.loader.get_resource_reader(module.__name__)
        return (
            sorted(reader.contents()),
            [reader.is_resource(p) for p in ("a.txt", "explicit", "nope", "implicit/i.txt")],
            reader.open_resource("a.txt").read(),
            outcome(lambda: reader.open_resource("nope.txt")),
            outcome(lambda: reader.resource_path("a.txt")),
        )

    std, ours = both("rr", probe)
    assert ours == std
    assert ours[1][1:] == (
        [True, False, False, True],
        b"alpha\n",
        ("raises", "FileNotFoundError"),
        ("raises", "FileNotFoundError"),
    )


def test_subpackage(rr_zip):
    std, ours = both("rr.sub", lambda m: list(walk(importlib.resources.files(m))))
    assert ours == std == ("ok", [(0, "__init__.py", False, True), (0, "s.txt", False, True)])


@pytest.mark.parametrize("name", ["rr.mod", "top"])
def test_files_of_a_module(rr_zip, name):
    """3.13: a module's resources are the directory holding it; 3.11/3.12: none."""

    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        return root.name, root.is_dir(), sorted(p.name for p in root.iterdir())

    std, ours = both(name, probe)
    assert ours == std
    if sys.version_info >= (3, 13):
        expected = "rr" if name == "rr.mod" else "rr.zip"
        assert ours[0] == "ok" and ours[1][0] == expected
        assert ("a.txt" if name == "rr.mod" else "other") in ours[1][2]


def test_archive_with_a_prefix(tmp_path):
    """An importer path inside the archive (``lib.zip/lib``)."""
    members = {"lib/pp/__init__.py": "", "lib/pp/data/x.txt": "x\n", "pp/wrong.txt": "no\n"}
    archive = make_zip(tmp_path / "lib.zip", members)
    sys.path.insert(0, os.path.join(archive, "lib"))

    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        return str(root), list(walk(root)), (root / "data" / "x.txt").read_text(encoding="utf-8")

    std, ours = both("pp", probe)
    assert ours == std
    assert ours[1][1:] == (
        [(0, "__init__.py", False, True), (0, "data", True, False), (1, "x.txt", False, True)],
        "x\n",
    )


def test_implicit_directories_of_a_wheel(tmp_path):
    """A wheel has no directory entries at all: every directory is implied."""
    members = {
        "ww/__init__.py": "",
        "ww/zoneinfo/Europe/London": b"TZif...",
        "ww/zoneinfo/Europe/Paris": b"TZif!!!",
        "ww/zoneinfo/UTC": b"TZifU",
        "ww-1.0.dist-info/METADATA": "Name: ww\n",
    }
    archive = make_zip(tmp_path / "ww-1.0-py3-none-any.whl", members)
    sys.path.insert(0, archive)

    def probe(module: ModuleType) -> tuple[Any, ...]:
        root = importlib.resources.files(module)
        europe = root.joinpath("zoneinfo", "Europe")
        return (
            list(walk(root)),
            europe.is_dir(),
            (europe / "Paris").read_bytes(),
            sorted(p.name for p in europe.iterdir()),
        )

    std, ours = both("ww", probe)
    assert ours == std
    assert ours[1][1:] == (True, b"TZif!!!", ["London", "Paris"])


def test_functional_api(rr_zip):
    """3.13's importlib.resources.read_text(anchor, *path_names) and friends."""
    if sys.version_info < (3, 13):
        pytest.skip("importlib.resources' functional API with path names is 3.13's")

    def probe(module: ModuleType) -> tuple[Any, ...]:
        res: Any = importlib.resources
        return (
            res.read_text(module, "implicit", "deep", "d.txt", encoding="utf-8"),
            res.read_binary(module, "bin.dat"),
            res.is_resource(module, "explicit", "e.txt"),
            res.is_resource(module, "explicit"),
        )

    std, ours = both("rr", probe)
    assert ours == std == ("ok", ("d\n", BINARY, True, False))


#: Run with ``-I -S`` (only the stdlib and SRC): files() of a package, a walk,
#: reads and as_file(); prints whether zipfile or importlib.readers got imported.
NO_ZIPFILE = """\
import sys
sys.path.insert(0, {src!r})
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "ours":
    import zipimporter
    zipimporter.install()
import importlib.resources
root = importlib.resources.files("rr")
names = [p.name for p in root.iterdir()]
data = root.joinpath("implicit", "deep", "d.txt").read_bytes()
with importlib.resources.as_file(root / "a.txt") as path:
    real = path.read_bytes()
print("zipfile" in sys.modules, "importlib.readers" in sys.modules, data == b"d\\n", real)
"""


@pytest.mark.parametrize("who", ["std", "ours"])
def test_no_zipfile_on_our_path(rr_zip, tmp_path, who):
    """Ours never builds a zipfile.Path: zipfile is not even imported (the stdlib's is)."""
    script = tmp_path / "no_zipfile.py"
    script.write_text(NO_ZIPFILE.format(src=SRC))
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(script), who, rr_zip],
        capture_output=True, text=True, env=python_env(tmp_path), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = "True True True b'alpha\\n'" if who == "std" else "False False True b'alpha\\n'"
    assert done.stdout.strip() == expected


# -- deliberate differences ------------------------------------------------------


def test_a_missing_path_is_never_a_directory(rr_zip, installed):
    """zipfile.Path calls any path ending in '/' a directory; we call it missing."""
    root = importlib.resources.files("rr")
    missing = root.joinpath("nope/")
    assert (missing.is_dir(), missing.is_file(), missing.exists()) == (False, False, False)
    with pytest.raises(FileNotFoundError):
        missing.read_bytes()
    assert root.joinpath("explicit/").is_dir()


# -- what only ours does -----------------------------------------------------------


def _zstd_zipfile() -> Any:
    """A zipfile module that writes zstd members, or skip (3.14's own, or backports.zstd's)."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # noqa: F401

        return zipfile
    except ImportError:
        pass
    try:
        from backports.zstd import zipfile as zstd_zipfile  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("no zstd codec: needs Python 3.14 or backports.zstd (the zstd extra)")
    return zstd_zipfile


def test_zstd_members_are_read(tmp_path, installed):
    zf_module = _zstd_zipfile()
    path = tmp_path / "zz.zip"
    text = "compressed with zstd\n" * 100
    with zf_module.ZipFile(path, "w") as zf:
        zf.writestr("zz/__init__.py", "")
        zf.writestr("zz/data.txt", text, compress_type=zf_module.ZIP_ZSTANDARD)
        zf.writestr("zz/deep/more.bin", BINARY, compress_type=zf_module.ZIP_ZSTANDARD)
    sys.path.insert(0, str(path))
    root = importlib.resources.files("zz")
    assert (root / "data.txt").read_text(encoding="utf-8") == text
    assert root.joinpath("deep", "more.bin").read_bytes() == BINARY
    with importlib.resources.as_file(root / "data.txt") as real:
        assert real.read_text(encoding="utf-8") == text
    # The stdlib's reader, zipfile.Path, can't read it (3.11-3.13).
    if sys.version_info < (3, 14):
        std = zipfile.Path(str(path), "zz/data.txt")
        with pytest.raises(NotImplementedError):
            std.read_bytes()


def test_a_damaged_member_is_an_import_error_naming_the_archive(tmp_path, installed):
    data = bytearray(zip_bytes({"dd/__init__.py": "", "dd/data.txt": "precious data\n"}))
    at = data.index(b"precious")
    data[at] ^= 0x20  # 'p' -> 'P': the CRC-32 no longer matches
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    sys.path.insert(0, str(path))
    resource = importlib.resources.files("dd") / "data.txt"
    assert resource.is_file()
    with pytest.raises(zipimporter.ZipImportError, match="CRC") as caught:
        resource.read_bytes()
    assert caught.value.path == str(path)


def test_archive_changed_on_disk(tmp_path, installed):
    path = tmp_path / "changing.zip"
    make_zip(path, {"cc/__init__.py": "", "cc/old.txt": "old\n"})
    sys.path.insert(0, str(path))
    first = importlib.resources.files("cc")
    assert sorted(p.name for p in first.iterdir()) == ["__init__.py", "old.txt"]
    # Rewritten with other contents (a different size, so a different stat).
    make_zip(path, {"cc/__init__.py": "", "cc/old.txt": "rewritten\n", "cc/new.txt": "new!\n"})
    again = importlib.resources.files("cc")
    assert sorted(p.name for p in again.iterdir()) == ["__init__.py", "new.txt", "old.txt"]
    assert (again / "new.txt").read_text(encoding="utf-8") == "new!\n"
    # A Traversable from before reads the archive as it is now.
    assert (first / "old.txt").read_text(encoding="utf-8") == "rewritten\n"
    # A member gone since files() was called is not found, not read from old offsets.
    make_zip(path, {"cc/__init__.py": ""})
    with pytest.raises(FileNotFoundError):
        (again / "new.txt").read_bytes()


def test_archive_removed(tmp_path, installed):
    """Reading, or a new files(), says the archive can't be read (and names it)."""
    path = tmp_path / "gone.zip"
    make_zip(path, {"gg/__init__.py": "", "gg/x.txt": "x\n"})
    sys.path.insert(0, str(path))
    module = importlib.import_module("gg")
    reader = module.__spec__.loader.get_resource_reader("gg")
    root = reader.files()
    path.unlink()
    with pytest.raises(zipimporter.ZipImportError) as caught:
        (root / "x.txt").read_bytes()
    assert caught.value.path == str(path)
    module.__spec__.loader.invalidate_caches()  # the index goes; the archive can't be reopened
    with pytest.raises(zipimporter.ZipImportError) as caught:
        reader.files()
    assert caught.value.path == str(path)


# -- pkg_resources -------------------------------------------------------------


@pytest.fixture(scope="session")
def pkg_resources_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sys.path entry that has ``pkg_resources`` (setuptools < 81), or skip.

    The test environment's own setuptools if it still ships pkg_resources,
    else ``pip install --target`` into a temporary directory.
    """
    where = "import setuptools, os; print(os.path.dirname(setuptools.__path__[0]))"
    probe = subprocess.run(
        [sys.executable, "-c", where], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0:
        site = probe.stdout.strip()
        if os.path.isfile(os.path.join(site, "pkg_resources", "__init__.py")):
            return site
    target = tmp_path_factory.mktemp("setuptools")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--target", str(target), "setuptools<81"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if installed.returncode != 0:
        reason = (installed.stderr.strip().splitlines() or ["pip failed"])[-1]
        print(f"skipping pkg_resources tests: can't install setuptools<81: {reason}")
        pytest.skip(f"can't install setuptools<81 for pkg_resources: {reason}")
    return str(target)


#: Probes run in a fresh interpreter: argv = mode, pkg_resources' path, the egg, the zip.
PKG_RESOURCES_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    mode, site, egg, plain = sys.argv[1:5]
    sys.path[:0] = [egg, plain]
    sys.path.append(site)
    if mode == "ours-before":
        import zipimporter
        zipimporter.install()
        import pkg_resources as pr
    elif mode == "ours-after":
        import pkg_resources as pr
        import zipimporter
        zipimporter.install()
    else:
        import pkg_resources as pr
    import eggpkg, plainpkg

    def outcome(func):
        try:
            return ["ok", func()]
        except Exception as exc:
            return ["raises", type(exc).__name__]

    cache = os.environ["PYTHON_EGG_CACHE"]

    def extracted(name, resource):
        path = pr.resource_filename(name, resource)
        if not path.startswith(cache):
            return ["not extracted", path]
        if os.path.isdir(path):
            return [os.path.relpath(path, cache), "dir", sorted(os.listdir(path))]
        with open(path, "rb") as f:
            return [os.path.relpath(path, cache), "file", f.read().decode()]

    def dist(name):
        found = pr.get_distribution(name)
        return [found.version, os.path.basename(found.location)]

    def text(name, resource):
        return pr.resource_string(name, resource).decode()

    # What pkg_resources found when imported (before get_distribution adds more).
    at_start = sorted(d.project_name for d in pr.working_set if d.project_name.endswith("dist"))
    results = {
        "loader": type(eggpkg.__loader__).__module__,
        "string": outcome(lambda: text("eggpkg", "data.txt")),
        "stream": outcome(lambda: pr.resource_stream("eggpkg", "sub/inner.txt").read()),
        "exists": [pr.resource_exists("eggpkg", r) for r in ("data.txt", "sub", "nope")],
        "isdir": outcome(
            lambda: [pr.resource_isdir("eggpkg", r) for r in ("sub", "data.txt", "nope", "")]
        ),
        "listdir": outcome(lambda: sorted(pr.resource_listdir("eggpkg", ""))),
        "listdir sub": outcome(lambda: sorted(pr.resource_listdir("eggpkg", "sub"))),
        "filename": outcome(lambda: extracted("eggpkg", "data.txt")),
        "filename dir": outcome(lambda: extracted("eggpkg", "sub")),
        "plain isdir": outcome(lambda: pr.resource_isdir("plainpkg", "res")),
        "plain string": outcome(lambda: text("plainpkg", "res/r.txt")),
        "plain filename": outcome(lambda: pr.resource_filename("plainpkg", "res/r.txt")),
        "egg dist": outcome(lambda: dist("eggdist")),
        "plain dist": outcome(lambda: dist("plaindist")),
        "working set": at_start,
        "watching": [type(f).__name__ for f in sys.meta_path if "Watch" in type(f).__name__],
    }
    if mode != "std":
        results["zstd"] = outcome(lambda: text("eggpkg", "packed.txt"))
    print(json.dumps(results, default=bytes.decode))
    """
)


@pytest.fixture(scope="module")
def pkg_resources_archives(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """An egg (EGG-INFO, with a zstd member if a codec is there) and a zip holding a .dist-info."""
    where = tmp_path_factory.mktemp("eggs")
    egg = where / f"eggdist-1.5-py{sys.version_info[0]}.{sys.version_info[1]}.egg"
    members = {
        "EGG-INFO/PKG-INFO": "Metadata-Version: 1.1\nName: eggdist\nVersion: 1.5\n",
        "EGG-INFO/top_level.txt": "eggpkg\n",
        "eggpkg/__init__.py": "",
        "eggpkg/data.txt": "egg data\n",
        "eggpkg/sub/inner.txt": "inner\n",
        "eggpkg/sub/deeper/x.txt": "x\n",
    }
    make_zip(egg, members, compression=zipfile.ZIP_DEFLATED)
    try:
        from backports.zstd import zipfile as zstd_zipfile  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        with zstd_zipfile.ZipFile(egg, "a") as zf:
            zf.writestr("eggpkg/packed.txt", "zstd data\n", zstd_zipfile.ZIP_ZSTANDARD)
    plain = make_zip(
        where / "plain.zip",
        {
            "plaindist-2.0.dist-info/METADATA": "Name: plaindist\nVersion: 2.0\n",
            "plaindist-2.0.dist-info/top_level.txt": "plainpkg\n",
            "plainpkg/__init__.py": "",
            "plainpkg/res/r.txt": "plain resource\n",
        },
    )
    return str(egg), plain


def _run_pkg_resources(mode: str, site: str, archives: tuple[str, str], cache: Path) -> Any:
    env = python_env(cache / "zipimporter", PYTHON_EGG_CACHE=str(cache / "eggs"))
    done = subprocess.run(
        [sys.executable, "-c", PKG_RESOURCES_SCRIPT, mode, site, *archives],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("mode", ["ours-before", "ours-after"])
def test_pkg_resources_as_with_the_stdlib(
    pkg_resources_path, pkg_resources_archives, tmp_path, mode
):
    """resource_* and get_distribution give what they give with the stdlib's importer.

    ``ours-before``: installed, then pkg_resources imported (our watch
    registers us after it ran, and adds the egg its working set missed);
    ``ours-after``: pkg_resources imported first, then installed.
    """
    std = _run_pkg_resources("std", pkg_resources_path, pkg_resources_archives, tmp_path / "s")
    ours = _run_pkg_resources(mode, pkg_resources_path, pkg_resources_archives, tmp_path / "o")
    assert std.pop("loader") == "zipimport"
    assert ours.pop("loader") == "zipimporter.importer"
    zstd = ours.pop("zstd")
    assert ours.pop("watching") == std.pop("watching") == []  # the watch is gone once it served
    assert ours == std
    assert std["isdir"] == ["ok", [True, False, False, True]]
    assert std["filename"][1][1:] == ["file", "egg data\n"]
    assert std["filename dir"][1][1:] == ["dir", ["deeper", "inner.txt"]]
    assert std["egg dist"] == ["ok", ["1.5", os.path.basename(pkg_resources_archives[0])]]
    assert std["plain dist"] == ["ok", ["2.0", "plain.zip"]]
    assert std["working set"] == ["eggdist"]
    if zstd[0] == "ok" or "backports.zstd" in sys.modules:
        assert zstd == ["ok", "zstd data\n"]


def test_pkg_resources_is_not_imported_by_us(tmp_path):
    """install() leaves pkg_resources alone; uninstall() stops waiting for it."""
    code = (
        "import sys, zipimporter; zipimporter.install(); "
        "watching = [type(f).__name__ for f in sys.meta_path "
        "            if 'PkgResources' in type(f).__name__]; "
        "zipimporter.uninstall(); "
        "left = [f for f in sys.meta_path if 'PkgResources' in type(f).__name__]; "
        "print('pkg_resources' in sys.modules, watching, left)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, env=python_env(tmp_path), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "['_PkgResourcesWatch']", "[]"]

"""Archives as tools write them: implicit directories and ``__pycache__`` layouts.

Implicit directories (a directory that exists only as a prefix of member
names, as ``zipfile.writestr``, wheels and most build tools write them) are
namespace portions and importer prefixes, as with CPython 3.14's zipimport
(gh-59110); the tests marked "3.14" are CPython 3.14's own ``test_zipimport``
expectations for that fix, ported.  ``__pycache__/<name>.<cache tag>.pyc``
beside a source member is used instead of compiling it, as ``FileFinder``
uses a source file's cache.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import os
import pkgutil
import sys
import traceback
import zipfile
import zipimport
from pathlib import Path

import pytest

import zipimporter
from conftest import (
    DATE_TIME,
    Entry,
    dos_mtime,
    forget,
    import_fresh,
    make_zip,
    pyc,
    run_python,
)
from zipimporter import bytecode, bytecode_cache
from zipimporter.archive import read_directory

SEP = os.sep
TAG = sys.implementation.cache_tag
STDLIB_HAS_IMPLICIT_DIRS = sys.version_info >= (3, 14)
TEST_SRC = "import sys\nvalue = 'source'\n"


def writestr_zip(path: Path, members: dict[str, str | bytes]) -> str:
    """An archive written with ``zipfile.writestr`` and no directory entries (as wheels are)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


# -- implicit directories: CPython 3.14's expectations ------------------------------------


def _check_package(path: str, initfile: str | None) -> None:
    """CPython 3.14 ``test_zipimport._testPackage``: ``a/b`` in *path*, imported as ``a.b``."""
    zi = zipimporter.zipimporter(os.path.join(path, "a"))
    if initfile is None:
        for method in (zi.is_package, zi.get_source, zi.get_code):
            with pytest.raises(zipimporter.ZipImportError):
                method("b")
    else:
        assert zi.is_package("b")
        assert zi.get_source("b") == TEST_SRC
        assert zi.get_code("b").co_filename == os.path.join(path, "a", "b", initfile)
    sys.path.insert(0, path)
    with zipimporter.install():
        mod = importlib.import_module("a.b")
        assert sys.modules["a.b"] is mod
        if initfile is None:
            assert mod.__file__ is None
        else:
            assert mod.__file__ == os.path.join(path, "a", "b", initfile)
        assert list(mod.__path__) == [os.path.join(path, "a", "b")]
        mod2 = importlib.import_module("a.b.c.d")
    assert mod.c.d is mod2
    assert mod2.__file__ == os.path.join(path, "a", "b", "c", "d.py")


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit-dirs", "implicit-dirs"])
def test_package_with_or_without_directory_entries(tmp_path, explicit):
    """3.14: testPackageExplicitDirectories / testPackageImplicitDirectories."""
    members: dict[str, str | bytes] = {}
    for name in ("a/__init__.py", "a/b/__init__.py", "a/b/c/__init__.py", "a/b/c/d.py"):
        if explicit and name.endswith("__init__.py"):
            members[name.rpartition("/")[0] + "/"] = b""
        members[name] = TEST_SRC
    path = writestr_zip(tmp_path / "pkg.zip", members)
    forget("a")
    _check_package(path, "__init__.py")


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit-dirs", "implicit-dirs"])
def test_namespace_package_with_or_without_directory_entries(tmp_path, explicit):
    """3.14: testNamespacePackageExplicitDirectories / testNamespacePackageImplicitDirectories."""
    members: dict[str, str | bytes] = {"a/b/c/d.py": TEST_SRC}
    if explicit:
        members = {"a/": b"", "a/b/": b"", "a/b/c/": b"", **members}
    path = writestr_zip(tmp_path / "ns.zip", members)
    forget("a")
    _check_package(path, None)


def test_stdlib_misses_the_implicit_namespace_package(tmp_path):
    """Why this matters: on 3.11-3.13 the stdlib imports nothing from a wheel-style namespace."""
    path = writestr_zip(tmp_path / "ns.zip", {"a/b/c/d.py": TEST_SRC})
    sys.path.insert(0, path)
    if STDLIB_HAS_IMPLICIT_DIRS:
        pytest.skip("the stdlib finds implicit directories from 3.14 on")
    with pytest.raises(ModuleNotFoundError):
        import_fresh("a.b.c.d", ours=False)
    assert import_fresh("a.b.c.d", ours=True).__file__ == os.path.join(path, "a", "b", "c", "d.py")


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit-dirs", "implicit-dirs"])
def test_get_data_of_directories(tmp_path, explicit):
    """3.14: testGetDataExplicitDirectories / testGetDataImplicitDirectories."""
    data = bytes(range(256))
    members: dict[str, str | bytes] = {"a/b/c/testdata.dat": data}
    if explicit:
        members = {"a/": b"", "a/b/": b"", "a/b/c/": b"", **members}
    path = writestr_zip(tmp_path / "data.zip", members)
    zi = zipimporter.zipimporter(os.path.join(path, "ignored"))
    pathname = os.path.join("a", "b", "c", "testdata.dat")
    assert zi.get_data(pathname) == data
    assert zi.get_data(os.path.join(path, pathname)) == data
    assert zi.get_data(os.path.join("a", "b", "")) == b""
    assert zi.get_data(os.path.join(path, "a", "b", "")) == b""
    with pytest.raises(OSError):
        zi.get_data(os.path.join("a", "b"))
    with pytest.raises(OSError):
        zi.get_data(os.path.join(path, "a", "b"))


def test_import_submodules_in_zip(tmp_path):
    """3.14 (gh-121233): an implicit directory between two packages is a namespace portion."""
    path = writestr_zip(
        tmp_path / "sub.zip", {"a/__init__.py": "", "a/b/c/__init__.py": 'def foo(): return "foo"'}
    )
    importer = zipimporter.zipimporter(path + "/a/")
    spec = importer.find_spec("a.b")
    assert spec.loader is None
    assert spec.submodule_search_locations == [(path + "/a/b").replace("/", SEP)]
    with pytest.raises(zipimporter.ZipImportError):
        importer.get_code("a.b")
    assert importer.get_data("a/b/".replace("/", SEP)) == b""
    sys.path.insert(0, path)
    forget("a")
    with zipimporter.install():
        assert importlib.import_module("a.b.c").foo() == "foo"


def test_cpython_missing_directory_zip_imports():
    """CPython's own ``missing_directory.zip`` (test_importlib's ZipWithMissingDirectory, an
    expected failure on 3.11-3.13, fixed in 3.14): ``foo/one.py`` with no ``foo/`` entry."""
    import test.test_importlib as tests

    path = os.path.join(os.path.dirname(tests.__file__), "namespace_pkgs", "missing_directory.zip")
    if not os.path.exists(path):
        pytest.skip("this Python has no test_importlib data")
    sys.path.insert(0, path)
    forget("foo", "bar")
    with zipimporter.install():
        one = importlib.import_module("foo.one")
        two = importlib.import_module("bar.two")
    assert one.__file__ == os.path.join(path, "foo", "one.py")
    assert two.attr == "missing_directory foo two"


# -- implicit directories: the rest of the importer ---------------------------------------


def test_implicit_directory_is_an_importer_prefix(tmp_path):
    path = writestr_zip(
        tmp_path / "wheel.zip",
        {"ns/sub/mod.py": "value = 'mod'\n", "ns/pkg/__init__.py": "value = 'pkg'\n"},
    )
    zi = zipimporter.zipimporter(os.path.join(path, "ns"))
    assert (zi.archive, zi.prefix) == (path, "ns" + SEP)
    assert zi.find_spec("ns.pkg").origin == os.path.join(path, "ns", "pkg", "__init__.py")
    sub = zi.find_spec("ns.sub")
    assert sub.loader is None
    assert sub.submodule_search_locations == [os.path.join(path, "ns", "sub")]
    deep = zipimporter.zipimporter(os.path.join(path, "ns", "sub"))
    assert deep.find_spec("ns.sub.mod").origin == os.path.join(path, "ns", "sub", "mod.py")
    assert zi.find_spec("ns.nope") is None


def test_namespace_portions_from_two_archives(tmp_path):
    one = writestr_zip(tmp_path / "one.zip", {"nsx/a.py": "value = 'a'\n"})
    two = writestr_zip(tmp_path / "two.zip", {"nsx/b.py": "value = 'b'\n"})
    sys.path[:0] = [one, two]
    forget("nsx")
    with zipimporter.install():
        a = importlib.import_module("nsx.a")
        b = importlib.import_module("nsx.b")
        nsx = sys.modules["nsx"]
    assert (a.value, b.value) == ("a", "b")
    assert list(nsx.__path__) == [os.path.join(one, "nsx"), os.path.join(two, "nsx")]


def test_pkgutil_lists_an_implicit_namespace(tmp_path):
    path = writestr_zip(
        tmp_path / "ns.zip",
        {"nsp/mod.py": "", "nsp/pkg/__init__.py": "", "nsp/deeper/x.py": "", "top.py": ""},
    )
    sys.path.insert(0, path)
    forget("nsp")
    with zipimporter.install():
        nsp = importlib.import_module("nsp")
        found = sorted((m.name, m.ispkg) for m in pkgutil.iter_modules(nsp.__path__, "nsp."))
        top = sorted(m.name for m in pkgutil.iter_modules([path]))
    # Namespace portions are not listed, as pkgutil lists neither the stdlib's nor
    # FileFinder's; their modules are, through the portion's path.
    assert found == [("nsp.mod", False), ("nsp.pkg", True)]
    assert top == ["top"]


def test_resources_below_implicit_directories(tmp_path):
    path = writestr_zip(
        tmp_path / "res.zip",
        {
            "respkg/__init__.py": "",
            "respkg/data/one.txt": "one\n",
            "respkg/data/deep/two.txt": "two\n",
        },
    )
    sys.path.insert(0, path)
    forget("respkg")
    with zipimporter.install():
        files = importlib.resources.files(importlib.import_module("respkg"))
        data = files / "data"
        assert data.is_dir()
        assert sorted(p.name for p in data.iterdir()) == ["deep", "one.txt"]
        assert (data / "deep").is_dir()
        assert (data / "deep" / "two.txt").read_text() == "two\n"


def test_index_lists_members_only_and_derives_directories_when_first_missed(tmp_path):
    """Keys are the central directory's, as the stdlib's on 3.11-3.13 (its tests compare
    them); the implicit directories come from the names only when a lookup misses."""
    path = writestr_zip(tmp_path / "keys.zip", {"a/b/c.py": "", "a/d/": b"", "e.py": ""})
    index = read_directory(path)
    assert sorted(index) == sorted([f"a{SEP}b{SEP}c.py", f"a{SEP}d{SEP}", "e.py"])
    assert index._dirs is None
    assert index.is_dir(f"a{SEP}d{SEP}")  # an entry: no need to derive anything
    assert index._dirs is None
    assert index.is_dir(f"a{SEP}b{SEP}")
    assert index.is_dir(f"a{SEP}")
    assert not index.is_dir(f"a{SEP}b{SEP}c.py{SEP}")
    assert not index.is_dir(f"e{SEP}")
    assert not index.is_dir(f"b{SEP}")
    assert f"a{SEP}" not in index  # still not a member


def test_index_of_an_open_archive_derives_no_directories(tmp_path):
    path = writestr_zip(tmp_path / "lazy.zip", {"ns/mod.py": "value = 1\n", "top.py": ""})
    sys.path.insert(0, path)
    forget("top")
    with zipimporter.install():
        importlib.import_module("top")  # a hit: nothing derived
    assert zipimporter._zip_directory_cache[path]._dirs is None


@pytest.mark.parametrize(
    ("name", "cp437"),
    [("paquet_é/mod.py", False), ("paquet_é/mod.py", True), ("ünï/a/mod.py", False)],
)
def test_non_ascii_implicit_directories(tmp_path, name, cp437):
    path = make_zip(tmp_path / "names.zip", {name: Entry("value = 1\n", cp437=cp437)})
    index = read_directory(path)
    parts = name.split("/")
    for i in range(1, len(parts)):
        assert index.is_dir(SEP.join(parts[:i]) + SEP)
    top = parts[0]
    spec = zipimporter.zipimporter(path).find_spec(top)
    assert spec is not None and spec.loader is None


def test_undecodable_name_implies_no_directory(tmp_path):
    info = zipfile.ZipInfo("placeholder/m.py", DATE_TIME)
    info.flag_bits |= 0x800  # flagged UTF-8, but won't be
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, b"")
        zf.writestr("good/m.py", b"")
    path.write_bytes(path.read_bytes().replace(b"placeholder", b"bad\xff\xfeholder"))
    index = read_directory(str(path))
    assert index.is_dir(f"good{SEP}")
    assert not index.is_dir(f"bad{SEP}")
    assert zipimporter.zipimporter(str(path)).find_spec("good").loader is None


def test_directory_with_stdlib_only_sees_explicit_entries(tmp_path):
    """The stdlib keeps its behaviour: only explicit entries (the difference is ours)."""
    path = writestr_zip(tmp_path / "std.zip", {"implicit/mod.py": "", "explicit/": b""})
    std = zipimport.zipimporter(path)
    ours = zipimporter.zipimporter(path)
    assert std.find_spec("explicit").submodule_search_locations == [os.path.join(path, "explicit")]
    assert ours.find_spec("explicit").submodule_search_locations == [os.path.join(path, "explicit")]
    assert ours.find_spec("implicit").submodule_search_locations == [os.path.join(path, "implicit")]
    if not STDLIB_HAS_IMPLICIT_DIRS:
        assert std.find_spec("implicit") is None


# -- __pycache__ in archives ----------------------------------------------------------------


def cached_name(stem: str, directory: str = "", opt: int | None = None) -> str:
    """``<directory>__pycache__/<stem>.<tag>[.opt-N].pyc``, as FileFinder would write it."""
    level = sys.flags.optimize if opt is None else opt
    return f"{directory}__pycache__/{stem}.{TAG}{f'.opt-{level}' if level else ''}.pyc"


SOURCE = "value = 'source'\n\ndef boom():\n    raise RuntimeError('from the source line')\n"
CACHED = "value = 'cached'\n\ndef boom():\n    raise RuntimeError('from the source line')\n"
LEGACY = "value = 'legacy'\n"
SOURCE_SIZE = len(SOURCE.encode())


def timestamp_pyc(text: str, *, stale: bool = False, filename: str = "/build/mod.py") -> bytes:
    """A timestamp .pyc of *text* recording the source member's time and size."""
    return pyc(text, mtime=dos_mtime() + (100 if stale else 0), size=SOURCE_SIZE, filename=filename)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of the compiler and of the bytecode cache's load, by what they were asked."""
    counts = {"compile": 0, "cache": 0}
    real_compile, real_load = bytecode.compile_source, bytecode_cache.load

    def compile_source(*args: object) -> object:
        counts["compile"] += 1
        return real_compile(*args)  # type: ignore[arg-type]

    def load(*args: object) -> object:
        counts["cache"] += 1
        return real_load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bytecode, "compile_source", compile_source)
    monkeypatch.setattr(bytecode_cache, "load", load)
    return counts


def import_from(path: str, name: str = "mod") -> object:
    sys.path.insert(0, path)
    try:
        return import_fresh(name, ours=True)
    finally:
        sys.path.remove(path)


def test_pycache_pyc_is_used_instead_of_compiling(tmp_path, counted):
    path = make_zip(
        tmp_path / "site.zip", {"mod.py": SOURCE, cached_name("mod"): timestamp_pyc(CACHED)}
    )
    mod = import_from(path)
    assert mod.value == "cached"
    assert counted == {"compile": 0, "cache": 0}
    assert mod.__file__ == os.path.join(path, "mod.py")
    assert mod.__spec__.origin == os.path.join(path, "mod.py")
    assert mod.__cached__ == os.path.join(path, cached_name("mod").replace("/", SEP))
    # The compiled-in file name is the archive's source, so tracebacks show its lines.
    assert mod.boom.__code__.co_filename == os.path.join(path, "mod.py")
    try:
        mod.boom()
    except RuntimeError:
        text = traceback.format_exc()
    assert f'File "{os.path.join(path, "mod.py")}", line 4, in boom' in text
    assert "raise RuntimeError('from the source line')" in text


def test_pycache_pyc_of_a_package(tmp_path, counted):
    path = make_zip(
        tmp_path / "pkg.zip",
        {
            "cpkg/__init__.py": SOURCE,
            cached_name("__init__", "cpkg/"): timestamp_pyc(CACHED),
            "cpkg/sub.py": SOURCE,
            cached_name("sub", "cpkg/"): timestamp_pyc(CACHED),
        },
    )
    sys.path.insert(0, path)
    forget("cpkg")
    with zipimporter.install():
        pkg = importlib.import_module("cpkg")
        sub = importlib.import_module("cpkg.sub")
    assert (pkg.value, sub.value) == ("cached", "cached")
    assert pkg.__file__ == os.path.join(path, "cpkg", "__init__.py")
    assert list(pkg.__path__) == [os.path.join(path, "cpkg")]
    assert counted["compile"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(timestamp_pyc(CACHED, stale=True), id="stale-timestamp"),
        pytest.param(b"\x00\x00\r\n" + timestamp_pyc(CACHED)[4:], id="other-magic"),
        pytest.param(timestamp_pyc(CACHED)[:10], id="truncated"),
        pytest.param(
            pyc(CACHED, kind="checked", hash_source=b"another source"), id="checked-hash-mismatch"
        ),
    ],
)
def test_unusable_pycache_pyc_falls_back_to_the_source(tmp_path, bad):
    path = make_zip(tmp_path / "bad.zip", {"mod.py": SOURCE, cached_name("mod"): bad})
    assert import_from(path).value == "source"


def test_unchecked_hash_pyc_is_trusted_as_filefinder_trusts_it(tmp_path):
    unchecked = pyc(CACHED, kind="unchecked", hash_source=b"another source")
    path = make_zip(tmp_path / "u.zip", {"mod.py": SOURCE, cached_name("mod"): unchecked})
    assert import_from(path).value == "cached"


def test_checked_hash_pyc_matching_its_source_is_used(tmp_path, counted):
    checked = pyc(CACHED, kind="checked", hash_source=SOURCE.encode())
    path = make_zip(tmp_path / "c.zip", {"mod.py": SOURCE, cached_name("mod"): checked})
    assert import_from(path).value == "cached"
    assert counted["compile"] == 0


def test_pycache_pyc_without_its_source_is_not_a_module(tmp_path):
    """As FileFinder: a __pycache__ .pyc is a source's cache, never a module by itself."""
    path = make_zip(tmp_path / "orphan.zip", {cached_name("mod"): timestamp_pyc(CACHED)})
    assert zipimporter.zipimporter(path).find_spec("mod") is None


def test_pyc_beside_the_source_comes_first(tmp_path):
    """The stdlib's order stands: a valid ``mod.pyc`` beside ``mod.py`` wins."""
    path = make_zip(
        tmp_path / "both.zip",
        {
            "mod.py": SOURCE,
            "mod.pyc": timestamp_pyc(LEGACY),
            cached_name("mod"): timestamp_pyc(CACHED),
        },
    )
    assert import_from(path).value == "legacy"


def test_stale_pyc_beside_the_source_falls_to_pycache(tmp_path, counted):
    path = make_zip(
        tmp_path / "stale.zip",
        {
            "mod.py": SOURCE,
            "mod.pyc": timestamp_pyc(LEGACY, stale=True),
            cached_name("mod"): timestamp_pyc(CACHED),
        },
    )
    assert import_from(path).value == "cached"
    assert counted["compile"] == 0


def test_pycache_of_other_interpreters_is_ignored(tmp_path, no_caches, counted):
    path = make_zip(
        tmp_path / "other.zip",
        {
            "mod.py": SOURCE,
            "__pycache__/mod.cpython-27.pyc": timestamp_pyc(CACHED),
            "__pycache__/mod.pypy310.pyc": timestamp_pyc(CACHED),
            cached_name("mod", opt=2 if sys.flags.optimize != 2 else 0): timestamp_pyc(CACHED),
        },
    )
    assert import_from(path).value == "source"
    assert counted["compile"] == 1


def test_source_without_pycache_goes_to_the_bytecode_cache(tmp_path, cache, counted):
    path = make_zip(tmp_path / "plain.zip", {"mod.py": SOURCE})
    assert import_from(path).value == "source"
    assert counted == {"compile": 1, "cache": 1}


def test_pycache_in_a_prefix_importer(tmp_path):
    path = make_zip(
        tmp_path / "lib.zip",
        {"lib/mod.py": SOURCE, cached_name("mod", "lib/"): timestamp_pyc(CACHED)},
    )
    zi = zipimporter.zipimporter(os.path.join(path, "lib"))
    assert zi.get_filename("mod") == os.path.join(path, "lib", "mod.py")
    assert zi.get_source("mod") == SOURCE
    assert zi.get_code("mod").co_consts[0] == "cached"


@pytest.mark.parametrize("flag", ["-O", "-OO"])
def test_optimization_level_picks_its_pycache_file(tmp_path, flag):
    level = flag.count("O")
    path = make_zip(
        tmp_path / "opt.zip",
        {
            "mod.py": SOURCE,
            cached_name("mod", opt=0): timestamp_pyc("value = 'opt-0'\n"),
            cached_name("mod", opt=1): timestamp_pyc("value = 'opt-1'\n"),
            cached_name("mod", opt=2): timestamp_pyc("value = 'opt-2'\n"),
        },
    )
    code = (
        "import sys, zipimporter; zipimporter.install(); "
        f"sys.path.insert(0, {path!r}); import mod; print(mod.value)"
    )
    for args, want in [((), "opt-0"), ((flag,), f"opt-{level}")]:
        result = run_python(*args, "-c", code, cache_dir=tmp_path / "cache")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == want


def test_check_hash_based_pycs_always_checks_unchecked_ones(tmp_path):
    unchecked = pyc(CACHED, kind="unchecked", hash_source=b"another source")
    path = make_zip(tmp_path / "u.zip", {"mod.py": SOURCE, cached_name("mod"): unchecked})
    code = (
        "import sys, zipimporter; zipimporter.install(); "
        f"sys.path.insert(0, {path!r}); import mod; print(mod.value)"
    )
    for mode, want in [("default", "cached"), ("always", "source"), ("never", "cached")]:
        result = run_python(
            "--check-hash-based-pycs", mode, "-c", code, cache_dir=tmp_path / "cache"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == want, mode


def test_zipped_site_packages_runs_precompiled(tmp_path, counted):
    """An installed tree zipped as it is: every module from its __pycache__ .pyc."""
    tree = tmp_path / "site-packages"
    (tree / "tool").mkdir(parents=True)
    (tree / "tool" / "__init__.py").write_text("from . import core\n")
    (tree / "tool" / "core.py").write_text("def answer():\n    return 42\n")
    (tree / "single.py").write_text("flag = True\n")
    import compileall

    assert compileall.compile_dir(str(tree), quiet=1)
    path = tmp_path / "site.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(tree.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(tree).as_posix())
    sys.path.insert(0, str(path))
    forget("tool", "single")
    with zipimporter.install():
        assert importlib.import_module("tool").core.answer() == 42
        assert importlib.import_module("single").flag is True
    assert counted == {"compile": 0, "cache": 0}


def test_index_gives_a_members_central_extra_field(tmp_path):
    info = zipfile.ZipInfo("stamped.py", DATE_TIME)
    info.extra = b"UT\x05\x00\x01\x00\x00\x00\x00"  # an extended timestamp field
    path = tmp_path / "extra.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "value = 1\n")
        zf.writestr("plain.py", "")
    index = read_directory(str(path))
    assert index.extra("stamped.py") == b"UT\x05\x00\x01\x00\x00\x00\x00"
    assert index.extra("plain.py") == b""
    assert index.extra("missing.py") == b""

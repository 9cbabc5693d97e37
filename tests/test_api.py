"""The public API, compared with the stdlib ``zipimport`` on the same archives."""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import os
import pathlib
import pkgutil
import sys
import zipimport
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import zipimporter
from conftest import forget, import_fresh, make_zip, outcome, run_python

SEP = os.sep
CACHE_TAG = sys.implementation.cache_tag

LAYOUT = {
    "mod.py": "value = 'mod'\n",
    "pkg/": b"",
    "pkg/__init__.py": "value = 'pkg'\n",
    "pkg/leaf.py": "value = 'leaf'\n",
    "pkg/sub/": b"",
    "pkg/sub/__init__.py": "from . import deep\nvalue = 'sub'\n",
    "pkg/sub/deep.py": "value = 'deep'\n",
    "pkg/data.txt": "some data\n",
    "ns/": b"",
    "ns/portion_a.py": "value = 'a'\n",
}


@pytest.fixture
def layout_zip(tmp_path: Path) -> str:
    return make_zip(tmp_path / "layout.zip", LAYOUT)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Counter[object]:
    """Calls of the builtin ``compile()`` by filename (both importers compile with it)."""
    counts: Counter[object] = Counter()
    real = builtins.compile

    def counting(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        counts[filename] += 1
        return real(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting)
    return counts


def spec_fields(module: ModuleType) -> dict[str, object]:
    """What must agree between the two importers for an imported module."""
    spec = module.__spec__
    loader = spec.loader
    return {
        "__file__": getattr(module, "__file__", None),
        "__cached__": getattr(module, "__cached__", None),
        "__path__": list(getattr(module, "__path__", None) or []) or None,
        "__package__": module.__package__,
        "name": spec.name,
        "origin": spec.origin,
        "cached": spec.cached,
        "has_location": spec.has_location,
        "parent": spec.parent,
        "search": list(spec.submodule_search_locations or []) or None,
        "loader is __loader__": loader is module.__loader__,
        "loader archive": getattr(loader, "archive", None),
        "loader prefix": getattr(loader, "prefix", None),
        "value": getattr(module, "value", None),
    }


# -- the zipimport docs' example --------------------------------------------


def test_docs_example_relative_path(tmp_path, monkeypatch, installed):
    monkeypatch.chdir(tmp_path)
    make_zip(tmp_path / "example.zip", {"jwzthreading.py": "def start():\n    return 'started'\n"})
    sys.path.insert(0, "example.zip")
    import jwzthreading  # type: ignore[import-not-found]

    assert jwzthreading.__file__ == "example.zip/jwzthreading.py".replace("/", SEP)
    assert jwzthreading.__cached__ == os.path.join(
        "example.zip", "__pycache__", f"jwzthreading.{CACHE_TAG}.pyc"
    )
    assert type(jwzthreading.__loader__) is zipimporter.zipimporter
    assert jwzthreading.__loader__.archive == "example.zip"
    assert jwzthreading.start() == "started"
    assert jwzthreading.start.__code__.co_filename == jwzthreading.__file__
    assert type(sys.path_importer_cache["example.zip"]) is zipimporter.zipimporter


def test_docs_example_same_as_stdlib(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_zip(tmp_path / "example.zip", {"jwzthreading.py": "value = 1\n"})
    sys.path.insert(0, "example.zip")
    std = spec_fields(import_fresh("jwzthreading", ours=False))
    ours = spec_fields(import_fresh("jwzthreading", ours=True))
    assert ours == std
    assert ours["__file__"] == os.path.join("example.zip", "jwzthreading.py")


CACHED_DRIVER = """\
import json, sys, zipimport, zipimporter
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "ours":
    zipimporter.install()
import mod, pkg, pkg.sub
print(json.dumps([[m.__file__, m.__cached__, m.__spec__.cached] for m in (mod, pkg, pkg.sub)]))
"""


@pytest.mark.parametrize(
    ("flags", "env"),
    [([], {}), (["-O"], {}), (["-OO"], {}), ([], {"PYTHONPYCACHEPREFIX": "/somewhere/else"})],
    ids=["default", "-O", "-OO", "pycache-prefix"],
)
def test_cached_is_the_stdlibs(tmp_path, flags, env):
    """``__cached__`` of a source module (ours names it in find_spec; importlib
    derives it later) agrees with the stdlib's with -O/-OO and a pycache prefix."""
    archive = make_zip(
        tmp_path / "app.zip", {"mod.py": "", "pkg/__init__.py": "", "pkg/sub.py": ""}
    )
    driver = tmp_path / "driver.py"
    driver.write_text(CACHED_DRIVER)
    out = {}
    for which in ("stdlib", "ours"):
        proc = run_python(*flags, driver, archive, which, cache_dir=tmp_path / "c", env=env)
        assert proc.returncode == 0, proc.stderr
        out[which] = proc.stdout
    assert out["ours"] == out["stdlib"]
    files = [row[0] for row in json.loads(out["ours"])]
    assert files == [
        os.path.join(archive, *p.split("/")) for p in ("mod.py", "pkg/__init__.py", "pkg/sub.py")
    ]


# -- constructing: archive and prefix ---------------------------------------


@pytest.mark.parametrize(
    ("suffix", "prefix"),
    [
        ("", ""),
        ("/", ""),
        ("/pkg", "pkg/"),
        ("/pkg/", "pkg/"),
        ("/pkg/sub", "pkg/sub/"),
        ("/pkg/sub/", "pkg/sub/"),
        ("/not/in/archive/", "not/in/archive/"),
    ],
)
def test_archive_and_prefix(layout_zip, suffix, prefix):
    path = layout_zip + suffix.replace("/", SEP)
    ours = zipimporter.zipimporter(path)
    std = zipimport.zipimporter(path)
    assert ours.archive == std.archive == layout_zip
    assert ours.prefix == std.prefix == prefix.replace("/", SEP)
    assert os.path.join(ours.archive, ours.prefix) == path.rstrip(SEP) + SEP
    assert repr(ours) == repr(std)


def test_archive_plus_prefix_is_the_path_given(layout_zip):
    path = os.path.join(layout_zip, "pkg", "sub") + SEP
    importer = zipimporter.zipimporter(path)
    assert importer.archive + SEP + importer.prefix == path
    root = zipimporter.zipimporter(layout_zip)
    assert (root.archive, root.prefix) == (layout_zip, "")


def test_pathlike_accepted(layout_zip):
    importer = zipimporter.zipimporter(pathlib.Path(layout_zip) / "pkg")
    assert importer.archive == layout_zip
    assert isinstance(importer.archive, str)
    assert importer.prefix == "pkg" + SEP
    assert importer.find_spec("leaf").origin == os.path.join(layout_zip, "pkg", "leaf.py")


class _BytesPath:
    def __fspath__(self) -> bytes:
        return b"whatever.zip"


@pytest.mark.parametrize(
    "bad",
    [b"x.zip", bytearray(b"x.zip"), memoryview(b"x.zip"), None, 42, _BytesPath()],
    ids=["bytes", "bytearray", "memoryview", "None", "int", "bytes-pathlike"],
)
def test_non_str_path_is_type_error(bad):
    with pytest.raises(TypeError):
        zipimporter.zipimporter(bad)
    with pytest.raises(TypeError):
        zipimport.zipimporter(bad)


def test_bytes_of_existing_archive_still_refused(layout_zip):
    with pytest.raises(TypeError):
        zipimporter.zipimporter(os.fsencode(layout_zip))


def test_empty_path():
    with pytest.raises(zipimporter.ZipImportError):
        zipimporter.zipimporter("")


def test_missing_file(tmp_path):
    missing = str(tmp_path / "missing.zip")
    with pytest.raises(zipimporter.ZipImportError) as ours:
        zipimporter.zipimporter(missing)
    with pytest.raises(zipimport.ZipImportError) as std:
        zipimport.zipimporter(missing)
    # As the stdlib: the deepest existing ancestor is named in .path.
    assert ours.value.path == std.value.path == str(tmp_path)
    assert missing not in zipimporter._zip_directory_cache


def test_directory_is_not_an_archive(tmp_path):
    with pytest.raises(zipimporter.ZipImportError) as exc:
        zipimporter.zipimporter(str(tmp_path))
    assert exc.value.path == str(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", b"print('not a zip')\n" * 50, b"PK\x05\x06", b"PK\x03\x04" + bytes(100)],
    ids=["empty", "text", "short-eocd", "local-header-only"],
)
def test_not_a_zip_file(tmp_path, content):
    path = tmp_path / "bad.zip"
    path.write_bytes(content)
    with pytest.raises(zipimporter.ZipImportError) as exc:
        zipimporter.zipimporter(str(path))
    assert repr(str(path)) in str(exc.value)
    assert exc.value.path == str(path)
    with pytest.raises(zipimport.ZipImportError):
        zipimport.zipimporter(str(path))


# -- modules, packages, namespace portions ----------------------------------


@pytest.mark.parametrize(
    "name", ["mod", "pkg", "pkg.leaf", "pkg.sub", "pkg.sub.deep", "ns.portion_a"]
)
def test_imported_module_attributes_match_stdlib(layout_zip, name):
    sys.path.insert(0, layout_zip)
    std = import_fresh(name, ours=False)
    std_fields = spec_fields(std)
    ours = import_fresh(name, ours=True)
    assert type(ours.__loader__) is zipimporter.zipimporter
    assert spec_fields(ours) == std_fields
    assert ours.value == name.rpartition(".")[2].replace("portion_", "")


def test_package_layout(layout_zip, installed):
    sys.path.insert(0, layout_zip)
    import pkg.sub  # type: ignore[import-not-found]

    assert pkg.__file__ == os.path.join(layout_zip, "pkg", "__init__.py")
    assert pkg.__path__ == [os.path.join(layout_zip, "pkg")]
    assert pkg.sub.__path__ == [os.path.join(layout_zip, "pkg", "sub")]
    assert pkg.sub.deep.value == "deep"
    assert pkg.sub.__loader__.prefix == "pkg" + SEP
    assert pkg.sub.deep.__loader__.prefix == os.path.join("pkg", "sub") + SEP
    assert pkg.sub.deep.__spec__.parent == "pkg.sub"


def test_namespace_package_across_two_archives(tmp_path):
    one = make_zip(tmp_path / "one.zip", {"nsx/": b"", "nsx/a.py": "value = 'a'\n"})
    two = make_zip(tmp_path / "two.zip", {"nsx/": b"", "nsx/b.py": "value = 'b'\n"})
    sys.path[:0] = [one, two]
    results = []
    for ours in (False, True):
        a = import_fresh("nsx.a", ours=ours)
        with zipimporter.install():
            b = importlib.import_module("nsx.b")
        nsx = sys.modules["nsx"]
        results.append(
            (
                list(nsx.__path__),
                nsx.__spec__.origin,
                nsx.__spec__.loader is None,
                getattr(nsx, "__file__", None),
                a.__file__,
                b.__file__,
                a.value + b.value,
            )
        )
        if ours:
            assert type(a.__loader__) is zipimporter.zipimporter
    assert results[0] == results[1]
    assert results[1][0] == [os.path.join(one, "nsx"), os.path.join(two, "nsx")]


def test_namespace_portion_spec(layout_zip):
    ours = zipimporter.zipimporter(layout_zip).find_spec("ns")
    std = zipimport.zipimporter(layout_zip).find_spec("ns")
    assert ours.loader is std.loader is None
    assert ours.submodule_search_locations == std.submodule_search_locations
    assert ours.submodule_search_locations == [os.path.join(layout_zip, "ns")]
    assert ours.origin == std.origin


def test_directory_without_entry_is_a_namespace_portion(tmp_path):
    """A deliberate difference: implicit directories are found, as by 3.14's stdlib."""
    path = make_zip(tmp_path / "implicit.zip", {"implicit/mod.py": "value = 1\n"})
    if sys.version_info < (3, 14):
        assert zipimport.zipimporter(path).find_spec("implicit") is None
    spec = zipimporter.zipimporter(path).find_spec("implicit")
    assert spec is not None and spec.loader is None
    assert list(spec.submodule_search_locations) == [os.path.join(path, "implicit")]


def test_find_spec_unknown_module(layout_zip):
    assert zipimporter.zipimporter(layout_zip).find_spec("nope") is None
    assert zipimporter.zipimporter(layout_zip + SEP + "pkg").find_spec("pkg.nope") is None


@pytest.mark.parametrize("name", ["mod", "pkg", "pkg.leaf", "pkg.sub", "nope", "ns", "data"])
def test_loader_methods_match_stdlib(layout_zip, name):
    path = layout_zip if "." not in name else os.path.join(layout_zip, "pkg")
    ours = zipimporter.zipimporter(path)
    std = zipimport.zipimporter(path)
    for method in ("get_source", "get_filename", "is_package"):
        assert outcome(lambda m=method: getattr(ours, m)(name)) == outcome(
            lambda m=method: getattr(std, m)(name)
        ), method
    code_ours, code_std = outcome(lambda: ours.get_code(name)), outcome(lambda: std.get_code(name))
    assert code_ours[0] == code_std[0]
    if code_ours[0] == "ok":
        assert code_ours[1].co_filename == code_std[1].co_filename
        assert code_ours[1].co_consts == code_std[1].co_consts


def test_unknown_module_raises_our_error(layout_zip):
    importer = zipimporter.zipimporter(layout_zip)
    for method in (importer.get_source, importer.get_filename, importer.is_package):
        with pytest.raises(zipimporter.ZipImportError) as exc:
            method("nope")
        assert exc.value.name == "nope"


def test_create_and_exec_module(layout_zip, no_caches, compiles, monkeypatch):
    file = os.path.join(layout_zip, "mod.py")
    importer = zipimporter.zipimporter(layout_zip)
    spec = importer.find_spec("mod")
    assert compiles[file] == 1  # find_spec compiles, to know the module can be loaded
    assert importer.create_module(spec) is None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mod", module)  # as the import system does
    importer.exec_module(module)
    assert module.value == "mod"
    assert compiles[file] == 1  # exec_module ran the code find_spec handed over
    # A second execution compiles again rather than reusing a spent code object.
    module.value = "changed"
    importer.exec_module(module)
    assert module.value == "mod"
    assert compiles[file] == 2


def test_source_only_modules_are_compiled_once_per_import(tmp_path, no_caches, compiles):
    """The stdlib compiles a source-only module twice per import (for ``__file__`` in
    find_spec, then to run it); we hand the first code object over to exec_module."""
    members = {"compiled_once.py": "value = 1\n", "once_pkg/__init__.py": "value = 2\n"}
    path = make_zip(tmp_path / "once.zip", members)
    sys.path.insert(0, path)
    files = [os.path.join(path, "compiled_once.py"), os.path.join(path, "once_pkg", "__init__.py")]
    counts = {}
    for ours in (False, True):
        compiles.clear()
        assert import_fresh("compiled_once", ours=ours).value == 1
        assert import_fresh("once_pkg", ours=ours).value == 2
        counts["ours" if ours else "stdlib"] = [compiles[f] for f in files]
    assert counts == {"stdlib": [2, 2], "ours": [1, 1]}


def test_source_only_module_is_compiled_once_then_cached(tmp_path, cache, compiles):
    path = make_zip(tmp_path / "cached.zip", {"cached_once.py": "value = 1\n"})
    sys.path.insert(0, path)
    for _ in range(3):  # a fresh import each time, as in a new process
        assert import_fresh("cached_once", ours=True).value == 1
    assert compiles[os.path.join(path, "cached_once.py")] == 1
    from zipimporter import bytecode_cache

    bytecode_cache.flush()  # what exit does
    assert [p.suffix for p in cache.rglob("*") if p.is_file()] == [".pack"]


# -- get_data -----------------------------------------------------------------


def test_get_data_absolute_and_relative(layout_zip):
    ours = zipimporter.zipimporter(layout_zip)
    std = zipimport.zipimporter(layout_zip)
    relative = os.path.join("pkg", "data.txt")
    absolute = os.path.join(layout_zip, relative)
    assert ours.get_data(relative) == std.get_data(relative) == b"some data\n"
    assert ours.get_data(absolute) == std.get_data(absolute) == b"some data\n"
    # A subdirectory importer still takes archive-relative paths.
    sub = zipimporter.zipimporter(os.path.join(layout_zip, "pkg"))
    assert sub.get_data(relative) == b"some data\n"
    assert ours.get_data("pkg" + SEP) == std.get_data("pkg" + SEP) == b""


@pytest.mark.parametrize("member", ["missing.txt", "pkg/missing.txt", "data.txt", "/abs/x"])
def test_get_data_missing_member_is_oserror(layout_zip, member):
    member = member.replace("/", SEP)
    with pytest.raises(OSError) as ours:
        zipimporter.zipimporter(layout_zip).get_data(member)
    with pytest.raises(OSError) as std:
        zipimport.zipimporter(layout_zip).get_data(member)
    assert not isinstance(ours.value, ImportError)
    assert (ours.value.errno, ours.value.filename) == (std.value.errno, std.value.filename)


def test_get_data_other_archive_path_is_not_stripped(tmp_path, layout_zip):
    other = str(tmp_path / "other.zip") + SEP + "mod.py"
    with pytest.raises(OSError):
        zipimporter.zipimporter(layout_zip).get_data(other)


def test_pkgutil_get_data(layout_zip, installed):
    sys.path.insert(0, layout_zip)
    assert pkgutil.get_data("pkg", "data.txt") == b"some data\n"


# -- caches -------------------------------------------------------------------


def test_directory_cache_semantics(layout_zip):
    cache = zipimporter._zip_directory_cache
    importer = zipimporter.zipimporter(layout_zip)
    index = cache.get(layout_zip)
    assert index is not None
    zipimport.zipimporter(layout_zip)
    assert set(index) == set(zipimport._zip_directory_cache[layout_zip])
    assert set(index) == {name.replace("/", SEP) for name in LAYOUT}
    # A second importer of the same archive shares the index.
    zipimporter.zipimporter(layout_zip + SEP + "pkg")
    assert cache[layout_zip] is index
    # clear() is survived: the archive is read again on demand.
    cache.clear()
    assert importer.find_spec("mod") is not None
    assert layout_zip in cache
    assert cache.get("no such archive") is None


def test_invalidate_caches_sees_rewritten_archive(tmp_path):
    path = tmp_path / "changing.zip"
    make_zip(path, {"first.py": "value = 1\n"})
    results = []
    for cls in (zipimport.zipimporter, zipimporter.zipimporter):
        make_zip(path, {"first.py": "value = 1\n"})
        importer = cls(str(path))
        found = [importer.find_spec("first") is not None]
        make_zip(path, {"second.py": "value = 2\n", "more.py": "value = 3\n"})
        importer.invalidate_caches()
        found += [importer.find_spec("first") is not None, importer.find_spec("second") is not None]
        results.append(found)
    assert results[0] == results[1] == [True, False, True]
    assert importer.get_source("more") == "value = 3\n"


def test_importlib_invalidate_caches_reaches_our_importer(tmp_path, installed):
    path = tmp_path / "changing.zip"
    make_zip(path, {"before_change.py": "value = 1\n"})
    sys.path.insert(0, str(path))
    assert importlib.import_module("before_change").value == 1
    make_zip(path, {"after_change.py": "value = 2\n"})
    importlib.invalidate_caches()
    assert importlib.import_module("after_change").value == 2


def test_invalidate_caches_on_vanished_archive(tmp_path):
    path = tmp_path / "vanishing.zip"
    make_zip(path, {"mod.py": "value = 1\n"})
    importer = zipimporter.zipimporter(str(path))
    path.unlink()
    importer.invalidate_caches()
    assert importer.find_spec("mod") is None
    with pytest.raises(OSError):
        importer.get_data("mod.py")


# -- deprecated and version-specific API ----------------------------------------


def test_load_module_warns(layout_zip):
    forget("pkg", "mod")
    importer = zipimporter.zipimporter(layout_zip)
    with pytest.warns(DeprecationWarning, match="load_module"):
        module = importer.load_module("mod")
    assert module is sys.modules["mod"]
    assert module.value == "mod"
    assert module.__file__ == os.path.join(layout_zip, "mod.py")
    assert module.__loader__ is importer
    with pytest.warns(DeprecationWarning):
        package = importer.load_module("pkg")
    assert package.__path__ == [os.path.join(layout_zip, "pkg")]


def test_load_module_failure_leaves_no_module(tmp_path):
    path = make_zip(tmp_path / "broken.zip", {"broken_mod.py": "raise ValueError('boom')\n"})
    importer = zipimporter.zipimporter(path)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="boom"):
        importer.load_module("broken_mod")
    assert "broken_mod" not in sys.modules


@pytest.mark.parametrize("method", ["find_loader", "find_module"])
def test_legacy_finder_methods_as_stdlib(method):
    assert hasattr(zipimporter.zipimporter, method) == hasattr(zipimport.zipimporter, method)
    assert hasattr(zipimporter.zipimporter, method) == (sys.version_info < (3, 12))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="removed in 3.12")
def test_legacy_finder_methods_on_311(layout_zip):
    ours = zipimporter.zipimporter(layout_zip)
    std = zipimport.zipimporter(layout_zip)
    for name in ("mod", "pkg", "ns", "nope"):
        with pytest.warns(DeprecationWarning):
            loader, portions = ours.find_loader(name)
        with pytest.warns(DeprecationWarning):
            std_loader, std_portions = std.find_loader(name)
        assert (loader is ours, portions) == (std_loader is std, std_portions)
        with pytest.warns(DeprecationWarning):
            assert (ours.find_module(name) is ours) == (std.find_module(name) is std)


# -- pkgutil ------------------------------------------------------------------


@pytest.mark.parametrize("sub", ["", "pkg"])
def test_iter_modules_matches_stdlib(layout_zip, sub):
    path = os.path.join(layout_zip, sub) if sub else layout_zip
    std = sorted((m.name, m.ispkg) for m in pkgutil.iter_modules([path]))
    forget("pkg")
    with zipimporter.install():
        ours = sorted((m.name, m.ispkg) for m in pkgutil.iter_modules([path]))
        assert type(pkgutil.get_importer(path)) is zipimporter.zipimporter
    assert ours == std
    assert ours  # not vacuous


def test_iter_modules_prefix(layout_zip):
    names = dict(zipimporter.zipimporter(layout_zip).iter_modules("top."))
    assert names == {"top.mod": False, "top.pkg": True}


def test_walk_packages(layout_zip, installed):
    sys.path.insert(0, layout_zip)
    import pkg  # type: ignore[import-not-found]

    found = {m.name for m in pkgutil.walk_packages(pkg.__path__, "pkg.")}
    assert found == {"pkg.leaf", "pkg.sub", "pkg.sub.deep"}


# -- what find_spec does with a module that can't be loaded ------------------------


def test_unloadable_bytecode_only_module(tmp_path):
    path = make_zip(tmp_path / "bad.zip", {"badmagic.pyc": b"\0\0\0\0" + bytes(12)})
    std = zipimport.zipimporter(path).find_spec("badmagic")
    ours = zipimporter.zipimporter(path).find_spec("badmagic")
    # As the stdlib: found, with an '<unknown>' origin; loading it then fails.
    assert (ours.name, ours.origin, ours.submodule_search_locations) == (
        std.name,
        std.origin,
        std.submodule_search_locations,
    )
    module = importlib.util.module_from_spec(ours)
    with pytest.raises(zipimporter.ZipImportError) as exc:
        ours.loader.exec_module(module)
    assert isinstance(exc.value.__cause__, ImportError)

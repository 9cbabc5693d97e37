"""Extension modules from archives (issue 11).

Found in FileFinder's order, extracted with the libraries they link against
into the content-addressed cache (or a private temporary directory), loaded by
the stdlib's ExtensionFileLoader; the cache's reuse check, trust, concurrency
and hostile members; real wheels from PyPI; ``build``, ``inspect`` and ``verify``.

Small extensions and libraries are compiled here with the C compiler and
Python's headers (the tests that need them are skipped, saying why, if there
are none).  The real wheels are downloaded with pip for the running Python
into a session temporary directory (skipped, saying why, only if the package
index can't be reached).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.resources
import importlib.util
import json
import os
import pkgutil
import random
import shutil
import stat
import subprocess
import sys
import sysconfig
import textwrap
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import zipimporter
from conftest import make_zip, python_env, run_python
from zipimporter import bundle, extraction, inspection, messages
from zipimporter.importer import zipimporter as ZipImporter  # noqa: N812

SUFFIXES = importlib.machinery.EXTENSION_SUFFIXES
SUFFIX = SUFFIXES[0]  # e.g. .cpython-312-x86_64-linux-gnu.so
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
#: A suffix no interpreter of this test run loads.
FOREIGN = ".cpython-27mu-x86_64-linux-gnu.so"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="builds and loads ELF extensions")


# -- compiled fixtures ----------------------------------------------------------

MODULE_C = """\
#include <Python.h>
%(prelude)s
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, %(methods)s};
PyMODINIT_FUNC PyInit_%(name)s(void) {
    PyObject *m = PyModule_Create(&def);
    if (m && PyModule_AddStringConstant(m, "KIND", "extension") < 0) { Py_DECREF(m); return NULL; }
    return m;
}
"""

DEP_PRELUDE = """\
extern int dep_value(void);
static PyObject *value(PyObject *self, PyObject *args) { return PyLong_FromLong(dep_value()); }
static PyMethodDef methods[] = {{"value", value, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
"""


class Compiler:
    """Builds small extension modules and shared libraries (cached for the session)."""

    def __init__(self, cc: str, include: str, workdir: Path) -> None:
        self.cc = cc
        self.include = include
        self.workdir = workdir
        self._built: dict[tuple[object, ...], bytes] = {}

    def _run(self, key: tuple[object, ...], source: str, args: list[str]) -> bytes:
        if key not in self._built:
            n = len(self._built)
            src = self.workdir / f"src{n}.c"
            out = self.workdir / f"out{n}.so"
            src.write_text(source)
            cmd = [self.cc, "-shared", "-fPIC", "-O0", "-o", str(out), str(src), *args]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            assert proc.returncode == 0, proc.stderr
            self._built[key] = out.read_bytes()
        return self._built[key]

    def library(self, soname: str = "libdep.so", value: int = 42) -> bytes:
        """A shared library with ``int dep_value(void)`` returning *value*."""
        source = f"int dep_value(void) {{ return {value}; }}\n"
        return self._run(("lib", soname, value), source, [f"-Wl,-soname,{soname}"])

    def extension(
        self,
        name: str,
        *,
        dep: str | None = None,
        rpath: str | None = None,
        new_dtags: bool = False,
    ) -> bytes:
        """Extension module *name* (``KIND == "extension"``); with *dep*, linked against it.

        *dep* is the library's soname (built by :meth:`library`); *rpath* is
        written as DT_RUNPATH with *new_dtags*, else as DT_RPATH.
        """
        args = [f"-I{self.include}"]
        prelude, methods = "", "NULL"
        if dep is not None:
            libdir = self.workdir / f"lib-{dep}"
            libdir.mkdir(exist_ok=True)
            (libdir / dep).write_bytes(self.library(dep))
            args += [str(libdir / dep)]
            prelude, methods = DEP_PRELUDE, "methods"
        if rpath is not None:
            tags = "--enable-new-dtags" if new_dtags else "--disable-new-dtags"
            args += [f"-Wl,{tags}", f"-Wl,-rpath,{rpath}"]
        source = MODULE_C % {"name": name, "prelude": prelude, "methods": methods}
        return self._run(("ext", name, dep, rpath, new_dtags), source, args)


def make_compiler(workdir: Path) -> Compiler:
    """A :class:`Compiler` working in *workdir*, or a skip saying what is missing."""
    include = sysconfig.get_paths()["include"]
    if not os.path.isfile(os.path.join(include, "Python.h")):
        pytest.skip(f"no Python.h in {include}: can't build test extensions")
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        compiler = "cc"
        if shutil.which(compiler) is None:
            pytest.skip("no C compiler (cc): can't build test extensions")
    return Compiler(compiler, include, workdir)


@pytest.fixture(scope="session")
def cc(tmp_path_factory: pytest.TempPathFactory) -> Compiler:
    return make_compiler(tmp_path_factory.mktemp("compiled"))


def slots(cache: Path) -> list[Path]:
    """The extraction slots in a cache directory."""
    base = cache / "extensions"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if len(p.name) == extraction.SLOT_DIGITS)


def slot_files(slot: Path) -> set[str]:
    """The archive-relative paths of the files in a slot (the manifest left out)."""
    return {
        p.relative_to(slot).as_posix()
        for p in slot.rglob("*")
        if p.is_file() and p.name != extraction.MANIFEST
    }


def dep_archive(cc: Compiler, path: Path, layout: str = "libs", new_dtags: bool = False) -> str:
    """``mypkg`` whose extension ``_ext`` calls into ``libdep.so``, placed per *layout*.

    ``libs``: auditwheel's ``mypkg.libs/`` reached through ``$ORIGIN/../mypkg.libs``;
    ``sibling``: beside the extension (``$ORIGIN``).  Unrelated libraries are
    there too, and must not be extracted.
    """
    if layout == "libs":
        rpath, lib_at = "$ORIGIN/../mypkg.libs", "mypkg.libs/libdep.so"
    else:
        rpath, lib_at = "$ORIGIN", "mypkg/libdep.so"
    return make_zip(
        path,
        {
            "mypkg/": b"",
            "mypkg/__init__.py": "from . import _ext\nVALUE = _ext.value()\n",
            f"mypkg/_ext{SUFFIX}": cc.extension(
                "_ext", dep="libdep.so", rpath=rpath, new_dtags=new_dtags
            ),
            lib_at: cc.library("libdep.so"),
            "mypkg.libs/libunrelated.so": cc.library("libunrelated.so", 7),
            "mypkg/libother.so.1": cc.library("libother.so.1", 8),
            "mypkg/data.txt": "data\n",
        },
    )


def extension_archive(cc: Compiler, path: Path, members: dict[str, object]) -> str:
    """An archive of *members*, where ``ext:NAME`` values become compiled extension NAME."""
    built: dict[str, bytes | str] = {}
    for name, value in members.items():
        if isinstance(value, str) and value.startswith("ext:"):
            built[name] = cc.extension(value[4:])
        else:
            assert isinstance(value, (bytes, str))
            built[name] = value
    return make_zip(path, built)


# -- finding and loading ----------------------------------------------------------


def test_extension_module_loads_from_extraction_cache(cc, tmp_path, cache, installed):
    archive = extension_archive(
        cc,
        tmp_path / "a.zip",
        {"pkg/": b"", "pkg/__init__.py": "", f"pkg/tiny{SUFFIX}": "ext:tiny"},
    )
    sys.path.insert(0, archive)
    import pkg.tiny

    mod = pkg.tiny
    assert mod.KIND == "extension"
    (slot,) = slots(cache)
    expected = str(slot / "pkg" / f"tiny{SUFFIX}")
    assert mod.__file__ == mod.__spec__.origin == expected
    loader = mod.__spec__.loader
    assert isinstance(loader, importlib.machinery.ExtensionFileLoader)
    assert isinstance(loader, extraction.ExtensionLoader)
    assert (loader.archive, loader.member, loader.root) == (
        archive,
        f"pkg{os.sep}tiny{SUFFIX}",
        str(slot),
    )
    assert Path(expected).read_bytes() == cc.extension("tiny")
    assert stat.S_IMODE(os.stat(expected).st_mode) == 0o500
    for directory in (cache / "extensions", slot, slot / "pkg"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    # The slot's name is the SHA-256 of what it holds.
    digest = hashlib.sha256(cc.extension("tiny")).hexdigest()
    listing = f"pkg/tiny{SUFFIX}\0{len(cc.extension('tiny'))}\0{digest}\0"
    assert slot.name == hashlib.sha256(listing.encode()).hexdigest()[: extraction.SLOT_DIGITS]
    # The package itself still comes from the archive.
    assert type(pkg.__loader__) is ZipImporter


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_suffix_of_this_python_is_matched(cc, tmp_path, cache, installed, suffix):
    archive = extension_archive(
        cc, tmp_path / "a.zip", {f"tiny_{len(suffix)}{suffix}": f"ext:tiny_{len(suffix)}"}
    )
    sys.path.insert(0, archive)
    mod = importlib.import_module(f"tiny_{len(suffix)}")
    assert mod.KIND == "extension"
    assert mod.__file__.endswith(f"{os.sep}tiny_{len(suffix)}{suffix}")


#: name -> (members, what ``import mod`` gives: "extension", "python" or "missing").
PRECEDENCE = {
    "extension before source": (
        {"mod.py": "KIND = 'python'\n", f"mod{SUFFIX}": "ext:mod"},
        "extension",
    ),
    "extension before bytecode": ({"mod.pyc": "pyc", f"mod{SUFFIX}": "ext:mod"}, "extension"),
    "python package before module extension": (
        {"mod/": b"", "mod/__init__.py": "KIND = 'python'\n", f"mod{SUFFIX}": "ext:mod"},
        "python",
    ),
    "extension package before python package": (
        {"mod/": b"", "mod/__init__.py": "KIND = 'python'\n", f"mod/__init__{SUFFIX}": "ext:mod"},
        "extension",
    ),
    "extension package before python module": (
        {"mod.py": "KIND = 'python'\n", "mod/": b"", f"mod/__init__{SUFFIX}": "ext:mod"},
        "extension",
    ),
    "this python's own suffix first": (
        {**{f"mod{s}": b"not loaded" for s in SUFFIXES[1:]}, f"mod{SUFFIX}": "ext:mod"},
        "extension",
    ),
    "another python's extension is not matched": (
        {f"mod{FOREIGN}": b"\x7fELF not for us", "mod.py": "KIND = 'python'\n"},
        "python",
    ),
    "another python's extension alone": ({f"mod{FOREIGN}": b"\x7fELF not for us"}, "missing"),
}


@pytest.mark.parametrize("case", PRECEDENCE)
def test_precedence(cc, tmp_path, cache, installed, case):
    members, expected = PRECEDENCE[case]
    if "mod.pyc" in members:
        code = compile("KIND = 'python'\n", "mod.py", "exec")
        members = {**members, "mod.pyc": importlib.util.MAGIC_NUMBER + b"\0" * 12 + _marshal(code)}
    sys.path.insert(0, extension_archive(cc, tmp_path / "a.zip", members))
    if expected == "missing":
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("mod")
        return
    kind = importlib.import_module("mod").KIND
    assert kind == expected


def _marshal(code: object) -> bytes:
    import marshal

    return marshal.dumps(code)


def test_extension_package_has_the_archive_directory_as_path(cc, tmp_path, cache, installed):
    archive = extension_archive(
        cc,
        tmp_path / "a.zip",
        {
            "xpkg/": b"",
            f"xpkg/__init__{SUFFIX}": "ext:xpkg",
            "xpkg/sub.py": "X = 1\n",
            "xpkg/res.txt": "hi",
        },
    )
    sys.path.insert(0, archive)
    import xpkg
    import xpkg.sub

    assert xpkg.KIND == "extension"
    assert xpkg.__path__ == [f"{archive}{os.sep}xpkg"]
    assert xpkg.__spec__.loader.is_package("xpkg")
    assert xpkg.sub.X == 1 and type(xpkg.sub.__loader__) is ZipImporter
    # Data beside the extension is read from the archive, not the extraction directory.
    assert pkgutil.get_data("xpkg", "res.txt") == b"hi"
    assert importlib.resources.files("xpkg").joinpath("res.txt").read_bytes() == b"hi"
    zi = ZipImporter(archive)
    assert zi.is_package("xpkg") is True
    assert ("xpkg", True) in list(zi.iter_modules())


def test_importer_api_knows_extension_modules(cc, tmp_path, cache):
    archive = extension_archive(
        cc, tmp_path / "a.zip", {f"solo{SUFFIX}": "ext:solo", "other.txt": "x"}
    )
    zi = ZipImporter(archive)
    assert zi.is_package("solo") is False
    assert zi.get_source("solo") is None  # there, but no source
    spec = zi.find_spec("solo")
    again = zi.find_spec("solo")
    assert spec.origin == again.origin and os.path.isfile(spec.origin)
    assert spec.has_location and spec.submodule_search_locations is None
    assert ("solo", False) in list(zi.iter_modules())
    assert zi.find_spec("other") is None


def test_archive_without_extension_names_is_not_probed(tmp_path, cache, installed):
    """A pure-Python archive never loads the extraction code (a scan of its directory says so)."""
    archive = make_zip(tmp_path / "a.zip", {"plain.py": "X = 1\n"})
    code = f"""
import sys, zipimporter
zipimporter.install()
sys.path.insert(0, {archive!r})
import plain
print("zipimporter.extraction" in sys.modules)
"""
    proc = run_python("-c", code, cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# -- what is extracted -----------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "new_dtags"), [("libs", False), ("libs", True), ("sibling", False)]
)
def test_libraries_the_extension_links_against_are_extracted(cc, tmp_path, layout, new_dtags):
    """Exactly the extension and its libdep.so, in the archive's layout; run in a fresh process."""
    archive = dep_archive(cc, tmp_path / "dep.zip", layout, new_dtags)
    cache = tmp_path / "cache"
    code = f"""
import json, sys, zipimporter
zipimporter.install()
sys.path.insert(0, {archive!r})
import mypkg
print(json.dumps([mypkg.VALUE, mypkg._ext.__file__]))
"""
    proc = run_python("-c", code, cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    value, file = json.loads(proc.stdout)
    assert value == 42
    (slot,) = slots(cache)
    lib = "mypkg.libs/libdep.so" if layout == "libs" else "mypkg/libdep.so"
    assert slot_files(slot) == {f"mypkg/_ext{SUFFIX}", lib}
    assert file == str(slot / "mypkg" / f"_ext{SUFFIX}")


def test_elf_dynamic_reads_needed_and_search_paths(cc):
    rpath = extraction.elf_dynamic(cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN/../x.libs"))
    runpath = extraction.elf_dynamic(
        cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN:$ORIGIN/lib", new_dtags=True)
    )
    assert rpath is not None and runpath is not None
    assert "libdep.so" in rpath[0] and rpath[1:] == (["$ORIGIN/../x.libs"], [])
    assert "libdep.so" in runpath[0] and runpath[1:] == ([], ["$ORIGIN:$ORIGIN/lib"])
    assert extraction.elf_dynamic(cc.library()) is not None


def test_elf_dynamic_never_raises_on_damaged_objects(cc):
    good = cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN/../x.libs")
    rng = random.Random(11)
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(0, 128) if rng.random() < 0.5 else rng.randrange(len(data))
            data[at] = rng.randrange(256)
        if rng.random() < 0.2:
            del data[rng.randrange(len(data)) :]
        found = extraction.elf_dynamic(bytes(data))
        assert found is None or all(isinstance(s, str) for part in found for s in part)


def test_origin_relative_paths_never_leave_the_archive():
    assert extraction.origin_directories(
        "a/b", ["$ORIGIN/../../..", "/abs", "$ORIGIN/../../c"]
    ) == ["c"]
    assert extraction.origin_directories("", ["$ORIGIN/.."]) == []


def test_mypyc_style_shared_module_is_imported_not_linked(cc, tmp_path, cache, installed):
    """A top-level helper module imported by a package's extension: found at the archive root."""
    helper = cc.extension("h4sh__mypyc")
    shim_c = MODULE_C % {
        "name": "shim",
        "prelude": "",
        "methods": "NULL",
    }
    shim_c = shim_c.replace(
        "PyObject *m = PyModule_Create(&def);",
        'PyObject *h = PyImport_ImportModule("h4sh__mypyc"); if (!h) return NULL; Py_DECREF(h);\n'
        "    PyObject *m = PyModule_Create(&def);",
    )
    shim = cc._run(("shim",), shim_c, [f"-I{cc.include}"])
    archive = make_zip(
        tmp_path / "m.zip",
        {
            f"h4sh__mypyc{SUFFIX}": helper,
            "mp/": b"",
            "mp/__init__.py": "",
            f"mp/shim{SUFFIX}": shim,
        },
    )
    sys.path.insert(0, archive)
    import mp.shim

    helper_mod = sys.modules["h4sh__mypyc"]
    assert mp.shim.KIND == helper_mod.KIND == "extension"
    assert helper_mod.__spec__.loader.archive == archive
    assert {slot_files(s).pop() for s in slots(cache)} == {
        f"h4sh__mypyc{SUFFIX}",
        f"mp/shim{SUFFIX}",
    }


# -- the cache: reuse, damage, trust, cache off, concurrency ----------------------

IMPORT_TINY = """
import json, os, sys, zipimporter
zipimporter.install()
sys.path.insert(0, sys.argv[1])
import tiny
st = os.stat(tiny.__file__)
print(json.dumps([tiny.KIND, tiny.__file__, st.st_ino]))
"""


def run_tiny(archive: str, cache: Path, **env: str | None) -> tuple[str, str, int]:
    proc = run_python("-c", IMPORT_TINY, archive, cache_dir=cache, env=env)
    assert proc.returncode == 0, proc.stderr
    kind, file, inode = json.loads(proc.stdout)
    return kind, file, inode


@pytest.fixture
def tiny_archive(cc: Compiler, tmp_path: Path) -> str:
    return make_zip(tmp_path / "tiny.zip", {f"tiny{SUFFIX}": cc.extension("tiny")})


def test_warm_import_reuses_the_extracted_file(tiny_archive, tmp_path):
    cache = tmp_path / "cache"
    first = run_tiny(tiny_archive, cache)
    second = run_tiny(tiny_archive, cache)
    assert first == second  # same file, not written again
    # A copy of the archive elsewhere shares the slot (content-addressed).
    copy = shutil.copy(tiny_archive, tmp_path / "copy.zip")
    assert run_tiny(str(copy), cache) == first
    assert len(slots(cache)) == 1


def _make_writable(path: str) -> None:
    os.chmod(path, 0o700)


DAMAGE: dict[str, Callable[[str], None]] = {
    "truncated": lambda p: (_make_writable(p), os.truncate(p, 100)),
    "same size, other bytes, mtime put back": lambda p: _rewrite_keeping_mtime(p),
    "replaced by a symlink": lambda p: (os.unlink(p), os.symlink("/bin/true", p)),
    "removed": os.unlink,
    "manifest removed": lambda p: os.unlink(Path(p).parent / extraction.MANIFEST),
}


def _rewrite_keeping_mtime(path: str) -> None:
    st = os.stat(path)
    _make_writable(path)
    with open(path, "r+b") as fp:
        fp.seek(st.st_size // 2)
        fp.write(b"\xcc" * 64)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_extracted_file_is_replaced_never_loaded(cc, tiny_archive, tmp_path, damage):
    cache = tmp_path / "cache"
    _, file, _ = run_tiny(tiny_archive, cache)
    DAMAGE[damage](file)
    kind, again, _ = run_tiny(tiny_archive, cache)
    assert kind == "extension" and again == file
    assert Path(file).read_bytes() == cc.extension("tiny")
    assert not Path(file).is_symlink()
    assert len(slots(cache)) == 1


def test_changed_stat_with_the_same_bytes_is_kept(tiny_archive, tmp_path):
    """A chmod (new ctime) makes the file be hashed again, not rewritten."""
    cache = tmp_path / "cache"
    _, file, inode = run_tiny(tiny_archive, cache)
    os.chmod(file, 0o500)  # same mode, new ctime
    manifest = Path(file).parents[0] / extraction.MANIFEST
    before = manifest.read_bytes()
    assert run_tiny(tiny_archive, cache) == ("extension", file, inode)
    assert manifest.read_bytes() != before  # the new ctime was recorded
    assert run_tiny(tiny_archive, cache) == ("extension", file, inode)


def test_rewritten_archive_gets_its_new_extension(cc, tmp_path):
    cache = tmp_path / "cache"
    archive = tmp_path / "tiny.zip"
    make_zip(archive, {f"tiny{SUFFIX}": cc.extension("tiny")})
    _, first, _ = run_tiny(str(archive), cache)
    other = cc.extension("tiny", dep="libdep.so", rpath="$ORIGIN")
    make_zip(archive, {f"tiny{SUFFIX}": other, "libdep.so": cc.library()})
    _, second, _ = run_tiny(str(archive), cache)
    assert first != second and Path(second).read_bytes() == other
    assert len(slots(cache)) == 2


def test_cache_off_extracts_to_a_private_directory_removed_at_exit(tiny_archive, tmp_path):
    cache = tmp_path / "cache"
    kind, file, _ = run_tiny(tiny_archive, cache, ZIPIMPORTER_CACHE="0")
    assert kind == "extension"
    private = Path(file).parents[1]  # <tmp>/zipimporter-ext-XXXX/<slot>/tiny...
    assert private.name.startswith("zipimporter-ext-")
    assert not private.exists()
    assert not (cache / "extensions").exists()


IMPORT_TINY_FROM_BYTES = """
import json, os, sys, zipimporter
zipimporter.install()
with open(sys.argv[1], "rb") as fp:
    sys.path.insert(0, zipimporter.from_bytes(fp.read(), "tiny"))
import tiny
print(json.dumps([tiny.KIND, tiny.__file__]))
"""


def test_archive_in_memory_extracts_to_the_private_directory_only(tiny_archive, tmp_path):
    """design.md: an archive given as bytes (maybe decrypted) leaves nothing on disk past
    its process, even with the cache on: its extensions go to the private directory."""
    cache = tmp_path / "cache"
    proc = run_python("-c", IMPORT_TINY_FROM_BYTES, tiny_archive, cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    kind, file = json.loads(proc.stdout)
    assert kind == "extension"
    private = Path(file).parents[1]
    assert private.name.startswith("zipimporter-ext-")
    assert not private.exists()
    assert not (cache / "extensions").exists()


def test_untrusted_cache_falls_back_to_a_private_directory(tiny_archive, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    proc = run_python("-W", "always", "-c", IMPORT_TINY, tiny_archive, cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert "CacheDisabledWarning" in proc.stderr
    kind, file, _ = json.loads(proc.stdout)
    assert kind == "extension" and Path(file).parents[1].name.startswith("zipimporter-ext-")
    assert not (cache / "extensions").exists()


def test_private_directory_survives_a_forked_child(tiny_archive, tmp_path):
    code = """
import os, sys, zipimporter
zipimporter.install()
sys.path.insert(0, sys.argv[1])
import tiny
pid = os.fork()
if pid == 0:
    sys.exit(0)  # runs atexit handlers in the child
os.waitpid(pid, 0)
print(os.path.exists(tiny.__file__))
"""
    proc = run_python(
        "-c", code, tiny_archive, cache_dir=tmp_path / "c", env={"ZIPIMPORTER_CACHE": "0"}
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_concurrent_processes_extract_once(cc, tmp_path):
    archive = dep_archive(cc, tmp_path / "dep.zip")
    cache = tmp_path / "cache"
    start = time.time() + 1.5
    code = f"""
import json, sys, time, zipimporter
zipimporter.install()
sys.path.insert(0, {archive!r})
while time.time() < {start}:
    time.sleep(0.001)
import mypkg
print(json.dumps([mypkg.VALUE, mypkg._ext.__file__]))
"""
    env = python_env(cache)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(tuple(json.loads(out)))
    assert len(set(results)) == 1 and results[0][0] == 42
    (slot,) = slots(cache)
    assert slot_files(slot) == {f"mypkg/_ext{SUFFIX}", "mypkg.libs/libdep.so"}
    leftovers = [p.name for p in (cache / "extensions").iterdir() if p.name.startswith(".")]
    assert leftovers == []


# -- hostile members --------------------------------------------------------------


def test_member_name_escaping_the_archive_is_never_extracted(cc, tmp_path, cache):
    archive = make_zip(tmp_path / "evil.zip", {f"../evil{SUFFIX}": cc.extension("evil")})
    zi = ZipImporter(f"{archive}{os.sep}..")
    spec = zi.find_spec("evil")
    assert spec is not None
    with pytest.raises(zipimporter.ZipImportError) as info:
        importlib.util.module_from_spec(spec)
    assert info.value.path == archive and archive in str(info.value)
    assert str(info.value) == extraction.UNSAFE_NAME.format(
        member=f"..{os.sep}evil{SUFFIX}", archive=archive
    )
    assert not (tmp_path / f"evil{SUFFIX}").exists() and slots(cache) == []


def _corrupt(archive: str, member: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    with open(archive, "r+b") as fp:
        fp.seek(info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 40)
        byte = fp.read(1)
        fp.seek(-1, os.SEEK_CUR)
        fp.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("member", [f"mypkg/_ext{SUFFIX}", "mypkg.libs/libdep.so"])
def test_corrupt_extension_or_library_is_an_error_naming_the_archive(
    cc, tmp_path, cache, installed, member
):
    archive = dep_archive(cc, tmp_path / "dep.zip")
    _corrupt(archive, member)
    sys.path.insert(0, archive)
    with pytest.raises(zipimporter.ZipImportError) as info:
        importlib.import_module("mypkg._ext")
    assert info.value.path == archive and repr(archive) in str(info.value)
    assert slots(cache) == []


@pytest.mark.parametrize("refusal", ["no-init", "missing-library"])
def test_dynamic_loader_refusal_names_the_archive(cc, tmp_path, cache, installed, refusal):
    """An intact extension the dynamic loader refuses (a library posing as an extension
    module, or one whose library is not in the archive) is a ZipImportError naming the
    archive and the member, with the loader's own ImportError as its cause."""
    if refusal == "no-init":
        members = {f"fake{SUFFIX}": cc.library("libfake.so")}
    else:
        members = {f"fake{SUFFIX}": cc.extension("fake", dep="libdep.so", rpath="$ORIGIN/libs")}
    archive = make_zip(tmp_path / "refused.zip", members)
    sys.path.insert(0, archive)
    with pytest.raises(zipimporter.ZipImportError) as info:
        importlib.import_module("fake")
    cause = info.value.__cause__
    assert type(cause) is ImportError and cause.path is not None
    assert str(info.value) == extraction.CANT_LOAD.format(
        member=f"fake{SUFFIX}", archive=archive, error=cause
    )
    assert info.value.path == archive and info.value.name == "fake"
    assert Path(cause.path).name == f"fake{SUFFIX}"  # the extracted file


def test_extraction_is_bounded_by_the_member_size_limit(
    cc, tmp_path, cache, installed, monkeypatch
):
    archive = dep_archive(cc, tmp_path / "dep.zip")
    ext = len(cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN/../mypkg.libs"))
    monkeypatch.setenv(
        "ZIPIMPORTER_MAX_MEMBER_SIZE", str(ext + 10)
    )  # the extension, not its library
    sys.path.insert(0, archive)
    with pytest.raises(zipimporter.ZipImportError) as info:
        importlib.import_module("mypkg._ext")
    assert info.value.path == archive
    assert str(info.value).startswith(
        extraction.TOO_BIG.split("{size}")[0].format(
            member=f"mypkg{os.sep}_ext{SUFFIX}", archive=archive
        )
    )
    assert slots(cache) == []


FUZZ = """
import importlib, json, os, random, shutil, sys, zipimporter
zipimporter.install()
source, workdir, seed, cases = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(source, "rb").read()
rng = random.Random(seed)
outcomes = {}
for case in range(cases):
    mutated = bytearray(data)
    kind = rng.choice(["flip", "flip-data", "zero4", "truncate"])
    if kind == "truncate":
        del mutated[rng.randrange(len(mutated)):]
    else:
        lo, hi = (int(sys.argv[5]), int(sys.argv[6])) if kind == "flip-data" else (0, len(mutated))
        at = rng.randrange(lo, hi)
        for i in range(at, min(at + (4 if kind == "zero4" else 1), len(mutated))):
            mutated[i] = 0 if kind == "zero4" else mutated[i] ^ (1 << rng.randrange(8))
    path = os.path.join(workdir, f"case{case}.zip")
    with open(path, "wb") as fp:
        fp.write(mutated)
    sys.path.insert(0, path)
    try:
        mod = importlib.import_module("mypkg._ext")
        outcome = "loaded" if mod.value() == 42 else "wrong value"
    except ImportError as exc:
        outcome = type(exc).__name__
        if isinstance(exc, zipimporter.ZipImportError) and exc.path not in (path, None):
            outcome = "wrong path: " + repr(exc.path)
    except Exception as exc:
        outcome = "ESCAPE " + type(exc).__name__ + ": " + str(exc)
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    sys.path.remove(path)
    for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
        del sys.modules[name]
    sys.path_importer_cache.pop(path, None)
print(json.dumps(outcomes))
"""


def test_fuzzed_archives_with_an_extension_load_only_intact_members(cc, tmp_path):
    """Mutated archives: only ImportErrors escape, and no slot holds anything but the real files."""
    archive = dep_archive(cc, tmp_path / "dep.zip")
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(f"mypkg/_ext{SUFFIX}")
    lo, hi = info.header_offset, info.header_offset + 30 + len(info.filename) + info.compress_size
    cases = int(os.environ.get("ZIPIMPORTER_EXT_FUZZ_CASES", "300"))
    workdir = tmp_path / "cases"
    workdir.mkdir()
    cache = tmp_path / "cache"
    proc = run_python(
        "-c",
        FUZZ,
        archive,
        workdir,
        "7",
        str(cases),
        str(lo),
        str(hi),
        cache_dir=cache,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcomes = json.loads(proc.stdout)
    bad = {k: v for k, v in outcomes.items() if k.startswith(("ESCAPE", "wrong"))}
    assert not bad, outcomes
    assert set(outcomes) <= {"loaded", "ZipImportError", "ModuleNotFoundError", "ImportError"}
    good = {f"mypkg/_ext{SUFFIX}", "mypkg.libs/libdep.so"}
    originals = {
        f"mypkg/_ext{SUFFIX}": cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN/../mypkg.libs"),
        "mypkg.libs/libdep.so": cc.library(),
    }
    for slot in slots(cache):
        assert slot_files(slot) == good
        for name in good:
            assert (slot / name).read_bytes() == originals[name]
    assert len(slots(cache)) <= 1


# -- build, inspect, verify -------------------------------------------------------


def test_build_keeps_extensions_and_libs_and_the_bundle_runs_them(cc, tmp_path):
    src = tmp_path / "src"
    (src / "mypkg").mkdir(parents=True)
    (src / "mypkg.libs").mkdir()
    (src / "mypkg" / "__init__.py").write_text("from . import _ext\nVALUE = _ext.value()\n")
    (src / "mypkg" / f"_ext{SUFFIX}").write_bytes(
        cc.extension("_ext", dep="libdep.so", rpath="$ORIGIN/../mypkg.libs")
    )
    (src / "mypkg.libs" / "libdep.so").write_bytes(cc.library())
    (src / "__main__.py").write_text("import mypkg\nprint(mypkg.VALUE, mypkg._ext.__file__)\n")
    out = tmp_path / "app.pyz"
    bundle.build([str(src)], str(out), compression="bzip2")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    assert {f"mypkg/_ext{SUFFIX}", "mypkg.libs/libdep.so"} <= names
    env = {"PYTHONPATH": None}  # nothing installed: the bundle's own runtime
    cache = tmp_path / "cache"
    proc = run_python(out, cache_dir=cache, env=env)
    assert proc.returncode == 0, proc.stderr
    value, file = proc.stdout.split()
    assert value == "42" and file.startswith(str(cache / "extensions"))


def test_inspect_lists_extension_modules(cc, tmp_path):
    archive = dep_archive(cc, tmp_path / "dep.zip")
    report = inspection.inspect_archive(archive)
    modules = {m.name: m for m in report.modules}
    ext = modules["mypkg._ext"]
    assert (ext.kind, ext.extension, ext.uses, ext.importable) == (
        "module",
        f"mypkg{os.sep}_ext{SUFFIX}",
        inspection.Use.EXTENSION,
        True,
    )
    assert f"mypkg{os.sep}_ext{SUFFIX}" not in report.data_files
    assert f"mypkg.libs{os.sep}libdep.so" in report.data_files


def test_inspect_extension_package_without_python_init(cc, tmp_path):
    archive = extension_archive(
        cc, tmp_path / "a.zip", {f"xpkg/__init__{SUFFIX}": "ext:xpkg", "xpkg/sub.py": "X = 1\n"}
    )
    modules = {m.name: m for m in inspection.inspect_archive(archive).modules}
    assert modules["xpkg"].kind == "package" and modules["xpkg"].uses is inspection.Use.EXTENSION
    assert modules["xpkg.sub"].uses is inspection.Use.SOURCE


def test_verify_warns_of_extensions_for_another_python(cc, tmp_path):
    archive = make_zip(
        tmp_path / "a.zip",
        {
            f"alone{FOREIGN}": b"\x7fELF",
            f"withpy{FOREIGN}": b"\x7fELF",
            "withpy.py": "",
            f"both{FOREIGN}": b"\x7fELF",
            f"both{SUFFIX}": cc.extension("both"),
            "win.cp312-win_amd64.pyd": b"MZ",
        },
    )
    problems = {p.member: p for p in inspection.verify_archive(archive)}
    suffixes = ", ".join(SUFFIXES)

    def text(suffix: str, fallback: str) -> str:
        return messages.EXTENSION_FOREIGN.format(
            suffix=suffix, suffixes=suffixes, fallback=fallback
        )

    assert problems[f"alone{FOREIGN}"].problem == text(FOREIGN, messages.NO_FALLBACK)
    assert problems[f"withpy{FOREIGN}"].problem == text(FOREIGN, messages.PYTHON_MODULE_USED)
    assert problems["win.cp312-win_amd64.pyd"].problem == text(
        ".cp312-win_amd64.pyd", messages.NO_FALLBACK
    )
    assert all(p.severity is inspection.Severity.WARNING for p in problems.values())
    assert f"both{FOREIGN}" not in problems  # this Python has its own
    assert set(problems) == {f"alone{FOREIGN}", f"withpy{FOREIGN}", "win.cp312-win_amd64.pyd"}
    modules = {m.name: m for m in inspection.inspect_archive(archive).modules}
    assert modules["alone"].importable is False
    assert modules["alone"].note == text(FOREIGN, messages.NO_FALLBACK)
    assert modules["both"].uses is inspection.Use.EXTENSION


def test_extension_name_doctests():
    import doctest

    assert doctest.testmod(extraction).failed == 0


# -- real wheels from PyPI --------------------------------------------------------

#: requirement -> the script that checks the package from its wheel (prints JSON).
WHEELS = {
    "markupsafe": """
import markupsafe, markupsafe._speedups as ext
result = {
    "escape": str(markupsafe.escape("<a href='x'>&</a>")),
    "inner": markupsafe._escape_inner.__module__,
}
""",
    "pyyaml": """
import yaml, yaml._yaml as ext
doc = yaml.load("a: [1, 2]\\nb: {c: d}\\n", Loader=yaml.CLoader)
result = {
    "libyaml": yaml.__with_libyaml__,
    "doc": doc,
    "dump": yaml.dump(doc, Dumper=yaml.CDumper),
    "loader": type(yaml.CLoader("x: 1")).__mro__[1].__module__,
}
""",
    "charset-normalizer<3.5": """
import charset_normalizer, charset_normalizer.md, charset_normalizer.cd
# mypyc's shared helper, a top-level extension module the package's extensions import.
ext = next(m for n, m in sys.modules.items() if n.endswith("__mypyc"))
shims = [charset_normalizer.md, charset_normalizer.cd]
text = "Bonjour, ça va? Très bien, merci. Où est la bibliothèque? " * 4
best = charset_normalizer.from_bytes(text.encode("utf_16")).best()
result = {
    "helper_top_level": "." not in ext.__name__,
    "shims_from_archive": [
        getattr(m.__spec__.loader, "archive", None) == sys.argv[1] for m in shims
    ],
    "shims_extension": [m.__spec__.origin.endswith(".so") for m in shims],
    "decoded": str(best),
    "encoding": best.encoding,
    "mess": [charset_normalizer.md.mess_ratio(t) for t in (text, "ÃƒÂ©Ã¨ Ã Ã§ Ã©tÃ©")],
}
""",
    "pytokens": """
import pytokens as ext
import pytokens.cli
tokens = [t.type.name for t in ext.tokenize("x = 1\\n")]
result = {
    "path": ext.__path__,
    "tokens": tokens[:3],
    "cli_from_archive": type(pytokens.cli.__loader__).__name__,
}
""",
    "psycopg2-binary": """
import psycopg2, psycopg2._psycopg as ext
from psycopg2.extensions import QuotedString
result = {
    "libpq": psycopg2.__libpq_version__,
    "quoted": QuotedString("O'Reilly").getquoted().decode(),
}
""",
}

WHEEL_SCRIPT = """
import json, os, sys, time, zipimporter
zipimporter.install()
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
{body}
seconds = time.perf_counter() - t0
loader = ext.__spec__.loader
result.update(
    file=ext.__file__, origin=ext.__spec__.origin, archive=loader.archive, member=loader.member,
    root=loader.root, seconds=seconds, inode=os.stat(ext.__file__).st_ino,
)
print(json.dumps(result))
"""


def _index_reachable() -> str | None:
    """None if the package index answers, else why not."""
    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/").rstrip("/") + "/pip/"
    try:
        with urllib.request.urlopen(url, timeout=20):
            return None
    except OSError as exc:
        return f"{url}: {exc}"


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """requirement -> its wheel for this Python, downloaded with pip now."""
    directory = tmp_path_factory.mktemp("wheels")
    cmd = [
        sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps",
        "--python-version", VERSION, "--disable-pip-version-check", "-d", str(directory), *WHEELS,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        why = _index_reachable()
        if why is not None:
            print(f"skipping the real-wheel tests: the package index is unreachable ({why})")
            pytest.skip(f"package index unreachable: {why}")
        pytest.fail(f"pip download failed:\n{proc.stderr[-3000:]}")
    found: dict[str, Path] = {}
    for requirement in WHEELS:
        project = requirement.partition("<")[0].replace("-", "_").lower()
        (found[requirement],) = [
            w for w in directory.glob("*.whl") if w.name.lower().startswith(project + "-")
        ]
    return found


@pytest.mark.parametrize("requirement", WHEELS)
def test_real_wheel_extension_from_the_wheel_file(wheels, tmp_path, requirement):
    wheel = str(wheels[requirement])
    cache = tmp_path / "cache"
    script = WHEEL_SCRIPT.format(body=textwrap.dedent(WHEELS[requirement]))
    runs = []
    for _ in ("cold", "warm"):
        proc = run_python("-c", script, wheel, cache_dir=cache)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(json.loads(proc.stdout))
    cold, warm = runs
    cold_ms, warm_ms = cold["seconds"] * 1000, warm["seconds"] * 1000
    print(f"{requirement} on {VERSION}: cold {cold_ms:.1f} ms, warm {warm_ms:.1f} ms")
    # The extension is in use, from an extraction directory, and known to come from the wheel.
    root = Path(cold["root"])
    assert root.parent == cache / "extensions"
    assert cold["file"] == cold["origin"] == str(root / cold["member"])
    assert cold["archive"] == wheel
    assert cold["member"].endswith(SUFFIX)
    with zipfile.ZipFile(wheel) as zf:
        assert (root / cold["member"]).read_bytes() == zf.read(cold["member"].replace(os.sep, "/"))
    # The warm run reused the very same file.
    assert (warm["file"], warm["inode"]) == (cold["file"], cold["inode"])
    checks = {
        k: v
        for k, v in cold.items()
        if k not in ("file", "origin", "archive", "member", "root", "seconds", "inode")
    }
    if requirement == "markupsafe":
        assert checks == {
            "escape": "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;",
            "inner": "markupsafe._speedups",
        }
    elif requirement == "pyyaml":
        assert checks["libyaml"] is True and checks["doc"] == {"a": [1, 2], "b": {"c": "d"}}
        assert checks["dump"] == "a:\n- 1\n- 2\nb:\n  c: d\n"
        assert checks["loader"] == "yaml._yaml"
    elif requirement.startswith("charset-normalizer"):
        assert checks["helper_top_level"] and cold["member"] == Path(cold["file"]).name
        # The first shim goes through our finder; mypyc itself may initialise
        # the other (an import within its group), with a spec of its own.
        assert checks["shims_from_archive"][0] or checks["shims_from_archive"][1]
        assert checks["shims_extension"] == [True, True]
        assert checks["encoding"] == "utf_16"
        assert checks["mess"][0] == 0.0 and checks["mess"][1] > 0.5
        assert checks["decoded"] == "Bonjour, ça va? Très bien, merci. Où est la bibliothèque? " * 4
    elif requirement == "pytokens":
        assert cold["member"] == f"pytokens{os.sep}__init__{SUFFIX}"
        assert checks["path"] == [f"{wheel}{os.sep}pytokens"]
        assert checks["tokens"] == ["identifier", "whitespace", "op"]
        assert checks["cli_from_archive"] == "zipimporter"
    elif requirement == "psycopg2-binary":
        assert checks["libpq"] >= 90000 and checks["quoted"] == "'O''Reilly'"
        files = slot_files(root)
        libs = {f for f in files if f.startswith("psycopg2_binary.libs/")}
        assert any(f.startswith("psycopg2_binary.libs/libpq-") for f in libs)
        with zipfile.ZipFile(wheel) as zf:
            in_wheel = {
                n
                for n in zf.namelist()
                if n.startswith("psycopg2_binary.libs/") and not n.endswith("/")
            }
        assert libs <= in_wheel and files == libs | {cold["member"].replace(os.sep, "/")}

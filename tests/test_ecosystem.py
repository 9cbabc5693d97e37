"""The importer among the tools around it: pkgutil, importlib.metadata and importlib.resources,
real packages (the stdlib's, pip, PyPI's), wheels, -X importtime, coverage, pytest and pdb.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import pkgutil
import re
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import zipimporter
from conftest import forget, import_fresh, make_zip, run_python
from zipimporter import bundle


def run_script(tmp_path: Path, body: str, *args: str | Path) -> dict:
    """Run PREAMBLE + *body* (which prints one JSON document); return what it printed."""
    script = tmp_path / "script.py"
    script.write_text(PREAMBLE + textwrap.dedent(body), encoding="utf-8")
    proc = run_python(script, *args, cache_dir=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


#: The preamble of the subprocess scripts: our importer, the archive first on sys.path,
#: and none of the modules that are to come from it already imported.
PREAMBLE = """\
import json as _json, sys
import zipimporter

TOPS = set(sys.argv[2:])
for _name in list(sys.modules):
    if _name.partition(".")[0] in TOPS:
        del sys.modules[_name]
zipimporter.install()
sys.path.insert(0, sys.argv[1])


def where(module):
    return [type(module.__spec__.loader).__module__, module.__file__]
"""


# -- pkgutil ----------------------------------------------------------------

MODULES = {
    "top.py": "TOP = 1\n",
    "pkga/": b"",
    "pkga/__init__.py": "",
    "pkga/sub.py": "SUB = 1\n",
    "pkga/_private.py": "",
    "pkga/inner/": b"",
    "pkga/inner/__init__.py": "",
    "pkga/inner/deep.py": "",
    "pkga/data.txt": "not a module\n",
    "compiled.pyc": b"",
    "nspace/": b"",
    "nspace/portion.py": "",
    "README.txt": "hello\n",
}


@pytest.fixture
def modules_zip(tmp_path: Path) -> str:
    path = make_zip(tmp_path / "modules.zip", MODULES)
    sys.path.insert(0, path)
    return path


def importers_compared(probe):
    """*probe*() with the stdlib zipimporter, then with ours installed."""
    forget("top", "pkga", "nspace", "compiled")
    std = probe()
    forget("top", "pkga", "nspace", "compiled")
    with zipimporter.install():
        ours = probe()
    forget("top", "pkga", "nspace", "compiled")
    return std, ours


def test_pkgutil_iter_modules_of_an_archive(modules_zip):
    def probe() -> list[tuple[str, str, bool]]:
        return [
            (type(info.module_finder).__module__, info.name, info.ispkg)
            for info in pkgutil.iter_modules([modules_zip])
        ]

    std, ours = importers_compared(probe)
    assert [(name, ispkg) for _, name, ispkg in ours] == [(name, ispkg) for _, name, ispkg in std]
    assert {finder for finder, _, _ in ours} == {"zipimporter.importer"}
    assert {finder for finder, _, _ in std} == {"zipimport"}
    assert sorted((name, ispkg) for _, name, ispkg in ours) == [
        ("compiled", False),
        ("pkga", True),
        ("top", False),
    ]


def test_pkgutil_iter_modules_of_a_package_path(modules_zip):
    def probe() -> tuple[list[str], list[tuple[str, bool]]]:
        import pkga

        return pkga.__path__, [(i.name, i.ispkg) for i in pkgutil.iter_modules(pkga.__path__)]

    std, ours = importers_compared(probe)
    assert ours == std
    assert ours[0] == [os.path.join(modules_zip, "pkga")]
    assert sorted(ours[1]) == [("_private", False), ("inner", True), ("sub", False)]


def test_pkgutil_walk_packages(modules_zip):
    def probe() -> list[tuple[str, bool]]:
        walked = [(i.name, i.ispkg) for i in pkgutil.walk_packages([modules_zip])]
        assert type(sys.modules["pkga.inner"].__loader__).__name__ == "zipimporter"
        return walked

    std, ours = importers_compared(probe)
    assert ours == std
    assert sorted(ours) == [
        ("compiled", False),
        ("pkga", True),
        ("pkga._private", False),
        ("pkga.inner", True),
        ("pkga.inner.deep", False),
        ("pkga.sub", False),
        ("top", False),
    ]


# -- importlib.metadata -----------------------------------------------------

DIST_FILES = {
    "zdist_pkg/__init__.py": "__version__ = '1.0'\n",
    "zdist_pkg/cli.py": "def main():\n    return 'cli main'\n",
    "zdist_pkg/plugins.py": "def first():\n    return 'first plugin'\n",
}

METADATA = """\
Metadata-Version: 2.1
Name: zdist-pkg
Version: 1.0
Summary: A distribution inside an archive
Requires-Dist: six>=1.0
"""

ENTRY_POINTS = """\
[console_scripts]
zdist = zdist_pkg.cli:main

[zdist_pkg.plugins]
first = zdist_pkg.plugins:first
"""

DIST_INFO = "zdist_pkg-1.0.dist-info"


def dist_members() -> dict[str, str | bytes]:
    record = [f"{name},," for name in DIST_FILES]
    record += [f"{DIST_INFO}/{n},," for n in ("METADATA", "entry_points.txt", "RECORD")]
    return {
        "zdist_pkg/": b"",
        **DIST_FILES,
        f"{DIST_INFO}/": b"",
        f"{DIST_INFO}/METADATA": METADATA,
        f"{DIST_INFO}/entry_points.txt": ENTRY_POINTS,
        f"{DIST_INFO}/RECORD": "\n".join(record) + "\n",
    }


def test_importlib_metadata(tmp_path, installed):
    archive = make_zip(tmp_path / "dist.zip", dist_members(), compression=zipfile.ZIP_DEFLATED)
    sys.path.insert(0, archive)
    dist = importlib.metadata.distribution("zdist-pkg")
    assert dist.version == importlib.metadata.version("zdist_pkg") == "1.0"
    assert dist.metadata["Summary"] == "A distribution inside an archive"
    assert dist.requires == ["six>=1.0"]

    (plugin,) = importlib.metadata.entry_points(group="zdist_pkg.plugins")
    assert (plugin.name, plugin.value) == ("first", "zdist_pkg.plugins:first")
    assert plugin.dist is not None and plugin.dist.name == "zdist-pkg"
    assert plugin.load()() == "first plugin"  # imported from the archive, by us
    assert type(sys.modules["zdist_pkg.plugins"].__loader__) is zipimporter.zipimporter
    scripts = importlib.metadata.entry_points(group="console_scripts", name="zdist")
    assert [ep.load()() for ep in scripts] == ["cli main"]

    files = dist.files
    assert files is not None
    assert sorted(str(f) for f in files) == sorted(
        [
            *DIST_FILES,
            f"{DIST_INFO}/METADATA",
            f"{DIST_INFO}/entry_points.txt",
            f"{DIST_INFO}/RECORD",
        ]
    )
    init = next(f for f in files if str(f) == "zdist_pkg/__init__.py")
    assert init.read_text() == DIST_FILES["zdist_pkg/__init__.py"]
    assert str(init.locate()) == os.path.join(archive, "zdist_pkg", "__init__.py")
    assert importlib.metadata.packages_distributions()["zdist_pkg"] == ["zdist-pkg"]


# -- importlib.resources ----------------------------------------------------

RESOURCES = {
    "zres/": b"",
    "zres/__init__.py": "",
    "zres/hello.txt": "h\u00e9llo from the archive\n",
    "zres/blob.bin": bytes(range(256)),
    "zres/templates/": b"",
    "zres/templates/a.html": "<p>a</p>\n",
    "zres/templates/b.html": "<p>b</p>\n",
    "zres/templates/nested/": b"",
    "zres/templates/nested/c.txt": "c\n",
}


@pytest.fixture
def zres(tmp_path: Path, installed: None) -> str:
    path = make_zip(tmp_path / "resources.zip", RESOURCES, compression=zipfile.ZIP_DEFLATED)
    sys.path.insert(0, path)
    module = import_fresh("zres", ours=True)
    assert type(module.__loader__) is zipimporter.zipimporter
    return path


def test_resources_read(zres):
    files = importlib.resources.files("zres")
    assert (
        files.joinpath("hello.txt").read_text(encoding="utf-8") == "h\u00e9llo from the archive\n"
    )
    assert files.joinpath("blob.bin").read_bytes() == bytes(range(256))
    assert (files / "templates" / "nested" / "c.txt").read_text() == "c\n"
    assert files.joinpath("hello.txt").is_file()
    assert files.joinpath("templates").is_dir()
    assert not files.joinpath("missing.txt").exists()


def test_resources_iterdir(zres):
    templates = importlib.resources.files("zres") / "templates"
    entries = sorted((p.name, p.is_dir()) for p in templates.iterdir())
    assert entries == [("a.html", False), ("b.html", False), ("nested", True)]
    contents = {p.name: p.read_text() for p in templates.iterdir() if p.is_file()}
    assert contents == {"a.html": "<p>a</p>\n", "b.html": "<p>b</p>\n"}


def test_resources_as_file_extracts_temporarily(zres):
    resource = importlib.resources.files("zres") / "blob.bin"
    with importlib.resources.as_file(resource) as path:
        assert isinstance(path, Path)
        assert path.is_file()
        assert not str(path).startswith(zres)  # a real file, outside the archive
        assert path.read_bytes() == bytes(range(256))
    assert not path.exists()


# -- real code --------------------------------------------------------------


def stdlib_dir(name: str) -> str:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations
    return spec.submodule_search_locations[0]


def test_stdlib_packages_from_an_archive(tmp_path):
    archive = tmp_path / "stdlib.zip"
    sources = [stdlib_dir(name) for name in ("json", "email", "xml")]
    assert bundle.build(sources, str(archive)).files > 50
    assert not any(
        n.endswith(".pyc") or "__pycache__" in n for n in zipfile.ZipFile(archive).namelist()
    )
    result = run_script(
        tmp_path,
        """
        import json, email, email.message, xml.dom.minidom

        data = {"a": [1, 2.5, None, True], "\u00e9": "\u00fc"}
        msg = email.message_from_string("Subject: hi\\nFrom: a@example.com\\n\\nbody\\n")
        doc = xml.dom.minidom.parseString("<root><item n='1'>text</item></root>")
        item = doc.documentElement.firstChild
        loaded = ["json", "json.decoder", "email", "email.parser", "email.message",
                  "xml", "xml.dom", "xml.dom.minidom"]
        print(_json.dumps({
            "where": {name: where(sys.modules[name]) for name in loaded},
            "json": json.loads(json.dumps(data)) == data,
            "email": [msg["Subject"], msg["From"], msg.get_payload(),
                      isinstance(msg, email.message.Message)],
            "xml": [item.tagName, item.getAttribute("n"), item.firstChild.data,
                    doc.toxml()],
        }))
        """,
        archive,
        "json",
        "email",
        "xml",
    )
    for name, (loader, file) in result["where"].items():
        assert loader == "zipimporter.importer", name
        assert file.startswith(str(archive) + os.sep), name
    assert result["json"] is True
    assert result["email"] == ["hi", "a@example.com", "body\n", True]
    assert result["xml"] == [
        "item",
        "1",
        "text",
        '<?xml version="1.0" ?><root><item n="1">text</item></root>',
    ]


def test_pip_from_an_archive(tmp_path):
    spec = importlib.util.find_spec("pip")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pip is not installed in this environment")
    archive = tmp_path / "pip.zip"
    bundle.build([spec.submodule_search_locations[0]], str(archive), compression="stored")
    env_args = ("--disable-pip-version-check", "--no-input")
    pip = ("-m", "zipimporter", "run", "-m", "pip", archive)
    cache = tmp_path / "cache"
    version = run_python(*pip, "--version", *env_args, cache_dir=cache)
    assert version.returncode == 0, version.stderr
    installed = importlib.metadata.version("pip")
    assert version.stdout.startswith(f"pip {installed} from {archive}{os.sep}pip ")
    listed = run_python(*pip, "list", "--format=json", *env_args, cache_dir=cache)
    assert listed.returncode == 0, listed.stderr
    assert "pip" in {d["name"] for d in json.loads(listed.stdout)}


PYPI_PACKAGES = ("six", "idna", "packaging")


def test_pypi_packages_from_an_archive(tmp_path):
    """Small pure-Python packages of the test extra, bundled from site-packages."""
    sources = []
    for name in PYPI_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            pytest.skip(f"{name} is not installed (pip install -e .[test])")
        locations = spec.submodule_search_locations
        sources.append(locations[0] if locations else spec.origin)  # six is a module
    archive = tmp_path / "pypi.zip"
    bundle.build(sources, str(archive), compile_pyc=True)
    result = run_script(
        tmp_path,
        """
        import six, idna, idna.uts46data
        from six.moves.urllib.parse import quote
        from packaging.requirements import Requirement
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version

        requirement = Requirement('spam[eggs]>=1.0,<2; python_version >= "3"')
        print(_json.dumps({
            "where": {name: where(sys.modules[name]) for name in
                      ["six", "idna", "idna.uts46data", "packaging", "packaging.version"]},
            "six": [six.PY3, quote("a b/c"), six.ensure_str(b"bytes")],
            "idna": [idna.encode("\u30c9\u30e1\u30a4\u30f3.\u30c6\u30b9\u30c8").decode(),
                     idna.decode("xn--eckwd4c7c.xn--zckzah")],
            "packaging": [Version("1.10") > Version("1.9"), "1.5" in SpecifierSet(">=1.0,<2"),
                          requirement.name, sorted(requirement.extras),
                          requirement.marker.evaluate()],
        }))
        """,
        archive,
        *PYPI_PACKAGES,
    )
    for name, (loader, file) in result["where"].items():
        assert loader == "zipimporter.importer", name
        assert file.startswith(str(archive) + os.sep), name
        assert file.endswith(".pyc"), name  # --compile: the pycs are used
    assert result["six"] == [True, "a%20b/c", "bytes"]
    assert result["idna"] == [
        "xn--eckwd4c7c.xn--zckzah",
        "\u30c9\u30e1\u30a4\u30f3.\u30c6\u30b9\u30c8",
    ]
    assert result["packaging"] == [True, True, "spam", ["eggs"], True]


def make_wheel(directory: Path) -> str:
    """A wheel as build backends write them: no directory entries, dist-info last."""
    dist_info = "zwheel-1.0.dist-info"
    members = {
        "zwheel/__init__.py": "from .core import greet\n",
        "zwheel/core.py": "def greet(name):\n    return f'hello {name}'\n",
        "zwheel/data/greeting.txt": "hi\n",
        f"{dist_info}/METADATA": "Metadata-Version: 2.1\nName: zwheel\nVersion: 1.0\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    members[f"{dist_info}/RECORD"] = "".join(f"{n},,\n" for n in [*members, f"{dist_info}/RECORD"])
    path = directory / "zwheel-1.0-py3-none-any.whl"
    return make_zip(path, members, compression=zipfile.ZIP_DEFLATED)


def test_wheel_on_sys_path(tmp_path):
    wheel = make_wheel(tmp_path)
    sys.path.insert(0, wheel)

    def probe(ours: bool) -> tuple[str, str, str, str]:
        core = import_fresh("zwheel.core", ours=ours)
        package = sys.modules["zwheel"]
        text = importlib.resources.files(package).joinpath("data/greeting.txt").read_text()
        return core.__file__, package.greet("wheel"), text, type(core.__loader__).__module__

    std, ours = probe(ours=False), probe(ours=True)
    assert ours[:3] == std[:3]
    assert ours == (
        os.path.join(wheel, "zwheel", "core.py"),
        "hello wheel",
        "hi\n",
        "zipimporter.importer",
    )
    assert std[3] == "zipimport"
    assert importlib.metadata.version("zwheel") == "1.0"


# -- tools ------------------------------------------------------------------

TOOLED = {
    "ztool/": b"",
    "ztool/__init__.py": "",
    "ztool/child.py": "def answer():\n    return 42\n",
}


@pytest.fixture
def tooled(tmp_path: Path) -> str:
    return make_zip(tmp_path / "tooled.zip", TOOLED)


DRIVER = """\
import sys
import zipimporter
zipimporter.install()
sys.path.insert(0, sys.argv[1])
import ztool.child
print("answer", ztool.child.answer(), type(ztool.child.__loader__).__module__)
"""


def test_importtime(tooled, tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = run_python("-X", "importtime", driver, tooled, cache_dir=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "answer 42 zipimporter.importer\n"
    timed = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S.*)$", proc.stderr, re.M)
    assert {"zipimporter", "ztool", "ztool.child"} <= {name.strip() for name in timed}


def test_coverage_run(tooled, tmp_path):
    pytest.importorskip("coverage", reason="coverage is in the test extra")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    data = tmp_path / "coverage.data"
    cache = tmp_path / "cache"
    proc = run_python(
        "-m", "coverage", "run", f"--data-file={data}", driver, tooled, cache_dir=cache
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "answer 42 zipimporter.importer\n"
    report = run_python(
        "-m", "coverage", "report", f"--data-file={data}", cwd=tmp_path, cache_dir=cache
    )
    assert report.returncode == 0, report.stderr
    member = os.path.join("tooled.zip", "ztool", "child.py")
    (line,) = [line for line in report.stdout.splitlines() if line.startswith(member)]
    assert line.split()[1:] == ["2", "0", "100%"]


def test_pytest_import_mode_importlib(tooled, tmp_path):
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "conftest.py").write_text(
        f"import sys\nimport zipimporter\n\nzipimporter.install()\nsys.path.insert(0, {tooled!r})\n"
    )
    (tests / "test_archive.py").write_text(
        textwrap.dedent(
            """\
            import ztool.child


            def test_imported_by_zipimporter():
                assert type(ztool.child.__loader__).__module__ == "zipimporter.importer"
                assert ztool.child.__file__.endswith("child.py")


            def test_answer():
                assert ztool.child.answer() == 42


            def test_failure_shows_archive_source():
                assert ztool.child.answer() == 41
            """
        )
    )
    pytest_args = ("-m", "pytest", "-p", "no:cacheprovider", "--import-mode=importlib", "-q")
    proc = run_python(*pytest_args, tests, cwd=tests, cache_dir=tmp_path / "cache")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 2 passed" in proc.stdout
    assert "assert 42 == 41" in proc.stdout


def test_pdb_breakpoint_in_archive(tmp_path):
    """``python -m pdb``: ``break module.func`` stops in the archive and lists its source.

    pdb checks a new breakpoint's line with the current frame's globals, so
    linecache must already hold the module's lines: stepping into the module
    once does that (the same with the stdlib importer).
    """
    archive = make_zip(
        tmp_path / "debugged.zip",
        {
            "dbgmod.py": "def inner(x):\n    y = x * 2\n    return y + 1\n\n\n"
            "def outer():\n    first = inner(1)\n    return inner(first)\n"
        },
    )
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import sys\nimport zipimporter\nif sys.argv[2] == 'ours':\n    zipimporter.install()\n"
        "sys.path.insert(0, sys.argv[1])\nimport dbgmod\nprint('result', dbgmod.outer())\n"
    )
    commands = ["break 7", "continue", "step", "up", "break dbgmod.inner", "continue", "list"]
    commands += ["p x", "where", "continue", "p x", "disable 2", "continue", "quit"]
    outputs = {}
    cache = tmp_path / "cache"
    for which in ("stdlib", "ours"):
        stdin = "\n".join(commands) + "\n"
        proc = run_python("-m", "pdb", driver, archive, which, input=stdin, cache_dir=cache)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs[which] = proc.stdout
    out = outputs["ours"]
    assert out == outputs["stdlib"]
    file = os.path.join(archive, "dbgmod.py")
    assert f"--Call--\n> {file}(6)outer()\n-> def outer():\n" in out
    assert re.search(f"^\\(Pdb\\) Breakpoint 2 at {re.escape(file)}:[12]$", out, re.M)
    assert f"> {file}(2)inner()\n-> y = x * 2\n" in out
    assert re.search(r"^  2 .*\t    y = x \* 2$", out, re.M)  # list: the archive's source
    assert re.search(r"^  3 \s*\t    return y \+ 1$", out, re.M)
    assert f"  {file}(7)outer()\n-> first = inner(1)\n" in out  # where
    assert "(Pdb) 1\n" in out and "(Pdb) 3\n" in out  # p x, at each stop
    assert "result 7\n" in out

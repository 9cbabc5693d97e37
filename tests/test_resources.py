"""importlib.resources on packages in archives, as with the stdlib importer."""

from __future__ import annotations

import importlib.resources
import os
import sys
import zipfile
import zipimport
from pathlib import Path
from types import ModuleType

import pytest

import zipimporter
from conftest import both, make_zip, outcome

BINARY = bytes(range(256)) * 4

MEMBERS = {
    "respkg/": b"",
    "respkg/__init__.py": "",
    "respkg/text.txt": "h\u00e9llo\n",
    "respkg/binary.bin": BINARY,
    "respkg/plainmod.py": "value = 1\n",
    "respkg/data/": b"",
    "respkg/data/inner.txt": "inner\n",
    "respkg/subpkg/": b"",
    "respkg/subpkg/__init__.py": "",
    "respkg/subpkg/sub.txt": "sub\n",
}


@pytest.fixture
def res_zip(tmp_path: Path) -> str:
    path = make_zip(tmp_path / "resources.zip", MEMBERS, compression=zipfile.ZIP_DEFLATED)
    sys.path.insert(0, path)
    return path


def test_read_text_and_bytes(res_zip):
    def probe(module: ModuleType) -> tuple[str, bytes, str]:
        files = importlib.resources.files(module)
        return (
            files.joinpath("text.txt").read_text(encoding="utf-8"),
            (files / "binary.bin").read_bytes(),
            (files / "data" / "inner.txt").read_text(),
        )

    std, ours = both("respkg", probe)
    assert ours == std == ("ok", ("h\u00e9llo\n", BINARY, "inner\n"))


def test_iterdir(res_zip):
    def probe(module: ModuleType) -> list[tuple[str, bool, bool]]:
        files = importlib.resources.files(module)
        return sorted((p.name, p.is_dir(), p.is_file()) for p in files.iterdir())

    std, ours = both("respkg", probe)
    assert ours == std
    assert ("text.txt", False, True) in ours[1]
    assert ("data", True, False) in ours[1]


def test_subpackage_resources(res_zip):
    def probe(module: ModuleType) -> str:
        return (importlib.resources.files(module) / "sub.txt").read_text()

    std, ours = both("respkg.subpkg", probe)
    assert ours == std == ("ok", "sub\n")


def test_as_file(res_zip):
    def probe(module: ModuleType) -> tuple[bool, bytes, bool]:
        resource = importlib.resources.files(module) / "binary.bin"
        with importlib.resources.as_file(resource) as path:
            real = os.path.isfile(path)
            data = Path(path).read_bytes()
        return real, data, os.path.exists(path)

    std, ours = both("respkg", probe)
    assert ours == std == ("ok", (True, BINARY, False))


def test_files_by_name(res_zip, installed):
    files = importlib.resources.files("respkg")
    assert (files / "text.txt").read_bytes() == "h\u00e9llo\n".encode()
    assert type(sys.modules["respkg"].__loader__) is zipimporter.zipimporter


def test_missing_resource(res_zip):
    def probe(module: ModuleType) -> bytes:
        return (importlib.resources.files(module) / "nope.txt").read_bytes()

    std, ours = both("respkg", probe)
    assert ours == std
    assert ours[0] == "raises"


@pytest.mark.parametrize("name", ["respkg", "respkg.subpkg", "respkg.plainmod", "nonexistent"])
def test_get_resource_reader(res_zip, name):
    parent = name.rpartition(".")[0]
    path = os.path.join(res_zip, *parent.split(".")) if parent else res_zip
    ours = outcome(lambda: zipimporter.zipimporter(path).get_resource_reader(name))
    std = outcome(lambda: zipimport.zipimporter(path).get_resource_reader(name))
    if std[0] == "raises":
        # 3.13 makes a reader for any name, which fails for an unknown one.
        assert ours == std
        assert sys.version_info >= (3, 13) and name == "nonexistent"
        return
    # Our own reader (served from our index), where the stdlib gives its ZipReader.
    assert (ours[1] is None) == (std[1] is None)
    if std[1] is None:
        # 3.11 and 3.12 give no reader for what is not a package.
        assert sys.version_info < (3, 13) and name not in ("respkg", "respkg.subpkg")
    else:
        assert sorted(ours[1].contents()) == sorted(std[1].contents())
        assert len(list(ours[1].contents())) >= 1


def test_resources_of_a_plain_module(res_zip):
    def probe(module: ModuleType) -> list[str]:
        return sorted(p.name for p in importlib.resources.files(module).iterdir())

    std, ours = both("respkg.plainmod", probe)
    assert ours == std
    if sys.version_info >= (3, 13):  # a module's resources are its package's
        assert ours[0] == "ok" and "text.txt" in ours[1]
    elif sys.version_info >= (3, 12):  # no reader: an empty fallback
        assert ours == ("ok", [])
    else:  # not a package
        assert ours == ("raises", "TypeError")


def test_legacy_functions(res_zip):
    def probe(module: ModuleType) -> tuple[bool, bool, str]:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return (
                importlib.resources.is_resource(module, "text.txt"),
                importlib.resources.is_resource(module, "data"),
                importlib.resources.read_text(module, "text.txt", encoding="utf-8"),
            )

    std, ours = both("respkg", probe)
    assert ours == std == ("ok", (True, False, "h\u00e9llo\n"))

"""The README's main job: the zipimport docs' example, through our importer."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Iterator
from typing import TextIO

from .archive import read_directory
from .hooks import install

EXAMPLE_MODULE = '''\
"""A stand-in for jwzthreading.py of the zipimport docs' example."""

import threading


def start(target, *args):
    """Run target(*args) in a daemon thread and return the thread."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def fail(reason):
    raise RuntimeError(f"jwzthreading says: {reason}")
'''


@contextlib.contextmanager
def _chdir(path: str) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def build_example(directory: str) -> str:
    """Write example.zip (one module, deflated) into *directory*; return its path."""
    path = os.path.join(directory, "example.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("jwzthreading.py", date_time=(2002, 11, 26, 22, 30, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, EXAMPLE_MODULE)
    return path


def run(out: TextIO = sys.stdout) -> int:
    """Build the example archive in a temp dir, import from it, show what happened."""
    with tempfile.TemporaryDirectory(prefix="zipimporter-demo-") as tmp, _chdir(tmp):
        build_example(tmp)
        print("$ unzip -l example.zip    # as zipimporter's index sees it", file=out)
        index = read_directory("example.zip")
        for name in index:
            print(f"  {index[name].file_size:8d}  {name}", file=out)
        ok = False
        with install():
            sys.path.insert(0, "example.zip")
            sys.modules.pop("jwzthreading", None)
            try:
                import jwzthreading  # type: ignore[import-not-found]

                print(">>> import sys", file=out)
                print(">>> sys.path.insert(0, 'example.zip')", file=out)
                print(">>> import jwzthreading", file=out)
                print(">>> jwzthreading.__file__", file=out)
                print(repr(jwzthreading.__file__), file=out)
                print(">>> type(jwzthreading.__loader__)", file=out)
                print(repr(type(jwzthreading.__loader__)), file=out)
                result: list[int] = []
                jwzthreading.start(result.append, 42).join()
                print(
                    f">>> jwzthreading.start(result.append, 42).join(); result\n{result}", file=out
                )
                print(">>> jwzthreading.fail('from inside example.zip')", file=out)
                try:
                    jwzthreading.fail("from inside example.zip")
                except RuntimeError as exc:
                    frame = traceback.extract_tb(exc.__traceback__)[-1]
                    traceback.print_exception(exc, limit=-1, file=out)
                    ok = frame.filename == "example.zip/jwzthreading.py" and bool(frame.line)
            finally:
                sys.path.remove("example.zip")
                sys.modules.pop("jwzthreading", None)
    if not ok:
        print("demo FAILED: the traceback did not show the archive's source line", file=out)
        return 1
    return 0

"""Running an archive as ``python app.pyz`` would, with our importer: ``zipimporter run``."""

from __future__ import annotations

import runpy
import sys

from .hooks import install

__all__ = ["run"]


def run(archive: str, args: list[str], module: str | None = None) -> None:
    """Run *archive*'s ``__main__`` (or *module* from it) with ``sys.argv = [archive, *args]``.

    Exceptions from the code propagate, so the interpreter prints them (with
    source lines read from the archive) and sets the exit status.
    """
    install()
    sys.argv = [archive, *args]
    sys.path.insert(0, archive)
    # Our own caller may be a __main__ module (python -m zipimporter): hide it
    # so that the archive's __main__ is the one found, as runpy does for -m.
    saved = sys.modules.pop("__main__", None) if module is None else None
    try:
        runpy.run_module(module or "__main__", run_name="__main__", alter_sys=True)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved

"""Running an archive as ``python app.pyz`` would, with our importer: ``zipimporter run``."""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
import types

from .bootstrap import install_trimming_excepthook
from .hooks import install

__all__ = ["NotRunnableError", "run"]


class NotRunnableError(LookupError):
    """The module to run is not there: the caller's mistake, not the program's error."""


def _check_runnable(module: str) -> str:
    """The file of the code ``python -m module`` would run (NotRunnableError if none).

    As runpy does, this imports the parent packages (and, for a package, the
    package itself, to look for its ``__main__``).
    """
    name = module
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            name = module + ".__main__"
            spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as exc:
        # A missing parent package; whatever else a package raises while it
        # is imported is the program's own error.
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise
        spec = None
    if spec is None:
        if name != module:
            raise NotRunnableError(f"{module!r} is a package without a __main__ module")
        raise NotRunnableError(f"no module named {module!r}")
    return spec.origin or ""


def run(archive: str, args: list[str], module: str | None = None) -> None:
    """Run *archive*'s ``__main__`` (or *module* from it) as ``python ARCHIVE`` would.

    As the interpreter does, the archive goes first on ``sys.path`` as an
    absolute path (so ``__file__`` is absolute and lazy imports survive an
    ``os.chdir``), and ``sys.argv`` is ``[archive, *args]`` with *archive* as
    given (for *module*, ``sys.argv[0]`` becomes its ``__file__``, as with
    ``python -m``).  Child processes import through zipimporter too
    (``install(children=True)``).  Exceptions from the code propagate, so the
    interpreter reports them and sets the exit status; the traceback starts at
    the program's main code (no frames of zipimporter's or runpy's).  Raises
    NotRunnableError, before running anything, if *module* can't be found.
    """
    install(children=True)
    path = os.path.abspath(archive)
    sys.argv = [archive, *args]
    if module is None:
        # What the interpreter does for an archive: its path first on
        # sys.path, then runpy runs its __main__ in the __main__ module, here
        # a fresh one so that our caller's globals (python -m zipimporter) are
        # not the program's.
        sys.path.insert(0, path)
        install_trimming_excepthook(f"{path}{os.sep}__main__.py")
        sys.modules["__main__"] = types.ModuleType("__main__")
        runpy._run_module_as_main("__main__", alter_argv=False)  # type: ignore[attr-defined]
        return
    sys.path.insert(0, path)
    origin = _check_runnable(module)
    install_trimming_excepthook(origin)
    runpy.run_module(module, run_name="__main__", alter_sys=True)

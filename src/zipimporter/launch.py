"""Running an archive as ``python app.pyz`` would, with our importer: ``zipimporter run``."""

from __future__ import annotations

import importlib.util
import runpy
import sys

from .hooks import install

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["NotRunnableError", "run"]


class NotRunnableError(LookupError):
    """The module to run is not there: the caller's mistake, not the program's error."""


def _check_runnable(module: str) -> None:
    """Raise NotRunnableError where ``python -m module`` would say 'No module named ...'.

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


def _print_exception(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    import traceback

    traceback.print_exception(exc_type, exc, tb)


def run(archive: str, args: list[str], module: str | None = None) -> None:
    """Run *archive*'s ``__main__`` (or *module* from it) as ``python ARCHIVE`` would.

    ``sys.argv`` is ``[archive, *args]`` (for *module*, its ``__file__`` and
    *args*, as with ``python -m``).  Exceptions from the code propagate, so the
    interpreter prints them (with source lines read from the archive) and sets
    the exit status.  Raises NotRunnableError, before running anything, if *module*
    can't be found.
    """
    install()
    sys.argv = [archive, *args]
    if sys.version_info < (3, 13) and sys.excepthook is sys.__excepthook__:
        # The built-in hook of 3.11 and 3.12 reads source lines from files
        # only; the traceback module asks the module's loader.
        sys.excepthook = _print_exception
    if module is None:
        # What the interpreter does for an archive: the archive goes first on
        # sys.path, sys.argv[0] stays as given, and our caller's __main__ (python
        # -m zipimporter) is out of the way while the archive's is found.
        runpy.run_path(archive, run_name="__main__")
        return
    sys.path.insert(0, archive)
    _check_runnable(module)
    runpy.run_module(module, run_name="__main__", alter_sys=True)

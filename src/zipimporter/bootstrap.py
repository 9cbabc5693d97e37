"""Running an app's main module through zipimporter, as ``python app.pyz`` would run it.

Used in two places:

- inside a self-contained bundle, whose ``__main__.py`` is a two-line stub
  calling :func:`run_bundle` (the stdlib zipimporter loads that stub and this
  embedded runtime; everything after goes through ours);
- by ``zipimporter run`` (:mod:`zipimporter.launch`).

The app's own main module is the member ``_zipimporter_main/__main__.py``
(:data:`MAIN_MODULE`; ``zipimporter build`` moves the app's ``__main__.py``
there, or writes one for ``--main``).  It runs in the ``__main__`` module's
namespace, as the stub's would have: ``__name__`` is ``"__main__"``,
``__file__`` and ``__spec__`` are the moved module's (so tracebacks show its
source lines), and, as for ``python app.pyz``, multiprocessing's spawn and
forkserver children do not run it again (its ``__spec__.name`` ends in
``.__main__``, which multiprocessing leaves alone).

An uncaught exception is reported by ``sys.excepthook`` as usual, but without
the frames before the app's main code (the stub's, this module's, runpy's):
:func:`trim_traceback`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "MAIN_MODULE",
    "MAIN_PACKAGE",
    "install_trimming_excepthook",
    "run_bundle",
    "trim_traceback",
]

#: The app's main module in a self-contained bundle (a package's ``__main__``).
MAIN_PACKAGE = "_zipimporter_main"
MAIN_MODULE = MAIN_PACKAGE + ".__main__"


def trim_traceback(tb: TracebackType | None, first_file: str) -> TracebackType | None:
    """*tb* from the first frame whose code comes from *first_file* on; *tb* if none does."""
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != first_file:
        start = start.tb_next
    return tb if start is None else start


def install_trimming_excepthook(first_file: str) -> None:
    """Report uncaught exceptions from the frame running *first_file* on.

    On 3.11 and 3.12 the built-in hook reads source lines from files only, so
    the traceback module (which asks the module's loader) prints instead.
    """
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        tb = trim_traceback(tb, first_file)
        if exc is not None:
            exc.__traceback__ = tb
        if previous is sys.__excepthook__ and sys.version_info < (3, 13):
            import traceback

            traceback.print_exception(exc_type, exc, tb)
        else:
            previous(exc_type, exc, tb)

    sys.excepthook = hook


def _is_ours(loader: object) -> bool:
    """Whether *loader* is a zipimporter (ours, installed or embedded), not the stdlib's."""
    from .activation import is_zipimporter_class

    return is_zipimporter_class(type(loader))


def run_bundle(main_globals: dict[str, object]) -> None:
    """Run the bundle's app main module in *main_globals* (the stub ``__main__``'s namespace)."""
    from . import hooks
    from .importer import zipimporter

    stub_file = str(main_globals["__file__"])
    archive = os.path.dirname(stub_file)
    if not _is_ours(main_globals.get("__loader__")):
        # Loaded by the stdlib: from here on, this runtime imports everything.
        hooks.install(children=True)
    # The importer of whichever zipimporter loaded the stub (the embedded
    # runtime's, or an installed one under 'zipimporter run').
    loader = main_globals.get("__loader__")
    kind: type[zipimporter] = type(loader) if _is_ours(loader) else zipimporter  # type: ignore[assignment]
    importer = kind(f"{archive}{os.sep}{MAIN_PACKAGE}")
    spec = importer.find_spec(MAIN_MODULE)
    if spec is None:
        raise SystemExit(f"{archive}: the bundle has no {MAIN_MODULE} module to run")
    pending = spec.loader_state  # the code find_spec built: no second compile
    code = getattr(pending, "code", None) or importer.get_code(MAIN_MODULE)
    for name in [n for n in main_globals if not n.startswith("__")]:
        del main_globals[name]  # the stub's own names
    main_globals.update(
        __file__=spec.origin,
        __loader__=importer,
        __spec__=spec,
        __cached__=None,
        __package__="",
        __doc__=None,
    )
    if main_globals.get("__name__") == "__main__":
        install_trimming_excepthook(code.co_filename)
    exec(code, main_globals)

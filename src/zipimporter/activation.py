"""Reaching every process: the deferred hook, ``enable``/``disable``, and child processes.

Three ways a process comes to import archives through zipimporter without
calling :func:`zipimporter.install` itself:

- **An enabled environment** (``python -m zipimporter enable``): a ``.pth``
  file in site-packages whose one ``import`` line puts a *deferred hook* in
  ``sys.path_hooks`` at interpreter start.  The hook costs one ``stat`` per
  ``sys.path`` entry, the same as the stdlib zipimporter's hook that it stands
  before, and imports the real package only when a path entry turns out to be
  a file (an archive): a process that never meets one never imports us.
- **Child processes** (``install(children=True)``, self-contained bundles and
  ``zipimporter run``): the environment variable :data:`ENV_ACTIVATE` names the
  runtime to use, and a private directory holding a ``sitecustomize.py`` shim
  goes first on ``PYTHONPATH``.  Any Python child that inherits the
  environment (``subprocess`` running ``sys.executable``, and
  ``multiprocessing``'s spawn and forkserver workers, which are such children)
  runs the shim at start-up: it takes its directory off ``sys.path`` again,
  installs the same deferred hook, and hands over to the next
  ``sitecustomize`` on ``sys.path``, if any.  Forked children inherit the
  hook in memory.
- What is not inherited: children started with ``-E``, ``-I`` or ``-S``
  (they ignore ``PYTHONPATH`` or ``site``), or with an ``env=`` that leaves out
  these two variables, or another interpreter than ours.

The runtime named by :data:`ENV_ACTIVATE` is :data:`INSTALLED` (``import
zipimporter``) or the absolute path of a bundle whose embedded runtime
(``_zipimporter_runtime``, see :mod:`zipimporter.runtime`) is loaded from it
with the stdlib zipimporter.
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "ENV_ACTIVATE",
    "HOOK_MARK",
    "INSTALLED",
    "PTH_NAME",
    "activation_source",
    "children_environ",
    "current_runtime",
    "disable",
    "enable",
    "is_zipimporter_class",
    "pth_line",
    "shim_source",
    "site_dir",
    "status",
]

#: Names the runtime for child processes: :data:`INSTALLED` or a bundle's path.
ENV_ACTIVATE = "ZIPIMPORTER_ACTIVATE"
#: The runtime is the installed ``zipimporter`` package.
INSTALLED = "zipimporter"
#: The name of the embedded runtime package inside self-contained bundles.
RUNTIME_PACKAGE = "_zipimporter_runtime"
#: Attribute set on the deferred hook, so that ``install()`` finds and replaces it.
HOOK_MARK = "_zipimporter_deferred_hook"
#: The ``.pth`` file that ``enable`` writes into site-packages.
PTH_NAME = "zipimporter-enable.pth"

# The deferred hook.  It runs at every interpreter start in an enabled
# environment, so it is short, defines one function and imports nothing new
# (os and sys are loaded by site already).  {runtime!r} is INSTALLED or a
# bundle path; "" means: read ENV_ACTIVATE when the hook first fires.
_HOOK_SOURCE = """\
import os, sys
def _hook(path, _runtime={runtime!r}, _busy=[]):
    # Like the stdlib zipimporter: back up to the first part of the path that
    # exists; only a regular file can be an archive.
    p = path
    while True:
        try:
            st = os.stat(p)
        except (OSError, ValueError):
            head = os.path.dirname(p)
            if not head or head == p:
                raise ImportError("not an archive", path=path) from None
            p = head
            continue
        if st.st_mode & 0o170000 != 0o100000 or _busy:
            raise ImportError("not an archive", path=path)
        break
    runtime = _runtime or os.environ.get({env!r}) or {installed!r}
    _busy.append(path)
    try:
        if runtime == {installed!r}:
            import zipimporter as mod
        else:
            mod = sys.modules.get({package!r})
            if mod is None:
                # The bundle's own runtime, read by the stdlib zipimporter
                # (stored or deflated members only).
                sys.path.insert(0, runtime)
                try:
                    import {package} as mod
                finally:
                    sys.path.remove(runtime)
        mod.install()
    finally:
        _busy.clear()
    return mod.zipimporter(path)
setattr(_hook, {mark!r}, True)
if not any(getattr(h, {mark!r}, False) for h in sys.path_hooks):
    try:
        import zipimport
        _at = sys.path_hooks.index(zipimport.zipimporter)
    except (ImportError, ValueError):
        _at = 0
    sys.path_hooks.insert(_at, _hook)
    for _key, _finder in list(sys.path_importer_cache.items()):
        if _finder is None or type(_finder).__module__ == "zipimport":
            del sys.path_importer_cache[_key]
"""


def activation_source(runtime: str = "") -> str:
    """Python source that puts the deferred hook in ``sys.path_hooks`` (once).

    *runtime* is :data:`INSTALLED`, a bundle path, or ``""`` to read
    :data:`ENV_ACTIVATE` when the hook first fires.
    """
    return _HOOK_SOURCE.format(
        runtime=runtime,
        env=ENV_ACTIVATE,
        installed=INSTALLED,
        package=RUNTIME_PACKAGE,
        mark=HOOK_MARK,
    )


def pth_line() -> str:
    """The one line of the ``.pth`` file: ``site`` executes lines starting with ``import``.

    The hook is stored compiled for the interpreter that writes the line
    (``enable`` runs under the environment's own), which saves compiling its
    source at every start; another interpreter sharing the directory compiles
    the source instead.
    """
    import marshal

    source = activation_source(INSTALLED)
    code = marshal.dumps(compile(source, "<zipimporter-enable>", "exec"))
    tag = sys.implementation.cache_tag
    return (
        f"import sys, marshal; exec(marshal.loads({code!r}) "
        f"if sys.implementation.cache_tag == {tag!r} else {source!r}, "
        "{'__name__': 'zipimporter-enable'})\n"
    )


# -- the children's shim ----------------------------------------------------------

_SHIM = '''\
"""zipimporter's start-up shim for child processes (see zipimporter.activation).

It is first on PYTHONPATH because a parent process imports through zipimporter
and asked for its children to do the same.  It takes its own directory off
sys.path, installs zipimporter's deferred hook, then runs the next
sitecustomize on sys.path, if there is one, which then stands in sys.modules
in its place.
"""
import os as _os
import sys as _sys

_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
exec({source!r}, {{"__name__": "zipimporter-children"}})


def _next_sitecustomize():
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("sitecustomize", _sys.path)
    if spec is not None and spec.loader is not None:
        from importlib.util import module_from_spec

        module = module_from_spec(spec)
        _sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


_next_sitecustomize()
'''


def shim_source() -> str:
    """The ``sitecustomize.py`` that child processes run at start-up."""
    return _SHIM.format(source=activation_source(""))


def _shim_dir() -> str | None:
    """A directory only this user can write, holding the shim; None if there is none.

    It is under the cache directory when caching is on (its trust checks apply),
    else a private temporary directory removed at exit.
    """
    from . import cachedir

    source = shim_source().encode()
    root = cachedir.cache_root()
    if root is not None:
        # Content-addressed: a newer zipimporter writes a new shim beside the old.
        import zlib

        directory = os.path.join(root, "activate", f"{zlib.crc32(source):08x}")
        path = os.path.join(directory, "sitecustomize.py")
        if cachedir.read_file(path, len(source)) == source or cachedir.atomic_write(path, source):
            return directory
    return _private_temp_shim(source)


_temp_shim: list[str] = []


def _private_temp_shim(source: bytes) -> str | None:
    if _temp_shim:
        return _temp_shim[0]
    import atexit
    import shutil
    import tempfile

    try:
        directory = tempfile.mkdtemp(prefix="zipimporter-activate-")  # mode 0700
        with open(os.path.join(directory, "sitecustomize.py"), "xb") as fp:
            fp.write(source)
    except OSError:
        return None
    atexit.register(shutil.rmtree, directory, True)
    _temp_shim.append(directory)
    return directory


def current_runtime() -> str:
    """How a child process loads the zipimporter this process runs on.

    :data:`INSTALLED` when this is the ``zipimporter`` package, else the
    bundle this embedded runtime was loaded from.
    """
    package = __name__.rpartition(".")[0]
    if package == INSTALLED:
        return INSTALLED
    here = os.path.abspath(__file__)  # <bundle>/_zipimporter_runtime/activation.py
    return os.path.dirname(os.path.dirname(here))


def children_environ(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """The changes to make to an environment so that Python children use our importer.

    Returns ``{ENV_ACTIVATE: runtime, "PYTHONPATH": shim_dir + os.pathsep + ...}``,
    or None if no private directory for the shim could be had.
    """
    env = os.environ if environ is None else environ
    shim = _shim_dir()
    if shim is None:
        return None
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != shim]
    return {ENV_ACTIVATE: current_runtime(), "PYTHONPATH": os.pathsep.join([shim, *paths])}


# -- enable / disable / status ------------------------------------------------------


def site_dir(user: bool = False) -> str:
    """The site-packages directory ``enable`` writes into."""
    import site
    import sysconfig

    if user:
        return site.getusersitepackages()
    return sysconfig.get_paths()["purelib"]


def enable(user: bool = False) -> str:
    """Write the ``.pth`` file into site-packages (or the user site); return its path."""
    directory = site_dir(user)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, PTH_NAME)
    if os.path.lexists(path) and not os.path.isfile(path):
        raise OSError(f"not a regular file, left alone: {path}")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fp:
        fp.write("# Written by 'python -m zipimporter enable': archives on sys.path import\n")
        fp.write("# through zipimporter.  'python -m zipimporter disable' removes this file.\n")
        fp.write(pth_line())
    os.replace(tmp, path)
    return path


def disable(user: bool = False) -> str | None:
    """Remove the ``.pth`` file; return its path, or None if there was none."""
    path = os.path.join(site_dir(user), PTH_NAME)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None
    return path


def is_zipimporter_class(kind: object) -> bool:
    """Whether *kind* is a zipimporter class of ours (installed or embedded), not the stdlib's.

    >>> import zipimport
    >>> is_zipimporter_class(zipimport.zipimporter)
    False
    """
    return getattr(kind, "__name__", "") == "zipimporter" and (
        getattr(kind, "__module__", "") != "zipimport"
    )


def status() -> tuple[str, list[str]]:
    """What this interpreter has in ``sys.path_hooks`` (words), and the ``.pth`` files found."""
    import site

    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    found = [os.path.join(d, PTH_NAME) for d in dirs if os.path.isfile(os.path.join(d, PTH_NAME))]
    if any(getattr(h, HOOK_MARK, False) for h in sys.path_hooks):
        state = "zipimporter's deferred hook is installed (the package loads at the first archive)"
    elif any(is_zipimporter_class(h) for h in sys.path_hooks):
        state = "zipimporter is installed"
    else:
        state = "the stdlib zipimporter reads archives"
    return state, found

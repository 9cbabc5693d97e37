"""zipimporter vs its peers on whole-process imports: the stdlib, the filesystem, the Rust importer.

    python benchmarks/peers.py [--repeat N] [--json FILE] [--python PY] [--modules N]
                               [--oxidized-venv DIR] [--no-oxidized]

Two workloads, each in fresh ``-S -I`` processes whose ``sys.path`` is the
archive (or tree) plus ``lib-dynload`` only, so every pure-Python module comes
from where the condition says (frozen and built-in modules stay as they are,
the same for all conditions):

* the stdlib workload: the pure-Python, non-frozen ``Lib/`` modules that one
  import line (asyncio, email, json, http, xml, logging, unittest, pydoc,
  multiprocessing, ... see ``TOP``) loads, ~300 of them, compiled to ``.pyc`` in the legacy layout
  (``mod.pyc``, ``pkg/__init__.pyc``, no sources: like the embeddable
  distribution's ``python3X.zip``), in a deflated and in a stored zip;
* ``--modules`` tiny modules (default 1,000) from the same kinds of zip;

and each from a third zip, ``built``: the tree bundled by ``zipimporter build
--compile`` (each ``.py`` with a stored unchecked-hash ``.pyc`` beside it),
what issue 14's "faster than the filesystem" target compares with the tree.

Conditions: ``stdlib`` (zipimport); ``ours`` (``zipimporter.install()`` first,
imported from the repo's src, its own few stdlib needs loaded by zipimport from
the archive, or from ``Lib/`` for the tiny modules; caches in a temp dir);
``fs`` (the same ``.py`` files in a directory with a warm ``__pycache__``);
``oxidized`` (PyOxidizer's ``OxidizedZipFinder.from_path(archive)`` on
``sys.meta_path``; oxidized-importer 0.6.0 only has a CPython 3.10 wheel,
installed into a temp venv: run with ``--python python3.10``; on 3.10 it needs
``os`` to start, loaded like ours' needs); and two floors written here in
Python: ``oxi-approach`` (OxidizedZipFinder's approach: the archive read into
memory once, its central directory parsed into one dict, one lookup per module,
no validation, inflate and ``marshal.loads``) and ``marshal`` (one read of a
ready-made marshal blob of every module's code object bytes, one lookup, no
zip, no inflate, no validation).

Each figure is the in-process time from before the importer's set-up to after
the last import (the importer's own import included), min and median of N
interleaved runs after one warm-up run each.  Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile

SRC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
# One import line's worth of the stdlib; those missing on the running Python are left out.
TOP = [
    "asyncio",
    "email.mime.text",
    "email.mime.multipart",
    "email.mime.application",
    "email.mime.image",
    "email.mime.audio",
    "email.generator",
    "json",
    "json.tool",
    "http.client",
    "http.server",
    "http.cookiejar",
    "http.cookies",
    "xml.etree.ElementTree",
    "xml.dom.minidom",
    "xml.dom.pulldom",
    "xml.sax",
    "xml.sax.saxutils",
    "xmlrpc.client",
    "xmlrpc.server",
    "html.parser",
    "logging.handlers",
    "logging.config",
    "unittest",
    "unittest.mock",
    "argparse",
    "optparse",
    "configparser",
    "decimal",
    "fractions",
    "dataclasses",
    "typing",
    "concurrent.futures",
    "concurrent.futures.process",
    "concurrent.futures.thread",
    "multiprocessing.pool",
    "multiprocessing.managers",
    "urllib.request",
    "urllib.robotparser",
    "csv",
    "sqlite3",
    "zipfile",
    "tarfile",
    "gzip",
    "pathlib",
    "statistics",
    "pydoc",
    "doctest",
    "pdb",
    "cProfile",
    "profile",
    "pstats",
    "trace",
    "timeit",
    "smtplib",
    "imaplib",
    "poplib",
    "ftplib",
    "mailbox",
    "mimetypes",
    "uuid",
    "secrets",
    "hmac",
    "shelve",
    "dbm.dumb",
    "zipapp",
    "importlib.metadata",
    "importlib.resources",
    "importlib.util",
    "wsgiref.simple_server",
    "wsgiref.validate",
    "code",
    "codeop",
    "pickletools",
    "plistlib",
    "netrc",
    "getpass",
    "sched",
    "graphlib",
    "zoneinfo",
    "compileall",
    "filecmp",
    "fileinput",
    "glob",
    "pkgutil",
    "runpy",
    "symtable",
    "tabnanny",
    "py_compile",
    "rlcompleter",
    "shlex",
    "stringprep",
    "colorsys",
    "modulefinder",
    "socketserver",
    "ctypes",
    "ctypes.util",
    "calendar",
    "difflib",
    "pprint",
    "textwrap",
    "tracemalloc",
    "ipaddress",
    "string.templatelib",
    "tomllib",
    "venv",
    "ensurepip",
    "sysconfig",
    "platform",
    "locale",
    "gettext",
    "quopri",
    "uu",
    "wave",
    "chunk",
    "sndhdr",
    "imghdr",
    "telnetlib",
    "nntplib",
    "cgi",
    "cgitb",
    "crypt",
    "pipes",
    "mailcap",
    "xdrlib",
]
OXIDIZED = "oxidized-importer==0.6.0"

# The floors' finder, run in the child.  ``table`` maps a module name to
# (is_package, member) where member is what ``read(member)`` turns into code bytes.
FLOOR_FINDER = r"""
import marshal
ModuleSpec = type(sys.__spec__)
class FloorFinder:
    def __init__(self, table, read, where):
        self.table = table
        self.read = read
        self.where = where
    def find_spec(self, name, path=None, target=None):
        entry = self.table.get(name)
        if entry is None:
            return None
        spec = ModuleSpec(name, self, origin=self.where + "/" + name, is_package=entry[0])
        spec.has_location = True
        return spec
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        exec(marshal.loads(self.read(self.table[module.__name__][1])), module.__dict__)
"""

MARSHAL_SETUP = (
    FLOOR_FINDER
    + r"""
with open(BLOB, "rb") as fp:
    _table = marshal.loads(fp.read())
sys.meta_path.insert(len(sys.meta_path) - 1,
                     FloorFinder(_table, lambda data: data[16:], BLOB))
"""
)

OXI_APPROACH_SETUP = (
    FLOOR_FINDER
    + r"""
import zlib
with open(ARCHIVE, "rb") as fp:
    _data = fp.read()
_u16 = lambda i: _data[i] | _data[i + 1] << 8
_u32 = lambda i: int.from_bytes(_data[i:i + 4], "little")
_eocd = _data.rfind(b"PK\x05\x06")
_count, _pos = _u16(_eocd + 10), _u32(_eocd + 16)
_table = {}
for _ in range(_count):
    _method, _csize = _u16(_pos + 10), _u32(_pos + 20)
    _nlen, _xlen, _clen = _u16(_pos + 28), _u16(_pos + 30), _u16(_pos + 32)
    _name = _data[_pos + 46:_pos + 46 + _nlen].decode()
    _local = _u32(_pos + 42)
    _start = _local + 30 + _u16(_local + 26) + _u16(_local + 28)
    if _name.endswith(".pyc"):
        _mod = _name[:-4].replace("/", ".")
        _pkg = _mod.endswith(".__init__")
        if _pkg:
            _mod = _mod[:-9]
        _table[_mod] = (_pkg, (_method, _start, _csize))
    _pos += 46 + _nlen + _xlen + _clen

def _read(member):
    method, start, size = member
    raw = _data[start:start + size]
    if method == 8:
        raw = zlib.decompress(raw, -15)
    return raw[16:]

sys.meta_path.insert(len(sys.meta_path) - 1, FloorFinder(_table, _read, ARCHIVE))
"""
)


def statement(top: list[str]) -> str:
    return "import " + ", ".join(top)


def dynload_dir() -> str:
    for entry in sys.path:
        if entry.endswith("lib-dynload"):
            return entry
    raise SystemExit("no lib-dynload directory on sys.path")


def run_child(code: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-W", "ignore", "-c", code],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"child failed ({out.returncode}): {code[:300]}\n{out.stderr[-2000:]}")
    return out.stdout


def stdlib_workload() -> tuple[list[tuple[str, str, bool]], str]:
    """(module, source, is_package) of each pure-Python Lib/ module TOP loads; the statement."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "top = []\n"
        f"for name in {TOP!r}:\n"
        "    try:\n"
        "        __import__(name)\n"
        "        top.append(name)\n"
        "    except ImportError:\n"
        "        pass\n"
        "after = list(sys.modules.items())\n"
        "import sysconfig, json\n"
        "from importlib.machinery import PathFinder\n"
        "lib = sysconfig.get_path('stdlib') + '/'\n"
        "out = []\n"
        "for name, m in after:\n"
        "    if name in before:\n"
        "        continue\n"
        "    spec = getattr(m, '__spec__', None)\n"
        "    if spec is None or spec.name != name:  # e.g. collections.abc replaces itself\n"
        "        parent = name.rpartition('.')[0]\n"
        "        path = getattr(sys.modules[parent], '__path__', 0) if parent else None\n"
        "        spec = None if path == 0 else PathFinder.find_spec(name, path)\n"
        "    if spec is None or not spec.has_location:\n"
        "        continue\n"
        "    origin = spec.origin or ''\n"
        "    if (type(spec.loader).__name__ == 'SourceFileLoader' and origin.startswith(lib)\n"
        "            and 'site-packages' not in origin):\n"
        "        out.append((name, origin, spec.submodule_search_locations is not None))\n"
        "print(json.dumps([out, top]))\n"
    )
    modules, top = json.loads(run_child(code))
    return [tuple(x) for x in modules], statement(top)  # type: ignore[misc]


def tiny_source(i: int) -> str:
    return f'"""Tiny module {i}."""\n\nVALUE = {i}\n\n\ndef get():\n    return VALUE\n'


class Workload:
    """The archives, tree and blob for one set of modules, and the statement importing them."""

    def __init__(self, tmp: str, label: str, modules: list[tuple[str, str, bool]], stmt: str):
        self.label = label
        # Where ours' own few stdlib needs come from: the archive (None), else this directory.
        self.support: str | None = None
        self.names = [m[0] for m in modules]
        self.statement = stmt
        base = os.path.join(tmp, label.split()[0])
        self.tree = base + "-tree"
        pycs: dict[str, bytes] = {}
        for name, source, is_pkg in modules:
            rel = name.replace(".", "/") + ("/__init__" if is_pkg else "")
            dest = os.path.join(self.tree, rel + ".py")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(source, dest)
            py_compile.compile(dest, doraise=True)  # the warm __pycache__
            cfile = os.path.join(base + "-pyc", rel + ".pyc")
            py_compile.compile(dest, cfile, dfile=rel + ".py", doraise=True)
            with open(cfile, "rb") as fp:
                pycs[rel + ".pyc"] = fp.read()
        self.archives = {}
        for kind, method in (("deflated", zipfile.ZIP_DEFLATED), ("stored", zipfile.ZIP_STORED)):
            path = f"{base}-{kind}.zip"
            with zipfile.ZipFile(path, "w", method) as zf:
                for member, data in pycs.items():
                    zf.writestr(member, data)
            self.archives[kind] = path
        # What issue 14's target 2 compares with the tree: `zipimporter build --compile`
        # (sources, and a stored unchecked-hash .pyc beside each).
        sys.path.insert(0, SRC_DIR)
        from zipimporter import bundle

        built = f"{base}-built.zip"
        bundle.build([self.tree], built, compile_pyc=True)
        self.archives["built"] = built
        self.blob = base + ".marshal"
        with open(self.blob, "wb") as fp:
            import marshal

            fp.write(
                marshal.dumps(
                    {
                        name: (
                            is_pkg,
                            pycs[name.replace(".", "/") + ("/__init__" if is_pkg else "") + ".pyc"],
                        )
                        for name, _, is_pkg in modules
                    }
                )
            )
        self.sizes = {kind: os.path.getsize(p) for kind, p in self.archives.items()}


def child_code(setup: str, path: list[str], stmt: str, names: list[str], loader: str) -> str:
    """Set up, import, time; check every module came through the expected loader."""
    return (
        "import sys, time\n"
        "PRE = ()\n"
        "t0 = time.perf_counter()\n"
        f"{setup}\n"
        f"sys.path[:] = {path!r}\n"
        f"{stmt}\n"
        "t1 = time.perf_counter()\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        "    if name in PRE:\n"
        "        continue\n"
        "    m = sys.modules.get(name)\n"
        "    if m is not None and m.__spec__.name != name:  # replaced itself\n"
        "        continue\n"
        "    cls = type(m.__spec__.loader) if m is not None else None\n"
        "    kind = f'{cls.__module__}.{cls.__qualname__}' if cls else 'missing'\n"
        f"    if kind != {loader!r}:\n"
        "        bad.append((name, kind))\n"
        "if bad:\n"
        "    raise SystemExit(f'not loaded as expected: {len(bad)} of them, e.g. {bad[:3]}')\n"
        "print(t1 - t0)\n"
    )


def conditions(
    work: Workload, kind: str, dynload: str, oxidized_site: str | None
) -> dict[str, str]:
    """Condition name -> the child's code."""
    archive = work.archives[kind]
    stmt, names = work.statement, work.names
    out = {
        "stdlib": child_code("", [archive, dynload], stmt, names, "zipimport.zipimporter"),
        "ours": child_code(
            f"sys.path[:] = [{SRC_DIR!r}, {work.support or archive!r}, {dynload!r}]\n"
            "import zipimporter\n"
            "zipimporter.install()\n"
            "PRE = set(sys.modules)  # what zipimporter needed, loaded by zipimport",
            [archive, dynload],
            stmt,
            names,
            "zipimporter.importer.zipimporter",
        ),
        "fs": child_code(
            "", [work.tree, dynload], stmt, names, "_frozen_importlib_external.SourceFileLoader"
        ),
        "oxi-approach": child_code(
            f"ARCHIVE = {archive!r}\n" + OXI_APPROACH_SETUP,
            [dynload],
            stmt,
            names,
            "__main__.FloorFinder",
        ),
        "marshal": child_code(
            f"BLOB = {work.blob!r}\n" + MARSHAL_SETUP,
            [dynload],
            stmt,
            names,
            "__main__.FloorFinder",
        ),
    }
    if oxidized_site:
        out["oxidized"] = child_code(
            f"sys.path[:] = [{oxidized_site!r}, {work.support or archive!r}, {dynload!r}]\n"
            "from oxidized_importer import OxidizedZipFinder\n"
            "sys.meta_path.insert(len(sys.meta_path) - 1, "
            f"OxidizedZipFinder.from_path({archive!r}))\n"
            "PRE = set(sys.modules)  # what it needed (os on 3.10), loaded by zipimport",
            [dynload],
            stmt,
            names,
            "oxidized_importer.OxidizedZipFinder",
        )
    return out


def measure(
    work: Workload, kind: str, dynload: str, oxidized_site: str | None, repeat: int, cache: str
) -> dict[str, dict[str, float]]:
    codes = conditions(work, kind, dynload, oxidized_site)
    env = dict(os.environ)
    env["ZIPIMPORTER_CACHE_DIR"] = cache
    for code in codes.values():
        run_child(code, env)  # warm-up: page cache, __pycache__, our caches
    times: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(repeat):
        for name, code in codes.items():
            times[name].append(float(run_child(code, env).strip().splitlines()[-1]))
    return {
        name: {"median": statistics.median(ts), "min": min(ts), "runs": ts}  # type: ignore[dict-item]
        for name, ts in times.items()
    }


def oxidized_site_dir(tmp: str, venv: str | None) -> tuple[str | None, str]:
    """The site-packages holding oxidized_importer for the running Python, or None and why."""
    created = venv is None
    if venv is None:
        venv = os.path.join(tmp, "oxidized-venv")
    py = os.path.join(venv, "bin", "python")
    try:
        if created:
            subprocess.run(
                [sys.executable, "-m", "venv", venv], check=True, capture_output=True, text=True
            )
            subprocess.run(
                [py, "-m", "pip", "install", "-q", "--only-binary", ":all:", OXIDIZED],
                check=True,
                capture_output=True,
                text=True,
            )
        out = subprocess.run(
            [
                py,
                "-c",
                "import oxidized_importer, os; print(os.path.dirname(oxidized_importer.__file__))",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        lines = (exc.stderr or exc.stdout or "").strip().splitlines()
        reason = next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else str(exc))
        return None, f"{OXIDIZED} not installable on Python {sys.version.split()[0]}: {reason}"
    return out.stdout.strip(), ""


def print_table(results: list[dict[str, object]]) -> None:
    print(
        f"Python {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} cores, "
        f"{time.strftime('%F')}"
    )
    header = (
        f"{'workload':44} {'condition':13} {'median':>10} {'min':>10} {'/stdlib':>8} "
        f"{'ours/this':>9} {'(by min)':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        t: dict[str, dict[str, float]] = r["times"]  # type: ignore[assignment]
        std, ours, ours_min = t["stdlib"]["median"], t["ours"]["median"], t["ours"]["min"]
        for name, v in t.items():
            print(
                f"{r['workload']:44} {name:13} {v['median'] * 1e3:8.1f}ms {v['min'] * 1e3:8.1f}ms "
                f"{v['median'] / std:8.2f} {ours / v['median']:9.2f} {ours_min / v['min']:8.2f}"
            )
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per condition (min, median)")
    parser.add_argument("--modules", type=int, default=1000, help="tiny modules (0: none)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--python", help="run the whole benchmark on this interpreter instead")
    parser.add_argument("--oxidized-venv", help=f"a venv that has {OXIDIZED} (else a temp one)")
    parser.add_argument("--no-oxidized", action="store_true", help="skip the Rust importer")
    args = parser.parse_args(argv)
    if args.python and os.path.realpath(args.python) != os.path.realpath(sys.executable):
        rest = list(sys.argv[1:] if argv is None else argv)
        i = rest.index("--python") if "--python" in rest else None
        if i is not None:
            del rest[i : i + 2]
        else:
            rest = [a for a in rest if not a.startswith("--python=")]
        os.execv(args.python, [args.python, os.path.abspath(__file__), *rest])

    dynload = dynload_dir()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="zipimporter-peers-") as tmp:
        site, why = (None, "--no-oxidized")
        if not args.no_oxidized:
            site, why = oxidized_site_dir(tmp, args.oxidized_venv)
        if site is None:
            print(f"SKIP oxidized: {why}")
        workloads = []
        modules, stmt = stdlib_workload()
        workloads.append(Workload(tmp, f"stdlib {len(modules)} modules", modules, stmt))
        if args.modules:
            src = os.path.join(tmp, "tiny-src")
            os.makedirs(src)
            tiny = []
            for i in range(args.modules):
                path = os.path.join(src, f"mod_{i:04d}.py")
                with open(path, "w") as fp:
                    fp.write(tiny_source(i))
                tiny.append((f"mod_{i:04d}", path, False))
            names = [m[0] for m in tiny]
            workloads.append(
                Workload(
                    tmp,
                    f"tiny {len(tiny)} modules",
                    tiny,
                    f"for name in {names!r}:\n    __import__(name)",
                )
            )
            workloads[-1].support = sysconfig.get_path("stdlib")
        for work in workloads:
            for kind in ("deflated", "stored", "built"):
                cache = os.path.join(tmp, f"cache-{work.label.split()[0]}-{kind}")
                times = measure(work, kind, dynload, site, args.repeat, cache)
                results.append(
                    {
                        "workload": f"{work.label}, {kind} zip, {work.sizes[kind] // 1024} KiB",
                        "times": times,
                    }
                )
                print(f"done: {results[-1]['workload']}", file=sys.stderr)
    print_table(results)
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(
                {
                    "python": sys.version.split()[0],
                    "date": time.strftime("%Y-%m-%d"),
                    "oxidized": why or "measured",
                    "results": results,
                },
                fp,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

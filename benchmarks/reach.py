"""What it costs to reach every process: self-contained bundles and the ``enable`` .pth.

    python benchmarks/reach.py [--repeat N] [--json FILE] [--python PATH] [--wheels DIR]

Measures, on the running Python version, in one run, wall times of fresh
processes (medians; the conditions of a measure alternate in one loop, so
that drift hits them alike):

1. A tiny app (a package with one module whose main prints a line):
   ``python app.pyz`` built with the zipimporter runtime vs the same app built
   ``--no-runtime`` (a plain zipapp, read by the stdlib), with a cold
   (fresh, empty ``ZIPIMPORTER_CACHE_DIR``) and a warm cache, and once more
   with both built ``--compile``.
2. A real app: rich + pygments + markdown-it-py + mdurl from PyPI wheels
   (``pip download`` at benchmark time; ``--wheels DIR`` to use wheels already
   there) and an ``app`` package rendering a table, highlighted code and
   Markdown.  Built with the runtime (deflated, and bzip2, which the stdlib
   can't read) and ``--no-runtime`` (deflated, and ``--compile``), and run from
   the unzipped tree with a warm ``__pycache__`` (the floor).
3. Start-up of ``python -c pass`` in a venv where zipimporter is importable,
   without and with ``python -m zipimporter enable``'s ``.pth``; the time
   ``site`` spends (``-X importtime``, which includes executing ``.pth``
   lines), and whether zipimporter was imported.

The bundles run with a plain interpreter that cannot import zipimporter: by
default a fresh ``--without-pip`` venv of this Python's base interpreter (the
base interpreter's own site-packages may hold ``.pth`` files that cost every
start-up the same in both conditions; ``--python`` picks another).  Every
child gets an environment without ``PYTHON*`` and ``ZIPIMPORTER_*`` variables
(so bytecode is written), plus its own ``ZIPIMPORTER_CACHE_DIR``.  Nothing
here asserts a speed: the figures are for reading and tracking (--json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SRC_DIR = str(Path(__file__).resolve().parent.parent / "src")
WHEELS = ("rich", "pygments", "markdown-it-py", "mdurl")
PTH_NAME = "zipimporter-enable.pth"
RUNTIME_PACKAGE = "_zipimporter_runtime"

TINY_APP = '''\
"""A tiny app: its main prints a line (and which loader imported this module)."""


def main():
    print("hello from", type(__loader__).__module__)
'''

REAL_APP = '''\
"""A real app: a rich table, pygments-highlighted code and Markdown; prints a checksum."""

import io
import zlib

import rich
from rich.console import Console
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.table import Table

CODE = """\\
import dataclasses


@dataclasses.dataclass
class Point:
    x: float
    y: float

    def scaled(self, factor: float = 2.0) -> "Point":
        # A comment, a string and a number for the highlighter.
        return Point(self.x * factor, self.y * factor)


print([Point(i, -i).scaled() for i in range(3)], f"{3.5:>8.2f}")
"""

DOC = """\\
# Release notes

Some *emphasis*, some **strong** text, `inline code`, and more.

1. first item
2. second item, with `code`

> A quote.
"""


def main():
    console = Console(
        file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor"
    )
    table = Table(title="Planets", show_lines=True)
    table.add_column("name", style="cyan")
    table.add_column("moons", justify="right", style="magenta")
    table.add_column("notes", style="green")
    for name, moons, notes in [
        ("Mercury", 0, "closest to the Sun"),
        ("Earth", 1, "[bold]home[/bold]"),
        ("Jupiter", 95, "largest"),
        ("Saturn", 146, "rings"),
    ]:
        table.add_row(name, str(moons), notes)
    console.print(table)
    console.print(Syntax(CODE, "python", theme="monokai", line_numbers=True))
    console.print(Markdown(DOC))
    out = console.file.getvalue().encode()
    print(len(out), f"{zlib.crc32(out):08x}", type(rich.__loader__).__module__)
'''


# -- processes -------------------------------------------------------------------


def clean_environ(cache: str | None = None) -> dict[str, str]:
    """os.environ without PYTHON* and ZIPIMPORTER_* variables; the cache directory set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ZIPIMPORTER_"))}
    if cache is not None:
        env["ZIPIMPORTER_CACHE_DIR"] = cache
    return env


def run(cmd: Sequence[str], env: dict[str, str], cwd: str | None = None) -> tuple[float, str, str]:
    """Run *cmd*; return its wall time, stdout and stderr.  A failure raises with its stderr."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout, proc.stderr


@dataclass
class Condition:
    """One way of running a program, timed as a fresh process."""

    name: str
    cmd: list[str]
    #: Returns the environment for the next run (e.g. with a fresh cache directory).
    environ: Callable[[], dict[str, str]]
    #: Raises if a run's stdout is not what this condition should print.
    check: Callable[[str], None] = lambda out: None
    #: Called before each run (untimed).
    before: Callable[[], None] = lambda: None
    #: Called after each run (untimed).
    after: Callable[[], None] = lambda: None
    cwd: str | None = None
    times: list[float] = field(default_factory=list)

    def once(self) -> float:
        self.before()
        try:
            elapsed, out, _ = run(self.cmd, self.environ(), self.cwd)
            self.check(out)
        finally:
            self.after()
        return elapsed

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def measure(conditions: Sequence[Condition], repeat: int, label: str) -> None:
    """One untimed run of each (fills warm caches), then *repeat* timed ones, alternating.

    The order reverses every round (ABC CBA ...), so that neither condition
    always follows the other.
    """
    t0 = time.perf_counter()
    for cond in conditions:
        cond.once()
    for i in range(repeat):
        for cond in conditions if i % 2 == 0 else reversed(conditions):
            cond.times.append(cond.once())
    print(
        f"  {label}: {repeat} x {len(conditions)} runs in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )


def expect_loader(prefix: str) -> Callable[[str], None]:
    """A check: the last word printed (a loader's module) starts with *prefix*."""

    def check(out: str) -> None:
        words = out.split()
        if not words or not words[-1].startswith(prefix):
            raise RuntimeError(f"expected a module loaded by {prefix}*, the app printed {out!r}")

    return check


class CacheDirs:
    """Cache directories: a fixed warm one, or a fresh empty one per run (cold)."""

    def __init__(self, tmp: str, name: str) -> None:
        self.warm_dir = os.path.join(tmp, f"cache-{name}-warm")
        self._cold_root = os.path.join(tmp, f"cache-{name}-cold")
        self._count = 0
        self._current: str | None = None

    def warm(self) -> dict[str, str]:
        return clean_environ(self.warm_dir)

    def cold(self) -> dict[str, str]:
        self._count += 1
        self._current = os.path.join(self._cold_root, str(self._count))
        return clean_environ(self._current)  # does not exist yet: created by the run

    def drop_cold(self) -> None:
        if self._current is not None:
            shutil.rmtree(self._current, ignore_errors=True)


# -- building -----------------------------------------------------------------------


def zipimporter_build(src: str, out: str, main: str, *options: str) -> str:
    """``zipimporter build`` with the zipimporter this benchmark belongs to."""
    env = clean_environ()
    env["PYTHONPATH"] = SRC_DIR
    cmd = [sys.executable, "-m", "zipimporter", "build", src, "-o", out, "--main", main]
    subprocess.run([*cmd, *options], env=env, check=True, capture_output=True, text=True)
    return out


def make_plain_python(tmp: str, name: str) -> str:
    """A fresh venv of the base interpreter, without pip; returns its python."""
    base = getattr(sys, "_base_executable", sys.executable)
    venv = os.path.join(tmp, name)
    subprocess.run([base, "-m", "venv", "--without-pip", venv], env=clean_environ(), check=True)
    return os.path.join(venv, "bin", "python")


def check_plain(python: str) -> None:
    code = "import importlib.util as u, sys; sys.exit(u.find_spec('zipimporter') is not None)"
    if subprocess.run([python, "-c", code], env=clean_environ()).returncode:
        raise SystemExit(f"{python} can import zipimporter: not a plain interpreter")


# -- importtime -----------------------------------------------------------------------


def importtime(stderr: str) -> dict[str, tuple[int, int]]:
    """Module -> (self, cumulative) microseconds, from ``-X importtime`` output.

    >>> importtime("import time: self [us] | cumulative | imported package\\n"
    ...            "import time:       120 |        340 |   site\\n")
    {'site': (120, 340)}
    """
    found = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:") :].split("|")
        found[name.strip()] = (int(self_us), int(cumulative))
    return found


def median_importtime(cmd: list[str], env: dict[str, str], runs: int) -> dict[str, tuple[int, int]]:
    """Median self and cumulative times per module over *runs* runs of *cmd* with -X importtime."""
    samples: dict[str, list[tuple[int, int]]] = {}
    for _ in range(runs):
        _, _, err = run([cmd[0], "-X", "importtime", *cmd[1:]], env)
        for name, times in importtime(err).items():
            samples.setdefault(name, []).append(times)
    return {
        name: (
            int(statistics.median(t[0] for t in ts)),
            int(statistics.median(t[1] for t in ts)),
        )
        for name, ts in samples.items()
    }


# -- results ----------------------------------------------------------------------


def row(
    measure: str,
    ours: float | None,
    peer: float | None,
    peer_name: str,
    floor: float | None = None,
    floor_name: str = "",
    unit: str = "s",
) -> dict[str, object]:
    return {
        "measure": measure,
        "unit": unit,
        "ours": ours,
        "peer": peer,
        "peer_name": peer_name,
        "floor": floor,
        "floor_name": floor_name,
        "ours_vs_peer": (ours / peer) if ours is not None and peer else None,
        "ours_minus_peer": (ours - peer) if ours is not None and peer is not None else None,
        "ours_vs_floor": (ours / floor) if ours is not None and floor else None,
    }


def fmt(value: object, signed: bool = False) -> str:
    if not isinstance(value, float):
        return "—"
    return f"{value * 1e3:+.2f} ms" if signed else f"{value * 1e3:.2f} ms"


def ratio(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "—"


def print_table(rows: list[dict[str, object]], python: str) -> None:
    version = sys.version.split()[0]
    print(
        f"Python {version} on {os.uname().machine}, {os.cpu_count()} cores, "
        f"{time.strftime('%F')}; bundles run by {python}"
    )
    header = (
        f"{'measure':44} {'ours':>10} {'peer':>10} {'ours/peer':>9} {'ours-peer':>11} "
        f"{'floor':>10} {'ours/floor':>10}  peer; floor"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        names = str(r["peer_name"]) + (f"; {r['floor_name']}" if r["floor"] else "")
        print(
            f"{r['measure']:44} {fmt(r['ours']):>10} {fmt(r['peer']):>10} "
            f"{ratio(r['ours_vs_peer']):>9} {fmt(r['ours_minus_peer'], True):>11} "
            f"{fmt(r['floor']):>10} {ratio(r['ours_vs_floor']):>10}  {names}"
        )


# -- 1. the tiny app ------------------------------------------------------------------


def bench_tiny(
    tmp: str, python: str, repeat: int, rows: list[dict[str, object]], notes: list[str]
) -> None:
    src = os.path.join(tmp, "tiny-src")
    os.makedirs(os.path.join(src, "tiny"))
    Path(src, "tiny", "__init__.py").write_text("")
    Path(src, "tiny", "app.py").write_text(TINY_APP)
    for compiled in (False, True):
        options = ["--compile"] if compiled else []
        suffix = "-compiled" if compiled else ""
        ours = zipimporter_build(
            src, os.path.join(tmp, f"tiny{suffix}.pyz"), "tiny.app:main", *options
        )
        std = zipimporter_build(
            src,
            os.path.join(tmp, f"tiny-stdlib{suffix}.pyz"),
            "tiny.app:main",
            "--no-runtime",
            *options,
        )
        caches = CacheDirs(tmp, f"tiny{suffix}")
        cold = Condition(
            "cold",
            [python, ours],
            caches.cold,
            expect_loader(RUNTIME_PACKAGE),
            after=caches.drop_cold,
        )
        warm = Condition("warm", [python, ours], caches.warm, expect_loader(RUNTIME_PACKAGE))
        stdlib = Condition("stdlib", [python, std], clean_environ, expect_loader("zipimport"))
        measure([cold, warm, stdlib], repeat, f"tiny app{' --compile' if compiled else ''}")
        what = "tiny app" + (", --compile" if compiled else "")
        peer = "stdlib zipapp" + (" (--compile)" if compiled else "")
        rows.append(row(f"{what}, cold cache", cold.median, stdlib.median, peer))
        rows.append(row(f"{what}, warm cache", warm.median, stdlib.median, peer))
        tiny_profile(python, ours, std, caches, notes, what)


def tiny_profile(
    python: str,
    ours: str,
    std: str,
    caches: CacheDirs,
    notes: list[str],
    what: str,
    runs: int = 7,
) -> None:
    """Where the runtime's start-up goes: -X importtime of the warm tiny app, vs the stdlib's."""
    with_rt = median_importtime([python, ours], caches.warm(), runs)
    without = median_importtime([python, std], clean_environ(), runs)
    runtime_total = sum(s for name, (s, _) in with_rt.items() if name.startswith(RUNTIME_PACKAGE))
    extra = {name: t for name, t in with_rt.items() if name not in without}
    extra_total = sum(s for s, _ in extra.values())
    notes.append(
        f"{what}, warm cache, -X importtime (median of {runs}): the runtime's modules "
        f"{runtime_total / 1e3:.2f} ms self time; all modules not imported by the stdlib "
        f"zipapp {extra_total / 1e3:.2f} ms ({len(extra)} modules):"
    )
    for name, (self_us, cumulative) in sorted(extra.items(), key=lambda kv: -kv[1][0])[:12]:
        notes.append(
            f"    {name:44} self {self_us / 1e3:6.2f} ms  cumulative {cumulative / 1e3:6.2f} ms"
        )


# -- 2. the real app ------------------------------------------------------------------


def get_wheels(tmp: str, wheels: str | None) -> list[str] | None:
    """The wheels of WHEELS, from *wheels* or ``pip download``; None (after a SKIP line) if none."""
    if wheels is None:
        wheels = os.path.join(tmp, "wheels")
        cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps"]
        proc = subprocess.run(
            [*cmd, "-d", wheels, *WHEELS], capture_output=True, text=True, env=clean_environ()
        )
        if proc.returncode:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            print(f"SKIP real app: pip download {' '.join(WHEELS)} failed: {last}")
            return None
    found = sorted(str(p) for p in Path(wheels).glob("*.whl"))
    names = {Path(p).name.split("-")[0].lower().replace("_", "-") for p in found}
    missing = [w for w in WHEELS if w not in names]
    if missing:
        print(f"SKIP real app: no wheel for {', '.join(missing)} in {wheels}")
        return None
    return found


def bench_real(
    tmp: str,
    python: str,
    repeat: int,
    wheels: str | None,
    rows: list[dict[str, object]],
    notes: list[str],
) -> None:
    found = get_wheels(tmp, wheels)
    if found is None:
        notes.append("real app: skipped (no wheels)")
        return
    tree = os.path.join(tmp, "real-src")
    for wheel in found:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tree)
    os.makedirs(os.path.join(tree, "app"))
    Path(tree, "app", "__init__.py").write_text("")
    Path(tree, "app", "render.py").write_text(REAL_APP)
    Path(tree, "app", "__main__.py").write_text("from app.render import main\n\nmain()\n")
    modules = sum(1 for _ in Path(tree).rglob("*.py"))
    notes.append(
        f"real app: {', '.join(Path(w).name for w in found)}; {modules} .py files in the bundle"
    )

    def build(name: str, *options: str) -> str:
        return zipimporter_build(tree, os.path.join(tmp, name), "app.render:main", *options)

    ours = build("real.pyz")
    ours_bz2 = build("real-bzip2.pyz", "--compression", "bzip2")
    std = build("real-stdlib.pyz", "--no-runtime")
    ours_c = build("real-compiled.pyz", "--compile")
    std_c = build("real-stdlib-compiled.pyz", "--no-runtime", "--compile")
    checksums: dict[str, str] = {}

    def check(prefix: str, name: str) -> Callable[[str], None]:
        loader = expect_loader(prefix)

        def check_output(out: str) -> None:
            loader(out)
            checksums[name] = " ".join(out.split()[:2])

        return check_output

    deflated, bzip2, compiled = (
        CacheDirs(tmp, "real"),
        CacheDirs(tmp, "real-bz2"),
        CacheDirs(tmp, "real-c"),
    )
    rt = RUNTIME_PACKAGE
    conds = {
        "ours cold": Condition(
            "", [python, ours], deflated.cold, check(rt, "ours"), after=deflated.drop_cold
        ),
        "ours warm": Condition("", [python, ours], deflated.warm, check(rt, "ours")),
        "bzip2 cold": Condition(
            "", [python, ours_bz2], bzip2.cold, check(rt, "bzip2"), after=bzip2.drop_cold
        ),
        "bzip2 warm": Condition("", [python, ours_bz2], bzip2.warm, check(rt, "bzip2")),
        "stdlib": Condition("", [python, std], clean_environ, check("zipimport", "stdlib")),
        "compiled warm": Condition("", [python, ours_c], compiled.warm, check(rt, "compiled")),
        "stdlib compiled": Condition(
            "", [python, std_c], clean_environ, check("zipimport", "std-c")
        ),
        # The floor: the unzipped tree, its __pycache__ written by the untimed first run.
        "tree": Condition(
            "",
            [python, "-m", "app"],
            lambda: {**clean_environ(), "PYTHONPATH": tree},
            check("_frozen_importlib_external", "tree"),
            cwd=tmp,
        ),
    }
    measure(list(conds.values()), repeat, "real app")
    if len(set(checksums.values())) != 1:
        raise RuntimeError(f"the real app's output differs between builds: {checksums}")
    notes.append(f"real app output (bytes, crc32): {checksums['stdlib']}, the same for every build")
    t = {name: c.median for name, c in conds.items()}
    floor = "unzipped tree, warm __pycache__"
    rows.append(
        row(
            "real app, deflated, cold cache",
            t["ours cold"],
            t["stdlib"],
            "stdlib zipapp",
            t["tree"],
            floor,
        )
    )
    rows.append(
        row(
            "real app, deflated, warm cache",
            t["ours warm"],
            t["stdlib"],
            "stdlib zipapp",
            t["tree"],
            floor,
        )
    )
    rows.append(
        row("real app, bzip2, cold cache", t["bzip2 cold"], None, "stdlib can't", t["tree"], floor)
    )
    rows.append(
        row("real app, bzip2, warm cache", t["bzip2 warm"], None, "stdlib can't", t["tree"], floor)
    )
    rows.append(
        row(
            "real app, --compile, warm cache",
            t["compiled warm"],
            t["stdlib compiled"],
            "stdlib zipapp (--compile)",
            t["tree"],
            floor,
        )
    )


# -- 3. the .pth ------------------------------------------------------------------


def bench_pth(
    tmp: str, repeat: int, importtime_runs: int, rows: list[dict[str, object]], notes: list[str]
) -> None:
    python = make_plain_python(tmp, "pth-venv")
    env = clean_environ(os.path.join(tmp, "cache-pth"))
    _, out, _ = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env
    )
    purelib = out.strip()
    Path(purelib, "zipimporter-src.pth").write_text(SRC_DIR + "\n")
    _, out, _ = run([python, "-m", "zipimporter", "enable"], env)
    pth = os.path.join(purelib, PTH_NAME)
    if not os.path.isfile(pth):
        raise RuntimeError(f"'zipimporter enable' did not write {pth}: {out!r}")
    off = pth + ".off"  # site reads *.pth only: renaming turns the file off and on

    probe = (
        "import sys; print(sorted(m for m in sys.modules if 'zipimporter' in m), "
        "any(getattr(h, '_zipimporter_deferred_hook', False) for h in sys.path_hooks))"
    )
    _, out, _ = run([python, "-c", probe], env)
    notes.append(
        f".pth on: zipimporter modules in sys.modules after start-up, deferred hook: {out.strip()}"
    )

    os.replace(pth, off)
    without = Condition("without", [python, "-c", "pass"], lambda: env)
    with_pth = Condition(
        "with",
        [python, "-c", "pass"],
        lambda: env,
        before=lambda: os.replace(off, pth),
        after=lambda: os.replace(pth, off),
    )
    measure([without, with_pth], repeat, "-c pass, .pth off/on")
    rows.append(
        row("python -c pass, with the enable .pth", with_pth.median, without.median, "without it")
    )

    # -X importtime: executing .pth lines is part of site's self time.
    site_off = median_importtime([python, "-c", "pass"], env, importtime_runs)
    os.replace(off, pth)
    try:
        site_on = median_importtime([python, "-c", "pass"], env, importtime_runs)
    finally:
        os.replace(pth, off)
    rows.append(
        row(
            "site self time (-X importtime), with .pth",
            site_on["site"][0] / 1e6,
            site_off["site"][0] / 1e6,
            "without it",
        )
    )
    added = sorted(set(site_on) - set(site_off))
    notes.append(
        f"-X importtime of -c pass (median of {importtime_runs}): modules imported only with "
        f"the .pth: {added or 'none'}"
    )
    os.replace(off, pth)
    _, out, _ = run([python, "-m", "zipimporter", "disable"], env)
    if os.path.exists(pth):
        raise RuntimeError(f"'zipimporter disable' left {pth}")


# -- main ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=60,
        help="runs per condition for the tiny app (default 60); the real app runs N/4 "
        "(at least 3), python -c pass 2N (at least 60)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--python", metavar="PATH", help="interpreter that runs the bundles (default: a fresh venv)"
    )
    parser.add_argument("--wheels", metavar="DIR", help="use these wheels, don't pip download")
    parser.add_argument(
        "--only", choices=["tiny", "real", "pth"], action="append", help="run only these parts"
    )
    args = parser.parse_args(argv)
    parts = args.only or ["tiny", "real", "pth"]
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="zipimporter-reach-") as tmp:
        python = args.python or make_plain_python(tmp, "plain-venv")
        check_plain(python)
        if "tiny" in parts:
            bench_tiny(tmp, python, args.repeat, rows, notes)
        if "real" in parts:
            bench_real(tmp, python, max(3, args.repeat // 4), args.wheels, rows, notes)
        if "pth" in parts:
            bench_pth(tmp, max(60, 2 * args.repeat), 25, rows, notes)
        shown = (
            python if args.python else f"a fresh venv of {getattr(sys, '_base_executable', '?')}"
        )
    print_table(rows, shown)
    for note in notes:
        print(note)
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(
                {
                    "python": sys.version.split()[0],
                    "date": time.strftime("%Y-%m-%d"),
                    "interpreter": shown,
                    "rows": rows,
                    "notes": notes,
                },
                fp,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

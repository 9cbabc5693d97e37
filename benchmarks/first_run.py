"""First, second and changed runs of a source-only archive, on a quiet and on a busy disk.

    python benchmarks/first_run.py [--modules N] [--repeat N] [--old SRC] [--dir DIR] [--json FILE]

A deflated archive of N (default 500) source-only modules is imported in a
fresh process, timed from outside (the whole process: interpreter start-up,
imports, and the work done at exit, such as writing the compiled-source
cache), in three runs:

first
    with an empty cache (ours compiles everything and writes its cache);
second
    with the cache the first run left (ours reads it);
changed
    after one module of the archive changed (ours compiles one, rewrites its cache).

The stdlib's zipimport has no cache: it compiles every module in every run.
``--old SRC`` adds zipimporter from another source tree (e.g. the code before
the compiled-source packs: ``git worktree add /tmp/old HEAD~1`` then ``--old
/tmp/old/src``; remove it with ``git worktree remove /tmp/old``).

Each run is measured on a quiet disk and while a background process keeps
writing files and fsync'ing them in another directory of the same file system
(the busy disk), which makes every file creation and rename wait for the
journal.  The cost of one cache-file write (``cachedir.atomic_write`` of 4 KiB)
is printed for each condition.  ``--dir`` must be on a real disk (not tmpfs) for
the busy condition to mean anything.  Medians of ``--repeat`` runs; nothing
here asserts a speed.
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
from pathlib import Path

import zipimporter
from run import module_source  # benchmarks/run.py, beside this file
from zipimporter import cachedir

SRC_DIR = str(Path(zipimporter.__file__).resolve().parent.parent)
RUNS = ("first", "second", "changed")

WRITER = """
import os, sys
directory, i = sys.argv[1], 0
block = os.urandom(4096)  # small files: the most journal commits
while True:
    path = os.path.join(directory, f"f{i}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, block)
    os.fsync(fd)
    os.close(fd)
    if i >= 32:
        os.unlink(os.path.join(directory, f"f{i - 32}"))
    i += 1
"""


def write_archive(path: str, count: int, version: int) -> None:
    """The archive, module 0 at *version* (the one that changes)."""
    tmp = f"{path}.tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(count):
            zf.writestr(f"mod_{i:04d}.py", module_source(i, version if i == 0 else 0))
    os.replace(tmp, path)


class Mode:
    """How a process imports: the stdlib, ours, or ours from another source tree."""

    def __init__(self, name: str, src: str | None, tmp: str, count: int) -> None:
        self.name = name
        self.src = src
        self.archive = os.path.join(tmp, f"{name}.zip")
        self.cache = os.path.join(tmp, f"cache-{name}")
        self.version = 0
        write_archive(self.archive, count, self.version)
        names = [f"mod_{i:04d}" for i in range(count)]
        setup = "" if src is None else "import zipimporter; zipimporter.install()"
        self.code = (
            "import sys, time\n"
            "t0 = time.perf_counter()\n"
            f"{setup}\n"
            f"sys.path.insert(0, {self.archive!r})\n"
            f"for name in {names!r}:\n"
            "    __import__(name)\n"
            "print(time.perf_counter() - t0)\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ZIPIMPORTER_")}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPATH"] = src or SRC_DIR
        self.env["ZIPIMPORTER_CACHE_DIR"] = self.cache

    def clear_cache(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    def change(self, count: int) -> None:
        self.version += 1
        write_archive(self.archive, count, self.version)

    def run(self) -> tuple[float, float]:
        """(wall seconds of the whole process, seconds its imports took inside it)."""
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", self.code],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        return wall, float(out.stdout.strip().splitlines()[-1])


def file_write_cost(directory: str, count: int = 200) -> float:
    """Seconds per cache-file write (atomic_write of 4 KiB: create, write, rename)."""
    os.makedirs(directory, exist_ok=True)
    data = os.urandom(4096)
    t0 = time.perf_counter()
    for i in range(count):
        cachedir.atomic_write(os.path.join(directory, f"probe{i}"), data)
    cost = (time.perf_counter() - t0) / count
    shutil.rmtree(directory, ignore_errors=True)
    return cost


def measure(modes: list[Mode], count: int, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Samples: {run: {mode: [wall seconds]}} (and "<run>-imports" for the in-process times)."""
    samples: dict[str, dict[str, list[float]]] = {}
    for mode in modes:  # warm the interpreter's own caches (zipimporter's .pyc, page cache)
        mode.clear_cache()
        mode.run()
        mode.run()
    for _ in range(repeat):
        for mode in modes:  # interleaved, so slow phases of the machine hit every mode
            mode.clear_cache()
            for run in RUNS:
                if run == "changed":
                    mode.change(count)
                wall, inside = mode.run()
                samples.setdefault(run, {}).setdefault(mode.name, []).append(wall)
                samples.setdefault(f"{run}-imports", {}).setdefault(mode.name, []).append(inside)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=500, help="modules in the archive")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each kind (median)")
    parser.add_argument("--old", metavar="SRC", help="also time zipimporter from this src dir")
    parser.add_argument("--dir", help="where the archives and caches go (a real disk)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    rows: list[dict[str, object]] = []
    costs: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="zipimporter-first-run-", dir=args.dir) as tmp:
        modes = [Mode("stdlib", None, tmp, args.modules), Mode("ours", SRC_DIR, tmp, args.modules)]
        if args.old:
            modes.append(Mode("old", os.path.abspath(args.old), tmp, args.modules))
        for condition in ("quiet", "busy"):
            writer = None
            if condition == "busy":
                scratch = os.path.join(tmp, "writer")
                os.mkdir(scratch)
                writer = subprocess.Popen([sys.executable, "-c", WRITER, scratch])
                time.sleep(1)
            try:
                costs[condition] = file_write_cost(os.path.join(tmp, "probe"))
                samples = measure(modes, args.modules, args.repeat)
            finally:
                if writer is not None:
                    writer.kill()
                    writer.wait()
            for run in RUNS:
                medians = {m: statistics.median(v) for m, v in samples[run].items()}
                inside = {m: statistics.median(v) for m, v in samples[f"{run}-imports"].items()}
                rows.append(
                    {
                        "condition": condition,
                        "run": run,
                        "wall": medians,
                        "wall_min": {m: min(v) for m, v in samples[run].items()},
                        "imports": inside,
                        "samples": samples[run],
                        "ours_vs_stdlib": medians["ours"] / medians["stdlib"],
                        "ours_vs_old": medians["ours"] / medians["old"] if args.old else None,
                    }
                )
    print_table(rows, costs, args, "wall", "median")
    print_table(rows, {}, args, "wall_min", "fastest")
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(
                {
                    "python": sys.version.split()[0],
                    "date": time.strftime("%Y-%m-%d"),
                    "modules": args.modules,
                    "repeat": args.repeat,
                    "file_write_cost": costs,
                    "rows": rows,
                },
                fp,
                indent=2,
            )
    return 0


def print_table(
    rows: list[dict[str, object]],
    costs: dict[str, float],
    args: argparse.Namespace,
    key: str,
    statistic: str,
) -> None:
    version = sys.version.split()[0]
    print(
        f"\nPython {version} on {os.uname().machine}, {os.cpu_count()} cores, "
        f"{time.strftime('%F')}: {args.modules} source-only modules, deflated; "
        f"whole-process wall time, {statistic} of {args.repeat}"
    )
    for condition, cost in costs.items():
        print(f"  one cache-file write (4 KiB: create + rename), {condition}: {cost * 1e3:.2f} ms")
    old = bool(args.old)
    header = f"{'disk':6} {'run':8} {'stdlib':>10} {'ours':>10}"
    header += f" {'old':>10}" if old else ""
    header += f"  {'ours/stdlib':>11}" + (f" {'ours/old':>9} {'old/stdlib':>10}" if old else "")
    print(header)
    print("-" * len(header))
    for r in rows:
        wall: dict[str, float] = r[key]  # type: ignore[assignment]
        line = f"{r['condition']:6} {r['run']:8}"
        for mode in ("stdlib", "ours", "old") if old else ("stdlib", "ours"):
            line += f" {wall[mode] * 1e3:7.1f} ms"
        line += f"  {wall['ours'] / wall['stdlib']:11.3f}"
        if old:
            line += f" {wall['ours'] / wall['old']:9.3f} {wall['old'] / wall['stdlib']:10.3f}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())

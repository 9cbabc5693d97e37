"""zipimporter vs the stdlib zipimport vs the floor, side by side in one run.

    python benchmarks/run.py [--repeat N] [--json FILE] [--entries N]

Builds its own archives in a temp dir and prints, for each measure, the median
time (or bytes) of ours, the stdlib's and the floor (the least work that
could give the same result, e.g. reading the bytes), and the ratios.  Nothing
here asserts a speed: the figures are for reading and tracking (--json).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zipimport
import zlib
from collections.abc import Callable
from pathlib import Path

import zipimporter
from zipimporter import cachedir
from zipimporter.archive import read_directory

STDLIB_ZIP64 = sys.version_info >= (3, 13)
SRC_DIR = str(Path(zipimporter.__file__).resolve().parent.parent)


def median_time(
    func: Callable[[], object], repeat: int, setup: Callable[[], object] = lambda: None
) -> float:
    times = []
    for _ in range(repeat):
        setup()
        gc.collect()
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def build_many(path: str, entries: int) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(entries):
            zf.writestr(f"pkg{i % 100}/sub/module_{i}.py", f"x = {i}\n")


def module_source(i: int, version: int | None = None) -> str:
    """A few functions and a class, so compiling costs what small real modules cost.

    With *version*, a ``VERSION`` line too (first_run.py changes a module by it).
    Also used by first_run.py and dask_bundle.py.
    """
    return (
        f'"""Module {i}."""\n\nimport os\n\nVALUE = {i}\n'
        + ("" if version is None else f"VERSION = {version}\n")
        + "\n"
        + "".join(
            f"def func_{j}(a, b={j}):\n    if a > b:\n        return [a * k for k in range(b)]\n"
            f"    return {{'a': a, 'b': b, 'i': {i}}}\n\n"
            for j in range(8)
        )
        + f"class C{i}:\n    def method(self, x):\n        return os.path.join(str(x), 'y')\n"
    )


def stdlib_open(path: str) -> None:
    zipimport._zip_directory_cache.clear()
    zipimport.zipimporter(path)


def ours_open(path: str) -> None:
    zipimporter._zip_directory_cache.clear()
    zipimporter.zipimporter(path)


def bench_open(tmp: str, entries: int, repeat: int, rows: list[dict[str, object]]) -> None:
    big = os.path.join(tmp, f"many-{entries}.zip")
    build_many(big, entries)
    # Where the stdlib can't read ZIP64 (3.11/3.12), compare on a smaller archive.
    cmp_entries = entries if STDLIB_ZIP64 else min(entries, 60_000)
    cmp = big
    if cmp_entries != entries:
        cmp = os.path.join(tmp, f"many-{cmp_entries}.zip")
        build_many(cmp, cmp_entries)

    def floor() -> None:
        with open(cmp, "rb") as fp:
            fp.read()

    cachedir.configure(None)
    t_std = median_time(lambda: stdlib_open(cmp), repeat)
    t_ours = median_time(lambda: ours_open(cmp), repeat)
    t_floor = median_time(floor, repeat)
    rows.append(row(f"cold open, {cmp_entries:,} entries", t_ours, t_std, t_floor, "s"))
    if cmp_entries != entries:
        t_big = median_time(lambda: ours_open(big), repeat)
        rows.append(
            row(f"cold open, {entries:,} entries (ZIP64; stdlib can't)", t_big, None, None, "s")
        )

    # Small archives (issue 14, target 5): with the cache on, opening one never
    # looks for a saved index (under index_cache.MIN_ENTRIES entries).
    small = os.path.join(tmp, "small-200.zip")
    build_many(small, 200)
    cachedir.configure(os.path.join(tmp, "cache"))
    opens = 100

    def many(open_func: Callable[[str], None]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(opens):
                open_func(small)

        return run

    t_small_std = median_time(many(stdlib_open), repeat) / opens
    t_small = median_time(many(ours_open), repeat) / opens
    rows.append(
        row("open a 200-entry archive, cache on (per open)", t_small, t_small_std, None, "s")
    )

    ours_open(cmp)  # writes the persistent index
    t_warm = median_time(lambda: ours_open(cmp), repeat)
    rows.append(
        row(f"warm open (persistent index), {cmp_entries:,} entries", t_warm, t_std, t_floor, "s")
    )
    cachedir.configure(None)

    def memory(open_func: Callable[[], object]) -> float:
        gc.collect()
        tracemalloc.start()
        kept = open_func()
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del kept
        return size / cmp_entries

    def std_index() -> object:
        zipimport._zip_directory_cache.clear()
        zipimport.zipimporter(cmp)
        return zipimport._zip_directory_cache.pop(cmp)

    rows.append(
        row(
            "index memory per entry",
            memory(lambda: read_directory(cmp)),
            memory(std_index),
            None,
            "B",
        )
    )


def bench_embedded(tmp: str, entries: int, repeat: int, rows: list[dict[str, object]]) -> None:
    """First open of a bundle ``zipimporter build`` wrote (embedded index), with an empty cache.

    The bundle is written by the build's own writer (``bundle.write_archive``)
    from contents in memory; the stdlib reads it on 3.11/3.12 too (its ZIP64
    end record layout).  A second row adds one lookup in every name-length
    class, so every class's names are checked: the most the embedded index
    ever adds after the open.
    """
    from zipimporter import bundle
    from zipimporter.directory import open_index

    path = os.path.join(tmp, f"built-{entries}.pyz")
    bundle.write_archive(
        {f"pkg{i % 100}/sub/module_{i}.py": f"x = {i}\n".encode() for i in range(entries)}, path
    )
    lengths = {len(name.encode()) for name in read_directory(path)}
    empty = os.path.join(tmp, "empty-cache")

    def fresh_cache() -> None:
        cachedir.configure(empty)

    def every_class() -> None:
        index = open_index(path)
        for n in lengths:
            index.get("x" * n)

    t_std = median_time(lambda: stdlib_open(path), repeat)
    t_ours = median_time(lambda: ours_open(path), repeat, fresh_cache)
    t_all = median_time(every_class, repeat, fresh_cache)
    t_floor = median_time(lambda: read_directory(path), repeat)  # the table built, no cache
    cachedir.configure(None)
    rows.append(
        row(
            f"first open of a built {entries:,}-entry bundle, empty cache", t_ours, t_std, None, "s"
        )
    )
    rows.append(
        row(
            "  same, plus one lookup in every name-length class",
            t_all,
            t_std,
            t_floor,
            "s",
            "table built",
        )
    )


def write_tree(root: str, count: int) -> list[str]:
    os.makedirs(root, exist_ok=True)
    names = [f"mod_{i:04d}" for i in range(count)]
    for i, name in enumerate(names):
        Path(root, name + ".py").write_text(module_source(i))
    return names


def run_import_process(path_entry: str, names: list[str], mode: str, cache: str) -> float:
    """Import every module in a fresh interpreter; return the in-process seconds."""
    setup = {
        "stdlib": "",
        "ours": "import zipimporter; zipimporter.install()",
        "tree": "",
    }[mode]
    code = (
        "import sys, time\n"
        "t0 = time.perf_counter()\n"
        f"{setup}\n"
        f"sys.path.insert(0, {path_entry!r})\n"
        f"for name in {names!r}:\n"
        "    __import__(name)\n"
        "print(time.perf_counter() - t0)\n"
    )
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = SRC_DIR
    env["ZIPIMPORTER_CACHE_DIR"] = cache
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_imports(tmp: str, count: int, repeat: int, rows: list[dict[str, object]]) -> None:
    tree = os.path.join(tmp, "tree")
    names = write_tree(tree, count)
    src_zip = os.path.join(tmp, "sources.zip")
    pyc_zip = os.path.join(tmp, "compiled.zip")
    with zipfile.ZipFile(src_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.write(os.path.join(tree, name + ".py"), name + ".py")
    import py_compile

    with zipfile.ZipFile(pyc_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            cfile = os.path.join(tmp, "pyc", name + ".pyc")
            py_compile.compile(
                os.path.join(tree, name + ".py"), cfile, dfile=name + ".py", doraise=True
            )
            zf.write(cfile, name + ".pyc")
    cache = os.path.join(tmp, "import-cache")

    def timed(entry: str, mode: str) -> float:
        run_import_process(entry, names, mode, cache)  # first run: fills caches/__pycache__
        return statistics.median(
            run_import_process(entry, names, mode, cache) for _ in range(repeat)
        )

    # What `zipimporter build --compile` writes (a .pyc beside each .py), deflated as by
    # default, and stored: the figure that says what storing .pyc members would give.
    from zipimporter import bundle

    built = {}
    for compression in ("deflated", "stored"):
        built[compression] = os.path.join(tmp, f"built-compile-{compression}.zip")
        bundle.build([tree], built[compression], compile_pyc=True, compression=compression)

    t_tree = timed(tree, "tree")
    for archive, what in [
        (src_zip, f"import {count} source-only modules, 2nd process"),
        (pyc_zip, f"import {count} modules from a .pyc archive"),
        (built["deflated"], f"import {count} modules, `build --compile` (deflated)"),
        (built["stored"], f"import {count} modules, `build --compile --compression stored`"),
    ]:
        t_std = timed(archive, "stdlib")
        t_ours = timed(archive, "ours")
        rows.append(row(what, t_ours, t_std, t_tree, "s", "unzipped+__pycache__"))


def bench_get_data(tmp: str, size: int, repeat: int, rows: list[dict[str, object]]) -> None:
    rng = random.Random(1)
    words = [bytes(rng.choices(range(97, 123), k=rng.randint(2, 9))) for _ in range(5000)]
    data = b" ".join(rng.choices(words, k=size // 5))[:size]
    path = os.path.join(tmp, "big-member.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.bin", data)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("data.bin")
    with open(path, "rb") as fp:
        fp.seek(info.header_offset + 30 + len(info.filename) + len(info.extra))
        raw = fp.read(info.compress_size)
    assert zlib.decompress(raw, -15) == data
    ours = zipimporter.zipimporter(path)
    std = zipimport.zipimporter(path)
    t_ours = median_time(lambda: ours.get_data("data.bin"), repeat)
    t_std = median_time(lambda: std.get_data("data.bin"), repeat)
    t_floor = median_time(lambda: zlib.decompress(raw, -15), repeat)
    rows.append(
        row(
            f"get_data of a {size / 1e6:.0f} MB deflated member",
            t_ours,
            t_std,
            t_floor,
            "s",
            "zlib.decompress",
        )
    )


def row(
    measure: str,
    ours: float,
    stdlib: float | None,
    floor: float | None,
    unit: str,
    floor_name: str = "floor",
) -> dict[str, object]:
    return {
        "measure": measure,
        "unit": unit,
        "ours": ours,
        "stdlib": stdlib,
        "floor": floor,
        "floor_name": floor_name,
        "ours_vs_stdlib": (ours / stdlib) if stdlib else None,
        "stdlib_vs_ours": (stdlib / ours) if stdlib and ours else None,
        "ours_vs_floor": (ours / floor) if floor else None,
    }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1e3:9.2f} ms"
    return f"{value:9.1f} {unit} "


def print_table(rows: list[dict[str, object]]) -> None:
    version = sys.version.split()[0]
    print(
        f"Python {version} on {os.uname().machine}, {os.cpu_count()} cores, {time.strftime('%F')}"
    )
    header = (
        f"{'measure':58} {'ours':>12} {'stdlib':>12} {'floor':>12}  "
        f"{'ours/stdlib':>11} {'ours/floor':>10}  floor is"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        unit = str(r["unit"])
        ratio = r["ours_vs_stdlib"]
        fl = r["ours_vs_floor"]
        print(
            f"{r['measure']:58} {fmt(r['ours'], unit):>12} {fmt(r['stdlib'], unit):>12} "  # type: ignore[arg-type]
            f"{fmt(r['floor'], unit):>12}  "  # type: ignore[arg-type]
            f"{(f'{ratio:.3f}' if ratio else '—'):>11} {(f'{fl:.2f}' if fl else '—'):>10}  "
            f"{r['floor_name'] if r['floor'] else ''}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeats per measure (median)")
    parser.add_argument("--entries", type=int, default=100_000, help="entries of the big archive")
    parser.add_argument(
        "--modules", type=int, default=1000, help="modules in the import benchmarks"
    )
    parser.add_argument("--member-mb", type=float, default=10, help="size of the get_data member")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="zipimporter-bench-") as tmp:
        bench_open(tmp, args.entries, args.repeat, rows)
        bench_embedded(tmp, args.entries, args.repeat, rows)
        bench_imports(tmp, args.modules, args.repeat, rows)
        bench_get_data(tmp, int(args.member_mb * 1e6), args.repeat, rows)
    cachedir.configure()
    print_table(rows)
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(
                {"python": sys.version.split()[0], "date": time.strftime("%Y-%m-%d"), "rows": rows},
                fp,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

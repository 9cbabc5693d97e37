"""Name lookups in a built bundle: the embedded index vs the hashed table, hits and misses.

    python benchmarks/embedded_lookups.py [--entries N] [--sample K] [--repeat R]

Writes a bundle the way ``zipimporter build`` does (``bundle.write_archive``,
so it carries an embedded index), opens it twice, once as the embedded index
(:class:`zipimporter.index_cache.EmbeddedIndex`) and once with the parser's
hashed table (``archive.read_directory``), and times ``_find`` (what ``in``,
``get`` and ``is_dir`` cost beyond building a member) on:

* hits: member names, in random order;
* import probes: per module, what the importer asks for
  (``mod/__init__.pyc``, ``mod/__init__.py``, ``mod.pyc``, ``mod.py``: three
  misses, one hit);
* misses of a length that has names (the last letter changed);
* misses of a length no name has.

Prints the best of *R* passes as lookups per microsecond and microseconds per
lookup, then what the embedded index costs on first use: the first lookup in
every length class (time, and memory per entry by tracemalloc), next to the
open itself.  Run it with ``PYTHONPATH=<tree>/src`` to measure another
checkout.  Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import zipimporter
from zipimporter import archive, bundle, cachedir, directory, index_cache


def best_pass(find: Callable[[str], int], names: list[str], repeat: int) -> float:
    """The fastest of *repeat* passes over *names*, in seconds per lookup."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for name in names:
            find(name)
        best = min(best, time.perf_counter() - t0)
    return best / len(names)


def open_embedded(path: str) -> index_cache.EmbeddedIndex:
    index = directory.open_index(path)
    if not isinstance(index, index_cache.EmbeddedIndex):
        raise SystemExit(f"{path}: no embedded index was used")
    return index


def workloads(members: list[str], sample: int, rng: random.Random) -> dict[str, list[str]]:
    files = [m for m in members if not m.endswith("/")]
    hits = rng.sample(files, min(sample, len(files)))
    modules = [m[: -len(".py")] for m in hits if m.endswith(".py")]
    probes = [
        probe
        for mod in modules
        for probe in (f"{mod}/__init__.pyc", f"{mod}/__init__.py", f"{mod}.pyc", f"{mod}.py")
    ]
    lengths = {len(m.encode()) for m in members}
    same_class = [h[:-1] + ("q" if h[-1] != "q" else "r") for h in hits]
    absent = [n for n in (f"{h}/{'z' * (len(h) % 7)}" for h in hits) if len(n) not in lengths]
    return {
        "hits": hits,
        "import probes (3 misses, 1 hit)": probes,
        "misses, length with names": same_class,
        "misses, length with none": absent or ["z" * (max(lengths) + 1)],
    }


def first_use(
    path: str, members: list[str], repeat: int
) -> tuple[float, float, int, int, int, int]:
    """What the embedded index costs before its lookups are warm.

    (open seconds, seconds for one lookup in every class, the best of *repeat*;
    bytes held after the open, after those lookups, and at the peak; classes).
    """
    one_per_class: dict[int, str] = {}
    for m in members:
        one_per_class.setdefault(len(m.encode()), m)
    probes = list(one_per_class.values())
    opens, firsts = [], []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        index = open_embedded(path)
        t1 = time.perf_counter()
        for name in probes:
            index._find(name)
        t2 = time.perf_counter()
        opens.append(t1 - t0)
        firsts.append(t2 - t1)
        del index
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    index = open_embedded(path)
    opened = tracemalloc.get_traced_memory()[0] - base
    for name in probes:
        index._find(name)
    touched, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (
        min(opens),
        min(firsts),
        opened,
        touched - base,
        peak - base,
        len(probes),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    cachedir.configure(None)  # no saved tables: the hashed index is built, as on a first run
    rng = random.Random(0)
    print(
        f"Python {sys.version.split()[0]}, zipimporter from {os.path.dirname(zipimporter.__file__)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"built-{args.entries}.pyz")
        bundle.write_archive(
            {f"pkg{i % 100}/sub/module_{i}.py": b"x = 1\n" for i in range(args.entries)}, path
        )
        hashed = archive.read_directory(path)
        members = list(hashed.keys())
        embedded = open_embedded(path)
        loads = workloads(members, args.sample, rng)
        for names in loads.values():  # first use (per-class work) out of the timings
            for name in names:
                assert embedded._find(name) == hashed._find(name), name
        print(f"{len(members):,} entries; best of {args.repeat} passes")
        print(f"{'workload':34} {'hashed':>16} {'embedded':>16} {'emb/hashed':>10}")
        for label, names in loads.items():
            t_hash = best_pass(hashed._find, names, args.repeat)
            t_emb = best_pass(embedded._find, names, args.repeat)
            print(
                f"{label:34} {1e-6 / t_hash:5.2f}/µs {t_hash * 1e6:5.2f}µs"
                f" {1e-6 / t_emb:5.2f}/µs {t_emb * 1e6:5.2f}µs {t_emb / t_hash:9.2f}x"
            )
        opened, classes_s, open_bytes, touched, peak, k = first_use(path, members, args.repeat)
        n = len(members)
        print(
            f"embedded, first use (best of {args.repeat}): open {opened * 1e3:.2f} ms,"
            f" then one lookup in each of its {k} classes {classes_s * 1e3:.2f} ms"
        )
        print(
            f"memory (tracemalloc): open {open_bytes / n:.1f} B/entry (the directory bytes);"
            f" after every class is used {touched / n:.1f} B/entry ({touched / 1e6:.2f} MB),"
            f" peak {peak / n:.1f} B/entry"
        )
        h = hashed._table
        table = h.nbytes if isinstance(h, memoryview) else 0
        print(f"hashed table for comparison: {table / n:.1f} B/entry beyond the directory bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

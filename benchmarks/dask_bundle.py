"""A bundle on a Dask cluster: zipimporter.dask.ZipBundle vs client.upload_file (stdlib zipimport).

    python benchmarks/dask_bundle.py [--repeat N] [--json FILE] [--modules N] [--tasks N]

Needs ``distributed`` (``pip install "zipimporter[dask]"``).  Builds a bundle
of ``--modules`` source-only modules (deflated, so the stdlib can read it too)
and starts one ``LocalCluster`` of two single-threaded worker processes.  For
each way of shipping the bundle it times two rounds of ``--tasks`` tasks, each
task importing its share of the bundle's modules (every module is imported
once per round):

- round 1: fresh worker processes, and an empty zipimporter cache;
- round 2: the same tasks after ``client.restart()``: new worker processes,
  as after a crash, a scale-up or a new deployment.  With ZipBundle the bundle
  is stored at the same content-addressed path, so the workers find what the
  first processes compiled; the stdlib compiles everything again.

Each repeat starts from restarted workers and a new cache directory; the
figures are medians.  Registration (verify, send, store) is timed too, apart
from the rounds.  Workers write bytecode even if this script runs under
``PYTHONDONTWRITEBYTECODE``/``-B`` (which spawned workers would inherit), as a
plain Python would.  Nothing asserts a speed: the figures are for reading and
tracking (``--json``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from run import module_source  # benchmarks/run.py, beside this file

PACKAGES = 20


def build_bundle(path: Path, modules: int) -> list[str]:
    """A deflated, source-only bundle of *modules* modules in PACKAGES packages; their names."""
    names = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in range(PACKAGES):
            zf.writestr(f"bench_pkg{p}/", b"")
            zf.writestr(f"bench_pkg{p}/__init__.py", f"PACKAGE = {p}\n")
        for i in range(modules):
            name = f"bench_pkg{i % PACKAGES}.mod_{i}"
            names.append(name)
            zf.writestr(name.replace(".", "/") + ".py", module_source(i))
    return names


# -- run on the workers (this module is __main__: cloudpickle sends these by value) --


def import_all(names: list[str]) -> str:
    """Import *names*; the loader class of the last one."""
    module = None
    for name in names:
        module = importlib.import_module(name)
    kind = type(module.__loader__)
    return f"{kind.__module__}.{kind.__qualname__}"


def _write_bytecode_plugin() -> Any:
    from distributed.diagnostics.plugin import WorkerPlugin

    class WriteBytecode(WorkerPlugin):
        def setup(self, worker: Any) -> None:
            sys.dont_write_bytecode = False

    return WriteBytecode()


# -- the client side -------------------------------------------------------------------


def run_round(client: Any, chunks: list[list[str]]) -> tuple[float, set[str]]:
    t0 = time.perf_counter()
    futures = client.map(import_all, chunks, pure=False)
    loaders = client.gather(futures)
    return time.perf_counter() - t0, set(loaders)


def fresh_cache(base: Path, label: str) -> None:
    """A new, empty cache directory for the worker processes started from now on."""
    directory = Path(tempfile.mkdtemp(prefix=f"cache-{label}-", dir=base))
    os.environ["ZIPIMPORTER_CACHE_DIR"] = str(directory)


def drop_plugins(client: Any, prefix: str) -> None:
    """Unregister the worker and scheduler plugins whose names start with *prefix*."""

    def names(dask_scheduler: Any) -> tuple[list[str], list[str]]:
        return list(dask_scheduler.worker_plugins), list(dask_scheduler.plugins)

    workers, schedulers = client.run_on_scheduler(names)
    for name in workers:
        if name.startswith(prefix):
            client.unregister_worker_plugin(name)
    for name in schedulers:
        if name.startswith(prefix):
            client.unregister_scheduler_plugin(name)


def one_repeat(
    client: Any, mode: str, bundle: Path, chunks: list[list[str]], base: Path
) -> dict[str, Any]:
    from zipimporter.dask import ZipBundle

    fresh_cache(base, mode)
    client.restart()
    t0 = time.perf_counter()
    verify = 0.0
    if mode == "ZipBundle":
        plugin = ZipBundle(bundle)  # reads and verifies the bundle
        verify = time.perf_counter() - t0
        client.register_plugin(plugin)
    else:
        client.upload_file(str(bundle), load=True)
    register = time.perf_counter() - t0
    first, loaders1 = run_round(client, chunks)
    client.restart()
    second, loaders2 = run_round(client, chunks)
    if mode == "ZipBundle":
        client.unregister_worker_plugin(bundle.name)
    else:
        drop_plugins(client, str(bundle))
    return {
        "register": register,
        "verify": verify,
        "round 1": first,
        "round 2": second,
        "loaders": sorted(loaders1 | loaders2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats per way (median)")
    parser.add_argument("--modules", type=int, default=2000, help="modules in the bundle")
    parser.add_argument("--tasks", type=int, default=40, help="tasks per round")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        print('needs distributed: pip install "zipimporter[dask]"', file=sys.stderr)
        return 2

    saved_environ = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="zipimporter-dask-bench-") as tmp:
        base = Path(tmp)
        bundle = base / "bench_bundle.zip"
        names = build_bundle(bundle, args.modules)
        chunks = [names[i :: args.tasks] for i in range(args.tasks)]
        os.environ.pop("ZIPIMPORTER_CACHE", None)
        fresh_cache(base, "start")
        results: dict[str, list[dict[str, Any]]] = {"ZipBundle": [], "upload_file": []}
        with (
            # Rapid restarts: without this, the cluster closes a nanny whose
            # worker is down (restarting) when an earlier removal's timer fires.
            dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"}),
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                local_directory=str(base / "scratch"),
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(_write_bytecode_plugin(), name="bench-write-bytecode")
            for _ in range(args.repeat):
                for mode in results:  # alternate, so drift hits both alike
                    results[mode].append(one_repeat(client, mode, bundle, chunks, base))
    os.environ.clear()
    os.environ.update(saved_environ)

    medians = {
        mode: {
            key: statistics.median(r[key] for r in runs)
            for key in ("register", "verify", "round 1", "round 2")
        }
        for mode, runs in results.items()
    }
    loaders = {
        mode: sorted({x for r in runs for x in r["loaders"]}) for mode, runs in results.items()
    }
    ours, stdlib = medians["ZipBundle"], medians["upload_file"]
    version = sys.version.split()[0]
    print(
        f"Python {version} on {os.uname().machine}, {os.cpu_count()} cores, {time.strftime('%F')}: "
        f"{args.modules} source-only modules, {args.tasks} tasks per round, 2 workers, "
        f"median of {args.repeat}"
    )
    header = f"{'':34} {'ZipBundle':>12} {'upload_file':>12} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    rows = []
    for key, label in (
        ("round 1", "round 1 (fresh workers, cold)"),
        ("round 2", "round 2 (after client.restart())"),
        ("register", "registration / upload"),
        ("verify", "  of which: verify on the client"),
    ):
        ratio = ours[key] / stdlib[key] if stdlib[key] else None
        rows.append(
            {"measure": key, "ZipBundle": ours[key], "upload_file": stdlib[key], "ratio": ratio}
        )
        shown = f"{ratio:7.3f}" if ratio is not None else "      —"
        print(f"{label:34} {ours[key] * 1e3:9.0f} ms {stdlib[key] * 1e3:9.0f} ms {shown}")
    for mode, kinds in loaders.items():
        print(f"{mode} workers imported through: {', '.join(kinds)}")
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(
                {
                    "python": version,
                    "date": time.strftime("%Y-%m-%d"),
                    "modules": args.modules,
                    "tasks": args.tasks,
                    "repeat": args.repeat,
                    "rows": rows,
                    "loaders": loaders,
                    "runs": results,
                },
                fp,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""zipimporter.dask: shipping a bundle to a real Dask cluster and importing from it.

One ``distributed.LocalCluster`` of two worker processes (loopback only, no
dashboard) serves the module; every test registers its own bundles under its
own names, with modules of its own names, and unregisters them at the end, so
no test depends on another having run.  Workers keep their zipimporter caches
in a private directory (``ZIPIMPORTER_CACHE_DIR``, inherited by the worker
processes), which the tests look into.

Task functions are defined here and pickled by value (cloudpickle), so the
workers never import this test module.  Every call that waits on the cluster
has a timeout.

Skipped, with the reason printed, only when ``distributed`` is not installed;
the two tests about importing ``zipimporter.dask`` run without it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import run_python, zip_bytes
from zipimporter import cachedir

#: Seconds any one call to the cluster may take before the test fails.
TIMEOUT = 60

SKIP_REASON = 'distributed is not installed (pip install "zipimporter[dask]")'


# -- helpers run on the client ---------------------------------------------------


def within(func: Callable[..., Any], *args: Any, limit: float = TIMEOUT, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)``, or TimeoutError after *limit* seconds (never a hang).

    The call runs in a daemon thread: a call that never returns can't keep
    the interpreter from exiting.
    """
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise TimeoutError(f"{getattr(func, '__name__', func)} took more than {limit} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def each(keys: Any, value: Any) -> dict[str, Any]:
    """{key: value} for every key of *keys* (equal values, compared with ==)."""
    return {key: value for key in keys}


def workers(client: Any) -> list[str]:
    return sorted(within(client.scheduler_info)["workers"])


def on_each_worker(client: Any, func: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Run ``func(*args)`` as a task on each worker: {worker address: result}."""
    futures = {
        addr: client.submit(func, *args, workers=[addr], allow_other_workers=False, pure=False)
        for addr in workers(client)
    }
    return {addr: future.result(timeout=TIMEOUT) for addr, future in futures.items()}


def stored(cache: Path, data: bytes) -> Path:
    """Where workers using the cache directory *cache* keep the bundle *data*."""
    return cache / "bundles" / f"{hashlib.sha256(data).hexdigest()}.zip"


def bundle_file(path: Path, members: dict[str, str]) -> Path:
    """A bzip2 bundle of *members* at *path* (which the stdlib zipimporter can't read)."""
    path.write_bytes(zip_bytes(members, compression=zipfile.ZIP_BZIP2))
    return path


# -- functions run on the workers (pickled by value) ------------------------------------


def loader_name(module: ModuleType) -> str:
    kind = type(module.__loader__)
    return f"{kind.__module__}.{kind.__qualname__}"


def where(*names: str) -> dict[str, Any]:
    """Import each module of *names*; report its loader, file and VALUE, and sys.path[0]."""
    out: dict[str, Any] = {"path0": sys.path[0]}
    for name in names:
        module = importlib.import_module(name)
        out[name] = (loader_name(module), module.__file__, getattr(module, "VALUE", None))
    return out


def where_fresh(name: str) -> dict[str, Any]:
    """:func:`where` for *name* after dropping it from sys.modules."""
    sys.modules.pop(name, None)
    return where(name)


def try_import(name: str) -> str:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        return type(exc).__name__
    return "imported"


def path_state(archive: str) -> dict[str, Any]:
    """What this worker holds of *archive*: sys.path entries, modules, importer cache."""
    from zipimporter.dask import modules_from

    return {
        "sys.path": [p for p in sys.path if p == archive],
        "modules": modules_from(archive),
        "importer cache": [k for k in sys.path_importer_cache if str(k).startswith(archive)],
    }


def plugin_names(dask_scheduler: Any) -> list[str]:
    """(On the scheduler.) The names of the worker plugins registered."""
    return list(dask_scheduler.worker_plugins)


def snapshot() -> list[str]:
    return list(sys.path)


def local_directory() -> str:
    from distributed import get_worker

    return get_worker().local_directory


def compiles_while_importing(name: str) -> list[str]:
    """Import *name* afresh; the files of the bundle's modules compiled meanwhile.

    Compiling source raises the ``compile`` audit event (arguments: source,
    filename); code from the bytecode cache is unmarshalled, not compiled.
    Audit hooks can't be removed, so this one goes quiet when the import is done.
    """
    seen: list[str] = []
    listening = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if listening[0] and event == "compile" and len(args) > 1:
            seen.append(str(args[1]))

    sys.addaudithook(hook)
    sys.modules.pop(name, None)
    try:
        module = importlib.import_module(name)
    finally:
        listening[0] = False
    return [f for f in seen if f == module.__file__]


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zdask() -> ModuleType:
    """The zipimporter.dask module (skipped, with the reason, without distributed)."""
    pytest.importorskip("distributed", reason=SKIP_REASON)
    import zipimporter.dask

    return zipimporter.dask


@pytest.fixture(scope="module")
def cluster(
    zdask: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any, Path]]:
    """(LocalCluster, Client, the workers' zipimporter cache directory)."""
    import cloudpickle
    import dask
    from distributed import Client, LocalCluster

    base = tmp_path_factory.mktemp("dask")
    cache = base / "worker-cache"
    saved_environ = dict(os.environ)  # LocalCluster's nannies set variables in this process
    # A worker down for a restart when the timer of an earlier removal of a
    # worker of its name fires would get its nanny closed by the cluster.
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"}),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("ZIPIMPORTER_CACHE_DIR", str(cache))
        for name in ("ZIPIMPORTER_CACHE", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
            mp.delenv(name, raising=False)
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        local = within(
            LocalCluster,
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,  # no dashboard; its HTTP server (health) on any free port:
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            local_directory=str(base / "scratch"),
        )
        try:
            client = within(Client, local, timeout="30s")
            try:
                # Spawned workers inherit -B from a runner started with
                # PYTHONDONTWRITEBYTECODE; the cache tests need them to write bytecode.
                within(client.register_plugin, _write_bytecode_plugin(), name="write-bytecode")
                yield local, client, cache
            finally:
                within(client.close)
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
            within(local.close)
            os.environ.clear()
            os.environ.update(saved_environ)


def _write_bytecode_plugin() -> Any:
    """A worker plugin setting ``sys.dont_write_bytecode = False`` on every worker."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class WriteBytecode(WorkerPlugin):
        def setup(self, worker: Any) -> None:
            sys.dont_write_bytecode = False

    return WriteBytecode()


@pytest.fixture
def client(cluster: tuple[Any, Any, Path]) -> Any:
    return cluster[1]


@pytest.fixture
def worker_cache(cluster: tuple[Any, Any, Path]) -> Path:
    return cluster[2]


@pytest.fixture
def register(client: Any) -> Iterator[Callable[[Any], None]]:
    """``register(bundle)``: client.register_plugin; every name is unregistered afterwards."""
    names: set[str] = set()

    def register_bundle(bundle: Any) -> None:
        names.add(bundle.name)
        within(client.register_plugin, bundle)

    yield register_bundle
    registered = set(within(client.run_on_scheduler, plugin_names))
    for name in names & registered:
        within(client.unregister_worker_plugin, name)


# -- importing the module ------------------------------------------------------------------


def test_import_zipimporter_never_imports_dask(tmp_path: Path) -> None:
    code = (
        "import sys, zipimporter, zipimporter.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    result = run_python("-c", code, cache_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_distributed_the_error_names_the_extra(tmp_path: Path) -> None:
    # sys.modules[name] = None makes importing it fail, as if it were not installed.
    code = "import sys\nsys.modules['distributed'] = None\nimport zipimporter.dask\n"
    result = run_python("-c", code, cache_dir=tmp_path)
    assert result.returncode == 1
    message = 'zipimporter.dask needs the "distributed" package: pip install "zipimporter[dask]"'
    assert f"ImportError: {message}" in result.stderr


# -- the client side alone --------------------------------------------------------------------


def test_bytes_need_a_name(zdask: ModuleType) -> None:
    data = zip_bytes({"m.py": "VALUE = 1\n"})
    with pytest.raises(TypeError) as info:
        zdask.ZipBundle(data)
    assert str(info.value) == zdask.NEEDS_NAME
    bundle = zdask.ZipBundle(data, name="m")
    assert (bundle.name, bundle.data) == ("m", data)
    assert bundle.digest == hashlib.sha256(data).hexdigest()


def test_name_defaults_to_the_file_name(zdask: ModuleType, tmp_path: Path) -> None:
    path = bundle_file(tmp_path / "app.zip", {"m.py": "VALUE = 1\n"})
    assert zdask.ZipBundle(path).name == "app.zip"
    assert zdask.ZipBundle(str(path), name="other").name == "other"


def _flip_data_byte(data: bytes, marker: bytes) -> bytes:
    at = data.index(marker)
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def _damaged(kind: str) -> tuple[bytes, str]:
    """A damaged bundle and what the refusal must say."""
    good = zip_bytes({"pkg/__init__.py": "", "pkg/mod.py": "VALUE = 'payload'\n"})
    if kind == "truncated":
        return good[:-30], "not a Zip file"
    if kind == "bad CRC":
        return _flip_data_byte(good, b"payload"), "pkg/mod.py"
    if kind == "overlapping members":
        from hostile import overlap_bomb

        return overlap_bomb(files=5, kernel_size=1 << 16), "overlap"
    if kind == "does not compile":
        return zip_bytes({"bad.py": "def (\n"}), "bad.py: does not compile"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["truncated", "bad CRC", "overlapping members", "does not compile"]
)
def test_damaged_bundle_is_refused_on_the_client(
    zdask: ModuleType, tmp_path: Path, kind: str
) -> None:
    data, says = _damaged(kind)
    path = tmp_path / "broken.zip"
    path.write_bytes(data)
    with pytest.raises(zdask.ZipImportError) as info:
        zdask.ZipBundle(path)
    message = str(info.value)
    assert message.startswith(f"bundle {str(path)!r} can't be used: ")
    assert says in message
    assert info.value.path == str(path)
    assert "zipimporter-dask-" not in message  # the temporary copy is never named
    with pytest.raises(zdask.ZipImportError) as info:
        zdask.ZipBundle(data, name="broken")
    assert str(info.value).startswith("bundle 'broken' can't be used: ")
    assert info.value.path == "broken"


def test_warnings_do_not_refuse_a_bundle(zdask: ModuleType, tmp_path: Path) -> None:
    # bzip2 members and no runtime: 'zipimporter verify' warns ('python ARCHIVE'
    # would fail), which does not matter to a plugin bundle.
    from zipimporter.inspection import Severity, verify_archive

    path = bundle_file(tmp_path / "warned.zip", {"m.py": "VALUE = 1\n"})
    assert {p.severity for p in verify_archive(str(path))} == {Severity.WARNING}
    assert zdask.ZipBundle(path).data == path.read_bytes()


# -- on the cluster ------------------------------------------------------------------------------


def test_every_worker_imports_a_bzip2_bundle_through_zipimporter(
    zdask: ModuleType,
    client: Any,
    worker_cache: Path,
    register: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    src = tmp_path / "src" / "zd_app"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("VALUE = 'package'\n")
    (src / "core.py").write_text("VALUE = 'core'\n")
    bundle = tmp_path / "app.zip"
    built = run_python(
        "-m", "zipimporter", "build", src.parent, "-o", bundle, "--compression", "bzip2",
        cache_dir=tmp_path / "build-cache",
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(bundle) as zf:
        assert {i.compress_type for i in zf.infolist() if not i.is_dir()} == {zipfile.ZIP_BZIP2}

    plugin = zdask.ZipBundle(bundle)
    register(plugin)

    archive = stored(worker_cache, bundle.read_bytes())
    assert archive.read_bytes() == bundle.read_bytes()
    reports = on_each_worker(client, where, "zd_app", "zd_app.core")
    assert len(reports) == 2
    for report in reports.values():
        assert report["path0"] == str(archive)
        assert report["zd_app"] == (
            "zipimporter.importer.zipimporter",
            f"{archive}{os.sep}zd_app{os.sep}__init__.py",
            "package",
        )
        assert report["zd_app.core"] == (
            "zipimporter.importer.zipimporter",
            f"{archive}{os.sep}zd_app{os.sep}core.py",
            "core",
        )
    status = within(zdask.bundle_status, client)
    assert status == {addr: {"app.zip": plugin.digest} for addr in reports}


def test_a_worker_that_joins_later_gets_the_bundle(
    zdask: ModuleType,
    cluster: tuple[Any, Any, Path],
    register: Callable[[Any], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The new worker runs with zipimporter's caches off, so it keeps the bundle
    # in its own local directory instead of the shared cache.
    local, client, _ = cluster
    plugin = zdask.ZipBundle(bundle_file(tmp_path / "late.zip", {"zd_late.py": "VALUE = 7\n"}))
    register(plugin)
    before = set(workers(client))
    assert len(before) == 2
    monkeypatch.setenv("ZIPIMPORTER_CACHE", "0")  # inherited by the worker spawned now
    try:
        within(local.scale, 3)
        within(client.wait_for_workers, 3, timeout=TIMEOUT)
        monkeypatch.delenv("ZIPIMPORTER_CACHE")
        (newcomer,) = set(workers(client)) - before
        reports = on_each_worker(client, where, "zd_late")
        assert set(reports) == before | {newcomer}
        assert {r["zd_late"][0] for r in reports.values()} == {"zipimporter.importer.zipimporter"}
        assert {r["zd_late"][2] for r in reports.values()} == {7}
        future = client.submit(local_directory, workers=[newcomer], pure=False)
        directory = future.result(timeout=TIMEOUT)
        archive = os.path.join(directory, zdask.LOCAL_BUNDLES, f"{plugin.digest}.zip")
        assert reports[newcomer]["zd_late"][1] == f"{archive}{os.sep}zd_late.py"
        status = within(zdask.bundle_status, client)
        assert status == {addr: {"late.zip": plugin.digest} for addr in reports}
    finally:
        within(local.scale, 2)
        deadline = time.monotonic() + TIMEOUT
        while len(workers(client)) > 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(workers(client)) == 2


def test_registering_a_new_version_replaces_the_old_on_every_worker(
    zdask: ModuleType, client: Any, worker_cache: Path, register: Callable[[Any], None]
) -> None:
    v1 = {"zd_swap/__init__.py": "VALUE = 1\n", "zd_swap/sub.py": "VALUE = 'sub 1'\n"}
    v2 = {
        "zd_swap/__init__.py": "VALUE = 2\n",
        "zd_swap/sub.py": "VALUE = 'sub 2'\n",
        "zd_swap/added.py": "VALUE = 'new in 2'\n",
    }
    old = zdask.ZipBundle(zip_bytes(v1, compression=zipfile.ZIP_BZIP2), name="swap")
    register(old)
    first = on_each_worker(client, where, "zd_swap", "zd_swap.sub")
    assert {r["zd_swap.sub"][2] for r in first.values()} == {"sub 1"}
    assert on_each_worker(client, try_import, "zd_swap.added") == each(first, "ModuleNotFoundError")

    new = zdask.ZipBundle(zip_bytes(v2, compression=zipfile.ZIP_BZIP2), name="swap")
    register(new)

    old_archive, new_archive = (str(stored(worker_cache, b.data)) for b in (old, new))
    after = on_each_worker(client, where, "zd_swap", "zd_swap.sub", "zd_swap.added")
    assert set(after) == set(first)
    for report in after.values():
        assert report["path0"] == new_archive
        assert report["zd_swap"][2] == 2
        assert report["zd_swap.sub"] == (
            "zipimporter.importer.zipimporter",
            f"{new_archive}{os.sep}zd_swap{os.sep}sub.py",
            "sub 2",
        )
        assert report["zd_swap.added"][2] == "new in 2"
    leftovers = on_each_worker(client, path_state, old_archive)
    assert leftovers == each(first, {"sys.path": [], "modules": [], "importer cache": []})
    assert within(zdask.bundle_status, client) == each(first, {"swap": new.digest})


def test_a_damaged_bundle_is_refused_before_it_is_sent(
    zdask: ModuleType, client: Any, register: Callable[[Any], None]
) -> None:
    good = zip_bytes({"zd_keep.py": "VALUE = 'good'\n"}, compression=zipfile.ZIP_BZIP2)
    register(zdask.ZipBundle(good, name="keep"))
    before = on_each_worker(client, where, "zd_keep")
    damaged = zip_bytes({"zd_keep.py": "VALUE = 'evil'\n"})  # stored, so the bytes are visible
    with pytest.raises(zdask.ZipImportError) as info:
        zdask.ZipBundle(_flip_data_byte(damaged, b"evil"), name="keep")
    assert str(info.value).startswith("bundle 'keep' can't be used: zd_keep.py: ")
    assert info.value.path == "keep"
    # Nothing was sent: the workers still import the good bundle, afresh too.
    assert on_each_worker(client, where, "zd_keep") == before
    assert on_each_worker(client, where_fresh, "zd_keep") == before


def test_a_worker_that_cannot_store_the_bundle_keeps_the_old_one(
    zdask: ModuleType, client: Any, worker_cache: Path, register: Callable[[Any], None]
) -> None:
    old = zdask.ZipBundle(zip_bytes({"zd_roll.py": "VALUE = 'old'\n"}), name="roll")
    register(old)
    before = on_each_worker(client, where, "zd_roll")
    paths_before = on_each_worker(client, snapshot)
    new_data = zip_bytes({"zd_roll.py": "VALUE = 'new'\n"})
    blocker = stored(worker_cache, new_data)
    blocker.mkdir()  # a directory where the new archive should go: storing fails
    bundles = sorted(p.name for p in blocker.parent.iterdir())

    with pytest.raises(zdask.ZipImportError) as info:
        register(zdask.ZipBundle(new_data, name="roll"))
    assert str(info.value).startswith(
        f"bundle 'roll' could not be stored in {blocker.parent}: [Errno 21] Is a directory"
    )
    assert on_each_worker(client, snapshot) == paths_before
    assert on_each_worker(client, where, "zd_roll") == before
    assert within(zdask.bundle_status, client) == each(before, {"roll": old.digest})
    assert sorted(p.name for p in blocker.parent.iterdir()) == bundles  # no temporary files left

    blocker.rmdir()
    register(zdask.ZipBundle(new_data, name="roll"))
    assert {r["zd_roll"][2] for r in on_each_worker(client, where, "zd_roll").values()} == {"new"}


def test_bytes_damaged_on_the_way_are_refused_by_the_worker(
    zdask: ModuleType, client: Any, register: Callable[[Any], None]
) -> None:
    old = zdask.ZipBundle(zip_bytes({"zd_wire.py": "VALUE = 'old'\n"}), name="wire")
    register(old)
    before = on_each_worker(client, where, "zd_wire")
    paths_before = on_each_worker(client, snapshot)
    new = zdask.ZipBundle(zip_bytes({"zd_wire.py": "VALUE = 'new'\n"}), name="wire")
    new.data = _flip_data_byte(new.data, b"new")  # as if damaged after the client verified it
    with pytest.raises(zdask.ZipImportError) as info:
        register(new)
    assert str(info.value) == zdask.RECEIVED_DIFFERENT.format(bundle="wire")
    assert on_each_worker(client, snapshot) == paths_before
    assert on_each_worker(client, where, "zd_wire") == before


def test_same_bytes_are_stored_once_and_kept_while_a_name_uses_them(
    zdask: ModuleType, client: Any, worker_cache: Path, register: Callable[[Any], None]
) -> None:
    data = zip_bytes({"zd_twice.py": "VALUE = 'twice'\n"}, compression=zipfile.ZIP_LZMA)
    register(zdask.ZipBundle(data, name="first"))
    archive = stored(worker_cache, data)
    st = archive.stat()
    register(zdask.ZipBundle(data, name="second"))
    again = archive.stat()
    assert (again.st_ino, again.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)  # not rewritten
    status = within(zdask.bundle_status, client)
    digest = hashlib.sha256(data).hexdigest()
    assert status == each(workers(client), {"first": digest, "second": digest})
    within(client.unregister_worker_plugin, "first")
    reports = on_each_worker(client, where, "zd_twice")  # "second" still holds it
    assert {r["zd_twice"][2] for r in reports.values()} == {"twice"}
    assert {r["path0"] for r in reports.values()} == {str(archive)}


def test_unregistering_removes_the_bundle(
    zdask: ModuleType, client: Any, worker_cache: Path, register: Callable[[Any], None]
) -> None:
    data = zip_bytes({"zd_gone/__init__.py": "VALUE = 1\n", "zd_gone/sub.py": "VALUE = 2\n"})
    register(zdask.ZipBundle(data, name="gone"))
    assert {r["zd_gone.sub"][2] for r in on_each_worker(client, where, "zd_gone.sub").values()} == {
        2
    }
    within(client.unregister_worker_plugin, "gone")
    archive = str(stored(worker_cache, data))
    # What the workers compiled from it is written at once, not at their exit.
    packs = list((worker_cache / "bytecode").glob(f"{cachedir.path_key(archive)}.*.pack"))
    assert len(packs) == 1, packs
    state = on_each_worker(client, path_state, archive)
    assert state == each(state, {"sys.path": [], "modules": [], "importer cache": []})
    assert on_each_worker(client, try_import, "zd_gone.sub") == each(state, "ModuleNotFoundError")
    assert within(zdask.bundle_status, client) == each(state, {})


def test_source_only_bundles_use_the_workers_bytecode_cache(
    zdask: ModuleType, client: Any, worker_cache: Path, register: Callable[[Any], None]
) -> None:
    source = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(50)) + "VALUE = 1\n"
    data = zip_bytes({"zd_src.py": source}, compression=zipfile.ZIP_BZIP2)
    register(zdask.ZipBundle(data, name="src"))
    module_file = f"{stored(worker_cache, data)}{os.sep}zd_src.py"

    def compiled() -> dict[str, list[str]]:
        """Each worker in turn imports zd_src afresh: what it compiled."""
        return {
            addr: client.submit(
                compiles_while_importing, "zd_src", workers=[addr], allow_other_workers=False,
                pure=False,
            ).result(timeout=TIMEOUT)
            for addr in workers(client)
        }  # fmt: skip

    first = compiled()
    assert len(first) == 2
    # Compiled on the first worker at least (the other may find its code already).
    assert [module_file] in first.values()
    assert all(files in ([], [module_file]) for files in first.values())
    assert compiled() == each(first, [])  # from the cache from the second task on
    # Restarted workers store the bundle at the same path (content-addressed in
    # the cache directory), so what the old processes compiled is used again.
    within(client.restart)
    assert set(workers(client)).isdisjoint(first)
    assert compiled() == each(workers(client), [])


def test_a_zip64_bundle_of_66000_modules_imports_on_every_worker(
    zdask: ModuleType,
    client: Any,
    worker_cache: Path,
    register: Callable[[Any], None],
    tmp_path: Path,
) -> None:
    # More than 65,535 members: ZIP64 end records, which the 3.11/3.12 stdlib can't read.
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(66_000):
            zf.writestr(zipfile.ZipInfo(f"zd_m{i}.py", (2020, 1, 1, 0, 0, 0)), f"VALUE = {i}\n")
    register(zdask.ZipBundle(path))
    archive = stored(worker_cache, path.read_bytes())
    reports = on_each_worker(client, where, "zd_m0", "zd_m65999")
    for report in reports.values():
        assert report["zd_m65999"] == (
            "zipimporter.importer.zipimporter",
            f"{archive}{os.sep}zd_m65999.py",
            65999,
        )
        assert report["zd_m0"][2] == 0


def test_housekeeping_keeps_a_bundle_while_workers_hold_it(
    zdask: ModuleType, client: Any, worker_cache: Path, register: Callable[[Any], None]
) -> None:
    from zipimporter import housekeeping

    data = zip_bytes({"zd_held.py": "VALUE = 'held'\n"})
    register(zdask.ZipBundle(data, name="held"))
    archive = stored(worker_cache, data)
    long_ago = time.time() - 30 * 24 * 3600
    os.utime(archive, (long_ago, long_ago))  # by its times, the first to be pruned
    pruned = housekeeping.prune(str(worker_cache), 0)
    assert pruned is not None
    assert str(archive) in [e.path for e in pruned.kept[housekeeping.IN_USE]]
    cleared = housekeeping.clear(str(worker_cache))
    assert cleared is not None
    assert str(archive) in [e.path for e in cleared.kept[housekeeping.IN_USE]]
    reports = on_each_worker(client, where_fresh, "zd_held")
    assert {r["zd_held"][1:] for r in reports.values()} == {
        (f"{archive}{os.sep}zd_held.py", "held")
    }
    within(client.unregister_worker_plugin, "held")
    assert within(zdask.bundle_status, client) == each(reports, {})  # teardown has run
    pruned = housekeeping.prune(str(worker_cache), 0)
    assert pruned is not None
    assert str(archive) in [e.path for e in pruned.removed]
    assert not archive.exists()

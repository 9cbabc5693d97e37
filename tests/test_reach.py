"""Reach: every process of an app imports through zipimporter.

- self-contained bundles (``python app.pyz`` with a plain CPython that has no
  zipimporter installed: the base interpreter of the test venv);
- child processes: multiprocessing spawn, forkserver and fork pools, a
  ProcessPoolExecutor and a ``subprocess`` running ``sys.executable``, each
  reporting the loader of a module it imported from a bzip2 bundle (which the
  stdlib can't read: a child that fell back to it would fail loudly);
- ``zipimporter run`` as faithful as ``python app.pyz``;
- whole-environment activation with ``enable``/``disable``/``status`` in a
  throwaway venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from conftest import PLAIN_PYTHON, SRC, plain_env, python_env, run_plain
from zipimporter import activation, bundle, messages, runtime

WORK = '''\
"""Reports which importer loaded it."""
import sys


def loader_name(module="app.work"):
    kind = type(sys.modules[module].__loader__)
    return f"{kind.__module__}.{kind.__qualname__}"


def square(x):
    return x * x
'''

CLI = """\
import json
import multiprocessing as mp
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

from app import work


def children():
    archive = os.path.dirname(os.path.dirname(work.__file__))
    out = {"parent": work.loader_name()}
    for method in ("spawn", "forkserver", "fork"):
        with mp.get_context(method).Pool(1) as pool:
            out[method] = pool.apply_async(work.loader_name).get(timeout=120)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        out["executor"] = ex.submit(work.loader_name).result(timeout=120)
    code = f"import sys; sys.path.insert(0, {archive!r}); import app.work as w; "
    code += "print(w.loader_name())"
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    out["subprocess"] = child.stdout.strip() or child.stderr.strip()[-300:]
    print(json.dumps(out))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "info"
    if what == "info":
        import app
        print(json.dumps({
            "loader": work.loader_name(),
            "argv": sys.argv,
            "main_name": sys.modules["__main__"].__name__,
            "path0": sys.path[0],
            "file": app.__file__,
        }))
    elif what == "children":
        children()
    elif what == "raise":
        raise ValueError("raised by the app")
    elif what == "exit":
        sys.exit(int(sys.argv[2]))
    return 0
"""


def run_cmd(
    args: list, env: dict[str, str], cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """A subprocess with output captured as text; the exit status is not checked."""
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def is_ours(name: str) -> bool:
    return name.endswith(".zipimporter") and not name.startswith("zipimport.")


@pytest.fixture
def app_src(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "__init__.py").write_text('"""The app."""\n')
    (src / "app" / "work.py").write_text(WORK)
    (src / "app" / "cli.py").write_text(CLI)
    return src


def build_app(app_src: Path, out: Path, **options) -> Path:
    options.setdefault("main", "app.cli:main")
    bundle.build([str(app_src)], str(out), **options)
    return out


@pytest.fixture(scope="module", autouse=True)
def plain_python_has_no_zipimporter():
    check = subprocess.run(
        [PLAIN_PYTHON, "-c", "import zipimporter"],
        capture_output=True,
        env=plain_env(Path("/nonexistent")),
        check=False,
    )
    if check.returncode == 0:
        pytest.skip(f"{PLAIN_PYTHON} has zipimporter installed: can't test self-contained bundles")


# -- self-contained bundles ----------------------------------------------------------


@pytest.mark.parametrize("compression", ["deflated", "bzip2", "lzma"])
def test_bundle_runs_with_plain_python(app_src, tmp_path, compression):
    app = build_app(app_src, tmp_path / "app.pyz", compression=compression)
    with zipfile.ZipFile(app) as zf:
        methods = {i.filename: i.compress_type for i in zf.infolist() if not i.is_dir()}
    assert runtime.has_runtime(methods)
    # The stub and the runtime stay readable by the stdlib; the app is as asked.
    for name, method in methods.items():
        if runtime.needs_stdlib_method(name):
            assert method in runtime.STDLIB_METHODS, name
        else:
            assert method == bundle.COMPRESSION[compression], name
    run = run_plain(app, "info", "x y", cache_dir=tmp_path / "cache", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert is_ours(info["loader"]), info
    assert info["loader"].startswith(runtime.RUNTIME_PACKAGE + ".")
    assert info["argv"] == [str(app), "info", "x y"]
    assert info["main_name"] == "__main__"
    assert info["path0"] == str(app)
    assert info["file"] == f"{app}{os.sep}app{os.sep}__init__.py"


def test_bundle_with_own_main_module(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "__main__.py").write_text(
        "import sys, helper\n"
        "print(type(helper.__loader__).__module__, __name__, __file__, sys.argv[1:])\n"
    )
    (src / "helper.py").write_text("X = 1\n")
    app = tmp_path / "own.pyz"
    bundle.build([str(src)], str(app), compression="bzip2")
    run = run_plain(app, "a", cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr
    module, name, file, args = run.stdout.split(" ", 3)
    assert module == f"{runtime.RUNTIME_PACKAGE}.importer"
    assert name == "__main__"
    assert file == f"{app}{os.sep}{runtime.MAIN_PACKAGE}{os.sep}__main__.py"
    assert args.strip() == "['a']"


def test_bundle_exit_status_and_traceback(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    run = run_plain(app, "exit", "7", cache_dir=tmp_path / "cache")
    assert (run.returncode, run.stderr) == (7, "")
    run = run_plain(app, "raise", cache_dir=tmp_path / "cache")
    assert run.returncode == 1
    err = run.stderr
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert "ValueError: raised by the app" in err
    # The app's frames with their source lines; none of the bootstrap's.
    assert f'File "{app}{os.sep}app{os.sep}cli.py"' in err
    assert 'raise ValueError("raised by the app")' in err
    assert runtime.RUNTIME_PACKAGE not in err
    assert "runpy" not in err
    # The first frame is the app's main module, not the bundle's stub.
    first = err.splitlines()[1]
    assert first.startswith(f'  File "{app}{os.sep}{runtime.MAIN_PACKAGE}{os.sep}__main__.py"'), err


def test_bundle_compiled_with_shebang(app_src, tmp_path):
    app = build_app(
        app_src, tmp_path / "app.pyz", compile_pyc=True, python=PLAIN_PYTHON, compression="lzma"
    )
    run = run_cmd([str(app), "info"], env=plain_env(tmp_path / "cache"), timeout=120)
    assert run.returncode == 0, run.stderr
    assert is_ours(json.loads(run.stdout)["loader"])


def test_app_with_its_own_zipimporter(app_src, tmp_path):
    """An app that bundles (another version of) zipimporter: no collision."""
    import shutil

    shutil.copytree(Path(SRC) / "zipimporter", app_src / "zipimporter")
    (app_src / "zipimporter" / "__init__.py").write_text(
        (Path(SRC) / "zipimporter" / "__init__.py").read_text() + "\nAPP_COPY = True\n"
    )
    (app_src / "app" / "cli.py").write_text(
        "import zipimporter, json\nfrom app import work\n"
        "def main():\n"
        "    print(json.dumps([zipimporter.APP_COPY, work.loader_name()]))\n"
    )
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    run = run_plain(app, cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr
    copy, loader = json.loads(run.stdout)
    assert copy is True
    assert is_ours(loader)


def test_no_runtime_is_a_plain_zipapp(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "app.pyz", runtime=False)
    with zipfile.ZipFile(app) as zf:
        assert not runtime.has_runtime(zf.namelist())
    run = run_plain(app, "info", cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["loader"] == "zipimport.zipimporter"


def test_zip64_bundle_runs_on_every_version(tmp_path):
    """More than 65,535 members: the stdlib of 3.11/3.12 must still find the bootstrap."""
    src = tmp_path / "src"
    (src / "many").mkdir(parents=True)
    (src / "many" / "__init__.py").write_text("")
    for i in range(66_000):
        (src / "many" / f"m{i}.py").write_text(f"X = {i}\n")
    (src / "__main__.py").write_text(
        "import many.m65999 as m\nprint(m.X, type(m.__loader__).__module__)\n"
    )
    app = tmp_path / "big.pyz"
    bundle.build([str(src)], str(app), compression="bzip2")
    run = run_plain(app, cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["65999", f"{runtime.RUNTIME_PACKAGE}.importer"]
    with zipfile.ZipFile(app) as zf:
        assert zf.testzip() is None
        assert len(zf.namelist()) > 66_000


# -- child processes -----------------------------------------------------------------


def check_children(out: dict[str, str]) -> None:
    assert set(out) == {"parent", "spawn", "forkserver", "fork", "executor", "subprocess"}
    for kind, loader in out.items():
        assert is_ours(loader), (kind, loader)


def test_bundle_children_import_through_us(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    run = run_plain(app, "children", cache_dir=tmp_path / "cache", timeout=600)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    check_children(out)
    assert all(v.startswith(runtime.RUNTIME_PACKAGE + ".") for v in out.values()), out


def test_bundle_children_with_caching_off(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    env = plain_env(tmp_path / "cache", ZIPIMPORTER_CACHE="0")
    run = run_cmd([PLAIN_PYTHON, str(app), "children"], env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    check_children(json.loads(run.stdout))


def test_run_children_import_through_us(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "plain.pyz", compression="bzip2", runtime=False)
    run = run_cmd(
        [sys.executable, "-m", "zipimporter", "run", str(app), "children"],
        env=python_env(tmp_path / "cache"),
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    check_children(out)
    assert all(v == "zipimporter.importer.zipimporter" for v in out.values()), out


def test_install_children_from_a_script(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "plain.zip", compression="bzip2", runtime=False)
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            import zipimporter

            if __name__ == "__main__":
                zipimporter.install(children=True)
                sys.path.insert(0, {str(app)!r})
                from app import cli
                sys.argv[1:] = ["children"]
                cli.main()
            """
        )
    )
    run = run_cmd([sys.executable, str(script)], env=python_env(tmp_path / "cache"), timeout=600)
    assert run.returncode == 0, run.stderr
    check_children(json.loads(run.stdout))


def test_install_without_children_leaves_environment_alone(monkeypatch):
    import zipimporter

    monkeypatch.delenv(activation.ENV_ACTIVATE, raising=False)
    before = dict(os.environ)
    with zipimporter.install():
        assert dict(os.environ) == before
    with zipimporter.install(children=True):
        assert activation.ENV_ACTIVATE in os.environ
        shim = Path(os.environ["PYTHONPATH"].split(os.pathsep)[0])
        assert (shim / "sitecustomize.py").read_text() == activation.shim_source()
        assert shim.stat().st_mode & 0o077 == 0 or shim.parent.stat().st_mode & 0o077 == 0
    assert dict(os.environ) == before


# -- zipimporter run -----------------------------------------------------------------


def test_run_is_faithful(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "plain.zip", runtime=False)
    run = run_cmd(
        [sys.executable, "-m", "zipimporter", "run", "plain.zip", "info", "a"],
        env=python_env(tmp_path / "cache"),
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["path0"] == str(app)  # absolute, as python makes it
    assert info["file"] == f"{app}{os.sep}app{os.sep}__init__.py"
    assert info["argv"] == ["plain.zip", "info", "a"]
    plain = run_cmd(
        [sys.executable, "plain.zip", "info", "a"],
        env=python_env(tmp_path / "cache"),
        cwd=tmp_path,
        timeout=120,
    )
    theirs = json.loads(plain.stdout)
    assert {k: info[k] for k in ("path0", "file", "argv", "main_name")} == {
        k: theirs[k] for k in ("path0", "file", "argv", "main_name")
    }


def test_run_lazy_import_after_chdir(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "__main__.py").write_text("import os\nos.chdir('/')\nimport later\nprint(later.X)\n")
    (src / "later.py").write_text("X = 'found after chdir'\n")
    bundle.build([str(src)], str(tmp_path / "lazy.zip"), runtime=False)
    run = run_cmd(
        [sys.executable, "-m", "zipimporter", "run", "lazy.zip"],
        env=python_env(tmp_path / "cache"),
        cwd=tmp_path,
        timeout=120,
    )
    assert (run.returncode, run.stdout.strip()) == (0, "found after chdir"), run.stderr


def test_run_traceback_has_no_zipimporter_frames(app_src, tmp_path):
    build_app(app_src, tmp_path / "plain.zip", runtime=False)
    run = run_cmd(
        [sys.executable, "-m", "zipimporter", "run", "plain.zip", "raise"],
        env=python_env(tmp_path / "cache"),
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 1
    err = run.stderr
    assert "ValueError: raised by the app" in err
    assert 'raise ValueError("raised by the app")' in err
    for ours in ("cli.py", "launch.py", "bootstrap.py", "runpy"):
        assert ours not in err.replace(f"app{os.sep}cli.py", ""), err


def test_run_module_option(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "plain.zip", runtime=False)
    (tmp_path / "m").mkdir()
    run = run_cmd(
        [sys.executable, "-m", "zipimporter", "run", "-m", "app.work", str(app), "x"],
        env=python_env(tmp_path / "cache"),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr


# -- whole-environment activation ----------------------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A throwaway venv in which zipimporter is 'installed' (a .pth pointing at SRC)."""
    where = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([PLAIN_PYTHON, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "zipimporter-src.pth").write_text(SRC + "\n")
    return where


def venv_run(
    venv: Path, *args: str, cache_dir: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_cmd(
        [str(venv / "bin" / "python"), *args], env=plain_env(cache_dir, **env), timeout=120
    )


def test_enable_status_disable(venv, app_src, tmp_path):
    cache = tmp_path / "cache"
    app = build_app(app_src, tmp_path / "bz.zip", compression="bzip2", runtime=False)
    probe = "import app.work as w; print(w.loader_name())"
    before = venv_run(venv, "-c", probe, cache_dir=cache, PYTHONPATH=str(app))
    assert before.returncode != 0  # the stdlib can't read bzip2 members
    enabled = venv_run(venv, "-m", "zipimporter", "enable", cache_dir=cache)
    assert enabled.returncode == 0, enabled.stderr
    pth = Path(enabled.stdout.strip().rpartition(" ")[2])
    assert enabled.stdout.strip() == messages.ENABLED.format(path=pth)
    assert pth.name == activation.PTH_NAME and pth.is_file()
    try:
        after = venv_run(venv, "-c", probe, cache_dir=cache, PYTHONPATH=str(app))
        assert after.returncode == 0, after.stderr
        assert after.stdout.strip() == "zipimporter.importer.zipimporter"
        # Once fired, the deferred hook has made way for ours, in the stdlib's place.
        hooks = venv_run(
            venv,
            "-c",
            f"{probe}; import sys, zipimport, zipimporter; "
            "print([h is zipimporter.zipimporter for h in sys.path_hooks].count(True), "
            "zipimport.zipimporter in sys.path_hooks, "
            f"any(getattr(h, {activation.HOOK_MARK!r}, 0) for h in sys.path_hooks))",
            cache_dir=cache,
            PYTHONPATH=str(app),
        )
        assert hooks.stdout.split()[-3:] == ["1", "False", "False"], hooks.stderr
        # Deferred: a process that meets no archive never imports the package.
        idle = venv_run(
            venv, "-c", "import sys; print('zipimporter' in sys.modules)", cache_dir=cache
        )
        assert idle.stdout.strip() == "False", idle.stderr
        status = venv_run(venv, "-m", "zipimporter", "status", cache_dir=cache)
        assert status.returncode == 0
        assert messages.STATUS_ENABLED.format(paths=pth) in status.stdout.splitlines()
    finally:
        disabled = venv_run(venv, "-m", "zipimporter", "disable", cache_dir=cache)
    assert disabled.returncode == 0, disabled.stderr
    assert not pth.exists()
    status = venv_run(venv, "-m", "zipimporter", "status", cache_dir=cache)
    assert messages.STATUS_NOT_ENABLED.format(name=pth.name) in status.stdout.splitlines()
    again = venv_run(venv, "-c", probe, cache_dir=cache, PYTHONPATH=str(app))
    assert again.returncode != 0


def test_children_chain_to_the_next_sitecustomize(app_src, tmp_path):
    """The shim hands over to a sitecustomize of the user's, in the parent and the child."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import os\nprint('user sitecustomize', os.getpid())\n")
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    env = plain_env(tmp_path / "cache", PYTHONPATH=str(other))
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'pass'])"
    (app_src / "app" / "cli.py").write_text(f"def main():\n    {code}\n")
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    run = subprocess.run(
        [PLAIN_PYTHON, str(app)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    # Once in the parent (by site), once in the child (handed over by the shim).
    assert len([line for line in run.stdout.splitlines() if line.startswith("user sitecust")]) == 2


def test_pth_line_is_one_import_line():
    line = activation.pth_line()
    assert line.startswith("import ") and line.count("\n") == 1


# -- verify ---------------------------------------------------------------------------


def test_verify_warns_of_a_bundle_only_zipimporter_reads(app_src, tmp_path):
    from zipimporter.inspection import Severity, verify_archive

    plain = build_app(app_src, tmp_path / "plain.pyz", compression="bzip2", runtime=False)
    problems = verify_archive(str(plain))
    # app/__init__.py, app/work.py, app/cli.py and __main__.py
    text = messages.NEEDS_RUNTIME.format(count=4, methods="bzip2")
    assert [(p.severity, p.problem) for p in problems] == [(Severity.WARNING, text)]
    bundled = build_app(app_src, tmp_path / "bundled.pyz", compression="bzip2")
    assert verify_archive(str(bundled)) == []
    deflated = build_app(app_src, tmp_path / "deflated.pyz", runtime=False)
    assert verify_archive(str(deflated)) == []


def test_zipimporter_run_of_a_self_contained_bundle(app_src, tmp_path):
    app = build_app(app_src, tmp_path / "app.pyz", compression="bzip2")
    run = run_cmd(
        [sys.executable, "-m", "zipimporter", "run", str(app), "info"],
        env=python_env(tmp_path / "cache"),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    # The installed zipimporter reads it; the embedded runtime stays unused.
    assert json.loads(run.stdout)["loader"] == "zipimporter.importer.zipimporter"

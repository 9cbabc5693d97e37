"""Source lines from archives in tracebacks, linecache, inspect, warnings and pdb."""

from __future__ import annotations

import bdb
import inspect
import io
import linecache
import os
import pdb
import sys
import textwrap
import traceback
import warnings
from pathlib import Path
from types import ModuleType

import pytest

import zipimporter
from conftest import import_fresh, make_zip, run_python

FAILING = '''\
"""A module that fails on request."""


def helper(value):
    """Double it."""
    return value * 2


def fail(reason):
    doubled = helper(reason)
    raise RuntimeError(f"failing with {doubled}")


class Thing:
    def method(self):
        return "method"
'''

DEBUGGED = """\
def inner(x):
    y = x * 2
    return y + 1


def outer():
    first = inner(1)
    return inner(first)
"""


@pytest.fixture
def failing_zip(tmp_path: Path) -> str:
    path = make_zip(tmp_path / "failing.zip", {"failing.py": FAILING, "dbgmod.py": DEBUGGED})
    sys.path.insert(0, path)
    return path


def archive_frames(exc: BaseException, archive: str) -> list[tuple[str, int, str, str | None]]:
    """The frames of *exc*'s traceback that are in *archive*."""
    return [
        (f.filename, f.lineno, f.name, f.line)
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(archive)
    ]


def call_fail(module: ModuleType) -> BaseException:
    with pytest.raises(RuntimeError) as exc:
        module.fail("x")
    return exc.value


def test_traceback_shows_archive_source(failing_zip):
    module = import_fresh("failing", ours=True)
    with pytest.raises(RuntimeError) as exc:
        module.fail("ab")
    text = "".join(traceback.format_exception(exc.value))
    file = os.path.join(failing_zip, "failing.py")
    assert f'File "{file}", line 11, in fail' in text
    assert 'raise RuntimeError(f"failing with {doubled}")' in text
    assert f'File "{file}", line 10, in fail' not in text
    assert "RuntimeError: failing with abab" in text


def test_traceback_frames_match_stdlib(failing_zip):
    std = archive_frames(call_fail(import_fresh("failing", ours=False)), failing_zip)
    ours = archive_frames(call_fail(import_fresh("failing", ours=True)), failing_zip)
    assert ours == std
    assert ours == [
        (
            os.path.join(failing_zip, "failing.py"),
            11,
            "fail",
            'raise RuntimeError(f"failing with {doubled}")',
        )
    ]


def test_error_during_import_shows_source(tmp_path):
    path = make_zip(
        tmp_path / "boom.zip", {"boom_at_import.py": "x = 1\nraise ValueError('boom')\n"}
    )
    sys.path.insert(0, path)
    with pytest.raises(ValueError, match="boom") as exc:
        import_fresh("boom_at_import", ours=True)
    text = "".join(traceback.format_exception(exc.value))
    assert f'File "{os.path.join(path, "boom_at_import.py")}", line 2, in <module>' in text
    assert "raise ValueError('boom')" in text
    assert "boom_at_import" not in sys.modules


def test_linecache(failing_zip):
    module = import_fresh("failing", ours=True)
    file = module.__file__
    assert linecache.getline(file, 6, module.__dict__) == "    return value * 2\n"
    assert linecache.getlines(file, module.__dict__) == FAILING.splitlines(keepends=True)
    # Once cached lazily, the lines are there without the module's globals.
    assert linecache.getline(file, 11).strip() == 'raise RuntimeError(f"failing with {doubled}")'


def test_inspect_getsource(failing_zip):
    sources = []
    for ours in (False, True):
        module = import_fresh("failing", ours=ours)
        sources.append(
            (
                inspect.getsource(module),
                inspect.getsource(module.helper),
                inspect.getsource(module.Thing),
                inspect.getsourcelines(module.fail)[1],
                inspect.getsourcefile(module),
                inspect.getfile(module.helper),
                inspect.getdoc(module),
            )
        )
        if ours:
            assert type(module.__loader__) is zipimporter.zipimporter
    assert sources[0] == sources[1]
    source, helper, _, fail_line, file, _, doc = sources[1]
    assert source == FAILING
    assert helper == 'def helper(value):\n    """Double it."""\n    return value * 2\n'
    assert fail_line == 9
    assert file == os.path.join(failing_zip, "failing.py")
    assert doc == "A module that fails on request."


def test_warning_location(tmp_path):
    path = make_zip(
        tmp_path / "warns.zip",
        {"warner.py": "import warnings\n\ndef go():\n    warnings.warn('careful', UserWarning)\n"},
    )
    sys.path.insert(0, path)
    seen = []
    for ours in (False, True):
        module = import_fresh("warner", ours=ours)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module.go()
        (warning,) = caught
        line = linecache.getline(warning.filename, warning.lineno, module.__dict__)
        seen.append((warning.filename, warning.lineno, str(warning.message), line))
    assert seen[0] == seen[1]
    assert seen[1] == (
        os.path.join(path, "warner.py"),
        4,
        "careful",
        "    warnings.warn('careful', UserWarning)\n",
    )


# -- pdb ------------------------------------------------------------------------------------


def run_pdb(module: ModuleType, commands: list[str]) -> str:
    """Run ``module.outer()`` under pdb with *commands* as its input; return its output."""
    out = io.StringIO()
    debugger = pdb.Pdb(stdin=io.StringIO("\n".join(commands) + "\n"), stdout=out, nosigint=True)
    debugger.use_rawinput = False
    try:
        result = debugger.runcall(module.outer)
    finally:
        bdb.Breakpoint.clearBreakpoints()
    return out.getvalue() + f"result={result}\n"


def test_pdb_breakpoints_in_archive(failing_zip):
    file = os.path.join(failing_zip, "dbgmod.py")
    commands = [
        "break inner",  # a function in the archive
        "break 3",  # a line of the current file, in the archive
        "continue",
        "p x",
        "list",
        "continue",
        "p y",
        "continue",
        "continue",
        "continue",
    ]
    outputs = [run_pdb(import_fresh("dbgmod", ours=ours), commands) for ours in (False, True)]
    ours = outputs[1]
    assert outputs[0] == ours
    assert f"> {file}(7)outer()\n-> first = inner(1)\n" in ours
    # 3.13 puts a function's breakpoint on its first executable line.
    assert f"Breakpoint 1 at {file}:{2 if sys.version_info >= (3, 13) else 1}" in ours
    assert f"Breakpoint 2 at {file}:3" in ours
    assert f"> {file}(2)inner()\n-> y = x * 2" in ours
    assert f"> {file}(3)inner()\n-> return y + 1" in ours
    assert "  3 B\t    return y + 1\n" in ours  # the list command's output
    assert "  7  \t    first = inner(1)\n" in ours
    assert "(Pdb) 1\n" in ours  # p x
    assert "(Pdb) 2\n" in ours  # p y
    assert ours.endswith("result=7\n")


def test_pdb_file_and_line_breakpoint(failing_zip):
    file = os.path.join(failing_zip, "dbgmod.py")
    commands = [f"break {file}:3", "continue", "p y", "continue", "continue"]
    outputs = [run_pdb(import_fresh("dbgmod", ours=ours), commands) for ours in (False, True)]
    ours = outputs[1]
    assert outputs[0] == ours
    if sys.version_info >= (3, 13):
        # 3.13's pdb looks the file up on the file system, where an archive
        # member is not: the same with either importer.
        assert f"*** {file!r} not found from sys.path" in ours
    else:
        assert f"Breakpoint 1 at {file}:3" in ours
        assert f"> {file}(3)inner()\n-> return y + 1\n(Pdb) 2\n" in ours
    assert ours.endswith("result=7\n")


def test_pdb_subprocess_breakpoint_builtin(tmp_path):
    module = textwrap.dedent(
        """\
        def inner(x):
            y = x * 2
            breakpoint()
            return y + 1
        """
    )
    archive = make_zip(tmp_path / "bp.zip", {"bpmod.py": module})
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import sys\nimport zipimporter\n"
        "if sys.argv[2] == 'ours':\n    zipimporter.install()\n"
        "sys.path.insert(0, sys.argv[1])\nimport bpmod\n"
        "print('loader', type(bpmod.__loader__).__module__)\n"
        "print('result', bpmod.inner(20))\n"
    )
    outputs = []
    for which in ("stdlib", "ours"):
        proc = run_python(
            driver,
            archive,
            which,
            input="list\np y\nwhere\ncontinue\n",
            timeout=60,
            cache_dir=tmp_path / "cache",
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs.append(proc.stdout)
    std, ours = outputs
    assert "loader zipimporter.importer" in ours
    assert "loader zipimport\n" in std
    assert ours.replace("zipimporter.importer", "zipimport") == std
    file = os.path.join(archive, "bpmod.py")
    line = 3 if sys.version_info >= (3, 13) else 4  # 3.13 stops at breakpoint() itself
    assert f"> {file}({line})inner()" in ours
    assert "  2  \t    y = x * 2\n" in ours
    assert "(Pdb) 40\n" in ours
    assert "result 41" in ours

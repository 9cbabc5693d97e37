"""Run the running Python's own ``test.test_zipimport`` against zipimporter.

Our package is substituted for the ``zipimport`` module the tests import, and
our hook for the stdlib one in ``sys.path_hooks``; then the stdlib's tests run
unchanged.  Tests we expect to fail are listed below, each with its reason, and
are run as expected failures (an unexpected pass fails the run too).

Usage: python tests/conformance/run_stdlib_tests.py [-v] [--json FILE]
Exit status 0 when every test passed, was skipped by the stdlib's own
conditions, or failed as listed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import unittest

# Deliberate differences from the stdlib, by test id suffix -> reason.
EXPECTED_FAILURES: dict[str, str] = {
    "CompressedZipImportTestCase.testAFakeZlib": (
        "asserts that a zlib.py inside a deflated archive breaks the stdlib's lazy "
        "'import zlib' during decompression; we bind zlib when our package is "
        "imported, so such a module can't hijack decompression and the import succeeds"
    ),
}

# Resources (test.support.requires) we enable, as regrtest's -u would.
# 'largefile' runs the 3.13 ZIP64 >4 GiB test from its sparse prebuilt parts;
# 'cpu' stays off: it would deflate an 8 GiB file.
RESOURCES = ["largefile"]


def _mark_expected_failures(suite: unittest.TestSuite) -> list[str]:
    marked = []
    for test in _iter_tests(suite):
        key = f"{type(test).__name__}.{test._testMethodName}"
        if key in EXPECTED_FAILURES:
            method = getattr(type(test), test._testMethodName)

            # A fresh function: expectedFailure() flags the function object,
            # which a base class's test of the same name shares.
            def expected(self, _method=method):  # type: ignore[no-untyped-def]
                return _method(self)

            setattr(type(test), test._testMethodName, unittest.expectedFailure(expected))
            marked.append(key)
    return marked


def _iter_tests(suite: unittest.TestSuite):  # type: ignore[no-untyped-def]
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _iter_tests(item)
        else:
            yield item


def _run_suite(module: object, verbose: bool) -> tuple[unittest.TestResult, list[str]]:
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)  # type: ignore[arg-type]
    marked = _mark_expected_failures(suite)
    runner = unittest.TextTestRunner(verbosity=2 if verbose else 1, stream=sys.stdout)
    return runner.run(suite), marked


def _counts(result: unittest.TestResult, calls: int) -> dict[str, object]:
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    return {
        "run": result.testsRun,
        "passed": result.testsRun - failed - len(result.skipped) - len(result.expectedFailures),
        "skipped": len(result.skipped),
        "expected_failures": len(result.expectedFailures),
        "failed": failed,
        "our_find_spec_calls": calls,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="write the counts as JSON")
    args = parser.parse_args(argv)

    import zipimporter
    from zipimporter import bytecode_cache, cachedir

    stdlib_zipimport = sys.modules.get("zipimport")
    sys.modules["zipimport"] = zipimporter  # what 'import zipimport' in the tests gets
    zipimporter.install()
    assert zipimporter.zipimporter in sys.path_hooks
    # Count our find_spec calls, to prove the tests' imports went through us.
    calls = [0]
    our_find_spec = zipimporter.zipimporter.find_spec

    def counting_find_spec(self, fullname, target=None):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return our_find_spec(self, fullname, target)

    zipimporter.zipimporter.find_spec = counting_find_spec  # type: ignore[method-assign]

    from test import support

    support.use_resources = list(RESOURCES)
    workdir = tempfile.mkdtemp(prefix="zipimporter-conformance-")
    # Our caches on, in a fresh directory: pass 1 fills them, pass 2 runs on
    # them, proving they change nothing the tests can see.
    cachedir.configure(os.path.join(workdir, "cache"))
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    old_cwd = os.getcwd()
    os.chdir(workdir)  # the tests write junk95142.zip etc. in the cwd
    passes = {}
    try:
        from test import test_zipimport

        assert test_zipimport.zipimport is zipimporter, "substitution failed"
        for name in ("cold caches", "warm caches"):
            print(f"--- pass: {name}")
            calls[0] = 0
            result, marked = _run_suite(test_zipimport, args.verbose)
            passes[name] = (_counts(result, calls[0]), result)
        if hasattr(test_zipimport, "tearDownModule"):
            test_zipimport.tearDownModule()
    finally:
        os.chdir(old_cwd)
        # Packs are written at exit, into whatever cache is configured then:
        # write them now, while it is still the work directory, which then goes.
        bytecode_cache.flush()
        sys.dont_write_bytecode = dont_write
        cachedir.configure()
        shutil.rmtree(workdir, ignore_errors=True)
        zipimporter.zipimporter.find_spec = our_find_spec  # type: ignore[method-assign]
        zipimporter.uninstall()
        if stdlib_zipimport is not None:
            sys.modules["zipimport"] = stdlib_zipimport

    version = sys.version.split()[0]
    ok = True
    for name, (counts, result) in passes.items():
        print(f"\nconformance on Python {version}, {name}: {counts}")
        for test, reason in result.skipped:
            print(f"  skipped  {test.id()}: {reason}")
        for key in marked:
            print(f"  xfail    {key}: {EXPECTED_FAILURES[key]}")
        if counts["our_find_spec_calls"] == 0:
            print("FAIL: the tests never reached zipimporter's find_spec")
            ok = False
        ok = ok and counts["failed"] == 0
    if args.json:
        with open(args.json, "w") as fp:
            json.dump({"python": version, **{k: c for k, (c, _) in passes.items()}}, fp, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

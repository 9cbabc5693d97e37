"""The ``zipimporter`` command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zipimporter",
        description="Import Python code from ZIP archives: tools for bundles.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo",
        help="build the zipimport docs' example.zip in a temp dir and import from it",
        description="Build the zipimport docs' example archive in a temporary directory, "
        "import jwzthreading from it through zipimporter, and show __file__ and a "
        "traceback with the source line read from the archive.",
    )
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""Command-line interface: ``ionhomeo <command>`` (also ``python -m ionhomeo``).

Each subcommand is a ``_cmd_<name>(args) -> int`` function registered in
:func:`build_parser`; to add one, add a sub-parser there with
``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import build


def _cmd_build(args: argparse.Namespace) -> int:
    """Compile the mechanisms (unless cached) and print the build directory."""
    print(build.compile_mechanisms(args.mod_dir, force=args.force))
    return 0


def _cmd_mod_path(args: argparse.Namespace) -> int:
    """Print the directory holding the NMODL sources."""
    print(build.mod_dir())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with all subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="ionhomeo",
        description="Tools for the ionhomeo NEURON ion-homeostasis mechanisms.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "build",
        help="compile the NMODL mechanisms into the cache and print the build directory",
        description="Compile the NMODL mechanisms with nrnivmodl into the ionhomeo "
        "cache ($IONHOMEO_CACHE, else $XDG_CACHE_HOME/ionhomeo, else "
        "~/.cache/ionhomeo) and print the build directory. Does nothing if an "
        "up-to-date build exists.",
    )
    p.add_argument("--force", action="store_true", help="recompile even if a build exists")
    p.add_argument("--mod-dir", type=Path, default=None, metavar="DIR",
                   help="compile the *.mod files in DIR instead of ionhomeo's own")
    p.set_defaults(func=_cmd_build)

    p = commands.add_parser(
        "mod-path",
        help="print the directory holding the NMODL sources",
        description="Print the directory holding ionhomeo's *.mod files, e.g. for "
        "hoc users: nrnivmodl $(ionhomeo mod-path)",
    )
    p.set_defaults(func=_cmd_mod_path)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 on build errors)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except build.BuildError as err:
        print(f"ionhomeo {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

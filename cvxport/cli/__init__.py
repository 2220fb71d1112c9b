"""Command line: ``python -m cvxport <command>`` on the bundled data or CSV files.

One module per command in this package, each with ``register(commands)`` adding its sub-parser
(with ``func`` set to the function that runs it). A new command is one new module and one line
in ``COMMANDS``. Shared options and loading live in ``cvxport.cli.common``; command modules
import from ``common`` only, never from each other or from this ``__init__``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cvxport.errors import CvxportError

# Sub-command modules of this package, in the order ``--help`` lists them.
COMMANDS = [
    "backtest",
    "frontier",
    "stress",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="cvxport", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m cvxport`` and the ``cvxport`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CvxportError as exc:
        print(f"cvxport: error: {exc}", file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "build_parser", "main"]

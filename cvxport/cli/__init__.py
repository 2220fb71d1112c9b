"""Command line: ``python -m cvxport <command>`` on the bundled data or CSV files.

One module per command in this package, each with ``register(commands)`` adding its sub-parser
(with ``func`` set to the function that runs it). A new command is one new module and one line
in ``COMMANDS``. Shared options and loading live in ``cvxport.cli.common``; command modules
import from ``common`` only, never from each other or from this ``__init__``.

Before a command runs: ``--config`` (a TOML file) replaces the option defaults, the output
folder is checked writable, and every ``CvxportError`` ends as one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from cvxport.errors import CvxportError

# Sub-command modules of this package, in the order ``--help`` lists them.
COMMANDS = [
    "backtest",
    "frontier",
    "stress",
    "rebalance",
    "sweep",
]


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: ...)`` after each option's help unless the default is None or False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)".strip()


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser showing every option's default in ``--help``."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from cvxport import __version__

    parser = _Parser(prog="cvxport", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cvxport {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(commands)
    return parser, commands.choices


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; with ``--config``, parse again over the file's values as defaults."""
    from cvxport.cli.config_file import read_config_file

    parser, commands = _build()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        values = read_config_file(args.config)
        sub = commands[args.command]
        known = vars(args)
        sub.set_defaults(**{k: v for k, v in values.items() if k in known or k == "config_fields"})
        args = parser.parse_args(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m cvxport`` and the ``cvxport`` console script."""
    from cvxport.cli.common import check_output_folder

    try:
        args = parse_args(argv)
        if getattr(args, "output", None):
            check_output_folder(args.output)
        return args.func(args)
    except CvxportError as exc:
        print(f"cvxport: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped to a reader that closed early (``| head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1


__all__ = ["COMMANDS", "build_parser", "main", "parse_args"]

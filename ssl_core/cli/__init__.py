"""One command line: `python -m ssl_core <command>` (or the `ssl-playground` script that pyproject.toml
declares). Each command is a module here with `HELP`, `add_arguments(parser)` and `run(args) -> exit code`."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ssl_core.cli import bench, experiment, predict, pretrain
from ssl_core.cli.flags import note_old_spellings

COMMANDS = {"experiment": experiment, "pretrain": pretrain, "predict": predict, "bench": bench}


class Parser(argparse.ArgumentParser):
    """Errors in one line, not the usage block."""

    def error(self, message: str) -> None:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> Parser:
    parser = Parser(prog="python -m ssl_core", description="SSL Playground from the command line: the app's "
                    "experiments, training and models without the browser.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name, module in COMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    note_old_spellings(argv)
    return COMMANDS[args.command].run(args)

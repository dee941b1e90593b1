"""``cxr-audit``: one console script; each subcommand lives in its own module.

Every subcommand module has ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code). Errors are caught here
and nowhere else: the CLI's own :class:`CliError`, and every typed error of the layers
below (looked up in ``workstation.messages``' catalogue), become one line on stderr and
exit 2. Anything else is a bug: one line naming it and asking for a report, exit 1. Only
``--debug`` (or ``CXR_AUDIT_DEBUG=1``) adds the traceback. A usage error found by argparse
is one line too (argparse's usage block would be several), pointing at ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from workstation.cli.errors import CliError
from workstation.messages import cli_line, one_line

DEBUG_ENV = "CXR_AUDIT_DEBUG"
USAGE_EXIT = 2
BUG_EXIT = 1

# Imported lazily (only the chosen command's heavy imports run), but all are registered
# so that --help lists every subcommand.
COMMAND_MODULES: tuple[str, ...] = (
    "workstation.cli.parse_cmd",
    "workstation.cli.audit_cmd",
    "workstation.cli.eval_cmd",
    "workstation.cli.eval_parser_cmd",
    "workstation.cli.data_cmds",
    "workstation.cli.train_cmd",
    "workstation.cli.ground_cmd",
    "workstation.cli.compare_cmd",
    "workstation.cli.users_cmd",
    "workstation.cli.generate_cmd",
    "workstation.cli.eval_reports_cmd",
)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_EXIT, f"{self.prog}: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="cxr-audit",
        description="CXR Draft Auditor: compare chest X-ray draft impressions with image findings. "
        "Research and education only.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get(DEBUG_ENV, "") not in ("", "0"),
        help=f"print the traceback of an error as well as its one line (also {DEBUG_ENV}=1)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print(f"cxr-audit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:
        return report(args.command, error, debug=args.debug)
    return code


def report(command: str, error: Exception, debug: bool = False) -> int:
    """Print ``error`` as one line on stderr (after its traceback under ``debug``); the exit code."""
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    line = one_line(str(error)) if isinstance(error, CliError) else cli_line(error)
    if line is not None:
        print(f"cxr-audit {command}: {line}", file=sys.stderr)
        return USAGE_EXIT
    where = "" if debug else f"; rerun with --debug (or {DEBUG_ENV}=1) for the traceback"
    print(
        f"cxr-audit {command}: unexpected error {type(error).__name__}: {one_line(str(error))}. "
        f"This is a bug in cxr-audit; please report it with the command you ran{where}",
        file=sys.stderr,
    )
    return BUG_EXIT


if __name__ == "__main__":
    sys.exit(main())

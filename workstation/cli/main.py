"""``cxr-audit``: one console script; each subcommand lives in its own module.

Every subcommand module has ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed namespace, returning an exit code). Bad input becomes one
line on stderr and a non-zero exit here, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from workstation.cli.errors import CliError

# Imported lazily (only the chosen command's heavy imports run), but all are registered
# so that --help lists every subcommand.
COMMAND_MODULES: tuple[str, ...] = (
    "workstation.cli.parse_cmd",
    "workstation.cli.audit_cmd",
    "workstation.cli.eval_cmd",
    "workstation.cli.eval_parser_cmd",
    "workstation.cli.data_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxr-audit",
        description="CXR Draft Auditor: compare chest X-ray draft impressions with image findings. "
        "Research and education only.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
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
    except CliError as error:
        print(f"cxr-audit {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"cxr-audit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())

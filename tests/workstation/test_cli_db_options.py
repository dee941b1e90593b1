"""Every ``cxr-audit`` command that opens the audit database takes ``--db`` and ``--wait`` alike."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from workstation.cli.db_options import DEFAULT_WAIT_S
from workstation.cli.main import build_parser


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield " ".join(path), parser
    for action in subparsers:
        for name, child in action.choices.items():
            yield from _commands(child, (*path, name))


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


def test_each_command_with_a_database_waits_for_it_the_same_way() -> None:
    with_db = {name: parser for name, parser in _commands(build_parser()) if _option(parser, "--db")}
    assert {"import nih", "import reports", "export", "eval", "ground", "generate", "users add"} <= set(
        with_db
    )
    for name, parser in with_db.items():
        wait = _option(parser, "--wait")
        assert wait is not None, name
        assert wait.default == DEFAULT_WAIT_S and wait.type is float, name
        assert "(default 10)" in (wait.help or ""), name


def test_a_wait_given_on_the_command_line_is_read_as_seconds() -> None:
    args = build_parser().parse_args(["export", "--format", "csv", "--out", "x.csv", "--wait", "2.5"])
    assert args.wait == 2.5 and args.db is None

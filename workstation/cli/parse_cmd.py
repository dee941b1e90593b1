"""``cxr-audit parse``: read drafts into canonical labels, one JSON object per draft."""

from __future__ import annotations

import argparse
import json
import sys

from audit.pipeline import draft_problem, parse
from audit.report_json import parse_json
from models.registry import get_parser
from workstation.cli.backends import add_model_options, settings_from
from workstation.cli.errors import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "parse",
        help="parse draft impressions into labels",
        description="Parse one draft (--text) or one draft per stdin line; print one JSON object per draft.",
    )
    parser.add_argument("--parser", default="rules", help="draft parser backend (default: rules)")
    parser.add_argument(
        "--text",
        help="the draft; without it, one draft per line is read from stdin (UTF-8, split on newlines)",
    )
    add_model_options(parser)
    parser.set_defaults(func=run)


def stdin_drafts(data: bytes) -> list[str]:
    """One draft per line of ``data``, read as UTF-8 whatever the locale.

    Lines end at ``\n`` only (a ``\r`` before it is dropped), so a form feed, a file
    separator or U+2028 inside a draft stays inside it: one output per input line. A line
    that is not UTF-8 stops the command before anything is printed, naming the line.
    """
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another
    drafts = []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix(b"\r")
        try:
            drafts.append(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise CliError(
                f"stdin line {number} is not valid UTF-8 (byte 0x{line[error.start]:02x} at column "
                f"{error.start + 1}); nothing was parsed"
            ) from None
    return drafts


def run(args: argparse.Namespace) -> int:
    if args.text is not None:
        problem = draft_problem(args.text)
        if problem:
            raise CliError(problem)
    draft_parser = get_parser(args.parser, settings_from(args, "parser", args.parser))
    drafts = [args.text] if args.text is not None else stdin_drafts(sys.stdin.buffer.read())
    for draft in drafts:
        # Every input line gets one output line, so outputs stay aligned with inputs;
        # a blank line is reported as a failed parse rather than skipped.
        reading = parse(draft, draft_parser, {})
        print(json.dumps(parse_json(reading), ensure_ascii=False))
    return 0

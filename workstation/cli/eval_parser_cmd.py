"""``cxr-audit eval-parser``: score a draft parser against NegBio's gold and the IU MeSH coding."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.registry import get_parser
from workstation.cli.backends import add_model_options, settings_from
from workstation.cli.errors import CliError

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval-parser",
        help="score a draft parser against NegBio's gold labels and the IU MeSH coding on the IU reports",
        description="Per-label precision/recall/F1 for 'present', macro-F1 and throughput on NegBio's "
        "test split and the development reports, beside a naive keyword baseline; against NegBio's "
        "gold, then the IU manual MeSH coding when its file is present.",
    )
    parser.add_argument("--parser", default="rules", help="draft parser backend (default: rules)")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})"
    )
    parser.add_argument(
        "--split",
        choices=("test", "dev", "both"),
        default="both",
        help="which reports to score (default both)",
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum timing per parser (default 1)")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models.rules.benchmark import KeywordBaseline, run_benchmark
    from models.rules.benchmark_report import format_table

    if args.seconds <= 0:
        raise CliError("--seconds must be positive")
    draft_parser = get_parser(args.parser, settings_from(args, "parser", args.parser))
    splits = ("test", "dev") if args.split == "both" else (args.split,)
    result = run_benchmark(args.data, [draft_parser, KeywordBaseline()], splits, min_seconds=args.seconds)
    print(f"data: {result.data_file}")
    print(format_table(result.results))
    if result.mesh_results:
        print()
        print('gold: IU manual MeSH major coding ("No Indexing" reports skipped)')
        print(format_table(result.mesh_results))
    return 0

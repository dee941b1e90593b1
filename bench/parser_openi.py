"""Benchmark the rules draft parser against NegBio's human gold standard on the IU/OpenI reports.

Run: ``python -m bench.parser_openi [--data DIR] [--seconds S]``. Prints per-label precision,
recall and F1 for ``present`` (uncertain counted as negative, then as positive), macro-F1
over the five finding labels, no_finding F1, reports scored and skipped, and throughput on
one core, for the rules parser and a naive keyword baseline side by side, on NegBio's
``test`` split (771 reports) and on the development reports. That NegBio table is the
primary target. Then the same figures against a second gold, the IU manual MeSH major coding
on the same reports and splits (its lung opacity also counts Opacity and Airspace Disease),
and "where it fails and why": the commonest false positives and negatives per label on the
development reports only (test-split text is never printed). The logic lives in
``models.rules.benchmark``; ``cxr-audit eval-parser`` prints the NegBio table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.errors import BenchmarkDataError
from models.rules.benchmark import KeywordBaseline, format_table, run_benchmark
from models.rules.parser import RulesParser

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parser_openi", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timing per parser (default 2)")
    args = parser.parse_args(argv)
    try:
        result = run_benchmark(args.data, [RulesParser(), KeywordBaseline()], min_seconds=args.seconds)
    except BenchmarkDataError as error:
        print(f"parser_openi: {error}", file=sys.stderr)
        return 2
    print(f"data: {result.data_file}")
    print("### gold: NegBio (primary)")
    print(format_table(result.results))
    if result.mesh_results:
        print()
        print("### gold: IU manual MeSH major coding (same reports, same splits)")
        print(format_table(result.mesh_results))
    else:
        print("MeSH gold file not found: its table is left out.")
    if result.failures:
        print()
        print(result.failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())

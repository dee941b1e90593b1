"""Benchmark the rules draft parser on the IU/OpenI reports against two golds, beside a keyword baseline.

Run: ``python -m bench.parser_openi [--data DIR] [--seconds S] [--core N]``. Prints, for the
rules parser and a naive keyword baseline side by side, on NegBio's ``test`` split (771
reports) and on the development reports: per-label precision, recall and F1 for ``present``
(uncertain counted as negative, then as positive), macro-F1 over the five finding labels,
no_finding F1, reports scored and skipped, and throughput on one core (CPU time of this
process; ``--core N`` pins it to core N first, and the machine's load average is printed
beside the figure). First against NegBio's human gold, then against the IU manual MeSH
major coding on the same reports and splits (its lung opacity also counts Opacity and
Airspace Disease; reports marked "No Indexing" are skipped), then the MeSH figures with
those reports scored as issued, the borderline-heart policy both ways, and "where it fails
and why": the commonest false positives and negatives per label on the development reports
only (test-split text is never printed). The logic lives in ``models.rules.benchmark`` and
``models.rules.benchmark_report``; ``cxr-audit eval-parser`` prints the two main tables.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from models.errors import BenchmarkDataError
from models.rules.benchmark import KeywordBaseline, load_gold, run_benchmark, select_split
from models.rules.benchmark_report import failure_report, format_summary, format_table, format_variants
from models.rules.parser import RulesParser

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parser_openi", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timing per parser (default 2)")
    parser.add_argument("--core", type=int, default=None, help="pin this process to one CPU core first")
    args = parser.parse_args(argv)
    if args.core is not None:
        try:
            os.sched_setaffinity(0, {args.core})
        except (OSError, ValueError) as error:
            print(f"parser_openi: cannot pin to core {args.core}: {error}", file=sys.stderr)
            return 2
    rules = RulesParser()
    load_before = _load()
    try:
        result = run_benchmark(
            args.data,
            [rules, KeywordBaseline()],
            min_seconds=args.seconds,
            variants=[RulesParser(borderline="uncertain")],
        )
        dev = select_split(load_gold(args.data), "dev")
    except BenchmarkDataError as error:
        print(f"parser_openi: {error}", file=sys.stderr)
        return 2
    print(f"data: {result.data_file}")
    cores = sorted(os.sched_getaffinity(0))
    print(
        f"timing: CPU time of one process on core(s) {cores}; "
        f"load average {load_before} before, {_load()} after"
    )
    print("### gold: NegBio (primary)")
    print(format_table(result.results))
    golds = ("negbio",)
    if result.mesh_results:
        golds = ("negbio", "mesh")
        print()
        print('### gold: IU manual MeSH major coding (same reports, same splits; "No Indexing" skipped)')
        print(format_table(result.mesh_results))
        print()
        print('### MeSH coding as issued: the "No Indexing" reports scored as coded with no label')
        print(format_summary(result.mesh_as_issued))
    else:
        print("MeSH gold file not found: its table is left out.")
    print()
    print("### borderline heart both ways: the policy (present) and read as uncertain")
    primary = [item for item in (*result.results, *result.mesh_results) if item.parser == rules.name]
    print(format_variants(primary, result.variants, "cardiomegaly"))
    print()
    print(failure_report(rules, dev, golds, top=5))
    return 0


if __name__ == "__main__":
    sys.exit(main())

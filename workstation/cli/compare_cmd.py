"""``cxr-audit compare-grounders``: score grounding runs against the reference boxes, side by side.

``--cases FILE`` is the same kind of file ``ground`` reads; the reference boxes are the
cases' expert boxes in the audit database (``--db``, as for ``eval``). Each ``--run
NAME=DIR`` is a folder made by ``ground``. Writes ``comparison.json`` and ``comparison.md``
into ``--out DIR``, prints the Markdown, and stores the comparison in the database for the
Evaluation page.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.cli.errors import CliError
from workstation.cli.ground_cmd import add_case_options, load_cases

if TYPE_CHECKING:
    from data.store import Store

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare-grounders",
        help="score grounding runs on the same cases, with paired intervals of their differences",
        description="Presence F1 per label and macro, box hit rate and precision at IoU 0.3 and 0.5, "
        "mean IoU, urgent recall, failures; paired bootstrap 95% intervals of each difference; "
        "figures with N < 20 marked directional. Research and education only.",
    )
    parser.add_argument("--cases", type=Path, required=True, help="case ids: .csv (case_id), .jsonl or text")
    parser.add_argument(
        "--run", action="append", required=True, metavar="NAME=DIR", help="a folder made by ground; repeat"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for comparison.json and comparison.md"
    )
    add_case_options(parser)
    parser.add_argument(
        "--urgent", help="comma-separated urgent labels (default: the settings' urgent_labels)"
    )
    add_scoring_options(parser, silence="a grounder that said nothing", record="comparison")
    parser.set_defaults(func=run)


def add_scoring_options(parser: argparse.ArgumentParser, *, silence: str, record: str) -> None:
    """How failures count, the bootstrap, and storing the result: the commands that score and store."""
    parser.add_argument(
        "--failed-as",
        choices=("silence", "excluded"),
        default="silence",
        help=f"a failed or missing case counts as {silence} (default), or is left out",
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--note", help=f"a note stored with the {record}")
    parser.add_argument("--no-store", action="store_true", help=f"do not record the {record} in the database")


def check_scoring_options(args: argparse.Namespace) -> None:
    """Refused now, not after the whole scoring has run."""
    from data.records import checked_note

    if args.bootstrap < 0:
        raise CliError(f"--bootstrap must be 0 or more, got {args.bootstrap}")
    checked_note(args.note)


def parse_runs(values: list[str]) -> dict[str, Path]:
    runs: dict[str, Path] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not _NAME.fullmatch(name) or not folder:
            raise CliError(f"--run {value!r}: expected NAME=DIR, NAME of letters, digits, '.', '_', '-'")
        if name in runs:
            raise CliError(f"--run names {name!r} twice")
        path = Path(folder)
        if not path.is_dir():
            raise CliError(f"--run {name}: {path} is not a folder")
        runs[name] = path
    return runs


def _urgent(text: str | None) -> tuple[str, ...]:
    from audit.labels import FINDING_LABELS
    from models.settings import compare_policy

    if text is None:
        return tuple(compare_policy().urgent_labels)
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in FINDING_LABELS]
    if unknown:
        raise CliError(
            f"unknown urgent label(s) {', '.join(unknown)}; choose from {', '.join(FINDING_LABELS)}"
        )
    return names


def run(args: argparse.Namespace) -> int:
    from finetune.comparison import compare
    from finetune.comparison_report import MARKDOWN_FILE, write_comparison
    from finetune.grounding import read_case_ids

    check_scoring_options(args)
    runs = parse_runs(args.run)
    urgent = _urgent(args.urgent)
    cases = load_cases(args, read_case_ids(args.cases))
    comparison = compare(
        cases,
        runs,
        urgent=urgent,  # type: ignore[arg-type]
        failed_as=args.failed_as,
        reps=args.bootstrap,
        seed=args.seed,
        reference_source=args.reference_source,
    )
    write_comparison(args.out, comparison)
    print((args.out / MARKDOWN_FILE).read_text(encoding="utf-8"), end="")
    if not args.no_store:
        comparison_id = store_comparison(args, comparison)
        print(f"\nStored as comparison {comparison_id}; files in {args.out}.")
    return 0


def store_result(args: argparse.Namespace, what: str, save: Callable[[Store], int]) -> int:
    """Record a result whose files are already in ``args.out``; its id."""
    from data.errors import DataError
    from data.store import Store

    try:
        with Store.open(args.db, lock_timeout_s=max(0.0, args.wait)) as store:
            return save(store)
    except DataError as error:
        # main prints the note first: the files are safe, only the database record is missing.
        error.add_note(f"the {what} is in {args.out}, but storing it failed")
        raise


def store_comparison(args: argparse.Namespace, comparison: Any) -> int:
    return store_result(
        args,
        "comparison",
        lambda store: store.comparisons.save(
            runs=list(comparison.runs),
            n_cases=comparison.cases,
            comparison=json.loads(comparison.model_dump_json()),
            out_dir=str(args.out.resolve()),
            note=args.note,
        ),
    )

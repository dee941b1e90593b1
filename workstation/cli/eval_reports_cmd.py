"""``cxr-audit eval-reports``: score report generators against the cases' reference boxes.

Each generator's current report per case (``generate`` or ``import reports``) is read by
the draft parser (``--parser``, the rules parser by default) and judged by the comparator
against the reference grounder (the case's expert boxes; ``--reference-source`` keeps only
some). Cases come from ``--cases FILE``, else every case with a report by one of the
generators; a case a generator has no report for, or whose generation failed, is counted
as its failure. Writes ``report_eval.json`` and ``report_eval.md`` into ``--out DIR``,
prints the Markdown, and stores the evaluation for the Evaluation page. Reviewers' current
decisions on each generator's flags give its accepted-flag rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workstation.cli.backends import add_policy_options, policy_from
from workstation.cli.compare_cmd import add_scoring_options, check_scoring_options, store_result
from workstation.cli.errors import CliError
from workstation.cli.ground_cmd import add_case_options, load_cases


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval-reports",
        help="score report generators against the reference boxes: pathology P/R/F1, flag rates, "
        "paired differences",
        description="Pathology precision, recall, F1 and accuracy per label and macro (the parser on each "
        "report against the reference labels), the share of cases with MISSING, UNSUPPORTED and "
        "LATERALITY flags and of urgent findings omitted or denied, each with its N and a seeded "
        "bootstrap 95% interval, paired differences between generators on shared cases, failures "
        "counted. Research and education only.",
    )
    parser.add_argument("--cases", type=Path, help="case ids: .csv (case_id), .jsonl or text")
    parser.add_argument(
        "--generator", action="append", metavar="NAME", help="a generator to score; repeat (default: all)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for report_eval.json and report_eval.md"
    )
    parser.add_argument("--parser", default="rules", help="draft parser reading the reports (default rules)")
    add_case_options(parser)
    add_policy_options(parser)
    add_scoring_options(parser, silence="a report that says nothing", record="evaluation")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def _choose(
    args: argparse.Namespace,
) -> tuple[list[str], dict[str, dict[str, Any]], list[str], dict[str, Any]]:
    """The generators, their reports, the case ids and the reviewer feedback, from the database."""
    from data.store import Store
    from finetune.grounding import read_case_ids

    with Store.open(args.db, lock_timeout_s=max(0.0, args.wait)) as store:
        stored = [summary.generator for summary in store.generations.summaries()]
        if not stored:
            raise CliError(
                "the database has no generated reports; add some with cxr-audit import reports or "
                "cxr-audit generate (or check --db)"
            )
        names = list(dict.fromkeys(args.generator or stored))
        unknown = [name for name in names if name not in stored]
        if unknown:
            raise CliError(f"no reports by {', '.join(unknown)} in the database; it has: {', '.join(stored)}")
        case_ids = read_case_ids(args.cases) if args.cases is not None else None
        reports = store.generations.reports(names, case_ids)
        if case_ids is None:
            case_ids = sorted({case_id for by_case in reports.values() for case_id in by_case})
        feedback = store.report_evaluations.feedback(names)
    return names, reports, case_ids, feedback


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from audit.report_eval import MARKDOWN_FILE, evaluate_reports, write_evaluation
    from models.registry import get_grounder, get_parser

    check_scoring_options(args)
    if args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out {args.out} exists and is not a folder")
    policy = policy_from(args)
    names, reports, case_ids, feedback = _choose(args)
    cases = load_cases(args, case_ids)
    with tqdm(
        total=len(cases), unit="case", file=sys.stderr, disable=True if args.no_progress else None
    ) as bar:
        evaluation = evaluate_reports(
            cases,
            reports,
            get_grounder("reference"),
            get_parser(args.parser),
            policy=policy,
            failed_as=args.failed_as,
            reps=args.bootstrap,
            seed=args.seed,
            reference_source=args.reference_source,
            feedback=feedback,
            progress=bar.update,
        )
    write_evaluation(args.out, evaluation)
    print((args.out / MARKDOWN_FILE).read_text(encoding="utf-8"), end="")
    if not args.no_store:
        evaluation_id = _store(args, names, evaluation)
        print(f"\nStored as report evaluation {evaluation_id}; files in {args.out}.")
    return 0


def _store(args: argparse.Namespace, names: list[str], evaluation: Any) -> int:
    return store_result(
        args,
        "evaluation",
        lambda store: store.report_evaluations.save(
            generators=names,
            n_cases=evaluation.cases,
            evaluation=json.loads(evaluation.model_dump_json()),
            out_dir=str(args.out.resolve()),
            note=args.note,
        ),
    )

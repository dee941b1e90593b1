"""``cxr-audit ground``: ground a list of cases once with one grounder, for comparing later.

``--cases FILE`` lists case ids of the audit database (``--db``, as ``cxr-audit eval``
uses): a ``.csv`` with a ``case_id`` column, a ``.jsonl`` of objects with ``case_id``, or
a text file with one id per line. The images and, for the ``reference`` grounder, the
expert boxes come from the database. ``--out DIR`` gets ``<case_id>.json`` per case,
``raw/`` (every generation of a model backend) and ``run.json`` (counts and every
failure); running again into it resumes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from audit.protocols import AuditCase
from workstation.cli.backends import add_model_options, settings_from
from workstation.cli.db_options import add_db_options
from workstation.cli.errors import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ground",
        help="ground a list of cases with one grounder and keep every output (resumable)",
        description="Ground every case in --cases once and keep each reading, its raw output and every "
        "failure in --out DIR, to be scored by compare-grounders. Research and education only.",
    )
    parser.add_argument(
        "--grounder", required=True, help="grounder backend (reference, medgemma, openai, ...)"
    )
    parser.add_argument("--cases", type=Path, required=True, help="case ids: .csv (case_id), .jsonl or text")
    parser.add_argument("--out", type=Path, required=True, help="folder for the run")
    parser.add_argument(
        "--findings", type=Path, help="findings JSON file or folder (the findings-file grounder)"
    )
    add_case_options(parser)
    add_model_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def add_case_options(parser: argparse.ArgumentParser) -> None:
    add_db_options(parser)
    parser.add_argument(
        "--reference-source",
        help="keep only reference boxes whose source contains this text (e.g. NIH)",
    )


def load_cases(args: argparse.Namespace, case_ids: Sequence[str]) -> list[AuditCase]:
    """The listed cases from the database, in the file's order; every unknown id is named."""
    from data.store import Store

    with Store.open(args.db, lock_timeout_s=max(0.0, args.wait), read_only=True) as store:
        known = store.cases.sources_of(list(case_ids))
        missing = [case_id for case_id in case_ids if case_id not in known]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise CliError(
                f"{len(missing):,} of {len(case_ids):,} case id(s) are not in the database: {shown} "
                "(import them first, or check --db)"
            )
        cases = [store.cases.audit_case(case_id) for case_id in case_ids]
    if args.reference_source is None:
        return cases
    return [_keep_reference(case, args.reference_source) for case in cases]


def _keep_reference(case: AuditCase, source: str) -> AuditCase:
    from dataclasses import replace

    return replace(case, reference=tuple(f for f in case.reference if source in f.source))


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from finetune.grounding import GroundingRun, ground_cases, read_case_ids
    from models.registry import get_grounder

    if args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out {args.out} exists and is not a folder")
    case_ids = read_case_ids(args.cases)
    cases = load_cases(args, case_ids)
    extra = {}
    if args.findings is not None:
        if args.grounder != "findings-file":
            raise CliError("--findings is for the findings-file grounder")
        extra["findings_path"] = str(args.findings)
    settings = settings_from(args, "grounder", args.grounder, **extra)
    grounder = get_grounder(args.grounder, settings)
    model = settings.model_id if args.grounder not in ("reference", "findings-file") else None
    if args.findings is not None:
        model = str(args.findings.resolve())
    run_record = GroundingRun(
        grounder=args.grounder, model=model, cases_file=str(args.cases), n_cases=len(cases)
    )
    with tqdm(
        total=len(cases), unit="case", file=sys.stderr, disable=True if args.no_progress else None
    ) as bar:
        result = ground_cases(cases, grounder, args.out, run_record, on_case=bar.update)
    print(
        f"Grounded {result.n_done:,} of {result.n_cases:,} case(s) with {result.grounder}: "
        f"{result.n_ok:,} ok, {result.n_recovered:,} recovered, {result.n_failed:,} failed; "
        f"files in {args.out}"
    )
    for failure in result.failures[:10]:
        print(f"  failed {failure.case_id}: {' '.join(failure.reason.split())[:160]}")
    if len(result.failures) > 10:
        print(f"  ... and {len(result.failures) - 10:,} more (see {args.out / 'run.json'})")
    return 0

"""``cxr-audit eval``: audit synthetic drafts of a worklist's cases and measure the flags.

Writes ``samples.jsonl`` (one record per draft), ``summary.json`` and ``summary.md`` into
``--out DIR``, prints the Markdown summary, and stores the run in the database so the
Evaluation page can show and compare runs. Running again into the same folder resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from audit.evaluate import (
    MARKDOWN_FILE,
    SAMPLES_FILE,
    EvalConfig,
    EvalResult,
    evaluate,
    read_records,
)
from audit.protocols import AuditCase, Grounder
from audit.simulated import NOISE_LEVELS, SimulatedGrounder
from audit.synth import CORRUPTIONS, CorruptionKind
from models.registry import get_grounder, get_parser
from workstation.cli.backends import (
    add_model_options,
    add_parser_model_options,
    add_policy_options,
    policy_from,
    settings_from,
)
from workstation.cli.db_options import add_db_options
from workstation.cli.errors import CliError

# Cases are listed a page at a time; the store caps a page at 1,000 rows.
_PAGE = 1000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate the auditor on synthetic drafts over a worklist",
        description="Write synthetic drafts (faithful, then one corruption each: "
        f"{', '.join(CORRUPTIONS)}) for the worklist's cases, audit them with the chosen grounder and "
        "parser, and measure the flags against the expected ones. Resumes into an existing --out DIR.",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for samples.jsonl, summary.json, summary.md"
    )
    add_db_options(parser)
    parser.add_argument("--source", help="only cases imported from this source (e.g. nih, demo)")
    parser.add_argument(
        "--reference-source",
        help="keep only reference findings whose source contains this text (e.g. NIH), "
        "where a case carries several readers' boxes",
    )
    parser.add_argument("--grounder", help="grounder backend (default: reference)")
    parser.add_argument(
        "--findings-dir",
        type=Path,
        help="a folder of <case_id>.json grounder outputs made elsewhere (uses the findings-file grounder)",
    )
    parser.add_argument(
        "--noise",
        choices=sorted(NOISE_LEVELS),
        help="degrade the grounder's findings with the simulated imperfect grounder at this level",
    )
    parser.add_argument("--parser", default="rules", help="draft parser backend (default: rules)")
    parser.add_argument(
        "--corruptions",
        default=",".join(CORRUPTIONS),
        help=f"comma-separated corruption kinds (default: {','.join(CORRUPTIONS)})",
    )
    parser.add_argument("--limit", type=int, help="evaluate only the first N cases (in case id order)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for drafts, noise and bootstrap (default 0)"
    )
    parser.add_argument(
        "--failed-as",
        choices=("excluded", "silence"),
        default="excluded",
        help="failed items are excluded from the figures (default), or counted as silence: "
        "whatever their degraded report raised",
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates for 95%% intervals")
    parser.add_argument("--note", help="a note stored with the run")
    parser.add_argument("--no-store", action="store_true", help="do not record the run in the database")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_model_options(parser, concurrency=True)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="cases per model call for backends that batch (GPU models); results do not depend on it",
    )
    add_parser_model_options(parser)
    add_policy_options(parser)
    parser.set_defaults(func=run)


def _corruptions(text: str) -> tuple[CorruptionKind, ...]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CORRUPTIONS]
    if unknown or not names:
        raise CliError(
            f"unknown corruption(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(CORRUPTIONS)}"
        )
    if len(set(names)) != len(names):
        raise CliError(f"--corruptions names a kind twice: {text}")
    return tuple(names)  # type: ignore[arg-type]


def _check_numbers(args: argparse.Namespace) -> None:
    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit must be at least 1, got {args.limit}")
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.bootstrap < 0:
        raise CliError(f"--bootstrap must be 0 or more, got {args.bootstrap}")
    if args.seed < 0:
        raise CliError(f"--seed must be 0 or more, got {args.seed}")
    if args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out {args.out} exists and is not a folder")
    from data.records import checked_note

    checked_note(args.note)  # refused now, not after the whole evaluation has run


def load_cases(db: str | None, source: str | None, limit: int | None, wait_s: float) -> list[AuditCase]:
    """The worklist's cases in case id order, as the pipeline sees them (store closed after)."""
    from data.records import WorklistQuery
    from data.store import Store
    from data.worklist import worklist_page

    with Store.open(db, lock_timeout_s=max(0.0, wait_s), read_only=True) as store:
        case_ids: list[str] = []
        page = 0
        while limit is None or len(case_ids) < limit:
            rows = worklist_page(
                store, WorklistQuery(source=source, sort="case_id", page=page, page_size=_PAGE)
            ).rows
            case_ids.extend(row.case_id for row in rows)
            if len(rows) < _PAGE:
                break
            page += 1
        if limit is not None:
            case_ids = case_ids[:limit]
        return [store.cases.audit_case(case_id) for case_id in case_ids]


def store_run(db: str | None, result: EvalResult, out: Path, note: str | None, wait_s: float) -> int:
    from data.errors import DataError
    from data.store import Store

    summary = result.summary
    config = summary.config
    try:
        with Store.open(db, lock_timeout_s=max(0.0, wait_s)) as store:
            return store.eval_runs.save(
                grounder=config.grounder,
                parser=config.parser,
                seed=config.seed,
                n_items=summary.n_input,
                n_scored=summary.n_scored,
                n_failed=summary.n_failed,
                summary=json.loads(summary.model_dump_json()),
                config=json.loads(config.model_dump_json()),
                out_dir=str(out.resolve()),
                note=note,
            )
    except DataError as error:
        # main prints the note first: the files are safe, only the database record is missing.
        error.add_note(f"the evaluation finished and its files are in {out}, but storing the run failed")
        raise


def _grounder(args: argparse.Namespace) -> tuple[Grounder, str, int]:
    """The grounder, its label for the run, and how many cases it reads at once (openai: its
    concurrency, so that a chunk keeps that many requests in flight)."""
    if args.findings_dir is not None:
        if args.grounder not in (None, "findings-file"):
            raise CliError("--findings-dir uses the findings-file grounder; drop --grounder")
        if not args.findings_dir.is_dir():
            raise CliError(f"--findings-dir {args.findings_dir} is not a folder")
        settings = settings_from(args, "grounder", "findings-file", findings_path=str(args.findings_dir))
        grounder = get_grounder("findings-file", settings)
        label, in_flight = f"findings-file({args.findings_dir})", 1
    else:
        name = args.grounder or "reference"
        settings = settings_from(args, "grounder", name)
        grounder = get_grounder(name, settings)
        profile = getattr(grounder, "profile", None)
        label = name if profile is None else f"{name}:{profile.name}"
        in_flight = settings.concurrency if name == "openai" else 1
    if args.noise is not None:
        simulated = SimulatedGrounder(grounder, NOISE_LEVELS[args.noise], seed=args.seed)
        return simulated, simulated.name, in_flight
    return grounder, label, in_flight


def _progress(total: int, initial: int, disabled: bool) -> Any:
    from tqdm import tqdm

    # disable=None: tqdm shows the bar only when stderr is a terminal.
    return tqdm(
        total=total, initial=initial, unit="draft", file=sys.stderr, disable=True if disabled else None
    )


def run(args: argparse.Namespace) -> int:
    _check_numbers(args)
    corruptions = _corruptions(args.corruptions)
    policy = policy_from(args)
    cases = load_cases(args.db, args.source, args.limit, args.wait)
    if not cases:
        where = f" from source {args.source!r}" if args.source else ""
        raise CliError(
            f"the worklist has no cases{where}; import some first (cxr-audit import ...) or seed the demo "
            "(cxr-audit demo)"
        )
    # Backends are built once the worklist is known to hold cases: a model backend loads weights.
    grounder, grounder_label, in_flight = _grounder(args)
    draft_parser = get_parser(args.parser, settings_from(args, "parser", args.parser, prefix="parser_"))
    config = EvalConfig(
        grounder=grounder_label,
        parser=args.parser,
        seed=args.seed,
        corruptions=corruptions,
        failed_as=args.failed_as,
        bootstrap_reps=args.bootstrap,
        policy=policy,
        reference_source=args.reference_source,
        limit=args.limit,
    )
    already = _already_done(args.out)
    with _progress(
        len(cases) * len(corruptions), min(already, len(cases) * len(corruptions)), args.no_progress
    ) as bar:
        result = evaluate(
            cases,
            grounder,
            draft_parser,
            config,
            out_dir=args.out,
            on_record=lambda _: bar.update(),
            batch_size=max(args.batch_size, in_flight),
        )
    print(_markdown(args.out), end="")
    if not args.no_store:
        eval_id = store_run(args.db, result, args.out, args.note, args.wait)
        print(f"\nStored as eval run {eval_id}; files in {args.out}.")
    return 0


def _already_done(out: Path) -> int:
    return len(read_records(out / SAMPLES_FILE))


def _markdown(out: Path) -> str:
    return (out / MARKDOWN_FILE).read_text(encoding="utf-8")

"""``cxr-audit generate``: write ``generated`` drafts with a report generator.

``--generator medgemma`` runs base MedGemma here (transformers; ``--concurrency`` images per
generate call); ``--generator openai`` sends each case to an OpenAI-compatible endpoint
(``--endpoint``; ``--concurrency`` requests in flight). The reports are stored under the
generator's name (``--name``, default ``<generator>:<model>``), each with its raw text and
outcome; an empty or failed generation is stored as failed and counted. Cases come from
``--cases FILE`` (the ids ``ground`` reads) or are every case with an image; a case the
generator already has a report for is skipped unless ``--again``. Reports are stored as
they come, so an interrupted run keeps what it wrote and the next run goes on from there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workstation.cli.backends import add_model_options, settings_from
from workstation.cli.db_options import add_db_options
from workstation.cli.errors import CliError

GENERATORS = ("medgemma", "openai")
CHUNK = 32  # cases generated, then stored, at a time
FAILURES_SHOWN = 10
RELEASE_S = 2.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write generated drafts with a report generator (base MedGemma, or any OpenAI-compatible "
        "endpoint)",
        description=__doc__.split("\n\n")[1].replace("``", "") + " Research and education only.",
    )
    parser.add_argument("--generator", required=True, choices=GENERATORS, help="the report generator backend")
    parser.add_argument("--cases", type=Path, help="case ids: .csv (case_id), .jsonl or text (default: all)")
    parser.add_argument("--name", help="the generator's name as the drafts' author (default generator:model)")
    parser.add_argument(
        "--again", action="store_true", help="write a new report even where this generator has one"
    )
    add_db_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_model_options(parser, concurrency=True)
    parser.set_defaults(func=run)


def generator_name(args: argparse.Namespace, model_id: str) -> str:
    from data.importers.report_rows import generator_problem

    name = args.name or f"{args.generator}:{model_id}"
    problem = generator_problem(name)
    if problem is not None:
        raise CliError(f"{problem}; name the generator with --name")
    return name


def _case_ids(store: Any, args: argparse.Namespace) -> list[str]:
    if args.cases is None:
        return [case.case_id for case in store.cases.where() if case.image_path is not None]
    from finetune.grounding import read_case_ids

    ids = read_case_ids(args.cases)
    missing = sorted(set(ids) - store.cases.existing_ids(ids))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise CliError(f"{len(missing):,} case id(s) of {args.cases} are not in the database: {shown}")
    return ids


def _store_runs(store: Any, name: str, generator: Any, runs: Sequence[Any]) -> None:
    """Every case's generation, in one transaction per chunk."""
    from data.generations import NewGeneration

    items = []
    for item in runs:
        run = item.run
        items.append(
            NewGeneration(
                case_id=item.case_id,
                generator=name,
                reading=item.reading,
                raw_text=run.attempts[-1].raw if run is not None and run.attempts else None,
                backend=generator.name,
                model=generator.model_id,
                profile=generator.profile.name,
                run=run.model_dump(mode="json") if run is not None else None,
                seconds=round(sum(a.seconds for a in run.attempts), 6) if run is not None else None,
            )
        )
    store.generations.add(items)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from data.store import Store
    from models.registry import get_generator

    if args.concurrency is not None and args.concurrency < 1:
        raise CliError(f"--concurrency must be at least 1, got {args.concurrency}")
    extra = {"batch_size": args.concurrency} if args.generator == "medgemma" and args.concurrency else {}
    settings = settings_from(args, "generator", args.generator, **extra)
    # Released after RELEASE_S idle: a chunk's reads and writes share one opening, and the app
    # can use the file while the model writes.
    with Store.open(args.db, idle_release_s=RELEASE_S, lock_timeout_s=max(0.0, args.wait)) as store:
        wanted = _case_ids(store, args)
        generator = get_generator(args.generator, settings)
        name = generator_name(args, generator.model_id)
        done = (
            set()
            if args.again
            else {
                record.case_id
                for record in store.generations.latest([name], wanted)
                if record.outcome != "failed"
            }
        )
        todo = [case_id for case_id in wanted if case_id not in done]
        outcomes = {"ok": 0, "recovered": 0, "failed": 0}
        failures: list[tuple[str, str]] = []
        with tqdm(
            total=len(todo), unit="case", file=sys.stderr, disable=True if args.no_progress else None
        ) as bar:
            for offset in range(0, len(todo), CHUNK):
                cases = [store.cases.audit_case(case_id) for case_id in todo[offset : offset + CHUNK]]
                runs = generator.generate_batch(cases, progress=bar.update)
                _store_runs(store, name, generator, runs)
                for item in runs:
                    outcomes[item.reading.outcome.status] += 1
                    if item.reading.failed:
                        failures.append((item.case_id, item.reading.outcome.error or "failed"))
    print(
        f"generate: {len(todo):,} report(s) by {name} ({generator.name}, profile {generator.profile.name}): "
        f"{outcomes['ok']:,} ok, {outcomes['recovered']:,} recovered, {outcomes['failed']:,} failed; "
        f"{len(done):,} case(s) skipped, already reported by {name} (--again writes them anew)"
    )
    for case_id, reason in failures[:FAILURES_SHOWN]:
        print(f"  failed {case_id}: {' '.join(reason.split())[:200]}")
    if len(failures) > FAILURES_SHOWN:
        print(f"  ... and {len(failures) - FAILURES_SHOWN:,} more (cxr-audit eval-reports lists every one)")
    return 0

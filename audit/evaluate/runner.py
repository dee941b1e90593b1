"""The evaluation runner: synthetic drafts through injected backends, nothing unaccounted for.

For every case and every corruption kind the runner writes a synthetic draft
(:mod:`audit.synth`), audits it with the injected grounder and parser
(:func:`audit.pipeline.run_audit`), and records one :class:`SampleRecord`. Records are
appended to the output folder as they are made, so an interrupted run resumes where it
stopped (:mod:`audit.evaluate.files`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from audit.batching import OncePerCase, PrefetchedParser
from audit.errors import IntegrityError
from audit.evaluate.files import SAMPLES_FILE, check_integrity, resume, write_summary
from audit.evaluate.records import EvalConfig, SampleRecord, error_record, record_of, sample_id
from audit.evaluate.summary import EvalSummary, summarize
from audit.pipeline import run_audit
from audit.protocols import AuditCase, DraftParser, Grounder
from audit.schema import AuditReport, ComparePolicy, Frozen
from audit.synth import SyntheticDraft, synthesize

log = logging.getLogger(__name__)

AuditFn = Callable[[AuditCase, Grounder, DraftParser, ComparePolicy], AuditReport]


def run_samples(
    cases: Iterable[AuditCase],
    grounder: Grounder,
    parser: DraftParser,
    config: EvalConfig,
    done: frozenset[str] = frozenset(),
    audit_fn: AuditFn = run_audit,
    batch_size: int = 1,
) -> Iterator[SampleRecord]:
    """Audit every (case, corruption) not in ``done``, yielding one record each, in input order.

    Cases go through in chunks of ``batch_size``: a backend that can batch (a GPU model)
    reads a whole chunk per call; the results are the same as one call per item.
    """
    once = OncePerCase(grounder)
    batched_parser = PrefetchedParser(parser)
    for chunk in _chunks(cases, batch_size):
        pending: list[tuple[AuditCase, SyntheticDraft]] = []
        for case in chunk:
            if config.reference_source is not None:
                kept = tuple(f for f in case.reference if config.reference_source in f.source)
                case = replace(case, reference=kept)
            for corruption in config.corruptions:
                if sample_id(case.case_id, corruption) in done:
                    continue
                synthetic = synthesize(
                    case.case_id, case.reference, corruption, config.seed, config.policy.urgent_labels
                )
                pending.append((case, synthetic))
        once.prefetch(list({case.case_id: case for case, _ in pending}.values()))
        batched_parser.prefetch([synthetic.text for _, synthetic in pending])
        for case, synthetic in pending:
            try:
                report = audit_fn(replace(case, draft=synthetic.text), once, batched_parser, config.policy)
            except Exception as error:  # listed as a failed item with its reason, never dropped
                log.exception("evaluation of %s failed", sample_id(case.case_id, synthetic.corruption))
                yield error_record(case, synthetic, error)
                continue
            yield record_of(case, synthetic, report)


def _chunks(cases: Iterable[AuditCase], size: int) -> Iterator[list[AuditCase]]:
    chunk: list[AuditCase] = []
    for case in cases:
        chunk.append(case)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class EvalResult(Frozen):
    summary: EvalSummary
    records: tuple[SampleRecord, ...]
    n_resumed: int  # records found in the output folder and not run again


def evaluate(
    cases: Iterable[AuditCase],
    grounder: Grounder,
    parser: DraftParser,
    config: EvalConfig,
    out_dir: Path | None = None,
    on_record: Callable[[SampleRecord], None] | None = None,
    audit_fn: AuditFn = run_audit,
    batch_size: int = 1,
) -> EvalResult:
    """Run (or resume) an evaluation and write its files into ``out_dir`` when given.

    Raises :class:`IntegrityError` when the records do not cover the input exactly once.
    """
    case_list = list(cases)
    if config.limit is not None:
        case_list = case_list[: config.limit]
    wanted = [sample_id(case.case_id, kind) for case in case_list for kind in config.corruptions]
    if len(set(wanted)) != len(wanted):
        raise IntegrityError("two input cases share a case id; every sample must be identifiable")

    existing = resume(out_dir, config, wanted) if out_dir is not None else []
    position = {sid: index for index, sid in enumerate(wanted)}
    done = frozenset(r.sample_id for r in existing)
    fresh: list[SampleRecord] = []
    handle = (out_dir / SAMPLES_FILE).open("a", encoding="utf-8") if out_dir is not None else None
    try:
        for record in run_samples(case_list, grounder, parser, config, done, audit_fn, batch_size):
            if handle is not None:
                handle.write(record.model_dump_json() + "\n")
                handle.flush()  # an interrupted run keeps every finished record
            fresh.append(record)
            if on_record is not None:
                on_record(record)
    finally:
        if handle is not None:
            handle.close()

    records = sorted([*existing, *fresh], key=lambda r: position[r.sample_id])
    check_integrity(records, wanted)
    summary = summarize(records, config)
    if out_dir is not None:
        write_summary(out_dir, summary)
    return EvalResult(summary=summary, records=tuple(records), n_resumed=len(existing))

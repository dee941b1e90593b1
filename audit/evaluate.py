"""The evaluation runner: synthetic drafts through injected backends, nothing unaccounted for.

For every case and every corruption kind the runner writes a synthetic draft
(:mod:`audit.synth`), audits it with the injected grounder and parser
(:func:`audit.pipeline.run_audit`), and records one :class:`SampleRecord`: the expected
flags, the produced flags, both readings' outcomes, and whether the item failed. The
summary is computed from the records alone, so a resumed run and a fresh one agree.

Integrity, each checked here and tested:
- scored + failed == input count, and every input sample id has exactly one record;
- a failed grounding or parse is listed with its reason; it is excluded from the figures
  or counted as silence (whatever the degraded report raised) as ``failed_as`` says, and
  the summary says which;
- same inputs and seed → byte-identical JSONL, summary JSON and Markdown (no clocks, no
  unordered containers in the output);
- resumable: sample ids already in the JSONL are skipped, a torn last line is rewritten.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from pydantic import Field

from audit.errors import ConfigMismatchError, EvaluationError, IntegrityError
from audit.labels import Label
from audit.metrics import (
    BOOTSTRAP_REPS,
    AuditMetrics,
    FailedAs,
    Figure,
    GroundingMetrics,
    aggregate_audit,
    aggregate_grounding,
    score_audit_sample,
    score_grounding_sample,
)
from audit.pipeline import draft_problem, run_audit
from audit.protocols import AuditCase, BatchGrounder, BatchParser, DraftParser, Grounder
from audit.schema import (
    AuditMode,
    AuditReport,
    Box,
    ComparePolicy,
    DraftReading,
    ExpectedFlag,
    Frozen,
    ImageFinding,
    ImageReading,
    OutcomeStatus,
    Side,
    Status,
)
from audit.synth import (
    CORRUPTIONS,
    CorruptionKind,
    Mention,
    SyntheticDraft,
    synthesize,
)

log = logging.getLogger(__name__)

SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
MARKDOWN_FILE = "summary.md"
CONFIG_FILE = "config.json"

AuditFn = Callable[[AuditCase, Grounder, DraftParser, ComparePolicy], AuditReport]


class _OncePerCase:
    """Grounds each case once for its several drafts: the image is the same for all of them.

    ``prefetch`` grounds a chunk of cases in one batch when the grounder can; a batch
    that raises falls back to one call per case, so its failure is recorded per item.
    """

    def __init__(self, grounder: Grounder) -> None:
        self.inner = grounder
        self.name = grounder.name
        self._readings: dict[str, ImageReading] = {}

    def prefetch(self, cases: Sequence[AuditCase]) -> None:
        self._readings = {}
        if not isinstance(self.inner, BatchGrounder) or len(cases) < 2:
            return
        try:
            readings = self.inner.ground_batch(cases)
        except Exception:
            log.exception("batch grounding failed; grounding these %d cases one by one", len(cases))
            return
        self._readings = {case.case_id: reading for case, reading in zip(cases, readings, strict=True)}

    def ground(self, case: AuditCase) -> ImageReading:
        if case.case_id not in self._readings:
            self._readings[case.case_id] = self.inner.ground(case)
        return self._readings[case.case_id]


class _Prefetched:
    """Parses a chunk's drafts in one batch when the parser can; falls back to one call each."""

    def __init__(self, parser: DraftParser) -> None:
        self.inner = parser
        self.name = parser.name
        self._readings: dict[str, DraftReading] = {}

    def prefetch(self, texts: Sequence[str]) -> None:
        self._readings = {}
        unique = [text for text in dict.fromkeys(texts) if draft_problem(text) is None]
        if not isinstance(self.inner, BatchParser) or len(unique) < 2:
            return
        try:
            readings = self.inner.parse_batch(unique)
        except Exception:
            log.exception("batch parsing failed; parsing these %d drafts one by one", len(unique))
            return
        self._readings = dict(zip(unique, readings, strict=True))

    def parse(self, text: str) -> DraftReading:
        if text not in self._readings:
            return self.inner.parse(text)
        return self._readings[text]


# --- per-sample records -----------------------------------------------------------------------


class FindingRow(Frozen):
    label: Label
    box: tuple[float, float, float, float] | None = None  # normalized x0, y0, x1, y1, 4 decimals
    score: float | None = None

    @classmethod
    def of(cls, finding: ImageFinding) -> FindingRow:
        box = finding.box.as_list() if finding.box else None
        return cls(
            label=finding.label, box=(box[0], box[1], box[2], box[3]) if box else None, score=finding.score
        )

    def as_box(self) -> Box | None:
        if self.box is None:
            return None
        x0, y0, x1, y1 = self.box
        return Box(x0=x0, y0=y0, x1=x1, y1=y1)


class ReadLabel(Frozen):
    label: Label
    status: Status
    side: Side | None = None
    span: str


class SampleRecord(Frozen):
    """One synthetic draft audited: what was expected, what was raised, and what failed."""

    sample_id: str
    case_id: str
    corruption: CorruptionKind
    applicable: bool
    corrupted_label: Label | None
    draft: str
    expected: tuple[ExpectedFlag, ...]
    produced: tuple[ExpectedFlag, ...]
    mode: AuditMode
    failed: bool
    failure: str | None = None  # "ground: ..." / "parse: ..." / "error: ..."
    ground_outcome: OutcomeStatus | None = None
    ground_repairs: tuple[str, ...] = ()
    parse_outcome: OutcomeStatus | None = None
    reference: tuple[FindingRow, ...] = ()
    predicted: tuple[FindingRow, ...] = ()
    read: tuple[ReadLabel, ...] = ()
    misreads: tuple[str, ...] = ()  # where the parser's reading differs from what the draft says


def sample_id(case_id: str, corruption: CorruptionKind) -> str:
    return f"{case_id}#{corruption}"


def _misreads(mentions: Sequence[Mention], draft: DraftReading | None) -> tuple[str, ...]:
    """What the parser read differently from what each sentence of the draft says."""
    if draft is None or draft.failed:
        return ()
    found: list[str] = []
    written = {m.label for m in mentions}
    for mention in mentions:
        if mention.label == "no_finding":
            continue
        got = draft.get(mention.label)
        got_text = "nothing" if got is None else f"{got.status}" + (f" ({got.side})" if got.side else "")
        want_text = mention.status + (f" ({mention.side})" if mention.side else "")
        if mention.status == "present":
            wrong = (
                got is None
                or got.status != "present"
                or (mention.side is not None and got.side != mention.side)
            )
        else:
            # A denial read as "not mentioned" changes no flag, but it is still a misread.
            wrong = got is None or got.status != mention.status
        if wrong:
            found.append(f"{mention.label}: {mention.sentence!r} says {want_text}, parser read {got_text}")
    found.extend(
        f"{item.label}: read {item.status} from {item.span!r} but the draft does not mention it"
        for item in draft.labels
        if item.label not in written and item.label != "no_finding"
    )
    return tuple(found)


def _record(case: AuditCase, synthetic: SyntheticDraft, report: AuditReport) -> SampleRecord:
    image, draft = report.image, report.draft
    failure = None
    if image is not None and image.failed:
        failure = f"ground: {image.outcome.error}"
    elif draft is not None and draft.failed:
        failure = f"parse: {draft.outcome.error}"
    return SampleRecord(
        sample_id=sample_id(case.case_id, synthetic.corruption),
        case_id=case.case_id,
        corruption=synthetic.corruption,
        applicable=synthetic.applicable,
        corrupted_label=synthetic.corrupted_label,
        draft=synthetic.text,
        expected=synthetic.expected_flags,
        produced=tuple(ExpectedFlag(type=flag.type, label=flag.label) for flag in report.flags),
        mode=report.mode,
        failed=failure is not None,
        failure=failure,
        ground_outcome=image.outcome.status if image else None,
        ground_repairs=image.outcome.repairs if image else (),
        parse_outcome=draft.outcome.status if draft else None,
        reference=tuple(FindingRow.of(f) for f in case.reference),
        predicted=tuple(FindingRow.of(f) for f in image.findings) if image and not image.failed else (),
        read=tuple(ReadLabel(label=i.label, status=i.status, side=i.side, span=i.span) for i in draft.labels)
        if draft and not draft.failed
        else (),
        misreads=_misreads(synthetic.mentions, draft),
    )


def _error_record(case: AuditCase, synthetic: SyntheticDraft, error: Exception) -> SampleRecord:
    return SampleRecord(
        sample_id=sample_id(case.case_id, synthetic.corruption),
        case_id=case.case_id,
        corruption=synthetic.corruption,
        applicable=synthetic.applicable,
        corrupted_label=synthetic.corrupted_label,
        draft=synthetic.text,
        expected=synthetic.expected_flags,
        produced=(),
        mode="none",
        failed=True,
        failure=f"error: {type(error).__name__}: {error}",
        reference=tuple(FindingRow.of(f) for f in case.reference),
    )


class EvalConfig(Frozen):
    """Everything that decides a run's output; a resumed run must use the same."""

    grounder: str
    parser: str
    seed: int = 0
    corruptions: tuple[CorruptionKind, ...] = CORRUPTIONS
    failed_as: FailedAs = "excluded"
    bootstrap_reps: int = Field(default=BOOTSTRAP_REPS, ge=0)
    policy: ComparePolicy = ComparePolicy()
    # Keep only reference findings whose source contains this text (e.g. "NIH" where a case
    # also carries a second reader's boxes); None keeps them all.
    reference_source: str | None = None
    limit: int | None = Field(default=None, ge=0)


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
    once = _OncePerCase(grounder)
    batched_parser = _Prefetched(parser)
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
                yield _error_record(case, synthetic, error)
                continue
            yield _record(case, synthetic, report)


def _chunks(cases: Iterable[AuditCase], size: int) -> Iterator[list[AuditCase]]:
    chunk: list[AuditCase] = []
    for case in cases:
        chunk.append(case)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the summary ------------------------------------------------------------------------------


class FailedItem(Frozen):
    sample_id: str
    reason: str


class CorruptionCount(Frozen):
    corruption: CorruptionKind
    n: int
    applicable: int
    not_applicable: int


class Misread(Frozen):
    text: str
    count: int


class EvalSummary(Frozen):
    """A run's figures; every figure carries its N and its failures."""

    config: EvalConfig
    n_cases: int
    n_input: int
    n_scored: int
    n_failed: int
    failed: tuple[FailedItem, ...]
    corruptions: tuple[CorruptionCount, ...]
    audit: AuditMetrics
    grounding: GroundingMetrics
    n_samples_misread: int
    misreads: tuple[Misread, ...]  # the most frequent, most frequent first

    def coverage(self) -> str:
        text = f"scored {self.n_scored:,} of {self.n_input:,}; {self.n_failed:,} failed"
        if self.n_failed:
            how = "excluded from" if self.config.failed_as == "excluded" else "counted as silence in"
            text += f" (see list), {how} the figures"
        return text


MAX_MISREAD_PATTERNS = 25


def summarize(records: Sequence[SampleRecord], config: EvalConfig) -> EvalSummary:
    """Aggregate per-sample records (in input order) into the run's figures."""
    audit_samples = [
        score_audit_sample(
            r.sample_id,
            ((f.type, f.label) for f in r.expected),
            ((f.type, f.label) for f in r.produced),
            failed=r.failed,
            case_id=r.case_id,
        )
        for r in records
    ]
    first_per_case: dict[str, SampleRecord] = {}
    for record in records:
        first_per_case.setdefault(record.case_id, record)
    grounding_samples = [
        score_grounding_sample(
            r.case_id,
            ((f.label, f.as_box()) for f in r.reference),
            ((f.label, f.as_box()) for f in r.predicted),
            failed=r.ground_outcome in (None, "failed"),
        )
        for r in first_per_case.values()
    ]
    counts = []
    for kind in config.corruptions:
        of_kind = [r for r in records if r.corruption == kind]
        applicable = sum(r.applicable for r in of_kind)
        counts.append(
            CorruptionCount(
                corruption=kind,
                n=len(of_kind),
                applicable=applicable,
                not_applicable=len(of_kind) - applicable,
            )
        )
    patterns = Counter(text for r in records for text in r.misreads)
    n_failed = sum(r.failed for r in records)
    return EvalSummary(
        config=config,
        n_cases=len(first_per_case),
        n_input=len(records),
        n_scored=len(records) - n_failed,
        n_failed=n_failed,
        failed=tuple(FailedItem(sample_id=r.sample_id, reason=r.failure or "") for r in records if r.failed),
        corruptions=tuple(counts),
        audit=aggregate_audit(
            audit_samples, config.failed_as, config.seed, config.bootstrap_reps, config.policy.urgent_labels
        ),
        grounding=aggregate_grounding(
            grounding_samples, config.failed_as, config.seed, config.bootstrap_reps
        ),
        n_samples_misread=sum(1 for r in records if r.misreads),
        misreads=tuple(
            Misread(text=text, count=count)
            for text, count in sorted(patterns.items(), key=lambda item: (-item[1], item[0]))[
                :MAX_MISREAD_PATTERNS
            ]
        ),
    )


def _row(name: str, *figures: Figure) -> str:
    return f"| {name} | " + " | ".join(figure.short() for figure in figures) + " |"


def summary_markdown(summary: EvalSummary, title: str | None = None, level: int = 2) -> str:
    """The summary as Markdown tables, headed at ``level``; each table states its N and its failures."""
    config = summary.config
    h, sub = "#" * level, "#" * (level + 1)
    audit_coverage = summary.audit.per_type["MISSING"].recall.coverage()
    lines = [
        f"{h} {title or f'Evaluation: grounder `{config.grounder}`, parser `{config.parser}`'}",
        "",
        f"Seed {config.seed}; corruptions {', '.join(config.corruptions)}; {summary.n_cases:,} cases, "
        f"{summary.n_input:,} drafts: **{summary.coverage()}**.",
        "Figures are value [bootstrap 95% interval, cases resampled] (numerator/denominator).",
        "",
        "| corruption | drafts | applied | not applicable |",
        "|---|---|---|---|",
        *(
            f"| {c.corruption} | {c.n:,} | {c.applicable:,} | {c.not_applicable:,} |"
            for c in summary.corruptions
        ),
        "",
        f"{sub} Audit flags against the expected flags ({audit_coverage})",
        "",
        "| flag type | precision | recall |",
        "|---|---|---|",
        *(_row(flag_type, m.precision, m.recall) for flag_type, m in summary.audit.per_type.items()),
        "",
        "| urgent label | URGENT recall |",
        "|---|---|",
        *(_row(label, figure) for label, figure in summary.audit.urgent_recall.items()),
    ]
    grounding = summary.grounding
    lines += [
        "",
        f"{sub} Grounder against the reference, one row per case ({grounding.box_hit_rate_50.coverage()})",
        "",
        "| label | precision | recall | F1 |",
        "|---|---|---|---|",
        *(_row(label, p.precision, p.recall, p.f1) for label, p in grounding.presence.items()),
        _row("macro (labels defined)", grounding.macro_precision, grounding.macro_recall, grounding.macro_f1),
        "",
        "| box figure | value |",
        "|---|---|",
        _row("hit rate @ IoU ≥ 0.5 (reference boxes)", grounding.box_hit_rate_50),
        _row("hit rate @ IoU ≥ 0.3 (reference boxes)", grounding.box_hit_rate_30),
        _row("precision @ IoU ≥ 0.5 (predicted boxes)", grounding.box_precision_50),
        _row("mean IoU of matched boxes (sum/pairs)", grounding.mean_iou),
        "",
        f"{sub} Parser reading vs what the draft says",
        "",
        f"{summary.n_samples_misread:,} of {summary.n_input:,} drafts hold a sentence "
        "the parser read otherwise.",
    ]
    if summary.misreads:
        lines += ["", "| count | misread |", "|---|---|"]
        lines += [f"| {m.count:,} | {m.text.replace('|', '/')} |" for m in summary.misreads]
    if summary.failed:
        lines += ["", f"{sub} Failed items ({summary.n_failed:,})", ""]
        lines += [f"- `{item.sample_id}`: {item.reason}" for item in summary.failed]
    return "\n".join(lines) + "\n"


# --- files: per-sample JSONL, summary JSON, Markdown ---------------------------------------------


def read_records(path: Path) -> list[SampleRecord]:
    """Records already written; a torn last line (an interrupted write) is cut off and logged."""
    if not path.exists():
        return []
    records: list[SampleRecord] = []
    good_bytes = 0
    with path.open("rb") as handle:
        for line in handle:
            try:
                records.append(SampleRecord.model_validate_json(line))
            except ValueError as error:
                if not line.endswith(b"\n"):
                    log.warning("cutting a torn last line from %s (an interrupted write)", path)
                    break
                raise EvaluationError(
                    f"{path} has an unreadable record at byte {good_bytes}: {error}"
                ) from error
            good_bytes += len(line)
    with path.open("rb+") as handle:
        handle.truncate(good_bytes)
    return records


def _check_config(out_dir: Path, config: EvalConfig) -> None:
    path = out_dir / CONFIG_FILE
    wanted = config.model_copy(update={"limit": None}).model_dump_json(indent=2) + "\n"
    if path.exists():
        if path.read_text(encoding="utf-8") != wanted:
            raise ConfigMismatchError(
                f"{out_dir} holds a run made with other settings ({path}); "
                "use another --out folder or the same settings"
            )
    else:
        path.write_text(wanted, encoding="utf-8")


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

    existing: list[SampleRecord] = []
    samples_path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _check_config(out_dir, config)
        samples_path = out_dir / SAMPLES_FILE
        existing = read_records(samples_path)
    position = {sid: index for index, sid in enumerate(wanted)}
    strangers = [r.sample_id for r in existing if r.sample_id not in position]
    if strangers:
        raise ConfigMismatchError(
            f"{samples_path} holds {len(strangers):,} samples not in this run's input "
            f"(first: {strangers[0]}); use another --out folder"
        )
    done = frozenset(r.sample_id for r in existing)
    fresh: list[SampleRecord] = []
    handle = samples_path.open("a", encoding="utf-8") if samples_path is not None else None
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
    _check_integrity(records, wanted)
    summary = summarize(records, config)
    if out_dir is not None:
        (out_dir / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
        (out_dir / MARKDOWN_FILE).write_text(summary_markdown(summary), encoding="utf-8")
    return EvalResult(summary=summary, records=tuple(records), n_resumed=len(existing))


def _check_integrity(records: Sequence[SampleRecord], wanted: Sequence[str]) -> None:
    ids = [r.sample_id for r in records]
    if len(ids) != len(set(ids)):
        duplicates = sorted(sid for sid, n in Counter(ids).items() if n > 1)
        raise IntegrityError(
            f"{len(duplicates):,} samples have more than one record (first: {duplicates[0]})"
        )
    present = set(ids)
    missing = [sid for sid in wanted if sid not in present]
    if missing:
        raise IntegrityError(f"{len(missing):,} input samples have no record (first: {missing[0]})")
    scored = sum(not r.failed for r in records)
    failed = sum(r.failed for r in records)
    if scored + failed != len(wanted):
        raise IntegrityError(f"scored {scored:,} + failed {failed:,} != {len(wanted):,} input samples")


def load_summary(path: Path) -> EvalSummary:
    return EvalSummary.model_validate(json.loads(path.read_text(encoding="utf-8")))

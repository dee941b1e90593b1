"""Per-sample records and the run's configuration: what one audited synthetic draft left behind.

A :class:`SampleRecord` holds the expected flags, the produced flags, both readings'
outcomes and whether the item failed; the summary is computed from these alone, so a
resumed run and a fresh one agree. :class:`EvalConfig` is everything that decides a
run's output.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from audit.labels import Label
from audit.metrics import BOOTSTRAP_REPS, FailedAs
from audit.protocols import AuditCase
from audit.schema import (
    AuditMode,
    AuditReport,
    Box,
    ComparePolicy,
    DraftReading,
    ExpectedFlag,
    Frozen,
    ImageFinding,
    OutcomeStatus,
    Side,
    Status,
)
from audit.synth import CORRUPTIONS, CorruptionKind, Mention, SyntheticDraft


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


def record_of(case: AuditCase, synthetic: SyntheticDraft, report: AuditReport) -> SampleRecord:
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


def error_record(case: AuditCase, synthetic: SyntheticDraft, error: Exception) -> SampleRecord:
    """The record of an audit that raised: no readings, failed, the exception named."""
    unread = record_of(case, synthetic, AuditReport(mode="none"))
    return unread.model_copy(update={"failed": True, "failure": f"error: {type(error).__name__}: {error}"})


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

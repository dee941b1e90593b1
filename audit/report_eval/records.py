"""What goes into a generator evaluation and what one case leaves behind.

A :class:`GeneratedReport` is one generator's report for one case, as the store (or an
imported file) holds it: the draft text, or the reason there is none. A
:class:`ReportSample` is that report judged: the reference labels, the labels the rules
parser read as asserted, the flags the comparator raised, and whether it failed. The
figures are computed from the samples alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, model_validator

from audit.labels import FINDING_LABELS, Label
from audit.metrics import FailedAs
from audit.schema import AuditReport, FlagType, Frozen, OutcomeStatus

# The discrepancy flags whose per-case rates are reported (URGENT stands apart: it is raised
# whatever the report says, so its figure is the urgent findings the report omitted or denied).
RATED_FLAGS: tuple[FlagType, ...] = ("MISSING", "UNSUPPORTED", "LATERALITY")
NOT_GENERATED = "no report from this generator for this case"


class GeneratedReport(Frozen):
    """One generator's latest report for one case; ``text`` is empty when the generation failed."""

    case_id: str
    generator: str = Field(min_length=1)
    outcome: OutcomeStatus
    text: str = ""
    error: str | None = None
    draft_id: int | None = None

    @model_validator(mode="after")
    def _failed_has_a_reason(self) -> GeneratedReport:
        if self.outcome == "failed" and not self.error:
            raise ValueError("a failed generation says why")
        if self.outcome != "failed" and not self.text.strip():
            raise ValueError("a generation that did not fail has text")
        return self

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


class FlagCount(Frozen):
    type: FlagType
    label: Label


class ReportSample(Frozen):
    """One generator's report on one case, judged by the comparator against the reference."""

    case_id: str
    generator: str
    failed: bool
    failure: str | None = None
    draft_id: int | None = None
    reference: tuple[Label, ...]  # finding labels the reference boxes show
    asserted: tuple[Label, ...]  # finding labels the report asserts, as the parser read it
    flags: tuple[FlagCount, ...]  # one per (type, label), as the comparator raised them
    outcome: OutcomeStatus | None = None  # the generation's outcome (None: no report at all)

    def has(self, flag_type: FlagType) -> bool:
        return any(flag.type == flag_type for flag in self.flags)

    def count(self, flag_type: FlagType) -> int:
        return sum(1 for flag in self.flags if flag.type == flag_type)

    @property
    def urgent_omitted(self) -> tuple[Label, ...]:
        """Urgent findings the report left out or denied: URGENT and MISSING for one label."""
        urgent = {flag.label for flag in self.flags if flag.type == "URGENT"}
        missing = {flag.label for flag in self.flags if flag.type == "MISSING"}
        return tuple(label for label in FINDING_LABELS if label in urgent and label in missing)


def sample_from(
    report: GeneratedReport | None,
    case_id: str,
    generator: str,
    reference: Sequence[Label],
    audit: AuditReport | None,
    uncertain_is_mention: bool,
) -> ReportSample:
    """The sample for one case: ``audit`` is the comparator's report on the text (or on silence,
    for a failed generation scored as silence), None when the failure is left out."""
    failed = report is None or report.failed
    failure = NOT_GENERATED if report is None else report.error if report.failed else None
    asserted: tuple[Label, ...] = ()
    flags: tuple[FlagCount, ...] = ()
    if audit is not None:
        read = audit.draft.labels if audit.draft is not None else ()
        statuses = {"present", "uncertain"} if uncertain_is_mention else {"present"}
        asserted = tuple(
            label for label in FINDING_LABELS if any(d.label == label and d.status in statuses for d in read)
        )
        flags = tuple(FlagCount(type=flag.type, label=flag.label) for flag in audit.flags)
    return ReportSample(
        case_id=case_id,
        generator=generator,
        failed=failed,
        failure=failure,
        draft_id=report.draft_id if report is not None else None,
        reference=tuple(label for label in FINDING_LABELS if label in reference),
        asserted=asserted,
        flags=flags,
        outcome=report.outcome if report is not None else None,
    )


def included(samples: Sequence[ReportSample], failed_as: FailedAs) -> list[ReportSample]:
    """The samples that enter the figures: every one (failures scored as silence), or the scored."""
    return list(samples) if failed_as == "silence" else [s for s in samples if not s.failed]

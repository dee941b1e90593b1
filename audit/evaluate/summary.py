"""A run's figures, aggregated from its per-sample records (in input order).

Every figure carries its N and its failures; the most frequent parser misreads are listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from audit.evaluate.records import EvalConfig, SampleRecord
from audit.metrics import (
    AuditMetrics,
    GroundingMetrics,
    aggregate_audit,
    aggregate_grounding,
    score_audit_sample,
    score_grounding_sample,
)
from audit.schema import Frozen
from audit.synth import CorruptionKind


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

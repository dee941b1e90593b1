"""``report_eval.json`` as data: each generator's scores, and the paired differences between them.

The keys the command-line contract names hold plain numbers (``generators.<name>.macro_f1``,
``pathology.<label>.precision``, ``flag_rates.MISSING``, ...), ``null`` where a figure is
undefined; each figure's interval, counts and N sit beside it. Nothing here reads a
clock, so the same inputs and seed give the same document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import Field

from audit.labels import FINDING_LABELS, Label
from audit.metrics import FailedAs
from audit.report_eval.figures import PATHOLOGY_FIGURES, URGENT_RATE, Columns, Estimate, estimates
from audit.report_eval.records import RATED_FLAGS, ReportSample, included
from audit.schema import FlagType, Frozen

DISCLAIMER = (
    "Research and education only: these figures describe report generators against expert boxes, "
    "not patients."
)
DIRECTIONAL_N = 20  # a figure resting on fewer items is directional only

Interval = tuple[float | None, float | None]


def number(value: float) -> float | None:
    """A figure as JSON holds it: NaN (undefined) becomes null."""
    return None if math.isnan(value) else round(value, 6)


def _interval(estimate: Estimate) -> Interval:
    return (number(estimate.ci_low), number(estimate.ci_high))


class LabelScores(Frozen):
    """One label's row of the pathology table."""

    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    n_positive: int = Field(description="cases whose reference boxes show the label")
    n_predicted: int = Field(description="reports asserting the label")
    n_cases: int = Field(description="cases the row is computed over")
    tp: int
    fp: int
    fn: int
    tn: int
    ci: dict[str, Interval] = Field(description="bootstrap 95% interval of each figure")
    directional: bool = Field(description=f"fewer than {DIRECTIONAL_N} positives")


class MacroScore(Frozen):
    value: float | None
    ci: Interval
    labels: int = Field(description="labels where the figure is defined (the mean is over these)")


class FlagRate(Frozen):
    """Cases with a flag of one type; for URGENT, cases whose urgent finding the report omitted or denied."""

    rate: float | None
    cases: int = Field(description="cases flagged (URGENT: urgent finding omitted or denied)")
    of: int = Field(description="cases counted (URGENT: cases showing an urgent finding)")
    flags: int = Field(description="flags raised over those cases")
    ci: Interval


class Failure(Frozen):
    case_id: str
    reason: str


class TypeFeedback(Frozen):
    accepted: int
    decisions: int
    rate: float | None


class Feedback(Frozen):
    """Reviewers' current decisions (the latest per flag and reviewer) on this generator's flags."""

    accepted_flag_rate: float | None = Field(description="accepted ÷ decisions")
    accepted: int
    dismissed: int
    decisions: int
    flags: int = Field(description="flags on this generator's drafts in the stored audits")
    flags_decided: int
    by_type: dict[FlagType, TypeFeedback]


class GeneratorScores(Frozen):
    cases: int = Field(description="cases evaluated: scored + failed")
    scored: int
    failed: int = Field(description="failed generations, and cases the generator has no report for")
    not_generated: int
    recovered: int
    failed_as: FailedAs
    failures: tuple[Failure, ...]
    pathology: dict[Label, LabelScores]
    macro_f1: float | None
    macro: dict[str, MacroScore]
    flag_rates: dict[str, float | None]
    flag_counts: dict[str, FlagRate]
    reviewer_feedback: Feedback | None = None


class Difference(Frozen):
    """``later − earlier`` for one figure on the cases both generators have, with a paired interval."""

    figure: str
    earlier: str
    later: str
    cases: int
    difference: float | None
    ci: Interval


class ReportEvaluation(Frozen):
    disclaimer: str = DISCLAIMER
    cases: int
    grounder: str
    parser: str
    reference_source: str | None
    failed_as: FailedAs
    uncertain_is_mention: bool
    urgent_labels: tuple[Label, ...]
    bootstrap_reps: int
    seed: int
    directional_below: int = DIRECTIONAL_N
    generators: dict[str, GeneratorScores]
    differences: tuple[Difference, ...]


def _label_scores(label: Label, columns: Columns, figures: Mapping[str, Estimate]) -> LabelScores:
    ref, pred = columns.reference[label], columns.asserted[label]
    tp, fp, fn = int((ref * pred).sum()), int(((1 - ref) * pred).sum()), int((ref * (1 - pred)).sum())
    values = {name: figures[f"pathology.{label}.{name}"] for name in PATHOLOGY_FIGURES}
    return LabelScores(
        **{name: number(estimate.value) for name, estimate in values.items()},
        n_positive=tp + fn,
        n_predicted=tp + fp,
        n_cases=columns.n,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=columns.n - tp - fp - fn,
        ci={name: _interval(estimate) for name, estimate in values.items()},
        directional=tp + fn < DIRECTIONAL_N,
    )


def _macro(
    figure: str, pathology: Mapping[Label, LabelScores], figures: Mapping[str, Estimate]
) -> MacroScore:
    estimate = figures[f"macro_{figure}"]
    defined = sum(1 for scores in pathology.values() if getattr(scores, figure) is not None)
    return MacroScore(value=number(estimate.value), ci=_interval(estimate), labels=defined)


def _flag_counts(
    samples: Sequence[ReportSample], columns: Columns, figures: Mapping[str, Estimate]
) -> dict[str, FlagRate]:
    out: dict[str, FlagRate] = {}
    for flag_type in RATED_FLAGS:
        estimate = figures[f"flag_rates.{flag_type}"]
        out[flag_type] = FlagRate(
            rate=number(estimate.value),
            cases=int(columns.flagged[flag_type].sum()),
            of=columns.n,
            flags=sum(s.count(flag_type) for s in samples),
            ci=_interval(estimate),
        )
    estimate = figures[f"flag_rates.{URGENT_RATE}"]
    out[URGENT_RATE] = FlagRate(
        rate=number(estimate.value),
        cases=int(columns.urgent_omitted.sum()),
        of=int(columns.urgent.sum()),
        flags=sum(len(s.urgent_omitted) for s in samples),
        ci=_interval(estimate),
    )
    return out


def generator_scores(
    samples: Sequence[ReportSample],
    failed_as: FailedAs,
    reps: int,
    seed: int,
    feedback: Feedback | None = None,
) -> GeneratorScores:
    """One generator's scores from its samples (one per evaluated case, in case order)."""
    kept = included(samples, failed_as)
    columns = Columns.of(kept)
    figures = estimates(columns, reps, seed)
    pathology = {label: _label_scores(label, columns, figures) for label in FINDING_LABELS}
    flag_counts = _flag_counts(kept, columns, figures)
    n_failed = sum(s.failed for s in samples)
    macro = {figure: _macro(figure, pathology, figures) for figure in PATHOLOGY_FIGURES}
    return GeneratorScores(
        cases=len(samples),
        scored=len(samples) - n_failed,
        failed=n_failed,
        not_generated=sum(s.outcome is None for s in samples),
        recovered=sum(s.outcome == "recovered" for s in samples),
        failed_as=failed_as,
        failures=tuple(Failure(case_id=s.case_id, reason=s.failure or "failed") for s in samples if s.failed),
        pathology=pathology,
        macro_f1=macro["f1"].value,
        macro=macro,
        flag_rates={name: rate.rate for name, rate in flag_counts.items()},
        flag_counts=flag_counts,
        reviewer_feedback=feedback,
    )

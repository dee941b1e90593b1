"""Judge every generator's report on every case with the real comparator, then compare generators.

Each case is grounded once (the ``reference`` grounder reads its expert boxes) and each
generator's report is parsed (the rules parser by default) and compared with the image
reading by :func:`audit.pipeline.assemble`: the comparator is the only judge. A case a
generator has no report for, or whose generation failed, is a failure of that generator:
it is counted, listed, and scored as silence (a report that says nothing: every reference
finding MISSING) by default, or left out of the figures (``failed_as="excluded"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from audit.errors import EvaluationError
from audit.metrics import BOOTSTRAP_REPS, FailedAs
from audit.pipeline import assemble, ground, parse
from audit.protocols import AuditCase, DraftParser, Grounder
from audit.report_eval.document import (
    Difference,
    Feedback,
    ReportEvaluation,
    generator_scores,
    number,
)
from audit.report_eval.figures import Columns, paired_estimates
from audit.report_eval.records import GeneratedReport, ReportSample, sample_from
from audit.schema import AuditReport, ComparePolicy, DraftReading, ImageReading

Reports = Mapping[str, Mapping[str, GeneratedReport]]  # generator -> case id -> report


def _silence(parser: DraftParser) -> DraftReading:
    return DraftReading(backend=parser.name, text="")


def _judge(
    report: GeneratedReport | None,
    image: ImageReading,
    parser: DraftParser,
    policy: ComparePolicy,
    failed_as: FailedAs,
) -> AuditReport | None:
    if report is not None and not report.failed:
        timings: dict[str, float] = {}
        return assemble(image, parse(report.text, parser, timings), policy, timings)
    if failed_as == "silence":
        return assemble(image, _silence(parser), policy, {})
    return None


def score_generators(
    cases: Sequence[AuditCase],
    reports: Reports,
    grounder: Grounder,
    parser: DraftParser,
    policy: ComparePolicy,
    failed_as: FailedAs = "silence",
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[ReportSample]]:
    """One sample per case and generator, in case order."""
    samples: dict[str, list[ReportSample]] = {name: [] for name in reports}
    for case in cases:
        image = ground(case, grounder, {})
        if image.failed:
            raise EvaluationError(
                f"the {grounder.name} grounder could not read case {case.case_id}: {image.outcome.error}; "
                "without its reference no generator can be scored on it"
            )
        reference = [f.label for f in image.findings]
        for name, by_case in reports.items():
            report = by_case.get(case.case_id)
            audit = _judge(report, image, parser, policy, failed_as)
            samples[name].append(
                sample_from(report, case.case_id, name, reference, audit, policy.uncertain_is_mention)
            )
        if progress is not None:
            progress(1)
    return samples


def paired_differences(
    samples: Mapping[str, Sequence[ReportSample]], failed_as: FailedAs, reps: int, seed: int
) -> list[Difference]:
    """Each later generator minus each earlier one, per figure, on the cases both have a report for
    (both scored, when failures are excluded), with paired bootstrap 95% intervals."""
    names = list(samples)
    out: list[Difference] = []
    for i, earlier in enumerate(names):
        for later in names[i + 1 :]:
            pairs = [
                (a, b)
                for a, b in zip(samples[earlier], samples[later], strict=True)
                if a.outcome is not None
                and b.outcome is not None
                and (failed_as == "silence" or not (a.failed or b.failed))
            ]
            a_columns = Columns.of([a for a, _ in pairs])
            b_columns = Columns.of([b for _, b in pairs])
            for figure, estimate in paired_estimates(a_columns, b_columns, reps, seed).items():
                out.append(
                    Difference(
                        figure=figure,
                        earlier=earlier,
                        later=later,
                        cases=len(pairs),
                        difference=number(estimate.value),
                        ci=(number(estimate.ci_low), number(estimate.ci_high)),
                    )
                )
    return out


def evaluate_reports(
    cases: Sequence[AuditCase],
    reports: Reports,
    grounder: Grounder,
    parser: DraftParser,
    *,
    policy: ComparePolicy | None = None,
    failed_as: FailedAs = "silence",
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    reference_source: str | None = None,
    feedback: Mapping[str, Feedback] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReportEvaluation:
    """Score every generator in ``reports`` on ``cases`` (whose ``reference`` holds the expert boxes)."""
    policy = policy or ComparePolicy()
    samples = score_generators(cases, reports, grounder, parser, policy, failed_as, progress)
    feedback = feedback or {}
    return ReportEvaluation(
        cases=len(cases),
        grounder=grounder.name,
        parser=parser.name,
        reference_source=reference_source,
        failed_as=failed_as,
        uncertain_is_mention=policy.uncertain_is_mention,
        urgent_labels=policy.urgent_labels,
        bootstrap_reps=reps,
        seed=seed,
        generators={
            name: generator_scores(rows, failed_as, reps, seed, feedback.get(name))
            for name, rows in samples.items()
        },
        differences=tuple(paired_differences(samples, failed_as, reps, seed)),
    )

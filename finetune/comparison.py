"""``compare-grounders``: score grounding runs against the reference boxes, side by side.

Every run is scored on the same cases with :mod:`audit.metrics` (per-case scores, then
the figures): presence precision, recall and F1 per label and macro, box hit rate and box
precision at IoU 0.3 and 0.5, mean IoU of matched boxes, and urgent recall per urgent
label (the presence recall of each urgent label: the URGENT flag follows presence). A
case a run did not ground, or whose generation failed, is a failure of that run: it is
counted, listed, and scored as silence by default (``failed_as="silence"``: a model that
fails on the hard cases must not look better for it) or left out (``"excluded"``).

Differences between runs (each later run minus each earlier one) come with paired
bootstrap 95% intervals: the same resampled cases for both runs in each replicate, every
figure recomputed by :func:`audit.metrics.aggregate_grounding`. Any figure resting on
fewer than ``DIRECTIONAL_N`` items (reference positives for recall and F1, predicted
positives for precision, boxes for the box figures) is marked ``directional``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from audit.labels import FINDING_LABELS, Label
from audit.metrics import (
    BOOTSTRAP_REPS,
    FailedAs,
    Figure,
    GroundingMetrics,
    GroundingSampleScore,
    aggregate_grounding,
    score_grounding_sample,
)
from audit.protocols import AuditCase
from finetune.grounding import read_grounded

DIRECTIONAL_N = 20
THRESHOLDS = ("0.3", "0.5")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Value(_Model):
    """One figure: its value, 95% interval, the fraction it came from, its N, and whether N < 20."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    numerator: float
    denominator: float
    n: int = Field(description="the items the figure rests on")
    directional: bool


class RunFailure(_Model):
    case_id: str
    reason: str


class RunScores(_Model):
    dir: str
    scored: int
    failed: int
    parse_failures: int = Field(description="cases whose generation could not be read")
    not_grounded: int = Field(description="cases the run has no file for")
    recovered: int
    failed_as: FailedAs
    failures: list[RunFailure]
    presence_f1: dict[str, Value]
    presence_precision: dict[str, Value]
    presence_recall: dict[str, Value]
    presence_macro_f1: Value
    box_hit_rate: dict[str, Value]
    box_precision: dict[str, Value]
    mean_iou: Value
    urgent_recall: dict[str, Value]


class Difference(_Model):
    """``later − earlier`` for one figure, with its paired bootstrap 95% interval."""

    figure: str
    earlier: str
    later: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    directional: bool


class Comparison(_Model):
    cases: int
    reference_source: str | None
    bootstrap_reps: int
    seed: int
    directional_below: int = DIRECTIONAL_N
    runs: dict[str, RunScores]
    differences: list[Difference]


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def _value(figure: Figure, n: int) -> Value:
    return Value(
        value=_num(figure.value),
        ci_low=_num(figure.ci_low),
        ci_high=_num(figure.ci_high),
        numerator=figure.numerator,
        denominator=figure.denominator,
        n=n,
        directional=n < DIRECTIONAL_N,
    )


def figure_table(metrics: GroundingMetrics, urgent: Sequence[Label]) -> dict[str, tuple[Figure, int]]:
    """Every compared figure by a flat name, with its N."""
    table: dict[str, tuple[Figure, int]] = {}
    for label, presence in metrics.presence.items():
        support = int(presence.recall.denominator)
        table[f"presence_f1.{label}"] = (presence.f1, support)
        table[f"presence_precision.{label}"] = (presence.precision, int(presence.precision.denominator))
        table[f"presence_recall.{label}"] = (presence.recall, support)
    supports = [int(p.recall.denominator) for p in metrics.presence.values() if p.recall.denominator]
    table["presence_macro_f1"] = (metrics.macro_f1, min(supports, default=0))
    for key, figure in (
        ("box_hit_rate.0.3", metrics.box_hit_rate_30),
        ("box_hit_rate.0.5", metrics.box_hit_rate_50),
        ("box_precision.0.3", metrics.box_precision_30),
        ("box_precision.0.5", metrics.box_precision_50),
        ("mean_iou", metrics.mean_iou),
    ):
        table[key] = (figure, int(figure.denominator))
    for label in urgent:
        recall = metrics.presence[label].recall
        table[f"urgent_recall.{label}"] = (recall, int(recall.denominator))
    return table


def score_run(
    cases: Sequence[AuditCase], run_dir: Path
) -> tuple[list[GroundingSampleScore], list[RunFailure], dict[str, int]]:
    """Per-case scores of one run, its failures, and how its outcomes split."""
    samples: list[GroundingSampleScore] = []
    failures: list[RunFailure] = []
    counts = {"parse_failures": 0, "not_grounded": 0, "recovered": 0}
    for case in cases:
        grounded = read_grounded(run_dir, case.case_id)
        if grounded is None:
            counts["not_grounded"] += 1
            failures.append(RunFailure(case_id=case.case_id, reason="not grounded in this run"))
            predicted, failed = [], True
        else:
            reading = grounded.reading
            failed = reading.failed
            if failed:
                counts["parse_failures"] += 1
                failures.append(RunFailure(case_id=case.case_id, reason=reading.outcome.error or "failed"))
            counts["recovered"] += reading.outcome.status == "recovered"
            predicted = [(f.label, f.box) for f in reading.findings]
        reference = [(f.label, f.box) for f in case.reference]
        samples.append(score_grounding_sample(case.case_id, reference, predicted, failed))
    return samples, failures, counts


def _run_scores(
    run_dir: Path,
    samples: list[GroundingSampleScore],
    failures: list[RunFailure],
    counts: Mapping[str, int],
    metrics: GroundingMetrics,
    urgent: Sequence[Label],
    failed_as: FailedAs,
) -> RunScores:
    table = {name: _value(figure, n) for name, (figure, n) in figure_table(metrics, urgent).items()}

    def group(prefix: str) -> dict[str, Value]:
        return {
            name.split(".", 1)[1]: value for name, value in table.items() if name.startswith(prefix + ".")
        }

    n_failed = sum(s.failed for s in samples)
    return RunScores(
        dir=str(run_dir),
        scored=len(samples) - n_failed,
        failed=n_failed,
        parse_failures=counts["parse_failures"],
        not_grounded=counts["not_grounded"],
        recovered=counts["recovered"],
        failed_as=failed_as,
        failures=failures,
        presence_f1=group("presence_f1"),
        presence_precision=group("presence_precision"),
        presence_recall=group("presence_recall"),
        presence_macro_f1=table["presence_macro_f1"],
        box_hit_rate=group("box_hit_rate"),
        box_precision=group("box_precision"),
        mean_iou=table["mean_iou"],
        urgent_recall=group("urgent_recall"),
    )


def paired_differences(
    scored: Mapping[str, list[GroundingSampleScore]],
    urgent: Sequence[Label],
    failed_as: FailedAs,
    reps: int,
    seed: int,
) -> list[Difference]:
    """Each later run minus each earlier one, per figure, with paired bootstrap 95% intervals."""
    names = list(scored)
    point = {
        name: figure_table(aggregate_grounding(samples, failed_as, seed, reps=0), urgent)
        for name, samples in scored.items()
    }
    n_cases = len(next(iter(scored.values()), []))
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, n_cases, n_cases) for _ in range(reps)] if n_cases else []
    replicate_values: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for index in draws:
        for name in names:
            samples = [scored[name][i] for i in index]
            table = figure_table(aggregate_grounding(samples, failed_as, seed, reps=0), urgent)
            replicate_values[name].append({key: figure.value for key, (figure, _) in table.items()})
    out: list[Difference] = []
    for i, earlier in enumerate(names):
        for later in names[i + 1 :]:
            for key in point[earlier]:
                value = point[later][key][0].value - point[earlier][key][0].value
                deltas = np.array(
                    [
                        b[key] - a[key]
                        for a, b in zip(replicate_values[earlier], replicate_values[later], strict=True)
                    ]
                )
                deltas = deltas[~np.isnan(deltas)]
                low, high = np.percentile(deltas, [2.5, 97.5]) if deltas.size else (math.nan, math.nan)
                n = min(point[earlier][key][1], point[later][key][1])
                out.append(
                    Difference(
                        figure=key,
                        earlier=earlier,
                        later=later,
                        difference=_num(value),
                        ci_low=_num(float(low)),
                        ci_high=_num(float(high)),
                        n=n,
                        directional=n < DIRECTIONAL_N,
                    )
                )
    return out


def compare(
    cases: Sequence[AuditCase],
    runs: Mapping[str, Path],
    *,
    urgent: Sequence[Label],
    failed_as: FailedAs = "silence",
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    reference_source: str | None = None,
) -> Comparison:
    """Score every run on ``cases`` (whose ``reference`` holds the expert boxes) and compare them."""
    unknown = [label for label in urgent if label not in FINDING_LABELS]
    if unknown:
        raise ValueError(f"not finding labels: {', '.join(unknown)}")
    scored: dict[str, list[GroundingSampleScore]] = {}
    run_scores: dict[str, RunScores] = {}
    for name, run_dir in runs.items():
        samples, failures, counts = score_run(cases, run_dir)
        metrics = aggregate_grounding(samples, failed_as, seed, reps)
        scored[name] = samples
        run_scores[name] = _run_scores(run_dir, samples, failures, counts, metrics, urgent, failed_as)
    return Comparison(
        cases=len(cases),
        reference_source=reference_source,
        bootstrap_reps=reps,
        seed=seed,
        runs=run_scores,
        differences=paired_differences(scored, urgent, failed_as, reps, seed),
    )

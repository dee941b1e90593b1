"""Metrics: per-sample scores, then figures that carry their counts and their failures."""

from __future__ import annotations

import math

import pytest

from audit.metrics import (
    AuditSampleScore,
    Figure,
    aggregate_audit,
    aggregate_grounding,
    f1,
    ratio,
    score_audit_sample,
    score_grounding_sample,
)
from audit.schema import Box
from tests.audit.eval_fakes import LEFT_LOWER, RIGHT_LOWER, RIGHT_UPPER

SHIFTED_RIGHT_LOWER = Box(x0=0.15, y0=0.60, x1=0.45, y1=0.90)  # IoU with RIGHT_LOWER = 0.25 / 0.35
FAR_SHIFTED = Box(x0=0.25, y0=0.60, x1=0.55, y1=0.90)  # IoU with RIGHT_LOWER = 0.15 / 0.45


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(3, 5, 3 / 5), (0, 5, 0.0), (0, 0, math.nan), (2.5, 0, math.nan)],
    ids=["plain", "zero-numerator", "empty", "empty-with-numerator"],
)
def test_ratio_is_nan_for_an_empty_denominator(numerator: float, denominator: float, expected: float) -> None:
    assert ratio(numerator, denominator) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("precision", "recall", "expected"),
    [
        (1.0, 1.0, 1.0),
        (0.5, 1.0, 2 / 3),
        (0.0, 0.0, 0.0),
        (math.nan, 1.0, math.nan),
        (0.0, math.nan, math.nan),
    ],
    ids=["perfect", "half-precision", "both-zero", "precision-undefined", "recall-undefined"],
)
def test_f1_is_nan_safe_and_zero_when_precision_and_recall_are_zero(
    precision: float, recall: float, expected: float
) -> None:
    assert f1(precision, recall) == pytest.approx(expected, nan_ok=True)


# Five drafts: two MISSING expected and one raised, one MISSING raised wrongly,
# URGENT pneumothorax expected twice and raised once.
AUDIT_SAMPLES = [
    score_audit_sample("a", [("MISSING", "pleural_effusion")], [("MISSING", "pleural_effusion")]),
    score_audit_sample(
        "b", [("MISSING", "nodule_mass"), ("URGENT", "nodule_mass")], [("URGENT", "nodule_mass")]
    ),
    score_audit_sample("c", [], [("MISSING", "cardiomegaly")]),
    score_audit_sample("d", [("URGENT", "pneumothorax")], [("URGENT", "pneumothorax")]),
    score_audit_sample("e", [("URGENT", "pneumothorax")], []),
]


def test_audit_precision_and_recall_per_flag_type() -> None:
    metrics = aggregate_audit(AUDIT_SAMPLES, reps=0)
    missing = metrics.per_type["MISSING"]
    assert missing.precision.value == 1 / 2  # 1 of 2 raised MISSING flags was expected
    assert missing.recall.value == 1 / 2  # 1 of 2 expected MISSING flags was raised
    assert metrics.per_type["URGENT"].recall.value == 2 / 3  # 2 of 3 expected URGENT flags raised
    assert metrics.per_type["URGENT"].precision.value == 2 / 2  # both raised URGENT flags expected


def test_a_flag_type_never_expected_nor_raised_is_undefined_not_zero() -> None:
    laterality = aggregate_audit(AUDIT_SAMPLES, reps=0).per_type["LATERALITY"]
    assert math.isnan(laterality.precision.value) and laterality.precision.denominator == 0
    assert laterality.recall.short() == "n/a (0/0)"


def test_urgent_recall_is_reported_per_urgent_label() -> None:
    urgent = aggregate_audit(AUDIT_SAMPLES, reps=0).urgent_recall
    assert urgent["pneumothorax"].value == 1 / 2  # 1 of 2 pneumothoraces flagged URGENT
    assert urgent["nodule_mass"].value == 1 / 1  # the one nodule flagged URGENT


def test_failed_items_are_excluded_by_default_and_counted_beside_every_figure() -> None:
    samples = [*AUDIT_SAMPLES, score_audit_sample("f", [("MISSING", "pneumothorax")], [], failed=True)]
    recall = aggregate_audit(samples, reps=0).per_type["MISSING"].recall
    assert recall.value == 1 / 2  # the failed draft's expected MISSING is not counted
    assert (recall.n_input, recall.n_scored, recall.n_failed) == (6, 5, 1)
    assert recall.coverage() == "scored 5 of 6; 1 failed (see list), excluded"


def test_failed_items_counted_as_silence_lower_recall_and_say_so() -> None:
    samples = [*AUDIT_SAMPLES, score_audit_sample("f", [("MISSING", "pneumothorax")], [], failed=True)]
    recall = aggregate_audit(samples, failed_as="silence", reps=0).per_type["MISSING"].recall
    assert recall.value == 1 / 3  # the failed draft's MISSING now counts as not raised
    assert recall.coverage() == "scored 5 of 6; 1 failed (see list), counted as silence"


def test_coverage_uses_thousands_separators() -> None:
    figure = Figure(name="x", value=0.5, numerator=1, denominator=2, n_input=1080, n_scored=1058, n_failed=22)
    assert figure.coverage() == "scored 1,058 of 1,080; 22 failed (see list), excluded"


def copies(n: int, case_id: str | None = None) -> list[AuditSampleScore]:
    """``n`` copies of the five samples, each its own case unless ``case_id`` is given."""
    return [
        s.model_copy(update={"sample_id": f"{s.sample_id}{i}", "case_id": case_id or f"{s.sample_id}{i}"})
        for i in range(n)
        for s in AUDIT_SAMPLES
    ]


def test_bootstrap_intervals_are_seeded_and_bracket_the_value() -> None:
    samples = copies(20)
    first = aggregate_audit(samples, seed=7, reps=500).per_type["URGENT"].recall
    again = aggregate_audit(samples, seed=7, reps=500).per_type["URGENT"].recall
    other = aggregate_audit(samples, seed=8, reps=500).per_type["URGENT"].recall
    assert first == again
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low < first.value == 2 / 3 < first.ci_high  # 40 of 60 expected URGENT flags raised


def test_the_bootstrap_draws_a_cases_drafts_together() -> None:
    one_case = aggregate_audit(copies(20, case_id="same"), reps=200).per_type["URGENT"].recall
    many = aggregate_audit(copies(20), reps=200).per_type["URGENT"].recall
    assert one_case.ci_low == one_case.ci_high == one_case.value  # one case: every replicate is the same
    assert many.ci_high - many.ci_low > 0.1


def test_without_bootstrap_replicates_the_interval_is_undefined() -> None:
    recall = aggregate_audit(AUDIT_SAMPLES, reps=0).per_type["URGENT"].recall
    assert math.isnan(recall.ci_low) and math.isnan(recall.ci_high)


def test_an_empty_evaluation_gives_undefined_figures_not_errors() -> None:
    metrics = aggregate_audit([], reps=100)
    assert math.isnan(metrics.per_type["MISSING"].recall.value)
    assert metrics.per_type["MISSING"].recall.n_input == 0


def test_a_figure_with_nan_round_trips_through_json() -> None:
    figure = aggregate_audit(AUDIT_SAMPLES, reps=0).per_type["LATERALITY"].precision
    restored = Figure.model_validate_json(figure.model_dump_json())
    assert math.isnan(restored.value) and restored.denominator == 0


# --- grounding ----------------------------------------------------------------------------------

GROUNDING_SAMPLES = [
    # exact box: a hit at 0.5 and at 0.3
    score_grounding_sample("exact", [("pleural_effusion", RIGHT_LOWER)], [("pleural_effusion", RIGHT_LOWER)]),
    # shifted box, IoU 0.714: a hit at both thresholds
    score_grounding_sample(
        "shifted", [("pleural_effusion", RIGHT_LOWER)], [("pleural_effusion", SHIFTED_RIGHT_LOWER)]
    ),
    # far shifted, IoU 0.333: a hit at 0.3 only
    score_grounding_sample("far", [("pleural_effusion", RIGHT_LOWER)], [("pleural_effusion", FAR_SHIFTED)]),
    # missed effusion, false nodule on the other side
    score_grounding_sample("missed", [("pleural_effusion", LEFT_LOWER)], [("nodule_mass", RIGHT_UPPER)]),
    # right label, box on the wrong side: present, but no box match
    score_grounding_sample(
        "wrong-place", [("pleural_effusion", LEFT_LOWER)], [("pleural_effusion", RIGHT_LOWER)]
    ),
]


def test_box_hit_rates_count_reference_boxes_matched_at_each_threshold() -> None:
    metrics = aggregate_grounding(GROUNDING_SAMPLES, reps=0)
    assert metrics.box_hit_rate_50.value == 2 / 5  # 2 of 5 effusions boxed at IoU ≥ 0.5
    assert metrics.box_hit_rate_30.value == 3 / 5  # 3 of 5 effusions boxed at IoU ≥ 0.3
    assert metrics.box_precision_50.value == 2 / 5  # 2 of 5 predicted boxes match at IoU ≥ 0.5


def test_mean_iou_averages_the_matched_pairs_only() -> None:
    metrics = aggregate_grounding(GROUNDING_SAMPLES, reps=0)
    assert metrics.mean_iou.denominator == 3  # exact, shifted, far: the others do not overlap
    assert metrics.mean_iou.value == pytest.approx((1.0 + 0.25 / 0.35 + 0.15 / 0.45) / 3)


def test_presence_is_scored_per_label_at_image_level() -> None:
    presence = aggregate_grounding(GROUNDING_SAMPLES, reps=0).presence
    effusion = presence["pleural_effusion"]
    assert effusion.recall.value == 4 / 5  # 4 of 5 images with an effusion called effusion
    assert effusion.precision.value == 4 / 4
    assert effusion.f1.value == pytest.approx(f1(1.0, 4 / 5))
    assert presence["nodule_mass"].precision.value == 0 / 1  # the one nodule call was false
    assert math.isnan(presence["nodule_mass"].recall.value)  # no image has a nodule


def test_macro_figures_average_the_labels_where_they_are_defined() -> None:
    metrics = aggregate_grounding(GROUNDING_SAMPLES, reps=0)
    # effusion F1 = 8/9; nodule F1 = 0 (precision 0, recall undefined → F1 undefined, so left out)
    assert math.isnan(metrics.presence["nodule_mass"].f1.value)
    assert metrics.macro_f1.value == pytest.approx(8 / 9)
    assert metrics.macro_f1.denominator == 1  # 1 of 5 labels defined
    assert metrics.macro_precision.value == pytest.approx((1.0 + 0.0) / 2)  # effusion and nodule


def test_no_finding_is_not_a_finding_to_score() -> None:
    sample = score_grounding_sample("n", [("no_finding", None)], [("no_finding", None)])
    assert sample.reference_labels == () and sample.predicted_labels == ()


def test_one_reference_box_matches_at_most_one_prediction() -> None:
    sample = score_grounding_sample(
        "dup",
        [("lung_opacity", RIGHT_LOWER)],
        [("lung_opacity", RIGHT_LOWER), ("lung_opacity", SHIFTED_RIGHT_LOWER)],
    )
    assert [m.iou for m in sample.matches] == [1.0]


def test_a_failed_grounding_is_excluded_or_counted_as_silence() -> None:
    samples = [
        *GROUNDING_SAMPLES,
        score_grounding_sample("lost", [("pleural_effusion", RIGHT_LOWER)], [], failed=True),
    ]
    excluded = aggregate_grounding(samples, reps=0).presence["pleural_effusion"].recall
    silence = aggregate_grounding(samples, failed_as="silence", reps=0).presence["pleural_effusion"].recall
    assert excluded.value == 4 / 5  # the lost image is not counted
    assert silence.value == 4 / 6  # the lost image counts as an effusion not found
    assert (silence.n_scored, silence.n_failed) == (5, 1)

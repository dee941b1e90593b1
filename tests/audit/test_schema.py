"""Validation at the boundary: clear messages for bad values, JSON round trips for good ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from audit.labels import LABELS
from audit.schema import (
    AuditReport,
    Box,
    DraftLabel,
    DraftReading,
    Flag,
    ImageFinding,
    ImageReading,
    ParseOutcome,
)
from tests.audit.factories import PATIENT_RIGHT, draft, finding


def test_a_box_must_have_area() -> None:
    with pytest.raises(ValidationError, match="x1 > x0 and y1 > y0"):
        Box(x0=0.5, y0=0.1, x1=0.5, y1=0.4)


def test_a_box_must_be_normalized() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Box(x0=0.1, y0=0.1, x1=1.5, y1=0.4)


def test_labels_outside_the_six_are_refused() -> None:
    with pytest.raises(ValidationError, match="pleural_effusion"):
        ImageFinding(label="fracture")  # type: ignore[arg-type]


def test_span_offsets_must_match_the_draft() -> None:
    label = DraftLabel(label="cardiomegaly", status="present", span="Cardiomegaly", start=1, end=13)
    with pytest.raises(ValidationError, match="is not the draft's text"):
        DraftReading(backend="t", text="Cardiomegaly.", labels=(label,))


def test_a_label_appears_once_per_reading() -> None:
    one = DraftLabel(label="cardiomegaly", status="present", span="Big heart", start=0, end=9)
    with pytest.raises(ValidationError, match="appears twice"):
        DraftReading(backend="t", text="Big heart", labels=(one, one))


def test_an_unverified_span_has_no_offsets() -> None:
    label = DraftLabel(label="cardiomegaly", status="present", span="large heart", verified=False)
    assert label.start is None
    with pytest.raises(ValidationError, match="verified label needs offsets"):
        DraftLabel(label="cardiomegaly", status="present", span="large heart")


OUTCOMES = {
    "failed without an error": ({"status": "failed"}, "needs an error"),
    "recovered without a repair": ({"status": "recovered"}, "at least one recorded repair"),
    "ok that dropped items": ({"status": "ok", "dropped_items": 1}, "drops nothing"),
}


@pytest.mark.parametrize(("fields", "message"), OUTCOMES.values(), ids=OUTCOMES.keys())
def test_parse_outcomes_are_consistent(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ParseOutcome(**fields)  # type: ignore[arg-type]


FLAGS = {
    "missing without a finding": (
        {"type": "MISSING", "label": "cardiomegaly"},
        "must point at an image finding",
    ),
    "unsupported without a phrase": (
        {"type": "UNSUPPORTED", "label": "cardiomegaly"},
        "must point at a draft",
    ),
    "no_finding flagged": (
        {"type": "MISSING", "label": "no_finding", "finding": ImageFinding(label="no_finding")},
        "never flagged",
    ),
}


@pytest.mark.parametrize(("fields", "message"), FLAGS.values(), ids=FLAGS.keys())
def test_flags_carry_their_provenance(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Flag(reason="r", **fields)  # type: ignore[arg-type]


def test_readings_are_frozen() -> None:
    reading = ImageReading(backend="t")
    with pytest.raises(ValidationError, match="frozen"):
        reading.backend = "other"  # type: ignore[misc]


@given(
    st.lists(
        st.tuples(st.sampled_from(LABELS), st.floats(0, 0.4), st.floats(0, 0.4), st.floats(0.05, 0.5)),
        max_size=6,
    )
)
def test_image_readings_round_trip_through_json(items: list[tuple[str, float, float, float]]) -> None:
    findings = tuple(
        ImageFinding(label=label, box=Box(x0=x, y0=y, x1=x + size, y1=y + size), score=0.5)  # type: ignore[arg-type]
        for label, x, y, size in items
    )
    reading = ImageReading(backend="t", findings=findings, outcome=ParseOutcome.from_repairs(["r"], "raw"))
    assert ImageReading.model_validate_json(reading.model_dump_json()) == reading


def test_an_audit_report_round_trips_through_json() -> None:
    parsed = draft("No pneumothorax.", ("pneumothorax", "absent", "No pneumothorax"))
    flag = Flag(
        type="MISSING",
        label="pneumothorax",
        finding=finding("pneumothorax", PATIENT_RIGHT),
        draft_label=parsed.labels[0],
        reason="r",
    )
    report = AuditReport(mode="full", flags=(flag,), draft=parsed, timings={"parse_s": 0.1})
    assert AuditReport.model_validate_json(report.model_dump_json()) == report

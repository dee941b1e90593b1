"""Teaching mode (``workstation.teaching``): a student's impression is stored, audited once against
the reference and saved as a teaching run, which never becomes the case's latest audit."""

from __future__ import annotations

import pytest

from audit.protocols import MAX_DRAFT_CHARS
from data.store import Store
from data.teaching_runs import TeachingRuns
from data.worklist import case_status
from workstation import teaching


def test_a_student_impression_is_saved_as_a_teaching_run_never_the_latest_audit(store: Store) -> None:
    result = teaching.submit(store, "case-ptx", "sam", "  No pneumothorax.  ")

    draft = result.draft
    assert (draft.kind, draft.author, draft.text) == ("student", "sam", "No pneumothorax.")
    assert [flag.type for flag in result.report.flags] == ["URGENT", "MISSING"]
    assert TeachingRuns(store).run_for_draft(draft.draft_id) == result.run_id
    assert store.audits.run_ids("case-ptx") == [] and store.audits.latest("case-ptx") is None
    assert case_status(store, "case-ptx") == "not_audited"
    assert [d.draft_id for d in teaching.student_drafts(store, "case-ptx", "sam")] == [draft.draft_id]


def test_the_checklist_is_read_from_the_stored_run_not_recomputed(store: Store) -> None:
    made = teaching.submit(store, "case-ptx", "sam", "No pneumothorax.")

    again = teaching.student_audit(store, made.draft)

    assert again.run_id == made.run_id  # shown again from the stored run
    assert again.checklist.score == "0 of 1 finding found, no over-call"
    (item,) = again.checklist.items
    assert (item.label, item.outcome, item.note) == (
        "pneumothorax",
        "missed",
        "can't-miss finding: it must not be missed",
    )


def test_a_found_urgent_finding_is_a_note_not_an_error(store: Store) -> None:
    result = teaching.submit(store, "case-ptx", "sam", "Right pneumothorax.")

    (item,) = result.checklist.items
    assert (item.outcome, item.note) == ("found", "can't-miss: you found it")
    assert result.checklist.score == "1 of 1 finding found, no over-call"


def test_educator_feedback_on_a_flag_reaches_the_students_view(store: Store) -> None:
    made = teaching.submit(store, "case-eff", "sam", "Small left pleural effusion. Mild cardiomegaly.")
    (over_flag,) = [
        fid for fid, f in zip(made.flag_ids, made.report.flags, strict=True) if f.type == "UNSUPPORTED"
    ]

    TeachingRuns(store).give_feedback(over_flag, "erin", "dismiss", "the heart is borderline; fair call")

    lines = teaching.feedback_lines(teaching.student_audit(store, made.draft))
    assert [(about, f.educator, f.decision, f.note) for about, f in lines] == [
        ("UNSUPPORTED · cardiomegaly", "erin", "dismiss", "the heart is borderline; fair call")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "empty"), ("x" * (MAX_DRAFT_CHARS + 1), f"at most {MAX_DRAFT_CHARS:,}")],
    ids=["empty", "too-long"],
)
def test_an_empty_or_too_long_impression_is_refused_and_not_stored(
    store: Store, text: str, message: str
) -> None:
    with pytest.raises(teaching.DraftRejectedError, match=message):
        teaching.submit(store, "case-ptx", "sam", text)

    assert store.drafts.for_case("case-ptx", kind="student") == []

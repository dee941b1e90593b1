"""Teaching mode (``workstation.teaching``): a student's impression is stored and audited
against the reference, and an empty one is refused."""

from __future__ import annotations

import pytest

from data.store import Store
from workstation import teaching


def test_a_student_draft_is_audited_against_the_reference_without_saving_a_run(store: Store) -> None:
    draft = teaching.submit(store, "case-ptx", "sam", "  No pneumothorax.  ")

    result = teaching.audit_student_draft(store, draft)

    assert (draft.kind, draft.author, draft.text) == ("student", "sam", "No pneumothorax.")
    assert [flag.type for flag in result.report.flags] == ["URGENT", "MISSING"]
    assert store.audits.run_ids("case-ptx") == []
    assert [d.draft_id for d in teaching.student_drafts(store, "case-ptx", "sam")] == [draft.draft_id]


def test_an_empty_student_draft_is_refused_and_not_stored(store: Store) -> None:
    with pytest.raises(teaching.DraftRejectedError, match="empty"):
        teaching.submit(store, "case-ptx", "sam", "   ")

    assert store.drafts.for_case("case-ptx", kind="student") == []

"""Review statistics read from the store: who has reviewed (the counts are specified with the
Evaluation page's rates in ``tests/workstation/test_services_evaluation.py``)."""

from __future__ import annotations

from audit.schema import Box
from data.review_stats import known_reviewers
from data.store import Store


def test_known_reviewers_lists_everyone_who_left_a_trace(audited: tuple[Store, tuple[int, ...]]) -> None:
    store, (urgent, _) = audited
    store.decisions.record(urgent, "bo", "accept")
    store.decisions.record(urgent, "bo", "dismiss", reason_code="other")
    store.reviewer_findings.add("ptx", "cy", "nodule_mass", Box(x0=0.5, y0=0.5, x1=0.6, y1=0.6))
    store.drafts.add("ptx", "Right pneumothorax.", kind="student", author="al")
    store.drafts.add("ptx", "No pneumothorax.", kind="human", author="the radiologist")  # not a reviewer

    assert known_reviewers(store) == ["al", "bo", "cy"]


def test_nobody_has_reviewed_an_empty_store(store: Store) -> None:
    assert known_reviewers(store) == []
